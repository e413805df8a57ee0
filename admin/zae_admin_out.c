
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin output: aligned human tables and stable JSON (one compact
 * document per command, keys in a fixed order).  The result printer:
 * a command builds its result once, the JSON value and its text (a
 * table, a sentence, lines), and the functions here print one or the
 * other as --output asks; no command tests the output mode.
 */


#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "zae_admin.h"


void
zae_admin_table_init(zae_admin_table_t *t, int ncols, ...)
{
    int      i;
    va_list  args;

    memset(t, 0, sizeof(zae_admin_table_t));
    t->ncols = ncols > 8 ? 8 : ncols;

    va_start(args, ncols);

    for (i = 0; i < t->ncols; i++) {
        t->headers[i] = va_arg(args, const char *);
    }

    va_end(args);
}


int
zae_admin_table_row(zae_admin_t *a, zae_admin_table_t *t, ...)
{
    int       i, c;
    char    **cells;
    va_list   args;

    if (t->nrows == t->crows) {
        c = t->crows ? t->crows * 2 : 16;

        cells = zae_alloc(&a->mem, (size_t) c * t->ncols * sizeof(char *));

        if (t->nrows) {
            memcpy(cells, t->cells,
                   (size_t) t->nrows * t->ncols * sizeof(char *));
        }

        t->cells = cells;
        t->crows = c;
    }

    va_start(args, t);

    for (i = 0; i < t->ncols; i++) {
        t->cells[t->nrows * t->ncols + i] = va_arg(args, char *);
    }

    va_end(args);

    t->nrows++;

    return ZAE_OK;
}


void
zae_admin_table_print(zae_admin_table_t *t)
{
    int          r, i;
    size_t       w[8], len;
    const char  *cell;

    for (i = 0; i < t->ncols; i++) {
        w[i] = strlen(t->headers[i]);

        for (r = 0; r < t->nrows; r++) {
            cell = t->cells[r * t->ncols + i];
            len = cell ? strlen(cell) : 1;

            if (len > w[i]) {
                w[i] = len;
            }
        }
    }

    for (i = 0; i < t->ncols; i++) {
        if (i == t->ncols - 1) {
            printf("%s\n", t->headers[i]);

        } else {
            printf("%-*s  ", (int) w[i], t->headers[i]);
        }
    }

    for (r = 0; r < t->nrows; r++) {
        for (i = 0; i < t->ncols; i++) {
            cell = t->cells[r * t->ncols + i];
            cell = cell ? cell : "-";

            if (i == t->ncols - 1) {
                printf("%s\n", cell);

            } else {
                printf("%-*s  ", (int) w[i], cell);
            }
        }
    }

    if (t->footer.len) {
        fwrite(t->footer.data, 1, t->footer.len, stdout);
    }
}


/* the JSON result of a command, one line; returns the exit code */

