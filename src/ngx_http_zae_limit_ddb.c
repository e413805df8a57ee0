
/*
 * Copyright (C) zae-limit authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_ddb.h"

#include "zae_core.h"
#include "zae_creds.h"
#include "zae_ddb.h"
#include "zae_http.h"
#include "zae_retry.h"
#include "zae_sigv4.h"


#define NGX_HTTP_ZAE_LIMIT_DDB_TARGET      "DynamoDB_20120810."
#define NGX_HTTP_ZAE_LIMIT_DDB_IDLE        30000
#define NGX_HTTP_ZAE_LIMIT_DDB_READ_BUF    16384


/* op states */
#define NGX_HTTP_ZAE_LIMIT_DDB_IDLE_STATE  0
#define NGX_HTTP_ZAE_LIMIT_DDB_RESOLVING   1
#define NGX_HTTP_ZAE_LIMIT_DDB_CONNECTING  2
#define NGX_HTTP_ZAE_LIMIT_DDB_HANDSHAKE   3
#define NGX_HTTP_ZAE_LIMIT_DDB_SENDING     4
#define NGX_HTTP_ZAE_LIMIT_DDB_READING     5
#define NGX_HTTP_ZAE_LIMIT_DDB_BACKOFF     6
#define NGX_HTTP_ZAE_LIMIT_DDB_FINISHED    7


typedef struct {
    /* must be first: see ngx_http_zae_limit_ddb_save_session() */
    ngx_http_zae_limit_ddb_t           *ddb;

    ngx_queue_t                         queue;
    ngx_connection_t                   *connection;
} ngx_http_zae_limit_ddb_cached_t;


/* where a call goes: DynamoDB, or a credentials endpoint */

typedef struct {
    ngx_str_t                           host;        /* no brackets, NUL */
    ngx_str_t                           host_header; /* host[:port] */
    in_port_t                           port;
    ngx_addr_t                         *addrs;       /* unless resolve */
    ngx_uint_t                          naddrs;

    unsigned                            https:1;
    unsigned                            literal:1;
    unsigned                            resolve:1;   /* at run time */
} ngx_http_zae_limit_ddb_dest_t;


struct ngx_http_zae_limit_ddb_s {
    ngx_http_zae_limit_ddb_conf_t      *conf;

    ngx_http_zae_limit_ddb_dest_t       dest;
    ngx_str_t                           endpoint;

    unsigned                            ready:1;
    unsigned                            warned:1;

#if (NGX_SSL)
    ngx_ssl_t                          *ssl;
    ngx_ssl_session_t                  *session;
#endif

    /* per worker */
    ngx_log_t                          *log;
    ngx_queue_t                         cache;
    ngx_queue_t                         free;
    ngx_http_zae_limit_ddb_cached_t    *cached;
    zae_retry_policy_t                  retry;
    uint64_t                            random_state;
    zae_creds_provider_t               *creds;
    zae_sigv4_cache_t                   sigv4;

    /* fetching credentials from ECS or EC2 metadata */
    ngx_event_t                         creds_event;
    ngx_pool_t                         *creds_pool;
    ngx_http_zae_limit_ddb_call_t      *creds_call;
    ngx_http_zae_limit_ddb_dest_t       creds_dest;
};


struct ngx_http_zae_limit_ddb_op_s {
    /* must be first: see ngx_http_zae_limit_ddb_save_session() */
    ngx_http_zae_limit_ddb_t           *ddb;

    ngx_http_zae_limit_ddb_call_t      *call;
    ngx_http_zae_limit_ddb_dest_t      *dest;
    ngx_uint_t                          state;

    ngx_peer_connection_t               peer;
    ngx_resolver_ctx_t                 *resolve;
    ngx_addr_t                         *addrs;
    ngx_uint_t                          naddrs;
    ngx_uint_t                          naddr;
    ngx_uint_t                          tried;

    ngx_event_t                         timer;       /* the attempt */
    ngx_event_t                         event;       /* backoff, finish */

    ngx_str_t                           target;
    ngx_str_t                           header;      /* request head */
    size_t                              sent;
    size_t                              received;

    zae_mem_t                           mem;
    zae_http_resp_t                    *resp;
    zae_retry_op_t                      retry;

    ngx_msec_t                          start;
    ngx_msec_t                          deadline;

    unsigned                            raw:1;       /* not DynamoDB */
    unsigned                            reused:1;
    unsigned                            fresh:1;     /* no cached conn */
    unsigned                            extra:1;     /* bytes after resp */
    unsigned                            cancelled:1;
};


static void *ngx_http_zae_limit_ddb_palloc(void *ctx, size_t size);
static const char *ngx_http_zae_limit_ddb_getenv(void *ctx,
    const char *name);
