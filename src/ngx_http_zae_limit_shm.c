
/*
 * Copyright (C) zae-limit authors
 *
 * The shared zone: what all workers must agree on.  Every record is one
 * node type in an rbtree keyed by crc32(type, key), with a queue:
 *
 *   - the cache tree and its LRU queue hold namespace ids, resolved
 *     limit configs, entity facts and rejections, each with an expiry;
 *   - the delta tree coalesces pending reconciliation deltas per bucket
 *     (one slot per limit) until a worker's flush timer writes them;
 *     buckets waiting for a write are in a FIFO queue, buckets with a
 *     write in flight or in doubt in a second queue.
 *
 * The metrics counters live in the zone header.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_version.h"


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


/* the zone's key of a bucket: its parts, see ngx_http_zae_limit_bkey_t */

ngx_int_t
ngx_http_zae_limit_bucket_key(ngx_pool_t *pool, zae_bucket_ref_t *ref,
    ngx_str_t *key)
{
    u_char                     *p;
    ngx_http_zae_limit_bkey_t   bk;

    if (ref->ns.len > 65535 || ref->entity_id.len > 65535
        || ref->resource.len > 65535)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&bk, sizeof(ngx_http_zae_limit_bkey_t));

    bk.shard = ref->shard;
    bk.ns_len = (u_short) ref->ns.len;
    bk.entity_len = (u_short) ref->entity_id.len;
    bk.resource_len = (u_short) ref->resource.len;

    key->len = sizeof(ngx_http_zae_limit_bkey_t) + ref->ns.len
               + ref->entity_id.len + ref->resource.len;

    if (key->len > 65535) {
        return NGX_ERROR;
    }

    key->data = ngx_pnalloc(pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, &bk, sizeof(ngx_http_zae_limit_bkey_t));
    p = ngx_cpymem(p, ref->ns.data, ref->ns.len);
    p = ngx_cpymem(p, ref->entity_id.data, ref->entity_id.len);
    ngx_memcpy(p, ref->resource.data, ref->resource.len);

    return NGX_OK;
}


/* the parts of a key made by ngx_http_zae_limit_bucket_key(), in place */

void
ngx_http_zae_limit_bucket_ref(ngx_str_t *key, zae_bucket_ref_t *ref)
{
    u_char                     *p;
    ngx_http_zae_limit_bkey_t   bk;

    ngx_memcpy(&bk, key->data, sizeof(ngx_http_zae_limit_bkey_t));

    p = key->data + sizeof(ngx_http_zae_limit_bkey_t);

    ref->shard = bk.shard;
    ref->ns.data = p;
    ref->ns.len = bk.ns_len;
    ref->entity_id.data = p + bk.ns_len;
    ref->entity_id.len = bk.entity_len;
    ref->resource.data = p + bk.ns_len + bk.entity_len;
    ref->resource.len = bk.resource_len;
}


/*
 * A bucket with deltas not written yet.  Each limit has two amounts:
 * "pending", what requests added since the last write was taken, and
 * "held", the amounts of the write in flight or in doubt.  A held write
 * keeps its id and its amounts until DynamoDB settles it (applied, or
 * refused by its id's condition because it was applied before); deltas
 * that arrive meanwhile go to "pending" and are never merged into it.
 * So a bucket has at most one write id in flight or in doubt at a time,
 * and a retry of an in-doubt write cannot follow a later write of the
 * same writer (docs/design.md, "The flush timer").
 */

#define NGX_HTTP_ZAE_LIMIT_D_IDLE    0
#define NGX_HTTP_ZAE_LIMIT_D_FLIGHT  1   /* a worker is writing it */
#define NGX_HTTP_ZAE_LIMIT_D_DOUBT   2   /* failed, may have been applied */

/* per-bucket sums saturate here: a billion times a write's maximum */
#define NGX_HTTP_ZAE_LIMIT_SUM_MAX   (ZAE_TOKENS_MAX * 1000000)


typedef struct {
    ngx_msec_t                   since;         /* the oldest delta not
                                                   written */
    ngx_msec_t                   pending_since;
    ngx_msec_t                   started;       /* FLIGHT: taken at */
    ngx_msec_t                   retry_at;      /* DOUBT: not before */
    uint64_t                     wid;
    ngx_pid_t                    owner;         /* FLIGHT: the writer */
    u_char                       state;
    u_char                       tries;
} ngx_http_zae_limit_dhead_t;


