/*
 * Text from the guest (a panic line, an agent error message) that the host
 * shows on its own behalf: quoted, escaped and bounded, so that a hostile
 * guest can neither drive the user's terminal (escape sequences), nor
 * start a line of its own (a fake "supermachine: ..." error), nor pass
 * its words off as ours (docs/security.md, "Guest text").
 */
#ifndef SM_UTIL_GUEST_TEXT_H
#define SM_UTIL_GUEST_TEXT_H

#include <stddef.h>

/* The smallest out buffer that holds a quoted text (`"…"...` and NUL). */
#define SM_GUEST_TEXT_MIN 8

/*
 * Writes len bytes of guest text into out as one double-quoted line:
 * printable ASCII and valid UTF-8 as is; `"` and `\` as \" and \\; \n,
 * \r, \t; other C0 controls, DEL, bytes of invalid UTF-8 as \xNN; C1
 * controls, bidirectional overrides and line separators (U+0080–U+009F,
 * U+061C, U+200E, U+200F, U+2028–U+202E, U+2066–U+2069) as \uNNNN. A text
 * that does not fit ends with `"...`. Always NUL-terminated; size below
 * SM_GUEST_TEXT_MIN gives "". Returns out.
 */
const char *sm_escape_guest_text(char *out, size_t size, const void *text,
				 size_t len);

#endif
