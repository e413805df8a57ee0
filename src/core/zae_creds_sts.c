
/*
 * Copyright (C) zae-limit authors
 */


/*
 * Web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN exchanged
 * for temporary credentials by STS AssumeRoleWithWebIdentity (what EKS
 * service accounts use).  The request is an unsigned form POST built
 * here with the token read again from its file each time (the kubelet
 * rotates it); the answer is XML, read by a small strict reader.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "zae_creds.h"
#include "zae_creds_int.h"


#define ZAE_STS_DEPTH_MAX     16
#define ZAE_STS_NAME_MAX      64
#define ZAE_STS_PATH_MAX      (ZAE_STS_DEPTH_MAX * (ZAE_STS_NAME_MAX + 1))
#define ZAE_STS_MESSAGE_MAX   256

#define ZAE_STS_CREDS                                                        \
    "/AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult"     \
    "/Credentials/"


/* the values wanted from an answer, by their element path */

enum {
    ZAE_STS_AKID = 0,
    ZAE_STS_SECRET,
    ZAE_STS_TOKEN,
    ZAE_STS_EXPIRATION,
    ZAE_STS_CODE,
    ZAE_STS_MESSAGE,
    ZAE_STS_NFIELDS
};


static const char  *zae_sts_paths[ZAE_STS_NFIELDS] = {
    ZAE_STS_CREDS "AccessKeyId",
    ZAE_STS_CREDS "SecretAccessKey",
    ZAE_STS_CREDS "SessionToken",
    ZAE_STS_CREDS "Expiration",
    "/ErrorResponse/Error/Code",
    "/ErrorResponse/Error/Message"
};


typedef struct {
    u_char                 *buf;
    size_t                  size;
    size_t                  len;
    unsigned                seen:1;
    unsigned                too_long:1;
} zae_sts_field_t;


typedef struct {
    zae_creds_found_t       f;
    u_char                  expiration[64];
    u_char                  code[64];
    u_char                  message[ZAE_STS_MESSAGE_MAX];
    zae_sts_field_t         field[ZAE_STS_NFIELDS];

    char                    path[ZAE_STS_PATH_MAX + 1];
    size_t                  path_len;
    size_t                  depth;
    size_t                  name_at[ZAE_STS_DEPTH_MAX];
    zae_sts_field_t        *in;          /* the wanted element open */
    unsigned                root_done:1;
    const char             *error;
} zae_sts_xml_t;


static int zae_sts_xml_parse(zae_sts_xml_t *x, const u_char *p, size_t len);
static int zae_sts_xml_tag(zae_sts_xml_t *x, const u_char **pp,
    const u_char *end);
static int zae_sts_xml_text(zae_sts_xml_t *x, const u_char **pp,
    const u_char *end);
static int zae_sts_xml_skip(zae_sts_xml_t *x, const u_char **pp,
    const u_char *end, const char *close);
static const u_char *zae_sts_xml_name(const u_char *p, const u_char *end);
static void zae_sts_xml_close(zae_sts_xml_t *x);
static int zae_sts_is_name(u_char c);
static void zae_sts_add(zae_sts_field_t *f, u_char c);
static void zae_sts_printable(u_char *s, size_t len);
static u_char *zae_sts_encode(u_char *d, u_char *end, const u_char *s,
    size_t len);


/* setting up: the environment */

