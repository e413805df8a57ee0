
/*
 * Copyright (C) zae-limit authors
 */


#include "zae_http.h"


enum {
    ZAE_HTTP_ST_STATUS = 0,
    ZAE_HTTP_ST_HEADER,
    ZAE_HTTP_ST_BODY,
    ZAE_HTTP_ST_BODY_EOF,
    ZAE_HTTP_ST_CHUNK_SIZE,
    ZAE_HTTP_ST_CHUNK_DATA,
    ZAE_HTTP_ST_CHUNK_END,
    ZAE_HTTP_ST_TRAILER,
    ZAE_HTTP_ST_DONE,
    ZAE_HTTP_ST_ERROR
};


/* hstate bits */
#define ZAE_HTTP_KEEPALIVE   0x01
#define ZAE_HTTP_HAS_CL      0x02
#define ZAE_HTTP_HAS_TE      0x04


static int zae_http_line(zae_http_resp_t *r, u_char c, int count,
    zae_err_t *err);
static size_t zae_http_line_bulk(zae_http_resp_t *r, const u_char *p,
    const u_char *end, int count, int *rc, zae_err_t *err);
static int zae_http_line_end(zae_http_resp_t *r, zae_err_t *err);
static int zae_http_line_done(zae_http_resp_t *r, zae_err_t *err);
static int zae_http_status_line(zae_http_resp_t *r, zae_err_t *err);
static int zae_http_header_line(zae_http_resp_t *r, zae_err_t *err);
static int zae_http_headers_done(zae_http_resp_t *r, zae_err_t *err);
static int zae_http_chunk_size(zae_http_resp_t *r, zae_err_t *err);
static int zae_http_decimal(const u_char *p, size_t len, size_t max,
    uint64_t *n);
static int zae_http_list_has(const u_char *p, size_t len, const char *token,
    int *other);
static int zae_http_token_char(u_char c);
static int zae_http_name_is(const u_char *name, size_t len, const char *s);
static void zae_http_reset(zae_http_resp_t *r);
static int zae_http_fail(zae_http_resp_t *r, zae_err_t *err);
static void zae_http_crc32_init(void);


void
zae_http_resp_init(zae_http_resp_t *r, zae_mem_t *mem, size_t max_header,
    size_t max_body)
{
    memset(r, 0, offsetof(zae_http_resp_t, line));

    r->mem = mem;
    r->max_header = max_header ? max_header : ZAE_HTTP_MAX_HEADER;
    r->max_body = max_body ? max_body : ZAE_HTTP_MAX_BODY;

    zae_buf_init(&r->body, mem, 0);
    zae_http_reset(r);
}


static void
zae_http_reset(zae_http_resp_t *r)
{
    r->state = ZAE_HTTP_ST_STATUS;
    r->hstate = 0;
    r->status = 0;
    r->version = 0;
    r->content_length = -1;
    r->crc32 = 0;
    r->chunked = 0;
    r->close = 0;
    r->has_crc32 = 0;
    r->done = 0;
    r->rest = 0;
    r->line_len = 0;
    r->error_type.len = 0;
    r->error_type.data = r->error_type_buf;
    r->request_id.len = 0;
    r->request_id.data = r->request_id_buf;
}


