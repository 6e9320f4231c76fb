/*
 * A warm pool (sm_pool_*): VMs of IMAGE restored ahead of need. Each
 * round acquires a ready VM, runs `echo x` in it and gives it back (the
 * pool destroys it and restores a fresh one in the background).
 *
 *   pool_echo IMAGE [ROUNDS] [MIN_IDLE]
 *
 * Prints, per round, the time from the acquire to the first byte of
 * output and to the exec's end, and what the exec cost in counts (KVM
 * exits, exits to the VMM, host page faults: the notes the library gives
 * a log handler), then the pool's counters, and last:
 *   pool rounds=N acquire_to_output_us_median=U waits=W
 * Between rounds it waits until the pool is back to MIN_IDLE ready VMs,
 * so each round measures a ready VM (not a restore).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <supermachine.h>

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000ULL + (uint64_t)t.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Waits (up to 300 s) until `ready` VMs are ready and none is starting. */
static int wait_refilled(struct sm_pool *pool, unsigned ready)
{
	struct sm_pool_stats st = {.size = sizeof(st)};

	for (int i = 0; i < 3000; i++) {
		if (sm_pool_stats(pool, &st, NULL) == 0 && st.ready >= ready &&
		    !st.starting)
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

struct round {
	uint64_t t0, to_output_us, to_end_us;
	int fd; /* the read end of the exec's stdout */
	char out[64];
	char counts[512]; /* the exec's counts line (the log handler's) */
	int status;
};

/* Reads the exec's output; the first byte's time is noted as it comes. */
static void *reader(void *arg)
{
	struct round *r = arg;
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(r->out) - 1 &&
	       (n = read(r->fd, r->out + len, sizeof(r->out) - 1 - len)) > 0) {
		if (!len)
			r->to_output_us = now_us() - r->t0;
		len += (size_t)n;
	}
	r->out[len] = '\0';
	return NULL;
}

/* The library's notes: keeps the exec's counts ("supermachine: counts
 * exec: kvm ... exits=N; userspace_exits=N host_faults=N ...") for the
 * round that runs. */
static void on_log(enum sm_log_level level, const char *msg, void *opaque)
{
	struct round **now = opaque;
	const char *c = strstr(msg, "counts exec: ");

	(void)level;
	if (c && *now)
		snprintf((*now)->counts, sizeof((*now)->counts), "%s",
			 c + strlen("counts exec: "));
}

/* One acquire, `echo x` and release; the exec's output through a pipe
 * that a thread reads. */
static int one_round(struct sm_pool *pool, struct round *r,
		     struct sm_error *err)
{
	static const char *const argv[] = {"echo", "x", NULL};
	struct sm_exec_options eo;
	struct sm_vm *vm;
	pthread_t t;
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	r->fd = fds[0];
	r->t0 = now_us();
	if (pthread_create(&t, NULL, reader, r)) {
		close(fds[0]);
		close(fds[1]);
		return -EAGAIN;
	}
	ret = sm_pool_acquire(pool, 0, &vm, err);
	if (!ret) {
		sm_exec_options_init(&eo);
		eo.argv = argv;
		eo.stdin_fd = -1;
		eo.stdout_fd = fds[1];
		ret = sm_vm_exec(vm, &eo, &r->status, err);
		r->to_end_us = now_us() - r->t0;
		sm_pool_release(pool, vm);
	}
	close(fds[1]); /* the reader sees EOF */
	pthread_join(t, NULL);
	close(fds[0]);
	return ret;
}

int main(int argc, char **argv)
{
	struct sm_pool_options po;
	struct sm_pool_stats st = {.size = sizeof(st)};
	struct sm_error err = {0};
	struct sm_store *store;
	struct sm_pool *pool;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	unsigned min_idle = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
	static struct round *current; /* the round the notes are of */
	uint64_t *lat;
	int ret;

	if (argc < 2 || !rounds || !min_idle) {
		fprintf(stderr, "usage: %s IMAGE [ROUNDS] [MIN_IDLE]\n",
			argv[0]);
		return 2;
	}
	/* the library notes each exec's counts to a log handler */
	sm_set_log(on_log, &current);
	lat = calloc(rounds, sizeof(*lat));
	if (!lat || sm_store_open(&store, NULL, &err)) {
		fprintf(stderr, "pool_echo: %s\n", err.msg);
		return 1;
	}
	sm_pool_options_init(&po);
	po.min_idle = min_idle;
	ret = sm_pool_create(store, argv[1], &po, &pool, &err);
	if (ret) {
		fprintf(stderr, "pool_echo: %s\n", err.msg);
		return 1;
	}
	for (unsigned i = 0; i < rounds && !ret; i++) {
		struct round r = {0};

		ret = wait_refilled(pool, min_idle);
		current = &r;
		if (!ret)
			ret = one_round(pool, &r, &err);
		current = NULL;
		if (ret)
			break;
		lat[i] = r.to_output_us;
		printf("round %u: output %.3f ms, end %.3f ms, status %d, "
		       "out %s",
		       i, r.to_output_us / 1000.0, r.to_end_us / 1000.0,
		       r.status, r.out);
		if (r.counts[0])
			printf("round %u counts: %s\n", i, r.counts);
	}
	if (ret)
		fprintf(stderr, "pool_echo: %s\n", err.msg);
	sm_pool_stats(pool, &st, NULL);
	printf("stats: made %llu recycled %llu expired %llu waits %llu "
	       "failures %llu\n",
	       (unsigned long long)st.made, (unsigned long long)st.recycled,
	       (unsigned long long)st.expired, (unsigned long long)st.waits,
	       (unsigned long long)st.failures);
	sm_pool_destroy(pool);
	sm_store_close(store);
	if (ret)
		return 1;
	qsort(lat, rounds, sizeof(*lat), cmp_u64);
	printf("pool rounds=%u acquire_to_output_us_median=%llu waits=%llu\n",
	       rounds, (unsigned long long)lat[rounds / 2],
	       (unsigned long long)st.waits);
	free(lat);
	return 0;
}
