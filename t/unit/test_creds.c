
/*
 * Copyright (C) zae-limit authors
 *
 * The AWS credentials chain: times, environment, shared files (written
 * to a temporary directory), region, ECS and IMDSv2 request sequences
 * driven with canned answers, refresh timing, wiping.
 */


#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_creds.h"
#include "creds_test.h"


static char  t_dir[256];


static int64_t
t_jitter(void *ctx, int64_t max)
{
    return *(int64_t *) ctx;
}


static const char *
t_file(const char *name, const char *text)
{
    FILE        *f;
    static char  path[8][512];
    static int   next;
    char        *p;

    p = path[next++ % 8];
    snprintf(p, 512, "%s/%s", t_dir, name);

    f = fopen(p, "w");
    if (f == NULL) {
        return NULL;
    }

    fputs(text, f);
    fclose(f);

    return p;
}


static int64_t
t_time(const char *s)
{
    int64_t  v;

    if (zae_creds_parse_time((u_char *) s, strlen(s), &v) != ZAE_OK) {
        return -1;
    }

    return v;
}


static const char  *t_cred_file =
    "# a comment\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key=secretDefault\n"
    "\n"
    "[prod]\n"
    "  ; indented comment\n"
    "AWS_Access_Key_Id = AKIDPROD\r\n"
    "aws_secret_access_key = secret/Prod+1=\r\n"
    "aws_session_token = tokenProd\r\n"
    "s3 =\n"
    "    aws_access_key_id = NESTED\n"
    "\n"
    "[partial]\n"
    "aws_access_key_id = AKIDPARTIAL\n"
    "[profile prod]\n"
    "aws_access_key_id = NOTACREDSPROFILE\n";

static const char  *t_conf_file =
    "[default]\n"
    "region = us-west-2\n"
    "[profile prod]\n"
    "region=eu-central-1\n"
    "[profile   spaced ]\n"
    "region = ap-south-1\n"
    "[onlycreds]\n"
    "region = sa-east-1\n"
    "aws_access_key_id = AKIDBARE\n"
    "aws_secret_access_key = bare\n"
    "[profile cfg]\n"
    "aws_access_key_id = AKIDCFG\n"
    "aws_secret_access_key = secretCfg\n"
    "region = ca-central-1\n"
    "region = ca-west-1\n";


static const char  *t_ecs_json =
    "{\"RoleArn\":\"arn:aws:iam::1:role/x\","
    "\"AccessKeyId\":\"ASIAECS\","
    "\"SecretAccessKey\":\"ecs\\/secret\","
    "\"Token\":\"ecsToken==\","
    "\"Nested\":{\"AccessKeyId\":\"WRONG\",\"x\":[1,2,{\"y\":null}]},"
    "\"Expiration\":\"2026-11-25T20:00:00Z\"}";

static const char  *t_imds_json =
    "{\n  \"Code\" : \"Success\",\n"
    "  \"LastUpdated\" : \"2026-11-25T18:00:00Z\",\n"
    "  \"Type\" : \"AWS-HMAC\",\n"
    "  \"AccessKeyId\" : \"ASIAIMDS\",\n"
    "  \"SecretAccessKey\" : \"imdsSecret\",\n"
    "  \"Token\" : \"imdsToken\",\n"
    "  \"Expiration\" : \"2026-11-26T00:00:00.000+00:00\"\n}";


