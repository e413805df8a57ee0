
/*
 * Copyright (C) zae-limit authors
 *
 * JSON text (zae_json.h): Python-compatible string escaping, the encoder
 * of a tree (DynamoDB JSON or plain), the bounded yajl decoder, and the
 * typed form of a DynamoDB item read from plain JSON.  The tree itself
 * is in zae_av.c.
 */


#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <inttypes.h>

#include <yajl/yajl_parse.h>

#include "zae_json.h"


static const char  zae_json_hex[] = "0123456789abcdef";


/*
 * Decodes one UTF-8 sequence at p (n bytes available).  Returns its
 * length and sets *cp, or 0 if p does not start a valid sequence
 * (overlong forms, surrogates and values above U+10FFFF are invalid).
 */

static size_t
zae_utf8_decode(const u_char *p, size_t n, uint32_t *cp)
{
    size_t    len, i;
    uint32_t  c, min;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return len;
}


static u_char *
zae_json_put_u(u_char *d, uint32_t c)
{
    *d++ = '\\';
    *d++ = 'u';
    *d++ = zae_json_hex[(c >> 12) & 0xf];
    *d++ = zae_json_hex[(c >> 8) & 0xf];
    *d++ = zae_json_hex[(c >> 4) & 0xf];
    *d++ = zae_json_hex[c & 0xf];

    return d;
}


/* the bytes a JSON string holds as they are, built on first use */

static uint8_t  zae_json_plain_bytes[256];
static int      zae_json_plain_ready;


const uint8_t *
zae_json_plain(void)
{
    int  c;

    if (!zae_json_plain_ready) {
        for (c = 0x20; c <= 0x7e; c++) {
            zae_json_plain_bytes[c] = (c != '"' && c != '\\');
        }

        zae_json_plain_ready = 1;
    }

    return zae_json_plain_bytes;
}


u_char *
zae_json_escape(u_char *d, const u_char *s, size_t len)
{
    size_t          n;
    uint32_t        c;
    const u_char   *p, *q, *end;
    const uint8_t  *plain;

    p = s;
    end = s + len;
    plain = zae_json_plain();

    while (p < end) {

        /* a run of bytes kept as they are */

        if (plain[*p]) {
            q = p + 1;

            while (q < end && plain[*q]) {
                q++;
            }

            d = zae_cpymem(d, p, (size_t) (q - p));
            p = q;
            continue;
        }

        c = *p;

        if (c >= 0x20 && c < 0x7f) {
            if (c == '"' || c == '\\') {
                *d++ = '\\';
            }

            *d++ = (u_char) c;
            p++;
            continue;
        }

        if (c < 0x20 || c == 0x7f) {

            switch (c) {
            case '\n':
                *d++ = '\\';
                *d++ = 'n';
                break;
            case '\r':
                *d++ = '\\';
                *d++ = 'r';
                break;
            case '\t':
                *d++ = '\\';
                *d++ = 't';
                break;
            case '\b':
                *d++ = '\\';
                *d++ = 'b';
                break;
            case '\f':
                *d++ = '\\';
                *d++ = 'f';
                break;
            default:
                d = zae_json_put_u(d, c);
            }

            p++;
            continue;
        }

        n = zae_utf8_decode(p, (size_t) (end - p), &c);

        if (n == 0) {
            d = zae_json_put_u(d, 0xfffd);
            p++;
            continue;
        }

        if (c < 0x10000) {
            d = zae_json_put_u(d, c);

        } else {
            c -= 0x10000;
            d = zae_json_put_u(d, 0xd800 | (c >> 10));
            d = zae_json_put_u(d, 0xdc00 | (c & 0x3ff));
        }

        p += n;
    }

    return d;
}


int
zae_json_add_string(zae_buf_t *b, const u_char *s, size_t len)
{
    u_char  *d;

    if (len > (SIZE_MAX / 4 - 3) / ZAE_JSON_ESCAPE_MAX) {
        b->failed = 1;
        return ZAE_ERROR;
    }

    if (zae_buf_reserve(b, len * ZAE_JSON_ESCAPE_MAX + 3) != ZAE_OK) {
        return ZAE_ERROR;
    }

    d = b->data + b->len;
    *d++ = '"';

    d = zae_json_escape(d, s, len);

    *d++ = '"';
    *d = '\0';

    b->len = (size_t) (d - b->data);

    return ZAE_OK;
}


