
/*
 * Copyright (C) zae-limit authors
 *
 * Unit tests of the admin-side record codecs against the example items
 * of the zae-limiter fact sheet (section 1.3).
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_bucket.h"
#include "zae_records.h"


#define S(x)  { sizeof(x) - 1, (u_char *) x }


static zae_mem_t  mem;


static char *
buf_cstr(zae_buf_t *b)
{
    if (b->failed || zae_buf_add(b, "", 1) != ZAE_OK) {
        return NULL;
    }

    return (char *) b->data;
}


static void
test_time(void)
{
    u_char  out[ZAE_TS_US_LEN + 1];

    zae_ts_format(out, 1795444650);
    is_str(out, "2026-11-23T14:37:30Z", "timestamp format");

    zae_ts_format(out, 1709164800);
    is_str(out, "2024-02-29T00:00:00Z", "leap day format");
    zae_ts_format(out, 0);
    is_str(out, "1970-01-01T00:00:00Z", "epoch format");

    zae_ts_format_us(out, 1795444800123456LL);
    is_str(out, "2026-11-23T14:40:00.123456+00:00",
           "isoformat with microseconds");

    zae_ts_format_us(out, 1795444800000000LL);
    is_str(out, "2026-11-23T14:40:00+00:00",
           "isoformat omits zero microseconds");

    zae_ts_format_us(out, 1795444800000001LL);
    is_str(out, "2026-11-23T14:40:00.000001+00:00",
           "isoformat keeps leading zeros");
}


static void
test_ulid(void)
{
    u_char  out[ZAE_ULID_LEN + 1];
    u_char  rnd[ZAE_ULID_RAND_LEN];

    memset(rnd, 0, sizeof(rnd));
    zae_ulid_encode(out, 1469918176385ULL, rnd);
    out[ZAE_ULID_LEN] = '\0';
    is_str(out, "01ARYZ6S410000000000000000", "ulid time part");

    memset(rnd, 0xff, sizeof(rnd));
    zae_ulid_encode(out, 0, rnd);
    is_str(out, "0000000000ZZZZZZZZZZZZZZZZ", "ulid random part all ones");

    memset(rnd, 0, sizeof(rnd));
    rnd[9] = 1;
    zae_ulid_encode(out, 0, rnd);
    is_str(out, "00000000000000000000000001", "ulid last random bit");

    memset(rnd, 0, sizeof(rnd));
    zae_ulid_encode(out, 1469918176385ULL, rnd);
    out[10] = '\0';
    is_str(out, "01ARYZ6S41", "ulid time part of the spec's example");

    ok(!zae_ulid_valid((u_char *) "01ARYZ6S41TSV4RRFFQ69G5FAU", 26),
       "ulid with U is invalid");
    ok(!zae_ulid_valid((u_char *) "81ARYZ6S41TSV4RRFFQ69G5FAV", 26),
       "ulid over 48 bits is invalid");
    ok(!zae_ulid_valid((u_char *) "01ARYZ6S41", 10), "short ulid invalid");
    ok(zae_ulid_valid((u_char *) "01aryz6s41tsv4rrffq69g5fav", 26),
       "lowercase ulid valid");
}


static void
test_nsid(void)
{
    u_char  out[ZAE_NSID_LEN + 1];
    u_char  rnd[ZAE_NSID_RAND_LEN];

    out[ZAE_NSID_LEN] = '\0';

    /* base64url of 8 zero bytes is AAAAAAAAAAA= */

    memset(rnd, 0, sizeof(rnd));
    is_int(zae_nsid_encode(out, rnd), ZAE_OK, "nsid of zeros ok");
    is_str(out, "AAAAAAAAAAA", "nsid of zeros");

    /* b"\xb3\x35\xe3\x67\xa3\x51\x55\x72" -> szXjZ6NRVXI */

    memcpy(rnd, "\xb3\x35\xe3\x67\xa3\x51\x55\x72", 8);
    is_int(zae_nsid_encode(out, rnd), ZAE_OK, "nsid encode ok");
    is_str(out, "szXjZ6NRVXI", "nsid base64url value");

    memset(rnd, 0xfb, sizeof(rnd));
    is_int(zae_nsid_encode(out, rnd), ZAE_DECLINED,
           "nsid starting with dash is declined");
    is_str(out, "-_v7-_v7-_s", "nsid uses the url alphabet");

    ok(zae_nsid_valid((u_char *) "szXjZ6M1yVc", 11), "nsid valid");
    ok(!zae_nsid_valid((u_char *) "szX/Z6M1yVc", 11), "nsid with slash");
    ok(!zae_nsid_valid((u_char *) "", 0), "empty nsid");
}


