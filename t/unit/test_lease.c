
/*
 * Copyright (C) zae-limit authors
 *
 * Lease math: take, sizing (size=N, auto from the rate, the max_share
 * cap), refill in flight, expiry and the amounts that go back; and a
 * simulation of instances sharing one bucket: never over, every token
 * counted once.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_limit.h"
#include "zae_lease.h"


static zae_amount_t  rpm1[] = { { zae_string("rpm"), 1 } };
static zae_amount_t  two[] = { { zae_string("rpm"), 1 },
                               { zae_string("tpm"), 100 } };


static void
test_take(void)
{
    int64_t           tk[2];
    zae_lease_t       ls;
    zae_amount_t      out[ZAE_LEASE_LIMITS];
    zae_lease_conf_t  conf = { 5, 1000, 100 };

    zae_lease_init(&ls);

    is_int(zae_lease_take(&ls, rpm1, 1, 1000), ZAE_DECLINED,
           "an empty lease gives nothing");

    tk[0] = 10000;
    tk[1] = 1000000;

    is_int(zae_lease_refilled(&ls, &conf, two, 2, 5, tk, 1000), ZAE_OK,
           "refilled with k = 5");
    is_int(ls.l[0].left, 4, "rpm: k - 1 requests' worth held");
    is_int(ls.l[1].left, 400, "tpm: (k - 1) x 100 held");
    is_int(ls.l[0].avail, 15, "rpm available before: tk // 1000 + k x 1");
    is_int(ls.l[1].avail, 1500, "tpm available before");
    is_int(ls.expires, 2000, "expires after ttl");
    is_int(zae_lease_held(&ls), 404, "held: both limits");

    is_int(zae_lease_take(&ls, two, 2, 1500), ZAE_OK, "taken");
    is_int(ls.l[0].left, 3, "rpm left 3");
    is_int(ls.l[1].left, 300, "tpm left 300");
    is_int(ls.expires, 2500, "a take keeps the lease for another ttl");

    is_int(zae_lease_take(&ls, two, 2, 2500), ZAE_DECLINED,
           "not after expiry");
    ok(zae_lease_expired(&ls, 2500), "expired with tokens held");
    ok(!zae_lease_expired(&ls, 2499), "not expired before");

    two[1].amount = 301;
    is_int(zae_lease_take(&ls, two, 2, 1600), ZAE_DECLINED,
           "one limit short: nothing taken");
    is_int(ls.l[0].left, 3, "rpm untouched");
    two[1].amount = 100;

    {
        zae_amount_t  other[] = { { zae_string("rpd"), 1 } };

        is_int(zae_lease_take(&ls, other, 1, 1600), ZAE_DECLINED,
               "a limit the lease does not hold");
    }

    is_int(zae_lease_return(&ls, out), 2, "two limits go back");
    is_int(out[0].amount, 3, "rpm: 3 back");
    is_int(out[1].amount, 300, "tpm: 300 back");
    is_int(zae_lease_held(&ls), 0, "nothing held after the return");
    ok(!zae_lease_expired(&ls, 5000), "an empty lease never expires");
    is_int(zae_lease_return(&ls, out), 0, "a second return gives nothing");
}


static void
test_size(void)
{
    int64_t           k, tk[1];
    zae_lease_t       ls;
    zae_lease_conf_t  fixed = { 50, 1000, 100 };
    zae_lease_conf_t  share = { 50, 1000, 10 };
    zae_lease_conf_t  au = { 0, 1000, 100 };

    zae_lease_init(&ls);

    is_int(zae_lease_size(&ls, &fixed, rpm1, 1, 0), 50,
           "size=N, bucket not seen: N");

    tk[0] = 100000 - 50000;
    (void) zae_lease_refilled(&ls, &fixed, rpm1, 1, 50, tk, 0);
    is_int(ls.l[0].avail, 100, "100 available before the refill");

    is_int(zae_lease_size(&ls, &share, rpm1, 1, 0), 10,
           "max_share 10 %% of 100 available: 10");
    is_int(zae_lease_size(&ls, &fixed, rpm1, 1, 0), 50,
           "max_share 100 %%: N");

    tk[0] = 5000;
    zae_lease_refused(&ls, rpm1, 1, tk);
    is_int(ls.l[0].avail, 5, "a refusal's image: 5 available");
    is_int(zae_lease_size(&ls, &fixed, rpm1, 1, 0), 5, "capped at 5");
    is_int(zae_lease_size(&ls, &share, rpm1, 1, 0), 1,
           "10 %% of 5 is no lease: k = 1");

    tk[0] = -2500;
    zae_lease_refused(&ls, rpm1, 1, tk);
    is_int(ls.l[0].avail, 0, "a bucket in debt: 0 available");

    /* auto */

    zae_lease_init(&ls);

    zae_lease_seen(&ls, &au, 10000);
    is_int(zae_lease_size(&ls, &au, rpm1, 1, 10000), 1,
           "auto, one request seen: k = 1 (no lease)");

    zae_lease_seen(&ls, &au, 12500);
    is_int(ls.prev_count, 1, "window rolled after a ttl");
    is_int(zae_lease_size(&ls, &au, rpm1, 1, 12500), 1,
           "auto, one request in 2.5 s: k = 1");

    zae_lease_seen(&ls, &au, 12501);
    zae_lease_seen(&ls, &au, 12502);
    is_int(ls.win_count, 3, "three requests in this window");
    is_int(zae_lease_size(&ls, &au, rpm1, 1, 12502), 1,
           "auto, 3 requests per ttl: below ZAE_LEASE_AUTO_MIN, k = 1");

    for (k = 0; k < 997; k++) {
        zae_lease_seen(&ls, &au, 12503 + k);
    }

    is_int(zae_lease_size(&ls, &au, rpm1, 1, 13499), ZAE_LEASE_AUTO_MIN,
           "auto, 1000 requests but the bucket not seen: a probe");

    tk[0] = 1000000 - 4000;
    (void) zae_lease_refilled(&ls, &au, rpm1, 1, 4, tk, 13499);
    is_int(zae_lease_size(&ls, &au, rpm1, 1, 13499), 1000,
           "auto: the requests of this window");

    zae_lease_seen(&ls, &au, 14000);
    is_int(ls.prev_count, 1000, "1000 requests in the last window");
    is_int(ls.prev_ms, 1500, "over 1.5 s");
    is_int(zae_lease_size(&ls, &au, rpm1, 1, 14000), 666,
           "auto: 1000 x 1000 // 1500 per ttl");

    tk[0] = 800000;
    zae_lease_refused(&ls, rpm1, 1, tk);
    au.max_share = 50;
    is_int(zae_lease_size(&ls, &au, rpm1, 1, 14000), 400,
           "auto capped at max_share 50 %% of 800");

    {
        zae_amount_t      big[] = { { zae_string("tpm"), 400000000000LL } };
        zae_lease_conf_t  huge = { 100000, 1000, 100 };

        zae_lease_init(&ls);
        is_int(zae_lease_size(&ls, &huge, big, 1, 0), 2,
               "k x amount stays within 10^12 tokens");
    }

    {
        zae_amount_t  five[] = { { zae_string("a"), 1 }, { zae_string("b"), 1 },
                                 { zae_string("c"), 1 }, { zae_string("d"), 1 },
                                 { zae_string("e"), 1 } };

        zae_lease_init(&ls);
        is_int(zae_lease_size(&ls, &fixed, five, 5, 0), 1,
               "more limits than a lease holds: no lease");
        is_int(zae_lease_refilled(&ls, &fixed, five, 5, 2, NULL, 0),
               ZAE_DECLINED, "and none is stored");
    }

    fixed.size = 1000000;
    zae_lease_init(&ls);
    is_int(zae_lease_size(&ls, &fixed, rpm1, 1, 0), ZAE_LEASE_K_MAX,
           "k at most ZAE_LEASE_K_MAX");
}


