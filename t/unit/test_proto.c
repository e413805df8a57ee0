
/*
 * Copyright (C) zae-limit authors
 *
 * zae_proto: the acquire protocol's request bodies (exact expressions,
 * names and values) and the decisions taken on example answers, with
 * the numbers of docs/table-format.md 3 and 6.
 */


#include "tap.h"
#include "zae_proto.h"
#include "zae_bucket.h"
#include "spec_diff.h"


#define NS  "szXjZ6M1yVc"
#define RF  1795444651132LL


static zae_arena_t  arena;
static zae_mem_t    mem;


/*
 * the example bucket of docs/table-format.md 4.4 (child key-1 of
 * proj-1, no ttl)
 */

#define BUCKET_ITEM(tk_rpm, wcu_tk, shards, extra)                           \
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/BUCKET#key-1#gpt-4#0\"},"                  \
    "\"SK\":{\"S\":\"#STATE\"},\"entity_id\":{\"S\":\"key-1\"},"             \
    "\"resource\":{\"S\":\"gpt-4\"},\"rf\":{\"N\":\"1795444651132\"},"       \
    "\"cascade\":{\"BOOL\":true},\"parent_id\":{\"S\":\"proj-1\"},"          \
    "\"shard_count\":{\"N\":\"" shards "\"},"                                \
    "\"b_rpm_tk\":{\"N\":\"" tk_rpm "\"},"                                   \
    "\"b_rpm_cp\":{\"N\":\"20000\"},\"b_rpm_ra\":{\"N\":\"20000\"},"         \
    "\"b_rpm_rp\":{\"N\":\"60000\"},\"b_rpm_tc\":{\"N\":\"2000\"},"          \
    "\"b_tpm_tk\":{\"N\":\"2750000\"},\"b_tpm_cp\":{\"N\":\"3000000\"},"     \
    "\"b_tpm_ra\":{\"N\":\"3000000\"},\"b_tpm_rp\":{\"N\":\"3600000\"},"     \
    "\"b_tpm_tc\":{\"N\":\"250000\"},"                                       \
    "\"b_wcu_tk\":{\"N\":\"" wcu_tk "\"},"                                   \
    "\"b_wcu_cp\":{\"N\":\"1000000\"},\"b_wcu_ra\":{\"N\":\"1000000\"},"     \
    "\"b_wcu_rp\":{\"N\":\"1000\"},\"b_wcu_tc\":{\"N\":\"1000\"}" extra ","  \
    "\"GSI2PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"},"                     \
    "\"GSI2SK\":{\"S\":\"BUCKET#key-1#0\"},"                                 \
    "\"GSI3PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},"                       \
    "\"GSI3SK\":{\"S\":\"BUCKET#gpt-4#0\"},"                                 \
    "\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"                                    \
    "\"GSI4SK\":{\"S\":\"BUCKET#key-1#gpt-4#0\"}}"

#define CCF(item)                                                            \
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"                        \
    "ConditionalCheckFailedException\","                                     \
    "\"message\":\"The conditional request failed\"" item "}"


static zae_str_t  table = zae_string("zae-limiter");
static zae_str_t  ns = zae_string(NS);


static zae_av_t *
parse(const char *json, size_t len)
{
    zae_av_t   *root;
    zae_err_t   err;

    if (zae_json_parse(&mem, (const u_char *) json, len, NULL, &root, &err)
        != ZAE_OK)
    {
        printf("# parse: %s: %.*s\n", err.msg, (int) len, json);
        return NULL;
    }

    return root;
}


/* the body of b equals the JSON text want, key order ignored */

static void
body_is(zae_buf_t *b, const char *want, const char *what)
{
    zae_av_t  *got, *exp;

    got = parse((char *) b->data, b->len);
    exp = parse(want, strlen(want));

    if (!ok(got && exp && zae_av_equal(got, exp), "%s", what)) {
        printf("#   got:  %.*s\n#   want: %s\n", (int) b->len,
               (char *) b->data, want);
    }
}


static zae_ddb_http_resp_t *
resp(unsigned status, const char *body)
{
    zae_ddb_http_resp_t  *r;

    r = zae_calloc(&mem, sizeof(zae_ddb_http_resp_t));
    r->status = status;
    r->body.data = (u_char *) body;
    r->body.len = strlen(body);

    return r;
}


static zae_bucket_ref_t *
ref(const char *entity, int64_t shard)
{
    zae_bucket_ref_t  *r;

    r = zae_calloc(&mem, sizeof(zae_bucket_ref_t));
    r->table = table;
    r->ns = ns;
    r->entity_id.data = (u_char *) entity;
    r->entity_id.len = strlen(entity);
    zae_str_set(&r->resource, "gpt-4");
    r->shard = shard;

    return r;
}


static zae_amount_t *
amounts(const char *n1, int64_t a1, const char *n2, int64_t a2)
{
    zae_amount_t  *a;

    a = zae_calloc(&mem, 2 * sizeof(zae_amount_t));
    a[0].name.data = (u_char *) n1;
    a[0].name.len = strlen(n1);
    a[0].amount = a1;

    if (n2) {
        a[1].name.data = (u_char *) n2;
        a[1].name.len = strlen(n2);
        a[1].amount = a2;
    }

    return a;
}


static zae_bucket_item_t *
bucket(const char *json)
{
    zae_av_t           *item;
    zae_err_t           err;
    zae_bucket_item_t  *b;

    b = zae_calloc(&mem, sizeof(zae_bucket_item_t));

    if (zae_item_parse(&mem, (const u_char *) json, strlen(json), &item,
                       &err)
        != ZAE_OK
        || zae_bucket_item_decode(&mem, item, b, &err) != ZAE_OK)
    {
        printf("# bucket: %s\n", err.msg);
    }

    return b;
}


static zae_limits_t *
limits(const char *s)
{
    zae_err_t      err;
    zae_limits_t  *ls;

    ls = zae_calloc(&mem, sizeof(zae_limits_t));

    if (zae_limits_parse(ls, (const u_char *) s, strlen(s), &err) != ZAE_OK)
    {
        printf("# limits: %s\n", err.msg);
    }

    return ls;
}


/* an entity of the slow path: its limits and its bucket item (JSON) */

static void
entity(zae_proto_entity_t *e, const char *id, const char *resource,
    const char *lims, zae_level_e source, const char *item)
{
    memset(e, 0, sizeof(zae_proto_entity_t));
    e->entity_id.data = (u_char *) id;
    e->entity_id.len = strlen(id);
    e->resource.data = (u_char *) resource;
    e->resource.len = strlen(resource);
    e->limits = limits(lims);
    e->source = source;
    e->bucket = bucket(item);
}


static void
test_spec_request(void)
{
    zae_buf_t      b;
    zae_err_t      err;
    zae_amount_t  *a;

    zae_buf_init(&b, &mem, 0);
    a = amounts("rpm", 1, "tpm", 500);

    ok(zae_proto_spec_request(&b, ref("key-1", 0), a, 2, RF, &err)
       == ZAE_OK, "speculative request");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"ADD #n0 :v0, #n1 :v1, #n2 :v2, #n3 :v3, "
        "#n4 :v4, #n5 :v5\","
        "\"ConditionExpression\":\"attribute_exists(PK) AND #n0 >= :v1 "
        "AND #n2 >= :v3 AND #n4 >= :v5 AND (attribute_not_exists(#n6) "
        "OR #n6 > :v6)\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"b_rpm_tk\","
        "\"#n1\":\"b_rpm_tc\",\"#n2\":\"b_tpm_tk\",\"#n3\":\"b_tpm_tc\","
        "\"#n4\":\"b_wcu_tk\",\"#n5\":\"b_wcu_tc\",\"#n6\":\"ttl\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"-1000\"},"
        "\":v1\":{\"N\":\"1000\"},\":v2\":{\"N\":\"-500000\"},"
        "\":v3\":{\"N\":\"500000\"},\":v4\":{\"N\":\"-1000\"},"
        "\":v5\":{\"N\":\"1000\"},\":v6\":{\"N\":\"1795444651\"}},"
        "\"ReturnValues\":\"ALL_NEW\","
        "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}",
        "speculative UpdateItem body");

    zae_buf_init(&b, &mem, 0);
    a = amounts("req-per.min", 2, NULL, 0);
    ok(zae_proto_spec_request(&b, ref("key-1", 3), a, 1, 999, &err)
       == ZAE_OK, "speculative request, limit name with - and .");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#3\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"ADD #n0 :v0, #n1 :v1, #n2 :v2, #n3 :v3\","
        "\"ConditionExpression\":\"attribute_exists(PK) AND #n0 >= :v1 "
        "AND #n2 >= :v3 AND (attribute_not_exists(#n4) OR #n4 > :v4)\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"b_req-per.min_tk\","
        "\"#n1\":\"b_req-per.min_tc\",\"#n2\":\"b_wcu_tk\","
        "\"#n3\":\"b_wcu_tc\",\"#n4\":\"ttl\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"-2000\"},"
        "\":v1\":{\"N\":\"2000\"},\":v2\":{\"N\":\"-1000\"},"
        "\":v3\":{\"N\":\"1000\"},\":v4\":{\"N\":\"0\"}},"
        "\"ReturnValues\":\"ALL_NEW\","
        "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}",
        "shard 3, indexed placeholders, now_s floor");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_spec_request(&b, ref("key-1", 0), amounts("wcu", 1, NULL,
                              0), 1, RF, &err) == ZAE_ERROR,
       "wcu refused: %s", err.msg);
    ok(zae_proto_spec_request(&b, ref("key-1", 0), amounts("rpm", 1, "rpm",
                              2), 2, RF, &err) == ZAE_ERROR,
       "duplicate refused: %s", err.msg);
    ok(zae_proto_spec_request(&b, ref("key-1", 0), amounts("rpm", -1, NULL,
                              0), 1, RF, &err) == ZAE_ERROR,
       "negative amount refused: %s", err.msg);
    ok(zae_proto_spec_request(&b, ref("key-1", 0), amounts("", 1, NULL, 0),
                              1, RF, &err) == ZAE_ERROR,
       "empty name refused: %s", err.msg);
    ok(zae_proto_spec_request(&b, ref("key-1", 0), NULL, 0, RF, &err)
       == ZAE_ERROR, "nothing to consume refused");
}


/*
 * The direct writer (zae_proto_spec_request) against the general
 * builders (zae_proto_spec_request_generic): the same result, and on
 * success the same bytes, NUL included, for any input.
 */

#define SPEC_MAX_STR   1024

typedef struct {
    u_char             table[SPEC_MAX_STR];
    u_char             ns[SPEC_MAX_STR];
    u_char             entity[SPEC_MAX_STR];
    u_char             resource[SPEC_MAX_STR];
    u_char             names[ZAE_SCHEMA_MAX_LIMITS + 1][SPEC_MAX_STR];
    zae_amount_t       consume[ZAE_SCHEMA_MAX_LIMITS + 1];
    size_t             n;
    int64_t            now_ms;
    zae_bucket_ref_t   ref;
    const char        *prefix;     /* already in the buffer */
} spec_case_t;


