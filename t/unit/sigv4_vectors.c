
/*
 * Copyright (C) zae-limit authors
 *
 * sigv4_vectors DIR: runs every case folder of DIR in the layout of
 * the AWS SigV4 test suite (context.json, request.txt, header-*.txt)
 * through the signer and compares each header-* stage.  Prints TAP,
 * then "N passed, M failed" (cases) as the last line; exits non-zero
 * on any failure or when DIR holds no case.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>

#include <yajl/yajl_tree.h>

#include "zae_core.h"
#include "zae_creds.h"
#include "zae_sigv4.h"


#define SV_MAX_CASES    4096
#define SV_MAX_FILE     (4 * 1024 * 1024)
#define SV_MAX_HEADERS  ZAE_SIGV4_MAX_HEADERS


typedef struct {
    zae_str_t       line;            /* request line */
    zae_str_t       method;
    zae_str_t       path;
    zae_str_t       query;
    zae_header_t    headers[SV_MAX_HEADERS];
    size_t          nheaders;
    zae_str_t       body;
} sv_request_t;


typedef struct {
    char           *akid;
    char           *secret;
    char           *token;
    char           *region;
    char           *service;
    char           *timestamp;
    int             normalize;
    int             sign_body;
    int             omit_session_token;
} sv_context_t;


static int  sv_test;


static void
sv_ok(int pass, const char *name, const char *stage, const char *why)
{
    printf("%s %d - %s %s\n", pass ? "ok" : "not ok", ++sv_test, name,
           stage);

    if (!pass && why) {
        printf("#   %s\n", why);
    }
}


static int
sv_read(zae_mem_t *mem, const char *dir, const char *name, const char *file,
    zae_str_t *out)
{
    FILE         *f;
    char          path[4096];
    size_t        n, i;
    struct stat   st;

    if (snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file)
        >= (int) sizeof(path))
    {
        return -1;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }

    if (fstat(fileno(f), &st) != 0 || st.st_size > SV_MAX_FILE) {
        fclose(f);
        return -1;
    }

    out->data = zae_alloc(mem, st.st_size + 1);
    if (out->data == NULL) {
        fclose(f);
        return -1;
    }

    n = fread(out->data, 1, st.st_size, f);
    fclose(f);

    /* the suite strips CR */

    out->len = 0;

    for (i = 0; i < n; i++) {
        if (out->data[i] != '\r') {
            out->data[out->len++] = out->data[i];
        }
    }

    out->data[out->len] = '\0';

    return 0;
}


