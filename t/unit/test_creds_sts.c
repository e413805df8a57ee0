
/*
 * Copyright (C) zae-limit authors
 *
 * Web identity (issue 10 point 12): the environment, the STS
 * AssumeRoleWithWebIdentity request (form, endpoint, token read again),
 * the strict XML reader on good, error and broken answers, the refresh.
 */


#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_creds.h"
#include "creds_test.h"


static char  t_token_path[256];


static void
t_write(const char *text)
{
    FILE  *f;

    f = fopen(t_token_path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}


static void
t_env_base(t_env_t *env)
{
    memset(env, 0, sizeof(t_env_t));
    t_setenv(env, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c");
    t_setenv(env, "AWS_CONFIG_FILE", "/nonexistent/f");
    t_setenv(env, "AWS_WEB_IDENTITY_TOKEN_FILE", t_token_path);
    t_setenv(env, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/zae");
}


#define T_OK_DOC(akid, secret)                                               \
    "<?xml version=\"1.0\"?>\n"                                              \
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/"  \
    "doc/2011-06-15/\">\n"                                                   \
    "  <AssumeRoleWithWebIdentityResult>\n"                                  \
    "    <!-- a comment -->\n"                                               \
    "    <AssumedRoleUser><Arn>arn:x</Arn></AssumedRoleUser>\n"              \
    "    <Credentials>\n"                                                    \
    "      <AccessKeyId>" akid "</AccessKeyId>\n"                            \
    "      <SecretAccessKey>" secret "</SecretAccessKey>\n"                  \
    "      <SessionToken>\n   tok/en+1==\n  </SessionToken>\n"               \
    "      <Expiration>2026-12-06T03:00:00Z</Expiration>\n"                  \
    "    </Credentials>\n"                                                   \
    "  </AssumeRoleWithWebIdentityResult>\n"                                 \
    "  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\n"      \
    "</AssumeRoleWithWebIdentityResponse>\n"

#define T_CREDS(inner)                                                       \
    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"   \
    "<Credentials>" inner "</Credentials></AssumeRoleWithWebIdentityResult>" \
    "</AssumeRoleWithWebIdentityResponse>"

#define T_ALL                                                                \
    "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"       \
    "<SessionToken>T</SessionToken>"                                         \
    "<Expiration>2026-12-06T03:00:00Z</Expiration>"


static const char  *t_bad[] = {
    "",
    "not xml at all",
    "<html>not STS\x01<Credentials>",
    T_CREDS(T_ALL) "<Second/>",
    T_CREDS(T_ALL) "trailing text",
    "<!DOCTYPE x [<!ENTITY e \"A\">]>" T_CREDS(T_ALL),
    T_CREDS("<AccessKeyId>&e;</AccessKeyId>" T_ALL),
    T_CREDS(T_ALL "<AccessKeyId>B</AccessKeyId>"),
    T_CREDS("<AccessKeyId>A<b/></AccessKeyId>"),
    T_CREDS(T_ALL "</Wrong>"),
    T_CREDS(T_ALL "<![CDATA[x]]>"),
    T_CREDS(T_ALL "<?pi x?>"),
    T_CREDS(T_ALL "<Unclosed>"),
    T_CREDS(T_ALL "<a b=\"unterminated></a>"),
    T_CREDS(T_ALL "<a b=noquote></a>"),
    T_CREDS("<SecretAccessKey>&#0;</SecretAccessKey>"),
    T_CREDS("<SecretAccessKey>&#x110000000;</SecretAccessKey>"),
    T_CREDS("<SecretAccessKey>&amp</SecretAccessKey>"),
    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
        "<Credentials>" T_ALL,
    "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>"
        "</a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>"
        "</a>",
    "<1bad/>",
    NULL
};


int
main(void)
{
    int                   rc, i;
    char                  body[512];
    t_env_t               env;
    int64_t               now;
    zae_err_t             err;
    zae_creds_http_t      req;
    zae_creds_provider_t  p;

    snprintf(t_token_path, sizeof(t_token_path),
             "/tmp/zae_test_creds_sts.%d", (int) getpid());

    now = 1796522400;   /* 2026-12-06T02:00:00Z */

    /* the environment */

    t_env_base(&env);
    t_setenv(&env, "AWS_ROLE_ARN", "");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_ERROR, "token file without role arn: an error");
    is_str(err.msg, "credentials: web identity: \"AWS_WEB_IDENTITY_TOKEN_FILE"
           "\" is set but \"AWS_ROLE_ARN\" is not", "message");

    t_setenv(&env, "AWS_ROLE_ARN", "role/zae");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_ERROR, "not an arn: an error");

    t_env_base(&env);
    t_setenv(&env, "AWS_ROLE_SESSION_NAME", "bad name");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_ERROR, "session name with a space: an error");

    t_env_base(&env);
    t_setenv(&env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    t_setenv(&env, "AWS_SECRET_ACCESS_KEY", "s");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_OK, "static keys in the environment come first");
    is_int(p.source, ZAE_CREDS_SRC_ENV, "source env");

    /* the request, to an override endpoint */

    t_env_base(&env);
    t_setenv(&env, "AWS_ROLE_SESSION_NAME", "pod-1@ns=x");
    t_setenv(&env, "AWS_ENDPOINT_URL", "https://ignored.example");
    t_setenv(&env, "AWS_ENDPOINT_URL_STS", "http://127.0.0.1:8099/sts");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_AGAIN, "web identity: http needed");
    is_int(p.source, ZAE_CREDS_SRC_WEB_IDENTITY, "source web identity");
    is_int(zae_creds_need_refresh(&p, now), 1, "refresh needed");

    unlink(t_token_path);
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_ERROR, "missing token file: an error");
    ok(strstr(err.msg, "web identity: cannot read token file") != NULL
       && strstr(err.msg, "No such file or directory") != NULL,
       "it names the file and the cause: %s", err.msg);

    t_write(" \n");
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_ERROR, "empty token file: an error");
    ok(strstr(err.msg, "is empty") != NULL, "message: %s", err.msg);

    t_write("eyJ.tok+en/1=\n");
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_AGAIN, "request");
    is_str(t_str(&req.method), "POST", "POST");
    is_str(t_str(&req.url), "http://127.0.0.1:8099/sts",
           "AWS_ENDPOINT_URL_STS wins");
    is_int(req.https, 0, "http override allowed");
    is_str(t_str(&req.path), "/sts", "path");
    is_int(req.nheaders, 2, "two headers");
    is_str(t_str(&req.headers[0].value),
           "application/x-www-form-urlencoded; charset=utf-8",
           "content type");
    is_str(t_str(&req.body),
           "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
           "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fzae"
           "&RoleSessionName=pod-1%40ns%3Dx"
           "&WebIdentityToken=eyJ.tok%2Ben%2F1%3D", "the form");
    ok(t_all_zero(p.web_token, sizeof(p.web_token)),
       "the token buffer is wiped once the form is built");

    /* the answer */

    rc = zae_creds_response(&p, 200,
                            (u_char *) T_OK_DOC("ASIAWEB", "s&amp;&#x2F;&#43;"),
                            strlen(T_OK_DOC("ASIAWEB", "s&amp;&#x2F;&#43;")),
                            now, &err);
    is_int(rc, ZAE_OK, "credentials read: %s", rc ? err.msg : "");
    is_str(t_str(&p.creds.access_key), "ASIAWEB", "access key id");
    is_str(t_str(&p.creds.secret_key), "s&/+", "secret, references decoded");
    is_str(t_str(&p.creds.session_token), "tok/en+1==", "token, trimmed");
    is_int(p.creds.expiration, now + 3600, "expiration");
    is_int(p.refresh_at, p.creds.expiration - 300, "refresh 5 min before");
    ok(t_all_zero(p.body, sizeof(p.body)), "the form is wiped");

    is_int(zae_creds_next_request(&p, now + 60, &req, &err), ZAE_OK,
           "no call while fresh");
    is_int(zae_creds_need_refresh(&p, p.refresh_at), 1, "then refreshed");

    /* errors */

    t_write("rotated-token");
    rc = zae_creds_next_request(&p, p.refresh_at, &req, &err);
    is_int(rc, ZAE_AGAIN, "refresh request");
    ok(strstr(t_str(&req.body), "&WebIdentityToken=rotated-token") != NULL,
       "the token is read again");

    snprintf(body, sizeof(body), "<ErrorResponse><Error><Type>Sender</Type>"
             "<Code>AccessDenied</Code><Message>Not authorized to perform "
             "sts:AssumeRoleWithWebIdentity</Message></Error>"
             "<RequestId>x</RequestId></ErrorResponse>");
    rc = zae_creds_response(&p, 403, (u_char *) body, strlen(body),
                            p.refresh_at, &err);
    is_int(rc, ZAE_ERROR, "AccessDenied: an error");
    is_str(err.msg, "credentials: web identity: STS AssumeRoleWithWebIdentity"
           " refused (status 403): AccessDenied: Not authorized to perform "
           "sts:AssumeRoleWithWebIdentity", "message names STS and the code");
    is_str(t_str(&p.creds.access_key), "ASIAWEB", "old credentials kept");

    rc = zae_creds_next_request(&p, p.refresh_at, &req, &err);
    rc = zae_creds_response(&p, 503, (u_char *) "<html>", 6, p.refresh_at,
                            &err);
    is_str(err.msg, "credentials: web identity: STS AssumeRoleWithWebIdentity"
           " answered status 503 with no error document", "503 garbage");

    rc = zae_creds_next_request(&p, p.refresh_at, &req, &err);
    rc = zae_creds_response(&p, 0, NULL, 0, p.refresh_at, &err);
    is_int(rc, ZAE_ERROR, "no answer: an error");

    for (i = 0; t_bad[i]; i++) {
        rc = zae_creds_parse_sts(&p, 200, (u_char *) t_bad[i],
                                 strlen(t_bad[i]), now, &err);
        ok(rc == ZAE_ERROR && strstr(err.msg, "web identity: STS answer"),
           "broken answer %d refused: %s", i, err.msg);
    }

    rc = zae_creds_parse_sts(&p, 200, (u_char *) T_CREDS(T_ALL),
                             strlen(T_CREDS(T_ALL)), now, &err);
    is_int(rc, ZAE_OK, "the minimal answer is read");

    rc = zae_creds_parse_sts(&p, 200,
                             (u_char *) T_CREDS("<AccessKeyId>A</AccessKeyId>"
                                                "<SecretAccessKey>S"
                                                "</SecretAccessKey>"),
                             strlen(T_CREDS("<AccessKeyId>A</AccessKeyId>"
                                            "<SecretAccessKey>S"
                                            "</SecretAccessKey>")),
                             now, &err);
    ok(rc == ZAE_ERROR && strstr(err.msg, "lacks"),
       "no SessionToken: refused");

    /* the default endpoint: the caller's region, else the global one */

    t_env_base(&env);
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "https://sts.amazonaws.com:443/",
           "no region: the global endpoint");

    rc = zae_creds_response(&p, 0, NULL, 0, now, &err);
    is_int(zae_creds_set_region(&p, (u_char *) "eu-west-1", 9, &err), ZAE_OK,
           "region set");
    is_int(zae_creds_set_region(&p, (u_char *) "eu/x", 4, &err), ZAE_ERROR,
           "not a region refused");
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "https://sts.eu-west-1.amazonaws.com:443/",
           "the regional endpoint");
    is_str(t_str(&req.host), "sts.eu-west-1.amazonaws.com", "host");
    is_int(req.https, 1, "https");
    ok(strstr(t_str(&req.body), "&RoleSessionName=zae-limit-1796522400&")
       != NULL, "a generated session name");

    t_setenv(&env, "AWS_REGION", "ap-south-1");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "https://sts.ap-south-1.amazonaws.com:443/",
           "AWS_REGION");

    t_setenv(&env, "AWS_ENDPOINT_URL", "http://localhost:4566");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "http://localhost:4566/", "AWS_ENDPOINT_URL");

    zae_creds_provider_wipe(&p);
    unlink(t_token_path);

    return tap_done();
}
