
/*
 * Copyright (C) zae-limit authors
 */


#include <stddef.h>

#include <yajl/yajl_parse.h>

#include "zae_spec.h"


/*
 * Limit slots: one per name L seen in a b_{L}_{xx} attribute, in the
 * order first seen; a slot is a limit of the bucket when its _tk came.
 * Room for every limit the general path accepts, plus the wcu limit
 * and a few names without _tk; a body with more is declined.
 */

#define ZAE_SPEC_SLOTS    (ZAE_SCHEMA_MAX_LIMITS + 8)

/* other attributes, remembered by a hash to refuse duplicates */
#define ZAE_SPEC_HASHES   48


typedef struct {
    zae_str_t           name;
    int64_t             v[5];         /* ZAE_BUCKET_TK ... ZAE_BUCKET_TC */
    size_t              idx;          /* place among the limits (_tk) */
    unsigned            seen;         /* bits 1 << ZAE_BUCKET_* */
    unsigned            wcu:1;
} zae_spec_slot_t;


/* the attributes the bucket decode reads; the rest are skipped */

typedef enum {
    ZAE_SPEC_A_ENTITY_ID = 0,
    ZAE_SPEC_A_RESOURCE,
    ZAE_SPEC_A_PARENT_ID,
    ZAE_SPEC_A_RF,
    ZAE_SPEC_A_SHARD_COUNT,
    ZAE_SPEC_A_TTL,
    ZAE_SPEC_A_CASCADE,
    ZAE_SPEC_A_LIMIT,                 /* a b_{L}_{xx} field */
    ZAE_SPEC_A_OTHER
} zae_spec_attr_e;


static const zae_str_t  zae_spec_attrs[] = {
    zae_string("entity_id"),
    zae_string("resource"),
    zae_string("parent_id"),
    zae_string("rf"),
    zae_string("shard_count"),
    zae_string("ttl"),
    zae_string("cascade")
};


/* the keys of the answer's object: bits of ctx->root_seen */

typedef enum {
    ZAE_SPEC_R_ATTRIBUTES = 0,        /* 200 */
    ZAE_SPEC_R_ITEM,                  /* errors, from here on */
    ZAE_SPEC_R_TYPE,
    ZAE_SPEC_R_CODE,
    ZAE_SPEC_R_CODE_UC,
    ZAE_SPEC_R_MESSAGE,
    ZAE_SPEC_R_MESSAGE_UC,
    ZAE_SPEC_R_NONE
} zae_spec_root_e;


static const zae_str_t  zae_spec_roots[] = {
    zae_string("Attributes"),
    zae_string("Item"),
    zae_string("__type"),
    zae_string("code"),
    zae_string("Code"),
    zae_string("message"),
    zae_string("Message")
};


/* the type tags of attribute values taken here (no M, L or sets) */

typedef enum {
    ZAE_SPEC_T_S = 0,
    ZAE_SPEC_T_N,
    ZAE_SPEC_T_B,
    ZAE_SPEC_T_BOOL,
    ZAE_SPEC_T_NULL,
    ZAE_SPEC_T_NONE
} zae_spec_tag_e;


static zae_spec_tag_e
zae_spec_tag(const u_char *s, size_t len)
{
    if (len == 1) {
        switch (s[0]) {
        case 'S':
            return ZAE_SPEC_T_S;
        case 'N':
            return ZAE_SPEC_T_N;
        case 'B':
            return ZAE_SPEC_T_B;
        }

    } else if (len == 4) {
        if (memcmp(s, "BOOL", 4) == 0) {
            return ZAE_SPEC_T_BOOL;
        }

        if (memcmp(s, "NULL", 4) == 0) {
            return ZAE_SPEC_T_NULL;
        }
    }

    return ZAE_SPEC_T_NONE;
}


/* a scalar as yajl hands it over */

typedef enum {
    ZAE_SPEC_V_STRING = 0,
    ZAE_SPEC_V_NUMBER,
    ZAE_SPEC_V_BOOL,
    ZAE_SPEC_V_NULL
} zae_spec_value_e;


