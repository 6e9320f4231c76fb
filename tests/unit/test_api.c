/*
 * The public API's contract (docs/errors.md): every function returns the
 * same code whether or not it gets an error object, refuses missing
 * arguments with -EINVAL instead of crashing, and takes the structs of a
 * caller built against an older header (smaller size: the fields it
 * knows, defaults for the rest) or a newer one (larger, extra bytes zero;
 * a set unknown field: -E2BIG). Needs no KVM: every call here stops
 * before a VM would start.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supermachine.h"
#include "test.h"
#include "util/fs.h"
#include "util/opts.h"

static char root[64];
static struct sm_store *store;

/* Runs a call with and without an error object: the same code, and a
 * message with the object. */
#define SAME_CODE(want, call_with_err)                                \
	do {                                                          \
		struct sm_error e_ = {0}, *err = &e_;                 \
		int with_ = (call_with_err);                          \
		err = NULL;                                           \
		int without_ = (call_with_err);                       \
		CHECK_EQ(with_, want);                                \
		CHECK_EQ(without_, want);                             \
		CHECK(e_.code == with_ && (with_ >= 0 || e_.msg[0])); \
	} while (0)

/* ---- the policy itself (util/opts.c) ---- */

/* Each version ends without tail padding (the rule docs/errors.md
 * gives): a newer field never lands in bytes an older caller left as
 * padding. */
struct v1 {
	size_t size;
	int a;
	int reserved;
};
struct v2 {
	size_t size;
	int a;
	int reserved;
	int b; /* new in v2, default 7 */
	int reserved2;
};
struct v3 {
	size_t size;
	int a;
	int reserved;
	int b;
	int reserved2;
	long c; /* a field v2 does not know */
};

TEST(opts_take_older_newer_and_bad_sizes)
{
	struct v1 old = {sizeof(old), 5, 0};
	struct v3 newer = {sizeof(newer), 5, 0, 6, 0, 0};
	struct v2 mine = {sizeof(mine), 0, 0, 7, 0};
	struct sm_error e = {0};

	CHECK_EQ(sm_opts_take(&mine, sizeof(mine), &old, "v", NULL), 0);
	CHECK(mine.a == 5 && mine.b == 7 && mine.size == sizeof(mine));
	CHECK_EQ(sm_opts_take(&mine, sizeof(mine), &newer, "v", NULL), 0);
	CHECK(mine.a == 5 && mine.b == 6 && mine.size == sizeof(mine));
	newer.c = 1;
	CHECK_EQ(sm_opts_take(&mine, sizeof(mine), &newer, "v", &e), -E2BIG);
	CHECK(strstr(e.msg, "newer header") != NULL);
	old.size = 3;
	CHECK_EQ(sm_opts_take(&mine, sizeof(mine), &old, "v", NULL), -EINVAL);
	CHECK_EQ(sm_opts_take(&mine, sizeof(mine), NULL, "v", NULL), 0);
}

TEST(opts_give_fills_only_what_the_caller_has)
{
	struct v2 full = {sizeof(full), 1, 0, 2, 0};
	struct v1 old = {sizeof(old), 0, 0};
	struct v3 newer;

	memset(&newer, 0xee, sizeof(newer));
	newer.size = sizeof(newer);
	CHECK_EQ(sm_opts_give(&old, &full, sizeof(full), "v", NULL), 0);
	CHECK(old.size == sizeof(old) && old.a == 1);
	CHECK_EQ(sm_opts_give(&newer, &full, sizeof(full), "v", NULL), 0);
	CHECK(newer.a == 1 && newer.b == 2 &&
	      newer.c == (long)0xeeeeeeeeeeeeeeee);
	old.size = 0;
	CHECK_EQ(sm_opts_give(&old, &full, sizeof(full), "v", NULL), -EINVAL);
}

/* Every public struct ends on its last field: a field added later can
 * never land in an older caller's tail padding. */
#define ENDS_ON(type, last)                                         \
	CHECK_EQ(sizeof(struct type), offsetof(struct type, last) + \
					  sizeof(((struct type *)0)->last))

