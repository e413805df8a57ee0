
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin usage list and usage summary: the snapshots "aggregate"
 * (or the Lambda) wrote.
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"
#include "zae_bucket.h"
#include "zae_schema.h"


/* usage list / summary */

typedef struct {
    zae_str_t          entity;
    zae_str_t          resource;
    zae_str_t          window;
    zae_str_t          start;
    zae_attr_t        *counters;
    size_t             ncounters;
    int64_t            events;
} zae_admin_snap_t;


/*
 * The matching snapshots, newest first; list: at most --limit of them
 * (default 100), else all
 */

static int
zae_admin_usage_read(zae_admin_t *a, int list, zae_admin_snap_t **out,
    size_t *nout)
{
    int                      rc;
    long                     limit;
    char                    *endp;
    size_t                   i, j, n, k;
    zae_av_t               **items, *v;
    zae_str_t                ent, res, win;
    zae_err_t                err;
    const char              *e, *r, *w, *start, *end, *lim;
    zae_ddb_req_t            q;
    zae_admin_snap_t        *snaps, *sp;
    zae_admin_query_opts_t  *o = a->opts;

    e = o->entity_id;
    r = o->resource;
    w = o->window;
    start = o->start;
    end = o->end;
    lim = o->limit;

    if (e == NULL && r == NULL) {
        zae_admin_usage_error(a, "give -e ENTITY and/or -r RESOURCE");
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if ((e && zae_admin_check_entity(a, e, &ent) != ZAE_OK)
        || (r && zae_admin_check_resource(a, r, &res) != ZAE_OK))
    {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (w) {
        zae_window_e  wv;

        if (zae_window_parse((u_char *) w, strlen(w), &wv) != ZAE_OK) {
            zae_admin_usage_error(a, "invalid --window \"%s\": use hourly, "
                                  "daily or monthly", zae_admin_shown(a, w));
            return ZAE_ADMIN_EXIT_USAGE;
        }
    }

    if ((start && strlen(start) < 10) || (end && strlen(end) < 10)) {
        zae_admin_usage_error(a, "--start and --end take "
                              "YYYY-MM-DD[THH:MM:SSZ]");
        return ZAE_ADMIN_EXIT_USAGE;
    }

    limit = list ? 100 : LONG_MAX;

    if (lim) {
        limit = strtol(lim, &endp, 10);

        if (*lim == '\0' || *endp != '\0' || limit < 1 || limit > 100000) {
            zae_admin_usage_error(a, "invalid --limit \"%s\"",
                                  zae_admin_shown(a, lim));
            return ZAE_ADMIN_EXIT_USAGE;
        }
    }

    memset(&q, 0, sizeof(zae_ddb_req_t));
    q.scan_backward = 1;

    if (e) {
        rc = zae_admin_query_key(a, &q, ZAE_QUERY_ENTITY_USAGE, NULL, &ent,
                                 r ? &res : NULL, 0,
                                 "cannot read usage snapshots", &items, &n);

    } else {
        rc = zae_admin_query_key(a, &q, ZAE_QUERY_RESOURCE_USAGE, NULL, &res,
                                 NULL, 0, "cannot read usage snapshots",
                                 &items, &n);
    }

    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    snaps = zae_calloc(&a->mem, (n + 1) * sizeof(zae_admin_snap_t));

    k = 0;

    for (i = 0; i < n && (long) k < limit; i++) {
        sp = &snaps[k];

        if (zae_item_get_str(items[i], "entity_id", &sp->entity, &err)
            != ZAE_OK
            || zae_item_get_str(items[i], "resource", &sp->resource, &err)
               != ZAE_OK
            || zae_item_get_str(items[i], "window", &sp->window, &err)
               != ZAE_OK
            || zae_item_get_str(items[i], "window_start", &sp->start, &err)
               != ZAE_OK)
        {
            continue;
        }

        win = sp->window;

        if (w && (win.len != strlen(w) || memcmp(win.data, w, win.len))) {
            continue;
        }

        if (e && r && (sp->resource.len != strlen(r)
                       || memcmp(sp->resource.data, r, sp->resource.len)))
        {
            continue;
        }

        if (start
            && strncmp((char *) sp->start.data, start,
                       strlen(start) < sp->start.len
                       ? strlen(start) : sp->start.len) < 0)
        {
            continue;
        }

        if (end
            && strncmp((char *) sp->start.data, end,
                       strlen(end) < sp->start.len
                       ? strlen(end) : sp->start.len) > 0)
        {
            continue;
        }

        (void) zae_item_get_int64(items[i], "total_events", &sp->events,
                                  &err);

        sp->counters = zae_alloc(&a->mem,
                                 (items[i]->nattrs + 1) * sizeof(zae_attr_t));

        for (j = 0; j < items[i]->nattrs; j++) {
            v = items[i]->attrs[j].value;

            if (v->type != ZAE_AV_N
                || (items[i]->attrs[j].name.len == 12
                    && memcmp(items[i]->attrs[j].name.data, "total_events",
                              12) == 0)
                || (items[i]->attrs[j].name.len == 3
                    && memcmp(items[i]->attrs[j].name.data, "ttl", 3) == 0))
            {
                continue;
            }

            sp->counters[sp->ncounters++] = items[i]->attrs[j];
        }

        k++;
    }

    *out = snaps;
    *nout = k;

    return ZAE_ADMIN_EXIT_OK;
}


static int
zae_admin_counters_text(zae_admin_t *a, zae_admin_snap_t *sp, char **out)
{
    size_t     i;
    zae_buf_t  b;

    zae_buf_init(&b, &a->mem, 64);

    for (i = 0; i < sp->ncounters; i++) {
        if (zae_buf_printf(&b, "%s%.*s=%.*s", i ? " " : "",
                           (int) sp->counters[i].name.len,
                           sp->counters[i].name.data,
                           (int) sp->counters[i].value->s.len,
                           sp->counters[i].value->s.data) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add(&b, "", 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    *out = (char *) b.data;

    return ZAE_OK;
}


/* a horizontal bar chart of the counters, oldest first, into text */

static void
zae_admin_plot(zae_buf_t *text, zae_admin_snap_t *snaps, size_t n)
{
    size_t     i, j, bar;
    int64_t    v, max;
    zae_err_t  err;

    max = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < snaps[i].ncounters; j++) {
            if (zae_av_get_int64(snaps[i].counters[j].value, &v, &err)
                == ZAE_OK && v > max)
            {
                max = v;
            }
        }
    }

    for (i = n; i-- > 0; ) {
        for (j = 0; j < snaps[i].ncounters; j++) {
            if (zae_av_get_int64(snaps[i].counters[j].value, &v, &err)
                != ZAE_OK)
            {
                continue;
            }

            bar = max > 0 && v > 0 ? (size_t) ((v * 50 + max - 1) / max) : 0;

            zae_buf_printf(text, "%.*s %-6.*s |", (int) snaps[i].start.len,
                           snaps[i].start.data,
                           (int) snaps[i].counters[j].name.len,
                           snaps[i].counters[j].name.data);

            while (bar--) {
                zae_buf_add_str(text, "#");
            }

            zae_buf_printf(text, " %lld\n", (long long) v);
        }
    }
}


int
zae_admin_cmd_usage_list(zae_admin_t *a)
{
    int                      rc;
    char                    *text;
    size_t                   i, j;
    size_t                   n;
    zae_av_t                *list, *o, *c;
    zae_buf_t                plot;
    zae_admin_snap_t        *snaps;
    zae_admin_table_t        t;
    zae_admin_query_opts_t  *opts;

    opts = a->opts;

    rc = zae_admin_usage_read(a, 1, &snaps, &n);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }


    list = zae_av_list(&a->mem);
    zae_admin_table_init(&t, 6, "WINDOW START", "WINDOW", "ENTITY",
                         "RESOURCE", "EVENTS", "COUNTERS");

    for (i = 0; i < n; i++) {
        o = zae_admin_json_obj(a);
        c = zae_admin_json_obj(a);

        for (j = 0; j < snaps[i].ncounters; j++) {
            zae_av_map_add(&a->mem, c, snaps[i].counters[j].name.data,
                           snaps[i].counters[j].name.len,
                           zae_admin_item_to_json(a,
                               snaps[i].counters[j].value));
        }

        zae_admin_set_zstr(a, o, "entity_id", &snaps[i].entity);
        zae_admin_set_zstr(a, o, "resource", &snaps[i].resource);
        zae_admin_set_zstr(a, o, "window", &snaps[i].window);
        zae_admin_set_zstr(a, o, "window_start", &snaps[i].start);
        zae_admin_json_set(a, o, "counters", c);
        zae_admin_set_int(a, o, "total_events", snaps[i].events);
        zae_av_list_add(&a->mem, list, o);

        if (zae_admin_counters_text(a, &snaps[i], &text) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_FAILED;
        }

        zae_admin_table_row(a, &t,
                            zae_admin_cat(a, "%.*s", (int) snaps[i].start.len,
                                          snaps[i].start.data).data,
                            zae_admin_cat(a, "%.*s",
                                          (int) snaps[i].window.len,
                                          snaps[i].window.data).data,
                            zae_admin_cat(a, "%.*s",
                                          (int) snaps[i].entity.len,
                                          snaps[i].entity.data).data,
                            zae_admin_cat(a, "%.*s",
                                          (int) snaps[i].resource.len,
                                          snaps[i].resource.data).data,
                            zae_admin_cat(a, "%lld",
                                          (long long) snaps[i].events).data,
                            text);
    }

    if (opts->plot) {
        zae_buf_init(&plot, &a->mem, 1024);

        if (n == 0) {
            zae_buf_add_str(&plot, "no usage snapshots\n");
        }

        zae_admin_plot(&plot, snaps, n);

        return zae_admin_print_text(a, list, &plot);
    }

    return zae_admin_output(a, list, &t);
}


int
zae_admin_cmd_usage_summary(zae_admin_t *a)
{
    int                      rc;
    size_t                   i, j, k, nnames;
    size_t                   n;
    int64_t                  v, events;
    int64_t                  total[64], mn[64], mx[64], cnt[64];
    zae_av_t                *o, *m, *s;
    const char              *w, *window;
    zae_window_e             wv, x;
    zae_err_t                err;
    zae_str_t                names[64];
    zae_admin_snap_t        *snaps;
    zae_admin_table_t        t;
    zae_admin_query_opts_t  *opts;

    opts = a->opts;

    rc = zae_admin_usage_read(a, 0, &snaps, &n);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        return rc;
    }

    /*
     * snapshots of different windows count the same events again: sum
     * one window, -w or else the finest present
     */

    w = opts->window;
    wv = ZAE_WINDOW_MONTHLY;

    for (i = 0; w == NULL && i < n; i++) {
        if (zae_window_parse(snaps[i].window.data, snaps[i].window.len, &x)
            == ZAE_OK && x < wv)
        {
            wv = x;
        }
    }

    window = w ? w : zae_window_name(wv);

    for (i = 0, k = 0; i < n; i++) {
        if (snaps[i].window.len == strlen(window)
            && memcmp(snaps[i].window.data, window, snaps[i].window.len) == 0)
        {
            snaps[k++] = snaps[i];
        }
    }

    n = k;
    nnames = 0;
    events = 0;

    for (i = 0; i < n; i++) {
        events += snaps[i].events;

        for (j = 0; j < snaps[i].ncounters; j++) {
            if (zae_av_get_int64(snaps[i].counters[j].value, &v, &err)
                != ZAE_OK)
            {
                continue;
            }

            for (k = 0; k < nnames; k++) {
                if (names[k].len == snaps[i].counters[j].name.len
                    && memcmp(names[k].data, snaps[i].counters[j].name.data,
                              names[k].len) == 0)
                {
                    break;
                }
            }

            if (k == nnames) {
                if (nnames == 64) {
                    continue;
                }

                names[k] = snaps[i].counters[j].name;
                total[k] = 0;
                cnt[k] = 0;
                mn[k] = v;
                mx[k] = v;
                nnames++;
            }

            total[k] += v;
            cnt[k]++;
            mn[k] = v < mn[k] ? v : mn[k];
            mx[k] = v > mx[k] ? v : mx[k];
        }
    }

    o = zae_admin_json_obj(a);
    m = zae_admin_json_obj(a);
    zae_admin_table_init(&t, 5, "LIMIT", "TOTAL", "AVERAGE", "MIN", "MAX");


    for (k = 0; k < nnames; k++) {
        s = zae_admin_json_obj(a);

        zae_admin_set_int(a, s, "total", total[k]);
        zae_admin_set_int(a, s, "average", total[k] / cnt[k]);
        zae_admin_set_int(a, s, "min", mn[k]);
        zae_admin_set_int(a, s, "max", mx[k]);
        zae_av_map_add(&a->mem, m, names[k].data, names[k].len, s);
        zae_admin_table_row(a, &t,
            zae_admin_cat(a, "%.*s", (int) names[k].len,
                          names[k].data).data,
            zae_admin_cat(a, "%lld", (long long) total[k]).data,
            zae_admin_cat(a, "%lld",
                          (long long) (total[k] / cnt[k])).data,
            zae_admin_cat(a, "%lld", (long long) mn[k]).data,
            zae_admin_cat(a, "%lld", (long long) mx[k]).data);
    }

    zae_admin_set_str(a, o, "window", window);
    zae_admin_set_int(a, o, "snapshots", (int64_t) n);
    zae_admin_set_int(a, o, "total_events", events);
    zae_admin_json_set(a, o, "limits", m);

    zae_admin_say(a, stdout, "%s window%s: %zu snapshot%s, %lld event%s\n",
                  window, w ? "" : " (the finest present; -w to choose)", n,
                  n == 1 ? "" : "s", (long long) events,
                  events == 1 ? "" : "s");

    return zae_admin_output(a, o, &t);
}
