/*
 * A guest hostname, from --hostname or from a snapshot's vm.conf (untrusted
 * input): at most HOST_NAME_MAX bytes (the guest's sethostname limit), no
 * control characters and no '/' (it also names /etc/hostname's content and
 * the HOSTNAME variable).
 */
#ifndef SM_RUN_HOSTNAME_H
#define SM_RUN_HOSTNAME_H

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "util/error.h"

#define RUN_MAX_HOSTNAME 64

static inline int run_check_hostname(const char *h, struct sm_error *err)
{
	if (!*h)
		return sm_err(err, -EINVAL, "invalid hostname: empty");
	if (strlen(h) > RUN_MAX_HOSTNAME)
		return sm_err(err, -EINVAL,
			      "invalid hostname \"%.80s...\": "
			      "longer than %d characters",
			      h, RUN_MAX_HOSTNAME);
	for (const char *p = h; *p; p++)
		if (iscntrl((unsigned char)*p) || *p == '/')
			return sm_err(err, -EINVAL, "invalid hostname");
	return 0;
}

#endif
