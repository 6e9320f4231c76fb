/*
 * Registry authentication answers (src/oci/auth.c): WWW-Authenticate
 * challenges and token server JSON, including what tests/fuzz/
 * fuzz_oci_auth.c found (a repeated parameter leaked the earlier value).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap_count.h"
#include "test.h"
#include "oci/auth.h"

TEST(challenge_bearer)
{
	struct auth_challenge c;

	CHECK_EQ(
	    auth_parse_challenge("Bearer realm=\"https://a/token\","
				 "service=\"reg\",scope=\"repository:x:pull\"",
				 &c),
	    'b');
	CHECK_STR(c.realm, "https://a/token");
	CHECK_STR(c.service, "reg");
	CHECK_STR(c.scope, "repository:x:pull");
	auth_challenge_free(&c);
	CHECK_EQ(auth_parse_challenge("Negotiate x", &c), 0);
}

/* Found by fuzz_oci_auth (LeakSanitizer): realm=a,realm=b lost "a". */
TEST(challenge_repeated_parameter_does_not_leak)
{
	struct auth_challenge c;
	long before;

	/* warm up stdio and the allocator's own bookkeeping */
	auth_parse_challenge("Bearer realm=x", &c);
	auth_challenge_free(&c);
	before = heap_live();
	for (int i = 0; i < 100; i++) {
		CHECK_EQ(auth_parse_challenge("Bearer realm=\"a\",realm=\"b\","
					      "service=s,service=t,scope=u,"
					      "scope=v",
					      &c),
			 'b');
		if (i == 0) {
			CHECK_STR(c.realm, "a"); /* the first one counts */
			CHECK_STR(c.service, "s");
			CHECK_STR(c.scope, "u");
		}
		auth_challenge_free(&c);
	}
	CHECK_EQ(heap_live(), before);
}

/* auth_parse_token on a string */
static int token(const char *body, char **tok, long long *exp)
{
	return auth_parse_token(body, strlen(body), tok, exp);
}

TEST(token_answers)
{
	char *tok = NULL;
	long long exp = 0;
	static const char big[] = "{\"token\":\"t\",\"expires_in\":"
				  "9223372036854775807}";

	CHECK_EQ(token("{\"token\":\"abc\",\"expires_in\":300}", &tok, &exp),
		 0);
	CHECK_STR(tok, "abc");
	CHECK_EQ(exp, 300);
	free(tok);
	/* "access_token" when "token" is empty; the spec's default 60 s */
	CHECK_EQ(token("{\"token\":\"\",\"access_token\":\"x\"}", &tok, &exp),
		 0);
	CHECK_STR(tok, "x");
	CHECK_EQ(exp, 60);
	free(tok);
	/* a lifetime that would overflow now + expires_in is capped */
	CHECK_EQ(token(big, &tok, &exp), 0);
	CHECK_EQ(exp, AUTH_TOKEN_MAX_S);
	free(tok);
	CHECK_EQ(token("{\"expires_in\":5}", &tok, &exp), -EIO);
	CHECK(tok == NULL);
	CHECK_EQ(token("not json", &tok, &exp), -EIO);
	CHECK_EQ(auth_parse_token(NULL, 0, &tok, &exp), -EIO);
}

int main(int argc, char **argv)
{
	(void)argc;
	heap_exact(argv);
	RUN(challenge_bearer);
	RUN(challenge_repeated_parameter_does_not_leak);
	RUN(token_answers);
	return test_summary();
}
