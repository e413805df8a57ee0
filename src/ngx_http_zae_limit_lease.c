
/*
 * Copyright (C) zae-limit authors
 *
 * Local token leases (zae_limit_lease): one conditional write takes k
 * requests' worth of a bucket (and of its parent with cascade) into the
 * shared zone; the next requests of this nginx for the bucket take from
 * the lease under the zone's lock, with no DynamoDB call.  One refill in
 * flight per bucket; requests of the same worker wait for it, the
 * others take the normal path.  Unused tokens go back through the
 * reconciliation queue when the lease expires and on reload and quit.
 * The arithmetic is src/core/zae_lease.c; docs/design.md, "Local token
 * leases".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "ngx_http_zae_limit_shm.h"
#include "zae_bucket.h"
#include "zae_lease.h"


/* the zone's leases: zone->sh->lease */

typedef struct {
    ngx_rbtree_t                     tree;
    ngx_rbtree_node_t                sentinel;
    ngx_queue_t                      all;
} ngx_http_zae_limit_leases_t;


typedef struct {
    ngx_str_node_t                   sn;         /* sn.str: key[] */
    ngx_queue_t                      queue;
    zae_lease_t                      lease;
    ngx_pid_t                        pid;        /* the refill's worker */
    int64_t                          seen;       /* last request, ms */
    int64_t                          ttl;        /* ms, of the last refill */
    u_char                           failing;    /* the last refill failed */
    u_short                          plen;       /* 0: no parent charged */
    u_char                           parent[ZAE_ENTITY_ID_MAX_LEN];
    u_char                           key[1];
} ngx_http_zae_limit_lnode_t;


/* a request of this worker waiting for a refill in flight */

typedef struct {
    ngx_queue_t                      queue;
    ngx_http_zae_limit_ctx_t        *ctx;        /* NULL: not queued */
    ngx_str_t                        key;
} ngx_http_zae_limit_lwait_t;


/* what an expiry gives back, taken out of the zone */

typedef struct {
    ngx_str_t                        key;
    ngx_str_t                        parent;
    int64_t                          shard;
    size_t                           n;
    zae_amount_t                     out[ZAE_LEASE_LIMITS];
    u_char                           names[ZAE_LEASE_LIMITS]
                                          [ZAE_NAME_MAX_LEN];
} ngx_http_zae_limit_lret_t;


#define NGX_HTTP_ZAE_LIMIT_LEASE_IDLE   10   /* ttls without a request */


static ngx_http_zae_limit_leases_t *ngx_http_zae_limit_leases(
    ngx_http_zae_limit_shm_t *shm);
static ngx_http_zae_limit_lnode_t *ngx_http_zae_limit_lease_node(
    ngx_http_zae_limit_shm_t *shm, ngx_str_t *key, ngx_uint_t create);
static ngx_int_t ngx_http_zae_limit_lease_key(ngx_http_zae_limit_ctx_t *ctx,
    ngx_str_t *key);
static ngx_int_t ngx_http_zae_limit_lease_wait(ngx_http_zae_limit_ctx_t *ctx,
    ngx_str_t *key);
static void ngx_http_zae_limit_lease_wake(ngx_str_t *key);
static void ngx_http_zae_limit_lease_woken(ngx_event_t *ev);
static void ngx_http_zae_limit_lease_wait_cleanup(void *data);
static void ngx_http_zae_limit_lease_finish(ngx_http_zae_limit_ctx_t *ctx,
    zae_lease_t *refused, ngx_uint_t failed);
static void ngx_http_zae_limit_lease_out(ngx_http_zae_limit_lret_t *ret,
    zae_lease_t *ls);
static void ngx_http_zae_limit_lease_give_back(ngx_shm_zone_t *zone,
    ngx_pool_t *pool, ngx_http_zae_limit_lret_t *ret, ngx_log_t *log);


/* per worker: requests waiting for a refill, and those to resume */

static ngx_queue_t   ngx_http_zae_limit_lease_waiting;
static uint32_t      ngx_http_zae_limit_lease_seq;   /* refills started */
static ngx_queue_t   ngx_http_zae_limit_lease_ready;
static ngx_event_t   ngx_http_zae_limit_lease_event;


/* zae_limit_lease [size=N|auto] [ttl=TIME] [max_share=PERCENT] | off */