static char *
sv_json_str(yajl_val root, const char *a, const char *b)
{
    yajl_val     v;
    const char  *path[3];

    path[0] = a;
    path[1] = b;
    path[2] = NULL;

    v = yajl_tree_get(root, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}


static int
sv_json_bool(yajl_val root, const char *a)
{
    yajl_val     v;
    const char  *path[2];

    path[0] = a;
    path[1] = NULL;

    v = yajl_tree_get(root, path, yajl_t_any);

    return v != NULL && YAJL_IS_TRUE(v);
}


static char *
sv_dup(zae_mem_t *mem, const char *s)
{
    return s ? (char *) zae_strdup(mem, (u_char *) s, strlen(s)) : NULL;
}


static int
sv_context(zae_mem_t *mem, zae_str_t *text, sv_context_t *ctx, char *why,
    size_t size)
{
    char      errbuf[256];
    yajl_val  root;

    root = yajl_tree_parse((char *) text->data, errbuf, sizeof(errbuf));
    if (root == NULL) {
        snprintf(why, size, "context.json: %s", errbuf);
        return -1;
    }

    ctx->akid = sv_dup(mem, sv_json_str(root, "credentials",
                                        "access_key_id"));
    ctx->secret = sv_dup(mem, sv_json_str(root, "credentials",
                                          "secret_access_key"));
    ctx->token = sv_dup(mem, sv_json_str(root, "credentials", "token"));
    ctx->region = sv_dup(mem, sv_json_str(root, "region", NULL));
    ctx->service = sv_dup(mem, sv_json_str(root, "service", NULL));
    ctx->timestamp = sv_dup(mem, sv_json_str(root, "timestamp", NULL));
    ctx->normalize = sv_json_bool(root, "normalize");
    ctx->sign_body = sv_json_bool(root, "sign_body");
    ctx->omit_session_token = sv_json_bool(root, "omit_session_token");

    yajl_tree_free(root);

    if (ctx->akid == NULL || ctx->secret == NULL || ctx->region == NULL
        || ctx->service == NULL || ctx->timestamp == NULL)
    {
        snprintf(why, size, "context.json: a required field is missing");
        return -1;
    }

    return 0;
}


/*
 * "METHOD URI HTTP/1.1", "Name:value" lines, continuation lines start
 * with whitespace and extend the previous value, an empty line, body.
 */

static int
sv_request(zae_str_t *text, sv_request_t *r, char *why, size_t size)
{
    u_char  *p, *end, *eol, *colon, *sp;

    memset(r, 0, sizeof(sv_request_t));

    p = text->data;
    end = p + text->len;

    eol = memchr(p, '\n', end - p);
    if (eol == NULL) {
        eol = end;
    }

    r->line.data = p;
    r->line.len = eol - p;

    sp = memchr(p, ' ', eol - p);
    if (sp == NULL || eol - sp < 10
        || memcmp(eol - 9, " HTTP/", 6) != 0)
    {
        snprintf(why, size, "request.txt: bad request line");
        return -1;
    }

    r->method.data = p;
    r->method.len = sp - p;
    r->path.data = sp + 1;
    r->path.len = (eol - 9) - (sp + 1);

    sp = memchr(r->path.data, '?', r->path.len);
    if (sp) {
        r->query.data = sp + 1;
        r->query.len = r->path.data + r->path.len - (sp + 1);
        r->path.len = sp - r->path.data;
    }

    p = (eol < end) ? eol + 1 : end;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if (eol == p) {
            p++;
            break;
        }

        if (*p == ' ' || *p == '\t') {
            if (r->nheaders == 0) {
                snprintf(why, size, "request.txt: continuation first");
                return -1;
            }

            r->headers[r->nheaders - 1].value.len =
                eol - r->headers[r->nheaders - 1].value.data;

        } else {
            colon = memchr(p, ':', eol - p);
            if (colon == NULL || r->nheaders == SV_MAX_HEADERS) {
                snprintf(why, size, "request.txt: bad header line");
                return -1;
            }

            r->headers[r->nheaders].name.data = p;
            r->headers[r->nheaders].name.len = colon - p;
            r->headers[r->nheaders].value.data = colon + 1;
            r->headers[r->nheaders].value.len = eol - (colon + 1);
            r->nheaders++;
        }

        p = (eol < end) ? eol + 1 : end;
    }

    r->body.data = p;
    r->body.len = end - p;

    return 0;
}


