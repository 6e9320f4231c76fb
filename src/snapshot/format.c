/*
 * Snapshot state file: writer and validating reader (format.h,
 * docs/snapshot.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/format.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

#define CRC_LEN 4

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t snap_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static void le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* ---- writer ---- */

void snap_writer_init(struct snap_writer *w)
{
	uint8_t hdr[SNAP_HEADER_LEN];

	memset(w, 0, sizeof(*w));
	memcpy(hdr, SNAP_MAGIC, SNAP_MAGIC_LEN);
	le16(hdr + 8, SNAP_MAJOR);
	le16(hdr + 10, SNAP_MINOR);
	le32(hdr + 12, 0);
	sm_buf_put(&w->buf, hdr, sizeof(hdr));
}

void snap_writer_free(struct snap_writer *w)
{
	sm_buf_free(&w->buf);
	memset(w, 0, sizeof(*w));
}

/* Errors that make the writer unusable, checked at every step. */
static int writer_check(struct snap_writer *w, struct sm_error *err)
{
	if (w->buf.oom)
		return sm_err(err, -ENOMEM, "snapshot state: out of memory");
	if (w->misuse)
		return sm_err(err, -EINVAL,
			      "snapshot state: record begun while another "
			      "was open, or after the file was finished");
	if (w->buf.len + CRC_LEN > SNAP_MAX_SIZE)
		return sm_err(err, -EFBIG,
			      "snapshot state: %zu bytes, over the %u MiB cap",
			      w->buf.len + CRC_LEN, SNAP_MAX_SIZE >> 20);
	if (w->count == UINT32_MAX)
		return sm_err(err, -EFBIG, "snapshot state: too many records");
	return 0;
}

struct sm_buf *snap_begin(struct snap_writer *w, uint32_t type,
			  uint32_t instance)
{
	uint8_t hdr[SNAP_RECORD_HEADER_LEN];

	if (w->open_at || w->done) {
		w->misuse = true;
		return &w->buf;
	}
	le32(hdr, type);
	le32(hdr + 4, instance);
	le64(hdr + 8, 0);
	w->open_at = w->buf.len;
	sm_buf_put(&w->buf, hdr, sizeof(hdr));
	return &w->buf;
}

int snap_end(struct snap_writer *w, struct sm_error *err)
{
	size_t at = w->open_at;
	int ret;

	if (!at) {
		w->misuse = true;
		return sm_err(err, -EINVAL, "snapshot state: no open record");
	}
	w->open_at = 0;
	ret = writer_check(w, err);
	if (ret)
		return ret;
	le64(w->buf.data + at + 8, w->buf.len - at - SNAP_RECORD_HEADER_LEN);
	w->count++;
	return 0;
}

int snap_put(struct snap_writer *w, uint32_t type, uint32_t instance,
	     const void *data, size_t len, struct sm_error *err)
{
	size_t room;
	int ret = writer_check(w, err);

	if (ret)
		return ret;
	if (w->open_at || w->done)
		return sm_err(err, -EINVAL,
			      "snapshot state: record added while another was "
			      "open, or after the file was finished");
	/* Refuse before copying: len may be huge. */
	room = SNAP_MAX_SIZE - CRC_LEN - SNAP_RECORD_HEADER_LEN - w->buf.len;
	if (w->buf.len + CRC_LEN + SNAP_RECORD_HEADER_LEN > SNAP_MAX_SIZE ||
	    len > room)
		return sm_err(err, -EFBIG,
			      "snapshot state: a record of %zu bytes would "
			      "take the file over the %u MiB cap",
			      len, SNAP_MAX_SIZE >> 20);
	sm_buf_put(snap_begin(w, type, instance), data, len);
	return snap_end(w, err);
}

int snap_finish(struct snap_writer *w, struct sm_error *err)
{
	uint8_t crc[CRC_LEN];
	int ret;

	if (w->done)
		return 0;
	if (w->open_at)
		w->misuse = true;
	ret = writer_check(w, err);
	if (ret)
		return ret;
	le32(w->buf.data + 12, w->count);
	le32(crc, snap_crc32(0, w->buf.data, w->buf.len));
	sm_buf_put(&w->buf, crc, sizeof(crc));
	if (w->buf.oom)
		return sm_err(err, -ENOMEM, "snapshot state: out of memory");
	w->done = true;
	return 0;
}

