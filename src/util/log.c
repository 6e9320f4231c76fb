/*
 * The log callback of the public API: one process-wide handler, read
 * atomically so it may be changed while VMs run.
 */
#include <stdarg.h>
#include <stdio.h>

#include "util/log.h"

struct log_handler {
	sm_log_fn fn;
	void *opaque;
};

static struct log_handler handler;
static int handler_lock; /* a spin flag: set and read are both rare and tiny */

static void lock(void)
{
	while (__atomic_exchange_n(&handler_lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_store_n(&handler_lock, 0, __ATOMIC_RELEASE);
}

SM_API void sm_set_log(sm_log_fn fn, void *opaque)
{
	lock();
	handler = (struct log_handler){fn, opaque};
	unlock();
}

bool sm_log_wanted(void)
{
	bool wanted;

	lock();
	wanted = handler.fn != NULL;
	unlock();
	return wanted;
}

void sm_log(enum sm_log_level level, const char *fmt, ...)
{
	struct log_handler h;
	char msg[1024];
	va_list ap;

	lock();
	h = handler;
	unlock();
	if (!h.fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h.fn(level, msg, h.opaque);
}
