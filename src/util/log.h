/* The library's diagnostics, to the handler set with sm_set_log(). */
#ifndef SM_UTIL_LOG_H
#define SM_UTIL_LOG_H

#include "supermachine.h"

void sm_log(enum sm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
