
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin stack commands: deploy (CreateTable as zae-limiter creates
 * it, TTL, version record, default namespace), status, delete, version
 * and check.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zae_admin.h"


/*
 * The wire format this client speaks: version checks compare the
 * table's version record against it
 */
#define ZAE_ADMIN_COMPAT_VERSION  ZAE_SCHEMA_VERSION


static int zae_admin_table_props(zae_admin_t *a, zae_av_t **props);
static int zae_admin_table_field(zae_admin_t *a, zae_buf_t *b,
    zae_av_t *props, const char *name);
static int zae_admin_create_table_body(zae_admin_t *a, zae_buf_t *b);
static int zae_admin_ttl_body(zae_admin_t *a, zae_buf_t *b);
static int zae_admin_wait_active(zae_admin_t *a, zae_ddb_table_t *t);
static int zae_admin_read_version(zae_admin_t *a,
    zae_version_record_t *v, int *found);
static int zae_admin_direct(zae_admin_t *a);


/*
 * deploy and delete talk to DynamoDB itself when a DynamoDB endpoint is
 * known (--endpoint-url, $AWS_ENDPOINT_URL_DYNAMODB, $AWS_ENDPOINT_URL),
 * unless $AWS_ENDPOINT_URL_CLOUDFORMATION names a CloudFormation and no
 * --endpoint-url was given; else they go through a CloudFormation stack
 */

static int
zae_admin_direct(zae_admin_t *a)
{
    const char  *cfn;

    if (a->endpoint_opt) {
        return 1;
    }

    cfn = getenv("AWS_ENDPOINT_URL_CLOUDFORMATION");

    return a->endpoint != NULL && (cfn == NULL || *cfn == '\0');
}


/*
 * The table has one description: the RateLimitsTable of the built-in
 * CloudFormation template (admin/zae-limiter.cfn.json).  Its key
 * schema, attributes, indexes, billing mode, stream and TTL properties
 * have the names and shapes of the CreateTable and UpdateTimeToLive
 * request fields; only StreamEnabled is implied by CloudFormation.
 */

