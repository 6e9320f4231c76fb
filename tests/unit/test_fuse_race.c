/*
 * Double-fetch races on request memory (issue 14). A second thread keeps
 * rewriting request bytes in (simulated) guest memory while the server
 * handles the request, as a guest's second vCPU can; each request sits in
 * one segment, the layout a real guest uses for small requests. Names flip
 * between a harmless name and one that leads out of the share; nothing
 * outside the share may ever be created, removed or renamed.
 *
 * SM_FUSE_RACE_N sets the requests per opcode (default RACE_N_DEFAULT,
 * sized for a loaded two-core CI machine; use 1000000 for a long run).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse_test.h"
#include "test.h"

#define RACE_N_DEFAULT 100000
#define RACE_HOLD_MAX 4096u
#define GOOD "harmless-name1"
#define GOOD2 "harmless-name2"
#define EVIL "../outside/pwn" /* as long as GOOD: the NUL never moves */

static struct tc t;    /* its msg is the racing guest memory */
static struct tc side; /* same server, a buffer the racer leaves alone */
static char base[64];
static int base_fd = -1, share_fd = -1, out_fd = -1;
static long race_n;

/* ---- the racing "vCPU" ---- */

static volatile uint8_t *race_at;
static uint8_t race_img[2][64];
static size_t race_len;
static int race_stop;
static pthread_t race_th;

static void *racer(void *arg)
{
	unsigned hold = 0;

	(void)arg;
	/*
	 * volatile stores: every flip reaches memory, none is elided. Each
	 * image is held for a varying while so that windows of any width
	 * between a check and a use see both images.
	 */
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		for (int img = 1; img >= 0; img--) {
			for (size_t i = 0; i < race_len; i++)
				race_at[i] = race_img[img][i];
			for (unsigned k = hold; k; k--)
				__asm__ volatile("" ::: "memory");
		}
		hold = hold >= RACE_HOLD_MAX ? 0 : hold * 2 + 1;
	}
	return NULL;
}

/* Flips len bytes at msg+off between good (image 0) and evil (image 1). */
static int race_start(size_t off, const void *good, const void *evil,
		      size_t len)
{
	race_at = t.msg + off;
	memcpy(race_img[0], good, len);
	memcpy(race_img[1], evil, len);
	race_len = len;
	race_stop = 0;
	return pthread_create(&race_th, NULL, racer, NULL);
}

static void race_end(void)
{
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(race_th, NULL);
}

/* ---- the host side: share/, outside/ and outside/pwn ---- */

static void rm_rf_at(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (fd >= 0 && !d)
		close(fd);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rm_rf_at(fd, e->d_name);
	if (d)
		closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) < 0)
		unlinkat(at, name, 0);
}

