
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin limits and entities (facts 4.3, 4.5, 8): system and
 * resource defaults, entities, entity limits with the config registry
 * and bucket parameter sync, audit events, and the capacity queries
 * available and time-until-available.
 */


#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


#define ZAE_ADMIN_MAX_SHARDS  1024


static int zae_admin_parse_limits(zae_admin_t *a, zae_limits_t *ls);
static int zae_admin_audit_limits(zae_admin_t *a, zae_str_t *entity,
    zae_str_t *resource, zae_limits_t *ls, zae_str_t *on_unavailable);
static int zae_admin_show_limits(zae_admin_t *a, zae_config_item_t *cfg,
    const char *what, const char *kind, zae_str_t *entity,
    zae_str_t *resource);
static int zae_admin_get_config(zae_admin_t *a, zae_str_t *pk,
    zae_str_t *sk, zae_config_item_t **cfg);
static int zae_admin_item_buf(zae_admin_t *a, zae_av_t *item, zae_buf_t *b);
static int zae_admin_sync_bucket(zae_admin_t *a, zae_str_t *entity,
    zae_str_t *resource, const zae_limits_t *ls, int64_t ttl,
    zae_str_t *stale, size_t nstale);
static int zae_admin_entity_exists(zae_admin_t *a, zae_str_t *entity,
    zae_av_t **meta);
static int zae_admin_reconcile(zae_admin_t *a, zae_str_t *ent,
    zae_str_t *res);