/* what the headers of a request served by the lease read */

static void
test_remaining(void)
{
    int64_t           tk[1] = { 88000 };
    zae_lease_t       ls;
    zae_lease_conf_t  conf = { 10, 1000, 100 };

    zae_lease_init(&ls);

    is_int(zae_lease_remaining(&ls, &rpm1[0].name) == INT64_MIN, 1,
           "remaining: not known without a refill");

    (void) zae_lease_refilled(&ls, &conf, rpm1, 1, 10, tk, 0);

    is_int(zae_lease_remaining(&ls, &rpm1[0].name) == INT64_MIN, 1,
           "remaining: not known without the refill's image");

    zae_lease_image(&ls, &rpm1[0].name, 88000, 100000, 100000, 86400000);

    is_int(zae_lease_remaining(&ls, &rpm1[0].name), 97000,
           "remaining after the refill: table 88 + lease 9");

    (void) zae_lease_take(&ls, rpm1, 1, 10);

    is_int(zae_lease_remaining(&ls, &rpm1[0].name), 96000,
           "remaining after a take: 88 + 8");
    is_int(zae_lease_limit(&ls, &rpm1[0].name)->cp, 100000,
           "the image's capacity kept");
}


static void
test_refill_flight(void)
{
    zae_lease_t  ls;

    zae_lease_init(&ls);

    is_int(zae_lease_refill_begin(&ls, 1000, 500, 11), ZAE_OK,
           "first refill");
    is_int(zae_lease_refill_begin(&ls, 1200, 500, 21), ZAE_DECLINED,
           "one refill in flight at a time, whatever the worker");
    is_int(zae_lease_refill_begin(&ls, 1500, 500, 21), ZAE_OK,
           "a refill in flight for stale ms is taken over");
    is_int(zae_lease_refill_end(&ls, 11), ZAE_DECLINED,
           "the refill taken over ends late: not its mark any more");
    is_int(zae_lease_refill_begin(&ls, 1501, 500, 31), ZAE_DECLINED,
           "so the refill that took over is still the one in flight");
    is_int(zae_lease_refill_end(&ls, 21), ZAE_OK, "its owner ends it");
    is_int(zae_lease_refill_end(&ls, 21), ZAE_DECLINED,
           "exactly once: a second end clears nothing");
    is_int(zae_lease_refill_begin(&ls, 1502, 500, 31), ZAE_OK,
           "after the end, the next");
}