static ngx_int_t ngx_http_zae_limit_ddb_parse_endpoint(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_t *ddb);
#if (NGX_SSL)
static ngx_int_t ngx_http_zae_limit_ddb_set_ssl(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_t *ddb);
static void ngx_http_zae_limit_ddb_ssl_init(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_ssl_handshake(ngx_connection_t *c);
static ngx_int_t ngx_http_zae_limit_ddb_ssl_verify(
    ngx_http_zae_limit_ddb_op_t *op, ngx_connection_t *c);
static void ngx_http_zae_limit_ddb_save_session(ngx_connection_t *c);
#endif

static ngx_http_zae_limit_ddb_op_t *ngx_http_zae_limit_ddb_op(
    ngx_http_zae_limit_ddb_t *ddb, ngx_http_zae_limit_ddb_call_t *call);
static void ngx_http_zae_limit_ddb_creds_start(ngx_http_zae_limit_ddb_t *ddb,
    ngx_msec_t delay);
static void ngx_http_zae_limit_ddb_creds_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_zae_limit_ddb_creds_fetch(
    ngx_http_zae_limit_ddb_t *ddb, zae_creds_http_t *req);
static void ngx_http_zae_limit_ddb_creds_done(
    ngx_http_zae_limit_ddb_call_t *call);
static void ngx_http_zae_limit_ddb_creds_free(ngx_http_zae_limit_ddb_t *ddb);
static void ngx_http_zae_limit_ddb_attempt(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_attempt_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_zae_limit_ddb_build(
    ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_connect_start(
    ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_resolve_handler(ngx_resolver_ctx_t *ctx);
static void ngx_http_zae_limit_ddb_connect(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_connected(ngx_http_zae_limit_ddb_op_t *op);
static ngx_int_t ngx_http_zae_limit_ddb_test_connect(
    ngx_http_zae_limit_ddb_op_t *op, ngx_connection_t *c);
static void ngx_http_zae_limit_ddb_write_handler(ngx_event_t *wev);
static void ngx_http_zae_limit_ddb_read_handler(ngx_event_t *rev);
static void ngx_http_zae_limit_ddb_send(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_recv(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_response(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_timeout(ngx_event_t *ev);
static void ngx_http_zae_limit_ddb_fail(ngx_http_zae_limit_ddb_op_t *op,
    zae_transport_e transport, ngx_uint_t status, ngx_str_t *code,
    const char *fmt, ...);
static void ngx_http_zae_limit_ddb_finish(ngx_http_zae_limit_ddb_op_t *op,
    ngx_int_t rc);
static void ngx_http_zae_limit_ddb_done_handler(ngx_event_t *ev);
static void ngx_http_zae_limit_ddb_release(ngx_http_zae_limit_ddb_op_t *op,
    ngx_uint_t keep);
static void ngx_http_zae_limit_ddb_close(ngx_connection_t *c);
static ngx_connection_t *ngx_http_zae_limit_ddb_cache_get(
    ngx_http_zae_limit_ddb_t *ddb);
static void ngx_http_zae_limit_ddb_cache_put(ngx_http_zae_limit_ddb_t *ddb,
    ngx_connection_t *c);
static void ngx_http_zae_limit_ddb_idle_handler(ngx_event_t *ev);
static void ngx_http_zae_limit_ddb_dummy_handler(ngx_event_t *ev);


static void *
ngx_http_zae_limit_ddb_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


static const char *
ngx_http_zae_limit_ddb_getenv(void *ctx, const char *name)
{
    return getenv(name);
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

    if (conf->timeout == 0 || conf->timeout == NGX_CONF_UNSET_MSEC) {
        conf->timeout = NGX_HTTP_ZAE_LIMIT_DDB_TIMEOUT;
    }

    if (conf->max_attempts == 0 || conf->max_attempts == NGX_CONF_UNSET_UINT)
    {
        conf->max_attempts = NGX_HTTP_ZAE_LIMIT_DDB_MAX_ATTEMPTS;
    }

    if (conf->keepalive == NGX_CONF_UNSET_UINT) {
        conf->keepalive = NGX_HTTP_ZAE_LIMIT_DDB_KEEPALIVE;
    }

    if (conf->ssl_verify == NGX_CONF_UNSET) {
        conf->ssl_verify = 1;
    }

    if (conf->resolver_timeout == 0
        || conf->resolver_timeout == NGX_CONF_UNSET_MSEC)
    {
        conf->resolver_timeout = NGX_HTTP_ZAE_LIMIT_DDB_RESOLVER_TIMEOUT;
    }

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


static ngx_int_t
ngx_http_zae_limit_ddb_parse_endpoint(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_t *ddb)
{
    u_char                         *p, *last;
    size_t                          n;
    ngx_url_t                       u;
    ngx_str_t                      *ep, rest;
    ngx_http_zae_limit_ddb_conf_t  *conf;

    conf = ddb->conf;
    ep = &ddb->endpoint;

    if (conf->endpoint.len == 0) {

        if (conf->region.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "zae_limit: no DynamoDB endpoint and no "
                               "region");
            return NGX_ERROR;
        }

        n = sizeof("https://dynamodb..amazonaws.com") - 1 + conf->region.len;

        ep->data = ngx_pnalloc(cf->pool, n);
        if (ep->data == NULL) {
            return NGX_ERROR;
        }

        ep->len = ngx_sprintf(ep->data, "https://dynamodb.%V.amazonaws.com",
                              &conf->region)
                  - ep->data;

    } else {
        *ep = conf->endpoint;
    }

    if (ep->len > 7 && ngx_strncasecmp(ep->data, (u_char *) "http://", 7)
                       == 0)
    {
        rest.data = ep->data + 7;
        rest.len = ep->len - 7;
        ddb->dest.https = 0;

    } else if (ep->len > 8
               && ngx_strncasecmp(ep->data, (u_char *) "https://", 8) == 0)
    {
        rest.data = ep->data + 8;
        rest.len = ep->len - 8;
        ddb->dest.https = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zae_limit: invalid endpoint \"%V\": it must "
                           "start with \"http://\" or \"https://\"", ep);
        return NGX_ERROR;
    }

    /* the path is ignored: requests always go to "/" */

    last = ngx_strlchr(rest.data, rest.data + rest.len, '/');
    if (last != NULL) {
        rest.len = last - rest.data;
    }

    if (rest.len == 0
        || ngx_strlchr(rest.data, rest.data + rest.len, '?') != NULL
        || ngx_strlchr(rest.data, rest.data + rest.len, '@') != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zae_limit: invalid endpoint \"%V\"", ep);
        return NGX_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = rest;
    u.default_port = ddb->dest.https ? 443 : 80;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zae_limit: invalid endpoint \"%V\": %s", ep,
                           u.err ? u.err : "bad url");
        return NGX_ERROR;
    }

    if (u.host.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zae_limit: invalid endpoint \"%V\": no host", ep);
        return NGX_ERROR;
    }

    ddb->dest.port = u.port;

    /* Host header: the host as written, with a non-default port */

    n = u.host.len + (u.no_port || u.port == u.default_port
                      ? 0 : sizeof(":65535") - 1);

    ddb->dest.host_header.data = ngx_pnalloc(cf->pool, n);
    if (ddb->dest.host_header.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ddb->dest.host_header.data, u.host.data, u.host.len);

    if (!u.no_port && u.port != u.default_port) {
        p = ngx_sprintf(p, ":%d", (int) u.port);
    }

    ddb->dest.host_header.len = p - ddb->dest.host_header.data;

    /* the host for SNI, certificate checks and the resolver */

    p = u.host.data;
    n = u.host.len;

    if (n > 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
        ddb->dest.literal = 1;

    } else if (ngx_inet_addr(p, n) != INADDR_NONE) {
        ddb->dest.literal = 1;
    }

    ddb->dest.host.data = ngx_pnalloc(cf->pool, n + 1);
    if (ddb->dest.host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ddb->dest.host.data, p, n);
    ddb->dest.host.data[n] = '\0';
    ddb->dest.host.len = n;

    if (!ddb->dest.literal && conf->resolver != NULL) {
        ddb->dest.resolve = 1;
        return NGX_OK;
    }

    /* IP literals, and names resolved once now like proxy_pass does */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = rest;
    u.default_port = ddb->dest.https ? 443 : 80;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zae_limit: %s in endpoint \"%V\"",
                           u.err ? u.err : "host not found", ep);
        return NGX_ERROR;
    }

    ddb->dest.addrs = u.addrs;
    ddb->dest.naddrs = u.naddrs;

    return NGX_OK;
}


#if (NGX_SSL)

static ngx_int_t
ngx_http_zae_limit_ddb_set_ssl(ngx_conf_t *cf, ngx_http_zae_limit_ddb_t *ddb)
{
    ngx_str_t                       file;
    ngx_pool_cleanup_t             *cln;
    ngx_http_zae_limit_ddb_conf_t  *conf;

    static ngx_str_t  ciphers = ngx_string("DEFAULT");

    conf = ddb->conf;

    ddb->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ddb->ssl == NULL) {
        return NGX_ERROR;
    }

    ddb->ssl->log = cf->log;

    if (ngx_ssl_create(ddb->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ddb->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ddb->ssl;

    if (ngx_ssl_ciphers(cf, ddb->ssl, &ciphers, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_ssl_client_session_cache(cf, ddb->ssl, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!conf->ssl_verify) {
        return NGX_OK;
    }

    if (conf->ssl_trusted_certificate.len) {
        file = conf->ssl_trusted_certificate;

    } else {
        ngx_str_set(&file, NGX_HTTP_ZAE_LIMIT_DDB_CA_FILE);
    }

    if (ngx_ssl_trusted_certificate(cf, ddb->ssl, &file, 10) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}

#endif


ngx_int_t
ngx_http_zae_limit_ddb_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb)
{
    int         rc;
    ngx_uint_t  i;
    zae_err_t   err;

    ddb->log = cycle->log;

    ngx_queue_init(&ddb->cache);
    ngx_queue_init(&ddb->free);

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

    ddb->creds = ngx_pcalloc(cycle->pool, sizeof(zae_creds_provider_t));
    if (ddb->creds == NULL) {
        return NGX_ERROR;
    }

    err.msg[0] = '\0';

    rc = zae_creds_provider_init(ddb->creds, ngx_http_zae_limit_ddb_getenv,
                                 NULL, NULL, &err);

    ddb->creds_event.handler = ngx_http_zae_limit_ddb_creds_handler;
    ddb->creds_event.data = ddb;
    ddb->creds_event.log = cycle->log;
    ddb->creds_event.cancelable = 1;

    if (rc == ZAE_OK) {
        ddb->ready = 1;
        return NGX_OK;
    }

    if (rc == ZAE_AGAIN) {

        if (ddb->creds->source == ZAE_CREDS_SRC_IMDS && !ddb->conf->imds) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "zae_limit: no AWS credentials in the environment "
                          "or the shared files, and EC2 instance metadata "
                          "is off; DynamoDB calls are disabled");
            return NGX_OK;
        }

        /* ECS or EC2 metadata: fetched through this client */

        ngx_http_zae_limit_ddb_creds_start(ddb, 0);

        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "zae_limit: no AWS credentials (%s); DynamoDB calls are "
                  "disabled, declare AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY with the \"env\" directive",
                  err.msg);

    return NGX_OK;
}


void
ngx_http_zae_limit_ddb_exit_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb)
{
    ngx_queue_t                      *q;
    ngx_connection_t                 *c;
    ngx_http_zae_limit_ddb_cached_t  *item;

    if (ddb->cached) {
        while (!ngx_queue_empty(&ddb->cache)) {
            q = ngx_queue_head(&ddb->cache);
            ngx_queue_remove(q);
            ngx_queue_insert_head(&ddb->free, q);

            item = ngx_queue_data(q, ngx_http_zae_limit_ddb_cached_t, queue);
            c = item->connection;
            item->connection = NULL;

            ngx_http_zae_limit_ddb_close(c);
        }
    }

#if (NGX_SSL)
    if (ddb->session) {
        ngx_ssl_free_session(ddb->session);
        ddb->session = NULL;
    }
#endif

    if (ddb->creds_event.timer_set) {
        ngx_del_timer(&ddb->creds_event);
    }

    if (ddb->creds_event.posted) {
        ngx_delete_posted_event(&ddb->creds_event);
    }

    ngx_http_zae_limit_ddb_creds_free(ddb);

    if (ddb->creds) {
        zae_creds_provider_wipe(ddb->creds);
    }

    zae_sigv4_cache_wipe(&ddb->sigv4);

    ddb->ready = 0;
}


/*
 * Credentials from ECS or EC2 metadata: the provider says which request
 * is next, the client sends it with a pool of its own, the answer goes
 * back to the provider; the event re-runs this before they expire.
 */

static void
ngx_http_zae_limit_ddb_creds_start(ngx_http_zae_limit_ddb_t *ddb,
    ngx_msec_t delay)
{
    if (ddb->creds_event.timer_set) {
        ngx_del_timer(&ddb->creds_event);
    }

    if (delay == 0) {
        if (!ddb->creds_event.posted) {
            ngx_post_event(&ddb->creds_event, &ngx_posted_events);
        }

        return;
    }

    ngx_add_timer(&ddb->creds_event, delay);
}


static void
ngx_http_zae_limit_ddb_creds_handler(ngx_event_t *ev)
{
    int                        rc;
    time_t                     now;
    zae_err_t                  err;
    ngx_msec_t                 delay;
    zae_creds_http_t           req;
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = ev->data;

    if (ngx_exiting || ngx_terminate || ddb->creds_call != NULL) {
        return;
    }

    now = ngx_time();
    err.msg[0] = '\0';

    rc = zae_creds_next_request(ddb->creds, (int64_t) now, &req, &err);

    if (rc == ZAE_AGAIN) {
        if (ngx_http_zae_limit_ddb_creds_fetch(ddb, &req) == NGX_OK) {
            return;
        }

        ngx_http_zae_limit_ddb_creds_free(ddb);
        ngx_http_zae_limit_ddb_creds_start(ddb, 30000);
        return;
    }

    if (rc == ZAE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "zae_limit: AWS credentials: %s", err.msg);
        ngx_http_zae_limit_ddb_creds_start(ddb, 30000);
        return;
    }

    /* fresh: come back when they need a refresh */

    ddb->ready = (zae_creds_get(ddb->creds) != NULL);

    delay = 3600000;

    if (ddb->creds->refresh_at > (int64_t) now
        && ddb->creds->refresh_at - (int64_t) now < 3600)
    {
        delay = (ngx_msec_t) (ddb->creds->refresh_at - (int64_t) now) * 1000;
    }

    ngx_http_zae_limit_ddb_creds_start(ddb, ngx_max(delay, 1000));
}


static ngx_int_t
ngx_http_zae_limit_ddb_creds_fetch(ngx_http_zae_limit_ddb_t *ddb,
    zae_creds_http_t *req)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_addr_t                     *addr;
    ngx_pool_t                     *pool;
    ngx_http_zae_limit_ddb_op_t    *op;
    ngx_http_zae_limit_ddb_call_t  *call;
    ngx_http_zae_limit_ddb_dest_t  *dest;

    if (req->https) {
        ngx_log_error(NGX_LOG_ERR, ddb->log, 0,
                      "zae_limit: https credentials endpoints are not "
                      "supported");
        return NGX_ERROR;
    }

    pool = ngx_create_pool(4096, ddb->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ddb->creds_pool = pool;

    call = ngx_pcalloc(pool, sizeof(ngx_http_zae_limit_ddb_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->pool = pool;
    call->log = ddb->log;
    ngx_str_set(&call->op, "credentials");
    call->deadline = ngx_min(ddb->conf->timeout * 4, 5000);
    call->handler = ngx_http_zae_limit_ddb_creds_done;
    call->data = ddb;

    /* where: an address, "localhost", or a name for the resolver */

    dest = &ddb->creds_dest;
    ngx_memzero(dest, sizeof(ngx_http_zae_limit_ddb_dest_t));

    dest->port = req->port;

    dest->host.data = ngx_pnalloc(pool, req->host.len + 1);
    if (dest->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dest->host.data, req->host.data, req->host.len);
    dest->host.data[req->host.len] = '\0';
    dest->host.len = req->host.len;

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
        ngx_log_error(NGX_LOG_ERR, ddb->log, 0,
                      "zae_limit: credentials host \"%V\" needs a resolver",
                      &dest->host);
        return NGX_ERROR;
    }

    /* the request */

    len = req->method.len + 1 + req->path.len
          + sizeof(" HTTP/1.1" CRLF "Host: " CRLF) - 1 + req->host.len
          + sizeof(":65535") - 1
          + sizeof("Content-Length: 0" CRLF "Connection: close" CRLF CRLF)
          - 1;

    for (i = 0; i < req->nheaders; i++) {
        len += req->headers[i].name.len + 2 + req->headers[i].value.len + 2;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    op = ngx_http_zae_limit_ddb_op(ddb, call);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->raw = 1;
    op->dest = dest;
    op->target = call->op;
    op->header.data = p;

    p = ngx_sprintf(p, "%*s %*s HTTP/1.1" CRLF "Host: %*s",
                    req->method.len, req->method.data,
                    req->path.len, req->path.data,
                    req->host.len, req->host.data);

    if (req->port != 80) {
        p = ngx_sprintf(p, ":%d", (int) req->port);
    }

    *p++ = CR; *p++ = LF;

    for (i = 0; i < req->nheaders; i++) {
        p = ngx_sprintf(p, "%*s: %*s" CRLF,
                        req->headers[i].name.len, req->headers[i].name.data,
                        req->headers[i].value.len,
                        req->headers[i].value.data);
    }

    p = ngx_cpymem(p, "Content-Length: 0" CRLF "Connection: close" CRLF CRLF,
                   sizeof("Content-Length: 0" CRLF "Connection: close"
                          CRLF CRLF) - 1);

    op->header.len = p - op->header.data;

    op->deadline = op->start + call->deadline;

    call->state = op;
    ddb->creds_call = call;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ddb->log, 0,
                   "zae_limit: credentials request %V %V",
                   (ngx_str_t *) &req->method, (ngx_str_t *) &req->url);

    ngx_http_zae_limit_ddb_attempt(op);

    return NGX_OK;
}


static void
ngx_http_zae_limit_ddb_creds_done(ngx_http_zae_limit_ddb_call_t *call)
{
    int                        rc;
    zae_err_t                  err;
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = call->data;
    err.msg[0] = '\0';

    if (call->rc == NGX_OK) {
        rc = zae_creds_response(ddb->creds, (int) call->status,
                                call->response.data, call->response.len,
                                (int64_t) ngx_time(), &err);

    } else {
        rc = zae_creds_response(ddb->creds, 0, NULL, 0, (int64_t) ngx_time(),
                                &err);
        ngx_log_error(NGX_LOG_ERR, ddb->log, 0,
                      "zae_limit: AWS credentials request failed: %V",
                      &call->error);
    }

    ngx_http_zae_limit_ddb_creds_free(ddb);

    if (rc == ZAE_AGAIN) {
        ngx_http_zae_limit_ddb_creds_start(ddb, 0);
        return;
    }

    if (rc == ZAE_ERROR) {
        if (err.msg[0]) {
            ngx_log_error(NGX_LOG_ERR, ddb->log, 0,
                          "zae_limit: AWS credentials: %s", err.msg);
        }

        ngx_http_zae_limit_ddb_creds_start(ddb, 30000);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ddb->log, 0,
                  "zae_limit: AWS credentials received");

    ddb->ready = 1;

    /* schedules the refresh */

    ngx_http_zae_limit_ddb_creds_start(ddb, 0);
}


static void
ngx_http_zae_limit_ddb_creds_free(ngx_http_zae_limit_ddb_t *ddb)
{
    if (ddb->creds_call) {
        ngx_http_zae_limit_ddb_cancel(ddb->creds_call);
        ddb->creds_call = NULL;
    }

    if (ddb->creds_pool) {
        ngx_destroy_pool(ddb->creds_pool);
        ddb->creds_pool = NULL;
    }
}


ngx_int_t
ngx_http_zae_limit_ddb_ready(ngx_http_zae_limit_ddb_t *ddb)
{
    const zae_aws_creds_t  *creds;

    if (ddb == NULL || !ddb->ready || ddb->creds == NULL) {
        return NGX_DECLINED;
    }

    creds = zae_creds_get(ddb->creds);

    if (creds == NULL
        || (creds->expiration && creds->expiration <= (int64_t) ngx_time()))
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_zae_limit_ddb_start(ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_call_t *call)
{
    u_char                       *p;
    ngx_msec_t                    budget;
    ngx_uint_t                    shift;
    ngx_http_zae_limit_ddb_op_t  *op;

    if (call->pool == NULL || call->log == NULL || call->handler == NULL
        || call->op.len == 0)
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
        return NGX_ERROR;
    }

    op = ngx_http_zae_limit_ddb_op(ddb, call);
    if (op == NULL) {
        return NGX_ERROR;
    }

    /* X-Amz-Target */

    if (ngx_strlchr(call->op.data, call->op.data + call->op.len, '.')) {
        op->target = call->op;

    } else {
        op->target.len = sizeof(NGX_HTTP_ZAE_LIMIT_DDB_TARGET) - 1
                         + call->op.len;
        op->target.data = ngx_pnalloc(call->pool, op->target.len);
        if (op->target.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(op->target.data, NGX_HTTP_ZAE_LIMIT_DDB_TARGET,
                       sizeof(NGX_HTTP_ZAE_LIMIT_DDB_TARGET) - 1);
        ngx_memcpy(p, call->op.data, call->op.len);
    }

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


/* the request head, signed now: retries are signed again */

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

    creds = zae_creds_get(ddb->creds);
    if (creds == NULL) {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "zae_limit: no AWS credentials");
        return NGX_ERROR;
    }

    zregion.data = ddb->conf->region.data;
    zregion.len = ddb->conf->region.len;
    zhost.data = ddb->dest.host_header.data;
    zhost.len = ddb->dest.host_header.len;
    ztarget.data = op->target.data;
    ztarget.len = op->target.len;
    zbody.data = call->body.data;
    zbody.len = call->body.len;

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

    date.data = zdate.data;
    date.len = zdate.len;
    auth.data = zauth.data;
    auth.len = zauth.len;

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

    p = ngx_pnalloc(call->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    op->header.data = p;

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

    op->header.len = p - op->header.data;

    return NGX_OK;
}


static void
ngx_http_zae_limit_ddb_connect_start(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_str_t                  name;
    ngx_connection_t          *c;
    ngx_resolver_ctx_t        *ctx, temp;
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = op->ddb;

    op->sent = 0;
    op->received = 0;
    zae_http_resp_init(op->resp, &op->mem, 0, NGX_HTTP_ZAE_LIMIT_DDB_MAX_BODY);

    if (!op->fresh && !op->raw) {
        c = ngx_http_zae_limit_ddb_cache_get(ddb);

        if (c != NULL) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, op->call->log, 0,
                           "zae_limit: ddb reuses connection *%uA",
                           c->number);

            op->reused = 1;
            op->peer.connection = c;

            c->data = op;
            c->log = op->call->log;
            c->pool->log = op->call->log;
            c->read->log = op->call->log;
            c->write->log = op->call->log;
            c->read->handler = ngx_http_zae_limit_ddb_read_handler;
            c->write->handler = ngx_http_zae_limit_ddb_write_handler;

            op->state = NGX_HTTP_ZAE_LIMIT_DDB_SENDING;
            ngx_http_zae_limit_ddb_send(op);
            return;
        }
    }

    op->reused = 0;

    if (!op->dest->resolve) {
        op->addrs = op->dest->addrs;
        op->naddrs = op->dest->naddrs;
        op->naddr = ngx_random() % op->naddrs;
        ngx_http_zae_limit_ddb_connect(op);
        return;
    }

    name = op->dest->host;

    temp.name = name;

    ctx = ngx_resolve_start(ddb->conf->resolver, &temp);
    if (ctx == NULL) {
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "could not start resolving \"%V\"",
                                    &name);
        return;
    }

    if (ctx == NGX_NO_RESOLVER) {
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "no resolver for \"%V\"", &name);
        return;
    }

    ctx->name = name;
    ctx->handler = ngx_http_zae_limit_ddb_resolve_handler;
    ctx->data = op;
    ctx->timeout = ddb->conf->resolver_timeout;

    op->resolve = ctx;
    op->state = NGX_HTTP_ZAE_LIMIT_DDB_RESOLVING;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        op->resolve = NULL;
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "could not resolve \"%V\"", &name);
        return;
    }

    /* the handler may have run already */
}


