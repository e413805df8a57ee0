
/*
 * Copyright (C) zae-limit authors
 *
 * LLM request and answer parsing, nginx-free (docs/design.md, "LLM
 * request and answer parsing"):
 *
 *   - the request reader: a streaming JSON scanner fed with the request
 *     body in pieces as they arrive; it keeps the model, stream,
 *     stream_options.include_usage, the max output tokens times n and
 *     an input estimate, never a copy of the body;
 *
 *   - the path helper: the endpoint kind and the Gemini model from
 *     ".../models/NAME:generateContent";
 *
 *   - the stream_options patch: where and what to insert so that an
 *     OpenAI-style streaming request asks for the usage chunk;
 *
 *   - the answer reader: usage from a JSON body or an SSE stream, the
 *     shape detected from the answer itself, fed in pieces; for each
 *     piece the byte ranges of usage-only chunks the caller may drop;
 *
 *   - a zlib wrapper that feeds a gzip or deflate answer to the answer
 *     reader through a fixed output window;
 *
 *   - prices and costs in whole micro-dollars.
 *
 * Every reader has a fixed size (no allocation, bounded state whatever
 * the input): the caller allocates it (an nginx pool, a struct in a
 * context) and calls the init function.  Token counts saturate at
 * ZAE_TOKENS_MAX; ZAE_LLM_UNKNOWN (-1) means "not seen".
 */


#ifndef _ZAE_LLM_H_INCLUDED_
#define _ZAE_LLM_H_INCLUDED_


#include "zae_core.h"
#include "zae_limit.h"


#define ZAE_LLM_UNKNOWN          -1

#define ZAE_LLM_MODEL_LEN        256   /* longer models: model_too_long */
#define ZAE_LLM_KEY_LEN          32    /* longer keys match nothing */
#define ZAE_LLM_JSON_DEPTH       64    /* deeper JSON is invalid */
#define ZAE_LLM_EVENT_LEN        32    /* SSE event: and "type" values */
#define ZAE_LLM_DROPS_MAX        4     /* usage-only ranges per feed */


/*
 * The streaming JSON scanner both readers run on (private: read the
 * reader fields below, not these).  RFC 8259 grammar checked (literals,
 * numbers, escapes, control characters in strings, nesting), UTF-8 not
 * validated (strings are only counted and compared).
 */

typedef struct zae_llm_json_s  zae_llm_json_t;

typedef void (*zae_llm_json_handler_pt)(void *app, zae_llm_json_t *j);

struct zae_llm_json_s {
    zae_llm_json_handler_pt   on_key;
    zae_llm_json_handler_pt   on_value;
    zae_llm_json_handler_pt   on_end;
    void                     *app;

    uint64_t           offset;        /* bytes scanned before this piece */
    const u_char      *chunk;         /* this piece */
    uint64_t           end_offset;    /* the closing byte of a container */
    int64_t            num;           /* the current number, saturated */
    uint64_t           str_chars;     /* characters of the current string */
    uint64_t           str_wide;      /* of them, U+0800 and above */

    const u_char      *kp;            /* the key: key[] or in the piece */
    u_char            *cap;           /* capture buffer of the app */
    size_t             cap_size;
    size_t             cap_len;

    uint32_t           hex;           /* \uXXXX being read */
    uint32_t           surrogate;     /* a high surrogate waiting */

    unsigned           depth;         /* open containers */
    u_char             state;
    u_char             sub;           /* literal / escape / number state */
    u_char             str_mode;      /* ZAE_LLM_STR_* */
    u_char             vtype;         /* ZAE_LLM_V_* of the event */
    u_char             vtag;          /* app tag of the value */
    u_char             ktag;          /* app tag of the value after a key */
    u_char             key_len;

    unsigned           num_neg:1;
    unsigned           num_frac:1;    /* a fraction or an exponent */
    unsigned           cap_over:1;    /* a capture did not fit */
    unsigned           key_over:1;
    unsigned           in_key:1;
    unsigned           members:1;     /* the closed container had some */
    unsigned           sse:1;         /* stop at CR and LF (SSE lines) */
    unsigned           multi:1;       /* a sequence of values */
    unsigned           failed:1;      /* invalid JSON seen */
    unsigned           done:1;        /* a top-level value completed */

