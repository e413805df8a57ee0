
/*
 * Copyright (C) zae-limit authors
 *
 * zae_schema: keys, item codecs against zae-limiter's example items
 * (docs/table-format.md 4)
 * sheet (1.3), limit resolution and the config BatchGetItem.
 */


#include "tap.h"
#include "zae_schema.h"


#define NS  "szXjZ6M1yVc"


static zae_arena_t  arena;
static zae_mem_t    mem;


static const char  *bucket_json =
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/BUCKET#key-1#gpt-4#0\"},"
    "\"SK\":{\"S\":\"#STATE\"},\"entity_id\":{\"S\":\"key-1\"},"
    "\"resource\":{\"S\":\"gpt-4\"},\"rf\":{\"N\":\"1795444651132\"},"
    "\"cascade\":{\"BOOL\":true},\"parent_id\":{\"S\":\"proj-1\"},"
    "\"shard_count\":{\"N\":\"1\"},\"b_rpm_tk\":{\"N\":\"18000\"},"
    "\"b_rpm_cp\":{\"N\":\"20000\"},\"b_rpm_ra\":{\"N\":\"20000\"},"
    "\"b_rpm_rp\":{\"N\":\"60000\"},\"b_rpm_tc\":{\"N\":\"2000\"},"
    "\"b_tpm_tk\":{\"N\":\"2750000\"},\"b_tpm_cp\":{\"N\":\"3000000\"},"
    "\"b_tpm_ra\":{\"N\":\"3000000\"},\"b_tpm_rp\":{\"N\":\"3600000\"},"
    "\"b_tpm_tc\":{\"N\":\"250000\"},\"b_wcu_tk\":{\"N\":\"999000\"},"
    "\"b_wcu_cp\":{\"N\":\"1000000\"},\"b_wcu_ra\":{\"N\":\"1000000\"},"
    "\"b_wcu_rp\":{\"N\":\"1000\"},\"b_wcu_tc\":{\"N\":\"1000\"},"
    "\"GSI2PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"},"
    "\"GSI2SK\":{\"S\":\"BUCKET#key-1#0\"},"
    "\"GSI3PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},"
    "\"GSI3SK\":{\"S\":\"BUCKET#gpt-4#0\"},"
    "\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
    "\"GSI4SK\":{\"S\":\"BUCKET#key-1#gpt-4#0\"}}";

static const char  *meta_json =
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},\"SK\":{\"S\":\"#META\"},"
    "\"entity_id\":{\"S\":\"key-1\"},\"name\":{\"S\":\"key-1\"},"
    "\"parent_id\":{\"S\":\"proj-1\"},\"cascade\":{\"BOOL\":true},"
    "\"metadata\":{\"M\":{\"tier\":{\"S\":\"gold\"}}},"
    "\"created_at\":{\"S\":\"2026-11-23T14:37:30Z\"},"
    "\"GSI1PK\":{\"S\":\"szXjZ6M1yVc/PARENT#proj-1\"},"
    "\"GSI1SK\":{\"S\":\"CHILD#key-1\"},"
    "\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
    "\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"}}";

static const char  *root_meta_json =
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#proj-1\"},\"SK\":{\"S\":\"#META\"},"
    "\"entity_id\":{\"S\":\"proj-1\"},\"name\":{\"S\":\"proj-1\"},"
    "\"parent_id\":{\"NULL\":true},\"cascade\":{\"BOOL\":false},"
    "\"metadata\":{\"M\":{}},"
    "\"created_at\":{\"S\":\"2026-11-23T14:37:30Z\"},"
    "\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
    "\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/ENTITY#proj-1\"}}";

static const char  *entity_config_json =
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"},"
    "\"SK\":{\"S\":\"#CONFIG#gpt-4\"},\"entity_id\":{\"S\":\"key-1\"},"
    "\"resource\":{\"S\":\"gpt-4\"},\"config_version\":{\"N\":\"1\"},"
    "\"l_rpm_cp\":{\"N\":\"20\"},\"l_rpm_ra\":{\"N\":\"20\"},"
    "\"l_rpm_rp\":{\"N\":\"60\"},\"l_tpm_cp\":{\"N\":\"3000\"},"
    "\"l_tpm_ra\":{\"N\":\"3000\"},\"l_tpm_rp\":{\"N\":\"3600\"},"
    "\"GSI3PK\":{\"S\":\"szXjZ6M1yVc/ENTITY_CONFIG#gpt-4\"},"
    "\"GSI3SK\":{\"S\":\"key-1\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
    "\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/ENTITY#key-1\"}}";

static const char  *resource_config_json =
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"},"
    "\"SK\":{\"S\":\"#CONFIG\"},\"resource\":{\"S\":\"gpt-4\"},"
    "\"config_version\":{\"N\":\"1\"},\"l_rpm_cp\":{\"N\":\"50\"},"
    "\"l_rpm_ra\":{\"N\":\"50\"},\"l_rpm_rp\":{\"N\":\"60\"},"
    "\"l_tpm_cp\":{\"N\":\"8000\"},\"l_tpm_ra\":{\"N\":\"5000\"},"
    "\"l_tpm_rp\":{\"N\":\"60\"},\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
    "\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/RESOURCE#gpt-4\"}}";

static const char  *system_config_json =
    "{\"PK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"},\"SK\":{\"S\":\"#CONFIG\"},"
    "\"config_version\":{\"N\":\"1\"},\"on_unavailable\":{\"S\":\"block\"},"
    "\"l_rpm_cp\":{\"N\":\"100\"},\"l_rpm_ra\":{\"N\":\"100\"},"
    "\"l_rpm_rp\":{\"N\":\"60\"},\"l_tpm_cp\":{\"N\":\"10000\"},"
    "\"l_tpm_ra\":{\"N\":\"10000\"},\"l_tpm_rp\":{\"N\":\"60\"},"
    "\"GSI4PK\":{\"S\":\"szXjZ6M1yVc\"},"
    "\"GSI4SK\":{\"S\":\"szXjZ6M1yVc/SYSTEM#\"}}";


static zae_av_t *
parse_item(const char *json)
{
    zae_av_t   *item;
    zae_err_t   err;

    err.msg[0] = '\0';

    if (zae_item_parse(&mem, (const u_char *) json, strlen(json), &item,
                       &err)
        != ZAE_OK)
    {
        printf("# parse: %s\n", err.msg);
        return NULL;
    }

    return item;
}


static int
str_is(zae_str_t *s, const char *want)
{
    return s->len == strlen(want) && memcmp(s->data, want, s->len) == 0;
}


static char *
cstr(zae_str_t *s)
{
    char        *p;
    static int   i;
    static char  buf[4][512];

    p = buf[i++ & 3];
    snprintf(p, 512, "%.*s", (int) s->len, s->data ? (char *) s->data : "");

    return p;
}


