
/*
 * Copyright (C) zae-limit authors
 *
 * JSON for zae core: Python-compatible string escaping, the DynamoDB
 * attribute-value tree (zae_av.c), its encoder (DynamoDB JSON) and a
 * bounded streaming decoder (yajl) of response bodies (zae_json.c).
 *
 * The tree serves two purposes:
 *
 *   - typed DynamoDB values (an item is a ZAE_AV_M whose attributes are
 *     typed values, encoded as {"PK":{"S":"..."},"n":{"N":"5"}});
 *
 *   - plain JSON as decoded from a response body: objects are ZAE_AV_M,
 *     arrays ZAE_AV_L, strings ZAE_AV_S, numbers ZAE_AV_N (the text as
 *     sent), true/false ZAE_AV_BOOL and null ZAE_AV_NULL.
 *     zae_item_from_ddb() turns a plain-JSON DynamoDB item into typed
 *     values.
 *
 * Everything is allocated from a zae_mem_t and never freed individually.
 */


#ifndef _ZAE_JSON_H_INCLUDED_
#define _ZAE_JSON_H_INCLUDED_


#include "zae_core.h"


typedef enum {
    ZAE_AV_S = 0,
    ZAE_AV_N,
    ZAE_AV_B,
    ZAE_AV_BOOL,
    ZAE_AV_NULL,
    ZAE_AV_M,
    ZAE_AV_L,
    ZAE_AV_SS,
    ZAE_AV_NS,
    ZAE_AV_BS
} zae_av_type_e;


typedef struct zae_av_s  zae_av_t;

typedef struct {
    zae_str_t          name;
    zae_av_t          *value;
} zae_attr_t;


/*
 * Iterate over a map in insertion order with
 *
 *     for (i = 0; i < m->nattrs; i++) { m->attrs[i].name ... }
 *
 * and over a list or set with m->items[0 .. nitems).
 */

struct zae_av_s {
    zae_av_type_e      type;
    zae_str_t          s;          /* S, N (decimal text), B (base64 text) */
    unsigned           b:1;        /* BOOL */
    zae_attr_t        *attrs;      /* M */
    size_t             nattrs;
    size_t             cattrs;
    zae_av_t         **items;      /* L, SS, NS, BS */
    size_t             nitems;
    size_t             citems;
};


/*
 * Decoder bounds; a zero field means the default.  max_depth cannot go
 * above ZAE_JSON_MAX_DEPTH.  A parse takes 4 * body + 32K bytes from the
 * caller's zae_mem_t for yajl up front, plus the tree.
 */

#define ZAE_JSON_MAX_DEPTH     32
#define ZAE_JSON_MAX_SIZE      (16 * 1024 * 1024)
#define ZAE_JSON_MAX_NODES     (1024 * 1024)

typedef struct {
    size_t             max_depth;  /* nesting of objects and arrays */
    size_t             max_size;   /* body bytes */
    size_t             max_nodes;  /* values and keys in the whole body */
} zae_json_limits_t;


/*
 * Strings.  zae_json_add_string() writes "..." exactly as Python's
 * json.dumps(ensure_ascii=True): \" \\ \n \r \t \b \f, other control
 * bytes and DEL as \u00xx, valid UTF-8 above ASCII as \uxxxx (lowercase
 * hex, surrogate pairs above the BMP), each byte that does not start a
 * valid UTF-8 sequence as \ufffd.
 */

int zae_json_add_string(zae_buf_t *b, const u_char *s, size_t len);

/*
 * zae_json_escape() writes what zae_json_add_string() puts between the
 * quotes, at most len * ZAE_JSON_ESCAPE_MAX bytes at d, and returns the
 * byte after them.  Escaping is per character, and no character spans
 * an ASCII byte, so the pieces of a string joined by ASCII may be
 * escaped one by one.
 */

/*
 * six bytes per input byte at most: \u00xx for a control byte, DEL or
 * an invalid byte, \uxxxx for 2- and 3-byte sequences, a surrogate
 * pair (12) for 4 bytes
 */
#define ZAE_JSON_ESCAPE_MAX  6

u_char *zae_json_escape(u_char *d, const u_char *s, size_t len);

/*
 * 1 for the bytes a JSON string holds as they are (0x20 to 0x7e but "
 * and \), 0 for the others: a table of 256
 */
const uint8_t *zae_json_plain(void);


/*
 * The tree (zae_av.c).  Constructors return NULL on allocation failure.
 */

zae_av_t *zae_av_new(zae_mem_t *mem, zae_av_type_e type);
zae_av_t *zae_av_str(zae_mem_t *mem, const u_char *s, size_t len);
zae_av_t *zae_av_cstr(zae_mem_t *mem, const char *s);
zae_av_t *zae_av_num(zae_mem_t *mem, const u_char *text, size_t len);
zae_av_t *zae_av_int64(zae_mem_t *mem, int64_t v);
zae_av_t *zae_av_bool(zae_mem_t *mem, int v);
zae_av_t *zae_av_null(zae_mem_t *mem);
zae_av_t *zae_av_map(zae_mem_t *mem);
zae_av_t *zae_av_list(zae_mem_t *mem);

/* strings passed to constructors and setters are copied */


/*
 * Maps.  zae_av_map_set() replaces the value of an existing attribute
 * in place (keeping its position) or appends a new one;
 * zae_av_map_add() appends without looking for duplicates.
 * Both return ZAE_OK or ZAE_ERROR (allocation failure, not a map).
 */

int zae_av_map_set(zae_mem_t *mem, zae_av_t *m, const u_char *name,
    size_t len, zae_av_t *value);
