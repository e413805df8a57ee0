
/*
 * Copyright (C) zae-limit authors
 *
 * DynamoDB requests (zae_ddb.h): the operations' names and targets, the
 * expression builder and the body of each operation.  The answers (the
 * CRC-32 check, the error classes, the result readers) are in
 * zae_ddb_result.c.
 */


#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>

#include "zae_ddb.h"


/*
 * The operations: the name and the X-Amz-Target header, whose prefix
 * (the API and its version) is written here and nowhere else.
 */

#define zae_ddb_api(name)                                                    \
    { zae_string(name), zae_string("DynamoDB_20120810." name), "dynamodb" }

#define zae_ddb_streams_api(name)                                            \
    { zae_string(name), zae_string("DynamoDBStreams_20120810." name),       \
      "streams.dynamodb" }


static const zae_ddb_op_t  zae_ddb_ops[] = {
    zae_ddb_api("GetItem"),
    zae_ddb_api("BatchGetItem"),
    zae_ddb_api("PutItem"),
    zae_ddb_api("UpdateItem"),
    zae_ddb_api("DeleteItem"),
    zae_ddb_api("TransactWriteItems"),
    zae_ddb_api("Query"),
    zae_ddb_api("Scan"),
    zae_ddb_api("BatchWriteItem"),
    zae_ddb_api("CreateTable"),
    zae_ddb_api("DescribeTable"),
    zae_ddb_api("UpdateTimeToLive"),
    zae_ddb_api("DescribeTimeToLive"),
    zae_ddb_api("DeleteTable"),
    zae_ddb_streams_api("DescribeStream"),
    zae_ddb_streams_api("GetShardIterator"),
    zae_ddb_streams_api("GetRecords")
};


const zae_ddb_op_t *
zae_ddb_op(zae_ddb_op_e op)
{
    if ((unsigned) op >= ZAE_DDB_OP_MAX) {
        return NULL;
    }

    return &zae_ddb_ops[op];
}


const char *
zae_ddb_target(zae_ddb_op_e op)
{
    if ((unsigned) op >= ZAE_DDB_OP_MAX) {
        return NULL;
    }

    return (const char *) zae_ddb_ops[op].target.data;
}


const char *
zae_ddb_op_name(zae_ddb_op_e op)
{
    if ((unsigned) op >= ZAE_DDB_OP_MAX) {
        return NULL;
    }

    return (const char *) zae_ddb_ops[op].name.data;
}


/* the expression builder */

void
zae_ddb_expr_init(zae_ddb_expr_t *x, zae_mem_t *mem)
{
    x->mem = mem;
    x->names = NULL;
    x->values = NULL;
    x->failed = 0;
}


/*
 * Adds value to a placeholder map (*map, made on first use) under the
 * next placeholder, prefix and its index ("#n0", ":v1"); the placeholder
 * or NULL, and the builder failed.
 */

static const char *
zae_ddb_expr_add(zae_ddb_expr_t *x, zae_av_t **map, const char *prefix,
    zae_av_t *value)
{
    int   n;
    char  ph[32];

    if (x->failed || value == NULL) {
        goto failed;
    }

    if (*map == NULL) {
        *map = zae_av_map(x->mem);
        if (*map == NULL) {
            goto failed;
        }
    }

    n = snprintf(ph, sizeof(ph), "%s%zu", prefix, (*map)->nattrs);

    if (zae_av_map_add(x->mem, *map, (u_char *) ph, (size_t) n, value)
        != ZAE_OK)
    {
        goto failed;
    }

    return (const char *) (*map)->attrs[(*map)->nattrs - 1].name.data;

failed:

    x->failed = 1;

    return NULL;
}


