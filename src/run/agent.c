/*
 * Host side of the agent protocol: one connection from the guest init,
 * framed messages both ways. Everything the guest sends is bounded:
 * frame sizes, types, payload lengths.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "proto/proto.h"
#include "run/volumes.h"
#include "run/agent.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/guest_text.h"

int agent_init(struct agent *a, struct sm_error *err)
{
	a->fd = -1;
	a->nextra = 0;
	pthread_mutex_init(&a->lock, NULL);
	a->conn_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->extra_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->conn_efd < 0 || a->extra_efd < 0)
		return sm_err_errno(err, "agent: eventfd");
	return 0;
}

void agent_destroy(struct agent *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->conn_efd >= 0)
		close(a->conn_efd);
	if (a->extra_efd >= 0)
		close(a->extra_efd);
	for (unsigned i = 0; i < a->nextra; i++)
		close(a->extra[i]);
	a->nextra = 0;
	pthread_mutex_destroy(&a->lock);
}

int agent_accept(void *opaque, uint32_t port, int fd)
{
	struct agent *a = opaque;
	uint64_t one = 1;
	int ret = -1;

	int efd = a->conn_efd;

	pthread_mutex_lock(&a->lock);
	if (port == SM_AGENT_PORT && a->fd < 0) {
		a->fd = fd;
		ret = 0;
	} else if (port == SM_AGENT_PORT &&
		   a->nextra < AGENT_MAX_PENDING_EXEC) {
		/* an exec agent: sm_vm_exec() claims it (bounded queue) */
		a->extra[a->nextra++] = fd;
		efd = a->extra_efd;
		ret = 0;
	}
	pthread_mutex_unlock(&a->lock);
	if (ret) {
		close(fd); /* too many, or another port */
		return ret;
	}
	if (write(efd, &one, sizeof(one)) < 0)
		return 0; /* counter saturated: already signalled */
	return 0;
}

static int poll_timeout(uint64_t deadline)
{
	uint64_t now = sm_now_ns();

	if (!deadline)
		return -1;
	if (now >= deadline)
		return 0;
	return (int)((deadline - now) / 1000000ULL) + 1;
}

static int send_frame(int fd, uint16_t type, const void *data, uint32_t len)
{
	return sm_send_frame(fd, type, data, len) ? -EPIPE : 0;
}

/* ---- the spec ---- */

static void put_record(uint8_t **p, uint16_t tag, const void *v, uint32_t len)
{
	sm_put_le16(*p, tag);
	sm_put_le32(*p + 2, len);
	memcpy(*p + 6, v, len);
	*p += 6 + len;
}

static size_t strv_bytes(char *const *v)
{
	size_t n = 0;

	for (; v && *v; v++)
		n += 6 + strlen(*v);
	return n;
}

/* What differs between clones of one snapshot: the host's wall clock and
 * fresh entropy (FRESH_STATE_BYTES at most). */
#define FRESH_STATE_BYTES (6 + 8 + 6 + 64)
static void put_fresh_state(uint8_t **p)
{
	uint8_t t[8], entropy[64];
	struct timespec now;
	uint64_t ns;

	clock_gettime(CLOCK_REALTIME, &now);
	ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	sm_put_le32(t, (uint32_t)ns);
	sm_put_le32(t + 4, (uint32_t)(ns >> 32));
	put_record(p, SM_S_TIME, t, 8);
	if (getentropy(entropy, sizeof(entropy)) == 0)
		put_record(p, SM_S_ENTROPY, entropy, sizeof(entropy));
}