int
zae_creds_web_init(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err)
{
    size_t       i, n;
    const char  *file, *arn, *name, *url;

    file = zae_creds_env(getenv_fn, env_ctx, "AWS_WEB_IDENTITY_TOKEN_FILE");
    arn = zae_creds_env(getenv_fn, env_ctx, "AWS_ROLE_ARN");

    if (file == NULL && arn == NULL) {
        return ZAE_DECLINED;
    }

    if (file == NULL || arn == NULL) {
        return zae_err_set(err, "credentials: web identity: \"%s\" is set "
                           "but \"%s\" is not",
                           file ? "AWS_WEB_IDENTITY_TOKEN_FILE"
                                : "AWS_ROLE_ARN",
                           file ? "AWS_ROLE_ARN"
                                : "AWS_WEB_IDENTITY_TOKEN_FILE");
    }

    n = strlen(file);

    if (n >= sizeof(p->web_token_file)) {
        return zae_err_set(err, "credentials: web identity: token file "
                           "path is too long");
    }

    memcpy(p->web_token_file, file, n + 1);

    n = strlen(arn);

    if (n < 4 || n > ZAE_CREDS_ARN_MAX || memcmp(arn, "arn:", 4) != 0
        || !zae_creds_header_safe((u_char *) arn, n)
        || strchr(arn, ' ') != NULL)
    {
        return zae_err_set(err, "credentials: web identity: AWS_ROLE_ARN "
                           "\"%.128s\" is not a role arn", arn);
    }

    memcpy(p->role_arn, arn, n);
    p->role_arn_len = n;

    /* the session name: [\w+=,.@-]{2,64}, generated when absent */

    name = zae_creds_env(getenv_fn, env_ctx, "AWS_ROLE_SESSION_NAME");

    if (name) {
        n = strlen(name);

        for (i = 0; i < n; i++) {
            if (!zae_sts_is_name((u_char) name[i])
                && strchr("+=,@", name[i]) == NULL)
            {
                break;
            }
        }

        if (n < 2 || n > ZAE_CREDS_SESSION_MAX || i != n) {
            return zae_err_set(err, "credentials: web identity: "
                               "AWS_ROLE_SESSION_NAME \"%.80s\" is not "
                               "2 to 64 of [A-Za-z0-9+=,.@_-]", name);
        }

        memcpy(p->session, name, n);
        p->session_len = n;
    }

    /* the endpoint: an override, else https://sts.REGION.amazonaws.com */

    url = zae_creds_env(getenv_fn, env_ctx, "AWS_ENDPOINT_URL_STS");
    if (url == NULL) {
        url = zae_creds_env(getenv_fn, env_ctx, "AWS_ENDPOINT_URL");
    }

    if (url) {
        if (zae_creds_parse_url(p, url, strlen(url), 0, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        p->sts_endpoint = 1;

    } else if (zae_creds_region(getenv_fn, env_ctx, profile, p->sts_region,
                                sizeof(p->sts_region), err)
               == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    p->source = ZAE_CREDS_SRC_WEB_IDENTITY;

    return ZAE_AGAIN;
}


int
zae_creds_set_region(zae_creds_provider_t *p, const u_char *region,
    size_t len, zae_err_t *err)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!(region[i] >= 'a' && region[i] <= 'z')
            && !(region[i] >= '0' && region[i] <= '9') && region[i] != '-')
        {
            break;
        }
    }

    if (len == 0 || len >= sizeof(p->sts_region) || i != len) {
        return zae_err_set(err, "credentials: \"%.*s\" is not a region",
                           (int) (len < 64 ? len : 64), region);
    }

    memcpy(p->sts_region, region, len);
    p->sts_region[len] = '\0';

    return ZAE_OK;
}


/* the request */

int
zae_creds_web_request(zae_creds_provider_t *p, int64_t now,
    zae_creds_http_t *req, zae_err_t *err)
{
    int         n;
    char        url[128];
    u_char     *d, *end;
    size_t      len;
    zae_str_t   token;

    if (!p->sts_endpoint) {
        if (p->sts_region[0]) {
            n = snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com",
                         p->sts_region);

        } else {
            n = snprintf(url, sizeof(url), "https://sts.amazonaws.com");
        }

        if (n < 0 || (size_t) n >= sizeof(url)
            || zae_creds_parse_url(p, url, n, 0, err) != ZAE_OK)
        {
            return zae_err_set(err, "credentials: web identity: invalid "
                               "STS endpoint");
        }
    }

    /* the token: read again at each call, it rotates */

    errno = 0;

    if (zae_creds_read_small(p->web_token_file, p->web_token,
                             sizeof(p->web_token) - 1, &len)
        != ZAE_OK)
    {
        return zae_err_set(err, "credentials: web identity: cannot read "
                           "token file \"%.512s\": %s", p->web_token_file,
                           errno ? strerror(errno)
                                 : "larger than 20000 bytes");
    }

    token.data = p->web_token;
    token.len = len;
    zae_creds_trim(&token);

    if (token.len == 0) {
        OPENSSL_cleanse(p->web_token, sizeof(p->web_token));
        return zae_err_set(err, "credentials: web identity: token file "
                           "\"%.512s\" is empty", p->web_token_file);
    }

    if (p->session_len == 0) {
        n = snprintf((char *) p->session, sizeof(p->session),
                     "zae-limit-%lld", (long long) now);
        p->session_len = (n > 0 && (size_t) n < sizeof(p->session)) ? n : 0;
    }

    d = p->body;
    end = p->body + sizeof(p->body);

