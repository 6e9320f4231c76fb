/*
 * sm_volume_* (src/volume/): the API's contract (docs/errors.md: the
 * same code with or without an error object, -EINVAL for a missing
 * argument, an info struct of an older header filled only as far as it
 * goes), names checked before they become paths, and what a container
 * record names (src/volume/users.c): hostile names and a volumes
 * directory that is not a real one are never used for deleting. No VM.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supermachine.h"
#include "test.h"
#include "util/fs.h"
#include "volume/volume.h"

static char root[64], rt[96], vdir[PATH_MAX];
static struct sm_store *store;

#define SAME_CODE(want, call_with_err)                                \
	do {                                                          \
		struct sm_error e_ = {0}, *err = &e_;                 \
		int with_ = (call_with_err);                          \
		err = NULL;                                           \
		int without_ = (call_with_err);                       \
		CHECK_EQ(with_, want);                                \
		CHECK_EQ(without_, want);                             \
		CHECK(e_.code == with_ && (with_ >= 0 || e_.msg[0])); \
	} while (0)

static bool exists(const char *fmt, const char *a)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), fmt, a);
	return lstat(p, &st) == 0;
}

TEST(api_contract)
{
	struct sm_volume_info info = {.struct_size = sizeof(info)}, *list;
	uint64_t bytes = 1;

	SAME_CODE(-EINVAL, sm_volume_create(NULL, "v1", NULL, err));
	SAME_CODE(-EINVAL, sm_volume_create(store, "a", NULL, err));
	SAME_CODE(-EINVAL, sm_volume_create(store, "../up", NULL, err));
	SAME_CODE(-EINVAL, sm_volume_inspect(store, NULL, &info, err));
	SAME_CODE(-EINVAL, sm_volume_inspect(store, "v1", NULL, err));
	SAME_CODE(-EINVAL, sm_volume_list(NULL, &list, err));
	SAME_CODE(-EINVAL, sm_volume_list(store, NULL, err));
	SAME_CODE(-EINVAL, sm_volume_remove(store, NULL, 0, err));
	SAME_CODE(-EINVAL, sm_volume_prune(NULL, NULL, NULL, err));
	SAME_CODE(-EINVAL, sm_container_remove_with_volumes(NULL, 0, err));
	SAME_CODE(-ENOENT, sm_volume_inspect(store, "v1", &info, err));
	SAME_CODE(-ENOENT, sm_volume_inspect(store, "..", &info, err));
	SAME_CODE(-ENOENT, sm_volume_remove(store, "v1", 0, err));
	SAME_CODE(0, sm_volume_remove(store, "v1", 1, err));
	CHECK(sm_volume_info_at(NULL, 0) == NULL);
	CHECK_EQ(sm_volume_prune(store, NULL, &bytes, NULL), 0);
	CHECK_EQ(bytes, 0);
	CHECK(!exists("%s/up", root) && !exists("%s/volumes/a", root));
}

TEST(create_inspect_list_older_info)
{
	struct sm_volume_info info, *list = NULL;
	int n;

	memset(&info, 0x5a, sizeof(info));
	info.struct_size = offsetof(struct sm_volume_info, size);
	CHECK_EQ(sm_volume_create(store, "v1", &info, NULL), 0);
	CHECK_STR(info.name, "v1");
	CHECK(strstr(info.mountpoint, "/volumes/v1/_data") != NULL);
	CHECK(info.created_ns > 0);
	/* past the caller's size: untouched */
	CHECK_EQ(info.anonymous, 0x5a5a5a5a);
	CHECK_EQ(sm_volume_create(store, NULL, NULL, NULL), 0);
	n = sm_volume_list(store, &list, NULL);
	CHECK_EQ(n, 2);
	CHECK(n == 2 && strlen(sm_volume_info_at(list, 0)->name) == 64 &&
	      !strcmp(sm_volume_info_at(list, 1)->name, "v1"));
	free(list);
}

/* Writes a record as a run's process does, with the volumes given. */
static void record(const char *id, const char *dir, const char *vols)
{
	char p[PATH_MAX], text[2048];

	snprintf(p, sizeof(p), "%s/containers/%s", rt, id);
	sm_mkdir_p(p, 0700);
	snprintf(p, sizeof(p), "%s/containers/%s/meta", rt, id);
	snprintf(text, sizeof(text),
		 "{\"id\":\"%s\",\"name\":\"n%.6s\",\"created_ns\":1,"
		 "\"volumes_dir\":\"%s\",\"volumes\":%s}",
		 id, id, dir, vols);
	sm_atomic_write_buf(p, 0644, text, strlen(text), NULL);
	snprintf(p, sizeof(p), "%s/containers/%s/state", rt, id);
	snprintf(text, sizeof(text), "{\"status\":\"exited\",\"pid\":1}");
	sm_atomic_write_buf(p, 0644, text, strlen(text), NULL);
}

TEST(record_names_checked)
{
	char id[65], p[PATH_MAX];
	struct volume_use *uses = NULL;
	struct sm_container *c = NULL;
	int n;

	memset(id, 'd', 64);
	id[64] = '\0';
	snprintf(p, sizeof(p), "%s/victim", root);
	sm_mkdir_p(p, 0755);
	CHECK_EQ(sm_volume_create(store, "anon1", NULL, NULL), 0);
	CHECK_EQ(sm_volume_create(store, "named1", NULL, NULL), 0);
	record(id, vdir,
	       "[{\"name\":\"../victim\",\"anonymous\":true},"
	       "{\"name\":\"a/../../victim\",\"anonymous\":true},"
	       "{\"name\":\"anon1\",\"anonymous\":true},"
	       "{\"name\":\"named1\",\"anonymous\":false}]");
	n = volume_uses(vdir, &uses, NULL);
	CHECK_EQ(n, 2); /* the hostile names are no uses */
	free(uses);
	SAME_CODE(-EBUSY, sm_volume_remove(store, "anon1", 1, err));
	CHECK_EQ(sm_container_open(id, &c, NULL), 0);
	CHECK_EQ(sm_container_remove_with_volumes(c, 0, NULL), 0);
	sm_container_close(c);
	CHECK(exists("%s/victim", root));
	CHECK(!exists("%s/volumes/anon1", root));
	CHECK(exists("%s/volumes/named1/_data", root));

	/* a volumes directory that is not a real path: nothing deleted */
	CHECK_EQ(sm_volume_create(store, "anon2", NULL, NULL), 0);
	snprintf(p, sizeof(p), "%s/../%s/volumes", root,
		 strrchr(root, '/') + 1);
	record(id, p, "[{\"name\":\"anon2\",\"anonymous\":true}]");
	CHECK_EQ(sm_container_open(id, &c, NULL), 0);
	CHECK_EQ(sm_container_remove_with_volumes(c, 0, NULL), 0);
	sm_container_close(c);
	CHECK(exists("%s/volumes/anon2/_data", root));
}

int main(void)
{
	struct sm_store_options so = {.size = sizeof(so), .root = root};
	char p[PATH_MAX];

	snprintf(root, sizeof(root), "/tmp/sm-vol.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(rt, sizeof(rt), "%s/runtime", root);
	setenv("SUPERMACHINE_RUNTIME", rt, 1);
	if (sm_store_open(&store, &so, NULL))
		return 1;
	snprintf(p, sizeof(p), "%s/volumes", root);
	sm_mkdir_p(p, 0755);
	if (!realpath(p, vdir))
		return 1;
	RUN(api_contract);
	RUN(create_inspect_list_older_info);
	RUN(record_names_checked);
	sm_store_close(store);
	sm_rm_tree(root);
	return test_summary();
}
