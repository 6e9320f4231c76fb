/*
 * vm.conf of a snapshot directory (sm_vm_snapshot / sm_vm_restore): what
 * rebuilds the machine around the state and memory files, one "KEY VALUE"
 * line each (docs/snapshot.md, "Trust").
 *
 * The directory is untrusted input: a user may restore a snapshot someone
 * else wrote. The parser refuses any value out of range, a key given twice,
 * an unknown key, a NUL byte, a file over VM_CONF_MAX_SIZE, and every host
 * path: the image is named by its digest and resolved in the restorer's
 * store; volume slots name guest targets only, and the host directories
 * behind them come from the restorer's own -v/--mount options
 * (vm_conf_match_slots), one per slot: two slots at one target are
 * refused too.
 */
#ifndef SM_RUN_VM_CONF_H
#define SM_RUN_VM_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "run/volumes.h"
#include "supermachine.h"

#define VM_CONF_FILE "vm.conf"
#define VM_CONF_VERSION 2	     /* 1: no version line, host paths */
#define VM_CONF_MAX_SIZE (1u << 20)  /* the whole file */
#define VM_CONF_MAX_LINE (64u << 10) /* one line */
#define VM_CONF_MAX_ENV 4096	     /* env lines */
#define VM_CONF_MAX_USER 256
/* What vm_build_machine() accepts (src/vmm/vm_setup.c), checked early so
 * the message names vm.conf. */
#define VM_CONF_MAX_CPUS 64
#define VM_CONF_MIN_MEMORY_MIB 64ULL
#define VM_CONF_MAX_MEMORY_MIB (1ULL << 20)
#define VM_CONF_MAX_DAX (64ULL << 30)

struct vm_conf_slot {
	bool used, read_only;
	bool file; /* a bind of one file ("ro,file"), docs/volumes.md */
	char target[PATH_MAX]; /* clean absolute guest path when used */
};

struct vm_conf {
	unsigned version;
	unsigned cpus;
	uint64_t memory_mib;
	uint64_t dax;	/* DAX window of the rootfs share, bytes */
	char image[65]; /* manifest digest hex: ROOT/images/HEX */
	bool net;
	unsigned nslots; /* 0 (a snapshot from before volumes) or VOL_SLOTS */
	struct vm_conf_slot slot[VOL_SLOTS];
	/* what an exec into the restored VM inherits (docs/containers.md) */
	bool exec_base;
	char **env; /* NULL-terminated, nenv entries */
	size_t nenv;
	char *cwd, *user;
	int stop_signal;
	/* the hostname a user gave the VM (--hostname): its clones keep it;
	 * NULL: each restore draws a fresh one (docs/snapshot.md) */
	char *hostname;
};

/*
 * Parses vm.conf text; on failure c is freed and err says which line and
 * why ("vm.conf: line 4: slot7: no such slot (this build has 6)").
 */
int vm_conf_parse(struct vm_conf *c, const char *text, size_t len,
		  struct sm_error *err);
/* Reads and parses DIR/vm.conf; errors start "snapshot DIR: vm.conf". */
int vm_conf_read(struct vm_conf *c, const char *dir, struct sm_error *err);
void vm_conf_free(struct vm_conf *c);

/*
 * Writes c (version 2) to f. c's strings are only read: a caller may point
 * them at its own (env, cwd, user) without handing them over.
 */
void vm_conf_write(FILE *f, const struct vm_conf *c);

/*
 * Binds the restorer's planned volumes (vol_plan of its -v/--mount/--tmpfs)
 * to c's slots: every used slot needs one mount at its target with the
 * same read-only flag, every mount needs a slot, and tmpfs or anonymous
 * volumes are refused (the guest's tmpfs mounts are in its memory). Sets
 * each mount's slot to the snapshot's.
 */
int vm_conf_match_slots(const struct vm_conf *c, struct vol_set *set,
			struct sm_error *err);
/*
 * After vol_prepare() of the matched set: a slot that bound one file in
 * the snapshot needs a file again, a directory slot a directory (the
 * guest holds the share's nodes, and its bind of the file).
 */
int vm_conf_match_files(const struct vm_conf *c, const struct vol_set *set,
			struct sm_error *err);

#endif
