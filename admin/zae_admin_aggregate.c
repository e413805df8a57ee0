
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin aggregate: reads the table's DynamoDB Stream and writes
 * hourly/daily/monthly usage snapshots exactly as the zae-limiter
 * aggregator Lambda does (facts 7.2), including the proactive refill;
 * "usage list" and "usage summary" (zae_admin_usage.c) read them back.
 *
 * The aggregator keeps its place in the stream in checkpoint items
 * _/SYSTEM# #AGGREGATOR#{shard id} (sequence_number, closed); Python
 * clients ignore them.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "zae_admin.h"
#include "zae_bucket.h"


#define ZAE_ADMIN_MAX_WINDOWS   3
#define ZAE_ADMIN_AGG_BATCH     1000
#define ZAE_ADMIN_MAX_SHARDS_S  10000


/* per bucket shard of one batch: accumulated deltas, last image */

typedef struct {
    zae_str_t            pk;
    int64_t              shard;
    zae_bucket_ref_t     ref;        /* ns, entity, resource of pk */
    zae_bucket_item_t    last;
    zae_str_t            names[ZAE_SCHEMA_MAX_LIMITS + 1];
    int64_t              deltas[ZAE_SCHEMA_MAX_LIMITS + 1];
    size_t               n;
} zae_admin_agg_t;


typedef struct {
    zae_admin_t         *a;
    zae_window_e         windows[ZAE_ADMIN_MAX_WINDOWS];
    size_t               nwindows;
    int64_t              retention_days;
    zae_admin_agg_t     *aggs;
    size_t               naggs;
    size_t               caggs;
    uint64_t             records;
    uint64_t             snapshots;
    uint64_t             refills;
} zae_admin_aggctx_t;


static volatile sig_atomic_t  zae_admin_stop;


static void
zae_admin_on_signal(int signo)
{
    zae_admin_stop = 1;
}


static int
zae_admin_streams(zae_admin_t *a, zae_ddb_op_e op, zae_buf_t *b, int built,
    zae_av_t **resp)
{
    int  rc;

    if (built != ZAE_OK) {
        zae_admin_error(a, "invalid %s request", zae_ddb_op_name(op));
        return ZAE_ERROR;
    }

    rc = zae_admin_ddb(a, op, b, resp);
    if (rc == ZAE_DECLINED) {
        zae_admin_error(a, "%s failed: %s: %s", zae_ddb_op_name(op),
                        a->err_code, a->err_msg);
        return ZAE_ERROR;
    }

    return rc;
}


static zae_admin_agg_t *
zae_admin_agg_get(zae_admin_aggctx_t *ctx, zae_str_t *pk)
{
    size_t            i, c;
    zae_admin_agg_t  *n;

    for (i = 0; i < ctx->naggs; i++) {
        if (ctx->aggs[i].pk.len == pk->len
            && memcmp(ctx->aggs[i].pk.data, pk->data, pk->len) == 0)
        {
            return &ctx->aggs[i];
        }
    }

    if (ctx->naggs == ctx->caggs) {
        c = ctx->caggs ? ctx->caggs * 2 : 64;
        n = zae_calloc(&ctx->a->mem, c * sizeof(zae_admin_agg_t));
        if (n == NULL) {
            return NULL;
        }

        if (ctx->naggs) {
            memcpy(n, ctx->aggs, ctx->naggs * sizeof(zae_admin_agg_t));
        }

        ctx->aggs = n;
        ctx->caggs = c;
    }

    n = &ctx->aggs[ctx->naggs++];
    memset(n, 0, sizeof(zae_admin_agg_t));
    n->pk = *pk;

    return n;
}


static int
zae_admin_agg_delta(zae_admin_agg_t *g, zae_str_t *name, int64_t delta)
{
    size_t  i;

    for (i = 0; i < g->n; i++) {
        if (g->names[i].len == name->len
            && memcmp(g->names[i].data, name->data, name->len) == 0)
        {
            g->deltas[i] += delta;
            return ZAE_OK;
        }
    }

    if (g->n == ZAE_SCHEMA_MAX_LIMITS + 1) {
        return ZAE_OK;
    }

    g->names[g->n] = *name;
    g->deltas[g->n] = delta;
    g->n++;

    return ZAE_OK;
}