    u_char             key[ZAE_LLM_KEY_LEN];
    u_char             objects[ZAE_LLM_JSON_DEPTH / 8 + 1];  /* bit: {} */
    u_char             ctag[ZAE_LLM_JSON_DEPTH + 1];     /* app tags */
};


/* the request ------------------------------------------------------------ */

typedef struct {
    /* results: valid after zae_llm_request_finish() */

    u_char             model[ZAE_LLM_MODEL_LEN];  /* decoded, no NUL */
    size_t             model_len;
    unsigned           model_seen:1;      /* a top-level "model" string */
    unsigned           model_too_long:1;  /* model_len is 0 then */
    unsigned           model_bad:1;       /* "model" is not a string */

    unsigned           stream:1;          /* "stream": true */
    unsigned           stream_options:1;  /* an object "stream_options" */
    unsigned           include_usage:1;   /* its "include_usage": true */
    unsigned           invalid:1;         /* not one valid JSON value */
    unsigned           object:1;          /* the value is an object */

    /*
     * max_tokens, max_completion_tokens, max_output_tokens (top level)
     * or generationConfig.maxOutputTokens: the largest non-negative
     * integer among them, ZAE_LLM_UNKNOWN if none; n (top level) or
     * generationConfig.candidateCount: 1 unless an integer >= 1
     */
    int64_t            max_tokens;
    int64_t            n;

    uint64_t           size;              /* body bytes fed */
    uint64_t           chars;             /* characters the estimate reads */
    uint64_t           wide;              /* of them, U+0800 and above */
    uint64_t           messages;          /* items the overhead counts */

    /*
     * where the stream_options patch goes (byte offsets in the body):
     * the closing '}' of the top-level object and of the last
     * top-level "stream_options" object, and whether each had members
     */
    uint64_t           end_offset;
    uint64_t           so_end_offset;
    unsigned           end_members:1;
    unsigned           so_members:1;

    /* private */
    unsigned           finished:1;
    int64_t            max[4];            /* the last of each member */
    int64_t            counts[2];         /* n, candidateCount; 0: none */
    zae_llm_json_t     json;
} zae_llm_request_t;


/*
 * zae_llm_request_init() prepares r (no allocation).
 *
 * zae_llm_request_feed() scans the next piece of the body, any size
 * down to one byte; the pieces need not be kept.  It returns ZAE_OK, or
 * ZAE_DECLINED once the body is known to be invalid JSON (later pieces
 * are only counted in size; feeding them is still allowed).
 *
 * zae_llm_request_finish() ends the body: ZAE_OK if it was exactly one
 * valid JSON value, else ZAE_DECLINED (r->invalid set).  The results
 * above are valid after it, whatever it returned; for an invalid body
 * only size is meaningful.
 */
void zae_llm_request_init(zae_llm_request_t *r);
int zae_llm_request_feed(zae_llm_request_t *r, const u_char *data,
    size_t len);
int zae_llm_request_finish(zae_llm_request_t *r);

/*
 * The input estimate, in tokens (docs/design.md gives the measured
 * error):
 *
 *   valid JSON:   ceil((chars + 2 * wide) / 4) + 3 * messages + 3
 *   otherwise:    ceil(size / 4)
 *
 * where chars are the characters (code points, an escape counting as
 * the one it stands for) of the text the model reads:
 *
 *   - the strings of "messages", "input", "prompt", "contents",
 *     "system", "systemInstruction"/"system_instruction" and
 *     "instructions" (top level) whose nearest key is that member's
 *     own key, "content", "text", "arguments", "output", "input" or
 *     "thinking" (so roles, ids, types, image URLs and base64 data
 *     are not counted);
 *   - every key and string of "tools" and "functions";
 *
 * wide are those characters of three or four UTF-8 bytes, U+0800 and
 * above (CJK, emoji...), counted three times in all: such text has
 * about 0.75 tokens per character, where Latin, Cyrillic or Greek text
 * has about 0.25 like ASCII, and
 * messages the elements of "messages", "contents" and an "input" array.
 * Saturates at ZAE_TOKENS_MAX.
 */
int64_t zae_llm_request_input_estimate(const zae_llm_request_t *r);

/* ceil(size / 4), saturated: the estimate of a body that is not read */
int64_t zae_llm_size_estimate(uint64_t size);

