
/*
 * Copyright (C) zae-limit authors
 *
 * DynamoDB answers (zae_ddb.h): the CRC-32 check of a body, the error
 * codes and their classes, the decoding of a response and the readers
 * of each operation's result.  The requests are in zae_ddb.c.
 */


#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>

#include "zae_ddb.h"


static int zae_ddb_image(zae_av_t *obj, const char *name, zae_av_t **image,
    zae_err_t *err);


/* CRC32, reflected polynomial 0xedb88320, table built on first use */

static uint32_t  zae_crc32_table[256];
static int       zae_crc32_ready;


static void
zae_crc32_init(void)
{
    int       k;
    uint32_t  i, c;

    for (i = 0; i < 256; i++) {
        c = i;

        for (k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0xedb88320 : c >> 1;
        }

        zae_crc32_table[i] = c;
    }

    zae_crc32_ready = 1;
}


uint32_t
zae_crc32_update(uint32_t crc, const u_char *p, size_t len)
{
    size_t  i;

    if (!zae_crc32_ready) {
        zae_crc32_init();
    }

    crc = ~crc;

    for (i = 0; i < len; i++) {
        crc = zae_crc32_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }

    return ~crc;
}


uint32_t
zae_crc32(const u_char *p, size_t len)
{
    return zae_crc32_update(0, p, len);
}


/* errors */

typedef struct {
    const char            *code;
    zae_ddb_err_class_e    cls;
    unsigned               retryable;
} zae_ddb_code_t;


