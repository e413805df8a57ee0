
/*
 * Copyright (C) zae-limit authors
 *
 * The LLM glue (docs/design.md, "The LLM request and answer"): a second
 * module of the same shared object.  Before the acquire it reads the
 * client request body (in the precontent phase, as the mirror module
 * does) and feeds it to the core's request reader; it may add
 * stream_options.include_usage to the body sent upstream; a header and
 * a body filter feed every buffer of the answer to the core's usage
 * reader, passing each buffer on in the same call; the variables give
 * the request facts and the usage to zae_limit's consume= and
 * zae_limit_reconcile.  LLM formats are parsed only in src/core
 * (zae_llm.h): this file only moves bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_body.h"
#include "zae_llm.h"


/* bytes of a file-buffered body or answer read at a time */

#define NGX_HTTP_ZAE_LIMIT_LLM_READ   16384


typedef enum {
    NGX_HTTP_ZAE_LIMIT_LLM_SRC_NONE = 0,
    NGX_HTTP_ZAE_LIMIT_LLM_SRC_BODY,
    NGX_HTTP_ZAE_LIMIT_LLM_SRC_STREAM,
    NGX_HTTP_ZAE_LIMIT_LLM_SRC_PARTIAL
} ngx_http_zae_limit_llm_src_e;


typedef struct {
    ngx_flag_t                    enable;
    ngx_int_t                     default_max_tokens;
    size_t                        max_body;
    ngx_flag_t                    stream_usage;
    ngx_array_t                  *prices;      /* zae_llm_price_t */
} ngx_http_zae_limit_llm_conf_t;


typedef struct {
    ngx_http_request_t           *request;
    zae_mem_t                     mem;

    zae_llm_request_t             req;
    zae_llm_path_t                path;
    zae_llm_answer_t              ans;
    zae_llm_inflate_t            *inflate;

    int64_t                       input_estimate;
    int64_t                       output_estimate;
    int64_t                       estimate;

    ngx_int_t                     status;      /* of the body read */
    ngx_str_t                     error;       /* a 400 body */
    u_char                       *rbuf;        /* file reads */

    unsigned                      read:1;      /* the facts are known */
    unsigned                      valid:1;     /* the body was JSON */
    unsigned                      oversize:1;
    unsigned                      patched:1;   /* include_usage added */
    unsigned                      answer:1;    /* the answer is read */
    unsigned                      drop:1;      /* usage-only chunks go */
    unsigned                      skip:1;      /* unknown encoding */
    unsigned                      corrupt:1;
    unsigned                      finished:1;
} ngx_http_zae_limit_llm_ctx_t;


typedef ngx_int_t (*ngx_http_zae_limit_llm_feed_pt)(
    ngx_http_zae_limit_llm_ctx_t *ctx, u_char *data, size_t len);