const char *
zae_ddb_expr_name(zae_ddb_expr_t *x, const u_char *name, size_t len)
{
    size_t       i;
    zae_attr_t  *a;

    if (x->failed) {
        return NULL;
    }

    /* a name already used keeps its placeholder */

    for (i = 0; x->names && i < x->names->nattrs; i++) {
        a = &x->names->attrs[i];

        if (a->value->s.len == len
            && (len == 0 || memcmp(a->value->s.data, name, len) == 0))
        {
            return (const char *) a->name.data;
        }
    }

    return zae_ddb_expr_add(x, &x->names, "#n",
                            zae_av_str(x->mem, name, len));
}


const char *
zae_ddb_expr_cname(zae_ddb_expr_t *x, const char *name)
{
    return zae_ddb_expr_name(x, (const u_char *) name, strlen(name));
}


const char *
zae_ddb_expr_value(zae_ddb_expr_t *x, zae_av_t *value)
{
    return zae_ddb_expr_add(x, &x->values, ":v", value);
}


const char *
zae_ddb_expr_int64(zae_ddb_expr_t *x, int64_t v)
{
    return zae_ddb_expr_value(x, zae_av_int64(x->mem, v));
}


const char *
zae_ddb_expr_str(zae_ddb_expr_t *x, const u_char *s, size_t len)
{
    return zae_ddb_expr_value(x, zae_av_str(x->mem, s, len));
}


/* request bodies */

#define ZAE_DDB_F_KEY         0x0001
#define ZAE_DDB_F_ITEM        0x0002
#define ZAE_DDB_F_UPDATE      0x0004
#define ZAE_DDB_F_COND        0x0008
#define ZAE_DDB_F_KEYCOND     0x0010
#define ZAE_DDB_F_FILTER      0x0020
#define ZAE_DDB_F_PROJ        0x0040
#define ZAE_DDB_F_NAMES       0x0080
#define ZAE_DDB_F_VALUES      0x0100
#define ZAE_DDB_F_INDEX       0x0200
#define ZAE_DDB_F_SELECT      0x0400
#define ZAE_DDB_F_RV          0x0800
#define ZAE_DDB_F_RVCCF       0x1000
#define ZAE_DDB_F_RCC         0x2000
#define ZAE_DDB_F_START       0x4000
#define ZAE_DDB_F_LIMIT       0x8000
#define ZAE_DDB_F_CONSISTENT  0x10000
#define ZAE_DDB_F_FORWARD     0x20000

/* what every conditional write of one item has */
#define ZAE_DDB_F_WRITE       (ZAE_DDB_F_COND|ZAE_DDB_F_NAMES               \
                               |ZAE_DDB_F_VALUES|ZAE_DDB_F_RV               \
                               |ZAE_DDB_F_RVCCF|ZAE_DDB_F_RCC)

/* what every read of many items has */
#define ZAE_DDB_F_READ_MANY   (ZAE_DDB_F_INDEX|ZAE_DDB_F_FILTER              \
                               |ZAE_DDB_F_PROJ|ZAE_DDB_F_NAMES              \
                               |ZAE_DDB_F_VALUES|ZAE_DDB_F_START            \
                               |ZAE_DDB_F_LIMIT|ZAE_DDB_F_SELECT            \
                               |ZAE_DDB_F_CONSISTENT|ZAE_DDB_F_RCC)


/* writes ,"name": (no comma right after an opening brace) */

