
/*
 * Copyright (C) zae-limit authors
 *
 * The shared zone: what all workers must agree on.  Every record is one
 * node type in an rbtree keyed by crc32(type, key), with a queue:
 *
 *   - the cache tree and its LRU queue hold namespace ids, resolved
 *     limit configs, entity facts and rejections, each with an expiry;
 *   - the delta tree and its FIFO queue coalesce pending reconciliation
 *     deltas per bucket (one slot per limit) until a worker's flush
 *     timer writes them.
 *
 * The metrics counters live in the zone header.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

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


/* the value of a delta node: one slot per limit */

typedef struct {
    int64_t                      delta;
    u_char                       len;
    u_char                       name[ZAE_NAME_MAX_LEN];
} ngx_http_zae_limit_slot_t;


static void ngx_http_zae_limit_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_zae_limit_node_t *ngx_http_zae_limit_lookup(
    ngx_rbtree_t *tree, ngx_uint_t type, ngx_str_t *key, uint32_t hash);
static ngx_http_zae_limit_node_t *ngx_http_zae_limit_node_alloc(
    ngx_http_zae_limit_shm_t *shm, ngx_uint_t type, ngx_str_t *key,
    uint32_t hash, size_t vlen);
static void ngx_http_zae_limit_node_free(ngx_http_zae_limit_shm_t *shm,
    ngx_rbtree_t *tree, ngx_http_zae_limit_node_t *zn);
static void ngx_http_zae_limit_expire(ngx_http_zae_limit_shm_t *shm,
    ngx_uint_t n);
static ngx_http_zae_limit_node_t *ngx_http_zae_limit_node_alloc_evict(
    ngx_http_zae_limit_shm_t *shm, ngx_uint_t type, ngx_str_t *key,
    uint32_t hash, size_t vlen);


