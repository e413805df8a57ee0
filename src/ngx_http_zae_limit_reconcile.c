
/*
 * Copyright (C) zae-limit authors
 *
 * The log phase and what follows it: the reconciliation of the
 * estimate with the actual amount and the rollback of a failed
 * upstream, queued as deltas in the shared zone; the worker's flush
 * timer that writes them coalesced, and the exit watcher that flushes
 * at once on a graceful shutdown.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_schema.h"
#include "zae_proto.h"


typedef struct {
    ngx_pool_t                      *pool;
    ngx_http_zae_limit_main_conf_t  *zmcf;
    ngx_uint_t                       pending;
} ngx_http_zae_limit_flush_t;


static void ngx_http_zae_limit_flush(ngx_event_t *ev);
static void ngx_http_zae_limit_close_watcher(void);
static void ngx_http_zae_limit_flush_done(
    ngx_http_zae_limit_ddb_call_t *call);


static ngx_event_t        ngx_http_zae_limit_flush_event;
static ngx_connection_t  *ngx_http_zae_limit_watcher;
static ngx_uint_t         ngx_http_zae_limit_flushing;
static time_t             ngx_http_zae_limit_warn_time;
static ngx_atomic_uint_t  ngx_http_zae_limit_writes;


/* the log phase: reconciliation and rollback */

void
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
        call->op = ZAE_DDB_UPDATE_ITEM;
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
ngx_http_zae_limit_reconcile_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
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
ngx_http_zae_limit_reconcile_exit_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
    ngx_http_zae_limit_close_watcher();

    if (ngx_http_zae_limit_delta_pending(zmcf->shm_zone)) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "zae_limit: worker exits with %ui buckets of "
                      "reconciliation deltas pending in the shared zone",
                      ngx_http_zae_limit_delta_pending(zmcf->shm_zone));
    }
}
