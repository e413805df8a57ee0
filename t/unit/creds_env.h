
/*
 * Copyright (C) zae-limit authors
 *
 * A fake environment for the credential chain's unit tests: the
 * zae_getenv_pt the chain reads, over a small table.
 */


#ifndef _CREDS_ENV_H_INCLUDED_
#define _CREDS_ENV_H_INCLUDED_


#include <string.h>


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


#endif /* _CREDS_ENV_H_INCLUDED_ */
