/*
 * A container's log (logs.h, docs/containers.md "Logs"): the VM's process
 * appends a record per piece of output, dropping the oldest half of the
 * file when a record would take it past its cap; `logs` reads the records
 * back, trusting none of them.
 *
 * The writer takes an exclusive flock(2) only while it moves records to
 * the front; a reader takes a shared one while it copies bytes out. The
 * header's base (bytes dropped so far) lets a following reader find its
 * place again after a move.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/logs.h"
#include "util/error.h"
#include "util/fs.h"
#include "proto/proto.h"
#include "util/opts.h"

#define COPY_BUF (64 * 1024) /* >= CTR_LOG_REC_HDR + CTR_LOG_REC_MAX */
#define READ_BUF (256 * 1024)

struct ctr_log_writer {
	int fd;
	uint64_t cap, size, base;
	uint8_t *buf; /* COPY_BUF: a record, or bytes being moved */
};

static int write_at(int fd, const void *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p = (const uint8_t *)p + w, n -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
}

/* Reads up to n bytes at off: how many (fewer at the end), or -errno. */
static ssize_t read_at(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r =
		    pread(fd, (uint8_t *)p + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * A log a run before this one wrote: its base, and its end after its
 * last whole record (what follows, a record cut short by a crash, is
 * cut off). False, to start afresh, when it is none or empty.
 */
static bool go_on(struct ctr_log_writer *w)
{
	uint8_t hdr[CTR_LOG_REC_HDR];
	struct stat st;
	uint64_t off = CTR_LOG_HDR;

	if (fstat(w->fd, &st) || st.st_size <= CTR_LOG_HDR ||
	    read_at(w->fd, hdr, CTR_LOG_HDR, 0) != CTR_LOG_HDR ||
	    ctr_log_hdr_parse(hdr, CTR_LOG_HDR, &w->base))
		return false;
	for (;;) {
		ssize_t n = read_at(w->fd, hdr, sizeof(hdr), off);

		if (n != CTR_LOG_REC_HDR || (n = ctr_log_rec_size(hdr)) < 0 ||
		    off + (uint64_t)n > (uint64_t)st.st_size)
			break;
		off += (uint64_t)n;
	}
	if (ftruncate(w->fd, (off_t)off))
		return false;
	w->size = off;
	return true;
}

int ctr_log_open_fd(int fd, uint64_t cap, struct ctr_log_writer **out,
		    struct sm_error *err)
{
	struct ctr_log_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[CTR_LOG_HDR];
	int ret = 0;

	if (!w || !(w->buf = malloc(COPY_BUF))) {
		ret = sm_err(err, -ENOMEM, "container log: out of memory");
		goto fail;
	}
	w->fd = fd;
	w->cap = cap ? cap : CTR_LOG_DEFAULT_CAP;
	w->cap = w->cap < CTR_LOG_MIN_CAP ? CTR_LOG_MIN_CAP : w->cap;
	/* one writer at a time: the run of the record's VM (life.lock);
	 * a run after a start goes on after the last one's records */
	if (go_on(w))
		return *out = w, 0;
	ctr_log_hdr_put(hdr, 0);
	if (ftruncate(fd, 0) || (ret = write_at(fd, hdr, CTR_LOG_HDR, 0))) {
		ret = sm_err(err, ret ? ret : -errno,
			     "container log: cannot write its header");
		goto fail;
	}
	w->size = CTR_LOG_HDR;
	*out = w;
	return 0;
fail:
	if (w)
		free(w->buf);
	free(w);
	close(fd);
	return ret;
}

int ctr_log_open(struct ctr *c, uint64_t cap, struct ctr_log_writer **out,
		 struct sm_error *err)
{
	char path[PATH_MAX];
	int fd;

	if (ctr_path(c, CTR_LOG_FILE, path, sizeof(path)))
		return sm_err(err, -ENAMETOOLONG,
			      "container log: path too long");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sm_err_errno(err, "open %s", path);
	return ctr_log_open_fd(fd, cap, out, err);
}

void ctr_log_close(struct ctr_log_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w->buf);
	free(w);
}

int ctr_log_fd(const struct ctr_log_writer *w)
{
	return w ? w->fd : -1;
}

/* The first record boundary from which at most keep bytes follow; the
 * end when the records do not parse (nothing kept). */
static uint64_t cut_point(struct ctr_log_writer *w, uint64_t keep)
{
	uint64_t off = CTR_LOG_HDR;

	while (off < w->size && w->size - off > keep) {
		uint8_t hdr[CTR_LOG_REC_HDR];
		ssize_t n = read_at(w->fd, hdr, sizeof(hdr), off);

		if (n != CTR_LOG_REC_HDR || (n = ctr_log_rec_size(hdr)) < 0)
			return w->size;
		off += (uint64_t)n;
	}
	return off < w->size ? off : w->size;
}

/* Drops the oldest records until at most half the cap is left. */
static int compact(struct ctr_log_writer *w)
{
	uint64_t cut = cut_point(w, (w->cap - CTR_LOG_HDR) / 2);
	uint64_t from = cut, to = CTR_LOG_HDR;
	uint8_t hdr[CTR_LOG_HDR];
	int ret = 0;

	while (flock(w->fd, LOCK_EX) && errno == EINTR)
		;
	while (!ret && from < w->size) {
		size_t n = w->size - from < COPY_BUF ? (size_t)(w->size - from)
						     : COPY_BUF;
		ssize_t r = read_at(w->fd, w->buf, n, from);

		ret = r == (ssize_t)n ? write_at(w->fd, w->buf, n, to) : -EIO;
		from += n, to += n;
	}
	/* a kept record's place in everything written stays the same; when
	 * the move failed the file is no log now: all of it dropped */
	w->base += (ret ? w->size : cut) - CTR_LOG_HDR;
	if (ret)
		to = CTR_LOG_HDR;
	ctr_log_hdr_put(hdr, w->base);
	if (ftruncate(w->fd, (off_t)to) || write_at(w->fd, hdr, CTR_LOG_HDR, 0))
		ret = ret ? ret : -errno;
	w->size = to;
	flock(w->fd, LOCK_UN);
	return ret;
}

/* One record: the whole of it, or (ftruncate) nothing. */
static int append_record(struct ctr_log_writer *w, int stream, int64_t ns,
			 const uint8_t *data, size_t len)
{
	size_t n = CTR_LOG_REC_HDR + len;
	int ret;

	if (w->size + n > w->cap && (ret = compact(w)))
		return ret;
	ctr_log_rec_put(w->buf, stream, ns, (uint32_t)len);
	memcpy(w->buf + CTR_LOG_REC_HDR, data, len);
	if ((ret = write_at(w->fd, w->buf, n, w->size))) {
		if (ftruncate(w->fd, (off_t)w->size)) {
			/* the reader stops at what is no record */
		}
		return ret;
	}
	w->size += n;
	return 0;
}

int ctr_log_append(struct ctr_log_writer *w, int stream, int64_t ns,
		   const void *data, size_t len)
{
	const uint8_t *p = data;
	int ret = 0;

	if (stream != 1 && stream != 2)
		return -EINVAL;
	/* a record per line, long lines in pieces, as docker's entries */
	while (!ret && len) {
		size_t n = len < CTR_LOG_REC_MAX ? len : CTR_LOG_REC_MAX;
		const uint8_t *nl = memchr(p, '\n', n);

		n = nl ? (size_t)(nl - p) + 1 : n;
		ret = append_record(w, stream, ns, p, n);
		p += n, len -= n;
	}
	return ret;
}

void ctr_log_sink(void *opaque, int stream, const uint8_t *data, size_t len)
{
	/* a log that cannot be written loses output, never the VM */
	ctr_log_append(opaque, stream, ctr_wall_ns(), data, len);
}

/* ---- reading ---- */

/* Copies out, under the shared lock, the bytes from *pos on: *got of
 * them into buf, *at their place in everything written. */
static int read_chunk(int fd, uint64_t pos, uint8_t *buf, size_t *got,
		      uint64_t *at, struct sm_error *err)
{
	uint8_t hdr[CTR_LOG_HDR];
	uint64_t base, off;
	ssize_t n;
	int ret = 0;

	while (flock(fd, LOCK_SH) && errno == EINTR)
		;
	n = read_at(fd, hdr, sizeof(hdr), 0);
	if (n < 0 || ctr_log_hdr_parse(hdr, (size_t)n, &base))
		ret = n < 0 ? (int)n : -EBADMSG;
	if (!ret) {
		/* dropped under the reader: go on from the oldest kept */
		n = ctr_log_place(pos, base, at, &off);
		if (!n)
			n = read_at(fd, buf, READ_BUF, off);
		ret = n < 0 ? (int)n : 0;
		*got = n < 0 ? 0 : (size_t)n;
	}
	flock(fd, LOCK_UN);
	if (ret)
		return sm_err(err, ret == -EBADMSG ? -EBADMSG : ret,
			      "the container's log is damaged (no header)");
	return 0;
}

int ctr_log_read(int fd, uint64_t *pos, struct ctr_log_reader *rd,
		 struct sm_error *err)
{
	uint8_t *buf = malloc(READ_BUF);
	int ret = buf ? 0 : sm_err(err, -ENOMEM, "logs: out of memory");

	while (!ret) {
		size_t got = 0, taken = 0;
		uint64_t at = *pos;

		if ((ret = read_chunk(fd, *pos, buf, &got, &at, err)))
			break;
		ret = ctr_log_feed(rd, buf, got, &taken);
		*pos = at + taken;
		if (ret == -EBADMSG)
			ret = sm_err(err, ret,
				     "the container's log is damaged at byte "
				     "%llu",
				     (unsigned long long)*pos);
		else if (ret)
			ret = sm_err(err, ret, "logs: %s", strerror(-ret));
		if (got < READ_BUF || !taken)
			break; /* all there is, or only part of a record */
	}
	free(buf);
	return ret;
}

/* ---- the API (supermachine.h) ---- */

static int open_log(struct sm_container *k, struct sm_error *err)
{
	char path[PATH_MAX];
	int ret = k && k->recorded
		      ? ctr_load(&k->rec, err)
		      : sm_err(err, -ENOENT, "the container has no record");
	int fd;

	if (ret)
		return ret;
	if (ctr_path(&k->rec, CTR_LOG_FILE, path, sizeof(path)))
		return sm_err(err, -ENAMETOOLONG, "logs: path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return sm_err(err, -ENOENT, "%s has no logs (it never ran)",
			      k->rec.name);
	return fd < 0 ? sm_err_errno(err, "open %s", path) : fd;
}

struct out_fds {
	int fd[3];
};

static int emit_fd(void *opaque, int stream, const void *data, size_t len)
{
	struct out_fds *o = opaque;

	return sm_write_all(o->fd[stream], data, len) ? -errno : 0;
}

SM_API void sm_logs_options_init(struct sm_logs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdout_fd = 1;
	o->stderr_fd = 2;
	o->tail = -1;
}

/* Whether the container may still write (a follow goes on). */
static bool still_running(struct sm_container *k)
{
	return ctr_load(&k->rec, NULL) == 0 && ctr_running(&k->rec);
}

static int write_logs(struct sm_container *k, int fd,
		      const struct sm_logs_options *o, struct sm_error *err)
{
	struct out_fds out = {{-1, o->stdout_fd, o->stderr_fd}};
	struct ctr_log_reader rd = {.timestamps = o->timestamps != 0,
				    .since_ns = o->since_ns,
				    .until_ns = o->until_ns,
				    .emit = emit_fd,
				    .opaque = &out};
	uint64_t pos = 0;
	int ret = 0;

	if (o->tail >= 0) { /* docker's --tail: count the lines first */
		struct ctr_log_reader count = {.since_ns = o->since_ns,
					       .until_ns = o->until_ns};

		ret = ctr_log_read(fd, &pos, &count, err);
		rd.skip = count.lines > (uint64_t)o->tail
			      ? count.lines - (uint64_t)o->tail
			      : 0;
		pos = 0;
	}
	while (!ret) {
		bool ran = o->follow && still_running(k);

		ret = ctr_log_read(fd, &pos, &rd, err);
		if (!ran) /* ended: what it wrote before is all there */
			break;
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	return ret;
}

SM_API int sm_container_logs_write(struct sm_container *k,
				   const struct sm_logs_options *o,
				   struct sm_error *err)
{
	struct sm_logs_options l;
	int fd, ret;

	sm_logs_options_init(&l);
	ret = sm_opts_take(&l, sizeof(l), o, "sm_logs_options", err);
	if (ret)
		return ret;
	if (l.stdout_fd < 0 || l.stderr_fd < 0)
		return sm_err(err, -EINVAL, "logs: no stdout_fd or stderr_fd");
	if ((fd = open_log(k, err)) < 0)
		return fd;
	ret = write_logs(k, fd, &l, err);
	close(fd);
	return ret;
}

/* The older call: each stream's bytes as they are now, in memfds. */
SM_API int sm_container_logs(struct sm_container *k, int *stdout_fd,
			     int *stderr_fd, struct sm_error *err)
{
	struct sm_logs_options l;
	int fd, ret = 0;

	if (!stdout_fd || !stderr_fd)
		return sm_err(err, -EINVAL, "logs: no place for the fds");
	*stdout_fd = *stderr_fd = -1;
	if ((fd = open_log(k, err)) < 0)
		return fd;
	sm_logs_options_init(&l);
	l.stdout_fd = memfd_create("sm-logs-stdout", MFD_CLOEXEC);
	l.stderr_fd = memfd_create("sm-logs-stderr", MFD_CLOEXEC);
	if (l.stdout_fd < 0 || l.stderr_fd < 0)
		ret = sm_err_errno(err, "logs: memfd_create");
	if (!ret)
		ret = write_logs(k, fd, &l, err);
	close(fd);
	if (!ret && (lseek(l.stdout_fd, 0, SEEK_SET) ||
		     lseek(l.stderr_fd, 0, SEEK_SET)))
		ret = sm_err_errno(err, "logs: lseek");
	if (ret) {
		if (l.stdout_fd >= 0)
			close(l.stdout_fd);
		if (l.stderr_fd >= 0)
			close(l.stderr_fd);
		return ret;
	}
	*stdout_fd = l.stdout_fd;
	*stderr_fd = l.stderr_fd;
	return 0;
}
