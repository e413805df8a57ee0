
/*
 * Copyright (C) zae-limit authors
 *
 * The zae-limiter table schema (docs/table-format.md 4, 5): key strings
 * of every record type with their GSI keys, the item codecs of buckets,
 * entity meta and limit configs, and limit resolution over the four
 * config levels.
 *
 * Units: config items (l_*) and zae_limit_t hold whole tokens and
 * seconds; bucket items (b_*) and zae_bucket_limit_t hold millitokens
 * and milliseconds.  Every number is int64.
 *
 * Nothing here validates identifiers: callers validate entity ids,
 * resources and limit names (zae_limit.h) where upstream does.  The
 * key builders never fail on odd input other than by running out of
 * memory.
 */


#ifndef _ZAE_SCHEMA_H_INCLUDED_
#define _ZAE_SCHEMA_H_INCLUDED_


#include "zae_core.h"
#include "zae_json.h"
#include "zae_limit.h"


#define ZAE_WCU_NAME             "wcu"
#define ZAE_WCU_MILLI            1000000     /* cp = ra = 1000 tokens */
#define ZAE_WCU_PERIOD_MS        1000
#define ZAE_WCU_COST             1000        /* milli per fast-path write */
#define ZAE_DEFAULT_RESOURCE     "_default_"
#define ZAE_CONFIG_VERSION       1

/* more limits than this in one stored item is refused when decoding */
#define ZAE_SCHEMA_MAX_LIMITS    64


/*
 * Keys.  A zae_keys_t holds the primary key and every GSI key of one
 * record; a zero-length key is absent from the item.  The builders
 * allocate the strings from mem and return ZAE_OK or ZAE_ERROR.
 */

typedef struct {
    zae_str_t          pk;
    zae_str_t          sk;
    zae_str_t          gsi1pk;
    zae_str_t          gsi1sk;
    zae_str_t          gsi2pk;
    zae_str_t          gsi2sk;
    zae_str_t          gsi3pk;
    zae_str_t          gsi3sk;
    zae_str_t          gsi4pk;
    zae_str_t          gsi4sk;
} zae_keys_t;


typedef enum {
    ZAE_SYSTEM_CONFIG = 0,               /* #CONFIG */
    ZAE_SYSTEM_RESOURCES,                /* #RESOURCES */
    ZAE_SYSTEM_ENTITY_CONFIG_RESOURCES,  /* #ENTITY_CONFIG_RESOURCES */
    ZAE_SYSTEM_PROVISIONER               /* #PROVISIONER, no GSI4SK */
} zae_system_record_e;


/* {ns}/BUCKET#{E}#{R}#{shard} #STATE, GSI2/GSI3/GSI4 */
int zae_keys_bucket(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, int64_t shard);

/* the PK alone: {ns}/BUCKET#{E}#{R}#{shard}; the SK is ZAE_BUCKET_SK */
int zae_keys_bucket_pk(zae_mem_t *mem, zae_str_t *pk, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, int64_t shard);

#define ZAE_BUCKET_SK  "#STATE"

/* {ns}/ENTITY#{E} #META, GSI4, GSI1 when parent is not empty */
int zae_keys_entity_meta(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *parent);

#define ZAE_META_SK  "#META"

/* {ns}/ENTITY#{E} #CONFIG#{R}, GSI3 (ENTITY_CONFIG#{R} / E), GSI4 */
int zae_keys_entity_config(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource);

/* {ns}/ENTITY#{E} #USAGE#{R}#{window_start}, GSI2, GSI4 */
int zae_keys_entity_usage(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, zae_str_t *window_start);

/* {ns}/RESOURCE#{R} #CONFIG, GSI4 */
int zae_keys_resource_config(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *resource);

/* {ns}/SYSTEM# #CONFIG | #RESOURCES | ..., GSI4 (no GSI4SK: provisioner) */
int zae_keys_system(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_system_record_e which);

/* {ns}/AUDIT#{E} #AUDIT#{ULID}, GSI4 */
int zae_keys_audit(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *ulid);

