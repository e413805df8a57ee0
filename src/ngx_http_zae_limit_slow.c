
/*
 * Copyright (C) zae-limit authors
 *
 * The slow path of the acquire, when the speculative write was refused
 * (or could not decide): limits from the config cache or one batch read
 * per entity, one batch read of META and the buckets, the compute step,
 * then one write (a transaction for child and parent), retried once on
 * a condition failure.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_ddb.h"
#include "zae_schema.h"
#include "zae_proto.h"


static ngx_int_t ngx_http_zae_limit_slow_next(ngx_http_zae_limit_ctx_t *ctx);


/*
 * The slow path (docs/table-format.md 6.3 to 6.5): limits from the
 * config cache or one batch read per entity, one batch read of META and
 * the buckets, the compute step, then one write (a transaction for child
 * and parent).
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
        ngx_http_zae_limit_trace1(ctx, "config cache miss for \"%V\"",
                                  ngx_http_zae_limit_v(entity));
        return NGX_DECLINED;
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_HITS, 1);

    ngx_http_zae_limit_trace2(ctx, "config cache hit for \"%V\": %s",
                              ngx_http_zae_limit_v(entity),
                              zae_level_name(cfg->source));

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


ngx_int_t
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

    ngx_http_zae_limit_trace1(ctx, "slow path%s",
                              ctx->image ? ", the refused write's image "
                                           "read" : "");

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

        ctx->config_entity = i;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_CONFIG;

        return ngx_http_zae_limit_send(ctx, 0, ZAE_DDB_BATCH_GET_ITEM,
                                       &b);
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

        ctx->read_items = what;
        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_READ;

        return ngx_http_zae_limit_send(ctx, 0, ZAE_DDB_BATCH_GET_ITEM,
                                       &b);
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

    ngx_http_zae_limit_trace2(ctx, "compute: %s, %uz items",
                              plan->rejected ? "rejected" : "write",
                              plan->nitems);

    ngx_http_zae_limit_unlimited(ctx, &ctx->slow->limits[0]);

    ngx_http_zae_limit_trace2(ctx, "compute: %s, %uz items",
                              plan->rejected ? "rejected" : "write",
                              plan->nitems);

    if (plan->rejected) {
        return ngx_http_zae_limit_reject(ctx, plan->statuses, plan->nstatuses,
                                         ents[0].bucket);
    }

    /*
     * with an id: an attempt applied whose answer was lost is not
     * counted twice (zae_proto.h)
     */

    if (ngx_http_zae_limit_acquire_id(ctx->request->pool, &plan->once_attr,
                                      &plan->once_id)
        != NGX_OK
        || zae_proto_write_request(&b, &ctx->ref.table, &ctx->nsid, plan,
                                   &ctx->write_op)
           != ZAE_OK)
    {
        return ngx_http_zae_limit_unavailable(ctx, "out of memory");
    }

    ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_WRITE;

    return ngx_http_zae_limit_send(ctx, 0, ctx->write_op, &b);
}