static uint64_t  spec_seed = 0x9e3779b97f4a7c15ULL;
static int       spec_diags;
static int       spec_built;      /* cases both ways built */


static uint64_t
spec_rand(void)
{
    spec_seed ^= spec_seed << 13;
    spec_seed ^= spec_seed >> 7;
    spec_seed ^= spec_seed << 17;

    return spec_seed;
}


static size_t
spec_below(size_t n)
{
    return n ? (size_t) (spec_rand() % n) : 0;
}


static void
spec_set(zae_str_t *s, u_char *buf, const char *text)
{
    s->len = strlen(text);
    s->data = memcpy(buf, text, s->len);
}


/* the example: key-1, gpt-4, rpm:1 */

static void
spec_init(spec_case_t *c)
{
    memset(c, 0, sizeof(spec_case_t));

    spec_set(&c->ref.table, c->table, "zae-limiter");
    spec_set(&c->ref.ns, c->ns, NS);
    spec_set(&c->ref.entity_id, c->entity, "key-1");
    spec_set(&c->ref.resource, c->resource, "gpt-4");
    spec_set(&c->consume[0].name, c->names[0], "rpm");
    c->consume[0].amount = 1;
    c->n = 1;
    c->now_ms = RF;
}


static int
spec_build(spec_case_t *c, int generic, zae_mem_t *m, zae_buf_t *b,
    zae_err_t *err)
{
    zae_buf_init(b, m, 0);

    if (c->prefix) {
        (void) zae_buf_add_str(b, c->prefix);
    }

    if (generic) {
        return zae_proto_spec_request_generic(b, &c->ref, c->consume, c->n,
                                              c->now_ms, err);
    }

    return zae_proto_spec_request(b, &c->ref, c->consume, c->n, c->now_ms,
                                  err);
}


/* 1 when both ways agree; the first disagreements are shown */

static int
spec_same(spec_case_t *c)
{
    int          rc1, rc2, same;
    size_t       i;
    zae_buf_t    b1, b2;
    zae_err_t    e1, e2;
    zae_mem_t    m;
    zae_arena_t  a;

    zae_arena_init(&a, 0);
    m = zae_arena_mem(&a);

    rc1 = spec_build(c, 0, &m, &b1, &e1);
    rc2 = spec_build(c, 1, &m, &b2, &e2);

    same = (rc1 == rc2);

    if (same && rc1 == ZAE_OK) {
        same = !b1.failed && !b2.failed && b1.len == b2.len
               && memcmp(b1.data, b2.data, b1.len + 1) == 0;
        spec_built++;
    }

    if (!same && spec_diags++ < 3) {
        printf("# n %zu, now %" PRId64 ", shard %" PRId64 ": rc %d/%d\n",
               c->n, c->now_ms, c->ref.shard, rc1, rc2);

        if (rc1 == ZAE_OK && rc2 == ZAE_OK) {
            for (i = 0; i < b1.len && i < b2.len; i++) {
                if (b1.data[i] != b2.data[i]) {
                    break;
                }
            }

            printf("#   at %zu:\n#   got:  %.*s\n#   want: %.*s\n", i,
                   (int) (b1.len - i < 80 ? b1.len - i : 80),
                   (char *) b1.data + i,
                   (int) (b2.len - i < 80 ? b2.len - i : 80),
                   (char *) b2.data + i);
        }
    }

    zae_arena_free(&a);

    return same;
}


/* valid UTF-8 of a code point, for the boundaries below */

static size_t
spec_utf8(u_char *p, uint32_t c)
{
    if (c < 0x80) {
        p[0] = (u_char) c;
        return 1;
    }

    if (c < 0x800) {
        p[0] = (u_char) (0xc0 | (c >> 6));
        p[1] = (u_char) (0x80 | (c & 0x3f));
        return 2;
    }

    if (c < 0x10000) {
        p[0] = (u_char) (0xe0 | (c >> 12));
        p[1] = (u_char) (0x80 | ((c >> 6) & 0x3f));
        p[2] = (u_char) (0x80 | (c & 0x3f));
        return 3;
    }

    p[0] = (u_char) (0xf0 | (c >> 18));
    p[1] = (u_char) (0x80 | ((c >> 12) & 0x3f));
    p[2] = (u_char) (0x80 | ((c >> 6) & 0x3f));
    p[3] = (u_char) (0x80 | (c & 0x3f));
    return 4;
}


static const uint32_t  spec_points[] = {
    0x80, 0xe9, 0x7ff, 0x800, 0x20ac, 0xd7ff, 0xe000, 0xfffd, 0xffff,
    0x10000, 0x1f600, 0x10ffff
};

static const char  *spec_bad[] = {
    "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xe0\x80\x80",
    "\xe0\xa0", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80",
    "\xf0\x9f\x98", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xfe",
    "\xff", "\xc3\x28", "\xe2\x82\x28"
};


/* random text of up to max bytes: plain, escapable, unicode, broken */

static size_t
spec_text(u_char *p, size_t max)
{
    size_t       len, k, want;
    const char  *bad;

    want = spec_below(4) ? spec_below(17) : spec_below(max + 1);
    len = 0;

    while (len < want) {
        k = 0;

        switch (spec_rand() % 6) {

        case 0:
            p[len] = (u_char) "abcXYZ019_-.:#/"[spec_below(15)];
            k = 1;
            break;

        case 1:
            p[len] = (u_char)
                     "\"\\\b\f\n\r\t\x7f\x01\x1f\x00/"[spec_below(12)];
            k = 1;
            break;

        case 2:
            p[len] = (u_char) spec_rand();
            k = 1;
            break;

        case 3:
            if (max - len >= 4) {
                k = spec_utf8(p + len,
                              spec_points[spec_below(sizeof(spec_points)
                                                     / sizeof(uint32_t))]);
            }

            break;

        case 4:
            if (max - len >= 4) {
                k = spec_utf8(p + len,
                              0x80 + (uint32_t) spec_below(0x10ff80));

                if (k == 3 && (p[len] == 0xed && p[len + 1] >= 0xa0)) {
                    k = 0;     /* a surrogate: invalid, kept apart */
                }
            }

            break;

        default:
            bad = spec_bad[spec_below(sizeof(spec_bad) / sizeof(char *))];

            if (max - len >= strlen(bad)) {
                k = strlen(bad);
                memcpy(p + len, bad, k);
            }
        }

        if (k == 0) {
            break;
        }

        len += k;
    }

    return len;
}


static int64_t
spec_pick(const int64_t *v, size_t n)
{
    if (spec_below(4) == 0) {
        return (int64_t) spec_rand();
    }

    return v[spec_below(n)];
}


static const int64_t  spec_amounts[] = {
    0, 1, 2, 9, 10, 999, 1000, 123456789, ZAE_TOKENS_MAX - 1, ZAE_TOKENS_MAX,
    ZAE_TOKENS_MAX + 1, -1
};

static const int64_t  spec_nows[] = {
    0, 1, -1, 999, 1000, 1001, -999, -1000, -1001, RF, -RF, INT64_MAX,
    INT64_MIN, INT64_MAX - 999
};

static const int64_t  spec_shards[] = {
    0, 1, 2, 9, 10, 255, -1, INT64_MAX, INT64_MIN
};

#define spec_nelts(a)  (sizeof(a) / sizeof(a[0]))


static void
spec_random(spec_case_t *c)
{
    size_t  i, r;

    spec_init(c);

    r = spec_below(16);

    c->n = r < 8 ? 1 + spec_below(3)
                 : r < 15 ? 1 + spec_below(ZAE_SCHEMA_MAX_LIMITS)
                          : spec_below(ZAE_SCHEMA_MAX_LIMITS + 2);

    for (i = 0; i < c->n; i++) {
        c->consume[i].name.data = c->names[i];

        if (spec_below(4)) {
            c->consume[i].name.len = (size_t) snprintf((char *) c->names[i],
                                                       SPEC_MAX_STR,
                                                       "l-%zu.x", i);
        } else {
            c->consume[i].name.len = spec_text(c->names[i],
                                               spec_below(8)
                                               ? ZAE_NAME_MAX_LEN
                                               : ZAE_NAME_MAX_LEN + 4);
        }

        c->consume[i].amount = spec_below(16)
                               ? (int64_t) spec_below(ZAE_TOKENS_MAX + 1)
                               : spec_pick(spec_amounts,
                                           spec_nelts(spec_amounts));
    }

    c->ref.table.len = spec_text(c->table, spec_below(32)
                                           ? ZAE_TABLE_NAME_MAX_LEN : 256);
    c->ref.ns.len = spec_text(c->ns, ZAE_NAMESPACE_MAX_LEN);
    c->ref.entity_id.len = spec_text(c->entity, spec_below(8)
                                                ? ZAE_ENTITY_ID_MAX_LEN
                                                : SPEC_MAX_STR);
    c->ref.resource.len = spec_text(c->resource, spec_below(8)
                                                 ? ZAE_NAME_MAX_LEN
                                                 : SPEC_MAX_STR);
    c->ref.shard = spec_pick(spec_shards, spec_nelts(spec_shards));
    c->now_ms = spec_pick(spec_nows, spec_nelts(spec_nows));

    if (spec_below(16) == 0) {
        c->prefix = spec_below(2) ? "{" : "[1,";
    }
}


