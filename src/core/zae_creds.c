
/*
 * Copyright (C) zae-limit authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <yajl/yajl_parse.h>

#include "zae_creds.h"


#define ZAE_CREDS_ECS_HOST        "169.254.170.2"
#define ZAE_CREDS_IMDS_ENDPOINT   "http://169.254.169.254"
#define ZAE_CREDS_IMDS_TOKEN_PATH "/latest/api/token"
#define ZAE_CREDS_IMDS_ROLE_PATH  "/latest/meta-data/iam/security-credentials/"
#define ZAE_CREDS_LINE_MAX        4096
#define ZAE_CREDS_MIN_REFRESH     30
#define ZAE_CREDS_MAX_RETRIES     2
#define ZAE_CREDS_ALIGN           16

#define ZAE_CREDS_STEP_TOKEN      0
#define ZAE_CREDS_STEP_ROLE       1
#define ZAE_CREDS_STEP_CREDS      2


/* INI scanning: a sink receives key/value pairs of the wanted profile */

typedef void (*zae_creds_ini_sink_pt)(void *ctx, zae_str_t *key,
    zae_str_t *value);

typedef struct {
    const char             *profile;
    int                     config;
    int                     in;
    zae_creds_ini_sink_pt   sink;
    void                   *ctx;
} zae_creds_ini_t;


/* what a profile yields, in fixed buffers */

typedef struct {
    u_char                  akid[ZAE_CREDS_AKID_MAX];
    u_char                  secret[ZAE_CREDS_SECRET_MAX];
    u_char                  token[ZAE_CREDS_TOKEN_MAX];
    u_char                  region[64];
    size_t                  akid_len;
    size_t                  secret_len;
    size_t                  token_len;
    size_t                  region_len;
    unsigned                has_akid:1;
    unsigned                has_secret:1;
    unsigned                has_token:1;
    unsigned                has_region:1;
    unsigned                too_long:1;
} zae_creds_found_t;


/* the JSON credentials document */

typedef struct {
    int                     depth;
    int                     key;
    unsigned                too_long:1;
    zae_creds_found_t       f;
    u_char                  expiration[64];
    size_t                  expiration_len;
    u_char                  code[64];
    size_t                  code_len;
    unsigned                has_expiration:1;
    unsigned                has_code:1;
} zae_creds_json_t;


static int zae_creds_is_space(u_char c);
static void zae_creds_trim(zae_str_t *s);
static int zae_creds_header_safe(const u_char *p, size_t len);
static int zae_creds_store(zae_creds_provider_t *p, const u_char *akid,
    size_t akid_len, const u_char *secret, size_t secret_len,
    const u_char *token, size_t token_len, int64_t expiration, int64_t now,
    zae_err_t *err);
static void zae_creds_ini_line(zae_creds_ini_t *ini, const u_char *p,
    size_t len);
static void zae_creds_ini_text(zae_creds_ini_t *ini, const u_char *text,
    size_t len);
static int zae_creds_ini_file(zae_creds_ini_t *ini, const char *path);
static void zae_creds_found_sink(void *ctx, zae_str_t *key,
    zae_str_t *value);
static int zae_creds_path(zae_getenv_pt getenv_fn, void *env_ctx,
    const char *var, const char *name, char *buf, size_t size);
static void zae_creds_file_sig(const char *path, zae_creds_file_sig_t *sig);
static int zae_creds_http_host_allowed(const u_char *host, size_t len,
    int bracketed);
static int zae_creds_parse_url(zae_creds_provider_t *p, const char *url,
    size_t len, int ecs, zae_err_t *err);
static int zae_creds_read_small(const char *path, u_char *buf, size_t size,
    size_t *len);
static const char *zae_creds_env(zae_getenv_pt getenv_fn, void *env_ctx,
    const char *name);


static int
zae_creds_is_space(u_char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
           || c == '\f';
}


static void
zae_creds_trim(zae_str_t *s)
{
    while (s->len && zae_creds_is_space(s->data[0])) {
        s->data++;
        s->len--;
    }

    while (s->len && zae_creds_is_space(s->data[s->len - 1])) {
        s->len--;
    }
}


/* printable ASCII without CR/LF: safe to send as an HTTP header value */

static int
zae_creds_header_safe(const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


static const char *
zae_creds_env(zae_getenv_pt getenv_fn, void *env_ctx, const char *name)
{
    const char  *v;

    if (getenv_fn == NULL) {
        return NULL;
    }

    v = getenv_fn(env_ctx, name);

    if (v == NULL || v[0] == '\0') {
        return NULL;
    }

    return v;
}


/* ISO-8601 */

static int
zae_creds_digits(const u_char *s, size_t n, int *out)
{
    size_t  i;
    int     v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return ZAE_ERROR;
        }

        v = v * 10 + (s[i] - '0');
    }

    *out = v;

    return ZAE_OK;
}


