
/*
 * Copyright (C) zae-limit authors
 *
 * The table's requests and answers for the nginx module: the speculative
 * acquire (one conditional write per bucket and its answer), the shard
 * bump, and the adjustments (reconcile, rollback) written after it.  The
 * slow path is in zae_proto_slow.c.
 */


#include <inttypes.h>

#include "zae_proto.h"
#include "zae_proto_int.h"
#include "zae_bucket.h"
#include "zae_spec.h"


static u_char *zae_proto_ph(u_char *p, const char *kind, size_t i);
static u_char *zae_proto_ph_name(u_char *p, size_t i, zae_str_t *name,
    const char *sfx);
static u_char *zae_proto_ph_value(u_char *p, size_t i, int64_t v);
static void zae_proto_pair(zae_amount_t *consume, size_t n, size_t i,
    zae_str_t *name, int64_t *milli);
static u_char *zae_proto_spec_exprs(u_char *p, size_t n);
static u_char *zae_proto_spec_attrs(u_char *p, zae_amount_t *consume,
    size_t n, int64_t now_ms);
static int zae_proto_spec_classify(zae_mem_t *mem, zae_amount_t *consume,
    size_t n, int64_t now_ms, zae_spec_result_t *res, zae_err_t *err);
static int zae_proto_update_item(zae_buf_t *b, zae_str_t *table,
    zae_av_t *key, zae_buf_t *upd, zae_buf_t *cond, zae_ddb_expr_t *x);
static int zae_proto_spec_build(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, const zae_str_t *attr,
    const zae_str_t *id, zae_err_t *err);
static int zae_proto_add(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *a, size_t n, const zae_str_t *writer,
    const zae_str_t *once);


static zae_str_t  zae_proto_all_new = zae_string("ALL_NEW");
static zae_str_t  zae_proto_all_old = zae_string("ALL_OLD");


int
zae_proto_key(zae_mem_t *mem, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, int64_t shard, zae_av_t **key)
{
    zae_keys_t  k;

    if (zae_keys_bucket(mem, &k, ns, entity, resource, shard) != ZAE_OK) {
        return ZAE_ERROR;
    }

    *key = zae_keys_key(mem, &k);

    return *key ? ZAE_OK : ZAE_ERROR;
}


/* the placeholder of attribute "b_{name}{suffix}" */

int
zae_proto_attr(zae_ddb_expr_t *x, zae_str_t *name, const char *suffix,
    const char **ph)
{
    size_t   sl;
    u_char  *p;

    sl = strlen(suffix);

    p = zae_alloc(x->mem, name->len + sl + 2);
    if (p == NULL) {
        x->failed = 1;
        return ZAE_ERROR;
    }

    p[0] = 'b';
    p[1] = '_';
    memcpy(p + 2, name->data, name->len);
    memcpy(p + 2 + name->len, suffix, sl);

    *ph = zae_ddb_expr_name(x, p, name->len + sl + 2);

    return *ph ? ZAE_OK : ZAE_ERROR;
}


int
zae_proto_check_consume(zae_amount_t *consume, size_t n, zae_err_t *err)
{
    size_t  i, j;

    if (n == 0) {
        return zae_err_set(err, "nothing to consume");
    }

    if (n > ZAE_SCHEMA_MAX_LIMITS) {
        return zae_err_set(err, "too many limits to consume (%zu)", n);
    }

    for (i = 0; i < n; i++) {
        if (consume[i].name.len == 0
            || consume[i].name.len > ZAE_NAME_MAX_LEN)
        {
            return zae_err_set(err, "invalid limit name length %zu",
                               consume[i].name.len);
        }

        if (consume[i].name.len == sizeof(ZAE_WCU_NAME) - 1
            && memcmp(consume[i].name.data, ZAE_WCU_NAME, 3) == 0)
        {
            return zae_err_set(err, "limit name \"wcu\" is reserved");
        }

        if (consume[i].amount < 0 || consume[i].amount > ZAE_TOKENS_MAX) {
            return zae_err_set(err, "invalid amount %" PRId64
                               " for limit \"%.*s\"", consume[i].amount,
                               (int) consume[i].name.len,
                               (char *) consume[i].name.data);
        }

        for (j = 0; j < i; j++) {
            if (consume[j].name.len == consume[i].name.len
                && memcmp(consume[j].name.data, consume[i].name.data,
                          consume[i].name.len)
                   == 0)
            {
                return zae_err_set(err, "duplicate limit \"%.*s\"",
                                   (int) consume[i].name.len,
                                   (char *) consume[i].name.data);
            }
        }
    }

    return ZAE_OK;
}