static void
test_spec_writer(void)
{
    int           bad;
    size_t        i, j, k;
    uint32_t      cp;
    spec_case_t  *c;

    c = malloc(sizeof(spec_case_t));
    if (c == NULL) {
        ok(0, "spec writer: out of memory");
        return;
    }

    /* every byte, and every boundary code point, in each string */

    bad = 0;

    for (k = 0; k < 5; k++) {
        for (i = 0; i < 256 + spec_nelts(spec_points) + spec_nelts(spec_bad);
             i++)
        {
            zae_str_t  *s;

            spec_init(c);

            s = k == 0 ? &c->ref.table : k == 1 ? &c->ref.ns
                : k == 2 ? &c->ref.entity_id : k == 3 ? &c->ref.resource
                : &c->consume[0].name;

            memcpy(s->data, "ab", 2);
            s->len = 2;

            if (i < 256) {
                s->data[s->len++] = (u_char) i;

            } else if (i < 256 + spec_nelts(spec_points)) {
                cp = spec_points[i - 256];
                s->len += spec_utf8(s->data + s->len, cp);

            } else {
                j = strlen(spec_bad[i - 256 - spec_nelts(spec_points)]);
                memcpy(s->data + s->len,
                       spec_bad[i - 256 - spec_nelts(spec_points)], j);
                s->len += j;
            }

            /* at the end of the string too, where a sequence is cut */

            if (i & 1) {
                s->data[s->len++] = 'z';
            }

            bad += !spec_same(c);
        }
    }

    ok(bad == 0, "spec writer: every byte and code point in table, ns, "
       "entity, resource and name (%d differ)", bad);

    /* 1..max limits, max lengths, escapable names, amount boundaries */

    bad = 0;

    for (i = 1; i <= ZAE_SCHEMA_MAX_LIMITS; i++) {
        spec_init(c);
        c->n = i;

        memset(c->entity, '"', ZAE_ENTITY_ID_MAX_LEN);
        c->ref.entity_id.len = ZAE_ENTITY_ID_MAX_LEN;
        memset(c->resource, 0x01, ZAE_NAME_MAX_LEN);
        c->ref.resource.len = ZAE_NAME_MAX_LEN;
        memset(c->ns, 0xff, ZAE_NAMESPACE_MAX_LEN);
        c->ref.ns.len = ZAE_NAMESPACE_MAX_LEN;
        memset(c->table, '\\', ZAE_TABLE_NAME_MAX_LEN);
        c->ref.table.len = ZAE_TABLE_NAME_MAX_LEN;
        c->ref.shard = INT64_MIN;
        c->now_ms = INT64_MIN;

        for (j = 0; j < i; j++) {
            memset(c->names[j], "\n\x7f\xc3-."[j % 5], ZAE_NAME_MAX_LEN);
            c->names[j][0] = (u_char) ('A' + j % 26);
            c->names[j][1] = (u_char) ('A' + j / 26);
            c->consume[j].name.data = c->names[j];
            c->consume[j].name.len = ZAE_NAME_MAX_LEN - j % 3;
            c->consume[j].amount = spec_amounts[j % 10];
        }

        bad += !spec_same(c);

        c->now_ms = INT64_MAX;
        c->ref.shard = INT64_MAX;
        bad += !spec_same(c);

        /* every byte six when escaped, the longest numbers */

        memset(c->entity, 0x1f, SPEC_MAX_STR);
        c->ref.entity_id.len = SPEC_MAX_STR;
        memset(c->resource, 0x80, SPEC_MAX_STR);
        c->ref.resource.len = SPEC_MAX_STR;
        memset(c->table, 0x7f, SPEC_MAX_STR);
        c->ref.table.len = SPEC_MAX_STR;
        c->ref.shard = INT64_MIN;
        c->now_ms = INT64_MIN;

        for (j = 0; j < i; j++) {
            memset(c->names[j] + 2, 0x01, ZAE_NAME_MAX_LEN - 2);
            c->consume[j].name.len = ZAE_NAME_MAX_LEN;
            c->consume[j].amount = ZAE_TOKENS_MAX;
        }

        bad += !spec_same(c);
    }

    ok(bad == 0, "spec writer: 1..%d limits at their longest (%d differ)",
       ZAE_SCHEMA_MAX_LIMITS, bad);

    /* amounts, now and shards on their boundaries */

    bad = 0;

    for (i = 0; i < spec_nelts(spec_amounts); i++) {
        for (j = 0; j < spec_nelts(spec_nows); j++) {
            for (k = 0; k < spec_nelts(spec_shards); k++) {
                spec_init(c);
                spec_set(&c->consume[1].name, c->names[1], "req-per.min");
                c->consume[1].amount = spec_amounts[i];
                c->n = 2;
                c->now_ms = spec_nows[j];
                c->ref.shard = spec_shards[k];

                bad += !spec_same(c);
            }
        }
    }

    ok(bad == 0, "spec writer: amounts, now and shards on boundaries "
       "(%d differ)", bad);

    /* refusals: both refuse */

    bad = 0;

    spec_init(c);
    c->n = 0;
    bad += !spec_same(c);
    c->n = ZAE_SCHEMA_MAX_LIMITS + 1;
    bad += !spec_same(c);
    spec_init(c);
    c->ref.table.len = 0;
    bad += !spec_same(c);
    spec_init(c);
    spec_set(&c->consume[0].name, c->names[0], "wcu");
    bad += !spec_same(c);
    spec_init(c);
    c->consume[1] = c->consume[0];
    c->n = 2;
    bad += !spec_same(c);

    ok(bad == 0, "spec writer: the same refusals (%d differ)", bad);

    /* random inputs, fixed seed */

    bad = 0;
    spec_built = 0;

    for (i = 0; i < 5000; i++) {
        spec_random(c);
        bad += !spec_same(c);
    }

    ok(bad == 0 && spec_built > 2500, "spec writer: 5000 random inputs "
       "(%d built, %d differ)", spec_built, bad);

    /* out of memory at every step: an error or the whole body */

    spec_init(c);
    spec_set(&c->ref.entity_id, c->entity, "k\"\xc3\xa9\xf0\x9f\x98\x80");
    spec_set(&c->consume[1].name, c->names[1], "t\npm");
    c->consume[1].amount = ZAE_TOKENS_MAX;
    c->n = 2;
    c->prefix = "{";

    bad = 0;
    spec_built = 0;

    for (i = 1; i < 4096; i += 16) {     /* 0: no limit */
        int          rc1, rc2;
        zae_buf_t    b1, b2;
        zae_err_t    e;
        zae_mem_t    m1, m2;
        zae_arena_t  a1, a2;

        zae_arena_init(&a1, i);
        zae_arena_init(&a2, 0);
        m1 = zae_arena_mem(&a1);
        m2 = zae_arena_mem(&a2);

        rc1 = spec_build(c, 0, &m1, &b1, &e);
        rc2 = spec_build(c, 1, &m2, &b2, &e);

        if (rc2 != ZAE_OK
            || (rc1 == ZAE_OK
                && (b1.len != b2.len
                    || memcmp(b1.data, b2.data, b1.len + 1) != 0))
            || (rc1 != ZAE_OK && spec_built))
        {
            bad++;
        }

        spec_built = (rc1 == ZAE_OK);

        zae_arena_free(&a1);
        zae_arena_free(&a2);
    }

    ok(bad == 0 && spec_built, "spec writer: out of memory is an error, "
       "never a short body (%d bad)", bad);

    free(c);
}


static void
test_spec_decode(void)
{
    zae_err_t           err;
    zae_amount_t       *a;
    zae_spec_result_t   res;
    zae_limit_status_t *st;

    a = amounts("rpm", 1, "tpm", 250);

    ok(zae_proto_spec_decode(&mem, a, 2, RF, resp(200,
           "{\"Attributes\":" BUCKET_ITEM("18000", "999000", "1", "") "}"),
           &res, &err) == ZAE_OK, "success decodes");
    is_int(res.decision, ZAE_SPEC_OK, "OK");
    ok(res.has_bucket && res.bucket.cascade, "ALL_NEW cascade");
    is_int(res.bucket.shard_count, 1, "ALL_NEW shard_count");
    ok(res.bucket.parent_id.len == 6
       && memcmp(res.bucket.parent_id.data, "proj-1", 6) == 0,
       "ALL_NEW parent_id");
    is_int(zae_floor_div(res.bucket.limits[0].tk, 1000), 18,
           "remaining rpm for the headers");

    ok(zae_proto_spec_decode(&mem, a, 2, RF, resp(400, CCF("")), &res, &err)
       == ZAE_OK && res.decision == ZAE_SPEC_BUCKET_MISSING,
       "CCF without Item: BUCKET_MISSING");

    ok(zae_proto_spec_decode(&mem, a, 2, RF, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "500", "1", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_WCU_EXHAUSTED
       && res.app_short == 0, "wcu 500 < 1000: WCU_EXHAUSTED");

    ok(zae_proto_spec_decode(&mem, a, 2, RF + 1, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "500", "1", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_REFILL_WOULD_HELP
       && res.wcu_refill, "wcu 500, 1 ms refills 1000: no shard doubling");

    ok(zae_proto_spec_decode(&mem, a, 2, RF + 1, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "500", "1",
                              ",\"b_wcu_rp\":{\"N\":\"1000000\"}"))),
           &res, &err)
       == ZAE_OK && res.decision == ZAE_SPEC_ERROR,
       "a duplicate attribute in ALL_OLD: ERROR, not a decision");

    a = amounts("rpm", 19, NULL, 0);

    ok(zae_proto_spec_decode(&mem, a, 1, RF + 1, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "0", "1", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_REJECT
       && res.wcu_refill, "wcu refillable but rpm short: fast REJECT");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "0", "1", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_WCU_EXHAUSTED
       && res.app_short == 1, "both short: WCU_EXHAUSTED, app_short");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "4", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_SHARD_RETRY,
       "app short with 4 shards: SHARD_RETRY");

    ok(zae_proto_spec_decode(&mem, amounts("rph", 1, NULL, 0), 1, RF,
           resp(400, CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "1",
                                                  ""))),
           &res, &err) == ZAE_OK && res.decision == ZAE_SPEC_LIMIT_ABSENT,
       "requested limit absent: LIMIT_ABSENT");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "1",
                                        ",\"ttl\":{\"N\":\"1795444651\"}"))),
           &res, &err) == ZAE_OK && res.decision == ZAE_SPEC_EXPIRED,
       "ttl <= now: EXPIRED");

    /* no time passed: 18 tokens, 19 requested, deficit 1000 milli */

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "1", ""))), &res,
           &err) == ZAE_OK, "fast reject decodes");
    is_int(res.decision, ZAE_SPEC_REJECT, "REJECT");
    is_int(res.nstatuses, 1, "one status per requested limit");
    st = &res.statuses[0];
    ok(st->entity_id.len == 5 && st->resource.len == 5
       && st->limit_name.len == 3, "status names");
    is_int(st->capacity, 20, "status capacity (whole)");
    is_int(st->refill_amount, 20, "status refill_amount");
    is_int(st->refill_period_seconds, 60, "status period");
    is_int(st->available, 18, "status available");
    is_int(st->requested, 19, "status requested");
    ok(st->exceeded, "status exceeded");
    is_int(st->retry_after_ms, 3001, "retry (1000*60000//20000)+1");
    is_int(res.retry_ms, 3001, "primary retry");

    /* 3 s later the refill adds exactly 1000 milli: the slow path helps */

    ok(zae_proto_spec_decode(&mem, a, 1, RF + 3000, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "1", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_REFILL_WOULD_HELP,
       "refill would satisfy: REFILL_WOULD_HELP");

    ok(zae_proto_spec_decode(&mem, a, 1, RF + 2999, resp(400,
           CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "1", ""))), &res,
           &err) == ZAE_OK && res.decision == ZAE_SPEC_REJECT
       && res.retry_ms == 4, "2999 ms: short by 1 milli, retry 4 ms");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(400,
           "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
           "ProvisionedThroughputExceededException\",\"message\":\"slow\"}"),
           &res, &err) == ZAE_OK && res.decision == ZAE_SPEC_ERROR
       && res.error.cls == ZAE_DDB_ERR_THROTTLING,
       "throttling: ERROR with its class");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(200, "{}"), &res, &err)
       == ZAE_OK && res.decision == ZAE_SPEC_ERROR,
       "200 without Attributes: ERROR");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(200, "{\"Attr"), &res,
                             &err)
       == ZAE_OK && res.decision == ZAE_SPEC_ERROR
       && res.error.cls == ZAE_DDB_ERR_MALFORMED, "garbage: MALFORMED");

    ok(zae_proto_spec_decode(&mem, a, 1, RF, resp(400,
           CCF(",\"Item\":{\"b_rpm_tk\":{\"S\":\"x\"}}")), &res, &err)
       == ZAE_OK && res.decision == ZAE_SPEC_ERROR,
       "malformed ALL_OLD: ERROR");
}