typedef struct {
    zae_mem_t          *mem;
    zae_bucket_item_t  *bucket;
    unsigned            depth;        /* 1 answer, 2 item, 3 typed value */
    zae_spec_root_e     root;         /* the key at depth 1 */
    zae_spec_attr_e     attr;         /* the attribute at depth 2 */
    zae_spec_slot_t    *slot;         /* ZAE_SPEC_A_LIMIT */
    int                 field;        /* ZAE_SPEC_A_LIMIT */
    zae_spec_tag_e      tag;          /* the tag at depth 3 */
    unsigned            root_seen;
    unsigned            attr_seen;
    zae_str_t           strs[ZAE_SPEC_R_NONE];  /* string roots */
    int64_t             shard_count;
    size_t              nhashes;
    size_t              nslots;
    size_t              ntk;          /* limits other than wcu */
    size_t              wcu_tk;       /* 1: b_wcu_tk came */
    int                 declined;
    unsigned            ok200:1;
    unsigned            has_item:1;
    unsigned            has_shard_count:1;
    uint64_t            hashes[ZAE_SPEC_HASHES];
    zae_spec_slot_t     slots[ZAE_SPEC_SLOTS];
} zae_spec_ctx_t;


static int
zae_spec_decline(zae_spec_ctx_t *ctx)
{
    ctx->declined = 1;
    return 0;
}


static int
zae_spec_find(const zae_str_t *names, int n, const u_char *s, size_t len)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (names[i].len == len && memcmp(names[i].data, s, len) == 0) {
            return i;
        }
    }

    return n;
}


/* an attribute of no interest: refused when its name came before */

static int
zae_spec_other(zae_spec_ctx_t *ctx, const u_char *s, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 14695981039346656037ULL;

    for (i = 0; i < len; i++) {
        h = (h ^ s[i]) * 1099511628211ULL;
    }

    /* a collision of two names declines too, which is always safe */

    for (i = 0; i < ctx->nhashes; i++) {
        if (ctx->hashes[i] == h) {
            return zae_spec_decline(ctx);
        }
    }

    if (ctx->nhashes == ZAE_SPEC_HASHES) {
        return zae_spec_decline(ctx);
    }

    ctx->hashes[ctx->nhashes++] = h;
    ctx->attr = ZAE_SPEC_A_OTHER;

    return 1;
}


static int
zae_spec_limit_attr(zae_spec_ctx_t *ctx, zae_str_t *name, int field)
{
    size_t            i;
    zae_spec_slot_t  *sl;

    if (name->len > ZAE_NAME_MAX_LEN) {
        return zae_spec_decline(ctx);
    }

    for (i = 0; i < ctx->nslots; i++) {
        sl = &ctx->slots[i];

        if (sl->name.len == name->len
            && memcmp(sl->name.data, name->data, name->len) == 0)
        {
            goto found;
        }
    }

    /*
     * a new name: an invalid one the tree decoder skips and counts for
     * the log (zae_bucket_attr_field()); a name seen before was checked
     */

    if (ctx->nslots == ZAE_SPEC_SLOTS || !zae_bucket_limit_name_ok(name)) {
        return zae_spec_decline(ctx);
    }

    sl = &ctx->slots[ctx->nslots++];
    memset(sl, 0, sizeof(zae_spec_slot_t));

    if (name->len == sizeof(ZAE_WCU_NAME) - 1
        && memcmp(name->data, ZAE_WCU_NAME, name->len) == 0)
    {
        sl->name.data = (u_char *) ZAE_WCU_NAME;
        sl->wcu = 1;

    } else {
        sl->name.data = zae_strdup(ctx->mem, name->data, name->len);
        if (sl->name.data == NULL) {
            return zae_spec_decline(ctx);
        }
    }

    sl->name.len = name->len;

found:

    if (sl->seen & (1u << field)) {
        return zae_spec_decline(ctx);
    }

    ctx->attr = ZAE_SPEC_A_LIMIT;
    ctx->slot = sl;
    ctx->field = field;

    return 1;
}


