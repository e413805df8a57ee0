
/*
 * Copyright (C) zae-limit authors
 *
 * zae_json: Python-compatible escaping, the attribute-value tree, the
 * encoders and the bounded decoder.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_json.h"


/* the example items of the fact sheet, section 1.3, as DynamoDB sends them */

static const char  *items[] = {
    /* namespace forward */
    "{\"PK\":{\"S\":\"_/SYSTEM#\"},\"SK\":{\"S\":\"#NAMESPACE#default\"},"
    "\"namespace_id\":{\"S\":\"szXjZ6M1yVc\"},\"namespace_name\":{\"S\":"
    "\"default\"},\"status\":{\"S\":\"active\"},\"created_at\":{\"S\":\"2"
    "026-11-23T14:37:30Z\"},\"GSI4PK\":{\"S\":\"_\"},\"GSI4SK\":{\"S\":\""
    "_/SYSTEM#\"}}",

    /* version */
    "{\"PK\":{\"S\":\"_/SYSTEM#\"},\"SK\":{\"S\":\"#VERSION\"},\"schema_v"
    "ersion\":{\"S\":\"0.10.0\"},\"lambda_version\":{\"S\":\"0.10.3\"},\""
    "client_min_version\":{\"S\":\"0.0.0\"},\"updated_at\":{\"S\":\"2026-"
    "11-23T14:37:30Z\"},\"updated_by\":{\"S\":\"client:0.10.3\"},\"GSI4PK"
    "\":{\"S\":\"_\"},\"GSI4SK\":{\"S\":\"_/SYSTEM#\"}}",

    /* entity meta (child) */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},\"SK\":{\"S\":\"#META\""
    "},\"entity_id\":{\"S\":\"key-1\"},\"name\":{\"S\":\"key-1\"},\"paren"
    "t_id\":{\"S\":\"proj-1\"},\"cascade\":{\"BOOL\":true},\"metadata\":{"
    "\"M\":{\"tier\":{\"S\":\"gold\"}}},\"created_at\":{\"S\":\"2026-11-2"
    "3T14:37:30Z\"},\"GSI1PK\":{\"S\":\"szXjZ6M1yVc/PARENT#proj-1\"},\"GS"
    "I1SK\":{\"S\":\"CHILD#key-1\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},\""
    "GSI4SK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"}}",

    /* bucket (entity with custom config, so no ttl) */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/BUCKET#key-1#gpt-4#0\"},\"SK\":{\"S\":"
    "\"#STATE\"},\"entity_id\":{\"S\":\"key-1\"},\"resource\":{\"S\":\"gp"
    "t-4\"},\"rf\":{\"N\":\"1795444651132\"},\"cascade\":{\"BOOL\":true},"
    "\"parent_id\":{\"S\":\"proj-1\"},\"shard_count\":{\"N\":\"1\"},\"b_r"
    "pm_tk\":{\"N\":\"18000\"},\"b_rpm_cp\":{\"N\":\"20000\"},\"b_rpm_ra"
    "\":{\"N\":\"20000\"},\"b_rpm_rp\":{\"N\":\"60000\"},\"b_rpm_tc\":{\""
    "N\":\"2000\"},\"b_tpm_tk\":{\"N\":\"2750000\"},\"b_tpm_cp\":{\"N\":"
    "\"3000000\"},\"b_tpm_ra\":{\"N\":\"3000000\"},\"b_tpm_rp\":{\"N\":\""
    "3600000\"},\"b_tpm_tc\":{\"N\":\"250000\"},\"b_wcu_tk\":{\"N\":\"999"
    "000\"},\"b_wcu_cp\":{\"N\":\"1000000\"},\"b_wcu_ra\":{\"N\":\"100000"
    "0\"},\"b_wcu_rp\":{\"N\":\"1000\"},\"b_wcu_tc\":{\"N\":\"1000\"},\"G"
    "SI2PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"},\"GSI2SK\":{\"S\":\"B"
    "UCKET#key-1#0\"},\"GSI3PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},\"G"
    "SI3SK\":{\"S\":\"BUCKET#gpt-4#0\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\""
    "},\"GSI4SK\":{\"S\":\"BUCKET#key-1#gpt-4#0\"}}",

    /* entity config */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},\"SK\":{\"S\":\"#CONFIG"
    "#gpt-4\"},\"entity_id\":{\"S\":\"key-1\"},\"resource\":{\"S\":\"gpt-"
    "4\"},\"config_version\":{\"N\":\"1\"},\"l_rpm_cp\":{\"N\":\"20\"},\""
    "l_rpm_ra\":{\"N\":\"20\"},\"l_rpm_rp\":{\"N\":\"60\"},\"l_tpm_cp\":{"
    "\"N\":\"3000\"},\"l_tpm_ra\":{\"N\":\"3000\"},\"l_tpm_rp\":{\"N\":\""
    "3600\"},\"GSI3PK\":{\"S\":\"szXjZ6M1yVc/ENTITY_CONFIG#gpt-4\"},\"GSI"
    "3SK\":{\"S\":\"key-1\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},\"GSI4SK"
    "\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"}}",

    /* resource config */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"},\"SK\":{\"S\":\"#CONF"
    "IG\"},\"resource\":{\"S\":\"gpt-4\"},\"config_version\":{\"N\":\"1\""
    "},\"l_rpm_cp\":{\"N\":\"50\"},\"l_rpm_ra\":{\"N\":\"50\"},\"l_rpm_rp"
    "\":{\"N\":\"60\"},\"l_tpm_cp\":{\"N\":\"8000\"},\"l_tpm_ra\":{\"N\":"
    "\"5000\"},\"l_tpm_rp\":{\"N\":\"60\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yV"
    "c\"},\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"}}",

    /* system config */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"},\"SK\":{\"S\":\"#CONFIG\"},"
    "\"config_version\":{\"N\":\"1\"},\"on_unavailable\":{\"S\":\"block\""
    "},\"l_rpm_cp\":{\"N\":\"100\"},\"l_rpm_ra\":{\"N\":\"100\"},\"l_rpm_"
    "rp\":{\"N\":\"60\"},\"l_tpm_cp\":{\"N\":\"10000\"},\"l_tpm_ra\":{\"N"
    "\":\"10000\"},\"l_tpm_rp\":{\"N\":\"60\"},\"GSI4PK\":{\"S\":\"szXjZ6"
    "M1yVc\"},\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"}}",

    /* resource registry */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"},\"SK\":{\"S\":\"#RESOURCES\""
    "},\"resources\":{\"SS\":[\"gpt-4\"]},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc"
    "\"},\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"}}",

    /* entity-config registry */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"},\"SK\":{\"S\":\"#ENTITY_CONF"
    "IG_RESOURCES\"},\"gpt-4\":{\"N\":\"1\"},\"GSI4PK\":{\"S\":\"szXjZ6M1"
    "yVc\"},\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"}}",

    /* provisioner state */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"},\"SK\":{\"S\":\"#PROVISIONER"
    "\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},\"managed_system\":{\"BOOL\":"
    "true},\"managed_resources\":{\"L\":[{\"S\":\"gpt-4\"}]},\"managed_en"
    "tities\":{\"M\":{\"user-premium\":{\"L\":[{\"S\":\"gpt-4\"}]}}},\"la"
    "st_applied\":{\"S\":\"2026-11-23T14:40:00.123456+00:00\"},\"applied_"
    "hash\":{\"S\":\"sha256:9f…\"}}",

    /* audit (system) */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/AUDIT#$SYSTEM\"},\"SK\":{\"S\":\"#AUDIT"
    "#01K…(26)\"},\"entity_id\":{\"S\":\"$SYSTEM\"},\"event_id\":{\"S\":"
    "\"01K…\"},\"timestamp\":{\"S\":\"2026-11-23T14:37:30Z\"},\"action\":"
    "{\"S\":\"limits_set\"},\"principal\":{\"NULL\":true},\"resource\":{"
    "\"NULL\":true},\"details\":{\"M\":{\"limits\":{\"L\":[{\"M\":{\"name"
    "\":{\"S\":\"rpm\"},\"capacity\":{\"N\":\"100\"},\"refill_amount\":{"
    "\"N\":\"100\"},\"refill_period_seconds\":{\"N\":\"60\"}}}]},\"on_una"
    "vailable\":{\"S\":\"block\"}}},\"ttl\":{\"N\":\"1803220650\"},\"GSI4"
    "PK\":{\"S\":\"szXjZ6M1yVc\"},\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/AUDIT#$"
    "SYSTEM\"}}",

    /* usage snapshot (hourly) */
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#solo\"},\"SK\":{\"S\":\"#USAGE#a"
    "pi#2026-11-23T14:00:00Z\"},\"entity_id\":{\"S\":\"solo\"},\"resource"
    "\":{\"S\":\"api\"},\"window\":{\"S\":\"hourly\"},\"window_start\":{"
    "\"S\":\"2026-11-23T14:00:00Z\"},\"rpm\":{\"N\":\"1\"},\"tpm\":{\"N\""
    ":\"7\"},\"total_events\":{\"N\":\"2\"},\"ttl\":{\"N\":\"1803220735\""
    "},\"GSI2PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#api\"},\"GSI2SK\":{\"S\":"
    "\"USAGE#2026-11-23T14:00:00Z#solo\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc"
    "\"},\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/ENTITY#solo\"}}",
};