static int
zae_admin_parse_limits(zae_admin_t *a, zae_limits_t *ls)
{
    int          i, n;
    zae_err_t    err;
    const char  *specs[ZAE_LIMITS_MAX + 1];
    zae_limit_t  l;

    ls->nelts = 0;

    n = zae_admin_opt_all(a, "limit", specs, ZAE_LIMITS_MAX + 1);

    if (n == 0) {
        zae_admin_usage_error(a, "at least one -l LIMIT is required");
        return ZAE_ERROR;
    }

    if (n > ZAE_LIMITS_MAX) {
        zae_admin_usage_error(a, "too many limits: at most %d",
                              ZAE_LIMITS_MAX);
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (zae_limit_parse(&l, (u_char *) specs[i], strlen(specs[i]), &err)
            != ZAE_OK
            || zae_limits_add(ls, &l, &err) != ZAE_OK)
        {
            zae_admin_usage_error(a, "%s", err.msg);
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


static int
zae_admin_item_buf(zae_admin_t *a, zae_av_t *item, zae_buf_t *b)
{
    zae_buf_init(b, &a->mem, 1024);

    zae_item_encode(b, item);

    return ZAE_OK;
}


/* audit retention: audit_retention_days of the system config, else 90 */

static int64_t
zae_admin_audit_days(zae_admin_t *a)
{
    zae_str_t           pk, sk;
    zae_config_item_t  *cfg;

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#CONFIG");

    if (zae_admin_get_config(a, &pk, &sk, &cfg) == ZAE_OK && cfg
        && cfg->audit_retention_days > 0)
    {
        return cfg->audit_retention_days;
    }

    return ZAE_AUDIT_RETENTION_DAYS;
}


/*
 * The audit principal: --principal, else the caller identity from STS
 * GetCallerIdentity (as zae-limiter does) when talking to AWS or when
 * $AWS_ENDPOINT_URL_STS names an STS endpoint; NULL when unknown
 */

static const char *
zae_admin_principal(zae_admin_t *a)
{
    char              url[1024];
    size_t            i;
    u_char           *p, *q;
    zae_buf_t         b, x;
    const char       *ep;
    zae_transport_e   transport;

    if (a->principal || a->sts_tried) {
        return a->principal;
    }

    a->sts_tried = 1;

    ep = getenv("AWS_ENDPOINT_URL_STS");

    if (ep && *ep) {
        snprintf(url, sizeof(url), "%s", ep);

    } else if (a->endpoint == NULL) {
        snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com/",
                 a->region);

    } else {
        return NULL;
    }

    zae_buf_init(&b, &a->mem, 64);

    if (zae_buf_add_str(&b, "Action=GetCallerIdentity&Version=2011-06-15")
        != ZAE_OK
        || zae_admin_post(a, url, "sts", "application/x-www-form-urlencoded; "
                          "charset=utf-8", &b, &x, &transport) != ZAE_OK
        || a->http_status != 200 || x.data == NULL)
    {
        return NULL;
    }

    p = (u_char *) strstr((char *) x.data, "<Arn>");
    q = p ? (u_char *) strstr((char *) p, "</Arn>") : NULL;

    if (p == NULL || q == NULL || q - p - 5 > 2048) {
        return NULL;
    }

    p += 5;

    for (i = 0; p + i < q; i++) {
        if (p[i] < 0x21 || p[i] == '<' || p[i] == '&') {
            return NULL;
        }
    }

    a->principal = (char *) zae_strdup(&a->mem, p, q - p);

    return a->principal;
}


int
zae_admin_audit_event(zae_admin_t *a, zae_str_t *entity, const char *action,
    zae_str_t *resource, zae_buf_t *details)
{
    int                 rc;
    u_char              ulid[ZAE_ULID_LEN], rnd[ZAE_ULID_RAND_LEN];
    u_char              ts[ZAE_TS_LEN + 1];
    int64_t             now;
    zae_buf_t           b;
    zae_audit_record_t  r;

    now = zae_admin_now_ms();

    if (zae_admin_random(a, rnd, sizeof(rnd)) != ZAE_OK) {
        return ZAE_ERROR;
    }

    zae_ulid_encode(ulid, (uint64_t) now, rnd);
    zae_ts_format(ts, (time_t) (now / 1000));

    memset(&r, 0, sizeof(r));
    r.nsid = a->nsid;
    r.entity_id = *entity;
    r.event_id.data = ulid;
    r.event_id.len = ZAE_ULID_LEN;
    r.timestamp.data = ts;
    r.timestamp.len = ZAE_TS_LEN;
    r.action = zae_admin_str(action);
    r.principal = zae_admin_str(zae_admin_principal(a));

    if (resource) {
        r.resource = *resource;
    }

    if (details) {
        r.details.data = details->data;
        r.details.len = details->len;
    }

    r.ttl = now / 1000 + zae_admin_audit_days(a) * 86400;

    zae_buf_init(&b, &a->mem, 1024);

    zae_audit_item(&b, &r);

    rc = zae_admin_check(a, zae_admin_put_item(a, &b, NULL),
                         "cannot write the audit event");

    return rc;
}


static int
zae_admin_audit_limits(zae_admin_t *a, zae_str_t *entity,
    zae_str_t *resource, zae_limits_t *ls, zae_str_t *on_unavailable)
{
    size_t             i;
    zae_buf_t          d;
    zae_audit_limit_t  al[ZAE_LIMITS_MAX];

    for (i = 0; i < ls->nelts; i++) {
        al[i].name = ls->elts[i].name;
        al[i].capacity = ls->elts[i].capacity;
        al[i].refill_amount = ls->elts[i].refill_amount;
        al[i].refill_period = ls->elts[i].period;
    }

    zae_buf_init(&d, &a->mem, 512);

    zae_audit_details_limits(&d, al, ls->nelts, on_unavailable);

    return zae_admin_audit_event(a, entity, "limits_set", resource, &d);
}


static int
zae_admin_limit_cmp(const void *x, const void *y)
{
    int                 rc;
    size_t              n;
    const zae_limit_t  *a = x, *b = y;

    n = a->name.len < b->name.len ? a->name.len : b->name.len;
    rc = memcmp(a->name.data, b->name.data, n);

    if (rc != 0) {
        return rc;
    }

    return a->name.len < b->name.len ? -1 : (a->name.len > b->name.len);
}


/* ZAE_OK with *cfg (NULL: no item), else an error was printed */

static int
zae_admin_get_config(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    zae_config_item_t **cfg)
{
    int                 rc;
    zae_av_t           *item;
    zae_err_t           err;
    zae_config_item_t  *c;

    *cfg = NULL;

    rc = zae_admin_check(a, zae_admin_get_item(a, pk, sk, 1, &item),
                         "cannot read the config");
    if (rc != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (item == NULL) {
        return ZAE_OK;
    }

    c = zae_calloc(&a->mem, sizeof(zae_config_item_t));

    if (zae_config_item_decode(&a->mem, item, c, &err) != ZAE_OK) {
        zae_admin_error(a, "invalid config item \"%.*s\" \"%.*s\": %s",
                        (int) pk->len, pk->data, (int) sk->len, sk->data,
                        err.msg);
        return ZAE_ERROR;
    }

    /* DynamoDB keeps no attribute order: show limits sorted by name */

    qsort(c->limits.elts, c->limits.nelts, sizeof(zae_limit_t),
          zae_admin_limit_cmp);

    *cfg = c;

    return ZAE_OK;
}


static zae_av_t *
zae_admin_limits_json(zae_admin_t *a, const zae_limits_t *ls)
{
    size_t        i;
    zae_av_t     *list, *o;
    const zae_limit_t  *l;

    list = zae_av_list(&a->mem);
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < ls->nelts; i++) {
        l = &ls->elts[i];
        o = zae_admin_json_obj(a);

        if (zae_admin_json_set(a, o, "name", zae_admin_json_zstr(a,
                                           (zae_str_t *) &l->name))
            || zae_admin_json_set(a, o, "capacity",
                                  zae_admin_json_int(a, l->capacity))
            || zae_admin_json_set(a, o, "refill_amount",
                                  zae_admin_json_int(a, l->refill_amount))
            || zae_admin_json_set(a, o, "refill_period_seconds",
                                  zae_admin_json_int(a, l->period))
            || zae_av_list_add(&a->mem, list, o))
        {
            return NULL;
        }
    }

    return list;
}


static void
zae_admin_print_limit_lines(zae_admin_t *a, const zae_limits_t *ls)
{
    size_t     i;
    zae_buf_t  b;

    for (i = 0; i < ls->nelts; i++) {
        zae_buf_init(&b, &a->mem, 64);

        if (zae_limit_format(&b, &ls->elts[i]) == ZAE_OK && !b.failed) {
            printf("  %.*s\n", (int) b.len, b.data);
        }
    }
}


/*
 * Prints a config: what is "system defaults", "resource defaults" ...
 * kind the JSON "source" value
 */

static int
zae_admin_show_limits(zae_admin_t *a, zae_config_item_t *cfg,
    const char *what, const char *kind, zae_str_t *entity,
    zae_str_t *resource)
{
    zae_av_t   *o;

    if (a->json) {
        o = zae_admin_json_obj(a);

        if (zae_admin_json_set(a, o, "namespace",
                               zae_admin_json_str(a, a->ns_name))
            || zae_admin_json_set(a, o, "level", zae_admin_json_str(a, kind))
            || (entity
                && zae_admin_json_set(a, o, "entity_id",
                                      zae_admin_json_zstr(a, entity)))
            || (resource
                && zae_admin_json_set(a, o, "resource",
                                      zae_admin_json_zstr(a, resource)))
            || (cfg && cfg->on_unavailable.len
                && zae_admin_json_set(a, o, "on_unavailable",
                                      zae_admin_json_zstr(a,
                                          &cfg->on_unavailable)))
            || zae_admin_json_set(a, o, "limits",
                                  cfg ? zae_admin_limits_json(a,
                                                              &cfg->limits)
                                      : zae_av_list(&a->mem)))
        {
            zae_admin_error(a, "out of memory");
            return ZAE_ADMIN_EXIT_FAILED;
        }

        return zae_admin_print_json(a, o);
    }

    if (cfg == NULL || cfg->limits.nelts == 0) {
        printf("no %s\n", what);
        return ZAE_ADMIN_EXIT_OK;
    }

    printf("%s:\n", what);
    zae_admin_print_limit_lines(a, &cfg->limits);

    if (cfg->on_unavailable.len) {
        printf("on_unavailable: %.*s\n", (int) cfg->on_unavailable.len,
               cfg->on_unavailable.data);
    }

    return ZAE_ADMIN_EXIT_OK;
}


/*
 * Read a config item and delete it: ZAE_OK with *cfg as it was,
 * ZAE_DECLINED when there is none, ZAE_ERROR (reported)
 */

static int
zae_admin_take_config(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    const char *what, zae_config_item_t **cfg)
{
    if (zae_admin_get_config(a, pk, sk, cfg) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (*cfg == NULL) {
        return ZAE_DECLINED;
    }

    return zae_admin_check(a, zae_admin_delete_item(a, pk, sk, NULL), what);
}


/* system defaults */

int
zae_admin_write_system(zae_admin_t *a, zae_limits_t *ls, zae_str_t *onu)
{
    int        rc;
    zae_str_t  sys;

    rc = zae_admin_check(a, zae_admin_put_av(a,
                                 zae_system_config_encode(&a->mem, &a->nsid,
                                                          ls, onu), NULL),
                         "cannot store the system defaults");
    if (rc != ZAE_OK) {
        return ZAE_ERROR;
    }

    sys = zae_admin_str("$SYSTEM");

    return zae_admin_audit_limits(a, &sys, NULL, ls,
                                  onu->data ? onu : NULL);
}


/* ZAE_OK, ZAE_DECLINED (nothing stored), ZAE_ERROR */

int
zae_admin_remove_system(zae_admin_t *a)
{
    int                 rc;
    size_t              i;
    zae_buf_t           d;
    zae_str_t           pk, sk, sys, names[ZAE_SCHEMA_MAX_LIMITS];
    zae_config_item_t  *cfg;

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#CONFIG");

    rc = zae_admin_take_config(a, &pk, &sk, "cannot delete the system "
                               "defaults", &cfg);
    if (rc != ZAE_OK) {
        return rc;
    }

    for (i = 0; i < cfg->limits.nelts && i < ZAE_SCHEMA_MAX_LIMITS; i++) {
        names[i] = cfg->limits.elts[i].name;
    }

    zae_buf_init(&d, &a->mem, 256);

    zae_audit_details_names(&d, names, i,
                            cfg->on_unavailable.len
                            ? &cfg->on_unavailable : NULL);

    sys = zae_admin_str("$SYSTEM");

    return zae_admin_audit_event(a, &sys, "limits_deleted", NULL, &d);
}


int
zae_admin_cmd_system_set(zae_admin_t *a)
{
    zae_str_t          onu;
    const char        *s;
    zae_limits_t       ls;
    zae_config_item_t  cfg;

    if (zae_admin_parse_limits(a, &ls) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    s = zae_admin_opt(a, "on-unavailable");
    onu = zae_admin_str(s);

    if (s && strcmp(s, "allow") != 0 && strcmp(s, "block") != 0) {
        return zae_admin_usage_error(a, "invalid --on-unavailable \"%s\": "
                                     "use allow or block",
                                     zae_admin_shown(a, s));
    }

    if (zae_admin_write_system(a, &ls, &onu) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.limits = ls;
    cfg.on_unavailable = onu;

    return zae_admin_show_limits(a, &cfg, "system defaults set", "system",
                                 NULL, NULL);
}


int
zae_admin_cmd_system_get(zae_admin_t *a)
{
    zae_str_t           pk, sk;
    zae_config_item_t  *cfg;

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#CONFIG");

    if (zae_admin_get_config(a, &pk, &sk, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return zae_admin_show_limits(a, cfg, "system defaults", "system", NULL,
                                 NULL);
}


int
zae_admin_cmd_system_delete(zae_admin_t *a)
{
    int                 rc;
    zae_str_t           pk, sk;
    zae_config_item_t  *cfg;

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#CONFIG");

    if (zae_admin_get_config(a, &pk, &sk, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (cfg == NULL) {
        zae_admin_error(a, "no system defaults in namespace \"%s\"",
                        a->ns_name);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_confirm(a, "delete the system defaults") != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    rc = zae_admin_remove_system(a);
    if (rc == ZAE_ERROR) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_result(a, "{\"deleted\":true}",
                     "system defaults deleted\n");

    return ZAE_ADMIN_EXIT_OK;
}


/* resource defaults */

static int
zae_admin_resource_registry(zae_admin_t *a, zae_str_t *resource, int add)
{
    int         rc;
    zae_buf_t   b;
    zae_str_t   pk, sk, g4sk;

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#RESOURCES");
    g4sk = pk;

    if (zae_admin_body_start(a, &b) != ZAE_OK
        || zae_buf_add_str(&b, ",") != ZAE_OK
        || zae_admin_key(&b, &pk, &sk) != ZAE_OK
        || zae_buf_printf(&b, ",\"UpdateExpression\":\"%s\","
                          "\"ExpressionAttributeValues\":{\":r\":{\"SS\":[",
                          add ? "SET GSI4PK = if_not_exists(GSI4PK, :g4pk), "
                                "GSI4SK = if_not_exists(GSI4SK, :g4sk) "
                                "ADD resources :r"
                              : "DELETE resources :r") != ZAE_OK
        || zae_json_add_string(&b, resource->data, resource->len) != ZAE_OK
        || zae_buf_add_str(&b, "]}") != ZAE_OK
        || (add
            && (zae_buf_add_str(&b, ",") != ZAE_OK
                || zae_rec_attr_s(&b, ":g4pk", &a->nsid) != ZAE_OK
                || zae_buf_add_str(&b, ",") != ZAE_OK
                || zae_rec_attr_s(&b, ":g4sk", &g4sk) != ZAE_OK))
        || zae_buf_add_str(&b, "}}") != ZAE_OK)
    {
        zae_admin_error(a, "out of memory");
        return ZAE_ERROR;
    }

    rc = zae_admin_check(a, zae_admin_ddb(a, "UpdateItem", &b, NULL),
                         "cannot update the resource registry");

    return rc;
}


int
zae_admin_write_resource(zae_admin_t *a, zae_str_t *res, zae_limits_t *ls)
{
    int        rc;
    zae_str_t  ent;

    rc = zae_admin_check(a, zae_admin_put_av(a,
                                 zae_resource_config_encode(&a->mem,
                                                            &a->nsid, res,
                                                            ls), NULL),
                         "cannot store the resource defaults");
    if (rc != ZAE_OK || zae_admin_resource_registry(a, res, 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    ent = zae_admin_cat(a, "$RESOURCE:%.*s", (int) res->len, res->data);

    return zae_admin_audit_limits(a, &ent, res, ls, NULL);
}


/* ZAE_OK, ZAE_DECLINED (nothing stored), ZAE_ERROR */

int
zae_admin_remove_resource(zae_admin_t *a, zae_str_t *res)
{
    int                 rc;
    zae_buf_t           d;
    zae_str_t           pk, sk, ent;
    zae_config_item_t  *cfg;

    pk = zae_admin_ns_pk(a, "RESOURCE#", res);
    sk = zae_admin_str("#CONFIG");

    rc = zae_admin_take_config(a, &pk, &sk, "cannot delete the resource "
                               "defaults", &cfg);
    if (rc != ZAE_OK) {
        return rc;
    }

    if (zae_admin_resource_registry(a, res, 0) != ZAE_OK) {
        return ZAE_ERROR;
    }

    ent = zae_admin_cat(a, "$RESOURCE:%.*s", (int) res->len, res->data);
    zae_buf_init(&d, &a->mem, 16);

    if (zae_buf_add_str(&d, "{}") != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_admin_audit_event(a, &ent, "limits_deleted", res, &d);
}


int
zae_admin_cmd_resource_set(zae_admin_t *a)
{
    zae_str_t          res, what;
    zae_limits_t       ls;
    zae_config_item_t  cfg;

    if (zae_admin_check_resource(a, a->args[0], &res) != ZAE_OK
        || zae_admin_parse_limits(a, &ls) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_write_resource(a, &res, &ls) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.limits = ls;

    what = zae_admin_cat(a, "defaults of resource \"%s\" set",
                         a->args[0]);

    return zae_admin_show_limits(a, &cfg, what.data ? (char *) what.data
                                                   : "resource defaults set",
                                 "resource", NULL, &res);
}


int
zae_admin_cmd_resource_get(zae_admin_t *a)
{
    zae_str_t           pk, sk, res, what;
    zae_config_item_t  *cfg;

    if (zae_admin_check_resource(a, a->args[0], &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    pk = zae_admin_ns_pk(a, "RESOURCE#", &res);
    sk = zae_admin_str("#CONFIG");

    if (zae_admin_get_config(a, &pk, &sk, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    what = zae_admin_cat(a, "defaults of resource \"%s\"", a->args[0]);

    return zae_admin_show_limits(a, cfg, what.data ? (char *) what.data
                                                   : "resource defaults",
                                 "resource", NULL, &res);
}


int
zae_admin_cmd_resource_delete(zae_admin_t *a)
{
    int        rc;
    char       what[256];
    zae_str_t  res;

    if (zae_admin_check_resource(a, a->args[0], &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    snprintf(what, sizeof(what), "delete the defaults of resource \"%s\"",
             a->args[0]);

    if (zae_admin_confirm(a, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    rc = zae_admin_remove_resource(a, &res);

    if (rc == ZAE_DECLINED) {
        zae_admin_error(a, "resource \"%s\" has no defaults in namespace "
                        "\"%s\"", a->args[0], a->ns_name);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_result(a, "{\"deleted\":true}",
                     "defaults of resource \"%s\" deleted\n", a->args[0]);

    return ZAE_ADMIN_EXIT_OK;
}


static int
zae_admin_str_cmp(const void *x, const void *y)
{
    int               rc;
    size_t            n;
    const zae_str_t  *a = x, *b = y;

    n = a->len < b->len ? a->len : b->len;
    rc = memcmp(a->data, b->data, n);

    if (rc != 0) {
        return rc;
    }

    return a->len < b->len ? -1 : (a->len > b->len);
}


int
zae_admin_cmd_resource_list(zae_admin_t *a)
{
    int         rc;
    size_t      i, n;
    zae_av_t   *item, *set, *list;
    zae_str_t   pk, sk, *names;

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#RESOURCES");

    rc = zae_admin_check(a, zae_admin_get_item(a, &pk, &sk, 1, &item),
                         "cannot read the resource registry");
    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    set = item ? zae_item_get(item, "resources") : NULL;
    n = (set && set->type == ZAE_AV_SS) ? set->nitems : 0;

    names = zae_alloc(&a->mem, (n + 1) * sizeof(zae_str_t));
    list = zae_av_list(&a->mem);


    for (i = 0; i < n; i++) {
        names[i] = set->items[i]->s;
    }

    qsort(names, n, sizeof(zae_str_t), zae_admin_str_cmp);

    for (i = 0; i < n; i++) {
        if (a->json) {
            zae_av_list_add(&a->mem, list,
                            zae_admin_json_zstr(a, &names[i]));

        } else {
            printf("%.*s\n", (int) names[i].len, names[i].data);
        }
    }

    if (a->json) {
        return zae_admin_print_json(a, list);
    }

    if (n == 0) {
        printf("no resources with defaults\n");
    }

    return ZAE_ADMIN_EXIT_OK;
}


/* entities */

static int
zae_admin_entity_exists(zae_admin_t *a, zae_str_t *entity, zae_av_t **meta)
{
    int         rc;
    zae_str_t   pk, sk;

    pk = zae_admin_ns_pk(a, "ENTITY#", entity);
    sk = zae_admin_str("#META");

    rc = zae_admin_check(a, zae_admin_get_item(a, &pk, &sk, 1, meta),
                         "cannot read the entity");

    return rc;
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

    if (a->json) {
        o = zae_admin_json_obj(a);

        zae_admin_json_set(a, o, "entity_id",
                           zae_admin_json_zstr(a, &m->entity_id));
        zae_admin_json_set(a, o, "name",
                           zae_admin_json_zstr(a, &m->name));
        zae_admin_json_set(a, o, "parent_id",
                           m->parent_id.len
                           ? zae_admin_json_zstr(a, &m->parent_id)
                           : zae_av_null(&a->mem));
        zae_admin_json_set(a, o, "cascade",
                           zae_admin_json_bool(a, m->cascade));
        zae_admin_json_set(a, o, "metadata",
                           m->metadata
                           ? zae_admin_item_to_json(a, m->metadata)
                           : zae_admin_json_obj(a));
        zae_admin_json_set(a, o, "created_at",
                           zae_admin_json_zstr(a, &m->created_at));

        return zae_admin_print_json(a, o);
    }

    printf("entity:      %.*s\n", (int) m->entity_id.len, m->entity_id.data);
    printf("name:        %.*s\n", (int) m->name.len, m->name.data);
    printf("parent:      %.*s\n", m->parent_id.len ? (int) m->parent_id.len
                                                   : 4,
           m->parent_id.len ? (char *) m->parent_id.data : "none");
    printf("cascade:     %s\n", m->cascade ? "yes" : "no");
    printf("created at:  %.*s\n", (int) m->created_at.len,
           m->created_at.data);

    return ZAE_ADMIN_EXIT_OK;
}


int
zae_admin_cmd_entity_create(zae_admin_t *a)
{
    int                rc;
    u_char             ts[ZAE_TS_LEN + 1];
    zae_av_t          *pmeta;
    zae_buf_t          d;
    zae_str_t          ent, parent, name;
    const char        *s;
    zae_entity_meta_t  m;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    parent = zae_admin_str(NULL);
    s = zae_admin_opt(a, "parent");

    if (s && zae_admin_check_entity(a, s, &parent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_flag(a, "cascade") && parent.len == 0) {
        return zae_admin_usage_error(a, "--cascade needs --parent");
    }

    if (parent.len == ent.len && parent.len
        && memcmp(parent.data, ent.data, ent.len) == 0)
    {
        return zae_admin_usage_error(a, "entity \"%s\" cannot be its own "
                                     "parent", a->args[0]);
    }

    s = zae_admin_opt(a, "display-name");
    name = s ? zae_admin_str(s) : ent;

    if (parent.len) {
        if (zae_admin_entity_exists(a, &parent, &pmeta) != ZAE_OK) {
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
    m.cascade = zae_admin_flag(a, "cascade");

    rc = zae_admin_put_av(a, zae_entity_meta_encode(&a->mem, &a->nsid, &m),
                          "attribute_not_exists(PK)");

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

    if (!a->json) {
        printf("entity \"%s\" created\n", a->args[0]);
    }

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

    if (zae_admin_entity_exists(a, &ent, &meta) != ZAE_OK) {
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
    int                 rc;
    size_t              i;
    int64_t             shard, shards;
    zae_av_t           *resp, *attrs;
    zae_buf_t           b, names, values;
    zae_str_t           pk, sk;
    zae_err_t           err;
    const zae_limit_t  *l;

    sk = zae_admin_str(ZAE_BUCKET_SK);
    shards = 1;

    for (shard = 0; shard < shards && shard < ZAE_ADMIN_MAX_SHARDS; shard++)
    {
        pk = zae_admin_cat(a, "%.*s/BUCKET#%.*s#%.*s#%lld",
                           (int) a->nsid.len, a->nsid.data,
                           (int) entity->len, entity->data,
                           (int) resource->len, resource->data,
                           (long long) shard);

        zae_buf_init(&names, &a->mem, 256);
        zae_buf_init(&values, &a->mem, 256);

        zae_admin_body_start(a, &b);
        zae_buf_add_str(&b, ",");
        zae_admin_key(&b, &pk, &sk);
        zae_buf_add_str(&b, ",\"UpdateExpression\":\"SET ");
        zae_buf_add_str(&values, "{\":zero\":{\"N\":\"0\"}");
        zae_buf_add_str(&names, "{\"#pk\":\"PK\",\"#ttl\":\"ttl\"");

        for (i = 0; i < ls->nelts; i++) {
            l = &ls->elts[i];

            zae_buf_printf(&b, "%s#cp%zu = :cp%zu, #ra%zu = :ra%zu, "
                           "#rp%zu = :rp%zu, "
                           "#tk%zu = if_not_exists(#tk%zu, :cp%zu), "
                           "#tc%zu = if_not_exists(#tc%zu, :zero)",
                           i ? ", " : "", i, i, i, i, i, i, i, i, i,
                           i, i);
            zae_buf_printf(&names, ",\"#cp%zu\":\"b_%.*s_cp\","
                           "\"#ra%zu\":\"b_%.*s_ra\","
                           "\"#rp%zu\":\"b_%.*s_rp\","
                           "\"#tk%zu\":\"b_%.*s_tk\","
                           "\"#tc%zu\":\"b_%.*s_tc\"",
                           i, (int) l->name.len, l->name.data,
                           i, (int) l->name.len, l->name.data,
                           i, (int) l->name.len, l->name.data,
                           i, (int) l->name.len, l->name.data,
                           i, (int) l->name.len, l->name.data);
            zae_buf_printf(&values, ",\":cp%zu\":{\"N\":\"%lld\"},"
                           "\":ra%zu\":{\"N\":\"%lld\"},"
                           "\":rp%zu\":{\"N\":\"%lld\"}",
                           i, (long long) (l->capacity * 1000),
                           i, (long long) (l->refill_amount * 1000),
                           i, (long long) (l->period * 1000));
        }

        if (ttl > 0) {
            rc = zae_buf_printf(&b, ", #ttl = :ttl") != ZAE_OK
                 || zae_buf_printf(&values, ",\":ttl\":{\"N\":\"%lld\"}",
                                   (long long) ttl) != ZAE_OK;

        } else {
            rc = zae_buf_add_str(&b, " REMOVE #ttl") != ZAE_OK;
        }

        if (rc) {
            goto nomem;
        }

        for (i = 0; i < nstale; i++) {
            zae_buf_printf(&b, "%s#s%zu_tk, #s%zu_cp, #s%zu_ra, "
                           "#s%zu_rp, #s%zu_tc",
                           ttl > 0 && i == 0 ? " REMOVE " : ", ",
                           i, i, i, i, i);
            zae_buf_printf(&names, ",\"#s%zu_tk\":\"b_%.*s_tk\","
                           "\"#s%zu_cp\":\"b_%.*s_cp\","
                           "\"#s%zu_ra\":\"b_%.*s_ra\","
                           "\"#s%zu_rp\":\"b_%.*s_rp\","
                           "\"#s%zu_tc\":\"b_%.*s_tc\"",
                           i, (int) stale[i].len, stale[i].data,
                           i, (int) stale[i].len, stale[i].data,
                           i, (int) stale[i].len, stale[i].data,
                           i, (int) stale[i].len, stale[i].data,
                           i, (int) stale[i].len, stale[i].data);
        }

        zae_buf_add_str(&b, "\",\"ConditionExpression\":"
                           "\"attribute_exists(#pk)\","
                           "\"ReturnValues\":\"ALL_NEW\","
                           "\"ExpressionAttributeNames\":");
        zae_buf_add_str(&names, "}");
        zae_buf_add(&b, names.data, names.len);
        zae_buf_add_str(&b, ",\"ExpressionAttributeValues\":");
        zae_buf_add_str(&values, "}");
        zae_buf_add(&b, values.data, values.len);
        zae_buf_add_str(&b, "}");

        rc = zae_admin_ddb(a, "UpdateItem", &b, &resp);

        if (rc == ZAE_DECLINED
            && zae_admin_is(a, "ConditionalCheckFailedException"))
        {
            /* no bucket yet: it is created with these limits */
            return ZAE_OK;
        }

        if (rc == ZAE_DECLINED) {
            zae_admin_fail_ddb(a, "cannot update the bucket");
            return ZAE_ERROR;
        }

        if (rc != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (shard == 0) {
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

nomem:

    zae_admin_error(a, "out of memory");

    return ZAE_ERROR;
}


/* entity limits: config + registry, bucket sync, audit; exit code */

int
zae_admin_write_entity(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    zae_limits_t *ls)
{
    int           rc;
    zae_buf_t     b, item;
    zae_str_t     pk, sk, g4sk;

    if (zae_admin_item_buf(a, zae_entity_config_encode(&a->mem, &a->nsid,
                                                       ent, res, ls),
                           &item)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* Put (new config) + registry ref count, in one transaction */

    pk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    sk = zae_admin_str("#ENTITY_CONFIG_RESOURCES");
    g4sk = pk;

    zae_buf_init(&b, &a->mem, 2048);

    zae_buf_add_str(&b, "{\"TransactItems\":[{\"Put\":{\"TableName\":");
    zae_json_add_string(&b, (u_char *) a->table, strlen(a->table));
    zae_buf_add_str(&b, ",\"Item\":");
    zae_buf_add(&b, item.data, item.len);
    zae_buf_add_str(&b, ",\"ConditionExpression\":"
                    "\"attribute_not_exists(PK)\"}},"
                    "{\"Update\":{\"TableName\":");
    zae_json_add_string(&b, (u_char *) a->table, strlen(a->table));
    zae_buf_add_str(&b, ",");
    zae_admin_key(&b, &pk, &sk);
    zae_buf_add_str(&b, ",\"UpdateExpression\":\"SET GSI4PK = "
                    "if_not_exists(GSI4PK, :g4pk), GSI4SK = "
                    "if_not_exists(GSI4SK, :g4sk) ADD #r :one\","
                    "\"ExpressionAttributeNames\":{\"#r\":");
    zae_json_add_string(&b, res->data, res->len);
    zae_buf_add_str(&b, "},\"ExpressionAttributeValues\":{");
    zae_rec_attr_s(&b, ":g4pk", &a->nsid);
    zae_buf_add_str(&b, ",");
    zae_rec_attr_s(&b, ":g4sk", &g4sk);
    zae_buf_add_str(&b, ",\":one\":{\"N\":\"1\"}}}}]}");

    rc = zae_admin_ddb(a, "TransactWriteItems", &b, NULL);

    if (rc == ZAE_DECLINED) {
        if (!zae_admin_cancel_reason(a, 0, "ConditionalCheckFailed")) {
            return zae_admin_fail_ddb(a, "cannot store the entity limits");
        }

        /* the config exists: overwrite it, the count stays */

        rc = zae_admin_put_item(a, &item, NULL);
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


int
zae_admin_cmd_entity_set(zae_admin_t *a)
{
    zae_av_t     *meta;
    zae_str_t     ent, res;
    const char   *s;
    zae_limits_t  ls;
    zae_config_item_t  cfg;

    s = zae_admin_opt(a, "resource");

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK
        || zae_admin_check_resource(a, s ? s : ZAE_RESOURCE_DEFAULT, &res)
           != ZAE_OK
        || zae_admin_parse_limits(a, &ls) != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_entity_exists(a, &ent, &meta) != ZAE_OK) {
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
                                 "entity", &ent, &res);
}


int
zae_admin_cmd_entity_get(zae_admin_t *a)
{
    zae_str_t           ent, res, pk, sk, what;
    const char         *s;
    zae_config_item_t  *cfg;

    s = zae_admin_opt(a, "resource");

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK
        || zae_admin_check_resource(a, s ? s : ZAE_RESOURCE_DEFAULT, &res)
           != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    pk = zae_admin_ns_pk(a, "ENTITY#", &ent);
    sk = zae_admin_cat(a, "#CONFIG#%.*s", (int) res.len, res.data);

    if (zae_admin_get_config(a, &pk, &sk, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    what = zae_admin_cat(a, "limits of entity \"%s\" on \"%.*s\"",
                         a->args[0], (int) res.len, res.data);

    return zae_admin_show_limits(a, cfg, (char *) what.data, "entity", &ent,
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
    int         rc;
    zae_buf_t   b, d;
    zae_str_t   pk, sk, rpk, rsk;

    pk = zae_admin_ns_pk(a, "ENTITY#", ent);
    sk = zae_admin_cat(a, "#CONFIG#%.*s", (int) res->len, res->data);
    rpk = zae_admin_ns_pk(a, "SYSTEM#", NULL);
    rsk = zae_admin_str("#ENTITY_CONFIG_RESOURCES");

    zae_buf_init(&b, &a->mem, 1024);

    zae_buf_add_str(&b, "{\"TransactItems\":[{\"Delete\":{"
                    "\"TableName\":");
    zae_json_add_string(&b, (u_char *) a->table, strlen(a->table));
    zae_buf_add_str(&b, ",");
    zae_admin_key(&b, &pk, &sk);
    zae_buf_add_str(&b, ",\"ConditionExpression\":"
                    "\"attribute_exists(PK)\"}},"
                    "{\"Update\":{\"TableName\":");
    zae_json_add_string(&b, (u_char *) a->table, strlen(a->table));
    zae_buf_add_str(&b, ",");
    zae_admin_key(&b, &rpk, &rsk);
    zae_buf_add_str(&b, ",\"UpdateExpression\":\"ADD #r :m\","
                    "\"ExpressionAttributeNames\":{\"#r\":");
    zae_json_add_string(&b, res->data, res->len);
    zae_buf_add_str(&b, "},\"ExpressionAttributeValues\":"
                    "{\":m\":{\"N\":\"-1\"}}}}]}");

    rc = zae_admin_ddb(a, "TransactWriteItems", &b, NULL);

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

    zae_admin_body_start(a, &b);
    zae_buf_add_str(&b, ",");
    zae_admin_key(&b, &rpk, &rsk);
    zae_buf_add_str(&b, ",\"UpdateExpression\":\"REMOVE #r\","
                    "\"ConditionExpression\":\"#r <= :z\","
                    "\"ExpressionAttributeNames\":{\"#r\":");
    zae_json_add_string(&b, res->data, res->len);
    zae_buf_add_str(&b, "},\"ExpressionAttributeValues\":"
                    "{\":z\":{\"N\":\"0\"}}}");

    rc = zae_admin_ddb(a, "UpdateItem", &b, NULL);

    if (rc == ZAE_DECLINED
        && !zae_admin_is(a, "ConditionalCheckFailedException"))
    {
        return zae_admin_fail_ddb(a, "cannot update the config registry");
    }

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
    int          rc;
    char         what[512];
    zae_str_t    ent, res;
    const char  *s;

    s = zae_admin_opt(a, "resource");

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK
        || zae_admin_check_resource(a, s ? s : ZAE_RESOURCE_DEFAULT, &res)
           != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    snprintf(what, sizeof(what), "delete the limits of entity \"%s\" on "
             "\"%.*s\"", a->args[0], (int) res.len, res.data);

    if (zae_admin_confirm(a, what) != ZAE_OK) {
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


static zae_str_t
zae_admin_after(zae_str_t *s, size_t skip)
{
    zae_str_t  r;

    r.data = s->data + (skip < s->len ? skip : s->len);
    r.len = s->len - (skip < s->len ? skip : s->len);

    return r;
}


int
zae_admin_cmd_entity_list(zae_admin_t *a)
{
    int                 rc;
    size_t              i, n, skip;
    zae_av_t          **items, *v, *list;
    zae_str_t           key, id, parent;
    zae_err_t           err;
    const char         *p, *r, *hash;
    zae_ddb_req_t       q;
    zae_admin_table_t   t;

    p = zae_admin_opt(a, "parent");
    r = zae_admin_opt(a, "with-custom-limits");

    if (p && r) {
        return zae_admin_usage_error(a, "--parent and --with-custom-limits "
                                     "exclude each other");
    }

    memset(&q, 0, sizeof(zae_ddb_req_t));

    if (p) {
        if (zae_admin_check_entity(a, p, &parent) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_USAGE;
        }

        key = zae_admin_ns_pk(a, "PARENT#", &parent);
        q.index = zae_admin_str("GSI1");
        hash = "GSI1PK";
        skip = 0;

    } else if (r) {
        if (zae_admin_check_resource(a, r, &parent) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_USAGE;
        }

        key = zae_admin_ns_pk(a, "ENTITY_CONFIG#", &parent);
        q.index = zae_admin_str("GSI3");
        hash = "GSI3PK";
        skip = 0;

    } else {
        key = a->nsid;
        q.index = zae_admin_str("GSI4");
        hash = "GSI4PK";
        q.filter = zae_admin_str("SK = :meta");
        q.values = zae_av_map(&a->mem);
        zae_item_set_cstr(&a->mem, (zae_av_t *) q.values, ":meta", "#META");
        skip = a->nsid.len + sizeof("/ENTITY#") - 1;
    }

    if (zae_admin_query_key(a, &q, hash, &key, NULL, NULL, 0,
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
            rc = zae_item_get_str(items[i], "PK", &id, &err);
            id = zae_admin_after(&id, skip);
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
    zae_av_t      **items, *list, *v;
    zae_str_t       ent, pk, sk;
    zae_err_t       err;
    zae_ddb_req_t   q;

    if (zae_admin_check_entity(a, a->args[0], &ent) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    pk = zae_admin_ns_pk(a, "ENTITY#", &ent);

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.consistent_read = 1;

    if (zae_admin_query_key(a, &q, "PK", &pk, "SK", "#CONFIG#", 0,
                            "cannot list the entity's resources", &items,
                            &n)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);

    for (i = 0; i < n; i++) {
        if (zae_item_get_str(items[i], "SK", &sk, &err) != ZAE_OK) {
            continue;
        }

        sk = zae_admin_after(&sk, sizeof("#CONFIG#") - 1);

        if (a->json) {
            v = zae_admin_json_zstr(a, &sk);

            zae_av_list_add(&a->mem, list, v);

        } else {
            printf("%.*s\n", (int) sk.len, sk.data);
        }
    }

    if (a->json) {
        return zae_admin_print_json(a, list);
    }

    if (n == 0) {
        printf("entity \"%s\" has no custom limits\n", a->args[0]);
    }

    return ZAE_ADMIN_EXIT_OK;
}
