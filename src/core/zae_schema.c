
/*
 * Copyright (C) zae-limit authors
 */


#include <stdarg.h>
#include <inttypes.h>

#include "zae_schema.h"
#include "zae_schema_int.h"
#include "zae_ddb.h"


static int zae_schema_get_n(const zae_av_t *item, const char *prefix,
    zae_str_t *name, const char *suffix, int64_t *v, zae_err_t *err);
static int zae_schema_get_s(const zae_av_t *item, const char *name,
    zae_str_t *v, int nullable, zae_err_t *err);
static int zae_schema_set_n(zae_mem_t *mem, zae_av_t *item,
    const char *prefix, zae_str_t *name, const char *suffix, int64_t v);
static int zae_schema_add_limits(zae_mem_t *mem, zae_av_t *item,
    const zae_limits_t *limits);
static int zae_schema_attr_limit(zae_str_t *attr, const char *prefix,
    const char *suffix, zae_str_t *name);
static int zae_schema_is_limit_tk(zae_str_t *attr, zae_str_t *name);
static int zae_schema_key_equal(const zae_av_t *key, zae_keys_t *k);
static int zae_schema_is_default(zae_str_t *resource);
static int zae_config_keys(zae_mem_t *mem, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, unsigned mask, zae_keys_t *keys);
static unsigned zae_config_mask(zae_str_t *resource, unsigned mask);


/* the fields of a bucket limit, in ZAE_BUCKET_TK ... ZAE_BUCKET_TC order */

static const char  *zae_bucket_sfx[] = { "_tk", "_cp", "_ra", "_rp", "_tc" };


static const char  *zae_level_names[] = {
    "entity",
    "entity_default",
    "resource",
    "system",
    "inline",
    "none"
};


/* "{prefix}{name}{suffix}" as a number: ZAE_DECLINED when absent */

static int
zae_schema_get_n(const zae_av_t *item, const char *prefix, zae_str_t *name,
    const char *suffix, int64_t *v, zae_err_t *err)
{
    u_char     buf[ZAE_NAME_MAX_LEN + 16];
    size_t     pl, sl;
    zae_av_t  *av;
    zae_err_t  e;

    pl = strlen(prefix);
    sl = strlen(suffix);

    if (name->len > ZAE_NAME_MAX_LEN) {
        return zae_err_set(err, "limit name too long \"%.*s...\"", 32,
                           (char *) name->data);
    }

    memcpy(buf, prefix, pl);
    memcpy(buf + pl, name->data, name->len);
    memcpy(buf + pl + name->len, suffix, sl);

    av = zae_av_get(item, buf, pl + name->len + sl);
    if (av == NULL) {
        return ZAE_DECLINED;
    }

    if (zae_av_get_int64(av, v, &e) != ZAE_OK) {
        return zae_err_set(err, "attribute \"%.*s\": %s",
                           (int) (pl + name->len + sl), (char *) buf, e.msg);
    }

    return ZAE_OK;
}


/* ZAE_DECLINED when absent (or NULL if nullable) */

static int
zae_schema_get_s(const zae_av_t *item, const char *name, zae_str_t *v,
    int nullable, zae_err_t *err)
{
    zae_av_t  *av;

    v->len = 0;
    v->data = NULL;

    av = zae_item_get(item, name);
    if (av == NULL || (nullable && av->type == ZAE_AV_NULL)) {
        return ZAE_DECLINED;
    }

    if (av->type != ZAE_AV_S) {
        return zae_err_set(err, "attribute \"%s\" is not a string", name);
    }

    *v = av->s;

    return ZAE_OK;
}


/* the limit name of "{prefix}{L}{suffix}", or ZAE_DECLINED */

