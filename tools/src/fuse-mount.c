/*
 * fuse-mount [--ro] [--threads N] [--timeout MS] [--background] SRC MNT
 *
 * Serves host directory SRC at MNT through /dev/fuse with the same FUSE
 * server and passthrough backend that virtio-fs uses, until MNT is
 * unmounted. What differs from virtio-fs lives here: the mount(2) call,
 * the read loop on /dev/fuse (one request per read, one reply per write)
 * and no DAX window.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse/fuse_server.h"

#define MAX_WRITE (1u << 20)
#define BUF_SIZE (MAX_WRITE + 65536)

static struct fuse_server *srv;
static int dev_fd = -1;

static void *serve(void *arg)
{
	uint8_t *in = malloc(BUF_SIZE), *out = malloc(BUF_SIZE);

	(void)arg;
	if (!in || !out) {
		fprintf(stderr, "fuse-mount: out of memory\n");
		free(in);
		free(out);
		return NULL;
	}
	for (;;) {
		struct iovec iv, ov = {out, BUF_SIZE};
		ssize_t n = read(dev_fd, in, BUF_SIZE);
		size_t olen = 0;

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ENOENT)
				continue; /* interrupted or aborted request */
			if (errno != ENODEV) /* ENODEV: unmounted */
				perror("fuse-mount: read /dev/fuse");
			break;
		}
		iv.iov_base = in;
		iv.iov_len = (size_t)n;
		if (fuse_server_handle(srv, &iv, 1, &ov, 1, &olen) < 0 ||
		    olen == 0)
			continue;
		/* ENOENT: the request was interrupted meanwhile */
		if (write(dev_fd, out, olen) < 0 && errno != ENOENT &&
		    errno != EINTR) {
			if (errno == ENODEV)
				break;
			perror("fuse-mount: write /dev/fuse");
		}
	}
	free(in);
	free(out);
	return NULL;
}

static int do_mount(const char *mnt)
{
	char opts[256];
	struct stat st;

	if (stat(mnt, &st) < 0) {
		perror(mnt);
		return -1;
	}
	dev_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		perror("fuse-mount: /dev/fuse");
		return -1;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=%o,user_id=%u,group_id=%u,"
		 "default_permissions,allow_other,max_read=%u",
		 dev_fd, st.st_mode & S_IFMT, getuid(), getgid(), MAX_WRITE);
	if (mount("supermachine", mnt, "fuse.supermachine",
		  MS_NOSUID | MS_NODEV, opts) < 0 &&
	    mount("supermachine", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) <
		0) {
		perror("fuse-mount: mount");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fuse-mount [--ro] [--threads N] [--timeout MS] "
		   "[--background] SRC MNT\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ro", no_argument, NULL, 'r'},
	    {"threads", required_argument, NULL, 't'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"background", no_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct fuse_server_config cfg = {.max_write = MAX_WRITE};
	struct sm_error err = {0};
	int ro = 0, nthreads = 4, bg = 0, c;
	pthread_t th[64];
	struct stat st;
	void *be;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ro = 1;
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'T':
			cfg.timeout_ms = (uint32_t)atoi(optarg);
			break;
		case 'b':
			bg = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || nthreads < 1 || nthreads > 64) {
		usage(stderr);
		return 2;
	}
	if (stat(argv[optind], &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fuse-mount: %s: not a directory\n",
			argv[optind]);
		return 1;
	}
	if (do_mount(argv[optind + 1]) < 0)
		return 1;
	/* the mount exists now: a background parent can return */
	if (bg) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fuse-mount: fork");
			return 1;
		}
		if (pid > 0)
			return 0;
		setsid();
	}
	/* after the fork: the backend holds /proc/self/fd of this process */
	cfg.ops = &fuse_passthrough_ops;
	cfg.read_only = ro;
	if (fuse_passthrough_new(argv[optind], ro, &be, &err) < 0 ||
	    (cfg.backend = be, fuse_server_new(&cfg, &srv, &err)) < 0) {
		fprintf(stderr, "fuse-mount: %s\n", err.msg);
		umount2(argv[optind + 1], MNT_DETACH);
		return 1;
	}
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, serve, NULL) != 0) {
			nthreads = i;
			break;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	fuse_server_free(srv);
	fuse_passthrough_ops.destroy(be);
	close(dev_fd);
	return 0;
}
