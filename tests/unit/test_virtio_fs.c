/*
 * virtio-fs share confinement (issue 14): each share is served by its own
 * worker thread whose root and cwd are the share, so even a backend bug
 * that resolved "..", an absolute path or a symlink would stay inside.
 * The probes run the same calls on the test's own thread first (the
 * control: they do reach outside, so a check that they do not can fail)
 * and then on the worker. Requests go through the device path: a fake
 * guest memory, a request queue, QueueNotify; then the worker answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "test.h"
#include "virtio/device.h"
#include "virtio/fs.h"

extern const struct virtio_dev_ops virtio_fs_ops;

#define RAM (16ULL << 20)
#define QSIZE 128
#define REQQ 1 /* queue 0 is hiprio */
#define DESC 0x10000ULL
#define AVAIL (DESC + 0x800)
#define USED (DESC + 0x1000)
#define SLOTS (QSIZE / 2) /* a request and its reply: two descriptors */
#define SLOT(i) (0x100000ULL + (uint64_t)(i)*0x1000ULL)
#define OUT_OFF 0x800
#define OUT_LEN 0x800

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct guest_mem gm;
static struct virtio_dev dev;
static uint16_t posted; /* avail idx the test has published */
static char base[64], share[96], outside_file[96], outside_marker[96];
static uint64_t unique;

static void make_dirs(void)
{
	char p[160];
	int fd;

	snprintf(base, sizeof(base), "/tmp/sm-fsjail.XXXXXX");
	if (!mkdtemp(base))
		abort();
	snprintf(p, sizeof(p), "%s/share", base);
	snprintf(share, sizeof(share), "%s/share/inner", base);
	snprintf(outside_file, sizeof(outside_file), "%s/secret", base);
	snprintf(outside_marker, sizeof(outside_marker), "%s/outside-marker",
		 base);
	if (mkdir(p, 0755) || mkdir(share, 0755))
		abort();
	fd = open(outside_file, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "secret", 6) != 6)
		abort();
	close(fd);
	/* an absolute symlink inside the share that names the outside file */
	snprintf(p, sizeof(p), "%s/abs-link", share);
	if (symlink(outside_file, p))
		abort();
	snprintf(p, sizeof(p), "%s/file", share);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "inside", 6) != 6)
		abort();
	close(fd);
	/* user xattrs need a file system that has them; none: no check */
	if (setxattr(p, "user.sm", "xv", 2, 0))
		fprintf(stderr, "# no user xattrs in /tmp: %s\n",
			strerror(errno));
}

static void setup_dev(int serve_inline)
{
	const uint64_t layout[1][2] = {{0, RAM}};
	struct virtio_fs_config cfg = {
	    .tag = "t", .dir = share, .serve_inline = serve_inline};
	uint16_t no_irq = VIRTQ_AVAIL_F_NO_INTERRUPT;

	if (dev.priv)
		virtio_fs_ops.destroy(&dev);
	gm_destroy(&gm);
	if (gm_create(&gm, layout, 1, NULL))
		abort();
	memset(&dev, 0, sizeof(dev));
	pthread_mutex_init(&dev.lock, NULL);
	pthread_cond_init(&dev.thawed, NULL);
	dev.ops = &virtio_fs_ops;
	dev.mem = &gm;
	posted = 0;
	dev.queues[REQQ].size = QSIZE;
	dev.queues[REQQ].desc_gpa = DESC;
	dev.queues[REQQ].avail_gpa = AVAIL;
	dev.queues[REQQ].used_gpa = USED;
	if (virtq_activate(&dev.queues[REQQ], &gm))
		abort();
	gm_write(&gm, AVAIL, &no_irq, 2);
	if (virtio_fs_ops.init(&dev, &cfg, NULL))
		abort();
	pthread_mutex_lock(&dev.lock);
	dev.status = VIRTIO_STATUS_DRIVER_OK;
	pthread_mutex_unlock(&dev.lock);
}

