/*
 * libFuzzer target for image references and digests (src/oci/ref.c):
 * oci_ref_parse on the input (a name the user, an archive's RepoTags or
 * an index's ref.name annotation gives), and for a reference that
 * parses, the strings made back from it; oci_digest_valid on the input.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_ref r;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	oci_digest_valid(s);
	oci_ref_familiar(s);
	if (oci_ref_parse(s, &r, NULL) == 0) {
		free(oci_ref_name(&r));
		free(oci_ref_string(&r));
		oci_ref_api_host(&r);
		oci_ref_free(&r);
	}
	free(s);
	return 0;
}
