/*
 * The container control socket, server side: runs in the process that
 * owns the VM handle and answers `stop`, `kill`, `exec`, `snapshot` and
 * `stdin` (attach's).
 * One thread accepts; each request gets its own thread (an exec lasts as
 * long as its process).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "sandbox/sandbox.h"

#define REQ_MAX (64 * 1024)

struct ctr_server {
	struct ctr *c;
	struct sm_vm *vm;
	int stop_timeout; /* seconds before `stop` escalates to SIGKILL */
	int stdin_feed;	  /* a detached -i run's stdin pipe (attach); -1 */
	int lfd, wake[2];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool exited, closing;
	int active; /* request threads still running */
};

struct request {
	struct ctr_server *srv;
	int fd;
	int fds[3];
	int nfds;
	json_t *msg;
};

static void reply_error(int fd, const char *msg)
{
	json_t *r = json_pack("{s:s}", "error", msg);

	if (r)
		ctr_write_line(fd, r);
	json_decref(r);
}

static void reply_ok(int fd)
{
	json_t *r = json_pack("{s:b}", "ok", 1);

	if (r)
		ctr_write_line(fd, r);
	json_decref(r);
}

/* ---- stop and kill ---- */

/* Waits until the VM's process ended or `seconds` passed; true if ended. */
static bool wait_exited(struct ctr_server *s, int seconds)
{
	struct timespec ts;
	bool done;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&s->lock);
	while (!s->exited &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
		;
	done = s->exited;
	pthread_mutex_unlock(&s->lock);
	return done;
}

static void do_stop(struct request *q)
{
	struct ctr_server *s = q->srv;
	json_t *t = json_object_get(q->msg, "timeout");
	int timeout =
	    json_is_integer(t) ? (int)json_integer_value(t) : s->stop_timeout;
	struct sm_error err = {0};

	if (timeout < 0)
		timeout = s->stop_timeout;
	if (sm_vm_kill(s->vm, sm_vm_stop_signal(s->vm), &err) == 0 &&
	    wait_exited(s, timeout)) {
		reply_ok(q->fd);
		return;
	}
	/* docker stop: the stop signal had its chance; SIGKILL now */
	sm_vm_kill(s->vm, SIGKILL, NULL);
	if (wait_exited(s, 10)) {
		reply_ok(q->fd);
		return;
	}
	/* the guest does not even answer SIGKILL: end the VM's process */
	reply_ok(q->fd);
	kill(getpid(), SIGKILL);
}

static void do_kill(struct request *q)
{
	struct sm_error err = {0};
	int sig = (int)json_integer_value(json_object_get(q->msg, "signal"));

	if (sm_vm_kill(q->srv->vm, sig, &err))
		reply_error(q->fd, err.msg);
	else
		reply_ok(q->fd);
}

/*
 * The client sends the two files to write (sm_vm_snapshot_fds): the VMM
 * opens no path (docs/security.md, "Jail").
 */
static void do_snapshot(struct request *q)
{
	struct sm_error err = {0};
	struct sm_snapshot_fds fds = {.size = sizeof(fds)};

	if (q->nfds != 2) {
		reply_error(q->fd,
			    "snapshot: two file descriptors are required");
		return;
	}
	fds.memory_fd = q->fds[0];
	fds.state_fd = q->fds[1];
	fds.conf_fd = -1;
	if (sm_vm_snapshot_fds(q->srv->vm, &fds, &err))
		reply_error(q->fd, err.msg);
	else
		reply_ok(q->fd);
}

/* ---- exec ---- */

struct sig_relay {
	int conn, pipe_w;
};

/* Reads {"signal":N} lines from the exec client into the signal pipe. */
static void *relay_signals(void *arg)
{
	struct sig_relay *r = arg;
	json_t *m;

	while (ctr_read_line(r->conn, &m, NULL) == 0) {
		int sig = (int)json_integer_value(json_object_get(m, "signal"));

		json_decref(m);
		if (sig > 0 && write(r->pipe_w, &sig, sizeof(sig)) < 0)
			break;
	}
	return NULL;
}

/* NULL-terminated copy of a JSON array of strings (NULL: none/bad). */
static const char **strv_from_json(json_t *a)
{
	size_t n = json_array_size(a), i;
	const char **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = json_string_value(json_array_get(a, i));
		if (!v[i]) {
			free(v);
			return NULL;
		}
	}
	return v;
}