static char *
encode(zae_av_t *item)
{
    zae_buf_t  b;

    zae_buf_init(&b, &mem, 0);

    if (item == NULL || zae_item_encode(&b, item) != ZAE_OK) {
        return "(encode failed)";
    }

    return (char *) b.data;
}


/* every attribute of want is in got with the same value, and vice versa */

static void
same_item(zae_av_t *got, zae_av_t *want, const char *what)
{
    size_t     i;
    zae_av_t  *v;

    if (got == NULL || want == NULL) {
        ok(0, "%s: items exist", what);
        return;
    }

    is_int(got->nattrs, want->nattrs, "%s: attribute count", what);

    for (i = 0; i < want->nattrs; i++) {
        v = zae_av_get(got, want->attrs[i].name.data, want->attrs[i].name.len);

        if (v == NULL || !zae_av_equal(v, want->attrs[i].value)) {
            ok(0, "%s: attribute %s", what, cstr(&want->attrs[i].name));
        }
    }

    ok(zae_av_equal(got, want), "%s: equal trees", what);
}


static void
test_keys(void)
{
    zae_av_t   *item;
    zae_str_t   ns = zae_string(NS);
    zae_str_t   e = zae_string("key-1");
    zae_str_t   r = zae_string("gpt-4");
    zae_str_t   p = zae_string("proj-1");
    zae_str_t   ws = zae_string("2026-11-23T14:00:00Z");
    zae_str_t   solo = zae_string("solo");
    zae_str_t   api = zae_string("api");
    zae_str_t   sys = zae_string("$SYSTEM");
    zae_str_t   ulid = zae_string("01KABCDEFGHJKMNPQRSTVWXYZ0");
    zae_str_t   name = zae_string("default");
    zae_str_t   slash = zae_string("openai/gpt-4");
    zae_keys_t  k;

    ok(zae_keys_bucket(&mem, &k, &ns, &e, &r, 0) == ZAE_OK, "bucket keys");
    is_str(cstr(&k.pk), NS "/BUCKET#key-1#gpt-4#0", "bucket PK");
    is_str(cstr(&k.sk), "#STATE", "bucket SK");
    ok(k.gsi1pk.len == 0 && k.gsi1sk.len == 0, "bucket: no GSI1");
    is_str(cstr(&k.gsi2pk), NS "/RESOURCE#gpt-4", "bucket GSI2PK");
    is_str(cstr(&k.gsi2sk), "BUCKET#key-1#0", "bucket GSI2SK");
    is_str(cstr(&k.gsi3pk), NS "/ENTITY#key-1", "bucket GSI3PK");
    is_str(cstr(&k.gsi3sk), "BUCKET#gpt-4#0", "bucket GSI3SK");
    is_str(cstr(&k.gsi4pk), NS, "bucket GSI4PK");
    is_str(cstr(&k.gsi4sk), "BUCKET#key-1#gpt-4#0",
           "bucket GSI4SK has no ns prefix");

    ok(zae_keys_bucket(&mem, &k, &ns, &e, &slash, 17) == ZAE_OK,
       "bucket keys, shard 17");
    is_str(cstr(&k.pk), NS "/BUCKET#key-1#openai/gpt-4#17", "shard 17 PK");
    is_str(cstr(&k.gsi2sk), "BUCKET#key-1#17", "shard 17 GSI2SK");
    is_str(cstr(&k.gsi3sk), "BUCKET#openai/gpt-4#17", "shard 17 GSI3SK");

    ok(zae_keys_entity_meta(&mem, &k, &ns, &e, &p) == ZAE_OK, "meta keys");
    is_str(cstr(&k.pk), NS "/ENTITY#key-1", "meta PK");
    is_str(cstr(&k.sk), "#META", "meta SK");
    is_str(cstr(&k.gsi1pk), NS "/PARENT#proj-1", "meta GSI1PK");
    is_str(cstr(&k.gsi1sk), "CHILD#key-1", "meta GSI1SK");
    is_str(cstr(&k.gsi4pk), NS, "meta GSI4PK");
    is_str(cstr(&k.gsi4sk), NS "/ENTITY#key-1", "meta GSI4SK");

    ok(zae_keys_entity_meta(&mem, &k, &ns, &p, NULL) == ZAE_OK,
       "root meta keys");
    ok(k.gsi1pk.len == 0 && k.gsi1sk.len == 0, "root meta: no GSI1");

    ok(zae_keys_entity_config(&mem, &k, &ns, &e, &r) == ZAE_OK,
       "entity config keys");
    is_str(cstr(&k.pk), NS "/ENTITY#key-1", "entity config PK");
    is_str(cstr(&k.sk), "#CONFIG#gpt-4", "entity config SK");
    is_str(cstr(&k.gsi3pk), NS "/ENTITY_CONFIG#gpt-4",
           "entity config GSI3PK");
    is_str(cstr(&k.gsi3sk), "key-1", "entity config GSI3SK");
    is_str(cstr(&k.gsi4sk), NS "/ENTITY#key-1", "entity config GSI4SK");

    ok(zae_keys_entity_usage(&mem, &k, &ns, &solo, &api, &ws) == ZAE_OK,
       "usage keys");
    is_str(cstr(&k.pk), NS "/ENTITY#solo", "usage PK");
    is_str(cstr(&k.sk), "#USAGE#api#2026-11-23T14:00:00Z", "usage SK");
    is_str(cstr(&k.gsi2pk), NS "/RESOURCE#api", "usage GSI2PK");
    is_str(cstr(&k.gsi2sk), "USAGE#2026-11-23T14:00:00Z#solo",
           "usage GSI2SK");
    is_str(cstr(&k.gsi4sk), NS "/ENTITY#solo", "usage GSI4SK");

    ok(zae_keys_resource_config(&mem, &k, &ns, &r) == ZAE_OK,
       "resource config keys");
    is_str(cstr(&k.pk), NS "/RESOURCE#gpt-4", "resource config PK");
    is_str(cstr(&k.sk), "#CONFIG", "resource config SK");
    is_str(cstr(&k.gsi4sk), NS "/RESOURCE#gpt-4", "resource config GSI4SK");

    ok(zae_keys_system(&mem, &k, &ns, ZAE_SYSTEM_CONFIG) == ZAE_OK,
       "system config keys");
    is_str(cstr(&k.pk), NS "/SYSTEM#", "system PK");
    is_str(cstr(&k.sk), "#CONFIG", "system config SK");
    is_str(cstr(&k.gsi4sk), NS "/SYSTEM#", "system GSI4SK");

    (void) zae_keys_system(&mem, &k, &ns, ZAE_SYSTEM_RESOURCES);
    is_str(cstr(&k.sk), "#RESOURCES", "resource registry SK");
    (void) zae_keys_system(&mem, &k, &ns, ZAE_SYSTEM_ENTITY_CONFIG_RESOURCES);
    is_str(cstr(&k.sk), "#ENTITY_CONFIG_RESOURCES",
           "entity config registry SK");
    (void) zae_keys_system(&mem, &k, &ns, ZAE_SYSTEM_PROVISIONER);
    is_str(cstr(&k.sk), "#PROVISIONER", "provisioner SK");
    is_str(cstr(&k.gsi4pk), NS, "provisioner GSI4PK");
    ok(k.gsi4sk.len == 0, "provisioner has no GSI4SK");
    ok(zae_keys_system(&mem, &k, &ns, (zae_system_record_e) 9) == ZAE_ERROR,
       "unknown system record refused");

    ok(zae_keys_audit(&mem, &k, &ns, &sys, &ulid) == ZAE_OK, "audit keys");
    is_str(cstr(&k.pk), NS "/AUDIT#$SYSTEM", "audit PK");
    is_str(cstr(&k.sk), "#AUDIT#01KABCDEFGHJKMNPQRSTVWXYZ0", "audit SK");
    is_str(cstr(&k.gsi4sk), NS "/AUDIT#$SYSTEM", "audit GSI4SK");

    ok(zae_keys_version(&mem, &k) == ZAE_OK, "version keys");
    is_str(cstr(&k.pk), "_/SYSTEM#", "version PK");
    is_str(cstr(&k.sk), "#VERSION", "version SK");
    is_str(cstr(&k.gsi4pk), "_", "version GSI4PK");
    is_str(cstr(&k.gsi4sk), "_/SYSTEM#", "version GSI4SK");

    (void) zae_keys_namespace(&mem, &k, &name);
    is_str(cstr(&k.sk), "#NAMESPACE#default", "namespace forward SK");
    (void) zae_keys_nsid(&mem, &k, &ns);
    is_str(cstr(&k.sk), "#NSID#" NS, "namespace reverse SK");
    is_str(cstr(&k.gsi4sk), "_/SYSTEM#", "namespace reverse GSI4SK");

    item = zae_av_map(&mem);
    (void) zae_keys_entity_meta(&mem, &k, &ns, &e, &p);
    ok(zae_keys_to_item(&mem, item, &k) == ZAE_OK, "keys to item");
    is_str(encode(item),
           "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},\"SK\":{\"S\":\"#META\"},"
           "\"GSI1PK\":{\"S\":\"" NS "/PARENT#proj-1\"},"
           "\"GSI1SK\":{\"S\":\"CHILD#key-1\"},\"GSI4PK\":{\"S\":\"" NS "\"},"
           "\"GSI4SK\":{\"S\":\"" NS "/ENTITY#key-1\"}}",
           "every non-empty key, in order");

    (void) zae_keys_bucket(&mem, &k, &ns, &e, &r, 0);
    is_str(encode(zae_keys_key(&mem, &k)),
           "{\"PK\":{\"S\":\"" NS "/BUCKET#key-1#gpt-4#0\"},"
           "\"SK\":{\"S\":\"#STATE\"}}", "Key map of a bucket");
}


