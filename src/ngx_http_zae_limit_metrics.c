
/*
 * Copyright (C) zae-limit authors
 *
 * The metrics: counters in the shared zone's header, added to by every
 * stage, and the Prometheus text of the "zae_limit_metrics" location.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_version.h"


void
ngx_http_zae_limit_metric_add(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_metric_e m, ngx_atomic_int_t n)
{
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    (void) ngx_atomic_fetch_add(&shm->sh->metrics.counters[m], n);
}


static ngx_msec_t  ngx_http_zae_limit_latency_bounds[] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000
};


void
ngx_http_zae_limit_metric_call(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_uint_t                     i;
    ngx_http_zae_limit_shm_t      *shm;
    ngx_http_zae_limit_metrics_t  *m;

    shm = zone->data;
    m = &shm->sh->metrics;

    if ((ngx_uint_t) call->op < ZAE_DDB_OP_MAX) {
        if (call->rc == NGX_OK) {
            (void) ngx_atomic_fetch_add(&m->op_ok[call->op], 1);

        } else {
            (void) ngx_atomic_fetch_add(&m->op_fail[call->op], 1);
        }
    }

    if (call->rc != NGX_OK) {
        (void) ngx_atomic_fetch_add(
                   &m->counters[NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_ERROR], 1);

    } else if (call->status >= 200 && call->status < 300) {
        (void) ngx_atomic_fetch_add(
                   &m->counters[NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_OK], 1);

    } else {
        (void) ngx_atomic_fetch_add(
                  &m->counters[NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_CONDITIONAL], 1);
    }

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS; i++) {
        if (call->latency <= ngx_http_zae_limit_latency_bounds[i]) {
            (void) ngx_atomic_fetch_add(&m->latency[i], 1);
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->latency_count, 1);
    (void) ngx_atomic_fetch_add(&m->latency_sum, call->latency);
}


/* milliseconds written as seconds, the Prometheus base unit: 2500 is 2.5 */

static u_char *
ngx_http_zae_limit_seconds(u_char *p, u_char *last, ngx_atomic_uint_t ms)
{
    if (ms % 1000 == 0) {
        return ngx_slprintf(p, last, "%uA", ms / 1000);
    }

    p = ngx_slprintf(p, last, "%uA.%03uA", ms / 1000, ms % 1000);

    while (p[-1] == '0') {
        p--;
    }

    return p;
}


typedef struct {
    ngx_http_zae_limit_metric_e   metric;
    char                         *name;
    char                         *labels;
    char                         *help;
} ngx_http_zae_limit_metric_desc_t;


