
/*
 * Copyright (C) zae-limit authors
 *
 * The streaming JSON scanner of the LLM readers (zae_llm_json.h;
 * docs/design.md, "LLM request and answer parsing").
 */


#include <stdlib.h>
#include <strings.h>
#include <limits.h>

#include "zae_llm_json.h"


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

const u_char  *zae_llm_literals[] = {
    NULL, NULL, NULL, (u_char *) "true", (u_char *) "false",
    (u_char *) "null"
};


void
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

void
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

const u_char *
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

int
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


/* the table's index, built on first use */

void
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


/* the tag of the key just read */

u_char
zae_llm_key_tag(zae_llm_json_t *j, zae_llm_keys_t *t, u_char dflt)
{
    if (j->key_over) {
        return dflt;
    }

    return zae_llm_keys_find(t, j->kp, j->key_len, dflt);
}


/* a non-negative integer value, saturated, or -1 */

int64_t
zae_llm_json_count(zae_llm_json_t *j)
{
    if (j->vtype != ZAE_LLM_V_NUMBER || j->num_neg || j->num_frac) {
        return ZAE_LLM_UNKNOWN;
    }

    return j->num > ZAE_TOKENS_MAX ? ZAE_TOKENS_MAX : j->num;
}
