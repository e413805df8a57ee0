
/*
 * Copyright (C) zae-limit authors
 *
 * Unit tests of the registry writes (zae_registry.c): the UpdateItem
 * bodies that zae-admin sends for the #RESOURCES set, the
 * #ENTITY_CONFIG_RESOURCES counters and a namespace's status.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_json.h"
#include "zae_ddb.h"
#include "zae_registry.h"


#include "ddb_req_test.h"


static void
test_resource(void)
{
    int            rc;
    zae_str_t      ns, res;
    zae_ddb_req_t  r;

    ns = str("a1b2c3d4e5f6");
    res = str("gpt-4");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_resource(&mem, &r, &ns, &res, 1);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":"
           "\"a1b2c3d4e5f6/SYSTEM#\"},\"SK\":{\"S\":\"#RESOURCES\"}},"
           "\"UpdateExpression\":\"SET GSI4PK = if_not_exists(GSI4PK, :v0), "
           "GSI4SK = if_not_exists(GSI4SK, :v1) ADD resources :v2\","
           "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"a1b2c3d4e5f6\"},"
           "\":v1\":{\"S\":\"a1b2c3d4e5f6/SYSTEM#\"},"
           "\":v2\":{\"SS\":[\"gpt-4\"]}}}",
           "#RESOURCES add: the resource into the set, GSI4 keys if none");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_resource(&mem, &r, &ns, &res, 0);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":"
           "\"a1b2c3d4e5f6/SYSTEM#\"},\"SK\":{\"S\":\"#RESOURCES\"}},"
           "\"UpdateExpression\":\"DELETE resources :v0\","
           "\"ExpressionAttributeValues\":{\":v0\":{\"SS\":[\"gpt-4\"]}}}",
           "#RESOURCES delete: the resource out of the set");
}


static void
test_count(void)
{
    int            rc;
    zae_str_t      ns, res;
    zae_ddb_req_t  r;

    ns = str("a1b2c3d4e5f6");
    res = str("gpt-4");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_count(&mem, &r, &ns, &res, 1);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":"
           "\"a1b2c3d4e5f6/SYSTEM#\"},\"SK\":{\"S\":"
           "\"#ENTITY_CONFIG_RESOURCES\"}},"
           "\"UpdateExpression\":\"SET GSI4PK = if_not_exists(GSI4PK, :v0), "
           "GSI4SK = if_not_exists(GSI4SK, :v1) ADD #n0 :v2\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"gpt-4\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"a1b2c3d4e5f6\"},"
           "\":v1\":{\"S\":\"a1b2c3d4e5f6/SYSTEM#\"},"
           "\":v2\":{\"N\":\"1\"}}}",
           "count +1: GSI4 keys if none, ADD 1 under the resource's name");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_count(&mem, &r, &ns, &res, -1);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":"
           "\"a1b2c3d4e5f6/SYSTEM#\"},\"SK\":{\"S\":"
           "\"#ENTITY_CONFIG_RESOURCES\"}},"
           "\"UpdateExpression\":\"ADD #n0 :v0\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"gpt-4\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"-1\"}}}",
           "count -1: ADD -1, no GSI4 keys");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_drop(&mem, &r, &ns, &res);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":"
           "\"a1b2c3d4e5f6/SYSTEM#\"},\"SK\":{\"S\":"
           "\"#ENTITY_CONFIG_RESOURCES\"}},"
           "\"UpdateExpression\":\"REMOVE #n0\","
           "\"ConditionExpression\":\"#n0 <= :v0\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"gpt-4\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"0\"}}}",
           "drop: REMOVE the counter only when it is <= 0");
}


static void
test_ns_status(void)
{
    int            rc;
    zae_str_t      nsid, at;
    zae_ddb_req_t  r;

    nsid = str("a1b2c3d4e5f6");
    at = str("2026-12-06T03:00:00Z");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_ns_status(&mem, &r, &nsid, "deleted",
                                ZAE_REGISTRY_DELETED_SET, &at);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"_/SYSTEM#\"},"
           "\"SK\":{\"S\":\"#NSID#a1b2c3d4e5f6\"}},"
           "\"UpdateExpression\":\"SET #n0 = :v0, #n1 = :v1\","
           "\"ConditionExpression\":\"attribute_exists(PK)\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"status\","
           "\"#n1\":\"deleted_at\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"deleted\"},"
           "\":v1\":{\"S\":\"2026-12-06T03:00:00Z\"}}}",
           "namespace deleted: status and deleted_at of an existing item");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_ns_status(&mem, &r, &nsid, "active",
                                ZAE_REGISTRY_DELETED_REMOVE, NULL);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"_/SYSTEM#\"},"
           "\"SK\":{\"S\":\"#NSID#a1b2c3d4e5f6\"}},"
           "\"UpdateExpression\":\"SET #n0 = :v0 REMOVE #n1\","
           "\"ConditionExpression\":\"attribute_exists(PK)\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"status\","
           "\"#n1\":\"deleted_at\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"active\"}}}",
           "namespace recovered: status, deleted_at removed");

    memset(&r, 0, sizeof(r));
    rc = zae_registry_ns_status(&mem, &r, &nsid, "active",
                                ZAE_REGISTRY_DELETED_KEEP, NULL);
    is_str(update_body(&r, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"_/SYSTEM#\"},"
           "\"SK\":{\"S\":\"#NSID#a1b2c3d4e5f6\"}},"
           "\"UpdateExpression\":\"SET #n0 = :v0\","
           "\"ConditionExpression\":\"attribute_exists(PK)\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"status\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"active\"}}}",
           "namespace status alone: no unused deleted_at name");
}


int
main(void)
{
    zae_arena_t  arena;

    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_resource();
    test_count();
    test_ns_status();

    zae_arena_free(&arena);

    return tap_done();
}
