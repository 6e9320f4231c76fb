/* Content store: atomic files, blobs by digest, lock files. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/ref.h"
#include "oci/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

char *store_path(struct sm_store *s, const char *fmt, ...)
{
	_cleanup_free_ char *rel = NULL;
	char *out;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&rel, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (asprintf(&out, "%s/%s", s->root, rel) < 0)
		return NULL;
	return out;
}

char *store_blob_path(struct sm_store *s, const char *digest)
{
	if (!oci_digest_valid(digest))
		return NULL;
	return store_path(s, "blobs/sha256/%s", digest + 7);
}

int store_blob_exists(struct sm_store *s, const char *digest)
{
	_cleanup_free_ char *p = store_blob_path(s, digest);

	return p && access(p, F_OK) == 0;
}

int store_lock(struct sm_store *s, const char *name, int exclusive,
	       struct sm_error *err)
{
	_cleanup_free_ char *p = store_path(s, "locks/%s.lock", name);
	int fd;

	if (!p)
		return sm_err(err, -ENOMEM, "out of memory");
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sm_err_errno(err, "open %s", p);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			int r = sm_err_errno(err, "lock %s", p);
			close(fd);
			return r;
		}
	}
	return fd;
}

void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

int store_write_file(const char *path, const void *data, size_t len,
		     struct sm_error *err)
{
	return sm_atomic_write_buf(path, 0644, data, len, err);
}

int store_read_file(const char *path, size_t max, char **out, size_t *len,
		    struct sm_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return sm_err_errno(err, "open %s", path);
	if (fstat(fd, &st) < 0)
		return sm_err_errno(err, "stat %s", path);
	if ((uint64_t)st.st_size > max)
		return sm_err(err, -EFBIG, "%s: too large (%lld bytes)", path,
			      (long long)st.st_size);
	buf = malloc(st.st_size + 1);
	if (!buf)
		return sm_err(err, -ENOMEM, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0
				   ? sm_err_errno(err, "read %s", path)
				   : sm_err(err, -EIO, "%s: short read", path);
		}
		got += n;
	}
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return 0;
}

static void hex_digest(EVP_MD_CTX *md, char *out)
{
	unsigned char h[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(md, h, &n);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", h[i]);
}

void digest_buffer(const void *p, size_t n, char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, p, n);
	hex_digest(md, out);
	EVP_MD_CTX_free(md);
}

int blob_writer_open(struct blob_writer *w, struct sm_store *s, uint64_t limit,
		     struct sm_error *err)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->limit = limit;
	w->tmp = store_path(s, "tmp/blob-XXXXXX");
	w->md = EVP_MD_CTX_new();
	if (!w->tmp || !w->md) {
		blob_writer_abort(w);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int r = sm_err_errno(err, "create %s", w->tmp);
		free(w->tmp);
		w->tmp = NULL;
		blob_writer_abort(w);
		return r;
	}
	EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
	return 0;
}

int blob_writer_write(struct blob_writer *w, const void *p, size_t n)
{
	if (w->written + n > w->limit)
		return -EFBIG;
	EVP_DigestUpdate(w->md, p, n);
	w->written += n;
	return sm_file_write_all(w->fd, p, n);
}

int blob_writer_reset(struct blob_writer *w)
{
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return -errno;
	EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
	w->written = 0;
	return 0;
}

int blob_writer_commit(struct blob_writer *w, const char *want_digest,
		       int64_t want_size, char *got_digest,
		       struct sm_error *err)
{
	char got[72];
	_cleanup_free_ char *dst = NULL;

	hex_digest(w->md, got);
	if (got_digest)
		strcpy(got_digest, got);
	if (want_size >= 0 && w->written != (uint64_t)want_size) {
		blob_writer_abort(w);
		return sm_err(
		    err, -EIO, "size mismatch (got %llu bytes, want %lld)",
		    (unsigned long long)w->written, (long long)want_size);
	}
	if (want_digest && strcmp(got, want_digest)) {
		blob_writer_abort(w);
		return sm_err(err, -EIO, "digest mismatch (got %s)", got);
	}
	dst = store_blob_path(w->s, got);
	if (!dst || fsync(w->fd) < 0 || rename(w->tmp, dst) < 0) {
		int r = dst ? sm_err_errno(err, "store blob %s", got)
			    : sm_err(err, -ENOMEM, "out of memory");
		blob_writer_abort(w);
		return r;
	}
	/* best effort: a rename lost in a crash only means a new fetch */
	sm_fsync_parent(dst);
	free(w->tmp);
	w->tmp = NULL;
	blob_writer_abort(w);
	return 0;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (w->tmp) {
		unlink(w->tmp);
		free(w->tmp);
		w->tmp = NULL;
	}
	if (w->fd > 0)
		close(w->fd);
	w->fd = -1;
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
}