/*
 * Both decoders on one answer: they agree, and the streaming decoder
 * took it as wanted: SPEC_TREE not, SPEC_YAJL with yajl, SPEC_SKIM with
 * its skim (whose result yajl's must equal); the streaming one's result
 */

#define SPEC_TREE  0
#define SPEC_YAJL  1
#define SPEC_SKIM  2

static const char  *spec_readers[] = { "the general path", "yajl", "skim" };

static zae_spec_result_t *
spec_both(unsigned status, const char *body, zae_amount_t *a, size_t n,
    int64_t now_ms, int want, const char *what)
{
    int                 rc1, rc2, got;
    zae_err_t           err;
    const char         *diff;
    spec_diff_case_t    c;
    zae_spec_result_t  *r1, r2;

    r1 = zae_calloc(&mem, sizeof(zae_spec_result_t));

    rc1 = zae_proto_spec_decode(&mem, a, n, now_ms, resp(status, body), r1,
                                &err);
    rc2 = zae_proto_spec_decode_tree(&mem, a, n, now_ms, resp(status, body),
                                     &r2, &err);

    diff = (rc1 == rc2) ? spec_diff_cmp(r1, &r2) : "return code";

    if (diff == NULL) {
        memset(&c, 0, sizeof(spec_diff_case_t));
        c.resp = *resp(status, body);
        diff = spec_diff_skim(&mem, &c);
    }

    got = r1->streamed ? 1 + r1->skimmed : 0;

    if (!ok(diff == NULL && got == want,
            "%s: same as the general path, read by %s", what,
            spec_readers[want]))
    {
        printf("#   %s differs, read by %s, err \"%s\"\n",
               diff ? diff : "nothing", spec_readers[got],
               r1->error.err.msg);
    }

    return r1;
}


#define ITEM_MIN                                                             \
    "{\"entity_id\":{\"S\":\"key-1\"},"                                      \
    "\"rf\":{\"N\":\"1795444651132\"},"                                      \
    "\"b_rpm_tk\":{\"N\":\"18000\"},\"b_rpm_cp\":{\"N\":\"20000\"},"       \
    "\"b_rpm_ra\":{\"N\":\"20000\"},\"b_rpm_rp\":{\"N\":\"60000\"},"       \
    "\"b_wcu_tk\":{\"N\":\"999000\"},"                                       \
    "\"b_wcu_cp\":{\"N\":\"1000000\"},"                                      \
    "\"b_wcu_ra\":{\"N\":\"1000000\"},\"b_wcu_rp\":{\"N\":\"1000\"}"

#define ALL_NEW(extra)  "{\"Attributes\":" ITEM_MIN extra "}}"


static void
test_spec_stream(void)
{
    int                 i, nl;
    char               *body;
    zae_buf_t           b;
    zae_amount_t       *a;
    zae_spec_result_t  *r;

    a = amounts("rpm", 1, NULL, 0);

    /* the two answers of the fast path */

    r = spec_both(200, "{\"Attributes\":" BUCKET_ITEM("18000", "999000", "1",
                                                      "") "}",
                  a, 1, RF, SPEC_SKIM, "ALL_NEW of the example bucket");
    ok(r->decision == ZAE_SPEC_OK && r->bucket.nlimits == 2
       && r->bucket.has_wcu && r->bucket.wcu.tk == 999000
       && r->bucket.limits[1].cp == 3000000 && r->bucket.rf == RF
       && r->bucket.resource.len == 5 && r->bucket.cascade
       && r->bucket.parent_id.len == 6, "ALL_NEW fields");

    r = spec_both(400, CCF(",\"Item\":" BUCKET_ITEM("18000", "999000", "1",
                                                    "")),
                  amounts("rpm", 19, NULL, 0),
                  1, RF, SPEC_SKIM, "CCF with ALL_OLD");
    ok(r->decision == ZAE_SPEC_REJECT && r->error.cls
       == ZAE_DDB_ERR_CONDITIONAL && r->statuses[0].available == 18,
       "CCF: REJECT from the streamed ALL_OLD");

    r = spec_both(400, CCF(""), a, 1, RF, SPEC_SKIM, "CCF without Item");
    is_int(r->decision, ZAE_SPEC_BUCKET_MISSING, "BUCKET_MISSING");

    r = spec_both(400, "{\"Item\":" ITEM_MIN "},\"message\":\"m\","
                  "\"__type\":\"ConditionalCheckFailedException\"}",
                  a, 1, RF, SPEC_SKIM, "CCF with Item before __type");
    ok(r->decision == ZAE_SPEC_REFILL_WOULD_HELP || r->decision
       == ZAE_SPEC_REJECT, "classified");

    /* key order, unknown attributes, missing fields, escapes, unicode */

    spec_both(200, "{\"Attributes\":{\"b_rpm_cp\":{\"N\":\"5\"},"
              "\"zz\":{\"SS\":[\"a\"]},\"b_rpm_tk\":{\"N\":\"-7\"}}}",
              a, 1, RF, SPEC_TREE, "a set attribute: the general path");
    r = spec_both(200, "{\"Attributes\":{\"b_rpm_cp\":{\"N\":\"5\"},"
                  "\"x\":{\"B\":\"AA==\"},\"y\":{\"NULL\":true},"
                  "\"z\":{\"BOOL\":false},\"b_rpm_tk\":{\"N\":\"-7\"},"
                  "\"b_lone_cp\":{\"N\":\"1\"},\"b_a_tk_tk\":{\"N\":\"3\"}}}",
                  a, 1, RF, SPEC_SKIM, "fields before _tk, unknown attributes");
    ok(r->bucket.nlimits == 2 && r->bucket.limits[0].tk == -7
       && r->bucket.limits[0].cp == 5 && r->bucket.limits[0].rp == 0
       && r->bucket.limits[1].name.len == 4 && !r->bucket.has_wcu
       && r->bucket.shard_count == 1, "limits in _tk order, missing 0");

    r = spec_both(200, ALL_NEW(",\"resource\":{\"S\":\"caf\\u00e9 \\\"\\ud83d"
                               "\\ude00\\\\\"},\"parent_id\":{\"NULL\":true},"
                               "\"ttl\":{\"NULL\":true},\"shard_count\":"
                               "{\"N\":\"0\"}"),
                  a, 1, RF, SPEC_YAJL, "escapes, NULL parent and ttl");
    ok(r->bucket.resource.len == 12
       && memcmp(r->bucket.resource.data, "caf\xc3\xa9 \"\xf0\x9f\x98\x80\\",
                 12) == 0
       && r->bucket.parent_id.len == 0 && !r->bucket.has_ttl
       && r->bucket.shard_count == 1, "unescaped UTF-8, defaults");

    r = spec_both(200, ALL_NEW(",\"b_wcu_tc\":{\"N\":"
                               "\"-9223372036854775808\"},\"ttl\":{\"N\":"
                               "\"9223372036854775807\"}"),
                  a, 1, RF, SPEC_SKIM, "int64 boundaries");
    ok(r->bucket.wcu.tc == INT64_MIN && r->bucket.ttl == INT64_MAX,
       "boundaries kept");

    /* what the general path reports, with its messages */

    r = spec_both(400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                  "ProvisionedThroughputExceededException\","
                  "\"message\":\"s\"}",
                  a, 1, RF, SPEC_TREE, "throttling");
    is_int(r->error.cls, ZAE_DDB_ERR_THROTTLING, "throttling class");
    r = spec_both(400, "{\"__type\":\"x#ValidationException\"}",
                  a, 1, RF, SPEC_TREE,
                  "validation");
    is_int(r->error.cls, ZAE_DDB_ERR_VALIDATION, "validation class");
    r = spec_both(200, "{}", a, 1, RF, SPEC_TREE, "no Attributes");
    is_str(r->error.err.msg, "update answer without attributes",
           "no Attributes: message");
    spec_both(200, "{\"Attributes\":null}",
              a, 1, RF, SPEC_TREE, "Attributes null");
    r = spec_both(200, ALL_NEW(",\"b_rpm_tc\":{\"N\":\"1.5\"}"),
                  a, 1, RF, SPEC_TREE,
                  "a fraction");
    is_str(r->error.err.msg, "attribute \"b_rpm_tc\": not an integer \"1.5\"",
           "fraction: message");
    r = spec_both(200, ALL_NEW(",\"b_rpm_tc\":{\"N\":"
                               "\"9223372036854775808\"}"),
                  a, 1, RF, SPEC_TREE, "a huge number");
    is_str(r->error.err.msg, "attribute \"b_rpm_tc\": integer out of range "
           "\"9223372036854775808\"", "huge: message");
    spec_both(200, ALL_NEW(",\"b_rpm_tc\":{\"N\":\"\"}"), a, 1, RF, SPEC_TREE,
              "an empty number");
    r = spec_both(200, ALL_NEW(",\"b_rpm_tc\":{\"S\":\"1\"}"),
                  a, 1, RF, SPEC_TREE,
                  "a wrong type");
    is_str(r->error.err.msg, "attribute \"b_rpm_tc\": number expected",
           "wrong type: message");
    spec_both(200, ALL_NEW(",\"cascade\":{\"S\":\"true\"}"),
              a, 1, RF, SPEC_TREE,
              "cascade not a boolean");
    spec_both(200, ALL_NEW(",\"rf\":{\"N\":\"2\"}"), a, 1, RF, SPEC_TREE,
              "a duplicate attribute");
    spec_both(200, ALL_NEW(",\"q\":{\"S\":\"1\",\"N\":\"1\"}"),
              a, 1, RF, SPEC_TREE,
              "two type tags");
    spec_both(200, ALL_NEW(",\"q\":{\"S\":\"1\",\"S\":\"1\"}"),
              a, 1, RF, SPEC_TREE,
              "a duplicate type tag");
    spec_both(200, ALL_NEW(",\"q\":{\"X\":\"1\"}"), a, 1, RF, SPEC_TREE,
              "an unknown type tag");
    spec_both(200, ALL_NEW(",\"q\":{\"M\":{\"a\":{\"M\":{\"b\":{\"L\":"
              "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]"
              "]]]]]]]]]]]]]]]]]]]]]}}}}}"),
              a, 1, RF, SPEC_TREE, "deep nesting");
    spec_both(200, "{\"Attributes\":" ITEM_MIN,
              a, 1, RF, SPEC_TREE, "truncated");
    spec_both(200, "garbage", a, 1, RF, SPEC_TREE, "garbage");
    spec_both(200, ALL_NEW("") " x", a, 1, RF, SPEC_TREE, "trailing garbage");
    spec_both(200, "{\"Attributes\":{\"b_\xff_tk\":{\"N\":\"1\"}}}", a, 1, RF,
              SPEC_TREE, "invalid UTF-8 in a key");
    spec_both(200, "{\"Attributes\":{\"b_x_tk\":{\"N\":\"1\"},"
              "\"resource\":{\"S\":\"\\ud800\"}}}", a, 1, RF, SPEC_YAJL,
              "a lone surrogate escape (yajl turns it into a valid byte)");
    spec_both(200, "{\"Attributes\":{\"b_0123456789012345678901234567890123"
              "45678901234567890123456789abcdefghij_tk\":{\"N\":\"1\"}}}",
              a, 1, RF, SPEC_TREE, "a limit name over 64 bytes");
    spec_both(400, CCF(",\"Item\":{\"b_rpm_tk\":{\"S\":\"x\"}}"),
              a, 1, RF, SPEC_TREE,
              "a malformed ALL_OLD");
    spec_both(400, CCF(",\"Item\":null"), a, 1, RF, SPEC_TREE, "Item null");
    spec_both(400, CCF(",\"Item\":{\"a\":{\"Q\":1}}"), a, 1, RF, SPEC_TREE,
              "an invalid Item: BUCKET_MISSING on the general path");
    spec_both(0, CCF(""), a, 1, RF, SPEC_TREE, "a status that is not HTTP");

    /* more limits than ZAE_SCHEMA_MAX_LIMITS, and just that many */

    for (nl = 64; nl <= 65; nl++) {
        zae_buf_init(&b, &mem, 4096);
        (void) zae_buf_add_str(&b, "{\"Attributes\":"
                                   "{\"b_wcu_tk\":{\"N\":\"1\"}");

        for (i = 0; i < nl; i++) {
            (void) zae_buf_printf(&b, ",\"b_l%d_tk\":{\"N\":\"%d\"}", i, i);
        }

        (void) zae_buf_add_str(&b, "}}");
        body = (char *) zae_strdup(&mem, b.data, b.len);

        r = spec_both(200, body, a, 1, RF,
                      nl == 64 ? SPEC_SKIM : SPEC_TREE, "64 or 65 limits");

        if (nl == 64) {
            ok(r->decision == ZAE_SPEC_OK && r->bucket.nlimits == 64
               && r->bucket.limits[63].tk == 63, "64 limits and wcu taken");

        } else {
            is_str(r->error.err.msg, "bucket item has too many limits (66)",
                   "65 limits and wcu refused");
        }
    }
}


