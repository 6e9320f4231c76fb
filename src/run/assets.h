/* Where the default guest kernel and initramfs live. */
#ifndef SM_RUN_ASSETS_H
#define SM_RUN_ASSETS_H

#include <stddef.h>

#include "supermachine.h"

/*
 * Picks the file for `what` ("kernel"/"initrd"): `override` if given,
 * else $SUPERMACHINE_KERNEL / $SUPERMACHINE_INITRD, else next to the
 * running program (build tree: EXE_DIR/guest/NAME; installed:
 * EXE_DIR/../share/supermachine/NAME). Fails naming what was tried.
 */
int run_asset(const char *what, const char *override, const char *name,
	      char *out, size_t size, struct sm_error *err);

#endif
