
/*
 * Copyright (C) zae-limit authors
 */


#include <stdio.h>
#include <inttypes.h>

#include "zae_limit.h"


#define ZAE_QUOTE_LEN  64

#define zae_is_digit(c)  ((c) >= '0' && (c) <= '9')
#define zae_is_alpha(c)  (((c) >= 'a' && (c) <= 'z')                        \
                          || ((c) >= 'A' && (c) <= 'Z'))
#define zae_is_alnum(c)  (zae_is_alpha(c) || zae_is_digit(c))


typedef struct {
    const char        *name;
    size_t             len;
    int64_t            seconds;
} zae_period_unit_t;


static const zae_period_unit_t  zae_period_units[] = {
    { "sec", 3, 1 },
    { "min", 3, 60 },
    { "hour", 4, 3600 },
    { "day", 3, 86400 },
};


static const char *zae_quote(char *buf, const u_char *s, size_t len);
static size_t zae_utf8_chars(const u_char *s, size_t len);
static int zae_utf8_valid(const u_char *s, size_t len);
static int zae_parse_num(const u_char **pos, const u_char *end,
    int64_t max, int64_t *out);
static int zae_buf_add_grouped(zae_buf_t *b, int64_t v);


/*
 * A printable, bounded copy of a value for error messages: bytes
 * outside 0x20..0x7e become '?', and long values end in "..."
 */

static const char *
zae_quote(char *buf, const u_char *s, size_t len)
{
    size_t  i, n;

    n = len < ZAE_QUOTE_LEN ? len : ZAE_QUOTE_LEN;

    for (i = 0; i < n; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    }

    if (len > n) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }

    buf[n] = '\0';

    return buf;
}


/* length in characters as Python counts them: non-continuation bytes */

