/* Loading kernels and initramfs images into guest memory. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/x86.h"
#include "util/error.h"

#define ELF_MAX_PHDRS 64

static int elf_check_header(const Elf64_Ehdr *eh, size_t size,
			    struct sm_error *err)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return sm_err(err, -ENOEXEC, "kernel: not an ELF file");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return sm_err(err, -ENOEXEC,
			      "kernel: ELF is not 64-bit little endian");
	if (eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		return sm_err(err, -ENOEXEC,
			      "kernel: ELF is not an x86_64 executable");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > ELF_MAX_PHDRS)
		return sm_err(err, -ENOEXEC,
			      "kernel: ELF has a bad program header table");
	if (eh->e_phoff > size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff)
		return sm_err(
		    err, -ENOEXEC,
		    "kernel: ELF program headers lie past the end of the file");
	return 0;
}

static int elf_load_segment(const uint8_t *img, size_t size,
			    const Elf64_Phdr *ph, struct guest_mem *gm,
			    struct sm_error *err)
{
	uint8_t *dst;

	if (ph->p_filesz > ph->p_memsz)
		return sm_err(
		    err, -ENOEXEC,
		    "kernel: ELF segment file size exceeds memory size");
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return sm_err(
		    err, -ENOEXEC,
		    "kernel: ELF segment lies past the end of the file");
	if (ph->p_paddr < X86_HIMEM_START)
		return sm_err(err, -ENOEXEC,
			      "kernel: ELF segment at 0x%llx, below 1 MiB",
			      (unsigned long long)ph->p_paddr);
	dst = gm_ptr(gm, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return sm_err(err, -ENOMEM,
			      "kernel: ELF segment 0x%llx+0x%llx does not fit "
			      "in guest RAM",
			      (unsigned long long)ph->p_paddr,
			      (unsigned long long)ph->p_memsz);
	memcpy(dst, img + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	return 0;
}

int x86_load_elf(const uint8_t *img, size_t size, struct guest_mem *gm,
		 struct x86_kernel *k, struct sm_error *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	Elf64_Phdr ph;
	unsigned loaded = 0;
	int ret;

	memset(k, 0, sizeof(*k));
	if (size < sizeof(*eh))
		return sm_err(err, -ENOEXEC, "kernel: file too small for ELF");
	ret = elf_check_header(eh, size, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		/* memcpy: the table may be unaligned in a hostile file. */
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		ret = elf_load_segment(img, size, &ph, gm, err);
		if (ret)
			return ret;
		if (ph.p_paddr + ph.p_memsz > k->end)
			k->end = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded)
		return sm_err(err, -ENOEXEC,
			      "kernel: ELF has no loadable segment");
	/* vmlinux's entry (phys_startup_64) is a physical address. */
	if (!gm_ptr(gm, eh->e_entry, 1) || eh->e_entry < X86_HIMEM_START ||
	    eh->e_entry >= k->end)
		return sm_err(
		    err, -ENOEXEC,
		    "kernel: ELF entry 0x%llx is outside the loaded image",
		    (unsigned long long)eh->e_entry);
	k->entry = eh->e_entry;
	return 0;
}

int x86_load_bzimage(const uint8_t *img, size_t size, struct guest_mem *gm,
		     struct x86_kernel *k, struct sm_error *err)
{
	struct setup_header hdr;
	size_t setup_size, hdr_len;
	uint8_t *dst;

	memset(k, 0, sizeof(*k));
	if (size < 0x1f1 + sizeof(hdr))
		return sm_err(err, -ENOEXEC,
			      "kernel: file too small for a bzImage");
	memcpy(&hdr, img + 0x1f1, sizeof(hdr));
	if (hdr.header != 0x53726448 || hdr.boot_flag != 0xaa55)
		return sm_err(err, -ENOEXEC,
			      "kernel: not a bzImage (no HdrS magic)");
	if (hdr.version < 0x206)
		return sm_err(err, -ENOEXEC,
			      "kernel: boot protocol %u.%u too old (need 2.06)",
			      hdr.version >> 8, hdr.version & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return sm_err(err, -ENOEXEC,
			      "kernel: bzImage has no 64-bit entry");
	setup_size =
	    ((size_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_size >= size)
		return sm_err(err, -ENOEXEC, "kernel: bzImage truncated");
	dst = gm_ptr(gm, X86_BZIMAGE_LOAD, size - setup_size);
	if (!dst)
		return sm_err(err, -ENOMEM,
			      "kernel: bzImage does not fit in guest RAM");
	memcpy(dst, img + setup_size, size - setup_size);
	/* The setup header runs from 0x1f1 to 0x202 + the jump's offset. */
	hdr_len = 0x202 + img[0x201] - 0x1f1;
	if (hdr_len > sizeof(k->setup_hdr))
		hdr_len = sizeof(k->setup_hdr);
	memcpy(k->setup_hdr, img + 0x1f1, hdr_len);
	k->setup_hdr_len = hdr_len;
	k->is_bzimage = 1;
	k->entry = X86_BZIMAGE_LOAD + 0x200; /* startup_64 */
	k->end = X86_BZIMAGE_LOAD + (hdr.init_size > size - setup_size
					 ? hdr.init_size
					 : size - setup_size);
	return 0;
}

int x86_load_kernel(const uint8_t *img, size_t size, struct guest_mem *gm,
		    struct x86_kernel *k, struct sm_error *err)
{
	if (size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return x86_load_elf(img, size, gm, k, err);
	return x86_load_bzimage(img, size, gm, k, err);
}

int x86_load_initrd(const uint8_t *img, size_t size, struct guest_mem *gm,
		    const struct x86_kernel *k, uint64_t *gpa,
		    struct sm_error *err)
{
	/* Top of low RAM, but below 2 GiB (initrd_addr_max of old kernels). */
	uint64_t top = gm->regions[0].gpa + gm->regions[0].size;
	uint64_t start;
	void *dst;

	if (top > 0x80000000ULL)
		top = 0x80000000ULL;
	if (size > top || top - size < k->end)
		return sm_err(err, -ENOMEM,
			      "initrd: %zu bytes do not fit above the kernel "
			      "in guest RAM",
			      size);
	start = (top - size) & ~0xfffULL;
	if (start < k->end)
		return sm_err(err, -ENOMEM,
			      "initrd: does not fit in guest RAM");
	dst = gm_ptr(gm, start, size);
	if (!dst)
		return sm_err(err, -ENOMEM,
			      "initrd: does not fit in guest RAM");
	memcpy(dst, img, size);
	*gpa = start;
	return 0;
}
