
/*
 * Copyright (C) zae-limit authors
 */


#include "zae_retry.h"


typedef struct {
    const char        *code;
    size_t             len;
} zae_retry_code_t;


#define zae_retry_code(s)  { s, sizeof(s) - 1 }


/* botocore standard mode: throttling error codes */

static const zae_retry_code_t  zae_retry_throttling[] = {
    zae_retry_code("Throttling"),
    zae_retry_code("ThrottlingException"),
    zae_retry_code("ThrottledException"),
    zae_retry_code("RequestThrottledException"),
    zae_retry_code("TooManyRequestsException"),
    zae_retry_code("ProvisionedThroughputExceededException"),
    zae_retry_code("TransactionInProgressException"),
    zae_retry_code("RequestLimitExceeded"),
    zae_retry_code("BandwidthLimitExceeded"),
    zae_retry_code("LimitExceededException"),
    zae_retry_code("RequestThrottled"),
    zae_retry_code("SlowDown"),
    zae_retry_code("PriorRequestNotComplete"),
    zae_retry_code("EC2ThrottledException"),
};


/* botocore standard mode: transient error codes */

static const zae_retry_code_t  zae_retry_transient[] = {
    zae_retry_code("RequestTimeout"),
    zae_retry_code("RequestTimeoutException"),
    zae_retry_code("PriorRequestNotComplete"),
};


static uint64_t  zae_retry_default_state = 0x853c49e6748fea9bULL;


static int zae_retry_in(const zae_retry_code_t *list, size_t n,
    const u_char *code, size_t len);


void
zae_retry_policy_init(zae_retry_policy_t *p, uint64_t *random_state)
{
    p->max_attempts = ZAE_RETRY_MAX_ATTEMPTS;
    p->base_ms = ZAE_RETRY_BASE_MS;
    p->cap_ms = ZAE_RETRY_CAP_MS;
    p->quota_max = ZAE_RETRY_QUOTA;
    p->quota = ZAE_RETRY_QUOTA;
    p->random = zae_retry_random;
    p->random_state = random_state ? random_state : &zae_retry_default_state;
}


double
zae_retry_random(void *state)
{
    uint64_t  *s, x;

    s = state ? state : &zae_retry_default_state;

    x = *s;

    if (x == 0) {
        x = 0x853c49e6748fea9bULL;
    }

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;

    *s = x;

    /* the top 53 bits: a double in [0, 1) */

    return (double) ((x * 0x2545f4914f6cdd1dULL) >> 11)
           * (1.0 / 9007199254740992.0);
}


void
zae_retry_op_init(zae_retry_op_t *op)
{
    op->attempts = 0;
    op->last_cost = 0;
}


static int
zae_retry_in(const zae_retry_code_t *list, size_t n, const u_char *code,
    size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (list[i].len == len && memcmp(list[i].code, code, len) == 0) {
            return 1;
        }
    }

    return 0;
}


zae_retry_class_e
zae_retry_classify(const u_char *code, size_t len, int status,
    zae_transport_e transport)
{
    size_t         i;
    const u_char  *colon;

    if (transport != ZAE_TRANSPORT_OK) {
        return ZAE_RETRY_TRANSIENT;
    }

    if (code == NULL) {
        len = 0;
    }

    /* X-Amzn-ErrorType: "Code:http://...", then "prefix#Code" */

    colon = len ? memchr(code, ':', len) : NULL;
    if (colon) {
        len = colon - code;
    }

    for (i = len; i > 0; i--) {
        if (code[i - 1] == '#') {
            code += i;
            len -= i;
            break;
        }
    }

    if (len) {
        if (zae_retry_in(zae_retry_throttling,
                         sizeof(zae_retry_throttling)
                         / sizeof(zae_retry_throttling[0]), code, len))
        {
            return ZAE_RETRY_THROTTLING;
        }

        if (zae_retry_in(zae_retry_transient,
                         sizeof(zae_retry_transient)
                         / sizeof(zae_retry_transient[0]), code, len))
        {
            return ZAE_RETRY_TRANSIENT;
        }
    }

    if (status == 500 || status == 502 || status == 503 || status == 504) {
        return ZAE_RETRY_TRANSIENT;
    }

    return ZAE_RETRY_NOT_RETRYABLE;
}


int
zae_retry_next_delay(zae_retry_policy_t *p, zae_retry_op_t *op,
    zae_retry_class_e cls, int64_t now_ms, int64_t deadline_ms,
    int64_t *delay_ms)
{
    double    r;
    int64_t   cost, backoff, delay;
    unsigned  i;

    if (op->attempts < UINT32_MAX) {
        op->attempts++;
    }

    if (cls != ZAE_RETRY_THROTTLING && cls != ZAE_RETRY_TRANSIENT) {
        return ZAE_DECLINED;
    }

    if (op->attempts >= p->max_attempts) {
        return ZAE_DECLINED;
    }

    cost = (cls == ZAE_RETRY_TRANSIENT) ? ZAE_RETRY_TIMEOUT_COST
                                        : ZAE_RETRY_COST;

    if (p->quota < cost) {
        return ZAE_DECLINED;
    }

    /* min(base * 2^(attempt-1), cap) without overflow */

    backoff = p->base_ms > 0 ? p->base_ms : 0;

    for (i = 1; i < op->attempts && backoff < p->cap_ms; i++) {
        if (backoff > INT64_MAX / 2) {
            backoff = INT64_MAX;
            break;
        }

        backoff *= 2;
    }

    if (backoff > p->cap_ms) {
        backoff = p->cap_ms > 0 ? p->cap_ms : 0;
    }

    r = p->random ? p->random(p->random_state) : 0.0;

    if (!(r >= 0.0)) {
        r = 0.0;

    } else if (r > 1.0) {
        r = 1.0;
    }

    /* 2^63 is exact in a double; the product may round up to it */

    if (r * (double) backoff >= 9223372036854775808.0) {
        delay = backoff;

    } else {
        delay = (int64_t) (r * (double) backoff);

        if (delay > backoff) {
            delay = backoff;
        }
    }

    if (deadline_ms > 0
        && (__int128) delay > (__int128) deadline_ms - now_ms)
    {
        return ZAE_DECLINED;
    }

    p->quota -= cost;
    op->last_cost = cost;
    *delay_ms = delay;

    return ZAE_OK;
}


void
zae_retry_success(zae_retry_policy_t *p, zae_retry_op_t *op)
{
    int64_t  refund;

    refund = op->last_cost ? op->last_cost : ZAE_RETRY_NO_RETRY_REFUND;

    if (p->quota < p->quota_max) {
        p->quota = (refund > p->quota_max - p->quota) ? p->quota_max
                                                       : p->quota + refund;
    }
}