/*
 * The output the request may produce: (max_tokens, or default_max when
 * unknown) times n, saturated at ZAE_TOKENS_MAX; and the estimate:
 * input estimate + that.
 */
int64_t zae_llm_request_output(const zae_llm_request_t *r,
    int64_t default_max);
int64_t zae_llm_request_estimate(const zae_llm_request_t *r,
    int64_t default_max);


/* the path --------------------------------------------------------------- */

typedef enum {
    ZAE_LLM_PATH_OTHER = 0,
    ZAE_LLM_PATH_CHAT,             /* .../chat/completions */
    ZAE_LLM_PATH_COMPLETIONS,      /* .../completions (legacy) */
    ZAE_LLM_PATH_RESPONSES,        /* .../responses */
    ZAE_LLM_PATH_EMBEDDINGS,       /* .../embeddings */
    ZAE_LLM_PATH_MESSAGES,         /* .../messages (Anthropic) */
    ZAE_LLM_PATH_GEMINI            /* .../models/NAME:METHOD */
} zae_llm_path_kind_e;

typedef struct {
    zae_llm_path_kind_e  kind;
    zae_str_t            model;    /* Gemini: NAME, points into the path */
    unsigned             stream:1; /* Gemini: :streamGenerateContent */
} zae_llm_path_t;

/*
 * Classifies a decoded URI path (no query string; "/v1beta/models/
 * gemini-2.0-flash:streamGenerateContent", ".../v1/chat/completions").
 * For Gemini the model is the last "models/" segment's name before
 * ':' (any method: generateContent, streamGenerateContent, countTokens,
 * embedContent...); an empty name is not a Gemini path.
 */
void zae_llm_path(const u_char *path, size_t len, zae_llm_path_t *p);


/* the stream_options patch ------------------------------------------------ */

typedef struct {
    uint64_t           offset;     /* insert text before this body byte */
    const char        *text;       /* static */
    size_t             len;
} zae_llm_patch_t;

/*
 * For an OpenAI-style streaming request (kind ZAE_LLM_PATH_CHAT or
 * ZAE_LLM_PATH_COMPLETIONS, a valid object body with "stream": true and
 * no "stream_options.include_usage": true), fills p and returns ZAE_OK:
 *
 *   - with a "stream_options" object: "include_usage":true is added
 *     at the end of the last one (after a ',' if it has members), so it
 *     overrides an "include_usage": false before it;
 *   - otherwise ,"stream_options":{"include_usage":true} (no ',' for an
 *     empty object) is added before the closing '}' of the body, after
 *     any "stream_options" that is not an object.
 *
 * Duplicate keys are read as "the last one wins", as OpenAI's parser
 * does.  ZAE_DECLINED when nothing is to be done.
 */
int zae_llm_request_usage_patch(const zae_llm_request_t *r,
    zae_llm_path_kind_e kind, zae_llm_patch_t *p);

/*
 * The same on a body in one piece: writes the patched body to out.
 * ZAE_OK, ZAE_DECLINED (nothing to do, out untouched), ZAE_ERROR (an
 * allocation failed, or len is not the size r was fed).  The module
 * applies the patch across buffer chains (ngx_http_zae_limit_llm.c);
 * this is the reference implementation, used by t/unit/test_llm.c and
 * t/fuzz/fuzz_llm_request.c to check the patch.
 */
int zae_llm_request_add_usage(zae_buf_t *out, const u_char *body,
    size_t len, const zae_llm_request_t *r, zae_llm_path_kind_e kind);


/* the answer ------------------------------------------------------------- */

/*
 * What the answer said.  input is all input, cached included:
 *
 *   OpenAI chat/completions/embeddings, vLLM, Ollama: prompt_tokens;
 *   OpenAI Responses: input_tokens;
 *   Anthropic: input_tokens + cache_creation_input_tokens
 *              + cache_read_input_tokens;
 *   Gemini: promptTokenCount + toolUsePromptTokenCount;
 *   Bedrock Converse: inputTokens + cacheReadInputTokens
 *                     + cacheWriteInputTokens;
 *
 * output all generated tokens, reasoning included (completion_tokens,
 * output_tokens, outputTokens; Gemini candidatesTokenCount +
 * thoughtsTokenCount); total as sent (total_tokens, totalTokenCount,
 * totalTokens), else input + output; cached the cached part of input
 * (cached_tokens, cache_read_input_tokens, cachedContentTokenCount,
 * cacheReadInputTokens); reasoning (reasoning_tokens,
 * thoughtsTokenCount).  Each is ZAE_LLM_UNKNOWN until seen.
 */