/* one query: its hash and range attributes, key and sort-key prefix */

static void
query_is(zae_query_e which, zae_str_t *id, zae_str_t *sub, const char *hash,
    const char *range, const char *key, const char *prefix, const char *what)
{
    zae_str_t        ns = zae_string(NS);
    zae_query_key_t  q;

    ok(zae_query_key(&mem, &q, which, &ns, id, sub) == ZAE_OK,
       "%s: built", what);
    is_str(q.hash, hash, "%s: hash attribute", what);
    is_str(q.range ? q.range : "(none)", range, "%s: range attribute",
           what);
    is_str(cstr(&q.key), key, "%s: key", what);
    is_str(cstr(&q.prefix), prefix, "%s: sort-key prefix", what);
}


static int
same(zae_str_t *a, zae_str_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}


/* a query's prefix begins the sort key it is to find */

static int
has_prefix(zae_str_t *s, zae_str_t *prefix)
{
    return s->len >= prefix->len
           && memcmp(s->data, prefix->data, prefix->len) == 0;
}


static void
test_query_keys(void)
{
    zae_str_t        ns = zae_string(NS);
    zae_str_t        e = zae_string("key-1");
    zae_str_t        r = zae_string("gpt-4");
    zae_str_t        p = zae_string("proj-1");
    zae_str_t        ws = zae_string("2026-11-23T14:00:00Z");
    zae_str_t        ulid = zae_string("01KABCDEFGHJKMNPQRSTVWXYZ0");
    zae_str_t        shard = zae_string("shardId-000000000001");
    zae_str_t        empty = zae_null_string;
    zae_keys_t       k;
    zae_query_key_t  q;

    query_is(ZAE_QUERY_ENTITY_ITEMS, &e, NULL, "PK", "(none)",
             NS "/ENTITY#key-1", "", "entity items");
    query_is(ZAE_QUERY_ENTITY_CONFIGS, &e, NULL, "PK", "SK",
             NS "/ENTITY#key-1", "#CONFIG#", "entity configs");
    query_is(ZAE_QUERY_ENTITY_USAGE, &e, NULL, "PK", "SK",
             NS "/ENTITY#key-1", "#USAGE#", "entity usage");
    query_is(ZAE_QUERY_ENTITY_USAGE, &e, &empty, "PK", "SK",
             NS "/ENTITY#key-1", "#USAGE#", "entity usage, empty resource");
    query_is(ZAE_QUERY_ENTITY_USAGE, &e, &r, "PK", "SK",
             NS "/ENTITY#key-1", "#USAGE#gpt-4#", "entity usage of gpt-4");
    query_is(ZAE_QUERY_ENTITY_BUCKETS, &e, NULL, "GSI3PK", "GSI3SK",
             NS "/ENTITY#key-1", "BUCKET#", "entity buckets");
    query_is(ZAE_QUERY_CHILDREN, &p, NULL, "GSI1PK", "(none)",
             NS "/PARENT#proj-1", "", "children");
    query_is(ZAE_QUERY_RESOURCE_ENTITIES, &r, NULL, "GSI3PK", "(none)",
             NS "/ENTITY_CONFIG#gpt-4", "", "entities with configs");
    query_is(ZAE_QUERY_RESOURCE_USAGE, &r, NULL, "GSI2PK", "GSI2SK",
             NS "/RESOURCE#gpt-4", "USAGE#", "resource usage");
    query_is(ZAE_QUERY_AUDIT, &e, NULL, "PK", "SK", NS "/AUDIT#key-1",
             "#AUDIT#", "audit");
    query_is(ZAE_QUERY_NS_ITEMS, NULL, NULL, "GSI4PK", "(none)", NS, "",
             "namespace items");
    query_is(ZAE_QUERY_NAMESPACES, NULL, NULL, "PK", "SK", "_/SYSTEM#",
             "#NAMESPACE#", "namespaces");
    query_is(ZAE_QUERY_NSIDS, NULL, NULL, "PK", "SK", "_/SYSTEM#", "#NSID#",
             "namespace ids");

    ok(zae_query_key(&mem, &q, (zae_query_e) 99, &ns, &e, NULL)
       == ZAE_ERROR, "unknown query refused");

    /* each query finds the records the key builders write */

    (void) zae_keys_entity_config(&mem, &k, &ns, &e, &r);
    (void) zae_query_key(&mem, &q, ZAE_QUERY_ENTITY_CONFIGS, &ns, &e, NULL);
    ok(same(&q.key, &k.pk) && has_prefix(&k.sk, &q.prefix),
       "entity configs query finds an entity config");
    (void) zae_query_key(&mem, &q, ZAE_QUERY_RESOURCE_ENTITIES, &ns, &r,
                         NULL);
    ok(same(&q.key, &k.gsi3pk),
       "entities-with-configs query finds it on GSI3");

    (void) zae_keys_entity_usage(&mem, &k, &ns, &e, &r, &ws);
    (void) zae_query_key(&mem, &q, ZAE_QUERY_ENTITY_USAGE, &ns, &e, &r);
    ok(same(&q.key, &k.pk) && has_prefix(&k.sk, &q.prefix),
       "entity usage query finds a snapshot");
    (void) zae_query_key(&mem, &q, ZAE_QUERY_RESOURCE_USAGE, &ns, &r, NULL);
    ok(same(&q.key, &k.gsi2pk) && has_prefix(&k.gsi2sk, &q.prefix),
       "resource usage query finds it on GSI2");

    (void) zae_keys_bucket(&mem, &k, &ns, &e, &r, 3);
    (void) zae_query_key(&mem, &q, ZAE_QUERY_ENTITY_BUCKETS, &ns, &e, NULL);
    ok(same(&q.key, &k.gsi3pk) && has_prefix(&k.gsi3sk, &q.prefix),
       "entity buckets query finds a bucket on GSI3");
    (void) zae_query_key(&mem, &q, ZAE_QUERY_NS_ITEMS, &ns, NULL, NULL);
    ok(same(&q.key, &k.gsi4pk), "namespace query finds it on GSI4");

    (void) zae_keys_entity_meta(&mem, &k, &ns, &e, &p);
    (void) zae_query_key(&mem, &q, ZAE_QUERY_CHILDREN, &ns, &p, NULL);
    ok(same(&q.key, &k.gsi1pk), "children query finds a child");

    (void) zae_keys_audit(&mem, &k, &ns, &e, &ulid);
    (void) zae_query_key(&mem, &q, ZAE_QUERY_AUDIT, &ns, &e, NULL);
    ok(same(&q.key, &k.pk) && has_prefix(&k.sk, &q.prefix),
       "audit query finds an event");

    ok(zae_keys_aggregator(&mem, &k, &shard) == ZAE_OK,
       "aggregator checkpoint keys");
    is_str(cstr(&k.pk), "_/SYSTEM#", "aggregator PK");
    is_str(cstr(&k.sk), "#AGGREGATOR#shardId-000000000001", "aggregator SK");
    ok(k.gsi4pk.len == 0 && k.gsi4sk.len == 0,
       "aggregator checkpoint is in no index");
}


