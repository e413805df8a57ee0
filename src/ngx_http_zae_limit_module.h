
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


#define NGX_HTTP_ZAE_LIMIT_UNSET                 0
#define NGX_HTTP_ZAE_LIMIT_ALLOW                 1
#define NGX_HTTP_ZAE_LIMIT_BLOCK                 2


/* shared cache record types */

#define NGX_HTTP_ZAE_LIMIT_C_NSID                1
#define NGX_HTTP_ZAE_LIMIT_C_CONFIG              2
#define NGX_HTTP_ZAE_LIMIT_C_ENTITY              3
#define NGX_HTTP_ZAE_LIMIT_C_REJECT              4
#define NGX_HTTP_ZAE_LIMIT_C_SYSTEM              5


/* metrics */

typedef enum {
    NGX_HTTP_ZAE_LIMIT_M_PASSED = 0,
    NGX_HTTP_ZAE_LIMIT_M_REJECTED,
    NGX_HTTP_ZAE_LIMIT_M_REJECTED_DRY_RUN,
    NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_ALLOWED,
    NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_BLOCKED,
    NGX_HTTP_ZAE_LIMIT_M_SKIPPED,
    NGX_HTTP_ZAE_LIMIT_M_INVALID,
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
    NGX_HTTP_ZAE_LIMIT_M_LAST
} ngx_http_zae_limit_metric_e;


/* DynamoDB operations counted by name in the metrics */

typedef enum {
    NGX_HTTP_ZAE_LIMIT_OP_GET_ITEM = 0,
    NGX_HTTP_ZAE_LIMIT_OP_BATCH_GET_ITEM,
    NGX_HTTP_ZAE_LIMIT_OP_PUT_ITEM,
    NGX_HTTP_ZAE_LIMIT_OP_UPDATE_ITEM,
    NGX_HTTP_ZAE_LIMIT_OP_TRANSACT_WRITE_ITEMS,
    NGX_HTTP_ZAE_LIMIT_OP_LAST
} ngx_http_zae_limit_op_e;


#define NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS       12


typedef struct {
    ngx_atomic_t                 counters[NGX_HTTP_ZAE_LIMIT_M_LAST];
    ngx_atomic_t                 op_ok[NGX_HTTP_ZAE_LIMIT_OP_LAST];
    ngx_atomic_t                 op_fail[NGX_HTTP_ZAE_LIMIT_OP_LAST];
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
    ngx_queue_t                  deltas_queue;
    ngx_uint_t                   ndeltas;
    ngx_http_zae_limit_metrics_t metrics;
} ngx_http_zae_limit_shctx_t;


typedef struct {
    ngx_http_zae_limit_shctx_t  *sh;
    ngx_slab_pool_t             *shpool;
    ngx_uint_t                   max_deltas;
} ngx_http_zae_limit_shm_t;


/* a pending reconciliation delta of one limit of one bucket */

typedef struct {
    ngx_str_t                    name;
    int64_t                      delta;      /* millitokens consumed */
} ngx_http_zae_limit_delta_t;


typedef struct {
    ngx_str_t                    pk;         /* the bucket's partition key */
    ngx_array_t                  limits;     /* ngx_http_zae_limit_delta_t */
} ngx_http_zae_limit_bucket_delta_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t    *value;      /* NULL: constant amount */
    int64_t                      amount;
} ngx_http_zae_limit_consume_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t     value;
} ngx_http_zae_limit_reconcile_t;


typedef struct {
    ngx_str_t                    table;
    ngx_str_t                    namespace;
    ngx_shm_zone_t              *shm_zone;
    ngx_http_zae_limit_ddb_conf_t  ddb_conf;
    ngx_http_zae_limit_ddb_t    *ddb;
    ngx_msec_t                   config_ttl;
    ngx_msec_t                   flush_interval;
    ngx_uint_t                   max_deltas;
    ngx_uint_t                   configured;  /* unsigned configured:1; */
} ngx_http_zae_limit_main_conf_t;


typedef struct {
    ngx_http_complex_value_t    *entity;
    ngx_http_complex_value_t    *resource;
    ngx_array_t                 *consume;     /* consume_t */
    zae_limits_t                *limits;      /* inline fallback */
    ngx_array_t                 *reconcile;   /* reconcile_t */
    ngx_http_complex_value_t    *namespace;
    ngx_uint_t                   on_unavailable;
    ngx_uint_t                   status_code;
    ngx_uint_t                   limit_log_level;
    ngx_flag_t                   dry_run;
    ngx_flag_t                   headers;
    ngx_flag_t                   rollback;
} ngx_http_zae_limit_loc_conf_t;


extern ngx_module_t  ngx_http_zae_limit_module;


/* shared memory: ngx_http_zae_limit_shm.c */

ngx_int_t ngx_http_zae_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_http_zae_limit_cache_get(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key, u_char *buf, size_t size, size_t *len);
ngx_int_t ngx_http_zae_limit_cache_put(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key, u_char *value, size_t len, ngx_msec_t ttl);
void ngx_http_zae_limit_cache_delete(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key);
ngx_int_t ngx_http_zae_limit_delta_add(ngx_shm_zone_t *zone, ngx_str_t *pk,
    ngx_str_t *name, int64_t delta);
ngx_array_t *ngx_http_zae_limit_delta_take(ngx_shm_zone_t *zone,
    ngx_pool_t *pool, ngx_uint_t max);
ngx_uint_t ngx_http_zae_limit_delta_pending(ngx_shm_zone_t *zone);
void ngx_http_zae_limit_metric_add(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_metric_e m, ngx_atomic_int_t n);
void ngx_http_zae_limit_metric_call(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_ddb_call_t *call);
ngx_int_t ngx_http_zae_limit_metrics_handler(ngx_http_request_t *r);


/* request processing: ngx_http_zae_limit_handler.c */

ngx_int_t ngx_http_zae_limit_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_zae_limit_log_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_zae_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_retry_after_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_zae_limit_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_zae_limit_init_worker(ngx_cycle_t *cycle);
void ngx_http_zae_limit_exit_worker(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_ZAE_LIMIT_MODULE_H_INCLUDED_ */
