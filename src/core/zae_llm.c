
/*
 * Copyright (C) zae-limit authors
 *
 * LLM request and answer parsing (zae_llm.h; docs/design.md, "LLM
 * request and answer parsing").
 *
 * Both readers run on one hand-written streaming JSON scanner: a byte
 * state machine whose state is the fixed zae_llm_json_t (nesting as a
 * bit per level, one app tag per level, a 32-byte key buffer), so a
 * body of any size is read in pieces with bounded memory and nothing
 * is copied but keys and the captures the app asks for.  Strings, most
 * of a chat body, are skipped eight bytes at a time (SWAR: one 64-bit
 * word tested at once for '"', '\\' and control bytes, continuation
 * bytes counted only in words with a high bit).  The app sees tokens
 * through one handler: a key, a value starting (where it chooses how a
 * string is read and tags a container), a value or container ending.
 */


#include <stdlib.h>
#include <strings.h>
#include <limits.h>

#include <zlib.h>

#include "zae_llm.h"


/* scanner states */

enum {
    ZAE_LLM_S_VALUE = 0,       /* a value */
    ZAE_LLM_S_VALUE_OR_END,    /* after '[' */
    ZAE_LLM_S_KEY_OR_END,      /* after '{' */
    ZAE_LLM_S_KEY,             /* after ',' in an object */
    ZAE_LLM_S_COLON,           /* after a key */
    ZAE_LLM_S_NEXT,            /* after a value in a container */
    ZAE_LLM_S_STRING,
    ZAE_LLM_S_ESCAPE,          /* after '\\' */
    ZAE_LLM_S_HEX,             /* in \uXXXX, sub digits read */
    ZAE_LLM_S_NUMBER,          /* sub: ZAE_LLM_N_* */
    ZAE_LLM_S_LITERAL,         /* sub: bytes of it matched */
    ZAE_LLM_S_DONE,            /* after the top-level value */
    ZAE_LLM_S_FAILED
};

/* number states */

enum {
    ZAE_LLM_N_MINUS = 0,       /* after '-' */
    ZAE_LLM_N_ZERO,            /* a leading 0 */
    ZAE_LLM_N_INT,
    ZAE_LLM_N_DOT,             /* after '.' */
    ZAE_LLM_N_FRAC,
    ZAE_LLM_N_E,               /* after 'e' */
    ZAE_LLM_N_ESIGN,           /* after 'e+' or 'e-' */
    ZAE_LLM_N_EXP
};

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


static const u_char  *zae_llm_literals[] = {
    NULL, NULL, NULL, (u_char *) "true", (u_char *) "false",
    (u_char *) "null"
};


static void
zae_llm_json_init(zae_llm_json_t *j, const zae_llm_json_handler_pt *h,
    void *app, u_char root_tag)
{
    memset(j, 0, sizeof(zae_llm_json_t));
    j->on_key = h[0];
    j->on_value = h[1];
    j->on_end = h[2];
    j->app = app;
    j->ctag[0] = root_tag;
}


/* a new document on the same scanner (the next SSE event) */

static void
zae_llm_json_reset(zae_llm_json_t *j)
{
    j->state = ZAE_LLM_S_VALUE;
    j->depth = 0;
    j->failed = 0;
    j->done = 0;
    j->in_key = 0;
}


static void
zae_llm_json_fail(zae_llm_json_t *j)
{
    j->failed = 1;
    j->state = ZAE_LLM_S_FAILED;
}


static int
zae_llm_json_is_object(zae_llm_json_t *j, unsigned depth)
{
    return (j->objects[depth >> 3] >> (depth & 7)) & 1;
}


/* the state after a value at the current depth */

static void
zae_llm_json_after_value(zae_llm_json_t *j)
{
    if (j->depth) {
        j->state = ZAE_LLM_S_NEXT;
        return;
    }

    j->state = ZAE_LLM_S_DONE;
    j->done = 1;
}


static void
zae_llm_json_value(zae_llm_json_t *j, u_char vtype)
{
    j->vtype = vtype;

    if (j->depth == 0) {
        j->vtag = j->ctag[0];

    } else if (zae_llm_json_is_object(j, j->depth)) {
        j->vtag = j->ktag;

    } else {
        j->vtag = j->ctag[j->depth];
    }

    j->str_mode = ZAE_LLM_STR_SKIP;

    /* tag 0: nothing of interest here or below, the app is not called */

    if (j->vtag) {
        j->on_value(j->app, j);
    }
}


static void
zae_llm_json_open(zae_llm_json_t *j, u_char vtype)
{
    unsigned  d;

    zae_llm_json_value(j, vtype);

    if (j->depth == ZAE_LLM_JSON_DEPTH) {
        zae_llm_json_fail(j);
        return;
    }

    d = ++j->depth;

    if (vtype == ZAE_LLM_V_OBJECT) {
        j->objects[d >> 3] |= (u_char) (1 << (d & 7));
        j->state = ZAE_LLM_S_KEY_OR_END;

    } else {
        j->objects[d >> 3] &= (u_char) ~(1 << (d & 7));
        j->state = ZAE_LLM_S_VALUE_OR_END;
    }

    j->ctag[d] = j->vtag;
}


static void
zae_llm_json_close(zae_llm_json_t *j, const u_char *p, int members)
{
    j->vtype = zae_llm_json_is_object(j, j->depth) ? ZAE_LLM_V_OBJECT
                                                   : ZAE_LLM_V_ARRAY;
    j->vtag = j->ctag[j->depth];
    j->members = members;
    j->end_offset = j->offset + (uint64_t) (p - j->chunk);
    j->depth--;

    if (j->vtag) {
        j->on_end(j->app, j);
    }

    zae_llm_json_after_value(j);
}


static void
zae_llm_json_string_start(zae_llm_json_t *j, int key)
{
    j->str_chars = 0;
    j->str_wide = 0;
    j->surrogate = 0;
    j->state = ZAE_LLM_S_STRING;

    if (key) {
        j->in_key = 1;
        j->key_len = 0;
        j->key_over = 0;
        j->kp = j->key;
        return;
    }

    j->in_key = 0;
    j->cap_len = 0;
    j->cap_over = 0;

    zae_llm_json_value(j, ZAE_LLM_V_STRING);
}


static void
zae_llm_json_string_end(zae_llm_json_t *j)
{
    if (j->in_key) {
        j->in_key = 0;
        j->ktag = 0;
        j->state = ZAE_LLM_S_COLON;

        if (j->ctag[j->depth]) {
            j->on_key(j->app, j);
        }

        return;
    }

    j->vtype = ZAE_LLM_V_STRING;

    if (j->vtag) {
        j->on_end(j->app, j);
    }

    zae_llm_json_after_value(j);
}


/* decoded bytes of a key or a capture */

static void
zae_llm_json_put(zae_llm_json_t *j, const u_char *s, size_t n)
{
    u_char  *d;

    if (j->in_key) {
        if (j->key_over || n > (size_t) (ZAE_LLM_KEY_LEN - j->key_len)) {
            j->key_over = 1;
            return;
        }

        /* keys are short: no memcpy() call */

        d = j->key + j->key_len;
        j->key_len += (u_char) n;

        while (n--) {
            *d++ = *s++;
        }

        return;
    }

    if (j->str_mode != ZAE_LLM_STR_CAPTURE) {
        return;
    }

    if (j->cap_over || n > j->cap_size - j->cap_len) {
        j->cap_over = 1;
        return;
    }

    memcpy(j->cap + j->cap_len, s, n);
    j->cap_len += n;
}


static void
zae_llm_json_put_cp(zae_llm_json_t *j, uint32_t c)
{
    u_char  b[4];
    size_t  n;

    if (c < 0x80) {
        b[0] = (u_char) c;
        n = 1;

    } else if (c < 0x800) {
        b[0] = (u_char) (0xc0 | (c >> 6));
        b[1] = (u_char) (0x80 | (c & 0x3f));
        n = 2;

    } else if (c < 0x10000) {
        b[0] = (u_char) (0xe0 | (c >> 12));
        b[1] = (u_char) (0x80 | ((c >> 6) & 0x3f));
        b[2] = (u_char) (0x80 | (c & 0x3f));
        n = 3;

    } else {
        b[0] = (u_char) (0xf0 | (c >> 18));
        b[1] = (u_char) (0x80 | ((c >> 12) & 0x3f));
        b[2] = (u_char) (0x80 | ((c >> 6) & 0x3f));
        b[3] = (u_char) (0x80 | (c & 0x3f));
        n = 4;
    }

    zae_llm_json_put(j, b, n);
}


/* a lone high surrogate becomes U+FFFD */

static void
zae_llm_json_flush_surrogate(zae_llm_json_t *j)
{
    if (j->surrogate) {
        j->surrogate = 0;
        zae_llm_json_put_cp(j, 0xfffd);
    }
}


/* one \uXXXX read: one character (the low half of a pair: none) */

static void
zae_llm_json_escaped_cp(zae_llm_json_t *j, uint32_t c)
{
    if (c >= 0xdc00 && c <= 0xdfff && j->surrogate) {
        c = 0x10000 + ((j->surrogate - 0xd800) << 10) + (c - 0xdc00);
        j->surrogate = 0;
        zae_llm_json_put_cp(j, c);
        return;
    }

    zae_llm_json_flush_surrogate(j);

    j->str_chars++;

    if (c >= 0x800) {
        j->str_wide++;
    }

    if (c >= 0xd800 && c <= 0xdbff) {
        j->surrogate = c;
        return;
    }

    if (c >= 0xdc00 && c <= 0xdfff) {
        c = 0xfffd;
    }

    zae_llm_json_put_cp(j, c);
}


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


