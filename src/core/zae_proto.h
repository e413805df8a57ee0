
/*
 * Copyright (C) zae-limit authors
 *
 * The zae-limiter acquire protocol (docs/table-format.md 6) as pure
 * functions: build a DynamoDB request body into a zae_buf_t, decode a
 * response into a struct and a decision.  No I/O; the clock is passed
 * in (now_ms).  All memory comes from a zae_mem_t.
 *
 * Flow driven by the caller (the nginx module):
 *
 *   1. fast path: zae_proto_spec_request() on a shard, send UpdateItem,
 *      zae_proto_spec_decode() -> OK | BUCKET_MISSING | WCU_EXHAUSTED
 *      (send zae_proto_bump_shard_request(), then slow path) |
 *      SHARD_RETRY (another shard, at most 2 more) | LIMIT_ABSENT |
 *      REFILL_WOULD_HELP (slow path) | REJECT (429) | ERROR;
 *
 *   2. slow path: resolve limits (zae_schema.h), send
 *      zae_proto_read_request() (META + bucket shard 0 [+ the parent's
 *      bucket]), zae_proto_read_decode(), zae_proto_slow_compute() ->
 *      rejected (429) or a plan, zae_proto_write_request() (PutItem,
 *      UpdateItem or TransactWriteItems), zae_proto_write_decode():
 *      OK | CONFLICT (TransactionConflict: resend, sleeping 25, 50,
 *      100 ms) | CONDITION_FAILED -> zae_proto_retry_request(), and if
 *      that fails too, zae_proto_retry_reject() (429);
 *
 *   3. afterwards: zae_proto_adjust_request_once() (reconciliation,
 *      rollback and compensation: the amounts' sign says which).
 *
 * Cascade: the same builders applied to the parent's bucket.
 *
 * Our compatible fixes of upstream defects (docs/table-format.md 6
 * describes the writes as we make them):
 *
 *   - expression placeholders are indexed (#n0, :v0), so any valid limit
 *     name works (upstream breaks on '-' and '.');
 *
 *   - a limit that is resolved but absent from an existing bucket is
 *     initialised by the slow path's Normal write (SET of cp/ra/rp, ADD
 *     of tk = cp - consumed and tc = consumed, no floor clause), instead
 *     of failing for good (docs/table-format.md 6.4, 6.10);
 *
 *   - the hidden wcu limit is refilled lazily by slow-path Normal writes
 *     like any other limit (an ADD of its refill, no tc change), so that
 *     without an aggregator a bucket does not degrade into endless shard
 *     doubling (docs/table-format.md 6.8); a bucket without wcu fields
 *     gets them;
 *
 *   - a fast-path CCF with wcu short is WCU_EXHAUSTED (shard doubling)
 *     only when a refill of wcu since rf would not cover the write, i.e.
 *     when the bucket really sees more than 1000 writes/s; otherwise it
 *     is classified like an app-limit failure (REJECT if an app limit
 *     stays short, else REFILL_WOULD_HELP: the slow path refills wcu);
 *
 *   - the inline limits= list is the last fallback (zae_schema.h).
 */


#ifndef _ZAE_PROTO_H_INCLUDED_
#define _ZAE_PROTO_H_INCLUDED_


#include "zae_core.h"
#include "zae_json.h"
#include "zae_limit.h"
#include "zae_body.h"
#include "zae_ddb.h"
#include "zae_schema.h"


#define ZAE_PROTO_MAX_SHARD_RETRIES   2
#define ZAE_PROTO_MAX_CONFLICT_RETRIES 3
#define ZAE_PROTO_TTL_MULTIPLIER      7


/* one bucket: table, namespace id, entity, resource, shard */

typedef struct {
    zae_str_t          table;
    zae_str_t          ns;
    zae_str_t          entity_id;
    zae_str_t          resource;
    int64_t            shard;
} zae_bucket_ref_t;


/* a named amount of whole tokens (consume > 0; adjust: signed) */

typedef struct {
    zae_str_t          name;
    int64_t            amount;
} zae_amount_t;


