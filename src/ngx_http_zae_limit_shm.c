
/*
 * Copyright (C) zae-limit authors
 *
 * The shared zone: what all workers must agree on.  Every record is one
 * node type in an rbtree keyed by crc32(type, key), with a queue
 * (ngx_http_zae_limit_shm.h).  This file has the zone, its nodes and the
 * cache: its tree and LRU queue hold namespace ids, resolved limit
 * configs, entity facts and rejections, each with an expiry.  The
 * pending deltas are in ngx_http_zae_limit_deltas.c, the metrics
 * counters (in the zone header) in ngx_http_zae_limit_metrics.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "ngx_http_zae_limit_shm.h"


static void ngx_http_zae_limit_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_zae_limit_expire(ngx_http_zae_limit_shm_t *shm,
    ngx_uint_t n);
static ngx_http_zae_limit_node_t *ngx_http_zae_limit_cache_find(
    ngx_http_zae_limit_shm_t *shm, ngx_uint_t type, ngx_str_t *key);


static ngx_int_t
ngx_http_zae_limit_node_cmp(ngx_uint_t type, u_char *key, size_t klen,
    ngx_http_zae_limit_node_t *zn)
{
    ngx_int_t  rc;

    rc = (ngx_int_t) type - (ngx_int_t) zn->type;

    if (rc == 0) {
        rc = ngx_memn2cmp(key, zn->data, klen, zn->klen);
    }

    return rc;
}


static void
ngx_http_zae_limit_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_zae_limit_node_t   *zn;

    zn = (ngx_http_zae_limit_node_t *) &node->color;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */

            p = (ngx_http_zae_limit_node_cmp(zn->type, zn->data, zn->klen,
                     (ngx_http_zae_limit_node_t *) &temp->color) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_int_t
ngx_http_zae_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_zae_limit_shm_t  *oshm = data;

    size_t                     len;
    ngx_time_t                *tp;
    ngx_http_zae_limit_shm_t  *shm;

    shm = shm_zone->data;

    /*
     * a reload that keeps the zone: the new workers take the pending
     * deltas over, the exiting ones stop taking them (their generation
     * is older)
     */

    if (oshm) {

        /*
         * The entries (namespace ids, configs, entities, rejections,
         * pending deltas) are keyed within one table: a reload that keeps
         * the zone but changes the table or region would use
         * the old table's ids and limits and write its deltas into the
         * new one.  Refused; another zone name starts empty, and the old
         * workers flush the old zone's deltas as they exit.
         */

        if (oshm->sh->owner.len != shm->owner.len
            || ngx_memcmp(oshm->sh->owner.data, shm->owner.data,
                          shm->owner.len) != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "zae_limit: zone \"%V\" holds the entries of "
                          "\"%V\" and cannot be reused for \"%V\": give "
                          "\"zae_limit_dynamodb\" another \"zone=\" name "
                          "when the table or region changes",
                          &shm_zone->shm.name, &oshm->sh->owner,
                          &shm->owner);
            return NGX_ERROR;
        }

        shm->sh = oshm->sh;
        shm->shpool = oshm->shpool;
        shm->sh->generation++;
        return NGX_OK;
    }

    shm->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm->sh = shm->shpool->data;
        shm->sh->generation++;
        return NGX_OK;
    }

    shm->sh = ngx_slab_calloc(shm->shpool,
                              sizeof(ngx_http_zae_limit_shctx_t));
    if (shm->sh == NULL) {
        return NGX_ERROR;
    }

    shm->shpool->data = shm->sh;

    shm->sh->owner.data = ngx_slab_alloc(shm->shpool, shm->owner.len);
    if (shm->sh->owner.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(shm->sh->owner.data, shm->owner.data, shm->owner.len);
    shm->sh->owner.len = shm->owner.len;

    ngx_rbtree_init(&shm->sh->cache, &shm->sh->cache_sentinel,
                    ngx_http_zae_limit_rbtree_insert_value);
    ngx_queue_init(&shm->sh->lru);

    ngx_rbtree_init(&shm->sh->deltas, &shm->sh->deltas_sentinel,
                    ngx_http_zae_limit_rbtree_insert_value);
    ngx_queue_init(&shm->sh->deltas_queue);
    ngx_queue_init(&shm->sh->held_queue);

    /* write ids: unique per zone, and per zone over restarts */

    ngx_time_update();
    tp = ngx_timeofday();
    shm->sh->wid_epoch = (uint64_t) tp->sec * 1000 + tp->msec;

    len = sizeof(" in zae_limit zone \"\"") + shm_zone->shm.name.len;

    shm->shpool->log_ctx = ngx_slab_alloc(shm->shpool, len);
    if (shm->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shm->shpool->log_ctx, " in zae_limit zone \"%V\"%Z",
                &shm_zone->shm.name);

    shm->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * A worker's start: the zone's configuration generation, recorded as
 * the newest one with workers.  Workers of an older generation (a reload
 * that kept the zone) leave the pending deltas to them.
 */

ngx_uint_t
ngx_http_zae_limit_zone_join(ngx_shm_zone_t *zone)
{
    ngx_uint_t                 gen;
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    gen = shm->sh->generation;

    if (shm->sh->workers_generation < gen) {
        shm->sh->workers_generation = gen;
    }

    /* a new worker: a later exit may have to say what it left */

    shm->sh->exit_logged = 0;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return gen;
}


ngx_uint_t
ngx_http_zae_limit_zone_newer(ngx_shm_zone_t *zone, ngx_uint_t gen)
{
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    return shm->sh->workers_generation > gen;
}


ngx_http_zae_limit_node_t *
ngx_http_zae_limit_lookup(ngx_rbtree_t *tree, ngx_uint_t type,
    ngx_str_t *key, uint32_t hash)
{
    ngx_int_t                   rc;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_zae_limit_node_t  *zn;

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key */

        zn = (ngx_http_zae_limit_node_t *) &node->color;

        rc = ngx_http_zae_limit_node_cmp(type, key->data, key->len, zn);

        if (rc == 0) {
            return zn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* a node not yet in any tree; called with the zone locked */

ngx_http_zae_limit_node_t *
ngx_http_zae_limit_node_alloc(ngx_http_zae_limit_shm_t *shm, ngx_uint_t type,
    ngx_str_t *key, uint32_t hash, size_t vlen)
{
    size_t                      n;
    ngx_rbtree_node_t          *node;
    ngx_http_zae_limit_node_t  *zn;

    n = offsetof(ngx_rbtree_node_t, color)
        + offsetof(ngx_http_zae_limit_node_t, data)
        + ngx_align(key->len, 8) + vlen;

    node = ngx_slab_alloc_locked(shm->shpool, n);
    if (node == NULL) {
        return NULL;
    }

    node->key = hash;

    zn = (ngx_http_zae_limit_node_t *) &node->color;

    zn->type = (u_char) type;
    zn->klen = (u_short) key->len;
    zn->vlen = (uint32_t) vlen;
    zn->expire = 0;

    ngx_memcpy(zn->data, key->data, key->len);

    return zn;
}


void
ngx_http_zae_limit_node_free(ngx_http_zae_limit_shm_t *shm,
    ngx_rbtree_t *tree, ngx_http_zae_limit_node_t *zn)
{
    ngx_rbtree_node_t  *node;

    node = (ngx_rbtree_node_t *)
               ((u_char *) zn - offsetof(ngx_rbtree_node_t, color));

    ngx_queue_remove(&zn->queue);
    ngx_rbtree_delete(tree, node);
    ngx_slab_free_locked(shm->shpool, node);
}


void
ngx_http_zae_limit_node_insert(ngx_rbtree_t *tree, ngx_queue_t *queue,
    ngx_http_zae_limit_node_t *zn)
{
    ngx_rbtree_node_t  *node;

    node = (ngx_rbtree_node_t *)
               ((u_char *) zn - offsetof(ngx_rbtree_node_t, color));

    ngx_rbtree_insert(tree, node);
    ngx_queue_insert_head(queue, &zn->queue);
}


/* drop up to n expired entries from the LRU tail; n == 0: the oldest */

static void
ngx_http_zae_limit_expire(ngx_http_zae_limit_shm_t *shm, ngx_uint_t n)
{
    ngx_uint_t                  i;
    ngx_queue_t                *q;
    ngx_http_zae_limit_node_t  *zn;

    for (i = 0; i < (n ? n : 1); i++) {

        if (ngx_queue_empty(&shm->sh->lru)) {
            return;
        }

        q = ngx_queue_last(&shm->sh->lru);
        zn = ngx_queue_data(q, ngx_http_zae_limit_node_t, queue);

        if (n && (ngx_msec_int_t) (zn->expire - ngx_current_msec) > 0) {
            return;
        }

        ngx_http_zae_limit_node_free(shm, &shm->sh->cache, zn);
    }
}


/*
 * A node, room made if needed by dropping cache entries, oldest first,
 * expired or not, as many as it takes.  The cache and the delta queue
 * share the zone: a cache entry costs a read to rebuild, a pending delta
 * cannot be rebuilt, so the cache always yields.  Called with the zone
 * locked.
 */

ngx_http_zae_limit_node_t *
ngx_http_zae_limit_node_alloc_evict(ngx_http_zae_limit_shm_t *shm,
    ngx_uint_t type, ngx_str_t *key, uint32_t hash, size_t vlen)
{
    ngx_http_zae_limit_node_t  *zn;

    for ( ;; ) {
        zn = ngx_http_zae_limit_node_alloc(shm, type, key, hash, vlen);

        if (zn != NULL || ngx_http_zae_limit_make_room(shm) != NGX_OK) {
            return zn;
        }
    }
}


/*
 * Frees one entry that can be rebuilt: the oldest cache entry, else the
 * least recently used lease node that holds no tokens and has no refill
 * in flight (a lease holding tokens is never freed: they go back
 * first).  NGX_DECLINED: nothing to free.  Called with the zone locked.
 */

ngx_int_t
ngx_http_zae_limit_make_room(ngx_http_zae_limit_shm_t *shm)
{
    if (ngx_queue_empty(&shm->sh->lru)
        && ngx_http_zae_limit_lease_reclaim(shm) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (!ngx_queue_empty(&shm->sh->lru)) {
        ngx_http_zae_limit_expire(shm, 0);
    }

    (void) ngx_atomic_fetch_add(
            &shm->sh->metrics.counters[NGX_HTTP_ZAE_LIMIT_M_ZONE_EVICTIONS],
            1);

    return NGX_OK;
}


/* a key's cache node, expired or not; called with the zone locked */

static ngx_http_zae_limit_node_t *
ngx_http_zae_limit_cache_find(ngx_http_zae_limit_shm_t *shm, ngx_uint_t type,
    ngx_str_t *key)
{
    return ngx_http_zae_limit_lookup(&shm->sh->cache, type, key,
                                     ngx_http_zae_limit_hash(type, key));
}


ngx_int_t
ngx_http_zae_limit_cache_get(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key, u_char *buf, size_t size, size_t *len)
{
    ngx_int_t                   rc;
    ngx_http_zae_limit_shm_t   *shm;
    ngx_http_zae_limit_node_t  *zn;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    zn = ngx_http_zae_limit_cache_find(shm, type, key);

    if (zn == NULL) {
        rc = NGX_DECLINED;

    } else if ((ngx_msec_int_t) (zn->expire - ngx_current_msec) <= 0) {
        ngx_http_zae_limit_node_free(shm, &shm->sh->cache, zn);
        rc = NGX_DECLINED;

    } else if (zn->vlen > size) {
        rc = NGX_DECLINED;

    } else {
        ngx_memcpy(buf, ngx_http_zae_limit_node_value(zn), zn->vlen);
        *len = zn->vlen;

        ngx_queue_remove(&zn->queue);
        ngx_queue_insert_head(&shm->sh->lru, &zn->queue);

        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_zae_limit_cache_put(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key, u_char *value, size_t len, ngx_msec_t ttl)
{
    uint32_t                    hash;
    ngx_http_zae_limit_shm_t   *shm;
    ngx_http_zae_limit_node_t  *zn;

    if (key->len > 65535 || len > 65535 || ttl == 0) {
        return NGX_DECLINED;
    }

    shm = zone->data;
    hash = ngx_http_zae_limit_hash(type, key);

    ngx_shmtx_lock(&shm->shpool->mutex);

    zn = ngx_http_zae_limit_lookup(&shm->sh->cache, type, key, hash);

    if (zn) {
        ngx_http_zae_limit_node_free(shm, &shm->sh->cache, zn);
    }

    ngx_http_zae_limit_expire(shm, 2);

    zn = ngx_http_zae_limit_node_alloc_evict(shm, type, key, hash, len);

    if (zn == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);

        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "zae_limit: could not allocate cache node%s",
                      shm->shpool->log_ctx);
        return NGX_ERROR;
    }

    zn->expire = ngx_current_msec + ttl;
    ngx_memcpy(ngx_http_zae_limit_node_value(zn), value, len);

    ngx_http_zae_limit_node_insert(&shm->sh->cache, &shm->sh->lru, zn);

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_zae_limit_cache_delete(ngx_shm_zone_t *zone, ngx_uint_t type,
    ngx_str_t *key)
{
    ngx_http_zae_limit_shm_t   *shm;
    ngx_http_zae_limit_node_t  *zn;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    zn = ngx_http_zae_limit_cache_find(shm, type, key);
    if (zn) {
        ngx_http_zae_limit_node_free(shm, &shm->sh->cache, zn);
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}
