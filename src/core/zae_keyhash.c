
/*
 * Copyright (C) zae-limit authors
 */


#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "zae_keyhash.h"


int
zae_key_secret_set(zae_key_secret_t *s, const u_char *data, size_t len,
    zae_err_t *err)
{
    if (len == 0) {
        return zae_err_set(err, "key hash secret is empty");
    }

    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
        len--;
    }

    if (len < ZAE_KEY_SECRET_MIN) {
        return zae_err_set(err, "key hash secret is %zu bytes, at least %d "
                           "are needed", len, ZAE_KEY_SECRET_MIN);
    }

    if (len > ZAE_KEY_SECRET_MAX) {
        return zae_err_set(err, "key hash secret is longer than %d bytes",
                           ZAE_KEY_SECRET_MAX);
    }

    if (zae_sigv4_hmac_key(&s->hmac, data, len) != ZAE_OK) {
        zae_key_secret_wipe(s);
        return zae_err_set(err, "key hash secret: sha-256 failed");
    }

    return ZAE_OK;
}


int
zae_key_secret_read(zae_key_secret_t *s, const char *path, zae_err_t *err)
{
    int     rc;
    FILE   *f;
    char    why[ZAE_ERR_LEN];
    size_t  n;
    u_char  buf[ZAE_KEY_SECRET_MAX + 3];

    f = fopen(path, "rb");
    if (f == NULL) {
        return zae_err_set(err, "cannot open key hash secret file "
                           "\"%.512s\": %s", path, strerror(errno));
    }

    n = fread(buf, 1, sizeof(buf), f);
    rc = ferror(f);
    fclose(f);

    if (rc) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return zae_err_set(err, "cannot read key hash secret file "
                           "\"%.512s\"", path);
    }

    rc = zae_key_secret_set(s, buf, n, err);

    OPENSSL_cleanse(buf, sizeof(buf));

    if (rc != ZAE_OK) {
        memcpy(why, err->msg, sizeof(why));
        return zae_err_set(err, "\"%.256s\": %s", path, why);
    }

    return ZAE_OK;
}


void
zae_key_secret_wipe(zae_key_secret_t *s)
{
    OPENSSL_cleanse(s, sizeof(zae_key_secret_t));
}


int
zae_key_hash(const zae_key_secret_t *s, const u_char *key, size_t len,
    u_char *out)
{
    size_t    i, bits, n;
    u_char    mac[32], *p;
    uint32_t  acc;

    static const char  b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    if (zae_sigv4_hmac(&s->hmac, key, len, mac) != ZAE_OK) {
        return ZAE_ERROR;
    }

    p = zae_cpymem(out, ZAE_KEY_HASH_PREFIX, sizeof(ZAE_KEY_HASH_PREFIX) - 1);

    /* base64url without padding: 32 bytes are 43 characters */

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < sizeof(mac); i++) {
        acc = (acc << 8) | mac[i];
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            p[n++] = b64url[(acc >> bits) & 0x3f];
        }
    }

    if (bits) {
        p[n++] = b64url[(acc << (6 - bits)) & 0x3f];
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    return ZAE_OK;
}
