/*
 * Address-range dispatch for port I/O and MMIO exits. Filled while the VM
 * is set up, read-only once vCPUs run (no lock needed to look up).
 */
#ifndef SM_VMM_BUS_H
#define SM_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_DEVICES 32

struct bus_device {
	const char *name;
	uint64_t base, size;
	/* off is relative to base; len is 1..8 bytes. */
	void (*read)(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const uint8_t *data,
		      uint32_t len);
	void *opaque;
};

struct bus {
	unsigned n;
	struct bus_device devs[BUS_MAX_DEVICES];
};

/* -EBUSY if the range overlaps a registered one, -ENOSPC if full. */
int bus_add(struct bus *bus, const struct bus_device *dev);

/* Returns false when no device claims addr (reads then see all ones). */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data,
		uint32_t len, bool write);

#endif
