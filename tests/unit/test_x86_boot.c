/* Zero page, e820, command line, MP table and ELF/bzImage loading. */
#include <asm/bootparam.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/x86.h"
#include "test.h"

static struct guest_mem gm;

static void mem_setup(uint64_t mib)
{
	uint64_t layout[2][2];
	unsigned n = x86_ram_layout(mib << 20, layout);

	gm_destroy(&gm);
	if (gm_create(&gm, (const uint64_t(*)[2])layout, n, NULL))
		abort(); /* test infrastructure, not input */
}

/* A minimal valid vmlinux-like ELF: one PT_LOAD at 16 MiB. */
static size_t make_elf(uint8_t *buf, size_t cap, uint64_t paddr,
		       uint64_t filesz, uint64_t memsz)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	size_t total = sizeof(*eh) + sizeof(*ph) + filesz;

	if (total > cap)
		abort();
	memset(buf, 0, total);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = paddr;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = sizeof(*eh) + sizeof(*ph);
	ph->p_paddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	memset(buf + ph->p_offset, 0xcc, filesz);
	return total;
}

static uint8_t elfbuf[8192];

TEST(elf_loads_and_zeroes_bss)
{
	struct x86_kernel k;
	size_t n = make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 8192);
	uint8_t *p;

	mem_setup(64);
	p = gm_ptr(&gm, 0x1000000, 8192);
	memset(p, 0x55, 8192);
	CHECK_EQ(x86_load_elf(elfbuf, n, &gm, &k, NULL), 0);
	CHECK_EQ(k.entry, 0x1000000);
	CHECK_EQ(k.end, 0x1000000 + 8192);
	CHECK_EQ(p[0], 0xcc);
	CHECK_EQ(p[4095], 0xcc);
	CHECK_EQ(p[4096], 0);
	CHECK_EQ(p[8191], 0);
}

TEST(elf_rejects_malformed)
{
	struct sm_error err = {0};
	struct x86_kernel k;
	size_t n;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elfbuf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(elfbuf + sizeof(*eh));

	mem_setup(64);
	/* truncated */
	n = make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 4096);
	CHECK(x86_load_elf(elfbuf, 10, &gm, &k, &err) < 0);
	CHECK(strstr(err.msg, "too small") != NULL);
	/* wrong class */
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* program headers past the end */
	make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 4096);
	eh->e_phoff = n - 8;
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* huge phnum */
	make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 4096);
	eh->e_phnum = 0xffff;
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* segment data past the end of file */
	make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 4096);
	ph->p_filesz = 1ULL << 40;
	ph->p_memsz = 1ULL << 40;
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* offset + size wrapping around */
	make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 4096);
	ph->p_offset = ~0ULL - 10;
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* filesz > memsz */
	make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 100);
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* outside guest RAM (64 MiB) and wrapping paddr */
	make_elf(elfbuf, sizeof(elfbuf), 0x10000000, 4096, 4096);
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	CHECK(strstr(err.msg, "does not fit") != NULL);
	make_elf(elfbuf, sizeof(elfbuf), ~0ULL - 100, 4096, 4096);
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* below 1 MiB would overwrite boot structures */
	make_elf(elfbuf, sizeof(elfbuf), 0x7000, 4096, 4096);
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	/* entry outside the image */
	make_elf(elfbuf, sizeof(elfbuf), 0x1000000, 4096, 4096);
	eh->e_entry = 0x2000000;
	CHECK(x86_load_elf(elfbuf, n, &gm, &k, &err) < 0);
	CHECK(strstr(err.msg, "entry") != NULL);
	/* not an ELF, not a bzImage */
	memset(elfbuf, 'x', 4096);
	CHECK(x86_load_kernel(elfbuf, 4096, &gm, &k, &err) < 0);
	CHECK(strstr(err.msg, "bzImage") != NULL);
}

