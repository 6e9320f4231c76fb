#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static void vfill(struct sm_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int sm_err(struct sm_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vfill(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int sm_err_errno(struct sm_error *err, const char *fmt, ...)
{
	int saved = errno ? errno : EIO;
	va_list ap;
	size_t len;

	if (!err)
		return -saved;
	va_start(ap, fmt);
	vfill(err, -saved, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		 strerror(saved));
	return -saved;
}

int sm_err_wrap(struct sm_error *err, int code, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;

	code = code < 0 ? code : -EIO; /* a callee that failed said < 0 */
	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation keeps the outermost context, which matters most. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	err->code = code;
	return code;
}
