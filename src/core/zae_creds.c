
/*
 * Copyright (C) zae-limit authors
 */


/*
 * The credential chain: storing credentials, the environment, the order
 * of the sources, and the HTTP steps of the container, instance
 * metadata and web identity sources.  The shared files are read in
 * zae_creds_files.c, answers and urls parsed in zae_creds_parse.c, the
 * STS request and answer of web identity live in zae_creds_sts.c.
 */


#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "zae_creds.h"
#include "zae_creds_int.h"


#define ZAE_CREDS_ECS_HOST        "169.254.170.2"
#define ZAE_CREDS_IMDS_ENDPOINT   "http://169.254.169.254"
#define ZAE_CREDS_IMDS_TOKEN_PATH "/latest/api/token"
#define ZAE_CREDS_IMDS_ROLE_PATH  "/latest/meta-data/iam/security-credentials/"
#define ZAE_CREDS_MIN_REFRESH     30
#define ZAE_CREDS_MAX_RETRIES     2

#define ZAE_CREDS_STEP_TOKEN      0
#define ZAE_CREDS_STEP_ROLE       1
#define ZAE_CREDS_STEP_CREDS      2


static int zae_creds_fetched(zae_creds_provider_t *p);
static int zae_creds_imds_text(zae_creds_provider_t *p, int status,
    const u_char *body, size_t len, const char *what, zae_str_t *s,
    zae_err_t *err);

int
zae_creds_is_space(u_char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
           || c == '\f';
}


void
zae_creds_trim(zae_str_t *s)
{
    while (s->len && zae_creds_is_space(s->data[0])) {
        s->data++;
        s->len--;
    }

    while (s->len && zae_creds_is_space(s->data[s->len - 1])) {
        s->len--;
    }
}


/* printable ASCII without CR/LF: safe to send as an HTTP header value */

