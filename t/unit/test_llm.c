
/*
 * Copyright (C) zae-limit authors
 *
 * zae_llm: the request reader, the path helper, the stream_options
 * patch, the answer usage reader (JSON and SSE of every provider shape),
 * the usage-only ranges, inflate and prices.
 *
 * Every body is read whole, then in every 2-way split (each byte
 * boundary) and one byte at a time; the results must be the same.  The
 * input estimate is checked against the real gpt-4o counts in
 * t/data/llm/counts.txt (t/data/llm/count.js made them).
 */


#include <libgen.h>
#include <unistd.h>
#include <limits.h>
#include <zlib.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_llm.h"


#define U   ZAE_LLM_UNKNOWN
#define TM  ZAE_TOKENS_MAX


/* the request ------------------------------------------------------------ */


/* feeds body in pieces: split 0 = whole, k = [0,k)+[k,len), -1 = bytes */

static int
req_parse(zae_llm_request_t *r, const char *body, size_t len, long split)
{
    size_t  i;

    zae_llm_request_init(r);

    if (split < 0) {
        for (i = 0; i < len; i++) {
            (void) zae_llm_request_feed(r, (u_char *) body + i, 1);
        }

    } else if (split == 0) {
        (void) zae_llm_request_feed(r, (u_char *) body, len);

    } else {
        (void) zae_llm_request_feed(r, (u_char *) body, (size_t) split);
        (void) zae_llm_request_feed(r, (u_char *) body + split,
                                    len - (size_t) split);
    }

    return zae_llm_request_finish(r);
}


/* the facts of a request; 0 if a and b differ */

static int
req_same(const zae_llm_request_t *a, const zae_llm_request_t *b)
{
    return a->model_len == b->model_len
           && memcmp(a->model, b->model, a->model_len) == 0
           && a->model_seen == b->model_seen
           && a->model_too_long == b->model_too_long
           && a->model_bad == b->model_bad
           && a->stream == b->stream
           && a->stream_options == b->stream_options
           && a->include_usage == b->include_usage
           && a->invalid == b->invalid && a->object == b->object
           && a->max_tokens == b->max_tokens && a->n == b->n
           && a->size == b->size && a->chars == b->chars
           && a->wide == b->wide && a->messages == b->messages
           && a->end_offset == b->end_offset
           && a->so_end_offset == b->so_end_offset
           && a->end_members == b->end_members
           && a->so_members == b->so_members;
}


/* parses whole, then every split and bytewise: one result */

static void
req_splits(const char *name, const char *body, zae_llm_request_t *r)
{
    long               k, bad;
    size_t             len;
    zae_llm_request_t  s;

    len = strlen(body);

    (void) req_parse(r, body, len, 0);

    bad = -2;

    for (k = 1; k < (long) len && bad == -2; k++) {
        (void) req_parse(&s, body, len, k);

        if (!req_same(r, &s)) {
            bad = k;
        }
    }

    if (bad == -2) {
        (void) req_parse(&s, body, len, -1);

        if (!req_same(r, &s)) {
            bad = -1;
        }
    }

    ok(bad == -2, "%s: the same in all %zu splits and bytewise", name,
       len ? len - 1 : 0);

    if (bad != -2) {
        printf("#   differs at split %ld\n", bad);
    }
}


typedef struct {
    const char        *name;
    const char        *body;
    int                valid;
    const char        *model;       /* NULL: no model string */
    int                stream;
    int                include_usage;
    int64_t            max_tokens;
    int64_t            n;
    uint64_t           chars;
    uint64_t           wide;
    uint64_t           messages;
    int64_t            estimate;    /* input estimate */
} req_case_t;


static const req_case_t  req_cases[] = {

    { "openai chat stream",
      "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\""
      ":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello there\"}],"
      "\"stream\":true,\"stream_options\":{\"include_usage\":true},"
      "\"max_tokens\":100,\"n\":2}",
      1, "gpt-4o", 1, 1, 100, 2, 20, 0, 2, 5 + 6 + 3 },

    { "openai chat, max_completion_tokens, content parts, image",
      "{\"model\":\"o3-mini\",\"stream\":false,\"max_completion_tokens\":"
      "2000,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tex"
      "t\",\"text\":\"What is this?\"},{\"type\":\"image_url\",\"image_url"
      "\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]},{\"role\":"
      "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type"
      "\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a"
      "\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content"
      "\":\"42\"}]}",
      1, "o3-mini", 0, 0, 2000, 1, 13 + 7 + 2, 0, 3, 6 + 9 + 3 },

    { "openai completions, prompt array",
      "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[\"Say this\","
      "\" is a test\"],\"max_tokens\":7,\"stream\":true}",
      1, "gpt-3.5-turbo-instruct", 1, 0, 7, 1, 18, 0, 0, 5 + 3 },

    { "openai responses",
      "{\"model\":\"gpt-4.1\",\"instructions\":\"Talk like a pirate.\","
      "\"input\":\"Are semicolons optional in JavaScript?\","
      "\"max_output_tokens\":500,\"stream\":true}",
      1, "gpt-4.1", 1, 0, 500, 1, 19 + 38, 0, 0, 15 + 3 },

    { "openai responses, input items",
      "{\"model\":\"gpt-4.1\",\"input\":[{\"role\":\"user\",\"content\":"
      "[{\"type\":\"input_text\",\"text\":\"abcd\"}]},{\"type\":\"functio"
      "n_call_output\",\"call_id\":\"x\",\"output\":\"efgh\"}]}",
      1, "gpt-4.1", 0, 0, U, 1, 8, 0, 2, 2 + 6 + 3 },

    { "openai embeddings",
      "{\"model\":\"text-embedding-3-small\",\"input\":[\"one\",\"two\"],"
      "\"encoding_format\":\"float\"}",
      1, "text-embedding-3-small", 0, 0, U, 1, 6, 0, 0, 2 + 3 },

    { "anthropic messages",
      "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"system\":["
      "{\"type\":\"text\",\"text\":\"You are helpful.\",\"cache_control\":"
      "{\"type\":\"ephemeral\"}}],\"messages\":[{\"role\":\"user\",\"conte"
      "nt\":[{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"tool_result\","
      "\"tool_use_id\":\"t1\",\"content\":[{\"type\":\"text\",\"text\":\"sun"
      "ny\"}]}]},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\""
      ",\"thinking\":\"hmm\",\"signature\":\"c2ln\"}]}],\"stream\":true,"
      "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":100}}",
      1, "claude-sonnet-4-5", 1, 0, 1024, 1, 16 + 2 + 5 + 3, 0, 2,
      7 + 6 + 3 },

    { "gemini",
      "{\"systemInstruction\":{\"parts\":[{\"text\":\"Be kind.\"}]},"
      "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"},"
      "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AAAA\"}}]},"
      "{\"role\":\"model\",\"parts\":[{\"text\":\"Hi!\"}]}],"
      "\"generationConfig\":{\"temperature\":0.5,\"maxOutputTokens\":800,"
      "\"candidateCount\":3}}",
      1, NULL, 0, 0, 800, 3, 8 + 5 + 3, 0, 2, 4 + 6 + 3 },

    { "tools: every key and string",
      "{\"model\":\"m\",\"messages\":[],\"tools\":[{\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
      "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":["
      "\"city\"]}}}]}",
      1, "m", 0, 0, U, 1,
      4 + 8 + 8 + 4 + 1 + 10 + 4 + 6 + 10 + 4 + 4 + 6 + 8 + 4, 0, 0,
      21 + 3 },

    { "escapes and UTF-8 are characters",
      "{\"model\":\"\\u0067pt-4o\",\"messages\":[{\"role\":\"user\","
      "\"content\":\"a\\nb\\u00e9\\ud83d\\ude00 h\xc3\xa9 \xe4\xb8\x96"
      "\xf0\x9f\x98\x80\"}]}",
      1, "gpt-4o", 0, 0, U, 1, 11, 3, 1, 5 + 3 + 3 },

    { "duplicate keys: the last wins",
      "{\"model\":\"a\",\"stream\":true,\"model\":\"bb\",\"stream\":false,"
      "\"max_tokens\":5,\"max_tokens\":7,\"n\":3,\"n\":null}",
      1, "bb", 0, 0, 7, 1, 0, 0, 0, 3 },

    { "duplicate keys: a container replaces a value",
      "{\"stream\":true,\"stream\":[true],\"max_tokens\":5,"
      "\"max_tokens\":{},\"n\":2,\"n\":\"3\",\"model\":\"m\"}",
      1, "m", 0, 0, U, 1, 0, 0, 0, 3 },

    { "lone surrogates become U+FFFD, each a character",
      "{\"model\":\"a\\ud83dx\\ude00\",\"messages\":[{\"content\":"
      "\"\\ud83dx\\ude00y\"}]}",
      1, "a\xef\xbf\xbdx\xef\xbf\xbd", 0, 0, U, 1, 4, 2, 1, 2 + 3 + 3 },

    { "invalid UTF-8 is kept as bytes, in every split",
      "{\"\xb6\xb6\":1,\"model\":\"\x80\xb6\xb6x\",\"input\":\"\xb6\xb6\xb6\xb6"
      "\xb6\xb6\xb6\xb6\xb6\xb6\xb6\xb6\xe4\"}",
      1, "\x80\xb6\xb6x", 0, 0, U, 1, 1, 1, 0, 1 + 3 },

    { "the largest of the max token members",
      "{\"model\":\"x\",\"max_tokens\":10,\"max_completion_tokens\":30,"
      "\"max_output_tokens\":20}",
      1, "x", 0, 0, 30, 1, 0, 0, 0, 3 },

    { "nested keys named like ours are not ours",
      "{\"metadata\":{\"model\":\"evil\",\"max_tokens\":9,\"stream\":true,"
      "\"messages\":[{\"content\":\"xxxxxxxx\"}]},\"model\":\"good\","
      "\"messages\":[{\"role\":\"user\",\"content\":\"\\\"model\\\":\\\"e"
      "\\\", usage\"}]}",
      1, "good", 0, 0, U, 1, 18, 0, 1, 5 + 3 + 3 },

    { "max tokens: not a count",
      "{\"model\":\"x\",\"max_tokens\":1e3,\"max_completion_tokens\":-5,"
      "\"max_output_tokens\":2.0,\"n\":0}",
      1, "x", 0, 0, U, 1, 0, 0, 0, 3 },

    { "huge numbers saturate",
      "{\"model\":\"x\",\"max_tokens\":99999999999999999999999999999,"
      "\"n\":12345678901234567890}",
      1, "x", 0, 0, TM, TM, 0, 0, 0, 3 },

    { "model not a string",
      "{\"model\":[\"gpt-4o\"],\"messages\":[]}",
      1, NULL, 0, 0, U, 1, 0, 0, 0, 3 },

    { "an array is valid JSON, not a request",
      "[{\"model\":\"x\"}]",
      1, NULL, 0, 0, U, 1, 0, 0, 0, 4 },

    { "whitespace everywhere",
      " \r\n\t{ \"model\" : \"m\" , \"stream\" :\ttrue ,\n\"max_tokens\""
      " : 5 } \n",
      1, "m", 1, 0, 5, 1, 0, 0, 0, 3 },
};


