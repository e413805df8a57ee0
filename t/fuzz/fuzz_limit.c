
/*
 * Copyright (C) zae-limit authors
 *
 * Fuzz target of the limit parsers, the validators, the token amount
 * parser and the response bodies.  Invariants checked:
 *   - an accepted limit has valid, bounded values and survives a round
 *     trip through its CLI form "name:rate/Nsec:burst";
 *   - an accepted identifier only holds the characters its rule allows;
 *   - every body is valid JSON whatever bytes went in.
 */


#include <stdio.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "zae_core.h"
#include "zae_limit.h"
#include "zae_body.h"
#include "zae_bucket.h"


static void fuzz_check_json(zae_buf_t *b);
static void fuzz_check_chars(const u_char *s, size_t len, const char *first,
    const char *rest);
static void fuzz_limits(const u_char *data, size_t len, zae_mem_t *mem);
static void fuzz_bodies(const u_char *data, size_t len, zae_mem_t *mem);


static void
fuzz_check_json(zae_buf_t *b)
{
    char      errbuf[128], *text;
    yajl_val  v;

    if (b->failed || b->data == NULL) {
        abort();
    }

    text = malloc(b->len + 1);
    if (text == NULL) {
        return;
    }

    memcpy(text, b->data, b->len);
    text[b->len] = '\0';

    if (strlen(text) != b->len) {
        abort();
    }

    v = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        abort();
    }

    yajl_tree_free(v);
    free(text);
}


static void
fuzz_check_chars(const u_char *s, size_t len, const char *first,
    const char *rest)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || strchr(i ? rest : first, s[i]) == NULL) {
            abort();
        }
    }
}


#define FUZZ_ALPHA  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define FUZZ_ALNUM  FUZZ_ALPHA "0123456789"


static void
fuzz_limits(const u_char *data, size_t len, zae_mem_t *mem)
{
    char          cli[256];
    size_t        i;
    int64_t       v;
    zae_buf_t     b;
    zae_err_t     err;
    zae_limit_t   l, l2;
    zae_limits_t  ls;

    err.msg[0] = '\0';

    if (zae_limit_parse(&l, data, len, &err) == ZAE_OK) {
        if (zae_validate_limit(&l, &err) != ZAE_OK) {
            abort();
        }

        (void) snprintf(cli, sizeof(cli), "%.*s:%lld/%lldsec:%lld",
                        (int) l.name.len, l.name.data,
                        (long long) l.refill_amount, (long long) l.period,
                        (long long) l.capacity);

        if (zae_limit_parse(&l2, (u_char *) cli, strlen(cli), &err)
            != ZAE_OK
            || l2.capacity != l.capacity
            || l2.refill_amount != l.refill_amount
            || l2.period != l.period)
        {
            abort();
        }

        zae_buf_init(&b, mem, 0);
        if (zae_limit_format(&b, &l) != ZAE_OK) {
            abort();
        }
    }

    if (strnlen(err.msg, ZAE_ERR_LEN) == ZAE_ERR_LEN) {
        abort();
    }

    if (zae_limits_parse(&ls, data, len, &err) == ZAE_OK) {
        if (ls.nelts == 0 || ls.nelts > ZAE_LIMITS_MAX) {
            abort();
        }

        for (i = 0; i < ls.nelts; i++) {
            if (zae_validate_limit(&ls.elts[i], &err) != ZAE_OK
                || zae_limits_find(&ls, ls.elts[i].name.data,
                                   ls.elts[i].name.len) != &ls.elts[i])
            {
                abort();
            }
        }

        (void) zae_bucket_ttl_seconds(&ls, 7);
    }

    if (zae_validate_entity_id(data, len, &err) == ZAE_OK) {
        if (len == 0 || len > ZAE_ENTITY_ID_MAX_LEN) {
            abort();
        }

        fuzz_check_chars(data, len, FUZZ_ALNUM, FUZZ_ALNUM "_.-:@");
    }

    if (zae_validate_resource(data, len, &err) == ZAE_OK) {
        if (len == 0 || len > ZAE_NAME_MAX_LEN) {
            abort();
        }

        if (!(len == 9 && memcmp(data, "_default_", 9) == 0)) {
            fuzz_check_chars(data, len, FUZZ_ALPHA, FUZZ_ALNUM "_.-/");
        }
    }

    if (zae_validate_limit_name(data, len, &err) == ZAE_OK) {
        if (len == 0 || len > ZAE_NAME_MAX_LEN
            || (len == 3 && memcmp(data, "wcu", 3) == 0))
        {
            abort();
        }

        fuzz_check_chars(data, len, FUZZ_ALPHA, FUZZ_ALNUM "_.-");
    }

    if (zae_validate_table_name(data, len, &err) == ZAE_OK) {
        if (len == 0 || len > ZAE_TABLE_NAME_MAX_LEN) {
            abort();
        }

        fuzz_check_chars(data, len, FUZZ_ALPHA, FUZZ_ALNUM "-");
    }

    if (zae_validate_namespace(data, len, &err) == ZAE_OK) {
        if (len == 0 || len > ZAE_NAMESPACE_MAX_LEN
            || memchr(data, '/', len) || memchr(data, '#', len)
            || memchr(data, '\0', len) || (len == 1 && data[0] == '_'))
        {
            abort();
        }
    }

    if (zae_parse_tokens(data, len, &v, &err) == ZAE_OK) {
        if (v < 0 || v > ZAE_TOKENS_MAX) {
            abort();
        }

        fuzz_check_chars(data, len, "0123456789", "0123456789");
    }
}