static int send_spec(int fd, const struct run_spec *s, struct sm_error *err)
{
	size_t size = strv_bytes(s->argv) + strv_bytes(s->env) + 6 * 9 + 128 +
		      strlen(s->cwd ? s->cwd : "/") +
		      strlen(s->user ? s->user : "") +
		      strlen(s->hostname ? s->hostname : "") +
		      /* the 128 hold SM_NET_SPEC's record; a tap's text more */
		      (s->net_text ? 6 + strlen(s->net_text) : 0) +
		      vol_spec_records(s->volumes, NULL);
	uint8_t *buf, *p, tty[4];
	int ret;

	if (size > SM_FRAME_MAX)
		return sm_err(err, -E2BIG,
			      "process spec too large (%zu bytes, limit %d)",
			      size, SM_FRAME_MAX);
	buf = p = malloc(size);
	if (!buf)
		return sm_err(err, -ENOMEM, "out of memory");
	for (char *const *a = s->argv; *a; a++)
		put_record(&p, SM_S_ARG, *a, (uint32_t)strlen(*a));
	for (char *const *e = s->env; e && *e; e++)
		put_record(&p, SM_S_ENV, *e, (uint32_t)strlen(*e));
	put_record(&p, SM_S_CWD, s->cwd ? s->cwd : "/",
		   (uint32_t)strlen(s->cwd ? s->cwd : "/"));
	if (s->user && *s->user)
		put_record(&p, SM_S_USER, s->user, (uint32_t)strlen(s->user));
	if (s->hostname)
		put_record(&p, SM_S_HOSTNAME, s->hostname,
			   (uint32_t)strlen(s->hostname));
	if (s->tty) {
		sm_put_le16(tty, s->rows);
		sm_put_le16(tty + 2, s->cols);
		put_record(&p, SM_S_TTY, tty, 4);
	}
	if (s->stdin_open)
		put_record(&p, SM_S_STDIN, "", 0);
	if (s->idle)
		put_record(&p, SM_S_IDLE, "", 0);
	if (s->network) {
		const char *net = s->net_text ? s->net_text : SM_NET_SPEC;

		put_record(&p, SM_S_NET, net, (uint32_t)strlen(net));
	}
	put_fresh_state(&p);
	p += vol_spec_records(s->volumes, p);
	ret = send_frame(fd, SM_F_SPEC, buf, (uint32_t)(p - buf));
	free(buf);
	return ret ? sm_err(err, ret, "agent: sending the process spec failed")
		   : 0;
}

/* ---- receiving ---- */

struct rxbuf {
	uint8_t *data;
	size_t len, cap;
};

/* Returns 1 with a whole frame at the start of rx, 0 if incomplete, <0 bad. */
static int frame_ready(const struct rxbuf *rx, uint16_t *type, uint32_t *len)
{
	if (rx->len < sizeof(struct sm_frame_hdr))
		return 0;
	*len = sm_le32(rx->data);
	*type = sm_le16(rx->data + 4);
	if (*len > SM_FRAME_MAX)
		return -EPROTO;
	return rx->len - sizeof(struct sm_frame_hdr) >= *len;
}