typedef struct {
    const char        *name;
    const char        *body;
} req_bad_t;


static const req_bad_t  req_bad[] = {
    { "empty", "" },
    { "only spaces", "   " },
    { "truncated", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":" },
    { "truncated in a string", "{\"model\":\"gpt-4" },
    { "truncated in an escape", "{\"model\":\"gpt\\u00" },
    { "trailing garbage", "{\"model\":\"x\"} x" },
    { "two values", "{\"model\":\"x\"} {}" },
    { "bad literal", "{\"stream\":tru}" },
    { "bad literal 2", "{\"stream\":trUe}" },
    { "leading zero", "{\"n\":01}" },
    { "lone minus", "{\"n\":-}" },
    { "bare dot", "{\"n\":1.}" },
    { "exponent without digits", "{\"n\":1e}" },
    { "control byte in a string", "{\"model\":\"a\tb\"}" },
    { "control byte in a long string",
      "{\"messages\":[{\"content\":\"abcdefghijklmnop\x1fqrstuvwxyz01234"
      "56789\"}]}" },
    { "bad escape", "{\"model\":\"a\\xb\"}" },
    { "bad hex", "{\"model\":\"a\\u12g4\"}" },
    { "missing colon", "{\"model\" \"x\"}" },
    { "missing comma", "{\"a\":1 \"b\":2}" },
    { "trailing comma", "{\"a\":1,}" },
    { "trailing comma in array", "[1,]" },
    { "unquoted key", "{model:\"x\"}" },
    { "single quotes", "{'model':'x'}" },
    { "close mismatch", "{\"a\":[1}" },
    { "extra close", "{\"a\":1}}" },
    { "comment", "{\"a\":1 /* c */}" },
    { "nan", "{\"a\":NaN}" },
    { "html", "<html><body>Bad Request</body></html>" },
    { "form", "model=gpt-4o&stream=true" },
};


static void
test_request(void)
{
    size_t              i, j;
    char                deep[300];
    zae_llm_request_t   r;
    const req_case_t   *c;

    for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
        c = &req_cases[i];

        req_splits(c->name, c->body, &r);

        is_int(r.invalid, !c->valid, "%s: valid", c->name);

        if (c->model) {
            ok(r.model_seen && r.model_len == strlen(c->model)
               && memcmp(r.model, c->model, r.model_len) == 0,
               "%s: model \"%s\"", c->name, c->model);

        } else {
            ok(!r.model_seen && r.model_len == 0, "%s: no model", c->name);
        }

        is_int(r.stream, c->stream, "%s: stream", c->name);
        is_int(r.include_usage, c->include_usage, "%s: include_usage",
               c->name);
        is_int(r.max_tokens, c->max_tokens, "%s: max_tokens", c->name);
        is_int(r.n, c->n, "%s: n", c->name);
        is_int(r.chars, c->chars, "%s: characters", c->name);
        is_int(r.wide, c->wide, "%s: wide characters", c->name);
        is_int(r.messages, c->messages, "%s: messages", c->name);
        is_int(zae_llm_request_input_estimate(&r), c->estimate,
               "%s: input estimate", c->name);
        is_int(r.size, strlen(c->body), "%s: size", c->name);
    }

    /* the output and the estimate */

    (void) req_parse(&r, req_cases[0].body, strlen(req_cases[0].body), 0);
    is_int(zae_llm_request_output(&r, 4096), 200,
           "output: max_tokens x n");
    is_int(zae_llm_request_estimate(&r, 4096), 214,
           "estimate: input + output");

    (void) req_parse(&r, req_cases[4].body, strlen(req_cases[4].body), 0);
    is_int(zae_llm_request_output(&r, 4096), 4096, "output: the default");
    is_int(zae_llm_request_output(&r, -1), 0, "output: no default is 0");

    (void) req_parse(&r, req_cases[7].body, strlen(req_cases[7].body), 0);
    is_int(zae_llm_request_output(&r, 1), 2400,
           "output: maxOutputTokens x candidateCount");

    (void) req_parse(&r, req_cases[17].body, strlen(req_cases[17].body), 0);
    is_int(zae_llm_request_output(&r, 1), TM, "output saturates");
    is_int(zae_llm_request_estimate(&r, 1), TM, "estimate saturates");

    /* the model: too long, at the limit */

    {
        char    body[ZAE_LLM_MODEL_LEN + 64];
        size_t  n;

        for (n = ZAE_LLM_MODEL_LEN; n <= ZAE_LLM_MODEL_LEN + 1; n++) {
            j = (size_t) snprintf(body, sizeof(body), "{\"model\":\"");
            memset(body + j, 'm', n);
            j += n;
            j += (size_t) snprintf(body + j, sizeof(body) - j, "\"}");

            req_splits(n == ZAE_LLM_MODEL_LEN ? "model at the limit"
                                              : "model too long", body, &r);

            is_int(r.model_too_long, n > ZAE_LLM_MODEL_LEN,
                   "model of %zu bytes: too long flag", n);
            is_int(r.model_len, n > ZAE_LLM_MODEL_LEN ? 0 : n,
                   "model of %zu bytes: length", n);
            ok(r.model_seen && !r.invalid, "model of %zu bytes: seen", n);
        }
    }

    (void) req_parse(&r, req_cases[18].body, strlen(req_cases[18].body), 0);
    ok(r.model_bad && !r.model_seen, "model not a string: model_bad");

    /* invalid bodies: estimate from the size */

    for (i = 0; i < sizeof(req_bad) / sizeof(req_bad[0]); i++) {
        req_splits(req_bad[i].name, req_bad[i].body, &r);

        ok(r.invalid, "invalid: %s", req_bad[i].name);
        is_int(zae_llm_request_input_estimate(&r),
               (int64_t) (strlen(req_bad[i].body) + 3) / 4,
               "invalid: %s: estimate from the size", req_bad[i].name);
    }

    /* nesting: 64 levels are read, 65 are invalid */

    for (j = 64; j <= 65; j++) {
        memset(deep, '[', j);
        memset(deep + j, ']', j);
        deep[2 * j] = '\0';

        (void) req_parse(&r, deep, 2 * j, 0);
        is_int(r.invalid, j > 64, "%zu nested arrays: invalid %d", j,
               j > 64);
    }

    is_int(zae_llm_size_estimate(0), 0, "size estimate of 0");
    is_int(zae_llm_size_estimate(5), 2, "size estimate rounds up");
    is_int(zae_llm_size_estimate(UINT64_MAX), TM, "size estimate saturates");

    /* feeding after the end is allowed */

    zae_llm_request_init(&r);
    is_int(zae_llm_request_feed(&r, (u_char *) "{}x", 3), ZAE_DECLINED,
           "feed: ZAE_DECLINED once invalid");
    is_int(zae_llm_request_feed(&r, (u_char *) "yy", 2), ZAE_DECLINED,
           "feed: still ZAE_DECLINED");
    is_int(zae_llm_request_finish(&r), ZAE_DECLINED, "finish: invalid");
    is_int(r.size, 5, "feed: every byte counted in size");
}


