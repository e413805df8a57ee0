
/*
 * Copyright (C) zae-limit authors
 *
 * The DynamoDB client's transport: the endpoint parsed at config time,
 * the resolver, connect, TLS (SNI, verification, session reuse), the
 * request sent and the answer read, and the per-worker keepalive cache
 * of idle connections.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_ddb_conn.h"


#define NGX_HTTP_ZAE_LIMIT_DDB_IDLE        30000
#define NGX_HTTP_ZAE_LIMIT_DDB_READ_BUF    16384


#if (NGX_SSL)
static void ngx_http_zae_limit_ddb_ssl_init(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_ssl_handshake(ngx_connection_t *c);
static ngx_int_t ngx_http_zae_limit_ddb_ssl_verify(
    ngx_http_zae_limit_ddb_op_t *op, ngx_connection_t *c);
static void ngx_http_zae_limit_ddb_save_session(ngx_connection_t *c);
#endif

static void ngx_http_zae_limit_ddb_resolve_handler(ngx_resolver_ctx_t *ctx);
static void ngx_http_zae_limit_ddb_connect(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_connected(ngx_http_zae_limit_ddb_op_t *op);
static ngx_int_t ngx_http_zae_limit_ddb_test_connect(
    ngx_http_zae_limit_ddb_op_t *op, ngx_connection_t *c);
static void ngx_http_zae_limit_ddb_handler(ngx_event_t *ev);
static void ngx_http_zae_limit_ddb_send(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_recv(ngx_http_zae_limit_ddb_op_t *op);
static ngx_connection_t *ngx_http_zae_limit_ddb_cache_get(
    ngx_http_zae_limit_ddb_t *ddb);
static void ngx_http_zae_limit_ddb_cache_put(ngx_http_zae_limit_ddb_t *ddb,
    ngx_connection_t *c);
static void ngx_http_zae_limit_ddb_idle_handler(ngx_event_t *ev);
static void ngx_http_zae_limit_ddb_dummy_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_zae_limit_ddb_slot(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_slot_free(ngx_http_zae_limit_ddb_op_t *op);
static void ngx_http_zae_limit_ddb_slot_handler(ngx_event_t *ev);


ngx_int_t
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

    if (!ddb->dest.literal
        && !(n == 9 && ngx_strncasecmp(p, (u_char *) "localhost", 9) == 0))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "zae_limit: endpoint host \"%V\" is resolved "
                           "once, now, and its addresses never change: add "
                           "a \"resolver\" to the http block (in AWS "
                           "\"resolver 169.254.169.253;\")",
                           &ddb->dest.host);
    }

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

ngx_int_t
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


void
ngx_http_zae_limit_ddb_connect_start(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_str_t                  name;
    ngx_connection_t          *c;
    ngx_resolver_ctx_t        *ctx, temp;
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = op->ddb;

    if (!op->slot && ngx_http_zae_limit_ddb_slot(op) != NGX_OK) {
        /* waiting for a slot, or failed */
        return;
    }

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
            c->read->handler = ngx_http_zae_limit_ddb_handler;
            c->write->handler = ngx_http_zae_limit_ddb_handler;

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
    c->read->handler = ngx_http_zae_limit_ddb_handler;
    c->write->handler = ngx_http_zae_limit_ddb_handler;

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
    u_char    *p, text[128];
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {

        /* the call's own failure says it, with the system's words */

        p = ngx_strerror(err, text, sizeof(text));

        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "connect() to %V failed (%d: %*s)",
                                    op->peer.name, err, p - text, text);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_zae_limit_ddb_connected(ngx_http_zae_limit_ddb_op_t *op)
{
    /* no Nagle delay when a request needs more than one write */

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

    /* the session is DynamoDB's: not offered to STS */

    if (ddb->session && !op->raw) {
        if (ngx_ssl_set_session(c, ddb->session) != NGX_OK) {
            ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                        "could not set SSL session");
            return;
        }
    }

    if (!op->raw) {
        c->ssl->save_session = ngx_http_zae_limit_ddb_save_session;
    }

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

    c->read->handler = ngx_http_zae_limit_ddb_handler;
    c->write->handler = ngx_http_zae_limit_ddb_handler;

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
    long        rc;
    X509       *cert;
    ngx_str_t  *peer;

    static ngx_str_t  dynamodb = ngx_string("DynamoDB");

    /* DynamoDB, or the name of a plain request (STS) */

    peer = op->raw ? &op->target : &dynamodb;

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "zae_limit: %V SSL certificate verify error: "
                      "(%l:%s)", peer, rc, X509_verify_cert_error_string(rc));
        return NGX_ERROR;
    }

    if (!op->dest->literal) {
        if (ngx_ssl_check_host(c, &op->dest->host) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "zae_limit: %V SSL certificate does not "
                          "match \"%V\"", peer, &op->dest->host);
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
                      "zae_limit: %V sent no SSL certificate", peer);
        return NGX_ERROR;
    }

    rc = X509_check_ip_asc(cert, (char *) op->dest->host.data, 0);

    X509_free(cert);

    if (rc != 1) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "zae_limit: %V SSL certificate does not "
                      "match \"%V\"", peer, &op->dest->host);
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


