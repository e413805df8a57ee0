
/*
 * Copyright (C) zae-limit authors
 *
 * The DynamoDB JSON protocol (awsJson1_0): request bodies of the
 * operations zae uses, response decoding, error classes and the
 * x-amz-crc32 check.  No I/O: the caller sends
 *
 *     POST /
 *     Content-Type: application/x-amz-json-1.0
 *     X-Amz-Target: <zae_ddb_target(op)>
 *
 * with the body built here, and hands the response back to
 * zae_ddb_decode().
 */


#ifndef _ZAE_DDB_H_INCLUDED_
#define _ZAE_DDB_H_INCLUDED_


#include "zae_core.h"
#include "zae_json.h"


#define ZAE_DDB_CONTENT_TYPE   "application/x-amz-json-1.0"


typedef enum {
    ZAE_DDB_GET_ITEM = 0,
    ZAE_DDB_BATCH_GET_ITEM,
    ZAE_DDB_PUT_ITEM,
    ZAE_DDB_UPDATE_ITEM,
    ZAE_DDB_DELETE_ITEM,
    ZAE_DDB_TRANSACT_WRITE_ITEMS,
    ZAE_DDB_QUERY,
    ZAE_DDB_SCAN,
    ZAE_DDB_BATCH_WRITE_ITEM,
    ZAE_DDB_CREATE_TABLE,
    ZAE_DDB_DESCRIBE_TABLE,
    ZAE_DDB_UPDATE_TIME_TO_LIVE,
    ZAE_DDB_DESCRIBE_TIME_TO_LIVE,
    ZAE_DDB_DELETE_TABLE,
    ZAE_DDB_DESCRIBE_STREAM,
    ZAE_DDB_GET_SHARD_ITERATOR,
    ZAE_DDB_GET_RECORDS,
    ZAE_DDB_OP_MAX
} zae_ddb_op_e;


typedef struct {
    zae_str_t          name;      /* "GetItem", NUL-terminated */
    zae_str_t          target;    /* "DynamoDB_20120810.GetItem",
                                     NUL-terminated */
    const char        *service;   /* the endpoint's first label:
                                     "dynamodb", "streams.dynamodb" */
} zae_ddb_op_t;


/* the operation's name and target; NULL for an unknown op */
const zae_ddb_op_t *zae_ddb_op(zae_ddb_op_e op);
/* "DynamoDB_20120810.GetItem", "DynamoDBStreams_20120810.GetRecords" */
const char *zae_ddb_target(zae_ddb_op_e op);
/* "GetItem"; NULL for an unknown op */
const char *zae_ddb_op_name(zae_ddb_op_e op);


/*
 * CRC32 (IEEE 802.3 / zlib): zae_crc32("123456789") == 0xcbf43926;
 * with the answers, zae_ddb_result.c
 */

uint32_t zae_crc32(const u_char *p, size_t len);
uint32_t zae_crc32_update(uint32_t crc, const u_char *p, size_t len);


/*
 * The expression builder hands out indexed placeholders and collects
 * ExpressionAttributeNames ("#n0" -> "rf") and ExpressionAttributeValues
 * (":v0" -> typed value).  The same name always gets the same "#nN";
 * every value gets a new ":vN".  The returned placeholders are
 * NUL-terminated and live in mem; NULL means an allocation failed (and
 * x->failed is set).  names/values stay NULL until first used, which is
 * what the request builders expect when there are none.
 */

typedef struct {
    zae_mem_t         *mem;
    zae_av_t          *names;      /* map of S: "#n0" -> "rf" */
    zae_av_t          *values;     /* map of typed values: ":v0" -> ... */
    unsigned           failed:1;
} zae_ddb_expr_t;


void zae_ddb_expr_init(zae_ddb_expr_t *x, zae_mem_t *mem);
const char *zae_ddb_expr_name(zae_ddb_expr_t *x, const u_char *name,
    size_t len);
const char *zae_ddb_expr_cname(zae_ddb_expr_t *x, const char *name);
const char *zae_ddb_expr_value(zae_ddb_expr_t *x, zae_av_t *value);
const char *zae_ddb_expr_int64(zae_ddb_expr_t *x, int64_t v);
const char *zae_ddb_expr_str(zae_ddb_expr_t *x, const u_char *s,
    size_t len);