typedef struct {
    int64_t                      pending;
    int64_t                      held;
    u_char                       len;
    u_char                       name[ZAE_NAME_MAX_LEN];
} ngx_http_zae_limit_slot_t;


#define ngx_http_zae_limit_dhead(zn)                                         \
    ((ngx_http_zae_limit_dhead_t *) ngx_http_zae_limit_node_value(zn))

#define ngx_http_zae_limit_dslots(zn)                                        \
    ((ngx_http_zae_limit_slot_t *)                                           \
         (ngx_http_zae_limit_node_value(zn)                                  \
          + sizeof(ngx_http_zae_limit_dhead_t)))

#define ngx_http_zae_limit_dnslots(zn)                                       \
    (((zn)->vlen - sizeof(ngx_http_zae_limit_dhead_t))                       \
     / sizeof(ngx_http_zae_limit_slot_t))


static ngx_uint_t
ngx_http_zae_limit_has_pending(ngx_http_zae_limit_node_t *zn)
{
    ngx_uint_t                  i, n;
    ngx_http_zae_limit_slot_t  *slot;

    n = ngx_http_zae_limit_dnslots(zn);
    slot = ngx_http_zae_limit_dslots(zn);

    for (i = 0; i < n; i++) {
        if (slot[i].pending) {
            return 1;
        }
    }

    return 0;
}


/* a + b, clipped to +-NGX_HTTP_ZAE_LIMIT_SUM_MAX; *lost: what was cut */

static int64_t
ngx_http_zae_limit_sum(int64_t a, int64_t b, int64_t *lost)
{
    int64_t  max;

    max = NGX_HTTP_ZAE_LIMIT_SUM_MAX;

    /* |a| <= max and |b| <= 10^12 or so: no int64 overflow here */

    if (b > max || b < -max) {
        *lost += b > 0 ? b - max : b + max;
        b = b > 0 ? max : -max;
    }

    a += b;

    if (a > max) {
        *lost += a - max;
        return max;
    }

    if (a < -max) {
        *lost += a + max;
        return -max;
    }

    return a;
}


/*
 * Adds delta tokens of limit "name" to the pending amounts of the bucket
 * "key" (ngx_http_zae_limit_bucket_key()).  *lost: tokens cut by the
 * saturation of the sum (0 normally).  NGX_DECLINED: the queue is full
 * or the zone has no room; the caller counts and logs the loss.
 */

