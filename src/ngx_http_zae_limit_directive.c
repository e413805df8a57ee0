
/*
 * Copyright (C) zae-limit authors
 *
 * The directives' handlers: each parses its arguments into the main or
 * location configuration (ngx_http_zae_limit_module.c has the command
 * table, the create and merge functions and the init path).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_zae_limit_module.h"
#include "zae_body.h"


static char *ngx_http_zae_limit_parse_consume(ngx_conf_t *cf,
    ngx_http_zae_limit_loc_conf_t *zlcf, ngx_str_t *value);


#define ngx_http_zae_limit_mcf(field)                                         \
    offsetof(ngx_http_zae_limit_main_conf_t, field)


/* the parameters of zae_limit_dynamodb that are a value and its range */

static ngx_http_zae_limit_param_t  ngx_http_zae_limit_ddb_params[] = {

    { ngx_string("endpoint="), NGX_HTTP_ZAE_LIMIT_PARAM_STR, 0, 0,
      ngx_http_zae_limit_mcf(ddb_conf.endpoint), NULL },

    { ngx_string("timeout="), NGX_HTTP_ZAE_LIMIT_PARAM_MSEC, 1,
      NGX_MAX_INT32_VALUE, ngx_http_zae_limit_mcf(ddb_conf.timeout),
      "timeout is a time above 0, e.g. 250ms or 1s" },

    { ngx_string("max_attempts="), NGX_HTTP_ZAE_LIMIT_PARAM_NUM, 1, 10,
      ngx_http_zae_limit_mcf(ddb_conf.max_attempts),
      "max_attempts is a number from 1 to 10" },

    { ngx_string("keepalive="), NGX_HTTP_ZAE_LIMIT_PARAM_NUM, 0, 4096,
      ngx_http_zae_limit_mcf(ddb_conf.keepalive),
      "keepalive is a number from 0 to 4096" },

    { ngx_string("max_connections="), NGX_HTTP_ZAE_LIMIT_PARAM_NUM, 0, 65536,
      ngx_http_zae_limit_mcf(ddb_conf.max_connections),
      "max_connections is a number from 0 (no cap) to 65536" },

    { ngx_string("max_waiting="), NGX_HTTP_ZAE_LIMIT_PARAM_NUM, 0, 65536,
      ngx_http_zae_limit_mcf(ddb_conf.max_waiting),
      "max_waiting is a number from 0 to 65536" },

    { ngx_string("config_cache="), NGX_HTTP_ZAE_LIMIT_PARAM_MSEC, 0,
      NGX_MAX_INT32_VALUE, ngx_http_zae_limit_mcf(config_ttl),
      "config_cache is a time, e.g. 60s; 0 turns it off" },

    { ngx_string("flush_interval="), NGX_HTTP_ZAE_LIMIT_PARAM_MSEC, 1, 60000,
      ngx_http_zae_limit_mcf(flush_interval),
      "flush_interval is a time above 0 and at most 60s" },

    { ngx_string("exit_deadline="), NGX_HTTP_ZAE_LIMIT_PARAM_MSEC, 1, 600000,
      ngx_http_zae_limit_mcf(exit_deadline),
      "exit_deadline is a time above 0 and at most 600s" },

    { ngx_string("max_pending="), NGX_HTTP_ZAE_LIMIT_PARAM_NUM, 1,
      NGX_MAX_INT32_VALUE, ngx_http_zae_limit_mcf(max_deltas),
      "max_pending is a number above 0" },

    { ngx_string("ssl_verify="), NGX_HTTP_ZAE_LIMIT_PARAM_FLAG, 0, 1,
      ngx_http_zae_limit_mcf(ddb_conf.ssl_verify),
      "accepted values are \"on\" and \"off\"" },

    { ngx_string("ssl_trusted_certificate="), NGX_HTTP_ZAE_LIMIT_PARAM_STR,
      0, 0, ngx_http_zae_limit_mcf(ddb_conf.ssl_trusted_certificate), NULL },

    { ngx_string("imds="), NGX_HTTP_ZAE_LIMIT_PARAM_FLAG, 0, 1,
      ngx_http_zae_limit_mcf(ddb_conf.imds),
      "accepted values are \"on\" and \"off\"" },

    { ngx_null_string, 0, 0, 0, 0, NULL }
};


char *
ngx_http_zae_limit_dynamodb(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zae_limit_main_conf_t *zmcf = conf;

    u_char                    *p;
    size_t                     len;
    ssize_t                    size;
    const char                *rule;
    ngx_int_t                  rc;
    ngx_str_t                 *value, name, s;
    zae_err_t                  err;
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

        rc = ngx_http_zae_limit_conf_param(cf, ngx_http_zae_limit_ddb_params,
                                           &value[i], zmcf);
        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

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


char *
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


char *
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


char *
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

char *
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


char *
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

char *
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


/*
 * One "name=value" parameter of a table: NGX_OK, stored in conf;
 * NGX_DECLINED, not one of the table's; NGX_ERROR, logged with its rule.
 */

ngx_int_t
ngx_http_zae_limit_conf_param(ngx_conf_t *cf,
    ngx_http_zae_limit_param_t *params, ngx_str_t *value, void *conf)
{
    u_char                      *field;
    ngx_int_t                    n;
    ngx_str_t                    s;
    ngx_http_zae_limit_param_t  *pm;

    for (pm = params; pm->name.len; pm++) {

        if (value->len < pm->name.len
            || ngx_strncmp(value->data, pm->name.data, pm->name.len) != 0)
        {
            continue;
        }

        s.data = value->data + pm->name.len;
        s.len = value->len - pm->name.len;

        field = (u_char *) conf + pm->offset;

        switch (pm->type) {

        case NGX_HTTP_ZAE_LIMIT_PARAM_MSEC:
            n = ngx_parse_time(&s, 0);
            if (n == NGX_ERROR || n < (ngx_int_t) pm->min
                || n > (ngx_int_t) pm->max)
            {
                break;
            }

            *(ngx_msec_t *) field = (ngx_msec_t) n;
            return NGX_OK;

        case NGX_HTTP_ZAE_LIMIT_PARAM_NUM:
            n = ngx_atoi(s.data, s.len);
            if (n == NGX_ERROR || n < (ngx_int_t) pm->min
                || n > (ngx_int_t) pm->max)
            {
                break;
            }

            *(ngx_uint_t *) field = (ngx_uint_t) n;
            return NGX_OK;

        case NGX_HTTP_ZAE_LIMIT_PARAM_FLAG:
            if (s.len == 2 && ngx_strncmp(s.data, "on", 2) == 0) {
                *(ngx_flag_t *) field = 1;
                return NGX_OK;
            }

            if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
                *(ngx_flag_t *) field = 0;
                return NGX_OK;
            }

            break;

        default: /* NGX_HTTP_ZAE_LIMIT_PARAM_STR */
            *(ngx_str_t *) field = s;
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": %s", value, pm->rule);

        return NGX_ERROR;
    }

    return NGX_DECLINED;
}
