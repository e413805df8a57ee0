
/*
 * Copyright (C) zae-limit authors
 *
 * Helpers the request stages share: the core's allocator on a pool,
 * the request context's cleanup, the shared zone's cache keys.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"


void *
ngx_http_zae_limit_pool_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


void
ngx_http_zae_limit_cleanup(void *data)
{
    ngx_http_zae_limit_ctx_t  *ctx = data;

    ngx_uint_t  i;

    if (ctx->pending) {
        for (i = 0; i < 2; i++) {
            ngx_http_zae_limit_ddb_cancel(&ctx->call[i]);
        }

        ctx->pending = 0;

        /* a refill cut short: its mark goes, this worker's waiters on */

        ngx_http_zae_limit_lease_cancel(ctx);
    }
}


ngx_str_t *
ngx_http_zae_limit_key(ngx_http_zae_limit_ctx_t *ctx, zae_str_t *entity,
    ngx_str_t *key)
{
    u_char  *p;

    key->len = ctx->nsid.len + 1 + entity->len + 1 + ctx->ref.resource.len;
    key->data = ngx_pnalloc(ctx->request->pool, key->len);
    if (key->data == NULL) {
        return NULL;
    }

    /* "nsid/entity#resource", copied: no format to parse per request */

    p = ngx_cpymem(key->data, ctx->nsid.data, ctx->nsid.len);
    *p++ = '/';
    p = ngx_cpymem(p, entity->data, entity->len);
    *p++ = '#';
    ngx_memcpy(p, ctx->ref.resource.data, ctx->ref.resource.len);

    return key;
}


/* the entity cache's key "nsid/entity", made once per request */

ngx_str_t *
ngx_http_zae_limit_entity_key(ngx_http_zae_limit_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t  *key;

    key = &ctx->entity_key;

    if (key->data) {
        return key;
    }

    key->len = ctx->nsid.len + 1 + ctx->ref.entity_id.len;
    key->data = ngx_pnalloc(ctx->request->pool, key->len);
    if (key->data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(key->data, ctx->nsid.data, ctx->nsid.len);
    *p++ = '/';
    ngx_memcpy(p, ctx->ref.entity_id.data, ctx->ref.entity_id.len);

    return key;
}


/*
 * Lines that a client or an outage can repeat on every request: the
 * first of each second is written, the others of that second counted;
 * the next line written ends with "more": " (and N more in the previous
 * second)", else "" (a worker's count, no lock).  NGX_DECLINED: this one
 * is only counted.
 */

ngx_int_t
ngx_http_zae_limit_log_limit(ngx_http_zae_limit_log_limit_t *ll,
    ngx_str_t *more)
{
    time_t  now;

    now = ngx_time();

    if (ll->sec == now) {
        ll->suppressed++;
        return NGX_DECLINED;
    }

    more->data = ll->more;
    more->len = 0;

    if (ll->suppressed) {
        more->len = ngx_snprintf(ll->more, sizeof(ll->more),
                                 " (and %ui more in the previous second)",
                                 ll->suppressed)
                    - ll->more;
    }

    ll->sec = now;
    ll->suppressed = 0;

    return NGX_OK;
}


/*
 * Limits of a bucket read from the table whose names are not valid limit
 * names were skipped by the decoder (a hostile or buggy writer could put
 * CR LF into a name that would become a response header): an error line
 * with the first such name, escaped, at most one a second per worker
 * (ngx_http_zae_limit_log_limit()).
 */

void
ngx_http_zae_limit_bad_names(ngx_log_t *log, zae_bucket_item_t *bucket)
{
    size_t     len;
    u_char    *p, buf[ZAE_JSON_ESCAPE_MAX * ZAE_NAME_MAX_LEN];
    ngx_str_t  more;

    static ngx_http_zae_limit_log_limit_t  ll;

    if (bucket->bad_names == 0
        || ngx_http_zae_limit_log_limit(&ll, &more) != NGX_OK)
    {
        return;
    }

    len = ngx_min(bucket->bad_name.len, ZAE_NAME_MAX_LEN);
    p = zae_json_escape(buf, bucket->bad_name.data, len);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "zae_limit: skipped %ui limits of a bucket read from "
                  "DynamoDB: limit name not valid, e.g. \"%*s%s\"%V",
                  bucket->bad_names, p - buf, buf,
                  bucket->bad_name.len > len ? "..." : "", &more);
}