static int
zae_ddb_field(zae_buf_t *b, const char *name)
{
    if (b->len && b->data[b->len - 1] != '{') {
        if (zae_buf_add(b, ",", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return zae_buf_printf(b, "\"%s\":", name);
}


static int
zae_ddb_field_str(zae_buf_t *b, const char *name, const zae_str_t *s)
{
    if (s == NULL || s->len == 0) {
        return ZAE_OK;
    }

    if (zae_ddb_field(b, name) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_json_add_string(b, s->data, s->len);
}


static int
zae_ddb_field_cstr(zae_buf_t *b, const char *name, const char *s)
{
    if (zae_ddb_field(b, name) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_json_add_string(b, (const u_char *) s, strlen(s));
}


static int
zae_ddb_field_item(zae_buf_t *b, const char *name, const zae_av_t *item)
{
    if (item == NULL) {
        return ZAE_OK;
    }

    if (zae_ddb_field(b, name) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_item_encode(b, item);
}


static int
zae_ddb_field_names(zae_buf_t *b, const zae_av_t *names)
{
    size_t  i;

    if (names == NULL || names->nattrs == 0) {
        return ZAE_OK;
    }

    if (names->type != ZAE_AV_M
        || zae_ddb_field(b, "ExpressionAttributeNames") != ZAE_OK
        || zae_buf_add(b, "{", 1) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    for (i = 0; i < names->nattrs; i++) {
        if (names->attrs[i].value->type != ZAE_AV_S) {
            return ZAE_ERROR;
        }

        if ((i && zae_buf_add(b, ",", 1) != ZAE_OK)
            || zae_json_add_string(b, names->attrs[i].name.data,
                                   names->attrs[i].name.len)
               != ZAE_OK
            || zae_buf_add(b, ":", 1) != ZAE_OK
            || zae_json_add_string(b, names->attrs[i].value->s.data,
                                   names->attrs[i].value->s.len)
               != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add(b, "}", 1);
}


/*
 * The fields of an item operation, in the order they are written; a
 * field is written when the operation has it (f) and it is set.
 */

typedef enum {
    ZAE_DDB_FIELD_STR,          /* a zae_str_t, omitted when empty */
    ZAE_DDB_FIELD_ITEM,         /* a typed map, omitted when NULL */
    ZAE_DDB_FIELD_VALUES,       /* a typed map, omitted when empty */
    ZAE_DDB_FIELD_NAMES,        /* a map of S, omitted when empty */
    ZAE_DDB_FIELD_LIMIT,        /* r->limit, omitted when 0 */
    ZAE_DDB_FIELD_BACKWARD,     /* r->scan_backward: "false" */
    ZAE_DDB_FIELD_CONSISTENT    /* r->consistent_read: "true" */
} zae_ddb_field_e;


typedef struct {
    unsigned          flag;
    zae_ddb_field_e   kind;
    const char       *name;
    size_t            offset;   /* STR, ITEM, VALUES, NAMES */
} zae_ddb_field_t;


#define zae_ddb_f(flag, kind, name, field)                                   \
    { flag, kind, name, offsetof(zae_ddb_req_t, field) }


static const zae_ddb_field_t  zae_ddb_fields[] = {
    zae_ddb_f(ZAE_DDB_F_INDEX, ZAE_DDB_FIELD_STR, "IndexName", index),
    zae_ddb_f(ZAE_DDB_F_KEY, ZAE_DDB_FIELD_ITEM, "Key", key),
    zae_ddb_f(ZAE_DDB_F_ITEM, ZAE_DDB_FIELD_ITEM, "Item", item),
    zae_ddb_f(ZAE_DDB_F_KEYCOND, ZAE_DDB_FIELD_STR,
              "KeyConditionExpression", key_condition),
    zae_ddb_f(ZAE_DDB_F_UPDATE, ZAE_DDB_FIELD_STR, "UpdateExpression",
              update),
    zae_ddb_f(ZAE_DDB_F_COND, ZAE_DDB_FIELD_STR, "ConditionExpression",
              condition),
    zae_ddb_f(ZAE_DDB_F_FILTER, ZAE_DDB_FIELD_STR, "FilterExpression",
              filter),
    zae_ddb_f(ZAE_DDB_F_PROJ, ZAE_DDB_FIELD_STR, "ProjectionExpression",
              projection),
    zae_ddb_f(ZAE_DDB_F_NAMES, ZAE_DDB_FIELD_NAMES,
              "ExpressionAttributeNames", names),
    zae_ddb_f(ZAE_DDB_F_VALUES, ZAE_DDB_FIELD_VALUES,
              "ExpressionAttributeValues", values),
    zae_ddb_f(ZAE_DDB_F_START, ZAE_DDB_FIELD_ITEM, "ExclusiveStartKey",
              start_key),
    { ZAE_DDB_F_LIMIT, ZAE_DDB_FIELD_LIMIT, "Limit", 0 },
    zae_ddb_f(ZAE_DDB_F_SELECT, ZAE_DDB_FIELD_STR, "Select", select),
    { ZAE_DDB_F_FORWARD, ZAE_DDB_FIELD_BACKWARD, "ScanIndexForward", 0 },
    { ZAE_DDB_F_CONSISTENT, ZAE_DDB_FIELD_CONSISTENT, "ConsistentRead", 0 },
    zae_ddb_f(ZAE_DDB_F_RV, ZAE_DDB_FIELD_STR, "ReturnValues",
              return_values),
    zae_ddb_f(ZAE_DDB_F_RVCCF, ZAE_DDB_FIELD_STR,
              "ReturnValuesOnConditionCheckFailure", return_values_ccf),
    zae_ddb_f(ZAE_DDB_F_RCC, ZAE_DDB_FIELD_STR, "ReturnConsumedCapacity",
              return_consumed)
};


static int
zae_ddb_req_field(zae_buf_t *b, const zae_ddb_req_t *r,
    const zae_ddb_field_t *fd)
{
    const void      *p;
    const zae_av_t  *av;

    p = (const u_char *) r + fd->offset;

    switch (fd->kind) {

    case ZAE_DDB_FIELD_STR:
        return zae_ddb_field_str(b, fd->name, p);

    case ZAE_DDB_FIELD_ITEM:
        return zae_ddb_field_item(b, fd->name, *(const zae_av_t **) p);

    case ZAE_DDB_FIELD_VALUES:
        av = *(const zae_av_t **) p;
        return (av && av->nattrs) ? zae_ddb_field_item(b, fd->name, av)
                                  : ZAE_OK;

    case ZAE_DDB_FIELD_NAMES:
        return zae_ddb_field_names(b, *(const zae_av_t **) p);

    case ZAE_DDB_FIELD_LIMIT:
        if (r->limit <= 0) {
            return ZAE_OK;
        }

        break;

    case ZAE_DDB_FIELD_BACKWARD:
        if (!r->scan_backward) {
            return ZAE_OK;
        }

        break;

    case ZAE_DDB_FIELD_CONSISTENT:
        if (!r->consistent_read) {
            return ZAE_OK;
        }

        break;
    }

    /* the scalars: a number or a literal */

    if (zae_ddb_field(b, fd->name) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (fd->kind == ZAE_DDB_FIELD_LIMIT) {
        return zae_buf_add_int64(b, r->limit);
    }

    return zae_buf_add_str(b, fd->kind == ZAE_DDB_FIELD_BACKWARD
                              ? "false" : "true");
}


static int
zae_ddb_req_fields(zae_buf_t *b, const zae_ddb_req_t *r, unsigned f)
{
    size_t  i;

    if (r->table.len == 0) {
        return ZAE_ERROR;
    }

    if (zae_ddb_field_str(b, "TableName", &r->table) != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < sizeof(zae_ddb_fields) / sizeof(zae_ddb_fields[0]);
         i++)
    {
        if ((f & zae_ddb_fields[i].flag)
            && zae_ddb_req_field(b, r, &zae_ddb_fields[i]) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


static int
zae_ddb_req_body(zae_buf_t *b, const zae_ddb_req_t *r, unsigned f)
{
    if (zae_buf_add(b, "{", 1) != ZAE_OK
        || zae_ddb_req_fields(b, r, f) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


/*
 * The fields a request must have: ZAE_DDB_F_ITEM and ZAE_DDB_F_KEY a
 * non-NULL item or key, ZAE_DDB_F_UPDATE, ZAE_DDB_F_COND and
 * ZAE_DDB_F_KEYCOND a non-empty expression
 */

static int
zae_ddb_req_has(const zae_ddb_req_t *r, unsigned need)
{
    return !(((need & ZAE_DDB_F_ITEM) && r->item == NULL)
             || ((need & ZAE_DDB_F_KEY) && r->key == NULL)
             || ((need & ZAE_DDB_F_UPDATE) && r->update.len == 0)
             || ((need & ZAE_DDB_F_COND) && r->condition.len == 0)
             || ((need & ZAE_DDB_F_KEYCOND) && r->key_condition.len == 0));
}


/* a request with the fields it must have and those it may have */

static int
zae_ddb_req_checked(zae_buf_t *b, const zae_ddb_req_t *r, unsigned need,
    unsigned may)
{
    if (!zae_ddb_req_has(r, need)) {
        return ZAE_ERROR;
    }

    return zae_ddb_req_body(b, r, need|may);
}


int
zae_ddb_get_item(zae_buf_t *b, const zae_ddb_req_t *r)
{
    return zae_ddb_req_checked(b, r, ZAE_DDB_F_KEY,
                               ZAE_DDB_F_PROJ|ZAE_DDB_F_NAMES
                               |ZAE_DDB_F_CONSISTENT|ZAE_DDB_F_RCC);
}


int
zae_ddb_put_item(zae_buf_t *b, const zae_ddb_req_t *r)
{
    return zae_ddb_req_checked(b, r, ZAE_DDB_F_ITEM, ZAE_DDB_F_WRITE);
}


int
zae_ddb_update_item(zae_buf_t *b, const zae_ddb_req_t *r)
{
    return zae_ddb_req_checked(b, r, ZAE_DDB_F_KEY|ZAE_DDB_F_UPDATE,
                               ZAE_DDB_F_WRITE);
}


int
zae_ddb_delete_item(zae_buf_t *b, const zae_ddb_req_t *r)
{
    return zae_ddb_req_checked(b, r, ZAE_DDB_F_KEY, ZAE_DDB_F_WRITE);
}


int
zae_ddb_query(zae_buf_t *b, const zae_ddb_req_t *r)
{
    return zae_ddb_req_checked(b, r, ZAE_DDB_F_KEYCOND,
                               ZAE_DDB_F_READ_MANY|ZAE_DDB_F_FORWARD);
}


/*
 * The TransactItems actions, by zae_ddb_act_e: the name and the fields
 * each requires and writes (ZAE_DDB_F_COND: a non-empty condition)
 */

typedef struct {
    const char  *name;
    unsigned     fields;
} zae_ddb_act_t;


static const zae_ddb_act_t  zae_ddb_acts[] = {
    { "Put", ZAE_DDB_F_ITEM },
    { "Update", ZAE_DDB_F_KEY|ZAE_DDB_F_UPDATE },
    { "Delete", ZAE_DDB_F_KEY },
    { "ConditionCheck", ZAE_DDB_F_KEY|ZAE_DDB_F_COND }
};


int
zae_ddb_transact_write(zae_buf_t *b, const zae_ddb_action_t *acts, size_t n,
    const zae_str_t *token, const zae_str_t *return_consumed)
{
    size_t                   i;
    unsigned                 f;
    const zae_ddb_req_t     *r;
    const zae_ddb_act_t     *act;

    if (n == 0 || zae_buf_add_str(b, "{\"TransactItems\":[") != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        r = &acts[i].req;

        if ((unsigned) acts[i].type
            >= sizeof(zae_ddb_acts) / sizeof(zae_ddb_acts[0]))
        {
            return ZAE_ERROR;
        }

        act = &zae_ddb_acts[acts[i].type];
        f = act->fields;

        if (!zae_ddb_req_has(r, f)) {
            return ZAE_ERROR;
        }

        f |= ZAE_DDB_F_COND|ZAE_DDB_F_NAMES|ZAE_DDB_F_VALUES
             |ZAE_DDB_F_RVCCF;

        if ((i && zae_buf_add(b, ",", 1) != ZAE_OK)
            || zae_buf_printf(b, "{\"%s\":", act->name) != ZAE_OK
            || zae_ddb_req_body(b, r, f) != ZAE_OK
            || zae_buf_add(b, "}", 1) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add(b, "]", 1) != ZAE_OK
        || zae_ddb_field_str(b, "ClientRequestToken", token) != ZAE_OK
        || zae_ddb_field_str(b, "ReturnConsumedCapacity", return_consumed)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


int
zae_ddb_batch_get_item(zae_buf_t *b, const zae_ddb_batch_get_t *t, size_t n,
    const zae_str_t *return_consumed)
{
    size_t  i, k;

    if (n == 0 || zae_buf_add_str(b, "{\"RequestItems\":{") != ZAE_OK) {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (t[i].table.len == 0 || t[i].nkeys == 0) {
            return ZAE_ERROR;
        }

        if ((i && zae_buf_add(b, ",", 1) != ZAE_OK)
            || zae_json_add_string(b, t[i].table.data, t[i].table.len)
               != ZAE_OK
            || zae_buf_add_str(b, ":{\"Keys\":[") != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        for (k = 0; k < t[i].nkeys; k++) {
            if ((k && zae_buf_add(b, ",", 1) != ZAE_OK)
                || zae_item_encode(b, t[i].keys[k]) != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        if (zae_buf_add(b, "]", 1) != ZAE_OK
            || zae_ddb_field_str(b, "ProjectionExpression", &t[i].projection)
               != ZAE_OK
            || zae_ddb_field_names(b, t[i].names) != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        if (t[i].consistent_read) {
            if (zae_ddb_field(b, "ConsistentRead") != ZAE_OK
                || zae_buf_add_str(b, "true") != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        if (zae_buf_add(b, "}", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add(b, "}", 1) != ZAE_OK
        || zae_ddb_field_str(b, "ReturnConsumedCapacity", return_consumed)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


int
zae_ddb_request_items_json(zae_buf_t *b, const zae_av_t *request_items)
{
    if (request_items == NULL || request_items->type != ZAE_AV_M
        || request_items->nattrs == 0)
    {
        return ZAE_ERROR;
    }

    if (zae_buf_add_str(b, "{\"RequestItems\":") != ZAE_OK
        || zae_json_encode(b, request_items) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


static int
zae_ddb_same_table(const zae_str_t *a, const zae_str_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}


int
zae_ddb_batch_write_item(zae_buf_t *b, const zae_ddb_write_t *w, size_t n)
{
    size_t  i, j, k, first, m;

    if (n == 0 || zae_buf_add_str(b, "{\"RequestItems\":{") != ZAE_OK) {
        return ZAE_ERROR;
    }

    first = 1;

    for (i = 0; i < n; i++) {
        if (w[i].table.len == 0 || (w[i].item == NULL && w[i].key == NULL)) {
            return ZAE_ERROR;
        }

        /* a table is written where it first appears */

        for (j = 0; j < i; j++) {
            if (zae_ddb_same_table(&w[j].table, &w[i].table)) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if ((!first && zae_buf_add(b, ",", 1) != ZAE_OK)
            || zae_json_add_string(b, w[i].table.data, w[i].table.len)
               != ZAE_OK
            || zae_buf_add_str(b, ":[") != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        first = 0;
        m = 0;

        for (k = i; k < n; k++) {
            if (!zae_ddb_same_table(&w[k].table, &w[i].table)) {
                continue;
            }

            if (m++ && zae_buf_add(b, ",", 1) != ZAE_OK) {
                return ZAE_ERROR;
            }

            if (w[k].item) {
                if (zae_buf_add_str(b, "{\"PutRequest\":{\"Item\":")
                    != ZAE_OK
                    || zae_item_encode(b, w[k].item) != ZAE_OK)
                {
                    return ZAE_ERROR;
                }

            } else {
                if (zae_buf_add_str(b, "{\"DeleteRequest\":{\"Key\":")
                    != ZAE_OK
                    || zae_item_encode(b, w[k].key) != ZAE_OK)
                {
                    return ZAE_ERROR;
                }
            }

            if (zae_buf_add_str(b, "}}") != ZAE_OK) {
                return ZAE_ERROR;
            }
        }

        if (zae_buf_add(b, "]", 1) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add_str(b, "}}");
}


int
zae_ddb_table_request(zae_buf_t *b, const zae_str_t *table)
{
    if (table == NULL || table->len == 0) {
        return ZAE_ERROR;
    }

    if (zae_buf_add(b, "{", 1) != ZAE_OK
        || zae_ddb_field_str(b, "TableName", table) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


int
zae_ddb_update_ttl(zae_buf_t *b, const zae_str_t *table,
    const zae_str_t *attr, int enabled)
{
    if (table == NULL || table->len == 0 || attr == NULL || attr->len == 0) {
        return ZAE_ERROR;
    }

    if (zae_buf_add(b, "{", 1) != ZAE_OK
        || zae_ddb_field_str(b, "TableName", table) != ZAE_OK
        || zae_buf_printf(b, ",\"TimeToLiveSpecification\":{\"Enabled\":%s",
                          enabled ? "true" : "false")
           != ZAE_OK
        || zae_ddb_field_str(b, "AttributeName", attr) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add_str(b, "}}");
}


/* the Limit of a streams request, omitted when not positive, and its end */

static int
zae_ddb_limit_end(zae_buf_t *b, int64_t limit)
{
    if (limit > 0
        && (zae_ddb_field(b, "Limit") != ZAE_OK
            || zae_buf_add_int64(b, limit) != ZAE_OK))
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


int
zae_ddb_describe_stream(zae_buf_t *b, const zae_str_t *stream_arn,
    const zae_str_t *exclusive_start_shard, int64_t limit)
{
    if (stream_arn == NULL || stream_arn->len == 0) {
        return ZAE_ERROR;
    }

    if (zae_buf_add(b, "{", 1) != ZAE_OK
        || zae_ddb_field_str(b, "StreamArn", stream_arn) != ZAE_OK
        || zae_ddb_field_str(b, "ExclusiveStartShardId",
                             exclusive_start_shard)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_ddb_limit_end(b, limit);
}


int
zae_ddb_get_shard_iterator(zae_buf_t *b, const zae_str_t *stream_arn,
    const zae_str_t *shard_id, const char *type, const zae_str_t *seq)
{
    if (stream_arn == NULL || stream_arn->len == 0
        || shard_id == NULL || shard_id->len == 0
        || type == NULL || type[0] == '\0')
    {
        return ZAE_ERROR;
    }

    if (zae_buf_add(b, "{", 1) != ZAE_OK
        || zae_ddb_field_str(b, "StreamArn", stream_arn) != ZAE_OK
        || zae_ddb_field_str(b, "ShardId", shard_id) != ZAE_OK
        || zae_ddb_field_cstr(b, "ShardIteratorType", type) != ZAE_OK
        || zae_ddb_field_str(b, "SequenceNumber", seq) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, "}", 1);
}


int
zae_ddb_get_records(zae_buf_t *b, const zae_str_t *iterator, int64_t limit)
{
    if (iterator == NULL || iterator->len == 0) {
        return ZAE_ERROR;
    }

    if (zae_buf_add(b, "{", 1) != ZAE_OK
        || zae_ddb_field_str(b, "ShardIterator", iterator) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_ddb_limit_end(b, limit);
}
