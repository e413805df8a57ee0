
/*
 * Copyright (C) zae-limit authors
 */


/*
 * The shared files (credentials and config): INI scanning, profile
 * credentials, re-reading when they change, the region.
 */


#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "zae_creds.h"
#include "zae_creds_int.h"


#define ZAE_CREDS_LINE_MAX        4096


/* INI scanning: a sink receives key/value pairs of the wanted profile */

typedef void (*zae_creds_ini_sink_pt)(void *ctx, zae_str_t *key,
    zae_str_t *value);

typedef struct {
    const char             *profile;
    int                     config;
    int                     in;
    zae_creds_ini_sink_pt   sink;
    void                   *ctx;
} zae_creds_ini_t;



static void zae_creds_ini_line(zae_creds_ini_t *ini, const u_char *p,
    size_t len);
static void zae_creds_ini_text(zae_creds_ini_t *ini, const u_char *text,
    size_t len);
static int zae_creds_ini_file(zae_creds_ini_t *ini, const char *path);
static void zae_creds_found_sink(void *ctx, zae_str_t *key,
    zae_str_t *value);
static int zae_creds_path(zae_getenv_pt getenv_fn, void *env_ctx,
    const char *var, const char *name, char *buf, size_t size);
static void zae_creds_file_sig(const char *path, zae_creds_file_sig_t *sig);
static int zae_creds_files_read(zae_creds_provider_t *p, const char *profile,
    int config, const char *path, zae_err_t *err);


/* INI files */

static void
zae_creds_ini_line(zae_creds_ini_t *ini, const u_char *p, size_t len)
{
    size_t     n, i;
    zae_str_t  line, name, key, value;

    if (len == 0) {
        return;
    }

    /* indented lines continue a value or hold sub-properties: skipped */

    if (p[0] == ' ' || p[0] == '\t') {
        return;
    }

    line.data = (u_char *) p;
    line.len = len;
    zae_creds_trim(&line);

    if (line.len == 0 || line.data[0] == '#' || line.data[0] == ';') {
        return;
    }

    if (line.data[0] == '[') {
        ini->in = 0;

        for (i = 1; i < line.len && line.data[i] != ']'; i++) {
            /* void */
        }

        if (i == line.len) {
            return;
        }

        name.data = line.data + 1;
        name.len = i - 1;
        zae_creds_trim(&name);

        if (ini->config) {
            if (name.len > 7 && memcmp(name.data, "profile", 7) == 0
                && (name.data[7] == ' ' || name.data[7] == '\t'))
            {
                name.data += 8;
                name.len -= 8;
                zae_creds_trim(&name);

            } else if (!(name.len == 7
                         && memcmp(name.data, "default", 7) == 0))
            {
                /* "[x]" in a config file is not a profile */
                return;
            }
        }

        n = strlen(ini->profile);
        ini->in = (name.len == n && memcmp(name.data, ini->profile, n) == 0);

        return;
    }

    if (!ini->in) {
        return;
    }

    for (i = 0; i < line.len && line.data[i] != '='; i++) {
        /* void */
    }

    if (i == line.len) {
        return;
    }

    key.data = line.data;
    key.len = i;
    zae_creds_trim(&key);

    value.data = line.data + i + 1;
    value.len = line.len - i - 1;
    zae_creds_trim(&value);

    ini->sink(ini->ctx, &key, &value);
}


static void
zae_creds_ini_text(zae_creds_ini_t *ini, const u_char *text, size_t len)
{
    const u_char  *p, *end, *eol;

    p = text;
    end = text + len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        zae_creds_ini_line(ini, p, eol - p);

        p = eol + 1;
    }
}


static int
zae_creds_ini_file(zae_creds_ini_t *ini, const char *path)
{
    int     skip, rc;
    FILE   *f;
    size_t  len, total;
    u_char  line[ZAE_CREDS_LINE_MAX];

    f = fopen(path, "r");
    if (f == NULL) {
        return ZAE_DECLINED;
    }

    skip = 0;
    total = 0;
    rc = ZAE_OK;

    while (fgets((char *) line, sizeof(line), f) != NULL) {
        len = strlen((char *) line);
        total += len;

        if (total > ZAE_CREDS_FILE_MAX) {
            rc = ZAE_ERROR;
            break;
        }

        if (len == 0) {
            continue;
        }

        if (line[len - 1] != '\n' && !feof(f)) {
            /* an overlong line: ignored up to its end */
            skip = 1;
            continue;
        }

        if (skip) {
            skip = 0;
            continue;
        }

        zae_creds_ini_line(ini, line, len);
    }

    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);

    return rc;
}


