
/*
 * Copyright (C) zae-limit authors
 *
 * The DynamoDB client's call layer: the API of
 * ngx_http_zae_limit_ddb.h, the request signed with SigV4 at each
 * attempt, the answer's classification, retries with backoff until the
 * call is final or its deadline passes, and the completion posted as
 * an event.  The connections are ngx_http_zae_limit_ddb_conn.c's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_ddb_conn.h"

#include "zae_ddb.h"


static void *ngx_http_zae_limit_ddb_palloc(void *ctx, size_t size);
static ngx_http_zae_limit_ddb_op_t *ngx_http_zae_limit_ddb_op(
    ngx_http_zae_limit_ddb_t *ddb, ngx_http_zae_limit_ddb_call_t *call);
static void ngx_http_zae_limit_ddb_attempt(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_attempt_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_zae_limit_ddb_build(
    ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_timeout(ngx_event_t *ev);
static void ngx_http_zae_limit_ddb_finish(ngx_http_zae_limit_ddb_op_t *op,
    ngx_int_t rc);
static void ngx_http_zae_limit_ddb_done_handler(ngx_event_t *ev);


static void *
ngx_http_zae_limit_ddb_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


ngx_http_zae_limit_ddb_t *
ngx_http_zae_limit_ddb_create(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_conf_t *conf)
{
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = ngx_pcalloc(cf->pool, sizeof(ngx_http_zae_limit_ddb_t));
    if (ddb == NULL) {
        return NULL;
    }

    ddb->conf = conf;

    if (conf->resolver == NGX_CONF_UNSET_PTR) {
        conf->resolver = NULL;
    }

    if (conf->resolver && conf->resolver->connections.nelts == 0) {
        /* the dummy resolver nginx creates when none is configured */
        conf->resolver = NULL;
    }

    if (ngx_http_zae_limit_ddb_parse_endpoint(cf, ddb) != NGX_OK) {
        return NULL;
    }

    if (ddb->dest.https) {
#if (NGX_SSL)
        if (ngx_http_zae_limit_ddb_set_ssl(cf, ddb) != NGX_OK) {
            return NULL;
        }
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zae_limit: \"https\" endpoints need nginx built "
                           "with ssl");
        return NULL;
#endif
    }

    return ddb;
}


ngx_int_t
ngx_http_zae_limit_ddb_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb, ngx_http_zae_limit_creds_t *creds)
{
    ngx_uint_t  i;

    ddb->log = cycle->log;

    ngx_queue_init(&ddb->cache);
    ngx_queue_init(&ddb->free);
    ngx_queue_init(&ddb->waiting);

    if (ddb->conf->keepalive) {
        ddb->cached = ngx_pcalloc(cycle->pool,
                                  sizeof(ngx_http_zae_limit_ddb_cached_t)
                                  * ddb->conf->keepalive);
        if (ddb->cached == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < ddb->conf->keepalive; i++) {
            ddb->cached[i].ddb = ddb;
            ngx_queue_insert_tail(&ddb->free, &ddb->cached[i].queue);
        }
    }

    ddb->random_state = ((uint64_t) ngx_random() << 32)
                        ^ (uint64_t) ngx_random() ^ (uint64_t) ngx_pid;

    zae_retry_policy_init(&ddb->retry, &ddb->random_state);
    ddb->retry.max_attempts = ddb->conf->max_attempts;

    zae_sigv4_cache_init(&ddb->sigv4);

    ddb->creds = creds;

    return NGX_OK;
}


void
ngx_http_zae_limit_ddb_exit_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb)
{
    ngx_connection_t  *c;

    while ((c = ngx_http_zae_limit_ddb_cache_pop(ddb)) != NULL) {
        ngx_http_zae_limit_ddb_close(c);
    }

#if (NGX_SSL)
    if (ddb->session) {
        ngx_ssl_free_session(ddb->session);
        ddb->session = NULL;
    }
#endif

    zae_sigv4_cache_wipe(&ddb->sigv4);

    ddb->creds = NULL;
}