/*
 * The speculative UpdateItem (docs/table-format.md 6.1) with indexed
 * placeholders:
 *
 *   ADD #n0 :v0, #n1 :v1, ... (tk -n*1000, tc +n*1000 per limit), then
 *       the wcu pair (-1000, +1000)
 *   attribute_exists(PK) AND #tk >= :pos ... AND #wcu_tk >= :pos_wcu
 *       AND (attribute_not_exists(#ttl) OR #ttl > :now_s)
 *
 * The threshold of a limit is its +n*1000 value, as upstream's :pos and
 * :thresh are equal.
 *
 * This is the body built with the general builders: the expression
 * builder, the key tree and zae_ddb_update_item().  The request path
 * writes the same bytes directly (zae_proto_spec_request() below); this
 * one is their reference in the tests and the fuzzer.
 */

int
zae_proto_spec_request_generic(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, zae_err_t *err)
{
    return zae_proto_spec_build(b, ref, consume, n, now_ms, NULL, NULL, err);
}


int
zae_proto_refill_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, const zae_str_t *attr,
    const zae_str_t *id, zae_err_t *err)
{
    if (attr == NULL || attr->len == 0 || id == NULL || id->len == 0) {
        return zae_err_set(err, "no write id");
    }

    return zae_proto_spec_build(b, ref, consume, n, now_ms, attr, id, err);
}


/* the generic body; with attr and id, the write's id clause too */