static void
ngx_http_zae_limit_ddb_resolve_handler(ngx_resolver_ctx_t *ctx)
{
    u_char                       *p;
    ngx_uint_t                    i;
    ngx_addr_t                   *addrs;
    ngx_http_zae_limit_ddb_op_t  *op;

    op = ctx->data;
    op->resolve = NULL;

    if (ctx->state) {
        ngx_http_zae_limit_ddb_fail(op,
                                    ctx->state == NGX_RESOLVE_TIMEDOUT
                                    ? ZAE_TRANSPORT_TIMEOUT
                                    : ZAE_TRANSPORT_REFUSED,
                                    0, NULL,
                                    "\"%V\" could not be resolved (%i: %s)",
                                    &ctx->name, ctx->state,
                                    ngx_resolver_strerror(ctx->state));
        ngx_resolve_name_done(ctx);
        return;
    }

    addrs = ngx_pcalloc(op->call->pool, ctx->naddrs * sizeof(ngx_addr_t));
    if (addrs == NULL) {
        goto failed;
    }

    for (i = 0; i < ctx->naddrs; i++) {
        p = ngx_pnalloc(op->call->pool, ctx->addrs[i].socklen);
        if (p == NULL) {
            goto failed;
        }

        ngx_memcpy(p, ctx->addrs[i].sockaddr, ctx->addrs[i].socklen);

        addrs[i].sockaddr = (struct sockaddr *) p;
        addrs[i].socklen = ctx->addrs[i].socklen;
        ngx_inet_set_port(addrs[i].sockaddr, op->dest->port);

        addrs[i].name.data = ngx_pnalloc(op->call->pool,
                                         NGX_SOCKADDR_STRLEN);
        if (addrs[i].name.data == NULL) {
            goto failed;
        }

        addrs[i].name.len = ngx_sock_ntop(addrs[i].sockaddr,
                                          addrs[i].socklen,
                                          addrs[i].name.data,
                                          NGX_SOCKADDR_STRLEN, 1);
    }

    op->addrs = addrs;
    op->naddrs = ctx->naddrs;
    op->naddr = ngx_random() % op->naddrs;

    ngx_resolve_name_done(ctx);

    ngx_http_zae_limit_ddb_connect(op);

    return;

failed:

    ngx_resolve_name_done(ctx);

    op->retry.attempts = op->ddb->conf->max_attempts;
    ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                "out of memory");
}