TEST(public_structs_have_no_tail_padding)
{
	ENDS_ON(sm_boot_config, reserved0);
	ENDS_ON(sm_boot_result, detail);
	ENDS_ON(sm_store_options, reserved0);
	ENDS_ON(sm_pull_options, progress_opaque);
	ENDS_ON(sm_image_info, size);
	ENDS_ON(sm_load_options, platform);
	ENDS_ON(sm_run_options, reserved2);
	ENDS_ON(sm_snapshot_fds, reserved0);
	ENDS_ON(sm_exec_options, detach);
	ENDS_ON(sm_container_options, log_max_size);
	ENDS_ON(sm_logs_options, until_ns);
	ENDS_ON(sm_container_info, changed_ns);
	ENDS_ON(sm_volume_info, users);
	ENDS_ON(sm_pool_options, reserved0);
	ENDS_ON(sm_pool_stats, failures);
}

/* ---- every public entry point ---- */

TEST(store_and_images)
{
	/* as a caller whose header ended before `rootless` */
	struct sm_store_options so = {.root = root};
	struct sm_image_info *list = NULL, info;
	struct sm_load_options lo = {.size = sizeof(lo)};
	struct sm_pull_options po = {.size = sizeof(po), .retries = 1};
	char *json = NULL;

	so.size = offsetof(struct sm_store_options, rootless);
	SAME_CODE(-EINVAL, sm_store_open(NULL, &so, err));
	CHECK_EQ(sm_store_open(&store, &so, NULL), 0);
	{
		struct sm_error e = {0};

		CHECK_EQ(sm_image_list(store, &list, &e), 0);
		free(list);
		CHECK_EQ(sm_image_list(store, &list, NULL), 0);
		free(list);
	}
	SAME_CODE(-EINVAL, sm_image_list(NULL, &list, err));
	CHECK(sm_image_info_at(NULL, 0) == NULL);
	SAME_CODE(-ENOENT,
		  sm_image_inspect(store, "no/such:image", &json, err));
	SAME_CODE(-EINVAL, sm_image_inspect(store, NULL, &json, err));
	SAME_CODE(-ENOENT, sm_image_remove(store, "no/such:image", err));
	SAME_CODE(-EINVAL, sm_image_remove(NULL, "x", err));
	SAME_CODE(-ENOENT,
		  sm_image_load(store, "/no/such/file.tar", &lo, &list, err));
	lo.size = sizeof(size_t); /* the oldest header: size only */
	SAME_CODE(-ENOENT,
		  sm_image_load(store, "/no/such/file.tar", &lo, &list, err));
	SAME_CODE(-EINVAL, sm_image_load(NULL, "/x", NULL, &list, err));
	info.struct_size = 0;
	SAME_CODE(-EINVAL,
		  sm_image_pull(store, "127.0.0.1:1/x:y", &po, &info, err));
	SAME_CODE(-EINVAL, sm_image_pull(NULL, "x", NULL, NULL, err));
	po.size = offsetof(struct sm_pull_options, progress);
	{
		struct sm_error e = {0};
		int with =
		    sm_image_pull(store, "127.0.0.1:1/x:y", &po, NULL, &e);
		int without =
		    sm_image_pull(store, "127.0.0.1:1/x:y", &po, NULL, NULL);

		CHECK(with < 0 && with != -EINVAL && with == without);
	}
}

TEST(boot)
{
	struct sm_boot_config cfg = {.kernel = "/no/such/vmlinux"};
	struct sm_boot_result res = {.size = sizeof(res)};
	struct big {
		struct sm_boot_config cfg;
		char more[16];
	} big = {.cfg = {.size = sizeof(big), .kernel = "/no/such"}};

	SAME_CODE(-EINVAL, sm_boot(NULL, &res, err));
	cfg.size = offsetof(struct sm_boot_config, shares); /* older */
	SAME_CODE(-ENOENT, sm_boot(&cfg, &res, err));
	res.size = 0;
	SAME_CODE(-EINVAL, sm_boot(&cfg, &res, err));
	res.size = sizeof(res);
	SAME_CODE(-ENOENT, sm_boot(&big.cfg, &res, err)); /* newer, zeros */
	big.more[3] = 1;
	SAME_CODE(-E2BIG, sm_boot(&big.cfg, &res, err));
}