/*
 * The streaming decoder against the general path over generated answers
 * (spec_diff.h), with a fixed seed: no difference, and most well-formed
 * answers streamed
 */

#define SPEC_DIFF_CASES  30000

static void
test_spec_differential(void)
{
    int                streamed;
    size_t             i, ndiff, nstreamed, nskimmed, nok, nccf;
    zae_buf_t          b;
    zae_mem_t          m;
    zae_arena_t        a;
    const char        *what;
    spec_diff_case_t   c;

    ndiff = 0;
    nstreamed = 0;
    nskimmed = 0;
    nok = 0;
    nccf = 0;

    for (i = 0; i < SPEC_DIFF_CASES; i++) {
        zae_arena_init(&a, 0);
        m = zae_arena_mem(&a);
        zae_buf_init(&b, &m, 1024);

        spec_diff_gen(i, &b, &c);

        what = spec_diff_run(&m, &c, &streamed);

        if (what) {
            if (ndiff++ < 5) {
                printf("# case %zu: %s differs: status %u body %.*s\n", i,
                       what, c.resp.status, (int) c.resp.body.len,
                       (char *) c.resp.body.data);
            }

        } else if (streamed) {
            nstreamed++;
            nskimmed += (streamed == SPEC_SKIM);

            if (c.resp.status == 200) {
                nok++;

            } else {
                nccf++;
            }
        }

        zae_arena_free(&a);
    }

    is_int(ndiff, 0, "%d generated answers: streaming = general path",
           SPEC_DIFF_CASES);
    ok(nok > SPEC_DIFF_CASES / 20 && nccf > SPEC_DIFF_CASES / 20,
       "streamed: %zu (%zu ALL_NEW, %zu condition failures)", nstreamed,
       nok, nccf);
    ok(nskimmed > nstreamed / 4 && nskimmed < nstreamed,
       "skimmed: %zu of the %zu streamed", nskimmed, nstreamed);
}


/*
 * The skim on the usual answers, whitespace between every token, and
 * every truncation and one-byte change of them: the usual ones are
 * skimmed; every variant decodes as the general path decodes it, and
 * what the skim takes yajl reads the same (spec_diff_run())
 */

static const char  *spec_skim_bytes = " \t\n\r\v\f\"\\{}[],:0-tfnx\x01\x7f\x80";

static void
test_spec_skim(void)
{
    int                streamed;
    size_t             i, j, k, nb, nvar, ndiff, nskim;
    u_char            *p;
    zae_mem_t          m;
    zae_arena_t        ar;
    const char        *what, *body;
    zae_amount_t      *a;
    spec_diff_case_t   c;

    static const struct {
        unsigned       status;
        const char    *body;
    } usual[] = {
        { 200, "{\"Attributes\":" BUCKET_ITEM("18000", "999000", "1", "")
               "}" },
        { 200, ALL_NEW(",\"ttl\":{\"N\":\"1795448251\"},"
                       "\"parent_id\":{\"NULL\":true},"
                       "\"cascade\":{\"BOOL\":false}") },
        { 400, CCF(",\"Item\":" BUCKET_ITEM("0", "999000", "2", "")) },
        { 400, CCF("") },
        { 200, " {\n \"Attributes\" : {\t\"rf\" : {\"N\":\"1\"} ,"
               "\"b_rpm_tk\":{ \"N\" : \"5\" }\r\n} }\n" }
    };

    static const char  *odd[] = {
        ALL_NEW(",\"resource\":{\"S\":\"a\\\"b\"}"),
        ALL_NEW(",\"resource\":{\"S\":\"caf\xc3\xa9\"}"),
        ALL_NEW(",\"x\":{\"N\":1}"),
        ALL_NEW(",\"x\":[]"),
        ALL_NEW(","),
        ALL_NEW("") "\v",
        ALL_NEW(",\"x\":{\"BOOL\":tru}"),
        "{\"Attributes\":" ITEM_MIN "}"
    };

    a = amounts("rpm", 1, "tpm", 100);
    nb = strlen(spec_skim_bytes);
    nvar = 0;
    ndiff = 0;

    for (i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
        body = usual[i].body;

        memset(&c, 0, sizeof(spec_diff_case_t));
        c.resp.status = usual[i].status;
        c.resp.body.data = (u_char *) body;
        c.resp.body.len = strlen(body);
        c.n = 2;
        memcpy(c.consume, a, 2 * sizeof(zae_amount_t));
        c.now_ms = RF + 500;

        zae_arena_init(&ar, 0);
        m = zae_arena_mem(&ar);
        what = spec_diff_run(&m, &c, &streamed);
        ok(what == NULL && streamed == SPEC_SKIM,
           "usual answer %zu: skimmed, as the general path reads it", i);
        zae_arena_free(&ar);

        /* every truncation, every byte changed to or preceded by another */

        for (j = 0; j <= c.resp.body.len; j++) {
            for (k = 0; k <= 2 * nb; k++) {
                zae_arena_init(&ar, 0);
                m = zae_arena_mem(&ar);

                p = zae_alloc(&m, c.resp.body.len + 1);
                memcpy(p, body, c.resp.body.len);

                if (k == 2 * nb) {
                    c.resp.body.len = j;

                } else if (k >= nb) {
                    if (j == c.resp.body.len) {
                        zae_arena_free(&ar);
                        continue;
                    }

                    p[j] = (u_char) spec_skim_bytes[k - nb];

                } else {
                    memmove(p + j + 1, p + j, c.resp.body.len - j);
                    p[j] = (u_char) spec_skim_bytes[k];
                    c.resp.body.len++;
                }

                c.resp.body.data = p;
                what = spec_diff_run(&m, &c, &streamed);
                nvar++;

                if (what && ndiff++ < 5) {
                    printf("# %s differs: status %u body %.*s\n", what,
                           c.resp.status, (int) c.resp.body.len,
                           (char *) c.resp.body.data);
                }

                c.resp.body.len = strlen(body);
                zae_arena_free(&ar);
            }
        }
    }

    is_int(ndiff, 0, "%zu variants of the usual answers: skim = yajl = "
           "general path", nvar);

    /* what the skim leaves to yajl */

    nskim = 0;

    for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {

        zae_arena_init(&ar, 0);
        m = zae_arena_mem(&ar);
        memset(&c, 0, sizeof(spec_diff_case_t));
        c.resp.status = 200;
        c.resp.body.data = (u_char *) odd[i];
        c.resp.body.len = strlen(odd[i]);
        c.n = 1;
        c.consume[0] = a[0];
        c.now_ms = RF;
        what = spec_diff_run(&m, &c, &streamed);
        nskim += (what != NULL || streamed == SPEC_SKIM);
        zae_arena_free(&ar);
    }

    is_int(nskim, 0, "escapes, UTF-8, numbers, arrays, trailing comma, "
           "\\v, bad literal, truncation: not skimmed, same result");
}


static void
test_bump(void)
{
    zae_buf_t  b;

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_bump_shard_request(&b, ref("key-1", 5), 4) == ZAE_OK,
       "bump request");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"SET #n0 = :v0\","
        "\"ConditionExpression\":\"#n0 = :v1\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"shard_count\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"8\"},"
        "\":v1\":{\"N\":\"4\"}}}", "bump on shard 0: 4 -> 8");

    ok(zae_proto_bump_shard_request(&b, ref("key-1", 0), 0) == ZAE_ERROR,
       "bump from 0 refused");
    ok(zae_proto_bump_shard_request(&b, ref("key-1", 0), INT64_MAX)
       == ZAE_ERROR, "bump overflow refused");
}


