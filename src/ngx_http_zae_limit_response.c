
/*
 * Copyright (C) zae-limit authors
 *
 * The decision of the acquire and its answer: admitted, the 429
 * (remembered in the zone's rejection cache), the 503 when DynamoDB is
 * unavailable, the 400 for invalid input; the rate limit response
 * headers (IETF RateLimit and OpenAI-style fields) added by a header
 * filter, and the $zae_limit_* variables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_bucket.h"
#include "zae_body.h"
#include "zae_schema.h"
#include "zae_proto.h"


static ngx_int_t ngx_http_zae_limit_respond(ngx_http_zae_limit_ctx_t *ctx,
    ngx_uint_t status, zae_buf_t *b);
static ngx_int_t ngx_http_zae_limit_header_filter(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* a consumed but unlimited limit is said again after a day */

#define NGX_HTTP_ZAE_LIMIT_UNLIMITED_TTL  86400000


static ngx_str_t  ngx_http_zae_limit_status_names[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("REJECTED"),
    ngx_string("REJECTED_DRY_RUN"),
    ngx_string("UNAVAILABLE_ALLOWED"),
    ngx_string("UNAVAILABLE_BLOCKED"),
    ngx_string("SKIPPED"),
    ngx_string("INVALID"),
    ngx_string("NO_LIMITS")
};


/* per worker: the unavailable lines of an outage, summarised */

static ngx_http_zae_limit_log_limit_t  ngx_http_zae_limit_unavailable_log;


ngx_int_t
ngx_http_zae_limit_passed(ngx_http_zae_limit_ctx_t *ctx)
{
    ngx_http_zae_limit_trace1(ctx, "admitted%s",
                              ctx->cascaded ? " with the parent" : "");

    ctx->status = NGX_HTTP_ZAE_LIMIT_PASSED;
    ctx->acquired = 1;
    ctx->rc = NGX_DECLINED;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_PASSED, 1);

    return NGX_OK;
}


/* one limit's header values; the tightest of child and parent wins */

void
ngx_http_zae_limit_hdr_merge(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *name,
    int64_t tk, int64_t cp, int64_t ra, int64_t rp)
{
    ngx_http_zae_limit_hdr_put(ctx, name, tk, cp, ra, rp, 0);
}


/*
 * The same, "force": the values replace those of the limit so far (a
 * lease's remaining counts its tokens too, see ngx_http_zae_limit_lease.c)
 */

