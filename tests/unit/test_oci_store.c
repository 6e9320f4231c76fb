/* Content store: atomic blob writes, digest checks, locks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "oci/store.h"
#include "util/fs.h"

static char root[] = "/tmp/sm-test-store-XXXXXX";
static struct sm_store *st;

/* sha256("hello\n") */
#define HELLO     \
	"sha256:" \
	"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static int count_tmp(void)
{
	char cmd[256];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s/tmp | wc -l", root);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	return n;
}

TEST(open_creates_layout)
{
	struct sm_store_options o = {.size = sizeof(o), .root = root};
	struct sm_error err = {0};
	char p[512];

	CHECK(mkdtemp(root) != NULL);
	CHECK_EQ(sm_store_open(&st, &o, &err), 0);
	snprintf(p, sizeof(p), "%s/blobs/sha256", root);
	CHECK_EQ(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/images", root);
	CHECK_EQ(access(p, F_OK), 0);
}

TEST(blob_verified_and_atomic)
{
	struct blob_writer w;
	struct sm_error err = {0};
	char got[72];

	CHECK_EQ(blob_writer_open(&w, st, 6, &err), 0);
	CHECK_EQ(blob_writer_write(&w, "hel", 3), 0);
	CHECK(!store_blob_exists(st, HELLO)); /* nothing visible yet */
	CHECK_EQ(blob_writer_write(&w, "lo\n", 3), 0);
	CHECK_EQ(blob_writer_commit(&w, HELLO, 6, got, &err), 0);
	CHECK_STR(got, HELLO);
	CHECK(store_blob_exists(st, HELLO));
	CHECK_EQ(count_tmp(), 0);
}

TEST(blob_mismatch_keeps_nothing)
{
	struct blob_writer w;
	struct sm_error err = {0};
	const char *want =
	    "sha256:"
	    "0000000000000000000000000000000000000000000000000000000000000000";

	CHECK_EQ(blob_writer_open(&w, st, 100, &err), 0);
	CHECK_EQ(blob_writer_write(&w, "other\n", 6), 0);
	CHECK_EQ(blob_writer_commit(&w, want, 6, NULL, &err), -EIO);
	CHECK(strstr(err.msg, "digest mismatch") != NULL);
	CHECK(!store_blob_exists(st, want));
	CHECK_EQ(count_tmp(), 0);
	/* too many bytes for the declared size */
	CHECK_EQ(blob_writer_open(&w, st, 3, &err), 0);
	CHECK_EQ(blob_writer_write(&w, "toolong", 7), -EFBIG);
	blob_writer_abort(&w);
	/* short blob */
	CHECK_EQ(blob_writer_open(&w, st, 6, &err), 0);
	CHECK_EQ(blob_writer_write(&w, "hel", 3), 0);
	CHECK_EQ(blob_writer_commit(&w, HELLO, 6, NULL, &err), -EIO);
	CHECK(strstr(err.msg, "size mismatch") != NULL);
	CHECK_EQ(count_tmp(), 0);
}

TEST(reset_restarts_hash)
{
	struct blob_writer w;
	struct sm_error err = {0};

	CHECK_EQ(blob_writer_open(&w, st, 6, &err), 0);
	CHECK_EQ(blob_writer_write(&w, "junk", 4), 0);
	CHECK_EQ(blob_writer_reset(&w), 0);
	CHECK_EQ(blob_writer_write(&w, "hello\n", 6), 0);
	CHECK_EQ(blob_writer_commit(&w, HELLO, 6, NULL, &err), 0);
}

/*
 * In another process, tries flock(OP | LOCK_NB) on the lock file NAME.
 * Returns 'b' (busy: EWOULDBLOCK), 't' (taken), 'o' (the lock file could
 * not be opened) or 'e' (another error), so that a missing lock file is
 * never mistaken for a held lock.
 */
static int other_process_flock(const char *name, int op)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		char p[512];
		int f;

		snprintf(p, sizeof(p), "%s/locks/%s.lock", root, name);
		f = open(p, O_RDWR);
		if (f < 0)
			_exit('o');
		if (flock(f, op | LOCK_NB) == 0)
			_exit('t');
		_exit(errno == EWOULDBLOCK ? 'b' : 'e');
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(lock_excludes_other_process)
{
	struct sm_error err = {0};
	int fd = store_lock(st, "x", 1, &err);

	CHECK(fd > 2);
	CHECK_EQ(other_process_flock("x", LOCK_EX), 'b');
	CHECK_EQ(other_process_flock("x", LOCK_SH), 'b');
	store_unlock(fd);
	/* released: the same probe now takes it (the probe can succeed) */
	CHECK_EQ(other_process_flock("x", LOCK_EX), 't');
}

TEST(shared_lock_excludes_writers_only)
{
	struct sm_error err = {0};
	int fd = store_lock(st, "y", 0, &err);

	CHECK(fd > 2);
	CHECK_EQ(other_process_flock("y", LOCK_SH), 't');
	CHECK_EQ(other_process_flock("y", LOCK_EX), 'b');
	store_unlock(fd);
	CHECK_EQ(other_process_flock("y", LOCK_EX), 't');
}

TEST(write_file_and_refs)
{
	struct sm_error err = {0};
	json_t *refs = NULL;
	char *p = store_path(st, "f");
	char *txt = NULL;

	CHECK_EQ(store_write_file(p, "abc", 3, &err), 0);
	CHECK_EQ(store_read_file(p, 10, &txt, NULL, &err), 0);
	CHECK_STR(txt, "abc");
	CHECK_EQ(store_read_file(p, 2, &txt, NULL, &err), -EFBIG);
	CHECK_EQ(store_refs_load(st, &refs, &err), 0);
	json_object_set_new(refs, "a", json_string("b"));
	CHECK_EQ(store_refs_save(st, refs, &err), 0);
	json_decref(refs);
	CHECK_EQ(store_refs_load(st, &refs, &err), 0);
	CHECK_STR(json_string_value(json_object_get(refs, "a")), "b");
	json_decref(refs);
	free(txt);
	free(p);
}

static int exists(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return access(p, F_OK) == 0;
}

/* What a killed pull left (tmp/ entries, refs.json.tmp.*) is removed when
 * the store is opened, but not while a live process holds the locks its
 * writers hold (gc for tmp/, refs for refs.json): it may be theirs. */
TEST(stale_temporaries_removed_unless_owned)
{
	struct sm_store_options o = {.size = sizeof(o), .root = root};
	struct sm_error err = {0};
	struct sm_store *again = NULL;
	char p[512];
	int gc, refs, fd;

	snprintf(p, sizeof(p), "%s/tmp/img-dead/rootfs", root);
	CHECK_EQ(sm_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/tmp/blob-dead", root);
	CHECK((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/refs.json.tmp.dead", root);
	CHECK((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	gc = store_lock(st, "gc", 0, &err);
	refs = store_lock(st, "refs", 0, &err);
	CHECK(gc > 2 && refs > 2);
	store_clean_stale(st); /* a pull at work: all kept */
	CHECK(exists("tmp/img-dead/rootfs") && exists("tmp/blob-dead") &&
	      exists("refs.json.tmp.dead"));
	store_unlock(gc);
	store_unlock(refs);
	CHECK_EQ(sm_store_open(&again, &o, &err), 0);
	CHECK_EQ(count_tmp(), 0);
	CHECK(!exists("refs.json.tmp.dead") && exists("tmp"));
	sm_store_close(again);
}

int main(void)
{
	RUN(open_creates_layout);
	RUN(blob_verified_and_atomic);
	RUN(blob_mismatch_keeps_nothing);
	RUN(reset_restarts_hash);
	RUN(lock_excludes_other_process);
	RUN(shared_lock_excludes_writers_only);
	RUN(write_file_and_refs);
	RUN(stale_temporaries_removed_unless_owned);
	sm_store_close(st);
	store_rmtree(root);
	return test_summary();
}
