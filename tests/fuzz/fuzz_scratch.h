/*
 * A scratch directory for fuzz targets that write files: one per process
 * under $TMPDIR, emptied after every input and removed at exit.
 */
#ifndef FUZZ_SCRATCH_H
#define FUZZ_SCRATCH_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "oci/store.h"

static char scratch_dir[256];

static void scratch_remove(void)
{
	store_rmtree(scratch_dir);
}

static const char *scratch(void)
{
	const char *t = getenv("TMPDIR");

	if (!scratch_dir[0]) {
		snprintf(scratch_dir, sizeof(scratch_dir), "%s/fuzz.XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(scratch_dir))
			abort();
		atexit(scratch_remove);
	}
	return scratch_dir;
}

/* Writes data to DIR/name; 0 or -1. */
static int scratch_file(const char *name, const void *data, size_t len,
			char *path, size_t path_len)
{
	FILE *f;
	size_t n;

	snprintf(path, path_len, "%s/%s", scratch(), name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	n = fwrite(data, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}
#endif