static const u_char *
zae_llm_json_run(zae_llm_json_t *j, const u_char *p, const u_char *end)
{
    int            skip;
    u_char         c;
    uint64_t       cont, chars, wide, esc;
    const u_char  *start;

    start = p;
    cont = 0;
    wide = 0;
    esc = 0;
    skip = j->in_key ? (j->ctag[j->depth] == 0)
                     : (j->str_mode != ZAE_LLM_STR_CAPTURE);

    for ( ;; ) {

        p = zae_llm_str_span(p, end, &cont, &wide);

        /* a simple escape in the skip mode: two bytes, one character */

        if (!skip || end - p < 2 || *p != '\\' || p[1] == 'u') {
            break;
        }

        c = p[1];

        if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f'
            && c != 'n' && c != 'r' && c != 't')
        {
            break;
        }

        p += 2;
        esc++;
    }

    chars = (uint64_t) (p - start) - cont - esc;

    if (p != start) {
        if (j->surrogate) {
            zae_llm_json_flush_surrogate(j);
        }

        j->str_chars += chars;
        j->str_wide += wide;

        if (skip) {
            /* nothing kept */

        } else if (j->in_key && j->key_len == 0 && !j->key_over
                   && p < end && *p == '"')
        {
            /* the whole key in this piece: read in place, not copied */

            if (p - start > ZAE_LLM_KEY_LEN) {
                j->key_over = 1;

            } else {
                j->kp = start;
                j->key_len = (u_char) (p - start);
            }

        } else {
            zae_llm_json_put(j, start, (size_t) (p - start));
        }
    }

    return p;
}


static int
zae_llm_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* ends a number at a byte that is not part of it: 0, or -1 if invalid */

static int
zae_llm_json_number_end(zae_llm_json_t *j)
{
    if (j->sub != ZAE_LLM_N_ZERO && j->sub != ZAE_LLM_N_INT
        && j->sub != ZAE_LLM_N_FRAC && j->sub != ZAE_LLM_N_EXP)
    {
        zae_llm_json_fail(j);
        return -1;
    }

    j->vtype = ZAE_LLM_V_NUMBER;

    if (j->vtag) {
        j->on_end(j->app, j);
    }

    zae_llm_json_after_value(j);

    return 0;
}


/* a number byte: 1 if taken, 0 if it ends the number, -1 if invalid */

static int
zae_llm_json_number_byte(zae_llm_json_t *j, u_char c)
{
    int  digit;

    digit = (c >= '0' && c <= '9');

    switch (j->sub) {

    case ZAE_LLM_N_MINUS:
        if (!digit) {
            return -1;
        }

        j->sub = (c == '0') ? ZAE_LLM_N_ZERO : ZAE_LLM_N_INT;
        j->num = c - '0';
        return 1;

    case ZAE_LLM_N_ZERO:
    case ZAE_LLM_N_INT:
        if (digit) {
            if (j->sub == ZAE_LLM_N_ZERO) {
                return -1;
            }

            if (j->num < ZAE_LLM_NUM_CAP) {
                j->num = j->num * 10 + (c - '0');
            }

            return 1;
        }

        if (c == '.') {
            j->sub = ZAE_LLM_N_DOT;
            j->num_frac = 1;
            return 1;
        }

        if (c == 'e' || c == 'E') {
            j->sub = ZAE_LLM_N_E;
            j->num_frac = 1;
            return 1;
        }

        return 0;

    case ZAE_LLM_N_DOT:
        if (!digit) {
            return -1;
        }

        j->sub = ZAE_LLM_N_FRAC;
        return 1;

    case ZAE_LLM_N_FRAC:
        if (digit) {
            return 1;
        }

        if (c == 'e' || c == 'E') {
            j->sub = ZAE_LLM_N_E;
            return 1;
        }

        return 0;

    case ZAE_LLM_N_E:
        if (c == '+' || c == '-') {
            j->sub = ZAE_LLM_N_ESIGN;
            return 1;
        }

        /* fall through */

    case ZAE_LLM_N_ESIGN:
        if (!digit) {
            return -1;
        }

        j->sub = ZAE_LLM_N_EXP;
        return 1;

    default: /* ZAE_LLM_N_EXP */
        return digit ? 1 : 0;
    }
}


/*
 * Scans data up to end.  In SSE mode it stops at a CR or LF (returns
 * a pointer to it), else returns end.
 */

static const u_char *
zae_llm_json_feed(zae_llm_json_t *j, const u_char *data, const u_char *end)
{
    int            rc, h;
    u_char         c;
    const u_char  *p;

    j->chunk = data;
    p = data;

    while (p < end) {

        if (j->state <= ZAE_LLM_S_NEXT || j->state == ZAE_LLM_S_DONE) {
            goto tokens;
        }

        switch (j->state) {

        case ZAE_LLM_S_STRING:
        string:
            p = zae_llm_json_run(j, p, end);

            if (p == end) {
                goto done;
            }

            c = *p;

            if (c == '"') {
                p++;
                zae_llm_json_flush_surrogate(j);
                zae_llm_json_string_end(j);

                /*
                 * the usual next bytes without a turn of the loop: the
                 * ':' and a string after a key, the ',' and the next key
                 * after a value
                 */

                if (p == end) {
                    goto done;
                }

                c = *p;

                if (j->state == ZAE_LLM_S_COLON) {
                    if (c == ':') {
                        p++;
                        j->state = ZAE_LLM_S_VALUE;

                        if (p < end && *p == '"') {
                            p++;
                            zae_llm_json_string_start(j, 0);
                            goto string;
                        }
                    }

                    continue;
                }

                if (j->state == ZAE_LLM_S_NEXT && c == ',') {
                    p++;

                    if (!zae_llm_json_is_object(j, j->depth)) {
                        j->state = ZAE_LLM_S_VALUE;
                        continue;
                    }

                    j->state = ZAE_LLM_S_KEY;

                    if (p < end && *p == '"') {
                        p++;
                        zae_llm_json_string_start(j, 1);
                        goto string;
                    }
                }

                continue;
            }

            if (c == '\\') {
                p++;
                j->state = ZAE_LLM_S_ESCAPE;
                continue;
            }

            /* a control byte */

            if (j->sse && (c == '\n' || c == '\r')) {
                goto done;
            }

            zae_llm_json_fail(j);
            continue;

        case ZAE_LLM_S_ESCAPE:
            c = *p;

            if (j->sse && (c == '\n' || c == '\r')) {
                goto done;
            }

            p++;

            switch (c) {
            case '"':
            case '\\':
            case '/':
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                j->state = ZAE_LLM_S_HEX;
                j->sub = 0;
                j->hex = 0;
                continue;
            default:
                zae_llm_json_fail(j);
                continue;
            }

            zae_llm_json_flush_surrogate(j);
            j->str_chars++;
            zae_llm_json_put(j, &c, 1);
            j->state = ZAE_LLM_S_STRING;
            continue;

        case ZAE_LLM_S_HEX:
            c = *p;

            if (j->sse && (c == '\n' || c == '\r')) {
                goto done;
            }

            p++;
            h = zae_llm_hex(c);

            if (h < 0) {
                zae_llm_json_fail(j);
                continue;
            }

            j->hex = (j->hex << 4) | (uint32_t) h;

            if (++j->sub == 4) {
                zae_llm_json_escaped_cp(j, j->hex);
                j->state = ZAE_LLM_S_STRING;
            }

            continue;

        case ZAE_LLM_S_NUMBER:
            if (j->sub == ZAE_LLM_N_INT) {
                while (p < end && *p >= '0' && *p <= '9') {
                    if (j->num < ZAE_LLM_NUM_CAP) {
                        j->num = j->num * 10 + (*p - '0');
                    }

                    p++;
                }

                if (p == end) {
                    goto done;
                }
            }

            c = *p;
            rc = zae_llm_json_number_byte(j, c);

            if (rc == 1) {
                p++;
                continue;
            }

            if (rc < 0 || zae_llm_json_number_end(j) != 0) {
                zae_llm_json_fail(j);
            }

            /* the byte is read again in the new state */
            continue;

        case ZAE_LLM_S_LITERAL:
            c = *p;

            if (c != zae_llm_literals[j->vtype][j->sub]) {
                if (j->sse && (c == '\n' || c == '\r')) {
                    goto done;
                }

                zae_llm_json_fail(j);
                continue;
            }

            p++;

            if (zae_llm_literals[j->vtype][++j->sub] == '\0') {
                if (j->vtag) {
                    j->on_end(j->app, j);
                }

                zae_llm_json_after_value(j);
            }

            continue;

        case ZAE_LLM_S_FAILED:
            if (!j->sse) {
                p = end;
                goto done;
            }

            while (p < end && *p != '\n' && *p != '\r') {
                p++;
            }

            goto done;

        default:
            break;
        }

        /* between tokens */

    tokens:

        c = *p;

        if (c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            if (j->sse && (c == '\n' || c == '\r')) {
                goto done;
            }

            p++;
            continue;
        }

        switch (j->state) {

        case ZAE_LLM_S_DONE:
            if (!j->multi) {
                zae_llm_json_fail(j);
                continue;
            }

            j->state = ZAE_LLM_S_VALUE;

            /* fall through */

        case ZAE_LLM_S_VALUE:
        case ZAE_LLM_S_VALUE_OR_END:

            if (c == ']' && j->state == ZAE_LLM_S_VALUE_OR_END) {
                zae_llm_json_close(j, p, 0);
                p++;
                continue;
            }

            p++;

            switch (c) {
            case '{':
                zae_llm_json_open(j, ZAE_LLM_V_OBJECT);
                continue;
            case '[':
                zae_llm_json_open(j, ZAE_LLM_V_ARRAY);
                continue;
            case '"':
                zae_llm_json_string_start(j, 0);
                goto string;
            case 't':
                h = ZAE_LLM_V_TRUE;
                break;
            case 'f':
                h = ZAE_LLM_V_FALSE;
                break;
            case 'n':
                h = ZAE_LLM_V_NULL;
                break;
            default:
                if (c != '-' && (c < '0' || c > '9')) {
                    zae_llm_json_fail(j);
                    continue;
                }

                zae_llm_json_value(j, ZAE_LLM_V_NUMBER);
                j->state = ZAE_LLM_S_NUMBER;
                j->num_neg = (c == '-');
                j->num_frac = 0;
                j->num = 0;
                j->sub = ZAE_LLM_N_MINUS;

                if (c != '-') {
                    (void) zae_llm_json_number_byte(j, c);
                }

                continue;
            }

            zae_llm_json_value(j, (u_char) h);
            j->vtype = (u_char) h;
            j->state = ZAE_LLM_S_LITERAL;
            j->sub = 1;
            continue;

        case ZAE_LLM_S_KEY_OR_END:
        case ZAE_LLM_S_KEY:
            if (c == '}' && j->state == ZAE_LLM_S_KEY_OR_END) {
                zae_llm_json_close(j, p, 0);
                p++;
                continue;
            }

            if (c != '"') {
                zae_llm_json_fail(j);
                continue;
            }

            p++;
            zae_llm_json_string_start(j, 1);
            goto string;

        case ZAE_LLM_S_COLON:
            if (c != ':') {
                zae_llm_json_fail(j);
                continue;
            }

            p++;
            j->state = ZAE_LLM_S_VALUE;
            continue;

        default: /* ZAE_LLM_S_NEXT */

            if (c == ',') {
                p++;
                j->state = zae_llm_json_is_object(j, j->depth)
                           ? ZAE_LLM_S_KEY : ZAE_LLM_S_VALUE;
                continue;
            }

            if ((c == '}' && zae_llm_json_is_object(j, j->depth))
                || (c == ']' && !zae_llm_json_is_object(j, j->depth)))
            {
                zae_llm_json_close(j, p, 1);
                p++;
                continue;
            }

            zae_llm_json_fail(j);
            continue;
        }
    }

done:

    j->offset += (uint64_t) (p - data);

    return p;
}


