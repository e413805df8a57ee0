
/*
 * Copyright (C) zae-limit authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_body.h"


static ngx_int_t ngx_http_zae_limit_add_variables(ngx_conf_t *cf);
static void *ngx_http_zae_limit_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_zae_limit_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_zae_limit_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_zae_limit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_zae_limit_dynamodb(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zae_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zae_limit_parse_consume(ngx_conf_t *cf,
    ngx_http_zae_limit_loc_conf_t *zlcf, ngx_str_t *value);
static char *ngx_http_zae_limit_reconcile(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zae_limit_namespace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zae_limit_headers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zae_limit_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zae_limit_key_hash(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_zae_limit_key_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_zae_limit_check_creds(ngx_conf_t *cf,
    ngx_http_zae_limit_main_conf_t *zmcf);
static ngx_int_t ngx_http_zae_limit_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_zae_limit_init_process(ngx_cycle_t *cycle);
static void ngx_http_zae_limit_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_zae_limit_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_zae_limit_on_unavailable[] = {
    { ngx_string("allow"), NGX_HTTP_ZAE_LIMIT_ALLOW },
    { ngx_string("block"), NGX_HTTP_ZAE_LIMIT_BLOCK },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_zae_limit_error_formats[] = {
    { ngx_string("zae"), ZAE_BODY_ZAE },
    { ngx_string("openai"), ZAE_BODY_OPENAI },
    { ngx_string("anthropic"), ZAE_BODY_ANTHROPIC },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_zae_limit_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_command_t  ngx_http_zae_limit_commands[] = {

    { ngx_string("zae_limit_dynamodb"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_zae_limit_dynamodb,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_zae_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit_reconcile"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_zae_limit_reconcile,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit_namespace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_zae_limit_namespace,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit_on_unavailable"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_loc_conf_t, on_unavailable),
      &ngx_http_zae_limit_on_unavailable },

    { ngx_string("zae_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_loc_conf_t, status_code),
      &ngx_http_zae_limit_status_bounds },

    { ngx_string("zae_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_loc_conf_t, limit_log_level),
      &ngx_http_zae_limit_log_levels },

    { ngx_string("zae_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_loc_conf_t, dry_run),
      NULL },

    { ngx_string("zae_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_zae_limit_headers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit_error_format"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_loc_conf_t, error_format),
      &ngx_http_zae_limit_error_formats },

    { ngx_string("zae_limit_rollback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_zae_limit_loc_conf_t, rollback),
      NULL },

    { ngx_string("zae_limit_key_hash"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_zae_limit_key_hash,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit_lease"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_zae_limit_lease_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zae_limit_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_zae_limit_metrics,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_zae_limit_module_ctx = {
    ngx_http_zae_limit_add_variables,      /* preconfiguration */
    ngx_http_zae_limit_init,               /* postconfiguration */

    ngx_http_zae_limit_create_main_conf,   /* create main configuration */
    ngx_http_zae_limit_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_zae_limit_create_loc_conf,    /* create location configuration */
    ngx_http_zae_limit_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_zae_limit_module = {
    NGX_MODULE_V1,
    &ngx_http_zae_limit_module_ctx,        /* module context */
    ngx_http_zae_limit_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_zae_limit_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_zae_limit_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_zae_limit_vars[] = {

    { ngx_string("zae_limit_status"), NULL,
      ngx_http_zae_limit_status_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("zae_limit_retry_after"), NULL,
      ngx_http_zae_limit_retry_after_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("zae_limit_source"), NULL,
      ngx_http_zae_limit_source_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("zae_limit_key_hash"), NULL,
      ngx_http_zae_limit_key_hash_variable, 0, 0, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_zae_limit_add_variables(ngx_conf_t *cf)
{
    return ngx_http_zae_limit_add_vars(cf, ngx_http_zae_limit_vars);
}


/* adds a null-terminated table of variables (this module's, the llm's) */

ngx_int_t
ngx_http_zae_limit_add_vars(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_zae_limit_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_zae_limit_main_conf_t));
    if (zmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     zmcf->table = { 0, NULL };
     *     zmcf->namespace = { 0, NULL };
     *     zmcf->shm_zone = NULL;
     *     zmcf->ddb = NULL;
     *     zmcf->configured = 0;
     */

    zmcf->config_ttl = NGX_CONF_UNSET_MSEC;
    zmcf->flush_interval = NGX_CONF_UNSET_MSEC;
    zmcf->exit_deadline = NGX_CONF_UNSET_MSEC;
    zmcf->max_deltas = NGX_CONF_UNSET_UINT;
    zmcf->ddb_conf.timeout = NGX_CONF_UNSET_MSEC;
    zmcf->ddb_conf.max_attempts = NGX_CONF_UNSET_UINT;
    zmcf->ddb_conf.keepalive = NGX_CONF_UNSET_UINT;
    zmcf->ddb_conf.max_connections = NGX_CONF_UNSET_UINT;
    zmcf->ddb_conf.max_waiting = NGX_CONF_UNSET_UINT;
    zmcf->ddb_conf.ssl_verify = NGX_CONF_UNSET;
    zmcf->ddb_conf.resolver_timeout = NGX_CONF_UNSET_MSEC;

    return zmcf;
}


static char *
ngx_http_zae_limit_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_zae_limit_main_conf_t *zmcf = conf;

    ngx_conf_init_msec_value(zmcf->config_ttl, 60000);
    ngx_conf_init_msec_value(zmcf->flush_interval, 1000);
    ngx_conf_init_msec_value(zmcf->exit_deadline, 5000);
    ngx_conf_init_uint_value(zmcf->max_deltas, 65536);
    ngx_conf_init_msec_value(zmcf->ddb_conf.timeout,
                             NGX_HTTP_ZAE_LIMIT_DDB_TIMEOUT);
    ngx_conf_init_uint_value(zmcf->ddb_conf.max_attempts,
                             NGX_HTTP_ZAE_LIMIT_DDB_MAX_ATTEMPTS);
    ngx_conf_init_uint_value(zmcf->ddb_conf.keepalive,
                             NGX_HTTP_ZAE_LIMIT_DDB_KEEPALIVE);
    ngx_conf_init_uint_value(zmcf->ddb_conf.max_connections,
                             NGX_HTTP_ZAE_LIMIT_DDB_MAX_CONNECTIONS);
    ngx_conf_init_uint_value(zmcf->ddb_conf.max_waiting,
                             NGX_HTTP_ZAE_LIMIT_DDB_MAX_WAITING);
    ngx_conf_init_value(zmcf->ddb_conf.ssl_verify, 1);
    ngx_conf_init_msec_value(zmcf->ddb_conf.resolver_timeout,
                             NGX_HTTP_ZAE_LIMIT_DDB_RESOLVER_TIMEOUT);

    return NGX_CONF_OK;
}


static void *
ngx_http_zae_limit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_zae_limit_loc_conf_t  *zlcf;

    zlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_zae_limit_loc_conf_t));
    if (zlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     zlcf->entity = NULL;
     *     zlcf->resource = NULL;
     *     zlcf->consume = NULL;
     *     zlcf->limits = NULL;
     *     zlcf->reconcile = NULL;
     *     zlcf->namespace = NULL;
     */

    zlcf->on_unavailable = NGX_CONF_UNSET_UINT;
    zlcf->status_code = NGX_CONF_UNSET_UINT;
    zlcf->limit_log_level = NGX_CONF_UNSET_UINT;
    zlcf->dry_run = NGX_CONF_UNSET;
    zlcf->headers = NGX_CONF_UNSET;
    zlcf->error_format = NGX_CONF_UNSET_UINT;
    zlcf->rollback = NGX_CONF_UNSET;
    zlcf->lease = NGX_CONF_UNSET_PTR;

    return zlcf;
}