static int
zae_proto_spec_build(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, const zae_str_t *attr,
    const zae_str_t *id, zae_err_t *err)
{
    size_t          i;
    zae_av_t       *key;
    zae_buf_t       upd, cond;
    zae_str_t       wcu;
    const char     *tk, *tc, *neg, *pos, *ttl, *now, *wn, *wv;
    zae_ddb_req_t   r;
    zae_ddb_expr_t  x;

    if (zae_proto_check_consume(consume, n, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_proto_key(b->mem, &ref->ns, &ref->entity_id, &ref->resource,
                      ref->shard, &key)
        != ZAE_OK)
    {
        return zae_err_set(err, "out of memory");
    }

    zae_ddb_expr_init(&x, b->mem);
    zae_buf_init(&upd, b->mem, 256);
    zae_buf_init(&cond, b->mem, 256);
    zae_str_set(&wcu, ZAE_WCU_NAME);

    (void) zae_buf_add_str(&upd, "ADD ");
    (void) zae_buf_add_str(&cond, "attribute_exists(PK)");

    for (i = 0; i <= n; i++) {
        if (i < n) {
            if (zae_proto_attr(&x, &consume[i].name, "_tk", &tk) != ZAE_OK
                || zae_proto_attr(&x, &consume[i].name, "_tc", &tc)
                   != ZAE_OK)
            {
                return zae_err_set(err, "out of memory");
            }

            neg = zae_ddb_expr_int64(&x, -consume[i].amount * 1000);
            pos = zae_ddb_expr_int64(&x, consume[i].amount * 1000);

        } else {
            if (zae_proto_attr(&x, &wcu, "_tk", &tk) != ZAE_OK
                || zae_proto_attr(&x, &wcu, "_tc", &tc) != ZAE_OK)
            {
                return zae_err_set(err, "out of memory");
            }

            neg = zae_ddb_expr_int64(&x, -ZAE_WCU_COST);
            pos = zae_ddb_expr_int64(&x, ZAE_WCU_COST);
        }

        if (neg == NULL || pos == NULL) {
            return zae_err_set(err, "out of memory");
        }

        (void) zae_buf_printf(&upd, "%s%s %s, %s %s", i ? ", " : "",
                              tk, neg, tc, pos);
        (void) zae_buf_printf(&cond, " AND %s >= %s", tk, pos);
    }

    ttl = zae_ddb_expr_cname(&x, "ttl");
    now = zae_ddb_expr_int64(&x, zae_floor_div(now_ms, 1000));

    if (ttl == NULL || now == NULL) {
        return zae_err_set(err, "out of memory");
    }

    (void) zae_buf_printf(&cond, " AND (attribute_not_exists(%s) OR %s > %s)",
                          ttl, ttl, now);

    if (attr) {

        /* applied once even when sent again: zae_proto_once() */

        if (zae_proto_once(&x, attr->data, attr->len, id, &wn, &wv)
            != ZAE_OK)
        {
            return zae_err_set(err, "out of memory");
        }

        (void) zae_buf_printf(&upd, " SET %s = %s", wn, wv);
        zae_proto_once_cond(&cond, wn, wv);
    }

    if (upd.failed || cond.failed) {
        return zae_err_set(err, "out of memory");
    }

    memset(&r, 0, sizeof(zae_ddb_req_t));

    r.table = ref->table;
    r.key = key;
    r.update.data = upd.data;
    r.update.len = upd.len;
    r.condition.data = cond.data;
    r.condition.len = cond.len;
    r.names = x.names;
    r.values = x.values;
    r.return_values = zae_proto_all_new;
    r.return_values_ccf = zae_proto_all_old;

    if (zae_ddb_update_item(b, &r) != ZAE_OK) {
        return zae_err_set(err, "out of memory");
    }

    return ZAE_OK;
}


/*
 * The direct writer of the generic body above, byte for byte: its
 * placeholders are positional, because check_consume() refuses "wcu"
 * and duplicates, so no two attribute names are equal.  With the n
 * limits and wcu as pairs 0..n and T = 2n + 2:
 *
 *   pair i: tk #n{2i}, tc #n{2i+1}, -milli :v{2i}, +milli :v{2i+1};
 *   ttl #nT, now_s :vT.
 *
 * The parts of the body in zae_ddb_update_item()'s field order:
 */

#define ZAE_SPEC_TABLE  "{\"TableName\":\""
#define ZAE_SPEC_PK     "\",\"Key\":{\"PK\":{\"S\":\""
#define ZAE_SPEC_UPDATE                                                       \
    "\"},\"SK\":{\"S\":\"" ZAE_BUCKET_SK "\"}},\"UpdateExpression\":\"ADD "
#define ZAE_SPEC_COND                                                         \
    "\",\"ConditionExpression\":\"attribute_exists(PK)"
#define ZAE_SPEC_TTL    " AND (attribute_not_exists("
#define ZAE_SPEC_TTL_GT ") OR "
#define ZAE_SPEC_NAMES  ")\",\"ExpressionAttributeNames\":{"
#define ZAE_SPEC_VALUES "\"ttl\"},\"ExpressionAttributeValues\":{"
#define ZAE_SPEC_END                                                          \
    "\"}},\"ReturnValues\":\"ALL_NEW\","                                      \
    "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}"

/*
 * The bytes of a pair at most, its escaped name apart, with placeholders
 * of ZAE_SPEC_PH bytes ("#n130": T <= 2 * ZAE_SCHEMA_MAX_LIMITS + 2):
 *
 *   ", #nX :vX, #nX :vX"                    2 + 2 * (2 * PH + 1) + 2
 *   " AND #nX >= :vX"                       5 + 2 * PH + 4
 *   "\"#nX\":\"b_" "_tk\","  twice          2 * (1 + PH + 5 + 3 + 2)
 *   "\":vX\":{\"N\":\"" milli "\"},"  twice  2 * (1 + PH + 8 + INT64 + 3)
 */

#define ZAE_SPEC_PH     5
#define ZAE_SPEC_PAIR                                                         \
    (4 + 2 * (2 * ZAE_SPEC_PH + 1) + 9 + 2 * ZAE_SPEC_PH                      \
     + 2 * (11 + ZAE_SPEC_PH) + 2 * (12 + ZAE_SPEC_PH + ZAE_INT64_LEN))

/*
 * The rest: the parts (and a NUL), "#nT" ") OR " "#nT" " > " ":vT",
 * "\"#nT\":" and "\":vT\":{\"N\":\"" now_s
 */

#define ZAE_SPEC_FIXED                                                        \
    (sizeof(ZAE_SPEC_TABLE ZAE_SPEC_PK ZAE_SPEC_UPDATE ZAE_SPEC_COND          \
            ZAE_SPEC_TTL ZAE_SPEC_TTL_GT ZAE_SPEC_NAMES ZAE_SPEC_VALUES       \
            ZAE_SPEC_END)                                                     \
     + 3 * ZAE_SPEC_PH + 3 + (1 + ZAE_SPEC_PH + 2)                            \
     + (1 + ZAE_SPEC_PH + 8 + ZAE_INT64_LEN))


/* "#n12" or ":v12" */

static u_char *
zae_proto_ph(u_char *p, const char *kind, size_t i)
{
    *p++ = kind[0];
    *p++ = kind[1];

    return zae_print_int64(p, (int64_t) i);
}


/* "#n4":"b_{name}{sfx}", */

static u_char *
zae_proto_ph_name(u_char *p, size_t i, zae_str_t *name, const char *sfx)
{
    *p++ = '"';
    p = zae_proto_ph(p, "#n", i);
    p = zae_cpylit(p, "\":\"b_");
    p = zae_json_escape(p, name->data, name->len);
    p = zae_cpymem(p, sfx, 3);

    return zae_cpylit(p, "\",");
}


/* ":v4":{"N":"-1000"}, */

static u_char *
zae_proto_ph_value(u_char *p, size_t i, int64_t v)
{
    *p++ = '"';
    p = zae_proto_ph(p, ":v", i);
    p = zae_cpylit(p, "\":{\"N\":\"");
    p = zae_print_int64(p, v);

    return zae_cpylit(p, "\"},");
}


/* the name and the milli amount of pair i: consume[i], then wcu */

static void
zae_proto_pair(zae_amount_t *consume, size_t n, size_t i, zae_str_t *name,
    int64_t *milli)
{
    static const zae_str_t  wcu = zae_string(ZAE_WCU_NAME);

    if (i < n) {
        *name = consume[i].name;
        *milli = consume[i].amount * 1000;

    } else {
        *name = wcu;
        *milli = ZAE_WCU_COST;
    }
}


/* the update and condition expressions: they depend on n alone */

static u_char *
zae_proto_spec_exprs(u_char *p, size_t n)
{
    size_t  i, t;

    t = 2 * n + 2;

    for (i = 0; i <= n; i++) {
        if (i) {
            p = zae_cpylit(p, ", ");
        }

        p = zae_proto_ph(p, "#n", 2 * i);
        *p++ = ' ';
        p = zae_proto_ph(p, ":v", 2 * i);
        p = zae_cpylit(p, ", ");
        p = zae_proto_ph(p, "#n", 2 * i + 1);
        *p++ = ' ';
        p = zae_proto_ph(p, ":v", 2 * i + 1);
    }

    p = zae_cpylit(p, ZAE_SPEC_COND);

    for (i = 0; i <= n; i++) {
        p = zae_cpylit(p, " AND ");
        p = zae_proto_ph(p, "#n", 2 * i);
        p = zae_cpylit(p, " >= ");
        p = zae_proto_ph(p, ":v", 2 * i + 1);
    }

    p = zae_cpylit(p, ZAE_SPEC_TTL);
    p = zae_proto_ph(p, "#n", t);
    p = zae_cpylit(p, ZAE_SPEC_TTL_GT);
    p = zae_proto_ph(p, "#n", t);
    p = zae_cpylit(p, " > ");

    return zae_proto_ph(p, ":v", t);
}


/* the members of ExpressionAttributeNames, then of ...Values */

static u_char *
zae_proto_spec_attrs(u_char *p, zae_amount_t *consume, size_t n,
    int64_t now_ms)
{
    size_t     i, t;
    int64_t    milli;
    zae_str_t  name;

    t = 2 * n + 2;

    for (i = 0; i <= n; i++) {
        zae_proto_pair(consume, n, i, &name, &milli);

        p = zae_proto_ph_name(p, 2 * i, &name, "_tk");
        p = zae_proto_ph_name(p, 2 * i + 1, &name, "_tc");
    }

    *p++ = '"';
    p = zae_proto_ph(p, "#n", t);
    p = zae_cpylit(p, "\":");
    p = zae_cpylit(p, ZAE_SPEC_VALUES);

    for (i = 0; i <= n; i++) {
        zae_proto_pair(consume, n, i, &name, &milli);

        p = zae_proto_ph_value(p, 2 * i, -milli);
        p = zae_proto_ph_value(p, 2 * i + 1, milli);
    }

    *p++ = '"';
    p = zae_proto_ph(p, ":v", t);
    p = zae_cpylit(p, "\":{\"N\":\"");

    return zae_print_int64(p, zae_floor_div(now_ms, 1000));
}


int
zae_proto_spec_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *consume, size_t n, int64_t now_ms, zae_err_t *err)
{
    size_t      i, len;
    u_char     *p;
    zae_str_t   pk;

    if (zae_proto_check_consume(consume, n, err) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (ref->table.len == 0) {
        return zae_err_set(err, "no table name");
    }

    if (zae_keys_bucket_pk(b->mem, &pk, &ref->ns, &ref->entity_id,
                           &ref->resource, ref->shard)
        != ZAE_OK)
    {
        return zae_err_set(err, "out of memory");
    }

    /*
     * the worst case: every byte of the strings escaped to the longest
     * (each name twice, in b_{name}_tk and b_{name}_tc), then no checks
     */

    len = sizeof(ZAE_WCU_NAME) - 1;

    for (i = 0; i < n; i++) {
        len += consume[i].name.len;
    }

    len = 2 * len + ref->table.len + pk.len;

    if (len > SIZE_MAX / 8 / ZAE_JSON_ESCAPE_MAX) {
        return zae_err_set(err, "key too long");
    }

    len = len * ZAE_JSON_ESCAPE_MAX + (n + 1) * ZAE_SPEC_PAIR
          + ZAE_SPEC_FIXED;

    if (zae_buf_reserve(b, len) != ZAE_OK) {
        return zae_err_set(err, "out of memory");
    }

    p = b->data + b->len;

    p = zae_cpylit(p, ZAE_SPEC_TABLE);
    p = zae_json_escape(p, ref->table.data, ref->table.len);
    p = zae_cpylit(p, ZAE_SPEC_PK);
    p = zae_json_escape(p, pk.data, pk.len);
    p = zae_cpylit(p, ZAE_SPEC_UPDATE);
    p = zae_proto_spec_exprs(p, n);
    p = zae_cpylit(p, ZAE_SPEC_NAMES);
    p = zae_proto_spec_attrs(p, consume, n, now_ms);
    p = zae_cpylit(p, ZAE_SPEC_END);
    *p = '\0';

    b->len = (size_t) (p - b->data);

    return ZAE_OK;
}


void
zae_proto_status(zae_limit_status_t *st, zae_str_t *entity,
    zae_str_t *resource, zae_str_t *name, int64_t cp, int64_t ra,
    int64_t rp, int64_t requested, zae_bucket_result_t *res)
{
    st->entity_id = *entity;
    st->resource = *resource;
    st->limit_name = *name;
    st->capacity = cp;
    st->refill_amount = ra;
    st->refill_period_seconds = rp;
    st->available = res->available;
    st->requested = requested;
    st->retry_after_ms = res->exceeded ? res->retry_ms : 0;
    st->exceeded = res->exceeded;
}


/* the retry of the primary violation: the first with the largest retry */

int64_t
zae_proto_primary(zae_limit_status_t *st, size_t n)
{
    size_t   i;
    int64_t  max;

    max = -1;

    for (i = 0; i < n; i++) {
        if (st[i].exceeded && st[i].retry_after_ms > max) {
            max = st[i].retry_after_ms;
        }
    }

    return max < 0 ? 0 : max;
}


/*
 * The answer is decoded by the streaming decoder (zae_spec.h); what it
 * declines, by the general path below, which is also the reference the
 * tests and the fuzzer hold the streaming decoder to.
 */

int
zae_proto_spec_decode(zae_mem_t *mem, zae_amount_t *consume, size_t n,
    int64_t now_ms, const zae_ddb_http_resp_t *resp, zae_spec_result_t *res,
    zae_err_t *err)
{
    unsigned  found, used;

    memset(res, 0, sizeof(zae_spec_result_t));

    if (zae_spec_stream(mem, resp, ZAE_SPEC_SKIM | ZAE_SPEC_YAJL,
                        &res->bucket, &res->error, &found, &used)
        != ZAE_OK)
    {
        return zae_proto_spec_decode_tree(mem, consume, n, now_ms, resp, res,
                                          err);
    }

    res->streamed = 1;
    res->skimmed = (used == ZAE_SPEC_SKIM);

    if (!found) {
        res->decision = ZAE_SPEC_BUCKET_MISSING;
        return ZAE_OK;
    }

    res->has_bucket = 1;

    if (res->error.cls == ZAE_DDB_ERR_NONE) {
        res->decision = ZAE_SPEC_OK;
        return ZAE_OK;
    }

    return zae_proto_spec_classify(mem, consume, n, now_ms, res, err);
}


int
zae_proto_spec_decode_tree(zae_mem_t *mem, zae_amount_t *consume, size_t n,
    int64_t now_ms, const zae_ddb_http_resp_t *resp, zae_spec_result_t *res,
    zae_err_t *err)
{
    zae_av_t           *root, *item;
    zae_bucket_item_t  *bk;

    memset(res, 0, sizeof(zae_spec_result_t));

    bk = &res->bucket;

    if (zae_ddb_decode(mem, resp, &root, &res->error) == ZAE_OK) {

        if (zae_ddb_result_item(root, "Attributes", &item, err) != ZAE_OK
            || item == NULL)
        {
            res->decision = ZAE_SPEC_ERROR;
            res->error.cls = ZAE_DDB_ERR_MALFORMED;
            zae_err_set(&res->error.err, "update answer without attributes");
            return ZAE_OK;
        }

        if (zae_bucket_item_decode(mem, item, bk, &res->error.err)
            != ZAE_OK)
        {
            res->decision = ZAE_SPEC_ERROR;
            res->error.cls = ZAE_DDB_ERR_MALFORMED;
            return ZAE_OK;
        }

        res->has_bucket = 1;
        res->decision = ZAE_SPEC_OK;
        return ZAE_OK;
    }

    if (res->error.cls != ZAE_DDB_ERR_CONDITIONAL) {
        res->decision = ZAE_SPEC_ERROR;
        return ZAE_OK;
    }

    /* ConditionalCheckFailed: classify with the ALL_OLD image */

    if (res->error.item == NULL) {
        res->decision = ZAE_SPEC_BUCKET_MISSING;
        return ZAE_OK;
    }

    if (zae_bucket_item_decode(mem, res->error.item, bk, &res->error.err)
        != ZAE_OK)
    {
        res->decision = ZAE_SPEC_ERROR;
        res->error.cls = ZAE_DDB_ERR_MALFORMED;
        return ZAE_OK;
    }

    res->has_bucket = 1;

    return zae_proto_spec_classify(mem, consume, n, now_ms, res, err);
}


/* a ConditionalCheckFailed answer with its ALL_OLD image in res->bucket */

static int
zae_proto_spec_classify(zae_mem_t *mem, zae_amount_t *consume, size_t n,
    int64_t now_ms, zae_spec_result_t *res, zae_err_t *err)
{
    int                   absent, short_;
    size_t                i;
    zae_bucket_t          st;
    zae_bucket_item_t    *bk;
    zae_bucket_limit_t   *bl;
    zae_bucket_result_t   br;

    bk = &res->bucket;

    absent = 0;
    short_ = 0;

    for (i = 0; i < n; i++) {
        bl = zae_bucket_item_limit(bk, consume[i].name.data,
                                   consume[i].name.len);
        if (bl == NULL) {
            absent = 1;

        } else if (bl->tk < consume[i].amount * 1000) {
            short_ = 1;
        }
    }

    res->app_short = short_;

    /*
     * Our fix (docs/table-format.md 6.8): wcu is short, but if its
     * refill since rf covers a write, the table partition is not over
     * 1000 writes/s:
     * no shard doubling, the slow path refills wcu.  Only a wcu that
     * stays short after the refill is WCU_EXHAUSTED.
     */

    if (bk->wcu.tk < ZAE_WCU_COST) {
        st.tk = bk->wcu.tk;
        st.last = bk->rf;
        st.cp = bk->wcu.cp;
        st.ra = bk->wcu.ra;
        st.rp = bk->wcu.rp;

        if (!bk->has_wcu
            || !zae_bucket_would_refill_satisfy(&st, ZAE_WCU_COST / 1000,
                                                now_ms))
        {
            res->decision = ZAE_SPEC_WCU_EXHAUSTED;
            return ZAE_OK;
        }

        res->wcu_refill = 1;
    }

    if (bk->has_ttl && bk->ttl <= zae_floor_div(now_ms, 1000)) {
        res->decision = ZAE_SPEC_EXPIRED;
        return ZAE_OK;
    }

    if (short_ && bk->shard_count > 1) {
        res->decision = ZAE_SPEC_SHARD_RETRY;
        return ZAE_OK;
    }

    if (absent) {
        res->decision = ZAE_SPEC_LIMIT_ABSENT;
        return ZAE_OK;
    }

    /* would_refill_satisfy(): refill each requested limit to now */

    res->statuses = zae_calloc(mem, n * sizeof(zae_limit_status_t));
    if (res->statuses == NULL) {
        return zae_err_set(err, "out of memory");
    }

    res->nstatuses = n;
    res->decision = ZAE_SPEC_REFILL_WOULD_HELP;

    for (i = 0; i < n; i++) {
        bl = zae_bucket_item_limit(bk, consume[i].name.data,
                                   consume[i].name.len);

        st.tk = bl->tk;
        st.last = bk->rf;
        st.cp = bl->cp;
        st.ra = bl->ra;
        st.rp = bl->rp;

        (void) zae_bucket_try_consume(&st, consume[i].amount, now_ms, &br);

        zae_proto_status(&res->statuses[i], &bk->entity_id, &bk->resource,
                         &consume[i].name, zae_floor_div(bl->cp, 1000),
                         zae_floor_div(bl->ra, 1000),
                         zae_floor_div(bl->rp, 1000), consume[i].amount,
                         &br);

        if (br.exceeded) {
            res->decision = ZAE_SPEC_REJECT;
        }
    }

    if (res->decision == ZAE_SPEC_REJECT) {
        res->retry_ms = zae_proto_primary(res->statuses, n);
    }

    return ZAE_OK;
}


/* an UpdateItem of key with the update and condition built in x */

static int
zae_proto_update_item(zae_buf_t *b, zae_str_t *table, zae_av_t *key,
    zae_buf_t *upd, zae_buf_t *cond, zae_ddb_expr_t *x)
{
    zae_ddb_req_t  r;

    memset(&r, 0, sizeof(zae_ddb_req_t));

    r.table = *table;
    r.key = key;
    r.update.data = upd->data;
    r.update.len = upd->len;
    r.condition.data = cond->data;
    r.condition.len = cond->len;
    r.names = x->names;
    r.values = x->values;

    return zae_ddb_update_item(b, &r);
}


int
zae_proto_bump_shard_request(zae_buf_t *b, zae_bucket_ref_t *ref,
    int64_t old_count)
{
    zae_av_t       *key;
    zae_buf_t       upd, cond;
    const char     *sc, *nv, *ov;
    zae_ddb_expr_t  x;

    if (old_count < 1 || old_count > INT64_MAX / 2) {
        return ZAE_ERROR;
    }

    if (zae_proto_key(b->mem, &ref->ns, &ref->entity_id, &ref->resource, 0,
                      &key)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    zae_ddb_expr_init(&x, b->mem);
    zae_buf_init(&upd, b->mem, 64);
    zae_buf_init(&cond, b->mem, 64);

    sc = zae_ddb_expr_cname(&x, "shard_count");
    nv = zae_ddb_expr_int64(&x, old_count * 2);
    ov = zae_ddb_expr_int64(&x, old_count);

    if (sc == NULL || nv == NULL || ov == NULL) {
        return ZAE_ERROR;
    }

    (void) zae_buf_printf(&upd, "SET %s = %s", sc, nv);
    (void) zae_buf_printf(&cond, "%s = %s", sc, ov);

    if (upd.failed || cond.failed) {
        return ZAE_ERROR;
    }

    return zae_proto_update_item(b, &ref->table, key, &upd, &cond, &x);
}


/*
 * The id clause of a write that may be sent again after a lost answer:
 * the write SETs attribute "an" (name, len) to "id" (*wn = *wv), under
 * the condition, zae_proto_once_cond(), that the attribute does not hold
 * it already
 */

int
zae_proto_once(zae_ddb_expr_t *x, const u_char *an, size_t len,
    const zae_str_t *id, const char **wn, const char **wv)
{
    *wn = zae_ddb_expr_name(x, an, len);
    *wv = zae_ddb_expr_str(x, id->data, id->len);

    return (*wn == NULL || *wv == NULL) ? ZAE_ERROR : ZAE_OK;
}


void
zae_proto_once_cond(zae_buf_t *cond, const char *wn, const char *wv)
{
    (void) zae_buf_printf(cond, cond->len ? " AND (attribute_not_exists(%s) "
                                            "OR %s <> %s)"
                                          : "attribute_not_exists(%s) OR %s "
                                            "<> %s", wn, wn, wv);
}


/*
 * unconditional ADD #tk :-a*1000, #tc :a*1000
 * (docs/table-format.md 6.6)
 */

static int
zae_proto_add(zae_buf_t *b, zae_bucket_ref_t *ref, zae_amount_t *a,
    size_t n, const zae_str_t *writer, const zae_str_t *once)
{
    size_t          i, k;
    int64_t         m;
    zae_av_t       *key;
    zae_buf_t       upd, cond;
    u_char         *an;
    const char     *tk, *tc, *neg, *pos, *wn, *wv;
    zae_ddb_expr_t  x;

    if (n > ZAE_SCHEMA_MAX_LIMITS) {
        return ZAE_ERROR;
    }

    zae_ddb_expr_init(&x, b->mem);
    zae_buf_init(&upd, b->mem, 256);

    k = 0;

    for (i = 0; i < n; i++) {
        if (a[i].amount == 0) {
            continue;
        }

        if (a[i].name.len == 0 || a[i].name.len > ZAE_NAME_MAX_LEN
            || a[i].amount > ZAE_TOKENS_MAX || a[i].amount < -ZAE_TOKENS_MAX)
        {
            return ZAE_ERROR;
        }

        m = a[i].amount * 1000;

        if (zae_proto_attr(&x, &a[i].name, "_tk", &tk) != ZAE_OK
            || zae_proto_attr(&x, &a[i].name, "_tc", &tc) != ZAE_OK
            || (neg = zae_ddb_expr_int64(&x, -m)) == NULL
            || (pos = zae_ddb_expr_int64(&x, m)) == NULL)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, "%s%s %s, %s %s", k ? ", " : "ADD ",
                              tk, neg, tc, pos);
        k++;
    }

    if (k == 0) {
        return ZAE_DECLINED;
    }

    zae_buf_init(&cond, b->mem, 0);

    if (once && once->len) {

        /*
         * a write applied once even when it is sent again (a retry after
         * a lost answer): it stores its id in its writer's attribute,
         * and an attempt that finds its own id there fails the condition
         * instead of adding twice
         */

        if (writer == NULL || writer->len == 0
            || writer->len > ZAE_PROTO_WRITER_MAX_LEN)
        {
            return ZAE_ERROR;
        }

        an = zae_alloc(b->mem, sizeof(ZAE_PROTO_WRITER_PREFIX) - 1
                               + writer->len);
        if (an == NULL) {
            return ZAE_ERROR;
        }

        memcpy(an, ZAE_PROTO_WRITER_PREFIX,
               sizeof(ZAE_PROTO_WRITER_PREFIX) - 1);
        memcpy(an + sizeof(ZAE_PROTO_WRITER_PREFIX) - 1, writer->data,
               writer->len);

        if (zae_proto_once(&x, an, sizeof(ZAE_PROTO_WRITER_PREFIX) - 1
                                   + writer->len, once, &wn, &wv)
            != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        (void) zae_buf_printf(&upd, " SET %s = %s", wn, wv);
        zae_proto_once_cond(&cond, wn, wv);
    }

    if (upd.failed || cond.failed || x.failed
        || zae_proto_key(b->mem, &ref->ns, &ref->entity_id, &ref->resource,
                         ref->shard, &key)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_proto_update_item(b, &ref->table, key, &upd, &cond, &x);
}


int
zae_proto_adjust_request_once(zae_buf_t *b, zae_bucket_ref_t *ref,
    zae_amount_t *delta, size_t n, const zae_str_t *writer,
    const zae_str_t *write_id)
{
    return zae_proto_add(b, ref, delta, n, writer, write_id);
}

