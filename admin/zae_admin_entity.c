
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin entity commands (facts 4.3, 4.5, 8): create, show, limits
 * with the config registry and bucket parameter sync, list, delete.
 */


#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


#define ZAE_ADMIN_MAX_SHARDS  1024


static int zae_admin_sync_bucket(zae_admin_t *a, zae_str_t *entity,
    zae_str_t *resource, const zae_limits_t *ls, int64_t ttl,
    zae_str_t *stale, size_t nstale);
static int zae_admin_reconcile(zae_admin_t *a, zae_str_t *ent,
    zae_str_t *res);


static int zae_admin_children(zae_admin_t *a, zae_str_t *parent,
    zae_av_t **list, zae_str_t *names);


/* entities */

/* the entity's #META item (NULL: none), read consistently; ZAE_ERROR */

int
zae_admin_read_entity(zae_admin_t *a, zae_str_t *entity, zae_av_t **meta)
{
    zae_keys_t  k;

    if (zae_keys_entity_meta(&a->mem, &k, &a->nsid, entity, NULL)
        != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the entity's key");
        return ZAE_ERROR;
    }

    return zae_admin_read(a, &k.pk, &k.sk, "cannot read the entity", meta);
}


static int
zae_admin_not_found(zae_admin_t *a, zae_str_t *entity)
{
    zae_admin_error(a, "entity \"%.*s\" not found in namespace \"%s\"",
                    (int) entity->len, entity->data, a->ns_name);

    return ZAE_ADMIN_EXIT_FAILED;
}


static int
zae_admin_print_meta(zae_admin_t *a, zae_entity_meta_t *m)
{
    zae_av_t  *o;

    o = zae_admin_json_obj(a);

    zae_admin_set_zstr(a, o, "entity_id", &m->entity_id);
    zae_admin_set_zstr(a, o, "name", &m->name);
    zae_admin_json_set(a, o, "parent_id",
                       m->parent_id.len
                       ? zae_admin_json_zstr(a, &m->parent_id)
                       : zae_av_null(&a->mem));
    zae_admin_set_bool(a, o, "cascade", m->cascade);
    zae_admin_json_set(a, o, "metadata",
                       m->metadata
                       ? zae_admin_item_to_json(a, m->metadata)
                       : zae_admin_json_obj(a));
    zae_admin_set_zstr(a, o, "created_at", &m->created_at);

    return zae_admin_print(a, o,
                           "entity:      %.*s\n"
                           "name:        %.*s\n"
                           "parent:      %.*s\n"
                           "cascade:     %s\n"
                           "created at:  %.*s\n",
                           (int) m->entity_id.len, m->entity_id.data,
                           (int) m->name.len, m->name.data,
                           m->parent_id.len ? (int) m->parent_id.len : 4,
                           m->parent_id.len ? (char *) m->parent_id.data
                                            : "none",
                           m->cascade ? "yes" : "no",
                           (int) m->created_at.len, m->created_at.data);
}