static void do_exec(struct request *q)
{
	struct sm_exec_options o;
	struct sm_error err = {0};
	const char **argv = strv_from_json(json_object_get(q->msg, "argv"));
	const char **env = strv_from_json(json_object_get(q->msg, "env"));
	struct sig_relay relay = {.conn = q->fd};
	int pipefd[2] = {-1, -1}, status = 0, ret;
	pthread_t t;
	bool relaying = false;
	json_t *r;

	if (q->nfds != 3 || !argv || !argv[0] || !env) {
		reply_error(q->fd, "exec: malformed request");
		goto out;
	}
	sm_exec_options_init(&o);
	o.argv = argv;
	o.env = env;
	o.workdir =
	    *ctr_str(q->msg, "workdir") ? ctr_str(q->msg, "workdir") : NULL;
	o.user = *ctr_str(q->msg, "user") ? ctr_str(q->msg, "user") : NULL;
	o.tty = json_is_true(json_object_get(q->msg, "tty"));
	o.interactive = json_is_true(json_object_get(q->msg, "interactive"));
	o.detach = json_is_true(json_object_get(q->msg, "detach"));
	o.stdin_fd = q->fds[0];
	o.stdout_fd = q->fds[1];
	o.stderr_fd = q->fds[2];
	if (pipe2(pipefd, O_CLOEXEC) == 0) {
		relay.pipe_w = pipefd[1];
		o.signal_fd = pipefd[0];
		relaying = pthread_create(&t, NULL, relay_signals, &relay) == 0;
	}
	ret = sm_vm_exec(q->srv->vm, &o, &status, &err);
	r = ret ? json_pack("{s:s}", "error", err.msg)
		: json_pack("{s:i}", "exit", status);
	if (r)
		ctr_write_line(q->fd, r);
	json_decref(r);
	if (relaying) {
		shutdown(q->fd, SHUT_RDWR); /* ends relay_signals */
		pthread_join(t, NULL);
	}
out:
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	free(argv);
	free(env);
}

/* ---- attach's stdin ---- */