static void
test_read(void)
{
    char              *body;
    zae_buf_t          b;
    zae_err_t          err;
    zae_str_t          parent = zae_string("proj-1");
    zae_proto_read_t   rd;

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_read_request(&b, ref("key-1", 2), &parent,
                              ZAE_READ_META|ZAE_READ_BUCKET|ZAE_READ_PARENT)
       == ZAE_OK, "read request");
    body_is(&b,
        "{\"RequestItems\":{\"zae-limiter\":{\"Keys\":["
        "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},\"SK\":{\"S\":\"#META\"}},"
        "{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "{\"PK\":{\"S\":\"" NS "/BUCKET#proj-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}}]}}}",
        "META, bucket shard 0 and the parent's shard 0");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_read_request(&b, ref("proj-1", 0), NULL, ZAE_READ_BUCKET)
       == ZAE_OK, "parent-only read");
    ok(zae_proto_read_request(&b, ref("key-1", 0), NULL, ZAE_READ_PARENT)
       == ZAE_ERROR, "parent read without parent refused");

    body = "{\"Responses\":{\"zae-limiter\":["
           "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},\"SK\":{\"S\":\"#META\"},"
           "\"entity_id\":{\"S\":\"key-1\"},\"parent_id\":{\"S\":\"proj-1\"},"
           "\"cascade\":{\"BOOL\":true}}," BUCKET_ITEM("18000", "999000",
                                                       "1", "") "]},"
           "\"UnprocessedKeys\":{}}";

    ok(zae_proto_read_decode(&mem, ref("key-1", 0), &parent,
                             ZAE_READ_META|ZAE_READ_BUCKET|ZAE_READ_PARENT,
                             resp(200, body), &rd, &err)
       == ZAE_OK, "read answer decodes");
    ok(rd.has_meta && rd.meta.cascade && rd.meta.parent_id.len == 6,
       "META: cascade to proj-1");
    ok(rd.has_bucket && rd.bucket.rf == RF, "bucket read");
    ok(!rd.has_parent_bucket, "parent bucket missing");
    is_int(rd.unprocessed, 0, "nothing unprocessed");

    ok(zae_proto_read_decode(&mem, ref("key-1", 0), &parent,
                             ZAE_READ_META|ZAE_READ_BUCKET, resp(400,
           "{\"__type\":\"com.amazon.coral.validate#ValidationException\","
           "\"message\":\"bad\"}"), &rd, &err)
       == ZAE_DECLINED && rd.error.cls == ZAE_DDB_ERR_VALIDATION,
       "error answer: DECLINED with class");
}


/* docs/table-format.md 3: tk=-2500, cp=ra=5000, rp=60000, requesting 1 */

static void
test_compute_debt(void)
{
    zae_err_t            err;
    zae_proto_plan_t     plan;
    zae_proto_entity_t   e;

    entity(&e, "solo", "api", "rpm:5", ZAE_LEVEL_RESOURCE,
           "{\"entity_id\":{\"S\":\"solo\"},"
           "\"resource\":{\"S\":\"api\"},\"rf\":{\"N\":\"1000\"},"
           "\"b_rpm_tk\":{\"N\":\"-2500\"},"
           "\"b_rpm_cp\":{\"N\":\"5000\"},"
           "\"b_rpm_ra\":{\"N\":\"5000\"},"
           "\"b_rpm_rp\":{\"N\":\"60000\"}}");

    ok(zae_proto_slow_compute(&mem, &e, 1, amounts("rpm", 1, NULL, 0), 1,
                              1000, 7, &plan, &err)
       == ZAE_OK, "compute on a bucket in debt");
    ok(plan.rejected, "rejected");
    is_int(plan.nstatuses, 1, "one status");
    is_int(plan.statuses[0].available, -3, "available -3 (floor)");
    is_int(plan.statuses[0].retry_after_ms, 42001, "retry 42.001 s");
    is_int(plan.retry_ms, 42001, "primary retry");
    is_int(plan.statuses[0].capacity, 5, "capacity from config");
    ok(zae_proto_write_request(NULL, &table, &ns, &plan, NULL) == ZAE_ERROR,
       "no write for a rejected plan");
}


static void
test_compute_normal(void)
{
    zae_buf_t            b;
    zae_err_t            err;
    zae_ddb_op_e         op;
    zae_proto_plan_t     plan;
    zae_proto_limit_t   *pl;
    zae_proto_entity_t   e;

    entity(&e, "key-1", "gpt-4", "rpm:20/min,tpm:3000/hour",
           ZAE_LEVEL_ENTITY, BUCKET_ITEM("18000", "999000", "1", ""));

    /* 6 s later: rpm refills 2000, tpm 5000, wcu back to full */

    ok(zae_proto_slow_compute(&mem, &e, 1, amounts("rpm", 1, NULL, 0), 1,
                              RF + 6000, 7, &plan, &err)
       == ZAE_OK && !plan.rejected, "normal compute passes");
    is_int(plan.nitems, 1, "one item");
    is_int(plan.items[0].kind, ZAE_WRITE_NORMAL, "Normal write");
    pl = &plan.items[0].limits[0];
    is_int(pl->new_tk, 19000, "rpm 18000 + 2000 (capped) - 1000");
    is_int(pl->refill_added, 2000, "rpm refill_added");
    is_int(pl->tk_delta, 1000, "rpm tk_delta");
    is_int(pl->tc_delta, 1000, "rpm tc_delta");
    is_int(pl->floor, 0, "rpm floor 0: no clause");
    pl = &plan.items[0].limits[1];
    is_int(pl->tk_delta, 5000, "tpm refill 6000*3000000//3600000");
    is_int(pl->tc_delta, 0, "tpm not consumed");
    ok(plan.items[0].has_wcu && plan.items[0].wcu.tk_delta == 1000,
       "wcu refilled lazily: +1000");
    ok(plan.items[0].remove_ttl && !plan.items[0].set_ttl,
       "entity config: REMOVE ttl");
    is_int(plan.nstatuses, 2, "a status per resolved limit");
    is_int(plan.statuses[0].available, 20, "rpm available after refill");
    ok(!plan.statuses[1].exceeded && plan.statuses[1].requested == 0,
       "tpm passed with 0 requested");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK
       && op == ZAE_DDB_UPDATE_ITEM, "Normal write is an UpdateItem");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"SET #n0 = :v0 ADD #n2 :v2, #n3 :v3, "
        "#n4 :v4, #n5 :v5, #n6 :v6 REMOVE #n1\","
        "\"ConditionExpression\":\"#n0 = :v1\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"rf\",\"#n1\":\"ttl\","
        "\"#n2\":\"b_rpm_tk\",\"#n3\":\"b_rpm_tc\",\"#n4\":\"b_tpm_tk\","
        "\"#n5\":\"b_tpm_tc\",\"#n6\":\"b_wcu_tk\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1795444657132\"},"
        "\":v1\":{\"N\":\"1795444651132\"},\":v2\":{\"N\":\"1000\"},"
        "\":v3\":{\"N\":\"1000\"},\":v4\":{\"N\":\"5000\"},"
        "\":v5\":{\"N\":\"0\"},\":v6\":{\"N\":\"1000\"}}}",
        "Normal UpdateItem body");

    /* no time passed, 3 consumed: floor clause; resource defaults: ttl */

    e.source = ZAE_LEVEL_RESOURCE;
    ok(zae_proto_slow_compute(&mem, &e, 1, amounts("rpm", 3, NULL, 0), 1,
                              RF, 7, &plan, &err)
       == ZAE_OK && !plan.rejected, "compute with a floor");
    is_int(plan.items[0].limits[0].floor, 3000, "floor = consumed");
    ok(plan.items[0].set_ttl && !plan.items[0].remove_ttl, "SET ttl");
    is_int(plan.items[0].ttl, RF / 1000 + 25200,
           "ttl = now_s + 3600 * 7");
    ok(!plan.items[0].has_wcu, "no wcu refill without elapsed time");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK,
       "write with floor");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"SET #n0 = :v0, #n1 = :v1 ADD #n2 :v3, "
        "#n3 :v5, #n4 :v6, #n5 :v7\","
        "\"ConditionExpression\":\"#n0 = :v2 AND #n2 >= :v4\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"rf\",\"#n1\":\"ttl\","
        "\"#n2\":\"b_rpm_tk\",\"#n3\":\"b_rpm_tc\",\"#n4\":\"b_tpm_tk\","
        "\"#n5\":\"b_tpm_tc\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1795444651132\"},"
        "\":v1\":{\"N\":\"1795469851\"},"
        "\":v2\":{\"N\":\"1795444651132\"},\":v3\":{\"N\":\"-3000\"},"
        "\":v4\":{\"N\":\"3000\"},\":v5\":{\"N\":\"3000\"},"
        "\":v6\":{\"N\":\"0\"},\":v7\":{\"N\":\"0\"}}}",
        "Normal UpdateItem with SET ttl and a floor clause");

    /* retry path after a CCF, then its failure */

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_retry_request(&b, &table, &ns, &plan, &op) == ZAE_OK
       && op == ZAE_DDB_UPDATE_ITEM, "retry request");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"ADD #n0 :v0, #n1 :v1\","
        "\"ConditionExpression\":\"#n0 >= :v2\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"b_rpm_tk\","
        "\"#n1\":\"b_rpm_tc\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"-3000\"},"
        "\":v1\":{\"N\":\"3000\"},\":v2\":{\"N\":\"3000\"}}}",
        "consumption-only retry");

    ok(zae_proto_retry_reject(&plan) == ZAE_OK && plan.rejected,
       "retry failure rejects");
    ok(plan.statuses[0].exceeded && plan.statuses[1].exceeded,
       "every entry exceeded");
    is_int(plan.statuses[0].available, 15, "available = local tk // 1000");
    is_int(plan.statuses[1].retry_after_ms, 0, "no deficit: retry 0");

    /* nothing consumed: no retry write */

    ok(zae_proto_slow_compute(&mem, &e, 1, amounts("tpm", 0, NULL, 0), 1,
                              RF, 7, &plan, &err)
       == ZAE_OK, "compute consuming 0");
    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_retry_request(&b, &table, &ns, &plan, &op) == ZAE_DECLINED,
       "retry with nothing consumed is declined");
}


/* a bucket without wcu fields gets them on a Normal write */

static void
test_compute_no_wcu(void)
{
    zae_buf_t            b;
    zae_err_t            err;
    zae_ddb_op_e         op;
    zae_proto_plan_t     plan;
    zae_proto_entity_t   e;

    entity(&e, "solo", "gpt-4", "rpm:5", ZAE_LEVEL_ENTITY,
           "{\"rf\":{\"N\":\"1000\"},"
           "\"b_rpm_tk\":{\"N\":\"5000\"},"
           "\"b_rpm_cp\":{\"N\":\"5000\"},"
           "\"b_rpm_ra\":{\"N\":\"5000\"},"
           "\"b_rpm_rp\":{\"N\":\"60000\"}}");

    ok(zae_proto_slow_compute(&mem, &e, 1, amounts("rpm", 1, NULL, 0), 1,
                              1000, 7, &plan, &err)
       == ZAE_OK && plan.items[0].has_wcu && plan.items[0].wcu.is_new,
       "wcu initialised");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK,
       "write with wcu init");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#solo#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"SET #n0 = :v0, #n2 = :v1, #n3 = :v2, "
        "#n4 = :v3 ADD #n5 :v5, #n6 :v7, #n7 :v8 REMOVE #n1\","
        "\"ConditionExpression\":\"#n0 = :v4 AND #n5 >= :v6\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"rf\",\"#n1\":\"ttl\","
        "\"#n2\":\"b_wcu_cp\",\"#n3\":\"b_wcu_ra\",\"#n4\":\"b_wcu_rp\","
        "\"#n5\":\"b_rpm_tk\",\"#n6\":\"b_rpm_tc\",\"#n7\":\"b_wcu_tk\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1000\"},"
        "\":v1\":{\"N\":\"1000000\"},\":v2\":{\"N\":\"1000000\"},"
        "\":v3\":{\"N\":\"1000\"},\":v4\":{\"N\":\"1000\"},"
        "\":v5\":{\"N\":\"-1000\"},\":v6\":{\"N\":\"1000\"},"
        "\":v7\":{\"N\":\"1000\"},\":v8\":{\"N\":\"1000000\"}}}",
        "SET wcu cp/ra/rp, ADD wcu tk at full value");
}