typedef struct {
    int64_t            input;
    int64_t            output;
    int64_t            total;
    int64_t            cached;
    int64_t            reasoning;

    uint64_t           output_chars;  /* generated text seen (streams) */

    unsigned           found:1;       /* a usage object was read */
    unsigned           sse:1;         /* the answer is an SSE stream */
    unsigned           complete:1;    /* its end marker was seen */
} zae_llm_usage_t;


/* byte range [start, end) of the piece just fed */

typedef struct {
    size_t             start;
    size_t             end;
} zae_llm_range_t;


/*
 * The usage fields as read (private; zae_llm_answer_usage() combines
 * them): per field, the last value seen in a complete usage object
 */

#define ZAE_LLM_U_NFIELDS  12

/* what is known of the current SSE event, zeroed when it is dispatched */

typedef struct {
    uint64_t           data;          /* data bytes */
    u_char             head_len;      /* bytes of data kept in head */
    u_char             name_len;
    unsigned           lines:1;       /* it has data lines */
    unsigned           choices_empty:1;
    unsigned           choices_other:1;
    unsigned           usage:1;
    unsigned           skim:1;        /* the skim read its data */
} zae_llm_event_t;

typedef struct {
    /* private */
    zae_llm_json_t     json;

    int64_t            field[ZAE_LLM_U_NFIELDS];   /* committed */
    int64_t            staged[ZAE_LLM_U_NFIELDS];  /* current object */
    uint64_t           offset;        /* answer bytes fed */
    uint64_t           output_chars;
    uint64_t           skimmed;       /* events the skim read */

    /* SSE state */
    uint64_t           ev_start;      /* offset of the current event */
    zae_llm_event_t    ev;
    u_char             mode;          /* unknown, JSON, SSE */
    u_char             bom;           /* BOM bytes skipped */
    u_char             line_state;
    u_char             line_field;    /* the field of the current line */
    u_char             field_len;
    u_char             field_name[8];
    u_char             head[8];       /* first data bytes ("[DONE]") */
    u_char             name[ZAE_LLM_EVENT_LEN];   /* event: */
    u_char             type[ZAE_LLM_EVENT_LEN];   /* data "type" */

    unsigned           cr:1;          /* the last byte was CR */
    unsigned           dispatch_cr:1; /* that CR ended an event */
    unsigned           drop:1;        /* report usage-only ranges */
    unsigned           reference:1;   /* no skim (differential tests) */
    unsigned           found:1;
    unsigned           complete:1;
    unsigned           finished:1;

    /* results of the last zae_llm_answer_feed() */
    size_t             ndrops;
    zae_llm_range_t    drops[ZAE_LLM_DROPS_MAX];
} zae_llm_answer_t;


/*
 * zae_llm_answer_init() prepares a reader (no allocation).  With
 * drop_usage_only set, zae_llm_answer_feed() reports usage-only chunks
 * (see below).
 *
 * zae_llm_answer_feed() reads the next piece of the (decoded) answer
 * body; pieces may have any size and need not be kept.  The first
 * bytes decide the shape: '{' or '[' after optional whitespace and a
 * UTF-8 BOM is JSON (one value, a sequence of values as NDJSON, or a
 * JSON array of chunks as Gemini streams without alt=sse), anything
 * else an SSE stream (WHATWG rules: LF, CRLF or CR line ends, "data:"
 * lines joined with LF, ":" comments, "event:" lines, one optional
 * space after the colon).  Each event's data is scanned as it comes,
 * never buffered, so no event is too large and a usage event after a
 * huge content event is read as well.
 *
 * Usage-only chunks.  The OpenAI chunk an include_usage request adds
 * ({"choices":[],"usage":{...}}) can only be known for what it is once
 * its data is read, and the caller passes each piece on in the same
 * call: a chunk that began in an earlier piece was already sent.  So
 * after each feed, drops[0 .. ndrops) are the byte ranges of the piece
 * holding a whole usage-only event (from the first byte after the
 * previous event's blank line to its own blank line included) that
 * began and ended in this very piece: the caller removes exactly those
 * bytes, and passes an event split across pieces on unchanged (OpenAI
 * writes each event at once, so that is the rare case).  More than
 * ZAE_LLM_DROPS_MAX such events in one piece: the others are kept.  An
 * event that ends with CR at the end of a piece is dropped with it; a
 * LF that then opens the next piece reaches the client as an empty
 * line, which dispatches nothing.
 *
 * zae_llm_answer_finish() ends the answer (an event not ended by a
 * blank line is not dispatched, as WHATWG says) and
 * zae_llm_answer_usage() returns what was read, at any time.
 */