static int rx_fill(int fd, struct rxbuf *rx)
{
	ssize_t n;

	if (rx->cap - rx->len < 65536) {
		size_t cap = rx->cap ? rx->cap * 2 : 131072;
		uint8_t *d;

		if (cap > SM_FRAME_MAX * 2 + 131072)
			return -EPROTO;
		d = realloc(rx->data, cap);
		if (!d)
			return -ENOMEM;
		rx->data = d;
		rx->cap = cap;
	}
	n = read(fd, rx->data + rx->len, rx->cap - rx->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -EPIPE;
	rx->len += (size_t)n;
	return 0;
}

static void rx_consume(struct rxbuf *rx, size_t n)
{
	memmove(rx->data, rx->data + n, rx->len - n);
	rx->len -= n;
}

struct session {
	int fd;
	const struct agent_io *io;
	struct rxbuf rx;
	bool stdin_done, hello, resumed;
	uint32_t version; /* the init's protocol (its hello) */
	int status;
	bool exited;
	uint8_t *tx; /* frames not yet taken by the socket, in order */
	size_t tx_len;
};

/*
 * Frames to the guest go through s->tx and never block the session: a
 * blocked write while the guest is itself blocked sending output (a
 * process echoing its stdin) would deadlock both directions.
 */
static int tx_flush(struct session *s)
{
	while (s->tx_len) {
		ssize_t n =
		    send(s->fd, s->tx, s->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -EPIPE;
		memmove(s->tx, s->tx + n, s->tx_len - (size_t)n);
		s->tx_len -= (size_t)n;
	}
	return 0;
}

static void queue_frame(struct session *s, uint16_t type, const void *data,
			uint32_t len)
{
	uint8_t *t = realloc(s->tx, s->tx_len + 8 + len);

	if (!t)
		return; /* out of memory: the frame is lost */
	sm_put_le32(t + s->tx_len, len);
	sm_put_le16(t + s->tx_len + 4, type);
	sm_put_le16(t + s->tx_len + 6, 0);
	if (len)
		memcpy(t + s->tx_len + 8, data, len);
	s->tx = t;
	s->tx_len += 8 + len;
	tx_flush(s);
}

/* A resumed guest is a clone: its own clock, RNG, hostname, machine-id. */
static void queue_identity(struct session *s, const char *hostname)
{
	uint8_t buf[FRESH_STATE_BYTES + 6 + 64], *p = buf;
	size_t hl = hostname ? strlen(hostname) : 0;

	put_fresh_state(&p);
	if (hl && hl <= 64) /* checked when chosen (run/hostname.h) */
		put_record(&p, SM_S_HOSTNAME, hostname, (uint32_t)hl);
	queue_frame(s, SM_F_IDENTITY, buf, (uint32_t)(p - buf));
}

/* After the exit: the guest waits for our EXIT_ACK, so hand it over. */
static void tx_drain(struct session *s)
{
	for (int i = 0; s->tx_len && i < 100; i++) {
		struct pollfd p = {.fd = s->fd, .events = POLLOUT};

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		if (tx_flush(s))
			break;
	}
}

/*
 * Why the process could not start, in the guest's words: the user must
 * see it, but as the guest's (quoted, escaped, on one line of our own),
 * never as a line the guest wrote (docs/security.md, "Guest text").
 */
/* The session's outputs to other threads (agent_io's "out" fields): the
 * io the session was given is its caller's, writable there. */
static struct agent_io *mutable_io(struct session *s)
{
	return (struct agent_io *)s->io;
}

/* Once: the process runs (1) or could not start (-1, with its status). */
static void set_started(struct session *s, int state, int status)
{
	struct agent_io *io = mutable_io(s);

	if (__atomic_load_n(&io->started, __ATOMIC_ACQUIRE))
		return;
	io->start_status = status;
	__atomic_store_n(&io->started, state, __ATOMIC_RELEASE);
	if (io->on_started)
		io->on_started(io->on_started_opaque);
}

/* The host directory behind a volume tag ("smvol3"), or NULL. */
static const char *tag_dir(const struct agent_io *io, const char *tag,
			   size_t len)
{
	unsigned n = io->nshares ? *io->nshares : 0;

	for (unsigned i = 0; io->shares && i < n; i++) {
		const char *t = io->shares[i].tag;

		if (t && strlen(t) == len && !strncmp(t, tag, len) &&
		    strncmp(t, "rootfs", 6))
			return io->shares[i].dir;
	}
	return NULL;
}

/* text with each volume tag replaced by its host directory into out. */
static void name_volumes(const struct agent_io *io, const char *text, char *out,
			 size_t size)
{
	size_t o = 0;

	while (*text && o + 1 < size) {
		size_t len = 0;
		const char *dir = NULL;

		if (!strncmp(text, "smvol", 5)) {
			len = 5 + strspn(text + 5, "0123456789");
			dir = len > 5 ? tag_dir(io, text, len) : NULL;
		}
		if (dir) {
			o += (size_t)snprintf(out + o, size - o, "%s", dir);
			text += len;
		} else {
			out[o++] = *text++;
		}
		o = o < size ? o : size - 1;
	}
	out[o] = '\0';
}

/* The process's output (stream 1 or 2): to its fd, and to the sink. */
static void output(struct session *s, int stream, const void *data, size_t len)
{
	sm_write_all(stream == 1 ? s->io->out_fd : s->io->err_fd, data, len);
	if (s->io->sink)
		s->io->sink(s->io->sink_opaque, stream, data, len);
}

static void report_guest_error(struct session *s, const uint8_t *data,
			       uint32_t len)
{
	char quoted[1024], named[2048], line[sizeof(named) + 32];
	int n;

	sm_escape_guest_text(quoted, sizeof(quoted), data, len);
	name_volumes(s->io, quoted, named, sizeof(named));
	if (!__atomic_load_n(&s->io->started, __ATOMIC_ACQUIRE)) {
		char *keep = mutable_io(s)->start_error;
		size_t k = strnlen(named, sizeof(s->io->start_error) - 1);

		memcpy(keep, named, k);
		keep[k] = '\0';
	}
	n = snprintf(line, sizeof(line), "supermachine: guest: %s\n", named);
	if (n > 0)
		output(s, 2, line,
		       (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The process's exit status: docker's range, or the guest is broken. */
static int take_exit(struct session *s, const uint8_t *data, uint32_t len,
		     struct sm_error *err)
{
	int32_t status;

	if (len != 4)
		return sm_err(
		    err, -EPROTO,
		    "agent: malformed exit frame (%u bytes, expected 4)", len);
	status = (int32_t)sm_le32(data);
	if (status < 0 || status > 255)
		return sm_err(
		    err, -EPROTO,
		    "agent: the guest reported exit status %d, outside 0..255",
		    status);
	s->status = status;
	s->exited = true;
	queue_frame(s, SM_F_EXIT_ACK, NULL, 0);
	return 0;
}

/*
 * Frames come in protocol order: hello (or resume) first; an error or an
 * exit status only for a process that was started, so a guest cannot
 * report a status for a process it was never given.
 */
static int check_order(const struct session *s, uint16_t type,
		       struct sm_error *err)
{
	bool hello_frame = type == SM_F_HELLO || type == SM_F_RESUME;
	bool end_frame =
	    type == SM_F_EXIT || type == SM_F_ERROR || type == SM_F_STARTED;

	if (!s->hello && !hello_frame)
		return sm_err(err, -EPROTO,
			      "agent: frame type %u before the guest's hello",
			      type);
	if (end_frame && !s->io->spec_sent && !s->resumed)
		return sm_err(err, -EPROTO,
			      "agent: frame type %u before the process spec",
			      type);
	return 0;
}

static int handle_frame(struct session *s, uint16_t type, const uint8_t *data,
			uint32_t len, struct sm_error *err)
{
	int ret = check_order(s, type, err);

	if (ret)
		return ret;
	switch (type) {
	case SM_F_HELLO:
		if (len < 4 || sm_le32(data) < SM_PROTO_VERSION_MIN ||
		    sm_le32(data) > SM_PROTO_VERSION)
			return sm_err(
			    err, -EPROTO,
			    "guest init speaks protocol %u, we speak %d..%d",
			    len >= 4 ? sm_le32(data) : 0, SM_PROTO_VERSION_MIN,
			    SM_PROTO_VERSION);
		s->hello = true;
		s->version = sm_le32(data);
		return 0;
	case SM_F_RESUME:
		s->hello = s->resumed = true;
		return 0;
	case SM_F_STARTED:
		if (len)
			return sm_err(err, -EPROTO,
				      "agent: malformed started frame (%u "
				      "bytes, expected 0)",
				      len);
		set_started(s, 1, 0);
		return 0;
	case SM_F_STDOUT:
	case SM_F_STDERR:
		output(s, type == SM_F_STDOUT ? 1 : 2, data, len);
		return 0;
	case SM_F_ERROR:
		report_guest_error(s, data, len);
		return 0;
	case SM_F_EXIT:
		ret = take_exit(s, data, len, err);
		if (!ret) /* no-op once started: it ran, then ended */
			set_started(s, -1, s->status);
		return ret;
	default:
		return sm_err(err, -EPROTO, "agent: unexpected frame type %u",
			      type);
	}
}

static int pump_guest(struct session *s, struct sm_error *err)
{
	uint16_t type;
	uint32_t len;
	int r = rx_fill(s->fd, &s->rx);

	if (r == -EPIPE)
		return sm_err(err, -EPIPE,
			      "the guest closed the agent connection before "
			      "the process exited");
	if (r)
		return sm_err(err, r, "agent: reading from the guest failed");
	while ((r = frame_ready(&s->rx, &type, &len)) == 1) {
		r = handle_frame(s, type, s->rx.data + 8, len, err);
		rx_consume(&s->rx, 8 + (size_t)len);
		if (r || s->exited)
			return r;
	}
	return r < 0 ? sm_err(err, r, "agent: oversized frame from the guest")
		     : 0;
}

static void pump_stdin(struct session *s)
{
	uint8_t buf[SM_DATA_CHUNK];
	ssize_t n = read(s->io->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		queue_frame(s, SM_F_STDIN_EOF, NULL, 0);
		s->stdin_done = true;
		return;
	}
	queue_frame(s, SM_F_STDIN, buf, (uint32_t)n);
}

static void pump_signal(struct session *s, int fd)
{
	int sig;
	uint8_t v[4];

	if (read(fd, &sig, sizeof(sig)) != sizeof(sig))
		return;
	sig &= ~SM_SIGNAL_FROM_TERMINAL; /* who sent it: the guest's alike */
	if (sig == SIGWINCH) {
		struct winsize ws;

		if (ioctl(s->io->in_fd, TIOCGWINSZ, &ws) == 0) {
			sm_put_le16(v, ws.ws_row);
			sm_put_le16(v + 2, ws.ws_col);
			queue_frame(s, SM_F_WINSIZE, v, 4);
		}
		return;
	}
	sm_put_le32(v, (uint32_t)sig);
	queue_frame(s, SM_F_SIGNAL, v, 4);
}

/* Waits for the guest's connection (or the VM's end). */
static int wait_connection(struct agent *a, const struct agent_io *io,
			   struct sm_error *err)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = a->conn_efd, .events = POLLIN},
				      {.fd = io->stop_fd, .events = POLLIN}};
		int fd, n = poll(p, 2, poll_timeout(io->deadline_ns));

		if (n == 0)
			return sm_err(err, -ETIMEDOUT,
				      "timed out waiting for the guest");
		pthread_mutex_lock(&a->lock);
		fd = a->fd;
		pthread_mutex_unlock(&a->lock);
		if (fd >= 0) {
			/* blocking writes: frames go out whole */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			return fd;
		}
		if (p[1].revents)
			return sm_err(
			    err, -ECHILD,
			    "the VM stopped before its init connected");
	}
}

/* Waits for the guest's hello frame. */
static int wait_hello(struct session *s, struct sm_error *err)
{
	int ret = 0;

	while (!ret && !s->hello) {
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
				      {.fd = s->io->stop_fd, .events = POLLIN}};
		int n = poll(p, 2, poll_timeout(s->io->deadline_ns));

		if (n == 0)
			return sm_err(err, -ETIMEDOUT,
				      "timed out waiting for the guest");
		if (n < 0)
			continue;
		if (p[0].revents)
			ret = pump_guest(s, err);
		else if (p[1].revents)
			ret =
			    sm_err(err, -ECHILD,
				   "the VM stopped before its init was ready");
	}
	return ret;
}

