
/*
 * Copyright (C) zae-limit authors
 *
 * zae-admin main: global options, the sorted command table driving
 * dispatch and help, confirmation of destructive commands, exit codes
 * and the final stdout check.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <termios.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "zae_admin.h"


/* every option name, in the order help lists them (zae_admin_opt_id_e) */

static const zae_admin_opt_def_t  zae_admin_opt_defs[] = {

    /* global options: accepted by every command */
    { "name", 'n', 1, "table (stack) name, default zae-limiter or "
      "$ZAEL_STACK" },
    { "region", 0, 1, "AWS region, default $AWS_REGION or us-east-1" },
    { "endpoint-url", 0, 1, "DynamoDB endpoint, e.g. "
      "http://127.0.0.1:8000" },
    { "namespace", 'N', 1, "namespace name, default default or "
      "$ZAEL_NAMESPACE" },
    { "output", 0, 1, "table (default) or json" },
    { "principal", 0, 1, "principal recorded in audit events" },
    { "help", 'h', 0, "show help" },

    /* command options */
    { "limit", 'l', 1, "name:rate[/period][:burst], repeatable (a count "
      "in list commands)" },
    { "resource", 'r', 1, "resource name" },
    { "on-unavailable", 0, 1, "allow or block" },
    { "display-name", 0, 1, "display name of the entity" },
    { "parent", 0, 1, "parent entity id" },
    { "cascade", 0, 0, "consume from the parent too" },
    { "no-cascade", 0, 0, "do not consume from the parent (default)" },
    { "with-custom-limits", 0, 1, "list entities with custom limits for "
      "this resource" },
    { "entity-id", 'e', 1, "entity id" },
    { "needed", 0, 1, "name:N tokens needed, repeatable" },
    { "yes", 'y', 0, "do not ask for confirmation" },
    { "force", 0, 0, "delete a parent entity that has children" },
    { "start-event-id", 0, 1, "list events older than this event id" },
    { "follow", 0, 0, "keep reading the stream until interrupted" },
    { "snapshot-windows", 0, 1, "windows to write: hourly,daily "
      "(default), monthly" },
    { "usage-retention-days", 0, 1, "ttl of new snapshots, default 90" },
    { "window", 'w', 1, "hourly, daily or monthly" },
    { "start", 0, 1, "first window start, YYYY-MM-DD[THH:MM:SSZ]" },
    { "end", 0, 1, "last window start, YYYY-MM-DD[THH:MM:SSZ]" },
    { "plot", 'p', 0, "draw the counters as a terminal chart" },
    { "file", 'f', 1, "the YAML limits manifest" },
    { "enable-deletion-protection", 0, 0, "protect the table from "
      "deletion" },
    { "pitr-recovery-days", 0, 1, "point-in-time recovery period, 1-35" },
    { "no-alarms", 0, 0, "no CloudWatch throttling alarms" },
    { "alarm-sns-topic", 0, 1, "SNS topic ARN for the alarms" },

    /* entity commands (ZAE_ADMIN_CMD_ENTITY): the id from an API key */
    { "key-hash-secret-file", 0, 1, "ENTITY is the keyed hash of an API "
      "key read from stdin" },
    { "api-key-env", 0, 1, "with --key-hash-secret-file: the API key is in "
      "this environment variable" },

    { NULL, 0, 0, NULL }
};


#define ZAE_ADMIN_GLOBAL_OPTS  ZAE_ADMIN_O_LIMIT


/* where the global options go */

static const zae_admin_option_t  zae_admin_global_options[] = {
    ZAE_ADMIN_OPT(NAME, STRING, zae_admin_t, table),
    ZAE_ADMIN_OPT(REGION, STRING, zae_admin_t, region),
    ZAE_ADMIN_OPT(ENDPOINT_URL, STRING, zae_admin_t, endpoint_opt),
    ZAE_ADMIN_OPT(NAMESPACE, STRING, zae_admin_t, ns_name),
    ZAE_ADMIN_OPT(OUTPUT, STRING, zae_admin_t, output_opt),
    ZAE_ADMIN_OPT(PRINCIPAL, STRING, zae_admin_t, principal),
    ZAE_ADMIN_OPT(HELP, FLAG, zae_admin_t, help),
    ZAE_ADMIN_OPT_END_OF_LIST
};


/* the entity commands' (ZAE_ADMIN_CMD_ENTITY) and entity key-hash's */

static const zae_admin_option_t  zae_admin_key_options[] = {
    ZAE_ADMIN_OPT(KEY_HASH_SECRET_FILE, STRING, zae_admin_key_opts_t,
                  key_hash_secret_file),
    ZAE_ADMIN_OPT(API_KEY_ENV, STRING, zae_admin_key_opts_t, api_key_env),
    ZAE_ADMIN_OPT_END_OF_LIST
};


/* the options of each command, filled into its option struct */

