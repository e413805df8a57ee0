
/*
 * Copyright (C) zae-limit authors
 *
 * SigV4 stages one by one: path, query and header canonicalisation,
 * dates, key derivation and its cache, errors, the DynamoDB helper.
 */


#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_creds.h"
#include "zae_sigv4.h"


static zae_mem_t      mem;
static unsigned long  t_mallocs;


/* OpenSSL's heap allocations, counted */

static void *
t_malloc(size_t n, const char *file, int line)
{
    t_mallocs++;
    return malloc(n);
}


static void *
t_realloc(void *p, size_t n, const char *file, int line)
{
    t_mallocs++;
    return realloc(p, n);
}


static void
t_free(void *p, const char *file, int line)
{
    free(p);
}


/* kSigning through OpenSSL's HMAC(), the reference */

static void
t_derive_ref(const u_char *secret, size_t len, const char *date,
    const zae_str_t *region, const zae_str_t *service, u_char *out)
{
    u_char        seed[4 + ZAE_SIGV4_SECRET_MAX], k[ZAE_SIGV4_KEY_LEN];
    unsigned int  n;

    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, len);

    HMAC(EVP_sha256(), seed, (int) (4 + len), (u_char *) date, 8, k, &n);
    HMAC(EVP_sha256(), k, 32, region->data, region->len, k, &n);
    HMAC(EVP_sha256(), k, 32, service->data, service->len, k, &n);
    HMAC(EVP_sha256(), k, 32, (u_char *) "aws4_request", 12, out, &n);
}


static const char *
t_path(const char *in, int normalize)
{
    zae_err_t  err;
    zae_str_t  p, out;

    p.data = (u_char *) in;
    p.len = strlen(in);

    if (zae_sigv4_canonical_path(&mem, &p, normalize, &out, &err) != ZAE_OK)
    {
        return "(error)";
    }

    return (char *) zae_strdup(&mem, out.data, out.len);
}


static const char *
t_query(const char *in)
{
    zae_err_t  err;
    zae_str_t  q, out;

    q.data = (u_char *) in;
    q.len = strlen(in);

    if (zae_sigv4_canonical_query(&mem, &q, &out, &err) != ZAE_OK) {
        return "(error)";
    }

    return (char *) zae_strdup(&mem, out.data, out.len);
}


static void
t_creds(zae_aws_creds_t *c, const char *akid, const char *secret,
    const char *token)
{
    memset(c, 0, sizeof(zae_aws_creds_t));
    c->access_key.data = (u_char *) akid;
    c->access_key.len = strlen(akid);
    c->secret_key.data = (u_char *) secret;
    c->secret_key.len = strlen(secret);

    if (token) {
        c->session_token.data = (u_char *) token;
        c->session_token.len = strlen(token);
    }
}


static char *
t_cstr(zae_str_t *s)
{
    return (char *) zae_strdup(&mem, s->data, s->len);
}


/*
 * The date by hand against strftime(), and the byte checks (host: no
 * control characters, spaces, DEL or "/"; header names: no separators)
 * for every byte value
 */

