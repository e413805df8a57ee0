
/*
 * Copyright (C) zae-limit authors
 */


#ifndef _NGX_HTTP_ZAE_LIMIT_MODULE_H_INCLUDED_
#define _NGX_HTTP_ZAE_LIMIT_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "zae_core.h"
#include "zae_limit.h"
#include "zae_proto.h"
#include "zae_keyhash.h"
#include "zae_lease.h"
#include "ngx_http_zae_limit_ddb.h"


/* $zae_limit_status values */

#define NGX_HTTP_ZAE_LIMIT_NONE                  0
#define NGX_HTTP_ZAE_LIMIT_PASSED                1
#define NGX_HTTP_ZAE_LIMIT_REJECTED              2
#define NGX_HTTP_ZAE_LIMIT_REJECTED_DRY_RUN      3
#define NGX_HTTP_ZAE_LIMIT_UNAVAILABLE_ALLOWED   4
#define NGX_HTTP_ZAE_LIMIT_UNAVAILABLE_BLOCKED   5
#define NGX_HTTP_ZAE_LIMIT_SKIPPED               6
#define NGX_HTTP_ZAE_LIMIT_INVALID               7
#define NGX_HTTP_ZAE_LIMIT_NO_LIMITS             8


#define NGX_HTTP_ZAE_LIMIT_UNSET                 0
#define NGX_HTTP_ZAE_LIMIT_ALLOW                 1
#define NGX_HTTP_ZAE_LIMIT_BLOCK                 2


/* zae_limit_headers on: every limit by its name; openai: OpenAI's names */

#define NGX_HTTP_ZAE_LIMIT_HEADERS_ON            1
#define NGX_HTTP_ZAE_LIMIT_HEADERS_OPENAI        2


/* shared cache record types */

#define NGX_HTTP_ZAE_LIMIT_C_NSID                1
#define NGX_HTTP_ZAE_LIMIT_C_CONFIG              2
#define NGX_HTTP_ZAE_LIMIT_C_ENTITY              3
#define NGX_HTTP_ZAE_LIMIT_C_REJECT              4
#define NGX_HTTP_ZAE_LIMIT_C_SYSTEM              5
#define NGX_HTTP_ZAE_LIMIT_C_UNLIMITED           6


/* metrics */

typedef enum {
    NGX_HTTP_ZAE_LIMIT_M_PASSED = 0,
    NGX_HTTP_ZAE_LIMIT_M_REJECTED,
    NGX_HTTP_ZAE_LIMIT_M_REJECTED_DRY_RUN,
    NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_ALLOWED,
    NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_BLOCKED,
    NGX_HTTP_ZAE_LIMIT_M_SKIPPED,
    NGX_HTTP_ZAE_LIMIT_M_INVALID,
    NGX_HTTP_ZAE_LIMIT_M_NO_LIMITS,
    NGX_HTTP_ZAE_LIMIT_M_REJECT_CACHE_HITS,
    NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_HITS,
    NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_MISSES,
    NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_OK,
    NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_CONDITIONAL,
    NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_ERROR,
    NGX_HTTP_ZAE_LIMIT_M_DELTAS_QUEUED,
    NGX_HTTP_ZAE_LIMIT_M_DELTAS_FLUSHED,
    NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED,
    NGX_HTTP_ZAE_LIMIT_M_FLUSH_WRITES,
    NGX_HTTP_ZAE_LIMIT_M_FLUSH_ERRORS,
    NGX_HTTP_ZAE_LIMIT_M_ROLLBACKS,
    NGX_HTTP_ZAE_LIMIT_M_RECONCILE_INVALID,
    NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_EVENTS,
    NGX_HTTP_ZAE_LIMIT_M_UNLIMITED_CONSUMES,
    NGX_HTTP_ZAE_LIMIT_M_ZONE_EVICTIONS,
    NGX_HTTP_ZAE_LIMIT_M_FLUSH_IN_DOUBT,
    NGX_HTTP_ZAE_LIMIT_M_DDB_BUSY,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_HITS,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_UNAVAILABLE_HITS,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_REFILLS,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_SIZE,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_LEASED,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_RETURNED,
    NGX_HTTP_ZAE_LIMIT_M_LEASE_RECLAIMED,
    NGX_HTTP_ZAE_LIMIT_M_LAST
} ngx_http_zae_limit_metric_e;


