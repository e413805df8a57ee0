
/*
 * Copyright (C) zae-limit authors
 *
 * The differential check of the fast path's answer decoding, shared by
 * t/unit/test_proto.c and t/fuzz/fuzz_spec_decode.c:
 *
 *   spec_diff_run() decodes one answer with zae_proto_spec_decode() (the
 *   streaming decoder, falling back to the general path) and with
 *   zae_proto_spec_decode_tree() (the general path alone, the reference)
 *   and compares everything a caller reads: decision, bucket, statuses,
 *   retry, flags, error class, status, code, message and description;
 *   and what the streaming decoder's skim takes, with its yajl reader;
 *
 *   spec_diff_gen() writes a random answer from a seeded generator:
 *   random limit sets, numbers at the int64 boundaries and malformed
 *   ones, escapes, unicode, reordered and duplicate keys, unknown and
 *   nested attributes, other error types, then sometimes a truncation
 *   or flipped bytes.
 */


#ifndef _SPEC_DIFF_H_INCLUDED_
#define _SPEC_DIFF_H_INCLUDED_


#include <stdio.h>
#include <string.h>
#include <inttypes.h>

#include "zae_proto.h"
#include "zae_spec.h"


#define SPEC_DIFF_MAX_CONSUME  4


typedef struct {
    zae_ddb_http_resp_t   resp;
    zae_amount_t          consume[SPEC_DIFF_MAX_CONSUME];
    size_t                n;
    int64_t               now_ms;
    char                  crc[16];
    char                  names[SPEC_DIFF_MAX_CONSUME][16];
} spec_diff_case_t;