#define zae_sts_lit(s)                                                       \
    if ((size_t) (end - d) < sizeof(s) - 1) { d = NULL; goto built; }        \
    memcpy(d, s, sizeof(s) - 1);                                             \
    d += sizeof(s) - 1

    zae_sts_lit("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                "&RoleArn=");
    d = zae_sts_encode(d, end, p->role_arn, p->role_arn_len);
    if (d == NULL) {
        goto built;
    }

    zae_sts_lit("&RoleSessionName=");
    d = zae_sts_encode(d, end, p->session, p->session_len);
    if (d == NULL) {
        goto built;
    }

    zae_sts_lit("&WebIdentityToken=");
    d = zae_sts_encode(d, end, token.data, token.len);

#undef zae_sts_lit

built:

    /* the token lives on in the body only, until the answer */

    OPENSSL_cleanse(p->web_token, sizeof(p->web_token));

    if (d == NULL) {
        OPENSSL_cleanse(p->body, sizeof(p->body));
        return zae_err_set(err, "credentials: web identity: request is too "
                           "long");
    }

    p->body_len = d - p->body;

    if (zae_creds_request(p, req, "POST", "", err) != ZAE_OK) {
        OPENSSL_cleanse(p->body, sizeof(p->body));
        return ZAE_ERROR;
    }

    zae_str_set(&req->headers[0].name, "Content-Type");
    zae_str_set(&req->headers[0].value,
                "application/x-www-form-urlencoded; charset=utf-8");
    zae_str_set(&req->headers[1].name, "Accept");
    zae_str_set(&req->headers[1].value, "application/xml");
    req->nheaders = 2;
    req->body.data = p->body;
    req->body.len = p->body_len;

    return ZAE_AGAIN;
}


/* RFC 3986 unreserved characters stay, every other byte is %XX */

static u_char *
zae_sts_encode(u_char *d, u_char *end, const u_char *s, size_t len)
{
    size_t  i;

    static const u_char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; i++) {
        if (zae_sts_is_name(s[i]) || s[i] == '~') {
            if (d == end) {
                return NULL;
            }

            *d++ = s[i];
            continue;
        }

        if (end - d < 3) {
            return NULL;
        }

        *d++ = '%';
        *d++ = hex[s[i] >> 4];
        *d++ = hex[s[i] & 0xf];
    }

    return d;
}


/* [A-Za-z0-9._-]: name characters, also unreserved in urls */

static int
zae_sts_is_name(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}


int
zae_creds_web_response(zae_creds_provider_t *p, int status,
    const u_char *body, size_t len, int64_t now, zae_err_t *err)
{
    OPENSSL_cleanse(p->body, sizeof(p->body));
    p->body_len = 0;

    if (status == 0) {
        return zae_err_set(err, "credentials: web identity: STS "
                           "AssumeRoleWithWebIdentity got no answer");
    }

    return zae_creds_parse_sts(p, status, body, len, now, err);
}


/* the answer */