/* Queues an SM_F_EXEC for each exec id sm_vm_exec() wrote. */
static void pump_exec(struct session *s)
{
	uint32_t id;
	uint8_t v[4];

	if (read(s->io->exec_fd, &id, sizeof(id)) != sizeof(id))
		return;
	sm_put_le32(v, id);
	queue_frame(s, SM_F_EXEC, v, 4);
}

/* Sends the spec (unless resuming) and relays until the process exits. */
/* spec_sent for other threads (sm_vm_exec waits on it) */
static void set_spec_sent(struct agent_io *io, bool sent)
{
	__atomic_store_n(&io->spec_sent, sent, __ATOMIC_RELEASE);
	if (sent && io->on_spec_sent)
		io->on_spec_sent(io->on_spec_sent_opaque);
}

static int run_session(struct session *s, const struct run_spec *spec,
		       struct agent_io *io, int *status, struct sm_error *err)
{
	int ret = 0;

	if (!s->hello)
		ret = wait_hello(s, err);
	__atomic_store_n(&io->hello_ns, sm_now_ns(), __ATOMIC_RELEASE);
	if (!ret && s->resumed) {
		/* a restored VM whose process runs already: a new identity,
		 * then relay */
		queue_identity(s, io->resume_hostname);
		if (io->before_spec)
			ret = io->before_spec(io->before_spec_opaque, err);
		set_spec_sent(io, true);
		set_started(s, 1, 0);
	} else {
		if (!ret && !spec)
			ret = sm_err(err, -EINVAL,
				     "the snapshot was taken before its "
				     "process started");
		if (!ret && io->on_hello)
			io->on_hello(io->on_hello_opaque);
		if (!ret)
			ret = send_spec(s->fd, spec, err);
		set_spec_sent(io, !ret);
		if (!ret &&
		    s->version < 2) /* it says nothing more: as it was */
			set_started(s, 1, 0);
		/* the guest's process starts now, but nothing from the guest is
		 * read until the hook returned */
		if (!ret && io->before_spec)
			ret = io->before_spec(io->before_spec_opaque, err);
	}
	while (!ret && !s->exited) {
		struct pollfd p[6] = {
		    {.fd = s->fd, .events = POLLIN | (s->tx_len ? POLLOUT : 0)},
		    /* more stdin only once the last chunk is out */
		    {.fd = s->stdin_done || s->tx_len ? -1 : io->in_fd,
		     .events = POLLIN},
		    {.fd = io->sig_fd, .events = POLLIN},
		    {.fd = io->stop_fd, .events = POLLIN},
		    {.fd = io->exec_fd, .events = POLLIN},
		    {.fd = io->caller_sig_fd, .events = POLLIN},
		};
		int n = poll(p, 6, poll_timeout(io->deadline_ns));

		if (n == 0) {
			ret = sm_err(err, -ETIMEDOUT,
				     "the process did not finish in time");
			break;
		}
		if (n < 0)
			continue;
		if ((p[0].revents & POLLOUT) && tx_flush(s))
			ret = sm_err(err, -EPIPE,
				     "agent: the guest connection broke");
		else if (p[0].revents & ~POLLOUT)
			ret = pump_guest(s, err);
		else if (p[3].revents)
			ret =
			    sm_err(err, -ECHILD,
				   "the VM stopped before the process exited");
		if (!ret && p[1].revents)
			pump_stdin(s);
		if (!ret && p[2].revents)
			pump_signal(s, io->sig_fd);
		if (!ret && p[5].revents)
			pump_signal(s, io->caller_sig_fd);
		if (!ret && p[4].revents)
			pump_exec(s);
	}
	if (!ret)
		tx_drain(s);
	free(s->tx);
	free(s->rx.data);
	if (!ret)
		*status = s->status;
	return ret;
}

