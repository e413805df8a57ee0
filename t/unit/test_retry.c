
/*
 * Copyright (C) zae-limit authors
 *
 * Retry policy: classification, full-jitter backoff with an injected
 * random source, the retry quota and the deadline.
 */


#include <math.h>

#include "tap.h"
#include "zae_core.h"
#include "zae_retry.h"


#define S(s)  (const u_char *) (s), sizeof(s) - 1


typedef struct {
    const double      *values;
    size_t             n;
    size_t             next;
} fixed_random_t;


static double fixed_random(void *state);
static void test_classify(void);
static void test_backoff(void);
static void test_quota(void);
static void test_deadline(void);
static void test_random(void);


static double
fixed_random(void *state)
{
    fixed_random_t  *fr = state;
    double           v;

    v = fr->values[fr->next % fr->n];
    fr->next++;

    return v;
}


static void
test_classify(void)
{
    size_t  i;

    static const struct {
        const char         *code;
        int                 status;
        zae_transport_e     transport;
        zae_retry_class_e   want;
    } cases[] = {
        { "com.amazonaws.dynamodb.v20120810"
          "#ProvisionedThroughputExceededException", 400,
          ZAE_TRANSPORT_OK, ZAE_RETRY_THROTTLING },
        { "ThrottlingException", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_THROTTLING },
        { "com.amazon.coral.availability#ThrottlingException", 400,
          ZAE_TRANSPORT_OK, ZAE_RETRY_THROTTLING },
        { "ThrottlingException:http://internal.amazon.com/coral/", 400,
          ZAE_TRANSPORT_OK, ZAE_RETRY_THROTTLING },
        { "RequestLimitExceeded", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_THROTTLING },
        { "TransactionInProgressException", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_THROTTLING },
        { "ThrottlingException", 500, ZAE_TRANSPORT_OK,
          ZAE_RETRY_THROTTLING },
        { "RequestTimeout", 400, ZAE_TRANSPORT_OK, ZAE_RETRY_TRANSIENT },
        { "RequestTimeoutException", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_TRANSIENT },
        { "com.amazonaws.dynamodb.v20120810#InternalServerError", 500,
          ZAE_TRANSPORT_OK, ZAE_RETRY_TRANSIENT },
        { NULL, 500, ZAE_TRANSPORT_OK, ZAE_RETRY_TRANSIENT },
        { NULL, 502, ZAE_TRANSPORT_OK, ZAE_RETRY_TRANSIENT },
        { NULL, 503, ZAE_TRANSPORT_OK, ZAE_RETRY_TRANSIENT },
        { NULL, 504, ZAE_TRANSPORT_OK, ZAE_RETRY_TRANSIENT },
        { NULL, 0, ZAE_TRANSPORT_TIMEOUT, ZAE_RETRY_TRANSIENT },
        { NULL, 0, ZAE_TRANSPORT_REFUSED, ZAE_RETRY_TRANSIENT },
        { NULL, 0, ZAE_TRANSPORT_RESET, ZAE_RETRY_TRANSIENT },
        { NULL, 200, ZAE_TRANSPORT_MALFORMED, ZAE_RETRY_TRANSIENT },
        { "com.amazonaws.dynamodb.v20120810"
          "#ConditionalCheckFailedException", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_NOT_RETRYABLE },
        { "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
          400, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { "com.amazon.coral.validate#ValidationException", 400,
          ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", 400,
          ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { "com.amazon.coral.service#UnrecognizedClientException", 400,
          ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { "throttlingexception", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_NOT_RETRYABLE },
        { "ThrottlingExceptionX", 400, ZAE_TRANSPORT_OK,
          ZAE_RETRY_NOT_RETRYABLE },
        { "Throttling#", 400, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { "#", 400, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { "", 400, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { NULL, 501, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { NULL, 429, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { NULL, 200, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
        { NULL, 0, ZAE_TRANSPORT_OK, ZAE_RETRY_NOT_RETRYABLE },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(zae_retry_classify((const u_char *) cases[i].code,
                                  cases[i].code ? strlen(cases[i].code) : 0,
                                  cases[i].status, cases[i].transport),
               cases[i].want, "classify %s/%d/%d",
               cases[i].code ? cases[i].code : "-", cases[i].status,
               cases[i].transport);
    }

    /* only len bytes are looked at */
    is_int(zae_retry_classify(S("SlowDownAndMore") - 7, 400,
                              ZAE_TRANSPORT_OK),
           ZAE_RETRY_THROTTLING, "classify reads len bytes only");
}


static void
test_backoff(void)
{
    int                 rc;
    int64_t             delay;
    unsigned            i;
    fixed_random_t      fr;
    zae_retry_op_t      op;
    zae_retry_policy_t  p;

    static const double  half[] = { 0.5 };
    static const double  one[] = { 1.0 };
    static const double  weird[] = { -0.5, NAN, 7.0, 0.999999 };

    zae_retry_policy_init(&p, NULL);
    is_int(p.max_attempts, 3, "default max attempts 3");
    is_int(p.base_ms, 25, "default base 25 ms");
    is_int(p.cap_ms, 20000, "default cap 20 s");
    is_int(p.quota, 500, "default quota 500");

    fr.values = half;
    fr.n = 1;
    fr.next = 0;
    p.random = fixed_random;
    p.random_state = &fr;

    zae_retry_op_init(&op);

    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(rc, ZAE_OK, "first failure: retry");
    is_int(delay, 12, "first retry: 0.5 * 25");
    is_int(op.attempts, 1, "one attempt failed");
    is_int(p.quota, 495, "throttling retry costs 5");

    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_TRANSIENT, 0, 0, &delay);
    is_int(rc, ZAE_OK, "second failure: retry");
    is_int(delay, 25, "second retry: 0.5 * 50");
    is_int(p.quota, 485, "transient retry costs 10");
    is_int(op.last_cost, 10, "last cost recorded");

    delay = -1;
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(rc, ZAE_DECLINED, "third failure: 3 attempts made, give up");
    is_int(delay, -1, "no delay when declined");
    is_int(p.quota, 485, "a declined retry costs nothing");

    zae_retry_success(&p, &op);
    is_int(p.quota, 495, "success after a retry refunds its cost");

    /* not retryable: declined at once */
    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_NOT_RETRYABLE, 0, 0,
                              &delay);
    is_int(rc, ZAE_DECLINED, "not retryable");
    is_int(p.quota, 495, "not retryable costs nothing");

    zae_retry_op_init(&op);
    zae_retry_success(&p, &op);
    is_int(p.quota, 496, "success without retry refunds 1");

    /* the cap: random 1.0 gives the full backoff */
    fr.values = one;
    p.max_attempts = 40;
    p.quota = 1000000;
    p.quota_max = 1000000;
    zae_retry_op_init(&op);

    {
        static const int64_t  want[] = {
            25, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000,
            20000
        };

        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0,
                                        &delay);
            is_int(delay, want[i], "backoff of attempt %u", i + 1);
        }
    }

    for (i = 0; i < 30; i++) {
        rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0,
                                  &delay);
    }

    is_int(rc, ZAE_DECLINED, "max attempts 40 reached");
    is_int(op.attempts, 42, "attempts counted");

    /* a large base and many attempts do not overflow */
    p.base_ms = INT64_MAX / 3;
    p.cap_ms = INT64_MAX;
    p.max_attempts = 100;
    zae_retry_op_init(&op);

    for (i = 0; i < 5; i++) {
        (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0,
                                    &delay);
    }

    ok(delay > 0, "huge backoff stays positive");

    /* a misbehaving random source is clamped */
    zae_retry_policy_init(&p, NULL);
    fr.values = weird;
    fr.n = 4;
    fr.next = 0;
    p.random = fixed_random;
    p.random_state = &fr;
    p.max_attempts = 10;
    zae_retry_op_init(&op);

    (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(delay, 0, "negative random clamped to 0");
    (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(delay, 0, "NaN random clamped to 0");
    (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(delay, 100, "random above 1 clamped to the backoff");
    (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(delay, 199, "0.999999 * 200 truncated");

    p.random = NULL;
    (void) zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(delay, 0, "no random source: no delay");
}


static void
test_quota(void)
{
    int                 rc, n;
    int64_t             delay;
    zae_retry_op_t      op;
    zae_retry_policy_t  p;
    uint64_t            seed;

    seed = 42;
    zae_retry_policy_init(&p, &seed);
    p.quota = 12;

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_TRANSIENT, 0, 0, &delay);
    is_int(rc, ZAE_OK, "quota 12 pays a transient retry");
    is_int(p.quota, 2, "quota 2 left");

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(rc, ZAE_DECLINED, "quota 2 cannot pay 5");
    is_int(p.quota, 2, "still 2");

    zae_retry_success(&p, &op);
    zae_retry_success(&p, &op);
    zae_retry_success(&p, &op);
    is_int(p.quota, 5, "three successes refund 3");

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay);
    is_int(rc, ZAE_OK, "quota 5 pays a throttling retry");
    is_int(p.quota, 0, "quota empty");

    /* a full quota is never exceeded */
    zae_retry_policy_init(&p, &seed);
    zae_retry_op_init(&op);
    zae_retry_success(&p, &op);
    is_int(p.quota, 500, "refund capped at 500");

    /* a storm: 500 / 5 = 100 throttling retries, then none */
    zae_retry_policy_init(&p, &seed);
    n = 0;

    for ( ;; ) {
        zae_retry_op_init(&op);

        if (zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 0, 0, &delay)
            != ZAE_OK)
        {
            break;
        }

        if (++n > 1000) {
            break;
        }
    }

    is_int(n, 100, "100 throttling retries drain the quota");
    is_int(p.quota, 0, "quota drained");
}


static void
test_deadline(void)
{
    int                 rc;
    int64_t             delay;
    fixed_random_t      fr;
    zae_retry_op_t      op;
    zae_retry_policy_t  p;

    static const double  half[] = { 0.5 };

    zae_retry_policy_init(&p, NULL);
    fr.values = half;
    fr.n = 1;
    fr.next = 0;
    p.random = fixed_random;
    p.random_state = &fr;

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 1000, 1011,
                              &delay);
    is_int(rc, ZAE_DECLINED, "12 ms delay passes a deadline 11 ms away");
    is_int(p.quota, 500, "deadline refusal costs nothing");

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 1000, 1012,
                              &delay);
    is_int(rc, ZAE_OK, "12 ms delay fits a deadline 12 ms away");
    is_int(delay, 12, "delay 12");

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, 2000, 1000,
                              &delay);
    is_int(rc, ZAE_DECLINED, "deadline already passed");

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, INT64_MAX, 0,
                              &delay);
    is_int(rc, ZAE_OK, "deadline 0: none");

    zae_retry_op_init(&op);
    rc = zae_retry_next_delay(&p, &op, ZAE_RETRY_THROTTLING, INT64_MIN,
                              INT64_MAX, &delay);
    is_int(rc, ZAE_OK, "extreme clock values do not overflow");
}


static void
test_random(void)
{
    int       i, out;
    double    v, sum;
    uint64_t  a, b, z;

    a = 7;
    b = 7;
    out = 0;

    for (i = 0; i < 1000; i++) {
        if (zae_retry_random(&a) != zae_retry_random(&b)) {
            out++;
        }
    }

    is_int(out, 0, "same seed, same sequence");

    a = 12345;
    sum = 0.0;
    out = 0;

    for (i = 0; i < 100000; i++) {
        v = zae_retry_random(&a);
        sum += v;

        if (!(v >= 0.0 && v < 1.0)) {
            out++;
        }
    }

    is_int(out, 0, "values in [0, 1)");
    ok(fabs(sum / 100000 - 0.5) < 0.01, "mean close to 0.5: %f",
       sum / 100000);

    z = 0;
    v = zae_retry_random(&z);
    ok(z != 0 && v >= 0.0 && v < 1.0, "a zero state is fixed up");
}


int
main(void)
{
    test_classify();
    test_backoff();
    test_quota();
    test_deadline();
    test_random();

    return tap_done();
}