int
zae_creds_parse_time(const u_char *s, size_t len, int64_t *out)
{
    int          year, mon, day, hour, min, sec, oh, om, sign;
    size_t       i;
    int64_t      y, era, yoe, doy, doe, days;
    static int   mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    /* YYYY-MM-DDTHH:MM:SS */

    if (len < 19
        || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':'
        || zae_creds_digits(s, 4, &year) != ZAE_OK
        || zae_creds_digits(s + 5, 2, &mon) != ZAE_OK
        || zae_creds_digits(s + 8, 2, &day) != ZAE_OK
        || zae_creds_digits(s + 11, 2, &hour) != ZAE_OK
        || zae_creds_digits(s + 14, 2, &min) != ZAE_OK
        || zae_creds_digits(s + 17, 2, &sec) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (year < 1970 || mon < 1 || mon > 12 || day < 1
        || day > mdays[mon - 1] || hour > 23 || min > 59 || sec > 60)
    {
        return ZAE_ERROR;
    }

    if (mon == 2 && day == 29
        && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    {
        return ZAE_ERROR;
    }

    i = 19;

    /* fractions are ignored */

    if (i < len && s[i] == '.') {
        i++;

        if (i == len || s[i] < '0' || s[i] > '9') {
            return ZAE_ERROR;
        }

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }

    oh = 0;
    om = 0;
    sign = 1;

    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;

    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = (s[i] == '-') ? -1 : 1;
        i++;

        if (len - i == 5 && s[i + 2] == ':') {
            if (zae_creds_digits(s + i, 2, &oh) != ZAE_OK
                || zae_creds_digits(s + i + 3, 2, &om) != ZAE_OK)
            {
                return ZAE_ERROR;
            }

        } else if (len - i == 4 || len - i == 2) {
            if (zae_creds_digits(s + i, 2, &oh) != ZAE_OK
                || (len - i == 4
                    && zae_creds_digits(s + i + 2, 2, &om) != ZAE_OK))
            {
                return ZAE_ERROR;
            }

        } else {
            return ZAE_ERROR;
        }

        if (oh > 23 || om > 59) {
            return ZAE_ERROR;
        }

        i = len;

    } else {
        return ZAE_ERROR;
    }

    if (i != len) {
        return ZAE_ERROR;
    }

    /* days from 1970-01-01 of a proleptic Gregorian date */

    y = year - (mon <= 2);
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    *out = days * 86400 + hour * 3600 + min * 60 + sec
           - sign * (oh * 3600 + om * 60);

    return ZAE_OK;
}


/* storing credentials */

static int
zae_creds_store(zae_creds_provider_t *p, const u_char *akid, size_t akid_len,
    const u_char *secret, size_t secret_len, const u_char *token,
    size_t token_len, int64_t expiration, int64_t now, zae_err_t *err)
{
    int64_t  at, jitter;

    if (akid_len == 0 || secret_len == 0) {
        return zae_err_set(err, "credentials: access key id or secret "
                           "access key is empty");
    }

    if (akid_len > ZAE_CREDS_AKID_MAX || secret_len > ZAE_CREDS_SECRET_MAX
        || token_len > ZAE_CREDS_TOKEN_MAX)
    {
        return zae_err_set(err, "credentials: a value is too long");
    }

    if (!zae_creds_header_safe(akid, akid_len)
        || !zae_creds_header_safe(token, token_len))
    {
        return zae_err_set(err, "credentials: invalid characters in access "
                           "key id or session token");
    }

    OPENSSL_cleanse(p->akid_buf, sizeof(p->akid_buf));
    OPENSSL_cleanse(p->secret_buf, sizeof(p->secret_buf));
    OPENSSL_cleanse(p->token_buf, sizeof(p->token_buf));

    memcpy(p->akid_buf, akid, akid_len);
    memcpy(p->secret_buf, secret, secret_len);

    if (token_len) {
        memcpy(p->token_buf, token, token_len);
    }

    p->creds.access_key.data = p->akid_buf;
    p->creds.access_key.len = akid_len;
    p->creds.secret_key.data = p->secret_buf;
    p->creds.secret_key.len = secret_len;
    p->creds.session_token.data = token_len ? p->token_buf : NULL;
    p->creds.session_token.len = token_len;
    p->creds.expiration = expiration;
    p->have_creds = 1;

    if (expiration == 0) {
        p->refresh_at = 0;
        return ZAE_OK;
    }

    jitter = 0;

    if (p->jitter) {
        jitter = p->jitter(p->jitter_ctx, ZAE_CREDS_REFRESH_JITTER);

        if (jitter < 0 || jitter > ZAE_CREDS_REFRESH_JITTER) {
            jitter = 0;
        }
    }

    at = expiration - ZAE_CREDS_REFRESH_BEFORE - jitter;

    /* credentials that are short-lived already: do not hammer */

    if (at < now + ZAE_CREDS_MIN_REFRESH) {
        at = now + ZAE_CREDS_MIN_REFRESH;

        if (at > expiration) {
            at = expiration;
        }
    }

    p->refresh_at = at;

    return ZAE_OK;
}


int
zae_creds_provider_set(zae_creds_provider_t *p, const zae_aws_creds_t *creds,
    zae_err_t *err)
{
    if (zae_creds_store(p, creds->access_key.data, creds->access_key.len,
                        creds->secret_key.data, creds->secret_key.len,
                        creds->session_token.data, creds->session_token.len,
                        creds->expiration, 0, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    p->source = ZAE_CREDS_SRC_EXPLICIT;
    p->refresh_at = 0;

    return ZAE_OK;
}


const zae_aws_creds_t *
zae_creds_get(zae_creds_provider_t *p)
{
    return p->have_creds ? &p->creds : NULL;
}


void
zae_creds_provider_wipe(zae_creds_provider_t *p)
{
    OPENSSL_cleanse(p, sizeof(zae_creds_provider_t));
}


int
zae_creds_need_refresh(zae_creds_provider_t *p, int64_t now)
{
    if (p->source != ZAE_CREDS_SRC_ECS && p->source != ZAE_CREDS_SRC_IMDS) {
        return 0;
    }

    if (!p->have_creds) {
        return 1;
    }

    return p->refresh_at != 0 && now >= p->refresh_at;
}


/* environment */

int
zae_creds_from_env(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, zae_err_t *err)
{
    int64_t      exp;
    const char  *akid, *secret, *token, *expiration;

    akid = zae_creds_env(getenv_fn, env_ctx, "AWS_ACCESS_KEY_ID");
    secret = zae_creds_env(getenv_fn, env_ctx, "AWS_SECRET_ACCESS_KEY");
    token = zae_creds_env(getenv_fn, env_ctx, "AWS_SESSION_TOKEN");
    expiration = zae_creds_env(getenv_fn, env_ctx,
                               "AWS_CREDENTIAL_EXPIRATION");

    if (akid == NULL && secret == NULL) {
        return ZAE_DECLINED;
    }

    if (akid == NULL || secret == NULL) {
        return zae_err_set(err, "credentials: \"%s\" is set but \"%s\" "
                           "is not",
                           akid ? "AWS_ACCESS_KEY_ID"
                                : "AWS_SECRET_ACCESS_KEY",
                           akid ? "AWS_SECRET_ACCESS_KEY"
                                : "AWS_ACCESS_KEY_ID");
    }

    exp = 0;

    if (expiration
        && zae_creds_parse_time((u_char *) expiration, strlen(expiration),
                                &exp)
           != ZAE_OK)
    {
        return zae_err_set(err, "credentials: invalid "
                           "AWS_CREDENTIAL_EXPIRATION \"%.64s\"",
                           expiration);
    }

    if (zae_creds_store(p, (u_char *) akid, strlen(akid), (u_char *) secret,
                        strlen(secret), (u_char *) token,
                        token ? strlen(token) : 0, exp, 0, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    p->source = ZAE_CREDS_SRC_ENV;
    p->refresh_at = 0;

    return ZAE_OK;
}


/* INI files */

static void
zae_creds_ini_line(zae_creds_ini_t *ini, const u_char *p, size_t len)
{
    size_t     n, i;
    zae_str_t  line, name, key, value;

    if (len == 0) {
        return;
    }

    /* indented lines continue a value or hold sub-properties: skipped */

    if (p[0] == ' ' || p[0] == '\t') {
        return;
    }

    line.data = (u_char *) p;
    line.len = len;
    zae_creds_trim(&line);

    if (line.len == 0 || line.data[0] == '#' || line.data[0] == ';') {
        return;
    }

    if (line.data[0] == '[') {
        ini->in = 0;

        for (i = 1; i < line.len && line.data[i] != ']'; i++) {
            /* void */
        }

        if (i == line.len) {
            return;
        }

        name.data = line.data + 1;
        name.len = i - 1;
        zae_creds_trim(&name);

        if (ini->config) {
            if (name.len > 7 && memcmp(name.data, "profile", 7) == 0
                && (name.data[7] == ' ' || name.data[7] == '\t'))
            {
                name.data += 8;
                name.len -= 8;
                zae_creds_trim(&name);

            } else if (!(name.len == 7
                         && memcmp(name.data, "default", 7) == 0))
            {
                /* "[x]" in a config file is not a profile */
                return;
            }
        }

        n = strlen(ini->profile);
        ini->in = (name.len == n && memcmp(name.data, ini->profile, n) == 0);

        return;
    }

    if (!ini->in) {
        return;
    }

    for (i = 0; i < line.len && line.data[i] != '='; i++) {
        /* void */
    }

    if (i == line.len) {
        return;
    }

    key.data = line.data;
    key.len = i;
    zae_creds_trim(&key);

    value.data = line.data + i + 1;
    value.len = line.len - i - 1;
    zae_creds_trim(&value);

    ini->sink(ini->ctx, &key, &value);
}


static void
zae_creds_ini_text(zae_creds_ini_t *ini, const u_char *text, size_t len)
{
    const u_char  *p, *end, *eol;

    p = text;
    end = text + len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        zae_creds_ini_line(ini, p, eol - p);

        p = eol + 1;
    }
}


static int
zae_creds_ini_file(zae_creds_ini_t *ini, const char *path)
{
    int     skip, rc;
    FILE   *f;
    size_t  len, total;
    u_char  line[ZAE_CREDS_LINE_MAX];

    f = fopen(path, "r");
    if (f == NULL) {
        return ZAE_DECLINED;
    }

    skip = 0;
    total = 0;
    rc = ZAE_OK;

    while (fgets((char *) line, sizeof(line), f) != NULL) {
        len = strlen((char *) line);
        total += len;

        if (total > ZAE_CREDS_FILE_MAX) {
            rc = ZAE_ERROR;
            break;
        }

        if (len == 0) {
            continue;
        }

        if (line[len - 1] != '\n' && !feof(f)) {
            /* an overlong line: ignored up to its end */
            skip = 1;
            continue;
        }

        if (skip) {
            skip = 0;
            continue;
        }

        zae_creds_ini_line(ini, line, len);
    }

    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);

    return rc;
}


typedef struct {
    const char  *key;
    zae_str_t   *value;
} zae_creds_ini_get_t;


static void
zae_creds_ini_get_sink(void *ctx, zae_str_t *key, zae_str_t *value)
{
    zae_creds_ini_get_t  *g = ctx;

    if (strlen(g->key) == key->len
        && strncasecmp(g->key, (char *) key->data, key->len) == 0)
    {
        *g->value = *value;
    }
}


int
zae_creds_ini_get(const u_char *text, size_t len, int config,
    const char *profile, const char *key, zae_str_t *value)
{
    zae_creds_ini_t      ini;
    zae_creds_ini_get_t  g;

    value->data = NULL;
    value->len = 0;

    g.key = key;
    g.value = value;

    ini.profile = profile;
    ini.config = config;
    ini.in = 0;
    ini.sink = zae_creds_ini_get_sink;
    ini.ctx = &g;

    zae_creds_ini_text(&ini, text, len);

    return value->data ? ZAE_OK : ZAE_DECLINED;
}


static void
zae_creds_found_copy(zae_creds_found_t *f, u_char *buf, size_t size,
    size_t *len, zae_str_t *value)
{
    OPENSSL_cleanse(buf, size);

    if (value->len > size) {
        f->too_long = 1;
        *len = 0;
        return;
    }

    memcpy(buf, value->data, value->len);
    *len = value->len;
}


static void
zae_creds_found_sink(void *ctx, zae_str_t *key, zae_str_t *value)
{
    zae_creds_found_t  *f = ctx;

#define zae_creds_key_is(k)                                                  \
    (key->len == sizeof(k) - 1                                               \
     && strncasecmp((char *) key->data, k, sizeof(k) - 1) == 0)

    if (zae_creds_key_is("aws_access_key_id")) {
        zae_creds_found_copy(f, f->akid, sizeof(f->akid), &f->akid_len,
                             value);
        f->has_akid = 1;

    } else if (zae_creds_key_is("aws_secret_access_key")) {
        zae_creds_found_copy(f, f->secret, sizeof(f->secret), &f->secret_len,
                             value);
        f->has_secret = 1;

    } else if (zae_creds_key_is("aws_session_token")) {
        zae_creds_found_copy(f, f->token, sizeof(f->token), &f->token_len,
                             value);
        f->has_token = 1;

    } else if (zae_creds_key_is("region")) {
        zae_creds_found_copy(f, f->region, sizeof(f->region) - 1,
                             &f->region_len, value);
        f->has_region = 1;
    }

#undef zae_creds_key_is
}


/* credentials from a found profile: ZAE_OK, ZAE_DECLINED, ZAE_ERROR */

static int
zae_creds_from_found(zae_creds_provider_t *p, zae_creds_found_t *f,
    const char *what, const char *profile, zae_err_t *err)
{
    if (!f->has_akid && !f->has_secret) {
        return ZAE_DECLINED;
    }

    if (f->too_long) {
        return zae_err_set(err, "credentials: a value is too long in "
                           "profile \"%.64s\" of the %s file", profile, what);
    }

    if (!f->has_akid || !f->has_secret || f->akid_len == 0
        || f->secret_len == 0)
    {
        return zae_err_set(err, "credentials: profile \"%.64s\" of the %s "
                           "file has partial credentials", profile, what);
    }

    if (zae_creds_store(p, f->akid, f->akid_len, f->secret, f->secret_len,
                        f->token, f->has_token ? f->token_len : 0, 0, 0, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    p->source = ZAE_CREDS_SRC_PROFILE;
    p->refresh_at = 0;

    return ZAE_OK;
}


int
zae_creds_from_ini(zae_creds_provider_t *p, const char *profile,
    const u_char *cred_text, size_t cred_len, const u_char *conf_text,
    size_t conf_len, zae_err_t *err)
{
    int                rc;
    zae_creds_ini_t    ini;
    zae_creds_found_t  f;

    memset(&f, 0, sizeof(zae_creds_found_t));

    ini.profile = profile;
    ini.in = 0;
    ini.sink = zae_creds_found_sink;
    ini.ctx = &f;

    rc = ZAE_DECLINED;

    if (cred_text) {
        ini.config = 0;
        zae_creds_ini_text(&ini, cred_text, cred_len);
        rc = zae_creds_from_found(p, &f, "credentials", profile, err);
    }

    if (rc == ZAE_DECLINED && conf_text) {
        OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));
        ini.config = 1;
        ini.in = 0;
        zae_creds_ini_text(&ini, conf_text, conf_len);
        rc = zae_creds_from_found(p, &f, "config", profile, err);
    }

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    return rc;
}


static int
zae_creds_path(zae_getenv_pt getenv_fn, void *env_ctx, const char *var,
    const char *name, char *buf, size_t size)
{
    int          n;
    const char  *v, *home;

    v = zae_creds_env(getenv_fn, env_ctx, var);

    if (v) {
        n = snprintf(buf, size, "%s", v);

    } else {
        home = zae_creds_env(getenv_fn, env_ctx, "HOME");
        if (home == NULL) {
            return ZAE_DECLINED;
        }

        n = snprintf(buf, size, "%s/.aws/%s", home, name);
    }

    if (n < 0 || (size_t) n >= size) {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static const char *
zae_creds_profile(zae_getenv_pt getenv_fn, void *env_ctx, const char *profile)
{
    const char  *v;

    if (profile && profile[0]) {
        return profile;
    }

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_PROFILE");

    return v ? v : "default";
}


static int
zae_creds_from_files(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err)
{
    int                rc;
    char               path[ZAE_CREDS_URL_MAX];
    zae_creds_ini_t    ini;
    zae_creds_found_t  f;

    memset(&f, 0, sizeof(zae_creds_found_t));

    ini.profile = profile;
    ini.sink = zae_creds_found_sink;
    ini.ctx = &f;

    rc = zae_creds_path(getenv_fn, env_ctx, "AWS_SHARED_CREDENTIALS_FILE",
                        "credentials", path, sizeof(path));

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "credentials: shared credentials file "
                           "path is too long");
    }

    /* what was read, for zae_creds_files_check() */

    p->cred_path[0] = '\0';
    p->conf_path[0] = '\0';

    if (rc == ZAE_OK) {
        memcpy(p->cred_path, path, strlen(path) + 1);
        zae_creds_file_sig(p->cred_path, &p->cred_sig);
    }

    if (rc == ZAE_OK) {
        ini.config = 0;
        ini.in = 0;

        rc = zae_creds_ini_file(&ini, path);

        if (rc == ZAE_ERROR) {
            OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));
            return zae_err_set(err, "credentials: file \"%.512s\" is too "
                               "large", path);
        }

        rc = zae_creds_from_found(p, &f, "credentials", profile, err);
        if (rc != ZAE_DECLINED) {
            OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));
            return rc;
        }
    }

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    rc = zae_creds_path(getenv_fn, env_ctx, "AWS_CONFIG_FILE", "config",
                        path, sizeof(path));

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "credentials: config file path is too long");
    }

    if (rc == ZAE_OK) {
        memcpy(p->conf_path, path, strlen(path) + 1);
        zae_creds_file_sig(p->conf_path, &p->conf_sig);
    }

    if (rc == ZAE_OK) {
        ini.config = 1;
        ini.in = 0;

        rc = zae_creds_ini_file(&ini, path);

        if (rc == ZAE_ERROR) {
            OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));
            return zae_err_set(err, "credentials: file \"%.512s\" is too "
                               "large", path);
        }

        rc = zae_creds_from_found(p, &f, "config", profile, err);
    }

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    return rc;
}


