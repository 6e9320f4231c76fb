/* The library's diagnostics, to the handler set with sm_set_log(). */
#ifndef SM_UTIL_LOG_H
#define SM_UTIL_LOG_H

#include <stdbool.h>

#include "supermachine.h"

void sm_log(enum sm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether a handler takes the messages (worth the work of a note). */
bool sm_log_wanted(void);

#endif
