/*
 * libFuzzer target for the FUSE server's snapshot state
 * (src/fuse/state.c, fuse_server_restore): node table, handle table and
 * DAX mappings as a TLV buffer, restored into a fresh server over an
 * in-memory share holding a directory and a file (so that paths in the
 * record can resolve, and handles open), with inert DAX callbacks. Each
 * input gets its own server, as a restored VM does.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_server.h"
#include "memfs.h"
#include "fuzz_seed.h"

static void *backend;
static int keep; /* seeds: populate() keeps its server in kept */
static struct fuse_server *kept;

static int dax_map(void *o, uint64_t w, int fd, uint64_t f, uint64_t l, int wr)
{
	(void)o, (void)w, (void)fd, (void)f, (void)l, (void)wr;
	return 0;
}

static int dax_unmap(void *o, uint64_t w, uint64_t l)
{
	(void)o, (void)w, (void)l;
	return 0;
}

static const struct fuse_dax_ops dax = {dax_map, dax_unmap};

static struct fuse_server *server(void)
{
	struct fuse_server_config cfg = {.ops = &fuse_memfs_ops,
					 .backend = backend,
					 .dax = &dax,
					 .dax_window_size = 1 << 24,
					 .trace = ""};
	struct fuse_server *s = NULL;

	if (fuse_server_new(&cfg, &s, NULL) < 0)
		abort();
	return s;
}

static void send(struct fuse_server *s, void *req, size_t len)
{
	static uint8_t out[4096];
	struct iovec in = {req, len}, ov = {out, sizeof(out)};
	size_t olen = 0;

	fuse_server_handle(s, &in, 1, &ov, 1, &olen);
}

/* A share with /d and /d/f, made through the server as a guest would. */
static void populate(void)
{
	struct fuse_server *s = server();
	struct {
		struct fuse_in_header h;
		union {
			struct fuse_init_in init;
			struct fuse_mkdir_in mk;
			struct fuse_create_in cr;
		};
		char name[8];
	} r;

	memset(&r, 0, sizeof(r));
	r.h.opcode = FUSE_INIT;
	r.h.len = sizeof(r.h) + sizeof(r.init);
	r.init.major = 7;
	r.init.minor = 36;
	send(s, &r, r.h.len);
	memset(&r, 0, sizeof(r));
	r.h.opcode = FUSE_MKDIR;
	r.h.nodeid = 1;
	r.mk.mode = 040755;
	memcpy((char *)&r.mk + sizeof(r.mk), "d", 2);
	r.h.len = sizeof(r.h) + sizeof(r.mk) + 2;
	send(s, &r, r.h.len);
	memset(&r, 0, sizeof(r));
	r.h.opcode = FUSE_CREATE;
	r.h.nodeid = 1;
	r.cr.flags = 2;
	r.cr.mode = 0100644;
	memcpy((char *)&r.cr + sizeof(r.cr), "f", 2);
	r.h.len = sizeof(r.h) + sizeof(r.cr) + 2;
	send(s, &r, r.h.len);
	if (keep)
		kept = s;
	else
		fuse_server_free(s);
}

/* fuse_server_save of a session with /d, /d/f and f's handle open. */
static void make_seeds(void)
{
	void *buf = NULL;
	size_t len = 0;

	if (fuse_memfs_new(&backend, NULL) < 0)
		abort();
	keep = 1;
	populate();
	if (fuse_server_save(kept, &buf, &len, NULL) || !buf)
		abort();
	seed_write("session", buf, len);
	free(buf);
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_server *s;

	if (!backend) {
		if (fuse_memfs_new(&backend, NULL) < 0)
			abort();
		populate();
	}
	s = server();
	fuse_server_restore(s, data, size, NULL);
	fuse_server_free(s);
	return 0;
}
