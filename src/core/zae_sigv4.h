
/*
 * Copyright (C) zae-limit authors
 *
 * AWS Signature Version 4 (header signing) on OpenSSL's SHA-256.  No
 * I/O, no clock: the caller passes the timestamp; no heap allocation
 * outside the zae_mem_t given.  Every stage is a separate
 * function so that each stage of the AWS test suite can be checked.
 *
 * The common case is zae_sigv4_sign_dynamodb(): POST / with host,
 * x-amz-date, x-amz-target, content-type (and x-amz-security-token).
 */


#ifndef _ZAE_SIGV4_H_INCLUDED_
#define _ZAE_SIGV4_H_INCLUDED_


#include "zae_core.h"
#include "zae_creds.h"


#define ZAE_SIGV4_ALGORITHM       "AWS4-HMAC-SHA256"
#define ZAE_SIGV4_DATE_LEN        16          /* 20150830T123600Z */
#define ZAE_SIGV4_HEX_LEN         64
#define ZAE_SIGV4_KEY_LEN         32
#define ZAE_SIGV4_SCOPE_MAX       128         /* region + service */
#define ZAE_SIGV4_MAX_HEADERS     64
#define ZAE_SIGV4_MAX_PARAMS      1024

#define ZAE_DYNAMODB_SERVICE      "dynamodb"
#define ZAE_DYNAMODB_CONTENT_TYPE "application/x-amz-json-1.0"

/* sha256 of the empty string */
#define ZAE_SIGV4_EMPTY_SHA256                                               \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


typedef struct {
    zae_str_t              name;
    zae_str_t              value;
} zae_header_t;


/*
 * HMAC-SHA256 keyed once: the SHA-256 chaining values after the block
 * (key ^ ipad) and after the block (key ^ opad).  A MAC with a keyed
 * state costs the data's blocks plus one, and no allocation.  As
 * secret as the key itself.
 */

typedef struct {
    uint32_t               inner[8];
    uint32_t               outer[8];
} zae_sigv4_hmac_t;


/* key h once (the caller wipes h when done); then MAC data into out[32] */
int zae_sigv4_hmac_key(zae_sigv4_hmac_t *h, const u_char *key, size_t klen);
int zae_sigv4_hmac(const zae_sigv4_hmac_t *h, const u_char *data, size_t len,
    u_char *out);


/*
 * The signing key cache, owned by the caller (one per worker, or per
 * zae-admin run).  It holds the HMAC state keyed with kSigning for one
 * (secret, date, region, service), and a copy of that secret to tell
 * whether the credentials changed (a constant-time comparison, cheaper
 * than hashing the secret per request); a different tuple re-derives
 * the key.  Initialise with zae_sigv4_cache_init(), wipe with
 * zae_sigv4_cache_wipe() (it holds the secret).
 */

#define ZAE_SIGV4_SECRET_MAX      1024

typedef struct {
    zae_sigv4_hmac_t       hmac;                          /* kSigning */
    u_char                 secret[ZAE_SIGV4_SECRET_MAX];
    size_t                 secret_len;
    u_char                 date[8];                       /* YYYYMMDD */
    u_char                 scope[ZAE_SIGV4_SCOPE_MAX];    /* region/svc */
    size_t                 scope_len;
    unsigned               valid:1;
    unsigned               derived;       /* derivations, for tests */
} zae_sigv4_cache_t;


/* who signs, where, when */

typedef struct {
    const zae_aws_creds_t *creds;
    zae_str_t              region;
    zae_str_t              service;
    int64_t                timestamp;     /* unix seconds, UTC */
    zae_sigv4_cache_t     *cache;         /* NULL: derive every time */

    /* do not sign the session token; it is still returned in "added" */
    unsigned               omit_session_token:1;
    /* add and sign x-amz-content-sha256 */
    unsigned               sign_body:1;
} zae_sigv4_ctx_t;


/* what is signed */