static void
fuzz_bodies(const u_char *data, size_t len, zae_mem_t *mem)
{
    double              d;
    size_t              i, third;
    int64_t             n, header;
    zae_buf_t           b;
    zae_str_t           s1, s2, s3;
    zae_limit_status_t  st[3];

    zae_buf_init(&b, mem, 0);
    if (zae_body_invalid(&b, "entity_id", data, len, "reason") != ZAE_OK) {
        abort();
    }

    fuzz_check_json(&b);

    third = len / 3;

    s1.data = (u_char *) data;
    s1.len = third;
    s2.data = (u_char *) data + third;
    s2.len = third;
    s3.data = (u_char *) data + 2 * third;
    s3.len = len - 2 * third;

    zae_buf_init(&b, mem, 0);
    if (zae_body_provider_unavailable(&b, ZAE_BODY_ZAE, &s1, &s2, &s3, NULL)
        != ZAE_OK)
    {
        abort();
    }

    fuzz_check_json(&b);

    n = 0;

    if (len >= 8) {
        memcpy(&n, data, 8);
    }

    memset(st, 0, sizeof(st));

    for (i = 0; i < 3; i++) {
        st[i].entity_id = s1;
        st[i].resource = s2;
        st[i].limit_name = s3;
        st[i].capacity = n;
        st[i].refill_amount = ~n;
        st[i].refill_period_seconds = (int64_t) i;
        st[i].available = n >> i;
        st[i].requested = n ^ (int64_t) i;
        st[i].retry_after_ms = n < 0 ? ~n : n;
        st[i].exceeded = (len + i) % 2;
    }

    st[1].exceeded = 1;

    zae_buf_init(&b, mem, 0);
    if (zae_body_rate_limited(&b, st, 3, &header) != ZAE_OK) {
        abort();
    }

    fuzz_check_json(&b);

    /* any 8 bytes as a double: repr must read back as the same value */

    if (len >= 8) {
        memcpy(&d, data, 8);

        zae_buf_init(&b, mem, 0);
        if (zae_py_float_repr(&b, d) != ZAE_OK) {
            abort();
        }

        if (d == d && strtod((char *) b.data, NULL) != d) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zae_mem_t    mem;
    zae_arena_t  arena;

    if (size > 4096) {
        return 0;
    }

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    fuzz_limits(data, size, &mem);
    fuzz_bodies(data, size, &mem);

    zae_arena_free(&arena);

    return 0;
}
