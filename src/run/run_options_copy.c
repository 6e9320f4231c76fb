/*
 * A deep copy of struct sm_run_options, for what makes VMs after the
 * call that gave the options has returned (a warm pool's refills,
 * src/run/pool.c): every string and string list becomes the copy's own.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "run/run_options_copy.h"

#define STR(m)                                            \
	{                                                 \
		offsetof(struct sm_run_options, m), false \
	}
#define LIST(m)                                          \
	{                                                \
		offsetof(struct sm_run_options, m), true \
	}
static const struct {
	size_t off;
	bool list;
} owned_fields[] = {
    LIST(cmd),	   STR(entrypoint),  LIST(env),	    LIST(env_files),
    STR(workdir),  STR(user),	     STR(hostname), STR(kernel),
    STR(initrd),   STR(stop_signal), STR(network),  LIST(publish),
    LIST(volumes), LIST(mounts),     LIST(tmpfs),   STR(jail_user),
    STR(rootfs),
};
#define N_OWNED (sizeof(owned_fields) / sizeof(owned_fields[0]))

static void **slot(struct sm_run_options *o, size_t i)
{
	return (void **)((char *)o + owned_fields[i].off);
}

static char **list_dup(const char *const *v)
{
	size_t n = 0;
	char **copy;

	while (v[n])
		n++;
	copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy && i < n; i++) {
		copy[i] = strdup(v[i]);
		if (!copy[i]) {
			while (i--)
				free(copy[i]);
			free(copy);
			return NULL;
		}
	}
	return copy;
}

static void list_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int run_options_copy(struct sm_run_options *dst,
		     const struct sm_run_options *src)
{
	*dst = *src;
	for (size_t i = 0; i < N_OWNED; i++)
		*slot(dst, i) = NULL;
	for (size_t i = 0; i < N_OWNED; i++) {
		const void *from = *slot((struct sm_run_options *)src, i);
		void *to;

		if (!from)
			continue;
		to = owned_fields[i].list ? (void *)list_dup(from)
					  : (void *)strdup(from);
		if (!to) {
			run_options_copy_free(dst);
			return -ENOMEM;
		}
		*slot(dst, i) = to;
	}
	return 0;
}

void run_options_copy_free(struct sm_run_options *o)
{
	for (size_t i = 0; i < N_OWNED; i++) {
		if (owned_fields[i].list)
			list_free(*slot(o, i));
		else
			free(*slot(o, i));
		*slot(o, i) = NULL;
	}
}
