
/*
 * Copyright (C) zae-limit authors
 *
 * Request processing: the precontent-phase acquire (parked while
 * DynamoDB answers), the 429/503/400 answers, the rate limit response
 * headers, the log-phase reconciliation and rollback, and the worker
 * flush timer that writes the coalesced deltas.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_bucket.h"
#include "zae_body.h"
#include "zae_ddb.h"
#include "zae_schema.h"
#include "zae_proto.h"


typedef enum {
    NGX_HTTP_ZAE_LIMIT_STEP_NSID = 0,
    NGX_HTTP_ZAE_LIMIT_STEP_SPEC,
    NGX_HTTP_ZAE_LIMIT_STEP_BUMP,
    NGX_HTTP_ZAE_LIMIT_STEP_CONFIG,
    NGX_HTTP_ZAE_LIMIT_STEP_READ,
    NGX_HTTP_ZAE_LIMIT_STEP_WRITE,
    NGX_HTTP_ZAE_LIMIT_STEP_RETRY
} ngx_http_zae_limit_step_e;


/* the cached facts of an entity (from a bucket image or META) */

#define NGX_HTTP_ZAE_LIMIT_NSID_TTL      3600000


typedef struct {
    int64_t                          shard_count;
    u_char                           cascade;
    u_char                           single;      /* only shard 0 exists */
    u_short                          plen;
    u_char                           parent[ZAE_ENTITY_ID_MAX_LEN];
} ngx_http_zae_limit_entity_t;


/* a resolved limit list in the shared cache */

typedef struct {
    u_char                           len;
    u_char                           name[ZAE_NAME_MAX_LEN];
    int64_t                          capacity;
    int64_t                          refill_amount;
    int64_t                          period;
} ngx_http_zae_limit_climit_t;


typedef struct {
    u_char                           source;
    u_char                           on_unavailable;
    u_char                           n;
    ngx_http_zae_limit_climit_t      l[ZAE_LIMITS_MAX];
} ngx_http_zae_limit_config_t;


/* a rejection: the bucket as DynamoDB last showed it */

typedef struct {
    u_char                           len;
    u_char                           name[ZAE_NAME_MAX_LEN];
    int64_t                          tk;
    int64_t                          cp;
    int64_t                          ra;
    int64_t                          rp;
} ngx_http_zae_limit_rlimit_t;


typedef struct {
    int64_t                          rf;
    u_char                           n;
    ngx_http_zae_limit_rlimit_t      l[ZAE_LIMITS_MAX];
} ngx_http_zae_limit_reject_t;


/*
 * a config or a rejection takes the zone's memory of the limits it has,
 * n of its array l[], no more
 */

#define ngx_http_zae_limit_size(type, n)                                     \
    (offsetof(type, l) + (n) * sizeof(((type *) 0)->l[0]))

#define ngx_http_zae_limit_config_size(n)                                    \
    ngx_http_zae_limit_size(ngx_http_zae_limit_config_t, n)

#define ngx_http_zae_limit_reject_size(n)                                    \
    ngx_http_zae_limit_size(ngx_http_zae_limit_reject_t, n)


/* response header values: one per limit */

typedef struct {
    zae_str_t                        name;
    int64_t                          capacity;    /* tokens */
    int64_t                          remaining;   /* tokens, >= 0 */
    int64_t                          window;      /* seconds */
    int64_t                          reset;       /* seconds to full */
} ngx_http_zae_limit_hdr_t;


/*
 * what only the slow path needs: allocated when a request enters it, so
 * that the speculative path's context stays small
 */

typedef struct {
    ngx_http_zae_limit_config_t      config[2];   /* child, parent */
    zae_limits_t                     limits[2];
    zae_proto_plan_t                 plan;
    zae_proto_read_t                 rd;
} ngx_http_zae_limit_slow_t;


typedef struct ngx_http_zae_limit_ctx_s  ngx_http_zae_limit_ctx_t;

struct ngx_http_zae_limit_ctx_s {
    ngx_http_request_t              *request;
    ngx_http_zae_limit_loc_conf_t   *zlcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;
    zae_mem_t                        mem;

    ngx_uint_t                       status;
    ngx_int_t                        rc;
    ngx_uint_t                       step;
    ngx_uint_t                       pending;
    ngx_uint_t                       shard_tries;
    ngx_uint_t                       conflicts;

    zae_str_t                        ns_name;
    zae_str_t                        nsid;
    ngx_str_t                        entity_key;  /* nsid/entity */
    zae_bucket_ref_t                 ref;
    zae_bucket_ref_t                 pref;        /* the parent's */
    zae_str_t                        parent;
    zae_amount_t                     consume[ZAE_LIMITS_MAX];
    size_t                           nconsume;
    int64_t                          now_ms;

    ngx_http_zae_limit_entity_t      entity;

    ngx_http_zae_limit_ddb_call_t    call[2];
    zae_spec_result_t                spec[2];
    ngx_http_zae_limit_slow_t       *slow;
    zae_bucket_item_t               *image;       /* ALL_OLD, shard 0 */
    zae_level_e                      sources[2];
    ngx_uint_t                       who;
    unsigned                         what;
    unsigned                         have_limits;
    unsigned                         have_read;
    zae_ddb_op_e                   write_op;

    ngx_http_zae_limit_hdr_t         hdrs[ZAE_LIMITS_MAX];
    ngx_uint_t                       nhdrs;
    int64_t                          retry_header;
    ngx_str_t                        body;
    ngx_uint_t                       http_status;
    zae_level_e                      source;

    unsigned                         done:1;
    unsigned                         parked:1;
    unsigned                         acquired:1;
    unsigned                         cascaded:1;
    unsigned                         cascade:1;
    unsigned                         entity_known:1;
    unsigned                         logged:1;
};


typedef struct {
    ngx_pool_t                      *pool;
    ngx_http_zae_limit_main_conf_t  *zmcf;
    ngx_uint_t                       pending;
} ngx_http_zae_limit_flush_t;


static ngx_http_zae_limit_ctx_t *ngx_http_zae_limit_get_ctx(
    ngx_http_request_t *r);
