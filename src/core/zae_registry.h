
/*
 * Copyright (C) zae-limit authors
 *
 * The table's registry records and the writes that keep them: which
 * resources have defaults ({ns}/SYSTEM# #RESOURCES, a string set), how
 * many entities have custom limits on each resource ({ns}/SYSTEM#
 * #ENTITY_CONFIG_RESOURCES, one counter per resource), and the status
 * of a namespace (_/SYSTEM# #NSID#{id}).  Each builder fills the key,
 * the update and condition expressions and their names and values of
 * a zae_ddb_req_t (or of a TransactWriteItems action), from mem; the
 * caller sets the table and sends it.
 */


#ifndef _ZAE_REGISTRY_H_INCLUDED_
#define _ZAE_REGISTRY_H_INCLUDED_


#include "zae_core.h"
#include "zae_ddb.h"


/* conditions of writes that create an item, or change an existing one */

#define ZAE_REGISTRY_NEW      "attribute_not_exists(PK)"
#define ZAE_REGISTRY_EXISTS   "attribute_exists(PK)"


/*
 * #RESOURCES: add resource to the set (and give the item its GSI4 keys
 * if it has none), or delete it from the set
 */
int zae_registry_resource(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *ns,
    zae_str_t *resource, int add);

/*
 * #ENTITY_CONFIG_RESOURCES: add delta to the counter of resource; a
 * positive delta also gives the item its GSI4 keys if it has none
 */
int zae_registry_count(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *ns,
    zae_str_t *resource, int64_t delta);

/* #ENTITY_CONFIG_RESOURCES: remove the counter of resource if it is <= 0 */
int zae_registry_drop(zae_mem_t *mem, zae_ddb_req_t *r, zae_str_t *ns,
    zae_str_t *resource);


typedef enum {
    ZAE_REGISTRY_DELETED_KEEP = 0,      /* deleted_at as it is */
    ZAE_REGISTRY_DELETED_SET,           /* deleted_at = the time given */
    ZAE_REGISTRY_DELETED_REMOVE         /* no deleted_at */
} zae_registry_deleted_e;

/*
 * _/SYSTEM# #NSID#{nsid} of an existing namespace: status = status,
 * deleted_at as deleted says (the time "at", an ISO 8601 timestamp,
 * for ZAE_REGISTRY_DELETED_SET)
 */
int zae_registry_ns_status(zae_mem_t *mem, zae_ddb_req_t *r,
    zae_str_t *nsid, const char *status, zae_registry_deleted_e deleted,
    zae_str_t *at);


#endif /* _ZAE_REGISTRY_H_INCLUDED_ */