/*
 * The end of the input: a top-level number ends here.  1 if a complete
 * value was read and nothing invalid, else 0.
 */

static int
zae_llm_json_finish(zae_llm_json_t *j)
{
    if (j->state == ZAE_LLM_S_NUMBER && j->depth == 0) {
        (void) zae_llm_json_number_end(j);
    }

    if (j->state != ZAE_LLM_S_DONE) {
        if (j->state != ZAE_LLM_S_VALUE || !j->multi || !j->done) {
            j->failed = 1;
        }
    }

    return j->done && !j->failed;
}


/* the request ------------------------------------------------------------ */

/* request tags */

enum {
    ZAE_LLM_R_NONE = 0,        /* nothing of interest below */
    ZAE_LLM_R_TOP,             /* the top-level value */
    ZAE_LLM_R_ROOT,            /* the top-level object */
    ZAE_LLM_R_TEXT,            /* text region, strings counted */
    ZAE_LLM_R_TEXT_NO,         /* text region, strings not counted */
    ZAE_LLM_R_LIST,            /* messages, contents, input */
    ZAE_LLM_R_TOOLS,           /* keys and strings counted */
    ZAE_LLM_R_GEN,             /* generationConfig */
    ZAE_LLM_R_SO,              /* the stream_options value */
    ZAE_LLM_R_INCLUDE,         /* stream_options.include_usage */
    ZAE_LLM_R_MODEL,
    ZAE_LLM_R_STREAM,
    ZAE_LLM_R_N,
    ZAE_LLM_R_CANDIDATES,      /* generationConfig.candidateCount */
    ZAE_LLM_R_MAX              /* + 0..3: the max token members */
};


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