static int zae_spec_tag_key(zae_spec_ctx_t *ctx, const u_char *s,
    size_t len);


/* a key, its UTF-8 checked */

static int
zae_spec_key(zae_spec_ctx_t *ctx, const u_char *s, size_t len)
{
    int        f;
    zae_str_t  name;

    switch (ctx->depth) {

    case 1:
        ctx->root = zae_spec_find(zae_spec_roots, ZAE_SPEC_R_NONE, s, len);

        if (ctx->root == ZAE_SPEC_R_NONE
            || (ctx->root == ZAE_SPEC_R_ATTRIBUTES) != ctx->ok200
            || (ctx->root_seen & (1u << ctx->root)))
        {
            return zae_spec_decline(ctx);
        }

        ctx->root_seen |= 1u << ctx->root;
        return 1;

    case 2:
        f = zae_bucket_attr_split(s, len, &name);

        if (f != ZAE_DECLINED) {
            return zae_spec_limit_attr(ctx, &name, f);
        }

        ctx->attr = zae_spec_find(zae_spec_attrs, ZAE_SPEC_A_LIMIT, s, len);

        if (ctx->attr == ZAE_SPEC_A_LIMIT) {
            return zae_spec_other(ctx, s, len);
        }

        if (ctx->attr_seen & (1u << ctx->attr)) {
            return zae_spec_decline(ctx);
        }

        ctx->attr_seen |= 1u << ctx->attr;
        return 1;

    default: /* 3 */
        return zae_spec_tag_key(ctx, s, len);
    }
}


/* a key at depth 3: the one type tag of a value */

static int
zae_spec_tag_key(zae_spec_ctx_t *ctx, const u_char *s, size_t len)
{
    if (ctx->tag != ZAE_SPEC_T_NONE) {
        return zae_spec_decline(ctx);
    }

    ctx->tag = zae_spec_tag(s, len);

    if (ctx->tag == ZAE_SPEC_T_NONE) {
        return zae_spec_decline(ctx);
    }

    return 1;
}


static int
zae_spec_on_map_key(void *data, const unsigned char *s, size_t len)
{
    if (!zae_json_utf8_valid(s, len)) {
        return zae_spec_decline(data);
    }

    return zae_spec_key(data, s, len);
}


static int
zae_spec_start_map(void *data)
{
    zae_spec_ctx_t  *ctx = data;

    switch (ctx->depth) {

    case 0:
        break;

    case 1:
        if (ctx->root != ZAE_SPEC_R_ATTRIBUTES
            && ctx->root != ZAE_SPEC_R_ITEM)
        {
            return zae_spec_decline(ctx);
        }

        ctx->has_item = 1;
        break;

    case 2:
        ctx->tag = ZAE_SPEC_T_NONE;
        break;

    default:
        return zae_spec_decline(ctx);
    }

    ctx->depth++;

    return 1;
}


static int
zae_spec_end_map(void *data)
{
    zae_spec_ctx_t  *ctx = data;

    if (ctx->depth == 3 && ctx->tag == ZAE_SPEC_T_NONE) {
        return zae_spec_decline(ctx);
    }

    ctx->depth--;

    return 1;
}


static int
zae_spec_start_array(void *data)
{
    return zae_spec_decline(data);
}


static int
zae_spec_int64(const u_char *s, size_t len, int64_t *v)
{
    zae_av_t   av;
    zae_err_t  err;

    av.type = ZAE_AV_N;
    av.s.data = (u_char *) s;
    av.s.len = len;

    return zae_av_get_int64(&av, v, &err);
}


static int
zae_spec_str(zae_spec_ctx_t *ctx, zae_str_t *to, const u_char *s, size_t len)
{
    to->data = zae_strdup(ctx->mem, s, len);
    if (to->data == NULL) {
        return zae_spec_decline(ctx);
    }

    to->len = len;

    return 1;
}


