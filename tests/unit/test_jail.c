/*
 * src/sandbox/jail.c: a jailed thread's ids, capabilities, root and
 * namespaces, looked at from inside (what it can still do) and from its
 * process's main thread (/proc/self/task/TID). Each case runs in a
 * forked child, in a thread started by sm_thread_start() with the seccomp
 * filters off, so that only the jail is under test. Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "test.h"

/* What a thread saw of itself once jailed (filled in the child). */
struct seen {
	uid_t uid, euid, suid;
	gid_t gid;
	uint32_t cap_eff, cap_eff_hi;
	int nnp, bnd_sys_admin;
	int passwd_errno, setuid_errno, chroot_errno, unshare_errno;
	int resolv_ok;
	/* openat through a descriptor of the host's /etc (as another
	 * share's root would be), and of a file in the thread's cwd */
	int outside_errno, inside_errno;
	pid_t tid;
};

static int etc_fd = -1;

static int open_errno(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int report[2], release[2];
static struct seen *seen_out;

static void *look(void *arg)
{
	struct seen *s = seen_out;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};
	char c;

	(void)arg;
	syscall(SYS_getresuid, &s->uid, &s->euid, &s->suid);
	s->gid = getgid();
	syscall(SYS_capget, &h, d);
	s->cap_eff = d[0].effective;
	s->cap_eff_hi = d[1].effective;
	s->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	s->bnd_sys_admin = prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0);
	s->passwd_errno = access("/etc/passwd", F_OK) ? errno : 0;
	s->resolv_ok = access("/etc/resolv.conf", R_OK) == 0;
	s->setuid_errno = syscall(SYS_setresuid, 0, 0, 0) ? errno : 0;
	s->chroot_errno = chroot("/") ? errno : 0;
	s->unshare_errno = unshare(CLONE_NEWNS) ? errno : 0;
	s->outside_errno = open_errno(etc_fd, "passwd");
	s->inside_errno = open_errno(AT_FDCWD, "inside");
	s->tid = (pid_t)syscall(SYS_gettid);
	/* let the main thread read /proc/self/task/TID, then end */
	if (write(report[1], "r", 1) != 1 || read(release[0], &c, 1) != 1)
		return NULL;
	return NULL;
}

