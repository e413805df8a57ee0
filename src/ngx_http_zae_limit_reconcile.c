
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
#include <ngx_md5.h>

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


/* a worker's writes in flight at a time */
#define NGX_HTTP_ZAE_LIMIT_FLUSH_CONCURRENCY  16


static ngx_event_t        ngx_http_zae_limit_flush_event;
static ngx_connection_t  *ngx_http_zae_limit_watcher;
static ngx_uint_t         ngx_http_zae_limit_flushing;
static ngx_uint_t         ngx_http_zae_limit_round;
static ngx_msec_t         ngx_http_zae_limit_round_start;
static ngx_uint_t         ngx_http_zae_limit_generation;
static ngx_msec_t         ngx_http_zae_limit_exit_deadline;
static ngx_msec_t         ngx_http_zae_limit_shutdown_timeout;
static time_t             ngx_http_zae_limit_warn_time;
static time_t             ngx_http_zae_limit_fail_time;
static ngx_uint_t         ngx_http_zae_limit_fail_quiet;
static u_char             ngx_http_zae_limit_writer[16];
static u_char             ngx_http_zae_limit_acquirer[24];
static uint64_t           ngx_http_zae_limit_acquire_next;


/* the log phase: reconciliation and rollback */

/*
 * An exiting worker: on a reload that keeps the zone, workers of the new
 * configuration take the pending deltas over and this one stops taking
 * them; on a quit it writes them until the exit deadline.
 */

static ngx_uint_t
ngx_http_zae_limit_handover(ngx_http_zae_limit_main_conf_t *zmcf)
{
    return ngx_http_zae_limit_zone_newer(zmcf->shm_zone,
                                         ngx_http_zae_limit_generation);
}


static void
ngx_http_zae_limit_exit_begin(ngx_http_zae_limit_main_conf_t *zmcf)
{
    ngx_msec_t  t;

    if (ngx_http_zae_limit_exit_deadline) {
        return;
    }

    t = zmcf->exit_deadline;

    if (ngx_http_zae_limit_shutdown_timeout
        && ngx_http_zae_limit_shutdown_timeout < t)
    {
        t = ngx_http_zae_limit_shutdown_timeout;
    }

    ngx_http_zae_limit_exit_deadline = ngx_current_msec + t;

    if (ngx_http_zae_limit_exit_deadline == 0) {
        ngx_http_zae_limit_exit_deadline = 1;
    }
}


static ngx_msec_int_t
ngx_http_zae_limit_exit_left(void)
{
    return (ngx_msec_int_t) (ngx_http_zae_limit_exit_deadline
                             - ngx_current_msec);
}


void
ngx_http_zae_limit_queue_delta(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity, zae_str_t *name, int64_t delta)
{
    int64_t            lost;
    ngx_str_t          key, n;
    const char        *why;
    zae_bucket_ref_t   ref;

    if (delta == 0) {
        return;
    }

    /* the bucket of the shard the estimate was written to */

    ref = ctx->ref;
    ref.ns = ctx->nsid;
    ref.entity_id = *entity;
    ref.shard = (entity == &ctx->ref.entity_id) ? ctx->ref.shard : 0;

    n.data = name->data;
    n.len = name->len;

    lost = 0;

    if (ngx_http_zae_limit_bucket_key(ctx->request->pool, &ref, &key)
        != NGX_OK)
    {
        why = "out of memory";
        lost = delta;

    } else if (ngx_http_zae_limit_delta_add(ctx->zmcf->shm_zone, &key, &n,
                                            delta, &lost)
               != NGX_OK)
    {
        why = "reconciliation queue is full";
        lost = delta;

    } else {
        why = "pending sum saturated";
    }

    if (lost) {
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED, 1);

        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "zae_limit: %s, %L of %L tokens of limit \"%V\" "
                      "for entity \"%V\" resource \"%V\" shard %L lost",
                      why, lost, delta, &n, (ngx_str_t *) &ref.entity_id,
                      (ngx_str_t *) &ref.resource, ref.shard);

        if (lost == delta) {
            return;
        }
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_DELTAS_QUEUED, 1);

    /*
     * a request that ends after a quit began: the worker stays until its
     * delta is written (the timer is not cancelable), within the deadline
     */

    if (ngx_exiting && !ngx_http_zae_limit_flush_event.timer_set
        && ngx_http_zae_limit_flush_event.handler
        && !ngx_http_zae_limit_handover(ctx->zmcf))
    {
        ngx_add_timer(&ngx_http_zae_limit_flush_event, 1);
    }
}