static ngx_int_t ngx_http_zae_limit_llm_handler(ngx_http_request_t *r);
static void ngx_http_zae_limit_llm_body_handler(ngx_http_request_t *r);
static void ngx_http_zae_limit_llm_cleanup(void *data);
static ngx_http_zae_limit_llm_ctx_t *ngx_http_zae_limit_llm_get_ctx(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_zae_limit_llm_facts(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_llm_feed_request(
    ngx_http_zae_limit_llm_ctx_t *ctx, u_char *data, size_t len);
static ngx_int_t ngx_http_zae_limit_llm_feed_answer(
    ngx_http_zae_limit_llm_ctx_t *ctx, u_char *data, size_t len);
static ngx_int_t ngx_http_zae_limit_llm_read_buf(
    ngx_http_zae_limit_llm_ctx_t *ctx, ngx_buf_t *b,
    ngx_http_zae_limit_llm_feed_pt feed);
static ngx_int_t ngx_http_zae_limit_llm_check_model(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx);
static ngx_int_t ngx_http_zae_limit_llm_patch(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx, zae_llm_patch_t *patch);
static void ngx_http_zae_limit_llm_drop(ngx_buf_t *b,
    zae_llm_answer_t *ans);

static ngx_int_t ngx_http_zae_limit_llm_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_zae_limit_llm_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);

static ngx_int_t ngx_http_zae_limit_llm_add_variables(ngx_conf_t *cf);
static void *ngx_http_zae_limit_llm_create_conf(ngx_conf_t *cf);
static char *ngx_http_zae_limit_llm_merge_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_zae_limit_llm_price(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_zae_limit_llm_init(ngx_conf_t *cf);
static void ngx_http_zae_limit_llm_warn_once(ngx_log_t *log,
    ngx_uint_t *logged, const char *fmt, ...);


static ngx_conf_num_bounds_t  ngx_http_zae_limit_llm_max_tokens_bounds = {
    ngx_conf_check_num_bounds, 0, 1000000000
};


static ngx_command_t  ngx_http_zae_limit_llm_commands[] = {

    { ngx_string("zae_limit_llm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_llm_conf_t, enable),
      NULL },

    { ngx_string("zae_limit_llm_default_max_tokens"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_llm_conf_t, default_max_tokens),
      &ngx_http_zae_limit_llm_max_tokens_bounds },

    { ngx_string("zae_limit_llm_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_llm_conf_t, max_body),
      NULL },

    { ngx_string("zae_limit_llm_stream_usage"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_llm_conf_t, stream_usage),
      NULL },

    { ngx_string("zae_limit_llm_price"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE3|NGX_CONF_TAKE4,
      ngx_http_zae_limit_llm_price,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_zae_limit_llm_module_ctx = {
    ngx_http_zae_limit_llm_add_variables,  /* preconfiguration */
    ngx_http_zae_limit_llm_init,           /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_zae_limit_llm_create_conf,    /* create location configuration */
    ngx_http_zae_limit_llm_merge_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_zae_limit_llm_module = {
    NGX_MODULE_V1,
    &ngx_http_zae_limit_llm_module_ctx,    /* module context */
    ngx_http_zae_limit_llm_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/* "logged once" flags of this worker */

static ngx_uint_t  ngx_http_zae_limit_llm_oversize_logged;
static ngx_uint_t  ngx_http_zae_limit_llm_encoding_logged;


/* a warning logged once by this worker, the first time logged is clear */

static void
ngx_http_zae_limit_llm_warn_once(ngx_log_t *log, ngx_uint_t *logged,
    const char *fmt, ...)
{
    u_char   *p, buf[NGX_MAX_ERROR_STR];
    va_list   args;

    if (*logged) {
        return;
    }

    *logged = 1;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ngx_log_error(NGX_LOG_WARN, log, 0, "%*s (logged once)",
                  (size_t) (p - buf), buf);
}


static void *
ngx_http_zae_limit_llm_pool_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/*
 * The precontent handler.  It is registered after zae_limit's, so it
 * runs before it: the consume amounts and the resource are evaluated
 * once the body has been read.
 */

static ngx_int_t
ngx_http_zae_limit_llm_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_str_t                       type;
    ngx_pool_cleanup_t             *cln;
    ngx_http_complex_value_t        cv;
    ngx_http_zae_limit_llm_ctx_t   *ctx;
    ngx_http_zae_limit_llm_conf_t  *llcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_zae_limit_llm_get_ctx(r);

    if (ctx) {
        if (ctx->status != NGX_HTTP_BAD_REQUEST) {
            return ctx->status;
        }

        /* the model is missing or invalid: a JSON 400, no acquire */

        ctx->status = NGX_DONE;

        ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));
        cv.value = ctx->error;
        ngx_str_set(&type, "application/json");

        rc = ngx_http_send_response(r, NGX_HTTP_BAD_REQUEST, &type, &cv);
        ngx_http_finalize_request(r, rc);

        return NGX_DONE;
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_llm_module);

    if (!llcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_zae_limit_llm_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_zae_limit_llm_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->mem.alloc = ngx_http_zae_limit_llm_pool_alloc;
    ctx->mem.ctx = r->pool;
    ctx->status = NGX_DONE;

    zae_llm_request_init(&ctx->req);
    zae_llm_path(r->uri.data, r->uri.len, &ctx->path);

    if ((r->headers_in.content_length_n <= 0 && !r->headers_in.chunked)
        || r->headers_in.content_length_n > (off_t) llcf->max_body)
    {
        /* no body, or one not to read: the facts from its size */

        ctx->status = ngx_http_zae_limit_llm_facts(r, ctx);
        return ctx->status;
    }

    rc = ngx_http_read_client_request_body(r,
                                         ngx_http_zae_limit_llm_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_zae_limit_llm_body_handler(ngx_http_request_t *r)
{
    ngx_http_zae_limit_llm_ctx_t  *ctx;

    ctx = ngx_http_zae_limit_llm_get_ctx(r);

    ctx->status = ngx_http_zae_limit_llm_facts(r, ctx);

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * The ctx is found through its pool cleanup, as zae_limit's is, so that
 * it survives internal redirects: the body is read and patched once.
 */

static void
ngx_http_zae_limit_llm_cleanup(void *data)
{
    /* nothing to release: everything is in the request pool */
}


static ngx_http_zae_limit_llm_ctx_t *
ngx_http_zae_limit_llm_get_ctx(ngx_http_request_t *r)
{
    return ngx_http_zae_limit_cleanup_data(r->main->pool,
                                           ngx_http_zae_limit_llm_cleanup);
}


/*
 * The request facts: the body (in memory or in the temp file, read in
 * bounded pieces) through the core's request reader, the estimates,
 * the model check and the stream_options patch.  Returns NGX_DECLINED
 * (go on), NGX_HTTP_BAD_REQUEST (ctx->error is the body) or a status.
 */

static ngx_int_t
ngx_http_zae_limit_llm_facts(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx)
{
    off_t                           size;
    ngx_chain_t                    *cl;
    zae_llm_patch_t                 patch;
    ngx_http_zae_limit_llm_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_llm_module);

    size = r->headers_in.content_length_n;

    if (size > (off_t) llcf->max_body) {
        ctx->oversize = 1;

        ngx_http_zae_limit_llm_warn_once(r->connection->log,
                                  &ngx_http_zae_limit_llm_oversize_logged,
                                  "zae_limit: request body of %O bytes is "
                                  "over zae_limit_llm_max_body %uz, not "
                                  "parsed, estimated from its size",
                                  size, llcf->max_body);

    } else if (r->request_body && size > 0) {

        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            if (ngx_http_zae_limit_llm_read_buf(ctx, cl->buf,
                                        ngx_http_zae_limit_llm_feed_request)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    ctx->read = 1;

    if (!ctx->oversize) {
        ctx->valid = (zae_llm_request_finish(&ctx->req) == ZAE_OK);
    }

    if (ctx->oversize) {
        ctx->input_estimate = zae_llm_size_estimate((uint64_t) size);
        ctx->output_estimate = llcf->default_max_tokens;
        ctx->estimate = ngx_min(ctx->input_estimate + ctx->output_estimate,
                                ZAE_TOKENS_MAX);

    } else {
        ctx->input_estimate = zae_llm_request_input_estimate(&ctx->req);
        ctx->output_estimate = zae_llm_request_output(&ctx->req,
                                                  llcf->default_max_tokens);
        ctx->estimate = zae_llm_request_estimate(&ctx->req,
                                                 llcf->default_max_tokens);
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "zae_limit llm: body %O valid:%ui input:%L output:%L "
                   "estimate:%L", size, (ngx_uint_t) ctx->valid,
                   ctx->input_estimate, ctx->output_estimate, ctx->estimate);

    if (ngx_http_zae_limit_llm_check_model(r, ctx) != NGX_OK) {
        return ctx->error.len ? NGX_HTTP_BAD_REQUEST
                              : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (llcf->stream_usage && ctx->valid
        && zae_llm_request_usage_patch(&ctx->req, ctx->path.kind, &patch)
           == ZAE_OK)
    {
        if (ngx_http_zae_limit_llm_patch(r, ctx, &patch) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_zae_limit_llm_feed_request(ngx_http_zae_limit_llm_ctx_t *ctx,
    u_char *data, size_t len)
{
    (void) zae_llm_request_feed(&ctx->req, data, len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_zae_limit_llm_feed_answer(ngx_http_zae_limit_llm_ctx_t *ctx,
    u_char *data, size_t len)
{
    if (ctx->inflate == NULL) {
        zae_llm_answer_feed(&ctx->ans, data, len);
        return NGX_OK;
    }

    if (!ctx->corrupt
        && zae_llm_inflate_feed(ctx->inflate, &ctx->ans, data, len)
           != ZAE_OK)
    {
        ctx->corrupt = 1;

        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "zae_limit: compressed answer is corrupt, "
                      "usage read so far kept");
    }

    return NGX_OK;
}


/*
 * Feeds a buffer's bytes: in memory as they are, in a file (a request
 * body over client_body_buffer_size, an answer buffered to a temp file)
 * through a 16 KB window, so that memory stays bounded
 */

static ngx_int_t
ngx_http_zae_limit_llm_read_buf(ngx_http_zae_limit_llm_ctx_t *ctx,
    ngx_buf_t *b, ngx_http_zae_limit_llm_feed_pt feed)
{
    off_t    pos;
    size_t   size;
    ssize_t  n;

    if (ngx_buf_in_memory(b)) {
        return feed(ctx, b->pos, b->last - b->pos);
    }

    if (!b->in_file || b->file == NULL) {
        return NGX_OK;
    }

    if (ctx->rbuf == NULL) {
        ctx->rbuf = ngx_palloc(ctx->request->pool,
                               NGX_HTTP_ZAE_LIMIT_LLM_READ);
        if (ctx->rbuf == NULL) {
            return NGX_ERROR;
        }
    }

    for (pos = b->file_pos; pos < b->file_last; pos += n) {
        size = (size_t) ngx_min(b->file_last - pos,
                                NGX_HTTP_ZAE_LIMIT_LLM_READ);

        n = ngx_read_file(b->file, ctx->rbuf, size, pos);

        if (n == NGX_ERROR || n == 0) {
            return NGX_ERROR;
        }

        if (feed(ctx, ctx->rbuf, n) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A location whose zae_limit resource is made from $zae_llm_model needs
 * a model: without one, or with one that breaks the resource rules when
 * it is the whole resource, the answer is a JSON 400 naming the
 * problem, before any DynamoDB call
 */

static ngx_int_t
ngx_http_zae_limit_llm_check_model(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx)
{
    u_char                         *m;
    size_t                          len;
    zae_buf_t                       b;
    zae_err_t                       err;
    ngx_str_t                      *src, entity;
    const char                     *reason;
    ngx_http_zae_limit_loc_conf_t  *zlcf;

    zlcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_module);

    if (zlcf->resource == NULL || zlcf->resource->lengths == NULL) {
        return NGX_OK;
    }

    /* an empty entity is not limited (SKIPPED): no model needed */

    if (ngx_http_complex_value(r, zlcf->entity, &entity) != NGX_OK) {
        return NGX_ERROR;
    }

    if (entity.len == 0) {
        return NGX_OK;
    }

    src = &zlcf->resource->value;

    if (ngx_strlcasestrn(src->data, src->data + src->len,
                         (u_char *) "zae_llm_model", 13 - 1)
        == NULL)
    {
        return NGX_OK;
    }

    reason = NULL;
    m = NULL;
    len = 0;

    if (ctx->path.kind == ZAE_LLM_PATH_GEMINI) {
        m = ctx->path.model.data;
        len = ctx->path.model.len;

    } else if (ctx->oversize) {
        reason = "missing: the request body is over zae_limit_llm_max_body "
                 "and is not read";

    } else if (!ctx->valid) {
        reason = "missing: the request body is not valid JSON";

    } else if (ctx->req.model_too_long) {
        reason = "too long";

    } else if (ctx->req.model_bad) {
        reason = "\"model\" is not a string";

    } else if (!ctx->req.model_seen || ctx->req.model_len == 0) {
        reason = "missing: the request body has no \"model\"";

    } else {
        m = ctx->req.model;
        len = ctx->req.model_len;
    }

    if (reason == NULL) {
        if (src->len != sizeof("$zae_llm_model") - 1
            && src->len != sizeof("${zae_llm_model}") - 1)
        {
            /* a part of the resource: zae_limit checks the whole */
            return NGX_OK;
        }

        if (zae_validate_resource_strict(m, len, &err) == ZAE_OK) {
            return NGX_OK;
        }

        reason = err.msg;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "zae_limit: invalid model: %s", reason);

    zae_buf_init(&b, &ctx->mem, 256);

    if (zae_body_invalid(&b, "model", m ? m : (u_char *) "", len, reason)
        != ZAE_OK || b.failed)
    {
        return NGX_ERROR;
    }

    ctx->error.data = b.data;
    ctx->error.len = b.len;

    return NGX_ERROR;
}


/*
 * Inserts patch->text before body byte patch->offset: the buffer that
 * holds it (in memory or in the temp file) is split in two, nothing is
 * copied; the length sent upstream follows
 */

static ngx_int_t
ngx_http_zae_limit_llm_patch(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx, zae_llm_patch_t *patch)
{
    off_t         start, size, at;
    u_char       *p;
    ngx_buf_t    *b, *tail, *ins;
    ngx_chain_t  *cl, *ncl, *icl;

    start = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        size = ngx_buf_size(b);

        if ((off_t) patch->offset < start + size) {
            break;
        }

        start += size;
    }

    if (cl == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "zae_limit: stream_options offset %uL is past the "
                      "body", patch->offset);
        return NGX_OK;
    }

    at = (off_t) patch->offset - start;

    ins = ngx_calloc_buf(r->pool);
    tail = ngx_calloc_buf(r->pool);
    icl = ngx_alloc_chain_link(r->pool);
    ncl = ngx_alloc_chain_link(r->pool);

    if (ins == NULL || tail == NULL || icl == NULL || ncl == NULL) {
        return NGX_ERROR;
    }

    ins->pos = (u_char *) patch->text;
    ins->last = ins->pos + patch->len;
    ins->memory = 1;

    *tail = *b;

    if (ngx_buf_in_memory(b)) {
        b->last = b->pos + at;
        tail->pos = b->last;

    } else {
        b->file_last = b->file_pos + at;
        tail->file_pos = b->file_last;
    }

    if (b->in_file && ngx_buf_in_memory(b)) {
        b->file_last = b->file_pos + at;
        tail->file_pos = b->file_last;
    }

    b->last_buf = 0;
    b->last_in_chain = 0;
    b->flush = 0;

    icl->buf = ins;
    icl->next = ncl;
    ncl->buf = tail;
    ncl->next = cl->next;
    cl->next = icl;

    r->headers_in.content_length_n += patch->len;

    if (r->headers_in.content_length) {
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        r->headers_in.content_length->value.data = p;
        r->headers_in.content_length->value.len =
                       ngx_sprintf(p, "%O", r->headers_in.content_length_n)
                       - p;
    }

    ctx->patched = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "zae_limit llm: include_usage added at %uL, body %O",
                   patch->offset, r->headers_in.content_length_n);

    return NGX_OK;
}


/* the answer ------------------------------------------------------------ */

static ngx_int_t
ngx_http_zae_limit_llm_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                      *enc;
    ngx_http_zae_limit_llm_ctx_t   *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_zae_limit_llm_get_ctx(r);

    if (ctx == NULL || !ctx->read || ctx->answer || r->header_only) {
        return ngx_http_next_header_filter(r);
    }

    ctx->answer = 1;

    enc = r->headers_out.content_encoding
          ? &r->headers_out.content_encoding->value : NULL;

    if (enc && enc->len && !(enc->len == 8
                             && ngx_strncasecmp(enc->data,
                                                (u_char *) "identity", 8)
                                == 0))
    {
        ctx->inflate = zae_llm_inflate_create(&ctx->mem, enc->data,
                                              enc->len);

        if (ctx->inflate == NULL) {
            ctx->skip = 1;

            ngx_http_zae_limit_llm_warn_once(r->connection->log,
                                  &ngx_http_zae_limit_llm_encoding_logged,
                                  "zae_limit: answer with content encoding "
                                  "\"%V\" not read, the estimate is kept",
                                  enc);

            return ngx_http_next_header_filter(r);
        }
    }

    /*
     * the usage-only chunk the client did not ask for is dropped from an
     * uncompressed event stream; the length changes then
     */

    if (ctx->patched && ctx->inflate == NULL
        && r->headers_out.content_type.len >= 17
        && ngx_strncasecmp(r->headers_out.content_type.data,
                           (u_char *) "text/event-stream", 17)
           == 0)
    {
        ctx->drop = 1;
        ngx_http_clear_content_length(r);
        ngx_http_clear_accept_ranges(r);
    }

    zae_llm_answer_init(&ctx->ans, ctx->drop);

    return ngx_http_next_header_filter(r);
}


/*
 * Every buffer is fed to the usage reader and passed on in the same
 * call; nothing is held back.  Only whole usage-only events of the
 * buffer are cut out, in place.
 */

static ngx_int_t
ngx_http_zae_limit_llm_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_http_zae_limit_llm_ctx_t  *ctx;

    if (r != r->main || in == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_zae_limit_llm_get_ctx(r);

    if (ctx == NULL || !ctx->answer || ctx->skip || ctx->finished) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_http_zae_limit_llm_read_buf(ctx, b,
                                          ngx_http_zae_limit_llm_feed_answer)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "zae_limit: answer not read, the estimate is "
                          "kept");
            ctx->skip = 1;
            break;
        }

        if (ctx->drop && ctx->ans.ndrops && ngx_buf_in_memory(b)
            && (b->temporary || (b->memory && r->upstream)))
        {
            ngx_http_zae_limit_llm_drop(b, &ctx->ans);
        }

        if (b->last_buf) {
            zae_llm_answer_finish(&ctx->ans);
            ctx->finished = 1;
            break;
        }
    }

    return ngx_http_next_body_filter(r, in);
}


/*
 * Removes the usage-only ranges of the buffer just fed, in place (the
 * bytes after them move down).  A buffer left empty becomes a sync
 * buffer, so that no zero-size memory buffer goes down the chain.
 */

static void
ngx_http_zae_limit_llm_drop(ngx_buf_t *b, zae_llm_answer_t *ans)
{
    u_char      *dst, *src;
    size_t       i, keep;

    dst = b->pos + ans->drops[0].start;

    for (i = 0; i < ans->ndrops; i++) {
        src = b->pos + ans->drops[i].end;
        keep = (i + 1 < ans->ndrops ? b->pos + ans->drops[i + 1].start
                                    : b->last)
               - src;

        dst = ngx_movemem(dst, src, keep);
    }

    b->last = dst;

    if (b->pos == b->last) {
        b->temporary = 0;
        b->memory = 0;
        b->mmap = 0;

        if (!b->last_buf && !b->flush) {
            b->sync = 1;
        }
    }

    ans->ndrops = 0;
}


/* the variables --------------------------------------------------------- */

typedef enum {
    NGX_HTTP_ZAE_LIMIT_LLM_V_MODEL = 0,
    NGX_HTTP_ZAE_LIMIT_LLM_V_STREAM,
    NGX_HTTP_ZAE_LIMIT_LLM_V_MAX_TOKENS,
    NGX_HTTP_ZAE_LIMIT_LLM_V_INPUT_ESTIMATE,
    NGX_HTTP_ZAE_LIMIT_LLM_V_ESTIMATE,
    NGX_HTTP_ZAE_LIMIT_LLM_V_INPUT,
    NGX_HTTP_ZAE_LIMIT_LLM_V_OUTPUT,
    NGX_HTTP_ZAE_LIMIT_LLM_V_TOTAL,
    NGX_HTTP_ZAE_LIMIT_LLM_V_CACHED,
    NGX_HTTP_ZAE_LIMIT_LLM_V_REASONING,
    NGX_HTTP_ZAE_LIMIT_LLM_V_SOURCE,
    NGX_HTTP_ZAE_LIMIT_LLM_V_COST_ESTIMATE,
    NGX_HTTP_ZAE_LIMIT_LLM_V_COST
} ngx_http_zae_limit_llm_var_e;


static ngx_str_t  ngx_http_zae_limit_llm_sources[] = {
    ngx_string("none"),
    ngx_string("body"),
    ngx_string("stream"),
    ngx_string("partial")
};


/*
 * What the answer says, and so what is charged:
 *
 *   usage found                     as read (body or stream)
 *   4xx (not 499) without usage     0 tokens ("none")
 *   a stream without usage          input estimate + ceil(output
 *                                   characters / 4), at most the
 *                                   estimate ("partial")
 *   anything else                   unknown ("none": the estimate stays)
 */

static ngx_uint_t
ngx_http_zae_limit_llm_usage(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx, zae_llm_usage_t *u)
{
    int64_t     total;
    ngx_uint_t  status;

    if (ctx->answer && !ctx->skip) {
        zae_llm_answer_usage(&ctx->ans, u);

    } else {
        ngx_memzero(u, sizeof(zae_llm_usage_t));
    }

    if (u->found) {
        return u->sse ? NGX_HTTP_ZAE_LIMIT_LLM_SRC_STREAM
                      : NGX_HTTP_ZAE_LIMIT_LLM_SRC_BODY;
    }

    status = r->headers_out.status;

    u->input = ZAE_LLM_UNKNOWN;
    u->output = ZAE_LLM_UNKNOWN;
    u->total = ZAE_LLM_UNKNOWN;
    u->cached = ZAE_LLM_UNKNOWN;
    u->reasoning = ZAE_LLM_UNKNOWN;

    if (status >= NGX_HTTP_BAD_REQUEST && status < 500
        && status != NGX_HTTP_CLIENT_CLOSED_REQUEST)
    {
        u->input = 0;
        u->output = 0;
        u->total = 0;
        return NGX_HTTP_ZAE_LIMIT_LLM_SRC_NONE;
    }

    if (status >= NGX_HTTP_OK && status < 300 && ctx->answer && !ctx->skip
        && (u->sse || ctx->req.stream || ctx->path.stream))
    {
        total = zae_llm_partial_tokens(u, ctx->input_estimate,
                                       ctx->estimate);
        u->input = ngx_min(ctx->input_estimate, total);
        u->output = total - u->input;
        u->total = total;
        return NGX_HTTP_ZAE_LIMIT_LLM_SRC_PARTIAL;
    }

    return NGX_HTTP_ZAE_LIMIT_LLM_SRC_NONE;
}


static const zae_llm_price_t *
ngx_http_zae_limit_llm_price_of(ngx_http_request_t *r,
    ngx_http_zae_limit_llm_ctx_t *ctx)
{
    u_char                         *m;
    size_t                          len;
    ngx_http_zae_limit_llm_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_llm_module);

    if (llcf->prices == NULL) {
        return NULL;
    }

    if (ctx->path.kind == ZAE_LLM_PATH_GEMINI) {
        m = ctx->path.model.data;
        len = ctx->path.model.len;

    } else {
        m = ctx->req.model;
        len = ctx->valid && ctx->req.model_seen ? ctx->req.model_len : 0;
    }

    return zae_llm_price_find(llcf->prices->elts, llcf->prices->nelts, m,
                              len);
}


static ngx_int_t
ngx_http_zae_limit_llm_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                        *p;
    int64_t                        n;
    ngx_uint_t                     src;
    zae_llm_usage_t                u;
    const zae_llm_price_t         *price;
    ngx_http_zae_limit_llm_ctx_t  *ctx;

    ctx = ngx_http_zae_limit_llm_get_ctx(r);

    if (ctx == NULL || !ctx->read) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    n = ZAE_LLM_UNKNOWN;

    switch (data) {

    case NGX_HTTP_ZAE_LIMIT_LLM_V_MODEL:
        if (ctx->path.kind == ZAE_LLM_PATH_GEMINI) {
            v->data = ctx->path.model.data;
            v->len = ctx->path.model.len;

        } else if (ctx->valid && ctx->req.model_seen) {
            v->data = ctx->req.model;
            v->len = ctx->req.model_len;

        } else {
            v->len = 0;
        }

        return NGX_OK;

    case NGX_HTTP_ZAE_LIMIT_LLM_V_STREAM:
        v->data = (u_char *) "1";
        v->len = (ctx->valid && ctx->req.stream) || ctx->path.stream;
        return NGX_OK;

    case NGX_HTTP_ZAE_LIMIT_LLM_V_MAX_TOKENS:
        n = ctx->output_estimate;
        break;

    case NGX_HTTP_ZAE_LIMIT_LLM_V_INPUT_ESTIMATE:
        n = ctx->input_estimate;
        break;

    case NGX_HTTP_ZAE_LIMIT_LLM_V_ESTIMATE:
        n = ctx->estimate;
        break;

    case NGX_HTTP_ZAE_LIMIT_LLM_V_COST_ESTIMATE:
        price = ngx_http_zae_limit_llm_price_of(r, ctx);
        if (price) {
            n = zae_llm_cost(price, ctx->input_estimate, 0,
                             ctx->output_estimate);
        }
        break;

    default:
        src = ngx_http_zae_limit_llm_usage(r, ctx, &u);

        switch (data) {

        case NGX_HTTP_ZAE_LIMIT_LLM_V_INPUT:
            n = u.input;
            break;

        case NGX_HTTP_ZAE_LIMIT_LLM_V_OUTPUT:
            n = u.output;
            break;

        case NGX_HTTP_ZAE_LIMIT_LLM_V_TOTAL:
            n = u.total;
            break;

        case NGX_HTTP_ZAE_LIMIT_LLM_V_CACHED:
            n = u.cached;
            break;

        case NGX_HTTP_ZAE_LIMIT_LLM_V_REASONING:
            n = u.reasoning;
            break;

        case NGX_HTTP_ZAE_LIMIT_LLM_V_SOURCE:
            v->data = ngx_http_zae_limit_llm_sources[src].data;
            v->len = ngx_http_zae_limit_llm_sources[src].len;
            return NGX_OK;

        default: /* NGX_HTTP_ZAE_LIMIT_LLM_V_COST */
            price = ngx_http_zae_limit_llm_price_of(r, ctx);
            if (price && u.total >= 0) {
                n = zae_llm_cost(price, u.input, u.cached, u.output);
            }
        }
    }

    if (n < 0) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_sprintf(p, "%L", n) - p;

    return NGX_OK;
}


#define ngx_http_zae_limit_llm_var(name, v)                                  \
    { ngx_string(name), NULL, ngx_http_zae_limit_llm_variable,               \
      NGX_HTTP_ZAE_LIMIT_LLM_V_ ## v, NGX_HTTP_VAR_NOCACHEABLE, 0 }

static ngx_http_variable_t  ngx_http_zae_limit_llm_vars[] = {
    ngx_http_zae_limit_llm_var("zae_llm_model", MODEL),
    ngx_http_zae_limit_llm_var("zae_llm_stream", STREAM),
    ngx_http_zae_limit_llm_var("zae_llm_max_tokens", MAX_TOKENS),
    ngx_http_zae_limit_llm_var("zae_llm_input_estimate", INPUT_ESTIMATE),
    ngx_http_zae_limit_llm_var("zae_llm_estimate", ESTIMATE),
    ngx_http_zae_limit_llm_var("zae_llm_input_tokens", INPUT),
    ngx_http_zae_limit_llm_var("zae_llm_output_tokens", OUTPUT),
    ngx_http_zae_limit_llm_var("zae_llm_total_tokens", TOTAL),
    ngx_http_zae_limit_llm_var("zae_llm_cached_tokens", CACHED),
    ngx_http_zae_limit_llm_var("zae_llm_reasoning_tokens", REASONING),
    ngx_http_zae_limit_llm_var("zae_llm_usage_source", SOURCE),
    ngx_http_zae_limit_llm_var("zae_llm_cost_estimate", COST_ESTIMATE),
    ngx_http_zae_limit_llm_var("zae_llm_cost", COST),

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_zae_limit_llm_add_variables(ngx_conf_t *cf)
{
    return ngx_http_zae_limit_add_vars(cf, ngx_http_zae_limit_llm_vars);
}


/* configuration ---------------------------------------------------------- */

static void *
ngx_http_zae_limit_llm_create_conf(ngx_conf_t *cf)
{
    ngx_http_zae_limit_llm_conf_t  *llcf;

    llcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_zae_limit_llm_conf_t));
    if (llcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     llcf->prices = NULL;
     */

    llcf->enable = NGX_CONF_UNSET;
    llcf->default_max_tokens = NGX_CONF_UNSET;
    llcf->max_body = NGX_CONF_UNSET_SIZE;
    llcf->stream_usage = NGX_CONF_UNSET;

    return llcf;
}


static char *
ngx_http_zae_limit_llm_merge_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_zae_limit_llm_conf_t *prev = parent;
    ngx_http_zae_limit_llm_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->default_max_tokens, prev->default_max_tokens,
                         1024);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body,
                              1024 * 1024);
    ngx_conf_merge_value(conf->stream_usage, prev->stream_usage, 1);

    if (conf->prices == NULL) {
        conf->prices = prev->prices;
    }

    return NGX_CONF_OK;
}


/* zae_limit_llm_price MODEL input=USD output=USD [cached_input=USD] */

static char *
ngx_http_zae_limit_llm_price(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_llm_conf_t *llcf = conf;

    int64_t          *dst;
    ngx_str_t        *value, s;
    ngx_uint_t        i;
    zae_llm_price_t  *p, *ps;

    value = cf->args->elts;

    if (llcf->prices == NULL) {
        llcf->prices = ngx_array_create(cf->pool, 4,
                                        sizeof(zae_llm_price_t));
        if (llcf->prices == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    p = ngx_array_push(llcf->prices);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(p, sizeof(zae_llm_price_t));

    p->model.data = value[1].data;
    p->model.len = value[1].len;

    if (p->model.len && p->model.data[p->model.len - 1] == '*') {
        p->prefix = 1;
        p->model.len--;
    }

    if (ngx_strlchr(p->model.data, p->model.data + p->model.len, '*')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid model \"%V\": '*' only at the end",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ps = llcf->prices->elts;

    for (i = 0; i + 1 < llcf->prices->nelts; i++) {
        if (ps[i].prefix == p->prefix && ps[i].model.len == p->model.len
            && ngx_strncmp(ps[i].model.data, p->model.data, p->model.len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate price of \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    p->input = ZAE_LLM_UNKNOWN;
    p->output = ZAE_LLM_UNKNOWN;
    p->cached_input = ZAE_LLM_UNKNOWN;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "input=", 6) == 0) {
            dst = &p->input;
            s.data = value[i].data + 6;

        } else if (ngx_strncmp(value[i].data, "output=", 7) == 0) {
            dst = &p->output;
            s.data = value[i].data + 7;

        } else if (ngx_strncmp(value[i].data, "cached_input=", 13) == 0) {
            dst = &p->cached_input;
            s.data = value[i].data + 13;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s.len = value[i].data + value[i].len - s.data;

        if (*dst != ZAE_LLM_UNKNOWN) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (zae_llm_price_parse(s.data, s.len, dst) != ZAE_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid price \"%V\": USD per million "
                               "tokens, up to 9 decimals", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (p->input == ZAE_LLM_UNKNOWN || p->output == ZAE_LLM_UNKNOWN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"input\" and \"output\" "
                           "parameters", &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_zae_limit_llm_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * pushed after zae_limit's handler (this module comes after it), so
     * it runs first: the phase engine calls a phase's handlers in the
     * reverse order of registration
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_zae_limit_llm_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_zae_limit_llm_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_zae_limit_llm_body_filter;

    return NGX_OK;
}