static void
t_date_and_bytes(void)
{
    int                  i, bad;
    char                 want[32], name[4];
    u_char               got[ZAE_SIGV4_DATE_LEN + 1], host[4];
    time_t               t;
    int64_t              ts;
    uint32_t             x;
    struct tm            tm;
    zae_err_t            err;
    zae_str_t            region, shost, target, body, d, a, canon, sh;
    zae_header_t         hdr;
    zae_aws_creds_t      creds;

    bad = 0;
    x = 123456789;

    for (i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;

        if (i == 0) {
            ts = 0;

        } else if (i == 1) {
            ts = 253402300799LL;

        } else {
            ts = (int64_t) x * 59 % 253402300800LL;
        }

        t = (time_t) ts;
        gmtime_r(&t, &tm);
        strftime(want, sizeof(want), "%Y%m%dT%H%M%SZ", &tm);

        if (zae_sigv4_format_date(ts, got) != ZAE_OK
            || strcmp((char *) got, want) != 0)
        {
            bad++;
        }
    }

    is_int(bad, 0, "format_date equals strftime for 10000 times");

    t_creds(&creds, "AKIDEXAMPLE", "secret", NULL);
    zae_str_set(&region, "us-east-1");
    zae_str_set(&target, "DynamoDB_20120810.GetItem");
    zae_str_set(&body, "{}");

    bad = 0;

    for (i = 0; i < 256; i++) {
        host[0] = 'a';
        host[1] = (u_char) i;
        host[2] = 'b';
        shost.data = host;
        shost.len = 3;

        if ((zae_sigv4_sign_dynamodb(&mem, &creds, NULL, &region, &shost,
                                     &target, &body, 1764061200, &d, &a,
                                     &err)
             == ZAE_OK)
            != !(i <= 0x20 || i == 0x7f || i == '/'))
        {
            bad++;
        }

        name[0] = 'x';
        name[1] = (char) i;
        name[2] = 'y';
        hdr.name.data = (u_char *) name;
        hdr.name.len = 3;
        zae_str_set(&hdr.value, "v");

        if ((zae_sigv4_canonical_headers(&mem, &hdr, 1, &canon, &sh, &err)
             == ZAE_OK)
            != !(i <= 0x20 || i == 0x7f
                 || (i && strchr(":()<>@,;\\\"/[]?={}", i) != NULL)))
        {
            bad++;
        }
    }

    is_int(bad, 0, "host and header name bytes: refused as before");
}


/*
 * The reused HMAC states: every call equals the first and the uncached
 * one, rotating the secret in place re-derives, key derivation equals
 * OpenSSL's HMAC() for secrets of any length (longer than a block:
 * hashed), and no signature allocates from the heap once warm.
 */

