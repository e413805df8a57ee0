
/*
 * Copyright (C) zae-limit authors
 *
 * AWS credentials: the standard provider chain as pure parsing and
 * decision code.  The caller does all HTTP: it asks the provider which
 * request is needed next, performs it (nginx async client, libcurl in
 * zae-admin, a loopback fake in tests) and hands the answer back.
 *
 * Chain order, as the AWS SDKs for Java and PHP have it: explicit,
 * environment, web identity (AWS_WEB_IDENTITY_TOKEN_FILE and
 * AWS_ROLE_ARN: STS AssumeRoleWithWebIdentity), shared files
 * (credentials and config), ECS container endpoint, EC2 instance
 * metadata (IMDSv2).
 *
 * Secrets live in fixed buffers inside zae_creds_provider_t, so that
 * a long-lived provider refreshing every hour does not grow a pool;
 * they are wiped with OPENSSL_cleanse() whenever they are replaced.
 */


#ifndef _ZAE_CREDS_H_INCLUDED_
#define _ZAE_CREDS_H_INCLUDED_


#include "zae_core.h"


typedef struct {
    zae_str_t             access_key;
    zae_str_t             secret_key;
    zae_str_t             session_token;   /* len 0: none */
    int64_t               expiration;      /* unix seconds, 0: never */
} zae_aws_creds_t;


/* returns the value of an environment variable or NULL */
typedef const char *(*zae_getenv_pt)(void *ctx, const char *name);

/* returns a jitter in seconds, [0, max] */
typedef int64_t (*zae_jitter_pt)(void *ctx, int64_t max);


typedef enum {
    ZAE_CREDS_SRC_NONE = 0,
    ZAE_CREDS_SRC_ENV,
    ZAE_CREDS_SRC_PROFILE,
    ZAE_CREDS_SRC_ECS,
    ZAE_CREDS_SRC_IMDS,
    ZAE_CREDS_SRC_WEB_IDENTITY
} zae_creds_source_e;


#define ZAE_CREDS_AKID_MAX      128
#define ZAE_CREDS_SECRET_MAX    256
#define ZAE_CREDS_TOKEN_MAX     8192
#define ZAE_CREDS_URL_MAX       1024
#define ZAE_CREDS_HOST_MAX      256
#define ZAE_CREDS_AUTH_MAX      2048
#define ZAE_CREDS_ROLE_MAX      256
#define ZAE_CREDS_FILE_MAX      (1024 * 1024)
#define ZAE_CREDS_ARN_MAX       2048
#define ZAE_CREDS_SESSION_MAX   64
/* STS takes web identity tokens of up to 20,000 characters */
#define ZAE_CREDS_WEB_TOKEN_MAX 20000
/* the AssumeRoleWithWebIdentity form: every value percent-encoded */
#define ZAE_CREDS_STS_BODY_MAX  (128 + 3 * (ZAE_CREDS_ARN_MAX                \
                                 + ZAE_CREDS_SESSION_MAX                     \
                                 + ZAE_CREDS_WEB_TOKEN_MAX))
/* an STS answer larger than this is refused */
#define ZAE_CREDS_STS_ANSWER_MAX  65536

/* refresh when less than this many seconds remain */
#define ZAE_CREDS_REFRESH_BEFORE    300
/* spread refreshes over this many more seconds */
#define ZAE_CREDS_REFRESH_JITTER    60
/* shared files: looked at (stat) this often, re-read when changed */
#define ZAE_CREDS_FILES_CHECK       10
/* and re-read this often even when they look unchanged */
#define ZAE_CREDS_FILES_RELOAD      300
/* IMDSv2 session token TTL requested */
#define ZAE_CREDS_IMDS_TTL          "21600"


/* what a shared file looked like when read: a change means re-read */

typedef struct {
    int64_t               mtime_ns;
    int64_t               size;
    uint64_t              ino;
    unsigned              exists:1;
} zae_creds_file_sig_t;


/* one HTTP request the caller must perform */

typedef struct {
    zae_str_t             name;
    zae_str_t             value;
} zae_creds_header_t;