static const zae_admin_option_t  zae_admin_yes_options[] = {
    ZAE_ADMIN_OPT(YES, FLAG, zae_admin_yes_opts_t, yes),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_aggregate_options[] = {
    ZAE_ADMIN_OPT(FOLLOW, FLAG, zae_admin_aggregate_opts_t, follow),
    ZAE_ADMIN_OPT(SNAPSHOT_WINDOWS, STRING, zae_admin_aggregate_opts_t,
                  snapshot_windows),
    ZAE_ADMIN_OPT(USAGE_RETENTION_DAYS, STRING, zae_admin_aggregate_opts_t,
                  usage_retention_days),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_audit_list_options[] = {
    ZAE_ADMIN_OPT(LIMIT, STRING, zae_admin_query_opts_t, limit),
    ZAE_ADMIN_OPT(ENTITY_ID, STRING, zae_admin_query_opts_t, entity_id),
    ZAE_ADMIN_OPT(START_EVENT_ID, STRING, zae_admin_query_opts_t,
                  start_event_id),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_deploy_options[] = {
    ZAE_ADMIN_OPT(ENABLE_DELETION_PROTECTION, FLAG, zae_admin_deploy_opts_t,
                  enable_deletion_protection),
    ZAE_ADMIN_OPT(PITR_RECOVERY_DAYS, STRING, zae_admin_deploy_opts_t,
                  pitr_recovery_days),
    ZAE_ADMIN_OPT(NO_ALARMS, FLAG, zae_admin_deploy_opts_t, no_alarms),
    ZAE_ADMIN_OPT(ALARM_SNS_TOPIC, STRING, zae_admin_deploy_opts_t,
                  alarm_sns_topic),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_entity_create_options[] = {
    ZAE_ADMIN_OPT(DISPLAY_NAME, STRING, zae_admin_entity_opts_t,
                  display_name),
    ZAE_ADMIN_OPT(PARENT, STRING, zae_admin_entity_opts_t, parent),
    ZAE_ADMIN_OPT(CASCADE, FLAG, zae_admin_entity_opts_t, cascade),
    ZAE_ADMIN_OPT(NO_CASCADE, FLAG, zae_admin_entity_opts_t, no_cascade),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_entity_delete_options[] = {
    ZAE_ADMIN_OPT(YES, FLAG, zae_admin_entity_opts_t, yes),
    ZAE_ADMIN_OPT(FORCE, FLAG, zae_admin_entity_opts_t, force),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_entity_list_options[] = {
    ZAE_ADMIN_OPT(PARENT, STRING, zae_admin_entity_opts_t, parent),
    ZAE_ADMIN_OPT(WITH_CUSTOM_LIMITS, STRING, zae_admin_entity_opts_t,
                  with_custom_limits),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_resource_yes_options[] = {
    ZAE_ADMIN_OPT(RESOURCE, STRING, zae_admin_limits_opts_t, resource),
    ZAE_ADMIN_OPT(YES, FLAG, zae_admin_limits_opts_t, yes),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_resource_options[] = {
    ZAE_ADMIN_OPT(RESOURCE, STRING, zae_admin_limits_opts_t, resource),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_set_limits_options[] = {
    ZAE_ADMIN_OPT(LIMIT, LIST, zae_admin_limits_opts_t, limits),
    ZAE_ADMIN_OPT(RESOURCE, STRING, zae_admin_limits_opts_t, resource),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_set_defaults_options[] = {
    ZAE_ADMIN_OPT(LIMIT, LIST, zae_admin_limits_opts_t, limits),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_system_set_options[] = {
    ZAE_ADMIN_OPT(LIMIT, LIST, zae_admin_limits_opts_t, limits),
    ZAE_ADMIN_OPT(ON_UNAVAILABLE, STRING, zae_admin_limits_opts_t,
                  on_unavailable),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_limits_file_options[] = {
    ZAE_ADMIN_OPT(FILE, STRING, zae_admin_file_opts_t, file),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_time_until_options[] = {
    ZAE_ADMIN_OPT(NEEDED, LIST, zae_admin_needed_opts_t, needed),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_usage_list_options[] = {
    ZAE_ADMIN_OPT(LIMIT, STRING, zae_admin_query_opts_t, limit),
    ZAE_ADMIN_OPT(RESOURCE, STRING, zae_admin_query_opts_t, resource),
    ZAE_ADMIN_OPT(ENTITY_ID, STRING, zae_admin_query_opts_t, entity_id),
    ZAE_ADMIN_OPT(WINDOW, STRING, zae_admin_query_opts_t, window),
    ZAE_ADMIN_OPT(START, STRING, zae_admin_query_opts_t, start),
    ZAE_ADMIN_OPT(END, STRING, zae_admin_query_opts_t, end),
    ZAE_ADMIN_OPT(PLOT, FLAG, zae_admin_query_opts_t, plot),
    ZAE_ADMIN_OPT_END_OF_LIST
};

static const zae_admin_option_t  zae_admin_usage_summary_options[] = {
    ZAE_ADMIN_OPT(RESOURCE, STRING, zae_admin_query_opts_t, resource),
    ZAE_ADMIN_OPT(ENTITY_ID, STRING, zae_admin_query_opts_t, entity_id),
    ZAE_ADMIN_OPT(WINDOW, STRING, zae_admin_query_opts_t, window),
    ZAE_ADMIN_OPT(START, STRING, zae_admin_query_opts_t, start),
    ZAE_ADMIN_OPT(END, STRING, zae_admin_query_opts_t, end),
    ZAE_ADMIN_OPT_END_OF_LIST
};


#define ZAE_ADMIN_OPTS(o, type)  zae_admin_##o##_options, sizeof(type)
#define ZAE_ADMIN_NO_OPTS        NULL, 0


static const char  zae_admin_groups_help[] =
    "Exit codes: 0 ok, 1 operation failed, 2 usage error.\n";


const zae_admin_cmd_t  zae_admin_cmds[] = {

    { "aggregate", zae_admin_cmd_aggregate, 0, 0,
      ZAE_ADMIN_OPTS(aggregate, zae_admin_aggregate_opts_t),
      "aggregate [--follow] [--snapshot-windows hourly,daily]",
      "Read the table's stream and write usage snapshots, as the\n"
      "zae-limiter aggregator Lambda does (including the proactive\n"
      "bucket refill).  Without --follow it stops once caught up.", 0 },

    { "audit", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "audit <command>",
      "Audit events of entity and limit changes.", ZAE_ADMIN_CMD_GROUP },

    { "audit list", zae_admin_cmd_audit_list, 0, 0,
      ZAE_ADMIN_OPTS(audit_list, zae_admin_query_opts_t),
      "audit list [-e ENTITY] [-l N] [--start-event-id ULID]",
      "List audit events, newest first.  Without -e the system events\n"
      "($SYSTEM) are listed.", ZAE_ADMIN_CMD_DATA },

    { "available", zae_admin_cmd_available, 2, 2, ZAE_ADMIN_NO_OPTS,
      "available ENTITY RESOURCE",
      "Tokens available now for every limit that applies to ENTITY on\n"
      "RESOURCE (may be negative).",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "cfn-template", zae_admin_cmd_cfn_template, 0, 0, ZAE_ADMIN_NO_OPTS,
      "cfn-template",
      "Print a CloudFormation template (JSON) of the table, its IAM\n"
      "managed policies and throttling alarms; the stack name is the\n"
      "table name.", 0 },

    { "check", zae_admin_cmd_check, 0, 0, ZAE_ADMIN_NO_OPTS, "check",
      "Check that the table's version record is compatible with this\n"
      "client.", 0 },

    { "delete", zae_admin_cmd_delete, 0, 0,
      ZAE_ADMIN_OPTS(yes, zae_admin_yes_opts_t), "delete [--yes]",
      "Delete the table and everything in it (the CloudFormation stack\n"
      "without --endpoint-url).", 0 },

    { "deploy", zae_admin_cmd_deploy, 0, 0,
      ZAE_ADMIN_OPTS(deploy, zae_admin_deploy_opts_t),
      "deploy [--endpoint-url URL] [--enable-deletion-protection] ...",
      "Create the table (keys, GSIs, LSIs, stream, TTL), write the version\n"
      "record and register the default namespace.  Without --endpoint-url\n"
      "the table comes from a CloudFormation stack (cfn-template), created\n"
      "or updated, with its events shown until it settles.", 0 },

    { "entity", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "entity <command>",
      "Entities (API keys, projects) and their limits.",
      ZAE_ADMIN_CMD_GROUP },

    { "entity create", zae_admin_cmd_entity_create, 1, 1,
      ZAE_ADMIN_OPTS(entity_create, zae_admin_entity_opts_t),
      "entity create ENTITY [--display-name NAME] [--parent P] "
      "[--cascade]",
      "Create an entity.", ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "entity delete", zae_admin_cmd_entity_delete, 1, 1,
      ZAE_ADMIN_OPTS(entity_delete, zae_admin_entity_opts_t),
      "entity delete ENTITY [--yes] [--force]",
      "Delete an entity with its configs, buckets and usage.  A parent\n"
      "with children is refused, its children listed; --force deletes it\n"
      "and leaves them (they keep parent_id and cascade).",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "entity delete-limits", zae_admin_cmd_entity_delete_limits, 1, 1,
      ZAE_ADMIN_OPTS(resource_yes, zae_admin_limits_opts_t),
      "entity delete-limits ENTITY [-r RESOURCE] [--yes]",
      "Delete the entity's limits for RESOURCE (default _default_).",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "entity get-limits", zae_admin_cmd_entity_get, 1, 1,
      ZAE_ADMIN_OPTS(resource, zae_admin_limits_opts_t),
      "entity get-limits ENTITY [-r RESOURCE]",
      "Show the entity's stored limits for RESOURCE (default _default_).",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "entity key-hash", zae_admin_cmd_entity_key_hash, 0, 1,
      zae_admin_key_options, 0,
      "entity key-hash --key-hash-secret-file PATH [--api-key-env VAR]",
      "Print the entity id of an API key (read from stdin, or from the\n"
      "variable VAR): \"kh_\" and the base64url HMAC-SHA-256 of the key\n"
      "with the secret in PATH, as the module's $zae_limit_key_hash.", 0 },

    { "entity list", zae_admin_cmd_entity_list, 0, 0,
      ZAE_ADMIN_OPTS(entity_list, zae_admin_entity_opts_t),
      "entity list [--parent P | --with-custom-limits RESOURCE]",
      "List entities: all, the children of P, or those with custom\n"
      "limits for RESOURCE.", ZAE_ADMIN_CMD_DATA },

    { "entity list-resources", zae_admin_cmd_entity_resources, 1, 1,
      ZAE_ADMIN_NO_OPTS,
      "entity list-resources ENTITY",
      "List the resources the entity has custom limits for.",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "entity set-limits", zae_admin_cmd_entity_set, 1, 1,
      ZAE_ADMIN_OPTS(set_limits, zae_admin_limits_opts_t),
      "entity set-limits ENTITY [-r RESOURCE] -l LIMIT...",
      "Store limits for the entity on RESOURCE (default _default_) and\n"
      "update the parameters of its existing bucket.",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "entity show", zae_admin_cmd_entity_show, 1, 1, ZAE_ADMIN_NO_OPTS,
      "entity show ENTITY", "Show an entity.",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "help", NULL, 0, 0,
      ZAE_ADMIN_NO_OPTS, "help [COMMAND]", "Show help.", 0 },

    { "limits", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "limits <command>",
      "Declarative limits from a YAML manifest (zae-limiter's format).",
      ZAE_ADMIN_CMD_GROUP },

    { "limits apply", zae_admin_cmd_limits_apply, 0, 0,
      ZAE_ADMIN_OPTS(limits_file, zae_admin_file_opts_t),
      "limits apply -f FILE",
      "Write the manifest's limits, delete those it no longer declares,\n"
      "and record the managed set in the #PROVISIONER state item.", 0 },

    { "limits diff", zae_admin_cmd_limits_diff, 0, 0,
      ZAE_ADMIN_OPTS(limits_file, zae_admin_file_opts_t),
      "limits diff -f FILE",
      "Compare the manifest with the live config items.", 0 },

    { "limits plan", zae_admin_cmd_limits_plan, 0, 0,
      ZAE_ADMIN_OPTS(limits_file, zae_admin_file_opts_t),
      "limits plan -f FILE",
      "The changes apply would make, against the #PROVISIONER state.", 0 },

    { "namespace", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "namespace <command>",
      "Namespaces: isolated sets of entities and limits in one table.",
      ZAE_ADMIN_CMD_GROUP },

    { "namespace delete", zae_admin_cmd_ns_delete, 1, 1,
      ZAE_ADMIN_OPTS(yes, zae_admin_yes_opts_t),
      "namespace delete NAME [--yes]",
      "Soft-delete a namespace; its data stays until purged.", 0 },

    { "namespace list", zae_admin_cmd_ns_list, 0, 0,
      ZAE_ADMIN_NO_OPTS, "namespace list",
      "List active namespaces.", 0 },

    { "namespace orphans", zae_admin_cmd_ns_orphans, 0, 0, ZAE_ADMIN_NO_OPTS,
      "namespace orphans", "List soft-deleted namespaces.", 0 },

    { "namespace purge", zae_admin_cmd_ns_purge, 1, 1,
      ZAE_ADMIN_OPTS(yes, zae_admin_yes_opts_t),
      "namespace purge NSID [--yes]",
      "Delete every item of a soft-deleted namespace.", 0 },

    { "namespace recover", zae_admin_cmd_ns_recover, 1, 1, ZAE_ADMIN_NO_OPTS,
      "namespace recover NSID", "Recover a soft-deleted namespace.", 0 },

    { "namespace register", zae_admin_cmd_ns_register, 1,
      ZAE_ADMIN_MAX_ARGS, ZAE_ADMIN_NO_OPTS, "namespace register NAME...",
      "Register namespaces (idempotent).", 0 },

    { "namespace show", zae_admin_cmd_ns_show, 1, 1, ZAE_ADMIN_NO_OPTS,
      "namespace show NAME", "Show a namespace.", 0 },

    { "resource", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "resource <command>",
      "Default limits of a resource.", ZAE_ADMIN_CMD_GROUP },

    { "resource delete-defaults", zae_admin_cmd_resource_delete, 1, 1,
      ZAE_ADMIN_OPTS(yes, zae_admin_yes_opts_t),
      "resource delete-defaults RESOURCE [--yes]",
      "Delete the resource's default limits.", ZAE_ADMIN_CMD_DATA },

    { "resource get-defaults", zae_admin_cmd_resource_get, 1, 1,
      ZAE_ADMIN_NO_OPTS,
      "resource get-defaults RESOURCE",
      "Show the resource's default limits.", ZAE_ADMIN_CMD_DATA },

    { "resource list", zae_admin_cmd_resource_list, 0, 0, ZAE_ADMIN_NO_OPTS,
      "resource list", "List resources that have default limits.",
      ZAE_ADMIN_CMD_DATA },

    { "resource set-defaults", zae_admin_cmd_resource_set, 1, 1,
      ZAE_ADMIN_OPTS(set_defaults, zae_admin_limits_opts_t),
      "resource set-defaults RESOURCE -l LIMIT...",
      "Store the resource's default limits.", ZAE_ADMIN_CMD_DATA },

    { "status", zae_admin_cmd_status, 0, 0, ZAE_ADMIN_NO_OPTS, "status",
      "Show the table, its stream, TTL and version record.", 0 },

    { "system", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "system <command>",
      "System-wide default limits.", ZAE_ADMIN_CMD_GROUP },

    { "system delete-defaults", zae_admin_cmd_system_delete, 0, 0,
      ZAE_ADMIN_OPTS(yes, zae_admin_yes_opts_t),
      "system delete-defaults [--yes]",
      "Delete the system default limits.", ZAE_ADMIN_CMD_DATA },

    { "system get-defaults", zae_admin_cmd_system_get, 0, 0, ZAE_ADMIN_NO_OPTS,
      "system get-defaults", "Show the system default limits.",
      ZAE_ADMIN_CMD_DATA },

    { "system set-defaults", zae_admin_cmd_system_set, 0, 0,
      ZAE_ADMIN_OPTS(system_set, zae_admin_limits_opts_t),
      "system set-defaults -l LIMIT... [--on-unavailable allow|block]",
      "Store the system default limits.", ZAE_ADMIN_CMD_DATA },

    { "time-until-available", zae_admin_cmd_time_until, 2, 2,
      ZAE_ADMIN_OPTS(time_until, zae_admin_needed_opts_t),
      "time-until-available ENTITY RESOURCE --needed name:N...",
      "Seconds until the tokens needed are available.",
      ZAE_ADMIN_CMD_DATA | ZAE_ADMIN_CMD_ENTITY },

    { "usage", NULL, 0, 0, ZAE_ADMIN_NO_OPTS, "usage <command>",
      "Usage snapshots written by \"aggregate\" (or the Lambda).",
      ZAE_ADMIN_CMD_GROUP },

    { "usage list", zae_admin_cmd_usage_list, 0, 0,
      ZAE_ADMIN_OPTS(usage_list, zae_admin_query_opts_t),
      "usage list {-e ENTITY | -r RESOURCE} [-w WINDOW] [--start T] "
      "[--end T] [-l N] [-p]",
      "List usage snapshots, newest first.  -e, -r or both are needed.",
      ZAE_ADMIN_CMD_DATA },

    { "usage summary", zae_admin_cmd_usage_summary, 0, 0,
      ZAE_ADMIN_OPTS(usage_summary, zae_admin_query_opts_t),
      "usage summary {-e ENTITY | -r RESOURCE} [-w WINDOW] [--start T] "
      "[--end T]",
      "Totals, averages and extremes over the matching snapshots of one\n"
      "window: -w, else the finest window present (hourly, daily,\n"
      "monthly), so that no event is counted twice.  -e, -r or both are\n"
      "needed.", ZAE_ADMIN_CMD_DATA },

    { "version", zae_admin_cmd_version, 0, 0, ZAE_ADMIN_NO_OPTS, "version",
      "Show the client version and the table's version record.", 0 },
};

const size_t  zae_admin_ncmds = sizeof(zae_admin_cmds)
                                / sizeof(zae_admin_cmds[0]);


static const zae_admin_opt_def_t *zae_admin_find_opt(const char *name,
    size_t len, int letter);
static const zae_admin_cmd_t *zae_admin_find_cmd(const char *name);
static int zae_admin_parse(zae_admin_t *a, int argc, char **argv);
static void zae_admin_help(zae_admin_t *a, const zae_admin_cmd_t *cmd,
    FILE *f);
static int zae_admin_check_stdout(zae_admin_t *a);
static const zae_admin_option_t *zae_admin_find_option(
    const zae_admin_option_t *opts, const zae_admin_opt_def_t *d);
static int zae_admin_parse_options(zae_admin_t *a);
static void *zae_admin_xalloc(void *ctx, size_t size);
static int zae_admin_key_entity(zae_admin_t *a);


/*
 * zae-admin's allocator, as git's xmalloc(): a short-lived command has
 * nothing better to do on out-of-memory than to say so and exit, so no
 * caller checks for NULL (and the buffers built on it never fail)
 */

static void *
zae_admin_xalloc(void *ctx, size_t size)
{
    void  *p;

    p = zae_arena_alloc(ctx, size);

    if (p == NULL) {
        fprintf(stderr, "zae-admin: out of memory (%zu bytes)\n", size);
        exit(ZAE_ADMIN_EXIT_FAILED);
    }

    return p;
}


/* the entry of option d in a command's options, or NULL */

static const zae_admin_option_t *
zae_admin_find_option(const zae_admin_option_t *opts,
    const zae_admin_opt_def_t *d)
{
    if (opts == NULL) {
        return NULL;
    }

    for ( /* void */ ; opts->type != ZAE_ADMIN_OPT_END; opts++) {
        if (&zae_admin_opt_defs[opts->id] == d) {
            return opts;
        }
    }

    return NULL;
}


/*
 * --key-hash-secret-file: the entity id is "kh_" base64url(HMAC-SHA-256
 * (secret, API key)) (zae_key_hash(), the module's $zae_limit_key_hash),
 * inserted as the first argument.  The key is never taken from the
 * command line, where ps shows it: it comes from the variable that
 * --api-key-env names, else from the first line of stdin (not echoed on
 * a terminal).
 */

static int
zae_admin_key_entity(zae_admin_t *a)
{
    int                i;
    char               line[4096], *id;
    size_t             len;
    const char        *path, *var, *key;
    zae_err_t          err;
    struct termios     old, quiet;
    zae_key_secret_t   secret;

    path = a->key.key_hash_secret_file;
    var = a->key.api_key_env;

    if (path == NULL) {
        if (var) {
            return zae_admin_usage_error(a, "--api-key-env needs "
                                         "--key-hash-secret-file");
        }

        return ZAE_ADMIN_EXIT_OK;
    }

    if (a->nargs == ZAE_ADMIN_MAX_ARGS) {
        return zae_admin_usage_error(a, "too many arguments");
    }

    if (zae_key_secret_read(&secret, path, &err) != ZAE_OK) {
        zae_admin_error(a, "%s", err.msg);
        return ZAE_ADMIN_EXIT_USAGE;
    }

    if (var) {
        key = getenv(var);

        if (key == NULL) {
            zae_key_secret_wipe(&secret);
            return zae_admin_usage_error(a, "--api-key-env: \"%s\" is not "
                                         "set", zae_admin_shown(a, var));
        }

        len = strlen(key);

    } else {
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
            fprintf(stderr, "API key (not echoed): ");
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t) ECHO;
            (void) tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
            key = fgets(line, sizeof(line), stdin);
            (void) tcsetattr(STDIN_FILENO, TCSANOW, &old);
            fputc('\n', stderr);

        } else {
            key = fgets(line, sizeof(line), stdin);
        }

        len = key ? strlen(key) : 0;

        while (len && (key[len - 1] == '\n' || key[len - 1] == '\r')) {
            len--;
        }
    }

    if (len == 0) {
        zae_key_secret_wipe(&secret);
        OPENSSL_cleanse(line, sizeof(line));
        return zae_admin_usage_error(a, "no API key given (%s)",
                                     var ? "the variable is empty"
                                         : "stdin is empty");
    }

    id = zae_alloc(&a->mem, ZAE_KEY_HASH_LEN + 1);

    if (id == NULL
        || zae_key_hash(&secret, (u_char *) key, len, (u_char *) id)
           != ZAE_OK)
    {
        zae_key_secret_wipe(&secret);
        OPENSSL_cleanse(line, sizeof(line));
        zae_admin_error(a, "cannot hash the API key");
        return ZAE_ADMIN_EXIT_FAILED;
    }

    zae_key_secret_wipe(&secret);
    OPENSSL_cleanse(line, sizeof(line));

    id[ZAE_KEY_HASH_LEN] = '\0';

    for (i = a->nargs; i > 0; i--) {
        a->args[i] = a->args[i - 1];
    }

    a->args[0] = id;
    a->nargs++;

    return ZAE_ADMIN_EXIT_OK;
}


static const zae_admin_opt_def_t *
zae_admin_find_opt(const char *name, size_t len, int letter)
{
    const zae_admin_opt_def_t  *d;

    for (d = zae_admin_opt_defs; d->name; d++) {
        if (letter) {
            if (d->letter == letter) {
                return d;
            }

            continue;
        }

        if (strlen(d->name) == len && strncmp(d->name, name, len) == 0) {
            return d;
        }
    }

    return NULL;
}


static const zae_admin_cmd_t *
zae_admin_find_cmd(const char *name)
{
    int     rc;
    size_t  lo, hi, mid;

    /* the table is sorted: binary search */

    lo = 0;
    hi = zae_admin_ncmds;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = strcmp(name, zae_admin_cmds[mid].name);

        if (rc == 0) {
            return &zae_admin_cmds[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


void
zae_admin_error(zae_admin_t *a, const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "%s: ", a->prog);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}


int
zae_admin_usage_error(zae_admin_t *a, const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "%s: ", a->prog);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);

    if (a->cmd) {
        fprintf(stderr, "usage: %s %s\n", a->prog, a->cmd->synopsis);
    }

    return ZAE_ADMIN_EXIT_USAGE;
}


/*
 * A value from the command line as an error message quotes it: at most
 * ZAE_ADMIN_SHOWN_MAX characters (as zae-limiter cuts its ValidationError
 * values) followed by "..." when longer, control bytes as \xNN so that
 * they reach the terminal as text.
 */

#define ZAE_ADMIN_SHOWN_MAX  50

const char *
zae_admin_shown(zae_admin_t *a, const char *s)
{
    char           *out, *p, *end;
    size_t          n;
    const u_char   *c;

    static const char  hex[] = "0123456789abcdef";

    /* a character may take 4 bytes of UTF-8, a control byte 4 as \xNN */

    out = zae_alloc(&a->mem, ZAE_ADMIN_SHOWN_MAX * 4 + sizeof("..."));
    if (out == NULL) {
        return "(out of memory)";
    }

    p = out;
    end = out + ZAE_ADMIN_SHOWN_MAX * 4;
    n = 0;

    for (c = (const u_char *) s; *c; c++) {

        if ((*c & 0xc0) != 0x80 && n++ == ZAE_ADMIN_SHOWN_MAX) {
            break;                      /* a character starts here */
        }

        if (end - p < 4) {
            break;
        }

        if (*c < 0x20 || *c == 0x7f) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 0xf];

        } else {
            *p++ = (char) *c;
        }
    }

    if (*c) {
        memcpy(p, "...", 3);
        p += 3;
    }

    *p = '\0';

    return out;
}


/* a name from the command line, checked by one of the core's validators */

static int
zae_admin_check_name(zae_admin_t *a, const char *what,
    int (*validate)(const u_char *s, size_t len, zae_err_t *err),
    const char *s, zae_str_t *out)
{
    zae_err_t  err;

    *out = zae_admin_str(s);

    if (validate(out->data, out->len, &err) != ZAE_OK) {
        zae_admin_usage_error(a, "invalid %s \"%s\": %s", what,
                              zae_admin_shown(a, s), err.msg);
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_admin_check_entity(zae_admin_t *a, const char *s, zae_str_t *out)
{
    return zae_admin_check_name(a, "entity id", zae_validate_entity_id, s,
                                out);
}


int
zae_admin_check_resource(zae_admin_t *a, const char *s, zae_str_t *out)
{
    return zae_admin_check_name(a, "resource", zae_validate_resource, s,
                                out);
}


zae_str_t
zae_admin_str(const char *s)
{
    zae_str_t  str;

    str.data = (u_char *) s;
    str.len = s ? strlen(s) : 0;

    return str;
}


int
zae_admin_random(zae_admin_t *a, u_char *buf, size_t len)
{
    if (RAND_bytes(buf, (int) len) != 1) {
        zae_admin_error(a, "no random bytes available");
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int64_t
zae_admin_now_ms(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


void
zae_admin_now_ts(u_char *out)
{
    zae_ts_format(out, (time_t) (zae_admin_now_ms() / 1000));
}


/*
 * Destructive commands: --yes, or a "y" answer on a terminal; without
 * a terminal the command is refused
 */

int
zae_admin_confirm(zae_admin_t *a, unsigned yes, const char *what)
{
    char  line[64];

    if (yes) {
        return ZAE_OK;
    }

    if (!isatty(STDIN_FILENO)) {
        zae_admin_error(a, "refusing to %s without confirmation: "
                        "pass --yes", what);
        return ZAE_DECLINED;
    }

    fprintf(stderr, "%s? [y/N] ", what);
    fflush(stderr);

    if (fgets(line, sizeof(line), stdin) == NULL
        || (line[0] != 'y' && line[0] != 'Y'))
    {
        zae_admin_error(a, "aborted");
        return ZAE_DECLINED;
    }

    return ZAE_OK;
}


static int
zae_admin_add_opt(zae_admin_t *a, const zae_admin_opt_def_t *d,
    const char *value)
{
    if (a->ngiven == ZAE_ADMIN_MAX_OPTS) {
        zae_admin_error(a, "too many options");
        return ZAE_ERROR;
    }

    a->given[a->ngiven].def = d;
    a->given[a->ngiven].value = value ? value : "";
    a->ngiven++;

    return ZAE_OK;
}


/*
 * The options given, in their order, into the struct of whoever takes
 * them: the global ones into zae_admin_t, the API key ones of the entity
 * commands into a->key, the command's own into its option struct
 * a->opts; any other is not valid here
 */

static int
zae_admin_parse_options(zae_admin_t *a)
{
    int                          i, key;
    u_char                      *dst;
    zae_admin_list_t            *list;
    const zae_admin_cmd_t       *cmd;
    const zae_admin_option_t    *o;
    const zae_admin_opt_def_t   *d;

    cmd = a->cmd;

    if (cmd && cmd->opts_size) {
        a->opts = zae_alloc(&a->mem, cmd->opts_size);
        memset(a->opts, 0, cmd->opts_size);
    }

    key = cmd && ((cmd->flags & ZAE_ADMIN_CMD_ENTITY)
                  || cmd->options == zae_admin_key_options);

    for (i = 0; i < a->ngiven; i++) {
        d = a->given[i].def;

        if ((o = zae_admin_find_option(zae_admin_global_options, d))) {
            dst = (u_char *) a;

        } else if (key && (o = zae_admin_find_option(zae_admin_key_options,
                                                     d)))
        {
            dst = (u_char *) &a->key;

        } else if (cmd && (o = zae_admin_find_option(cmd->options, d))) {
            dst = a->opts;

        } else {
            return zae_admin_usage_error(a, "option \"--%s\" is not valid "
                                         "here", d->name);
        }

        dst += o->offset;

        switch (o->type) {

        case ZAE_ADMIN_OPT_FLAG:
            *(unsigned *) dst = 1;
            break;

        case ZAE_ADMIN_OPT_STRING:
            *(const char **) dst = a->given[i].value;
            break;

        default: /* ZAE_ADMIN_OPT_LIST */
            list = (zae_admin_list_t *) dst;
            list->v[list->n++] = a->given[i].value;
            break;
        }
    }

    return ZAE_ADMIN_EXIT_OK;
}


/*
 * Splits the command line into options and words.  Options may appear
 * anywhere; "--" ends them.  The words name the command and give its
 * arguments.
 */

static int
zae_admin_parse(zae_admin_t *a, int argc, char **argv)
{
    int                         i, n, nwords, dashdash;
    char                       *arg, *eq, *words[ZAE_ADMIN_MAX_ARGS + 2];
    char                        name[128];
    const char                 *value;
    const zae_admin_cmd_t      *cmd;
    const zae_admin_opt_def_t  *d;

    nwords = 0;
    dashdash = 0;

    for (i = 1; i < argc; i++) {
        arg = argv[i];

        if (dashdash || arg[0] != '-' || arg[1] == '\0') {
            if (nwords == ZAE_ADMIN_MAX_ARGS + 2) {
                return zae_admin_usage_error(a, "too many arguments");
            }

            words[nwords++] = arg;
            continue;
        }

        if (strcmp(arg, "--") == 0) {
            dashdash = 1;
            continue;
        }

        value = NULL;

        if (arg[1] == '-') {
            eq = strchr(arg + 2, '=');
            n = eq ? (int) (eq - arg - 2) : (int) strlen(arg + 2);
            d = zae_admin_find_opt(arg + 2, (size_t) n, 0);

            if (d == NULL) {
                return zae_admin_usage_error(a, "unknown option \"%.*s\"",
                                             n + 2, arg);
            }

            if (eq) {
                if (!d->has_arg) {
                    return zae_admin_usage_error(a, "option \"--%s\" takes "
                                                 "no value", d->name);
                }

                value = eq + 1;
            }

        } else {
            d = zae_admin_find_opt(NULL, 0, (u_char) arg[1]);

            if (d == NULL) {
                return zae_admin_usage_error(a, "unknown option \"-%c\"",
                                             arg[1]);
            }

            if (arg[2] != '\0') {
                if (!d->has_arg) {
                    return zae_admin_usage_error(a, "option \"-%c\" takes "
                                                 "no value", arg[1]);
                }

                value = arg + 2;
            }
        }

        if (d->has_arg && value == NULL) {
            if (i + 1 == argc) {
                return zae_admin_usage_error(a, "option \"--%s\" needs a "
                                             "value", d->name);
            }

            value = argv[++i];
        }

        if (zae_admin_add_opt(a, d, value) != ZAE_OK) {
            return ZAE_ADMIN_EXIT_USAGE;
        }
    }

    /* the command: two words ("entity create") or one ("status") */

    cmd = NULL;
    n = 0;

    if (nwords >= 2) {
        snprintf(name, sizeof(name), "%s %s", words[0], words[1]);
        cmd = zae_admin_find_cmd(name);
        n = 2;
    }

    if (cmd == NULL && nwords >= 1) {
        cmd = zae_admin_find_cmd(words[0]);
        n = 1;
    }

    if (nwords && cmd == NULL) {
        return zae_admin_usage_error(a, "unknown command \"%s\" (see "
                                     "\"%s --help\")", words[0], a->prog);
    }

    a->cmd = cmd;

    for (i = n; i < nwords; i++) {
        a->args[a->nargs++] = words[i];
    }

    return zae_admin_parse_options(a);
}


static void
zae_admin_help(zae_admin_t *a, const zae_admin_cmd_t *cmd, FILE *f)
{
    size_t                      i, len;
    const zae_admin_opt_def_t  *d;

    if (cmd == NULL) {
        fprintf(f, "usage: %s [global options] <command> [options] "
                "[args]\n\ncommands:\n", a->prog);

        for (i = 0; i < zae_admin_ncmds; i++) {
            if (zae_admin_cmds[i].flags & ZAE_ADMIN_CMD_GROUP) {
                continue;
            }

            fprintf(f, "  %s\n", zae_admin_cmds[i].synopsis);
        }

        fprintf(f, "\nglobal options:\n");

        for (i = 0; i < ZAE_ADMIN_GLOBAL_OPTS; i++) {
            d = &zae_admin_opt_defs[i];
            fprintf(f, "  %c%c%s--%-14s %s\n", d->letter ? '-' : ' ',
                    d->letter ? d->letter : ' ', d->letter ? ", " : "  ",
                    d->name, d->help);
        }

        fprintf(f, "\n%s", zae_admin_groups_help);
        return;
    }

    fprintf(f, "usage: %s %s\n\n%s\n", a->prog, cmd->synopsis, cmd->help);

    if (cmd->flags & ZAE_ADMIN_CMD_GROUP) {
        fprintf(f, "\ncommands:\n");
        len = strlen(cmd->name);

        for (i = 0; i < zae_admin_ncmds; i++) {
            if (strncmp(zae_admin_cmds[i].name, cmd->name, len) == 0
                && zae_admin_cmds[i].name[len] == ' ')
            {
                fprintf(f, "  %s\n", zae_admin_cmds[i].synopsis);
            }
        }

        return;
    }

    if (cmd->options) {
        fprintf(f, "\noptions:\n");

        for (d = &zae_admin_opt_defs[ZAE_ADMIN_GLOBAL_OPTS]; d->name; d++) {
            if (zae_admin_find_option(cmd->options, d) == NULL
                && !((cmd->flags & ZAE_ADMIN_CMD_ENTITY)
                     && zae_admin_find_option(zae_admin_key_options, d)))
            {
                continue;
            }

            fprintf(f, "  %c%c%s--%-20s %s\n", d->letter ? '-' : ' ',
                    d->letter ? d->letter : ' ', d->letter ? ", " : "  ",
                    d->has_arg ? d->name : d->name, d->help);
        }
    }

    fprintf(f, "\nglobal options: -n/--name, --region, --endpoint-url, "
            "-N/--namespace,\n  --output table|json, --principal, "
            "-h/--help\n");
}


static int
zae_admin_check_stdout(zae_admin_t *a)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE) {
            return ZAE_OK;
        }

        fprintf(stderr, "%s: write failure on standard output: %s\n",
                a->prog, strerror(errno));
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
main(int argc, char **argv)
{
    int                     rc;
    const char             *env;
    zae_admin_t             a;
    const zae_admin_cmd_t  *cmd;

    memset(&a, 0, sizeof(zae_admin_t));
    a.prog = "zae-admin";

    zae_arena_init(&a.arena, 0);
    a.mem.alloc = zae_admin_xalloc;
    a.mem.ctx = &a.arena;

    rc = zae_admin_parse(&a, argc, argv);
    if (rc != ZAE_ADMIN_EXIT_OK) {
        goto done;
    }

    cmd = a.cmd;

    if (cmd && cmd->handler == NULL && !(cmd->flags & ZAE_ADMIN_CMD_GROUP)) {

        /* "help [command...]" */

        cmd = NULL;

        if (a.nargs >= 2) {
            char  name[128];

            snprintf(name, sizeof(name), "%s %s", a.args[0], a.args[1]);
            cmd = zae_admin_find_cmd(name);
        }

        if (cmd == NULL && a.nargs >= 1) {
            cmd = zae_admin_find_cmd(a.args[0]);

            if (cmd == NULL) {
                a.cmd = NULL;
                rc = zae_admin_usage_error(&a, "unknown command \"%s\"",
                                           a.args[0]);
                goto done;
            }
        }

        zae_admin_help(&a, cmd, stdout);
        goto done;
    }

    if (a.help) {
        zae_admin_help(&a, cmd, stdout);
        goto done;
    }

    if (cmd == NULL) {
        zae_admin_help(&a, NULL, stderr);
        rc = ZAE_ADMIN_EXIT_USAGE;
        goto done;
    }

    if (cmd->flags & ZAE_ADMIN_CMD_GROUP) {
        zae_admin_error(&a, "\"%s\" needs a command", cmd->name);
        zae_admin_help(&a, cmd, stderr);
        rc = ZAE_ADMIN_EXIT_USAGE;
        goto done;
    }

    if ((cmd->flags & ZAE_ADMIN_CMD_ENTITY)
        || cmd->handler == zae_admin_cmd_entity_key_hash)
    {
        rc = zae_admin_key_entity(&a);
        if (rc != ZAE_ADMIN_EXIT_OK) {
            goto done;
        }
    }

    if (a.nargs < cmd->min_args) {
        rc = zae_admin_usage_error(&a, "missing argument");
        goto done;
    }

    if (a.nargs > cmd->max_args) {
        rc = zae_admin_usage_error(&a, "unexpected argument \"%s\"",
                                   a.args[cmd->max_args]);
        goto done;
    }

    /* global options with their environment defaults */

    env = getenv("ZAEL_STACK");
    a.table = a.table ? a.table : (env && *env ? env : "zae-limiter");

    env = getenv("ZAEL_NAMESPACE");
    a.ns_name = a.ns_name ? a.ns_name : (env && *env ? env : "default");

    if (a.region == NULL) {
        env = getenv("AWS_REGION");
        if (env == NULL || *env == '\0') {
            env = getenv("AWS_DEFAULT_REGION");
        }

        a.region = env && *env ? env : "us-east-1";
    }

    a.endpoint = a.endpoint_opt;

    if (a.endpoint == NULL) {
        env = getenv("AWS_ENDPOINT_URL_DYNAMODB");
        if (env == NULL || *env == '\0') {
            env = getenv("AWS_ENDPOINT_URL");
        }

        a.endpoint = env && *env ? env : NULL;
    }

    if (a.output_opt) {
        if (strcmp(a.output_opt, "json") == 0) {
            a.output = ZAE_ADMIN_OUTPUT_JSON;

        } else if (strcmp(a.output_opt, "table") != 0) {
            rc = zae_admin_usage_error(&a, "invalid --output \"%s\": use "
                                       "table or json",
                                       zae_admin_shown(&a, a.output_opt));
            goto done;
        }
    }

    {
        zae_err_t  err;

        if (zae_validate_table_name((u_char *) a.table, strlen(a.table),
                                    &err)
            != ZAE_OK)
        {
            rc = zae_admin_usage_error(&a, "invalid table name \"%s\": %s",
                                       zae_admin_shown(&a, a.table), err.msg);
            goto done;
        }

        if (a.principal && strncmp(a.principal, "arn:", 4) != 0
            && zae_validate_entity_id((u_char *) a.principal,
                                      strlen(a.principal), &err)
               != ZAE_OK)
        {
            rc = zae_admin_usage_error(&a, "invalid principal \"%s\": %s",
                                       zae_admin_shown(&a, a.principal),
                                       err.msg);
            goto done;
        }
    }

    if (zae_admin_http_init(&a) != ZAE_OK) {
        rc = ZAE_ADMIN_EXIT_FAILED;
        goto done;
    }

    if (cmd->flags & ZAE_ADMIN_CMD_DATA) {
        rc = zae_admin_resolve_ns(&a, 0);
        if (rc != ZAE_ADMIN_EXIT_OK) {
            goto done;
        }
    }

    rc = cmd->handler(&a);

done:

    zae_admin_http_done(&a);

    if (zae_admin_check_stdout(&a) != ZAE_OK && rc == ZAE_ADMIN_EXIT_OK) {
        rc = ZAE_ADMIN_EXIT_FAILED;
    }

    zae_arena_free(&a.arena);

    return rc;
}