#define NITEMS  (sizeof(items) / sizeof(items[0]))


static zae_arena_t  arena;
static zae_mem_t    mem;


static const char *
esc(const char *s, size_t len)
{
    zae_buf_t  b;

    zae_buf_init(&b, &mem, 0);

    (void) zae_json_add_string(&b, (const u_char *) s, len);

    return b.failed ? "(failed)" : (const char *) b.data;
}


static void
test_escape(void)
{
    /* expected values are Python 3 json.dumps(s) output */

    is_str(esc("abc", 3), "\"abc\"", "plain ascii");
    is_str(esc("", 0), "\"\"", "empty string");
    is_str(esc("a\"b\\c/d", 7), "\"a\\\"b\\\\c/d\"",
           "quote and backslash escaped, slash kept");
    is_str(esc("\n\r\t\b\f", 5), "\"\\n\\r\\t\\b\\f\"",
           "short escapes");
    is_str(esc("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"",
           "control bytes and DEL as \\u00xx");
    is_str(esc("\0x", 2), "\"\\u0000x\"", "NUL byte");
    is_str(esc("h\xc3\xa9llo \xe2\x82\xac", 10),
           "\"h\\u00e9llo \\u20ac\"", "BMP characters, lowercase hex");
    is_str(esc("\xf0\x9f\x98\x80z", 5), "\"\\ud83d\\ude00z\"",
           "astral character as a surrogate pair");
    is_str(esc("\xf4\x8f\xbf\xbf", 4), "\"\\udbff\\udfff\"",
           "U+10FFFF");
    is_str(esc("\xef\xbf\xbf", 3), "\"\\uffff\"", "U+FFFF");

    /* invalid UTF-8: one U+FFFD per offending byte */

    is_str(esc("a\xff" "b", 3), "\"a\\ufffdb\"", "invalid byte");
    is_str(esc("\xc3", 1), "\"\\ufffd\"", "truncated sequence");
    is_str(esc("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"", "overlong form");
    is_str(esc("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"",
           "encoded surrogate");
    is_str(esc("\xf4\x90\x80\x80", 4),
           "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF");
    is_str(esc("\xe2\x82x", 3), "\"\\ufffd\\ufffdx\"",
           "sequence cut by an ascii byte");
}


static zae_av_t *
parse_item(const char *s)
{
    zae_av_t   *item;
    zae_err_t   err;

    err.msg[0] = '\0';

    if (zae_item_parse(&mem, (const u_char *) s, strlen(s), &item, &err)
        != ZAE_OK)
    {
        printf("# parse error: %s\n", err.msg);
        return NULL;
    }

    return item;
}


static const char *
encode_item(const zae_av_t *item)
{
    zae_buf_t  b;

    zae_buf_init(&b, &mem, 0);

    if (zae_item_encode(&b, item) != ZAE_OK || b.data == NULL) {
        return "(failed)";
    }

    return (const char *) b.data;
}


static void
test_items(void)
{
    int          b;
    size_t       i;
    int64_t      v;
    zae_av_t    *item, *again, *a;
    zae_str_t    s;
    zae_err_t    err;
    const char  *enc;

    for (i = 0; i < NITEMS; i++) {
        item = parse_item(items[i]);

        if (!ok(item != NULL && item->type == ZAE_AV_M,
                "example item %zu decodes to a map", i))
        {
            continue;
        }

        enc = encode_item(item);

        if (strstr(items[i], "\xe2\x80\xa6") == NULL) {
            is_str(enc, items[i], "example item %zu re-encodes byte for byte",
                   i);

        } else {
            ok(strstr(enc, "\\u2026") != NULL,
               "example item %zu: non-ascii re-encoded as \\u2026", i);
        }

        again = parse_item(enc);
        ok(again && zae_av_equal(item, again),
           "example item %zu: decode(encode(item)) equals item", i);
        ok(zae_av_equal(item, zae_av_copy(&mem, item)),
           "example item %zu: copy equals item", i);
    }

    /* namespace forward */

    item = parse_item(items[0]);
    ok(item && zae_item_get_str(item, "SK", &s, &err) == ZAE_OK
       && s.len == 18 && memcmp(s.data, "#NAMESPACE#default", 18) == 0,
       "namespace SK");
    is_int(item->nattrs, 8, "namespace item has 8 attributes");
    is_str(item->attrs[2].name.data, "namespace_id",
           "attributes keep their order");

    /* entity meta */

    item = parse_item(items[2]);
    ok(zae_item_get_bool(item, "cascade", &b, &err) == ZAE_OK && b == 1,
       "entity cascade is BOOL true");
    a = zae_item_get(item, "metadata");
    ok(a && a->type == ZAE_AV_M && a->nattrs == 1, "metadata is a map");
    ok(zae_item_get_str(a, "tier", &s, &err) == ZAE_OK
       && s.len == 4 && memcmp(s.data, "gold", 4) == 0, "metadata.tier");
    is_int(zae_item_get_int64(item, "cascade", &v, &err), ZAE_ERROR,
           "BOOL read as a number is an error");
    ok(strstr(err.msg, "\"cascade\"") != NULL, "error names the attribute: %s",
       err.msg);
    is_int(zae_item_get_str(item, "missing", &s, &err), ZAE_DECLINED,
           "absent attribute is ZAE_DECLINED");

    /* bucket */

    item = parse_item(items[3]);
    ok(zae_item_get_int64(item, "b_rpm_tk", &v, &err) == ZAE_OK
       && v == 18000, "bucket b_rpm_tk = 18000");
    ok(zae_item_get_int64(item, "rf", &v, &err) == ZAE_OK
       && v == 1795444651132LL, "bucket rf = 1795444651132");
    ok(zae_item_get_int64(item, "b_tpm_cp", &v, &err) == ZAE_OK
       && v == 3000000, "bucket b_tpm_cp = 3000000");
    a = zae_item_get(item, "b_wcu_rp");
    ok(a && a->type == ZAE_AV_N && a->s.len == 4, "b_wcu_rp is N \"1000\"");

    v = 0;
    for (i = 0; i < item->nattrs; i++) {
        if (item->attrs[i].name.len > 5
            && memcmp(item->attrs[i].name.data, "b_", 2) == 0
            && memcmp(item->attrs[i].name.data + item->attrs[i].name.len - 3,
                      "_tk", 3) == 0)
        {
            v++;
        }
    }

    is_int(v, 3, "iteration finds three b_*_tk attributes");

    /* resource registry: SS */

    item = parse_item(items[7]);
    a = zae_item_get(item, "resources");
    ok(a && a->type == ZAE_AV_SS && a->nitems == 1
       && a->items[0]->type == ZAE_AV_S
       && a->items[0]->s.len == 5, "resources is SS [\"gpt-4\"]");

    /* provisioner: L and M of L */

    item = parse_item(items[9]);
    a = zae_item_get(item, "managed_entities");
    ok(a && a->type == ZAE_AV_M, "managed_entities is M");
    a = a ? zae_item_get(a, "user-premium") : NULL;
    ok(a && a->type == ZAE_AV_L && a->nitems == 1
       && a->items[0]->type == ZAE_AV_S, "managed_entities.user-premium L");

    /* audit: NULL and nested maps */

    item = parse_item(items[10]);
    a = zae_item_get(item, "principal");
    ok(a && a->type == ZAE_AV_NULL, "principal is NULL");
    a = zae_item_get(item, "resource");
    ok(a && a->type == ZAE_AV_NULL, "resource is NULL");
    a = zae_item_get(item, "details");
    a = a ? zae_item_get(a, "limits") : NULL;
    a = (a && a->nitems) ? a->items[0] : NULL;
    ok(a && zae_item_get_int64(a, "refill_period_seconds", &v, &err)
       == ZAE_OK && v == 60, "details.limits[0].refill_period_seconds = 60");
}


/*
 * zae_print_int64() against snprintf("%lld"): the boundaries, every power
 * of ten and its neighbours, both signs
 */

static void
test_print_int64(void)
{
    int       k, d, s;
    size_t    bad, n;
    u_char    buf[32], *end;
    int64_t   v, p;
    char      want[32];

    bad = 0;
    n = 0;

    for (k = 0, p = 1; k <= 19; k++) {
        for (d = -1; d <= 1; d++) {
            v = (k == 19) ? (d < 0 ? INT64_MAX - 1 : d == 0 ? INT64_MAX
                                                           : INT64_MIN)
                          : p + d;

            for (s = 0; s < 2; s++, v = (v == INT64_MIN) ? v : -v) {
                memset(buf, 'x', sizeof(buf));
                end = zae_print_int64(buf, v);
                (void) snprintf(want, sizeof(want), "%lld", (long long) v);
                n++;

                if ((size_t) (end - buf) != strlen(want)
                    || memcmp(buf, want, strlen(want)) != 0
                    || buf[strlen(want)] != 'x')
                {
                    if (bad++ < 3) {
                        printf("# %s printed as %.*s\n", want,
                               (int) (end - buf), (char *) buf);
                    }
                }
            }
        }

        if (k < 18) {
            p *= 10;
        }
    }

    is_int(bad, 0, "zae_print_int64: %zu values as snprintf prints them",
           n);
}


static void
test_int64(void)
{
    size_t      i;
    int64_t     v;
    zae_av_t   *n;
    zae_err_t   err;

    static const struct {
        const char  *text;
        int          rc;
        int64_t      v;
    } cases[] = {
        { "0", ZAE_OK, 0 },
        { "18000", ZAE_OK, 18000 },
        { "-5500", ZAE_OK, -5500 },
        { "-0", ZAE_OK, 0 },
        { "9223372036854775807", ZAE_OK, INT64_MAX },
        { "-9223372036854775808", ZAE_OK, INT64_MIN },
        { "9223372036854775808", ZAE_ERROR, 0 },
        { "-9223372036854775809", ZAE_ERROR, 0 },
        { "99999999999999999999999999", ZAE_ERROR, 0 },
        { "1.5", ZAE_ERROR, 0 },
        { "1E+3", ZAE_ERROR, 0 },
        { "1e3", ZAE_ERROR, 0 },
        { "+5", ZAE_ERROR, 0 },
        { " 5", ZAE_ERROR, 0 },
        { "5 ", ZAE_ERROR, 0 },
        { "-", ZAE_ERROR, 0 },
        { "", ZAE_ERROR, 0 },
        { "0x10", ZAE_ERROR, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = zae_av_num(&mem, (const u_char *) cases[i].text,
                       strlen(cases[i].text));
        v = 12345;
        err.msg[0] = '\0';

        is_int(zae_av_get_int64(n, &v, &err), cases[i].rc,
               "get_int64 \"%s\" rc", cases[i].text);

        if (cases[i].rc == ZAE_OK) {
            is_int(v, cases[i].v, "get_int64 \"%s\" value", cases[i].text);

        } else {
            ok(err.msg[0] != '\0' && v == 12345,
               "get_int64 \"%s\": error \"%s\", value untouched",
               cases[i].text, err.msg);
        }
    }

    n = zae_av_cstr(&mem, "5");
    is_int(zae_av_get_int64(n, &v, &err), ZAE_ERROR, "S is not a number");
    is_int(zae_av_get_int64(NULL, &v, NULL), ZAE_ERROR,
           "NULL value, NULL err");
}


static void
test_build(void)
{
    zae_av_t     *item, *l, *ss, *bin;
    zae_str_t     s;
    zae_err_t     err;

    item = zae_av_map(&mem);
    ok(item != NULL, "map created");

    is_int(zae_item_set_cstr(&mem, item, "PK", "ns/BUCKET#e#r#0"), ZAE_OK,
           "set PK");
    is_int(zae_item_set_cstr(&mem, item, "SK", "#STATE"), ZAE_OK, "set SK");
    is_int(zae_item_set_n(&mem, item, "rf", -42), ZAE_OK, "set rf");
    is_int(zae_item_set_bool(&mem, item, "cascade", 0), ZAE_OK, "set bool");
    is_int(zae_item_set_null(&mem, item, "parent_id"), ZAE_OK, "set null");
    is_int(zae_item_set_s(&mem, item, "q", (const u_char *) "a\"\n\xc3\xa9",
                          5), ZAE_OK, "set string needing escapes");

    l = zae_av_list(&mem);
    ok(zae_av_list_add(&mem, l, zae_av_int64(&mem, 1)) == ZAE_OK
       && zae_av_list_add(&mem, l, zae_av_cstr(&mem, "x")) == ZAE_OK,
       "list built");
    is_int(zae_item_set(&mem, item, "l", l), ZAE_OK, "set list");

    ss = zae_av_new(&mem, ZAE_AV_SS);
    ok(zae_av_list_add(&mem, ss, zae_av_cstr(&mem, "a")) == ZAE_OK
       && zae_av_list_add(&mem, ss, zae_av_cstr(&mem, "b")) == ZAE_OK,
       "string set built");
    is_int(zae_item_set(&mem, item, "ss", ss), ZAE_OK, "set SS");
    bin = zae_av_new(&mem, ZAE_AV_B);
    bin->s.data = (u_char *) "AAE=";
    bin->s.len = 4;
    is_int(zae_item_set(&mem, item, "bin", bin), ZAE_OK, "set B");

    is_str(encode_item(item),
           "{\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"},\"SK\":{\"S\":\"#STATE\"},"
           "\"rf\":{\"N\":\"-42\"},\"cascade\":{\"BOOL\":false},"
           "\"parent_id\":{\"NULL\":true},"
           "\"q\":{\"S\":\"a\\\"\\n\\u00e9\"},"
           "\"l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]},"
           "\"ss\":{\"SS\":[\"a\",\"b\"]},\"bin\":{\"B\":\"AAE=\"}}",
           "built item encodes in insertion order");

    ok(zae_av_equal(item, parse_item(encode_item(item))),
       "built item round-trips");

    /* replace keeps the position */

    is_int(zae_item_set_n(&mem, item, "SK", 7), ZAE_OK, "replace SK");
    is_int(item->nattrs, 9, "replace does not add");
    is_int(item->attrs[1].value->type, ZAE_AV_N, "SK replaced in place");


    is_int(zae_item_set(&mem, item, "x", NULL), ZAE_ERROR,
           "setting a NULL value (failed constructor) is an error");
    is_int(zae_av_list_add(&mem, item, zae_av_null(&mem)), ZAE_ERROR,
           "list_add on a map is an error");
    is_int(zae_av_map_add(&mem, l, (const u_char *) "k", 1,
                          zae_av_null(&mem)),
           ZAE_ERROR, "map_add on a list is an error");

    ok(zae_item_get_str(item, "PK", &s, &err) == ZAE_OK
       && s.len == 15 && s.data[15] == '\0', "strings are NUL-terminated");

    ok(!zae_av_equal(item, zae_av_map(&mem)), "different maps differ");
}


static int
parse_rc(const char *s, size_t len, const zae_json_limits_t *limits,
    zae_err_t *err)
{
    zae_av_t  *root;

    err->msg[0] = '\0';

    return zae_json_parse(&mem, (const u_char *) s, len, limits, &root, err);
}


static void
test_decoder(void)
{
    int                 rc, all;
    char               *deep;
    size_t              i, len;
    zae_av_t           *root, *item;
    zae_buf_t           b;
    zae_mem_t           smem;
    zae_err_t           err;
    zae_arena_t         small;
    zae_json_limits_t   lim;

    /* plain JSON */

    rc = zae_json_parse(&mem, (const u_char *) "{\"a\":[1,-2.5e3,true,null,"
                        "\"\\u00e9\\ud83d\\ude00\"],\"b\":{}}", 54, NULL,
                        &root, &err);
    is_int(rc, ZAE_OK, "plain json parses");
    ok(root && root->type == ZAE_AV_M && root->nattrs == 2, "root object");
    item = zae_json_get(root, "a");
    ok(item && item->type == ZAE_AV_L && item->nitems == 5, "array of 5");
    ok(item && item->items[1]->type == ZAE_AV_N
       && item->items[1]->s.len == 6
       && memcmp(item->items[1]->s.data, "-2.5e3", 6) == 0,
       "numbers keep their text");
    ok(item && item->items[4]->s.len == 6
       && memcmp(item->items[4]->s.data, "\xc3\xa9\xf0\x9f\x98\x80", 6) == 0,
       "escapes decoded to UTF-8");

    zae_buf_init(&b, &mem, 0);
    is_int(zae_json_encode(&b, root), ZAE_OK, "plain json encodes");
    is_str(b.data, "{\"a\":[1,-2.5e3,true,null,\"\\u00e9\\ud83d\\ude00\"],"
           "\"b\":{}}", "plain json re-encoded");

    /* rejections */

    static const struct {
        const char  *body;
        const char  *what;
    } bad[] = {
        { "", "empty body" },
        { "   ", "whitespace only" },
        { "{", "truncated object" },
        { "{\"a\":", "truncated value" },
        { "{\"a\":\"x", "truncated string" },
        { "[1,2", "truncated array" },
        { "{\"a\":1}}", "trailing garbage" },
        { "{\"a\":1} {}", "two documents" },
        { "{\"a\":1,\"a\":2}", "duplicate key" },
        { "{\"a\":{\"b\":1,\"b\":1}}", "nested duplicate key" },
        { "{'a':1}", "single quotes" },
        { "{\"a\":01}", "leading zero" },
        { "{\"a\":1,}", "trailing comma" },
        { "/* c */ {}", "comment" },
        { "{\"a\":\"\xff\"}", "invalid UTF-8 in a string" },
        { "{\"\xc0\xaf\":1}", "invalid UTF-8 in a key" },
        { "{\"a\":\"\\udc00\"}", "escaped lone low surrogate" },
        { "{\"a\":\"\x01\"}", "raw control character" },
        { "nul", "truncated literal" },
        { "\xef\xbb\xbf{}", "byte order mark" },
        { "<html>502 Bad Gateway</html>", "html" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = parse_rc(bad[i].body, strlen(bad[i].body), NULL, &err);
        ok(rc == ZAE_ERROR && err.msg[0] != '\0', "rejects %s: %s",
           bad[i].what, err.msg);
    }

    rc = zae_json_parse(&mem, (const u_char *) "[\"\\ud800\"]", 10, NULL,
                        &root, &err);
    ok(rc == ZAE_ERROR
       || (root->items[0]->s.len && root->items[0]->s.data[0] < 0x80),
       "lone high surrogate at the end: an error or a replacement");

    rc = parse_rc("{\"a\":\"x\0y\"}", 11, NULL, &err);
    is_int(rc, ZAE_ERROR, "raw NUL byte in a string rejected");

    rc = parse_rc("{\"a\":\"x\\u0000y\"}", 16, NULL, &err);
    is_int(rc, ZAE_OK, "escaped NUL accepted (counted strings)");

    rc = parse_rc("{\"n\":1e999999999999}", 20, NULL, &err);
    is_int(rc, ZAE_OK, "huge number accepted as text");

    rc = parse_rc("{\"n\":123456789012345678901234567890}", 36, NULL, &err);
    is_int(rc, ZAE_OK, "long integer accepted as text");

    /* duplicates in large objects (sorted check) */

    zae_buf_init(&b, &mem, 0);
    (void) zae_buf_add_str(&b, "{");

    for (i = 0; i < 5000; i++) {
        (void) zae_buf_printf(&b, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    }

    (void) zae_buf_add_str(&b, "}");
    is_int(parse_rc((char *) b.data, b.len, NULL, &err), ZAE_OK,
           "5000 distinct keys accepted");

    b.len--;
    (void) zae_buf_add_str(&b, ",\"k4321\":0}");
    is_int(parse_rc((char *) b.data, b.len, NULL, &err), ZAE_ERROR,
           "a duplicate among 5001 keys rejected");
    ok(strstr(err.msg, "duplicate") != NULL, "duplicate message: %s",
       err.msg);

    is_int(parse_rc("{\"\":1,\"a\":2,\"\":3}", 17, NULL, &err), ZAE_ERROR,
           "duplicate empty key rejected");
    ok(strstr(err.msg, "duplicate") != NULL, "duplicate message: %s",
       err.msg);

    /* every strict prefix of an example item is an error */

    all = 1;
    len = strlen(items[3]);

    for (i = 0; i < len; i++) {
        if (parse_rc(items[3], i, NULL, &err) != ZAE_ERROR) {
            all = 0;
            printf("# prefix %zu accepted\n", i);
        }
    }

    ok(all, "all %zu truncations of the bucket item rejected", len);

    /* depth */

    deep = zae_alloc(&mem, 2 * 1000 + 1);

    for (i = 0; i < 32; i++) {
        deep[i] = '[';
        deep[32 + i] = ']';
    }

    is_int(parse_rc(deep, 64, NULL, &err), ZAE_OK, "32 levels accepted");

    for (i = 0; i < 33; i++) {
        deep[i] = '[';
        deep[33 + i] = ']';
    }

    is_int(parse_rc(deep, 66, NULL, &err), ZAE_ERROR, "33 levels rejected");
    ok(strstr(err.msg, "deep") != NULL, "depth message: %s", err.msg);

    for (i = 0; i < 1000; i++) {
        deep[i] = '[';
        deep[1000 + i] = ']';
    }

    is_int(parse_rc(deep, 2000, NULL, &err), ZAE_ERROR,
           "1000 levels rejected");

    for (i = 0; i < 1000; i++) {
        memcpy(deep + i * 2, "{\"", 2);
    }

    is_int(parse_rc(deep, 2000, NULL, &err), ZAE_ERROR,
           "1000 open objects rejected");

    memset(&lim, 0, sizeof(zae_json_limits_t));
    lim.max_depth = 2;
    is_int(parse_rc("[[1]]", 5, &lim, &err), ZAE_OK, "max_depth 2: 2 levels");
    is_int(parse_rc("[[[1]]]", 7, &lim, &err), ZAE_ERROR,
           "max_depth 2: 3 levels rejected");

    memset(&lim, 0, sizeof(zae_json_limits_t));
    lim.max_size = 10;
    is_int(parse_rc("[1,2,3,4,5]", 11, &lim, &err), ZAE_ERROR,
           "body over max_size rejected");
    ok(strstr(err.msg, "large") != NULL, "size message: %s", err.msg);
    is_int(parse_rc("[1,2,3,4]", 9, &lim, &err), ZAE_OK,
           "body under max_size accepted");

    memset(&lim, 0, sizeof(zae_json_limits_t));
    lim.max_nodes = 4;
    is_int(parse_rc("[1,2,3]", 7, &lim, &err), ZAE_OK, "4 nodes accepted");
    is_int(parse_rc("[1,2,3,4]", 9, &lim, &err), ZAE_ERROR,
           "5 nodes rejected");
    is_int(parse_rc("{\"a\":1,\"b\":2}", 13, &lim, &err), ZAE_ERROR,
           "keys count as nodes");

    /* memory exhaustion is an error, not a crash */

    for (i = 64; i < 1024 * 1024; i *= 2) {
        zae_arena_init(&small, i);
        smem = zae_arena_mem(&small);
        rc = zae_item_parse(&smem, (const u_char *) items[3],
                            strlen(items[3]), &item, &err);
        zae_arena_free(&small);

        if (rc == ZAE_OK) {
            break;
        }
    }

    ok(i > 64 && i < 1024 * 1024,
       "arena limits below %zu fail cleanly, %zu is enough", i / 2, i);

    /* DynamoDB typed values */

    static const struct {
        const char  *body;
        const char  *what;
    } badav[] = {
        { "{\"a\":{\"X\":\"1\"}}", "unknown type" },
        { "{\"a\":{\"S\":\"1\",\"N\":\"1\"}}", "two types" },
        { "{\"a\":{}}", "no type" },
        { "{\"a\":\"x\"}", "bare string" },
        { "{\"a\":{\"S\":1}}", "S with a number" },
        { "{\"a\":{\"N\":5}}", "N with a number" },
        { "{\"a\":{\"N\":\"\"}}", "empty N" },
        { "{\"a\":{\"BOOL\":\"true\"}}", "BOOL with a string" },
        { "{\"a\":{\"NULL\":false}}", "NULL false" },
        { "{\"a\":{\"M\":[]}}", "M with an array" },
        { "{\"a\":{\"M\":{\"b\":1}}}", "M member untyped" },
        { "{\"a\":{\"L\":[1]}}", "L member untyped" },
        { "{\"a\":{\"SS\":[1]}}", "SS with a number" },
        { "{\"a\":{\"NS\":\"1\"}}", "NS not a list" },
        { "[]", "item not a map" },
    };

    for (i = 0; i < sizeof(badav) / sizeof(badav[0]); i++) {
        err.msg[0] = '\0';
        rc = zae_item_parse(&mem, (const u_char *) badav[i].body,
                            strlen(badav[i].body), &item, &err);
        ok(rc == ZAE_ERROR && item == NULL && err.msg[0] != '\0',
           "typed value rejects %s: %s", badav[i].what, err.msg);
    }

    rc = zae_item_parse(&mem, (const u_char *) "{\"n\":{\"NS\":[\"1\",\"2\"]},"
                        "\"b\":{\"BS\":[\"AA==\"]},\"e\":{\"L\":[]},"
                        "\"m\":{\"M\":{}}}", 68, &item, &err);
    is_int(rc, ZAE_OK, "NS, BS, empty L and M decode");
    ok(rc == ZAE_OK && zae_item_get(item, "n")->items[1]->type == ZAE_AV_N,
       "NS members are N");
    ok(rc == ZAE_OK && zae_item_get(item, "b")->items[0]->type == ZAE_AV_B,
       "BS members are B");
    is_str(rc == ZAE_OK ? encode_item(item) : "",
           "{\"n\":{\"NS\":[\"1\",\"2\"]},\"b\":{\"BS\":[\"AA==\"]},"
           "\"e\":{\"L\":[]},\"m\":{\"M\":{}}}", "sets re-encode");
}


int
main(void)
{
    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_escape();
    test_items();
    test_int64();
    test_print_int64();
    test_build();
    test_decoder();

    zae_arena_free(&arena);

    return tap_done();
}