/* a typed attribute value {"tag": scalar} of the item */

static int
zae_spec_attr_value(zae_spec_ctx_t *ctx, zae_spec_value_e type,
    const u_char *s, size_t len, int b)
{
    zae_bucket_item_t  *bk;

    switch (ctx->tag) {

    case ZAE_SPEC_T_BOOL:
        if (type != ZAE_SPEC_V_BOOL) {
            return zae_spec_decline(ctx);
        }

        break;

    case ZAE_SPEC_T_NULL:
        if (type != ZAE_SPEC_V_BOOL || !b) {
            return zae_spec_decline(ctx);
        }

        break;

    case ZAE_SPEC_T_N:
        if (type != ZAE_SPEC_V_STRING || len == 0) {
            return zae_spec_decline(ctx);
        }

        break;

    default: /* S, B */
        if (type != ZAE_SPEC_V_STRING) {
            return zae_spec_decline(ctx);
        }
    }

    bk = ctx->bucket;

    switch (ctx->attr) {

    case ZAE_SPEC_A_LIMIT:
        if (ctx->tag != ZAE_SPEC_T_N
            || zae_spec_int64(s, len, &ctx->slot->v[ctx->field]) != ZAE_OK)
        {
            return zae_spec_decline(ctx);
        }

        ctx->slot->seen |= 1u << ctx->field;

        if (ctx->field == ZAE_BUCKET_TK) {
            if (ctx->slot->wcu) {
                ctx->wcu_tk = 1;

            } else {
                ctx->slot->idx = ctx->ntk++;
            }
        }

        return 1;

    case ZAE_SPEC_A_ENTITY_ID:
    case ZAE_SPEC_A_RESOURCE:
    case ZAE_SPEC_A_PARENT_ID:
        if (ctx->attr == ZAE_SPEC_A_PARENT_ID
            && ctx->tag == ZAE_SPEC_T_NULL)
        {
            return 1;
        }

        if (ctx->tag != ZAE_SPEC_T_S) {
            return zae_spec_decline(ctx);
        }

        return zae_spec_str(ctx, ctx->attr == ZAE_SPEC_A_ENTITY_ID
                                 ? &bk->entity_id
                                 : ctx->attr == ZAE_SPEC_A_RESOURCE
                                   ? &bk->resource : &bk->parent_id,
                            s, len);

    case ZAE_SPEC_A_RF:
    case ZAE_SPEC_A_SHARD_COUNT:
    case ZAE_SPEC_A_TTL:
        if (ctx->attr == ZAE_SPEC_A_TTL && ctx->tag == ZAE_SPEC_T_NULL) {
            return 1;
        }

        if (ctx->tag != ZAE_SPEC_T_N
            || zae_spec_int64(s, len, ctx->attr == ZAE_SPEC_A_RF
                                      ? &bk->rf
                                      : ctx->attr == ZAE_SPEC_A_TTL
                                        ? &bk->ttl : &ctx->shard_count)
               != ZAE_OK)
        {
            return zae_spec_decline(ctx);
        }

        if (ctx->attr == ZAE_SPEC_A_TTL) {
            bk->has_ttl = 1;

        } else if (ctx->attr == ZAE_SPEC_A_SHARD_COUNT) {
            ctx->has_shard_count = 1;
        }

        return 1;

    case ZAE_SPEC_A_CASCADE:
        if (ctx->tag != ZAE_SPEC_T_BOOL) {
            return zae_spec_decline(ctx);
        }

        bk->cascade = b ? 1 : 0;
        return 1;

    default: /* ZAE_SPEC_A_OTHER */
        return 1;
    }
}


/* a scalar; a string's UTF-8 checked */

