
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin namespaces (facts 9): resolution, registration (two
 * conditional Puts in one transaction), soft delete, recover, orphans
 * and purge.
 */


#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zae_admin.h"


static int zae_admin_ns_get(zae_admin_t *a, int by_id, zae_str_t *v,
    zae_av_t **item);
static int zae_admin_ns_item_json(zae_admin_t *a, zae_av_t *item,
    zae_av_t *list, zae_admin_table_t *t);
static int zae_admin_ns_query(zae_admin_t *a, zae_query_e which,
    const char *status, int not_status);
static int zae_admin_ns_set_status(zae_admin_t *a, zae_str_t *nsid,
    const char *status, zae_registry_deleted_e deleted);


/* the registry entry of a namespace by name, or by_id by its id */

static int
zae_admin_ns_get(zae_admin_t *a, int by_id, zae_str_t *v, zae_av_t **item)
{
    int         rc;
    zae_keys_t  k;

    /* the admin allocator exits on out-of-memory: nothing else fails */

    if (by_id) {
        (void) zae_keys_nsid(&a->mem, &k, v);

    } else {
        (void) zae_keys_namespace(&a->mem, &k, v);
    }

    rc = zae_admin_get_item(a, &k.pk, &k.sk, 1, item);

    if (rc == ZAE_DECLINED) {
        return zae_admin_fail_ddb(a, "cannot read the namespace registry");
    }

    return rc == ZAE_OK ? ZAE_ADMIN_EXIT_OK : ZAE_ADMIN_EXIT_FAILED;
}


/* resolve a->ns_name into a->nsid; the namespace must be active */

