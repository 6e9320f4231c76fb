/*
 * libFuzzer target for manifests and indexes from a registry or an
 * archive (src/oci/manifest.c): oci_manifest_parse with each
 * Content-Type the registry may claim (byte 0 picks it, or none), then,
 * for an index, platform selection for this host and for a platform
 * named in the input's last bytes.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = {
	    NULL,
	    MT_OCI_MANIFEST,
	    MT_OCI_INDEX,
	    MT_DOCKER_MANIFEST,
	    MT_DOCKER_LIST,
	    "application/vnd.docker.distribution.manifest.v1+prettyjws",
	    "text/plain",
	    ""};
	struct oci_manifest m;
	const struct oci_desc *d;

	if (size < 1)
		return 0;
	if (oci_manifest_parse((const char *)data + 1, size - 1,
			       ctypes[data[0] & 7], &m, NULL) == 0) {
		if (m.kind == OCI_KIND_INDEX) {
			char plat[32] = {0};

			oci_index_select(&m, NULL, &d, NULL);
			memcpy(plat, data + size - (size < 17 ? size : 17),
			       size < 17 ? size : 17);
			oci_index_select(&m, plat, &d, NULL);
			oci_index_select(&m, "linux/arm/v7", &d, NULL);
		}
		oci_manifest_free(&m);
	}
	return 0;
}
