/*
 * The jail (docs/security.md, "Jail"): what a VMM thread may reach on the
 * host besides its system calls. A jailed thread has its own root (an
 * empty, read-only directory), an unprivileged uid and gid, no
 * capabilities (bounding set included) and no_new_privs.
 *
 * Credentials and the root are per thread in Linux, and glibc's setuid()
 * family changes every thread of the process, so this file uses the raw
 * system calls: each thread jails itself at its start, and the FUSE
 * workers (which must create files as the guest's users) keep the file
 * capabilities across the id change, chrooted to their share.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/error.h"

#define JAIL_PARENT "/run/supermachine"
#define JAIL_ROOT JAIL_PARENT "/empty"
/* a rootless VMM's user namespace (src/container/keeper.c): each thread mounts
 * an empty read-only tmpfs here, in a mount namespace of its own */
#define USERNS_ROOT "/tmp"
#define NOBODY 65534

/* What a FUSE worker keeps: creating, chowning and reading files as the
 * guest's users do (virtiofsd keeps the same set). */
static const int fuse_caps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE,
				CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID};

static struct {
	pthread_mutex_t lock;
	bool ready;    /* the root directory exists */
	bool rootless; /* started without root: nothing to drop */
	bool userns;   /* root of a user namespace of its own: uid 0 there is
			* the caller's uid outside, no other id is mapped */
	uid_t uid;
	gid_t gid;
} jail = {.lock = PTHREAD_MUTEX_INITIALIZER};

static __thread bool jail_off;
/* This thread's capability bounding set is empty: dropped here, or
 * inherited from a creator whose set was (sm_thread_start passes it on;
 * the kernel copies the set into every thread a thread creates). */
static __thread bool bounding_empty;

bool sm_jail_bounding_empty(void)
{
	return bounding_empty;
}

void sm_jail_set_bounding_empty(bool empty)
{
	bounding_empty = empty;
}

void sm_jail_set_thread_policy(bool on)
{
	jail_off = !on;
}

bool sm_jail_thread_policy(void)
{
	return !jail_off;
}

/* "NAME", "UID" or "UID:GID"; NULL or "": the default. */
/*
 * The default jail user, "supermachine", from /etc/passwd alone: a
 * system account, made by useradd (tools/setup). Not through NSS, whose
 * modules (systemd's userdb walks six directories for a name it does not
 * know) would load into every VMM and cost some 150 syscalls of each
 * start; a name from another database is given as jail-user=NAME.
 */
bool sm_jail_default_ids_from(const char *passwd, uid_t *uid, gid_t *gid)
{
	FILE *f = fopen(passwd, "re");
	struct passwd pw, *found = NULL;
	char buf[1024];

	while (f && !fgetpwent_r(f, &pw, buf, sizeof(buf), &found))
		if (!strcmp(pw.pw_name, "supermachine"))
			break;
	if (f)
		fclose(f);
	if (!found || strcmp(found->pw_name, "supermachine") ||
	    found->pw_uid == 0)
		return false;
	*uid = found->pw_uid;
	*gid = found->pw_gid;
	return true;
}

int sm_jail_resolve_ids(const char *user, uid_t *uid, gid_t *gid,
			struct sm_error *err)
{
	char *end;
	unsigned long u, g;
	struct passwd *pw;

	if (!user || !*user) {
		if (!sm_jail_default_ids_from("/etc/passwd", uid, gid))
			*uid = *gid = NOBODY;
		return 0;
	}
	u = strtoul(user, &end, 10);
	if (end != user && (*end == '\0' || *end == ':')) {
		g = *end ? strtoul(end + 1, &end, 10) : u;
		if (*end || u == 0 || g == 0 || u > 0xfffffffe ||
		    g > 0xfffffffe)
			return sm_err(err, -EINVAL,
				      "sandbox user %s: want UID[:GID], "
				      "neither 0",
				      user);
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	pw = getpwnam(user);
	if (!pw || pw->pw_uid == 0)
		return sm_err(err, -EINVAL, "sandbox user %s: %s", user,
			      pw ? "is root" : "no such user");
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* The shared root: empty, owned by root, nobody may write it. */
static int make_root(struct sm_error *err)
{
	struct stat st;

	if (mkdir(JAIL_PARENT, 0755) < 0 && errno != EEXIST)
		return sm_err_errno(err, "jail: mkdir %s", JAIL_PARENT);
	if (mkdir(JAIL_ROOT, 0555) < 0 && errno != EEXIST)
		return sm_err_errno(err, "jail: mkdir %s", JAIL_ROOT);
	if (lstat(JAIL_ROOT, &st) < 0)
		return sm_err_errno(err, "jail: %s", JAIL_ROOT);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0222) ||
	    st.st_nlink != 2)
		return sm_err(err, -EPERM,
			      "jail: %s must be an empty directory that only "
			      "root owns and nobody can write",
			      JAIL_ROOT);
	return 0;
}