static void
ngx_http_zae_limit_ddb_connect(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_int_t          rc;
    ngx_addr_t        *addr;
    ngx_connection_t  *c;

    for ( ;; ) {
        addr = &op->addrs[op->naddr];
        op->naddr = (op->naddr + 1) % op->naddrs;
        op->tried++;

        ngx_memzero(&op->peer, sizeof(ngx_peer_connection_t));

        op->peer.sockaddr = addr->sockaddr;
        op->peer.socklen = addr->socklen;
        op->peer.name = &addr->name;
        op->peer.get = ngx_event_get_peer;
        op->peer.log = op->call->log;
        op->peer.log_error = NGX_ERROR_ERR;

        op->state = NGX_HTTP_ZAE_LIMIT_DDB_CONNECTING;

        rc = ngx_event_connect_peer(&op->peer);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, op->call->log, 0,
                       "zae_limit: ddb connect to %V: %i", &addr->name, rc);

        if (rc == NGX_ERROR) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "could not connect to %V",
                                        &addr->name);
            return;
        }

        if (rc == NGX_BUSY || rc == NGX_DECLINED) {

            if (op->peer.connection) {
                ngx_close_connection(op->peer.connection);
                op->peer.connection = NULL;
            }

            if (op->tried < op->naddrs) {
                continue;
            }

            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "could not connect to %V",
                                        &addr->name);
            return;
        }

        break;
    }

    c = op->peer.connection;

    c->pool = ngx_create_pool(128, op->ddb->log);
    if (c->pool == NULL) {
        ngx_close_connection(c);
        op->peer.connection = NULL;
        op->retry.attempts = op->ddb->conf->max_attempts;
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "out of memory");
        return;
    }

    c->data = op;
    c->read->handler = ngx_http_zae_limit_ddb_read_handler;
    c->write->handler = ngx_http_zae_limit_ddb_write_handler;

    if (rc == NGX_AGAIN) {
        /* the write event reports the end of connect() */
        return;
    }

    ngx_http_zae_limit_ddb_connected(op);
}