static int
zae_spec_value(zae_spec_ctx_t *ctx, zae_spec_value_e type, const u_char *s,
    size_t len, int b)
{
    if (ctx->depth == 3) {
        return zae_spec_attr_value(ctx, type, s, len, b);
    }

    /* the answer's strings; other scalars there are not looked at */

    if (ctx->depth == 1 && ctx->root >= ZAE_SPEC_R_TYPE) {
        if (type == ZAE_SPEC_V_STRING) {
            return zae_spec_str(ctx, &ctx->strs[ctx->root], s, len);
        }

        return 1;
    }

    /* a scalar answer, item or attribute value */

    return zae_spec_decline(ctx);
}


static int
zae_spec_on_null(void *data)
{
    return zae_spec_value(data, ZAE_SPEC_V_NULL, NULL, 0, 0);
}


static int
zae_spec_on_boolean(void *data, int v)
{
    return zae_spec_value(data, ZAE_SPEC_V_BOOL, NULL, 0, v);
}


static int
zae_spec_on_number(void *data, const char *s, size_t len)
{
    return zae_spec_value(data, ZAE_SPEC_V_NUMBER, (const u_char *) s, len,
                          0);
}


static int
zae_spec_on_string(void *data, const unsigned char *s, size_t len)
{
    if (!zae_json_utf8_valid(s, len)) {
        return zae_spec_decline(data);
    }

    return zae_spec_value(data, ZAE_SPEC_V_STRING, s, len, 0);
}


static yajl_callbacks  zae_spec_callbacks = {
    zae_spec_on_null,
    zae_spec_on_boolean,
    NULL,
    NULL,
    zae_spec_on_number,
    zae_spec_on_string,
    zae_spec_start_map,
    zae_spec_on_map_key,
    zae_spec_end_map,
    zae_spec_start_array,
    zae_spec_end_map
};


/*
 * The skim: a reader of the answer's usual JSON that makes the calls yajl
 * would make to the callbacks above, for the part of JSON it reads:
 * objects, strings of printable ASCII without escapes, true, false,
 * null, and the four whitespace bytes.  Anything else (an escape, a byte
 * over 0x7e or under 0x20, a number, an array, a trailing comma, a byte
 * after the answer, a truncation, ...) declines, and yajl reads the
 * body again from its start.  An ASCII string is valid UTF-8: the skim
 * calls what the yajl callbacks call after their UTF-8 check.
 */

/* the four are all at or under ' ': one comparison when there is none */

#define zae_spec_skim_ws(p, end)                                             \
    while (p < end && *p <= ' '                                              \
           && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))         \
    {                                                                        \
        p++;                                                                 \
    }


/* a string from its opening quote: *s and *len, p after the close */

static inline const u_char *
zae_spec_skim_str(const uint8_t *plain, const u_char *p, const u_char *end,
    const u_char **s, size_t *len)
{
    const u_char  *q;

    q = ++p;

    while (end - q >= 4
           && plain[q[0]] && plain[q[1]] && plain[q[2]] && plain[q[3]])
    {
        q += 4;
    }

    while (q < end && plain[*q]) {
        q++;
    }

    if (q == end || *q != '"') {
        return NULL;
    }

    *s = p;
    *len = (size_t) (q - p);

    return q + 1;
}


static const u_char *
zae_spec_skim_lit(const u_char *p, const u_char *end, const char *lit,
    size_t len)
{
    if ((size_t) (end - p) < len || memcmp(p, lit, len) != 0) {
        return NULL;
    }

    return p + len;
}