static void
test_windows(void)
{
    u_char        out[ZAE_TS_LEN + 1];
    time_t        t, s;
    zae_window_e  w;

    t = 1795444650;       /* 2026-11-23T14:37:30Z */

    zae_ts_format(out, zae_window_start(ZAE_WINDOW_HOURLY, t));
    is_str(out, "2026-11-23T14:00:00Z", "hourly window start");
    zae_ts_format(out, zae_window_start(ZAE_WINDOW_DAILY, t));
    is_str(out, "2026-11-23T00:00:00Z", "daily window start");
    s = zae_window_start(ZAE_WINDOW_MONTHLY, t);
    zae_ts_format(out, s);
    is_str(out, "2026-11-01T00:00:00Z", "monthly window start");

    t = 1798761599;       /* 2026-12-31T23:59:59Z */
    zae_ts_format(out, zae_window_start(ZAE_WINDOW_MONTHLY, t));
    is_str(out, "2026-12-01T00:00:00Z", "december window start");

    is_int(zae_window_parse((u_char *) "daily", 5, &w), ZAE_OK,
           "daily parses");
    is_int(w, ZAE_WINDOW_DAILY, "daily value");
    is_int(zae_window_parse((u_char *) "weekly", 6, &w), ZAE_ERROR,
           "weekly refused");
    is_str(zae_window_name(ZAE_WINDOW_MONTHLY), "monthly", "window name");
}


static void
test_floor_div(void)
{
    is_int(zae_floor_div(-2500, 1000), -3, "floor -2500 / 1000");
    is_int(zae_floor_div(2500, 1000), 2, "floor 2500 / 1000");
    is_int(zae_floor_div(-3000, 1000), -3, "floor -3000 / 1000");
}


static void
test_version(void)
{
    zae_err_t             err;
    zae_version_record_t  v;

    is_int(zae_version_cmp((u_char *) "0.10.0", 6, (u_char *) "0.9.3", 5), 1,
           "0.10.0 > 0.9.3");
    is_int(zae_version_cmp((u_char *) "v1.2", 4, (u_char *) "1.2.0", 5), 0,
           "v1.2 == 1.2.0");
    is_int(zae_version_cmp((u_char *) "0.0.0", 5, (u_char *) "0.0.1", 5), -1,
           "0.0.0 < 0.0.1");

    memset(&v, 0, sizeof(v));
    v.schema_version.data = (u_char *) "0.10.0";
    v.schema_version.len = 6;
    v.client_min_version.data = (u_char *) "0.0.0";
    v.client_min_version.len = 5;

    is_int(zae_version_check(&v, "0.1.0", &err), ZAE_OK,
           "0.1.0 client on 0.10.0 schema");

    is_int(zae_version_check(&v, "1.0.0", &err), ZAE_ERROR,
           "major mismatch refused");
    is_str(err.msg, "schema version \"0.10.0\" is incompatible with client "
           "version \"1.0.0\" (major versions differ)", "major message");

    v.client_min_version.data = (u_char *) "0.2.0";
    is_int(zae_version_check(&v, "0.1.0", &err), ZAE_ERROR,
           "client below client_min_version refused");
}


