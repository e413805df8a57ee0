
/*
 * Copyright (C) zae-limit authors
 *
 * A differential fuzz target of the speculative UpdateItem body: the
 * direct writer zae_proto_spec_request() must give the result of the
 * general builders zae_proto_spec_request_generic(), and on success the
 * same bytes, whatever the strings, amounts, shard and clock.
 *
 * Input: byte 0 the number of limits (up to ZAE_SCHEMA_MAX_LIMITS + 1),
 * 8 bytes now_ms, 8 bytes shard, then per limit 8 bytes of amount (the
 * top bit of its first byte: the raw value, else modulo
 * ZAE_TOKENS_MAX + 1), then the strings table, ns, entity, resource and
 * the names, each a length byte (entity: two) and its bytes; what is
 * missing is empty.
 */


#include <stdlib.h>

#include "zae_core.h"
#include "zae_proto.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    const u_char  *pos;
    const u_char  *end;
} fuzz_in_t;


static uint64_t
fuzz_u64(fuzz_in_t *in)
{
    size_t    i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8 && in->pos < in->end; i++) {
        v = (v << 8) | *in->pos++;
    }

    return v;
}


static void
fuzz_str(fuzz_in_t *in, zae_str_t *s, int wide)
{
    size_t  len;

    len = in->pos < in->end ? *in->pos++ : 0;

    if (wide && in->pos < in->end) {
        len = (len << 8) | *in->pos++;
    }

    if (len > (size_t) (in->end - in->pos)) {
        len = (size_t) (in->end - in->pos);
    }

    s->data = (u_char *) in->pos;
    s->len = len;
    in->pos += len;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc1, rc2;
    size_t            i, n;
    int64_t           now_ms;
    uint64_t          v;
    fuzz_in_t         in;
    zae_buf_t         b1, b2;
    zae_err_t         err;
    zae_mem_t         mem;
    zae_arena_t       arena;
    zae_amount_t      consume[ZAE_SCHEMA_MAX_LIMITS + 1];
    zae_bucket_ref_t  ref;

    if (size > 16384) {
        return 0;
    }

    in.pos = data;
    in.end = data + size;

    n = in.pos < in.end ? *in.pos++ % (ZAE_SCHEMA_MAX_LIMITS + 2) : 1;
    now_ms = (int64_t) fuzz_u64(&in);
    ref.shard = (int64_t) fuzz_u64(&in);

    for (i = 0; i < n; i++) {
        v = fuzz_u64(&in);

        consume[i].amount = (v >> 63) ? (int64_t) v
                                      : (int64_t) (v % (ZAE_TOKENS_MAX + 1));
    }

    fuzz_str(&in, &ref.table, 0);
    fuzz_str(&in, &ref.ns, 0);
    fuzz_str(&in, &ref.entity_id, 1);
    fuzz_str(&in, &ref.resource, 0);

    for (i = 0; i < n; i++) {
        fuzz_str(&in, &consume[i].name, 0);
    }

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    zae_buf_init(&b1, &mem, 0);
    zae_buf_init(&b2, &mem, 0);

    rc1 = zae_proto_spec_request(&b1, &ref, consume, n, now_ms, &err);
    rc2 = zae_proto_spec_request_generic(&b2, &ref, consume, n, now_ms,
                                         &err);

    if (rc1 != rc2) {
        abort();
    }

    if (rc1 == ZAE_OK
        && (b1.failed || b2.failed || b1.len != b2.len
            || memcmp(b1.data, b2.data, b1.len + 1) != 0))
    {
        abort();
    }

    zae_arena_free(&arena);

    return 0;
}
