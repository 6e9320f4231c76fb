/*
 * Exit counts from KVM's binary statistics (KVM_GET_STATS_FD, Linux
 * 5.14+): a header, descriptors (flags, size, offset, name) and a data
 * block of u64 counters, read with pread. The layout is parsed once per
 * vCPU, bounded as any file (the kernel writes it, but a short or odd
 * one must only cost us the counts). A host without stats fds reports
 * zeros for KVM's counters and still counts the exits to the VMM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv/hv.h"
#include "hv/kvm_internal.h"

/* KVM's names for the counters struct hv_counts holds, in its order. */
static const char *const stat_names[KVM_STAT_COUNT] = {
    "exits", "pf_taken", "io_exits", "mmio_exits", "halt_exits", "irq_exits",
};

#define STATS_DESC_MAX 4096	  /* far more than any kernel has */
#define STATS_NAME_MAX 256	  /* KVM_STATS_NAME_SIZE is 48 */
#define STATS_DATA_MAX (1u << 20) /* bytes of counters we read at most */

int kvm_stats_layout(int fd, struct kvm_stats_layout *l)
{
	struct kvm_stats_header h;
	size_t dsize;
	char *descs;

	memset(l, 0, sizeof(*l));
	for (int i = 0; i < KVM_STAT_COUNT; i++)
		l->off[i] = -1;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.num_desc > STATS_DESC_MAX || h.name_size == 0 ||
	    h.name_size > STATS_NAME_MAX)
		return -EINVAL;
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	if (!(descs = malloc(dsize * h.num_desc)))
		return -ENOMEM;
	if (pread(fd, descs, dsize * h.num_desc, h.desc_offset) !=
	    (ssize_t)(dsize * h.num_desc)) {
		free(descs);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsize);
		const char *name = (const char *)d + sizeof(*d);
		uint64_t end = (uint64_t)d->offset + 8ull * d->size;

		if ((d->flags & KVM_STATS_TYPE_MASK) !=
			KVM_STATS_TYPE_CUMULATIVE ||
		    d->size != 1 || d->offset % 8 || end > STATS_DATA_MAX ||
		    !memchr(name, '\0', h.name_size))
			continue;
		for (int k = 0; k < KVM_STAT_COUNT; k++)
			if (!strcmp(name, stat_names[k])) {
				l->off[k] = (int)d->offset;
				l->data_size = end > l->data_size
						   ? (uint32_t)end
						   : l->data_size;
			}
	}
	free(descs);
	l->data_offset = h.data_offset;
	return 0;
}

int kvm_stats_read(int fd, const struct kvm_stats_layout *l,
		   uint64_t out[KVM_STAT_COUNT])
{
	uint64_t *data;

	memset(out, 0, sizeof(uint64_t) * KVM_STAT_COUNT);
	if (fd < 0 || !l->data_size)
		return -ENODATA;
	if (!(data = malloc(l->data_size)))
		return -ENOMEM;
	if (pread(fd, data, l->data_size, l->data_offset) !=
	    (ssize_t)l->data_size) {
		free(data);
		return -EIO;
	}
	for (int k = 0; k < KVM_STAT_COUNT; k++)
		if (l->off[k] >= 0)
			out[k] = data[l->off[k] / 8];
	free(data);
	return 0;
}

void kvm_stats_open(struct hv_vcpu *vcpu)
{
	vcpu->stats_fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	if (vcpu->stats_fd >= 0 &&
	    kvm_stats_layout(vcpu->stats_fd, &vcpu->stats) < 0) {
		close(vcpu->stats_fd);
		vcpu->stats_fd = -1;
	}
}

void hv_vcpu_add_counts(struct hv_vcpu *vcpu, struct hv_counts *c)
{
	uint64_t v[KVM_STAT_COUNT];

	c->userspace_exits +=
	    __atomic_load_n(&vcpu->userspace_exits, __ATOMIC_RELAXED);
	if (kvm_stats_read(vcpu->stats_fd, &vcpu->stats, v))
		return;
	c->exits += v[0];
	c->pf_exits += v[1];
	c->io_exits += v[2];
	c->mmio_exits += v[3];
	c->halt_exits += v[4];
	c->irq_exits += v[5];
}
