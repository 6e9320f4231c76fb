/*
 * Escaping of guest text shown by the host (see guest_text.h). Whatever
 * the input, the output is one line of printable characters between
 * quotes, so it can be put in an error message or on a terminal.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/guest_text.h"

/* The closing quote, "..." and the NUL stay reserved while escaping. */
#define TAIL_RESERVE 5

/*
 * The length of the valid UTF-8 sequence of two to four bytes at p (its
 * code point in *cp), or 0: overlong forms, surrogates and code points
 * past U+10FFFF are invalid, like a truncated sequence.
 */
static size_t utf8_sequence(const uint8_t *p, size_t len, uint32_t *cp)
{
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n;
	uint32_t c;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min_cp[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Code points a terminal acts on rather than shows: the C1 controls (some
 * terminals take U+009B as CSI), the bidirectional marks and overrides
 * that reorder what is displayed, and the line and paragraph separators.
 */
static bool unsafe_code_point(uint32_t cp)
{
	return cp <= 0x9f || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Writes \xNN (4 chars) or \uNNNN (6 chars) for v; returns its length. */
static size_t hex_escape(char *piece, char kind, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = kind == 'x' ? 2 : 4;

	piece[0] = '\\';
	piece[1] = kind;
	for (size_t i = 0; i < n; i++)
		piece[2 + i] = digits[(v >> (4 * (n - 1 - i))) & 0xf];
	return 2 + n;
}

/* The output for one ASCII byte into piece (at most 4 chars): its length. */
static size_t escape_ascii(uint8_t c, char *piece)
{
	static const char named[][3] = {['\n'] = "\\n",
					['\r'] = "\\r",
					['\t'] = "\\t",
					['"'] = "\\\"",
					['\\'] = "\\\\"};

	if (c < sizeof(named) / sizeof(named[0]) && named[c][0]) {
		memcpy(piece, named[c], 2);
		return 2;
	}
	if (c < 0x20 || c == 0x7f)
		return hex_escape(piece, 'x', c);
	piece[0] = (char)c;
	return 1;
}

/*
 * The output for the input unit at p into piece (at most 6 chars): its
 * length in *piece_len; returns how many input bytes it consumed.
 */
static size_t next_piece(const uint8_t *p, size_t len, char *piece,
			 size_t *piece_len)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80) {
		*piece_len = escape_ascii(p[0], piece);
		return 1;
	}
	n = utf8_sequence(p, len, &cp);
	if (!n) {
		*piece_len = hex_escape(piece, 'x', p[0]);
		return 1;
	}
	if (unsafe_code_point(cp)) {
		*piece_len = hex_escape(piece, 'u', cp);
	} else {
		memcpy(piece, p, n);
		*piece_len = n;
	}
	return n;
}

const char *sm_escape_guest_text(char *out, size_t size, const void *text,
				 size_t len)
{
	const uint8_t *p = text;
	size_t pos = 1, off = 0;
	bool truncated = false;

	if (size < SM_GUEST_TEXT_MIN) {
		if (size)
			out[0] = '\0';
		return out;
	}
	out[0] = '"';
	while (off < len) {
		char piece[8];
		size_t piece_len,
		    used = next_piece(p + off, len - off, piece, &piece_len);

		if (pos + piece_len + TAIL_RESERVE > size) {
			truncated = true;
			break;
		}
		memcpy(out + pos, piece, piece_len);
		pos += piece_len;
		off += used;
	}
	out[pos++] = '"';
	if (truncated) {
		memcpy(out + pos, "...", 3);
		pos += 3;
	}
	out[pos] = '\0';
	return out;
}