static void
zae_creds_file_sig(const char *path, zae_creds_file_sig_t *sig)
{
    struct stat  st;

    memset(sig, 0, sizeof(zae_creds_file_sig_t));

    if (path[0] == '\0' || stat(path, &st) != 0) {
        return;
    }

    sig->exists = 1;
    sig->mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000
                    + st.st_mtim.tv_nsec;
    sig->size = (int64_t) st.st_size;
    sig->ino = (uint64_t) st.st_ino;
}


static int
zae_creds_file_changed(const char *path, zae_creds_file_sig_t *old)
{
    zae_creds_file_sig_t  sig;

    zae_creds_file_sig(path, &sig);

    return sig.exists != old->exists || sig.mtime_ns != old->mtime_ns
           || sig.size != old->size || sig.ino != old->ino;
}


/* the environment of the first read, for zae_creds_files_check() */

static const char *
zae_creds_files_getenv(void *ctx, const char *name)
{
    zae_creds_provider_t  *p = ctx;

    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0) {
        return p->cred_path[0] ? p->cred_path : "";
    }

    if (strcmp(name, "AWS_CONFIG_FILE") == 0) {
        return p->conf_path[0] ? p->conf_path : "";
    }

    return NULL;
}


int
zae_creds_files_check(zae_creds_provider_t *p, int64_t now, zae_err_t *err)
{
    int                    rc;
    zae_creds_provider_t  *tmp;

    if (p->source != ZAE_CREDS_SRC_PROFILE) {
        return ZAE_DECLINED;
    }

    if (now - p->files_read_at < ZAE_CREDS_FILES_RELOAD
        && !zae_creds_file_changed(p->cred_path, &p->cred_sig)
        && !zae_creds_file_changed(p->conf_path, &p->conf_sig))
    {
        return ZAE_DECLINED;
    }

    /* read into a copy: on failure the current credentials stay */

    tmp = calloc(1, sizeof(zae_creds_provider_t));
    if (tmp == NULL) {
        return zae_err_set(err, "credentials: out of memory");
    }

    memcpy(tmp->cred_path, p->cred_path, sizeof(p->cred_path));
    memcpy(tmp->conf_path, p->conf_path, sizeof(p->conf_path));

    rc = zae_creds_from_files(tmp, zae_creds_files_getenv, tmp, p->profile,
                              err);

    /* checked again in ZAE_CREDS_FILES_RELOAD seconds, or when changed */

    p->files_read_at = now;
    p->cred_sig = tmp->cred_sig;
    p->conf_sig = tmp->conf_sig;

    if (rc == ZAE_DECLINED) {
        rc = zae_err_set(err, "credentials: profile \"%.64s\" no longer "
                         "has credentials in the shared files", p->profile);

    } else if (rc == ZAE_OK) {
        rc = zae_creds_store(p, tmp->creds.access_key.data,
                             tmp->creds.access_key.len,
                             tmp->creds.secret_key.data,
                             tmp->creds.secret_key.len,
                             tmp->creds.session_token.data,
                             tmp->creds.session_token.len, 0, now, err);
    }

    OPENSSL_cleanse(tmp, sizeof(zae_creds_provider_t));
    free(tmp);

    return rc;
}