/* the fast path: the speculative UpdateItem (docs/table-format.md 6.1) */

typedef enum {
    ZAE_SPEC_OK = 0,
    ZAE_SPEC_BUCKET_MISSING,
    ZAE_SPEC_WCU_EXHAUSTED,       /* bump shard_count, then slow path */
    ZAE_SPEC_SHARD_RETRY,         /* app limit short, shard_count > 1 */
    ZAE_SPEC_LIMIT_ABSENT,        /* slow path */
    ZAE_SPEC_REFILL_WOULD_HELP,   /* slow path */
    ZAE_SPEC_REJECT,              /* fast reject: 429 */
    ZAE_SPEC_EXPIRED,             /* the bucket's ttl passed: slow path */
    ZAE_SPEC_ERROR                /* see error (or a malformed answer) */
} zae_spec_decision_e;


typedef struct {
    zae_spec_decision_e   decision;
    zae_bucket_item_t     bucket;       /* ALL_NEW (OK), ALL_OLD (CCF) */
    zae_limit_status_t   *statuses;     /* REJECT: one per consume entry */
    size_t                nstatuses;
    int64_t               retry_ms;     /* REJECT: the primary's */
    zae_ddb_error_t       error;        /* ERROR, DECLINED */
    unsigned              has_bucket:1;
    unsigned              app_short:1;  /* an app limit was short too */
    unsigned              wcu_refill:1; /* wcu short, but a refill helps */
    unsigned              streamed:1;   /* zae_spec_stream() decoded it;
                                           error.item stays NULL then */
    unsigned              skimmed:1;    /* ... with its skim, not yajl */
} zae_spec_result_t;


/*
 * UpdateItem: ADD tk/tc per consume entry in order, then wcu; condition
 * attribute_exists(PK), tk >= n*1000 each, b_wcu_tk >= 1000 and the ttl
 * clause; ReturnValues ALL_NEW, ReturnValuesOnConditionCheckFailure
 * ALL_OLD.  "wcu" and empty names are refused (ZAE_ERROR, err set).
 */
int zae_proto_spec_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, zae_err_t *err);

/*
 * The same body, byte for byte, through the general builders (the
 * expression builder, the key tree, zae_ddb_update_item()), too slow
 * for every request: reference implementation, used by
 * t/unit/test_proto.c and t/fuzz/fuzz_spec.c, which compare the direct
 * writer above with it
 */
int zae_proto_spec_request_generic(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, zae_err_t *err);

/*
 * A lease refill: the generic body with the write's id as the slow
 * path's write carries it (SET attr = id, AND (attribute_not_exists(attr)
 * OR attr <> id)), so that an attempt applied whose answer was lost is
 * not applied again when sent again: its refusal's ALL_OLD image holds
 * the id, zae_proto_holds_id().  Refills are rare (one per k requests),
 * the general builders are fast enough.
 */
int zae_proto_refill_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, const zae_str_t *attr,
    const zae_str_t *id, zae_err_t *err);

/*
 * Decodes the answer (http status and body) of the request above and
 * decides.  Returns ZAE_OK with res->decision set; ZAE_ERROR (err set)
 * only on allocation failure.
 */
int zae_proto_spec_decode(zae_mem_t *mem, zae_amount_t *consume, size_t n,
    int64_t now_ms, const zae_ddb_http_resp_t *resp, zae_spec_result_t *res,
    zae_err_t *err);

/*
 * The same on the general path alone (zae_ddb_decode(), the attribute
 * tree, zae_bucket_item_decode()): what zae_proto_spec_decode() falls
 * back to, and its reference implementation, used by t/unit/test_proto.c
 * (spec_diff.h) and t/fuzz/fuzz_spec_decode.c
 */
int zae_proto_spec_decode_tree(zae_mem_t *mem, zae_amount_t *consume,
    size_t n, int64_t now_ms, const zae_ddb_http_resp_t *resp,
    zae_spec_result_t *res, zae_err_t *err);

