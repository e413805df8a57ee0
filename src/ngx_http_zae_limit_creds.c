
/*
 * Copyright (C) zae-limit authors
 *
 * The AWS credentials of a worker's DynamoDB client: from the
 * environment or the shared files at worker start, or fetched from STS
 * (web identity), ECS container credentials or EC2 instance metadata
 * through the client's transport (ngx_http_zae_limit_ddb_fetch()) and
 * refreshed by a timer before they expire.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_ddb.h"

#include "zae_core.h"
#include "zae_creds.h"


struct ngx_http_zae_limit_creds_s {
    ngx_http_zae_limit_ddb_t           *ddb;       /* fetches through it */
    ngx_http_zae_limit_ddb_conf_t      *conf;
    ngx_log_t                          *log;
    zae_creds_provider_t                provider;

    ngx_event_t                         event;     /* fetch, refresh */
    ngx_pool_t                         *pool;      /* of the fetch */
    ngx_http_zae_limit_ddb_call_t      *call;      /* the fetch */

    unsigned                            ready:1;
};


static const char *ngx_http_zae_limit_creds_getenv(void *ctx,
    const char *name);
static void ngx_http_zae_limit_creds_start(ngx_http_zae_limit_creds_t *cr,
    ngx_msec_t delay);
static void ngx_http_zae_limit_creds_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_zae_limit_creds_fetch(
    ngx_http_zae_limit_creds_t *cr, zae_creds_http_t *req);
static void ngx_http_zae_limit_creds_done(
    ngx_http_zae_limit_ddb_call_t *call);
static const char *ngx_http_zae_limit_creds_msg(zae_err_t *err);
static const char *ngx_http_zae_limit_creds_source(
    ngx_http_zae_limit_creds_t *cr);
static void ngx_http_zae_limit_creds_free(ngx_http_zae_limit_creds_t *cr);


static const char *
ngx_http_zae_limit_creds_getenv(void *ctx, const char *name)
{
    return getenv(name);
}


ngx_http_zae_limit_creds_t *
ngx_http_zae_limit_creds_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb, ngx_http_zae_limit_ddb_conf_t *conf)
{
    int                          rc;
    zae_err_t                    err;
    ngx_http_zae_limit_creds_t  *cr;

    cr = ngx_pcalloc(cycle->pool, sizeof(ngx_http_zae_limit_creds_t));
    if (cr == NULL) {
        return NULL;
    }

    cr->ddb = ddb;
    cr->conf = conf;
    cr->log = cycle->log;

    err.msg[0] = '\0';

    rc = zae_creds_provider_init(&cr->provider,
                                 ngx_http_zae_limit_creds_getenv, NULL, NULL,
                                 &err);

    cr->event.handler = ngx_http_zae_limit_creds_handler;
    cr->event.data = cr;
    cr->event.log = cycle->log;
    cr->event.cancelable = 1;

    if (rc == ZAE_OK) {
        cr->ready = 1;

        if (cr->provider.source == ZAE_CREDS_SRC_PROFILE) {
            /* the shared files: looked at again, see the handler */
            ngx_http_zae_limit_creds_start(cr,
                                           ZAE_CREDS_FILES_CHECK * 1000);
        }

        return cr;
    }

    if (rc == ZAE_AGAIN) {

        /* STS of the DynamoDB client's region, unless an env url */

        if (cr->provider.source == ZAE_CREDS_SRC_WEB_IDENTITY
            && conf->region.len
            && zae_creds_set_region(&cr->provider, conf->region.data,
                                    conf->region.len, &err)
               != ZAE_OK)
        {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "zae_limit: AWS credentials: %s",
                          ngx_http_zae_limit_creds_msg(&err));
        }

        if (cr->provider.source == ZAE_CREDS_SRC_IMDS && !conf->imds) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "zae_limit: no AWS credentials in the environment "
                          "or the shared files, and EC2 instance metadata "
                          "is off; DynamoDB calls are disabled: declare "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                          "with \"env\" lines in the main context, or "
                          "AWS_SHARED_CREDENTIALS_FILE, or set imds=on");
            return cr;
        }

        /* ECS or EC2 metadata: fetched through the client */

        ngx_http_zae_limit_creds_start(cr, 0);

        return cr;
    }

    ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                  "zae_limit: no AWS credentials (%s); DynamoDB calls are "
                  "disabled: declare AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY with \"env\" lines in the main "
                  "context, or AWS_SHARED_CREDENTIALS_FILE", err.msg);

    return cr;
}


void
ngx_http_zae_limit_creds_exit_process(ngx_http_zae_limit_creds_t *cr)
{
    if (cr->event.timer_set) {
        ngx_del_timer(&cr->event);
    }

    if (cr->event.posted) {
        ngx_delete_posted_event(&cr->event);
    }

    ngx_http_zae_limit_creds_free(cr);

    zae_creds_provider_wipe(&cr->provider);

    cr->ready = 0;
}


