
/*
 * Copyright (C) zae-limit authors
 *
 * The asynchronous DynamoDB client of the module: one client per
 * worker, independent of any request.  A call is a signed
 * "POST /" with an awsJson1_0 body; the client connects (resolver,
 * TLS with SNI and verification, keepalive cache), sends, parses the
 * answer, checks x-amz-crc32, classifies errors and retries with
 * backoff timers until the call is final or its deadline passes.
 *
 * The caller owns the call structure and its pool; the handler is
 * called exactly once, never from inside ngx_http_zae_limit_ddb_start(),
 * unless the call is cancelled first.
 */


#ifndef _NGX_HTTP_ZAE_LIMIT_DDB_H_INCLUDED_
#define _NGX_HTTP_ZAE_LIMIT_DDB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "zae_creds.h"
#include "zae_ddb.h"

#include "ngx_http_zae_limit_str.h"


#define NGX_HTTP_ZAE_LIMIT_DDB_CA_FILE  "/etc/ssl/certs/ca-certificates.crt"

/* the defaults of zae_limit_dynamodb, set by ngx_http_zae_limit_module.c */
#define NGX_HTTP_ZAE_LIMIT_DDB_TIMEOUT          250
#define NGX_HTTP_ZAE_LIMIT_DDB_MAX_ATTEMPTS     3
#define NGX_HTTP_ZAE_LIMIT_DDB_KEEPALIVE        32
#define NGX_HTTP_ZAE_LIMIT_DDB_MAX_CONNECTIONS 128
#define NGX_HTTP_ZAE_LIMIT_DDB_MAX_WAITING     128
#define NGX_HTTP_ZAE_LIMIT_DDB_RESOLVER_TIMEOUT 5000

/* the largest response body accepted */
#define NGX_HTTP_ZAE_LIMIT_DDB_MAX_BODY         (16 * 1024 * 1024)


typedef struct {
    /*
     * "http://127.0.0.1:8000" or "https://dynamodb.us-east-1.amazonaws.com";
     * an optional path is ignored, requests always go to "/";
     * empty: "https://dynamodb.<region>.amazonaws.com"
     */
    ngx_str_t                           endpoint;
    ngx_str_t                           region;     /* signing region */
    ngx_msec_t                          timeout;    /* per attempt: connect +
                                                       send + read */
    ngx_uint_t                          max_attempts; /* total attempts,
                                                       SDK standard mode */
    ngx_uint_t                          keepalive;  /* idle connections
                                                       cached per worker */
    ngx_uint_t                          max_connections; /* in use at once
                                                       per worker; 0: no
                                                       cap */
    ngx_uint_t                          max_waiting; /* calls waiting for
                                                       one of them, at most
                                                       one attempt timeout;
                                                       beyond: the start
                                                       fails at once */
    ngx_flag_t                          ssl_verify; /* default on */
    ngx_str_t                           ssl_trusted_certificate;
                                                    /* empty: system bundle
                                                       (..._DDB_CA_FILE) */
    ngx_resolver_t                     *resolver;   /* NULL: names are
                                                       resolved once at
                                                       config time */
    ngx_msec_t                          resolver_timeout;
    ngx_flag_t                          imds;       /* query EC2 instance
                                                       metadata for
                                                       credentials; 0 (the
                                                       zeroed default): no */
} ngx_http_zae_limit_ddb_conf_t;


typedef struct ngx_http_zae_limit_ddb_s       ngx_http_zae_limit_ddb_t;
typedef struct ngx_http_zae_limit_ddb_call_s  ngx_http_zae_limit_ddb_call_t;
typedef struct ngx_http_zae_limit_ddb_op_s    ngx_http_zae_limit_ddb_op_t;
typedef struct ngx_http_zae_limit_creds_s     ngx_http_zae_limit_creds_t;

typedef void (*ngx_http_zae_limit_ddb_handler_pt)(
    ngx_http_zae_limit_ddb_call_t *call);


struct ngx_http_zae_limit_ddb_call_s {
    /* set by the caller before ngx_http_zae_limit_ddb_start() */

    ngx_pool_t                         *pool;     /* call and response memory;
                                                     must outlive the call
                                                     or cancel it first */
    ngx_log_t                          *log;
    zae_ddb_op_e                        op;       /* ZAE_DDB_UPDATE_ITEM:
                                                     X-Amz-Target from the
                                                     core's table */
    ngx_str_t                           body;     /* request JSON, kept for
                                                     retries */
    ngx_msec_t                          deadline; /* total budget in ms,
                                                     relative to start;
                                                     0: timeout * max_attempts
                                                     plus backoff allowance */
    ngx_http_zae_limit_ddb_handler_pt   handler;  /* called exactly once
                                                     unless cancelled */
    ngx_uint_t                          log_level; /* of the line that says
                                                     the call gave up;
                                                     0: NGX_LOG_ERR */
    void                               *data;

