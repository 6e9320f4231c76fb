/*
 * An OCI runtime bundle's config.json (runtime-spec 1.0): what
 * supermachine-oci reads of it (src/bundle/config.c) and how that becomes
 * a VM's run options (src/bundle/map.c). docs/oci-runtime.md lists every
 * field: used, mapped, or ignored with a note. Internal.
 *
 * The file is the engine's, but it carries what images and users put in
 * it (args, env, mounts): parsed with caps on every count and length,
 * fuzzed by tests/fuzz/fuzz_bundle_config.c.
 */
#ifndef SM_BUNDLE_H
#define SM_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

#define BUNDLE_MAX_CONFIG (4u << 20) /* bytes of config.json */
#define BUNDLE_MAX_ARGS 4096	     /* args, env entries, mount options */
#define BUNDLE_MAX_MOUNTS 256
#define BUNDLE_MAX_NOTES 64

struct bundle_mount {
	char *destination, *type, *source; /* type/source: "" when absent */
	char **options;			   /* NULL-terminated */
};

struct bundle {
	/* process */
	char **args, **env; /* NULL-terminated */
	char *cwd;
	uint32_t uid, gid;
	size_t n_additional_gids;
	bool terminal, no_new_privileges;
	unsigned console_rows, console_cols;
	/* root */
	char *root_path; /* as written: relative to the bundle, or absolute */
	bool root_readonly;
	char *hostname; /* NULL when absent */
	struct bundle_mount *mounts;
	size_t nmounts;
	/* linux */
	int64_t memory_limit; /* bytes; 0: none */
	int64_t cpu_quota;    /* with cpu_period: cpus = ceil(quota/period) */
	uint64_t cpu_period;
	bool has_netns;	  /* a network namespace is asked for */
	char *netns_path; /* ...an existing one (the engine's); NULL: new */
	/* annotations (io.supermachine.cpus, io.supermachine.memory) */
	char *ann_cpus, *ann_memory;
	/* what was read but does not apply to a VM: one line each, for the
	 * runtime's --log */
	char *notes[BUNDLE_MAX_NOTES];
	size_t nnotes;
};

/* Parses config.json's text (len bytes, not NUL-terminated). 0 or -errno
 * with err saying which field is wrong. */
int bundle_parse(const char *text, size_t len, struct bundle *b,
		 struct sm_error *err);
/* A process object alone (exec --process FILE): b's process fields. */
int bundle_parse_process(const char *text, size_t len, struct bundle *b,
			 struct sm_error *err);
/* Reads DIR/config.json and parses it. */
int bundle_load(const char *dir, struct bundle *b, struct sm_error *err);
void bundle_free(struct bundle *b);

/*
 * The run options of b's process in a VM: cmd, env, workdir, user,
 * hostname, tty, rootfs (resolved against bundle_dir), cpus and memory,
 * binds as -v and tmpfs as --tmpfs, network "none" for a new empty
 * network namespace. The strings are the mapping's (map->o points into
 * it) until bundle_run_free(); b stays the caller's and must outlive it.
 */
struct bundle_run {
	struct sm_run_options o;
	char *rootfs;
	char **volumes, **tmpfs; /* NULL-terminated */
	size_t nvolumes, ntmpfs;
	char *user;
};
int bundle_to_run(struct bundle *b, const char *bundle_dir,
		  struct bundle_run *map, struct sm_error *err);
void bundle_run_free(struct bundle_run *map);

/* A note (printf) on b's list; silently dropped past BUNDLE_MAX_NOTES. */
void bundle_note(struct bundle *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
