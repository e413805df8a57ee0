
/*
 * Copyright (C) zae-limit authors
 *
 * Fuzz target of the HTTP/1.1 response parser: the input is fed twice,
 * whole and in pieces whose sizes come from the first byte; both runs
 * must agree, and a completed response must respect the limits.
 */


#include <stdlib.h>

#include "zae_core.h"
#include "zae_http.h"


#define FUZZ_MAX_HEADER  1024
#define FUZZ_MAX_BODY    4096


static int
fuzz_run(const u_char *data, size_t len, size_t step, zae_http_resp_t *r,
    zae_mem_t *mem, size_t *total)
{
    int        rc;
    size_t     n, used;
    zae_err_t  err;

    zae_http_resp_init(r, mem, FUZZ_MAX_HEADER, FUZZ_MAX_BODY);

    rc = ZAE_AGAIN;
    *total = 0;

    while (*total < len) {
        n = len - *total < step ? len - *total : step;

        rc = zae_http_resp_parse(r, data + *total, n, &used, &err);
        *total += used;

        if (rc != ZAE_AGAIN) {
            break;
        }

        if (used != n) {
            abort();
        }
    }

    if (rc == ZAE_AGAIN) {
        rc = zae_http_resp_eof(r, &err);
    }

    if (rc == ZAE_OK) {
        if (r->body.len > FUZZ_MAX_BODY || r->status < 200
            || r->status > 599)
        {
            abort();
        }

        (void) zae_http_resp_check_crc32(r, &err);
    }

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc1, rc2;
    size_t            step, total1, total2;
    zae_mem_t         mem;
    zae_arena_t       arena;
    zae_http_resp_t  *r1, *r2;

    if (size == 0) {
        return 0;
    }

    step = data[0] % 16 + 1;
    data++;
    size--;

    zae_arena_init(&arena, 1024 * 1024);
    mem = zae_arena_mem(&arena);

    r1 = zae_arena_alloc(&arena, sizeof(zae_http_resp_t));
    r2 = zae_arena_alloc(&arena, sizeof(zae_http_resp_t));

    if (r1 == NULL || r2 == NULL) {
        abort();
    }

    rc1 = fuzz_run(data, size, size, r1, &mem, &total1);
    rc2 = fuzz_run(data, size, step, r2, &mem, &total2);

    if (rc1 != rc2) {
        abort();
    }

    if (rc1 == ZAE_OK) {
        if (total1 != total2
            || r1->status != r2->status
            || r1->close != r2->close
            || r1->body.len != r2->body.len
            || (r1->body.len
                && memcmp(r1->body.data, r2->body.data, r1->body.len) != 0))
        {
            abort();
        }
    }

    zae_arena_free(&arena);

    return 0;
}
