
/*
 * Copyright (C) zae-limit authors
 *
 * Local token leases: the arithmetic, no I/O, no clock (see
 * zae_lease.h and docs/design.md, "Local token leases").
 */


#include "zae_lease.h"
#include "zae_bucket.h"


static zae_lease_limit_t *zae_lease_find(zae_lease_t *ls,
    const zae_str_t *name);
static zae_lease_limit_t *zae_lease_slot(zae_lease_t *ls,
    const zae_str_t *name);


void
zae_lease_init(zae_lease_t *ls)
{
    memset(ls, 0, sizeof(zae_lease_t));
}


static zae_lease_limit_t *
zae_lease_find(zae_lease_t *ls, const zae_str_t *name)
{
    size_t  i;

    for (i = 0; i < ls->n; i++) {
        if (ls->l[i].len == name->len
            && memcmp(ls->l[i].name, name->data, name->len) == 0)
        {
            return &ls->l[i];
        }
    }

    return NULL;
}


/* the limit's slot, a new one when there is room; NULL: none */

static zae_lease_limit_t *
zae_lease_slot(zae_lease_t *ls, const zae_str_t *name)
{
    zae_lease_limit_t  *l;

    l = zae_lease_find(ls, name);

    if (l || ls->n == ZAE_LEASE_LIMITS || name->len > ZAE_NAME_MAX_LEN) {
        return l;
    }

    l = &ls->l[ls->n++];

    memset(l, 0, sizeof(zae_lease_limit_t));
    l->len = (u_char) name->len;
    memcpy(l->name, name->data, name->len);
    l->avail = -1;

    return l;
}


void
zae_lease_seen(zae_lease_t *ls, const zae_lease_conf_t *conf, int64_t now)
{
    if (ls->win_start == 0) {
        ls->win_start = now;
    }

    if (now - ls->win_start >= conf->ttl) {
        ls->prev_count = ls->win_count;
        ls->prev_ms = now - ls->win_start;
        ls->win_start = now;
        ls->win_count = 0;
    }

    ls->win_count++;
}


int
zae_lease_take(zae_lease_t *ls, const zae_amount_t *a, size_t n,
    int64_t now)
{
    size_t              i;
    zae_lease_limit_t  *l[ZAE_LEASE_LIMITS];

    if (n == 0 || n > ZAE_LEASE_LIMITS || now >= ls->expires) {
        return ZAE_DECLINED;
    }

    for (i = 0; i < n; i++) {
        l[i] = zae_lease_find(ls, &a[i].name);

        if (a[i].amount < 0
            || (a[i].amount > 0 && (l[i] == NULL || l[i]->left < a[i].amount)))
        {
            return ZAE_DECLINED;
        }
    }

    for (i = 0; i < n; i++) {
        if (l[i]) {
            l[i]->left -= a[i].amount;
        }
    }

    ls->expires = now + ls->ttl;

    return ZAE_OK;
}


int64_t
zae_lease_size(const zae_lease_t *ls, const zae_lease_conf_t *conf,
    const zae_amount_t *a, size_t n, int64_t now)
{
    size_t              i;
    int64_t             k, cap;
    zae_lease_limit_t  *l;

    if (n == 0 || n > ZAE_LEASE_LIMITS || conf->ttl <= 0) {
        return 1;
    }

    if (conf->size > 0) {
        k = conf->size;

    } else {

        /* the requests seen over one ttl, at least those of this window */

        k = 0;

        if (ls->prev_ms > 0) {
            k = zae_floor_div(zae_mul_sat(ls->prev_count, conf->ttl),
                              ls->prev_ms);
        }

        if (k < ls->win_count) {
            k = ls->win_count;
        }

        if (k < ZAE_LEASE_AUTO_MIN) {
            return 1;
        }
    }

    if (k > ZAE_LEASE_K_MAX) {
        k = ZAE_LEASE_K_MAX;
    }

    for (i = 0; i < n && k > 1; i++) {
        if (a[i].amount <= 0) {
            continue;
        }

        cap = ZAE_TOKENS_MAX / a[i].amount;

        l = zae_lease_find((zae_lease_t *) ls, &a[i].name);

        if (l && l->avail >= 0) {

            /* one instance holds at most max_share of the available */

            cap = zae_floor_div(zae_floor_div(zae_mul_sat(l->avail,
                                                          conf->max_share),
                                              100),
                                a[i].amount);

        } else if (conf->size == 0 && cap > ZAE_LEASE_AUTO_MIN) {

            /* auto, nothing seen of the bucket yet: a small probe */

            cap = ZAE_LEASE_AUTO_MIN;
        }

        if (k > cap) {
            k = cap;
        }
    }

    (void) now;

    return k < 1 ? 1 : k;
}


