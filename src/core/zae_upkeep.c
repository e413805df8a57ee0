
/*
 * Copyright (C) zae-limit authors
 *
 * Bucket upkeep (zae_upkeep.h): the keys from zae_schema.c, the
 * expressions from the builder of zae_ddb.c.
 */


#include <string.h>

#include "zae_upkeep.h"
#include "zae_schema.h"


/* a request's expressions: placeholders, update and condition texts */

typedef struct {
    zae_ddb_expr_t     x;
    zae_buf_t          upd;
    zae_buf_t          cond;
} zae_upkeep_expr_t;


static void zae_upkeep_init(zae_mem_t *mem, zae_upkeep_expr_t *e);
static const char *zae_upkeep_field(zae_ddb_expr_t *x, zae_str_t *limit,
    const char *field);
static int zae_upkeep_request(zae_mem_t *mem, zae_ddb_req_t *r,
    zae_bucket_ref_t *ref, zae_upkeep_expr_t *e);


static void
zae_upkeep_init(zae_mem_t *mem, zae_upkeep_expr_t *e)
{
    zae_ddb_expr_init(&e->x, mem);
    zae_buf_init(&e->upd, mem, 256);
    zae_buf_init(&e->cond, mem, 64);
}


/* the placeholder of attribute b_{limit}_{field} */

static const char *
zae_upkeep_field(zae_ddb_expr_t *x, zae_str_t *limit, const char *field)
{
    zae_buf_t  b;

    zae_buf_init(&b, x->mem, limit->len + 8);

    if (zae_buf_add_str(&b, "b_") != ZAE_OK
        || zae_buf_add(&b, limit->data, limit->len) != ZAE_OK
        || zae_buf_add_str(&b, "_") != ZAE_OK
        || zae_buf_add_str(&b, field) != ZAE_OK)
    {
        return NULL;
    }

    return zae_ddb_expr_name(x, b.data, b.len);
}


/* the request of shard ref->shard with the expressions built */

