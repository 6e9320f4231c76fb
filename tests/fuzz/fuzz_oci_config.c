/*
 * libFuzzer target for image configs (src/oci/config.c,
 * oci_config_parse): Entrypoint/Cmd/Env arrays, ExposedPorts and Volumes
 * objects, labels, platform fields, the created timestamp.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config c;

	if (oci_config_parse((const char *)data, size, &c, NULL) == 0)
		oci_config_free(&c);
	return 0;
}
