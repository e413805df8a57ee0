
/*
 * Copyright (C) zae-limit authors
 *
 * Bucket upkeep: the writes to existing bucket shards that happen
 * outside a request (zae-admin's, where the module's are zae_proto.c's):
 * the parameters after a limits change (facts 4.5), the aggregator's
 * proactive refill (facts 7.2 step 3) and its spread of shard_count to
 * the other shards (facts 3.7).  Each builder fills the key, the update
 * and condition expressions and their names and values of an UpdateItem
 * request from mem; the caller sets the table and sends it.  A failed
 * condition means the bucket moved on (or is not there): not an error.
 */


#ifndef _ZAE_UPKEEP_H_INCLUDED_
#define _ZAE_UPKEEP_H_INCLUDED_


#include "zae_core.h"
#include "zae_ddb.h"
#include "zae_limit.h"
#include "zae_proto.h"


/*
 * On shard ref->shard, if it exists: SET cp/ra/rp (milli) of each limit
 * of ls, tk (full) and tc (0) of a limit new to it; ttl > 0: SET ttl,
 * else REMOVE it; REMOVE the fields of the nstale stale limits.  The
 * new item comes back (ReturnValues ALL_NEW) for its shard_count.
 */
int zae_upkeep_sync(zae_mem_t *mem, zae_ddb_req_t *r, zae_bucket_ref_t *ref,
    const zae_limits_t *ls, int64_t ttl, zae_str_t *stale, size_t nstale);

/*
 * If rf is still expected_rf: SET rf = now_ms, ADD tokens[i] (milli) to
 * b_{names[i]}_tk, n > 0 limits
 */
int zae_upkeep_refill(zae_mem_t *mem, zae_ddb_req_t *r, zae_bucket_ref_t *ref,
    int64_t now_ms, int64_t expected_rf, zae_str_t *names, int64_t *tokens,
    size_t n);

/* SET shard_count = count if it is smaller */
int zae_upkeep_shard_count(zae_mem_t *mem, zae_ddb_req_t *r,
    zae_bucket_ref_t *ref, int64_t count);


#endif /* _ZAE_UPKEEP_H_INCLUDED_ */