int agent_session(struct agent *a, const struct run_spec *spec,
		  struct agent_io *io, int *status, struct sm_error *err)
{
	struct session s = {.io = io, .stdin_done = !io->interactive};
	int ret = wait_connection(a, io, err);

	set_spec_sent(io, false);
	io->start_error[0] = '\0';
	__atomic_store_n(&io->started, 0, __ATOMIC_RELEASE);
	if (ret < 0)
		return ret;
	s.fd = ret;
	__atomic_store_n(&io->connected_ns, sm_now_ns(), __ATOMIC_RELEASE);
	return run_session(&s, spec, io, status, err);
}

int agent_exec_session(int fd, const struct run_spec *spec, struct agent_io *io,
		       int *status, struct sm_error *err)
{
	struct session s = {.fd = fd,
			    .io = io,
			    .hello = true,
			    .stdin_done = !io->interactive,
			    .version = io->exec_version};

	set_spec_sent(io, false);
	__atomic_store_n(&io->connected_ns, sm_now_ns(), __ATOMIC_RELEASE);
	return run_session(&s, spec, io, status, err);
}

/* Reads exactly len bytes from a blocking-mode fd, within timeout_ms. */
static int read_exact(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, poll_timeout(deadline)) == 0)
			return -ETIMEDOUT;
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The exec id an exec agent's first frame names (its protocol in
 * *version), or -errno. */