/* Puts one request in slot `slot` (not yet notified). */
static void post_req(unsigned slot, uint32_t op, uint64_t nodeid,
		     const void *body, uint32_t blen)
{
	struct fuse_in_header h = {.len = (uint32_t)sizeof(h) + blen,
				   .opcode = op,
				   .unique = ++unique,
				   .nodeid = nodeid,
				   .pid = 1};
	struct desc d[2] = {
	    {SLOT(slot), h.len, VIRTQ_DESC_F_NEXT, (uint16_t)(2 * slot + 1)},
	    {SLOT(slot) + OUT_OFF, OUT_LEN, VIRTQ_DESC_F_WRITE, 0}};
	uint16_t *avail = gm_ptr(&gm, AVAIL, 4 + 2 * QSIZE);

	gm_write(&gm, SLOT(slot), &h, sizeof(h));
	gm_write(&gm, SLOT(slot) + sizeof(h), body, blen);
	gm_write(&gm, DESC + 16 * 2 * slot, d, sizeof(d));
	avail[2 + posted % QSIZE] = (uint16_t)(2 * slot);
	__atomic_store_n(&avail[1], ++posted, __ATOMIC_RELEASE);
}

/* What a vCPU's QueueNotify write does: the device op under the lock. */
static void notify(void)
{
	pthread_mutex_lock(&dev.lock);
	virtio_fs_ops.notify(&dev, REQQ);
	pthread_mutex_unlock(&dev.lock);
}

static uint16_t used_idx(void)
{
	return __atomic_load_n((uint16_t *)gm_ptr(&gm, USED, 4) + 1,
			       __ATOMIC_ACQUIRE);
}

/* Spins (the latency is what the benchmark measures) up to 5 s. */
static bool wait_used(uint16_t want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((int16_t)(used_idx() - want) < 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			return false;
		sched_yield();
	}
	return true;
}

/* The reply in `slot`: its error (1: none written) and payload. */
static int reply(unsigned slot, void *payload, size_t len)
{
	struct fuse_out_header oh = {.error = 1};

	gm_read(&gm, SLOT(slot) + OUT_OFF, &oh, sizeof(oh));
	if (payload)
		gm_read(&gm, SLOT(slot) + OUT_OFF + sizeof(oh), payload, len);
	return oh.error;
}

/* One request through the device, waited for; the reply's error. */
static int roundtrip(uint32_t op, uint64_t nodeid, const void *body,
		     uint32_t blen, void *payload, size_t len)
{
	gm_write(&gm, SLOT(0) + OUT_OFF, &(struct fuse_out_header){.error = 1},
		 sizeof(struct fuse_out_header));
	post_req(0, op, nodeid, body, blen);
	notify();
	if (!wait_used(posted))
		return 1;
	return reply(0, payload, len);
}

static int fuse_init(void)
{
	struct fuse_init_in in = {
	    .major = 7, .minor = 36, .max_readahead = 65536};

	return roundtrip(FUSE_INIT, 0, &in, sizeof(in), NULL, 0);
}

/* ---- the escape probes: run on the test's thread, then the worker ---- */

struct probe {
	int root_fd; /* the share root, O_PATH, opened by the prober */
	int mkdir_rc, open_rc, link_rc;
	char link_read[8];
};

static int run_probe(void *arg)
{
	struct probe *p = arg;
	int fd;
	ssize_t n;

	/* the worker's descriptor table is its own: it opens the share
	 * root itself (its cwd) rather than use one of the test's fds */
	p->root_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	/* "..", twice, from the share's root fd */
	p->mkdir_rc = mkdirat(p->root_fd, "../../outside-marker", 0755);
	/* an absolute path */
	fd = open(outside_file, O_RDONLY | O_CLOEXEC);
	p->open_rc = fd;
	if (fd >= 0)
		close(fd);
	/* an absolute symlink inside the share, followed */
	memset(p->link_read, 0, sizeof(p->link_read));
	fd = openat(p->root_fd, "abs-link", O_RDONLY | O_CLOEXEC);
	p->link_rc = fd;
	if (fd >= 0) {
		n = read(fd, p->link_read, sizeof(p->link_read) - 1);
		if (n < 0)
			p->link_read[0] = '\0';
		close(fd);
	}
	return 0;
}

static int close_probe_root(void *arg)
{
	struct probe *p = arg;

	if (p->root_fd >= 0)
		close(p->root_fd);
	return 0;
}

/* On the test's thread the cwd is moved to the share for the probe. */
static struct probe probe_on(bool worker)
{
	struct probe p = {.root_fd = -1};
	char inside[128], cwd[512];

