
/*
 * Copyright (C) zae-limit authors
 *
 * A differential fuzz target of the LLM request reader: the body read
 * whole and read in pieces (the piece size from byte 0) must give the
 * same facts; when the stream_options patch applies, the patched body
 * must read as valid JSON asking for usage, with the same model,
 * limits and estimate input.
 *
 * Input: byte 0 the piece size (1 to 256), then the body.
 */


#include <stdlib.h>

#include "zae_core.h"
#include "zae_llm.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_read(zae_llm_request_t *r, const u_char *body, size_t len,
    size_t piece)
{
    size_t  i, n;

    zae_llm_request_init(r);

    for (i = 0; i < len; i += n) {
        n = (len - i < piece) ? len - i : piece;
        (void) zae_llm_request_feed(r, body + i, n);
    }

    (void) zae_llm_request_finish(r);
}


static int
fuzz_same(const zae_llm_request_t *a, const zae_llm_request_t *b)
{
    return a->model_len == b->model_len
           && memcmp(a->model, b->model, a->model_len) == 0
           && a->model_seen == b->model_seen
           && a->model_too_long == b->model_too_long
           && a->model_bad == b->model_bad && a->stream == b->stream
           && a->stream_options == b->stream_options
           && a->include_usage == b->include_usage
           && a->invalid == b->invalid && a->object == b->object
           && a->max_tokens == b->max_tokens && a->n == b->n
           && a->size == b->size && a->chars == b->chars
           && a->wide == b->wide && a->messages == b->messages
           && a->end_offset == b->end_offset
           && a->so_end_offset == b->so_end_offset
           && a->end_members == b->end_members
           && a->so_members == b->so_members;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              piece;
    zae_buf_t           out;
    zae_mem_t           mem;
    zae_arena_t         arena;
    zae_llm_request_t   whole, split, patched;

    if (size < 1 || size > 65536) {
        return 0;
    }

    piece = (size_t) data[0] + 1;
    data++;
    size--;

    fuzz_read(&whole, data, size, size ? size : 1);
    fuzz_read(&split, data, size, piece);

    if (!fuzz_same(&whole, &split)) {
        abort();
    }

    if (zae_llm_request_input_estimate(&whole) < 0
        || zae_llm_request_estimate(&whole, 4096) > ZAE_TOKENS_MAX
        || whole.max_tokens > ZAE_TOKENS_MAX || whole.n < 1
        || whole.model_len > ZAE_LLM_MODEL_LEN)
    {
        abort();
    }

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);
    zae_buf_init(&out, &mem, 0);

    if (zae_llm_request_add_usage(&out, data, size, &whole,
                                  ZAE_LLM_PATH_CHAT) == ZAE_OK)
    {
        fuzz_read(&patched, out.data, out.len, piece);

        if (patched.invalid || !patched.stream || !patched.include_usage
            || patched.model_len != whole.model_len
            || memcmp(patched.model, whole.model, whole.model_len) != 0
            || patched.max_tokens != whole.max_tokens
            || patched.n != whole.n || patched.chars != whole.chars
            || patched.messages != whole.messages)
        {
            abort();
        }
    }

    zae_arena_free(&arena);

    return 0;
}