typedef struct {
    zae_str_t             method;          /* "GET" or "PUT" */
    zae_str_t             url;             /* full url */
    zae_str_t             host;            /* without port, no brackets */
    zae_str_t             path;            /* path and query */
    uint16_t              port;
    unsigned              https:1;
    zae_creds_header_t    headers[2];
    size_t                nheaders;
    zae_str_t             body;            /* len 0: none */
} zae_creds_http_t;


typedef struct {
    zae_creds_source_e    source;
    int                   step;            /* internal state */

    /* the current credentials, pointing into the buffers below */
    zae_aws_creds_t       creds;
    int64_t               refresh_at;      /* 0: never */
    unsigned              have_creds:1;

    /* http sources */
    unsigned              https:1;
    unsigned              retries;
    uint16_t              port;
    int64_t               imds_token_expires;
    size_t                host_len;
    size_t                path_len;
    size_t                auth_len;
    size_t                imds_token_len;
    size_t                role_len;
    u_char                host[ZAE_CREDS_HOST_MAX];
    u_char                path[ZAE_CREDS_URL_MAX];
    u_char                url[ZAE_CREDS_URL_MAX + ZAE_CREDS_HOST_MAX + 16];
    u_char                auth[ZAE_CREDS_AUTH_MAX];
    u_char                auth_file[ZAE_CREDS_URL_MAX];
    u_char                imds_token[ZAE_CREDS_AUTH_MAX];
    u_char                role[ZAE_CREDS_ROLE_MAX];

    /* the shared files (source ZAE_CREDS_SRC_PROFILE) */
    int64_t               files_read_at;
    zae_creds_file_sig_t  cred_sig;
    zae_creds_file_sig_t  conf_sig;
    char                  cred_path[ZAE_CREDS_URL_MAX];
    char                  conf_path[ZAE_CREDS_URL_MAX];
    char                  profile[ZAE_CREDS_ROLE_MAX];

    /* web identity (source ZAE_CREDS_SRC_WEB_IDENTITY) */
    unsigned              sts_endpoint:1;  /* host, path from an env url */
    size_t                role_arn_len;
    size_t                session_len;
    size_t                body_len;
    char                  web_token_file[ZAE_CREDS_URL_MAX];
    char                  sts_region[64];
    u_char                role_arn[ZAE_CREDS_ARN_MAX];
    u_char                session[ZAE_CREDS_SESSION_MAX + 1];
    u_char                web_token[ZAE_CREDS_WEB_TOKEN_MAX + 1];
    u_char                body[ZAE_CREDS_STS_BODY_MAX];

    zae_jitter_pt         jitter;
    void                 *jitter_ctx;

    u_char                akid_buf[ZAE_CREDS_AKID_MAX];
    u_char                secret_buf[ZAE_CREDS_SECRET_MAX];
    u_char                token_buf[ZAE_CREDS_TOKEN_MAX];
} zae_creds_provider_t;


/*
 * Set up the chain.  profile may be NULL (AWS_PROFILE, else "default").
 * Returns ZAE_OK when credentials are available now (explicit, env,
 * files), ZAE_AGAIN when HTTP is needed (web identity, ECS, IMDS: call
 * zae_creds_next_request()), ZAE_ERROR with err set otherwise.
 * Reads the shared files with stdio: call it at startup, not per request.
 */
int zae_creds_provider_init(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err);

/*
 * Credentials from the shared files: when one of them changed (mtime,
 * size, inode, appeared or went away) or ZAE_CREDS_FILES_RELOAD seconds
 * passed, read them again (an external refresher rewrites temporary
 * credentials).  Call it every ZAE_CREDS_FILES_CHECK seconds; it uses
 * stat() and stdio.  ZAE_OK: read again, the new credentials are in
 * place; ZAE_DECLINED: nothing to do (another source, or unchanged);
 * ZAE_ERROR (err set): the files no longer hold valid credentials, the
 * old ones are kept.
 */
int zae_creds_files_check(zae_creds_provider_t *p, int64_t now,
    zae_err_t *err);

/*
 * The region of the STS endpoint of web identity
 * (https://sts.REGION.amazonaws.com) when the caller knows it (the
 * DynamoDB client's region); else AWS_REGION, AWS_DEFAULT_REGION or the
 * profile's region, else the global endpoint https://sts.amazonaws.com.
 * AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, override the endpoint.
 * ZAE_ERROR when region is not a region name.
 */
