
/*
 * Copyright (C) zae-limit authors
 *
 * Limits (whole tokens and seconds, as config items store them), the
 * zae-limiter CLI limit syntax "name:rate[/period][:burst]", the
 * display form, and the validators for every kind of name that ends up
 * in a DynamoDB key.
 */


#ifndef _ZAE_LIMIT_H_INCLUDED_
#define _ZAE_LIMIT_H_INCLUDED_


#include "zae_core.h"


#define ZAE_LIMITS_MAX            16

/*
 * Largest capacity, refill amount or period accepted: 10^15, so that
 * x1000 (millitokens, ms) stays far below INT64_MAX (about 9.2 * 10^18)
 */
#define ZAE_LIMIT_NUM_MAX         1000000000000000LL

/* largest token amount zae_parse_tokens() accepts: 10^12 tokens */
#define ZAE_TOKENS_MAX            1000000000000LL

#define ZAE_ENTITY_ID_MAX_LEN     256
#define ZAE_NAME_MAX_LEN          64       /* limit names and resources */
#define ZAE_TABLE_NAME_MAX_LEN    55
#define ZAE_TABLE_NAME_MIN_LEN    1        /* DynamoDB Local needs >= 3 */
#define ZAE_NAMESPACE_MAX_LEN     256

#define ZAE_RESOURCE_DEFAULT      "_default_"
#define ZAE_LIMIT_WCU             "wcu"


typedef struct {
    zae_str_t          name;
    int64_t            capacity;        /* tokens (burst if given) */
    int64_t            refill_amount;   /* tokens per period */
    int64_t            period;          /* seconds */
} zae_limit_t;


typedef struct {
    zae_limit_t        elts[ZAE_LIMITS_MAX];
    size_t             nelts;
} zae_limits_t;


/*
 * Parse one limit "name:rate[/period][:burst]": period is [N]sec, [N]min,
 * [N]hour or [N]day (default "/min"); capacity = burst if given, else
 * rate; refill_amount = rate.  The name is validated as a limit name
 * ("wcu" refused).  l->name points into s: keep s alive or copy it.
 */
int zae_limit_parse(zae_limit_t *l, const u_char *s, size_t len,
    zae_err_t *err);

/*
 * Parse a comma-separated list of limits, e.g. "rpm:100/min,tpm:10000"
 * (the module's limits= argument).  Empty items, duplicates and more
 * than ZAE_LIMITS_MAX limits are rejected.  Names point into s.
 */
int zae_limits_parse(zae_limits_t *ls, const u_char *s, size_t len,
    zae_err_t *err);

/* append a limit: validates it, rejects duplicates and overflow */
int zae_limits_add(zae_limits_t *ls, const zae_limit_t *l, zae_err_t *err);

/* find a limit by name; NULL if absent */
zae_limit_t *zae_limits_find(const zae_limits_t *ls, const u_char *name,
    size_t len);

/*
 * Display form as the zae-limiter CLI prints it:
 * "rpm: 1,000/min (burst: 1,500)"; "(burst: ...)" only when capacity
 * differs from refill_amount
 */
int zae_limit_format(zae_buf_t *b, const zae_limit_t *l);

/* capacity, refill_amount and period each in 1..ZAE_LIMIT_NUM_MAX */
int zae_validate_limit(const zae_limit_t *l, zae_err_t *err);


/*
 * Validators.  They return ZAE_OK or ZAE_ERROR; on error err->msg holds
 * the reason only, in zae-limiter's wording where it has one (e.g.
 * "cannot be empty", "exceeds maximum length of 256"), so that
 * "Invalid {field}: {reason}" reproduces zae-limiter's ValidationError.
 */

/* entity_id, parent_id: ^[a-zA-Z0-9][a-zA-Z0-9_.\-:@]*$, <= 256, no '#' */
int zae_validate_entity_id(const u_char *s, size_t len, zae_err_t *err);

/* resource: ^[a-zA-Z][a-zA-Z0-9_.\-/]*$, <= 64; "_default_" is accepted */
int zae_validate_resource(const u_char *s, size_t len, zae_err_t *err);

/*
 * The same without the "_default_" exception, as zae-limiter validates
 * the resource of an acquire: "_default_" fails the pattern
 */
int zae_validate_resource_strict(const u_char *s, size_t len,
    zae_err_t *err);

/* limit name: ^[a-zA-Z][a-zA-Z0-9_.\-]*$, <= 64, "wcu" is reserved */
int zae_validate_limit_name(const u_char *s, size_t len, zae_err_t *err);

/*
 * stack / table name: ^[A-Za-z][A-Za-z0-9-]*$, <= 55, with specific
 * messages for '_', '.' and spaces.  Note: DynamoDB Local additionally
 * refuses table names shorter than 3 characters; that is not checked.
 */
int zae_validate_table_name(const u_char *s, size_t len, zae_err_t *err);

/*
 * namespace name.  zae-limiter only rejects "_"; because the name goes
 * into keys ("#NAMESPACE#{name}") we are stricter: also refuse empty
 * names, names over 256 bytes, control bytes (< 0x20 and 0x7f), '/' and
 * '#'.
 */
int zae_validate_namespace(const u_char *s, size_t len, zae_err_t *err);

/*
 * A non-negative whole token amount (consume values, X-Tokens-Used):
 * decimal digits only, no sign, no spaces, at most ZAE_TOKENS_MAX
 */
int zae_parse_tokens(const u_char *s, size_t len, int64_t *out,
    zae_err_t *err);


#endif /* _ZAE_LIMIT_H_INCLUDED_ */
