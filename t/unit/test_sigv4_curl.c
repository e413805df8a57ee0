
/*
 * Copyright (C) zae-limit authors
 *
 * Cross-check: DynamoDB requests signed by libcurl (CURLOPT_AWS_SIGV4)
 * and by zae_sigv4_sign_dynamodb() must carry the same Authorization.
 * curl talks to a loopback server in a thread of this test; its
 * outgoing headers are read through CURLOPT_DEBUGFUNCTION.
 */


#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_creds.h"
#include "zae_sigv4.h"


#define T_SERVER_MAX  64


typedef struct {
    int                  fd;
    int                  nreq;
} t_server_t;


typedef struct {
    char                 date[64];
    char                 auth[512];
    char                 host[128];
    char                 token[1024];
} t_sent_t;


typedef struct {
    const char          *region;
    const char          *target;
    const char          *body;
    const char          *token;
    int64_t              now;
} t_case_t;


static const char  *t_akid = "AKIDZAELIMITTEST";
static const char  *t_secret = "zaeLimit/Secret+Key0123456789abcdefEXAMPLE";


/* read one request (headers and Content-Length body), answer 200 */

static void
t_serve_one(int c)
{
    char     buf[65536], *eoh, *cl;
    size_t   len, need;
    ssize_t  n;
    const char  *answer = "HTTP/1.1 200 OK\r\nContent-Type: "
                          "application/x-amz-json-1.0\r\n"
                          "Content-Length: 2\r\nConnection: close\r\n\r\n{}";

    len = 0;
    need = 0;

    for ( ;; ) {
        if (len == sizeof(buf) - 1) {
            break;
        }

        n = read(c, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            break;
        }

        len += n;
        buf[len] = '\0';

        eoh = strstr(buf, "\r\n\r\n");
        if (eoh == NULL) {
            continue;
        }

        if (need == 0) {
            cl = strstr(buf, "\r\nContent-Length:");
            need = (eoh - buf) + 4 + (cl ? strtoul(cl + 17, NULL, 10) : 0);
        }

        if (len >= need) {
            break;
        }
    }

    if (write(c, answer, strlen(answer)) < 0) {
        /* curl will report it */
    }

    close(c);
}


static void *
t_server(void *arg)
{
    int            c, i;
    t_server_t    *s = arg;
    struct pollfd  pfd;

    for (i = 0; i < s->nreq; i++) {

        /* never hang the test if curl gave up before connecting */

        pfd.fd = s->fd;
        pfd.events = POLLIN;

        if (poll(&pfd, 1, 10000) <= 0) {
            break;
        }

        c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }

            break;
        }

        t_serve_one(c);
    }

    return NULL;
}


static void
t_header(const char *data, size_t size, const char *name, char *out,
    size_t out_size)
{
    size_t       n, len;
    const char  *p, *end, *eol;

    n = strlen(name);
    p = data;
    end = data + size;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if ((size_t) (eol - p) > n + 1 && strncasecmp(p, name, n) == 0
            && p[n] == ':')
        {
            p += n + 1;

            while (p < eol && *p == ' ') {
                p++;
            }

            len = eol - p;

            if (len && p[len - 1] == '\r') {
                len--;
            }

            if (len >= out_size) {
                len = out_size - 1;
            }

            memcpy(out, p, len);
            out[len] = '\0';

            return;
        }

        p = eol + 1;
    }
}


static int
t_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
    t_sent_t  *sent = ctx;

    if (type == CURLINFO_HEADER_OUT) {
        t_header(data, size, "X-Amz-Date", sent->date, sizeof(sent->date));
        t_header(data, size, "Authorization", sent->auth,
                 sizeof(sent->auth));
        t_header(data, size, "Host", sent->host, sizeof(sent->host));
        t_header(data, size, "X-Amz-Security-Token", sent->token,
                 sizeof(sent->token));
    }

    return 0;
}


static size_t
t_discard(char *ptr, size_t size, size_t n, void *ctx)
{
    return size * n;
}


/* curl signs; returns the HTTP status or -1 */

