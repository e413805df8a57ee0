
/*
 * Copyright (C) zae-limit authors
 *
 * The streaming JSON scanner the LLM readers share (private to
 * zae_llm_json.c, zae_llm_request.c and zae_llm_usage.c; the reader
 * API is zae_llm.h).
 *
 * It is a byte state machine whose state is the fixed zae_llm_json_t
 * (nesting as a bit per level, one app tag per level, a 32-byte key
 * buffer), so a body of any size is read in pieces with bounded memory
 * and nothing is copied but keys and the captures the app asks for.
 * Strings, most of a chat body, are skipped eight bytes at a time
 * (zae_llm_str_span()).  The app sees tokens through its handlers.
 */


#ifndef _ZAE_LLM_JSON_H_INCLUDED_
#define _ZAE_LLM_JSON_H_INCLUDED_


#include "zae_llm.h"


/*
 * The app's handlers (zae_llm_json_init() takes them in this order):
 *
 *   on_key     a key was read: j->kp, j->key_len, j->key_over; it sets
 *              j->ktag, the tag of the value;
 *   on_value   a value starts: j->vtype, j->vtag; it may set j->str_mode
 *              (and j->cap) for a string and change j->vtag, which a
 *              container keeps for its members;
 *   on_end     a value ended: j->vtype, j->vtag (a container: j->members,
 *              j->end_offset).
 *
 * Tag 0 means "nothing of interest here or below": its values and the
 * keys of its containers reach no handler, and keys are not copied.
 */

/* value types */

#define ZAE_LLM_V_STRING   1
#define ZAE_LLM_V_NUMBER   2
#define ZAE_LLM_V_TRUE     3
#define ZAE_LLM_V_FALSE    4
#define ZAE_LLM_V_NULL     5
#define ZAE_LLM_V_OBJECT   6
#define ZAE_LLM_V_ARRAY    7

/* how a string value is read */

#define ZAE_LLM_STR_SKIP     0  /* only its characters are counted */
#define ZAE_LLM_STR_CAPTURE  1  /* decoded into j->cap */

/* numbers saturate here (above any token count we keep) */
#define ZAE_LLM_NUM_CAP    1000000000000000LL

#define ZAE_LLM_ONES       0x0101010101010101ULL
#define ZAE_LLM_HIGH       0x8080808080808080ULL


extern const u_char  *zae_llm_literals[];


typedef struct {
    const char        *name;
    u_char             len;
    u_char             tag;
} zae_llm_key_t;


/*
 * A key table, indexed on first use by a 6-bit hash of the key's
 * length and first and last bytes: most keys not in it are refused by
 * one bit, a key in it is found at its first entry of that hash.
 */

typedef struct {
    const zae_llm_key_t  *keys;
    uint64_t              hashes;     /* bit h: a key of hash h */
    u_char                first[64];  /* 1 + the first key of hash h */
} zae_llm_keys_t;

#define zae_llm_key_hash(s, len)                                             \
    (((len) * 7 + (s)[0] + (s)[(len) - 1] * 3) & 63)


#define zae_llm_key(s, tag)  { s, sizeof(s) - 1, tag }

#define zae_llm_keys_table(keys)  { keys, 0, { 0 } }


void zae_llm_json_init(zae_llm_json_t *j, const zae_llm_json_handler_pt *h,
    void *app, u_char root_tag);
void zae_llm_json_reset(zae_llm_json_t *j);
const u_char *zae_llm_json_feed(zae_llm_json_t *j, const u_char *data,
    const u_char *end);
int zae_llm_json_finish(zae_llm_json_t *j);
void zae_llm_keys_index(zae_llm_keys_t *t);
u_char zae_llm_key_tag(zae_llm_json_t *j, zae_llm_keys_t *t, u_char dflt);
int64_t zae_llm_json_count(zae_llm_json_t *j);