static const zae_llm_key_t  zae_llm_root_keys[] = {
    zae_llm_key("model", ZAE_LLM_R_MODEL),
    zae_llm_key("stream", ZAE_LLM_R_STREAM),
    zae_llm_key("stream_options", ZAE_LLM_R_SO),
    zae_llm_key("max_tokens", ZAE_LLM_R_MAX),
    zae_llm_key("max_completion_tokens", ZAE_LLM_R_MAX + 1),
    zae_llm_key("max_output_tokens", ZAE_LLM_R_MAX + 2),
    zae_llm_key("n", ZAE_LLM_R_N),
    zae_llm_key("generationConfig", ZAE_LLM_R_GEN),
    zae_llm_key("generation_config", ZAE_LLM_R_GEN),
    zae_llm_key("messages", ZAE_LLM_R_LIST),
    zae_llm_key("contents", ZAE_LLM_R_LIST),
    zae_llm_key("input", ZAE_LLM_R_LIST),
    zae_llm_key("prompt", ZAE_LLM_R_TEXT),
    zae_llm_key("system", ZAE_LLM_R_TEXT),
    zae_llm_key("systemInstruction", ZAE_LLM_R_TEXT),
    zae_llm_key("system_instruction", ZAE_LLM_R_TEXT),
    zae_llm_key("instructions", ZAE_LLM_R_TEXT),
    zae_llm_key("tools", ZAE_LLM_R_TOOLS),
    zae_llm_key("functions", ZAE_LLM_R_TOOLS),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_root_keys_table = {
    zae_llm_root_keys, 0, { 0 }
};

/* keys whose strings the model reads, inside the text region */

static const zae_llm_key_t  zae_llm_text_keys[] = {
    zae_llm_key("content", ZAE_LLM_R_TEXT),
    zae_llm_key("text", ZAE_LLM_R_TEXT),
    zae_llm_key("arguments", ZAE_LLM_R_TEXT),
    zae_llm_key("output", ZAE_LLM_R_TEXT),
    zae_llm_key("input", ZAE_LLM_R_TEXT),
    zae_llm_key("thinking", ZAE_LLM_R_TEXT),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_text_keys_table = {
    zae_llm_text_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_gen_keys[] = {
    zae_llm_key("maxOutputTokens", ZAE_LLM_R_MAX + 3),
    zae_llm_key("max_output_tokens", ZAE_LLM_R_MAX + 3),
    zae_llm_key("candidateCount", ZAE_LLM_R_CANDIDATES),
    zae_llm_key("candidate_count", ZAE_LLM_R_CANDIDATES),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_gen_keys_table = {
    zae_llm_gen_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_so_keys[] = {
    zae_llm_key("include_usage", ZAE_LLM_R_INCLUDE),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_so_keys_table = {
    zae_llm_so_keys, 0, { 0 }
};


/* the table's index, built on first use */

static void
zae_llm_keys_index(zae_llm_keys_t *t)
{
    size_t  i, h;

    for (i = 0; t->keys[i].name; i++) {
        h = zae_llm_key_hash(t->keys[i].name, t->keys[i].len);

        if (!((t->hashes >> h) & 1)) {
            t->hashes |= (uint64_t) 1 << h;
            t->first[h] = (u_char) (i + 1);
        }
    }
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


/* the tag of the key just read */

static u_char
zae_llm_key_tag(zae_llm_json_t *j, zae_llm_keys_t *t, u_char dflt)
{
    if (j->key_over) {
        return dflt;
    }

    return zae_llm_keys_find(t, j->kp, j->key_len, dflt);
}


static uint64_t
zae_llm_add_sat(uint64_t a, uint64_t b)
{
    return (a + b < a) ? UINT64_MAX : a + b;
}


/* a non-negative integer value, saturated, or -1 */

static int64_t
zae_llm_json_count(zae_llm_json_t *j)
{
    if (j->vtype != ZAE_LLM_V_NUMBER || j->num_neg || j->num_frac) {
        return ZAE_LLM_UNKNOWN;
    }

    return j->num > ZAE_TOKENS_MAX ? ZAE_TOKENS_MAX : j->num;
}


static void
zae_llm_request_key(void *app, zae_llm_json_t *j)
{
    zae_llm_request_t *r = app;
    switch (j->ctag[j->depth]) {

    case ZAE_LLM_R_ROOT:
        j->ktag = zae_llm_key_tag(j, &zae_llm_root_keys_table,
                                  ZAE_LLM_R_NONE);
        return;

    case ZAE_LLM_R_TEXT:
    case ZAE_LLM_R_TEXT_NO:
    case ZAE_LLM_R_LIST:
        j->ktag = zae_llm_key_tag(j, &zae_llm_text_keys_table,
                                  ZAE_LLM_R_TEXT_NO);
        return;

    case ZAE_LLM_R_TOOLS:
        r->chars = zae_llm_add_sat(r->chars, j->str_chars);
        r->wide = zae_llm_add_sat(r->wide, j->str_wide);
        j->ktag = ZAE_LLM_R_TOOLS;
        return;

    case ZAE_LLM_R_GEN:
        j->ktag = zae_llm_key_tag(j, &zae_llm_gen_keys_table,
                                  ZAE_LLM_R_NONE);
        return;

    case ZAE_LLM_R_SO:
        j->ktag = zae_llm_key_tag(j, &zae_llm_so_keys_table,
                                  ZAE_LLM_R_NONE);
        return;

    default:
        j->ktag = ZAE_LLM_R_NONE;
        return;
    }
}


static void
zae_llm_request_value(void *app, zae_llm_json_t *j)
{
    zae_llm_request_t *r = app;
    int  container;

    container = (j->vtype == ZAE_LLM_V_OBJECT || j->vtype == ZAE_LLM_V_ARRAY);

    switch (j->vtag) {

    case ZAE_LLM_R_TOP:
        r->object = (j->vtype == ZAE_LLM_V_OBJECT);
        j->vtag = r->object ? ZAE_LLM_R_ROOT : ZAE_LLM_R_NONE;
        return;

    case ZAE_LLM_R_MODEL:
        if (j->vtype == ZAE_LLM_V_STRING) {
            j->str_mode = ZAE_LLM_STR_CAPTURE;
            j->cap = r->model;
            j->cap_size = ZAE_LLM_MODEL_LEN;
            return;
        }

        r->model_seen = 0;
        r->model_bad = 1;
        r->model_too_long = 0;
        r->model_len = 0;
        break;

    case ZAE_LLM_R_SO:
        r->stream_options = (j->vtype == ZAE_LLM_V_OBJECT);
        r->include_usage = 0;
        break;

    case ZAE_LLM_R_LIST:
        if (j->vtype == ZAE_LLM_V_OBJECT && j->depth > 0
            && !zae_llm_json_is_object(j, j->depth))
        {
            /* an element of messages, contents or input */
            r->messages++;
            j->vtag = ZAE_LLM_R_TEXT_NO;
        }

        return;

    case ZAE_LLM_R_TEXT:
    case ZAE_LLM_R_TEXT_NO:
    case ZAE_LLM_R_TOOLS:
        return;

    case ZAE_LLM_R_GEN:
        break;

    case ZAE_LLM_R_STREAM:
        r->stream = 0;
        break;

    case ZAE_LLM_R_INCLUDE:
        r->include_usage = 0;
        break;

    case ZAE_LLM_R_N:
        r->counts[0] = 0;
        break;

    case ZAE_LLM_R_CANDIDATES:
        r->counts[1] = 0;
        break;

    default:
        if (j->vtag >= ZAE_LLM_R_MAX && j->vtag < ZAE_LLM_R_MAX + 4) {
            r->max[j->vtag - ZAE_LLM_R_MAX] = ZAE_LLM_UNKNOWN;
            break;
        }

        j->vtag = ZAE_LLM_R_NONE;
        return;
    }

    if (container && j->vtype != ZAE_LLM_V_OBJECT) {
        j->vtag = ZAE_LLM_R_NONE;
    }
}


static void
zae_llm_request_end(void *app, zae_llm_json_t *j)
{
    zae_llm_request_t *r = app;
    int64_t  v;

    switch (j->vtag) {

    case ZAE_LLM_R_ROOT:
        if (j->depth == 0) {
            r->end_offset = j->end_offset;
            r->end_members = j->members;
        }

        return;

    case ZAE_LLM_R_SO:
        if (j->vtype == ZAE_LLM_V_OBJECT) {
            r->so_end_offset = j->end_offset;
            r->so_members = j->members;
        }

        return;

    case ZAE_LLM_R_TEXT:
    case ZAE_LLM_R_LIST:
    case ZAE_LLM_R_TOOLS:
        if (j->vtype == ZAE_LLM_V_STRING) {
            r->chars = zae_llm_add_sat(r->chars, j->str_chars);
            r->wide = zae_llm_add_sat(r->wide, j->str_wide);
        }

        return;

    case ZAE_LLM_R_MODEL:
        if (j->vtype == ZAE_LLM_V_STRING) {
            r->model_seen = 1;
            r->model_bad = 0;
            r->model_too_long = j->cap_over;
            r->model_len = j->cap_over ? 0 : j->cap_len;
        }

        return;

    case ZAE_LLM_R_STREAM:
        r->stream = (j->vtype == ZAE_LLM_V_TRUE);
        return;

    case ZAE_LLM_R_INCLUDE:
        r->include_usage = (j->vtype == ZAE_LLM_V_TRUE);
        return;

    case ZAE_LLM_R_N:
    case ZAE_LLM_R_CANDIDATES:
        v = zae_llm_json_count(j);
        r->counts[j->vtag == ZAE_LLM_R_N ? 0 : 1] = (v >= 1) ? v : 0;
        return;

    default:
        if (j->vtag >= ZAE_LLM_R_MAX && j->vtag < ZAE_LLM_R_MAX + 4) {
            r->max[j->vtag - ZAE_LLM_R_MAX] = zae_llm_json_count(j);
        }

        return;
    }
}


static const zae_llm_json_handler_pt  zae_llm_request_handlers[] = {
    zae_llm_request_key, zae_llm_request_value, zae_llm_request_end
};


void
zae_llm_request_init(zae_llm_request_t *r)
{
    memset(r, 0, sizeof(zae_llm_request_t));

    r->max_tokens = ZAE_LLM_UNKNOWN;
    r->n = 1;
    r->max[0] = ZAE_LLM_UNKNOWN;
    r->max[1] = ZAE_LLM_UNKNOWN;
    r->max[2] = ZAE_LLM_UNKNOWN;
    r->max[3] = ZAE_LLM_UNKNOWN;

    zae_llm_json_init(&r->json, zae_llm_request_handlers, r, ZAE_LLM_R_TOP);
}


int
zae_llm_request_feed(zae_llm_request_t *r, const u_char *data, size_t len)
{
    r->size += len;

    if (r->json.failed || r->finished) {
        return ZAE_DECLINED;
    }

    (void) zae_llm_json_feed(&r->json, data, data + len);

    return r->json.failed ? ZAE_DECLINED : ZAE_OK;
}


int
zae_llm_request_finish(zae_llm_request_t *r)
{
    size_t  i;

    if (!r->finished) {
        r->finished = 1;
        r->invalid = !zae_llm_json_finish(&r->json);

        r->max_tokens = ZAE_LLM_UNKNOWN;

        for (i = 0; i < 4; i++) {
            if (r->max[i] > r->max_tokens) {
                r->max_tokens = r->max[i];
            }
        }

        r->n = r->counts[0] ? r->counts[0] : (r->counts[1] ? r->counts[1]
                                                            : 1);
    }

    return r->invalid ? ZAE_DECLINED : ZAE_OK;
}


static int64_t
zae_llm_sat(uint64_t v)
{
    return v > (uint64_t) ZAE_TOKENS_MAX ? ZAE_TOKENS_MAX : (int64_t) v;
}


int64_t
zae_llm_size_estimate(uint64_t size)
{
    return zae_llm_sat(size / 4 + (size % 4 != 0));
}


int64_t
zae_llm_request_input_estimate(const zae_llm_request_t *r)
{
    uint64_t  units, t;

    if (r->invalid || !r->object) {
        return zae_llm_size_estimate(r->size);
    }

    units = zae_llm_add_sat(r->chars,
                            r->wide > UINT64_MAX / 4 ? UINT64_MAX
                                                     : 2 * r->wide);
    t = units / 4 + (units % 4 != 0);

    t = zae_llm_add_sat(t, r->messages > UINT64_MAX / 4 ? UINT64_MAX
                                                        : 3 * r->messages);

    return zae_llm_sat(zae_llm_add_sat(t, 3));
}


int64_t
zae_llm_request_output(const zae_llm_request_t *r, int64_t default_max)
{
    int64_t  max, n;

    max = (r->max_tokens >= 0) ? r->max_tokens : default_max;
    n = (r->n >= 1) ? r->n : 1;

    if (max <= 0) {
        return 0;
    }

    if (max > ZAE_TOKENS_MAX / n) {
        return ZAE_TOKENS_MAX;
    }

    return max * n;
}


int64_t
zae_llm_request_estimate(const zae_llm_request_t *r, int64_t default_max)
{
    return zae_llm_sat((uint64_t) zae_llm_request_input_estimate(r)
                       + (uint64_t) zae_llm_request_output(r, default_max));
}


/* the path --------------------------------------------------------------- */


static int
zae_llm_suffix(const u_char *p, size_t len, const char *s)
{
    size_t  n;

    n = strlen(s);

    return len >= n && memcmp(p + len - n, s, n) == 0;
}


void
zae_llm_path(const u_char *path, size_t len, zae_llm_path_t *p)
{
    const u_char  *seg, *colon, *end;

    memset(p, 0, sizeof(zae_llm_path_t));

    if (len > 1 && path[len - 1] == '/') {
        len--;
    }

    end = path + len;
    seg = end;

    while (seg > path && seg[-1] != '/') {
        seg--;
    }

    colon = memchr(seg, ':', (size_t) (end - seg));

    if (colon && colon > seg && colon + 1 < end
        && zae_llm_suffix(path, (size_t) (seg - path),
                          seg - path == (ptrdiff_t) sizeof("models/") - 1
                          ? "models/" : "/models/"))
    {
        p->kind = ZAE_LLM_PATH_GEMINI;
        p->model.data = (u_char *) seg;
        p->model.len = (size_t) (colon - seg);
        p->stream = ((size_t) (end - colon - 1)
                         == sizeof("streamGenerateContent") - 1
                     && memcmp(colon + 1, "streamGenerateContent",
                               sizeof("streamGenerateContent") - 1) == 0);
        return;
    }

    if (zae_llm_suffix(path, len, "/chat/completions")) {
        p->kind = ZAE_LLM_PATH_CHAT;

    } else if (zae_llm_suffix(path, len, "/completions")) {
        p->kind = ZAE_LLM_PATH_COMPLETIONS;

    } else if (zae_llm_suffix(path, len, "/responses")) {
        p->kind = ZAE_LLM_PATH_RESPONSES;

    } else if (zae_llm_suffix(path, len, "/embeddings")) {
        p->kind = ZAE_LLM_PATH_EMBEDDINGS;

    } else if (zae_llm_suffix(path, len, "/messages")) {
        p->kind = ZAE_LLM_PATH_MESSAGES;
    }
}


/* the stream_options patch ------------------------------------------------ */


int
zae_llm_request_usage_patch(const zae_llm_request_t *r,
    zae_llm_path_kind_e kind, zae_llm_patch_t *p)
{
    if ((kind != ZAE_LLM_PATH_CHAT && kind != ZAE_LLM_PATH_COMPLETIONS)
        || !r->finished || r->invalid || !r->object || !r->stream
        || r->include_usage)
    {
        return ZAE_DECLINED;
    }

    if (r->stream_options) {
        p->offset = r->so_end_offset;
        p->text = r->so_members ? ",\"include_usage\":true"
                                : "\"include_usage\":true";

    } else {
        p->offset = r->end_offset;
        p->text = r->end_members
                  ? ",\"stream_options\":{\"include_usage\":true}"
                  : "\"stream_options\":{\"include_usage\":true}";
    }

    p->len = strlen(p->text);

    return ZAE_OK;
}


int
zae_llm_request_add_usage(zae_buf_t *out, const u_char *body, size_t len,
    const zae_llm_request_t *r, zae_llm_path_kind_e kind)
{
    zae_llm_patch_t  p;

    if (zae_llm_request_usage_patch(r, kind, &p) != ZAE_OK) {
        return ZAE_DECLINED;
    }

    if ((uint64_t) len != r->size || p.offset > (uint64_t) len) {
        return ZAE_ERROR;
    }

    if (zae_buf_reserve(out, len + p.len) != ZAE_OK
        || zae_buf_add(out, body, (size_t) p.offset) != ZAE_OK
        || zae_buf_add(out, p.text, p.len) != ZAE_OK
        || zae_buf_add(out, body + p.offset, len - (size_t) p.offset)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/* the answer ------------------------------------------------------------- */

/* answer tags */

enum {
    ZAE_LLM_A_NONE = 0,
    ZAE_LLM_A_TOP,             /* the top-level value */
    ZAE_LLM_A_TOP_ARRAY,       /* a top-level array of chunks */
    ZAE_LLM_A_ROOT,            /* a chunk, an event's data, the body */
    ZAE_LLM_A_HOLDER,          /* root.response, root.message */
    ZAE_LLM_A_USAGE,           /* a usage object */
    ZAE_LLM_A_DETAILS_IN,      /* *_tokens_details of input */
    ZAE_LLM_A_DETAILS_OUT,     /* *_tokens_details of output */
    ZAE_LLM_A_CHOICES,         /* root.choices */
    ZAE_LLM_A_GEN,             /* generated output, strings not counted */
    ZAE_LLM_A_GEN_TEXT,        /* generated output, strings counted */
    ZAE_LLM_A_CAND,            /* root.candidates (Gemini) */
    ZAE_LLM_A_CAND_TEXT,
    ZAE_LLM_A_FINISH,          /* candidates[].finishReason */
    ZAE_LLM_A_TYPE,            /* root.type */
    ZAE_LLM_A_FIELD = 32       /* + ZAE_LLM_F_*: a usage number */
};

/* usage fields */

enum {
    ZAE_LLM_F_INPUT = 0,       /* prompt_tokens, input_tokens, ... */
    ZAE_LLM_F_CACHE_WRITE,     /* added to input */
    ZAE_LLM_F_CACHE_READ,      /* added to input, the cached part */
    ZAE_LLM_F_TOOL_PROMPT,     /* added to input (Gemini) */
    ZAE_LLM_F_CACHED,          /* the cached part of input */
    ZAE_LLM_F_OUTPUT,
    ZAE_LLM_F_THOUGHTS,        /* added to output, the reasoning part */
    ZAE_LLM_F_REASONING,       /* the reasoning part of output */
    ZAE_LLM_F_TOTAL,
    ZAE_LLM_F_N
};

#define zae_llm_field(s, f)  zae_llm_key(s, ZAE_LLM_A_FIELD + f)

static const zae_llm_key_t  zae_llm_answer_root_keys[] = {
    zae_llm_key("usage", ZAE_LLM_A_USAGE),
    zae_llm_key("usageMetadata", ZAE_LLM_A_USAGE),
    zae_llm_key("response", ZAE_LLM_A_HOLDER),
    zae_llm_key("message", ZAE_LLM_A_HOLDER),
    zae_llm_key("choices", ZAE_LLM_A_CHOICES),
    zae_llm_key("candidates", ZAE_LLM_A_CAND),
    zae_llm_key("delta", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("type", ZAE_LLM_A_TYPE),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_answer_root_keys_table = {
    zae_llm_answer_root_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_holder_keys[] = {
    zae_llm_key("usage", ZAE_LLM_A_USAGE),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_holder_keys_table = {
    zae_llm_holder_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_usage_keys[] = {
    zae_llm_field("prompt_tokens", ZAE_LLM_F_INPUT),
    zae_llm_field("completion_tokens", ZAE_LLM_F_OUTPUT),
    zae_llm_field("total_tokens", ZAE_LLM_F_TOTAL),
    zae_llm_field("input_tokens", ZAE_LLM_F_INPUT),
    zae_llm_field("output_tokens", ZAE_LLM_F_OUTPUT),
    zae_llm_field("cache_creation_input_tokens", ZAE_LLM_F_CACHE_WRITE),
    zae_llm_field("cache_read_input_tokens", ZAE_LLM_F_CACHE_READ),
    zae_llm_field("promptTokenCount", ZAE_LLM_F_INPUT),
    zae_llm_field("candidatesTokenCount", ZAE_LLM_F_OUTPUT),
    zae_llm_field("totalTokenCount", ZAE_LLM_F_TOTAL),
    zae_llm_field("cachedContentTokenCount", ZAE_LLM_F_CACHED),
    zae_llm_field("thoughtsTokenCount", ZAE_LLM_F_THOUGHTS),
    zae_llm_field("toolUsePromptTokenCount", ZAE_LLM_F_TOOL_PROMPT),
    zae_llm_field("inputTokens", ZAE_LLM_F_INPUT),
    zae_llm_field("outputTokens", ZAE_LLM_F_OUTPUT),
    zae_llm_field("totalTokens", ZAE_LLM_F_TOTAL),
    zae_llm_field("cacheReadInputTokens", ZAE_LLM_F_CACHE_READ),
    zae_llm_field("cacheWriteInputTokens", ZAE_LLM_F_CACHE_WRITE),
    zae_llm_key("prompt_tokens_details", ZAE_LLM_A_DETAILS_IN),
    zae_llm_key("input_tokens_details", ZAE_LLM_A_DETAILS_IN),
    zae_llm_key("completion_tokens_details", ZAE_LLM_A_DETAILS_OUT),
    zae_llm_key("output_tokens_details", ZAE_LLM_A_DETAILS_OUT),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_usage_keys_table = {
    zae_llm_usage_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_details_in_keys[] = {
    zae_llm_field("cached_tokens", ZAE_LLM_F_CACHED),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_details_in_keys_table = {
    zae_llm_details_in_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_details_out_keys[] = {
    zae_llm_field("reasoning_tokens", ZAE_LLM_F_REASONING),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_details_out_keys_table = {
    zae_llm_details_out_keys, 0, { 0 }
};

/* generated text: these keys' strings under choices and root.delta */

static const zae_llm_key_t  zae_llm_gen_text_keys[] = {
    zae_llm_key("content", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("text", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("arguments", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("partial_json", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("thinking", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("reasoning_content", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("reasoning", ZAE_LLM_A_GEN_TEXT),
    zae_llm_key("refusal", ZAE_LLM_A_GEN_TEXT),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_gen_text_keys_table = {
    zae_llm_gen_text_keys, 0, { 0 }
};

static const zae_llm_key_t  zae_llm_cand_keys[] = {
    zae_llm_key("text", ZAE_LLM_A_CAND_TEXT),
    zae_llm_key("finishReason", ZAE_LLM_A_FINISH),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_cand_keys_table = {
    zae_llm_cand_keys, 0, { 0 }
};

/* "type" and event: values that end a stream */

static const zae_llm_key_t  zae_llm_end_types[] = {
    zae_llm_key("message_stop", 1),
    zae_llm_key("response.completed", 1),
    zae_llm_key("response.incomplete", 1),
    zae_llm_key("response.failed", 1),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_end_types_table = {
    zae_llm_end_types, 0, { 0 }
};


static void
zae_llm_answer_key(void *app, zae_llm_json_t *j)
{
    zae_llm_keys_t  *keys;

    switch (j->ctag[j->depth]) {

    case ZAE_LLM_A_ROOT:
        keys = &zae_llm_answer_root_keys_table;
        break;

    case ZAE_LLM_A_HOLDER:
        keys = &zae_llm_holder_keys_table;
        break;

    case ZAE_LLM_A_USAGE:
        keys = &zae_llm_usage_keys_table;
        break;

    case ZAE_LLM_A_DETAILS_IN:
        keys = &zae_llm_details_in_keys_table;
        break;

    case ZAE_LLM_A_DETAILS_OUT:
        keys = &zae_llm_details_out_keys_table;
        break;

    case ZAE_LLM_A_GEN:
    case ZAE_LLM_A_GEN_TEXT:
        j->ktag = zae_llm_key_tag(j, &zae_llm_gen_text_keys_table,
                                  ZAE_LLM_A_GEN);
        return;

    case ZAE_LLM_A_CAND:
    case ZAE_LLM_A_CAND_TEXT:
        j->ktag = zae_llm_key_tag(j, &zae_llm_cand_keys_table,
                                  ZAE_LLM_A_CAND);
        return;

    default:
        j->ktag = ZAE_LLM_A_NONE;
        return;
    }

    j->ktag = zae_llm_key_tag(j, keys, ZAE_LLM_A_NONE);
}


static void
zae_llm_answer_value(void *app, zae_llm_json_t *j)
{
    zae_llm_answer_t *a = app;
    size_t  i;
    int     element;

    element = j->depth > 0 && !zae_llm_json_is_object(j, j->depth);

    switch (j->vtag) {

    case ZAE_LLM_A_TOP:
        j->vtag = (j->vtype == ZAE_LLM_V_OBJECT) ? ZAE_LLM_A_ROOT
                  : (j->vtype == ZAE_LLM_V_ARRAY) ? ZAE_LLM_A_TOP_ARRAY
                  : ZAE_LLM_A_NONE;
        return;

    case ZAE_LLM_A_TOP_ARRAY:
        j->vtag = (j->vtype == ZAE_LLM_V_OBJECT) ? ZAE_LLM_A_ROOT
                                                 : ZAE_LLM_A_NONE;
        return;

    case ZAE_LLM_A_USAGE:
        if (j->vtype != ZAE_LLM_V_OBJECT) {
            j->vtag = ZAE_LLM_A_NONE;
            return;
        }

        for (i = 0; i < ZAE_LLM_F_N; i++) {
            a->staged[i] = ZAE_LLM_UNKNOWN;
        }

        return;

    case ZAE_LLM_A_CHOICES:
        if (element) {
            j->vtag = ZAE_LLM_A_GEN;

        } else if (j->vtype != ZAE_LLM_V_ARRAY) {
            j->vtag = ZAE_LLM_A_NONE;
        }

        return;

    case ZAE_LLM_A_TYPE:
        if (j->vtype == ZAE_LLM_V_STRING) {
            j->str_mode = ZAE_LLM_STR_CAPTURE;
            j->cap = a->type;
            j->cap_size = sizeof(a->type);
        }

        return;

    default:
        return;
    }
}


static int
zae_llm_end_type(const u_char *s, size_t len)
{
    return zae_llm_keys_find(&zae_llm_end_types_table, s, len, 0);
}


static void
zae_llm_answer_end(void *app, zae_llm_json_t *j)
{
    zae_llm_answer_t *a = app;
    size_t  i;
    int     staged;

    switch (j->vtag) {

    case ZAE_LLM_A_USAGE:
        /* the object is complete: its fields replace the ones read */

        staged = 0;

        for (i = 0; i < ZAE_LLM_F_N; i++) {
            if (a->staged[i] != ZAE_LLM_UNKNOWN) {
                a->field[i] = a->staged[i];
                staged = 1;
            }
        }

        if (staged) {
            a->found = 1;
        }

        if (j->ctag[j->depth] == ZAE_LLM_A_ROOT) {
            a->ev_usage = 1;
        }

        return;

    case ZAE_LLM_A_CHOICES:
        if (j->vtype == ZAE_LLM_V_ARRAY) {
            if (j->members) {
                a->ev_choices_other = 1;

            } else {
                a->ev_choices_empty = 1;
            }
        }

        return;

    case ZAE_LLM_A_GEN_TEXT:
    case ZAE_LLM_A_CAND_TEXT:
        if (j->vtype == ZAE_LLM_V_STRING) {
            a->output_chars = zae_llm_add_sat(a->output_chars,
                                              j->str_chars);
        }

        return;

    case ZAE_LLM_A_FINISH:
        if (j->vtype == ZAE_LLM_V_STRING && j->str_chars) {
            a->complete = 1;
        }

        return;

    case ZAE_LLM_A_TYPE:
        if (j->vtype == ZAE_LLM_V_STRING && !j->cap_over
            && zae_llm_end_type(a->type, j->cap_len))
        {
            a->complete = 1;
        }

        return;

    default:
        if (j->vtag >= ZAE_LLM_A_FIELD
            && j->vtag < ZAE_LLM_A_FIELD + ZAE_LLM_F_N)
        {
            a->staged[j->vtag - ZAE_LLM_A_FIELD] = zae_llm_json_count(j);
        }

        return;
    }
}


static const zae_llm_json_handler_pt  zae_llm_answer_handlers[] = {
    zae_llm_answer_key, zae_llm_answer_value, zae_llm_answer_end
};


/* SSE line states */

enum {
    ZAE_LLM_L_START = 0,       /* at the start of a line */
    ZAE_LLM_L_FIELD,           /* in a field name */
    ZAE_LLM_L_SPACE,           /* after the colon */
    ZAE_LLM_L_VALUE,
    ZAE_LLM_L_COMMENT
};

/* fields */

enum {
    ZAE_LLM_FIELD_OTHER = 0,
    ZAE_LLM_FIELD_DATA,
    ZAE_LLM_FIELD_EVENT
};

/* modes */

enum {
    ZAE_LLM_MODE_UNKNOWN = 0,
    ZAE_LLM_MODE_JSON,
    ZAE_LLM_MODE_SSE
};


void
zae_llm_answer_init(zae_llm_answer_t *a, int drop_usage_only)
{
    size_t  i;

    memset(a, 0, sizeof(zae_llm_answer_t));

    for (i = 0; i < ZAE_LLM_U_NFIELDS; i++) {
        a->field[i] = ZAE_LLM_UNKNOWN;
        a->staged[i] = ZAE_LLM_UNKNOWN;
    }

    a->drop = drop_usage_only ? 1 : 0;

    zae_llm_json_init(&a->json, zae_llm_answer_handlers, a, ZAE_LLM_A_TOP);
    a->json.sse = 1;
}


static void
zae_llm_event_reset(zae_llm_answer_t *a)
{
    a->ev_lines = 0;
    a->ev_data = 0;
    a->head_len = 0;
    a->name_len = 0;
    a->ev_choices_empty = 0;
    a->ev_choices_other = 0;
    a->ev_usage = 0;
    a->ev_skim = 0;
}


/*
 * A blank line at absolute offset pos (the byte after it): the event is
 * dispatched.  base is the offset of the piece being fed.
 */

static void
zae_llm_event_dispatch(zae_llm_answer_t *a, uint64_t pos, uint64_t base,
    int cr)
{
    int               ok;
    zae_llm_range_t  *d;

    if (a->ev_lines) {
        ok = a->ev_skim ? 0 : zae_llm_json_finish(&a->json);

        if (a->ev_data == 6 && memcmp(a->head, "[DONE]", 6) == 0) {
            a->complete = 1;
        }

        if (a->name_len <= sizeof(a->name)
            && zae_llm_end_type(a->name, a->name_len))
        {
            a->complete = 1;
        }

        if (ok && a->ev_usage && a->ev_choices_empty
            && !a->ev_choices_other && a->drop && a->ev_start >= base
            && a->ndrops < ZAE_LLM_DROPS_MAX)
        {
            d = &a->drops[a->ndrops++];
            d->start = (size_t) (a->ev_start - base);
            d->end = (size_t) (pos - base);
        }
    }

    zae_llm_event_reset(a);

    a->ev_start = pos;
    a->dispatch_cr = cr;
}


static int
zae_llm_field_is(zae_llm_answer_t *a, const char *name)
{
    size_t  n;

    n = strlen(name);

    return a->field_len == n && memcmp(a->field_name, name, n) == 0;
}


/* a field name is complete: the value starts */

static void
zae_llm_field_start(zae_llm_answer_t *a)
{
    static const u_char  lf = '\n';

    if (zae_llm_field_is(a, "data")) {
        a->line_field = ZAE_LLM_FIELD_DATA;

        if (!a->ev_lines) {
            a->ev_lines = 1;
            zae_llm_json_reset(&a->json);
            return;
        }

        /* the lines of the data are joined with LF */

        a->json.sse = 0;
        (void) zae_llm_json_feed(&a->json, &lf, &lf + 1);
        a->json.sse = 1;

        if (a->head_len < sizeof(a->head)) {
            a->head[a->head_len++] = '\n';
        }

        a->ev_data++;
        return;
    }

    if (zae_llm_field_is(a, "event")) {
        a->line_field = ZAE_LLM_FIELD_EVENT;
        a->name_len = 0;
        return;
    }

    a->line_field = ZAE_LLM_FIELD_OTHER;
}


/*
 * The skim, the fast path of a stream.  Most events carry a few
 * characters of text in a chunk of JSON structure and no usage: their
 * one data line, whole in the piece and followed by the blank line
 * that dispatches it, is read here by a small scanner that knows only
 * what such a chunk holds.  It checks the grammar and counts the
 * generated text as the answer handlers do (choices[] and root.delta),
 * and gives up on anything else: a usage object, an end "type",
 * candidates, response, message, a \u escape, an escape in a key,
 * nesting deeper than ZAE_LLM_SKIM_DEPTH, invalid JSON, a line or an
 * event not ended in the piece.  It gives up before it changes
 * anything (NULL): the scanner then reads the line from its start.
 * It returns the CR or LF that ends the line.  zae_llm_answer_t's
 * reference bit turns it off (the differential tests and fuzzer).
 */

#define ZAE_LLM_SKIM_DEPTH  16

#define zae_llm_skim_ws(p, end)                                              \
    if (p == end) {                                                          \
        return NULL;                                                         \
    }                                                                        \
                                                                             \
    if (*p <= ' ') {                                                         \
        while (p < end && (*p == ' ' || *p == '\t')) {                       \
            p++;                                                             \
        }                                                                    \
                                                                             \
        if (p == end) {                                                      \
            return NULL;                                                     \
        }                                                                    \
    }


#define zae_llm_digit(c)  ((unsigned) ((c) - '0') < 10)


static const u_char *
zae_llm_skim_number(const u_char *p, const u_char *end)
{
    if (*p == '-') {
        p++;
    }

    if (p < end && *p == '0') {
        p++;

    } else if (p < end && *p != '0' && zae_llm_digit(*p)) {
        while (p < end && zae_llm_digit(*p)) {
            p++;
        }

    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        if (++p == end || !zae_llm_digit(*p)) {
            return NULL;
        }

        while (p < end && zae_llm_digit(*p)) {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || !zae_llm_digit(*p)) {
            return NULL;
        }

        while (p < end && zae_llm_digit(*p)) {
            p++;
        }
    }

    return p;
}


static const u_char *
zae_llm_skim(zae_llm_answer_t *a, const u_char *p, const u_char *end)
{
    u_char         c, vtag, ctag[ZAE_LLM_SKIM_DEPTH + 1];
    size_t         n;
    unsigned       depth, objects;
    uint64_t       chars, cont, wide, esc;
    const u_char  *s, *line;

    chars = 0;
    depth = 0;
    objects = 0;
    vtag = ZAE_LLM_A_TOP;
    ctag[0] = ZAE_LLM_A_TOP;

value:

    zae_llm_skim_ws(p, end);

    c = *p;

    switch (vtag) {

    case ZAE_LLM_A_TOP:
        if (c != '{') {
            return NULL;
        }

        vtag = ZAE_LLM_A_ROOT;
        break;

    case ZAE_LLM_A_USAGE:
        if (c == '{') {
            return NULL;
        }

        vtag = ZAE_LLM_A_NONE;
        break;

    case ZAE_LLM_A_CHOICES:
        if (c != '[') {
            vtag = ZAE_LLM_A_NONE;
        }

        break;

    case ZAE_LLM_A_TYPE:
        if (c != '"') {
            return NULL;
        }

        break;

    case ZAE_LLM_A_NONE:
    case ZAE_LLM_A_GEN:
    case ZAE_LLM_A_GEN_TEXT:
        break;

    default:
        return NULL;
    }

    switch (c) {

    case '{':
    case '[':
        if (depth == ZAE_LLM_SKIM_DEPTH) {
            return NULL;
        }

        depth++;
        ctag[depth] = vtag;

        if (c == '{') {
            objects |= 1u << depth;

        } else {
            objects &= ~(1u << depth);
        }

        p++;

        zae_llm_skim_ws(p, end);

        if (*p == (c == '{' ? '}' : ']')) {
            p++;
            depth--;
            goto next;
        }

        if (c == '{') {
            goto key;
        }

        goto element;

    case '"':
        s = ++p;
        cont = 0;
        wide = 0;
        esc = 0;

        for ( ;; ) {
            p = (vtag == ZAE_LLM_A_GEN_TEXT)
                ? zae_llm_str_span(p, end, &cont, &wide)
                : zae_llm_str_span(p, end, NULL, NULL);

            if (p == end) {
                return NULL;
            }

            if (*p == '"') {
                break;
            }

            /* a simple escape: two bytes, one character */

            if (*p != '\\' || vtag == ZAE_LLM_A_TYPE || end - p < 2) {
                return NULL;
            }

            c = p[1];

            if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f'
                && c != 'n' && c != 'r' && c != 't')
            {
                return NULL;
            }

            p += 2;
            esc++;
        }

        n = (size_t) (p - s);
        p++;

        if (vtag == ZAE_LLM_A_GEN_TEXT) {
            chars += n - cont - esc;

        } else if (vtag == ZAE_LLM_A_TYPE && zae_llm_end_type(s, n)) {
            return NULL;
        }

        goto next;

    case 't':
    case 'f':
    case 'n':
        n = (c == 'f') ? 5 : 4;

        if ((size_t) (end - p) < n
            || memcmp(p, zae_llm_literals[c == 't' ? ZAE_LLM_V_TRUE
                                          : c == 'f' ? ZAE_LLM_V_FALSE
                                          : ZAE_LLM_V_NULL], n) != 0)
        {
            return NULL;
        }

        p += n;
        goto next;

    default:
        p = zae_llm_skim_number(p, end);

        if (p == NULL) {
            return NULL;
        }

        goto next;
    }

element:

    /* an element: choices[] are generated output, others keep the tag */

    vtag = (ctag[depth] == ZAE_LLM_A_CHOICES) ? ZAE_LLM_A_GEN : ctag[depth];
    goto value;

key:

    zae_llm_skim_ws(p, end);

    if (*p != '"') {
        return NULL;
    }

    s = ++p;
    p = zae_llm_str_span(p, end, NULL, NULL);

    if (p == end || *p != '"') {
        return NULL;
    }

    n = (size_t) (p - s);
    p++;

    zae_llm_skim_ws(p, end);

    if (*p++ != ':') {
        return NULL;
    }

    switch (ctag[depth]) {

    case ZAE_LLM_A_ROOT:
        vtag = zae_llm_keys_find(&zae_llm_answer_root_keys_table, s, n,
                                 ZAE_LLM_A_NONE);
        break;

    case ZAE_LLM_A_GEN:
    case ZAE_LLM_A_GEN_TEXT:
        vtag = zae_llm_keys_find(&zae_llm_gen_text_keys_table, s, n,
                                 ZAE_LLM_A_GEN);
        break;

    default:
        vtag = ZAE_LLM_A_NONE;
    }

    goto value;

next:

    zae_llm_skim_ws(p, end);

    c = *p;

    if (depth) {
        p++;

        if (c == ',') {
            if ((objects >> depth) & 1) {
                goto key;
            }

            goto element;
        }

        if (c != (((objects >> depth) & 1) ? '}' : ']')) {
            return NULL;
        }

        depth--;
        goto next;
    }

    /* the end of the line, then the blank line, in this piece */

    if (c != '\n' && c != '\r') {
        return NULL;
    }

    line = p++;

    if (c == '\r') {
        if (p == end) {
            return NULL;
        }

        if (*p == '\n') {
            p++;
        }
    }

    if (p == end || (*p != '\n' && *p != '\r')) {
        return NULL;
    }

    a->output_chars = zae_llm_add_sat(a->output_chars, chars);

    return line;
}


/* SSE bytes from p; returns the byte after those read */

static const u_char *
zae_llm_sse(zae_llm_answer_t *a, const u_char *p, const u_char *end,
    const u_char *data, uint64_t base)
{
    size_t         n;
    u_char         c;
    const u_char  *q;

    while (p < end) {
        c = *p;

        if (a->cr) {
            a->cr = 0;

            if (c == '\n') {
                /* the LF of a CRLF: a dispatch at its CR takes it too */

                p++;

                if (a->dispatch_cr) {
                    a->ev_start++;

                    if (a->ndrops
                        && a->drops[a->ndrops - 1].end
                           == (size_t) (p - 1 - data))
                    {
                        a->drops[a->ndrops - 1].end++;
                    }
                }

                a->dispatch_cr = 0;
                continue;
            }
        }

        a->dispatch_cr = 0;

        if (c == '\n' || c == '\r') {
            p++;
            a->cr = (c == '\r');

            switch (a->line_state) {

            case ZAE_LLM_L_START:
                zae_llm_event_dispatch(a, base + (uint64_t) (p - data), base,
                                       a->cr);
                continue;

            case ZAE_LLM_L_FIELD:
                zae_llm_field_start(a);
                break;

            default:
                break;
            }

            a->line_state = ZAE_LLM_L_START;
            continue;
        }

        switch (a->line_state) {

        case ZAE_LLM_L_START:
            if (c == ':') {
                a->line_state = ZAE_LLM_L_COMMENT;
                p++;
                continue;
            }

            a->field_len = 0;
            a->line_state = ZAE_LLM_L_FIELD;

            /* fall through */

        case ZAE_LLM_L_FIELD:
            while (p < end && *p != ':' && *p != '\n' && *p != '\r') {
                if (a->field_len < sizeof(a->field_name)) {
                    a->field_name[a->field_len] = *p;
                }

                if (a->field_len <= sizeof(a->field_name)) {
                    a->field_len++;
                }

                p++;
            }

            if (p < end && *p == ':') {
                p++;
                zae_llm_field_start(a);
                a->line_state = ZAE_LLM_L_SPACE;
            }

            continue;

        case ZAE_LLM_L_SPACE:
            a->line_state = ZAE_LLM_L_VALUE;

            if (c == ' ') {
                p++;
                continue;
            }

            /* fall through */

        case ZAE_LLM_L_VALUE:
            if (a->line_field == ZAE_LLM_FIELD_DATA) {

                /* the first data of an event: the skim, if it can */

                if (a->ev_data == 0 && !a->reference) {
                    q = zae_llm_skim(a, p, end);

                    if (q) {
                        a->skimmed++;
                        a->ev_skim = 1;
                        p = q;
                        continue;
                    }
                }

                q = zae_llm_json_feed(&a->json, p, end);
                n = (size_t) (q - p);

                if (a->head_len < sizeof(a->head)) {
                    c = (u_char) (sizeof(a->head) - a->head_len);
                    c = (n < c) ? (u_char) n : c;
                    memcpy(a->head + a->head_len, p, c);
                    a->head_len += c;
                }

                a->ev_data = zae_llm_add_sat(a->ev_data, n);
                p = q;
                continue;
            }

            /* fall through */

        default: /* ZAE_LLM_L_COMMENT, another field's value */

            for (q = p; q < end && *q != '\n' && *q != '\r'; q++) {
                /* void */
            }

            if (a->line_state == ZAE_LLM_L_VALUE
                && a->line_field == ZAE_LLM_FIELD_EVENT)
            {
                /* the name, its length up to one more than it holds */

                while (p < q && a->name_len <= sizeof(a->name)) {
                    if (a->name_len < sizeof(a->name)) {
                        a->name[a->name_len] = *p;
                    }

                    a->name_len++;
                    p++;
                }
            }

            p = q;
            continue;
        }
    }

    return p;
}


void
zae_llm_answer_feed(zae_llm_answer_t *a, const u_char *data, size_t len)
{
    u_char         c;
    uint64_t       base;
    const u_char  *p, *end;

    static const u_char  bom[] = { 0xef, 0xbb, 0xbf };

    a->ndrops = 0;

    base = a->offset;
    p = data;
    end = data + len;

    while (p < end && a->mode == ZAE_LLM_MODE_UNKNOWN) {
        c = *p;

        if (a->bom < 3 && c == bom[a->bom]
            && base + (uint64_t) (p - data) == a->bom)
        {
            a->bom++;
            p++;
            a->ev_start = base + (uint64_t) (p - data);
            continue;
        }

        a->bom = 3;

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            /* blank lines or a field name in SSE, nothing in JSON */
            p = zae_llm_sse(a, p, p + 1, data, base);
            continue;
        }

        if (c == '{' || c == '[') {
            a->mode = ZAE_LLM_MODE_JSON;
            a->json.sse = 0;
            a->json.multi = 1;
            break;
        }

        a->mode = ZAE_LLM_MODE_SSE;
    }

    if (a->mode == ZAE_LLM_MODE_JSON) {
        (void) zae_llm_json_feed(&a->json, p, end);

    } else if (a->mode == ZAE_LLM_MODE_SSE) {
        (void) zae_llm_sse(a, p, end, data, base);
    }

    a->offset = base + len;
}


void
zae_llm_answer_finish(zae_llm_answer_t *a)
{
    if (a->mode == ZAE_LLM_MODE_JSON && !a->finished) {
        a->finished = 1;
        (void) zae_llm_json_finish(&a->json);
    }
}


static int64_t
zae_llm_sum(int64_t a, int64_t b)
{
    a = (a < 0) ? 0 : a;
    b = (b < 0) ? 0 : b;

    return (a + b > ZAE_TOKENS_MAX) ? ZAE_TOKENS_MAX : a + b;
}


void
zae_llm_answer_usage(const zae_llm_answer_t *a, zae_llm_usage_t *u)
{
    const int64_t  *f;

    f = a->field;

    memset(u, 0, sizeof(zae_llm_usage_t));

    u->input = ZAE_LLM_UNKNOWN;
    u->output = ZAE_LLM_UNKNOWN;
    u->total = f[ZAE_LLM_F_TOTAL];
    u->cached = ZAE_LLM_UNKNOWN;
    u->reasoning = ZAE_LLM_UNKNOWN;

    if (f[ZAE_LLM_F_INPUT] >= 0) {
        u->input = zae_llm_sum(zae_llm_sum(f[ZAE_LLM_F_INPUT],
                                           f[ZAE_LLM_F_CACHE_WRITE]),
                               zae_llm_sum(f[ZAE_LLM_F_CACHE_READ],
                                           f[ZAE_LLM_F_TOOL_PROMPT]));
    }

    if (f[ZAE_LLM_F_OUTPUT] >= 0 || f[ZAE_LLM_F_THOUGHTS] >= 0) {
        u->output = zae_llm_sum(f[ZAE_LLM_F_OUTPUT], f[ZAE_LLM_F_THOUGHTS]);
    }

    /* fields left out (Gemini leaves zero counts out): from the total */

    if (u->total >= 0) {
        if (u->input < 0 && u->output >= 0 && u->total >= u->output) {
            u->input = u->total - u->output;

        } else if (u->output < 0 && u->input >= 0 && u->total >= u->input) {
            u->output = u->total - u->input;
        }

    } else if (u->input >= 0 && u->output >= 0) {
        u->total = zae_llm_sum(u->input, u->output);
    }

    u->cached = (f[ZAE_LLM_F_CACHED] >= 0) ? f[ZAE_LLM_F_CACHED]
                                           : f[ZAE_LLM_F_CACHE_READ];
    u->reasoning = (f[ZAE_LLM_F_REASONING] >= 0) ? f[ZAE_LLM_F_REASONING]
                                                 : f[ZAE_LLM_F_THOUGHTS];

    u->output_chars = a->output_chars;
    u->found = a->found;
    u->sse = (a->mode == ZAE_LLM_MODE_SSE);
    u->complete = a->complete
                  || (a->mode == ZAE_LLM_MODE_JSON && a->json.done
                      && !a->json.failed);
}


int64_t
zae_llm_partial_tokens(const zae_llm_usage_t *u, int64_t input_estimate,
    int64_t estimate)
{
    uint64_t  t;

    t = u->output_chars / 4 + (u->output_chars % 4 != 0);
    t = zae_llm_add_sat(t, input_estimate > 0 ? (uint64_t) input_estimate
                                              : 0);

    if (estimate >= 0 && t > (uint64_t) estimate) {
        t = (uint64_t) estimate;
    }

    return zae_llm_sat(t);
}


/* gzip and deflate ------------------------------------------------------- */

#define ZAE_LLM_INFLATE_OUT  4096

struct zae_llm_inflate_s {
    z_stream           z;
    zae_mem_t         *mem;
    u_char             head[2];       /* deflate: the first two bytes */
    u_char             nhead;
    unsigned           gzip:1;
    unsigned           started:1;
    unsigned           ended:1;
    unsigned           failed:1;
    u_char             out[ZAE_LLM_INFLATE_OUT];
};


static voidpf
zae_llm_zalloc(voidpf opaque, uInt items, uInt size)
{
    zae_llm_inflate_t  *zi = opaque;

    if (size && items > SIZE_MAX / size) {
        return Z_NULL;
    }

    return zae_alloc(zi->mem, (size_t) items * size);
}


static void
zae_llm_zfree(voidpf opaque, voidpf address)
{
    /* the pool frees it */
}


zae_llm_inflate_t *
zae_llm_inflate_create(zae_mem_t *mem, const u_char *encoding, size_t len)
{
    zae_llm_inflate_t  *zi;

    zi = zae_calloc(mem, sizeof(zae_llm_inflate_t));
    if (zi == NULL) {
        return NULL;
    }

    zi->mem = mem;
    zi->z.zalloc = zae_llm_zalloc;
    zi->z.zfree = zae_llm_zfree;
    zi->z.opaque = zi;

    if ((len == 4 && strncasecmp((char *) encoding, "gzip", 4) == 0)
        || (len == 6 && strncasecmp((char *) encoding, "x-gzip", 6) == 0))
    {
        zi->gzip = 1;

        if (inflateInit2(&zi->z, 16 + MAX_WBITS) != Z_OK) {
            return NULL;
        }

        zi->started = 1;
        return zi;
    }

    if (len == 7 && strncasecmp((char *) encoding, "deflate", 7) == 0) {
        /* zlib or raw deflate: decided on the first two bytes */
        return zi;
    }

    return NULL;
}


/* inflates in into the reader; ZAE_OK or ZAE_ERROR */

static int
zae_llm_inflate_run(zae_llm_inflate_t *zi, zae_llm_answer_t *a,
    const u_char *in, size_t len)
{
    int     rc;
    size_t  n;

    zi->z.next_in = (Bytef *) in;
    zi->z.avail_in = (uInt) len;

    for ( ;; ) {
        zi->z.next_out = zi->out;
        zi->z.avail_out = sizeof(zi->out);

        rc = inflate(&zi->z, Z_NO_FLUSH);

        n = sizeof(zi->out) - zi->z.avail_out;

        if (n) {
            zae_llm_answer_feed(a, zi->out, n);
        }

        if (rc == Z_STREAM_END) {
            if (zi->gzip && zi->z.avail_in) {
                /* another gzip member */
                if (inflateReset(&zi->z) != Z_OK) {
                    return ZAE_ERROR;
                }

                continue;
            }

            zi->ended = 1;
            return ZAE_OK;
        }

        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return ZAE_ERROR;
        }

        if (zi->z.avail_in == 0 && zi->z.avail_out != 0) {
            return ZAE_OK;
        }

        if (rc == Z_BUF_ERROR && n == 0) {
            return ZAE_OK;
        }
    }
}


int
zae_llm_inflate_feed(zae_llm_inflate_t *zi, zae_llm_answer_t *a,
    const u_char *data, size_t len)
{
    int     rc, bits;
    size_t  n;

    if (zi->failed) {
        return ZAE_ERROR;
    }

    if (zi->ended) {
        return ZAE_OK;
    }

    while (len && len > UINT_MAX) {
        if (zae_llm_inflate_feed(zi, a, data, UINT_MAX) != ZAE_OK) {
            return ZAE_ERROR;
        }

        data += UINT_MAX;
        len -= UINT_MAX;
    }

    if (!zi->started) {
        n = 2 - zi->nhead;
        n = (len < n) ? len : n;
        memcpy(zi->head + zi->nhead, data, n);
        zi->nhead += (u_char) n;
        data += n;
        len -= n;

        if (zi->nhead < 2) {
            return ZAE_OK;
        }

        /* RFC 1950: CM 8, CINFO <= 7, the check bits */

        bits = ((zi->head[0] & 0x0f) == 8 && (zi->head[0] >> 4) <= 7
                && ((zi->head[0] << 8) | zi->head[1]) % 31 == 0)
               ? MAX_WBITS : -MAX_WBITS;

        if (inflateInit2(&zi->z, bits) != Z_OK) {
            zi->failed = 1;
            return ZAE_ERROR;
        }

        zi->started = 1;

        rc = zae_llm_inflate_run(zi, a, zi->head, 2);

        if (rc != ZAE_OK) {
            zi->failed = 1;
            a->ndrops = 0;
            return ZAE_ERROR;
        }
    }

    rc = (len && !zi->ended) ? zae_llm_inflate_run(zi, a, data, len)
                             : ZAE_OK;

    a->ndrops = 0;

    if (rc != ZAE_OK) {
        zi->failed = 1;
    }

    return rc;
}


/* prices ----------------------------------------------------------------- */


int
zae_llm_price_parse(const u_char *s, size_t len, int64_t *nano)
{
    size_t    i, decimals;
    int64_t   v;
    unsigned  dot, digits;

    v = 0;
    dot = 0;
    digits = 0;
    decimals = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.' && !dot && digits) {
            dot = 1;
            continue;
        }

        if (s[i] < '0' || s[i] > '9') {
            return ZAE_ERROR;
        }

        if (dot && ++decimals > 9) {
            return ZAE_ERROR;
        }

        if (v > ZAE_LLM_PRICE_MAX) {
            return ZAE_ERROR;
        }

        v = v * 10 + (s[i] - '0');
        digits++;
    }

    if (digits == 0 || (dot && decimals == 0)) {
        return ZAE_ERROR;
    }

    for ( /* void */ ; decimals < 9; decimals++) {
        if (v > ZAE_LLM_PRICE_MAX) {
            return ZAE_ERROR;
        }

        v *= 10;
    }

    if (v > ZAE_LLM_PRICE_MAX) {
        return ZAE_ERROR;
    }

    *nano = v;

    return ZAE_OK;
}


const zae_llm_price_t *
zae_llm_price_find(const zae_llm_price_t *prices, size_t n,
    const u_char *model, size_t len)
{
    size_t                  i;
    const zae_llm_price_t  *best;

    best = NULL;

    for (i = 0; i < n; i++) {
        if (!prices[i].prefix) {
            if (prices[i].model.len == len
                && memcmp(prices[i].model.data, model, len) == 0)
            {
                return &prices[i];
            }

            continue;
        }

        if (prices[i].model.len <= len
            && memcmp(prices[i].model.data, model, prices[i].model.len) == 0
            && (best == NULL || prices[i].model.len > best->model.len))
        {
            best = &prices[i];
        }
    }

    return best;
}


int64_t
zae_llm_cost(const zae_llm_price_t *p, int64_t input, int64_t cached,
    int64_t output)
{
    unsigned __int128  sum, cost;

    input = (input < 0) ? 0 : input;
    output = (output < 0) ? 0 : output;
    cached = (cached < 0) ? 0 : (cached > input ? input : cached);

    sum = (unsigned __int128) (uint64_t) (input - cached)
          * (uint64_t) p->input
          + (unsigned __int128) (uint64_t) cached
            * (uint64_t) (p->cached_input >= 0 ? p->cached_input
                                               : p->input)
          + (unsigned __int128) (uint64_t) output * (uint64_t) p->output;

    cost = sum / 1000000000 + (sum % 1000000000 != 0);

    return cost > (unsigned __int128) ZAE_TOKENS_MAX ? ZAE_TOKENS_MAX
                                                     : (int64_t) cost;
}
