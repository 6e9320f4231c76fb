/*
 * A container's log (src/container/logs.c, log_format.c): the order of
 * the streams, lines, -t, --tail, the cap, a reader following across the
 * cap's moves, and files the reader must not trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/log_format.h"
#include "container/logs.h"
#include "test.h"

/* What a reader emitted: "1:" / "2:" before each stream's bytes. */
#define SINK_SIZE (1 << 20)

struct sink {
	char *buf; /* SINK_SIZE bytes */
	size_t len;
};

static int to_sink(void *opaque, int stream, const void *data, size_t len)
{
	struct sink *s = opaque;
	int n = snprintf(s->buf + s->len, SINK_SIZE - s->len, "%d:%.*s", stream,
			 (int)len, (const char *)data);

	if (n < 0 || (size_t)n >= SINK_SIZE - s->len)
		return -ENOSPC;
	s->len += (size_t)n;
	return 0;
}

static struct sink out;

static const char *got(void)
{
	return out.buf;
}

static int tmp_fd(void)
{
	char path[] = "/tmp/test_ctr_logs.XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static struct ctr_log_writer *writer(uint64_t cap)
{
	struct ctr_log_writer *w = NULL;
	int fd = tmp_fd();

	if (fd < 0 || ctr_log_open_fd(fd, cap, &w, NULL))
		return NULL;
	return w;
}

/* Reads the whole log (from *pos) into out. */
static int read_all(struct ctr_log_writer *w, uint64_t *pos, bool ts,
		    uint64_t skip)
{
	struct ctr_log_reader rd = {
	    .timestamps = ts, .skip = skip, .emit = to_sink, .opaque = &out};

	out.len = 0;
	out.buf[0] = '\0';
	return ctr_log_read(ctr_log_fd(w), pos, &rd, NULL);
}

TEST(streams_keep_their_order)
{
	struct ctr_log_writer *w = writer(0);
	uint64_t pos = 0;

	CHECK(w);
	if (!w)
		return;
	CHECK_EQ(ctr_log_append(w, 1, 1, "out1\n", 5), 0);
	CHECK_EQ(ctr_log_append(w, 2, 2, "err1\n", 5), 0);
	CHECK_EQ(ctr_log_append(w, 1, 3, "out2\n", 5), 0);
	CHECK_EQ(ctr_log_append(w, 3, 4, "x\n", 2), -EINVAL);
	CHECK_EQ(read_all(w, &pos, false, 0), 0);
	CHECK_STR(got(), "1:out1\n2:err1\n1:out2\n");
	/* a follower's next read: only what is new */
	CHECK_EQ(ctr_log_append(w, 2, 5, "err2\n", 5), 0);
	CHECK_EQ(read_all(w, &pos, false, 0), 0);
	CHECK_STR(got(), "2:err2\n");
	ctr_log_close(w);
}

TEST(a_record_per_line)
{
	struct ctr_log_writer *w = writer(0);
	struct ctr_log_reader count = {0};
	uint64_t pos = 0;

	CHECK(w);
	if (!w)
		return;
	/* three lines in one piece, then a line in two pieces */
	CHECK_EQ(ctr_log_append(w, 1, 1, "a\nb\nc\n", 6), 0);
	CHECK_EQ(ctr_log_append(w, 1, 2, "par", 3), 0);
	CHECK_EQ(ctr_log_append(w, 2, 3, "e\n", 2), 0);
	CHECK_EQ(ctr_log_append(w, 1, 4, "tial\n", 5), 0);
	CHECK_EQ(ctr_log_read(ctr_log_fd(w), &pos, &count, NULL), 0);
	CHECK_EQ(count.lines, 5); /* a b c partial e */
	/* --tail 2: the stderr line and the stdout line in two pieces */
	pos = 0;
	CHECK_EQ(read_all(w, &pos, false, 3), 0);
	CHECK_STR(got(), "1:par2:e\n1:tial\n");
	ctr_log_close(w);
}

TEST(timestamps_as_docker)
{
	struct ctr_log_writer *w = writer(0);
	char ts[64];
	uint64_t pos = 0;

	CHECK(w);
	if (!w)
		return;
	CHECK_EQ(ctr_log_timestamp(1700000000123456789LL, ts, sizeof(ts)), 31);
	CHECK_STR(ts, "2023-11-14T22:13:20.123456789Z ");
	CHECK_EQ(ctr_log_timestamp(5, ts, sizeof(ts)), 31);
	CHECK_STR(ts, "1970-01-01T00:00:00.000000005Z ");
	/* times no calendar holds: still 31 bytes of one */
	CHECK_EQ(ctr_log_timestamp(INT64_MIN, ts, sizeof(ts)), 31);
	CHECK_EQ(ctr_log_timestamp(INT64_MAX, ts, sizeof(ts)), 31);
	CHECK_EQ(ctr_log_timestamp(-1, ts, sizeof(ts)), 31);
	CHECK_STR(ts, "1969-12-31T23:59:59.999999999Z ");
	CHECK_EQ(ctr_log_timestamp(5, ts, 10), 0);
	/* one prefix per line, none on a line's second piece */
	CHECK_EQ(ctr_log_append(w, 1, 5, "ab", 2), 0);
	CHECK_EQ(ctr_log_append(w, 1, 6, "c\nd\n", 4), 0);
	CHECK_EQ(read_all(w, &pos, true, 0), 0);
	CHECK_STR(got(), "1:1970-01-01T00:00:00.000000005Z 1:ab1:c\n"
			 "1:1970-01-01T00:00:00.000000006Z 1:d\n");
	ctr_log_close(w);
}

/* Appends `lines` lines "N ....\n" numbered from *n on, the streams
 * taking turns. */
static void fill(struct ctr_log_writer *w, unsigned *n, unsigned lines)
{
	char line[64];

	for (unsigned i = 0; i < lines; i++, (*n)++) {
		int len = snprintf(line, sizeof(line), "%08u %s\n", *n,
				   "................................");

		ctr_log_append(w, 1 + (*n % 2), *n, line, (size_t)len);
	}
}

/* The numbers of the lines in out, each one more than the last. */
static bool consecutive(unsigned *first, unsigned *last)
{
	const char *p = out.buf;
	bool any = false;

	while ((p = strchr(p, ':'))) {
		unsigned v = (unsigned)strtoul(p + 1, NULL, 10);

		if (any && v != *last + 1)
			return false;
		if (!any)
			*first = v;
		*last = v, any = true;
		p++;
	}
	return any;
}

TEST(the_cap_holds_and_keeps_the_newest)
{
	struct ctr_log_writer *w = writer(CTR_LOG_MIN_CAP);
	unsigned n = 0, first = 0, last = 0;
	uint64_t pos = 0;
	struct stat st;

	CHECK(w);
	if (!w)
		return;
	fill(w, &n, 20000); /* ~860 KiB through a 64 KiB log */
	CHECK_EQ(fstat(ctr_log_fd(w), &st), 0);
	CHECK(st.st_size <= (off_t)CTR_LOG_MIN_CAP);
	CHECK(st.st_size > (off_t)CTR_LOG_MIN_CAP / 3);
	CHECK_EQ(read_all(w, &pos, false, 0), 0);
	CHECK(consecutive(&first, &last));
	CHECK_EQ(last, n - 1);
	CHECK(first > 0);
	/* a cap below the least: the least */
	ctr_log_close(w);
	w = writer(100);
	CHECK(w);
	if (!w)
		return;
	fill(w, &n, 5000);
	CHECK_EQ(fstat(ctr_log_fd(w), &st), 0);
	CHECK(st.st_size <= (off_t)CTR_LOG_MIN_CAP);
	ctr_log_close(w);
}

TEST(a_follower_goes_on_across_moves)
{
	struct ctr_log_writer *w = writer(CTR_LOG_MIN_CAP);
	unsigned n = 0, first = 0, last = 0, seen = 0;
	uint64_t pos = 0;
	struct stat st;

	CHECK(w);
	if (!w)
		return;
	fill(w, &n, 1000);
	CHECK_EQ(read_all(w, &pos, false, 0), 0);
	CHECK(consecutive(&first, &seen));
	CHECK_EQ(first, 0);
	/* a move that drops only what it read: no gap, no repeat */
	fill(w, &n, 200);
	CHECK_EQ(fstat(ctr_log_fd(w), &st), 0);
	CHECK(st.st_size < 1200 * 59); /* records moved */
	CHECK_EQ(read_all(w, &pos, false, 0), 0);
	CHECK(consecutive(&first, &last));
	CHECK_EQ(first, seen + 1);
	CHECK_EQ(last, n - 1);
	/* it fell behind past the cap: it goes on from the oldest kept */
	seen = last;
	fill(w, &n, 5000);
	CHECK_EQ(read_all(w, &pos, false, 0), 0);
	CHECK(consecutive(&first, &last));
	CHECK(first > seen + 1);
	CHECK_EQ(last, n - 1);
	ctr_log_close(w);
}

/* ---- files the reader cannot trust ---- */

static int parse_bytes(const uint8_t *b, size_t len, size_t *taken)
{
	struct ctr_log_reader rd = {.emit = to_sink, .opaque = &out};

	out.len = 0;
	out.buf[0] = '\0';
	return ctr_log_feed(&rd, b, len, taken);
}

TEST(hostile_records)
{
	uint8_t b[CTR_LOG_REC_HDR * 2 + 8];
	size_t taken;

	ctr_log_rec_put(b, 1, 7, 3);
	memcpy(b + CTR_LOG_REC_HDR, "hi\n", 3);
	/* cut short: nothing taken, no error (a writer may be mid-write) */
	for (size_t cut = 0; cut < CTR_LOG_REC_HDR + 3; cut++) {
		CHECK_EQ(parse_bytes(b, cut, &taken), 0);
		CHECK_EQ(taken, 0);
	}
	CHECK_EQ(parse_bytes(b, CTR_LOG_REC_HDR + 3, &taken), 0);
	CHECK_EQ(taken, CTR_LOG_REC_HDR + 3);
	CHECK_STR(got(), "1:hi\n");
	/* a good record, then a bad one: the first is emitted */
	ctr_log_rec_put(b + CTR_LOG_REC_HDR + 3, 3, 7, 0);
	CHECK_EQ(parse_bytes(b, CTR_LOG_REC_HDR * 2 + 3, &taken), -EBADMSG);
	CHECK_EQ(taken, CTR_LOG_REC_HDR + 3);
	CHECK_STR(got(), "1:hi\n");
	/* a length past the bound, and nonzero reserved bytes */
	ctr_log_rec_put(b, 2, 7, CTR_LOG_REC_MAX + 1);
	CHECK_EQ(parse_bytes(b, sizeof(b), &taken), -EBADMSG);
	ctr_log_rec_put(b, 2, 7, UINT32_MAX);
	CHECK_EQ(parse_bytes(b, sizeof(b), &taken), -EBADMSG);
	ctr_log_rec_put(b, 2, 7, 1);
	b[2] = 1;
	CHECK_EQ(parse_bytes(b, sizeof(b), &taken), -EBADMSG);
	CHECK_EQ(taken, 0);
}

TEST(hostile_files)
{
	struct ctr_log_reader rd = {.emit = to_sink, .opaque = &out};
	struct ctr_log_writer *w = writer(0);
	uint8_t junk[64];
	uint64_t pos = 0;
	int fd;

	CHECK(w);
	if (!w)
		return;
	fd = ctr_log_fd(w);
	CHECK_EQ(ctr_log_append(w, 1, 1, "kept\n", 5), 0);
	/* garbage after a good record: it is shown, then the damage named */
	memset(junk, 0xff, sizeof(junk));
	CHECK_EQ(pwrite(fd, junk, sizeof(junk), lseek(fd, 0, SEEK_END)),
		 (ssize_t)sizeof(junk));
	CHECK_EQ(read_all(w, &pos, false, 0), -EBADMSG);
	CHECK_STR(got(), "1:kept\n");
	/* a base that points past everything: no overflow, from the start */
	ctr_log_hdr_put(junk, UINT64_MAX);
	CHECK_EQ(pwrite(fd, junk, CTR_LOG_HDR, 0), CTR_LOG_HDR);
	pos = 0;
	CHECK_EQ(read_all(w, &pos, false, 0), -EBADMSG);
	CHECK_STR(got(), "1:kept\n");
	/* no header: an error, nothing emitted */
	CHECK_EQ(pwrite(fd, "NOTALOG!", 8, 0), 8);
	pos = 0;
	CHECK_EQ(read_all(w, &pos, false, 0), -EBADMSG);
	CHECK_EQ(out.len, 0);
	/* a writer opening a file (a log, as junk is now) starts it afresh */
	ctr_log_close(w);
	fd = tmp_fd();
	CHECK_EQ(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	w = NULL;
	CHECK_EQ(ctr_log_open_fd(fd, 0, &w, NULL), 0);
	if (!w)
		return;
	CHECK_EQ(ctr_log_append(w, 2, 1, "fresh\n", 6), 0);
	pos = 0;
	out.len = 0;
	CHECK_EQ(ctr_log_read(ctr_log_fd(w), &pos, &rd, NULL), 0);
	CHECK_STR(got(), "2:fresh\n");
	ctr_log_close(w);
}

TEST(a_later_run_goes_on_after_the_last)
{
	struct ctr_log_writer *w = writer(0), *again = NULL;
	uint64_t pos = 0;
	int fd;

	CHECK(w);
	if (!w)
		return;
	CHECK_EQ(ctr_log_append(w, 1, 1, "first run\n", 10), 0);
	fd = dup(ctr_log_fd(w));
	/* a record cut short by a crash: cut off */
	CHECK(lseek(fd, 0, SEEK_END) > 0);
	CHECK_EQ(write(fd, "\x01\0\0\0\xff", 5), 5);
	ctr_log_close(w);
	CHECK_EQ(ctr_log_open_fd(fd, 0, &again, NULL), 0);
	if (!again)
		return;
	CHECK_EQ(ctr_log_append(again, 2, 2, "second\n", 7), 0);
	CHECK_EQ(read_all(again, &pos, false, 0), 0);
	CHECK_STR(got(), "1:first run\n2:second\n");
	ctr_log_close(again);
	/* what is no log is started afresh */
	fd = tmp_fd();
	CHECK_EQ(write(fd, "not a log at all, not at all", 28), 28);
	CHECK_EQ(ctr_log_open_fd(fd, 0, &again, NULL), 0);
	if (!again)
		return;
	pos = 0;
	CHECK_EQ(read_all(again, &pos, false, 0), 0);
	CHECK_STR(got(), "");
	ctr_log_close(again);
}

TEST(since_and_until_bound_by_time)
{
	struct ctr_log_writer *w = writer(0);
	struct ctr_log_reader rd = {
	    .since_ns = 20, .until_ns = 40, .emit = to_sink, .opaque = &out};
	struct ctr_log_reader count = {.since_ns = 20};
	uint64_t pos = 0;

	CHECK(w);
	if (!w)
		return;
	CHECK_EQ(ctr_log_append(w, 1, 10, "old\n", 4), 0);
	CHECK_EQ(ctr_log_append(w, 1, 15, "half", 4), 0); /* before since */
	CHECK_EQ(ctr_log_append(w, 1, 20, "-way\n", 5), 0);
	CHECK_EQ(ctr_log_append(w, 2, 30, "mid\n", 4), 0);
	CHECK_EQ(ctr_log_append(w, 1, 40, "edge\n", 5), 0);
	CHECK_EQ(ctr_log_append(w, 1, 41, "late\n", 5), 0);
	out.len = 0;
	out.buf[0] = '\0';
	CHECK_EQ(ctr_log_read(ctr_log_fd(w), &pos, &rd, NULL), 0);
	/* both bounds included; a line begun before since is cut there */
	CHECK_STR(got(), "1:-way\n2:mid\n1:edge\n");
	pos = 0;
	CHECK_EQ(ctr_log_read(ctr_log_fd(w), &pos, &count, NULL), 0);
	CHECK_EQ(count.lines, 3); /* mid edge late: --tail counts within */
	ctr_log_close(w);
}

TEST(time_arguments_as_docker)
{
	const int64_t now = 1700000000LL * 1000000000LL;
	int64_t ns = -1;

	CHECK_EQ(ctr_log_time_arg("1136073600", now, &ns), 0);
	CHECK_EQ(ns, 1136073600LL * 1000000000LL);
	CHECK_EQ(ctr_log_time_arg("1136073600.5", now, &ns), 0);
	CHECK_EQ(ns, 1136073600LL * 1000000000LL + 500000000);
	CHECK_EQ(ctr_log_time_arg("10m", now, &ns), 0);
	CHECK_EQ(ns, now - 600LL * 1000000000LL);
	CHECK_EQ(ctr_log_time_arg("1h30m", now, &ns), 0);
	CHECK_EQ(ns, now - 5400LL * 1000000000LL);
	CHECK_EQ(ctr_log_time_arg("1.5s", now, &ns), 0);
	CHECK_EQ(ns, now - 1500000000LL);
	CHECK_EQ(ctr_log_time_arg("250ms", now, &ns), 0);
	CHECK_EQ(ns, now - 250000000LL);
	CHECK_EQ(ctr_log_time_arg("2006-01-02T15:04:05Z", now, &ns), 0);
	CHECK_EQ(ns, 1136214245LL * 1000000000LL);
	CHECK_EQ(ctr_log_time_arg("2006-01-02T15:04:05.25+01:00", now, &ns), 0);
	CHECK_EQ(ns, (1136214245LL - 3600) * 1000000000LL + 250000000);
	CHECK_EQ(ctr_log_time_arg("2006-01-02T15:04:05-0700", now, &ns), 0);
	CHECK_EQ(ns, (1136214245LL + 7 * 3600) * 1000000000LL);
	CHECK_EQ(ctr_log_time_arg("2006-01-02Z", now, &ns), 0);
	CHECK_EQ(ns, 1136160000LL * 1000000000LL);
	/* without a zone: local time (TZ=UTC here) */
	setenv("TZ", "UTC", 1);
	tzset();
	CHECK_EQ(ctr_log_time_arg("2006-01-02T15:04", now, &ns), 0);
	CHECK_EQ(ns, 1136214240LL * 1000000000LL);
	CHECK_EQ(ctr_log_time_arg("2006-01-02", now, &ns), 0);
	CHECK_EQ(ns, 1136160000LL * 1000000000LL);
	/* not times */
	CHECK_EQ(ctr_log_time_arg("", now, &ns), -EINVAL);
	CHECK_EQ(ctr_log_time_arg("yesterday", now, &ns), -EINVAL);
	CHECK_EQ(ctr_log_time_arg("10", now, &ns), 0); /* a Unix time */
	CHECK_EQ(ctr_log_time_arg("10x", now, &ns), -EINVAL);
	CHECK_EQ(ctr_log_time_arg("2006-13-02", now, &ns), -EINVAL);
	CHECK_EQ(ctr_log_time_arg("2006-01-02T25:00", now, &ns), -EINVAL);
	CHECK_EQ(ctr_log_time_arg("2006-01-02T15:04:05+99:00", now, &ns),
		 -EINVAL);
	CHECK_EQ(ctr_log_time_arg("99999999999999999999", now, &ns), -EINVAL);
	CHECK_EQ(ctr_log_time_arg("h", now, &ns), -EINVAL);
}

int main(void)
{
	out.buf = calloc(1, SINK_SIZE);
	if (!out.buf)
		return 1;
	RUN(streams_keep_their_order);
	RUN(a_record_per_line);
	RUN(timestamps_as_docker);
	RUN(the_cap_holds_and_keeps_the_newest);
	RUN(a_follower_goes_on_across_moves);
	RUN(hostile_records);
	RUN(hostile_files);
	RUN(a_later_run_goes_on_after_the_last);
	RUN(since_and_until_bound_by_time);
	RUN(time_arguments_as_docker);
	return test_summary();
}
