/*
 * libFuzzer target for an OCI bundle's config.json (src/bundle/config.c,
 * src/bundle/map.c): bundle_parse on the input (what bundle_load hands it
 * from the file the engine wrote with what images and users gave it), and
 * for a config that parses, bundle_to_run with a fixed bundle directory,
 * whose result must keep the mapping's promises (an absolute rootfs;
 * volumes SRC:DST[:ro] with both absolute; tmpfs specs at an absolute
 * path; a VM size in range; the cmd the args); bundle_parse_process on the
 * same bytes (exec --process FILE). A broken promise aborts.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"
#include "fuzz_seed.h"

#define BUNDLE_DIR "/run/supermachine-oci/bundles/0123456789ab"

/*
 * sm_run_options_init() is src/run/run.c's, which links the whole VM;
 * bundle_to_run() needs only this (the same defaults).
 */
void sm_run_options_init(struct sm_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdin_fd = 0;
	o->stdout_fd = 1;
	o->stderr_fd = 2;
	o->signal_fd = -1;
}

/* ---- seeds: config.json as engines write it (' for ") ---- */

#define CTR "/run/containers/storage/overlay-containers/0123456789ab/userdata"
#define MASKED                                                             \
	"'maskedPaths': ['/proc/acpi', '/proc/kcore', '/proc/keys',"       \
	" '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats'," \
	" '/proc/sched_debug', '/proc/scsi', '/sys/firmware',"             \
	" '/sys/fs/selinux', '/sys/dev/block'],"                           \
	" 'readonlyPaths': ['/proc/asound', '/proc/bus', '/proc/fs',"      \
	" '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']"
#define CAPS                                                            \
	"['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID'," \
	" 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP',"           \
	" 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT']"
/* what podman and runc put first: the kernel's file systems */
#define KERNEL_MOUNTS                                                        \
	"{'destination': '/proc', 'type': 'proc', 'source': 'proc',"         \
	" 'options': ['nosuid', 'noexec', 'nodev']},"                        \
	" {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',"       \
	" 'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']}," \
	" {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',"       \
	" 'options': ['nosuid', 'noexec', 'nodev', 'ro']},"                  \
	" {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts'," \
	" 'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666',"   \
	" 'mode=0620', 'gid=5']},"                                           \
	" {'destination': '/dev/mqueue', 'type': 'mqueue',"                  \
	" 'source': 'mqueue', 'options': ['nosuid', 'noexec', 'nodev']}"
/* podman's own files, bound from the container's userdata directory */
#define PODMAN_BINDS                                                       \
	"{'destination': '/etc/hostname', 'type': 'bind',"                 \
	" 'source': '" CTR "/hostname', 'options': ['bind', 'rprivate']}," \
	" {'destination': '/etc/resolv.conf', 'type': 'bind',"             \
	" 'source': '" CTR "/resolv.conf',"                                \
	" 'options': ['bind', 'rprivate']},"                               \
	" {'destination': '/etc/hosts', 'type': 'bind',"                   \
	" 'source': '" CTR "/hosts', 'options': ['bind', 'rprivate']},"    \
	" {'destination': '/dev/shm', 'type': 'bind',"                     \
	" 'source': '" CTR "/shm',"                                        \
	" 'options': ['bind', 'rprivate', 'nosuid', 'noexec', 'nodev']},"  \
	" {'destination': '/run/.containerenv', 'type': 'bind',"           \
	" 'source': '" CTR "/.containerenv',"                              \
	" 'options': ['bind', 'rprivate']}"
#define PODMAN_LINUX                                                    \
	"'sysctl': {'net.ipv4.ping_group_range': '0 0'},"               \
	" 'cgroupsPath': 'machine.slice:libpod:0123456789ab',"          \
	" 'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO',"               \
	" 'defaultErrnoRet': 38, 'architectures': ['SCMP_ARCH_X86_64'," \
	" 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], 'syscalls': [{'names':"    \
	" ['read', 'write', 'openat', 'close'], 'action':"              \
	" 'SCMP_ACT_ALLOW'}, {'names': ['personality'], 'action':"      \
	" 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 0, 'op':"    \
	" 'SCMP_CMP_EQ'}]}]}, " MASKED