static int
zae_admin_snapshot(zae_admin_aggctx_t *ctx, zae_str_t *ns, zae_str_t *ent,
    zae_str_t *res, zae_str_t *limit, time_t t, int64_t delta)
{
    int                 rc;
    size_t              w;
    zae_buf_t           b;
    zae_str_t           table;
    zae_admin_t        *a;
    zae_usage_delta_t   u;

    a = ctx->a;
    table = zae_admin_str(a->table);

    for (w = 0; w < ctx->nwindows; w++) {
        memset(&u, 0, sizeof(u));
        u.nsid = *ns;
        u.entity_id = *ent;
        u.resource = *res;
        u.limit_name = *limit;
        u.window = ctx->windows[w];
        u.event_time = t;
        u.delta_milli = delta;
        u.ttl = zae_admin_now_ms() / 1000 + ctx->retention_days * 86400;

        zae_buf_init(&b, &a->mem, 1024);

        zae_usage_update_body(&b, &table, &u);

        rc = zae_admin_check(a, zae_admin_ddb(a, ZAE_DDB_UPDATE_ITEM, &b, NULL),
                             "cannot write a usage snapshot");
        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        ctx->snapshots++;
    }

    return ZAE_OK;
}


static zae_bucket_limit_t *
zae_admin_image_limit(zae_bucket_item_t *bi, zae_str_t *name)
{
    return zae_bucket_item_limit(bi, name->data, name->len);
}


/*
 * shard_count grew on shard 0 (facts 3.7): existing shards get the new
 * count, new shards are created as clones of shard 0 holding their
 * share of every limit (wcu undivided) and tc = 0
 */

