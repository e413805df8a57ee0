
/*
 * Copyright (C) zae-limit authors
 *
 * zae_ddb: request bodies, the expression builder, CRC32, error classes
 * and result readers.  The response bodies and x-amz-crc32 values below
 * were captured from DynamoDB Local 1.25.1 answering the request bodies
 * these builders produce.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_json.h"
#include "zae_ddb.h"


static zae_arena_t  arena;
static zae_mem_t    mem;


static const char  body_records[] =
    "{\"Records\":[{\"eventID\":\"bed67011-86ea-40ef-9ce9-2a90302e4f9f"
    "\",\"eventName\":\"INSERT\",\"eventVersion\":\"1.1\",\"eventSource"
    "\":\"aws:dynamodb\",\"awsRegion\":\"ddblocal\",\"dynamodb\":{\"App"
    "roximateCreationDateTime\":1795634640.000,\"Keys\":{\"SK\":{\"S\":"
    "\"#STATE\"},\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"}},\"NewImage\":{\"rf"
    "\":{\"N\":\"1000\"},\"u\":{\"S\":\"hé \\uD83D\\uDE00\"},\"GSI2SK\""
    ":{\"S\":\"BUCKET#e#0\"},\"SK\":{\"S\":\"#STATE\"},\"PK\":{\"S\":\""
    "ns/BUCKET#e#r#0\"},\"GSI2PK\":{\"S\":\"ns/RESOURCE#r\"},\"b_rpm_tk"
    "\":{\"N\":\"5000\"}},\"SequenceNumber\":\"000000000000000000002\","
    "\"SizeBytes\":108,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}},{\"e"
    "ventID\":\"8f1975cb-b6d8-45db-aaa4-1951aa2cdbb8\",\"eventName\":\""
    "MODIFY\",\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\""
    ",\"awsRegion\":\"ddblocal\",\"dynamodb\":{\"ApproximateCreationDat"
    "eTime\":1795634640.000,\"Keys\":{\"SK\":{\"S\":\"#STATE\"},\"PK\":"
    "{\"S\":\"ns/BUCKET#e#r#0\"}},\"NewImage\":{\"rf\":{\"N\":\"2000\"}"
    ",\"u\":{\"S\":\"hé \\uD83D\\uDE00\"},\"GSI2SK\":{\"S\":\"BUCKET#e#"
    "0\"},\"SK\":{\"S\":\"#STATE\"},\"GSI2PK\":{\"S\":\"ns/RESOURCE#r\""
    "},\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"},\"b_rpm_tk\":{\"N\":\"4000\"}"
    "},\"OldImage\":{\"rf\":{\"N\":\"1000\"},\"u\":{\"S\":\"hé \\uD83D"
    "\\uDE00\"},\"GSI2SK\":{\"S\":\"BUCKET#e#0\"},\"SK\":{\"S\":\"#STAT"
    "E\"},\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"},\"GSI2PK\":{\"S\":\"ns/RES"
    "OURCE#r\"},\"b_rpm_tk\":{\"N\":\"5000\"}},\"SequenceNumber\":\"000"
    "000000000000000003\",\"SizeBytes\":191,\"StreamViewType\":\"NEW_AN"
    "D_OLD_IMAGES\"}}],\"NextShardIterator\":\"arn:aws:dynamodb:ddbloca"
    "l:000000000000:table/h4t/stream/2026-11-25T19:24:55.306|001|c2hhcm"
    "RJZC0wMDAwMDAwMTc5NTYzNDY5NTM1OS1kNzcwYTU2YnwwMDAwMDAwMDAwMDAwMDAw"
    "MDAwMDR8MDAwMDAwMDAwMDAwMDAwMDAxNzk1NjM0NzAxMDM4\"}";


static const char  body_stream[] =
    "{\"StreamDescription\":{\"StreamArn\":\"arn:aws:dynamodb:ddblocal:"
    "000000000000:table/h4t/stream/2026-11-25T19:24:55.306\",\"StreamLa"
    "bel\":\"2026-11-25T19:24:55.306\",\"StreamStatus\":\"ENABLED\",\"S"
    "treamViewType\":\"NEW_AND_OLD_IMAGES\",\"CreationRequestDateTime\""
    ":1795634695.306,\"TableName\":\"h4t\",\"KeySchema\":[{\"AttributeN"
    "ame\":\"PK\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"SK\",\"Key"
    "Type\":\"RANGE\"}],\"Shards\":[{\"ShardId\":\"shardId-000000017956"
    "34695359-d770a56b\",\"SequenceNumberRange\":{\"StartingSequenceNum"
    "ber\":\"000000000000000000001\"}}]}}";


static const char  body_describe[] =
    "{\"Table\":{\"AttributeDefinitions\":[{\"AttributeName\":\"PK\",\""
    "AttributeType\":\"S\"},{\"AttributeName\":\"SK\",\"AttributeType\""
    ":\"S\"},{\"AttributeName\":\"GSI1PK\",\"AttributeType\":\"S\"},{\""
    "AttributeName\":\"GSI1SK\",\"AttributeType\":\"S\"},{\"AttributeNa"
    "me\":\"GSI2PK\",\"AttributeType\":\"S\"},{\"AttributeName\":\"GSI2"
    "SK\",\"AttributeType\":\"S\"},{\"AttributeName\":\"GSI3PK\",\"Attr"
    "ibuteType\":\"S\"},{\"AttributeName\":\"GSI3SK\",\"AttributeType\""
    ":\"S\"},{\"AttributeName\":\"GSI4PK\",\"AttributeType\":\"S\"},{\""
    "AttributeName\":\"GSI4SK\",\"AttributeType\":\"S\"},{\"AttributeNa"
    "me\":\"LSI1SK\",\"AttributeType\":\"S\"},{\"AttributeName\":\"LSI2"
    "SK\",\"AttributeType\":\"S\"},{\"AttributeName\":\"LSI3SK\",\"Attr"
    "ibuteType\":\"S\"},{\"AttributeName\":\"LSI4SK\",\"AttributeType\""
    ":\"S\"},{\"AttributeName\":\"LSI5SK\",\"AttributeType\":\"S\"}],\""
    "TableName\":\"h4t\",\"KeySchema\":[{\"AttributeName\":\"PK\",\"Key"
    "Type\":\"HASH\"},{\"AttributeName\":\"SK\",\"KeyType\":\"RANGE\"}]"
    ",\"TableStatus\":\"ACTIVE\",\"CreationDateTime\":1795634695.306,\""
    "ProvisionedThroughput\":{\"LastIncreaseDateTime\":0.000,\"LastDecr"
    "easeDateTime\":0.000,\"NumberOfDecreasesToday\":0,\"ReadCapacityUn"
    "its\":0,\"WriteCapacityUnits\":0},\"TableSizeBytes\":83,\"ItemCoun"
    "t\":1,\"TableArn\":\"arn:aws:dynamodb:ddblocal:000000000000:table/"
    "h4t\",\"BillingModeSummary\":{\"BillingMode\":\"PAY_PER_REQUEST\","
    "\"LastUpdateToPayPerRequestDateTime\":1795634695.306},\"LocalSecon"
    "daryIndexes\":[{\"IndexName\":\"LSI5\",\"KeySchema\":[{\"Attribute"
    "Name\":\"PK\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"LSI5SK\","
    "\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"ALL\""
    "},\"IndexSizeBytes\":0,\"ItemCount\":0,\"IndexArn\":\"arn:aws:dyna"
    "modb:ddblocal:000000000000:table/h4t/index/LSI5\"},{\"IndexName\":"
    "\"LSI4\",\"KeySchema\":[{\"AttributeName\":\"PK\",\"KeyType\":\"HA"
    "SH\"},{\"AttributeName\":\"LSI4SK\",\"KeyType\":\"RANGE\"}],\"Proj"
    "ection\":{\"ProjectionType\":\"KEYS_ONLY\"},\"IndexSizeBytes\":0,"
    "\"ItemCount\":0,\"IndexArn\":\"arn:aws:dynamodb:ddblocal:000000000"
    "000:table/h4t/index/LSI4\"},{\"IndexName\":\"LSI3\",\"KeySchema\":"
    "[{\"AttributeName\":\"PK\",\"KeyType\":\"HASH\"},{\"AttributeName"
    "\":\"LSI3SK\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"Projection"
    "Type\":\"ALL\"},\"IndexSizeBytes\":0,\"ItemCount\":0,\"IndexArn\":"
    "\"arn:aws:dynamodb:ddblocal:000000000000:table/h4t/index/LSI3\"},{"
    "\"IndexName\":\"LSI2\",\"KeySchema\":[{\"AttributeName\":\"PK\",\""
    "KeyType\":\"HASH\"},{\"AttributeName\":\"LSI2SK\",\"KeyType\":\"RA"
    "NGE\"}],\"Projection\":{\"ProjectionType\":\"KEYS_ONLY\"},\"IndexS"
    "izeBytes\":0,\"ItemCount\":0,\"IndexArn\":\"arn:aws:dynamodb:ddblo"
    "cal:000000000000:table/h4t/index/LSI2\"},{\"IndexName\":\"LSI1\","
    "\"KeySchema\":[{\"AttributeName\":\"PK\",\"KeyType\":\"HASH\"},{\""
    "AttributeName\":\"LSI1SK\",\"KeyType\":\"RANGE\"}],\"Projection\":"
    "{\"ProjectionType\":\"ALL\"},\"IndexSizeBytes\":0,\"ItemCount\":0,"
    "\"IndexArn\":\"arn:aws:dynamodb:ddblocal:000000000000:table/h4t/in"
    "dex/LSI1\"}],\"GlobalSecondaryIndexes\":[{\"IndexName\":\"GSI2\","
    "\"KeySchema\":[{\"AttributeName\":\"GSI2PK\",\"KeyType\":\"HASH\"}"
    ",{\"AttributeName\":\"GSI2SK\",\"KeyType\":\"RANGE\"}],\"Projectio"
    "n\":{\"ProjectionType\":\"ALL\"},\"IndexStatus\":\"ACTIVE\",\"Prov"
    "isionedThroughput\":{\"ReadCapacityUnits\":0,\"WriteCapacityUnits"
    "\":0},\"IndexSizeBytes\":83,\"ItemCount\":1,\"IndexArn\":\"arn:aws"
    ":dynamodb:ddblocal:000000000000:table/h4t/index/GSI2\"},{\"IndexNa"
    "me\":\"GSI1\",\"KeySchema\":[{\"AttributeName\":\"GSI1PK\",\"KeyTy"
    "pe\":\"HASH\"},{\"AttributeName\":\"GSI1SK\",\"KeyType\":\"RANGE\""
    "}],\"Projection\":{\"ProjectionType\":\"ALL\"},\"IndexStatus\":\"A"
    "CTIVE\",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":0,\"Write"
    "CapacityUnits\":0},\"IndexSizeBytes\":0,\"ItemCount\":0,\"IndexArn"
    "\":\"arn:aws:dynamodb:ddblocal:000000000000:table/h4t/index/GSI1\""
    "},{\"IndexName\":\"GSI4\",\"KeySchema\":[{\"AttributeName\":\"GSI4"
    "PK\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"GSI4SK\",\"KeyType"
    "\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"KEYS_ONLY\"},"
    "\"IndexStatus\":\"ACTIVE\",\"ProvisionedThroughput\":{\"ReadCapaci"
    "tyUnits\":0,\"WriteCapacityUnits\":0},\"IndexSizeBytes\":0,\"ItemC"
    "ount\":0,\"IndexArn\":\"arn:aws:dynamodb:ddblocal:000000000000:tab"
    "le/h4t/index/GSI4\"},{\"IndexName\":\"GSI3\",\"KeySchema\":[{\"Att"
    "ributeName\":\"GSI3PK\",\"KeyType\":\"HASH\"},{\"AttributeName\":"
    "\"GSI3SK\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionTyp"
    "e\":\"KEYS_ONLY\"},\"IndexStatus\":\"ACTIVE\",\"ProvisionedThrough"
    "put\":{\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0},\"IndexSi"
    "zeBytes\":0,\"ItemCount\":0,\"IndexArn\":\"arn:aws:dynamodb:ddbloc"
    "al:000000000000:table/h4t/index/GSI3\"}],\"StreamSpecification\":{"
    "\"StreamEnabled\":true,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
    "\"LatestStreamLabel\":\"2026-11-25T19:24:55.306\",\"LatestStreamAr"
    "n\":\"arn:aws:dynamodb:ddblocal:000000000000:table/h4t/stream/2026"
    "-11-25T19:24:55.306\",\"DeletionProtectionEnabled\":false}}";


static zae_str_t
str(const char *s)
{
    zae_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);

    return v;
}


static zae_av_t *
key(const char *pk, const char *sk)
{
    zae_av_t  *k;

    k = zae_av_map(&mem);
    (void) zae_item_set_cstr(&mem, k, "PK", pk);
    (void) zae_item_set_cstr(&mem, k, "SK", sk);

    return k;
}


static const char *
body(zae_buf_t *b, int rc)
{
    if (rc != ZAE_OK) {
        return "(error)";
    }

    return b->data ? (const char *) b->data : "(empty)";
}


static void
test_targets(void)
{
    is_str(zae_ddb_target(ZAE_DDB_GET_ITEM), "DynamoDB_20120810.GetItem",
           "GetItem target");
    is_str(zae_ddb_target(ZAE_DDB_TRANSACT_WRITE_ITEMS),
           "DynamoDB_20120810.TransactWriteItems", "TransactWriteItems target");
    is_str(zae_ddb_target(ZAE_DDB_UPDATE_TIME_TO_LIVE),
           "DynamoDB_20120810.UpdateTimeToLive", "UpdateTimeToLive target");
    is_str(zae_ddb_target(ZAE_DDB_DESCRIBE_STREAM),
           "DynamoDBStreams_20120810.DescribeStream", "streams target prefix");
    is_str(zae_ddb_target(ZAE_DDB_GET_RECORDS),
           "DynamoDBStreams_20120810.GetRecords", "GetRecords target");
    is_str(zae_ddb_op_name(ZAE_DDB_BATCH_WRITE_ITEM), "BatchWriteItem",
           "op name");
    ok(zae_ddb_target(ZAE_DDB_OP_MAX) == NULL, "unknown op has no target");
    ok(zae_ddb_op_name((zae_ddb_op_e) -1) == NULL, "negative op");
    is_str(ZAE_DDB_CONTENT_TYPE, "application/x-amz-json-1.0",
           "content type");
}


static void
test_crc32(void)
{
    uint32_t  c;

    is_int(zae_crc32((const u_char *) "123456789", 9), 0xcbf43926,
           "crc32(\"123456789\")");
    is_int(zae_crc32((const u_char *) "", 0), 0, "crc32 of nothing");
    is_int(zae_crc32((const u_char *) "a", 1), 0xe8b7be43, "crc32(\"a\")");
    is_int(zae_crc32((const u_char *) "{}", 2), 2745614147u,
           "crc32(\"{}\") as DynamoDB Local sends it");

    c = zae_crc32_update(0, (const u_char *) "1234", 4);
    c = zae_crc32_update(c, (const u_char *) "56789", 5);
    is_int(c, 0xcbf43926, "incremental crc32");

    is_int(zae_crc32((const u_char *) body_records, strlen(body_records)),
           1542009580u, "crc32 of a GetRecords body matches x-amz-crc32");
    is_int(zae_crc32((const u_char *) body_stream, strlen(body_stream)),
           1904526242u, "crc32 of a DescribeStream body");
    is_int(zae_crc32((const u_char *) body_describe, strlen(body_describe)),
           4017439629u, "crc32 of a DescribeTable body");
}


static void
test_expr(void)
{
    zae_buf_t        b;
    const char      *n0, *n1, *n2, *v0, *v1;
    zae_ddb_expr_t   x;

    zae_ddb_expr_init(&x, &mem);
    ok(x.names == NULL && x.values == NULL, "empty builder has no maps");

    n0 = zae_ddb_expr_cname(&x, "b_rpm_tk");
    n1 = zae_ddb_expr_cname(&x, "rf");
    n2 = zae_ddb_expr_cname(&x, "b_rpm_tk");
    v0 = zae_ddb_expr_int64(&x, -1000);
    v1 = zae_ddb_expr_str(&x, (const u_char *) "a-b.c", 5);

    is_str(n0, "#n0", "first name");
    is_str(n1, "#n1", "second name");
    is_str(n2, "#n0", "same name, same placeholder");
    is_str(v0, ":v0", "first value");
    is_str(v1, ":v1", "second value");
    is_str(zae_ddb_expr_cname(&x, "req-per.min"), "#n2",
           "names with - and . are fine behind placeholders");
    ok(!x.failed, "builder did not fail");
    ok(zae_ddb_expr_value(&x, NULL) == NULL && x.failed,
           "a NULL value (failed constructor) fails the builder");
    ok(zae_ddb_expr_cname(&x, "z") == NULL, "a failed builder stays failed");

    zae_buf_init(&b, &mem, 0);
    is_str(body(&b, zae_item_encode(&b, x.values)),
           "{\":v0\":{\"N\":\"-1000\"},\":v1\":{\"S\":\"a-b.c\"}}",
           "values map");
}


static void
test_requests(void)
{
    int                    rc;
    char                   upd[128], cond[128];
    zae_av_t              *item;
    zae_str_t              t, s, s2;
    zae_buf_t              b;
    const char            *p[4];
    zae_ddb_req_t          r;
    zae_ddb_expr_t         x;
    const zae_av_t        *keys[2];
    zae_ddb_write_t        w[4];
    zae_ddb_action_t       acts[4];
    zae_ddb_batch_get_t    bg[2];

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.table = str("zae-limiter");
    r.key = key("ns/BUCKET#e#r#0", "#STATE");
    r.consistent_read = 1;

    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_get_item(&b, &r);
    is_str(body(&b, rc),
           "{\"TableName\":\"zae-limiter\",\"Key\":{\"PK\":{\"S\":"
           "\"ns/BUCKET#e#r#0\"},\"SK\":{\"S\":\"#STATE\"}},"
           "\"ConsistentRead\":true}", "GetItem body");

    r.consistent_read = 0;
    r.projection = str("#n0");
    zae_ddb_expr_init(&x, &mem);
    (void) zae_ddb_expr_cname(&x, "rf");
    r.names = x.names;
    r.values = x.values;
    r.return_values = str("ALL_NEW");   /* not a GetItem field */
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_get_item(&b, &r);
    is_str(body(&b, rc),
           "{\"TableName\":\"zae-limiter\",\"Key\":{\"PK\":{\"S\":"
           "\"ns/BUCKET#e#r#0\"},\"SK\":{\"S\":\"#STATE\"}},"
           "\"ProjectionExpression\":\"#n0\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"rf\"}}",
           "GetItem with a projection, fields it lacks left out");

    /* PutItem */

    item = key("ns/BUCKET#e#r#0", "#STATE");
    (void) zae_item_set_n(&mem, item, "rf", 1000);
    (void) zae_item_set_cstr(&mem, item, "u", "h\xc3\xa9");

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.table = str("t");
    r.item = item;
    r.condition = str("attribute_not_exists(PK)");
    r.return_values_ccf = str("ALL_OLD");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_put_item(&b, &r);
    is_str(body(&b, rc),
           "{\"TableName\":\"t\",\"Item\":{\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"},"
           "\"SK\":{\"S\":\"#STATE\"},\"rf\":{\"N\":\"1000\"},"
           "\"u\":{\"S\":\"h\\u00e9\"}},"
           "\"ConditionExpression\":\"attribute_not_exists(PK)\","
           "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}",
           "PutItem body");

    r.item = NULL;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_put_item(&b, &r), ZAE_ERROR, "PutItem without Item");

    /* UpdateItem, built with the expression builder */

    /* placeholders are handed out in call order */

    zae_ddb_expr_init(&x, &mem);
    p[0] = zae_ddb_expr_cname(&x, "b_rpm_tk");
    p[1] = zae_ddb_expr_int64(&x, -1000);
    p[2] = zae_ddb_expr_cname(&x, "rf");
    p[3] = zae_ddb_expr_int64(&x, 2000);
    (void) snprintf(upd, sizeof(upd), "ADD %s %s SET %s = %s",
                    p[0], p[1], p[2], p[3]);
    p[0] = zae_ddb_expr_cname(&x, "rf");
    p[1] = zae_ddb_expr_int64(&x, 1000);
    (void) snprintf(cond, sizeof(cond), "%s = %s", p[0], p[1]);

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.table = str("t");
    r.key = key("p", "s");
    r.update = str(upd);
    r.condition = str(cond);
    r.names = x.names;
    r.values = x.values;
    r.return_values = str("ALL_NEW");
    r.return_values_ccf = str("ALL_OLD");
    r.return_consumed = str("TOTAL");
    r.limit = 5;                        /* not an UpdateItem field */
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_update_item(&b, &r);
    is_str(body(&b, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"p\"},"
           "\"SK\":{\"S\":\"s\"}},"
           "\"UpdateExpression\":\"ADD #n0 :v0 SET #n1 = :v1\","
           "\"ConditionExpression\":\"#n1 = :v2\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"b_rpm_tk\",\"#n1\":\"rf\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"-1000\"},"
           "\":v1\":{\"N\":\"2000\"},\":v2\":{\"N\":\"1000\"}},"
           "\"ReturnValues\":\"ALL_NEW\","
           "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\","
           "\"ReturnConsumedCapacity\":\"TOTAL\"}", "UpdateItem body");

    r.update.len = 0;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_update_item(&b, &r), ZAE_ERROR,
           "UpdateItem without an UpdateExpression");

    r.update = str(upd);
    r.table.len = 0;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_update_item(&b, &r), ZAE_ERROR,
           "UpdateItem without a TableName");

    /* DeleteItem */

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.table = str("t");
    r.key = key("p", "s");
    r.return_values = str("ALL_OLD");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_delete_item(&b, &r);
    is_str(body(&b, rc),
           "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"p\"},"
           "\"SK\":{\"S\":\"s\"}},\"ReturnValues\":\"ALL_OLD\"}",
           "DeleteItem body");

    r.key = NULL;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_delete_item(&b, &r), ZAE_ERROR, "DeleteItem without Key");
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_get_item(&b, &r), ZAE_ERROR, "GetItem without Key");
    r.update = str("SET #a = :a");
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_update_item(&b, &r), ZAE_ERROR, "UpdateItem without Key");

    /* Query */

    zae_ddb_expr_init(&x, &mem);
    p[0] = zae_ddb_expr_cname(&x, "GSI2PK");
    p[1] = zae_ddb_expr_str(&x, (const u_char *) "ns/RESOURCE#r", 13);
    p[2] = zae_ddb_expr_cname(&x, "GSI2SK");
    p[3] = zae_ddb_expr_str(&x, (const u_char *) "BUCKET#", 7);
    (void) snprintf(cond, sizeof(cond), "%s = %s AND begins_with(%s, %s)",
                    p[0], p[1], p[2], p[3]);

    memset(&r, 0, sizeof(zae_ddb_req_t));
    r.table = str("t");
    r.index = str("GSI2");
    r.key_condition = str(cond);
    r.names = x.names;
    r.values = x.values;
    r.start_key = key("a", "b");
    r.limit = 100;
    r.scan_backward = 1;
    r.consistent_read = 1;
    r.select = str("COUNT");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_query(&b, &r);
    is_str(body(&b, rc),
           "{\"TableName\":\"t\",\"IndexName\":\"GSI2\","
           "\"KeyConditionExpression\":"
           "\"#n0 = :v0 AND begins_with(#n1, :v1)\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"GSI2PK\","
           "\"#n1\":\"GSI2SK\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"ns/RESOURCE#r\"},"
           "\":v1\":{\"S\":\"BUCKET#\"}},"
           "\"ExclusiveStartKey\":{\"PK\":{\"S\":\"a\"},\"SK\":{\"S\":\"b\"}},"
           "\"Limit\":100,\"Select\":\"COUNT\",\"ScanIndexForward\":false,"
           "\"ConsistentRead\":true}", "Query body");

    r.key_condition.len = 0;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_query(&b, &r), ZAE_ERROR,
           "Query without KeyConditionExpression");

    /* TransactWriteItems with all four actions */

    memset(acts, 0, sizeof(acts));
    zae_ddb_expr_init(&x, &mem);
    p[0] = zae_ddb_expr_cname(&x, "gpt-4");
    p[1] = zae_ddb_expr_int64(&x, 1);
    (void) snprintf(upd, sizeof(upd), "ADD %s %s", p[0], p[1]);

    acts[0].type = ZAE_DDB_ACT_PUT;
    acts[0].req.table = str("t");
    acts[0].req.item = key("a", "b");
    acts[0].req.condition = str("attribute_not_exists(PK)");
    acts[0].req.return_values_ccf = str("ALL_OLD");
    acts[1].type = ZAE_DDB_ACT_UPDATE;
    acts[1].req.table = str("t");
    acts[1].req.key = key("c", "d");
    acts[1].req.update = str(upd);
    acts[1].req.names = x.names;
    acts[1].req.values = x.values;
    acts[2].type = ZAE_DDB_ACT_DELETE;
    acts[2].req.table = str("t");
    acts[2].req.key = key("e", "f");
    acts[3].type = ZAE_DDB_ACT_CONDITION_CHECK;
    acts[3].req.table = str("t");
    acts[3].req.key = key("g", "h");
    acts[3].req.condition = str("attribute_exists(PK)");

    t = str("tok-1");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_transact_write(&b, acts, 4, &t, NULL);
    is_str(body(&b, rc),
           "{\"TransactItems\":["
           "{\"Put\":{\"TableName\":\"t\",\"Item\":{\"PK\":{\"S\":\"a\"},"
           "\"SK\":{\"S\":\"b\"}},"
           "\"ConditionExpression\":\"attribute_not_exists(PK)\","
           "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}},"
           "{\"Update\":{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"c\"},"
           "\"SK\":{\"S\":\"d\"}},\"UpdateExpression\":\"ADD #n0 :v0\","
           "\"ExpressionAttributeNames\":{\"#n0\":\"gpt-4\"},"
           "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"}}}},"
           "{\"Delete\":{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"e\"},"
           "\"SK\":{\"S\":\"f\"}}}},"
           "{\"ConditionCheck\":{\"TableName\":\"t\",\"Key\":{\"PK\":"
           "{\"S\":\"g\"},\"SK\":{\"S\":\"h\"}},"
           "\"ConditionExpression\":\"attribute_exists(PK)\"}}],"
           "\"ClientRequestToken\":\"tok-1\"}", "TransactWriteItems body");

    acts[3].req.condition.len = 0;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_ERROR,
           "ConditionCheck without a condition");

    /* each action's required field, and an unknown action */

    acts[3].req.condition = str("attribute_exists(PK)");
    acts[0].req.item = NULL;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_ERROR,
           "Put without an item");
    acts[0].req.item = key("a", "b");
    acts[1].req.update.len = 0;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_ERROR,
           "Update without an update expression");
    acts[1].req.update = str(upd);
    acts[1].req.key = NULL;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_ERROR,
           "Update without a key");
    acts[1].req.key = key("c", "d");
    acts[2].req.key = NULL;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_ERROR,
           "Delete without a key");
    acts[2].req.key = key("e", "f");
    acts[2].type = (zae_ddb_act_e) 4;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_ERROR,
           "unknown action");
    acts[2].type = ZAE_DDB_ACT_DELETE;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 4, NULL, NULL), ZAE_OK,
           "all four actions again");
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_transact_write(&b, acts, 0, NULL, NULL), ZAE_ERROR,
           "empty transaction");

    /* BatchGetItem */

    keys[0] = key("a", "b");
    keys[1] = key("c", "d");
    memset(bg, 0, sizeof(bg));
    bg[0].table = str("t1");
    bg[0].keys = keys;
    bg[0].nkeys = 2;
    bg[1].table = str("t2");
    bg[1].keys = keys;
    bg[1].nkeys = 1;
    bg[1].consistent_read = 1;
    bg[1].projection = str("PK");

    s = str("TOTAL");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_batch_get_item(&b, bg, 2, &s);
    is_str(body(&b, rc),
           "{\"RequestItems\":{"
           "\"t1\":{\"Keys\":[{\"PK\":{\"S\":\"a\"},\"SK\":{\"S\":\"b\"}},"
           "{\"PK\":{\"S\":\"c\"},\"SK\":{\"S\":\"d\"}}]},"
           "\"t2\":{\"Keys\":[{\"PK\":{\"S\":\"a\"},\"SK\":{\"S\":\"b\"}}],"
           "\"ProjectionExpression\":\"PK\",\"ConsistentRead\":true}},"
           "\"ReturnConsumedCapacity\":\"TOTAL\"}", "BatchGetItem body");

    bg[1].nkeys = 0;
    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_batch_get_item(&b, bg, 2, NULL), ZAE_ERROR,
           "BatchGetItem table without keys");

    /* BatchWriteItem groups by table in order of first appearance */

    memset(w, 0, sizeof(w));
    w[0].table = str("t1");
    w[0].item = key("a", "b");
    w[1].table = str("t2");
    w[1].key = key("c", "d");
    w[2].table = str("t1");
    w[2].key = key("e", "f");
    w[3].table = str("t2");
    w[3].item = key("g", "h");

    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_batch_write_item(&b, w, 4);
    is_str(body(&b, rc),
           "{\"RequestItems\":{"
           "\"t1\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"a\"},"
           "\"SK\":{\"S\":\"b\"}}}},"
           "{\"DeleteRequest\":{\"Key\":{\"PK\":{\"S\":\"e\"},"
           "\"SK\":{\"S\":\"f\"}}}}],"
           "\"t2\":[{\"DeleteRequest\":{\"Key\":{\"PK\":{\"S\":\"c\"},"
           "\"SK\":{\"S\":\"d\"}}}},"
           "{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"g\"},"
           "\"SK\":{\"S\":\"h\"}}}}]}}", "BatchWriteItem body");

    /* tables, TTL, streams */

    t = str("zae-limiter");

    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_table_request(&b, &t);
    is_str(body(&b, rc), "{\"TableName\":\"zae-limiter\"}",
           "DescribeTable/DeleteTable/DescribeTimeToLive body");

    zae_buf_init(&b, &mem, 0);
    ok(zae_ddb_table_request(&b, NULL) == ZAE_ERROR,
       "a table request without a table name is refused");

    s = str("ttl");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_update_ttl(&b, &t, &s, 1);
    is_str(body(&b, rc),
           "{\"TableName\":\"zae-limiter\",\"TimeToLiveSpecification\":"
           "{\"Enabled\":true,\"AttributeName\":\"ttl\"}}",
           "UpdateTimeToLive body");

    s = str("arn:aws:dynamodb:r:1:table/t/stream/x");
    s2 = str("shardId-1");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_describe_stream(&b, &s, &s2, 10);
    is_str(body(&b, rc),
           "{\"StreamArn\":\"arn:aws:dynamodb:r:1:table/t/stream/x\","
           "\"ExclusiveStartShardId\":\"shardId-1\",\"Limit\":10}",
           "DescribeStream body");

    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_describe_stream(&b, &s, NULL, 0);
    is_str(body(&b, rc),
           "{\"StreamArn\":\"arn:aws:dynamodb:r:1:table/t/stream/x\"}",
           "DescribeStream body without options");

    t = str("0001");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_get_shard_iterator(&b, &s, &s2, "AFTER_SEQUENCE_NUMBER", &t);
    is_str(body(&b, rc),
           "{\"StreamArn\":\"arn:aws:dynamodb:r:1:table/t/stream/x\","
           "\"ShardId\":\"shardId-1\","
           "\"ShardIteratorType\":\"AFTER_SEQUENCE_NUMBER\","
           "\"SequenceNumber\":\"0001\"}", "GetShardIterator body");

    zae_buf_init(&b, &mem, 0);
    is_int(zae_ddb_get_shard_iterator(&b, &s, &s2, "", NULL), ZAE_ERROR,
           "GetShardIterator without a type");

    t = str("it|001|x");
    zae_buf_init(&b, &mem, 0);
    rc = zae_ddb_get_records(&b, &t, 100);
    is_str(body(&b, rc), "{\"ShardIterator\":\"it|001|x\",\"Limit\":100}",
           "GetRecords body");
}


