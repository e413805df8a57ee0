
/*
 * Copyright (C) zae-limit authors
 *
 * The helpers zae_proto.c (the speculative path, the adjustments) and
 * zae_proto_slow.c (the slow path) share; not part of the core's API.
 */


#ifndef _ZAE_PROTO_INT_H_INCLUDED_
#define _ZAE_PROTO_INT_H_INCLUDED_


#include "zae_proto.h"
#include "zae_bucket.h"


int zae_proto_key(zae_mem_t *mem, zae_str_t *ns, zae_str_t *entity,
    zae_str_t *resource, int64_t shard, zae_av_t **key);
int zae_proto_attr(zae_ddb_expr_t *x, zae_str_t *name, const char *suffix,
    const char **ph);
int zae_proto_check_consume(zae_amount_t *consume, size_t n,
    zae_err_t *err);
void zae_proto_status(zae_limit_status_t *st, zae_str_t *entity,
    zae_str_t *resource, zae_str_t *name, int64_t cp, int64_t ra,
    int64_t rp, int64_t requested, zae_bucket_result_t *res);
int64_t zae_proto_primary(zae_limit_status_t *st, size_t n);
int zae_proto_once(zae_ddb_expr_t *x, const u_char *an, size_t len,
    const zae_str_t *id, const char **wn, const char **wv);
void zae_proto_once_cond(zae_buf_t *cond, const char *wn, const char *wv);


#endif /* _ZAE_PROTO_INT_H_INCLUDED_ */
