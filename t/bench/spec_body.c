
/*
 * Copyright (C) zae-limit authors
 *
 * spec_body: prints the body of the speculative conditional UpdateItem
 * the module sends on its fast path, built by zae_proto_spec_request()
 * itself, so that the benchmark can send the very same request to
 * DynamoDB Local straight from wrk.
 *
 *   spec_body TABLE NSID ENTITY RESOURCE NAME:AMOUNT [NAME:AMOUNT...]
 *
 * The ttl clause is computed for the current time.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "zae_core.h"
#include "zae_proto.h"


#define SPEC_BODY_MAX_LIMITS  16


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
    int               i, rc;
    size_t            n;
    int64_t           now_ms;
    zae_buf_t         b;
    zae_err_t         err;
    zae_mem_t         mem;
    zae_arena_t       arena;
    zae_amount_t      consume[SPEC_BODY_MAX_LIMITS];
    struct timeval    tv;
    zae_bucket_ref_t  ref;

    if (argc < 6 || argc - 5 > SPEC_BODY_MAX_LIMITS) {
        fprintf(stderr, "usage: spec_body TABLE NSID ENTITY RESOURCE "
                "NAME:AMOUNT [NAME:AMOUNT...]\n");
        return 2;
    }

    spec_body_str(&ref.table, argv[1]);
    spec_body_str(&ref.ns, argv[2]);
    spec_body_str(&ref.entity_id, argv[3]);
    spec_body_str(&ref.resource, argv[4]);
    ref.shard = 0;

    n = 0;

    for (i = 5; i < argc; i++) {
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

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);
    zae_buf_init(&b, &mem, 0);

    rc = zae_proto_spec_request(&b, &ref, consume, n, now_ms, &err);

    if (rc != ZAE_OK || b.failed) {
        fprintf(stderr, "spec_body: %s\n",
                rc != ZAE_OK ? err.msg : "out of memory");
        zae_arena_free(&arena);
        return 1;
    }

    rc = (fwrite(b.data, 1, b.len, stdout) == b.len
          && fflush(stdout) == 0) ? 0 : 1;

    zae_arena_free(&arena);

    return rc;
}
