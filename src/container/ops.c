/*
 * What is done to a container that runs (supermachine.h, "Containers"):
 * requests to the process that owns its VM (serve.c), and what its
 * record holds (ports; its logs: logs.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"

static int need_record(struct sm_container *k, struct sm_error *err)
{
	if (!k || !k->recorded)
		return sm_err(err, -ENOENT, "the container has no record");
	return ctr_load(&k->rec, err);
}

/* Sends req ({"op": ...}, taken) and drops the reply. */
static int request(struct sm_container *k, json_t *req, const int *fds,
		   int nfds, struct sm_error *err)
{
	json_t *reply = NULL;
	int ret;

	if (!req)
		return sm_err(err, -ENOMEM, "a request: out of memory");
	ret = ctr_request(&k->rec, req, fds, nfds, &reply, NULL, err);
	json_decref(req);
	json_decref(reply);
	return ret;
}

/*
 * The VM's process answered once its guest process ended; its record
 * says so a moment later (a jailed VMM's keeper writes it after reaping
 * it): wait up to `ms` for that.
 */
static bool wait_recorded(struct sm_container *k, int ms)
{
	for (int waited = 0;; waited += 20) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (ctr_load(&k->rec, NULL) || !ctr_running(&k->rec))
			return true;
		if (waited >= ms)
			return false;
		nanosleep(&ts, NULL);
	}
}

SM_API int sm_container_stop(struct sm_container *k, int timeout_s,
			     struct sm_error *err)
{
	json_t *req;
	int ret = need_record(k, err);

	if (ret || !ctr_running(&k->rec))
		return ret; /* stopped already: fine */
	req = json_pack("{s:s}", "op", "stop");
	if (req && timeout_s >= 0)
		json_object_set_new(req, "timeout", json_integer(timeout_s));
	ret = request(k, req, NULL, 0, err);
	if (!ret)
		wait_recorded(k, 10 * 1000);
	return ret;
}

SM_API int sm_container_kill(struct sm_container *k, int signo,
			     struct sm_error *err)
{
	int ret = need_record(k, err);

	if (!ret && (signo <= 0 || signo >= NSIG))
		ret = sm_err(err, -EINVAL, "kill %s: no signal %d", k->rec.name,
			     signo);
	if (!ret && !ctr_running(&k->rec))
		ret = sm_err(err, -ESRCH, "container %s is not running",
			     k->rec.name);
	if (ret)
		return ret;
	return request(k,
		       json_pack("{s:s, s:i}", "op", "kill", "signal", signo),
		       NULL, 0, err);
}

SM_API int sm_container_remove(struct sm_container *k, int force,
			       struct sm_error *err)
{
	int ret = need_record(k, err);

	if (!ret && ctr_running(&k->rec)) {
		if (!force)
			return sm_err(err, -EBUSY,
				      "cannot remove container %s: it is "
				      "running (stop it first, or rm -f)",
				      k->rec.name);
		ret = request(
		    k, json_pack("{s:s, s:i}", "op", "kill", "signal", SIGKILL),
		    NULL, 0, err);
		if (!wait_recorded(k, 30 * 1000))
			return sm_err(err, -ETIMEDOUT,
				      "container %s did not stop after "
				      "SIGKILL",
				      k->rec.name);
		ret = 0; /* it ended, even if the request did not get there */
	}
	return ret ? ret : ctr_remove(&k->rec, err);
}

SM_API int sm_container_attach_stdin(struct sm_container *k, int fd,
				     struct sm_error *err)
{
	json_t *req, *reply = NULL;
	int ret = need_record(k, err), conn = -1;

	if (!ret && (fd < 0 || k->stdin_conn >= 0))
		ret = sm_err(err, -EINVAL, "attach stdin: no fd, or again");
	if (!ret && !ctr_running(&k->rec))
		ret = sm_err(err, -ESRCH, "container %s is not running",
			     k->rec.name);
	if (ret)
		return ret;
	if (!(req = json_pack("{s:s}", "op", "stdin")))
		return sm_err(err, -ENOMEM, "a request: out of memory");
	ret = ctr_request(&k->rec, req, &fd, 1, NULL, &conn, err);
	json_decref(req);
	if (!ret)
		ret = ctr_read_line(conn, &reply, err);
	if (!ret && json_object_get(reply, "error"))
		ret = sm_err(err, -ENOTSUP, "attach to %s: %s", k->rec.name,
			     ctr_str(reply, "error"));
	json_decref(reply);
	if (ret && conn >= 0)
		close(conn);
	else if (!ret) /* the feed lasts while this connection does */
		k->stdin_conn = conn;
	return ret;
}

