
/*
 * Copyright (C) zae-limit authors
 */


/*
 * The keys of every record type of the table (docs/table-format.md):
 * the builders, the queries zae-admin runs over the indexes, and the key
 * attributes of an item.  The codecs of the items are zae_schema.c's.
 */


#include <stdarg.h>
#include <inttypes.h>

#include "zae_schema.h"
#include "zae_schema_int.h"


static int zae_schema_add_key(zae_mem_t *mem, zae_av_t *item,
    const char *name, zae_str_t *v);
static int zae_keys_table(zae_mem_t *mem, zae_keys_t *k, const char *prefix,
    zae_str_t *v);


static const char  *zae_system_sk[] = {
    "#CONFIG",
    "#RESOURCES",
    "#ENTITY_CONFIG_RESOURCES",
    "#PROVISIONER"
};


/*
 * Builds a key from a format: 'S' a zae_str_t *, 'c' a C string,
 * 'i' an int64_t
 */

int
zae_schema_key(zae_mem_t *mem, zae_str_t *out, const char *fmt, ...)
{
    va_list      args;
    zae_str_t   *s;
    zae_buf_t    b;
    const char  *p;

    zae_buf_init(&b, mem, 64);

    va_start(args, fmt);

    for (p = fmt; *p; p++) {

        switch (*p) {

        case 'S':
            s = va_arg(args, zae_str_t *);
            (void) zae_buf_add(&b, s->data, s->len);
            break;

        case 'c':
            (void) zae_buf_add_str(&b, va_arg(args, const char *));
            break;

        default: /* 'i' */
            (void) zae_buf_add_int64(&b, va_arg(args, int64_t));
            break;
        }
    }

    va_end(args);

    if (b.failed || b.data == NULL) {
        return ZAE_ERROR;
    }

    out->data = b.data;
    out->len = b.len;

    return ZAE_OK;
}


/*
 * The namespace index (GSI4) entry of most items: the namespace and the
 * item's own partition key, which is set already
 */

static int
zae_keys_ns_index(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns)
{
    if (zae_schema_key(mem, &k->gsi4pk, "S", ns) != ZAE_OK) {
        return ZAE_ERROR;
    }

    k->gsi4sk = k->pk;

    return ZAE_OK;
}


int
zae_keys_bucket_pk(zae_mem_t *mem, zae_str_t *pk, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, int64_t shard)
{
    return zae_schema_key(mem, pk, "ScScSci", ns, "/BUCKET#", entity, "#",
                          resource, "#", shard);
}


