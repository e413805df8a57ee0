
/*
 * Copyright (C) zae-limit authors
 *
 * The zone's nodes, for the files that keep records in it: the cache
 * (ngx_http_zae_limit_shm.c, which owns the nodes) and the pending
 * deltas (ngx_http_zae_limit_deltas.c).  A node is the rbtree node's
 * key (crc32 of type and key) followed by this header, the key and the
 * value; the functions are called with the zone locked.
 */


#ifndef _NGX_HTTP_ZAE_LIMIT_SHM_H_INCLUDED_
#define _NGX_HTTP_ZAE_LIMIT_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_zae_limit_module.h"


#define NGX_HTTP_ZAE_LIMIT_C_DELTA   255


typedef struct {
    u_char                       color;
    u_char                       type;
    u_short                      klen;
    uint32_t                     vlen;
    ngx_queue_t                  queue;
    ngx_msec_t                   expire;
    u_char                       data[1];    /* key, aligned, value */
} ngx_http_zae_limit_node_t;


#define ngx_http_zae_limit_node_value(zn)                                    \
    ((zn)->data + ngx_align((zn)->klen, 8))


static ngx_inline uint32_t
ngx_http_zae_limit_hash(ngx_uint_t type, ngx_str_t *key)
{
    uint32_t  crc;
    u_char    t;

    t = (u_char) type;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, &t, 1);
    ngx_crc32_update(&crc, key->data, key->len);
    ngx_crc32_final(crc);

    return crc;
}


ngx_http_zae_limit_node_t *ngx_http_zae_limit_lookup(ngx_rbtree_t *tree,
    ngx_uint_t type, ngx_str_t *key, uint32_t hash);
ngx_http_zae_limit_node_t *ngx_http_zae_limit_node_alloc(
    ngx_http_zae_limit_shm_t *shm, ngx_uint_t type, ngx_str_t *key,
    uint32_t hash, size_t vlen);
ngx_http_zae_limit_node_t *ngx_http_zae_limit_node_alloc_evict(
    ngx_http_zae_limit_shm_t *shm, ngx_uint_t type, ngx_str_t *key,
    uint32_t hash, size_t vlen);
ngx_int_t ngx_http_zae_limit_make_room(ngx_http_zae_limit_shm_t *shm);
ngx_int_t ngx_http_zae_limit_lease_reclaim(ngx_http_zae_limit_shm_t *shm);
void ngx_http_zae_limit_node_free(ngx_http_zae_limit_shm_t *shm,
    ngx_rbtree_t *tree, ngx_http_zae_limit_node_t *zn);
void ngx_http_zae_limit_node_insert(ngx_rbtree_t *tree, ngx_queue_t *queue,
    ngx_http_zae_limit_node_t *zn);


#endif /* _NGX_HTTP_ZAE_LIMIT_SHM_H_INCLUDED_ */
