/* x86_64 boot: kernel loading, zero page, e820, MP table, CPU state. */
#ifndef SM_ARCH_X86_64_X86_H
#define SM_ARCH_X86_64_X86_H

#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"
#include "supermachine.h"
#include "vmm/guest_mem.h"

/* Where a kernel image ended up. */
struct x86_kernel {
	uint64_t entry; /* 64-bit entry point (physical) */
	uint64_t end;	/* first byte above the loaded kernel */
	int is_bzimage;
	uint8_t setup_hdr[0x80]; /* bzImage setup header, copied to zero page */
	size_t setup_hdr_len;
};

/* Loads an ELF64 vmlinux from a buffer into guest memory. */
int x86_load_elf(const uint8_t *img, size_t size, struct guest_mem *gm,
		 struct x86_kernel *k, struct sm_error *err);

/* Loads a bzImage (boot protocol >= 2.06 with a 64-bit entry). */
int x86_load_bzimage(const uint8_t *img, size_t size, struct guest_mem *gm,
		     struct x86_kernel *k, struct sm_error *err);

/* Loads either, by looking at the magic. */
int x86_load_kernel(const uint8_t *img, size_t size, struct guest_mem *gm,
		    struct x86_kernel *k, struct sm_error *err);

/* Places the initramfs as high as allowed in low RAM. */
int x86_load_initrd(const uint8_t *img, size_t size, struct guest_mem *gm,
		    const struct x86_kernel *k, uint64_t *gpa,
		    struct sm_error *err);

/* Writes the zero page: setup header, command line, initrd, e820 map. */
int x86_setup_zero_page(struct guest_mem *gm, const struct x86_kernel *k,
			const char *cmdline, uint64_t initrd_gpa,
			uint64_t initrd_size, struct sm_error *err);

/* Writes an Intel MP table (CPUs, IOAPIC, ISA IRQ routing) at the EBDA. */
int x86_setup_mptable(struct guest_mem *gm, unsigned ncpus,
		      struct sm_error *err);

/* Identity page tables and a GDT; fills the boot CPU's entry state. */
int x86_setup_boot_cpu(struct guest_mem *gm, const struct x86_kernel *k,
		       struct hv_x86_boot *boot, struct sm_error *err);

/* The RAM layout for `mem` bytes: fills up to 2 (gpa, size) regions. */
unsigned x86_ram_layout(uint64_t mem, uint64_t layout[][2]);

#endif
