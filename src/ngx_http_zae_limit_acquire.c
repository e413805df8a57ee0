
/*
 * Copyright (C) zae-limit authors
 *
 * The acquire: the precontent-phase handler and its state machine,
 * parked while DynamoDB answers.  The speculative write (one
 * conditional UpdateItem per bucket, child and parent concurrently);
 * when it is refused, the slow path (ngx_http_zae_limit_slow.c).  The
 * decision goes to ngx_http_zae_limit_response.c.
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


#define NGX_HTTP_ZAE_LIMIT_NSID_TTL      3600000


/* per worker: invalid consume amounts, one line a second */

static ngx_http_zae_limit_log_limit_t  ngx_http_zae_limit_amount_log;


#if (NGX_DEBUG)

static const char  *ngx_http_zae_limit_step_names[] = {
    "namespace lookup",
    "speculative write",
    "shard_count bump",
    "config read",
    "bucket read",
    "write",
    "write retry"
};


/* by zae_spec_decision_e */

static const char  *ngx_http_zae_limit_spec_names[] = {
    "ok",
    "bucket missing",
    "wcu exhausted",
    "shard retry",
    "limit absent",
    "refill would help",
    "reject",
    "expired",
    "error"
};

#endif


static ngx_int_t ngx_http_zae_limit_start(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_nsid_lookup(
    ngx_http_zae_limit_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_next(ngx_http_zae_limit_ctx_t *ctx);
static void ngx_http_zae_limit_call_done(ngx_http_zae_limit_ddb_call_t *call);
static ngx_int_t ngx_http_zae_limit_spec_done(ngx_http_zae_limit_ctx_t *ctx);
static void ngx_http_zae_limit_keep_image(ngx_http_zae_limit_ctx_t *ctx,
    zae_spec_result_t *res);
static void ngx_http_zae_limit_entity_put(ngx_http_zae_limit_ctx_t *ctx,
    ngx_http_zae_limit_entity_t *ent);


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
            ngx_http_zae_limit_trace(ctx, "resumed");

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

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_zae_limit_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(ctx, offsetof(ngx_http_zae_limit_ctx_t, consume));

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
        ngx_http_zae_limit_trace1(ctx, "parked, %ui calls pending",
                                  ctx->pending);

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
    ngx_str_t                        entity, resource, ns, amount, key, more;
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

    if (entity.len == 0 && zlcf->empty_reject) {
        zae_err_set(&err, "is empty");
        return ngx_http_zae_limit_invalid(r, ctx, "entity_id", &entity,
                                          &err);
    }

    if (entity.len == 0) {
        ngx_http_zae_limit_trace(ctx, "skipped: empty entity");

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
        ctx->consume[i].name = ngx_http_zae_limit_zae_str(&c[i].name);

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
            /*
             * the amount comes from the request (an estimate header):
             * the client's mistake, a 400; at most 64 bytes of the value
             * in the line, so that it stays whole, and one line a second
             */

            if (ngx_http_zae_limit_log_limit(&ngx_http_zae_limit_amount_log,
                                             &more)
                == NGX_OK)
            {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "zae_limit: invalid consume amount \"%*s%s\" "
                              "of limit \"%V\" in \"zae_limit\" directive"
                              "%V", ngx_min(amount.len, 64), amount.data,
                              amount.len > 64 ? "..." : "", &c[i].name,
                              &more);
            }

            return ngx_http_zae_limit_invalid(r, ctx, "consume amount",
                                              &amount, &err);
        }
    }

    ctx->nconsume = zlcf->consume->nelts;

    ctx->ns_name = ngx_http_zae_limit_zae_str(&ns);

    ctx->ref.table = ngx_http_zae_limit_zae_str(&zmcf->table);
    ctx->ref.entity_id = ngx_http_zae_limit_zae_str(&entity);
    ctx->ref.resource = ngx_http_zae_limit_zae_str(&resource);

    ctx->now_ms = ngx_http_zae_limit_now_ms();

    ngx_http_zae_limit_trace3(ctx, "start: entity \"%V\", resource \"%V\", "
                              "namespace \"%V\"", &entity, &resource, &ns);

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

        ngx_http_zae_limit_trace1(ctx, "namespace id \"%V\" from the cache",
                                  ngx_http_zae_limit_v(&ctx->nsid));

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

    return ngx_http_zae_limit_send(ctx, 0, ZAE_DDB_GET_ITEM, &b);
}