static ngx_int_t
ngx_http_zae_limit_ddb_test_connect(ngx_http_zae_limit_ddb_op_t *op,
    ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, c->log, err,
                      "zae_limit: connect() to %V failed", op->peer.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_zae_limit_ddb_connected(ngx_http_zae_limit_ddb_op_t *op)
{
    /* the head and the body go out in two writes: no Nagle delay */

    if (ngx_tcp_nodelay(op->peer.connection) != NGX_OK) {
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                    "setsockopt(TCP_NODELAY) failed");
        return;
    }

#if (NGX_SSL)
    if (op->dest->https) {
        ngx_http_zae_limit_ddb_ssl_init(op);
        return;
    }
#endif

    op->state = NGX_HTTP_ZAE_LIMIT_DDB_SENDING;

    ngx_http_zae_limit_ddb_send(op);
}


#if (NGX_SSL)

static void
ngx_http_zae_limit_ddb_ssl_init(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = op->ddb;
    c = op->peer.connection;

    if (ngx_ssl_create_connection(ddb->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "could not create an SSL connection");
        return;
    }

    if (!op->dest->literal) {
        if (SSL_set_tlsext_host_name(c->ssl->connection,
                                     (char *) op->dest->host.data)
            == 0)
        {
            ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                          "zae_limit: SSL_set_tlsext_host_name(\"%s\") "
                          "failed", op->dest->host.data);
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "could not set SNI");
            return;
        }
    }

    if (ddb->session) {
        if (ngx_ssl_set_session(c, ddb->session) != NGX_OK) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "could not set SSL session");
            return;
        }
    }

    c->ssl->save_session = ngx_http_zae_limit_ddb_save_session;

    op->state = NGX_HTTP_ZAE_LIMIT_DDB_HANDSHAKE;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_zae_limit_ddb_ssl_handshake;
        return;
    }

    ngx_http_zae_limit_ddb_ssl_handshake(c);
}