int snap_write_fd(struct snap_writer *w, int fd, struct sm_error *err)
{
	int ret = snap_finish(w, err);

	if (ret)
		return ret;
	ret = sm_file_write_all(fd, w->buf.data, w->buf.len);
	if (ret)
		return sm_err(err, ret, "write the state file: %s",
			      strerror(-ret));
	if (fsync(fd) < 0)
		return sm_err_errno(err, "fsync the state file");
	return 0;
}

static int fill_state(int fd, void *w, struct sm_error *err)
{
	return snap_write_fd(w, fd, err);
}

int snap_write_file(struct snap_writer *w, const char *path,
		    struct sm_error *err)
{
	/* 0600: the file holds guest register state */
	return sm_atomic_write(path, 0600, fill_state, w, err);
}

/* ---- reader ---- */

void snap_file_free(struct snap_file *f)
{
	free(f->data);
	free(f->recs);
	memset(f, 0, sizeof(*f));
}

static int cmp_rec(const void *a, const void *b)
{
	const struct snap_record *x = *(const struct snap_record *const *)a;
	const struct snap_record *y = *(const struct snap_record *const *)b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	return 0;
}

/* (type, instance) must name one record: snap_find() could not choose. */
static int check_unique(const struct snap_file *f, struct sm_error *err)
{
	_cleanup_free_ const struct snap_record **v = NULL;

	if (f->count < 2)
		return 0;
	v = calloc(f->count, sizeof(*v));
	if (!v)
		return sm_err(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->count; i++)
		v[i] = &f->recs[i];
	qsort(v, f->count, sizeof(*v), cmp_rec);
	for (uint32_t i = 1; i < f->count; i++)
		if (!cmp_rec(&v[i - 1], &v[i]))
			return sm_err(err, -EINVAL,
				      "two records of type %u, instance %u",
				      v[i]->type, v[i]->instance);
	return 0;
}

static int check_header(const uint8_t *d, size_t len, struct sm_error *err)
{
	uint16_t major, minor;
	size_t m = len < SNAP_MAGIC_LEN ? len : SNAP_MAGIC_LEN;

	if (len > SNAP_MAX_SIZE)
		return sm_err(err, -EFBIG, "%zu bytes, over the %u MiB cap",
			      len, SNAP_MAX_SIZE >> 20);
	if (memcmp(d, SNAP_MAGIC, m))
		return sm_err(err, -EINVAL,
			      "not a supermachine snapshot state file (bad "
			      "magic)");
	if (len < SNAP_HEADER_LEN + CRC_LEN)
		return sm_err(err, -EINVAL,
			      "truncated: %zu bytes, the header and CRC alone "
			      "take %d",
			      len, SNAP_HEADER_LEN + CRC_LEN);
	major = rd16(d + 8);
	minor = rd16(d + 10);
	if (major != SNAP_MAJOR)
		return sm_err(err, -EPROTONOSUPPORT,
			      "format version %u.%u, this build reads only "
			      "version %u.x",
			      major, minor, SNAP_MAJOR);
	if (minor > SNAP_MINOR)
		return sm_err(err, -EPROTONOSUPPORT,
			      "format version %u.%u is newer than this "
			      "build's %u.%u",
			      major, minor, SNAP_MAJOR, SNAP_MINOR);
	return 0;
}