/*
 * Both events of a connection: while connecting, either one tests the
 * connect and the write event goes on; then the write event sends and the
 * read event reads (an early answer or a close while sending as well)
 */

static void
ngx_http_zae_limit_ddb_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c;
    ngx_http_zae_limit_ddb_op_t  *op;

    c = ev->data;
    op = c->data;

    if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_CONNECTING) {

        if (ngx_http_zae_limit_ddb_test_connect(op, c) != NGX_OK) {
            return;
        }

        if (ev->write) {
            ngx_http_zae_limit_ddb_connected(op);
        }

        /* else the write event follows */

        return;
    }

    if (ev->write) {
        if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_SENDING) {
            ngx_http_zae_limit_ddb_send(op);
        }

        return;
    }

    if (op->state == NGX_HTTP_ZAE_LIMIT_DDB_SENDING
        || op->state == NGX_HTTP_ZAE_LIMIT_DDB_READING)
    {
        ngx_http_zae_limit_ddb_recv(op);
    }
}


/*
 * The request is one buffer, head and body (ngx_http_zae_limit_ddb_build()
 * puts the body after the head): one write, one TLS record and, when
 * it fits, one segment, where two writes made two (TCP_NODELAY).
 */

static void
ngx_http_zae_limit_ddb_send(ngx_http_zae_limit_ddb_op_t *op)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = op->peer.connection;

    while (op->sent < op->request.len) {

        n = c->send(c, op->request.data + op->sent,
                    op->request.len - op->sent);

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


/* detaches the op from its connection and resolver */

void
ngx_http_zae_limit_ddb_release(ngx_http_zae_limit_ddb_op_t *op,
    ngx_uint_t keep)
{
    ngx_connection_t  *c;

    ngx_http_zae_limit_ddb_slot_free(op);

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


void
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


/* the most recently cached connection, out of the cache; NULL if none */

ngx_connection_t *
ngx_http_zae_limit_ddb_cache_pop(ngx_http_zae_limit_ddb_t *ddb)
{
    ngx_queue_t                      *q;
    ngx_connection_t                 *c;
    ngx_http_zae_limit_ddb_cached_t  *item;

    if (ddb->cached == NULL || ngx_queue_empty(&ddb->cache)) {
        return NULL;
    }

    q = ngx_queue_head(&ddb->cache);
    ngx_queue_remove(q);
    ngx_queue_insert_head(&ddb->free, q);

    item = ngx_queue_data(q, ngx_http_zae_limit_ddb_cached_t, queue);
    c = item->connection;
    item->connection = NULL;

    return c;
}


static ngx_connection_t *
ngx_http_zae_limit_ddb_cache_get(ngx_http_zae_limit_ddb_t *ddb)
{
    ngx_connection_t  *c;

    while ((c = ngx_http_zae_limit_ddb_cache_pop(ddb)) != NULL) {

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        c->idle = 0;

        /*
         * An idle connection has nothing to read: the idle handler closes
         * it on data or EOF as soon as the event loop reports them, so no
         * recv() is needed here.  One closed by the server since the last
         * pass of the loop fails before any answer byte, and the attempt
         * goes on at once on a new connection (ngx_http_zae_limit_ddb_fail).
         */

        if (!c->read->ready && !c->read->pending_eof && !c->read->eof
            && !c->read->error && !c->close)
        {
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



/*
 * The per-worker cap on connections in use (max_connections): an op
 * takes a slot before it reuses or opens a connection and gives it back
 * with the connection (ngx_http_zae_limit_ddb_release()).  Without a
 * free slot it waits, oldest first, at most its attempt timeout; when
 * max_waiting ops wait already, the attempt fails (a new call is refused
 * before that, by ngx_http_zae_limit_ddb_start()).
 */

static ngx_int_t
ngx_http_zae_limit_ddb_slot(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_http_zae_limit_ddb_t  *ddb;

    ddb = op->ddb;

    if (ddb->conf->max_connections == 0
        || ddb->busy < ddb->conf->max_connections)
    {
        ddb->busy++;
        op->slot = 1;
        return NGX_OK;
    }

    if (ddb->nwaiting >= ddb->conf->max_waiting) {
        op->retry.attempts = ddb->conf->max_attempts;
        ngx_http_zae_limit_ddb_fail(op, ZAE_TRANSPORT_REFUSED, 0, NULL,
                                    "max_connections in use and "
                                    "max_waiting waiting");
        return NGX_DECLINED;
    }

    ngx_queue_insert_tail(&ddb->waiting, &op->wait);
    ddb->nwaiting++;
    op->queued = 1;
    op->state = NGX_HTTP_ZAE_LIMIT_DDB_WAITING;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, op->call->log, 0,
                   "zae_limit: ddb waits for a connection: %ui in use, "
                   "%ui waiting", ddb->busy, ddb->nwaiting);

    return NGX_AGAIN;
}


static void
ngx_http_zae_limit_ddb_slot_free(ngx_http_zae_limit_ddb_op_t *op)
{
    ngx_queue_t                  *q;
    ngx_http_zae_limit_ddb_t     *ddb;
    ngx_http_zae_limit_ddb_op_t  *next;

    ddb = op->ddb;

    if (op->queued) {
        ngx_queue_remove(&op->wait);
        ddb->nwaiting--;
        op->queued = 0;
    }

    if (op->event.posted
        && op->event.handler == ngx_http_zae_limit_ddb_slot_handler)
    {
        ngx_delete_posted_event(&op->event);
    }

    if (!op->slot) {
        return;
    }

    op->slot = 0;
    ddb->busy--;

    if (ngx_queue_empty(&ddb->waiting)) {
        return;
    }

    /* the slot goes to the oldest waiting op, which goes on later */

    q = ngx_queue_head(&ddb->waiting);
    ngx_queue_remove(q);
    ddb->nwaiting--;

    next = ngx_queue_data(q, ngx_http_zae_limit_ddb_op_t, wait);
    next->queued = 0;
    next->slot = 1;
    ddb->busy++;

    next->event.handler = ngx_http_zae_limit_ddb_slot_handler;
    ngx_post_event(&next->event, &ngx_posted_events);
}


static void
ngx_http_zae_limit_ddb_slot_handler(ngx_event_t *ev)
{
    ngx_http_zae_limit_ddb_op_t  *op;

    op = ev->data;

    if (op->cancelled || op->state != NGX_HTTP_ZAE_LIMIT_DDB_WAITING) {
        return;
    }

    ngx_http_zae_limit_ddb_connect_start(op);
}