static bool ended(struct ctr_server *s)
{
	bool e;

	pthread_mutex_lock(&s->lock);
	e = s->exited || s->closing;
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* All of buf into the stdin pipe (non-blocking: a guest that does not
 * read never holds this thread past the VM's end). */
static int feed(struct ctr_server *s, const char *buf, size_t len)
{
	while (len) {
		struct pollfd p = {.fd = s->stdin_feed, .events = POLLOUT};
		ssize_t n = write(s->stdin_feed, buf, len);

		if (n > 0) {
			buf += n, len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (ended(s))
			return -EPIPE;
		poll(&p, 1, 200);
	}
	return 0;
}

/*
 * docker attach's stdin: the bytes of the client's fd go into the
 * container's stdin (a detached -i run's pipe) until its EOF, the
 * client's hangup or the VM's end. The container's stdin stays open
 * after (docker's, without --stdin-once): another attach may feed it.
 */
static void do_stdin(struct request *q)
{
	struct ctr_server *s = q->srv;
	sigset_t pipe_set;
	char buf[4096];

	if (q->nfds != 1) {
		reply_error(q->fd, "stdin: malformed request");
		return;
	}
	if (s->stdin_feed < 0) {
		reply_error(q->fd, "its stdin is not open (run it with -i)");
		return;
	}
	reply_ok(q->fd);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE); /* EPIPE instead */
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	while (!ended(s)) {
		struct pollfd p[2] = {{.fd = q->fds[0], .events = POLLIN},
				      {.fd = q->fd, .events = POLLIN}};
		ssize_t n;

		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (p[1].revents) /* the client is gone */
			break;
		if (!p[0].revents)
			continue;
		n = read(q->fds[0], buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || feed(s, buf, (size_t)n))
			break;
	}
}

/* ---- requests ---- */

static void *serve_request(void *arg)
{
	struct request *q = arg;
	const char *op = ctr_str(q->msg, "op");

	if (strcmp(op, "stop") == 0)
		do_stop(q);
	else if (strcmp(op, "kill") == 0)
		do_kill(q);
	else if (strcmp(op, "exec") == 0)
		do_exec(q);
	else if (strcmp(op, "snapshot") == 0)
		do_snapshot(q);
	else if (strcmp(op, "stdin") == 0)
		do_stdin(q);
	else
		reply_error(q->fd, "unknown request");
	for (int i = 0; i < q->nfds; i++)
		close(q->fds[i]);
	close(q->fd);
	json_decref(q->msg);
	pthread_mutex_lock(&q->srv->lock);
	q->srv->active--;
	pthread_cond_broadcast(&q->srv->cond);
	pthread_mutex_unlock(&q->srv->lock);
	free(q);
	return NULL;
}

/* Reads the request line and the descriptors that came with it. */
static int read_request(struct request *q)
{
	char *buf = malloc(REQ_MAX);
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = REQ_MAX - 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.b,
			   .msg_controllen = sizeof(u.b)};
	ssize_t n;
	char *nl;

	if (!buf)
		return -ENOMEM;
	n = recvmsg(q->fd, &m, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm;
	     cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		q->nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (q->nfds > 3)
			q->nfds = 3; /* more cannot fit in u.b */
		memcpy(q->fds, CMSG_DATA(cm), (size_t)q->nfds * sizeof(int));
	}
	nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;
	q->msg = nl ? json_loadb(buf, (size_t)(nl - buf), 0, NULL) : NULL;
	free(buf);
	return q->msg ? 0 : -EPROTO;
}

static void accept_one(struct ctr_server *s)
{
	struct request *q = calloc(1, sizeof(*q));
	pthread_attr_t attr;
	pthread_t t;

	if (!q)
		return;
	q->srv = s;
	q->fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (q->fd < 0 || read_request(q)) {
		if (q->fd >= 0)
			close(q->fd);
		for (int i = 0; i < q->nfds; i++)
			close(q->fds[i]);
		free(q);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->active++;
	pthread_mutex_unlock(&s->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve_request, q)) {
		reply_error(q->fd, "out of threads");
		pthread_mutex_lock(&s->lock);
		s->active--;
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < q->nfds; i++)
			close(q->fds[i]);
		close(q->fd);
		json_decref(q->msg);
		free(q);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_loop(void *arg)
{
	struct ctr_server *s = arg;
	struct sm_error err = {0};

	/* requests need no host file: their threads, started here, share
	 * this jail (docs/security.md, "Jail") */
	if (sm_jail_thread(SM_ROLE_CONTROL, &err)) {
		fprintf(stderr, "supermachine: control socket: %s\n", err.msg);
		return NULL;
	}

	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
				      {.fd = s->wake[0], .events = POLLIN}};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents)
			accept_one(s);
	}
	return NULL;
}

int ctr_serve_start(struct ctr *c, struct sm_vm *vm, int stop_timeout,
		    int stdin_feed, struct ctr_server **out,
		    struct sm_error *err)
{
	struct ctr_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	if (!s)
		return -ENOMEM;
	*s = (struct ctr_server){.c = c,
				 .vm = vm,
				 .stop_timeout = stop_timeout,
				 .stdin_feed = stdin_feed,
				 .wake = {-1, -1}};
	if (stdin_feed >= 0)
		fcntl(stdin_feed, F_SETFL, O_NONBLOCK);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	ctr_path(c, "ctl.sock", a.sun_path, sizeof(a.sun_path));
	unlink(a.sun_path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->lfd, 16) || pipe2(s->wake, O_CLOEXEC) ||
	    sm_thread_start(&s->thread, SM_ROLE_CONTROL, accept_loop, s)) {
		int e = errno;

		if (err) {
			err->code = -e;
			snprintf(err->msg, sizeof(err->msg),
				 "control socket %s: %s", a.sun_path,
				 strerror(e));
		}
		if (s->lfd >= 0)
			close(s->lfd);
		for (int i = 0; i < 2; i++)
			if (s->wake[i] >= 0)
				close(s->wake[i]);
		free(s);
		return -e;
	}
	*out = s;
	return 0;
}

void ctr_serve_exited(struct ctr_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->exited = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void ctr_serve_stop(struct ctr_server *s)
{
	char path[PATH_MAX];

	if (!s)
		return;
	ctr_serve_exited(s);
	if (write(s->wake[1], "x", 1) < 0) {
		/* the pipe cannot be full: one byte ever */
	}
	pthread_join(s->thread, NULL);
	ctr_path(s->c, "ctl.sock", path, sizeof(path));
	unlink(path);
	close(s->lfd);
	/* request threads use the VM: let them finish before it goes */
	pthread_mutex_lock(&s->lock);
	while (s->active)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