ngx_int_t
ngx_http_zae_limit_creds_ready(ngx_http_zae_limit_creds_t *cr)
{
    const zae_aws_creds_t  *creds;

    if (cr == NULL || !cr->ready) {
        return NGX_DECLINED;
    }

    creds = zae_creds_get(&cr->provider);

    if (creds == NULL
        || (creds->expiration && creds->expiration <= (int64_t) ngx_time()))
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


const zae_aws_creds_t *
ngx_http_zae_limit_creds_get(ngx_http_zae_limit_creds_t *cr)
{
    return zae_creds_get(&cr->provider);
}


/*
 * Credentials from ECS or EC2 metadata: the provider says which request
 * is next, the client sends it with a pool of its own, the answer goes
 * back to the provider; the event re-runs this before they expire.
 */

static void
ngx_http_zae_limit_creds_start(ngx_http_zae_limit_creds_t *cr,
    ngx_msec_t delay)
{
    if (cr->event.timer_set) {
        ngx_del_timer(&cr->event);
    }

    if (delay == 0) {
        if (!cr->event.posted) {
            ngx_post_event(&cr->event, &ngx_posted_events);
        }

        return;
    }

    ngx_add_timer(&cr->event, delay);
}


static void
ngx_http_zae_limit_creds_handler(ngx_event_t *ev)
{
    int                          rc;
    time_t                       now;
    zae_err_t                    err;
    ngx_msec_t                   delay;
    zae_creds_http_t             req;
    ngx_http_zae_limit_creds_t  *cr;

    cr = ev->data;

    if (ngx_exiting || ngx_terminate || cr->call != NULL) {
        return;
    }

    now = ngx_time();
    err.msg[0] = '\0';

    if (cr->provider.source == ZAE_CREDS_SRC_PROFILE) {

        /* an external refresher may rewrite the files: stat, re-read */

        rc = zae_creds_files_check(&cr->provider, (int64_t) now, &err);

        if (rc == ZAE_OK) {
            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "zae_limit: AWS credentials read again from the "
                          "shared files");

        } else if (rc == ZAE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                          "zae_limit: AWS credentials: %s; the previous "
                          "ones are kept",
                          ngx_http_zae_limit_creds_msg(&err));
        }

        ngx_http_zae_limit_creds_start(cr, ZAE_CREDS_FILES_CHECK * 1000);
        return;
    }

    rc = zae_creds_next_request(&cr->provider, (int64_t) now, &req, &err);

    if (rc == ZAE_AGAIN) {
        if (ngx_http_zae_limit_creds_fetch(cr, &req) == NGX_OK) {
            return;
        }

        ngx_http_zae_limit_creds_free(cr);
        ngx_http_zae_limit_creds_start(cr, 30000);
        return;
    }

    if (rc == ZAE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "zae_limit: AWS credentials: %s",
                      ngx_http_zae_limit_creds_msg(&err));
        ngx_http_zae_limit_creds_start(cr, 30000);
        return;
    }

    /* fresh: come back when they need a refresh */

    cr->ready = (zae_creds_get(&cr->provider) != NULL);

    delay = 3600000;

    if (cr->provider.refresh_at > (int64_t) now
        && cr->provider.refresh_at - (int64_t) now < 3600)
    {
        delay = (ngx_msec_t) (cr->provider.refresh_at - (int64_t) now)
                * 1000;
    }

    ngx_http_zae_limit_creds_start(cr, ngx_max(delay, 1000));
}