int
zae_lease_refill_begin(zae_lease_t *ls, int64_t now, int64_t stale,
    int64_t owner)
{
    if (ls->refill_at != 0 && now - ls->refill_at < stale) {
        return ZAE_DECLINED;
    }

    ls->refill_at = now ? now : 1;
    ls->refill_owner = owner;

    return ZAE_OK;
}


int
zae_lease_refill_end(zae_lease_t *ls, int64_t owner)
{
    if (ls->refill_at == 0 || ls->refill_owner != owner) {
        return ZAE_DECLINED;
    }

    ls->refill_at = 0;
    ls->refill_owner = 0;

    return ZAE_OK;
}


int
zae_lease_refilled(zae_lease_t *ls, const zae_lease_conf_t *conf,
    const zae_amount_t *a, size_t n, int64_t k, const int64_t *tk,
    int64_t now)
{
    size_t              i, missing;
    zae_lease_limit_t  *l;

    if (n > ZAE_LEASE_LIMITS || k < 1) {
        return ZAE_DECLINED;
    }

    missing = 0;

    for (i = 0; i < n; i++) {
        if (zae_lease_find(ls, &a[i].name) == NULL) {
            missing++;
        }
    }

    if (ls->n + missing > ZAE_LEASE_LIMITS) {
        return ZAE_DECLINED;
    }

    for (i = 0; i < n; i++) {
        l = zae_lease_slot(ls, &a[i].name);
        if (l == NULL) {
            return ZAE_DECLINED;
        }

        l->left = zae_add_sat(l->left, zae_mul_sat(k - 1, a[i].amount));

        if (tk && tk[i] != INT64_MIN) {
            l->avail = zae_add_sat(zae_floor_div(tk[i], 1000),
                                   zae_mul_sat(k, a[i].amount));
        }
    }

    ls->ttl = conf->ttl;
    ls->expires = now + conf->ttl;

    return ZAE_OK;
}


void
zae_lease_refused(zae_lease_t *ls, const zae_amount_t *a, size_t n,
    const int64_t *tk)
{
    size_t              i;
    zae_lease_limit_t  *l;

    for (i = 0; i < n; i++) {
        if (tk[i] == INT64_MIN) {
            continue;
        }

        l = zae_lease_slot(ls, &a[i].name);

        if (l) {
            l->avail = zae_floor_div(tk[i], 1000);

            if (l->avail < 0) {
                l->avail = 0;
            }
        }
    }
}


const zae_lease_limit_t *
zae_lease_limit(const zae_lease_t *ls, const zae_str_t *name)
{
    return zae_lease_find((zae_lease_t *) ls, name);
}


void
zae_lease_image(zae_lease_t *ls, const zae_str_t *name, int64_t tk,
    int64_t cp, int64_t ra, int64_t rp)
{
    zae_lease_limit_t  *l;

    l = zae_lease_find(ls, name);

    if (l) {
        l->tk = tk;
        l->cp = cp;
        l->ra = ra;
        l->rp = rp;
    }
}


int64_t
zae_lease_remaining(const zae_lease_t *ls, const zae_str_t *name)
{
    const zae_lease_limit_t  *l;

    l = zae_lease_limit(ls, name);

    if (l == NULL || l->cp <= 0) {
        return INT64_MIN;
    }

    return zae_add_sat(l->tk, zae_mul_sat(l->left > 0 ? l->left : 0, 1000));
}


int
zae_lease_expired(const zae_lease_t *ls, int64_t now)
{
    return now >= ls->expires && zae_lease_held(ls) > 0;
}


size_t
zae_lease_return(zae_lease_t *ls, zae_amount_t *out)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < ls->n; i++) {
        if (ls->l[i].left > 0) {
            out[n].name.data = ls->l[i].name;
            out[n].name.len = ls->l[i].len;
            out[n].amount = ls->l[i].left;
            n++;
        }

        ls->l[i].left = 0;
    }

    ls->expires = 0;

    return n;
}


int64_t
zae_lease_held(const zae_lease_t *ls)
{
    size_t   i;
    int64_t  sum;

    sum = 0;

    for (i = 0; i < ls->n; i++) {
        if (ls->l[i].left > 0) {
            sum = zae_add_sat(sum, ls->l[i].left);
        }
    }

    return sum;
}
