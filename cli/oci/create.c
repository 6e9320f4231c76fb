/*
 * create [--bundle DIR] [--console-socket S] [--pid-file F] ID, and run
 * (create then start, in the foreground or --detach): the bundle is read
 * and mapped to a VM's options here, where a mistake can still fail the
 * command; the container's process is a child that waits on exec.fifo
 * for start (as runc's init does), then runs the VM and exits with its
 * process's status. Its pid is the one the engine sees (--pid-file).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "runtime.h"
#include "oci/store.h"
#include "util/fs.h"

struct create_args {
	const char *bundle, *console_socket, *pid_file, *id;
	bool detach;  /* run --detach */
	bool no_fifo; /* run: no start to wait for */
};

static int parse_args(int argc, char **argv, bool is_run, struct create_args *a)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"console-socket", required_argument, NULL, 'c'},
	    {"pid-file", required_argument, NULL, 'p'},
	    {"detach", no_argument, NULL, 'd'},
	    {"no-pivot", no_argument, NULL, 'N'},
	    {"no-new-keyring", no_argument, NULL, 'N'},
	    {"keep", no_argument, NULL, 'N'},
	    {"no-subreaper", no_argument, NULL, 'N'},
	    {"preserve-fds", required_argument, NULL, 'P'},
	    {0, 0, 0, 0}};
	int c;

	*a = (struct create_args){.bundle = ".", .no_fifo = is_run};
	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+b:d", opts, NULL)) != -1) {
		if (c == 'b')
			a->bundle = optarg;
		else if (c == 'c')
			a->console_socket = optarg;
		else if (c == 'p')
			a->pid_file = optarg;
		else if (c == 'd' && is_run)
			a->detach = true;
		else if (c == 'P' && strcmp(optarg, "0"))
			oci_log("warning",
				"--preserve-fds %s: descriptors "
				"cannot be passed into a VM",
				optarg);
		else if (c == '?' || (c == 'd' && !is_run))
			return oci_fail("%s: bad flags (supermachine-oci "
					"--help)",
					argv[0]);
	}
	if (optind != argc - 1)
		return oci_fail("%s: want exactly one container id", argv[0]);
	a->id = argv[optind];
	if (!oci_id_valid(a->id))
		return oci_fail("invalid container id \"%.256s\"", a->id);
	return 0;
}

static void rfc3339_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char frac[16];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09ldZ", ts.tv_nsec);
	strncat(buf, frac, size - strlen(buf) - 1);
}

/* The bundle's annotations as JSON text (state's "annotations"). */
static char *annotations_of(const char *bundle)
{
	char path[PATH_MAX + 16];
	json_t *j, *ann;
	char *text;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	j = json_load_file(path, 0, NULL);
	ann = json_object_get(j, "annotations");
	text =
	    json_dumps(json_is_object(ann) ? ann : json_object(), JSON_COMPACT);
	json_decref(j);
	return text;
}

/* ROOT/ID made fresh (EEXIST: the id is taken), with exec.fifo. */
static int make_state_dir(const struct create_args *a)
{
	char dir[4200], fifo[4200];

	if (sm_mkdir_p(oci_globals.root, 0711) < 0)
		return oci_fail("root %s: %s", oci_globals.root,
				strerror(errno));
	if (oci_path(dir, sizeof(dir), a->id, NULL) ||
	    oci_path(fifo, sizeof(fifo), a->id, "exec.fifo"))
		return oci_fail("container %s: path too long", a->id);
	if (mkdir(dir, 0711) < 0)
		return errno == EEXIST
			   ? oci_fail("container with id exists: %s", a->id)
			   : oci_fail("%s: %s", dir, strerror(errno));
	if (!a->no_fifo && mkfifo(fifo, 0600) < 0) {
		int e = errno;

		rmdir(dir);
		return oci_fail("%s: %s", fifo, strerror(e));
	}
	return 0;
}

static void remove_state_dir(const char *id)
{
	char dir[4200];

	if (!oci_path(dir, sizeof(dir), id, NULL))
		store_rmtree(dir);
}

