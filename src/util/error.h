/* Internal helpers for the error contract of docs/errors.md. */
#ifndef SM_UTIL_ERROR_H
#define SM_UTIL_ERROR_H

#include <errno.h>
#include "supermachine.h"

/*
 * Fills err (when non-NULL) with code (a negative errno) and a formatted
 * message; returns code so callers can write `return sm_err(err, -EINVAL,
 * ...)`.
 */
int sm_err(struct sm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like sm_err() with code = -errno and ": strerror(errno)" appended. */
int sm_err_errno(struct sm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Prefixes an already filled message with more context: "ctx: old".
 * code: the failed callee's return value, which is returned (and kept
 * in err) whether or not there is an err to fill: the code never depends
 * on whether the caller asked for a message.
 */
int sm_err_wrap(struct sm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
