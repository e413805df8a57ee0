
/*
 * Copyright (C) zae-limit authors
 */


/*
 * SHA-256 through OpenSSL's low-level functions, deprecated since 3.0
 * and still in 3.x and 4.0: their context is a plain struct on the
 * stack, and they run the same assembler as EVP.  OpenSSL 3.0's EVP
 * allocates a provider context on every EVP_DigestInit_ex(),
 * EVP_MD_CTX_copy_ex(), HMAC() and EVP_MAC_init(), even on a reused
 * context: 19 heap allocations per signature, none now.
 */

#define OPENSSL_SUPPRESS_DEPRECATED  1

#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "zae_sigv4.h"


#if (ZAE_SIGV4_KEY_LEN != SHA256_DIGEST_LENGTH)
#error "ZAE_SIGV4_KEY_LEN is not the size of a SHA-256 digest"
#endif


typedef struct {
    zae_str_t              name;          /* lowercased copy */
    zae_str_t              value;
    size_t                 index;
} zae_sigv4_hdr_t;


typedef struct {
    zae_str_t              key;           /* encoded */
    zae_str_t              value;         /* encoded */
} zae_sigv4_param_t;


static int zae_sigv4_is_unreserved(u_char c);
static int zae_sigv4_is_space(u_char c);
static int zae_sigv4_hexval(u_char c);
static int zae_sigv4_encode(zae_buf_t *b, const u_char *p, size_t len,
    int keep_slash);
static void zae_sigv4_hex(const u_char *in, size_t len, u_char *out);
static int zae_sigv4_sha256(const u_char *data, size_t len, u_char *out);
static int zae_sigv4_hmac_resume(SHA256_CTX *c, const uint32_t *state);
static int zae_sigv4_derive(const zae_str_t *secret, const u_char *date8,
    const zae_str_t *region, const zae_str_t *service, zae_sigv4_hmac_t *h);
static int zae_sigv4_cache_hit(zae_sigv4_cache_t *c,
    const zae_sigv4_ctx_t *ctx, const u_char *date8);
static void zae_sigv4_digits(u_char *p, int v, size_t n);
typedef enum {
    ZAE_SIGV4_TOK = 0,
    ZAE_SIGV4_TOK_SLASH,
    ZAE_SIGV4_TOK_KEY,
    ZAE_SIGV4_TOK_NAME,
    ZAE_SIGV4_TOK_N
} zae_sigv4_tok_e;

static int zae_sigv4_token_ok(const zae_str_t *s, zae_sigv4_tok_e cls);
static int zae_sigv4_hdr_cmp(const void *a, const void *b);
static int zae_sigv4_param_cmp(const void *a, const void *b);
static int zae_sigv4_str_cmp(const zae_str_t *a, const zae_str_t *b);
static int zae_sigv4_skip_header(const zae_str_t *lname);
static int zae_sigv4_decode_param(zae_mem_t *mem, const u_char *p,
    size_t len, zae_str_t *out);


static zae_str_t  zae_sigv4_skip[] = {
    zae_string("authorization"),
    zae_string("connection"),
    zae_string("expect"),
    zae_string("sec-websocket-key"),
    zae_string("sec-websocket-protocol"),
    zae_string("sec-websocket-version"),
    zae_string("transfer-encoding"),
    zae_string("upgrade"),
    zae_string("user-agent"),
    zae_string("x-amzn-trace-id"),
    zae_null_string
};


void
zae_sigv4_cache_init(zae_sigv4_cache_t *cache)
{
    OPENSSL_cleanse(cache, sizeof(zae_sigv4_cache_t));
}


void
zae_sigv4_cache_wipe(zae_sigv4_cache_t *cache)
{
    OPENSSL_cleanse(cache, sizeof(zae_sigv4_cache_t));
}


static int
zae_sigv4_is_unreserved(u_char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '_' || c == '.' || c == '~';
}


static int
zae_sigv4_is_space(u_char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}