/* the parsers give back what the builders took, and refuse the rest */

static zae_str_t
cs(const char *s)
{
    zae_str_t  r;

    r.data = (u_char *) s;
    r.len = strlen(s);

    return r;
}


static void
test_key_parsers(void)
{
    size_t       i;
    int64_t      shard;
    zae_str_t    ns = zae_string(NS);
    zae_str_t    other = zae_string("otherNs0001");
    zae_str_t    e = zae_string("key-1");
    zae_str_t    r = zae_string("openai/gpt-4");
    zae_str_t    id = zae_string("shardId-000000000001");
    zae_str_t    gns, ge, gr, gid;
    zae_keys_t   k, bad;

    static const char  *bad_bucket[] = {
        "",                                        /* empty */
        NS "/BUCKET#key-1#gpt-4#",                 /* truncated: shard */
        NS "/BUCKET#key-1#gpt-4",                  /* truncated: no shard */
        NS "/BUCKET#key-1",                        /* truncated: no R */
        NS "/BUCKET#",                             /* truncated: no E */
        NS "/BUCKET",                              /* truncated prefix */
        NS "/ENTITY#key-1",                        /* wrong prefix */
        NS "/BUCKET##gpt-4#0",                     /* empty E */
        NS "/BUCKET#key-1##0",                     /* empty R */
        NS "/BUCKET#key-1#gpt-4#0x",               /* shard not a number */
        NS "/BUCKET#key-1#gpt-4#99999999999",      /* shard out of range */
        "/BUCKET#key-1#gpt-4#0",                   /* no namespace */
        NS "BUCKET#key-1#gpt-4#0"                  /* no '/' */
    };

    /* a bucket PK, any namespace */

    (void) zae_keys_bucket(&mem, &k, &ns, &e, &r, 12);
    ok(zae_keys_parse_bucket_pk(&k.pk, &gns, &ge, &gr, &shard) == ZAE_OK
       && same(&gns, &ns) && same(&ge, &e) && same(&gr, &r) && shard == 12,
       "bucket PK parsed back: namespace, entity, resource, shard");

    (void) zae_keys_bucket(&mem, &k, &other, &e, &r, 0);
    ok(zae_keys_parse_bucket_pk(&k.pk, &gns, &ge, &gr, &shard) == ZAE_OK
       && same(&gns, &other) && shard == 0,
       "bucket PK of another namespace gives that namespace");

    for (i = 0; i < sizeof(bad_bucket) / sizeof(bad_bucket[0]); i++) {
        bad.pk = cs(bad_bucket[i]);
        ok(zae_keys_parse_bucket_pk(&bad.pk, &gns, &ge, &gr, &shard)
           == ZAE_ERROR, "bad bucket PK refused: \"%s\"", bad_bucket[i]);
    }

    /* an entity config: PK and SK in the expected namespace */

    (void) zae_keys_entity_config(&mem, &k, &ns, &e, &r);
    ok(zae_keys_parse_entity_config(&k, &ns, &ge, &gr) == ZAE_OK
       && same(&ge, &e) && same(&gr, &r),
       "entity config keys parsed back: entity, resource");
    ok(zae_keys_parse_entity_pk(&k.pk, &ns, &ge) == ZAE_OK && same(&ge, &e),
       "entity PK parsed back");
    ok(zae_keys_parse_entity_config(&k, &other, &ge, &gr) == ZAE_ERROR,
       "entity config of another namespace refused");
    ok(zae_keys_parse_entity_pk(&k.pk, &other, &ge) == ZAE_ERROR,
       "entity PK of another namespace refused");

    bad = k;
    bad.sk = cs("#CONFIG#");
    ok(zae_keys_parse_entity_config(&bad, &ns, &ge, &gr) == ZAE_ERROR,
       "entity config: truncated SK refused");
    bad.sk = cs("#CONFIG");
    ok(zae_keys_parse_entity_config(&bad, &ns, &ge, &gr) == ZAE_ERROR,
       "entity config: resource config SK refused");
    bad.sk = cs("#USAGE#gpt-4#2026-11-23T14:00:00Z");
    ok(zae_keys_parse_entity_config(&bad, &ns, &ge, &gr) == ZAE_ERROR,
       "entity config: wrong SK prefix refused");
    bad.sk = cs("#CONFIG#gpt-4#x");
    ok(zae_keys_parse_entity_config(&bad, &ns, &ge, &gr) == ZAE_ERROR,
       "entity config: a '#' in the resource refused");

    bad = k;
    bad.pk = cs(NS "/ENTITY#");
    ok(zae_keys_parse_entity_config(&bad, &ns, &ge, &gr) == ZAE_ERROR,
       "entity config: truncated PK refused");
    bad.pk = cs(NS "/RESOURCE#key-1");
    ok(zae_keys_parse_entity_config(&bad, &ns, &ge, &gr) == ZAE_ERROR,
       "entity config: wrong PK prefix refused");
    bad.pk = cs(NS);
    ok(zae_keys_parse_entity_pk(&bad.pk, &ns, &ge) == ZAE_ERROR,
       "entity PK: the namespace alone refused");

    /* the aggregator's checkpoint: system namespace only */

    (void) zae_keys_aggregator(&mem, &k, &id);
    ok(zae_keys_parse_aggregator(&k, &gid) == ZAE_OK && same(&gid, &id),
       "aggregator keys parsed back: shard id");

    bad = k;
    bad.pk = cs(NS "/SYSTEM#");
    ok(zae_keys_parse_aggregator(&bad, &gid) == ZAE_ERROR,
       "aggregator key of another namespace refused");
    bad.pk = cs("_/SYSTEM");
    ok(zae_keys_parse_aggregator(&bad, &gid) == ZAE_ERROR,
       "aggregator: truncated PK refused");
    bad = k;
    bad.sk = cs("#AGGREGATOR#");
    ok(zae_keys_parse_aggregator(&bad, &gid) == ZAE_ERROR,
       "aggregator: truncated SK refused");
    bad.sk = cs("#VERSION");
    ok(zae_keys_parse_aggregator(&bad, &gid) == ZAE_ERROR,
       "aggregator: wrong SK prefix refused");
}


