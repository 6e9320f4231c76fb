/*
 * What a guest can plant on the host through a read-write share
 * (docs/security.md): privileged xattrs and FIFOs refused unless the
 * embedder opts in, device nodes always; setuid/setgid/capabilities
 * dropped as the kernel does on write, truncate and the unflagged
 * modifications (FALLOCATE, COPY_FILE_RANGE, writable DAX mappings).
 * Each test runs on memfs and on passthrough, where the host file itself
 * is looked at.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse_dax_window.h"
#include "fuse_test.h"
#include "test.h"

#define WIN_SIZE (1 << 20)

static struct tc t;
static int pt; /* 0 memfs, 1 passthrough */
static char tmp[64];

static void setup_with(const struct fuse_server_config *base)
{
	struct fuse_server_config cfg = *base;
	const struct fuse_backend_ops *ops;
	void *be = NULL;

	memset(&t, 0, sizeof(t));
	if (tc_backend_new(pt, 0, "fuse-policy", tmp, &be, &ops))
		return;
	tc_open(&t, ops, be, &cfg);
}

static void setup(void)
{
	struct fuse_server_config cfg = {0};

	setup_with(&cfg);
}

static void teardown(void)
{
	const struct fuse_backend_ops *ops = t.ops;
	void *be = t.be;

	tc_close(&t);
	tc_backend_free(ops, be, tmp);
}

/* The host path of name in the share ("" on memfs). */
static const char *host(const char *name)
{
	static char p[128];

	if (!pt)
		return "";
	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	return p;
}

static int set_xattr(uint64_t n, const char *name, const char *value)
{
	struct fuse_setxattr_in sx = {.size = (uint32_t)strlen(value)};

	tc_begin(&t, FUSE_SETXATTR, n);
	tc_add(&t, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	tc_str(&t, name);
	tc_add(&t, value, strlen(value));
	return tc_send(&t);
}

static int remove_xattr(uint64_t n, const char *name)
{
	tc_begin(&t, FUSE_REMOVEXATTR, n);
	tc_str(&t, name);
	return tc_send(&t);
}

static int mknod_at(const char *name, uint32_t mode)
{
	struct fuse_mknod_in mk = {.mode = mode, .rdev = 0x801};

	tc_begin(&t, FUSE_MKNOD, 1);
	tc_add(&t, &mk, sizeof(mk));
	tc_str(&t, name);
	return tc_send(&t);
}

static uint32_t mode_of(uint64_t n)
{
	struct fuse_attr a;

	return fs_getattr(&t, n, &a) == 0 ? a.mode & 07777 : 0xffffffff;
}

static void set_mode(uint64_t n, uint32_t mode)
{
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = mode};

	CHECK_EQ(fs_setattr(&t, n, &sa, NULL), 0);
}

static const char *const priv_names[] = {
    "security.capability",	"security.selinux",
    "trusted.overlay.opaque",	"system.posix_acl_access",
    "system.posix_acl_default", "system.nfs4_acl",
    "other.namespace",		NULL};

TEST(priv_xattrs_refused)
{
	uint64_t n = 0, fh = 0;
	char v[8];

	setup();
	CHECK_EQ(fs_create(&t, 1, "x", 0644, O_RDWR, &n, &fh), 0);
	for (const char *const *x = priv_names; *x; x++) {
		CHECK_EQ(set_xattr(n, *x, "y"), -EOPNOTSUPP);
		CHECK_EQ(remove_xattr(n, *x), -EOPNOTSUPP);
	}
	CHECK_EQ(set_xattr(n, "user.ok", "y"), 0);
	CHECK_EQ(remove_xattr(n, "user.ok"), 0);
	/* the host keeps what it had: a guest cannot remove it either */
	if (pt && geteuid() == 0) {
		CHECK_EQ(getxattr(host("x"), "trusted.overlay.opaque", v, 8),
			 -1);
		CHECK_EQ(setxattr(host("x"), "trusted.host", "h", 1, 0), 0);
		CHECK_EQ(remove_xattr(n, "trusted.host"), -EOPNOTSUPP);
		CHECK_EQ(getxattr(host("x"), "trusted.host", v, 8), 1);
	}
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	teardown();
}

