
/*
 * Copyright (C) zae-limit authors
 *
 * Response bodies: the 429 body (zae-limiter's RateLimitExceeded.as_dict()
 * serialised as Python's json.dumps(d) does, byte for byte), the 503 body
 * for an unavailable backend and the 400 body for invalid input, plus
 * Python's float repr().
 */


#ifndef _ZAE_BODY_H_INCLUDED_
#define _ZAE_BODY_H_INCLUDED_


#include "zae_core.h"


/* one LimitStatus of a RateLimitExceeded, in status order */

typedef struct {
    zae_str_t          entity_id;
    zae_str_t          resource;
    zae_str_t          limit_name;
    int64_t            capacity;               /* whole tokens */
    int64_t            refill_amount;          /* whole tokens */
    int64_t            refill_period_seconds;
    int64_t            available;              /* floored, may be < 0 */
    int64_t            requested;              /* whole tokens */
    int64_t            retry_after_ms;         /* integer ms, 0 if passed:
                                                  (deficit*rp//ra)+1 */
    unsigned           exceeded:1;
} zae_limit_status_t;


/*
 * Index of the primary violation: the first exceeded status with the
 * largest retry; n if no status is exceeded
 */
size_t zae_body_primary(const zae_limit_status_t *st, size_t n);

/*
 * The 429 body.  Returns ZAE_OK, or ZAE_ERROR if no status is exceeded
 * (zae-limiter refuses that too) or an allocation failed.  *retry_header,
 * if not NULL, receives the Retry-After value: int(retry) + 1.
 */
int zae_body_rate_limited(zae_buf_t *b, const zae_limit_status_t *st,
    size_t n, int64_t *retry_header);

/*
 * The 503 body (our design, zae-limiter has no HTTP layer):
 *
 *   {"error": "rate_limiter_unavailable", "message": "{cause}
 *    [stack={stack}, entity={entity_id}, resource={resource}]"}
 *
 * The message mirrors RateLimiterUnavailable's text:
 * zae_body_provider_unavailable() with ZAE_BODY_ZAE below writes it.
 *
 * The 429 and 503 bodies in the shape a provider's SDK parses
 * (zae_limit_error_format), with the message of the zae shape:
 *
 *   ZAE_BODY_OPENAI     {"error": {"message": "...", "type": T,
 *                        "param": null, "code": C}}
 *                       429: T is openai_type ("requests", "tokens"),
 *                       C "rate_limit_exceeded"; 503: T "server_error",
 *                       C "rate_limiter_unavailable"
 *   ZAE_BODY_ANTHROPIC  {"type": "error", "error": {"type": T,
 *                        "message": "..."}}
 *                       429: T "rate_limit_error"; 503: T "api_error"
 *
 * *retry_header as zae_body_rate_limited() gives it.
 */

#define ZAE_BODY_ZAE        0
#define ZAE_BODY_OPENAI     1
#define ZAE_BODY_ANTHROPIC  2

int zae_body_provider_rate_limited(zae_buf_t *b, int format,
    const char *openai_type, const zae_limit_status_t *st, size_t n,
    int64_t *retry_header);
int zae_body_provider_unavailable(zae_buf_t *b, int format,
    const zae_str_t *cause, const zae_str_t *stack,
    const zae_str_t *entity_id, const zae_str_t *resource);

/*
 * The 400 body (our design), after zae-limiter's ValidationError:
 *
 *   {"error": "invalid_request", "message": "Invalid {field}: {reason}",
 *    "field": "{field}", "value": "{value}"}
 *
 * value is truncated to 50 characters plus "..." when longer.
 */
int zae_body_invalid(zae_buf_t *b, const char *field, const u_char *value,
    size_t len, const char *reason);

/*
 * The answer when no level has limits (our design): a configuration
 * problem, not an outage:
 *
 *   {"error": "no_limits_configured", "message": "No limits configured
 *    for entity \"E\" and resource \"R\"; searched: entity (E, R),
 *    entity default (E, _default_), resource (R), system (namespace N)
 *    ...", "searched": ["entity", "entity_default", "resource",
 *    "system"]}
 */
int zae_body_no_limits(zae_buf_t *b, const zae_str_t *entity_id,
    const zae_str_t *resource, const zae_str_t *ns, int with_inline);

/*
 * Python repr() of a float: shortest round-trip digits, ".0" on
 * integral values, exponent form from 1e16 up and below 1e-4,
 * "inf", "-inf" and "nan" as Python prints them
 */
int zae_py_float_repr(zae_buf_t *b, double v);

/*
 * The same for ms / 1000.0 with integral ms (every retry-after value),
 * without the shortest-digits search: the body's hot path
 */
int zae_py_ms_repr(zae_buf_t *b, int64_t ms);


#endif /* _ZAE_BODY_H_INCLUDED_ */
