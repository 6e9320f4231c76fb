/*
 * An OCI bundle's config.json (src/bundle/bundle.h) is untrusted: every
 * field is type-checked and capped, a wrong one is named in the error,
 * what does not apply to a VM is noted, and the mapping to run options
 * (bundle_to_run) turns binds into -v, tmpfs into --tmpfs, the cgroup
 * limits and annotations into the VM's size. Every path frees what it
 * took (the SANITIZE=1 build checks for leaks).
 *
 * The JSON below is written with ' for " (sq() swaps them back) so that
 * it reads as the config.json it stands for.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"
#include "test.h"

#define DIR "/run/containers/bundles/0123456789ab"
#define CTR "/run/containers/storage/overlay-containers/0123456789ab/userdata"
#define ROOTFS "/var/lib/containers/storage/overlay/f00d/merged"

/* What podman 4.3 (Debian 12) writes for
 *   podman run -t --hostname web -u 1000:1000 --group-add 10 -m 256m
 *     --cpus 1.5 -w /srv -v /srv/data:/data:ro -v /etc/app.conf:/etc/app.conf
 *     --tmpfs /tmp:size=64m,mode=1777 --read-only IMAGE /bin/sh -c 'echo hi'
 * (capabilities, seccomp and masked paths shortened). */
static const char podman[] =
    "{'ociVersion': '1.0.2-dev',"
    " 'process': {"
    "  'terminal': true,"
    "  'consoleSize': {'height': 24, 'width': 80},"
    "  'user': {'uid': 1000, 'gid': 1000, 'umask': 18,"
    "           'additionalGids': [10, 1000]},"
    "  'args': ['/bin/sh', '-c', 'echo hi'],"
    "  'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
    "/sbin:/bin', 'TERM=xterm', 'container=podman', 'HOME=/home/app',"
    "          'HOSTNAME=web'],"
    "  'cwd': '/srv',"
    "  'capabilities': {"
    "   'bounding': ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],"
    "   'effective': ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],"
    "   'permitted': ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']},"
    "  'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1048576,"
    "               'soft': 1048576},"
    "              {'type': 'RLIMIT_NPROC', 'hard': 4194304,"
    "               'soft': 4194304}],"
    "  'oomScoreAdj': 0},"
    " 'root': {'path': '" ROOTFS "', 'readonly': true},"
    " 'hostname': 'web',"
    " 'mounts': ["
    "  {'destination': '/proc', 'type': 'proc', 'source': 'proc',"
    "   'options': ['nosuid', 'noexec', 'nodev']},"
    "  {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',"
    "   'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},"
    "  {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',"
    "   'options': ['nosuid', 'noexec', 'nodev', 'ro']},"
    "  {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',"
    "   'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666',"
    "               'mode=0620', 'gid=5']},"
    "  {'destination': '/dev/mqueue', 'type': 'mqueue', 'source': 'mqueue',"
    "   'options': ['nosuid', 'noexec', 'nodev']},"
    "  {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs',"
    "   'options': ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup',"
    "               'size=64m', 'mode=1777']},"
    "  {'destination': '/data', 'type': 'bind', 'source': '/srv/data',"
    "   'options': ['bind', 'rprivate', 'ro']},"
    "  {'destination': '/etc/app.conf', 'type': 'bind',"
    "   'source': '/etc/app.conf', 'options': ['bind', 'rprivate']},"
    "  {'destination': '/etc/hostname', 'type': 'bind',"
    "   'source': '" CTR "/hostname', 'options': ['bind', 'rprivate']},"
    "  {'destination': '/etc/resolv.conf', 'type': 'bind',"
    "   'source': '" CTR "/resolv.conf', 'options': ['bind', 'rprivate']},"
    "  {'destination': '/dev/shm', 'type': 'bind', 'source': '" CTR "/shm',"
    "   'options': ['bind', 'rprivate', 'nosuid', 'noexec', 'nodev']},"
    "  {'destination': '/sys/fs/cgroup', 'type': 'cgroup',"
    "   'source': 'cgroup', 'options': ['rprivate', 'nosuid', 'noexec',"
    "                                   'nodev', 'relatime', 'ro']}],"
    " 'annotations': {'io.container.manager': 'libpod',"
    "  'io.podman.annotations.autoremove': 'FALSE',"
    "  'org.opencontainers.image.stopSignal': '15'},"
    " 'linux': {"
    "  'sysctl': {'net.ipv4.ping_group_range': '0 0'},"
    "  'resources': {"
    "   'devices': [{'allow': false, 'access': 'rwm'}],"
    "   'memory': {'limit': 268435456, 'swap': 536870912},"
    "   'cpu': {'quota': 150000, 'period': 100000},"
    "   'pids': {'limit': 2048}},"
    "  'cgroupsPath': 'machine.slice:libpod:0123456789ab',"
    "  'namespaces': [{'type': 'pid'}, {'type': 'network'},"
    "                 {'type': 'ipc'}, {'type': 'uts'}, {'type': 'mount'},"
    "                 {'type': 'cgroup'}],"
    "  'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO',"
    "              'defaultErrnoRet': 38,"
    "              'architectures': ['SCMP_ARCH_X86_64'],"
    "              'syscalls': [{'names': ['read', 'write'],"
    "                            'action': 'SCMP_ACT_ALLOW'}]},"
    "  'maskedPaths': ['/proc/acpi', '/proc/kcore', '/proc/keys'],"
    "  'readonlyPaths': ['/proc/asound', '/proc/bus', '/proc/sys']}}";

