
/*
 * Copyright (C) zae-limit authors
 *
 * Local token leases as pure functions: how many requests' worth a
 * refill takes from the bucket (sizing), a request served from the
 * lease (take), expiry, and the amounts that go back to the table.
 * The lease is a flat struct without pointers, so that the module keeps
 * it in its shared zone; every time is epoch ms, every amount whole
 * tokens.  See docs/design.md, "Local token leases".
 */


#ifndef _ZAE_LEASE_H_INCLUDED_
#define _ZAE_LEASE_H_INCLUDED_


#include "zae_core.h"
#include "zae_limit.h"
#include "zae_proto.h"


/* the limits a lease holds: requests consuming more take no lease */
#define ZAE_LEASE_LIMITS          4

/* the largest k, requests' worth taken by one refill */
#define ZAE_LEASE_K_MAX           100000

/*
 * size=auto leases only from this many requests per ttl (below, a
 * lease would save little and cost its return write); it is also the
 * first refill of a bucket whose available tokens are not known yet
 */
#define ZAE_LEASE_AUTO_MIN        4


typedef struct {
    int64_t            size;      /* k for size=N; 0: auto */
    int64_t            ttl;       /* ms */
    int64_t            max_share; /* percent of the available, 1..100 */
} zae_lease_conf_t;


typedef struct {
    u_char             len;
    u_char             name[ZAE_NAME_MAX_LEN];
    int64_t            left;      /* tokens held, not spent */
    int64_t            avail;     /* the bucket's available tokens before
                                     the last refill; -1: not known */
    int64_t            tk;        /* the table's image after the last */
    int64_t            cp;        /*   refill, milli (the tightest of */
    int64_t            ra;        /*   child and parent), for the */
    int64_t            rp;        /*   headers; cp 0: not known */
} zae_lease_limit_t;


typedef struct {
    int64_t            expires;   /* ms; tokens held are good until then */
    int64_t            ttl;       /* ms: the expiry is ttl after the last
                                     refill or take */
    int64_t            shard;     /* the bucket shard they came from */
    int64_t            win_start; /* the rate window: requests seen */
    int64_t            win_count; /*   since win_start */
    int64_t            prev_count;/* the previous window's count */
    int64_t            prev_ms;   /*   and length */
    int64_t            refill_at; /* a refill in flight since; 0: none */
    int64_t            refill_owner; /* its owner (worker and refill) */
    size_t             n;
    zae_lease_limit_t  l[ZAE_LEASE_LIMITS];
} zae_lease_t;


/* a new, empty lease */
void zae_lease_init(zae_lease_t *ls);

/* counts a request for the bucket in the rate window */
void zae_lease_seen(zae_lease_t *ls, const zae_lease_conf_t *conf,
    int64_t now);

/*
 * ZAE_OK: the lease is not expired and holds every amount; they are
 * taken and the expiry moves to now + ttl (a lease in use is kept, one
 * left alone goes back).  ZAE_DECLINED: nothing is taken.
 */
int zae_lease_take(zae_lease_t *ls, const zae_amount_t *a, size_t n,
    int64_t now);

/*
 * k for the next refill: size=N gives N, auto the requests seen over
 * the last ttl (1 below ZAE_LEASE_AUTO_MIN); both capped so that
 * k x amount stays within max_share of each limit's available tokens
 * (when known) and 10^12 tokens.  1 means no lease: the request takes
 * the normal path.
 */
int64_t zae_lease_size(const zae_lease_t *ls, const zae_lease_conf_t *conf,
    const zae_amount_t *a, size_t n, int64_t now);

/*
 * A refill in flight, one per lease whatever the worker: ZAE_OK starts
 * one for "owner" (none in flight, or the last started "stale" ms ago
 * or more: its worker died); ZAE_DECLINED when one is in flight.  The
 * end clears the mark only when "owner" still holds it (ZAE_OK), so
 * that a refill taken over, or ended twice, clears nobody else's.
 */
int zae_lease_refill_begin(zae_lease_t *ls, int64_t now, int64_t stale,
    int64_t owner);
int zae_lease_refill_end(zae_lease_t *ls, int64_t owner);

/*
 * A write took k x a[] from the bucket: (k - 1) x a[] is held (the
 * request's own share is consumed by it), until now + ttl.  tk[i] is
 * limit i's tk (milli) after the write, from the ALL_NEW image, or
 * INT64_MIN when not known.  ZAE_DECLINED: the amounts do not fit the
 * lease (more limits than it holds); nothing is changed then.
 */
int zae_lease_refilled(zae_lease_t *ls, const zae_lease_conf_t *conf,
    const zae_amount_t *a, size_t n, int64_t k, const int64_t *tk,
    int64_t now);

/*
 * A refused refill: tk[i] (milli, ALL_OLD) is what the bucket has, for
 * the next size; INT64_MIN when not known.
 */
void zae_lease_refused(zae_lease_t *ls, const zae_amount_t *a, size_t n,
    const int64_t *tk);

/* the limit's slot, NULL: the lease has none of that name */
const zae_lease_limit_t *zae_lease_limit(const zae_lease_t *ls,
    const zae_str_t *name);

/*
 * The table's image of a limit after a refill (milli): what the
 * RateLimit headers of the requests it serves start from
 */
void zae_lease_image(zae_lease_t *ls, const zae_str_t *name, int64_t tk,
    int64_t cp, int64_t ra, int64_t rp);

/*
 * The tokens (milli) a request served by the lease sees remaining for
 * a limit: the table's tk after the last refill plus what the lease
 * holds; INT64_MIN when the image is not known
 */
int64_t zae_lease_remaining(const zae_lease_t *ls, const zae_str_t *name);

/* expired: tokens are held and their time is over */
int zae_lease_expired(const zae_lease_t *ls, int64_t now);

/*
 * Empties the lease: out[] (at least ZAE_LEASE_LIMITS) gets each limit
 * with tokens left, the amount to give back to the bucket; returns how
 * many.  Names point into the lease.
 */
size_t zae_lease_return(zae_lease_t *ls, zae_amount_t *out);

/* tokens held, all limits */
int64_t zae_lease_held(const zae_lease_t *ls);


#endif /* _ZAE_LEASE_H_INCLUDED_ */