#define NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS       12


/* a directive's "name=value" parameter kinds (conf_param) */
typedef enum {
    NGX_HTTP_ZAE_LIMIT_PARAM_MSEC = 0,     /* ngx_msec_t, min..max ms */
    NGX_HTTP_ZAE_LIMIT_PARAM_NUM,          /* ngx_uint_t, min..max */
    NGX_HTTP_ZAE_LIMIT_PARAM_FLAG,         /* ngx_flag_t, on or off */
    NGX_HTTP_ZAE_LIMIT_PARAM_STR           /* ngx_str_t, as written */
} ngx_http_zae_limit_param_e;


typedef struct {
    ngx_str_t                    name;     /* with its "=" */
    ngx_http_zae_limit_param_e   type;
    ngx_uint_t                   min;
    ngx_uint_t                   max;
    size_t                       offset;   /* of the field in the conf */
    const char                  *rule;     /* said when the value is bad */
} ngx_http_zae_limit_param_t;


typedef struct {
    ngx_atomic_t                 counters[NGX_HTTP_ZAE_LIMIT_M_LAST];
    ngx_atomic_t                 op_ok[ZAE_DDB_OP_MAX];   /* zae_ddb_op_e */
    ngx_atomic_t                 op_fail[ZAE_DDB_OP_MAX];
    ngx_atomic_t                 latency[NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS];
    ngx_atomic_t                 latency_count;
    ngx_atomic_t                 latency_sum;
    ngx_atomic_t                 pending;
} ngx_http_zae_limit_metrics_t;


typedef struct {
    ngx_rbtree_t                 cache;
    ngx_rbtree_node_t            cache_sentinel;
    ngx_queue_t                  lru;
    ngx_rbtree_t                 deltas;
    ngx_rbtree_node_t            deltas_sentinel;
    ngx_queue_t                  deltas_queue;  /* ready, oldest first */
    ngx_queue_t                  held_queue;    /* a write in flight or
                                                   in doubt */
    ngx_uint_t                   ndeltas;
    ngx_uint_t                   generation;    /* configurations that
                                                   took the zone over */
    ngx_uint_t                   workers_generation; /* the newest with
                                                   workers */
    ngx_atomic_t                 exit_logged;
    uint64_t                     wid_epoch;     /* ms, zone creation */
    uint64_t                     wid_next;
    ngx_http_zae_limit_metrics_t metrics;
    ngx_str_t                    owner;      /* "table region endpoint" */
    void                        *lease;      /* ngx_http_zae_limit_lease.c */
} ngx_http_zae_limit_shctx_t;


typedef struct {
    ngx_http_zae_limit_shctx_t  *sh;
    ngx_slab_pool_t             *shpool;
    ngx_uint_t                   max_deltas;
    ngx_str_t                    owner;      /* what the entries belong to */
} ngx_http_zae_limit_shm_t;


/*
 * The zone's key of a bucket with pending deltas: the parts of the
 * bucket's key, not its formatted PK (the core formats that when the
 * write is built, src/core/zae_schema.c); the strings follow the header.
 */

typedef struct {
    int64_t                      shard;
    u_short                      ns_len;
    u_short                      entity_len;
    u_short                      resource_len;
    u_short                      reserved;
} ngx_http_zae_limit_bkey_t;


/* the amount of one limit of a flush write */

typedef struct {
    ngx_str_t                    name;
    int64_t                      delta;      /* tokens, |delta| <= 10^12 */
} ngx_http_zae_limit_delta_t;


