/*
 * libFuzzer target for the FUSE request decoder and handlers, over the
 * in-memory backend with (inert) DAX callbacks so that every opcode's
 * validation runs, or over the empty read-only root an unused volume
 * slot serves (fuse_empty_ops: answered inline on a vCPU thread). The
 * first input byte steers the harness: bit 0 fixes the header's len to
 * the real size (to get past the first check often), bit 1 points nodeid
 * at a live node, bits 2-5 pick a segment size for scattering the
 * request and the reply buffer, bit 6 a short reply buffer, bit 7 the
 * empty backend.
 *   tests/host/fuzz.sh builds and runs it for a bounded time.
 */
#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_server.h"
#include "memfs.h"
#include "fuzz_seed.h"

static struct fuse_server *srv, *empty_srv;
static uint64_t live[4] = {1, 1, 1, 1};

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

static size_t send_to(struct fuse_server *to, uint8_t *req, size_t len,
		      size_t seg, uint8_t *out, size_t cap)
{
	struct iovec in[64], ov[64];
	int ni = 0, no = 0;
	size_t olen = 0;

	for (size_t off = 0; off < len && ni < 64;) {
		size_t n = seg && ni < 63 ? seg : len - off;

		if (n > len - off)
			n = len - off;
		in[ni].iov_base = req + off;
		in[ni++].iov_len = n;
		off += n;
	}
	if (ni == 0) {
		in[0].iov_base = req;
		in[ni++].iov_len = 0;
	}
	for (size_t off = 0; off < cap && no < 64;) {
		size_t n = seg && no < 63 ? seg : cap - off;

		if (n > cap - off)
			n = cap - off;
		ov[no].iov_base = out + off;
		ov[no++].iov_len = n;
		off += n;
	}
	fuse_server_handle(to, in, ni, ov, no, &olen);
	return olen;
}

static size_t send(uint8_t *req, size_t len, size_t seg, uint8_t *out,
		   size_t cap)
{
	return send_to(srv, req, len, seg, out, cap);
}

/* The empty root's server, its session opened as the guest opens it. */
static void setup_empty(void)
{
	struct fuse_server_config cfg = {.ops = &fuse_empty_ops,
					 .backend = fuse_empty_backend(),
					 .trace = ""};
	struct {
		struct fuse_in_header h;
		struct fuse_init_in init;
	} r = {.h = {.opcode = FUSE_INIT, .len = sizeof(r)},
	       .init = {.major = 7, .minor = 36}};
	static uint8_t out[4096];

	if (fuse_server_new(&cfg, &empty_srv, NULL) < 0)
		abort();
	send_to(empty_srv, (uint8_t *)&r, r.h.len, 0, out, sizeof(out));
}

static void setup(void)
{
	struct fuse_server_config cfg = {.ops = &fuse_memfs_ops,
					 .dax = &dax,
					 .dax_window_size = 1 << 24,
					 .trace = ""};
	struct {
		struct fuse_in_header h;
		union {
			struct fuse_init_in init;
			struct {
				struct fuse_create_in c;
				char name[8];
			} cr;
		};
	} r;
	static uint8_t out[4096];
	void *be;

	if (fuse_memfs_new(&be, NULL) < 0)
		abort();
	cfg.backend = be;
	if (fuse_server_new(&cfg, &srv, NULL) < 0)
		abort();
	memset(&r, 0, sizeof(r));
	r.h.opcode = FUSE_INIT;
	r.h.len = sizeof(r.h) + sizeof(r.init);
	r.init.major = 7;
	r.init.minor = 36;
	send((uint8_t *)&r, r.h.len, 0, out, sizeof(out));
	/* a file and a directory to aim at */
	memset(&r, 0, sizeof(r));
	r.h.opcode = FUSE_CREATE;
	r.h.nodeid = 1;
	r.h.len = sizeof(r.h) + sizeof(r.cr.c) + 2;
	r.cr.c.flags = 2;
	r.cr.c.mode = 0100644;
	r.cr.name[0] = 'f';
	if (send((uint8_t *)&r, r.h.len, 0, out, sizeof(out)) > 16)
		memcpy(&live[1], out + 16, 8);
}

