
/*
 * Copyright (C) zae-limit authors
 *
 * sign_bench: the per-request CPU of the module's DynamoDB client outside
 * the network: signs N DynamoDB UpdateItem-like requests (a body of
 * about 500 bytes, one key cache, as a worker does) and checks the
 * x-amz-crc32 of N response bodies of about 700 bytes.  Prints the
 * OpenSSL heap allocations (CRYPTO_malloc and friends) made per
 * signature in the steady state, i.e. after the first signature.
 *
 *   sign_bench [N]                          N defaults to 10000
 *
 * Meant to run under callgrind (docs/benchmarks.md):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *       build/bench/sign_bench
 *   callgrind_annotate --inclusive=yes --tree=caller cg.out \
 *       | grep -E 'sign_bench_(sign|crc)|CRYPTO_malloc'
 *
 * the inclusive cost of sign_bench_sign and sign_bench_crc divided by N
 * is the cost of one signature and one CRC check.
 */


#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "zae_core.h"
#include "zae_creds.h"
#include "zae_http.h"
#include "zae_sigv4.h"


static unsigned long  sign_bench_mallocs;


static void *
sign_bench_malloc(size_t n, const char *file, int line)
{
    sign_bench_mallocs++;
    return malloc(n);
}


static void *
sign_bench_realloc(void *p, size_t n, const char *file, int line)
{
    sign_bench_mallocs++;
    return realloc(p, n);
}


static void
sign_bench_free(void *p, const char *file, int line)
{
    free(p);
}


/* one signature with a fresh arena, as one request's pool */

static __attribute__((noinline)) int
sign_bench_sign(const zae_aws_creds_t *creds, zae_sigv4_cache_t *cache,
    const zae_str_t *body, int64_t now, zae_str_t *auth)
{
    int          rc;
    zae_err_t    err;
    zae_str_t    region, host, target, date;
    zae_mem_t    mem;
    zae_arena_t  arena;

    zae_str_set(&region, "us-east-1");
    zae_str_set(&host, "dynamodb.us-east-1.amazonaws.com");
    zae_str_set(&target, "DynamoDB_20120810.UpdateItem");

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    rc = zae_sigv4_sign_dynamodb(&mem, creds, cache, &region, &host, &target,
                                 body, now, &date, auth, &err);

    if (rc == ZAE_OK) {
        /* the signature's last byte, to compare runs */
        auth->data = (u_char *) (uintptr_t) auth->data[auth->len - 1];
    }

    zae_arena_free(&arena);

    return rc;
}


static __attribute__((noinline)) int
sign_bench_crc(zae_http_resp_t *r)
{
    zae_err_t  err;

    return zae_http_resp_check_crc32(r, &err);
}


int
main(int argc, char **argv)
{
    int               n, i;
    char              body[1024], hdr[128];
    size_t            used;
    int64_t           now;
    uint32_t          x;
    zae_err_t         err;
    zae_str_t         sbody, auth;
    zae_mem_t         mem;
    zae_arena_t       arena;
    unsigned long     first, steady;
    zae_aws_creds_t   creds;
    zae_sigv4_cache_t cache;
    static u_char     resp[1024], text[700];
    static zae_http_resp_t  r;

    if (CRYPTO_set_mem_functions(sign_bench_malloc, sign_bench_realloc,
                                 sign_bench_free)
        != 1)
    {
        fprintf(stderr, "sign_bench: CRYPTO_set_mem_functions failed\n");
        return 1;
    }

    n = (argc > 1) ? atoi(argv[1]) : 10000;

    if (n < 1) {
        fprintf(stderr, "usage: sign_bench [N]\n");
        return 1;
    }

    /* a speculative conditional UpdateItem, about 500 bytes */

    i = snprintf(body, sizeof(body),
        "{\"TableName\":\"zae_limits\",\"Key\":{\"PK\":{\"S\":\"default/"
        "ENTITY#user-0001234\"},\"SK\":{\"S\":\"#BUCKET#gpt-4#rpm\"}},"
        "\"UpdateExpression\":\"SET #t = :now, #ttl = :ttl ADD #tk :d, "
        "#c :one\",\"ConditionExpression\":\"attribute_exists(PK) AND "
        "#tk >= :need\",\"ExpressionAttributeNames\":{\"#t\":\"rf\","
        "\"#ttl\":\"ttl\",\"#tk\":\"b_rpm_tk\",\"#c\":\"b_rpm_tc\"},"
        "\"ExpressionAttributeValues\":{\":now\":{\"N\":\"1764020000123\"},"
        "\":ttl\":{\"N\":\"1764106400\"},\":d\":{\"N\":\"-1000\"},"
        "\":one\":{\"N\":\"1\"},\":need\":{\"N\":\"1000\"}},"
        "\"ReturnValues\":\"ALL_NEW\",\"ReturnConsumedCapacity\":"
        "\"NONE\"}");

    sbody.data = (u_char *) body;
    sbody.len = i;

    memset(&creds, 0, sizeof(zae_aws_creds_t));
    zae_str_set(&creds.access_key, "AKIDEXAMPLE");
    zae_str_set(&creds.secret_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

    zae_sigv4_cache_init(&cache);

    now = 1764061200;                       /* 2025-11-25T09:00:00Z */

    /* the first signature derives the key and sets things up */

    sign_bench_mallocs = 0;

    if (sign_bench_sign(&creds, &cache, &sbody, now, &auth) != ZAE_OK) {
        fprintf(stderr, "sign_bench: signing failed\n");
        return 1;
    }

    first = sign_bench_mallocs;
    sign_bench_mallocs = 0;
    x = 0;

    for (i = 1; i < n; i++) {
        /* one request a millisecond, within one day: the cached key */
        if (sign_bench_sign(&creds, &cache, &sbody, now + i / 1000, &auth)
            != ZAE_OK)
        {
            fprintf(stderr, "sign_bench: signing failed\n");
            return 1;
        }

        x = x * 31 + (uint32_t) (uintptr_t) auth.data;
    }

    steady = sign_bench_mallocs;

    /* a response of about 700 bytes with its x-amz-crc32 */

    for (i = 0; i < (int) sizeof(text); i++) {
        text[i] = "abcdefghijklmnopqrstuvwxyz{}\":,0123456789"[i % 41];
    }

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);
    zae_http_resp_init(&r, &mem, 0, 0);

    snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
             "x-amz-crc32: %u\r\n\r\n", (int) sizeof(text),
             (unsigned) zae_http_crc32(text, sizeof(text)));

    used = strlen(hdr);
    memcpy(resp, hdr, used);
    memcpy(resp + used, text, sizeof(text));

    if (zae_http_resp_parse(&r, resp, used + sizeof(text), &used, &err)
        != ZAE_OK)
    {
        fprintf(stderr, "sign_bench: response: %s\n", err.msg);
        return 1;
    }

    for (i = 0; i < n; i++) {
        if (sign_bench_crc(&r) != ZAE_OK) {
            fprintf(stderr, "sign_bench: crc mismatch\n");
            return 1;
        }
    }

    zae_arena_free(&arena);
    zae_sigv4_cache_wipe(&cache);

    printf("signatures: %d, body %d bytes, checksum %08x\n", n,
           (int) sbody.len, (unsigned) x);
    printf("openssl allocations: first signature %lu, then %.2f per "
           "signature\n", first, n > 1 ? (double) steady / (n - 1) : 0.0);
    printf("crc checks: %d, body %d bytes\n", n, (int) sizeof(text));

    return 0;
}