static uint32_t
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
    ngx_http_zae_limit_shm_t  *shm;

    shm = shm_zone->data;

    if (oshm) {

        /*
         * The entries (namespace ids, configs, entities, rejections,
         * pending deltas) are keyed within one table: a reload that keeps
         * the zone but changes the table, region or endpoint would use
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
                          "when the table, region or endpoint changes",
                          &shm_zone->shm.name, &oshm->sh->owner,
                          &shm->owner);
            return NGX_ERROR;
        }

        shm->sh = oshm->sh;
        shm->shpool = oshm->shpool;
        return NGX_OK;
    }

    shm->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm->sh = shm->shpool->data;
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


static ngx_http_zae_limit_node_t *
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

static ngx_http_zae_limit_node_t *
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


static void
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


static void
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

static ngx_http_zae_limit_node_t *
ngx_http_zae_limit_node_alloc_evict(ngx_http_zae_limit_shm_t *shm,
    ngx_uint_t type, ngx_str_t *key, uint32_t hash, size_t vlen)
{
    ngx_http_zae_limit_node_t  *zn;

    for ( ;; ) {
        zn = ngx_http_zae_limit_node_alloc(shm, type, key, hash, vlen);

        if (zn != NULL || ngx_queue_empty(&shm->sh->lru)) {
            return zn;
        }

        ngx_http_zae_limit_expire(shm, 0);

        (void) ngx_atomic_fetch_add(
                &shm->sh->metrics.counters[NGX_HTTP_ZAE_LIMIT_M_ZONE_EVICTIONS],
                1);
    }
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

    zn = ngx_http_zae_limit_lookup(&shm->sh->cache, type, key,
                                   ngx_http_zae_limit_hash(type, key));

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

    zn = ngx_http_zae_limit_lookup(&shm->sh->cache, type, key,
                                   ngx_http_zae_limit_hash(type, key));
    if (zn) {
        ngx_http_zae_limit_node_free(shm, &shm->sh->cache, zn);
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/*
 * Adds delta tokens of limit "name" to the pending delta of the bucket
 * "pk".  NGX_DECLINED: the queue is full or the zone has no room; the
 * caller counts and logs the loss.
 */

ngx_int_t
ngx_http_zae_limit_delta_add(ngx_shm_zone_t *zone, ngx_str_t *pk,
    ngx_str_t *name, int64_t delta)
{
    size_t                      n;
    uint32_t                    hash;
    ngx_uint_t                  i;
    ngx_http_zae_limit_shm_t   *shm;
    ngx_http_zae_limit_node_t  *zn, *grown;
    ngx_http_zae_limit_slot_t  *slot;

    if (delta == 0) {
        return NGX_OK;
    }

    if (pk->len > 65535 || name->len > ZAE_NAME_MAX_LEN) {
        return NGX_DECLINED;
    }

    shm = zone->data;
    hash = ngx_http_zae_limit_hash(NGX_HTTP_ZAE_LIMIT_C_DELTA, pk);

    ngx_shmtx_lock(&shm->shpool->mutex);

    zn = ngx_http_zae_limit_lookup(&shm->sh->deltas,
                                   NGX_HTTP_ZAE_LIMIT_C_DELTA, pk, hash);

    n = zn ? zn->vlen / sizeof(ngx_http_zae_limit_slot_t) : 0;

    if (zn) {
        slot = (ngx_http_zae_limit_slot_t *)
                   ngx_http_zae_limit_node_value(zn);

        for (i = 0; i < n; i++) {
            if (slot[i].len == name->len
                && ngx_memcmp(slot[i].name, name->data, name->len) == 0)
            {
                slot[i].delta += delta;
                ngx_shmtx_unlock(&shm->shpool->mutex);
                return NGX_OK;
            }
        }

        if (n > ZAE_LIMITS_MAX) {
            goto full;
        }

    } else if (shm->sh->ndeltas >= shm->max_deltas) {
        goto full;
    }

    /* a new bucket, or a limit new to the bucket: a node with one more slot */

    grown = ngx_http_zae_limit_node_alloc_evict(shm,
                                NGX_HTTP_ZAE_LIMIT_C_DELTA, pk, hash,
                                (n + 1) * sizeof(ngx_http_zae_limit_slot_t));
    if (grown == NULL) {
        goto full;
    }

    slot = (ngx_http_zae_limit_slot_t *) ngx_http_zae_limit_node_value(grown);

    if (zn) {
        ngx_memcpy(slot, ngx_http_zae_limit_node_value(zn), zn->vlen);

        /* keep its place in the queue */

        ngx_queue_insert_after(&zn->queue, &grown->queue);
        ngx_queue_remove(&zn->queue);
        ngx_queue_init(&zn->queue);
        ngx_http_zae_limit_node_free(shm, &shm->sh->deltas, zn);

        ngx_rbtree_insert(&shm->sh->deltas, (ngx_rbtree_node_t *)
                          ((u_char *) grown
                           - offsetof(ngx_rbtree_node_t, color)));

    } else {
        ngx_http_zae_limit_node_insert(&shm->sh->deltas,
                                       &shm->sh->deltas_queue, grown);

        /* FIFO: the oldest bucket is flushed first */

        ngx_queue_remove(&grown->queue);
        ngx_queue_insert_tail(&shm->sh->deltas_queue, &grown->queue);

        shm->sh->ndeltas++;
    }

    slot[n].delta = delta;
    slot[n].len = (u_char) name->len;
    ngx_memcpy(slot[n].name, name->data, name->len);

    shm->sh->metrics.pending = shm->sh->ndeltas;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return NGX_OK;

full:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return NGX_DECLINED;
}


/*
 * Takes up to max pending bucket deltas, oldest first, out of the zone
 * into pool memory: an array of ngx_http_zae_limit_bucket_delta_t.
 */

ngx_array_t *
ngx_http_zae_limit_delta_take(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    ngx_uint_t max)
{
    ngx_uint_t                          i, n, nslots;
    ngx_array_t                        *out;
    ngx_queue_t                        *q;
    ngx_http_zae_limit_shm_t           *shm;
    ngx_http_zae_limit_node_t          *zn;
    ngx_http_zae_limit_slot_t          *slot;
    ngx_http_zae_limit_delta_t         *d;
    ngx_http_zae_limit_bucket_delta_t  *bd;

    shm = zone->data;

    out = ngx_array_create(pool, 8, sizeof(ngx_http_zae_limit_bucket_delta_t));
    if (out == NULL) {
        return NULL;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    for (n = 0; n < max && !ngx_queue_empty(&shm->sh->deltas_queue); n++) {

        q = ngx_queue_head(&shm->sh->deltas_queue);
        zn = ngx_queue_data(q, ngx_http_zae_limit_node_t, queue);

        nslots = zn->vlen / sizeof(ngx_http_zae_limit_slot_t);
        slot = (ngx_http_zae_limit_slot_t *) ngx_http_zae_limit_node_value(zn);

        bd = ngx_array_push(out);
        if (bd == NULL) {
            break;
        }

        bd->pk.data = ngx_pnalloc(pool, zn->klen);
        if (bd->pk.data == NULL
            || ngx_array_init(&bd->limits, pool, nslots,
                              sizeof(ngx_http_zae_limit_delta_t))
               != NGX_OK)
        {
            out->nelts--;
            break;
        }

        bd->pk.len = zn->klen;
        ngx_memcpy(bd->pk.data, zn->data, zn->klen);

        for (i = 0; i < nslots; i++) {
            if (slot[i].delta == 0) {
                continue;
            }

            d = ngx_array_push(&bd->limits);
            if (d == NULL) {
                break;
            }

            d->name.data = ngx_pnalloc(pool, slot[i].len);
            if (d->name.data == NULL) {
                bd->limits.nelts--;
                break;
            }

            d->name.len = slot[i].len;
            ngx_memcpy(d->name.data, slot[i].name, slot[i].len);
            d->delta = slot[i].delta;
        }

        if (i < nslots) {

            /* out of pool memory: leave this bucket for the next flush */

            out->nelts--;
            break;
        }

        ngx_http_zae_limit_node_free(shm, &shm->sh->deltas, zn);
        shm->sh->ndeltas--;
    }

    shm->sh->metrics.pending = shm->sh->ndeltas;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return out;
}


ngx_uint_t
ngx_http_zae_limit_delta_pending(ngx_shm_zone_t *zone)
{
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    return shm->sh->ndeltas;
}


void
ngx_http_zae_limit_metric_add(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_metric_e m, ngx_atomic_int_t n)
{
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    (void) ngx_atomic_fetch_add(&shm->sh->metrics.counters[m], n);
}


static ngx_int_t
ngx_http_zae_limit_op_index(ngx_str_t *op)
{
    static ngx_str_t  ops[] = {
        ngx_string("GetItem"),
        ngx_string("BatchGetItem"),
        ngx_string("PutItem"),
        ngx_string("UpdateItem"),
        ngx_string("TransactWriteItems")
    };

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_OP_LAST; i++) {
        if (ops[i].len == op->len
            && ngx_strncmp(ops[i].data, op->data, op->len) == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


static ngx_msec_t  ngx_http_zae_limit_latency_bounds[] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000
};


void
ngx_http_zae_limit_metric_call(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_int_t                      op;
    ngx_uint_t                     i;
    ngx_http_zae_limit_shm_t      *shm;
    ngx_http_zae_limit_metrics_t  *m;

    shm = zone->data;
    m = &shm->sh->metrics;

    op = ngx_http_zae_limit_op_index(&call->op);

    if (op != NGX_ERROR) {
        if (call->rc == NGX_OK) {
            (void) ngx_atomic_fetch_add(&m->op_ok[op], 1);

        } else {
            (void) ngx_atomic_fetch_add(&m->op_fail[op], 1);
        }
    }

    if (call->rc != NGX_OK) {
        (void) ngx_atomic_fetch_add(
                   &m->counters[NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_ERROR], 1);

    } else if (call->status >= 200 && call->status < 300) {
        (void) ngx_atomic_fetch_add(
                   &m->counters[NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_OK], 1);

    } else {
        (void) ngx_atomic_fetch_add(
                  &m->counters[NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_CONDITIONAL], 1);
    }

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS; i++) {
        if (call->latency <= ngx_http_zae_limit_latency_bounds[i]) {
            (void) ngx_atomic_fetch_add(&m->latency[i], 1);
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->latency_count, 1);
    (void) ngx_atomic_fetch_add(&m->latency_sum, call->latency);
}


typedef struct {
    ngx_http_zae_limit_metric_e   metric;
    char                         *name;
    char                         *labels;
    char                         *help;
} ngx_http_zae_limit_metric_desc_t;


static ngx_http_zae_limit_metric_desc_t  ngx_http_zae_limit_metric_descs[] = {
    { NGX_HTTP_ZAE_LIMIT_M_PASSED, "zae_limit_requests_total",
      "outcome=\"passed\"", "requests by outcome" },
    { NGX_HTTP_ZAE_LIMIT_M_REJECTED, "zae_limit_requests_total",
      "outcome=\"rejected\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_REJECTED_DRY_RUN, "zae_limit_requests_total",
      "outcome=\"rejected_dry_run\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_ALLOWED, "zae_limit_requests_total",
      "outcome=\"unavailable_allowed\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_BLOCKED, "zae_limit_requests_total",
      "outcome=\"unavailable_blocked\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_SKIPPED, "zae_limit_requests_total",
      "outcome=\"skipped\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_INVALID, "zae_limit_requests_total",
      "outcome=\"invalid\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_NO_LIMITS, "zae_limit_requests_total",
      "outcome=\"no_limits\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_REJECT_CACHE_HITS,
      "zae_limit_rejection_cache_hits_total", NULL,
      "rejections answered from the shared rejection cache" },
    { NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_HITS,
      "zae_limit_config_cache_total", "result=\"hit\"",
      "limit config lookups in the shared cache" },
    { NGX_HTTP_ZAE_LIMIT_M_CONFIG_CACHE_MISSES,
      "zae_limit_config_cache_total", "result=\"miss\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_OK, "zae_limit_dynamodb_results_total",
      "result=\"ok\"", "DynamoDB calls by result" },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_CONDITIONAL,
      "zae_limit_dynamodb_results_total", "result=\"client_error\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_CALLS_ERROR,
      "zae_limit_dynamodb_results_total", "result=\"failed\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DELTAS_QUEUED,
      "zae_limit_reconcile_deltas_total", "state=\"queued\"",
      "reconciliation and rollback deltas" },
    { NGX_HTTP_ZAE_LIMIT_M_DELTAS_FLUSHED,
      "zae_limit_reconcile_deltas_total", "state=\"flushed\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED,
      "zae_limit_reconcile_deltas_total", "state=\"dropped\"", NULL },
    { NGX_HTTP_ZAE_LIMIT_M_FLUSH_WRITES, "zae_limit_flush_writes_total",
      NULL, "UpdateItem calls written by the flush timer" },
    { NGX_HTTP_ZAE_LIMIT_M_FLUSH_ERRORS, "zae_limit_flush_errors_total",
      NULL, "flush writes that failed and were queued again" },
    { NGX_HTTP_ZAE_LIMIT_M_ROLLBACKS, "zae_limit_rollbacks_total", NULL,
      "initial consumptions given back after an upstream failure" },
    { NGX_HTTP_ZAE_LIMIT_M_RECONCILE_INVALID,
      "zae_limit_reconcile_invalid_total", NULL,
      "missing or invalid reconciliation values (estimate kept)" },
    { NGX_HTTP_ZAE_LIMIT_M_UNAVAILABLE_EVENTS,
      "zae_limit_unavailable_total", NULL,
      "acquires that could not reach DynamoDB" },
    { NGX_HTTP_ZAE_LIMIT_M_UNLIMITED_CONSUMES,
      "zae_limit_unlimited_consumes_total", NULL,
      "consumed limits that no level defines (not limited)" },
    { NGX_HTTP_ZAE_LIMIT_M_ZONE_EVICTIONS,
      "zae_limit_zone_evictions_total", NULL,
      "cache entries dropped, oldest first, to make room in the zone" },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_BUSY,
      "zae_limit_dynamodb_busy_total", NULL,
      "calls refused at once: max_connections in use, max_waiting waiting" }
};


ngx_int_t
ngx_http_zae_limit_metrics_handler(ngx_http_request_t *r)
{
    size_t                           size;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_uint_t                       i;
    ngx_atomic_uint_t                cum;
    ngx_chain_t                      out;
    ngx_http_zae_limit_shm_t        *shm;
    ngx_http_zae_limit_metrics_t    *m;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    static char  *ops[] = {
        "GetItem", "BatchGetItem", "PutItem", "UpdateItem",
        "TransactWriteItems"
    };

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    zmcf = ngx_http_get_module_main_conf(r, ngx_http_zae_limit_module);

    if (zmcf->shm_zone == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    shm = zmcf->shm_zone->data;
    m = &shm->sh->metrics;

    size = 16384;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_M_LAST; i++) {
        ngx_http_zae_limit_metric_desc_t  *d;

        d = &ngx_http_zae_limit_metric_descs[i];

        if (d->help) {
            b->last = ngx_slprintf(b->last, b->end,
                                   "# HELP %s %s\n# TYPE %s counter\n",
                                   d->name, d->help, d->name);
        }

        if (d->labels) {
            b->last = ngx_slprintf(b->last, b->end, "%s{%s} %uA\n",
                                   d->name, d->labels,
                                   m->counters[d->metric]);

        } else {
            b->last = ngx_slprintf(b->last, b->end, "%s %uA\n",
                                   d->name, m->counters[d->metric]);
        }
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_dynamodb_calls_total "
                           "DynamoDB calls by operation and result\n"
                           "# TYPE zae_limit_dynamodb_calls_total counter\n");

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_OP_LAST; i++) {
        b->last = ngx_slprintf(b->last, b->end,
                               "zae_limit_dynamodb_calls_total"
                               "{operation=\"%s\",result=\"ok\"} %uA\n"
                               "zae_limit_dynamodb_calls_total"
                               "{operation=\"%s\",result=\"failed\"} %uA\n",
                               ops[i], m->op_ok[i], ops[i], m->op_fail[i]);
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_dynamodb_latency_ms "
                           "DynamoDB call latency, retries included\n"
                           "# TYPE zae_limit_dynamodb_latency_ms histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS; i++) {
        cum += m->latency[i];
        b->last = ngx_slprintf(b->last, b->end,
                               "zae_limit_dynamodb_latency_ms_bucket"
                               "{le=\"%M\"} %uA\n",
                               ngx_http_zae_limit_latency_bounds[i], cum);
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "zae_limit_dynamodb_latency_ms_bucket"
                           "{le=\"+Inf\"} %uA\n"
                           "zae_limit_dynamodb_latency_ms_sum %uA\n"
                           "zae_limit_dynamodb_latency_ms_count %uA\n"
                           "# HELP zae_limit_reconcile_pending "
                           "buckets with pending deltas\n"
                           "# TYPE zae_limit_reconcile_pending gauge\n"
                           "zae_limit_reconcile_pending %uA\n",
                           m->latency_count, m->latency_sum,
                           m->latency_count, m->pending);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
