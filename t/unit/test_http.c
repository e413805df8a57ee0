
/*
 * Copyright (C) zae-limit authors
 *
 * Unit tests of the incremental HTTP/1.1 response parser (zae_http).
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_http.h"


#define S(s)  (u_char *) s, sizeof(s) - 1


typedef struct {
    int                rc;
    size_t             used;       /* bytes consumed in total */
    zae_err_t          err;
} feed_t;


static zae_http_resp_t *feed(zae_arena_t *a, const u_char *text, size_t len,
    size_t step, int eof, feed_t *f);
static void at_limit(const char *name, const u_char *text, size_t len,
    size_t max_header, int rc, size_t used, const char *errpart);


/* the max_header of feed(): 0 the default */
static size_t  feed_max_header;
static int body_is(zae_http_resp_t *r, const char *want);
static void valid_all_steps(const char *name, const char *text, int eof,
    unsigned status, const char *body, int close, size_t extra);
static void diag_fail(const char *name, zae_http_resp_t *r, feed_t *f);
static void invalid(const char *name, const u_char *text, size_t len,
    int eof, const char *errpart);


/* feeds text in pieces of step bytes (0: all at once), then EOF if asked */

static zae_http_resp_t *
feed(zae_arena_t *a, const u_char *text, size_t len, size_t step, int eof,
    feed_t *f)
{
    size_t            n, used;
    zae_mem_t        *mem;
    zae_http_resp_t  *r;

    mem = zae_arena_alloc(a, sizeof(zae_mem_t));
    r = zae_arena_alloc(a, sizeof(zae_http_resp_t));
    if (mem == NULL || r == NULL) {
        return NULL;
    }

    *mem = zae_arena_mem(a);
    zae_http_resp_init(r, mem, feed_max_header, 0);

    f->rc = ZAE_AGAIN;
    f->used = 0;
    f->err.msg[0] = '\0';

    if (step == 0) {
        step = len ? len : 1;
    }

    while (f->used < len) {
        n = len - f->used < step ? len - f->used : step;

        f->rc = zae_http_resp_parse(r, text + f->used, n, &used,
                                    &f->err);
        f->used += used;

        if (f->rc != ZAE_AGAIN) {
            return r;
        }

        if (used != n) {
            f->rc = -100;   /* AGAIN must consume everything */
            return r;
        }
    }

    if (eof && f->rc == ZAE_AGAIN) {
        f->rc = zae_http_resp_eof(r, &f->err);
    }

    return r;
}


static int
body_is(zae_http_resp_t *r, const char *want)
{
    size_t  len;

    len = strlen(want);

    if (r->body.len != len) {
        return 0;
    }

    return len == 0 || memcmp(r->body.data, want, len) == 0;
}


/* a valid response must parse the same way for every piece size */

static void
valid_all_steps(const char *name, const char *text, int eof,
    unsigned status, const char *body, int close, size_t extra)
{
    int               good;
    size_t            len, step, bad_step;
    feed_t            f;
    zae_arena_t       a;
    zae_http_resp_t  *r;

    len = strlen(text);
    good = 1;
    bad_step = 0;

    for (step = 0; step <= len + 1; step++) {
        zae_arena_init(&a, 0);

        r = feed(&a, (u_char *) text, len, step, eof, &f);

        if (r == NULL
            || f.rc != ZAE_OK
            || f.used != len - extra
            || r->status != status
            || !body_is(r, body)
            || (int) r->close != close
            || !r->done)
        {
            if (good) {
                bad_step = step;
                diag_fail(name, r, &f);
            }

            good = 0;
        }

        zae_arena_free(&a);
    }

    ok(good, "%s: same result for every piece size (first bad %zu)",
       name, bad_step);
}


static void
diag_fail(const char *name, zae_http_resp_t *r, feed_t *f)
{
    printf("# %s: rc %d used %zu status %u close %u body %zu err \"%s\"\n",
           name, f->rc, f->used, r ? r->status : 0, r ? r->close : 0,
           r ? r->body.len : 0, f->err.msg);
}


static void
invalid(const char *name, const u_char *text, size_t len, int eof,
    const char *errpart)
{
    int               good;
    size_t            step;
    feed_t            f;
    zae_arena_t       a;
    zae_http_resp_t  *r;

    good = 1;

    for (step = 0; step <= 3; step++) {
        zae_arena_init(&a, 0);

        r = feed(&a, text, len, step, eof, &f);

        if (r == NULL || f.rc != ZAE_ERROR
            || strstr(f.err.msg, errpart) == NULL)
        {
            if (good) {
                diag_fail(name, r, &f);
            }

            good = 0;
        }

        zae_arena_free(&a);
    }

    ok(good, "%s: rejected with \"%s\"", name, errpart);
}


