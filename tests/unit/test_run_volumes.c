/* Volumes: docker's -v, --mount and --tmpfs rules, image VOLUME entries,
 * slots, the spec records, and the host directories (vol_prepare). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "proto/proto.h"
#include "run/volumes.h"

static char tmpdir[] = "/tmp/test_run_volumes.XXXXXX";

static int parse_v(const char *spec, struct vol_mount *m)
{
	struct sm_error e = {0};
	int r = vol_parse_v(spec, "/work/dir", m, &e);

	return r;
}

TEST(clean_path)
{
	char *p;

	p = vol_clean_path("//a/./b/../c/");
	CHECK_STR(p, "/a/c");
	free(p);
	p = vol_clean_path("/../..");
	CHECK_STR(p, "/");
	free(p);
	p = vol_clean_path("/data");
	CHECK_STR(p, "/data");
	free(p);
	CHECK(vol_clean_path("rel/x") == NULL);
}

TEST(volume_names)
{
	CHECK(vol_valid_name("data"));
	CHECK(vol_valid_name("my-vol_1.x"));
	CHECK(!vol_valid_name("a")); /* docker wants two characters */
	CHECK(!vol_valid_name("-x"));
	CHECK(!vol_valid_name("a/b"));
	CHECK(!vol_valid_name("a:b"));
	CHECK(!vol_valid_name(""));
}

TEST(v_bind_absolute_ro)
{
	struct vol_set s = {0};

	CHECK_EQ(parse_v("/srv/x/:/data/:ro", &s.m[0]), 0);
	s.n = 1;
	CHECK_EQ(s.m[0].type, VOL_BIND);
	CHECK_STR(s.m[0].source, "/srv/x");
	CHECK_STR(s.m[0].target, "/data");
	CHECK(s.m[0].read_only);
	CHECK(s.m[0].create_host);
	vol_set_free(&s);
}

TEST(v_bind_relative)
{
	struct vol_set s = {0};

	CHECK_EQ(parse_v("./sub/../d:/x", &s.m[0]), 0);
	s.n = 1;
	CHECK_EQ(s.m[0].type, VOL_BIND);
	CHECK_STR(s.m[0].source, "/work/dir/d");
	CHECK(!s.m[0].read_only);
	vol_set_free(&s);
	CHECK_EQ(parse_v("..:/x", &s.m[0]), 0);
	s.n = 1;
	CHECK_STR(s.m[0].source, "/work");
	vol_set_free(&s);
}

TEST(v_named_and_anonymous)
{
	struct vol_set s = {0};

	CHECK_EQ(parse_v("cache:/var/cache:rw", &s.m[0]), 0);
	CHECK_EQ(parse_v("/only/guest", &s.m[1]), 0);
	s.n = 2;
	CHECK_EQ(s.m[0].type, VOL_NAMED);
	CHECK_STR(s.m[0].source, "cache");
	CHECK_EQ(s.m[1].type, VOL_ANON);
	CHECK(s.m[1].source == NULL);
	CHECK_STR(s.m[1].target, "/only/guest");
	vol_set_free(&s);
}

/* Parses spec with -v rules; returns the code, message in e. */
static int v_fails(const char *spec, struct sm_error *e)
{
	struct vol_set s = {0};
	int r;

	memset(e, 0, sizeof(*e));
	r = vol_parse_v(spec, "/", &s.m[0], e);
	s.n = 1;
	vol_set_free(&s);
	return r;
}

TEST(v_errors)
{
	struct sm_error e;

	CHECK_EQ(v_fails("/h:rel", &e), -EINVAL);
	CHECK(strstr(e.msg, "not an absolute path") != NULL);
	CHECK_EQ(v_fails("/h:/", &e), -EINVAL);
	CHECK(strstr(e.msg, "can't be '/'") != NULL);
	CHECK_EQ(v_fails("x:/a", &e), -EINVAL); /* one-character name */
	CHECK(strstr(e.msg, "invalid characters") != NULL);
	CHECK_EQ(v_fails("/h:/a:rx", &e), -EINVAL);
	CHECK(strstr(e.msg, "unknown option") != NULL);
	CHECK_EQ(v_fails("/h:/a:ro:x", &e), -EINVAL);
	CHECK_EQ(v_fails("/h:/a:ro,rw", &e), -EINVAL);
	CHECK_EQ(v_fails(":/a", &e), -EINVAL);
	CHECK_EQ(v_fails("rel", &e), -EINVAL);
	CHECK_EQ(v_fails("/h:/a:ro", &e), 0);
}

