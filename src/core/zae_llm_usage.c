
/*
 * Copyright (C) zae-limit authors
 *
 * The LLM usage reader: the usage of an answer, JSON or an SSE stream
 * of any provider shape, its skim (the fast path of a stream), the
 * usage-only chunks to drop, gzip and deflate (zae_llm.h;
 * docs/design.md).
 */


#include <stdlib.h>
#include <strings.h>

#include <zlib.h>

#include "zae_llm_json.h"


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

static zae_llm_keys_t  zae_llm_answer_root_keys_table =
    zae_llm_keys_table(zae_llm_answer_root_keys);

static const zae_llm_key_t  zae_llm_holder_keys[] = {
    zae_llm_key("usage", ZAE_LLM_A_USAGE),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_holder_keys_table =
    zae_llm_keys_table(zae_llm_holder_keys);

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

static zae_llm_keys_t  zae_llm_usage_keys_table =
    zae_llm_keys_table(zae_llm_usage_keys);

static const zae_llm_key_t  zae_llm_details_in_keys[] = {
    zae_llm_field("cached_tokens", ZAE_LLM_F_CACHED),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_details_in_keys_table =
    zae_llm_keys_table(zae_llm_details_in_keys);

static const zae_llm_key_t  zae_llm_details_out_keys[] = {
    zae_llm_field("reasoning_tokens", ZAE_LLM_F_REASONING),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_details_out_keys_table =
    zae_llm_keys_table(zae_llm_details_out_keys);

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

static zae_llm_keys_t  zae_llm_gen_text_keys_table =
    zae_llm_keys_table(zae_llm_gen_text_keys);

static const zae_llm_key_t  zae_llm_cand_keys[] = {
    zae_llm_key("text", ZAE_LLM_A_CAND_TEXT),
    zae_llm_key("finishReason", ZAE_LLM_A_FINISH),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_cand_keys_table =
    zae_llm_keys_table(zae_llm_cand_keys);

/* "type" and event: values that end a stream */

static const zae_llm_key_t  zae_llm_end_types[] = {
    zae_llm_key("message_stop", 1),
    zae_llm_key("response.completed", 1),
    zae_llm_key("response.incomplete", 1),
    zae_llm_key("response.failed", 1),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_end_types_table =
    zae_llm_keys_table(zae_llm_end_types);


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
            a->ev.usage = 1;
        }

        return;

    case ZAE_LLM_A_CHOICES:
        if (j->vtype == ZAE_LLM_V_ARRAY) {
            if (j->members) {
                a->ev.choices_other = 1;

            } else {
                a->ev.choices_empty = 1;
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

    if (a->ev.lines) {
        ok = a->ev.skim ? 0 : zae_llm_json_finish(&a->json);

        if (a->ev.data == 6 && memcmp(a->head, "[DONE]", 6) == 0) {
            a->complete = 1;
        }

        if (a->ev.name_len <= sizeof(a->name)
            && zae_llm_end_type(a->name, a->ev.name_len))
        {
            a->complete = 1;
        }

        if (ok && a->ev.usage && a->ev.choices_empty
            && !a->ev.choices_other && a->drop && a->ev_start >= base
            && a->ndrops < ZAE_LLM_DROPS_MAX)
        {
            d = &a->drops[a->ndrops++];
            d->start = (size_t) (a->ev_start - base);
            d->end = (size_t) (pos - base);
        }
    }

    memset(&a->ev, 0, sizeof(zae_llm_event_t));

    a->ev_start = pos;
    a->dispatch_cr = cr;
}


#define zae_llm_field_is(a, name)                                            \
    ((a)->field_len == sizeof(name) - 1                                      \
     && memcmp((a)->field_name, name, sizeof(name) - 1) == 0)


/* a field name is complete: the value starts */

static void
zae_llm_field_start(zae_llm_answer_t *a)
{
    static const u_char  lf = '\n';

    if (zae_llm_field_is(a, "data")) {
        a->line_field = ZAE_LLM_FIELD_DATA;

        if (!a->ev.lines) {
            a->ev.lines = 1;
            zae_llm_json_reset(&a->json);
            return;
        }

        /* the lines of the data are joined with LF */

        a->json.sse = 0;
        (void) zae_llm_json_feed(&a->json, &lf, &lf + 1);
        a->json.sse = 1;

        if (a->ev.head_len < sizeof(a->head)) {
            a->head[a->ev.head_len++] = '\n';
        }

        a->ev.data++;
        return;
    }

    if (zae_llm_field_is(a, "event")) {
        a->line_field = ZAE_LLM_FIELD_EVENT;
        a->ev.name_len = 0;
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
    u_char         c, vtag, ct, cl;
    u_char         tags[ZAE_LLM_SKIM_DEPTH + 1], ends[ZAE_LLM_SKIM_DEPTH + 1];
    size_t         n;
    unsigned       depth;
    uint64_t       chars, cont, wide, esc;
    const u_char  *s, *line;

    chars = 0;
    /* ct, cl: the tag and the closing byte of the container (0: none) */

    depth = 0;
    ct = ZAE_LLM_A_TOP;
    cl = 0;
    vtag = ZAE_LLM_A_TOP;

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
        tags[depth] = ct;
        ends[depth] = cl;
        ct = vtag;
        cl = (c == '{') ? '}' : ']';
        p++;

        zae_llm_skim_ws(p, end);

        if (*p == cl) {
            p++;
            goto pop;
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
        if (end - p < 4 || memcmp(p, "true", 4) != 0) {
            return NULL;
        }

        p += 4;
        goto next;

    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0) {
            return NULL;
        }

        p += 4;
        goto next;

    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0) {
            return NULL;
        }

        p += 5;
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

    vtag = (ct == ZAE_LLM_A_CHOICES) ? ZAE_LLM_A_GEN : ct;
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

    if (p < end && *p == ':') {
        p++;

    } else {
        zae_llm_skim_ws(p, end);

        if (*p++ != ':') {
            return NULL;
        }
    }

    switch (ct) {

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

    if (cl) {
        p++;

        if (c == ',') {
            if (cl == '}') {
                goto key;
            }

            goto element;
        }

        if (c != cl) {
            return NULL;
        }

    pop:

        ct = tags[depth];
        cl = ends[depth];
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

            /* the usual fields at once */

            n = (c == 'd' && end - p >= 5 && memcmp(p, "data:", 5) == 0) ? 4
                : (c == 'e' && end - p >= 6 && memcmp(p, "event:", 6) == 0)
                  ? 5 : 0;

            if (n) {
                memcpy(a->field_name, p, n);
                a->field_len = (u_char) n;
                p += n + 1;
                zae_llm_field_start(a);
                a->line_state = ZAE_LLM_L_SPACE;
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

                if (a->ev.data == 0 && !a->reference) {
                    q = zae_llm_skim(a, p, end);

                    if (q) {
                        a->skimmed++;
                        a->ev.skim = 1;
                        p = q;
                        continue;
                    }
                }

                q = zae_llm_json_feed(&a->json, p, end);
                n = (size_t) (q - p);

                if (a->ev.head_len < sizeof(a->head)) {
                    c = (u_char) (sizeof(a->head) - a->ev.head_len);
                    c = (n < c) ? (u_char) n : c;
                    memcpy(a->head + a->ev.head_len, p, c);
                    a->ev.head_len += c;
                }

                a->ev.data = zae_llm_add_sat(a->ev.data, n);
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

                while (p < q && a->ev.name_len <= sizeof(a->name)) {
                    if (a->ev.name_len < sizeof(a->name)) {
                        a->name[a->ev.name_len] = *p;
                    }

                    a->ev.name_len++;
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