/* _/SYSTEM# #VERSION | #NAMESPACE#{name} | #NSID#{id}, GSI4 "_" */
int zae_keys_version(zae_mem_t *mem, zae_keys_t *k);
int zae_keys_namespace(zae_mem_t *mem, zae_keys_t *k, zae_str_t *name);
int zae_keys_nsid(zae_mem_t *mem, zae_keys_t *k, zae_str_t *nsid);

/* _/SYSTEM# #AGGREGATOR#{shard}, no GSI: the aggregator's checkpoint */
int zae_keys_aggregator(zae_mem_t *mem, zae_keys_t *k, zae_str_t *shard);


/*
 * The parsers, inverses of the builders: they point into the key and
 * return ZAE_ERROR for a key of another layout, of another namespace
 * (ns is the one expected) or with an empty part.
 */

/* {ns}/ENTITY#{E}: E */
int zae_keys_parse_entity_pk(zae_str_t *pk, zae_str_t *ns,
    zae_str_t *entity);
/* {ns}/ENTITY#{E} #CONFIG#{R}: E and R */
int zae_keys_parse_entity_config(zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource);
/* {ns}/BUCKET#{E}#{R}#{shard}, any namespace: ns, E, R and the shard */
int zae_keys_parse_bucket_pk(zae_str_t *pk, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, int64_t *shard);
/* _/SYSTEM# #AGGREGATOR#{shard}: the shard id */
int zae_keys_parse_aggregator(zae_keys_t *k, zae_str_t *shard);


/*
 * Queries: for each group of records the project lists, the key
 * attribute a Query matches, its value, and the sort-key attribute and
 * prefix it reads with begins_with() (range NULL: the whole partition).
 * id is the entity (ENTITY_*, CHILDREN, AUDIT), the resource
 * (RESOURCE_*) or unused (namespace queries); sub, when not NULL and
 * not empty, narrows ENTITY_USAGE to one resource.
 */

typedef enum {
    ZAE_QUERY_ENTITY_ITEMS = 0,   /* PK {ns}/ENTITY#{E} */
    ZAE_QUERY_ENTITY_CONFIGS,     /* PK {ns}/ENTITY#{E}, SK #CONFIG# */
    ZAE_QUERY_ENTITY_USAGE,       /* PK {ns}/ENTITY#{E}, SK #USAGE#[{R}#] */
    ZAE_QUERY_ENTITY_BUCKETS,     /* GSI3PK {ns}/ENTITY#{E}, BUCKET# */
    ZAE_QUERY_CHILDREN,           /* GSI1PK {ns}/PARENT#{E} */
    ZAE_QUERY_RESOURCE_ENTITIES,  /* GSI3PK {ns}/ENTITY_CONFIG#{R} */
    ZAE_QUERY_RESOURCE_USAGE,     /* GSI2PK {ns}/RESOURCE#{R}, USAGE# */
    ZAE_QUERY_AUDIT,              /* PK {ns}/AUDIT#{E}, SK #AUDIT# */
    ZAE_QUERY_NS_ITEMS,           /* GSI4PK {ns} */
    ZAE_QUERY_NAMESPACES,         /* PK _/SYSTEM#, SK #NAMESPACE# */
    ZAE_QUERY_NSIDS               /* PK _/SYSTEM#, SK #NSID# */
} zae_query_e;


typedef struct {
    const char        *hash;      /* "PK", "GSI1PK" ... "GSI4PK" */
    const char        *range;     /* "SK", "GSI2SK", "GSI3SK" or NULL */
    zae_str_t          key;
    zae_str_t          prefix;    /* len 0 when range is NULL */
} zae_query_key_t;


int zae_query_key(zae_mem_t *mem, zae_query_key_t *q, zae_query_e which,
    zae_str_t *ns, zae_str_t *id, zae_str_t *sub);


/* add PK, SK and every non-empty GSI key to an item (a ZAE_AV_M) */
int zae_keys_to_item(zae_mem_t *mem, zae_av_t *item, zae_keys_t *k);

/* {"PK":{"S":..},"SK":{"S":..}} as a map, for Key fields of requests */
zae_av_t *zae_keys_key(zae_mem_t *mem, zae_keys_t *k);


