
/*
 * Copyright (C) zae-limit authors
 *
 * The attribute-value tree (zae_json.h): its constructors, map and list
 * edits, getters, comparison and copy.  Its JSON text, both ways, is in
 * zae_json.c.
 */


#include <stdio.h>
#include <inttypes.h>

#include "zae_json.h"


zae_av_t *
zae_av_new(zae_mem_t *mem, zae_av_type_e type)
{
    zae_av_t  *av;

    av = zae_calloc(mem, sizeof(zae_av_t));
    if (av == NULL) {
        return NULL;
    }

    av->type = type;

    return av;
}


static zae_av_t *
zae_av_text(zae_mem_t *mem, zae_av_type_e type, const u_char *s, size_t len)
{
    zae_av_t  *av;

    av = zae_av_new(mem, type);
    if (av == NULL) {
        return NULL;
    }

    av->s.data = zae_strdup(mem, s, len);
    if (av->s.data == NULL) {
        return NULL;
    }

    av->s.len = len;

    return av;
}


zae_av_t *
zae_av_str(zae_mem_t *mem, const u_char *s, size_t len)
{
    return zae_av_text(mem, ZAE_AV_S, s, len);
}


zae_av_t *
zae_av_cstr(zae_mem_t *mem, const char *s)
{
    return zae_av_text(mem, ZAE_AV_S, (const u_char *) s, strlen(s));
}


zae_av_t *
zae_av_num(zae_mem_t *mem, const u_char *text, size_t len)
{
    return zae_av_text(mem, ZAE_AV_N, text, len);
}


zae_av_t *
zae_av_int64(zae_mem_t *mem, int64_t v)
{
    int   n;
    char  text[32];

    n = snprintf(text, sizeof(text), "%" PRId64, v);

    return zae_av_text(mem, ZAE_AV_N, (u_char *) text, (size_t) n);
}


zae_av_t *
zae_av_bool(zae_mem_t *mem, int v)
{
    zae_av_t  *av;

    av = zae_av_new(mem, ZAE_AV_BOOL);
    if (av == NULL) {
        return NULL;
    }

    av->b = v ? 1 : 0;

    return av;
}


zae_av_t *
zae_av_null(zae_mem_t *mem)
{
    return zae_av_new(mem, ZAE_AV_NULL);
}


zae_av_t *
zae_av_map(zae_mem_t *mem)
{
    return zae_av_new(mem, ZAE_AV_M);
}


zae_av_t *
zae_av_list(zae_mem_t *mem)
{
    return zae_av_new(mem, ZAE_AV_L);
}


static int
zae_av_is_list(const zae_av_t *av)
{
    return av->type == ZAE_AV_L || av->type == ZAE_AV_SS
           || av->type == ZAE_AV_NS || av->type == ZAE_AV_BS;
}


int
zae_av_map_add(zae_mem_t *mem, zae_av_t *m, const u_char *name, size_t len,
    zae_av_t *value)
{
    size_t       cap;
    u_char      *p;
    zae_attr_t  *attrs;

    if (m == NULL || m->type != ZAE_AV_M || value == NULL) {
        return ZAE_ERROR;
    }

    if (m->nattrs == m->cattrs) {
        cap = m->cattrs ? m->cattrs * 2 : 8;

        if (cap > SIZE_MAX / 2 / sizeof(zae_attr_t)) {
            return ZAE_ERROR;
        }

        attrs = zae_alloc(mem, cap * sizeof(zae_attr_t));
        if (attrs == NULL) {
            return ZAE_ERROR;
        }

        if (m->nattrs) {
            memcpy(attrs, m->attrs, m->nattrs * sizeof(zae_attr_t));
        }

        m->attrs = attrs;
        m->cattrs = cap;
    }

    p = zae_strdup(mem, name, len);
    if (p == NULL) {
        return ZAE_ERROR;
    }

    m->attrs[m->nattrs].name.data = p;
    m->attrs[m->nattrs].name.len = len;
    m->attrs[m->nattrs].value = value;
    m->nattrs++;

    return ZAE_OK;
}


static zae_attr_t *
zae_av_find(const zae_av_t *m, const u_char *name, size_t len)
{
    size_t       i;
    zae_attr_t  *a;

    if (m == NULL || m->type != ZAE_AV_M) {
        return NULL;
    }

    for (i = 0; i < m->nattrs; i++) {
        a = &m->attrs[i];

        if (a->name.len == len
            && (len == 0 || memcmp(a->name.data, name, len) == 0))
        {
            return a;
        }
    }

    return NULL;
}