int
zae_admin_cmd_entity_create(zae_admin_t *a)
{
    int                       rc;
    u_char                    ts[ZAE_TS_LEN + 1];
    zae_av_t                 *pmeta;
    zae_buf_t                 d;
    zae_str_t                 ent, parent, name;
    const char               *s;
    zae_entity_meta_t         m;
    zae_admin_entity_opts_t  *o = a->opts;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    parent = zae_admin_str(NULL);
    s = o->parent;

    if (s && zae_admin_check_entity(a, s, &parent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (o->cascade && parent.len == 0) {
        return zae_admin_usage_error(a, "--cascade needs --parent");
    }

    if (parent.len == ent.len && parent.len
        && memcmp(parent.data, ent.data, ent.len) == 0)
    {
        return zae_admin_usage_error(a, "entity \"%s\" cannot be its own "
                                     "parent", a->args[0]);
    }

    s = o->display_name;
    name = s ? zae_admin_str(s) : ent;

    if (parent.len) {
        if (zae_admin_read_entity(a, &parent, &pmeta) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        if (pmeta == NULL) {
            zae_admin_error(a, "parent entity \"%.*s\" not found in "
                            "namespace \"%s\"", (int) parent.len,
                            parent.data, a->ns_name);
            return ZAE_ADMIN_EXIT_FAILED;
        }
    }

    zae_admin_now_ts(ts);

    memset(&m, 0, sizeof(m));
    m.entity_id = ent;
    m.name = name;
    m.parent_id = parent;
    m.created_at.data = ts;
    m.created_at.len = ZAE_TS_LEN;
    m.metadata = zae_av_map(&a->mem);
    m.cascade = o->cascade;

    rc = zae_admin_put_av(a, zae_entity_meta_encode(&a->mem, &a->nsid, &m),
                          ZAE_REGISTRY_NEW);

    if (rc == ZAE_DECLINED) {
        if (zae_admin_is(a, "ConditionalCheckFailedException")) {
            zae_admin_error(a, "entity \"%s\" already exists in namespace "
                            "\"%s\"", a->args[0], a->ns_name);
            return ZAE_ADMIN_EXIT_FAILED;
        }

        return zae_admin_fail_ddb(a, "cannot create the entity");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_buf_init(&d, &a->mem, 256);

    if (zae_audit_details_created(&d, &name, parent.len ? &parent : &parent,
                                  m.cascade)
        != ZAE_OK
        || zae_admin_audit_event(a, &ent, "entity_created", NULL, &d) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_say(a, stdout, "entity \"%s\" created\n", a->args[0]);

    return zae_admin_print_meta(a, &m);
}


int
zae_admin_cmd_entity_show(zae_admin_t *a)
{
    zae_av_t          *meta;
    zae_str_t          ent;
    zae_err_t          err;
    zae_entity_meta_t  m;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_read_entity(a, &ent, &meta) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (meta == NULL) {
        return zae_admin_not_found(a, &ent);
    }

    if (zae_entity_meta_decode(&a->mem, meta, &m, &err) != ZAE_OK) {
        zae_admin_error(a, "invalid entity \"%s\": %s",
                        zae_admin_shown(a, a->args[0]), err.msg);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return zae_admin_print_meta(a, &m);
}


/*
 * Bucket parameter sync (facts 4.5), on every shard: SET cp/ra/rp of
 * each limit, initialise tk (full) and tc (0) of a limit new to the
 * bucket (upstream forgets that), REMOVE ttl (ttl == 0: entity-specific
 * limits) or SET it, and REMOVE the fields of stale limits.  A missing
 * bucket is fine.
 */

static int
zae_admin_sync_bucket(zae_admin_t *a, zae_str_t *entity,
    zae_str_t *resource, const zae_limits_t *ls, int64_t ttl,
    zae_str_t *stale, size_t nstale)
{
    int                rc;
    int64_t            shards;
    zae_av_t          *resp, *attrs;
    zae_err_t          err;
    zae_ddb_req_t      r;
    zae_bucket_ref_t   ref;

    memset(&ref, 0, sizeof(zae_bucket_ref_t));
    ref.ns = a->nsid;
    ref.entity_id = *entity;
    ref.resource = *resource;
    shards = 1;

    for ( /* void */ ; ref.shard < shards && ref.shard < ZAE_ADMIN_MAX_SHARDS;
         ref.shard++)
    {
        memset(&r, 0, sizeof(zae_ddb_req_t));

        if (zae_upkeep_sync(&a->mem, &r, &ref, ls, ttl, stale, nstale)
            != ZAE_OK)
        {
            zae_admin_error(a, "cannot build the bucket update");
            return ZAE_ERROR;
        }

        rc = zae_admin_conditional(a, zae_admin_update(a, &r, &resp),
                                   "cannot update the bucket");

        if (rc == ZAE_DECLINED) {
            /* no bucket yet: it is created with these limits */
            return ZAE_OK;
        }

        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (ref.shard == 0) {
            attrs = resp ? zae_json_get(resp, "Attributes") : NULL;

            if (attrs && zae_item_from_ddb(attrs, &err) == ZAE_OK
                && zae_item_get_int64(attrs, "shard_count", &shards, &err)
                   != ZAE_OK)
            {
                shards = 1;
            }
        }
    }

    return ZAE_OK;
}


/* entity limits: config + registry, bucket sync, audit; exit code */

int
zae_admin_write_entity(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    zae_limits_t *ls)
{
    int                rc;
    zae_av_t          *item;
    zae_ddb_action_t   act[2];

    item = zae_entity_config_encode(&a->mem, &a->nsid, ent, res, ls);

    /* Put (new config) + registry ref count, in one transaction */

    memset(act, 0, sizeof(act));
    act[0].type = ZAE_DDB_ACT_PUT;
    act[0].req.item = item;
    act[0].req.condition = zae_admin_str(ZAE_REGISTRY_NEW);
    act[1].type = ZAE_DDB_ACT_UPDATE;

    if (item == NULL
        || zae_registry_count(&a->mem, &act[1].req, &a->nsid, res, 1)
           != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the entity limits");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_transact(a, act, 2);

    if (rc == ZAE_DECLINED) {
        if (!zae_admin_cancel_reason(a, 0, "ConditionalCheckFailed")) {
            return zae_admin_fail_ddb(a, "cannot store the entity limits");
        }

        /* the config exists: overwrite it, the count stays */

        rc = zae_admin_put_av(a, item, NULL);
        if (rc == ZAE_DECLINED) {
            return zae_admin_fail_ddb(a, "cannot store the entity limits");
        }
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_sync_bucket(a, ent, res, ls, 0, NULL, 0) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_audit_limits(a, ent, res, ls, NULL) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return ZAE_ADMIN_EXIT_OK;
}


/* the ENTITY argument and --resource (default: _default_), checked */

static int
zae_admin_entity_resource(zae_admin_t *a, zae_str_t *ent, zae_str_t *res)
{
    const char               *s;
    zae_admin_limits_opts_t  *opts;

    opts = a->opts;
    s = opts->resource;

    if (zae_admin_check_entity(a, a->args[0], ent) != ZAE_OK
        || zae_admin_check_resource(a, s ? s : ZAE_RESOURCE_DEFAULT, res)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_admin_cmd_entity_set(zae_admin_t *a)
{
    zae_av_t           *meta;
    zae_str_t           ent, res;
    zae_limits_t        ls;
    zae_config_item_t   cfg;

    if (zae_admin_entity_resource(a, &ent, &res) != ZAE_OK
        || zae_admin_parse_limits(a, &ls) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_read_entity(a, &ent, &meta) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (meta == NULL) {
        fprintf(stderr, "%s: warning: entity \"%s\" has no record in "
                "namespace \"%s\"; its limits are stored anyway\n",
                a->prog, a->args[0], a->ns_name);
    }

    if (zae_admin_write_entity(a, &ent, &res, &ls) != ZAE_ADMIN_EXIT_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.limits = ls;

    return zae_admin_show_limits(a, &cfg,
                                 (char *) zae_admin_cat(a, "limits of entity "
                                     "\"%s\" on \"%.*s\" set", a->args[0],
                                     (int) res.len, res.data).data,
                                 ZAE_LEVEL_ENTITY, &ent, &res);
}


int
zae_admin_cmd_entity_get(zae_admin_t *a)
{
    zae_str_t           ent, res, what;
    zae_keys_t          k;
    zae_config_item_t  *cfg;

    if (zae_admin_entity_resource(a, &ent, &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    (void) zae_keys_entity_config(&a->mem, &k, &a->nsid, &ent, &res);

    if (zae_admin_get_config(a, &k.pk, &k.sk, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    what = zae_admin_cat(a, "limits of entity \"%s\" on \"%.*s\"",
                         a->args[0], (int) res.len, res.data);

    return zae_admin_show_limits(a, cfg, (char *) what.data,
                                 ZAE_LEVEL_ENTITY, &ent,
                                 &res);
}


/*
 * After entity limits are deleted, the bucket follows the fallback
 * limits (entity _default_, resource, system): their parameters, a
 * TTL, and no fields of limits that no longer apply.  Without any
 * fallback the bucket is left alone.  Not done for _default_ itself,
 * whose buckets are per resource.
 */

static int
zae_admin_reconcile(zae_admin_t *a, zae_str_t *ent, zae_str_t *res)
{
    int                  rc;
    size_t               i, n;
    int64_t              ttl;
    zae_str_t           *stale;
    zae_level_e          source;
    zae_bucket_item_t   *bi;
    const zae_limits_t  *ls;

    if (res->len == sizeof(ZAE_RESOURCE_DEFAULT) - 1
        && memcmp(res->data, ZAE_RESOURCE_DEFAULT, res->len) == 0)
    {
        return ZAE_OK;
    }

    rc = zae_admin_resolve_limits(a, ent, res, &ls, &source, 1);

    if (rc == ZAE_DECLINED) {
        return ZAE_OK;
    }

    if (rc != ZAE_OK || zae_admin_read_bucket(a, ent, res, &bi) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (bi == NULL) {
        return ZAE_OK;
    }

    stale = zae_alloc(&a->mem, (bi->nlimits + 1) * sizeof(zae_str_t));

    n = 0;

    for (i = 0; i < bi->nlimits; i++) {
        if (zae_limits_find(ls, bi->limits[i].name.data,
                            bi->limits[i].name.len) == NULL)
        {
            stale[n++] = bi->limits[i].name;
        }
    }

    ttl = zae_bucket_ttl_seconds(ls, ZAE_BUCKET_TTL_MULTIPLIER);
    ttl = ttl > 0 ? zae_admin_now_ms() / 1000 + ttl : 0;

    return zae_admin_sync_bucket(a, ent, res, ls, ttl, stale, n);
}


/*
 * entity limits deleted: config and registry in a transaction, the
 * registry attribute dropped at 0, the bucket reconciled, audit;
 * an exit code, or ZAE_DECLINED when there was nothing to delete
 */

int
zae_admin_remove_entity(zae_admin_t *a, zae_str_t *ent, zae_str_t *res)
{
    int                rc;
    zae_buf_t          d;
    zae_keys_t         k;
    zae_ddb_req_t      drop;
    zae_ddb_action_t   act[2];

    /* Delete (the config) + registry ref count, in one transaction */

    memset(act, 0, sizeof(act));
    memset(&drop, 0, sizeof(zae_ddb_req_t));
    act[0].type = ZAE_DDB_ACT_DELETE;
    act[0].req.condition = zae_admin_str(ZAE_REGISTRY_EXISTS);
    act[1].type = ZAE_DDB_ACT_UPDATE;

    if (zae_keys_entity_config(&a->mem, &k, &a->nsid, ent, res) != ZAE_OK
        || (act[0].req.key = zae_keys_key(&a->mem, &k)) == NULL
        || zae_registry_count(&a->mem, &act[1].req, &a->nsid, res, -1)
           != ZAE_OK
        || zae_registry_drop(&a->mem, &drop, &a->nsid, res) != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the entity limits deletion");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_transact(a, act, 2);

    if (rc == ZAE_DECLINED) {
        if (zae_admin_cancel_reason(a, 0, "ConditionalCheckFailed")) {
            return ZAE_DECLINED;
        }

        return zae_admin_fail_ddb(a, "cannot delete the entity limits");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* drop the registry attribute when its count reached 0 */

    rc = zae_admin_conditional(a, zae_admin_update(a, &drop, NULL),
                               "cannot update the config registry");
    if (rc == ZAE_ERROR) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_reconcile(a, ent, res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_buf_init(&d, &a->mem, 16);

    if (zae_buf_add_str(&d, "{}") != ZAE_OK
        || zae_admin_audit_event(a, ent, "limits_deleted", res, &d) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return ZAE_ADMIN_EXIT_OK;
}


int
zae_admin_cmd_entity_delete_limits(zae_admin_t *a)
{
    int                       rc;
    char                      what[512];
    zae_str_t                 ent, res;
    zae_admin_limits_opts_t  *opts;

    opts = a->opts;

    if (zae_admin_entity_resource(a, &ent, &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    snprintf(what, sizeof(what), "delete the limits of entity \"%s\" on "
             "\"%.*s\"", a->args[0], (int) res.len, res.data);

    if (zae_admin_confirm(a, opts->yes, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    rc = zae_admin_remove_entity(a, &ent, &res);

    if (rc == ZAE_DECLINED) {
        zae_admin_result(a, "{\"deleted\":false}",
                         "entity \"%s\" has no limits on \"%.*s\": nothing "
                         "to delete\n", a->args[0], (int) res.len, res.data);

        return ZAE_ADMIN_EXIT_OK;
    }

    if (rc != ZAE_ADMIN_EXIT_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_result(a, "{\"deleted\":true}",
                     "limits of entity \"%s\" on \"%.*s\" deleted\n",
                     a->args[0], (int) res.len, res.data);

    return ZAE_ADMIN_EXIT_OK;
}


/* the resource of an entity config item of this namespace */

static int
zae_admin_entity_config_key(zae_admin_t *a, zae_av_t *item, zae_str_t *res)
{
    zae_str_t   ent;
    zae_err_t   err;
    zae_keys_t  k;

    memset(&k, 0, sizeof(zae_keys_t));

    if (zae_item_get_str(item, "PK", &k.pk, &err) != ZAE_OK
        || zae_item_get_str(item, "SK", &k.sk, &err) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_keys_parse_entity_config(&k, &a->nsid, &ent, res);
}


int
zae_admin_cmd_entity_list(zae_admin_t *a)
{
    int                       rc;
    size_t                    i, n;
    zae_av_t                **items, *v, *list;
    zae_str_t                 id, pk, parent;
    zae_err_t                 err;
    zae_query_e               which;
    const char               *p, *r;
    zae_ddb_req_t             q;
    zae_admin_table_t         t;
    zae_admin_entity_opts_t  *o = a->opts;

    p = o->parent;
    r = o->with_custom_limits;

    if (p && r) {
        return zae_admin_usage_error(a, "--parent and --with-custom-limits "
                                     "exclude each other");
    }

    memset(&q, 0, sizeof(zae_ddb_req_t));

    if (p) {
        if (zae_admin_check_entity(a, p, &parent) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_USAGE;
        }

        which = ZAE_QUERY_CHILDREN;

    } else if (r) {
        if (zae_admin_check_resource(a, r, &parent) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_USAGE;
        }

        which = ZAE_QUERY_RESOURCE_ENTITIES;

    } else {
        which = ZAE_QUERY_NS_ITEMS;
        q.filter = zae_admin_str("SK = :meta");
        q.values = zae_av_map(&a->mem);
        zae_item_set_cstr(&a->mem, (zae_av_t *) q.values, ":meta",
                          ZAE_META_SK);
    }

    if (zae_admin_query_key(a, &q, which, NULL, &parent, NULL, 0,
                            "cannot list entities", &items, &n)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 1, "ENTITY");


    for (i = 0; i < n; i++) {
        if (r) {
            rc = zae_item_get_str(items[i], "GSI3SK", &id, &err);

        } else if (p) {
            rc = zae_item_get_str(items[i], "entity_id", &id, &err);

        } else {
            rc = zae_item_get_str(items[i], "PK", &pk, &err);

            if (rc == ZAE_OK) {
                rc = zae_keys_parse_entity_pk(&pk, &a->nsid, &id);
            }
        }

        if (rc != ZAE_OK) {
            continue;
        }

        v = zae_admin_json_zstr(a, &id);
        id = zae_admin_cat(a, "%.*s", (int) id.len, id.data);

        zae_av_list_add(&a->mem, list, v);
        zae_admin_table_row(a, &t, (char *) id.data);
    }

    return zae_admin_output(a, list, &t);
}


int
zae_admin_cmd_entity_resources(zae_admin_t *a)
{
    size_t          i, n;
    zae_av_t      **items, *list;
    zae_str_t       ent, res;
    zae_ddb_req_t   q;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.consistent_read = 1;

    if (zae_admin_query_key(a, &q, ZAE_QUERY_ENTITY_CONFIGS, NULL, &ent,
                            NULL, 0, "cannot list the entity's resources",
                            &items, &n)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);

    for (i = 0; i < n; i++) {
        if (zae_admin_entity_config_key(a, items[i], &res) != ZAE_OK) {
            continue;
        }

        zae_av_list_add(&a->mem, list, zae_admin_json_zstr(a, &res));
    }

    return zae_admin_print_list(a, list, "entity \"%s\" has no custom "
                                "limits\n", a->args[0]);
}


/*
 * The children of an entity (GSI1 {ns}/PARENT#{id}): a JSON list of
 * their ids and the same as "a, b, c"
 */

static int
zae_admin_children(zae_admin_t *a, zae_str_t *parent, zae_av_t **list,
    zae_str_t *names)
{
    size_t          i, n;
    zae_av_t      **items;
    zae_buf_t       text;
    zae_str_t       id;
    zae_err_t       err;

    *list = zae_av_list(&a->mem);
    zae_buf_init(&text, &a->mem, 64);

    if (zae_admin_query_key(a, NULL, ZAE_QUERY_CHILDREN, NULL, parent, NULL,
                            0, "cannot list the children", &items, &n)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (zae_item_get_str(items[i], "entity_id", &id, &err) != ZAE_OK) {
            continue;
        }

        zae_av_list_add(&a->mem, *list, zae_admin_json_zstr(a, &id));
        zae_buf_printf(&text, "%s%.*s", (*list)->nitems > 1 ? ", " : "",
                       (int) id.len, id.data);
    }

    names->data = text.data;
    names->len = text.len;

    return ZAE_OK;
}


int
zae_admin_cmd_entity_delete(zae_admin_t *a)
{
    int                       rc;
    char                      what[512];
    size_t                    i, n1, n2;
    zae_av_t                 *meta, **own, **buckets, **all, *children, *o;
    zae_buf_t                 d, text;
    zae_str_t                 ent, res, names;
    zae_ddb_req_t             q;
    zae_admin_entity_opts_t  *opts = a->opts;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_read_entity(a, &ent, &meta) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (meta == NULL) {
        zae_admin_error(a, "entity \"%s\" not found in namespace \"%s\"",
                        a->args[0], a->ns_name);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /*
     * children keep their parent_id and cascade to a parent that is
     * gone (a fresh bucket at resource defaults): only with --force
     */

    if (zae_admin_children(a, &ent, &children, &names) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (children->nitems && !opts->force) {
        zae_admin_error(a, "entity \"%s\" is the parent of %zu entit%s: "
                        "%.*s", a->args[0], children->nitems,
                        children->nitems == 1 ? "y" : "ies",
                        (int) names.len, names.data);
        fprintf(stderr, "they would keep parent \"%s\" and cascade to a "
                "parent without limits of its own;\ndelete them first, or "
                "pass --force to delete \"%s\" and leave them\n",
                a->args[0], a->args[0]);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    snprintf(what, sizeof(what), "delete entity \"%s\" with its limits, "
             "buckets and usage", a->args[0]);

    if (zae_admin_confirm(a, opts->yes, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    /* the entity's own items: meta, configs, usage */

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.consistent_read = 1;

    if (zae_admin_query_key(a, &q, ZAE_QUERY_ENTITY_ITEMS, NULL, &ent, NULL,
                            0, "cannot list the entity's items", &own, &n1)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* its buckets, through GSI3 */

    if (zae_admin_query_key(a, NULL, ZAE_QUERY_ENTITY_BUCKETS, NULL, &ent,
                            NULL, 0, "cannot list the entity's buckets",
                            &buckets, &n2)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    all = zae_alloc(&a->mem, (n1 + n2 + 1) * sizeof(zae_av_t *));

    for (i = 0; i < n1; i++) {
        all[i] = own[i];
    }

    for (i = 0; i < n2; i++) {
        all[n1 + i] = buckets[i];
    }

    rc = zae_admin_batch_delete(a, all, n1 + n2);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    /* one registry reference less per entity config */

    for (i = 0; i < n1; i++) {
        if (zae_admin_entity_config_key(a, own[i], &res) != ZAE_OK) {
            continue;
        }

        memset(&q, 0, sizeof(zae_ddb_req_t));

        if (zae_registry_count(&a->mem, &q, &a->nsid, &res, -1) != ZAE_OK) {
            zae_admin_error(a, "cannot build the config registry update");
            return ZAE_ADMIN_EXIT_FAILED;
        }

        rc = zae_admin_check(a, zae_admin_update(a, &q, NULL),
                             "cannot update the config registry");
        if (rc != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }
    }

    zae_buf_init(&d, &a->mem, 64);

    zae_audit_details_deleted(&d, (int64_t) (n1 + n2));

    if (zae_admin_audit_event(a, &ent, "entity_deleted", NULL, &d)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    o = zae_admin_json_obj(a);

    zae_admin_set_bool(a, o, "deleted", 1);
    zae_admin_set_int(a, o, "records_deleted", (int64_t) (n1 + n2));
    zae_admin_json_set(a, o, "orphaned_children", children);

    zae_buf_init(&text, &a->mem, 256);
    zae_buf_printf(&text, "entity \"%s\" deleted: %zu records\n", a->args[0],
                   n1 + n2);

    if (children->nitems) {
        zae_buf_printf(&text, "children left with parent \"%s\": %.*s\n",
                       a->args[0], (int) names.len, names.data);
    }

    return zae_admin_print_text(a, o, &text);
}


/*
 * entity key-hash: the option parser already turned the API key into its
 * entity id (zae_admin_key_entity())
 */

int
zae_admin_cmd_entity_key_hash(zae_admin_t *a)
{
    zae_av_t  *o;

    if (a->key.key_hash_secret_file == NULL) {
        return zae_admin_usage_error(a, "--key-hash-secret-file is "
                                     "required");
    }

    o = zae_admin_json_obj(a);
    zae_admin_set_str(a, o, "entity_id", a->args[0]);

    return zae_admin_print(a, o, "%s\n", a->args[0]);
}
