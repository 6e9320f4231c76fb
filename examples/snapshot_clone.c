/*
 * Snapshot a VM in the middle of a computation, then restore it twice at
 * once: both clones continue from the same point and finish it.
 *
 *   snapshot_clone IMAGE DIR [DELAY_MS]
 *
 * The guest says "counting", counts to 2000 writing each value to a tmpfs
 * file, and prints the file at the end. The snapshot is taken DELAY_MS
 * after "counting" arrived. Prints the original's and both clones' results
 * (each should be result=2000).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <supermachine.h>

static const char *const count_cmd[] = {
    "sh",
    "-c",
    /* a pause half-way: however fast the guest counts, the snapshot
     * (DELAY_MS after "counting") lands mid-computation, never after the
     * result was printed (that output would be in flight, lost to clones) */
    "echo counting; i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo $i "
    ">/tmp/count; "
    "[ $i = 1000 ] && sleep 2; done; "
    "echo result=$(cat /tmp/count)",
    NULL,
};

struct clone {
	struct sm_store *store;
	const char *dir;
	int fds[2];
	int status, ret;
	char out[256];
	struct sm_error err;
};

static void *restore_one(void *arg)
{
	struct clone *c = arg;
	struct sm_run_options o;
	struct sm_vm *vm;
	ssize_t n;

	sm_run_options_init(&o);
	o.stdin_fd = -1;
	o.stdout_fd = c->fds[1];
	o.verbose = getenv("SNAPSHOT_CLONE_VERBOSE") ? 2 : 0;
	c->ret = sm_vm_restore(c->store, c->dir, &o, &vm, &c->err);
	if (!c->ret)
		c->ret = sm_vm_start(vm, &c->err);
	if (!c->ret)
		c->ret = sm_vm_wait(vm, &c->status, &c->err);
	if (!c->ret)
		sm_vm_destroy(vm);
	close(c->fds[1]);
	n = read(c->fds[0], c->out, sizeof(c->out) - 1);
	c->out[n > 0 ? n : 0] = '\0';
	return NULL;
}

int main(int argc, char **argv)
{
	struct sm_store *store;
	struct sm_run_options o;
	struct sm_error err = {0};
	struct sm_vm *vm;
	struct clone c[2];
	pthread_t t[2];
	int status = -1, fds[2];
	char out[256] = "";
	ssize_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IMAGE DIR [DELAY_MS]\n", argv[0]);
		return 2;
	}
	if (sm_store_open(&store, NULL, &err) || pipe(fds))
		goto fail;
	sm_run_options_init(&o);
	o.cmd = count_cmd;
	o.pull = SM_PULL_NEVER;
	o.stdin_fd = -1;
	o.stdout_fd = fds[1];
	o.no_snapshot = 1;
	if (sm_vm_create(store, argv[1], &o, &vm, &err) ||
	    sm_vm_start(vm, &err))
		goto fail;
	/* snapshot mid-computation: after the guest said it started */
	n = read(fds[0], out, 9);
	if (n != 9 || memcmp(out, "counting\n", 9)) {
		fprintf(stderr, "snapshot_clone: unexpected first output\n");
		return 1;
	}
	usleep((useconds_t)(argc > 3 ? atoi(argv[3]) : 300) * 1000);
	if (sm_vm_snapshot(vm, argv[2], &err))
		goto fail;
	if (sm_vm_wait(vm, &status, &err))
		goto fail;
	sm_vm_destroy(vm);
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	printf("original: status %d: %s", status, out);
	for (int i = 0; i < 2; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].dir = argv[2];
		c[i].store = store;
		if (pipe(c[i].fds))
			return 1;
		pthread_create(&t[i], NULL, restore_one, &c[i]);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (c[i].ret)
			printf("clone%d: error: %s\n", i + 1, c[i].err.msg);
		else
			printf("clone%d: status %d: %s", i + 1, c[i].status,
			       c[i].out);
	}
	sm_store_close(store);
	return 0;
fail:
	fprintf(stderr, "snapshot_clone: %s\n", err.msg);
	return 1;
}
