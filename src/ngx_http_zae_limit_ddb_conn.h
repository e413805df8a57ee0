
/*
 * Copyright (C) zae-limit authors
 *
 * Private to the DynamoDB client: what its call layer
 * (ngx_http_zae_limit_ddb.c) and its transport
 * (ngx_http_zae_limit_ddb_conn.c) share.
 */


#ifndef _NGX_HTTP_ZAE_LIMIT_DDB_CONN_H_INCLUDED_
#define _NGX_HTTP_ZAE_LIMIT_DDB_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_ddb.h"

#include "zae_core.h"
#include "zae_http.h"
#include "zae_retry.h"
#include "zae_sigv4.h"


/* op states */
#define NGX_HTTP_ZAE_LIMIT_DDB_IDLE_STATE  0
#define NGX_HTTP_ZAE_LIMIT_DDB_RESOLVING   1
#define NGX_HTTP_ZAE_LIMIT_DDB_CONNECTING  2
#define NGX_HTTP_ZAE_LIMIT_DDB_HANDSHAKE   3
#define NGX_HTTP_ZAE_LIMIT_DDB_SENDING     4
#define NGX_HTTP_ZAE_LIMIT_DDB_READING     5
#define NGX_HTTP_ZAE_LIMIT_DDB_BACKOFF     6
#define NGX_HTTP_ZAE_LIMIT_DDB_FINISHED    7
#define NGX_HTTP_ZAE_LIMIT_DDB_WAITING     8


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
    ngx_uint_t                          busy;        /* ops holding a
                                                        connection slot */
    ngx_queue_t                         waiting;     /* ops waiting for a
                                                        slot, oldest first */
    ngx_uint_t                          nwaiting;
    zae_retry_policy_t                  retry;
    uint64_t                            random_state;
    ngx_http_zae_limit_creds_t         *creds;
    zae_sigv4_cache_t                   sigv4;
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
    ngx_event_t                         event;       /* backoff, finish,
                                                        slot granted */
    ngx_queue_t                         wait;        /* in ddb->waiting */

    ngx_str_t                           target;
    ngx_str_t                           request;     /* head and body */
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
    unsigned                            slot:1;      /* counted in busy */
    unsigned                            queued:1;    /* in ddb->waiting */
};


/* the transport: ngx_http_zae_limit_ddb_conn.c */

ngx_int_t ngx_http_zae_limit_ddb_parse_endpoint(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_t *ddb);
#if (NGX_SSL)
ngx_int_t ngx_http_zae_limit_ddb_set_ssl(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_t *ddb);
#endif
void ngx_http_zae_limit_ddb_connect_start(ngx_http_zae_limit_ddb_op_t *op);
void ngx_http_zae_limit_ddb_release(ngx_http_zae_limit_ddb_op_t *op,
    ngx_uint_t keep);
void ngx_http_zae_limit_ddb_close(ngx_connection_t *c);
ngx_connection_t *ngx_http_zae_limit_ddb_cache_pop(
    ngx_http_zae_limit_ddb_t *ddb);


/* the call layer: ngx_http_zae_limit_ddb.c */

void ngx_http_zae_limit_ddb_response(ngx_http_zae_limit_ddb_op_t *op);
void ngx_http_zae_limit_ddb_fail(ngx_http_zae_limit_ddb_op_t *op,
    zae_transport_e transport, ngx_uint_t status, ngx_str_t *code,
    const char *fmt, ...);


#endif /* _NGX_HTTP_ZAE_LIMIT_DDB_CONN_H_INCLUDED_ */