/* The least a config.json may be: the process, its cwd, the root. */
#define MIN_PROC "'process': {'args': ['/bin/true'], 'cwd': '/'}"
#define MIN_ROOT "'root': {'path': 'rootfs'}"
#define CFG(...) "{'ociVersion': '1.0.2', " __VA_ARGS__ "}"

static struct sm_error err;

/* text with ' turned into " (a heap copy, the caller frees). */
static char *sq(const char *text)
{
	char *s = strdup(text);

	for (char *p = s; p && *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static int parse_len(struct bundle *b, const char *text, size_t len)
{
	memset(&err, 0, sizeof(err));
	return bundle_parse(text, len, b, &err);
}

/* Parses text written with ' for ". */
static int parse(struct bundle *b, const char *text)
{
	char *s = sq(text);
	int r = parse_len(b, s, strlen(s));

	free(s);
	return r;
}

static bool all_zero(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i])
			return false;
	return true;
}

/* A refusal with code, a message with want, and b left empty. */
static int refused_raw(const char *text, size_t len, int code, const char *want)
{
	struct bundle b;
	int r = parse_len(&b, text, len);

	if (r == 0) {
		bundle_free(&b);
		fprintf(stderr, "accepted: %.300s\n", text);
		return 0;
	}
	if (r != code || err.code != r || !strstr(err.msg, want)) {
		fprintf(stderr, "%d, \"%s\": wanted %d, \"%s\"\n", r, err.msg,
			code, want);
		return 0;
	}
	if (!all_zero(&b, sizeof(b))) {
		fprintf(stderr, "refused, but the bundle is not emptied\n");
		return 0;
	}
	return 1;
}

static int refused(const char *text, int code, const char *want)
{
	char *s = sq(text);
	int r = refused_raw(s, strlen(s), code, want);

	free(s);
	return r;
}

/* The list equals the NULL-terminated variadic strings. */
static int list_is(const char *const *list, ...)
{
	va_list ap;
	const char *want;
	size_t i = 0;
	int ok = 1;

	va_start(ap, list);
	while ((want = va_arg(ap, const char *))) {
		if (!list || !list[i] || strcmp(list[i], want)) {
			fprintf(stderr, "[%zu]: \"%s\", expected \"%s\"\n", i,
				list && list[i] ? list[i] : "(end)", want);
			ok = 0;
			break;
		}
		i++;
	}
	va_end(ap);
	if (ok && list && list[i]) {
		fprintf(stderr, "[%zu]: \"%s\" more than expected\n", i,
			list[i]);
		ok = 0;
	}
	return ok;
}

/* How many notes contain s. */
static int notes_with(const struct bundle *b, const char *s)
{
	int n = 0;

	for (size_t i = 0; i < b->nnotes; i++)
		if (strstr(b->notes[i], s))
			n++;
	return n;
}

/* Maps text (' for ") with bundle dir DIR: 0 or the error. */
static int map_text(const char *text, struct bundle *b, struct bundle_run *m)
{
	int r = parse(b, text);

	if (r)
		return r;
	r = bundle_to_run(b, DIR, m, &err);
	if (r)
		bundle_free(b);
	return r;
}

/* text parses; its mapping is refused with want, and frees its own. */
static int map_refused(const char *text, const char *want)
{
	struct bundle b;
	struct bundle_run m;
	int r = parse(&b, text);

	if (r) {
		fprintf(stderr, "not parsed: %s\n", err.msg);
		return 0;
	}
	memset(&err, 0, sizeof(err));
	r = bundle_to_run(&b, DIR, &m, &err);
	bundle_free(&b);
	if (r == 0) {
		bundle_run_free(&m);
		fprintf(stderr, "mapped: %.300s\n", text);
		return 0;
	}
	if (r != -EINVAL || !strstr(err.msg, want)) {
		fprintf(stderr, "%d, \"%s\": wanted \"%s\"\n", r, err.msg,
			want);
		return 0;
	}
	return all_zero(&m, sizeof(m));
}

