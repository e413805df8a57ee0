
/*
 * Copyright (C) zae-limit authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>

#include "zae_body.h"
#include "zae_json.h"
#include "zae_schema.h"
#include "zae_bucket.h"


#define ZAE_VALUE_SHOW  50       /* ValidationError truncates values */


static int zae_shortest_digits(double v, char *digits, int *exp10);
static int zae_try_digits(double v, uint64_t m, int ndigits, int exp10,
    char *digits);
static int zae_body_add_str(zae_buf_t *b, const zae_str_t *s);
static int zae_body_add_tenths(zae_buf_t *b, int64_t ms);
static int zae_body_add_status(zae_buf_t *b, const zae_limit_status_t *st);


/*
 * Format m (ndigits decimal digits) as d.ddde<exp10> and check whether
 * it reads back as v
 */

static int
zae_try_digits(double v, uint64_t m, int ndigits, int exp10, char *digits)
{
    char  buf[48];
    int   n;

    n = snprintf(digits, 24, "%0*" PRIu64, ndigits, m);
    if (n != ndigits) {
        return 0;
    }

    (void) snprintf(buf, sizeof(buf), "%c.%se%d", digits[0], digits + 1,
                    exp10);

    return strtod(buf, NULL) == v;
}


/*
 * The shortest decimal digits that read back as v (v finite, > 0), as
 * Python's repr() picks them: the fewest digits, and among those the
 * one closest to v.  Returns the number of digits; *exp10 is the
 * exponent of the first digit.
 */

static int
zae_shortest_digits(double v, char *digits, int *exp10)
{
    int       p, e, n, i;
    char      buf[48], *dot, *ex;
    uint64_t  m;

    for (p = 1; p <= 17; p++) {
        n = snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        if (n <= 0 || n >= (int) sizeof(buf)) {
            break;
        }

        ex = strchr(buf, 'e');
        if (ex == NULL) {
            break;
        }

        e = atoi(ex + 1);

        /* the mantissa digits without the dot */

        m = 0;

        for (dot = buf; dot < ex; dot++) {
            if (*dot >= '0' && *dot <= '9') {
                m = m * 10 + (*dot - '0');
            }
        }

        if (zae_try_digits(v, m, p, e, digits)) {
            goto found;
        }

        /*
         * At a power of two the rounding interval is asymmetric: a
         * neighbour of the correctly rounded digits may read back as v
         * while the rounded digits do not
         */

        if (zae_try_digits(v, m + 1, p, e, digits)
            && strlen(digits) == (size_t) p)
        {
            goto found;
        }

        if (m > 1 && zae_try_digits(v, m - 1, p, e, digits)
            && digits[0] != '0')
        {
            goto found;
        }
    }

    /* 17 digits always round-trip */

    n = snprintf(buf, sizeof(buf), "%.16e", v);
    ex = strchr(buf, 'e');
    if (n <= 0 || ex == NULL) {
        digits[0] = '0';
        digits[1] = '\0';
        *exp10 = 0;
        return 1;
    }

    e = atoi(ex + 1);
    p = 0;

    for (dot = buf; dot < ex; dot++) {
        if (*dot >= '0' && *dot <= '9') {
            digits[p++] = *dot;
        }
    }

    digits[p] = '\0';

found:

    /* drop trailing zeros, Python never prints them in repr() */

    p = (int) strlen(digits);

    for (i = p; i > 1 && digits[i - 1] == '0'; i--) {
        /* void */
    }

    digits[i] = '\0';
    *exp10 = e;

    return i;
}


