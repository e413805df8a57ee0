
/*
 * Copyright (C) zae-limit authors
 *
 * Limits: the CLI syntax, lists, the display form and the validators.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_limit.h"


#define S(s)  (const u_char *) (s), sizeof(s) - 1


typedef struct {
    const char        *in;
    const char        *name;
    int64_t            capacity;
    int64_t            refill_amount;
    int64_t            period;
} parse_case_t;


typedef struct {
    const char        *in;
    const char        *msg;        /* a fragment of the error message */
} error_case_t;


typedef struct {
    int              (*fn)(const u_char *s, size_t len, zae_err_t *err);
    const char        *fn_name;
    const char        *in;
    size_t             len;        /* 0: strlen(in) */
    const char        *msg;        /* NULL: valid */
} valid_case_t;


static char *repeat(char *buf, int c, size_t n);
static void test_parse(void);
static void test_parse_errors(void);
static void test_list(void);
static void test_format(void);
static void test_validators(void);
static void test_tokens(void);
static void test_validate_limit(void);


static char  long_buf[8][1024];


static char *
repeat(char *buf, int c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';

    return buf;
}


static void
test_parse(void)
{
    size_t       i;
    zae_err_t    err;
    zae_limit_t  l;

    static const parse_case_t  cases[] = {
        { "rpm:100", "rpm", 100, 100, 60 },
        { "tpm:10000/min:15000", "tpm", 15000, 10000, 60 },
        { "rph:1000/hour", "rph", 1000, 1000, 3600 },
        { "x:50/30sec", "x", 50, 50, 30 },
        { "rps:5/sec", "rps", 5, 5, 1 },
        { "rpd:7/2day", "rpd", 7, 7, 172800 },
        { "d:1/day", "d", 1, 1, 86400 },
        { "b:3/5min", "b", 3, 3, 300 },
        { "c:9/hour:20", "c", 20, 9, 3600 },
        { "burst:10:50", "burst", 50, 10, 60 },
        { "low:10:5", "low", 5, 10, 60 },
        { "req-per.min:1", "req-per.min", 1, 1, 60 },
        { "n:007/01min", "n", 7, 7, 60 },
        { "max:1000000000000000/1000000000000000sec", "max",
          1000000000000000LL, 1000000000000000LL, 1000000000000000LL },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err.msg[0] = '\0';

        if (!ok(zae_limit_parse(&l, (const u_char *) cases[i].in,
                                strlen(cases[i].in), &err) == ZAE_OK,
                "parse \"%s\"", cases[i].in))
        {
            printf("# %s\n", err.msg);
            continue;
        }

        ok(l.name.len == strlen(cases[i].name)
           && memcmp(l.name.data, cases[i].name, l.name.len) == 0,
           "\"%s\": name", cases[i].in);
        ok(l.name.data == (u_char *) cases[i].in,
           "\"%s\": name points into the input", cases[i].in);
        is_int(l.capacity, cases[i].capacity, "\"%s\": capacity",
               cases[i].in);
        is_int(l.refill_amount, cases[i].refill_amount,
               "\"%s\": refill_amount", cases[i].in);
        is_int(l.period, cases[i].period, "\"%s\": period", cases[i].in);
    }
}


