
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin: the admin CLI of zae-limit.  Shared types: the command
 * table, the parsed options, the invocation context, and the helpers
 * every command file uses (DynamoDB calls, output, errors).
 */


#ifndef _ZAE_ADMIN_H_INCLUDED_
#define _ZAE_ADMIN_H_INCLUDED_


#include <stdio.h>
#include <curl/curl.h>

#include "zae_core.h"
#include "zae_json.h"
#include "zae_limit.h"
#include "zae_retry.h"
#include "zae_creds.h"
#include "zae_records.h"
#include "zae_schema.h"
#include "zae_version.h"
#include "zae_keyhash.h"
#include "zae_ddb.h"
#include "zae_registry.h"
#include "zae_upkeep.h"


#define ZAE_ADMIN_VERSION        ZAE_VERSION

#define ZAE_ADMIN_EXIT_OK        0
#define ZAE_ADMIN_EXIT_FAILED    1
#define ZAE_ADMIN_EXIT_USAGE     2

#define ZAE_ADMIN_MAX_OPTS       64
#define ZAE_ADMIN_MAX_ARGS       16

#define ZAE_ADMIN_TIMEOUT_MS     10000
#define ZAE_ADMIN_CONNECT_MS     3000

/* command flags */
#define ZAE_ADMIN_CMD_DATA       0x01    /* needs the namespace resolved */
#define ZAE_ADMIN_CMD_GROUP      0x02    /* a group: lists subcommands */
#define ZAE_ADMIN_CMD_ENTITY     0x04    /* ENTITY first: --key-hash-... */


typedef struct zae_admin_s  zae_admin_t;

typedef int (*zae_admin_handler_pt)(zae_admin_t *a);


/*
 * Options, as git's parse_options(): every option name is declared once
 * (zae_admin_opt_defs[], the ZAE_ADMIN_O_* ids: name, letter, help), and
 * each command declares, in a zae_admin_option_t array, which of them it
 * takes, how (a flag, a string, a repeatable list) and where they go in
 * its own option struct; zae_admin_parse_options() fills that struct
 */

typedef enum {
    ZAE_ADMIN_O_NAME = 0,                   /* global options */
    ZAE_ADMIN_O_REGION,
    ZAE_ADMIN_O_ENDPOINT_URL,
    ZAE_ADMIN_O_NAMESPACE,
    ZAE_ADMIN_O_OUTPUT,
    ZAE_ADMIN_O_PRINCIPAL,
    ZAE_ADMIN_O_HELP,
    ZAE_ADMIN_O_LIMIT,                      /* command options */
    ZAE_ADMIN_O_RESOURCE,
    ZAE_ADMIN_O_ON_UNAVAILABLE,
    ZAE_ADMIN_O_DISPLAY_NAME,
    ZAE_ADMIN_O_PARENT,
    ZAE_ADMIN_O_CASCADE,
    ZAE_ADMIN_O_NO_CASCADE,
    ZAE_ADMIN_O_WITH_CUSTOM_LIMITS,
    ZAE_ADMIN_O_ENTITY_ID,
    ZAE_ADMIN_O_NEEDED,
    ZAE_ADMIN_O_YES,
    ZAE_ADMIN_O_FORCE,
    ZAE_ADMIN_O_START_EVENT_ID,
    ZAE_ADMIN_O_FOLLOW,
    ZAE_ADMIN_O_SNAPSHOT_WINDOWS,
    ZAE_ADMIN_O_USAGE_RETENTION_DAYS,
    ZAE_ADMIN_O_WINDOW,
    ZAE_ADMIN_O_START,
    ZAE_ADMIN_O_END,
    ZAE_ADMIN_O_PLOT,
    ZAE_ADMIN_O_FILE,
    ZAE_ADMIN_O_ENABLE_DELETION_PROTECTION,
    ZAE_ADMIN_O_PITR_RECOVERY_DAYS,
    ZAE_ADMIN_O_NO_ALARMS,
    ZAE_ADMIN_O_ALARM_SNS_TOPIC,
    ZAE_ADMIN_O_KEY_HASH_SECRET_FILE,       /* entity commands */
    ZAE_ADMIN_O_API_KEY_ENV,
    ZAE_ADMIN_O_NONE
} zae_admin_opt_id_e;


