/* The size policy of the public structs (util/opts.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "util/error.h"
#include "util/opts.h"

static size_t size_of(const void *s)
{
	size_t size;

	memcpy(&size, s, sizeof(size));
	return size;
}

int sm_opts_take(void *dst, size_t dst_size, const void *src, const char *what,
		 struct sm_error *err)
{
	size_t size;

	if (!src)
		return 0;
	size = size_of(src);
	if (size < sizeof(size_t))
		return sm_err(err, -EINVAL,
			      "struct %s: size %zu (set it to sizeof, or use "
			      "its _init function)",
			      what, size);
	for (size_t i = dst_size; i < size; i++)
		if (((const uint8_t *)src)[i])
			return sm_err(err, -E2BIG,
				      "struct %s: built against a newer header "
				      "(%zu bytes; this library knows %zu) and "
				      "sets a field this library does not have "
				      "(byte %zu)",
				      what, size, dst_size, i);
	memcpy(dst, src, size < dst_size ? size : dst_size);
	memcpy(dst, &dst_size, sizeof(dst_size));
	return 0;
}

int sm_opts_give(void *dst, const void *src, size_t src_size, const char *what,
		 struct sm_error *err)
{
	size_t size = size_of(dst);

	if (size < sizeof(size_t))
		return sm_err(err, -EINVAL,
			      "struct %s: size %zu (set it to sizeof before "
			      "the call)",
			      what, size);
	memcpy((uint8_t *)dst + sizeof(size_t),
	       (const uint8_t *)src + sizeof(size_t),
	       (size < src_size ? size : src_size) - sizeof(size_t));
	return 0;
}