static int
spec_diff_str(const zae_str_t *a, const zae_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


static int
spec_diff_limit(const zae_bucket_limit_t *a, const zae_bucket_limit_t *b)
{
    return spec_diff_str(&a->name, &b->name) && a->tk == b->tk
           && a->cp == b->cp && a->ra == b->ra && a->rp == b->rp
           && a->tc == b->tc;
}


/* NULL when equal, else what differs */

static const char *
spec_diff_cmp(const zae_spec_result_t *a, const zae_spec_result_t *b)
{
    size_t                     i;
    const zae_limit_status_t  *x, *y;

    if (a->decision != b->decision) {
        return "decision";
    }

    if (a->has_bucket != b->has_bucket || a->app_short != b->app_short
        || a->wcu_refill != b->wcu_refill || a->retry_ms != b->retry_ms)
    {
        return "flags or retry";
    }

    if (a->error.cls != b->error.cls || a->error.status != b->error.status
        || a->error.retryable != b->error.retryable
        || a->error.nreasons != b->error.nreasons)
    {
        return "error class";
    }

    if (!spec_diff_str(&a->error.code, &b->error.code)
        || !spec_diff_str(&a->error.message, &b->error.message))
    {
        return "error code or message";
    }

    if (strcmp(a->error.err.msg, b->error.err.msg) != 0) {
        return "error description";
    }

    if (a->has_bucket) {
        if (!spec_diff_str(&a->bucket.entity_id, &b->bucket.entity_id)
            || !spec_diff_str(&a->bucket.resource, &b->bucket.resource)
            || !spec_diff_str(&a->bucket.parent_id, &b->bucket.parent_id))
        {
            return "bucket strings";
        }

        if (a->bucket.rf != b->bucket.rf
            || a->bucket.shard_count != b->bucket.shard_count
            || a->bucket.has_ttl != b->bucket.has_ttl
            || (a->bucket.has_ttl && a->bucket.ttl != b->bucket.ttl)
            || a->bucket.cascade != b->bucket.cascade
            || a->bucket.has_wcu != b->bucket.has_wcu)
        {
            return "bucket numbers";
        }

        if (a->bucket.has_wcu
            && !spec_diff_limit(&a->bucket.wcu, &b->bucket.wcu))
        {
            return "bucket wcu";
        }

        if (a->bucket.nlimits != b->bucket.nlimits) {
            return "bucket limit count";
        }

        for (i = 0; i < a->bucket.nlimits; i++) {
            if (!spec_diff_limit(&a->bucket.limits[i],
                                 &b->bucket.limits[i]))
            {
                return "bucket limit";
            }
        }
    }

    if (a->nstatuses != b->nstatuses) {
        return "status count";
    }

    for (i = 0; i < a->nstatuses; i++) {
        x = &a->statuses[i];
        y = &b->statuses[i];

        if (!spec_diff_str(&x->entity_id, &y->entity_id)
            || !spec_diff_str(&x->resource, &y->resource)
            || !spec_diff_str(&x->limit_name, &y->limit_name)
            || x->capacity != y->capacity
            || x->refill_amount != y->refill_amount
            || x->refill_period_seconds != y->refill_period_seconds
            || x->available != y->available
            || x->requested != y->requested
            || x->retry_after_ms != y->retry_after_ms
            || x->exceeded != y->exceeded)
        {
            return "status";
        }
    }

    return NULL;
}


/*
 * The skim against yajl (zae_spec.h): NULL when the skim declines or
 * yajl takes the body too and reads the same bucket and error
 */

static const char *
spec_diff_skim(zae_mem_t *mem, spec_diff_case_t *c)
{
    int                 rc1, rc2;
    unsigned            found1, found2, used1, used2;
    zae_spec_result_t   r1, r2;

    memset(&r1, 0, sizeof(zae_spec_result_t));
    memset(&r2, 0, sizeof(zae_spec_result_t));

    rc1 = zae_spec_stream(mem, &c->resp, ZAE_SPEC_SKIM, &r1.bucket,
                          &r1.error, &found1, &used1);

    if (rc1 != ZAE_OK) {
        return NULL;
    }

    rc2 = zae_spec_stream(mem, &c->resp, ZAE_SPEC_YAJL, &r2.bucket,
                          &r2.error, &found2, &used2);

    if (rc2 != ZAE_OK) {
        return "skim took what yajl declines";
    }

    if (used1 != ZAE_SPEC_SKIM || used2 != ZAE_SPEC_YAJL) {
        return "skim or yajl: reader";
    }

    if (found1 != found2) {
        return "skim or yajl: found";
    }

    r1.has_bucket = found1;
    r2.has_bucket = found2;

    return spec_diff_cmp(&r1, &r2);
}


/*
 * Both decoders on one case, and the skim against yajl: NULL when they
 * agree, else what differs; *streamed: 0 the general path decoded the
 * answer, 1 the streaming decoder with yajl, 2 with its skim
 */

static const char *
spec_diff_run(zae_mem_t *mem, spec_diff_case_t *c, int *streamed)
{
    int                 rc1, rc2;
    zae_err_t           err1, err2;
    const char         *diff;
    zae_spec_result_t   r1, r2;

    rc1 = zae_proto_spec_decode(mem, c->consume, c->n, c->now_ms, &c->resp,
                                &r1, &err1);
    rc2 = zae_proto_spec_decode_tree(mem, c->consume, c->n, c->now_ms,
                                     &c->resp, &r2, &err2);

    *streamed = r1.streamed ? 1 + r1.skimmed : 0;

    if (rc1 != rc2) {
        return "return code";
    }

    diff = spec_diff_skim(mem, c);

    if (diff || rc1 != ZAE_OK) {
        return diff;
    }

    return spec_diff_cmp(&r1, &r2);
}


/* the generator: xorshift64*, a fixed seed gives the same cases */

typedef struct {
    uint64_t     s;
    zae_buf_t   *b;
    unsigned     noisy;         /* 0: only what the streaming path takes */
} spec_diff_rng_t;


static uint64_t
spec_diff_next(spec_diff_rng_t *g)
{
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;

    return g->s * 2685821657736338717ULL;
}


static unsigned
spec_diff_pick(spec_diff_rng_t *g, unsigned n)
{
    return (unsigned) (spec_diff_next(g) % n);
}


static void
spec_diff_put(spec_diff_rng_t *g, const char *s)
{
    (void) zae_buf_add_str(g->b, s);
}


/* the valid ones first: SPEC_DIFF_*_OK of them */

#define SPEC_DIFF_NUMBERS_OK  16

static const char  *spec_diff_numbers[] = {
    "0", "1", "-1", "1000", "999", "-1000", "18000", "20000", "60000",
    "1000000", "1795444651132", "1795444651", "9223372036854775807",
    "-9223372036854775808", "007", "-0",
    "9223372036854775808", "-9223372036854775809",
    "99999999999999999999999", "1.5", "1e3", "", " 1", "+1", "-", "0x10",
    "1.0", "-1e-3"
};

/*
 * the first SPEC_DIFF_NAMES_OK are valid limit names; the next ones are
 * well-formed JSON that zae_bucket_attr_field() refuses as limit names
 * (both decoders skip them: the streaming one declines), picked in
 * noisy cases only, as is the broken UTF-8
 */

#define SPEC_DIFF_NAMES_OK  9

static const char  *spec_diff_limit_names[] = {
    "rpm", "tpm", "wcu", "a", "rph", "x_tk", "a-b.c", "tk", "rpm_cp",
    "\\u00e9t\\u00e9", "caf\xc3\xa9", "_", "\\ud83d\\ude00", "a\\\"b",
    "0123456789012345678901234567890123456789012345678901234"
    "5678901234", "\\ud800x", "bad\xfe"
};

#define SPEC_DIFF_STRINGS_OK  11

static const char  *spec_diff_strings[] = {
    "key-1", "gpt-4", "proj-1", "", "a\\\"b\\\\c", "\\u00e9\\u4e2d",
    "\\ud83d\\ude00", "caf\xc3\xa9", "\\n\\t\\u0001", "x",
    "\\/\\b\\f\\r",
    "\\ud800", "bad\xff", "\xed\xa0\x80", "\xc0\xaf", "\\udc00\\ud800"
};


#define spec_diff_nelts(a)  (sizeof(a) / sizeof(a[0]))

/* an entry of a table: from the valid ones only when not noisy */

static const char *
spec_diff_one(spec_diff_rng_t *g, const char **t, unsigned nok, unsigned n)
{
    if (g->noisy && spec_diff_pick(g, 4) == 0) {
        return t[spec_diff_pick(g, n)];
    }

    return t[spec_diff_pick(g, nok)];
}

static const char  *spec_diff_types[] = {
    "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
    "ConditionalCheckFailedException",
    "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException:x",
    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "com.amazonaws.dynamodb.v20120810#ValidationException",
    "com.amazon.coral.service#SerializationException",
    "ThrottlingException", "Whatever", ""
};


/* a typed value: mostly the type wanted, sometimes another */

static void
spec_diff_value(spec_diff_rng_t *g, const char *want)
{
    unsigned  r;
    char      buf[160];

    r = g->noisy ? spec_diff_pick(g, 8 * g->noisy) : 8 + spec_diff_pick(g, 32);

    if (r == 0) {
        spec_diff_put(g, "{\"S\":\"x\"}");
        return;
    }

    if (r == 1) {
        spec_diff_put(g, "{\"NULL\":true}");
        return;
    }

    if (r == 2) {
        spec_diff_put(g, "{\"N\":5}");
        return;
    }

    if (r == 3) {
        spec_diff_put(g, "{\"M\":{\"a\":{\"N\":\"1\"}}}");
        return;
    }

    if (r == 4) {
        spec_diff_put(g, "{}");
        return;
    }

    if (r == 5) {
        spec_diff_put(g, "{\"N\":\"1\",\"S\":\"1\"}");
        return;
    }

    if (r == 6) {
        spec_diff_put(g, "\"1\"");
        return;
    }

    if (r == 7) {
        spec_diff_put(g, "{\"BOOL\":\"true\"}");
        return;
    }

    if (want[0] == 'N') {
        if (r < 20) {
            (void) snprintf(buf, sizeof(buf), "{\"N\":\"%" PRId64 "\"}",
                            (int64_t) (spec_diff_next(g) % 4000000) - 1000);

        } else {
            (void) snprintf(buf, sizeof(buf), "{\"N\":\"%s\"}",
                            spec_diff_one(g, spec_diff_numbers,
                                          SPEC_DIFF_NUMBERS_OK,
                                          spec_diff_nelts(spec_diff_numbers)));
        }

    } else if (want[0] == 'S') {
        (void) snprintf(buf, sizeof(buf), "{\"S\":\"%s\"}",
                        spec_diff_one(g, spec_diff_strings,
                                      SPEC_DIFF_STRINGS_OK,
                                      spec_diff_nelts(spec_diff_strings)));

    } else if (want[0] == 'B') {
        (void) snprintf(buf, sizeof(buf), "{\"BOOL\":%s}",
                        spec_diff_pick(g, 2) ? "true" : "false");

    } else { /* 'Z': nullable */
        (void) snprintf(buf, sizeof(buf), "%s",
                        !g->noisy || spec_diff_pick(g, 2)
                        ? "{\"NULL\":true}" : "{\"NULL\":false}");
    }

    spec_diff_put(g, buf);
}


#define SPEC_DIFF_MAX_ATTRS  400

typedef struct {
    char          name[128];
    const char   *type;          /* "N", "S", "B", "Z" (NULL), "X" raw */
    const char   *raw;
} spec_diff_attr_t;


static void
spec_diff_item(spec_diff_rng_t *g, spec_diff_attr_t *attrs, size_t *pn)
{
    size_t             i, j, n, nl;
    char               gen[16];
    unsigned           f;
    const char        *name;
    spec_diff_attr_t   t;

    static const char  *sfx[] = { "tk", "cp", "ra", "rp", "tc" };
    static const char  *fixed[] = { "entity_id", "resource", "parent_id",
                                    "rf", "shard_count", "ttl", "cascade" };
    static const char  *ftype[] = { "S", "S", "S", "N", "N", "N", "B" };
    static const char  *others[] = {
        "PK\":{\"S\":\"ns/BUCKET#key-1#gpt-4#0\"}",
        "SK\":{\"S\":\"#STATE\"}",
        "GSI2PK\":{\"S\":\"ns/RESOURCE#gpt-4\"}",
        "GSI4SK\":{\"S\":\"BUCKET#key-1#gpt-4#0\"}",
        "bin\":{\"B\":\"AAEC\"}",
        "flag\":{\"BOOL\":false}",
        "nul\":{\"NULL\":true}",
        "b_\":{\"N\":\"1\"}",
        "b__tk\":{\"N\":\"1\"}",
        "l_rpm_cp\":{\"N\":\"20\"}",
        "\\u00e9\":{\"S\":\"x\"}",
        "b_orphan_cp\":{\"N\":\"7\"}",
        "total\":{\"N\":\"12\"}",
        "meta\":{\"M\":{\"a\":{\"S\":\"b\"},\"a\":{\"S\":\"c\"}}}",
        "list\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}",
        "ss\":{\"SS\":[\"a\",\"b\"]}",
        "b_orphan_cp\":{\"S\":\"x\"}",
        "weird\":{\"Q\":\"1\"}"
    };

    n = 0;

    /* limits, wcu mostly among them */

    nl = spec_diff_pick(g, 20) == 0 ? 60 + spec_diff_pick(g, 8)
                                    : spec_diff_pick(g, 4);

    for (i = 0; i <= nl && n + 5 < SPEC_DIFF_MAX_ATTRS - 40; i++) {
        if (i == nl) {
            if (spec_diff_pick(g, 8) == 0) {
                break;
            }

            name = "wcu";

        } else if (nl > 8) {
            (void) snprintf(gen, sizeof(gen), "l%zu", i);
            name = gen;

        } else {
            name = spec_diff_one(g, spec_diff_limit_names,
                                 SPEC_DIFF_NAMES_OK,
                                 spec_diff_nelts(spec_diff_limit_names));
        }

        for (f = 0; f < 5; f++) {
            if (spec_diff_pick(g, 12) == 0) {
                continue;               /* a missing field reads as 0 */
            }

            (void) snprintf(attrs[n].name, sizeof(attrs[n].name),
                            "b_%s_%s", name, sfx[f]);
            attrs[n].type = "N";
            attrs[n].raw = NULL;
            n++;
        }
    }

    for (i = 0; i < 7; i++) {
        if (spec_diff_pick(g, 6) == 0) {
            continue;
        }

        (void) snprintf(attrs[n].name, sizeof(attrs[n].name), "%s",
                        fixed[i]);
        attrs[n].type = (i == 2 || i == 5) && spec_diff_pick(g, 4) == 0
                        ? "Z" : ftype[i];
        attrs[n].raw = NULL;
        n++;
    }

    j = spec_diff_pick(g, 8);

    for (i = 0; i < j; i++) {
        attrs[n].name[0] = '\0';
        attrs[n].type = "X";
        attrs[n].raw = others[spec_diff_pick(g, g->noisy
                                                   ? spec_diff_nelts(others)
                                                   : 13)];
        n++;
    }

    /* a duplicate now and then */

    if (n && g->noisy && spec_diff_pick(g, 10) == 0) {
        attrs[n] = attrs[spec_diff_pick(g, (unsigned) n)];
        n++;
    }

    /* reorder */

    if (spec_diff_pick(g, 2)) {
        for (i = n; i > 1; i--) {
            j = spec_diff_pick(g, (unsigned) i);
            t = attrs[i - 1];
            attrs[i - 1] = attrs[j];
            attrs[j] = t;
        }
    }

    *pn = n;
}


static void
spec_diff_put_item(spec_diff_rng_t *g)
{
    size_t             i, n;
    spec_diff_attr_t   attrs[SPEC_DIFF_MAX_ATTRS];

    spec_diff_item(g, attrs, &n);

    spec_diff_put(g, "{");

    for (i = 0; i < n; i++) {
        spec_diff_put(g, i ? ",\"" : "\"");

        if (attrs[i].raw) {
            spec_diff_put(g, attrs[i].raw);
            continue;
        }

        spec_diff_put(g, attrs[i].name);
        spec_diff_put(g, "\":");
        spec_diff_value(g, attrs[i].type);
    }

    spec_diff_put(g, "}");
}


/*
 * One case into c (body in b, from b->mem); the consume names are
 * taken from the common limit names
 */

static void
spec_diff_gen(uint64_t seed, zae_buf_t *b, spec_diff_case_t *c)
{
    size_t            i, pos;
    unsigned          r;
    spec_diff_rng_t   g;

    static const unsigned  statuses[] = { 200, 200, 200, 400, 400, 400,
                                          500, 413, 0, 999 };
    static const char     *names[] = { "rpm", "tpm", "a", "rph", "x_tk",
                                       "wcu" };

    g.s = seed * 0x9e3779b97f4a7c15ULL + 1;
    g.b = b;

    (void) spec_diff_next(&g);

    g.noisy = spec_diff_pick(&g, 2) ? 0 : 1 + spec_diff_pick(&g, 6);

    memset(c, 0, sizeof(spec_diff_case_t));

    c->resp.status = statuses[spec_diff_pick(&g, sizeof(statuses)
                                                 / sizeof(statuses[0]))];

    if (c->resp.status == 200) {
        r = spec_diff_pick(&g, 20);

        spec_diff_put(&g, "{");

        if (r == 0) {
            spec_diff_put(&g, "\"ConsumedCapacity\":{\"CapacityUnits\":1},");

        } else if (r == 1) {
            spec_diff_put(&g, "\"Item\":{},");
        }

        if (r != 2) {
            spec_diff_put(&g, "\"Attributes\":");

            if (r == 3) {
                spec_diff_put(&g, "null");

            } else {
                spec_diff_put_item(&g);
            }
        }

        if (r == 4) {
            spec_diff_put(&g, ",\"Attributes\":{}");
        }

        spec_diff_put(&g, "}");

    } else {
        r = spec_diff_pick(&g, 16);

        spec_diff_put(&g, "{");

        if (r != 0) {
            spec_diff_put(&g, r == 1 ? "\"code\":\"" : r == 2 ? "\"Code\":\""
                                                   : "\"__type\":\"");
            spec_diff_put(&g, r > 10 ? spec_diff_types[spec_diff_pick(&g,
                                          sizeof(spec_diff_types)
                                          / sizeof(spec_diff_types[0]))]
                                     : spec_diff_types[0]);
            spec_diff_put(&g, "\",");
        }

        if (r == 3) {
            spec_diff_put(&g, "\"__type\":5,");
        }

        spec_diff_put(&g, spec_diff_pick(&g, 4) ? "\"message\":"
                                                : "\"Message\":");
        spec_diff_put(&g, spec_diff_pick(&g, 8)
                          ? "\"The conditional request failed\""
                          : "\"a\\u0001b\"");

        r = spec_diff_pick(&g, 10);

        if (r < 7) {
            spec_diff_put(&g, ",\"Item\":");
            spec_diff_put_item(&g);

        } else if (r == 7) {
            spec_diff_put(&g, ",\"Item\":null");
        }

        spec_diff_put(&g, "}");

        if (spec_diff_pick(&g, 10) == 0) {
            zae_str_set(&c->resp.error_type,
                        "ConditionalCheckFailedException:http://x/");
        }
    }

    /* damage */

    r = g.noisy ? spec_diff_pick(&g, 12) : 12;

    if (b->len && b->data && r == 0) {
        b->len = spec_diff_pick(&g, (unsigned) b->len);

    } else if (b->len && b->data && r == 1) {
        for (i = 0; i < 1 + spec_diff_pick(&g, 3); i++) {
            pos = spec_diff_pick(&g, (unsigned) b->len);
            b->data[pos] ^= (u_char) (1u << spec_diff_pick(&g, 8));
        }

    } else if (r == 2) {
        spec_diff_put(&g, " x");

    } else if (r == 3) {
        spec_diff_put(&g, " \n");
    }

    c->resp.body.data = b->data;
    c->resp.body.len = b->len;

    r = spec_diff_pick(&g, 10);

    if (r == 0) {
        (void) snprintf(c->crc, sizeof(c->crc), "%u",
                        zae_crc32(b->data, b->len));
        c->resp.crc32.data = (u_char *) c->crc;
        c->resp.crc32.len = strlen(c->crc);

    } else if (r == 1) {
        zae_str_set(&c->resp.crc32, "12345");
    }

    c->n = 1 + spec_diff_pick(&g, SPEC_DIFF_MAX_CONSUME - 1);

    for (i = 0; i < c->n; i++) {
        (void) snprintf(c->names[i], sizeof(c->names[i]), "%s",
                        names[(i + spec_diff_pick(&g, 6)) % 5]);
        c->consume[i].name.data = (u_char *) c->names[i];
        c->consume[i].name.len = strlen(c->names[i]);
        c->consume[i].amount = spec_diff_pick(&g, 4) ? 1 + spec_diff_pick(&g,
                                                                     30)
                                                     : 0;
    }

    c->now_ms = 1795444651132LL + (int64_t) spec_diff_pick(&g, 8000) - 1000;
}


#endif /* _SPEC_DIFF_H_INCLUDED_ */