/* podman 4.3: run -d -v /srv/data:/data:ro -m 256m --cpus 1.5 IMAGE */
static const char podman[] =
    "{'ociVersion': '1.0.2-dev', 'process': {'user': {'uid': 0, 'gid': 0,"
    " 'umask': 18, 'additionalGids': [0, 1, 2, 3, 4, 6, 10, 11, 20, 26,"
    " 27]}, 'args': ['nginx', '-g', 'daemon off;'], 'env': ["
    " 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
    " 'TERM=xterm', 'container=podman', 'NGINX_VERSION=1.25.3',"
    " 'HOME=/root', 'HOSTNAME=0123456789ab'], 'cwd': '/',"
    " 'capabilities': {'bounding': " CAPS ", 'effective': " CAPS
    ", 'permitted': " CAPS "}, 'rlimits': [{'type': 'RLIMIT_NOFILE',"
    " 'hard': 1048576, 'soft': 1048576}, {'type': 'RLIMIT_NPROC', 'hard':"
    " 4194304, 'soft': 4194304}], 'oomScoreAdj': 0},"
    " 'root': {'path': '/var/lib/containers/storage/overlay/f00d/merged'},"
    " 'hostname': '0123456789ab', 'mounts': [" KERNEL_MOUNTS ", "
    "{'destination': '/data', 'type': 'bind', 'source': '/srv/data',"
    " 'options': ['bind', 'rprivate', 'ro']}, " PODMAN_BINDS ", "
    "{'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source':"
    " 'cgroup', 'options': ['rprivate', 'nosuid', 'noexec', 'nodev',"
    " 'relatime', 'ro']}], 'annotations': {'io.container.manager':"
    " 'libpod', 'io.podman.annotations.autoremove': 'FALSE',"
    " 'org.opencontainers.image.stopSignal': '3'}, 'linux': {"
    " 'resources': {'devices': [{'allow': false, 'access': 'rwm'}],"
    " 'memory': {'limit': 268435456, 'swap': 536870912}, 'cpu': {'quota':"
    " 150000, 'period': 100000}, 'pids': {'limit': 2048}},"
    " 'namespaces': [{'type': 'pid'}, {'type': 'network'}, {'type':"
    " 'ipc'}, {'type': 'uts'}, {'type': 'mount'}, {'type': "
    "'cgroup'}], " PODMAN_LINUX "}}";

/* podman run -it -u 1000:1000 -w /home/app --tmpfs /tmp IMAGE sh */
static const char podman_tty[] =
    "{'ociVersion': '1.0.2-dev', 'process': {'terminal': true,"
    " 'consoleSize': {'height': 50, 'width': 132}, 'user': {'uid': 1000,"
    " 'gid': 1000, 'umask': 18}, 'args': ['sh'], 'env': ["
    " 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
    " 'TERM=xterm', 'container=podman', 'HOME=/home/app'], 'cwd':"
    " '/home/app', 'capabilities': {'bounding': " CAPS ", 'effective': " CAPS
    ", 'permitted': " CAPS "}, 'noNewPrivileges': false},"
    " 'root': {'path': '/var/lib/containers/storage/overlay/beef/merged'},"
    " 'hostname': 'dev', 'mounts': [" KERNEL_MOUNTS ", {'destination':"
    " '/tmp', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rw',"
    " 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']}, " PODMAN_BINDS "],"
    " 'annotations': {'io.container.manager': 'libpod'}, 'linux': {"
    " 'namespaces': [{'type': 'pid'}, {'type': 'network'}, {'type':"
    " 'ipc'}, {'type': 'uts'}, {'type': 'mount'}], " PODMAN_LINUX "}}";

/* podman run --read-only --tmpfs /run:size=64m,mode=755 -v a file */
static const char podman_readonly[] =
    "{'ociVersion': '1.0.2-dev', 'process': {'user': {'uid': 33, 'gid':"
    " 33}, 'args': ['/usr/sbin/php-fpm', '-F'], 'env': ['PATH=/usr/bin:"
    "/bin'], 'cwd': '/var/www'}, 'root': {'path':"
    " '/var/lib/containers/storage/overlay/cafe/merged', 'readonly':"
    " true}, 'mounts': [" KERNEL_MOUNTS ", {'destination': '/run', 'type':"
    " 'tmpfs', 'source': 'tmpfs', 'options': ['rw', 'rprivate',"
    " 'size=64m', 'mode=755', 'nosuid', 'nodev']}, {'destination':"
    " '/var/tmp', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rw',"
    " 'rprivate', 'nosuid', 'nodev']}, {'destination':"
    " '/etc/php/php.ini', 'type': 'bind', 'source': '/srv/conf/php.ini',"
    " 'options': ['bind', 'rprivate', 'ro']}, " PODMAN_BINDS "],"
    " 'linux': {'resources': {'memory': {'limit': 10485760}},"
    " 'namespaces': [{'type': 'mount'}, {'type': 'pid'}], " MASKED "}}";

