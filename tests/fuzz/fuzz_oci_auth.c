/*
 * libFuzzer target for what a registry's authentication sends us
 * (src/oci/auth.c): the WWW-Authenticate header (auth_parse_challenge:
 * scheme, quoted and bare parameters, escapes, long values) and the
 * token server's JSON answer (auth_parse_token). Byte 0, bit 0 picks
 * which; the rest is the header (NUL-terminated here, as curl gives it)
 * or the body.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_challenge c;
	long long exp;
	char *s, *tok;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1) {
		if (auth_parse_token(s, size - 1, &tok, &exp) == 0)
			free(tok);
	} else {
		auth_parse_challenge(s, &c);
		auth_challenge_free(&c);
	}
	free(s);
	return 0;
}
