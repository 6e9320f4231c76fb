/*
 * KVM's binary statistics (src/hv/kvm_stats.c), from files laid out as
 * KVM_GET_STATS_FD's: the counters found by name, histograms and other
 * types passed over, and files that are not what they say refused or
 * read only as far as they hold.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/kvm_internal.h"
#include "test.h"

#define NAME_SIZE 48
#define DESC_SIZE (sizeof(struct kvm_stats_desc) + NAME_SIZE)

struct stat_def {
	const char *name;
	uint32_t flags;
	uint16_t size;
	uint32_t offset;
};

/* A stats file: header, id, descriptors, then data (u64 i at 8*i holds
 * 1000 + i). */
static int stats_file(const struct stat_def *defs, uint32_t n,
		      uint32_t data_words)
{
	int fd = memfd_create("kvm-stats", MFD_CLOEXEC);
	struct kvm_stats_header h = {.name_size = NAME_SIZE, .num_desc = n};
	char desc[DESC_SIZE];

	h.id_offset = sizeof(h);
	h.desc_offset = h.id_offset + 64;
	h.data_offset = h.desc_offset + n * DESC_SIZE;
	if (fd < 0 || pwrite(fd, &h, sizeof(h), 0) != sizeof(h))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_stats_desc *d = (void *)desc;

		memset(desc, 0, sizeof(desc));
		d->flags = defs[i].flags;
		d->size = defs[i].size;
		d->offset = defs[i].offset;
		memcpy(desc + sizeof(*d), defs[i].name, strlen(defs[i].name));
		if (pwrite(fd, desc, DESC_SIZE,
			   h.desc_offset + i * DESC_SIZE) != (ssize_t)DESC_SIZE)
			return -1;
	}
	for (uint32_t i = 0; i < data_words; i++) {
		uint64_t v = 1000 + i;

		if (pwrite(fd, &v, 8, h.data_offset + 8 * i) != 8)
			return -1;
	}
	return fd;
}

TEST(counters_by_name)
{
	const struct stat_def defs[] = {
	    {"halt_poll_fail_hist", KVM_STATS_TYPE_LINEAR_HIST, 32, 0},
	    {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 8 * 32},
	    {"io_exits", KVM_STATS_TYPE_CUMULATIVE, 1, 8 * 35},
	    {"guest_mode", KVM_STATS_TYPE_INSTANT, 1, 8 * 36},
	    {"pf_taken", KVM_STATS_TYPE_CUMULATIVE, 1, 8 * 33},
	};
	struct kvm_stats_layout l;
	uint64_t v[KVM_STAT_COUNT];
	int fd = stats_file(defs, 5, 40);

	CHECK(fd >= 0);
	CHECK_EQ(kvm_stats_layout(fd, &l), 0);
	CHECK_EQ(kvm_stats_read(fd, &l, v), 0);
	CHECK_EQ(v[0], 1032); /* exits */
	CHECK_EQ(v[1], 1033); /* pf_taken */
	CHECK_EQ(v[2], 1035); /* io_exits */
	CHECK_EQ(v[3], 0);    /* mmio_exits: not in this file */
	CHECK_EQ(l.data_size, 8 * 36);
	close(fd);
}

TEST(odd_files)
{
	const struct stat_def past[] = {
	    {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 1u << 24}, /* too far */
	    {"io_exits", KVM_STATS_TYPE_CUMULATIVE, 1, 12},    /* unaligned */
	    {"halt_exits", KVM_STATS_TYPE_CUMULATIVE, 2, 0},   /* not one u64 */
	};
	struct kvm_stats_layout l;
	uint64_t v[KVM_STAT_COUNT];
	int fd = stats_file(past, 3, 4);

	CHECK_EQ(kvm_stats_layout(fd, &l), 0);
	CHECK_EQ(kvm_stats_read(fd, &l, v), -ENODATA); /* none usable */
	close(fd);
	/* a header that claims more descriptors than the file holds */
	fd = stats_file(past, 3, 0);
	CHECK_EQ(ftruncate(fd, sizeof(struct kvm_stats_header) + 64 + 10), 0);
	CHECK_EQ(kvm_stats_layout(fd, &l), -EINVAL);
	close(fd);
	/* too short for a header; no fd at all */
	fd = memfd_create("short", MFD_CLOEXEC);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_EQ(kvm_stats_layout(fd, &l), -EINVAL);
	close(fd);
	CHECK_EQ(kvm_stats_read(-1, &l, v), -ENODATA);
	CHECK_EQ(v[0], 0);
}

TEST(data_cut_short)
{
	const struct stat_def defs[] = {
	    {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 8 * 7},
	};
	struct kvm_stats_layout l;
	uint64_t v[KVM_STAT_COUNT];
	int fd = stats_file(defs, 1, 3); /* data ends before exits */

	CHECK_EQ(kvm_stats_layout(fd, &l), 0);
	CHECK_EQ(kvm_stats_read(fd, &l, v), -EIO);
	CHECK_EQ(v[0], 0);
	close(fd);
}

int main(void)
{
	RUN(counters_by_name);
	RUN(odd_files);
	RUN(data_cut_short);
	return test_summary();
}