static void
test_items(void)
{
    zae_buf_t             b;
    zae_ns_record_t       ns;
    zae_prov_state_t      p;
    zae_prov_entity_t     pe;
    zae_audit_limit_t     lim;
    zae_audit_record_t    a;
    zae_version_record_t  v;
    zae_str_t             nsid = S("szXjZ6M1yVc");
    zae_str_t             res = S("gpt-4");
    zae_str_t             block = S("block");
    zae_str_t             null = zae_null_string;

    memset(&ns, 0, sizeof(ns));
    ns.name = (zae_str_t) S("default");
    ns.nsid = nsid;
    ns.status = (zae_str_t) S("active");
    ns.created_at = (zae_str_t) S("2026-11-23T14:37:30Z");

    zae_buf_init(&b, &mem, 16);
    is_int(zae_ns_item(&b, &ns, 0), ZAE_OK, "namespace forward ok");
    is_str(buf_cstr(&b),
           "{\"PK\":{\"S\":\"_/SYSTEM#\"},"
           "\"SK\":{\"S\":\"#NAMESPACE#default\"},\"namespace_id\":"
           "{\"S\":\"szXjZ6M1yVc\"},\"namespace_name\":"
           "{\"S\":\"default\"},\"status\":{\"S\":\"active\"},\"created_at\":"
           "{\"S\":\"2026-11-23T14:37:30Z\"},\"GSI4PK\":{\"S\":\"_\"},"
           "\"GSI4SK\":{\"S\":\"_/SYSTEM#\"}}",
           "namespace forward item equals zae-limiter's example");

    ns.status = (zae_str_t) S("deleted");
    ns.deleted_at = (zae_str_t) S("2026-11-24T00:00:00Z");
    zae_buf_init(&b, &mem, 16);
    is_int(zae_ns_item(&b, &ns, 1), ZAE_OK, "namespace reverse ok");
    is_str(buf_cstr(&b),
           "{\"PK\":{\"S\":\"_/SYSTEM#\"},\"SK\":{\"S\":\"#NSID#szXjZ6M1yVc\"},"
           "\"namespace_id\":{\"S\":\"szXjZ6M1yVc\"},\"namespace_name\":"
           "{\"S\":\"default\"},\"status\":{\"S\":\"deleted\"},\"created_at\":"
           "{\"S\":\"2026-11-23T14:37:30Z\"},\"deleted_at\":"
           "{\"S\":\"2026-11-24T00:00:00Z\"},\"GSI4PK\":{\"S\":\"_\"},"
           "\"GSI4SK\":{\"S\":\"_/SYSTEM#\"}}",
           "soft-deleted namespace reverse item");

    memset(&v, 0, sizeof(v));
    v.schema_version = (zae_str_t) S("0.10.0");
    v.lambda_version = (zae_str_t) S("0.10.3");
    v.client_min_version = (zae_str_t) S("0.0.0");
    v.updated_at = (zae_str_t) S("2026-11-23T14:37:30Z");
    v.updated_by = (zae_str_t) S("client:0.10.3");

    zae_buf_init(&b, &mem, 16);
    is_int(zae_version_item(&b, &v), ZAE_OK, "version item ok");
    is_str(buf_cstr(&b),
           "{\"PK\":{\"S\":\"_/SYSTEM#\"},\"SK\":{\"S\":\"#VERSION\"},"
           "\"schema_version\":{\"S\":\"0.10.0\"},\"lambda_version\":"
           "{\"S\":\"0.10.3\"},\"client_min_version\":{\"S\":\"0.0.0\"},"
           "\"updated_at\":{\"S\":\"2026-11-23T14:37:30Z\"},\"updated_by\":"
           "{\"S\":\"client:0.10.3\"},\"GSI4PK\":{\"S\":\"_\"},"
           "\"GSI4SK\":{\"S\":\"_/SYSTEM#\"}}",
           "version item equals zae-limiter's example");

    v.lambda_version = null;
    zae_buf_init(&b, &mem, 16);
    zae_version_item(&b, &v);
    ok(strstr(buf_cstr(&b), "\"lambda_version\":{\"NULL\":true}") != NULL,
       "NULL lambda_version");

    lim.name = (zae_str_t) S("rpm");
    lim.capacity = 100;
    lim.refill_amount = 100;
    lim.refill_period = 60;

    zae_buf_t  d;

    zae_buf_init(&d, &mem, 16);
    is_int(zae_audit_details_limits(&d, &lim, 1, &block), ZAE_OK,
           "limits details ok");

    memset(&a, 0, sizeof(a));
    a.nsid = nsid;
    a.entity_id = (zae_str_t) S("$SYSTEM");
    a.event_id = (zae_str_t) S("01KAQ3V7X0SZ5Q2W8E4R6T9Y1M");
    a.timestamp = (zae_str_t) S("2026-11-23T14:37:30Z");
    a.action = (zae_str_t) S("limits_set");
    a.details.data = d.data;
    a.details.len = d.len;
    a.ttl = 1803220650;

    zae_buf_init(&b, &mem, 16);
    is_int(zae_audit_item(&b, &a), ZAE_OK, "audit item ok");
    is_str(buf_cstr(&b),
           "{\"PK\":{\"S\":\"szXjZ6M1yVc/AUDIT#$SYSTEM\"},\"SK\":"
           "{\"S\":\"#AUDIT#01KAQ3V7X0SZ5Q2W8E4R6T9Y1M\"},\"entity_id\":"
           "{\"S\":\"$SYSTEM\"},\"event_id\":"
           "{\"S\":\"01KAQ3V7X0SZ5Q2W8E4R6T9Y1M\"},\"timestamp\":"
           "{\"S\":\"2026-11-23T14:37:30Z\"},\"action\":"
           "{\"S\":\"limits_set\"},\"principal\":{\"NULL\":true},"
           "\"resource\":{\"NULL\":true},\"details\":{\"M\":{\"limits\":"
           "{\"L\":[{\"M\":{\"name\":{\"S\":\"rpm\"},\"capacity\":"
           "{\"N\":\"100\"},\"refill_amount\":{\"N\":\"100\"},"
           "\"refill_period_seconds\":{\"N\":\"60\"}}}]},\"on_unavailable\":"
           "{\"S\":\"block\"}}},\"ttl\":{\"N\":\"1803220650\"},\"GSI4PK\":"
           "{\"S\":\"szXjZ6M1yVc\"},\"GSI4SK\":"
           "{\"S\":\"szXjZ6M1yVc/AUDIT#$SYSTEM\"}}",
           "audit item equals zae-limiter's example");

    zae_buf_init(&d, &mem, 16);
    zae_audit_details_created(&d, &(zae_str_t) S("key-1"),
                              &(zae_str_t) S("proj-1"), 1);
    is_str(buf_cstr(&d),
           "{\"name\":{\"S\":\"key-1\"},\"parent_id\":{\"S\":\"proj-1\"},"
           "\"cascade\":{\"BOOL\":true},\"metadata\":{\"M\":{}}}",
           "entity_created details");

    zae_buf_init(&d, &mem, 16);
    zae_audit_details_created(&d, &(zae_str_t) S("p"), &null, 0);
    ok(strstr(buf_cstr(&d), "\"parent_id\":{\"NULL\":true}") != NULL,
       "root entity has NULL parent_id");

    zae_buf_init(&d, &mem, 16);
    zae_audit_details_deleted(&d, 3);
    is_str(buf_cstr(&d), "{\"records_deleted\":{\"N\":\"3\"}}",
           "entity_deleted details");

    zae_buf_init(&d, &mem, 16);
    zae_audit_details_names(&d, &lim.name, 1, NULL);
    is_str(buf_cstr(&d), "{\"limits\":{\"L\":[{\"S\":\"rpm\"}]},"
           "\"on_unavailable\":{\"NULL\":true}}", "limits_deleted details");

    pe.entity_id = (zae_str_t) S("user-premium");
    pe.resources = &res;
    pe.nresources = 1;

    memset(&p, 0, sizeof(p));
    p.managed_system = 1;
    p.resources = &res;
    p.nresources = 1;
    p.entities = &pe;
    p.nentities = 1;
    p.last_applied = (zae_str_t) S("2026-11-23T14:40:00.123456+00:00");
    p.applied_hash = (zae_str_t) S("sha256:9f");

    zae_buf_init(&b, &mem, 16);
    is_int(zae_prov_item(&b, &nsid, &p), ZAE_OK, "provisioner item ok");
    is_str(buf_cstr(&b),
           "{\"PK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"},\"SK\":"
           "{\"S\":\"#PROVISIONER\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
           "\"managed_system\":{\"BOOL\":true},\"managed_resources\":"
           "{\"L\":[{\"S\":\"gpt-4\"}]},\"managed_entities\":{\"M\":"
           "{\"user-premium\":{\"L\":[{\"S\":\"gpt-4\"}]}}},\"last_applied\":"
           "{\"S\":\"2026-11-23T14:40:00.123456+00:00\"},\"applied_hash\":"
           "{\"S\":\"sha256:9f\"}}",
           "provisioner item equals zae-limiter's example");
}