int
zae_py_float_repr(zae_buf_t *b, double v)
{
    int     n, e, i;
    char    digits[24], out[64];
    size_t  k;

    if (isnan(v)) {
        return zae_buf_add_str(b, "nan");
    }

    if (isinf(v)) {
        return zae_buf_add_str(b, v < 0 ? "-inf" : "inf");
    }

    k = 0;

    if (signbit(v)) {
        out[k++] = '-';
        v = -v;
    }

    if (v == 0.0) {
        memcpy(out + k, "0.0", 3);
        return zae_buf_add(b, out, k + 3);
    }

    n = zae_shortest_digits(v, digits, &e);

    if (e < -4 || e >= 16) {

        /* exponent form: 1e+16, 1.5e-05 */

        out[k++] = digits[0];

        if (n > 1) {
            out[k++] = '.';
            memcpy(out + k, digits + 1, n - 1);
            k += n - 1;
        }

        k += snprintf(out + k, sizeof(out) - k, "e%c%02d",
                      e < 0 ? '-' : '+', e < 0 ? -e : e);

        return zae_buf_add(b, out, k);
    }

    if (e < 0) {

        /* 0.000ddd */

        out[k++] = '0';
        out[k++] = '.';

        for (i = -1; i > e; i--) {
            out[k++] = '0';
        }

        memcpy(out + k, digits, n);
        k += n;

        return zae_buf_add(b, out, k);
    }

    /* ddd.ddd, ddd000.0 */

    for (i = 0; i <= e; i++) {
        out[k++] = i < n ? digits[i] : '0';
    }

    out[k++] = '.';

    if (n > e + 1) {
        memcpy(out + k, digits + e + 1, n - e - 1);
        k += n - e - 1;

    } else {
        out[k++] = '0';
    }

    return zae_buf_add(b, out, k);
}


size_t
zae_body_primary(const zae_limit_status_t *st, size_t n)
{
    size_t  i, primary;
    double  max, s;

    primary = n;
    max = 0.0;

    for (i = 0; i < n; i++) {
        if (!st[i].exceeded) {
            continue;
        }

        s = zae_bucket_retry_seconds(st[i].retry_after_ms);

        /* Python's max(): the first of equal maxima wins */

        if (primary == n || s > max) {
            primary = i;
            max = s;
        }
    }

    return primary;
}


static int
zae_body_add_str(zae_buf_t *b, const zae_str_t *s)
{
    if (s == NULL || s->data == NULL) {
        return zae_json_add_string(b, (const u_char *) "", 0);
    }

    return zae_json_add_string(b, s->data, s->len);
}


/*
 * repr(ms / 1000.0) for integral ms, without the shortest-digits search:
 * below 10^14 the decimal ms / 1000 has at most 15 significant digits,
 * so it is the one decimal of that length mapping to its double, and
 * repr() prints it with trailing zeros trimmed (at least one digit after
 * the point, no exponent from 0.001 up)
 */

