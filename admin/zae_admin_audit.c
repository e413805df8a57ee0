
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin audit list: the audit events of an entity, newest first.
 */


#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


int
zae_admin_cmd_audit_list(zae_admin_t *a)
{
    long                     lim;
    char                    *end;
    size_t                   i, k, n;
    zae_av_t               **items, *list, *o, *det;
    zae_buf_t                db;
    zae_str_t                ent, id, f[6];
    zae_err_t                err;
    zae_keys_t               ak;
    const char              *e, *l, *start;
    zae_ddb_req_t            q;
    zae_admin_table_t        t;
    static const char       *fields[6] = { "event_id", "timestamp",
                                           "action", "entity_id",
                                           "principal", "resource" };
    zae_admin_query_opts_t  *opts;

    opts = a->opts;

    e = opts->entity_id;
    l = opts->limit;
    start = opts->start_event_id;

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

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.scan_backward = 1;
    q.limit = lim;

    if (start) {
        id = zae_admin_str(start);
        (void) zae_keys_audit(&a->mem, &ak, &a->nsid, &ent, &id);
        q.start_key = zae_keys_key(&a->mem, &ak);
    }

    if (zae_admin_query_key(a, &q, ZAE_QUERY_AUDIT, NULL, &ent, NULL,
                            (size_t) lim, "cannot list audit events", &items,
                            &n)
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