static void ngx_http_zae_limit_cleanup(void *data);
static ngx_int_t ngx_http_zae_limit_start(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_nsid_lookup(
    ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_next(ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_ddb_error(ngx_http_zae_limit_ctx_t *ctx,
    zae_ddb_error_t *e);
static ngx_int_t ngx_http_zae_limit_send(ngx_http_zae_limit_ctx_t *ctx,
    ngx_uint_t i, const char *op, zae_buf_t *b);
static void ngx_http_zae_limit_call_done(ngx_http_zae_limit_ddb_call_t *call);
static ngx_int_t ngx_http_zae_limit_spec(ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_spec_done(ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_slow(ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_config_done(
    ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_slow_next(ngx_http_zae_limit_ctx_t *ctx);
static void ngx_http_zae_limit_keep_image(ngx_http_zae_limit_ctx_t *ctx,
    zae_spec_result_t *res);
static void ngx_http_zae_limit_hdr_merge(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *name, int64_t tk, int64_t cp, int64_t ra, int64_t rp);
static ngx_int_t ngx_http_zae_limit_read_done(ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_write_done(
    ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_passed(ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_reject(ngx_http_zae_limit_ctx_t *ctx,
    zae_limit_status_t *st, size_t n, zae_bucket_item_t *image);
static ngx_int_t ngx_http_zae_limit_unavailable(
    ngx_http_zae_limit_ctx_t *ctx, const char *fmt, ...);
static ngx_int_t ngx_http_zae_limit_invalid(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx, const char *field, ngx_str_t *value,
    zae_err_t *err);
static ngx_int_t ngx_http_zae_limit_respond(ngx_http_zae_limit_ctx_t *ctx,
    ngx_uint_t status, zae_buf_t *b);
static ngx_int_t ngx_http_zae_limit_answer(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx);
static void ngx_http_zae_limit_hdrs_from_bucket(ngx_http_zae_limit_ctx_t *ctx,
    zae_bucket_item_t *bucket);
static ngx_int_t ngx_http_zae_limit_header_filter(ngx_http_request_t *r);
static void ngx_http_zae_limit_queue_delta(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity, zae_str_t *name, int64_t delta);
static void ngx_http_zae_limit_flush(ngx_event_t *ev);
static ngx_str_t *ngx_http_zae_limit_entity_key(
    ngx_http_zae_limit_ctx_t *ctx);
static void ngx_http_zae_limit_entity_put(ngx_http_zae_limit_ctx_t *ctx,
    ngx_http_zae_limit_entity_t *ent);
static void ngx_http_zae_limit_close_watcher(void);
static void ngx_http_zae_limit_flush_done(
    ngx_http_zae_limit_ddb_call_t *call);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

static ngx_event_t        ngx_http_zae_limit_flush_event;
static ngx_connection_t  *ngx_http_zae_limit_watcher;
static ngx_uint_t         ngx_http_zae_limit_flushing;
static time_t             ngx_http_zae_limit_warn_time;
static ngx_atomic_uint_t  ngx_http_zae_limit_writes;


static ngx_str_t  ngx_http_zae_limit_status_names[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("REJECTED"),
    ngx_string("REJECTED_DRY_RUN"),
    ngx_string("UNAVAILABLE_ALLOWED"),
    ngx_string("UNAVAILABLE_BLOCKED"),
    ngx_string("SKIPPED"),
    ngx_string("INVALID")
};


static void *
ngx_http_zae_limit_pool_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


static int64_t
ngx_http_zae_limit_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * The request ctx is found through its pool cleanup, so that it
 * survives internal redirects (they clear r->ctx): the acquire runs
 * once per request and the log phase finds what it consumed.
 */

static ngx_http_zae_limit_ctx_t *
ngx_http_zae_limit_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_zae_limit_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


static void
ngx_http_zae_limit_cleanup(void *data)
{
    ngx_http_zae_limit_ctx_t  *ctx = data;

    ngx_uint_t  i;

    if (ctx->pending) {
        for (i = 0; i < 2; i++) {
            ngx_http_zae_limit_ddb_cancel(&ctx->call[i]);
        }

        ctx->pending = 0;
    }
}


ngx_int_t
ngx_http_zae_limit_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_pool_cleanup_t              *cln;
    ngx_http_zae_limit_ctx_t        *ctx;
    ngx_http_zae_limit_loc_conf_t   *zlcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_zae_limit_get_ctx(r);

    if (ctx) {
        if (!ctx->done) {
            return NGX_AGAIN;
        }

        if (ctx->parked) {
            ctx->parked = 0;
            r->read_event_handler = ngx_http_block_reading;
            return ngx_http_zae_limit_answer(r, ctx);
        }

        /* after an internal redirect: already decided */

        return NGX_DECLINED;
    }

    zlcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_module);

    if (zlcf->entity == NULL) {
        return NGX_DECLINED;
    }

    zmcf = ngx_http_get_module_main_conf(r, ngx_http_zae_limit_module);

    if (!zmcf->configured) {
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_zae_limit_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_zae_limit_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->zlcf = zlcf;
    ctx->zmcf = zmcf;
    ctx->mem.alloc = ngx_http_zae_limit_pool_alloc;
    ctx->mem.ctx = r->pool;

    rc = ngx_http_zae_limit_start(r, ctx);

    if (rc == NGX_AGAIN) {
        ctx->parked = 1;
        r->read_event_handler = ngx_http_test_reading;
        return NGX_AGAIN;
    }

    ctx->done = 1;

    return ngx_http_zae_limit_answer(r, ctx);
}


static ngx_int_t
ngx_http_zae_limit_eval(ngx_http_request_t *r, ngx_http_complex_value_t *cv,
    ngx_str_t *value)
{
    if (ngx_http_complex_value(r, cv, value) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_zae_limit_start(ngx_http_request_t *r, ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                           len;
    ngx_str_t                        entity, resource, ns, amount, key;
    ngx_uint_t                       i;
    zae_err_t                        err;
    ngx_http_zae_limit_consume_t    *c;
    ngx_http_zae_limit_loc_conf_t   *zlcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zlcf = ctx->zlcf;
    zmcf = ctx->zmcf;

    if (ngx_http_zae_limit_eval(r, zlcf->entity, &entity) != NGX_OK
        || ngx_http_zae_limit_eval(r, zlcf->resource, &resource) != NGX_OK)
    {
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_OK;
    }

    if (entity.len == 0) {
        ctx->status = NGX_HTTP_ZAE_LIMIT_SKIPPED;
        ctx->rc = NGX_DECLINED;
        ngx_http_zae_limit_metric_add(zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_SKIPPED, 1);
        return NGX_OK;
    }

    if (zae_validate_entity_id(entity.data, entity.len, &err) != ZAE_OK) {
        return ngx_http_zae_limit_invalid(r, ctx, "entity_id", &entity,
                                          &err);
    }

    if (zae_validate_resource_strict(resource.data, resource.len, &err)
        != ZAE_OK)
    {
        return ngx_http_zae_limit_invalid(r, ctx, "resource", &resource,
                                          &err);
    }

    if (zlcf->namespace) {
        if (ngx_http_zae_limit_eval(r, zlcf->namespace, &ns) != NGX_OK) {
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_OK;
        }

        if (ns.len == 0) {
            ns = zmcf->namespace;

        } else if (zae_validate_namespace(ns.data, ns.len, &err) != ZAE_OK) {
            return ngx_http_zae_limit_invalid(r, ctx, "namespace", &ns,
                                              &err);
        }

    } else {
        ns = zmcf->namespace;
    }

    c = zlcf->consume->elts;

    for (i = 0; i < zlcf->consume->nelts; i++) {
        ctx->consume[i].name.data = c[i].name.data;
        ctx->consume[i].name.len = c[i].name.len;

        if (c[i].value == NULL) {
            ctx->consume[i].amount = c[i].amount;
            continue;
        }

        if (ngx_http_zae_limit_eval(r, c[i].value, &amount) != NGX_OK) {
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_OK;
        }

        if (zae_parse_tokens(amount.data, amount.len,
                             &ctx->consume[i].amount, &err)
            != ZAE_OK)
        {
            /* at most 64 bytes of the value, so the line stays whole */

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "zae_limit: invalid consume amount \"%*s%s\" "
                          "of limit \"%V\" in \"zae_limit\" directive",
                          ngx_min(amount.len, 64), amount.data,
                          amount.len > 64 ? "..." : "", &c[i].name);
            ctx->status = NGX_HTTP_ZAE_LIMIT_INVALID;
            ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_OK;
        }
    }

    ctx->nconsume = zlcf->consume->nelts;

    ctx->ns_name.data = ns.data;
    ctx->ns_name.len = ns.len;

    ctx->ref.table.data = zmcf->table.data;
    ctx->ref.table.len = zmcf->table.len;
    ctx->ref.entity_id.data = entity.data;
    ctx->ref.entity_id.len = entity.len;
    ctx->ref.resource.data = resource.data;
    ctx->ref.resource.len = resource.len;

    ctx->now_ms = ngx_http_zae_limit_now_ms();

    /* the namespace id */

    key = ns;

    ctx->nsid.data = ngx_pnalloc(r->pool, 64);
    if (ctx->nsid.data == NULL) {
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_OK;
    }

    if (ngx_http_zae_limit_cache_get(zmcf->shm_zone,
                                     NGX_HTTP_ZAE_LIMIT_C_NSID, &key,
                                     ctx->nsid.data, 64, &len)
        == NGX_OK)
    {
        ctx->nsid.len = len;
        ctx->ref.ns = ctx->nsid;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_SPEC;

        return ngx_http_zae_limit_spec(ctx);
    }

    return ngx_http_zae_limit_nsid_lookup(ctx);
}


/* GetItem of the namespace's forward record: _/SYSTEM# #NAMESPACE#{name} */

static ngx_int_t
ngx_http_zae_limit_nsid_lookup(ngx_http_zae_limit_ctx_t *ctx)
{
    zae_buf_t      b;
    zae_keys_t     k;
    zae_ddb_req_t  req;

    ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_NSID;

    zae_buf_init(&b, &ctx->mem, 256);
    ngx_memzero(&req, sizeof(zae_ddb_req_t));

    if (zae_keys_namespace(&ctx->mem, &k, &ctx->ns_name) != ZAE_OK) {
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_OK;
    }

    req.table = ctx->ref.table;
    req.key = zae_keys_key(&ctx->mem, &k);

    if (req.key == NULL || zae_ddb_get_item(&b, &req) != ZAE_OK) {
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_OK;
    }

    return ngx_http_zae_limit_send(ctx, 0, "GetItem", &b);
}


static ngx_int_t
ngx_http_zae_limit_send(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t i,
    const char *op, zae_buf_t *b)
{
    ngx_http_zae_limit_ddb_call_t  *call;

    if (b->failed) {
        return ngx_http_zae_limit_unavailable(ctx, "out of memory");
    }

    call = &ctx->call[i];

    ngx_memzero(call, sizeof(ngx_http_zae_limit_ddb_call_t));

    call->pool = ctx->request->pool;
    call->log = ctx->request->connection->log;
    call->op.data = (u_char *) op;
    call->op.len = ngx_strlen(op);
    call->body.data = b->data;
    call->body.len = b->len;
    call->handler = ngx_http_zae_limit_call_done;
    call->data = ctx;

    if (ngx_http_zae_limit_ddb_start(ctx->zmcf->ddb, call) != NGX_AGAIN) {
        return ngx_http_zae_limit_unavailable(ctx,
                                              "could not start a call");
    }

    ctx->pending++;

    return NGX_AGAIN;
}


static void
ngx_http_zae_limit_call_done(ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_int_t                  rc;
    ngx_http_request_t        *r;
    ngx_http_zae_limit_ctx_t  *ctx;

    ctx = call->data;
    r = ctx->request;

    ngx_http_zae_limit_metric_call(ctx->zmcf->shm_zone, call);

    if (ctx->pending) {
        ctx->pending--;
    }

    if (ctx->pending || ctx->done) {
        return;
    }

    rc = ngx_http_zae_limit_next(ctx);

    if (rc == NGX_AGAIN) {
        return;
    }

    ctx->done = 1;

    if (ctx->parked) {
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_post_request(r, NULL);
        ngx_http_run_posted_requests(r->connection);
    }
}


/* a call's answer in the form the core decoders take */

static void
ngx_http_zae_limit_resp(ngx_http_zae_limit_ddb_call_t *call,
    zae_ddb_http_resp_t *resp)
{
    ngx_memzero(resp, sizeof(zae_ddb_http_resp_t));

    resp->status = call->status;
    resp->body.data = call->response.data;
    resp->body.len = call->response.len;
}


static ngx_int_t
ngx_http_zae_limit_call_failed(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t i)
{
    ngx_http_zae_limit_ddb_call_t  *call;

    call = &ctx->call[i];

    if (call->rc == NGX_OK) {
        return NGX_OK;
    }

    return ngx_http_zae_limit_unavailable(ctx, "dynamodb %V failed: %V",
                                          &call->op, &call->error);
}


/* a DynamoDB answer the protocol does not expect: its code, else why */

static ngx_int_t
ngx_http_zae_limit_ddb_error(ngx_http_zae_limit_ctx_t *ctx,
    zae_ddb_error_t *e)
{
    if (e->code.len) {
        return ngx_http_zae_limit_unavailable(ctx, "dynamodb error: %V",
                                              (ngx_str_t *) &e->code);
    }

    return ngx_http_zae_limit_unavailable(ctx, "dynamodb error: %s",
                                          e->err.msg[0] ? e->err.msg
                                                        : "unexpected answer");
}


static ngx_int_t
ngx_http_zae_limit_next(ngx_http_zae_limit_ctx_t *ctx)
{
    zae_err_t                       err;
    zae_av_t                       *root, *item;
    zae_str_t                       s;
    zae_ddb_error_t                 e;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    call = &ctx->call[0];

    switch (ctx->step) {

    case NGX_HTTP_ZAE_LIMIT_STEP_NSID:

        if (ngx_http_zae_limit_call_failed(ctx, 0) != NGX_OK) {
            return NGX_OK;
        }

        ngx_http_zae_limit_resp(call, &resp);

        item = NULL;

        if (zae_ddb_decode(&ctx->mem, &resp, &root, &e) != ZAE_OK
            || zae_ddb_result_item(root, "Item", &item, &err) != ZAE_OK)
        {
            return ngx_http_zae_limit_unavailable(ctx,
                                        "namespace lookup failed");
        }

        if (item == NULL
            || zae_item_get_str(item, "status", &s, &err) != ZAE_OK
            || s.len != 6 || ngx_strncmp(s.data, "active", 6) != 0
            || zae_item_get_str(item, "namespace_id", &ctx->nsid, &err)
               != ZAE_OK
            || ctx->nsid.len == 0 || ctx->nsid.len > 64)
        {
            return ngx_http_zae_limit_unavailable(ctx,
                                  "namespace \"%V\" is not registered",
                                  (ngx_str_t *) &ctx->ns_name);
        }

        /*
         * a namespace id never changes while the namespace lives (zae
         * caches it for good); a long ttl keeps many requests from
         * looking it up at the same moment when an entry expires
         */

        (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                            NGX_HTTP_ZAE_LIMIT_C_NSID,
                                            (ngx_str_t *) &ctx->ns_name,
                                            ctx->nsid.data, ctx->nsid.len,
                                            NGX_HTTP_ZAE_LIMIT_NSID_TTL);

        ctx->ref.ns = ctx->nsid;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_SPEC;

        return ngx_http_zae_limit_spec(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_SPEC:
        return ngx_http_zae_limit_spec_done(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_BUMP:

        /* the bump's own condition failure is ignored, as upstream does */

        return ngx_http_zae_limit_slow(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_CONFIG:
        return ngx_http_zae_limit_config_done(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_READ:
        return ngx_http_zae_limit_read_done(ctx);

    default: /* NGX_HTTP_ZAE_LIMIT_STEP_WRITE, NGX_HTTP_ZAE_LIMIT_STEP_RETRY */
        return ngx_http_zae_limit_write_done(ctx);
    }
}


static ngx_str_t *
ngx_http_zae_limit_key(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *entity,
    ngx_str_t *key)
{
    key->len = ctx->nsid.len + 1 + entity->len + 1 + ctx->ref.resource.len;
    key->data = ngx_pnalloc(ctx->request->pool, key->len);
    if (key->data == NULL) {
        return NULL;
    }

    ngx_sprintf(key->data, "%*s/%*s#%*s",
                ctx->nsid.len, ctx->nsid.data, entity->len, entity->data,
                ctx->ref.resource.len, ctx->ref.resource.data);

    return key;
}


/* the entity cache's key "nsid/entity", made once per request */

static ngx_str_t *
ngx_http_zae_limit_entity_key(ngx_http_zae_limit_ctx_t *ctx)
{
    ngx_str_t  *key;

    key = &ctx->entity_key;

    if (key->data) {
        return key;
    }

    key->data = ngx_pnalloc(ctx->request->pool,
                            ctx->nsid.len + 1 + ctx->ref.entity_id.len);
    if (key->data == NULL) {
        return NULL;
    }

    key->len = ngx_sprintf(key->data, "%*s/%*s",
                           ctx->nsid.len, ctx->nsid.data,
                           ctx->ref.entity_id.len, ctx->ref.entity_id.data)
               - key->data;

    return key;
}


/* a rejection remembered in the zone still holds: answer it locally */

static ngx_int_t
ngx_http_zae_limit_reject_cached(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                        len, i, j, n;
    ngx_str_t                     key;
    zae_bucket_t                  b;
    zae_bucket_result_t           res;
    zae_limit_status_t           *st;
    ngx_http_zae_limit_reject_t   rj;
    ngx_http_zae_limit_rlimit_t  *rl;

    if (ngx_http_zae_limit_key(ctx, &ctx->ref.entity_id, &key) == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_zae_limit_cache_get(ctx->zmcf->shm_zone,
                                     NGX_HTTP_ZAE_LIMIT_C_REJECT, &key,
                                     (u_char *) &rj, sizeof(rj), &len)
        != NGX_OK
        || len < ngx_http_zae_limit_reject_size(0)
        || rj.n > ZAE_LIMITS_MAX
        || len != ngx_http_zae_limit_reject_size(rj.n))
    {
        return NGX_DECLINED;
    }

    st = ngx_pcalloc(ctx->request->pool,
                     ctx->nconsume * sizeof(zae_limit_status_t));
    if (st == NULL) {
        return NGX_DECLINED;
    }

    n = 0;

    for (i = 0; i < ctx->nconsume; i++) {

        rl = NULL;

        for (j = 0; j < rj.n; j++) {
            if (rj.l[j].len == ctx->consume[i].name.len
                && ngx_memcmp(rj.l[j].name, ctx->consume[i].name.data,
                              rj.l[j].len) == 0)
            {
                rl = &rj.l[j];
                break;
            }
        }

        if (rl == NULL) {
            return NGX_DECLINED;
        }

        b.tk = rl->tk;
        b.last = rj.rf;
        b.cp = rl->cp;
        b.ra = rl->ra;
        b.rp = rl->rp;

        (void) zae_bucket_try_consume(&b, ctx->consume[i].amount,
                                      ctx->now_ms, &res);

        st[n].entity_id = ctx->ref.entity_id;
        st[n].resource = ctx->ref.resource;
        st[n].limit_name = ctx->consume[i].name;
        st[n].capacity = rl->cp / 1000;
        st[n].refill_amount = rl->ra / 1000;
        st[n].refill_period_seconds = rl->rp / 1000;
        st[n].available = res.available;
        st[n].requested = ctx->consume[i].amount;
        st[n].retry_after_ms = res.exceeded ? res.retry_ms : 0;
        st[n].exceeded = res.exceeded;
        n++;
    }

    if (zae_body_primary(st, n) == n) {

        /* refill caught up for this request: ask DynamoDB */

        return NGX_DECLINED;
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_REJECT_CACHE_HITS, 1);

    return ngx_http_zae_limit_reject(ctx, st, n, NULL);
}


static ngx_int_t
ngx_http_zae_limit_spec_send(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t i,
    zae_bucket_ref_t *ref)
{
    zae_buf_t  b;
    zae_err_t  err;

    /* the writer sizes the buffer once, for its worst case */

    zae_buf_init(&b, &ctx->mem, 0);

    if (zae_proto_spec_request(&b, ref, ctx->consume, ctx->nconsume,
                               ctx->now_ms, &err)
        != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "%s", err.msg);
    }

    return ngx_http_zae_limit_send(ctx, i, "UpdateItem", &b);
}


static ngx_int_t
ngx_http_zae_limit_spec(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                        len;
    ngx_int_t                     rc;
    ngx_str_t                    *key;
    ngx_http_zae_limit_entity_t  *ent;

    rc = ngx_http_zae_limit_reject_cached(ctx);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    ent = &ctx->entity;

    key = ngx_http_zae_limit_entity_key(ctx);
    if (key == NULL) {
        return ngx_http_zae_limit_unavailable(ctx, "out of memory");
    }

    if (ngx_http_zae_limit_cache_get(ctx->zmcf->shm_zone,
                                     NGX_HTTP_ZAE_LIMIT_C_ENTITY, key,
                                     (u_char *) ent, sizeof(*ent), &len)
        == NGX_OK
        && len == sizeof(*ent))
    {
        ctx->entity_known = 1;
    }

    ctx->ref.shard = 0;

    if (ctx->entity_known && ent->shard_count > 1 && !ent->single) {
        ctx->ref.shard = ngx_random() % ent->shard_count;
    }

    rc = ngx_http_zae_limit_spec_send(ctx, 0, &ctx->ref);

    if (rc != NGX_AGAIN) {
        return rc;
    }

    if (ctx->entity_known && ent->cascade && ent->plen) {

        /* the parent is written concurrently, on its own shard 0 */

        ctx->parent.data = ent->parent;
        ctx->parent.len = ent->plen;
        ctx->pref = ctx->ref;
        ctx->pref.entity_id = ctx->parent;
        ctx->pref.shard = 0;
        ctx->cascaded = 1;

        rc = ngx_http_zae_limit_spec_send(ctx, 1, &ctx->pref);

        if (rc != NGX_AGAIN) {
            return rc;
        }
    }

    return NGX_AGAIN;
}


static void
ngx_http_zae_limit_entity_save(ngx_http_zae_limit_ctx_t *ctx,
    zae_bucket_item_t *bucket)
{
    ngx_http_zae_limit_entity_t   ent;

    ngx_memzero(&ent, sizeof(ent));

    ent.shard_count = bucket->shard_count > 0 ? bucket->shard_count : 1;
    ent.single = ctx->entity_known ? ctx->entity.single : 0;
    ent.cascade = bucket->cascade;

    if (bucket->parent_id.len <= ZAE_ENTITY_ID_MAX_LEN) {
        ent.plen = (u_short) bucket->parent_id.len;
        ngx_memcpy(ent.parent, bucket->parent_id.data, ent.plen);

    } else {
        ent.cascade = 0;
    }

    ngx_http_zae_limit_entity_put(ctx, &ent);
}


static void
ngx_http_zae_limit_entity_put(ngx_http_zae_limit_ctx_t *ctx,
    ngx_http_zae_limit_entity_t *ent)
{
    ngx_str_t  *key;

    key = ngx_http_zae_limit_entity_key(ctx);
    if (key == NULL) {
        return;
    }

    (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                        NGX_HTTP_ZAE_LIMIT_C_ENTITY, key,
                                        (u_char *) ent, sizeof(*ent),
                                        ctx->zmcf->config_ttl
                                        ? ctx->zmcf->config_ttl : 1000);

    ctx->entity = *ent;
    ctx->entity_known = 1;
}


static void
ngx_http_zae_limit_compensate(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *entity)
{
    size_t  i;

    for (i = 0; i < ctx->nconsume; i++) {
        ngx_http_zae_limit_queue_delta(ctx, entity, &ctx->consume[i].name,
                                       -ctx->consume[i].amount);
    }
}


static ngx_int_t
ngx_http_zae_limit_spec_done(ngx_http_zae_limit_ctx_t *ctx)
{
    zae_buf_t                       b;
    zae_err_t                       err;
    ngx_uint_t                      i, n;
    zae_bucket_ref_t                ref0;
    zae_spec_result_t              *res;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    n = ctx->cascaded ? 2 : 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_zae_limit_call_failed(ctx, i) != NGX_OK) {

            if (i == 1 && ctx->spec[0].decision == ZAE_SPEC_OK) {
                ngx_http_zae_limit_compensate(ctx, &ctx->ref.entity_id);
            }

            return NGX_OK;
        }

        call = &ctx->call[i];
        res = &ctx->spec[i];

        ngx_http_zae_limit_resp(call, &resp);

        if (zae_proto_spec_decode(&ctx->mem, ctx->consume, ctx->nconsume,
                                  ctx->now_ms, &resp, res, &err)
            != ZAE_OK)
        {
            return ngx_http_zae_limit_unavailable(ctx, "%s", err.msg);
        }
    }

    res = &ctx->spec[0];

    if (res->decision == ZAE_SPEC_OK) {
        ngx_http_zae_limit_entity_save(ctx, &res->bucket);
    }

    if (ctx->cascaded) {

        /* child and parent were written concurrently */

        if (res->decision == ZAE_SPEC_OK
            && ctx->spec[1].decision == ZAE_SPEC_OK)
        {
            ngx_http_zae_limit_hdrs_from_bucket(ctx, &res->bucket);
            ngx_http_zae_limit_hdrs_from_bucket(ctx, &ctx->spec[1].bucket);
            return ngx_http_zae_limit_passed(ctx);
        }

        if (res->decision == ZAE_SPEC_OK) {
            ngx_http_zae_limit_compensate(ctx, &ctx->ref.entity_id);
        }

        if (ctx->spec[1].decision == ZAE_SPEC_OK) {
            ngx_http_zae_limit_compensate(ctx, &ctx->parent);
        }

        for (i = 0; i < 2; i++) {
            if (ctx->spec[i].decision == ZAE_SPEC_REJECT) {
                return ngx_http_zae_limit_reject(ctx, ctx->spec[i].statuses,
                                                 ctx->spec[i].nstatuses,
                                                 &ctx->spec[i].bucket);
            }

            if (ctx->spec[i].decision == ZAE_SPEC_ERROR) {
                return ngx_http_zae_limit_ddb_error(ctx,
                                                    &ctx->spec[i].error);
            }
        }

        ctx->cascaded = 0;

        return ngx_http_zae_limit_slow(ctx);
    }

    switch (res->decision) {

    case ZAE_SPEC_OK:

        if (res->bucket.cascade && res->bucket.parent_id.len
            && ctx->entity.cascade)
        {
            /* a cold entity cache: the parent's write follows */

            ctx->parent.data = ctx->entity.parent;
            ctx->parent.len = ctx->entity.plen;
            ctx->pref = ctx->ref;
            ctx->pref.entity_id = ctx->parent;
            ctx->pref.shard = 0;
            ctx->cascaded = 1;

            ngx_http_zae_limit_hdrs_from_bucket(ctx, &res->bucket);

            return ngx_http_zae_limit_spec_send(ctx, 1, &ctx->pref);
        }

        ngx_http_zae_limit_hdrs_from_bucket(ctx, &res->bucket);

        return ngx_http_zae_limit_passed(ctx);

    case ZAE_SPEC_REJECT:
        return ngx_http_zae_limit_reject(ctx, res->statuses, res->nstatuses,
                                         &res->bucket);

    case ZAE_SPEC_SHARD_RETRY:

        if (ctx->shard_tries++ < ZAE_PROTO_MAX_SHARD_RETRIES
            && res->bucket.shard_count > 1)
        {
            ctx->ref.shard = (ctx->ref.shard + 1 + ngx_random()
                              % (res->bucket.shard_count - 1))
                             % res->bucket.shard_count;

            return ngx_http_zae_limit_spec_send(ctx, 0, &ctx->ref);
        }

        return ngx_http_zae_limit_slow(ctx);

    case ZAE_SPEC_BUCKET_MISSING:

        if (ctx->ref.shard > 0) {

            /*
             * shard_count was doubled but nothing created the shard (no
             * aggregator runs): remember that only shard 0 exists and
             * write there, instead of half the requests taking the slow
             * path
             */

            ctx->entity.single = 1;
            ngx_http_zae_limit_entity_put(ctx, &ctx->entity);

            ctx->ref.shard = 0;

            return ngx_http_zae_limit_spec_send(ctx, 0, &ctx->ref);
        }

        return ngx_http_zae_limit_slow(ctx);

    case ZAE_SPEC_WCU_EXHAUSTED:

        ngx_http_zae_limit_keep_image(ctx, res);

        if (ctx->entity_known && ctx->entity.single) {

            /*
             * more shards would not be created: the slow path refills
             * wcu lazily instead of doubling shard_count again
             */

            return ngx_http_zae_limit_slow(ctx);
        }

        /* double shard_count on shard 0, then the slow path */

        ref0 = ctx->ref;
        ref0.shard = 0;

        zae_buf_init(&b, &ctx->mem, 512);

        if (zae_proto_bump_shard_request(&b, &ref0,
                                         res->bucket.shard_count > 0
                                         ? res->bucket.shard_count : 1)
            != ZAE_OK)
        {
            return ngx_http_zae_limit_slow(ctx);
        }

        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_BUMP;

        return ngx_http_zae_limit_send(ctx, 0, "UpdateItem", &b);

    case ZAE_SPEC_ERROR:
        return ngx_http_zae_limit_ddb_error(ctx, &res->error);

    default:
        /* LIMIT_ABSENT, REFILL_WOULD_HELP, EXPIRED */
        ngx_http_zae_limit_keep_image(ctx, res);
        return ngx_http_zae_limit_slow(ctx);
    }
}


/*
 * The ALL_OLD image of a refused speculative write on shard 0 is a
 * consistent read of the bucket the slow path writes: it replaces the
 * slow path's read (the write is conditional on its rf anyway), so a
 * refill that helps costs one more call, not two
 */

static void
ngx_http_zae_limit_keep_image(ngx_http_zae_limit_ctx_t *ctx,
    zae_spec_result_t *res)
{
    ctx->image = (res->has_bucket && ctx->ref.shard == 0) ? &res->bucket
                                                          : NULL;
}


/*
 * The slow path (facts 3.3): limits from the config cache or one batch
 * read per entity, one batch read of META and the buckets, the compute
 * step, then one write (a transaction for child and parent).
 */

static ngx_int_t
ngx_http_zae_limit_config_lookup(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t i,
    zae_str_t *entity)
{
    size_t                        len, j;
    ngx_str_t                     key;
    zae_limits_t                 *lim;
    ngx_http_zae_limit_config_t  *cfg;

    if (ctx->zmcf->config_ttl == 0
        || ngx_http_zae_limit_key(ctx, entity, &key) == NULL)
    {
        return NGX_DECLINED;
    }

    cfg = &ctx->slow->config[i];

    if (ngx_http_zae_limit_cache_get(ctx->zmcf->shm_zone,
                                     NGX_HTTP_ZAE_LIMIT_C_CONFIG, &key,
                                     (u_char *) cfg, sizeof(*cfg), &len)
        != NGX_OK
        || len < ngx_http_zae_limit_config_size(0)
        || cfg->n > ZAE_LIMITS_MAX
        || len != ngx_http_zae_limit_config_size(cfg->n))
    {
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_MISSES, 1);
        return NGX_DECLINED;
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_HITS, 1);

    if (cfg->source == ZAE_LEVEL_INLINE) {

        /* cached "nothing stored": this location's fallback applies */

        if (ctx->zlcf->limits == NULL) {
            return NGX_DECLINED;
        }

        ctx->slow->limits[i] = *ctx->zlcf->limits;
        ctx->sources[i] = ZAE_LEVEL_INLINE;
        ctx->have_limits |= 1 << i;

        return NGX_OK;
    }

    lim = &ctx->slow->limits[i];
    lim->nelts = cfg->n;

    for (j = 0; j < cfg->n; j++) {
        lim->elts[j].name.data = cfg->l[j].name;
        lim->elts[j].name.len = cfg->l[j].len;
        lim->elts[j].capacity = cfg->l[j].capacity;
        lim->elts[j].refill_amount = cfg->l[j].refill_amount;
        lim->elts[j].period = cfg->l[j].period;
    }

    ctx->sources[i] = cfg->source;
    ctx->have_limits |= 1 << i;

    return NGX_OK;
}


static ngx_int_t
ngx_http_zae_limit_slow(ngx_http_zae_limit_ctx_t *ctx)
{
    if (ctx->slow == NULL) {
        ctx->slow = ngx_pcalloc(ctx->request->pool,
                                sizeof(ngx_http_zae_limit_slow_t));
        if (ctx->slow == NULL) {
            return ngx_http_zae_limit_unavailable(ctx, "out of memory");
        }
    }

    ctx->now_ms = ngx_http_zae_limit_now_ms();
    ctx->ref.shard = 0;
    ctx->cascaded = 0;
    ctx->have_limits = 0;
    ctx->have_read = 0;

    ngx_memzero(&ctx->slow->rd, sizeof(zae_proto_read_t));

    ctx->cascade = 0;

    if (ctx->image) {

        /* the bucket as the refused write saw it: no read of it */

        ctx->slow->rd.bucket = *ctx->image;
        ctx->slow->rd.has_bucket = 1;
        ctx->have_read = ZAE_READ_META | ZAE_READ_BUCKET;
        ctx->image = NULL;

        if (ctx->slow->rd.bucket.cascade && ctx->slow->rd.bucket.parent_id.len
            && ctx->slow->rd.bucket.parent_id.len <= ZAE_ENTITY_ID_MAX_LEN)
        {
            ctx->parent = ctx->slow->rd.bucket.parent_id;
            ctx->cascade = 1;
        }

        return ngx_http_zae_limit_slow_next(ctx);
    }

    /* a parent known from the entity cache is read in the same batch */

    if (ctx->entity_known && ctx->entity.cascade && ctx->entity.plen) {
        ctx->parent.data = ctx->entity.parent;
        ctx->parent.len = ctx->entity.plen;
        ctx->cascade = 1;
    }

    return ngx_http_zae_limit_slow_next(ctx);
}


static ngx_int_t
ngx_http_zae_limit_slow_next(ngx_http_zae_limit_ctx_t *ctx)
{
    unsigned             what, mask;
    zae_buf_t            b;
    zae_str_t           *entity, *parent;
    ngx_uint_t           i;
    zae_err_t            err;
    zae_proto_plan_t    *plan;
    zae_proto_entity_t   ents[2];

    zae_buf_init(&b, &ctx->mem, 1024);

    /* the limits of the child, then of the parent when it cascades */

    for (i = 0; i < (ngx_uint_t) (ctx->cascade ? 2 : 1); i++) {

        if (ctx->have_limits & (1 << i)) {
            continue;
        }

        entity = i ? &ctx->parent : &ctx->ref.entity_id;

        if (ngx_http_zae_limit_config_lookup(ctx, i, entity) == NGX_OK) {
            continue;
        }

        mask = (1 << ZAE_LEVEL_ENTITY) | (1 << ZAE_LEVEL_ENTITY_DEFAULT)
               | (1 << ZAE_LEVEL_RESOURCE) | (1 << ZAE_LEVEL_SYSTEM);

        if (zae_config_batch_request(&b, &ctx->ref.table, &ctx->nsid, entity,
                                     &ctx->ref.resource, mask)
            != ZAE_OK)
        {
            return ngx_http_zae_limit_unavailable(ctx, "out of memory");
        }

        ctx->who = i;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_CONFIG;

        return ngx_http_zae_limit_send(ctx, 0, "BatchGetItem", &b);
    }

    /* META and the buckets; the parent's as soon as it is known */

    what = 0;

    if (!(ctx->have_read & ZAE_READ_META)) {
        what |= ZAE_READ_META | ZAE_READ_BUCKET;
    }

    parent = NULL;

    if (ctx->cascade && !(ctx->have_read & ZAE_READ_PARENT)) {
        what |= ZAE_READ_PARENT;
    }

    if (what & ZAE_READ_PARENT) {
        parent = &ctx->parent;
    }

    if (what) {
        if (zae_proto_read_request(&b, &ctx->ref, parent, what) != ZAE_OK) {
            return ngx_http_zae_limit_unavailable(ctx, "out of memory");
        }

        ctx->what = what;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_READ;

        return ngx_http_zae_limit_send(ctx, 0, "BatchGetItem", &b);
    }

    /* compute */

    ngx_memzero(ents, sizeof(ents));

    ents[0].entity_id = ctx->ref.entity_id;
    ents[0].resource = ctx->ref.resource;
    ents[0].limits = &ctx->slow->limits[0];
    ents[0].source = ctx->sources[0];
    ents[0].bucket = ctx->slow->rd.has_bucket ? &ctx->slow->rd.bucket : NULL;

    if (ctx->slow->rd.has_meta) {
        ents[0].parent_id = ctx->slow->rd.meta.parent_id;
        ents[0].cascade = ctx->slow->rd.meta.cascade;
    }

    if (ctx->cascade) {
        ents[1].entity_id = ctx->parent;
        ents[1].resource = ctx->ref.resource;
        ents[1].limits = &ctx->slow->limits[1];
        ents[1].source = ctx->sources[1];
        ents[1].bucket = ctx->slow->rd.has_parent_bucket
                         ? &ctx->slow->rd.parent_bucket : NULL;
    }

    ctx->source = ctx->sources[0];

    ngx_memzero(&ctx->slow->plan, sizeof(zae_proto_plan_t));

    if (zae_proto_slow_compute(&ctx->mem, ents, ctx->cascade ? 2 : 1,
                               ctx->consume, ctx->nconsume, ctx->now_ms,
                               ZAE_PROTO_TTL_MULTIPLIER, &ctx->slow->plan, &err)
        != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "%s", err.msg);
    }

    plan = &ctx->slow->plan;

    if (plan->rejected) {
        return ngx_http_zae_limit_reject(ctx, plan->statuses, plan->nstatuses,
                                         ents[0].bucket);
    }

    if (zae_proto_write_request(&b, &ctx->ref.table, &ctx->nsid, plan,
                                &ctx->write_op)
        != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "out of memory");
    }

    ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_WRITE;

    return ngx_http_zae_limit_send(ctx, 0, zae_ddb_op_name(ctx->write_op),
                                   &b);
}


static ngx_int_t
ngx_http_zae_limit_config_done(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                          j;
    unsigned                        mask, unprocessed;
    ngx_str_t                       key;
    zae_str_t                      *entity;
    zae_err_t                       err;
    ngx_uint_t                      who;
    zae_level_e                     source;
    const zae_limits_t             *limits;
    zae_config_levels_t             levels;
    ngx_http_zae_limit_config_t    *cfg;
    ngx_http_zae_limit_ddb_call_t  *call;

    if (ngx_http_zae_limit_call_failed(ctx, 0) != NGX_OK) {
        return NGX_OK;
    }

    call = &ctx->call[0];
    who = ctx->who;
    entity = who ? &ctx->parent : &ctx->ref.entity_id;

    if (call->status != 200) {
        return ngx_http_zae_limit_unavailable(ctx, "config read failed: %V",
                                              &call->error_type);
    }

    mask = (1 << ZAE_LEVEL_ENTITY) | (1 << ZAE_LEVEL_ENTITY_DEFAULT)
           | (1 << ZAE_LEVEL_RESOURCE) | (1 << ZAE_LEVEL_SYSTEM);

    ngx_memzero(&levels, sizeof(zae_config_levels_t));

    if (zae_config_batch_decode(&ctx->mem, call->response.data,
                                call->response.len, &ctx->ref.table,
                                &ctx->nsid, entity, &ctx->ref.resource, mask,
                                &levels, &unprocessed, &err)
        != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "config read failed: %s",
                                              err.msg);
    }

    if (unprocessed) {
        return ngx_http_zae_limit_unavailable(ctx,
                                     "config read left unprocessed keys");
    }

    cfg = &ctx->slow->config[who];
    ngx_memzero(cfg, sizeof(*cfg));

    if (levels.level[ZAE_LEVEL_SYSTEM]
        && levels.level[ZAE_LEVEL_SYSTEM]->on_unavailable.len)
    {
        cfg->on_unavailable =
            (levels.level[ZAE_LEVEL_SYSTEM]->on_unavailable.data[0] == 'a')
            ? NGX_HTTP_ZAE_LIMIT_ALLOW : NGX_HTTP_ZAE_LIMIT_BLOCK;

        key.data = ctx->nsid.data;
        key.len = ctx->nsid.len;

        (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                            NGX_HTTP_ZAE_LIMIT_C_SYSTEM,
                                            &key, &cfg->on_unavailable, 1,
                                            ctx->zmcf->config_ttl
                                            ? ctx->zmcf->config_ttl : 1000);
    }

    if (zae_resolve_limits(&levels, entity, &ctx->ref.resource,
                           ctx->zlcf->limits, &limits, &source, &err)
        != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "%s", err.msg);
    }

    cfg->source = (u_char) source;
    cfg->n = (u_char) ngx_min(limits->nelts, ZAE_LIMITS_MAX);

    for (j = 0; j < cfg->n; j++) {
        cfg->l[j].len = (u_char) ngx_min(limits->elts[j].name.len,
                                         ZAE_NAME_MAX_LEN);
        ngx_memcpy(cfg->l[j].name, limits->elts[j].name.data, cfg->l[j].len);
        cfg->l[j].capacity = limits->elts[j].capacity;
        cfg->l[j].refill_amount = limits->elts[j].refill_amount;
        cfg->l[j].period = limits->elts[j].period;
    }

    /*
     * the inline fallback is the location's own: for it only the negative
     * result "nothing stored at any level" is cached
     */

    if (source == ZAE_LEVEL_INLINE) {
        cfg->n = 0;
    }

    if (ngx_http_zae_limit_key(ctx, entity, &key) != NULL) {
        (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                            NGX_HTTP_ZAE_LIMIT_C_CONFIG,
                                            &key, (u_char *) cfg,
                                        ngx_http_zae_limit_config_size(cfg->n),
                                            ctx->zmcf->config_ttl);
    }

    ctx->slow->limits[who] = *limits;
    ctx->sources[who] = source;
    ctx->have_limits |= 1 << who;

    return ngx_http_zae_limit_slow_next(ctx);
}


static ngx_int_t
ngx_http_zae_limit_read_done(ngx_http_zae_limit_ctx_t *ctx)
{
    int                             rc;
    zae_err_t                       err;
    zae_str_t                      *parent;
    zae_proto_read_t                rd;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    if (ngx_http_zae_limit_call_failed(ctx, 0) != NGX_OK) {
        return NGX_OK;
    }

    call = &ctx->call[0];

    ngx_http_zae_limit_resp(call, &resp);

    ngx_memzero(&rd, sizeof(zae_proto_read_t));

    parent = (ctx->what & ZAE_READ_PARENT) ? &ctx->parent : NULL;

    rc = zae_proto_read_decode(&ctx->mem, &ctx->ref, parent, ctx->what,
                               &resp, &rd, &err);

    if (rc != ZAE_OK) {
        if (rc == ZAE_DECLINED) {
            return ngx_http_zae_limit_unavailable(ctx,
                                                "bucket read failed: %V",
                                                (ngx_str_t *) &rd.error.code);
        }

        return ngx_http_zae_limit_unavailable(ctx, "bucket read failed: %s",
                                              err.msg);
    }

    if (rd.unprocessed) {
        return ngx_http_zae_limit_unavailable(ctx,
                                     "bucket read left unprocessed keys");
    }

    if (ctx->what & ZAE_READ_META) {
        ctx->slow->rd.meta = rd.meta;
        ctx->slow->rd.has_meta = rd.has_meta;
        ctx->slow->rd.bucket = rd.bucket;
        ctx->slow->rd.has_bucket = rd.has_bucket;

        if (rd.has_meta && rd.meta.cascade && rd.meta.parent_id.len
            && rd.meta.parent_id.len <= ZAE_ENTITY_ID_MAX_LEN)
        {
            if (ctx->cascade
                && (ctx->parent.len != rd.meta.parent_id.len
                    || ngx_memcmp(ctx->parent.data, rd.meta.parent_id.data,
                                  ctx->parent.len) != 0))
            {
                /* the parent changed: read the right one */

                ctx->have_read &= ~ZAE_READ_PARENT;
                ctx->have_limits &= ~2;
            }

            ctx->parent = rd.meta.parent_id;
            ctx->cascade = 1;

        } else {
            ctx->cascade = 0;
        }
    }

    if ((ctx->what & ZAE_READ_PARENT) && ctx->cascade
        && !(ctx->have_read & ZAE_READ_PARENT))
    {
        ctx->slow->rd.parent_bucket = rd.parent_bucket;
        ctx->slow->rd.has_parent_bucket = rd.has_parent_bucket;
    }

    ctx->have_read |= ctx->what;

    return ngx_http_zae_limit_slow_next(ctx);
}


static void
ngx_http_zae_limit_hdrs_from_plan(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t              i, j;
    zae_proto_item_t   *it;
    zae_proto_limit_t  *l;

    for (i = 0; i < ctx->slow->plan.nitems; i++) {
        it = &ctx->slow->plan.items[i];

        for (j = 0; j < it->nlimits; j++) {
            l = &it->limits[j];
            ngx_http_zae_limit_hdr_merge(ctx, &l->name, l->new_tk, l->cp,
                                         l->ra, l->rp);
        }
    }
}


static ngx_int_t
ngx_http_zae_limit_write_done(ngx_http_zae_limit_ctx_t *ctx)
{
    zae_buf_t                       b;
    zae_ddb_error_t                 e;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    if (ngx_http_zae_limit_call_failed(ctx, 0) != NGX_OK) {
        return NGX_OK;
    }

    call = &ctx->call[0];

    ngx_http_zae_limit_resp(call, &resp);

    switch (zae_proto_write_decode(&ctx->mem, &resp, &e)) {

    case ZAE_WRITE_OK:

        ctx->cascaded = (ctx->slow->plan.nitems == 2);

        if (ctx->cascaded) {
            ctx->entity.cascade = 1;
        }

        ngx_http_zae_limit_hdrs_from_plan(ctx);

        return ngx_http_zae_limit_passed(ctx);

    case ZAE_WRITE_CONFLICT:

        if (ctx->conflicts++ < ZAE_PROTO_MAX_CONFLICT_RETRIES) {
            b.data = call->body.data;
            b.len = call->body.len;
            b.cap = call->body.len;
            b.mem = &ctx->mem;
            b.failed = 0;

            return ngx_http_zae_limit_send(ctx, 0, (char *) call->op.data,
                                           &b);
        }

        return ngx_http_zae_limit_unavailable(ctx, "transaction conflicts");

    case ZAE_WRITE_CONDITION_FAILED:

        if (ctx->step == NGX_HTTP_ZAE_LIMIT_STEP_RETRY) {
            (void) zae_proto_retry_reject(&ctx->slow->plan);

            return ngx_http_zae_limit_reject(ctx, ctx->slow->plan.statuses,
                                             ctx->slow->plan.nstatuses, NULL);
        }

        zae_buf_init(&b, &ctx->mem, 1024);

        if (zae_proto_retry_request(&b, &ctx->ref.table, &ctx->nsid,
                                    &ctx->slow->plan, &ctx->write_op)
            != ZAE_OK)
        {
            return ngx_http_zae_limit_unavailable(ctx, "out of memory");
        }

        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_RETRY;

        return ngx_http_zae_limit_send(ctx, 0,
                                       zae_ddb_op_name(ctx->write_op), &b);

    default:
        return ngx_http_zae_limit_ddb_error(ctx, &e);
    }
}


static ngx_int_t
ngx_http_zae_limit_passed(ngx_http_zae_limit_ctx_t *ctx)
{
    ctx->status = NGX_HTTP_ZAE_LIMIT_PASSED;
    ctx->acquired = 1;
    ctx->rc = NGX_DECLINED;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_PASSED, 1);

    return NGX_OK;
}


/* one limit's header values; the tightest of child and parent wins */

static void
ngx_http_zae_limit_hdr_merge(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *name,
    int64_t tk, int64_t cp, int64_t ra, int64_t rp)
{
    int64_t                    remaining, reset;
    ngx_uint_t                 j;
    ngx_http_zae_limit_hdr_t  *h;

    remaining = ngx_max(zae_floor_div(tk, 1000), 0);

    /* whole seconds until the bucket is full again */

    reset = (tk < cp) ? (zae_bucket_retry_ms(cp - tk, ra, rp) + 999) / 1000
                      : 0;

    for (j = 0; j < ctx->nhdrs; j++) {
        h = &ctx->hdrs[j];

        if (h->name.len == name->len
            && ngx_memcmp(h->name.data, name->data, name->len) == 0)
        {
            if (remaining < h->remaining) {
                h->remaining = remaining;
                h->capacity = cp / 1000;
                h->window = rp / 1000;
                h->reset = reset;
            }

            return;
        }
    }

    if (ctx->nhdrs == ZAE_LIMITS_MAX) {
        return;
    }

    h = &ctx->hdrs[ctx->nhdrs++];
    h->name = *name;
    h->capacity = cp / 1000;
    h->remaining = remaining;
    h->window = rp / 1000;
    h->reset = reset;
}


static void
ngx_http_zae_limit_hdrs_from_bucket(ngx_http_zae_limit_ctx_t *ctx,
    zae_bucket_item_t *bucket)
{
    size_t               i;
    zae_bucket_limit_t  *l;

    for (i = 0; i < bucket->nlimits; i++) {
        l = &bucket->limits[i];
        ngx_http_zae_limit_hdr_merge(ctx, &l->name, l->tk, l->cp, l->ra,
                                     l->rp);
    }
}


static void
ngx_http_zae_limit_reject_save(ngx_http_zae_limit_ctx_t *ctx,
    zae_bucket_item_t *image, int64_t retry_ms)
{
    size_t                        i;
    ngx_str_t                     key;
    ngx_http_zae_limit_reject_t   rj;

    if (image == NULL || retry_ms <= 0 || image->nlimits > ZAE_LIMITS_MAX) {
        return;
    }

    ngx_memzero(&rj, sizeof(rj));

    rj.rf = image->rf;
    rj.n = (u_char) image->nlimits;

    for (i = 0; i < image->nlimits; i++) {
        if (image->limits[i].name.len > ZAE_NAME_MAX_LEN) {
            return;
        }

        rj.l[i].len = (u_char) image->limits[i].name.len;
        ngx_memcpy(rj.l[i].name, image->limits[i].name.data, rj.l[i].len);
        rj.l[i].tk = image->limits[i].tk;
        rj.l[i].cp = image->limits[i].cp;
        rj.l[i].ra = image->limits[i].ra;
        rj.l[i].rp = image->limits[i].rp;
    }

    if (ngx_http_zae_limit_key(ctx, &image->entity_id, &key) == NULL) {
        return;
    }

    /* never trust the image longer than until refill could help */

    (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                        NGX_HTTP_ZAE_LIMIT_C_REJECT, &key,
                                        (u_char *) &rj,
                                        ngx_http_zae_limit_reject_size(rj.n),
                                        (ngx_msec_t) ngx_min(retry_ms,
                                                             3600000));
}


static ngx_int_t
ngx_http_zae_limit_reject(ngx_http_zae_limit_ctx_t *ctx,
    zae_limit_status_t *st, size_t n, zae_bucket_item_t *image)
{
    size_t                      i, p;
    zae_buf_t                   b;
    ngx_http_request_t         *r;
    ngx_http_zae_limit_hdr_t   *h;

    r = ctx->request;

    p = zae_body_primary(st, n);

    if (p == n) {
        return ngx_http_zae_limit_unavailable(ctx,
                                        "rejection without a violation");
    }

    if (image && image->entity_id.len == 0) {
        image->entity_id = ctx->ref.entity_id;
    }

    ngx_http_zae_limit_reject_save(ctx, image, st[p].retry_after_ms);

    zae_buf_init(&b, &ctx->mem, 1024);

    if (zae_body_rate_limited(&b, st, n, &ctx->retry_header) != ZAE_OK) {
        ctx->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_OK;
    }

    ctx->nhdrs = 0;

    for (i = 0; i < n && ctx->nhdrs < ZAE_LIMITS_MAX; i++) {
        h = &ctx->hdrs[ctx->nhdrs++];
        h->name = st[i].limit_name;
        h->capacity = st[i].capacity;
        h->remaining = ngx_max(st[i].available, 0);
        h->window = st[i].refill_period_seconds;
        h->reset = (st[i].retry_after_ms + 999) / 1000;
    }

    ngx_log_error(ctx->zlcf->limit_log_level, r->connection->log, 0,
                  "zae_limit: limiting requests%s, entity \"%V\", "
                  "resource \"%V\", limit \"%V\", retry after %L ms",
                  ctx->zlcf->dry_run ? ", dry run" : "",
                  (ngx_str_t *) &st[p].entity_id,
                  (ngx_str_t *) &ctx->ref.resource,
                  (ngx_str_t *) &st[p].limit_name, st[p].retry_after_ms);

    if (ctx->zlcf->dry_run) {
        ctx->status = NGX_HTTP_ZAE_LIMIT_REJECTED_DRY_RUN;
        ctx->rc = NGX_DECLINED;
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                NGX_HTTP_ZAE_LIMIT_M_REJECTED_DRY_RUN, 1);
        return NGX_OK;
    }

    ctx->status = NGX_HTTP_ZAE_LIMIT_REJECTED;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_REJECTED, 1);

    return ngx_http_zae_limit_respond(ctx, ctx->zlcf->status_code, &b);
}


static ngx_int_t
ngx_http_zae_limit_unavailable(ngx_http_zae_limit_ctx_t *ctx,
    const char *fmt, ...)
{
    u_char               *p, v;
    size_t                len;
    va_list               args;
    zae_str_t             c;
    ngx_str_t             key;
    zae_buf_t             b;
    ngx_uint_t            mode;
    ngx_http_request_t   *r;
    u_char                cause[ZAE_ERR_LEN + 64];

    r = ctx->request;

    va_start(args, fmt);
    p = ngx_vslprintf(cause, cause + sizeof(cause), fmt, args);
    va_end(args);

    c.data = cause;
    c.len = p - cause;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "zae_limit: dynamodb unavailable: %V, entity \"%V\", "
                  "resource \"%V\"", (ngx_str_t *) &c,
                  (ngx_str_t *) &ctx->ref.entity_id,
                  (ngx_str_t *) &ctx->ref.resource);

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_EVENTS, 1);

    mode = ctx->zlcf->on_unavailable;

    if (mode == NGX_HTTP_ZAE_LIMIT_UNSET && ctx->nsid.len) {
        key.data = ctx->nsid.data;
        key.len = ctx->nsid.len;

        if (ngx_http_zae_limit_cache_get(ctx->zmcf->shm_zone,
                                         NGX_HTTP_ZAE_LIMIT_C_SYSTEM, &key,
                                         &v, 1, &len)
            == NGX_OK)
        {
            mode = v;
        }
    }

    if (mode == NGX_HTTP_ZAE_LIMIT_ALLOW) {
        ctx->status = NGX_HTTP_ZAE_LIMIT_UNAVAILABLE_ALLOWED;
        ctx->rc = NGX_DECLINED;
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                              NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_ALLOWED, 1);
        return NGX_OK;
    }

    ctx->status = NGX_HTTP_ZAE_LIMIT_UNAVAILABLE_BLOCKED;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_BLOCKED, 1);

    zae_buf_init(&b, &ctx->mem, 512);

    if (zae_body_unavailable(&b, &c, &ctx->ref.table, &ctx->ref.entity_id,
                             &ctx->ref.resource)
        != ZAE_OK)
    {
        ctx->rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        return NGX_OK;
    }

    return ngx_http_zae_limit_respond(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, &b);
}