int
zae_creds_region(zae_getenv_pt getenv_fn, void *env_ctx, const char *profile,
    char *buf, size_t size, zae_err_t *err)
{
    int                rc;
    char               path[ZAE_CREDS_URL_MAX];
    const char        *v;
    zae_creds_ini_t    ini;
    zae_creds_found_t  f;

    if (size == 0) {
        return zae_err_set(err, "region: no buffer");
    }

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_REGION");
    if (v == NULL) {
        v = zae_creds_env(getenv_fn, env_ctx, "AWS_DEFAULT_REGION");
    }

    if (v) {
        if (strlen(v) >= size) {
            return zae_err_set(err, "region: \"%.64s\" is too long", v);
        }

        memcpy(buf, v, strlen(v) + 1);

        return ZAE_OK;
    }

    rc = zae_creds_path(getenv_fn, env_ctx, "AWS_CONFIG_FILE", "config",
                        path, sizeof(path));

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "region: config file path is too long");
    }

    if (rc == ZAE_DECLINED) {
        return ZAE_DECLINED;
    }

    memset(&f, 0, sizeof(zae_creds_found_t));

    ini.profile = zae_creds_profile(getenv_fn, env_ctx, profile);
    ini.config = 1;
    ini.in = 0;
    ini.sink = zae_creds_found_sink;
    ini.ctx = &f;

    rc = zae_creds_ini_file(&ini, path);

    if (rc == ZAE_OK && f.has_region && f.region_len && !f.too_long) {
        if (f.region_len >= size) {
            rc = zae_err_set(err, "region: value in \"%.512s\" is too long",
                             path);

        } else {
            memcpy(buf, f.region, f.region_len);
            buf[f.region_len] = '\0';
        }

    } else if (rc == ZAE_ERROR) {
        rc = zae_err_set(err, "region: file \"%.512s\" is too large", path);

    } else {
        rc = ZAE_DECLINED;
    }

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    return rc;
}