TEST(mount_syntax)
{
	struct vol_set s = {0};
	struct sm_error e = {0};

	CHECK_EQ(vol_parse_mount("type=bind,source=/h,target=/g,readonly", "/",
				 &s.m[0], &e),
		 0);
	CHECK_EQ(vol_parse_mount("src=named,dst=/v,ro=false", "/", &s.m[1], &e),
		 0);
	CHECK_EQ(
	    vol_parse_mount("type=volume,destination=/anon", "/", &s.m[2], &e),
	    0);
	CHECK_EQ(
	    vol_parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700",
			    "/", &s.m[3], &e),
	    0);
	s.n = 4;
	CHECK_EQ(s.m[0].type, VOL_BIND);
	CHECK(s.m[0].read_only);
	CHECK(!s.m[0].create_host); /* --mount never creates the source */
	CHECK_EQ(s.m[1].type, VOL_NAMED);
	CHECK(!s.m[1].read_only);
	CHECK_EQ(s.m[2].type, VOL_ANON);
	CHECK_EQ(s.m[3].type, VOL_TMPFS);
	CHECK_STR(s.m[3].tmpfs_opts, "size=1m,mode=700");
	vol_set_free(&s);
}

TEST(mount_errors)
{
	struct vol_set s = {0};
	struct sm_error e = {0};
	static const char *const bad[] = {
	    "type=bind,dst=/g",		       /* no source */
	    "type=nfs,dst=/g",		       /* unknown type */
	    "type=bind,src=/h",		       /* no target */
	    "type=bind,src=/h,dst=/g,bogus=1", /* unknown key */
	    "type=tmpfs,src=/h,dst=/g",	       /* tmpfs has no source */
	    "type=bind,src=/h,dst=/g,tmpfs-size=1m",
	    "type=tmpfs,dst=/g,tmpfs-size=lots",
	    "src=b@d,dst=/g",
	    "type=bind,src=/h,dst=/g,readonly=maybe",
	    NULL,
	};

	for (int i = 0; bad[i]; i++) {
		memset(&e, 0, sizeof(e));
		CHECK_EQ(vol_parse_mount(bad[i], "/", &s.m[0], &e), -EINVAL);
		CHECK(e.msg[0] != '\0');
		s.n = 1;
		vol_set_free(&s);
	}
}

TEST(tmpfs_options)
{
	struct vol_set s = {0};
	struct sm_error e = {0};

	CHECK_EQ(vol_parse_tmpfs("/run/x:size=64m,mode=1777,exec,uid=1000",
				 &s.m[0], &e),
		 0);
	CHECK_EQ(vol_parse_tmpfs("/t", &s.m[1], &e), 0);
	CHECK_EQ(vol_parse_tmpfs("/r:ro", &s.m[2], &e), 0);
	s.n = 3;
	CHECK_STR(s.m[0].tmpfs_opts, "size=64m,mode=1777,exec,uid=1000");
	CHECK(!s.m[0].read_only);
	CHECK_STR(s.m[1].tmpfs_opts, "");
	CHECK(s.m[2].read_only);
	vol_set_free(&s);
	CHECK_EQ(vol_parse_tmpfs("/t:size=1x", &s.m[0], &e), -EINVAL);
	s.n = 1;
	vol_set_free(&s);
	CHECK_EQ(vol_parse_tmpfs("/t:mode=999", &s.m[0], &e), -EINVAL);
	s.n = 1;
	vol_set_free(&s);
	CHECK_EQ(vol_parse_tmpfs("/t:nosuchopt", &s.m[0], &e), -EINVAL);
	s.n = 1;
	vol_set_free(&s);
	CHECK_EQ(vol_parse_tmpfs("t:size=1m", &s.m[0], &e), -EINVAL);
	s.n = 1;
	vol_set_free(&s);
}

