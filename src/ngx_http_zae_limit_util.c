
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
    }
}


ngx_str_t *
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

ngx_str_t *
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


/*
 * Limits of a bucket read from the table whose names are not valid limit
 * names were skipped by the decoder (a hostile or buggy writer could put
 * CR LF into a name that would become a response header): one error line
 * per worker every NGX_HTTP_ZAE_LIMIT_BAD_NAME_LOG seconds at most, with
 * the count since the last line and the first name, escaped.
 */

#define NGX_HTTP_ZAE_LIMIT_BAD_NAME_LOG  10

void
ngx_http_zae_limit_bad_names(ngx_log_t *log, zae_bucket_item_t *bucket)
{
    size_t             len;
    u_char            *p, buf[ZAE_JSON_ESCAPE_MAX * ZAE_NAME_MAX_LEN];
    static time_t      last;
    static ngx_uint_t  skipped;

    if (bucket->bad_names == 0) {
        return;
    }

    skipped += bucket->bad_names;

    if (ngx_time() - last < NGX_HTTP_ZAE_LIMIT_BAD_NAME_LOG) {
        return;
    }

    last = ngx_time();

    len = ngx_min(bucket->bad_name.len, ZAE_NAME_MAX_LEN);
    p = zae_json_escape(buf, bucket->bad_name.data, len);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "zae_limit: skipped %ui limits of buckets read from "
                  "DynamoDB: limit name not valid, e.g. \"%*s%s\"",
                  skipped, p - buf, buf,
                  bucket->bad_name.len > len ? "..." : "");

    skipped = 0;
}
