/* Zero page, e820 map, page tables and GDT for the 64-bit boot protocol. */
#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/x86.h"
#include "util/error.h"

#define E820_RAM 1
#define E820_RESERVED 2

unsigned x86_ram_layout(uint64_t mem, uint64_t layout[][2])
{
	if (mem <= X86_LOW_RAM_MAX) {
		layout[0][0] = 0;
		layout[0][1] = mem;
		return 1;
	}
	layout[0][0] = 0;
	layout[0][1] = X86_LOW_RAM_MAX;
	layout[1][0] = X86_HIGH_RAM_START;
	layout[1][1] = mem - X86_LOW_RAM_MAX;
	return 2;
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct boot_e820_entry *e;

	if (bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE || size == 0)
		return;
	e = &bp->e820_table[bp->e820_entries++];
	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void fill_e820(struct boot_params *bp, const struct guest_mem *gm)
{
	uint64_t low_end = gm->regions[0].size;

	e820_add(bp, 0, X86_EBDA_START, E820_RAM);
	e820_add(bp, X86_EBDA_START, 0xa0000 - X86_EBDA_START, E820_RESERVED);
	if (low_end > X86_HIMEM_START)
		e820_add(bp, X86_HIMEM_START, low_end - X86_HIMEM_START,
			 E820_RAM);
	for (unsigned i = 1; i < gm->nregions; i++)
		e820_add(bp, gm->regions[i].gpa, gm->regions[i].size, E820_RAM);
}

int x86_setup_zero_page(struct guest_mem *gm, const struct x86_kernel *k,
			const char *cmdline, uint64_t initrd_gpa,
			uint64_t initrd_size, struct sm_error *err)
{
	struct boot_params *bp = gm_ptr(gm, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	size_t len = strlen(cmdline);

	if (!bp || gm->regions[0].size < 0x200000)
		return sm_err(err, -ENOMEM, "guest RAM too small to boot");
	if (len >= X86_CMDLINE_MAX)
		return sm_err(err, -E2BIG,
			      "kernel command line is %zu bytes, limit %llu",
			      len, X86_CMDLINE_MAX - 1);
	memset(bp, 0, sizeof(*bp));
	if (k->is_bzimage)
		memcpy(&bp->hdr, k->setup_hdr, k->setup_hdr_len);
	bp->hdr.boot_flag = 0xaa55;
	bp->hdr.header = 0x53726448;
	if (!k->is_bzimage)
		bp->hdr.version = 0x020f;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= LOADED_HIGH | KEEP_SEGMENTS;
	bp->hdr.cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
	bp->hdr.cmdline_size = (uint32_t)len;
	bp->hdr.kernel_alignment = 0x1000000;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	if (gm_write(gm, X86_CMDLINE_ADDR, cmdline, len + 1))
		return sm_err(err, -ENOMEM,
			      "guest RAM too small for the command line");
	fill_e820(bp, gm);
	return 0;
}

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0xf0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) | (limit & 0xffffu);
}

int x86_setup_boot_cpu(struct guest_mem *gm, const struct x86_kernel *k,
		       struct hv_x86_boot *boot, struct sm_error *err)
{
	uint64_t gdt[5] = {
	    [X86_BOOT_CS / 8] = gdt_entry(0xa09b, 0, 0xfffff),
	    [X86_BOOT_DS / 8] = gdt_entry(0xc093, 0, 0xfffff),
	    [X86_BOOT_TSS / 8] = gdt_entry(0x808b, 0, 0xfffff),
	};
	uint64_t *pml4 = gm_ptr(gm, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = gm_ptr(gm, X86_PDPT_ADDR, 4096);
	uint64_t *pd = gm_ptr(gm, X86_PD_ADDR, 4096);

	if (!pml4 || !pdpt || !pd ||
	    gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt)))
		return sm_err(err, -ENOMEM, "guest RAM too small to boot");
	/* Identity map the first GiB with 2 MiB pages: enough for the
	 * kernel to reach its own page tables. */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | 0x3;
	pdpt[0] = X86_PD_ADDR | 0x3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83;
	memset(boot, 0, sizeof(*boot));
	boot->rip = k->entry;
	boot->rsi = X86_ZERO_PAGE_ADDR;
	boot->rsp = X86_BOOT_STACK_TOP;
	boot->cr0 = 0x80000011; /* PG | ET | PE */
	boot->cr3 = X86_PML4_ADDR;
	boot->cr4 = 0x20;   /* PAE */
	boot->efer = 0x500; /* LMA | LME */
	boot->gdt_base = X86_GDT_ADDR;
	boot->gdt_limit = sizeof(gdt) - 1;
	boot->code_sel = X86_BOOT_CS;
	boot->data_sel = X86_BOOT_DS;
	boot->tss_sel = X86_BOOT_TSS;
	return 0;
}
