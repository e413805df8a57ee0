
/*
 * Copyright (C) zae-limit authors
 *
 * The module's skeleton: the directive table (their handlers are in
 * ngx_http_zae_limit_directive.c), the variables, the create, init and
 * merge of the configuration, and the one init path: postconfiguration
 * installs the phase handlers, a worker's start starts every part.
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