char *
ngx_http_zae_limit_lease_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_zae_limit_loc_conf_t *zlcf = conf;

    ngx_int_t          n;
    ngx_str_t         *value, s;
    ngx_uint_t         i;
    ngx_msec_t         ttl;
    zae_lease_conf_t  *lc;

    if (zlcf->lease != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        zlcf->lease = NULL;
        return NGX_CONF_OK;
    }

    lc = ngx_pcalloc(cf->pool, sizeof(zae_lease_conf_t));
    if (lc == NULL) {
        return NGX_CONF_ERROR;
    }

    lc->size = 0;
    lc->ttl = 1000;
    lc->max_share = 10;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (s.len == 4 && ngx_strncmp(s.data, "auto", 4) == 0) {
                lc->size = 0;
                continue;
            }

            n = ngx_atoi(s.data, s.len);

            if (n < 1 || n > ZAE_LEASE_K_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid lease size \"%V\": \"auto\" or "
                                   "a number of requests from 1 to %d",
                                   &s, ZAE_LEASE_K_MAX);
                return NGX_CONF_ERROR;
            }

            lc->size = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ttl = ngx_parse_time(&s, 0);

            if (ttl == (ngx_msec_t) NGX_ERROR || ttl == 0
                || ttl > 3600000)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid lease ttl \"%V\": from 1ms to "
                                   "1h", &s);
                return NGX_CONF_ERROR;
            }

            lc->ttl = ttl;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_share=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            if (s.len && s.data[s.len - 1] == '%') {
                s.len--;
            }

            n = ngx_atoi(s.data, s.len);

            if (n < 1 || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid lease max_share \"%V\": a "
                                   "percentage from 1 to 100", &value[i]);
                return NGX_CONF_ERROR;
            }

            lc->max_share = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    zlcf->lease = lc;

    return NGX_CONF_OK;
}


/* how long a refill may stay in flight before another worker takes over */

static int64_t
ngx_http_zae_limit_lease_stale(ngx_http_zae_limit_main_conf_t *zmcf)
{
    return 2 * (int64_t) zmcf->ddb_conf.timeout
           * (int64_t) zmcf->ddb_conf.max_attempts + 1000;
}


/* called with the zone locked */

static ngx_http_zae_limit_leases_t *
ngx_http_zae_limit_leases(ngx_http_zae_limit_shm_t *shm)
{
    ngx_http_zae_limit_leases_t  *ll;

    ll = shm->sh->lease;

    if (ll) {
        return ll;
    }

    ll = ngx_slab_alloc_locked(shm->shpool,
                               sizeof(ngx_http_zae_limit_leases_t));
    if (ll == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&ll->tree, &ll->sentinel, ngx_str_rbtree_insert_value);
    ngx_queue_init(&ll->all);

    shm->sh->lease = ll;

    return ll;
}


/* called with the zone locked */

static ngx_http_zae_limit_lnode_t *
ngx_http_zae_limit_lease_node(ngx_http_zae_limit_shm_t *shm, ngx_str_t *key,
    ngx_uint_t create)
{
    uint32_t                      hash;
    ngx_http_zae_limit_lnode_t   *ln;
    ngx_http_zae_limit_leases_t  *ll;

    ll = ngx_http_zae_limit_leases(shm);
    if (ll == NULL) {
        return NULL;
    }

    hash = ngx_crc32_short(key->data, key->len);

    ln = (ngx_http_zae_limit_lnode_t *)
             ngx_str_rbtree_lookup(&ll->tree, key, hash);

    if (ln || !create) {
        return ln;
    }

    /* room made like for any entry: ngx_http_zae_limit_make_room() */

    for ( ;; ) {
        ln = ngx_slab_alloc_locked(shm->shpool,
                                   offsetof(ngx_http_zae_limit_lnode_t, key)
                                   + key->len);
        if (ln != NULL) {
            break;
        }

        if (ngx_http_zae_limit_make_room(shm) != NGX_OK) {
            return NULL;
        }
    }

    ngx_memzero(ln, offsetof(ngx_http_zae_limit_lnode_t, key));
    ngx_memcpy(ln->key, key->data, key->len);

    ln->sn.node.key = hash;
    ln->sn.str.data = ln->key;
    ln->sn.str.len = key->len;

    zae_lease_init(&ln->lease);

    ngx_rbtree_insert(&ll->tree, &ln->sn.node);
    ngx_queue_insert_tail(&ll->all, &ln->queue);

    return ln;
}


/*
 * Frees the least recently used lease node that holds no tokens and has
 * no refill in flight: one returned and idle (ngx_http_zae_limit_make_room()
 * asks when the zone is full).  A lease holding tokens is never freed.
 * Called with the zone locked.
 */

#define NGX_HTTP_ZAE_LIMIT_LEASE_SCAN   64

