
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin capacity queries: available and time-until-available,
 * with the config resolution and bucket reads they share.
 */


#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


static int
zae_admin_args(zae_admin_t *a, zae_str_t *ent, zae_str_t *res)
{
    if (zae_admin_check_entity(a, a->args[0], ent) != ZAE_OK
        || zae_admin_check_resource(a, a->args[1], res) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/* the four config levels, read consistently, then resolved */

int
zae_admin_resolve_limits(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    const zae_limits_t **ls, zae_level_e *source, int quiet)
{
    int                  i, rc;
    zae_av_t            *item;
    zae_str_t            def = zae_string(ZAE_RESOURCE_DEFAULT);
    zae_err_t            err;
    zae_keys_t           k[ZAE_CONFIG_LEVELS];
    zae_config_item_t   *cfg;
    zae_config_levels_t  levels;

    /* indexed by zae_level_e: entity, entity default, resource, system */

    if (zae_keys_entity_config(&a->mem, &k[ZAE_LEVEL_ENTITY], &a->nsid, ent,
                               res)
        != ZAE_OK
        || zae_keys_entity_config(&a->mem, &k[ZAE_LEVEL_ENTITY_DEFAULT],
                                  &a->nsid, ent, &def)
           != ZAE_OK
        || zae_keys_resource_config(&a->mem, &k[ZAE_LEVEL_RESOURCE],
                                    &a->nsid, res)
           != ZAE_OK
        || zae_keys_system(&a->mem, &k[ZAE_LEVEL_SYSTEM], &a->nsid,
                           ZAE_SYSTEM_CONFIG)
           != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the config keys");
        return ZAE_ERROR;
    }

    memset(&levels, 0, sizeof(levels));

    for (i = 0; i < ZAE_CONFIG_LEVELS; i++) {
        rc = zae_admin_read(a, &k[i].pk, &k[i].sk, "cannot read the limits",
                            &item);
        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (item == NULL) {
            continue;
        }

        cfg = zae_calloc(&a->mem, sizeof(zae_config_item_t));

        if (zae_config_item_decode(&a->mem, item, cfg, &err) != ZAE_OK) {
            zae_admin_error(a, "invalid config \"%.*s\" \"%.*s\": %s",
                            (int) k[i].pk.len, k[i].pk.data,
                            (int) k[i].sk.len, k[i].sk.data, err.msg);
            return ZAE_ERROR;
        }

        levels.level[i] = cfg;
    }

    if (zae_resolve_limits(&levels, ent, res, NULL, ls, source, &err)
        != ZAE_OK)
    {
        if (quiet) {
            return ZAE_DECLINED;
        }

        zae_admin_error(a, "no limits apply to entity \"%.*s\" on resource "
                        "\"%.*s\" in namespace \"%s\"", (int) ent->len,
                        ent->data, (int) res->len, res->data, a->ns_name);
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_admin_read_bucket(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    zae_bucket_item_t **bucket)
{
    zae_av_t           *item;
    zae_str_t           pk, sk;
    zae_err_t           err;
    zae_bucket_item_t  *bi;

    *bucket = NULL;

    (void) zae_keys_bucket_pk(&a->mem, &pk, &a->nsid, ent, res, 0);
    sk = zae_admin_str(ZAE_BUCKET_SK);

    if (zae_admin_read(a, &pk, &sk, "cannot read the bucket",
                       &item)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (item == NULL) {
        return ZAE_OK;
    }

    bi = zae_calloc(&a->mem, sizeof(zae_bucket_item_t));

    if (zae_bucket_item_decode(&a->mem, item, bi, &err) != ZAE_OK) {
        zae_admin_error(a, "invalid bucket \"%.*s\": %s", (int) pk.len,
                        pk.data, err.msg);
        return ZAE_ERROR;
    }

    *bucket = bi;

    return ZAE_OK;
}


/* the state of one limit: from the bucket, else full at capacity */

static void
zae_admin_limit_state(zae_bucket_item_t *bi, const zae_limit_t *l,
    int64_t now, zae_bucket_t *b)
{
    zae_bucket_limit_t  *bl, full;

    bl = bi ? zae_bucket_item_limit(bi, l->name.data, l->name.len) : NULL;

    if (bl == NULL) {
        zae_bucket_limit_from_limit(&full, l);
        bl = &full;
        b->last = now;

    } else {
        b->last = bi->rf;
    }

    b->tk = bl->tk;
    b->cp = bl->cp;
    b->ra = bl->ra;
    b->rp = bl->rp;
}


/* what applies to one entity of an "available" answer */

typedef struct {
    zae_str_t            entity;
    const zae_limits_t  *limits;
    zae_level_e          source;
    zae_bucket_item_t   *bucket;
    int64_t             *avail;       /* per limit of limits */
    int64_t             *cap;
} zae_admin_avail_t;


static int
zae_admin_avail_read(zae_admin_t *a, zae_admin_avail_t *v, zae_str_t *res,
    int64_t now, int quiet)
{
    int           rc;
    size_t        i;
    zae_bucket_t  b;

    rc = zae_admin_resolve_limits(a, &v->entity, res, &v->limits,
                                  &v->source, quiet);
    if (rc != ZAE_OK) {
        return rc;
    }

    if (zae_admin_read_bucket(a, &v->entity, res, &v->bucket) != ZAE_OK) {
        return ZAE_ERROR;
    }

    v->avail = zae_calloc(&a->mem, (v->limits->nelts + 1) * sizeof(int64_t));
    v->cap = zae_calloc(&a->mem, (v->limits->nelts + 1) * sizeof(int64_t));


    for (i = 0; i < v->limits->nelts; i++) {
        zae_admin_limit_state(v->bucket, &v->limits->elts[i], now, &b);
        v->avail[i] = zae_bucket_available(&b, now);
        v->cap[i] = b.cp / 1000;
    }

    return ZAE_OK;
}


/*
 * The rows of one entity; with a cascade (other != NULL), the row of
 * the smaller availability of a limit both levels have "binds": a
 * request consumes from both and is refused by the first to run out
 */

static void
zae_admin_avail_rows(zae_admin_t *a, zae_admin_avail_t *v,
    zae_admin_avail_t *other, int self_first, zae_admin_table_t *t,
    zae_av_t *map, zae_av_t *binding)
{
    size_t              i;
    int                 binds;
    zae_str_t           name;
    const zae_limit_t  *l, *ol;

    for (i = 0; i < v->limits->nelts; i++) {
        l = &v->limits->elts[i];
        name = zae_admin_cat(a, "%.*s", (int) l->name.len, l->name.data);
        binds = 1;

        if (other) {
            ol = zae_limits_find(other->limits, l->name.data, l->name.len);

            if (ol) {
                binds = self_first
                        ? v->avail[i] <= other->avail[ol - other->limits->elts]
                        : v->avail[i] < other->avail[ol - other->limits->elts];
            }
        }

        zae_admin_set_int(a, map, (char *) name.data, v->avail[i]);

        if (binds && binding) {
            zae_admin_set_zstr(a, binding, (char *) name.data, &v->entity);
        }

        zae_admin_table_row(a, t,
                            zae_admin_cat(a, "%.*s", (int) v->entity.len,
                                          v->entity.data).data,
                            (char *) name.data,
                            zae_admin_cat(a, "%lld",
                                          (long long) v->avail[i]).data,
                            zae_admin_cat(a, "%lld",
                                          (long long) v->cap[i]).data,
                            binds && other ? "*" : "");
    }
}


int
zae_admin_cmd_available(zae_admin_t *a)
{
    int                  rc, i;
    int64_t              now;
    zae_av_t            *o, *m, *pm, *po, *bind, *meta;
    zae_str_t            res;
    zae_err_t            err;
    zae_admin_table_t    t;
    zae_entity_meta_t    em;
    zae_admin_avail_t    v[2], *parent;

    memset(v, 0, sizeof(v));

    if (zae_admin_args(a, &v[0].entity, &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    now = zae_admin_now_ms();

    if (zae_admin_avail_read(a, &v[0], &res, now, 0) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* a cascading child: its parent's limits apply too */

    parent = NULL;

    if (zae_admin_read_entity(a, &v[0].entity, &meta) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (meta && zae_entity_meta_decode(&a->mem, meta, &em, &err) == ZAE_OK
        && em.cascade && em.parent_id.len)
    {
        v[1].entity = em.parent_id;

        rc = zae_admin_avail_read(a, &v[1], &res, now, 1);
        if (rc == ZAE_ERROR) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        if (rc == ZAE_OK) {
            parent = &v[1];
        }
    }

    o = zae_admin_json_obj(a);
    m = zae_admin_json_obj(a);
    pm = zae_admin_json_obj(a);
    bind = zae_admin_json_obj(a);

    if (parent) {
        zae_admin_table_init(&t, 5, "ENTITY", "LIMIT", "AVAILABLE",
                             "CAPACITY", "BINDS");

    } else {
        zae_admin_table_init(&t, 4, "ENTITY", "LIMIT", "AVAILABLE",
                             "CAPACITY");
    }

    zae_admin_avail_rows(a, &v[0], parent, 1, &t, m, parent ? bind : NULL);

    zae_admin_set_zstr(a, o, "entity_id", &v[0].entity);
    zae_admin_set_zstr(a, o, "resource", &res);
    zae_admin_set_str(a, o, "source", zae_level_name(v[0].source));
    zae_admin_json_set(a, o, "available", m);

    if (parent) {
        zae_admin_avail_rows(a, parent, &v[0], 0, &t, pm, bind);

        po = zae_admin_json_obj(a);
        zae_admin_set_zstr(a, po, "entity_id", &parent->entity);
        zae_admin_set_str(a, po, "source", zae_level_name(parent->source));
        zae_admin_json_set(a, po, "available", pm);

        zae_admin_json_set(a, o, "parent", po);
        zae_admin_json_set(a, o, "binding", bind);
    }

    zae_buf_init(&t.footer, &a->mem, 256);

    for (i = 0; i < (parent ? 2 : 1); i++) {
        zae_buf_printf(&t.footer, "(%.*s: limits from the %s level%s)\n",
                       (int) v[i].entity.len, v[i].entity.data,
                       zae_level_name(v[i].source),
                       i == 0 && parent ? ", cascades to its parent" : "");
    }

    if (parent) {
        zae_buf_add_str(&t.footer, "* binds: the smaller of the two for a "
                        "limit both have\n");
    }

    return zae_admin_output(a, o, &t);
}


int
zae_admin_cmd_time_until(zae_admin_t *a)
{
    int                       i, n;
    char                     *colon;
    int64_t                   now, ms, max, tokens;
    zae_av_t                 *o;
    zae_str_t                 ent, res, secs;
    zae_err_t                 err;
    const char              **needed;
    zae_level_e               source;
    zae_bucket_t              b;
    zae_bucket_item_t        *bi;
    const zae_limit_t        *l;
    const zae_limits_t       *ls;
    zae_admin_needed_opts_t  *opts;

    opts = a->opts;

    if (zae_admin_args(a, &ent, &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    n = opts->needed.n;
    needed = opts->needed.v;

    if (n == 0) {
        return zae_admin_usage_error(a, "at least one --needed name:N is "
                                     "required");
    }

    if (n > ZAE_LIMITS_MAX) {
        return zae_admin_usage_error(a, "too many --needed values");
    }

    for (i = 0; i < n; i++) {
        colon = strrchr(needed[i], ':');

        if (colon == NULL
            || zae_validate_limit_name((u_char *) needed[i],
                                       colon - needed[i], &err) != ZAE_OK
            || zae_parse_tokens((u_char *) colon + 1, strlen(colon + 1),
                                &tokens, &err) != ZAE_OK)
        {
            return zae_admin_usage_error(a, "invalid --needed \"%s\": "
                                         "expected name:N",
                                         zae_admin_shown(a, needed[i]));
        }
    }

    if (zae_admin_resolve_limits(a, &ent, &res, &ls, &source, 0) != ZAE_OK
        || zae_admin_read_bucket(a, &ent, &res, &bi) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    now = zae_admin_now_ms();
    max = 0;

    for (i = 0; i < n; i++) {
        colon = strrchr(needed[i], ':');
        (void) zae_parse_tokens((u_char *) colon + 1, strlen(colon + 1),
                                &tokens, &err);

        l = zae_limits_find(ls, (u_char *) needed[i], colon - needed[i]);
        if (l == NULL) {
            zae_admin_error(a, "limit \"%.*s\" does not apply to entity "
                            "\"%s\" on resource \"%s\"",
                            (int) (colon - needed[i]), needed[i],
                            a->args[0], a->args[1]);
            return ZAE_ADMIN_EXIT_FAILED;
        }

        zae_admin_limit_state(bi, l, now, &b);
        ms = zae_bucket_time_until_available(&b, tokens, now);

        if (ms > max) {
            max = ms;
        }
    }

    secs = zae_admin_cat(a, "%lld.%03lld", (long long) (max / 1000),
                         (long long) (max % 1000));

    o = zae_admin_json_obj(a);

    zae_admin_set_zstr(a, o, "entity_id", &ent);
    zae_admin_set_zstr(a, o, "resource", &res);
    zae_admin_set_int(a, o, "retry_after_ms", max);
    zae_admin_json_set(a, o, "retry_after_seconds",
                       zae_av_num(&a->mem, secs.data, secs.len));

    return zae_admin_print(a, o, "%s\n", (char *) secs.data);
}