int
zae_py_ms_repr(zae_buf_t *b, int64_t ms)
{
    int      n;
    int64_t  frac;
    char     digits[4];

    if (ms < 0 || ms >= 100000000000000LL) {
        return zae_py_float_repr(b, (double) ms / 1000.0);
    }

    frac = ms % 1000;

    if (zae_buf_add_int64(b, ms / 1000) != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (frac == 0) {
        return zae_buf_add(b, ".0", 2);
    }

    digits[0] = '.';
    digits[1] = (char) ('0' + frac / 100);
    digits[2] = (char) ('0' + frac / 10 % 10);
    digits[3] = (char) ('0' + frac % 10);

    for (n = 4; digits[n - 1] == '0'; n--) { /* void */ }

    return zae_buf_add(b, digits, n);
}


/*
 * printf("%.1f", ms / 1000.0) for integral ms, without printf: below
 * 10^14 the double is within 10^-5 of the decimal ms / 1000, so it
 * rounds to the nearest tenth as the decimal does, unless the decimal
 * is a tie (ms % 100 == 50): then the double's side of it, or an exact
 * tie's round-half-even, decides, and printf is asked
 */

static int
zae_body_add_tenths(zae_buf_t *b, int64_t ms)
{
    char     buf[48];
    int64_t  t;

    if (ms < 0 || ms >= 100000000000000LL || ms % 100 == 50) {
        (void) snprintf(buf, sizeof(buf), "%.1f",
                        zae_bucket_retry_seconds(ms));
        return zae_buf_add_str(b, buf);
    }

    t = ms / 100 + (ms % 100 > 50);

    buf[0] = '.';
    buf[1] = (char) ('0' + t % 10);

    if (zae_buf_add_int64(b, t / 10) != ZAE_OK) {
        return ZAE_ERROR;
    }

    return zae_buf_add(b, buf, 2);
}


static int
zae_body_add_status(zae_buf_t *b, const zae_limit_status_t *st)
{

    if (zae_buf_add_str(b, "{\"entity_id\": ") != ZAE_OK
        || zae_body_add_str(b, &st->entity_id) != ZAE_OK
        || zae_buf_add_str(b, ", \"resource\": ") != ZAE_OK
        || zae_body_add_str(b, &st->resource) != ZAE_OK
        || zae_buf_add_str(b, ", \"limit_name\": ") != ZAE_OK
        || zae_body_add_str(b, &st->limit_name) != ZAE_OK
        || zae_buf_add_str(b, ", \"capacity\": ") != ZAE_OK
        || zae_buf_add_int64(b, st->capacity) != ZAE_OK
        || zae_buf_add_str(b, ", \"refill_amount\": ") != ZAE_OK
        || zae_buf_add_int64(b, st->refill_amount) != ZAE_OK
        || zae_buf_add_str(b, ", \"refill_period_seconds\": ") != ZAE_OK
        || zae_buf_add_int64(b, st->refill_period_seconds) != ZAE_OK
        || zae_buf_add_str(b, ", \"available\": ") != ZAE_OK
        || zae_buf_add_int64(b, st->available) != ZAE_OK
        || zae_buf_add_str(b, ", \"requested\": ") != ZAE_OK
        || zae_buf_add_int64(b, st->requested) != ZAE_OK
        || zae_buf_add_str(b, st->exceeded
                              ? ", \"exceeded\": true, "
                                "\"retry_after_seconds\": "
                              : ", \"exceeded\": false, "
                                "\"retry_after_seconds\": ")
           != ZAE_OK
        || zae_py_ms_repr(b, st->exceeded ? st->retry_after_ms : 0)
           != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


static int zae_body_unavailable_message(zae_buf_t *msg,
    const zae_str_t *cause, const zae_str_t *stack,
    const zae_str_t *entity_id, const zae_str_t *resource);


/*
 * The message of a 429, whatever its shape: "Rate limit exceeded for
 * {entity}/{resource}: [{names}]. Retry after {retry:.1f}s"
 */

static int
zae_body_rate_message(zae_buf_t *msg, const zae_limit_status_t *st,
    size_t n, size_t primary)
{
    size_t                     i, first;
    const zae_limit_status_t  *p;

    p = &st[primary];

    if (zae_buf_add_str(msg, "Rate limit exceeded for ") != ZAE_OK
        || zae_buf_add(msg, p->entity_id.data, p->entity_id.len) != ZAE_OK
        || zae_buf_add_str(msg, "/") != ZAE_OK
        || zae_buf_add(msg, p->resource.data, p->resource.len) != ZAE_OK
        || zae_buf_add_str(msg, ": [") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    first = 1;

    for (i = 0; i < n; i++) {
        if (!st[i].exceeded) {
            continue;
        }

        if ((!first && zae_buf_add_str(msg, ", ") != ZAE_OK)
            || zae_buf_add(msg, st[i].limit_name.data,
                           st[i].limit_name.len) != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        first = 0;
    }

    if (zae_buf_add_str(msg, "]. Retry after ") != ZAE_OK
        || zae_body_add_tenths(msg, p->retry_after_ms) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return zae_buf_add(msg, "s", 1);
}


static void
zae_body_retry_header(const zae_limit_status_t *p, int64_t *retry_header)
{
    if (retry_header) {
        *retry_header = zae_bucket_retry_header(
                            zae_bucket_retry_seconds(p->retry_after_ms));
    }
}


int
zae_body_rate_limited(zae_buf_t *b, const zae_limit_status_t *st, size_t n,
    int64_t *retry_header)
{
    size_t                     i, primary;
    double                     retry;
    int64_t                    ms;
    zae_buf_t                  msg;
    const zae_limit_status_t  *p;

    primary = zae_body_primary(st, n);
    if (primary == n) {
        return ZAE_ERROR;
    }

    p = &st[primary];
    retry = (double) p->retry_after_ms / 1000.0;

    /* the message, escaped as a whole afterwards */

    zae_buf_init(&msg, b->mem, 0);

    if (zae_body_rate_message(&msg, st, n, primary) != ZAE_OK) {
        return ZAE_ERROR;
    }

    ms = (retry * 1000.0 >= 9223372036854775808.0)
         ? INT64_MAX : (int64_t) (retry * 1000.0);

    if (zae_buf_add_str(b, "{\"error\": \"rate_limit_exceeded\", "
                        "\"message\": ") != ZAE_OK
        || zae_json_add_string(b, msg.data, msg.len) != ZAE_OK
        || zae_buf_add_str(b, ", \"retry_after_seconds\": ") != ZAE_OK
        || zae_py_ms_repr(b, p->retry_after_ms) != ZAE_OK
        || zae_buf_add_str(b, ", \"retry_after_ms\": ") != ZAE_OK
        || zae_buf_add_int64(b, ms) != ZAE_OK
        || zae_buf_add_str(b, ", \"limits\": [") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    for (i = 0; i < n; i++) {
        if ((i && zae_buf_add_str(b, ", ") != ZAE_OK)
            || zae_body_add_status(b, &st[i]) != ZAE_OK)
        {
            return ZAE_ERROR;
        }
    }

    if (zae_buf_add_str(b, "]}") != ZAE_OK) {
        return ZAE_ERROR;
    }

    zae_body_retry_header(p, retry_header);

    return ZAE_OK;
}


/* a message in the error object of a provider's SDK */

static int
zae_body_provider(zae_buf_t *b, int format, const char *type,
    const char *code, const u_char *msg, size_t len)
{
    if (format == ZAE_BODY_ANTHROPIC) {
        return (zae_buf_printf(b, "{\"type\": \"error\", \"error\": "
                               "{\"type\": \"%s\", \"message\": ", type)
                    != ZAE_OK
                || zae_json_add_string(b, msg, len) != ZAE_OK
                || zae_buf_add_str(b, "}}") != ZAE_OK)
               ? ZAE_ERROR : ZAE_OK;
    }

    return (zae_buf_add_str(b, "{\"error\": {\"message\": ") != ZAE_OK
            || zae_json_add_string(b, msg, len) != ZAE_OK
            || zae_buf_printf(b, ", \"type\": \"%s\", \"param\": null, "
                              "\"code\": \"%s\"}}", type, code) != ZAE_OK)
           ? ZAE_ERROR : ZAE_OK;
}


int
zae_body_provider_rate_limited(zae_buf_t *b, int format,
    const char *openai_type, const zae_limit_status_t *st, size_t n,
    int64_t *retry_header)
{
    size_t     primary;
    zae_buf_t  msg;

    primary = zae_body_primary(st, n);
    if (primary == n) {
        return ZAE_ERROR;
    }

    zae_buf_init(&msg, b->mem, 0);

    if (zae_body_rate_message(&msg, st, n, primary) != ZAE_OK
        || zae_body_provider(b, format,
                             format == ZAE_BODY_ANTHROPIC
                             ? "rate_limit_error" : openai_type,
                             "rate_limit_exceeded", msg.data, msg.len)
           != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    zae_body_retry_header(&st[primary], retry_header);

    return ZAE_OK;
}


int
zae_body_provider_unavailable(zae_buf_t *b, int format,
    const zae_str_t *cause, const zae_str_t *stack,
    const zae_str_t *entity_id, const zae_str_t *resource)
{
    zae_buf_t  msg;

    zae_buf_init(&msg, b->mem, 0);

    if (zae_body_unavailable_message(&msg, cause, stack, entity_id,
                                     resource)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (format == ZAE_BODY_ZAE) {
        if (zae_buf_add_str(b, "{\"error\": \"rate_limiter_unavailable\", "
                            "\"message\": ") != ZAE_OK
            || zae_json_add_string(b, msg.data, msg.len) != ZAE_OK
            || zae_buf_add_str(b, "}") != ZAE_OK)
        {
            return ZAE_ERROR;
        }

        return ZAE_OK;
    }

    return zae_body_provider(b, format,
                             format == ZAE_BODY_ANTHROPIC ? "api_error"
                                                          : "server_error",
                             "rate_limiter_unavailable", msg.data, msg.len);
}


static int
zae_body_unavailable_message(zae_buf_t *msg, const zae_str_t *cause,
    const zae_str_t *stack, const zae_str_t *entity_id,
    const zae_str_t *resource)
{
    size_t            i;
    const zae_str_t  *s;

    static const char  *names[] = { " [stack=", ", entity=", ", resource=" };

    if (cause && cause->data
        && zae_buf_add(msg, cause->data, cause->len) != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    for (i = 0; i < 3; i++) {
        s = (i == 0) ? stack : (i == 1) ? entity_id : resource;

        if (zae_buf_add_str(msg, names[i]) != ZAE_OK) {
            return ZAE_ERROR;
        }

        /* a missing value prints as Python prints None */

        if (s == NULL || s->data == NULL) {
            if (zae_buf_add_str(msg, "None") != ZAE_OK) {
                return ZAE_ERROR;
            }

        } else if (zae_buf_add(msg, s->data, s->len) != ZAE_OK) {
            return ZAE_ERROR;
        }
    }

    return zae_buf_add_str(msg, "]");
}


int
zae_body_invalid(zae_buf_t *b, const char *field, const u_char *value,
    size_t len, const char *reason)
{
    size_t     i, chars, cut;
    zae_buf_t  msg, val;

    if (field == NULL) {
        field = "request";
    }

    if (reason == NULL) {
        reason = "invalid value";
    }

    if (value == NULL) {
        len = 0;
    }

    zae_buf_init(&msg, b->mem, 0);

    if (zae_buf_printf(&msg, "Invalid %s: %s", field, reason) != ZAE_OK) {
        return ZAE_ERROR;
    }

    /* value[:50] + "..." counting characters, not bytes */

    zae_buf_init(&val, b->mem, 0);

    chars = 0;
    cut = len;

    for (i = 0; i < len; i++) {
        if ((value[i] & 0xc0) != 0x80) {
            if (chars == ZAE_VALUE_SHOW) {
                cut = i;
                break;
            }

            chars++;
        }
    }

    if (zae_buf_add(&val, value ? value : (const u_char *) "", cut)
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (cut < len && zae_buf_add_str(&val, "...") != ZAE_OK) {
        return ZAE_ERROR;
    }

    if (zae_buf_add_str(b, "{\"error\": \"invalid_request\", \"message\": ")
        != ZAE_OK
        || zae_json_add_string(b, msg.data, msg.len) != ZAE_OK
        || zae_buf_add_str(b, ", \"field\": ") != ZAE_OK
        || zae_json_add_string(b, (const u_char *) field, strlen(field))
           != ZAE_OK
        || zae_buf_add_str(b, ", \"value\": ") != ZAE_OK
        || zae_json_add_string(b, val.data, val.len) != ZAE_OK
        || zae_buf_add_str(b, "}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}


int
zae_body_no_limits(zae_buf_t *b, const zae_str_t *entity_id,
    const zae_str_t *resource, const zae_str_t *ns, int with_inline)
{
    zae_buf_t  msg;

    zae_buf_init(&msg, b->mem, 0);

    if (zae_buf_printf(&msg, "No limits configured for entity \"%.*s\" "
                       "and resource \"%.*s\"; searched: entity "
                       "(%.*s, %.*s), entity default (%.*s, %s), resource "
                       "(%.*s), system (namespace %.*s)%s",
                       (int) entity_id->len, (char *) entity_id->data,
                       (int) resource->len, (char *) resource->data,
                       (int) entity_id->len, (char *) entity_id->data,
                       (int) resource->len, (char *) resource->data,
                       (int) entity_id->len, (char *) entity_id->data,
                       ZAE_DEFAULT_RESOURCE,
                       (int) resource->len, (char *) resource->data,
                       (int) ns->len, (char *) ns->data,
                       with_inline ? ", limits= of the location"
                                   : "; the location has no limits=")
        != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    if (zae_buf_add_str(b, "{\"error\": \"no_limits_configured\", "
                        "\"message\": ") != ZAE_OK
        || zae_json_add_string(b, msg.data, msg.len) != ZAE_OK
        || zae_buf_add_str(b, ", \"searched\": [\"entity\", "
                           "\"entity_default\", \"resource\", "
                           "\"system\"]}") != ZAE_OK)
    {
        return ZAE_ERROR;
    }

    return ZAE_OK;
}
