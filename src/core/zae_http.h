
/*
 * Copyright (C) zae-limit authors
 *
 * An incremental HTTP/1.1 response parser for the DynamoDB client: status
 * line, headers (Content-Length, chunked Transfer-Encoding, Connection,
 * x-amz-crc32, x-amzn-ErrorType, x-amzn-RequestId) and the body, fed in
 * pieces of any size (one byte at a time works).  Header and body sizes
 * are bounded.  No nginx headers: the body is collected in a zae_buf_t.
 */


#ifndef _ZAE_HTTP_H_INCLUDED_
#define _ZAE_HTTP_H_INCLUDED_


#include "zae_core.h"


#define ZAE_HTTP_MAX_LINE        4096     /* one status or header line */
#define ZAE_HTTP_MAX_HEADER      65536    /* default: all header lines */
#define ZAE_HTTP_MAX_BODY        (16 * 1024 * 1024)
#define ZAE_HTTP_MAX_VALUE       256      /* kept header values */


typedef struct {
    /* results */
    unsigned            status;           /* 100..599 */
    unsigned            version;          /* 10 or 11 */
    int64_t             content_length;   /* -1: none */
    uint32_t            crc32;            /* valid if has_crc32 */
    zae_str_t           error_type;       /* x-amzn-ErrorType, or empty */
    zae_str_t           request_id;       /* x-amzn-RequestId, or empty */
    zae_buf_t           body;

    unsigned            chunked:1;
    unsigned            close:1;          /* connection is not reusable */
    unsigned            has_crc32:1;
    unsigned            done:1;

    /* private */
    unsigned            state;
    unsigned            hstate;
    size_t              max_header;
    size_t              max_body;
    size_t              header_bytes;
    uint64_t            rest;             /* body or chunk bytes left */
    size_t              line_len;
    zae_mem_t          *mem;
    u_char              line[ZAE_HTTP_MAX_LINE];
    u_char              error_type_buf[ZAE_HTTP_MAX_VALUE];
    u_char              request_id_buf[ZAE_HTTP_MAX_VALUE];
} zae_http_resp_t;


/*
 * max_header and max_body: 0 means the defaults above; the body memory
 * comes from mem.
 */
void zae_http_resp_init(zae_http_resp_t *r, zae_mem_t *mem,
    size_t max_header, size_t max_body);

/*
 * Feeds len bytes; *consumed is set to the bytes used.  ZAE_OK: the
 * response is complete (bytes after *consumed are not part of it),
 * ZAE_AGAIN: more input is needed, ZAE_ERROR: malformed or too large,
 * err says why.  Calls after ZAE_OK or ZAE_ERROR return the same.
 */
int zae_http_resp_parse(zae_http_resp_t *r, const u_char *data, size_t len,
    size_t *consumed, zae_err_t *err);

/*
 * The peer closed the connection: ZAE_OK if that completes a response
 * delimited by the close, else ZAE_ERROR ("prematurely closed ...").
 */
int zae_http_resp_eof(zae_http_resp_t *r, zae_err_t *err);

/*
 * ZAE_OK if there is no x-amz-crc32 header or it matches the CRC-32
 * (IEEE 802.3, as zlib) of the body
 */
int zae_http_resp_check_crc32(zae_http_resp_t *r, zae_err_t *err);

/* CRC-32 (IEEE 802.3, as zlib) of len bytes */
uint32_t zae_http_crc32(const u_char *data, size_t len);


#endif /* _ZAE_HTTP_H_INCLUDED_ */