/* http(s)://host[:port][/path] */

/*
 * The hosts the AWS SDKs let container credentials come from over plain
 * http: "localhost", any IPv4 loopback (127.0.0.0/8), ::1, the ECS agent
 * 169.254.170.2 and the EKS Pod Identity agent 169.254.170.23 and
 * fd00:ec2::23.  The host is parsed as an address (IPv6 only inside
 * brackets), so "127.evil.example" is a name, and refused.
 */

static int
zae_creds_http_host_allowed(const u_char *host, size_t len, int bracketed)
{
    u_char  a4[4], a6[16];

    static const u_char  ecs4[4] = { 169, 254, 170, 2 };
    static const u_char  eks4[4] = { 169, 254, 170, 23 };
    static const u_char  lo6[16] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, 0, 0, 0, 0, 0, 1 };
    static const u_char  eks6[16] = { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0x23 };

    if (bracketed) {
        return inet_pton(AF_INET6, (const char *) host, a6) == 1
               && (memcmp(a6, lo6, 16) == 0 || memcmp(a6, eks6, 16) == 0);
    }

    if (len == 9 && strncasecmp((const char *) host, "localhost", 9) == 0) {
        return 1;
    }

    return inet_pton(AF_INET, (const char *) host, a4) == 1
           && (a4[0] == 127 || memcmp(a4, ecs4, 4) == 0
               || memcmp(a4, eks4, 4) == 0);
}


static int
zae_creds_parse_url(zae_creds_provider_t *p, const char *url, size_t len,
    int ecs, zae_err_t *err)
{
    int          bracketed;
    size_t       i, hlen, plen;
    const char  *h, *path;
    unsigned     port;

    for (i = 0; i < len; i++) {
        if ((u_char) url[i] <= 0x20 || (u_char) url[i] >= 0x7f) {
            return zae_err_set(err, "credentials: invalid url");
        }
    }

    if (len > 7 && strncasecmp(url, "http://", 7) == 0) {
        p->https = 0;
        port = 80;
        i = 7;

    } else if (len > 8 && strncasecmp(url, "https://", 8) == 0) {
        p->https = 1;
        port = 443;
        i = 8;

    } else {
        return zae_err_set(err, "credentials: url \"%.256s\" is not http "
                           "or https", url);
    }

    bracketed = (url[i] == '[');

    if (bracketed) {
        h = url + i + 1;

        for (i++; i < len && url[i] != ']'; i++) {
            /* void */
        }

        if (i == len) {
            return zae_err_set(err, "credentials: invalid url \"%.256s\"",
                               url);
        }

        hlen = (url + i) - h;
        i++;

    } else {
        h = url + i;

        while (i < len && url[i] != ':' && url[i] != '/' && url[i] != '?') {
            i++;
        }

        hlen = (url + i) - h;
    }

    if (hlen == 0 || hlen >= ZAE_CREDS_HOST_MAX) {
        return zae_err_set(err, "credentials: invalid host in url "
                           "\"%.256s\"", url);
    }

    if (i < len && url[i] == ':') {
        port = 0;

        for (i++; i < len && url[i] >= '0' && url[i] <= '9'; i++) {
            port = port * 10 + (url[i] - '0');

            if (port > 65535) {
                break;
            }
        }

        if (port == 0 || port > 65535) {
            return zae_err_set(err, "credentials: invalid port in url "
                               "\"%.256s\"", url);
        }
    }

    if (i < len && url[i] != '/' && url[i] != '?') {
        return zae_err_set(err, "credentials: invalid url \"%.256s\"", url);
    }

    path = url + i;
    plen = len - i;

    if (plen + 2 >= ZAE_CREDS_URL_MAX) {
        return zae_err_set(err, "credentials: url \"%.256s\" is too long",
                           url);
    }

    memcpy(p->host, h, hlen);
    p->host[hlen] = '\0';
    p->host_len = hlen;
    p->port = (uint16_t) port;

    p->path_len = 0;

    if (plen == 0 || path[0] == '?') {
        p->path[p->path_len++] = '/';
    }

    memcpy(p->path + p->path_len, path, plen);
    p->path_len += plen;
    p->path[p->path_len] = '\0';

    if (ecs && !p->https) {

        /* plain http only to the container agent or loopback */

        if (!zae_creds_http_host_allowed(p->host, hlen, bracketed)) {
            return zae_err_set(err, "credentials: container credentials "
                               "host \"%.*s\" is not allowed over http",
                               (int) hlen, h);
        }
    }

    return ZAE_OK;
}


static int
zae_creds_read_small(const char *path, u_char *buf, size_t size,
    size_t *len)
{
    FILE    *f;
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        return ZAE_ERROR;
    }

    n = fread(buf, 1, size, f);

    if (ferror(f) || (n == size && fgetc(f) != EOF)) {
        fclose(f);
        OPENSSL_cleanse(buf, size);
        return ZAE_ERROR;
    }

    fclose(f);

    *len = n;

    return ZAE_OK;
}


/* the JSON credentials document */

enum {
    ZAE_CREDS_KEY_NONE = 0,
    ZAE_CREDS_KEY_AKID,
    ZAE_CREDS_KEY_SECRET,
    ZAE_CREDS_KEY_TOKEN,
    ZAE_CREDS_KEY_EXPIRATION,
    ZAE_CREDS_KEY_CODE
};