static int
sv_str_eq(zae_str_t *a, zae_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


/* like the suite's own runner: same request line, same header set */

static int
sv_same_request(sv_request_t *got, sv_request_t *want, char *why,
    size_t size)
{
    size_t  i, j;
    char    used[SV_MAX_HEADERS];

    if (!sv_str_eq(&got->line, &want->line)) {
        snprintf(why, size, "request line differs");
        return 0;
    }

    if (got->nheaders != want->nheaders) {
        snprintf(why, size, "%zu headers, expected %zu", got->nheaders,
                 want->nheaders);
        return 0;
    }

    memset(used, 0, sizeof(used));

    for (i = 0; i < got->nheaders; i++) {
        for (j = 0; j < want->nheaders; j++) {
            if (!used[j]
                && got->headers[i].name.len == want->headers[j].name.len
                && strncasecmp((char *) got->headers[i].name.data,
                               (char *) want->headers[j].name.data,
                               got->headers[i].name.len) == 0
                && sv_str_eq(&got->headers[i].value, &want->headers[j].value))
            {
                used[j] = 1;
                break;
            }
        }

        if (j == want->nheaders) {
            snprintf(why, size, "header \"%.*s: %.*s\" not expected",
                     (int) got->headers[i].name.len,
                     (char *) got->headers[i].name.data,
                     (int) got->headers[i].value.len,
                     (char *) got->headers[i].value.data);
            return 0;
        }
    }

    if (!sv_str_eq(&got->body, &want->body)) {
        snprintf(why, size, "body differs");
        return 0;
    }

    return 1;
}


static int
sv_compare(const char *name, const char *stage, zae_str_t *got,
    zae_str_t *want)
{
    int   pass;
    char  why[512];

    pass = sv_str_eq(got, want);

    snprintf(why, sizeof(why), "got '%.*s'\n#   expected '%.*s'",
             (int) (got->len > 200 ? 200 : got->len), (char *) got->data,
             (int) (want->len > 200 ? 200 : want->len), (char *) want->data);

    sv_ok(pass, name, stage, why);

    return pass;
}


static int
sv_case(const char *dir, const char *name)
{
    int                  pass, i;
    char                 why[512];
    int64_t              ts;
    zae_buf_t            sreq;
    zae_err_t            err;
    zae_str_t            text, ctx_text, want, got;
    zae_mem_t            mem;
    zae_arena_t          arena;
    sv_context_t         c;
    sv_request_t         req, sgot, swant;
    zae_aws_creds_t      creds;
    zae_sigv4_ctx_t      ctx;
    zae_sigv4_cache_t    cache;
    zae_sigv4_result_t   res;
    zae_sigv4_request_t  sreq_in;
    static const char   *stages[] = {
        "canonical request", "string to sign", "signature", "signed request"
    };

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);
    zae_sigv4_cache_init(&cache);

    memset(&c, 0, sizeof(sv_context_t));
    why[0] = '\0';
    pass = 0;

    if (sv_read(&mem, dir, name, "context.json", &ctx_text) != 0
        || sv_read(&mem, dir, name, "request.txt", &text) != 0)
    {
        snprintf(why, sizeof(why), "cannot read context.json/request.txt");
        goto failed;
    }

    if (sv_context(&mem, &ctx_text, &c, why, sizeof(why)) != 0
        || sv_request(&text, &req, why, sizeof(why)) != 0)
    {
        goto failed;
    }

    if (zae_creds_parse_time((u_char *) c.timestamp, strlen(c.timestamp),
                             &ts)
        != ZAE_OK)
    {
        snprintf(why, sizeof(why), "bad timestamp \"%s\"", c.timestamp);
        goto failed;
    }

    memset(&creds, 0, sizeof(zae_aws_creds_t));
    creds.access_key.data = (u_char *) c.akid;
    creds.access_key.len = strlen(c.akid);
    creds.secret_key.data = (u_char *) c.secret;
    creds.secret_key.len = strlen(c.secret);

    if (c.token) {
        creds.session_token.data = (u_char *) c.token;
        creds.session_token.len = strlen(c.token);
    }

    memset(&ctx, 0, sizeof(zae_sigv4_ctx_t));
    ctx.creds = &creds;
    ctx.region.data = (u_char *) c.region;
    ctx.region.len = strlen(c.region);
    ctx.service.data = (u_char *) c.service;
    ctx.service.len = strlen(c.service);
    ctx.timestamp = ts;
    ctx.cache = &cache;
    ctx.omit_session_token = c.omit_session_token;
    ctx.sign_body = c.sign_body;

    memset(&sreq_in, 0, sizeof(zae_sigv4_request_t));
    sreq_in.method = req.method;
    sreq_in.path = req.path;
    sreq_in.query = req.query;
    sreq_in.headers = req.headers;
    sreq_in.nheaders = req.nheaders;
    sreq_in.payload = req.body;
    sreq_in.normalize = c.normalize;

    if (zae_sigv4_sign(&mem, &ctx, &sreq_in, &res, &err) != ZAE_OK) {
        snprintf(why, sizeof(why), "sign: %s", err.msg);
        goto failed;
    }

    pass = 1;
    want.data = NULL;

    if (sv_read(&mem, dir, name, "header-canonical-request.txt", &want) != 0
        || !sv_compare(name, stages[0], &res.canonical_request, &want))
    {
        if (want.data == NULL) {
            sv_ok(0, name, stages[0], "no header-canonical-request.txt");
        }

        pass = 0;
    }

    want.data = NULL;

    if (sv_read(&mem, dir, name, "header-string-to-sign.txt", &want) != 0
        || !sv_compare(name, stages[1], &res.string_to_sign, &want))
    {
        if (want.data == NULL) {
            sv_ok(0, name, stages[1], "no header-string-to-sign.txt");
        }

        pass = 0;
    }

    want.data = NULL;
    got.data = res.signature;
    got.len = strlen((char *) res.signature);

    if (sv_read(&mem, dir, name, "header-signature.txt", &want) != 0
        || !sv_compare(name, stages[2], &got, &want))
    {
        if (want.data == NULL) {
            sv_ok(0, name, stages[2], "no header-signature.txt");
        }

        pass = 0;
    }

    /* the signed request: the input plus the added headers */

    zae_buf_init(&sreq, &mem, text.len + 1024);
    (void) zae_buf_add(&sreq, req.line.data, req.line.len);
    (void) zae_buf_add(&sreq, "\n", 1);
    for (i = 0; i < (int) req.nheaders; i++) {
        (void) zae_buf_add(&sreq, req.headers[i].name.data,
                           req.headers[i].name.len);
        (void) zae_buf_add(&sreq, ":", 1);
        (void) zae_buf_add(&sreq, req.headers[i].value.data,
                           req.headers[i].value.len);
        (void) zae_buf_add(&sreq, "\n", 1);
    }

    for (i = 0; i < (int) res.nadded; i++) {
        (void) zae_buf_add(&sreq, res.added[i].name.data,
                           res.added[i].name.len);
        (void) zae_buf_add(&sreq, ":", 1);
        (void) zae_buf_add(&sreq, res.added[i].value.data,
                           res.added[i].value.len);
        (void) zae_buf_add(&sreq, "\n", 1);
    }

    (void) zae_buf_add_str(&sreq, "Authorization:");
    (void) zae_buf_add(&sreq, res.authorization.data, res.authorization.len);
    (void) zae_buf_add(&sreq, "\n\n", 2);
    (void) zae_buf_add(&sreq, req.body.data, req.body.len);

    want.data = NULL;
    got.data = sreq.data;
    got.len = sreq.len;

    if (sreq.failed) {
        sv_ok(0, name, stages[3], "out of memory");
        pass = 0;

    } else if (sv_read(&mem, dir, name, "header-signed-request.txt", &want)
               != 0)
    {
        sv_ok(0, name, stages[3], "no header-signed-request.txt");
        pass = 0;

    } else if (sv_request(&got, &sgot, why, sizeof(why)) != 0
               || sv_request(&want, &swant, why, sizeof(why)) != 0
               || !sv_same_request(&sgot, &swant, why, sizeof(why)))
    {
        sv_ok(0, name, stages[3], why);
        pass = 0;

    } else {
        sv_ok(1, name, stages[3], NULL);
    }

    zae_sigv4_cache_wipe(&cache);
    zae_arena_free(&arena);

    return pass;

failed:

    for (i = 0; i < 4; i++) {
        sv_ok(0, name, stages[i], why);
    }

    zae_sigv4_cache_wipe(&cache);
    zae_arena_free(&arena);

    return 0;
}


