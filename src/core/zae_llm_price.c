
/*
 * Copyright (C) zae-limit authors
 *
 * LLM prices: the price table of zae_llm_price and the cost of a
 * request in micro-dollars (zae_llm.h).
 */


#include "zae_llm.h"



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