static ngx_int_t
ngx_http_zae_limit_invalid(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx, const char *field, ngx_str_t *value,
    zae_err_t *err)
{
    zae_buf_t  b;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "zae_limit: invalid %s: %s", field, err->msg);

    ctx->status = NGX_HTTP_ZAE_LIMIT_INVALID;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_INVALID, 1);

    zae_buf_init(&b, &ctx->mem, 256);

    if (zae_body_invalid(&b, field, value->data, value->len, err->msg)
        != ZAE_OK)
    {
        ctx->rc = NGX_HTTP_BAD_REQUEST;
        return NGX_OK;
    }

    return ngx_http_zae_limit_respond(ctx, NGX_HTTP_BAD_REQUEST, &b);
}


/*
 * Records a JSON answer; it is sent by the phase handler, in request
 * context, even when the decision was taken in a DynamoDB call's
 * completion handler.
 */

static ngx_int_t
ngx_http_zae_limit_respond(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t status,
    zae_buf_t *b)
{
    if (b->failed) {
        ctx->rc = status;
        return NGX_OK;
    }

    ctx->body.data = b->data;
    ctx->body.len = b->len;
    ctx->http_status = status;
    ctx->rc = NGX_DONE;

    return NGX_OK;
}


static ngx_int_t
ngx_http_zae_limit_answer(ngx_http_request_t *r, ngx_http_zae_limit_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_str_t                  type;
    ngx_table_elt_t           *h;
    ngx_http_complex_value_t   cv;

    if (ctx->rc != NGX_DONE) {
        return ctx->rc;
    }

    if (ctx->retry_header > 0) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");

        h->value.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "%L", ctx->retry_header)
                       - h->value.data;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));

    cv.value.data = ctx->body.data;
    cv.value.len = ctx->body.len;

    ngx_str_set(&type, "application/json");

    rc = ngx_http_send_response(r, ctx->http_status, &type, &cv);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* response headers: IETF RateLimit fields and OpenAI-style ones */