/* Whether this process's uid 0 is not the host's (a user namespace). */
static bool in_user_namespace(void)
{
	unsigned inside, outside, count;
	bool initial = true;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (f) {
		if (fscanf(f, "%u %u %u", &inside, &outside, &count) == 3)
			initial = !inside && !outside && count == 4294967295u;
		fclose(f);
	}
	return !initial;
}

int sm_jail_setup(const char *user, struct sm_error *err)
{
	uid_t uid;
	gid_t gid;
	int ret = sm_jail_resolve_ids(user, &uid, &gid, err);

	if (ret)
		return ret;
	pthread_mutex_lock(&jail.lock);
	jail.rootless = geteuid() != 0;
	if (!jail.rootless && !jail.ready)
		jail.userns = in_user_namespace();
	if (!jail.rootless && !jail.userns && !jail.ready)
		ret = make_root(err);
	if (!ret) {
		/* the last VM's choice holds for new threads; in a user
		 * namespace only its uid 0 (the caller's uid) exists */
		jail.uid = jail.userns ? 0 : uid;
		jail.gid = jail.userns ? 0 : gid;
		jail.ready = true;
	}
	pthread_mutex_unlock(&jail.lock);
	return ret;
}

int sm_jail_setup_once(struct sm_error *err)
{
	return jail.ready ? 0 : sm_jail_setup(NULL, err);
}

/* ---- steps, each on the calling thread only ---- */

static bool has_cap(int cap)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

static bool kept(const int *keep, size_t n, int cap)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

/* Needs CAP_SETPCAP, so before the ids change. An empty set stays
 * empty: nothing to drop (kept capabilities stay in the permitted and
 * effective sets, which the bounding set does not limit; it limits what
 * an exec could gain, and jailed threads exec nothing). */
static int drop_bounding(const int *keep, size_t n)
{
	if (bounding_empty)
		return 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!kept(keep, n, c) &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -errno;
	return 0;
}