static void
t_reuse_tests(void)
{
    int                  rc, i, bad;
    u_char               key[ZAE_SIGV4_KEY_LEN], ref[ZAE_SIGV4_KEY_LEN];
    u_char               secret[ZAE_SIGV4_SECRET_MAX + 1];
    uint32_t             x;
    unsigned             derived;
    zae_err_t            err;
    zae_str_t            s, region, service, host, target, body, d, a, first;
    unsigned long        mallocs;
    zae_aws_creds_t      creds;
    zae_sigv4_cache_t    cache;

    zae_sigv4_cache_init(&cache);

    memcpy(secret, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 41);
    t_creds(&creds, "AKIDEXAMPLE", (char *) secret, NULL);

    zae_str_set(&region, "us-east-1");
    zae_str_set(&host, "dynamodb.us-east-1.amazonaws.com");
    zae_str_set(&target, "DynamoDB_20120810.UpdateItem");
    zae_str_set(&body, "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":"
                "\"x\"}}}");

    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &region, &host,
                                 &target, &body, 1764061200, &d, &first,
                                 &err);
    is_int(rc, ZAE_OK, "reuse: first signature");

    bad = 0;
    mallocs = t_mallocs;

    for (i = 0; i < 100; i++) {
        rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &region, &host,
                                     &target, &body, 1764061200, &d, &a,
                                     &err);
        if (rc != ZAE_OK || a.len != first.len
            || memcmp(a.data, first.data, a.len) != 0)
        {
            bad++;
        }
    }

    is_int(bad, 0, "reuse: 100 later signatures equal the first");
    is_int(t_mallocs - mallocs, 0, "reuse: no OpenSSL heap allocation");
    is_int(cache.derived, 1, "reuse: key derived once");

    mallocs = t_mallocs;
    rc = zae_sigv4_sign_dynamodb(&mem, &creds, NULL, &region, &host,
                                 &target, &body, 1764061200, &d, &a, &err);
    ok(rc == ZAE_OK && a.len == first.len
       && memcmp(a.data, first.data, a.len) == 0,
       "reuse: uncached signature equals the cached one");
    is_int(t_mallocs - mallocs, 0, "reuse: no allocation uncached either");

    /* the provider rewrites its secret buffer in place */

    secret[0] ^= 1;
    derived = cache.derived;

    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &region, &host,
                                 &target, &body, 1764061200, &d, &a, &err);
    ok(rc == ZAE_OK && cache.derived == derived + 1,
       "rotation in place: key re-derived");
    ok(a.len == first.len && memcmp(a.data, first.data, a.len) != 0,
       "rotation in place: other signature");

    rc = zae_sigv4_sign_dynamodb(&mem, &creds, NULL, &region, &host,
                                 &target, &body, 1764061200, &d, &s, &err);
    ok(rc == ZAE_OK && s.len == a.len && memcmp(s.data, a.data, a.len) == 0,
       "rotation in place: equals the uncached signature");

    secret[0] ^= 1;
    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &region, &host,
                                 &target, &body, 1764061200, &d, &a, &err);
    ok(rc == ZAE_OK && cache.derived == derived + 2
       && a.len == first.len && memcmp(a.data, first.data, a.len) == 0,
       "rotation back: re-derived, the first signature again");

    /* a longer secret with the same prefix */

    secret[40] = 'X';
    creds.secret_key.len = 41;
    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &region, &host,
                                 &target, &body, 1764061200, &d, &a, &err);
    ok(rc == ZAE_OK && cache.derived == derived + 3
       && memcmp(a.data, first.data, a.len) != 0,
       "longer secret: re-derived");

    zae_sigv4_cache_wipe(&cache);

    /* kSigning against HMAC(), secrets of 1..1024 bytes */

    x = 88172645;
    bad = 0;
    zae_str_set(&service, "dynamodb");

    for (i = 0; i < ZAE_SIGV4_SECRET_MAX; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        secret[i] = (u_char) x;
    }

    for (i = 1; i <= ZAE_SIGV4_SECRET_MAX; i += (i < 160) ? 1 : 37) {
        s.data = secret;
        s.len = i;
        region.len = i % 10;                 /* "" .. "us-east-1" */

        if (zae_sigv4_derive_key(&s, (u_char *) "20261125", &region,
                                 &service, key)
            != ZAE_OK)
        {
            bad++;
            continue;
        }

        t_derive_ref(secret, i, "20261125", &region, &service, ref);

        if (memcmp(key, ref, ZAE_SIGV4_KEY_LEN) != 0) {
            bad++;
        }
    }

    is_int(bad, 0, "derive_key equals HMAC() for secrets of 1..1024 bytes");
}


