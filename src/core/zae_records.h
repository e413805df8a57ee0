
/*
 * Copyright (C) zae-limit authors
 *
 * Admin-side record codecs: timestamps, ULIDs, namespace ids, the
 * namespace forward/reverse records, the version record, audit events,
 * usage snapshot windows and updates, and the provisioner state item
 * (docs/table-format.md 2, 4.1, 4.2, 4.7 to 4.9, 7 and 8).
 *
 * Every item builder appends the DynamoDB JSON of the item, an object
 * such as {"PK":{"S":"_/SYSTEM#"},...}, to a zae_buf_t; callers embed
 * it as "Item" in PutItem or TransactWriteItems bodies.  A zae_str_t
 * with data == NULL is written as {"NULL":true} where the schema has a
 * nullable attribute.
 */


#ifndef _ZAE_RECORDS_H_INCLUDED_
#define _ZAE_RECORDS_H_INCLUDED_


#include <time.h>

#include "zae_core.h"


#define ZAE_TS_LEN               20     /* YYYY-MM-DDTHH:MM:SSZ */
#define ZAE_TS_US_LEN            32     /* ...T..:..:...123456+00:00 */
#define ZAE_ULID_LEN             26
#define ZAE_ULID_RAND_LEN        10
#define ZAE_NSID_LEN             11
#define ZAE_NSID_RAND_LEN        8

#define ZAE_SCHEMA_VERSION       "0.10.0"
#define ZAE_CLIENT_MIN_VERSION   "0.0.0"
#define ZAE_AUDIT_RETENTION_DAYS 90
#define ZAE_USAGE_RETENTION_DAYS 90

#define ZAE_SYSTEM_PK            "_/SYSTEM#"


typedef enum {
    ZAE_WINDOW_HOURLY = 0,
    ZAE_WINDOW_DAILY,
    ZAE_WINDOW_MONTHLY
} zae_window_e;


/* time */

void zae_ts_format(u_char *out, time_t t);
void zae_ts_format_us(u_char *out, int64_t us);


/* ULID: 48-bit ms timestamp + 80 random bits, Crockford base32 */

void zae_ulid_encode(u_char *out, uint64_t ms, const u_char *rnd);
int zae_ulid_valid(const u_char *s, size_t len);


/*
 * nsid: secrets.token_urlsafe(8), 11 base64url characters;
 * returns ZAE_DECLINED when the id starts with '-' (draw again)
 */

int zae_nsid_encode(u_char *out, const u_char *rnd);
int zae_nsid_valid(const u_char *s, size_t len);


/* usage windows */

int zae_window_parse(const u_char *s, size_t len, zae_window_e *w);
const char *zae_window_name(zae_window_e w);
time_t zae_window_start(zae_window_e w, time_t t);


/* DynamoDB JSON helpers */

int zae_rec_json_str(zae_buf_t *b, const u_char *s, size_t len);
int zae_rec_attr_s(zae_buf_t *b, const char *name, zae_str_t *v);


/* namespace forward (#NAMESPACE#name) and reverse (#NSID#id) records */

typedef struct {
    zae_str_t          name;
    zae_str_t          nsid;
    zae_str_t          status;        /* active, deleted, purging */
    zae_str_t          created_at;
    zae_str_t          deleted_at;    /* data == NULL: absent */
} zae_ns_record_t;


int zae_ns_item(zae_buf_t *b, zae_ns_record_t *ns, int reverse);


/* version record (_/SYSTEM# #VERSION) */

typedef struct {
    zae_str_t          schema_version;
    zae_str_t          lambda_version;     /* data == NULL: NULL */
    zae_str_t          client_min_version;
    zae_str_t          updated_at;
    zae_str_t          updated_by;         /* data == NULL: NULL */
} zae_version_record_t;


int zae_version_item(zae_buf_t *b, zae_version_record_t *v);
int zae_version_cmp(const u_char *a, size_t alen, const u_char *b,
    size_t blen);
int zae_version_check(zae_version_record_t *v, const char *client,
    zae_err_t *err);


/* audit events (docs/table-format.md 4.8, 8) */

typedef struct {
    zae_str_t          name;
    int64_t            capacity;
    int64_t            refill_amount;
    int64_t            refill_period;      /* seconds */
} zae_audit_limit_t;


typedef struct {
    zae_str_t          nsid;
    zae_str_t          entity_id;     /* E, "$SYSTEM", "$RESOURCE:R" */
    zae_str_t          event_id;      /* ULID */
    zae_str_t          timestamp;
    zae_str_t          action;
    zae_str_t          principal;     /* data == NULL: NULL */
    zae_str_t          resource;      /* data == NULL: NULL */
    zae_str_t          details;       /* DynamoDB JSON of the "M" value */
    int64_t            ttl;
} zae_audit_record_t;


int zae_audit_item(zae_buf_t *b, zae_audit_record_t *a);
int zae_audit_details_limits(zae_buf_t *b, zae_audit_limit_t *limits,
    size_t n, zae_str_t *on_unavailable);
int zae_audit_details_created(zae_buf_t *b, zae_str_t *name,
    zae_str_t *parent, int cascade);
int zae_audit_details_deleted(zae_buf_t *b, int64_t records);
int zae_audit_details_names(zae_buf_t *b, zae_str_t *names, size_t n,
    zae_str_t *on_unavailable);


/* usage snapshots (docs/table-format.md 4.9, 7) */

typedef struct {
    zae_str_t          nsid;
    zae_str_t          entity_id;
    zae_str_t          resource;
    zae_str_t          limit_name;
    zae_window_e       window;
    time_t             event_time;    /* NewImage rf / 1000 */
    int64_t            delta_milli;   /* new tc - old tc */
    int64_t            ttl;           /* now + retention days * 86400 */
} zae_usage_delta_t;


int zae_usage_update_body(zae_buf_t *b, zae_str_t *table,
    zae_usage_delta_t *u);


/* provisioner state (nsid/SYSTEM# #PROVISIONER) */

typedef struct {
    zae_str_t          entity_id;
    zae_str_t         *resources;
    size_t             nresources;
} zae_prov_entity_t;


typedef struct {
    int                managed_system;
    zae_str_t         *resources;
    size_t             nresources;
    zae_prov_entity_t *entities;
    size_t             nentities;
    zae_str_t          last_applied;
    zae_str_t          applied_hash;
} zae_prov_state_t;


int zae_prov_item(zae_buf_t *b, zae_str_t *nsid, zae_prov_state_t *p);


#endif /* _ZAE_RECORDS_H_INCLUDED_ */