static long
t_curl(int port, t_case_t *tc, const char *date, t_sent_t *sent)
{
    CURL               *h;
    long                status;
    char                url[64], sigv4[128], hdr[1100];
    CURLcode            rc;
    struct curl_slist  *headers, *l;

    memset(sent, 0, sizeof(t_sent_t));

    h = curl_easy_init();
    if (h == NULL) {
        return -1;
    }

    headers = NULL;

    snprintf(hdr, sizeof(hdr), "X-Amz-Target: %s", tc->target);
    headers = curl_slist_append(headers, hdr);
    l = curl_slist_append(headers,
                          "Content-Type: " ZAE_DYNAMODB_CONTENT_TYPE);
    headers = l ? l : headers;

    if (date) {
        snprintf(hdr, sizeof(hdr), "X-Amz-Date: %s", date);
        l = curl_slist_append(headers, hdr);
        headers = l ? l : headers;
    }

    if (tc->token) {
        snprintf(hdr, sizeof(hdr), "X-Amz-Security-Token: %s", tc->token);
        l = curl_slist_append(headers, hdr);
        headers = l ? l : headers;
    }

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:dynamodb", tc->region);
    snprintf(hdr, sizeof(hdr), "%s:%s", t_akid, t_secret);

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, hdr);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, tc->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(tc->body));
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, t_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, sent);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, t_discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");

    rc = curl_easy_perform(h);

    status = -1;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);

    } else {
        printf("# curl: %s\n", curl_easy_strerror(rc));
    }

    curl_easy_cleanup(h);
    curl_slist_free_all(headers);

    return status;
}


/* "20150830T123600Z" to unix seconds */

static int64_t
t_amz_time(const char *amz)
{
    int      y, mo, d, hh, mi, ss;
    char     iso[64];
    int64_t  ts;

    if (sscanf(amz, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &hh, &mi, &ss)
        != 6)
    {
        return -1;
    }

    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, hh,
             mi, ss);

    if (zae_creds_parse_time((u_char *) iso, strlen(iso), &ts) != ZAE_OK) {
        return -1;
    }

    return ts;
}


static int
t_sign(zae_mem_t *mem, t_case_t *tc, const char *host, int64_t now,
    const char *secret, zae_sigv4_cache_t *cache, zae_str_t *date,
    zae_str_t *auth)
{
    zae_err_t        err;
    zae_str_t        region, shost, target, body;
    zae_aws_creds_t  creds;

    memset(&creds, 0, sizeof(zae_aws_creds_t));
    creds.access_key.data = (u_char *) t_akid;
    creds.access_key.len = strlen(t_akid);
    creds.secret_key.data = (u_char *) secret;
    creds.secret_key.len = strlen(secret);

    if (tc->token) {
        creds.session_token.data = (u_char *) tc->token;
        creds.session_token.len = strlen(tc->token);
    }

    region.data = (u_char *) tc->region;
    region.len = strlen(tc->region);
    shost.data = (u_char *) host;
    shost.len = strlen(host);
    target.data = (u_char *) tc->target;
    target.len = strlen(tc->target);
    body.data = (u_char *) tc->body;
    body.len = strlen(tc->body);

    if (zae_sigv4_sign_dynamodb(mem, &creds, cache, &region, &shost, &target,
                                &body, now, date, auth, &err)
        != ZAE_OK)
    {
        printf("# sign: %s\n", err.msg);
        return -1;
    }

    return 0;
}


