/*
 * Seed corpora: with FUZZ_SEED_OUT=DIR set, a target's
 * LLVMFuzzerInitialize writes its seeds there (made by the real save and
 * serialize code it links) and exits instead of fuzzing.
 * tests/fuzz/make-corpus.sh runs every target so to fill
 * tests/fuzz/corpus/TARGET.
 */
#ifndef FUZZ_SEED_H
#define FUZZ_SEED_H
#include <stdio.h>
#include <stdlib.h>

static void seed_write(const char *name, const void *p, size_t n)
{
	const char *dir = getenv("FUZZ_SEED_OUT");
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Defines LLVMFuzzerInitialize to call make_seeds() when asked to. */
#define FUZZ_SEEDS(make_seeds)                            \
	int LLVMFuzzerInitialize(int *argc, char ***argv) \
	{                                                 \
		(void)argc, (void)argv;                   \
		if (getenv("FUZZ_SEED_OUT")) {            \
			make_seeds();                     \
			exit(0);                          \
		}                                         \
		return 0;                                 \
	}
#endif