	rmdir(outside_marker);
	snprintf(inside, sizeof(inside), "%s/outside-marker", share);
	rmdir(inside);
	if (worker) {
		virtio_fs_run_on_worker(&dev, run_probe, &p);
		virtio_fs_run_on_worker(&dev, close_probe_root, &p);
	} else if (getcwd(cwd, sizeof(cwd)) && chdir(share) == 0) {
		run_probe(&p);
		close_probe_root(&p);
		if (chdir(cwd))
			abort();
	}
	return p;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool have_chroot(void)
{
	return virtio_fs_confined(&dev) == 1;
}

TEST(worker_dotdot_stays_in_share)
{
	struct probe p;
	char inside[128];

	setup_dev(0);
	if (!have_chroot())
		SKIP_TEST("no CAP_SYS_CHROOT: the worker is not chrooted");
	p = probe_on(false);
	CHECK_EQ(p.mkdir_rc, 0);
	CHECK(exists(outside_marker)); /* control: it does reach out */
	p = probe_on(true);
	CHECK(!exists(outside_marker));
	/* ".." at the root is the root: the name lands inside the share */
	snprintf(inside, sizeof(inside), "%s/outside-marker", share);
	CHECK(p.mkdir_rc < 0 || exists(inside));
	rmdir(inside);
}

TEST(worker_absolute_path_stays_in_share)
{
	struct probe p;

	setup_dev(0);
	if (!have_chroot())
		SKIP_TEST("no CAP_SYS_CHROOT: the worker is not chrooted");
	p = probe_on(false);
	CHECK(p.open_rc >= 0); /* control */
	p = probe_on(true);
	CHECK(p.open_rc < 0);
}

TEST(worker_absolute_symlink_stays_in_share)
{
	struct probe p;

	setup_dev(0);
	if (!have_chroot())
		SKIP_TEST("no CAP_SYS_CHROOT: the worker is not chrooted");
	p = probe_on(false);
	CHECK_STR(p.link_read, "secret"); /* control */
	p = probe_on(true);
	CHECK(p.link_rc < 0);
	CHECK(strcmp(p.link_read, "secret") != 0);
}

/* LOOKUP, READ-less GETATTR and GETXATTR (the /proc/self/fd step) work
 * through the device path on the confined worker. */
static void check_requests_served(void)
{
	struct fuse_entry_out e;
	struct fuse_getxattr_in gx = {.size = 16};
	char body[sizeof(gx) + 8], val[sizeof(struct fuse_getxattr_out) + 16];
	int err;

	CHECK_EQ(fuse_init(), 0);
	CHECK_EQ(roundtrip(FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5, &e, sizeof(e)),
		 0);
	CHECK_EQ(e.attr.size, 6);
	memcpy(body, &gx, sizeof(gx));
	memcpy(body + sizeof(gx), "user.sm", 8);
	memset(val, 0, sizeof(val));
	err = roundtrip(FUSE_GETXATTR, e.nodeid, body, sizeof(body), val,
			sizeof(val));
	if (err != -EOPNOTSUPP && err != -ENOTSUP) { /* no user xattrs */
		CHECK_EQ(err, 0);
		CHECK(memcmp(val, "xv", 2) == 0);
	}
	/* the absolute symlink is returned as itself, not followed */
	CHECK_EQ(
	    roundtrip(FUSE_LOOKUP, FUSE_ROOT_ID, "abs-link", 9, &e, sizeof(e)),
	    0);
	CHECK(S_ISLNK(e.attr.mode));
}

TEST(worker_serves_requests)
{
	setup_dev(0);
	CHECK(virtio_fs_confined(&dev) >= 0);
	check_requests_served();
}

/* Rootless: a thread without CAP_SYS_CHROOT makes the device; its worker
 * inherits that, falls back to names only, and still serves. */
static int drop_chroot_cap(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~(1u << CAP_SYS_CHROOT);
	d[0].permitted &= ~(1u << CAP_SYS_CHROOT);
	return (int)syscall(SYS_capset, &h, d); /* this thread only */
}

static void *rootless_setup(void *arg)
{
	*(int *)arg = drop_chroot_cap();
	setup_dev(0);
	return NULL;
}

TEST(rootless_worker_serves_without_chroot)
{
	pthread_t t;
	int rc = -1;

	pthread_create(&t, NULL, rootless_setup, &rc);
	pthread_join(t, NULL);
	CHECK_EQ(rc, 0);
	CHECK_EQ(virtio_fs_confined(&dev), 0);
	check_requests_served();
}

/* What the worker can see of the test's descriptors. */
struct fd_view {
	int fd;
	int flags; /* fcntl(F_GETFD) on the worker */
	int err;
};

static int look_at_fd(void *arg)
{
	struct fd_view *v = arg;

	errno = 0;
	v->flags = fcntl(v->fd, F_GETFD);
	v->err = errno;
	return 0;
}

/* An fd another thread holds (here: the directory above the share, as
 * another share's root would be) does not exist in the worker's table,
 * and the worker still serves; the test's fd stays open for the test. */
TEST(worker_sees_no_other_threads_descriptors)
{
	struct fd_view v = {.fd = open(base, O_PATH | O_DIRECTORY)};

	CHECK(v.fd >= 0);
	setup_dev(0);
	virtio_fs_run_on_worker(&dev, look_at_fd, &v);
	CHECK_EQ(v.flags, -1);
	CHECK_EQ(v.err, EBADF);
	CHECK(fcntl(v.fd, F_GETFD) >= 0);
	check_requests_served();
	close(v.fd);
}

/* ---- metadata without /proc paths, on the filtered worker ---- */

static int send_named(uint32_t op, uint64_t nodeid, const void *in,
		      size_t inlen, const char *name, void *out, size_t outlen)
{
	char body[256];
	size_t n = strlen(name) + 1;

	memcpy(body, in, inlen);
	memcpy(body + inlen, name, n);
	return roundtrip(op, nodeid, body, (uint32_t)(inlen + n), out, outlen);
}

static int set_mode(uint64_t nodeid, mode_t mode)
{
	struct fuse_setattr_in in = {.valid = FATTR_MODE, .mode = mode};

	return roundtrip(FUSE_SETATTR, nodeid, &in, sizeof(in), NULL, 0);
}

static struct stat host_stat(const char *name)
{
	struct stat st = {.st_mode = (mode_t)-1};
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", share, name);
	lstat(p, &st);
	return st;
}

static mode_t host_mode(const char *name)
{
	return host_stat(name).st_mode & 07777;
}

static void remove_in_share(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", share, name);
	unlink(p);
}

/* chmod of a socket (by its checked name), of a file and of the share's
 * root (through a re-open), times, a hard link, a create and an xattr:
 * what used /proc/self/fd paths before the worker's /proc handle was
 * kept to re-opens, served by the filtered worker. */
TEST(worker_changes_metadata_without_proc)
{
	struct fuse_mknod_in mk = {.mode = S_IFSOCK | 0644};
	struct fuse_create_in ci = {.flags = O_WRONLY, .mode = S_IFREG | 0640};
	struct fuse_setattr_in times = {.valid = FATTR_MTIME, .mtime = 1000000};
	struct fuse_setxattr_in xi = {.size = 2};
	struct fuse_entry_out sock, file, link;
	struct fuse_link_in ln;
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} cr;
	char xbody[32], val[8] = {0};
	int err;