TEST(podman_config_parses)
{
	struct bundle b;

	CHECK_EQ(parse(&b, podman), 0);
	CHECK(list_is((const char *const *)b.args, "/bin/sh", "-c", "echo hi",
		      NULL));
	CHECK(b.env && b.env[4] && !b.env[5]);
	CHECK_STR(b.env[3], "HOME=/home/app");
	CHECK_STR(b.cwd, "/srv");
	CHECK_EQ(b.uid, 1000);
	CHECK_EQ(b.gid, 1000);
	CHECK_EQ(b.n_additional_gids, 2);
	CHECK(b.terminal && !b.no_new_privileges);
	CHECK_EQ(b.console_rows, 24);
	CHECK_EQ(b.console_cols, 80);
	CHECK_STR(b.root_path, ROOTFS);
	CHECK(b.root_readonly);
	CHECK_STR(b.hostname, "web");
	CHECK_EQ(b.nmounts, 12);
	CHECK_STR(b.mounts[0].destination, "/proc");
	CHECK_STR(b.mounts[0].type, "proc");
	CHECK_STR(b.mounts[6].source, "/srv/data");
	CHECK(list_is((const char *const *)b.mounts[6].options, "bind",
		      "rprivate", "ro", NULL));
	CHECK_EQ(b.memory_limit, 256 << 20);
	CHECK_EQ(b.cpu_quota, 150000);
	CHECK_EQ(b.cpu_period, 100000);
	CHECK(b.has_netns && !b.netns_path);
	CHECK(!b.ann_cpus && !b.ann_memory);
	bundle_free(&b);
	CHECK(all_zero(&b, sizeof(b)));
}

TEST(podman_config_maps)
{
	struct bundle b;
	struct bundle_run m;
	const struct sm_run_options *o = &m.o;

	CHECK_EQ(map_text(podman, &b, &m), 0);
	if (test_failed_now)
		return;
	CHECK(list_is(o->cmd, "/bin/sh", "-c", "echo hi", NULL));
	CHECK_STR(o->entrypoint, ""); /* args are the whole command */
	CHECK(o->env && (const void *)o->env == (const void *)b.env);
	CHECK_STR(o->workdir, "/srv");
	CHECK_STR(o->user, "1000:1000");
	CHECK_STR(o->hostname, "web");
	CHECK_EQ(o->tty, 1);
	CHECK_EQ(o->interactive, 1);
	CHECK_STR(o->rootfs, ROOTFS); /* absolute: as written */
	CHECK_EQ(o->rootfs_readonly, 1);
	CHECK_EQ(o->pull, SM_PULL_NEVER);
	CHECK_EQ(o->no_snapshot, 1);
	CHECK_EQ(o->memory_mib, 256);
	CHECK_EQ(o->cpus, 2);	       /* 1.5 CPUs: rounded up */
	CHECK_STR(o->network, "none"); /* a new network namespace */
	CHECK_EQ(o->size, sizeof(*o));
	CHECK_EQ(o->stdin_fd, 0);
	CHECK_EQ(o->signal_fd, -1);
	bundle_run_free(&m);
	CHECK(all_zero(&m, sizeof(m)));
	bundle_free(&b);
}

TEST(podman_mounts_map)
{
	struct bundle b;
	struct bundle_run m;

	CHECK_EQ(map_text(podman, &b, &m), 0);
	if (test_failed_now)
		return;
	/* binds, file and directory alike, in order; ro kept */
	CHECK(list_is(m.o.volumes, "/srv/data:/data:ro",
		      "/etc/app.conf:/etc/app.conf",
		      CTR "/hostname:/etc/hostname",
		      CTR "/resolv.conf:/etc/resolv.conf", NULL));
	CHECK_EQ(m.nvolumes, 4);
	/* /tmp keeps rw, nosuid, nodev, size=, mode=; not rprivate or
	 * tmpcopyup. /dev/shm becomes the guest's own tmpfs. The /dev
	 * tmpfs, proc, sysfs and devpts are the guest's: not here. */
	CHECK(list_is(m.o.tmpfs, "/tmp:rw,nosuid,nodev,size=64m,mode=1777",
		      "/dev/shm:mode=1777,nosuid,nodev", NULL));
	CHECK_EQ(m.ntmpfs, 2);
	CHECK_EQ(notes_with(&b, "mount /dev/mqueue (type mqueue)"), 1);
	CHECK_EQ(notes_with(&b, "mount /sys/fs/cgroup (type cgroup)"), 1);
	CHECK_EQ(notes_with(&b, "not mounted in the VM"), 2);
	CHECK_EQ(notes_with(&b, "/proc"), 0);
	CHECK_EQ(notes_with(&b, "/dev/pts"), 0);
	bundle_run_free(&m);
	bundle_free(&b);
}