int
zae_http_resp_parse(zae_http_resp_t *r, const u_char *data, size_t len,
    size_t *consumed, zae_err_t *err)
{
    int            rc, count;
    size_t         n;
    const u_char  *p, *end;

    p = data;
    end = data + len;
    *consumed = 0;

    while (p < end) {

        switch (r->state) {

        case ZAE_HTTP_ST_STATUS:
        case ZAE_HTTP_ST_HEADER:
        case ZAE_HTTP_ST_TRAILER:
        case ZAE_HTTP_ST_CHUNK_SIZE:
        case ZAE_HTTP_ST_CHUNK_END:

            /* the header's lines count against max_header, chunks' not */

            count = r->state != ZAE_HTTP_ST_CHUNK_SIZE
                    && r->state != ZAE_HTTP_ST_CHUNK_END;

            n = zae_http_line_bulk(r, p, end, count, &rc, err);

            if (n) {
                p += n;

            } else {
                rc = zae_http_line(r, *p++, count, err);
            }

            if (rc == ZAE_ERROR) {
                goto failed;
            }

            if (rc == ZAE_AGAIN) {
                break;
            }

            rc = zae_http_line_done(r, err);

            r->line_len = 0;

            if (rc != ZAE_OK) {
                goto failed;
            }

            break;

        case ZAE_HTTP_ST_BODY:
        case ZAE_HTTP_ST_CHUNK_DATA:

            n = (size_t) (end - p);
            if ((uint64_t) n > r->rest) {
                n = (size_t) r->rest;
            }

            if (zae_buf_add(&r->body, p, n) != ZAE_OK) {
                zae_err_set(err, "out of memory for response body");
                goto failed;
            }

            p += n;
            r->rest -= n;

            if (r->rest == 0) {
                r->state = (r->state == ZAE_HTTP_ST_BODY)
                           ? ZAE_HTTP_ST_DONE : ZAE_HTTP_ST_CHUNK_END;
            }

            break;

        case ZAE_HTTP_ST_BODY_EOF:

            n = (size_t) (end - p);

            if (n > r->max_body - r->body.len) {
                zae_err_set(err, "response body larger than %zu bytes",
                            r->max_body);
                goto failed;
            }

            if (zae_buf_add(&r->body, p, n) != ZAE_OK) {
                zae_err_set(err, "out of memory for response body");
                goto failed;
            }

            p += n;
            break;

        case ZAE_HTTP_ST_DONE:
            goto done;

        default: /* ZAE_HTTP_ST_ERROR */
            zae_err_set(err, "response parsing failed before");
            return ZAE_ERROR;
        }

        if (r->state == ZAE_HTTP_ST_DONE) {
            goto done;
        }
    }

    *consumed = (size_t) (p - data);

    if (r->state == ZAE_HTTP_ST_DONE) {
        goto done;
    }

    return ZAE_AGAIN;

done:

    *consumed = (size_t) (p - data);
    r->done = 1;

    return ZAE_OK;

failed:

    *consumed = (size_t) (p - data);

    return zae_http_fail(r, err);
}


static int
zae_http_fail(zae_http_resp_t *r, zae_err_t *err)
{
    r->state = ZAE_HTTP_ST_ERROR;
    r->close = 1;
    r->done = 0;

    return ZAE_ERROR;
}


int
zae_http_resp_eof(zae_http_resp_t *r, zae_err_t *err)
{
    switch (r->state) {

    case ZAE_HTTP_ST_BODY_EOF:
        r->state = ZAE_HTTP_ST_DONE;
        r->done = 1;
        r->close = 1;
        return ZAE_OK;

    case ZAE_HTTP_ST_DONE:
        return ZAE_OK;

    case ZAE_HTTP_ST_ERROR:
        zae_err_set(err, "response parsing failed before");
        return ZAE_ERROR;

    case ZAE_HTTP_ST_STATUS:
        if (r->header_bytes == 0 && r->line_len == 0) {
            zae_err_set(err, "connection closed before response");
            break;
        }

        /* fall through */

    case ZAE_HTTP_ST_HEADER:
        zae_err_set(err, "connection closed in response header");
        break;

    default:
        zae_err_set(err, "connection closed in response body");
        break;
    }

    return zae_http_fail(r, err);
}