int
zae_creds_header_safe(const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


const char *
zae_creds_env(zae_getenv_pt getenv_fn, void *env_ctx, const char *name)
{
    const char  *v;

    if (getenv_fn == NULL) {
        return NULL;
    }

    v = getenv_fn(env_ctx, name);

    if (v == NULL || v[0] == '\0') {
        return NULL;
    }

    return v;
}



/* storing credentials */

int
zae_creds_store(zae_creds_provider_t *p, const u_char *akid, size_t akid_len,
    const u_char *secret, size_t secret_len, const u_char *token,
    size_t token_len, int64_t expiration, int64_t now, zae_err_t *err)
{
    int64_t  at, jitter;

    if (akid_len == 0 || secret_len == 0) {
        return zae_err_set(err, "credentials: access key id or secret "
                           "access key is empty");
    }

    if (akid_len > ZAE_CREDS_AKID_MAX || secret_len > ZAE_CREDS_SECRET_MAX
        || token_len > ZAE_CREDS_TOKEN_MAX)
    {
        return zae_err_set(err, "credentials: a value is too long");
    }

    if (!zae_creds_header_safe(akid, akid_len)
        || !zae_creds_header_safe(token, token_len))
    {
        return zae_err_set(err, "credentials: invalid characters in access "
                           "key id or session token");
    }

    OPENSSL_cleanse(p->akid_buf, sizeof(p->akid_buf));
    OPENSSL_cleanse(p->secret_buf, sizeof(p->secret_buf));
    OPENSSL_cleanse(p->token_buf, sizeof(p->token_buf));

    memcpy(p->akid_buf, akid, akid_len);
    memcpy(p->secret_buf, secret, secret_len);

    if (token_len) {
        memcpy(p->token_buf, token, token_len);
    }

    p->creds.access_key.data = p->akid_buf;
    p->creds.access_key.len = akid_len;
    p->creds.secret_key.data = p->secret_buf;
    p->creds.secret_key.len = secret_len;
    p->creds.session_token.data = token_len ? p->token_buf : NULL;
    p->creds.session_token.len = token_len;
    p->creds.expiration = expiration;
    p->have_creds = 1;

    if (expiration == 0) {
        p->refresh_at = 0;
        return ZAE_OK;
    }

    jitter = 0;

    if (p->jitter) {
        jitter = p->jitter(p->jitter_ctx, ZAE_CREDS_REFRESH_JITTER);

        if (jitter < 0 || jitter > ZAE_CREDS_REFRESH_JITTER) {
            jitter = 0;
        }
    }

    at = expiration - ZAE_CREDS_REFRESH_BEFORE - jitter;

    /* credentials that are short-lived already: do not hammer */

    if (at < now + ZAE_CREDS_MIN_REFRESH) {
        at = now + ZAE_CREDS_MIN_REFRESH;

        if (at > expiration) {
            at = expiration;
        }
    }

    p->refresh_at = at;

    return ZAE_OK;
}


/*
 * credentials that are never refreshed (environment, shared files):
 * stored with their source
 */

int
zae_creds_store_static(zae_creds_provider_t *p, const u_char *akid,
    size_t akid_len, const u_char *secret, size_t secret_len,
    const u_char *token, size_t token_len, int64_t expiration,
    zae_creds_source_e source, zae_err_t *err)
{
    if (zae_creds_store(p, akid, akid_len, secret, secret_len, token,
                        token_len, expiration, 0, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    p->source = source;
    p->refresh_at = 0;

    return ZAE_OK;
}


const zae_aws_creds_t *
zae_creds_get(zae_creds_provider_t *p)
{
    return p->have_creds ? &p->creds : NULL;
}


void
zae_creds_provider_wipe(zae_creds_provider_t *p)
{
    OPENSSL_cleanse(p, sizeof(zae_creds_provider_t));
}


/* the sources fetched over HTTP and refreshed before they expire */

static int
zae_creds_fetched(zae_creds_provider_t *p)
{
    return p->source == ZAE_CREDS_SRC_ECS || p->source == ZAE_CREDS_SRC_IMDS
           || p->source == ZAE_CREDS_SRC_WEB_IDENTITY;
}


int
zae_creds_need_refresh(zae_creds_provider_t *p, int64_t now)
{
    if (!zae_creds_fetched(p)) {
        return 0;
    }

    if (!p->have_creds) {
        return 1;
    }

    return p->refresh_at != 0 && now >= p->refresh_at;
}


/* environment */

int
zae_creds_from_env(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, zae_err_t *err)
{
    int64_t      exp;
    const char  *akid, *secret, *token, *expiration;

    akid = zae_creds_env(getenv_fn, env_ctx, "AWS_ACCESS_KEY_ID");
    secret = zae_creds_env(getenv_fn, env_ctx, "AWS_SECRET_ACCESS_KEY");
    token = zae_creds_env(getenv_fn, env_ctx, "AWS_SESSION_TOKEN");
    expiration = zae_creds_env(getenv_fn, env_ctx,
                               "AWS_CREDENTIAL_EXPIRATION");

    if (akid == NULL && secret == NULL) {
        return ZAE_DECLINED;
    }

    if (akid == NULL || secret == NULL) {
        return zae_err_set(err, "credentials: \"%s\" is set but \"%s\" "
                           "is not",
                           akid ? "AWS_ACCESS_KEY_ID"
                                : "AWS_SECRET_ACCESS_KEY",
                           akid ? "AWS_SECRET_ACCESS_KEY"
                                : "AWS_ACCESS_KEY_ID");
    }

    exp = 0;

    if (expiration
        && zae_creds_parse_time((u_char *) expiration, strlen(expiration),
                                &exp)
           != ZAE_OK)
    {
        return zae_err_set(err, "credentials: invalid "
                           "AWS_CREDENTIAL_EXPIRATION \"%.64s\"",
                           expiration);
    }

    return zae_creds_store_static(p, (u_char *) akid, strlen(akid),
                                  (u_char *) secret, strlen(secret),
                                  (u_char *) token,
                                  token ? strlen(token) : 0, exp,
                                  ZAE_CREDS_SRC_ENV, err);
}



/* the chain */

int
zae_creds_provider_init(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err)
{
    int          rc;
    char         url[ZAE_CREDS_URL_MAX];
    size_t       n;
    const char  *prof, *rel, *full, *v;

    memset(p, 0, sizeof(zae_creds_provider_t));

    rc = zae_creds_from_env(p, getenv_fn, env_ctx, err);
    if (rc != ZAE_DECLINED) {
        return rc;
    }

    prof = zae_creds_profile(getenv_fn, env_ctx, profile);

    (void) snprintf(p->profile, sizeof(p->profile), "%s", prof);

    rc = zae_creds_web_init(p, getenv_fn, env_ctx, prof, err);
    if (rc != ZAE_DECLINED) {
        return rc;
    }

    rc = zae_creds_from_files(p, getenv_fn, env_ctx, prof, err);
    if (rc != ZAE_DECLINED) {
        return rc;
    }

    /* ECS */

    rel = zae_creds_env(getenv_fn, env_ctx,
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    full = zae_creds_env(getenv_fn, env_ctx,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI");

    if (rel || full) {
        if (rel) {
            if (rel[0] != '/') {
                return zae_err_set(err, "credentials: "
                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                                   "must start with \"/\"");
            }

            n = snprintf(url, sizeof(url), "http://" ZAE_CREDS_ECS_HOST "%s",
                         rel);

        } else {
            n = snprintf(url, sizeof(url), "%s", full);
        }

        if (n >= sizeof(url)) {
            return zae_err_set(err, "credentials: container credentials "
                               "url is too long");
        }

        if (zae_creds_parse_url(p, url, n, 1, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        v = zae_creds_env(getenv_fn, env_ctx,
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");

        if (v) {
            if (strlen(v) >= sizeof(p->auth_file)) {
                return zae_err_set(err, "credentials: authorization token "
                                   "file path is too long");
            }

            memcpy(p->auth_file, v, strlen(v) + 1);

        } else {
            v = zae_creds_env(getenv_fn, env_ctx,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN");

            if (v) {
                n = strlen(v);

                if (n >= sizeof(p->auth)
                    || !zae_creds_header_safe((u_char *) v, n))
                {
                    return zae_err_set(err, "credentials: invalid "
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN");
                }

                memcpy(p->auth, v, n);
                p->auth_len = n;
            }
        }

        p->source = ZAE_CREDS_SRC_ECS;

        return ZAE_AGAIN;
    }

    /* EC2 instance metadata */

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_EC2_METADATA_DISABLED");

    if (v && strcasecmp(v, "true") == 0) {
        return zae_err_set(err, "credentials: no aws credentials found "
                           "(environment, profile \"%.64s\", container; "
                           "instance metadata is disabled)", prof);
    }

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (v == NULL) {
        v = ZAE_CREDS_IMDS_ENDPOINT;
    }

    if (zae_creds_parse_url(p, v, strlen(v), 0, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    /* the endpoint's path is a prefix */

    while (p->path_len && p->path[p->path_len - 1] == '/') {
        p->path_len--;
    }

    p->path[p->path_len] = '\0';

    p->source = ZAE_CREDS_SRC_IMDS;

    return ZAE_AGAIN;
}


int
zae_creds_request(zae_creds_provider_t *p, zae_creds_http_t *req,
    const char *method, const char *suffix, zae_err_t *err)
{
    int     n, v6;
    size_t  off;

    v6 = (memchr(p->host, ':', p->host_len) != NULL);

    n = snprintf((char *) p->url, sizeof(p->url), "%s://%s%s%s:%u",
                 p->https ? "https" : "http", v6 ? "[" : "",
                 (char *) p->host, v6 ? "]" : "", (unsigned) p->port);

    if (n < 0 || (size_t) n >= sizeof(p->url)) {
        return zae_err_set(err, "credentials: url is too long");
    }

    off = n;

    n = snprintf((char *) p->url + off, sizeof(p->url) - off, "%.*s%s",
                 (int) p->path_len, (char *) p->path, suffix);

    if (n < 0 || (size_t) n >= sizeof(p->url) - off) {
        return zae_err_set(err, "credentials: url is too long");
    }

    req->method.data = (u_char *) method;
    req->method.len = strlen(method);
    req->url.data = p->url;
    req->url.len = off + n;
    req->host.data = p->host;
    req->host.len = p->host_len;
    req->path.data = p->url + off;
    req->path.len = n;
    req->port = p->port;
    req->https = p->https;

    if (req->path.len == 0) {
        zae_str_set(&req->path, "/");
    }

    return ZAE_OK;
}


int
zae_creds_next_request(zae_creds_provider_t *p, int64_t now,
    zae_creds_http_t *req, zae_err_t *err)
{
    size_t  len;

    memset(req, 0, sizeof(zae_creds_http_t));

    if (!zae_creds_fetched(p)) {
        return ZAE_OK;
    }

    if (p->step == 0) {
        if (!zae_creds_need_refresh(p, now)) {
            return ZAE_OK;
        }

        p->retries = 0;

        if (p->source != ZAE_CREDS_SRC_IMDS) {
            p->step = ZAE_CREDS_STEP_TOKEN + 1;

        } else if (p->imds_token_len && now < p->imds_token_expires) {
            p->step = ZAE_CREDS_STEP_ROLE + 1;

        } else {
            p->step = ZAE_CREDS_STEP_TOKEN + 1;
        }
    }

    if (p->source == ZAE_CREDS_SRC_WEB_IDENTITY) {
        if (zae_creds_web_request(p, now, req, err) != ZAE_AGAIN) {
            p->step = 0;
            return ZAE_ERROR;
        }

        return ZAE_AGAIN;
    }

    if (p->source == ZAE_CREDS_SRC_ECS) {

        if (zae_creds_request(p, req, "GET", "", err) != ZAE_OK) {
            p->step = 0;
            return ZAE_ERROR;
        }

        if (p->auth_file[0]) {
            OPENSSL_cleanse(p->auth, sizeof(p->auth));
            p->auth_len = 0;

            if (zae_creds_read_small((char *) p->auth_file, p->auth,
                                     sizeof(p->auth) - 1, &len)
                != ZAE_OK)
            {
                p->step = 0;
                return zae_err_set(err, "credentials: cannot read "
                                   "authorization token file \"%.512s\"",
                                   p->auth_file);
            }

            while (len && zae_creds_is_space(p->auth[len - 1])) {
                len--;
            }

            if (!zae_creds_header_safe(p->auth, len)) {
                OPENSSL_cleanse(p->auth, sizeof(p->auth));
                p->step = 0;
                return zae_err_set(err, "credentials: invalid authorization "
                                   "token in \"%.512s\"", p->auth_file);
            }

            p->auth_len = len;
        }

        if (p->auth_len) {
            zae_str_set(&req->headers[0].name, "Authorization");
            req->headers[0].value.data = p->auth;
            req->headers[0].value.len = p->auth_len;
            req->nheaders = 1;
        }

        return ZAE_AGAIN;
    }

    /* IMDSv2 */

    switch (p->step - 1) {

    case ZAE_CREDS_STEP_TOKEN:
        if (zae_creds_request(p, req, "PUT", ZAE_CREDS_IMDS_TOKEN_PATH, err)
            != ZAE_OK)
        {
            p->step = 0;
            return ZAE_ERROR;
        }

        zae_str_set(&req->headers[0].name,
                    "X-aws-ec2-metadata-token-ttl-seconds");
        zae_str_set(&req->headers[0].value, ZAE_CREDS_IMDS_TTL);
        req->nheaders = 1;

        return ZAE_AGAIN;

    case ZAE_CREDS_STEP_ROLE:
        if (zae_creds_request(p, req, "GET", ZAE_CREDS_IMDS_ROLE_PATH, err)
            != ZAE_OK)
        {
            p->step = 0;
            return ZAE_ERROR;
        }

        break;

    default: /* ZAE_CREDS_STEP_CREDS */
        p->role[p->role_len] = '\0';

        if (zae_creds_request(p, req, "GET", ZAE_CREDS_IMDS_ROLE_PATH, err)
            != ZAE_OK
            || p->url + sizeof(p->url) - (req->path.data + req->path.len)
               <= (ptrdiff_t) p->role_len)
        {
            p->step = 0;
            return zae_err_set(err, "credentials: url is too long");
        }

        memcpy(req->path.data + req->path.len, p->role, p->role_len + 1);
        req->path.len += p->role_len;
        req->url.len += p->role_len;

        break;
    }

    zae_str_set(&req->headers[0].name, "X-aws-ec2-metadata-token");
    req->headers[0].value.data = p->imds_token;
    req->headers[0].value.len = p->imds_token_len;
    req->nheaders = 1;

    return ZAE_AGAIN;
}


static int
zae_creds_imds_retry(zae_creds_provider_t *p, int step, int status,
    zae_err_t *err)
{
    if (++p->retries > ZAE_CREDS_MAX_RETRIES) {
        p->step = 0;
        return zae_err_set(err, "credentials: instance metadata returned "
                           "status %d", status);
    }

    if (step == ZAE_CREDS_STEP_TOKEN) {
        OPENSSL_cleanse(p->imds_token, sizeof(p->imds_token));
        p->imds_token_len = 0;
        p->imds_token_expires = 0;
    }

    p->step = step + 1;

    return ZAE_AGAIN;
}


/*
 * The trimmed text of a token or role answer of the instance metadata
 * service; any status but 200 ends the fetch
 */

static int
zae_creds_imds_text(zae_creds_provider_t *p, int status, const u_char *body,
    size_t len, const char *what, zae_str_t *s, zae_err_t *err)
{
    if (status != 200) {
        p->step = 0;
        return zae_err_set(err, "credentials: instance metadata %s "
                           "request returned status %d", what, status);
    }

    s->data = (u_char *) body;
    s->len = len;
    zae_creds_trim(s);

    return ZAE_OK;
}


int
zae_creds_response(zae_creds_provider_t *p, int status, const u_char *body,
    size_t len, int64_t now, zae_err_t *err)
{
    int        step;
    zae_str_t  s;

    if (p->step == 0 || !zae_creds_fetched(p)) {
        return zae_err_set(err, "credentials: no request in progress");
    }

    if (body == NULL) {
        len = 0;
    }

    step = p->step - 1;

    if (p->source == ZAE_CREDS_SRC_WEB_IDENTITY) {
        p->step = 0;
        return zae_creds_web_response(p, status, body, len, now, err);
    }

    if (p->source == ZAE_CREDS_SRC_ECS) {
        p->step = 0;

        if (status != 200) {
            return zae_err_set(err, "credentials: container endpoint "
                               "returned status %d", status);
        }

        return zae_creds_parse_json(p, body, len, now, err);
    }

    switch (step) {

    case ZAE_CREDS_STEP_TOKEN:
        if (zae_creds_imds_text(p, status, body, len, "token", &s, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        if (s.len == 0 || s.len >= sizeof(p->imds_token)
            || !zae_creds_header_safe(s.data, s.len))
        {
            p->step = 0;
            return zae_err_set(err, "credentials: invalid instance metadata "
                               "token");
        }

        OPENSSL_cleanse(p->imds_token, sizeof(p->imds_token));
        memcpy(p->imds_token, s.data, s.len);
        p->imds_token_len = s.len;
        p->imds_token_expires = now + atoi(ZAE_CREDS_IMDS_TTL) - 60;
        p->step = ZAE_CREDS_STEP_ROLE + 1;

        return ZAE_AGAIN;

    case ZAE_CREDS_STEP_ROLE:
        if (status == 401) {
            return zae_creds_imds_retry(p, ZAE_CREDS_STEP_TOKEN, status, err);
        }

        if (zae_creds_imds_text(p, status, body, len, "role", &s, err)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        if (s.len && memchr(s.data, '\n', s.len)) {
            s.len = (u_char *) memchr(s.data, '\n', s.len) - s.data;
            zae_creds_trim(&s);
        }

        if (s.len == 0 || s.len >= sizeof(p->role)
            || !zae_creds_header_safe(s.data, s.len)
            || memchr(s.data, '/', s.len) || memchr(s.data, '?', s.len)
            || memchr(s.data, '#', s.len) || memchr(s.data, ' ', s.len)
            || memchr(s.data, '%', s.len))
        {
            p->step = 0;
            return zae_err_set(err, "credentials: no valid role in instance "
                               "metadata");
        }

        memcpy(p->role, s.data, s.len);
        p->role[s.len] = '\0';
        p->role_len = s.len;
        p->step = ZAE_CREDS_STEP_CREDS + 1;

        return ZAE_AGAIN;

    default: /* ZAE_CREDS_STEP_CREDS */
        if (status == 401) {
            return zae_creds_imds_retry(p, ZAE_CREDS_STEP_TOKEN, status, err);
        }

        if (status == 404) {
            return zae_creds_imds_retry(p, ZAE_CREDS_STEP_ROLE, status, err);
        }

        p->step = 0;

        if (status != 200) {
            return zae_err_set(err, "credentials: instance metadata "
                               "credentials request returned status %d",
                               status);
        }

        return zae_creds_parse_json(p, body, len, now, err);
    }
}

