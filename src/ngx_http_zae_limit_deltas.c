
/*
 * Copyright (C) zae-limit authors
 *
 * The pending reconciliation deltas, in the shared zone: the delta tree
 * coalesces them per bucket (one slot per limit) until a worker's flush
 * timer writes them; buckets waiting for a write are in a FIFO queue,
 * buckets with a write in flight or in doubt in a second queue.  The log
 * phase adds (ngx_http_zae_limit_delta_add), the flush timer takes,
 * settles and releases (ngx_http_zae_limit_reconcile.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "ngx_http_zae_limit_shm.h"


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