void
ngx_http_zae_limit_queue_both(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *name,
    int64_t delta)
{
    ngx_http_zae_limit_queue_delta(ctx, &ctx->ref.entity_id, name, delta);

    if (ctx->cascaded) {
        ngx_http_zae_limit_queue_delta(ctx, &ctx->parent, name, delta);
    }
}


/*
 * The actual amount of limit "name" of an admitted request: the
 * difference to the estimate is queued for the entity (and its parent).
 * The one entry point of every reconcile source.
 */

void
ngx_http_zae_limit_reconcile_amount(ngx_http_zae_limit_ctx_t *ctx,
    ngx_str_t *name, int64_t actual)
{
    size_t   j;
    int64_t  estimate;

    estimate = 0;

    for (j = 0; j < ctx->nconsume; j++) {
        if (ctx->consume[j].name.len == name->len
            && ngx_memcmp(ctx->consume[j].name.data, name->data, name->len)
               == 0)
        {
            estimate = ctx->consume[j].amount;
            break;
        }
    }

    ngx_http_zae_limit_queue_both(ctx, (zae_str_t *) name, actual - estimate);
}


ngx_int_t
ngx_http_zae_limit_log_handler(ngx_http_request_t *r)
{
    size_t                           j;
    int64_t                          actual;
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

        ngx_http_zae_limit_reconcile_amount(ctx, &rc[i].name, actual);
    }

    return NGX_OK;
}


/*
 * The flush timer: every interval each worker writes every bucket that
 * was pending at the start of the round, oldest first, at most
 * NGX_HTTP_ZAE_LIMIT_FLUSH_CONCURRENCY writes at a time; each write is
 * one UpdateItem that ADDs the bucket's amounts and sets its id in the
 * writer's attribute.  A write that is not settled stays held in the
 * zone with its id and amounts and is sent again as it was.
 */

static ngx_msec_t
ngx_http_zae_limit_backoff_cap(ngx_http_zae_limit_main_conf_t *zmcf)
{
    if (ngx_exiting) {
        return ngx_min(zmcf->flush_interval, 1000);
    }

    return zmcf->flush_interval;
}


static void
ngx_http_zae_limit_flush_start(ngx_http_zae_limit_main_conf_t *zmcf,
    ngx_http_zae_limit_flush_t *fl, ngx_http_zae_limit_bucket_delta_t *bd,
    ngx_log_t *log)
{
    size_t                          k;
    zae_buf_t                       b;
    zae_mem_t                       mem;
    zae_str_t                       wid, writer;
    zae_amount_t                    amounts[ZAE_LIMITS_MAX + 1];
    ngx_http_zae_limit_shm_t       *shm;
    ngx_http_zae_limit_delta_t     *d;
    ngx_http_zae_limit_ddb_call_t  *call;

    shm = zmcf->shm_zone->data;

    bd->ref.table.data = zmcf->table.data;
    bd->ref.table.len = zmcf->table.len;

    d = bd->limits.elts;

    for (k = 0; k < bd->limits.nelts && k < ZAE_LIMITS_MAX + 1; k++) {
        amounts[k].name.data = d[k].name.data;
        amounts[k].name.len = d[k].name.len;
        amounts[k].amount = d[k].delta;
    }

    mem.alloc = ngx_http_zae_limit_pool_alloc;
    mem.ctx = fl->pool;

    /* the write's id: unique per zone and over restarts (the epoch) */

    wid.data = ngx_pnalloc(fl->pool, 2 * NGX_INT64_LEN + 1);
    call = ngx_pcalloc(fl->pool, sizeof(ngx_http_zae_limit_ddb_call_t)
                                 + sizeof(ngx_http_zae_limit_bucket_delta_t));

    if (wid.data == NULL || call == NULL) {
        goto failed;
    }

    wid.len = ngx_sprintf(wid.data, "%xL-%xL", shm->sh->wid_epoch, bd->wid)
              - wid.data;

    writer.data = ngx_http_zae_limit_writer;
    writer.len = ngx_strlen(ngx_http_zae_limit_writer);

    zae_buf_init(&b, &mem, 512);

    if (zae_proto_adjust_request_once(&b, &bd->ref, amounts, k, &writer,
                                      &wid)
        != ZAE_OK
        || b.failed)
    {
        goto failed;
    }

    ngx_memcpy(call + 1, bd, sizeof(ngx_http_zae_limit_bucket_delta_t));

    call->pool = fl->pool;
    call->log = log;
    call->op = ZAE_DDB_UPDATE_ITEM;
    call->body.data = b.data;
    call->body.len = b.len;
    call->handler = ngx_http_zae_limit_flush_done;
    call->data = fl;

    /* the flush logs its failures itself, at most one line a second */

    call->log_level = NGX_LOG_INFO;

    if (ngx_exiting) {

        /* a quit: no write outlives the deadline */

        call->deadline = ngx_max(ngx_http_zae_limit_exit_left(), 1);
    }

    if (ngx_http_zae_limit_ddb_start(zmcf->ddb, call) != NGX_AGAIN) {
        goto failed;
    }

    fl->pending++;
    ngx_http_zae_limit_flushing++;

    return;

failed:

    /* nothing was sent: the write stays held, nothing is lost */

    ngx_http_zae_limit_metric_add(zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_FLUSH_ERRORS, 1);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "zae_limit: reconciliation write of entity \"%V\" "
                  "resource \"%V\" shard %L could not be started, "
                  "kept for a retry", (ngx_str_t *) &bd->ref.entity_id,
                  (ngx_str_t *) &bd->ref.resource, bd->ref.shard);

    ngx_http_zae_limit_delta_settle(zmcf->shm_zone, bd, 0,
                                    ngx_http_zae_limit_backoff_cap(zmcf));
}