TEST(ignored_fields_noted)
{
	struct bundle b;
	static const char *const noted[] = {
	    "process.capabilities:",
	    "process.rlimits:",
	    "process.oomScoreAdj:",
	    "process.user.umask:",
	    "process.user.additionalGids:",
	    "linux.seccomp:",
	    "linux.maskedPaths:",
	    "linux.readonlyPaths:",
	    "linux.sysctl:",
	    "linux.cgroupsPath:",
	    "linux.resources.pids:",
	    "linux.resources.devices:",
	};

	CHECK_EQ(parse(&b, podman), 0);
	for (size_t i = 0; i < sizeof(noted) / sizeof(noted[0]); i++)
		if (notes_with(&b, noted[i]) != 1) {
			fprintf(stderr, "no note on %s\n", noted[i]);
			CHECK(!"a note for each ignored field");
		}
	CHECK_EQ(notes_with(&b, "hooks"), 0);
	bundle_free(&b);
	/* hooks; noNewPrivileges is noted by the mapping */
	CHECK_EQ(parse(&b, CFG("'process': {'args': ['/x'], 'cwd': '/', "
			       "'noNewPrivileges': true}, " MIN_ROOT ", "
			       "'hooks': {'prestart': [{'path': '/bin/hook'}],"
			       " 'poststop': []}")),
		 0);
	CHECK_EQ(notes_with(&b, "hooks: not run"), 1);
	CHECK_EQ(b.nnotes, 1);
	CHECK(b.no_new_privileges);
	{
		struct bundle_run m;

		CHECK_EQ(bundle_to_run(&b, DIR, &m, &err), 0);
		CHECK_EQ(notes_with(&b, "process.noNewPrivileges"), 1);
		bundle_run_free(&m);
	}
	bundle_free(&b);
	/* a config with nothing to ignore has no notes */
	CHECK_EQ(parse(&b, CFG(MIN_PROC ", " MIN_ROOT)), 0);
	CHECK_EQ(b.nnotes, 0);
	bundle_free(&b);
}

TEST(minimal_config_defaults)
{
	struct bundle b;
	struct bundle_run m;

	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT), &b, &m), 0);
	if (test_failed_now)
		return;
	CHECK(b.env && !b.env[0]); /* an empty list, not NULL */
	CHECK(b.mounts && b.nmounts == 0);
	CHECK(!b.hostname && !b.terminal && !b.root_readonly);
	CHECK_STR(m.o.user, "0:0");
	CHECK(!m.o.hostname); /* a random one */
	CHECK_EQ(m.o.tty, 0);
	CHECK_STR(m.o.rootfs, DIR "/rootfs"); /* relative: the bundle's */
	CHECK_EQ(m.o.rootfs_readonly, 0);
	CHECK_EQ(m.o.memory_mib, 0);
	CHECK_EQ(m.o.cpus, 0);
	CHECK(!m.o.network); /* no network namespace: the VM's own */
	CHECK(!m.o.volumes && !m.o.tmpfs);
	CHECK_EQ(b.nnotes, 0);
	bundle_run_free(&m);
	bundle_free(&b);
	/* an empty hostname is none; ociVersion 1.1.0 is 1.x */
	CHECK_EQ(map_text("{'ociVersion': '1.1.0', " MIN_PROC ", "
			  "'root': {'path': './root/fs', 'readonly': false}, "
			  "'hostname': '', 'linux': null, 'mounts': null}",
			  &b, &m),
		 -EINVAL);
	CHECK(strstr(err.msg, "mounts: not an array"));
	CHECK_EQ(map_text("{'ociVersion': '1.1.0', " MIN_PROC ", "
			  "'root': {'path': './root/fs', 'readonly': false}, "
			  "'hostname': '', 'linux': null}",
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK_STR(m.o.rootfs, DIR "/./root/fs");
	CHECK(!m.o.hostname);
	bundle_run_free(&m);
	bundle_free(&b);
}

TEST(resources_size_the_vm)
{
	struct bundle b;
	struct bundle_run m;

	/* 10 MiB: below a VM's minimum, which it gets, with a note */
	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'resources': {'memory': "
				       "{'limit': 10485760}}}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK_EQ(m.o.memory_mib, SM_MIN_MEMORY_MIB);
	CHECK_EQ(notes_with(&b, "memory.limit: 10 MiB is below"), 1);
	bundle_run_free(&m);
	bundle_free(&b);
	/* a byte over 256 MiB rounds up; quota == period: one CPU; -1:
	 * unlimited */
	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'resources': {'memory': "
				       "{'limit': 268435457}, 'cpu': "
				       "{'quota': 100000, 'period': 100000}}}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK_EQ(m.o.memory_mib, 257);
	CHECK_EQ(m.o.cpus, 1);
	bundle_run_free(&m);
	bundle_free(&b);
	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'resources': {'memory': {'limit': -1},"
				       " 'cpu': {'quota': -1, 'period': "
				       "100000, 'shares': 1024}}}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK_EQ(m.o.memory_mib, 0);
	CHECK_EQ(m.o.cpus, 0);
	bundle_run_free(&m);
	bundle_free(&b);
	/* the largest numbers: capped, no overflow */
	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'resources': {'memory': {'limit': "
				       "9223372036854775807}, 'cpu': "
				       "{'quota': 9223372036854775807, "
				       "'period': 1}}}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK_EQ(m.o.memory_mib, (uint64_t)1 << 43);
	CHECK_EQ(m.o.cpus, 64);
	bundle_run_free(&m);
	bundle_free(&b);
	/* wrong types and ranges are named */
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'resources': "
				   "{'memory': {'limit': -2}}}"),
		      -EINVAL, "linux.resources.memory.limit: not an integer"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'resources': "
				   "{'cpu': {'period': 1.5}}}"),
		      -EINVAL, "linux.resources.cpu.period: not an integer"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'resources': "
				   "{'cpu': []}}"),
		      -EINVAL, "linux.resources.cpu: not an object"));
}

TEST(annotations_override)
{
	struct bundle b;
	struct bundle_run m;
	static const char *const mem[][2] = {{"'1g'", "1024"},
					     {"'2G'", "2048"},
					     {"'512m'", "512"},
					     {"'768M'", "768"},
					     {"'64'", "64"}};

	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'resources': {'memory': {'limit': "
				       "268435456}, 'cpu': {'quota': 150000, "
				       "'period': 100000}}}, 'annotations': "
				       "{'io.supermachine.cpus': '4', "
				       "'io.supermachine.memory': '1g', "
				       "'org.example': 'x'}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK_STR(b.ann_cpus, "4");
	CHECK_STR(b.ann_memory, "1g");
	CHECK_EQ(m.o.cpus, 4);
	CHECK_EQ(m.o.memory_mib, 1024);
	bundle_run_free(&m);
	bundle_free(&b);
	for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text),
			 CFG(MIN_PROC ", " MIN_ROOT ", 'annotations': "
				      "{'io.supermachine.memory': %s}"),
			 mem[i][0]);
		CHECK_EQ(map_text(text, &b, &m), 0);
		if (test_failed_now)
			return;
		CHECK_EQ(m.o.memory_mib, strtoull(mem[i][1], NULL, 10));
		bundle_run_free(&m);
		bundle_free(&b);
	}
}