/* podman's rootless/CNI network: an existing namespace by path */
static const char podman_netns[] =
    "{'ociVersion': '1.0.2-dev', 'process': {'args': ['/bin/sleep',"
    " 'infinity'], 'env': ['PATH=/bin'], 'cwd': '/'}, 'root': {'path':"
    " '/var/lib/containers/storage/overlay/abcd/merged'}, 'hostname':"
    " 'net', 'mounts': [" PODMAN_BINDS "], 'linux': {'namespaces':"
    " [{'type': 'pid'}, {'type': 'network', 'path':"
    " '/run/netns/netns-6b2c1e7a-93ff-2c5e-0d2e-7b9a1c4e5f60'}, {'type':"
    " 'ipc'}, {'type': 'uts'}, {'type': 'mount'}]}}";

/* containerd 1.6 (ctr / the CRI plugin) with runc's shim */
static const char containerd[] =
    "{'ociVersion': '1.1.0-rc.1', 'process': {'user': {'uid': 65535,"
    " 'gid': 65535, 'additionalGids': [65535]}, 'args': ['/pause'], 'env':"
    " ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],"
    " 'cwd': '/', 'capabilities': {'bounding': ['CAP_CHOWN'], 'effective':"
    " ['CAP_CHOWN'], 'permitted': ['CAP_CHOWN']}, 'noNewPrivileges': true,"
    " 'oomScoreAdj': -998}, 'root': {'path': 'rootfs', 'readonly': true},"
    " 'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc',"
    " 'options': ['nosuid', 'noexec', 'nodev']}, {'destination': '/dev',"
    " 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid',"
    " 'strictatime', 'mode=755', 'size=65536k']}, {'destination':"
    " '/dev/shm', 'type': 'bind', 'source':"
    " '/run/containerd/io.containerd.grpc.v1.cri/sandboxes/0123/shm',"
    " 'options': ['rbind', 'ro', 'nosuid', 'nodev', 'noexec']},"
    " {'destination': '/etc/resolv.conf', 'type': 'bind', 'source':"
    " '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/0123/"
    "resolv.conf', 'options': ['rbind', 'ro']}, {'destination': '/data',"
    " 'source': '/srv/data', 'options': ['rbind', 'rprivate', 'rw']},"
    " {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',"
    " 'options': ['nosuid', 'noexec', 'nodev', 'ro']}], 'annotations': {"
    " 'io.kubernetes.cri.container-type': 'sandbox',"
    " 'io.kubernetes.cri.sandbox-id': '0123'}, 'linux': {'resources':"
    " {'devices': [{'allow': false, 'access': 'rwm'}], 'cpu': {'shares':"
    " 2}}, 'cgroupsPath': '/k8s.io/0123', 'namespaces': [{'type': 'pid'},"
    " {'type': 'ipc'}, {'type': 'uts'}, {'type': 'mount'}, {'type':"
    " 'network', 'path': '/var/run/netns/cni-1234'}], 'seccomp':"
    " {'defaultAction': 'SCMP_ACT_ERRNO', 'architectures':"
    " ['SCMP_ARCH_X86_64'], 'syscalls': [{'names': ['read'], 'action':"
    " 'SCMP_ACT_ALLOW'}]}, " MASKED "}}";