static int
zae_schema_attr_limit(zae_str_t *attr, const char *prefix,
    const char *suffix, zae_str_t *name)
{
    size_t  pl, sl;

    pl = strlen(prefix);
    sl = strlen(suffix);

    if (attr->len <= pl + sl
        || memcmp(attr->data, prefix, pl) != 0
        || memcmp(attr->data + attr->len - sl, suffix, sl) != 0)
    {
        return ZAE_DECLINED;
    }

    name->data = attr->data + pl;
    name->len = attr->len - pl - sl;

    return ZAE_OK;
}


int
zae_bucket_attr_field(const u_char *attr, size_t len, zae_str_t *name)
{
    int  f;

    f = zae_bucket_attr_split(attr, len, name);

    if (f != ZAE_DECLINED && !zae_bucket_limit_name_ok(name)) {
        return f == ZAE_BUCKET_TK ? ZAE_BUCKET_BAD_TK : ZAE_BUCKET_BAD;
    }

    return f;
}


int
zae_bucket_attr_split(const u_char *attr, size_t len, zae_str_t *name)
{
    int  f;

    /* "b_" + at least one byte + a suffix of zae_bucket_sfx[] */

    if (len < 6 || attr[0] != 'b' || attr[1] != '_' || attr[len - 3] != '_')
    {
        return ZAE_DECLINED;
    }

    for (f = ZAE_BUCKET_TK; f <= ZAE_BUCKET_TC; f++) {
        if (attr[len - 2] == (u_char) zae_bucket_sfx[f][1]
            && attr[len - 1] == (u_char) zae_bucket_sfx[f][2])
        {
            name->data = (u_char *) attr + 2;
            name->len = len - 5;
            return f;
        }
    }

    return ZAE_DECLINED;
}


/* the names the table gives us follow the configured rules */

int
zae_bucket_limit_name_ok(const zae_str_t *name)
{
    return (name->len == sizeof(ZAE_WCU_NAME) - 1
            && memcmp(name->data, ZAE_WCU_NAME, name->len) == 0)
           || zae_validate_limit_name(name->data, name->len, NULL) == ZAE_OK;
}


static int
zae_schema_is_limit_tk(zae_str_t *attr, zae_str_t *name)
{
    return zae_bucket_attr_field(attr->data, attr->len, name)
           == ZAE_BUCKET_TK;
}


