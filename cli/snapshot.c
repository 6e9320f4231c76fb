/*
 * supermachine snapshot CONTAINER DIR: saves a running container's VM to
 * DIR (state, with the machine's configuration, and memory) and lets it
 * go on; `supermachine restore DIR` resumes it, any number of times.
 *
 * The container's VMM opens no path (docs/security.md, "Jail"): this
 * command makes the two files, as the caller, under temporary names in
 * DIR, sends their descriptors for the VMM to write, and renames them
 * into place once it succeeded. The VMM never names, links or owns a
 * file in DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ctr.h"
#include "util/error.h"
#include "util/fs.h"

#define NFILES 2
static const char *const names[NFILES] = {"memory", "state"};
/* guest memory and registers are the caller's alone */
static const mode_t modes[NFILES] = {0600, 0600};

struct staged {
	char tmp[NFILES][PATH_MAX];
	int fd[NFILES];
};

static int stage(struct staged *s, const char *dir)
{
	for (int i = 0; i < NFILES; i++) {
		if ((size_t)snprintf(s->tmp[i], sizeof(s->tmp[i]),
				     "%s/.%s.XXXXXX", dir,
				     names[i]) >= sizeof(s->tmp[i])) {
			s->tmp[i][0] = '\0';
			return -ENAMETOOLONG;
		}
		s->fd[i] = mkostemp(s->tmp[i], O_CLOEXEC);
		if (s->fd[i] < 0 || fchmod(s->fd[i], modes[i]) < 0)
			return -errno;
	}
	return 0;
}

static int commit(const struct staged *s, const char *dir)
{
	char path[PATH_MAX];

	for (int i = 0; i < NFILES; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		if (rename(s->tmp[i], path) < 0)
			return -errno;
	}
	return sm_fsync_parent(path); /* the renames are durable */
}

/* Closes the descriptors; removes what was not renamed into place. */
static void unstage(struct staged *s)
{
	for (int i = 0; i < NFILES; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		if (s->tmp[i][0])
			unlink(s->tmp[i]); /* ENOENT once renamed */
	}
}

int cmd_snapshot(int argc, char **argv)
{
	struct sm_error err = {0};
	struct staged s = {.fd = {-1, -1}};
	char abs[PATH_MAX];
	json_t *req, *reply = NULL;
	struct ctr ct = {0};
	int r;

	if (argc != 3 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: supermachine snapshot CONTAINER DIR\n");
		return argc == 2 ? 0 : CLI_EXIT_FAILURE;
	}
	if (mkdir(argv[2], 0755) && errno != EEXIST) {
		fprintf(stderr, "supermachine: create %s: %s\n", argv[2],
			strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	if (!realpath(argv[2], abs)) {
		fprintf(stderr, "supermachine: %s: %s\n", argv[2],
			strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	req = json_pack("{s:s}", "op", "snapshot");
	r = ctr_find(&ct, argv[1], &err);
	if (!r && (r = ctr_load(&ct, &err)) == 0 && (r = stage(&s, abs)) < 0)
		sm_err(&err, r, "snapshot: files in %s: %s", abs, strerror(-r));
	if (!r)
		r = ctr_request(&ct, req, s.fd, NFILES, &reply, NULL, &err);
	if (!r && (r = commit(&s, abs)) < 0)
		sm_err(&err, r, "snapshot: naming the files in %s: %s", abs,
		       strerror(-r));
	unstage(&s);
	if (r)
		cli_print_error(&err);
	json_decref(req);
	json_decref(reply);
	ctr_release(&ct);
	return r ? CLI_EXIT_FAILURE : 0;
}
