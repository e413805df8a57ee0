
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin HTTP layer: DynamoDB (and DynamoDB Streams) calls over
 * libcurl, signed with CURLOPT_AWS_SIGV4, with timeouts on every call,
 * the standard retry policy (zae_retry) and the credential chain
 * (zae_creds: environment, shared files, ECS, IMDS).
 */


#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zae_admin.h"


typedef struct {
    zae_buf_t          buf;
    size_t             max;
} zae_admin_sink_t;


#define ZAE_ADMIN_BODY_MAX  (64 * 1024 * 1024)


static size_t zae_admin_write_cb(char *ptr, size_t size, size_t nmemb,
    void *ctx);
static const char *zae_admin_getenv(void *ctx, const char *name);
static int zae_admin_creds(zae_admin_t *a);
static void zae_admin_creds_fail(zae_admin_t *a, const char *last);
static int zae_admin_perform(zae_admin_t *a, const char *url,
    const char *service, const char *ctype, const char *target,
    zae_buf_t *body, zae_admin_sink_t *sink, zae_transport_e *transport);
static void zae_admin_sleep_ms(int64_t ms);


static size_t
zae_admin_write_cb(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    size_t             n;
    zae_admin_sink_t  *sink = ctx;

    n = size * nmemb;

    if (sink->buf.len + n > sink->max
        || zae_buf_add(&sink->buf, ptr, n) != ZAE_OK)
    {
        return 0;
    }

    return n;
}


static const char *
zae_admin_getenv(void *ctx, const char *name)
{
    return getenv(name);
}


static void
zae_admin_sleep_ms(int64_t ms)
{
    struct timespec  ts;

    if (ms <= 0) {
        return;
    }

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* void */
    }
}


int
zae_admin_http_init(zae_admin_t *a)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        zae_admin_error(a, "curl_global_init() failed");
        return ZAE_ERROR;
    }

    a->curl = curl_easy_init();
    if (a->curl == NULL) {
        zae_admin_error(a, "curl_easy_init() failed");
        return ZAE_ERROR;
    }

    if (zae_admin_random(a, (u_char *) &a->random_state,
                         sizeof(a->random_state))
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    zae_retry_policy_init(&a->retry, &a->random_state);

    return ZAE_OK;
}


void
zae_admin_http_done(zae_admin_t *a)
{
    if (a->creds) {
        zae_creds_provider_wipe(a->creds);
        free(a->creds);
        a->creds = NULL;
    }

    if (a->curl) {
        curl_easy_cleanup(a->curl);
        a->curl = NULL;
        curl_global_cleanup();
    }
}


/* the credential chain; the HTTP sources (ECS, IMDS) go through libcurl */