/* UpdateItem SET shard_count = :new (2 * old) IF shard_count = :old, shard 0 */
int zae_proto_bump_shard_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    int64_t old_count);


/* the slow path (docs/table-format.md 6.3 to 6.5) */

#define ZAE_READ_META     0x01
#define ZAE_READ_BUCKET   0x02
#define ZAE_READ_PARENT   0x04


typedef struct {
    zae_entity_meta_t     meta;
    zae_bucket_item_t     bucket;
    zae_bucket_item_t     parent_bucket;
    zae_ddb_error_t       error;        /* ERROR, DECLINED */
    unsigned              has_meta:1;
    unsigned              has_bucket:1;
    unsigned              has_parent_bucket:1;
    unsigned              unprocessed:3;    /* ZAE_READ_* left unread:
                                               resend, or they look
                                               missing (a Create then
                                               fails, the retry path
                                               consumes) */
} zae_proto_read_t;


/*
 * BatchGetItem (eventually consistent) of META and bucket shard 0 of
 * ref's entity and/or the parent's bucket shard 0, per what.
 */
int zae_proto_read_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_str_t *parent, unsigned what);

/* ZAE_OK, ZAE_DECLINED (a DynamoDB error, see out->error), ZAE_ERROR */
int zae_proto_read_decode(zae_mem_t *mem, zae_bucket_ref_t *ref,
    zae_str_t *parent, unsigned what, const zae_ddb_http_resp_t *resp,
    zae_proto_read_t *out, zae_err_t *err);


/* the input of the compute step: one per entity, child first */

typedef struct {
    zae_str_t             entity_id;
    zae_str_t             resource;
    const zae_limits_t   *limits;      /* resolved */
    zae_level_e           source;      /* for the ttl policy */
    zae_bucket_item_t    *bucket;      /* shard 0; NULL: missing */
    zae_str_t             parent_id;   /* Create: from META; len 0: none */
    unsigned              cascade:1;   /* Create: from META */
} zae_proto_entity_t;


typedef enum {
    ZAE_WRITE_CREATE = 0,
    ZAE_WRITE_NORMAL
} zae_proto_write_e;


/* the numbers of one limit of one item (milli, ms) */

typedef struct {
    zae_str_t             name;
    int64_t               cp;
    int64_t               ra;
    int64_t               rp;
    int64_t               stored_tk;   /* 0 when is_new */
    int64_t               new_tk;      /* refilled minus consumed */
    int64_t               consumed;
    int64_t               refill_added;
    int64_t               tk_delta;    /* refill_added - consumed */
    int64_t               tc_delta;    /* consumed */
    int64_t               floor;       /* max(0, consumed - refill_added) */
    unsigned              is_new:1;    /* absent from an existing bucket */
} zae_proto_limit_t;


typedef struct {
    zae_proto_write_e     kind;
    zae_str_t             entity_id;
    zae_str_t             resource;
    zae_str_t             parent_id;
    int64_t               expected_rf;  /* NORMAL */
    int64_t               ttl;          /* when set_ttl */
    zae_proto_limit_t    *limits;
    size_t                nlimits;
    zae_proto_limit_t     wcu;          /* NORMAL: lazy refill (our fix) */
    unsigned              cascade:1;
    unsigned              set_ttl:1;
    unsigned              remove_ttl:1;
    unsigned              has_wcu:1;
} zae_proto_item_t;


typedef struct {
    zae_proto_item_t      items[2];     /* child, then parent */
    size_t                nitems;
    zae_limit_status_t   *statuses;     /* every resolved limit */
    size_t                nstatuses;
    int64_t               retry_ms;     /* rejected: the primary's */
    int64_t               now_ms;
    zae_str_t             once_attr;    /* the acquirer's id attribute */
    zae_str_t             once_id;      /* this write's id, or empty */
    unsigned              rejected:1;
} zae_proto_plan_t;