/* a bucket limit at full capacity from a config limit: milli and ms */

static void
test_bucket_limit_from_limit(void)
{
    zae_limit_t         l;
    zae_bucket_limit_t  bl;

    l.name = (zae_str_t) zae_string("tpm");
    l.capacity = 150;
    l.refill_amount = 100;
    l.period = 60;

    memset(&bl, 0x5a, sizeof(zae_bucket_limit_t));
    zae_bucket_limit_from_limit(&bl, &l);

    is_str(cstr(&bl.name), "tpm", "full bucket limit: name");
    is_int(bl.cp, 150000, "full bucket limit: capacity in milli");
    is_int(bl.ra, 100000, "full bucket limit: refill in milli");
    is_int(bl.rp, 60000, "full bucket limit: period in ms");
    is_int(bl.tk, 150000, "full bucket limit: tokens at capacity");
    is_int(bl.tc, 0, "full bucket limit: nothing consumed");
}


static void
test_bucket(void)
{
    zae_av_t            *item, *enc, *parent;
    zae_str_t            ns = zae_string(NS);
    zae_err_t            err;
    zae_bucket_item_t    b, b2;
    zae_bucket_limit_t  *bl;

    item = parse_item(bucket_json);
    ok(item != NULL, "example bucket parses");

    err.msg[0] = '\0';
    ok(zae_bucket_item_decode(&mem, item, &b, &err) == ZAE_OK,
       "bucket decodes %s", err.msg);
    is_str(cstr(&b.entity_id), "key-1", "bucket entity_id");
    is_str(cstr(&b.resource), "gpt-4", "bucket resource");
    is_str(cstr(&b.parent_id), "proj-1", "bucket parent_id");
    is_int(b.rf, 1795444651132LL, "bucket rf");
    is_int(b.shard_count, 1, "bucket shard_count");
    ok(b.cascade == 1, "bucket cascade");
    ok(b.has_ttl == 0, "bucket without ttl");
    is_int(b.nlimits, 2, "two user limits (wcu kept apart)");
    is_str(cstr(&b.limits[0].name), "rpm", "first limit rpm (item order)");
    is_int(b.limits[0].tk, 18000, "rpm tk");
    is_int(b.limits[0].cp, 20000, "rpm cp");
    is_int(b.limits[0].ra, 20000, "rpm ra");
    is_int(b.limits[0].rp, 60000, "rpm rp");
    is_int(b.limits[0].tc, 2000, "rpm tc");
    is_str(cstr(&b.limits[1].name), "tpm", "second limit tpm");
    is_int(b.limits[1].tk, 2750000, "tpm tk");
    is_int(b.limits[1].cp, 3000000, "tpm cp");
    is_int(b.limits[1].ra, 3000000, "tpm ra");
    is_int(b.limits[1].rp, 3600000, "tpm rp");
    is_int(b.limits[1].tc, 250000, "tpm tc");
    ok(b.has_wcu, "hidden wcu found");
    is_int(b.wcu.tk, 999000, "wcu tk");
    is_int(b.wcu.cp, 1000000, "wcu cp");
    is_int(b.wcu.ra, 1000000, "wcu ra");
    is_int(b.wcu.rp, 1000, "wcu rp");
    is_int(b.wcu.tc, 1000, "wcu tc");

    bl = zae_bucket_item_limit(&b, (u_char *) "tpm", 3);
    ok(bl == &b.limits[1], "find tpm");
    ok(zae_bucket_item_limit(&b, (u_char *) "wcu", 3) == &b.wcu, "find wcu");
    ok(zae_bucket_item_limit(&b, (u_char *) "rph", 3) == NULL,
       "absent limit not found");

    enc = zae_bucket_item_encode(&mem, &ns, &b, 0);
    same_item(enc, item, "bucket round trip");
    is_str(encode(enc), bucket_json, "bucket encodes byte for byte");

    ok(zae_bucket_item_decode(&mem, enc, &b2, &err) == ZAE_OK
       && b2.nlimits == 2 && b2.limits[1].tc == 250000
       && b2.wcu.tk == 999000, "re-encoded bucket decodes the same");

    /* a parent bucket on defaults: no cascade, no parent_id, a ttl */

    parent = parse_item(
        "{\"entity_id\":{\"S\":\"proj-1\"},\"resource\":{\"S\":\"gpt-4\"},"
        "\"rf\":{\"N\":\"5\"},\"cascade\":{\"BOOL\":false},"
        "\"ttl\":{\"N\":\"1795445323\"},\"b_x.y-z_tk\":{\"N\":\"-2500\"},"
        "\"b_x.y-z_cp\":{\"N\":\"5000\"}}");
    ok(zae_bucket_item_decode(&mem, parent, &b2, &err) == ZAE_OK,
       "parent bucket decodes");
    ok(b2.has_ttl && b2.ttl == 1795445323LL, "parent ttl");
    ok(b2.cascade == 0 && b2.parent_id.len == 0, "parent: no cascade");
    is_int(b2.shard_count, 1, "absent shard_count reads as 1");
    ok(b2.has_wcu == 0, "no wcu");
    is_int(b2.nlimits, 1, "one limit");
    is_str(cstr(&b2.limits[0].name), "x.y-z", "limit name with - and .");
    is_int(b2.limits[0].tk, -2500, "negative tk");
    is_int(b2.limits[0].ra, 0, "missing field reads as 0");

    b2.shard_count = 1;
    b2.nlimits = 1;
    enc = zae_bucket_item_encode(&mem, &ns, &b2, 3);
    ok(enc && zae_item_get(enc, "parent_id") == NULL, "no parent_id written");
    ok(enc && zae_item_get(enc, "ttl") != NULL, "ttl written");
    ok(enc && zae_item_get(enc, "b_wcu_tk") != NULL
       && zae_av_equal(zae_item_get(enc, "b_wcu_tk"),
                       zae_item_get(item, "b_wcu_cp")),
       "wcu injected at full value");

    /* bad items */

    ok(zae_bucket_item_decode(&mem, parse_item(
        "{\"b_a_tk\":{\"S\":\"1\"}}"), &b2, &err) == ZAE_ERROR,
       "string tk refused: %s", err.msg);
    ok(zae_bucket_item_decode(&mem, parse_item(
        "{\"b_a_tk\":{\"N\":\"1.5\"}}"), &b2, &err) == ZAE_ERROR,
       "fractional tk refused: %s", err.msg);
    ok(zae_bucket_item_decode(&mem, parse_item(
        "{\"rf\":{\"S\":\"x\"}}"), &b2, &err) == ZAE_ERROR,
       "string rf refused");
    ok(zae_bucket_item_decode(&mem, parse_item(
        "{\"cascade\":{\"N\":\"1\"}}"), &b2, &err) == ZAE_ERROR,
       "numeric cascade refused");
    ok(zae_bucket_item_decode(&mem, parse_item(
        "{\"b__tk\":{\"N\":\"1\"},\"b_tk\":{\"N\":\"1\"}}"), &b2, &err)
       == ZAE_OK && b2.nlimits == 0,
       "b__tk and b_tk are not limits");
    ok(zae_bucket_item_decode(&mem, parse_item(
        "{\"b_x\\r\\nX-Evil: a_tk\":{\"N\":\"1\"},"
        "\"b_x\\r\\nX-Evil: a_cp\":{\"N\":\"1\"},"
        "\"b_x y_tk\":{\"N\":\"1\"},"
        "\"b_rpm_tk\":{\"N\":\"1\"}}"), &b2, &err)
       == ZAE_OK && b2.nlimits == 1 && b2.bad_names == 2
       && b2.bad_name.len == 12
       && memcmp(b2.limits[0].name.data, "rpm", 3) == 0,
       "invalid limit names skipped and counted, the valid one kept");
    ok(zae_bucket_item_decode(&mem, NULL, &b2, &err) == ZAE_ERROR,
       "NULL item refused");
}


