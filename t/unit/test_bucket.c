
/*
 * Copyright (C) zae-limit authors
 *
 * Bucket math: the vectors of the fact sheet (sections 2 and 6) and
 * 64-bit edge cases.
 */


#include "tap.h"
#include "zae_core.h"
#include "zae_limit.h"
#include "zae_bucket.h"


typedef struct {
    int64_t            tk, last, now, cp, ra, rp;
    int64_t            want_tk, want_last;
} refill_case_t;


static void test_floor_div(void);
static void test_refill_vectors(void);
static void test_retry(void);
static void test_consume(void);
static void test_ttl(void);
static void test_write_delta(void);
static void test_edges(void);
static void test_properties(void);


static void
test_floor_div(void)
{
    is_int(zae_floor_div(-2500, 1000), -3, "floor -2500 // 1000");
    is_int(zae_floor_div(2500, 1000), 2, "floor 2500 // 1000");
    is_int(zae_floor_div(-3000, 1000), -3, "floor -3000 // 1000");
    is_int(zae_floor_div(-1, 1000), -1, "floor -1 // 1000");
    is_int(zae_floor_div(0, 1000), 0, "floor 0 // 1000");
    is_int(zae_floor_div(999, 1000), 0, "floor 999 // 1000");
    is_int(zae_floor_div(7, -2), -4, "floor 7 // -2");
    is_int(zae_floor_div(-7, -2), 3, "floor -7 // -2");
    is_int(zae_floor_div(INT64_MIN, 1000), -9223372036854776LL,
           "floor INT64_MIN // 1000");
    is_int(zae_floor_div(INT64_MIN, -1), INT64_MAX,
           "INT64_MIN // -1 saturates");
    is_int(zae_floor_div(5, 0), 0, "division by zero gives 0");
    is_int(zae_mul_sat(INT64_MAX, 2), INT64_MAX, "mul saturates up");
    is_int(zae_mul_sat(INT64_MIN, 2), INT64_MIN, "mul saturates down");
    is_int(zae_add_sat(INT64_MAX, 1), INT64_MAX, "add saturates");
}