/* docs/table-format.md 6.4: a limit new to an existing bucket is initialised */

static void
test_compute_new_limit(void)
{
    zae_buf_t            b;
    zae_err_t            err;
    zae_ddb_op_e         op;
    zae_proto_plan_t     plan;
    zae_proto_limit_t   *pl;
    zae_proto_entity_t   e;

    entity(&e, "key-1", "gpt-4", "rpm:20/min,rpd:100/day",
           ZAE_LEVEL_ENTITY, BUCKET_ITEM("18000", "999000", "1", ""));

    ok(zae_proto_slow_compute(&mem, &e, 1, amounts("rpd", 10, "rpm", 1), 2,
                              RF, 7, &plan, &err)
       == ZAE_OK && !plan.rejected, "compute with a new limit");
    pl = &plan.items[0].limits[1];
    ok(pl->is_new, "rpd is new to the bucket");
    is_int(pl->new_tk, 90000, "rpd 100000 - 10000");
    is_int(pl->tk_delta, 90000, "rpd initialised by ADD 90000");
    is_int(pl->floor, 0, "no floor on a new limit");
    is_int(pl->rp, 86400000, "rpd period in ms");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK,
       "write with a new limit");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"SET #n0 = :v0, #n2 = :v1, #n3 = :v2, "
        "#n4 = :v3 ADD #n5 :v5, #n6 :v7, #n7 :v8, #n8 :v9 REMOVE #n1\","
        "\"ConditionExpression\":\"#n0 = :v4 AND #n5 >= :v6\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"rf\",\"#n1\":\"ttl\","
        "\"#n2\":\"b_rpd_cp\",\"#n3\":\"b_rpd_ra\",\"#n4\":\"b_rpd_rp\","
        "\"#n5\":\"b_rpm_tk\",\"#n6\":\"b_rpm_tc\",\"#n7\":\"b_rpd_tk\","
        "\"#n8\":\"b_rpd_tc\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1795444651132\"},"
        "\":v1\":{\"N\":\"100000\"},\":v2\":{\"N\":\"100000\"},"
        "\":v3\":{\"N\":\"86400000\"},\":v4\":{\"N\":\"1795444651132\"},"
        "\":v5\":{\"N\":\"-1000\"},\":v6\":{\"N\":\"1000\"},"
        "\":v7\":{\"N\":\"1000\"},\":v8\":{\"N\":\"90000\"},"
        "\":v9\":{\"N\":\"10000\"}}}",
        "new limit: SET cp/ra/rp, ADD tk and tc");
}


static void
test_compute_create(void)
{
    zae_buf_t            b;
    zae_err_t            err;
    zae_ddb_op_e         op;
    zae_proto_plan_t     plan;
    zae_proto_entity_t   e[2];

    memset(e, 0, sizeof(e));
    zae_str_set(&e[0].entity_id, "key-1");
    zae_str_set(&e[0].resource, "gpt-4");
    zae_str_set(&e[0].parent_id, "proj-1");
    e[0].cascade = 1;
    e[0].limits = limits("rpm:20/min,tpm:3000/hour");
    e[0].source = ZAE_LEVEL_ENTITY;

    zae_str_set(&e[1].entity_id, "proj-1");
    zae_str_set(&e[1].parent_id, "org-1");
    e[1].cascade = 1;
    zae_str_set(&e[1].resource, "gpt-4");
    e[1].limits = limits("rpm:50/min,tpm:5000/min:8000");
    e[1].source = ZAE_LEVEL_RESOURCE;

    ok(zae_proto_slow_compute(&mem, e, 1, amounts("rpm", 2, "tpm", 250), 2,
                              RF, 7, &plan, &err)
       == ZAE_OK && !plan.rejected, "create compute");
    is_int(plan.items[0].kind, ZAE_WRITE_CREATE, "Create");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK
       && op == ZAE_DDB_PUT_ITEM, "Create is a PutItem");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\",\"Item\":"
        "{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"},\"entity_id\":{\"S\":\"key-1\"},"
        "\"resource\":{\"S\":\"gpt-4\"},\"rf\":{\"N\":\"1795444651132\"},"
        "\"cascade\":{\"BOOL\":true},\"parent_id\":{\"S\":\"proj-1\"},"
        "\"shard_count\":{\"N\":\"1\"},\"b_rpm_tk\":{\"N\":\"18000\"},"
        "\"b_rpm_cp\":{\"N\":\"20000\"},\"b_rpm_ra\":{\"N\":\"20000\"},"
        "\"b_rpm_rp\":{\"N\":\"60000\"},\"b_rpm_tc\":{\"N\":\"2000\"},"
        "\"b_tpm_tk\":{\"N\":\"2750000\"},\"b_tpm_cp\":{\"N\":\"3000000\"},"
        "\"b_tpm_ra\":{\"N\":\"3000000\"},\"b_tpm_rp\":{\"N\":\"3600000\"},"
        "\"b_tpm_tc\":{\"N\":\"250000\"},\"b_wcu_tk\":{\"N\":\"1000000\"},"
        "\"b_wcu_cp\":{\"N\":\"1000000\"},\"b_wcu_ra\":{\"N\":\"1000000\"},"
        "\"b_wcu_rp\":{\"N\":\"1000\"},\"b_wcu_tc\":{\"N\":\"0\"},"
        "\"GSI2PK\":{\"S\":\"" NS "/RESOURCE#gpt-4\"},"
        "\"GSI2SK\":{\"S\":\"BUCKET#key-1#0\"},"
        "\"GSI3PK\":{\"S\":\"" NS "/ENTITY#key-1\"},"
        "\"GSI3SK\":{\"S\":\"BUCKET#gpt-4#0\"},"
        "\"GSI4PK\":{\"S\":\"" NS "\"},"
        "\"GSI4SK\":{\"S\":\"BUCKET#key-1#gpt-4#0\"}},"
        "\"ConditionExpression\":\"attribute_not_exists(PK)\"}",
        "Create: the example bucket with wcu at full value, no ttl");

    /* cascade: child Normal + parent Create in one transaction */

    e[0].bucket = bucket(BUCKET_ITEM("18000", "999000", "1", ""));

    ok(zae_proto_slow_compute(&mem, e, 2, amounts("rpm", 2, NULL, 0), 1,
                              RF, 7, &plan, &err)
       == ZAE_OK && !plan.rejected, "cascade compute");
    is_int(plan.nitems, 2, "two items");
    is_int(plan.nstatuses, 4, "statuses of child and parent");
    ok(plan.statuses[2].entity_id.len == 6, "parent statuses last");
    is_int(plan.items[1].kind, ZAE_WRITE_CREATE, "parent Create");
    ok(plan.items[1].cascade == 0 && plan.items[1].parent_id.len == 0,
       "parent: no cascade, no parent_id (even if it has a parent)");
    ok(plan.items[1].set_ttl, "parent on resource defaults: ttl");
    is_int(plan.items[1].ttl, RF / 1000 + 672,
           "ttl vector of table-format.md section 3");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK
       && op == ZAE_DDB_TRANSACT_WRITE_ITEMS, "TransactWriteItems");
    ok(b.data && strstr((char *) b.data, "\"TransactItems\":[{\"Update\":")
       && strstr((char *) b.data, "},{\"Put\":"),
       "Update of the child, then Put of the parent");
    ok(strstr((char *) b.data, "\"ttl\":{\"N\":\"1795445323\"}") != NULL,
       "parent item carries the example's ttl value");

    /* a parent rejection rejects the whole acquire, child first */

    e[1].limits = limits("rpm:1/min");
    ok(zae_proto_slow_compute(&mem, e, 2, amounts("rpm", 2, NULL, 0), 1,
                              RF, 7, &plan, &err)
       == ZAE_OK && plan.rejected, "parent short: rejected");
    ok(!plan.statuses[0].exceeded && plan.statuses[2].exceeded,
       "child passed, parent exceeded");
    is_int(plan.retry_ms, 60001, "retry from the parent");

    ok(zae_proto_slow_compute(&mem, e, 3, NULL, 0, RF, 7, &plan, &err)
       == ZAE_ERROR, "three entities refused");
    e[0].limits = limits("");
    ok(zae_proto_slow_compute(&mem, e, 1, NULL, 0, RF, 7, &plan, &err)
       == ZAE_ERROR, "no limits refused: %s", err.msg);
}


static void
test_write_decode(void)
{
    zae_ddb_error_t  e;

    is_int(zae_proto_write_decode(&mem, resp(200, "{}"), &e), ZAE_WRITE_OK,
           "200: OK");
    is_int(zae_proto_write_decode(&mem, resp(400, CCF("")), &e),
           ZAE_WRITE_CONDITION_FAILED, "CCF: CONDITION_FAILED");
    is_int(zae_proto_write_decode(&mem, resp(400,
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
        "TransactionCanceledException\",\"Message\":\"Transaction cancelled"
        ", please refer cancellation reasons for specific reasons [None, "
        "ConditionalCheckFailed]\",\"CancellationReasons\":[{\"Code\":"
        "\"None\"},{\"Code\":\"ConditionalCheckFailed\",\"Message\":"
        "\"The conditional request failed\"}]}"), &e),
        ZAE_WRITE_CONDITION_FAILED, "canceled by a CCF: CONDITION_FAILED");
    is_int(zae_proto_write_decode(&mem, resp(400,
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
        "TransactionCanceledException\",\"Message\":\"x\","
        "\"CancellationReasons\":[{\"Code\":\"TransactionConflict\"},"
        "{\"Code\":\"None\"}]}"), &e),
        ZAE_WRITE_CONFLICT, "canceled by a conflict: CONFLICT");
    is_int(zae_proto_write_decode(&mem, resp(400,
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
        "ThrottlingException\",\"message\":\"x\"}"), &e),
        ZAE_WRITE_ERROR, "throttling: ERROR");
    ok(e.cls == ZAE_DDB_ERR_THROTTLING, "with its class");
    is_int(zae_proto_write_decode(&mem, resp(500, ""), &e),
           ZAE_WRITE_ERROR, "500: ERROR");
}


/* the slow path's write with an id (zae_proto_applied_before()) */