static void
test_usage(void)
{
    char               *s;
    zae_buf_t           b;
    zae_usage_delta_t   u;
    zae_str_t           table = S("zae-limiter");

    memset(&u, 0, sizeof(u));
    u.nsid = (zae_str_t) S("szXjZ6M1yVc");
    u.entity_id = (zae_str_t) S("solo");
    u.resource = (zae_str_t) S("api");
    u.limit_name = (zae_str_t) S("tpm");
    u.window = ZAE_WINDOW_HOURLY;
    u.event_time = 1795444650;      /* 2026-11-23T14:37:30Z */
    u.delta_milli = -2500;
    u.ttl = 1803220735;

    zae_buf_init(&b, &mem, 16);
    is_int(zae_usage_update_body(&b, &table, &u), ZAE_OK, "usage body ok");
    s = buf_cstr(&b);

    ok(s && strstr(s, "\"Key\":{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#solo\"},"
                   "\"SK\":{\"S\":\"#USAGE#api#2026-11-23T14:00:00Z\"}}"),
       "usage key");
    ok(s && strstr(s, "\":v5\":{\"S\":\"USAGE#2026-11-23T14:00:00Z#solo\"}"),
       "usage GSI2SK");
    ok(s && strstr(s, "\":v4\":{\"S\":\"szXjZ6M1yVc/RESOURCE#api\"}"),
       "usage GSI2PK");
    ok(s && strstr(s, "\":v9\":{\"N\":\"-3\"}"),
       "usage delta uses floor division");
    ok(s && strstr(s, "\"#n9\":\"tpm\""), "usage counter named by limit");
    ok(s && strstr(s, "\":v8\":{\"N\":\"1803220735\"}"), "usage ttl");

    u.window = ZAE_WINDOW_MONTHLY;
    zae_buf_init(&b, &mem, 16);
    zae_usage_update_body(&b, &table, &u);
    s = buf_cstr(&b);
    ok(s && strstr(s, "#USAGE#api#2026-11-01T00:00:00Z"), "monthly key");
}


static void
test_escape(void)
{
    zae_buf_t  b;

    zae_buf_init(&b, &mem, 4);
    zae_rec_json_str(&b, (u_char *) "a\"b\\c\n\x01", 7);
    is_str(buf_cstr(&b), "\"a\\\"b\\\\c\\u000a\\u0001\"", "json escaping");
}


int
main(void)
{
    zae_arena_t  arena;

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_time();
    test_ulid();
    test_nsid();
    test_windows();
    test_floor_div();
    test_version();
    test_items();
    test_usage();
    test_escape();

    zae_arena_free(&arena);

    return tap_done();
}