/* the b_{L}_{xx} classification both bucket decoders use */

static int
attr_field(const char *attr, const char *want_name)
{
    int        f;
    zae_str_t  name;

    f = zae_bucket_attr_field((const u_char *) attr, strlen(attr), &name);

    if (f != ZAE_DECLINED
        && (name.len != strlen(want_name)
            || memcmp(name.data, want_name, name.len) != 0))
    {
        return -100;
    }

    return f;
}


static void
test_bucket_attr_field(void)
{
    is_int(attr_field("b_rpm_tk", "rpm"), ZAE_BUCKET_TK, "b_rpm_tk");
    is_int(attr_field("b_rpm_cp", "rpm"), ZAE_BUCKET_CP, "b_rpm_cp");
    is_int(attr_field("b_rpm_ra", "rpm"), ZAE_BUCKET_RA, "b_rpm_ra");
    is_int(attr_field("b_rpm_rp", "rpm"), ZAE_BUCKET_RP, "b_rpm_rp");
    is_int(attr_field("b_rpm_tc", "rpm"), ZAE_BUCKET_TC, "b_rpm_tc");
    is_int(attr_field("b_wcu_tk", "wcu"), ZAE_BUCKET_TK, "b_wcu_tk");
    is_int(attr_field("b_a_tk_cp", "a_tk"), ZAE_BUCKET_CP,
           "the name is up to the last suffix");
    is_int(attr_field("b_x_tk", "x"), ZAE_BUCKET_TK, "one-byte name");
    is_int(attr_field("b__tk", ""), ZAE_DECLINED, "empty name");
    is_int(attr_field("b_rpm_xx", ""), ZAE_DECLINED, "other suffix");
    is_int(attr_field("l_rpm_cp", ""), ZAE_DECLINED, "config attribute");
    is_int(attr_field("rf", ""), ZAE_DECLINED, "rf");
    is_int(attr_field("b_x\r\nSet-Cookie: a_tk", "x\r\nSet-Cookie: a"),
           ZAE_BUCKET_BAD_TK, "CR LF in a name: bad, _tk");
    is_int(attr_field("b_x y_cp", "x y"), ZAE_BUCKET_BAD,
           "space in a name: bad, other field");
    is_int(attr_field("b_1rpm_tk", "1rpm"), ZAE_BUCKET_BAD_TK,
           "a name starting with a digit: bad");
    is_int(attr_field("b_rpmtk", ""), ZAE_DECLINED, "no underscore");
}


