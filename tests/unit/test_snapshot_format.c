/* Snapshot state file: round trip and refusal of every kind of damage. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/format.h"
#include "test.h"

static char dir[] = "/tmp/sm-snapfmt.XXXXXX";

/* A small valid file in w (finished) with three records. */
static void build(struct snap_writer *w)
{
	struct sm_error err = {0};
	struct sm_buf *b;

	snap_writer_init(w);
	CHECK_EQ(snap_put(w, 1, 0, "hello", 5, &err), 0);
	CHECK_EQ(snap_put(w, 3, 7, "", 0, &err), 0);
	b = snap_begin(w, 3, 8);
	sm_buf_put_u32(b, 0xdeadbeef);
	sm_buf_put_u64(b, 42);
	CHECK_EQ(snap_end(w, &err), 0);
	CHECK_EQ(snap_finish(w, &err), 0);
}

/* Parses buf; expects failure with `code` and a message containing `what`. */
static void refused(const void *buf, size_t len, int code, const char *what)
{
	struct snap_file f;
	struct sm_error err = {0};
	int ret = snap_parse(&f, buf, len, &err);

	CHECK_EQ(ret, code);
	CHECK_EQ(err.code, code);
	if (!strstr(err.msg, what) && !test_failed_now) {
		test_failed_now = 1;
		snprintf(test_why, sizeof(test_why),
			 "message \"%.200s\" lacks \"%.100s\"", err.msg, what);
	}
	CHECK(f.data == NULL && f.recs == NULL);
	snap_file_free(&f);
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Recomputes the CRC after an edit, so the structural checks are hit. */
static void fix_crc(uint8_t *d, size_t len)
{
	uint32_t c = snap_crc32(0, d, len - 4);

	d[len - 4] = (uint8_t)c;
	d[len - 3] = (uint8_t)(c >> 8);
	d[len - 2] = (uint8_t)(c >> 16);
	d[len - 1] = (uint8_t)(c >> 24);
}

TEST(crc32_matches_zlib)
{
	CHECK_EQ(snap_crc32(0, "123456789", 9), 0xcbf43926u);
	CHECK_EQ(snap_crc32(0, "", 0), 0);
	/* incremental use gives the same as one call */
	CHECK_EQ(snap_crc32(snap_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

TEST(round_trip_in_memory)
{
	struct snap_writer w;
	struct snap_file f;
	struct sm_error err = {0};
	const struct snap_record *r;

	build(&w);
	CHECK_EQ(w.buf.len, 16 + (16 + 5) + 16 + (16 + 12) + 4);
	CHECK(!memcmp(w.buf.data, "SMSNAP\0\1", 8));
	CHECK_EQ(snap_parse(&f, w.buf.data, w.buf.len, &err), 0);
	CHECK_EQ(f.major, SNAP_MAJOR);
	CHECK_EQ(f.minor, SNAP_MINOR);
	CHECK_EQ(f.count, 3);
	CHECK_EQ(f.recs[0].type, 1);
	CHECK_EQ(f.recs[2].instance, 8);
	r = snap_find(&f, 1, 0);
	CHECK(r && r->len == 5 && !memcmp(r->data, "hello", 5));
	r = snap_find(&f, 3, 7);
	CHECK(r && r->len == 0);
	r = snap_find(&f, 3, 8);
	CHECK(r && r->len == 12);
	if (r) {
		struct sm_reader rd;

		sm_reader_init(&rd, r->data, r->len);
		CHECK_EQ(sm_get_u32(&rd), 0xdeadbeef);
		CHECK_EQ(sm_get_u64(&rd), 42);
		CHECK(!rd.bad && rd.left == 0);
	}
	CHECK(snap_find(&f, 3, 9) == NULL);
	CHECK(snap_find(&f, 2, 0) == NULL);
	snap_file_free(&f);
	snap_writer_free(&w);
}

TEST(round_trip_file_atomic)
{
	struct snap_writer w;
	struct snap_file f;
	struct sm_error err = {0};
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/state", dir);
	build(&w);
	CHECK_EQ(snap_write_file(&w, path, &err), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_size, (long long)w.buf.len);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(snap_read_file(&f, path, &err), 0);
	CHECK_EQ(f.count, 3);
	CHECK(f.len == w.buf.len && !memcmp(f.data, w.buf.data, f.len));
	snap_file_free(&f);
	/* writing again replaces the file; no temporary file is left */
	CHECK_EQ(snap_write_file(&w, path, &err), 0);
	CHECK_EQ(count_entries(dir), 1);
	unlink(path);
	snap_writer_free(&w);
}

TEST(empty_file_round_trip)
{
	struct snap_writer w;
	struct snap_file f;
	struct sm_error err = {0};

	snap_writer_init(&w);
	CHECK_EQ(snap_finish(&w, &err), 0);
	CHECK_EQ(w.buf.len, 20);
	CHECK_EQ(snap_parse(&f, w.buf.data, w.buf.len, &err), 0);
	CHECK_EQ(f.count, 0);
	CHECK(snap_find(&f, 1, 0) == NULL);
	snap_file_free(&f);
	snap_writer_free(&w);
}

TEST(bad_magic_refused)
{
	struct snap_writer w;

	build(&w);
	w.buf.data[3] ^= 0x20;
	refused(w.buf.data, w.buf.len, -EINVAL, "bad magic");
	refused("GIF89a", 6, -EINVAL, "bad magic");
	snap_writer_free(&w);
}

TEST(other_major_refused)
{
	struct snap_writer w;

	build(&w);
	w.buf.data[8] = 2;
	w.buf.data[10] = 0;
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EPROTONOSUPPORT,
		"format version 2.0, this build reads only version 1.x");
	w.buf.data[8] = 0;
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EPROTONOSUPPORT, "version 0.0");
	snap_writer_free(&w);
}

TEST(newer_minor_refused)
{
	struct snap_writer w;

	build(&w);
	w.buf.data[10] = SNAP_MINOR + 1;
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EPROTONOSUPPORT,
		"is newer than this build's");
	snap_writer_free(&w);
}

TEST(bad_crc_refused)
{
	struct snap_writer w;

	build(&w);
	/* a flipped payload bit, then a flipped CRC bit */
	w.buf.data[16 + 16 + 1] ^= 1;
	refused(w.buf.data, w.buf.len, -EBADMSG, "bad CRC");
	w.buf.data[16 + 16 + 1] ^= 1;
	w.buf.data[w.buf.len - 1] ^= 0x80;
	refused(w.buf.data, w.buf.len, -EBADMSG, "bad CRC");
	snap_writer_free(&w);
}

TEST(truncated_at_every_length_refused)
{
	struct snap_writer w;
	struct snap_file f;
	struct sm_error err;

	build(&w);
	for (size_t len = 0; len < w.buf.len && !test_failed_now; len++) {
		memset(&err, 0, sizeof(err));
		CHECK_EQ(snap_parse(&f, w.buf.data, len, &err), -EINVAL);
		if (!strstr(err.msg, "truncated")) {
			snprintf(test_why, sizeof(test_why),
				 "length %zu: \"%.300s\"", len, err.msg);
			test_failed_now = 1;
		}
		snap_file_free(&f);
	}
	snap_writer_free(&w);
}

TEST(record_length_past_end_refused)
{
	struct snap_writer w;

	build(&w);
	/* first record's length (offset 16 + 8) made huge, CRC fixed */
	w.buf.data[16 + 8 + 7] = 0x80;
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EINVAL,
		"record 0 of 3 (type 1, instance 0) is 9223372036854775813 "
		"bytes, past the end");
	w.buf.data[16 + 8 + 7] = 0;
	/* one byte too long: runs into the CRC */
	w.buf.data[16 + 8] = 5 + 16 + 16 + 12 + 1;
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EINVAL, "past the end");
	snap_writer_free(&w);
}