static int set_caps(const int *keep, size_t n)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};

	for (size_t i = 0; i < n; i++) {
		d[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		d[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/*
 * libslirp reads /etc/resolv.conf again each time a guest's DNS query
 * finds its copy older than a second: the slirp thread's root is a small
 * read-only tmpfs holding only that file, bound read-only from the host.
 */
static int resolv_root(const char *dir)
{
	const unsigned long ro =
	    MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char etc[64], conf[64];
	int fd;

	snprintf(etc, sizeof(etc), "%s/etc", dir);
	snprintf(conf, sizeof(conf), "%s/etc/resolv.conf", dir);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=16k,nr_inodes=8,mode=0555") < 0 ||
	    mkdir(etc, 0555) < 0)
		return -errno;
	fd = open(conf, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	if (access("/etc/resolv.conf", F_OK) == 0 &&
	    (mount("/etc/resolv.conf", conf, NULL, MS_BIND, NULL) < 0 ||
	     mount(NULL, conf, NULL, MS_BIND | ro, NULL) < 0))
		return -errno;
	return mount(NULL, dir, NULL, ro, NULL) < 0 ? -errno : 0;
}

/* In a user namespace: no root-owned empty directory to bind (the host's
 * belongs to nobody there), so an empty read-only tmpfs instead. */
static int empty_tmpfs(const char *dir)
{
	return mount("tmpfs", dir, "tmpfs",
		     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "size=4k,nr_inodes=2,mode=0555") < 0
		   ? -errno
		   : 0;
}

/*
 * An own root: the empty directory, mounted read-only, nosuid, nodev,
 * noexec in a mount namespace of this thread's own when namespaces is
 * set (with IPC and UTS namespaces too).
 */
static int own_root(bool namespaces, bool resolv)
{
	const unsigned long ro =
	    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	const char *dir = jail.userns ? USERNS_ROOT : JAIL_ROOT;
	int ret = 0;

	if (unshare(CLONE_FS |
		    (namespaces ? CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
				: 0)) < 0)
		return -errno;
	if (namespaces && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (resolv)
		ret = resolv_root(dir);
	else if (jail.userns)
		ret = empty_tmpfs(dir);
	else if (namespaces &&
		 (mount(JAIL_ROOT, JAIL_ROOT, NULL, MS_BIND, NULL) < 0 ||
		  mount(NULL, JAIL_ROOT, NULL, ro, NULL) < 0))
		ret = -errno;
	if (!ret && (chroot(dir) < 0 || chdir("/") < 0))
		ret = -errno;
	return ret;
}

static int drop_ids(void)
{
	/* a user namespace denies setgroups (its creator wrote "deny") */
	if ((!jail.userns && syscall(SYS_setgroups, 0, NULL) < 0) ||
	    syscall(SYS_setresgid, jail.gid, jail.gid, jail.gid) < 0 ||
	    syscall(SYS_setresuid, jail.uid, jail.uid, jail.uid) < 0)
		return -errno;
	return 0;
}

/*
 * A FUSE worker takes the jail's ids too but keeps the file capabilities
 * (PR_SET_KEEPCAPS across the id change): it creates files as the jail's
 * uid and gives them the guest user's owner (CAP_CHOWN), as own_new() in
 * src/fuse/passthrough.c does for every new object.
 */
static int jail_fuse(const char **step)
{
	const size_t n = sizeof(fuse_caps) / sizeof(fuse_caps[0]);
	int ret;

	*step = "setup";
	if (!jail.ready) /* its creator sets it up (start_worker, fs.c) */
		return -EINVAL;
	*step = "bounding set";
	ret = drop_bounding(fuse_caps, n);
	if (!ret) {
		*step = "uid and gid";
		ret = prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ? -errno
							     : drop_ids();
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (!ret) {
		*step = "capabilities"; /* the id change cleared the effective
					   set */
		ret = set_caps(fuse_caps, n);
	}
	return ret;
}

static int jail_steps(enum sm_thread_role role, bool namespaces,
		      const char **step)
{
	int ret = 0;

	/* without CAP_SYS_CHROOT the thread was jailed by its creator (or
	 * the VMM runs without root): it keeps that, with a cwd of its own */
	if (jail.rootless || !has_cap(CAP_SYS_CHROOT)) {
		*step = "unshare";
		return role == SM_ROLE_FUSE || unshare(CLONE_FS) == 0 ? 0
								      : -errno;
	}
	if (role == SM_ROLE_FUSE) /* already chrooted to its share */
		return jail_fuse(step);
	*step = "root";
	/* in a user namespace every thread mounts its own empty root */
	ret = own_root(namespaces || role == SM_ROLE_SLIRP || jail.userns,
		       role == SM_ROLE_SLIRP);
	if (!ret) {
		*step = "bounding set";
		ret = drop_bounding(NULL, 0);
	}
	if (!ret) {
		*step = "uid and gid"; /* clears the capabilities too */
		ret = drop_ids();
	}
	if (!ret) {
		*step = "capabilities";
		ret = set_caps(NULL, 0);
	}
	return ret;
}

static int jail_enter(enum sm_thread_role role, bool namespaces,
		      struct sm_error *err)
{
	const char *step = "setup";
	int ret = 0;

	if (jail_off)
		return 0;
	/* the fuse role needs neither ids nor the root (it runs in its
	 * share's chroot already, where neither could be looked up) */
	if (role != SM_ROLE_FUSE && (ret = sm_jail_setup_once(err)))
		return ret;
	ret = jail_steps(role, namespaces, &step);
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ret = -errno, step = "no_new_privs";
	if (!ret && (ret = sm_landlock_thread(role)))
		step = "landlock";
	if (ret)
		return sm_err(err, ret, "jail: the %s thread: %s: %s",
			      sm_role_name(role), step, strerror(-ret));
	return 0;
}

int sm_jail_drop_bounding_early(void)
{
	int ret;

	if (jail_off || !has_cap(CAP_SETPCAP))
		return 0; /* no root: the jail has no capabilities to drop */
	ret = drop_bounding(NULL, 0);
	if (!ret)
		bounding_empty = true;
	return ret;
}

int sm_jail_thread(enum sm_thread_role role, struct sm_error *err)
{
	/* namespaces cost ~0.1 ms a thread: device threads, whose filters
	 * allow no mount or IPC calls, get the root and ids only */
	return jail_enter(role, role == SM_ROLE_CONTROL, err);
}

/* Core dumps off, not dumpable (no ptrace from other processes of the
 * jail's uid), the file limit fixed, then the control role's jail. The
 * parent-death signal, which the kernel clears when the ids change, is
 * set again: a VMM tied to its keeper stays tied. */
SM_API int sm_process_jail(struct sm_error *err)
{
	struct rlimit core = {0, 0}, nofile;
	int death_signal = 0, ret;

	if (jail_off)
		return 0;
	/* guest memory must never land in a core file; same-uid processes
	 * (other VMMs) must not ptrace this one */
	if (setrlimit(RLIMIT_CORE, &core) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return sm_err_errno(err, "jail: core dumps off");
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_max = nofile.rlim_cur; /* never raised again */
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	prctl(PR_GET_PDEATHSIG, &death_signal, 0, 0, 0);
	ret = jail_enter(SM_ROLE_CONTROL, true, err);
	if (!ret && death_signal &&
	    prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) < 0)
		return sm_err_errno(err, "jail: the parent-death signal");
	return ret;
}