/*
 * One request description shared by the item operations.  Fields an
 * operation does not have are ignored; empty strings and NULL trees
 * are omitted from the body.  Zero-initialise, then fill in.
 */

typedef struct {
    zae_str_t          table;            /* TableName */
    const zae_av_t    *key;              /* Key: typed map */
    const zae_av_t    *item;             /* Item: typed map (PutItem) */
    zae_str_t          update;           /* UpdateExpression */
    zae_str_t          condition;        /* ConditionExpression */
    zae_str_t          key_condition;    /* KeyConditionExpression */
    zae_str_t          filter;           /* FilterExpression */
    zae_str_t          projection;       /* ProjectionExpression */
    const zae_av_t    *names;            /* map of S */
    const zae_av_t    *values;           /* map of typed values */
    zae_str_t          index;            /* IndexName */
    zae_str_t          select;           /* Select, e.g. "COUNT" */
    zae_str_t          return_values;    /* ReturnValues */
    zae_str_t          return_values_ccf;   /* ReturnValuesOn...Failure */
    zae_str_t          return_consumed;  /* ReturnConsumedCapacity */
    const zae_av_t    *start_key;        /* ExclusiveStartKey */
    int64_t            limit;            /* Limit; 0: omitted */
    unsigned           consistent_read:1;  /* ConsistentRead: true */
    unsigned           scan_backward:1;    /* ScanIndexForward: false */
} zae_ddb_req_t;


/* all builders append a complete JSON body to b: ZAE_OK or ZAE_ERROR */

int zae_ddb_get_item(zae_buf_t *b, const zae_ddb_req_t *r);
int zae_ddb_put_item(zae_buf_t *b, const zae_ddb_req_t *r);
int zae_ddb_update_item(zae_buf_t *b, const zae_ddb_req_t *r);
int zae_ddb_delete_item(zae_buf_t *b, const zae_ddb_req_t *r);
int zae_ddb_query(zae_buf_t *b, const zae_ddb_req_t *r);


/* TransactWriteItems */

typedef enum {
    ZAE_DDB_ACT_PUT = 0,               /* table, item, condition, ... */
    ZAE_DDB_ACT_UPDATE,                /* table, key, update, ... */
    ZAE_DDB_ACT_DELETE,                /* table, key, condition, ... */
    ZAE_DDB_ACT_CONDITION_CHECK        /* table, key, condition, ... */
} zae_ddb_act_e;

typedef struct {
    zae_ddb_act_e      type;
    zae_ddb_req_t      req;      /* uses table, key/item, update, condition,
                                    names, values, return_values_ccf */
} zae_ddb_action_t;


/* token: ClientRequestToken, omitted when empty or NULL */

int zae_ddb_transact_write(zae_buf_t *b, const zae_ddb_action_t *acts,
    size_t n, const zae_str_t *token, const zae_str_t *return_consumed);


/* BatchGetItem: one entry per table */

typedef struct {
    zae_str_t          table;
    const zae_av_t   **keys;             /* typed maps */
    size_t             nkeys;
    zae_str_t          projection;
    const zae_av_t    *names;
    unsigned           consistent_read:1;
} zae_ddb_batch_get_t;


int zae_ddb_batch_get_item(zae_buf_t *b, const zae_ddb_batch_get_t *t,
    size_t n, const zae_str_t *return_consumed);

/*
 * resend a response's UnprocessedKeys (BatchGetItem) or UnprocessedItems
 * (BatchWriteItem), plain JSON, as RequestItems
 */
int zae_ddb_request_items_json(zae_buf_t *b, const zae_av_t *request_items);


/* BatchWriteItem: a put (item) or a delete (key); grouped by table */

typedef struct {
    zae_str_t          table;
    const zae_av_t    *item;             /* PutRequest when set */
    const zae_av_t    *key;              /* else DeleteRequest */
} zae_ddb_write_t;


int zae_ddb_batch_write_item(zae_buf_t *b, const zae_ddb_write_t *w,
    size_t n);


/* tables and streams */

/* {"TableName":...}: DescribeTable, DeleteTable, DescribeTimeToLive */
int zae_ddb_table_request(zae_buf_t *b, const zae_str_t *table);
int zae_ddb_update_ttl(zae_buf_t *b, const zae_str_t *table,
    const zae_str_t *attr, int enabled);
