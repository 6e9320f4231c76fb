/*
 * The warm pool (sm_pool_*) against a real guest: tests/kvm/pool.sh runs
 * it as `pool_check IMAGE`. One "PASS name" or "FAIL name: why" line per
 * check; a check whose setup failed fails, so the count holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <supermachine.h>

static int failures;

static void verdict(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failures++;
	}
	fflush(stdout);
}

static struct sm_pool_stats stats(struct sm_pool *p)
{
	struct sm_pool_stats st = {.size = sizeof(st)};

	sm_pool_stats(p, &st, NULL);
	return st;
}

/* Polls (every 0.1 s, up to `secs`) until the pool has `ready` VMs ready
 * and none starting. */
static int settled(struct sm_pool *p, unsigned ready, int secs)
{
	for (int i = 0; i < secs * 10; i++) {
		struct sm_pool_stats st = stats(p);

		if (st.ready == ready && !st.starting)
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Polls (every 0.1 s, up to `secs`) until `recycled` released VMs were
 * destroyed. */
static int recycled(struct sm_pool *p, uint64_t n, int secs)
{
	for (int i = 0; i < secs * 10; i++) {
		if (stats(p).recycled >= n)
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Runs argv in vm; its stdout in out. The exec's status, or -1. */
static int run_in(struct sm_vm *vm, const char *const *argv, char *out,
		  size_t size)
{
	struct sm_exec_options eo;
	struct sm_error err = {0};
	char path[] = "/tmp/pool_check.XXXXXX";
	int fd = mkstemp(path), status = -1;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return -1;
	unlink(path);
	sm_exec_options_init(&eo);
	eo.argv = argv;
	eo.stdin_fd = -1;
	eo.stdout_fd = fd;
	eo.timeout_ms = 120000;
	if (sm_vm_exec(vm, &eo, &status, &err)) {
		snprintf(out, size, "exec failed: %.200s", err.msg);
		status = -1;
	} else {
		n = pread(fd, out, size - 1, 0);
		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return status;
}

static const char *const echo_x[] = {"echo", "x", NULL};

/* exec -d from the library with no stdin (-1): it runs, its output
 * comes to the caller's fd. */
static void check_detached(struct sm_pool *p)
{
	static const char *const argv[] = {"echo", "detached", NULL};
	struct sm_exec_options eo;
	struct sm_error err = {0};
	struct sm_vm *vm = NULL;
	char path[] = "/tmp/pool_check.XXXXXX", out[64] = "";
	int fd = mkstemp(path), st = -1, ret;
	ssize_t n = 0;

	unlink(path);
	ret = sm_pool_acquire(p, 0, &vm, &err);
	sm_exec_options_init(&eo);
	eo.argv = argv;
	eo.stdin_fd = -1;
	eo.stdout_fd = fd;
	eo.detach = 1;
	if (!ret)
		ret = sm_vm_exec(vm, &eo, &st, &err);
	for (int i = 0; !ret && i < 600 && n < 9; i++) {
		usleep(100000);
		n = pread(fd, out, sizeof(out) - 1, 0);
	}
	out[n > 0 ? n : 0] = '\0';
	verdict("pool_exec_detached_without_stdin",
		!ret && st == 0 && !strcmp(out, "detached\n"),
		"exec -d: %d (%s), status %d, out \"%s\"", ret, err.msg, st,
		out);
	if (vm)
		sm_pool_release(p, vm);
	close(fd);
}

static void check_exec(struct sm_pool *p)
{
	static const char *const env[] = {
	    "sh", "-c", "echo \"$PATH\"; cat /proc/[0-9]*/comm", NULL};
	struct sm_error err = {0};
	struct sm_vm *vm = NULL;
	char out[512];
	int ret = sm_pool_acquire(p, 0, &vm, &err), st;

	st = ret ? -1 : run_in(vm, echo_x, out, sizeof(out));
	verdict("pool_exec_echo", st == 0 && !strcmp(out, "x\n"),
		"acquire %d (%s), status %d, out \"%s\"", ret, err.msg, st,
		out);
	st = ret ? -1 : run_in(vm, env, out, sizeof(out));
	/* the image's PATH; the VM's main process is the idle one */
	verdict("pool_exec_image_env",
		st == 0 && strstr(out, "/usr/bin") && strstr(out, "sm-idle\n"),
		"status %d, out \"%s\"", st, out);
	/* a mark in this VM; release; no later VM has it */
	static const char *const mark[] = {"touch", "/tmp/used", NULL};
	st = ret ? -1 : run_in(vm, mark, out, sizeof(out));
	if (!ret)
		sm_pool_release(p, vm);
	int gone = recycled(p, 1, 120), refilled = settled(p, 2, 300);
	struct sm_pool_stats s = stats(p);
	verdict("pool_release_recycles",
		st == 0 && gone && refilled && s.recycled == 1,
		"mark %d; recycled %llu, ready %u", st,
		(unsigned long long)s.recycled, s.ready);
	verdict("pool_release_twice_einval", sm_pool_release(p, vm) == -EINVAL,
		"a second release of one VM was taken");
	check_detached(p);
}

static void check_never_reused(struct sm_pool *p)
{
	static const char *const used[] = {"test", "-e", "/tmp/used", NULL};
	struct sm_vm *vm[3] = {0};
	char out[256];
	int st[3] = {-1, -1, -1}, ret = 0;
	struct sm_error err = {0};
	uint64_t made0 = stats(p).made;

	/* three at once from a pool of min_idle 2: the third waits */
	for (int i = 0; i < 3 && !ret; i++) {
		ret = sm_pool_acquire(p, 0, &vm[i], &err);
		if (!ret)
			st[i] = run_in(vm[i], used, out, sizeof(out));
	}
	verdict("pool_never_reused",
		!ret && st[0] == 1 && st[1] == 1 && st[2] == 1,
		"acquire %d (%s); /tmp/used tests %d %d %d (1: absent)", ret,
		err.msg, st[0], st[1], st[2]);
	struct sm_pool_stats s = stats(p);
	verdict("pool_grows_on_demand", s.waits >= 1 && s.target == 3,
		"waits %llu, target %u (max_idle 3)",
		(unsigned long long)s.waits, s.target);
	for (int i = 0; i < 3; i++)
		if (vm[i])
			sm_pool_release(p, vm[i]);
	/* refilled to 3 (a VM expires only when more than min_idle are
	 * ready), then with no acquire for 3 s back to 2 */
	int expired = 0;
	for (int i = 0; i < 3000 && !expired; i++) {
		expired = stats(p).expired >= 1;
		usleep(100000);
	}
	int shrank = settled(p, 2, 60);
	s = stats(p);
	verdict("pool_idle_timeout_shrinks",
		expired && shrank && s.target == 2 && s.made - made0 >= 4,
		"expired %llu, target %u, ready %u, made %llu since the "
		"three acquires (1 for the third, 3 to refill)",
		(unsigned long long)s.expired, s.target, s.ready,
		(unsigned long long)(s.made - made0));
}

static void check_timeout_and_destroy(struct sm_store *store, const char *image)
{
	struct sm_pool_options po;
	struct sm_error err = {0};
	struct sm_pool *p = NULL;
	struct sm_vm *a = NULL, *b = NULL;
	char out[64];
	int ret, r2 = 0, st = -1;

	sm_pool_options_init(&po);
	po.min_idle = 1;
	ret = sm_pool_create(store, image, &po, &p, &err);
	if (!ret)
		ret = sm_pool_acquire(p, 0, &a, &err);
	/* the one ready VM is out; a restore takes far more than 1 ms */
	if (!ret)
		r2 = sm_pool_acquire(p, 1, &b, &err);
	verdict("pool_acquire_timeout", !ret && r2 == -ETIMEDOUT && !b,
		"create/acquire %d, second acquire %d (%s)", ret, r2, err.msg);
	if (b)
		sm_pool_release(p, b);
	/* VMs still out stay the caller's */
	sm_pool_destroy(p);
	if (a)
		st = run_in(a, echo_x, out, sizeof(out));
	verdict("pool_destroy_leaves_acquired", a && st == 0,
		"exec after the pool's destroy: %d \"%s\"", st, out);
	sm_vm_destroy(a);
}

int main(int argc, char **argv)
{
	struct sm_pool_options po;
	struct sm_error err = {0};
	struct sm_store *store;
	struct sm_pool *p;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sm_store_open(&store, NULL, &err)) {
		fprintf(stderr, "pool_check: %s\n", err.msg);
		return 1;
	}
	sm_pool_options_init(&po);
	po.min_idle = 2;
	po.max_idle = 3;
	po.idle_timeout_ms = 3000;
	ret = sm_pool_create(store, argv[1], &po, &p, &err);
	verdict("pool_create", !ret && stats(p).made >= 1,
		"sm_pool_create: %d %s", ret, err.msg);
	if (ret) {
		p = NULL;
	} else {
		verdict("pool_fills_to_min_idle", settled(p, 2, 300),
			"ready %u after 300 s", stats(p).ready);
		check_exec(p);
		check_never_reused(p);
		sm_pool_destroy(p);
	}
	check_timeout_and_destroy(store, argv[1]);
	sm_store_close(store);
	return failures ? 1 : 0;
}
