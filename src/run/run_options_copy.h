/* A deep copy of struct sm_run_options (src/run/run_options_copy.c). */
#ifndef SM_RUN_OPTIONS_COPY_H
#define SM_RUN_OPTIONS_COPY_H

#include <stdbool.h>

#include "supermachine.h"

/* dst: src with its own copy of every string and list; -ENOMEM (dst
 * then owns nothing). */
int run_options_copy(struct sm_run_options *dst,
		     const struct sm_run_options *src);
/* Frees what run_options_copy made (the struct itself is the caller's). */
void run_options_copy_free(struct sm_run_options *o);

#endif