static int
decode(unsigned status, const char *crc, const char *type, const char *bd,
    zae_av_t **root, zae_ddb_error_t *e)
{
    zae_ddb_http_resp_t  r;

    memset(&r, 0, sizeof(zae_ddb_http_resp_t));
    r.status = status;
    r.crc32 = str(crc ? crc : "");
    r.error_type = str(type ? type : "");
    r.body = str(bd);

    return zae_ddb_decode(&mem, &r, root, e);
}


static int
eq(zae_str_t s, const char *want)
{
    return s.len == strlen(want)
           && (s.len == 0 || memcmp(s.data, want, s.len) == 0);
}


static void
test_errors(void)
{
    int               rc;
    size_t            i;
    int64_t           v;
    zae_av_t         *root;
    zae_err_t         err;
    zae_ddb_error_t   e;

    /* 200 with and without x-amz-crc32 */

    rc = decode(200, "2745614147", NULL, "{}", &root, &e);
    ok(rc == ZAE_OK && root && root->type == ZAE_AV_M && root->nattrs == 0,
       "200 {} with a matching crc32");

    rc = decode(200, NULL, NULL, "{}", &root, &e);
    is_int(rc, ZAE_OK, "200 without crc32 header");

    rc = decode(200, "2745614148", NULL, "{}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_CRC32 && e.retryable
       && root == NULL, "crc32 mismatch: retryable class of its own");
    ok(strstr(e.err.msg, "crc32") != NULL, "crc32 message: %s", e.err.msg);

    rc = decode(200, "27456x4147", NULL, "{}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_CRC32,
       "unparsable crc32 header is a mismatch");

    rc = decode(200, "99999999999", NULL, "{}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_CRC32,
       "crc32 header above 2^32 is a mismatch");

    rc = decode(400, "1", NULL, "{\"__type\":\"x#ValidationException\"}",
                &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_CRC32,
       "crc32 is checked on errors too");

    /* malformed 200s */

    rc = decode(200, NULL, NULL, "<html>oops</html>", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_MALFORMED && !e.retryable
       && root == NULL, "200 with a non-JSON body is malformed: %s",
       e.err.msg);

    rc = decode(200, NULL, NULL, "", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_MALFORMED,
       "200 with an empty body is malformed");

    rc = decode(200, NULL, NULL, "[1]", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_MALFORMED,
       "200 with a JSON array is malformed");

    rc = decode(200, NULL, NULL, "{\"Item\":", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_MALFORMED,
       "200 with a truncated body is malformed");

    /* DynamoDB Local: CCF with ALL_OLD */

    rc = decode(400, NULL, NULL,
                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                "ConditionalCheckFailedException\",\"Message\":"
                "\"The conditional request failed\",\"Item\":"
                "{\"rf\":{\"N\":\"2000\"},\"u\":{\"S\":\"h\xc3\xa9 "
                "\\uD83D\\uDE00\"},\"SK\":{\"S\":\"#STATE\"},"
                "\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"},"
                "\"b_rpm_tk\":{\"N\":\"4000\"}}}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_CONDITIONAL && !e.retryable,
       "ConditionalCheckFailedException class");
    ok(eq(e.code, "ConditionalCheckFailedException"), "code after the #");
    ok(eq(e.message, "The conditional request failed"), "Message");
    is_int(e.status, 400, "status kept");
    ok(e.item && zae_item_get_int64(e.item, "b_rpm_tk", &v, &err) == ZAE_OK
       && v == 4000, "old item decoded: b_rpm_tk = 4000");
    ok(e.item && zae_item_get(e.item, "u")->s.len == 8,
       "old item string with escaped surrogates decoded");
    is_str(e.err.msg, "dynamodb conditional check failed (400 "
           "\"ConditionalCheckFailedException\"): "
           "\"The conditional request failed\"", "error description");

    rc = decode(400, NULL, NULL,
                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                "ConditionalCheckFailedException\",\"message\":"
                "\"The conditional request failed\"}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_CONDITIONAL && e.item == NULL
       && eq(e.message, "The conditional request failed"),
       "CCF without Item, lowercase message");

    /* DynamoDB Local: TransactionCanceledException */

    rc = decode(400, NULL, NULL,
                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                "TransactionCanceledException\",\"CancellationReasons\":["
                "{\"Item\":{\"rf\":{\"N\":\"2000\"},\"SK\":{\"S\":\"#STATE\"},"
                "\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"}},"
                "\"Code\":\"ConditionalCheckFailed\",\"Message\":"
                "\"The conditional request failed.\"},{\"Code\":\"None\"}],"
                "\"Message\":\"Transaction cancelled, please refer "
                "cancellation reasons for specific reasons "
                "[ConditionalCheckFailed, None]\"}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_TXN_CANCELED && !e.retryable,
       "TransactionCanceledException class, not retryable");
    is_int(e.nreasons, 2, "two cancellation reasons");
    ok(e.nreasons == 2 && eq(e.reasons[0].code, "ConditionalCheckFailed")
       && eq(e.reasons[0].message, "The conditional request failed.")
       && e.reasons[0].item
       && zae_item_get_int64(e.reasons[0].item, "rf", &v, &err) == ZAE_OK
       && v == 2000, "reason 0: code, message, item");
    ok(e.nreasons == 2 && eq(e.reasons[1].code, "None")
       && e.reasons[1].item == NULL && e.reasons[1].message.len == 0,
       "reason 1: None");

    rc = decode(400, NULL, NULL,
                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                "TransactionCanceledException\",\"CancellationReasons\":["
                "{\"Code\":\"None\"},{\"Code\":\"TransactionConflict\","
                "\"Message\":\"Transaction is ongoing for the item\"}],"
                "\"Message\":\"Transaction cancelled\"}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_TXN_CANCELED && e.retryable,
       "canceled by a conflict only: retryable");

    rc = decode(400, NULL, NULL,
                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                "TransactionCanceledException\",\"CancellationReasons\":"
                "\"garbage\",\"Message\":\"x\"}", &root, &e);
    ok(rc == ZAE_ERROR && e.cls == ZAE_DDB_ERR_TXN_CANCELED
       && e.nreasons == 0, "malformed CancellationReasons ignored");

    /* the other classes */

    static const struct {
        unsigned                status;
        const char             *type;
        const char             *body;
        zae_ddb_err_class_e     cls;
        int                     retryable;
        const char             *code;
    } cases[] = {
        { 400, NULL, "{\"__type\":\"com.amazon.coral.service#"
          "UnrecognizedClientException\",\"message\":\"The security token "
          "included in the request is invalid.\"}",
          ZAE_DDB_ERR_AUTH, 0, "UnrecognizedClientException" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "MissingAuthenticationToken\",\"Message\":\"Request must contain "
          "either a valid (registered) AWS access key ID or X.509 "
          "certificate.\"}",
          ZAE_DDB_ERR_AUTH, 0, "MissingAuthenticationToken" },
        { 400, NULL, "{\"__type\":\"com.amazon.coral.service#"
          "InvalidSignatureException\",\"message\":\"Signature expired\"}",
          ZAE_DDB_ERR_AUTH, 0, "InvalidSignatureException" },
        { 400, NULL, "{\"__type\":\"com.amazon.coral.service#"
          "ExpiredTokenException\",\"message\":\"expired\"}",
          ZAE_DDB_ERR_AUTH, 0, "ExpiredTokenException" },
        { 400, NULL, "{\"__type\":\"com.amazon.coral.service#"
          "AccessDeniedException\",\"Message\":\"no\"}",
          ZAE_DDB_ERR_AUTH, 0, "AccessDeniedException" },
        { 400, NULL, "{\"__type\":\"com.amazon.coral.validate#"
          "ValidationException\",\"Message\":\"Invalid UpdateExpression: "
          "An expression attribute name used in the document path is not "
          "defined; attribute name: #missing\"}",
          ZAE_DDB_ERR_VALIDATION, 0, "ValidationException" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "ResourceNotFoundException\",\"Message\":\"Cannot do operations "
          "on a non-existent table\"}",
          ZAE_DDB_ERR_NOT_FOUND, 0, "ResourceNotFoundException" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "ResourceInUseException\",\"Message\":\"Cannot create preexisting "
          "table\"}",
          ZAE_DDB_ERR_IN_USE, 0, "ResourceInUseException" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "ProvisionedThroughputExceededException\",\"message\":\"x\"}",
          ZAE_DDB_ERR_THROTTLING, 1,
          "ProvisionedThroughputExceededException" },
        { 400, NULL, "{\"__type\":\"com.amazon.coral.availability#"
          "ThrottlingException\",\"message\":\"Rate exceeded\"}",
          ZAE_DDB_ERR_THROTTLING, 1, "ThrottlingException" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "RequestLimitExceeded\",\"message\":\"x\"}",
          ZAE_DDB_ERR_THROTTLING, 1, "RequestLimitExceeded" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "TransactionInProgressException\",\"message\":\"x\"}",
          ZAE_DDB_ERR_THROTTLING, 1, "TransactionInProgressException" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "TransactionConflictException\",\"message\":\"x\"}",
          ZAE_DDB_ERR_TXN_CONFLICT, 1, "TransactionConflictException" },
        { 500, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "InternalFailure\",\"Message\":\"The request processing has "
          "failed because of an unknown error, exception or failure.\"}",
          ZAE_DDB_ERR_INTERNAL, 1, "InternalFailure" },
        { 500, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "InternalServerError\",\"message\":\"x\"}",
          ZAE_DDB_ERR_INTERNAL, 1, "InternalServerError" },
        { 503, NULL, "{\"__type\":\"com.amazon.coral.availability#"
          "ServiceUnavailableException\"}",
          ZAE_DDB_ERR_INTERNAL, 1, "ServiceUnavailableException" },
        { 500, NULL, "", ZAE_DDB_ERR_INTERNAL, 1, "" },
        { 502, NULL, "<html>Bad Gateway</html>",
          ZAE_DDB_ERR_INTERNAL, 1, "" },
        { 503, NULL, "{\"__type\":\"x#SomethingNew\"}",
          ZAE_DDB_ERR_INTERNAL, 1, "SomethingNew" },
        { 400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
          "UnknownOperationException\",\"Message\":\"An unknown operation "
          "was requested.\"}",
          ZAE_DDB_ERR_CLIENT, 0, "UnknownOperationException" },
        { 400, NULL, "not json", ZAE_DDB_ERR_MALFORMED, 0, "" },
        { 400, NULL, "", ZAE_DDB_ERR_MALFORMED, 0, "" },
        { 400, NULL, "{\"message\":\"no type\"}", ZAE_DDB_ERR_MALFORMED, 0,
          "" },
        { 400, "ThrottlingException:http://internal.amazon.com/coral/"
          "com.amazon.coral.availability/", "",
          ZAE_DDB_ERR_THROTTLING, 1, "ThrottlingException" },
        { 400, "aws.protocoltests#ValidationException", "{}",
          ZAE_DDB_ERR_VALIDATION, 0, "ValidationException" },
        { 400, "ThrottlingException",
          "{\"__type\":\"x#ResourceNotFoundException\"}",
          ZAE_DDB_ERR_NOT_FOUND, 0, "ResourceNotFoundException" },
        { 400, NULL, "{\"__type\":\"aws.protocoltests.restjson#"
          "ValidationException:http://internal.amazon.com/coral/"
          "com.amazon.coral.validate/\"}",
          ZAE_DDB_ERR_VALIDATION, 0, "ValidationException" },
        { 400, NULL, "{\"code\":\"ThrottlingException\"}",
          ZAE_DDB_ERR_THROTTLING, 1, "ThrottlingException" },
        { 400, NULL, "{\"__type\":5,\"code\":\"AccessDeniedException\"}",
          ZAE_DDB_ERR_AUTH, 0, "AccessDeniedException" },
        { 0, NULL, "{\"__type\":\"x#ThrottlingException\"}",
          ZAE_DDB_ERR_MALFORMED, 0, "ThrottlingException" },
        { 404, NULL, "<html>not found</html>", ZAE_DDB_ERR_MALFORMED, 0, "" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = decode(cases[i].status, NULL, cases[i].type, cases[i].body,
                    &root, &e);
        ok(rc == ZAE_ERROR && e.cls == cases[i].cls
           && e.retryable == (unsigned) cases[i].retryable
           && eq(e.code, cases[i].code),
           "%u %s -> %s%s (%s)", cases[i].status,
           cases[i].code[0] ? cases[i].code : "(no code)",
           zae_ddb_err_class_name(cases[i].cls),
           cases[i].retryable ? ", retryable" : "", e.err.msg);
    }

    rc = decode(400, NULL, NULL, "{\"__type\":\"x#ValidationException\","
                "\"message\":\"line\\nbreak\"}", &root, &e);
    ok(e.message.len == 4, "message cut at a control character");

    is_str(zae_ddb_err_class_name(ZAE_DDB_ERR_THROTTLING), "throttling",
           "class name");
    is_str(zae_ddb_err_class_name((zae_ddb_err_class_e) 99), "unknown",
           "unknown class name");
}