ngx_int_t
ngx_http_zae_limit_ddb_ready(ngx_http_zae_limit_ddb_t *ddb)
{
    if (ddb == NULL || ddb->creds == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_zae_limit_creds_ready(ddb->creds);
}


ngx_str_t *
ngx_http_zae_limit_ddb_endpoint(ngx_http_zae_limit_ddb_t *ddb)
{
    return &ddb->endpoint;
}


ngx_int_t
ngx_http_zae_limit_ddb_start(ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_msec_t                    budget;
    ngx_uint_t                    shift;
    const zae_ddb_op_t           *dop;
    ngx_http_zae_limit_ddb_op_t  *op;

    dop = zae_ddb_op(call->op);

    if (call->pool == NULL || call->log == NULL || call->handler == NULL
        || dop == NULL)
    {
        return NGX_ERROR;
    }

    call->rc = NGX_ERROR;
    call->status = 0;
    ngx_str_null(&call->response);
    ngx_str_null(&call->error_type);
    ngx_str_null(&call->error);
    call->attempts = 0;
    call->latency = 0;
    call->state = NULL;

    if (ngx_http_zae_limit_ddb_ready(ddb) != NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, call->log, 0,
                       "zae_limit: ddb call without credentials");
        ngx_str_set(&call->error, "no AWS credentials (see the error "
                    "logged at the worker's start)");
        return NGX_ERROR;
    }

    if (ddb->conf->max_connections
        && ddb->busy >= ddb->conf->max_connections
        && ddb->nwaiting >= ddb->conf->max_waiting)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, call->log, 0,
                       "zae_limit: ddb busy: %ui in use, %ui waiting",
                       ddb->busy, ddb->nwaiting);
        return NGX_BUSY;
    }

    op = ngx_http_zae_limit_ddb_op(ddb, call);
    if (op == NULL) {
        return NGX_ERROR;
    }

    /* X-Amz-Target */

    op->target = ngx_http_zae_limit_ngx_str(&dop->target);

    budget = call->deadline;

    if (budget == 0) {
        shift = ngx_min(ddb->conf->max_attempts, 10);
        budget = ddb->conf->timeout * ddb->conf->max_attempts
                 + ZAE_RETRY_BASE_MS * ((ngx_msec_t) 1 << shift);
    }

    op->deadline = op->start + budget;

    call->state = op;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, call->log, 0,
                   "zae_limit: ddb start \"%V\" budget:%M", &op->target,
                   budget);

    ngx_http_zae_limit_ddb_attempt(op);

    return NGX_AGAIN;
}


ngx_int_t
ngx_http_zae_limit_ddb_fetch(ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_call_t *call, ngx_str_t *name, ngx_str_t *host,
    in_port_t port, ngx_uint_t https, ngx_str_t *head)
{
    ngx_int_t                       rc;
    ngx_addr_t                     *addr;
    ngx_pool_t                     *pool;
    ngx_http_zae_limit_ddb_op_t    *op;
    ngx_http_zae_limit_ddb_dest_t  *dest;

    pool = call->pool;

    /* where: an address, "localhost", or a name for the resolver */

    dest = ngx_pcalloc(pool, sizeof(ngx_http_zae_limit_ddb_dest_t));
    if (dest == NULL) {
        return NGX_ERROR;
    }

    dest->port = port;
    dest->https = https;

#if (NGX_SSL)
    if (https && ddb->ssl == NULL)
#else
    if (https)
#endif
    {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "zae_limit: %V over https needs an https DynamoDB "
                      "endpoint (its TLS settings are used)", name);
        return NGX_ERROR;
    }

    dest->host.data = ngx_pnalloc(pool, host->len + 1);
    if (dest->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dest->host.data, host->data, host->len);
    dest->host.data[host->len] = '\0';
    dest->host.len = host->len;

    addr = ngx_pcalloc(pool, sizeof(ngx_addr_t));
    if (addr == NULL) {
        return NGX_ERROR;
    }

    if (dest->host.len == 9
        && ngx_strncasecmp(dest->host.data, (u_char *) "localhost", 9) == 0)
    {
        rc = ngx_parse_addr(pool, addr, (u_char *) "127.0.0.1", 9);

    } else {
        rc = ngx_parse_addr(pool, addr, dest->host.data, dest->host.len);
    }

    if (rc == NGX_OK) {
        ngx_inet_set_port(addr->sockaddr, dest->port);

        addr->name.data = ngx_pnalloc(pool, NGX_SOCKADDR_STRLEN);
        if (addr->name.data == NULL) {
            return NGX_ERROR;
        }

        addr->name.len = ngx_sock_ntop(addr->sockaddr, addr->socklen,
                                       addr->name.data, NGX_SOCKADDR_STRLEN,
                                       1);
        dest->addrs = addr;
        dest->naddrs = 1;
        dest->literal = 1;

    } else if (ddb->conf->resolver) {
        dest->resolve = 1;

    } else {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "zae_limit: %V host \"%V\" needs a resolver",
                      name, &dest->host);
        return NGX_ERROR;
    }

    op = ngx_http_zae_limit_ddb_op(ddb, call);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->raw = 1;
    op->dest = dest;
    op->target = *name;
    op->request = *head;

    op->deadline = op->start + call->deadline;

    call->state = op;

    ngx_http_zae_limit_ddb_attempt(op);

    return NGX_AGAIN;
}