int zae_creds_set_region(zae_creds_provider_t *p, const u_char *region,
    size_t len, zae_err_t *err);

/*
 * The next HTTP request to perform.  ZAE_AGAIN: req is filled, call
 * zae_creds_response() with the answer; ZAE_OK: nothing to do, the
 * credentials are fresh; ZAE_ERROR: err set.  Pointers in req refer
 * into p and stay valid until the next call on p.
 */
int zae_creds_next_request(zae_creds_provider_t *p, int64_t now,
    zae_creds_http_t *req, zae_err_t *err);

/*
 * The answer to the last request: HTTP status and body.  ZAE_AGAIN:
 * another request is needed; ZAE_OK: p->creds is updated; ZAE_ERROR:
 * err set, the previous credentials (if any) are kept and the request
 * sequence restarts from the beginning on the next call.
 */
int zae_creds_response(zae_creds_provider_t *p, int status,
    const u_char *body, size_t len, int64_t now, zae_err_t *err);

/*
 * Whether the credentials must be (re)fetched now: never for static
 * sources; for web identity, ECS and IMDS when there are none, or when
 * less than ZAE_CREDS_REFRESH_BEFORE seconds (plus a jitter of up to
 * ZAE_CREDS_REFRESH_JITTER from p->jitter, set after init) remain.
 */
int zae_creds_need_refresh(zae_creds_provider_t *p, int64_t now);

/* the current credentials or NULL */
const zae_aws_creds_t *zae_creds_get(zae_creds_provider_t *p);

/* wipe every secret held by p */
void zae_creds_provider_wipe(zae_creds_provider_t *p);


/* building blocks, exposed for tests and zae-admin */

/*
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
 * AWS_CREDENTIAL_EXPIRATION: ZAE_OK, ZAE_DECLINED (none set) or
 * ZAE_ERROR (only one of the pair set, bad values).
 */
int zae_creds_from_env(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, zae_err_t *err);

/*
 * Find profile credentials in the texts of a credentials file and a
 * config file (either may be NULL).  ZAE_OK, ZAE_DECLINED (no
 * credentials for that profile) or ZAE_ERROR.
 */
int zae_creds_from_ini(zae_creds_provider_t *p, const char *profile,
    const u_char *cred_text, size_t cred_len, const u_char *conf_text,
    size_t conf_len, zae_err_t *err);

/*
 * Find "key" in a profile of an INI text.  config: the text is a
 * config file ("[profile x]", "[default]"), else a credentials file
 * ("[x]").  ZAE_OK with *value pointing into text, or ZAE_DECLINED.
 */
int zae_creds_ini_get(const u_char *text, size_t len, int config,
    const char *profile, const char *key, zae_str_t *value);

/*
 * The region: AWS_REGION, AWS_DEFAULT_REGION, then "region" of the
 * profile in the config file.  Copied into buf (size bytes, NUL
 * terminated).  ZAE_OK, ZAE_DECLINED (none) or ZAE_ERROR.
 */
int zae_creds_region(zae_getenv_pt getenv_fn, void *env_ctx,
    const char *profile, char *buf, size_t size, zae_err_t *err);

/*
 * Parse an ECS/IMDS credentials document {AccessKeyId, SecretAccessKey,
 * Token, Expiration} into p.
 */
int zae_creds_parse_json(zae_creds_provider_t *p, const u_char *body,
    size_t len, int64_t now, zae_err_t *err);

/*
 * Parse an STS AssumeRoleWithWebIdentity answer (XML): with status 200
 * AssumeRoleWithWebIdentityResult/Credentials/{AccessKeyId,
 * SecretAccessKey, SessionToken, Expiration} into p; otherwise
 * ErrorResponse/Error/{Code,Message} into err.  Strict: a document that
 * is not well-formed, has a DOCTYPE, an unknown entity or a wanted
 * element twice is refused.
 */
int zae_creds_parse_sts(zae_creds_provider_t *p, int status,
    const u_char *body, size_t len, int64_t now, zae_err_t *err);

/* ISO-8601 UTC time ("2026-11-25T19:14:43Z", fractions, offsets) */
int zae_creds_parse_time(const u_char *s, size_t len, int64_t *out);


#endif /* _ZAE_CREDS_H_INCLUDED_ */