static void
test_parse_errors(void)
{
    size_t       i;
    zae_err_t    err;
    zae_limit_t  l;

    static const error_case_t  cases[] = {
        { "", "empty limit" },
        { "rpm", "expected \"name:rate[/period][:burst]\"" },
        { ":100", "name cannot be empty" },
        { "rpm:", "rate must be a positive integer" },
        { "rpm:0", "rate must be positive" },
        { "rpm:-1", "rate must be a positive integer" },
        { "rpm:+1", "rate must be a positive integer" },
        { "rpm: 100", "rate must be a positive integer" },
        { "rpm:abc", "rate must be a positive integer" },
        { "rpm:100x", "unexpected \"x\"" },
        { "rpm:100 ", "unexpected \" \"" },
        { "rpm:100/week", "period must be [N]sec, [N]min, [N]hour or [N]day" },
        { "rpm:100/minute", "period must be [N]sec" },
        { "rpm:100/", "period must be [N]sec" },
        { "rpm:100/5", "period must be [N]sec" },
        { "rpm:100/0min", "period must be positive" },
        { "rpm:100/MIN", "period must be [N]sec" },
        { "rpm:100/min:", "burst must be a positive integer" },
        { "rpm:100/min:0", "burst must be positive" },
        { "rpm:100/min:5x", "unexpected \"x\"" },
        { "rpm:100/min:15:3", "unexpected \":3\"" },
        { "rpm:100:min", "burst must be a positive integer" },
        { "rpm:1000000000000001", "rate exceeds 1000000000000000" },
        { "rpm:99999999999999999999999999", "rate exceeds" },
        { "rpm:1/1000000000000000min", "period exceeds" },
        { "rpm:1/99999999999999999999999day", "period exceeds" },
        { "rpm:1:1000000000000001", "burst exceeds" },
        { "wcu:5", "name 'wcu' is a reserved limit name" },
        { "1rpm:5", "name must start with a letter" },
        { "r#m:1", "name cannot contain '#'" },
        { "r/m:1", "name must start with a letter" },
        { "rpm\t:1", "name must start with a letter" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err.msg[0] = '\0';

        is_int(zae_limit_parse(&l, (const u_char *) cases[i].in,
                               strlen(cases[i].in), &err),
               ZAE_ERROR, "reject \"%s\"", cases[i].in);

        if (!ok(strstr(err.msg, cases[i].msg) != NULL,
                "\"%s\": message has \"%s\"", cases[i].in, cases[i].msg))
        {
            printf("# got: %s\n", err.msg);
        }
    }

    /* the quoted value is printable and bounded */
    err.msg[0] = '\0';
    (void) zae_limit_parse(&l, S("r\x01\"m:1"), &err);
    ok(strstr(err.msg, "\"r??m:1\"") != NULL, "non-printables quoted: %s",
       err.msg);

    repeat(long_buf[0], 'a', 600);
    (void) zae_limit_parse(&l, (u_char *) long_buf[0], 600, &err);
    ok(strlen(err.msg) < 200 && strstr(err.msg, "...") != NULL,
       "long value truncated in the message");

    /* a NUL byte is just an invalid character */
    is_int(zae_limit_parse(&l, S("rpm:1\0"), &err), ZAE_ERROR,
           "embedded NUL rejected");
}


static void
test_list(void)
{
    int           i;
    char          buf[1024];
    size_t        n;
    zae_err_t     err;
    zae_limits_t  ls;
    zae_limit_t  *l;

    is_int(zae_limits_parse(&ls, S("rpm:100/min,tpm:10000/min:15000"), &err),
           ZAE_OK, "list of two");
    is_int(ls.nelts, 2, "two limits");
    ok(ls.elts[0].name.len == 3 && memcmp(ls.elts[0].name.data, "rpm", 3) == 0
       && ls.elts[0].capacity == 100 && ls.elts[0].period == 60,
       "first is rpm");
    ok(ls.elts[1].capacity == 15000 && ls.elts[1].refill_amount == 10000,
       "second is tpm with burst");

    l = zae_limits_find(&ls, (u_char *) "tpm", 3);
    ok(l == &ls.elts[1], "find tpm");
    ok(zae_limits_find(&ls, (u_char *) "tp", 2) == NULL, "no prefix match");
    ok(zae_limits_find(&ls, (u_char *) "xyz", 3) == NULL, "find absent");

    is_int(zae_limits_parse(&ls, S("rpm:1"), &err), ZAE_OK, "list of one");
    is_int(ls.nelts, 1, "one limit");

    is_int(zae_limits_parse(&ls, S("rpm:1,rpm:2"), &err), ZAE_ERROR,
           "duplicate rejected");
    is_str(err.msg, "duplicate limit \"rpm\"", "duplicate message");

    is_int(zae_limits_parse(&ls, S(""), &err), ZAE_ERROR, "empty list");
    is_str(err.msg, "empty limit list", "empty list message");
    is_int(zae_limits_parse(&ls, S(",rpm:1"), &err), ZAE_ERROR,
           "leading comma");
    ok(strstr(err.msg, "empty limit in") != NULL, "leading comma message");
    is_int(zae_limits_parse(&ls, S("rpm:1,"), &err), ZAE_ERROR,
           "trailing comma");
    ok(strstr(err.msg, "empty limit in") != NULL, "trailing comma message");
    is_int(zae_limits_parse(&ls, S("rpm:1,,tpm:2"), &err), ZAE_ERROR,
           "double comma");
    is_int(zae_limits_parse(&ls, S("rpm:1, tpm:2"), &err), ZAE_ERROR,
           "space after comma");
    is_int(zae_limits_parse(&ls, S("rpm:1,tpm:x"), &err), ZAE_ERROR,
           "second item invalid");
    ok(strstr(err.msg, "\"tpm:x\"") != NULL, "message names the item: %s",
       err.msg);

    /* 16 limits fit, 17 do not */
    n = 0;

    for (i = 0; i < ZAE_LIMITS_MAX + 1; i++) {
        n += snprintf(buf + n, sizeof(buf) - n, "%sl%d:%d",
                      i ? "," : "", i, i + 1);
        if (i == ZAE_LIMITS_MAX - 1) {
            is_int(zae_limits_parse(&ls, (u_char *) buf, n, &err), ZAE_OK,
                   "%d limits", ZAE_LIMITS_MAX);
            is_int(ls.nelts, ZAE_LIMITS_MAX, "all kept");
        }
    }

    is_int(zae_limits_parse(&ls, (u_char *) buf, n, &err), ZAE_ERROR,
           "%d limits rejected", ZAE_LIMITS_MAX + 1);
    is_str(err.msg, "too many limits, at most 16", "too many message");
}


static void
test_format(void)
{
    size_t        i;
    zae_buf_t     b;
    zae_err_t     err;
    zae_mem_t     mem;
    zae_arena_t   arena;
    zae_limit_t   l;

    static const char  *cases[][2] = {
        { "rpm:1000/min:1500", "rpm: 1,000/min (burst: 1,500)" },
        { "tpm:10000", "tpm: 10,000/min" },
        { "x:50/30sec", "x: 50/30sec" },
        { "rph:1000/hour", "rph: 1,000/hour" },
        { "a:100/sec", "a: 100/sec" },
        { "b:1000000/day", "b: 1,000,000/day" },
        { "c:999/120min", "c: 999/2hour" },
        { "d:12/90sec", "d: 12/90sec" },
        { "e:1/3day:1234567", "e: 1/3day (burst: 1,234,567)" },
        { "f:5/60sec", "f: 5/min" },
        { "g:1000000000000000/1sec", "g: 1,000,000,000,000,000/sec" },
    };

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zae_buf_init(&b, &mem, 0);

        if (zae_limit_parse(&l, (u_char *) cases[i][0], strlen(cases[i][0]),
                            &err) != ZAE_OK)
        {
            ok(0, "parse \"%s\": %s", cases[i][0], err.msg);
            continue;
        }

        is_int(zae_limit_format(&b, &l), ZAE_OK, "format \"%s\"",
               cases[i][0]);
        is_str(b.data, cases[i][1], "display of \"%s\"", cases[i][0]);
    }

    zae_buf_init(&b, &mem, 0);
    zae_str_set(&l.name, "neg");
    l.capacity = -1234;
    l.refill_amount = -1234567;
    l.period = 0;
    (void) zae_limit_format(&b, &l);
    is_str(b.data, "neg: -1,234,567/0sec (burst: -1,234)",
           "invalid values still print");

    zae_arena_free(&arena);
}