	setup_dev(0);
	CHECK_EQ(fuse_init(), 0);
	CHECK_EQ(send_named(FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "sock",
			    &sock, sizeof(sock)),
		 0);
	CHECK_EQ(set_mode(sock.nodeid, 0600), 0);
	CHECK_EQ(host_mode("sock"), 0600);
	CHECK_EQ(roundtrip(FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5, &file,
			   sizeof(file)),
		 0);
	CHECK_EQ(set_mode(file.nodeid, 0640), 0);
	CHECK_EQ(host_mode("file"), 0640);
	CHECK_EQ(set_mode(FUSE_ROOT_ID, 0750), 0);
	CHECK_EQ(host_mode("."), 0750);
	CHECK_EQ(set_mode(FUSE_ROOT_ID, 0755), 0);
	CHECK_EQ(roundtrip(FUSE_SETATTR, file.nodeid, &times, sizeof(times),
			   NULL, 0),
		 0);
	CHECK_EQ(host_stat("file").st_mtime, 1000000);
	ln.oldnodeid = file.nodeid;
	CHECK_EQ(send_named(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "file2",
			    &link, sizeof(link)),
		 0);
	CHECK_EQ(host_stat("file").st_nlink, 2);
	CHECK_EQ(send_named(FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "new",
			    &cr, sizeof(cr)),
		 0);
	CHECK_EQ(host_mode("new"), 0640);
	memcpy(xbody, &xi, FUSE_COMPAT_SETXATTR_IN_SIZE);
	memcpy(xbody + FUSE_COMPAT_SETXATTR_IN_SIZE, "user.t\0v1", 9);
	err = roundtrip(FUSE_SETXATTR, cr.e.nodeid, xbody,
			FUSE_COMPAT_SETXATTR_IN_SIZE + 9, NULL, 0);
	if (err != -EOPNOTSUPP && err != -ENOTSUP) { /* no user xattrs */
		char p[256];

		CHECK_EQ(err, 0);
		snprintf(p, sizeof(p), "%s/new", share);
		CHECK_EQ(getxattr(p, "user.t", val, sizeof(val)), 2);
		CHECK(!memcmp(val, "v1", 2));
	}
	remove_in_share("sock");
	remove_in_share("file2");
	remove_in_share("new");
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/file", share);
		chmod(p, 0644);
	}
}