int
zae_av_map_set(zae_mem_t *mem, zae_av_t *m, const u_char *name, size_t len,
    zae_av_t *value)
{
    zae_attr_t  *a;

    if (value == NULL) {
        return ZAE_ERROR;
    }

    a = zae_av_find(m, name, len);
    if (a) {
        a->value = value;
        return ZAE_OK;
    }

    return zae_av_map_add(mem, m, name, len, value);
}


int
zae_item_set(zae_mem_t *mem, zae_av_t *item, const char *name,
    zae_av_t *value)
{
    return zae_av_map_set(mem, item, (const u_char *) name, strlen(name),
                          value);
}


int
zae_item_set_s(zae_mem_t *mem, zae_av_t *item, const char *name,
    const u_char *s, size_t len)
{
    return zae_item_set(mem, item, name, zae_av_str(mem, s, len));
}


int
zae_item_set_cstr(zae_mem_t *mem, zae_av_t *item, const char *name,
    const char *s)
{
    return zae_item_set(mem, item, name, zae_av_cstr(mem, s));
}


int
zae_item_set_n(zae_mem_t *mem, zae_av_t *item, const char *name, int64_t v)
{
    return zae_item_set(mem, item, name, zae_av_int64(mem, v));
}


int
zae_item_set_bool(zae_mem_t *mem, zae_av_t *item, const char *name, int v)
{
    return zae_item_set(mem, item, name, zae_av_bool(mem, v));
}


int
zae_item_set_null(zae_mem_t *mem, zae_av_t *item, const char *name)
{
    return zae_item_set(mem, item, name, zae_av_null(mem));
}


int
zae_av_list_add(zae_mem_t *mem, zae_av_t *l, zae_av_t *value)
{
    size_t      cap;
    zae_av_t  **items;

    if (l == NULL || !zae_av_is_list(l) || value == NULL) {
        return ZAE_ERROR;
    }

    if (l->nitems == l->citems) {
        cap = l->citems ? l->citems * 2 : 8;

        if (cap > SIZE_MAX / 2 / sizeof(zae_av_t *)) {
            return ZAE_ERROR;
        }

        items = zae_alloc(mem, cap * sizeof(zae_av_t *));
        if (items == NULL) {
            return ZAE_ERROR;
        }

        if (l->nitems) {
            memcpy(items, l->items, l->nitems * sizeof(zae_av_t *));
        }

        l->items = items;
        l->citems = cap;
    }

    l->items[l->nitems++] = value;

    return ZAE_OK;
}


zae_av_t *
zae_av_get(const zae_av_t *m, const u_char *name, size_t len)
{
    zae_attr_t  *a;

    a = zae_av_find(m, name, len);

    return a ? a->value : NULL;
}


zae_av_t *
zae_item_get(const zae_av_t *item, const char *name)
{
    return zae_av_get(item, (const u_char *) name, strlen(name));
}


zae_av_t *
zae_json_get(const zae_av_t *obj, const char *name)
{
    return zae_av_get(obj, (const u_char *) name, strlen(name));
}


int
zae_av_get_int64(const zae_av_t *av, int64_t *v, zae_err_t *err)
{
    int         neg;
    size_t      i;
    uint64_t    n, max, d;
    zae_str_t  *s;

    if (av == NULL || av->type != ZAE_AV_N) {
        return zae_err_set(err, "number expected");
    }

    s = (zae_str_t *) &av->s;

    i = 0;
    neg = 0;

    if (s->len && s->data[0] == '-') {
        neg = 1;
        i = 1;
    }

    if (i == s->len) {
        return zae_err_set(err, "invalid number \"%.*s\"",
                           (int) (s->len > 64 ? 64 : s->len),
                           (char *) s->data);
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    n = 0;

    /* up to 18 digits cannot overflow: no range check on the way */

    if (s->len - i <= 18) {
        for ( /* void */ ; i < s->len; i++) {
            if (s->data[i] < '0' || s->data[i] > '9') {
                return zae_err_set(err, "not an integer \"%.*s\"",
                                   (int) s->len, (char *) s->data);
            }

            n = n * 10 + (uint64_t) (s->data[i] - '0');
        }
    }

    for ( /* void */ ; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return zae_err_set(err, "not an integer \"%.*s\"",
                               (int) (s->len > 64 ? 64 : s->len),
                               (char *) s->data);
        }

        d = (uint64_t) (s->data[i] - '0');

        if (n > (max - d) / 10) {
            return zae_err_set(err, "integer out of range \"%.*s\"",
                               (int) (s->len > 64 ? 64 : s->len),
                               (char *) s->data);
        }

        n = n * 10 + d;
    }

    if (neg) {
        *v = (n == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) n;

    } else {
        *v = (int64_t) n;
    }

    return ZAE_OK;
}


