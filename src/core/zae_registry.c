
/*
 * Copyright (C) zae-limit authors
 *
 * The table's registry records (zae_registry.h): their keys come from
 * zae_schema.c, their expressions from the builder of zae_ddb.c.
 */


#include <stdio.h>
#include <string.h>

#include "zae_registry.h"
#include "zae_schema.h"


static int zae_registry_start(zae_mem_t *mem, zae_ddb_req_t *r,
    zae_ddb_expr_t *x, zae_keys_t *k);
static int zae_registry_done(zae_ddb_req_t *r, zae_ddb_expr_t *x,
    char *update, int n, size_t size);


/* the request's key from k, an empty expression builder */

static int
zae_registry_start(zae_mem_t *mem, zae_ddb_req_t *r, zae_ddb_expr_t *x,
    zae_keys_t *k)
{
    r->key = zae_keys_key(mem, k);
    if (r->key == NULL) {
        return ZAE_ERROR;
    }

    zae_ddb_expr_init(x, mem);

    return ZAE_OK;
}


/* the update expression (n bytes formatted into update), names, values */

static int
zae_registry_done(zae_ddb_req_t *r, zae_ddb_expr_t *x, char *update, int n,
    size_t size)
{
    if (x->failed || n < 0 || (size_t) n >= size) {
        return ZAE_ERROR;
    }

    r->update.data = (u_char *) update;
    r->update.len = (size_t) n;
    r->names = x->names;
    r->values = x->values;

    return ZAE_OK;
}


/* "SET GSI4PK = if_not_exists(GSI4PK, :a), GSI4SK = ...(GSI4SK, :b) " */

static const char *
zae_registry_gsi4(zae_mem_t *mem, zae_ddb_expr_t *x, zae_keys_t *k)
{
    int          n;
    char        *s;
    size_t       size;
    const char  *pk, *sk;

    pk = zae_ddb_expr_str(x, k->gsi4pk.data, k->gsi4pk.len);
    sk = zae_ddb_expr_str(x, k->gsi4sk.data, k->gsi4sk.len);

    if (pk == NULL || sk == NULL) {
        return NULL;
    }

    size = 96 + strlen(pk) + strlen(sk);

    s = zae_alloc(mem, size);
    if (s == NULL) {
        return NULL;
    }

    n = snprintf(s, size, "SET GSI4PK = if_not_exists(GSI4PK, %s), "
                 "GSI4SK = if_not_exists(GSI4SK, %s) ", pk, sk);

    return n > 0 && (size_t) n < size ? s : NULL;
}