/* exclusive_start_shard may be NULL; limit 0: omitted */
int zae_ddb_describe_stream(zae_buf_t *b, const zae_str_t *stream_arn,
    const zae_str_t *exclusive_start_shard, int64_t limit);
/* type: TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER */
int zae_ddb_get_shard_iterator(zae_buf_t *b, const zae_str_t *stream_arn,
    const zae_str_t *shard_id, const char *type, const zae_str_t *seq);
int zae_ddb_get_records(zae_buf_t *b, const zae_str_t *iterator,
    int64_t limit);


/* responses and errors */

typedef enum {
    ZAE_DDB_ERR_NONE = 0,
    ZAE_DDB_ERR_CONDITIONAL,           /* ConditionalCheckFailedException */
    ZAE_DDB_ERR_TXN_CANCELED,          /* TransactionCanceledException */
    ZAE_DDB_ERR_TXN_CONFLICT,          /* TransactionConflictException */
    ZAE_DDB_ERR_THROTTLING,            /* throughput, throttling, ... */
    ZAE_DDB_ERR_NOT_FOUND,             /* ResourceNotFoundException */
    ZAE_DDB_ERR_IN_USE,                /* ResourceInUseException */
    ZAE_DDB_ERR_VALIDATION,            /* ValidationException, ... */
    ZAE_DDB_ERR_AUTH,                  /* credentials, signature, access */
    ZAE_DDB_ERR_INTERNAL,              /* InternalServerError, 5xx */
    ZAE_DDB_ERR_CRC32,                 /* x-amz-crc32 mismatch */
    ZAE_DDB_ERR_MALFORMED,             /* unparsable response */
    ZAE_DDB_ERR_CLIENT                 /* any other 4xx error */
} zae_ddb_err_class_e;


typedef struct {
    zae_str_t          code;      /* "ConditionalCheckFailed", "None" */
    zae_str_t          message;
    zae_av_t          *item;      /* typed item or NULL */
} zae_ddb_reason_t;


typedef struct {
    zae_ddb_err_class_e   cls;
    unsigned              status;    /* HTTP status */
    unsigned              retryable:1;
    zae_str_t             code;      /* "ConditionalCheckFailedException" */
    zae_str_t             message;
    zae_av_t             *item;      /* CCF with ALL_OLD: the old item */
    zae_ddb_reason_t     *reasons;   /* TransactionCanceled */
    size_t                nreasons;
    zae_err_t             err;       /* description for logs */
} zae_ddb_error_t;


typedef struct {
    unsigned           status;       /* HTTP status code */
    zae_str_t          crc32;        /* x-amz-crc32 value; len 0: absent */
    zae_str_t          error_type;   /* X-Amzn-ErrorType; len 0: absent */
    zae_str_t          body;
} zae_ddb_http_resp_t;


/*
 * zae_ddb_decode(): checks x-amz-crc32 (when present), then for 200
 * parses the body into a plain-JSON *root and returns ZAE_OK; anything
 * else returns ZAE_ERROR with e filled (cls, code, message, retryable,
 * the old item and cancellation reasons when present, e->err).
 */

int zae_ddb_decode(zae_mem_t *mem, const zae_ddb_http_resp_t *r,
    zae_av_t **root, zae_ddb_error_t *e);

/* decode an error from its parts (used by zae_ddb_decode()) */
int zae_ddb_decode_error(zae_mem_t *mem, const zae_ddb_http_resp_t *r,
    zae_ddb_error_t *e);

/*
 * The steps of zae_ddb_decode() for decoders of their own: the x-amz-crc32
 * check (ZAE_OK, or ZAE_ERROR with e filled as a CRC32 error); the class
 * of an error whose status, code and message the caller has set in a
 * zeroed e (the X-Amzn-ErrorType header when the code is empty, the code
 * reduced to its name; ZAE_ERROR on allocation failure); then
 * zae_ddb_error_done() (a status that is not HTTP, the message cut at a
 * control byte, e->err).
 */
int zae_ddb_check_crc32(const zae_ddb_http_resp_t *r, zae_ddb_error_t *e);
int zae_ddb_error_class(zae_mem_t *mem, const zae_ddb_http_resp_t *r,
    zae_ddb_error_t *e);