SM_API int sm_container_ports(struct sm_container *k, char *buf, size_t size,
			      struct sm_error *err)
{
	const char *ports;
	int ret = need_record(k, err);

	if (ret)
		return ret;
	if (!ctr_running(&k->rec))
		return sm_err(err, -ESRCH, "container %s is not running",
			      k->rec.name);
	ports = ctr_str(k->rec.state, "ports");
	if (!buf || strlen(ports) >= size)
		return sm_err(err, -ENOSPC, "ports of %s: %zu bytes needed",
			      k->rec.name, strlen(ports) + 1);
	memcpy(buf, ports, strlen(ports) + 1);
	return 0;
}

/* ---- exec ---- */

static json_t *exec_request(const struct sm_exec_options *o)
{
	json_t *req = json_pack(
	    "{s:s, s:[], s:[], s:b, s:b, s:b, s:s?, s:s?}", "op", "exec",
	    "argv", "env", "tty", o->tty, "interactive", o->interactive,
	    "detach", o->detach, "workdir", o->workdir, "user", o->user);

	for (const char *const *a = o->argv; req && a && *a; a++)
		json_array_append_new(json_object_get(req, "argv"),
				      json_string(*a));
	for (const char *const *e = o->env; req && e && *e; e++)
		json_array_append_new(json_object_get(req, "env"),
				      json_string(*e));
	return req;
}

/* Relays signals until the reply comes; 0 and the exit status. */
static int await_reply(int conn, int sig_fd, const char *name, int *status,
		       struct sm_error *err)
{
	json_t *reply = NULL;
	int ret;

	for (;;) {
		struct pollfd p[2] = {{.fd = conn, .events = POLLIN},
				      {.fd = sig_fd, .events = POLLIN}};
		int sig;

		if (poll(p, sig_fd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
			continue;
		if (sig_fd >= 0 && p[1].revents &&
		    read(sig_fd, &sig, sizeof(sig)) == sizeof(sig)) {
			json_t *m = json_pack("{s:i}", "signal",
					      sig & ~SM_SIGNAL_FROM_TERMINAL);

			ctr_write_line(conn, m);
			json_decref(m);
		}
		if (p[0].revents)
			break;
	}
	if ((ret = ctr_read_line(conn, &reply, err)))
		return sm_err_wrap(err, ret, "exec in %s", name);
	if (json_object_get(reply, "error"))
		ret = sm_err(err, -EIO, "%s", ctr_str(reply, "error"));
	else
		*status = (int)ctr_int(reply, "exit");
	json_decref(reply);
	return ret;
}

SM_API int sm_container_exec(struct sm_container *k,
			     const struct sm_exec_options *o, int *exit_status,
			     struct sm_error *err)
{
	struct sm_exec_options e;
	int fds[3], conn = -1, ret;
	json_t *req;

	sm_exec_options_init(&e);
	ret = need_record(k, err);
	if (!ret)
		ret = sm_opts_take(&e, sizeof(e), o, "sm_exec_options", err);
	if (!ret && (!e.argv || !e.argv[0]))
		ret = sm_err(err, -EINVAL, "exec: no command");
	if (!ret && e.timeout_ms) /* the container's process has no timer */
		ret =
		    sm_err(err, -ENOTSUP,
			   "exec in a container: timeout_ms is not supported");
	if (ret)
		return ret;
	req = exec_request(&e);
	if (!req)
		return sm_err(err, -ENOMEM, "exec: out of memory");
	fds[0] = e.stdin_fd, fds[1] = e.stdout_fd, fds[2] = e.stderr_fd;
	if (e.detach) { /* docker exec -d: its output goes nowhere */
		int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null_fd < 0) {
			json_decref(req);
			return sm_err_errno(err, "exec -d: /dev/null");
		}
		fds[0] = fds[1] = fds[2] = null_fd;
	}
	ret = ctr_request(&k->rec, req, fds, 3, NULL, &conn, err);
	json_decref(req);
	if (e.detach)
		close(fds[0]);
	if (!ret) {
		ret = await_reply(conn, e.signal_fd, k->rec.name, exit_status,
				  err);
		close(conn);
	}
	return ret;
}
