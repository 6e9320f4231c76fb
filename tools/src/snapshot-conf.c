/*
 * snapshot-conf get DIR: prints the machine's configuration a snapshot's
 * state file holds (its SNAP_REC_VM_CONF record, vm_conf.h text).
 * snapshot-conf put DIR: replaces it with stdin, keeping every other
 * record, and writes the state file again (a valid checksum): for tests
 * that give a restore a hostile configuration. Exit 0, or 1 with why.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format.h"
#include "snapshot/snapshot.h"
#include "util/error.h"

static int get(const struct snap_file *f)
{
	const struct snap_record *r = snap_find(f, SNAP_REC_VM_CONF, 0);

	if (!r) {
		fprintf(stderr, "snapshot-conf: no configuration record\n");
		return 1;
	}
	return fwrite(r->data, 1, r->len, stdout) == r->len ? 0 : 1;
}

static int put(const struct snap_file *f, const char *path)
{
	struct sm_error err = {0};
	struct snap_writer w;
	char *text = NULL;
	size_t cap = 0, len = 0;
	int ret = 0;

	while (!feof(stdin) && !ferror(stdin)) {
		if (len + 4096 > cap && !(text = realloc(text, cap += 65536)))
			return 1;
		len += fread(text + len, 1, cap - len, stdin);
	}
	snap_writer_init(&w);
	for (uint32_t i = 0; !ret && i < f->count; i++)
		if (f->recs[i].type != SNAP_REC_VM_CONF)
			ret = snap_put(&w, f->recs[i].type, f->recs[i].instance,
				       f->recs[i].data, f->recs[i].len, &err);
	if (!ret)
		ret = snap_put(&w, SNAP_REC_VM_CONF, 0, text, len, &err);
	if (!ret)
		ret = snap_write_file(&w, path, &err);
	if (ret)
		fprintf(stderr, "snapshot-conf: %s\n", err.msg);
	snap_writer_free(&w);
	free(text);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sm_error err = {0};
	struct snap_file f = {0};
	char path[PATH_MAX];
	int ret;

	if (argc != 3 || (strcmp(argv[1], "get") && strcmp(argv[1], "put"))) {
		fprintf(stderr, "usage: snapshot-conf get|put DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/" SNAP_STATE_FILE, argv[2]);
	if (snap_read_file(&f, path, &err)) {
		fprintf(stderr, "snapshot-conf: %s\n", err.msg);
		return 1;
	}
	ret = strcmp(argv[1], "get") ? put(&f, path) : get(&f);
	snap_file_free(&f);
	return ret;
}