ngx_int_t
ngx_http_zae_limit_delta_add(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_str_t *name, int64_t delta, int64_t *lost)
{
    size_t                       vlen;
    uint32_t                     hash;
    ngx_uint_t                   i, n;
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_node_t   *zn, *grown;
    ngx_http_zae_limit_slot_t   *slot;
    ngx_http_zae_limit_dhead_t  *dh;

    *lost = 0;

    if (delta == 0) {
        return NGX_OK;
    }

    if (key->len > 65535 || name->len > ZAE_NAME_MAX_LEN) {
        return NGX_DECLINED;
    }

    shm = zone->data;
    hash = ngx_http_zae_limit_hash(NGX_HTTP_ZAE_LIMIT_C_DELTA, key);

    ngx_shmtx_lock(&shm->shpool->mutex);

    zn = ngx_http_zae_limit_lookup(&shm->sh->deltas,
                                   NGX_HTTP_ZAE_LIMIT_C_DELTA, key, hash);

    n = zn ? ngx_http_zae_limit_dnslots(zn) : 0;

    if (zn) {
        dh = ngx_http_zae_limit_dhead(zn);
        slot = ngx_http_zae_limit_dslots(zn);

        for (i = 0; i < n; i++) {
            if (slot[i].len == name->len
                && ngx_memcmp(slot[i].name, name->data, name->len) == 0)
            {
                if (!ngx_http_zae_limit_has_pending(zn)) {
                    dh->pending_since = ngx_current_msec;
                }

                slot[i].pending = ngx_http_zae_limit_sum(slot[i].pending,
                                                         delta, lost);
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

    vlen = sizeof(ngx_http_zae_limit_dhead_t)
           + (n + 1) * sizeof(ngx_http_zae_limit_slot_t);

    grown = ngx_http_zae_limit_node_alloc_evict(shm,
                                                NGX_HTTP_ZAE_LIMIT_C_DELTA,
                                                key, hash, vlen);
    if (grown == NULL) {
        goto full;
    }

    dh = ngx_http_zae_limit_dhead(grown);
    slot = ngx_http_zae_limit_dslots(grown);

    if (zn) {
        ngx_memcpy(dh, ngx_http_zae_limit_dhead(zn), zn->vlen);

        if (!ngx_http_zae_limit_has_pending(zn)) {
            dh->pending_since = ngx_current_msec;
        }

        /* keep its place in its queue */

        ngx_queue_insert_after(&zn->queue, &grown->queue);
        ngx_queue_remove(&zn->queue);
        ngx_queue_init(&zn->queue);
        ngx_http_zae_limit_node_free(shm, &shm->sh->deltas, zn);

        ngx_rbtree_insert(&shm->sh->deltas, (ngx_rbtree_node_t *)
                          ((u_char *) grown
                           - offsetof(ngx_rbtree_node_t, color)));

    } else {
        ngx_memzero(dh, sizeof(ngx_http_zae_limit_dhead_t));
        dh->since = ngx_current_msec;
        dh->pending_since = ngx_current_msec;

        ngx_http_zae_limit_node_insert(&shm->sh->deltas,
                                       &shm->sh->deltas_queue, grown);

        /* FIFO: the oldest bucket is flushed first */

        ngx_queue_remove(&grown->queue);
        ngx_queue_insert_tail(&shm->sh->deltas_queue, &grown->queue);

        shm->sh->ndeltas++;
    }

    slot[n].pending = 0;
    slot[n].pending = ngx_http_zae_limit_sum(0, delta, lost);
    slot[n].held = 0;
    slot[n].len = (u_char) name->len;
    ngx_memcpy(slot[n].name, name->data, name->len);

    shm->sh->metrics.pending = shm->sh->ndeltas;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return NGX_OK;

full:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return NGX_DECLINED;
}


/* a held write of node zn copied into pool memory */

static ngx_int_t
ngx_http_zae_limit_delta_copy(ngx_http_zae_limit_node_t *zn,
    ngx_pool_t *pool, ngx_array_t *out)
{
    ngx_uint_t                          i, n;
    ngx_http_zae_limit_slot_t          *slot;
    ngx_http_zae_limit_delta_t         *d;
    ngx_http_zae_limit_dhead_t         *dh;
    ngx_http_zae_limit_bucket_delta_t  *bd;

    dh = ngx_http_zae_limit_dhead(zn);
    n = ngx_http_zae_limit_dnslots(zn);
    slot = ngx_http_zae_limit_dslots(zn);

    bd = ngx_array_push(out);
    if (bd == NULL) {
        return NGX_ERROR;
    }

    bd->key.data = ngx_pnalloc(pool, zn->klen);
    if (bd->key.data == NULL
        || ngx_array_init(&bd->limits, pool, n,
                          sizeof(ngx_http_zae_limit_delta_t))
           != NGX_OK)
    {
        out->nelts--;
        return NGX_ERROR;
    }

    bd->key.len = zn->klen;
    ngx_memcpy(bd->key.data, zn->data, zn->klen);
    ngx_http_zae_limit_bucket_ref(&bd->key, &bd->ref);

    bd->wid = dh->wid;
    bd->retry = (dh->state == NGX_HTTP_ZAE_LIMIT_D_DOUBT
                 || dh->state == NGX_HTTP_ZAE_LIMIT_D_FLIGHT);

    for (i = 0; i < n; i++) {
        if (slot[i].held == 0) {
            continue;
        }

        d = ngx_array_push(&bd->limits);
        if (d == NULL) {
            out->nelts--;
            return NGX_ERROR;
        }

        d->name.data = ngx_pnalloc(pool, slot[i].len);
        if (d->name.data == NULL) {
            out->nelts--;
            return NGX_ERROR;
        }

        d->name.len = slot[i].len;
        ngx_memcpy(d->name.data, slot[i].name, slot[i].len);
        d->delta = slot[i].held;
    }

    return NGX_OK;
}


/* may a worker take the held write of zn: in doubt and due, or orphaned */

static ngx_uint_t
ngx_http_zae_limit_held_due(ngx_http_zae_limit_dhead_t *dh, ngx_msec_t stale)
{
    if (dh->state == NGX_HTTP_ZAE_LIMIT_D_DOUBT) {
        return (ngx_msec_int_t) (ngx_current_msec - dh->retry_at) >= 0;
    }

    /*
     * in flight in a worker that died without settling it (a crash):
     * sending the same id again is safe, a second copy of one id is
     * applied at most once
     */

    return dh->owner != ngx_pid
           && (ngx_msec_int_t) (ngx_current_msec - dh->started)
              >= (ngx_msec_int_t) stale
           && kill(dh->owner, 0) == -1 && ngx_errno == NGX_ESRCH;
}


/*
 * Takes up to max writes out of the zone into pool memory (an array of
 * ngx_http_zae_limit_bucket_delta_t): first the held writes that are due
 * again (the same id and amounts), then buckets whose oldest pending
 * delta is from "before" or earlier, oldest first; their pending amounts
 * become a new held write with a new id, at most 10^12 tokens a limit
 * (a larger sum stays pending for the next write).  The taken nodes stay
 * in the zone, in flight, until ngx_http_zae_limit_delta_settle().
 * "stale": how long a write in flight of another worker may take before
 * its worker is checked for being alive.
 */

ngx_array_t *
ngx_http_zae_limit_delta_take(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    ngx_uint_t max, ngx_msec_t before, ngx_msec_t stale)
{
    int64_t                      h;
    ngx_uint_t                   i, n, nslots;
    ngx_array_t                 *out;
    ngx_queue_t                 *q, *next;
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_node_t   *zn;
    ngx_http_zae_limit_slot_t   *slot;
    ngx_http_zae_limit_dhead_t  *dh;

    shm = zone->data;

    out = ngx_array_create(pool, 8, sizeof(ngx_http_zae_limit_bucket_delta_t));
    if (out == NULL) {
        return NULL;
    }

    n = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    /* writes in doubt: the same id, the same amounts */

    for (q = ngx_queue_head(&shm->sh->held_queue);
         n < max && q != ngx_queue_sentinel(&shm->sh->held_queue);
         q = ngx_queue_next(q))
    {
        zn = ngx_queue_data(q, ngx_http_zae_limit_node_t, queue);
        dh = ngx_http_zae_limit_dhead(zn);

        if (!ngx_http_zae_limit_held_due(dh, stale)) {
            continue;
        }

        if (ngx_http_zae_limit_delta_copy(zn, pool, out) != NGX_OK) {
            goto done;
        }

        dh->state = NGX_HTTP_ZAE_LIMIT_D_FLIGHT;
        dh->owner = ngx_pid;
        dh->started = ngx_current_msec;
        n++;
    }

    /* new writes, oldest bucket first */

    for (q = ngx_queue_head(&shm->sh->deltas_queue);
         n < max && q != ngx_queue_sentinel(&shm->sh->deltas_queue);
         q = next)
    {
        next = ngx_queue_next(q);

        zn = ngx_queue_data(q, ngx_http_zae_limit_node_t, queue);
        dh = ngx_http_zae_limit_dhead(zn);

        if ((ngx_msec_int_t) (dh->since - before) > 0) {
            break;
        }

        nslots = ngx_http_zae_limit_dnslots(zn);
        slot = ngx_http_zae_limit_dslots(zn);

        for (i = 0; i < nslots; i++) {
            h = slot[i].pending;

            if (h > ZAE_TOKENS_MAX) {
                h = ZAE_TOKENS_MAX;

            } else if (h < -ZAE_TOKENS_MAX) {
                h = -ZAE_TOKENS_MAX;
            }

            slot[i].held = h;
            slot[i].pending -= h;
        }

        dh->wid = ++shm->sh->wid_next;

        if (ngx_http_zae_limit_delta_copy(zn, pool, out) != NGX_OK) {

            /* out of pool memory: the amounts go back, for the next take */

            for (i = 0; i < nslots; i++) {
                slot[i].pending += slot[i].held;
                slot[i].held = 0;
            }

            goto done;
        }

        dh->state = NGX_HTTP_ZAE_LIMIT_D_FLIGHT;
        dh->owner = ngx_pid;
        dh->started = ngx_current_msec;
        dh->tries = 0;

        /* what arrives from now on is a new pending amount */

        dh->pending_since = ngx_current_msec;

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&shm->sh->held_queue, q);
        n++;
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return out;
}


/*
 * The end of a held write: "written" (applied, or refused because it was
 * applied before) clears it, and the bucket is freed or queued again
 * with what arrived meanwhile; otherwise it stays held, in doubt, with
 * its id and amounts, due again after "backoff" ms.
 */

void
ngx_http_zae_limit_delta_settle(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_bucket_delta_t *bd, ngx_uint_t written,
    ngx_msec_t backoff)
{
    uint32_t                     hash;
    ngx_uint_t                   i, n;
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_node_t   *zn;
    ngx_http_zae_limit_slot_t   *slot;
    ngx_http_zae_limit_dhead_t  *dh;

    shm = zone->data;
    hash = ngx_http_zae_limit_hash(NGX_HTTP_ZAE_LIMIT_C_DELTA, &bd->key);

    ngx_shmtx_lock(&shm->shpool->mutex);

    zn = ngx_http_zae_limit_lookup(&shm->sh->deltas,
                                   NGX_HTTP_ZAE_LIMIT_C_DELTA, &bd->key, hash);

    if (zn == NULL) {
        goto done;
    }

    dh = ngx_http_zae_limit_dhead(zn);

    if (dh->wid != bd->wid || dh->state == NGX_HTTP_ZAE_LIMIT_D_IDLE) {

        /* settled already by another worker that sent the same write */

        goto done;
    }

    if (!written) {
        if (dh->owner == ngx_pid || dh->state == NGX_HTTP_ZAE_LIMIT_D_FLIGHT)
        {
            dh->state = NGX_HTTP_ZAE_LIMIT_D_DOUBT;
            dh->owner = 0;
            dh->retry_at = ngx_current_msec + backoff;

            if (dh->tries < 255) {
                dh->tries++;
            }
        }

        goto done;
    }

    n = ngx_http_zae_limit_dnslots(zn);
    slot = ngx_http_zae_limit_dslots(zn);

    for (i = 0; i < n; i++) {
        slot[i].held = 0;
    }

    dh->state = NGX_HTTP_ZAE_LIMIT_D_IDLE;
    dh->owner = 0;
    dh->wid = 0;
    dh->tries = 0;

    if (!ngx_http_zae_limit_has_pending(zn)) {
        ngx_http_zae_limit_node_free(shm, &shm->sh->deltas, zn);
        shm->sh->ndeltas--;
        shm->sh->metrics.pending = shm->sh->ndeltas;
        goto done;
    }

    dh->since = dh->pending_since;

    ngx_queue_remove(&zn->queue);
    ngx_queue_insert_tail(&shm->sh->deltas_queue, &zn->queue);

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/* worker exit: its writes in flight become writes in doubt */

void
ngx_http_zae_limit_delta_release(ngx_shm_zone_t *zone)
{
    ngx_queue_t                 *q;
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_node_t   *zn;
    ngx_http_zae_limit_dhead_t  *dh;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    for (q = ngx_queue_head(&shm->sh->held_queue);
         q != ngx_queue_sentinel(&shm->sh->held_queue);
         q = ngx_queue_next(q))
    {
        zn = ngx_queue_data(q, ngx_http_zae_limit_node_t, queue);
        dh = ngx_http_zae_limit_dhead(zn);

        if (dh->state == NGX_HTTP_ZAE_LIMIT_D_FLIGHT && dh->owner == ngx_pid)
        {
            dh->state = NGX_HTTP_ZAE_LIMIT_D_DOUBT;
            dh->owner = 0;
            dh->retry_at = ngx_current_msec;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


ngx_uint_t
ngx_http_zae_limit_delta_pending(ngx_shm_zone_t *zone)
{
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    return shm->sh->ndeltas;
}


static void
ngx_http_zae_limit_backlog_age(ngx_http_zae_limit_backlog_t *bl,
    ngx_http_zae_limit_node_t *zn)
{
    ngx_msec_int_t  age;

    age = ngx_current_msec - ngx_http_zae_limit_dhead(zn)->since;

    if (age > (ngx_msec_int_t) bl->oldest) {
        bl->oldest = age;
    }
}


/*
 * What is not written yet: the age of the oldest delta (from the heads
 * of the two queues, cheap); with "scan" also the buckets and tokens,
 * a walk over every pending bucket.
 */

void
ngx_http_zae_limit_delta_backlog(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_backlog_t *bl, ngx_uint_t scan)
{
    int64_t                      lost;
    ngx_uint_t                   i, n;
    ngx_queue_t                 *q, *queues[2];
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_node_t   *zn;
    ngx_http_zae_limit_slot_t   *slot;
    ngx_http_zae_limit_dhead_t  *dh;

    shm = zone->data;

    ngx_memzero(bl, sizeof(ngx_http_zae_limit_backlog_t));

    queues[0] = &shm->sh->deltas_queue;
    queues[1] = &shm->sh->held_queue;

    lost = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    for (i = 0; i < 2; i++) {
        for (q = ngx_queue_head(queues[i]);
             q != ngx_queue_sentinel(queues[i]);
             q = ngx_queue_next(q))
        {
            zn = ngx_queue_data(q, ngx_http_zae_limit_node_t, queue);

            ngx_http_zae_limit_backlog_age(bl, zn);

            if (!scan) {
                break;
            }

            dh = ngx_http_zae_limit_dhead(zn);
            slot = ngx_http_zae_limit_dslots(zn);

            bl->buckets++;

            if (dh->state != NGX_HTTP_ZAE_LIMIT_D_IDLE) {
                bl->held++;
            }

            for (n = 0; n < ngx_http_zae_limit_dnslots(zn); n++) {
                bl->tokens = ngx_http_zae_limit_sum(bl->tokens,
                                 ngx_abs(slot[n].pending)
                                 + ngx_abs(slot[n].held), &lost);
            }
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
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


void
ngx_http_zae_limit_metric_add(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_metric_e m, ngx_atomic_int_t n)
{
    ngx_http_zae_limit_shm_t  *shm;

    shm = zone->data;

    (void) ngx_atomic_fetch_add(&shm->sh->metrics.counters[m], n);
}


static ngx_msec_t  ngx_http_zae_limit_latency_bounds[] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000
};


void
ngx_http_zae_limit_metric_call(ngx_shm_zone_t *zone,
    ngx_http_zae_limit_ddb_call_t *call)
{
    ngx_uint_t                     i;
    ngx_http_zae_limit_shm_t      *shm;
    ngx_http_zae_limit_metrics_t  *m;

    shm = zone->data;
    m = &shm->sh->metrics;

    if ((ngx_uint_t) call->op < ZAE_DDB_OP_MAX) {
        if (call->rc == NGX_OK) {
            (void) ngx_atomic_fetch_add(&m->op_ok[call->op], 1);

        } else {
            (void) ngx_atomic_fetch_add(&m->op_fail[call->op], 1);
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


/* milliseconds written as seconds, the Prometheus base unit: 2500 is 2.5 */

static u_char *
ngx_http_zae_limit_seconds(u_char *p, u_char *last, ngx_atomic_uint_t ms)
{
    if (ms % 1000 == 0) {
        return ngx_slprintf(p, last, "%uA", ms / 1000);
    }

    p = ngx_slprintf(p, last, "%uA.%03uA", ms / 1000, ms % 1000);

    while (p[-1] == '0') {
        p--;
    }

    return p;
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
      NULL, "flush writes that failed, kept for a retry" },
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
    { NGX_HTTP_ZAE_LIMIT_M_FLUSH_IN_DOUBT, "zae_limit_flush_in_doubt_total",
      NULL, "flush writes without a final answer (maybe applied), kept "
      "with their id and sent again" },
    { NGX_HTTP_ZAE_LIMIT_M_DDB_BUSY,
      "zae_limit_dynamodb_busy_total", NULL,
      "calls refused at once: max_connections in use, max_waiting waiting" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_HITS, "zae_limit_lease_hits_total", NULL,
      "requests admitted from a local token lease, no DynamoDB call" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_UNAVAILABLE_HITS,
      "zae_limit_lease_unavailable_hits_total", NULL,
      "lease hits after the bucket's last refill failed (DynamoDB away)" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_REFILLS, "zae_limit_lease_refills_total",
      NULL, "writes that took a lease of k requests' worth" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_SIZE, "zae_limit_lease_size_total", NULL,
      "sum of k over the refills (the mean lease size is this / refills)" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_LEASED,
      "zae_limit_lease_tokens_total", "state=\"leased\"",
      "tokens taken into leases beyond the refilling request's own" },
    { NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_RETURNED,
      "zae_limit_lease_tokens_total", "state=\"returned\"", NULL }
};


ngx_int_t
ngx_http_zae_limit_metrics_handler(ngx_http_request_t *r)
{
    size_t                           size;
    ngx_int_t                        rc;
    const char                      *name;
    ngx_buf_t                       *b;
    ngx_uint_t                       i;
    ngx_atomic_uint_t                cum;
    ngx_chain_t                      out;
    ngx_http_zae_limit_shm_t        *shm;
    ngx_http_zae_limit_metrics_t    *m;
    ngx_http_zae_limit_backlog_t     bl;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    /* the operations the module sends */

    static zae_ddb_op_e  ops[] = {
        ZAE_DDB_GET_ITEM, ZAE_DDB_BATCH_GET_ITEM, ZAE_DDB_PUT_ITEM,
        ZAE_DDB_UPDATE_ITEM, ZAE_DDB_TRANSACT_WRITE_ITEMS
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

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        name = zae_ddb_op_name(ops[i]);

        b->last = ngx_slprintf(b->last, b->end,
                               "zae_limit_dynamodb_calls_total"
                               "{operation=\"%s\",result=\"ok\"} %uA\n"
                               "zae_limit_dynamodb_calls_total"
                               "{operation=\"%s\",result=\"failed\"} %uA\n",
                               name, m->op_ok[ops[i]], name,
                               m->op_fail[ops[i]]);
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_dynamodb_latency_seconds "
                           "DynamoDB call latency, retries included\n"
                           "# TYPE zae_limit_dynamodb_latency_seconds "
                           "histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_ZAE_LIMIT_LATENCY_BUCKETS; i++) {
        cum += m->latency[i];
        b->last = ngx_slprintf(b->last, b->end,
                               "zae_limit_dynamodb_latency_seconds_bucket"
                               "{le=\"");
        b->last = ngx_http_zae_limit_seconds(b->last, b->end,
                                        ngx_http_zae_limit_latency_bounds[i]);
        b->last = ngx_slprintf(b->last, b->end, "\"} %uA\n", cum);
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "zae_limit_dynamodb_latency_seconds_bucket"
                           "{le=\"+Inf\"} %uA\n"
                           "zae_limit_dynamodb_latency_seconds_sum ",
                           m->latency_count);
    b->last = ngx_http_zae_limit_seconds(b->last, b->end, m->latency_sum);

    b->last = ngx_slprintf(b->last, b->end,
                           "\nzae_limit_dynamodb_latency_seconds_count %uA\n"
                           "# HELP zae_limit_reconcile_pending "
                           "buckets with pending deltas\n"
                           "# TYPE zae_limit_reconcile_pending gauge\n"
                           "zae_limit_reconcile_pending %uA\n"
                           "# HELP zae_limit_build_info "
                           "the version of the module, always 1\n"
                           "# TYPE zae_limit_build_info gauge\n"
                           "zae_limit_build_info{version=\"" ZAE_VERSION
                           "\"} 1\n",
                           m->latency_count, m->pending);

    ngx_http_zae_limit_delta_backlog(zmcf->shm_zone, &bl, 0);

    b->last = ngx_slprintf(b->last, b->end,
                           "# HELP zae_limit_reconcile_lag_seconds "
                           "age of the oldest delta not written yet\n"
                           "# TYPE zae_limit_reconcile_lag_seconds gauge\n"
                           "zae_limit_reconcile_lag_seconds %M.%03M\n",
                           bl.oldest / 1000, bl.oldest % 1000);

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
