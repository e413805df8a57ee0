
/*
 * Copyright (C) zae-limit authors
 *
 * The streaming decoder of the answer to the fast path's speculative
 * UpdateItem (docs/table-format.md 6.1): a skim of the usual JSON, or yajl
 * for the rest, feed callbacks that fill a zae_bucket_item_t straight
 * from the body, without an attribute-value tree, for the two answers
 * the fast path lives on:
 *
 *   200  {"Attributes":{...ALL_NEW...}}
 *   4xx  {"__type":"...#ConditionalCheckFailedException",
 *         "message":"...","Item":{...ALL_OLD...}}   (Item optional)
 *
 * It takes only what it decodes exactly as zae_ddb_decode() followed by
 * zae_bucket_item_decode() would: the same bucket fields, the same error
 * class, code, message and status.  Anything else is declined and the
 * caller decodes with that general path, which then gives the decision
 * and the error message it always gave: another error class, a crc32
 * mismatch, a body that is not JSON or is truncated, a duplicate key, an
 * invalid attribute value, a number that is not a strict int64, a
 * value of the wrong type, nested values (M, L, sets), unknown keys in
 * the envelope, a limit name over ZAE_NAME_MAX_LEN, more than
 * ZAE_SCHEMA_MAX_LIMITS limits, or memory running out.
 */


#ifndef _ZAE_SPEC_H_INCLUDED_
#define _ZAE_SPEC_H_INCLUDED_


#include "zae_core.h"
#include "zae_ddb.h"
#include "zae_schema.h"


/*
 * The readers of the body, bits of zae_spec_stream()'s readers: the skim
 * reads the usual answer's JSON (objects, strings of printable ASCII
 * without escapes, true, false, null) without yajl and declines the rest;
 * yajl reads any JSON.  Both feed the same decoder, so that what one
 * takes the other takes the same; the fast path tries the skim first.
 */
#define ZAE_SPEC_SKIM   0x01
#define ZAE_SPEC_YAJL   0x02


/*
 * ZAE_OK: e is what zae_ddb_decode() sets (cls ZAE_DDB_ERR_NONE for the
 * 200 answer, ZAE_DDB_ERR_CONDITIONAL for a condition failure, e->item
 * left NULL), *found tells whether bucket holds the item (ALL_NEW or
 * ALL_OLD; a 200 answer always has it) and *used the reader that took
 * the body.  ZAE_DECLINED: decode with the general path; bucket and e
 * hold garbage.
 */
int zae_spec_stream(zae_mem_t *mem, const zae_ddb_http_resp_t *resp,
    unsigned readers, zae_bucket_item_t *bucket, zae_ddb_error_t *e,
    unsigned *found, unsigned *used);


#endif /* _ZAE_SPEC_H_INCLUDED_ */