ngx_int_t
ngx_http_zae_limit_lease_reclaim(ngx_http_zae_limit_shm_t *shm)
{
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_http_zae_limit_lnode_t   *ln;
    ngx_http_zae_limit_leases_t  *ll;

    ll = shm->sh->lease;

    if (ll == NULL) {
        return NGX_DECLINED;
    }

    for (q = ngx_queue_head(&ll->all), i = 0;
         q != ngx_queue_sentinel(&ll->all)
         && i < NGX_HTTP_ZAE_LIMIT_LEASE_SCAN;
         q = ngx_queue_next(q), i++)
    {
        ln = ngx_queue_data(q, ngx_http_zae_limit_lnode_t, queue);

        if (zae_lease_held(&ln->lease) == 0 && ln->lease.refill_at == 0) {
            ngx_rbtree_delete(&ll->tree, &ln->sn.node);
            ngx_queue_remove(&ln->queue);
            ngx_slab_free_locked(shm->shpool, ln);

            (void) ngx_atomic_fetch_add(&shm->sh->metrics.counters[
                                    NGX_HTTP_ZAE_LIMIT_M_LEASE_RECLAIMED], 1);
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* the lease's key: the bucket's zone key on shard 0 */

static ngx_int_t
ngx_http_zae_limit_lease_key(ngx_http_zae_limit_ctx_t *ctx, ngx_str_t *key)
{
    zae_bucket_ref_t  ref;

    ref = ctx->ref;
    ref.ns = ctx->nsid;
    ref.shard = 0;

    return ngx_http_zae_limit_bucket_key(ctx->request->pool, &ref, key);
}


static ngx_uint_t
ngx_http_zae_limit_lease_fits(ngx_http_zae_limit_ctx_t *ctx)
{
    return ctx->zlcf->lease != NULL && ctx->nconsume > 0
           && ctx->nconsume <= ZAE_LEASE_LIMITS;
}


/*
 * The RateLimit headers of a request served by a lease, or of the
 * refill: for each limit it consumes, what remains is the table's
 * tokens after this instance's last refill (its ALL_NEW image, the
 * tighter of child and parent) plus the tokens the lease still holds;
 * no DynamoDB call (docs/directives.md, zae_limit_lease).
 */

static void
ngx_http_zae_limit_lease_hdrs(ngx_http_zae_limit_ctx_t *ctx, zae_lease_t *ls)
{
    size_t                    i;
    int64_t                   tk;
    const zae_lease_limit_t  *l;

    for (i = 0; i < ctx->nconsume; i++) {
        tk = zae_lease_remaining(ls, &ctx->consume[i].name);

        if (tk == INT64_MIN) {
            continue;
        }

        l = zae_lease_limit(ls, &ctx->consume[i].name);

        ngx_http_zae_limit_hdr_put(ctx, &ctx->consume[i].name, tk, l->cp,
                                   l->ra, l->rp, 1);
    }
}


/*
 * Before anything else of the acquire: the request is served from the
 * lease (NGX_OK, decided), or waits for this worker's refill in flight
 * (NGX_AGAIN), or goes on (NGX_DECLINED).
 */

ngx_int_t
ngx_http_zae_limit_lease_take(ngx_http_zae_limit_ctx_t *ctx)
{
    u_char                       parent[ZAE_ENTITY_ID_MAX_LEN];
    int64_t                      now, shard;
    ngx_str_t                    key;
    ngx_uint_t                   wait, failing;
    u_short                      plen;
    zae_lease_t                  ls;
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_lnode_t  *ln;

    if (!ngx_http_zae_limit_lease_fits(ctx)) {
        return NGX_DECLINED;
    }

    if (ngx_http_zae_limit_lease_key(ctx, &key) != NGX_OK) {
        return NGX_DECLINED;
    }

    shm = ctx->zmcf->shm_zone->data;
    now = ngx_http_zae_limit_now_ms();
    wait = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    ln = ngx_http_zae_limit_lease_node(shm, &key, 1);

    if (ln == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return NGX_DECLINED;
    }

    ln->seen = now;

    /* the least recently used go first: ngx_http_zae_limit_lease_reclaim() */

    ngx_queue_remove(&ln->queue);
    ngx_queue_insert_tail(&((ngx_http_zae_limit_leases_t *)
                                shm->sh->lease)->all, &ln->queue);

    if (!ctx->lease_tried) {
        zae_lease_seen(&ln->lease, ctx->zlcf->lease, now);
    }

    if (zae_lease_take(&ln->lease, ctx->consume, ctx->nconsume, now)
        == ZAE_OK)
    {
        ls = ln->lease;
        shard = ln->lease.shard;
        plen = ln->plen;
        ngx_memcpy(parent, ln->parent, plen);
        failing = ln->failing;

        ngx_shmtx_unlock(&shm->shpool->mutex);

        ctx->ref.shard = shard;
        ctx->cascaded = 0;

        if (plen) {
            ctx->parent.data = ngx_pnalloc(ctx->request->pool, plen);
            if (ctx->parent.data == NULL) {

                /* cannot happen often: the tokens go back */

                ctx->parent.data = parent;
                ctx->parent.len = plen;
                ctx->cascaded = 1;
                ngx_http_zae_limit_compensate(ctx, &ctx->ref.entity_id);
                ngx_http_zae_limit_compensate(ctx, &ctx->parent);
                ctx->cascaded = 0;
                return ngx_http_zae_limit_unavailable(ctx, "out of memory");
            }

            ngx_memcpy(ctx->parent.data, parent, plen);
            ctx->parent.len = plen;
            ctx->pref = ctx->ref;
            ctx->pref.entity_id = ctx->parent;
            ctx->pref.shard = 0;
            ctx->cascaded = 1;
        }

        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_LEASE_HITS, 1);

        if (failing) {
            ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                    NGX_HTTP_ZAE_LIMIT_M_LEASE_UNAVAILABLE_HITS,
                                    1);
        }

        ngx_http_zae_limit_trace1(ctx, "lease hit, shard %L", shard);

        ngx_http_zae_limit_lease_hdrs(ctx, &ls);

        return ngx_http_zae_limit_passed(ctx);
    }

    if (!ctx->lease_tried && ln->lease.refill_at != 0
        && ln->pid == ngx_pid
        && now - ln->lease.refill_at
           < ngx_http_zae_limit_lease_stale(ctx->zmcf))
    {
        wait = 1;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (wait) {
        return ngx_http_zae_limit_lease_wait(ctx, &key);
    }

    return NGX_DECLINED;
}


/*
 * After the entity cache: this request's speculative write becomes a
 * refill of k requests' worth when the size says so and no other refill
 * of the bucket is in flight.
 */

void
ngx_http_zae_limit_lease_begin(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                       i;
    int64_t                      k, now, owner;
    ngx_str_t                    key;
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_lnode_t  *ln;

    if (!ngx_http_zae_limit_lease_fits(ctx) || ctx->lease_tried
        || !ctx->entity_known)
    {
        return;
    }

    ctx->lease_tried = 1;

    if (ngx_http_zae_limit_lease_key(ctx, &key) != NGX_OK) {
        return;
    }

    shm = ctx->zmcf->shm_zone->data;
    now = ngx_http_zae_limit_now_ms();

    ngx_shmtx_lock(&shm->shpool->mutex);

    ln = ngx_http_zae_limit_lease_node(shm, &key, 0);

    if (ln == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return;
    }

    k = zae_lease_size(&ln->lease, ctx->zlcf->lease, ctx->consume,
                       ctx->nconsume, now);

    /* the mark's owner: this worker's pid and its refill count */

    owner = ((int64_t) ngx_pid << 32)
            | (int64_t) (ngx_http_zae_limit_lease_seq++ & 0xffffffff);

    if (k <= 1
        || zae_lease_refill_begin(&ln->lease, now,
                                  ngx_http_zae_limit_lease_stale(ctx->zmcf),
                                  owner)
           != ZAE_OK)
    {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return;
    }

    ln->pid = ngx_pid;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    /*
     * the refill's write id: an attempt applied whose answer was lost
     * is recognised when sent again (zae_proto_refill_request())
     */

    if (ngx_http_zae_limit_acquire_id(ctx->request->pool, &ctx->lease_attr,
                                      &ctx->lease_id)
        != NGX_OK)
    {
        ngx_shmtx_lock(&shm->shpool->mutex);
        (void) zae_lease_refill_end(&ln->lease, owner);
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return;
    }

    ctx->lease_key = key;
    ctx->lease_owner = owner;
    ctx->lease_k = k;

    for (i = 0; i < ctx->nconsume; i++) {
        ctx->consume[i].amount *= k;
    }

    ngx_http_zae_limit_trace1(ctx, "lease refill of %L requests", k);
}


static void
ngx_http_zae_limit_lease_restore(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t  i;

    for (i = 0; i < ctx->nconsume; i++) {
        ctx->consume[i].amount /= ctx->lease_k;
    }

    ctx->lease_k = 0;
}


/* the refill's call did not start: nothing was taken */

void
ngx_http_zae_limit_lease_abort(ngx_http_zae_limit_ctx_t *ctx)
{
    if (ctx->lease_k > 1) {
        ngx_http_zae_limit_lease_restore(ctx);
        ngx_http_zae_limit_lease_finish(ctx, NULL, 1);
    }
}


/* the refill is over: the flag cleared, this worker's waiters resumed */

static void
ngx_http_zae_limit_lease_finish(ngx_http_zae_limit_ctx_t *ctx,
    zae_lease_t *refused, ngx_uint_t failed)
{
    ngx_http_zae_limit_shm_t    *shm;
    ngx_http_zae_limit_lnode_t  *ln;

    shm = ctx->zmcf->shm_zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    ln = ngx_http_zae_limit_lease_node(shm, &ctx->lease_key, 0);

    if (ln && zae_lease_refill_end(&ln->lease, ctx->lease_owner) == ZAE_OK) {
        ln->failing = (u_char) failed;

        if (refused) {
            ngx_memcpy(ln->lease.l, refused->l, sizeof(refused->l));
            ln->lease.n = refused->n;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    ngx_http_zae_limit_lease_wake(&ctx->lease_key);
}


/*
 * The request ends (its client went away) while its refill is in
 * flight: the call is cancelled, the mark goes at once (not a stale
 * time later) and this worker's waiters for it go on.  What the write
 * may have taken is in doubt, counted as a cancelled acquire is.
 */

void
ngx_http_zae_limit_lease_cancel(ngx_http_zae_limit_ctx_t *ctx)
{
    if (ctx->lease_k <= 1) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "zae_limit: lease refill of %L requests cancelled, "
                  "the request ended", ctx->lease_k);

    ngx_http_zae_limit_lease_restore(ctx);
    ngx_http_zae_limit_lease_finish(ctx, NULL, 0);
}


/* a limit's tk in an image, the lowest of child and parent, and its image */

static void
ngx_http_zae_limit_lease_tk(ngx_http_zae_limit_ctx_t *ctx, ngx_uint_t n,
    int64_t *tk, zae_bucket_limit_t **img)
{
    size_t               i, j;
    ngx_uint_t           e;
    zae_bucket_item_t   *b;

    for (i = 0; i < ctx->nconsume; i++) {
        tk[i] = INT64_MIN;
        img[i] = NULL;

        for (e = 0; e < n; e++) {
            if (!ctx->spec[e].has_bucket
                && ctx->spec[e].decision != ZAE_SPEC_OK)
            {
                continue;
            }

            b = &ctx->spec[e].bucket;

            for (j = 0; j < b->nlimits; j++) {
                if (b->limits[j].name.len == ctx->consume[i].name.len
                    && ngx_memcmp(b->limits[j].name.data,
                                  ctx->consume[i].name.data,
                                  b->limits[j].name.len)
                       == 0
                    && (tk[i] == INT64_MIN || b->limits[j].tk < tk[i]))
                {
                    tk[i] = b->limits[j].tk;
                    img[i] = &b->limits[j];
                }
            }
        }
    }
}


/*
 * The answer of a refill (the speculative write of k x the request's
 * amounts).  Taken: the request is admitted with its own share, the rest
 * is held.  Refused: what was taken goes back, and the request goes the
 * normal way with its own amounts.  NGX_DECLINED: not a refill.
 */

ngx_int_t
ngx_http_zae_limit_lease_done(ngx_http_zae_limit_ctx_t *ctx)
{
    size_t                        i, nret, plen;
    int64_t                       k, tk[ZAE_LEASE_LIMITS], now, tokens;
    zae_lease_t                   ls;
    zae_bucket_limit_t           *img[ZAE_LEASE_LIMITS];
    ngx_int_t                     rc;
    ngx_str_t                     key;
    ngx_uint_t                    e, n, ok;
    zae_err_t                     err;
    zae_lease_t                   refused;
    zae_ddb_http_resp_t           resp;
    ngx_http_zae_limit_shm_t     *shm;
    ngx_http_zae_limit_lret_t     ret;
    ngx_http_zae_limit_lnode_t   *ln;

    if (ctx->lease_k <= 1) {
        return NGX_DECLINED;
    }

    k = ctx->lease_k;
    n = ctx->cascaded ? 2 : 1;

    if (ctx->orphan) {

        /* the parent's call never started: the child's k x goes back */

        ctx->orphan = 0;
        n = 1;
    }

    ok = 0;

    for (e = 0; e < n; e++) {
        ctx->spec[e].decision = ZAE_SPEC_ERROR;
        ctx->spec[e].has_bucket = 0;

        if (ctx->call[e].rc != NGX_OK) {
            continue;
        }

        ngx_http_zae_limit_resp(&ctx->call[e], &resp);

        /* the tree decoder keeps a refusal's ALL_OLD item for its id */

        if (zae_proto_spec_decode_tree(&ctx->mem, ctx->consume,
                                       ctx->nconsume, ctx->now_ms, &resp,
                                       &ctx->spec[e], &err)
            != ZAE_OK)
        {
            ctx->spec[e].decision = ZAE_SPEC_ERROR;
            continue;
        }

        if (ctx->spec[e].decision != ZAE_SPEC_OK
            && ctx->spec[e].has_bucket
            && zae_proto_holds_id(ctx->spec[e].error.item, &ctx->lease_attr,
                                  &ctx->lease_id))
        {
            /* refused because an attempt of this very refill was applied */

            ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                          "zae_limit: lease refill of entity \"%V\" "
                          "resource \"%V\" was applied before its answer "
                          "was lost, counted once",
                          ngx_http_zae_limit_v(e == 0 ? &ctx->ref.entity_id
                                                      : &ctx->parent),
                          ngx_http_zae_limit_v(&ctx->ref.resource));

            ctx->spec[e].decision = ZAE_SPEC_OK;
        }

        if (ctx->spec[e].decision == ZAE_SPEC_OK) {
            ok++;
        }
    }

    if (ok < n || ctx->orphan_rc) {

        /* what was taken goes back, k x */

        for (e = 0; e < n; e++) {
            if (ctx->spec[e].decision == ZAE_SPEC_OK) {
                ngx_http_zae_limit_compensate(ctx, e == 0
                                                   ? &ctx->ref.entity_id
                                                   : &ctx->parent);
            }
        }

        ngx_http_zae_limit_lease_tk(ctx, n, tk, img);
        ngx_http_zae_limit_lease_restore(ctx);

        for (e = 0; e < n; e++) {
            if (ctx->call[e].rc != NGX_OK) {
                ngx_http_zae_limit_lease_finish(ctx, NULL, 1);
                (void) ngx_http_zae_limit_call_answer(ctx, e, NULL);
                return NGX_OK;
            }
        }

        if (ctx->orphan_rc) {
            ngx_http_zae_limit_lease_finish(ctx, NULL, 1);
            return ctx->orphan_rc;
        }

        /* the next size learns what the bucket has */

        zae_lease_init(&refused);

        shm = ctx->zmcf->shm_zone->data;

        ngx_shmtx_lock(&shm->shpool->mutex);

        ln = ngx_http_zae_limit_lease_node(shm, &ctx->lease_key, 0);
        if (ln) {
            refused = ln->lease;
        }

        ngx_shmtx_unlock(&shm->shpool->mutex);

        zae_lease_refused(&refused, ctx->consume, ctx->nconsume, tk);

        ngx_http_zae_limit_lease_finish(ctx, &refused, 0);

        ngx_http_zae_limit_trace(ctx, "lease refill refused, "
                                 "the normal path");

        ctx->cascaded = 0;

        return ngx_http_zae_limit_spec(ctx);
    }

    /* taken */

    for (e = 0; e < n; e++) {
        ngx_http_zae_limit_hdrs_from_bucket(ctx, &ctx->spec[e].bucket);
    }

    ngx_http_zae_limit_lease_tk(ctx, n, tk, img);
    ngx_http_zae_limit_lease_restore(ctx);

    shm = ctx->zmcf->shm_zone->data;
    now = ngx_http_zae_limit_now_ms();

    nret = 0;
    rc = NGX_ERROR;
    ngx_memzero(&ret, sizeof(ngx_http_zae_limit_lret_t));
    zae_lease_init(&ls);

    key = ctx->lease_key;

    ngx_shmtx_lock(&shm->shpool->mutex);

    ln = ngx_exiting ? NULL : ngx_http_zae_limit_lease_node(shm, &key, 1);

    if (ln) {
        plen = ctx->cascaded ? ctx->parent.len : 0;

        if (zae_lease_held(&ln->lease)
            && (ln->lease.shard != ctx->ref.shard || ln->plen != plen
                || ngx_memcmp(ln->parent, ctx->parent.data, plen) != 0))
        {
            /* tokens of another shard or parent go back first */

            ret.key = key;
            ret.shard = ln->lease.shard;
            ret.parent.len = ln->plen;
            ret.parent.data = ngx_pnalloc(ctx->request->pool, ln->plen);

            if (ret.parent.data) {
                ngx_memcpy(ret.parent.data, ln->parent, ln->plen);
                ngx_http_zae_limit_lease_out(&ret, &ln->lease);
                nret = ret.n;
            }
        }

        if (zae_lease_held(&ln->lease) == 0) {
            ln->lease.shard = ctx->ref.shard;
            ln->plen = ctx->cascaded ? (u_short) ctx->parent.len : 0;
            ngx_memcpy(ln->parent, ctx->parent.data, ln->plen);
        }

        if (ln->lease.shard == ctx->ref.shard
            && zae_lease_refilled(&ln->lease, ctx->zlcf->lease,
                                  ctx->consume, ctx->nconsume, k, tk,
                                  now)
               == ZAE_OK)
        {
            rc = NGX_OK;
            ln->ttl = ctx->zlcf->lease->ttl;

            for (i = 0; i < ctx->nconsume; i++) {
                if (img[i]) {
                    zae_lease_image(&ln->lease, &ctx->consume[i].name,
                                    img[i]->tk, img[i]->cp, img[i]->ra,
                                    img[i]->rp);
                }
            }

            ls = ln->lease;
        }

        (void) zae_lease_refill_end(&ln->lease, ctx->lease_owner);
        ln->failing = 0;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (nret) {
        ngx_http_zae_limit_lease_give_back(ctx->zmcf->shm_zone,
                                           ctx->request->pool, &ret,
                                           ctx->request->connection->log);
    }

    tokens = 0;

    for (i = 0; i < ctx->nconsume; i++) {
        tokens += (k - 1) * ctx->consume[i].amount;
    }

    if (rc != NGX_OK) {

        /* not held (exiting, no room): the k - 1 shares go back at once */

        for (i = 0; i < ctx->nconsume; i++) {
            ngx_http_zae_limit_queue_both(ctx, &ctx->consume[i].name,
                                          -(k - 1) * ctx->consume[i].amount);
        }

    } else {
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_LEASE_REFILLS, 1);
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_LEASE_SIZE, k);
        ngx_http_zae_limit_metric_add(ctx->zmcf->shm_zone,
                                      NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_LEASED,
                                      tokens);
    }

    ngx_http_zae_limit_trace2(ctx, "lease refilled: %L requests, %s", k,
                              rc == NGX_OK ? "held" : "given back");

    if (rc == NGX_OK) {
        ngx_http_zae_limit_lease_hdrs(ctx, &ls);
    }

    ngx_http_zae_limit_lease_wake(&key);

    return ngx_http_zae_limit_passed(ctx);
}


/* waiting for this worker's refill of the bucket */

static ngx_int_t
ngx_http_zae_limit_lease_wait(ngx_http_zae_limit_ctx_t *ctx, ngx_str_t *key)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_zae_limit_lwait_t  *w;

    cln = ngx_pool_cleanup_add(ctx->request->pool,
                               sizeof(ngx_http_zae_limit_lwait_t));
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_zae_limit_lease_waiting.next == NULL) {
        ngx_queue_init(&ngx_http_zae_limit_lease_waiting);
        ngx_queue_init(&ngx_http_zae_limit_lease_ready);

        ngx_http_zae_limit_lease_event.handler =
                                            ngx_http_zae_limit_lease_woken;
        ngx_http_zae_limit_lease_event.log = ngx_cycle->log;
    }

    w = cln->data;
    w->ctx = ctx;
    w->key = *key;

    cln->handler = ngx_http_zae_limit_lease_wait_cleanup;

    ngx_queue_insert_tail(&ngx_http_zae_limit_lease_waiting, &w->queue);

    ngx_http_zae_limit_trace(ctx, "lease empty, waiting for the refill");

    return NGX_AGAIN;
}


