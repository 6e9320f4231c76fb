/*
 * libFuzzer target for `supermachine load` (src/oci/load.c,
 * sm_image_load): the input is a docker-archive or OCI archive (a tar:
 * manifest.json or index.json, blobs, configs, layers), imported into a
 * store created for it and removed after, so everything load does runs:
 * the archive walk, the JSON it trusts nothing of, digest checks, layer
 * unpacking, tagging.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdint.h>
#include <sys/stat.h>

#include "fuzz_scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_store_options so = {.size = sizeof(so)};
	struct sm_load_options lo = {.size = sizeof(lo), .tag = "fuzz:latest"};
	struct sm_image_info *list = NULL;
	struct sm_store *s = NULL;
	char archive[512], root[512];

	if (scratch_file("archive.tar", data, size, archive, sizeof(archive)))
		return 0;
	snprintf(root, sizeof(root), "%s/store", scratch());
	so.root = root;
	if (sm_store_open(&s, &so, NULL) == 0) {
		if (sm_image_load(s, archive, &lo, &list, NULL) >= 0)
			free(list);
		sm_store_close(s);
	}
	store_rmtree(root);
	unlink(archive);
	return 0;
}