    /* results, valid in the handler */

    ngx_int_t                           rc;       /* NGX_OK: a final HTTP
                                                     answer: 2xx or a DynamoDB
                                                     error that is not retried
                                                     (ConditionalCheckFailed,
                                                     ValidationException, ...);
                                                     NGX_ERROR: gave up */
    ngx_uint_t                          status;   /* HTTP status, 0 if none */
    ngx_str_t                           response; /* body, in call->pool */
    ngx_str_t                           error_type; /* non-2xx: the error code
                                                     after the last '#' of
                                                     "__type", e.g.
                                                     "ThrottlingException";
                                                     empty otherwise */
    ngx_str_t                           error;    /* rc == NGX_ERROR: short
                                                     reason for logs, e.g.
                                                     "timed out",
                                                     "ThrottlingException
                                                     400: ..." */
    ngx_uint_t                          attempts;
    ngx_msec_t                          latency;  /* total, ms */

    /* private */

    ngx_http_zae_limit_ddb_op_t        *state;
};


/*
 * Config time: parse and check the endpoint, create the TLS context for
 * https; conf must stay valid (it is referenced, not copied) and have
 * every value set (the defaults above).  Returns NULL after
 * ngx_conf_log_error() on bad input.
 */
ngx_http_zae_limit_ddb_t *ngx_http_zae_limit_ddb_create(ngx_conf_t *cf,
    ngx_http_zae_limit_ddb_conf_t *conf);

/*
 * Worker start: connection cache, retry policy, signing cache; the
 * calls are signed with creds (ngx_http_zae_limit_creds.c).  NGX_ERROR
 * only on allocation failure.
 */
ngx_int_t ngx_http_zae_limit_ddb_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb, ngx_http_zae_limit_creds_t *creds);

/* worker exit: closes cached connections, stops timers */
void ngx_http_zae_limit_ddb_exit_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_ddb_t *ddb);

/*
 * NGX_AGAIN: the handler will be called later, never synchronously;
 * NGX_BUSY: max_connections connections are in use and max_waiting
 * calls wait for one, the handler will not be called;
 * NGX_ERROR: could not start, the handler will not be called.
 */
ngx_int_t ngx_http_zae_limit_ddb_start(ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_call_t *call);

/*
 * The handler will never be called; safe at any time after start (also
 * from a cleanup of call->pool) and a no-op for finished calls.
 */
void ngx_http_zae_limit_ddb_cancel(ngx_http_zae_limit_ddb_call_t *call);

/* NGX_OK when credentials are available, else NGX_DECLINED */
ngx_int_t ngx_http_zae_limit_ddb_ready(ngx_http_zae_limit_ddb_t *ddb);

/* the endpoint's URL, for messages */
ngx_str_t *ngx_http_zae_limit_ddb_endpoint(ngx_http_zae_limit_ddb_t *ddb);

/*
 * A plain HTTP request that is not a DynamoDB call (a credentials
 * endpoint, STS): head is the whole request with its body, sent as is,
 * unsigned, to host:port (an address, "localhost", or a name for the
 * resolver), over TLS when https (which needs an https DynamoDB
 * endpoint: its TLS context is used); name names it in the logs
 * (call->op is not used) and call->deadline is its budget.  The
 * contract of ngx_http_zae_limit_ddb_start().
 */
ngx_int_t ngx_http_zae_limit_ddb_fetch(ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_call_t *call, ngx_str_t *name, ngx_str_t *host,
    in_port_t port, ngx_uint_t https, ngx_str_t *head);


/*
 * The AWS credentials of a worker: ngx_http_zae_limit_creds.c.
 *
 * Worker start: from the environment or the shared files; web identity
 * (STS), ECS container credentials and, with conf->imds, EC2 instance
 * metadata are fetched
 * through ngx_http_zae_limit_ddb_fetch() and refreshed by a timer before
 * they expire.  NULL only on allocation failure.
 */
ngx_http_zae_limit_creds_t *ngx_http_zae_limit_creds_init_process(
    ngx_cycle_t *cycle, ngx_http_zae_limit_ddb_t *ddb,
    ngx_http_zae_limit_ddb_conf_t *conf);

/* worker exit: stops the timer, cancels a fetch, wipes the secrets */
void ngx_http_zae_limit_creds_exit_process(ngx_http_zae_limit_creds_t *cr);

/* NGX_OK when credentials are available and not expired */
ngx_int_t ngx_http_zae_limit_creds_ready(ngx_http_zae_limit_creds_t *cr);

/* the current credentials, NULL if none */
const zae_aws_creds_t *ngx_http_zae_limit_creds_get(
    ngx_http_zae_limit_creds_t *cr);


#endif /* _NGX_HTTP_ZAE_LIMIT_DDB_H_INCLUDED_ */