static void
ngx_http_zae_limit_lease_wait_cleanup(void *data)
{
    ngx_http_zae_limit_lwait_t  *w = data;

    if (w->ctx) {
        ngx_queue_remove(&w->queue);
        w->ctx = NULL;
    }
}


/* the bucket's waiters are resumed from a posted event, not from here */

static void
ngx_http_zae_limit_lease_wake(ngx_str_t *key)
{
    ngx_queue_t                 *q, *next;
    ngx_http_zae_limit_lwait_t  *w;

    if (ngx_http_zae_limit_lease_waiting.next == NULL) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_zae_limit_lease_waiting);
         q != ngx_queue_sentinel(&ngx_http_zae_limit_lease_waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_zae_limit_lwait_t, queue);

        if (w->key.len == key->len
            && ngx_memcmp(w->key.data, key->data, key->len) == 0)
        {
            ngx_queue_remove(q);
            ngx_queue_insert_tail(&ngx_http_zae_limit_lease_ready, q);
        }
    }

    if (!ngx_queue_empty(&ngx_http_zae_limit_lease_ready)
        && !ngx_http_zae_limit_lease_event.posted)
    {
        ngx_post_event(&ngx_http_zae_limit_lease_event, &ngx_posted_events);
    }
}


static void
ngx_http_zae_limit_lease_woken(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_queue_t                  ready, *q;
    ngx_http_request_t          *r;
    ngx_http_zae_limit_ctx_t    *ctx;
    ngx_http_zae_limit_lwait_t  *w;

    /* those that wait again go to the waiting queue, not this one */

    ngx_queue_init(&ready);

    if (!ngx_queue_empty(&ngx_http_zae_limit_lease_ready)) {
        ready = ngx_http_zae_limit_lease_ready;
        ready.next->prev = &ready;
        ready.prev->next = &ready;
        ngx_queue_init(&ngx_http_zae_limit_lease_ready);
    }

    while (!ngx_queue_empty(&ready)) {
        q = ngx_queue_head(&ready);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_zae_limit_lwait_t, queue);
        ctx = w->ctx;
        w->ctx = NULL;

        r = ctx->request;

        ngx_http_zae_limit_trace(ctx, "lease refill over, woken");

        rc = ngx_http_zae_limit_spec(ctx);

        if (rc == NGX_AGAIN) {
            continue;
        }

        ctx->done = 1;

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_post_request(r, NULL);
        ngx_http_run_posted_requests(r->connection);
    }
}