static void *
zae_creds_yajl_malloc(void *ctx, size_t size)
{
    size_t  *p;

    if (size > SIZE_MAX - ZAE_CREDS_ALIGN) {
        return NULL;
    }

    p = malloc(ZAE_CREDS_ALIGN + size);
    if (p == NULL) {
        return NULL;
    }

    *p = size;

    return (u_char *) p + ZAE_CREDS_ALIGN;
}


static void
zae_creds_yajl_free(void *ctx, void *ptr)
{
    u_char  *p;

    if (ptr == NULL) {
        return;
    }

    p = (u_char *) ptr - ZAE_CREDS_ALIGN;

    /* yajl buffers may hold secrets */

    OPENSSL_cleanse(p, ZAE_CREDS_ALIGN + *(size_t *) p);
    free(p);
}


static void *
zae_creds_yajl_realloc(void *ctx, void *ptr, size_t size)
{
    size_t   old;
    u_char  *n;

    n = zae_creds_yajl_malloc(ctx, size);
    if (n == NULL || ptr == NULL) {
        return n;
    }

    old = *(size_t *) ((u_char *) ptr - ZAE_CREDS_ALIGN);
    memcpy(n, ptr, old < size ? old : size);
    zae_creds_yajl_free(ctx, ptr);

    return n;
}


static void
zae_creds_json_value(zae_creds_json_t *js)
{
    if (js->depth == 1) {
        js->key = ZAE_CREDS_KEY_NONE;
    }
}


static int
zae_creds_json_null(void *ctx)
{
    zae_creds_json_value(ctx);
    return 1;
}


static int
zae_creds_json_bool(void *ctx, int v)
{
    zae_creds_json_value(ctx);
    return 1;
}


static int
zae_creds_json_number(void *ctx, const char *s, size_t len)
{
    zae_creds_json_value(ctx);
    return 1;
}


static int
zae_creds_json_string(void *ctx, const unsigned char *s, size_t len)
{
    zae_creds_json_t  *js = ctx;
    zae_str_t          v;

    if (js->depth != 1) {
        return js->depth > 1;
    }

    v.data = (u_char *) s;
    v.len = len;

    switch (js->key) {

    case ZAE_CREDS_KEY_AKID:
        zae_creds_found_copy(&js->f, js->f.akid, sizeof(js->f.akid),
                             &js->f.akid_len, &v);
        js->f.has_akid = 1;
        break;

    case ZAE_CREDS_KEY_SECRET:
        zae_creds_found_copy(&js->f, js->f.secret, sizeof(js->f.secret),
                             &js->f.secret_len, &v);
        js->f.has_secret = 1;
        break;

    case ZAE_CREDS_KEY_TOKEN:
        zae_creds_found_copy(&js->f, js->f.token, sizeof(js->f.token),
                             &js->f.token_len, &v);
        js->f.has_token = 1;
        break;

    case ZAE_CREDS_KEY_EXPIRATION:
        zae_creds_found_copy(&js->f, js->expiration, sizeof(js->expiration),
                             &js->expiration_len, &v);
        js->has_expiration = 1;
        break;

    case ZAE_CREDS_KEY_CODE:
        zae_creds_found_copy(&js->f, js->code, sizeof(js->code),
                             &js->code_len, &v);
        js->has_code = 1;
        break;

    default:
        break;
    }

    js->key = ZAE_CREDS_KEY_NONE;

    return 1;
}


static int
zae_creds_json_start(void *ctx)
{
    zae_creds_json_t  *js = ctx;

    if (js->depth >= 64) {
        return 0;
    }

    js->depth++;

    return 1;
}


static int
zae_creds_json_start_array(void *ctx)
{
    zae_creds_json_t  *js = ctx;

    /* the document is an object */

    if (js->depth == 0) {
        return 0;
    }

    return zae_creds_json_start(ctx);
}


static int
zae_creds_json_end(void *ctx)
{
    zae_creds_json_t  *js = ctx;

    js->depth--;
    zae_creds_json_value(js);

    return 1;
}


static int
zae_creds_json_key(void *ctx, const unsigned char *s, size_t len)
{
    zae_creds_json_t  *js = ctx;

    if (js->depth != 1) {
        return 1;
    }

#define zae_creds_json_is(k)                                                 \
    (len == sizeof(k) - 1 && memcmp(s, k, sizeof(k) - 1) == 0)

    if (zae_creds_json_is("AccessKeyId")) {
        js->key = ZAE_CREDS_KEY_AKID;

    } else if (zae_creds_json_is("SecretAccessKey")) {
        js->key = ZAE_CREDS_KEY_SECRET;

    } else if (zae_creds_json_is("Token")) {
        js->key = ZAE_CREDS_KEY_TOKEN;

    } else if (zae_creds_json_is("Expiration")) {
        js->key = ZAE_CREDS_KEY_EXPIRATION;

    } else if (zae_creds_json_is("Code")) {
        js->key = ZAE_CREDS_KEY_CODE;

    } else {
        js->key = ZAE_CREDS_KEY_NONE;
    }

#undef zae_creds_json_is

    return 1;
}


static yajl_callbacks  zae_creds_json_callbacks = {
    zae_creds_json_null,
    zae_creds_json_bool,
    NULL,
    NULL,
    zae_creds_json_number,
    zae_creds_json_string,
    zae_creds_json_start,
    zae_creds_json_key,
    zae_creds_json_end,
    zae_creds_json_start_array,
    zae_creds_json_end
};