typedef struct {
    const char  *key;
    zae_str_t   *value;
} zae_creds_ini_get_t;


static void
zae_creds_ini_get_sink(void *ctx, zae_str_t *key, zae_str_t *value)
{
    zae_creds_ini_get_t  *g = ctx;

    if (strlen(g->key) == key->len
        && strncasecmp(g->key, (char *) key->data, key->len) == 0)
    {
        *g->value = *value;
    }
}


int
zae_creds_ini_get(const u_char *text, size_t len, int config,
    const char *profile, const char *key, zae_str_t *value)
{
    zae_creds_ini_t      ini;
    zae_creds_ini_get_t  g;

    value->data = NULL;
    value->len = 0;

    g.key = key;
    g.value = value;

    ini.profile = profile;
    ini.config = config;
    ini.in = 0;
    ini.sink = zae_creds_ini_get_sink;
    ini.ctx = &g;

    zae_creds_ini_text(&ini, text, len);

    return value->data ? ZAE_OK : ZAE_DECLINED;
}


void
zae_creds_found_copy(zae_creds_found_t *f, u_char *buf, size_t size,
    size_t *len, zae_str_t *value)
{
    OPENSSL_cleanse(buf, size);

    if (value->len > size) {
        f->too_long = 1;
        *len = 0;
        return;
    }

    memcpy(buf, value->data, value->len);
    *len = value->len;
}


static void
zae_creds_found_sink(void *ctx, zae_str_t *key, zae_str_t *value)
{
    zae_creds_found_t  *f = ctx;

#define zae_creds_key_is(k)                                                  \
    (key->len == sizeof(k) - 1                                               \
     && strncasecmp((char *) key->data, k, sizeof(k) - 1) == 0)

    if (zae_creds_key_is("aws_access_key_id")) {
        zae_creds_found_copy(f, f->akid, sizeof(f->akid), &f->akid_len,
                             value);
        f->has_akid = 1;

    } else if (zae_creds_key_is("aws_secret_access_key")) {
        zae_creds_found_copy(f, f->secret, sizeof(f->secret), &f->secret_len,
                             value);
        f->has_secret = 1;

    } else if (zae_creds_key_is("aws_session_token")) {
        zae_creds_found_copy(f, f->token, sizeof(f->token), &f->token_len,
                             value);
        f->has_token = 1;

    } else if (zae_creds_key_is("region")) {
        zae_creds_found_copy(f, f->region, sizeof(f->region) - 1,
                             &f->region_len, value);
        f->has_region = 1;
    }

#undef zae_creds_key_is
}


/* credentials from a found profile: ZAE_OK, ZAE_DECLINED, ZAE_ERROR */

static int
zae_creds_from_found(zae_creds_provider_t *p, zae_creds_found_t *f,
    const char *what, const char *profile, zae_err_t *err)
{
    if (!f->has_akid && !f->has_secret) {
        return ZAE_DECLINED;
    }

    if (f->too_long) {
        return zae_err_set(err, "credentials: a value is too long in "
                           "profile \"%.64s\" of the %s file", profile, what);
    }

    if (!f->has_akid || !f->has_secret || f->akid_len == 0
        || f->secret_len == 0)
    {
        return zae_err_set(err, "credentials: profile \"%.64s\" of the %s "
                           "file has partial credentials", profile, what);
    }

    return zae_creds_store_static(p, f->akid, f->akid_len, f->secret,
                                  f->secret_len, f->token,
                                  f->has_token ? f->token_len : 0, 0,
                                  ZAE_CREDS_SRC_PROFILE, err);
}


int
zae_creds_from_ini(zae_creds_provider_t *p, const char *profile,
    const u_char *cred_text, size_t cred_len, const u_char *conf_text,
    size_t conf_len, zae_err_t *err)
{
    int                rc;
    zae_creds_ini_t    ini;
    zae_creds_found_t  f;

    memset(&f, 0, sizeof(zae_creds_found_t));

    ini.profile = profile;
    ini.in = 0;
    ini.sink = zae_creds_found_sink;
    ini.ctx = &f;

    rc = ZAE_DECLINED;

    if (cred_text) {
        ini.config = 0;
        zae_creds_ini_text(&ini, cred_text, cred_len);
        rc = zae_creds_from_found(p, &f, "credentials", profile, err);
    }

    if (rc == ZAE_DECLINED && conf_text) {
        OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));
        ini.config = 1;
        ini.in = 0;
        zae_creds_ini_text(&ini, conf_text, conf_len);
        rc = zae_creds_from_found(p, &f, "config", profile, err);
    }

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    return rc;
}


