/*
 * What a container record keeps to run again (src/container/config.c,
 * config_volumes.c): every option back as it was given, what depended
 * on the creator fixed at create, the anonymous volumes its runs made
 * reused by name, and records that are not what they should be refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container.h"
#include "test.h"

static const char *const cmd[] = {"sh", "-c", "echo hi", NULL};
static const char *const publish[] = {"127.0.0.1:8080:80", NULL};
static const char *const tmpfs[] = {"/scratch:size=1m", NULL};

static json_t *saved(struct sm_container_options *o)
{
	json_t *meta = json_object();

	json_object_set_new(meta, "config", ctr_config_save(o));
	return meta;
}

TEST(options_come_back_as_given)
{
	const char *env[] = {"A=1", "SM_TEST_HOST_VAR", "SM_TEST_UNSET_VAR",
			     NULL};
	struct sm_run_options r;
	struct sm_container_options o = {.size = sizeof(o), .run = &r};
	struct ctr_config *cfg = NULL;
	json_t *meta;

	sm_run_options_init(&r);
	r.cmd = cmd;
	r.env = env;
	r.entrypoint = "";
	r.workdir = "/srv";
	r.user = "1000:1000";
	r.tty = 1;
	r.cpus = 2;
	r.memory_mib = 256;
	r.publish = publish;
	r.tmpfs = tmpfs;
	r.network = "none";
	r.vsock_max_buffer = 1UL << 20;
	r.pull = SM_PULL_ALWAYS;
	o.image = "alpine:3";
	o.stop_timeout = 3;
	o.log_max_size = 1ULL << 16;
	setenv("SM_TEST_HOST_VAR", "from-host", 1);
	unsetenv("SM_TEST_UNSET_VAR");
	meta = saved(&o);
	setenv("SM_TEST_HOST_VAR", "changed-later", 1);
	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), 0);
	if (!cfg) {
		json_decref(meta);
		return;
	}
	json_decref(meta); /* the config keeps its own reference */
	CHECK_STR(cfg->o.image, "alpine:3");
	CHECK(!cfg->o.restore_dir);
	CHECK_EQ(cfg->o.stop_timeout, 3);
	CHECK_EQ(cfg->o.log_max_size, 1ULL << 16);
	CHECK(cfg->o.run == &cfg->run);
	CHECK_STR(cfg->run.cmd[2], "echo hi");
	CHECK(!cfg->run.cmd[3]);
	/* -e K took the host's value at create; an unset K stays bare */
	CHECK_STR(cfg->run.env[1], "SM_TEST_HOST_VAR=from-host");
	CHECK_STR(cfg->run.env[2], "SM_TEST_UNSET_VAR");
	CHECK_STR(cfg->run.entrypoint, "");
	CHECK_STR(cfg->run.workdir, "/srv");
	CHECK_STR(cfg->run.user, "1000:1000");
	CHECK_EQ(cfg->run.tty, 1);
	CHECK_EQ(cfg->run.cpus, 2);
	CHECK_EQ(cfg->run.memory_mib, 256);
	CHECK_STR(cfg->run.publish[0], "127.0.0.1:8080:80");
	CHECK_STR(cfg->run.tmpfs[0], "/scratch:size=1m");
	CHECK(!cfg->run.volumes || !cfg->run.volumes[0]);
	CHECK_STR(cfg->run.network, "none");
	CHECK_EQ(cfg->run.vsock_max_buffer, 1UL << 20);
	CHECK_EQ(cfg->run.pull, SM_PULL_NEVER); /* docker start never pulls */
	CHECK_EQ(cfg->run.stdout_fd, 1);
	CHECK_EQ(cfg->run.signal_fd, -1);
	CHECK(cfg->cwd && cfg->cwd[0] == '/');
	ctr_config_free(cfg);
}

TEST(paths_are_fixed_at_create)
{
	char dir[] = "/tmp/test_ctr_config.XXXXXX", cwd[PATH_MAX], want[256];
	const char *files[] = {"envf", NULL};
	struct sm_run_options r;
	struct sm_container_options o = {.size = sizeof(o), .run = &r};
	struct ctr_config *cfg = NULL;
	json_t *meta;
	FILE *f;

	CHECK(mkdtemp(dir) && getcwd(cwd, sizeof(cwd)) && !chdir(dir));
	f = fopen("envf", "w");
	if (f)
		fclose(f);
	mkdir("snap", 0700);
	sm_run_options_init(&r);
	r.env_files = files;
	o.restore_dir = "snap";
	meta = saved(&o);
	CHECK(!chdir(cwd));
	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), 0);
	if (cfg) {
		snprintf(want, sizeof(want), "%s/envf", dir);
		CHECK_STR(cfg->run.env_files[0], want);
		snprintf(want, sizeof(want), "%s/snap", dir);
		CHECK_STR(cfg->o.restore_dir, want);
		CHECK_STR(cfg->cwd, dir);
	}
	ctr_config_free(cfg);
	json_decref(meta);
	snprintf(want, sizeof(want), "rm -rf %s", dir);
	CHECK_EQ(system(want), 0);
}

