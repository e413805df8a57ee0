
/*
 * Copyright (C) zae-limit authors
 */


/*
 * What the HTTP sources hand back, parsed: ISO-8601 times, the urls of
 * the container and metadata endpoints (and the hosts allowed over plain
 * http), small token files, and the JSON credentials document of ECS
 * and IMDS.
 */


#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <yajl/yajl_parse.h>

#include "zae_creds.h"
#include "zae_creds_int.h"


#define ZAE_CREDS_ALIGN           16


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


static int zae_creds_http_host_allowed(const u_char *host, size_t len,
    int bracketed);


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


int
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


int
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