static void
test_meta(void)
{
    zae_av_t           *item, *enc;
    zae_str_t           ns = zae_string(NS);
    zae_err_t           err;
    zae_entity_meta_t   m;

    item = parse_item(meta_json);
    ok(zae_entity_meta_decode(&mem, item, &m, &err) == ZAE_OK,
       "meta decodes");
    is_str(cstr(&m.entity_id), "key-1", "meta entity_id");
    is_str(cstr(&m.name), "key-1", "meta name");
    is_str(cstr(&m.parent_id), "proj-1", "meta parent_id");
    ok(m.cascade == 1, "meta cascade");
    is_str(cstr(&m.created_at), "2026-11-23T14:37:30Z", "meta created_at");
    ok(m.metadata && m.metadata->nattrs == 1, "meta metadata");

    enc = zae_entity_meta_encode(&mem, &ns, &m);
    same_item(enc, item, "child meta round trip");
    is_str(encode(enc), meta_json, "child meta encodes byte for byte");

    item = parse_item(root_meta_json);
    ok(zae_entity_meta_decode(&mem, item, &m, &err) == ZAE_OK,
       "root meta decodes");
    ok(m.parent_id.len == 0 && m.cascade == 0, "root: NULL parent");

    m.name.len = 0;
    m.metadata = NULL;
    enc = zae_entity_meta_encode(&mem, &ns, &m);
    same_item(enc, item, "root meta (name defaults to id, empty metadata)");
}


static void
test_config(void)
{
    zae_av_t           *item, *enc;
    zae_str_t           ns = zae_string(NS);
    zae_str_t           e = zae_string("key-1");
    zae_str_t           r = zae_string("gpt-4");
    zae_str_t           block = zae_string("block");
    zae_err_t           err;
    zae_config_item_t   c;

    item = parse_item(entity_config_json);
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_OK,
       "entity config decodes");
    is_str(cstr(&c.entity_id), "key-1", "entity config entity_id");
    is_str(cstr(&c.resource), "gpt-4", "entity config resource");
    is_int(c.config_version, 1, "config_version");
    is_int(c.limits.nelts, 2, "two limits");
    is_str(cstr(&c.limits.elts[0].name), "rpm", "limit 0 rpm");
    is_int(c.limits.elts[0].capacity, 20, "rpm capacity (tokens)");
    is_int(c.limits.elts[0].refill_amount, 20, "rpm refill_amount");
    is_int(c.limits.elts[0].period, 60, "rpm period (seconds)");
    is_str(cstr(&c.limits.elts[1].name), "tpm", "limit 1 tpm");
    is_int(c.limits.elts[1].capacity, 3000, "tpm capacity");
    is_int(c.limits.elts[1].period, 3600, "tpm period");

    enc = zae_entity_config_encode(&mem, &ns, &e, &r, &c.limits);
    same_item(enc, item, "entity config round trip");
    is_str(encode(enc), entity_config_json,
           "entity config encodes byte for byte");

    item = parse_item(resource_config_json);
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_OK,
       "resource config decodes");
    is_int(c.limits.elts[1].capacity, 8000, "tpm burst capacity");
    is_int(c.limits.elts[1].refill_amount, 5000, "tpm refill_amount");
    ok(c.entity_id.len == 0, "resource config: no entity_id");
    enc = zae_resource_config_encode(&mem, &ns, &r, &c.limits);
    same_item(enc, item, "resource config round trip");
    is_str(encode(enc), resource_config_json,
           "resource config encodes byte for byte");

    item = parse_item(system_config_json);
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_OK,
       "system config decodes");
    is_str(cstr(&c.on_unavailable), "block", "on_unavailable");
    is_int(c.limits.elts[0].capacity, 100, "system rpm");
    enc = zae_system_config_encode(&mem, &ns, &c.limits, &block);
    same_item(enc, item, "system config round trip");
    is_str(encode(enc), system_config_json,
           "system config encodes byte for byte");

    enc = zae_system_config_encode(&mem, &ns, &c.limits, NULL);
    ok(enc && zae_item_get(enc, "on_unavailable") == NULL,
       "on_unavailable omitted");

    item = parse_item("{\"audit_retention_days\":{\"N\":\"30\"}}");
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_OK
       && c.audit_retention_days == 30 && c.limits.nelts == 0
       && c.config_version == 0,
       "provisioner-style item without config_version, no limits");

    item = parse_item("{\"l_a_cp\":{\"N\":\"0\"},\"l_a_ra\":{\"N\":\"1\"},"
                      "\"l_a_rp\":{\"N\":\"1\"}}");
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_ERROR,
       "zero capacity refused: %s", err.msg);

    item = parse_item("{\"l_wcu_cp\":{\"N\":\"1\"},\"l_wcu_ra\":{\"N\":\"1\"},"
                      "\"l_wcu_rp\":{\"N\":\"1\"}}");
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_ERROR,
       "wcu as config limit refused: %s", err.msg);

    item = parse_item("{\"l_a_cp\":{\"N\":\"1\"}}");
    ok(zae_config_item_decode(&mem, item, &c, &err) == ZAE_ERROR,
       "missing ra/rp read as 0 and refused: %s", err.msg);
}


static zae_config_item_t *
cfg_with(const char *limits)
{
    zae_err_t           err;
    zae_config_item_t  *c;

    c = zae_calloc(&mem, sizeof(zae_config_item_t));

    if (limits
        && zae_limits_parse(&c->limits, (const u_char *) limits,
                            strlen(limits), &err)
           != ZAE_OK)
    {
        printf("# %s\n", err.msg);
    }

    return c;
}


