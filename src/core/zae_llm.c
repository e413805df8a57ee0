
/*
 * Copyright (C) zae-limit authors
 *
 * LLM request and answer parsing: a stub with the API of zae_llm.h,
 * the implementation follows.
 */


#include "zae_llm.h"


void
zae_llm_request_init(zae_llm_request_t *r)
{
    memset(r, 0, sizeof(zae_llm_request_t));
    r->max_tokens = ZAE_LLM_UNKNOWN;
    r->n = 1;
}


int
zae_llm_request_feed(zae_llm_request_t *r, const u_char *data, size_t len)
{
    r->size += len;

    return ZAE_OK;
}


int
zae_llm_request_finish(zae_llm_request_t *r)
{
    r->finished = 1;
    r->invalid = 1;

    return ZAE_DECLINED;
}


int64_t
zae_llm_size_estimate(uint64_t size)
{
    uint64_t  t;

    t = size / 4 + (size % 4 != 0);

    return t > (uint64_t) ZAE_TOKENS_MAX ? ZAE_TOKENS_MAX : (int64_t) t;
}


int64_t
zae_llm_request_input_estimate(const zae_llm_request_t *r)
{
    return zae_llm_size_estimate(r->size);
}


int64_t
zae_llm_request_output(const zae_llm_request_t *r, int64_t default_max)
{
    return default_max;
}


int64_t
zae_llm_request_estimate(const zae_llm_request_t *r, int64_t default_max)
{
    return zae_llm_request_input_estimate(r)
           + zae_llm_request_output(r, default_max);
}


void
zae_llm_path(const u_char *path, size_t len, zae_llm_path_t *p)
{
    memset(p, 0, sizeof(zae_llm_path_t));
}


int
zae_llm_request_usage_patch(const zae_llm_request_t *r,
    zae_llm_path_kind_e kind, zae_llm_patch_t *p)
{
    return ZAE_DECLINED;
}


int
zae_llm_request_add_usage(zae_buf_t *out, const u_char *body, size_t len,
    const zae_llm_request_t *r, zae_llm_path_kind_e kind)
{
    return ZAE_DECLINED;
}


void
zae_llm_answer_init(zae_llm_answer_t *a, int drop_usage_only)
{
    memset(a, 0, sizeof(zae_llm_answer_t));
    a->drop = drop_usage_only ? 1 : 0;
}


void
zae_llm_answer_feed(zae_llm_answer_t *a, const u_char *data, size_t len)
{
    a->ndrops = 0;
    a->offset += len;
}


void
zae_llm_answer_finish(zae_llm_answer_t *a)
{
}


void
zae_llm_answer_usage(const zae_llm_answer_t *a, zae_llm_usage_t *u)
{
    memset(u, 0, sizeof(zae_llm_usage_t));
    u->input = ZAE_LLM_UNKNOWN;
    u->output = ZAE_LLM_UNKNOWN;
    u->total = ZAE_LLM_UNKNOWN;
    u->cached = ZAE_LLM_UNKNOWN;
    u->reasoning = ZAE_LLM_UNKNOWN;
}


int64_t
zae_llm_partial_tokens(const zae_llm_usage_t *u, int64_t input_estimate,
    int64_t estimate)
{
    return input_estimate;
}


zae_llm_inflate_t *
zae_llm_inflate_create(zae_mem_t *mem, const u_char *encoding, size_t len)
{
    return NULL;
}


int
zae_llm_inflate_feed(zae_llm_inflate_t *zi, zae_llm_answer_t *a,
    const u_char *data, size_t len)
{
    return ZAE_ERROR;
}


int
zae_llm_price_parse(const u_char *s, size_t len, int64_t *nano)
{
    return ZAE_ERROR;
}


const zae_llm_price_t *
zae_llm_price_find(const zae_llm_price_t *prices, size_t n,
    const u_char *model, size_t len)
{
    return NULL;
}


int64_t
zae_llm_cost(const zae_llm_price_t *p, int64_t input, int64_t cached,
    int64_t output)
{
    return 0;
}
