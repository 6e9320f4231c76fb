/* A deep copy of sm_run_options (src/run/run_options_copy.c): the copy
 * owns every string and list, and outlives what it was made from. */
#include <stdlib.h>
#include <string.h>

#include "run/run_options_copy.h"
#include "test.h"

static char *dup_or_die(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

TEST(copy_owns_every_string)
{
	struct sm_run_options src, copy;
	char *env[] = {dup_or_die("A=1"), dup_or_die("B"), NULL};
	char *vols[] = {dup_or_die("/h:/g:ro"), NULL};
	char *user = dup_or_die("app"), *net = dup_or_die("none");

	sm_run_options_init(&src);
	src.env = (const char *const *)env;
	src.volumes = (const char *const *)vols;
	src.user = user;
	src.network = net;
	src.memory_mib = 256;
	src.cpus = 2;
	CHECK_EQ(run_options_copy(&copy, &src), 0);
	/* the source goes away: the copy keeps its values */
	memset(env[0], 'x', 3);
	free(env[0]);
	free(env[1]);
	free(vols[0]);
	free(user);
	free(net);
	CHECK_STR(copy.env[0], "A=1");
	CHECK_STR(copy.env[1], "B");
	CHECK(copy.env[2] == NULL);
	CHECK_STR(copy.volumes[0], "/h:/g:ro");
	CHECK(copy.volumes[1] == NULL);
	CHECK_STR(copy.user, "app");
	CHECK_STR(copy.network, "none");
	CHECK(copy.memory_mib == 256 && copy.cpus == 2);
	CHECK(copy.size == sizeof(copy) && copy.stdout_fd == 1);
	/* what the source did not set stays unset */
	CHECK(!copy.cmd && !copy.entrypoint && !copy.mounts && !copy.kernel);
	run_options_copy_free(&copy);
	CHECK(!copy.env && !copy.user && !copy.volumes);
	run_options_copy_free(&copy); /* twice: nothing left to free */
}

TEST(copy_of_defaults)
{
	struct sm_run_options src, copy;

	sm_run_options_init(&src);
	CHECK_EQ(run_options_copy(&copy, &src), 0);
	CHECK_EQ(memcmp(&copy, &src, sizeof(src)), 0);
	run_options_copy_free(&copy);
}

int main(void)
{
	RUN(copy_owns_every_string);
	RUN(copy_of_defaults);
	return test_summary();
}
