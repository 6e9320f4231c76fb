/* SUPERMACHINE_FUSE_TRACE: one line per request with its result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuse_test.h"
#include "test.h"

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

TEST(trace_to_file_from_env)
{
	char path[] = "/tmp/fuse-trace.XXXXXX";
	struct tc t = {0};
	void *be = NULL;
	char *log;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	setenv("SUPERMACHINE_FUSE_TRACE", path, 1);
	CHECK_EQ(fuse_memfs_new(&be, NULL), 0);
	/* trace NULL in the config: the environment decides */
	t.msg = calloc(1, MSG_MAX);
	t.out = calloc(1, MSG_MAX);
	{
		struct fuse_server_config cfg = {.ops = &fuse_memfs_ops,
						 .backend = be};

		CHECK_EQ(fuse_server_new(&cfg, &t.s, NULL), 0);
	}
	unsetenv("SUPERMACHINE_FUSE_TRACE");
	CHECK_EQ(tc_init_proto(&t, 7, 36), 0);
	CHECK_EQ(fs_getattr(&t, 1, NULL), 0);
	CHECK_EQ(fs_lookup(&t, 1, "nope", NULL), -ENOENT);
	CHECK_EQ(fs_forget(&t, 77, 1), 1);
	tc_begin(&t, 4000, 5);
	CHECK_EQ(tc_send(&t), -ENOSYS);
	tc_close(&t);
	log = slurp(path);
	CHECK(log != NULL);
	if (log) {
		CHECK(strstr(log, "op=INIT(26) nodeid=0") != NULL);
		CHECK(strstr(
			  log,
			  "op=GETATTR(3) nodeid=1 len=56 uid=0 -> 0 out=120") !=
		      NULL);
		CHECK(strstr(log, "op=LOOKUP(1) nodeid=1") != NULL);
		CHECK(strstr(log, "-> -2 out=16") != NULL);
		CHECK(strstr(log, "op=FORGET(2) nodeid=77") != NULL);
		CHECK(strstr(log, "op=UNKNOWN(4000) nodeid=5") != NULL);
		CHECK(strstr(log, "-> -38 out=16") != NULL);
	}
	unlink(path);
	fuse_memfs_ops.destroy(be);
}

TEST(trace_off_and_bad_path)
{
	struct fuse_server_config cfg = {.ops = &fuse_memfs_ops,
					 .trace = "/nonexistent/dir/trace"};
	struct sm_error err = {0};
	struct fuse_server *s = NULL;
	void *be = NULL;

	CHECK_EQ(fuse_memfs_new(&be, NULL), 0);
	cfg.backend = be;
	CHECK_EQ(fuse_server_new(&cfg, &s, &err), -ENOENT);
	CHECK(strstr(err.msg, "trace file /nonexistent/dir/trace") != NULL);
	cfg.trace = "0";
	CHECK_EQ(fuse_server_new(&cfg, &s, &err), 0);
	fuse_server_free(s);
	cfg.trace = "stderr";
	CHECK_EQ(fuse_server_new(&cfg, &s, &err), 0);
	fuse_server_free(s);
	fuse_memfs_ops.destroy(be);
}

int main(void)
{
	RUN(trace_to_file_from_env);
	RUN(trace_off_and_bad_path);
	return test_summary();
}