static int
zae_admin_propagate(zae_admin_aggctx_t *ctx, zae_av_t *nimg, zae_str_t *ns,
    zae_str_t *ent, zae_str_t *res, int64_t old_count, int64_t new_count)
{
    int                rc;
    size_t             i, len;
    int64_t            target, cp;
    zae_av_t          *item, *v;
    zae_str_t          name;
    zae_err_t          err;
    zae_keys_t         k;
    zae_admin_t       *a;
    zae_ddb_req_t      r;
    zae_bucket_ref_t   ref;

    a = ctx->a;

    memset(&ref, 0, sizeof(zae_bucket_ref_t));
    ref.ns = *ns;
    ref.entity_id = *ent;
    ref.resource = *res;

    for (ref.shard = 1;
         ref.shard < old_count && ref.shard < ZAE_ADMIN_MAX_SHARDS_S;
         ref.shard++)
    {
        memset(&r, 0, sizeof(zae_ddb_req_t));

        if (zae_upkeep_shard_count(&a->mem, &r, &ref, new_count) != ZAE_OK) {
            zae_admin_error(a, "cannot build the shard_count update");
            return ZAE_ERROR;
        }

        rc = zae_admin_conditional(a, zae_admin_update(a, &r, NULL),
                                   "cannot propagate shard_count");
        if (rc == ZAE_ERROR) {
            return ZAE_ERROR;
        }
    }

    for (target = old_count;
         target < new_count && target < ZAE_ADMIN_MAX_SHARDS_S;
         target++)
    {
        item = zae_av_copy(&a->mem, nimg);

        if (zae_keys_bucket(&a->mem, &k, ns, ent, res, target) != ZAE_OK
            || zae_keys_to_item(&a->mem, item, &k) != ZAE_OK)
        {
            zae_admin_error(a, "cannot build a bucket shard");
            return ZAE_ERROR;
        }

        zae_item_set_n(&a->mem, item, "shard_count", new_count);

        for (i = 0; i < nimg->nattrs; i++) {
            name = nimg->attrs[i].name;
            v = nimg->attrs[i].value;

            if (name.len < 6 || memcmp(name.data, "b_", 2) != 0
                || memcmp(name.data + name.len - 3, "_cp", 3) != 0
                || zae_av_get_int64(v, &cp, &err) != ZAE_OK)
            {
                continue;
            }

            len = name.len - 5;

            if (!(len == 3 && memcmp(name.data + 2, "wcu", 3) == 0)) {
                cp = zae_floor_div(cp, new_count);
            }

            zae_item_set_n(&a->mem, item,
                (char *) zae_admin_cat(a, "b_%.*s_tk", (int) len,
                                       name.data + 2).data, cp);
            zae_item_set_n(&a->mem, item,
                (char *) zae_admin_cat(a, "b_%.*s_tc", (int) len,
                                       name.data + 2).data, 0);
        }

        rc = zae_admin_conditional(a, zae_admin_put_av(a, item,
                                                       ZAE_REGISTRY_NEW),
                                   "cannot create a bucket shard");
        if (rc == ZAE_ERROR) {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


/* our own checkpoint writes come back through the stream */

static int
zae_admin_own_record(zae_ddb_record_t *rec)
{
    zae_str_t   shard;
    zae_err_t   err;
    zae_keys_t  k;

    memset(&k, 0, sizeof(zae_keys_t));

    return rec->keys != NULL
           && zae_item_get_str(rec->keys, "PK", &k.pk, &err) == ZAE_OK
           && zae_item_get_str(rec->keys, "SK", &k.sk, &err) == ZAE_OK
           && zae_keys_parse_aggregator(&k, &shard) == ZAE_OK;
}


/* one stream record */

static int
zae_admin_agg_record(zae_admin_aggctx_t *ctx, zae_ddb_record_t *rec)
{
    size_t               i;
    int64_t              delta, shard, oc, nc;
    zae_av_t            *nimg, *oimg;
    zae_str_t            s, pk, ns, ent, res;
    zae_err_t            err;
    zae_admin_t         *a;
    zae_admin_agg_t     *g;
    zae_bucket_item_t    nb, ob;
    zae_bucket_limit_t  *nl, *ol;

    a = ctx->a;
    ctx->records++;

    if (rec->event_name.len != 6
        || memcmp(rec->event_name.data, "MODIFY", 6) != 0)
    {
        return ZAE_OK;
    }

    nimg = rec->new_image;
    oimg = rec->old_image;

    if (nimg == NULL || oimg == NULL) {
        return ZAE_OK;
    }

    if (zae_item_get_str(nimg, "SK", &s, &err) != ZAE_OK
        || s.len != sizeof(ZAE_BUCKET_SK) - 1
        || memcmp(s.data, ZAE_BUCKET_SK, s.len) != 0
        || zae_item_get_str(nimg, "PK", &pk, &err) != ZAE_OK
        || zae_keys_parse_bucket_pk(&pk, &ns, &ent, &res, &shard)
           != ZAE_OK)
    {
        /* not a bucket (legacy bucket items are not aggregated) */
        return ZAE_OK;
    }

    if (zae_bucket_item_decode(&a->mem, nimg, &nb, &err) != ZAE_OK
        || zae_bucket_item_decode(&a->mem, oimg, &ob, &err) != ZAE_OK)
    {
        fprintf(stderr, "%s: skipping bucket \"%.*s\": %s\n", a->prog,
                (int) pk.len, pk.data, err.msg);
        return ZAE_OK;
    }

    g = zae_admin_agg_get(ctx, &pk);

    g->last = nb;
    g->shard = shard;
    g->ref.ns = ns;
    g->ref.entity_id = ent;
    g->ref.resource = res;
    g->ref.shard = shard;

    /* usage: b_{L}_tc present in both images, L != wcu */

    for (i = 0; i < nb.nlimits; i++) {
        nl = &nb.limits[i];
        ol = zae_admin_image_limit(&ob, &nl->name);

        if (ol == NULL
            || zae_item_get(nimg, (char *) zae_admin_cat(a, "b_%.*s_tc",
                            (int) nl->name.len, nl->name.data).data) == NULL
            || zae_item_get(oimg, (char *) zae_admin_cat(a, "b_%.*s_tc",
                            (int) nl->name.len, nl->name.data).data) == NULL)
        {
            continue;
        }

        delta = nl->tc - ol->tc;
        if (delta == 0) {
            continue;
        }

        if (zae_admin_agg_delta(g, &nl->name, delta) != ZAE_OK
            || zae_admin_snapshot(ctx, &ns, &ent, &res, &nl->name,
                                  (time_t) zae_floor_div(nb.rf, 1000), delta)
               != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (shard == 0
        && zae_item_get_int64(nimg, "shard_count", &nc, &err) == ZAE_OK
        && zae_item_get_int64(oimg, "shard_count", &oc, &err) == ZAE_OK
        && nc > oc
        && zae_admin_propagate(ctx, nimg, &ns, &ent, &res, oc, nc) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (nb.has_wcu && ob.has_wcu && nb.wcu.tc != ob.wcu.tc) {
        s = zae_admin_str(ZAE_WCU_NAME);

        if (zae_admin_agg_delta(g, &s, nb.wcu.tc - ob.wcu.tc) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


/*
 * Proactive refill (facts 7.2 step 3): per bucket shard of the batch,
 * each limit (wcu included) refilled from the last image to now with
 * cp and ra divided by shard_count; written when the refill is > 0 and
 * the projected tokens are below the batch's consumption
 */

static int
zae_admin_agg_refill(zae_admin_aggctx_t *ctx, zae_admin_agg_t *g)
{
    int                  rc;
    size_t               i, n;
    int64_t              now, sc, cp, ra, new_tk, new_last, rd;
    int64_t              tokens[ZAE_SCHEMA_MAX_LIMITS + 1];
    zae_str_t            names[ZAE_SCHEMA_MAX_LIMITS + 1];
    zae_admin_t         *a;
    zae_ddb_req_t        r;
    zae_bucket_limit_t  *bl;

    a = ctx->a;
    now = zae_admin_now_ms();
    sc = g->last.shard_count > 0 ? g->last.shard_count : 1;
    n = 0;

    for (i = 0; i < g->n; i++) {
        bl = zae_bucket_item_limit(&g->last, g->names[i].data,
                                   g->names[i].len);
        if (bl == NULL || g->deltas[i] <= 0) {
            continue;
        }

        cp = zae_floor_div(bl->cp, sc);
        ra = zae_floor_div(bl->ra, sc);

        zae_bucket_refill(bl->tk, g->last.rf, now, cp, ra, bl->rp, &new_tk,
                          &new_last);

        rd = new_tk - bl->tk;

        if (rd <= 0 || new_tk >= g->deltas[i]) {
            continue;
        }

        names[n] = g->names[i];
        tokens[n] = rd;
        n++;
    }

    if (n == 0) {
        return ZAE_OK;
    }

    memset(&r, 0, sizeof(zae_ddb_req_t));

    if (zae_upkeep_refill(&a->mem, &r, &g->ref, now, g->last.rf, names,
                          tokens, n)
        != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the bucket refill");
        return ZAE_ERROR;
    }

    rc = zae_admin_conditional(a, zae_admin_update(a, &r, NULL),
                               "cannot refill a bucket");

    if (rc == ZAE_DECLINED) {
        /* a client wrote the bucket meanwhile: its refill wins */
        return ZAE_OK;
    }

    if (rc == ZAE_OK) {
        ctx->refills++;
    }

    return rc;
}


/* wcu below 20% on shard 0: double shard_count (facts 3.7) */

static int
zae_admin_agg_shard_up(zae_admin_aggctx_t *ctx, zae_admin_agg_t *g)
{
    int           rc;
    size_t        i;
    int64_t       sc;
    zae_buf_t     b;
    zae_admin_t  *a;

    a = ctx->a;

    if (g->shard != 0 || !g->last.has_wcu || g->last.wcu.cp <= 0
        || (double) g->last.wcu.tk / (double) g->last.wcu.cp >= 0.2)
    {
        return ZAE_OK;
    }

    /*
     * Only when wcu was consumed in this batch: the doubling itself
     * comes back as a MODIFY with the same low wcu, and upstream's
     * aggregator doubles again on it, without end
     */

    for (i = 0; i < g->n; i++) {
        if (g->names[i].len == 3 && memcmp(g->names[i].data, "wcu", 3) == 0
            && g->deltas[i] > 0)
        {
            break;
        }
    }

    if (i == g->n) {
        return ZAE_OK;
    }

    sc = g->last.shard_count > 0 ? g->last.shard_count : 1;

    /* the module's request: SET shard_count = 2 sc IF shard_count = sc */

    g->ref.table = zae_admin_str(a->table);
    zae_buf_init(&b, &a->mem, 512);

    if (zae_proto_bump_shard_request(&b, &g->ref, sc) != ZAE_OK) {
        zae_admin_error(a, "cannot build the shard_count update");
        return ZAE_ERROR;
    }

    rc = zae_admin_conditional(a, zae_admin_ddb(a, ZAE_DDB_UPDATE_ITEM, &b,
                                                 NULL),
                               "cannot double shard_count");

    if (rc == ZAE_OK && sc * 2 > 32) {
        fprintf(stderr, "%s: warning: bucket \"%.*s\" has %lld shards\n",
                a->prog, (int) g->pk.len, g->pk.data, (long long) (sc * 2));
    }

    return rc == ZAE_ERROR ? ZAE_ERROR : ZAE_OK;
}


static int
zae_admin_checkpoint(zae_admin_t *a, zae_str_t *shard, zae_str_t *seq,
    int closed)
{
    int         rc;
    u_char      ts[ZAE_TS_LEN + 1];
    zae_buf_t   b;
    zae_str_t   t;
    zae_keys_t  k;

    (void) zae_keys_aggregator(&a->mem, &k, shard);
    zae_admin_now_ts(ts);
    t.data = ts;
    t.len = ZAE_TS_LEN;

    zae_buf_init(&b, &a->mem, 512);

    zae_buf_add_str(&b, "{");
    zae_rec_attr_s(&b, "PK", &k.pk);
    zae_buf_add_str(&b, ",");
    zae_rec_attr_s(&b, "SK", &k.sk);
    zae_buf_add_str(&b, ",");
    zae_rec_attr_s(&b, "sequence_number", seq);
    zae_buf_printf(&b, ",\"closed\":{\"BOOL\":%s},",
                   closed ? "true" : "false");
    zae_rec_attr_s(&b, "updated_at", &t);
    zae_buf_add_str(&b, "}");

    rc = zae_admin_check(a, zae_admin_put_item(a, &b, NULL),
                         "cannot write the aggregator checkpoint");

    return rc;
}


/*
 * One GetRecords batch: the records, the refills and sharding of the
 * batch, the checkpoint.  *next is the next iterator (len 0: the
 * shard is closed and drained); *empty when nothing but our own
 * checkpoints came back.
 */

static int
zae_admin_agg_batch(zae_admin_aggctx_t *ctx, zae_str_t *shard,
    zae_str_t *iter, char *next, size_t nsize, char *seqbuf, size_t ssize,
    int *empty)
{
    size_t              i;
    zae_av_t           *resp;
    zae_buf_t           b;
    zae_str_t           seq;
    zae_err_t           err;
    zae_admin_t        *a;
    zae_ddb_records_t   recs;

    a = ctx->a;
    *empty = 1;

    zae_buf_init(&b, &a->mem, 512);

    /* iter may point into next */

    if (zae_admin_streams(a, ZAE_DDB_GET_RECORDS, &b,
                          zae_ddb_get_records(&b, iter, ZAE_ADMIN_AGG_BATCH),
                          &resp)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    next[0] = '\0';

    if (zae_ddb_result_records(&a->mem, resp, &recs, &err) != ZAE_OK) {
        zae_admin_error(a, "invalid GetRecords answer: %s", err.msg);
        return ZAE_ERROR;
    }

    seq = zae_admin_str(seqbuf[0] ? seqbuf : NULL);

    ctx->aggs = NULL;
    ctx->naggs = 0;
    ctx->caggs = 0;

    for (i = 0; i < recs.nrecords; i++) {
        if (!zae_admin_own_record(&recs.records[i])) {
            *empty = 0;
        }

        if (zae_admin_agg_record(ctx, &recs.records[i]) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (recs.records[i].seq.len) {
            seq = recs.records[i].seq;
        }
    }

    for (i = 0; i < ctx->naggs; i++) {
        if (zae_admin_agg_refill(ctx, &ctx->aggs[i]) != ZAE_OK
            || zae_admin_agg_shard_up(ctx, &ctx->aggs[i]) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (seq.len && seq.len < ssize) {
        memmove(seqbuf, seq.data, seq.len);
        seqbuf[seq.len] = '\0';
    }

    if (recs.next_iterator.len == 0) {

        /* the shard is closed and drained */

        seq = zae_admin_str(seqbuf);

        return seq.len ? zae_admin_checkpoint(a, shard, &seq, 1) : ZAE_OK;
    }

    if (!*empty && seqbuf[0]) {
        seq = zae_admin_str(seqbuf);

        if (zae_admin_checkpoint(a, shard, &seq, 0) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (recs.next_iterator.len >= nsize) {
        zae_admin_error(a, "shard iterator too long");
        return ZAE_ERROR;
    }

    memcpy(next, recs.next_iterator.data, recs.next_iterator.len);
    next[recs.next_iterator.len] = '\0';

    return ZAE_OK;
}


/*
 * One pass over a shard from its checkpoint: returns ZAE_OK when the
 * shard is drained (closed) or caught up (open).  Every batch has its
 * own arena, so a long catch-up or --follow does not grow memory.
 */

static int
zae_admin_agg_shard(zae_admin_aggctx_t *ctx, zae_str_t *arn,
    zae_str_t *shard)
{
    int           rc, empty, closed;
    char          iterbuf[4096], seqbuf[256];
    zae_av_t     *item, *resp;
    zae_buf_t     b;
    zae_str_t     seq, iter;
    zae_keys_t    k;
    zae_err_t     err;
    zae_mem_t     outer;
    zae_arena_t   arena;
    zae_admin_t  *a;

    a = ctx->a;
    (void) zae_keys_aggregator(&a->mem, &k, shard);

    if (zae_admin_read(a, &k.pk, &k.sk, "cannot read the aggregator checkpoint",
                       &item)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    seq.len = 0;
    seq.data = NULL;
    closed = 0;

    if (item) {
        (void) zae_item_get_str(item, "sequence_number", &seq, &err);
        (void) zae_item_get_bool(item, "closed", &closed, &err);
    }

    if (closed) {
        return ZAE_OK;
    }

    if (seq.len >= sizeof(seqbuf)) {
        zae_admin_error(a, "invalid checkpoint of shard \"%.*s\"",
                        (int) shard->len, shard->data);
        return ZAE_ERROR;
    }

    memcpy(seqbuf, seq.data ? (char *) seq.data : "", seq.len);
    seqbuf[seq.len] = '\0';

    zae_buf_init(&b, &a->mem, 512);

    if (zae_admin_streams(a, ZAE_DDB_GET_SHARD_ITERATOR, &b,
                          zae_ddb_get_shard_iterator(&b, arn, shard,
                              seq.len ? "AFTER_SEQUENCE_NUMBER"
                                      : "TRIM_HORIZON", &seq),
                          &resp)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (zae_ddb_result_shard_iterator(resp, &iter, &err) != ZAE_OK) {
        return ZAE_OK;
    }

    if (iter.len >= sizeof(iterbuf)) {
        zae_admin_error(a, "shard iterator too long");
        return ZAE_ERROR;
    }

    memcpy(iterbuf, iter.data, iter.len);
    iterbuf[iter.len] = '\0';

    outer = a->mem;

    while (!zae_admin_stop) {
        zae_arena_init(&arena, 0);
        a->mem = zae_arena_mem(&arena);

        iter = zae_admin_str(iterbuf);

        rc = zae_admin_agg_batch(ctx, shard, &iter, iterbuf,
                                 sizeof(iterbuf), seqbuf, sizeof(seqbuf),
                                 &empty);

        a->mem = outer;
        zae_arena_free(&arena);

        ctx->aggs = NULL;
        ctx->naggs = 0;
        ctx->caggs = 0;

        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (iterbuf[0] == '\0' || empty) {
            return ZAE_OK;
        }

        if (isatty(STDERR_FILENO)) {
            fprintf(stderr, "\r%llu records, %llu snapshot writes, "
                    "%llu refills", (unsigned long long) ctx->records,
                    (unsigned long long) ctx->snapshots,
                    (unsigned long long) ctx->refills);
        }
    }

    return ZAE_OK;
}


static int
zae_admin_parse_windows(zae_admin_aggctx_t *ctx, const char *s)
{
    const char    *p, *e;
    zae_window_e   w;

    ctx->nwindows = 0;

    for (p = s; *p; p = *e ? e + 1 : e) {
        e = strchr(p, ',');
        if (e == NULL) {
            e = p + strlen(p);
        }

        if (zae_window_parse((u_char *) p, e - p, &w) != ZAE_OK
            || ctx->nwindows == ZAE_ADMIN_MAX_WINDOWS)
        {
            return ZAE_ERROR;
        }

        ctx->windows[ctx->nwindows++] = w;
    }

    return ctx->nwindows ? ZAE_OK : ZAE_ERROR;
}


/* one pass over every shard of the stream */

static int
zae_admin_agg_pass(zae_admin_aggctx_t *ctx, zae_str_t *arn)
{
    size_t             i;
    zae_av_t          *resp;
    zae_buf_t          b;
    zae_str_t          last;
    zae_err_t          err;
    zae_admin_t       *a;
    zae_ddb_stream_t   st;

    a = ctx->a;
    last.len = 0;
    last.data = NULL;

    do {
        zae_buf_init(&b, &a->mem, 512);

        if (zae_admin_streams(a, ZAE_DDB_DESCRIBE_STREAM, &b,
                              zae_ddb_describe_stream(&b, arn, &last, 0),
                              &resp)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        if (zae_ddb_result_stream(&a->mem, resp, &st, &err) != ZAE_OK) {
            zae_admin_error(a, "invalid DescribeStream answer: %s", err.msg);
            return ZAE_ERROR;
        }

        for (i = 0;
             i < st.nshards && i < ZAE_ADMIN_MAX_SHARDS_S && !zae_admin_stop;
             i++)
        {
            if (zae_admin_agg_shard(ctx, arn, &st.shards[i].id) != ZAE_OK) {
                return ZAE_ERROR;
            }
        }

        last = st.last_shard;

    } while (last.len && !zae_admin_stop);

    return ZAE_OK;
}


int
zae_admin_cmd_aggregate(zae_admin_t *a)
{
    int                  rc, follow, pass;
    char                *end;
    zae_av_t            *o;
    zae_str_t            arn;
    zae_ddb_table_t      tbl;
    zae_mem_t            outer;
    const char          *s;
    zae_arena_t          arena;
    struct timespec      ts;
    struct sigaction             sa;
    zae_admin_aggctx_t           ctx;
    zae_admin_aggregate_opts_t  *opts = a->opts;

    memset(&ctx, 0, sizeof(ctx));
    ctx.a = a;
    ctx.retention_days = ZAE_USAGE_RETENTION_DAYS;

    s = opts->snapshot_windows;

    if (zae_admin_parse_windows(&ctx, s ? s : "hourly,daily") != ZAE_OK) {
        return zae_admin_usage_error(a, "invalid --snapshot-windows \"%s\": "
                                     "use hourly, daily, monthly",
                                     zae_admin_shown(a, s));
    }

    s = opts->usage_retention_days;

    if (s) {
        ctx.retention_days = strtol(s, &end, 10);

        if (*s == '\0' || *end != '\0' || ctx.retention_days < 1
            || ctx.retention_days > 36500)
        {
            return zae_admin_usage_error(a, "invalid --usage-retention-days "
                                         "\"%s\"", zae_admin_shown(a, s));
        }
    }

    follow = opts->follow;

    /*
     * SIGTERM (systemctl stop) and SIGINT only set a flag, read between
     * batches: the batch in hand is finished and its checkpoint written
     * before the exit, so no acknowledged position is lost and nothing
     * is counted twice.  SA_RESTART lets a DynamoDB call in progress
     * complete.  Installed before the first call, so that a stop at any
     * time ends with exit 0.
     */

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = zae_admin_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);

    if (sigaction(SIGTERM, &sa, NULL) != 0
        || sigaction(SIGINT, &sa, NULL) != 0)
    {
        zae_admin_error(a, "sigaction() failed: %s", strerror(errno));
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_describe(a, &tbl) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    arn = tbl.stream_arn;

    if (arn.len == 0) {
        zae_admin_error(a, "table \"%s\" has no stream", a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    outer = a->mem;

    for (pass = 0; !zae_admin_stop; pass++) {
        zae_arena_init(&arena, 0);
        a->mem = zae_arena_mem(&arena);

        rc = zae_admin_agg_pass(&ctx, &arn);

        a->mem = outer;
        zae_arena_free(&arena);

        if (rc != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        if (!follow) {
            break;
        }

        ts.tv_sec = 1;
        ts.tv_nsec = 0;
        nanosleep(&ts, NULL);
    }

    if (ctx.records && isatty(STDERR_FILENO)) {
        fprintf(stderr, "\n");
    }

    o = zae_admin_json_obj(a);

    zae_admin_set_int(a, o, "records", (int64_t) ctx.records);
    zae_admin_set_int(a, o, "snapshot_writes", (int64_t) ctx.snapshots);
    zae_admin_set_int(a, o, "refills", (int64_t) ctx.refills);

    return zae_admin_print(a, o, "aggregated %llu stream records: %llu "
                           "snapshot writes, %llu bucket refills\n",
                           (unsigned long long) ctx.records,
                           (unsigned long long) ctx.snapshots,
                           (unsigned long long) ctx.refills);
}