/* the estimate against real counts ---------------------------------------- */


static char  data_dir[1024];


static size_t
read_file(const char *name, char *buf, size_t size)
{
    FILE    *f;
    size_t   n;
    char     path[sizeof(data_dir) + 256];

    snprintf(path, sizeof(path), "%s/%.200s", data_dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }

    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);

    return n;
}


static void
test_estimate_error(void)
{
    int                 fields;
    long                real;
    char                line[256], name[128], file[160];
    double              err, sum, worst_lo, worst_hi;
    size_t              n, cases;
    FILE               *f;
    int64_t             est;
    zae_llm_request_t   r;
    static char         body[1 << 20];
    char                path[sizeof(data_dir) + 16];

    snprintf(path, sizeof(path), "%s/counts.txt", data_dir);

    f = fopen(path, "r");

    if (!ok(f != NULL, "estimate: %s opened", path)) {
        return;
    }

    cases = 0;
    sum = 0;
    worst_lo = 0;
    worst_hi = 0;

    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#') {
            continue;
        }

        fields = sscanf(line, "%127s %ld", name, &real);
        if (fields != 2) {
            continue;
        }

        snprintf(file, sizeof(file), "%s.json", name);
        n = read_file(file, body, sizeof(body));

        if (!ok(n > 0, "estimate: %s read", file)) {
            continue;
        }

        (void) req_parse(&r, body, n, 0);
        est = zae_llm_request_input_estimate(&r);
        err = 100.0 * (double) (est - real) / (double) real;

        ok(!r.invalid && err >= -30.0 && err <= 20.0,
           "estimate: %-15s real %5ld estimate %5" PRId64 " error %+5.1f%%",
           name, real, est, err);

        sum += err < 0 ? -err : err;
        worst_lo = err < worst_lo ? err : worst_lo;
        worst_hi = err > worst_hi ? err : worst_hi;
        cases++;
    }

    fclose(f);

    ok(cases >= 12, "estimate: %zu examples", cases);

    printf("# estimate error over %zu examples: mean |error| %.1f%%, "
           "from %+.1f%% to %+.1f%%\n", cases, cases ? sum / cases : 0.0,
           worst_lo, worst_hi);
}


/* the path --------------------------------------------------------------- */


static void
test_path(void)
{
    size_t          i;
    zae_llm_path_t  p;

    static const struct {
        const char           *path;
        zae_llm_path_kind_e   kind;
        const char           *model;
        int                   stream;
    } cases[] = {
        { "/v1/chat/completions", ZAE_LLM_PATH_CHAT, NULL, 0 },
        { "/v1/chat/completions/", ZAE_LLM_PATH_CHAT, NULL, 0 },
        { "/openai/deployments/gpt4/chat/completions", ZAE_LLM_PATH_CHAT,
          NULL, 0 },
        { "/v1/completions", ZAE_LLM_PATH_COMPLETIONS, NULL, 0 },
        { "/v1/responses", ZAE_LLM_PATH_RESPONSES, NULL, 0 },
        { "/v1/embeddings", ZAE_LLM_PATH_EMBEDDINGS, NULL, 0 },
        { "/v1/messages", ZAE_LLM_PATH_MESSAGES, NULL, 0 },
        { "/v1beta/models/gemini-2.0-flash:generateContent",
          ZAE_LLM_PATH_GEMINI, "gemini-2.0-flash", 0 },
        { "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
          ZAE_LLM_PATH_GEMINI, "gemini-2.5-pro", 1 },
        { "/v1/projects/p/locations/us-central1/publishers/google/models/"
          "gemini-1.5-pro-002:streamGenerateContent", ZAE_LLM_PATH_GEMINI,
          "gemini-1.5-pro-002", 1 },
        { "models/m:countTokens", ZAE_LLM_PATH_GEMINI, "m", 0 },
        { "/v1beta/models/:generateContent", ZAE_LLM_PATH_OTHER, NULL, 0 },
        { "/v1beta/models/gemini:", ZAE_LLM_PATH_OTHER, NULL, 0 },
        { "/v1beta/xmodels/gemini:generateContent", ZAE_LLM_PATH_OTHER,
          NULL, 0 },
        { "/v1beta/models/a:streamGenerateContentX", ZAE_LLM_PATH_GEMINI,
          "a", 0 },
        { "/v1/models", ZAE_LLM_PATH_OTHER, NULL, 0 },
        { "/", ZAE_LLM_PATH_OTHER, NULL, 0 },
        { "", ZAE_LLM_PATH_OTHER, NULL, 0 },
        { "/chat/completionsx", ZAE_LLM_PATH_OTHER, NULL, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zae_llm_path((u_char *) cases[i].path, strlen(cases[i].path), &p);

        is_int(p.kind, cases[i].kind, "path \"%s\": kind", cases[i].path);

        if (cases[i].model) {
            ok(p.model.len == strlen(cases[i].model)
               && memcmp(p.model.data, cases[i].model, p.model.len) == 0,
               "path \"%s\": model %s", cases[i].path, cases[i].model);
        }

        is_int(p.stream, cases[i].stream, "path \"%s\": stream",
               cases[i].path);
    }
}


/* the stream_options patch ------------------------------------------------ */


static void
test_patch(void)
{
    size_t              i;
    zae_buf_t           out;
    zae_mem_t           mem;
    zae_arena_t         arena;
    zae_llm_patch_t     p;
    zae_llm_request_t   r, r2;

    static const struct {
        const char  *name;
        const char  *body;
        int          kind;
        const char  *want;     /* NULL: declined */
    } cases[] = {
        { "no stream_options",
          "{\"model\":\"m\",\"stream\":true}", ZAE_LLM_PATH_CHAT,
          "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_"
          "usage\":true}}" },
        { "spaces before the end",
          "{\"model\":\"m\",\"stream\":true }\n", ZAE_LLM_PATH_COMPLETIONS,
          "{\"model\":\"m\",\"stream\":true ,\"stream_options\":{\"include_"
          "usage\":true}}\n" },
        { "empty stream_options",
          "{\"stream\":true,\"stream_options\":{},\"model\":\"m\"}",
          ZAE_LLM_PATH_CHAT,
          "{\"stream\":true,\"stream_options\":{\"include_usage\":true},"
          "\"model\":\"m\"}" },
        { "stream_options without include_usage",
          "{\"stream\":true,\"stream_options\":{\"include_obfuscation\":"
          "false}}", ZAE_LLM_PATH_CHAT,
          "{\"stream\":true,\"stream_options\":{\"include_obfuscation\":"
          "false,\"include_usage\":true}}" },
        { "include_usage false",
          "{\"stream\":true,\"stream_options\":{\"include_usage\":false}}",
          ZAE_LLM_PATH_CHAT,
          "{\"stream\":true,\"stream_options\":{\"include_usage\":false,"
          "\"include_usage\":true}}" },
        { "stream_options null",
          "{\"stream_options\":null,\"stream\":true}", ZAE_LLM_PATH_CHAT,
          "{\"stream_options\":null,\"stream\":true,\"stream_options\":{"
          "\"include_usage\":true}}" },
        { "two stream_options: the last one",
          "{\"stream_options\":{\"a\":1},\"stream\":true,"
          "\"stream_options\":{\"b\":2}}", ZAE_LLM_PATH_CHAT,
          "{\"stream_options\":{\"a\":1},\"stream\":true,"
          "\"stream_options\":{\"b\":2,\"include_usage\":true}}" },
        { "include_usage true already",
          "{\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
          ZAE_LLM_PATH_CHAT, NULL },
        { "not a stream",
          "{\"stream\":false}", ZAE_LLM_PATH_CHAT, NULL },
        { "anthropic path", "{\"stream\":true}", ZAE_LLM_PATH_MESSAGES,
          NULL },
        { "responses path", "{\"stream\":true}", ZAE_LLM_PATH_RESPONSES,
          NULL },
        { "invalid body", "{\"stream\":true", ZAE_LLM_PATH_CHAT, NULL },
    };

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        (void) req_parse(&r, cases[i].body, strlen(cases[i].body), 0);

        zae_buf_init(&out, &mem, 0);

        if (cases[i].want == NULL) {
            is_int(zae_llm_request_usage_patch(&r,
                       (zae_llm_path_kind_e) cases[i].kind, &p),
                   ZAE_DECLINED, "patch: %s: declined", cases[i].name);
            is_int(zae_llm_request_add_usage(&out, (u_char *) cases[i].body,
                       strlen(cases[i].body), &r,
                       (zae_llm_path_kind_e) cases[i].kind),
                   ZAE_DECLINED, "patch: %s: nothing written", cases[i].name);
            continue;
        }

        is_int(zae_llm_request_add_usage(&out, (u_char *) cases[i].body,
                   strlen(cases[i].body), &r,
                   (zae_llm_path_kind_e) cases[i].kind),
               ZAE_OK, "patch: %s", cases[i].name);

        ok(out.len == strlen(cases[i].want)
           && memcmp(out.data, cases[i].want, out.len) == 0,
           "patch: %s: the body", cases[i].name);

        if (out.len != strlen(cases[i].want)
            || memcmp(out.data, cases[i].want, out.len) != 0)
        {
            printf("#   got: %.*s\n", (int) out.len, out.data);
        }

        /* the patched body asks for usage */

        zae_llm_request_init(&r2);
        (void) zae_llm_request_feed(&r2, out.data, out.len);
        (void) zae_llm_request_finish(&r2);

        ok(!r2.invalid && r2.stream && r2.include_usage,
           "patch: %s: read again, include_usage is true", cases[i].name);
    }

    /* the patch alone: offset into the body */

    (void) req_parse(&r, cases[0].body, strlen(cases[0].body), 0);
    is_int(zae_llm_request_usage_patch(&r, ZAE_LLM_PATH_CHAT, &p), ZAE_OK,
           "patch: the offset form");
    is_int(p.offset, strlen(cases[0].body) - 1, "patch: before the '}'");
    is_int(p.len, strlen(p.text), "patch: length");

    /* a body of another size */

    zae_buf_init(&out, &mem, 0);
    is_int(zae_llm_request_add_usage(&out, (u_char *) cases[0].body, 3, &r,
                                     ZAE_LLM_PATH_CHAT),
           ZAE_ERROR, "patch: a body of another size is refused");

    zae_arena_free(&arena);
}