static int
zae_spec_skim(zae_spec_ctx_t *ctx, const u_char *p, const u_char *end)
{
    size_t          len, depth;
    const u_char   *s;
    const uint8_t  *plain;

    plain = zae_json_plain();
    depth = 0;

    zae_spec_skim_ws(p, end);

    if (p == end || *p != '{') {
        return ZAE_DECLINED;
    }

    p++;

open:

    /* the callbacks decline an object below the typed values: depth 4 */

    if (!zae_spec_start_map(ctx)) {
        return ZAE_DECLINED;
    }

    depth++;

    zae_spec_skim_ws(p, end);

    if (p < end && *p == '}') {
        p++;
        goto close;
    }

    for ( ;; ) {

        /* "key" : value */

        if (p == end || *p != '"') {
            return ZAE_DECLINED;
        }

        p = zae_spec_skim_str(plain, p, end, &s, &len);
        if (p == NULL
            || !(ctx->depth == 3 ? zae_spec_tag_key(ctx, s, len)
                                 : zae_spec_key(ctx, s, len)))
        {
            return ZAE_DECLINED;
        }

        zae_spec_skim_ws(p, end);

        if (p == end || *p != ':') {
            return ZAE_DECLINED;
        }

        p++;

        zae_spec_skim_ws(p, end);

        if (p == end) {
            return ZAE_DECLINED;
        }

        switch (*p) {

        case '{':
            p++;
            goto open;

        case '"':
            p = zae_spec_skim_str(plain, p, end, &s, &len);
            if (p == NULL
                || !zae_spec_value(ctx, ZAE_SPEC_V_STRING, s, len, 0))
            {
                return ZAE_DECLINED;
            }

            break;

        case 't':
            p = zae_spec_skim_lit(p, end, "true", 4);
            if (p == NULL || !zae_spec_value(ctx, ZAE_SPEC_V_BOOL, NULL, 0, 1))
            {
                return ZAE_DECLINED;
            }

            break;

        case 'f':
            p = zae_spec_skim_lit(p, end, "false", 5);
            if (p == NULL || !zae_spec_value(ctx, ZAE_SPEC_V_BOOL, NULL, 0, 0))
            {
                return ZAE_DECLINED;
            }

            break;

        case 'n':
            p = zae_spec_skim_lit(p, end, "null", 4);
            if (p == NULL || !zae_spec_value(ctx, ZAE_SPEC_V_NULL, NULL, 0, 0))
            {
                return ZAE_DECLINED;
            }

            break;

        default: /* a number, an array, not JSON */
            return ZAE_DECLINED;
        }

    next:

        /* after a value: "," and the next key, or the end of an object */

        zae_spec_skim_ws(p, end);

        if (p == end) {
            return ZAE_DECLINED;
        }

        if (*p == ',') {
            p++;
            zae_spec_skim_ws(p, end);
            continue;
        }

        if (*p != '}') {
            return ZAE_DECLINED;
        }

        p++;

    close:

        if (!zae_spec_end_map(ctx)) {
            return ZAE_DECLINED;
        }

        if (--depth) {
            goto next;
        }

        /* the answer's end: only whitespace may follow */

        zae_spec_skim_ws(p, end);

        return p == end ? ZAE_OK : ZAE_DECLINED;
    }
}


/* the limits in the order of their _tk attributes, wcu apart */

static int
zae_spec_limits(zae_spec_ctx_t *ctx)
{
    size_t               i;
    zae_spec_slot_t     *sl;
    zae_bucket_item_t   *bk;
    zae_bucket_limit_t  *bl;

    bk = ctx->bucket;

    if (ctx->ntk) {
        bk->limits = zae_alloc(ctx->mem,
                               ctx->ntk * sizeof(zae_bucket_limit_t));
        if (bk->limits == NULL) {
            return ZAE_DECLINED;
        }

        bk->nlimits = ctx->ntk;
    }

    for (i = 0; i < ctx->nslots; i++) {
        sl = &ctx->slots[i];

        if (!(sl->seen & (1u << ZAE_BUCKET_TK))) {
            continue;
        }

        if (sl->wcu) {
            bl = &bk->wcu;
            bk->has_wcu = 1;

        } else {
            bl = &bk->limits[sl->idx];
        }

        bl->name = sl->name;
        bl->tk = sl->v[ZAE_BUCKET_TK];
        bl->cp = sl->v[ZAE_BUCKET_CP];
        bl->ra = sl->v[ZAE_BUCKET_RA];
        bl->rp = sl->v[ZAE_BUCKET_RP];
        bl->tc = sl->v[ZAE_BUCKET_TC];
    }

    return ZAE_OK;
}


