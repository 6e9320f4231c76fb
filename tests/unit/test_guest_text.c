/* sm_escape_guest_text(): guest text made safe to show (util/guest_text.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/guest_text.h"

static char out[256];

static const char *esc(const char *s, size_t len)
{
	return sm_escape_guest_text(out, sizeof(out), s, len);
}

#define ESC_STR(lit) esc(lit, sizeof(lit) - 1)

TEST(plain_text_is_quoted)
{
	CHECK_STR(ESC_STR("exec: nope"), "\"exec: nope\"");
	CHECK_STR(ESC_STR(""), "\"\"");
	CHECK_STR(ESC_STR("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
}

TEST(escape_sequences_are_shown)
{
	CHECK_STR(ESC_STR("\x1b[2J\x1b]0;title\x07x"),
		  "\"\\x1b[2J\\x1b]0;title\\x07x\"");
	CHECK_STR(ESC_STR("a\x7f\x01"), "\"a\\x7f\\x01\"");
}

TEST(line_breaks_cannot_start_a_line)
{
	CHECK_STR(ESC_STR("oops\nsupermachine: fake\r\n\tx"),
		  "\"oops\\nsupermachine: fake\\r\\n\\tx\"");
	CHECK_STR(esc("a\0b", 3), "\"a\\x00b\"");
}

TEST(c1_controls_raw_and_utf8)
{
	/* raw 0x9b is CSI on 8-bit terminals; as UTF-8 it is U+009B */
	CHECK_STR(ESC_STR("\x9b"
			  "31m\x85"),
		  "\"\\x9b31m\\x85\"");
	CHECK_STR(ESC_STR("\xc2\x9b"
			  "31m\xc2\x80\xc2\x9f"),
		  "\"\\u009b31m\\u0080\\u009f\"");
	/* U+00A0 is past C1: kept */
	CHECK_STR(ESC_STR("\xc2\xa0"), "\"\xc2\xa0\"");
}

TEST(valid_utf8_is_kept)
{
	CHECK_STR(ESC_STR("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"),
		  "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"");
}

TEST(bidi_and_separators_are_escaped)
{
	CHECK_STR(ESC_STR("a\xe2\x80\xae"
			  "b\xe2\x80\xa8"
			  "c\xe2\x81\xa6"),
		  "\"a\\u202eb\\u2028c\\u2066\"");
	CHECK_STR(ESC_STR("\xd8\x9c\xe2\x80\x8f"), "\"\\u061c\\u200f\"");
}

TEST(invalid_utf8_is_shown_bytewise)
{
	/* overlong '/', a surrogate, a byte past U+10FFFF, a cut sequence */
	CHECK_STR(ESC_STR("\xc0\xaf"), "\"\\xc0\\xaf\"");
	CHECK_STR(ESC_STR("\xe0\x80\xaf"), "\"\\xe0\\x80\\xaf\"");
	CHECK_STR(ESC_STR("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");
	CHECK_STR(ESC_STR("\xf5\x80\x80\x80"), "\"\\xf5\\x80\\x80\\x80\"");
	CHECK_STR(ESC_STR("ok\xe2\x9c"), "\"ok\\xe2\\x9c\"");
}

TEST(long_text_is_truncated_whole_escapes)
{
	char small[16];

	/* 16 bytes: quote, 2 escapes of 4, closing quote, "...", NUL left */
	CHECK_STR(sm_escape_guest_text(small, sizeof(small),
				       "\x1b\x1b\x1b\x1b\x1b", 5),
		  "\"\\x1b\\x1b\"...");
	CHECK_STR(sm_escape_guest_text(small, sizeof(small), "0123456789", 10),
		  "\"0123456789\"");
	CHECK_STR(sm_escape_guest_text(small, sizeof(small), "0123456789a", 11),
		  "\"0123456789\"...");
	/* a multi-byte character is never cut */
	CHECK_STR(sm_escape_guest_text(small, sizeof(small),
				       "012345678\xe2\x9c\x93", 12),
		  "\"012345678\"...");
}

TEST(tiny_buffer_gives_empty)
{
	char tiny[SM_GUEST_TEXT_MIN - 1] = "x";

	CHECK_STR(sm_escape_guest_text(tiny, SM_GUEST_TEXT_MIN - 1, "abc", 3),
		  "");
	CHECK_STR(sm_escape_guest_text(out, SM_GUEST_TEXT_MIN, "abc", 3),
		  "\"ab\"...");
}

/* Any bytes at all: one quoted line, no control character, in bounds. */
TEST(random_bytes_give_one_safe_line)
{
	uint8_t in[64];
	char o[48];

	srand(7);
	for (int round = 0; round < 20000 && !test_failed_now; round++) {
		size_t len = (size_t)rand() % sizeof(in), olen;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rand();
		sm_escape_guest_text(o, sizeof(o), in, len);
		olen = strlen(o);
		CHECK(olen < sizeof(o) && o[0] == '"');
		for (size_t i = 0; i < olen; i++) {
			uint8_t c = (uint8_t)o[i];

			CHECK(c >= 0x20 && c != 0x7f);
			CHECK(!(c == 0xc2 && i + 1 < olen &&
				(uint8_t)o[i + 1] <= 0x9f));
		}
	}
}

int main(void)
{
	RUN(plain_text_is_quoted);
	RUN(escape_sequences_are_shown);
	RUN(line_breaks_cannot_start_a_line);
	RUN(c1_controls_raw_and_utf8);
	RUN(valid_utf8_is_kept);
	RUN(bidi_and_separators_are_escaped);
	RUN(invalid_utf8_is_shown_bytewise);
	RUN(long_text_is_truncated_whole_escapes);
	RUN(tiny_buffer_gives_empty);
	RUN(random_bytes_give_one_safe_line);
	return test_summary();
}