static void
ngx_http_zae_limit_ddb_ssl_handshake(ngx_connection_t *c)
{
    ngx_http_zae_limit_ddb_op_t  *op;

    op = c->data;

    c->read->handler = ngx_http_zae_limit_ddb_read_handler;
    c->write->handler = ngx_http_zae_limit_ddb_write_handler;

    if (!c->ssl->handshaked) {
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                    "SSL handshake failed");
        return;
    }

    if (op->ddb->conf->ssl_verify
        && ngx_http_zae_limit_ddb_ssl_verify(op, c) != NGX_OK)
    {
        /* a certificate problem does not go away by retrying */
        op->retry.attempts = op->ddb->conf->max_attempts;
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "SSL certificate verification failed");
        return;
    }

    op->state = NGX_HTTP_ZAE_LIMIT_DDB_SENDING;

    ngx_http_zae_limit_ddb_send(op);
}


static ngx_int_t
ngx_http_zae_limit_ddb_ssl_verify(ngx_http_zae_limit_ddb_op_t *op,
    ngx_connection_t *c)
{
    long   rc;
    X509  *cert;

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "zae_limit: DynamoDB SSL certificate verify error: "
                      "(%l:%s)", rc, X509_verify_cert_error_string(rc));
        return NGX_ERROR;
    }

    if (!op->dest->literal) {
        if (ngx_ssl_check_host(c, &op->dest->host) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "zae_limit: DynamoDB SSL certificate does not "
                          "match \"%V\"", &op->dest->host);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    cert = SSL_get1_peer_certificate(c->ssl->connection);
#else
    cert = SSL_get_peer_certificate(c->ssl->connection);
#endif

    if (cert == NULL) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "zae_limit: DynamoDB sent no SSL certificate");
        return NGX_ERROR;
    }

    rc = X509_check_ip_asc(cert, (char *) op->dest->host.data, 0);

    X509_free(cert);

    if (rc != 1) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "zae_limit: DynamoDB SSL certificate does not "
                      "match \"%V\"", &op->dest->host);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* c->data is an op or a cache slot: both start with the client pointer */

