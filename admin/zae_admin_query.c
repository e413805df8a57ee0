
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin: entity delete, the capacity queries (available,
 * time-until-available) and audit list.
 */


#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


static int zae_admin_children(zae_admin_t *a, zae_str_t *parent,
    zae_av_t **list, zae_str_t *names);


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
    zae_str_t            pk[ZAE_CONFIG_LEVELS], sk[ZAE_CONFIG_LEVELS];
    zae_err_t            err;
    zae_config_item_t   *cfg;
    zae_config_levels_t  levels;

    pk[0] = zae_admin_ns_pk(a, "ENTITY#", ent);
    sk[0] = zae_admin_cat(a, "#CONFIG#%.*s", (int) res->len, res->data);
    pk[1] = pk[0];
    sk[1] = zae_admin_str("#CONFIG#" ZAE_RESOURCE_DEFAULT);
    pk[2] = zae_admin_ns_pk(a, "RESOURCE#", res);
    sk[2] = zae_admin_str("#CONFIG");
    pk[3] = zae_admin_cat(a, "%.*s/SYSTEM#", (int) a->nsid.len,
                          a->nsid.data);
    sk[3] = sk[2];

    memset(&levels, 0, sizeof(levels));

    for (i = 0; i < ZAE_CONFIG_LEVELS; i++) {
        rc = zae_admin_check(a, zae_admin_get_item(a, &pk[i], &sk[i], 1, &item),
                             "cannot read the limits");
        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (item == NULL) {
            continue;
        }

        cfg = zae_calloc(&a->mem, sizeof(zae_config_item_t));

        if (zae_config_item_decode(&a->mem, item, cfg, &err) != ZAE_OK) {
            zae_admin_error(a, "invalid config \"%.*s\" \"%.*s\": %s",
                            (int) pk[i].len, pk[i].data, (int) sk[i].len,
                            sk[i].data, err.msg);
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
    int                 rc;
    zae_av_t           *item;
    zae_str_t           pk, sk;
    zae_err_t           err;
    zae_bucket_item_t  *bi;

    *bucket = NULL;

    pk = zae_admin_cat(a, "%.*s/BUCKET#%.*s#%.*s#0", (int) a->nsid.len,
                       a->nsid.data, (int) ent->len, ent->data,
                       (int) res->len, res->data);
    sk = zae_admin_str(ZAE_BUCKET_SK);

    rc = zae_admin_check(a, zae_admin_get_item(a, &pk, &sk, 1, &item),
                         "cannot read the bucket");
    if (rc != ZAE_OK) {
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
    zae_bucket_limit_t  *bl;

    bl = bi ? zae_bucket_item_limit(bi, l->name.data, l->name.len) : NULL;

    if (bl == NULL) {
        b->cp = l->capacity * 1000;
        b->ra = l->refill_amount * 1000;
        b->rp = l->period * 1000;
        b->tk = b->cp;
        b->last = now;
        return;
    }

    b->tk = bl->tk;
    b->cp = bl->cp;
    b->ra = bl->ra;
    b->rp = bl->rp;
    b->last = bi->rf;
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

static int
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

        if (zae_av_map_add(&a->mem, map, name.data, name.len,
                           zae_admin_json_int(a, v->avail[i])) != ZAE_OK
            || (binds && binding
                && zae_av_map_add(&a->mem, binding, name.data, name.len,
                                  zae_admin_json_zstr(a, &v->entity))
                   != ZAE_OK)
            || zae_admin_table_row(a, t,
                   zae_admin_cat(a, "%.*s", (int) v->entity.len,
                                 v->entity.data).data,
                   (char *) name.data,
                   zae_admin_cat(a, "%lld", (long long) v->avail[i]).data,
                   zae_admin_cat(a, "%lld", (long long) v->cap[i]).data,
                   binds && other ? "*" : "") != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


int
zae_admin_cmd_available(zae_admin_t *a)
{
    int                  rc, i;
    int64_t              now;
    zae_av_t            *o, *m, *pm, *po, *bind, *meta;
    zae_str_t            res, pk, sk;
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

    pk = zae_admin_ns_pk(a, "ENTITY#", &v[0].entity);
    sk = zae_admin_str("#META");

    rc = zae_admin_check(a, zae_admin_get_item(a, &pk, &sk, 1, &meta),
                         "cannot read the entity");
    if (rc != ZAE_OK) {
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

    if (o == NULL || m == NULL || pm == NULL || bind == NULL
        || zae_admin_avail_rows(a, &v[0], parent, 1, &t, m,
                                parent ? bind : NULL) != ZAE_OK
        || (parent
            && zae_admin_avail_rows(a, parent, &v[0], 0, &t, pm, bind)
               != ZAE_OK))
    {
        goto nomem;
    }

    if (a->json) {
        po = NULL;

        if (parent) {
            po = zae_admin_json_obj(a);

            zae_admin_json_set(a, po, "entity_id",
                               zae_admin_json_zstr(a, &parent->entity));
            zae_admin_json_set(a, po, "source",
                zae_admin_json_str(a, zae_level_name(parent->source)));
            zae_admin_json_set(a, po, "available", pm);
        }

        if (zae_admin_json_set(a, o, "entity_id",
                               zae_admin_json_zstr(a, &v[0].entity))
            || zae_admin_json_set(a, o, "resource",
                                  zae_admin_json_zstr(a, &res))
            || zae_admin_json_set(a, o, "source",
                   zae_admin_json_str(a, zae_level_name(v[0].source)))
            || zae_admin_json_set(a, o, "available", m)
            || (parent
                && (zae_admin_json_set(a, o, "parent", po)
                    || zae_admin_json_set(a, o, "binding", bind))))
        {
            goto nomem;
        }

        return zae_admin_print_json(a, o);
    }

    zae_admin_table_print(&t);

    for (i = 0; i < (parent ? 2 : 1); i++) {
        printf("(%.*s: limits from the %s level%s)\n",
               (int) v[i].entity.len, v[i].entity.data,
               zae_level_name(v[i].source),
               i == 0 && parent ? ", cascades to its parent" : "");
    }

    if (parent) {
        printf("* binds: the smaller of the two for a limit both have\n");
    }

    return ZAE_ADMIN_EXIT_OK;

nomem:

    zae_admin_error(a, "out of memory");

    return ZAE_ADMIN_EXIT_FAILED;
}


int
zae_admin_cmd_time_until(zae_admin_t *a)
{
    int                  i, n;
    char                *colon;
    int64_t              now, ms, max, tokens;
    zae_av_t            *o;
    zae_str_t            ent, res;
    zae_err_t            err;
    const char          *needed[ZAE_LIMITS_MAX + 1];
    zae_level_e          source;
    zae_bucket_t         b;
    zae_bucket_item_t   *bi;
    const zae_limit_t   *l;
    const zae_limits_t  *ls;

    if (zae_admin_args(a, &ent, &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    n = zae_admin_opt_all(a, "needed", needed, ZAE_LIMITS_MAX + 1);

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

    if (a->json) {
        o = zae_admin_json_obj(a);

        zae_admin_json_set(a, o, "entity_id", zae_admin_json_zstr(a,
                                                                  &ent));
        zae_admin_json_set(a, o, "resource",
                           zae_admin_json_zstr(a, &res));
        zae_admin_json_set(a, o, "retry_after_ms",
                           zae_admin_json_int(a, max));
        zae_admin_json_set(a, o, "retry_after_seconds",
                           zae_av_num(&a->mem,
                               zae_admin_cat(a, "%lld.%03lld",
                                   (long long) (max / 1000),
                                   (long long) (max % 1000)).data,
                               strlen((char *) zae_admin_cat(a,
                                   "%lld.%03lld",
                                   (long long) (max / 1000),
                                   (long long) (max % 1000)).data)));

        return zae_admin_print_json(a, o);
    }

    printf("%lld.%03lld\n", (long long) (max / 1000),
           (long long) (max % 1000));

    return ZAE_ADMIN_EXIT_OK;
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
    zae_str_t       key, id;
    zae_err_t       err;
    zae_ddb_req_t   q;

    key = zae_admin_ns_pk(a, "PARENT#", parent);

    *list = zae_av_list(&a->mem);
    zae_buf_init(&text, &a->mem, 64);

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.index = zae_admin_str("GSI1");

    if (zae_admin_query_key(a, &q, "GSI1PK", &key, NULL, NULL, 0,
                            "cannot list the children", &items, &n)
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
    int             rc;
    char            what[512];
    size_t          i, n1, n2;
    zae_av_t       *meta, **own, **buckets, **all, *children, *o;
    zae_buf_t       b, d;
    zae_str_t       ent, pk, gpk, sk, rpk, rsk, res, names;
    zae_err_t       err;
    zae_ddb_req_t   q;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    pk = zae_admin_ns_pk(a, "ENTITY#", &ent);
    sk = zae_admin_str("#META");

    rc = zae_admin_check(a, zae_admin_get_item(a, &pk, &sk, 1, &meta),
                         "cannot read the entity");
    if (rc != ZAE_OK) {
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

    if (children->nitems && !zae_admin_flag(a, "force")) {
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

    if (zae_admin_confirm(a, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    /* the entity's own items: meta, configs, usage */

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.consistent_read = 1;

    if (zae_admin_query_key(a, &q, "PK", &pk, NULL, NULL, 0,
                            "cannot list the entity's items", &own, &n1)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* its buckets, through GSI3 */

    gpk = zae_admin_ns_pk(a, "ENTITY#", &ent);

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.index = zae_admin_str("GSI3");

    if (zae_admin_query_key(a, &q, "GSI3PK", &gpk, "GSI3SK", "BUCKET#", 0,
                            "cannot list the entity's buckets", &buckets,
                            &n2)
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

    rpk = zae_admin_cat(a, "%.*s/SYSTEM#", (int) a->nsid.len, a->nsid.data);
    rsk = zae_admin_str("#ENTITY_CONFIG_RESOURCES");

    for (i = 0; i < n1; i++) {
        if (zae_item_get_str(own[i], "SK", &sk, &err) != ZAE_OK
            || sk.len <= sizeof("#CONFIG#") - 1
            || memcmp(sk.data, "#CONFIG#", sizeof("#CONFIG#") - 1) != 0)
        {
            continue;
        }

        res.data = sk.data + sizeof("#CONFIG#") - 1;
        res.len = sk.len - (sizeof("#CONFIG#") - 1);

        zae_admin_body_start(a, &b);
        zae_buf_add_str(&b, ",");
        zae_admin_key(&b, &rpk, &rsk);
        zae_buf_add_str(&b, ",\"UpdateExpression\":\"ADD #r :m\","
                        "\"ExpressionAttributeNames\":{\"#r\":");
        zae_json_add_string(&b, res.data, res.len);
        zae_buf_add_str(&b, "},\"ExpressionAttributeValues\":"
                        "{\":m\":{\"N\":\"-1\"}}}");

        rc = zae_admin_check(a, zae_admin_ddb(a, "UpdateItem", &b, NULL),
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

    if (a->json) {
        o = zae_admin_json_obj(a);

        zae_admin_json_set(a, o, "deleted", zae_admin_json_bool(a, 1));
        zae_admin_json_set(a, o, "records_deleted",
                           zae_admin_json_int(a, (int64_t) (n1 + n2)));
        zae_admin_json_set(a, o, "orphaned_children", children);

        return zae_admin_print_json(a, o);
    }

    printf("entity \"%s\" deleted: %zu records\n", a->args[0], n1 + n2);

    if (children->nitems) {
        printf("children left with parent \"%s\": %.*s\n", a->args[0],
               (int) names.len, names.data);
    }

    return ZAE_ADMIN_EXIT_OK;
}


int
zae_admin_cmd_audit_list(zae_admin_t *a)
{
    long                lim;
    char               *end;
    size_t              i, k, n;
    zae_av_t          **items, *list, *o, *det;
    zae_buf_t           db;
    zae_str_t           ent, pk, sk, f[6];
    zae_err_t           err;
    const char         *e, *l, *start;
    zae_ddb_req_t       q;
    zae_admin_table_t   t;
    static const char  *fields[6] = { "event_id", "timestamp", "action",
                                      "entity_id", "principal", "resource" };

    e = zae_admin_opt(a, "entity-id");
    l = zae_admin_opt(a, "limit");
    start = zae_admin_opt(a, "start-event-id");

    ent = zae_admin_str(e ? e : "$SYSTEM");

    if (e && strncmp(e, "$RESOURCE:", 10) != 0 && strcmp(e, "$SYSTEM") != 0
        && zae_validate_entity_id(ent.data, ent.len, &err) != ZAE_OK)
    {
        return zae_admin_usage_error(a, "invalid entity id \"%s\": %s",
                                     zae_admin_shown(a, e), err.msg);
    }

    lim = 100;

    if (l) {
        lim = strtol(l, &end, 10);

        if (*l == '\0' || *end != '\0' || lim < 1 || lim > 10000) {
            return zae_admin_usage_error(a, "invalid --limit \"%s\": use "
                                         "1..10000", zae_admin_shown(a, l));
        }
    }

    if (start && !zae_ulid_valid((u_char *) start, strlen(start))) {
        return zae_admin_usage_error(a, "invalid --start-event-id \"%s\": "
                                     "not a ULID", zae_admin_shown(a, start));
    }

    pk = zae_admin_ns_pk(a, "AUDIT#", &ent);

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.scan_backward = 1;
    q.limit = lim;

    if (start) {
        sk = zae_admin_cat(a, "#AUDIT#%s", start);
        q.start_key = zae_admin_key_av(&a->mem, &pk, &sk);
    }

    if (zae_admin_query_key(a, &q, "PK", &pk, "SK", "#AUDIT#", (size_t) lim,
                            "cannot list audit events", &items, &n)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 6, "EVENT ID", "TIMESTAMP", "ACTION",
                         "ENTITY", "PRINCIPAL", "DETAILS");


    for (i = 0; i < n; i++) {
        o = zae_admin_json_obj(a);

        for (k = 0; k < 6; k++) {
            f[k].len = 0;
            f[k].data = NULL;

            (void) zae_item_get_str(items[i], fields[k], &f[k], &err);

            zae_admin_json_set(a, o, fields[k],
                               zae_admin_json_zstr(a, &f[k]));

            f[k] = zae_admin_cat(a, "%.*s", (int) f[k].len,
                                 f[k].data ? (char *) f[k].data : "");
        }

        det = zae_admin_item_to_json(a, zae_item_get(items[i], "details"));
        zae_buf_init(&db, &a->mem, 128);

        zae_admin_json_set(a, o, "details", det);
        zae_av_list_add(&a->mem, list, o);
        zae_json_encode(&db, det);
        zae_buf_add(&db, "", 1);
        zae_admin_table_row(a, &t, f[0].data, f[1].data, f[2].data,
                            f[3].data,
                            f[4].len ? (char *) f[4].data : NULL,
                            (char *) db.data);
    }

    return zae_admin_output(a, list, &t);
}