static int
zae_admin_creds(zae_admin_t *a)
{
    int                rc, n;
    long               status;
    CURL              *c;
    char               line[ZAE_CREDS_AUTH_MAX + 128];
    size_t             i;
    CURLcode           cc;
    zae_err_t          err;
    zae_creds_http_t   req;
    zae_admin_sink_t   sink;
    struct curl_slist  *hdrs, *h;

    if (a->creds_ok && !zae_creds_need_refresh(a->creds, time(NULL))) {
        return ZAE_OK;
    }

    if (a->creds == NULL) {
        a->creds = calloc(1, sizeof(zae_creds_provider_t));

        rc = zae_creds_provider_init(a->creds, zae_admin_getenv, NULL, NULL,
                                     &err);
        if (rc == ZAE_ERROR) {
            zae_admin_creds_fail(a, err.msg);
            return ZAE_ERROR;
        }

        /* web identity: the STS of the region in use */

        if (a->creds->source == ZAE_CREDS_SRC_WEB_IDENTITY && a->region
            && zae_creds_set_region(a->creds, (u_char *) a->region,
                                    strlen(a->region), &err)
               != ZAE_OK)
        {
            zae_admin_creds_fail(a, err.msg);
            return ZAE_ERROR;
        }
    }

    for (n = 0; n < 8; n++) {
        rc = zae_creds_next_request(a->creds, time(NULL), &req, &err);

        if (rc == ZAE_OK) {
            a->creds_ok = 1;
            return ZAE_OK;
        }

        if (rc == ZAE_ERROR) {
            zae_admin_creds_fail(a, err.msg);
            return ZAE_ERROR;
        }

        c = curl_easy_init();
        if (c == NULL) {
            zae_admin_error(a, "curl_easy_init() failed");
            return ZAE_ERROR;
        }

        zae_buf_init(&sink.buf, &a->mem, 4096);
        sink.max = 1024 * 1024;
        hdrs = NULL;

        for (i = 0; i < req.nheaders; i++) {
            snprintf(line, sizeof(line), "%.*s: %.*s",
                     (int) req.headers[i].name.len, req.headers[i].name.data,
                     (int) req.headers[i].value.len,
                     req.headers[i].value.data);

            h = curl_slist_append(hdrs, line);
            if (h == NULL) {
                curl_slist_free_all(hdrs);
                curl_easy_cleanup(c);
                return ZAE_ERROR;
            }

            hdrs = h;
        }

        snprintf(line, sizeof(line), "%.*s", (int) req.url.len,
                 req.url.data);

        curl_easy_setopt(c, CURLOPT_URL, line);
        if (req.body.len) {
            /* the STS form: POST */
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) req.body.len);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data);

        } else {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                             req.method.len == 3 && req.method.data[0] == 'P'
                             ? "PUT" : "GET");
        }

        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, zae_admin_write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->curl_err);

        a->curl_err[0] = '\0';

        cc = curl_easy_perform(c);
        status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);

        if (cc != CURLE_OK) {
            snprintf(a->err_msg, sizeof(a->err_msg),
                     "%scannot reach \"%.200s\": %.250s",
                     a->creds->source == ZAE_CREDS_SRC_WEB_IDENTITY
                     ? "web identity: STS " : "", line,
                     a->curl_err[0] ? a->curl_err : curl_easy_strerror(cc));
        }

        rc = zae_creds_response(a->creds, cc == CURLE_OK ? (int) status : 0,
                                sink.buf.data, sink.buf.len, time(NULL),
                                &err);
        if (rc == ZAE_OK) {
            a->creds_ok = 1;
            return ZAE_OK;
        }

        if (rc == ZAE_ERROR) {
            zae_admin_creds_fail(a, cc != CURLE_OK ? a->err_msg : err.msg);
            return ZAE_ERROR;
        }
    }

    zae_admin_creds_fail(a, "too many credential requests");

    return ZAE_ERROR;
}


/*
 * The chain failed: say what each provider lacked, in the chain's
 * order, ending with the last provider's own error ("last")
 */

