
/*
 * Copyright (C) zae-limit authors
 *
 * A differential fuzz target of the LLM answer reader: the answer read
 * whole, read in pieces (the piece size from byte 0) and read through
 * gzip must give the same usage; every usage-only range reported for a
 * piece must lie in that piece, in order, and be one the whole read
 * reports too (an event inside a piece is inside the whole answer).
 * The reader's skim (its fast path) is checked against its reference
 * (the reader with the skim off), fed the same pieces: the same ranges
 * after each piece, the same usage at the end.
 *
 * Input: byte 0 the piece size (1 to 256), then the answer.
 */


#include <stdlib.h>
#include <zlib.h>

#include "zae_core.h"
#include "zae_llm.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FUZZ_DROPS  4096


static int
fuzz_same(const zae_llm_usage_t *a, const zae_llm_usage_t *b)
{
    return a->input == b->input && a->output == b->output
           && a->total == b->total && a->cached == b->cached
           && a->reasoning == b->reasoning
           && a->output_chars == b->output_chars && a->found == b->found
           && a->sse == b->sse && a->complete == b->complete;
}


static void
fuzz_check(const zae_llm_usage_t *u)
{
    if (u->input > ZAE_TOKENS_MAX || u->output > ZAE_TOKENS_MAX
        || u->total > ZAE_TOKENS_MAX || u->cached > ZAE_TOKENS_MAX
        || u->reasoning > ZAE_TOKENS_MAX || u->input < -1
        || u->output < -1 || u->total < -1 || u->cached < -1
        || u->reasoning < -1)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              piece, i, n, k, nwhole, at;
    uLongf              zlen;
    z_stream            z;
    zae_mem_t           mem;
    zae_arena_t         arena;
    zae_llm_usage_t     uw, us, uz, ur;
    zae_llm_range_t    *whole;
    zae_llm_answer_t    a, ref;
    zae_llm_inflate_t  *zi;
    u_char             *zbuf;

    if (size < 1 || size > 65536) {
        return 0;
    }

    piece = (size_t) data[0] + 1;
    data++;
    size--;

    whole = malloc(FUZZ_DROPS * sizeof(zae_llm_range_t));
    if (whole == NULL) {
        return 0;
    }

    /* whole: one piece, its ranges kept */

    zae_llm_answer_init(&a, 1);
    zae_llm_answer_feed(&a, data, size);
    nwhole = a.ndrops;
    memcpy(whole, a.drops, a.ndrops * sizeof(zae_llm_range_t));
    zae_llm_answer_finish(&a);
    zae_llm_answer_usage(&a, &uw);
    fuzz_check(&uw);

    /* in pieces */

    zae_llm_answer_init(&a, 1);
    zae_llm_answer_init(&ref, 1);
    ref.reference = 1;

    for (i = 0; i < size; i += n) {
        n = (size - i < piece) ? size - i : piece;
        zae_llm_answer_feed(&a, data + i, n);
        zae_llm_answer_feed(&ref, data + i, n);

        if (a.ndrops != ref.ndrops
            || memcmp(a.drops, ref.drops,
                      a.ndrops * sizeof(zae_llm_range_t)) != 0)
        {
            abort();
        }

        at = 0;

        for (k = 0; k < a.ndrops; k++) {
            if (a.drops[k].start < at || a.drops[k].start >= a.drops[k].end
                || a.drops[k].end > n)
            {
                abort();
            }

            at = a.drops[k].end;

            /* the whole read saw the same event, unless it had more
               usage-only events than it reports */

            if (nwhole < ZAE_LLM_DROPS_MAX) {
                size_t  m;

                for (m = 0; m < nwhole; m++) {
                    if (whole[m].start == i + a.drops[k].start
                        && (whole[m].end == i + a.drops[k].end
                            || whole[m].end == i + a.drops[k].end + 1))
                    {
                        break;
                    }
                }

                if (m == nwhole) {
                    abort();
                }
            }
        }
    }

    zae_llm_answer_finish(&a);
    zae_llm_answer_usage(&a, &us);

    if (!fuzz_same(&uw, &us)) {
        abort();
    }

    zae_llm_answer_finish(&ref);
    zae_llm_answer_usage(&ref, &ur);

    if (!fuzz_same(&us, &ur)) {
        abort();
    }

    /* through gzip */

    zlen = compressBound(size) + 64;
    zbuf = malloc(zlen);

    if (zbuf) {
        memset(&z, 0, sizeof(z));

        if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY) == Z_OK)
        {
            z.next_in = (Bytef *) data;
            z.avail_in = (uInt) size;
            z.next_out = zbuf;
            z.avail_out = (uInt) zlen;

            if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
                zae_arena_init(&arena, 0);
                mem = zae_arena_mem(&arena);

                zi = zae_llm_inflate_create(&mem, (u_char *) "gzip", 4);

                if (zi == NULL) {
                    abort();
                }

                zae_llm_answer_init(&a, 1);

                for (i = 0; i < z.total_out; i += n) {
                    n = (z.total_out - i < piece) ? z.total_out - i : piece;

                    if (zae_llm_inflate_feed(zi, &a, zbuf + i, n) != ZAE_OK
                        || a.ndrops != 0)
                    {
                        abort();
                    }
                }

                zae_llm_answer_finish(&a);
                zae_llm_answer_usage(&a, &uz);

                if (!fuzz_same(&uw, &uz)) {
                    abort();
                }

                zae_arena_free(&arena);
            }

            deflateEnd(&z);
        }

        free(zbuf);
    }

    free(whole);

    return 0;
}
