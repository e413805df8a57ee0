
/*
 * Copyright (C) zae-limit authors
 *
 * Token bucket math, wire-compatible with zae-limiter's bucket.py.
 * Every amount is int64 millitokens, every time int64 ms, and Python's
 * "//" is floor division.  Products are computed in 128 bits and
 * results saturate at INT64_MIN/INT64_MAX instead of wrapping.
 */


#ifndef _ZAE_BUCKET_H_INCLUDED_
#define _ZAE_BUCKET_H_INCLUDED_


#include "zae_core.h"
#include "zae_limit.h"


#define ZAE_BUCKET_TTL_MULTIPLIER  7


/* one limit of a bucket item: b_{L}_tk, rf, b_{L}_cp, b_{L}_ra, b_{L}_rp */

typedef struct {
    int64_t            tk;        /* millitokens, may be negative (debt) */
    int64_t            last;      /* last refill, epoch ms */
    int64_t            cp;        /* capacity, millitokens */
    int64_t            ra;        /* refill amount, millitokens */
    int64_t            rp;        /* refill period, ms */
} zae_bucket_t;


typedef struct {
    int64_t            tk;        /* refilled balance before consuming */
    int64_t            last;      /* refill time after drift compensation */
    int64_t            new_tk;    /* balance after consuming (tk if not) */
    int64_t            available; /* tk // 1000: whole tokens, may be < 0 */
    int64_t            retry_ms;  /* 0 if consumed, else (deficit*rp//ra)+1 */
    unsigned           exceeded:1;
} zae_bucket_result_t;


/* the slow-path "Normal write" numbers, all in millitokens */

typedef struct {
    int64_t            refill_added;  /* new_tk - stored_tk + consumed */
    int64_t            tk_delta;      /* refill_added - consumed */
    int64_t            tc_delta;      /* consumed */
    int64_t            floor;         /* max(0, consumed - refill_added) */
} zae_bucket_delta_t;


/* Python a // b (floor); b <= 0 returns 0; INT64_MIN // -1 saturates */
int64_t zae_floor_div(int64_t a, int64_t b);

/* a * b saturated to int64 */
int64_t zae_mul_sat(int64_t a, int64_t b);

/* a + b saturated to int64 */
int64_t zae_add_sat(int64_t a, int64_t b);

/*
 * refill_bucket(): elapsed <= 0, a zero refill, or invalid parameters
 * (ra <= 0 or rp <= 0) leave tk and last unchanged; otherwise
 * add = elapsed*ra // rp, new_tk = min(cp, tk + add),
 * new_last = last + add*rp // ra.  A negative tk is never clamped.
 */
void zae_bucket_refill(int64_t tk, int64_t last, int64_t now, int64_t cp,
    int64_t ra, int64_t rp, int64_t *new_tk, int64_t *new_last);

/*
 * try_consume(): refill to now, then consume tokens*1000 if the refilled
 * balance covers it.  Returns ZAE_OK (consumed) or ZAE_DECLINED
 * (exceeded; res->retry_ms says when).  The bucket is not modified:
 * on success the caller stores res->new_tk and res->last.
 */
int zae_bucket_try_consume(const zae_bucket_t *b, int64_t tokens,
    int64_t now, zae_bucket_result_t *res);

/* force_consume(): refill, then tk -= tokens*1000 with no floor (debt) */

/* available(): refilled tk // 1000, may be negative */
int64_t zae_bucket_available(const zae_bucket_t *b, int64_t now);

/*
 * time_until_available(needed): retry ms of (needed*1000 - refilled tk);
 * 0 if already available.  Over several limits take the maximum.
 */
int64_t zae_bucket_time_until_available(const zae_bucket_t *b,
    int64_t tokens, int64_t now);

/* would_refill_satisfy(): 1 if a refill to now covers tokens, else 0 */
int zae_bucket_would_refill_satisfy(const zae_bucket_t *b, int64_t tokens,
    int64_t now);

/* calc_retry() in integer ms: 0 if deficit <= 0, else (deficit*rp//ra)+1 */
int64_t zae_bucket_retry_ms(int64_t deficit, int64_t ra, int64_t rp);

/* the Python float seconds of a retry: ms / 1000.0 */
double zae_bucket_retry_seconds(int64_t retry_ms);

/* retry_after_ms = int(seconds * 1000): IEEE double, truncated */

/* Retry-After header value: int(seconds) + 1 */
int64_t zae_bucket_retry_header(double seconds);

/*
 * Bucket TTL in seconds: int(max over limits of
 * capacity / refill_amount * period * multiplier), float math;
 * 0 when the multiplier is <= 0 or there is no valid limit
 */
int64_t zae_bucket_ttl_seconds(const zae_limits_t *ls, int64_t multiplier);

/*
 * The slow-path Normal write: stored_tk as read, new_tk after refill and
 * consumption, consumed in millitokens
 */
void zae_bucket_write_delta(int64_t stored_tk, int64_t new_tk,
    int64_t consumed, zae_bucket_delta_t *d);


#endif /* _ZAE_BUCKET_H_INCLUDED_ */
