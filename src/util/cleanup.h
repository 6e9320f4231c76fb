/* Scope-bound cleanup (crun style): `_cleanup_close_ int fd = -1;`. */
#ifndef SM_UTIL_CLEANUP_H
#define SM_UTIL_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void sm_cleanup_free(void *p)
{
	free(*(void **)p);
}

static inline void sm_cleanup_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ __attribute__((cleanup(sm_cleanup_free)))
#define _cleanup_close_ __attribute__((cleanup(sm_cleanup_close)))

/* Hands ownership out of a cleanup variable. */
#define steal_fd(fd)             \
	({                       \
		int __fd = (fd); \
		(fd) = -1;       \
		__fd;            \
	})
#define steal_ptr(p)                     \
	({                               \
		__typeof__(p) __p = (p); \
		(p) = NULL;              \
		__p;                     \
	})

#endif