int
zae_http_resp_check_crc32(zae_http_resp_t *r, zae_err_t *err)
{
    uint32_t  crc;

    if (!r->has_crc32) {
        return ZAE_OK;
    }

    crc = zae_http_crc32(r->body.data, r->body.len);

    if (crc != r->crc32) {
        zae_err_set(err, "x-amz-crc32 mismatch: header \"%u\", body \"%u\"",
                    (unsigned) r->crc32, (unsigned) crc);
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/* a whole line is in r->line: what it means in the state it ends */

static int
zae_http_line_done(zae_http_resp_t *r, zae_err_t *err)
{
    switch (r->state) {

    case ZAE_HTTP_ST_STATUS:
        return zae_http_status_line(r, err);

    case ZAE_HTTP_ST_HEADER:
        return r->line_len ? zae_http_header_line(r, err)
                           : zae_http_headers_done(r, err);

    case ZAE_HTTP_ST_CHUNK_SIZE:
        return zae_http_chunk_size(r, err);

    case ZAE_HTTP_ST_CHUNK_END:
        if (r->line_len != 0) {
            return zae_err_set(err, "invalid chunk end");
        }

        r->state = ZAE_HTTP_ST_CHUNK_SIZE;
        return ZAE_OK;

    default: /* ZAE_HTTP_ST_TRAILER */
        if (r->line_len == 0) {
            r->state = ZAE_HTTP_ST_DONE;
        }

        return ZAE_OK;
    }
}


/*
 * The bytes up to the next LF (and it) at once, as zae_http_line() takes
 * them one by one, when none of them can fail there: returns how many
 * were taken, *rc as zae_http_line() would return for the last; 0 when
 * one may fail (the caller then takes the next byte alone).
 */

static size_t
zae_http_line_bulk(zae_http_resp_t *r, const u_char *p, const u_char *end,
    int count, int *rc, zae_err_t *err)
{
    size_t         n, m;
    const u_char  *lf;

    lf = memchr(p, '\n', (size_t) (end - p));

    n = (size_t) ((lf ? lf : end) - p);
    m = lf ? n + 1 : n;

    if ((count && m > r->max_header - r->header_bytes)
        || n > ZAE_HTTP_MAX_LINE - r->line_len
        || memchr(p, '\0', n) != NULL)
    {
        return 0;
    }

    if (count) {
        r->header_bytes += m;
    }

    memcpy(r->line + r->line_len, p, n);
    r->line_len += n;

    *rc = lf ? zae_http_line_end(r, err) : ZAE_AGAIN;

    return m;
}


/* a LF ended the line: r->line without CR LF */

static int
zae_http_line_end(zae_http_resp_t *r, zae_err_t *err)
{
    if (r->line_len && r->line[r->line_len - 1] == '\r') {
        r->line_len--;
    }

    if (memchr(r->line, '\r', r->line_len) != NULL) {
        zae_err_set(err, "bare CR in response line");
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/*
 * Collects one line; ZAE_OK when a LF ended it, the line without CR LF is
 * in r->line.  count: the bytes count against max_header.
 */

static int
zae_http_line(zae_http_resp_t *r, u_char c, int count, zae_err_t *err)
{
    if (count) {
        if (r->header_bytes >= r->max_header) {
            zae_err_set(err, "response header larger than %zu bytes",
                        r->max_header);
            return ZAE_ERROR;
        }

        r->header_bytes++;
    }

    if (c == '\n') {
        return zae_http_line_end(r, err);
    }

    if (c == '\0') {
        zae_err_set(err, "NUL in response line");
        return ZAE_ERROR;
    }

    if (r->line_len >= ZAE_HTTP_MAX_LINE) {
        zae_err_set(err, "response line longer than %d bytes",
                    ZAE_HTTP_MAX_LINE);
        return ZAE_ERROR;
    }

    r->line[r->line_len++] = c;

    return ZAE_AGAIN;
}


static int
zae_http_status_line(zae_http_resp_t *r, zae_err_t *err)
{
    u_char  *p;
    size_t   len;

    p = r->line;
    len = r->line_len;

    /* "HTTP/1.x 200" [ " " reason ] */

    if (len < 12
        || memcmp(p, "HTTP/1.", 7) != 0
        || p[7] < '0' || p[7] > '9'
        || p[8] != ' '
        || p[9] < '1' || p[9] > '5'
        || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9'
        || (len > 12 && p[12] != ' '))
    {
        zae_err_set(err, "invalid status line \"%.*s\"",
                    (int) (len > 64 ? 64 : len), (char *) p);
        return ZAE_ERROR;
    }

    r->version = (p[7] == '0') ? 10 : 11;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    r->state = ZAE_HTTP_ST_HEADER;

    return ZAE_OK;
}


/* a header's decimal value: 1 to max digits, nothing else */

static int
zae_http_decimal(const u_char *p, size_t len, size_t max, uint64_t *n)
{
    size_t  i;

    if (len == 0 || len > max) {
        return ZAE_ERROR;
    }

    *n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return ZAE_ERROR;
        }

        *n = *n * 10 + (p[i] - '0');
    }

    return ZAE_OK;
}


static int
zae_http_header_line(zae_http_resp_t *r, zae_err_t *err)
{
    int       other;
    u_char   *p, *name, *value, *end;
    size_t    nlen, vlen;
    uint64_t  n;

    p = r->line;
    end = r->line + r->line_len;

    if (*p == ' ' || *p == '\t') {
        zae_err_set(err, "folded response header line");
        return ZAE_ERROR;
    }

    name = p;

    while (p < end && zae_http_token_char(*p)) {
        p++;
    }

    if (p == end || *p != ':' || p == name) {
        zae_err_set(err, "invalid response header line \"%.*s\"",
                    (int) (r->line_len > 64 ? 64 : r->line_len),
                    (char *) r->line);
        return ZAE_ERROR;
    }

    nlen = p - name;
    p++;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    value = p;
    vlen = end - p;

    if (zae_http_name_is(name, nlen, "content-length")) {

        if (zae_http_decimal(value, vlen, 18, &n) != ZAE_OK) {
            goto invalid;
        }

        if ((r->hstate & ZAE_HTTP_HAS_CL)
            && (uint64_t) r->content_length != n)
        {
            zae_err_set(err, "conflicting content-length headers");
            return ZAE_ERROR;
        }

        r->hstate |= ZAE_HTTP_HAS_CL;
        r->content_length = (int64_t) n;

        return ZAE_OK;
    }

    if (zae_http_name_is(name, nlen, "transfer-encoding")) {

        other = 0;

        if (!zae_http_list_has(value, vlen, "chunked", &other)
            || other
            || (r->hstate & ZAE_HTTP_HAS_TE))
        {
            zae_err_set(err, "unsupported transfer-encoding \"%.*s\"",
                        (int) (vlen > 64 ? 64 : vlen), (char *) value);
            return ZAE_ERROR;
        }

        r->hstate |= ZAE_HTTP_HAS_TE;
        r->chunked = 1;

        return ZAE_OK;
    }

    if (zae_http_name_is(name, nlen, "connection")) {

        if (zae_http_list_has(value, vlen, "close", &other)) {
            r->close = 1;
        }

        if (zae_http_list_has(value, vlen, "keep-alive", &other)) {
            r->hstate |= ZAE_HTTP_KEEPALIVE;
        }

        return ZAE_OK;
    }

    if (zae_http_name_is(name, nlen, "x-amz-crc32")) {

        if (zae_http_decimal(value, vlen, 10, &n) != ZAE_OK
            || n > 0xffffffff)
        {
            goto invalid;
        }

        r->crc32 = (uint32_t) n;
        r->has_crc32 = 1;

        return ZAE_OK;
    }

    if (zae_http_name_is(name, nlen, "x-amzn-errortype")) {
        r->error_type.len = vlen < ZAE_HTTP_MAX_VALUE
                            ? vlen : ZAE_HTTP_MAX_VALUE - 1;
        memcpy(r->error_type_buf, value, r->error_type.len);
        return ZAE_OK;
    }

    if (zae_http_name_is(name, nlen, "x-amzn-requestid")) {
        r->request_id.len = vlen < ZAE_HTTP_MAX_VALUE
                            ? vlen : ZAE_HTTP_MAX_VALUE - 1;
        memcpy(r->request_id_buf, value, r->request_id.len);
        return ZAE_OK;
    }

    return ZAE_OK;

invalid:

    zae_err_set(err, "invalid \"%.*s\" header value \"%.*s\"",
                (int) nlen, (char *) name,
                (int) (vlen > 64 ? 64 : vlen), (char *) value);

    return ZAE_ERROR;
}


static int
zae_http_headers_done(zae_http_resp_t *r, zae_err_t *err)
{
    if (r->status < 200) {

        if (r->status == 101) {
            zae_err_set(err, "unexpected \"101\" response");
            return ZAE_ERROR;
        }

        /* an interim response: the final one follows */

        zae_http_reset(r);

        return ZAE_OK;
    }

    if (r->version == 10 && !(r->hstate & ZAE_HTTP_KEEPALIVE)) {
        r->close = 1;
    }

    if (r->status == 204 || r->status == 304) {
        r->state = ZAE_HTTP_ST_DONE;
        return ZAE_OK;
    }

    if (r->chunked) {

        if (r->hstate & ZAE_HTTP_HAS_CL) {
            /* RFC 9112, 6.3: chunked wins, the connection is suspect */
            r->content_length = -1;
            r->close = 1;
        }

        r->state = ZAE_HTTP_ST_CHUNK_SIZE;
        return ZAE_OK;
    }

    if (r->content_length >= 0) {

        if ((uint64_t) r->content_length > r->max_body) {
            zae_err_set(err, "response body larger than %zu bytes",
                        r->max_body);
            return ZAE_ERROR;
        }

        if (r->content_length == 0) {
            r->state = ZAE_HTTP_ST_DONE;
            return ZAE_OK;
        }

        if (zae_buf_reserve(&r->body, (size_t) r->content_length + 1)
            != ZAE_OK)
        {
            zae_err_set(err, "out of memory for response body");
            return ZAE_ERROR;
        }

        r->rest = (uint64_t) r->content_length;
        r->state = ZAE_HTTP_ST_BODY;
        return ZAE_OK;
    }

    /* the body ends when the connection closes */

    r->close = 1;
    r->state = ZAE_HTTP_ST_BODY_EOF;

    return ZAE_OK;
}


static int
zae_http_chunk_size(zae_http_resp_t *r, zae_err_t *err)
{
    u_char    c, *p, *end;
    uint64_t  n;

    p = r->line;
    end = r->line + r->line_len;
    n = 0;

    if (p == end) {
        goto invalid;
    }

    for ( /* void */ ; p < end; p++) {
        c = *p;

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            break;
        }

        if (n > r->max_body) {
            goto large;
        }

        n = n * 16 + c;
    }

    if (p == r->line) {
        goto invalid;
    }

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end && *p != ';') {
        goto invalid;
    }

    if (n > r->max_body - r->body.len) {
        goto large;
    }

    if (n == 0) {
        r->state = ZAE_HTTP_ST_TRAILER;
        return ZAE_OK;
    }

    if (zae_buf_reserve(&r->body, (size_t) n + 1) != ZAE_OK) {
        zae_err_set(err, "out of memory for response body");
        return ZAE_ERROR;
    }

    r->rest = n;
    r->state = ZAE_HTTP_ST_CHUNK_DATA;

    return ZAE_OK;

invalid:

    zae_err_set(err, "invalid chunk size line \"%.*s\"",
                (int) (r->line_len > 64 ? 64 : r->line_len),
                (char *) r->line);
    return ZAE_ERROR;

large:

    zae_err_set(err, "response body larger than %zu bytes", r->max_body);
    return ZAE_ERROR;
}