/* one reader's pass over the body: ZAE_OK or ZAE_DECLINED */

static int
zae_spec_read(zae_spec_ctx_t *ctx, zae_mem_t *mem,
    const zae_ddb_http_resp_t *resp, zae_bucket_item_t *bucket,
    unsigned reader)
{
    zae_err_t  err;

    memset(bucket, 0, sizeof(zae_bucket_item_t));

    /* the arrays at the end of ctx are cleared as they are used */

    memset(ctx, 0, offsetof(zae_spec_ctx_t, hashes));

    ctx->ok200 = (resp->status == 200);
    ctx->mem = mem;
    ctx->bucket = bucket;

    if (reader == ZAE_SPEC_SKIM) {
        return zae_spec_skim(ctx, resp->body.data,
                             resp->body.data + resp->body.len);
    }

    if (zae_json_run(mem, resp->body.data, resp->body.len,
                     &zae_spec_callbacks, ctx, &ctx->declined, &err)
        != ZAE_OK
        || ctx->declined)
    {
        return ZAE_DECLINED;
    }

    return ZAE_OK;
}


int
zae_spec_stream(zae_mem_t *mem, const zae_ddb_http_resp_t *resp,
    unsigned readers, zae_bucket_item_t *bucket, zae_ddb_error_t *e,
    unsigned *found, unsigned *used)
{
    zae_spec_ctx_t  ctx;

    *found = 0;
    *used = 0;

    if (zae_ddb_check_crc32(resp, e) != ZAE_OK
        || resp->body.len == 0
        || resp->body.len > ZAE_JSON_MAX_SIZE)
    {
        return ZAE_DECLINED;
    }

    if ((readers & ZAE_SPEC_SKIM)
        && zae_spec_read(&ctx, mem, resp, bucket, ZAE_SPEC_SKIM) == ZAE_OK)
    {
        *used = ZAE_SPEC_SKIM;

    } else if ((readers & ZAE_SPEC_YAJL)
               && zae_spec_read(&ctx, mem, resp, bucket, ZAE_SPEC_YAJL)
                  == ZAE_OK)
    {
        *used = ZAE_SPEC_YAJL;

    } else {
        return ZAE_DECLINED;
    }

    /* as many _tk attributes as zae_bucket_item_decode() takes */

    if (ctx.ntk + ctx.wcu_tk > ZAE_SCHEMA_MAX_LIMITS + 1
        || zae_spec_limits(&ctx) != ZAE_OK)
    {
        return ZAE_DECLINED;
    }

    bucket->shard_count = (ctx.has_shard_count && ctx.shard_count >= 1)
                          ? ctx.shard_count : 1;

    memset(e, 0, sizeof(zae_ddb_error_t));
    e->status = resp->status;

    if (ctx.ok200) {
        if (!ctx.has_item) {
            return ZAE_DECLINED;
        }

        *found = 1;
        return ZAE_OK;
    }

    e->code = ctx.strs[ZAE_SPEC_R_TYPE].data ? ctx.strs[ZAE_SPEC_R_TYPE]
              : ctx.strs[ZAE_SPEC_R_CODE].data ? ctx.strs[ZAE_SPEC_R_CODE]
              : ctx.strs[ZAE_SPEC_R_CODE_UC];
    e->message = ctx.strs[ZAE_SPEC_R_MESSAGE].data
                 ? ctx.strs[ZAE_SPEC_R_MESSAGE]
                 : ctx.strs[ZAE_SPEC_R_MESSAGE_UC];

    if (zae_ddb_error_class(mem, resp, e) != ZAE_OK) {
        return ZAE_DECLINED;
    }

    zae_ddb_error_done(resp, e);

    if (e->cls != ZAE_DDB_ERR_CONDITIONAL) {
        return ZAE_DECLINED;
    }

    *found = ctx.has_item;

    return ZAE_OK;
}