static int
zae_admin_table_props(zae_admin_t *a, zae_av_t **props)
{
    zae_av_t   *root, *v;
    zae_err_t   err;

    if (zae_json_parse(&a->mem, (u_char *) zae_admin_cfn_template,
                       zae_admin_cfn_template_len, NULL, &root, &err)
        != ZAE_OK)
    {
        zae_admin_error(a, "built-in template: %s", err.msg);
        return ZAE_ERROR;
    }

    v = zae_json_get(root, "Resources");
    v = v ? zae_json_get(v, "RateLimitsTable") : NULL;
    *props = v ? zae_json_get(v, "Properties") : NULL;

    if (*props == NULL) {
        zae_admin_error(a, "built-in template: no RateLimitsTable");
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_admin_table_field(zae_admin_t *a, zae_buf_t *b, zae_av_t *props,
    const char *name)
{
    zae_av_t  *v;

    v = zae_json_get(props, name);
    if (v == NULL) {
        zae_admin_error(a, "built-in template: no %s", name);
        return ZAE_ERROR;
    }

    zae_buf_printf(b, ",\"%s\":", name);
    zae_json_encode(b, v);

    return ZAE_OK;
}


static int
zae_admin_create_table_body(zae_admin_t *a, zae_buf_t *b)
{
    zae_av_t  *props, *stream, *view;

    if (zae_admin_table_props(a, &props) != ZAE_OK) {
        return ZAE_ERROR;
    }

    stream = zae_json_get(props, "StreamSpecification");
    view = stream ? zae_json_get(stream, "StreamViewType") : NULL;

    if (view == NULL) {
        zae_admin_error(a, "built-in template: no StreamViewType");
        return ZAE_ERROR;
    }

    if (zae_admin_body_start(a, b) != ZAE_OK
        || zae_admin_table_field(a, b, props, "KeySchema") != ZAE_OK
        || zae_admin_table_field(a, b, props, "AttributeDefinitions")
           != ZAE_OK
        || zae_admin_table_field(a, b, props, "GlobalSecondaryIndexes")
           != ZAE_OK
        || zae_admin_table_field(a, b, props, "LocalSecondaryIndexes")
           != ZAE_OK
        || zae_admin_table_field(a, b, props, "BillingMode") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    zae_buf_add_str(b, ",\"StreamSpecification\":{"
                    "\"StreamEnabled\":true,\"StreamViewType\":");
    zae_json_encode(b, view);
    zae_buf_add_str(b, "}}");

    return ZAE_OK;
}


/* UpdateTimeToLive of the template's TimeToLiveSpecification */

static int
zae_admin_ttl_body(zae_admin_t *a, zae_buf_t *b)
{
    int        enabled;
    zae_av_t  *props, *spec, *v;
    zae_str_t  table, attr;

    if (zae_admin_table_props(a, &props) != ZAE_OK) {
        return ZAE_ERROR;
    }

    spec = zae_json_get(props, "TimeToLiveSpecification");
    v = spec ? zae_json_get(spec, "AttributeName") : NULL;

    if (v == NULL || zae_av_get_str(v, &attr) != ZAE_OK) {
        zae_admin_error(a, "built-in template: no TimeToLiveSpecification");
        return ZAE_ERROR;
    }

    v = zae_json_get(spec, "Enabled");
    enabled = v != NULL && v->type == ZAE_AV_BOOL && v->b;

    table = zae_admin_str(a->table);
    zae_buf_init(b, &a->mem, 256);

    if (zae_ddb_update_ttl(b, &table, &attr, enabled) != ZAE_OK) {
        zae_admin_error(a, "invalid UpdateTimeToLive request");
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


/* DescribeTable, DeleteTable, DescribeTimeToLive: their body is the table */

static int
zae_admin_table_op(zae_admin_t *a, zae_ddb_op_e op, zae_av_t **resp)
{
    zae_buf_t  b;
    zae_str_t  table;

    table = zae_admin_str(a->table);
    zae_buf_init(&b, &a->mem, 256);

    if (zae_ddb_table_request(&b, &table) != ZAE_OK) {
        zae_admin_error(a, "invalid %s request", zae_ddb_op_name(op));
        return ZAE_ERROR;
    }

    return zae_admin_ddb(a, op, &b, resp);
}


/*
 * DescribeTable, its answer read by the core: ZAE_OK, or ZAE_ERROR
 * reported
 */

int
zae_admin_describe(zae_admin_t *a, zae_ddb_table_t *t)
{
    int         rc;
    zae_av_t   *resp;
    zae_err_t   err;

    memset(t, 0, sizeof(zae_ddb_table_t));

    rc = zae_admin_check(a, zae_admin_table_op(a, ZAE_DDB_DESCRIBE_TABLE,
                                               &resp),
                         "cannot describe the table");
    if (rc != ZAE_OK) {
        return rc;
    }

    if (zae_ddb_result_table(resp, t, &err) != ZAE_OK) {
        zae_admin_error(a, "invalid DescribeTable answer: %s", err.msg);
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int
zae_admin_wait_active(zae_admin_t *a, zae_ddb_table_t *t)
{
    int              rc, i;
    struct timespec  ts;

    for (i = 0; i < 300; i++) {
        rc = zae_admin_describe(a, t);
        if (rc != ZAE_OK) {
            return rc;
        }

        if (t->status.len == 6 && memcmp(t->status.data, "ACTIVE", 6) == 0) {
            if (i) {
                zae_admin_say(a, stderr, "\n");
            }

            return ZAE_OK;
        }

        zae_admin_say(a, stderr, "\rwaiting for table \"%s\" to become "
                      "active (%ds)", a->table, i);

        ts.tv_sec = 1;
        ts.tv_nsec = 0;
        nanosleep(&ts, NULL);
    }

    zae_admin_error(a, "table \"%s\" did not become active in 300s",
                    a->table);

    return ZAE_ERROR;
}


int
zae_admin_cmd_deploy(zae_admin_t *a)
{
    int                   rc, created, table_created;
    u_char                ts[ZAE_TS_LEN + 1];
    zae_av_t             *o;
    zae_buf_t             b;
    zae_str_t             name, nsid;
    zae_ddb_table_t       table;
    zae_version_record_t  v;

    if (!zae_admin_direct(a)) {

        /* a CloudFormation stack, then the records below */

        rc = zae_admin_deploy_stack(a);
        if (rc != ZAE_ADMIN_EXIT_OK) {
            return rc;
        }

        table_created = 0;
        goto records;
    }

    if (strlen(a->table) < 3) {
        return zae_admin_usage_error(a, "invalid table name \"%s\": "
                                     "DynamoDB needs at least 3 characters",
                                     zae_admin_shown(a, a->table));
    }

    if (zae_admin_create_table_body(a, &b) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    table_created = 1;

    rc = zae_admin_ddb(a, ZAE_DDB_CREATE_TABLE, &b, NULL);

    if (rc == ZAE_DECLINED) {
        if (!zae_admin_is(a, "ResourceInUseException")) {
            return zae_admin_fail_ddb(a, "cannot create the table");
        }

        table_created = 0;
    }

    if (rc == ZAE_ERROR) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_admin_say(a, stdout, table_created ? "table \"%s\" created\n"
                                           : "table \"%s\" already exists\n",
                  a->table);

    if (zae_admin_wait_active(a, &table) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    /* TTL on "ttl", epoch seconds; "already enabled" is fine */

    if (zae_admin_ttl_body(a, &b) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_admin_ddb(a, ZAE_DDB_UPDATE_TIME_TO_LIVE, &b, NULL);

    if (rc == ZAE_DECLINED
        && !(zae_admin_is(a, "ValidationException")
             && strstr(a->err_msg, "already enabled")))
    {
        return zae_admin_fail_ddb(a, "cannot enable TTL");
    }

    if (rc == ZAE_ERROR) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

records:

    /* the version record: never a lambda_version, we deploy none */

    zae_admin_now_ts(ts);

    memset(&v, 0, sizeof(v));
    v.schema_version = zae_admin_str(ZAE_SCHEMA_VERSION);
    v.client_min_version = zae_admin_str(ZAE_CLIENT_MIN_VERSION);
    v.updated_at.data = ts;
    v.updated_at.len = ZAE_TS_LEN;
    v.updated_by = zae_admin_str("cli:" ZAE_ADMIN_VERSION);

    zae_buf_init(&b, &a->mem, 512);

    zae_version_item(&b, &v);

    rc = zae_admin_check(a, zae_admin_put_item(a, &b, NULL),
                         "cannot write the version record");
    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    name = zae_admin_str("default");

    if (zae_admin_ns_register(a, &name, &nsid, &created) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    o = zae_admin_json_obj(a);

    zae_admin_set_str(a, o, "table", a->table);
    zae_admin_set_bool(a, o, "table_created", table_created);
    zae_admin_set_str(a, o, "schema_version", ZAE_SCHEMA_VERSION);
    zae_admin_set_zstr(a, o, "default_namespace_id", &nsid);

    return zae_admin_print(a, o, "%sversion record: schema %s, updated by "
                           "cli:%s\nnamespace \"default\" %s: %.*s\n",
                           zae_admin_direct(a) ? "ttl enabled on \"ttl\"\n"
                                               : "",
                           ZAE_SCHEMA_VERSION, ZAE_ADMIN_VERSION,
                           created ? "registered" : "already registered",
                           (int) nsid.len, nsid.data);
}


static int
zae_admin_read_version(zae_admin_t *a, zae_version_record_t *v, int *found)
{
    int         rc;
    zae_av_t   *item, *lv, *ub;
    zae_err_t   err;
    zae_keys_t  k;

    memset(v, 0, sizeof(zae_version_record_t));
    *found = 0;

    (void) zae_keys_version(&a->mem, &k);

    rc = zae_admin_get_item(a, &k.pk, &k.sk, 1, &item);
    if (rc != ZAE_OK) {
        return rc;
    }

    if (item == NULL) {
        return ZAE_OK;
    }

    *found = 1;

    (void) zae_item_get_str(item, "schema_version", &v->schema_version,
                            &err);
    (void) zae_item_get_str(item, "client_min_version",
                            &v->client_min_version, &err);
    (void) zae_item_get_str(item, "updated_at", &v->updated_at, &err);

    lv = zae_item_get(item, "lambda_version");
    if (lv && lv->type == ZAE_AV_S) {
        v->lambda_version = lv->s;
    }

    ub = zae_item_get(item, "updated_by");
    if (ub && ub->type == ZAE_AV_S) {
        v->updated_by = ub->s;
    }

    return ZAE_OK;
}


static zae_av_t *
zae_admin_version_json(zae_admin_t *a, zae_version_record_t *v)
{
    zae_av_t  *o;

    o = zae_admin_json_obj(a);

    if (zae_admin_json_set(a, o, "schema_version",
                           zae_admin_json_zstr(a, &v->schema_version))
        || zae_admin_json_set(a, o, "lambda_version",
                              zae_admin_json_zstr(a, &v->lambda_version))
        || zae_admin_json_set(a, o, "client_min_version",
                              zae_admin_json_zstr(a, &v->client_min_version))
        || zae_admin_json_set(a, o, "updated_at",
                              zae_admin_json_zstr(a, &v->updated_at))
        || zae_admin_json_set(a, o, "updated_by",
                              zae_admin_json_zstr(a, &v->updated_by)))
    {
        return NULL;
    }

    return o;
}


/* the version record, or "version record: none" when v is NULL */

static void
zae_admin_version_text(zae_buf_t *text, zae_version_record_t *v,
    const char *none)
{
    if (v == NULL) {
        zae_buf_printf(text, "version record:      %s\n", none);
        return;
    }

    zae_buf_printf(text, "schema version:      %.*s\n",
                   (int) v->schema_version.len, v->schema_version.data);
    zae_buf_printf(text, "lambda version:      %.*s\n",
                   v->lambda_version.data ? (int) v->lambda_version.len : 4,
                   v->lambda_version.data ? (char *) v->lambda_version.data
                                          : "none");
    zae_buf_printf(text, "client min version:  %.*s\n",
                   (int) v->client_min_version.len,
                   v->client_min_version.data);
    zae_buf_printf(text, "updated at:          %.*s\n",
                   (int) v->updated_at.len, v->updated_at.data);
    zae_buf_printf(text, "updated by:          %.*s\n",
                   v->updated_by.data ? (int) v->updated_by.len : 4,
                   v->updated_by.data ? (char *) v->updated_by.data
                                      : "none");
}


int
zae_admin_cmd_status(zae_admin_t *a)
{
    int                   rc, found;
    zae_av_t             *resp, *o, *ttl;
    zae_buf_t             text;
    zae_str_t             status, stream, ttl_status, ttl_attr;
    zae_ddb_table_t       table;
    zae_version_record_t  ver;

    if (zae_admin_describe(a, &table) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    status = table.status;
    stream = table.stream_arn;
    ttl_status = zae_admin_str("unknown");
    ttl_attr = zae_admin_str(NULL);

    rc = zae_admin_check(a, zae_admin_table_op(a,
                                                ZAE_DDB_DESCRIBE_TIME_TO_LIVE,
                                                &resp),
                         "cannot describe TTL");
    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    ttl = resp ? zae_json_get(resp, "TimeToLiveDescription") : NULL;

    zae_admin_get_str(ttl, "TimeToLiveStatus", &ttl_status);
    zae_admin_get_str(ttl, "AttributeName", &ttl_attr);

    rc = zae_admin_check(a, zae_admin_read_version(a, &ver, &found),
                         "cannot read the version record");
    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    o = zae_admin_json_obj(a);

    zae_admin_set_str(a, o, "table", a->table);
    zae_admin_set_zstr(a, o, "table_status", &status);
    zae_admin_set_zstr(a, o, "stream_arn", &stream);
    zae_admin_set_zstr(a, o, "ttl_status", &ttl_status);
    zae_admin_set_zstr(a, o, "ttl_attribute", &ttl_attr);
    zae_admin_json_set(a, o, "version",
                       found ? zae_admin_version_json(a, &ver)
                             : zae_av_null(&a->mem));

    zae_buf_init(&text, &a->mem, 1024);

    zae_buf_printf(&text, "table:               %s\n", a->table);
    zae_buf_printf(&text, "table status:        %.*s\n", (int) status.len,
                   status.data);
    zae_buf_printf(&text, "stream:              %.*s\n",
                   stream.data ? (int) stream.len : 4,
                   stream.data ? (char *) stream.data : "none");
    zae_buf_printf(&text, "ttl:                 %.*s%s%.*s\n",
                   (int) ttl_status.len, ttl_status.data,
                   ttl_attr.data ? " on " : "", (int) ttl_attr.len,
                   ttl_attr.data ? (char *) ttl_attr.data : "");

    zae_admin_version_text(&text, found ? &ver : NULL, "none");

    return zae_admin_print_text(a, o, &text);
}


int
zae_admin_cmd_delete(zae_admin_t *a)
{
    int                    rc;
    char                   what[256];
    zae_admin_yes_opts_t  *opts;

    opts = a->opts;

    snprintf(what, sizeof(what), "delete table \"%s\" and all its data",
             a->table);

    if (zae_admin_confirm(a, opts->yes, what) != ZAE_OK) {
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (!zae_admin_direct(a)) {
        return zae_admin_delete_stack(a);
    }

    rc = zae_admin_check(a, zae_admin_table_op(a, ZAE_DDB_DELETE_TABLE, NULL),
                         "cannot delete the table");
    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return zae_admin_deleted(a, "table");
}


/* the result of delete: {"table" or "stack": NAME, "deleted": true} */

int
zae_admin_deleted(zae_admin_t *a, const char *what)
{
    zae_av_t  *o;

    o = zae_admin_json_obj(a);
    zae_admin_json_set(a, o, what, zae_admin_json_str(a, a->table));
    zae_admin_set_bool(a, o, "deleted", 1);

    return zae_admin_print(a, o, "%s \"%s\" deleted\n", what, a->table);
}


int
zae_admin_cmd_version(zae_admin_t *a)
{
    int                   rc, found;
    zae_av_t             *o;
    zae_buf_t             text;
    zae_version_record_t  ver;

    found = 0;

    rc = zae_admin_read_version(a, &ver, &found);

    if (rc == ZAE_ERROR) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (rc == ZAE_DECLINED && !zae_admin_is(a, "ResourceNotFoundException")) {
        return zae_admin_fail_ddb(a, "cannot read the version record");
    }

    o = zae_admin_json_obj(a);

    zae_admin_set_str(a, o, "client_version", ZAE_ADMIN_VERSION);
    zae_admin_set_str(a, o, "schema_version", ZAE_SCHEMA_VERSION);
    zae_admin_set_str(a, o, "table", a->table);
    zae_admin_json_set(a, o, "deployed",
                       found ? zae_admin_version_json(a, &ver)
                             : zae_av_null(&a->mem));

    zae_buf_init(&text, &a->mem, 1024);

    zae_buf_printf(&text, "zae-admin:           %s\n"
                   "client schema:       %s\n"
                   "table:               %s\n", ZAE_ADMIN_VERSION,
                   ZAE_SCHEMA_VERSION, a->table);

    zae_admin_version_text(&text, found ? &ver : NULL,
                           "none (table not deployed)");

    return zae_admin_print_text(a, o, &text);
}


int
zae_admin_cmd_check(zae_admin_t *a)
{
    int                   rc, found;
    zae_av_t             *o;
    zae_buf_t             text;
    zae_err_t             err;
    zae_version_record_t  ver;

    rc = zae_admin_check(a, zae_admin_read_version(a, &ver, &found),
                         "cannot read the version record");
    if (rc != ZAE_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (!found) {
        zae_admin_error(a, "table \"%s\" has no version record (run "
                        "\"zae-admin deploy\")", a->table);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    rc = zae_version_check(&ver, ZAE_ADMIN_COMPAT_VERSION, &err);

    o = zae_admin_json_obj(a);

    zae_admin_set_bool(a, o, "compatible", rc == ZAE_OK);
    zae_admin_set_str(a, o, "client_schema", ZAE_ADMIN_COMPAT_VERSION);
    zae_admin_json_set(a, o, "version", zae_admin_version_json(a, &ver));
    zae_admin_set_str(a, o, "reason", rc == ZAE_OK ? NULL : err.msg);

    zae_buf_init(&text, &a->mem, 256);

    if (rc == ZAE_OK) {
        zae_buf_printf(&text, "compatible: table schema %.*s, client "
                       "schema %s\n", (int) ver.schema_version.len,
                       ver.schema_version.data, ZAE_ADMIN_COMPAT_VERSION);
    }

    if (zae_admin_print_text(a, o, &text) != ZAE_ADMIN_EXIT_OK) {
        return ZAE_ADMIN_EXIT_FAILED;
    }

    if (rc != ZAE_OK) {
        zae_admin_error(a, "incompatible: %s", err.msg);
        return ZAE_ADMIN_EXIT_FAILED;
    }

    return ZAE_ADMIN_EXIT_OK;
}