ngx_int_t
ngx_http_zae_limit_config_done(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                          j;
    unsigned                        mask, unprocessed;
    ngx_str_t                       key;
    zae_str_t                      *entity;
    zae_err_t                       err;
    ngx_uint_t                      i;
    zae_level_e                     source;
    const zae_limits_t             *limits;
    zae_config_levels_t             levels;
    ngx_http_zae_limit_config_t    *cfg;
    ngx_http_zae_limit_ddb_call_t  *call;

    if (ngx_http_zae_limit_call_answer(ctx, 0, NULL) != NGX_OK) {
        return NGX_OK;
    }

    call = &ctx->call[0];
    i = ctx->config_entity;
    entity = i ? &ctx->parent : &ctx->ref.entity_id;

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

    cfg = &ctx->slow->config[i];
    ngx_memzero(cfg, sizeof(*cfg));

    if (levels.level[ZAE_LEVEL_SYSTEM]
        && levels.level[ZAE_LEVEL_SYSTEM]->on_unavailable.len)
    {
        cfg->on_unavailable =
            (levels.level[ZAE_LEVEL_SYSTEM]->on_unavailable.data[0] == 'a')
            ? NGX_HTTP_ZAE_LIMIT_ALLOW : NGX_HTTP_ZAE_LIMIT_BLOCK;

        key = ngx_http_zae_limit_ngx_str(&ctx->nsid);

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
        return ngx_http_zae_limit_no_limits(ctx, entity);
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

    ctx->slow->limits[i] = *limits;
    ctx->sources[i] = source;
    ctx->have_limits |= 1 << i;

    ngx_http_zae_limit_trace3(ctx, "limits of \"%V\": %uz, %s",
                              ngx_http_zae_limit_v(entity), limits->nelts,
                              zae_level_name(source));

    return ngx_http_zae_limit_slow_next(ctx);
}


ngx_int_t
ngx_http_zae_limit_read_done(ngx_http_zae_limit_ctx_t *ctx)
{
    int                             rc;
    zae_err_t                       err;
    zae_str_t                      *parent;
    zae_proto_read_t                rd;
    zae_ddb_http_resp_t             resp;

    if (ngx_http_zae_limit_call_answer(ctx, 0, &resp) != NGX_OK) {
        return NGX_OK;
    }

    ngx_memzero(&rd, sizeof(zae_proto_read_t));

    parent = (ctx->read_items & ZAE_READ_PARENT) ? &ctx->parent : NULL;

    rc = zae_proto_read_decode(&ctx->mem, &ctx->ref, parent, ctx->read_items,
                               &resp, &rd, &err);

    if (rc != ZAE_OK) {
        if (rc == ZAE_DECLINED) {
            return ngx_http_zae_limit_unavailable(ctx,
                                        "bucket read failed: %V",
                                        ngx_http_zae_limit_v(&rd.error.code));
        }

        return ngx_http_zae_limit_unavailable(ctx, "bucket read failed: %s",
                                              err.msg);
    }

    ngx_http_zae_limit_bad_names(ctx->request->connection->log, &rd.bucket);
    ngx_http_zae_limit_bad_names(ctx->request->connection->log,
                                 &rd.parent_bucket);

    if (rd.unprocessed) {
        return ngx_http_zae_limit_unavailable(ctx,
                                     "bucket read left unprocessed keys");
    }

    if (ctx->read_items & ZAE_READ_META) {
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

    if ((ctx->read_items & ZAE_READ_PARENT) && ctx->cascade
        && !(ctx->have_read & ZAE_READ_PARENT))
    {
        ctx->slow->rd.parent_bucket = rd.parent_bucket;
        ctx->slow->rd.has_parent_bucket = rd.has_parent_bucket;
    }

    ctx->have_read |= ctx->read_items;

    ngx_http_zae_limit_trace3(ctx, "read: META %d, bucket %d, parent "
                              "bucket %d", (int) ctx->slow->rd.has_meta,
                              (int) ctx->slow->rd.has_bucket,
                              (int) ctx->slow->rd.has_parent_bucket);

    return ngx_http_zae_limit_slow_next(ctx);
}


ngx_int_t
ngx_http_zae_limit_write_done(ngx_http_zae_limit_ctx_t *ctx)
{
    zae_buf_t                       b;
    zae_proto_write_result_e        rc;
    zae_ddb_error_t                 e;
    zae_ddb_http_resp_t             resp;
    ngx_http_zae_limit_ddb_call_t  *call;

    if (ngx_http_zae_limit_call_answer(ctx, 0, &resp) != NGX_OK) {
        return NGX_OK;
    }

    call = &ctx->call[0];

    rc = zae_proto_write_decode(&ctx->mem, &resp, &e);

    if (rc == ZAE_WRITE_CONDITION_FAILED
        && zae_proto_applied_before(e.item, &ctx->slow->plan))
    {
        /* refused because an attempt of this very write was applied */

        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "zae_limit: write of entity \"%V\" resource \"%V\" "
                      "was applied before its answer was lost, counted "
                      "once", ngx_http_zae_limit_v(&ctx->ref.entity_id),
                      ngx_http_zae_limit_v(&ctx->ref.resource));

        rc = ZAE_WRITE_OK;
    }

    switch (rc) {

    case ZAE_WRITE_OK:

        ctx->cascaded = (ctx->slow->plan.nitems == 2);

        if (ctx->cascaded) {
            ctx->entity.cascade = 1;
        }

        ngx_http_zae_limit_hdrs_from_plan(ctx);

        return ngx_http_zae_limit_passed(ctx);

    case ZAE_WRITE_CONFLICT:

        if (ctx->conflicts++ < ZAE_PROTO_MAX_CONFLICT_RETRIES) {
            ngx_http_zae_limit_trace1(ctx, "transaction conflict, retry %ui",
                                      ctx->conflicts);

            /*
             * the same write under a new id: a canceled transaction was
             * not applied, and its token is not to be sent again
             */

            zae_buf_init(&b, &ctx->mem, call->body.len);

            if (ngx_http_zae_limit_acquire_id(ctx->request->pool,
                                              &ctx->slow->plan.once_attr,
                                              &ctx->slow->plan.once_id)
                != NGX_OK
                || (ctx->step == NGX_HTTP_ZAE_LIMIT_STEP_RETRY
                    ? zae_proto_retry_request(&b, &ctx->ref.table,
                                              &ctx->nsid, &ctx->slow->plan,
                                              &ctx->write_op)
                    : zae_proto_write_request(&b, &ctx->ref.table,
                                              &ctx->nsid, &ctx->slow->plan,
                                              &ctx->write_op))
                   != ZAE_OK)
            {
                return ngx_http_zae_limit_unavailable(ctx, "out of memory");
            }

            return ngx_http_zae_limit_send(ctx, 0, ctx->write_op, &b);
        }

        return ngx_http_zae_limit_unavailable(ctx, "transaction conflicts");

    case ZAE_WRITE_CONDITION_FAILED:

        if (ctx->step == NGX_HTTP_ZAE_LIMIT_STEP_RETRY) {
            ngx_http_zae_limit_trace(ctx, "retry condition failed: "
                                     "rejected");

            (void) zae_proto_retry_reject(&ctx->slow->plan);

            return ngx_http_zae_limit_reject(ctx, ctx->slow->plan.statuses,
                                             ctx->slow->plan.nstatuses, NULL);
        }

        ngx_http_zae_limit_trace(ctx, "write condition failed: retry");

        zae_buf_init(&b, &ctx->mem, 1024);

        /* another write: another id (a transaction's token) */

        if (ngx_http_zae_limit_acquire_id(ctx->request->pool,
                                          &ctx->slow->plan.once_attr,
                                          &ctx->slow->plan.once_id)
            != NGX_OK
            || zae_proto_retry_request(&b, &ctx->ref.table, &ctx->nsid,
                                       &ctx->slow->plan, &ctx->write_op)
               != ZAE_OK)
        {
            return ngx_http_zae_limit_unavailable(ctx, "out of memory");
        }

        ctx->step = NGX_HTTP_ZAE_LIMIT_STEP_RETRY;

        return ngx_http_zae_limit_send(ctx, 0, ctx->write_op, &b);

    default:
        return ngx_http_zae_limit_ddb_error(ctx, &e);
    }
}
