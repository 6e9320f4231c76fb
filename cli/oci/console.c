/*
 * --console-socket: the engine's terminal for a container with
 * process.terminal. A pty is made here; its master goes to the engine
 * over the unix socket (SCM_RIGHTS, as runc sends it), its slave is the
 * VM's stdio with a tty in the guest, so the engine's terminal reaches
 * the guest's process through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "runtime.h"

static int send_fd(int sock, int fd, const char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

int oci_console_pty(const char *socket_path, unsigned rows, unsigned cols,
		    int *slave)
{
	struct winsize ws = {.ws_row = (unsigned short)rows,
			     .ws_col = (unsigned short)cols};
	int master, sock, r;

	if (openpty(&master, slave, NULL, NULL, rows && cols ? &ws : NULL))
		return oci_fail("console: openpty: %s", strerror(errno));
	sock = connect_unix(socket_path);
	r = sock < 0 ? sock : send_fd(sock, master, "/dev/ptmx");
	if (sock >= 0)
		close(sock);
	close(master);
	if (r < 0) {
		close(*slave);
		return oci_fail("console socket %s: %s", socket_path,
				strerror(-r));
	}
	fcntl(*slave, F_SETFD, FD_CLOEXEC);
	return 0;
}
