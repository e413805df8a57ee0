
/*
 * Copyright (C) zae-limit authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>

#include "zae_core.h"


typedef union {
    long long           ll;
    long double         ld;
    void               *p;
    void              (*f)(void);
} zae_align_t;


struct zae_arena_block_s {
    zae_arena_block_t  *next;
    size_t              size;
    zae_align_t         data[];
};


void
zae_arena_init(zae_arena_t *a, size_t limit)
{
    a->blocks = NULL;
    a->total = 0;
    a->limit = limit;
}


void *
zae_arena_alloc(void *arena, size_t size)
{
    zae_arena_t        *a = arena;
    zae_arena_block_t  *b;

    if (size > SIZE_MAX / 2) {
        return NULL;
    }

    if (a->limit && a->total + size > a->limit) {
        return NULL;
    }

    b = malloc(sizeof(zae_arena_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->size = size;
    b->next = a->blocks;
    a->blocks = b;
    a->total += size;

    return b->data;
}


void
zae_arena_free(zae_arena_t *a)
{
    zae_arena_block_t  *b, *next;

    for (b = a->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    a->blocks = NULL;
    a->total = 0;
}


zae_mem_t
zae_arena_mem(zae_arena_t *a)
{
    zae_mem_t  mem;

    mem.alloc = zae_arena_alloc;
    mem.ctx = a;

    return mem;
}


void *
zae_alloc(zae_mem_t *mem, size_t size)
{
    return mem->alloc(mem->ctx, size ? size : 1);
}


void *
zae_calloc(zae_mem_t *mem, size_t size)
{
    void  *p;

    p = zae_alloc(mem, size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


u_char *
zae_strdup(zae_mem_t *mem, const u_char *s, size_t len)
{
    u_char  *p;

    p = zae_alloc(mem, len + 1);
    if (p == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(p, s, len);
    }

    p[len] = '\0';

    return p;
}


void
zae_buf_init(zae_buf_t *b, zae_mem_t *mem, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->mem = mem;
    b->failed = 0;

    if (cap) {
        (void) zae_buf_reserve(b, cap);
    }
}


int
zae_buf_reserve(zae_buf_t *b, size_t n)
{
    size_t   cap;
    u_char  *p;

    if (b->failed) {
        return ZAE_ERROR;
    }

    if (n > SIZE_MAX / 4 - b->len) {
        b->failed = 1;
        return ZAE_ERROR;
    }

    if (b->len + n <= b->cap) {
        return ZAE_OK;
    }

    cap = b->cap ? b->cap : 256;

    while (cap < b->len + n) {
        cap *= 2;
    }

    p = zae_alloc(b->mem, cap);
    if (p == NULL) {
        b->failed = 1;
        return ZAE_ERROR;
    }

    if (b->len) {
        memcpy(p, b->data, b->len);
    }

    b->data = p;
    b->cap = cap;

    return ZAE_OK;
}


/* zae_buf_add() without room for the bytes and the NUL */

int
zae_buf_add_grow(zae_buf_t *b, const void *data, size_t len)
{
    if (zae_buf_reserve(b, len + 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (len) {
        memcpy(b->data + b->len, data, len);
    }

    b->len += len;
    b->data[b->len] = '\0';

    return ZAE_OK;
}


int
zae_buf_printf(zae_buf_t *b, const char *fmt, ...)
{
    int      n;
    size_t   room;
    va_list  args;

    if (b->failed) {
        return ZAE_ERROR;
    }

    /* one pass when the text fits, a second one after growing if not */

    room = b->cap - b->len;

    va_start(args, fmt);
    n = vsnprintf(room ? (char *) b->data + b->len : NULL, room, fmt, args);
    va_end(args);

    if (n < 0) {
        b->failed = 1;
        return ZAE_ERROR;
    }

    if ((size_t) n >= room) {
        if (zae_buf_reserve(b, (size_t) n + 1) != ZAE_OK) {
            return ZAE_ERROR;
        }

        va_start(args, fmt);
        (void) vsnprintf((char *) b->data + b->len, (size_t) n + 1, fmt,
                         args);
        va_end(args);
    }

    b->len += n;

    return ZAE_OK;
}


int
zae_buf_add_int64(zae_buf_t *b, int64_t v)
{
    u_char  *p;

    if (zae_buf_reserve(b, ZAE_INT64_LEN + 1) != ZAE_OK) {
        return ZAE_ERROR;
    }

    p = zae_print_int64(b->data + b->len, v);
    *p = '\0';

    b->len = (size_t) (p - b->data);

    return ZAE_OK;
}


u_char *
zae_print_int64(u_char *p, int64_t v)
{
    u_char    *end;
    uint64_t   u, t;

    if (v < 0) {
        *p++ = '-';
        u = (uint64_t) 0 - (uint64_t) v;

    } else {
        u = (uint64_t) v;
    }

    end = p + 1;

    for (t = u; t >= 10; t /= 10) {
        end++;
    }

    p = end;

    do {
        *--p = (u_char) ('0' + u % 10);
        u /= 10;
    } while (u);

    return end;
}


int
zae_err_set(zae_err_t *err, const char *fmt, ...)
{
    va_list  args;

    if (err) {
        va_start(args, fmt);
        (void) vsnprintf(err->msg, ZAE_ERR_LEN, fmt, args);
        va_end(args);
    }

    return ZAE_ERROR;
}
