
/*
 * Copyright (C) zae-limit authors
 *
 * Fuzzes the decoding of the fast path's answer: the streaming decoder
 * (zae_proto_spec_decode()) must agree with the general path
 * (zae_proto_spec_decode_tree()) on every input, and what its skim takes
 * yajl must read the same (spec_diff_skim()), else abort.
 *
 * Input: byte 0 picks the HTTP status, byte 1 the headers and the
 * consume set, byte 2 the clock; the rest is the body.  An input of
 * 8 bytes starting with "GEN:" instead decodes the generated answer of
 * t/unit/spec_diff.h numbered by its last 4 bytes.
 */


#include <stdlib.h>
#include <stdio.h>

#include "zae_core.h"
#include "zae_proto.h"
#include "../unit/spec_diff.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const unsigned  statuses[] = {
    200, 200, 200, 200, 400, 400, 400, 400, 500, 413, 0, 999
};

static const char  *names[] = { "rpm", "tpm", "wcu", "a", "x_tk" };


static void
check(const char *diff, spec_diff_case_t *c)
{
    if (diff) {
        fprintf(stderr, "fuzz_spec_decode: %s differs (status %u): %.*s\n",
                diff, c->resp.status, (int) c->resp.body.len,
                (char *) c->resp.body.data);
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                streamed;
    size_t             i;
    uint32_t           seed;
    zae_buf_t          b;
    zae_mem_t          mem;
    zae_arena_t        arena;
    spec_diff_case_t   c;

    if (size < 3) {
        return 0;
    }

    zae_arena_init(&arena, 256 * 1024 * 1024);
    mem = zae_arena_mem(&arena);

    if (size == 8 && memcmp(data, "GEN:", 4) == 0) {
        memcpy(&seed, data + 4, 4);
        zae_buf_init(&b, &mem, 1024);
        spec_diff_gen(seed, &b, &c);
        check(spec_diff_run(&mem, &c, &streamed), &c);
        zae_arena_free(&arena);
        return 0;
    }

    memset(&c, 0, sizeof(spec_diff_case_t));

    c.resp.status = statuses[data[0] % (sizeof(statuses)
                                        / sizeof(statuses[0]))];
    c.resp.body.data = (u_char *) data + 3;
    c.resp.body.len = size - 3;

    if (data[1] & 0x01) {
        (void) snprintf(c.crc, sizeof(c.crc), "%u",
                        zae_crc32(c.resp.body.data, c.resp.body.len));
        c.resp.crc32.data = (u_char *) c.crc;
        c.resp.crc32.len = strlen(c.crc);

    } else if (data[1] & 0x02) {
        zae_str_set(&c.resp.crc32, "12345");
    }

    if (data[1] & 0x04) {
        zae_str_set(&c.resp.error_type,
                    "ConditionalCheckFailedException:http://x/");
    }

    c.n = 1 + ((data[1] >> 3) & 0x03);

    for (i = 0; i < c.n; i++) {
        c.consume[i].name.data = (u_char *) names[(i + (data[1] >> 5)) % 5];
        c.consume[i].name.len = strlen((char *) c.consume[i].name.data);
        c.consume[i].amount = (int64_t) ((data[2] >> i) & 0x0f) * 3;
    }

    c.now_ms = 1795444651132LL + ((int64_t) data[2] - 64) * 50;

    check(spec_diff_run(&mem, &c, &streamed), &c);

    zae_arena_free(&arena);

    /* a tight arena: allocation failures must be clean in both */

    zae_arena_init(&arena, 4 * c.resp.body.len + 32 * 1024
                           + (data[1] & 0xe0) * 64);
    mem = zae_arena_mem(&arena);
    (void) spec_diff_run(&mem, &c, &streamed);
    zae_arena_free(&arena);

    return 0;
}