int store_put_blob(struct sm_store *s, const void *p, size_t n,
		   char *digest_out, struct sm_error *err)
{
	struct blob_writer w;
	int r;

	digest_buffer(p, n, digest_out);
	if (store_blob_exists(s, digest_out))
		return 0;
	r = blob_writer_open(&w, s, n, err);
	if (r)
		return r;
	r = blob_writer_write(&w, p, n);
	if (r) {
		blob_writer_abort(&w);
		errno = -r;
		return sm_err_errno(err, "write blob");
	}
	return blob_writer_commit(&w, digest_out, n, NULL, err);
}

int store_refs_load(struct sm_store *s, json_t **refs, struct sm_error *err)
{
	_cleanup_free_ char *p = store_path(s, "refs.json");
	json_error_t je;

	if (!p)
		return sm_err(err, -ENOMEM, "out of memory");
	if (access(p, F_OK) < 0) {
		*refs = json_object();
		return 0;
	}
	*refs = json_load_file(p, 0, &je);
	if (!*refs || !json_is_object(*refs)) {
		json_decref(*refs);
		*refs = NULL;
		return sm_err(err, -EINVAL, "%s: corrupt: %s", p, je.text);
	}
	return 0;
}

int store_refs_save(struct sm_store *s, json_t *refs, struct sm_error *err)
{
	_cleanup_free_ char *p = store_path(s, "refs.json");
	_cleanup_free_ char *txt =
	    json_dumps(refs, JSON_INDENT(1) | JSON_SORT_KEYS);

	if (!p || !txt)
		return sm_err(err, -ENOMEM, "out of memory");
	return store_write_file(p, txt, strlen(txt), err);
}

int store_rmtree_at(int dfd, const char *name)
{
	struct stat st;
	int fd;
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Unpacked images may hold read-only directories. */
	fchmod(fd, 0700);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int rr = store_rmtree_at(dirfd(d), e->d_name);
		if (rr && !r)
			r = rr;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && !r)
		r = -errno;
	return r;
}

int store_rmtree(const char *path)
{
	return store_rmtree_at(AT_FDCWD, path);
}

/* flock(LOCK_EX | LOCK_NB) of ROOT/locks/NAME.lock: the fd, or -1 when
 * another process holds it (or it cannot be opened). */
static int try_lock(struct sm_store *s, const char *name)
{
	_cleanup_free_ char *p = store_path(s, "locks/%s.lock", name);
	int fd = p ? open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * A pull or load killed half-way (SIGKILL, OOM, power) leaves its
 * temporaries: tmp/blob-* (a partial download), tmp/img-* (a
 * half-unpacked image, often the size of the image), and a
 * refs.json.tmp.* from sm_atomic_write(). Nothing reads them, but nothing
 * removed them either, so each crash kept its disk space for good.
 *
 * Who may still own them, from the locks: every writer of tmp/ (oci_pull,
 * sm_image_load, and rmi's collection, which takes it exclusively) holds
 * the gc lock for as long as its temporaries exist, and refs.json is
 * written only under the refs lock. So when gc can be taken exclusively
 * at once, every entry in tmp/ belongs to a process that is gone; the
 * same for refs.json.tmp.* and the refs lock. A busy lock means someone
 * is at work: nothing is touched, a later command cleans. Best effort,
 * silent (a store we may only read stays as it is).
 */
void store_clean_stale(struct sm_store *s)
{
	_cleanup_free_ char *tdir = store_path(s, "tmp");
	struct dirent *e;
	int lk;
	DIR *d;

	if (!tdir)
		return;
	lk = try_lock(s, "gc");
	if (lk >= 0) {
		d = opendir(tdir);
		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				store_rmtree_at(dirfd(d), e->d_name);
		if (d)
			closedir(d);
		store_unlock(lk);
	}
	lk = try_lock(s, "refs");
	if (lk >= 0) {
		d = opendir(s->root);
		while (d && (e = readdir(d)))
			if (!strncmp(e->d_name, "refs.json.tmp.", 14))
				unlinkat(dirfd(d), e->d_name, 0);
		if (d)
			closedir(d);
		store_unlock(lk);
	}
}