TEST(plan_sorts_assigns_and_covers_image_volumes)
{
	const char *v[] = {"/h/a:/a/b/c", "named:/data", NULL};
	const char *mounts[] = {"type=bind,src=/h,dst=/a", NULL};
	const char *tmpfs[] = {"/a/t", NULL};
	char *img[] = {"/data", "/var/lib/x/", "relative", "/", NULL};
	struct vol_set s;
	struct sm_error e = {0};

	CHECK_EQ(vol_plan(v, mounts, tmpfs, img, "/", &s, &e), 0);
	CHECK_EQ(s.n, 5);
	/* parents first */
	CHECK_STR(s.m[0].target, "/a");
	CHECK_STR(s.m[1].target, "/data");
	CHECK_STR(s.m[2].target, "/a/t");
	CHECK_STR(s.m[3].target, "/a/b/c");
	CHECK_STR(s.m[4].target, "/var/lib/x");
	/* /data comes from -v (named), not the image */
	CHECK_EQ(s.m[1].type, VOL_NAMED);
	CHECK_EQ(s.m[4].type, VOL_ANON);
	CHECK(s.m[4].from_image);
	CHECK(!s.m[3].from_image);
	/* slots in order, tmpfs has none */
	CHECK_EQ(s.m[0].slot, 0);
	CHECK_EQ(s.m[1].slot, 1);
	CHECK_EQ(s.m[2].slot, -1);
	CHECK_EQ(s.m[3].slot, 2);
	CHECK_EQ(s.m[4].slot, 3);
	vol_set_free(&s);
}

TEST(plan_duplicates_and_slots)
{
	const char *dup[] = {"/h:/x", "/y:/x/", NULL};
	const char *dup_tmpfs[] = {"/x", NULL};
	const char *six[] = {"/a", "/b", "/c", "/d", "/e", "/f", NULL};
	const char *seven[] = {"/a", "/b", "/c", "/d", "/e", "/f", "/g", NULL};
	const char *tmpfs[] = {"/t1", "/t2", NULL};
	struct vol_set s;
	struct sm_error e = {0};

	CHECK_EQ(vol_plan(dup, NULL, NULL, NULL, "/", &s, &e), -EINVAL);
	CHECK(strstr(e.msg, "duplicate mount point: /x") != NULL);
	CHECK_EQ(vol_plan(dup + 1, NULL, dup_tmpfs, NULL, "/", &s, &e),
		 -EINVAL);
	CHECK_EQ(vol_plan(six, NULL, tmpfs, NULL, "/", &s, &e), 0);
	CHECK_EQ(s.n, 8);
	vol_set_free(&s);
	CHECK_EQ(vol_plan(seven, NULL, NULL, NULL, "/", &s, &e), -E2BIG);
	CHECK(strstr(e.msg, "too many volumes") != NULL);
	CHECK_EQ(s.n, 0);
}

TEST(spec_records)
{
	const char *v[] = {"/h:/data:ro", NULL};
	const char *tmpfs[] = {"/t:size=1m", NULL};
	struct vol_set s;
	struct sm_error e = {0};
	unsigned char buf[256];
	size_t n, off = 0;
	uint16_t tag;
	const uint8_t *val;
	uint32_t len;

	CHECK_EQ(vol_plan(v, NULL, tmpfs, NULL, "/", &s, &e), 0);
	n = vol_spec_records(&s, NULL);
	CHECK(n <= sizeof(buf));
	CHECK_EQ(vol_spec_records(&s, buf), n);
	CHECK_EQ(sm_spec_next(buf, n, &off, &tag, &val, &len), 1);
	CHECK_EQ(tag, SM_S_MOUNT);
	CHECK(len == 10 && memcmp(val, "0:ro:/data", 10) == 0);
	CHECK_EQ(sm_spec_next(buf, n, &off, &tag, &val, &len), 1);
	CHECK_EQ(tag, SM_S_TMPFS);
	CHECK(len == 10 && memcmp(val, "size=1m:/t", 10) == 0);
	CHECK_EQ(sm_spec_next(buf, n, &off, &tag, &val, &len), 0);
	CHECK_EQ(vol_spec_records(NULL, NULL), 0);
	vol_set_free(&s);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int read_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strcmp(buf, text) == 0;
}

