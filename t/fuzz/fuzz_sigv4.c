
/*
 * Copyright (C) zae-limit authors
 *
 * Fuzzes the SigV4 canonicalisers and the signer, plus the credential
 * parsers.  The input is split into parts at each "\n--\n": the first
 * byte of the input picks the mode and the memory limit.
 *
 *   mode 0: path, query, header block ("name:value" lines), payload;
 *           each canonicaliser alone, then the whole signature
 *   mode 1: an ECS/IMDS credentials JSON document
 *   mode 2: credentials and config INI texts, profile name
 *   mode 3: ISO-8601 times, container credentials urls
 *   mode 4-7: an STS AssumeRoleWithWebIdentity answer (XML), read as a
 *           200 when flags is even, else as an error answer
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zae_core.h"
#include "zae_creds.h"
#include "zae_sigv4.h"


#define F_PARTS    6
#define F_HEADERS  (ZAE_SIGV4_MAX_HEADERS + 2)


typedef struct {
    const char  *full_uri;
} f_env_t;


static const char *
f_getenv(void *ctx, const char *name)
{
    f_env_t  *env = ctx;

    if (strcmp(name, "AWS_CONTAINER_CREDENTIALS_FULL_URI") == 0) {
        return env->full_uri;
    }

    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0
        || strcmp(name, "AWS_CONFIG_FILE") == 0)
    {
        return "/nonexistent/zae-fuzz";
    }

    return NULL;
}


static size_t
f_split(const uint8_t *data, size_t size, zae_str_t *parts, size_t max)
{
    size_t  n, i, start;

    n = 0;
    start = 0;

    for (i = 0; i + 4 <= size && n + 1 < max; i++) {
        if (memcmp(data + i, "\n--\n", 4) == 0) {
            parts[n].data = (u_char *) data + start;
            parts[n].len = i - start;
            n++;
            i += 3;
            start = i + 1;
        }
    }

    parts[n].data = (u_char *) data + start;
    parts[n].len = size - start;

    for (i = n + 1; i < max; i++) {
        parts[i].data = (u_char *) "";
        parts[i].len = 0;
    }

    return n + 1;
}


static void
f_check(zae_str_t *s)
{
    volatile u_char  sum;
    size_t           i;

    /* touch every byte so that ASan sees the whole result */

    sum = 0;

    for (i = 0; i < s->len; i++) {
        sum ^= s->data[i];
    }

    (void) sum;
}