TEST(record_count_lies_refused)
{
	struct snap_writer w;

	build(&w);
	w.buf.data[12] = 2; /* one record unaccounted for */
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EINVAL, "after the last of 2 records");
	w.buf.data[15] = 0xff; /* more records than bytes */
	fix_crc(w.buf.data, w.buf.len);
	refused(w.buf.data, w.buf.len, -EINVAL, "cannot fit");
	snap_writer_free(&w);
}

TEST(duplicate_record_refused)
{
	struct snap_writer w;
	struct sm_error err = {0};

	snap_writer_init(&w);
	CHECK_EQ(snap_put(&w, 5, 1, "a", 1, &err), 0);
	CHECK_EQ(snap_put(&w, 4, 1, "b", 1, &err), 0);
	CHECK_EQ(snap_put(&w, 5, 1, "c", 1, &err), 0);
	CHECK_EQ(snap_finish(&w, &err), 0);
	refused(w.buf.data, w.buf.len, -EINVAL,
		"two records of type 5, instance 1");
	snap_writer_free(&w);
}

TEST(over_the_cap_refused)
{
	struct snap_writer w;
	struct sm_error err = {0};
	size_t big = (size_t)SNAP_MAX_SIZE + 1;
	uint8_t *d = calloc(1, big);
	char path[256];
	FILE *fp;
	struct snap_file f;

	CHECK(d != NULL);
	if (!d)
		return;
	build(&w);
	memcpy(d, w.buf.data, w.buf.len);
	refused(d, big, -EFBIG, "over the 64 MiB cap");
	/* the same from a file: refused from its size, before reading */
	snprintf(path, sizeof(path), "%s/big", dir);
	fp = fopen(path, "w");
	CHECK(fp && fwrite(d, 1, big, fp) == big);
	if (fp)
		fclose(fp);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snap_read_file(&f, path, &err), -EFBIG);
	CHECK(strstr(err.msg, path) && strstr(err.msg, "over the 64 MiB cap"));
	unlink(path);
	free(d);
	snap_writer_free(&w);

	/* the writer refuses to grow past the cap */
	snap_writer_init(&w);
	d = calloc(1, SNAP_MAX_SIZE / 2);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_EQ(snap_put(&w, 1, 0, d, SNAP_MAX_SIZE / 2, &err), 0);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(snap_put(&w, 1, 1, d, SNAP_MAX_SIZE / 2, &err), -EFBIG);
	CHECK(strstr(err.msg, "cap") != NULL);
	CHECK_EQ(snap_finish(&w, &err), 0);
	free(d);
	snap_writer_free(&w);
}

