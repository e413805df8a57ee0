
/*
 * Copyright (C) zae-limit authors
 *
 * A minimal TAP producer for the C unit tests; prove reads the output.
 */


#ifndef _ZAE_TAP_H_INCLUDED_
#define _ZAE_TAP_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <stdarg.h>


static int  tap_n;
static int  tap_failed;


#define ok(cond, ...)                                                        \
    tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                               \
    tap_is_int((int64_t) (got), (int64_t) (want), __FILE__, __LINE__,        \
               __VA_ARGS__)

#define is_str(got, want, ...)                                               \
    tap_is_str((const char *) (got), (const char *) (want), __FILE__,        \
               __LINE__, __VA_ARGS__)


static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), unused));

static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");

    if (!pass) {
        tap_failed++;
        printf("#   failed at %s line %d\n", file, line);
    }

    fflush(stdout);

    return pass;
}


static int
tap_is_int(int64_t got, int64_t want, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6), unused));

static int
tap_is_int(int64_t got, int64_t want, const char *file, int line,
    const char *fmt, ...)
{
    va_list  args;
    int      pass = (got == want);

    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");

    if (!pass) {
        tap_failed++;
        printf("#   failed at %s line %d\n#          got: %" PRId64
               "\n#     expected: %" PRId64 "\n", file, line, got, want);
    }

    fflush(stdout);

    return pass;
}


static int
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6), unused));

static int
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
    va_list  args;
    int      pass;

    pass = (got && want) ? strcmp(got, want) == 0 : got == want;

    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");

    if (!pass) {
        tap_failed++;
        printf("#   failed at %s line %d\n#          got: '%s'\n"
               "#     expected: '%s'\n", file, line,
               got ? got : "(null)", want ? want : "(null)");
    }

    fflush(stdout);

    return pass;
}


static int
tap_done(void) __attribute__((unused));

static int
tap_done(void)
{
    printf("1..%d\n", tap_n);
    fflush(stdout);

    return tap_failed ? 1 : 0;
}


#endif /* _ZAE_TAP_H_INCLUDED_ */