void zae_llm_answer_init(zae_llm_answer_t *a, int drop_usage_only);
void zae_llm_answer_feed(zae_llm_answer_t *a, const u_char *data,
    size_t len);
void zae_llm_answer_finish(zae_llm_answer_t *a);
void zae_llm_answer_usage(const zae_llm_answer_t *a, zae_llm_usage_t *u);

/*
 * What a stream that ended without usage costs: input_estimate +
 * ceil(output_chars / 4), at most estimate (input + max output)
 */
int64_t zae_llm_partial_tokens(const zae_llm_usage_t *u,
    int64_t input_estimate, int64_t estimate);


/*
 * gzip and deflate answers.  zae_llm_inflate_create() allocates about
 * 44 KB from mem (zlib's 7 KB state, its 32 KB window on first use, a
 * 4 KB output window; zlib's frees are ignored: mem is a pool; "x-gzip"
 * is gzip, case does not matter); encoding is "gzip" or
 * "deflate" (zlib-wrapped, or raw deflate as some servers send).
 * zae_llm_inflate_feed() inflates the next piece of the answer
 * through the output window into zae_llm_answer_feed() (drop ranges do
 * not apply to a compressed answer); ZAE_OK, or ZAE_ERROR once the
 * data is corrupt (the reader keeps what it read; later pieces are
 * ignored).  zae_llm_inflate_create() returns NULL for any other
 * encoding (the caller keeps the estimate) or when an allocation fails.
 */

typedef struct zae_llm_inflate_s  zae_llm_inflate_t;

zae_llm_inflate_t *zae_llm_inflate_create(zae_mem_t *mem,
    const u_char *encoding, size_t len);
int zae_llm_inflate_feed(zae_llm_inflate_t *zi, zae_llm_answer_t *a,
    const u_char *data, size_t len);


/* prices ----------------------------------------------------------------- */

/*
 * A price table entry: USD per million tokens held in nano-dollars per
 * million tokens (9 decimals; "2.50" is 2500000000).  cached_input is
 * ZAE_LLM_UNKNOWN when not given (cached input then costs input).
 */

typedef struct {
    zae_str_t          model;          /* without the trailing '*' */
    unsigned           prefix:1;       /* the entry ended with '*' */
    int64_t            input;
    int64_t            output;
    int64_t            cached_input;
} zae_llm_price_t;

/* the largest price: 1000000 USD per million tokens */
#define ZAE_LLM_PRICE_MAX   1000000000000000LL

/*
 * Parses "2.50", "0.075", "15": decimal digits, an optional '.' and up
 * to 9 decimals, at most ZAE_LLM_PRICE_MAX.  ZAE_OK or ZAE_ERROR.
 */
int zae_llm_price_parse(const u_char *s, size_t len, int64_t *nano);

/*
 * The entry for model: an exact entry, else the prefix entry with the
 * longest prefix; the first of equals.  NULL if none.
 */
const zae_llm_price_t *zae_llm_price_find(const zae_llm_price_t *prices,
    size_t n, const u_char *model, size_t len);

/*
 * Cost in whole micro-dollars, rounded up once over the sum:
 *
 *   ceil(((input - cached) * p.input + cached * p.cached_input
 *         + output * p.output) / 10^9)
 *
 * (nano-dollars per million tokens times tokens is 10^-15 USD, the
 * division gives micro-dollars).  cached is clamped to [0, input] and
 * priced at input when p has no cached_input; unknown (negative)
 * counts are 0.  Saturates at ZAE_TOKENS_MAX.  For an estimate pass
 * (input estimate, 0, request output).
 */
int64_t zae_llm_cost(const zae_llm_price_t *p, int64_t input,
    int64_t cached, int64_t output);


#endif /* _ZAE_LLM_H_INCLUDED_ */