static ngx_int_t
ngx_http_zae_limit_creds_fetch(ngx_http_zae_limit_creds_t *cr,
    zae_creds_http_t *req)
{
    u_char                         *p;
    size_t                          len;
    ngx_str_t                       host, head;
    ngx_uint_t                      i, v6;
    ngx_pool_t                     *pool;
    ngx_http_zae_limit_ddb_call_t  *call;

    static ngx_str_t  name = ngx_string("credentials");
    static ngx_str_t  sts = ngx_string("STS (web identity credentials)");

    pool = ngx_create_pool(4096, cr->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    cr->pool = pool;

    call = ngx_pcalloc(pool, sizeof(ngx_http_zae_limit_ddb_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->pool = pool;
    call->log = cr->log;
    call->deadline = ngx_min(cr->conf->timeout * 4, 5000);
    call->handler = ngx_http_zae_limit_creds_done;
    call->data = cr;

    /* the request */

    len = req->method.len + 1 + req->path.len
          + sizeof(" HTTP/1.1" CRLF "Host: []" CRLF) - 1 + req->host.len
          + sizeof(":65535") - 1
          + sizeof("Content-Length: " CRLF "Connection: close" CRLF CRLF)
          - 1 + NGX_SIZE_T_LEN + req->body.len;

    for (i = 0; i < req->nheaders; i++) {
        len += req->headers[i].name.len + 2 + req->headers[i].value.len + 2;
    }

    head.data = ngx_pnalloc(pool, len);
    if (head.data == NULL) {
        return NGX_ERROR;
    }

    /* an IPv6 address goes in brackets: Host: [fd00:ec2::23] */

    v6 = (ngx_strlchr(req->host.data, req->host.data + req->host.len, ':')
          != NULL);

    p = ngx_sprintf(head.data, "%*s %*s HTTP/1.1" CRLF "Host: %s%*s%s",
                    req->method.len, req->method.data,
                    req->path.len, req->path.data, v6 ? "[" : "",
                    req->host.len, req->host.data, v6 ? "]" : "");

    if (req->port != (req->https ? 443 : 80)) {
        p = ngx_sprintf(p, ":%d", (int) req->port);
    }

    *p++ = CR; *p++ = LF;

    for (i = 0; i < req->nheaders; i++) {
        p = ngx_sprintf(p, "%*s: %*s" CRLF,
                        req->headers[i].name.len, req->headers[i].name.data,
                        req->headers[i].value.len,
                        req->headers[i].value.data);
    }

    p = ngx_sprintf(p, "Content-Length: %uz" CRLF "Connection: close"
                    CRLF CRLF, req->body.len);

    /* the STS form (holds the web identity token: never logged) */

    p = ngx_cpymem(p, req->body.data, req->body.len);

    head.len = p - head.data;

    host = ngx_http_zae_limit_ngx_str(&req->host);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cr->log, 0,
                   "zae_limit: credentials request %V %V",
                   ngx_http_zae_limit_v(&req->method),
                   ngx_http_zae_limit_v(&req->url));

    if (ngx_http_zae_limit_ddb_fetch(cr->ddb, call,
                                     cr->provider.source
                                     == ZAE_CREDS_SRC_WEB_IDENTITY
                                     ? &sts : &name,
                                     &host, req->port, req->https, &head)
        != NGX_AGAIN)
    {
        return NGX_ERROR;
    }

    cr->call = call;

    return NGX_OK;
}


static void
ngx_http_zae_limit_creds_done(ngx_http_zae_limit_ddb_call_t *call)
{
    int                          rc;
    zae_err_t                    err;
    ngx_http_zae_limit_creds_t  *cr;

    cr = call->data;
    err.msg[0] = '\0';

    if (call->rc == NGX_OK) {
        rc = zae_creds_response(&cr->provider, (int) call->status,
                                call->response.data, call->response.len,
                                (int64_t) ngx_time(), &err);

    } else {
        rc = zae_creds_response(&cr->provider, 0, NULL, 0,
                                (int64_t) ngx_time(), &err);
        ngx_log_error(NGX_LOG_ERR, cr->log, 0,
                      "zae_limit: AWS credentials request to %s failed: %V",
                      ngx_http_zae_limit_creds_source(cr), &call->error);
    }

    ngx_http_zae_limit_creds_free(cr);

    if (rc == ZAE_AGAIN) {
        ngx_http_zae_limit_creds_start(cr, 0);
        return;
    }

    if (rc == ZAE_ERROR) {
        if (err.msg[0]) {
            ngx_log_error(NGX_LOG_ERR, cr->log, 0,
                          "zae_limit: AWS credentials: %s",
                          ngx_http_zae_limit_creds_msg(&err));
        }

        ngx_http_zae_limit_creds_start(cr, 30000);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, cr->log, 0,
                  "zae_limit: AWS credentials received");

    cr->ready = 1;

    /* schedules the refresh */

    ngx_http_zae_limit_creds_start(cr, 0);
}


/* the core's message without its "credentials: " prefix */

static const char *
ngx_http_zae_limit_creds_msg(zae_err_t *err)
{
    if (ngx_strncmp(err->msg, "credentials: ", 13) == 0) {
        return err->msg + 13;
    }

    return err->msg;
}


static const char *
ngx_http_zae_limit_creds_source(ngx_http_zae_limit_creds_t *cr)
{
    switch (cr->provider.source) {

    case ZAE_CREDS_SRC_WEB_IDENTITY:
        return "STS (web identity)";

    case ZAE_CREDS_SRC_ECS:
        return "the container credentials endpoint";

    default:
        return "EC2 instance metadata";
    }
}


static void
ngx_http_zae_limit_creds_free(ngx_http_zae_limit_creds_t *cr)
{
    if (cr->call) {
        ngx_http_zae_limit_ddb_cancel(cr->call);
        cr->call = NULL;
    }

    if (cr->pool) {
        ngx_destroy_pool(cr->pool);
        cr->pool = NULL;
    }
}