/* empties a lease into "ret", names copied (the zone's may be freed) */

static void
ngx_http_zae_limit_lease_out(ngx_http_zae_limit_lret_t *ret,
    zae_lease_t *ls)
{
    size_t  i;

    ret->n = zae_lease_return(ls, ret->out);

    for (i = 0; i < ret->n; i++) {
        ngx_memcpy(ret->names[i], ret->out[i].name.data,
                   ret->out[i].name.len);
    }
}


/* the tokens of one lease back to the bucket (and its parent) */

static void
ngx_http_zae_limit_lease_give_back(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    ngx_http_zae_limit_lret_t *ret, ngx_log_t *log)
{
    size_t             i;
    int64_t            lost, tokens;
    ngx_str_t          key, name;
    ngx_uint_t         e;
    zae_bucket_ref_t   ref;

    tokens = 0;

    for (e = 0; e < (ngx_uint_t) (ret->parent.len ? 2 : 1); e++) {

        ngx_http_zae_limit_bucket_ref(&ret->key, &ref);

        if (e == 1) {
            ref.entity_id.data = ret->parent.data;
            ref.entity_id.len = ret->parent.len;

        } else {
            ref.shard = ret->shard;
        }

        if (ngx_http_zae_limit_bucket_key(pool, &ref, &key) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "zae_limit: out of memory, leased tokens of "
                          "entity \"%V\" not given back",
                          (ngx_str_t *) &ref.entity_id);
            continue;
        }

        for (i = 0; i < ret->n; i++) {
            name.data = ret->names[i];
            name.len = ret->out[i].name.len;

            if (ngx_http_zae_limit_delta_add(zone, &key, &name,
                                             -ret->out[i].amount, &lost)
                != NGX_OK)
            {
                lost = -ret->out[i].amount;
            }

            if (lost) {
                ngx_http_zae_limit_metric_add(zone,
                                        NGX_HTTP_ZAE_LIMIT_M_DELTAS_DROPPED, 1);

                ngx_log_error(NGX_LOG_ERR, log, 0,
                              "zae_limit: reconciliation queue is full, %L "
                              "leased tokens of limit \"%V\" for entity "
                              "\"%V\" resource \"%V\" not given back",
                              ret->out[i].amount, &name,
                              (ngx_str_t *) &ref.entity_id,
                              (ngx_str_t *) &ref.resource);
            }

            if (e == 0) {
                tokens += ret->out[i].amount;
            }

            ngx_http_zae_limit_metric_add(zone,
                                          NGX_HTTP_ZAE_LIMIT_M_DELTAS_QUEUED,
                                          1);
        }
    }

    ngx_http_zae_limit_metric_add(zone,
                                  NGX_HTTP_ZAE_LIMIT_M_LEASE_TOKENS_RETURNED,
                                  tokens);
}


