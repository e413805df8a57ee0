
/*
 * Copyright (C) zae-limit authors
 *
 * Fuzzes the response side of zae_ddb and zae_json: the bounded JSON
 * decoder, typed items (with a round-trip check), zae_ddb_decode() with
 * its CRC32 and error classes, and every result reader.
 *
 * Input: byte 0 picks the HTTP status, byte 1 the headers and the
 * reader, the rest is the body.
 */


#include <stdlib.h>
#include <stdio.h>

#include "zae_core.h"
#include "zae_json.h"
#include "zae_ddb.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const unsigned  statuses[] = {
    200, 200, 200, 200, 400, 400, 413, 500, 502, 503, 0, 999
};


static void
check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_ddb_response: %s\n", what);
        abort();
    }
}


static void
round_trip(zae_mem_t *mem, const u_char *p, size_t len)
{
    zae_av_t   *item, *again, *root, *root2;
    zae_buf_t   b;
    zae_err_t   err;

    /* a typed item must survive encode + decode unchanged */

    if (zae_item_parse(mem, p, len, &item, &err) == ZAE_OK) {
        zae_buf_init(&b, mem, 0);

        if (zae_item_encode(&b, item) == ZAE_OK) {
            check(zae_item_parse(mem, b.data, b.len, &again, &err)
                  == ZAE_OK, "re-encoded item does not parse");
            check(zae_av_equal(item, again), "item round trip differs");
            check(zae_av_equal(item, zae_av_copy(mem, item)),
                  "copy differs");
        }
    }

    /* plain JSON too */

    if (zae_json_parse(mem, p, len, NULL, &root, &err) == ZAE_OK) {
        zae_buf_init(&b, mem, 0);

        if (zae_json_encode(&b, root) == ZAE_OK) {
            check(zae_json_parse(mem, b.data, b.len, NULL, &root2, &err)
                  == ZAE_OK, "re-encoded json does not parse");
            check(zae_av_equal(root, root2), "json round trip differs");
        }
    }
}


static void
read_result(zae_mem_t *mem, zae_av_t *root, unsigned which)
{
    zae_av_t                    *item;
    zae_str_t                    s;
    zae_err_t                    err;
    zae_buf_t                    b;
    zae_ddb_page_t               page;
    zae_ddb_table_t              t;
    zae_ddb_stream_t             st;
    zae_ddb_records_t            recs;
    zae_ddb_batch_get_result_t   bgr;

    switch (which % 9) {

    case 0:
        (void) zae_ddb_result_item(root, "Item", &item, &err);
        break;

    case 1:
        (void) zae_ddb_result_item(root, "Attributes", &item, &err);
        break;

    case 2:
        if (zae_ddb_result_page(root, &page, &err) == ZAE_OK
            && page.last_key)
        {
            zae_buf_init(&b, mem, 0);
            check(zae_item_encode(&b, page.last_key) == ZAE_OK,
                  "LastEvaluatedKey does not encode");
        }

        break;

    case 3:
        if (zae_ddb_result_batch_get(root, &bgr, &err) == ZAE_OK
            && bgr.unprocessed)
        {
            zae_buf_init(&b, mem, 0);
            (void) zae_ddb_request_items_json(&b, bgr.unprocessed);

            s.data = (u_char *) "t";
            s.len = 1;
            (void) zae_ddb_batch_get_items(&bgr, &s);
        }

        break;

    case 4:
        (void) zae_ddb_result_batch_write(root, &item, &err);
        break;

    case 5:
        (void) zae_ddb_result_table(root, &t, &err);
        break;

    case 6:
        (void) zae_ddb_result_stream(mem, root, &st, &err);
        break;

    case 7:
        (void) zae_ddb_result_shard_iterator(root, &s, &err);
        break;

    default:
        (void) zae_ddb_result_records(mem, root, &recs, &err);
        break;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  crc[16];
    zae_av_t             *root;
    zae_mem_t             mem;
    zae_arena_t           arena;
    zae_ddb_error_t       e;
    zae_json_limits_t     lim;
    zae_ddb_http_resp_t   r;

    if (size < 2) {
        return 0;
    }

    zae_arena_init(&arena, 256 * 1024 * 1024);
    mem = zae_arena_mem(&arena);

    memset(&r, 0, sizeof(zae_ddb_http_resp_t));
    r.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    r.body.data = (u_char *) data + 2;
    r.body.len = size - 2;

    if (data[1] & 0x01) {
        /* a matching x-amz-crc32 */
        (void) snprintf(crc, sizeof(crc), "%u",
                        zae_crc32(r.body.data, r.body.len));
        r.crc32.data = (u_char *) crc;
        r.crc32.len = strlen(crc);

    } else if (data[1] & 0x02) {
        r.crc32.data = (u_char *) "12345";
        r.crc32.len = 5;
    }

    if (data[1] & 0x04) {
        r.error_type.data = (u_char *) "ThrottlingException:http://x/";
        r.error_type.len = 29;
    }

    if (zae_ddb_decode(&mem, &r, &root, &e) == ZAE_OK) {
        check(root != NULL && root->type == ZAE_AV_M, "ok without a root");
        read_result(&mem, root, data[1] >> 3);

    } else {
        check(e.cls != ZAE_DDB_ERR_NONE, "error without a class");
        check(memchr(e.err.msg, '\0', ZAE_ERR_LEN) != NULL,
              "error message not terminated");

        if (e.cls == ZAE_DDB_ERR_TXN_CANCELED) {
            check(e.nreasons == 0 || e.reasons != NULL, "reasons");
        }
    }

    round_trip(&mem, r.body.data, r.body.len);

    /* tight limits */

    memset(&lim, 0, sizeof(zae_json_limits_t));
    lim.max_depth = 3;
    lim.max_nodes = 16;
    lim.max_size = 64;
    (void) zae_json_parse(&mem, r.body.data, r.body.len, &lim, &root,
                          &e.err);

    zae_arena_free(&arena);

    /* a tiny arena: allocation failures must be clean */

    zae_arena_init(&arena, 4 * r.body.len + 32 * 1024
                           + (data[1] & 0xf0) * 16);
    mem = zae_arena_mem(&arena);
    (void) zae_ddb_decode(&mem, &r, &root, &e);
    zae_arena_free(&arena);

    return 0;
}