/* the answer ------------------------------------------------------------- */


typedef struct {
    zae_llm_usage_t    u;
    char               kept[4096];  /* what the client receives */
    size_t             kept_len;
    size_t             dropped;
} ans_result_t;


/* feeds one piece and keeps what a filter would pass on */

static void
ans_piece(zae_llm_answer_t *a, ans_result_t *res, const char *p, size_t n)
{
    size_t  i, at;

    zae_llm_answer_feed(a, (u_char *) p, n);

    at = 0;

    for (i = 0; i < a->ndrops; i++) {
        if (a->drops[i].start < at || a->drops[i].end > n
            || a->drops[i].start >= a->drops[i].end)
        {
            res->dropped = (size_t) -1;   /* a bad range */
            return;
        }

        if (res->kept_len + a->drops[i].start - at < sizeof(res->kept)) {
            memcpy(res->kept + res->kept_len, p + at,
                   a->drops[i].start - at);
            res->kept_len += a->drops[i].start - at;
        }

        res->dropped++;
        at = a->drops[i].end;
    }

    if (res->kept_len + n - at < sizeof(res->kept)) {
        memcpy(res->kept + res->kept_len, p + at, n - at);
        res->kept_len += n - at;
    }
}


/* 1: the reader without its skim (the reference of the fast path) */
static int  ans_reference;


static void
ans_read(ans_result_t *res, const char *body, size_t len, long split,
    int drop)
{
    size_t            i;
    zae_llm_answer_t  a;

    memset(res, 0, sizeof(ans_result_t));

    zae_llm_answer_init(&a, drop);
    a.reference = ans_reference;

    if (split < 0) {
        for (i = 0; i < len; i++) {
            ans_piece(&a, res, body + i, 1);
        }

    } else if (split == 0) {
        ans_piece(&a, res, body, len);

    } else {
        ans_piece(&a, res, body, (size_t) split);
        ans_piece(&a, res, body + split, len - (size_t) split);
    }

    zae_llm_answer_finish(&a);
    zae_llm_answer_usage(&a, &res->u);
}


static int
usage_same(const zae_llm_usage_t *a, const zae_llm_usage_t *b)
{
    return a->input == b->input && a->output == b->output
           && a->total == b->total && a->cached == b->cached
           && a->reasoning == b->reasoning
           && a->output_chars == b->output_chars && a->found == b->found
           && a->sse == b->sse && a->complete == b->complete;
}


typedef struct {
    const char        *name;
    const char        *body;
    int64_t            input, output, total, cached, reasoning;
    uint64_t           chars;
    int                found, sse, complete;
    const char        *usage_only;  /* the event dropped, or NULL */
} ans_case_t;


/* the usage-only event of the OpenAI chat streams below */

#define OAI_USAGE_EVENT                                                     \
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","    \
    "\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{"         \
    "\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"   \
    "\"prompt_tokens_details\":{\"cached_tokens\":4},"                     \
    "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}\n\n"

#define OAI_CHUNK(content, finish)                                          \
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","    \
    "\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"         \
    "\"delta\":{\"content\":\"" content "\"},\"logprobs\":null,"           \
    "\"finish_reason\":" finish "}],\"usage\":null}\n\n"