int
zae_creds_parse_sts(zae_creds_provider_t *p, int status, const u_char *body,
    size_t len, int64_t now, zae_err_t *err)
{
    int             rc;
    int64_t         exp;
    zae_sts_xml_t  *x;

    if (body == NULL) {
        len = 0;
    }

    if (len > ZAE_CREDS_STS_ANSWER_MAX) {
        return zae_err_set(err, "credentials: web identity: STS answer "
                           "(status %d) is too large", status);
    }

    x = calloc(1, sizeof(zae_sts_xml_t));
    if (x == NULL) {
        return zae_err_set(err, "credentials: out of memory");
    }

    x->field[ZAE_STS_AKID].buf = x->f.akid;
    x->field[ZAE_STS_AKID].size = sizeof(x->f.akid);
    x->field[ZAE_STS_SECRET].buf = x->f.secret;
    x->field[ZAE_STS_SECRET].size = sizeof(x->f.secret);
    x->field[ZAE_STS_TOKEN].buf = x->f.token;
    x->field[ZAE_STS_TOKEN].size = sizeof(x->f.token);
    x->field[ZAE_STS_EXPIRATION].buf = x->expiration;
    x->field[ZAE_STS_EXPIRATION].size = sizeof(x->expiration);
    x->field[ZAE_STS_CODE].buf = x->code;
    x->field[ZAE_STS_CODE].size = sizeof(x->code);
    x->field[ZAE_STS_MESSAGE].buf = x->message;
    x->field[ZAE_STS_MESSAGE].size = sizeof(x->message);

    rc = zae_sts_xml_parse(x, body, len);

    if (status != 200) {
        if (rc == ZAE_OK && x->field[ZAE_STS_CODE].seen
            && x->field[ZAE_STS_CODE].len)
        {
            zae_sts_printable(x->code, x->field[ZAE_STS_CODE].len);
            zae_sts_printable(x->message, x->field[ZAE_STS_MESSAGE].len);

            zae_err_set(err, "credentials: web identity: STS "
                        "AssumeRoleWithWebIdentity refused (status %d): "
                        "%.*s: %.*s%s", status,
                        (int) x->field[ZAE_STS_CODE].len, x->code,
                        (int) x->field[ZAE_STS_MESSAGE].len, x->message,
                        x->field[ZAE_STS_MESSAGE].too_long ? "..." : "");

        } else {
            zae_err_set(err, "credentials: web identity: STS "
                        "AssumeRoleWithWebIdentity answered status %d "
                        "with no error document", status);
        }

        rc = ZAE_ERROR;
        goto done;
    }

    if (rc != ZAE_OK) {
        zae_err_set(err, "credentials: web identity: STS answer is not a "
                    "valid AssumeRoleWithWebIdentity response (%s)",
                    x->error);
        goto done;
    }

    rc = ZAE_ERROR;

    if (!x->field[ZAE_STS_AKID].seen || !x->field[ZAE_STS_SECRET].seen
        || !x->field[ZAE_STS_TOKEN].seen
        || !x->field[ZAE_STS_EXPIRATION].seen)
    {
        zae_err_set(err, "credentials: web identity: STS answer lacks "
                    "AccessKeyId, SecretAccessKey, SessionToken or "
                    "Expiration");
        goto done;
    }

    if (x->field[ZAE_STS_AKID].too_long || x->field[ZAE_STS_SECRET].too_long
        || x->field[ZAE_STS_TOKEN].too_long
        || x->field[ZAE_STS_EXPIRATION].too_long)
    {
        zae_err_set(err, "credentials: web identity: a value in the STS "
                    "answer is too long");
        goto done;
    }

    if (zae_creds_parse_time(x->expiration, x->field[ZAE_STS_EXPIRATION].len,
                             &exp)
        != ZAE_OK)
    {
        zae_sts_printable(x->expiration, x->field[ZAE_STS_EXPIRATION].len);
        zae_err_set(err, "credentials: web identity: invalid Expiration "
                    "\"%.*s\" in the STS answer",
                    (int) x->field[ZAE_STS_EXPIRATION].len, x->expiration);
        goto done;
    }

    rc = zae_creds_store(p, x->f.akid, x->field[ZAE_STS_AKID].len,
                         x->f.secret, x->field[ZAE_STS_SECRET].len,
                         x->f.token, x->field[ZAE_STS_TOKEN].len, exp, now,
                         err);

done:

    OPENSSL_cleanse(x, sizeof(zae_sts_xml_t));
    free(x);

    return rc;
}


static void
zae_sts_printable(u_char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"') {
            s[i] = '?';
        }
    }
}


/*
 * The XML reader: elements, attributes (skipped), character data with
 * the five predefined entities and character references, an XML
 * declaration, comments.  No DOCTYPE (so no entity can be defined), no
 * CDATA, no processing instruction but the declaration.  One root, tags
 * balanced, at most ZAE_STS_DEPTH_MAX deep.
 */