int
zae_bucket_item_decode(zae_mem_t *mem, const zae_av_t *item,
    zae_bucket_item_t *bucket, zae_err_t *err)
{
    int                  rc, v;
    size_t               i, n;
    int64_t             *f[5];
    zae_av_t            *av;
    zae_str_t            name;
    zae_bucket_limit_t  *bl;

    memset(bucket, 0, sizeof(zae_bucket_item_t));

    if (item == NULL || item->type != ZAE_AV_M) {
        return zae_err_set(err, "bucket item is not a map");
    }

    n = 0;

    for (i = 0; i < item->nattrs; i++) {
        switch (zae_bucket_attr_field(item->attrs[i].name.data,
                                      item->attrs[i].name.len, &name))
        {
        case ZAE_BUCKET_TK:
            n++;
            break;

        case ZAE_BUCKET_BAD_TK:
            if (bucket->bad_names++ == 0) {
                bucket->bad_name = name;
            }
            break;

        default:
            break;
        }
    }

    if (n > ZAE_SCHEMA_MAX_LIMITS + 1) {
        return zae_err_set(err, "bucket item has too many limits (%zu)", n);
    }

    if (n) {
        bucket->limits = zae_calloc(mem, n * sizeof(zae_bucket_limit_t));
        if (bucket->limits == NULL) {
            return zae_err_set(err, "out of memory");
        }
    }

    for (i = 0; i < item->nattrs; i++) {
        if (!zae_schema_is_limit_tk(&item->attrs[i].name, &name)) {
            continue;
        }

        if (name.len == sizeof(ZAE_WCU_NAME) - 1
            && memcmp(name.data, ZAE_WCU_NAME, name.len) == 0)
        {
            bl = &bucket->wcu;
            bucket->has_wcu = 1;

        } else {
            bl = &bucket->limits[bucket->nlimits++];
        }

        bl->name = name;

        f[0] = &bl->tk;
        f[1] = &bl->cp;
        f[2] = &bl->ra;
        f[3] = &bl->rp;
        f[4] = &bl->tc;

        for (v = 0; v < 5; v++) {
            rc = zae_schema_get_n(item, "b_", &name, zae_bucket_sfx[v], f[v],
                                  err);
            if (rc == ZAE_ERROR) {
                return ZAE_ERROR;
            }

            if (rc == ZAE_DECLINED) {
                *f[v] = 0;
            }
        }
    }

    if (zae_schema_get_s(item, "entity_id", &bucket->entity_id, 0, err)
        == ZAE_ERROR
        || zae_schema_get_s(item, "resource", &bucket->resource, 0, err)
           == ZAE_ERROR
        || zae_schema_get_s(item, "parent_id", &bucket->parent_id, 1, err)
           == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    rc = zae_item_get_int64(item, "rf", &bucket->rf, err);
    if (rc == ZAE_ERROR) {
        return ZAE_ERROR;
    }

    rc = zae_item_get_int64(item, "shard_count", &bucket->shard_count, err);
    if (rc == ZAE_ERROR) {
        return ZAE_ERROR;
    }

    if (rc == ZAE_DECLINED || bucket->shard_count < 1) {
        bucket->shard_count = 1;
    }

    av = zae_item_get(item, "ttl");
    if (av && av->type != ZAE_AV_NULL) {
        if (zae_item_get_int64(item, "ttl", &bucket->ttl, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        bucket->has_ttl = 1;
    }

    av = zae_item_get(item, "cascade");
    if (av) {
        if (zae_av_get_bool(av, &v) != ZAE_OK) {
            return zae_err_set(err, "attribute \"cascade\" is not a boolean");
        }

        bucket->cascade = v ? 1 : 0;
    }

    return ZAE_OK;
}


zae_bucket_limit_t *
zae_bucket_item_limit(zae_bucket_item_t *bucket, const u_char *name,
    size_t len)
{
    size_t  i;

    if (len == sizeof(ZAE_WCU_NAME) - 1
        && memcmp(name, ZAE_WCU_NAME, len) == 0)
    {
        return bucket->has_wcu ? &bucket->wcu : NULL;
    }

    for (i = 0; i < bucket->nlimits; i++) {
        if (bucket->limits[i].name.len == len
            && memcmp(bucket->limits[i].name.data, name, len) == 0)
        {
            return &bucket->limits[i];
        }
    }

    return NULL;
}


void
zae_bucket_limit_from_limit(zae_bucket_limit_t *bl, const zae_limit_t *limit)
{
    bl->name = limit->name;
    bl->cp = limit->capacity * 1000;
    bl->ra = limit->refill_amount * 1000;
    bl->rp = limit->period * 1000;
    bl->tk = bl->cp;
    bl->tc = 0;
}


static int
zae_schema_set_n(zae_mem_t *mem, zae_av_t *item, const char *prefix,
    zae_str_t *name, const char *suffix, int64_t v)
{
    zae_str_t  attr;

    if (zae_schema_key(mem, &attr, "cSc", prefix, name, suffix) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_av_map_set(mem, item, attr.data, attr.len,
                          zae_av_int64(mem, v));
}


zae_av_t *
zae_bucket_item_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_bucket_item_t *bucket, int64_t shard)
{
    size_t               i;
    zae_av_t            *item;
    zae_str_t            wname;
    zae_keys_t           k;
    zae_bucket_limit_t  *bl, wcu;

    if (zae_keys_bucket(mem, &k, ns, &bucket->entity_id, &bucket->resource,
                        shard)
        != ZAE_OK)
    {
        return NULL;
    }

    item = zae_av_map(mem);
    if (item == NULL) {
        return NULL;
    }

    if (zae_schema_add_primary(mem, item, &k) != ZAE_OK
        || zae_item_set_s(mem, item, "entity_id", bucket->entity_id.data,
                          bucket->entity_id.len)
           != ZAE_OK
        || zae_item_set_s(mem, item, "resource", bucket->resource.data,
                          bucket->resource.len)
           != ZAE_OK
        || zae_item_set_n(mem, item, "rf", bucket->rf) != ZAE_OK
        || zae_item_set_bool(mem, item, "cascade", bucket->cascade)
           != ZAE_OK)
    {
        return NULL;
    }

    if (bucket->parent_id.len
        && zae_item_set_s(mem, item, "parent_id", bucket->parent_id.data,
                          bucket->parent_id.len)
           != ZAE_OK)
    {
        return NULL;
    }

    if (zae_item_set_n(mem, item, "shard_count",
                       bucket->shard_count > 0 ? bucket->shard_count : 1)
        != ZAE_OK)
    {
        return NULL;
    }

    if (bucket->has_wcu) {
        wcu = bucket->wcu;

    } else {
        wcu.tk = ZAE_WCU_MILLI;
        wcu.cp = ZAE_WCU_MILLI;
        wcu.ra = ZAE_WCU_MILLI;
        wcu.rp = ZAE_WCU_PERIOD_MS;
        wcu.tc = 0;
    }

    zae_str_set(&wname, ZAE_WCU_NAME);
    wcu.name = wname;

    for (i = 0; i <= bucket->nlimits; i++) {
        bl = (i < bucket->nlimits) ? &bucket->limits[i] : &wcu;

        if (zae_schema_set_n(mem, item, "b_", &bl->name, "_tk", bl->tk)
            != ZAE_OK
            || zae_schema_set_n(mem, item, "b_", &bl->name, "_cp", bl->cp)
               != ZAE_OK
            || zae_schema_set_n(mem, item, "b_", &bl->name, "_ra", bl->ra)
               != ZAE_OK
            || zae_schema_set_n(mem, item, "b_", &bl->name, "_rp", bl->rp)
               != ZAE_OK
            || zae_schema_set_n(mem, item, "b_", &bl->name, "_tc", bl->tc)
               != ZAE_OK)
        {
            return NULL;
        }
    }

    if (zae_schema_add_gsi(mem, item, &k) != ZAE_OK) {
        return NULL;
    }

    if (bucket->has_ttl
        && zae_item_set_n(mem, item, "ttl", bucket->ttl) != ZAE_OK)
    {
        return NULL;
    }

    return item;
}


int
zae_entity_meta_decode(zae_mem_t *mem, const zae_av_t *item,
    zae_entity_meta_t *meta, zae_err_t *err)
{
    int        v;
    zae_av_t  *av;

    memset(meta, 0, sizeof(zae_entity_meta_t));

    if (item == NULL || item->type != ZAE_AV_M) {
        return zae_err_set(err, "entity item is not a map");
    }

    if (zae_schema_get_s(item, "entity_id", &meta->entity_id, 0, err)
        == ZAE_ERROR
        || zae_schema_get_s(item, "name", &meta->name, 1, err) == ZAE_ERROR
        || zae_schema_get_s(item, "parent_id", &meta->parent_id, 1, err)
           == ZAE_ERROR
        || zae_schema_get_s(item, "created_at", &meta->created_at, 1, err)
           == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    av = zae_item_get(item, "cascade");
    if (av && av->type != ZAE_AV_NULL) {
        if (zae_av_get_bool(av, &v) != ZAE_OK) {
            return zae_err_set(err, "attribute \"cascade\" is not a boolean");
        }

        meta->cascade = v ? 1 : 0;
    }

    av = zae_item_get(item, "metadata");
    if (av && av->type == ZAE_AV_M) {
        meta->metadata = av;
    }

    return ZAE_OK;
}


zae_av_t *
zae_entity_meta_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_entity_meta_t *meta)
{
    zae_av_t    *item, *md;
    zae_str_t   *name;
    zae_keys_t   k;

    if (zae_keys_entity_meta(mem, &k, ns, &meta->entity_id, &meta->parent_id)
        != ZAE_OK)
    {
        return NULL;
    }

    item = zae_av_map(mem);
    if (item == NULL) {
        return NULL;
    }

    name = meta->name.len ? &meta->name : &meta->entity_id;

    md = meta->metadata ? zae_av_copy(mem, meta->metadata) : zae_av_map(mem);

    if (zae_schema_add_primary(mem, item, &k) != ZAE_OK
        || zae_item_set_s(mem, item, "entity_id", meta->entity_id.data,
                          meta->entity_id.len)
           != ZAE_OK
        || zae_item_set_s(mem, item, "name", name->data, name->len)
           != ZAE_OK)
    {
        return NULL;
    }

    if (meta->parent_id.len) {
        if (zae_item_set_s(mem, item, "parent_id", meta->parent_id.data,
                           meta->parent_id.len)
            != ZAE_OK)
        {
            return NULL;
        }

    } else if (zae_item_set_null(mem, item, "parent_id") != ZAE_OK) {
        return NULL;
    }

    if (zae_item_set_bool(mem, item, "cascade", meta->cascade) != ZAE_OK
        || zae_item_set(mem, item, "metadata", md) != ZAE_OK)
    {
        return NULL;
    }

    if (meta->created_at.len
        && zae_item_set_s(mem, item, "created_at", meta->created_at.data,
                          meta->created_at.len)
           != ZAE_OK)
    {
        return NULL;
    }

    if (zae_schema_add_gsi(mem, item, &k) != ZAE_OK) {
        return NULL;
    }

    return item;
}


int
zae_config_item_decode(zae_mem_t *mem, const zae_av_t *item,
    zae_config_item_t *cfg, zae_err_t *err)
{
    int          rc;
    size_t       i;
    zae_str_t    name;
    zae_err_t    e;
    zae_limit_t  l;

    memset(cfg, 0, sizeof(zae_config_item_t));

    if (item == NULL || item->type != ZAE_AV_M) {
        return zae_err_set(err, "config item is not a map");
    }

    for (i = 0; i < item->nattrs; i++) {
        if (zae_schema_attr_limit(&item->attrs[i].name, "l_", "_cp", &name)
            != ZAE_OK)
        {
            continue;
        }

        l.name = name;

        if (zae_schema_get_n(item, "l_", &name, "_cp", &l.capacity, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        rc = zae_schema_get_n(item, "l_", &name, "_ra", &l.refill_amount,
                              err);
        if (rc == ZAE_ERROR) {
            return ZAE_ERROR;
        }

        if (rc == ZAE_DECLINED) {
            l.refill_amount = 0;
        }

        rc = zae_schema_get_n(item, "l_", &name, "_rp", &l.period, err);
        if (rc == ZAE_ERROR) {
            return ZAE_ERROR;
        }

        if (rc == ZAE_DECLINED) {
            l.period = 0;
        }

        if (zae_limits_add(&cfg->limits, &l, &e) != ZAE_OK) {
            return zae_err_set(err, "limit \"%.*s\": %s",
                               (int) (name.len > 64 ? 64 : name.len),
                               (char *) name.data, e.msg);
        }
    }

    if (zae_schema_get_s(item, "entity_id", &cfg->entity_id, 1, err)
        == ZAE_ERROR
        || zae_schema_get_s(item, "resource", &cfg->resource, 1, err)
           == ZAE_ERROR
        || zae_schema_get_s(item, "on_unavailable", &cfg->on_unavailable, 1,
                            err)
           == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    if (zae_item_get_int64(item, "config_version", &cfg->config_version,
                           err)
        == ZAE_ERROR
        || zae_item_get_int64(item, "audit_retention_days",
                              &cfg->audit_retention_days, err)
           == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_schema_add_limits(zae_mem_t *mem, zae_av_t *item,
    const zae_limits_t *limits)
{
    size_t              i;
    const zae_limit_t  *l;

    for (i = 0; limits && i < limits->nelts; i++) {
        l = &limits->elts[i];

        if (zae_schema_set_n(mem, item, "l_", (zae_str_t *) &l->name, "_cp",
                             l->capacity)
            != ZAE_OK
            || zae_schema_set_n(mem, item, "l_", (zae_str_t *) &l->name,
                                "_ra", l->refill_amount)
               != ZAE_OK
            || zae_schema_set_n(mem, item, "l_", (zae_str_t *) &l->name,
                                "_rp", l->period)
               != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


/*
 * A config item of any level: its keys, entity_id and resource where
 * the level has them, config_version, on_unavailable when given, the
 * limits and the GSI keys
 */

static zae_av_t *
zae_schema_config_item(zae_mem_t *mem, zae_keys_t *k, zae_str_t *entity,
    zae_str_t *resource, const zae_limits_t *limits,
    zae_str_t *on_unavailable)
{
    zae_av_t  *item;

    item = zae_av_map(mem);
    if (item == NULL) {
        return NULL;
    }

    if (zae_schema_add_primary(mem, item, k) != ZAE_OK
        || (entity
            && zae_item_set_s(mem, item, "entity_id", entity->data,
                              entity->len)
               != ZAE_OK)
        || (resource
            && zae_item_set_s(mem, item, "resource", resource->data,
                              resource->len)
               != ZAE_OK)
        || zae_item_set_n(mem, item, "config_version", ZAE_CONFIG_VERSION)
           != ZAE_OK
        || (on_unavailable && on_unavailable->len
            && zae_item_set_s(mem, item, "on_unavailable",
                              on_unavailable->data, on_unavailable->len)
               != ZAE_OK)
        || zae_schema_add_limits(mem, item, limits) != ZAE_OK
        || zae_schema_add_gsi(mem, item, k) != ZAE_OK)
    {
        return NULL;
    }

    return item;
}


zae_av_t *
zae_entity_config_encode(zae_mem_t *mem, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, const zae_limits_t *limits)
{
    zae_keys_t  k;

    if (zae_keys_entity_config(mem, &k, ns, entity, resource) != ZAE_OK) {
        return NULL;
    }

    return zae_schema_config_item(mem, &k, entity, resource, limits, NULL);
}


zae_av_t *
zae_resource_config_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_str_t *resource, const zae_limits_t *limits)
{
    zae_keys_t  k;

    if (zae_keys_resource_config(mem, &k, ns, resource) != ZAE_OK) {
        return NULL;
    }

    return zae_schema_config_item(mem, &k, NULL, resource, limits, NULL);
}


zae_av_t *
zae_system_config_encode(zae_mem_t *mem, zae_str_t *ns,
    const zae_limits_t *limits, zae_str_t *on_unavailable)
{
    zae_keys_t  k;

    if (zae_keys_system(mem, &k, ns, ZAE_SYSTEM_CONFIG) != ZAE_OK) {
        return NULL;
    }

    return zae_schema_config_item(mem, &k, NULL, NULL, limits,
                                  on_unavailable);
}


const char *
zae_level_name(zae_level_e level)
{
    if ((unsigned) level > ZAE_LEVEL_NONE) {
        level = ZAE_LEVEL_NONE;
    }

    return zae_level_names[level];
}


static int
zae_schema_is_default(zae_str_t *resource)
{
    return resource->len == sizeof(ZAE_DEFAULT_RESOURCE) - 1
           && memcmp(resource->data, ZAE_DEFAULT_RESOURCE, resource->len)
              == 0;
}


int
zae_resolve_limits(const zae_config_levels_t *levels, zae_str_t *entity,
    zae_str_t *resource, const zae_limits_t *inline_,
    const zae_limits_t **limits, zae_level_e *source, zae_err_t *err)
{
    int                 i;
    zae_config_item_t  *cfg;

    for (i = 0; i < ZAE_CONFIG_LEVELS; i++) {

        if (i == ZAE_LEVEL_ENTITY_DEFAULT && zae_schema_is_default(resource))
        {
            continue;
        }

        cfg = levels ? levels->level[i] : NULL;

        if (cfg && cfg->limits.nelts) {
            *limits = &cfg->limits;
            *source = (zae_level_e) i;
            return ZAE_OK;
        }
    }

    if (inline_ && inline_->nelts) {
        *limits = inline_;
        *source = ZAE_LEVEL_INLINE;
        return ZAE_OK;
    }

    *limits = NULL;
    *source = ZAE_LEVEL_NONE;

    zae_err_set(err, "no limits configured for entity \"%.*s\" and "
                "resource \"%.*s\"",
                (int) (entity->len > 64 ? 64 : entity->len),
                (char *) entity->data,
                (int) (resource->len > 64 ? 64 : resource->len),
                (char *) resource->data);

    return ZAE_DECLINED;
}


/* the keys of the config levels in mask */

static int
zae_config_keys(zae_mem_t *mem, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, unsigned mask, zae_keys_t *keys)
{
    zae_str_t  def;

    zae_str_set(&def, ZAE_DEFAULT_RESOURCE);

    if (((mask & (1 << ZAE_LEVEL_ENTITY))
         && zae_keys_entity_config(mem, &keys[ZAE_LEVEL_ENTITY], ns, entity,
                                   resource)
            != ZAE_OK)
        || ((mask & (1 << ZAE_LEVEL_ENTITY_DEFAULT))
            && zae_keys_entity_config(mem, &keys[ZAE_LEVEL_ENTITY_DEFAULT],
                                      ns, entity, &def)
               != ZAE_OK)
        || ((mask & (1 << ZAE_LEVEL_RESOURCE))
            && zae_keys_resource_config(mem, &keys[ZAE_LEVEL_RESOURCE], ns,
                                        resource)
               != ZAE_OK)
        || ((mask & (1 << ZAE_LEVEL_SYSTEM))
            && zae_keys_system(mem, &keys[ZAE_LEVEL_SYSTEM], ns,
                               ZAE_SYSTEM_CONFIG)
               != ZAE_OK))
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static unsigned
zae_config_mask(zae_str_t *resource, unsigned mask)
{
    mask &= (1 << ZAE_CONFIG_LEVELS) - 1;

    if (zae_schema_is_default(resource)) {
        mask &= ~(1u << ZAE_LEVEL_ENTITY_DEFAULT);
    }

    return mask;
}


int
zae_batch_get_request(zae_buf_t *b, zae_str_t *table, zae_keys_t *keys,
    size_t n, int consistent)
{
    size_t               i;
    const zae_av_t      *keyv[ZAE_CONFIG_LEVELS];
    zae_ddb_batch_get_t  t;

    memset(&t, 0, sizeof(zae_ddb_batch_get_t));
    t.table = *table;
    t.keys = keyv;
    t.consistent_read = consistent ? 1 : 0;

    for (i = 0; i < n; i++) {
        if (keys[i].pk.len == 0) {
            continue;
        }

        if (t.nkeys == ZAE_CONFIG_LEVELS) {
            return ZAE_ERROR;
        }

        keyv[t.nkeys] = zae_keys_key(b->mem, &keys[i]);
        if (keyv[t.nkeys] == NULL) {
            return ZAE_ERROR;
        }

        t.nkeys++;
    }

    return zae_ddb_batch_get_item(b, &t, 1, NULL);
}


static int
zae_schema_key_equal(const zae_av_t *key, zae_keys_t *k)
{
    zae_av_t  *pk, *sk;

    pk = zae_item_get(key, "PK");
    sk = zae_item_get(key, "SK");

    return pk && sk && pk->type == ZAE_AV_S && sk->type == ZAE_AV_S
           && pk->s.len == k->pk.len && sk->s.len == k->sk.len
           && memcmp(pk->s.data, k->pk.data, k->pk.len) == 0
           && memcmp(sk->s.data, k->sk.data, k->sk.len) == 0;
}


static int
zae_batch_get_decode(zae_mem_t *mem, const u_char *body, size_t len,
    zae_str_t *table, zae_keys_t *keys, size_t n, zae_av_t **items,
    unsigned *unprocessed, zae_err_t *err)
{
    zae_av_t  *root;

    if (zae_json_parse(mem, body, len, NULL, &root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_batch_get_items(root, table, keys, n, items, unprocessed,
                               err);
}


int
zae_batch_get_items(zae_av_t *root, zae_str_t *table, zae_keys_t *keys,
    size_t n, zae_av_t **items, unsigned *unprocessed, zae_err_t *err)
{
    size_t                      i, j;
    zae_av_t                   *list, *un, *item;
    zae_ddb_batch_get_result_t  res;

    for (j = 0; j < n; j++) {
        items[j] = NULL;
    }

    *unprocessed = 0;

    if (zae_ddb_result_batch_get(root, &res, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    list = zae_ddb_batch_get_items(&res, table);

    for (i = 0; list && i < list->nitems; i++) {
        item = list->items[i];

        for (j = 0; j < n; j++) {
            if (keys[j].pk.len && zae_schema_key_equal(item, &keys[j])) {
                items[j] = item;
                break;
            }
        }
    }

    un = res.unprocessed;
    list = NULL;

    if (un) {
        un = zae_av_get(un, table->data, table->len);

        if (un && un->type == ZAE_AV_M) {
            list = zae_json_get(un, "Keys");
        }
    }

    for (i = 0; list && list->type == ZAE_AV_L && i < list->nitems; i++) {
        item = list->items[i];

        if (item->type != ZAE_AV_M || zae_item_from_ddb(item, err) != ZAE_OK)
        {
            return zae_err_set(err, "batch get answer: bad unprocessed key");
        }

        for (j = 0; j < n && j < 32; j++) {
            if (keys[j].pk.len && zae_schema_key_equal(item, &keys[j])) {
                *unprocessed |= 1u << j;
            }
        }
    }

    return ZAE_OK;
}


int
zae_config_batch_request(zae_buf_t *b, zae_str_t *table, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, unsigned mask)
{
    zae_keys_t  keys[ZAE_CONFIG_LEVELS];

    memset(keys, 0, sizeof(keys));

    mask = zae_config_mask(resource, mask);

    if (mask == 0
        || zae_config_keys(b->mem, ns, entity, resource, mask, keys)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_batch_get_request(b, table, keys, ZAE_CONFIG_LEVELS, 0);
}


int
zae_config_batch_decode(zae_mem_t *mem, const u_char *body, size_t len,
    zae_str_t *table, zae_str_t *ns, zae_str_t *entity, zae_str_t *resource,
    unsigned mask, zae_config_levels_t *levels, unsigned *unprocessed,
    zae_err_t *err)
{
    int                 i;
    zae_av_t           *items[ZAE_CONFIG_LEVELS];
    zae_keys_t          keys[ZAE_CONFIG_LEVELS];
    zae_config_item_t  *cfg;

    memset(keys, 0, sizeof(keys));

    mask = zae_config_mask(resource, mask);

    if (zae_config_keys(mem, ns, entity, resource, mask, keys) != ZAE_OK) {
        return zae_err_set(err, "out of memory");
    }

    if (zae_batch_get_decode(mem, body, len, table, keys, ZAE_CONFIG_LEVELS,
                             items, unprocessed, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    for (i = 0; i < ZAE_CONFIG_LEVELS; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }

        levels->level[i] = NULL;

        if (items[i] == NULL) {
            continue;
        }

        cfg = zae_alloc(mem, sizeof(zae_config_item_t));
        if (cfg == NULL) {
            return zae_err_set(err, "out of memory");
        }

        if (zae_config_item_decode(mem, items[i], cfg, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        levels->level[i] = cfg;
    }

    return ZAE_OK;
}