TEST(prepare_dirs_and_copy_up)
{
	char root[256], rootfs[256], p[512], bind[256], missing[256], cmd[2048];
	const char *v[] = {bind, "myvol:/data", "/data/../opt/app", NULL};
	const char *mounts[] = {missing, NULL};
	struct vol_set s;
	struct sm_error e = {0};
	struct stat st;

	snprintf(root, sizeof(root), "%s/store", tmpdir);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
	snprintf(bind, sizeof(bind), "%s/newbind:/b", tmpdir);
	snprintf(missing, sizeof(missing), "type=bind,src=%s/nope,dst=/n",
		 tmpdir);
	snprintf(p, sizeof(p), "%s/data/sub", rootfs);
	mkdir(root, 0755);
	mkdir(rootfs, 0755);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/data/sub %s/opt && chmod 0750 %s/data && "
		 "echo seed >%s/data/sub/f && ln -s /etc %s/opt/app && "
		 "ln -s ../../../.. %s/data/up",
		 rootfs, rootfs, rootfs, rootfs, rootfs, rootfs);
	CHECK_EQ(system(cmd), 0);
	/* --mount with a missing source fails and creates nothing */
	CHECK_EQ(vol_plan(NULL, mounts, NULL, NULL, "/", &s, &e), 0);
	CHECK_EQ(vol_prepare(&s, root, rootfs, 0, &e), -ENOENT);
	CHECK(strstr(e.msg, "bind source path") != NULL);
	vol_set_free(&s);
	CHECK_EQ(vol_plan(v, NULL, NULL, NULL, "/", &s, &e), 0);
	CHECK_EQ(vol_prepare(&s, root, rootfs, 0, &e), 0);
	/* -v creates its bind source */
	snprintf(p, sizeof(p), "%s/newbind", tmpdir);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
	/* the named volume got the image's /data, links copied as links */
	snprintf(p, sizeof(p), "%s/volumes/myvol/_data/sub/f", root);
	CHECK(read_is(p, "seed\n"));
	snprintf(p, sizeof(p), "%s/volumes/myvol/_data", root);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0750);
	snprintf(p, sizeof(p), "%s/volumes/myvol/_data/up", root);
	CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
	/* /opt/app is a link to /etc in the image: resolved inside the
	 * rootfs, it is empty there, so nothing of the host's /etc comes */
	for (size_t i = 0; i < s.n; i++)
		if (s.m[i].type == VOL_ANON) {
			snprintf(p, sizeof(p), "%s/passwd", s.m[i].host_dir);
			CHECK(access(p, F_OK) != 0);
			CHECK(s.m[i].anon_dir != NULL);
		}
	/* a named volume with content is not refilled */
	snprintf(p, sizeof(p), "%s/volumes/myvol/_data/sub/f", root);
	CHECK_EQ(write_file(p, "changed\n"), 0);
	vol_set_free(&s);
	CHECK_EQ(vol_plan(v, NULL, NULL, NULL, "/", &s, &e), 0);
	CHECK_EQ(vol_prepare(&s, root, rootfs, 0, &e), 0);
	CHECK(read_is(p, "changed\n"));
	/* anonymous volumes go away on request, named ones stay */
	for (size_t i = 0; i < s.n; i++)
		if (s.m[i].type == VOL_ANON)
			snprintf(p, sizeof(p), "%s", s.m[i].anon_dir);
	vol_remove_anon(&s);
	CHECK(access(p, F_OK) != 0);
	snprintf(p, sizeof(p), "%s/volumes/myvol/_data/sub/f", root);
	CHECK(access(p, F_OK) == 0);
	vol_set_free(&s);
}

/* A regular file is bound alone (docs/volumes.md, "Single files"): its
 * slot is marked and its spec record says ",file". */