static void
zae_admin_creds_fail(zae_admin_t *a, const char *last)
{
    const char          *home, *prof, *cred, *conf, *v;
    zae_creds_source_e   src;

    if (strncmp(last, "credentials: ", 13) == 0) {
        last += 13;
    }

    src = a->creds ? a->creds->source : ZAE_CREDS_SRC_NONE;

    if (src != ZAE_CREDS_SRC_ECS && src != ZAE_CREDS_SRC_IMDS
        && strncmp(last, "no aws credentials found", 24) != 0)
    {
        /* a provider had something, but not something usable */

        zae_admin_error(a, "no AWS credentials: %s", last);
        return;
    }

    home = getenv("HOME");
    home = home ? home : "~";
    prof = getenv("AWS_PROFILE");
    prof = prof && *prof ? prof : "default";
    cred = getenv("AWS_SHARED_CREDENTIALS_FILE");
    conf = getenv("AWS_CONFIG_FILE");

    zae_admin_error(a, "no AWS credentials; the chain tried, in order:");

    fprintf(stderr, "  environment: AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY are not set\n");

    fprintf(stderr, "  web identity: AWS_WEB_IDENTITY_TOKEN_FILE and "
            "AWS_ROLE_ARN are not set\n");

    fprintf(stderr, "  shared files: no keys for profile \"%s\" in "
            "\"%s%s\" or \"%s%s\"\n", prof, cred ? cred : home,
            cred ? "" : "/.aws/credentials", conf ? conf : home,
            conf ? "" : "/.aws/config");

    if (src == ZAE_CREDS_SRC_ECS) {
        fprintf(stderr, "  container endpoint: %s\n", last);

    } else {
        fprintf(stderr, "  container endpoint: "
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set\n");

        v = getenv("AWS_EC2_METADATA_DISABLED");

        fprintf(stderr, "  instance metadata: %s\n",
                src == ZAE_CREDS_SRC_IMDS ? last
                : (v ? "disabled by AWS_EC2_METADATA_DISABLED" : last));
    }

    fprintf(stderr, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any "
            "values for DynamoDB Local),\nor AWS_PROFILE with a profile in "
            "the shared credentials file\n");
}


static int
zae_admin_perform(zae_admin_t *a, const char *url, const char *service,
    const char *ctype, const char *target, zae_buf_t *body,
    zae_admin_sink_t *sink, zae_transport_e *transport)
{
    char                    line[ZAE_CREDS_TOKEN_MAX + 64];
    char                    user[ZAE_CREDS_AKID_MAX + ZAE_CREDS_SECRET_MAX];
    char                    sigv4[128];
    CURLcode                cc;
    struct curl_slist      *hdrs, *h;
    const zae_aws_creds_t  *cr;

    cr = zae_creds_get(a->creds);
    if (cr == NULL) {
        zae_admin_error(a, "no AWS credentials");
        return ZAE_ERROR;
    }

    hdrs = NULL;

    if (target) {
        snprintf(line, sizeof(line), "X-Amz-Target: %s", target);
        h = curl_slist_append(hdrs, line);
        if (h == NULL) {
            return ZAE_ERROR;
        }

        hdrs = h;
    }

    snprintf(line, sizeof(line), "Content-Type: %s", ctype);

    h = curl_slist_append(hdrs, line);
    if (h == NULL) {
        curl_slist_free_all(hdrs);
        return ZAE_ERROR;
    }

    hdrs = h;

    if (cr->session_token.len) {
        snprintf(line, sizeof(line), "X-Amz-Security-Token: %.*s",
                 (int) cr->session_token.len, cr->session_token.data);

        h = curl_slist_append(hdrs, line);
        if (h == NULL) {
            curl_slist_free_all(hdrs);
            return ZAE_ERROR;
        }

        hdrs = h;
    }

    snprintf(user, sizeof(user), "%.*s:%.*s",
             (int) cr->access_key.len, cr->access_key.data,
             (int) cr->secret_key.len, cr->secret_key.data);
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:%s", a->region, service);

    curl_easy_reset(a->curl);
    curl_easy_setopt(a->curl, CURLOPT_URL, url);
    curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, (char *) body->data);
    curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long) body->len);
    curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(a->curl, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(a->curl, CURLOPT_USERPWD, user);
    curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, zae_admin_write_cb);
    curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(a->curl, CURLOPT_ERRORBUFFER, a->curl_err);
    curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS,
                     (long) ZAE_ADMIN_TIMEOUT_MS);
    curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) ZAE_ADMIN_CONNECT_MS);
    curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(a->curl, CURLOPT_USERAGENT,
                     "zae-admin/" ZAE_ADMIN_VERSION);

    a->curl_err[0] = '\0';

    cc = curl_easy_perform(a->curl);

    memset(user, 0, sizeof(user));
    curl_easy_setopt(a->curl, CURLOPT_USERPWD, "");
    curl_slist_free_all(hdrs);

    a->http_status = 0;

    switch (cc) {

    case CURLE_OK:
        curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->http_status);
        *transport = ZAE_TRANSPORT_OK;
        return ZAE_OK;

    case CURLE_OPERATION_TIMEDOUT:
        *transport = ZAE_TRANSPORT_TIMEOUT;
        break;

    case CURLE_COULDNT_CONNECT:
        *transport = ZAE_TRANSPORT_REFUSED;
        break;

    case CURLE_WRITE_ERROR:
        zae_admin_error(a, "response from \"%s\" too large", url);
        return ZAE_ERROR;

    default:
        *transport = ZAE_TRANSPORT_RESET;
        break;
    }

    snprintf(a->err_code, sizeof(a->err_code), "ConnectionError");
    snprintf(a->err_msg, sizeof(a->err_msg), "%s",
             a->curl_err[0] ? a->curl_err : curl_easy_strerror(cc));

    return ZAE_DECLINED;
}


