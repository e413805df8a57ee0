
/*
 * Copyright (C) zae-limit authors
 */


/* what zae_keys.c and zae_schema.c share; not part of the API */


#ifndef _ZAE_SCHEMA_INT_H_INCLUDED_
#define _ZAE_SCHEMA_INT_H_INCLUDED_


#include "zae_schema.h"


int zae_schema_key(zae_mem_t *mem, zae_str_t *out, const char *fmt, ...);
int zae_schema_add_primary(zae_mem_t *mem, zae_av_t *item, zae_keys_t *k);
int zae_schema_add_gsi(zae_mem_t *mem, zae_av_t *item, zae_keys_t *k);


#endif /* _ZAE_SCHEMA_INT_H_INCLUDED_ */
