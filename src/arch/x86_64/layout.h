/* Guest physical memory map of an x86_64 supermachine VM. */
#ifndef SM_ARCH_X86_64_LAYOUT_H
#define SM_ARCH_X86_64_LAYOUT_H

#define X86_GDT_ADDR 0x500ULL
#define X86_ZERO_PAGE_ADDR 0x7000ULL
#define X86_BOOT_STACK_TOP 0x8ff0ULL
#define X86_PML4_ADDR 0x9000ULL
#define X86_PDPT_ADDR 0xa000ULL
#define X86_PD_ADDR 0xb000ULL
#define X86_CMDLINE_ADDR 0x20000ULL
#define X86_CMDLINE_MAX 0x10000ULL  /* 64 KiB, up to 0x30000 */
#define X86_EBDA_START 0x9fc00ULL   /* MP table lives here */
#define X86_HIMEM_START 0x100000ULL /* kernels load at or above 1 MiB */
#define X86_BZIMAGE_LOAD 0x100000ULL

/* RAM below the MMIO hole; the rest of RAM starts at 4 GiB. */
#define X86_LOW_RAM_MAX 0xc0000000ULL
#define X86_HIGH_RAM_START 0x100000000ULL

/* virtio-mmio devices: one 4 KiB window each, IRQs from 5 up. */
#define X86_VIRTIO_MMIO_BASE 0xd0000000ULL
#define X86_VIRTIO_MMIO_SIZE 0x1000ULL
#define X86_VIRTIO_IRQ_BASE 5
#define X86_VIRTIO_MAX_DEVICES 18 /* IRQs 5..22 */
/* Shared-memory windows (virtio-fs DAX) are placed above RAM. */
#define X86_SHM_BASE_MIN 0x1000000000ULL /* 64 GiB */

#define X86_IOAPIC_ADDR 0xfec00000ULL
#define X86_LAPIC_ADDR 0xfee00000ULL
#define X86_IOAPIC_PINS 24

/* Selectors the 64-bit boot protocol asks for. */
#define X86_BOOT_CS 0x10
#define X86_BOOT_DS 0x18
#define X86_BOOT_TSS 0x20

/* Paravirtual I/O ports of supermachine's guest init. */
#define SM_PORT_EXIT 0x0f4   /* 32-bit write: the guest command's status */
#define SM_PORT_MARKER 0x0f5 /* 8-bit write: boot progress markers */
#define SERIAL_COM1 0x3f8
#define SERIAL_COM1_IRQ 4
#define I8042_DATA 0x60
#define I8042_CMD 0x64

#endif