/* The child's word: "ok", or why it failed. */
static int await_child(int fd, pid_t child)
{
	char msg[1024];
	ssize_t n, got = 0;

	while (got < (ssize_t)sizeof(msg) - 1 &&
	       ((n = read(fd, msg + got, sizeof(msg) - 1 - got)) > 0 ||
		(n < 0 && errno == EINTR)))
		got += n > 0 ? n : 0;
	msg[got] = '\0';
	if (!strcmp(msg, "ok"))
		return 0;
	waitpid(child, NULL, 0);
	return oci_fail("%s", got ? msg : "the container's process died");
}

static int record(const struct create_args *a, const char *bundle,
		  const char *rootfs, pid_t pid)
{
	struct oci_state st = {.pid = pid};

	snprintf(st.id, sizeof(st.id), "%s", a->id);
	snprintf(st.bundle, sizeof(st.bundle), "%s", bundle);
	snprintf(st.rootfs, sizeof(st.rootfs), "%s", rootfs);
	rfc3339_now(st.created, sizeof(st.created));
	st.starttime = oci_proc_starttime(pid);
	st.annotations = annotations_of(bundle);
	int r = oci_state_save(&st);

	free(st.annotations);
	if (r)
		return oci_fail("state of %s: %s", a->id, strerror(-r));
	return a->pid_file ? oci_write_pid_file(a->pid_file, pid) : 0;
}

/* The terminal's slave as the VM's stdio, when the bundle asks for one. */
static int console(const struct create_args *a, struct bundle *b,
		   struct bundle_run *map, int *slave)
{
	*slave = -1;
	if (!b->terminal)
		return 0;
	if (!a->console_socket)
		return oci_fail("process.terminal needs --console-socket");
	if (oci_console_pty(a->console_socket, b->console_rows, b->console_cols,
			    slave))
		return 1;
	map->o.stdin_fd = map->o.stdout_fd = map->o.stderr_fd = *slave;
	return 0;
}

static int load(const struct create_args *a, char *bundle, struct bundle *b,
		struct bundle_run *map)
{
	struct sm_error err = {0};

	if (!realpath(a->bundle, bundle))
		return oci_fail("bundle %s: %s", a->bundle, strerror(errno));
	if (bundle_load(bundle, b, &err))
		return oci_fail("bundle %s: %s", bundle, err.msg);
	if (bundle_to_run(b, bundle, map, &err)) {
		bundle_free(b);
		return oci_fail("bundle %s: %s", bundle, err.msg);
	}
	for (size_t i = 0; i < b->nnotes; i++)
		oci_log("warning", "%s", b->notes[i]);
	return 0;
}

static int create(int argc, char **argv, bool is_run)
{
	struct create_args a;
	char bundle[PATH_MAX];
	struct bundle b;
	struct bundle_run map;
	int ready[2], slave, r;
	pid_t child;

	if (parse_args(argc, argv, is_run, &a) || load(&a, bundle, &b, &map))
		return 1;
	r = make_state_dir(&a);
	if (!r && (r = console(&a, &b, &map, &slave)))
		remove_state_dir(a.id);
	if (r)
		return r;
	if (is_run && !a.detach) { /* this process is the container's */
		if (record(&a, bundle, map.rootfs, getpid())) {
			remove_state_dir(a.id);
			return 1;
		}
		oci_container_main(a.id, &map, b.netns_path, -1);
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || (child = fork()) < 0) {
		remove_state_dir(a.id);
		return oci_fail("fork: %s", strerror(errno));
	}
	if (child == 0) {
		close(ready[0]);
		oci_container_main(a.id, &map, b.netns_path, ready[1]);
	}
	close(ready[1]);
	if (slave >= 0)
		close(slave);
	r = await_child(ready[0], child) ||
	    record(&a, bundle, map.rootfs, child);
	if (r) {
		kill(child, SIGKILL);
		remove_state_dir(a.id);
	}
	if (!r && is_run) /* run -d: started already */
		oci_log("info", "container %s started", a.id);
	bundle_run_free(&map);
	bundle_free(&b);
	return r;
}

int oci_cmd_create(int argc, char **argv)
{
	return create(argc, argv, false);
}

int oci_cmd_run(int argc, char **argv)
{
	return create(argc, argv, true);
}