TEST(prepare_file_bind)
{
	char spec[300], mspec[300], f[256];
	const char *v[] = {spec, NULL}, *mounts[] = {mspec, NULL};
	struct vol_set s;
	struct sm_error e = {0};
	unsigned char buf[512];
	size_t n, off = 0;
	uint16_t tag;
	const uint8_t *val;
	uint32_t len;
	char want[300];

	snprintf(f, sizeof(f), "%s/afile", tmpdir);
	CHECK_EQ(write_file(f, "x"), 0);
	snprintf(spec, sizeof(spec), "%s:/etc/app.conf:ro", f);
	snprintf(mspec, sizeof(mspec), "type=bind,src=%s,dst=/f2", f);
	CHECK_EQ(vol_plan(v, mounts, NULL, NULL, "/", &s, &e), 0);
	CHECK_EQ(vol_prepare(&s, tmpdir, tmpdir, 0, &e), 0);
	CHECK_EQ(s.n, 2);
	for (size_t i = 0; i < s.n; i++) {
		CHECK(s.m[i].is_file);
		CHECK(s.m[i].host_dir && strcmp(s.m[i].host_dir, f) == 0);
	}
	n = vol_spec_records(&s, NULL);
	CHECK(n <= sizeof(buf));
	CHECK_EQ(vol_spec_records(&s, buf), n);
	CHECK_EQ(sm_spec_next(buf, n, &off, &tag, &val, &len), 1);
	CHECK_EQ(tag, SM_S_MOUNT);
	/* parents first: /f2 (rw), then /etc/app.conf (ro) */
	snprintf(want, sizeof(want), "%d:rw,file:/f2", s.m[0].slot);
	CHECK(len == strlen(want) && memcmp(val, want, len) == 0);
	CHECK_EQ(sm_spec_next(buf, n, &off, &tag, &val, &len), 1);
	snprintf(want, sizeof(want), "%d:ro,file:/etc/app.conf", s.m[1].slot);
	CHECK(len == strlen(want) && memcmp(val, want, len) == 0);
	vol_set_free(&s);
	/* a directory stays a directory share */
	snprintf(spec, sizeof(spec), "%s:/d", tmpdir);
	CHECK_EQ(vol_plan(v, NULL, NULL, NULL, "/", &s, &e), 0);
	CHECK_EQ(vol_prepare(&s, tmpdir, tmpdir, 0, &e), 0);
	CHECK(!s.m[0].is_file);
	vol_set_free(&s);
}

/* Devices, FIFOs and sockets are refused, naming the host path. */
TEST(prepare_refuses_special_sources)
{
	char spec[300], f[256];
	const char *v[] = {spec, NULL};
	const char *srcs[] = {"/dev/null", f, NULL};
	struct vol_set s;
	struct sm_error e = {0};

	snprintf(f, sizeof(f), "%s/fifo", tmpdir);
	CHECK_EQ(mkfifo(f, 0600), 0);
	for (int i = 0; srcs[i]; i++) {
		snprintf(spec, sizeof(spec), "%s:/x", srcs[i]);
		memset(&e, 0, sizeof(e));
		CHECK_EQ(vol_plan(v, NULL, NULL, NULL, "/", &s, &e), 0);
		CHECK_EQ(vol_prepare(&s, tmpdir, tmpdir, 0, &e), -EINVAL);
		CHECK(strstr(e.msg, srcs[i]) != NULL);
		CHECK(strstr(e.msg, i ? "a FIFO" : "a character device") !=
		      NULL);
		CHECK(strstr(e.msg, "only directories and regular files") !=
		      NULL);
		vol_set_free(&s);
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(clean_path);
	RUN(volume_names);
	RUN(v_bind_absolute_ro);
	RUN(v_bind_relative);
	RUN(v_named_and_anonymous);
	RUN(v_errors);
	RUN(mount_syntax);
	RUN(mount_errors);
	RUN(tmpfs_options);
	RUN(plan_sorts_assigns_and_covers_image_volumes);
	RUN(plan_duplicates_and_slots);
	RUN(spec_records);
	RUN(prepare_dirs_and_copy_up);
	RUN(prepare_file_bind);
	RUN(prepare_refuses_special_sources);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	}
	return test_summary();
}