ngx_int_t
ngx_http_zae_limit_send(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t i,
    zae_ddb_op_e op, zae_buf_t *b)
{
    ngx_int_t                       rc;
    ngx_http_zae_limit_ddb_call_t  *call;

    if (b->failed) {
        return ngx_http_zae_limit_unavailable(ctx, "out of memory");
    }

    call = &ctx->call[i];

    ngx_memzero(call, sizeof(ngx_http_zae_limit_ddb_call_t));

    call->pool = ctx->request->pool;
    call->log = ctx->request->connection->log;
    call->op = op;
    call->body.data = b->data;
    call->body.len = b->len;
    call->handler = ngx_http_zae_limit_call_done;
    call->data = ctx;

    /* the acquire's own line says why, at most one per request */
    call->log_level = NGX_LOG_INFO;

    rc = ngx_http_zae_limit_ddb_start(ctx->zmcf->ddb, call);

    if (rc == NGX_BUSY) {
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_DDB_BUSY, 1);
        return ngx_http_zae_limit_unavailable(ctx,
                                              "max_connections DynamoDB "
                                              "connections in use and "
                                              "max_waiting calls waiting");
    }

    if (rc != NGX_AGAIN) {
        return ngx_http_zae_limit_unavailable(ctx, "could not start a call%s%V",
                                              call->error.len ? ": " : "",
                                              &call->error);
    }

    ctx->pending++;

    ngx_http_zae_limit_trace3(ctx, "%s: %s, call %ui",
                              ngx_http_zae_limit_step_names[ctx->step],
                              zae_ddb_op_name(op), i);

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

void
ngx_http_zae_limit_resp(ngx_http_zae_limit_ddb_call_t *call,
    zae_ddb_http_resp_t *resp)
{
    ngx_memzero(resp, sizeof(zae_ddb_http_resp_t));

    resp->status = call->status;
    resp->body = ngx_http_zae_limit_zae_str(&call->response);
}


/*
 * NGX_OK when call i got a final answer, in *resp unless resp is NULL;
 * else the request is decided here (unavailable) and NGX_DECLINED tells
 * the caller to stop: there is no answer to decode
 */

ngx_int_t
ngx_http_zae_limit_call_answer(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t i,
    zae_ddb_http_resp_t *resp)
{
    ngx_http_zae_limit_ddb_call_t  *call;

    call = &ctx->call[i];

    if (call->rc == NGX_OK) {
        if (resp) {
            ngx_http_zae_limit_resp(call, resp);
        }

        return NGX_OK;
    }

    (void) ngx_http_zae_limit_unavailable(ctx, "dynamodb %s failed: %V",
                                          zae_ddb_op_name(call->op),
                                          &call->error);

    return NGX_DECLINED;
}


/* a DynamoDB answer the protocol does not expect: its code, else why */

ngx_int_t
ngx_http_zae_limit_ddb_error(ngx_http_zae_limit_ctx_t *ctx,
    zae_ddb_error_t *e)
{
    if (e->code.len) {
        return ngx_http_zae_limit_unavailable(ctx, "dynamodb error: %V",
                                              ngx_http_zae_limit_v(&e->code));
    }

    return ngx_http_zae_limit_unavailable(ctx, "dynamodb error: %s",
                                          e->err.msg[0] ? e->err.msg
                                                        : "unexpected answer");
}