static size_t
zae_utf8_chars(const u_char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


static int
zae_utf8_valid(const u_char *s, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    for (i = 0; i < len; /* void */) {

        if (s[i] < 0x80) {
            i++;
            continue;
        }

        if ((s[i] & 0xe0) == 0xc0) {
            n = 1;
            cp = s[i] & 0x1f;
            min = 0x80;

        } else if ((s[i] & 0xf0) == 0xe0) {
            n = 2;
            cp = s[i] & 0x0f;
            min = 0x800;

        } else if ((s[i] & 0xf8) == 0xf0) {
            n = 3;
            cp = s[i] & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (n >= len - i) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (s[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        i += n + 1;
    }

    return 1;
}


/*
 * The identifier rule shared by entity ids, resources and limit names:
 * not empty, at most max characters, no '#', a first character that is
 * alphanumeric (alnum_first) or a letter, then alphanumerics and the
 * characters of extra
 */

static int
zae_validate_ident(const u_char *s, size_t len, size_t max,
    int alnum_first, const char *extra, const char *msg, zae_err_t *err)
{
    size_t  i;

    if (len == 0) {
        return zae_err_set(err, "cannot be empty");
    }

    if (zae_utf8_chars(s, len) > max) {
        return zae_err_set(err, "exceeds maximum length of %d", (int) max);
    }

    if (memchr(s, '#', len) != NULL) {
        return zae_err_set(err, "cannot contain '#' (reserved delimiter)");
    }

    for (i = 0; i < len; i++) {
        if (zae_is_alpha(s[i]) || (alnum_first && zae_is_digit(s[i]))) {
            continue;
        }

        if (i > 0
            && (zae_is_digit(s[i])
                || (s[i] != '\0' && strchr(extra, s[i]) != NULL)))
        {
            continue;
        }

        return zae_err_set(err, "%s", msg);
    }

    return ZAE_OK;
}


int
zae_validate_entity_id(const u_char *s, size_t len, zae_err_t *err)
{
    return zae_validate_ident(s, len, ZAE_ENTITY_ID_MAX_LEN, 1, "_.-:@",
                              "must start with alphanumeric and contain "
                              "only alphanumeric, underscore, hyphen, dot, "
                              "colon, or @ characters", err);
}


int
zae_validate_resource(const u_char *s, size_t len, zae_err_t *err)
{
    if (len == sizeof(ZAE_RESOURCE_DEFAULT) - 1
        && memcmp(s, ZAE_RESOURCE_DEFAULT, len) == 0)
    {
        return ZAE_OK;
    }

    return zae_validate_resource_strict(s, len, err);
}


int
zae_validate_resource_strict(const u_char *s, size_t len, zae_err_t *err)
{
    return zae_validate_ident(s, len, ZAE_NAME_MAX_LEN, 0, "_.-/",
                              "must start with a letter and contain only "
                              "alphanumeric, underscore, hyphen, dot, or "
                              "slash characters", err);
}


int
zae_validate_limit_name(const u_char *s, size_t len, zae_err_t *err)
{
    if (zae_validate_ident(s, len, ZAE_NAME_MAX_LEN, 0, "_.-",
                           "must start with a letter and contain only "
                           "alphanumeric, underscore, hyphen, or dot "
                           "characters", err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (len == sizeof(ZAE_LIMIT_WCU) - 1
        && memcmp(s, ZAE_LIMIT_WCU, len) == 0)
    {
        return zae_err_set(err, "'wcu' is a reserved limit name");
    }

    return ZAE_OK;
}


int
zae_validate_table_name(const u_char *s, size_t len, zae_err_t *err)
{
    size_t  i;

    if (len == 0) {
        return zae_err_set(err, "cannot be empty");
    }

    if (memchr(s, '_', len) != NULL) {
        return zae_err_set(err, "contains underscore, use hyphens instead "
                           "(e.g. 'rate-limits' not 'rate_limits')");
    }

    if (memchr(s, '.', len) != NULL) {
        return zae_err_set(err, "contains period, only alphanumeric "
                           "characters and hyphens are allowed");
    }

    if (memchr(s, ' ', len) != NULL) {
        return zae_err_set(err, "contains spaces, use hyphens instead "
                           "(e.g. 'my-app' not 'my app')");
    }

    for (i = 0; i < len; i++) {
        if (zae_is_alpha(s[i])) {
            continue;
        }

        if (i > 0 && (zae_is_digit(s[i]) || s[i] == '-')) {
            continue;
        }

        return zae_err_set(err, "must start with a letter and contain only "
                           "alphanumeric characters and hyphens");
    }

    if (len > ZAE_TABLE_NAME_MAX_LEN) {
        return zae_err_set(err, "exceeds maximum length of %d",
                           ZAE_TABLE_NAME_MAX_LEN);
    }

    return ZAE_OK;
}


int
zae_validate_namespace(const u_char *s, size_t len, zae_err_t *err)
{
    size_t  i;

    if (len == 0) {
        return zae_err_set(err, "cannot be empty");
    }

    if (len == 1 && s[0] == '_') {
        return zae_err_set(err, "'_' is reserved");
    }

    if (len > ZAE_NAMESPACE_MAX_LEN) {
        return zae_err_set(err, "exceeds maximum length of %d bytes",
                           ZAE_NAMESPACE_MAX_LEN);
    }

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            return zae_err_set(err, "cannot contain control characters");
        }

        if (s[i] == '#') {
            return zae_err_set(err, "cannot contain '#' (reserved delimiter)");
        }

        if (s[i] == '/') {
            return zae_err_set(err, "cannot contain '/' (reserved delimiter)");
        }
    }

    if (!zae_utf8_valid(s, len)) {
        return zae_err_set(err, "must be valid UTF-8");
    }

    return ZAE_OK;
}


/*
 * Decimal digits at *pos up to end: ZAE_OK, ZAE_DECLINED (no digit) or
 * ZAE_ERROR (value above max); *pos is left after the digits
 */

static int
zae_parse_num(const u_char **pos, const u_char *end, int64_t max,
    int64_t *out)
{
    int            big;
    int64_t        v;
    const u_char  *p;

    v = 0;
    big = 0;

    for (p = *pos; p < end && zae_is_digit(*p); p++) {
        if (big) {
            continue;
        }

        if (v > (max - (*p - '0')) / 10) {
            big = 1;
            continue;
        }

        v = v * 10 + (*p - '0');
    }

    if (p == *pos) {
        return ZAE_DECLINED;
    }

    *pos = p;
    *out = v;

    return big ? ZAE_ERROR : ZAE_OK;
}


int
zae_parse_tokens(const u_char *s, size_t len, int64_t *out, zae_err_t *err)
{
    int            rc;
    char           q[ZAE_QUOTE_LEN + 4];
    int64_t        v;
    const u_char  *p;

    if (len == 0) {
        return zae_err_set(err, "empty token amount");
    }

    p = s;
    rc = zae_parse_num(&p, s + len, ZAE_TOKENS_MAX, &v);

    if (rc == ZAE_DECLINED || p != s + len) {
        return zae_err_set(err, "invalid token amount \"%s\": "
                           "expected decimal digits only",
                           zae_quote(q, s, len));
    }

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "token amount \"%s\" exceeds %lld",
                           zae_quote(q, s, len), ZAE_TOKENS_MAX);
    }

    *out = v;

    return ZAE_OK;
}


int
zae_validate_limit(const zae_limit_t *l, zae_err_t *err)
{
    char        q[ZAE_QUOTE_LEN + 4];
    zae_err_t   e;

    (void) zae_quote(q, l->name.data, l->name.len);

    if (zae_validate_limit_name(l->name.data, l->name.len, &e) != ZAE_OK) {
        return zae_err_set(err, "invalid limit name \"%s\": %s", q, e.msg);
    }

    if (l->capacity <= 0) {
        return zae_err_set(err, "limit \"%s\": capacity must be positive",
                           q);
    }

    if (l->refill_amount <= 0) {
        return zae_err_set(err, "limit \"%s\": refill_amount must be "
                           "positive", q);
    }

    if (l->period <= 0) {
        return zae_err_set(err, "limit \"%s\": refill_period_seconds must "
                           "be positive", q);
    }

    if (l->capacity > ZAE_LIMIT_NUM_MAX
        || l->refill_amount > ZAE_LIMIT_NUM_MAX
        || l->period > ZAE_LIMIT_NUM_MAX)
    {
        return zae_err_set(err, "limit \"%s\": values must not exceed %lld",
                           q, ZAE_LIMIT_NUM_MAX);
    }

    return ZAE_OK;
}


int
zae_limit_parse(zae_limit_t *l, const u_char *s, size_t len, zae_err_t *err)
{
    int            rc;
    char           q[ZAE_QUOTE_LEN + 4], q2[ZAE_QUOTE_LEN + 4];
    size_t         i;
    int64_t        rate, burst, n, unit;
    zae_err_t      e;
    const u_char  *p, *end, *colon;

    (void) zae_quote(q, s, len);

    if (len == 0) {
        return zae_err_set(err, "empty limit");
    }

    end = s + len;

    colon = memchr(s, ':', len);
    if (colon == NULL) {
        return zae_err_set(err, "invalid limit \"%s\": expected "
                           "\"name:rate[/period][:burst]\"", q);
    }

    if (zae_validate_limit_name(s, colon - s, &e) != ZAE_OK) {
        return zae_err_set(err, "invalid limit \"%s\": name %s", q, e.msg);
    }

    /* rate */

    p = colon + 1;

    rc = zae_parse_num(&p, end, ZAE_LIMIT_NUM_MAX, &rate);

    if (rc == ZAE_DECLINED) {
        return zae_err_set(err, "invalid limit \"%s\": rate must be "
                           "a positive integer", q);
    }

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "invalid limit \"%s\": rate exceeds %lld",
                           q, ZAE_LIMIT_NUM_MAX);
    }

    if (rate == 0) {
        return zae_err_set(err, "invalid limit \"%s\": rate must be "
                           "positive", q);
    }

    /* period: "/" [N] unit, default "/min" */

    n = 1;
    unit = 60;

    if (p < end && *p == '/') {
        p++;

        rc = zae_parse_num(&p, end, ZAE_LIMIT_NUM_MAX, &n);

        if (rc == ZAE_DECLINED) {
            n = 1;

        } else if (rc == ZAE_ERROR) {
            return zae_err_set(err, "invalid limit \"%s\": period "
                               "exceeds %lld seconds", q, ZAE_LIMIT_NUM_MAX);

        } else if (n == 0) {
            return zae_err_set(err, "invalid limit \"%s\": period must be "
                               "positive", q);
        }

        unit = 0;

        for (i = 0; i < sizeof(zae_period_units)
                        / sizeof(zae_period_units[0]); i++)
        {
            if ((size_t) (end - p) >= zae_period_units[i].len
                && memcmp(p, zae_period_units[i].name,
                          zae_period_units[i].len) == 0
                && (end - p == (ptrdiff_t) zae_period_units[i].len
                    || p[zae_period_units[i].len] == ':'))
            {
                unit = zae_period_units[i].seconds;
                p += zae_period_units[i].len;
                break;
            }
        }

        if (unit == 0) {
            return zae_err_set(err, "invalid limit \"%s\": period must be "
                               "[N]sec, [N]min, [N]hour or [N]day", q);
        }

        if (n > ZAE_LIMIT_NUM_MAX / unit) {
            return zae_err_set(err, "invalid limit \"%s\": period "
                               "exceeds %lld seconds", q, ZAE_LIMIT_NUM_MAX);
        }
    }

    /* burst */

    burst = rate;

    if (p < end && *p == ':') {
        p++;

        rc = zae_parse_num(&p, end, ZAE_LIMIT_NUM_MAX, &burst);

        if (rc == ZAE_DECLINED) {
            return zae_err_set(err, "invalid limit \"%s\": burst must be "
                               "a positive integer", q);
        }

        if (rc == ZAE_ERROR) {
            return zae_err_set(err, "invalid limit \"%s\": burst exceeds "
                               "%lld", q, ZAE_LIMIT_NUM_MAX);
        }

        if (burst == 0) {
            return zae_err_set(err, "invalid limit \"%s\": burst must be "
                               "positive", q);
        }
    }

    if (p != end) {
        return zae_err_set(err, "invalid limit \"%s\": unexpected \"%s\"",
                           q, zae_quote(q2, p, end - p));
    }

    l->name.data = (u_char *) s;
    l->name.len = colon - s;
    l->capacity = burst;
    l->refill_amount = rate;
    l->period = n * unit;

    return ZAE_OK;
}