/*
 * A BatchGetItem body reading the given keys of one table (keys with an
 * empty pk are skipped), and the decoder of its 200 answer: items[i]
 * gets the typed item whose PK/SK equal keys[i], or NULL (not found);
 * bit i of *unprocessed is set when keys[i] (i < 32) was left in
 * UnprocessedKeys.
 */
int zae_batch_get_request(zae_buf_t *b, zae_str_t *table, zae_keys_t *keys,
    size_t n, int consistent);
/* the decoder, on an answer already parsed (plain JSON); converts in place */
int zae_batch_get_items(zae_av_t *root, zae_str_t *table, zae_keys_t *keys,
    size_t n, zae_av_t **items, unsigned *unprocessed, zae_err_t *err);


/*
 * Bucket items.  A decoded bucket holds the user limits (found by
 * scanning the item for b_{L}_tk attributes; a missing field reads as
 * 0) in item order, and the hidden wcu limit separately.
 */

typedef struct {
    zae_str_t          name;
    int64_t            tk;            /* millitokens, may be negative */
    int64_t            cp;            /* milli */
    int64_t            ra;            /* milli */
    int64_t            rp;            /* ms */
    int64_t            tc;            /* milli, net consumed */
} zae_bucket_limit_t;


typedef struct {
    zae_str_t            entity_id;
    zae_str_t            resource;
    zae_str_t            parent_id;   /* len 0: absent */
    int64_t              rf;          /* epoch ms */
    int64_t              shard_count; /* absent: 1 */
    int64_t              ttl;         /* epoch s, when has_ttl */
    zae_bucket_limit_t  *limits;      /* without wcu */
    size_t               nlimits;
    zae_bucket_limit_t   wcu;
    unsigned             cascade:1;
    unsigned             has_ttl:1;
    size_t               bad_names;   /* limits skipped: invalid names */
    zae_str_t            bad_name;    /* the first of them, raw */
    unsigned             has_wcu:1;
} zae_bucket_item_t;


int zae_bucket_item_decode(zae_mem_t *mem, const zae_av_t *item,
    zae_bucket_item_t *bucket, zae_err_t *err);

/*
 * The field of a bucket attribute "b_{L}_{tk|cp|ra|rp|tc}" (L not
 * empty, *name set to L): ZAE_BUCKET_TK ... ZAE_BUCKET_TC;
 * ZAE_BUCKET_BAD_TK (the _tk field) or ZAE_BUCKET_BAD (another field)
 * when L is not a valid limit name (zae_validate_limit_name(), "wcu"
 * allowed): such a limit is skipped, and counted in bad_names by
 * zae_bucket_item_decode(); ZAE_DECLINED for any other attribute
 */

#define ZAE_BUCKET_TK  0
#define ZAE_BUCKET_CP  1
#define ZAE_BUCKET_RA  2
#define ZAE_BUCKET_RP  3
#define ZAE_BUCKET_TC  4
#define ZAE_BUCKET_BAD_TK  5
#define ZAE_BUCKET_BAD     6

int zae_bucket_attr_field(const u_char *attr, size_t len, zae_str_t *name);

/*
 * zae_bucket_attr_field() in two steps: the field of "b_{L}_{xx}" without
 * the check of L, then that check (1: a valid limit name or "wcu")
 */
int zae_bucket_attr_split(const u_char *attr, size_t len, zae_str_t *name);
int zae_bucket_limit_name_ok(const zae_str_t *name);

/* the limit named so, or NULL; "wcu" finds the hidden limit */
zae_bucket_limit_t *zae_bucket_item_limit(zae_bucket_item_t *bucket,
    const u_char *name, size_t len);

/*
 * The full item of a bucket Create (docs/table-format.md 4.4, in that
 * order): keys from ns and
 * shard, every limit of bucket->limits, then wcu (bucket->wcu when
 * has_wcu, else at full value), parent_id only when not empty, ttl
 * only when has_ttl.
 */
zae_av_t *zae_bucket_item_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_bucket_item_t *bucket, int64_t shard);

/* a bucket limit from a config limit at full capacity */
void zae_bucket_limit_from_limit(zae_bucket_limit_t *bl,
    const zae_limit_t *limit);


/* entity meta */