static int
zae_sts_xml_parse(zae_sts_xml_t *x, const u_char *p, size_t len)
{
    const u_char  *end;

    end = p + len;

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
    }

    if (end - p >= 5 && memcmp(p, "<?xml", 5) == 0) {
        if (zae_sts_xml_skip(x, &p, end, "?>") != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    while (p < end) {
        if (*p == '<') {
            if (zae_sts_xml_tag(x, &p, end) != ZAE_OK) {
                return ZAE_ERROR;
            }

            continue;
        }

        if (zae_sts_xml_text(x, &p, end) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (!x->root_done) {
        x->error = x->depth ? "unclosed element" : "no element";
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_sts_xml_skip(zae_sts_xml_t *x, const u_char **pp, const u_char *end,
    const char *close)
{
    size_t         n;
    const u_char  *p;

    n = strlen(close);

    for (p = *pp; end - p >= (ptrdiff_t) n; p++) {
        if (memcmp(p, close, n) == 0) {
            *pp = p + n;
            return ZAE_OK;
        }
    }

    x->error = "unterminated markup";

    return ZAE_ERROR;
}


static int
zae_sts_xml_tag(zae_sts_xml_t *x, const u_char **pp, const u_char *end)
{
    size_t            i, n;
    u_char            quote;
    const u_char     *p, *name;
    zae_sts_field_t  *f;

    p = *pp + 1;

    if (end - p >= 3 && memcmp(p, "!--", 3) == 0) {
        return zae_sts_xml_skip(x, pp, end, "-->");
    }

    if (p < end && (*p == '!' || *p == '?')) {
        x->error = "DOCTYPE, CDATA or processing instruction";
        return ZAE_ERROR;
    }

    if (p < end && *p == '/') {

        /* a closing tag: the name of the open element */

        p++;
        name = p;

        p = zae_sts_xml_name(p, end);

        n = p - name;

        while (p < end && zae_creds_is_space(*p)) {
            p++;
        }

        if (p == end || *p != '>' || x->depth == 0
            || x->path_len - x->name_at[x->depth - 1] != n
            || memcmp(x->path + x->name_at[x->depth - 1], name, n) != 0)
        {
            x->error = "mismatched closing tag";
            return ZAE_ERROR;
        }

        zae_sts_xml_close(x);

        *pp = p + 1;

        return ZAE_OK;
    }

    /* an opening tag */

    if (x->root_done) {
        x->error = "a second root element";
        return ZAE_ERROR;
    }

    if (x->in) {
        x->error = "an element inside a value";
        return ZAE_ERROR;
    }

    name = p;

    p = zae_sts_xml_name(p, end);

    n = p - name;

    if (n == 0 || n > ZAE_STS_NAME_MAX || name[0] == '-' || name[0] == '.'
        || (name[0] >= '0' && name[0] <= '9'))
    {
        x->error = "invalid element name";
        return ZAE_ERROR;
    }

    if (x->depth == ZAE_STS_DEPTH_MAX) {
        x->error = "too deep";
        return ZAE_ERROR;
    }

    /* attributes: name="value" or name='value', skipped */

    for ( ;; ) {
        i = 0;

        while (p < end && zae_creds_is_space(*p)) {
            p++;
            i++;
        }

        if (p == end) {
            x->error = "unterminated tag";
            return ZAE_ERROR;
        }

        if (*p == '>' || (*p == '/' && end - p >= 2 && p[1] == '>')) {
            break;
        }

        if (i == 0 || !(zae_sts_is_name(*p) || *p == ':')) {
            x->error = "invalid attribute";
            return ZAE_ERROR;
        }

        p = zae_sts_xml_name(p, end);

        while (p < end && zae_creds_is_space(*p)) {
            p++;
        }

        if (p == end || *p != '=') {
            x->error = "invalid attribute";
            return ZAE_ERROR;
        }

        p++;

        while (p < end && zae_creds_is_space(*p)) {
            p++;
        }

        if (p == end || (*p != '"' && *p != '\'')) {
            x->error = "invalid attribute";
            return ZAE_ERROR;
        }

        quote = *p++;

        while (p < end && *p != quote && *p != '<') {
            p++;
        }

        if (p == end || *p != quote) {
            x->error = "invalid attribute";
            return ZAE_ERROR;
        }

        p++;
    }

    x->name_at[x->depth] = x->path_len + 1;
    x->path[x->path_len++] = '/';
    memcpy(x->path + x->path_len, name, n);
    x->path_len += n;
    x->path[x->path_len] = '\0';
    x->depth++;

    for (i = 0; i < ZAE_STS_NFIELDS; i++) {
        if (strcmp(x->path, zae_sts_paths[i]) == 0) {
            f = &x->field[i];

            if (f->seen) {
                x->error = "a value given twice";
                return ZAE_ERROR;
            }

            f->seen = 1;
            x->in = f;
        }
    }

    if (*p == '/') {

        /* <Name/>: an empty element */

        zae_sts_xml_close(x);

        p++;
    }

    *pp = p + 1;

    return ZAE_OK;
}


static int
zae_sts_xml_text(zae_sts_xml_t *x, const u_char **pp, const u_char *end)
{
    size_t            n;
    u_char            c;
    uint32_t          cp;
    const u_char     *p, *semi;
    zae_sts_field_t  *f;

    p = *pp;
    f = x->in;

    /* a value's leading space is dropped, its trailing space below */

    while (p < end && *p != '<') {
        c = *p;

        if (x->depth == 0) {
            /* outside the root: only white space */
            if (!zae_creds_is_space(c)) {
                x->error = "text outside the root element";
                return ZAE_ERROR;
            }

            p++;
            continue;
        }

        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            x->error = "a control character";
            return ZAE_ERROR;
        }

        if (c != '&') {
            if (f && !(f->len == 0 && zae_creds_is_space(c))) {
                zae_sts_add(f, c);
            }

            p++;
            continue;
        }

        /* an entity or character reference */

        semi = memchr(p, ';', (size_t) (end - p) < 12 ? end - p : 12);

        if (semi == NULL) {
            x->error = "an unterminated reference";
            return ZAE_ERROR;
        }

        n = semi - p - 1;
        p++;

        if (n == 3 && memcmp(p, "amp", 3) == 0) {
            c = '&';

        } else if (n == 2 && memcmp(p, "lt", 2) == 0) {
            c = '<';

        } else if (n == 2 && memcmp(p, "gt", 2) == 0) {
            c = '>';

        } else if (n == 4 && memcmp(p, "quot", 4) == 0) {
            c = '"';

        } else if (n == 4 && memcmp(p, "apos", 4) == 0) {
            c = '\'';

        } else if (n >= 2 && p[0] == '#') {
            cp = 0;

            if (p[1] == 'x' && n >= 3 && n <= 8) {
                for (p += 2; p < semi; p++) {
                    c = *p;

                    if (c >= '0' && c <= '9') {
                        cp = cp * 16 + (c - '0');

                    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
                        cp = cp * 16 + ((c | 0x20) - 'a' + 10);

                    } else {
                        break;
                    }
                }

            } else if (n <= 8) {
                for (p += 1; p < semi && *p >= '0' && *p <= '9'; p++) {
                    cp = cp * 10 + (*p - '0');
                }
            }

            /* the values wanted are ASCII: other characters are refused */

            if (p != semi || cp < 0x20 || cp >= 0x7f) {
                if (!(p == semi && (cp == '\t' || cp == '\n' || cp == '\r'))) {
                    x->error = "an invalid character reference";
                    return ZAE_ERROR;
                }
            }

            c = (u_char) cp;

        } else {
            x->error = "an unknown entity";
            return ZAE_ERROR;
        }

        if (f) {
            zae_sts_add(f, c);
        }

        p = semi + 1;
    }

    if (f) {
        while (f->len && zae_creds_is_space(f->buf[f->len - 1])) {
            f->len--;
        }
    }

    *pp = p;

    return ZAE_OK;
}


/* the end of an element or attribute name (a prefix "ns:" included) */

static const u_char *
zae_sts_xml_name(const u_char *p, const u_char *end)
{
    while (p < end && (zae_sts_is_name(*p) || *p == ':')) {
        p++;
    }

    return p;
}


/* the open element ends */

static void
zae_sts_xml_close(zae_sts_xml_t *x)
{
    x->depth--;
    x->path_len = x->name_at[x->depth] - 1;
    x->path[x->path_len] = '\0';
    x->in = NULL;

    if (x->depth == 0) {
        x->root_done = 1;
    }
}


static void
zae_sts_add(zae_sts_field_t *f, u_char c)
{
    if (f->len == f->size) {
        f->too_long = 1;
        return;
    }

    f->buf[f->len++] = c;
}
