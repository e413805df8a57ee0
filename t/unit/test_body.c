
/*
 * Copyright (C) zae-limit authors
 *
 * Response bodies.  The expected 429 bodies were produced by Python's
 * json.dumps() of RateLimitExceeded.as_dict() semantics (fact sheet
 * section 6); the first one is the verified example.
 */


#include <math.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_body.h"


#define ZAE_TEST_MAX_ST  4


typedef struct {
    const char        *e, *r, *l;
    int64_t            capacity, refill_amount, period, available;
    int64_t            requested;
    int                exceeded;
    int64_t            retry_ms;
} st_case_t;


typedef struct {
    const char        *name;
    size_t             n;
    int64_t            header;
    st_case_t          st[ZAE_TEST_MAX_ST];
    const char        *body;
} body_case_t;


static const body_case_t  body_cases[] = {
    { "verified example", 1, 12, {
        { "solo", "api", "rpm", 5, 5, 60, 0, 1LL, 1, 11965LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit "
      "exceeded for solo/api: [rpm]. Retry after 12.0s\", "
      "\"retry_after_seconds\": 11.965, \"retry_after_ms\": 11965, "
      "\"limits\": [{\"entity_id\": \"solo\", \"resource\": \"api\", "
      "\"limit_name\": \"rpm\", \"capacity\": 5, \"refill_amount\": 5, "
      "\"refill_period_seconds\": 60, \"available\": 0, \"requested\": 1, "
      "\"exceeded\": true, \"retry_after_seconds\": 11.965}]}"
    },
    { "cascade", 3, 2701, {
        { "key-1", "gpt-4", "rpm", 20, 20, 60, 17, 1LL, 0, 0LL },
        { "key-1", "gpt-4", "tpm",
          3000, 3000, 3600, -250, 500LL, 1, 2700001LL },
        { "proj-1", "gpt-4", "rpm", 100, 100, 60, 0, 1LL, 1, 601LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for key-1/gpt-4: [tpm, rpm]. Retry after 2700.0s\", \"ret"
      "ry_after_seconds\": 2700.001, \"retry_after_ms\": 2700001, \"lim"
      "its\": [{\"entity_id\": \"key-1\", \"resource\": \"gpt-4\", \"limit_na"
      "me\": \"rpm\", \"capacity\": 20, \"refill_amount\": 20, \"refill_per"
      "iod_seconds\": 60, \"available\": 17, \"requested\": 1, \"exceeded"
      "\": false, \"retry_after_seconds\": 0.0}, {\"entity_id\": \"key-1\""
      ", \"resource\": \"gpt-4\", \"limit_name\": \"tpm\", \"capacity\": 3000"
      ", \"refill_amount\": 3000, \"refill_period_seconds\": 3600, \"ava"
      "ilable\": -250, \"requested\": 500, \"exceeded\": true, \"retry_af"
      "ter_seconds\": 2700.001}, {\"entity_id\": \"proj-1\", \"resource\":"
      " \"gpt-4\", \"limit_name\": \"rpm\", \"capacity\": 100, \"refill_amou"
      "nt\": 100, \"refill_period_seconds\": 60, \"available\": 0, \"requ"
      "ested\": 1, \"exceeded\": true, \"retry_after_seconds\": 0.601}]}"
    },
    { "tie", 2, 2, {
        { "a", "r", "x", 1, 1, 1, 0, 1LL, 1, 1001LL },
        { "b", "r", "y", 1, 1, 1, 0, 1LL, 1, 1001LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for a/r: [x, y]. Retry after 1.0s\", \"retry_after_second"
      "s\": 1.001, \"retry_after_ms\": 1000, \"limits\": [{\"entity_id\": "
      "\"a\", \"resource\": \"r\", \"limit_"
      "name\": \"x\", \"capacity\": 1, \"ref"
      "ill_amount\": 1, \"refill_period_seconds\": 1, \"available\": 0, "
      "\"requested\": 1, \"exceeded\": true, \"retry_after_seconds\": 1.0"
      "01}, {\"entity_id\": \"b\", \"resource\": \"r\", \"limit_name\": \"y\", "
      "\"capacity\": 1, \"refill_amount\": 1, \"refill_period_seconds\": "
      "1, \"available\": 0, \"requested\": 1, \"exceeded\": true, \"retry_"
      "after_seconds\": 1.001}]}"
    },
    { "later max wins", 3, 2, {
        { "a", "r", "x", 1, 1, 1, 0, 1LL, 1, 1000LL },
        { "b", "q", "y", 1, 1, 1, 0, 1LL, 1, 1001LL },
        { "c", "r", "z", 1, 1, 1, 0, 1LL, 1, 1001LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for b/q: [x, y, z]. Retry after 1.0s\", \"retry_after_sec"
      "onds\": 1.001, \"retry_after_ms\": 1000, \"limits\": [{\"entity_id"
      "\": \"a\", \"resource\": \"r\", \"lim"
      "it_name\": \"x\", \"capacity\": 1, \""
      "refill_amount\": 1, \"refill_period_seconds\": 1, \"available\": "
      "0, \"requested\": 1, \"exceeded\": true, \"retry_after_seconds\": "
      "1.0}, {\"entity_id\": \"b\", \"resource\": \"q\", \"limit_name\": \"y\","
      " \"capacity\": 1, \"refill_amount\": 1, \"refill_period_seconds\":"
      " 1, \"available\": 0, \"requested\": 1, \"exceeded\": true, \"retry"
      "_after_seconds\": 1.001}, {\"entity_id\": \"c\", \"resource\": \"r\","
      " \"limit_name\": \"z\", \"capacity\": 1, \"refill_amount\": 1, \"refi"
      "ll_period_seconds\": 1, \"available\": 0, \"requested\": 1, \"exce"
      "eded\": true, \"retry_after_seconds\": 1.001}]}"
    },
    { "zero", 2, 1, {
        { "a", "r", "rpm", 5, 5, 60, 0, 1LL, 1, 0LL },
        { "a", "r", "tpm", 5, 5, 60, 2, 3LL, 1, 0LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for a/r: [rpm, tpm]. Retry after 0.0s\", \"retry_after_se"
      "conds\": 0.0, \"retry_after_ms\": 0, \"limits\": [{\"entity_id\": \""
      "a\", \"resource\": \"r\", \"limit_name\": \"rpm\", \"capacity\": 5, \"re"
      "fill_amount\": 5, \"refill_period_seconds\": 60, \"available\": 0"
      ", \"requested\": 1, \"exceeded\": true, \"retry_after_seconds\": 0"
      ".0}, {\"entity_id\": \"a\", \"resource\": \"r\", \"limit_name\": \"tpm\""
      ", \"capacity\": 5, \"refill_amount\": 5, \"refill_period_seconds\""
      ": 60, \"available\": 2, \"requested\": 3, \"exceeded\": true, \"ret"
      "ry_after_seconds\": 0.0}]}"
    },
    { "esc", 1, 123457, {
        { "\303\274\"\\x\012\001\177\346\227\245\360\237\230\200",
          "openai/gpt-4", "rpm",
          1000000, 1000, 86400, -1000000, 1000000000000LL, 1, 123456789LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for \\u00fc\\\"\\\\x\\n\\u0001\\u007f\\u65e5\\ud83d\\ude00/openai/"
      "gpt-4: [rpm]. Retry after 123456.8s\", \"retry_after_seconds\":"
      " 123456.789, \"retry_after_ms\": 123456789, \"limits\": [{\"entit"
      "y_id\": \"\\u00fc\\\"\\\\x\\n\\u0001\\"
      "u007f\\u65e5\\ud83d\\ude00\", \"resou"
      "rce\": \"openai/gpt-4\", \"limit_name\": \"rpm\", \"capacity\": 10000"
      "00, \"refill_amount\": 1000, \"refill_period_seconds\": 86400, \""
      "available\": -1000000, \"requested\": 1000000000000, \"exceeded\""
      ": true, \"retry_after_seconds\": 123456.789}]}"
    },
    { "r250", 1, 1, {
        { "a", "r", "l", 1, 1, 1, 0, 1LL, 1, 250LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for a/r: [l]. Retry after 0.2s\", \"retry_after_seconds\":"
      " 0.25, \"retry_after_ms\": 250, \"limits\": [{\"entity_id\": \"a\", "
      "\"resource\": \"r\", \"limit_name\": \"l\", \"capacity\": 1, \"refill_a"
      "mount\": 1, \"refill_period_seconds\": 1, \"available\": 0, \"requ"
      "ested\": 1, \"exceeded\": true, \"retry_after_seconds\": 0.25}]}"
    },
    { "r350", 1, 1, {
        { "a", "r", "l", 1, 1, 1, 0, 1LL, 1, 350LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for a/r: [l]. Retry after 0.3s\", \"retry_after_seconds\":"
      " 0.35, \"retry_after_ms\": 350, \"limits\": [{\"entity_id\": \"a\", "
      "\"resource\": \"r\", \"limit_name\": \"l\", \"capacity\": 1, \"refill_a"
      "mount\": 1, \"refill_period_seconds\": 1, \"available\": 0, \"requ"
      "ested\": 1, \"exceeded\": true, \"retry_after_seconds\": 0.35}]}"
    },
    { "r1050", 1, 2, {
        { "a", "r", "l", 1, 1, 1, 0, 1LL, 1, 1050LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for a/r: [l]. Retry after 1.1s\", \"retry_after_seconds\":"
      " 1.05, \"retry_after_ms\": 1050, \"limits\": [{\"entity_id\": \"a\","
      " \"resource\": \"r\", \"limit_name\": \"l\", \"capacity\": 1, \"refill_"
      "amount\": 1, \"refill_period_seconds\": 1, \"available\": 0, \"req"
      "uested\": 1, \"exceeded\": true, \"retry_after_seconds\": 1.05}]}"
    },
    { "r42001", 1, 43, {
        { "a", "r", "l", 5, 5, 60, -3, 1LL, 1, 42001LL },
      },
      "{\"error\": \"rate_limit_exceeded\", \"message\": \"Rate limit exce"
      "eded for a/r: [l]. Retry after 42.0s\", \"retry_after_seconds\""
      ": 42.001, \"retry_after_ms\": 42001, \"limits\": [{\"entity_id\": "
      "\"a\", \"resource\": \"r\", \"limit_"
      "name\": \"l\", \"capacity\": 5, \"ref"
      "ill_amount\": 5, \"refill_period_seconds\": 60, \"available\": -3"
      ", \"requested\": 1, \"exceeded\": true, \"retry_after_seconds\": 4"
      "2.001}]}"
    },
};


static void test_float_repr(void);
static void test_rate_limited(zae_mem_t *mem);
static void test_unavailable(zae_mem_t *mem);
static void test_provider(zae_mem_t *mem);
static void test_invalid(zae_mem_t *mem);


/* retry values: i itself below 10^6, then random ones below 2 * 10^14 */

static int64_t
test_ms(int64_t i, uint64_t *x)
{
    if (i < 1000000) {
        return i;
    }

    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;

    return (int64_t) (*x % 200000000000000ULL);
}


static void
test_float_repr(void)
{
    size_t       i;
    zae_buf_t    b;
    zae_mem_t    mem;
    zae_arena_t  arena;

    static const struct {
        double       v;
        const char  *want;
    } cases[] = {
        { 0.0, "0.0" },
        { 1.001, "1.001" },
        { 0.601, "0.601" },
        { 2700.001, "2700.001" },
        { 42.001, "42.001" },
        { 1e+16, "1e+16" },
        { 1e-05, "1e-05" },
        { 0.30000000000000004, "0.30000000000000004" },
        { 11.965, "11.965" },
        { 12.0, "12.0" },
        { 1000000000000000.0, "1000000000000000.0" },
        { 1.2345678901234568e+17, "1.2345678901234568e+17" },
        { 0.0001, "0.0001" },
        { 5e-324, "5e-324" },
        { -0.0, "-0.0" },
        { 1.7976931348623157e+308, "1.7976931348623157e+308" },
        { 9999999999999998.0, "9999999999999998.0" },
        { 2.2250738585072014e-308, "2.2250738585072014e-308" },
        { 1e+22, "1e+22" },
        { 9.900000000000001e-05, "9.900000000000001e-05" },
        { 100.0, "100.0" },
        { 1234.5, "1234.5" },
        { -2.5e-07, "-2.5e-07" },
        { 0.1, "0.1" },
        { 0.3333333333333333, "0.3333333333333333" },
        { 1.152921504606847e+18, "1.152921504606847e+18" },
        { 9.313225746154785e-10, "9.313225746154785e-10" },
        { 9007199254740992.0, "9007199254740992.0" },
        { 0.001, "0.001" },
        { 9.99999e-05, "9.99999e-05" },
    };

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zae_buf_init(&b, &mem, 0);
        is_int(zae_py_float_repr(&b, cases[i].v), ZAE_OK, "repr %s",
               cases[i].want);
        is_str(b.data, cases[i].want, "repr %s", cases[i].want);
    }

    zae_buf_init(&b, &mem, 0);
    (void) zae_py_float_repr(&b, INFINITY);
    is_str(b.data, "inf", "repr inf");
    zae_buf_init(&b, &mem, 0);
    (void) zae_py_float_repr(&b, -INFINITY);
    is_str(b.data, "-inf", "repr -inf");
    zae_buf_init(&b, &mem, 0);
    (void) zae_py_float_repr(&b, NAN);
    is_str(b.data, "nan", "repr nan");

    zae_arena_free(&arena);
}


static void
test_rate_limited(zae_mem_t *mem)
{
    size_t              i, k;
    int64_t             header;
    zae_buf_t           b;
    zae_limit_status_t  st[ZAE_TEST_MAX_ST];

    for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
        memset(st, 0, sizeof(st));

        for (k = 0; k < body_cases[i].n; k++) {
            st[k].entity_id.data = (u_char *) body_cases[i].st[k].e;
            st[k].entity_id.len = strlen(body_cases[i].st[k].e);
            st[k].resource.data = (u_char *) body_cases[i].st[k].r;
            st[k].resource.len = strlen(body_cases[i].st[k].r);
            st[k].limit_name.data = (u_char *) body_cases[i].st[k].l;
            st[k].limit_name.len = strlen(body_cases[i].st[k].l);
            st[k].capacity = body_cases[i].st[k].capacity;
            st[k].refill_amount = body_cases[i].st[k].refill_amount;
            st[k].refill_period_seconds = body_cases[i].st[k].period;
            st[k].available = body_cases[i].st[k].available;
            st[k].requested = body_cases[i].st[k].requested;
            st[k].exceeded = body_cases[i].st[k].exceeded;
            st[k].retry_after_ms = body_cases[i].st[k].retry_ms;
        }

        zae_buf_init(&b, mem, 0);
        header = -1;

        is_int(zae_body_rate_limited(&b, st, body_cases[i].n, &header),
               ZAE_OK, "429 %s", body_cases[i].name);
        is_str(b.data, body_cases[i].body, "429 %s: body",
               body_cases[i].name);
        is_int(header, body_cases[i].header, "429 %s: Retry-After",
               body_cases[i].name);
    }

    /* primary violation */
    memset(st, 0, sizeof(st));
    st[0].retry_after_ms = 5000;
    st[1].exceeded = 1;
    st[1].retry_after_ms = 100;
    st[2].exceeded = 1;
    st[2].retry_after_ms = 100;
    is_int(zae_body_primary(st, 3), 1, "passed status never primary");
    st[2].retry_after_ms = 101;
    is_int(zae_body_primary(st, 3), 2, "largest retry is primary");
    st[1].exceeded = 0;
    st[2].exceeded = 0;
    is_int(zae_body_primary(st, 3), 3, "no violation: n");

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_rate_limited(&b, st, 3, NULL), ZAE_ERROR,
           "no violation: refused");
    is_int(zae_body_rate_limited(&b, st, 0, NULL), ZAE_ERROR,
           "no status: refused");

    /* a retry of INT64_MAX ms: retry_after_ms saturates, header too */
    memset(st, 0, sizeof(st));
    zae_str_set(&st[0].entity_id, "e");
    zae_str_set(&st[0].resource, "r");
    zae_str_set(&st[0].limit_name, "l");
    st[0].exceeded = 1;
    st[0].retry_after_ms = INT64_MAX;
    zae_buf_init(&b, mem, 0);
    is_int(zae_body_rate_limited(&b, st, 1, &header), ZAE_OK,
           "huge retry accepted");
    ok(strstr((char *) b.data, "\"retry_after_seconds\": 9223372036854776.0,"
              " \"retry_after_ms\": 9223372036854775807,") != NULL,
       "huge retry: seconds as Python prints them, ms saturated");
    is_int(header, 9223372036854777LL, "huge retry: header");

    /* allocation failure is reported */
    {
        zae_arena_t  tiny;
        zae_mem_t    tmem;

        zae_arena_init(&tiny, 300);
        tmem = zae_arena_mem(&tiny);
        zae_buf_init(&b, &tmem, 0);
        st[0].retry_after_ms = 1;
        is_int(zae_body_rate_limited(&b, st, 1, NULL), ZAE_ERROR,
               "allocation failure reported");
        zae_arena_free(&tiny);
    }
}


static void
test_unavailable(zae_mem_t *mem)
{
    zae_buf_t  b;
    zae_str_t  cause = zae_string("ThrottlingException: rate exceeded");
    zae_str_t  stack = zae_string("zae-limiter");
    zae_str_t  entity = zae_string("key-1");
    zae_str_t  res = zae_string("gpt-4");
    zae_str_t  odd = zae_string("a\"b\x01\xff");

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_unavailable(&b, ZAE_BODY_ZAE, &cause, &stack,
                                         &entity, &res),
           ZAE_OK, "503 body");
    is_str(b.data, "{\"error\": \"rate_limiter_unavailable\", \"message\": "
           "\"ThrottlingException: rate exceeded [stack=zae-limiter, "
           "entity=key-1, resource=gpt-4]\"}", "503 body text");

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_unavailable(&b, ZAE_BODY_ZAE, &odd, NULL, NULL,
                                         NULL),
           ZAE_OK, "503 body, odd cause, no context");
    is_str(b.data, "{\"error\": \"rate_limiter_unavailable\", \"message\": "
           "\"a\\\"b\\u0001\\ufffd [stack=None, entity=None, "
           "resource=None]\"}", "503 body escaped");
}


/* zae_limit_error_format openai and anthropic */

static void
test_provider(zae_mem_t *mem)
{
    int64_t             header;
    zae_buf_t           b;
    zae_limit_status_t  st[2];

    zae_str_t  cause = zae_string("timeout");
    zae_str_t  stack = zae_string("zae-limiter");

    memset(st, 0, sizeof(st));
    zae_str_set(&st[0].entity_id, "k1");
    zae_str_set(&st[0].resource, "gpt-4o");
    zae_str_set(&st[0].limit_name, "rpm");
    zae_str_set(&st[1].entity_id, "k1");
    zae_str_set(&st[1].resource, "gpt-4o");
    zae_str_set(&st[1].limit_name, "tpm");
    st[1].exceeded = 1;
    st[1].retry_after_ms = 1500;

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_rate_limited(&b, ZAE_BODY_OPENAI, "tokens", st,
                                          2, &header),
           ZAE_OK, "openai 429 body");
    is_str(b.data, "{\"error\": {\"message\": \"Rate limit exceeded for "
           "k1/gpt-4o: [tpm]. Retry after 1.5s\", \"type\": \"tokens\", "
           "\"param\": null, \"code\": \"rate_limit_exceeded\"}}",
           "openai 429 body text");
    is_int(header, 2, "openai 429: Retry-After as in the zae shape");

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_rate_limited(&b, ZAE_BODY_ANTHROPIC, "tokens",
                                          st, 2, NULL),
           ZAE_OK, "anthropic 429 body");
    is_str(b.data, "{\"type\": \"error\", \"error\": {\"type\": "
           "\"rate_limit_error\", \"message\": \"Rate limit exceeded for "
           "k1/gpt-4o: [tpm]. Retry after 1.5s\"}}",
           "anthropic 429 body text");

    st[1].exceeded = 0;
    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_rate_limited(&b, ZAE_BODY_OPENAI, "tokens", st,
                                          2, NULL),
           ZAE_ERROR, "provider 429 without a violation refused");

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_unavailable(&b, ZAE_BODY_OPENAI, &cause, &stack,
                                         NULL, NULL),
           ZAE_OK, "openai 503 body");
    is_str(b.data, "{\"error\": {\"message\": \"timeout [stack="
           "zae-limiter, entity=None, resource=None]\", \"type\": "
           "\"server_error\", \"param\": null, \"code\": "
           "\"rate_limiter_unavailable\"}}", "openai 503 body text");

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_provider_unavailable(&b, ZAE_BODY_ANTHROPIC, &cause,
                                         &stack, NULL, NULL),
           ZAE_OK, "anthropic 503 body");
    is_str(b.data, "{\"type\": \"error\", \"error\": {\"type\": "
           "\"api_error\", \"message\": \"timeout [stack=zae-limiter, "
           "entity=None, resource=None]\"}}", "anthropic 503 body text");
}


static void
test_invalid(zae_mem_t *mem)
{
    char       v[128];
    zae_buf_t  b;

    zae_buf_init(&b, mem, 0);
    is_int(zae_body_invalid(&b, "entity_id", (u_char *) "a#b", 3,
                            "cannot contain '#' (reserved delimiter)"),
           ZAE_OK, "400 body");
    is_str(b.data, "{\"error\": \"invalid_request\", \"message\": \"Invalid "
           "entity_id: cannot contain '#' (reserved delimiter)\", "
           "\"field\": \"entity_id\", \"value\": \"a#b\"}", "400 body text");

    memset(v, 'x', 51);
    zae_buf_init(&b, mem, 0);
    (void) zae_body_invalid(&b, "resource", (u_char *) v, 51,
                            "exceeds maximum length of 64");
    ok(strstr((char *) b.data, "\"value\": \"xxxxxxxxxxxxxxxxxxxxxxxxx"
              "xxxxxxxxxxxxxxxxxxxxxxxxx...\"}") != NULL,
       "value of 51 truncated to 50 + ...");

    zae_buf_init(&b, mem, 0);
    (void) zae_body_invalid(&b, "resource", (u_char *) v, 50, "r");
    ok(strstr((char *) b.data, "x\"}") != NULL
       && strstr((char *) b.data, "...") == NULL, "value of 50 kept");

    /* 51 two-byte characters: the cut is after 50 characters */
    {
        int  i;

        for (i = 0; i < 51; i++) {
            memcpy(v + 2 * i, "\xc3\xa9", 2);
        }

        zae_buf_init(&b, mem, 0);
        (void) zae_body_invalid(&b, "entity_id", (u_char *) v, 102, "r");
        ok(strstr((char *) b.data, "\\u00e9\\u00e9...\"}") != NULL
           && strstr((char *) b.data,
                     "\\u00e9\\u00e9\\u00e9...") != NULL,
           "truncation counts characters");
    }

    zae_buf_init(&b, mem, 0);
    (void) zae_body_invalid(&b, "x-tokens-used", (u_char *) "\n\xff", 2,
                            "expected decimal digits only");
    is_str(b.data, "{\"error\": \"invalid_request\", \"message\": \"Invalid "
           "x-tokens-used: expected decimal digits only\", \"field\": "
           "\"x-tokens-used\", \"value\": \"\\n\\ufffd\"}",
           "control and invalid bytes escaped");
}


int
main(void)
{
    zae_mem_t    mem;
    zae_arena_t  arena;

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_float_repr();
    test_rate_limited(&mem);
    test_unavailable(&mem);
    test_provider(&mem);
    test_invalid(&mem);

    zae_arena_free(&arena);

    /* the fast repr of ms / 1000.0 agrees with the general one */

    {
        int64_t      ms, bad, checked;
        uint64_t     x;
        zae_buf_t    fast, slow;
        zae_arena_t  ra;
        zae_mem_t    rm;

        bad = 0;
        checked = 0;
        x = 88172645463325252ULL;

        for (ms = -1; ms < 1000000 + 1000; ms++) {
            int64_t  v;

            v = test_ms(ms, &x);

            zae_arena_init(&ra, 0);
            rm = zae_arena_mem(&ra);
            zae_buf_init(&fast, &rm, 32);
            zae_buf_init(&slow, &rm, 32);

            if (zae_py_ms_repr(&fast, v) != ZAE_OK
                || zae_py_float_repr(&slow, (double) v / 1000.0) != ZAE_OK
                || fast.len != slow.len
                || memcmp(fast.data, slow.data, fast.len) != 0)
            {
                bad++;
            }

            checked++;
            zae_arena_free(&ra);
        }

        is_int(bad, 0, "zae_py_ms_repr == zae_py_float_repr(ms / 1000.0) "
               "for %" PRId64 " values", checked);
    }

    /* the message's "Retry after" is printf's %.1f of ms / 1000.0 */

    {
        char                want[64];
        int64_t             ms, v, bad, checked;
        uint64_t            x;
        zae_buf_t           b;
        zae_mem_t           rm;
        zae_arena_t         ra;
        zae_limit_status_t  st;

        memset(&st, 0, sizeof(st));
        zae_str_set(&st.entity_id, "e");
        zae_str_set(&st.resource, "r");
        zae_str_set(&st.limit_name, "l");
        st.exceeded = 1;

        bad = 0;
        checked = 0;
        x = 88172645463325252ULL;

        for (ms = 0; ms < 1000000 + 100000; ms++) {
            v = test_ms(ms, &x);

            /* every third random one a tie of the decimal: ms % 100 == 50 */

            if (ms >= 1000000 && ms % 3 == 0) {
                v = v / 100 * 100 + 50;
            }

            st.retry_after_ms = v;
            snprintf(want, sizeof(want), "Retry after %.1fs\"",
                     (double) v / 1000.0);

            zae_arena_init(&ra, 0);
            rm = zae_arena_mem(&ra);
            zae_buf_init(&b, &rm, 0);

            if (zae_body_rate_limited(&b, &st, 1, NULL) != ZAE_OK
                || strstr((char *) b.data, want) == NULL)
            {
                if (bad++ == 0) {
                    printf("# ms %" PRId64 ": want %s in %s\n", v, want,
                           (char *) b.data);
                }
            }

            checked++;
            zae_arena_free(&ra);
        }

        is_int(bad, 0, "429 message: Retry after as printf %%.1f of "
               "ms / 1000.0 for %" PRId64 " values", checked);
    }

    return tap_done();
}