static const ans_case_t  ans_cases[] = {

    { "openai chat json",
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,"
      "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"role\""
      ":\"assistant\",\"content\":\"Hello! usage: 5\",\"refusal\":null},"
      "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":19,"
      "\"completion_tokens\":10,\"total_tokens\":29,\"prompt_tokens_detai"
      "ls\":{\"cached_tokens\":4,\"audio_tokens\":0},\"completion_tokens_d"
      "etails\":{\"reasoning_tokens\":2,\"audio_tokens\":0}},\"service_tie"
      "r\":\"default\",\"system_fingerprint\":\"fp_1\"}\n",
      19, 10, 29, 4, 2, 15, 1, 0, 1, NULL },

    { "openai completions json",
      "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{"
      "\"text\":\"\\n\\nThis is a test\",\"index\":0,\"finish_reason\":"
      "\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,"
      "\"total_tokens\":12}}",
      5, 7, 12, U, U, 16, 1, 0, 1, NULL },

    { "openai embeddings json",
      "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
      "\"embedding\":[0.0023,-0.0093,1e-3]}],\"model\":\"text-embedding-3-"
      "small\",\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}",
      8, 0, 8, U, U, 0, 1, 0, 1, NULL },

    { "openai chat sse with include_usage",
      OAI_CHUNK("Hel", "null") OAI_CHUNK("lo \\u4e16", "\"stop\"")
      OAI_USAGE_EVENT "data: [DONE]\n\n",
      19, 10, 29, 4, 2, 7, 1, 1, 1, OAI_USAGE_EVENT },

    { "openai chat sse, CRLF, comments, event lines, multi-line data",
      ": OPENROUTER PROCESSING\r\n\r\n"
      "event: chunk\r\nid: 1\r\nretry: 100\r\n"
      "data: {\"choices\":[{\"delta\":\r\ndata: {\"content\":\"ab\"}}],\r\n"
      "data:\"usage\":null}\r\n\r\n"
      ":ping\r\n"
      "data:{\"choices\":[],\r\ndata: \"usage\":{\"prompt_tokens\":3,"
      "\r\ndata: \"completion_tokens\":1,\"total_tokens\":4}}\r\n\r\n"
      "data: [DONE]\r\n\r\n",
      3, 1, 4, U, U, 2, 1, 1, 1,
      ":ping\r\ndata:{\"choices\":[],\r\ndata: \"usage\":{\"prompt_tokens\""
      ":3,\r\ndata: \"completion_tokens\":1,\"total_tokens\":4}}\r\n\r\n" },

    { "sse with CR line ends",
      "data: {\"choices\":[{\"delta\":{\"content\":\"xyz\"}}]}\r\r"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
      "\"completion_tokens\":2}}\r\r"
      "data: [DONE]\r\r",
      1, 2, 3, U, U, 3, 1, 1, 1,
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
      "\"completion_tokens\":2}}\r\r" },

    { "sse with a BOM, no space after the colon",
      "\xef\xbb\xbf" "data:{\"choices\":[],\"usage\":{\"prompt_tokens\":6,"
      "\"completion_tokens\":0}}\n\n",
      6, 0, 6, U, U, 0, 1, 1, 0,
      "data:{\"choices\":[],\"usage\":{\"prompt_tokens\":6,"
      "\"completion_tokens\":0}}\n\n" },

    { "vllm continuous usage: the last wins, not usage-only",
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":{"
      "\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8}}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"bc\"},\"finish_reason"
      "\":\"stop\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,"
      "\"total_tokens\":10}}\n\ndata: [DONE]\n\n",
      7, 3, 10, U, U, 3, 1, 1, 1, NULL },

    { "openai responses json",
      "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\","
      "\"instructions\":\"be brief\",\"output\":[{\"type\":\"message\","
      "\"content\":[{\"type\":\"output_text\",\"text\":\"Hi\"}]}],"
      "\"usage\":{\"input_tokens\":36,\"input_tokens_details\":{\"cached_t"
      "okens\":10},\"output_tokens\":87,\"output_tokens_details\":{\"reaso"
      "ning_tokens\":50},\"total_tokens\":123}}",
      36, 87, 123, 10, 50, 0, 1, 0, 1, NULL },

    { "openai responses sse",
      "event: response.created\ndata: {\"type\":\"response.created\","
      "\"response\":{\"id\":\"r\",\"status\":\"in_progress\",\"instructions"
      "\":\"secret prompt text\",\"usage\":null}}\n\n"
      "event: response.output_text.delta\ndata: {\"type\":\"response.outp"
      "ut_text.delta\",\"item_id\":\"m\",\"delta\":\"Hello\"}\n\n"
      "event: response.output_text.done\ndata: {\"type\":\"response.outpu"
      "t_text.done\",\"text\":\"Hello\"}\n\n"
      "event: response.completed\ndata: {\"type\":\"response.completed\","
      "\"response\":{\"id\":\"r\",\"status\":\"completed\",\"output\":[{\"co"
      "ntent\":[{\"text\":\"Hello\"}]}],\"usage\":{\"input_tokens\":12,\"inpu"
      "t_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":5,\"outpu"
      "t_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":17}}}\n\n",
      12, 5, 17, 0, 0, 5, 1, 1, 1, NULL },

    { "anthropic json",
      "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model"
      "\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":"
      "\"Hi\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":"
      "2095,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens"
      "\":2000,\"output_tokens\":503,\"service_tier\":\"standard\"}}",
      4195, 503, 4698, 2000, U, 0, 1, 0, 1, NULL },

    { "anthropic sse",
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
      "{\"id\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":25,\"cache_c"
      "reation_input_tokens\":0,\"cache_read_input_tokens\":10,\"output_t"
      "okens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\","
      "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
      "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
      "\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\""
      ":\"{\\\"a\\\":\"}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{"
      "\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
      35, 15, 50, 10, U, 10, 1, 1, 1, NULL },

    { "gemini json",
      "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\""
      ":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\""
      ":{\"promptTokenCount\":8,\"candidatesTokenCount\":2,\"totalTokenCou"
      "nt\":40,\"cachedContentTokenCount\":4,\"thoughtsTokenCount\":30,"
      "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":8}]},"
      "\"modelVersion\":\"gemini-2.5-flash\"}",
      8, 32, 40, 4, 30, 2, 1, 0, 1, NULL },

    { "gemini sse (alt=sse): the last wins",
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"One\"}],"
      "\"role\":\"model\"}}],\"usageMetadata\":{\"promptTokenCount\":9,"
      "\"totalTokenCount\":9}}\r\n\r\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" two\"}],"
      "\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{"
      "\"promptTokenCount\":9,\"candidatesTokenCount\":3,\"totalTokenCount"
      "\":12,\"toolUsePromptTokenCount\":0}}\r\n\r\n",
      9, 3, 12, U, U, 7, 1, 1, 1, NULL },

    { "gemini json array stream",
      "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]}}],"
      "\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4}}\n"
      ",\r\n{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B\"}]},"
      "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":"
      "4,\"candidatesTokenCount\":2,\"totalTokenCount\":6}}]",
      4, 2, 6, U, U, 2, 1, 0, 1, NULL },

    { "gemini: zero counts left out, from the total",
      "{\"usageMetadata\":{\"candidatesTokenCount\":5,\"totalTokenCount\":"
      "12}}",
      7, 5, 12, U, U, 0, 1, 0, 1, NULL },

    { "bedrock converse json",
      "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text"
      "\":\"Hi\"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":"
      "30,\"outputTokens\":628,\"totalTokens\":668,\"cacheReadInputTokens\""
      ":8,\"cacheWriteInputTokens\":2},\"metrics\":{\"latencyMs\":1275}}",
      40, 628, 668, 8, U, 0, 1, 0, 1, NULL },

    { "ollama openai shape, ndjson of two values",
      "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
      "\"completion_tokens\":4,\"total_tokens\":7}}\n"
      "{\"usage\":{\"completion_tokens\":5}}\n",
      3, 5, 7, U, U, 0, 1, 0, 1, NULL },

    { "truncated stream: partial, chars counted",
      OAI_CHUNK("Hello", "null") OAI_CHUNK(" world", "null")
      "data: {\"choices\":[{\"delta\":{\"content\":\"!!",
      U, U, U, U, U, 11, 0, 1, 0, NULL },

    { "cut inside the usage event, its object complete",
      OAI_CHUNK("Hi", "\"stop\"")
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,"
      "\"completion_tokens\":1}",
      2, 1, 3, U, U, 2, 1, 1, 0, NULL },

    { "cut inside the usage object",
      OAI_CHUNK("Hi", "\"stop\"")
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,"
      "\"completion_tokens\":1",
      U, U, U, U, U, 2, 0, 1, 0, NULL },

    { "garbage: an html error page",
      "<html>\n<head><title>502 Bad Gateway</title></head>\n"
      "<body>usage: {\"prompt_tokens\":5}</body></html>\n",
      U, U, U, U, U, 0, 0, 1, 0, NULL },

    { "garbage json",
      "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":x}}",
      U, U, U, U, U, 0, 0, 0, 0, NULL },

    { "huge numbers saturate",
      "{\"usage\":{\"prompt_tokens\":123456789012345678901234567890,"
      "\"completion_tokens\":9999999999999,\"total_tokens\":1e400}}",
      TM, TM, TM, U, U, 0, 1, 0, 1, NULL },

    { "negative and fractional counts are ignored",
      "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":2.5,"
      "\"total_tokens\":7}}",
      U, U, 7, U, U, 0, 1, 0, 1, NULL },

    { "duplicate keys: the last wins",
      "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2,"
      "\"completion_tokens\":3},\"usage\":{\"completion_tokens\":4}}",
      2, 4, 6, U, U, 0, 1, 0, 1, NULL },

    { "usage-like fields elsewhere are not usage",
      "{\"choices\":[{\"message\":{\"content\":\"{\\\"usage\\\":{\\\"prompt_"
      "tokens\\\":999}}\",\"tool_calls\":[{\"function\":{\"arguments\":"
      "\"{}\",\"usage\":{\"prompt_tokens\":998}}}]}}],\"metadata\":{\"usag"
      "e\":{\"prompt_tokens\":997},\"usageMetadata\":{\"promptTokenCount\":"
      "996}},\"data\":[{\"usage\":{\"prompt_tokens\":995}}],\"prompt_token"
      "s\":994,\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"meta"
      "\":{\"prompt_tokens\":993}}}",
      1, 1, 2, U, U, 33, 1, 0, 1, NULL },

    { "an empty usage object is no usage",
      "{\"usage\":{}}", U, U, U, U, U, 0, 0, 0, 1, NULL },

    { "usage null", "{\"usage\":null}", U, U, U, U, U, 0, 0, 0, 1, NULL },

    { "a usage event without a blank line before the end",
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
      "\"completion_tokens\":2}}\n",
      4, 2, 6, U, U, 0, 1, 1, 0, NULL },

    { "an event with two usage-only chunks is not dropped twice",
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
      1, U, U, U, U, 0, 1, 1, 0, NULL },

    { "choices empty, the usage not at the root: not usage-only",
      "data: {\"choices\":[],\"message\":{\"usage\":{\"input_tokens\""
      ":3,\"output_tokens\":1}}}\n\n",
      3, 1, 4, U, U, 0, 1, 1, 0, NULL },

    { "[DONE] alone",
      "data: [DONE]\n\n", U, U, U, U, U, 0, 0, 1, 1, NULL },

    { "[DONE] with more is not the end",
      "data: [DONE]x\n\ndata: [DONE]\ndata: [DONE]\n\n",
      U, U, U, U, U, 0, 0, 1, 0, NULL },

    { "UTF-8 in deltas, escaped and raw",
      "data: {\"choices\":[{\"delta\":{\"content\":\"h\xc3\xa9 \xe4\xb8\x96"
      "\xf0\x9f\x98\x80 \\ud83d\\ude00\\u00e9\"}}]}\n\n",
      U, U, U, U, U, 8, 0, 1, 0, NULL },
};


