/*
 * supermachine: run OCI images as KVM microVMs.
 *
 * Public API. Every function returns 0 (or a non-negative value where
 * documented) on success and -errno on failure; on failure it fills the
 * caller's struct sm_error (when non-NULL) with a message that says what
 * failed and why. See docs/errors.md.
 */
#ifndef SUPERMACHINE_H
#define SUPERMACHINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_API __attribute__((visibility("default")))

#define SM_VERSION_MAJOR 0
#define SM_VERSION_MINOR 1
#define SM_VERSION_PATCH 0

/* Error object filled by every failing call. */
struct sm_error {
	int code;       /* negative errno, 0 when no error */
	char msg[1024]; /* human readable: "what failed: why" */
};

SM_API const char *sm_version(void);

/* ---- Low-level boot (kernel + initrd + command line) ---- */

struct sm_boot_config {
	size_t size;            /* sizeof(struct sm_boot_config), for growth */
	const char *kernel;     /* ELF vmlinux or bzImage */
	const char *initrd;     /* optional initramfs */
	const char *cmdline;    /* extra kernel command line */
	unsigned int cpus;      /* default 1 */
	uint64_t memory_mib;    /* default 256 */
	int console_fd;         /* where guest serial output goes; -1: discard */
	unsigned int timeout_ms; /* 0: none; past it the VM is stopped */
};

/* Outcome of a VM run, also encoded in the return value of sm_boot(). */
enum sm_vm_exit {
	SM_EXIT_GUEST = 0,     /* the guest reported an exit status */
	SM_EXIT_POWEROFF = 1,  /* the guest stopped without reporting one */
	SM_EXIT_PANIC = 2,     /* guest kernel panic */
	SM_EXIT_TRIPLE_FAULT = 3,
	SM_EXIT_TIMEOUT = 4,
	SM_EXIT_INTERNAL = 5,  /* unexpected exit from the hypervisor */
};

struct sm_boot_result {
	enum sm_vm_exit reason;
	int status;            /* guest-reported exit status (SM_EXIT_GUEST) */
	uint64_t boot_to_init_ns; /* VMM start to init's first report, 0 if none */
	uint64_t total_ns;
};

/*
 * Boots a kernel and runs it to completion. Returns 0 when the VM ran
 * (see result->reason), -errno when it could not be started or ran into a
 * host-side failure.
 */
SM_API int sm_boot(const struct sm_boot_config *cfg,
		   struct sm_boot_result *result, struct sm_error *err);

#ifdef __cplusplus
}
#endif
#endif