static int
zae_creds_path(zae_getenv_pt getenv_fn, void *env_ctx, const char *var,
    const char *name, char *buf, size_t size)
{
    int          n;
    const char  *v, *home;

    v = zae_creds_env(getenv_fn, env_ctx, var);

    if (v) {
        n = snprintf(buf, size, "%s", v);

    } else {
        home = zae_creds_env(getenv_fn, env_ctx, "HOME");
        if (home == NULL) {
            return ZAE_DECLINED;
        }

        n = snprintf(buf, size, "%s/.aws/%s", home, name);
    }

    if (n < 0 || (size_t) n >= size) {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


const char *
zae_creds_profile(zae_getenv_pt getenv_fn, void *env_ctx, const char *profile)
{
    const char  *v;

    if (profile && profile[0]) {
        return profile;
    }

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_PROFILE");

    return v ? v : "default";
}


/*
 * one of the two shared files, its path already found: remembers the path
 * and its signature for zae_creds_files_check() and reads the profile
 */

static int
zae_creds_files_read(zae_creds_provider_t *p, const char *profile,
    int config, const char *path, zae_err_t *err)
{
    int                    rc;
    char                  *slot;
    const char            *what;
    zae_creds_ini_t        ini;
    zae_creds_found_t      f;
    zae_creds_file_sig_t  *sig;

    if (config) {
        slot = p->conf_path;
        sig = &p->conf_sig;
        what = "config";

    } else {
        slot = p->cred_path;
        sig = &p->cred_sig;
        what = "credentials";
    }

    memcpy(slot, path, strlen(path) + 1);
    zae_creds_file_sig(slot, sig);

    memset(&f, 0, sizeof(zae_creds_found_t));

    ini.profile = profile;
    ini.sink = zae_creds_found_sink;
    ini.ctx = &f;
    ini.config = config;
    ini.in = 0;

    rc = zae_creds_ini_file(&ini, path);

    if (rc == ZAE_ERROR) {
        OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));
        return zae_err_set(err, "credentials: file \"%.512s\" is too "
                           "large", path);
    }

    rc = zae_creds_from_found(p, &f, what, profile, err);

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    return rc;
}


int
zae_creds_from_files(zae_creds_provider_t *p, zae_getenv_pt getenv_fn,
    void *env_ctx, const char *profile, zae_err_t *err)
{
    int   rc, conf_rc;
    char  path[ZAE_CREDS_URL_MAX], conf[ZAE_CREDS_URL_MAX];

    /*
     * both paths are found before the remembered ones are cleared: a
     * re-read (zae_creds_files_check()) finds them in those
     */

    rc = zae_creds_path(getenv_fn, env_ctx, "AWS_SHARED_CREDENTIALS_FILE",
                        "credentials", path, sizeof(path));

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "credentials: shared credentials file "
                           "path is too long");
    }

    conf_rc = zae_creds_path(getenv_fn, env_ctx, "AWS_CONFIG_FILE", "config",
                             conf, sizeof(conf));

    /* what was read, for zae_creds_files_check() */

    p->cred_path[0] = '\0';
    p->conf_path[0] = '\0';

    if (rc == ZAE_OK) {
        rc = zae_creds_files_read(p, profile, 0, path, err);
        if (rc != ZAE_DECLINED) {
            return rc;
        }
    }

    if (conf_rc == ZAE_ERROR) {
        return zae_err_set(err, "credentials: config file path is too long");
    }

    if (conf_rc == ZAE_OK) {
        return zae_creds_files_read(p, profile, 1, conf, err);
    }

    return rc;
}


static void
zae_creds_file_sig(const char *path, zae_creds_file_sig_t *sig)
{
    struct stat  st;

    memset(sig, 0, sizeof(zae_creds_file_sig_t));

    if (path[0] == '\0' || stat(path, &st) != 0) {
        return;
    }

    sig->exists = 1;
    sig->mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000
                    + st.st_mtim.tv_nsec;
    sig->size = (int64_t) st.st_size;
    sig->ino = (uint64_t) st.st_ino;
}


static int
zae_creds_file_changed(const char *path, zae_creds_file_sig_t *old)
{
    zae_creds_file_sig_t  sig;

    zae_creds_file_sig(path, &sig);

    return sig.exists != old->exists || sig.mtime_ns != old->mtime_ns
           || sig.size != old->size || sig.ino != old->ino;
}