/* runc spec: the default config, a rootfs next to it */
static const char runc_spec[] =
    "{'ociVersion': '1.0.2-dev', 'process': {'terminal': true, 'user':"
    " {'uid': 0, 'gid': 0}, 'args': ['sh'], 'env': ['PATH=/usr/local/sbin:"
    "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'], 'cwd': '/',"
    " 'capabilities': {'bounding': ['CAP_AUDIT_WRITE', 'CAP_KILL',"
    " 'CAP_NET_BIND_SERVICE'], 'effective': ['CAP_AUDIT_WRITE',"
    " 'CAP_KILL', 'CAP_NET_BIND_SERVICE'], 'permitted':"
    " ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'], 'ambient':"
    " ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']}, 'rlimits':"
    " [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}],"
    " 'noNewPrivileges': true}, 'root': {'path': 'rootfs', 'readonly':"
    " true}, 'hostname': 'runc', 'mounts': [{'destination': '/proc',"
    " 'type': 'proc', 'source': 'proc'}, {'destination': '/dev', 'type':"
    " 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', 'strictatime',"
    " 'mode=755', 'size=65536k']}, {'destination': '/dev/pts', 'type':"
    " 'devpts', 'source': 'devpts', 'options': ['nosuid', 'noexec',"
    " 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},"
    " {'destination': '/dev/shm', 'type': 'tmpfs', 'source': 'shm',"
    " 'options': ['nosuid', 'noexec', 'nodev', 'mode=1777',"
    " 'size=65536k']}, {'destination': '/dev/mqueue', 'type': 'mqueue',"
    " 'source': 'mqueue', 'options': ['nosuid', 'noexec', 'nodev']},"
    " {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',"
    " 'options': ['nosuid', 'noexec', 'nodev', 'ro']}, {'destination':"
    " '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup', 'options':"
    " ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']}], 'linux':"
    " {'resources': {'devices': [{'allow': false, 'access': 'rwm'}]},"
    " 'namespaces': [{'type': 'pid'}, {'type': 'network'}, {'type':"
    " 'ipc'}, {'type': 'uts'}, {'type': 'mount'}, {'type': 'cgroup'}], " MASKED
    "}}";

static const char minimal[] =
    "{'ociVersion': '1.0.0', 'process': {'args': ['/bin/true'], 'cwd':"
    " '/'}, 'root': {'path': 'rootfs'}}";

/* the VM's size by annotation, over the cgroup limits */
static const char annotations[] =
    "{'ociVersion': '1.0.2', 'process': {'args': ['/usr/bin/python3',"
    " '-m', 'http.server', '8080'], 'env': ['PYTHONUNBUFFERED=1'], 'cwd':"
    " '/srv'}, 'root': {'path': './rootfs'}, 'linux': {'resources':"
    " {'memory': {'limit': 134217728}, 'cpu': {'quota': 50000, 'period':"
    " 100000}}}, 'annotations': {'io.supermachine.cpus': '4',"
    " 'io.supermachine.memory': '2g'}}";

/* docker 24 (moby through containerd): hooks, user namespace, limits */
static const char docker[] =
    "{'ociVersion': '1.0.2-dev', 'process': {'user': {'uid': 1000, 'gid':"
    " 1000, 'additionalGids': [1000, 27]}, 'args': ['/docker-entrypoint.sh',"
    " 'postgres'], 'env': ['PATH=/usr/lib/postgresql/16/bin:/usr/bin:/bin',"
    " 'PGDATA=/var/lib/postgresql/data', 'POSTGRES_PASSWORD=secret'],"
    " 'cwd': '/', 'apparmorProfile': 'docker-default', 'oomScoreAdj': 0,"
    " 'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 65536, 'soft': 1024}]},"
    " 'root': {'path':"
    " '/var/lib/docker/overlay2/0123456789abcdef/merged'}, 'hostname':"
    " 'db', 'mounts': [{'destination': '/var/lib/postgresql/data', 'type':"
    " 'bind', 'source': '/var/lib/docker/volumes/pgdata/_data', 'options':"
    " ['rbind', 'rprivate']}, {'destination': '/etc/hosts', 'type':"
    " 'bind', 'source': '/var/lib/docker/containers/0123/hosts',"
    " 'options': ['rbind', 'rprivate']}, {'destination': '/dev/shm',"
    " 'type': 'tmpfs', 'source': 'shm', 'options': ['nosuid', 'noexec',"
    " 'nodev', 'mode=1777', 'size=67108864']}], 'hooks': {'prestart':"
    " [{'path': '/proc/4321/exe', 'args': ['libnetwork-setkey', '-exec-root"
    "=/var/run/docker', '0123', '9876']}]}, 'linux': {'uidMappings':"
    " [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
    " 'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size':"
    " 65536}], 'resources': {'memory': {'limit': 1073741824,"
    " 'reservation': 536870912}, 'cpu': {'quota': 200000, 'period':"
    " 100000, 'cpus': '0-3'}, 'pids': {'limit': 100}, 'blockIO':"
    " {'weight': 500}}, 'namespaces': [{'type': 'mount'}, {'type':"
    " 'network'}, {'type': 'uts'}, {'type': 'pid'}, {'type': 'ipc'},"
    " {'type': 'user'}], 'sysctl': {'net.ipv4.ip_unprivileged_port_start':"
    " '0'}, 'rootfsPropagation': 'rprivate'}}";