/* takes and starts writes of the current round up to the concurrency */

static void
ngx_http_zae_limit_flush_more(ngx_http_zae_limit_main_conf_t *zmcf,
    ngx_log_t *log)
{
    ngx_uint_t                          i;
    ngx_msec_t                          stale;
    ngx_pool_t                         *pool;
    ngx_array_t                        *deltas;
    ngx_http_zae_limit_flush_t         *fl;
    ngx_http_zae_limit_bucket_delta_t  *bd;

    stale = 2 * zmcf->ddb_conf.timeout * zmcf->ddb_conf.max_attempts + 1000;

    if (ngx_exiting) {
        ngx_http_zae_limit_exit_begin(zmcf);
    }

    while (ngx_http_zae_limit_round
           && ngx_http_zae_limit_flushing
              < NGX_HTTP_ZAE_LIMIT_FLUSH_CONCURRENCY)
    {
        if (ngx_exiting
            && (ngx_http_zae_limit_handover(zmcf)
                || ngx_http_zae_limit_exit_left() <= 0))
        {
            ngx_http_zae_limit_round = 0;
            return;
        }

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

        deltas = ngx_http_zae_limit_delta_take(zmcf->shm_zone, pool,
                                     NGX_HTTP_ZAE_LIMIT_FLUSH_CONCURRENCY
                                     - ngx_http_zae_limit_flushing,
                                     ngx_http_zae_limit_round_start, stale);

        if (deltas == NULL || deltas->nelts == 0) {

            /* everything pending at the start of the round is taken */

            ngx_destroy_pool(pool);
            ngx_http_zae_limit_round = 0;
            return;
        }

        bd = deltas->elts;

        for (i = 0; i < deltas->nelts; i++) {
            ngx_http_zae_limit_flush_start(zmcf, fl, &bd[i], log);
        }

        if (fl->pending == 0) {
            ngx_destroy_pool(pool);
        }
    }
}