static const char  *zae_av_tags[] = {
    "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"
};


static int zae_av_encode_depth(zae_buf_t *b, const zae_av_t *av,
    size_t depth);


static int
zae_item_encode_depth(zae_buf_t *b, const zae_av_t *item, size_t depth)
{
    size_t  i;

    if (item == NULL || item->type != ZAE_AV_M || depth > 256) {
        return ZAE_ERROR;
    }

    if (zae_buf_add(b, "{", 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < item->nattrs; i++) {
        if (i && zae_buf_add(b, ",", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (zae_json_add_string(b, item->attrs[i].name.data,
                                item->attrs[i].name.len)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        if (zae_buf_add(b, ":", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        if (zae_av_encode_depth(b, item->attrs[i].value, depth + 1)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add(b, "}", 1);
}


static int
zae_av_encode_depth(zae_buf_t *b, const zae_av_t *av, size_t depth)
{
    size_t     i;
    zae_av_t  *v;

    if (av == NULL || (unsigned) av->type > ZAE_AV_BS || depth > 256) {
        return ZAE_ERROR;
    }

    if (zae_buf_printf(b, "{\"%s\":", zae_av_tags[av->type]) != ZAE_OK) {
        return ZAE_ERROR;
    }

    switch (av->type) {

    case ZAE_AV_S:
    case ZAE_AV_N:
    case ZAE_AV_B:
        if (zae_json_add_string(b, av->s.data, av->s.len) != ZAE_OK) {
            return ZAE_ERROR;
        }

        break;

    case ZAE_AV_BOOL:
        if (zae_buf_add_str(b, av->b ? "true" : "false") != ZAE_OK) {
            return ZAE_ERROR;
        }

        break;

    case ZAE_AV_NULL:
        if (zae_buf_add_str(b, "true") != ZAE_OK) {
            return ZAE_ERROR;
        }

        break;

    case ZAE_AV_M:
        if (zae_item_encode_depth(b, av, depth + 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        break;

    default: /* L, SS, NS, BS */

        if (zae_buf_add(b, "[", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        for (i = 0; i < av->nitems; i++) {
            v = av->items[i];

            if (i && zae_buf_add(b, ",", 1) != ZAE_OK) {
                return ZAE_ERROR;
            }

            if (av->type == ZAE_AV_L) {
                if (zae_av_encode_depth(b, v, depth + 1) != ZAE_OK) {
                    return ZAE_ERROR;
                }

                continue;
            }

            if (v == NULL
                || zae_json_add_string(b, v->s.data, v->s.len) != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        if (zae_buf_add(b, "]", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add(b, "}", 1);
}


int
zae_item_encode(zae_buf_t *b, const zae_av_t *item)
{
    return zae_item_encode_depth(b, item, 0);
}


static int
zae_json_encode_depth(zae_buf_t *b, const zae_av_t *v, size_t depth)
{
    size_t  i;

    if (v == NULL || depth > 256) {
        return ZAE_ERROR;
    }

    switch (v->type) {

    case ZAE_AV_S:
        return zae_json_add_string(b, v->s.data, v->s.len);

    case ZAE_AV_N:
        if (v->s.len == 0) {
            return ZAE_ERROR;
        }

        return zae_buf_add(b, v->s.data, v->s.len);

    case ZAE_AV_BOOL:
        return zae_buf_add_str(b, v->b ? "true" : "false");

    case ZAE_AV_NULL:
        return zae_buf_add_str(b, "null");

    case ZAE_AV_M:
        if (zae_buf_add(b, "{", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        for (i = 0; i < v->nattrs; i++) {
            if ((i && zae_buf_add(b, ",", 1) != ZAE_OK)
                || zae_json_add_string(b, v->attrs[i].name.data,
                                       v->attrs[i].name.len)
                   != ZAE_OK
                || zae_buf_add(b, ":", 1) != ZAE_OK
                || zae_json_encode_depth(b, v->attrs[i].value, depth + 1)
                   != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        return zae_buf_add(b, "}", 1);

    case ZAE_AV_L:
        if (zae_buf_add(b, "[", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        for (i = 0; i < v->nitems; i++) {
            if ((i && zae_buf_add(b, ",", 1) != ZAE_OK)
                || zae_json_encode_depth(b, v->items[i], depth + 1)
                   != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        return zae_buf_add(b, "]", 1);

    default:
        return ZAE_ERROR;
    }
}


int
zae_json_encode(zae_buf_t *b, const zae_av_t *json)
{
    return zae_json_encode_depth(b, json, 0);
}


/* the streaming decoder */

typedef struct {
    zae_mem_t          *mem;
    size_t              max_depth;
    size_t              max_nodes;
    size_t              nodes;
    size_t              depth;
    zae_av_t           *root;
    zae_av_t           *stack[ZAE_JSON_MAX_DEPTH];
    zae_str_t           key;
    unsigned            has_key:1;
    zae_err_t          *err;
    int                 failed;
} zae_json_ctx_t;


/*
 * yajl does not survive a failed allocation (it writes through the
 * result unchecked), so its memory comes from one chunk taken from the
 * caller's zae_mem_t up front and sized for the worst case: every yajl
 * buffer (the lexer's, the string decoder's) holds at most the body and
 * grows by doubling from 2048 bytes, so 4 * body + 32K always suffices.
 * Blocks carry a size header for realloc; free is a no-op.
 */

#define ZAE_JSON_HDR    16
#define ZAE_JSON_SLACK  (32 * 1024)

typedef struct {
    u_char             *pos;
    u_char             *end;
    u_char             *last;       /* the most recent block, for realloc */
} zae_json_chunk_t;


static void *
zae_json_yajl_malloc(void *ctx, size_t size)
{
    u_char            *p;
    zae_json_chunk_t  *c = ctx;

    size = (size + ZAE_JSON_HDR - 1) & ~((size_t) ZAE_JSON_HDR - 1);

    if (size > (size_t) (c->end - c->pos)
        || (size_t) (c->end - c->pos) - size < ZAE_JSON_HDR)
    {
        return NULL;
    }

    p = c->pos;
    memcpy(p, &size, sizeof(size_t));

    c->pos += ZAE_JSON_HDR + size;
    c->last = p + ZAE_JSON_HDR;

    return c->last;
}


static void *
zae_json_yajl_realloc(void *ctx, void *ptr, size_t size)
{
    size_t             old, need;
    u_char            *p;
    zae_json_chunk_t  *c = ctx;

    if (ptr == NULL) {
        return zae_json_yajl_malloc(ctx, size);
    }

    memcpy(&old, (u_char *) ptr - ZAE_JSON_HDR, sizeof(size_t));

    if (size <= old) {
        return ptr;
    }

    if (ptr == c->last) {
        need = (size + ZAE_JSON_HDR - 1) & ~((size_t) ZAE_JSON_HDR - 1);

        if (need - old <= (size_t) (c->end - c->pos)) {
            memcpy((u_char *) ptr - ZAE_JSON_HDR, &need, sizeof(size_t));
            c->pos += need - old;
            return ptr;
        }
    }

    p = zae_json_yajl_malloc(ctx, size);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, ptr, old);

    return p;
}


static void
zae_json_yajl_free(void *ctx, void *ptr)
{
    /* the chunk is released with the caller's pool */
}


static int
zae_json_fail(zae_json_ctx_t *ctx, const char *msg)
{
    if (!ctx->failed) {
        ctx->failed = 1;
        (void) zae_err_set(ctx->err, "%s", msg);
    }

    return 0;
}


static int
zae_json_count(zae_json_ctx_t *ctx)
{
    if (++ctx->nodes > ctx->max_nodes) {
        return zae_json_fail(ctx, "too many json values");
    }

    return 1;
}


static int
zae_json_push_value(zae_json_ctx_t *ctx, zae_av_t *av)
{
    zae_av_t  *top;

    if (av == NULL) {
        return zae_json_fail(ctx, "out of memory");
    }

    if (!zae_json_count(ctx)) {
        return 0;
    }

    if (ctx->depth == 0) {
        if (ctx->root) {
            return zae_json_fail(ctx, "more than one json value");
        }

        ctx->root = av;
        return 1;
    }

    top = ctx->stack[ctx->depth - 1];

    if (top->type == ZAE_AV_M) {
        if (!ctx->has_key) {
            return zae_json_fail(ctx, "json value without a key");
        }

        ctx->has_key = 0;

        if (zae_av_map_add(ctx->mem, top, ctx->key.data, ctx->key.len, av)
            != ZAE_OK)
        {
            return zae_json_fail(ctx, "out of memory");
        }

        return 1;
    }

    if (zae_av_list_add(ctx->mem, top, av) != ZAE_OK) {
        return zae_json_fail(ctx, "out of memory");
    }

    return 1;
}


static int
zae_json_on_null(void *data)
{
    zae_json_ctx_t  *ctx = data;

    return zae_json_push_value(ctx, zae_av_null(ctx->mem));
}


static int
zae_json_on_boolean(void *data, int v)
{
    zae_json_ctx_t  *ctx = data;

    return zae_json_push_value(ctx, zae_av_bool(ctx->mem, v));
}


static int
zae_json_on_number(void *data, const char *s, size_t len)
{
    zae_json_ctx_t  *ctx = data;

    return zae_json_push_value(ctx,
                               zae_av_num(ctx->mem, (const u_char *) s, len));
}


int
zae_json_utf8_valid(const u_char *s, size_t len)
{
    size_t    i, n;
    uint32_t  c;

    for (i = 0; i < len; i += n) {

        /* ASCII is the common case */

        if (s[i] < 0x80) {
            n = 1;
            continue;
        }

        n = zae_utf8_decode(s + i, len - i, &c);

        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


static int
zae_json_on_string(void *data, const unsigned char *s, size_t len)
{
    zae_json_ctx_t  *ctx = data;

    if (!zae_json_utf8_valid(s, len)) {
        return zae_json_fail(ctx, "invalid utf-8 in json string");
    }

    return zae_json_push_value(ctx, zae_av_str(ctx->mem, s, len));
}


static int
zae_json_open(zae_json_ctx_t *ctx, zae_av_type_e type)
{
    zae_av_t  *av;

    if (ctx->depth >= ctx->max_depth) {
        return zae_json_fail(ctx, "json nested too deeply");
    }

    av = zae_av_new(ctx->mem, type);

    if (!zae_json_push_value(ctx, av)) {
        return 0;
    }

    ctx->stack[ctx->depth++] = av;

    return 1;
}


static int
zae_json_attr_cmp(const zae_attr_t *a, const zae_attr_t *b)
{
    if (a->name.len != b->name.len) {
        return a->name.len < b->name.len ? -1 : 1;
    }

    if (a->name.len == 0) {
        return 0;
    }

    return memcmp(a->name.data, b->name.data, a->name.len);
}


static int
zae_json_attr_qcmp(const void *one, const void *two)
{
    return zae_json_attr_cmp(*(const zae_attr_t * const *) one,
                             *(const zae_attr_t * const *) two);
}


/*
 * Duplicate keys are looked for when an object closes: pairwise for
 * small objects, after sorting pointers to the keys for large ones, so
 * that a body with many keys costs n log n, not n^2.
 */

static int
zae_json_has_dups(zae_json_ctx_t *ctx, zae_av_t *m)
{
    size_t        i, j, n;
    zae_attr_t  **v;

    n = m->nattrs;

    if (n <= 16) {
        for (i = 1; i < n; i++) {
            for (j = 0; j < i; j++) {
                if (zae_json_attr_cmp(&m->attrs[i], &m->attrs[j]) == 0) {
                    return 1;
                }
            }
        }

        return 0;
    }

    v = zae_alloc(ctx->mem, n * sizeof(zae_attr_t *));
    if (v == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        v[i] = &m->attrs[i];
    }

    qsort(v, n, sizeof(zae_attr_t *), zae_json_attr_qcmp);

    for (i = 1; i < n; i++) {
        if (zae_json_attr_cmp(v[i - 1], v[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
zae_json_close(zae_json_ctx_t *ctx)
{
    int        rc;
    zae_av_t  *top;

    if (ctx->depth == 0) {
        return zae_json_fail(ctx, "unbalanced json");
    }

    top = ctx->stack[--ctx->depth];

    if (top->type == ZAE_AV_M && top->nattrs > 1) {
        rc = zae_json_has_dups(ctx, top);

        if (rc == -1) {
            return zae_json_fail(ctx, "out of memory");
        }

        if (rc) {
            return zae_json_fail(ctx, "duplicate json key");
        }
    }

    return 1;
}


static int
zae_json_on_start_map(void *data)
{
    return zae_json_open(data, ZAE_AV_M);
}


static int
zae_json_on_map_key(void *data, const unsigned char *s, size_t len)
{
    zae_av_t        *top;
    zae_json_ctx_t  *ctx = data;

    if (!zae_json_count(ctx)) {
        return 0;
    }

    if (!zae_json_utf8_valid(s, len)) {
        return zae_json_fail(ctx, "invalid utf-8 in json key");
    }

    top = ctx->depth ? ctx->stack[ctx->depth - 1] : NULL;

    if (top == NULL || top->type != ZAE_AV_M || ctx->has_key) {
        return zae_json_fail(ctx, "unexpected json key");
    }

    ctx->key.data = zae_strdup(ctx->mem, s, len);
    if (ctx->key.data == NULL) {
        return zae_json_fail(ctx, "out of memory");
    }

    ctx->key.len = len;
    ctx->has_key = 1;

    return 1;
}


static int
zae_json_on_end(void *data)
{
    return zae_json_close(data);
}


static int
zae_json_on_start_array(void *data)
{
    return zae_json_open(data, ZAE_AV_L);
}


static yajl_callbacks  zae_json_callbacks = {
    zae_json_on_null,
    zae_json_on_boolean,
    NULL,
    NULL,
    zae_json_on_number,
    zae_json_on_string,
    zae_json_on_start_map,
    zae_json_on_map_key,
    zae_json_on_end,
    zae_json_on_start_array,
    zae_json_on_end
};


int
zae_json_run(zae_mem_t *mem, const u_char *data, size_t len,
    const void *callbacks, void *ctx, const int *failed, zae_err_t *err)
{
    size_t             n;
    u_char            *msg;
    yajl_handle        h;
    yajl_status        st;
    zae_json_chunk_t   chunk;
    yajl_alloc_funcs   af;

    if (len > (SIZE_MAX / 2 - ZAE_JSON_SLACK) / 4) {
        return zae_err_set(err, "json body too large (%zu bytes)", len);
    }

    n = 4 * len + ZAE_JSON_SLACK;

    chunk.pos = zae_alloc(mem, n);
    if (chunk.pos == NULL) {
        return zae_err_set(err, "out of memory");
    }

    chunk.end = chunk.pos + n;
    chunk.last = NULL;

    af.malloc = zae_json_yajl_malloc;
    af.realloc = zae_json_yajl_realloc;
    af.free = zae_json_yajl_free;
    af.ctx = &chunk;

    h = yajl_alloc(callbacks, &af, ctx);
    if (h == NULL) {
        return zae_err_set(err, "out of memory");
    }

    st = yajl_parse(h, data, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    if (st != yajl_status_ok) {

        if (!*failed) {
            msg = yajl_get_error(h, 0, data, len);

            if (msg == NULL) {
                (void) zae_err_set(err, "invalid json");

            } else {
                n = strlen((char *) msg);

                while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
                    n--;
                }

                (void) zae_err_set(err, "invalid json: %.*s", (int) n,
                                   (char *) msg);
            }
        }

        yajl_free(h);

        return ZAE_ERROR;
    }

    yajl_free(h);

    return ZAE_OK;
}


int
zae_json_parse(zae_mem_t *mem, const u_char *data, size_t len,
    const zae_json_limits_t *limits, zae_av_t **root, zae_err_t *err)
{
    size_t           max_size;
    zae_json_ctx_t   ctx;

    *root = NULL;

    memset(&ctx, 0, sizeof(zae_json_ctx_t));

    ctx.mem = mem;
    ctx.err = err;
    ctx.max_depth = ZAE_JSON_MAX_DEPTH;
    ctx.max_nodes = ZAE_JSON_MAX_NODES;
    max_size = ZAE_JSON_MAX_SIZE;

    if (limits) {
        if (limits->max_depth && limits->max_depth < ctx.max_depth) {
            ctx.max_depth = limits->max_depth;
        }

        if (limits->max_nodes) {
            ctx.max_nodes = limits->max_nodes;
        }

        if (limits->max_size) {
            max_size = limits->max_size;
        }
    }

    if (len > max_size) {
        return zae_err_set(err, "json body too large (%zu bytes)", len);
    }

    if (len == 0) {
        return zae_err_set(err, "empty json body");
    }

    if (zae_json_run(mem, data, len, &zae_json_callbacks, &ctx, &ctx.failed,
                     err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (ctx.root == NULL || ctx.depth != 0) {
        return zae_err_set(err, "invalid json: incomplete");
    }

    *root = ctx.root;

    return ZAE_OK;
}


/* DynamoDB typed values from plain JSON, in place */

static int zae_av_from_ddb_depth(zae_av_t *v, size_t depth, zae_err_t *err);


static int
zae_item_from_ddb_depth(zae_av_t *m, size_t depth, zae_err_t *err)
{
    size_t  i;

    if (m == NULL || m->type != ZAE_AV_M) {
        return zae_err_set(err, "attribute map expected");
    }

    for (i = 0; i < m->nattrs; i++) {
        if (zae_av_from_ddb_depth(m->attrs[i].value, depth + 1, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


static int
zae_av_from_ddb_depth(zae_av_t *v, size_t depth, zae_err_t *err)
{
    size_t          i;
    zae_av_t       *in, *e;
    zae_str_t      *tag;
    zae_av_type_e   type;

    if (depth > 256) {
        return zae_err_set(err, "attribute value nested too deeply");
    }

    if (v == NULL || v->type != ZAE_AV_M || v->nattrs != 1) {
        return zae_err_set(err, "invalid attribute value");
    }

    tag = &v->attrs[0].name;
    in = v->attrs[0].value;

    for (type = ZAE_AV_S; type <= ZAE_AV_BS; type++) {
        if (tag->len == strlen(zae_av_tags[type])
            && memcmp(tag->data, zae_av_tags[type], tag->len) == 0)
        {
            break;
        }
    }

    if (type > ZAE_AV_BS) {
        return zae_err_set(err, "unknown attribute type \"%.*s\"",
                           (int) (tag->len > 32 ? 32 : tag->len),
                           (char *) tag->data);
    }

    switch (type) {

    case ZAE_AV_S:
    case ZAE_AV_N:
    case ZAE_AV_B:
        if (in->type != ZAE_AV_S) {
            return zae_err_set(err, "invalid \"%s\" attribute value",
                               zae_av_tags[type]);
        }

        if (type == ZAE_AV_N && in->s.len == 0) {
            return zae_err_set(err, "empty \"N\" attribute value");
        }

        v->s = in->s;
        break;

    case ZAE_AV_BOOL:
        if (in->type != ZAE_AV_BOOL) {
            return zae_err_set(err, "invalid \"BOOL\" attribute value");
        }

        v->b = in->b;
        break;

    case ZAE_AV_NULL:
        if (in->type != ZAE_AV_BOOL || !in->b) {
            return zae_err_set(err, "invalid \"NULL\" attribute value");
        }

        break;

    case ZAE_AV_M:
        if (zae_item_from_ddb_depth(in, depth, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        v->type = ZAE_AV_M;
        v->attrs = in->attrs;
        v->nattrs = in->nattrs;
        v->cattrs = in->cattrs;
        return ZAE_OK;

    default: /* L, SS, NS, BS */

        if (in->type != ZAE_AV_L) {
            return zae_err_set(err, "invalid \"%s\" attribute value",
                               zae_av_tags[type]);
        }

        for (i = 0; i < in->nitems; i++) {
            e = in->items[i];

            if (type == ZAE_AV_L) {
                if (zae_av_from_ddb_depth(e, depth + 1, err) != ZAE_OK) {
                    return ZAE_ERROR;
                }

                continue;
            }

            if (e->type != ZAE_AV_S) {
                return zae_err_set(err, "invalid \"%s\" set member",
                                   zae_av_tags[type]);
            }

            e->type = (type == ZAE_AV_SS) ? ZAE_AV_S
                      : (type == ZAE_AV_NS) ? ZAE_AV_N : ZAE_AV_B;
        }

        v->items = in->items;
        v->nitems = in->nitems;
        v->citems = in->citems;
        break;
    }

    v->type = type;
    v->attrs = NULL;
    v->nattrs = 0;
    v->cattrs = 0;

    return ZAE_OK;
}


int
zae_item_from_ddb(zae_av_t *json, zae_err_t *err)
{
    return zae_item_from_ddb_depth(json, 0, err);
}


int
zae_item_parse(zae_mem_t *mem, const u_char *data, size_t len,
    zae_av_t **item, zae_err_t *err)
{
    zae_av_t  *root;

    *item = NULL;

    if (zae_json_parse(mem, data, len, NULL, &root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_item_from_ddb(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    *item = root;

    return ZAE_OK;
}