/* a flush write taken out of the zone, in pool memory */

typedef struct {
    ngx_str_t                    key;        /* the zone's bucket key */
    zae_bucket_ref_t             ref;        /* points into key */
    uint64_t                     wid;        /* the write's id */
    ngx_uint_t                   retry;      /* held: sent before, in doubt */
    ngx_array_t                  limits;     /* ngx_http_zae_limit_delta_t */
} ngx_http_zae_limit_bucket_delta_t;


/* what is not written yet, for the exit line and the metrics */

typedef struct {
    ngx_uint_t                   buckets;
    ngx_uint_t                   held;       /* buckets with a write in
                                                flight or in doubt */
    int64_t                      tokens;     /* sum of |amount| */
    ngx_msec_t                   oldest;     /* age in ms */
} ngx_http_zae_limit_backlog_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t    *value;      /* NULL: constant amount */
    int64_t                      amount;
} ngx_http_zae_limit_consume_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t     value;
    ngx_str_t                    file;        /* where, for messages */
    ngx_uint_t                   line;
} ngx_http_zae_limit_reconcile_t;


typedef struct {
    ngx_str_t                    table;
    ngx_str_t                    namespace;
    ngx_shm_zone_t              *shm_zone;
    ngx_http_zae_limit_ddb_conf_t  ddb_conf;
    ngx_http_zae_limit_ddb_t    *ddb;
    ngx_http_zae_limit_creds_t  *creds;       /* per worker */
    ngx_msec_t                   config_ttl;
    ngx_msec_t                   flush_interval;
    ngx_msec_t                   exit_deadline;
    ngx_uint_t                   max_deltas;
    ngx_uint_t                   configured;  /* unsigned configured:1; */
} ngx_http_zae_limit_main_conf_t;


typedef struct {
    ngx_http_complex_value_t    *entity;
    ngx_http_complex_value_t    *resource;
    ngx_array_t                 *consume;     /* consume_t */
    ngx_str_t                    consume_text;
    zae_limits_t                *limits;      /* inline fallback */
    ngx_array_t                 *reconcile;   /* reconcile_t */
    ngx_http_complex_value_t    *namespace;
    ngx_uint_t                   on_unavailable;
    ngx_uint_t                   status_code;
    ngx_uint_t                   limit_log_level;
    ngx_flag_t                   dry_run;
    ngx_flag_t                   headers;
    ngx_flag_t                   rollback;
    ngx_uint_t                   error_format;   /* ZAE_BODY_* */
    ngx_str_t                    header_requests; /* openai: the limit */
    ngx_str_t                    header_tokens;   /* shown as -requests,
                                                     -tokens */
    ngx_uint_t                   empty_reject; /* unsigned:1 */
    ngx_http_complex_value_t    *key_hash;    /* zae_limit_key_hash */
    zae_key_secret_t            *key_secret;
    zae_lease_conf_t            *lease;       /* zae_limit_lease, NULL: off */
} ngx_http_zae_limit_loc_conf_t;


/* the request context, shared by the stages */

/* the steps of the acquire state machine */

typedef enum {
    NGX_HTTP_ZAE_LIMIT_STEP_NSID = 0,
    NGX_HTTP_ZAE_LIMIT_STEP_SPEC,
    NGX_HTTP_ZAE_LIMIT_STEP_BUMP,
    NGX_HTTP_ZAE_LIMIT_STEP_CONFIG,
    NGX_HTTP_ZAE_LIMIT_STEP_READ,
    NGX_HTTP_ZAE_LIMIT_STEP_WRITE,
    NGX_HTTP_ZAE_LIMIT_STEP_RETRY
} ngx_http_zae_limit_step_e;


/* the cached facts of an entity (from a bucket image or META) */