TEST(vm_handles)
{
	struct sm_run_options o;
	struct sm_exec_options x;
	struct sm_snapshot_fds fds = {sizeof(fds), -1, -1, -1, 0};
	struct sm_vm *vm = NULL;
	int status;
	char buf[64];

	sm_run_options_init(&o);
	CHECK_EQ(o.signal_fd, -1);
	o.pull = SM_PULL_NEVER;
	/* a caller built before signal_fd existed: its sizeof */
	o.size = offsetof(struct sm_run_options, reserved0) + 8;
	o.signal_fd = 0; /* past its size: must not be read */
	SAME_CODE(-ENOENT, sm_vm_create(store, "no/such:image", &o, &vm, err));
	SAME_CODE(-ENOENT, sm_run(store, "no/such:image", &o, &status, err));
	SAME_CODE(-EINVAL, sm_run(store, "x", &o, NULL, err));
	SAME_CODE(-EINVAL, sm_vm_create(NULL, "x", &o, &vm, err));
	o.size = sizeof(o);
	o.signal_fd = -1;
	o.forward_signals = 1;
	SAME_CODE(-ENOTSUP, sm_vm_create(store, "x", &o, &vm, err));
	o.forward_signals = 0;
	SAME_CODE(-ENOENT,
		  sm_vm_restore(store, "/no/such/snapshot", &o, &vm, err));
	SAME_CODE(-EINVAL, sm_vm_start(NULL, err));
	SAME_CODE(-EINVAL, sm_vm_wait(NULL, &status, err));
	SAME_CODE(-EINVAL, sm_vm_wait_started(NULL, 0, &status, err));
	SAME_CODE(-EINVAL, sm_vm_kill(NULL, SIGTERM, err));
	SAME_CODE(-EINVAL, sm_vm_snapshot(NULL, "/tmp", err));
	SAME_CODE(-EINVAL, sm_vm_snapshot_fds(NULL, &fds, err));
	sm_exec_options_init(&x);
	SAME_CODE(-EINVAL, sm_vm_exec(NULL, &x, &status, err));
	SAME_CODE(-EINVAL, sm_vm_ports(NULL, buf, sizeof(buf), err));
	SAME_CODE(-EINVAL,
		  sm_vm_anonymous_volumes(NULL, buf, sizeof(buf), err));
	CHECK_EQ(sm_vm_stop_signal(NULL), -EINVAL);
	CHECK_EQ(sm_signal_number("TERM"), SIGTERM);
	CHECK_EQ(sm_signal_number("nope"), -1);
	sm_vm_destroy(NULL);
	CHECK(sm_version() && sm_version()[0]);
	sm_set_log(NULL, NULL);
}

/* Pools: every refusal comes before a VM would be made. */
TEST(pools)
{
	static const char *const cmd[] = {"echo", NULL};
	static const char *const publish[] = {"8080:80", NULL};
	struct sm_pool_options po;
	struct sm_pool_stats st = {.size = sizeof(st)};
	struct sm_run_options o;
	struct sm_pool *pool = NULL;
	struct sm_vm *vm = NULL;

	sm_pool_options_init(&po);
	CHECK(po.size == sizeof(po) && !po.run && !po.min_idle);
	sm_run_options_init(&o);
	o.pull = SM_PULL_NEVER;
	po.run = &o;
	SAME_CODE(-EINVAL, sm_pool_create(NULL, "x", &po, &pool, err));
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, NULL, err));
	po.min_idle = 3;
	po.max_idle = 2;
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, &pool, err));
	po.max_idle = 0;
	po.min_idle = SM_POOL_MAX_IDLE + 1; /* over the cap, either way */
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, &pool, err));
	po.min_idle = 3;
	po.max_idle = SM_POOL_MAX_IDLE + 1;
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, &pool, err));
	po.min_idle = 0;
	po.max_idle = 0;
	o.cmd = cmd; /* what runs comes by exec */
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, &pool, err));
	o.cmd = NULL;
	o.tty = 1;
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, &pool, err));
	o.tty = 0;
	o.publish = publish; /* each VM would take the same port */
	SAME_CODE(-EINVAL, sm_pool_create(store, "x", &po, &pool, err));
	o.publish = NULL;
	/* the first VM is made by the create: its image's absence is the
	 * create's error */
	SAME_CODE(-ENOENT,
		  sm_pool_create(store, "no/such:image", &po, &pool, err));
	/* run options of a caller built before signal_fd: taken as such */
	o.size = offsetof(struct sm_run_options, reserved0) + 8;
	SAME_CODE(-ENOENT,
		  sm_pool_create(store, "no/such:image", &po, &pool, err));
	o.size = sizeof(o);
	CHECK(pool == NULL);
	SAME_CODE(-EINVAL, sm_pool_acquire(NULL, 0, &vm, err));
	SAME_CODE(-EINVAL, sm_pool_stats(NULL, &st, err));
	CHECK_EQ(sm_pool_release(NULL, vm), -EINVAL);
	sm_pool_destroy(NULL);
}