TEST(annotations_refused)
{
	static const char *const cpus[] = {"0",	 "abc", "65", "",
					   "4x", "-1",	" 4", "+2"};
	static const char *const mem[] = {"10",
					  "63",
					  "0",
					  "abc",
					  "1k",
					  "-512",
					  "",
					  "5gb",
					  " -5",
					  "+512",
					  "99999999999999999999m",
					  "2048g"};
	char text[256];

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		snprintf(text, sizeof(text),
			 CFG(MIN_PROC ", " MIN_ROOT ", 'annotations': "
				      "{'io.supermachine.cpus': '%s'}"),
			 cpus[i]);
		if (!map_refused(text, "annotation io.supermachine.cpus: \""))
			CHECK(!"io.supermachine.cpus refused");
	}
	for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++) {
		snprintf(text, sizeof(text),
			 CFG(MIN_PROC ", " MIN_ROOT ", 'annotations': "
				      "{'io.supermachine.memory': '%s'}"),
			 mem[i]);
		if (!map_refused(text, "annotation io.supermachine.memory: \""))
			CHECK(!"io.supermachine.memory refused");
	}
	/* not strings: refused by the parser */
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'annotations': "
				   "{'io.supermachine.cpus': 4}"),
		      -EINVAL,
		      "annotations.io.supermachine.cpus: not a string"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'annotations': []"),
		      -EINVAL, "annotations: not an object"));
}

TEST(network_namespace)
{
	struct bundle b;
	struct bundle_run m;

	/* the engine's own namespace (podman's netns, a CNI one): the
	 * VM's usual network, not none */
	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'namespaces': [{'type': 'pid'}, "
				       "{'type': 'network', 'path': "
				       "'/run/netns/cni-1234'}, "
				       "{'type': 'network'}]}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK(b.has_netns);
	CHECK_STR(b.netns_path, "/run/netns/cni-1234");
	CHECK(!m.o.network);
	bundle_run_free(&m);
	bundle_free(&b);
	/* other namespaces only: the VM's usual network */
	CHECK_EQ(map_text(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': "
				       "{'namespaces': [{'type': 'pid'}, "
				       "{'type': 'mount'}]}"),
			  &b, &m),
		 0);
	if (test_failed_now)
		return;
	CHECK(!b.has_netns && !m.o.network);
	bundle_run_free(&m);
	bundle_free(&b);
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'namespaces': "
				   "[{'type': 'network', 'path': 7}]}"),
		      -EINVAL, "linux.namespaces[0].path: not a string"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'namespaces': "
				   "[{'type': 'pid'}, {'path': '/x'}]}"),
		      -EINVAL, "linux.namespaces[1].type: missing"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'namespaces': "
				   "['network']}"),
		      -EINVAL, "linux.namespaces[0]: not an object"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': {'namespaces': "
				   "{}}"),
		      -EINVAL, "linux.namespaces: not an array"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'linux': 1"), -EINVAL,
		      "linux: not an object"));
}