static void
test_validators(void)
{
    size_t     i, len;
    zae_err_t  err;
    int        rc;

    static valid_case_t  cases[] = {
        { zae_validate_entity_id, "entity", "key-1", 0, NULL },
        { zae_validate_entity_id, "entity", "0abc", 0, NULL },
        { zae_validate_entity_id, "entity", "sk-proj_x.y:z@w", 0, NULL },
        { zae_validate_entity_id, "entity",
          "550e8400-e29b-41d4-a716-446655440000", 0, NULL },
        { zae_validate_entity_id, "entity", "", 0, "cannot be empty" },
        { zae_validate_entity_id, "entity", "a#b", 0,
          "cannot contain '#' (reserved delimiter)" },
        { zae_validate_entity_id, "entity", "-a", 0,
          "must start with alphanumeric and contain only alphanumeric, "
          "underscore, hyphen, dot, colon, or @ characters" },
        { zae_validate_entity_id, "entity", "_a", 0, "must start with" },
        { zae_validate_entity_id, "entity", "a b", 0, "must start with" },
        { zae_validate_entity_id, "entity", "a/b", 0, "must start with" },
        { zae_validate_entity_id, "entity", "abc\n", 0, "must start with" },
        { zae_validate_entity_id, "entity", "caf\xc3\xa9", 0,
          "must start with" },
        { zae_validate_entity_id, "entity", "a\0b", 3, "must start with" },

        { zae_validate_resource, "resource", "gpt-4", 0, NULL },
        { zae_validate_resource, "resource", "openai/gpt-4", 0, NULL },
        { zae_validate_resource, "resource", "_default_", 0, NULL },
        { zae_validate_resource, "resource", "a.b_c-d/e9", 0, NULL },
        { zae_validate_resource, "resource", "", 0, "cannot be empty" },
        { zae_validate_resource, "resource", "/x", 0,
          "must start with a letter and contain only alphanumeric, "
          "underscore, hyphen, dot, or slash characters" },
        { zae_validate_resource, "resource", "4o", 0, "must start with" },
        { zae_validate_resource, "resource", "_default", 0,
          "must start with" },
        { zae_validate_resource, "resource", "a:b", 0, "must start with" },
        { zae_validate_resource, "resource", "a#b", 0, "cannot contain '#'" },
        { zae_validate_resource_strict, "strict resource", "gpt-4", 0, NULL },
        { zae_validate_resource_strict, "strict resource", "openai/gpt-4", 0,
          NULL },
        { zae_validate_resource_strict, "strict resource", "_default_", 0,
          "must start with a letter" },
        { zae_validate_resource_strict, "strict resource", "", 0,
          "cannot be empty" },

        { zae_validate_limit_name, "limit name", "rpm", 0, NULL },
        { zae_validate_limit_name, "limit name", "req-per.min_2", 0, NULL },
        { zae_validate_limit_name, "limit name", "wcux", 0, NULL },
        { zae_validate_limit_name, "limit name", "WCU", 0, NULL },
        { zae_validate_limit_name, "limit name", "wcu", 0,
          "'wcu' is a reserved limit name" },
        { zae_validate_limit_name, "limit name", "", 0, "cannot be empty" },
        { zae_validate_limit_name, "limit name", "1a", 0,
          "must start with a letter and contain only alphanumeric, "
          "underscore, hyphen, or dot characters" },
        { zae_validate_limit_name, "limit name", "a/b", 0,
          "must start with" },
        { zae_validate_limit_name, "limit name", "a#", 0,
          "cannot contain '#'" },

        { zae_validate_table_name, "table", "zae-limiter", 0, NULL },
        { zae_validate_table_name, "table", "ZAEL-x1", 0, NULL },
        { zae_validate_table_name, "table", "ab", 0, NULL },
        { zae_validate_table_name, "table", "", 0, "cannot be empty" },
        { zae_validate_table_name, "table", "rate_limits", 0,
          "contains underscore, use hyphens instead" },
        { zae_validate_table_name, "table", "my.app", 0,
          "contains period" },
        { zae_validate_table_name, "table", "my app", 0, "contains spaces" },
        { zae_validate_table_name, "table", "1abc", 0,
          "must start with a letter and contain only alphanumeric "
          "characters and hyphens" },
        { zae_validate_table_name, "table", "-abc", 0, "must start with" },
        { zae_validate_table_name, "table", "ab/c", 0, "must start with" },

        { zae_validate_namespace, "namespace", "default", 0, NULL },
        { zae_validate_namespace, "namespace", "team_a", 0, NULL },
        { zae_validate_namespace, "namespace", "__", 0, NULL },
        { zae_validate_namespace, "namespace", "a b.c", 0, NULL },
        { zae_validate_namespace, "namespace", "\xe6\x97\xa5\xe6\x9c\xac", 0,
          NULL },
        { zae_validate_namespace, "namespace", "_", 0, "'_' is reserved" },
        { zae_validate_namespace, "namespace", "", 0, "cannot be empty" },
        { zae_validate_namespace, "namespace", "a/b", 0,
          "cannot contain '/'" },
        { zae_validate_namespace, "namespace", "a#b", 0,
          "cannot contain '#'" },
        { zae_validate_namespace, "namespace", "a\x01", 0,
          "cannot contain control characters" },
        { zae_validate_namespace, "namespace", "a\x7f", 0,
          "cannot contain control characters" },
        { zae_validate_namespace, "namespace", "a\0", 2,
          "cannot contain control characters" },
        { zae_validate_namespace, "namespace", "\xff", 0,
          "must be valid UTF-8" },
        { zae_validate_namespace, "namespace", "\xc3", 0,
          "must be valid UTF-8" },
        { zae_validate_namespace, "namespace", "\xc0\x80", 0,
          "must be valid UTF-8" },
        { zae_validate_namespace, "namespace", "\xed\xa0\x80", 0,
          "must be valid UTF-8" },
        { zae_validate_namespace, "namespace", "\xf4\x90\x80\x80", 0,
          "must be valid UTF-8" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        err.msg[0] = '\0';

        rc = cases[i].fn((const u_char *) cases[i].in, len, &err);

        if (cases[i].msg == NULL) {
            if (!is_int(rc, ZAE_OK, "%s \"%s\" valid", cases[i].fn_name,
                        cases[i].in))
            {
                printf("# %s\n", err.msg);
            }

            continue;
        }

        is_int(rc, ZAE_ERROR, "%s case %zu invalid", cases[i].fn_name, i);

        if (!ok(strstr(err.msg, cases[i].msg) == err.msg,
                "%s case %zu: \"%s\"", cases[i].fn_name, i, cases[i].msg))
        {
            printf("# got: %s\n", err.msg);
        }
    }

    /* lengths */
    is_int(zae_validate_entity_id((u_char *) repeat(long_buf[1], 'a', 256),
                                  256, &err), ZAE_OK, "entity id of 256");
    is_int(zae_validate_entity_id((u_char *) repeat(long_buf[1], 'a', 257),
                                  257, &err), ZAE_ERROR, "entity id of 257");
    is_str(err.msg, "exceeds maximum length of 256", "entity id too long");

    /* Python counts characters: 200 two-byte characters are not too long */
    for (i = 0; i < 200; i++) {
        memcpy(long_buf[2] + 2 * i, "\xc3\xa9", 2);
    }

    is_int(zae_validate_entity_id((u_char *) long_buf[2], 400, &err),
           ZAE_ERROR, "non-ASCII entity id");
    ok(strstr(err.msg, "must start with") == err.msg,
       "non-ASCII: the pattern fails, not the length");

    is_int(zae_validate_resource((u_char *) repeat(long_buf[3], 'r', 64),
                                 64, &err), ZAE_OK, "resource of 64");
    is_int(zae_validate_resource((u_char *) repeat(long_buf[3], 'r', 65),
                                 65, &err), ZAE_ERROR, "resource of 65");
    is_str(err.msg, "exceeds maximum length of 64", "resource too long");

    is_int(zae_validate_limit_name((u_char *) repeat(long_buf[4], 'l', 64),
                                   64, &err), ZAE_OK, "limit name of 64");
    is_int(zae_validate_limit_name((u_char *) repeat(long_buf[4], 'l', 65),
                                   65, &err), ZAE_ERROR, "limit name of 65");
    is_str(err.msg, "exceeds maximum length of 64", "limit name too long");

    is_int(zae_validate_table_name((u_char *) repeat(long_buf[5], 't', 55),
                                   55, &err), ZAE_OK, "table name of 55");
    is_int(zae_validate_table_name((u_char *) repeat(long_buf[5], 't', 56),
                                   56, &err), ZAE_ERROR, "table name of 56");
    is_str(err.msg, "exceeds maximum length of 55", "table name too long");

    is_int(zae_validate_namespace((u_char *) repeat(long_buf[6], 'n', 256),
                                  256, &err), ZAE_OK, "namespace of 256");
    is_int(zae_validate_namespace((u_char *) repeat(long_buf[6], 'n', 257),
                                  257, &err), ZAE_ERROR, "namespace of 257");
    is_str(err.msg, "exceeds maximum length of 256 bytes",
           "namespace too long");

    /* a NULL err is allowed */
    is_int(zae_validate_entity_id((u_char *) "", 0, NULL), ZAE_ERROR,
           "NULL err accepted");
}


static void
test_tokens(void)
{
    size_t     i;
    int64_t    v;
    zae_err_t  err;

    static const struct {
        const char  *in;
        int64_t      want;
    } good[] = {
        { "0", 0 },
        { "1", 1 },
        { "123", 123 },
        { "007", 7 },
        { "1000000000000", 1000000000000LL },
    };

    static const char  *bad[] = {
        "", "-1", "+1", " 1", "1 ", "1.5", "1e3", "0x10", "12a", "1,000",
        "1000000000001", "99999999999999999999999999999",
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = -1;
        is_int(zae_parse_tokens((u_char *) good[i].in, strlen(good[i].in),
                                &v, &err), ZAE_OK, "tokens \"%s\"",
               good[i].in);
        is_int(v, good[i].want, "tokens \"%s\" value", good[i].in);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -1;
        is_int(zae_parse_tokens((u_char *) bad[i], strlen(bad[i]), &v, &err),
               ZAE_ERROR, "tokens \"%s\" rejected: %s", bad[i], err.msg);
        is_int(v, -1, "tokens \"%s\": output untouched", bad[i]);
    }

    (void) zae_parse_tokens(S("1000000000001"), &v, &err);
    is_str(err.msg, "token amount \"1000000000001\" exceeds 1000000000000",
           "too big message");
    (void) zae_parse_tokens(S("-1"), &v, &err);
    is_str(err.msg, "invalid token amount \"-1\": expected decimal digits "
           "only", "sign message");
    (void) zae_parse_tokens(S(""), &v, &err);
    is_str(err.msg, "empty token amount", "empty message");
}


static void
test_validate_limit(void)
{
    zae_err_t     err;
    zae_limit_t   l;
    zae_limits_t  ls;

    zae_str_set(&l.name, "rpm");
    l.capacity = 1;
    l.refill_amount = 1;
    l.period = 1;
    is_int(zae_validate_limit(&l, &err), ZAE_OK, "minimal limit");

    l.capacity = 0;
    is_int(zae_validate_limit(&l, &err), ZAE_ERROR, "capacity 0");
    is_str(err.msg, "limit \"rpm\": capacity must be positive",
           "capacity message");
    l.capacity = 1;

    l.refill_amount = -1;
    is_int(zae_validate_limit(&l, &err), ZAE_ERROR, "refill_amount -1");
    is_str(err.msg, "limit \"rpm\": refill_amount must be positive",
           "refill_amount message");
    l.refill_amount = 1;

    l.period = 0;
    is_int(zae_validate_limit(&l, &err), ZAE_ERROR, "period 0");
    is_str(err.msg, "limit \"rpm\": refill_period_seconds must be positive",
           "period message");
    l.period = 1;

    l.capacity = ZAE_LIMIT_NUM_MAX + 1;
    is_int(zae_validate_limit(&l, &err), ZAE_ERROR, "capacity over max");
    is_str(err.msg, "limit \"rpm\": values must not exceed 1000000000000000",
           "max message");
    l.capacity = INT64_MAX;
    is_int(zae_validate_limit(&l, &err), ZAE_ERROR, "capacity INT64_MAX");
    l.capacity = 1;

    zae_str_set(&l.name, "wcu");
    is_int(zae_validate_limit(&l, &err), ZAE_ERROR, "wcu limit");
    is_str(err.msg, "invalid limit name \"wcu\": 'wcu' is a reserved "
           "limit name", "wcu message");

    ls.nelts = 0;
    zae_str_set(&l.name, "rpm");
    is_int(zae_limits_add(&ls, &l, &err), ZAE_OK, "add rpm");
    is_int(zae_limits_add(&ls, &l, &err), ZAE_ERROR, "add rpm again");
    l.period = 0;
    zae_str_set(&l.name, "tpm");
    is_int(zae_limits_add(&ls, &l, &err), ZAE_ERROR, "add invalid tpm");
    is_int(ls.nelts, 1, "still one limit");
}


int
main(void)
{
    test_parse();
    test_parse_errors();
    test_list();
    test_format();
    test_validators();
    test_tokens();
    test_validate_limit();

    return tap_done();
}
