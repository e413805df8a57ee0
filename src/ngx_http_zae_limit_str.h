
/*
 * Copyright (C) zae-limit authors
 *
 * The core's zae_str_t and nginx's ngx_str_t are the same two fields
 * in the same order (a length, then a data pointer).  These turn one
 * into the other instead of copies field by field and casts.
 */


#ifndef _NGX_HTTP_ZAE_LIMIT_STR_H_INCLUDED_
#define _NGX_HTTP_ZAE_LIMIT_STR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "zae_core.h"


static ngx_inline ngx_str_t
ngx_http_zae_limit_ngx_str(const zae_str_t *zs)
{
    ngx_str_t  s;

    s.len = zs->len;
    s.data = zs->data;

    return s;
}


static ngx_inline zae_str_t
ngx_http_zae_limit_zae_str(const ngx_str_t *s)
{
    zae_str_t  zs;

    zs.len = s->len;
    zs.data = s->data;

    return zs;
}


/*
 * a zae_str_t for "%V" of ngx_log_error() and ngx_sprintf(), which read
 * it as an ngx_str_t: the check below stops the build if the two ever
 * differ
 */

#define ngx_http_zae_limit_v(zs)  ((ngx_str_t *) (zs))

typedef char  ngx_http_zae_limit_str_check_t[
    (sizeof(zae_str_t) == sizeof(ngx_str_t)
     && offsetof(zae_str_t, len) == offsetof(ngx_str_t, len)
     && offsetof(zae_str_t, data) == offsetof(ngx_str_t, data)
     && sizeof(((zae_str_t *) 0)->len) == sizeof(((ngx_str_t *) 0)->len))
    ? 1 : -1];


#endif /* _NGX_HTTP_ZAE_LIMIT_STR_H_INCLUDED_ */