static int
sv_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


int
main(int argc, char **argv)
{
    DIR            *d;
    char            path[4096];
    char          **names;
    size_t          n, i, passed, failed;
    struct stat     st;
    struct dirent  *de;

    if (argc != 2) {
        fprintf(stderr, "usage: sigv4_vectors DIR\n");
        return 2;
    }

    d = opendir(argv[1]);
    if (d == NULL) {
        fprintf(stderr, "sigv4_vectors: cannot open directory \"%s\"\n",
                argv[1]);
        return 2;
    }

    names = calloc(SV_MAX_CASES, sizeof(char *));
    if (names == NULL) {
        closedir(d);
        fprintf(stderr, "sigv4_vectors: out of memory\n");
        return 2;
    }

    n = 0;

    while ((de = readdir(d)) != NULL && n < SV_MAX_CASES) {
        if (de->d_name[0] == '.') {
            continue;
        }

        if (snprintf(path, sizeof(path), "%s/%s/request.txt", argv[1],
                     de->d_name)
            >= (int) sizeof(path))
        {
            continue;
        }

        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }

        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            break;
        }

        n++;
    }

    closedir(d);

    if (n == 0) {
        fprintf(stderr, "sigv4_vectors: no test case (a folder with "
                "request.txt) in \"%s\"\n", argv[1]);
        free(names);
        return 2;
    }

    qsort(names, n, sizeof(char *), sv_name_cmp);

    printf("1..%zu\n", n * 4);

    passed = 0;
    failed = 0;

    for (i = 0; i < n; i++) {
        if (sv_case(argv[1], names[i])) {
            passed++;

        } else {
            failed++;
        }

        free(names[i]);
    }

    free(names);

    printf("%zu passed, %zu failed\n", passed, failed);

    return failed ? 1 : 0;
}
