/* Reference parsing and docker normalisation. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "oci/ref.h"

static int parse_to(const char *in, const char *want)
{
	struct oci_ref r;
	struct sm_error err = {0};
	char *s;
	int ok;

	if (oci_ref_parse(in, &r, &err)) {
		fprintf(stderr, "%s: %s\n", in, err.msg);
		return 0;
	}
	s = oci_ref_string(&r);
	ok = s && !strcmp(s, want);
	if (!ok)
		fprintf(stderr, "%s -> %s, want %s\n", in, s, want);
	free(s);
	oci_ref_free(&r);
	return ok;
}

static int rejects(const char *in, const char *why)
{
	struct oci_ref r;
	struct sm_error err = {0};

	if (!oci_ref_parse(in, &r, &err)) {
		oci_ref_free(&r);
		return 0;
	}
	return err.code == -EINVAL && strstr(err.msg, why) != NULL;
}

#define D         \
	"sha256:" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(normalises_like_docker)
{
	CHECK(parse_to("alpine", "docker.io/library/alpine:latest"));
	CHECK(parse_to("alpine:3.20", "docker.io/library/alpine:3.20"));
	CHECK(parse_to("library/alpine", "docker.io/library/alpine:latest"));
	CHECK(parse_to("docker.io/library/alpine:latest",
		       "docker.io/library/alpine:latest"));
	CHECK(parse_to("index.docker.io/alpine",
		       "docker.io/library/alpine:latest"));
	CHECK(parse_to("user/img", "docker.io/user/img:latest"));
	CHECK(parse_to("ghcr.io/org/img@" D, "ghcr.io/org/img@" D));
	CHECK(parse_to("localhost:5000/x:y", "localhost:5000/x:y"));
	CHECK(parse_to("localhost/x", "localhost/x:latest"));
	CHECK(parse_to("127.0.0.1:5000/a/b/c:v1.2-rc_3",
		       "127.0.0.1:5000/a/b/c:v1.2-rc_3"));
	CHECK(parse_to("a:t@" D, "docker.io/library/a:t@" D));
	CHECK(parse_to("my-reg.example.com/a__b/c.d-e:TAG",
		       "my-reg.example.com/a__b/c.d-e:TAG"));
	CHECK(parse_to("[::1]:5000/x", "[::1]:5000/x:latest"));
}

TEST(rejects_invalid)
{
	CHECK(rejects("", "empty"));
	CHECK(rejects("Alpine", "must be lowercase"));
	CHECK(rejects("docker.io/Library/alpine", "must be lowercase"));
	CHECK(rejects("alpine:", "invalid tag"));
	CHECK(rejects("alpine:bad/tag", "invalid registry host"));
	CHECK(rejects("alpine:-x", "invalid tag"));
	CHECK(rejects("alpine@sha256:abc", "invalid digest"));
	CHECK(rejects("alpine@md5:abc", "unsupported digest"));
	CHECK(rejects("a//b", "invalid repository name"));
	CHECK(rejects("a/-b", "invalid repository name"));
	CHECK(rejects("a/b_", "invalid repository name"));
	CHECK(rejects("a/b___c", "invalid repository name"));
	CHECK(rejects("-bad.io/x", "invalid registry host"));
	CHECK(rejects("host:port/x", "invalid registry host"));
	CHECK(rejects(
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "64-byte"));
	CHECK(rejects(":tag", "missing repository"));
}

TEST(familiar_and_host)
{
	struct oci_ref r;

	CHECK_STR(oci_ref_familiar("docker.io/library/alpine"), "alpine");
	CHECK_STR(oci_ref_familiar("docker.io/user/x"), "user/x");
	CHECK_STR(oci_ref_familiar("localhost:5000/x"), "localhost:5000/x");
	CHECK_EQ(oci_ref_parse("alpine", &r, NULL), 0);
	CHECK_STR(oci_ref_api_host(&r), "registry-1.docker.io");
	oci_ref_free(&r);
	CHECK(oci_digest_valid(D));
	CHECK(!oci_digest_valid("sha256:ABC"));
}

int main(void)
{
	RUN(normalises_like_docker);
	RUN(rejects_invalid);
	RUN(familiar_and_host);
	return test_summary();
}