void zae_ddb_error_done(const zae_ddb_http_resp_t *r, zae_ddb_error_t *e);

/* "throttling", "conditional check failed", ... */
const char *zae_ddb_err_class_name(zae_ddb_err_class_e cls);


/*
 * Result readers: they take the plain-JSON root of a 200 response and
 * convert the items they return in place into typed maps.  ZAE_OK, or
 * ZAE_ERROR with err set when the response has the wrong shape.
 */

/*
 * GetItem "Item", PutItem/UpdateItem/DeleteItem "Attributes"; *item is
 * NULL when absent (no such item, no ReturnValues)
 */
int zae_ddb_result_item(zae_av_t *root, const char *field, zae_av_t **item,
    zae_err_t *err);


typedef struct {
    zae_av_t         **items;      /* typed maps */
    size_t             nitems;
    zae_av_t          *last_key;   /* typed map; NULL on the last page */
    int64_t            count;
    int64_t            scanned_count;
} zae_ddb_page_t;


/* Query and Scan */
int zae_ddb_result_page(zae_av_t *root, zae_ddb_page_t *page,
    zae_err_t *err);


typedef struct {
    zae_av_t          *responses;    /* map: table -> L of typed maps */
    zae_av_t          *unprocessed;  /* plain JSON UnprocessedKeys or NULL
                                        when empty */
} zae_ddb_batch_get_result_t;


int zae_ddb_result_batch_get(zae_av_t *root,
    zae_ddb_batch_get_result_t *res, zae_err_t *err);

/* the items of one table in a BatchGetItem result (typed maps) */
zae_av_t *zae_ddb_batch_get_items(const zae_ddb_batch_get_result_t *res,
    const zae_str_t *table);

/* BatchWriteItem: plain JSON UnprocessedItems, NULL when empty */
int zae_ddb_result_batch_write(zae_av_t *root, zae_av_t **unprocessed,
    zae_err_t *err);


typedef struct {
    zae_str_t          name;
    zae_str_t          status;       /* CREATING, ACTIVE, DELETING, ... */
    zae_str_t          arn;
    zae_str_t          stream_arn;   /* LatestStreamArn */
    zae_str_t          stream_view;  /* StreamSpecification.StreamViewType */
    int64_t            item_count;
    size_t             ngsi;
    size_t             nlsi;
} zae_ddb_table_t;


/* CreateTable/DeleteTable "TableDescription", DescribeTable "Table" */
int zae_ddb_result_table(zae_av_t *root, zae_ddb_table_t *t,
    zae_err_t *err);


typedef struct {
    zae_str_t          id;
    zae_str_t          parent_id;
    zae_str_t          start_seq;
    zae_str_t          end_seq;      /* empty while the shard is open */
} zae_ddb_shard_t;


typedef struct {
    zae_str_t          status;       /* StreamStatus */
    zae_ddb_shard_t   *shards;
    size_t             nshards;
    zae_str_t          last_shard;   /* LastEvaluatedShardId */
} zae_ddb_stream_t;


int zae_ddb_result_stream(zae_mem_t *mem, zae_av_t *root,
    zae_ddb_stream_t *s, zae_err_t *err);
/* GetShardIterator "ShardIterator" */
int zae_ddb_result_shard_iterator(zae_av_t *root, zae_str_t *iterator,
    zae_err_t *err);


typedef struct {
    zae_str_t          event_id;
    zae_str_t          event_name;   /* INSERT, MODIFY, REMOVE */
    zae_str_t          seq;          /* dynamodb.SequenceNumber */
    zae_av_t          *keys;         /* typed maps or NULL */
    zae_av_t          *new_image;
    zae_av_t          *old_image;
    int64_t            created;      /* ApproximateCreationDateTime, s */
} zae_ddb_record_t;


typedef struct {
    zae_ddb_record_t  *records;
    size_t             nrecords;
    zae_str_t          next_iterator;   /* empty: the shard is closed */
} zae_ddb_records_t;


int zae_ddb_result_records(zae_mem_t *mem, zae_av_t *root,
    zae_ddb_records_t *r, zae_err_t *err);


#endif /* _ZAE_DDB_H_INCLUDED_ */
