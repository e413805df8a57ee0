
/*
 * Copyright (C) zae-limit authors
 *
 * Keyed hash of an API key, used as the entity id so that the key
 * itself never reaches the table, the error log or the audit trail:
 *
 *   "kh_" base64url(HMAC-SHA-256(secret, key)), no padding: 46 bytes
 *
 * base64url may start with "-" or "_", which the entity id rules
 * (^[a-zA-Z0-9][a-zA-Z0-9_.\-:@]*$, 256 bytes) refuse as a first
 * character; the "kh_" prefix makes every id valid and says what it is.
 * The nginx module ($zae_limit_key_hash) and zae-admin compute it with
 * this one function and the same secret file.
 */


#ifndef _ZAE_KEYHASH_H_INCLUDED_
#define _ZAE_KEYHASH_H_INCLUDED_


#include "zae_core.h"
#include "zae_sigv4.h"


#define ZAE_KEY_HASH_PREFIX      "kh_"
#define ZAE_KEY_HASH_LEN         (sizeof(ZAE_KEY_HASH_PREFIX) - 1 + 43)

#define ZAE_KEY_SECRET_MIN       16
#define ZAE_KEY_SECRET_MAX       4096


/* the secret, kept only as its keyed HMAC state */

typedef struct {
    zae_sigv4_hmac_t       hmac;
} zae_key_secret_t;


/*
 * The secret file: its bytes, without trailing "\n" or "\r\n" (one or
 * more, as editors and "echo" add them); an empty file, a secret shorter
 * than ZAE_KEY_SECRET_MIN bytes or longer than ZAE_KEY_SECRET_MAX is
 * refused.  Reads with stdio: call it at startup, not per request.
 */
int zae_key_secret_read(zae_key_secret_t *s, const char *path,
    zae_err_t *err);

/* the same rules for a secret already in memory (trailing newlines too) */
int zae_key_secret_set(zae_key_secret_t *s, const u_char *data, size_t len,
    zae_err_t *err);

void zae_key_secret_wipe(zae_key_secret_t *s);

/*
 * The entity id of key: ZAE_KEY_HASH_LEN bytes into out (no NUL).  No
 * allocation; an empty key hashes like any other (the caller decides
 * whether an empty key is an entity at all).
 */
int zae_key_hash(const zae_key_secret_t *s, const u_char *key, size_t len,
    u_char *out);


#endif /* _ZAE_KEYHASH_H_INCLUDED_ */