int
zae_limits_add(zae_limits_t *ls, const zae_limit_t *l, zae_err_t *err)
{
    char  q[ZAE_QUOTE_LEN + 4];

    if (zae_validate_limit(l, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_limits_find(ls, l->name.data, l->name.len) != NULL) {
        return zae_err_set(err, "duplicate limit \"%s\"",
                           zae_quote(q, l->name.data, l->name.len));
    }

    if (ls->nelts >= ZAE_LIMITS_MAX) {
        return zae_err_set(err, "too many limits, at most %d",
                           ZAE_LIMITS_MAX);
    }

    ls->elts[ls->nelts++] = *l;

    return ZAE_OK;
}


zae_limit_t *
zae_limits_find(const zae_limits_t *ls, const u_char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < ls->nelts && i < ZAE_LIMITS_MAX; i++) {
        if (ls->elts[i].name.len == len
            && (len == 0 || memcmp(ls->elts[i].name.data, name, len) == 0))
        {
            return (zae_limit_t *) &ls->elts[i];
        }
    }

    return NULL;
}


int
zae_limits_parse(zae_limits_t *ls, const u_char *s, size_t len,
    zae_err_t *err)
{
    char           q[ZAE_QUOTE_LEN + 4];
    zae_limit_t    l;
    const u_char  *p, *end, *comma;

    ls->nelts = 0;

    if (len == 0) {
        return zae_err_set(err, "empty limit list");
    }

    p = s;
    end = s + len;

    for ( ;; ) {
        comma = memchr(p, ',', end - p);
        if (comma == NULL) {
            comma = end;
        }

        if (comma == p) {
            return zae_err_set(err, "empty limit in \"%s\"",
                               zae_quote(q, s, len));
        }

        if (zae_limit_parse(&l, p, comma - p, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (zae_limits_add(ls, &l, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (comma == end) {
            break;
        }

        p = comma + 1;

        if (p == end) {
            return zae_err_set(err, "empty limit in \"%s\"",
                               zae_quote(q, s, len));
        }
    }

    return ZAE_OK;
}


static int
zae_buf_add_grouped(zae_buf_t *b, int64_t v)
{
    char    digits[24], out[40];
    size_t  i, n, k;

    n = (size_t) snprintf(digits, sizeof(digits), "%" PRId64, v);
    if (n >= sizeof(digits)) {
        return ZAE_ERROR;
    }

    k = 0;
    i = 0;

    if (digits[0] == '-') {
        out[k++] = '-';
        i = 1;
    }

    for ( /* void */ ; i < n; i++) {
        out[k++] = digits[i];

        if (i + 1 < n && (n - i - 1) % 3 == 0) {
            out[k++] = ',';
        }
    }

    return zae_buf_add(b, out, k);
}


static int
zae_limit_format_period(zae_buf_t *b, int64_t period)
{
    size_t   i;
    int64_t  sec;

    for (i = sizeof(zae_period_units) / sizeof(zae_period_units[0]);
         i > 0; i--)
    {
        sec = zae_period_units[i - 1].seconds;

        if (period > 0 && period % sec == 0) {
            if (period != sec
                && zae_buf_add_int64(b, period / sec) != ZAE_OK)
            {
                return ZAE_ERROR;
            }

            return zae_buf_add_str(b, zae_period_units[i - 1].name);
        }
    }

    /* not a positive period: print it as it is */

    if (zae_buf_add_int64(b, period) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_buf_add_str(b, "sec");
}


int
zae_limit_format(zae_buf_t *b, const zae_limit_t *l)
{
    if (zae_buf_add(b, l->name.data, l->name.len) != ZAE_OK
        || zae_buf_add_str(b, ": ") != ZAE_OK
        || zae_buf_add_grouped(b, l->refill_amount) != ZAE_OK
        || zae_buf_add_str(b, "/") != ZAE_OK
        || zae_limit_format_period(b, l->period) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (l->capacity != l->refill_amount) {
        if (zae_buf_add_str(b, " (burst: ") != ZAE_OK
            || zae_buf_add_grouped(b, l->capacity) != ZAE_OK
            || zae_buf_add_str(b, ")") != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}
