
/*
 * Copyright (C) zae-limit authors
 *
 * The keyed hash of an API key (zae_key_hash): fixed vectors computed
 * independently (Python's hmac and base64.urlsafe_b64encode, RFC 4231
 * test case 1), the secret file rules, and the id rules it must meet.
 */


#include <stdio.h>
#include <unistd.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_limit.h"
#include "zae_keyhash.h"


#define S(s)  (const u_char *) (s), sizeof(s) - 1


static void
hash_is(zae_key_secret_t *s, const u_char *key, size_t len, const char *want,
    const char *what)
{
    u_char     out[ZAE_KEY_HASH_LEN + 1];
    zae_err_t  err;

    memset(out, 0, sizeof(out));

    ok(zae_key_hash(s, key, len, out) == ZAE_OK, "%s: hashed", what);
    is_str(out, want, "%s", what);
    ok(zae_validate_entity_id(out, ZAE_KEY_HASH_LEN, &err) == ZAE_OK,
       "%s: a valid entity id", what);
}


static char *
file_with(const char *text, size_t len)
{
    int          fd;
    static char  path[] = "/tmp/zae-keyhash-XXXXXX";

    strcpy(path + sizeof(path) - 7, "XXXXXX");
    fd = mkstemp(path);

    if (fd < 0 || write(fd, text, len) != (ssize_t) len) {
        return NULL;
    }

    close(fd);

    return path;
}


static void
test_vectors(void)
{
    u_char            key[20];
    zae_err_t         err;
    zae_key_secret_t  s;

    is_int(ZAE_KEY_HASH_LEN, 46, "an id is 46 bytes: kh_ and 43");

    /* RFC 4231 test case 1: HMAC b0344c61...2e32cff7 */

    memset(key, 0x0b, sizeof(key));
    ok(zae_key_secret_set(&s, key, sizeof(key), &err) == ZAE_OK,
       "a 20-byte secret");
    hash_is(&s, S("Hi There"), "kh_sDRMYdjbOFNcqK_OrwvxK4gdwgDJgz2nJuk3bC4yz_c",
            "RFC 4231 case 1");

    ok(zae_key_secret_set(&s, S("0123456789abcdef-secret\n"), &err)
       == ZAE_OK, "a secret with a trailing newline");
    hash_is(&s, S("sk-test-key-1"),
            "kh_01z8EvssPENC-UhCKZxYzdZ2FL-OxmeMmR83ZE3JIIs",
            "the newline is not part of the secret");
    hash_is(&s, S(""), "kh_sDjai72Mo4nuI5Odqm1ZxGFbEMDe6z9r7roRodhdZyw",
            "an empty key");

    ok(zae_key_secret_set(&s, S("0123456789abcdef-secret\r\n\n"), &err)
       == ZAE_OK, "CRLF and several newlines");
    hash_is(&s, S("sk-test-key-1"),
            "kh_01z8EvssPENC-UhCKZxYzdZ2FL-OxmeMmR83ZE3JIIs",
            "all trailing newlines stripped");

    zae_key_secret_wipe(&s);
}


static void
test_secret_rules(void)
{
    char              big[ZAE_KEY_SECRET_MAX + 2], *path;
    zae_err_t         err;
    zae_key_secret_t  s;

    ok(zae_key_secret_set(&s, S(""), &err) == ZAE_ERROR
       && strstr(err.msg, "empty") != NULL, "empty refused: %s", err.msg);
    ok(zae_key_secret_set(&s, S("\n"), &err) == ZAE_ERROR
       && strstr(err.msg, "0 bytes, at least 16") != NULL,
       "only a newline refused: %s", err.msg);
    ok(zae_key_secret_set(&s, S("0123456789abcde\n"), &err) == ZAE_ERROR
       && strstr(err.msg, "15 bytes, at least 16") != NULL,
       "15 bytes refused: %s", err.msg);
    ok(zae_key_secret_set(&s, S("0123456789abcdef"), &err) == ZAE_OK,
       "16 bytes accepted");

    memset(big, 'x', sizeof(big));
    ok(zae_key_secret_set(&s, (u_char *) big, ZAE_KEY_SECRET_MAX, &err)
       == ZAE_OK, "the maximum accepted");
    ok(zae_key_secret_set(&s, (u_char *) big, ZAE_KEY_SECRET_MAX + 1, &err)
       == ZAE_ERROR, "one more refused: %s", err.msg);

    path = file_with("0123456789abcdef-secret\n", 24);
    ok(path && zae_key_secret_read(&s, path, &err) == ZAE_OK,
       "read from a file");
    hash_is(&s, S("sk-test-key-1"),
            "kh_01z8EvssPENC-UhCKZxYzdZ2FL-OxmeMmR83ZE3JIIs",
            "the file gives the same id");
    unlink(path);

    path = file_with("", 0);
    ok(path && zae_key_secret_read(&s, path, &err) == ZAE_ERROR
       && strstr(err.msg, "empty") && strstr(err.msg, path),
       "an empty file refused, named: %s", err.msg);
    unlink(path);

    path = file_with(big, ZAE_KEY_SECRET_MAX + 2);
    ok(path && zae_key_secret_read(&s, path, &err) == ZAE_ERROR,
       "a file too long refused: %s", err.msg);
    unlink(path);

    ok(zae_key_secret_read(&s, "/nonexistent/secret", &err) == ZAE_ERROR
       && strstr(err.msg, "No such file"), "a missing file: %s", err.msg);
}


int
main(void)
{
    test_vectors();
    test_secret_rules();

    return tap_done();
}