static ngx_http_zae_limit_metric_desc_t  ngx_http_zae_limit_metric_descs[] = {
    { NGX_HTTP_ZAE_LIMIT_M_PASSED, "zae_limit_requests_total",
      "outcome=\"passed\"", "requests by outcome" },
    { NGX_HTTP_ZAE_LIMIT_M_REJECTED, "zae_limit_requests_total",
      "outcome=\"rejected\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_REJECTED_DRY_RUN, "zae_limit_requests_total",
      "outcome=\"rejected_dry_run\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_ALLOWED, "zae_limit_requests_total",
      "outcome=\"unavailable_allowed\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_BLOCKED, "zae_limit_requests_total",
      "outcome=\"unavailable_blocked\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_SKIPPED, "zae_limit_requests_total",
      "outcome=\"skipped\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_INVALID, "zae_limit_requests_total",
      "outcome=\"invalid\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_NO_LIMITS, "zae_limit_requests_total",
      "outcome=\"no_limits\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_REJECT_CACHE_HITS,
      "zae_limit_rejection_cache_hits_total", NULL,
      "rejections answered from the shared rejection cache" },
    { NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_HITS,
      "zae_limit_config_cache_total", "result=\"hit\"",
      "limit config lookups in the shared cache" },
    { NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_MISSES,
      "zae_limit_config_cache_total", "result=\"miss\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_OK, "zae_limit_dynamodb_results_total",
      "result=\"ok\"", "DynamoDB calls by result" },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_CONDITIONAL,
      "zae_limit_dynamodb_results_total", "result=\"client_error\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_ERROR,
      "zae_limit_dynamodb_results_total", "result=\"failed\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DELTAS_QUEUED,
      "zae_limit_reconcile_deltas_total", "state=\"queued\"",
      "reconciliation and rollback deltas" },
    { NGX_HTTP_ZAE_LIMIT_M_DELTAS_FLUSHED,
      "zae_limit_reconcile_deltas_total", "state=\"flushed\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED,
      "zae_limit_reconcile_deltas_total", "state=\"dropped\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_FLUSH_WRITES, "zae_limit_flush_writes_total",
      NULL, "UpdateItem calls written by the flush timer" },
    { NGX_HTTP_ZAE_LIMIT_M_FLUSH_ERRORS, "zae_limit_flush_errors_total",
      NULL, "flush writes that failed, kept for a retry" },
    { NGX_HTTP_ZAE_LIMIT_M_ROLLBACKS, "zae_limit_rollbacks_total", NULL,
      "initial consumptions given back after an upstream failure" },
    { NGX_HTTP_ZAE_LIMIT_M_RECONCILE_INVALID,
      "zae_limit_reconcile_invalid_total", NULL,
      "missing or invalid reconciliation values (estimate kept)" },
    { NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_EVENTS,
      "zae_limit_unavailable_total", NULL,
      "acquires that could not reach DynamoDB" },
    { NGX_HTTP_ZAE_LIMIT_M_UNLIMITED_CONSUMES,
      "zae_limit_unlimited_consumes_total", NULL,
      "consumed limits that no level defines (not limited)" },
    { NGX_HTTP_ZAE_LIMIT_M_ZONE_EVICTIONS,
      "zae_limit_zone_evictions_total", NULL,
      "entries dropped to make room in the zone: cache entries oldest "
      "first, then lease nodes holding no tokens" },
    { NGX_HTTP_ZAE_LIMIT_M_FLUSH_IN_DOUBT, "zae_limit_flush_in_doubt_total",
      NULL, "flush writes without a final answer (maybe applied), kept "
      "with their id and sent again" },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_BUSY,
      "zae_limit_dynamodb_busy_total", NULL,
      "calls refused at once: max_connections in use, max_waiting waiting" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_HITS, "zae_limit_lease_hits_total", NULL,
      "requests admitted from a local token lease, no DynamoDB call" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_UNAVAILABLE_HITS,
      "zae_limit_lease_unavailable_hits_total", NULL,
      "lease hits after the bucket's last refill failed (DynamoDB away)" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_REFILLS, "zae_limit_lease_refills_total",
      NULL, "writes that took a lease of k requests' worth" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_SIZE, "zae_limit_lease_size_total", NULL,
      "sum of k over the refills (the mean lease size is this / refills)" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_LEASED,
      "zae_limit_lease_tokens_total", "state=\"leased\"",
      "tokens taken into leases beyond the refilling request's own" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_RETURNED,
      "zae_limit_lease_tokens_total", "state=\"returned\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_RECLAIMED,
      "zae_limit_lease_reclaimed_total", NULL,
      "lease nodes holding no tokens freed, least recently used first, "
      "to make room in the zone" }
};