static void
test_refill_vectors(void)
{
    size_t   i;
    int64_t  tk, last;

    static const refill_case_t  cases[] = {
        /* the verified vectors of the fact sheet, section 2.2 */
        { 0, 1000, 1333, 100000, 100000, 60000, 555, 1333 },
        { -5500, 0, 7, 10000, 1000, 3000, -5498, 6 },
        { 0, 0, 1, 1000, 1000, 60000, 0, 0 },
        { 99000, 0, 60000, 100000, 100000, 60000, 100000, 60000 },

        /* elapsed <= 0: unchanged, clock going backwards too */
        { 500, 1000, 1000, 1000, 1000, 1000, 500, 1000 },
        { 500, 1000, 10, 1000, 1000, 1000, 500, 1000 },
        { -500, 1000, INT64_MIN, 1000, 1000, 1000, -500, 1000 },

        /* capped: last still advances by the converted time */
        { 0, 0, 3600000, 5000, 5000, 60000, 5000, 3600000 },

        /* drift: 61 ms at 1 token/min gives 1 millitoken, 60 ms used */
        { 0, 0, 61, 1000000, 1000, 60000, 1, 60 },

        /* tk above cp (capacity lowered) drops to cp once refilled */
        { 9000, 0, 60000, 5000, 5000, 60000, 5000, 60000 },

        /* invalid parameters: unchanged */
        { 7, 0, 1000, 1000, 0, 1000, 7, 0 },
        { 7, 0, 1000, 1000, 1000, 0, 7, 0 },
        { 7, 0, 1000, 1000, -5, 1000, 7, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zae_bucket_refill(cases[i].tk, cases[i].last, cases[i].now,
                          cases[i].cp, cases[i].ra, cases[i].rp, &tk, &last);

        is_int(tk, cases[i].want_tk, "refill case %zu: tk", i);
        is_int(last, cases[i].want_last, "refill case %zu: last", i);
    }
}


static void
test_retry(void)
{
    /* fact sheet 2.3: calc_retry */
    is_int(zae_bucket_retry_ms(1000, 100000, 60000), 601, "retry 0.601 ms");
    ok(zae_bucket_retry_seconds(601) == 0.601, "retry 0.601 s");
    is_int(zae_bucket_retry_ms(1, 1000, 60000), 61, "retry 0.061 ms");
    ok(zae_bucket_retry_seconds(61) == 0.061, "retry 0.061 s");
    is_int(zae_bucket_retry_ms(2250000, 3000000, 3600000), 2700001,
           "retry 2700.001 ms");
    ok(zae_bucket_retry_seconds(2700001) == 2700.001, "retry 2700.001 s");
    is_int(zae_bucket_retry_ms(0, 1000, 1000), 0, "no deficit, no retry");
    is_int(zae_bucket_retry_ms(-5, 1000, 1000), 0, "negative deficit");
    is_int(zae_bucket_retry_ms(1, 0, 1000), INT64_MAX,
           "never refilling bucket: saturated retry");
    is_int(zae_bucket_retry_ms(INT64_MAX, 1, INT64_MAX), INT64_MAX,
           "huge deficit saturates");
    ok(zae_bucket_retry_seconds(0) == 0.0, "0 ms is 0.0 s");

    /* Retry-After: int(retry) + 1 */
    is_int(zae_bucket_retry_header(11.965), 12, "header 11.965 -> 12");
    is_int(zae_bucket_retry_header(0.0), 1, "header 0.0 -> 1");
    is_int(zae_bucket_retry_header(2.0), 3, "header 2.0 -> 3");
    is_int(zae_bucket_retry_header(0.999), 1, "header 0.999 -> 1");
    is_int(zae_bucket_retry_header(42.001), 43, "header 42.001 -> 43");
    is_int(zae_bucket_retry_header(1e300), INT64_MAX, "header saturates");
}


static void
test_consume(void)
{
    int                  rc;
    zae_bucket_t         b;
    zae_bucket_result_t  r;

    /* fact sheet 2.3: tk -2500, cp = ra = 5000, rp 60000, request 1 */
    b.tk = -2500;
    b.last = 1000;
    b.cp = 5000;
    b.ra = 5000;
    b.rp = 60000;

    rc = zae_bucket_try_consume(&b, 1, 1000, &r);
    is_int(rc, ZAE_DECLINED, "debt bucket: exceeded");
    ok(r.exceeded, "debt bucket: exceeded flag");
    is_int(r.available, -3, "debt bucket: available -3");
    is_int(r.retry_ms, 42001, "debt bucket: retry 42001 ms");
    ok(zae_bucket_retry_seconds(r.retry_ms) == 42.001,
       "debt bucket: retry 42.001 s");
    is_int(r.new_tk, -2500, "debt bucket: balance unchanged");
    is_int(zae_bucket_available(&b, 1000), -3, "available() -3");
    is_int(zae_bucket_time_until_available(&b, 1, 1000), 42001,
           "time_until_available 42001 ms");
    ok(!zae_bucket_would_refill_satisfy(&b, 1, 1000),
       "refill does not satisfy now");
    ok(zae_bucket_would_refill_satisfy(&b, 1, 1000 + 42001),
       "refill satisfies after the retry time");
    ok(zae_bucket_would_refill_satisfy(&b, 1, 1000 + 42000),
       "the +1 ms of the retry is conservative: 42000 ms suffice");
    ok(!zae_bucket_would_refill_satisfy(&b, 1, 1000 + 41999),
       "refill does not satisfy at 41999 ms");

    /* the verified 429 example: rpm 5/min, bucket emptied */
    b.tk = 0;
    b.last = 0;
    b.cp = 5000;
    b.ra = 5000;
    b.rp = 60000;

    rc = zae_bucket_try_consume(&b, 1, 48036, &r);
    is_int(rc, ZAE_OK, "emptied rpm bucket: 1 token passes after 48 s");
    is_int(r.tk, 4003, "empty rpm bucket: refilled 4003");
    is_int(r.available, 4, "empty rpm bucket: available 4");

    rc = zae_bucket_try_consume(&b, 5, 48036, &r);
    is_int(rc, ZAE_DECLINED, "5 tokens exceed 4.003");
    is_int(r.retry_ms, 11965, "retry 11965 ms (0.997 tokens short)");

    /* success */
    b.tk = 5000;
    b.last = 0;

    rc = zae_bucket_try_consume(&b, 2, 0, &r);
    is_int(rc, ZAE_OK, "consume 2 of 5");
    is_int(r.new_tk, 3000, "balance 3000");
    is_int(r.available, 5, "available before consuming");
    is_int(r.retry_ms, 0, "no retry on success");
    ok(!r.exceeded, "not exceeded");

    rc = zae_bucket_try_consume(&b, 0, 0, &r);
    is_int(rc, ZAE_OK, "consume 0 always passes");
    is_int(r.new_tk, 5000, "consume 0 leaves the balance");

    rc = zae_bucket_try_consume(&b, 5, 0, &r);
    is_int(rc, ZAE_OK, "consume exactly the balance");
    is_int(r.new_tk, 0, "balance 0");

    rc = zae_bucket_try_consume(&b, 6, 0, &r);
    is_int(rc, ZAE_DECLINED, "one more than the balance");
    is_int(r.retry_ms, 12001, "retry 12001 ms");

    /* time until available when tokens are already there */
    b.tk = 5000;
    b.last = 0;
    is_int(zae_bucket_time_until_available(&b, 3, 0), 0,
           "time_until_available: already available");
    is_int(zae_bucket_time_until_available(&b, 6, 0), 12001,
           "time_until_available: 1 token short");
}


static void
test_ttl(void)
{
    zae_limits_t  ls;

    memset(&ls, 0, sizeof(ls));

    /* fact sheet 2.3: {tpm 5000/min burst 8000, rpm 50/min} -> 672 */
    zae_str_set(&ls.elts[0].name, "tpm");
    ls.elts[0].capacity = 8000;
    ls.elts[0].refill_amount = 5000;
    ls.elts[0].period = 60;
    zae_str_set(&ls.elts[1].name, "rpm");
    ls.elts[1].capacity = 50;
    ls.elts[1].refill_amount = 50;
    ls.elts[1].period = 60;
    ls.nelts = 2;

    is_int(zae_bucket_ttl_seconds(&ls, 7), 672, "ttl 672");
    is_int(zae_bucket_ttl_seconds(&ls, 0), 0, "multiplier 0 disables");
    is_int(zae_bucket_ttl_seconds(&ls, -1), 0, "multiplier < 0 disables");
    is_int(zae_bucket_ttl_seconds(&ls, 1), 96, "multiplier 1");

    /* {cap 1000, ra 10, 60 s} -> 42000 */
    ls.elts[0].capacity = 1000;
    ls.elts[0].refill_amount = 10;
    ls.elts[0].period = 60;
    ls.nelts = 1;
    is_int(zae_bucket_ttl_seconds(&ls, 7), 42000, "ttl 42000");

    /* float math: 1/3 * 3 = 1.0, 10/3 * 7 days */
    ls.elts[0].capacity = 1;
    ls.elts[0].refill_amount = 3;
    ls.elts[0].period = 3;
    is_int(zae_bucket_ttl_seconds(&ls, 7), 7, "ttl 1/3*3*7");

    ls.elts[0].capacity = 10;
    ls.elts[0].refill_amount = 3;
    ls.elts[0].period = 86400;
    is_int(zae_bucket_ttl_seconds(&ls, 7), 2016000, "ttl 10/3*86400*7");

    ls.elts[0].capacity = ZAE_LIMIT_NUM_MAX;
    ls.elts[0].refill_amount = 1;
    ls.elts[0].period = ZAE_LIMIT_NUM_MAX;
    is_int(zae_bucket_ttl_seconds(&ls, 7), INT64_MAX, "ttl saturates");

    ls.nelts = 0;
    is_int(zae_bucket_ttl_seconds(&ls, 7), 0, "no limits, no ttl");
}


static void
test_write_delta(void)
{
    int64_t             cur, last;
    zae_bucket_delta_t  d;

    /* the bucket example of section 1.3: full, consume 2 rpm */
    zae_bucket_write_delta(20000, 18000, 2000, &d);
    is_int(d.refill_added, 0, "full bucket: nothing refilled");
    is_int(d.tk_delta, -2000, "full bucket: tk -2000");
    is_int(d.tc_delta, 2000, "full bucket: tc +2000");
    is_int(d.floor, 2000, "full bucket: floor 2000");

    /* refill 555 then consume 1000 */
    zae_bucket_refill(5000, 1000, 1333, 100000, 100000, 60000, &cur, &last);
    zae_bucket_write_delta(5000, cur - 1000, 1000, &d);
    is_int(d.refill_added, 555, "refill 555");
    is_int(d.tk_delta, -445, "tk delta -445");
    is_int(d.tc_delta, 1000, "tc delta 1000");
    is_int(d.floor, 445, "floor 445");

    /* refill more than consumed: no floor */
    zae_bucket_write_delta(0, 500, 1000, &d);
    is_int(d.refill_added, 1500, "refill 1500");
    is_int(d.tk_delta, 500, "tk delta +500");
    is_int(d.floor, 0, "floor 0 when refill covers it");

    /* resolved but not consumed */
    zae_bucket_write_delta(1000, 1600, 0, &d);
    is_int(d.tc_delta, 0, "tc delta 0");
    is_int(d.tk_delta, 600, "tk delta is the refill");
    is_int(d.floor, 0, "floor 0");
}


static void
test_edges(void)
{
    int64_t              tk, last, year;
    zae_bucket_t         b;
    zae_bucket_result_t  r;

    year = 365LL * 86400 * 1000;

    /* huge capacity, day period, ten years elapsed: capped, no overflow */
    zae_bucket_refill(0, 0, 10 * year, ZAE_LIMIT_NUM_MAX * 1000,
                      ZAE_LIMIT_NUM_MAX * 1000, 86400000, &tk, &last);
    is_int(tk, ZAE_LIMIT_NUM_MAX * 1000, "huge bucket capped at cp");
    is_int(last, 10 * year, "huge bucket: last at now");

    /* the whole int64 range elapsed */
    zae_bucket_refill(INT64_MIN, INT64_MIN, INT64_MAX, INT64_MAX, INT64_MAX,
                      1, &tk, &last);
    is_int(tk, INT64_MAX, "full-range refill capped");
    ok(last <= INT64_MAX && last > INT64_MIN, "full-range refill: last");

    zae_bucket_refill(INT64_MIN, INT64_MIN, INT64_MAX, INT64_MAX, 1,
                      INT64_MAX, &tk, &last);
    is_int(tk, INT64_MIN + 2, "2^64-1 ms at 1 milli per 2^63-1 ms");
    is_int(last, INT64_MAX - 1, "full-range slow refill: last");

    /* years of elapsed time with a slow refill */
    zae_bucket_refill(-5000000, 0, 30 * year, 1000, 1, 86400000, &tk, &last);
    is_int(tk, -5000000 + 30 * 365, "one millitoken a day for 30 years");
    is_int(last, 30 * 365 * 86400000LL, "last after 30 years");

    /* clock going backwards a long way */
    b.tk = 100;
    b.last = 10 * year;
    b.cp = 1000;
    b.ra = 1000;
    b.rp = 1000;
    is_int(zae_bucket_available(&b, 0), 0, "backwards clock: no refill");
    is_int(zae_bucket_try_consume(&b, 1, -year, &r), ZAE_DECLINED,
           "backwards clock: no tokens created");
    is_int(r.last, 10 * year, "backwards clock: last unchanged");
    is_int(r.retry_ms, 901, "backwards clock: retry from stored state");

    /* consume an absurd amount */
    b.tk = INT64_MAX;
    b.last = 0;
    b.cp = INT64_MAX;
    is_int(zae_bucket_try_consume(&b, INT64_MAX, 0, &r), ZAE_DECLINED,
           "INT64_MAX tokens exceed any balance");
    is_int(r.retry_ms, INT64_MAX, "retry saturates");
    is_int(zae_bucket_time_until_available(&b, INT64_MAX, 0), INT64_MAX,
           "time_until_available saturates");

    is_int(zae_bucket_try_consume(&b, INT64_MIN, 0, &r), ZAE_OK,
           "negative consume passes");
    is_int(r.new_tk, INT64_MAX, "negative consume saturates the balance");
}


static void
test_properties(void)
{
    int       i, bad_last, bad_tk, bad_drift;
    int64_t   tk, last, now, cp, ra, rp, ntk, nlast;
    uint64_t  x;

    x = 0x9e3779b97f4a7c15ULL;
    bad_last = 0;
    bad_tk = 0;
    bad_drift = 0;

    for (i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cp = (int64_t) (x % 100000000) + 1;
        ra = (int64_t) ((x >> 20) % 10000000) + 1;
        rp = (int64_t) ((x >> 11) % 86400000) + 1;
        tk = (int64_t) ((x >> 3) % 200000000) - 100000000;
        last = (int64_t) ((x >> 7) % 1000000000);
        now = last + (int64_t) ((x >> 5) % 100000000) - 1000;

        zae_bucket_refill(tk, last, now, cp, ra, rp, &ntk, &nlast);

        if (nlast < last || (now > last && nlast > now)) {
            bad_last++;
        }

        if (ntk < tk && ntk != cp) {
            bad_tk++;
        }

        /* the unconverted time never exceeds one millitoken's worth */
        if (now > last && ntk != cp
            && (__int128) (now - nlast) * ra >= (__int128) rp
            && ntk == tk)
        {
            bad_drift++;
        }
    }

    is_int(bad_last, 0, "refill: last stays within [last, now]");
    is_int(bad_tk, 0, "refill: tokens only decrease to cp");
    is_int(bad_drift, 0, "refill: no whole millitoken left behind");
}


int
main(void)
{
    test_floor_div();
    test_refill_vectors();
    test_retry();
    test_consume();
    test_ttl();
    test_write_delta();
    test_edges();
    test_properties();

    return tap_done();
}
