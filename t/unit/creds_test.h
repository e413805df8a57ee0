
/*
 * Copyright (C) zae-limit authors
 *
 * What the credential chain's unit tests share: a fake environment (the
 * zae_getenv_pt the chain reads, over a small table), counted strings
 * as C strings, a check that a buffer was wiped.
 */


#ifndef _CREDS_TEST_H_INCLUDED_
#define _CREDS_TEST_H_INCLUDED_


#include <stdio.h>
#include <string.h>

#include "zae_core.h"


#define T_ENV_MAX  32


typedef struct {
    const char  *name[T_ENV_MAX];
    const char  *value[T_ENV_MAX];
    int          n;
} t_env_t;


static const char *
t_getenv(void *ctx, const char *name)
{
    int       i;
    t_env_t  *env = ctx;

    for (i = 0; i < env->n; i++) {
        if (strcmp(env->name[i], name) == 0) {
            return env->value[i];
        }
    }

    return NULL;
}


static void
t_setenv(t_env_t *env, const char *name, const char *value)
{
    int  i;

    for (i = 0; i < env->n; i++) {
        if (strcmp(env->name[i], name) == 0) {
            env->value[i] = value;
            return;
        }
    }

    if (env->n < T_ENV_MAX) {
        env->name[env->n] = name;
        env->value[env->n] = value;
        env->n++;
    }
}


/* a counted string as a C string, in one of four rotating buffers */

static char *
t_str(const zae_str_t *s)
{
    static char  buf[4][9000];
    static int   next;
    char        *p;

    p = buf[next++ % 4];
    snprintf(p, 9000, "%.*s", (int) s->len, s->data ? (char *) s->data : "");

    return p;
}


static int
t_all_zero(const u_char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i]) {
            return 0;
        }
    }

    return 1;
}


#endif /* _CREDS_TEST_H_INCLUDED_ */