TEST(containerd_style_mounts)
{
	/* containerd/docker: binds with no type or type none and an rbind
	 * option; a tmpfs option with a comma or unknown is dropped */
	static const char text[] =
	    CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
			 "{'destination': '/a', 'source': "
			 "'/srv/a', 'options': ['rbind', "
			 "'rprivate']},"
			 "{'destination': '/b', 'type': 'none', "
			 "'source': '/srv/b', 'options': "
			 "['rbind', 'ro']},"
			 "{'destination': '/c', 'type': 'none', "
			 "'source': '/srv/c'},"
			 "{'destination': '/run', 'type': "
			 "'tmpfs', 'options': ['size=1m,exec', "
			 "'noatime', 'nr_inodes=100', "
			 "'uid=1000', 'gid=1000', 'noexec']},"
			 "{'destination': '/x', 'type': "
			 "'tmpfs'},"
			 "{'destination': '/dev', 'type': "
			 "'devtmpfs'},"
			 "{'destination': '/o', 'type': "
			 "'overlay', 'source': 'overlay'}]");
	struct bundle b;
	struct bundle_run m;

	CHECK_EQ(map_text(text, &b, &m), 0);
	if (test_failed_now)
		return;
	CHECK(list_is(m.o.volumes, "/srv/a:/a", "/srv/b:/b:ro", NULL));
	CHECK(list_is(m.o.tmpfs, "/run:nr_inodes=100,uid=1000,gid=1000,noexec",
		      "/x", NULL));
	CHECK_EQ(notes_with(&b, "mount /c (type none)"), 1);
	CHECK_EQ(notes_with(&b, "mount /o (type overlay)"), 1);
	CHECK_EQ(notes_with(&b, "/dev"), 0);
	CHECK_STR(b.mounts[0].type, ""); /* absent: empty */
	CHECK_STR(b.mounts[4].source, "");
	CHECK(b.mounts[4].options && !b.mounts[4].options[0]);
	bundle_run_free(&m);
	bundle_free(&b);
}

TEST(binds_refused)
{
	CHECK(map_refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				       "{'destination': '/d', 'type': "
				       "'bind', 'source': 'data', "
				       "'options': ['bind']}]"),
			  "mount /d: bind source \"data\" is not an "
			  "absolute path"));
	CHECK(map_refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				       "{'destination': '/d', 'type': "
				       "'bind', 'options': ['bind']}]"),
			  "is not an absolute path"));
	CHECK(map_refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				       "{'destination': '/d', 'type': "
				       "'bind', 'source': '/srv/a:b'}]"),
			  "mount /d: a bind path with ':'"));
	CHECK(map_refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				       "{'destination': '/d:e', "
				       "'type': 'bind', 'source': "
				       "'/srv/a'}]"),
			  "a bind path with ':'"));
	/* after good ones: what was mapped is freed (the leak check) */
	CHECK(map_refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				       "{'destination': '/a', 'type': "
				       "'bind', 'source': '/srv/a'}, "
				       "{'destination': '/t', 'type': "
				       "'tmpfs'}, {'destination': "
				       "'/d', 'type': 'bind', "
				       "'source': 'rel'}]"),
			  "mount /d: bind source"));
	CHECK(map_refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				       "{'destination': '/a', 'type': "
				       "'bind', 'source': '/srv/a'}, "
				       "{'destination': '/t:u', "
				       "'type': 'tmpfs'}]"),
			  "mount /t:u: a tmpfs destination with ':'"));
}

TEST(tmpfs_too_long_refused)
{
	char *text = NULL, *opts = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&opts, &len);

	/* 100 options of 16 bytes: over the 511 bytes of a --tmpfs spec */
	for (int i = 0; f && i < 100; i++)
		fprintf(f, "%s'size=%010dk'", i ? ", " : "", i);
	CHECK(f && !fclose(f));
	CHECK(asprintf(&text,
		       CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				    "{'destination': '/a', 'type': 'bind', "
				    "'source': '/srv/a'}, {'destination': "
				    "'/t', 'type': 'tmpfs', 'options': "
				    "[%s]}]"),
		       opts) > 0);
	CHECK(map_refused(text, "mount /t: tmpfs options too long"));
	free(text);
	free(opts);
}

TEST(refused_documents)
{
	static const char big[] = "{'ociVersion': '1.0.0'}";

	CHECK(refused("", -EINVAL, "config.json: line"));
	CHECK(refused("{'ociVersion': '1.0.2', ", -EINVAL,
		      "config.json: line 1:"));
	CHECK(refused("not json", -EINVAL, "config.json: line 1:"));
	CHECK(refused("[]", -EINVAL, "config.json: not an object"));
	CHECK(refused("'1.0.2'", -EINVAL, "config.json"));
	CHECK(refused("{" MIN_PROC ", " MIN_ROOT "}", -EINVAL,
		      "ociVersion: missing"));
	CHECK(refused("{'ociVersion': 1.0, " MIN_PROC ", " MIN_ROOT "}",
		      -EINVAL, "ociVersion: not a string"));
	CHECK(refused("{'ociVersion': '2.0', " MIN_PROC ", " MIN_ROOT "}",
		      -ENOTSUP,
		      "ociVersion: \"2.0\": this runtime supports "
		      "1.x"));
	CHECK(refused("{'ociVersion': '1', " MIN_PROC ", " MIN_ROOT "}",
		      -ENOTSUP, "ociVersion: \"1\""));
	CHECK(refused("{'ociVersion': '1.0.2', 'ociVersion': '1.0.2', " MIN_PROC
		      ", " MIN_ROOT "}",
		      -EINVAL, "duplicate object key"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', 'cwd': "
			  "'/'}, " MIN_ROOT),
		      -EINVAL, "duplicate object key"));
	/* over BUNDLE_MAX_CONFIG: refused before parsing */
	CHECK(refused_raw(big, BUNDLE_MAX_CONFIG + 1, -EFBIG,
			  "config.json: over"));
}

