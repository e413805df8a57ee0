
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


static int zae_admin_keys_query(zae_admin_t *a, zae_buf_t *b,
    zae_av_t ***items, size_t *n);


static zae_str_t
zae_admin_q_pk(zae_admin_t *a, const char *what, zae_str_t *id)
{
    return zae_admin_cat(a, "%.*s/%s%.*s", (int) a->nsid.len, a->nsid.data,
                         what, (int) id->len, id->data);
}


static int
zae_admin_args(zae_admin_t *a, zae_str_t *ent, zae_str_t *res)
{
    zae_err_t  err;

    *ent = zae_admin_str(a->args[0]);
    *res = zae_admin_str(a->args[1]);

    if (zae_validate_entity_id(ent->data, ent->len, &err) != ZAE_OK) {
        zae_admin_usage_error(a, "invalid entity id \"%s\": %s",
                              zae_admin_shown(a, a->args[0]), err.msg);
        return ZAE_ERROR;
    }

    if (zae_validate_resource(res->data, res->len, &err) != ZAE_OK) {
        zae_admin_usage_error(a, "invalid resource \"%s\": %s",
                              zae_admin_shown(a, a->args[1]), err.msg);
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

    pk[0] = zae_admin_q_pk(a, "ENTITY#", ent);
    sk[0] = zae_admin_cat(a, "#CONFIG#%.*s", (int) res->len, res->data);
    pk[1] = pk[0];
    sk[1] = zae_admin_str("#CONFIG#" ZAE_RESOURCE_DEFAULT);
    pk[2] = zae_admin_q_pk(a, "RESOURCE#", res);
    sk[2] = zae_admin_str("#CONFIG");
    pk[3] = zae_admin_cat(a, "%.*s/SYSTEM#", (int) a->nsid.len,
                          a->nsid.data);
    sk[3] = sk[2];

    memset(&levels, 0, sizeof(levels));

    for (i = 0; i < ZAE_CONFIG_LEVELS; i++) {
        rc = zae_admin_get_item(a, &pk[i], &sk[i], 1, &item);
        if (rc == ZAE_DECLINED) {
            zae_admin_fail_ddb(a, "cannot read the limits");
            return ZAE_ERROR;
        }

        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (item == NULL) {
            continue;
        }

        cfg = zae_calloc(&a->mem, sizeof(zae_config_item_t));
        if (cfg == NULL) {
            zae_admin_error(a, "out of memory");
            return ZAE_ERROR;
        }

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

    rc = zae_admin_get_item(a, &pk, &sk, 1, &item);
    if (rc == ZAE_DECLINED) {
        zae_admin_fail_ddb(a, "cannot read the bucket");
        return ZAE_ERROR;
    }

    if (rc != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (item == NULL) {
        return ZAE_OK;
    }

    bi = zae_calloc(&a->mem, sizeof(zae_bucket_item_t));
    if (bi == NULL) {
        zae_admin_error(a, "out of memory");
        return ZAE_ERROR;
    }

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


int
zae_admin_cmd_available(zae_admin_t *a)
{
    size_t               i;
    int64_t              now, avail;
    zae_av_t            *o, *m;
    zae_str_t            ent, res, cell;
    zae_level_e          source;
    zae_bucket_t         b;
    zae_bucket_item_t   *bi;
    zae_admin_table_t    t;
    const zae_limits_t  *ls;

    if (zae_admin_args(a, &ent, &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_resolve_limits(a, &ent, &res, &ls, &source, 0) != ZAE_OK
        || zae_admin_read_bucket(a, &ent, &res, &bi) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    now = zae_admin_now_ms();

    o = zae_admin_json_obj(a);
    m = zae_admin_json_obj(a);
    zae_admin_table_init(&t, 3, "LIMIT", "AVAILABLE", "CAPACITY");

    if (o == NULL || m == NULL) {
        goto nomem;
    }

    for (i = 0; i < ls->nelts; i++) {
        zae_admin_limit_state(bi, &ls->elts[i], now, &b);
        avail = zae_bucket_available(&b, now);

        cell = zae_admin_cat(a, "%.*s", (int) ls->elts[i].name.len,
                             ls->elts[i].name.data);

        if (cell.data == NULL
            || zae_av_map_add(&a->mem, m, cell.data, cell.len,
                              zae_admin_json_int(a, avail)) != ZAE_OK
            || zae_admin_table_row(a, &t, (char *) cell.data,
                                   zae_admin_cat(a, "%lld",
                                                 (long long) avail).data,
                                   zae_admin_cat(a, "%lld",
                                       (long long) (b.cp / 1000)).data)
               != ZAE_OK)
        {
            goto nomem;
        }
    }

    if (a->json) {
        if (zae_admin_json_set(a, o, "entity_id", zae_admin_json_zstr(a,
                                                                      &ent))
            || zae_admin_json_set(a, o, "resource",
                                  zae_admin_json_zstr(a, &res))
            || zae_admin_json_set(a, o, "source",
                                  zae_admin_json_str(a,
                                                     zae_level_name(source)))
            || zae_admin_json_set(a, o, "available", m))
        {
            goto nomem;
        }

        return zae_admin_print_json(a, o) == ZAE_OK
               ? ZAE_ADMIN_EXIT_OK : ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_table_print(&t);
    printf("(limits from the %s level)\n", zae_level_name(source));

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

        if (zae_admin_json_set(a, o, "entity_id", zae_admin_json_zstr(a,
                                                                      &ent))
            || zae_admin_json_set(a, o, "resource",
                                  zae_admin_json_zstr(a, &res))
            || zae_admin_json_set(a, o, "retry_after_ms",
                                  zae_admin_json_int(a, max))
            || zae_admin_json_set(a, o, "retry_after_seconds",
                                  zae_av_num(&a->mem,
                                      zae_admin_cat(a, "%lld.%03lld",
                                          (long long) (max / 1000),
                                          (long long) (max % 1000)).data,
                                      strlen((char *) zae_admin_cat(a,
                                          "%lld.%03lld",
                                          (long long) (max / 1000),
                                          (long long) (max % 1000)).data))))
        {
            zae_admin_error(a, "out of memory");
            return ZAE_ADMIN_EXIT_FAILED;
        }

        return zae_admin_print_json(a, o) == ZAE_OK
               ? ZAE_ADMIN_EXIT_OK : ZAE_ADMIN_EXIT_FAILED;
    }

    printf("%lld.%03lld\n", (long long) (max / 1000),
           (long long) (max % 1000));

    return ZAE_ADMIN_EXIT_OK;
}


/* a paged query; items are typed */

static int
zae_admin_keys_query(zae_admin_t *a, zae_buf_t *b, zae_av_t ***items,
    size_t *n)
{
    int  rc;

    rc = zae_admin_query(a, b, items, n, 0);
    if (rc == ZAE_DECLINED) {
        zae_admin_fail_ddb(a, "cannot query the table");
        return ZAE_ERROR;
    }

    return rc;
}


int
zae_admin_cmd_entity_delete(zae_admin_t *a)
{
    int          rc;
    char         what[512];
    size_t       i, n1, n2;
    zae_av_t    *meta, **own, **buckets, **all;
    zae_buf_t    b, d;
    zae_str_t    ent, pk, gpk, sk, rpk, rsk, res;
    zae_err_t    err;

    ent = zae_admin_str(a->args[0]);

    if (zae_validate_entity_id(ent.data, ent.len, &err) != ZAE_OK) {
        return zae_admin_usage_error(a, "invalid entity id \"%s\": %s",
                                     zae_admin_shown(a, a->args[0]), err.msg);
    }

    pk = zae_admin_q_pk(a, "ENTITY#", &ent);
    sk = zae_admin_str("#META");

    rc = zae_admin_get_item(a, &pk, &sk, 1, &meta);
    if (rc == ZAE_DECLINED) {
        return zae_admin_fail_ddb(a, "cannot read the entity");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (meta == NULL) {
        zae_admin_error(a, "entity \"%s\" not found in namespace \"%s\"",
                        a->args[0], a->ns_name);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    snprintf(what, sizeof(what), "delete entity \"%s\" with its limits, "
             "buckets and usage", a->args[0]);

    if (zae_admin_confirm(a, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    /* the entity's own items: meta, configs, usage */

    if (zae_admin_body_start(a, &b) != ZAE_OK
        || zae_buf_add_str(&b, ",\"KeyConditionExpression\":\"PK = :pk\","
                           "\"ExpressionAttributeValues\":{") != ZAE_OK
        || zae_rec_attr_s(&b, ":pk", &pk) != ZAE_OK
        || zae_buf_add_str(&b, "},\"ConsistentRead\":true") != ZAE_OK)
    {
        goto nomem;
    }

    if (zae_admin_keys_query(a, &b, &own, &n1) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* its buckets, through GSI3 */

    gpk = zae_admin_q_pk(a, "ENTITY#", &ent);

    if (zae_admin_body_start(a, &b) != ZAE_OK
        || zae_buf_add_str(&b, ",\"IndexName\":\"GSI3\","
                           "\"KeyConditionExpression\":\"GSI3PK = :pk AND "
                           "begins_with(GSI3SK, :b)\","
                           "\"ExpressionAttributeValues\":{") != ZAE_OK
        || zae_rec_attr_s(&b, ":pk", &gpk) != ZAE_OK
        || zae_buf_add_str(&b, ",\":b\":{\"S\":\"BUCKET#\"}}") != ZAE_OK)
    {
        goto nomem;
    }

    if (zae_admin_keys_query(a, &b, &buckets, &n2) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    all = zae_alloc(&a->mem, (n1 + n2 + 1) * sizeof(zae_av_t *));
    if (all == NULL) {
        goto nomem;
    }

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

        if (zae_admin_body_start(a, &b) != ZAE_OK
            || zae_buf_add_str(&b, ",") != ZAE_OK
            || zae_admin_key(&b, &rpk, &rsk) != ZAE_OK
            || zae_buf_add_str(&b, ",\"UpdateExpression\":\"ADD #r :m\","
                               "\"ExpressionAttributeNames\":{\"#r\":")
               != ZAE_OK
            || zae_json_add_string(&b, res.data, res.len) != ZAE_OK
            || zae_buf_add_str(&b, "},\"ExpressionAttributeValues\":"
                               "{\":m\":{\"N\":\"-1\"}}}") != ZAE_OK)
        {
            goto nomem;
        }

        rc = zae_admin_ddb(a, "UpdateItem", &b, NULL);
        if (rc == ZAE_DECLINED) {
            return zae_admin_fail_ddb(a, "cannot update the config "
                                      "registry");
        }

        if (rc != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }
    }

    zae_buf_init(&d, &a->mem, 64);

    if (zae_audit_details_deleted(&d, (int64_t) (n1 + n2)) != ZAE_OK) {
        goto nomem;
    }

    if (zae_admin_audit_event(a, &ent, "entity_deleted", NULL, &d)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (a->json) {
        printf("{\"deleted\":true,\"records_deleted\":%zu}\n", n1 + n2);

    } else {
        printf("entity \"%s\" deleted: %zu records\n", a->args[0], n1 + n2);
    }

    return ZAE_ADMIN_EXIT_OK;

nomem:

    zae_admin_error(a, "out of memory");

    return ZAE_ADMIN_EXIT_FAILED;
}


int
zae_admin_cmd_audit_list(zae_admin_t *a)
{
    int                 rc;
    long                lim;
    char               *end;
    size_t              i, k, n;
    zae_av_t          **items, *list, *o, *det;
    zae_buf_t           b, db;
    zae_str_t           ent, pk, f[6];
    zae_err_t           err;
    const char         *e, *l, *start;
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

    pk = zae_admin_q_pk(a, "AUDIT#", &ent);

    if (zae_admin_body_start(a, &b) != ZAE_OK
        || zae_buf_add_str(&b, ",\"KeyConditionExpression\":"
                           "\"PK = :pk AND begins_with(SK, :p)\","
                           "\"ScanIndexForward\":false,"
                           "\"ExpressionAttributeValues\":{") != ZAE_OK
        || zae_rec_attr_s(&b, ":pk", &pk) != ZAE_OK
        || zae_buf_printf(&b, ",\":p\":{\"S\":\"#AUDIT#\"}},\"Limit\":%ld",
                          lim) != ZAE_OK)
    {
        goto nomem;
    }

    if (start) {
        if (zae_buf_add_str(&b, ",\"ExclusiveStartKey\":{") != ZAE_OK
            || zae_rec_attr_s(&b, "PK", &pk) != ZAE_OK
            || zae_buf_printf(&b, ",\"SK\":{\"S\":\"#AUDIT#%s\"}}", start)
               != ZAE_OK)
        {
            goto nomem;
        }
    }

    rc = zae_admin_query(a, &b, &items, &n, (size_t) lim);
    if (rc == ZAE_DECLINED) {
        return zae_admin_fail_ddb(a, "cannot list audit events");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 6, "EVENT ID", "TIMESTAMP", "ACTION",
                         "ENTITY", "PRINCIPAL", "DETAILS");

    if (list == NULL) {
        goto nomem;
    }

    for (i = 0; i < n; i++) {
        o = zae_admin_json_obj(a);
        if (o == NULL) {
            goto nomem;
        }

        for (k = 0; k < 6; k++) {
            f[k].len = 0;
            f[k].data = NULL;

            (void) zae_item_get_str(items[i], fields[k], &f[k], &err);

            if (zae_admin_json_set(a, o, fields[k],
                                   zae_admin_json_zstr(a, &f[k])) != ZAE_OK)
            {
                goto nomem;
            }

            f[k] = zae_admin_cat(a, "%.*s", (int) f[k].len,
                                 f[k].data ? (char *) f[k].data : "");
        }

        det = zae_admin_item_to_json(a, zae_item_get(items[i], "details"));
        zae_buf_init(&db, &a->mem, 128);

        if (det == NULL
            || zae_admin_json_set(a, o, "details", det) != ZAE_OK
            || zae_av_list_add(&a->mem, list, o) != ZAE_OK
            || zae_json_encode(&db, det) != ZAE_OK
            || zae_buf_add(&db, "", 1) != ZAE_OK
            || zae_admin_table_row(a, &t, f[0].data, f[1].data, f[2].data,
                                   f[3].data,
                                   f[4].len ? (char *) f[4].data : NULL,
                                   (char *) db.data) != ZAE_OK)
        {
            goto nomem;
        }
    }

    if (a->json) {
        return zae_admin_print_json(a, list) == ZAE_OK
               ? ZAE_ADMIN_EXIT_OK : ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_table_print(&t);

    return ZAE_ADMIN_EXIT_OK;

nomem:

    zae_admin_error(a, "out of memory");

    return ZAE_ADMIN_EXIT_FAILED;
}
