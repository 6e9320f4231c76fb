/*
 * Guest memory from a snapshot's memory file (gm_create_from_file). The
 * file is input: whoever wrote the snapshot directory chose it. A file
 * shorter than the guest memory would map pages past its end, and the
 * first touch of one (by the guest or the VMM) raises SIGBUS and kills
 * the VMM; so would a longer or special file give the guest what it was
 * never meant to have. Each is refused with a message naming the file,
 * before anything is mapped. The first test is the control: a file that
 * gm_save_file() wrote maps and reads back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/fs.h"
#include "vmm/guest_mem.h"

#define PAGE 4096ULL
/* two regions with a gap, as x86_ram_layout() makes them above 3 GiB */
static const uint64_t layout[2][2] = {{0, 64 * PAGE}, {1ULL << 32, 32 * PAGE}};
#define TOTAL (96 * PAGE)

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sm-guestmem.XXXXXX");
	if (!mkdtemp(dir))
		abort();
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* A memory file as gm_save_file() writes it, then cut or grown to len. */
static void write_sized(const char *path, uint64_t len)
{
	struct guest_mem gm;

	if (gm_create(&gm, layout, 2, NULL) || gm_write(&gm, 0, "low", 3) ||
	    gm_write(&gm, 1ULL << 32, "high", 4) ||
	    gm_save_file(&gm, path, NULL) || truncate(path, (off_t)len))
		abort();
	gm_destroy(&gm);
}

static bool has(const struct sm_error *err, const char *s)
{
	return strstr(err->msg, s) != NULL;
}

TEST(saved_file_maps_and_reads_back)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128], buf[4] = {0};

	path_of(path, sizeof(path), "good");
	write_sized(path, TOTAL);
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), 0);
	CHECK_EQ(gm.total, TOTAL);
	CHECK_EQ(gm_read(&gm, 0, buf, 3), 0);
	CHECK_STR(buf, "low");
	CHECK_EQ(gm_read(&gm, 1ULL << 32, buf, 4), 0);
	CHECK(memcmp(buf, "high", 4) == 0);
	/* the last byte of the last page: inside the file, no SIGBUS */
	CHECK_EQ(gm_read(&gm, (1ULL << 32) + 32 * PAGE - 1, buf, 1), 0);
	gm_destroy(&gm);
}

TEST(file_one_page_short_refused)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128], want[64];

	path_of(path, sizeof(path), "short");
	write_sized(path, TOTAL - PAGE);
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), -EINVAL);
	CHECK_EQ(err.code, -EINVAL);
	CHECK(has(&err, path));
	snprintf(want, sizeof(want), "has %llu bytes", TOTAL - PAGE);
	CHECK(has(&err, want));
	snprintf(want, sizeof(want), "has %llu", TOTAL);
	CHECK(has(&err, want));
	CHECK(gm.base == NULL);
	gm_destroy(&gm); /* safe after a refusal */
}

TEST(empty_file_refused)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128];

	path_of(path, sizeof(path), "empty");
	write_sized(path, 0);
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), -EINVAL);
	CHECK(has(&err, "has 0 bytes"));
	CHECK(gm.base == NULL);
}

TEST(file_one_page_long_refused)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128], want[64];

	path_of(path, sizeof(path), "long");
	write_sized(path, TOTAL + PAGE);
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), -EINVAL);
	snprintf(want, sizeof(want), "has %llu bytes", TOTAL + PAGE);
	CHECK(has(&err, want));
	CHECK(gm.base == NULL);
}

TEST(directory_refused)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128];

	path_of(path, sizeof(path), "a-dir");
	if (mkdir(path, 0700))
		abort();
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), -EINVAL);
	CHECK(has(&err, path));
	CHECK(has(&err, "not a regular file but a directory"));
	CHECK(gm.base == NULL);
}

/* Without O_NONBLOCK the open itself would wait for a writer forever;
 * the alarm turns such a hang into a lost verdict. */
TEST(fifo_refused_without_blocking)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128];

	path_of(path, sizeof(path), "a-fifo");
	if (mkfifo(path, 0600))
		abort();
	alarm(10);
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), -EINVAL);
	alarm(0);
	CHECK(has(&err, "not a regular file but a FIFO"));
	CHECK(gm.base == NULL);
}

TEST(missing_file_refused)
{
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128];

	path_of(path, sizeof(path), "none");
	CHECK_EQ(gm_create_from_file(&gm, layout, 2, path, &err), -ENOENT);
	CHECK(has(&err, path));
}

/* A sum that wraps would match a small file while the regions claim far
 * more address space than it covers. */
TEST(bad_layout_refused_before_the_file)
{
	const uint64_t wraps[2][2] = {{0, ~0ULL - PAGE + 1},
				      {1ULL << 40, 2 * PAGE}};
	const uint64_t empty[1][2] = {{0, 0}};
	struct sm_error err = {0};
	struct guest_mem gm;
	char path[128];

	path_of(path, sizeof(path), "tiny");
	write_sized(path, PAGE);
	CHECK_EQ(gm_create_from_file(&gm, wraps, 2, path, &err), -EINVAL);
	CHECK(has(&err, "bad region size"));
	CHECK_EQ(gm_create_from_file(&gm, empty, 1, path, &err), -EINVAL);
	CHECK_EQ(gm_create_from_file(&gm, layout, 0, path, &err), -EINVAL);
	CHECK(gm.base == NULL);
}

int main(void)
{
	make_dir();
	RUN(saved_file_maps_and_reads_back);
	RUN(file_one_page_short_refused);
	RUN(empty_file_refused);
	RUN(file_one_page_long_refused);
	RUN(directory_refused);
	RUN(fifo_refused_without_blocking);
	RUN(missing_file_refused);
	RUN(bad_layout_refused_before_the_file);
	sm_rm_tree(dir);
	return test_summary();
}
