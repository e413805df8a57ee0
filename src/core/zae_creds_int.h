
/*
 * Copyright (C) zae-limit authors
 *
 * Private to the credential chain's files: zae_creds.c (the chain),
 * zae_creds_files.c (the shared files), zae_creds_parse.c (times, urls,
 * the JSON document) and zae_creds_sts.c (web identity, STS).
 */


#ifndef _ZAE_CREDS_INT_H_INCLUDED_
#define _ZAE_CREDS_INT_H_INCLUDED_


#include "zae_creds.h"


/* what a profile or a JSON document yields, in fixed buffers */

typedef struct {
    u_char                  akid[ZAE_CREDS_AKID_MAX];
    u_char                  secret[ZAE_CREDS_SECRET_MAX];
    u_char                  token[ZAE_CREDS_TOKEN_MAX];
    u_char                  region[64];
    size_t                  akid_len;
    size_t                  secret_len;
    size_t                  token_len;
    size_t                  region_len;
    unsigned                has_akid:1;
    unsigned                has_secret:1;
    unsigned                has_token:1;
    unsigned                has_region:1;
    unsigned                too_long:1;
} zae_creds_found_t;


/* zae_creds.c */

int zae_creds_is_space(u_char c);
void zae_creds_trim(zae_str_t *s);
/* printable ASCII without CR/LF: safe to send as an HTTP header value */
int zae_creds_header_safe(const u_char *p, size_t len);
/* the value of an environment variable, NULL when unset or empty */
const char *zae_creds_env(zae_getenv_pt getenv_fn, void *env_ctx,
    const char *name);
/* copies the credentials into p's buffers, schedules the refresh */
int zae_creds_store(zae_creds_provider_t *p, const u_char *akid,
    size_t akid_len, const u_char *secret, size_t secret_len,
    const u_char *token, size_t token_len, int64_t expiration, int64_t now,
    zae_err_t *err);
/* zae_creds_store() for credentials never refreshed, with their source */
int zae_creds_store_static(zae_creds_provider_t *p, const u_char *akid,
    size_t akid_len, const u_char *secret, size_t secret_len,
    const u_char *token, size_t token_len, int64_t expiration,
    zae_creds_source_e source, zae_err_t *err);
/* req for method to p's host, port and path followed by suffix */
int zae_creds_request(zae_creds_provider_t *p, zae_creds_http_t *req,
    const char *method, const char *suffix, zae_err_t *err);

/* zae_creds_files.c */

void zae_creds_found_copy(zae_creds_found_t *f, u_char *buf, size_t size,
    size_t *len, zae_str_t *value);
const char *zae_creds_profile(zae_getenv_pt getenv_fn, void *env_ctx,
    const char *profile);
int zae_creds_from_files(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err);

/* zae_creds_parse.c */

/* ecs: plain http only to the hosts the SDKs allow */
int zae_creds_parse_url(zae_creds_provider_t *p, const char *url,
    size_t len, int ecs, zae_err_t *err);
/* a whole small file into buf: ZAE_ERROR when absent or larger */
int zae_creds_read_small(const char *path, u_char *buf, size_t size,
    size_t *len);

/* zae_creds_sts.c */

/* ZAE_AGAIN (web identity set up), ZAE_DECLINED (not set), ZAE_ERROR */
int zae_creds_web_init(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err);
int zae_creds_web_request(zae_creds_provider_t *p, int64_t now,
    zae_creds_http_t *req, zae_err_t *err);
int zae_creds_web_response(zae_creds_provider_t *p, int status,
    const u_char *body, size_t len, int64_t now, zae_err_t *err);


#endif /* _ZAE_CREDS_INT_H_INCLUDED_ */
