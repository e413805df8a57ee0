
/*
 * Copyright (C) zae-limit authors
 *
 * The slow path of an acquire: the reads (META, the bucket, the
 * parent), the plan computed from them, the transactional write that
 * carries it out and its retry after a conflict, and the write's answer.
 * The speculative path, the adjustments and the shared helpers are in
 * zae_proto.c.
 */


#include <inttypes.h>

#include "zae_proto.h"
#include "zae_proto_int.h"
#include "zae_bucket.h"


static int zae_proto_item_normal(zae_mem_t *mem, zae_str_t *ns,
    zae_proto_item_t *it, int64_t now_ms, zae_ddb_action_t *act);
static int zae_proto_item_create(zae_mem_t *mem, zae_str_t *ns,
    zae_proto_item_t *it, int64_t now_ms, zae_ddb_action_t *act);
static int zae_proto_item_retry(zae_mem_t *mem, zae_str_t *ns,
    zae_proto_item_t *it, zae_ddb_action_t *act);
static int zae_proto_update_action(zae_mem_t *mem, zae_str_t *ns,
    zae_proto_item_t *it, zae_buf_t *upd, zae_buf_t *cond,
    zae_ddb_expr_t *x, zae_ddb_action_t *act);
static int zae_proto_once_action(zae_mem_t *mem, const zae_proto_plan_t *plan,
    zae_ddb_action_t *act);
static int zae_proto_dispatch(zae_buf_t *b, zae_ddb_action_t *acts,
    size_t n, const zae_proto_plan_t *plan, zae_ddb_op_e *op);


/* the slow path's reads: META, bucket shard 0, the parent's shard 0 */