/* One request per seed, as the kernel's FUSE client sends them. */
static void seed_req(const char *name, uint8_t ctl, uint32_t opcode,
		     uint64_t nodeid, const void *body, size_t len)
{
	uint8_t buf[1 + sizeof(struct fuse_in_header) + 256];
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + len),
				   .opcode = opcode,
				   .unique = 7,
				   .nodeid = nodeid};

	buf[0] = ctl;
	memcpy(buf + 1, &h, sizeof(h));
	memcpy(buf + 1 + sizeof(h), body, len);
	seed_write(name, buf, 1 + sizeof(h) + len);
}

static void make_seeds(void)
{
	struct fuse_getattr_in ga = {0};
	struct fuse_open_in op = {.flags = 2};
	struct fuse_read_in rd = {.size = 4096};
	struct {
		struct fuse_write_in w;
		char data[5];
	} wr = {.w = {.size = 5}, .data = "hello"};
	struct {
		struct fuse_mkdir_in m;
		char name[4];
	} mk = {.m = {.mode = 040755}, .name = "dir"};
	struct {
		struct fuse_setxattr_in x;
		char kv[16];
	} sx = {.x = {.size = 5}, .kv = "user.k\0value"};

	/* ctl 3: true length, node id 1 is the file f, 0 the root */
	seed_req("lookup", 3, FUSE_LOOKUP, 0, "f", 2);
	seed_req("getattr", 3, FUSE_GETATTR, 1, &ga, sizeof(ga));
	seed_req("open", 3, FUSE_OPEN, 1, &op, sizeof(op));
	seed_req("read", 3, FUSE_READ, 1, &rd, sizeof(rd));
	seed_req("write", 3, FUSE_WRITE, 1, &wr, sizeof(wr));
	seed_req("mkdir", 3, FUSE_MKDIR, 0, &mk, sizeof(mk));
	seed_req("readdir", 3, FUSE_READDIR, 0, &rd, sizeof(rd));
	seed_req("setxattr", 3, FUSE_SETXATTR, 1, &sx, sizeof(sx));
	seed_req("statfs", 3, FUSE_STATFS, 0, "", 0);
	seed_req("scattered", 3 | (3 << 2), FUSE_LOOKUP, 0, "f", 2);
	/* the empty root: what a guest mounting an unused slot sends */
	seed_req("empty_lookup", 0x83, FUSE_LOOKUP, 0, "f", 2);
	seed_req("empty_getattr", 0x83, FUSE_GETATTR, 0, &ga, sizeof(ga));
	seed_req("empty_opendir", 0x83, FUSE_OPENDIR, 0, &op, sizeof(op));
	seed_req("empty_readdir", 0x83, FUSE_READDIR, 0, &rd, sizeof(rd));
	seed_req("empty_mkdir", 0x83, FUSE_MKDIR, 0, &mk, sizeof(mk));
	seed_req("empty_statfs", 0x83, FUSE_STATFS, 0, "", 0);
}

FUZZ_SEEDS(make_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t req[1 << 17], out[1 << 17];
	struct fuse_in_header h;
	uint8_t ctl;

	if (!srv) {
		setup();
		setup_empty();
	}
	if (size < 1 || size - 1 > sizeof(req))
		return 0;
	ctl = data[0];
	memcpy(req, data + 1, size - 1);
	size--;
	if (size >= sizeof(h)) {
		memcpy(&h, req, sizeof(h));
		if (ctl & 1)
			h.len = (uint32_t)size;
		if (ctl & 2) /* the empty root has its root alone */
			h.nodeid = ctl & 0x80 ? 1 : live[h.nodeid & 3];
		/* DESTROY and INIT would only reset the session */
		if (h.opcode == FUSE_DESTROY || h.opcode == FUSE_INIT)
			h.opcode = FUSE_GETATTR;
		memcpy(req, &h, sizeof(h));
	}
	send_to(ctl & 0x80 ? empty_srv : srv, req, size, (ctl >> 2) & 15, out,
		(ctl & 0x40) ? 64 : sizeof(out));
	return 0;
}