static int
zae_sigv4_hexval(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


static int
zae_sigv4_encode(zae_buf_t *b, const u_char *p, size_t len, int keep_slash)
{
    size_t         i;
    u_char        *d;
    static u_char  hex[] = "0123456789ABCDEF";

    if (zae_buf_reserve(b, len * 3 + 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    d = b->data + b->len;

    for (i = 0; i < len; i++) {
        if (zae_sigv4_is_unreserved(p[i]) || (keep_slash && p[i] == '/')) {
            *d++ = p[i];

        } else {
            *d++ = '%';
            *d++ = hex[p[i] >> 4];
            *d++ = hex[p[i] & 0x0f];
        }
    }

    b->len = d - b->data;
    *d = '\0';

    return ZAE_OK;
}


static void
zae_sigv4_hex(const u_char *in, size_t len, u_char *out)
{
    size_t         i;
    static u_char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        *out++ = hex[in[i] >> 4];
        *out++ = hex[in[i] & 0x0f];
    }

    *out = '\0';
}


static int
zae_sigv4_sha256(const u_char *data, size_t len, u_char *out)
{
    SHA256_CTX  c;

    if (SHA256_Init(&c) != 1
        || SHA256_Update(&c, data, len) != 1
        || SHA256_Final(out, &c) != 1)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_sigv4_sha256_hex(const u_char *data, size_t len, u_char *out)
{
    u_char  md[SHA256_DIGEST_LENGTH];

    if (zae_sigv4_sha256(data, len, md) != ZAE_OK) {
        return ZAE_ERROR;
    }

    zae_sigv4_hex(md, SHA256_DIGEST_LENGTH, out);

    return ZAE_OK;
}


/*
 * HMAC (RFC 2104) on SHA-256 with the padded key blocks hashed once:
 * h keeps the chaining values after one block, a MAC resumes from them
 */

int
zae_sigv4_hmac_key(zae_sigv4_hmac_t *h, const u_char *key, size_t klen)
{
    int         rc;
    size_t      i;
    u_char      pad[SHA256_CBLOCK], kh[SHA256_DIGEST_LENGTH];
    SHA256_CTX  c;

    if (klen > SHA256_CBLOCK) {
        if (zae_sigv4_sha256(key, klen, kh) != ZAE_OK) {
            return ZAE_ERROR;
        }

        key = kh;
        klen = SHA256_DIGEST_LENGTH;
    }

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = (u_char) ((i < klen ? key[i] : 0) ^ 0x36);
    }

    rc = SHA256_Init(&c) == 1
         && SHA256_Update(&c, pad, SHA256_CBLOCK) == 1
         && c.num == 0 && c.Nl == SHA256_CBLOCK * 8 && c.Nh == 0;

    memcpy(h->inner, c.h, sizeof(h->inner));

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }

    rc = rc
         && SHA256_Init(&c) == 1
         && SHA256_Update(&c, pad, SHA256_CBLOCK) == 1
         && c.num == 0 && c.Nl == SHA256_CBLOCK * 8 && c.Nh == 0;

    memcpy(h->outer, c.h, sizeof(h->outer));

    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(kh, sizeof(kh));
    OPENSSL_cleanse(&c, sizeof(SHA256_CTX));

    return rc ? ZAE_OK : ZAE_ERROR;
}


/* a SHA-256 context as after hashing one block that left "state" */

static int
zae_sigv4_hmac_resume(SHA256_CTX *c, const uint32_t *state)
{
    if (SHA256_Init(c) != 1) {
        return ZAE_ERROR;
    }

    memcpy(c->h, state, sizeof(c->h));
    c->Nl = SHA256_CBLOCK * 8;

    return ZAE_OK;
}


/*
 * No wiping here: once a final has run, the context holds digests, not
 * the keyed states (SHA256_Final() wipes its block buffer itself)
 */

int
zae_sigv4_hmac(const zae_sigv4_hmac_t *h, const u_char *data, size_t len,
    u_char *out)
{
    u_char      ih[SHA256_DIGEST_LENGTH];
    SHA256_CTX  c;

    if (zae_sigv4_hmac_resume(&c, h->inner) != ZAE_OK
        || SHA256_Update(&c, data, len) != 1
        || SHA256_Final(ih, &c) != 1
        || zae_sigv4_hmac_resume(&c, h->outer) != ZAE_OK
        || SHA256_Update(&c, ih, SHA256_DIGEST_LENGTH) != 1
        || SHA256_Final(out, &c) != 1)
    {
        OPENSSL_cleanse(&c, sizeof(SHA256_CTX));
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_sigv4_format_date(int64_t ts, u_char *out)
{
    time_t     t;
    struct tm  tm;

    /* 1970-01-01 .. 9999-12-31 */

    if (ts < 0 || ts > 253402300799LL) {
        return ZAE_ERROR;
    }

    t = (time_t) ts;

    if (gmtime_r(&t, &tm) == NULL) {
        return ZAE_ERROR;
    }

    /* "%Y%m%dT%H%M%SZ" by hand: strftime() costs ten times more */

    zae_sigv4_digits(out, tm.tm_year + 1900, 4);
    zae_sigv4_digits(out + 4, tm.tm_mon + 1, 2);
    zae_sigv4_digits(out + 6, tm.tm_mday, 2);
    out[8] = 'T';
    zae_sigv4_digits(out + 9, tm.tm_hour, 2);
    zae_sigv4_digits(out + 11, tm.tm_min, 2);
    zae_sigv4_digits(out + 13, tm.tm_sec, 2);
    out[15] = 'Z';
    out[16] = '\0';

    return ZAE_OK;
}


/* n decimal digits of v, zero-padded */

static void
zae_sigv4_digits(u_char *p, int v, size_t n)
{
    while (n--) {
        p[n] = (u_char) ('0' + v % 10);
        v /= 10;
    }
}


/*
 * The classes of zae_sigv4_token_ok(): no control characters, no spaces,
 * none of the class's extra bytes; one table of the bad bytes per class,
 * built on first use
 */

static const char  *zae_sigv4_tok_extra[] = {
    "",                                   /* ZAE_SIGV4_TOK */
    "/",                                  /* ZAE_SIGV4_TOK_SLASH */
    "/,;=",                               /* ZAE_SIGV4_TOK_KEY */
    ":()<>@,;\\\"/[]?={}"                /* ZAE_SIGV4_TOK_NAME */
};

static u_char  zae_sigv4_tok_bad[ZAE_SIGV4_TOK_N][256];
static int     zae_sigv4_tok_ready;


static void
zae_sigv4_tok_init(void)
{
    int          c;
    size_t       k;
    const char  *e;

    for (k = 0; k < ZAE_SIGV4_TOK_N; k++) {

        for (c = 0; c <= 0x20; c++) {
            zae_sigv4_tok_bad[k][c] = 1;
        }

        zae_sigv4_tok_bad[k][0x7f] = 1;

        for (e = zae_sigv4_tok_extra[k]; *e; e++) {
            zae_sigv4_tok_bad[k][(u_char) *e] = 1;
        }
    }

    zae_sigv4_tok_ready = 1;
}


static int
zae_sigv4_token_ok(const zae_str_t *s, zae_sigv4_tok_e cls)
{
    size_t         i;
    const u_char  *bad;

    if (s->len == 0 || s->data == NULL) {
        return 0;
    }

    if (!zae_sigv4_tok_ready) {
        zae_sigv4_tok_init();
    }

    bad = zae_sigv4_tok_bad[cls];

    for (i = 0; i < s->len; i++) {
        if (bad[s->data[i]]) {
            return 0;
        }
    }

    return 1;
}


int
zae_sigv4_canonical_path(zae_mem_t *mem, const zae_str_t *path,
    int normalize, zae_str_t *out, zae_err_t *err)
{
    size_t      i, n, start, nseg, *seg, *seglen;
    zae_buf_t   b, norm;
    zae_str_t   p;

    p = *path;

    if (p.len == 0) {
        zae_str_set(&p, "/");
    }

    if (p.data[0] != '/') {
        return zae_err_set(err, "sigv4: path does not start with \"/\"");
    }

    if (normalize) {

        /* at most len / 2 + 1 segments */

        n = p.len / 2 + 1;

        seg = zae_alloc(mem, n * sizeof(size_t) * 2);
        if (seg == NULL) {
            return zae_err_set(err, "sigv4: out of memory");
        }

        seglen = seg + n;
        nseg = 0;
        start = 0;

        for (i = 0; i <= p.len; i++) {
            if (i < p.len && p.data[i] != '/') {
                continue;
            }

            n = i - start;

            if (n == 0 || (n == 1 && p.data[start] == '.')) {
                /* nothing */

            } else if (n == 2 && p.data[start] == '.'
                       && p.data[start + 1] == '.')
            {
                if (nseg) {
                    nseg--;
                }

            } else {
                seg[nseg] = start;
                seglen[nseg] = n;
                nseg++;
            }

            start = i + 1;
        }

        zae_buf_init(&norm, mem, p.len + 2);
        (void) zae_buf_add(&norm, "/", 1);

        for (i = 0; i < nseg; i++) {
            (void) zae_buf_add(&norm, p.data + seg[i], seglen[i]);

            if (i + 1 < nseg || p.data[p.len - 1] == '/') {
                (void) zae_buf_add(&norm, "/", 1);
            }
        }

        if (norm.failed) {
            return zae_err_set(err, "sigv4: out of memory");
        }

        p.data = norm.data;
        p.len = norm.len;
    }

    zae_buf_init(&b, mem, 0);

    if (zae_sigv4_encode(&b, p.data, p.len, 1) != ZAE_OK) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    out->data = b.data;
    out->len = b.len;

    return ZAE_OK;
}


static int
zae_sigv4_decode_param(zae_mem_t *mem, const u_char *p, size_t len,
    zae_str_t *out)
{
    int      hi, lo;
    size_t   i;
    u_char  *d;

    d = zae_alloc(mem, len + 1);
    if (d == NULL) {
        return ZAE_ERROR;
    }

    out->data = d;

    for (i = 0; i < len; i++) {
        if (p[i] == '%' && i + 2 < len) {
            hi = zae_sigv4_hexval(p[i + 1]);
            lo = zae_sigv4_hexval(p[i + 2]);

            if (hi >= 0 && lo >= 0) {
                *d++ = (u_char) (hi * 16 + lo);
                i += 2;
                continue;
            }
        }

        *d++ = p[i];
    }

    *d = '\0';
    out->len = d - out->data;

    return ZAE_OK;
}


static int
zae_sigv4_str_cmp(const zae_str_t *a, const zae_str_t *b)
{
    int     rc;
    size_t  n;

    n = a->len < b->len ? a->len : b->len;

    rc = n ? memcmp(a->data, b->data, n) : 0;

    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


static int
zae_sigv4_param_cmp(const void *a, const void *b)
{
    int                       rc;
    const zae_sigv4_param_t  *pa = a, *pb = b;

    rc = zae_sigv4_str_cmp(&pa->key, &pb->key);
    if (rc != 0) {
        return rc;
    }

    return zae_sigv4_str_cmp(&pa->value, &pb->value);
}


int
zae_sigv4_canonical_query(zae_mem_t *mem, const zae_str_t *query,
    zae_str_t *out, zae_err_t *err)
{
    size_t              i, n, start, eq;
    zae_buf_t           b, enc;
    zae_str_t           raw;
    zae_sigv4_param_t  *params;

    out->len = 0;
    out->data = (u_char *) "";

    if (query->len == 0) {
        return ZAE_OK;
    }

    /* count the parameters to size the array */

    n = 1;

    for (i = 0; i < query->len; i++) {
        if (query->data[i] == '&') {
            n++;
        }
    }

    if (n > ZAE_SIGV4_MAX_PARAMS) {
        return zae_err_set(err, "sigv4: more than %d query parameters",
                           ZAE_SIGV4_MAX_PARAMS);
    }

    params = zae_alloc(mem, n * sizeof(zae_sigv4_param_t));
    if (params == NULL) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    n = 0;
    start = 0;

    for (i = 0; i <= query->len; i++) {
        if (i < query->len && query->data[i] != '&') {
            continue;
        }

        if (i == start) {
            start = i + 1;
            continue;
        }

        for (eq = start; eq < i && query->data[eq] != '='; eq++) {
            /* void */
        }

        /* key */

        if (zae_sigv4_decode_param(mem, query->data + start, eq - start,
                                   &raw)
            != ZAE_OK)
        {
            return zae_err_set(err, "sigv4: out of memory");
        }

        zae_buf_init(&enc, mem, 0);
        if (zae_sigv4_encode(&enc, raw.data, raw.len, 0) != ZAE_OK) {
            return zae_err_set(err, "sigv4: out of memory");
        }

        params[n].key.data = enc.data;
        params[n].key.len = enc.len;

        /* value */

        eq = (eq < i) ? eq + 1 : i;

        if (zae_sigv4_decode_param(mem, query->data + eq, i - eq, &raw)
            != ZAE_OK)
        {
            return zae_err_set(err, "sigv4: out of memory");
        }

        zae_buf_init(&enc, mem, 0);
        if (zae_sigv4_encode(&enc, raw.data, raw.len, 0) != ZAE_OK) {
            return zae_err_set(err, "sigv4: out of memory");
        }

        params[n].value.data = enc.data;
        params[n].value.len = enc.len;

        n++;
        start = i + 1;
    }

    if (n == 0) {
        return ZAE_OK;
    }

    qsort(params, n, sizeof(zae_sigv4_param_t), zae_sigv4_param_cmp);

    zae_buf_init(&b, mem, query->len * 3 + n * 2);

    for (i = 0; i < n; i++) {
        if (i) {
            (void) zae_buf_add(&b, "&", 1);
        }

        (void) zae_buf_add(&b, params[i].key.data, params[i].key.len);
        (void) zae_buf_add(&b, "=", 1);
        (void) zae_buf_add(&b, params[i].value.data, params[i].value.len);
    }

    if (b.failed) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    out->data = b.data;
    out->len = b.len;

    return ZAE_OK;
}


static int
zae_sigv4_hdr_cmp(const void *a, const void *b)
{
    int                     rc;
    const zae_sigv4_hdr_t  *ha = a, *hb = b;

    rc = zae_sigv4_str_cmp(&ha->name, &hb->name);
    if (rc != 0) {
        return rc;
    }

    return (ha->index > hb->index) - (ha->index < hb->index);
}


static int
zae_sigv4_skip_header(const zae_str_t *lname)
{
    size_t  i;

    for (i = 0; zae_sigv4_skip[i].len; i++) {
        if (zae_sigv4_skip[i].len == lname->len
            && memcmp(zae_sigv4_skip[i].data, lname->data, lname->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
zae_sigv4_canonical_headers(zae_mem_t *mem, const zae_header_t *headers,
    size_t n, zae_str_t *canonical, zae_str_t *signed_headers,
    zae_err_t *err)
{
    int               space;
    size_t            i, j, k, m, total;
    u_char            c, *d;
    zae_buf_t         cb, sb;
    zae_sigv4_hdr_t  *h, tmp;

    if (n > ZAE_SIGV4_MAX_HEADERS) {
        return zae_err_set(err, "sigv4: more than %d headers",
                           ZAE_SIGV4_MAX_HEADERS);
    }

    h = zae_alloc(mem, (n ? n : 1) * sizeof(zae_sigv4_hdr_t));
    if (h == NULL) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    m = 0;
    total = 0;

    for (i = 0; i < n; i++) {

        if (!zae_sigv4_token_ok(&headers[i].name, ZAE_SIGV4_TOK_NAME)) {
            return zae_err_set(err, "sigv4: invalid header name");
        }

        d = zae_alloc(mem, headers[i].name.len);
        if (d == NULL) {
            return zae_err_set(err, "sigv4: out of memory");
        }

        for (j = 0; j < headers[i].name.len; j++) {
            c = headers[i].name.data[j];
            d[j] = (c >= 'A' && c <= 'Z') ? (u_char) (c | 0x20) : c;
        }

        h[m].name.data = d;
        h[m].name.len = headers[i].name.len;

        if (zae_sigv4_skip_header(&h[m].name)) {
            continue;
        }

        h[m].value = headers[i].value;
        h[m].index = i;

        if (h[m].value.len && h[m].value.data == NULL) {
            return zae_err_set(err, "sigv4: invalid header value");
        }

        total += h[m].name.len + h[m].value.len + 2;
        m++;
    }

    /*
     * an insertion sort: a few headers, mostly in order already; the
     * order is total (equal names by index), so any sort gives it
     */

    for (i = 1; i < m; i++) {
        tmp = h[i];

        for (j = i; j > 0 && zae_sigv4_hdr_cmp(&h[j - 1], &tmp) > 0; j--) {
            h[j] = h[j - 1];
        }

        h[j] = tmp;
    }

    zae_buf_init(&cb, mem, total + 1);
    zae_buf_init(&sb, mem, total + 1);

    for (i = 0; i < m; i++) {

        if (i == 0 || zae_sigv4_str_cmp(&h[i].name, &h[i - 1].name) != 0) {

            if (i) {
                (void) zae_buf_add(&cb, "\n", 1);
                (void) zae_buf_add(&sb, ";", 1);
            }

            (void) zae_buf_add(&sb, h[i].name.data, h[i].name.len);
            (void) zae_buf_add(&cb, h[i].name.data, h[i].name.len);
            (void) zae_buf_add(&cb, ":", 1);

        } else {
            (void) zae_buf_add(&cb, ",", 1);
        }

        /* trim, collapse inner whitespace runs into one space */

        j = 0;
        k = h[i].value.len;

        while (j < k && zae_sigv4_is_space(h[i].value.data[j])) {
            j++;
        }

        while (k > j && zae_sigv4_is_space(h[i].value.data[k - 1])) {
            k--;
        }

        if (zae_buf_reserve(&cb, k - j + 1) != ZAE_OK) {
            break;
        }

        space = 0;

        for ( /* void */ ; j < k; j++) {
            c = h[i].value.data[j];

            if (zae_sigv4_is_space(c)) {
                if (!space) {
                    cb.data[cb.len++] = ' ';
                }

                space = 1;
                continue;
            }

            space = 0;
            cb.data[cb.len++] = c;
        }

        cb.data[cb.len] = '\0';
    }

    if (m) {
        (void) zae_buf_add(&cb, "\n", 1);
    }

    if (cb.failed || sb.failed) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    canonical->data = cb.data ? cb.data : (u_char *) "";
    canonical->len = cb.len;
    signed_headers->data = sb.data ? sb.data : (u_char *) "";
    signed_headers->len = sb.len;

    return ZAE_OK;
}


int
zae_sigv4_canonical_request(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    const zae_sigv4_request_t *req, zae_sigv4_result_t *res, zae_err_t *err)
{
    size_t                  i, n;
    zae_buf_t               b;
    zae_str_t               path, query, headers, lname;
    zae_header_t           *all;
    const zae_aws_creds_t  *creds;

    memset(res, 0, sizeof(zae_sigv4_result_t));

    creds = ctx->creds;

    if (creds == NULL) {
        return zae_err_set(err, "sigv4: no credentials");
    }

    if (!zae_sigv4_token_ok(&req->method, ZAE_SIGV4_TOK)) {
        return zae_err_set(err, "sigv4: invalid method");
    }

    if (req->nheaders > ZAE_SIGV4_MAX_HEADERS) {
        return zae_err_set(err, "sigv4: more than %d headers",
                           ZAE_SIGV4_MAX_HEADERS);
    }

    if (creds->session_token.len
        && !zae_sigv4_token_ok(&creds->session_token, ZAE_SIGV4_TOK))
    {
        return zae_err_set(err, "sigv4: invalid session token");
    }

    if (zae_sigv4_format_date(ctx->timestamp, res->amz_date) != ZAE_OK) {
        return zae_err_set(err, "sigv4: invalid timestamp \"%lld\"",
                           (long long) ctx->timestamp);
    }

    /* the payload hash */

    if (req->payload_hash.len) {
        if (req->payload_hash.len > ZAE_SIGV4_HEX_LEN
            || !zae_sigv4_token_ok(&req->payload_hash, ZAE_SIGV4_TOK))
        {
            return zae_err_set(err, "sigv4: invalid payload hash");
        }

        memcpy(res->payload_hash, req->payload_hash.data,
               req->payload_hash.len);
        res->payload_hash[req->payload_hash.len] = '\0';

    } else if (zae_sigv4_sha256_hex(req->payload.data, req->payload.len,
                                    res->payload_hash)
               != ZAE_OK)
    {
        return zae_err_set(err, "sigv4: sha256 failed");
    }

    /* the headers: the request's, then the ones the signer adds */

    for (i = 0; i < req->nheaders; i++) {
        lname = req->headers[i].name;

        if ((lname.len == 10
             && strncasecmp((char *) lname.data, "x-amz-date", 10) == 0)
            || (lname.len == 20
                && strncasecmp((char *) lname.data, "x-amz-security-token",
                               20) == 0
                && creds->session_token.len))
        {
            return zae_err_set(err, "sigv4: header \"%.*s\" is set by "
                               "the signer", (int) lname.len,
                               (char *) lname.data);
        }
    }

    all = zae_alloc(mem, (req->nheaders + 3) * sizeof(zae_header_t));
    if (all == NULL) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    n = req->nheaders;
    if (n) {
        memcpy(all, req->headers, n * sizeof(zae_header_t));
    }

    zae_str_set(&res->added[res->nadded].name, "X-Amz-Date");
    res->added[res->nadded].value.data = res->amz_date;
    res->added[res->nadded].value.len = ZAE_SIGV4_DATE_LEN;
    all[n++] = res->added[res->nadded++];

    if (creds->session_token.len) {
        zae_str_set(&res->added[res->nadded].name, "X-Amz-Security-Token");
        res->added[res->nadded].value = creds->session_token;

        if (!ctx->omit_session_token) {
            all[n++] = res->added[res->nadded];
        }

        res->nadded++;
    }

    if (ctx->sign_body) {
        zae_str_set(&res->added[res->nadded].name, "x-amz-content-sha256");
        res->added[res->nadded].value.data = res->payload_hash;
        res->added[res->nadded].value.len = strlen((char *) res->payload_hash);
        all[n++] = res->added[res->nadded++];
    }

    if (zae_sigv4_canonical_path(mem, &req->path, req->normalize, &path, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (zae_sigv4_canonical_query(mem, &req->query, &query, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_sigv4_canonical_headers(mem, all, n, &headers,
                                    &res->signed_headers, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    zae_buf_init(&b, mem, req->method.len + path.len + query.len
                          + headers.len + res->signed_headers.len
                          + ZAE_SIGV4_HEX_LEN + 8);

    (void) zae_buf_add(&b, req->method.data, req->method.len);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add(&b, path.data, path.len);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add(&b, query.data, query.len);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add(&b, headers.data, headers.len);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add(&b, res->signed_headers.data, res->signed_headers.len);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add_str(&b, (char *) res->payload_hash);

    if (b.failed) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    res->canonical_request.data = b.data;
    res->canonical_request.len = b.len;

    return ZAE_OK;
}


int
zae_sigv4_string_to_sign(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    zae_sigv4_result_t *res, zae_err_t *err)
{
    u_char     hash[ZAE_SIGV4_HEX_LEN + 1];
    zae_buf_t  b;

    if (!zae_sigv4_token_ok(&ctx->region, ZAE_SIGV4_TOK_SLASH)) {
        return zae_err_set(err, "sigv4: invalid region");
    }

    if (!zae_sigv4_token_ok(&ctx->service, ZAE_SIGV4_TOK_SLASH)) {
        return zae_err_set(err, "sigv4: invalid service");
    }

    if (res->canonical_request.data == NULL) {
        return zae_err_set(err, "sigv4: no canonical request");
    }

    zae_buf_init(&b, mem, ctx->region.len + ctx->service.len + 32);
    (void) zae_buf_add(&b, res->amz_date, 8);
    (void) zae_buf_add(&b, "/", 1);
    (void) zae_buf_add(&b, ctx->region.data, ctx->region.len);
    (void) zae_buf_add(&b, "/", 1);
    (void) zae_buf_add(&b, ctx->service.data, ctx->service.len);
    (void) zae_buf_add_str(&b, "/aws4_request");

    if (b.failed) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    res->scope.data = b.data;
    res->scope.len = b.len;

    if (zae_sigv4_sha256_hex(res->canonical_request.data,
                             res->canonical_request.len, hash)
        != ZAE_OK)
    {
        return zae_err_set(err, "sigv4: sha256 failed");
    }

    zae_buf_init(&b, mem, res->scope.len + 128);
    (void) zae_buf_add_str(&b, ZAE_SIGV4_ALGORITHM "\n");
    (void) zae_buf_add(&b, res->amz_date, ZAE_SIGV4_DATE_LEN);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add(&b, res->scope.data, res->scope.len);
    (void) zae_buf_add(&b, "\n", 1);
    (void) zae_buf_add(&b, hash, ZAE_SIGV4_HEX_LEN);

    if (b.failed) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    res->string_to_sign.data = b.data;
    res->string_to_sign.len = b.len;

    return ZAE_OK;
}


int
zae_sigv4_derive_key(const zae_str_t *secret, const u_char *date8,
    const zae_str_t *region, const zae_str_t *service, u_char *out)
{
    int               rc;
    u_char            seed[4 + ZAE_SIGV4_SECRET_MAX];
    zae_sigv4_hmac_t  h;

    if (secret->len > ZAE_SIGV4_SECRET_MAX) {
        return ZAE_ERROR;
    }

    memcpy(seed, "AWS4", 4);

    if (secret->len) {
        memcpy(seed + 4, secret->data, secret->len);
    }

    /* kDate, kRegion, kService, kSigning: each keys the next */

    rc = zae_sigv4_hmac_key(&h, seed, 4 + secret->len);

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac(&h, date8, 8, out);
    }

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac_key(&h, out, ZAE_SIGV4_KEY_LEN);
    }

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac(&h, region->data, region->len, out);
    }

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac_key(&h, out, ZAE_SIGV4_KEY_LEN);
    }

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac(&h, service->data, service->len, out);
    }

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac_key(&h, out, ZAE_SIGV4_KEY_LEN);
    }

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac(&h, (u_char *) "aws4_request", 12, out);
    }

    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(&h, sizeof(zae_sigv4_hmac_t));

    if (rc != ZAE_OK) {
        OPENSSL_cleanse(out, ZAE_SIGV4_KEY_LEN);
    }

    return rc;
}


/* the HMAC state keyed with kSigning */

static int
zae_sigv4_derive(const zae_str_t *secret, const u_char *date8,
    const zae_str_t *region, const zae_str_t *service, zae_sigv4_hmac_t *h)
{
    int     rc;
    u_char  key[ZAE_SIGV4_KEY_LEN];

    rc = zae_sigv4_derive_key(secret, date8, region, service, key);

    if (rc == ZAE_OK) {
        rc = zae_sigv4_hmac_key(h, key, ZAE_SIGV4_KEY_LEN);
    }

    OPENSSL_cleanse(key, sizeof(key));

    if (rc != ZAE_OK) {
        OPENSSL_cleanse(h, sizeof(zae_sigv4_hmac_t));
    }

    return rc;
}


/* whether the cache holds the key of this (secret, date, region, service) */

static int
zae_sigv4_cache_hit(zae_sigv4_cache_t *c, const zae_sigv4_ctx_t *ctx,
    const u_char *date8)
{
    const zae_str_t  *secret;

    secret = &ctx->creds->secret_key;

    return c->valid
           && memcmp(c->date, date8, 8) == 0
           && c->scope_len == ctx->region.len + 1 + ctx->service.len
           && memcmp(c->scope, ctx->region.data, ctx->region.len) == 0
           && c->scope[ctx->region.len] == '/'
           && memcmp(c->scope + ctx->region.len + 1, ctx->service.data,
                     ctx->service.len) == 0
           && c->secret_len == secret->len
           && CRYPTO_memcmp(c->secret, secret->data, secret->len) == 0;
}


int
zae_sigv4_signature(const zae_sigv4_ctx_t *ctx, zae_sigv4_result_t *res,
    zae_err_t *err)
{
    int                 rc;
    u_char              mac[ZAE_SIGV4_KEY_LEN];
    size_t              slen;
    zae_sigv4_hmac_t    local, *h;
    zae_sigv4_cache_t  *c;
    const zae_str_t    *secret;

    if (res->string_to_sign.data == NULL) {
        return zae_err_set(err, "sigv4: no string to sign");
    }

    if (ctx->creds == NULL || ctx->creds->secret_key.len == 0
        || ctx->creds->secret_key.data == NULL)
    {
        return zae_err_set(err, "sigv4: no secret key");
    }

    secret = &ctx->creds->secret_key;

    if (secret->len > ZAE_SIGV4_SECRET_MAX) {
        return zae_err_set(err, "sigv4: secret key too long");
    }

    c = ctx->cache;
    slen = ctx->region.len + 1 + ctx->service.len;

    if (c && slen <= ZAE_SIGV4_SCOPE_MAX) {

        if (!zae_sigv4_cache_hit(c, ctx, res->amz_date)) {
            c->valid = 0;
            OPENSSL_cleanse(c->secret, c->secret_len);
            c->secret_len = 0;

            if (zae_sigv4_derive(secret, res->amz_date, &ctx->region,
                                 &ctx->service, &c->hmac)
                != ZAE_OK)
            {
                return zae_err_set(err, "sigv4: key derivation failed");
            }

            memcpy(c->secret, secret->data, secret->len);
            c->secret_len = secret->len;
            memcpy(c->date, res->amz_date, 8);
            memcpy(c->scope, ctx->region.data, ctx->region.len);
            c->scope[ctx->region.len] = '/';
            memcpy(c->scope + ctx->region.len + 1, ctx->service.data,
                   ctx->service.len);
            c->scope_len = slen;
            c->valid = 1;
            c->derived++;
        }

        h = &c->hmac;

    } else {
        if (zae_sigv4_derive(secret, res->amz_date, &ctx->region,
                             &ctx->service, &local)
            != ZAE_OK)
        {
            return zae_err_set(err, "sigv4: key derivation failed");
        }

        h = &local;
    }

    rc = zae_sigv4_hmac(h, res->string_to_sign.data, res->string_to_sign.len,
                        mac);

    if (h == &local) {
        OPENSSL_cleanse(&local, sizeof(zae_sigv4_hmac_t));
    }

    if (rc != ZAE_OK) {
        return zae_err_set(err, "sigv4: hmac failed");
    }

    zae_sigv4_hex(mac, ZAE_SIGV4_KEY_LEN, res->signature);

    return ZAE_OK;
}


int
zae_sigv4_authorization(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    zae_sigv4_result_t *res, zae_err_t *err)
{
    zae_buf_t  b;

    if (!zae_sigv4_token_ok(&ctx->creds->access_key, ZAE_SIGV4_TOK_KEY)) {
        return zae_err_set(err, "sigv4: invalid access key id");
    }

    if (res->signature[0] == '\0' || res->scope.len == 0) {
        return zae_err_set(err, "sigv4: no signature");
    }

    zae_buf_init(&b, mem, ctx->creds->access_key.len + res->scope.len
                          + res->signed_headers.len + 160);

    (void) zae_buf_add_str(&b, ZAE_SIGV4_ALGORITHM " Credential=");
    (void) zae_buf_add(&b, ctx->creds->access_key.data,
                       ctx->creds->access_key.len);
    (void) zae_buf_add(&b, "/", 1);
    (void) zae_buf_add(&b, res->scope.data, res->scope.len);
    (void) zae_buf_add_str(&b, ", SignedHeaders=");
    (void) zae_buf_add(&b, res->signed_headers.data, res->signed_headers.len);
    (void) zae_buf_add_str(&b, ", Signature=");
    (void) zae_buf_add(&b, res->signature, ZAE_SIGV4_HEX_LEN);

    if (b.failed) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    res->authorization.data = b.data;
    res->authorization.len = b.len;

    return ZAE_OK;
}


int
zae_sigv4_sign(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    const zae_sigv4_request_t *req, zae_sigv4_result_t *res, zae_err_t *err)
{
    if (zae_sigv4_canonical_request(mem, ctx, req, res, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_sigv4_string_to_sign(mem, ctx, res, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_sigv4_signature(ctx, res, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_sigv4_authorization(mem, ctx, res, err);
}


int
zae_sigv4_sign_dynamodb(zae_mem_t *mem, const zae_aws_creds_t *creds,
    zae_sigv4_cache_t *cache, const zae_str_t *region, const zae_str_t *host,
    const zae_str_t *target, const zae_str_t *body, int64_t now,
    zae_str_t *amz_date, zae_str_t *authorization, zae_err_t *err)
{
    zae_header_t         headers[3];
    zae_sigv4_ctx_t      ctx;
    zae_sigv4_result_t   res;
    zae_sigv4_request_t  req;

    if (!zae_sigv4_token_ok(host, ZAE_SIGV4_TOK_SLASH)) {
        return zae_err_set(err, "sigv4: invalid host");
    }

    if (!zae_sigv4_token_ok(target, ZAE_SIGV4_TOK)) {
        return zae_err_set(err, "sigv4: invalid target");
    }

    zae_str_set(&headers[0].name, "Content-Type");
    zae_str_set(&headers[0].value, ZAE_DYNAMODB_CONTENT_TYPE);
    zae_str_set(&headers[1].name, "Host");
    headers[1].value = *host;
    zae_str_set(&headers[2].name, "X-Amz-Target");
    headers[2].value = *target;

    memset(&ctx, 0, sizeof(zae_sigv4_ctx_t));
    ctx.creds = creds;
    ctx.region = *region;
    zae_str_set(&ctx.service, ZAE_DYNAMODB_SERVICE);
    ctx.timestamp = now;
    ctx.cache = cache;

    memset(&req, 0, sizeof(zae_sigv4_request_t));
    zae_str_set(&req.method, "POST");
    zae_str_set(&req.path, "/");
    req.headers = headers;
    req.nheaders = 3;
    req.payload = *body;
    req.normalize = 1;

    if (zae_sigv4_sign(mem, &ctx, &req, &res, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    amz_date->data = zae_strdup(mem, res.amz_date, ZAE_SIGV4_DATE_LEN);
    if (amz_date->data == NULL) {
        return zae_err_set(err, "sigv4: out of memory");
    }

    amz_date->len = ZAE_SIGV4_DATE_LEN;
    *authorization = res.authorization;

    return ZAE_OK;
}