/*
 * A header at a limit, for every piece size: the result rc, the bytes
 * taken (on failure: up to the byte that failed) and the message
 */

static void
at_limit(const char *name, const u_char *text, size_t len,
    size_t max_header, int rc, size_t used, const char *errpart)
{
    int               good;
    size_t            step;
    feed_t            f;
    zae_arena_t       a;
    zae_http_resp_t  *r;

    good = 1;
    feed_max_header = max_header;

    for (step = 0; step <= len + 1; step++) {
        zae_arena_init(&a, 0);

        r = feed(&a, text, len, step, 0, &f);

        if (r == NULL || f.rc != rc || f.used != used
            || strstr(f.err.msg, errpart) == NULL)
        {
            if (good) {
                printf("# step %zu:\n", step);
                diag_fail(name, r, &f);
            }

            good = 0;
        }

        zae_arena_free(&a);
    }

    feed_max_header = 0;

    ok(good, "%s: rc %d after %zu bytes, every piece size", name, rc, used);
}


/* CRC-32 one bit at a time, the definition */

static uint32_t
crc32_bitwise(const u_char *p, size_t len)
{
    int       k;
    uint32_t  c;

    c = 0xffffffff;

    while (len--) {
        c ^= *p++;

        for (k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320 & (0 - (c & 1)));
        }
    }

    return c ^ 0xffffffff;
}


static void
crc32_tests(void)
{
    int             bad;
    size_t          len, off, i;
    u_char          seq[256];
    uint32_t        x;
    static u_char   buf[4096 + 8];

    is_int(zae_http_crc32((u_char *) "", 0), 0, "crc32 of nothing");
    is_int(zae_http_crc32((u_char *) "123456789", 9), 0xcbf43926,
           "crc32 check value");
    is_int(zae_http_crc32((u_char *) "{}", 2), 2745614147U, "crc32 of {}");
    is_int(zae_http_crc32((u_char *) "The quick brown fox jumps over the "
                          "lazy dog", 43), 1095738169U, "crc32 of the fox");

    memset(buf, 0, 32);
    is_int(zae_http_crc32(buf, 32), 420107693U, "crc32 of 32 zeros");
    memset(buf, 0xff, 32);
    is_int(zae_http_crc32(buf, 32), 4285311755U, "crc32 of 32 0xff");

    for (i = 0; i < 256; i++) {
        seq[i] = (u_char) i;
    }

    is_int(zae_http_crc32(seq, 256), 688229491U, "crc32 of 0..255");

    /* random buffers of every length 0..4096, offsets 0..7 */

    x = 2463534242U;

    for (i = 0; i < sizeof(buf); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (u_char) x;
    }

    bad = 0;

    for (len = 0; len <= 4096; len++) {
        off = len % 8;

        if (zae_http_crc32(buf + off, len) != crc32_bitwise(buf + off, len))
        {
            bad++;
        }
    }

    is_int(bad, 0, "crc32 equals the bitwise definition, lengths 0..4096");
}


