#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/proto.h"
#include "run/template.h"
#include "snapshot/format.h"
#include "snapshot/snapshot.h"
#include "util/error.h"
#include "util/fs.h"
#include "vmm/vm_run.h"

/* A file's identity without reading it: path, size, mtime, inode. */
static void hash_file(EVP_MD_CTX *h, const char *path)
{
	struct stat st;
	char buf[PATH_MAX + 128];
	int n;

	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	n = snprintf(buf, sizeof(buf), "%s|%lld|%lld.%ld|%llu", path,
		     (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
	EVP_DigestUpdate(h, buf, (size_t)n);
}

/*
 * The VMM's build: the identity of the file our code was loaded from
 * (libsupermachine.so, or the program a static library was linked into),
 * as 16 hex digits. A template saved by another build may hold device
 * state this one reads differently: it is part of the key, and a save
 * removes other builds' templates of the image (issue 17).
 */
static void build_id(char id[17])
{
	Dl_info info = {0};
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned char md[32] = {0};

	if (h) {
		EVP_DigestInit_ex(h, EVP_sha256(), NULL);
		if (dladdr((void *)build_id, &info) && info.dli_fname &&
		    info.dli_fname[0] == '/')
			hash_file(h, info.dli_fname);
		else /* the main program's own code: its file */
			hash_file(h, "/proc/self/exe");
		EVP_DigestFinal_ex(h, md, NULL);
		EVP_MD_CTX_free(h);
	}
	for (int i = 0; i < 8; i++)
		sprintf(id + 2 * i, "%02x", md[i]);
}

int template_locate(struct template *t, const char *image_dir,
		    const char *image_digest, const struct vm_config *cfg,
		    struct sm_error *err)
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned char md[32];
	char shape[256], key[33], build[17];
	struct stat st;
	int n;

	if (!h)
		return sm_err(err, -ENOMEM, "out of memory");
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	EVP_DigestUpdate(h, image_digest, strlen(image_digest));
	hash_file(h, cfg->kernel);
	hash_file(h, cfg->initrd);
	build_id(build);
	EVP_DigestUpdate(h, build, strlen(build));
	n = snprintf(
	    shape, sizeof(shape),
	    "cpus=%u mem=%llu shares=%u dax=%llu net=%d cmdline=%s proto=%d "
	    "snap=%d.%d",
	    cfg->cpus, (unsigned long long)cfg->memory_mib, cfg->nshares,
	    (unsigned long long)(cfg->nshares ? cfg->shares[0].dax_window : 0),
	    cfg->net != NULL, cfg->cmdline ? cfg->cmdline : "",
	    SM_PROTO_VERSION, SNAP_MAJOR, SNAP_MINOR);
	EVP_DigestUpdate(h, shape, (size_t)n);
	EVP_DigestFinal_ex(h, md, NULL);
	EVP_MD_CTX_free(h);
	for (int i = 0; i < 16; i++)
		sprintf(key + 2 * i, "%02x", md[i]);
	if ((size_t)snprintf(t->dir, sizeof(t->dir), "%s/templates/%s",
			     image_dir, key) >= sizeof(t->dir))
		return sm_err(err, -ENAMETOOLONG, "template path too long");
	t->usable = stat(t->dir, &st) == 0 && S_ISDIR(st.st_mode);
	return 0;
}

/*
 * What a save killed half-way left (KEY.tmp-PID, its process gone): the
 * renamed template is whole or absent, but the temporary one would stay
 * forever. A live PID's is another run's save in progress.
 */
static void drop_stale_saves(const char *parent)
{
	DIR *d = opendir(parent);
	char path[PATH_MAX];

	for (struct dirent *e; d && (e = readdir(d));) {
		const char *at = strstr(e->d_name, ".tmp-");
		char *end;
		long pid;

		if (!at)
			continue;
		pid = strtol(at + 5, &end, 10);
		if (*end || pid <= 0 || pid == getpid() ||
		    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent,
				     e->d_name) < sizeof(path))
			sm_rm_tree(path);
	}
	if (d)
		closedir(d);
}

#define BUILD_FILE "build"

static int write_build(const char *dir, struct sm_error *err)
{
	char path[PATH_MAX + 64], id[17];

	build_id(id);
	if ((size_t)snprintf(path, sizeof(path), "%s/" BUILD_FILE, dir) >=
	    sizeof(path))
		return sm_err(err, -ENAMETOOLONG, "template path too long");
	return sm_atomic_write_buf(path, 0600, id, strlen(id), err);
}

/* Templates another build saved (or one from before builds were
 * written): never restored by this one, so not kept. */
static void drop_other_builds(const char *parent)
{
	DIR *d = opendir(parent);
	char path[PATH_MAX + 16], id[17], theirs[17];

	build_id(id);
	for (struct dirent *e; d && (e = readdir(d));) {
		ssize_t n = -1;
		int fd;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp-") ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s/" BUILD_FILE,
				     parent, e->d_name) >= sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			n = read(fd, theirs, sizeof(theirs) - 1);
			close(fd);
		}
		if (n == 16 && !memcmp(theirs, id, 16))
			continue;
		path[strlen(path) - strlen("/" BUILD_FILE)] = '\0';
		sm_rm_tree(path);
	}
	if (d)
		closedir(d);
}

int template_save(const struct template *t, struct vm *vm, struct sm_error *err)
{
	char parent[PATH_MAX], tmp[PATH_MAX + 32];
	char *slash;
	int ret;

	snprintf(parent, sizeof(parent), "%s", t->dir);
	slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	if (mkdir(parent, 0700) < 0 && errno != EEXIST)
		return sm_err_errno(err, "template directory %s", parent);
	drop_stale_saves(parent);
	drop_other_builds(parent);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", t->dir, (int)getpid());
	sm_rm_tree(tmp);
	ret = snapshot_save(vm, tmp, NULL, 0, err);
	if (!ret)
		ret = write_build(tmp, err);
	if (!ret && rename(tmp, t->dir) < 0) {
		/* another run won the race: its template is as good */
		if (errno != EEXIST && errno != ENOTEMPTY)
			ret = sm_err_errno(err, "template %s", t->dir);
	} else if (!ret && (ret = sm_fsync_parent(t->dir)) < 0) {
		sm_err(err, ret, "template %s: sync its directory", t->dir);
	}
	sm_rm_tree(tmp);
	return ret;
}

void template_drop(const struct template *t)
{
	sm_rm_tree(t->dir);
}