static ngx_int_t
ngx_http_zae_limit_add_header(ngx_http_request_t *r, char *name,
    ngx_str_t *suffix, u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.len = ngx_strlen(name) + (suffix ? suffix->len : 0);
    h->key.data = ngx_pnalloc(r->pool, h->key.len);
    if (h->key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(h->key.data, "%s%V", name,
                suffix ? suffix : &(ngx_str_t) ngx_null_string);

    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


/*
 * The IETF fields: RateLimit-Policy: "rpm";q=100;w=60, ... (quota and
 * window) and RateLimit: "rpm";r=99;t=1, ... (remaining and seconds until
 * full)
 */

static ngx_int_t
ngx_http_zae_limit_field(ngx_http_request_t *r, ngx_http_zae_limit_ctx_t *ctx,
    ngx_uint_t policy)
{
    u_char                    *p, *start;
    ngx_uint_t                 i;
    ngx_http_zae_limit_hdr_t  *h;

    start = ngx_pnalloc(r->pool,
                        ctx->nhdrs * (ZAE_NAME_MAX_LEN + 2 * NGX_INT64_LEN
                                      + 16));
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;

    for (i = 0; i < ctx->nhdrs; i++) {
        h = &ctx->hdrs[i];

        if (policy) {
            p = ngx_sprintf(p, "%s\"%V\";q=%L;w=%L", i ? ", " : "",
                            (ngx_str_t *) &h->name, h->capacity, h->window);

        } else {
            p = ngx_sprintf(p, "%s\"%V\";r=%L;t=%L", i ? ", " : "",
                            (ngx_str_t *) &h->name, h->remaining, h->reset);
        }
    }

    return ngx_http_zae_limit_add_header(r,
                                         policy ? "RateLimit-Policy"
                                                : "RateLimit",
                                         NULL, start, p - start);
}


static ngx_int_t
ngx_http_zae_limit_header_filter(ngx_http_request_t *r)
{
    u_char                    *p;
    ngx_str_t                  name;
    ngx_uint_t                 i;
    ngx_http_zae_limit_ctx_t  *ctx;
    ngx_http_zae_limit_hdr_t  *h;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_zae_limit_get_ctx(r);

    if (ctx == NULL || ctx->nhdrs == 0 || !ctx->zlcf->headers
        || ctx->logged)
    {
        return ngx_http_next_header_filter(r);
    }

    ctx->logged = 1;

    if (ngx_http_zae_limit_field(r, ctx, 1) != NGX_OK
        || ngx_http_zae_limit_field(r, ctx, 0) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->nhdrs; i++) {
        h = &ctx->hdrs[i];

        name.data = h->name.data;
        name.len = h->name.len;

        p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_zae_limit_add_header(r, "x-ratelimit-limit-", &name, p,
                                    ngx_sprintf(p, "%L", h->capacity) - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p += NGX_INT64_LEN;

        if (ngx_http_zae_limit_add_header(r, "x-ratelimit-remaining-", &name,
                                    p, ngx_sprintf(p, "%L", h->remaining) - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p += NGX_INT64_LEN;

        if (ngx_http_zae_limit_add_header(r, "x-ratelimit-reset-", &name, p,
                                    ngx_sprintf(p, "%Ls", h->reset) - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


/* variables */

ngx_int_t
ngx_http_zae_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_zae_limit_ctx_t  *ctx;

    ctx = ngx_http_zae_limit_get_ctx(r->main);

    if (ctx == NULL || ctx->status == NGX_HTTP_ZAE_LIMIT_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->len = ngx_http_zae_limit_status_names[ctx->status].len;
    v->data = ngx_http_zae_limit_status_names[ctx->status].data;

    return NGX_OK;
}


ngx_int_t
ngx_http_zae_limit_retry_after_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                    *p;
    ngx_http_zae_limit_ctx_t  *ctx;

    ctx = ngx_http_zae_limit_get_ctx(r->main);

    if (ctx == NULL || ctx->retry_header == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->len = ngx_sprintf(p, "%L", ctx->retry_header) - p;
    v->data = p;

    return NGX_OK;
}


ngx_int_t
ngx_http_zae_limit_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                *s;
    ngx_http_zae_limit_ctx_t  *ctx;

    ctx = ngx_http_zae_limit_get_ctx(r->main);

    if (ctx == NULL || ctx->step < NGX_HTTP_ZAE_LIMIT_STEP_CONFIG
        || ctx->status == NGX_HTTP_ZAE_LIMIT_NONE)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    s = zae_level_name(ctx->source);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->len = ngx_strlen(s);
    v->data = (u_char *) s;

    return NGX_OK;
}


/* the log phase: reconciliation and rollback */

static void
ngx_http_zae_limit_queue_delta(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity, zae_str_t *name, int64_t delta)
{
    ngx_str_t  pk, n;

    if (delta == 0) {
        return;
    }

    /* the bucket key of the shard the estimate was written to */

    pk.len = ctx->nsid.len + sizeof("/BUCKET###") + entity->len
             + ctx->ref.resource.len + NGX_INT64_LEN;
    pk.data = ngx_pnalloc(ctx->request->pool, pk.len);
    if (pk.data == NULL) {
        return;
    }

    pk.len = ngx_sprintf(pk.data, "%*s/BUCKET#%*s#%*s#%L",
                         ctx->nsid.len, ctx->nsid.data,
                         entity->len, entity->data,
                         ctx->ref.resource.len, ctx->ref.resource.data,
                         entity == &ctx->ref.entity_id ? ctx->ref.shard
                                                       : (int64_t) 0)
             - pk.data;

    n.data = name->data;
    n.len = name->len;

    if (ngx_http_zae_limit_delta_add(ctx->zmcf->shm_zone, &pk, &n, delta)
        != NGX_OK)
    {
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED, 1);

        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "zae_limit: reconciliation queue is full, "
                      "delta of %L tokens of limit \"%V\" for \"%V\" lost",
                      delta, &n, &pk);
        return;
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_DELTAS_QUEUED, 1);
}


static void
ngx_http_zae_limit_queue_both(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *name,
    int64_t delta)
{
    ngx_http_zae_limit_queue_delta(ctx, &ctx->ref.entity_id, name, delta);

    if (ctx->cascaded) {
        ngx_http_zae_limit_queue_delta(ctx, &ctx->parent, name, delta);
    }
}


ngx_int_t
ngx_http_zae_limit_log_handler(ngx_http_request_t *r)
{
    size_t                           j;
    int64_t                          actual, estimate;
    ngx_str_t                        value;
    ngx_uint_t                       i, status;
    zae_err_t                        err;
    ngx_http_zae_limit_ctx_t        *ctx;
    ngx_http_zae_limit_reconcile_t  *rc;

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_zae_limit_get_ctx(r);

    if (ctx == NULL || !ctx->acquired) {
        return NGX_OK;
    }

    ctx->acquired = 0;

    status = r->headers_out.status;

    if (ctx->zlcf->rollback && status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        /* the upstream failed: give the initial consumption back */

        for (j = 0; j < ctx->nconsume; j++) {
            ngx_http_zae_limit_queue_both(ctx, &ctx->consume[j].name,
                                          -ctx->consume[j].amount);
        }

        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_ROLLBACKS, 1);
        return NGX_OK;
    }

    if (ctx->zlcf->reconcile == NULL) {
        return NGX_OK;
    }

    rc = ctx->zlcf->reconcile->elts;

    for (i = 0; i < ctx->zlcf->reconcile->nelts; i++) {

        if (ngx_http_complex_value(r, &rc[i].value, &value) != NGX_OK) {
            continue;
        }

        if (zae_parse_tokens(value.data, value.len, &actual, &err)
            != ZAE_OK)
        {
            ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                    NGX_HTTP_ZAE_LIMIT_M_RECONCILE_INVALID, 1);

            if (ngx_time() != ngx_http_zae_limit_warn_time) {
                ngx_http_zae_limit_warn_time = ngx_time();

                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "zae_limit: invalid reconcile value \"%V\" of "
                              "limit \"%V\", estimate kept: %s",
                              &value, &rc[i].name,
                              value.len ? err.msg : "empty value");
            }

            continue;
        }

        estimate = 0;

        for (j = 0; j < ctx->nconsume; j++) {
            if (ctx->consume[j].name.len == rc[i].name.len
                && ngx_memcmp(ctx->consume[j].name.data, rc[i].name.data,
                              rc[i].name.len) == 0)
            {
                estimate = ctx->consume[j].amount;
                break;
            }
        }

        ngx_http_zae_limit_queue_both(ctx, (zae_str_t *) &rc[i].name,
                                      actual - estimate);
    }

    return NGX_OK;
}


/* the flush timer: coalesced deltas as unconditional ADDs */

static ngx_int_t
ngx_http_zae_limit_parse_pk(ngx_str_t *pk, zae_bucket_ref_t *ref)
{
    u_char  *p, *last, *slash, *e, *s;

    last = pk->data + pk->len;

    slash = ngx_strlchr(pk->data, last, '/');

    if (slash == NULL || last - slash < 8
        || ngx_strncmp(slash, "/BUCKET#", 8) != 0)
    {
        return NGX_ERROR;
    }

    e = slash + 8;
    p = ngx_strlchr(e, last, '#');

    if (p == NULL) {
        return NGX_ERROR;
    }

    for (s = last - 1; s > p && *s != '#'; s--) { /* void */ }

    if (s == p) {
        return NGX_ERROR;
    }

    ref->ns.data = pk->data;
    ref->ns.len = slash - pk->data;
    ref->entity_id.data = e;
    ref->entity_id.len = p - e;
    ref->resource.data = p + 1;
    ref->resource.len = s - p - 1;
    ref->shard = ngx_atoi(s + 1, last - s - 1);

    return ref->shard == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static void
ngx_http_zae_limit_flush_batch(ngx_http_zae_limit_main_conf_t *zmcf,
    ngx_log_t *log)
{
    size_t                              k;
    zae_buf_t                           b;
    zae_mem_t                           mem;
    ngx_uint_t                          i;
    ngx_pool_t                         *pool;
    ngx_array_t                        *deltas;
    zae_str_t                           wid;
    zae_amount_t                        amounts[ZAE_LIMITS_MAX + 1];
    zae_bucket_ref_t                    ref;
    ngx_http_zae_limit_flush_t         *fl;
    ngx_http_zae_limit_delta_t         *d;
    ngx_http_zae_limit_ddb_call_t      *call;
    ngx_http_zae_limit_bucket_delta_t  *bd;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return;
    }

    fl = ngx_pcalloc(pool, sizeof(ngx_http_zae_limit_flush_t));
    if (fl == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    fl->pool = pool;
    fl->zmcf = zmcf;

    deltas = ngx_http_zae_limit_delta_take(zmcf->shm_zone, pool, 64);

    if (deltas == NULL || deltas->nelts == 0) {
        ngx_destroy_pool(pool);
        return;
    }

    mem.alloc = ngx_http_zae_limit_pool_alloc;
    mem.ctx = pool;

    bd = deltas->elts;

    for (i = 0; i < deltas->nelts; i++) {

        ngx_memzero(&ref, sizeof(zae_bucket_ref_t));
        ref.table.data = zmcf->table.data;
        ref.table.len = zmcf->table.len;

        if (ngx_http_zae_limit_parse_pk(&bd[i].pk, &ref) != NGX_OK) {
            continue;
        }

        d = bd[i].limits.elts;

        for (k = 0; k < bd[i].limits.nelts && k < ZAE_LIMITS_MAX + 1; k++) {
            amounts[k].name.data = d[k].name.data;
            amounts[k].name.len = d[k].name.len;
            amounts[k].amount = d[k].delta;
        }

        /* an id per write: a retry after a lost answer is not added twice */

        wid.data = ngx_pnalloc(pool, NGX_INT64_LEN * 3 + 3);
        if (wid.data == NULL) {
            break;
        }

        wid.len = ngx_sprintf(wid.data, "%P-%M-%uA", ngx_pid,
                              ngx_current_msec, ++ngx_http_zae_limit_writes)
                  - wid.data;

        zae_buf_init(&b, &mem, 512);

        if (zae_proto_adjust_request_once(&b, &ref, amounts, k, &wid)
            != ZAE_OK
            || b.failed)
        {
            continue;
        }

        call = ngx_pcalloc(pool, sizeof(ngx_http_zae_limit_ddb_call_t)
                                 + sizeof(ngx_http_zae_limit_bucket_delta_t));
        if (call == NULL) {
            break;
        }

        ngx_memcpy(call + 1, &bd[i],
                   sizeof(ngx_http_zae_limit_bucket_delta_t));

        call->pool = pool;
        call->log = log;
        ngx_str_set(&call->op, "UpdateItem");
        call->body.data = b.data;
        call->body.len = b.len;
        call->handler = ngx_http_zae_limit_flush_done;
        call->data = fl;

        if (ngx_http_zae_limit_ddb_start(zmcf->ddb, call) != NGX_AGAIN) {
            call->rc = NGX_ERROR;
            fl->pending++;
            ngx_http_zae_limit_flush_done(call);
            continue;
        }

        fl->pending++;
        ngx_http_zae_limit_flushing++;
    }

    if (fl->pending == 0) {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_http_zae_limit_flush_done(ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_uint_t                          k;
    ngx_http_zae_limit_flush_t         *fl;
    ngx_http_zae_limit_delta_t         *d;
    ngx_http_zae_limit_bucket_delta_t  *bd;

    static ngx_str_t  ccf = ngx_string("ConditionalCheckFailedException");

    fl = call->data;
    bd = (ngx_http_zae_limit_bucket_delta_t *) (call + 1);
    d = bd->limits.elts;

    if (call->state) {
        ngx_http_zae_limit_metric_call(fl->zmcf->shm_zone, call);

        if (ngx_http_zae_limit_flushing) {
            ngx_http_zae_limit_flushing--;
        }
    }

    if (call->rc == NGX_OK
        && (call->status == 200
            || (call->error_type.len == ccf.len
                && ngx_strncmp(call->error_type.data, ccf.data, ccf.len)
                   == 0)))
    {
        /* 200, or a condition failure: an earlier attempt was applied */

        ngx_http_zae_limit_metric_add(fl->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_FLUSH_WRITES, 1);
        ngx_http_zae_limit_metric_add(fl->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_DELTAS_FLUSHED,
                                      bd->limits.nelts);

    } else {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "zae_limit: reconciliation write of \"%V\" failed "
                      "(%V), queued again", &bd->pk,
                      call->error.len ? &call->error : &call->error_type);

        ngx_http_zae_limit_metric_add(fl->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_FLUSH_ERRORS, 1);

        for (k = 0; k < bd->limits.nelts; k++) {
            if (ngx_http_zae_limit_delta_add(fl->zmcf->shm_zone, &bd->pk,
                                             &d[k].name, d[k].delta)
                != NGX_OK)
            {
                ngx_http_zae_limit_metric_add(fl->zmcf->shm_zone,
                                        NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED,
                                        1);
                ngx_log_error(NGX_LOG_ERR, call->log, 0,
                              "zae_limit: reconciliation queue is full, "
                              "delta of %L tokens of limit \"%V\" for "
                              "\"%V\" lost", d[k].delta, &d[k].name,
                              &bd->pk);
            }
        }
    }

    if (--fl->pending == 0) {
        ngx_destroy_pool(fl->pool);
    }
}


static void
ngx_http_zae_limit_flush(ngx_event_t *ev)
{
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ev->data;

    if (ngx_http_zae_limit_ddb_ready(zmcf->ddb) == NGX_OK
        && ngx_http_zae_limit_flushing == 0)
    {
        ngx_http_zae_limit_flush_batch(zmcf, ev->log);
    }

    if (ngx_exiting || ngx_terminate || ngx_quit) {

        /*
         * graceful shutdown: the timer stays armed (and keeps the worker
         * alive) while deltas are pending or being written; bounded by
         * the writes' own deadlines
         */

        if (ngx_http_zae_limit_flushing == 0
            && (ngx_http_zae_limit_delta_pending(zmcf->shm_zone) == 0
                || ngx_terminate))
        {
            return;
        }

        ngx_add_timer(ev, 50);
        return;
    }

    ngx_add_timer(ev, zmcf->flush_interval);
}


/*
 * A graceful shutdown (reload, quit) calls the read handler of every idle
 * connection: an idle connection on a pipe tells the worker to flush the
 * pending deltas at once instead of at the next interval.
 */

static void
ngx_http_zae_limit_exit_notify(ngx_event_t *rev)
{
    ngx_connection_t  *c;

    c = rev->data;

    if (!c->close) {
        return;
    }

    ngx_http_zae_limit_close_watcher();

    if (ngx_http_zae_limit_flush_event.timer_set) {
        ngx_del_timer(&ngx_http_zae_limit_flush_event);
    }

    ngx_http_zae_limit_flush(&ngx_http_zae_limit_flush_event);
}


static void
ngx_http_zae_limit_close_watcher(void)
{
    ngx_socket_t       fd, wfd;
    ngx_connection_t  *c;

    c = ngx_http_zae_limit_watcher;

    if (c == NULL) {
        return;
    }

    ngx_http_zae_limit_watcher = NULL;

    fd = c->fd;
    wfd = (ngx_socket_t) (uintptr_t) c->data;

    /* ngx_free_connection() reuses c->data for the free list */

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    if (close(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "zae_limit: close() of the exit watcher failed");
    }

    if (close(wfd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "zae_limit: close() of the exit watcher failed");
    }
}


static void
ngx_http_zae_limit_watch_exit(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
    int                fds[2];
    ngx_connection_t  *c;

    if (pipe(fds) == -1) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_errno,
                      "zae_limit: pipe() failed, pending deltas are "
                      "flushed at the next interval on shutdown");
        return;
    }

    c = ngx_get_connection(fds[0], cycle->log);
    if (c == NULL) {
        (void) close(fds[0]);
        (void) close(fds[1]);
        return;
    }

    c->data = (void *) (uintptr_t) fds[1];
    c->idle = 1;
    c->read->handler = ngx_http_zae_limit_exit_notify;
    c->read->log = cycle->log;
    c->write->log = cycle->log;

    ngx_http_zae_limit_watcher = c;
}


ngx_int_t
ngx_http_zae_limit_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module);

    if (cmcf == NULL) {
        return NGX_OK;
    }

    zmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_zae_limit_module);

    if (zmcf == NULL || !zmcf->configured) {
        return NGX_OK;
    }

    if (ngx_http_zae_limit_ddb_init_process(cycle, zmcf->ddb) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_zae_limit_watch_exit(cycle, zmcf);

    ngx_http_zae_limit_flush_event.handler = ngx_http_zae_limit_flush;
    ngx_http_zae_limit_flush_event.data = zmcf;
    ngx_http_zae_limit_flush_event.log = cycle->log;

    /*
     * not cancelable: a graceful shutdown waits for the last flush
     */

    ngx_add_timer(&ngx_http_zae_limit_flush_event,
                  zmcf->flush_interval / 2 + ngx_random() % 50);

    return NGX_OK;
}


void
ngx_http_zae_limit_exit_worker(ngx_cycle_t *cycle)
{
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_zae_limit_module);

    if (zmcf == NULL || !zmcf->configured) {
        return;
    }

    ngx_http_zae_limit_close_watcher();

    if (ngx_http_zae_limit_delta_pending(zmcf->shm_zone)) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "zae_limit: worker exits with %ui buckets of "
                      "reconciliation deltas pending in the shared zone",
                      ngx_http_zae_limit_delta_pending(zmcf->shm_zone));
    }

    ngx_http_zae_limit_ddb_exit_process(cycle, zmcf->ddb);
}


ngx_int_t
ngx_http_zae_limit_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_zae_limit_header_filter;

    return NGX_OK;
}