typedef struct {
    zae_str_t          entity_id;
    zae_str_t          name;
    zae_str_t          parent_id;     /* len 0: NULL */
    zae_str_t          created_at;
    zae_av_t          *metadata;      /* a ZAE_AV_M or NULL */
    unsigned           cascade:1;
} zae_entity_meta_t;


int zae_entity_meta_decode(zae_mem_t *mem, const zae_av_t *item,
    zae_entity_meta_t *meta, zae_err_t *err);
zae_av_t *zae_entity_meta_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_entity_meta_t *meta);


/*
 * Config items: entity (#CONFIG#{R}), resource (#CONFIG) and system
 * (#CONFIG).  Limits are found by scanning l_{L}_cp attributes, the
 * name being what lies between "l_" and the last "_".
 */

typedef struct {
    zae_str_t          entity_id;       /* entity configs */
    zae_str_t          resource;        /* entity and resource configs */
    zae_str_t          on_unavailable;  /* system: allow|block, or len 0 */
    int64_t            config_version;  /* 0: absent */
    int64_t            audit_retention_days;  /* 0: absent */
    zae_limits_t       limits;
} zae_config_item_t;


int zae_config_item_decode(zae_mem_t *mem, const zae_av_t *item,
    zae_config_item_t *cfg, zae_err_t *err);

zae_av_t *zae_entity_config_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, const zae_limits_t *limits);
zae_av_t *zae_resource_config_encode(zae_mem_t *mem, zae_str_t *ns,
    zae_str_t *resource, const zae_limits_t *limits);
/* on_unavailable: NULL or len 0 to omit */
zae_av_t *zae_system_config_encode(zae_mem_t *mem, zae_str_t *ns,
    const zae_limits_t *limits, zae_str_t *on_unavailable);


/*
 * Limit resolution (docs/table-format.md 5, in that order): entity/R,
 * entity/_default_ (skipped when R is _default_), resource, system;
 * the first non-empty list wins.  Our choice: the inline limits= list
 * is the LAST fallback (source "inline"), as the upstream docs say.
 */

typedef enum {
    ZAE_LEVEL_ENTITY = 0,
    ZAE_LEVEL_ENTITY_DEFAULT,
    ZAE_LEVEL_RESOURCE,
    ZAE_LEVEL_SYSTEM,
    ZAE_LEVEL_INLINE,
    ZAE_LEVEL_NONE
} zae_level_e;

#define ZAE_CONFIG_LEVELS  4


/* "entity", "entity_default", "resource", "system", "inline", "none" */
const char *zae_level_name(zae_level_e level);


/* the decoded configs of the four levels; NULL: no item (negative) */

typedef struct {
    zae_config_item_t  *level[ZAE_CONFIG_LEVELS];
} zae_config_levels_t;


/*
 * ZAE_OK with *limits and *source set, or ZAE_DECLINED with err set
 * ("no limits configured for ...") when nothing applies anywhere;
 * inline may be NULL
 */
int zae_resolve_limits(const zae_config_levels_t *levels,
    zae_str_t *entity, zae_str_t *resource, const zae_limits_t *inline_,
    const zae_limits_t **limits, zae_level_e *source, zae_err_t *err);


/*
 * The one BatchGetItem body reading the config levels in mask (bits
 * 1 << ZAE_LEVEL_*; the entity default level is left out when R is
 * _default_), eventually consistent, and the decoder of its 200
 * answer.  The decoder fills levels->level[i] for the levels in mask:
 * an item present -> decoded config, absent -> NULL.  *unprocessed gets
 * the mask of levels DynamoDB left in UnprocessedKeys (not negative
 * results: retry or treat as a miss).
 */

int zae_config_batch_request(zae_buf_t *b, zae_str_t *table, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, unsigned mask);
int zae_config_batch_decode(zae_mem_t *mem, const u_char *body, size_t len,
    zae_str_t *table, zae_str_t *ns, zae_str_t *entity, zae_str_t *resource,
    unsigned mask, zae_config_levels_t *levels, unsigned *unprocessed,
    zae_err_t *err);


#endif /* _ZAE_SCHEMA_H_INCLUDED_ */