static void
test_write_once(void)
{
    zae_buf_t            b;
    zae_err_t            err;
    zae_ddb_op_e         op;
    zae_ddb_error_t      e;
    zae_proto_plan_t     plan;
    zae_proto_entity_t   ent[2];

    memset(ent, 0, sizeof(ent));
    zae_str_set(&ent[0].entity_id, "key-1");
    zae_str_set(&ent[0].resource, "gpt-4");
    ent[0].limits = limits("rpm:20/min");
    ent[0].source = ZAE_LEVEL_ENTITY;

    ok(zae_proto_slow_compute(&mem, ent, 1, amounts("rpm", 1, NULL, 0), 1,
                              RF, 7, &plan, &err)
       == ZAE_OK && plan.items[0].kind == ZAE_WRITE_CREATE, "once: create");
    zae_str_set(&plan.once_attr, "zl_a_3f9a0c51d2e4");
    zae_str_set(&plan.once_id, "3f9a0c51d2e4-1f2-5a");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK
       && op == ZAE_DDB_PUT_ITEM, "once: a PutItem");
    ok(b.data && strstr((char *) b.data, "\"zl_a_3f9a0c51d2e4\":{\"S\":"
                        "\"3f9a0c51d2e4-1f2-5a\"}") != NULL,
       "once: the item carries the id");
    ok(b.data && strstr((char *) b.data, "\"ReturnValuesOnConditionCheck"
                        "Failure\":\"ALL_OLD\"") != NULL,
       "once: the old item on a refusal");

    /* the refusal of a second attempt: its old item holds the id */

    is_int(zae_proto_write_decode(&mem, resp(400, CCF(",\"Item\":{\"PK\":"
        "{\"S\":\"x\"},\"zl_a_3f9a0c51d2e4\":{\"S\":\"3f9a0c51d2e4-1f2-"
        "5a\"}}")), &e), ZAE_WRITE_CONDITION_FAILED, "once: refused");
    ok(zae_proto_applied_before(e.item, &plan), "once: applied before");

    is_int(zae_proto_write_decode(&mem, resp(400, CCF(",\"Item\":{\"PK\":"
        "{\"S\":\"x\"},\"zl_a_3f9a0c51d2e4\":{\"S\":\"3f9a0c51d2e4-1f2-"
        "5b\"}}")), &e), ZAE_WRITE_CONDITION_FAILED, "once: refused, other");
    ok(!zae_proto_applied_before(e.item, &plan),
       "once: another write's id is not this one");
    ok(!zae_proto_applied_before(NULL, &plan), "once: no old item");

    /* an update: the id joins its SET clause and its condition */

    ent[0].bucket = bucket(BUCKET_ITEM("18000", "999000", "1", ""));
    ent[0].limits = limits("rpm:20/min,tpm:3000/hour");

    ok(zae_proto_slow_compute(&mem, ent, 1, amounts("rpm", 3, NULL, 0), 1,
                              RF + 6000, 7, &plan, &err)
       == ZAE_OK && plan.items[0].kind == ZAE_WRITE_NORMAL, "once: normal");
    zae_str_set(&plan.once_attr, "zl_a_3f9a0c51d2e4");
    zae_str_set(&plan.once_id, "3f9a0c51d2e4-1f2-5c");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_OK
       && op == ZAE_DDB_UPDATE_ITEM, "once: an UpdateItem");
    ok(b.data && strstr((char *) b.data, "\"UpdateExpression\":\"SET "
                        "#n7 = :v8, #n0 = :v0 ADD ") != NULL,
       "once: one SET clause, the id first");
    ok(b.data && strstr((char *) b.data, " AND (attribute_not_exists(#n7) "
                        "OR #n7 <> :v8)\"") != NULL,
       "once: the condition refuses an item holding the id");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_retry_request(&b, &table, &ns, &plan, &op) == ZAE_OK,
       "once: the consumption-only retry");
    ok(b.data && strstr((char *) b.data, "\"UpdateExpression\":\"ADD "
                        "#n0 :v0, #n1 :v1 SET #n2 = :v3\"") != NULL
       && strstr((char *) b.data, "\"ConditionExpression\":\"#n0 >= :v2 "
                 "AND (attribute_not_exists(#n2) OR #n2 <> :v3)\"") != NULL,
       "once: the retry SETs the id too");

    zae_str_set(&plan.once_id, "0123456789012345678901234567890123456");
    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_write_request(&b, &table, &ns, &plan, &op) == ZAE_ERROR,
       "once: an id longer than a ClientRequestToken refused");
}


/* a lease refill with an id (zae_proto_refill_request()) */

static void
test_refill_once(void)
{
    zae_buf_t        b;
    zae_err_t        err;
    zae_str_t        attr, id, other;
    spec_case_t      c;
    zae_ddb_error_t  e;

    spec_init(&c);
    c.consume[0].amount = 7;
    zae_str_set(&attr, "zl_a_3f9a0c51d2e4");
    zae_str_set(&id, "3f9a0c51d2e4-1f2-6a");
    zae_str_set(&other, "3f9a0c51d2e4-1f2-6b");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_refill_request(&b, &c.ref, c.consume, c.n, c.now_ms, &attr,
                                &id, &err)
       == ZAE_OK, "refill: built");
    ok(b.data && strstr((char *) b.data, "\"UpdateExpression\":\"ADD "
                        "#n0 :v0, #n1 :v1, #n2 :v2, #n3 :v3 SET #n5 = :v5\"")
                 != NULL,
       "refill: the speculative ADD, then the id's SET");
    ok(b.data && strstr((char *) b.data, " AND (attribute_not_exists(#n5) "
                        "OR #n5 <> :v5)\"") != NULL,
       "refill: the condition refuses an item holding the id");
    ok(b.data && strstr((char *) b.data, "\"#n5\":\"zl_a_3f9a0c51d2e4\"")
                 != NULL
       && strstr((char *) b.data, "\":v5\":{\"S\":\"3f9a0c51d2e4-1f2-6a\"}")
          != NULL, "refill: the acquirer's attribute and the id");
    ok(b.data && strstr((char *) b.data, "\"ReturnValuesOnConditionCheck"
                        "Failure\":\"ALL_OLD\"") != NULL,
       "refill: the old item on a refusal");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_refill_request(&b, &c.ref, c.consume, c.n, c.now_ms, &attr,
                                &(zae_str_t) { 0, NULL }, &err)
       == ZAE_ERROR, "refill: no id refused");

    is_int(zae_proto_write_decode(&mem, resp(400, CCF(",\"Item\":{\"PK\":"
        "{\"S\":\"x\"},\"zl_a_3f9a0c51d2e4\":{\"S\":\"3f9a0c51d2e4-1f2-"
        "6a\"}}")), &e), ZAE_WRITE_CONDITION_FAILED, "refill: refused");
    ok(zae_proto_holds_id(e.item, &attr, &id), "refill: applied before");
    ok(!zae_proto_holds_id(e.item, &attr, &other),
       "refill: another refill's id is not this one");
    ok(!zae_proto_holds_id(NULL, &attr, &id), "refill: no old item");
}


static void
test_adjust(void)
{
    zae_buf_t  b;

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_adjust_request_once(&b, ref("key-1", 0),
                                     amounts("tpm", 150, "rpm", 0), 2,
                                     NULL, NULL)
       == ZAE_OK, "adjust request");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"ADD #n0 :v0, #n1 :v1\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"b_tpm_tk\","
        "\"#n1\":\"b_tpm_tc\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"-150000\"},"
        "\":v1\":{\"N\":\"150000\"}}}", "adjust +150: tk -150000, tc +150000");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_adjust_request_once(&b, ref("key-1", 0),
                                     amounts("tpm", -50, NULL, 0), 1,
                                     NULL, NULL)
       == ZAE_OK, "release");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"ADD #n0 :v0, #n1 :v1\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"b_tpm_tk\","
        "\"#n1\":\"b_tpm_tc\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"50000\"},"
        "\":v1\":{\"N\":\"-50000\"}}}", "release 50: tk +50000, tc -50000");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_adjust_request_once(&b, ref("proj-1", 1),
                                     amounts("rpm", -1, "tpm", -250), 2,
                                     NULL, NULL)
       == ZAE_OK, "rollback: the adjust by -consumed");
    body_is(&b,
        "{\"TableName\":\"zae-limiter\","
        "\"Key\":{\"PK\":{\"S\":\"" NS "/BUCKET#proj-1#gpt-4#1\"},"
        "\"SK\":{\"S\":\"#STATE\"}},"
        "\"UpdateExpression\":\"ADD #n0 :v0, #n1 :v1, #n2 :v2, #n3 :v3\","
        "\"ExpressionAttributeNames\":{\"#n0\":\"b_rpm_tk\","
        "\"#n1\":\"b_rpm_tc\",\"#n2\":\"b_tpm_tk\",\"#n3\":\"b_tpm_tc\"},"
        "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1000\"},"
        "\":v1\":{\"N\":\"-1000\"},\":v2\":{\"N\":\"250000\"},"
        "\":v3\":{\"N\":\"-250000\"}}}",
        "rollback of the parent's shard 1: tk +c, tc -c");

    zae_buf_init(&b, &mem, 0);
    ok(zae_proto_adjust_request_once(&b, ref("key-1", 0),
                                     amounts("tpm", 0, NULL, 0), 1, NULL, NULL)
       == ZAE_DECLINED, "nothing to adjust: DECLINED");
}


int
main(void)
{
    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_spec_request();
    test_spec_writer();
    test_spec_decode();
    test_spec_stream();
    test_spec_differential();
    test_spec_skim();
    test_bump();
    test_read();
    test_compute_debt();
    test_compute_normal();
    test_compute_new_limit();
    test_compute_no_wcu();
    test_compute_create();
    test_write_decode();
    test_write_once();
    test_refill_once();
    test_adjust();

    zae_arena_free(&arena);

    /* the adjust made idempotent with a write id */

    {
        zae_arena_t       ia;
        zae_mem_t         im;
        zae_buf_t         ib;
        zae_str_t         wid = zae_string("1234-99-7");
        zae_str_t         wr = zae_string("3f9a0c51d2e4");
        zae_amount_t      d[1];
        zae_bucket_ref_t  iref;

        zae_arena_init(&ia, 0);
        im = zae_arena_mem(&ia);
        zae_buf_init(&ib, &im, 256);

        memset(&iref, 0, sizeof(iref));
        zae_str_set(&iref.table, "zae-limiter");
        zae_str_set(&iref.ns, "ns1");
        zae_str_set(&iref.entity_id, "key-1");
        zae_str_set(&iref.resource, "gpt-4");

        zae_str_set(&d[0].name, "tpm");
        d[0].amount = 250;

        ok(zae_proto_adjust_request_once(&ib, &iref, d, 1, &wr, &wid)
           == ZAE_OK,
           "adjust once: built");
        ok(ib.len && strstr((char *) ib.data, "\"ConditionExpression\":"
                            "\"attribute_not_exists(#n2) OR #n2 <> :v2\"")
           != NULL, "adjust once: condition on the write id");
        ok(strstr((char *) ib.data, " SET #n2 = :v2\"") != NULL,
           "adjust once: the write id is stored");
        ok(strstr((char *) ib.data, "\"#n2\":\"zl_w_3f9a0c51d2e4\"")
           != NULL, "adjust once: the writer's own attribute");
        ok(strstr((char *) ib.data, "\":v2\":{\"S\":\"1234-99-7\"}") != NULL,
           "adjust once: the id value");
        ok(strstr((char *) ib.data, "ADD #n0 :v0, #n1 :v1") != NULL,
           "adjust once: the same ADD as the plain adjust");

        zae_arena_free(&ia);
    }

    return tap_done();
}