int
main(void)
{
    int                   rc, i;
    char                  region[64], big[20000];
    int64_t               now, jit, exp;
    t_env_t               env;
    zae_err_t             err;
    zae_str_t             v;
    zae_creds_http_t      req;
    const char           *cpath, *fpath, *js;
    zae_creds_provider_t  p;

    snprintf(t_dir, sizeof(t_dir), "/tmp/zae_test_creds.%d", (int) getpid());
    if (mkdir(t_dir, 0700) != 0) {
        ok(0, "mkdir \"%s\"", t_dir);
        return tap_done();
    }

    /* times */

    is_int(t_time("2015-08-30T12:36:00Z"), 1440938160, "iso time");
    is_int(t_time("1970-01-01T00:00:00Z"), 0, "epoch");
    is_int(t_time("2015-08-30T12:36:00.123456Z"), 1440938160, "fraction");
    is_int(t_time("2015-08-30T13:36:00+01:00"), 1440938160, "+01:00");
    is_int(t_time("2015-08-30T07:06:00-0530"), 1440938160, "-0530");
    is_int(t_time("2015-08-30t12:36:00z"), 1440938160, "lowercase t, z");
    is_int(t_time("2000-02-29T00:00:00Z"), 951782400, "leap day 2000");
    is_int(t_time("2100-03-01T00:00:00Z"), 4107542400LL, "2100");
    is_int(t_time("2023-02-29T00:00:00Z"), -1, "no 2023-02-29");
    is_int(t_time("2015-13-01T00:00:00Z"), -1, "month 13");
    is_int(t_time("2015-08-30T24:00:00Z"), -1, "hour 24");
    is_int(t_time("2015-08-30T12:36:00"), -1, "no zone");
    is_int(t_time("2015-08-30T12:36:00Zjunk"), -1, "trailing junk");
    is_int(t_time("2015-08-30T12:36:00."), -1, "empty fraction");
    is_int(t_time("2015-8-30T12:36:00Z"), -1, "short month");
    is_int(t_time(""), -1, "empty");

    /* environment */

    memset(&env, 0, sizeof(env));
    memset(&p, 0, sizeof(p));

    is_int(zae_creds_from_env(&p, t_getenv, &env, &err), ZAE_DECLINED,
           "env: nothing set");

    t_setenv(&env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    is_int(zae_creds_from_env(&p, t_getenv, &env, &err), ZAE_ERROR,
           "env: key id without secret");
    is_str(err.msg, "credentials: \"AWS_ACCESS_KEY_ID\" is set but "
           "\"AWS_SECRET_ACCESS_KEY\" is not", "env: message");

    t_setenv(&env, "AWS_SECRET_ACCESS_KEY", "envSecret");
    t_setenv(&env, "AWS_SESSION_TOKEN", "envToken");

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_OK, "init: environment credentials");
    is_int(p.source, ZAE_CREDS_SRC_ENV, "source env");
    is_str(t_str(&zae_creds_get(&p)->access_key), "AKIDENV", "env key id");
    is_str(t_str(&zae_creds_get(&p)->secret_key), "envSecret", "env secret");
    is_str(t_str(&zae_creds_get(&p)->session_token), "envToken",
           "env token");
    is_int(zae_creds_need_refresh(&p, 1 << 30), 0, "env: never refreshed");
    is_int(zae_creds_next_request(&p, 0, &req, &err), ZAE_OK,
           "env: no http request");

    t_setenv(&env, "AWS_CREDENTIAL_EXPIRATION", "not a time");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
           ZAE_ERROR, "env: bad expiration refused");

    t_setenv(&env, "AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err), ZAE_OK,
           "env: expiration");
    is_int(p.creds.expiration, 1893456000, "env: expiration value");

    t_setenv(&env, "AWS_SECRET_ACCESS_KEY", "");
    t_setenv(&env, "AWS_ACCESS_KEY_ID", "");
    t_setenv(&env, "AWS_SESSION_TOKEN", "");
    t_setenv(&env, "AWS_CREDENTIAL_EXPIRATION", "");

    /* INI lookups on texts */

    rc = zae_creds_ini_get((u_char *) t_cred_file, strlen(t_cred_file), 0,
                           "prod", "aws_secret_access_key", &v);
    is_int(rc, ZAE_OK, "ini: found");
    is_str(t_str(&v), "secret/Prod+1=", "ini: value trimmed, CR removed");

    rc = zae_creds_ini_get((u_char *) t_cred_file, strlen(t_cred_file), 0,
                           "prod", "aws_access_key_id", &v);
    is_str(t_str(&v), "AKIDPROD", "ini: key case-insensitive, nested "
           "sub-property ignored");

    rc = zae_creds_ini_get((u_char *) t_cred_file, strlen(t_cred_file), 0,
                           "missing", "aws_access_key_id", &v);
    is_int(rc, ZAE_DECLINED, "ini: missing profile");

    rc = zae_creds_ini_get((u_char *) t_conf_file, strlen(t_conf_file), 1,
                           "prod", "region", &v);
    is_str(t_str(&v), "eu-central-1", "config: [profile prod]");

    rc = zae_creds_ini_get((u_char *) t_conf_file, strlen(t_conf_file), 1,
                           "default", "region", &v);
    is_str(t_str(&v), "us-west-2", "config: [default]");

    rc = zae_creds_ini_get((u_char *) t_conf_file, strlen(t_conf_file), 1,
                           "spaced", "region", &v);
    is_str(t_str(&v), "ap-south-1", "config: [profile   spaced ]");

    rc = zae_creds_ini_get((u_char *) t_conf_file, strlen(t_conf_file), 1,
                           "onlycreds", "region", &v);
    is_int(rc, ZAE_DECLINED, "config: bare [onlycreds] is not a profile");

    rc = zae_creds_ini_get((u_char *) t_conf_file, strlen(t_conf_file), 1,
                           "cfg", "region", &v);
    is_str(t_str(&v), "ca-west-1", "config: the last value wins");

    rc = zae_creds_ini_get((u_char *) t_cred_file, strlen(t_cred_file), 0,
                           "profile prod", "aws_access_key_id", &v);
    is_str(t_str(&v), "NOTACREDSPROFILE",
           "credentials file: [profile prod] is a plain name");

    memset(&p, 0, sizeof(p));

    rc = zae_creds_from_ini(&p, "prod", (u_char *) t_cred_file,
                            strlen(t_cred_file), (u_char *) t_conf_file,
                            strlen(t_conf_file), &err);
    is_int(rc, ZAE_OK, "from_ini: prod");
    is_str(t_str(&p.creds.session_token), "tokenProd", "prod token");

    rc = zae_creds_from_ini(&p, "cfg", (u_char *) t_cred_file,
                            strlen(t_cred_file), (u_char *) t_conf_file,
                            strlen(t_conf_file), &err);
    is_int(rc, ZAE_OK, "from_ini: credentials in the config file");
    is_str(t_str(&p.creds.access_key), "AKIDCFG", "cfg key id");
    is_int(p.creds.session_token.len, 0, "cfg: no token");
    ok(t_all_zero(p.token_buf, sizeof(p.token_buf)),
       "previous token wiped when replaced");

    rc = zae_creds_from_ini(&p, "partial", (u_char *) t_cred_file,
                            strlen(t_cred_file), NULL, 0, &err);
    is_int(rc, ZAE_ERROR, "from_ini: partial credentials");
    is_str(err.msg, "credentials: profile \"partial\" of the credentials "
           "file has partial credentials", "partial: message");
    ok(strstr(err.msg, "AKIDPARTIAL") == NULL, "partial: no value shown");

    rc = zae_creds_from_ini(&p, "onlycreds", NULL, 0, (u_char *) t_conf_file,
                            strlen(t_conf_file), &err);
    is_int(rc, ZAE_DECLINED, "from_ini: bare section in config ignored");

    /* files through the chain */

    cpath = t_file("credentials", t_cred_file);
    fpath = t_file("config", t_conf_file);

    memset(&env, 0, sizeof(env));
    t_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", cpath);
    t_setenv(&env, "AWS_CONFIG_FILE", fpath);
    t_setenv(&env, "AWS_EC2_METADATA_DISABLED", "true");

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_OK, "files: default profile");
    is_int(p.source, ZAE_CREDS_SRC_PROFILE, "source profile");
    is_str(t_str(&p.creds.access_key), "AKIDDEFAULT", "default key id");

    t_setenv(&env, "AWS_PROFILE", "prod");
    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_str(t_str(&p.creds.access_key), "AKIDPROD", "AWS_PROFILE=prod");

    rc = zae_creds_provider_init(&p, t_getenv, &env, "cfg", &err);
    is_str(t_str(&p.creds.access_key), "AKIDCFG",
           "explicit profile beats AWS_PROFILE; config file fallback");

    rc = zae_creds_provider_init(&p, t_getenv, &env, "nobody", &err);
    is_int(rc, ZAE_ERROR, "unknown profile, no container, imds disabled");
    is_str(err.msg, "credentials: no aws credentials found (environment, "
           "profile \"nobody\", container; instance metadata is disabled)",
           "message");

    /* the shared files re-read when they change (issue 10 point 12) */

    memset(&env, 0, sizeof(env));
    cpath = t_file("rotating", "[default]\naws_access_key_id=AKIDOLD\n"
                   "aws_secret_access_key=old\naws_session_token=tok1\n");
    t_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", cpath);
    t_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent/config");

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_OK, "rotating: read");
    is_str(t_str(&p.creds.access_key), "AKIDOLD", "rotating: old key");

    p.files_read_at = 1000;
    is_int(zae_creds_files_check(&p, 1005, &err), ZAE_DECLINED,
           "unchanged files: not read again");

    /* a refresher writes new temporary credentials (longer: new size) */

    t_file("rotating", "[default]\naws_access_key_id=AKIDNEW2\n"
           "aws_secret_access_key=new\naws_session_token=token2\n");
    is_int(zae_creds_files_check(&p, 1010, &err), ZAE_OK,
           "changed file: read again");
    is_str(t_str(&p.creds.access_key), "AKIDNEW2", "rotating: new key");
    is_str(t_str(&p.creds.secret_key), "new", "rotating: new secret");
    is_str(t_str(&p.creds.session_token), "token2", "rotating: new token");
    is_int(p.source, ZAE_CREDS_SRC_PROFILE, "rotating: still profile");

    is_int(zae_creds_files_check(&p, 1020, &err), ZAE_DECLINED,
           "then unchanged again");
    is_int(zae_creds_files_check(&p, 1010 + ZAE_CREDS_FILES_RELOAD, &err),
           ZAE_OK, "read again after ZAE_CREDS_FILES_RELOAD anyway");

    /* a broken rewrite keeps the credentials in place */

    t_file("rotating", "[default]\naws_access_key_id=AKIDPARTIAL\n");
    is_int(zae_creds_files_check(&p, 2000, &err), ZAE_ERROR,
           "partial credentials: error");
    is_str(t_str(&p.creds.access_key), "AKIDNEW2", "old ones kept");
    is_int(zae_creds_files_check(&p, 2010, &err), ZAE_DECLINED,
           "the broken file is not read over and over");

    unlink(cpath);
    is_int(zae_creds_files_check(&p, 2020, &err), ZAE_ERROR,
           "file gone: error");
    ok(strstr(err.msg, "no longer has credentials") != NULL,
       "file gone: message: %s", err.msg);
    is_str(t_str(&p.creds.access_key), "AKIDNEW2", "old ones kept too");

    /* credentials only in the config file are re-read from it too */

    memset(&env, 0, sizeof(env));
    fpath = t_file("conf-only", "[default]\naws_access_key_id=AKIDCONF1\n"
                   "aws_secret_access_key=c1\n");
    t_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds");
    t_setenv(&env, "AWS_CONFIG_FILE", fpath);

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_OK, "config only: read");
    is_str(t_str(&p.creds.access_key), "AKIDCONF1", "config only: key");

    p.files_read_at = 3000;
    is_int(zae_creds_files_check(&p, 3000 + ZAE_CREDS_FILES_RELOAD, &err),
           ZAE_OK, "config only: read again after the period");
    is_str(t_str(&p.creds.access_key), "AKIDCONF1",
           "config only: the same key, still there");

    t_file("conf-only", "[default]\naws_access_key_id=AKIDCONF22\n"
           "aws_secret_access_key=c22\n");
    is_int(zae_creds_files_check(&p, 3010 + ZAE_CREDS_FILES_RELOAD, &err),
           ZAE_OK, "config only: changed file read again");
    is_str(t_str(&p.creds.access_key), "AKIDCONF22", "config only: new key");

    memset(&env, 0, sizeof(env));
    t_setenv(&env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    t_setenv(&env, "AWS_SECRET_ACCESS_KEY", "s");
    zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(zae_creds_files_check(&p, 5000, &err), ZAE_DECLINED,
           "environment credentials: nothing to re-read");

    /* HOME/.aws */

    memset(&env, 0, sizeof(env));
    snprintf(big, sizeof(big), "%s/.aws", t_dir);
    mkdir(big, 0700);
    t_file(".aws/credentials", "[default]\naws_access_key_id=AKIDHOME\n"
           "aws_secret_access_key=home\n");
    t_file(".aws/config", "[default]\nregion=eu-north-1\n"
           "[profile x]\nregion=me-south-1\n");
    t_setenv(&env, "HOME", t_dir);

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_OK, "files under HOME/.aws");
    is_str(t_str(&p.creds.access_key), "AKIDHOME", "HOME key id");

    /* region */

    is_int(zae_creds_region(t_getenv, &env, NULL, region, sizeof(region),
                            &err), ZAE_OK, "region from config");
    is_str(region, "eu-north-1", "region of [default]");
    zae_creds_region(t_getenv, &env, "x", region, sizeof(region), &err);
    is_str(region, "me-south-1", "region of [profile x]");
    t_setenv(&env, "AWS_PROFILE", "x");
    zae_creds_region(t_getenv, &env, NULL, region, sizeof(region), &err);
    is_str(region, "me-south-1", "region of AWS_PROFILE");
    t_setenv(&env, "AWS_DEFAULT_REGION", "us-east-2");
    zae_creds_region(t_getenv, &env, NULL, region, sizeof(region), &err);
    is_str(region, "us-east-2", "AWS_DEFAULT_REGION beats the file");
    t_setenv(&env, "AWS_REGION", "af-south-1");
    zae_creds_region(t_getenv, &env, NULL, region, sizeof(region), &err);
    is_str(region, "af-south-1", "AWS_REGION beats AWS_DEFAULT_REGION");
    is_int(zae_creds_region(t_getenv, &env, NULL, region, 4, &err),
           ZAE_ERROR, "region too long for the buffer");

    memset(&env, 0, sizeof(env));
    t_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent/config");
    is_int(zae_creds_region(t_getenv, &env, NULL, region, sizeof(region),
                            &err), ZAE_DECLINED, "no region anywhere");

    /* ECS, relative uri and token */

    memset(&env, 0, sizeof(env));
    t_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c");
    t_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent/f");
    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
             "/v2/credentials/abc?x=1");
    t_setenv(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc=");

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_AGAIN, "ecs: http needed");
    is_int(p.source, ZAE_CREDS_SRC_ECS, "source ecs");
    ok(zae_creds_get(&p) == NULL, "ecs: no credentials yet");

    jit = 17;
    p.jitter = t_jitter;
    p.jitter_ctx = &jit;

    now = t_time("2026-11-25T19:00:00Z");

    is_int(zae_creds_need_refresh(&p, now), 1, "ecs: refresh needed");
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_AGAIN, "ecs: request");
    is_str(t_str(&req.method), "GET", "ecs: GET");
    is_str(t_str(&req.url), "http://169.254.170.2:80/v2/credentials/abc?x=1",
           "ecs: url");
    is_str(t_str(&req.host), "169.254.170.2", "ecs: host");
    is_int(req.port, 80, "ecs: port");
    is_str(t_str(&req.path), "/v2/credentials/abc?x=1", "ecs: path");
    is_int(req.nheaders, 1, "ecs: one header");
    is_str(t_str(&req.headers[0].name), "Authorization", "ecs: auth header");
    is_str(t_str(&req.headers[0].value), "Basic abc=", "ecs: auth value");

    rc = zae_creds_response(&p, 200, (u_char *) t_ecs_json,
                            strlen(t_ecs_json), now, &err);
    is_int(rc, ZAE_OK, "ecs: credentials parsed");
    is_str(t_str(&p.creds.access_key), "ASIAECS", "ecs key id, nested "
           "objects ignored");
    is_str(t_str(&p.creds.secret_key), "ecs/secret", "ecs secret unescaped");
    is_str(t_str(&p.creds.session_token), "ecsToken==", "ecs token");
    exp = t_time("2026-11-25T20:00:00Z");
    is_int(p.creds.expiration, exp, "ecs expiration");
    is_int(p.refresh_at, exp - 300 - 17, "refresh 5 min + jitter before");

    is_int(zae_creds_need_refresh(&p, exp - 318), 0, "fresh before");
    is_int(zae_creds_next_request(&p, exp - 318, &req, &err), ZAE_OK,
           "no request while fresh");
    is_int(zae_creds_need_refresh(&p, exp - 317), 1, "refresh due");

    rc = zae_creds_next_request(&p, exp - 317, &req, &err);
    is_int(rc, ZAE_AGAIN, "ecs: refresh request");
    rc = zae_creds_response(&p, 500, (u_char *) "oops", 4, exp - 317, &err);
    is_int(rc, ZAE_ERROR, "ecs: 500 is an error");
    is_str(err.msg, "credentials: container endpoint returned status 500",
           "ecs: message");
    is_str(t_str(&p.creds.access_key), "ASIAECS", "old credentials kept");
    is_int(zae_creds_response(&p, 200, (u_char *) "{}", 2, now, &err),
           ZAE_ERROR, "answer without request refused");

    rc = zae_creds_next_request(&p, exp - 200, &req, &err);
    is_int(rc, ZAE_AGAIN, "ecs: retried");
    rc = zae_creds_response(&p, 200, (u_char *) "{\"AccessKeyId\":\"A\"}",
                            19, exp - 200, &err);
    is_int(rc, ZAE_ERROR, "ecs: missing secret");
    is_str(err.msg, "credentials: response has no AccessKeyId or "
           "SecretAccessKey", "ecs: message");

    /* short-lived credentials are not refreshed in a busy loop */

    rc = zae_creds_next_request(&p, exp - 200, &req, &err);
    rc = zae_creds_response(&p, 200, (u_char *) t_ecs_json,
                            strlen(t_ecs_json), exp - 200, &err);
    is_int(rc, ZAE_OK, "ecs: nearly expired credentials accepted");
    is_int(p.refresh_at, exp - 200 + 30, "next refresh in 30 s");

    /* ECS token file, full uri */

    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "");
    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
             "http://127.0.0.1:51678/creds");
    t_setenv(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
             t_file("token", "file-token\n"));

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_AGAIN, "ecs full uri");
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "http://127.0.0.1:51678/creds", "full uri url");
    is_int(req.port, 51678, "full uri port");
    is_str(t_str(&req.headers[0].value), "file-token",
           "token file read, newline stripped");

    t_file("token", "rotated\n");
    zae_creds_response(&p, 503, NULL, 0, now, &err);
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.headers[0].value), "rotated",
           "token file read again for each request");

    t_file("token", "bad\r\ninjected: 1\n");
    zae_creds_response(&p, 503, NULL, 0, now, &err);
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_ERROR, "token with CRLF refused");

    t_setenv(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "");
    t_setenv(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "");
    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
             "http://evil.example.com/creds");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
           ZAE_ERROR, "plain http to a remote host refused");
    is_str(err.msg, "credentials: container credentials host "
           "\"evil.example.com\" is not allowed over http", "message");

    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
             "https://creds.example.com:8443");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
           ZAE_AGAIN, "https to any host");
    zae_creds_next_request(&p, now, &req, &err);
    ok(req.https && req.port == 8443, "https, port 8443");
    is_str(t_str(&req.path), "/", "empty path is /");
    is_int(req.nheaders, 0, "no token, no header");

    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[::1]:99/c");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
           ZAE_AGAIN, "ipv6 loopback");
    zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "http://[::1]:99/c", "ipv6 url");
    is_str(t_str(&req.host), "::1", "ipv6 host");

    /* the plain http allow-list: hosts parsed as addresses */

    {
        size_t       k;
        const char  *allowed[] = {
            "http://[fd00:ec2::23]/v1/credentials",
            "http://[FD00:EC2:0::23]:80/c",
            "http://169.254.170.23/v1/credentials",
            "http://169.254.170.2/creds",
            "http://127.0.0.1/c",
            "http://127.200.3.4:8080/c",
            "http://localhost:99/c",
            "http://[0:0::1]/c",
        };
        const char  *refused[] = {
            "http://127.evil.example/c",
            "http://127.0.0.1.evil.example/c",
            "http://[fd00:ec2::2]/c",
            "http://[fd00:ec2::230]/c",
            "http://169.254.170.20/c",
            "http://169.254.170.233/c",
            "http://[127.0.0.1]/c",
            "http://127.1/c",
            "http://[::ffff:127.0.0.1]/c",
            "http://localhost.evil.example/c",
        };

        for (k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++) {
            t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[k]);
            is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
                   ZAE_AGAIN, "http allowed: %s", allowed[k]);
        }

        for (k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
            t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[k]);
            is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
                   ZAE_ERROR, "http refused: %s", refused[k]);
            ok(strstr(err.msg, "is not allowed over http") != NULL,
               "%s: message", refused[k]);
        }

        t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "https://127.evil.example/c");
        is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
               ZAE_AGAIN, "https to a name starting with 127. is allowed");
    }

    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://x/");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
           ZAE_ERROR, "ftp refused");
    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
             "http://127.0.0.1:99999/");
    is_int(zae_creds_provider_init(&p, t_getenv, &env, NULL, &err),
           ZAE_ERROR, "port 99999 refused");
    t_setenv(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "");

    /* IMDSv2 */

    t_setenv(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
             "http://127.0.0.1:1338/");

    rc = zae_creds_provider_init(&p, t_getenv, &env, NULL, &err);
    is_int(rc, ZAE_AGAIN, "imds: http needed");
    is_int(p.source, ZAE_CREDS_SRC_IMDS, "source imds");

    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_AGAIN, "imds: step 1");
    is_str(t_str(&req.method), "PUT", "imds: PUT");
    is_str(t_str(&req.url), "http://127.0.0.1:1338/latest/api/token",
           "imds: token url");
    is_str(t_str(&req.headers[0].name),
           "X-aws-ec2-metadata-token-ttl-seconds", "imds: ttl header");
    is_str(t_str(&req.headers[0].value), "21600", "imds: ttl");

    rc = zae_creds_response(&p, 200, (u_char *) "AQAEtoken==\n", 12, now,
                            &err);
    is_int(rc, ZAE_AGAIN, "imds: token accepted");

    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.method), "GET", "imds: step 2 GET");
    is_str(t_str(&req.path), "/latest/meta-data/iam/security-credentials/",
           "imds: role path");
    is_str(t_str(&req.headers[0].name), "X-aws-ec2-metadata-token",
           "imds: token header");
    is_str(t_str(&req.headers[0].value), "AQAEtoken==", "imds: token value");

    rc = zae_creds_response(&p, 200, (u_char *) "my-role\n", 8, now, &err);
    is_int(rc, ZAE_AGAIN, "imds: role accepted");

    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.url), "http://127.0.0.1:1338/latest/meta-data/iam/"
           "security-credentials/my-role", "imds: step 3 url");

    rc = zae_creds_response(&p, 401, NULL, 0, now, &err);
    is_int(rc, ZAE_AGAIN, "imds: 401 restarts with a new token");
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.method), "PUT", "imds: token again");
    zae_creds_response(&p, 200, (u_char *) "T2", 2, now, &err);
    zae_creds_next_request(&p, now, &req, &err);
    zae_creds_response(&p, 200, (u_char *) "my-role", 7, now, &err);
    zae_creds_next_request(&p, now, &req, &err);
    is_str(t_str(&req.headers[0].value), "T2", "imds: new token used");

    rc = zae_creds_response(&p, 200, (u_char *) t_imds_json,
                            strlen(t_imds_json), now, &err);
    is_int(rc, ZAE_OK, "imds: credentials");
    is_str(t_str(&p.creds.access_key), "ASIAIMDS", "imds key id");
    is_str(t_str(&p.creds.session_token), "imdsToken", "imds token");
    is_int(p.creds.expiration, t_time("2026-11-26T00:00:00Z"),
           "imds expiration with offset");

    /* the next refresh reuses the session token */

    now = p.refresh_at;
    rc = zae_creds_next_request(&p, now, &req, &err);
    is_int(rc, ZAE_AGAIN, "imds: refresh");
    is_str(t_str(&req.path), "/latest/meta-data/iam/security-credentials/",
           "imds: refresh starts with the role, token still valid");

    rc = zae_creds_response(&p, 200, (u_char *) "bad/role", 8, now, &err);
    is_int(rc, ZAE_ERROR, "imds: role with / refused");

    rc = zae_creds_next_request(&p, now, &req, &err);
    zae_creds_response(&p, 200, (u_char *) "my-role", 7, now, &err);
    zae_creds_next_request(&p, now, &req, &err);
    js = "{\"Code\":\"Expired\",\"AccessKeyId\":\"A\","
         "\"SecretAccessKey\":\"S\"}";
    rc = zae_creds_response(&p, 200, (u_char *) js, strlen(js), now, &err);
    is_int(rc, ZAE_ERROR, "imds: Code other than Success");
    is_str(err.msg, "credentials: response code \"Expired\"", "message");
    is_str(t_str(&p.creds.access_key), "ASIAIMDS", "old credentials kept");

    /* bounded retries */

    zae_creds_next_request(&p, now, &req, &err);
    for (i = 0; i < 10; i++) {
        rc = zae_creds_response(&p, 401, NULL, 0, now, &err);
        if (rc != ZAE_AGAIN) {
            break;
        }

        zae_creds_next_request(&p, now, &req, &err);
        zae_creds_response(&p, 200, (u_char *) "T3", 2, now, &err);
        zae_creds_next_request(&p, now, &req, &err);
    }
    is_int(rc, ZAE_ERROR, "imds: endless 401 stops");
    ok(i <= 3, "imds: after %d retries", i);

    /* the token is not reused once expired */

    rc = zae_creds_next_request(&p, now + 30000, &req, &err);
    is_str(t_str(&req.method), "PUT", "imds: expired token renewed");
    rc = zae_creds_response(&p, 403, NULL, 0, now, &err);
    is_int(rc, ZAE_ERROR, "imds: token status 403");
    is_str(err.msg, "credentials: instance metadata token request "
           "returned status 403", "imds: token status message");

    zae_creds_next_request(&p, now + 30000, &req, &err);
    rc = zae_creds_response(&p, 200, (u_char *) " T4\n", 4, now + 30000,
                            &err);
    is_int(rc, ZAE_AGAIN, "imds: token trimmed and accepted");
    zae_creds_next_request(&p, now + 30000, &req, &err);
    is_str(t_str(&req.headers[0].value), "T4", "imds: trimmed token used");
    rc = zae_creds_response(&p, 500, NULL, 0, now + 30000, &err);
    is_int(rc, ZAE_ERROR, "imds: role status 500");
    is_str(err.msg, "credentials: instance metadata role request "
           "returned status 500", "imds: role status message");

    /* json edge cases */

    is_int(zae_creds_parse_json(&p, (u_char *) "[1]", 3, now, &err),
           ZAE_ERROR, "json: array refused");
    is_int(zae_creds_parse_json(&p, (u_char *) "{\"AccessKeyId\":", 15, now,
                                &err), ZAE_ERROR, "json: truncated");
    is_int(zae_creds_parse_json(&p, (u_char *) "\"x\"", 3, now, &err),
           ZAE_ERROR, "json: string refused");
    js = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
         "\"Expiration\":\"tomorrow\"}";
    is_int(zae_creds_parse_json(&p, (u_char *) js, strlen(js), now, &err),
           ZAE_ERROR, "json: bad expiration");
    is_str(err.msg, "credentials: invalid Expiration \"tomorrow\"",
           "json: message");

    js = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"";
    i = strlen(js);
    memcpy(big, js, i);
    memset(big + i, 'x', 9000);
    memcpy(big + i + 9000, "\"}", 3);
    is_int(zae_creds_parse_json(&p, (u_char *) big, strlen(big), now, &err),
           ZAE_ERROR, "json: 9000-byte token refused");
    is_str(err.msg, "credentials: a value in the response is too long",
           "message");

    memset(big + i, 'y', 8000);
    memcpy(big + i + 8000, "\"}", 3);
    is_int(zae_creds_parse_json(&p, (u_char *) big, strlen(big), now, &err),
           ZAE_OK, "json: 8000-byte token accepted");
    is_int(p.creds.session_token.len, 8000, "token length");
    is_int(p.creds.expiration, 0, "no expiration: never");

    /* static credentials replacing others wipe them */

    memset(&env, 0, sizeof(env));
    t_setenv(&env, "AWS_ACCESS_KEY_ID", "AKIDX");
    t_setenv(&env, "AWS_SECRET_ACCESS_KEY", "s");
    is_int(zae_creds_from_env(&p, t_getenv, &env, &err), ZAE_OK,
           "static credentials over a long token");
    is_int(p.source, ZAE_CREDS_SRC_ENV, "source env");
    ok(t_all_zero(p.token_buf, sizeof(p.token_buf)),
       "the long token was wiped");
    ok(t_all_zero(p.secret_buf + 1, sizeof(p.secret_buf) - 1),
       "secret buffer holds only the new secret");
    t_setenv(&env, "AWS_ACCESS_KEY_ID", "AK\nID");
    is_int(zae_creds_from_env(&p, t_getenv, &env, &err), ZAE_ERROR,
           "newline in key id refused");

    zae_creds_provider_wipe(&p);
    ok(t_all_zero((u_char *) &p, sizeof(p)), "provider wiped");

    /* clean up */

    snprintf(big, sizeof(big), "rm -rf '%s'", t_dir);
    if (system(big) != 0) {
        ok(0, "cleanup");
    }

    return tap_done();
}