int
zae_registry_resource(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *ns,
    zae_str_t *resource, int add)
{
    int              n;
    char            *update;
    zae_av_t        *set, *v;
    zae_keys_t       k;
    const char      *gsi4, *val;
    zae_ddb_expr_t   x;

    if (zae_keys_system(mem, &k, ns, ZAE_SYSTEM_RESOURCES) != ZAE_OK
        || zae_registry_start(mem, r, &x, &k) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    gsi4 = add ? zae_registry_gsi4(mem, &x, &k) : "";

    set = zae_av_new(mem, ZAE_AV_SS);
    v = zae_av_str(mem, resource->data, resource->len);

    if (gsi4 == NULL || set == NULL || v == NULL
        || zae_av_list_add(mem, set, v) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    val = zae_ddb_expr_value(&x, set);
    if (val == NULL) {
        return ZAE_ERROR;
    }

    update = zae_alloc(mem, 256);
    if (update == NULL) {
        return ZAE_ERROR;
    }

    n = snprintf(update, 256, "%s%s resources %s", gsi4,
                 add ? "ADD" : "DELETE", val);

    return zae_registry_done(r, &x, update, n, 256);
}


int
zae_registry_count(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *ns,
    zae_str_t *resource, int64_t delta)
{
    int              n;
    char            *update;
    zae_keys_t       k;
    const char      *gsi4, *name, *val;
    zae_ddb_expr_t   x;

    if (zae_keys_system(mem, &k, ns, ZAE_SYSTEM_ENTITY_CONFIG_RESOURCES)
        != ZAE_OK
        || zae_registry_start(mem, r, &x, &k) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    gsi4 = delta > 0 ? zae_registry_gsi4(mem, &x, &k) : "";
    name = zae_ddb_expr_name(&x, resource->data, resource->len);
    val = zae_ddb_expr_int64(&x, delta);

    update = zae_alloc(mem, 256);

    if (gsi4 == NULL || name == NULL || val == NULL || update == NULL) {
        return ZAE_ERROR;
    }

    n = snprintf(update, 256, "%sADD %s %s", gsi4, name, val);

    return zae_registry_done(r, &x, update, n, 256);
}


int
zae_registry_drop(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *ns,
    zae_str_t *resource)
{
    int              n;
    char            *update, *cond;
    zae_keys_t       k;
    const char      *name, *zero;
    zae_ddb_expr_t   x;

    if (zae_keys_system(mem, &k, ns, ZAE_SYSTEM_ENTITY_CONFIG_RESOURCES)
        != ZAE_OK
        || zae_registry_start(mem, r, &x, &k) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    name = zae_ddb_expr_name(&x, resource->data, resource->len);
    zero = zae_ddb_expr_int64(&x, 0);

    update = zae_alloc(mem, 64);
    cond = zae_alloc(mem, 64);

    if (name == NULL || zero == NULL || update == NULL || cond == NULL) {
        return ZAE_ERROR;
    }

    n = snprintf(cond, 64, "%s <= %s", name, zero);
    if (n < 0 || n >= 64) {
        return ZAE_ERROR;
    }

    r->condition.data = (u_char *) cond;
    r->condition.len = (size_t) n;

    n = snprintf(update, 64, "REMOVE %s", name);

    return zae_registry_done(r, &x, update, n, 64);
}


int
zae_registry_ns_status(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *nsid,
    const char *status, zae_registry_deleted_e deleted, zae_str_t *at)
{
    int              n;
    char            *update;
    zae_keys_t       k;
    const char      *name, *val, *dname, *dval;
    zae_ddb_expr_t   x;

    if (zae_keys_nsid(mem, &k, nsid) != ZAE_OK
        || zae_registry_start(mem, r, &x, &k) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    name = zae_ddb_expr_cname(&x, "status");
    val = zae_ddb_expr_str(&x, (u_char *) status, strlen(status));

    update = zae_alloc(mem, 128);

    if (name == NULL || val == NULL || update == NULL) {
        return ZAE_ERROR;
    }

    /* DynamoDB refuses names and values the expressions do not use */

    switch (deleted) {

    case ZAE_REGISTRY_DELETED_SET:
        dname = zae_ddb_expr_cname(&x, "deleted_at");
        dval = zae_ddb_expr_str(&x, at->data, at->len);
        if (dname == NULL || dval == NULL) {
            return ZAE_ERROR;
        }

        n = snprintf(update, 128, "SET %s = %s, %s = %s", name, val, dname,
                     dval);
        break;

    case ZAE_REGISTRY_DELETED_REMOVE:
        dname = zae_ddb_expr_cname(&x, "deleted_at");
        if (dname == NULL) {
            return ZAE_ERROR;
        }

        n = snprintf(update, 128, "SET %s = %s REMOVE %s", name, val, dname);
        break;

    default: /* ZAE_REGISTRY_DELETED_KEEP */
        n = snprintf(update, 128, "SET %s = %s", name, val);
        break;
    }

    r->condition.data = (u_char *) ZAE_REGISTRY_EXISTS;
    r->condition.len = sizeof(ZAE_REGISTRY_EXISTS) - 1;

    return zae_registry_done(r, &x, update, n, 128);
}