/*
 * Refill and try-consume every resolved limit of each entity with the
 * bucket's stored cp/ra/rp (absent limits and missing buckets from the
 * config at full capacity).  The same consume amounts apply to every
 * entity; a consume name that is not a resolved limit is ignored, as
 * upstream does.  Limits stored in the bucket but no longer resolved
 * are left alone.  ttl_multiplier <= 0 disables ttl.  ZAE_OK with
 * plan->rejected set or not; ZAE_ERROR (err set) on bad input or
 * allocation failure.
 */
int zae_proto_slow_compute(zae_mem_t *mem, zae_proto_entity_t *ents,
    size_t nents, zae_amount_t *consume, size_t n, int64_t now_ms,
    int64_t ttl_multiplier, zae_proto_plan_t *plan, zae_err_t *err);

/* PutItem / UpdateItem (one item) or TransactWriteItems (two); shard 0 */
int zae_proto_write_request(zae_buf_t *b, zae_str_t *table, zae_str_t *ns,
    zae_proto_plan_t *plan, zae_ddb_op_e *op);

/* the consumption-only retry after a condition failure */
int zae_proto_retry_request(zae_buf_t *b, zae_str_t *table, zae_str_t *ns,
    zae_proto_plan_t *plan, zae_ddb_op_e *op);

/* the 429 statuses after a failed retry: every entry exceeded */
int zae_proto_retry_reject(zae_proto_plan_t *plan);


typedef enum {
    ZAE_WRITE_OK = 0,
    ZAE_WRITE_CONDITION_FAILED,
    ZAE_WRITE_CONFLICT,
    ZAE_WRITE_ERROR
} zae_proto_write_result_e;


/* the answer of a write (PutItem, UpdateItem, TransactWriteItems) */
zae_proto_write_result_e zae_proto_write_decode(zae_mem_t *mem,
    const zae_ddb_http_resp_t *resp, zae_ddb_error_t *error);


/*
 * Unconditional UpdateItems: adjust ADDs tk -d*1000, tc +d*1000 for each
 * delta d != 0 (a rollback or compensation is the adjust by -consumed;
 * docs/table-format.md 6.6).  ZAE_DECLINED when nothing is to be
 * written.
 *
 * The adjust made idempotent for retries (our addition, wire-neutral for
 * Python readers, which only read b_* and l_* attributes): it also SETs
 * the write's id in the writer's own attribute ZAE_PROTO_WRITER_PREFIX +
 * writer (e.g. "zl_w_3f9a0c51d2e4"), under the condition that the
 * attribute does not hold that id already; a ConditionalCheckFailed
 * answer then means "this write was applied before".  One attribute per
 * writer, so that another writer's write in between does not erase the
 * id a retry is checked against (docs/table-format.md).
 */
#define ZAE_PROTO_WRITER_PREFIX   "zl_w_"
#define ZAE_PROTO_WRITER_MAX_LEN  32

int zae_proto_adjust_request_once(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *delta, size_t n, const zae_str_t *writer,
    const zae_str_t *write_id);

/*
 * The slow path's write made idempotent the same way (our addition):
 * with plan->once_id set, zae_proto_write_request() and
 * zae_proto_retry_request() put the id into the acquirer's attribute
 * plan->once_attr (ZAE_PROTO_ACQUIRER_PREFIX + writer; not the flush's
 * attribute, so that neither erases the other's id): a create carries
 * it in the item, an update SETs it under the condition that the item
 * does not hold it yet, a single write asks for the old item on a
 * condition failure, a transaction is sent with the id as its
 * ClientRequestToken (at most 36 characters).  A condition failure whose
 * old item holds the id, zae_proto_applied_before(), is an attempt of
 * this write applied before its answer was lost: the write is done.
 */
#define ZAE_PROTO_ACQUIRER_PREFIX  "zl_a_"

int zae_proto_applied_before(const zae_av_t *old, const zae_proto_plan_t *plan);

/* the same test for any write: the old item's attr (NUL-terminated) is id */
int zae_proto_holds_id(const zae_av_t *old, const zae_str_t *attr,
    const zae_str_t *id);


#endif /* _ZAE_PROTO_H_INCLUDED_ */