void
ngx_http_zae_limit_hdr_put(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *name,
    int64_t tk, int64_t cp, int64_t ra, int64_t rp, ngx_uint_t force)
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
            if (force || remaining < h->remaining) {
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


void
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


void
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


ngx_int_t
ngx_http_zae_limit_reject(ngx_http_zae_limit_ctx_t *ctx,
    zae_limit_status_t *st, size_t n, zae_bucket_item_t *image)
{
    int                             rc;
    size_t                          i, p;
    zae_buf_t                       b;
    ngx_uint_t                      tokens;
    ngx_http_request_t             *r;
    ngx_http_zae_limit_hdr_t       *h;
    ngx_http_zae_limit_loc_conf_t  *zlcf;

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

    zlcf = ctx->zlcf;
    ctx->retry_ms = st[p].retry_after_ms;

    if (zlcf->error_format == ZAE_BODY_ZAE) {
        rc = zae_body_rate_limited(&b, st, n, &ctx->retry_header);

    } else {
        tokens = (zlcf->header_tokens.len
                  && zlcf->header_tokens.len == st[p].limit_name.len
                  && ngx_strncmp(zlcf->header_tokens.data,
                                 st[p].limit_name.data,
                                 st[p].limit_name.len) == 0);

        rc = zae_body_provider_rate_limited(&b, zlcf->error_format,
                                            tokens ? "tokens" : "requests",
                                            st, n, &ctx->retry_header);
    }

    if (rc != ZAE_OK) {
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
                  ngx_http_zae_limit_v(&st[p].entity_id),
                  ngx_http_zae_limit_v(&ctx->ref.resource),
                  ngx_http_zae_limit_v(&st[p].limit_name),
                  st[p].retry_after_ms);

    ngx_http_zae_limit_trace3(ctx, "rejected%s: limit \"%V\", retry after "
                              "%L ms", ctx->zlcf->dry_run ? " (dry run)" : "",
                              ngx_http_zae_limit_v(&st[p].limit_name),
                              st[p].retry_after_ms);

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


/* zae_limit_on_unavailable, else the namespace's stored on_unavailable */

static ngx_uint_t
ngx_http_zae_limit_policy(ngx_http_zae_limit_ctx_t *ctx)
{
    u_char      v;
    size_t      len;
    ngx_str_t   key;
    ngx_uint_t  mode;

    mode = ctx->zlcf->on_unavailable;

    if (mode == NGX_HTTP_ZAE_LIMIT_UNSET && ctx->nsid.len) {
        key = ngx_http_zae_limit_ngx_str(&ctx->nsid);

        if (ngx_http_zae_limit_cache_get(ctx->zmcf->shm_zone,
                                         NGX_HTTP_ZAE_LIMIT_C_SYSTEM, &key,
                                         &v, 1, &len)
            == NGX_OK)
        {
            mode = v;
        }
    }

    return mode;
}


/*
 * No limits at any level: a configuration problem, not an outage; its
 * own line, status and answer, and zae_limit_on_unavailable decides
 * whether the request is served
 */

ngx_int_t
ngx_http_zae_limit_no_limits(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *entity)
{
    zae_buf_t            b;
    ngx_str_t            more;
    ngx_http_request_t  *r;

    static ngx_http_zae_limit_log_limit_t  ll;

    r = ctx->request;

    if (ngx_http_zae_limit_log_limit(&ll, &more) == NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "zae_limit: no limits configured for entity \"%V\" "
                      "and resource \"%V\" at any level (entity, entity "
                      "default, resource, system of namespace \"%V\"%s): "
                      "set them with zae-admin or limits=%V",
                      ngx_http_zae_limit_v(entity),
                      ngx_http_zae_limit_v(&ctx->ref.resource),
                      ngx_http_zae_limit_v(&ctx->ns_name),
                      ctx->zlcf->limits ? ", limits=" : "", &more);
    }

    ngx_http_zae_limit_trace(ctx, "no limits at any level");

    ctx->status = NGX_HTTP_ZAE_LIMIT_NO_LIMITS;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_NO_LIMITS, 1);

    if (ngx_http_zae_limit_policy(ctx) == NGX_HTTP_ZAE_LIMIT_ALLOW) {
        ctx->rc = NGX_DECLINED;
        return NGX_OK;
    }

    zae_buf_init(&b, &ctx->mem, 512);

    if (zae_body_no_limits(&b, entity, &ctx->ref.resource, &ctx->ns_name,
                           ctx->zlcf->limits != NULL)
        != ZAE_OK)
    {
        ctx->rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        return NGX_OK;
    }

    return ngx_http_zae_limit_respond(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, &b);
}


/*
 * A consumed limit that no level defines is not limited: said once per
 * entity, resource and limit while the zone remembers it, counted each
 * time
 */

void
ngx_http_zae_limit_unlimited(ngx_http_zae_limit_ctx_t *ctx,
    zae_limits_t *limits)
{
    u_char     *p, v;
    size_t      i, j, len;
    ngx_str_t   key, *ek;

    for (i = 0; i < ctx->nconsume; i++) {

        for (j = 0; j < limits->nelts; j++) {
            if (limits->elts[j].name.len == ctx->consume[i].name.len
                && ngx_memcmp(limits->elts[j].name.data,
                              ctx->consume[i].name.data,
                              ctx->consume[i].name.len) == 0)
            {
                break;
            }
        }

        if (j < limits->nelts) {
            continue;
        }

        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_UNLIMITED_CONSUMES, 1);

        ek = ngx_http_zae_limit_entity_key(ctx);
        if (ek == NULL) {
            return;
        }

        key.len = ek->len + 1 + ctx->ref.resource.len + 1
                  + ctx->consume[i].name.len;
        key.data = ngx_pnalloc(ctx->request->pool, key.len);
        if (key.data == NULL) {
            return;
        }

        p = ngx_sprintf(key.data, "%V#%V#%V", ek,
                        ngx_http_zae_limit_v(&ctx->ref.resource),
                        ngx_http_zae_limit_v(&ctx->consume[i].name));
        key.len = p - key.data;

        if (ngx_http_zae_limit_cache_get(ctx->zmcf->shm_zone,
                                         NGX_HTTP_ZAE_LIMIT_C_UNLIMITED,
                                         &key, &v, 1, &len)
            == NGX_OK)
        {
            continue;
        }

        v = 1;

        (void) ngx_http_zae_limit_cache_put(ctx->zmcf->shm_zone,
                                            NGX_HTTP_ZAE_LIMIT_C_UNLIMITED,
                                            &key, &v, 1,
                                            NGX_HTTP_ZAE_LIMIT_UNLIMITED_TTL);

        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "zae_limit: limit \"%V\" is consumed but no level "
                      "limits it for entity \"%V\" and resource \"%V\": "
                      "not limited",
                      ngx_http_zae_limit_v(&ctx->consume[i].name),
                      ngx_http_zae_limit_v(&ctx->ref.entity_id),
                      ngx_http_zae_limit_v(&ctx->ref.resource));
    }
}