static void touch_at(int at, const char *name)
{
	int fd = openat(at, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
}

static int setup(int read_only)
{
	struct fuse_server_config cfg = {.read_only = read_only};
	char share[80];
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	memset(&side, 0, sizeof(side));
	snprintf(base, sizeof(base), "/tmp/fuse-race.XXXXXX");
	if (!mkdtemp(base))
		return -1;
	base_fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	mkdirat(base_fd, "share", 0755);
	mkdirat(base_fd, "outside", 0755);
	share_fd = openat(base_fd, "share", O_PATH | O_DIRECTORY | O_CLOEXEC);
	out_fd = openat(base_fd, "outside", O_PATH | O_DIRECTORY | O_CLOEXEC);
	touch_at(out_fd, "keep");
	touch_at(share_fd, "target");
	snprintf(share, sizeof(share), "%s/share", base);
	if (share_fd < 0 || out_fd < 0 ||
	    fuse_passthrough_new(share, read_only, &be, NULL) < 0)
		return -1;
	if (tc_open(&t, &fuse_passthrough_ops, be, &cfg) != 0)
		return -1;
	side = t;
	side.msg = calloc(1, MSG_MAX);
	side.out = calloc(1, MSG_MAX);
	return side.msg && side.out ? 0 : -1;
}

static void teardown(void)
{
	void *be = t.be;

	tc_close(&t);
	free(side.msg);
	free(side.out);
	if (be)
		fuse_passthrough_ops.destroy(be);
	memset(&t, 0, sizeof(t));
	memset(&side, 0, sizeof(side));
	if (share_fd >= 0)
		close(share_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (base_fd >= 0)
		close(base_fd);
	share_fd = out_fd = base_fd = -1;
	if (base[0])
		rm_rf_at(AT_FDCWD, base);
	base[0] = 0;
}

/* Counts and removes what appeared in at beside the names in keep. */
static long strays(int at, const char *const *keep)
{
	int fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	long n = 0;

	while (d && (e = readdir(d))) {
		const char *const *k = keep;

		while (*k && strcmp(*k, e->d_name))
			k++;
		if (!*k) {
			if (n < 3)
				printf("  stray: %s\n", e->d_name);
			rm_rf_at(at, e->d_name);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* Escapes that named something else than outside/pwn (torn names). */
static long torn_escapes(void)
{
	static const char *const in_base[] = {".", "..", "share", "outside",
					      NULL};
	static const char *const in_out[] = {".", "..", "keep", "pwn", NULL};
	struct stat st;
	long n = strays(base_fd, in_base) + strays(out_fd, in_out);

	if (fstatat(out_fd, "keep", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode)) {
		printf("  outside/keep is gone\n");
		touch_at(out_fd, "keep");
		n++;
	}
	return n;
}

/* ---- one case per opcode whose names the guest picks ---- */

struct rcase {
	const char *what;
	uint32_t opcode;
	union {
		struct fuse_create_in create;
		struct fuse_mkdir_in mkdir;
		struct fuse_mknod_in mknod;
		struct fuse_link_in link;
		struct fuse_rename_in rename;
		struct fuse_rename2_in rename2;
	} arg;
	size_t arg_len;
	const char *head; /* fixed name before the racing one, or NULL */
	const char *tail; /* fixed string after it, or NULL */
	mode_t victim;	  /* 0: outside/pwn must not appear; else must stay */
	int need_good;	  /* share/GOOD must exist (RENAME2's source) */
};

/* Only the header changes between requests: the racing bytes are the
 * racer's alone, as they would be a hostile guest's. */
static void next_unique(void)
{
	((struct fuse_in_header *)t.msg)->unique = ++t.unique;
}

/* Builds the request; returns the offset of the racing name. */
static size_t build(const struct rcase *c)
{
	size_t off;

	tc_begin(&t, c->opcode, 1);
	tc_add(&t, &c->arg, c->arg_len);
	if (c->head)
		tc_str(&t, c->head);
	off = t.len;
	tc_str(&t, GOOD);
	if (c->tail)
		tc_str(&t, c->tail);
	((struct fuse_in_header *)t.msg)->len = (uint32_t)t.len;
	return off;
}

static void make_victim(mode_t type)
{
	if (type == S_IFDIR)
		mkdirat(out_fd, "pwn", 0755);
	else
		touch_at(out_fd, "pwn");
}

/* 1 when outside/pwn changed (and puts it back as it was), else 0. */
static int pwn_changed(const struct rcase *c)
{
	struct stat st;
	int there = fstatat(out_fd, "pwn", &st, AT_SYMLINK_NOFOLLOW) == 0;

	if (c->victim ? there && (st.st_mode & S_IFMT) == c->victim : !there)
		return 0;
	rm_rf_at(out_fd, "pwn");
	if (c->victim)
		make_victim(c->victim);
	return 1;
}

/* Drops what a successful reply handed out (entry, file handle). */
static void drop_reply(const struct rcase *c)
{
	const struct fuse_entry_out *e = (const void *)t.rep;
	const struct fuse_open_out *o = (const void *)(t.rep + sizeof(*e));
	uint64_t node;

	if (t.error || t.rep_len < sizeof(*e))
		return;
	node = e->nodeid;
	if (c->opcode == FUSE_CREATE && t.rep_len >= sizeof(*e) + sizeof(*o))
		fs_release(&side, node, o->fh, 0);
	fs_forget(&side, node, 1);
}

static long race_case(const struct rcase *c)
{
	long esc = 0, refused = 0;
	size_t off;

	if (c->victim)
		make_victim(c->victim);
	off = build(c);
	if (race_start(off, GOOD, EVIL, sizeof(GOOD)) != 0)
		return -1;
	for (long i = 0; i < race_n; i++) {
		if (c->need_good)
			touch_at(share_fd, GOOD);
		next_unique();
		tc_send_raw(&t, 1);
		refused += t.error == -EINVAL; /* the server saw a bad name */
		drop_reply(c);
		esc += pwn_changed(c);
	}
	race_end();
	esc += torn_escapes();
	rm_rf_at(out_fd, "pwn");
	/* no refusal at all: the racer never ran beside the server */
	printf("  race %s: %ld requests, %ld escapes, %ld refused%s\n", c->what,
	       race_n, esc, refused, refused ? "" : " (NOTE: no race seen)");
	return esc;
}

TEST(race_names)
{
	struct rcase cases[] = {
	    {"CREATE", FUSE_CREATE,
	     .arg.create = {.flags = O_RDWR, .mode = 0644},
	     .arg_len = sizeof(struct fuse_create_in)},
	    {"MKDIR", FUSE_MKDIR, .arg.mkdir = {.mode = 0755},
	     .arg_len = sizeof(struct fuse_mkdir_in)},
	    {"MKNOD", FUSE_MKNOD, .arg.mknod = {.mode = S_IFIFO | 0644},
	     .arg_len = sizeof(struct fuse_mknod_in)},
	    {"SYMLINK", FUSE_SYMLINK, .tail = "target"},
	    {"LINK", FUSE_LINK, .arg_len = sizeof(struct fuse_link_in)},
	    /* pulls outside/pwn in as share/GOOD2 */
	    {"RENAME", FUSE_RENAME, .arg.rename = {.newdir = 1},
	     .arg_len = sizeof(struct fuse_rename_in), .tail = GOOD2,
	     .victim = S_IFREG},
	    /* pushes share/GOOD out as outside/pwn */
	    {"RENAME2", FUSE_RENAME2, .arg.rename2 = {.newdir = 1},
	     .arg_len = sizeof(struct fuse_rename2_in), .head = GOOD,
	     .need_good = 1},
	    {"UNLINK", FUSE_UNLINK, .victim = S_IFREG},
	    {"RMDIR", FUSE_RMDIR, .victim = S_IFDIR},
	};
	long total = 0;

	if (setup(0) != 0) {
		CHECK(!"setup");
		teardown();
		return;
	}
	cases[4].arg.link.oldnodeid = fs_nodeid(&t, 1, "target");
	CHECK(cases[4].arg.link.oldnodeid != 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long e = race_case(&cases[i]);

		CHECK(e >= 0);
		total += e;
	}
	CHECK_EQ(total, 0);
	teardown();
}

/* SETXATTR: the size is checked against the body, then used; a size that
 * grows in between would make the host read past the request. */
TEST(race_setxattr_size)
{
	struct fuse_setxattr_in in = {.size = 4};
	uint32_t big = 4000;
	char val[8], path[96];
	long bad = 0;
	size_t off;

	if (setup(0) != 0) {
		CHECK(!"setup");
		teardown();
		return;
	}
	snprintf(path, sizeof(path), "%s/share/target", base);
	tc_begin(&t, FUSE_SETXATTR, fs_nodeid(&t, 1, "target"));
	off = t.len + offsetof(struct fuse_setxattr_in, size);
	tc_add(&t, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	tc_str(&t, "user.race");
	tc_add(&t, "abcd", 4);
	((struct fuse_in_header *)t.msg)->len = (uint32_t)t.len;
	memset(t.msg + t.len, 'X', big); /* what lies beyond the request */
	CHECK_EQ(race_start(off, &in.size, &big, sizeof(big)), 0);
	for (long i = 0; i < race_n; i++) {
		next_unique();
		tc_send_raw(&t, 1);
		if (t.error == -EOPNOTSUPP)
			break; /* no user xattrs here: nothing to learn */
		if (lgetxattr(path, "user.race", val, sizeof(val)) < 0 &&
		    errno == ERANGE)
			bad++;
	}
	race_end();
	printf("  race SETXATTR: %ld requests, %ld over-long values\n", race_n,
	       bad);
	CHECK_EQ(bad, 0);
	teardown();
}

/* OPEN on a read-only share: flags flip to O_RDWR|O_TRUNC. */
TEST(race_open_read_only)
{
	struct fuse_open_in good = {.flags = O_RDONLY};
	struct fuse_open_in evil = {.flags = O_RDWR | O_TRUNC};
	uint64_t node;
	long bad = 0;
	size_t off;
	struct stat st;
	int fd;

	if (setup(1) != 0) {
		CHECK(!"setup");
		teardown();
		return;
	}
	fd = openat(base_fd, "share/target", O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "data", 4) == 4);
	close(fd);
	node = fs_nodeid(&t, 1, "target");
	tc_begin(&t, FUSE_OPEN, node);
	off = t.len;
	tc_add(&t, &good, sizeof(good));
	((struct fuse_in_header *)t.msg)->len = (uint32_t)t.len;
	CHECK_EQ(race_start(off, &good, &evil, sizeof(good)), 0);
	for (long i = 0; i < race_n; i++) {
		next_unique();
		tc_send_raw(&t, 1);
		if (t.error == 0 && t.rep_len >= sizeof(struct fuse_open_out))
			fs_release(&side, node,
				   ((const struct fuse_open_out *)t.rep)->fh,
				   0);
		if (fstatat(share_fd, "target", &st, 0) < 0 ||
		    st.st_size != 4) {
			bad++; /* truncated: put the data back */
			fd = openat(base_fd, "share/target", O_WRONLY);
			if (fd >= 0 && write(fd, "data", 4) < 0)
				fd = -1;
			close(fd);
		}
	}
	race_end();
	printf("  race OPEN (read-only): %ld requests, %ld escapes\n", race_n,
	       bad);
	CHECK_EQ(bad, 0);
	teardown();
}

int main(void)
{
	const char *n = getenv("SM_FUSE_RACE_N");

	race_n = n && *n ? strtol(n, NULL, 10) : RACE_N_DEFAULT;
	if (race_n <= 0)
		race_n = RACE_N_DEFAULT;
	RUN(race_names);
	RUN(race_setxattr_size);
	RUN(race_open_read_only);
	return test_summary();
}
