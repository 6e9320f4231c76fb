/*
 * The size policy of every public struct (docs/api.md, "Structs that
 * grow"). Each starts with `size_t size`, set by its *_init() or by the
 * caller to sizeof as its header has it.
 */
#ifndef SM_UTIL_OPTS_H
#define SM_UTIL_OPTS_H

#include <stddef.h>

struct sm_error;

/*
 * An input struct from the caller (src, may be NULL: the defaults) into
 * dst, which holds our defaults and is dst_size bytes: a caller built
 * against an older header passes fewer bytes, and the fields it does not
 * know keep their defaults; a newer header's larger struct is taken when
 * every byte past ours is zero (it asks for nothing this library lacks),
 * else -E2BIG. A size too small to hold the size itself: -EINVAL. `what`
 * names the struct in the error. dst's size ends as dst_size.
 */
int sm_opts_take(void *dst, size_t dst_size, const void *src, const char *what,
		 struct sm_error *err);

/*
 * An output struct: the first dst->size bytes (at most src_size) of our
 * filled src go to the caller's dst, whose size field stays its own.
 * -EINVAL when dst's size cannot hold the size itself.
 */
int sm_opts_give(void *dst, const void *src, size_t src_size, const char *what,
		 struct sm_error *err);

#endif