TEST(zero_page_cmdline_initrd_e820)
{
	struct x86_kernel k = {.entry = 0x1000000, .end = 0x2000000};
	struct boot_params *bp;
	const char *cmd = "console=ttyS0 quiet";
	uint8_t initrd[100] = {1, 2, 3};
	uint64_t initrd_gpa = 0;

	mem_setup(128);
	CHECK_EQ(
	    x86_load_initrd(initrd, sizeof(initrd), &gm, &k, &initrd_gpa, NULL),
	    0);
	CHECK(initrd_gpa >= k.end);
	CHECK(initrd_gpa + sizeof(initrd) <= (128ULL << 20));
	CHECK_EQ(initrd_gpa & 0xfff, 0);
	CHECK_EQ(
	    x86_setup_zero_page(&gm, &k, cmd, initrd_gpa, sizeof(initrd), NULL),
	    0);
	bp = gm_ptr(&gm, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	CHECK_EQ(bp->hdr.boot_flag, 0xaa55);
	CHECK_EQ(bp->hdr.header, 0x53726448);
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK_EQ(bp->hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	CHECK_EQ(bp->hdr.cmdline_size, strlen(cmd));
	CHECK_STR((char *)gm_ptr(&gm, X86_CMDLINE_ADDR, 1), cmd);
	CHECK_EQ(bp->hdr.ramdisk_image, initrd_gpa);
	CHECK_EQ(bp->hdr.ramdisk_size, sizeof(initrd));
	CHECK_EQ(bp->e820_entries, 3);
	CHECK_EQ(bp->e820_table[0].addr, 0);
	CHECK_EQ(bp->e820_table[0].size, X86_EBDA_START);
	CHECK_EQ(bp->e820_table[0].type, 1);
	CHECK_EQ(bp->e820_table[1].type, 2);
	CHECK_EQ(bp->e820_table[2].addr, X86_HIMEM_START);
	CHECK_EQ(bp->e820_table[2].addr + bp->e820_table[2].size, 128ULL << 20);
}

TEST(e820_splits_around_mmio_hole)
{
	struct x86_kernel k = {.entry = 0x1000000, .end = 0x2000000};
	struct boot_params *bp;
	uint64_t layout[2][2];

	CHECK_EQ(x86_ram_layout(4096ULL << 20, layout), 2);
	CHECK_EQ(layout[0][1], X86_LOW_RAM_MAX);
	CHECK_EQ(layout[1][0], X86_HIGH_RAM_START);
	CHECK_EQ(layout[0][1] + layout[1][1], 4096ULL << 20);
	mem_setup(4096);
	CHECK_EQ(x86_setup_zero_page(&gm, &k, "", 0, 0, NULL), 0);
	bp = gm_ptr(&gm, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	CHECK_EQ(bp->e820_entries, 4);
	CHECK_EQ(bp->e820_table[3].addr, X86_HIGH_RAM_START);
	CHECK_EQ(bp->e820_table[3].size, (4096ULL << 20) - X86_LOW_RAM_MAX);
	/* no RAM inside the hole */
	CHECK(gm_ptr(&gm, X86_VIRTIO_MMIO_BASE, 1) == NULL);
	CHECK(gm_ptr(&gm, X86_HIGH_RAM_START - 1, 2) == NULL);
}

TEST(cmdline_too_long_is_an_error)
{
	struct x86_kernel k = {.entry = 0x1000000, .end = 0x2000000};
	struct sm_error err = {0};
	char *big = malloc(X86_CMDLINE_MAX + 10);

	mem_setup(64);
	memset(big, 'a', X86_CMDLINE_MAX + 9);
	big[X86_CMDLINE_MAX + 9] = '\0';
	CHECK(x86_setup_zero_page(&gm, &k, big, 0, 0, &err) < 0);
	CHECK(strstr(err.msg, "command line") != NULL);
	free(big);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

TEST(mptable_checksums_and_cpus)
{
	uint8_t *mpf, *mpc;
	uint16_t len;

	mem_setup(64);
	CHECK_EQ(x86_setup_mptable(&gm, 4, NULL), 0);
	mpf = gm_ptr(&gm, X86_EBDA_START, 16);
	CHECK(memcmp(mpf, "_MP_", 4) == 0);
	CHECK_EQ(sum(mpf, 16), 0);
	mpc = gm_ptr(&gm, X86_EBDA_START + 16, 44);
	CHECK(memcmp(mpc, "PCMP", 4) == 0);
	memcpy(&len, mpc + 4, 2);
	CHECK_EQ(sum(gm_ptr(&gm, X86_EBDA_START + 16, len), len), 0);
	/* 4 CPU entries right after the header, first one is the BSP */
	CHECK_EQ(mpc[44], 0);
	CHECK_EQ(mpc[44 + 3], 3);
	CHECK_EQ(mpc[44 + 20 + 1], 1);
	CHECK_EQ(mpc[44 + 20 + 3], 1);
	CHECK(x86_setup_mptable(&gm, 0, NULL) < 0);
	CHECK(x86_setup_mptable(&gm, 1000, NULL) < 0);
}

TEST(guest_mem_accessor_bounds)
{
	mem_setup(64);
	CHECK(gm_ptr(&gm, 0, 64ULL << 20) != NULL);
	CHECK(gm_ptr(&gm, 0, (64ULL << 20) + 1) == NULL);
	CHECK(gm_ptr(&gm, (64ULL << 20) - 1, 1) != NULL);
	CHECK(gm_ptr(&gm, 64ULL << 20, 1) == NULL);
	CHECK(gm_ptr(&gm, ~0ULL, 2) == NULL);
	CHECK(gm_ptr(&gm, 4096, ~0ULL) == NULL);
}

int main(void)
{
	RUN(elf_loads_and_zeroes_bss);
	RUN(elf_rejects_malformed);
	RUN(zero_page_cmdline_initrd_e820);
	RUN(e820_splits_around_mmio_hole);
	RUN(cmdline_too_long_is_an_error);
	RUN(mptable_checksums_and_cpus);
	RUN(guest_mem_accessor_bounds);
	gm_destroy(&gm);
	return test_summary();
}
