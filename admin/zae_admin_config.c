
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin system and resource defaults (facts 4.3, 8): the "system"
 * and "resource" command groups, and what the other groups share to
 * write configs: limit parsing, config reads, audit events.
 */


#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


#define ZAE_ADMIN_MAX_SHARDS  1024


int
zae_admin_parse_limits(zae_admin_t *a, zae_limits_t *ls)
{
    int                       i, n;
    zae_err_t                 err;
    const char              **specs;
    zae_limit_t               l;
    zae_admin_limits_opts_t  *o = a->opts;

    ls->nelts = 0;

    n = o->limits.n;
    specs = o->limits.v;

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


/* audit retention: audit_retention_days of the system config, else 90 */

static int64_t
zae_admin_audit_days(zae_admin_t *a)
{
    zae_keys_t          k;
    zae_config_item_t  *cfg;

    (void) zae_keys_system(&a->mem, &k, &a->nsid, ZAE_SYSTEM_CONFIG);

    if (zae_admin_get_config(a, &k.pk, &k.sk, &cfg) == ZAE_OK && cfg
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


int
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

int
zae_admin_get_config(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    zae_config_item_t **cfg)
{
    zae_av_t           *item;
    zae_err_t           err;
    zae_config_item_t  *c;

    *cfg = NULL;

    if (zae_admin_read(a, pk, sk, "cannot read the config", &item) != ZAE_OK) {
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


/* "  name:rate/period:burst" lines of the limits, into text */

static void
zae_admin_limit_lines(zae_buf_t *text, const zae_limits_t *ls)
{
    size_t  i;

    for (i = 0; i < ls->nelts; i++) {
        zae_buf_add_str(text, "  ");
        (void) zae_limit_format(text, &ls->elts[i]);
        zae_buf_add_str(text, "\n");
    }
}


/*
 * Prints a config: what is "system defaults", "resource defaults" ...
 * level gives the JSON "level" value
 */

int
zae_admin_show_limits(zae_admin_t *a, zae_config_item_t *cfg,
    const char *what, zae_level_e level, zae_str_t *entity,
    zae_str_t *resource)
{
    zae_av_t   *o;
    zae_buf_t   text;

    o = zae_admin_json_obj(a);

    zae_admin_set_str(a, o, "namespace", a->ns_name);
    zae_admin_set_str(a, o, "level", zae_level_name(level));

    if (entity) {
        zae_admin_set_zstr(a, o, "entity_id", entity);
    }

    if (resource) {
        zae_admin_set_zstr(a, o, "resource", resource);
    }

    if (cfg && cfg->on_unavailable.len) {
        zae_admin_set_zstr(a, o, "on_unavailable", &cfg->on_unavailable);
    }

    zae_admin_json_set(a, o, "limits",
                       cfg ? zae_admin_limits_json(a, &cfg->limits)
                           : zae_av_list(&a->mem));

    zae_buf_init(&text, &a->mem, 256);

    if (cfg == NULL || cfg->limits.nelts == 0) {
        zae_buf_printf(&text, "no %s\n", what);
        return zae_admin_print_text(a, o, &text);
    }

    zae_buf_printf(&text, "%s:\n", what);
    zae_admin_limit_lines(&text, &cfg->limits);

    if (cfg->on_unavailable.len) {
        zae_buf_printf(&text, "on_unavailable: %.*s\n",
                       (int) cfg->on_unavailable.len,
                       cfg->on_unavailable.data);
    }

    return zae_admin_print_text(a, o, &text);
}


/* the keys of the config item of the system or of resource id */

static void
zae_admin_config_keys(zae_admin_t *a, zae_level_e level, zae_str_t *id,
    zae_keys_t *k)
{
    if (level == ZAE_LEVEL_SYSTEM) {
        (void) zae_keys_system(&a->mem, k, &a->nsid, ZAE_SYSTEM_CONFIG);

    } else {
        (void) zae_keys_resource_config(&a->mem, k, &a->nsid, id);
    }
}


/* the config of the system (ZAE_LEVEL_SYSTEM) or of a resource */

int
zae_admin_level_config(zae_admin_t *a, zae_level_e level, zae_str_t *id,
    zae_config_item_t **cfg)
{
    zae_keys_t  k;

    zae_admin_config_keys(a, level, id, &k);

    return zae_admin_get_config(a, &k.pk, &k.sk, cfg);
}


/*
 * Read a config item and delete it: ZAE_OK with *cfg as it was,
 * ZAE_DECLINED when there is none, ZAE_ERROR (reported)
 */

static int
zae_admin_take_config(zae_admin_t *a, zae_level_e level, zae_str_t *id,
    const char *what, zae_config_item_t **cfg)
{
    zae_keys_t  k;

    if (zae_admin_level_config(a, level, id, cfg) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (*cfg == NULL) {
        return ZAE_DECLINED;
    }

    zae_admin_config_keys(a, level, id, &k);

    return zae_admin_check(a, zae_admin_delete_item(a, &k.pk, &k.sk, NULL),
                           what);
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
    zae_str_t           sys, names[ZAE_SCHEMA_MAX_LIMITS];
    zae_config_item_t  *cfg;

    rc = zae_admin_take_config(a, ZAE_LEVEL_SYSTEM, NULL, "cannot delete the "
                               "system defaults", &cfg);
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
    zae_str_t                 onu;
    const char               *s;
    zae_limits_t              ls;
    zae_config_item_t         cfg;
    zae_admin_limits_opts_t  *opts;

    opts = a->opts;

    if (zae_admin_parse_limits(a, &ls) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    s = opts->on_unavailable;
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

    return zae_admin_show_limits(a, &cfg, "system defaults set",
                                 ZAE_LEVEL_SYSTEM,
                                 NULL, NULL);
}


int
zae_admin_cmd_system_get(zae_admin_t *a)
{
    zae_config_item_t  *cfg;

    if (zae_admin_level_config(a, ZAE_LEVEL_SYSTEM, NULL, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return zae_admin_show_limits(a, cfg, "system defaults",
                                 ZAE_LEVEL_SYSTEM, NULL,
                                 NULL);
}


int
zae_admin_cmd_system_delete(zae_admin_t *a)
{
    int                    rc;
    zae_config_item_t     *cfg;
    zae_admin_yes_opts_t  *opts;

    opts = a->opts;

    if (zae_admin_level_config(a, ZAE_LEVEL_SYSTEM, NULL, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (cfg == NULL) {
        zae_admin_error(a, "no system defaults in namespace \"%s\"",
                        a->ns_name);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (zae_admin_confirm(a, opts->yes, "delete the system defaults")
        != ZAE_OK)
    {
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
    zae_ddb_req_t  r;

    memset(&r, 0, sizeof(zae_ddb_req_t));

    if (zae_registry_resource(&a->mem, &r, &a->nsid, resource, add)
        != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the resource registry update");
        return ZAE_ERROR;
    }

    return zae_admin_check(a, zae_admin_update(a, &r, NULL),
                           "cannot update the resource registry");
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
    zae_str_t           ent;
    zae_config_item_t  *cfg;

    rc = zae_admin_take_config(a, ZAE_LEVEL_RESOURCE, res, "cannot delete the "
                               "resource defaults", &cfg);
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
                                 ZAE_LEVEL_RESOURCE, NULL, &res);
}


int
zae_admin_cmd_resource_get(zae_admin_t *a)
{
    zae_str_t           res, what;
    zae_config_item_t  *cfg;

    if (zae_admin_check_resource(a, a->args[0], &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (zae_admin_level_config(a, ZAE_LEVEL_RESOURCE, &res, &cfg) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    what = zae_admin_cat(a, "defaults of resource \"%s\"", a->args[0]);

    return zae_admin_show_limits(a, cfg, what.data ? (char *) what.data
                                                   : "resource defaults",
                                 ZAE_LEVEL_RESOURCE, NULL, &res);
}


int
zae_admin_cmd_resource_delete(zae_admin_t *a)
{
    int                    rc;
    char                   what[256];
    zae_str_t              res;
    zae_admin_yes_opts_t  *opts;

    opts = a->opts;

    if (zae_admin_check_resource(a, a->args[0], &res) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    snprintf(what, sizeof(what), "delete the defaults of resource \"%s\"",
             a->args[0]);

    if (zae_admin_confirm(a, opts->yes, what) != ZAE_OK) {
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
    size_t       i, n;
    zae_av_t    *item, *set, *list;
    zae_str_t   *names;
    zae_keys_t   k;

    (void) zae_keys_system(&a->mem, &k, &a->nsid, ZAE_SYSTEM_RESOURCES);

    if (zae_admin_read(a, &k.pk, &k.sk, "cannot read the resource registry",
                       &item)
        != ZAE_OK)
    {
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
        zae_av_list_add(&a->mem, list, zae_admin_json_zstr(a, &names[i]));
    }

    return zae_admin_print_list(a, list, "no resources with defaults\n");
}