int
zae_av_get_str(const zae_av_t *av, zae_str_t *s)
{
    if (av == NULL || av->type != ZAE_AV_S) {
        return ZAE_ERROR;
    }

    *s = av->s;

    return ZAE_OK;
}


int
zae_av_get_bool(const zae_av_t *av, int *v)
{
    if (av == NULL || av->type != ZAE_AV_BOOL) {
        return ZAE_ERROR;
    }

    *v = av->b;

    return ZAE_OK;
}


int
zae_item_get_int64(const zae_av_t *item, const char *name, int64_t *v,
    zae_err_t *err)
{
    zae_av_t   *av;
    zae_err_t   e;

    av = zae_item_get(item, name);
    if (av == NULL) {
        return ZAE_DECLINED;
    }

    if (zae_av_get_int64(av, v, &e) != ZAE_OK) {
        return zae_err_set(err, "attribute \"%s\": %s", name, e.msg);
    }

    return ZAE_OK;
}


int
zae_item_get_str(const zae_av_t *item, const char *name, zae_str_t *s,
    zae_err_t *err)
{
    zae_av_t  *av;

    av = zae_item_get(item, name);
    if (av == NULL) {
        return ZAE_DECLINED;
    }

    if (zae_av_get_str(av, s) != ZAE_OK) {
        return zae_err_set(err, "attribute \"%s\" is not a string", name);
    }

    return ZAE_OK;
}


int
zae_item_get_bool(const zae_av_t *item, const char *name, int *v,
    zae_err_t *err)
{
    zae_av_t  *av;

    av = zae_item_get(item, name);
    if (av == NULL) {
        return ZAE_DECLINED;
    }

    if (zae_av_get_bool(av, v) != ZAE_OK) {
        return zae_err_set(err, "attribute \"%s\" is not a boolean", name);
    }

    return ZAE_OK;
}


static int
zae_av_equal_depth(const zae_av_t *a, const zae_av_t *b, size_t depth)
{
    size_t     i;
    zae_av_t  *v;

    if (a == NULL || b == NULL) {
        return a == b;
    }

    if (a->type != b->type || depth > 256) {
        return 0;
    }

    switch (a->type) {

    case ZAE_AV_BOOL:
        return a->b == b->b;

    case ZAE_AV_NULL:
        return 1;

    case ZAE_AV_M:
        if (a->nattrs != b->nattrs) {
            return 0;
        }

        for (i = 0; i < a->nattrs; i++) {
            v = zae_av_get(b, a->attrs[i].name.data, a->attrs[i].name.len);

            if (!zae_av_equal_depth(a->attrs[i].value, v, depth + 1)) {
                return 0;
            }
        }

        return 1;

    case ZAE_AV_L:
    case ZAE_AV_SS:
    case ZAE_AV_NS:
    case ZAE_AV_BS:
        if (a->nitems != b->nitems) {
            return 0;
        }

        for (i = 0; i < a->nitems; i++) {
            if (!zae_av_equal_depth(a->items[i], b->items[i], depth + 1)) {
                return 0;
            }
        }

        return 1;

    default:
        return a->s.len == b->s.len
               && (a->s.len == 0
                   || memcmp(a->s.data, b->s.data, a->s.len) == 0);
    }
}


int
zae_av_equal(const zae_av_t *a, const zae_av_t *b)
{
    return zae_av_equal_depth(a, b, 0);
}


static zae_av_t *
zae_av_copy_depth(zae_mem_t *mem, const zae_av_t *av, size_t depth)
{
    size_t     i;
    zae_av_t  *c, *v;

    if (av == NULL || depth > 256) {
        return NULL;
    }

    c = zae_av_new(mem, av->type);
    if (c == NULL) {
        return NULL;
    }

    c->b = av->b;

    if (av->s.data) {
        c->s.data = zae_strdup(mem, av->s.data, av->s.len);
        if (c->s.data == NULL) {
            return NULL;
        }

        c->s.len = av->s.len;
    }

    for (i = 0; i < av->nattrs; i++) {
        v = zae_av_copy_depth(mem, av->attrs[i].value, depth + 1);

        if (v == NULL
            || zae_av_map_add(mem, c, av->attrs[i].name.data,
                              av->attrs[i].name.len, v)
               != ZAE_OK)
        {
            return NULL;
        }
    }

    for (i = 0; i < av->nitems; i++) {
        v = zae_av_copy_depth(mem, av->items[i], depth + 1);

        if (v == NULL || zae_av_list_add(mem, c, v) != ZAE_OK) {
            return NULL;
        }
    }

    return c;
}


zae_av_t *
zae_av_copy(zae_mem_t *mem, const zae_av_t *av)
{
    return zae_av_copy_depth(mem, av, 0);
}