/*
 * One call with the project's retry policy, for every AWS service:
 * "attempt" makes one request and returns ZAE_OK (done), ZAE_DECLINED
 * (an error answer or a transport failure: a->err_code, err_msg,
 * http_status say which) or ZAE_ERROR (fatal, reported).  When the
 * attempts are spent: ZAE_ERROR, reported, if the endpoint could not be
 * reached or a retryable error persisted; else ZAE_DECLINED, for the
 * caller to judge the error.
 */

int
zae_admin_retry(zae_admin_t *a, const char *what, const char *url,
    zae_admin_attempt_pt attempt, void *ctx)
{
    int                 rc;
    int64_t             delay;
    zae_retry_op_t      op;
    zae_transport_e     transport;
    zae_retry_class_e   cls;

    zae_retry_op_init(&op);

    for ( ;; ) {
        a->err_code[0] = '\0';
        a->err_msg[0] = '\0';
        a->err_body = NULL;
        a->http_status = 0;
        transport = ZAE_TRANSPORT_OK;

        rc = attempt(a, ctx, &transport);

        if (rc == ZAE_ERROR) {
            return ZAE_ERROR;
        }

        if (rc == ZAE_OK) {
            zae_retry_success(&a->retry, &op);
            return ZAE_OK;
        }

        cls = zae_retry_classify((u_char *) a->err_code, strlen(a->err_code),
                                 (int) a->http_status, transport);

        if (zae_retry_next_delay(&a->retry, &op, cls, zae_admin_now_ms(), 0,
                                 &delay)
            != ZAE_OK)
        {
            break;
        }

        zae_admin_sleep_ms(delay);
    }

    if (transport != ZAE_TRANSPORT_OK) {
        zae_admin_error(a, "cannot reach \"%s\": %s", url, a->err_msg);
        return ZAE_ERROR;
    }

    if (cls != ZAE_RETRY_NOT_RETRYABLE) {
        zae_admin_error(a, "%s failed after retries: %s: %s", what,
                        a->err_code, a->err_msg);
        return ZAE_ERROR;
    }

    return ZAE_DECLINED;
}


/* one DynamoDB (or DynamoDB Streams) request of zae_admin_ddb() */

typedef struct {
    const char         *url;
    const char         *target;
    zae_buf_t          *body;
    zae_av_t          **resp;
} zae_admin_ddb_call_t;