int
main(void)
{
    int                  rc, i, n, failures, successes;
    char                 buf[4096], *want;
    u_char               key[ZAE_SIGV4_KEY_LEN], hex[ZAE_SIGV4_HEX_LEN + 1];
    u_char               date[ZAE_SIGV4_DATE_LEN + 1];
    zae_err_t            err;
    zae_str_t            s1, s2, s3, s4, canon, signed_h, d1, a1, d2, a2;
    zae_mem_t            smem;
    zae_arena_t          arena, small;
    zae_header_t         h[8];
    zae_aws_creds_t      creds, creds2;
    zae_sigv4_ctx_t      ctx;
    zae_sigv4_cache_t    cache;
    zae_sigv4_result_t   res, res2;
    zae_sigv4_request_t  req;
    zae_header_t         many[ZAE_SIGV4_MAX_HEADERS + 1];
    const char          *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    static u_char        h16[] = "0123456789abcdef";

    /* before OpenSSL allocates anything */
    is_int(CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free), 1,
           "OpenSSL allocations counted");
    OPENSSL_free(OPENSSL_malloc(1));
    is_int(t_mallocs, 1, "the allocation counter counts");

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    /* paths */

    is_str(t_path("", 1), "/", "empty path is /");
    is_str(t_path("/", 1), "/", "root");
    is_str(t_path("//", 1), "/", "// normalised");
    is_str(t_path("//", 0), "//", "// kept unnormalised");
    is_str(t_path("/a/./b/../c/", 1), "/a/c/", "dot segments, trailing /");
    is_str(t_path("/a/b/..", 1), "/a", "trailing .. has no slash");
    is_str(t_path("/../../x", 1), "/x", ".. above root stops at root");
    is_str(t_path("/a b/%20", 1), "/a%20b/%2520", "double encoding");
    is_str(t_path("/a b/%20", 0), "/a%20b/%2520", "encoding unnormalised");
    is_str(t_path("/\xe1\x88\xb4", 1), "/%E1%88%B4", "utf-8 encoded");
    is_str(t_path("/-._~AZaz09", 1), "/-._~AZaz09", "unreserved kept");
    is_str(t_path("/a:b@c+d=e", 1), "/a%3Ab%40c%2Bd%3De", "reserved encoded");
    is_str(t_path("a/b", 0), "(error)", "relative path refused");
    is_str(t_path("*", 1), "(error)", "asterisk form refused");

    /* queries */

    is_str(t_query(""), "", "empty query");
    is_str(t_query("b=2&a=1"), "a=1&b=2", "sorted by key");
    is_str(t_query("a=2&a=1&a=10"), "a=1&a=10&a=2", "then by value");
    is_str(t_query("B=1&a=1"), "B=1&a=1", "sort is byte order");
    is_str(t_query("flag&x="), "flag=&x=", "missing value is empty");
    is_str(t_query("&&a=1&"), "a=1", "empty parameters dropped");
    is_str(t_query("k=a%20b&j=%7e"), "j=~&k=a%20b", "decoded, re-encoded");
    is_str(t_query("k=a+b"), "k=a%2Bb", "plus is literal");
    is_str(t_query("k=%zz%4"), "k=%25zz%254", "bad escapes are literal");
    is_str(t_query("%E1%88%B4=bar"), "%E1%88%B4=bar", "utf-8 key");
    is_str(t_query("a=b=c"), "a=b%3Dc", "= in value encoded");

    memset(buf, 0, sizeof(buf));
    for (rc = 0; rc < (ZAE_SIGV4_MAX_PARAMS + 1) * 2; rc += 2) {
        buf[rc] = 'a';
        buf[rc + 1] = '&';
    }
    is_str(t_query(buf), "(error)", "too many query parameters refused");

    /* headers */

    zae_str_set(&h[0].name, "My-Header");
    zae_str_set(&h[0].value, "  a   b\t\tc  ");
    zae_str_set(&h[1].name, "host");
    zae_str_set(&h[1].value, "example.com");
    zae_str_set(&h[2].name, "MY-HEADER");
    zae_str_set(&h[2].value, "second");
    zae_str_set(&h[3].name, "User-Agent");
    zae_str_set(&h[3].value, "not signed");
    zae_str_set(&h[4].name, "X-Multi");
    zae_str_set(&h[4].value, "line1\n  line2");

    rc = zae_sigv4_canonical_headers(&mem, h, 5, &canon, &signed_h, &err);
    is_int(rc, ZAE_OK, "canonical headers");
    is_str(t_cstr(&canon),
           "host:example.com\nmy-header:a b c,second\nx-multi:line1 line2\n",
           "lowercased, sorted, trimmed, collapsed, joined");
    is_str(t_cstr(&signed_h), "host;my-header;x-multi",
           "signed headers list, user-agent skipped");

    zae_str_set(&h[0].name, "Bad Name");
    rc = zae_sigv4_canonical_headers(&mem, h, 1, &canon, &signed_h, &err);
    is_int(rc, ZAE_ERROR, "header name with a space refused");
    zae_str_set(&h[0].name, "Bad\nName");
    rc = zae_sigv4_canonical_headers(&mem, h, 1, &canon, &signed_h, &err);
    is_int(rc, ZAE_ERROR, "header name with a newline refused");
    h[0].name.len = 0;
    rc = zae_sigv4_canonical_headers(&mem, h, 1, &canon, &signed_h, &err);
    is_int(rc, ZAE_ERROR, "empty header name refused");

    for (rc = 0; rc < ZAE_SIGV4_MAX_HEADERS + 1; rc++) {
        zae_str_set(&many[rc].name, "x-a");
        zae_str_set(&many[rc].value, "v");
    }
    rc = zae_sigv4_canonical_headers(&mem, many, ZAE_SIGV4_MAX_HEADERS + 1,
                                     &canon, &signed_h, &err);
    is_int(rc, ZAE_ERROR, "too many headers refused");

    /* dates */

    is_int(zae_sigv4_format_date(1440938160, date), ZAE_OK, "format date");
    is_str(date, "20150830T123600Z", "2015-08-30T12:36:00Z");
    zae_sigv4_format_date(0, date);
    is_str(date, "19700101T000000Z", "epoch");
    zae_sigv4_format_date(951782400, date);
    is_str(date, "20000229T000000Z", "leap day 2000");
    is_int(zae_sigv4_format_date(-1, date), ZAE_ERROR, "negative refused");
    is_int(zae_sigv4_format_date(253402300800LL, date), ZAE_ERROR,
           "year 10000 refused");

    /* key derivation, the example of the AWS documentation */

    s1.data = (u_char *) secret;
    s1.len = strlen(secret);
    zae_str_set(&s2, "us-east-1");
    zae_str_set(&s3, "iam");

    is_int(zae_sigv4_derive_key(&s1, (u_char *) "20120215", &s2, &s3, key),
           ZAE_OK, "derive key");
    zae_sigv4_sha256_hex((u_char *) "", 0, hex);
    is_str(hex, ZAE_SIGV4_EMPTY_SHA256, "sha256 of nothing");

    for (i = 0; i < ZAE_SIGV4_KEY_LEN; i++) {
        hex[2 * i] = h16[key[i] >> 4];
        hex[2 * i + 1] = h16[key[i] & 15];
    }

    hex[ZAE_SIGV4_HEX_LEN] = '\0';

    is_str(hex,
           "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
           "kSigning of the documented example");

    /* the full signature of get-vanilla, then the cache */

    t_creds(&creds, "AKIDEXAMPLE", secret, NULL);
    zae_sigv4_cache_init(&cache);

    memset(&ctx, 0, sizeof(ctx));
    ctx.creds = &creds;
    zae_str_set(&ctx.region, "us-east-1");
    zae_str_set(&ctx.service, "service");
    ctx.timestamp = 1440938160;
    ctx.cache = &cache;

    memset(&req, 0, sizeof(req));
    zae_str_set(&req.method, "GET");
    zae_str_set(&req.path, "/");
    zae_str_set(&h[0].name, "Host");
    zae_str_set(&h[0].value, "example.amazonaws.com");
    req.headers = h;
    req.nheaders = 1;
    req.normalize = 1;

    rc = zae_sigv4_sign(&mem, &ctx, &req, &res, &err);
    is_int(rc, ZAE_OK, "sign get-vanilla");
    is_str(res.signature,
           "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
           "get-vanilla signature");
    is_str(t_cstr(&res.authorization),
           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
           "service/aws4_request, SignedHeaders=host;x-amz-date, "
           "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae"
           "1d763fbf31", "get-vanilla Authorization");
    is_int(res.nadded, 1, "one header added");
    is_str(t_cstr(&res.added[0].value), "20150830T123600Z", "X-Amz-Date");
    is_int(cache.derived, 1, "key derived once");

    ctx.timestamp += 3600;
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_int(cache.derived, 1, "same day: cached key");
    ok(strcmp((char *) res.signature, (char *) res2.signature) != 0,
       "later time, other signature");

    ctx.timestamp = 1440979200;          /* 2015-08-31T00:00:00Z */
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_int(cache.derived, 2, "next day: key re-derived");

    zae_str_set(&ctx.region, "eu-west-1");
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_int(cache.derived, 3, "other region: key re-derived");

    t_creds(&creds2, "AKIDEXAMPLE", "another secret", NULL);
    ctx.creds = &creds2;
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_int(cache.derived, 4, "other secret: key re-derived");

    ctx.creds = &creds;
    zae_str_set(&ctx.region, "us-east-1");
    ctx.timestamp = 1440938160;
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_str(res2.signature, res.signature, "back to the first tuple: same");

    ctx.cache = NULL;
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_str(res2.signature, res.signature, "no cache: same signature");
    ctx.cache = &cache;

    zae_sigv4_cache_wipe(&cache);

    for (i = 0; i < (int) sizeof(cache); i++) {
        if (((u_char *) &cache)[i] != 0) {
            break;
        }
    }

    is_int(i, sizeof(cache), "cache wiped, every byte");

    t_reuse_tests();
    t_date_and_bytes();

    /* session token signed, or omitted but still returned */

    t_creds(&creds2, "AKIDEXAMPLE", secret, "TOKEN/+=");
    ctx.creds = &creds2;
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_int(rc, ZAE_OK, "sign with token");
    is_str(t_cstr(&res2.signed_headers),
           "host;x-amz-date;x-amz-security-token", "token signed");
    is_int(res2.nadded, 2, "token header added");
    is_str(t_cstr(&res2.added[1].name), "X-Amz-Security-Token", "name");

    ctx.omit_session_token = 1;
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_str(t_cstr(&res2.signed_headers), "host;x-amz-date",
           "omit_session_token: not signed");
    is_int(res2.nadded, 2, "omit_session_token: still added");
    is_str(res2.signature, res.signature,
           "omit_session_token: signature as without token");
    ctx.omit_session_token = 0;

    ctx.sign_body = 1;
    zae_str_set(&req.payload, "Param1=value1");
    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    ok(strstr(t_cstr(&res2.signed_headers), "x-amz-content-sha256") != NULL,
       "sign_body adds x-amz-content-sha256");
    ctx.sign_body = 0;
    req.payload.len = 0;

    /* errors, without secrets in messages */

    ctx.creds = &creds;

    ctx.timestamp = -5;
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "bad timestamp refused");
    is_str(err.msg, "sigv4: invalid timestamp \"-5\"", "message");
    ctx.timestamp = 1440938160;

    zae_str_set(&ctx.region, "us/east");
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "region with / refused");
    zae_str_set(&ctx.region, "");
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "empty region refused");
    zae_str_set(&ctx.region, "us-east-1");

    ctx.creds = NULL;
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "no credentials refused");

    t_creds(&creds2, "AKID EXAMPLE", secret, NULL);
    ctx.creds = &creds2;
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "access key with a space refused");
    ok(strstr(err.msg, "EXAMPLE") == NULL, "access key not in message");

    t_creds(&creds2, "AKIDEXAMPLE", "", NULL);
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "empty secret refused");

    t_creds(&creds2, "AKIDEXAMPLE", secret, "SeCrEt\r\nX-Evil: 1");
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "token with CRLF refused");
    ok(strstr(err.msg, "SeCrEt") == NULL, "token not in message");

    ctx.creds = &creds;
    zae_str_set(&h[1].name, "X-Amz-Date");
    zae_str_set(&h[1].value, "20000101T000000Z");
    req.nheaders = 2;
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "caller's x-amz-date refused");
    is_str(err.msg, "sigv4: header \"X-Amz-Date\" is set by the signer",
           "message");
    req.nheaders = 1;

    zae_str_set(&req.method, "GE T");
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_ERROR,
           "bad method refused");
    zae_str_set(&req.method, "GET");

    zae_str_set(&req.payload_hash, "UNSIGNED-PAYLOAD");
    is_int(zae_sigv4_sign(&mem, &ctx, &req, &res2, &err), ZAE_OK,
           "explicit payload hash");
    ok(res2.canonical_request.len > 16
       && memcmp(res2.canonical_request.data + res2.canonical_request.len
                 - 16, "UNSIGNED-PAYLOAD", 16) == 0,
       "explicit payload hash ends the canonical request");
    req.payload_hash.len = 0;

    /* stages out of order */

    memset(&res2, 0, sizeof(res2));
    is_int(zae_sigv4_string_to_sign(&mem, &ctx, &res2, &err), ZAE_ERROR,
           "string to sign without canonical request");
    is_int(zae_sigv4_signature(&ctx, &res2, &err), ZAE_ERROR,
           "signature without string to sign");

    /* the DynamoDB helper */

    zae_sigv4_cache_init(&cache);
    t_creds(&creds, "AKIDEXAMPLE", secret, NULL);
    zae_str_set(&s1, "us-east-1");
    zae_str_set(&s2, "dynamodb.us-east-1.amazonaws.com");
    zae_str_set(&s3, "DynamoDB_20120810.GetItem");
    zae_str_set(&s4, "{\"TableName\":\"t\"}");

    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &s1, &s2, &s3, &s4,
                                 1440938160, &d1, &a1, &err);
    is_int(rc, ZAE_OK, "sign_dynamodb");
    is_str(t_cstr(&d1), "20150830T123600Z", "x-amz-date value");
    ok(a1.len > 100
       && strncmp((char *) a1.data, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"
                  "/20150830/us-east-1/dynamodb/aws4_request, SignedHeaders="
                  "content-type;host;x-amz-date;x-amz-target, Signature=",
                  149) == 0,
       "authorization prefix and signed headers");
    ok(strstr(t_cstr(&a1), secret) == NULL, "secret not in authorization");

    /* same through the generic signer */

    zae_str_set(&h[0].name, "Content-Type");
    zae_str_set(&h[0].value, ZAE_DYNAMODB_CONTENT_TYPE);
    zae_str_set(&h[1].name, "Host");
    h[1].value = s2;
    zae_str_set(&h[2].name, "X-Amz-Target");
    h[2].value = s3;

    memset(&req, 0, sizeof(req));
    zae_str_set(&req.method, "POST");
    zae_str_set(&req.path, "/");
    req.headers = h;
    req.nheaders = 3;
    req.payload = s4;
    req.normalize = 1;

    ctx.creds = &creds;
    zae_str_set(&ctx.service, "dynamodb");
    ctx.timestamp = 1440938160;
    ctx.cache = NULL;

    rc = zae_sigv4_sign(&mem, &ctx, &req, &res2, &err);
    is_str(t_cstr(&res2.authorization), t_cstr(&a1),
           "helper equals the generic signer");

    t_creds(&creds, "AKIDEXAMPLE", secret, "SESSION");
    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &s1, &s2, &s3, &s4,
                                 1440938160, &d2, &a2, &err);
    ok(rc == ZAE_OK && strstr(t_cstr(&a2), "x-amz-date;x-amz-security-token;"
                              "x-amz-target") != NULL,
       "sign_dynamodb signs the session token");
    want = t_cstr(&a2);

    zae_str_set(&s2, "bad host/x");
    rc = zae_sigv4_sign_dynamodb(&mem, &creds, &cache, &s1, &s2, &s3, &s4,
                                 1440938160, &d2, &a2, &err);
    is_int(rc, ZAE_ERROR, "bad host refused");

    zae_sigv4_cache_wipe(&cache);

    /* out of memory: every allocation checked */

    failures = 0;
    successes = 0;

    for (n = 0; n < 8192; n += 61) {
        zae_arena_init(&small, n);
        smem = zae_arena_mem(&small);

        zae_str_set(&s2, "dynamodb.us-east-1.amazonaws.com");

        rc = zae_sigv4_sign_dynamodb(&smem, &creds, NULL, &s1, &s2, &s3, &s4,
                                     1440938160, &d2, &a2, &err);

        if (rc == ZAE_OK) {
            successes++;

            if (strcmp(t_cstr(&a2), want) != 0) {
                failures++;
            }

        } else if (strstr(err.msg, "out of memory") == NULL) {
            failures++;
        }

        zae_arena_free(&small);
    }

    is_int(failures, 0, "limited memory: clean errors or the right result");
    ok(successes > 0, "limited memory: succeeds with enough (%d)", successes);

    zae_arena_free(&arena);

    return tap_done();
}