static int
zae_upkeep_request(zae_mem_t *mem, zae_ddb_req_t *r, zae_bucket_ref_t *ref,
    zae_upkeep_expr_t *e)
{
    zae_keys_t  k;

    if (e->x.failed || e->upd.failed || e->cond.failed) {
        return ZAE_ERROR;
    }

    memset(&k, 0, sizeof(zae_keys_t));
    k.sk.data = (u_char *) ZAE_BUCKET_SK;
    k.sk.len = sizeof(ZAE_BUCKET_SK) - 1;

    if (zae_keys_bucket_pk(mem, &k.pk, &ref->ns, &ref->entity_id,
                           &ref->resource, ref->shard)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    r->key = zae_keys_key(mem, &k);
    if (r->key == NULL) {
        return ZAE_ERROR;
    }

    r->update.data = e->upd.data;
    r->update.len = e->upd.len;
    r->condition.data = e->cond.data;
    r->condition.len = e->cond.len;
    r->names = e->x.names;
    r->values = e->x.values;

    return ZAE_OK;
}


int
zae_upkeep_sync(zae_mem_t *mem, zae_ddb_req_t *r, zae_bucket_ref_t *ref,
    const zae_limits_t *ls, int64_t ttl, zae_str_t *stale, size_t nstale)
{
    size_t              i, j;
    zae_str_t           name;
    const char         *f[5], *cp, *v[3], *zero, *pk, *t, *tv;
    zae_ddb_expr_t     *x;
    zae_upkeep_expr_t   e;
    const zae_limit_t  *l;

    static const char  *fields[5] = { "cp", "ra", "rp", "tk", "tc" };

    zae_upkeep_init(mem, &e);
    x = &e.x;

    pk = zae_ddb_expr_cname(x, "PK");
    t = zae_ddb_expr_cname(x, "ttl");

    if (pk == NULL || t == NULL) {
        return ZAE_ERROR;
    }

    (void) zae_buf_printf(&e.cond, "attribute_exists(%s)", pk);

    /* SET cp, ra, rp; tk (full) and tc (0) when the limit is new */

    for (i = 0; i < ls->nelts; i++) {
        l = &ls->elts[i];
        name = l->name;

        for (j = 0; j < 5; j++) {
            f[j] = zae_upkeep_field(x, &name, fields[j]);
        }

        v[0] = zae_ddb_expr_int64(x, l->capacity * 1000);
        v[1] = zae_ddb_expr_int64(x, l->refill_amount * 1000);
        v[2] = zae_ddb_expr_int64(x, l->period * 1000);
        cp = zae_ddb_expr_int64(x, l->capacity * 1000);
        zero = zae_ddb_expr_int64(x, 0);

        if (x->failed) {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&e.upd, "%s%s = %s, %s = %s, %s = %s, "
                              "%s = if_not_exists(%s, %s), "
                              "%s = if_not_exists(%s, %s)",
                              i ? ", " : "SET ", f[0], v[0], f[1], v[1],
                              f[2], v[2], f[3], f[3], cp, f[4], f[4], zero);
    }

    if (ttl > 0) {
        tv = zae_ddb_expr_int64(x, ttl);
        if (tv == NULL) {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&e.upd, "%s%s = %s", e.upd.len ? ", " : "SET ", t,
                              tv);
        t = NULL;
    }

    /* REMOVE ttl (entity limits never expire) and the stale limits */

    if (t || nstale) {
        (void) zae_buf_add_str(&e.upd, e.upd.len ? " REMOVE " : "REMOVE ");
    }

    if (t) {
        (void) zae_buf_add_str(&e.upd, t);
    }

    for (i = 0; i < nstale; i++) {
        for (j = 0; j < 5; j++) {
            f[j] = zae_upkeep_field(x, &stale[i], fields[j]);
        }

        if (x->failed) {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&e.upd, "%s%s, %s, %s, %s, %s",
                              t || i ? ", " : "", f[3], f[0], f[1], f[2],
                              f[4]);
    }

    r->return_values.data = (u_char *) "ALL_NEW";
    r->return_values.len = sizeof("ALL_NEW") - 1;

    return zae_upkeep_request(mem, r, ref, &e);
}


int
zae_upkeep_refill(zae_mem_t *mem, zae_ddb_req_t *r, zae_bucket_ref_t *ref,
    int64_t now_ms, int64_t expected_rf, zae_str_t *names, int64_t *tokens,
    size_t n)
{
    size_t              i;
    const char         *rf, *now, *old, *tk, *v;
    zae_ddb_expr_t     *x;
    zae_upkeep_expr_t   e;

    if (n == 0) {
        return ZAE_ERROR;
    }

    zae_upkeep_init(mem, &e);
    x = &e.x;

    rf = zae_ddb_expr_cname(x, "rf");
    now = zae_ddb_expr_int64(x, now_ms);
    old = zae_ddb_expr_int64(x, expected_rf);

    if (x->failed) {
        return ZAE_ERROR;
    }

    (void) zae_buf_printf(&e.upd, "SET %s = %s ADD ", rf, now);
    (void) zae_buf_printf(&e.cond, "%s = %s", rf, old);

    for (i = 0; i < n; i++) {
        tk = zae_upkeep_field(x, &names[i], "tk");
        v = zae_ddb_expr_int64(x, tokens[i]);

        if (x->failed) {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&e.upd, "%s%s %s", i ? ", " : "", tk, v);
    }

    return zae_upkeep_request(mem, r, ref, &e);
}


int
zae_upkeep_shard_count(zae_mem_t *mem, zae_ddb_req_t *r,
    zae_bucket_ref_t *ref, int64_t count)
{
    const char         *sc, *v;
    zae_ddb_expr_t     *x;
    zae_upkeep_expr_t   e;

    zae_upkeep_init(mem, &e);
    x = &e.x;

    sc = zae_ddb_expr_cname(x, "shard_count");
    v = zae_ddb_expr_int64(x, count);

    if (x->failed) {
        return ZAE_ERROR;
    }

    (void) zae_buf_printf(&e.upd, "SET %s = %s", sc, v);
    (void) zae_buf_printf(&e.cond, "%s < %s", sc, v);

    return zae_upkeep_request(mem, r, ref, &e);
}
