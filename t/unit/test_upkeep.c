
/*
 * Copyright (C) zae-limit authors
 *
 * Unit tests of the bucket upkeep writes (zae_upkeep.c): the UpdateItem
 * bodies of the parameter sync after a limits change, the aggregator's
 * proactive refill and its spread of shard_count.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_json.h"
#include "zae_ddb.h"
#include "zae_limit.h"
#include "zae_upkeep.h"


#include "ddb_req_test.h"


#define KEY(shard)                                                           \
    "\"Key\":{\"PK\":{\"S\":\"ns1/BUCKET#e1#gpt-4#" shard "\"},"             \
    "\"SK\":{\"S\":\"#STATE\"}}"


static void
test_sync(void)
{
    int               rc;
    zae_err_t         err;
    zae_str_t         stale[1];
    zae_limit_t       l;
    zae_limits_t      ls;
    zae_ddb_req_t     r;
    zae_bucket_ref_t  ref;

    memset(&ref, 0, sizeof(ref));
    ref.ns = str("ns1");
    ref.entity_id = str("e1");
    ref.resource = str("gpt-4");
    ref.shard = 0;

    ls.nelts = 0;

    if (!ok(zae_limit_parse(&l, (u_char *) "rpm:100/min:150", 15, &err)
            == ZAE_OK
            && zae_limits_add(&ls, &l, &err) == ZAE_OK,
            "limit rpm:100/min:150"))
    {
        return;
    }

    memset(&r, 0, sizeof(r));
    rc = zae_upkeep_sync(&mem, &r, &ref, &ls, 0, NULL, 0);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\"," KEY("0") ","
           "\"UpdateExpression\":\"SET #n2 = :v0, #n3 = :v1, #n4 = :v2, "
           "#n5 = if_not_exists(#n5, :v3), #n6 = if_not_exists(#n6, :v4) "
           "REMOVE #n1\","
           "\"ConditionExpression\":\"attribute_exists(#n0)\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"PK\",\"#n1\":\"ttl\","
           "\"#n2\":\"b_rpm_cp\",\"#n3\":\"b_rpm_ra\",\"#n4\":\"b_rpm_rp\","
           "\"#n5\":\"b_rpm_tk\",\"#n6\":\"b_rpm_tc\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"150000\"},"
           "\":v1\":{\"N\":\"100000\"},\":v2\":{\"N\":\"60000\"},"
           "\":v3\":{\"N\":\"150000\"},\":v4\":{\"N\":\"0\"}},"
           "\"ReturnValues\":\"ALL_NEW\"}",
           "sync: cp/ra/rp set, tk full and tc 0 when new, ttl removed");

    stale[0] = str("tpm");
    ref.shard = 2;

    memset(&r, 0, sizeof(r));
    rc = zae_upkeep_sync(&mem, &r, &ref, &ls, 1800000000, stale, 1);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\"," KEY("2") ","
           "\"UpdateExpression\":\"SET #n2 = :v0, #n3 = :v1, #n4 = :v2, "
           "#n5 = if_not_exists(#n5, :v3), #n6 = if_not_exists(#n6, :v4), "
           "#n1 = :v5 REMOVE #n10, #n7, #n8, #n9, #n11\","
           "\"ConditionExpression\":\"attribute_exists(#n0)\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"PK\",\"#n1\":\"ttl\","
           "\"#n2\":\"b_rpm_cp\",\"#n3\":\"b_rpm_ra\",\"#n4\":\"b_rpm_rp\","
           "\"#n5\":\"b_rpm_tk\",\"#n6\":\"b_rpm_tc\","
           "\"#n7\":\"b_tpm_cp\",\"#n8\":\"b_tpm_ra\",\"#n9\":\"b_tpm_rp\","
           "\"#n10\":\"b_tpm_tk\",\"#n11\":\"b_tpm_tc\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"150000\"},"
           "\":v1\":{\"N\":\"100000\"},\":v2\":{\"N\":\"60000\"},"
           "\":v3\":{\"N\":\"150000\"},\":v4\":{\"N\":\"0\"},"
           "\":v5\":{\"N\":\"1800000000\"}},"
           "\"ReturnValues\":\"ALL_NEW\"}",
           "sync on shard 2: ttl set, the stale limit's five fields removed");
}


static void
test_refill(void)
{
    int               rc;
    int64_t           tokens[2];
    zae_str_t         names[2];
    zae_ddb_req_t     r;
    zae_bucket_ref_t  ref;

    memset(&ref, 0, sizeof(ref));
    ref.ns = str("ns1");
    ref.entity_id = str("e1");
    ref.resource = str("gpt-4");
    ref.shard = 1;

    names[0] = str("rpm");
    names[1] = str("wcu");
    tokens[0] = 2500;
    tokens[1] = 1000;

    memset(&r, 0, sizeof(r));
    rc = zae_upkeep_refill(&mem, &r, &ref, 1800000000123LL,
                           1800000000000LL, names, tokens, 2);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\"," KEY("1") ","
           "\"UpdateExpression\":\"SET #n0 = :v0 ADD #n1 :v2, #n2 :v3\","
           "\"ConditionExpression\":\"#n0 = :v1\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"rf\","
           "\"#n1\":\"b_rpm_tk\",\"#n2\":\"b_wcu_tk\"},"
           "\"ExpressionAttributeValues\":{"
           "\":v0\":{\"N\":\"1800000000123\"},"
           "\":v1\":{\"N\":\"1800000000000\"},"
           "\":v2\":{\"N\":\"2500\"},\":v3\":{\"N\":\"1000\"}}}",
           "refill: rf moved to now only if unchanged, tokens added");

    memset(&r, 0, sizeof(r));
    is_int(zae_upkeep_refill(&mem, &r, &ref, 1, 0, names, tokens, 0),
           ZAE_ERROR, "refill of no limit refused");
}


static void
test_shard_count(void)
{
    int               rc;
    zae_ddb_req_t     r;
    zae_bucket_ref_t  ref;

    memset(&ref, 0, sizeof(ref));
    ref.ns = str("ns1");
    ref.entity_id = str("e1");
    ref.resource = str("gpt-4");
    ref.shard = 3;

    memset(&r, 0, sizeof(r));
    rc = zae_upkeep_shard_count(&mem, &r, &ref, 8);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\"," KEY("3") ","
           "\"UpdateExpression\":\"SET #n0 = :v0\","
           "\"ConditionExpression\":\"#n0 < :v0\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"shard_count\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"8\"}}}",
           "shard_count raised, never lowered");
}


int
main(void)
{
    zae_arena_t  arena;

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_sync();
    test_refill();
    test_shard_count();

    zae_arena_free(&arena);

    return tap_done();
}
