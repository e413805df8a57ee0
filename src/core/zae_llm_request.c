
/*
 * Copyright (C) zae-limit authors
 *
 * The LLM request reader: model, stream, max tokens and the input
 * estimate from the request body, the model from a Gemini path, the
 * stream_options patch (zae_llm.h; docs/design.md).
 */


#include <stdlib.h>
#include <strings.h>

#include "zae_llm_json.h"


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

static zae_llm_keys_t  zae_llm_root_keys_table =
    zae_llm_keys_table(zae_llm_root_keys);

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

static zae_llm_keys_t  zae_llm_text_keys_table =
    zae_llm_keys_table(zae_llm_text_keys);

static const zae_llm_key_t  zae_llm_gen_keys[] = {
    zae_llm_key("maxOutputTokens", ZAE_LLM_R_MAX + 3),
    zae_llm_key("max_output_tokens", ZAE_LLM_R_MAX + 3),
    zae_llm_key("candidateCount", ZAE_LLM_R_CANDIDATES),
    zae_llm_key("candidate_count", ZAE_LLM_R_CANDIDATES),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_gen_keys_table =
    zae_llm_keys_table(zae_llm_gen_keys);

static const zae_llm_key_t  zae_llm_so_keys[] = {
    zae_llm_key("include_usage", ZAE_LLM_R_INCLUDE),
    { NULL, 0, 0 }
};

static zae_llm_keys_t  zae_llm_so_keys_table =
    zae_llm_keys_table(zae_llm_so_keys);


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