static ngx_http_zae_limit_ddb_op_t *
ngx_http_zae_limit_ddb_op(ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_http_zae_limit_ddb_op_t  *op;

    op = ngx_pcalloc(call->pool, sizeof(ngx_http_zae_limit_ddb_op_t));
    if (op == NULL) {
        return NULL;
    }

    op->resp = ngx_palloc(call->pool, sizeof(zae_http_resp_t));
    if (op->resp == NULL) {
        return NULL;
    }

    op->ddb = ddb;
    op->call = call;
    op->dest = &ddb->dest;
    op->mem.alloc = ngx_http_zae_limit_ddb_palloc;
    op->mem.ctx = call->pool;

    op->timer.handler = ngx_http_zae_limit_ddb_timeout;
    op->timer.data = op;
    op->timer.log = call->log;

    op->event.data = op;
    op->event.log = call->log;

    zae_retry_op_init(&op->retry);

    op->start = ngx_current_msec;

    return op;
}


void
ngx_http_zae_limit_ddb_cancel(ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_http_zae_limit_ddb_op_t  *op;

    op = call->state;

    if (op == NULL || op->cancelled) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, call->log, 0,
                   "zae_limit: ddb cancel \"%V\"", &op->target);

    op->cancelled = 1;

    ngx_http_zae_limit_ddb_release(op, 0);

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->event.timer_set) {
        ngx_del_timer(&op->event);
    }

    if (op->event.posted) {
        ngx_delete_posted_event(&op->event);
    }

    op->state = NGX_HTTP_ZAE_LIMIT_DDB_FINISHED;
}


static void
ngx_http_zae_limit_ddb_attempt_handler(ngx_event_t *ev)
{
    ngx_http_zae_limit_ddb_attempt(ev->data);
}


static void
ngx_http_zae_limit_ddb_attempt(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_msec_t                      left;
    ngx_msec_int_t                  d;
    ngx_http_zae_limit_ddb_call_t  *call;

    call = op->call;

    d = (ngx_msec_int_t) (op->deadline - ngx_current_msec);

    if (d <= 0) {
        op->retry.attempts = op->ddb->conf->max_attempts;
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_TIMEOUT, 0, NULL,
                                    "deadline passed");
        return;
    }

    call->attempts++;
    call->status = 0;
    ngx_str_null(&call->error_type);
    ngx_str_null(&call->response);

    op->reused = 0;
    op->fresh = 0;
    op->extra = 0;
    op->tried = 0;

    if (!op->raw && ngx_http_zae_limit_ddb_build(op) != NGX_OK) {
        /* not a transport failure: do not retry */
        op->retry.attempts = op->ddb->conf->max_attempts;
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_OK, 0, NULL,
                                    "could not build request");
        return;
    }

    left = ngx_min(op->ddb->conf->timeout, (ngx_msec_t) d);

    ngx_add_timer(&op->timer, left);

    ngx_http_zae_limit_ddb_connect_start(op);
}


