
/*
 * Copyright (C) zae-limit authors
 */


#include <math.h>

#include "zae_bucket.h"


typedef __int128  zae_i128_t;


static int64_t zae_sat128(zae_i128_t v);
static zae_i128_t zae_retry_ms128(zae_i128_t deficit, int64_t ra,
    int64_t rp);


static int64_t
zae_sat128(zae_i128_t v)
{
    if (v > INT64_MAX) {
        return INT64_MAX;
    }

    if (v < INT64_MIN) {
        return INT64_MIN;
    }

    return (int64_t) v;
}


int64_t
zae_floor_div(int64_t a, int64_t b)
{
    zae_i128_t  q, r;

    if (b == 0) {
        return 0;
    }

    q = (zae_i128_t) a / b;
    r = (zae_i128_t) a % b;

    if (r != 0 && ((r < 0) != (b < 0))) {
        q--;
    }

    return zae_sat128(q);
}


int64_t
zae_mul_sat(int64_t a, int64_t b)
{
    return zae_sat128((zae_i128_t) a * b);
}


int64_t
zae_add_sat(int64_t a, int64_t b)
{
    return zae_sat128((zae_i128_t) a + b);
}


void
zae_bucket_refill(int64_t tk, int64_t last, int64_t now, int64_t cp,
    int64_t ra, int64_t rp, int64_t *new_tk, int64_t *new_last)
{
    zae_i128_t  elapsed, add, used;

    *new_tk = tk;
    *new_last = last;

    if (ra <= 0 || rp <= 0) {
        return;
    }

    elapsed = (zae_i128_t) now - last;

    if (elapsed <= 0) {
        return;
    }

    /* elapsed < 2^64 and ra < 2^63: the product fits in 127 bits */

    add = elapsed * ra / rp;

    if (add == 0) {
        return;
    }

    /* add * rp <= elapsed * ra, so used <= elapsed and last + used <= now */

    used = add * rp / ra;

    if (add >= (zae_i128_t) cp - tk) {
        *new_tk = cp;

    } else {
        *new_tk = (int64_t) (tk + add);
    }

    *new_last = (int64_t) (last + used);
}


static zae_i128_t
zae_retry_ms128(zae_i128_t deficit, int64_t ra, int64_t rp)
{
    zae_i128_t  ms;

    if (deficit <= 0) {
        return 0;
    }

    if (ra <= 0 || rp <= 0) {
        /* the bucket never refills */
        return INT64_MAX;
    }

    if (deficit > INT64_MAX) {
        return INT64_MAX;
    }

    /* deficit < 2^63 and rp < 2^63: the product fits */

    ms = deficit * rp / ra + 1;

    return ms;
}


int64_t
zae_bucket_retry_ms(int64_t deficit, int64_t ra, int64_t rp)
{
    return zae_sat128(zae_retry_ms128(deficit, ra, rp));
}


int
zae_bucket_try_consume(const zae_bucket_t *b, int64_t tokens, int64_t now,
    zae_bucket_result_t *res)
{
    int64_t     cur, last;
    zae_i128_t  req;

    zae_bucket_refill(b->tk, b->last, now, b->cp, b->ra, b->rp, &cur, &last);

    req = (zae_i128_t) tokens * 1000;

    res->tk = cur;
    res->last = last;
    res->available = zae_floor_div(cur, 1000);

    if (cur >= req) {
        res->new_tk = zae_sat128(cur - req);
        res->retry_ms = 0;
        res->exceeded = 0;
        return ZAE_OK;
    }

    res->new_tk = cur;
    res->retry_ms = zae_sat128(zae_retry_ms128(req - cur, b->ra, b->rp));
    res->exceeded = 1;

    return ZAE_DECLINED;
}


int64_t
zae_bucket_available(const zae_bucket_t *b, int64_t now)
{
    int64_t  cur, last;

    zae_bucket_refill(b->tk, b->last, now, b->cp, b->ra, b->rp, &cur, &last);

    return zae_floor_div(cur, 1000);
}


int64_t
zae_bucket_time_until_available(const zae_bucket_t *b, int64_t tokens,
    int64_t now)
{
    int64_t  cur, last;

    zae_bucket_refill(b->tk, b->last, now, b->cp, b->ra, b->rp, &cur, &last);

    return zae_sat128(zae_retry_ms128((zae_i128_t) tokens * 1000 - cur,
                                      b->ra, b->rp));
}


int
zae_bucket_would_refill_satisfy(const zae_bucket_t *b, int64_t tokens,
    int64_t now)
{
    zae_bucket_result_t  res;

    return zae_bucket_try_consume(b, tokens, now, &res) == ZAE_OK;
}


double
zae_bucket_retry_seconds(int64_t retry_ms)
{
    return (double) retry_ms / 1000.0;
}


int64_t
zae_bucket_retry_header(double seconds)
{
    int64_t  s;

    if (isnan(seconds)) {
        return 1;
    }

    if (seconds >= 9223372036854775808.0) {
        return INT64_MAX;
    }

    if (seconds < -9223372036854775808.0) {
        return INT64_MIN + 1;
    }

    s = (int64_t) seconds;

    return zae_add_sat(s, 1);
}


int64_t
zae_bucket_ttl_seconds(const zae_limits_t *ls, int64_t multiplier)
{
    size_t              i;
    double              v, max;
    const zae_limit_t  *l;

    if (multiplier <= 0 || ls == NULL) {
        return 0;
    }

    max = -1.0;

    for (i = 0; i < ls->nelts && i < ZAE_LIMITS_MAX; i++) {
        l = &ls->elts[i];

        if (l->refill_amount <= 0) {
            continue;
        }

        /* Python: (capacity / refill_amount) * refill_period_seconds */

        v = (double) l->capacity / (double) l->refill_amount;
        v = v * (double) l->period;

        if (v > max) {
            max = v;
        }
    }

    if (max < 0.0) {
        return 0;
    }

    v = max * (double) multiplier;

    if (v >= 9223372036854775808.0) {
        return INT64_MAX;
    }

    return (int64_t) v;
}


void
zae_bucket_write_delta(int64_t stored_tk, int64_t new_tk, int64_t consumed,
    zae_bucket_delta_t *d)
{
    zae_i128_t  added;

    added = (zae_i128_t) new_tk - stored_tk + consumed;

    d->refill_added = zae_sat128(added);
    d->tk_delta = zae_sat128(added - consumed);
    d->tc_delta = consumed;
    d->floor = (consumed - added > 0) ? zae_sat128(consumed - added) : 0;
}
