
/*
 * Copyright (C) zae-limit authors
 *
 * spec_decode: decodes the fast path's answer N times, for callgrind:
 *
 *   spec_decode stream|tree ok|ccf [N]
 *
 * "stream" is zae_proto_spec_decode() (the module's), "tree" the general
 * path zae_proto_spec_decode_tree(); "ok" is the 200 ALL_NEW answer of a
 * bucket with one app limit (rpm) and wcu, "ccf" the ConditionalCheck-
 * Failed answer with that bucket as ALL_OLD (rpm short: a fast reject).
 * Memory comes from a bump allocator reset for each decode, as an nginx
 * pool would serve it; the bytes and allocations per decode are
 * printed.  Count the instructions of the decode alone with
 *
 *   valgrind --tool=callgrind --toggle-collect='zae_proto_spec_decode*' \
 *       build/bench/spec_decode stream ok 10000
 *
 * Build it against a tree without zae_proto_spec_decode_tree() with
 * -DSPEC_DECODE_TREE=zae_proto_spec_decode.
 */


#include <stdio.h>
#include <stdlib.h>

#include "zae_core.h"
#include "zae_proto.h"


#ifndef SPEC_DECODE_TREE
#define SPEC_DECODE_TREE  zae_proto_spec_decode_tree
#endif


#define ITEM                                                                 \
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/BUCKET#key-1#gpt-4#0\"},"                  \
    "\"SK\":{\"S\":\"#STATE\"},\"entity_id\":{\"S\":\"key-1\"},"             \
    "\"resource\":{\"S\":\"gpt-4\"},\"rf\":{\"N\":\"1795444651132\"},"       \
    "\"cascade\":{\"BOOL\":false},\"shard_count\":{\"N\":\"1\"},"            \
    "\"b_rpm_tk\":{\"N\":\"" TK "\"},\"b_rpm_cp\":{\"N\":\"20000\"},"        \
    "\"b_rpm_ra\":{\"N\":\"20000\"},\"b_rpm_rp\":{\"N\":\"60000\"},"         \
    "\"b_rpm_tc\":{\"N\":\"2000\"},"                                         \
    "\"b_wcu_tk\":{\"N\":\"999000\"},\"b_wcu_cp\":{\"N\":\"1000000\"},"      \
    "\"b_wcu_ra\":{\"N\":\"1000000\"},\"b_wcu_rp\":{\"N\":\"1000\"},"        \
    "\"b_wcu_tc\":{\"N\":\"1000\"},"                                         \
    "\"GSI2PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"},"                     \
    "\"GSI2SK\":{\"S\":\"BUCKET#key-1#0\"},"                                 \
    "\"GSI3PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},"                       \
    "\"GSI3SK\":{\"S\":\"BUCKET#gpt-4#0\"},"                                 \
    "\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"                                    \
    "\"GSI4SK\":{\"S\":\"BUCKET#key-1#gpt-4#0\"}}"

#define TK  "18000"
static const char  ok_body[] = "{\"Attributes\":" ITEM "}";
#undef TK

#define TK  "0"
static const char  ccf_body[] =
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
    "ConditionalCheckFailedException\","
    "\"message\":\"The conditional request failed\",\"Item\":" ITEM "}";
#undef TK


#define BUMP_SIZE  (1024 * 1024)

typedef struct {
    u_char   *data;
    size_t    used;
    size_t    nallocs;
} bump_t;


static void *
bump_alloc(void *ctx, size_t size)
{
    u_char  *p;
    bump_t  *b = ctx;

    size = (size + 15) & ~(size_t) 15;

    if (size > BUMP_SIZE - b->used) {
        return NULL;
    }

    p = b->data + b->used;
    b->used += size;
    b->nallocs++;

    return p;
}


int
main(int argc, char **argv)
{
    int                   tree, rc;
    long                  i, n;
    size_t                bytes, nallocs;
    bump_t                bump;
    zae_err_t             err;
    zae_mem_t             mem;
    zae_amount_t          consume;
    zae_spec_result_t     res;
    zae_ddb_http_resp_t   resp;

    if (argc < 3) {
        fprintf(stderr, "usage: spec_decode stream|tree ok|ccf [N]\n");
        return 2;
    }

    tree = (strcmp(argv[1], "tree") == 0);
    n = argc > 3 ? atol(argv[3]) : 10000;

    memset(&resp, 0, sizeof(zae_ddb_http_resp_t));

    if (strcmp(argv[2], "ccf") == 0) {
        resp.status = 400;
        resp.body.data = (u_char *) ccf_body;
        resp.body.len = sizeof(ccf_body) - 1;

    } else {
        resp.status = 200;
        resp.body.data = (u_char *) ok_body;
        resp.body.len = sizeof(ok_body) - 1;
    }

    zae_str_set(&consume.name, "rpm");
    consume.amount = 1;

    bump.data = malloc(BUMP_SIZE);
    if (bump.data == NULL) {
        return 1;
    }

    mem.alloc = bump_alloc;
    mem.ctx = &bump;

    bytes = 0;
    nallocs = 0;

    for (i = 0; i < n; i++) {
        bump.used = 0;
        bump.nallocs = 0;

        rc = tree ? SPEC_DECODE_TREE(&mem, &consume, 1, 1795444651132LL,
                                     &resp, &res, &err)
                  : zae_proto_spec_decode(&mem, &consume, 1,
                                          1795444651132LL, &resp, &res,
                                          &err);

        if (rc != ZAE_OK
            || res.decision != (resp.status == 200 ? ZAE_SPEC_OK
                                                   : ZAE_SPEC_REJECT))
        {
            fprintf(stderr, "spec_decode: unexpected decision %d: %s\n",
                    (int) res.decision, res.error.err.msg);
            return 1;
        }

        bytes += bump.used;
        nallocs += bump.nallocs;
    }

    printf("%s %s: %ld decodes, body %zu bytes, %zu bytes and %zu "
           "allocations per decode\n", argv[1], argv[2], n, resp.body.len,
           bytes / (size_t) n, nallocs / (size_t) n);

    return 0;
}