/*
 * The string body from p: returns the byte it stopped at ('"', '\\',
 * a control byte) or end.  Eight bytes at a time: one 64-bit word is
 * tested for the three at once (the classic "has a byte below n" test,
 * (x - n * 0x01..01) & ~x & 0x80..80, on w ^ 0x02, below 0x21 exactly
 * for '"' and control bytes, and on w ^ '\\' with n = 1; the lowest
 * flagged byte is exact, only bytes above a real hit can be flagged
 * falsely, so on a little-endian machine its index is ctz / 8).
 * Continuation bytes (10xxxxxx) and 3- or 4-byte leads (111xxxxx) of a
 * word are summed by one multiplication.  A run of the skip mode also
 * takes the simple escapes (\n, \", ...) in stride; \u and anything
 * else leave to the caller.
 */

#define ZAE_LLM_SPECIAL(q, b)                                                \
    ((((q) - ZAE_LLM_ONES * 0x21) & ~(q)) | (((b) - ZAE_LLM_ONES) & ~(b)))

/* the number of high bits set in m (bits 7, 15, ... only) */
#define ZAE_LLM_COUNT_HIGH(m)  ((((m) >> 7) * ZAE_LLM_ONES) >> 56)


/*
 * The span of a string body from p up to the first '"', '\\' or control
 * byte (returned), or end; its continuation bytes are added to *cont,
 * its 3- and 4-byte leads to *wide (unless cont is NULL: not counted).
 */

static inline const u_char *
zae_llm_str_span(const u_char *p, const u_char *end, uint64_t *cont,
    uint64_t *wide)
{
    u_char    c;
    uint64_t  w, q, b, t, hi;

    while (end - p >= 8) {
        memcpy(&w, p, 8);

        /* '"' ^ 2 is 0x20, control bytes stay below 0x20: q < 0x21 */
        q = w ^ (ZAE_LLM_ONES * 0x02);
        b = w ^ (ZAE_LLM_ONES * '\\');
        t = ZAE_LLM_SPECIAL(q, b) & ZAE_LLM_HIGH;
        hi = cont ? w & ZAE_LLM_HIGH : 0;

#if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
        if (t) {
            /* the bytes below the first special one */
            t = (t & -t) - 1;
            w &= t;
            hi &= t;
            p += __builtin_ctzll(t + 1) >> 3;
        }
#else
        if (t) {
            break;
        }
#endif

        if (hi) {
            *cont += ZAE_LLM_COUNT_HIGH(hi & ~(w << 1));
            *wide += ZAE_LLM_COUNT_HIGH(hi & (w << 1) & (w << 2));
        }

        if (t) {
            return p;
        }

        p += 8;
    }

    while (p < end) {
        c = *p;

        if (c == '"' || c == '\\' || c < 0x20) {
            break;
        }

        if (c >= 0x80 && cont) {
            if (c < 0xc0) {
                (*cont)++;

            } else if (c >= 0xe0) {
                (*wide)++;
            }
        }

        p++;
    }

    return p;
}


/* the tag of key s in a table, dflt if none */

static inline u_char
zae_llm_keys_find(zae_llm_keys_t *t, const u_char *s, size_t len,
    u_char dflt)
{
    size_t                h, i;
    const zae_llm_key_t  *keys;

    if (t->hashes == 0) {
        zae_llm_keys_index(t);
    }

    if (len == 0 || len > ZAE_LLM_KEY_LEN) {
        return dflt;
    }

    h = zae_llm_key_hash(s, len);

    if (!((t->hashes >> h) & 1)) {
        return dflt;
    }

    for (keys = t->keys + t->first[h] - 1; keys->name; keys++) {
        if (keys->len != len) {
            continue;
        }

        /* keys are short: no memcmp() call */

        for (i = 0; i < len && (u_char) keys->name[i] == s[i]; i++) {
            /* void */
        }

        if (i == len) {
            return keys->tag;
        }
    }

    return dflt;
}


static inline int
zae_llm_json_is_object(zae_llm_json_t *j, unsigned depth)
{
    return (j->objects[depth >> 3] >> (depth & 7)) & 1;
}


static inline uint64_t
zae_llm_add_sat(uint64_t a, uint64_t b)
{
    return (a + b < a) ? UINT64_MAX : a + b;
}


/* a token count: saturated at ZAE_TOKENS_MAX */

static inline int64_t
zae_llm_sat(uint64_t v)
{
    return v > (uint64_t) ZAE_TOKENS_MAX ? ZAE_TOKENS_MAX : (int64_t) v;
}


#endif /* _ZAE_LLM_JSON_H_INCLUDED_ */
