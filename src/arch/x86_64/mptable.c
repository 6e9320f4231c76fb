/*
 * Intel MultiProcessor table: how a guest without ACPI finds its CPUs, its
 * IOAPIC and the routing of ISA interrupts (Intel MP spec 1.4).
 */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/x86.h"
#include "util/error.h"

struct __attribute__((packed)) mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

#define MP_MAX_CPUS 64

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

int x86_setup_mptable(struct guest_mem *gm, unsigned ncpus,
		      struct sm_error *err)
{
	const uint8_t ioapic_id = (uint8_t)ncpus;
	size_t size = sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
		      ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		      sizeof(struct mpc_ioapic) +
		      (X86_IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
	uint8_t *base, *p;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint16_t count = 0;

	if (ncpus == 0 || ncpus > MP_MAX_CPUS)
		return sm_err(err, -EINVAL, "MP table: %u CPUs (limit %d)",
			      ncpus, MP_MAX_CPUS);
	if (size > 0xa0000 - X86_EBDA_START)
		return sm_err(err, -E2BIG, "MP table does not fit in the EBDA");
	base = gm_ptr(gm, X86_EBDA_START, size);
	if (!base)
		return sm_err(err, -ENOMEM,
			      "guest RAM too small for the MP table");
	memset(base, 0, size);
	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	p = (uint8_t *)(mpc + 1);

	for (unsigned i = 0; i < ncpus; i++, count++) {
		struct mpc_cpu cpu = {
		    .type = MP_PROCESSOR,
		    .apicid = (uint8_t)i,
		    .apicver = 0x14,
		    .cpuflag = 1 | (i == 0 ? 2 : 0),
		    .cpufeature = 0x600,
		    .featureflag = 0x201,
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}
	{
		struct mpc_bus bus = {.type = MP_BUS, .busid = 0};
		struct mpc_ioapic io = {
		    .type = MP_IOAPIC,
		    .apicid = ioapic_id,
		    .apicver = 0x11,
		    .flags = 1,
		    .apicaddr = (uint32_t)X86_IOAPIC_ADDR,
		};
		memcpy(bus.bustype, "ISA   ", 6);
		memcpy(p, &bus, sizeof(bus));
		p += sizeof(bus);
		memcpy(p, &io, sizeof(io));
		p += sizeof(io);
		count += 2;
	}
	for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++, count++) {
		struct mpc_intsrc src = {
		    .type = MP_INTSRC,
		    .irqtype = MP_INT,
		    .srcbus = 0,
		    .srcbusirq = (uint8_t)pin,
		    .dstapic = ioapic_id,
		    .dstirq = (uint8_t)pin,
		};
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}
	{
		struct mpc_intsrc lint0 = {.type = MP_LINTSRC,
					   .irqtype = MP_EXTINT,
					   .dstapic = 0,
					   .dstirq = 0};
		struct mpc_intsrc lint1 = {.type = MP_LINTSRC,
					   .irqtype = MP_NMI,
					   .dstapic = 0xff,
					   .dstirq = 1};
		memcpy(p, &lint0, sizeof(lint0));
		p += sizeof(lint0);
		memcpy(p, &lint1, sizeof(lint1));
		p += sizeof(lint1);
		count += 2;
	}
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = 4;
	memcpy(mpc->oem, "SUPERMCH", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)X86_LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(X86_EBDA_START + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