static void
ngx_http_zae_limit_flush_done(ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_uint_t                          written;
    ngx_http_zae_limit_flush_t         *fl;
    ngx_http_zae_limit_main_conf_t     *zmcf;
    ngx_http_zae_limit_bucket_delta_t  *bd;

    static ngx_str_t  ccf = ngx_string("ConditionalCheckFailedException");

    fl = call->data;
    zmcf = fl->zmcf;
    bd = (ngx_http_zae_limit_bucket_delta_t *) (call + 1);

    ngx_http_zae_limit_metric_call(zmcf->shm_zone, call);

    if (ngx_http_zae_limit_flushing) {
        ngx_http_zae_limit_flushing--;
    }

    /* 200, or a condition failure: this id was applied before */

    written = (call->rc == NGX_OK
               && (call->status == 200
                   || (call->error_type.len == ccf.len
                       && ngx_strncmp(call->error_type.data, ccf.data,
                                      ccf.len)
                          == 0)));

    if (written) {
        ngx_http_zae_limit_metric_add(zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_FLUSH_WRITES, 1);
        ngx_http_zae_limit_metric_add(zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_DELTAS_FLUSHED,
                                      bd->limits.nelts);

        if (bd->retry) {
            ngx_log_error(NGX_LOG_INFO, call->log, 0,
                          "zae_limit: in-doubt reconciliation write of "
                          "entity \"%V\" resource \"%V\" shard %L settled%s",
                          (ngx_str_t *) &bd->ref.entity_id,
                          (ngx_str_t *) &bd->ref.resource, bd->ref.shard,
                          call->status == 200 ? ""
                                              : " (it was applied before)");
        }

    } else {
        ngx_http_zae_limit_metric_add(zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_FLUSH_ERRORS, 1);

        if (call->rc != NGX_OK) {

            /* no final answer: an attempt may have been applied */

            ngx_http_zae_limit_metric_add(zmcf->shm_zone,
                                          NGX_HTTP_ZAE_LIMIT_M_FLUSH_IN_DOUBT,
                                          1);
        }

        /* one line a second at most: DynamoDB away fails every write */

        if (ngx_time() != ngx_http_zae_limit_fail_time) {
            ngx_http_zae_limit_fail_time = ngx_time();

            ngx_log_error(NGX_LOG_ERR, call->log, 0,
                          "zae_limit: reconciliation write of entity \"%V\" "
                          "resource \"%V\" shard %L failed (%V), %s, kept "
                          "with its id for a retry (%ui more failed writes "
                          "not logged)",
                          (ngx_str_t *) &bd->ref.entity_id,
                          (ngx_str_t *) &bd->ref.resource, bd->ref.shard,
                          call->error.len ? &call->error : &call->error_type,
                          call->rc != NGX_OK ? "in doubt" : "refused",
                          ngx_http_zae_limit_fail_quiet);

            ngx_http_zae_limit_fail_quiet = 0;

        } else {
            ngx_http_zae_limit_fail_quiet++;
        }

        /* DynamoDB fails: this round takes no more */

        ngx_http_zae_limit_round = 0;
    }

    ngx_http_zae_limit_delta_settle(zmcf->shm_zone, bd, written,
                                    ngx_http_zae_limit_backoff_cap(zmcf));

    if (--fl->pending == 0) {
        ngx_destroy_pool(fl->pool);
    }

    ngx_http_zae_limit_flush_more(zmcf, ngx_cycle->log);

    if (ngx_exiting && ngx_http_zae_limit_flushing == 0
        && !ngx_http_zae_limit_flush_event.timer_set)
    {
        ngx_add_timer(&ngx_http_zae_limit_flush_event, 1);
    }
}


/* the one line an exiting worker logs about what it could not write */

static void
ngx_http_zae_limit_exit_report(ngx_http_zae_limit_main_conf_t *zmcf,
    ngx_log_t *log)
{
    ngx_http_zae_limit_shm_t      *shm;
    ngx_http_zae_limit_backlog_t   bl;

    if (ngx_http_zae_limit_delta_pending(zmcf->shm_zone) == 0) {
        return;
    }

    shm = zmcf->shm_zone->data;

    if (!ngx_atomic_cmp_set(&shm->sh->exit_logged, 0, 1)) {
        return;
    }

    ngx_http_zae_limit_delta_backlog(zmcf->shm_zone, &bl, 1);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "zae_limit: exit deadline passed, reconciliation deltas "
                  "of %ui buckets (%L tokens, %ui buckets with a write in "
                  "doubt) not written, oldest %M ms",
                  bl.buckets, bl.tokens, bl.held, bl.oldest);
}