TEST(refused_process)
{
	CHECK(refused(CFG(MIN_ROOT), -EINVAL, "process: missing"));
	CHECK(refused(CFG("'process': null, " MIN_ROOT), -EINVAL,
		      "process: missing"));
	CHECK(refused(CFG("'process': [], " MIN_ROOT), -EINVAL,
		      "process: not an object"));
	CHECK(refused(CFG("'process': {'args': [], 'cwd': '/'}, " MIN_ROOT),
		      -EINVAL, "process.args: empty"));
	CHECK(refused(CFG("'process': {'cwd': '/'}, " MIN_ROOT), -EINVAL,
		      "process.args: empty"));
	CHECK(refused(
	    CFG("'process': {'args': '/bin/sh', 'cwd': '/'}, " MIN_ROOT),
	    -EINVAL, "process.args: not an array"));
	CHECK(refused(
	    CFG("'process': {'args': ['/bin/sh', 7], 'cwd': '/'}, " MIN_ROOT),
	    -EINVAL, "process.args[1]: not a string"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'env': ['A=1', null],"
			  " 'cwd': '/'}, " MIN_ROOT),
		      -EINVAL, "process.env[1]: not a string"));
	/* a NUL inside a string: jansson refuses it while parsing */
	CHECK(refused(CFG("'process': {'args': ['/bin/sh\\u0000x'], "
			  "'cwd': '/'}, " MIN_ROOT),
		      -EINVAL, "\\u0000 is not allowed"));
	CHECK(refused(CFG("'process': {'args': ['/x']}, " MIN_ROOT), -EINVAL,
		      "process.cwd: missing"));
	CHECK(
	    refused(CFG("'process': {'args': ['/x'], 'cwd': 'srv'}, " MIN_ROOT),
		    -EINVAL, "process.cwd: not an absolute path"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': ''}, " MIN_ROOT),
		      -EINVAL, "process.cwd: not an absolute path"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'terminal': 1}, " MIN_ROOT),
		      -EINVAL, "process.terminal: not a boolean"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'user': {'uid': 4294967295}}, " MIN_ROOT),
		      -EINVAL,
		      "process.user.uid: not an integer from 0 to "
		      "4294967294"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'user': {'uid': -1}}, " MIN_ROOT),
		      -EINVAL, "process.user.uid: not an integer"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'user': {'uid': 0, 'gid': 1e3}}, " MIN_ROOT),
		      -EINVAL, "process.user.gid: not an integer"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'user': {'uid': '1000'}}, " MIN_ROOT),
		      -EINVAL, "process.user.uid: not an integer"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'user': {'additionalGids': 10}}, " MIN_ROOT),
		      -EINVAL, "process.user.additionalGids: not an array"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'user': 1000}, " MIN_ROOT),
		      -EINVAL, "process.user: not an object"));
	CHECK(refused(CFG("'process': {'args': ['/x'], 'cwd': '/', "
			  "'consoleSize': {'height': 65536}}, " MIN_ROOT),
		      -EINVAL, "process.consoleSize.height: not an integer"));
}

TEST(refused_root_and_mounts)
{
	CHECK(refused(CFG(MIN_PROC), -EINVAL, "root: missing"));
	CHECK(refused(CFG(MIN_PROC ", 'root': {}"), -EINVAL,
		      "root.path: missing"));
	CHECK(refused(CFG(MIN_PROC ", 'root': {'path': ''}"), -EINVAL,
		      "root.path: empty"));
	CHECK(refused(CFG(MIN_PROC ", 'root': {'path': ['rootfs']}"), -EINVAL,
		      "root.path: not a string"));
	CHECK(refused(CFG(MIN_PROC ", 'root': {'path': 'r', 'readonly': "
				   "'yes'}"),
		      -EINVAL, "root.readonly: not a boolean"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'hostname': 1"), -EINVAL,
		      "hostname: not a string"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': {}"), -EINVAL,
		      "mounts: not an array"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				   "{'destination': '/a'}, "
				   "{'destination': 'tmp', 'type': 'tmpfs'}]"),
		      -EINVAL, "mounts[1].destination: not an absolute path"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': [{'type': "
				   "'tmpfs'}]"),
		      -EINVAL, "mounts[0].destination: missing"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ['/tmp']"),
		      -EINVAL, "mounts[0]: not an object"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				   "{'destination': '/a', 'options': "
				   "['ro', 1]}]"),
		      -EINVAL, "mounts[0].options[1]: not a string"));
	CHECK(refused(CFG(MIN_PROC ", " MIN_ROOT ", 'mounts': ["
				   "{'destination': '/a', 'source': null}]"),
		      -EINVAL, "mounts[0].source: not a string"));
}