TEST(priv_xattrs_opt_in)
{
	struct fuse_server_config cfg = {.allow_priv_xattrs = 1};
	uint64_t n = 0, fh = 0;
	char v[8];
	int rc;

	setup_with(&cfg);
	CHECK_EQ(fs_create(&t, 1, "x", 0644, O_RDWR, &n, &fh), 0);
	rc = set_xattr(n, "trusted.overlay.opaque", "y");
	if (pt && geteuid() != 0) /* the host says no to a non-root server */
		CHECK_EQ(rc, -EPERM);
	else
		CHECK_EQ(rc, 0);
	if (pt && rc == 0)
		CHECK_EQ(getxattr(host("x"), "trusted.overlay.opaque", v, 8),
			 1);
	if (rc == 0)
		CHECK_EQ(remove_xattr(n, "trusted.overlay.opaque"), 0);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	teardown();
}

TEST(fifos_and_devices)
{
	struct fuse_server_config cfg = {.allow_fifos = 1};
	struct stat st;
	uint64_t fh = 0;

	setup();
	CHECK_EQ(mknod_at("fifo", S_IFIFO | 0644), -EPERM);
	CHECK_EQ(mknod_at("blk", S_IFBLK | 0600), -EPERM);
	CHECK_EQ(mknod_at("chr", S_IFCHR | 0600), -EPERM);
	CHECK_EQ(fs_lookup(&t, 1, "fifo", NULL), -ENOENT);
	if (pt)
		CHECK_EQ(lstat(host("fifo"), &st), -1);
	teardown();
	/* with the opt-in: a FIFO, which the server never opens; still no
	 * device node */
	setup_with(&cfg);
	CHECK_EQ(mknod_at("fifo", S_IFIFO | 0644), 0);
	CHECK(S_ISFIFO(((const struct fuse_entry_out *)t.rep)->attr.mode));
	CHECK_EQ(fs_open(&t, fs_nodeid(&t, 1, "fifo"), O_RDONLY | O_NONBLOCK, 0,
			 &fh),
		 -ENXIO);
	if (pt)
		CHECK(lstat(host("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_EQ(mknod_at("chr", S_IFCHR | 0600), -EPERM);
	teardown();
}

/* A file capability on the host file, when the host lets us set one. */
static int plant_cap(const char *path)
{
	struct vfs_cap_data c;

	memset(&c, 0, sizeof(c));
	c.magic_etc = VFS_CAP_REVISION_2;
	c.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
	return setxattr(path, "security.capability", &c, XATTR_CAPS_SZ_2, 0);
}

TEST(write_and_truncate)
{
	uint64_t n = 0, fh = 0;

	setup();
	CHECK_EQ(fs_create(&t, 1, "s", 0755, O_RDWR, &n, &fh), 0);
	set_mode(n, 06745);
	/* a caller with CAP_FSETID: the kernel sends no flag, nothing goes */
	CHECK_EQ(fs_write(&t, n, fh, 0, "x", 1, 0), 0);
	CHECK_EQ(mode_of(n), 06745);
	/* setgid without group-exec stays (it is not a privilege) */
	CHECK_EQ(fs_write(&t, n, fh, 0, "x", 1, FUSE_WRITE_KILL_SUIDGID), 0);
	CHECK_EQ(mode_of(n), 02745);
	set_mode(n, 06755);
	CHECK_EQ(fs_write(&t, n, fh, 0, "x", 1, FUSE_WRITE_KILL_SUIDGID), 0);
	CHECK_EQ(mode_of(n), 0755);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	/* OPEN with O_TRUNC: only when the kernel asks */
	set_mode(n, 06755);
	CHECK_EQ(fs_open(&t, n, O_WRONLY | O_TRUNC, 0, &fh), 0);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	CHECK_EQ(mode_of(n), 06755);
	{
		struct fuse_open_in in = {.flags = O_WRONLY | O_TRUNC,
					  .open_flags = FUSE_OPEN_KILL_SUIDGID};

		tc_begin(&t, FUSE_OPEN, n);
		tc_add(&t, &in, sizeof(in));
		CHECK_EQ(tc_send(&t), 0);
		fh = ((const struct fuse_open_out *)t.rep)->fh;
		CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	}
	CHECK_EQ(mode_of(n), 0755);
	/* CREATE of a name that exists, with O_TRUNC: as OPEN */
	set_mode(n, 06755);
	{
		struct fuse_create_in in = {.flags = O_WRONLY | O_TRUNC,
					    .mode = 0644,
					    .open_flags =
						FUSE_OPEN_KILL_SUIDGID};

		tc_begin(&t, FUSE_CREATE, 1);
		tc_add(&t, &in, sizeof(in));
		tc_str(&t, "s");
		CHECK_EQ(tc_send(&t), 0);
		fh =
		    ((const struct fuse_open_out *)(t.rep +
						    sizeof(
							struct fuse_entry_out)))
			->fh;
		CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	}
	CHECK_EQ(mode_of(n), 0755);
	teardown();
}

static int fallocate_as(uint32_t uid, uint64_t n, uint64_t fh)
{
	struct fuse_fallocate_in fa = {.fh = fh, .offset = 0, .length = 4096};

	tc_begin(&t, FUSE_FALLOCATE, n);
	tc_add(&t, &fa, sizeof(fa));
	tc_uid(&t, uid, uid);
	return tc_send(&t);
}

static int copy_range_as(uint32_t uid, uint64_t in, uint64_t fh_in,
			 uint64_t out, uint64_t fh_out)
{
	struct fuse_copy_file_range_in cr = {
	    .fh_in = fh_in, .nodeid_out = out, .fh_out = fh_out, .len = 1};

	tc_begin(&t, FUSE_COPY_FILE_RANGE, in);
	tc_add(&t, &cr, sizeof(cr));
	tc_uid(&t, uid, uid);
	return tc_send(&t);
}

/* The kernel leaves these to the server without a flag (KILLPRIV_V2). */
TEST(unflagged_modifications)
{
	uint64_t n = 0, fh = 0, src = 0, sfh = 0;

	setup();
	CHECK_EQ(fs_create(&t, 1, "s", 0755, O_RDWR, &n, &fh), 0);
	CHECK_EQ(fs_create(&t, 1, "src", 0644, O_RDWR, &src, &sfh), 0);
	CHECK_EQ(fs_write(&t, src, sfh, 0, "data", 4, 0), 0);
	set_mode(n, 06755);
	CHECK_EQ(fallocate_as(0, n, fh), 0);
	CHECK_EQ(mode_of(n), 06755);
	CHECK_EQ(fallocate_as(1000, n, fh), 0);
	CHECK_EQ(mode_of(n), 0755);
	set_mode(n, 06755);
	CHECK_EQ(copy_range_as(0, src, sfh, n, fh), 0);
	CHECK_EQ(mode_of(n), 06755);
	CHECK_EQ(copy_range_as(1000, src, sfh, n, fh), 0);
	CHECK_EQ(mode_of(n), 0755);
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	CHECK_EQ(fs_release(&t, src, sfh, 0), 0);
	teardown();
}

TEST(writable_dax_mapping)
{
	struct fuse_server_config cfg = {.dax = &dax,
					 .dax_window_size = WIN_SIZE};
	uint64_t n = 0, fh = 0;
	int capped = 0;
	char v[32];

	win = mmap(NULL, WIN_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(win != MAP_FAILED);
	if (win == MAP_FAILED)
		return;
	setup_with(&cfg);
	CHECK_EQ(fs_create(&t, 1, "s", 0755, O_RDWR, &n, &fh), 0);
	CHECK_EQ(fs_write(&t, n, fh, 0, "data", 4, 0), 0);
	set_mode(n, 06755);
	/* reading maps, and root's writable maps, keep the bits */
	CHECK_EQ(
	    fs_setupmapping(&t, n, 0, 0, 4096, FUSE_SETUPMAPPING_FLAG_READ), 0);
	CHECK_EQ(
	    fs_setupmapping(&t, n, 4096, 0, 4096, FUSE_SETUPMAPPING_FLAG_WRITE),
	    0);
	CHECK_EQ(mode_of(n), 06755);
	/* no write reaches the host file to drop a capability: we do */
	capped = pt && plant_cap(host("s")) == 0;
	tc_begin(&t, FUSE_SETUPMAPPING, n);
	{
		struct fuse_setupmapping_in in = {
		    .fh = UINT64_MAX,
		    .len = 4096,
		    .flags = FUSE_SETUPMAPPING_FLAG_WRITE,
		    .moffset = 8192};

		tc_add(&t, &in, sizeof(in));
	}
	tc_uid(&t, 1000, 1000);
	CHECK_EQ(tc_send(&t), 0);
	CHECK_EQ(mode_of(n), 0755);
	if (capped)
		CHECK_EQ(getxattr(host("s"), "security.capability", v, 32), -1);
	if (pt && geteuid() == 0)
		CHECK(capped); /* else the check above did not run */
	CHECK_EQ(fs_release(&t, n, fh, 0), 0);
	teardown();
	munmap(win, WIN_SIZE);
}

int main(void)
{
	for (pt = 0; pt < 2; pt++) {
		printf("# backend: %s\n", pt ? "passthrough" : "memfs");
		RUN(priv_xattrs_refused);
		RUN(priv_xattrs_opt_in);
		RUN(fifos_and_devices);
		RUN(write_and_truncate);
		RUN(unflagged_modifications);
		RUN(writable_dax_mapping);
	}
	return test_summary();
}