/* the request, signed now: retries are signed again */

static ngx_int_t
ngx_http_zae_limit_ddb_build(ngx_http_zae_limit_ddb_op_t *op)
{
    u_char                         *p;
    size_t                          len;
    ngx_str_t                       date, auth;
    zae_err_t                       err;
    zae_str_t                       zregion, zhost, ztarget, zbody;
    zae_str_t                       zdate, zauth;
    ngx_http_zae_limit_ddb_t       *ddb;
    const zae_aws_creds_t          *creds;
    ngx_http_zae_limit_ddb_call_t  *call;

    ddb = op->ddb;
    call = op->call;

    creds = ngx_http_zae_limit_creds_get(ddb->creds);
    if (creds == NULL) {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "zae_limit: no AWS credentials");
        return NGX_ERROR;
    }

    zregion = ngx_http_zae_limit_zae_str(&ddb->conf->region);
    zhost = ngx_http_zae_limit_zae_str(&ddb->dest.host_header);
    ztarget = ngx_http_zae_limit_zae_str(&op->target);
    zbody = ngx_http_zae_limit_zae_str(&call->body);

    err.msg[0] = '\0';

    if (zae_sigv4_sign_dynamodb(&op->mem, creds, &ddb->sigv4, &zregion,
                                &zhost, &ztarget, &zbody,
                                (int64_t) ngx_time(), &zdate, &zauth, &err)
        != ZAE_OK)
    {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "zae_limit: signing failed: %s", err.msg);
        return NGX_ERROR;
    }

    date = ngx_http_zae_limit_ngx_str(&zdate);
    auth = ngx_http_zae_limit_ngx_str(&zauth);

    len = sizeof("POST / HTTP/1.1" CRLF) - 1
          + sizeof("Host: " CRLF) - 1 + ddb->dest.host_header.len
          + sizeof("Content-Type: " ZAE_DYNAMODB_CONTENT_TYPE CRLF) - 1
          + sizeof("X-Amz-Target: " CRLF) - 1 + op->target.len
          + sizeof("X-Amz-Date: " CRLF) - 1 + date.len
          + sizeof("Authorization: " CRLF) - 1 + auth.len
          + sizeof("Content-Length: " CRLF) - 1 + NGX_SIZE_T_LEN
          + sizeof("Connection: keep-alive" CRLF CRLF) - 1;

    if (creds->session_token.len) {
        len += sizeof("X-Amz-Security-Token: " CRLF) - 1
               + creds->session_token.len;
    }

    /* the body follows the head in the same buffer: one write sends both */

    p = ngx_pnalloc(call->pool, len + call->body.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    op->request.data = p;

    p = ngx_cpymem(p, "POST / HTTP/1.1" CRLF "Host: ",
                   sizeof("POST / HTTP/1.1" CRLF "Host: ") - 1);
    p = ngx_cpymem(p, ddb->dest.host_header.data, ddb->dest.host_header.len);
    p = ngx_cpymem(p, CRLF "Content-Type: " ZAE_DYNAMODB_CONTENT_TYPE CRLF
                   "X-Amz-Target: ",
                   sizeof(CRLF "Content-Type: " ZAE_DYNAMODB_CONTENT_TYPE
                          CRLF "X-Amz-Target: ") - 1);
    p = ngx_cpymem(p, op->target.data, op->target.len);
    p = ngx_cpymem(p, CRLF "X-Amz-Date: ", sizeof(CRLF "X-Amz-Date: ") - 1);
    p = ngx_cpymem(p, date.data, date.len);

    if (creds->session_token.len) {
        p = ngx_cpymem(p, CRLF "X-Amz-Security-Token: ",
                       sizeof(CRLF "X-Amz-Security-Token: ") - 1);
        p = ngx_cpymem(p, creds->session_token.data,
                       creds->session_token.len);
    }

    p = ngx_cpymem(p, CRLF "Authorization: ",
                   sizeof(CRLF "Authorization: ") - 1);
    p = ngx_cpymem(p, auth.data, auth.len);
    p = ngx_sprintf(p, CRLF "Content-Length: %uz" CRLF
                    "Connection: keep-alive" CRLF CRLF, call->body.len);

    p = ngx_cpymem(p, call->body.data, call->body.len);

    op->request.len = p - op->request.data;

    return NGX_OK;
}


