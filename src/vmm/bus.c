#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

int bus_add(struct bus *bus, const struct bus_device *dev)
{
	if (bus->n >= BUS_MAX_DEVICES)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->n; i++) {
		const struct bus_device *d = &bus->devs[i];

		if (dev->base < d->base + d->size &&
		    d->base < dev->base + dev->size)
			return -EBUSY;
	}
	bus->devs[bus->n++] = *dev;
	return 0;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data,
		uint32_t len, bool write)
{
	for (unsigned i = 0; i < bus->n; i++) {
		const struct bus_device *d = &bus->devs[i];

		if (addr < d->base || addr - d->base >= d->size)
			continue;
		if (write) {
			if (d->write)
				d->write(d->opaque, addr - d->base, data, len);
		} else if (d->read) {
			d->read(d->opaque, addr - d->base, data, len);
		} else {
			memset(data, 0xff, len);
		}
		return true;
	}
	if (!write)
		memset(data, 0xff, len);
	return false;
}
