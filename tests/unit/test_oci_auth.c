/* Registry auth: where credentials may go, and hostile challenges. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "oci/auth.h"

#define HTTP_REG "http://127.0.0.1:5000"
#define HTTPS_REG "https://reg.example.com"

/* An https realm gets credentials, wherever it is (registries delegate to
 * auth services on other hosts: registry-1.docker.io -> auth.docker.io). */
TEST(https_realm_gets_creds)
{
	CHECK_EQ(auth_realm_gets_creds(HTTPS_REG, "https://auth.example.org/t"),
		 1);
	CHECK_EQ(auth_realm_gets_creds(HTTP_REG, "https://127.0.0.2/token"), 1);
	CHECK_EQ(auth_realm_gets_creds(HTTPS_REG, "HTTPS://reg.example.com/t"),
		 1);
}

/* Plain http: only the registry's own host (any port), and only when the
 * registry is plain http too. */
TEST(http_realm_same_host_only)
{
	CHECK_EQ(auth_realm_gets_creds(HTTP_REG, "http://127.0.0.1:8080/token"),
		 1);
	CHECK_EQ(auth_realm_gets_creds(HTTP_REG, "http://127.0.0.2:5000/token"),
		 0);
	CHECK_EQ(auth_realm_gets_creds(HTTP_REG, "http://evil.example/token"),
		 0);
	/* user info is not the host: curl would connect to evil */
	CHECK_EQ(auth_realm_gets_creds(HTTP_REG, "http://127.0.0.1@evil/t"), 0);
	CHECK_EQ(auth_realm_gets_creds(HTTP_REG, "http://127.0.0.1.evil/t"), 0);
	/* an https registry's credentials never travel in clear */
	CHECK_EQ(auth_realm_gets_creds(HTTPS_REG, "http://reg.example.com/t"),
		 0);
}

/* Realms that are not absolute http(s) URLs are not fetched at all. */
TEST(bad_realm_refused)
{
	static const char *bad[] = {
	    "file:///etc/passwd",
	    "ftp://127.0.0.1/token",
	    "gopher://127.0.0.1/",
	    "/token",
	    "token",
	    "",
	    "http://",
	    "https://",
	    "http://127.0.0.1/tok en",
	    "http://127.0.0.1/\x1b[2J",
	    "http://127.0.0.1/\xc3\xa9",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (auth_realm_gets_creds(HTTP_REG, bad[i]) != -EINVAL)
			fprintf(stderr, "accepted realm %s\n", bad[i]);
		CHECK_EQ(auth_realm_gets_creds(HTTP_REG, bad[i]), -EINVAL);
	}
}

TEST(challenge_parsed)
{
	struct auth_challenge c;

	CHECK_EQ(auth_parse_challenge("Bearer realm=\"https://a/t\",service="
				      "reg, scope=\"repository:x:pull\"",
				      &c),
		 'b');
	CHECK_STR(c.realm, "https://a/t");
	CHECK_STR(c.service, "reg");
	CHECK_STR(c.scope, "repository:x:pull");
	auth_challenge_free(&c);
	/* a repeated parameter does not replace (nor leak) the first */
	CHECK_EQ(auth_parse_challenge(
		     "Bearer realm=\"https://a/t\",realm=\"http://evil/\"", &c),
		 'b');
	CHECK_STR(c.realm, "https://a/t");
	auth_challenge_free(&c);
	CHECK_EQ(auth_parse_challenge("Basic realm=x", &c), 'B');
	auth_challenge_free(&c);
	CHECK_EQ(auth_parse_challenge("Digest realm=x", &c), 0);
}

/* A value or header over the bounds is refused, not truncated (a cut realm
 * is another URL). */
TEST(challenge_bounded)
{
	struct auth_challenge c;
	size_t n = AUTH_HEADER_MAX + 64;
	char *h = malloc(n + 1);

	CHECK(h);
	if (!h)
		return;
	/* a realm of exactly AUTH_VALUE_MAX bytes fits */
	snprintf(h, n + 1, "Bearer realm=\"%0*d\"", AUTH_VALUE_MAX, 0);
	CHECK_EQ(auth_parse_challenge(h, &c), 'b');
	CHECK_EQ(c.realm ? strlen(c.realm) : 0, AUTH_VALUE_MAX);
	auth_challenge_free(&c);
	snprintf(h, n + 1, "Bearer realm=\"%0*d\"", AUTH_VALUE_MAX + 1, 0);
	CHECK_EQ(auth_parse_challenge(h, &c), -E2BIG);
	CHECK(!c.realm);
	snprintf(h, n + 1, "Bearer service=%0*d", AUTH_VALUE_MAX + 1, 0);
	CHECK_EQ(auth_parse_challenge(h, &c), -E2BIG);
	/* a long header of harmless padding */
	memset(h, ' ', n);
	memcpy(h, "Bearer", 6);
	h[n] = '\0';
	CHECK_EQ(auth_parse_challenge(h, &c), -E2BIG);
	h[AUTH_HEADER_MAX] = '\0';
	CHECK_EQ(auth_parse_challenge(h, &c), 'b');
	auth_challenge_free(&c);
	free(h);
}

int main(void)
{
	RUN(https_realm_gets_creds);
	RUN(http_realm_same_host_only);
	RUN(bad_realm_refused);
	RUN(challenge_parsed);
	RUN(challenge_bounded);
	return test_summary();
}