static const zae_ddb_code_t  zae_ddb_codes[] = {
    { "ConditionalCheckFailedException", ZAE_DDB_ERR_CONDITIONAL, 0 },
    { "TransactionCanceledException", ZAE_DDB_ERR_TXN_CANCELED, 0 },
    { "TransactionConflictException", ZAE_DDB_ERR_TXN_CONFLICT, 1 },

    { "ProvisionedThroughputExceededException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "ThrottlingException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "Throttling", ZAE_DDB_ERR_THROTTLING, 1 },
    { "ThrottledException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "RequestThrottledException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "RequestThrottled", ZAE_DDB_ERR_THROTTLING, 1 },
    { "TooManyRequestsException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "RequestLimitExceeded", ZAE_DDB_ERR_THROTTLING, 1 },
    { "TransactionInProgressException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "LimitExceededException", ZAE_DDB_ERR_THROTTLING, 1 },
    { "BandwidthLimitExceeded", ZAE_DDB_ERR_THROTTLING, 1 },
    { "SlowDown", ZAE_DDB_ERR_THROTTLING, 1 },
    { "PriorRequestNotComplete", ZAE_DDB_ERR_THROTTLING, 1 },
    { "ReplicatedWriteConflictException", ZAE_DDB_ERR_THROTTLING, 1 },

    { "ResourceNotFoundException", ZAE_DDB_ERR_NOT_FOUND, 0 },
    { "TableNotFoundException", ZAE_DDB_ERR_NOT_FOUND, 0 },
    { "ResourceInUseException", ZAE_DDB_ERR_IN_USE, 0 },

    { "ValidationException", ZAE_DDB_ERR_VALIDATION, 0 },
    { "SerializationException", ZAE_DDB_ERR_VALIDATION, 0 },
    { "InvalidParameterValue", ZAE_DDB_ERR_VALIDATION, 0 },
    { "InvalidParameterCombination", ZAE_DDB_ERR_VALIDATION, 0 },
    { "MissingParameter", ZAE_DDB_ERR_VALIDATION, 0 },
    { "ItemCollectionSizeLimitExceededException", ZAE_DDB_ERR_VALIDATION,
      0 },

    { "UnrecognizedClientException", ZAE_DDB_ERR_AUTH, 0 },
    { "InvalidSignatureException", ZAE_DDB_ERR_AUTH, 0 },
    { "IncompleteSignatureException", ZAE_DDB_ERR_AUTH, 0 },
    { "AccessDeniedException", ZAE_DDB_ERR_AUTH, 0 },
    { "MissingAuthenticationTokenException", ZAE_DDB_ERR_AUTH, 0 },
    { "MissingAuthenticationToken", ZAE_DDB_ERR_AUTH, 0 },
    { "ExpiredTokenException", ZAE_DDB_ERR_AUTH, 0 },
    { "InvalidClientTokenId", ZAE_DDB_ERR_AUTH, 0 },
    { "SignatureDoesNotMatch", ZAE_DDB_ERR_AUTH, 0 },
    { "NotAuthorized", ZAE_DDB_ERR_AUTH, 0 },
    { "AuthFailure", ZAE_DDB_ERR_AUTH, 0 },

    { "InternalServerError", ZAE_DDB_ERR_INTERNAL, 1 },
    { "InternalServerErrorException", ZAE_DDB_ERR_INTERNAL, 1 },
    { "InternalFailure", ZAE_DDB_ERR_INTERNAL, 1 },
    { "ServiceUnavailable", ZAE_DDB_ERR_INTERNAL, 1 },
    { "ServiceUnavailableException", ZAE_DDB_ERR_INTERNAL, 1 },
    { "RequestTimeout", ZAE_DDB_ERR_INTERNAL, 1 },
    { "RequestTimeoutException", ZAE_DDB_ERR_INTERNAL, 1 },

    { NULL, ZAE_DDB_ERR_NONE, 0 }
};


static const char  *zae_ddb_class_names[] = {
    "none",
    "conditional check failed",
    "transaction canceled",
    "transaction conflict",
    "throttling",
    "resource not found",
    "resource in use",
    "validation error",
    "authentication error",
    "internal server error",
    "crc32 mismatch",
    "malformed response",
    "client error"
};


const char *
zae_ddb_err_class_name(zae_ddb_err_class_e cls)
{
    if ((unsigned) cls > ZAE_DDB_ERR_CLIENT) {
        return "unknown";
    }

    return zae_ddb_class_names[cls];
}


/* "ns#Code:url" -> "Code" */

static void
zae_ddb_error_code(zae_str_t *code)
{
    size_t  i;

    for (i = 0; i < code->len; i++) {
        if (code->data[i] == ':') {
            code->len = i;
            break;
        }
    }

    for (i = code->len; i > 0; i--) {
        if (code->data[i - 1] == '#') {
            code->data += i;
            code->len -= i;
            break;
        }
    }

    while (code->len && (code->data[0] == ' ' || code->data[0] == '\t')) {
        code->data++;
        code->len--;
    }

    while (code->len
           && (code->data[code->len - 1] == ' '
               || code->data[code->len - 1] == '\t'))
    {
        code->len--;
    }
}


static int
zae_ddb_json_str(const zae_av_t *obj, const char *name, zae_str_t *s)
{
    zae_av_t  *v;

    v = zae_json_get(obj, name);

    if (v == NULL || v->type != ZAE_AV_S) {
        return ZAE_DECLINED;
    }

    *s = v->s;

    return ZAE_OK;
}


#define zae_ddb_reason_is(r, s)                                              \
    ((r)->code.len == sizeof(s) - 1                                          \
     && memcmp((r)->code.data, s, sizeof(s) - 1) == 0)


static void
zae_ddb_error_finish(zae_ddb_error_t *e)
{
    int     transient, fatal;
    size_t  i;

    if (e->cls == ZAE_DDB_ERR_TXN_CANCELED) {
        transient = 0;
        fatal = 0;

        for (i = 0; i < e->nreasons; i++) {
            if (e->reasons[i].code.len == 0) {
                continue;
            }

            if (zae_ddb_reason_is(&e->reasons[i], "None")) {
                continue;
            }

            if (zae_ddb_reason_is(&e->reasons[i], "TransactionConflict")
                || zae_ddb_reason_is(&e->reasons[i], "ThrottlingError")
                || zae_ddb_reason_is(&e->reasons[i],
                                     "ProvisionedThroughputExceeded"))
            {
                transient = 1;

            } else {
                fatal = 1;
            }
        }

        e->retryable = (transient && !fatal) ? 1 : 0;
    }

    (void) zae_err_set(&e->err, "dynamodb %s (%u \"%.*s\"): \"%.*s\"",
                       zae_ddb_err_class_name(e->cls), e->status,
                       (int) (e->code.len > 64 ? 64 : e->code.len),
                       e->code.data ? (char *) e->code.data : "",
                       (int) (e->message.len > 120 ? 120 : e->message.len),
                       e->message.data ? (char *) e->message.data : "");
}


static int
zae_ddb_error_reasons(zae_mem_t *mem, zae_av_t *list, zae_ddb_error_t *e)
{
    size_t             i;
    zae_av_t          *r, *item;
    zae_err_t          err;
    zae_ddb_reason_t  *rs;

    if (list == NULL || list->type != ZAE_AV_L || list->nitems == 0) {
        return ZAE_OK;
    }

    if (list->nitems > SIZE_MAX / sizeof(zae_ddb_reason_t)) {
        return ZAE_ERROR;
    }

    rs = zae_calloc(mem, list->nitems * sizeof(zae_ddb_reason_t));
    if (rs == NULL) {
        return ZAE_ERROR;
    }

    for (i = 0; i < list->nitems; i++) {
        r = list->items[i];

        if (r->type != ZAE_AV_M) {
            continue;
        }

        (void) zae_ddb_json_str(r, "Code", &rs[i].code);

        if (zae_ddb_json_str(r, "Message", &rs[i].message) != ZAE_OK) {
            (void) zae_ddb_json_str(r, "message", &rs[i].message);
        }

        item = zae_json_get(r, "Item");

        if (item && zae_item_from_ddb(item, &err) == ZAE_OK) {
            rs[i].item = item;
        }
    }

    e->reasons = rs;
    e->nreasons = list->nitems;

    return ZAE_OK;
}


int
zae_ddb_decode_error(zae_mem_t *mem, const zae_ddb_http_resp_t *r,
    zae_ddb_error_t *e)
{
    zae_av_t           *root, *item;
    zae_err_t           err;
    zae_json_limits_t   limits;

    memset(e, 0, sizeof(zae_ddb_error_t));
    e->status = r->status;

    root = NULL;

    if (r->body.len) {
        memset(&limits, 0, sizeof(zae_json_limits_t));

        if (zae_json_parse(mem, r->body.data, r->body.len, &limits, &root,
                           &err)
            != ZAE_OK
            || root->type != ZAE_AV_M)
        {
            root = NULL;
        }
    }

    if (root) {
        if (zae_ddb_json_str(root, "__type", &e->code) != ZAE_OK
            && zae_ddb_json_str(root, "code", &e->code) != ZAE_OK)
        {
            (void) zae_ddb_json_str(root, "Code", &e->code);
        }

        if (zae_ddb_json_str(root, "message", &e->message) != ZAE_OK) {
            (void) zae_ddb_json_str(root, "Message", &e->message);
        }
    }

    if (zae_ddb_error_class(mem, r, e) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (root && e->cls == ZAE_DDB_ERR_CONDITIONAL) {
        item = zae_json_get(root, "Item");

        if (item && zae_item_from_ddb(item, &err) == ZAE_OK) {
            e->item = item;
        }
    }

    if (root && e->cls == ZAE_DDB_ERR_TXN_CANCELED) {
        if (zae_ddb_error_reasons(mem, zae_json_get(root,
                                                    "CancellationReasons"),
                                  e)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    zae_ddb_error_done(r, e);

    return ZAE_OK;
}


int
zae_ddb_error_class(zae_mem_t *mem, const zae_ddb_http_resp_t *r,
    zae_ddb_error_t *e)
{
    const zae_ddb_code_t  *c;

    if (e->code.len == 0 && r->error_type.len) {
        e->code.data = zae_strdup(mem, r->error_type.data, r->error_type.len);
        if (e->code.data == NULL) {
            return ZAE_ERROR;
        }

        e->code.len = r->error_type.len;
    }

    zae_ddb_error_code(&e->code);

    if (e->code.len) {

        for (c = zae_ddb_codes; c->code; c++) {
            if (e->code.len == strlen(c->code)
                && memcmp(e->code.data, c->code, e->code.len) == 0)
            {
                break;
            }
        }

        if (c->code) {
            e->cls = c->cls;
            e->retryable = c->retryable;

        } else if (r->status >= 500) {
            e->cls = ZAE_DDB_ERR_INTERNAL;
            e->retryable = 1;

        } else {
            e->cls = ZAE_DDB_ERR_CLIENT;
        }

    } else if (r->status >= 500 && r->status <= 599) {
        e->cls = ZAE_DDB_ERR_INTERNAL;
        e->retryable = 1;

    } else {
        e->cls = ZAE_DDB_ERR_MALFORMED;
    }

    return ZAE_OK;
}


void
zae_ddb_error_done(const zae_ddb_http_resp_t *r, zae_ddb_error_t *e)
{
    size_t  i;

    /* a status outside 100..599 is not HTTP */

    if (r->status < 100 || r->status > 599) {
        e->cls = ZAE_DDB_ERR_MALFORMED;
        e->retryable = 0;
    }

    for (i = 0; i < e->message.len; i++) {
        if (e->message.data[i] < 0x20) {
            e->message.len = i;
            break;
        }
    }

    zae_ddb_error_finish(e);
}


static int
zae_ddb_parse_crc32(const zae_str_t *s, uint32_t *v)
{
    size_t    i;
    uint64_t  n;

    if (s->len == 0 || s->len > 10) {
        return ZAE_ERROR;
    }

    n = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return ZAE_ERROR;
        }

        n = n * 10 + (uint64_t) (s->data[i] - '0');
    }

    if (n > UINT32_MAX) {
        return ZAE_ERROR;
    }

    *v = (uint32_t) n;

    return ZAE_OK;
}


int
zae_ddb_check_crc32(const zae_ddb_http_resp_t *r, zae_ddb_error_t *e)
{
    uint32_t  want, got;

    if (r->crc32.len == 0) {
        return ZAE_OK;
    }

    got = zae_crc32(r->body.data, r->body.len);

    if (zae_ddb_parse_crc32(&r->crc32, &want) == ZAE_OK && want == got) {
        return ZAE_OK;
    }

    memset(e, 0, sizeof(zae_ddb_error_t));
    e->status = r->status;
    e->cls = ZAE_DDB_ERR_CRC32;
    e->retryable = 1;

    (void) zae_err_set(&e->err, "dynamodb crc32 mismatch: header "
                       "\"%.*s\", body %u",
                       (int) (r->crc32.len > 20 ? 20 : r->crc32.len),
                       (char *) r->crc32.data, got);

    return ZAE_ERROR;
}


int
zae_ddb_decode(zae_mem_t *mem, const zae_ddb_http_resp_t *r,
    zae_av_t **root, zae_ddb_error_t *e)
{
    zae_err_t  err;

    *root = NULL;

    if (zae_ddb_check_crc32(r, e) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (r->status != 200) {
        if (zae_ddb_decode_error(mem, r, e) != ZAE_OK) {
            memset(e, 0, sizeof(zae_ddb_error_t));
            e->status = r->status;
            e->cls = ZAE_DDB_ERR_MALFORMED;
            (void) zae_err_set(&e->err, "out of memory");
        }

        return ZAE_ERROR;
    }

    memset(e, 0, sizeof(zae_ddb_error_t));
    e->status = r->status;

    if (zae_json_parse(mem, r->body.data, r->body.len, NULL, root, &err)
        != ZAE_OK)
    {
        *root = NULL;
        e->cls = ZAE_DDB_ERR_MALFORMED;
        (void) zae_err_set(&e->err, "dynamodb malformed response: %s",
                           err.msg);
        return ZAE_ERROR;
    }

    if ((*root)->type != ZAE_AV_M) {
        *root = NULL;
        e->cls = ZAE_DDB_ERR_MALFORMED;
        (void) zae_err_set(&e->err, "dynamodb malformed response: "
                           "json object expected");
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/* results */

static int
zae_ddb_result_root(zae_av_t *root, zae_err_t *err)
{
    if (root == NULL || root->type != ZAE_AV_M) {
        return zae_err_set(err, "json object expected");
    }

    return ZAE_OK;
}


static int
zae_ddb_json_int64(const zae_av_t *obj, const char *name, int64_t *v,
    zae_err_t *err)
{
    zae_av_t  *n;

    n = zae_json_get(obj, name);
    if (n == NULL) {
        return ZAE_DECLINED;
    }

    if (zae_av_get_int64(n, v, err) != ZAE_OK) {
        return zae_err_set(err, "invalid \"%s\"", name);
    }

    return ZAE_OK;
}


static int
zae_ddb_items(zae_av_t *list, const char *name, zae_err_t *err)
{
    size_t  i;

    if (list->type != ZAE_AV_L) {
        return zae_err_set(err, "\"%s\" is not a list", name);
    }

    for (i = 0; i < list->nitems; i++) {
        if (zae_item_from_ddb(list->items[i], err) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return ZAE_OK;
}


int
zae_ddb_result_item(zae_av_t *root, const char *field, zae_av_t **item,
    zae_err_t *err)
{
    *item = NULL;

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_ddb_image(root, field, item, err);
}


int
zae_ddb_result_page(zae_av_t *root, zae_ddb_page_t *page, zae_err_t *err)
{
    zae_av_t  *v;

    memset(page, 0, sizeof(zae_ddb_page_t));

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    v = zae_json_get(root, "Items");

    if (v) {
        if (zae_ddb_items(v, "Items", err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        page->items = v->items;
        page->nitems = v->nitems;
    }

    v = zae_json_get(root, "LastEvaluatedKey");

    if (v) {
        if (zae_item_from_ddb(v, err) != ZAE_OK) {
            return ZAE_ERROR;
        }

        page->last_key = v;
    }

    if (zae_ddb_json_int64(root, "Count", &page->count, err) == ZAE_ERROR
        || zae_ddb_json_int64(root, "ScannedCount", &page->scanned_count,
                              err)
           == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_ddb_result_batch_get(zae_av_t *root, zae_ddb_batch_get_result_t *res,
    zae_err_t *err)
{
    size_t     i;
    zae_av_t  *v;

    res->responses = NULL;
    res->unprocessed = NULL;

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    v = zae_json_get(root, "Responses");

    if (v) {
        if (v->type != ZAE_AV_M) {
            return zae_err_set(err, "\"Responses\" is not an object");
        }

        for (i = 0; i < v->nattrs; i++) {
            if (zae_ddb_items(v->attrs[i].value, "Responses", err)
                != ZAE_OK)
            {
                return ZAE_ERROR;
            }
        }

        res->responses = v;
    }

    v = zae_json_get(root, "UnprocessedKeys");

    if (v && v->type == ZAE_AV_M && v->nattrs) {
        res->unprocessed = v;
    }

    return ZAE_OK;
}


zae_av_t *
zae_ddb_batch_get_items(const zae_ddb_batch_get_result_t *res,
    const zae_str_t *table)
{
    if (res->responses == NULL) {
        return NULL;
    }

    return zae_av_get(res->responses, table->data, table->len);
}


int
zae_ddb_result_batch_write(zae_av_t *root, zae_av_t **unprocessed,
    zae_err_t *err)
{
    zae_av_t  *v;

    *unprocessed = NULL;

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    v = zae_json_get(root, "UnprocessedItems");

    if (v && v->type == ZAE_AV_M && v->nattrs) {
        *unprocessed = v;
    }

    return ZAE_OK;
}


int
zae_ddb_result_table(zae_av_t *root, zae_ddb_table_t *t, zae_err_t *err)
{
    zae_av_t  *d, *v;

    memset(t, 0, sizeof(zae_ddb_table_t));

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    d = zae_json_get(root, "Table");

    if (d == NULL) {
        d = zae_json_get(root, "TableDescription");
    }

    if (d == NULL || d->type != ZAE_AV_M) {
        return zae_err_set(err, "no table description");
    }

    (void) zae_ddb_json_str(d, "TableName", &t->name);
    (void) zae_ddb_json_str(d, "TableStatus", &t->status);
    (void) zae_ddb_json_str(d, "TableArn", &t->arn);
    (void) zae_ddb_json_str(d, "LatestStreamArn", &t->stream_arn);

    v = zae_json_get(d, "StreamSpecification");

    if (v && v->type == ZAE_AV_M) {
        (void) zae_ddb_json_str(v, "StreamViewType", &t->stream_view);
    }

    if (zae_ddb_json_int64(d, "ItemCount", &t->item_count, err)
        == ZAE_ERROR)
    {
        return ZAE_ERROR;
    }

    v = zae_json_get(d, "GlobalSecondaryIndexes");

    if (v && v->type == ZAE_AV_L) {
        t->ngsi = v->nitems;
    }

    v = zae_json_get(d, "LocalSecondaryIndexes");

    if (v && v->type == ZAE_AV_L) {
        t->nlsi = v->nitems;
    }

    if (t->status.len == 0) {
        return zae_err_set(err, "no \"TableStatus\" in table description");
    }

    return ZAE_OK;
}


/*
 * A result's list of objects, obj's field name, and an array of as many
 * elements of size bytes for what is read from it; *array stays NULL
 * when the list is absent or empty.
 */

static int
zae_ddb_result_list(zae_mem_t *mem, zae_av_t *obj, const char *name,
    const char *what, size_t size, zae_av_t **list, void **array,
    zae_err_t *err)
{
    zae_av_t  *l;

    *array = NULL;

    l = zae_json_get(obj, name);
    *list = l;

    if (l == NULL) {
        return ZAE_OK;
    }

    if (l->type != ZAE_AV_L) {
        return zae_err_set(err, "\"%s\" is not a list", name);
    }

    if (l->nitems == 0) {
        return ZAE_OK;
    }

    if (l->nitems > SIZE_MAX / size) {
        return zae_err_set(err, "too many %s", what);
    }

    *array = zae_calloc(mem, l->nitems * size);
    if (*array == NULL) {
        return zae_err_set(err, "out of memory");
    }

    return ZAE_OK;
}


int
zae_ddb_result_stream(zae_mem_t *mem, zae_av_t *root, zae_ddb_stream_t *s,
    zae_err_t *err)
{
    void             *a;
    size_t            i, n;
    zae_av_t         *d, *l, *sh, *r;
    zae_ddb_shard_t  *shard;

    memset(s, 0, sizeof(zae_ddb_stream_t));

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    d = zae_json_get(root, "StreamDescription");

    if (d == NULL || d->type != ZAE_AV_M) {
        return zae_err_set(err, "no stream description");
    }

    (void) zae_ddb_json_str(d, "StreamStatus", &s->status);
    (void) zae_ddb_json_str(d, "LastEvaluatedShardId", &s->last_shard);

    if (zae_ddb_result_list(mem, d, "Shards", "shards",
                            sizeof(zae_ddb_shard_t), &l, &a, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    s->shards = a;

    if (a == NULL) {
        return ZAE_OK;
    }

    n = 0;

    for (i = 0; i < l->nitems; i++) {
        sh = l->items[i];

        if (sh->type != ZAE_AV_M) {
            return zae_err_set(err, "shard is not an object");
        }

        shard = &s->shards[n];

        if (zae_ddb_json_str(sh, "ShardId", &shard->id) != ZAE_OK) {
            return zae_err_set(err, "shard without \"ShardId\"");
        }

        (void) zae_ddb_json_str(sh, "ParentShardId", &shard->parent_id);

        r = zae_json_get(sh, "SequenceNumberRange");

        if (r && r->type == ZAE_AV_M) {
            (void) zae_ddb_json_str(r, "StartingSequenceNumber",
                                    &shard->start_seq);
            (void) zae_ddb_json_str(r, "EndingSequenceNumber",
                                    &shard->end_seq);
        }

        n++;
    }

    s->nshards = n;

    return ZAE_OK;
}


int
zae_ddb_result_shard_iterator(zae_av_t *root, zae_str_t *iterator,
    zae_err_t *err)
{
    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_ddb_json_str(root, "ShardIterator", iterator) != ZAE_OK) {
        return zae_err_set(err, "no \"ShardIterator\"");
    }

    return ZAE_OK;
}


/* ApproximateCreationDateTime: epoch seconds, possibly "1.7E9" */

static int64_t
zae_ddb_epoch(const zae_av_t *v)
{
    char     text[64];
    double   d;
    int64_t  n;

    if (v == NULL || v->type != ZAE_AV_N) {
        return 0;
    }

    if (zae_av_get_int64(v, &n, NULL) == ZAE_OK) {
        return n;
    }

    if (v->s.len >= sizeof(text)) {
        return 0;
    }

    memcpy(text, v->s.data, v->s.len);
    text[v->s.len] = '\0';

    d = strtod(text, NULL);

    if (!(d > -1e15 && d < 1e15)) {
        return 0;
    }

    return (int64_t) d;
}


/* an item (typed) at obj's field name, NULL if none */

static int
zae_ddb_image(zae_av_t *obj, const char *name, zae_av_t **image,
    zae_err_t *err)
{
    zae_av_t  *v;

    *image = NULL;

    v = zae_json_get(obj, name);
    if (v == NULL) {
        return ZAE_OK;
    }

    if (zae_item_from_ddb(v, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    *image = v;

    return ZAE_OK;
}


int
zae_ddb_result_records(zae_mem_t *mem, zae_av_t *root, zae_ddb_records_t *r,
    zae_err_t *err)
{
    void              *a;
    size_t             i;
    zae_av_t          *l, *rec, *ddb;
    zae_ddb_record_t  *out;

    memset(r, 0, sizeof(zae_ddb_records_t));

    if (zae_ddb_result_root(root, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    (void) zae_ddb_json_str(root, "NextShardIterator", &r->next_iterator);

    if (zae_ddb_result_list(mem, root, "Records", "records",
                            sizeof(zae_ddb_record_t), &l, &a, err)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    r->records = a;

    if (a == NULL) {
        return ZAE_OK;
    }

    for (i = 0; i < l->nitems; i++) {
        rec = l->items[i];
        out = &r->records[i];

        if (rec->type != ZAE_AV_M) {
            return zae_err_set(err, "record is not an object");
        }

        (void) zae_ddb_json_str(rec, "eventID", &out->event_id);
        (void) zae_ddb_json_str(rec, "eventName", &out->event_name);

        ddb = zae_json_get(rec, "dynamodb");

        if (ddb == NULL || ddb->type != ZAE_AV_M) {
            return zae_err_set(err, "record without \"dynamodb\"");
        }

        (void) zae_ddb_json_str(ddb, "SequenceNumber", &out->seq);

        out->created = zae_ddb_epoch(
                           zae_json_get(ddb, "ApproximateCreationDateTime"));

        if (zae_ddb_image(ddb, "Keys", &out->keys, err) != ZAE_OK
            || zae_ddb_image(ddb, "NewImage", &out->new_image, err)
               != ZAE_OK
            || zae_ddb_image(ddb, "OldImage", &out->old_image, err)
               != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    r->nrecords = l->nitems;

    return ZAE_OK;
}