typedef enum {
    ZAE_ADMIN_OPT_END = 0,
    ZAE_ADMIN_OPT_FLAG,                     /* unsigned: 1 when given */
    ZAE_ADMIN_OPT_STRING,                   /* const char *: the last */
    ZAE_ADMIN_OPT_LIST                      /* zae_admin_list_t: all */
} zae_admin_opt_type_e;


typedef struct {
    const char            *name;
    int                    letter;
    int                    has_arg;
    const char            *help;
} zae_admin_opt_def_t;


typedef struct {
    zae_admin_opt_id_e     id;
    zae_admin_opt_type_e   type;
    size_t                 offset;      /* in the command's option struct */
} zae_admin_option_t;


#define ZAE_ADMIN_OPT(id, type, st, field)                                   \
    { ZAE_ADMIN_O_##id, ZAE_ADMIN_OPT_##type, offsetof(st, field) }

#define ZAE_ADMIN_OPT_END_OF_LIST  { ZAE_ADMIN_O_NONE, ZAE_ADMIN_OPT_END, 0 }


typedef struct {
    const char            *v[ZAE_ADMIN_MAX_OPTS];
    int                    n;
} zae_admin_list_t;


/* the option structs of the commands */

typedef struct {
    unsigned               yes;
} zae_admin_yes_opts_t;

typedef struct {
    const char            *resource;
    zae_admin_list_t       limits;
    const char            *on_unavailable;
    unsigned               yes;
} zae_admin_limits_opts_t;           /* system, resource, entity limits */

typedef struct {
    const char            *display_name;
    const char            *parent;
    unsigned               cascade;
    unsigned               no_cascade;      /* the default */
    const char            *with_custom_limits;
    unsigned               yes;
    unsigned               force;
} zae_admin_entity_opts_t;           /* entity create, list, delete */

typedef struct {
    const char            *key_hash_secret_file;
    const char            *api_key_env;
} zae_admin_key_opts_t;              /* ENTITY from an API key */

typedef struct {
    zae_admin_list_t       needed;
} zae_admin_needed_opts_t;           /* time-until-available */

typedef struct {
    const char            *entity_id;
    const char            *resource;
    const char            *window;
    const char            *start;
    const char            *end;
    const char            *limit;
    const char            *start_event_id;
    unsigned               plot;
} zae_admin_query_opts_t;            /* usage list/summary, audit list */

typedef struct {
    unsigned               follow;
    const char            *snapshot_windows;
    const char            *usage_retention_days;
} zae_admin_aggregate_opts_t;

typedef struct {
    const char            *file;
} zae_admin_file_opts_t;             /* limits plan/diff/apply */

typedef struct {
    unsigned               enable_deletion_protection;
    const char            *pitr_recovery_days;
    unsigned               no_alarms;
    const char            *alarm_sns_topic;
} zae_admin_deploy_opts_t;


typedef enum {
    ZAE_ADMIN_OUTPUT_TABLE = 0,
    ZAE_ADMIN_OUTPUT_JSON
} zae_admin_output_e;


typedef struct {
    const char                 *name;        /* "entity create" */
    zae_admin_handler_pt        handler;
    int                         min_args;
    int                         max_args;
    const zae_admin_option_t   *options;     /* NULL: none */
    size_t                      opts_size;   /* its option struct */
    const char                 *synopsis;
    const char                 *help;
    unsigned                    flags;
} zae_admin_cmd_t;


typedef struct {
    const zae_admin_opt_def_t  *def;
    const char                 *value;
} zae_admin_arg_opt_t;


struct zae_admin_s {
    zae_arena_t            arena;
    zae_mem_t              mem;

    const char            *prog;
    const zae_admin_cmd_t *cmd;

    /* global options */
    const char            *table;
    const char            *region;
    const char            *endpoint;
    const char            *ns_name;
    const char            *principal;
    const char            *endpoint_opt;   /* --endpoint-url itself */
    const char            *output_opt;
    unsigned               help;
    zae_admin_output_e     output;
    unsigned               sts_tried:1;

    /* the command line of the command, its options in its struct */
    char                  *args[ZAE_ADMIN_MAX_ARGS];
    int                    nargs;
    zae_admin_arg_opt_t    given[ZAE_ADMIN_MAX_OPTS];
    int                    ngiven;
    void                  *opts;
    zae_admin_key_opts_t   key;

    /* resolved namespace id */
    zae_str_t              nsid;

    /* HTTP */
    CURL                  *curl;
    char                   curl_err[CURL_ERROR_SIZE];
    zae_retry_policy_t     retry;
    uint64_t               random_state;
    zae_creds_provider_t  *creds;
    int                    creds_ok;

    /* the last DynamoDB error: code after '#', message, HTTP status */
    char                   err_code[128];
    char                   err_msg[512];
    long                   http_status;
    zae_av_t              *err_body;
};


/* zae_admin.c */

extern const zae_admin_cmd_t  zae_admin_cmds[];
extern const size_t           zae_admin_ncmds;

void zae_admin_error(zae_admin_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int zae_admin_usage_error(zae_admin_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *zae_admin_shown(zae_admin_t *a, const char *s);
int zae_admin_confirm(zae_admin_t *a, unsigned yes, const char *what);
zae_str_t zae_admin_str(const char *s);
int zae_admin_check_entity(zae_admin_t *a, const char *s, zae_str_t *out);
int zae_admin_check_resource(zae_admin_t *a, const char *s, zae_str_t *out);
int zae_admin_random(zae_admin_t *a, u_char *buf, size_t len);
void zae_admin_now_ts(u_char *out);
int64_t zae_admin_now_ms(void);


/* admin/zae-limiter.cfn.json, generated into zae_admin_cfn_json.c */

extern const char    zae_admin_cfn_template[];
extern const size_t  zae_admin_cfn_template_len;


/* zae_admin_ddb.c */

typedef int (*zae_admin_attempt_pt)(zae_admin_t *a, void *ctx,
    zae_transport_e *transport);

int zae_admin_http_init(zae_admin_t *a);
int zae_admin_retry(zae_admin_t *a, const char *what, const char *url,
    zae_admin_attempt_pt attempt, void *ctx);
void zae_admin_http_done(zae_admin_t *a);
int zae_admin_ddb(zae_admin_t *a, zae_ddb_op_e op, zae_buf_t *body,
    zae_av_t **resp);
int zae_admin_post(zae_admin_t *a, const char *url, const char *service,
    const char *ctype, zae_buf_t *body, zae_buf_t *out,
    zae_transport_e *transport);
int zae_admin_fail_ddb(zae_admin_t *a, const char *what);
int zae_admin_check(zae_admin_t *a, int rc, const char *what);
int zae_admin_conditional(zae_admin_t *a, int rc, const char *what);
int zae_admin_is(zae_admin_t *a, const char *code);
int zae_admin_cancel_reason(zae_admin_t *a, size_t i, const char *code);
int zae_admin_get_item(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    int consistent, zae_av_t **item);
int zae_admin_read(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    const char *what, zae_av_t **item);
int zae_admin_put_item(zae_admin_t *a, zae_buf_t *item, const char *cond);
int zae_admin_put_av(zae_admin_t *a, zae_av_t *item, const char *cond);
int zae_admin_update(zae_admin_t *a, zae_ddb_req_t *r, zae_av_t **resp);
int zae_admin_transact(zae_admin_t *a, zae_ddb_action_t *acts, size_t n);
int zae_admin_delete_item(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    const char *cond);
int zae_admin_query(zae_admin_t *a, zae_ddb_req_t *r, zae_av_t ***items,
    size_t *nitems, size_t max);
int zae_admin_query_key(zae_admin_t *a, zae_ddb_req_t *r, zae_query_e which,
    zae_str_t *ns, zae_str_t *id, zae_str_t *sub, size_t max,
    const char *what, zae_av_t ***items, size_t *n);
zae_av_t *zae_admin_key_av(zae_mem_t *mem, zae_str_t *pk, zae_str_t *sk);
int zae_admin_body_start(zae_admin_t *a, zae_buf_t *b);
zae_str_t zae_admin_cat(zae_admin_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/* zae_admin_ns.c */

int zae_admin_resolve_ns(zae_admin_t *a, int create);
int zae_admin_batch_delete(zae_admin_t *a, zae_av_t **keys, size_t n);
int zae_admin_ns_register(zae_admin_t *a, zae_str_t *name, zae_str_t *nsid,
    int *created);


/* zae_admin_out.c: tables and JSON */

typedef struct {
    const char            *headers[8];
    int                    ncols;
    char                 **cells;
    int                    nrows;
    int                    crows;
    zae_buf_t              footer;      /* text printed after the rows */
} zae_admin_table_t;


void zae_admin_table_init(zae_admin_table_t *t, int ncols, ...);
int zae_admin_table_row(zae_admin_t *a, zae_admin_table_t *t, ...);
void zae_admin_table_print(zae_admin_table_t *t);
int zae_admin_print_json(zae_admin_t *a, zae_av_t *json);
int zae_admin_output(zae_admin_t *a, zae_av_t *json, zae_admin_table_t *t);
int zae_admin_print_text(zae_admin_t *a, zae_av_t *json, zae_buf_t *text);
int zae_admin_print(zae_admin_t *a, zae_av_t *json, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int zae_admin_print_list(zae_admin_t *a, zae_av_t *list, const char *empty,
    ...) __attribute__((format(printf, 3, 4)));
void zae_admin_say(zae_admin_t *a, FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
FILE *zae_admin_progress(zae_admin_t *a);
void zae_admin_result(zae_admin_t *a, const char *json, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
zae_av_t *zae_admin_json_obj(zae_admin_t *a);
int zae_admin_json_set(zae_admin_t *a, zae_av_t *obj, const char *name,
    zae_av_t *v);
void zae_admin_set_zstr(zae_admin_t *a, zae_av_t *obj, const char *name,
    zae_str_t *s);
void zae_admin_set_str(zae_admin_t *a, zae_av_t *obj, const char *name,
    const char *s);
void zae_admin_set_int(zae_admin_t *a, zae_av_t *obj, const char *name,
    int64_t v);
void zae_admin_set_bool(zae_admin_t *a, zae_av_t *obj, const char *name,
    int v);
zae_av_t *zae_admin_json_str(zae_admin_t *a, const char *s);
zae_av_t *zae_admin_json_zstr(zae_admin_t *a, zae_str_t *s);
zae_av_t *zae_admin_json_int(zae_admin_t *a, int64_t v);
zae_av_t *zae_admin_json_bool(zae_admin_t *a, int v);
zae_av_t *zae_admin_item_to_json(zae_admin_t *a, const zae_av_t *item);
void zae_admin_get_str(zae_av_t *obj, const char *name, zae_str_t *out);


/* zae_admin_config.c: what the groups share to write configs */

int zae_admin_parse_limits(zae_admin_t *a, zae_limits_t *ls);
int zae_admin_audit_limits(zae_admin_t *a, zae_str_t *entity,
    zae_str_t *resource, zae_limits_t *ls, zae_str_t *on_unavailable);
int zae_admin_show_limits(zae_admin_t *a, zae_config_item_t *cfg,
    const char *what, zae_level_e level, zae_str_t *entity,
    zae_str_t *resource);
int zae_admin_get_config(zae_admin_t *a, zae_str_t *pk, zae_str_t *sk,
    zae_config_item_t **cfg);
int zae_admin_level_config(zae_admin_t *a, zae_level_e level, zae_str_t *id,
    zae_config_item_t **cfg);

int zae_admin_audit_event(zae_admin_t *a, zae_str_t *entity,
    const char *action, zae_str_t *resource, zae_buf_t *details);
int zae_admin_write_system(zae_admin_t *a, zae_limits_t *ls, zae_str_t *onu);
int zae_admin_remove_system(zae_admin_t *a);
int zae_admin_write_resource(zae_admin_t *a, zae_str_t *res,
    zae_limits_t *ls);
int zae_admin_remove_resource(zae_admin_t *a, zae_str_t *res);
int zae_admin_write_entity(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    zae_limits_t *ls);
int zae_admin_remove_entity(zae_admin_t *a, zae_str_t *ent, zae_str_t *res);


/* zae_admin_capacity.c */

int zae_admin_resolve_limits(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    const zae_limits_t **ls, zae_level_e *source, int quiet);
int zae_admin_read_bucket(zae_admin_t *a, zae_str_t *ent, zae_str_t *res,
    zae_bucket_item_t **bucket);


/* zae_admin_entity.c */

int zae_admin_read_entity(zae_admin_t *a, zae_str_t *entity,
    zae_av_t **meta);


/* command handlers */

int zae_admin_cmd_deploy(zae_admin_t *a);
int zae_admin_cmd_status(zae_admin_t *a);
int zae_admin_cmd_delete(zae_admin_t *a);
int zae_admin_cmd_version(zae_admin_t *a);
int zae_admin_cmd_check(zae_admin_t *a);

int zae_admin_cmd_system_set(zae_admin_t *a);
int zae_admin_cmd_system_get(zae_admin_t *a);
int zae_admin_cmd_system_delete(zae_admin_t *a);
int zae_admin_cmd_resource_set(zae_admin_t *a);
int zae_admin_cmd_resource_get(zae_admin_t *a);
int zae_admin_cmd_resource_delete(zae_admin_t *a);
int zae_admin_cmd_resource_list(zae_admin_t *a);
int zae_admin_cmd_entity_create(zae_admin_t *a);
int zae_admin_cmd_entity_show(zae_admin_t *a);
int zae_admin_cmd_entity_set(zae_admin_t *a);
int zae_admin_cmd_entity_get(zae_admin_t *a);
int zae_admin_cmd_entity_delete_limits(zae_admin_t *a);
int zae_admin_cmd_entity_list(zae_admin_t *a);
int zae_admin_cmd_entity_key_hash(zae_admin_t *a);
int zae_admin_cmd_entity_resources(zae_admin_t *a);
int zae_admin_cmd_entity_delete(zae_admin_t *a);
int zae_admin_cmd_available(zae_admin_t *a);
int zae_admin_cmd_time_until(zae_admin_t *a);

int zae_admin_cmd_ns_register(zae_admin_t *a);
int zae_admin_cmd_ns_list(zae_admin_t *a);
int zae_admin_cmd_ns_show(zae_admin_t *a);
int zae_admin_cmd_ns_delete(zae_admin_t *a);
int zae_admin_cmd_ns_recover(zae_admin_t *a);
int zae_admin_cmd_ns_orphans(zae_admin_t *a);
int zae_admin_cmd_ns_purge(zae_admin_t *a);
int zae_admin_cmd_audit_list(zae_admin_t *a);
int zae_admin_cmd_aggregate(zae_admin_t *a);
int zae_admin_cmd_usage_list(zae_admin_t *a);
int zae_admin_cmd_usage_summary(zae_admin_t *a);
int zae_admin_cmd_limits_plan(zae_admin_t *a);
int zae_admin_cmd_limits_diff(zae_admin_t *a);
int zae_admin_cmd_limits_apply(zae_admin_t *a);
int zae_admin_cmd_cfn_template(zae_admin_t *a);
int zae_admin_describe(zae_admin_t *a, zae_ddb_table_t *t);
int zae_admin_deploy_stack(zae_admin_t *a);
int zae_admin_delete_stack(zae_admin_t *a);
int zae_admin_deleted(zae_admin_t *a, const char *what);


#endif /* _ZAE_ADMIN_H_INCLUDED_ */