ngx_int_t
ngx_http_zae_limit_unavailable(ngx_http_zae_limit_ctx_t *ctx,
    const char *fmt, ...)
{
    u_char               *p;
    va_list               args;
    zae_str_t             c;
    zae_buf_t             b;
    ngx_str_t             more;
    ngx_http_request_t   *r;
    u_char                cause[ZAE_ERR_LEN + 160];

    r = ctx->request;

    va_start(args, fmt);
    p = ngx_vslprintf(cause, cause + sizeof(cause), fmt, args);
    va_end(args);

    c.data = cause;
    c.len = p - cause;

    /*
     * one line per request at most (the DynamoDB client's own lines of
     * an acquire are at info), and during an outage one a second
     */

    if (ngx_http_zae_limit_log_limit(&ngx_http_zae_limit_unavailable_log,
                                     &more)
        == NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "zae_limit: dynamodb unavailable: %V, entity \"%V\", "
                      "resource \"%V\"%V", ngx_http_zae_limit_v(&c),
                      ngx_http_zae_limit_v(&ctx->ref.entity_id),
                      ngx_http_zae_limit_v(&ctx->ref.resource), &more);
    }

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_EVENTS, 1);

    if (ngx_http_zae_limit_policy(ctx) == NGX_HTTP_ZAE_LIMIT_ALLOW) {
        ngx_http_zae_limit_trace(ctx, "unavailable: allowed");

        ctx->status = NGX_HTTP_ZAE_LIMIT_UNAVAILABLE_ALLOWED;
        ctx->rc = NGX_DECLINED;
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                              NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_ALLOWED, 1);
        return NGX_OK;
    }

    ngx_http_zae_limit_trace(ctx, "unavailable: blocked");

    ctx->status = NGX_HTTP_ZAE_LIMIT_UNAVAILABLE_BLOCKED;

    ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                  NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_BLOCKED, 1);

    zae_buf_init(&b, &ctx->mem, 512);

    if (zae_body_provider_unavailable(&b, ctx->zlcf->error_format, &c,
                                      &ctx->ref.table, &ctx->ref.entity_id,
                                      &ctx->ref.resource)
        != ZAE_OK)
    {
        ctx->rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        return NGX_OK;
    }

    return ngx_http_zae_limit_respond(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, &b);
}


ngx_int_t
ngx_http_zae_limit_invalid(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx, const char *field, ngx_str_t *value,
    zae_err_t *err)
{
    zae_buf_t  b;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "zae_limit: invalid %s: %s", field, err->msg);

    ngx_http_zae_limit_trace1(ctx, "invalid %s", field);

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


