/*
 * sm_image_load on archives that fail half-way (src/oci/load.c): the
 * error names what is wrong and nothing leaks. tests/fuzz/fuzz_oci_load.c
 * found the leak: an index entry whose manifest blob is missing (or not
 * a manifest) lost the entry's list of names. Normal loads are covered by
 * tests/host/oci-load.sh.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_count.h"
#include "test.h"
#include "oci/store.h"
#include "supermachine.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/test-oci-load.XXXXXX";

/* Writes DIR/name as a tar of (member, content) pairs, n of them. */
static const char *write_tar(const char *name, const char *const *m, int n)
{
	static char path[256];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (int i = 0; i < 2 * n; i += 2) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, m[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(m[i + 1]));
		archive_write_header(a, e);
		archive_write_data(a, m[i + 1], strlen(m[i + 1]));
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return path;
}

/* Loads path into a fresh store; the error in err. */
static int load(const char *path, struct sm_error *err)
{
	char root[300];
	struct sm_store_options so = {.size = sizeof(so), .root = root};
	struct sm_image_info *list = NULL;
	struct sm_store *s = NULL;
	int r;

	snprintf(root, sizeof(root), "%s/store", dir);
	memset(err, 0, sizeof(*err));
	r = sm_store_open(&s, &so, err);
	if (r)
		return r;
	r = sm_image_load(s, path, NULL, &list, err);
	free(list);
	sm_store_close(s);
	store_rmtree(root);
	return r;
}

/* Loads path n times: the heap grew by how much (0: no leak). */
static long growth(const char *path, int n)
{
	struct sm_error err;
	long before;

	load(path, &err); /* one-time allocations out of the way */
	before = heap_live();
	for (int i = 0; i < n; i++)
		load(path, &err);
	return heap_live() - before;
}

static const char *const missing_manifest[] = {
    "index.json",
    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HEX64
    "\",\"size\":3,\"annotations\":{\"org.opencontainers.image.ref.name\":"
    "\"fuzz/oci:2\"}}]}"};

TEST(missing_manifest_is_refused)
{
	struct sm_error err;

	CHECK(load(write_tar("a.tar", missing_manifest, 1), &err) < 0);
	CHECK(strstr(err.msg, HEX64) != NULL);
}

TEST(missing_manifest_leaks_nothing)
{
	CHECK_EQ(growth(write_tar("a.tar", missing_manifest, 1), 20), 0);
}

TEST(index_as_manifest_leaks_nothing)
{
	/* the "manifest" blob is an index: "not an image manifest" */
	static const char body[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	char idx[512], blob[128];
	const char *m[4];
	struct sm_error err;
	char dg[72];

	digest_buffer(body, strlen(body), dg);
	snprintf(idx, sizeof(idx),
		 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		 "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":"
		 "\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers."
		 "image.ref.name\":\"fuzz/oci:2\"}}]}",
		 dg, strlen(body));
	snprintf(blob, sizeof(blob), "blobs/sha256/%s", dg + 7);
	m[0] = "index.json", m[1] = idx, m[2] = blob, m[3] = body;
	CHECK(load(write_tar("b.tar", m, 2), &err) < 0);
	CHECK(strstr(err.msg, "not an image manifest") != NULL);
	CHECK_EQ(growth(write_tar("b.tar", m, 2), 20), 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	heap_exact(argv);
	if (!mkdtemp(dir))
		return 1;
	RUN(missing_manifest_is_refused);
	RUN(missing_manifest_leaks_nothing);
	RUN(index_as_manifest_leaks_nothing);
	store_rmtree(dir);
	return test_summary();
}
