
/*
 * Copyright (C) zae-limit authors
 *
 * Retry policy after the AWS SDKs' "standard" mode: a bounded number of
 * attempts, full-jitter exponential backoff, and a retry quota token
 * bucket shared by all operations of one process (one policy per nginx
 * worker, one per zae-admin process).  The random source is injected so
 * that tests are exact.
 */


#ifndef _ZAE_RETRY_H_INCLUDED_
#define _ZAE_RETRY_H_INCLUDED_


#include "zae_core.h"


#define ZAE_RETRY_MAX_ATTEMPTS     3        /* attempts, not retries */
#define ZAE_RETRY_BASE_MS          25
#define ZAE_RETRY_CAP_MS           20000
#define ZAE_RETRY_QUOTA            500
#define ZAE_RETRY_COST             5        /* throttling */
#define ZAE_RETRY_TIMEOUT_COST     10       /* timeout, transient */
#define ZAE_RETRY_NO_RETRY_REFUND  1


typedef enum {
    ZAE_RETRY_NOT_RETRYABLE = 0,
    ZAE_RETRY_THROTTLING,
    ZAE_RETRY_TRANSIENT
} zae_retry_class_e;


/* how the transport failed, if it did */

typedef enum {
    ZAE_TRANSPORT_OK = 0,          /* an HTTP response was received */
    ZAE_TRANSPORT_TIMEOUT,
    ZAE_TRANSPORT_REFUSED,
    ZAE_TRANSPORT_RESET,
    ZAE_TRANSPORT_MALFORMED        /* unparsable response */
} zae_transport_e;


/* returns a double in [0, 1) */
typedef double (*zae_random_pt)(void *state);


typedef struct {
    unsigned           max_attempts;
    int64_t            base_ms;
    int64_t            cap_ms;
    int64_t            quota_max;
    int64_t            quota;          /* tokens left */
    zae_random_pt      random;
    void              *random_state;
} zae_retry_policy_t;


/* one operation (a request and its retries) */

typedef struct {
    unsigned           attempts;       /* attempts that failed so far */
    int64_t            last_cost;      /* quota taken by the last retry */
} zae_retry_op_t;


/* defaults above; random = zae_retry_random with the given state */
void zae_retry_policy_init(zae_retry_policy_t *p, uint64_t *random_state);

/* xorshift64* in [0, 1); state must not be 0 (it is fixed up if so) */
double zae_retry_random(void *state);

void zae_retry_op_init(zae_retry_op_t *op);

/*
 * Classify a failure.  code is the DynamoDB error code, the whole
 * "__type" value is accepted (the part after the last '#' is used);
 * status is the HTTP status (0 if none).  A transport failure other
 * than ZAE_TRANSPORT_OK is transient.  Throttling codes win over the
 * status; 500, 502, 503, 504 and the timeout codes are transient;
 * everything else (including 4xx and ConditionalCheckFailed) is not
 * retryable.
 */
zae_retry_class_e zae_retry_classify(const u_char *code, size_t len,
    int status, zae_transport_e transport);

/*
 * Called after a failed attempt.  Returns ZAE_OK with *delay_ms set if
 * the operation should be retried after that delay, or ZAE_DECLINED if
 * not: not retryable, max_attempts reached, quota exhausted, or the
 * retry would start after deadline_ms (0: no deadline).  A retry takes
 * ZAE_RETRY_COST (throttling) or ZAE_RETRY_TIMEOUT_COST (transient)
 * from the quota; a declined retry takes nothing.
 * Backoff: random() * min(base_ms * 2^(attempt-1), cap_ms), attempt
 * being the number of the attempt that failed (1 for the first).
 */
int zae_retry_next_delay(zae_retry_policy_t *p, zae_retry_op_t *op,
    zae_retry_class_e cls, int64_t now_ms, int64_t deadline_ms,
    int64_t *delay_ms);

/*
 * Called when an operation succeeds: refunds 1 token if it needed no
 * retry, else what its last retry took; the quota never exceeds
 * quota_max
 */
void zae_retry_success(zae_retry_policy_t *p, zae_retry_op_t *op);


#endif /* _ZAE_RETRY_H_INCLUDED_ */
