
/*
 * Copyright (C) zae-limit authors
 *
 * spec_body: prints the body of the speculative conditional UpdateItem
 * the module sends on its fast path, built by zae_proto_spec_request()
 * itself, so that the benchmark can send the very same request to
 * DynamoDB Local straight from wrk.
 *
 *   spec_body [-r COUNT] TABLE NSID ENTITY RESOURCE NAME:AMOUNT
 *       [NAME:AMOUNT...]
 *
 * The ttl clause is computed for the current time.
 *
 * With -r the body is built COUNT times, each on a fresh bump allocator
 * (as an nginx request pool would serve it), and printed once: the
 * instruction count of the builder alone is then
 *
 *   valgrind --tool=callgrind --toggle-collect=zae_proto_spec_request \
 *       build/bench/spec_body -r 10000 zae-limiter ns key-1 gpt-4 rpm:1
 *
 * divided by COUNT (t/bench/spec_callgrind.sh does that).
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "zae_core.h"
#include "zae_proto.h"


#define SPEC_BODY_MAX_LIMITS  16
#define SPEC_BODY_POOL_SIZE   (64 * 1024)


/* a bump allocator over one block, reset before each build */

typedef struct {
    u_char            *start;
    u_char            *pos;
    u_char            *end;
} spec_body_pool_t;


static void *
spec_body_alloc(void *ctx, size_t size)
{
    u_char            *p;
    spec_body_pool_t  *pool = ctx;

    size = (size + 15) & ~((size_t) 15);

    if (size > (size_t) (pool->end - pool->pos)) {
        return NULL;
    }

    p = pool->pos;
    pool->pos += size;

    return p;
}


static void
spec_body_str(zae_str_t *s, char *text)
{
    s->len = strlen(text);
    s->data = (u_char *) text;
}


static int
spec_body_amount(zae_amount_t *a, char *arg)
{
    char       *colon, *end;
    long long   v;

    colon = strrchr(arg, ':');
    if (colon == NULL || colon == arg || colon[1] == '\0') {
        fprintf(stderr, "spec_body: invalid amount \"%s\"\n", arg);
        return -1;
    }

    errno = 0;
    v = strtoll(colon + 1, &end, 10);

    if (errno != 0 || *end != '\0' || v <= 0) {
        fprintf(stderr, "spec_body: invalid amount \"%s\"\n", arg);
        return -1;
    }

    a->name.len = colon - arg;
    a->name.data = (u_char *) arg;
    a->amount = v;

    return 0;
}


int
main(int argc, char **argv)
{
    int               i, rc, first;
    long              count, k;
    char             *end;
    size_t            n;
    int64_t           now_ms;
    zae_buf_t         b;
    zae_err_t         err;
    zae_mem_t         mem;
    zae_amount_t      consume[SPEC_BODY_MAX_LIMITS];
    struct timeval    tv;
    spec_body_pool_t  pool;
    zae_bucket_ref_t  ref;

    count = 1;
    first = 1;

    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        errno = 0;
        count = strtol(argv[2], &end, 10);

        if (errno != 0 || *end != '\0' || count < 1) {
            fprintf(stderr, "spec_body: invalid count \"%s\"\n", argv[2]);
            return 2;
        }

        first = 3;
    }

    if (argc - first < 5 || argc - first - 4 > SPEC_BODY_MAX_LIMITS) {
        fprintf(stderr, "usage: spec_body [-r COUNT] TABLE NSID ENTITY "
                "RESOURCE NAME:AMOUNT [NAME:AMOUNT...]\n");
        return 2;
    }

    spec_body_str(&ref.table, argv[first]);
    spec_body_str(&ref.ns, argv[first + 1]);
    spec_body_str(&ref.entity_id, argv[first + 2]);
    spec_body_str(&ref.resource, argv[first + 3]);
    ref.shard = 0;

    n = 0;

    for (i = first + 4; i < argc; i++) {
        if (spec_body_amount(&consume[n], argv[i]) != 0) {
            return 2;
        }

        n++;
    }

    if (gettimeofday(&tv, NULL) != 0) {
        perror("spec_body: gettimeofday");
        return 1;
    }

    now_ms = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

    pool.start = malloc(SPEC_BODY_POOL_SIZE);
    if (pool.start == NULL) {
        perror("spec_body: malloc");
        return 1;
    }

    pool.end = pool.start + SPEC_BODY_POOL_SIZE;
    mem.alloc = spec_body_alloc;
    mem.ctx = &pool;

    rc = ZAE_OK;

    for (k = 0; k < count && rc == ZAE_OK; k++) {
        pool.pos = pool.start;
        zae_buf_init(&b, &mem, 0);

        rc = zae_proto_spec_request(&b, &ref, consume, n, now_ms, &err);
    }

    if (rc != ZAE_OK || b.failed) {
        fprintf(stderr, "spec_body: %s\n",
                rc != ZAE_OK ? err.msg : "out of memory");
        free(pool.start);
        return 1;
    }

    rc = (fwrite(b.data, 1, b.len, stdout) == b.len
          && fflush(stdout) == 0) ? 0 : 1;

    free(pool.start);

    return rc;
}