int
main(void)
{
    int                 fd, port, i, ncases, pinned;
    char                big[12001], mine[512], date[32];
    long                status;
    int64_t             ts;
    pthread_t           tid;
    socklen_t           slen;
    zae_str_t           zdate, zauth;
    zae_mem_t           mem;
    t_sent_t            sent;
    zae_arena_t         arena;
    t_server_t          srv;
    zae_sigv4_cache_t   cache;
    struct sockaddr_in  sin;
    t_case_t            cases[] = {
        { "us-east-1", "DynamoDB_20120810.GetItem",
          "{\"TableName\":\"zae\",\"Key\":{\"PK\":{\"S\":\"ENTITY#a\"},"
          "\"SK\":{\"S\":\"#META\"}}}", NULL, 1764097200 },
        { "eu-west-2", "DynamoDB_20120810.UpdateItem",
          "{\"TableName\":\"zae\",\"UpdateExpression\":\"ADD #t :v\","
          "\"ExpressionAttributeValues\":{\":v\":{\"N\":\"-1500\"}},"
          "\"note\":\"caf\xc3\xa9 \\u00e9\"}",
          "FwoGZXIvYXdzEBYaDEXAMPLETOKEN//////////wEaDPlus+Slash/Eq==",
          1764115199 },
        { "ap-southeast-1", "DynamoDB_20120810.TransactWriteItems", "{}",
          "IQoJb3JpZ2luX2VjEXAMPLE", 1764115200 },
        { "us-west-2", "DynamoDB_20120810.Query", big, NULL, 1700000000 },
        { "local", "DynamoDB_20120810.ListTables", "", NULL, 946684800 },
        { "eu-central-1", "DynamoDB_20120810.BatchGetItem",
          "{\"RequestItems\":{}}", "A", 4102444799LL },
    };

    ncases = sizeof(cases) / sizeof(cases[0]);

    memset(big, 'x', sizeof(big) - 1);
    memcpy(big, "{\"k\":\"", 6);
    memcpy(big + sizeof(big) - 3, "\"}", 2);
    big[sizeof(big) - 1] = '\0';

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ok(0, "curl_global_init");
        return tap_done();
    }

    fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    slen = sizeof(sin);

    if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0
        || listen(fd, 16) != 0
        || getsockname(fd, (struct sockaddr *) &sin, &slen) != 0)
    {
        ok(0, "loopback listener: %s", strerror(errno));
        return tap_done();
    }

    port = ntohs(sin.sin_port);

    /* one request per case twice (pinned and unpinned date) */

    srv.fd = fd;
    srv.nreq = ncases * 2;

    if (pthread_create(&tid, NULL, t_server, &srv) != 0) {
        ok(0, "server thread");
        return tap_done();
    }

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);
    zae_sigv4_cache_init(&cache);

    for (i = 0; i < ncases; i++) {

        /* 1: curl with an explicit X-Amz-Date, our signer at that time */

        if (zae_sigv4_format_date(cases[i].now, (u_char *) date) != ZAE_OK) {
            ok(0, "format date");
            continue;
        }

        status = t_curl(port, &cases[i], date, &sent);
        is_int(status, 200, "case %d (%s %s): curl request answered", i,
               cases[i].region, cases[i].target);

        pinned = (strcmp(sent.date, date) == 0);
        ok(sent.auth[0] != '\0', "case %d: curl sent Authorization", i);

        if (!pinned) {
            printf("# curl did not keep X-Amz-Date \"%s\", sent \"%s\"\n",
                   date, sent.date);
        }

        /* if curl ignored the header, sign at the time it used */

        ts = pinned ? cases[i].now : t_amz_time(sent.date);

        ok(pinned, "case %d: curl signs at the given X-Amz-Date", i);

        if (t_sign(&mem, &cases[i], sent.host, ts, t_secret, &cache, &zdate,
                   &zauth)
            != 0)
        {
            ok(0, "case %d: signed", i);
            continue;
        }

        snprintf(mine, sizeof(mine), "%.*s", (int) zauth.len,
                 (char *) zauth.data);

        is_str(mine, sent.auth, "case %d: same Authorization as curl", i);
        ok(zdate.len == strlen(sent.date)
           && memcmp(zdate.data, sent.date, zdate.len) == 0,
           "case %d: same X-Amz-Date as curl", i);

        if (cases[i].token) {
            is_str(sent.token, cases[i].token,
                   "case %d: token header sent", i);
            ok(strstr(sent.auth, "x-amz-security-token") != NULL,
               "case %d: token signed by curl", i);
        }

        /* a different secret gives a different signature */

        if (t_sign(&mem, &cases[i], sent.host, ts, "another-secret", NULL,
                   &zdate, &zauth)
            == 0)
        {
            snprintf(mine, sizeof(mine), "%.*s", (int) zauth.len,
                     (char *) zauth.data);
            ok(strcmp(mine, sent.auth) != 0,
               "case %d: another secret differs", i);
        }

        /* 2: curl picks the time itself; sign at the date it sent */

        status = t_curl(port, &cases[i], NULL, &sent);
        is_int(status, 200, "case %d: unpinned curl request answered", i);

        ts = t_amz_time(sent.date);

        ok(ts > 0, "case %d: curl's own X-Amz-Date \"%s\" parsed", i,
           sent.date);

        if (ts > 0
            && t_sign(&mem, &cases[i], sent.host, ts, t_secret, &cache,
                      &zdate, &zauth)
               == 0)
        {
            snprintf(mine, sizeof(mine), "%.*s", (int) zauth.len,
                     (char *) zauth.data);
            is_str(mine, sent.auth,
                   "case %d: same Authorization at curl's own time", i);
        }
    }

    pthread_join(tid, NULL);
    close(fd);

    ok(cache.valid && cache.derived >= 1, "key cache used (%u derivations)",
       cache.derived);

    zae_sigv4_cache_wipe(&cache);
    zae_arena_free(&arena);
    curl_global_cleanup();

    return tap_done();
}
