/*
 * Warm pools (sm_pool_*, docs/pool.md): VMs of one image made ahead of
 * need by one background thread, handed out ready for sm_vm_exec and
 * destroyed when given back, never reused. The pool's VMs are idle ones
 * (run_vm_create with idle): their process only waits for a signal.
 *
 * One lock guards the lists and counters; VMs are made and destroyed
 * outside it, by the pool's thread only, so an acquire never waits on a
 * destroy.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oci/oci.h"
#include "run/handle.h"
#include "run/run_options_copy.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"

#define DEFAULT_IDLE_TIMEOUT_MS 30000
/* a VM's guest must be up within this, or the try failed */
#define START_TIMEOUT_MS 120000
/* after a failed try, the next waits this long, doubling up to the max */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

struct vm_list {
	struct sm_vm **v;
	size_t n, cap;
};

struct sm_pool {
	struct sm_store *store;
	char image[80]; /* the first VM's image by id: refills never pull */
	struct sm_run_options run; /* ours (run_options_copy) */
	unsigned min_idle, max_idle;
	uint64_t idle_timeout_ns;
	uint64_t last_demand_ns; /* the last acquire, or the last shrink */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* ready, released, failed or stopping */
	struct vm_list ready;	/* acquires take the newest (the end) */
	struct vm_list in_use, released;
	bool stopping;
	struct sm_error last_err; /* of the last failed try */
	uint64_t retry_ns;	  /* no try before (after a failure) */
	unsigned backoff_ms;
	struct sm_pool_stats st; /* ready/in_use/starting filled on read */
	pthread_t thread;
};

static int list_push(struct vm_list *l, struct sm_vm *vm)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct sm_vm **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = vm;
	return 0;
}

static struct sm_vm *list_take(struct vm_list *l, size_t i)
{
	struct sm_vm *vm = l->v[i];

	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
	l->n--;
	return vm;
}

/* One idle VM of the pool's image, its guest up. */
static int make_vm(struct sm_pool *p, const char *image, struct sm_vm **out,
		   struct sm_error *err)
{
	struct sm_vm *vm;
	int status = 0,
	    ret = run_vm_create(p->store, image, &p->run, true, &vm, err);

	if (ret)
		return ret;
	ret = sm_vm_start(vm, err);
	if (!ret)
		ret = sm_vm_wait_started(vm, START_TIMEOUT_MS, &status, err);
	if (ret) {
		sm_vm_destroy(vm);
		return sm_err_wrap(err, ret, "a pool VM of %s", image);
	}
	*out = vm;
	return 0;
}

/* ---- the pool's thread ---- */

/*
 * Demand gone: with more than min_idle ready and no acquire for
 * idle_timeout_ms (nor a shrink), the oldest ready VM, taken off the
 * list, and the number kept ready drops by one; NULL if not yet (*next_ns:
 * when to look again). So a pool shrinks one VM per idle period.
 */
static struct sm_vm *take_expired(struct sm_pool *p, uint64_t now,
				  uint64_t *next_ns)
{
	uint64_t due = p->last_demand_ns + p->idle_timeout_ns;

	if (p->ready.n <= p->min_idle)
		return NULL;
	if (due > now) {
		if (!*next_ns || due < *next_ns)
			*next_ns = due;
		return NULL;
	}
	if (p->st.target > p->min_idle)
		p->st.target--;
	p->last_demand_ns = now; /* the next shrink: one period on */
	return list_take(&p->ready, 0);
}

/* Makes one VM (the lock dropped meanwhile) and files it or its failure. */
static void refill_one(struct sm_pool *p)
{
	struct sm_error err = {0};
	struct sm_vm *vm = NULL;
	int ret;

	p->st.starting = 1;
	pthread_mutex_unlock(&p->lock);
	ret = make_vm(p, p->image, &vm, &err);
	pthread_mutex_lock(&p->lock);
	p->st.starting = 0;
	if (!ret && list_push(&p->ready, vm)) {
		ret = sm_err(&err, -ENOMEM, "pool: out of memory");
		pthread_mutex_unlock(&p->lock);
		sm_vm_destroy(vm);
		pthread_mutex_lock(&p->lock);
	}
	if (ret) {
		p->st.failures++;
		p->last_err = err;
		p->backoff_ms =
		    p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (p->backoff_ms > BACKOFF_MAX_MS)
			p->backoff_ms = BACKOFF_MAX_MS;
		p->retry_ns =
		    sm_now_ns() + (uint64_t)p->backoff_ms * 1000000ULL;
	} else {
		p->st.made++;
		p->backoff_ms = 0;
	}
	pthread_cond_broadcast(&p->changed);
}