static int64_t read_exec_hello(int fd, uint64_t deadline, uint32_t *version)
{
	uint8_t f[8 + 8];
	int r = read_exact(fd, f, sizeof(f), deadline);

	if (r)
		return r;
	if (sm_le32(f) != 8 || sm_le16(f + 4) != SM_F_EXEC_HELLO ||
	    sm_le32(f + 8) < SM_PROTO_VERSION_MIN ||
	    sm_le32(f + 8) > SM_PROTO_VERSION)
		return -EPROTO;
	*version = sm_le32(f + 8);
	return sm_le32(f + 12);
}

static int take_extra(struct agent *a)
{
	int fd = -1;

	pthread_mutex_lock(&a->lock);
	if (a->nextra) {
		fd = a->extra[0];
		memmove(a->extra, a->extra + 1, --a->nextra * sizeof(int));
	}
	pthread_mutex_unlock(&a->lock);
	return fd;
}

int agent_exec_connection(struct agent *a, uint32_t id, int stop_fd,
			  unsigned timeout_ms, uint32_t *version,
			  struct sm_error *err)
{
	uint64_t deadline = sm_now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	for (;;) {
		struct pollfd p[2] = {{.fd = a->extra_efd, .events = POLLIN},
				      {.fd = stop_fd, .events = POLLIN}};
		int fd = take_extra(a);
		uint64_t drain;

		if (fd >= 0) {
			int64_t got;

			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			got = read_exec_hello(fd, deadline, version);
			if (got == (int64_t)id)
				return fd;
			close(fd); /* a stale or broken exec connection */
			continue;
		}
		if (poll(p, 2, poll_timeout(deadline)) == 0)
			return sm_err(
			    err, -ETIMEDOUT,
			    "exec: the guest did not open the exec connection");
		if (p[1].revents)
			return sm_err(err, -ECHILD, "exec: the VM stopped");
		if (read(a->extra_efd, &drain, sizeof(drain)) < 0) {
			/* spurious wake-up: look again */
		}
	}
}