/* A config with n args (or n mounts): n at the cap parses, one more is
 * refused. */
static char *many(bool mounts, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputs("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, ", f);
	if (mounts) {
		fputs(MIN_PROC ", 'mounts': [", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f,
				"%s{'destination': '/m%zu', 'type': "
				"'tmpfs'}",
				i ? ", " : "", i);
	} else {
		fputs("'process': {'cwd': '/', 'args': [", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s'a%zu'", i ? ", " : "", i);
		fputs("]}", f);
	}
	if (mounts)
		fputs("]", f);
	fputs("}", f);
	return fclose(f) ? NULL : text;
}

TEST(caps_on_counts)
{
	struct bundle b;
	char *text;

	text = many(true, BUNDLE_MAX_MOUNTS);
	CHECK(text && parse(&b, text) == 0);
	if (!test_failed_now) {
		CHECK_EQ(b.nmounts, BUNDLE_MAX_MOUNTS);
		bundle_free(&b);
	}
	free(text);
	text = many(true, BUNDLE_MAX_MOUNTS + 1);
	CHECK(text && refused(text, -E2BIG, "mounts: more than 256"));
	free(text);
	text = many(false, BUNDLE_MAX_ARGS);
	CHECK(text && parse(&b, text) == 0);
	if (!test_failed_now) {
		CHECK_STR(b.args[BUNDLE_MAX_ARGS - 1], "a4095");
		CHECK(!b.args[BUNDLE_MAX_ARGS]);
		bundle_free(&b);
	}
	free(text);
	text = many(false, BUNDLE_MAX_ARGS + 1);
	CHECK(text &&
	      refused(text, -E2BIG, "process.args: more than 4096 entries"));
	free(text);
}

TEST(process_alone)
{
	struct bundle b;
	char *s = sq("{'terminal': true, 'user': {'uid': 33, 'gid': 33}, "
		     "'args': ['/bin/ps', 'aux'], 'env': ['PATH=/bin'], "
		     "'cwd': '/var/www', 'capabilities': {}}");

	memset(&err, 0, sizeof(err));
	CHECK_EQ(bundle_parse_process(s, strlen(s), &b, &err), 0);
	free(s);
	if (test_failed_now)
		return;
	CHECK(list_is((const char *const *)b.args, "/bin/ps", "aux", NULL));
	CHECK(list_is((const char *const *)b.env, "PATH=/bin", NULL));
	CHECK_STR(b.cwd, "/var/www");
	CHECK(b.terminal && b.uid == 33 && b.gid == 33);
	CHECK(!b.root_path && !b.mounts && !b.hostname);
	CHECK_EQ(notes_with(&b, "process.capabilities:"), 1);
	bundle_free(&b);
	/* not an object; a whole config.json; a bad field; not JSON */
	s = sq("['/bin/ps']");
	CHECK_EQ(bundle_parse_process(s, strlen(s), &b, &err), -EINVAL);
	CHECK(strstr(err.msg, "process: not an object"));
	CHECK(all_zero(&b, sizeof(b)));
	free(s);
	s = sq(CFG(MIN_PROC ", " MIN_ROOT));
	CHECK_EQ(bundle_parse_process(s, strlen(s), &b, &err), -EINVAL);
	CHECK(strstr(err.msg, "process.args: empty"));
	free(s);
	s = sq("{'args': ['/x'], 'cwd': '/', 'user': {'gid': -5}}");
	CHECK_EQ(bundle_parse_process(s, strlen(s), &b, &err), -EINVAL);
	CHECK(strstr(err.msg, "process.user.gid: not an integer"));
	CHECK(all_zero(&b, sizeof(b)));
	free(s);
	CHECK_EQ(bundle_parse_process("{", 1, &b, &err), -EINVAL);
	CHECK(strstr(err.msg, "process: line 1:"));
	CHECK_EQ(bundle_parse_process("{}", BUNDLE_MAX_CONFIG + 1, &b, &err),
		 -EFBIG);
}

int main(void)
{
	RUN(podman_config_parses);
	RUN(podman_config_maps);
	RUN(podman_mounts_map);
	RUN(ignored_fields_noted);
	RUN(minimal_config_defaults);
	RUN(resources_size_the_vm);
	RUN(annotations_override);
	RUN(annotations_refused);
	RUN(network_namespace);
	RUN(containerd_style_mounts);
	RUN(binds_refused);
	RUN(tmpfs_too_long_refused);
	RUN(refused_documents);
	RUN(refused_process);
	RUN(refused_root_and_mounts);
	RUN(caps_on_counts);
	RUN(process_alone);
	return test_summary();
}