static zae_av_t *
ok_root(const char *bd)
{
    zae_av_t         *root;
    zae_ddb_error_t   e;

    if (decode(200, NULL, NULL, bd, &root, &e) != ZAE_OK) {
        printf("# decode: %s\n", e.err.msg);
        return NULL;
    }

    return root;
}


static void
test_results(void)
{
    int64_t                      v;
    zae_av_t                    *root, *item, *l;
    zae_str_t                    s;
    zae_err_t                    err;
    zae_ddb_page_t               page;
    zae_ddb_table_t              t;
    zae_ddb_stream_t             st;
    zae_ddb_records_t            recs;
    zae_ddb_batch_get_result_t   bgr;

    /* GetItem */

    root = ok_root("{\"Item\":{\"rf\":{\"N\":\"1000\"},\"SK\":{\"S\":"
                   "\"#STATE\"},\"PK\":{\"S\":\"ns/BUCKET#e#r#0\"},"
                   "\"b_rpm_tk\":{\"N\":\"5000\"}}}");
    ok(zae_ddb_result_item(root, "Item", &item, &err) == ZAE_OK && item
       && zae_item_get_int64(item, "b_rpm_tk", &v, &err) == ZAE_OK
       && v == 5000, "GetItem Item");

    root = ok_root("{}");
    ok(zae_ddb_result_item(root, "Item", &item, &err) == ZAE_OK
       && item == NULL, "GetItem without Item: not found");

    root = ok_root("{\"Attributes\":{\"rf\":{\"N\":\"2000\"}}}");
    ok(zae_ddb_result_item(root, "Attributes", &item, &err) == ZAE_OK
       && item && zae_item_get_int64(item, "rf", &v, &err) == ZAE_OK
       && v == 2000, "UpdateItem Attributes");

    root = ok_root("{\"Item\":{\"rf\":{\"Q\":\"1\"}}}");
    ok(zae_ddb_result_item(root, "Item", &item, &err) == ZAE_ERROR
       && item == NULL, "bad typed Item is an error: %s", err.msg);

    ok(zae_ddb_result_item(NULL, "Item", &item, &err) == ZAE_ERROR,
       "no root");

    /* every attribute type, as DynamoDB Local returns a PutItem of ours */

    {
        int               b;
        zae_av_t         *a;
        zae_ddb_error_t   e;

        static const char  typed[] =
        "{\"Item\":{\"ss\":{\"SS\":[\"a\"]},\"bs\":{\"BS\":[\"AAE=\"]},"
        "\"b\":{\"B\":\"AQID\"},\"nul\":{\"NULL\":true},\"ns\":{\"NS\":"
        "[\"-5\"]},\"SK\":{\"S\":\"#1\"},\"PK\":{\"S\":\"typed\"},\"l\""
        ":{\"L\":[{\"S\":\"x\"},{\"NULL\":true},{\"BOOL\":true}]},\"m\""
        ":{\"M\":{\"k\":{\"S\":\"v\\n\\\"\\u0001\"}}}}}";

        ok(decode(200, "380344450", NULL, typed, &root, &e) == ZAE_OK,
           "typed GetItem with its x-amz-crc32");
        ok(zae_ddb_result_item(root, "Item", &item, &err) == ZAE_OK && item,
           "typed item");

        a = zae_item_get(item, "ss");
        ok(a && a->type == ZAE_AV_SS && a->nitems == 1, "SS");
        a = zae_item_get(item, "bs");
        ok(a && a->type == ZAE_AV_BS && a->items[0]->type == ZAE_AV_B
           && eq(a->items[0]->s, "AAE="), "BS");
        a = zae_item_get(item, "b");
        ok(a && a->type == ZAE_AV_B && eq(a->s, "AQID"), "B");
        a = zae_item_get(item, "nul");
        ok(a && a->type == ZAE_AV_NULL, "NULL");
        a = zae_item_get(item, "ns");
        ok(a && a->type == ZAE_AV_NS
           && zae_av_get_int64(a->items[0], &v, &err) == ZAE_OK && v == -5,
           "NS member -5");
        a = zae_item_get(item, "l");
        ok(a && a->type == ZAE_AV_L && a->nitems == 3
           && a->items[1]->type == ZAE_AV_NULL
           && zae_av_get_bool(a->items[2], &b) == ZAE_OK && b,
           "L of S, NULL, BOOL");
        a = zae_item_get(item, "m");
        ok(a && zae_item_get_str(a, "k", &s, &err) == ZAE_OK
           && eq(s, "v\n\"\001"), "M member with escapes decoded");
    }

    /* Query */

    root = ok_root("{\"Items\":[{\"PK\":{\"S\":\"a\"},\"n\":{\"N\":\"1\"}},"
                   "{\"PK\":{\"S\":\"b\"}}],\"Count\":2,\"ScannedCount\":3,"
                   "\"LastEvaluatedKey\":{\"PK\":{\"S\":\"b\"},"
                   "\"SK\":{\"S\":\"x\"}}}");
    ok(zae_ddb_result_page(root, &page, &err) == ZAE_OK, "Query page");
    is_int(page.nitems, 2, "two items");
    is_int(page.count, 2, "Count");
    is_int(page.scanned_count, 3, "ScannedCount");
    ok(page.nitems == 2
       && zae_item_get_str(page.items[1], "PK", &s, &err) == ZAE_OK
       && eq(s, "b"), "second item PK");
    ok(page.last_key
       && zae_item_get_str(page.last_key, "SK", &s, &err) == ZAE_OK
       && eq(s, "x"), "LastEvaluatedKey");

    root = ok_root("{\"Count\":2,\"ScannedCount\":2}");
    ok(zae_ddb_result_page(root, &page, &err) == ZAE_OK && page.nitems == 0
       && page.items == NULL && page.count == 2,
       "Select COUNT: no Items, Count 2");

    root = ok_root("{\"Items\":[],\"Count\":0,\"ScannedCount\":0}");
    ok(zae_ddb_result_page(root, &page, &err) == ZAE_OK && page.nitems == 0
       && page.last_key == NULL, "empty last page");

    root = ok_root("{\"Items\":{},\"Count\":0}");
    ok(zae_ddb_result_page(root, &page, &err) == ZAE_ERROR,
       "Items not a list: %s", err.msg);

    root = ok_root("{\"Items\":[],\"Count\":1.5}");
    ok(zae_ddb_result_page(root, &page, &err) == ZAE_ERROR,
       "fractional Count: %s", err.msg);

    /* BatchGetItem */

    root = ok_root("{\"Responses\":{\"h4t\":[{\"PK\":{\"S\":\"a\"}},"
                   "{\"PK\":{\"S\":\"b\"}}]},\"UnprocessedKeys\":{}}");
    ok(zae_ddb_result_batch_get(root, &bgr, &err) == ZAE_OK
       && bgr.unprocessed == NULL, "BatchGetItem without unprocessed keys");
    s = str("h4t");
    l = zae_ddb_batch_get_items(&bgr, &s);
    ok(l && l->nitems == 2 && l->items[1]->type == ZAE_AV_M
       && zae_item_get(l->items[1], "PK")->type == ZAE_AV_S,
       "BatchGetItem items of table h4t");
    s = str("other");
    ok(zae_ddb_batch_get_items(&bgr, &s) == NULL, "unknown table");

    root = ok_root("{\"Responses\":{},\"UnprocessedKeys\":{\"t\":{\"Keys\":"
                   "[{\"PK\":{\"S\":\"a\"},\"SK\":{\"S\":\"b\"}}]}}}");
    ok(zae_ddb_result_batch_get(root, &bgr, &err) == ZAE_OK
       && bgr.unprocessed, "UnprocessedKeys kept");

    {
        zae_buf_t  b;

        zae_buf_init(&b, &mem, 0);
        is_str(body(&b, zae_ddb_request_items_json(&b, bgr.unprocessed)),
               "{\"RequestItems\":{\"t\":{\"Keys\":[{\"PK\":{\"S\":\"a\"},"
               "\"SK\":{\"S\":\"b\"}}]}}}", "UnprocessedKeys resent");
    }

    root = ok_root("{\"UnprocessedItems\":{\"t\":[{\"DeleteRequest\":"
                   "{\"Key\":{\"PK\":{\"S\":\"a\"}}}}]}}");
    ok(zae_ddb_result_batch_write(root, &l, &err) == ZAE_OK && l,
       "BatchWriteItem UnprocessedItems");

    root = ok_root("{\"UnprocessedItems\":{}}");
    ok(zae_ddb_result_batch_write(root, &l, &err) == ZAE_OK && l == NULL,
       "BatchWriteItem all processed");

    /* DescribeTable as DynamoDB Local sends it */

    root = ok_root(body_describe);
    ok(zae_ddb_result_table(root, &t, &err) == ZAE_OK, "DescribeTable");
    ok(eq(t.status, "ACTIVE"), "TableStatus ACTIVE");
    ok(eq(t.name, "h4t"), "TableName");
    ok(t.stream_arn.len > 20
       && memcmp(t.stream_arn.data, "arn:aws:dynamodb:ddblocal:", 26) == 0,
       "LatestStreamArn");
    ok(eq(t.stream_view, "NEW_AND_OLD_IMAGES"), "StreamViewType");
    is_int(t.ngsi, 4, "four GSIs");
    is_int(t.nlsi, 5, "five LSIs");
    is_int(t.item_count, 1, "ItemCount");

    root = ok_root("{\"TableDescription\":{\"TableName\":\"x\","
                   "\"TableStatus\":\"DELETING\"}}");
    ok(zae_ddb_result_table(root, &t, &err) == ZAE_OK
       && eq(t.status, "DELETING"), "DeleteTable TableDescription");

    root = ok_root("{\"Nope\":{}}");
    ok(zae_ddb_result_table(root, &t, &err) == ZAE_ERROR,
       "no table description: %s", err.msg);

    /* Streams as DynamoDB Local sends them */

    root = ok_root(body_stream);
    ok(zae_ddb_result_stream(&mem, root, &st, &err) == ZAE_OK,
       "DescribeStream");
    ok(eq(st.status, "ENABLED"), "StreamStatus");
    is_int(st.nshards, 1, "one shard");
    ok(st.nshards == 1
       && eq(st.shards[0].id, "shardId-00000001795634695359-d770a56b")
       && eq(st.shards[0].start_seq, "000000000000000000001")
       && st.shards[0].end_seq.len == 0, "shard id and open range");

    root = ok_root("{\"ShardIterator\":\"abc|001|x\"}");
    ok(zae_ddb_result_shard_iterator(root, &s, &err) == ZAE_OK
       && eq(s, "abc|001|x"), "ShardIterator");

    root = ok_root(body_records);
    ok(zae_ddb_result_records(&mem, root, &recs, &err) == ZAE_OK,
       "GetRecords");
    is_int(recs.nrecords, 2, "two records");
    ok(recs.next_iterator.len > 0, "NextShardIterator");

    if (recs.nrecords == 2) {
        ok(eq(recs.records[0].event_name, "INSERT")
           && recs.records[0].old_image == NULL
           && recs.records[0].new_image, "INSERT with NewImage only");
        ok(eq(recs.records[1].event_name, "MODIFY")
           && recs.records[1].old_image && recs.records[1].new_image,
           "MODIFY with both images");
        ok(zae_item_get_int64(recs.records[1].new_image, "b_rpm_tk", &v,
                              &err) == ZAE_OK && v == 4000,
           "NewImage b_rpm_tk = 4000");
        ok(zae_item_get_int64(recs.records[1].old_image, "b_rpm_tk", &v,
                              &err) == ZAE_OK && v == 5000,
           "OldImage b_rpm_tk = 5000");
        ok(zae_item_get_str(recs.records[0].keys, "PK", &s, &err) == ZAE_OK
           && eq(s, "ns/BUCKET#e#r#0"), "Keys");
        ok(eq(recs.records[1].seq, "000000000000000000003"),
           "SequenceNumber");
        is_int(recs.records[0].created, 1795634640,
               "ApproximateCreationDateTime \"1795634640.000\"");
    }

    root = ok_root("{\"Records\":[],\"NextShardIterator\":\"n\"}");
    ok(zae_ddb_result_records(&mem, root, &recs, &err) == ZAE_OK
       && recs.nrecords == 0 && eq(recs.next_iterator, "n"), "no records");

    root = ok_root("{\"Records\":[{\"eventName\":\"INSERT\"}]}");
    ok(zae_ddb_result_records(&mem, root, &recs, &err) == ZAE_ERROR,
       "record without dynamodb: %s", err.msg);

    root = ok_root("{\"Records\":[{\"dynamodb\":{\"NewImage\":{\"a\":1}}}]}");
    ok(zae_ddb_result_records(&mem, root, &recs, &err) == ZAE_ERROR,
       "record with an untyped image: %s", err.msg);
}


int
main(void)
{
    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_targets();
    test_crc32();
    test_expr();
    test_requests();
    test_errors();
    test_results();

    zae_arena_free(&arena);

    return tap_done();
}