static void
ngx_http_zae_limit_ddb_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t          *session;
    ngx_http_zae_limit_ddb_t  **ddbp, *ddb;

    ddbp = c->data;
    ddb = *ddbp;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    if (ddb->session) {
        ngx_ssl_free_session(ddb->session);
    }

    ddb->session = session;
}

#endif


static void
ngx_http_zae_limit_ddb_write_handler(ngx_event_t *wev)
{
    ngx_connection_t             *c;
    ngx_http_zae_limit_ddb_op_t  *op;

    c = wev->data;
    op = c->data;

    if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_CONNECTING) {

        if (ngx_http_zae_limit_ddb_test_connect(op, c) != NGX_OK) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "connect() to %V failed",
                                        op->peer.name);
            return;
        }

        ngx_http_zae_limit_ddb_connected(op);
        return;
    }

    if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_SENDING) {
        ngx_http_zae_limit_ddb_send(op);
    }
}


static void
ngx_http_zae_limit_ddb_read_handler(ngx_event_t *rev)
{
    ngx_connection_t             *c;
    ngx_http_zae_limit_ddb_op_t  *op;

    c = rev->data;
    op = c->data;

    if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_CONNECTING) {

        if (ngx_http_zae_limit_ddb_test_connect(op, c) != NGX_OK) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "connect() to %V failed",
                                        op->peer.name);
        }

        /* else the write event follows */

        return;
    }

    if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_SENDING
        || op->state == NGX_HTTP_ZAE_LIMIT_DDB_READING)
    {
        /* an early answer or a close while sending is read as well */
        ngx_http_zae_limit_ddb_recv(op);
    }
}


static void
ngx_http_zae_limit_ddb_send(ngx_http_zae_limit_ddb_op_t *op)
{
    u_char                         *p;
    size_t                          total, len;
    ssize_t                         n;
    ngx_connection_t               *c;
    ngx_http_zae_limit_ddb_call_t  *call;

    c = op->peer.connection;
    call = op->call;

    total = op->header.len + call->body.len;

    while (op->sent < total) {

        if (op->sent < op->header.len) {
            p = op->header.data + op->sent;
            len = op->header.len - op->sent;

        } else {
            p = call->body.data + (op->sent - op->header.len);
            len = total - op->sent;
        }

        n = c->send(c, p, len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                            "send failed");
            }

            return;
        }

        if (n == NGX_ERROR || n <= 0) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                        "send failed");
            return;
        }

        op->sent += n;
    }

    op->state = NGX_HTTP_ZAE_LIMIT_DDB_READING;

    c->write->handler = ngx_http_zae_limit_ddb_dummy_handler;

    ngx_http_zae_limit_ddb_recv(op);
}


static void
ngx_http_zae_limit_ddb_recv(ngx_http_zae_limit_ddb_op_t *op)
{
    int                rc;
    size_t             used;
    ssize_t            n;
    zae_err_t          err;
    ngx_connection_t  *c;
    u_char             buf[NGX_HTTP_ZAE_LIMIT_DDB_READ_BUF];

    c = op->peer.connection;

    for ( ;; ) {

        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                            "recv failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                        "recv failed");
            return;
        }

        if (n == 0) {
            if (zae_http_resp_eof(op->resp, &err) != ZAE_OK) {
                ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_RESET, 0, NULL,
                                            "%s", err.msg);
                return;
            }

            ngx_http_zae_limit_ddb_response(op);
            return;
        }

        op->received += n;

        if (op->state != NGX_HTTP_ZAE_LIMIT_DDB_READING) {
            /* DynamoDB answered before the request was sent */
            op->extra = 1;
        }

        rc = zae_http_resp_parse(op->resp, buf, n, &used, &err);

        if (rc == ZAE_AGAIN) {
            continue;
        }

        if (rc == ZAE_ERROR) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_MALFORMED, 0, NULL,
                                        "invalid response: %s", err.msg);
            return;
        }

        if (used < (size_t) n) {
            op->extra = 1;
        }

        ngx_http_zae_limit_ddb_response(op);
        return;
    }
}