/*
 * Instances share one bucket of capacity C (no refill): each request
 * takes from its instance's lease, else refills with a conditional
 * "write" of k x 1 (refused when the bucket has less); leases expire and
 * go back.  Never more than C admitted; at the end, with every lease
 * returned, tokens in the bucket + admitted = C.
 */

static void
test_simulation(void)
{
    int               i, r, over, lost;
    int64_t           bucket, admitted, k, tk[1], seed, now;
    zae_lease_t       ls[3];
    zae_amount_t      out[ZAE_LEASE_LIMITS];
    zae_lease_conf_t  conf = { 0, 50, 30 };
    size_t            j, n;

    over = 0;
    lost = 0;
    seed = 12345;

    for (r = 0; r < 200; r++) {
        bucket = 1000;
        admitted = 0;
        conf.size = (r % 4 == 0) ? 0 : r % 37;

        for (i = 0; i < 3; i++) {
            zae_lease_init(&ls[i]);
        }

        for (now = 1; now < 5000; now++) {
            seed = (seed * 1103515245 + 12345) & 0x7fffffff;
            i = (int) (seed % 3);

            zae_lease_seen(&ls[i], &conf, now);

            if (zae_lease_expired(&ls[i], now)) {
                n = zae_lease_return(&ls[i], out);
                for (j = 0; j < n; j++) {
                    bucket += out[j].amount;
                }
            }

            if (zae_lease_take(&ls[i], rpm1, 1, now) == ZAE_OK) {
                admitted++;
                continue;
            }

            k = zae_lease_size(&ls[i], &conf, rpm1, 1, now);

            if (bucket >= k) {
                bucket -= k;
                admitted++;
                tk[0] = bucket * 1000;
                if (k > 1
                    && zae_lease_refilled(&ls[i], &conf, rpm1, 1, k, tk, now)
                       != ZAE_OK)
                {
                    lost++;
                }

            } else {
                tk[0] = bucket * 1000;
                zae_lease_refused(&ls[i], rpm1, 1, tk);

                if (bucket >= 1) {
                    bucket--;
                    admitted++;
                }
            }
        }

        for (i = 0; i < 3; i++) {
            n = zae_lease_return(&ls[i], out);
            for (j = 0; j < n; j++) {
                bucket += out[j].amount;
            }
        }

        if (admitted > 1000 || bucket + admitted != 1000 || bucket < 0) {
            over++;
        }
    }

    is_int(over, 0, "200 runs: never over C, bucket + admitted = C");
    is_int(lost, 0, "no refill lost");
}


int
main(void)
{
    test_take();
    test_size();
    test_remaining();
    test_refill_flight();
    test_simulation();

    return tap_done();
}