static void
ans_check(const ans_case_t *c, const ans_result_t *res, const char *how)
{
    ok(res->u.input == c->input && res->u.output == c->output
       && res->u.total == c->total && res->u.cached == c->cached
       && res->u.reasoning == c->reasoning
       && res->u.output_chars == c->chars && res->u.found == c->found
       && res->u.sse == c->sse && res->u.complete == c->complete,
       "%s%s: in %" PRId64 " out %" PRId64 " total %" PRId64 " cached %"
       PRId64 " reasoning %" PRId64 " chars %" PRIu64 " found %d sse %d "
       "complete %d", c->name, how, c->input, c->output, c->total,
       c->cached, c->reasoning, c->chars, c->found, c->sse, c->complete);

    if (res->u.input != c->input || res->u.output != c->output
        || res->u.total != c->total || res->u.cached != c->cached
        || res->u.reasoning != c->reasoning
        || res->u.output_chars != c->chars || res->u.found != c->found
        || res->u.sse != c->sse || res->u.complete != c->complete)
    {
        printf("#   got: in %" PRId64 " out %" PRId64 " total %" PRId64
               " cached %" PRId64 " reasoning %" PRId64 " chars %" PRIu64
               " found %d sse %d complete %d\n", res->u.input,
               res->u.output, res->u.total, res->u.cached, res->u.reasoning,
               res->u.output_chars, res->u.found, res->u.sse,
               res->u.complete);
    }
}


static void
test_answers(void)
{
    int                ok_splits, ok_drops;
    char               want[4096];
    long               k, bad;
    size_t             i, len, ulen, at, want_len;
    const char        *e;
    ans_result_t       whole, res, nodrop;
    const ans_case_t  *c;

    for (i = 0; i < sizeof(ans_cases) / sizeof(ans_cases[0]); i++) {
        c = &ans_cases[i];
        len = strlen(c->body);

        ans_read(&whole, c->body, len, 0, 1);
        ans_check(c, &whole, "");

        ans_read(&nodrop, c->body, len, 0, 0);
        ok(nodrop.kept_len == len && memcmp(nodrop.kept, c->body, len) == 0
           && usage_same(&nodrop.u, &whole.u),
           "%s: without drop_usage_only nothing is dropped", c->name);

        /* what the client gets when the usage-only event is dropped */

        if (c->usage_only) {
            e = strstr(c->body, c->usage_only);
            at = (size_t) (e - c->body);
            ulen = strlen(c->usage_only);

            memcpy(want, c->body, at);
            memcpy(want + at, e + ulen, len - at - ulen);
            want_len = len - ulen;

        } else {
            at = 0;
            ulen = 0;
            memcpy(want, c->body, len);
            want_len = len;
        }

        ok(whole.kept_len == want_len
           && memcmp(whole.kept, want, want_len) == 0,
           "%s: %s", c->name, c->usage_only ? "the usage-only event dropped"
                                            : "nothing dropped");

        /*
         * every split: the same usage; the event is dropped if it lies
         * in one piece, else the bytes pass unchanged
         */

        bad = -2;
        ok_drops = 1;

        for (k = 1; k < (long) len; k++) {
            ans_read(&res, c->body, len, k, 1);

            if (!usage_same(&res.u, &whole.u) && bad == -2) {
                bad = k;
            }

            if (c->usage_only && (size_t) k == at + ulen - 1
                && c->body[k - 1] == '\r' && c->body[k] == '\n')
            {
                /* dropped up to its CR, the LF of the next piece kept */

                if (res.kept_len != want_len + 1
                    || memcmp(res.kept, want, at) != 0
                    || res.kept[at] != '\n'
                    || memcmp(res.kept + at + 1, want + at, want_len - at)
                       != 0)
                {
                    ok_drops = 0;
                }

            } else if (c->usage_only == NULL
                       || ((size_t) k > at && (size_t) k < at + ulen))
            {
                if (res.kept_len != len
                    || memcmp(res.kept, c->body, len) != 0)
                {
                    ok_drops = 0;
                }

            } else if (res.kept_len != want_len
                       || memcmp(res.kept, want, want_len) != 0)
            {
                ok_drops = 0;
            }
        }

        ok_splits = (bad == -2);

        ok(ok_splits, "%s: the same usage in all %zu splits", c->name,
           len - 1);

        if (!ok_splits) {
            printf("#   differs at split %ld\n", bad);
        }

        ok(ok_drops, "%s: every split drops the event only when it lies in "
           "one piece", c->name);

        ans_read(&res, c->body, len, -1, 1);
        ok(usage_same(&res.u, &whole.u), "%s: the same usage bytewise",
           c->name);

        ok(res.kept_len == len && memcmp(res.kept, c->body, len) == 0,
           "%s: bytewise nothing is dropped", c->name);
    }
}


/*
 * The skim against the reference (the scanner alone): the same usage
 * and the same bytes passed on, for every answer above and for streams
 * made to reach each of its ways out, in every split and bytewise.
 */

static const char  *skim_bodies[] = {
    OAI_CHUNK("Hi", "null") OAI_CHUNK(" there", "null") OAI_USAGE_EVENT
    "data: [DONE]\n\n",

    /* CRLF, CR, comments, event and id lines, a BOM */
    "\xef\xbb\xbf: hello\r\nevent: x\r\n" "data: {\"choices\":[{\"delta\":"
    "{\"content\":\"ab\"}}]}\r\n\r\nid: 1\rdata: {\"delta\":{\"text\":"
    "\"c\\nd\"}}\r\r: c\n" OAI_USAGE_EVENT,

    /* multi-line data, data after data, fields after data */
    "data: {\"choices\":[{\"delta\":\n" "data: {\"content\":\"ab\"}}]}\n\n"
    "data: {\"delta\":\"xy\"}\ndata: {\"delta\":\"z\"}\n\n"
    "data: {\"delta\":\"uv\"}\nid: 2\n\n" "data:\ndata: {\"delta\":\"w\"}\n\n",

    /* text in arrays, nested, other keys, whitespace, all the scalars */
    "data:  { \"type\" : \"content_block_delta\" , \"index\":0,\t\"delta\":"
    "{\"type\":\"text_delta\",\"text\":[\"caf\xc3\xa9\",{\"text\":\"\xe4\xb8"
    "\xad\"}],\"n\":[-0.5e+3,1E2,0,true,false,null,{}, []]}}  \n\n"
    "data: {\"choices\":[\"s\",[{\"refusal\":\"no\"}],{\"message\":{"
    "\"content\":\"hey\"},\"text\":\"x\"}],\"usage\":[1]}\n\n",

    /* the skim's ways out, each read by the scanner */
    "data: {\"type\":\"message_stop\"}\n\n",
    "data: {\"delta\":{\"text\":\"\\u00e9\\ud83d\\ude00\"}}\n\n",
    "data: {\"del\\u0074a\":{\"text\":\"k\"}}\n\n",
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"g\"}]},"
    "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,"
    "\"candidatesTokenCount\":1}}\n\n",
    "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{"
    "\"input_tokens\":5,\"output_tokens\":2}}}\n\n",
    "data: {\"delta\":{\"text\":\"a\"},\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]"
    "]]]]]]}\n\n",
    "data: {\"delta\":{\"text\":\"bad\"},\"x\":01}\n\n",
    "data: {\"delta\":{\"text\":\"bad\"},\"x\":1.}\n\n",
    "data: {\"delta\":{\"text\":\"bad\"},\"x\":-}\n\n",
    "data: {\"delta\":{\"text\":\"bad\"},\"x\":nul}\n\n",
    "data: {\"delta\":{\"text\":\"bad\"},\"x\":[1,]}\n\n",
    "data: {\"delta\":{\"text\":\"a\"],\"delta\":\"b\"}\n\n",
    "data: {\"delta\":[\"a\"},\"delta\":\"b\"}\n\n",
    "data: {\"delta\":{\"text\":\"bad\"}} x\n\n",
    "data: {\"delta\":{\"text\":\"bad\"}}{}\n\n",
    "data: {\"delta\":{\"text\":\"bad\\q\"}}\n\n",
    "data: {\"delta\":{\"text\":\"a\tb\"}}\n\n",
    "data: [\"top\",{\"delta\":\"a\"}]\n\n",
    "data: {}    \n\ndata: [DONE]\n\n",
    "data: [DONE]\n\ndata: {}    \n\n",
    "data: {\"delta\":\"no blank line\"}\ndata: {\"delta\":\"x\"}",
};


