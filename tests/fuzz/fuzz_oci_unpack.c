/*
 * libFuzzer target for layer unpacking (src/oci/unpack.c,
 * oci_unpack_layer): the input is a layer blob (plain tar, gzip or zstd:
 * the library sniffs it), applied to a fresh directory with small caps,
 * then removed. Everything in the tar is hostile: paths with .. and
 * absolute names, links out of the root, whiteouts, devices, huge sizes,
 * PAX headers. Inputs of odd length unpack rootless (ownership into
 * xattrs, devices refused), even ones as the real owner (this process).
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fuzz_scratch.h"
#include "oci/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack_opts o = {.rootless = (int)(size & 1),
				.max_entry = 1 << 20,
				.max_total = 4 << 20};
	char layer[512], root[512];
	int fd;

	if (scratch_file("layer", data, size, layer, sizeof(layer)))
		return 0;
	snprintf(root, sizeof(root), "%s/root", scratch());
	if (mkdir(root, 0755) == 0 &&
	    (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		oci_unpack_layer(fd, layer, &o, "fuzz layer", NULL);
		close(fd);
	}
	store_rmtree(root);
	unlink(layer);
	return 0;
}