int
zae_admin_resolve_ns(zae_admin_t *a, int create)
{
    int         rc, created;
    zae_av_t   *item;
    zae_str_t   name, status;
    zae_err_t   err;

    name = zae_admin_str(a->ns_name);

    if (zae_validate_namespace(name.data, name.len, &err) != ZAE_OK) {
        return zae_admin_usage_error(a, "invalid namespace \"%s\": %s",
                                     zae_admin_shown(a, a->ns_name), err.msg);
    }

    if (create) {
        if (zae_admin_ns_register(a, &name, &a->nsid, &created) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        return ZAE_ADMIN_EXIT_OK;
    }

    rc = zae_admin_ns_get(a, 0, &name, &item);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (item == NULL
        || zae_item_get_str(item, "status", &status, &err) != ZAE_OK
        || status.len != 6 || memcmp(status.data, "active", 6) != 0
        || zae_item_get_str(item, "namespace_id", &a->nsid, &err) != ZAE_OK)
    {
        zae_admin_error(a, "namespace \"%s\" not found in table \"%s\" "
                        "(register it with \"zae-admin namespace register "
                        "%s\")", a->ns_name, a->table, a->ns_name);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return ZAE_ADMIN_EXIT_OK;
}


/*
 * Register a namespace, or find the id it already has.  ZAE_OK with
 * *nsid set; *created tells which.
 */

int
zae_admin_ns_register(zae_admin_t *a, zae_str_t *name, zae_str_t *nsid,
    int *created)
{
    int               rc, i;
    u_char            rnd[ZAE_NSID_RAND_LEN], ts[ZAE_TS_LEN + 1];
    u_char           *id;
    zae_av_t         *item, *rec;
    zae_buf_t         b;
    zae_str_t         status;
    zae_err_t         err;
    zae_ns_record_t   ns;
    zae_ddb_action_t  act[2];

    id = zae_alloc(&a->mem, ZAE_NSID_LEN + 1);

    for (i = 0; i < 100; i++) {
        if (zae_admin_random(a, rnd, sizeof(rnd)) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (zae_nsid_encode(id, rnd) == ZAE_OK) {
            break;
        }
    }

    id[ZAE_NSID_LEN] = '\0';
    zae_admin_now_ts(ts);

    memset(&ns, 0, sizeof(ns));
    ns.name = *name;
    ns.nsid.data = id;
    ns.nsid.len = ZAE_NSID_LEN;
    ns.status = zae_admin_str("active");
    ns.created_at.data = ts;
    ns.created_at.len = ZAE_TS_LEN;

    /* the name and the id records, both new, in one transaction */

    memset(act, 0, sizeof(act));

    for (i = 0; i < 2; i++) {
        zae_buf_init(&b, &a->mem, 512);

        if (zae_ns_item(&b, &ns, i) != ZAE_OK
            || zae_item_parse(&a->mem, b.data, b.len, &rec, &err) != ZAE_OK)
        {
            zae_admin_error(a, "cannot build the namespace records");
            return ZAE_ERROR;
        }

        act[i].type = ZAE_DDB_ACT_PUT;
        act[i].req.item = rec;
        act[i].req.condition = zae_admin_str(ZAE_REGISTRY_NEW);
    }

    rc = zae_admin_transact(a, act, 2);

    if (rc == ZAE_OK) {
        *nsid = ns.nsid;
        *created = 1;
        return ZAE_OK;
    }

    if (rc == ZAE_ERROR) {
        return ZAE_ERROR;
    }

    if (!zae_admin_is(a, "TransactionCanceledException")) {
        zae_admin_fail_ddb(a, "cannot register the namespace");
        return ZAE_ERROR;
    }

    /* the name exists: return its id */

    if (zae_admin_ns_get(a, 0, name, &item) != ZAE_ADMIN_EXIT_OK) {
        return ZAE_ERROR;
    }

    if (item == NULL
        || zae_item_get_str(item, "namespace_id", nsid, &err) != ZAE_OK
        || zae_item_get_str(item, "status", &status, &err) != ZAE_OK)
    {
        zae_admin_error(a, "namespace \"%.*s\" could not be registered",
                        (int) name->len, name->data);
        return ZAE_ERROR;
    }

    *created = 0;

    return ZAE_OK;
}


int
zae_admin_cmd_ns_register(zae_admin_t *a)
{
    int                 i, created;
    zae_av_t           *list, *o;
    zae_str_t           name, nsid;
    zae_err_t           err;
    zae_admin_table_t   t;

    for (i = 0; i < a->nargs; i++) {
        name = zae_admin_str(a->args[i]);

        if (zae_validate_namespace(name.data, name.len, &err) != ZAE_OK) {
            return zae_admin_usage_error(a, "invalid namespace \"%s\": %s",
                                         zae_admin_shown(a, a->args[i]),
                                         err.msg);
        }
    }

    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 3, "NAMESPACE", "NAMESPACE ID", "RESULT");

    for (i = 0; i < a->nargs; i++) {
        name = zae_admin_str(a->args[i]);

        if (zae_admin_ns_register(a, &name, &nsid, &created) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        o = zae_admin_json_obj(a);

        zae_admin_set_zstr(a, o, "namespace", &name);
        zae_admin_set_zstr(a, o, "namespace_id", &nsid);
        zae_admin_set_bool(a, o, "created", created);
        zae_admin_json_set(a, list, NULL, o);
        zae_admin_table_row(a, &t, a->args[i], (char *) nsid.data,
                            created ? "registered"
                                    : "already registered");
    }

    return zae_admin_output(a, list, &t);
}


static int
zae_admin_ns_item_json(zae_admin_t *a, zae_av_t *item, zae_av_t *list,
    zae_admin_table_t *t)
{
    zae_av_t   *o;
    zae_str_t   name, nsid, status, created, deleted;
    zae_err_t   err;

    name.len = nsid.len = status.len = created.len = 0;
    name.data = nsid.data = status.data = created.data = NULL;
    deleted.len = 0;
    deleted.data = NULL;

    (void) zae_item_get_str(item, "namespace_name", &name, &err);
    (void) zae_item_get_str(item, "namespace_id", &nsid, &err);
    (void) zae_item_get_str(item, "status", &status, &err);
    (void) zae_item_get_str(item, "created_at", &created, &err);
    (void) zae_item_get_str(item, "deleted_at", &deleted, &err);

    o = zae_admin_json_obj(a);

    if (zae_admin_json_set(a, o, "namespace", zae_admin_json_zstr(a, &name))
        || zae_admin_json_set(a, o, "namespace_id",
                              zae_admin_json_zstr(a, &nsid))
        || zae_admin_json_set(a, o, "status",
                              zae_admin_json_zstr(a, &status))
        || zae_admin_json_set(a, o, "created_at",
                              zae_admin_json_zstr(a, &created))
        || zae_admin_json_set(a, o, "deleted_at",
                              zae_admin_json_zstr(a, &deleted))
        || zae_admin_json_set(a, list, NULL, o))
    {
        return ZAE_ERROR;
    }

    name = zae_admin_cat(a, "%.*s", (int) name.len, name.data);
    nsid = zae_admin_cat(a, "%.*s", (int) nsid.len, nsid.data);
    status = zae_admin_cat(a, "%.*s", (int) status.len, status.data);
    created = zae_admin_cat(a, "%.*s", (int) created.len, created.data);
    deleted = zae_admin_cat(a, "%.*s", (int) deleted.len, deleted.data);

    return zae_admin_table_row(a, t, name.data, nsid.data, status.data,
                               created.data,
                               deleted.len ? (char *) deleted.data : NULL);
}


static int
zae_admin_ns_query(zae_admin_t *a, zae_query_e which, const char *status,
    int not_status)
{
    int                 match;
    size_t              i, n;
    zae_av_t          **items, *list;
    zae_str_t           st;
    zae_err_t           err;
    zae_ddb_req_t       q;
    zae_admin_table_t   t;

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.consistent_read = 1;
    if (zae_admin_query_key(a, &q, which, NULL, NULL, NULL, 0,
                            "cannot list namespaces", &items, &n)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 5, "NAMESPACE", "NAMESPACE ID", "STATUS",
                         "CREATED", "DELETED");

    for (i = 0; i < n; i++) {
        st.len = 0;
        (void) zae_item_get_str(items[i], "status", &st, &err);

        match = st.len == strlen(status)
                && memcmp(st.data, status, st.len) == 0;

        if (match == not_status) {
            continue;
        }

        if (zae_admin_ns_item_json(a, items[i], list, &t) != ZAE_OK) {
            zae_admin_error(a, "out of memory");
            return ZAE_ADMIN_EXIT_FAILED;
        }
    }

    return zae_admin_output(a, list, &t);
}


int
zae_admin_cmd_ns_list(zae_admin_t *a)
{
    return zae_admin_ns_query(a, ZAE_QUERY_NAMESPACES, "active", 0);
}


int
zae_admin_cmd_ns_orphans(zae_admin_t *a)
{
    return zae_admin_ns_query(a, ZAE_QUERY_NSIDS, "active", 1);
}


int
zae_admin_cmd_ns_show(zae_admin_t *a)
{
    int                 rc;
    zae_av_t           *item, *list;
    zae_str_t           sk;
    zae_admin_table_t   t;

    sk = zae_admin_str(a->args[0]);

    rc = zae_admin_ns_get(a, 0, &sk, &item);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (item == NULL) {
        zae_admin_error(a, "namespace \"%s\" not found in table \"%s\"",
                        a->args[0], a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 5, "NAMESPACE", "NAMESPACE ID", "STATUS",
                         "CREATED", "DELETED");

    if (zae_admin_ns_item_json(a, item, list, &t) != ZAE_OK) {
        zae_admin_error(a, "out of memory");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return zae_admin_output(a, list->items[0], &t);
}


static int
zae_admin_ns_set_status(zae_admin_t *a, zae_str_t *nsid, const char *status,
    zae_registry_deleted_e deleted)
{
    int             rc;
    u_char          ts[ZAE_TS_LEN + 1];
    zae_str_t       at;
    zae_ddb_req_t   r;

    zae_admin_now_ts(ts);
    at.data = ts;
    at.len = ZAE_TS_LEN;

    memset(&r, 0, sizeof(zae_ddb_req_t));

    if (zae_registry_ns_status(&a->mem, &r, nsid, status, deleted, &at)
        != ZAE_OK)
    {
        zae_admin_error(a, "cannot build the namespace update");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_check(a, zae_admin_update(a, &r, NULL),
                         "cannot update the namespace record");

    return rc == ZAE_OK ? ZAE_ADMIN_EXIT_OK : ZAE_ADMIN_EXIT_FAILED;
}


static zae_av_t *
zae_admin_ns_result(zae_admin_t *a, zae_str_t *name, zae_str_t *nsid,
    const char *status)
{
    zae_av_t  *o;

    o = zae_admin_json_obj(a);

    zae_admin_set_zstr(a, o, "namespace", name);
    zae_admin_set_zstr(a, o, "namespace_id", nsid);
    zae_admin_set_str(a, o, "status", status);

    return o;
}


static int
zae_admin_check_nsid(zae_admin_t *a, const char *s)
{
    if (!zae_nsid_valid((u_char *) s, strlen(s))) {
        zae_admin_usage_error(a, "invalid namespace id \"%s\"",
                              zae_admin_shown(a, s));
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_admin_cmd_ns_delete(zae_admin_t *a)
{
    int                    rc;
    char                   what[512];
    zae_av_t              *item;
    zae_str_t              sk, nsid, status, name;
    zae_keys_t             k;
    zae_err_t              err;
    zae_admin_yes_opts_t  *opts;

    opts = a->opts;

    sk = zae_admin_str(a->args[0]);

    rc = zae_admin_ns_get(a, 0, &sk, &item);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (item == NULL
        || zae_item_get_str(item, "namespace_id", &nsid, &err) != ZAE_OK
        || zae_item_get_str(item, "status", &status, &err) != ZAE_OK)
    {
        zae_admin_error(a, "namespace \"%s\" not found in table \"%s\"",
                        a->args[0], a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    snprintf(what, sizeof(what), "delete namespace \"%s\"", a->args[0]);

    if (zae_admin_confirm(a, opts->yes, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    (void) zae_keys_namespace(&a->mem, &k, &sk);

    rc = zae_admin_delete_item(a, &k.pk, &k.sk, NULL);
    if (rc == ZAE_DECLINED) {
        return zae_admin_fail_ddb(a, "cannot delete the namespace");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_ns_set_status(a, &nsid, "deleted",
                                 ZAE_REGISTRY_DELETED_SET);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    name = zae_admin_str(a->args[0]);

    return zae_admin_print(a, zae_admin_ns_result(a, &name, &nsid, "deleted"),
                           "namespace \"%s\" (%.*s) deleted; recover it "
                           "with \"zae-admin namespace recover %.*s\"\n",
                           a->args[0], (int) nsid.len, nsid.data,
                           (int) nsid.len, nsid.data);
}


int
zae_admin_cmd_ns_recover(zae_admin_t *a)
{
    int              rc;
    zae_av_t        *item;
    zae_buf_t        b;
    zae_str_t        sk, status, name, created;
    zae_err_t        err;
    zae_ns_record_t  ns;

    if (zae_admin_check_nsid(a, a->args[0]) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    sk = zae_admin_str(a->args[0]);

    rc = zae_admin_ns_get(a, 1, &sk, &item);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (item == NULL
        || zae_item_get_str(item, "status", &status, &err) != ZAE_OK
        || zae_item_get_str(item, "namespace_name", &name, &err) != ZAE_OK
        || zae_item_get_str(item, "created_at", &created, &err) != ZAE_OK)
    {
        zae_admin_error(a, "namespace id \"%s\" not found in table \"%s\"",
                        a->args[0], a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (status.len != 7 || memcmp(status.data, "deleted", 7) != 0) {
        zae_admin_error(a, "namespace id \"%s\" is \"%.*s\", not deleted",
                        a->args[0], (int) status.len, status.data);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    memset(&ns, 0, sizeof(ns));
    ns.name = name;
    ns.nsid = zae_admin_str(a->args[0]);
    ns.status = zae_admin_str("active");
    ns.created_at = created;

    zae_buf_init(&b, &a->mem, 512);

    zae_ns_item(&b, &ns, 0);

    rc = zae_admin_put_item(a, &b, ZAE_REGISTRY_NEW);

    if (rc == ZAE_DECLINED) {
        if (zae_admin_is(a, "ConditionalCheckFailedException")) {
            zae_admin_error(a, "namespace \"%.*s\" was re-registered with "
                            "another id: cannot recover \"%s\"",
                            (int) name.len, name.data, a->args[0]);
            return ZAE_ADMIN_EXIT_FAILED;
        }

        return zae_admin_fail_ddb(a, "cannot recover the namespace");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_ns_set_status(a, &ns.nsid, "active",
                                 ZAE_REGISTRY_DELETED_REMOVE);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    return zae_admin_print(a, zae_admin_ns_result(a, &name, &ns.nsid,
                                                  "active"),
                           "namespace \"%.*s\" (%s) recovered\n",
                           (int) name.len, name.data, a->args[0]);
}


/* delete keys in chunks of 25, re-sending unprocessed items */

int
zae_admin_batch_delete(zae_admin_t *a, zae_av_t **keys, size_t n)
{
    int               rc, tries;
    size_t            i, j, nw;
    zae_av_t         *resp, *un, *pk, *sk;
    zae_buf_t         b;
    zae_str_t         spk, ssk;
    zae_err_t         err;
    zae_ddb_write_t   w[25];

    for (i = 0; i < n; i += 25) {

        /* DeleteRequests of 25 keys at most, by the core's builder */

        nw = 0;

        for (j = i; j < n && j < i + 25; j++) {
            pk = zae_item_get(keys[j], "PK");
            sk = zae_item_get(keys[j], "SK");

            if (pk == NULL || sk == NULL
                || zae_av_get_str(pk, &spk) != ZAE_OK
                || zae_av_get_str(sk, &ssk) != ZAE_OK)
            {
                continue;
            }

            w[nw].table = zae_admin_str(a->table);
            w[nw].item = NULL;
            w[nw].key = zae_admin_key_av(&a->mem, &spk, &ssk);
            nw++;
        }

        if (nw == 0) {
            continue;
        }

        zae_buf_init(&b, &a->mem, 4096);

        if (zae_ddb_batch_write_item(&b, w, nw) != ZAE_OK) {
            zae_admin_error(a, "invalid BatchWriteItem request");
            return ZAE_ADMIN_EXIT_FAILED;
        }

        for (tries = 0; tries < 10; tries++) {
            rc = zae_admin_ddb(a, ZAE_DDB_BATCH_WRITE_ITEM, &b, &resp);
            if (rc == ZAE_DECLINED) {
                return zae_admin_fail_ddb(a, "cannot delete items");
            }

            if (rc != ZAE_OK) {
                return ZAE_ADMIN_EXIT_FAILED;
            }

            if (zae_ddb_result_batch_write(resp, &un, &err) != ZAE_OK) {
                zae_admin_error(a, "invalid BatchWriteItem answer: %s",
                                err.msg);
                return ZAE_ADMIN_EXIT_FAILED;
            }

            if (un == NULL) {
                break;
            }

            zae_buf_init(&b, &a->mem, 4096);

            if (zae_ddb_request_items_json(&b, un) != ZAE_OK) {
                zae_admin_error(a, "invalid BatchWriteItem request");
                return ZAE_ADMIN_EXIT_FAILED;
            }
        }

        if (tries == 10) {
            zae_admin_error(a, "items left unprocessed after 10 attempts");
            return ZAE_ADMIN_EXIT_FAILED;
        }

        if (n > 25 && isatty(STDERR_FILENO)) {
            fprintf(stderr, "\rdeleted %zu/%zu items", j, n);
        }
    }

    if (n > 25 && isatty(STDERR_FILENO)) {
        fprintf(stderr, "\n");
    }

    return ZAE_ADMIN_EXIT_OK;
}


int
zae_admin_cmd_ns_purge(zae_admin_t *a)
{
    int                    rc;
    char                   what[512];
    size_t                 n;
    zae_av_t              *item, **keys, *prov[1], *o;
    zae_str_t              status, nsid;
    zae_keys_t             k;
    zae_err_t              err;
    zae_admin_yes_opts_t  *opts;

    opts = a->opts;

    if (zae_admin_check_nsid(a, a->args[0]) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    nsid = zae_admin_str(a->args[0]);

    rc = zae_admin_ns_get(a, 1, &nsid, &item);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (item == NULL
        || zae_item_get_str(item, "status", &status, &err) != ZAE_OK)
    {
        zae_admin_error(a, "namespace id \"%s\" not found in table \"%s\"",
                        a->args[0], a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (status.len == 6 && memcmp(status.data, "active", 6) == 0) {
        zae_admin_error(a, "namespace id \"%s\" is active: delete it first",
                        a->args[0]);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    snprintf(what, sizeof(what), "purge every item of namespace id \"%s\"",
             a->args[0]);

    if (zae_admin_confirm(a, opts->yes, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    rc = zae_admin_ns_set_status(a, &nsid, "purging",
                                 ZAE_REGISTRY_DELETED_KEEP);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    if (zae_admin_query_key(a, NULL, ZAE_QUERY_NS_ITEMS, &nsid, NULL, NULL,
                            0, "cannot list the namespace's items", &keys,
                            &n)
        != ZAE_OK)
    {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_batch_delete(a, keys, n);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    /* #PROVISIONER has no GSI4SK and is not in GSI4: delete it by key */

    (void) zae_keys_system(&a->mem, &k, &nsid, ZAE_SYSTEM_PROVISIONER);
    prov[0] = zae_keys_key(&a->mem, &k);

    rc = zae_admin_batch_delete(a, prov, 1);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    (void) zae_keys_nsid(&a->mem, &k, &nsid);

    rc = zae_admin_delete_item(a, &k.pk, &k.sk, NULL);
    if (rc == ZAE_DECLINED) {
        return zae_admin_fail_ddb(a, "cannot delete the namespace record");
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    o = zae_admin_json_obj(a);

    zae_admin_set_str(a, o, "namespace_id", a->args[0]);
    zae_admin_set_int(a, o, "items_deleted", (int64_t) n);

    return zae_admin_print(a, o, "namespace id \"%s\" purged: %zu items "
                           "deleted\n", a->args[0], n);
}