static void
test_skim(void)
{
    long                k, bad;
    size_t              i, n, len;
    const char         *body;
    ans_result_t        fast, ref;
    zae_llm_answer_t    a;

    n = sizeof(ans_cases) / sizeof(ans_cases[0]);

    for (i = 0; i < n + sizeof(skim_bodies) / sizeof(skim_bodies[0]); i++) {
        body = (i < n) ? ans_cases[i].body : skim_bodies[i - n];
        len = strlen(body);
        bad = -2;

        for (k = -1; k < (long) len && bad == -2; k++) {
            ans_reference = 0;
            ans_read(&fast, body, len, k, 1);
            ans_reference = 1;
            ans_read(&ref, body, len, k, 1);
            ans_reference = 0;

            if (!usage_same(&fast.u, &ref.u) || fast.dropped != ref.dropped
                || fast.kept_len != ref.kept_len
                || memcmp(fast.kept, ref.kept, fast.kept_len) != 0)
            {
                bad = k;
            }
        }

        ok(bad == -2, "skim: answer %zu as the reference, whole, bytewise "
           "and in all %zu splits", i, len - 1);

        if (bad != -2) {
            printf("#   differs at split %ld\n", bad);
        }
    }

    /* the skim does read the usual events (else the above proves little) */

    body = skim_bodies[0];
    zae_llm_answer_init(&a, 1);
    zae_llm_answer_feed(&a, (u_char *) body, strlen(body));
    is_int((int64_t) a.skimmed, 2, "skim: reads the two content chunks, "
           "not the usage chunk nor [DONE]");

    zae_llm_answer_init(&a, 1);
    a.reference = 1;
    zae_llm_answer_feed(&a, (u_char *) body, strlen(body));
    is_int((int64_t) a.skimmed, 0, "skim: off in the reference");
}


/* a usage event after a huge content event */

static void
test_answer_big(void)
{
    char              *body, *p;
    size_t             big, len, i;
    ans_result_t       res;
    zae_llm_usage_t    u;
    zae_llm_answer_t   a;

    static const char  head[] =
        "data: {\"choices\":[{\"delta\":{\"content\":\"";
    static const char  tail[] =
        "\"}}]}\n\n" OAI_USAGE_EVENT "data: [DONE]\n\n";

    big = 4 * 1024 * 1024;
    body = malloc(sizeof(head) + big + sizeof(tail));

    if (!ok(body != NULL, "big: allocated")) {
        return;
    }

    p = body;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;

    for (i = 0; i < big; i++) {
        *p++ = "abcdefg \xc3\xa9"[i % 10];
    }

    memcpy(p, tail, sizeof(tail) - 1);
    p += sizeof(tail) - 1;
    len = (size_t) (p - body);

    ans_read(&res, body, len, 0, 1);

    ok(res.u.found && res.u.input == 19 && res.u.output == 10
       && res.u.complete,
       "big: the usage event after a 4 MB content event is read");
    /* 9 characters per 10 bytes, the 4 bytes left are "abcd" */
    is_int(res.u.output_chars, big / 10 * 9 + big % 10,
           "big: its characters are counted");

    /* in 1000-byte pieces, the usage-only event inside one piece */

    zae_llm_answer_init(&a, 1);

    for (i = 0; i < len; i += 1000) {
        zae_llm_answer_feed(&a, (u_char *) body + i,
                            len - i < 1000 ? len - i : 1000);
    }

    zae_llm_answer_finish(&a);
    zae_llm_answer_usage(&a, &u);
    ok(u.found && u.input == 19 && u.total == 29,
       "big: read in 1000-byte pieces");

    free(body);
}


/* partial streams */

static void
test_partial(void)
{
    zae_llm_usage_t  u;

    memset(&u, 0, sizeof(u));

    u.output_chars = 0;
    is_int(zae_llm_partial_tokens(&u, 100, 500), 100,
           "partial: nothing generated: the input estimate");

    u.output_chars = 9;
    is_int(zae_llm_partial_tokens(&u, 100, 500), 103,
           "partial: + ceil(chars / 4)");

    u.output_chars = 10000;
    is_int(zae_llm_partial_tokens(&u, 100, 500), 500,
           "partial: never more than the estimate");

    u.output_chars = UINT64_MAX;
    is_int(zae_llm_partial_tokens(&u, TM, TM), TM, "partial: saturates");
}


/* gzip and deflate ------------------------------------------------------- */


static size_t
compress_to(const char *in, size_t len, u_char *out, size_t size, int bits)
{
    z_stream  z;

    memset(&z, 0, sizeof(z));

    if (deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    {
        return 0;
    }

    z.next_in = (Bytef *) in;
    z.avail_in = (uInt) len;
    z.next_out = out;
    z.avail_out = (uInt) size;

    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        return 0;
    }

    len = z.total_out;
    deflateEnd(&z);

    return len;
}


static int
inflate_read(const char *enc, const u_char *in, size_t len, long split,
    zae_llm_usage_t *u)
{
    int                 rc;
    size_t              i;
    zae_mem_t           mem;
    zae_arena_t         arena;
    zae_llm_answer_t    a;
    zae_llm_inflate_t  *zi;

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    zae_llm_answer_init(&a, 1);

    zi = zae_llm_inflate_create(&mem, (u_char *) enc, strlen(enc));
    if (zi == NULL) {
        zae_arena_free(&arena);
        return -100;
    }

    rc = ZAE_OK;

    if (split < 0) {
        for (i = 0; i < len && rc == ZAE_OK; i++) {
            rc = zae_llm_inflate_feed(zi, &a, in + i, 1);
        }

    } else if (split == 0) {
        rc = zae_llm_inflate_feed(zi, &a, in, len);

    } else {
        rc = zae_llm_inflate_feed(zi, &a, in, (size_t) split);

        if (rc == ZAE_OK) {
            rc = zae_llm_inflate_feed(zi, &a, in + split,
                                      len - (size_t) split);
        }
    }

    if (a.ndrops != 0) {
        rc = -101;
    }

    zae_llm_answer_finish(&a);
    zae_llm_answer_usage(&a, u);

    zae_arena_free(&arena);

    return rc;
}