typedef struct {
    int64_t                          shard_count;
    u_char                           cascade;
    u_char                           single;      /* only shard 0 exists */
    u_short                          plen;
    u_char                           parent[ZAE_ENTITY_ID_MAX_LEN];
} ngx_http_zae_limit_entity_t;


/* a resolved limit list in the shared cache */

typedef struct {
    u_char                           len;
    u_char                           name[ZAE_NAME_MAX_LEN];
    int64_t                          capacity;
    int64_t                          refill_amount;
    int64_t                          period;
} ngx_http_zae_limit_climit_t;


typedef struct {
    u_char                           source;
    u_char                           on_unavailable;
    u_char                           n;
    ngx_http_zae_limit_climit_t      l[ZAE_LIMITS_MAX];
} ngx_http_zae_limit_config_t;


/* a rejection: the bucket as DynamoDB last showed it */

typedef struct {
    u_char                           len;
    u_char                           name[ZAE_NAME_MAX_LEN];
    int64_t                          tk;
    int64_t                          cp;
    int64_t                          ra;
    int64_t                          rp;
} ngx_http_zae_limit_rlimit_t;


typedef struct {
    int64_t                          rf;
    u_char                           n;
    ngx_http_zae_limit_rlimit_t      l[ZAE_LIMITS_MAX];
} ngx_http_zae_limit_reject_t;


/*
 * a config or a rejection takes the zone's memory of the limits it has,
 * n of its array l[], no more
 */

#define ngx_http_zae_limit_size(type, n)                                     \
    (offsetof(type, l) + (n) * sizeof(((type *) 0)->l[0]))

#define ngx_http_zae_limit_config_size(n)                                    \
    ngx_http_zae_limit_size(ngx_http_zae_limit_config_t, n)

#define ngx_http_zae_limit_reject_size(n)                                    \
    ngx_http_zae_limit_size(ngx_http_zae_limit_reject_t, n)


/* response header values: one per limit */

typedef struct {
    zae_str_t                        name;
    int64_t                          capacity;    /* tokens */
    int64_t                          remaining;   /* tokens, >= 0 */
    int64_t                          window;      /* seconds */
    int64_t                          reset;       /* seconds to full */
} ngx_http_zae_limit_hdr_t;


/*
 * what only the slow path needs: allocated when a request enters it, so
 * that the speculative path's context stays small
 */

typedef struct {
    ngx_http_zae_limit_config_t      config[2];   /* child, parent */
    zae_limits_t                     limits[2];
    zae_proto_plan_t                 plan;
    zae_proto_read_t                 rd;
} ngx_http_zae_limit_slow_t;


typedef struct ngx_http_zae_limit_ctx_s  ngx_http_zae_limit_ctx_t;

struct ngx_http_zae_limit_ctx_s {
    ngx_http_request_t              *request;
    ngx_http_zae_limit_loc_conf_t   *zlcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;
    zae_mem_t                        mem;

    ngx_uint_t                       status;
    ngx_int_t                        rc;
    ngx_uint_t                       step;
    ngx_uint_t                       pending;
    ngx_uint_t                       shard_tries;
    ngx_uint_t                       conflicts;

    zae_str_t                        ns_name;
    zae_str_t                        nsid;
    ngx_str_t                        entity_key;  /* nsid/entity */
    zae_bucket_ref_t                 ref;
    zae_bucket_ref_t                 pref;        /* the parent's */
    zae_str_t                        parent;
    size_t                           nconsume;
    int64_t                          now_ms;

    ngx_http_zae_limit_entity_t      entity;

    ngx_http_zae_limit_ddb_call_t    call[2];
    zae_spec_result_t                spec[2];
    ngx_http_zae_limit_slow_t       *slow;
    zae_bucket_item_t               *image;       /* ALL_OLD, shard 0 */
    zae_level_e                      sources[2];
    ngx_uint_t                       config_entity; /* the pending config
                                                       read's: 0 the
                                                       entity, 1 its
                                                       parent */
    unsigned                         read_items;  /* the pending read's
                                                     ZAE_READ_* */
    unsigned                         have_limits;
    unsigned                         have_read;
    zae_ddb_op_e                   write_op;