static ngx_int_t
ngx_http_zae_limit_next(ngx_http_zae_limit_ctx_t *ctx)
{
    ngx_str_t                       name;
    zae_err_t                       err;
    zae_av_t                       *root, *item;
    zae_str_t                       s;
    zae_ddb_error_t                 e;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    call = &ctx->call[0];

    if (call->rc == NGX_OK && call->status == 400
        && call->error_type.len == sizeof("ResourceNotFoundException") - 1
        && ngx_strncmp(call->error_type.data, "ResourceNotFoundException",
                       call->error_type.len)
           == 0)
    {
        return ngx_http_zae_limit_unavailable(ctx,
                                  "table \"%V\" not found at %V (region %V): "
                                  "run zae-admin deploy", &ctx->zmcf->table,
                                  ngx_http_zae_limit_ddb_endpoint(
                                                            ctx->zmcf->ddb),
                                  &ctx->zmcf->ddb_conf.region);
    }

    switch (ctx->step) {

    case NGX_HTTP_ZAE_LIMIT_STEP_NSID:

        if (ngx_http_zae_limit_call_answer(ctx, 0, &resp) != NGX_OK) {
            return NGX_OK;
        }

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
                                  ngx_http_zae_limit_v(&ctx->ns_name));
        }

        /*
         * a namespace id never changes while the namespace lives (zae
         * caches it for good); a long ttl keeps many requests from
         * looking it up at the same moment when an entry expires
         */

        name = ngx_http_zae_limit_ngx_str(&ctx->ns_name);

        (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                            NGX_HTTP_ZAE_LIMIT_C_NSID, &name,
                                            ctx->nsid.data, ctx->nsid.len,
                                            NGX_HTTP_ZAE_LIMIT_NSID_TTL);

        ctx->ref.ns = ctx->nsid;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_SPEC;

        ngx_http_zae_limit_trace2(ctx, "namespace \"%V\" is id \"%V\"",
                                  &name, ngx_http_zae_limit_v(&ctx->nsid));

        return ngx_http_zae_limit_spec(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_SPEC:
        return ngx_http_zae_limit_spec_done(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_BUMP:

        /* the bump's own condition failure is ignored, as upstream does */

        ngx_http_zae_limit_trace(ctx, "shard_count bumped");

        return ngx_http_zae_limit_slow(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_CONFIG:
        return ngx_http_zae_limit_config_done(ctx);

    case NGX_HTTP_ZAE_LIMIT_STEP_READ:
        return ngx_http_zae_limit_read_done(ctx);

    default: /* NGX_HTTP_ZAE_LIMIT_STEP_WRITE, NGX_HTTP_ZAE_LIMIT_STEP_RETRY */
        return ngx_http_zae_limit_write_done(ctx);
    }
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
        ngx_http_zae_limit_trace(ctx, "rejection cache miss");
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
            ngx_http_zae_limit_trace1(ctx, "rejection cache hit without "
                                      "limit \"%V\"",
                                      ngx_http_zae_limit_v(
                                          &ctx->consume[i].name));
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

        ngx_http_zae_limit_trace(ctx, "rejection cache hit, refill caught "
                                 "up");
        return NGX_DECLINED;
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_REJECT_CACHE_HITS, 1);

    ngx_http_zae_limit_trace(ctx, "rejection cache hit: still refused");

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

    ngx_http_zae_limit_trace2(ctx, "speculative write of \"%V\" shard %L",
                              ngx_http_zae_limit_v(&ref->entity_id),
                              ref->shard);

    if ((ctx->lease_k > 1
         ? zae_proto_refill_request(&b, ref, ctx->consume, ctx->nconsume,
                                    ctx->now_ms, &ctx->lease_attr,
                                    &ctx->lease_id, &err)
         : zae_proto_spec_request(&b, ref, ctx->consume, ctx->nconsume,
                                  ctx->now_ms, &err))
        != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "%s", err.msg);
    }

    return ngx_http_zae_limit_send(ctx, i, ZAE_DDB_UPDATE_ITEM, &b);
}