TEST(writer_misuse_refused)
{
	struct snap_writer w;
	struct sm_error err = {0};

	snap_writer_init(&w);
	snap_begin(&w, 1, 0);
	snap_begin(&w, 2, 0); /* nested */
	CHECK_EQ(snap_end(&w, &err), -EINVAL);
	CHECK_EQ(snap_finish(&w, &err), -EINVAL);
	snap_writer_free(&w);

	snap_writer_init(&w);
	CHECK_EQ(snap_end(&w, &err), -EINVAL);
	snap_writer_free(&w);
}

TEST(missing_file_is_clear)
{
	struct snap_file f;
	struct sm_error err = {0};

	CHECK_EQ(snap_read_file(&f, "/nonexistent/state", &err), -ENOENT);
	CHECK(strstr(err.msg, "/nonexistent/state") != NULL);
	snap_file_free(&f);
}

TEST(corrupt_file_names_path)
{
	struct snap_writer w;
	struct snap_file f;
	struct sm_error err = {0};
	char path[256];
	FILE *fp;

	build(&w);
	snprintf(path, sizeof(path), "%s/bad", dir);
	fp = fopen(path, "w");
	CHECK(fp && fwrite(w.buf.data, 1, w.buf.len - 3, fp) == w.buf.len - 3);
	if (fp)
		fclose(fp);
	CHECK_EQ(snap_read_file(&f, path, &err), -EINVAL);
	CHECK(strstr(err.msg, path) && strstr(err.msg, "truncated"));
	CHECK(f.data == NULL);
	unlink(path);
	snap_writer_free(&w);
}

/* Without O_NONBLOCK the open would wait for a writer forever; the
 * alarm turns such a hang into a lost verdict. */
TEST(fifo_refused_without_blocking)
{
	struct snap_file f;
	struct sm_error err = {0};
	char path[256];

	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	alarm(10);
	CHECK_EQ(snap_read_file(&f, path, &err), -EINVAL);
	alarm(0);
	CHECK(strstr(err.msg, path) && strstr(err.msg, "not a regular file"));
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(crc32_matches_zlib);
	RUN(round_trip_in_memory);
	RUN(round_trip_file_atomic);
	RUN(empty_file_round_trip);
	RUN(bad_magic_refused);
	RUN(other_major_refused);
	RUN(newer_minor_refused);
	RUN(bad_crc_refused);
	RUN(truncated_at_every_length_refused);
	RUN(record_length_past_end_refused);
	RUN(record_count_lies_refused);
	RUN(duplicate_record_refused);
	RUN(over_the_cap_refused);
	RUN(writer_misuse_refused);
	RUN(missing_file_is_clear);
	RUN(corrupt_file_names_path);
	RUN(fifo_refused_without_blocking);
	rmdir(dir);
	return test_summary();
}