static void
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

    code.data = e.code.data;
    code.len = e.code.len;

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
                                "timed out");
}


/*
 * An attempt failed.  status != 0 with transport ZAE_TRANSPORT_OK: a
 * complete error answer (the connection is already released).
 */

static void
ngx_http_zae_limit_ddb_fail(ngx_http_zae_limit_ddb_op_t *op,
    zae_transport_e transport, ngx_uint_t status, ngx_str_t *code,
    const char *fmt, ...)
{
    u_char                         *p;
    va_list                         args;
    int64_t                         delay;
    ngx_int_t                       rc;
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

    ngx_log_error(NGX_LOG_ERR, call->log, 0,
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


/* detaches the op from its connection and resolver */

static void
ngx_http_zae_limit_ddb_release(ngx_http_zae_limit_ddb_op_t *op,
    ngx_uint_t keep)
{
    ngx_connection_t  *c;

    if (op->resolve) {
        ngx_resolve_name_done(op->resolve);
        op->resolve = NULL;
    }

    c = op->peer.connection;

    if (c == NULL) {
        return;
    }

    op->peer.connection = NULL;

    if (keep && op->ddb->cached && op->ddb->conf->keepalive
        && !ngx_exiting && !ngx_terminate
        && !c->read->error && !c->write->error
        && !c->read->eof && !c->timedout && !c->error && !c->close)
    {
        ngx_http_zae_limit_ddb_cache_put(op->ddb, c);
        return;
    }

    ngx_http_zae_limit_ddb_close(c);
}


static void
ngx_http_zae_limit_ddb_close(ngx_connection_t *c)
{
    ngx_pool_t  *pool;

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


static ngx_connection_t *
ngx_http_zae_limit_ddb_cache_get(ngx_http_zae_limit_ddb_t *ddb)
{
    u_char                            b;
    ssize_t                           n;
    ngx_err_t                         err;
    ngx_queue_t                      *q;
    ngx_connection_t                 *c;
    ngx_http_zae_limit_ddb_cached_t  *item;

    if (ddb->cached == NULL) {
        return NULL;
    }

    while (!ngx_queue_empty(&ddb->cache)) {

        q = ngx_queue_head(&ddb->cache);
        ngx_queue_remove(q);
        ngx_queue_insert_head(&ddb->free, q);

        item = ngx_queue_data(q, ngx_http_zae_limit_ddb_cached_t, queue);
        c = item->connection;
        item->connection = NULL;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        c->idle = 0;

        /* an idle connection has nothing to read: data or EOF ends it */

        n = recv(c->fd, (char *) &b, 1, MSG_PEEK);
        err = ngx_socket_errno;

        if (n == -1 && err == NGX_EAGAIN && !c->close) {
            c->read->timedout = 0;
            c->write->timedout = 0;
            return c;
        }

        ngx_http_zae_limit_ddb_close(c);
    }

    return NULL;
}


static void
ngx_http_zae_limit_ddb_cache_put(ngx_http_zae_limit_ddb_t *ddb,
    ngx_connection_t *c)
{
    ngx_queue_t                      *q;
    ngx_http_zae_limit_ddb_cached_t  *item;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (ngx_queue_empty(&ddb->free)) {
        /* evict the least recently used one */

        q = ngx_queue_last(&ddb->cache);
        ngx_queue_remove(q);

        item = ngx_queue_data(q, ngx_http_zae_limit_ddb_cached_t, queue);
        ngx_http_zae_limit_ddb_close(item->connection);
        item->connection = NULL;

    } else {
        q = ngx_queue_head(&ddb->free);
        ngx_queue_remove(q);

        item = ngx_queue_data(q, ngx_http_zae_limit_ddb_cached_t, queue);
    }

    ngx_queue_insert_head(&ddb->cache, q);

    item->connection = c;

    c->data = item;
    c->idle = 1;
    c->log = ddb->log;
    c->pool->log = ddb->log;
    c->read->log = ddb->log;
    c->write->log = ddb->log;
    c->read->handler = ngx_http_zae_limit_ddb_idle_handler;
    c->write->handler = ngx_http_zae_limit_ddb_dummy_handler;

    c->read->cancelable = 1;
    ngx_add_timer(c->read, NGX_HTTP_ZAE_LIMIT_DDB_IDLE);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ddb->log, 0,
                   "zae_limit: ddb keeps connection *%uA", c->number);

    if (c->read->ready) {
        ngx_http_zae_limit_ddb_idle_handler(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_queue_remove(q);
        ngx_queue_insert_head(&ddb->free, q);
        item->connection = NULL;
        ngx_http_zae_limit_ddb_close(c);
    }
}


static void
ngx_http_zae_limit_ddb_idle_handler(ngx_event_t *ev)
{
    u_char                            b;
    ssize_t                           n;
    ngx_err_t                         err;
    ngx_connection_t                 *c;
    ngx_http_zae_limit_ddb_cached_t  *item;

    c = ev->data;
    item = c->data;

    if (!ev->timedout && !c->close) {

        n = recv(c->fd, (char *) &b, 1, MSG_PEEK);
        err = ngx_socket_errno;

        if (n == -1 && err == NGX_EAGAIN) {
            ev->ready = 0;

            if (ngx_handle_read_event(c->read, 0) == NGX_OK) {
                return;
            }
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "zae_limit: ddb closes idle connection *%uA", c->number);

    ngx_queue_remove(&item->queue);
    ngx_queue_insert_head(&item->ddb->free, &item->queue);
    item->connection = NULL;

    ngx_http_zae_limit_ddb_close(c);
}


static void
ngx_http_zae_limit_ddb_dummy_handler(ngx_event_t *ev)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "zae_limit: ddb dummy handler");
}