static char *
ngx_http_zae_limit_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_zae_limit_loc_conf_t *prev = parent;
    ngx_http_zae_limit_loc_conf_t *conf = child;

    ngx_uint_t                       i, j;
    ngx_http_zae_limit_consume_t    *c;
    ngx_http_zae_limit_reconcile_t  *rc;

    if (conf->entity == NULL) {
        conf->entity = prev->entity;
        conf->resource = prev->resource;
        conf->consume = prev->consume;
        conf->limits = prev->limits;
        conf->consume_text = prev->consume_text;
        conf->empty_reject = prev->empty_reject;
    }

    if (conf->reconcile == NULL) {
        conf->reconcile = prev->reconcile;
    }

    /* a reconciliation of a limit the location does not consume */

    if (conf->reconcile && conf->consume) {
        rc = conf->reconcile->elts;
        c = conf->consume->elts;

        for (i = 0; i < conf->reconcile->nelts; i++) {

            for (j = 0; j < conf->consume->nelts; j++) {
                if (c[j].name.len == rc[i].name.len
                    && ngx_strncmp(c[j].name.data, rc[i].name.data,
                                   rc[i].name.len) == 0)
                {
                    break;
                }
            }

            if (j == conf->consume->nelts) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"zae_limit_reconcile %V\" in %V:%ui "
                              "reconciles a limit that \"zae_limit\" does "
                              "not consume (consume=%V)", &rc[i].name,
                              &rc[i].file, rc[i].line,
                              &conf->consume_text);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (conf->namespace == NULL) {
        conf->namespace = prev->namespace;
    }

    if (conf->key_hash == NULL) {
        conf->key_hash = prev->key_hash;
        conf->key_secret = prev->key_secret;
    }

    ngx_conf_merge_ptr_value(conf->lease, prev->lease, NULL);

    ngx_conf_merge_uint_value(conf->on_unavailable, prev->on_unavailable,
                              NGX_HTTP_ZAE_LIMIT_UNSET);
    ngx_conf_merge_uint_value(conf->status_code, prev->status_code,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    if (conf->headers == NGX_CONF_UNSET) {
        conf->header_requests = prev->header_requests;
        conf->header_tokens = prev->header_tokens;
    }

    ngx_conf_merge_value(conf->headers, prev->headers,
                         NGX_HTTP_ZAE_LIMIT_HEADERS_ON);
    ngx_conf_merge_uint_value(conf->error_format, prev->error_format,
                              ZAE_BODY_ZAE);
    ngx_conf_merge_value(conf->rollback, prev->rollback, 1);

    return NGX_CONF_OK;
}


static char *
ngx_http_zae_limit_dynamodb(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_main_conf_t *zmcf = conf;

    u_char                    *p;
    size_t                     len;
    ssize_t                    size;
    const char                *rule;
    ngx_int_t                  n;
    ngx_str_t                 *value, name, s;
    zae_err_t                  err;
    ngx_msec_t                 ms;
    ngx_uint_t                 i;
    ngx_http_zae_limit_shm_t  *shm;

    if (zmcf->configured) {
        return "is duplicate";
    }

    value = cf->args->elts;

    name.len = 0;
    size = 0;
    rule = NULL;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "table=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            if (zae_validate_table_name((u_char *) s.data, s.len, &err)
                != ZAE_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid table \"%V\": %s", &s, err.msg);
                return NGX_CONF_ERROR;
            }

            zmcf->table = s;
            continue;
        }

        if (ngx_strncmp(value[i].data, "region=", 7) == 0) {
            zmcf->ddb_conf.region.data = value[i].data + 7;
            zmcf->ddb_conf.region.len = value[i].len - 7;

            if (zmcf->ddb_conf.region.len == 0) {
                rule = "a region is lowercase letters, digits and \"-\", "
                       "e.g. \"us-east-1\"";
                goto invalid;
            }

            for (p = zmcf->ddb_conf.region.data;
                 p < zmcf->ddb_conf.region.data + zmcf->ddb_conf.region.len;
                 p++)
            {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
                      || *p == '-'))
                {
                    rule = "a region is lowercase letters, digits and "
                           "\"-\", e.g. \"us-east-1\"";
                    goto invalid;
                }
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "endpoint=", 9) == 0) {
            zmcf->ddb_conf.endpoint.data = value[i].data + 9;
            zmcf->ddb_conf.endpoint.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "namespace=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            if (zae_validate_namespace((u_char *) s.data, s.len, &err)
                != ZAE_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid namespace \"%V\": %s", &s,
                                   err.msg);
                return NGX_CONF_ERROR;
            }

            zmcf->namespace = s;
            continue;
        }

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            name.data = value[i].data + 5;

            p = (u_char *) ngx_strchr(name.data, ':');

            rule = "expected zone=name:size, e.g. zone=zae_limit:10m";

            if (p == NULL) {
                goto invalid;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR || name.len == 0) {
                goto invalid;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small: the minimum "
                                   "is %uzk (8 memory pages)", &value[i],
                                   8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                rule = "timeout is a time above 0, e.g. 250ms or 1s";
                goto invalid;
            }

            zmcf->ddb_conf.timeout = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_attempts=", 13) == 0) {
            n = ngx_atoi(value[i].data + 13, value[i].len - 13);
            if (n == NGX_ERROR || n < 1 || n > 10) {
                rule = "max_attempts is a number from 1 to 10";
                goto invalid;
            }

            zmcf->ddb_conf.max_attempts = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "keepalive=", 10) == 0) {
            n = ngx_atoi(value[i].data + 10, value[i].len - 10);
            if (n == NGX_ERROR || n > 4096) {
                rule = "keepalive is a number from 0 to 4096";
                goto invalid;
            }

            zmcf->ddb_conf.keepalive = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_connections=", 16) == 0) {
            n = ngx_atoi(value[i].data + 16, value[i].len - 16);
            if (n == NGX_ERROR || n > 65536) {
                goto invalid;
            }

            zmcf->ddb_conf.max_connections = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_waiting=", 12) == 0) {
            n = ngx_atoi(value[i].data + 12, value[i].len - 12);
            if (n == NGX_ERROR || n > 65536) {
                goto invalid;
            }

            zmcf->ddb_conf.max_waiting = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "config_cache=", 13) == 0) {
            s.data = value[i].data + 13;
            s.len = value[i].len - 13;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR) {
                rule = "config_cache is a time, e.g. 60s; 0 turns it off";
                goto invalid;
            }

            zmcf->config_ttl = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "flush_interval=", 15) == 0) {
            s.data = value[i].data + 15;
            s.len = value[i].len - 15;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0 || ms > 60000) {
                rule = "flush_interval is a time above 0 and at most 60s";
                goto invalid;
            }

            zmcf->flush_interval = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "exit_deadline=", 14) == 0) {
            s.data = value[i].data + 14;
            s.len = value[i].len - 14;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0 || ms > 600000) {
                goto invalid;
            }

            zmcf->exit_deadline = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_pending=", 12) == 0) {
            n = ngx_atoi(value[i].data + 12, value[i].len - 12);
            if (n == NGX_ERROR || n < 1) {
                rule = "max_pending is a number above 0";
                goto invalid;
            }

            zmcf->max_deltas = n;
            continue;
        }

        if (ngx_strcmp(value[i].data, "imds=on") == 0) {
            zmcf->ddb_conf.imds = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "imds=off") == 0) {
            zmcf->ddb_conf.imds = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "ssl_verify=on") == 0) {
            zmcf->ddb_conf.ssl_verify = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "ssl_verify=off") == 0) {
            zmcf->ddb_conf.ssl_verify = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ssl_trusted_certificate=", 24) == 0) {
            zmcf->ddb_conf.ssl_trusted_certificate.data = value[i].data + 24;
            zmcf->ddb_conf.ssl_trusted_certificate.len = value[i].len - 24;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ssl_verify=", 11) == 0
            || ngx_strncmp(value[i].data, "imds=", 5) == 0)
        {
            rule = "accepted values are \"on\" and \"off\"";
            goto invalid;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (zmcf->table.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"table\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (zmcf->ddb_conf.region.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"region\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (zmcf->namespace.len == 0) {
        ngx_str_set(&zmcf->namespace, "default");
    }

    if (name.len == 0) {
        ngx_str_set(&name, "zae_limit");
        size = 10 * 1024 * 1024;
    }

    zmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_zae_limit_module);
    if (zmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    shm = ngx_pcalloc(cf->pool, sizeof(ngx_http_zae_limit_shm_t));
    if (shm == NULL) {
        return NGX_CONF_ERROR;
    }

    shm->max_deltas = (zmcf->max_deltas == NGX_CONF_UNSET_UINT)
                      ? 65536 : zmcf->max_deltas;

    /* the zone's entries belong to one table: see init_zone */

    /*
     * a table is its name and region; the endpoint is only the way to it
     * (a proxy, a VPC endpoint, the regional name): changing it keeps the
     * zone, and the pending deltas go to the same table the new way
     */

    len = zmcf->table.len + 1 + zmcf->ddb_conf.region.len;

    shm->owner.data = ngx_pnalloc(cf->pool, len);
    if (shm->owner.data == NULL) {
        return NGX_CONF_ERROR;
    }

    shm->owner.len = ngx_sprintf(shm->owner.data, "%V %V", &zmcf->table,
                                 &zmcf->ddb_conf.region)
                     - shm->owner.data;

    zmcf->shm_zone->init = ngx_http_zae_limit_init_zone;
    zmcf->shm_zone->data = shm;

    len = zmcf->ddb_conf.endpoint.len;

    if (len && ngx_strncmp(zmcf->ddb_conf.endpoint.data, "http://", 7) != 0
        && ngx_strncmp(zmcf->ddb_conf.endpoint.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid endpoint \"%V\": "
                           "must start with http:// or https://",
                           &zmcf->ddb_conf.endpoint);
        return NGX_CONF_ERROR;
    }

    zmcf->configured = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\": %s", &value[i], rule);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_zae_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_loc_conf_t *zlcf = conf;

    char                              *rv;
    ngx_str_t                         *value, s;
    ngx_http_zae_limit_main_conf_t    *zmcf;
    ngx_uint_t                         i;
    zae_err_t                          err;
    ngx_http_complex_value_t         **cvp;
    ngx_http_compile_complex_value_t   ccv;

    if (zlcf->entity) {
        return "is duplicate";
    }

    zmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_zae_limit_module);

    if (!zmcf->configured) {
        return "requires \"zae_limit_dynamodb\" before it in the http block";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "entity=", 7) == 0) {
            cvp = &zlcf->entity;
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

        } else if (ngx_strncmp(value[i].data, "resource=", 9) == 0) {
            cvp = &zlcf->resource;
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

        } else if (ngx_strncmp(value[i].data, "consume=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            rv = ngx_http_zae_limit_parse_consume(cf, zlcf, &s);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;

        } else if (ngx_strncmp(value[i].data, "limits=", 7) == 0) {
            zlcf->limits = ngx_pcalloc(cf->pool, sizeof(zae_limits_t));
            if (zlcf->limits == NULL) {
                return NGX_CONF_ERROR;
            }

            if (zae_limits_parse(zlcf->limits, value[i].data + 7,
                                 value[i].len - 7, &err)
                != ZAE_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid limits \"%V\": %s",
                                   &value[i], err.msg);
                return NGX_CONF_ERROR;
            }

            continue;

        } else if (ngx_strcmp(value[i].data, "empty=skip") == 0) {
            zlcf->empty_reject = 0;
            continue;

        } else if (ngx_strcmp(value[i].data, "empty=reject") == 0) {
            zlcf->empty_reject = 1;
            continue;

        } else if (ngx_strncmp(value[i].data, "empty=", 6) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": accepted values "
                               "are \"skip\" and \"reject\"", &value[i]);
            return NGX_CONF_ERROR;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (s.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty value in \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        *cvp = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (*cvp == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &s;
        ccv.complex_value = *cvp;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if ((*cvp)->lengths == NULL) {

            /* a constant: validate it now */

            if (cvp == &zlcf->entity) {
                if (zae_validate_entity_id(s.data, s.len, &err) != ZAE_OK) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "invalid entity \"%V\": %s", &s,
                                       err.msg);
                    return NGX_CONF_ERROR;
                }

            } else if (zae_validate_resource_strict(s.data, s.len, &err)
                       != ZAE_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid resource \"%V\": %s", &s,
                                   err.msg);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (zlcf->entity == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"entity\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (zlcf->resource == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"resource\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (zlcf->consume == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"consume\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_zae_limit_parse_consume(ngx_conf_t *cf,
    ngx_http_zae_limit_loc_conf_t *zlcf, ngx_str_t *value)
{
    u_char                            *p, *last, *comma, *colon;
    ngx_str_t                          amount;
    ngx_uint_t                         i;
    zae_err_t                          err;
    ngx_http_zae_limit_consume_t      *c, *cs;
    ngx_http_compile_complex_value_t   ccv;

    if (zlcf->consume) {
        return "has duplicate \"consume\" parameter";
    }

    zlcf->consume = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_zae_limit_consume_t));
    if (zlcf->consume == NULL) {
        return NGX_CONF_ERROR;
    }

    p = value->data;
    last = value->data + value->len;

    zlcf->consume_text = *value;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        colon = ngx_strlchr(p, comma, ':');
        if (colon == NULL || colon == p || colon + 1 == comma) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid consume \"%V\": expected "
                               "name:amount[,name:amount...]", value);
            return NGX_CONF_ERROR;
        }

        c = ngx_array_push(zlcf->consume);
        if (c == NULL) {
            return NGX_CONF_ERROR;
        }

        c->name.data = p;
        c->name.len = colon - p;
        c->value = NULL;
        c->amount = 0;

        if (zae_validate_limit_name(c->name.data, c->name.len, &err)
            != ZAE_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid consume \"%V\": %s", value, err.msg);
            return NGX_CONF_ERROR;
        }

        cs = zlcf->consume->elts;

        for (i = 0; i < zlcf->consume->nelts - 1; i++) {
            if (cs[i].name.len == c->name.len
                && ngx_strncmp(cs[i].name.data, c->name.data, c->name.len)
                   == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid consume \"%V\": "
                                   "duplicate limit \"%V\"", value, &c->name);
                return NGX_CONF_ERROR;
            }
        }

        if (zlcf->consume->nelts > ZAE_LIMITS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid consume \"%V\": too many limits",
                               value);
            return NGX_CONF_ERROR;
        }

        amount.data = colon + 1;
        amount.len = comma - amount.data;

        if (ngx_strlchr(amount.data, amount.data + amount.len, '$')) {
            c->value = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
            if (c->value == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            ccv.cf = cf;
            ccv.value = &amount;
            ccv.complex_value = c->value;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else if (zae_parse_tokens(amount.data, amount.len, &c->amount,
                                    &err)
                   != ZAE_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid consume \"%V\": %s", value, err.msg);
            return NGX_CONF_ERROR;
        }

        p = comma + 1;
    }

    if (zlcf->consume->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid consume \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_zae_limit_reconcile(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_loc_conf_t *zlcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    zae_err_t                          err;
    ngx_http_zae_limit_reconcile_t    *rc, *rcs;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (zae_validate_limit_name(value[1].data, value[1].len, &err)
        != ZAE_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid limit name \"%V\": %s", &value[1],
                           err.msg);
        return NGX_CONF_ERROR;
    }

    if (zlcf->reconcile == NULL) {
        zlcf->reconcile = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_zae_limit_reconcile_t));
        if (zlcf->reconcile == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rcs = zlcf->reconcile->elts;

    for (i = 0; i < zlcf->reconcile->nelts; i++) {
        if (rcs[i].name.len == value[1].len
            && ngx_strncmp(rcs[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate reconcile of limit \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    rc = ngx_array_push(zlcf->reconcile);
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    rc->name = value[1];
    rc->file = cf->conf_file->file.name;
    rc->line = cf->conf_file->line;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &rc->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_zae_limit_namespace(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_loc_conf_t *zlcf = conf;

    ngx_str_t                         *value;
    zae_err_t                          err;
    ngx_http_compile_complex_value_t   ccv;

    if (zlcf->namespace) {
        return "is duplicate";
    }

    value = cf->args->elts;

    zlcf->namespace = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (zlcf->namespace == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = zlcf->namespace;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (zlcf->namespace->lengths == NULL
        && zae_validate_namespace(value[1].data, value[1].len, &err)
           != ZAE_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid namespace \"%V\": %s", &value[1],
                           err.msg);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* zae_limit_headers on | off | openai [limit=requests] [limit=tokens] */

static char *
ngx_http_zae_limit_headers(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_loc_conf_t *zlcf = conf;

    u_char      *eq;
    ngx_str_t   *value, name, *dst;
    ngx_uint_t   i;
    zae_err_t    err;

    if (zlcf->headers != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        zlcf->headers = NGX_HTTP_ZAE_LIMIT_HEADERS_ON;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        zlcf->headers = 0;

    } else if (ngx_strcmp(value[1].data, "openai") == 0) {
        zlcf->headers = NGX_HTTP_ZAE_LIMIT_HEADERS_OPENAI;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", it must be \"on\", "
                           "\"off\" or \"openai\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts > 2
        && zlcf->headers != NGX_HTTP_ZAE_LIMIT_HEADERS_OPENAI)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": limits are mapped "
                           "only by \"openai\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL) {
            goto invalid;
        }

        name.data = value[i].data;
        name.len = eq - value[i].data;

        if (ngx_strcmp(eq + 1, "requests") == 0) {
            dst = &zlcf->header_requests;

        } else if (ngx_strcmp(eq + 1, "tokens") == 0) {
            dst = &zlcf->header_tokens;

        } else {
            goto invalid;
        }

        if (dst->len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate \"%s\" in \"%V\"", eq + 1,
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (zae_validate_limit_name(name.data, name.len, &err) != ZAE_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid limit name in \"%V\": %s",
                               &value[i], err.msg);
            return NGX_CONF_ERROR;
        }

        *dst = name;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\", it must be "
                       "limit=requests or limit=tokens", &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_zae_limit_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_zae_limit_module);

    if (!zmcf->configured) {
        return "requires \"zae_limit_dynamodb\" before it in the http block";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_zae_limit_metrics_handler;

    return NGX_CONF_OK;
}


/*
 * zae_limit_key_hash $http_x_api_key secret_file=PATH: the secret is
 * read once here (by the master, so the file can stay root's own), kept
 * as its keyed HMAC state
 */

static char *
ngx_http_zae_limit_key_hash(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_loc_conf_t *zlcf = conf;

    ngx_str_t                         *value, path;
    zae_err_t                          err;
    ngx_http_compile_complex_value_t   ccv;

    if (zlcf->key_hash) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[2].data, "secret_file=", 12) != 0
        || value[2].len == 12)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": expected "
                           "secret_file=PATH", &value[2]);
        return NGX_CONF_ERROR;
    }

    path.data = value[2].data + 12;
    path.len = value[2].len - 12;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    zlcf->key_secret = ngx_pcalloc(cf->pool, sizeof(zae_key_secret_t));
    if (zlcf->key_secret == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zae_key_secret_read(zlcf->key_secret, (char *) path.data, &err)
        != ZAE_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid secret_file: %s", err.msg);
        return NGX_CONF_ERROR;
    }

    zlcf->key_hash = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (zlcf->key_hash == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = zlcf->key_hash;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* $zae_limit_key_hash: "kh_" + base64url(HMAC-SHA-256), empty if no key */

static ngx_int_t
ngx_http_zae_limit_key_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    ngx_str_t                       key;
    ngx_http_zae_limit_loc_conf_t  *zlcf;

    zlcf = ngx_http_get_module_loc_conf(r, ngx_http_zae_limit_module);

    if (zlcf->key_hash == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, zlcf->key_hash, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (key.len == 0) {

        /* no key: an empty entity, which zae_limit's empty= decides */

        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, ZAE_KEY_HASH_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (zae_key_hash(zlcf->key_secret, key.data, key.len, p) != ZAE_OK) {
        return NGX_ERROR;
    }

    v->len = ZAE_KEY_HASH_LEN;
    v->data = p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_zae_limit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt             *h;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_zae_limit_module);

    if (!zmcf->configured) {
        return NGX_OK;
    }

    /* the http block's resolver, if one is configured */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->resolver && clcf->resolver != NGX_CONF_UNSET_PTR
        && clcf->resolver->connections.nelts)
    {
        zmcf->ddb_conf.resolver = clcf->resolver;

        if (clcf->resolver_timeout != NGX_CONF_UNSET_MSEC
            && clcf->resolver_timeout != 0)
        {
            zmcf->ddb_conf.resolver_timeout = clcf->resolver_timeout;
        }
    }

    zmcf->ddb = ngx_http_zae_limit_ddb_create(cf, &zmcf->ddb_conf);
    if (zmcf->ddb == NULL) {
        return NGX_ERROR;
    }

    ngx_http_zae_limit_check_creds(cf, zmcf);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * the precontent phase runs after the access phase: requests refused
     * by auth_basic or auth_request consume nothing, and "satisfy any"
     * is not affected
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_zae_limit_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_zae_limit_log_handler;

    return ngx_http_zae_limit_filter_init(cf);
}


/*
 * nginx clears the workers' environment but for the "env" directives
 * (main context): without one that brings a credential source, every
 * call would fail; nginx -t says so and how to fix it (the worker says
 * it again at error level when it starts)
 */

static void
ngx_http_zae_limit_check_creds(ngx_conf_t *cf,
    ngx_http_zae_limit_main_conf_t *zmcf)
{
    size_t            len;
    ngx_str_t        *var;
    ngx_uint_t        i, j;
    ngx_core_conf_t  *ccf;

    static const char  *sources[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "HOME",
        NULL
    };

    if (zmcf->ddb_conf.imds) {
        return;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);
    var = ccf->env.elts;

    for (i = 0; i < ccf->env.nelts; i++) {
        for (j = 0; sources[j]; j++) {
            len = ngx_strlen(sources[j]);

            if (var[i].len != len
                || ngx_strncmp(var[i].data, sources[j], len) != 0)
            {
                continue;
            }

            /*
             * "env NAME=value;" (nginx keeps the name's length and the
             * "=value" after it), or "env NAME;" with NAME set here
             */

            if (var[i].data[len] == '=' || getenv(sources[j]) != NULL) {
                return;
            }
        }
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "zae_limit: no AWS credentials reach the workers: "
                       "add \"env AWS_ACCESS_KEY_ID;\" and "
                       "\"env AWS_SECRET_ACCESS_KEY;\" in the main context "
                       "(before \"http\") with the variables set in "
                       "nginx's environment (systemd: Environment= or "
                       "EnvironmentFile= in a drop-in), or "
                       "\"env AWS_SHARED_CREDENTIALS_FILE;\" for a "
                       "credentials file, or imds=on; DynamoDB Local "
                       "accepts any key");
}


/*
 * A worker's start, the one place that starts every part: the AWS
 * credentials, the DynamoDB client that signs with them, then the
 * reconciliation flush timer and the exit watcher.
 */

static ngx_int_t
ngx_http_zae_limit_init_process(ngx_cycle_t *cycle)
{
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_zae_limit_main_conf_t  *zmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module);

    if (cmcf == NULL) {
        return NGX_OK;
    }

    zmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_zae_limit_module);

    if (zmcf == NULL || !zmcf->configured) {
        return NGX_OK;
    }

    zmcf->creds = ngx_http_zae_limit_creds_init_process(cycle, zmcf->ddb,
                                                        &zmcf->ddb_conf);
    if (zmcf->creds == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_zae_limit_ddb_init_process(cycle, zmcf->ddb, zmcf->creds)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_zae_limit_reconcile_init_process(cycle, zmcf);
}


static void
ngx_http_zae_limit_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_zae_limit_main_conf_t  *zmcf;

    zmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_zae_limit_module);

    if (zmcf == NULL || !zmcf->configured) {
        return;
    }

    ngx_http_zae_limit_reconcile_exit_process(cycle, zmcf);

    if (zmcf->creds) {
        ngx_http_zae_limit_creds_exit_process(zmcf->creds);
    }

    ngx_http_zae_limit_ddb_exit_process(cycle, zmcf->ddb);
}
