
/*
 * Copyright (C) zae-limit authors
 */


#include <inttypes.h>

#include "zae_bucket.h"
#include "zae_records.h"
#include "zae_schema.h"


static int zae_rec_keys(zae_buf_t *b, zae_keys_t *k);
static int zae_rec_gsi4(zae_buf_t *b, zae_keys_t *k);
static int zae_rec_attr_null_s(zae_buf_t *b, const char *name,
    zae_str_t *v);
static int zae_rec_str_list(zae_buf_t *b, zae_str_t *list, size_t n);
static int zae_rec_limit_map(zae_buf_t *b, zae_audit_limit_t *l);
static time_t zae_timegm(struct tm *tm);


static const char  zae_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char  zae_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static u_char *
zae_put_digits(u_char *p, unsigned v, int width)
{
    int  i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (u_char) ('0' + v % 10);
        v /= 10;
    }

    return p + width;
}


static u_char *
zae_put_tm(u_char *p, struct tm *tm)
{
    unsigned  year;

    year = (unsigned) (tm->tm_year + 1900) % 10000;

    p = zae_put_digits(p, year, 4);
    *p++ = '-';
    p = zae_put_digits(p, (unsigned) tm->tm_mon + 1, 2);
    *p++ = '-';
    p = zae_put_digits(p, (unsigned) tm->tm_mday, 2);
    *p++ = 'T';
    p = zae_put_digits(p, (unsigned) tm->tm_hour, 2);
    *p++ = ':';
    p = zae_put_digits(p, (unsigned) tm->tm_min, 2);
    *p++ = ':';
    p = zae_put_digits(p, (unsigned) tm->tm_sec, 2);

    return p;
}


static void
zae_gmtime(time_t t, struct tm *tm)
{
    if (gmtime_r(&t, tm) == NULL || tm->tm_year + 1900 < 0) {
        memset(tm, 0, sizeof(struct tm));
        tm->tm_year = 70;
        tm->tm_mday = 1;
    }
}


void
zae_ts_format(u_char *out, time_t t)
{
    u_char     *p;
    struct tm   tm;

    zae_gmtime(t, &tm);

    p = zae_put_tm(out, &tm);
    *p++ = 'Z';
    *p = '\0';
}


void
zae_ts_format_us(u_char *out, int64_t us)
{
    u_char     *p;
    int64_t     s, frac;
    struct tm   tm;

    s = zae_floor_div(us, 1000000);
    frac = us - s * 1000000;

    zae_gmtime((time_t) s, &tm);

    p = zae_put_tm(out, &tm);

    /* Python datetime.isoformat() omits a zero microsecond part */

    if (frac != 0) {
        *p++ = '.';
        p = zae_put_digits(p, (unsigned) frac, 6);
    }

    memcpy(p, "+00:00", sizeof("+00:00"));
}


static time_t
zae_timegm(struct tm *tm)
{
    int64_t  y, m, days;

    /* days from civil, proleptic Gregorian */

    y = tm->tm_year + 1900;
    m = tm->tm_mon + 1;

    if (m <= 2) {
        y--;
    }

    days = zae_floor_div(y, 400) * 146097;
    y -= zae_floor_div(y, 400) * 400;
    days += y * 365 + y / 4 - y / 100
            + (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + tm->tm_mday - 1
            - 719468;

    return (time_t) (days * 86400 + tm->tm_hour * 3600 + tm->tm_min * 60
                     + tm->tm_sec);
}


void
zae_ulid_encode(u_char *out, uint64_t ms, const u_char *rnd)
{
    int       i, bit, k, v;

    ms &= 0xffffffffffffULL;

    for (i = 9; i >= 0; i--) {
        out[i] = zae_crockford[ms & 31];
        ms >>= 5;
    }

    /* 80 random bits, big endian, 5 bits per character */

    for (i = 0; i < 16; i++) {
        v = 0;

        for (k = 0; k < 5; k++) {
            bit = i * 5 + k;
            v = (v << 1) | ((rnd[bit / 8] >> (7 - bit % 8)) & 1);
        }

        out[10 + i] = zae_crockford[v];
    }
}


static int
zae_crockford_value(u_char c)
{
    const char  *p;

    if (c >= 'a' && c <= 'z') {
        c = (u_char) (c - 'a' + 'A');
    }

    if (c == '\0') {
        return -1;
    }

    p = strchr(zae_crockford, c);
    if (p == NULL) {
        return -1;
    }

    return (int) (p - zae_crockford);
}


int
zae_ulid_valid(const u_char *s, size_t len)
{
    size_t  i;

    if (len != ZAE_ULID_LEN || s[0] > '7') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (zae_crockford_value(s[i]) < 0) {
            return 0;
        }
    }

    return 1;
}


