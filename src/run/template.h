/*
 * Warm start: per (image, kernel, initrd, VM shape) a snapshot taken when
 * the guest init is ready and waiting for its process spec. Later runs of
 * the image restore it instead of booting.
 */
#ifndef SM_RUN_TEMPLATE_H
#define SM_RUN_TEMPLATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "supermachine.h"

struct vm;
struct vm_config;

struct template
{
	char dir[PATH_MAX]; /* IMAGE_DIR/templates/KEY */
	bool usable;	    /* dir holds a complete snapshot */
};

/* Derives the template's place from everything that shapes the VM. */
int template_locate(struct template *t, const char *image_dir,
		    const char *image_digest, const struct vm_config *cfg,
		    struct sm_error *err);

/* Snapshots vm into the template (atomically: temp dir + rename). */
int template_save(const struct template *t, struct vm *vm,
		  struct sm_error *err);

/* Removes a template that failed to restore or misbehaved. */
void template_drop(const struct template *t);

#endif