static void
ngx_http_zae_limit_flush(ngx_event_t *ev)
{
    ngx_msec_t                       t;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ev->data;

    ngx_http_zae_limit_lease_expire(zmcf, ev->log);

    if (!ngx_exiting) {
        if (ngx_http_zae_limit_ddb_ready(zmcf->ddb) == NGX_OK) {
            ngx_http_zae_limit_round = 1;
            ngx_http_zae_limit_round_start = ngx_current_msec;
            ngx_http_zae_limit_flush_more(zmcf, ev->log);
        }

        ngx_add_timer(ev, zmcf->flush_interval);
        return;
    }

    /*
     * graceful shutdown: the timer stays armed (and keeps the worker
     * alive) while this worker has writes in flight, and on a quit while
     * deltas are pending, until the exit deadline; failed writes are
     * retried with a backoff (the held writes' own)
     */

    ngx_http_zae_limit_exit_begin(zmcf);

    if (ngx_http_zae_limit_handover(zmcf)) {

        /* a reload: the new workers take the queue */

        if (ngx_http_zae_limit_flushing) {
            ngx_add_timer(ev, 50);
        }

        return;
    }

    if (ngx_http_zae_limit_exit_left() <= 0 || ngx_terminate) {

        if (ngx_http_zae_limit_flushing) {
            ngx_add_timer(ev, 50);
            return;
        }

        ngx_http_zae_limit_exit_report(zmcf, ev->log);
        return;
    }

    if (ngx_http_zae_limit_ddb_ready(zmcf->ddb) == NGX_OK) {
        ngx_http_zae_limit_round = 1;
        ngx_http_zae_limit_round_start = ngx_current_msec;
        ngx_http_zae_limit_flush_more(zmcf, ev->log);
    }

    if (ngx_http_zae_limit_flushing == 0
        && ngx_http_zae_limit_delta_pending(zmcf->shm_zone) == 0)
    {
        return;
    }

    t = ngx_min(50, (ngx_msec_t) ngx_http_zae_limit_exit_left());

    ngx_add_timer(ev, ngx_max(t, 1));
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


/*
 * The writer's id: the name of its attribute in the bucket items
 * (zl_w_<id>), stable over restarts of the same nginx on the same host,
 * different between hosts, nginx instances and zones
 */

static void
ngx_http_zae_limit_writer_id(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
    u_char     hash[16];
    ngx_md5_t  md5;

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, cycle->hostname.data, cycle->hostname.len);
    ngx_md5_update(&md5, "", 1);
    ngx_md5_update(&md5, cycle->prefix.data, cycle->prefix.len);
    ngx_md5_update(&md5, "", 1);
    ngx_md5_update(&md5, cycle->conf_file.data, cycle->conf_file.len);
    ngx_md5_update(&md5, "", 1);
    ngx_md5_update(&md5, zmcf->shm_zone->shm.name.data,
                   zmcf->shm_zone->shm.name.len);
    ngx_md5_update(&md5, &zmcf->shm_zone->shm.size, sizeof(size_t));
    ngx_md5_final(hash, &md5);

    *ngx_hex_dump(ngx_http_zae_limit_writer, hash, 6) = '\0';

    ngx_sprintf(ngx_http_zae_limit_acquirer, ZAE_PROTO_ACQUIRER_PREFIX "%s%Z",
                ngx_http_zae_limit_writer);

    /* ids of this worker: unique over restarts while under 2^20 a second */

    ngx_http_zae_limit_acquire_next = (uint64_t) ngx_time() << 20;
}


/*
 * The id of a slow path write (zae_proto.h, zae_proto_applied_before()):
 * its attribute, "zl_a_<writer>", and "<writer>-<pid>-<counter>", at
 * most 12 + 1 + 8 + 1 + 13 characters (a ClientRequestToken takes 36)
 */

ngx_int_t
ngx_http_zae_limit_acquire_id(ngx_pool_t *pool, zae_str_t *attr, zae_str_t *id)
{
    u_char  *p;

    id->data = ngx_pnalloc(pool, 36);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_snprintf(id->data, 36, "%s-%xP-%xL", ngx_http_zae_limit_writer,
                     ngx_pid, ngx_http_zae_limit_acquire_next++);

    id->len = p - id->data;

    attr->data = ngx_http_zae_limit_acquirer;
    attr->len = ngx_strlen(ngx_http_zae_limit_acquirer);

    return NGX_OK;
}


ngx_int_t
ngx_http_zae_limit_reconcile_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
    ngx_msec_t        first;
    ngx_core_conf_t  *ccf;

    ngx_http_zae_limit_watch_exit(cycle, zmcf);

    ngx_http_zae_limit_writer_id(cycle, zmcf);

    ngx_http_zae_limit_generation = ngx_http_zae_limit_zone_join(
                                                            zmcf->shm_zone);

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    ngx_http_zae_limit_shutdown_timeout = ccf->shutdown_timeout;

    ngx_http_zae_limit_flush_event.handler = ngx_http_zae_limit_flush;
    ngx_http_zae_limit_flush_event.data = zmcf;
    ngx_http_zae_limit_flush_event.log = cycle->log;

    /*
     * not cancelable: a graceful shutdown waits for the last flush;
     * deltas left by the workers of a previous configuration are taken
     * over at once
     */

    first = zmcf->flush_interval / 2;

    if (ngx_http_zae_limit_delta_pending(zmcf->shm_zone)) {
        first = ngx_min(first, 50);
    }

    ngx_add_timer(&ngx_http_zae_limit_flush_event,
                  first + ngx_random() % 50);

    return NGX_OK;
}


void
ngx_http_zae_limit_reconcile_exit_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
    ngx_http_zae_limit_close_watcher();

    /* writes this worker did not see settled: in doubt, for the others */

    ngx_http_zae_limit_delta_release(zmcf->shm_zone);

    if (ngx_http_zae_limit_handover(zmcf)) {
        if (ngx_http_zae_limit_delta_pending(zmcf->shm_zone)) {
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "zae_limit: %ui buckets of reconciliation deltas "
                          "left in the shared zone for the new workers",
                          ngx_http_zae_limit_delta_pending(zmcf->shm_zone));
        }

        return;
    }

    ngx_http_zae_limit_exit_report(zmcf, cycle->log);
}