    ngx_uint_t                       nhdrs;
    int64_t                          retry_header;
    int64_t                          retry_ms;
    ngx_str_t                        body;
    ngx_uint_t                       http_status;
    zae_level_e                      source;
    ngx_int_t                        orphan_rc;  /* the answer decided while
                                                    the child's write was
                                                    in flight alone */
    int64_t                          lease_k;    /* > 1: the speculative
                                                    write is a lease refill
                                                    of k x consume */
    int64_t                          lease_owner; /* the refill's mark in
                                                    the zone */
    ngx_str_t                        lease_key;  /* the lease's zone key */
    zae_str_t                        lease_attr; /* the refill's write id */
    zae_str_t                        lease_id;

    unsigned                         done:1;
    unsigned                         orphan:1;
    unsigned                         parked:1;
    unsigned                         acquired:1;
    unsigned                         cascaded:1;
    unsigned                         cascade:1;
    unsigned                         entity_known:1;
    unsigned                         logged:1;
    unsigned                         lease_tried:1;

    /*
     * not zeroed when the context is made (a cached rejection's cost):
     * only the first nconsume and nhdrs entries are ever read
     */

    zae_amount_t                     consume[ZAE_LIMITS_MAX];
    ngx_http_zae_limit_hdr_t         hdrs[ZAE_LIMITS_MAX];
};


extern ngx_module_t  ngx_http_zae_limit_module;


/* the shared zone and its cache: ngx_http_zae_limit_shm.c */

ngx_int_t ngx_http_zae_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_uint_t ngx_http_zae_limit_zone_join(ngx_shm_zone_t *zone);
ngx_uint_t ngx_http_zae_limit_zone_newer(ngx_shm_zone_t *zone,
    ngx_uint_t gen);
ngx_int_t ngx_http_zae_limit_cache_get(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key, u_char *buf, size_t size, size_t *len);
ngx_int_t ngx_http_zae_limit_cache_put(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key, u_char *value, size_t len, ngx_msec_t ttl);
void ngx_http_zae_limit_cache_delete(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key);


/* the pending deltas in the zone: ngx_http_zae_limit_deltas.c */

ngx_int_t ngx_http_zae_limit_bucket_key(ngx_pool_t *pool,
    zae_bucket_ref_t *ref, ngx_str_t *key);
void ngx_http_zae_limit_bucket_ref(ngx_str_t *key, zae_bucket_ref_t *ref);
ngx_int_t ngx_http_zae_limit_delta_add(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_str_t *name, int64_t delta, int64_t *lost);
ngx_array_t *ngx_http_zae_limit_delta_take(ngx_shm_zone_t *zone,
    ngx_pool_t *pool, ngx_uint_t max, ngx_msec_t before, ngx_msec_t stale);
void ngx_http_zae_limit_delta_settle(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_bucket_delta_t *bd, ngx_uint_t written,
    ngx_msec_t backoff);
void ngx_http_zae_limit_delta_release(ngx_shm_zone_t *zone);
ngx_uint_t ngx_http_zae_limit_delta_pending(ngx_shm_zone_t *zone);
void ngx_http_zae_limit_delta_backlog(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_backlog_t *bl, ngx_uint_t scan);


/* the metrics counters and their page: ngx_http_zae_limit_metrics.c */

void ngx_http_zae_limit_metric_add(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_metric_e m, ngx_atomic_int_t n);
void ngx_http_zae_limit_metric_call(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_ddb_call_t *call);
ngx_int_t ngx_http_zae_limit_metrics_handler(ngx_http_request_t *r);


/* shared helpers: ngx_http_zae_limit_util.c */