static void *jail_then_look(void *arg)
{
	struct sm_error err = {0};

	if (sm_jail_thread(SM_ROLE_CONTROL, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		_exit(4);
	}
	return look(arg);
}

/* /proc/self/task/TID facts, read by the child's main thread. */
struct outside {
	char root[256];
	int same_mnt_ns, same_ipc_ns;
};

static bool same_ns(pid_t tid, const char *ns)
{
	char a[64], b[64], pa[64];
	ssize_t n, m;

	snprintf(pa, sizeof(pa), "/proc/self/task/%d/ns/%s", (int)tid, ns);
	n = readlink(pa, a, sizeof(a) - 1);
	snprintf(pa, sizeof(pa), "/proc/self/ns/%s", ns);
	m = readlink(pa, b, sizeof(b) - 1);
	return n > 0 && m > 0 && n == m && !memcmp(a, b, (size_t)n);
}

/* The child's main thread empties its bounding set before it starts the
 * thread (sm_jail_drop_bounding_early, as the CLI's VMM process does). */
static bool drop_early;

/*
 * Starts a thread of role (a device role jails at sm_thread_start; the
 * control role calls sm_jail_thread itself) in a child; fills *s and *o.
 */
static int jailed_child(enum sm_thread_role role, struct seen *s,
			struct outside *o)
{
	struct seen *shm =
	    mmap(NULL, sizeof(*s) + sizeof(*o), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status = -1;
	pid_t pid;

	if (shm == MAP_FAILED)
		return -1;
	memset(shm, 0, sizeof(*s) + sizeof(*o));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct outside *out = (struct outside *)(shm + 1);
		pthread_t t;
		char path[64], c;
		ssize_t n;

		seen_out = shm;
		if (pipe(report) || pipe(release))
			_exit(2);
		etc_fd = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		sm_sandbox_set_thread_policy(false);
		if (drop_early &&
		    (sm_jail_drop_bounding_early() ||
		     (geteuid() == 0 && !sm_jail_bounding_empty())))
			_exit(7);
		if (sm_thread_start(
			&t, role,
			role == SM_ROLE_CONTROL ? jail_then_look : look, NULL))
			_exit(3);
		if (read(report[0], &c, 1) != 1)
			_exit(5);
		snprintf(path, sizeof(path), "/proc/self/task/%d/root",
			 (int)shm->tid);
		n = readlink(path, out->root, sizeof(out->root) - 1);
		out->root[n > 0 ? n : 0] = '\0';
		out->same_mnt_ns = same_ns(shm->tid, "mnt");
		out->same_ipc_ns = same_ns(shm->tid, "ipc");
		if (write(release[1], "g", 1) != 1)
			_exit(6);
		pthread_join(t, NULL);
		_exit(0); /* no leak check: it would clone and ptrace */
	}
	waitpid(pid, &status, 0);
	*s = *shm;
	*o = *(struct outside *)(shm + 1);
	munmap(shm, sizeof(*s) + sizeof(*o));
	return status;
}

TEST(device_thread_is_jailed)
{
	struct seen s;
	struct outside o;
	uid_t uid;
	gid_t gid;
	int st = jailed_child(SM_ROLE_VCPU, &s, &o);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(s.nnp, 1);
	if (geteuid() != 0)
		return;
	CHECK_EQ(sm_jail_resolve_ids(NULL, &uid, &gid, NULL), 0);
	CHECK(s.uid == uid && s.euid == uid && s.suid == uid && s.gid == gid);
	CHECK(s.cap_eff == 0 && s.cap_eff_hi == 0);
	CHECK_EQ(s.bnd_sys_admin, 0);
	CHECK_EQ(s.passwd_errno, ENOENT); /* its root is empty */
	CHECK_EQ(s.setuid_errno, EPERM);
	CHECK_EQ(s.chroot_errno, EPERM);
	CHECK_EQ(s.unshare_errno, EPERM);
	CHECK(!strcmp(o.root, "/run/supermachine/empty"));
	/* the main thread keeps the host's root */
	CHECK(access("/etc/passwd", F_OK) == 0);
}

TEST(fuse_thread_takes_the_ids_and_keeps_only_file_capabilities)
{
	struct seen s;
	struct outside o;
	int st = jailed_child(SM_ROLE_FUSE, &s, &o);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(s.nnp, 1);
	if (geteuid() != 0)
		return;
	CHECK(s.uid != 0 && s.euid == s.uid && s.suid == s.uid);
	/* chown, dac_override, dac_read_search, fowner, fsetid */
	CHECK_EQ(s.cap_eff, 0x1f);
	CHECK_EQ(s.cap_eff_hi, 0);
	CHECK_EQ(s.bnd_sys_admin, 0);
	CHECK_EQ(s.chroot_errno, EPERM);
}

/* The bounding set emptied once by the creator: its threads inherit it
 * (and skip dropping it); the jail is the same, and a FUSE worker keeps
 * its five file capabilities, which the bounding set does not limit. */
TEST(bounding_set_dropped_early_is_inherited)
{
	struct seen s, f;
	struct outside o;
	int st, fst;

	drop_early = true;
	st = jailed_child(SM_ROLE_VCPU, &s, &o);
	fst = jailed_child(SM_ROLE_FUSE, &f, &o);
	drop_early = false;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(WIFEXITED(fst) && WEXITSTATUS(fst) == 0);
	if (geteuid() != 0)
		return;
	CHECK(s.uid != 0 && s.cap_eff == 0 && s.cap_eff_hi == 0);
	CHECK_EQ(s.bnd_sys_admin, 0);
	CHECK_EQ(s.setuid_errno, EPERM);
	CHECK_EQ(f.cap_eff, 0x1f);
	CHECK_EQ(f.bnd_sys_admin, 0);
}

/* A chroot stops no walk through a descriptor the process holds:
 * Landlock does (src/sandbox/landlock.c). The worker's cwd, its share,
 * stays open to it. */
TEST(fuse_thread_landlocked_to_its_share)
{
	char dir[] = "/tmp/test_jail.XXXXXX", cwd[4096], file[64];
	struct seen s;
	struct outside o;
	int st, fd;

	if (geteuid() != 0 || sm_landlock_abi() < 2 || !mkdtemp(dir) ||
	    !getcwd(cwd, sizeof(cwd)))
		return;
	snprintf(file, sizeof(file), "%s/inside", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(chdir(dir), 0); /* the child's thread inherits it */
	st = jailed_child(SM_ROLE_FUSE, &s, &o);
	CHECK_EQ(chdir(cwd), 0);
	unlink(file);
	rmdir(dir);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(s.inside_errno, 0); /* a root-only file: dac_override */
	CHECK_EQ(s.outside_errno, EACCES);
}

TEST(slirp_root_holds_only_resolv_conf)
{
	struct seen s;
	struct outside o;
	int st = jailed_child(SM_ROLE_SLIRP, &s, &o);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (geteuid() != 0)
		return;
	CHECK_EQ(s.passwd_errno, ENOENT);
	CHECK(s.resolv_ok == (access("/etc/resolv.conf", R_OK) == 0));
	CHECK(s.cap_eff == 0 && s.uid != 0);
	CHECK(!o.same_mnt_ns);
	if (sm_landlock_abi() >= 2)
		CHECK_EQ(s.outside_errno, EACCES);
}

TEST(control_thread_gets_namespaces)
{
	struct seen s;
	struct outside o;
	int st = jailed_child(SM_ROLE_CONTROL, &s, &o);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(s.nnp, 1);
	if (geteuid() != 0)
		return;
	CHECK(s.uid != 0 && s.cap_eff == 0);
	CHECK(!o.same_mnt_ns && !o.same_ipc_ns);
	CHECK(!strcmp(o.root, "/run/supermachine/empty"));
	CHECK_EQ(s.passwd_errno, ENOENT);
	if (sm_landlock_abi() >= 2) /* it opens nothing, not even so */
		CHECK_EQ(s.outside_errno, EACCES);
}

TEST(jail_off_changes_nothing)
{
	struct seen s;
	struct outside o;
	int st;

	sm_jail_set_thread_policy(false);
	st = jailed_child(SM_ROLE_VCPU, &s, &o);
	sm_jail_set_thread_policy(true);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(s.uid, geteuid());
	CHECK_EQ(s.passwd_errno, 0);
	CHECK(!strcmp(o.root, "/"));
}

TEST(ids_resolve)
{
	uid_t u;
	gid_t g;

	CHECK_EQ(sm_jail_resolve_ids("1234:5678", &u, &g, NULL), 0);
	CHECK(u == 1234 && g == 5678);
	CHECK_EQ(sm_jail_resolve_ids("4321", &u, &g, NULL), 0);
	CHECK(u == 4321 && g == 4321);
	CHECK_EQ(sm_jail_resolve_ids("0", &u, &g, NULL), -EINVAL);
	CHECK_EQ(sm_jail_resolve_ids("5:0", &u, &g, NULL), -EINVAL);
	CHECK_EQ(sm_jail_resolve_ids("12x", &u, &g, NULL), -EINVAL);
	CHECK_EQ(sm_jail_resolve_ids("root", &u, &g, NULL), -EINVAL);
	CHECK_EQ(sm_jail_resolve_ids("no-such-user-here", &u, &g, NULL),
		 -EINVAL);
	CHECK_EQ(sm_jail_resolve_ids(NULL, &u, &g, NULL), 0);
	CHECK(u != 0 && g != 0);
}

/* The default user comes from the passwd file alone; root never. */
TEST(default_ids_from_passwd)
{
	char path[] = "/tmp/test_jail_passwd.XXXXXX";
	int fd = mkstemp(path);
	static const char good[] =
	    "root:x:0:0:root:/root:/bin/sh\n"
	    "supermachinex:x:7:7::/:/bin/false\n"
	    "supermachine:x:990:985:jail:/nonexistent:/usr/sbin/nologin\n";
	static const char rooted[] = "supermachine:x:0:0::/:/bin/sh\n";
	uid_t u = 1;
	gid_t g = 1;

	CHECK(fd >= 0);
	CHECK(write(fd, good, sizeof(good) - 1) == sizeof(good) - 1);
	CHECK(sm_jail_default_ids_from(path, &u, &g));
	CHECK(u == 990 && g == 985);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, rooted, sizeof(rooted) - 1, 0) == sizeof(rooted) - 1);
	CHECK(!sm_jail_default_ids_from(path, &u, &g));
	CHECK(!sm_jail_default_ids_from("/nonexistent/passwd", &u, &g));
	close(fd);
	unlink(path);
}

int main(void)
{
	RUN(device_thread_is_jailed);
	RUN(fuse_thread_takes_the_ids_and_keeps_only_file_capabilities);
	RUN(bounding_set_dropped_early_is_inherited);
	RUN(fuse_thread_landlocked_to_its_share);
	RUN(slirp_root_holds_only_resolv_conf);
	RUN(control_thread_gets_namespaces);
	RUN(jail_off_changes_nothing);
	RUN(ids_resolve);
	RUN(default_ids_from_passwd);
	return test_summary();
}
