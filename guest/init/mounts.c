/*
 * Volume mounts in the guest: each SM_S_MOUNT names a virtio-fs slot
 * (tag smvolN) and an absolute target, each SM_S_TMPFS a tmpfs with its
 * options. The host sends them parents first; mount points are created
 * in the overlay (the image on the host is never touched). A single-file
 * slot is mounted on a staging directory, its one file bound on the
 * target, and the staging mount dropped (docs/volumes.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "proto/proto.h"

#define MOUNTS_MAX 64
#define FIELD_MAX 4096
/* where a single-file slot is mounted while its file is bound; removed
 * before the process starts */
#define STAGE "/.smvol-stage"

struct mnt {
	uint16_t tag;
	unsigned slot;
	int read_only;
	int file;	/* the slot serves one file (SM_VOL_FILE_NAME) */
	char opts[256]; /* tmpfs */
	char target[FIELD_MAX];
};

static struct mnt mounts[MOUNTS_MAX];
static unsigned nmounts;

/* "SLOT:ro|rw[,file]:TARGET" */
static int parse_mount(struct mnt *m, const char *s)
{
	char *end;
	unsigned long slot = strtoul(s, &end, 10);

	if (end == s || slot >= SM_VOL_SLOTS_MAX || *end != ':' ||
	    (strncmp(end + 1, "ro", 2) && strncmp(end + 1, "rw", 2)))
		return -1;
	m->slot = (unsigned)slot;
	m->read_only = end[2] == 'o';
	end += 3;
	if (!strncmp(end, ",file", 5)) {
		m->file = 1;
		end += 5;
	}
	if (*end != ':')
		return -1;
	snprintf(m->target, sizeof(m->target), "%s", end + 1);
	return 0;
}

/* "OPTIONS:TARGET" */
static int parse_tmpfs(struct mnt *m, const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(m->opts))
		return -1;
	memcpy(m->opts, s, (size_t)(colon - s));
	m->opts[colon - s] = '\0';
	snprintf(m->target, sizeof(m->target), "%s", colon + 1);
	return 0;
}

int mounts_add(uint16_t tag, const uint8_t *v, uint32_t len)
{
	char buf[FIELD_MAX + 300];
	struct mnt *m = &mounts[nmounts];
	int r;

	if (nmounts >= MOUNTS_MAX || len >= sizeof(buf) || memchr(v, 0, len))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	memset(m, 0, sizeof(*m));
	m->tag = tag;
	r = tag == SM_S_MOUNT ? parse_mount(m, buf) : parse_tmpfs(m, buf);
	if (r || m->target[0] != '/')
		return -1;
	nmounts++;
	return 0;
}

static void mkdir_p(const char *path)
{
	char buf[FIELD_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

/* Splits tmpfs options into mount flags and the data string. */
static unsigned long tmpfs_flags(const char *opts, char *data, size_t size)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} words[] = {
	    {"ro", MS_RDONLY, 0},   {"rw", 0, MS_RDONLY},
	    {"exec", 0, MS_NOEXEC}, {"noexec", MS_NOEXEC, 0},
	    {"suid", 0, MS_NOSUID}, {"nosuid", MS_NOSUID, 0},
	    {"dev", 0, MS_NODEV},   {"nodev", MS_NODEV, 0},
	};
	/* docker's --tmpfs defaults */
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char buf[256], *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", opts);
	data[0] = '\0';
	for (char *o = strtok_r(buf, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		size_t i, k = sizeof(words) / sizeof(words[0]);

		for (i = 0; i < k && strcmp(o, words[i].name); i++)
			;
		if (i < k) {
			flags = (flags | words[i].set) & ~words[i].clear;
		} else if (n + strlen(o) + 2 < size) {
			n += (size_t)snprintf(data + n, size - n, "%s%s",
					      n ? "," : "", o);
		}
	}
	return flags;
}

/* An empty file at path, and its parents, when path is missing (docker
 * does the same for a file bind). */
static void make_target_file(const char *path)
{
	char parent[FIELD_MAX];
	char *slash;
	int fd;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		mkdir_p(parent);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* A single-file slot: the share on STAGE, its file bound on the target
 * (read-only again on the bind when ro), then STAGE unmounted and
 * removed: the bind keeps the share alive and is all the process sees. */
static int bind_file(const struct mnt *m, const char *tag)
{
	unsigned long ro = m->read_only ? MS_RDONLY : 0;
	int r, saved;

	make_target_file(m->target);
	if (mkdir(STAGE, 0700) && errno != EEXIST)
		return -1;
	r = mount(tag, STAGE, "virtiofs", ro, NULL);
	if (r == 0) {
		r = mount(STAGE "/" SM_VOL_FILE_NAME, m->target, NULL, MS_BIND,
			  NULL);
		if (r == 0 && ro)
			r = mount(NULL, m->target, NULL,
				  MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
		saved = errno;
		umount2(STAGE, MNT_DETACH);
		errno = saved;
	}
	saved = errno;
	rmdir(STAGE);
	errno = saved;
	return r;
}

static int mount_one(const struct mnt *m, char *why, size_t wl)
{
	char tag[32] = "", data[256];
	unsigned long flags;
	int r;

	if (m->tag == SM_S_MOUNT && m->file) {
		snprintf(tag, sizeof(tag), SM_VOL_TAG_FMT, m->slot);
		if (bind_file(m, tag) == 0)
			return 0;
		snprintf(why, wl, "bind %s on %s: %s", tag, m->target,
			 strerror(errno));
		return -1;
	}
	mkdir_p(m->target);
	if (m->tag == SM_S_MOUNT) {
		snprintf(tag, sizeof(tag), SM_VOL_TAG_FMT, m->slot);
		r = mount(tag, m->target, "virtiofs",
			  m->read_only ? MS_RDONLY : 0, NULL);
	} else {
		flags = tmpfs_flags(m->opts, data, sizeof(data));
		r = mount("tmpfs", m->target, "tmpfs", flags,
			  data[0] ? data : NULL);
	}
	if (r) {
		snprintf(why, wl, "mount %s on %s: %s",
			 m->tag == SM_S_MOUNT ? tag : "tmpfs", m->target,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int mounts_apply(char *why, size_t wl)
{
	for (unsigned i = 0; i < nmounts; i++)
		if (mount_one(&mounts[i], why, wl))
			return -1;
	return 0;
}