/* Writes a container's state file as its process would. */
static int set_state(const char *rt, const char *id, const char *status)
{
	char path[256], text[160];

	snprintf(path, sizeof(path), "%s/containers/%s/state", rt, id);
	snprintf(text, sizeof(text),
		 "{\"status\": \"%s\", \"pid\": %d, \"ports\": "
		 "\"127.0.0.1:1->2/tcp\"}",
		 status, (int)getpid());
	return sm_atomic_write_buf(path, 0644, text, strlen(text), NULL);
}

/* Containers: records under a runtime directory of the test's own. No
 * VM starts: the image is not in the store and is never pulled. */
TEST(containers)
{
	const char *cmd[] = {"echo", "hi", NULL};
	struct sm_container_options co = {.size = sizeof(co)};
	struct sm_container_info info, *list;
	struct sm_container *c = NULL, *d = NULL;
	struct sm_exec_options x;
	struct sm_run_options o;
	int status = 0, fd1, fd2;
	struct sm_error e = {0};
	char buf[64], rt[96];

	snprintf(rt, sizeof(rt), "%s/runtime", root);
	setenv("SUPERMACHINE_RUNTIME", rt, 1);
	sm_run_options_init(&o);
	o.pull = SM_PULL_NEVER;
	o.cmd = cmd;
	co.store_root = root;
	co.image = "no/such:image";
	co.name = "api-one";
	SAME_CODE(-EINVAL, sm_container_create(NULL, &c, err));
	SAME_CODE(-EINVAL, sm_container_create(&co, &c, err)); /* no run */
	co.run = &o;
	co.restore_dir = "/no/such/snapshot";
	SAME_CODE(-EINVAL, sm_container_create(&co, &c, err)); /* both */
	co.restore_dir = NULL;
	co.size = 4;
	SAME_CODE(-EINVAL, sm_container_create(&co, &c, err));
	co.size = sizeof(co);
	SAME_CODE(-ENOENT, sm_container_open("api-one", &c, err));
	CHECK_EQ(sm_container_create(&co, &c, NULL), 0);
	SAME_CODE(-EEXIST, sm_container_create(&co, &d, err));
	CHECK_EQ(strlen(sm_container_id(c)), 64);
	CHECK_EQ(strcmp(sm_container_name(c), "api-one"), 0);
	/* by name and by id prefix */
	CHECK_EQ(sm_container_open("api-one", &d, NULL), 0);
	CHECK(d && !strcmp(sm_container_id(d), sm_container_id(c)));
	sm_container_close(d);
	snprintf(buf, 9, "%s", sm_container_id(c));
	CHECK_EQ(sm_container_open(buf, &d, NULL), 0);
	info.struct_size = sizeof(info);
	CHECK_EQ(sm_container_inspect(d, &info, NULL), 0);
	CHECK_EQ(info.status, SM_CONTAINER_CREATED);
	CHECK_EQ(strcmp(info.command, "echo hi"), 0);
	CHECK_EQ(strcmp(info.image, "no/such:image"), 0);
	/* an older caller's info: only what it knows is written */
	info.changed_ns = 77;
	info.struct_size = offsetof(struct sm_container_info, changed_ns);
	CHECK_EQ(sm_container_inspect(d, &info, NULL), 0);
	CHECK_EQ(info.changed_ns, 77);
	SAME_CODE(-ESRCH, sm_container_kill(d, SIGTERM, err));
	SAME_CODE(-ESRCH, sm_container_ports(d, buf, sizeof(buf), err));
	SAME_CODE(-ENOENT, sm_container_logs(d, &fd1, &fd2, err));
	SAME_CODE(-ENOENT, sm_container_logs_write(d, NULL, err));
	SAME_CODE(0, sm_container_stop(d, 1, err)); /* not running: done */
	sm_exec_options_init(&x);
	SAME_CODE(-EINVAL, sm_container_exec(d, &x, &status, err));
	/* a record that says running (this process), with no socket */
	CHECK_EQ(set_state(rt, sm_container_id(c), "running"), 0);
	SAME_CODE(-EBUSY, sm_container_remove(d, 0, err));
	SAME_CODE(-ENOENT, sm_container_kill(d, SIGTERM, err));
	CHECK_EQ(sm_container_ports(d, buf, sizeof(buf), NULL), 0);
	CHECK_EQ(strcmp(buf, "127.0.0.1:1->2/tcp"), 0);
	SAME_CODE(-ENOSPC, sm_container_ports(d, buf, 4, err));
	CHECK_EQ(set_state(rt, sm_container_id(c), "created"), 0);
	sm_container_close(d);
	/* the VM cannot start: the store's code, status 125, recorded */
	status = 0;
	CHECK_EQ(sm_container_start(c, &status, NULL), -ENOENT);
	CHECK_EQ(status, 125);
	SAME_CODE(-EALREADY, sm_container_start(c, &status, err));
	CHECK_EQ(sm_container_list(&list, NULL), 1);
	CHECK(list &&
	      !strcmp(sm_container_info_at(list, 0)->id, sm_container_id(c)));
	CHECK(list &&
	      sm_container_info_at(list, 0)->status == SM_CONTAINER_EXITED);
	CHECK(list && sm_container_info_at(list, 0)->exit_code == 125);
	CHECK(list && strstr(sm_container_info_at(list, 0)->error, "no/such"));
	free(list);
	/* start and restart of the exited record (detached): the image is
	 * still missing, the record stays, exited, saying why */
	CHECK_EQ(sm_container_open("api-one", &d, NULL), 0);
	status = 0;
	CHECK_EQ(sm_container_start(d, &status, &e), -EIO);
	CHECK(status == 125 && strstr(e.msg, "no/such"));
	SAME_CODE(-EINVAL, sm_container_restart(d, 1, err)); /* used */
	sm_container_close(d);
	CHECK_EQ(sm_container_open("api-one", &d, NULL), 0);
	CHECK_EQ(sm_container_restart(d, 1, NULL), -EIO);
	info.struct_size = sizeof(info);
	CHECK_EQ(sm_container_inspect(d, &info, NULL), 0);
	CHECK_EQ(info.status, SM_CONTAINER_EXITED);
	CHECK(strstr(info.error, "no/such"));
	sm_container_close(d);
	SAME_CODE(-ENOENT, sm_container_restart(NULL, 1, err));
	CHECK_EQ(sm_container_remove(c, 0, NULL), 0);
	SAME_CODE(-ENOENT, sm_container_open("api-one", &d, err));
	CHECK_EQ(sm_container_list(&list, NULL), 0);
	free(list);
	sm_container_close(c);
	SAME_CODE(-EINVAL, sm_container_start(NULL, &status, err));
	SAME_CODE(-ENOENT, sm_container_inspect(NULL, &info, err));
	sm_container_close(NULL);
	unsetenv("SUPERMACHINE_RUNTIME");
}

/* sm_process_jail changes the whole process: in children. */
static int jail_in_child(bool with_err)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct sm_error e = {0};

		_exit(-sm_process_jail(with_err ? &e : NULL));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(process_jail_same_code)
{
	CHECK_EQ(jail_in_child(true), jail_in_child(false));
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/sm-api.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	RUN(opts_take_older_newer_and_bad_sizes);
	RUN(opts_give_fills_only_what_the_caller_has);
	RUN(public_structs_have_no_tail_padding);
	RUN(store_and_images);
	RUN(boot);
	RUN(vm_handles);
	RUN(pools);
	RUN(containers);
	RUN(process_jail_same_code);
	sm_store_close(store);
	sm_rm_tree(root);
	return test_summary();
}
