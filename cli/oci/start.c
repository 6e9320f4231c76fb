/*
 * start ID: lets a created container's process go on (it waits on
 * exec.fifo, runc's way) and removes the fifo: the container is running
 * from then on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

/* The process opens its end at once (unless it died) and writes "0". */
static int release(const struct oci_state *st, const char *fifo)
{
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	const char *why = NULL;
	char c = 0;

	if (fd < 0)
		return oci_fail("start %s: %s: %s", st->id, fifo,
				strerror(errno));
	while (!why) {
		int n = poll(&p, 1, 1000);

		if (n > 0 && (p.revents & POLLIN) && read(fd, &c, 1) == 1)
			break;
		if (n > 0 && (p.revents & POLLHUP))
			why = "its process did not answer";
		else if (oci_proc_starttime(st->pid) != st->starttime)
			why = "its process ended before it started";
	}
	close(fd);
	if (why)
		return oci_fail("start %s: %s", st->id, why);
	unlink(fifo);
	return 0;
}

int oci_cmd_start(int argc, char **argv)
{
	struct oci_state st;
	const char *status;
	char fifo[4200];
	int r;

	if (argc != 2)
		return oci_fail("start: want exactly one container id");
	if (oci_state_load(argv[1], &st))
		return oci_fail("container %s does not exist", argv[1]);
	status = oci_status(&st);
	if (strcmp(status, "created"))
		r = oci_fail("cannot start a container that is %s: %s", status,
			     argv[1]);
	else if (oci_path(fifo, sizeof(fifo), st.id, "exec.fifo"))
		r = oci_fail("container %s: path too long", st.id);
	else
		r = release(&st, fifo);
	free(st.annotations);
	return r;
}