int
zae_keys_bucket(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, int64_t shard)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_keys_bucket_pk(mem, &k->pk, ns, entity, resource, shard)
           != ZAE_OK
        || zae_schema_key(mem, &k->sk, "c", ZAE_BUCKET_SK) != ZAE_OK
        || zae_schema_key(mem, &k->gsi2pk, "ScS", ns, "/RESOURCE#", resource)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi2sk, "cSci", "BUCKET#", entity, "#",
                          shard)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi3pk, "ScS", ns, "/ENTITY#", entity)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi3sk, "cSci", "BUCKET#", resource, "#",
                          shard)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi4pk, "S", ns) != ZAE_OK
        || zae_schema_key(mem, &k->gsi4sk, "cScSci", "BUCKET#", entity, "#",
                          resource, "#", shard)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_keys_entity_meta(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *parent)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_schema_key(mem, &k->pk, "ScS", ns, "/ENTITY#", entity) != ZAE_OK
        || zae_schema_key(mem, &k->sk, "c", ZAE_META_SK) != ZAE_OK
        || zae_keys_ns_index(mem, k, ns) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (parent == NULL || parent->len == 0) {
        return ZAE_OK;
    }

    if (zae_schema_key(mem, &k->gsi1pk, "ScS", ns, "/PARENT#", parent)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi1sk, "cS", "CHILD#", entity) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_keys_entity_config(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_schema_key(mem, &k->pk, "ScS", ns, "/ENTITY#", entity) != ZAE_OK
        || zae_schema_key(mem, &k->sk, "cS", "#CONFIG#", resource) != ZAE_OK
        || zae_schema_key(mem, &k->gsi3pk, "ScS", ns, "/ENTITY_CONFIG#",
                          resource)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi3sk, "S", entity) != ZAE_OK
        || zae_keys_ns_index(mem, k, ns) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_keys_entity_usage(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource, zae_str_t *window_start)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_schema_key(mem, &k->pk, "ScS", ns, "/ENTITY#", entity) != ZAE_OK
        || zae_schema_key(mem, &k->sk, "cScS", "#USAGE#", resource, "#",
                          window_start)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi2pk, "ScS", ns, "/RESOURCE#", resource)
           != ZAE_OK
        || zae_schema_key(mem, &k->gsi2sk, "cScS", "USAGE#", window_start,
                          "#", entity)
           != ZAE_OK
        || zae_keys_ns_index(mem, k, ns) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_keys_resource_config(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *resource)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_schema_key(mem, &k->pk, "ScS", ns, "/RESOURCE#", resource)
           != ZAE_OK
        || zae_schema_key(mem, &k->sk, "c", "#CONFIG") != ZAE_OK
        || zae_keys_ns_index(mem, k, ns) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_keys_system(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_system_record_e which)
{
    memset(k, 0, sizeof(zae_keys_t));

    if ((unsigned) which > ZAE_SYSTEM_PROVISIONER) {
        return ZAE_ERROR;
    }

    if (zae_schema_key(mem, &k->pk, "Sc", ns, "/SYSTEM#") != ZAE_OK
        || zae_schema_key(mem, &k->sk, "c", zae_system_sk[which]) != ZAE_OK
        || zae_schema_key(mem, &k->gsi4pk, "S", ns) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (which != ZAE_SYSTEM_PROVISIONER) {
        k->gsi4sk = k->pk;
    }

    return ZAE_OK;
}


int
zae_keys_audit(zae_mem_t *mem, zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *ulid)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_schema_key(mem, &k->pk, "ScS", ns, "/AUDIT#", entity) != ZAE_OK
        || zae_schema_key(mem, &k->sk, "cS", "#AUDIT#", ulid) != ZAE_OK
        || zae_keys_ns_index(mem, k, ns) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_keys_table(zae_mem_t *mem, zae_keys_t *k, const char *prefix,
    zae_str_t *v)
{
    static zae_str_t  empty = zae_null_string;

    memset(k, 0, sizeof(zae_keys_t));

    if (v == NULL) {
        v = &empty;
    }

    if (zae_schema_key(mem, &k->pk, "c", "_/SYSTEM#") != ZAE_OK
        || zae_schema_key(mem, &k->sk, "cS", prefix, v) != ZAE_OK
        || zae_schema_key(mem, &k->gsi4pk, "c", "_") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    k->gsi4sk = k->pk;

    return ZAE_OK;
}


int
zae_keys_version(zae_mem_t *mem, zae_keys_t *k)
{
    return zae_keys_table(mem, k, "#VERSION", NULL);
}


int
zae_keys_namespace(zae_mem_t *mem, zae_keys_t *k, zae_str_t *name)
{
    return zae_keys_table(mem, k, "#NAMESPACE#", name);
}


int
zae_keys_nsid(zae_mem_t *mem, zae_keys_t *k, zae_str_t *nsid)
{
    return zae_keys_table(mem, k, "#NSID#", nsid);
}


int
zae_keys_aggregator(zae_mem_t *mem, zae_keys_t *k, zae_str_t *shard)
{
    memset(k, 0, sizeof(zae_keys_t));

    if (zae_schema_key(mem, &k->pk, "c", "_/SYSTEM#") != ZAE_OK
        || zae_schema_key(mem, &k->sk, "cS", "#AGGREGATOR#", shard)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/*
 * The parsers, inverses of the builders above.  They point into the
 * key (nothing is allocated) and return ZAE_ERROR for a key of another
 * layout, of another namespace, or with an empty part.
 */

/* s starts with the len bytes of p at *off; *off moves past them */

static int
zae_keys_skip(zae_str_t *s, size_t *off, const char *p, size_t len)
{
    if (s->len - *off < len || memcmp(s->data + *off, p, len) != 0) {
        return ZAE_ERROR;
    }

    *off += len;

    return ZAE_OK;
}


/* the rest of s from off: not empty, no '#' */

static int
zae_keys_rest(zae_str_t *s, size_t off, zae_str_t *out)
{
    if (off >= s->len || memchr(s->data + off, '#', s->len - off) != NULL) {
        return ZAE_ERROR;
    }

    out->data = s->data + off;
    out->len = s->len - off;

    return ZAE_OK;
}


int
zae_keys_parse_entity_pk(zae_str_t *pk, zae_str_t *ns, zae_str_t *entity)
{
    size_t  off;

    off = 0;

    if (ns->len == 0
        || zae_keys_skip(pk, &off, (char *) ns->data, ns->len) != ZAE_OK
        || zae_keys_skip(pk, &off, "/ENTITY#", 8) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_keys_rest(pk, off, entity);
}


int
zae_keys_parse_entity_config(zae_keys_t *k, zae_str_t *ns,
    zae_str_t *entity, zae_str_t *resource)
{
    size_t  off;

    off = 0;

    if (zae_keys_parse_entity_pk(&k->pk, ns, entity) != ZAE_OK
        || zae_keys_skip(&k->sk, &off, "#CONFIG#", 8) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_keys_rest(&k->sk, off, resource);
}


int
zae_keys_parse_bucket_pk(zae_str_t *pk, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, int64_t *shard)
{
    u_char  *p, *end, *e, *r, *q;

    end = pk->data + pk->len;

    p = memchr(pk->data, '/', pk->len);

    if (p == NULL || p == pk->data || end - p < 8
        || memcmp(p, "/BUCKET#", 8) != 0)
    {
        return ZAE_ERROR;
    }

    ns->data = pk->data;
    ns->len = p - pk->data;

    /* E ends at the first '#' (entity ids have none), the shard starts
     * after the last */

    e = p + 8;
    r = memchr(e, '#', end - e);

    if (r == NULL || r == e) {
        return ZAE_ERROR;
    }

    entity->data = e;
    entity->len = r - e;

    r++;
    q = end;

    while (q > r && q[-1] != '#') {
        q--;
    }

    if (q <= r + 1 || q == end) {
        return ZAE_ERROR;
    }

    resource->data = r;
    resource->len = (q - 1) - r;

    *shard = 0;

    for ( /* void */ ; q < end; q++) {
        if (*q < '0' || *q > '9' || *shard > 1000000) {
            return ZAE_ERROR;
        }

        *shard = *shard * 10 + (*q - '0');
    }

    return ZAE_OK;
}


int
zae_keys_parse_aggregator(zae_keys_t *k, zae_str_t *shard)
{
    size_t  off;

    off = 0;

    if (k->pk.len != sizeof("_/SYSTEM#") - 1
        || memcmp(k->pk.data, "_/SYSTEM#", k->pk.len) != 0
        || zae_keys_skip(&k->sk, &off, "#AGGREGATOR#", 12) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_keys_rest(&k->sk, off, shard);
}


int
zae_query_key(zae_mem_t *mem, zae_query_key_t *q, zae_query_e which,
    zae_str_t *ns, zae_str_t *id, zae_str_t *sub)
{
    int          rc;
    const char  *prefix;

    memset(q, 0, sizeof(zae_query_key_t));

    q->hash = "PK";
    q->range = "SK";
    prefix = NULL;

    switch (which) {

    case ZAE_QUERY_ENTITY_ITEMS:
        q->range = NULL;
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/ENTITY#", id);
        break;

    case ZAE_QUERY_ENTITY_CONFIGS:
        prefix = "#CONFIG#";
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/ENTITY#", id);
        break;

    case ZAE_QUERY_ENTITY_USAGE:
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/ENTITY#", id);

        if (rc == ZAE_OK && sub && sub->len) {
            return zae_schema_key(mem, &q->prefix, "cSc", "#USAGE#", sub,
                                  "#");
        }

        prefix = "#USAGE#";
        break;

    case ZAE_QUERY_ENTITY_BUCKETS:
        q->hash = "GSI3PK";
        q->range = "GSI3SK";
        prefix = "BUCKET#";
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/ENTITY#", id);
        break;

    case ZAE_QUERY_CHILDREN:
        q->hash = "GSI1PK";
        q->range = NULL;
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/PARENT#", id);
        break;

    case ZAE_QUERY_RESOURCE_ENTITIES:
        q->hash = "GSI3PK";
        q->range = NULL;
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/ENTITY_CONFIG#", id);
        break;

    case ZAE_QUERY_RESOURCE_USAGE:
        q->hash = "GSI2PK";
        q->range = "GSI2SK";
        prefix = "USAGE#";
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/RESOURCE#", id);
        break;

    case ZAE_QUERY_AUDIT:
        prefix = "#AUDIT#";
        rc = zae_schema_key(mem, &q->key, "ScS", ns, "/AUDIT#", id);
        break;

    case ZAE_QUERY_NS_ITEMS:
        q->hash = "GSI4PK";
        q->range = NULL;
        rc = zae_schema_key(mem, &q->key, "S", ns);
        break;

    case ZAE_QUERY_NAMESPACES:
        prefix = "#NAMESPACE#";
        rc = zae_schema_key(mem, &q->key, "c", "_/SYSTEM#");
        break;

    case ZAE_QUERY_NSIDS:
        prefix = "#NSID#";
        rc = zae_schema_key(mem, &q->key, "c", "_/SYSTEM#");
        break;

    default:
        return ZAE_ERROR;
    }

    if (rc != ZAE_OK || prefix == NULL) {
        return rc;
    }

    return zae_schema_key(mem, &q->prefix, "c", prefix);
}


static int
zae_schema_add_key(zae_mem_t *mem, zae_av_t *item, const char *name,
    zae_str_t *v)
{
    if (v->len == 0) {
        return ZAE_OK;
    }

    return zae_item_set_s(mem, item, name, v->data, v->len);
}


int
zae_schema_add_primary(zae_mem_t *mem, zae_av_t *item, zae_keys_t *k)
{
    if (zae_schema_add_key(mem, item, "PK", &k->pk) != ZAE_OK
        || zae_schema_add_key(mem, item, "SK", &k->sk) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_schema_add_gsi(zae_mem_t *mem, zae_av_t *item, zae_keys_t *k)
{
    if (zae_schema_add_key(mem, item, "GSI1PK", &k->gsi1pk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI1SK", &k->gsi1sk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI2PK", &k->gsi2pk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI2SK", &k->gsi2sk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI3PK", &k->gsi3pk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI3SK", &k->gsi3sk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI4PK", &k->gsi4pk) != ZAE_OK
        || zae_schema_add_key(mem, item, "GSI4SK", &k->gsi4sk) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_keys_to_item(zae_mem_t *mem, zae_av_t *item, zae_keys_t *k)
{
    if (zae_schema_add_primary(mem, item, k) != ZAE_OK
        || zae_schema_add_gsi(mem, item, k) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


zae_av_t *
zae_keys_key(zae_mem_t *mem, zae_keys_t *k)
{
    zae_av_t  *key;

    key = zae_av_map(mem);
    if (key == NULL) {
        return NULL;
    }

    if (zae_item_set_s(mem, key, "PK", k->pk.data, k->pk.len) != ZAE_OK
        || zae_item_set_s(mem, key, "SK", k->sk.data, k->sk.len) != ZAE_OK)
    {
        return NULL;
    }

    return key;
}