/* the environment of the first read, for zae_creds_files_check() */

static const char *
zae_creds_files_getenv(void *ctx, const char *name)
{
    zae_creds_provider_t  *p = ctx;

    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0) {
        return p->cred_path[0] ? p->cred_path : "";
    }

    if (strcmp(name, "AWS_CONFIG_FILE") == 0) {
        return p->conf_path[0] ? p->conf_path : "";
    }

    return NULL;
}


int
zae_creds_files_check(zae_creds_provider_t *p, int64_t now, zae_err_t *err)
{
    int                    rc;
    zae_creds_provider_t  *tmp;

    if (p->source != ZAE_CREDS_SRC_PROFILE) {
        return ZAE_DECLINED;
    }

    if (now - p->files_read_at < ZAE_CREDS_FILES_RELOAD
        && !zae_creds_file_changed(p->cred_path, &p->cred_sig)
        && !zae_creds_file_changed(p->conf_path, &p->conf_sig))
    {
        return ZAE_DECLINED;
    }

    /* read into a copy: on failure the current credentials stay */

    tmp = calloc(1, sizeof(zae_creds_provider_t));
    if (tmp == NULL) {
        return zae_err_set(err, "credentials: out of memory");
    }

    memcpy(tmp->cred_path, p->cred_path, sizeof(p->cred_path));
    memcpy(tmp->conf_path, p->conf_path, sizeof(p->conf_path));

    rc = zae_creds_from_files(tmp, zae_creds_files_getenv, tmp, p->profile,
                              err);

    /* checked again in ZAE_CREDS_FILES_RELOAD seconds, or when changed */

    p->files_read_at = now;
    p->cred_sig = tmp->cred_sig;
    p->conf_sig = tmp->conf_sig;

    if (rc == ZAE_DECLINED) {
        rc = zae_err_set(err, "credentials: profile \"%.64s\" no longer "
                         "has credentials in the shared files", p->profile);

    } else if (rc == ZAE_OK) {
        rc = zae_creds_store(p, tmp->creds.access_key.data,
                             tmp->creds.access_key.len,
                             tmp->creds.secret_key.data,
                             tmp->creds.secret_key.len,
                             tmp->creds.session_token.data,
                             tmp->creds.session_token.len, 0, now, err);
    }

    OPENSSL_cleanse(tmp, sizeof(zae_creds_provider_t));
    free(tmp);

    return rc;
}


int
zae_creds_region(zae_getenv_pt getenv_fn, void *env_ctx, const char *profile,
    char *buf, size_t size, zae_err_t *err)
{
    int                rc;
    char               path[ZAE_CREDS_URL_MAX];
    const char        *v;
    zae_creds_ini_t    ini;
    zae_creds_found_t  f;

    if (size == 0) {
        return zae_err_set(err, "region: no buffer");
    }

    v = zae_creds_env(getenv_fn, env_ctx, "AWS_REGION");
    if (v == NULL) {
        v = zae_creds_env(getenv_fn, env_ctx, "AWS_DEFAULT_REGION");
    }

    if (v) {
        if (strlen(v) >= size) {
            return zae_err_set(err, "region: \"%.64s\" is too long", v);
        }

        memcpy(buf, v, strlen(v) + 1);

        return ZAE_OK;
    }

    rc = zae_creds_path(getenv_fn, env_ctx, "AWS_CONFIG_FILE", "config",
                        path, sizeof(path));

    if (rc == ZAE_ERROR) {
        return zae_err_set(err, "region: config file path is too long");
    }

    if (rc == ZAE_DECLINED) {
        return ZAE_DECLINED;
    }

    memset(&f, 0, sizeof(zae_creds_found_t));

    ini.profile = zae_creds_profile(getenv_fn, env_ctx, profile);
    ini.config = 1;
    ini.in = 0;
    ini.sink = zae_creds_found_sink;
    ini.ctx = &f;

    rc = zae_creds_ini_file(&ini, path);

    if (rc == ZAE_OK && f.has_region && f.region_len && !f.too_long) {
        if (f.region_len >= size) {
            rc = zae_err_set(err, "region: value in \"%.512s\" is too long",
                             path);

        } else {
            memcpy(buf, f.region, f.region_len);
            buf[f.region_len] = '\0';
        }

    } else if (rc == ZAE_ERROR) {
        rc = zae_err_set(err, "region: file \"%.512s\" is too large", path);

    } else {
        rc = ZAE_DECLINED;
    }

    OPENSSL_cleanse(&f, sizeof(zae_creds_found_t));

    return rc;
}