static int
zae_admin_ddb_attempt(zae_admin_t *a, void *ctx, zae_transport_e *transport)
{
    int                    rc;
    zae_av_t              *root, *v;
    zae_err_t              err;
    zae_str_t              s;
    const char            *p;
    zae_admin_sink_t       sink;
    zae_admin_ddb_call_t  *c = ctx;

    zae_buf_init(&sink.buf, &a->mem, 4096);
    sink.max = ZAE_ADMIN_BODY_MAX;

    rc = zae_admin_perform(a, c->url, "dynamodb",
                           "application/x-amz-json-1.0", c->target, c->body,
                           &sink, transport);
    if (rc != ZAE_OK) {
        return rc;
    }

    root = NULL;

    if (zae_json_parse(&a->mem, sink.buf.data, sink.buf.len, NULL, &root,
                       &err)
        != ZAE_OK)
    {
        if (a->http_status == 200) {
            zae_admin_error(a, "invalid response to \"%s\": %s",
                            zae_admin_shown(a, c->target), err.msg);
            return ZAE_ERROR;
        }

        root = NULL;
    }

    if (a->http_status == 200) {
        if (c->resp) {
            *c->resp = root;
        }

        return ZAE_OK;
    }

    /* an error answer: {"__type":"...#Code","message":"..."} */

    snprintf(a->err_code, sizeof(a->err_code), "HTTP%ld", a->http_status);
    snprintf(a->err_msg, sizeof(a->err_msg), "HTTP status %ld",
             a->http_status);
    a->err_body = root;

    if (root == NULL) {
        return ZAE_DECLINED;
    }

    v = zae_json_get(root, "__type");

    if (v && zae_av_get_str(v, &s) == ZAE_OK) {
        p = (char *) s.data + s.len;

        while (p > (char *) s.data && p[-1] != '#') {
            p--;
        }

        snprintf(a->err_code, sizeof(a->err_code), "%.*s",
                 (int) (s.len - (p - (char *) s.data)), p);
    }

    v = zae_json_get(root, "message");
    if (v == NULL) {
        v = zae_json_get(root, "Message");
    }

    if (v && zae_av_get_str(v, &s) == ZAE_OK) {
        snprintf(a->err_msg, sizeof(a->err_msg), "%.*s", (int) s.len,
                 s.data);
    }

    return ZAE_DECLINED;
}


/*
 * A DynamoDB (or DynamoDB Streams) call with retries.  ZAE_OK: *resp is
 * the parsed answer (resp may be NULL).  ZAE_DECLINED: DynamoDB
 * answered with an error, a->err_code/err_msg/err_body say which.
 * ZAE_ERROR: the call failed (transport, retries exhausted,
 * credentials); a message was printed.
 */