/*
 * The flush timer's first step: expired leases (all of them when the
 * worker exits: a reload or a quit) go back to the table as deltas, in
 * the round that follows; leases idle for long are freed.
 */

void
ngx_http_zae_limit_lease_expire(ngx_http_zae_limit_main_conf_t *zmcf,
    ngx_log_t *log)
{
    int64_t                       now;
    ngx_uint_t                    i, all;
    ngx_pool_t                   *pool;
    ngx_array_t                   rets;
    ngx_queue_t                  *q, *next;
    ngx_http_zae_limit_shm_t     *shm;
    ngx_http_zae_limit_lret_t    *ret;
    ngx_http_zae_limit_lnode_t   *ln;
    ngx_http_zae_limit_leases_t  *ll;

    if (zmcf->shm_zone == NULL) {
        return;
    }

    shm = zmcf->shm_zone->data;

    if (shm->sh->lease == NULL) {
        return;
    }

    all = ngx_exiting || ngx_terminate || ngx_quit;
    now = ngx_http_zae_limit_now_ms();

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return;
    }

    ngx_array_init(&rets, pool, 4, sizeof(ngx_http_zae_limit_lret_t));

    ngx_shmtx_lock(&shm->shpool->mutex);

    ll = shm->sh->lease;

    for (q = ngx_queue_head(&ll->all); q != ngx_queue_sentinel(&ll->all);
         q = next)
    {
        next = ngx_queue_next(q);
        ln = ngx_queue_data(q, ngx_http_zae_limit_lnode_t, queue);

        if (zae_lease_held(&ln->lease) > 0
            && (all || zae_lease_expired(&ln->lease, now)))
        {
            ret = ngx_array_push(&rets);
            if (ret == NULL) {
                break;
            }

            ret->key.data = ngx_pnalloc(pool, ln->sn.str.len);
            ret->parent.data = ngx_pnalloc(pool, ln->plen + 1);

            if (ret->key.data == NULL || ret->parent.data == NULL) {
                rets.nelts--;
                break;
            }

            ngx_memcpy(ret->key.data, ln->key, ln->sn.str.len);
            ret->key.len = ln->sn.str.len;
            ngx_memcpy(ret->parent.data, ln->parent, ln->plen);
            ret->parent.len = ln->plen;
            ret->shard = ln->lease.shard;

            ngx_http_zae_limit_lease_out(ret, &ln->lease);
            continue;
        }

        if (zae_lease_held(&ln->lease) == 0 && ln->lease.refill_at == 0
            && now - ln->seen
               > NGX_HTTP_ZAE_LIMIT_LEASE_IDLE * ngx_max(ln->ttl, 1000))
        {
            ngx_rbtree_delete(&ll->tree, &ln->sn.node);
            ngx_queue_remove(&ln->queue);
            ngx_slab_free_locked(shm->shpool, ln);
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    /* delta_add() takes the lock itself */

    ret = rets.elts;

    for (i = 0; i < rets.nelts; i++) {
        ngx_http_zae_limit_lease_give_back(zmcf->shm_zone, pool, &ret[i],
                                           log);
    }

    ngx_destroy_pool(pool);
}