ngx_int_t
ngx_http_zae_limit_metrics_handler(ngx_http_request_t *r)
{
    size_t                           size;
    ngx_int_t                        rc;
    const char                      *name;
    ngx_buf_t                       *b;
    ngx_uint_t                       i;
    ngx_atomic_uint_t                cum;
    ngx_chain_t                      out;
    ngx_http_zae_limit_shm_t        *shm;
    ngx_http_zae_limit_metrics_t    *m;
    ngx_http_zae_limit_backlog_t     bl;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    /* the operations the module sends */

    static zae_ddb_op_e  ops[] = {
        ZAE_DDB_GET_ITEM, ZAE_DDB_BATCH_GET_ITEM, ZAE_DDB_PUT_ITEM,
        ZAE_DDB_UPDATE_ITEM, ZAE_DDB_TRANSACT_WRITE_ITEMS
    };

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    zmcf = ngx_http_get_module_main_conf(r, ngx_http_zae_limit_module);

    if (zmcf->shm_zone == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    shm = zmcf->shm_zone->data;
    m = &shm->sh->metrics;

    size = 16384;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_M_LAST; i++) {
        ngx_http_zae_limit_metric_desc_t  *d;

        d = &ngx_http_zae_limit_metric_descs[i];

        if (d->help) {
            b->last = ngx_slprintf(b->last, b->end,
                                   "# HELP %s %s\n# TYPE %s counter\n",
                                   d->name, d->help, d->name);
        }

        if (d->labels) {
            b->last = ngx_slprintf(b->last, b->end, "%s{%s} %uA\n",
                                   d->name, d->labels,
                                   m->counters[d->metric]);

        } else {
            b->last = ngx_slprintf(b->last, b->end, "%s %uA\n",
                                   d->name, m->counters[d->metric]);
        }
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_dynamodb_calls_total "
                           "DynamoDB calls by operation and result\n"
                           "# TYPE zae_limit_dynamodb_calls_total counter\n");

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        name = zae_ddb_op_name(ops[i]);

        b->last = ngx_slprintf(b->last, b->end,
                               "zae_limit_dynamodb_calls_total"
                               "{operation=\"%s\",result=\"ok\"} %uA\n"
                               "zae_limit_dynamodb_calls_total"
                               "{operation=\"%s\",result=\"failed\"} %uA\n",
                               name, m->op_ok[ops[i]], name,
                               m->op_fail[ops[i]]);
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_dynamodb_latency_seconds "
                           "DynamoDB call latency, retries included\n"
                           "# TYPE zae_limit_dynamodb_latency_seconds "
                           "histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS; i++) {
        cum += m->latency[i];
        b->last = ngx_slprintf(b->last, b->end,
                               "zae_limit_dynamodb_latency_seconds_bucket"
                               "{le=\"");
        b->last = ngx_http_zae_limit_seconds(b->last, b->end,
                                        ngx_http_zae_limit_latency_bounds[i]);
        b->last = ngx_slprintf(b->last, b->end, "\"} %uA\n", cum);
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "zae_limit_dynamodb_latency_seconds_bucket"
                           "{le=\"+Inf\"} %uA\n"
                           "zae_limit_dynamodb_latency_seconds_sum ",
                           m->latency_count);
    b->last = ngx_http_zae_limit_seconds(b->last, b->end, m->latency_sum);

    b->last = ngx_slprintf(b->last, b->end,
                           "\nzae_limit_dynamodb_latency_seconds_count %uA\n"
                           "# HELP zae_limit_reconcile_pending "
                           "buckets with pending deltas\n"
                           "# TYPE zae_limit_reconcile_pending gauge\n"
                           "zae_limit_reconcile_pending %uA\n"
                           "# HELP zae_limit_build_info "
                           "the version of the module, always 1\n"
                           "# TYPE zae_limit_build_info gauge\n"
                           "zae_limit_build_info{version=\"" ZAE_VERSION
                           "\"} 1\n",
                           m->latency_count, m->pending);

    ngx_http_zae_limit_delta_backlog(zmcf->shm_zone, &bl, 0);

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_reconcile_lag_seconds "
                           "age of the oldest delta not written yet\n"
                           "# TYPE zae_limit_reconcile_lag_seconds gauge\n"
                           "zae_limit_reconcile_lag_seconds %M.%03M\n",
                           bl.oldest / 1000, bl.oldest % 1000);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