typedef struct {
    zae_str_t              method;
    zae_str_t              path;          /* as on the wire, no query */
    zae_str_t              query;         /* without '?', may be empty */
    const zae_header_t    *headers;       /* as sent; no x-amz-date */
    size_t                 nheaders;
    zae_str_t              payload;
    zae_str_t              payload_hash;  /* hex; len 0: hash payload */
    unsigned               normalize:1;   /* remove dot segments, "//" */
} zae_sigv4_request_t;


/* the stages; strings are allocated from the zae_mem_t given */

typedef struct {
    u_char                 amz_date[ZAE_SIGV4_DATE_LEN + 1];
    u_char                 payload_hash[ZAE_SIGV4_HEX_LEN + 1];
    zae_str_t              canonical_request;
    zae_str_t              signed_headers;
    zae_str_t              scope;         /* date/region/service/... */
    zae_str_t              string_to_sign;
    u_char                 signature[ZAE_SIGV4_HEX_LEN + 1];
    zae_str_t              authorization; /* the header value */

    /* headers the caller must add to the request, in this order */
    zae_header_t           added[3];
    size_t                 nadded;
} zae_sigv4_result_t;


void zae_sigv4_cache_init(zae_sigv4_cache_t *cache);
void zae_sigv4_cache_wipe(zae_sigv4_cache_t *cache);

/* everything below returns ZAE_OK or ZAE_ERROR with err set */

/* the whole signature: all stages in order */
int zae_sigv4_sign(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    const zae_sigv4_request_t *req, zae_sigv4_result_t *res, zae_err_t *err);

/* stage 1: amz_date, payload_hash, added, canonical_request, signed_headers */
int zae_sigv4_canonical_request(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    const zae_sigv4_request_t *req, zae_sigv4_result_t *res, zae_err_t *err);

/* stage 2: scope and string_to_sign (needs stage 1) */
int zae_sigv4_string_to_sign(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    zae_sigv4_result_t *res, zae_err_t *err);

/* stage 3: signature (needs stage 2), using and updating ctx->cache */
int zae_sigv4_signature(const zae_sigv4_ctx_t *ctx, zae_sigv4_result_t *res,
    zae_err_t *err);

/* stage 4: authorization (needs stages 1 and 3) */
int zae_sigv4_authorization(zae_mem_t *mem, const zae_sigv4_ctx_t *ctx,
    zae_sigv4_result_t *res, zae_err_t *err);


/* the canonicalisers, used by the stages and by the fuzzer */

int zae_sigv4_canonical_path(zae_mem_t *mem, const zae_str_t *path,
    int normalize, zae_str_t *out, zae_err_t *err);
int zae_sigv4_canonical_query(zae_mem_t *mem, const zae_str_t *query,
    zae_str_t *out, zae_err_t *err);
/* canonical header block (each line ends with '\n') and signed list */
int zae_sigv4_canonical_headers(zae_mem_t *mem, const zae_header_t *headers,
    size_t n, zae_str_t *canonical, zae_str_t *signed_headers,
    zae_err_t *err);

/* key derivation: kSigning from the secret, out is 32 bytes */
int zae_sigv4_derive_key(const zae_str_t *secret, const u_char *date8,
    const zae_str_t *region, const zae_str_t *service, u_char *out);

/* helpers */
int zae_sigv4_format_date(int64_t ts, u_char *out);   /* 17 bytes, NUL */
int zae_sigv4_sha256_hex(const u_char *data, size_t len, u_char *out);


/*
 * Sign a DynamoDB call: POST / to host with the body, signing
 * content-type (ZAE_DYNAMODB_CONTENT_TYPE), host, x-amz-date,
 * x-amz-target and, when creds have a session token,
 * x-amz-security-token.  The caller sends these headers plus
 * "X-Amz-Date: *amz_date" and "Authorization: *authorization"
 * (both allocated from mem).  cache may be NULL.
 */
int zae_sigv4_sign_dynamodb(zae_mem_t *mem, const zae_aws_creds_t *creds,
    zae_sigv4_cache_t *cache, const zae_str_t *region, const zae_str_t *host,
    const zae_str_t *target, const zae_str_t *body, int64_t now,
    zae_str_t *amz_date, zae_str_t *authorization, zae_err_t *err);


#endif /* _ZAE_SIGV4_H_INCLUDED_ */