/* podman exec --process FILE: the process object alone */
static const char exec_process[] =
    "{'terminal': true, 'consoleSize': {'height': 24, 'width': 80},"
    " 'user': {'uid': 0, 'gid': 0, 'additionalGids': [0]}, 'args':"
    " ['/bin/bash', '-l'], 'env': ['PATH=/usr/bin:/bin', 'TERM=xterm',"
    " 'HOME=/root'], 'cwd': '/root', 'capabilities': {'bounding': " CAPS
    ", 'effective': " CAPS ", 'permitted': " CAPS "}, 'noNewPrivileges':"
    " false, 'apparmorProfile': 'containers-default-0.50.1'}";

/* Writes text with " for '; a seed that no longer parses (and, for a
 * config, maps) is a mistake here: it aborts. */
static void seed(const char *name, const char *text, bool process_only)
{
	struct bundle b;
	struct bundle_run m;
	struct sm_error err = {0};
	char *s = strdup(text);
	int r;

	if (!s)
		abort();
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	r = process_only ? bundle_parse_process(s, strlen(s), &b, &err)
			 : bundle_parse(s, strlen(s), &b, &err);
	if (!r && !process_only &&
	    !(r = bundle_to_run(&b, BUNDLE_DIR, &m, &err)))
		bundle_run_free(&m);
	if (r) {
		fprintf(stderr, "seed %s: %s\n", name, err.msg);
		abort();
	}
	bundle_free(&b);
	seed_write(name, s, strlen(s));
	free(s);
}

static void make_seeds(void)
{
	seed("podman", podman, false);
	seed("podman-tty", podman_tty, false);
	seed("podman-readonly", podman_readonly, false);
	seed("podman-netns", podman_netns, false);
	seed("containerd", containerd, false);
	seed("runc-spec", runc_spec, false);
	seed("minimal", minimal, false);
	seed("annotations", annotations, false);
	seed("docker", docker, false);
	seed("exec-process", exec_process, true);
}

FUZZ_SEEDS(make_seeds)

/* ---- the target ---- */

static bool abs_path(const char *s, size_t n)
{
	return n > 0 && s[0] == '/';
}

/* "SRC:DST" or "SRC:DST:ro", both absolute and without ':'. */
static bool volume_ok(const char *v)
{
	const char *c1 = strchr(v, ':'), *c2;

	if (!c1 || !abs_path(v, (size_t)(c1 - v)))
		return false;
	c2 = strchr(c1 + 1, ':');
	if (!abs_path(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1)))
		return false;
	return !c2 || !strcmp(c2, ":ro");
}

static void check_map(const struct bundle *b, const struct bundle_run *m)
{
	const struct sm_run_options *o = &m->o;

	if (!o->rootfs || o->rootfs[0] != '/' || !o->user ||
	    (const void *)o->cmd != (const void *)b->args || !o->cmd[0] ||
	    strcmp(o->workdir, b->cwd) || o->cpus > 64 ||
	    (o->memory_mib && o->memory_mib < SM_MIN_MEMORY_MIB))
		abort();
	if ((o->volumes != NULL) != (m->nvolumes > 0) ||
	    (o->tmpfs != NULL) != (m->ntmpfs > 0))
		abort();
	for (size_t i = 0; i < m->nvolumes; i++)
		if (!volume_ok(o->volumes[i]))
			abort();
	for (size_t i = 0; i < m->ntmpfs; i++)
		if (o->tmpfs[i][0] != '/')
			abort();
	if (b->nnotes > BUNDLE_MAX_NOTES)
		abort();
}

static bool all_zero(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle b;
	struct bundle_run m;
	struct sm_error err = {0};

	if (bundle_parse((const char *)data, size, &b, &err) == 0) {
		if (bundle_to_run(&b, BUNDLE_DIR, &m, &err) == 0) {
			check_map(&b, &m);
			bundle_run_free(&m);
		} else if (!all_zero(&m, sizeof(m))) {
			abort(); /* a refused mapping is freed */
		}
		bundle_free(&b);
	} else if (!all_zero(&b, sizeof(b)) || err.code >= 0) {
		abort(); /* a refusal frees and says why */
	}
	if (bundle_parse_process((const char *)data, size, &b, &err) == 0)
		bundle_free(&b);
	else if (!all_zero(&b, sizeof(b)))
		abort();
	return 0;
}