static void
f_sign(zae_mem_t *mem, zae_str_t *parts, uint8_t flags)
{
    int                  rc;
    u_char              *p, *end, *eol, *colon;
    size_t               n;
    zae_err_t            err;
    zae_str_t            out, out2;
    zae_header_t         h[F_HEADERS];
    zae_aws_creds_t      creds;
    zae_sigv4_ctx_t      ctx;
    zae_sigv4_cache_t    cache;
    zae_sigv4_result_t   res;
    zae_sigv4_request_t  req;

    if (zae_sigv4_canonical_path(mem, &parts[0], flags & 1, &out, &err)
        == ZAE_OK)
    {
        f_check(&out);

        if (out.len == 0 || out.data[0] != '/') {
            abort();
        }
    }

    if (zae_sigv4_canonical_query(mem, &parts[1], &out, &err) == ZAE_OK) {
        f_check(&out);

        /* canonical form is stable (unless memory runs out) */

        if (zae_sigv4_canonical_query(mem, &out, &out2, &err) == ZAE_OK
            && (out2.len != out.len
                || (out.len && memcmp(out.data, out2.data, out.len) != 0)))
        {
            abort();
        }
    }

    n = 0;
    p = parts[2].data;
    end = p + parts[2].len;

    while (p < end && n < F_HEADERS) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        colon = memchr(p, ':', eol - p);

        h[n].name.data = p;
        h[n].name.len = colon ? (size_t) (colon - p) : (size_t) (eol - p);
        h[n].value.data = colon ? colon + 1 : eol;
        h[n].value.len = colon ? (size_t) (eol - colon - 1) : 0;
        n++;

        p = eol + 1;
    }

    rc = zae_sigv4_canonical_headers(mem, h, n, &out, &out2, &err);

    if (rc == ZAE_OK) {
        f_check(&out);
        f_check(&out2);

        if (memchr(out2.data, '\n', out2.len) != NULL) {
            abort();
        }
    }

    memset(&creds, 0, sizeof(creds));
    zae_str_set(&creds.access_key, "AKIDFUZZ");
    zae_str_set(&creds.secret_key, "fuzz/secret");

    if (flags & 2) {
        creds.session_token = parts[4];
    }

    zae_sigv4_cache_init(&cache);

    memset(&ctx, 0, sizeof(ctx));
    ctx.creds = &creds;
    zae_str_set(&ctx.region, "us-east-1");
    zae_str_set(&ctx.service, "dynamodb");
    ctx.timestamp = 1440938160 + (flags >> 4) * 86399;
    ctx.cache = (flags & 4) ? &cache : NULL;
    ctx.omit_session_token = (flags >> 3) & 1;
    ctx.sign_body = (flags >> 2) & 1;

    memset(&req, 0, sizeof(req));
    zae_str_set(&req.method, "POST");
    req.path = parts[0];
    req.query = parts[1];
    req.headers = h;
    req.nheaders = n;
    req.payload = parts[3];
    req.normalize = flags & 1;

    if (zae_sigv4_sign(mem, &ctx, &req, &res, &err) == ZAE_OK) {
        f_check(&res.canonical_request);
        f_check(&res.string_to_sign);
        f_check(&res.authorization);

        if (strlen((char *) res.signature) != ZAE_SIGV4_HEX_LEN
            || memchr(res.authorization.data, '\n', res.authorization.len))
        {
            abort();
        }

    } else if (strstr(err.msg, "fuzz/secret") != NULL) {
        abort();
    }

    zae_sigv4_cache_wipe(&cache);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                         *s;
    f_env_t                       env;
    int64_t                       t;
    uint8_t                       mode, flags;
    zae_err_t                     err;
    zae_str_t                     parts[F_PARTS], v;
    zae_mem_t                     mem;
    zae_arena_t                   arena;
    zae_creds_http_t              req;
    static zae_creds_provider_t   p;

    if (size < 2) {
        return 0;
    }

    mode = data[0];
    flags = data[1];

    (void) f_split(data + 2, size - 2, parts, F_PARTS);

    /* a memory limit in some runs to reach the out-of-memory paths */

    zae_arena_init(&arena, (mode & 0x80) ? (size_t) flags * 64 : 0);
    mem = zae_arena_mem(&arena);

    switch (mode & 7) {

    case 0:
        f_sign(&mem, parts, flags);
        break;

    case 1:
        memset(&p, 0, sizeof(p));

        if (zae_creds_parse_json(&p, parts[0].data, parts[0].len, 1000, &err)
            == ZAE_OK)
        {
            if (p.creds.access_key.len == 0 || p.creds.secret_key.len == 0)
            {
                abort();
            }
        }

        break;

    case 2:
        memset(&p, 0, sizeof(p));

        s = zae_alloc(&mem, parts[2].len + 1);
        if (s == NULL) {
            break;
        }

        memcpy(s, parts[2].data, parts[2].len);
        s[parts[2].len] = '\0';

        (void) zae_creds_from_ini(&p, s, parts[0].data, parts[0].len,
                                  parts[1].data, parts[1].len, &err);

        if (zae_creds_ini_get(parts[0].data, parts[0].len, flags & 1, s,
                              "region", &v)
            == ZAE_OK)
        {
            f_check(&v);
        }

        break;

    case 3:
        (void) zae_creds_parse_time(parts[0].data, parts[0].len, &t);

        s = zae_alloc(&mem, parts[1].len + 1);
        if (s == NULL) {
            break;
        }

        memcpy(s, parts[1].data, parts[1].len);
        s[parts[1].len] = '\0';

        env.full_uri = s;

        if (zae_creds_provider_init(&p, f_getenv, &env, NULL, &err)
            == ZAE_AGAIN)
        {
            if (zae_creds_next_request(&p, 0, &req, &err) == ZAE_AGAIN) {
                f_check(&req.url);
                f_check(&req.path);
            }

            (void) zae_creds_response(&p, 200, parts[2].data, parts[2].len,
                                      0, &err);
        }

        zae_creds_provider_wipe(&p);
        break;

    default:
        memset(&p, 0, sizeof(p));

        if (zae_creds_parse_sts(&p, (flags & 1) ? 403 : 200, parts[0].data,
                                parts[0].len, 1000, &err)
            == ZAE_OK)
        {
            if ((flags & 1) || p.creds.access_key.len == 0
                || p.creds.secret_key.len == 0
                || p.creds.session_token.len == 0
                || p.creds.expiration == 0)
            {
                abort();
            }
        }

        if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
            abort();
        }

        break;
    }

    zae_arena_free(&arena);

    return 0;
}