int
zae_admin_print_json(zae_admin_t *a, zae_av_t *json)
{
    zae_buf_t  b;

    zae_buf_init(&b, &a->mem, 1024);

    if (json == NULL || zae_json_encode(&b, json) != ZAE_OK) {
        zae_admin_error(a, "cannot encode the JSON output");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    fwrite(b.data, 1, b.len, stdout);
    fputc('\n', stdout);

    return ZAE_ADMIN_EXIT_OK;
}


/*
 * The one result printer: with --output json the JSON value, else the
 * table (t may be NULL: the command printed its text); the exit code
 */

int
zae_admin_output(zae_admin_t *a, zae_av_t *json, zae_admin_table_t *t)
{
    if (a->output == ZAE_ADMIN_OUTPUT_JSON) {
        return zae_admin_print_json(a, json);
    }

    if (t) {
        zae_admin_table_print(t);
    }

    return ZAE_ADMIN_EXIT_OK;
}


/* the JSON value, or the text built beside it (may be NULL: none) */

int
zae_admin_print_text(zae_admin_t *a, zae_av_t *json, zae_buf_t *text)
{
    if (a->output == ZAE_ADMIN_OUTPUT_JSON) {
        return zae_admin_print_json(a, json);
    }

    if (text && text->len) {
        fwrite(text->data, 1, text->len, stdout);
    }

    return ZAE_ADMIN_EXIT_OK;
}


/* the JSON value, or the sentence */

int
zae_admin_print(zae_admin_t *a, zae_av_t *json, const char *fmt, ...)
{
    va_list  args;

    if (a->output == ZAE_ADMIN_OUTPUT_JSON) {
        return zae_admin_print_json(a, json);
    }

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    return ZAE_ADMIN_EXIT_OK;
}


/* a list of strings: the JSON list, else one a line or the sentence */

int
zae_admin_print_list(zae_admin_t *a, zae_av_t *list, const char *empty, ...)
{
    size_t   i;
    va_list  args;

    if (a->output == ZAE_ADMIN_OUTPUT_JSON) {
        return zae_admin_print_json(a, list);
    }

    for (i = 0; i < list->nitems; i++) {
        printf("%.*s\n", (int) list->items[i]->s.len,
               list->items[i]->s.data);
    }

    if (list->nitems == 0) {
        va_start(args, empty);
        vprintf(empty, args);
        va_end(args);
    }

    return ZAE_ADMIN_EXIT_OK;
}


/* a short result: the JSON text with --output json, else the sentence */

void
zae_admin_result(zae_admin_t *a, const char *json, const char *fmt, ...)
{
    va_list  args;

    if (a->output == ZAE_ADMIN_OUTPUT_JSON) {
        printf("%s\n", json);
        return;
    }

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
}


/*
 * Progress and notes of the table output (to f): nothing with --output
 * json, whose stdout holds the one JSON document
 */

void
zae_admin_say(zae_admin_t *a, FILE *f, const char *fmt, ...)
{
    va_list  args;

    if (a->output == ZAE_ADMIN_OUTPUT_JSON) {
        return;
    }

    va_start(args, fmt);
    vfprintf(f, fmt, args);
    va_end(args);
}


/* where progress goes that JSON output keeps: stdout, else stderr */

FILE *
zae_admin_progress(zae_admin_t *a)
{
    return a->output == ZAE_ADMIN_OUTPUT_JSON ? stderr : stdout;
}


zae_av_t *
zae_admin_json_obj(zae_admin_t *a)
{
    return zae_av_map(&a->mem);
}


int
zae_admin_json_set(zae_admin_t *a, zae_av_t *obj, const char *name,
    zae_av_t *v)
{
    if (obj == NULL || v == NULL) {
        return ZAE_ERROR;
    }

    if (obj->type == ZAE_AV_L) {
        return zae_av_list_add(&a->mem, obj, v);
    }

    return zae_av_map_add(&a->mem, obj, (u_char *) name, strlen(name), v);
}


/* obj.name = value, in one call for the usual kinds of value */

void
zae_admin_set_zstr(zae_admin_t *a, zae_av_t *obj, const char *name,
    zae_str_t *s)
{
    zae_admin_json_set(a, obj, name, zae_admin_json_zstr(a, s));
}


void
zae_admin_set_str(zae_admin_t *a, zae_av_t *obj, const char *name,
    const char *s)
{
    zae_admin_json_set(a, obj, name, zae_admin_json_str(a, s));
}


void
zae_admin_set_int(zae_admin_t *a, zae_av_t *obj, const char *name,
    int64_t v)
{
    zae_admin_json_set(a, obj, name, zae_admin_json_int(a, v));
}


void
zae_admin_set_bool(zae_admin_t *a, zae_av_t *obj, const char *name, int v)
{
    zae_admin_json_set(a, obj, name, zae_admin_json_bool(a, v));
}


zae_av_t *
zae_admin_json_str(zae_admin_t *a, const char *s)
{
    if (s == NULL) {
        return zae_av_null(&a->mem);
    }

    return zae_av_str(&a->mem, (u_char *) s, strlen(s));
}


zae_av_t *
zae_admin_json_zstr(zae_admin_t *a, zae_str_t *s)
{
    if (s == NULL || s->data == NULL) {
        return zae_av_null(&a->mem);
    }

    return zae_av_str(&a->mem, s->data, s->len);
}


zae_av_t *
zae_admin_json_int(zae_admin_t *a, int64_t v)
{
    return zae_av_int64(&a->mem, v);
}


zae_av_t *
zae_admin_json_bool(zae_admin_t *a, int v)
{
    return zae_av_bool(&a->mem, v);
}


/* obj.name into *out when obj has it as a string; else *out is kept */

void
zae_admin_get_str(zae_av_t *obj, const char *name, zae_str_t *out)
{
    zae_av_t  *v;

    v = obj ? zae_json_get(obj, name) : NULL;

    if (v) {
        (void) zae_av_get_str(v, out);
    }
}


/* a typed DynamoDB value as plain JSON: S, N, BOOL, NULL, M, L, sets */

zae_av_t *
zae_admin_item_to_json(zae_admin_t *a, const zae_av_t *item)
{
    size_t     i;
    zae_av_t  *out, *v;

    if (item == NULL) {
        return zae_av_null(&a->mem);
    }

    switch (item->type) {

    case ZAE_AV_S:
    case ZAE_AV_B:
        return zae_av_str(&a->mem, item->s.data, item->s.len);

    case ZAE_AV_N:
        return zae_av_num(&a->mem, item->s.data, item->s.len);

    case ZAE_AV_BOOL:
        return zae_av_bool(&a->mem, item->b);

    case ZAE_AV_NULL:
        return zae_av_null(&a->mem);

    case ZAE_AV_M:
        out = zae_av_map(&a->mem);
        if (out == NULL) {
            return NULL;
        }

        for (i = 0; i < item->nattrs; i++) {
            v = zae_admin_item_to_json(a, item->attrs[i].value);

            if (v == NULL
                || zae_av_map_add(&a->mem, out, item->attrs[i].name.data,
                                  item->attrs[i].name.len, v)
                   != ZAE_OK)
            {
                return NULL;
            }
        }

        return out;

    default:
        out = zae_av_list(&a->mem);
        if (out == NULL) {
            return NULL;
        }

        for (i = 0; i < item->nitems; i++) {
            v = zae_admin_item_to_json(a, item->items[i]);

            if (v == NULL || zae_av_list_add(&a->mem, out, v) != ZAE_OK) {
                return NULL;
            }
        }

        return out;
    }
}