/* A volumes directory with anonymous volume NAME (its mark). */
static void anon_volume(const char *vdir, const char *name)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", vdir, name);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/%s/_data", vdir, name);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/%s/anonymous", vdir, name);
	if ((f = fopen(p, "w")))
		fclose(f);
}

TEST(anonymous_volumes_are_reused)
{
	char vdir[] = "/tmp/test_ctr_vols.XXXXXX", rm[64];
	const char *v[] = {"/data", "/named-src:/bound", NULL};
	const char *mounts[] = {"type=volume,target=/m", "type=tmpfs,target=/t",
				"type=volume,target=/ro,readonly", NULL};
	struct sm_run_options r;
	struct sm_container_options o = {.size = sizeof(o), .run = &r};
	struct ctr_config *cfg = NULL;
	json_t *meta;

	CHECK(mkdtemp(vdir));
	anon_volume(vdir, "aaa1");
	anon_volume(vdir, "bbb2");
	anon_volume(vdir, "ccc3");
	anon_volume(vdir, "ddd4");
	sm_run_options_init(&r);
	r.volumes = v;
	r.mounts = mounts;
	o.image = "img";
	meta = saved(&o);
	json_object_set_new(meta, "volumes_dir", json_string(vdir));
	json_object_set_new(
	    meta, "volumes",
	    json_pack("[{s:s,s:b,s:s}, {s:s,s:b,s:s}, {s:s,s:b,s:s}, "
		      "{s:s,s:b,s:s}, {s:s,s:b,s:s}, {s:s,s:b,s:s}]",
		      "name", "aaa1", "anonymous", 1, "target", "/data", "name",
		      "bbb2", "anonymous", 1, "target", "/m", "name", "ccc3",
		      "anonymous", 1, "target", "/image-volume", "name", "ddd4",
		      "anonymous", 1, "target", "/ro", "name", "gone5",
		      "anonymous", 1, "target", "/gone", "name", "named",
		      "anonymous", 0, "target", "/n"));
	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), 0);
	if (cfg) {
		const char *const *got = cfg->run.volumes;

		/* in the place of the spec that made each one */
		CHECK_STR(got[0], "aaa1:/data");
		CHECK_STR(got[1], "/named-src:/bound");
		/* the --mounts that made one, and an image VOLUME's: added */
		CHECK_STR(got[2], "bbb2:/m");
		CHECK_STR(got[3], "ccc3:/image-volume");
		CHECK_STR(got[4], "ddd4:/ro:ro");
		CHECK(!got[5]); /* gone5 is gone: a fresh one is made */
		CHECK_STR(cfg->run.mounts[0], "type=tmpfs,target=/t");
		CHECK(!cfg->run.mounts[1]);
	}
	ctr_config_free(cfg);
	json_decref(meta);
	snprintf(rm, sizeof(rm), "rm -rf %s", vdir);
	CHECK_EQ(system(rm), 0);
}

TEST(records_without_options_are_refused)
{
	struct ctr_config *cfg = (void *)1;
	json_t *meta = json_pack("{s:s}", "image", "old");

	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), -ENOTSUP);
	CHECK(!cfg);
	json_object_set_new(
	    meta, "config",
	    json_pack("{s:s, s:{s:i}}", "image", "x", "run", "cmd", 5));
	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), -EINVAL);
	json_object_set_new(meta, "config",
			    json_pack("{s:s, s:{s:I}}", "image", "x", "run",
				      "cpus", (json_int_t)1 << 40));
	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), -ERANGE);
	json_object_set_new(meta, "config",
			    json_pack("{s:{}}", "run")); /* no image */
	CHECK_EQ(ctr_config_load(meta, &cfg, NULL), -EINVAL);
	json_decref(meta);
}

int main(void)
{
	RUN(options_come_back_as_given);
	RUN(paths_are_fixed_at_create);
	RUN(anonymous_volumes_are_reused);
	RUN(records_without_options_are_refused);
	return test_summary();
}
