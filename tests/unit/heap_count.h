/*
 * Heap bytes in use, exact enough for leak checks in the plain build:
 * heap_exact(argv) re-runs the test with glibc's per-thread cache off
 * (GLIBC_TUNABLES) and turns fast bins off, so that a freed block no
 * longer counts as in use. Under ASan (SANITIZE=1) mallinfo2 says 0 and
 * LeakSanitizer checks at exit instead.
 */
#ifndef TEST_HEAP_COUNT_H
#define TEST_HEAP_COUNT_H
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void heap_exact(char **argv)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if (!t || !strstr(t, "glibc.malloc.tcache_count=0")) {
		setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
		execv("/proc/self/exe", argv);
	}
	mallopt(M_MXFAST, 0);
}

static long heap_live(void)
{
	return (long)mallinfo2().uordblks;
}
#endif
