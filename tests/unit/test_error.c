/*
 * The error contract (docs/errors.md): 0 or -errno, the same code whether
 * or not the caller passed an sm_error, and a message that says what
 * failed and why. sm_err_wrap() keeps the failed callee's code.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "supermachine.h"
#include "test.h"
#include "util/error.h"

TEST(wrap_keeps_the_callees_code)
{
	struct sm_error e = {0};

	CHECK_EQ(sm_err(&e, -ENOENT, "no %s", "thing"), -ENOENT);
	CHECK_EQ(sm_err_wrap(&e, -ENOENT, "find %d", 7), -ENOENT);
	CHECK_EQ(e.code, -ENOENT);
	CHECK(!strcmp(e.msg, "find 7: no thing"));
	CHECK_EQ(sm_err_wrap(NULL, -ENOENT, "find"), -ENOENT);
	CHECK_EQ(sm_err_wrap(NULL, -EACCES, "find"), -EACCES);
	/* a caller that wraps a success by mistake still reports a failure */
	CHECK_EQ(sm_err_wrap(NULL, 0, "find"), -EIO);
}

/* A missing image: the same -ENOENT with and without an error object
 * (it was -EIO without one). */
TEST(image_inspect_code_does_not_depend_on_err)
{
	char dir[] = "/tmp/test_error.XXXXXX";
	struct sm_store_options so = {.size = sizeof(so)};
	struct sm_store *store = NULL;
	struct sm_error e = {0};
	char *json = NULL;
	char cmd[64];

	CHECK(mkdtemp(dir) != NULL);
	so.root = dir;
	CHECK_EQ(sm_store_open(&store, &so, &e), 0);
	if (store) {
		CHECK_EQ(sm_image_inspect(store, "no/such:1", &json, &e),
			 -ENOENT);
		CHECK(e.msg[0] != '\0');
		CHECK_EQ(sm_image_inspect(store, "no/such:1", &json, NULL),
			 -ENOENT);
		CHECK(json == NULL);
		sm_store_close(store);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

int main(void)
{
	RUN(wrap_keeps_the_callees_code);
	RUN(image_inspect_code_does_not_depend_on_err);
	return test_summary();
}