typedef struct {
    time_t                           sec;
    ngx_uint_t                       suppressed;
    u_char                           more[64];
} ngx_http_zae_limit_log_limit_t;

ngx_int_t ngx_http_zae_limit_log_limit(ngx_http_zae_limit_log_limit_t *ll,
    ngx_str_t *more);

void *ngx_http_zae_limit_pool_alloc(void *pool, size_t size);
void ngx_http_zae_limit_cleanup(void *data);
ngx_str_t *ngx_http_zae_limit_key(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity, ngx_str_t *key);
ngx_str_t *ngx_http_zae_limit_entity_key(ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_bad_names(ngx_log_t *log,
    zae_bucket_item_t *bucket);


/* the acquire, precontent phase: ngx_http_zae_limit_acquire.c */

ngx_int_t ngx_http_zae_limit_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_zae_limit_send(ngx_http_zae_limit_ctx_t *ctx,
    ngx_uint_t i, zae_ddb_op_e op, zae_buf_t *b);
void ngx_http_zae_limit_resp(ngx_http_zae_limit_ddb_call_t *call,
    zae_ddb_http_resp_t *resp);
ngx_int_t ngx_http_zae_limit_call_answer(ngx_http_zae_limit_ctx_t *ctx,
    ngx_uint_t i, zae_ddb_http_resp_t *resp);
ngx_int_t ngx_http_zae_limit_ddb_error(ngx_http_zae_limit_ctx_t *ctx,
    zae_ddb_error_t *e);
ngx_int_t ngx_http_zae_limit_spec(ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_compensate(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity);


/* local token leases: ngx_http_zae_limit_lease.c */

char *ngx_http_zae_limit_lease_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_zae_limit_lease_take(ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_lease_begin(ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_lease_abort(ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_lease_cancel(ngx_http_zae_limit_ctx_t *ctx);
ngx_int_t ngx_http_zae_limit_lease_done(ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_lease_expire(ngx_http_zae_limit_main_conf_t *zmcf,
    ngx_log_t *log);


/* the slow path of the acquire: ngx_http_zae_limit_slow.c */

ngx_int_t ngx_http_zae_limit_slow(ngx_http_zae_limit_ctx_t *ctx);
ngx_int_t ngx_http_zae_limit_config_done(ngx_http_zae_limit_ctx_t *ctx);
ngx_int_t ngx_http_zae_limit_read_done(ngx_http_zae_limit_ctx_t *ctx);
ngx_int_t ngx_http_zae_limit_write_done(ngx_http_zae_limit_ctx_t *ctx);


/* the module, its configuration and init: ngx_http_zae_limit_module.c */

ngx_int_t ngx_http_zae_limit_add_vars(ngx_conf_t *cf,
    ngx_http_variable_t *vars);


/* the directives' handlers: ngx_http_zae_limit_directive.c */

ngx_int_t ngx_http_zae_limit_conf_param(ngx_conf_t *cf,
    ngx_http_zae_limit_param_t *params, ngx_str_t *value, void *conf);
char *ngx_http_zae_limit_dynamodb(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_zae_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_zae_limit_reconcile(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_zae_limit_namespace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_zae_limit_headers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_zae_limit_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_zae_limit_key_hash(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* answers, headers and variables: ngx_http_zae_limit_response.c */

ngx_int_t ngx_http_zae_limit_passed(ngx_http_zae_limit_ctx_t *ctx);
ngx_int_t ngx_http_zae_limit_reject(ngx_http_zae_limit_ctx_t *ctx,
    zae_limit_status_t *st, size_t n, zae_bucket_item_t *image);
ngx_int_t ngx_http_zae_limit_unavailable(ngx_http_zae_limit_ctx_t *ctx,
    const char *fmt, ...);
ngx_int_t ngx_http_zae_limit_invalid(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx, const char *field, ngx_str_t *value,
    zae_err_t *err);
ngx_int_t ngx_http_zae_limit_no_limits(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity);
void ngx_http_zae_limit_unlimited(ngx_http_zae_limit_ctx_t *ctx,
    zae_limits_t *limits);
ngx_int_t ngx_http_zae_limit_answer(ngx_http_request_t *r,
    ngx_http_zae_limit_ctx_t *ctx);
void ngx_http_zae_limit_hdr_merge(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *name, int64_t tk, int64_t cp, int64_t ra, int64_t rp);
void ngx_http_zae_limit_hdr_put(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *name, int64_t tk, int64_t cp, int64_t ra, int64_t rp,
    ngx_uint_t force);
void ngx_http_zae_limit_hdrs_from_bucket(ngx_http_zae_limit_ctx_t *ctx,
    zae_bucket_item_t *bucket);
void ngx_http_zae_limit_hdrs_from_plan(ngx_http_zae_limit_ctx_t *ctx);
ngx_int_t ngx_http_zae_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_retry_after_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_key_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_filter_init(ngx_conf_t *cf);


/* the log phase and the flush timer: ngx_http_zae_limit_reconcile.c */

void ngx_http_zae_limit_queue_delta(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *entity, zae_str_t *name, int64_t delta);
void ngx_http_zae_limit_queue_both(ngx_http_zae_limit_ctx_t *ctx,
    zae_str_t *name, int64_t delta);
void ngx_http_zae_limit_reconcile_amount(ngx_http_zae_limit_ctx_t *ctx,
    ngx_str_t *name, int64_t actual);
ngx_int_t ngx_http_zae_limit_log_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_zae_limit_acquire_id(ngx_pool_t *pool, zae_str_t *attr,
    zae_str_t *id);
ngx_int_t ngx_http_zae_limit_reconcile_init_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf);
void ngx_http_zae_limit_reconcile_exit_process(ngx_cycle_t *cycle,
    ngx_http_zae_limit_main_conf_t *zmcf);


/*
 * The acquire's debug trace: with "error_log ... debug" each step of a
 * request is logged; a level check when the level is lower, nothing in
 * a build without --with-debug.
 */

#define ngx_http_zae_limit_trace(ctx, fmt)                                   \
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, (ctx)->request->connection->log, 0,  \
                   "zae_limit: " fmt)

#define ngx_http_zae_limit_trace1(ctx, fmt, a)                               \
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, (ctx)->request->connection->log, 0,  \
                   "zae_limit: " fmt, a)

#define ngx_http_zae_limit_trace2(ctx, fmt, a, b)                            \
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, (ctx)->request->connection->log, 0,  \
                   "zae_limit: " fmt, a, b)

#define ngx_http_zae_limit_trace3(ctx, fmt, a, b, c)                         \
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, (ctx)->request->connection->log, 0,  \
                   "zae_limit: " fmt, a, b, c)

#define ngx_http_zae_limit_trace4(ctx, fmt, a, b, c, d)                      \
    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, (ctx)->request->connection->log, 0,  \
                   "zae_limit: " fmt, a, b, c, d)


/* the time in ms, for the token buckets */

static ngx_inline int64_t
ngx_http_zae_limit_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * The request ctx is found through its pool cleanup, so that it
 * survives internal redirects (they clear r->ctx): the acquire runs
 * once per request and the log phase finds what it consumed.
 */

static ngx_inline void *
ngx_http_zae_limit_cleanup_data(ngx_pool_t *pool,
    ngx_pool_cleanup_pt handler)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == handler) {
            return cln->data;
        }
    }

    return NULL;
}


static ngx_inline ngx_http_zae_limit_ctx_t *
ngx_http_zae_limit_get_ctx(ngx_http_request_t *r)
{
    return ngx_http_zae_limit_cleanup_data(r->pool,
                                           ngx_http_zae_limit_cleanup);
}


#endif /* _NGX_HTTP_ZAE_LIMIT_MODULE_H_INCLUDED_ */