int zae_av_map_add(zae_mem_t *mem, zae_av_t *m, const u_char *name,
    size_t len, zae_av_t *value);

/* item setters by C-string name; the value is built and set */

int zae_item_set(zae_mem_t *mem, zae_av_t *item, const char *name,
    zae_av_t *value);
int zae_item_set_s(zae_mem_t *mem, zae_av_t *item, const char *name,
    const u_char *s, size_t len);
int zae_item_set_cstr(zae_mem_t *mem, zae_av_t *item, const char *name,
    const char *s);
int zae_item_set_n(zae_mem_t *mem, zae_av_t *item, const char *name,
    int64_t v);
int zae_item_set_bool(zae_mem_t *mem, zae_av_t *item, const char *name,
    int v);
int zae_item_set_null(zae_mem_t *mem, zae_av_t *item, const char *name);

/* lists and sets (L, SS, NS, BS): append */

int zae_av_list_add(zae_mem_t *mem, zae_av_t *l, zae_av_t *value);


/* getters; NULL/ZAE_DECLINED when absent */

zae_av_t *zae_av_get(const zae_av_t *m, const u_char *name, size_t len);
zae_av_t *zae_item_get(const zae_av_t *item, const char *name);

/*
 * zae_av_get_int64(): a strict N (or, for plain JSON, a number):
 * optional '-', decimal digits, no fraction or exponent, range checked.
 * ZAE_OK, or ZAE_ERROR with err set.
 */

int zae_av_get_int64(const zae_av_t *av, int64_t *v, zae_err_t *err);
int zae_av_get_str(const zae_av_t *av, zae_str_t *s);     /* S only */
int zae_av_get_bool(const zae_av_t *av, int *v);          /* BOOL only */

/*
 * item getters: ZAE_OK; ZAE_DECLINED when the attribute is absent;
 * ZAE_ERROR (err set) when it has the wrong type or a bad value
 */

int zae_item_get_int64(const zae_av_t *item, const char *name, int64_t *v,
    zae_err_t *err);
int zae_item_get_str(const zae_av_t *item, const char *name, zae_str_t *s,
    zae_err_t *err);
int zae_item_get_bool(const zae_av_t *item, const char *name, int *v,
    zae_err_t *err);

/*
 * 1 if both trees are equal (type, text, map order ignored), else 0:
 * reference implementation of tree equality, used by t/unit/test_json.c,
 * test_schema.c, test_proto.c and t/fuzz/fuzz_ddb_response.c to compare
 * the decoders' and encoders' round trips
 */

int zae_av_equal(const zae_av_t *a, const zae_av_t *b);

/* copy a tree into mem; NULL on allocation failure */

zae_av_t *zae_av_copy(zae_mem_t *mem, const zae_av_t *av);


/*
 * Encoders.
 *
 * zae_item_encode() writes an item or any attribute map (names, keys,
 * ExpressionAttributeValues): {"PK":{"S":"x"},"n":{"N":"5"}}, each
 * typed value as {"S":"x"}, {"N":"5"}, {"M":{...}}, {"L":[...]}, ...
 *
 * zae_json_encode() writes a plain-JSON tree as JSON (objects, arrays,
 * strings, numbers as their text, true/false/null).
 *
 * Insertion order is kept.  ZAE_OK, or ZAE_ERROR on allocation failure
 * or a malformed tree.
 */

int zae_item_encode(zae_buf_t *b, const zae_av_t *item);
int zae_json_encode(zae_buf_t *b, const zae_av_t *json);


/*
 * Decoders.
 *
 * zae_json_parse() parses a complete body into a plain-JSON tree with a
 * streaming yajl parser whose memory comes from mem.  limits may be
 * NULL.  Duplicate object keys, invalid UTF-8 (overlong forms and
 * surrogates included), trailing garbage, comments, truncated input and
 * anything over the limits are errors; err says which.
 *
 * zae_item_from_ddb() converts every attribute of a plain-JSON object
 * (an item) in place from a DynamoDB value ({"S":"x"},
 * {"M":{"a":{"N":"1"}}}, ...) into a typed value, leaving the object a
 * typed map.
 *
 * zae_item_parse() = zae_json_parse() + zae_item_from_ddb().
 */

int zae_json_parse(zae_mem_t *mem, const u_char *data, size_t len,
    const zae_json_limits_t *limits, zae_av_t **root, zae_err_t *err);
int zae_item_from_ddb(zae_av_t *json, zae_err_t *err);
int zae_item_parse(zae_mem_t *mem, const u_char *data, size_t len,
    zae_av_t **item, zae_err_t *err);

/*
 * The yajl run behind zae_json_parse(), for decoders with their own
 * callbacks (a yajl_callbacks *) and context: yajl's memory comes from
 * mem as described above, the whole body is parsed and completed.
 * *failed is the callbacks' flag "err is set already".  ZAE_OK, or
 * ZAE_ERROR with err set.  No size limit is applied.
 */
int zae_json_run(zae_mem_t *mem, const u_char *data, size_t len,
    const void *callbacks, void *ctx, const int *failed, zae_err_t *err);

/* 1 if s is valid UTF-8 as the decoder wants it (no overlong forms,
   surrogates or values above U+10FFFF), else 0 */
int zae_json_utf8_valid(const u_char *s, size_t len);

/* plain-JSON helpers for response objects */

zae_av_t *zae_json_get(const zae_av_t *obj, const char *name);


#endif /* _ZAE_JSON_H_INCLUDED_ */