int
zae_nsid_encode(u_char *out, const u_char *rnd)
{
    int       i, o;
    uint32_t  v;

    o = 0;

    for (i = 0; i < 6; i += 3) {
        v = ((uint32_t) rnd[i] << 16) | ((uint32_t) rnd[i + 1] << 8)
            | rnd[i + 2];
        out[o++] = zae_b64url[(v >> 18) & 63];
        out[o++] = zae_b64url[(v >> 12) & 63];
        out[o++] = zae_b64url[(v >> 6) & 63];
        out[o++] = zae_b64url[v & 63];
    }

    v = ((uint32_t) rnd[6] << 16) | ((uint32_t) rnd[7] << 8);
    out[o++] = zae_b64url[(v >> 18) & 63];
    out[o++] = zae_b64url[(v >> 12) & 63];
    out[o++] = zae_b64url[(v >> 6) & 63];

    return out[0] == '-' ? ZAE_DECLINED : ZAE_OK;
}


int
zae_nsid_valid(const u_char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > 64) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || strchr(zae_b64url, s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


int
zae_window_parse(const u_char *s, size_t len, zae_window_e *w)
{
    if (len == 6 && memcmp(s, "hourly", 6) == 0) {
        *w = ZAE_WINDOW_HOURLY;
        return ZAE_OK;
    }

    if (len == 5 && memcmp(s, "daily", 5) == 0) {
        *w = ZAE_WINDOW_DAILY;
        return ZAE_OK;
    }

    if (len == 7 && memcmp(s, "monthly", 7) == 0) {
        *w = ZAE_WINDOW_MONTHLY;
        return ZAE_OK;
    }

    return ZAE_ERROR;
}


const char *
zae_window_name(zae_window_e w)
{
    switch (w) {
    case ZAE_WINDOW_DAILY:
        return "daily";
    case ZAE_WINDOW_MONTHLY:
        return "monthly";
    default:
        return "hourly";
    }
}


time_t
zae_window_start(zae_window_e w, time_t t)
{
    struct tm  tm;

    switch (w) {

    case ZAE_WINDOW_HOURLY:
        return (time_t) (zae_floor_div(t, 3600) * 3600);

    case ZAE_WINDOW_DAILY:
        return (time_t) (zae_floor_div(t, 86400) * 86400);

    default:
        if (gmtime_r(&t, &tm) == NULL) {
            return 0;
        }

        tm.tm_mday = 1;
        tm.tm_hour = 0;
        tm.tm_min = 0;
        tm.tm_sec = 0;

        return zae_timegm(&tm);
    }
}


int
zae_rec_json_str(zae_buf_t *b, const u_char *s, size_t len)
{
    u_char  c;
    size_t  i, start;

    if (zae_buf_add(b, "\"", 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    start = 0;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }

        if (zae_buf_add(b, s + start, i - start) != ZAE_OK) {
            return ZAE_ERROR;
        }

        start = i + 1;

        if (c == '"' || c == '\\') {
            if (zae_buf_printf(b, "\\%c", c) != ZAE_OK) {
                return ZAE_ERROR;
            }

            continue;
        }

        if (zae_buf_printf(b, "\\u%04x", c) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add(b, s + start, len - start) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "\"", 1);
}


int
zae_rec_attr_s(zae_buf_t *b, const char *name, zae_str_t *v)
{
    if (zae_rec_json_str(b, (u_char *) name, strlen(name)) != ZAE_OK
        || zae_buf_add_str(b, ":{\"S\":") != ZAE_OK
        || zae_rec_json_str(b, v->data, v->len) != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_rec_attr_null_s(zae_buf_t *b, const char *name, zae_str_t *v)
{
    if (v->data != NULL) {
        return zae_rec_attr_s(b, name, v);
    }

    if (zae_rec_json_str(b, (u_char *) name, strlen(name)) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_buf_add_str(b, ":{\"NULL\":true}");
}


static int
zae_rec_attr_n(zae_buf_t *b, const char *name, int64_t v)
{
    if (zae_rec_json_str(b, (u_char *) name, strlen(name)) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_buf_printf(b, ":{\"N\":\"%" PRId64 "\"}", v);
}


/* "PK":{"S":..},"SK":{"S":..}, of keys built by zae_schema */

static int
zae_rec_keys(zae_buf_t *b, zae_keys_t *k)
{
    if (zae_rec_attr_s(b, "PK", &k->pk) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "SK", &k->sk) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/* "GSI4PK":{"S":..},"GSI4SK":{"S":..} */

static int
zae_rec_gsi4(zae_buf_t *b, zae_keys_t *k)
{
    if (zae_rec_attr_s(b, "GSI4PK", &k->gsi4pk) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "GSI4SK", &k->gsi4sk) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_ns_item(zae_buf_t *b, zae_ns_record_t *ns, int reverse)
{
    int         rc;
    zae_keys_t  k;

    rc = reverse ? zae_keys_nsid(b->mem, &k, &ns->nsid)
                 : zae_keys_namespace(b->mem, &k, &ns->name);

    if (rc != ZAE_OK
        || zae_buf_add_str(b, "{") != ZAE_OK
        || zae_rec_keys(b, &k) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "namespace_id", &ns->nsid) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "namespace_name", &ns->name) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "status", &ns->status) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "created_at", &ns->created_at) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (ns->deleted_at.data != NULL) {
        if (zae_buf_add_str(b, ",") != ZAE_OK
            || zae_rec_attr_s(b, "deleted_at", &ns->deleted_at) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_gsi4(b, &k) != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_version_item(zae_buf_t *b, zae_version_record_t *v)
{
    zae_keys_t  k;

    if (zae_keys_version(b->mem, &k) != ZAE_OK
        || zae_buf_add_str(b, "{") != ZAE_OK
        || zae_rec_keys(b, &k) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "schema_version", &v->schema_version) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_null_s(b, "lambda_version", &v->lambda_version)
           != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "client_min_version", &v->client_min_version)
           != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "updated_at", &v->updated_at) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_null_s(b, "updated_by", &v->updated_by) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_gsi4(b, &k) != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/*
 * compares the release parts of two versions ("0.10.3", "v1.2",
 * "0.10.0rc1" compares as 0.10.0): -1, 0 or 1
 */

int
zae_version_cmp(const u_char *a, size_t alen, const u_char *b, size_t blen)
{
    size_t    i, j;
    uint64_t  x, y;

    i = (alen && (a[0] == 'v' || a[0] == 'V')) ? 1 : 0;
    j = (blen && (b[0] == 'v' || b[0] == 'V')) ? 1 : 0;

    while (i < alen || j < blen) {
        x = 0;
        y = 0;

        while (i < alen && a[i] >= '0' && a[i] <= '9') {
            if (x < 1000000000) {
                x = x * 10 + (a[i] - '0');
            }

            i++;
        }

        while (j < blen && b[j] >= '0' && b[j] <= '9') {
            if (y < 1000000000) {
                y = y * 10 + (b[j] - '0');
            }

            j++;
        }

        if (x != y) {
            return x < y ? -1 : 1;
        }

        if (i < alen && a[i] == '.') {
            i++;

        } else {
            i = alen;
        }

        if (j < blen && b[j] == '.') {
            j++;

        } else {
            j = blen;
        }
    }

    return 0;
}


static uint64_t
zae_version_major(const u_char *s, size_t len)
{
    size_t    i;
    uint64_t  v;

    i = (len && (s[0] == 'v' || s[0] == 'V')) ? 1 : 0;
    v = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9' && v < 1000000000) {
        v = v * 10 + (s[i++] - '0');
    }

    return v;
}


int
zae_version_check(zae_version_record_t *v, const char *client,
    zae_err_t *err)
{
    size_t  len;

    len = strlen(client);

    if (v->schema_version.len == 0) {
        zae_err_set(err, "version record has no schema_version");
        return ZAE_ERROR;
    }

    if (zae_version_major(v->schema_version.data, v->schema_version.len)
        != zae_version_major((u_char *) client, len))
    {
        zae_err_set(err, "schema version \"%.*s\" is incompatible with "
                    "client version \"%s\" (major versions differ)",
                    (int) v->schema_version.len, v->schema_version.data,
                    client);
        return ZAE_ERROR;
    }

    if (v->client_min_version.len
        && zae_version_cmp((u_char *) client, len,
                           v->client_min_version.data,
                           v->client_min_version.len) < 0)
    {
        zae_err_set(err, "client version \"%s\" is older than the table's "
                    "client_min_version \"%.*s\"", client,
                    (int) v->client_min_version.len,
                    v->client_min_version.data);
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_audit_item(zae_buf_t *b, zae_audit_record_t *a)
{
    zae_keys_t         k;
    static const char  empty[] = "{}";

    if (zae_keys_audit(b->mem, &k, &a->nsid, &a->entity_id, &a->event_id)
           != ZAE_OK
        || zae_buf_add_str(b, "{") != ZAE_OK
        || zae_rec_keys(b, &k) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "entity_id", &a->entity_id) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "event_id", &a->event_id) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "timestamp", &a->timestamp) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "action", &a->action) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_null_s(b, "principal", &a->principal) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_null_s(b, "resource", &a->resource) != ZAE_OK
        || zae_buf_add_str(b, ",\"details\":{\"M\":") != ZAE_OK
        || (a->details.len
            ? zae_buf_add(b, a->details.data, a->details.len)
            : zae_buf_add_str(b, empty)) != ZAE_OK
        || zae_buf_add_str(b, "},") != ZAE_OK
        || zae_rec_attr_n(b, "ttl", a->ttl) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_gsi4(b, &k) != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_rec_limit_map(zae_buf_t *b, zae_audit_limit_t *l)
{
    if (zae_buf_add_str(b, "{\"M\":{") != ZAE_OK
        || zae_rec_attr_s(b, "name", &l->name) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_n(b, "capacity", l->capacity) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_n(b, "refill_amount", l->refill_amount) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_n(b, "refill_period_seconds", l->refill_period)
           != ZAE_OK
        || zae_buf_add_str(b, "}}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_audit_details_limits(zae_buf_t *b, zae_audit_limit_t *limits, size_t n,
    zae_str_t *on_unavailable)
{
    size_t  i;

    if (zae_buf_add_str(b, "{\"limits\":{\"L\":[") != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if ((i && zae_buf_add_str(b, ",") != ZAE_OK)
            || zae_rec_limit_map(b, &limits[i]) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add_str(b, "]}") != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (on_unavailable && on_unavailable->data) {
        if (zae_buf_add_str(b, ",") != ZAE_OK
            || zae_rec_attr_s(b, "on_unavailable", on_unavailable) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add_str(b, "}");
}


int
zae_audit_details_created(zae_buf_t *b, zae_str_t *name, zae_str_t *parent,
    int cascade)
{
    if (zae_buf_add_str(b, "{") != ZAE_OK
        || zae_rec_attr_s(b, "name", name) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_null_s(b, "parent_id", parent) != ZAE_OK
        || zae_buf_printf(b, ",\"cascade\":{\"BOOL\":%s},",
                          cascade ? "true" : "false") != ZAE_OK
        || zae_buf_add_str(b, "\"metadata\":{\"M\":{}}}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_audit_details_deleted(zae_buf_t *b, int64_t records)
{
    if (zae_buf_add_str(b, "{") != ZAE_OK
        || zae_rec_attr_n(b, "records_deleted", records) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add_str(b, "}");
}


static int
zae_rec_str_list(zae_buf_t *b, zae_str_t *list, size_t n)
{
    size_t  i;

    if (zae_buf_add_str(b, "{\"L\":[") != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if ((i && zae_buf_add_str(b, ",") != ZAE_OK)
            || zae_buf_add_str(b, "{\"S\":") != ZAE_OK
            || zae_rec_json_str(b, list[i].data, list[i].len) != ZAE_OK
            || zae_buf_add_str(b, "}") != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add_str(b, "]}");
}


int
zae_audit_details_names(zae_buf_t *b, zae_str_t *names, size_t n,
    zae_str_t *on_unavailable)
{
    zae_str_t  null = zae_null_string;

    if (zae_buf_add_str(b, "{\"limits\":") != ZAE_OK
        || zae_rec_str_list(b, names, n) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_null_s(b, "on_unavailable",
                               on_unavailable ? on_unavailable : &null)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add_str(b, "}");
}


int
zae_usage_update_body(zae_buf_t *b, zae_str_t *table, zae_usage_delta_t *u)
{
    u_char     ws[ZAE_TS_LEN + 1];
    zae_str_t   wstart, wname;
    zae_keys_t  k;

    zae_ts_format(ws, zae_window_start(u->window, u->event_time));
    wstart.data = ws;
    wstart.len = ZAE_TS_LEN;
    wname.data = (u_char *) zae_window_name(u->window);
    wname.len = strlen((char *) wname.data);

    if (zae_keys_entity_usage(b->mem, &k, &u->nsid, &u->entity_id,
                              &u->resource, &wstart)
           != ZAE_OK
        || zae_buf_add_str(b, "{\"TableName\":") != ZAE_OK
        || zae_rec_json_str(b, table->data, table->len) != ZAE_OK
        || zae_buf_add_str(b, ",\"Key\":{") != ZAE_OK
        || zae_rec_keys(b, &k) != ZAE_OK
        || zae_buf_add_str(b, "},\"UpdateExpression\":\""
               "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1), "
               "#n2 = if_not_exists(#n2, :v2), "
               "#n3 = if_not_exists(#n3, :v3), "
               "#n4 = :v4, #n5 = :v5, "
               "#n6 = if_not_exists(#n6, :v6), "
               "#n7 = if_not_exists(#n7, :v7), "
               "#n8 = if_not_exists(#n8, :v8) "
               "ADD #n9 :v9, #n10 :v10\","
               "\"ExpressionAttributeNames\":{"
               "\"#n0\":\"entity_id\",\"#n1\":\"resource\","
               "\"#n2\":\"window\",\"#n3\":\"window_start\","
               "\"#n4\":\"GSI2PK\",\"#n5\":\"GSI2SK\","
               "\"#n6\":\"GSI4PK\",\"#n7\":\"GSI4SK\","
               "\"#n8\":\"ttl\",\"#n9\":") != ZAE_OK
        || zae_rec_json_str(b, u->limit_name.data, u->limit_name.len)
           != ZAE_OK
        || zae_buf_add_str(b, ",\"#n10\":\"total_events\"},"
                           "\"ExpressionAttributeValues\":{") != ZAE_OK
        || zae_rec_attr_s(b, ":v0", &u->entity_id) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v1", &u->resource) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v2", &wname) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v3", &wstart) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v4", &k.gsi2pk) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v5", &k.gsi2sk) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v6", &k.gsi4pk) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, ":v7", &k.gsi4sk) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_n(b, ":v8", u->ttl) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_n(b, ":v9", zae_floor_div(u->delta_milli, 1000))
           != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_n(b, ":v10", 1) != ZAE_OK
        || zae_buf_add_str(b, "}}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_prov_item(zae_buf_t *b, zae_str_t *nsid, zae_prov_state_t *p)
{
    size_t      i;
    zae_keys_t  k;

    if (zae_keys_system(b->mem, &k, nsid, ZAE_SYSTEM_PROVISIONER) != ZAE_OK
        || zae_buf_add_str(b, "{") != ZAE_OK
        || zae_rec_keys(b, &k) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "GSI4PK", &k.gsi4pk) != ZAE_OK
        || zae_buf_printf(b, ",\"managed_system\":{\"BOOL\":%s},"
                          "\"managed_resources\":",
                          p->managed_system ? "true" : "false") != ZAE_OK
        || zae_rec_str_list(b, p->resources, p->nresources) != ZAE_OK
        || zae_buf_add_str(b, ",\"managed_entities\":{\"M\":{") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    for (i = 0; i < p->nentities; i++) {
        if ((i && zae_buf_add_str(b, ",") != ZAE_OK)
            || zae_rec_json_str(b, p->entities[i].entity_id.data,
                                p->entities[i].entity_id.len) != ZAE_OK
            || zae_buf_add_str(b, ":") != ZAE_OK
            || zae_rec_str_list(b, p->entities[i].resources,
                                p->entities[i].nresources) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add_str(b, "}},") != ZAE_OK
        || zae_rec_attr_s(b, "last_applied", &p->last_applied) != ZAE_OK
        || zae_buf_add_str(b, ",") != ZAE_OK
        || zae_rec_attr_s(b, "applied_hash", &p->applied_hash) != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}