/*
 * Whether a comma separated list holds token (case-insensitive); *other
 * is set if it holds anything else.
 */

static int
zae_http_list_has(const u_char *p, size_t len, const char *token, int *other)
{
    int            found;
    const u_char  *end, *s, *e;

    found = 0;
    *other = 0;
    end = p + len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        s = p;

        while (p < end && *p != ',') {
            p++;
        }

        e = p;

        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        if (e == s) {
            continue;
        }

        if (zae_http_name_is(s, e - s, token)) {
            found = 1;

        } else {
            *other = 1;
        }
    }

    return found;
}


static int
zae_http_token_char(u_char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


static int
zae_http_name_is(const u_char *name, size_t len, const char *s)
{
    u_char  c;
    size_t  i;

    for (i = 0; i < len; i++) {
        c = name[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (s[i] == '\0' || c != (u_char) s[i]) {
            return 0;
        }
    }

    return s[len] == '\0';
}


/*
 * CRC-32 (IEEE 802.3, reflected, as zlib), slice-by-8: table[k][b] is
 * the CRC of byte b followed by k zero bytes, so that eight bytes are
 * folded with eight look-ups instead of eight dependent ones.  The
 * tables (8 KB) are built on the first call of the process.
 */

static uint32_t  zae_http_crc32_table[8][256];
static unsigned  zae_http_crc32_ready;


static void
zae_http_crc32_init(void)
{
    size_t    i, k;
    uint32_t  c;

    for (i = 0; i < 256; i++) {
        c = (uint32_t) i;

        for (k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1;
        }

        zae_http_crc32_table[0][i] = c;
    }

    for (i = 0; i < 256; i++) {
        c = zae_http_crc32_table[0][i];

        for (k = 1; k < 8; k++) {
            c = zae_http_crc32_table[0][c & 0xff] ^ (c >> 8);
            zae_http_crc32_table[k][i] = c;
        }
    }

    zae_http_crc32_ready = 1;
}


uint32_t
zae_http_crc32(const u_char *data, size_t len)
{
    uint32_t    crc, lo, hi;
    uint32_t  (*t)[256];

    if (!zae_http_crc32_ready) {
        zae_http_crc32_init();
    }

    t = zae_http_crc32_table;
    crc = 0xffffffff;

    /* byte by byte assembly: any alignment, any byte order */

    while (len >= 8) {
        lo = crc ^ ((uint32_t) data[0] | (uint32_t) data[1] << 8
                    | (uint32_t) data[2] << 16 | (uint32_t) data[3] << 24);
        hi = (uint32_t) data[4] | (uint32_t) data[5] << 8
             | (uint32_t) data[6] << 16 | (uint32_t) data[7] << 24;

        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff]
              ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24]
              ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff]
              ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];

        data += 8;
        len -= 8;
    }

    while (len--) {
        crc = t[0][(crc ^ *data++) & 0xff] ^ (crc >> 8);
    }

    return crc ^ 0xffffffff;
}