int
main(void)
{
    int               i;
    char             *big;
    size_t            used;
    feed_t            f;
    zae_err_t         err;
    zae_mem_t         mem;
    zae_arena_t       a;
    zae_http_resp_t  *r, resp;

    /* CRC-32 */

    crc32_tests();

    zae_arena_init(&a, 0);
    r = feed(&a, S("HTTP/1.1 200 OK\r\nx-amz-crc32: 3421780262\r\n"
                   "Content-Length: 9\r\n\r\n123456789"), 0, 0, &f);
    is_int(f.rc, ZAE_OK, "crc check value parsed");
    is_int(zae_http_resp_check_crc32(r, &err), ZAE_OK,
           "crc32 of 123456789 is 0xcbf43926");
    zae_arena_free(&a);

    zae_arena_init(&a, 0);
    r = feed(&a, S("HTTP/1.1 200 OK\r\nx-amz-crc32: 0\r\n"
                   "Content-Length: 0\r\n\r\n"), 0, 0, &f);
    is_int(zae_http_resp_check_crc32(r, &err), ZAE_OK, "crc32 of nothing");
    zae_arena_free(&a);

    /* Content-Length */

    valid_all_steps("content-length",
                    "HTTP/1.1 200 OK\r\n"
                    "x-amzn-RequestId: ABC\r\n"
                    "Content-Type: application/x-amz-json-1.0\r\n"
                    "Content-Length: 2\r\n"
                    "x-amz-crc32: 2745614147\r\n"
                    "\r\n"
                    "{}", 0, 200, "{}", 0, 0);

    zae_arena_init(&a, 0);
    r = feed(&a, S("HTTP/1.1 400 Bad Request\r\n"
                 "X-Amzn-ErrorType: ValidationException:http://x/\r\n"
                 "x-amzn-requestid:   RID-1  \r\n"
                 "content-length:5\r\n"
                 "X-AMZ-CRC32: 1\r\n\r\nhello"), 7, 0, &f);
    is_int(f.rc, ZAE_OK, "400 parsed");
    is_int(r->status, 400, "status 400");
    is_int(r->version, 11, "version 1.1");
    is_int(r->content_length, 5, "content-length 5");
    ok(r->error_type.len == 29
       && memcmp(r->error_type.data, "ValidationException:http://x/", 29)
          == 0, "x-amzn-errortype kept");
    ok(r->request_id.len == 5
       && memcmp(r->request_id.data, "RID-1", 5) == 0,
       "x-amzn-requestid kept and trimmed");
    ok(r->has_crc32 && r->crc32 == 1, "x-amz-crc32 parsed");
    is_int(zae_http_resp_check_crc32(r, &err), ZAE_ERROR, "crc mismatch");
    ok(strstr(err.msg, "x-amz-crc32 mismatch") != NULL,
       "crc mismatch message: %s", err.msg);
    ok(body_is(r, "hello"), "body");
    ok(r->body.data[r->body.len] == '\0', "body is NUL terminated");
    zae_arena_free(&a);

    zae_arena_init(&a, 0);
    r = feed(&a, S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                 "x-amz-crc32: 2745614147\r\n\r\n{}"), 0, 0, &f);
    is_int(f.rc, ZAE_OK, "crc response parsed");
    is_int(zae_http_resp_check_crc32(r, &err), ZAE_OK, "crc matches");
    zae_arena_free(&a);

    zae_arena_init(&a, 0);
    r = feed(&a, S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, 0,
             &f);
    is_int(f.rc, ZAE_OK, "empty body");
    is_int(zae_http_resp_check_crc32(r, &err), ZAE_OK,
           "no crc header passes");
    zae_arena_free(&a);

    /* pipelined extra bytes are not consumed */

    valid_all_steps("extra bytes",
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1",
                    0, 200, "abc", 0, 8);

    /* bare LF line ends */

    valid_all_steps("bare LF",
                    "HTTP/1.1 200\nContent-Length: 1\n\nx", 0, 200, "x", 0,
                    0);

    /* chunked */

    valid_all_steps("chunked",
                    "HTTP/1.1 200 OK\r\n"
                    "Transfer-Encoding: chunked\r\n"
                    "\r\n"
                    "5\r\nhello\r\n"
                    "1;ext=1\r\n \r\n"
                    "A \r\n0123456789\r\n"
                    "0\r\n"
                    "X-Trailer: 1\r\n"
                    "\r\n", 0, 200, "hello 0123456789", 0, 0);

    valid_all_steps("chunked, no trailer, extra",
                    "HTTP/1.1 200 OK\r\n"
                    "transfer-encoding: Chunked\r\n"
                    "\r\n"
                    "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                    "0\r\n\r\nGARBAGE", 0, 200,
                    "abcdefghijklmnopqrstuvwxyz", 0, 7);

    valid_all_steps("chunked wins over content-length",
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Length: 100\r\n"
                    "Transfer-Encoding: chunked\r\n"
                    "\r\n"
                    "2\r\nok\r\n0\r\n\r\n", 0, 200, "ok", 1, 0);

    /* connection handling */

    valid_all_steps("connection close",
                    "HTTP/1.1 200 OK\r\nConnection: Close\r\n"
                    "Content-Length: 1\r\n\r\nx", 0, 200, "x", 1, 0);

    valid_all_steps("connection keep-alive, close list",
                    "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n"
                    "Content-Length: 1\r\n\r\nx", 0, 200, "x", 1, 0);

    valid_all_steps("http/1.0 closes",
                    "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
                    0, 200, "x", 1, 0);

    valid_all_steps("http/1.0 keep-alive",
                    "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
                    "Content-Length: 1\r\n\r\nx", 0, 200, "x", 0, 0);

    valid_all_steps("body until close",
                    "HTTP/1.1 500 Oops\r\n\r\nbody text", 1, 500,
                    "body text", 1, 0);

    valid_all_steps("interim 100",
                    "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                    0, 200, "ok", 0, 0);

    valid_all_steps("204 without body",
                    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                    0, 204, "", 0, 0);

    /* an unfinished body waits for more */

    zae_arena_init(&a, 0);
    r = feed(&a, S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"), 0,
             0, &f);
    is_int(f.rc, ZAE_AGAIN, "partial body: again");
    ok(!r->done, "partial body: not done");
    zae_arena_free(&a);

    /* after completion the parser consumes nothing */

    zae_arena_init(&a, 0);
    mem = zae_arena_mem(&a);
    zae_http_resp_init(&resp, &mem, 0, 0);
    is_int(zae_http_resp_parse(&resp, S("HTTP/1.1 200 OK\r\n"
                               "Content-Length: 0\r\n\r\n"), &used, &err),
           ZAE_OK, "complete");
    is_int(zae_http_resp_parse(&resp, S("more"), &used, &err),
           ZAE_OK, "complete again");
    is_int(used, 0, "nothing consumed after completion");
    is_int(zae_http_resp_eof(&resp, &err), ZAE_OK, "eof after completion");
    zae_arena_free(&a);

    /* premature close */

    invalid("closed before response", S(""), 1,
            "connection closed before response");
    invalid("closed in status line", S("HTTP/1.1 2"), 1,
            "connection closed in response header");
    invalid("closed in headers", S("HTTP/1.1 200 OK\r\nContent-Le"), 1,
            "connection closed in response header");
    invalid("closed in body",
            S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"), 1,
            "connection closed in response body");
    invalid("closed in chunk",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
            1, "connection closed in response body");
    invalid("closed in trailer",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"),
            1, "connection closed in response body");

    /* garbage */

    invalid("not http", S("SSH-2.0-OpenSSH\r\n\r\n"), 0,
            "invalid status line");
    invalid("http/2", S("HTTP/2 200\r\n\r\n"), 0, "invalid status line");
    invalid("status 600", S("HTTP/1.1 600 X\r\n\r\n"), 0,
            "invalid status line");
    invalid("status 20", S("HTTP/1.1 20\r\n\r\n"), 0,
            "invalid status line");
    invalid("status 2000", S("HTTP/1.1 2000\r\n\r\n"), 0,
            "invalid status line");
    invalid("lowercase http", S("http/1.1 200 OK\r\n\r\n"), 0,
            "invalid status line");
    invalid("nul", S("HTTP/1.1 200 OK\r\nA: \0\r\n\r\n"), 0,
            "NUL in response line");
    invalid("bare cr", S("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n"), 0,
            "bare CR");
    invalid("folded header",
            S("HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n"), 0,
            "folded response header line");
    invalid("no colon", S("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"), 0,
            "invalid response header line");
    invalid("space before colon", S("HTTP/1.1 200 OK\r\nA : b\r\n\r\n"), 0,
            "invalid response header line");
    invalid("empty name", S("HTTP/1.1 200 OK\r\n: b\r\n\r\n"), 0,
            "invalid response header line");
    invalid("content-length letters",
            S("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"), 0,
            "invalid \"Content-Length\" header value");
    invalid("content-length negative",
            S("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), 0,
            "invalid \"Content-Length\" header value");
    invalid("content-length empty",
            S("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"), 0,
            "invalid \"Content-Length\" header value");
    invalid("content-length huge",
            S("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n"
            "\r\n"), 0, "invalid \"Content-Length\" header value");
    invalid("conflicting content-length",
            S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
            "\r\n"), 0, "conflicting content-length");
    invalid("gzip transfer-encoding",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            0, "unsupported transfer-encoding");
    invalid("identity transfer-encoding",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n"),
            0, "unsupported transfer-encoding");
    invalid("bad crc header",
            S("HTTP/1.1 200 OK\r\nx-amz-crc32: 4294967296\r\n\r\n"), 0,
            "invalid \"x-amz-crc32\" header value");
    invalid("101", S("HTTP/1.1 101 Switching\r\n\r\n"), 0,
            "unexpected \"101\" response");
    invalid("bad chunk size",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            0, "invalid chunk size line");
    invalid("empty chunk size",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"),
            0, "invalid chunk size line");
    invalid("chunk size junk",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n"),
            0, "invalid chunk size line");
    invalid("chunk without crlf",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1\r\nab\r\n0\r\n\r\n"), 0, "invalid chunk end");
    invalid("chunk size overflow",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "fffffffffffffffffffffff\r\n"), 0,
            "response body larger than");
    invalid("chunked body too large",
            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1000001\r\n"), 0, "response body larger than");
    invalid("content-length too large",
            S("HTTP/1.1 200 OK\r\nContent-Length: 16777217\r\n\r\n"), 0,
            "response body larger than");

    /* limits */

    big = malloc(2 * ZAE_HTTP_MAX_HEADER);
    if (big == NULL) {
        return 1;
    }

    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'a', ZAE_HTTP_MAX_LINE + 10);
    invalid("long header line", (u_char *) big, 20 + ZAE_HTTP_MAX_LINE + 10, 0,
            "response line longer than");

    memcpy(big, "HTTP/1.1 200 OK\r\n", 17);

    for (i = 0; i < ZAE_HTTP_MAX_HEADER / 10 + 1; i++) {
        memcpy(big + 17 + i * 10, "X-A: 123\r\n", 10);
    }

    invalid("too many headers", (u_char *) big, 17 + i * 10, 0,
            "response header larger than 65536 bytes");

    /* exactly at the limits, and one byte over (a line holds its CR) */

    memcpy(big, "HTTP/1.1 204 OK\r\nX: ", 20);
    memset(big + 20, 'a', ZAE_HTTP_MAX_LINE - 4);
    memcpy(big + 16 + ZAE_HTTP_MAX_LINE, "\r\n\r\n", 4);
    at_limit("a line of ZAE_HTTP_MAX_LINE bytes", (u_char *) big,
             20 + ZAE_HTTP_MAX_LINE, 0, ZAE_OK, 20 + ZAE_HTTP_MAX_LINE, "");

    memset(big + 20, 'a', ZAE_HTTP_MAX_LINE - 3);
    memcpy(big + 17 + ZAE_HTTP_MAX_LINE, "\r\n\r\n", 4);
    at_limit("a line one byte longer", (u_char *) big,
             21 + ZAE_HTTP_MAX_LINE, 0, ZAE_ERROR, 18 + ZAE_HTTP_MAX_LINE,
             "response line longer than 4096 bytes");

    free(big);

    at_limit("a header of max_header bytes",
             S("HTTP/1.1 204 OK\r\nA: b\r\n\r\n"), 25, ZAE_OK, 25, "");
    at_limit("a header one byte over max_header",
             S("HTTP/1.1 200 OK\r\nA: b\r\n\r\n"), 24, ZAE_ERROR, 25,
             "response header larger than 24 bytes");
    at_limit("a LF over max_header",
             S("HTTP/1.1 200 OK\r\nA: b\r\n\r\n"), 23, ZAE_ERROR, 24,
             "response header larger than 23 bytes");
    at_limit("a NUL before the limit",
             S("HTTP/1.1 200 OK\r\nA: \0\r\n\r\n"), 24, ZAE_ERROR, 21,
             "NUL in response line");
    at_limit("a bare CR",
             S("HTTP/1.1 200 OK\r\nA:\rb\r\n\r\n"), 0, ZAE_ERROR, 23,
             "bare CR in response line");

    zae_arena_init(&a, 0);
    mem = zae_arena_mem(&a);
    zae_http_resp_init(&resp, &mem, 0, 4);
    is_int(zae_http_resp_parse(&resp, S("HTTP/1.1 200 OK\r\n\r\n"
                               "abcde"), &used, &err),
           ZAE_ERROR, "body until close over the limit");
    ok(strstr(err.msg, "response body larger than 4 bytes") != NULL,
       "limit message: %s", err.msg);
    is_int(zae_http_resp_parse(&resp, S("x"), &used, &err),
           ZAE_ERROR, "stays failed");
    is_int(zae_http_resp_eof(&resp, &err), ZAE_ERROR, "eof after failure");
    ok(resp.close, "failed response closes");
    zae_arena_free(&a);

    zae_arena_init(&a, 0);
    mem = zae_arena_mem(&a);
    zae_http_resp_init(&resp, &mem, 20, 0);
    is_int(zae_http_resp_parse(&resp, S("HTTP/1.1 200 OK\r\n"
                               "A: b\r\n\r\n"), &used, &err),
           ZAE_ERROR, "small header limit");
    zae_arena_free(&a);

    /* allocation failure is an error, not a crash */

    zae_arena_init(&a, 4096);
    mem = zae_arena_mem(&a);
    zae_http_resp_init(&resp, &mem, 0, 0);
    is_int(zae_http_resp_parse(&resp, S("HTTP/1.1 200 OK\r\n"
                               "Content-Length: 100000\r\n\r\nab"), &used,
                               &err),
           ZAE_ERROR, "out of memory");
    ok(strstr(err.msg, "out of memory") != NULL, "oom message: %s", err.msg);
    zae_arena_free(&a);

    return tap_done();
}