static void
test_resolve(void)
{
    zae_str_t             e = zae_string("key-1");
    zae_str_t             r = zae_string("gpt-4");
    zae_str_t             def = zae_string("_default_");
    zae_err_t             err;
    zae_level_e           src;
    zae_limits_t          inl;
    const zae_limits_t   *ls;
    zae_config_levels_t   lv;

    memset(&lv, 0, sizeof(lv));
    (void) zae_limits_parse(&inl, (const u_char *) "rpm:7", 5, &err);

    lv.level[ZAE_LEVEL_ENTITY] = cfg_with("rpm:1");
    lv.level[ZAE_LEVEL_ENTITY_DEFAULT] = cfg_with("rpm:2");
    lv.level[ZAE_LEVEL_RESOURCE] = cfg_with("rpm:3");
    lv.level[ZAE_LEVEL_SYSTEM] = cfg_with("rpm:4");

    ok(zae_resolve_limits(&lv, &e, &r, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_ENTITY && ls->elts[0].capacity == 1,
       "entity level first");
    is_str(zae_level_name(src), "entity", "source name entity");

    lv.level[ZAE_LEVEL_ENTITY] = cfg_with(NULL);
    ok(zae_resolve_limits(&lv, &e, &r, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_ENTITY_DEFAULT && ls->elts[0].capacity == 2,
       "empty entity config falls through to entity _default_");
    is_str(zae_level_name(src), "entity_default", "source entity_default");

    ok(zae_resolve_limits(&lv, &e, &def, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_RESOURCE && ls->elts[0].capacity == 3,
       "entity _default_ skipped when R is _default_");

    lv.level[ZAE_LEVEL_ENTITY] = NULL;
    lv.level[ZAE_LEVEL_ENTITY_DEFAULT] = NULL;
    ok(zae_resolve_limits(&lv, &e, &r, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_RESOURCE, "resource level");
    is_str(zae_level_name(src), "resource", "source resource");

    lv.level[ZAE_LEVEL_RESOURCE] = NULL;
    ok(zae_resolve_limits(&lv, &e, &r, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_SYSTEM && ls->elts[0].capacity == 4,
       "system level");
    is_str(zae_level_name(src), "system", "source system");

    lv.level[ZAE_LEVEL_SYSTEM] = NULL;
    ok(zae_resolve_limits(&lv, &e, &r, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_INLINE && ls == &inl,
       "inline limits are the last fallback");
    is_str(zae_level_name(src), "inline", "source inline");

    ok(zae_resolve_limits(&lv, &e, &r, NULL, &ls, &src, &err)
       == ZAE_DECLINED && ls == NULL && src == ZAE_LEVEL_NONE,
       "nothing anywhere is declined");
    is_str(err.msg, "no limits configured for entity \"key-1\" and "
           "resource \"gpt-4\"", "error message");

    ok(zae_resolve_limits(NULL, &e, &r, &inl, &ls, &src, &err) == ZAE_OK
       && src == ZAE_LEVEL_INLINE, "no levels at all: inline");
    is_str(zae_level_name((zae_level_e) 42), "none", "unknown level name");
}


static void
test_batch(void)
{
    char                 *body;
    unsigned              un;
    zae_buf_t             b;
    zae_str_t             t = zae_string("zae-limiter");
    zae_str_t             ns = zae_string(NS);
    zae_str_t             e = zae_string("key-1");
    zae_str_t             r = zae_string("gpt-4");
    zae_str_t             def = zae_string("_default_");
    zae_err_t             err;
    zae_config_levels_t   lv;

    zae_buf_init(&b, &mem, 0);
    ok(zae_config_batch_request(&b, &t, &ns, &e, &r, 0xf) == ZAE_OK,
       "config batch request");
    is_str(b.data,
        "{\"RequestItems\":{\"zae-limiter\":{\"Keys\":["
        "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},"
        "\"SK\":{\"S\":\"#CONFIG#gpt-4\"}},"
        "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},"
        "\"SK\":{\"S\":\"#CONFIG#_default_\"}},"
        "{\"PK\":{\"S\":\"" NS "/RESOURCE#gpt-4\"},"
        "\"SK\":{\"S\":\"#CONFIG\"}},"
        "{\"PK\":{\"S\":\"" NS "/SYSTEM#\"},\"SK\":{\"S\":\"#CONFIG\"}}"
        "]}}}", "config batch body, 4 levels");

    zae_buf_init(&b, &mem, 0);
    ok(zae_config_batch_request(&b, &t, &ns, &e, &def, 0xf) == ZAE_OK,
       "config batch request for _default_");
    is_str(b.data,
        "{\"RequestItems\":{\"zae-limiter\":{\"Keys\":["
        "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},"
        "\"SK\":{\"S\":\"#CONFIG#_default_\"}},"
        "{\"PK\":{\"S\":\"" NS "/RESOURCE#_default_\"},"
        "\"SK\":{\"S\":\"#CONFIG\"}},"
        "{\"PK\":{\"S\":\"" NS "/SYSTEM#\"},\"SK\":{\"S\":\"#CONFIG\"}}"
        "]}}}",
        "entity _default_ level not read twice");

    zae_buf_init(&b, &mem, 0);
    ok(zae_config_batch_request(&b, &t, &ns, &e, &def,
                                1 << ZAE_LEVEL_ENTITY_DEFAULT)
       == ZAE_ERROR, "nothing to read is an error");

    body = (char *) zae_alloc(&mem, 4096);
    snprintf(body, 4096,
             "{\"Responses\":{\"zae-limiter\":[%s,%s]},"
             "\"UnprocessedKeys\":{\"zae-limiter\":{\"Keys\":["
             "{\"PK\":{\"S\":\"" NS "/ENTITY#key-1\"},"
             "\"SK\":{\"S\":\"#CONFIG#_default_\"}}]}}}",
             system_config_json, resource_config_json);

    memset(&lv, 0xff, sizeof(lv));
    ok(zae_config_batch_decode(&mem, (u_char *) body, strlen(body), &t, &ns,
                               &e, &r, 0xf, &lv, &un, &err)
       == ZAE_OK, "config batch answer decodes %s", err.msg);
    ok(lv.level[ZAE_LEVEL_ENTITY] == NULL, "entity config missing: NULL");
    ok(lv.level[ZAE_LEVEL_ENTITY_DEFAULT] == NULL,
       "unprocessed entity default: NULL");
    ok(lv.level[ZAE_LEVEL_RESOURCE]
       && lv.level[ZAE_LEVEL_RESOURCE]->limits.elts[1].capacity == 8000,
       "resource level decoded (order in the answer does not matter)");
    ok(lv.level[ZAE_LEVEL_SYSTEM]
       && str_is(&lv.level[ZAE_LEVEL_SYSTEM]->on_unavailable, "block"),
       "system level decoded");
    is_int(un, 1 << ZAE_LEVEL_ENTITY_DEFAULT, "unprocessed mask");

    memset(&lv, 0, sizeof(lv));
    lv.level[ZAE_LEVEL_SYSTEM] = cfg_with("rpm:4");
    ok(zae_config_batch_decode(&mem, (u_char *) "{\"Responses\":{}}", 16, &t,
                               &ns, &e, &r, 1 << ZAE_LEVEL_ENTITY, &lv, &un,
                               &err)
       == ZAE_OK && lv.level[ZAE_LEVEL_SYSTEM] != NULL,
       "levels outside the mask are left alone");

    ok(zae_config_batch_decode(&mem, (u_char *) "{\"Responses\":", 13, &t,
                               &ns, &e, &r, 0xf, &lv, &un, &err)
       == ZAE_ERROR, "truncated answer refused");
    ok(zae_config_batch_decode(&mem, (u_char *) "[1]", 3, &t, &ns, &e, &r,
                               0xf, &lv, &un, &err)
       == ZAE_ERROR, "non-object answer refused");
    ok(zae_config_batch_decode(&mem,
            (u_char *) "{\"Responses\":{\"zae-limiter\":[{\"PK\":1}]}}", 40,
            &t, &ns, &e, &r, 0xf, &lv, &un, &err)
       == ZAE_ERROR, "bad item refused");
}


int
main(void)
{
    zae_arena_init(&arena, 0);
    mem = zae_arena_mem(&arena);

    test_keys();
    test_key_parsers();
    test_query_keys();
    test_bucket_limit_from_limit();
    test_bucket();
    test_bucket_attr_field();
    test_meta();
    test_config();
    test_resolve();
    test_batch();

    zae_arena_free(&arena);

    return tap_done();
}
