#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/assets.h"
#include "util/error.h"

static int try_path(const char *path, char *out, size_t size)
{
	if (access(path, R_OK) != 0)
		return -1;
	if ((size_t)snprintf(out, size, "%s", path) >= size)
		return -1;
	return 0;
}

int run_asset(const char *what, const char *override, const char *name,
	      char *out, size_t size, struct sm_error *err)
{
	const char *env =
	    getenv(strcmp(what, "kernel") == 0 ? "SUPERMACHINE_KERNEL"
					       : "SUPERMACHINE_INITRD");
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;

	if (override)
		return try_path(override, out, size)
			   ? sm_err_errno(err, "%s %s", what, override)
			   : 0;
	if (env && *env)
		return try_path(env, out, size)
			   ? sm_err_errno(err, "%s %s (from the environment)",
					  what, env)
			   : 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(path, sizeof(path), "%s/guest/%s", dirname(exe), name);
		if (!try_path(path, out, size))
			return 0;
		snprintf(path, sizeof(path), "%s/../share/supermachine/%s", exe,
			 name);
		if (!try_path(path, out, size))
			return 0;
	}
	return sm_err(err, -ENOENT,
		      "no guest %s found: set SUPERMACHINE_%s, or install "
		      "supermachine (make install)",
		      what, strcmp(what, "kernel") == 0 ? "KERNEL" : "INITRD");
}