int
zae_admin_ddb(zae_admin_t *a, zae_ddb_op_e op, zae_buf_t *body,
    zae_av_t **resp)
{
    char                  url[1024];
    const zae_ddb_op_t   *dop;
    zae_admin_ddb_call_t  c;

    dop = zae_ddb_op(op);

    zae_buf_add(body, "", 1);
    body->len--;

    if (zae_admin_creds(a) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (a->endpoint) {
        snprintf(url, sizeof(url), "%s", a->endpoint);

    } else {
        snprintf(url, sizeof(url), "https://%s.%s.amazonaws.com/",
                 dop->service, a->region);
    }

    c.url = url;
    c.target = zae_ddb_target(op);
    c.body = body;
    c.resp = resp;

    return zae_admin_retry(a, c.target, url, zae_admin_ddb_attempt, &c);
}


/* report the last DynamoDB error of an operation on "what" */

int
zae_admin_fail_ddb(zae_admin_t *a, const char *what)
{
    if (zae_admin_is(a, "ResourceNotFoundException")) {
        zae_admin_error(a, "%s: table \"%s\" not found (run \"zae-admin "
                        "deploy\" first)", what, a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_error(a, "%s: %s: %s", what, a->err_code, a->err_msg);

    return ZAE_ADMIN_EXIT_FAILED;
}


/*
 * The result of a call whose DynamoDB errors all fail the command: a
 * ZAE_DECLINED is reported as "what: code: message" and becomes
 * ZAE_ERROR; ZAE_OK and ZAE_ERROR pass through
 */

int
zae_admin_check(zae_admin_t *a, int rc, const char *what)
{
    if (rc == ZAE_DECLINED) {
        zae_admin_fail_ddb(a, what);
        return ZAE_ERROR;
    }

    return rc;
}


/*
 * The result of a conditional write: ZAE_OK, ZAE_DECLINED when its
 * condition failed (the item moved on or is not there: no error), else
 * ZAE_ERROR, reported
 */

int
zae_admin_conditional(zae_admin_t *a, int rc, const char *what)
{
    if (rc == ZAE_DECLINED
        && !zae_admin_is(a, "ConditionalCheckFailedException"))
    {
        zae_admin_fail_ddb(a, what);
        return ZAE_ERROR;
    }

    return rc;
}


int
zae_admin_is(zae_admin_t *a, const char *code)
{
    return strcmp(a->err_code, code) == 0;
}


/* whether CancellationReasons[i].Code of the last error is code */

int
zae_admin_cancel_reason(zae_admin_t *a, size_t i, const char *code)
{
    zae_av_t   *r, *c;
    zae_str_t   s;

    if (!zae_admin_is(a, "TransactionCanceledException")
        || a->err_body == NULL)
    {
        return 0;
    }

    r = zae_json_get(a->err_body, "CancellationReasons");
    if (r == NULL || r->type != ZAE_AV_L || i >= r->nitems) {
        return 0;
    }

    c = zae_json_get(r->items[i], "Code");
    if (c == NULL || zae_av_get_str(c, &s) != ZAE_OK) {
        return 0;
    }

    return s.len == strlen(code) && memcmp(s.data, code, s.len) == 0;
}


zae_str_t
zae_admin_cat(zae_admin_t *a, const char *fmt, ...)
{
    int        n;
    va_list    args;
    zae_str_t  s;

    s.len = 0;
    s.data = NULL;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (n < 0) {
        return s;
    }

    s.data = zae_alloc(&a->mem, (size_t) n + 1);
    if (s.data == NULL) {
        return s;
    }

    va_start(args, fmt);
    vsnprintf((char *) s.data, (size_t) n + 1, fmt, args);
    va_end(args);

    s.len = (size_t) n;

    return s;
}


int
zae_admin_body_start(zae_admin_t *a, zae_buf_t *b)
{
    zae_buf_init(b, &a->mem, 1024);
    zae_buf_add_str(b, "{\"TableName\":");

    return zae_json_add_string(b, (u_char *) a->table, strlen(a->table));
}


/* the primary key as a typed map */

zae_av_t *
zae_admin_key_av(zae_mem_t *mem, zae_str_t *pk, zae_str_t *sk)
{
    zae_keys_t  k;

    memset(&k, 0, sizeof(zae_keys_t));
    k.pk = *pk;
    k.sk = *sk;

    return zae_keys_key(mem, &k);
}


/*
 * An item operation (GetItem, PutItem, UpdateItem, DeleteItem, Query)
 * built by the core's builder of op: TableName is ours
 */

typedef int (*zae_admin_build_pt)(zae_buf_t *b, const zae_ddb_req_t *r);

static const zae_admin_build_pt  zae_admin_builders[ZAE_DDB_OP_MAX] = {
    [ZAE_DDB_GET_ITEM] = zae_ddb_get_item,
    [ZAE_DDB_PUT_ITEM] = zae_ddb_put_item,
    [ZAE_DDB_UPDATE_ITEM] = zae_ddb_update_item,
    [ZAE_DDB_DELETE_ITEM] = zae_ddb_delete_item,
    [ZAE_DDB_QUERY] = zae_ddb_query
};


static int
zae_admin_request(zae_admin_t *a, zae_ddb_op_e op, zae_ddb_req_t *r,
    zae_av_t **resp)
{
    int        rc;
    zae_buf_t  b;

    r->table = zae_admin_str(a->table);

    zae_buf_init(&b, &a->mem, 1024);

    rc = zae_admin_builders[op] ? zae_admin_builders[op](&b, r) : ZAE_ERROR;

    if (rc != ZAE_OK) {
        zae_admin_error(a, "invalid %s request", zae_ddb_op_name(op));
        return ZAE_ERROR;
    }

    return zae_admin_ddb(a, op, &b, resp);
}


/*
 * GetItem: ZAE_OK with *item (a typed item) or NULL when absent;
 * ZAE_DECLINED on a DynamoDB error; ZAE_ERROR otherwise
 */

int
zae_admin_get_item(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    int consistent, zae_av_t **item)
{
    int            rc;
    zae_av_t      *resp, *it;
    zae_err_t      err;
    zae_ddb_req_t  r;

    *item = NULL;

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.key = zae_admin_key_av(&a->mem, pk, sk);
    r.consistent_read = consistent ? 1 : 0;

    rc = zae_admin_request(a, ZAE_DDB_GET_ITEM, &r, &resp);
    if (rc != ZAE_OK) {
        return rc;
    }

    it = resp ? zae_json_get(resp, "Item") : NULL;

    if (it) {
        if (zae_item_from_ddb(it, &err) != ZAE_OK) {
            zae_admin_error(a, "invalid item \"%.*s\" \"%.*s\": %s",
                            (int) pk->len, pk->data, (int) sk->len,
                            sk->data, err.msg);
            return ZAE_ERROR;
        }

        *item = it;
    }

    return ZAE_OK;
}


/* a consistent GetItem whose DynamoDB errors fail the command */

int
zae_admin_read(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    const char *what, zae_av_t **item)
{
    return zae_admin_check(a, zae_admin_get_item(a, pk, sk, 1, item), what);
}


/*
 * PutItem of an item the core's record encoders wrote as DynamoDB JSON:
 * read back into a typed map for the core's builder
 */

int
zae_admin_put_item(zae_admin_t *a, zae_buf_t *item, const char *cond)
{
    zae_av_t   *it;
    zae_err_t   err;

    if (item->failed) {
        zae_admin_error(a, "out of memory");
        return ZAE_ERROR;
    }

    if (zae_item_parse(&a->mem, item->data, item->len, &it, &err)
        != ZAE_OK)
    {
        zae_admin_error(a, "invalid PutItem request: %s", err.msg);
        return ZAE_ERROR;
    }

    return zae_admin_put_av(a, it, cond);
}


/* UpdateItem built by the core's builder: key, update, names, values... */

int
zae_admin_update(zae_admin_t *a, zae_ddb_req_t *r, zae_av_t **resp)
{
    return zae_admin_request(a, ZAE_DDB_UPDATE_ITEM, r, resp);
}


/* TransactWriteItems of n actions, built by the core's builder */

int
zae_admin_transact(zae_admin_t *a, zae_ddb_action_t *acts, size_t n)
{
    size_t     i;
    zae_buf_t  b;

    for (i = 0; i < n; i++) {
        acts[i].req.table = zae_admin_str(a->table);
    }

    zae_buf_init(&b, &a->mem, 2048);

    if (zae_ddb_transact_write(&b, acts, n, NULL, NULL) != ZAE_OK) {
        zae_admin_error(a, "cannot build the TransactWriteItems request");
        return ZAE_ERROR;
    }

    return zae_admin_ddb(a, ZAE_DDB_TRANSACT_WRITE_ITEMS, &b, NULL);
}


/* PutItem of a typed item, built by the core's builder */

int
zae_admin_put_av(zae_admin_t *a, zae_av_t *item, const char *cond)
{
    zae_ddb_req_t  r;

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.item = item;
    r.condition = zae_admin_str(cond);

    return zae_admin_request(a, ZAE_DDB_PUT_ITEM, &r, NULL);
}


int
zae_admin_delete_item(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    const char *cond)
{
    zae_ddb_req_t  r;

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.key = zae_admin_key_av(&a->mem, pk, sk);
    r.condition = zae_admin_str(cond);

    return zae_admin_request(a, ZAE_DDB_DELETE_ITEM, &r, NULL);
}


/*
 * Query with paging, r built by the caller for zae_ddb_query() (the
 * table and ExclusiveStartKey are set here); items are typed.  At most
 * max items are returned (0: no limit other than memory).
 */

int
zae_admin_query(zae_admin_t *a, zae_ddb_req_t *r, zae_av_t ***items,
    size_t *nitems, size_t max)
{
    int              rc;
    size_t           n, cap, i, pages;
    zae_av_t        *resp, **out, **nout;
    zae_err_t        err;
    zae_ddb_page_t   page;

    n = 0;
    cap = 0;
    out = NULL;

    for (pages = 0; pages < 100000; pages++) {
        rc = zae_admin_request(a, ZAE_DDB_QUERY, r, &resp);
        if (rc != ZAE_OK) {
            return rc;
        }

        if (zae_ddb_result_page(resp, &page, &err) != ZAE_OK) {
            zae_admin_error(a, "invalid query answer: %s", err.msg);
            return ZAE_ERROR;
        }

        for (i = 0; i < page.nitems && !(max && n == max); i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                nout = zae_alloc(&a->mem, cap * sizeof(zae_av_t *));

                if (n) {
                    memcpy(nout, out, n * sizeof(zae_av_t *));
                }

                out = nout;
            }

            out[n++] = page.items[i];
        }

        if (page.last_key == NULL || (max && n == max)) {
            break;
        }

        r->start_key = page.last_key;
    }

    *items = out;
    *nitems = n;

    return ZAE_OK;
}


/*
 * The common query on a group of records (zae_query_key(), in the
 * namespace ns, NULL: the command's): "hash = :k", and "AND
 * begins_with(range, :p)" when the group has a sort-key prefix, on the
 * index of a GSI key ("GSI2PK": GSI2), else the table; r may be NULL,
 * or set a filter and its values, the direction, consistency, a limit,
 * a start key.  Errors of DynamoDB are reported as "what: ...".
 */

int
zae_admin_query_key(zae_admin_t *a, zae_ddb_req_t *r, zae_query_e which,
    zae_str_t *ns, zae_str_t *id, zae_str_t *sub, size_t max,
    const char *what, zae_av_t ***items, size_t *n)
{
    zae_av_t         *values;
    zae_ddb_req_t     plain;
    zae_query_key_t   qk;

    if (r == NULL) {
        memset(&plain, 0, sizeof(zae_ddb_req_t));
        r = &plain;
    }

    /* the admin allocator exits on out-of-memory: nothing else fails */

    (void) zae_query_key(&a->mem, &qk, which, ns ? ns : &a->nsid, id, sub);

    if (r->index.len == 0 && strncmp(qk.hash, "GSI", 3) == 0) {
        r->index.data = (u_char *) qk.hash;
        r->index.len = 4;                       /* "GSI1PK" is on "GSI1" */
    }

    values = r->values ? (zae_av_t *) r->values : zae_av_map(&a->mem);

    zae_item_set_s(&a->mem, values, ":k", qk.key.data, qk.key.len);

    if (qk.range) {
        zae_item_set_s(&a->mem, values, ":p", qk.prefix.data,
                       qk.prefix.len);
        r->key_condition = zae_admin_cat(a, "%s = :k AND begins_with(%s, "
                                         ":p)", qk.hash, qk.range);

    } else {
        r->key_condition = zae_admin_cat(a, "%s = :k", qk.hash);
    }

    r->values = values;

    return zae_admin_check(a, zae_admin_query(a, r, items, n, max), what);
}


/*
 * A signed POST to another AWS service (CloudFormation, STS): one
 * attempt; ZAE_OK with *out and a->http_status, ZAE_DECLINED on a
 * transport failure (a->err_msg), ZAE_ERROR otherwise
 */

int
zae_admin_post(zae_admin_t *a, const char *url, const char *service,
    const char *ctype, zae_buf_t *body, zae_buf_t *out,
    zae_transport_e *transport)
{
    int               rc;
    zae_admin_sink_t  sink;

    zae_buf_add(body, "", 1);

    body->len--;

    if (zae_admin_creds(a) != ZAE_OK) {
        return ZAE_ERROR;
    }

    zae_buf_init(&sink.buf, &a->mem, 4096);
    sink.max = ZAE_ADMIN_BODY_MAX;

    rc = zae_admin_perform(a, url, service, ctype, NULL, body, &sink,
                           transport);

    if (rc == ZAE_OK && zae_buf_add(&sink.buf, "", 1) == ZAE_OK) {
        sink.buf.len--;
        *out = sink.buf;
    }

    return rc;
}