ngx_int_t
ngx_http_zae_limit_answer(ngx_http_request_t *r, ngx_http_zae_limit_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_str_t                  type;
    ngx_table_elt_t           *h;
    ngx_http_complex_value_t   cv;

    if (ctx->rc != NGX_DONE) {
        ngx_http_zae_limit_trace1(ctx, "answer: phase handler returns %i",
                                  ctx->rc);
        return ctx->rc;
    }

    ngx_http_zae_limit_trace1(ctx, "answer: %ui", ctx->http_status);

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

        h->value.len = zae_print_int64(h->value.data, ctx->retry_header)
                       - h->value.data;

        /* the OpenAI and Anthropic SDKs read retry-after-ms first */

        if (ctx->zlcf->headers == NGX_HTTP_ZAE_LIMIT_HEADERS_OPENAI
            || ctx->zlcf->error_format != ZAE_BODY_ZAE)
        {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            h->hash = 1;
            ngx_str_set(&h->key, "retry-after-ms");

            h->value.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
            if (h->value.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            h->value.len = zae_print_int64(h->value.data, ctx->retry_ms)
                           - h->value.data;
        }
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

static ngx_str_t  ngx_http_zae_limit_h_policy =
    ngx_string("RateLimit-Policy");
static ngx_str_t  ngx_http_zae_limit_h_ratelimit = ngx_string("RateLimit");
static ngx_str_t  ngx_http_zae_limit_h_limit =
    ngx_string("x-ratelimit-limit-");
static ngx_str_t  ngx_http_zae_limit_h_remaining =
    ngx_string("x-ratelimit-remaining-");
static ngx_str_t  ngx_http_zae_limit_h_reset =
    ngx_string("x-ratelimit-reset-");


static ngx_int_t
ngx_http_zae_limit_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *suffix, u_char *value, size_t len)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.len = name->len + (suffix ? suffix->len : 0);
    h->key.data = ngx_pnalloc(r->pool, h->key.len);
    if (h->key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(h->key.data, name->data, name->len);

    if (suffix) {
        ngx_memcpy(p, suffix->data, suffix->len);
    }

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

        if (i) {
            p = zae_cpylit(p, ", ");
        }

        *p++ = '"';
        p = ngx_cpymem(p, h->name.data, h->name.len);

        if (policy) {
            p = zae_cpylit(p, "\";q=");
            p = zae_print_int64(p, h->capacity);
            p = zae_cpylit(p, ";w=");
            p = zae_print_int64(p, h->window);

        } else {
            p = zae_cpylit(p, "\";r=");
            p = zae_print_int64(p, h->remaining);
            p = zae_cpylit(p, ";t=");
            p = zae_print_int64(p, h->reset);
        }
    }

    return ngx_http_zae_limit_add_header(r,
                                         policy
                                         ? &ngx_http_zae_limit_h_policy
                                         : &ngx_http_zae_limit_h_ratelimit,
                                         NULL, start, p - start);
}


/* zae_limit_headers openai rpm=requests tpm=tokens: rpm shows as requests */

static void
ngx_http_zae_limit_openai_name(ngx_http_zae_limit_loc_conf_t *zlcf,
    ngx_str_t *name)
{
    if (zlcf->header_requests.len == name->len
        && ngx_strncmp(zlcf->header_requests.data, name->data, name->len)
           == 0)
    {
        ngx_str_set(name, "requests");

    } else if (zlcf->header_tokens.len == name->len
               && ngx_strncmp(zlcf->header_tokens.data, name->data,
                              name->len)
                  == 0)
    {
        ngx_str_set(name, "tokens");
    }
}


static ngx_int_t
ngx_http_zae_limit_header_filter(ngx_http_request_t *r)
{
    u_char                    *p, *v;
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

        name = ngx_http_zae_limit_ngx_str(&h->name);

        if (ctx->zlcf->headers == NGX_HTTP_ZAE_LIMIT_HEADERS_OPENAI) {
            ngx_http_zae_limit_openai_name(ctx->zlcf, &name);
        }

        p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v = zae_print_int64(p, h->capacity);

        if (ngx_http_zae_limit_add_header(r, &ngx_http_zae_limit_h_limit,
                                          &name, p, v - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p += NGX_INT64_LEN;
        v = zae_print_int64(p, h->remaining);

        if (ngx_http_zae_limit_add_header(r, &ngx_http_zae_limit_h_remaining,
                                          &name, p, v - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p += NGX_INT64_LEN;
        v = zae_cpylit(zae_print_int64(p, h->reset), "s");

        if (ngx_http_zae_limit_add_header(r, &ngx_http_zae_limit_h_reset,
                                          &name, p, v - p)
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
        || ctx->status == NGX_HTTP_ZAE_LIMIT_NONE
        || ctx->status == NGX_HTTP_ZAE_LIMIT_NO_LIMITS)
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


/* $zae_limit_key_hash: "kh_" + base64url(HMAC-SHA-256), empty if no key */

ngx_int_t
ngx_http_zae_limit_key_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    ngx_str_t                       key;
    ngx_http_zae_limit_loc_conf_t  *zlcf;

    zlcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_module);

    if (zlcf->key_hash == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, zlcf->key_hash, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (key.len == 0) {

        /* no key: an empty entity, which zae_limit's empty= decides */

        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, ZAE_KEY_HASH_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (zae_key_hash(zlcf->key_secret, key.data, key.len, p) != ZAE_OK) {
        return NGX_ERROR;
    }

    v->len = ZAE_KEY_HASH_LEN;
    v->data = p;

    return NGX_OK;
}


ngx_int_t
ngx_http_zae_limit_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_zae_limit_header_filter;

    return NGX_OK;
}
