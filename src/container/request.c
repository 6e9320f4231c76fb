/*
 * The container control socket, client side and framing: one JSON object
 * per line; a request may carry file descriptors (SCM_RIGHTS).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "container/container.h"

#define CTR_LINE_MAX (64 * 1024)

int ctr_write_line(int fd, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len;
	int r = -ENOMEM;

	if (!s)
		return r;
	len = strlen(s);
	s[len] = '\n'; /* json_dumps' NUL becomes the line end */
	r = send(fd, s, len + 1, MSG_NOSIGNAL) == (ssize_t)(len + 1) ? 0
								     : -EPIPE;
	free(s);
	return r;
}

/* Byte by byte: what follows the line belongs to the next reader. */
int ctr_read_line(int fd, json_t **msg, struct sm_error *err)
{
	char *buf = malloc(CTR_LINE_MAX);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || n + 1 >= CTR_LINE_MAX) {
			free(buf);
			if (err)
				snprintf(err->msg, sizeof(err->msg),
					 "the container's process closed the "
					 "connection");
			return -EPIPE;
		}
		if (buf[n] == '\n')
			break;
		n++;
	}
	*msg = json_loadb(buf, n, 0, NULL);
	free(buf);
	if (!*msg) {
		if (err)
			snprintf(err->msg, sizeof(err->msg),
				 "malformed control message");
		return -EPROTO;
	}
	return 0;
}

static int connect_ctl(const struct ctr *c, struct sm_error *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	ctr_path(c, "ctl.sock", a.sun_path, sizeof(a.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (err) {
			err->code = -e;
			snprintf(err->msg, sizeof(err->msg),
				 "container %s is not running", c->name);
		}
		return -e;
	}
	return fd;
}

static int send_with_fds(int fd, json_t *req, const int *fds, int nfds)
{
	char *s = json_dumps(req, JSON_COMPACT);
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	size_t len;
	ssize_t r;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len] = '\n';
	iov = (struct iovec){.iov_base = s, .iov_len = len + 1};
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	r = sendmsg(fd, &m, MSG_NOSIGNAL);
	free(s);
	return r == (ssize_t)(len + 1) ? 0 : -EPIPE;
}

int ctr_request(const struct ctr *c, json_t *req, const int *fds, int nfds,
		json_t **reply, int *conn_out, struct sm_error *err)
{
	int fd = connect_ctl(c, err), r;

	if (fd < 0)
		return fd;
	r = send_with_fds(fd, req, fds, nfds);
	if (r) {
		close(fd);
		if (err)
			snprintf(err->msg, sizeof(err->msg),
				 "sending a request to container %s failed",
				 c->name);
		return r;
	}
	if (conn_out) {
		*conn_out = fd; /* the caller reads the reply when it wants */
		return 0;
	}
	r = ctr_read_line(fd, reply, err);
	close(fd);
	if (!r && json_object_get(*reply, "error")) {
		if (err) {
			err->code = -EIO;
			snprintf(err->msg, sizeof(err->msg), "%s",
				 ctr_str(*reply, "error"));
		}
		json_decref(*reply);
		*reply = NULL;
		return -EIO;
	}
	return r;
}