static void wait_until(struct sm_pool *p, uint64_t when_ns)
{
	/* the condition's clock is CLOCK_MONOTONIC (pool_init) */
	struct timespec ts = {.tv_sec = (time_t)(when_ns / 1000000000ULL),
			      .tv_nsec = (long)(when_ns % 1000000000ULL)};

	if (!when_ns)
		pthread_cond_wait(&p->changed, &p->lock);
	else if (when_ns > sm_now_ns())
		pthread_cond_timedwait(&p->changed, &p->lock, &ts);
}

static void *pool_main(void *arg)
{
	struct sm_pool *p = arg;
	struct sm_vm *vm;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t now = sm_now_ns(), next = 0;

		if (p->released.n) { /* first: they hold memory */
			vm = list_take(&p->released, p->released.n - 1);
			pthread_mutex_unlock(&p->lock);
			sm_vm_destroy(vm);
			pthread_mutex_lock(&p->lock);
			p->st.recycled++;
			continue;
		}
		if (p->stopping)
			break;
		vm = take_expired(p, now, &next);
		if (vm) {
			pthread_mutex_unlock(&p->lock);
			sm_vm_destroy(vm);
			pthread_mutex_lock(&p->lock);
			p->st.expired++;
			continue;
		}
		if (p->ready.n < p->st.target && now >= p->retry_ns) {
			refill_one(p);
			continue;
		}
		if (p->ready.n < p->st.target && (!next || p->retry_ns < next))
			next = p->retry_ns;
		wait_until(p, next);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- the API ---- */

SM_API void sm_pool_options_init(struct sm_pool_options *o)
{
	if (o)
		*o = (struct sm_pool_options){.size = sizeof(*o)};
}

static int check_options(const struct sm_pool_options *o,
			 const struct sm_run_options *run, struct sm_error *err)
{
	if (o->min_idle > SM_POOL_MAX_IDLE || o->max_idle > SM_POOL_MAX_IDLE)
		return sm_err(err, -EINVAL,
			      "pool: at most %u idle VMs (min_idle %u, "
			      "max_idle %u)",
			      SM_POOL_MAX_IDLE, o->min_idle, o->max_idle);
	if (o->max_idle && o->max_idle < o->min_idle)
		return sm_err(err, -EINVAL,
			      "pool: max_idle (%u) is below min_idle (%u)",
			      o->max_idle, o->min_idle);
	if (run->cmd || run->entrypoint || run->tty || run->interactive)
		return sm_err(err, -EINVAL,
			      "pool: its VMs run only what sm_vm_exec starts: "
			      "cmd and entrypoint must be NULL, tty and "
			      "interactive 0");
	if ((run->publish && run->publish[0]) || run->publish_all)
		return sm_err(err, -EINVAL,
			      "pool: its VMs cannot publish ports (each would "
			      "take the same host port)");
	return 0;
}

static int pool_init(struct sm_pool *p, const struct sm_pool_options *o,
		     const struct sm_run_options *run, struct sm_error *err)
{
	pthread_condattr_t ca;
	int ret = run_options_copy(&p->run, run);

	if (ret)
		return sm_err(err, ret, "pool: out of memory");
	p->run.remove_anonymous = 1; /* a recycled VM's are nobody's */
	p->run.pull = SM_PULL_NEVER; /* refills: the image is here */
	p->min_idle = o->min_idle ? o->min_idle : 1;
	p->max_idle = o->max_idle ? o->max_idle : p->min_idle;
	p->idle_timeout_ns =
	    (uint64_t)(o->idle_timeout_ms ? o->idle_timeout_ms
					  : DEFAULT_IDLE_TIMEOUT_MS) *
	    1000000ULL;
	p->st.target = p->min_idle;
	p->last_demand_ns = sm_now_ns();
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->changed, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void pool_free(struct sm_pool *p)
{
	for (size_t i = 0; i < p->ready.n; i++)
		sm_vm_destroy(p->ready.v[i]);
	for (size_t i = 0; i < p->released.n; i++)
		sm_vm_destroy(p->released.v[i]);
	free(p->ready.v);
	free(p->released.v);
	free(p->in_use.v);
	run_options_copy_free(&p->run);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The first VM, made by the caller with its pull policy: its failure is
 * the create's. The others are of its image, by id. */
static int first_vm(struct sm_pool *p, const char *image,
		    enum sm_pull_policy pull, struct sm_error *err)
{
	struct sm_vm *vm;
	int ret;

	p->run.pull = pull;
	ret = make_vm(p, image, &vm, err);
	p->run.pull = SM_PULL_NEVER;
	if (ret)
		return ret;
	snprintf(p->image, sizeof(p->image), "%s", vm->img->config_digest);
	ret = list_push(&p->ready, vm);
	if (ret) {
		sm_vm_destroy(vm);
		return sm_err(err, ret, "pool: out of memory");
	}
	p->st.made = 1;
	return 0;
}

SM_API int sm_pool_create(struct sm_store *store, const char *image,
			  const struct sm_pool_options *in,
			  struct sm_pool **out, struct sm_error *err)
{
	struct sm_pool_options o;
	struct sm_run_options taken;
	const struct sm_run_options *run = &taken;
	struct sm_pool *p;
	int ret;

	if (!store || !image || !out)
		return sm_err(err, -EINVAL,
			      "sm_pool_create: a store, an image and a result "
			      "are required");
	sm_pool_options_init(&o);
	ret = sm_opts_take(&o, sizeof(o), in, "sm_pool_options", err);
	if (ret)
		return ret;
	/* the caller's run options as this library's struct: an older
	 * caller's is smaller (docs/errors.md, "Structs that grow") */
	sm_run_options_init(&taken);
	ret = sm_opts_take(&taken, sizeof(taken), o.run, "sm_run_options", err);
	if (!ret)
		ret = check_options(&o, run, err);
	p = ret ? NULL : calloc(1, sizeof(*p));
	if (!ret && !p)
		return sm_err(err, -ENOMEM, "pool: out of memory");
	if (ret)
		return ret;
	p->store = store;
	ret = pool_init(p, &o, run, err);
	if (ret) {
		free(p);
		return ret;
	}
	ret = first_vm(p, image, run->pull, err);
	if (!ret && pthread_create(&p->thread, NULL, pool_main, p))
		ret = sm_err(err, -EAGAIN, "pool: cannot start its thread");
	if (ret) {
		pool_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* To the thread for destroying (the lock held); without memory for
 * that, destroyed here. */
static void give_back(struct sm_pool *p, struct sm_vm *vm)
{
	if (!list_push(&p->released, vm)) {
		pthread_cond_broadcast(&p->changed);
		return;
	}
	sm_vm_destroy(vm);
	p->st.recycled++;
}

/* A ready VM whose guest still runs, taken off the list; dead ones go to
 * the released list for the thread to destroy. */
static struct sm_vm *take_ready(struct sm_pool *p)
{
	while (p->ready.n) {
		struct sm_vm *vm = list_take(&p->ready, p->ready.n - 1);

		if (!run_vm_over(vm))
			return vm;
		give_back(p, vm);
	}
	return NULL;
}

/* No VM ready: the pool keeps one more ready from now on (up to
 * max_idle) and its thread is told. */
static void note_wait(struct sm_pool *p)
{
	p->st.waits++;
	if (p->st.target < p->max_idle)
		p->st.target++;
	pthread_cond_broadcast(&p->changed);
}

SM_API int sm_pool_acquire(struct sm_pool *p, unsigned int timeout_ms,
			   struct sm_vm **out, struct sm_error *err)
{
	uint64_t deadline =
	    timeout_ms ? sm_now_ns() + timeout_ms * 1000000ULL : 0;
	uint64_t failures;
	struct sm_vm *vm;
	bool waited = false;
	int ret = 0;

	if (!p || !out)
		return sm_err(err, -EINVAL,
			      "sm_pool_acquire: a pool and a result are "
			      "required");
	pthread_mutex_lock(&p->lock);
	p->last_demand_ns = sm_now_ns();
	failures = p->st.failures;
	while (!(vm = take_ready(p))) {
		if (!waited)
			note_wait(p);
		waited = true;
		if (p->st.failures != failures) {
			ret = sm_err(err,
				     p->last_err.code ? p->last_err.code : -EIO,
				     "%s", p->last_err.msg);
			break;
		}
		if (deadline && sm_now_ns() >= deadline) {
			ret = sm_err(err, -ETIMEDOUT,
				     "pool: no VM ready within %u ms",
				     timeout_ms);
			break;
		}
		wait_until(p, deadline);
	}
	if (vm && list_push(&p->in_use, vm)) {
		give_back(p, vm);
		vm = NULL;
		ret = sm_err(err, -ENOMEM, "pool: out of memory");
	}
	pthread_cond_broadcast(&p->changed); /* one fewer ready: refill */
	pthread_mutex_unlock(&p->lock);
	*out = vm;
	return ret;
}

SM_API int sm_pool_release(struct sm_pool *p, struct sm_vm *vm)
{
	int ret = -EINVAL;

	if (!p || !vm)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->in_use.n; i++) {
		if (p->in_use.v[i] != vm)
			continue;
		give_back(p, list_take(&p->in_use, i));
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

SM_API int sm_pool_stats(struct sm_pool *p, struct sm_pool_stats *out,
			 struct sm_error *err)
{
	struct sm_pool_stats st;

	if (!p || !out)
		return sm_err(
		    err, -EINVAL,
		    "sm_pool_stats: a pool and a result are required");
	pthread_mutex_lock(&p->lock);
	st = p->st;
	st.size = sizeof(st);
	st.ready = (unsigned)p->ready.n;
	st.in_use = (unsigned)p->in_use.n;
	pthread_mutex_unlock(&p->lock);
	return sm_opts_give(out, &st, sizeof(st), "sm_pool_stats", err);
}

SM_API void sm_pool_destroy(struct sm_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pool_free(p);
}