int
zae_creds_parse_json(zae_creds_provider_t *p, const u_char *body, size_t len,
    int64_t now, zae_err_t *err)
{
    int                rc;
    int64_t            exp;
    yajl_handle        h;
    yajl_status        st;
    zae_creds_json_t  *js;
    yajl_alloc_funcs   af;
    zae_creds_json_t   jsbuf;

    if (len > 65536) {
        return zae_err_set(err, "credentials: response is too large");
    }

    js = &jsbuf;
    memset(js, 0, sizeof(zae_creds_json_t));

    af.malloc = zae_creds_yajl_malloc;
    af.realloc = zae_creds_yajl_realloc;
    af.free = zae_creds_yajl_free;
    af.ctx = NULL;

    h = yajl_alloc(&zae_creds_json_callbacks, &af, js);
    if (h == NULL) {
        return zae_err_set(err, "credentials: out of memory");
    }

    st = yajl_parse(h, body, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    rc = ZAE_ERROR;

    if (st != yajl_status_ok || js->depth != 0) {
        zae_err_set(err, "credentials: response is not a json object");
        goto done;
    }

    if (js->f.too_long) {
        zae_err_set(err, "credentials: a value in the response is too long");
        goto done;
    }

    if (js->has_code
        && !(js->code_len == 7 && memcmp(js->code, "Success", 7) == 0))
    {
        zae_err_set(err, "credentials: response code \"%.*s\"",
                    (int) js->code_len, js->code);
        goto done;
    }

    if (!js->f.has_akid || !js->f.has_secret) {
        zae_err_set(err, "credentials: response has no AccessKeyId or "
                    "SecretAccessKey");
        goto done;
    }

    exp = 0;

    if (js->has_expiration
        && zae_creds_parse_time(js->expiration, js->expiration_len, &exp)
           != ZAE_OK)
    {
        zae_err_set(err, "credentials: invalid Expiration \"%.*s\"",
                    (int) js->expiration_len, js->expiration);
        goto done;
    }

    rc = zae_creds_store(p, js->f.akid, js->f.akid_len, js->f.secret,
                         js->f.secret_len, js->f.token,
                         js->f.has_token ? js->f.token_len : 0, exp, now,
                         err);

done:

    OPENSSL_cleanse(js, sizeof(zae_creds_json_t));

    return rc;
}


/* the chain */

int
zae_creds_provider_init(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err)
{
    int          rc;
    char         url[ZAE_CREDS_URL_MAX];
    size_t       n;
    const char  *prof, *rel, *full, *v;

    memset(p, 0, sizeof(zae_creds_provider_t));

    rc = zae_creds_from_env(p, getenv_fn, env_ctx, err);
    if (rc != ZAE_DECLINED) {
        return rc;
    }

    prof = zae_creds_profile(getenv_fn, env_ctx, profile);

    (void) snprintf(p->profile, sizeof(p->profile), "%s", prof);

    rc = zae_creds_from_files(p, getenv_fn, env_ctx, prof, err);
    if (rc != ZAE_DECLINED) {
        return rc;
    }

    /* ECS */

    rel = zae_creds_env(getenv_fn, env_ctx,
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    full = zae_creds_env(getenv_fn, env_ctx,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI");

    if (rel || full) {
        if (rel) {
            if (rel[0] != '/') {
                return zae_err_set(err, "credentials: "
                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                                   "must start with \"/\"");
            }

            n = snprintf(url, sizeof(url), "http://" ZAE_CREDS_ECS_HOST "%s",
                         rel);

        } else {
            n = snprintf(url, sizeof(url), "%s", full);
        }

        if (n >= sizeof(url)) {
            return zae_err_set(err, "credentials: container credentials "
                               "url is too long");
        }

        if (zae_creds_parse_url(p, url, n, 1, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        v = zae_creds_env(getenv_fn, env_ctx,
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");

        if (v) {
            if (strlen(v) >= sizeof(p->auth_file)) {
                return zae_err_set(err, "credentials: authorization token "
                                   "file path is too long");
            }

            memcpy(p->auth_file, v, strlen(v) + 1);

        } else {
            v = zae_creds_env(getenv_fn, env_ctx,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN");

            if (v) {
                n = strlen(v);

                if (n >= sizeof(p->auth)
                    || !zae_creds_header_safe((u_char *) v, n))
                {
                    return zae_err_set(err, "credentials: invalid "
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN");
                }

                memcpy(p->auth, v, n);
                p->auth_len = n;
            }
        }

        p->source = ZAE_CREDS_SRC_ECS;

        return ZAE_AGAIN;
    }

    /* EC2 instance metadata */

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_EC2_METADATA_DISABLED");

    if (v && strcasecmp(v, "true") == 0) {
        return zae_err_set(err, "credentials: no aws credentials found "
                           "(environment, profile \"%.64s\", container; "
                           "instance metadata is disabled)", prof);
    }

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (v == NULL) {
        v = ZAE_CREDS_IMDS_ENDPOINT;
    }

    if (zae_creds_parse_url(p, v, strlen(v), 0, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    /* the endpoint's path is a prefix */

    while (p->path_len && p->path[p->path_len - 1] == '/') {
        p->path_len--;
    }

    p->path[p->path_len] = '\0';

    p->source = ZAE_CREDS_SRC_IMDS;

    return ZAE_AGAIN;
}


static int
zae_creds_request(zae_creds_provider_t *p, zae_creds_http_t *req,
    const char *method, const char *suffix, zae_err_t *err)
{
    int     n, v6;
    size_t  off;

    v6 = (memchr(p->host, ':', p->host_len) != NULL);

    n = snprintf((char *) p->url, sizeof(p->url), "%s://%s%s%s:%u",
                 p->https ? "https" : "http", v6 ? "[" : "",
                 (char *) p->host, v6 ? "]" : "", (unsigned) p->port);

    if (n < 0 || (size_t) n >= sizeof(p->url)) {
        return zae_err_set(err, "credentials: url is too long");
    }

    off = n;

    n = snprintf((char *) p->url + off, sizeof(p->url) - off, "%.*s%s",
                 (int) p->path_len, (char *) p->path, suffix);

    if (n < 0 || (size_t) n >= sizeof(p->url) - off) {
        return zae_err_set(err, "credentials: url is too long");
    }

    req->method.data = (u_char *) method;
    req->method.len = strlen(method);
    req->url.data = p->url;
    req->url.len = off + n;
    req->host.data = p->host;
    req->host.len = p->host_len;
    req->path.data = p->url + off;
    req->path.len = n;
    req->port = p->port;
    req->https = p->https;

    if (req->path.len == 0) {
        zae_str_set(&req->path, "/");
    }

    return ZAE_OK;
}


int
zae_creds_next_request(zae_creds_provider_t *p, int64_t now,
    zae_creds_http_t *req, zae_err_t *err)
{
    size_t  len;

    memset(req, 0, sizeof(zae_creds_http_t));

    if (p->source != ZAE_CREDS_SRC_ECS && p->source != ZAE_CREDS_SRC_IMDS) {
        return ZAE_OK;
    }

    if (p->step == 0) {
        if (!zae_creds_need_refresh(p, now)) {
            return ZAE_OK;
        }

        p->retries = 0;

        if (p->source == ZAE_CREDS_SRC_ECS) {
            p->step = ZAE_CREDS_STEP_TOKEN + 1;

        } else if (p->imds_token_len && now < p->imds_token_expires) {
            p->step = ZAE_CREDS_STEP_ROLE + 1;

        } else {
            p->step = ZAE_CREDS_STEP_TOKEN + 1;
        }
    }

    if (p->source == ZAE_CREDS_SRC_ECS) {

        if (zae_creds_request(p, req, "GET", "", err) != ZAE_OK) {
            p->step = 0;
            return ZAE_ERROR;
        }

        if (p->auth_file[0]) {
            OPENSSL_cleanse(p->auth, sizeof(p->auth));
            p->auth_len = 0;

            if (zae_creds_read_small((char *) p->auth_file, p->auth,
                                     sizeof(p->auth) - 1, &len)
                != ZAE_OK)
            {
                p->step = 0;
                return zae_err_set(err, "credentials: cannot read "
                                   "authorization token file \"%.512s\"",
                                   p->auth_file);
            }

            while (len && zae_creds_is_space(p->auth[len - 1])) {
                len--;
            }

            if (!zae_creds_header_safe(p->auth, len)) {
                OPENSSL_cleanse(p->auth, sizeof(p->auth));
                p->step = 0;
                return zae_err_set(err, "credentials: invalid authorization "
                                   "token in \"%.512s\"", p->auth_file);
            }

            p->auth_len = len;
        }

        if (p->auth_len) {
            zae_str_set(&req->headers[0].name, "Authorization");
            req->headers[0].value.data = p->auth;
            req->headers[0].value.len = p->auth_len;
            req->nheaders = 1;
        }

        return ZAE_AGAIN;
    }

    /* IMDSv2 */

    switch (p->step - 1) {

    case ZAE_CREDS_STEP_TOKEN:
        if (zae_creds_request(p, req, "PUT", ZAE_CREDS_IMDS_TOKEN_PATH, err)
            != ZAE_OK)
        {
            p->step = 0;
            return ZAE_ERROR;
        }

        zae_str_set(&req->headers[0].name,
                    "X-aws-ec2-metadata-token-ttl-seconds");
        zae_str_set(&req->headers[0].value, ZAE_CREDS_IMDS_TTL);
        req->nheaders = 1;

        return ZAE_AGAIN;

    case ZAE_CREDS_STEP_ROLE:
        if (zae_creds_request(p, req, "GET", ZAE_CREDS_IMDS_ROLE_PATH, err)
            != ZAE_OK)
        {
            p->step = 0;
            return ZAE_ERROR;
        }

        break;

    default: /* ZAE_CREDS_STEP_CREDS */
        p->role[p->role_len] = '\0';

        if (zae_creds_request(p, req, "GET", ZAE_CREDS_IMDS_ROLE_PATH, err)
            != ZAE_OK
            || p->url + sizeof(p->url) - (req->path.data + req->path.len)
               <= (ptrdiff_t) p->role_len)
        {
            p->step = 0;
            return zae_err_set(err, "credentials: url is too long");
        }

        memcpy(req->path.data + req->path.len, p->role, p->role_len + 1);
        req->path.len += p->role_len;
        req->url.len += p->role_len;

        break;
    }

    zae_str_set(&req->headers[0].name, "X-aws-ec2-metadata-token");
    req->headers[0].value.data = p->imds_token;
    req->headers[0].value.len = p->imds_token_len;
    req->nheaders = 1;

    return ZAE_AGAIN;
}


static int
zae_creds_imds_retry(zae_creds_provider_t *p, int step, int status,
    zae_err_t *err)
{
    if (++p->retries > ZAE_CREDS_MAX_RETRIES) {
        p->step = 0;
        return zae_err_set(err, "credentials: instance metadata returned "
                           "status %d", status);
    }

    if (step == ZAE_CREDS_STEP_TOKEN) {
        OPENSSL_cleanse(p->imds_token, sizeof(p->imds_token));
        p->imds_token_len = 0;
        p->imds_token_expires = 0;
    }

    p->step = step + 1;

    return ZAE_AGAIN;
}


int
zae_creds_response(zae_creds_provider_t *p, int status, const u_char *body,
    size_t len, int64_t now, zae_err_t *err)
{
    int        step;
    zae_str_t  s;

    if (p->step == 0
        || (p->source != ZAE_CREDS_SRC_ECS && p->source != ZAE_CREDS_SRC_IMDS))
    {
        return zae_err_set(err, "credentials: no request in progress");
    }

    if (body == NULL) {
        len = 0;
    }

    step = p->step - 1;

    if (p->source == ZAE_CREDS_SRC_ECS) {
        p->step = 0;

        if (status != 200) {
            return zae_err_set(err, "credentials: container endpoint "
                               "returned status %d", status);
        }

        return zae_creds_parse_json(p, body, len, now, err);
    }

    switch (step) {

    case ZAE_CREDS_STEP_TOKEN:
        if (status != 200) {
            p->step = 0;
            return zae_err_set(err, "credentials: instance metadata token "
                               "request returned status %d", status);
        }

        s.data = (u_char *) body;
        s.len = len;
        zae_creds_trim(&s);

        if (s.len == 0 || s.len >= sizeof(p->imds_token)
            || !zae_creds_header_safe(s.data, s.len))
        {
            p->step = 0;
            return zae_err_set(err, "credentials: invalid instance metadata "
                               "token");
        }

        OPENSSL_cleanse(p->imds_token, sizeof(p->imds_token));
        memcpy(p->imds_token, s.data, s.len);
        p->imds_token_len = s.len;
        p->imds_token_expires = now + atoi(ZAE_CREDS_IMDS_TTL) - 60;
        p->step = ZAE_CREDS_STEP_ROLE + 1;

        return ZAE_AGAIN;

    case ZAE_CREDS_STEP_ROLE:
        if (status == 401) {
            return zae_creds_imds_retry(p, ZAE_CREDS_STEP_TOKEN, status, err);
        }

        if (status != 200) {
            p->step = 0;
            return zae_err_set(err, "credentials: instance metadata role "
                               "request returned status %d", status);
        }

        s.data = (u_char *) body;
        s.len = len;
        zae_creds_trim(&s);

        if (s.len && memchr(s.data, '\n', s.len)) {
            s.len = (u_char *) memchr(s.data, '\n', s.len) - s.data;
            zae_creds_trim(&s);
        }

        if (s.len == 0 || s.len >= sizeof(p->role)
            || !zae_creds_header_safe(s.data, s.len)
            || memchr(s.data, '/', s.len) || memchr(s.data, '?', s.len)
            || memchr(s.data, '#', s.len) || memchr(s.data, ' ', s.len)
            || memchr(s.data, '%', s.len))
        {
            p->step = 0;
            return zae_err_set(err, "credentials: no valid role in instance "
                               "metadata");
        }

        memcpy(p->role, s.data, s.len);
        p->role[s.len] = '\0';
        p->role_len = s.len;
        p->step = ZAE_CREDS_STEP_CREDS + 1;

        return ZAE_AGAIN;

    default: /* ZAE_CREDS_STEP_CREDS */
        if (status == 401) {
            return zae_creds_imds_retry(p, ZAE_CREDS_STEP_TOKEN, status, err);
        }

        if (status == 404) {
            return zae_creds_imds_retry(p, ZAE_CREDS_STEP_ROLE, status, err);
        }

        p->step = 0;

        if (status != 200) {
            return zae_err_set(err, "credentials: instance metadata "
                               "credentials request returned status %d",
                               status);
        }

        return zae_creds_parse_json(p, body, len, now, err);
    }
}