/* ---- the worker's /proc handle: re-opens only ---- */

/* Runs act on a fresh device's worker in a child (a forbidden call
 * stops the whole process); returns its wait status, stderr in err. */
static int on_child_worker(int (*act)(void *), char *err, size_t size)
{
	int p[2], status = -1;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int guard;

		dup2(p[1], 2);
		memset(&dev, 0,
		       sizeof(dev)); /* the parent's worker is not here */
		setup_dev(0);
		guard = virtio_fs_guard_fd(&dev);
		_exit(guard < 0 ? 2
				: virtio_fs_run_on_worker(&dev, act, &guard));
	}
	close(p[1]);
	while (got + 1 < size &&
	       (n = read(p[0], err + got, size - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return status;
}

/* The worker's own executable, through its /proc handle: a magic link
 * out of every share (and a file a chmod through it would make
 * writable to anyone). */
#define OWN_EXE "../exe"

static int chmod_own_exe(void *arg)
{
	return fchmodat(*(int *)arg, OWN_EXE, 0777, 0) == 0 ? 10 : 11;
}

static int open_path_own_exe(void *arg)
{
	int fd = openat(*(int *)arg, OWN_EXE, O_PATH | O_CLOEXEC);

	return fd >= 0 ? 10 : 11;
}

static int dup_guard(void *arg)
{
	return dup(*(int *)arg) >= 0 ? 10 : 11;
}

/* A plain open through it is allowed by the filter (the re-opens) and
 * refused by Landlock: the executable is not beneath the share. */
static int open_own_exe(void *arg)
{
	int fd = openat(*(int *)arg, OWN_EXE, O_RDONLY | O_CLOEXEC);

	return fd < 0 && errno == EACCES ? 0 : 12;
}

static bool stopped_on(int status, const char *err, const char *call)
{
	const char *line = "supermachine: seccomp: the fuse thread made a "
			   "forbidden system call ";

	if (WIFEXITED(status) && WEXITSTATUS(status) == 159 &&
	    !strncmp(err, line, strlen(line)) &&
	    !strncmp(err + strlen(line), call, strlen(call)))
		return true;
	fprintf(stderr, "# status 0x%x, stderr \"%s\"\n", status, err);
	return false;
}

TEST(worker_proc_handle_only_reopens)
{
	char err[512];
	int st;

	if (!sm_sandbox_thread_policy())
		SKIP_TEST("seccomp off in this build");
	st = on_child_worker(chmod_own_exe, err, sizeof(err));
	CHECK(stopped_on(st, err, "fchmodat"));
	st = on_child_worker(open_path_own_exe, err, sizeof(err));
	CHECK(stopped_on(st, err, "openat"));
	st = on_child_worker(dup_guard, err, sizeof(err));
	CHECK(stopped_on(st, err, "dup"));
	if (sm_landlock_abi() < 2)
		SKIP_TEST("no Landlock here: a plain open is not checked");
	st = on_child_worker(open_own_exe, err, sizeof(err));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Devices made by several threads at once (two restores in one process):
 * a cached filter freed under another thread's load once gave "the fuse
 * filter: Invalid argument"; now none is freed. */
static void *make_devices(void *arg)
{
	struct virtio_fs_config cfg = {.tag = "t", .dir = share};
	int *failed = arg;

	for (int i = 0; i < 10; i++) {
		struct virtio_dev d;

		memset(&d, 0, sizeof(d));
		pthread_mutex_init(&d.lock, NULL);
		pthread_cond_init(&d.thawed, NULL);
		d.ops = &virtio_fs_ops;
		d.mem = &gm;
		if (virtio_fs_ops.init(&d, &cfg, NULL))
			(*failed)++;
		else
			virtio_fs_ops.destroy(&d);
	}
	return NULL;
}

TEST(workers_start_side_by_side)
{
	pthread_t t[4];
	int failed[4] = {0};

	setup_dev(0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, make_devices, &failed[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(failed[i], 0);
	}
}

/* A VM has a worker per share (the rootfs and each volume): they put
 * their guard at one number and so share one seccomp program, whose build
 * costs as much as the thread. */
TEST(workers_share_guard_and_program)
{
	struct virtio_fs_config cfg = {.tag = "t", .dir = share};
	struct virtio_dev d[3];
	unsigned built = 0;
	int fds[40], ok = 1;

	/* the second and third workers keep fds above the first's */
	for (int i = 0; i < 40; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(d, 0, sizeof(d));
	for (int i = 0; i < 3; i++) {
		pthread_mutex_init(&d[i].lock, NULL);
		pthread_cond_init(&d[i].thawed, NULL);
		d[i].ops = &virtio_fs_ops;
		d[i].mem = &gm;
		if (i == 1)
			built = sm_sandbox_programs_built();
		CHECK_EQ(virtio_fs_ops.init(&d[i], &cfg, NULL), 0);
		if (i == 0)
			for (int k = 0; k < 40; k++)
				close(fds[k]);
	}
	for (int i = 1; i < 3; i++)
		ok &= virtio_fs_guard_fd(&d[i]) == virtio_fs_guard_fd(&d[0]);
	CHECK(virtio_fs_guard_fd(&d[0]) > 0);
	CHECK(ok);
	if (sm_sandbox_thread_policy())
		CHECK_EQ(sm_sandbox_programs_built(), built);
	for (int i = 0; i < 3; i++)
		virtio_fs_ops.destroy(&d[i]);
}

/* Snapshot: while frozen the worker leaves the queue alone; thaw lets it
 * serve what was notified meanwhile. */
TEST(frozen_worker_waits_for_thaw)
{
	struct fuse_entry_out e;

	setup_dev(0);
	CHECK_EQ(fuse_init(), 0);
	virtio_freeze(&dev);
	post_req(0, FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5);
	notify();
	usleep(100 * 1000);
	CHECK_EQ(used_idx(), posted - 1);
	virtio_thaw(&dev);
	CHECK(wait_used(posted));
	CHECK_EQ(reply(0, &e, sizeof(e)), 0);
}

/* Time for n GETATTRs, SLOTS at a time or one at a time. */
static double run_getattrs(unsigned n, unsigned batch, unsigned *bad)
{
	struct fuse_getattr_in ga = {0};
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned done = 0; done < n;) {
		unsigned k = n - done < batch ? n - done : batch;

		for (unsigned i = 0; i < k; i++)
			post_req(i, FUSE_GETATTR, FUSE_ROOT_ID, &ga,
				 sizeof(ga));
		notify();
		if (!wait_used(posted)) {
			*bad += n - done;
			break;
		}
		for (unsigned i = 0; i < k; i++)
			*bad += reply(i, NULL, 0) != 0;
		done += k;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Not a pass condition: the cost of the handoff, printed. */
TEST(worker_throughput_vs_inline)
{
	const char *env = getenv("SM_FS_BENCH_N");
	unsigned n = env ? (unsigned)atoi(env) : 100000, bad = 0;
	double t[2][2];

	for (int mode = 0; mode < 2; mode++) {
		setup_dev(mode); /* 0: worker, 1: inline */
		CHECK_EQ(fuse_init(), 0);
		t[mode][0] = run_getattrs(n, SLOTS, &bad);
		t[mode][1] = run_getattrs(n / 10, 1, &bad);
	}
	CHECK_EQ(bad, 0);
	printf("# virtio-fs GETATTR x%u, %u per notify: worker %.0f/s, inline "
	       "%.0f/s, ratio %.2f\n",
	       n, SLOTS, n / t[0][0], n / t[1][0], t[1][0] / t[0][0]);
	printf("# virtio-fs GETATTR x%u, 1 per notify: worker %.1f us, inline "
	       "%.1f us each, ratio %.2f\n",
	       n / 10, t[0][1] * 1e6 / (n / 10), t[1][1] * 1e6 / (n / 10),
	       t[1][1] / t[0][1]);
}

int main(void)
{
	char cmd[128];

	make_dirs();
	RUN(worker_dotdot_stays_in_share);
	RUN(worker_absolute_path_stays_in_share);
	RUN(worker_absolute_symlink_stays_in_share);
	RUN(worker_serves_requests);
	RUN(rootless_worker_serves_without_chroot);
	RUN(worker_sees_no_other_threads_descriptors);
	RUN(worker_changes_metadata_without_proc);
	RUN(worker_proc_handle_only_reopens);
	RUN(workers_start_side_by_side);
	RUN(workers_share_guard_and_program);
	RUN(frozen_worker_waits_for_thaw);
	RUN(worker_throughput_vs_inline);
	virtio_fs_ops.destroy(&dev);
	gm_destroy(&gm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", base);
	return test_summary();
}
