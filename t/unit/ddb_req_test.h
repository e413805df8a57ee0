
/*
 * Copyright (C) zae-limit authors
 */


/* what the unit tests of the core's request builders share */


#ifndef _DDB_REQ_TEST_H_INCLUDED_
#define _DDB_REQ_TEST_H_INCLUDED_


#include <string.h>

#include "zae_core.h"
#include "zae_ddb.h"


static zae_mem_t  mem;


static zae_str_t
str(const char *s)
{
    zae_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);

    return v;
}


/* the UpdateItem body of r on table "t", or "(error)" */

static const char *
update_body(zae_ddb_req_t *r, int rc)
{
    zae_buf_t  b;

    if (rc != ZAE_OK) {
        return "(error)";
    }

    r->table = str("t");
    zae_buf_init(&b, &mem, 0);

    if (zae_ddb_update_item(&b, r) != ZAE_OK
        || zae_buf_add(&b, "", 1) != ZAE_OK)
    {
        return "(error)";
    }

    return (const char *) b.data;
}


#endif /* _DDB_REQ_TEST_H_INCLUDED_ */