ngx_int_t
ngx_http_zae_limit_spec(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                        len;
    ngx_int_t                     rc;
    ngx_str_t                    *key;
    ngx_http_zae_limit_entity_t  *ent;

    rc = ngx_http_zae_limit_lease_take(ctx);

    if (rc != NGX_DECLINED) {
        return rc;
    }

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

        ngx_http_zae_limit_trace4(ctx, "entity cache hit: %L shards, "
                                  "cascade %d, parent \"%*s\"",
                                  ent->shard_count, (int) ent->cascade,
                                  (size_t) ent->plen, ent->parent);

    } else {
        ngx_http_zae_limit_trace(ctx, "entity cache miss");
    }

    ctx->ref.shard = 0;

    if (ctx->entity_known && ent->shard_count > 1 && !ent->single) {
        ctx->ref.shard = ngx_random() % ent->shard_count;
    }

    ngx_http_zae_limit_lease_begin(ctx);

    rc = ngx_http_zae_limit_spec_send(ctx, 0, &ctx->ref);

    if (rc != NGX_AGAIN) {
        ngx_http_zae_limit_lease_abort(ctx);
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

            /*
             * the parent's call did not start while the child's is in
             * flight: the answer (already decided) waits for the child's,
             * so that a consumption it applied is given back
             */

            ctx->cascaded = 0;
            ctx->orphan = 1;
            ctx->orphan_rc = rc;

            return NGX_AGAIN;
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


void
ngx_http_zae_limit_compensate(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *entity)
{
    size_t  i;

    ngx_http_zae_limit_trace1(ctx, "compensate \"%V\"",
                              ngx_http_zae_limit_v(entity));

    for (i = 0; i < ctx->nconsume; i++) {
        ngx_http_zae_limit_queue_delta(ctx, entity, &ctx->consume[i].name,
                                       -ctx->consume[i].amount);
    }
}


static ngx_int_t
ngx_http_zae_limit_spec_done(ngx_http_zae_limit_ctx_t *ctx)
{
    ngx_int_t                       rc;
    zae_buf_t                       b;
    zae_err_t                       err;
    ngx_uint_t                      i, n;
    zae_bucket_ref_t                ref0;
    zae_spec_result_t              *res;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    rc = ngx_http_zae_limit_lease_done(ctx);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ctx->orphan) {
        ctx->orphan = 0;
        call = &ctx->call[0];

        if (call->rc == NGX_OK) {
            ngx_http_zae_limit_resp(call, &resp);

            if (zae_proto_spec_decode(&ctx->mem, ctx->consume,
                                      ctx->nconsume, ctx->now_ms, &resp,
                                      &ctx->spec[0], &err)
                == ZAE_OK
                && ctx->spec[0].decision == ZAE_SPEC_OK)
            {
                ngx_http_zae_limit_compensate(ctx, &ctx->ref.entity_id);
            }
        }

        return ctx->orphan_rc;
    }

    n = ctx->cascaded ? 2 : 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_zae_limit_call_answer(ctx, i, &resp) != NGX_OK) {

            if (i == 1 && ctx->spec[0].decision == ZAE_SPEC_OK) {
                ngx_http_zae_limit_compensate(ctx, &ctx->ref.entity_id);
            }

            return NGX_OK;
        }

        call = &ctx->call[i];
        res = &ctx->spec[i];

        if (zae_proto_spec_decode(&ctx->mem, ctx->consume, ctx->nconsume,
                                  ctx->now_ms, &resp, res, &err)
            != ZAE_OK)
        {
            return ngx_http_zae_limit_unavailable(ctx, "%s", err.msg);
        }

        ngx_http_zae_limit_bad_names(ctx->request->connection->log,
                                     &res->bucket);

        ngx_http_zae_limit_trace2(ctx, "speculative write %ui: %s", i,
                                  ngx_http_zae_limit_spec_names[res->decision]);
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

            rc = ngx_http_zae_limit_spec_send(ctx, 1, &ctx->pref);

            if (rc != NGX_AGAIN) {

                /* the parent's call did not start: the child's goes back */

                ctx->cascaded = 0;
                ngx_http_zae_limit_compensate(ctx, &ctx->ref.entity_id);
            }

            return rc;
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

            ngx_http_zae_limit_trace1(ctx, "retry on shard %L",
                                      ctx->ref.shard);

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

        return ngx_http_zae_limit_send(ctx, 0, ZAE_DDB_UPDATE_ITEM, &b);

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