static void
test_inflate(void)
{
    int               bad;
    long              k;
    size_t            len, n, i;
    char             *big;
    u_char           *z, *zz;
    zae_mem_t         mem;
    zae_arena_t       arena;
    zae_llm_usage_t   u, w;
    const char       *body;

    static const struct {
        const char  *enc;
        int          bits;
    } encs[] = {
        { "gzip", 16 + MAX_WBITS },
        { "GZIP", 16 + MAX_WBITS },
        { "x-gzip", 16 + MAX_WBITS },
        { "deflate", MAX_WBITS },           /* zlib wrapped */
        { "deflate", -MAX_WBITS },          /* raw */
    };

    body = ans_cases[3].body;   /* the OpenAI stream */
    len = strlen(body);

    z = malloc(65536);
    zz = malloc(2 * 65536);

    if (!ok(z && zz, "inflate: allocated")) {
        return;
    }

    for (i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
        n = compress_to(body, len, z, 65536, encs[i].bits);

        ok(n > 0, "inflate: %s (%d) compressed", encs[i].enc, encs[i].bits);

        is_int(inflate_read(encs[i].enc, z, n, 0, &w), ZAE_OK,
               "inflate: %s (%d) read", encs[i].enc, encs[i].bits);
        ok(w.found && w.input == 19 && w.output == 10 && w.total == 29
           && w.cached == 4 && w.complete && w.output_chars == 7,
           "inflate: %s (%d): the usage", encs[i].enc, encs[i].bits);

        bad = 0;

        for (k = 1; k < (long) n; k++) {
            if (inflate_read(encs[i].enc, z, n, k, &u) != ZAE_OK
                || !usage_same(&u, &w))
            {
                bad = 1;
            }
        }

        if (inflate_read(encs[i].enc, z, n, -1, &u) != ZAE_OK
            || !usage_same(&u, &w))
        {
            bad = 1;
        }

        ok(!bad, "inflate: %s (%d): every split and bytewise",
               encs[i].enc, encs[i].bits);
    }

    /* two gzip members */

    n = compress_to(body, 300, z, 65536, 16 + MAX_WBITS);
    n += compress_to(body + 300, len - 300, z + n, 65536 - n,
                     16 + MAX_WBITS);
    is_int(inflate_read("gzip", z, n, 0, &u), ZAE_OK,
           "inflate: two gzip members");
    ok(u.found && u.total == 29, "inflate: two gzip members: the usage");

    /* corrupt data: an error, what was read before is kept */

    n = compress_to(body, len, z, 65536, 16 + MAX_WBITS);
    z[n / 2] ^= 0xff;
    z[n / 2 + 1] ^= 0x55;
    ok(inflate_read("gzip", z, n, 0, &u) == ZAE_ERROR,
       "inflate: corrupt gzip is an error");

    is_int(inflate_read("gzip", (u_char *) "not gzip", 8, 0, &u), ZAE_ERROR,
           "inflate: not gzip is an error");

    /* a large answer through the 4 KB window */

    big = malloc(200000);

    if (big) {
        memset(big, ' ', 200000);
        memcpy(big, "{\"x\":\"", 6);
        memcpy(big + 150000, "\",\"usage\":{\"prompt_tokens\":5,"
               "\"completion_tokens\":6}}", 53);

        n = compress_to(big, 200000, zz, 2 * 65536, 16 + MAX_WBITS);
        ok(n > 0 && inflate_read("gzip", zz, n, 0, &u) == ZAE_OK
           && u.found && u.total == 11,
           "inflate: 200 KB through the output window");

        free(big);
    }

    /* encodings */

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    ok(zae_llm_inflate_create(&mem, (u_char *) "br", 2) == NULL,
       "inflate: br is not ours");
    ok(zae_llm_inflate_create(&mem, (u_char *) "identity", 8) == NULL,
       "inflate: identity is not ours");
    ok(zae_llm_inflate_create(&mem, (u_char *) "gzi", 3) == NULL,
       "inflate: a prefix of gzip is not gzip");

    zae_arena_free(&arena);

    zae_arena_init(&arena, 1000);
    mem = zae_arena_mem(&arena);
    n = compress_to(body, len, z, 65536, 16 + MAX_WBITS);

    {
        zae_llm_answer_t    a;
        zae_llm_inflate_t  *zi;

        zae_llm_answer_init(&a, 0);
        zi = zae_llm_inflate_create(&mem, (u_char *) "deflate", 7);
        ok(zi == NULL || zae_llm_inflate_feed(zi, &a, z, n) == ZAE_ERROR,
           "inflate: an allocation failure is an error");
    }

    zae_arena_free(&arena);

    free(z);
    free(zz);
}


/* prices ----------------------------------------------------------------- */


static void
test_prices(void)
{
    size_t                  i;
    int64_t                 v;
    const zae_llm_price_t  *p;

    static const struct {
        const char  *s;
        int          rc;
        int64_t      v;
    } parse[] = {
        { "2.50", ZAE_OK, 2500000000LL },
        { "0.075", ZAE_OK, 75000000LL },
        { "15", ZAE_OK, 15000000000LL },
        { "0", ZAE_OK, 0 },
        { "0.000000001", ZAE_OK, 1 },
        { "1000000", ZAE_OK, ZAE_LLM_PRICE_MAX },
        { "1000000.000000001", ZAE_ERROR, 0 },
        { "0.0000000001", ZAE_ERROR, 0 },
        { "99999999999999999999", ZAE_ERROR, 0 },
        { "", ZAE_ERROR, 0 },
        { ".5", ZAE_ERROR, 0 },
        { "5.", ZAE_ERROR, 0 },
        { "1.2.3", ZAE_ERROR, 0 },
        { "-1", ZAE_ERROR, 0 },
        { "1e3", ZAE_ERROR, 0 },
        { " 1", ZAE_ERROR, 0 },
        { "$1", ZAE_ERROR, 0 },
    };

    static zae_llm_price_t  table[] = {
        { zae_string("gpt-4o"), 0, 2500000000LL, 10000000000LL,
          1250000000LL },
        { zae_string("gpt-4o"), 1, 1, 1, U },
        { zae_string("gpt-4o-mini"), 1, 150000000LL, 600000000LL, U },
        { zae_string("gpt-"), 1, 7, 7, U },
        { zae_string(""), 1, 9, 9, U },
    };

    static zae_llm_price_t  twins[] = {
        { zae_string("gpt-"), 1, 1, 1, U },
        { zae_string("gpt-"), 1, 2, 2, U },
    };

    for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
        v = -7;
        is_int(zae_llm_price_parse((u_char *) parse[i].s,
                                   strlen(parse[i].s), &v),
               parse[i].rc, "price \"%s\": %s", parse[i].s,
               parse[i].rc == ZAE_OK ? "ok" : "error");

        if (parse[i].rc == ZAE_OK) {
            is_int(v, parse[i].v, "price \"%s\": value", parse[i].s);
        }
    }

    p = zae_llm_price_find(table, 5, (u_char *) "gpt-4o", 6);
    ok(p == &table[0], "price: the exact entry beats gpt-4o*");
    p = zae_llm_price_find(table, 5, (u_char *) "gpt-4o-2024-08-06", 17);
    ok(p == &table[1], "price: gpt-4o* for gpt-4o-2024-08-06");
    p = zae_llm_price_find(table, 5, (u_char *) "gpt-4o-mini-2024", 16);
    ok(p == &table[2], "price: the longest prefix wins");
    p = zae_llm_price_find(table, 5, (u_char *) "gpt-5", 5);
    ok(p == &table[3], "price: gpt-* for gpt-5");
    p = zae_llm_price_find(table, 5, (u_char *) "claude", 6);
    ok(p == &table[4], "price: * for anything else");
    p = zae_llm_price_find(twins, 2, (u_char *) "gpt-5", 5);
    ok(p == &twins[0], "price: the first of equal prefixes");
    p = zae_llm_price_find(table, 4, (u_char *) "claude", 6);
    ok(p == NULL, "price: none");
    p = zae_llm_price_find(table, 4, (u_char *) "gpt", 3);
    ok(p == NULL, "price: a model shorter than the prefix");

    /* costs in micro-dollars, rounded up */

    is_int(zae_llm_cost(&table[0], 1, 0, 0), 3,
           "cost: 1 token at 2.50/M is 2.5 micro-dollars, rounded up to 3");
    is_int(zae_llm_cost(&table[0], 1000, 0, 500), 7500,
           "cost: 1000 in + 500 out");
    is_int(zae_llm_cost(&table[0], 1000, 400, 0), 2000,
           "cost: 400 of 1000 cached at 1.25");
    is_int(zae_llm_cost(&table[2], 1000, 400, 0), 150,
           "cost: without cached_input cached costs input");
    is_int(zae_llm_cost(&table[0], 1000, 5000, 0), 1250,
           "cost: cached clamped to input");
    is_int(zae_llm_cost(&table[0], U, U, U), 0, "cost: unknown is 0");
    is_int(zae_llm_cost(&table[0], 0, 0, 0), 0, "cost: nothing is 0");
    is_int(zae_llm_cost(&table[3], 1, 0, 0), 1,
           "cost: 7 nano-dollars per million: 1 micro-dollar, rounded up");
    is_int(zae_llm_cost(&table[0], TM, 0, TM), TM, "cost: saturates");
    is_int(zae_llm_cost(&table[0], 1000000, 0, 1000000), 12500000,
           "cost: a million each: 12.50 USD");
}


int
main(int argc, char **argv)
{
    char        *env, bin[sizeof(data_dir)], path[sizeof(data_dir) + 16];

    /* t/data/llm: $ZAE_LLM_DATA, or up from build/unit, build/asan/unit */

    env = getenv("ZAE_LLM_DATA");

    if (env) {
        snprintf(data_dir, sizeof(data_dir), "%s", env);

    } else {
        snprintf(bin, sizeof(bin), "%s", argv[0]);
        snprintf(data_dir, sizeof(data_dir), "%s/../../t/data/llm",
                 dirname(bin));

        snprintf(path, sizeof(path), "%s/counts.txt", data_dir);

        if (access(path, R_OK) != 0) {
            snprintf(bin, sizeof(bin), "%s", argv[0]);
            snprintf(data_dir, sizeof(data_dir), "%s/../../../t/data/llm",
                     dirname(bin));
        }
    }

    test_request();
    test_estimate_error();
    test_path();
    test_patch();
    test_answers();
    test_skim();
    test_answer_big();
    test_partial();
    test_inflate();
    test_prices();

    return tap_done();
}
