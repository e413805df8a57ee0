
/*
 * Copyright (C) zae-limit authors
 *
 * zae core: the nginx-free library shared by the nginx module and
 * zae-admin.  This header holds the base types every core unit uses:
 * counted strings, a pool-style allocator, a growable output buffer
 * and an error message buffer.
 */


#ifndef _ZAE_CORE_H_INCLUDED_
#define _ZAE_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define ZAE_OK           0
#define ZAE_ERROR       -1
#define ZAE_AGAIN       -2
#define ZAE_DECLINED    -5


/* a counted string, not NUL-terminated unless said so */

typedef struct {
    size_t             len;
    u_char            *data;
} zae_str_t;


#define zae_string(s)      { sizeof(s) - 1, (u_char *) s }
#define zae_null_string    { 0, NULL }
#define zae_str_set(str, text)                                               \
    (str)->len = sizeof(text) - 1; (str)->data = (u_char *) text

/* copies n bytes to dst, evaluates to the byte after them */
#define zae_cpymem(dst, src, n)   (((u_char *) memcpy(dst, src, n)) + (n))
/* the same for a string literal, without its NUL */
#define zae_cpylit(dst, lit)      zae_cpymem(dst, lit, sizeof(lit) - 1)


/*
 * A pool-style allocator: everything allocated through it is released
 * together by its owner (an nginx pool in the module, an arena in
 * zae-admin and the unit tests).  alloc() returns NULL on failure.
 */

typedef struct {
    void            *(*alloc)(void *ctx, size_t size);
    void              *ctx;
} zae_mem_t;


/* an arena for callers without a pool: zae-admin, unit tests, fuzzers */

typedef struct zae_arena_block_s  zae_arena_block_t;

typedef struct {
    zae_arena_block_t  *blocks;
    size_t              total;
    size_t              limit;        /* 0: no limit */
} zae_arena_t;


void zae_arena_init(zae_arena_t *a, size_t limit);
void *zae_arena_alloc(void *arena, size_t size);
void zae_arena_free(zae_arena_t *a);
zae_mem_t zae_arena_mem(zae_arena_t *a);

void *zae_alloc(zae_mem_t *mem, size_t size);
void *zae_calloc(zae_mem_t *mem, size_t size);
u_char *zae_strdup(zae_mem_t *mem, const u_char *s, size_t len);


/* a growable output buffer on a zae_mem_t */

typedef struct {
    u_char            *data;
    size_t             len;
    size_t             cap;
    zae_mem_t         *mem;
    unsigned           failed:1;      /* an allocation failed: data is short */
} zae_buf_t;


void zae_buf_init(zae_buf_t *b, zae_mem_t *mem, size_t cap);
int zae_buf_reserve(zae_buf_t *b, size_t n);
int zae_buf_add_grow(zae_buf_t *b, const void *data, size_t len);
int zae_buf_printf(zae_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int zae_buf_add_int64(zae_buf_t *b, int64_t v);


/* inline: the common case, room for the bytes and the NUL, in place */

static inline int
zae_buf_add(zae_buf_t *b, const void *data, size_t len)
{
    if (len < b->cap - b->len && !b->failed) {
        if (len) {
            memcpy(b->data + b->len, data, len);
            b->len += len;
        }

        b->data[b->len] = '\0';

        return ZAE_OK;
    }

    return zae_buf_add_grow(b, data, len);
}


/* inline: the length of a literal is known at compile time */

static inline int
zae_buf_add_str(zae_buf_t *b, const char *s)
{
    return zae_buf_add(b, s, strlen(s));
}


/*
 * Writes v in decimal ("-12", "0") at p, at most ZAE_INT64_LEN bytes, no
 * NUL; returns the byte after the last digit
 */

#define ZAE_INT64_LEN  (sizeof("-9223372036854775808") - 1)

u_char *zae_print_int64(u_char *p, int64_t v);


/* error messages: lowercase, no trailing period, values quoted */

#define ZAE_ERR_LEN  256

typedef struct {
    char               msg[ZAE_ERR_LEN];
} zae_err_t;


int zae_err_set(zae_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


#endif /* _ZAE_CORE_H_INCLUDED_ */