void
ngx_http_zae_limit_ddb_response(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_str_t                       code;
    zae_err_t                       err;
    ngx_uint_t                      keep;
    zae_http_resp_t                *resp;
    zae_ddb_error_t                 e;
    zae_ddb_http_resp_t             hr;
    ngx_http_zae_limit_ddb_call_t  *call;

    call = op->call;
    resp = op->resp;

    if (zae_http_resp_check_crc32(resp, &err) != ZAE_OK) {
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_MALFORMED,
                                    resp->status, NULL, "%s", err.msg);
        return;
    }

    keep = !resp->close && !op->extra && !op->raw
           && op->state == NGX_HTTP_ZAE_LIMIT_DDB_READING;

    ngx_http_zae_limit_ddb_release(op, keep);

    call->status = resp->status;
    call->response.data = resp->body.data;
    call->response.len = resp->body.len;

    if (call->response.data == NULL) {
        call->response.data = (u_char *) "";
    }

    if (op->raw) {
        ngx_http_zae_limit_ddb_finish(op, NGX_OK);
        return;
    }

    if (resp->status >= 200 && resp->status < 300) {
        zae_retry_success(&op->ddb->retry, &op->retry);
        ngx_http_zae_limit_ddb_finish(op, NGX_OK);
        return;
    }

    /* an error answer: the code decides whether it is retried */

    ngx_memzero(&e, sizeof(zae_ddb_error_t));
    ngx_memzero(&hr, sizeof(zae_ddb_http_resp_t));

    hr.status = resp->status;
    hr.error_type = resp->error_type;
    hr.body.data = resp->body.data;
    hr.body.len = resp->body.len;

    (void) zae_ddb_decode_error(&op->mem, &hr, &e);

    code = ngx_http_zae_limit_ngx_str(&e.code);

    call->error_type = code;

    if (code.len == 0) {
        ngx_str_set(&code, "HTTP");
    }

    ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_OK, resp->status,
                                &call->error_type, "%V %ui: %*s", &code,
                                resp->status,
                                (size_t) ngx_min(e.message.len, 200),
                                e.message.data ? e.message.data
                                               : (u_char *) "");
}


static void
ngx_http_zae_limit_ddb_timeout(ngx_event_t *ev)
{
    ngx_http_zae_limit_ddb_op_t  *op;

    op = ev->data;

    if (op->peer.connection) {
        op->peer.connection->timedout = 1;
    }

    ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_TIMEOUT, 0, NULL,
                                op->queued ? "timed out waiting for one of "
                                             "max_connections"
                                           : "timed out");
}


/*
 * An attempt failed.  status != 0 with transport ZAE_TRANSPORT_OK: a
 * complete error answer (the connection is already released).
 */