/* Walks the records of a file whose header checked out. */
static int parse_records(struct snap_file *f, struct sm_error *err)
{
	size_t end = f->len - CRC_LEN, off = SNAP_HEADER_LEN;

	if (f->count > (end - off) / SNAP_RECORD_HEADER_LEN)
		return sm_err(err, -EINVAL,
			      "%u records cannot fit in %zu bytes: truncated "
			      "or corrupt",
			      f->count, f->len);
	f->recs = calloc(f->count ? f->count : 1, sizeof(*f->recs));
	if (!f->recs)
		return sm_err(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->count; i++) {
		struct snap_record *r = &f->recs[i];

		if (end - off < SNAP_RECORD_HEADER_LEN)
			return sm_err(err, -EINVAL,
				      "record %u of %u: header runs past the "
				      "end of the file: truncated or corrupt",
				      i, f->count);
		r->type = rd32(f->data + off);
		r->instance = rd32(f->data + off + 4);
		r->len = rd64(f->data + off + 8);
		off += SNAP_RECORD_HEADER_LEN;
		if (r->len > end - off)
			return sm_err(
			    err, -EINVAL,
			    "record %u of %u (type %u, instance %u) "
			    "is %llu bytes, past the end of the file: "
			    "truncated or corrupt",
			    i, f->count, r->type, r->instance,
			    (unsigned long long)r->len);
		r->data = f->data + off;
		off += r->len;
	}
	if (off != end)
		return sm_err(err, -EINVAL,
			      "%zu bytes after the last of %u records: corrupt",
			      end - off, f->count);
	return 0;
}

/* Validates f->data/f->len (owned by f). */
static int parse_owned(struct snap_file *f, struct sm_error *err)
{
	uint32_t want, got;
	int ret = check_header(f->data, f->len, err);

	if (ret)
		return ret;
	f->major = rd16(f->data + 8);
	f->minor = rd16(f->data + 10);
	f->count = rd32(f->data + 12);
	ret = parse_records(f, err);
	if (ret)
		return ret;
	want = rd32(f->data + f->len - CRC_LEN);
	got = snap_crc32(0, f->data, f->len - CRC_LEN);
	if (want != got)
		return sm_err(err, -EBADMSG,
			      "bad CRC (stored %08x, computed %08x): corrupt",
			      want, got);
	return check_unique(f, err);
}

int snap_parse(struct snap_file *f, const void *data, size_t len,
	       struct sm_error *err)
{
	int ret;

	memset(f, 0, sizeof(*f));
	if (len > SNAP_MAX_SIZE)
		return check_header(data, len, err);
	f->data = malloc(len ? len : 1);
	if (!f->data)
		return sm_err(err, -ENOMEM, "out of memory");
	memcpy(f->data, data, len);
	f->len = len;
	ret = parse_owned(f, err);
	if (ret)
		snap_file_free(f);
	return ret;
}

static int read_capped(int fd, const char *path, struct snap_file *f,
		       struct sm_error *err)
{
	struct stat st;
	size_t cap;

	if (fstat(fd, &st) < 0)
		return sm_err_errno(err, "%s: stat", path);
	if (!S_ISREG(st.st_mode))
		return sm_err(err, -EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > SNAP_MAX_SIZE)
		return sm_err(
		    err, -EFBIG, "%s: %llu bytes, over the %u MiB cap", path,
		    (unsigned long long)st.st_size, SNAP_MAX_SIZE >> 20);
	/* One byte over the cap tells a file that grew since fstat. */
	cap = (size_t)st.st_size + 1;
	f->data = malloc(cap);
	if (!f->data)
		return sm_err(err, -ENOMEM, "out of memory");
	while (f->len < cap) {
		ssize_t n = read(fd, f->data + f->len, cap - f->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sm_err_errno(err, "read %s", path);
		if (n == 0)
			break;
		f->len += (size_t)n;
	}
	if (f->len != (size_t)st.st_size)
		return sm_err(err, -EIO, "%s changed while being read", path);
	return 0;
}

int snap_read_file(struct snap_file *f, const char *path, struct sm_error *err)
{
	_cleanup_close_ int fd = -1;
	int ret;

	memset(f, 0, sizeof(*f));
	/* O_NONBLOCK: a FIFO put in the file's place is refused by
	 * read_capped() instead of blocking this open until a writer comes
	 * (for a regular file it changes nothing). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return sm_err_errno(err, "open %s", path);
	ret = read_capped(fd, path, f, err);
	if (!ret) {
		ret = parse_owned(f, err);
		if (ret)
			sm_err_wrap(err, ret, "%s", path);
	}
	if (ret)
		snap_file_free(f);
	return ret;
}

const struct snap_record *snap_find(const struct snap_file *f, uint32_t type,
				    uint32_t instance)
{
	for (uint32_t i = 0; i < f->count; i++)
		if (f->recs[i].type == type && f->recs[i].instance == instance)
			return &f->recs[i];
	return NULL;
}