static int
zae_proto_read_keys(zae_mem_t *mem, zae_bucket_ref_t *ref, zae_str_t *parent,
    unsigned what, zae_keys_t *keys)
{
    memset(keys, 0, 3 * sizeof(zae_keys_t));

    if (what & ZAE_READ_META) {
        if (zae_keys_entity_meta(mem, &keys[0], &ref->ns, &ref->entity_id,
                                 NULL)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (what & ZAE_READ_BUCKET) {
        if (zae_keys_bucket(mem, &keys[1], &ref->ns, &ref->entity_id,
                            &ref->resource, 0)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (what & ZAE_READ_PARENT) {
        if (parent == NULL || parent->len == 0
            || zae_keys_bucket(mem, &keys[2], &ref->ns, parent,
                               &ref->resource, 0)
               != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


int
zae_proto_read_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_str_t *parent, unsigned what)
{
    zae_keys_t  keys[3];

    if ((what & 7) == 0
        || zae_proto_read_keys(b->mem, ref, parent, what, keys) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_batch_get_request(b, &ref->table, keys, 3, 0);
}


int
zae_proto_read_decode(zae_mem_t *mem, zae_bucket_ref_t *ref,
    zae_str_t *parent, unsigned what, const zae_ddb_http_resp_t *resp,
    zae_proto_read_t *out, zae_err_t *err)
{
    unsigned     un;
    zae_av_t    *root, *items[3];
    zae_keys_t   keys[3];

    memset(out, 0, sizeof(zae_proto_read_t));

    if (zae_proto_read_keys(mem, ref, parent, what, keys) != ZAE_OK) {
        return zae_err_set(err, "bad read request");
    }

    if (zae_ddb_decode(mem, resp, &root, &out->error) != ZAE_OK) {
        return ZAE_DECLINED;
    }

    if (zae_batch_get_items(root, &ref->table, keys, 3, items, &un, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    out->unprocessed = un & 7;

    if (items[0]) {
        if (zae_entity_meta_decode(mem, items[0], &out->meta, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        out->has_meta = 1;
    }

    if (items[1]) {
        if (zae_bucket_item_decode(mem, items[1], &out->bucket, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        out->has_bucket = 1;
    }

    if (items[2]) {
        if (zae_bucket_item_decode(mem, items[2], &out->parent_bucket, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        out->has_parent_bucket = 1;
    }

    return ZAE_OK;
}


/*
 * The compute step of the slow path (docs/table-format.md 6.3).  For
 * each entity and each resolved limit: the bucket's stored state (tk at
 * rf, cp/ra/rp), or the config limit at full capacity when the limit or
 * the bucket is absent; refill and try-consume; the status of every
 * resolved limit.
 *
 * Our fixes: a limit absent from an existing bucket is marked is_new
 * and initialised by the Normal write (docs/table-format.md 6.4), and
 * wcu is refilled lazily like any other limit (6.8).
 */

int
zae_proto_slow_compute(zae_mem_t *mem, zae_proto_entity_t *ents,
    size_t nents, zae_amount_t *consume, size_t n, int64_t now_ms,
    int64_t ttl_multiplier, zae_proto_plan_t *plan, zae_err_t *err)
{
    size_t                i, j, k, total, ns;
    int64_t               amount, secs;
    zae_bucket_t          st;
    zae_proto_item_t     *it;
    const zae_limit_t    *l;
    zae_proto_limit_t    *pl;
    zae_bucket_limit_t   *bl;
    zae_proto_entity_t   *e;
    zae_bucket_delta_t    d;
    zae_bucket_result_t   br;

    memset(plan, 0, sizeof(zae_proto_plan_t));

    plan->now_ms = now_ms;

    if (nents < 1 || nents > 2) {
        return zae_err_set(err, "one or two entities expected");
    }

    if (n && zae_proto_check_consume(consume, n, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    total = 0;

    for (i = 0; i < nents; i++) {
        if (ents[i].limits == NULL || ents[i].limits->nelts == 0) {
            return zae_err_set(err, "no limits for entity \"%.*s\"",
                               (int) (ents[i].entity_id.len > 64
                                      ? 64 : ents[i].entity_id.len),
                               (char *) ents[i].entity_id.data);
        }

        total += ents[i].limits->nelts;
    }

    plan->statuses = zae_calloc(mem, total * sizeof(zae_limit_status_t));
    if (plan->statuses == NULL) {
        return zae_err_set(err, "out of memory");
    }

    ns = 0;

    for (i = 0; i < nents; i++) {
        e = &ents[i];
        it = &plan->items[i];

        it->kind = e->bucket ? ZAE_WRITE_NORMAL : ZAE_WRITE_CREATE;
        it->entity_id = e->entity_id;
        it->resource = e->resource;
        it->nlimits = e->limits->nelts;

        if (it->kind == ZAE_WRITE_NORMAL) {
            it->expected_rf = e->bucket->rf;

        } else if (i == 0) {
            it->cascade = e->cascade;
            it->parent_id = e->parent_id;
        }

        /* else the parent's own bucket: cascade false, no parent_id */

        it->limits = zae_calloc(mem,
                                it->nlimits * sizeof(zae_proto_limit_t));
        if (it->limits == NULL) {
            return zae_err_set(err, "out of memory");
        }

        for (j = 0; j < it->nlimits; j++) {
            l = &e->limits->elts[j];
            pl = &it->limits[j];

            amount = 0;

            for (k = 0; k < n; k++) {
                if (consume[k].name.len == l->name.len
                    && memcmp(consume[k].name.data, l->name.data,
                              l->name.len)
                       == 0)
                {
                    amount = consume[k].amount;
                    break;
                }
            }

            bl = e->bucket ? zae_bucket_item_limit(e->bucket, l->name.data,
                                                   l->name.len)
                           : NULL;

            pl->name = l->name;

            if (bl) {
                st.tk = bl->tk;
                st.last = e->bucket->rf;
                st.cp = bl->cp;
                st.ra = bl->ra;
                st.rp = bl->rp;

            } else {
                st.cp = zae_mul_sat(l->capacity, 1000);
                st.ra = zae_mul_sat(l->refill_amount, 1000);
                st.rp = zae_mul_sat(l->period, 1000);
                st.tk = st.cp;
                st.last = now_ms;
                pl->is_new = e->bucket ? 1 : 0;
            }

            (void) zae_bucket_try_consume(&st, amount, now_ms, &br);

            pl->cp = st.cp;
            pl->ra = st.ra;
            pl->rp = st.rp;
            pl->stored_tk = bl ? bl->tk : 0;
            pl->new_tk = br.new_tk;
            pl->consumed = amount * 1000;

            if (pl->is_new) {
                /* initialised by ADD from 0: no floor clause */
                pl->refill_added = 0;
                pl->tk_delta = pl->new_tk;
                pl->tc_delta = pl->consumed;
                pl->floor = 0;

            } else {
                zae_bucket_write_delta(pl->stored_tk, pl->new_tk,
                                       pl->consumed, &d);
                pl->refill_added = d.refill_added;
                pl->tk_delta = d.tk_delta;
                pl->tc_delta = d.tc_delta;
                pl->floor = d.floor;
            }

            zae_proto_status(&plan->statuses[ns++], &e->entity_id,
                             &e->resource, (zae_str_t *) &l->name,
                             l->capacity, l->refill_amount, l->period,
                             amount, &br);

            if (br.exceeded) {
                plan->rejected = 1;
            }
        }

        /* our fix: refill the hidden wcu limit on Normal writes */

        if (it->kind == ZAE_WRITE_NORMAL && !e->bucket->has_wcu) {

            /* a bucket without wcu (not written by zae-limiter) gets it */

            pl = &it->wcu;
            zae_str_set(&pl->name, ZAE_WCU_NAME);
            pl->cp = ZAE_WCU_MILLI;
            pl->ra = ZAE_WCU_MILLI;
            pl->rp = ZAE_WCU_PERIOD_MS;
            pl->new_tk = ZAE_WCU_MILLI;
            pl->tk_delta = ZAE_WCU_MILLI;
            pl->is_new = 1;

            it->has_wcu = 1;

        } else if (it->kind == ZAE_WRITE_NORMAL) {
            bl = &e->bucket->wcu;

            st.tk = bl->tk;
            st.last = e->bucket->rf;
            st.cp = bl->cp;
            st.ra = bl->ra;
            st.rp = bl->rp;

            (void) zae_bucket_try_consume(&st, 0, now_ms, &br);

            pl = &it->wcu;
            zae_str_set(&pl->name, ZAE_WCU_NAME);
            pl->cp = st.cp;
            pl->ra = st.ra;
            pl->rp = st.rp;
            pl->stored_tk = bl->tk;
            pl->new_tk = br.tk;

            zae_bucket_write_delta(bl->tk, br.tk, 0, &d);
            pl->refill_added = d.refill_added;
            pl->tk_delta = d.tk_delta;

            it->has_wcu = (pl->tk_delta > 0);
        }

        /* the ttl policy (docs/table-format.md 6.9) */

        if (e->source == ZAE_LEVEL_ENTITY) {
            it->remove_ttl = (it->kind == ZAE_WRITE_NORMAL);

        } else {
            secs = zae_bucket_ttl_seconds(e->limits, ttl_multiplier);

            if (secs > 0) {
                it->set_ttl = 1;
                it->ttl = zae_add_sat(zae_floor_div(now_ms, 1000), secs);
            }
        }
    }

    plan->nitems = nents;
    plan->nstatuses = ns;

    if (plan->rejected) {
        plan->retry_ms = zae_proto_primary(plan->statuses, ns);
    }

    return ZAE_OK;
}


/*
 * Normal: SET #rf = :now[, #ttl = :ttl][, cp/ra/rp of new limits]
 *         ADD #tk :delta, #tc :tc ... [, wcu tk refill][ REMOVE #ttl]
 *         IF #rf = :expected_rf[ AND #tk >= :floor ...]
 */

static int
zae_proto_item_normal(zae_mem_t *mem, zae_str_t *ns, zae_proto_item_t *it,
    int64_t now_ms, zae_ddb_action_t *act)
{
    size_t              i;
    zae_buf_t           upd, cond;
    const char         *rf, *ttl, *a, *v, *f;
    zae_ddb_expr_t      x;
    zae_proto_limit_t  *pl;

    static const char  *sfx[] = { "_cp", "_ra", "_rp" };

    zae_ddb_expr_init(&x, mem);
    zae_buf_init(&upd, mem, 512);
    zae_buf_init(&cond, mem, 256);

    rf = zae_ddb_expr_cname(&x, "rf");
    v = zae_ddb_expr_int64(&x, now_ms);

    if (rf == NULL || v == NULL) {
        return ZAE_ERROR;
    }

    (void) zae_buf_printf(&upd, "SET %s = %s", rf, v);

    ttl = NULL;

    if (it->set_ttl || it->remove_ttl) {
        ttl = zae_ddb_expr_cname(&x, "ttl");
        if (ttl == NULL) {
            return ZAE_ERROR;
        }
    }

    if (it->set_ttl) {
        v = zae_ddb_expr_int64(&x, it->ttl);
        if (v == NULL) {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, ", %s = %s", ttl, v);
    }

    for (i = 0; i <= it->nlimits; i++) {
        pl = (i < it->nlimits) ? &it->limits[i] : &it->wcu;

        if (!pl->is_new || (i == it->nlimits && !it->has_wcu)) {
            continue;
        }

        if (zae_proto_attr(&x, &pl->name, sfx[0], &a) != ZAE_OK
            || (v = zae_ddb_expr_int64(&x, pl->cp)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, ", %s = %s", a, v);

        if (zae_proto_attr(&x, &pl->name, sfx[1], &a) != ZAE_OK
            || (v = zae_ddb_expr_int64(&x, pl->ra)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, ", %s = %s", a, v);

        if (zae_proto_attr(&x, &pl->name, sfx[2], &a) != ZAE_OK
            || (v = zae_ddb_expr_int64(&x, pl->rp)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, ", %s = %s", a, v);
    }

    v = zae_ddb_expr_int64(&x, it->expected_rf);
    if (v == NULL) {
        return ZAE_ERROR;
    }

    (void) zae_buf_printf(&cond, "%s = %s", rf, v);

    for (i = 0; i <= it->nlimits; i++) {
        if (i == it->nlimits) {
            if (!it->has_wcu) {
                break;
            }

            pl = &it->wcu;

        } else {
            pl = &it->limits[i];
        }

        if (zae_proto_attr(&x, &pl->name, "_tk", &a) != ZAE_OK
            || (v = zae_ddb_expr_int64(&x, pl->tk_delta)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, "%s%s %s", i ? ", " : " ADD ", a, v);

        if (pl->floor > 0) {
            f = zae_ddb_expr_int64(&x, pl->floor);
            if (f == NULL) {
                return ZAE_ERROR;
            }

            (void) zae_buf_printf(&cond, " AND %s >= %s", a, f);
        }

        if (i == it->nlimits) {
            /* wcu: refill only, tc is not touched */
            break;
        }

        if (zae_proto_attr(&x, &pl->name, "_tc", &a) != ZAE_OK
            || (v = zae_ddb_expr_int64(&x, pl->tc_delta)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, ", %s %s", a, v);
    }

    if (it->remove_ttl) {
        (void) zae_buf_printf(&upd, " REMOVE %s", ttl);
    }

    return zae_proto_update_action(mem, ns, it, &upd, &cond, &x, act);
}


/* an UpdateItem action on shard 0 of the item's bucket */

static int
zae_proto_update_action(zae_mem_t *mem, zae_str_t *ns, zae_proto_item_t *it,
    zae_buf_t *upd, zae_buf_t *cond, zae_ddb_expr_t *x, zae_ddb_action_t *act)
{
    if (upd->failed || cond->failed || x->failed) {
        return ZAE_ERROR;
    }

    memset(act, 0, sizeof(zae_ddb_action_t));

    act->type = ZAE_DDB_ACT_UPDATE;

    if (zae_proto_key(mem, ns, &it->entity_id, &it->resource, 0,
                      (zae_av_t **) &act->req.key)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    act->req.update.data = upd->data;
    act->req.update.len = upd->len;
    act->req.condition.data = cond->data;
    act->req.condition.len = cond->len;
    act->req.names = x->names;
    act->req.values = x->values;

    return ZAE_OK;
}


/* Create: PutItem of the full item IF attribute_not_exists(PK) */

static int
zae_proto_item_create(zae_mem_t *mem, zae_str_t *ns, zae_proto_item_t *it,
    int64_t now_ms, zae_ddb_action_t *act)
{
    size_t               i;
    zae_bucket_item_t    bk;
    zae_bucket_limit_t  *bl;

    memset(&bk, 0, sizeof(zae_bucket_item_t));

    bk.entity_id = it->entity_id;
    bk.resource = it->resource;
    bk.parent_id = it->parent_id;
    bk.cascade = it->cascade;
    bk.rf = now_ms;
    bk.shard_count = 1;
    bk.has_ttl = it->set_ttl;
    bk.ttl = it->ttl;
    bk.nlimits = it->nlimits;

    bk.limits = zae_calloc(mem, it->nlimits * sizeof(zae_bucket_limit_t));
    if (bk.limits == NULL) {
        return ZAE_ERROR;
    }

    for (i = 0; i < it->nlimits; i++) {
        bl = &bk.limits[i];

        bl->name = it->limits[i].name;
        bl->tk = it->limits[i].new_tk;
        bl->cp = it->limits[i].cp;
        bl->ra = it->limits[i].ra;
        bl->rp = it->limits[i].rp;
        bl->tc = it->limits[i].consumed;
    }

    memset(act, 0, sizeof(zae_ddb_action_t));

    act->type = ZAE_DDB_ACT_PUT;
    act->req.item = zae_bucket_item_encode(mem, ns, &bk, 0);

    if (act->req.item == NULL) {
        return ZAE_ERROR;
    }

    zae_str_set(&act->req.condition, "attribute_not_exists(PK)");

    return ZAE_OK;
}


/*
 * The slow path's write made idempotent (zae_proto.h): the plan's id in
 * the acquirer's attribute of an action built by the item writers
 */

static int
zae_proto_once_action(zae_mem_t *mem, const zae_proto_plan_t *plan,
    zae_ddb_action_t *act)
{
    zae_buf_t       upd, cond;
    zae_av_t       *v;
    const char     *wn, *wv;
    zae_ddb_expr_t  x;

    if (plan->once_id.len == 0) {
        return ZAE_OK;
    }

    if (plan->once_attr.len == 0 || plan->once_id.len > 36) {
        return ZAE_ERROR;
    }

    if (act->type == ZAE_DDB_ACT_PUT) {

        /* a create refused because the item exists: was it this one? */

        v = zae_av_str(mem, plan->once_id.data, plan->once_id.len);

        if (v == NULL
            || zae_av_map_add(mem, (zae_av_t *) act->req.item,
                              plan->once_attr.data,
                              plan->once_attr.len, v)
               != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        return ZAE_OK;
    }

    zae_ddb_expr_init(&x, mem);
    x.names = (zae_av_t *) act->req.names;
    x.values = (zae_av_t *) act->req.values;

    if (zae_proto_once(&x, plan->once_attr.data, plan->once_attr.len,
                       &plan->once_id, &wn, &wv)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    zae_buf_init(&upd, mem, act->req.update.len + 32);
    zae_buf_init(&cond, mem, act->req.condition.len + 64);

    /* one SET clause: the id joins the write's own, or starts one */

    if (act->req.update.len > 4
        && memcmp(act->req.update.data, "SET ", 4) == 0)
    {
        (void) zae_buf_printf(&upd, "SET %s = %s, %.*s", wn, wv,
                              (int) (act->req.update.len - 4),
                              act->req.update.data + 4);

    } else {
        (void) zae_buf_printf(&upd, "%.*s SET %s = %s",
                              (int) act->req.update.len, act->req.update.data,
                              wn, wv);
    }

    (void) zae_buf_printf(&cond, "%.*s", (int) act->req.condition.len,
                          act->req.condition.data);
    zae_proto_once_cond(&cond, wn, wv);

    if (upd.failed || cond.failed) {
        return ZAE_ERROR;
    }

    act->req.update.data = upd.data;
    act->req.update.len = upd.len;
    act->req.condition.data = cond.data;
    act->req.condition.len = cond.len;
    act->req.names = x.names;
    act->req.values = x.values;

    return ZAE_OK;
}


int
zae_proto_applied_before(const zae_av_t *old, const zae_proto_plan_t *plan)
{
    return zae_proto_holds_id(old, &plan->once_attr, &plan->once_id);
}


int
zae_proto_holds_id(const zae_av_t *old, const zae_str_t *attr,
    const zae_str_t *id)
{
    zae_av_t  *v;
    zae_str_t  s;

    if (old == NULL || id->len == 0) {
        return 0;
    }

    /* attr is NUL-terminated */

    v = zae_item_get(old, (const char *) attr->data);

    return v != NULL && zae_av_get_str(v, &s) == ZAE_OK
           && s.len == id->len && memcmp(s.data, id->data, s.len) == 0;
}


static int
zae_proto_dispatch(zae_buf_t *b, zae_ddb_action_t *acts, size_t n,
    const zae_proto_plan_t *plan, zae_ddb_op_e *op)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (zae_proto_once_action(b->mem, plan, &acts[i]) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (n == 1) {

        /*
         * with an id: the old item tells a condition failure from a lost
         * answer of this very write
         */

        if (plan->once_id.len) {
            zae_str_set(&acts[0].req.return_values_ccf, "ALL_OLD");
        }

        if (acts[0].type == ZAE_DDB_ACT_PUT) {
            *op = ZAE_DDB_PUT_ITEM;
            return zae_ddb_put_item(b, &acts[0].req);
        }

        *op = ZAE_DDB_UPDATE_ITEM;
        return zae_ddb_update_item(b, &acts[0].req);
    }

    *op = ZAE_DDB_TRANSACT_WRITE_ITEMS;

    /* DynamoDB applies a transaction sent again with its token once */

    return zae_ddb_transact_write(b, acts, n,
                                  plan->once_id.len ? &plan->once_id : NULL,
                                  NULL);
}


int
zae_proto_write_request(zae_buf_t *b, zae_str_t *table, zae_str_t *ns,
    zae_proto_plan_t *plan, zae_ddb_op_e *op)
{
    size_t            i;
    zae_ddb_action_t  acts[2];

    if (plan->rejected || plan->nitems < 1 || plan->nitems > 2) {
        return ZAE_ERROR;
    }

    for (i = 0; i < plan->nitems; i++) {
        if (plan->items[i].kind == ZAE_WRITE_CREATE) {
            if (zae_proto_item_create(b->mem, ns, &plan->items[i],
                                      plan->now_ms, &acts[i])
                != ZAE_OK)
            {
                return ZAE_ERROR;
            }

        } else if (zae_proto_item_normal(b->mem, ns, &plan->items[i],
                                         plan->now_ms, &acts[i])
                   != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        acts[i].req.table = *table;
    }

    return zae_proto_dispatch(b, acts, plan->nitems, plan, op);
}


/* Retry: ADD #tk :-c, #tc :c IF #tk >= :c, for limits consumed > 0 */

static int
zae_proto_item_retry(zae_mem_t *mem, zae_str_t *ns, zae_proto_item_t *it,
    zae_ddb_action_t *act)
{
    size_t              i, n;
    zae_buf_t           upd, cond;
    const char         *tk, *tc, *neg, *pos, *min;
    zae_ddb_expr_t      x;
    zae_proto_limit_t  *pl;

    zae_ddb_expr_init(&x, mem);
    zae_buf_init(&upd, mem, 256);
    zae_buf_init(&cond, mem, 256);

    n = 0;

    for (i = 0; i < it->nlimits; i++) {
        pl = &it->limits[i];

        if (pl->consumed <= 0) {
            continue;
        }

        if (zae_proto_attr(&x, &pl->name, "_tk", &tk) != ZAE_OK
            || zae_proto_attr(&x, &pl->name, "_tc", &tc) != ZAE_OK
            || (neg = zae_ddb_expr_int64(&x, -pl->consumed)) == NULL
            || (pos = zae_ddb_expr_int64(&x, pl->consumed)) == NULL
            || (min = zae_ddb_expr_int64(&x, pl->consumed)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, "%s%s %s, %s %s", n ? ", " : "ADD ",
                              tk, neg, tc, pos);
        (void) zae_buf_printf(&cond, "%s%s >= %s", n ? " AND " : "", tk,
                              min);
        n++;
    }

    if (n == 0) {
        return ZAE_DECLINED;
    }

    return zae_proto_update_action(mem, ns, it, &upd, &cond, &x, act);
}


int
zae_proto_retry_request(zae_buf_t *b, zae_str_t *table, zae_str_t *ns,
    zae_proto_plan_t *plan, zae_ddb_op_e *op)
{
    int               rc;
    size_t            i, n;
    zae_ddb_action_t  acts[2];

    if (plan->nitems < 1 || plan->nitems > 2) {
        return ZAE_ERROR;
    }

    n = 0;

    for (i = 0; i < plan->nitems; i++) {
        rc = zae_proto_item_retry(b->mem, ns, &plan->items[i], &acts[n]);

        if (rc == ZAE_ERROR) {
            return ZAE_ERROR;
        }

        if (rc == ZAE_OK) {
            acts[n++].req.table = *table;
        }
    }

    if (n == 0) {
        return ZAE_DECLINED;
    }

    return zae_proto_dispatch(b, acts, n, plan, op);
}


/*
 * After a failed retry: every entry is exceeded; available is the local
 * balance after consumption, the retry comes from the local deficit
 * (and can be 0)
 */

int
zae_proto_retry_reject(zae_proto_plan_t *plan)
{
    size_t              i, j, s;
    zae_proto_limit_t  *pl;
    zae_limit_status_t *st;

    s = 0;

    for (i = 0; i < plan->nitems; i++) {
        for (j = 0; j < plan->items[i].nlimits; j++) {
            if (s >= plan->nstatuses) {
                return ZAE_ERROR;
            }

            pl = &plan->items[i].limits[j];
            st = &plan->statuses[s++];

            st->exceeded = 1;
            st->available = zae_floor_div(pl->new_tk, 1000);
            st->retry_after_ms = zae_bucket_retry_ms(pl->consumed
                                                     - pl->new_tk,
                                                     pl->ra, pl->rp);
        }
    }

    plan->rejected = 1;
    plan->retry_ms = zae_proto_primary(plan->statuses, plan->nstatuses);

    return ZAE_OK;
}


zae_proto_write_result_e
zae_proto_write_decode(zae_mem_t *mem, const zae_ddb_http_resp_t *resp,
    zae_ddb_error_t *error)
{
    size_t     i;
    zae_av_t  *root;
    zae_str_t *c;

    if (zae_ddb_decode(mem, resp, &root, error) == ZAE_OK) {
        return ZAE_WRITE_OK;
    }

    switch (error->cls) {

    case ZAE_DDB_ERR_CONDITIONAL:
        return ZAE_WRITE_CONDITION_FAILED;

    case ZAE_DDB_ERR_TXN_CONFLICT:
        return ZAE_WRITE_CONFLICT;

    case ZAE_DDB_ERR_TXN_CANCELED:

        for (i = 0; i < error->nreasons; i++) {
            c = &error->reasons[i].code;

            if (c->len == sizeof("ConditionalCheckFailed") - 1
                && memcmp(c->data, "ConditionalCheckFailed", c->len) == 0)
            {
                return ZAE_WRITE_CONDITION_FAILED;
            }
        }

        for (i = 0; i < error->nreasons; i++) {
            c = &error->reasons[i].code;

            if (c->len == sizeof("TransactionConflict") - 1
                && memcmp(c->data, "TransactionConflict", c->len) == 0)
            {
                return ZAE_WRITE_CONFLICT;
            }
        }

        return ZAE_WRITE_ERROR;

    default:
        return ZAE_WRITE_ERROR;
    }
}