void
ngx_http_zae_limit_ddb_fail(ngx_http_zae_limit_ddb_op_t *op,
    zae_transport_e transport, ngx_uint_t status, ngx_str_t *code,
    const char *fmt, ...)
{
    u_char                         *p;
    va_list                         args;
    int64_t                         delay;
    ngx_int_t                       rc;
    ngx_uint_t                      level;
    zae_retry_class_e               cls;
    ngx_http_zae_limit_ddb_t       *ddb;
    ngx_http_zae_limit_ddb_call_t  *call;
    u_char                          msg[NGX_MAX_ERROR_STR];

    ddb = op->ddb;
    call = op->call;

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    /* a cached connection closed before answering: reconnect at once */

    if (op->reused && op->received == 0
        && transport == ZAE_TRANSPORT_RESET && !op->cancelled)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, call->log, 0,
                       "zae_limit: ddb cached connection failed: %*s",
                       p - msg, msg);

        ngx_http_zae_limit_ddb_release(op, 0);

        op->fresh = 1;
        op->reused = 0;

        if (!op->timer.timer_set) {
            /* cannot happen: the attempt timer runs while connected */
            ngx_add_timer(&op->timer, ddb->conf->timeout);
        }

        ngx_http_zae_limit_ddb_connect_start(op);
        return;
    }

    ngx_http_zae_limit_ddb_release(op, 0);

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    call->status = status;
    delay = 0;

    cls = zae_retry_classify(code ? code->data : NULL, code ? code->len : 0,
                             (int) status, transport);

    if (status && transport == ZAE_TRANSPORT_OK
        && cls == ZAE_RETRY_NOT_RETRYABLE)
    {
        /* a final DynamoDB answer such as ConditionalCheckFailed */
        ngx_http_zae_limit_ddb_finish(op, NGX_OK);
        return;
    }

    if (op->raw) {
        /* credential requests: the refresh timer retries */
        rc = ZAE_DECLINED;

    } else {
        rc = zae_retry_next_delay(&ddb->retry, &op->retry, cls,
                                  (int64_t) ngx_current_msec,
                                  (int64_t) op->deadline, &delay);
    }

    if (rc == ZAE_OK) {
        ngx_log_error(NGX_LOG_WARN, call->log, 0,
                      "zae_limit: DynamoDB \"%V\" attempt %ui failed: %*s, "
                      "retrying in %L ms", &op->target, call->attempts,
                      p - msg, msg, delay);

        op->state = NGX_HTTP_ZAE_LIMIT_DDB_BACKOFF;
        op->event.handler = ngx_http_zae_limit_ddb_attempt_handler;

        ngx_add_timer(&op->event, (ngx_msec_t) delay);
        return;
    }

    call->error.data = ngx_pnalloc(call->pool, p - msg);
    if (call->error.data != NULL) {
        call->error.len = p - msg;
        ngx_memcpy(call->error.data, msg, p - msg);
    }

    if (status && transport == ZAE_TRANSPORT_OK) {
        /* the last answer stays available to the caller */

    } else {
        ngx_str_null(&call->response);
    }

    level = call->log_level ? call->log_level : NGX_LOG_ERR;

    ngx_log_error(level, call->log, 0,
                  "zae_limit: DynamoDB \"%V\" failed after %ui attempt%s: "
                  "%*s", &op->target, call->attempts,
                  call->attempts == 1 ? "" : "s", p - msg, msg);

    ngx_http_zae_limit_ddb_finish(op, NGX_ERROR);
}


static void
ngx_http_zae_limit_ddb_finish(ngx_http_zae_limit_ddb_op_t *op, ngx_int_t rc)
{
    ngx_http_zae_limit_ddb_call_t  *call;

    call = op->call;

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    if (op->event.timer_set) {
        ngx_del_timer(&op->event);
    }

    call->rc = rc;
    call->latency = ngx_current_msec - op->start;

    op->state = NGX_HTTP_ZAE_LIMIT_DDB_FINISHED;

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, call->log, 0,
                   "zae_limit: ddb \"%V\" rc:%i status:%ui attempts:%ui "
                   "latency:%M", &op->target, rc, call->status,
                   call->attempts, call->latency);

    /* the handler never runs from inside ngx_http_zae_limit_ddb_start() */

    op->event.handler = ngx_http_zae_limit_ddb_done_handler;

    ngx_post_event(&op->event, &ngx_posted_events);
}


static void
ngx_http_zae_limit_ddb_done_handler(ngx_event_t *ev)
{
    ngx_http_zae_limit_ddb_op_t    *op;
    ngx_http_zae_limit_ddb_call_t  *call;

    op = ev->data;
    call = op->call;

    if (op->cancelled) {
        return;
    }

    op->cancelled = 1;

    call->handler(call);
}
