/*
 * Guest side of the agent protocol (src/proto/proto.h): connect to the
 * VMM over vsock, receive the process spec, run the process with its
 * stdio relayed as frames, forward signals and window sizes, and report
 * the exit status once the host acknowledged every byte before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "net.h"
#include "mounts.h"
#include "proto/proto.h"
#include "spec.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* <linux/random.h> and <linux/vm_sockets.h> are not in musl's headers. */
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#define RNDRESEEDCRNG _IO('R', 0x07)

struct sockaddr_vm_compat {
	unsigned short svm_family, svm_reserved1;
	unsigned int svm_port, svm_cid;
	unsigned char svm_zero[4];
};

/*
 * Set in an exec agent (a child of the main agent that runs one `exec`
 * process on its own connection): it never reconnects after a restore and
 * never ends the VM's other processes when its own ends.
 */
static int exec_mode;

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one whole frame into a malloc'ed buffer. */
static int recv_frame(int fd, uint16_t *type, uint8_t **data, uint32_t *len)
{
	uint8_t hdr[8];

	if (read_all(fd, hdr, sizeof(hdr)))
		return -1;
	*len = sm_le32(hdr);
	*type = sm_le16(hdr + 4);
	if (*len > SM_FRAME_MAX)
		return -1;
	*data = malloc(*len + 1);
	if (!*data)
		return -1;
	if (read_all(fd, *data, *len)) {
		free(*data);
		return -1;
	}
	(*data)[*len] = '\0';
	return 0;
}

/* SM_S_TIME: the guest has no RTC worth trusting; the host's clock. */
void spec_set_time(uint64_t ns)
{
	struct timeval tv = {
	    .tv_sec = (time_t)(ns / 1000000000ULL),
	    .tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000),
	};

	settimeofday(&tv, NULL);
}

/*
 * SM_S_ENTROPY: fresh host entropy, credited and followed by a reseed, so
 * that clones of one snapshot never share their RNG state.
 */
void spec_add_entropy(const uint8_t *v, uint32_t len)
{
	struct {
		int entropy_count, buf_size;
		uint8_t buf[256];
	} e;
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || len > sizeof(e.buf)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	e.entropy_count = (int)len * 8;
	e.buf_size = (int)len;
	memcpy(e.buf, v, len);
	ioctl(fd, RNDADDENTROPY, &e);
	ioctl(fd, RNDRESEEDCRNG);
	close(fd);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (sm_write_all(fd, text, strlen(text))) {
		/* a read-only /etc: the image keeps its own */
	}
	close(fd);
}

/*
 * Per-VM identity in the overlay (the image is never written; a root
 * without one is not written at all): hostname
 * and hosts as docker makes them, and a machine-id drawn after the host's
 * entropy was mixed in, so clones of one snapshot never share it.
 */
static void write_identity(const char *hostname)
{
	char buf[512];
	unsigned char id[16];

	if (!agent_root_overlay)
		return;
	mkdir("/etc", 0755);
	if (hostname) {
		snprintf(buf, sizeof(buf), "%s\n", hostname);
		write_file("/etc/hostname", buf);
		snprintf(buf, sizeof(buf),
			 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
			 "ip6-loopback\n127.0.1.1\t%s\n",
			 hostname);
		write_file("/etc/hosts", buf);
	}
	if (getentropy(id, sizeof(id)) == 0) {
		for (int i = 0; i < 16; i++)
			snprintf(buf + 2 * i, 3, "%02x", id[i]);
		buf[32] = '\n';
		buf[33] = '\0';
		write_file("/etc/machine-id", buf);
	}
}

/* ---- user resolution, against the image's own /etc/passwd and group ---- */

struct ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char home[256];
};

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int resolve_user(const char *spec, struct ids *id, char *why, size_t wl)
{
	char user[256], *group;
	struct passwd *pw = NULL;

	memset(id, 0, sizeof(*id));
	strcpy(id->home, "/");
	if (!spec || !*spec)
		spec = "0";
	snprintf(user, sizeof(user), "%s", spec);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	if (all_digits(user)) {
		id->uid = (uid_t)strtoul(user, NULL, 10);
		pw = getpwuid(id->uid);
	} else {
		pw = getpwnam(user);
		if (!pw) {
			snprintf(why, wl,
				 "unable to find user %s: no matching entries "
				 "in passwd file",
				 user);
			return -1;
		}
		id->uid = pw->pw_uid;
	}
	if (pw) {
		id->gid = pw->pw_gid;
		snprintf(id->home, sizeof(id->home), "%s", pw->pw_dir);
		id->ngroups = 64;
		if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups,
				 &id->ngroups) < 0)
			id->ngroups = 0;
	}
	if (group && *group) {
		if (all_digits(group)) {
			id->gid = (gid_t)strtoul(group, NULL, 10);
		} else {
			struct group *gr = getgrnam(group);

			if (!gr) {
				snprintf(why, wl,
					 "unable to find group %s: no matching "
					 "entries in group file",
					 group);
				return -1;
			}
			id->gid = gr->gr_gid;
		}
		/* docker: an explicit group replaces the supplementary list */
		id->ngroups = 0;
	}
	if (id->ngroups == 0) {
		id->groups[0] = id->gid;
		id->ngroups = 1;
	}
	return 0;
}

/* ---- the process ---- */

struct child {
	pid_t pid;
	int in_fd;	 /* our end of its stdin, -1 when closed */
	uint8_t *in_buf; /* stdin the process has not taken yet */
	size_t in_len;
	int in_eof;	    /* the host's EOF, passed on once in_buf is empty */
	int out_fd, err_fd; /* our ends of stdout/stderr (pty: out_fd) */
	int err_pipe;	    /* exec failure: child writes errno here */
};

static void mkdir_p(const char *path)
{
	char buf[4096];

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

static int has_env(char **env, const char *key)
{
	size_t kl = strlen(key);

	for (; *env; env++)
		if (strncmp(*env, key, kl) == 0 && (*env)[kl] == '=')
			return 1;
	return 0;
}

/* What failed before the process ran, told through the CLOEXEC pipe
 * with its errno (exec_failure). */
enum start_stage { STAGE_IDS, STAGE_CWD, STAGE_EXEC };

/*
 * A pool's VM (SM_S_IDLE): its process is this fork of the agent, which
 * waits for the signal that stops the VM's process; its work comes by
 * exec. It keeps no descriptor of the agent's (the host connection among
 * them: a close in the agent must end it) but its stdio, and the CLOEXEC
 * error pipe closes as an exec would close it.
 */
static void idle_forever(const char *name, int errfd)
{
	prctl(PR_SET_NAME, name); /* what ps in the guest shows */
	close(errfd);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	for (;;)
		pause();
}

static void exec_child(struct spec *sp, struct ids *id, int errfd)
{
	extern char **environ;
	int why[2] = {STAGE_IDS, 0};

	if (setgroups((size_t)id->ngroups, id->groups) || setgid(id->gid) ||
	    setuid(id->uid))
		goto fail;
	why[0] = STAGE_CWD;
	if (chdir(sp->cwd ? sp->cwd : "/"))
		goto fail;
	why[0] = STAGE_EXEC;
	if (sp->idle)
		idle_forever(sp->argv[0], errfd);
	environ = sp->env;
	execvp(sp->argv[0], sp->argv);
fail:
	why[1] = errno;
	if (write(errfd, why, sizeof(why)) < 0) {
		/* the parent reports a generic failure then */
	}
	_exit(127);
}

static int start_child(struct spec *sp, struct ids *id, struct child *c)
{
	int in[2] = {-1, -1}, out[2], err[2], ep[2], master = -1, slave = -1;

	if (pipe2(ep, O_CLOEXEC))
		return -1;
	if (sp->tty) {
		struct winsize ws = {.ws_row = sp->rows ? sp->rows : 24,
				     .ws_col = sp->cols ? sp->cols : 80};

		if (openpty(&master, &slave, NULL, NULL, &ws))
			return -1;
	} else if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
		   (sp->stdin_open && pipe2(in, O_CLOEXEC))) {
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		setsid();
		if (sp->tty) {
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0);
			dup2(slave, 1);
			dup2(slave, 2);
		} else {
			int nul = open("/dev/null", O_RDONLY);

			dup2(sp->stdin_open ? in[0] : nul, 0);
			dup2(out[1], 1);
			dup2(err[1], 2);
		}
		exec_child(sp, id, ep[1]);
	}
	close(ep[1]);
	c->err_pipe = ep[0];
	if (sp->tty) {
		close(slave);
		c->out_fd = master;
		c->err_fd = -1;
		c->in_fd = sp->stdin_open ? master : -1;
	} else {
		close(out[1]);
		close(err[1]);
		c->out_fd = out[0];
		c->err_fd = err[0];
		if (sp->stdin_open)
			close(in[0]);
		c->in_fd = sp->stdin_open ? in[1] : -1;
	}
	/* never block on the process's stdin: it may be waiting for us to
	 * drain its output (flush_stdin, supervise) */
	if (c->in_fd >= 0)
		fcntl(c->in_fd, F_SETFL, fcntl(c->in_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Exec failed: the child told us errno through the CLOEXEC pipe. */
/*
 * docker's statuses for a process that could not start, as its CLI
 * derives them: "no such file or directory" 127, "permission denied" or
 * "is a directory" 126, anything else about the container 125 (a
 * working directory that is a file: "not a directory"). What the
 * command itself cannot do (exec format error) stays 126, "cannot
 * invoke".
 */
static int failure_status(int stage, int e)
{
	if (e == ENOENT)
		return 127;
	if (e == EACCES || e == EISDIR || stage == STAGE_EXEC)
		return 126;
	return 125;
}

static int exec_failure(int sock, struct child *c, const struct spec *sp)
{
	int why[2] = {0, 0}, e;
	const char *argv0 = sp->argv[0];
	char msg[512];
	ssize_t n = read(c->err_pipe, why, sizeof(why));

	close(c->err_pipe);
	c->err_pipe = -1;
	if (n != sizeof(why))
		return 0; /* exec succeeded */
	e = why[1];
	if (why[0] == STAGE_CWD) /* name the directory, as docker does */
		snprintf(msg, sizeof(msg),
			 "chdir to the working directory \"%s\": %s",
			 sp->cwd ? sp->cwd : "/", strerror(e));
	else if (why[0] == STAGE_IDS)
		snprintf(msg, sizeof(msg), "set the user's ids: %s",
			 strerror(e));
	else if (e == ENOENT && !strchr(argv0, '/'))
		snprintf(msg, sizeof(msg),
			 "exec: \"%s\": executable file not found in $PATH",
			 argv0);
	else /* a path: it is not there, or cannot run */
		snprintf(msg, sizeof(msg), "exec: \"%s\": %s", argv0,
			 e == ENOENT ? "no such file or directory"
				     : strerror(e));
	sm_send_frame(sock, SM_F_ERROR, msg, (uint32_t)strlen(msg));
	return failure_status(why[0], e);
}

static int relay_output(int sock, int *fd, uint16_t type)
{
	static uint8_t buf[SM_DATA_CHUNK];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) { /* EOF (or EIO on a pty whose slave is gone) */
		close(*fd);
		*fd = -1;
		return 0;
	}
	return sm_send_frame(sock, type, buf, (uint32_t)n);
}

/* Stdin queued in the guest before the host's socket stops being read. */
#define STDIN_BACKLOG (8u << 20)

static void stdin_close(struct child *c, int tty)
{
	if (!tty)
		close(c->in_fd);
	c->in_fd = -1;
	free(c->in_buf);
	c->in_buf = NULL;
	c->in_len = 0;
}

/*
 * Writes what the process's stdin takes now (non-blocking); the rest
 * waits for POLLOUT. Blocking here would deadlock against a process that
 * writes its output before reading more (cat with a full stdout pipe).
 */
static void flush_stdin(struct child *c, int tty)
{
	if (c->in_fd >= 0 && tty && c->out_fd < 0)
		c->in_fd = -1; /* the pty master is gone with the output */
	while (c->in_fd >= 0 && c->in_len) {
		ssize_t n = write(c->in_fd, c->in_buf, c->in_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* the process closed its stdin: drop the rest */
			stdin_close(c, tty);
			return;
		}
		memmove(c->in_buf, c->in_buf + n, c->in_len - (size_t)n);
		c->in_len -= (size_t)n;
	}
	if (c->in_fd >= 0 && c->in_eof) {
		if (tty && write(c->in_fd, "\x04", 1) < 0) {
			/* nothing more to do: the pty is gone */
		}
		stdin_close(c, tty);
	}
}

static void queue_stdin(struct child *c, int tty, const uint8_t *data,
			uint32_t len)
{
	uint8_t *b;

	if (c->in_fd < 0 || !len)
		return;
	b = realloc(c->in_buf, c->in_len + len);
	if (!b)
		return; /* out of memory: drop this chunk */
	memcpy(b + c->in_len, data, len);
	c->in_buf = b;
	c->in_len += len;
	flush_stdin(c, tty);
}

static void spawn_exec_agent(uint32_t id);

/*
 * SM_F_IDENTITY, after a resume: this VM is a clone of a snapshot. The
 * clock, then the RNG, then the hostname and a machine-id drawn after the
 * reseed, so that no two clones share any of them.
 */
static void take_identity(const uint8_t *data, uint32_t len)
{
	char hostname[65];
	int have_hostname = 0;
	size_t off = 0;
	uint16_t tag;
	const uint8_t *v;
	uint32_t vl;

	while (sm_spec_next(data, len, &off, &tag, &v, &vl) == 1) {
		if (tag == SM_S_TIME && vl == 8)
			spec_set_time((uint64_t)sm_le32(v) |
				      (uint64_t)sm_le32(v + 4) << 32);
		else if (tag == SM_S_ENTROPY)
			spec_add_entropy(v, vl);
		else if (tag == SM_S_HOSTNAME && vl > 0 &&
			 vl < sizeof(hostname) && !memchr(v, 0, vl) &&
			 !memchr(v, '/', vl)) {
			memcpy(hostname, v, vl);
			hostname[vl] = '\0';
			have_hostname = 1;
		}
	}
	if (have_hostname)
		sethostname(hostname, strlen(hostname));
	write_identity(have_hostname ? hostname : NULL);
}

static void handle_host_frame(struct child *c, int tty, uint16_t type,
			      const uint8_t *data, uint32_t len)
{
	switch (type) {
	case SM_F_EXEC:
		if (len == 4 && !exec_mode)
			spawn_exec_agent(sm_le32(data));
		break;
	case SM_F_IDENTITY:
		if (!exec_mode)
			take_identity(data, len);
		break;
	case SM_F_STDIN:
		queue_stdin(c, tty, data, len);
		break;
	case SM_F_STDIN_EOF:
		c->in_eof = 1;
		flush_stdin(c, tty);
		break;
	case SM_F_SIGNAL:
		if (len == 4 && c->pid > 0)
			kill(c->pid, (int)sm_le32(data));
		break;
	case SM_F_WINSIZE:
		if (len == 4 && tty) {
			struct winsize ws = {.ws_row = sm_le16(data),
					     .ws_col = sm_le16(data + 2)};
			ioctl(c->out_fd, TIOCSWINSZ, &ws);
		}
		break;
	default:
		break;
	}
}

static int wait_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int connect_host(void);

/*
 * The connection broke while the process runs: this VM was restored from
 * a snapshot (its vsock transport was reset). Connect to the new host and
 * say we are resuming, so it relays instead of sending a spec.
 */
static int reconnect(int *sock)
{
	int fd;

	close(*sock);
	*sock = -1;
	if (exec_mode)
		return -1; /* an exec session ends with its connection */
	fd = connect_host();
	if (fd < 0 || sm_send_frame(fd, SM_F_RESUME, NULL, 0)) {
		if (fd >= 0)
			close(fd);
		*sock = -1;
		return -1;
	}
	*sock = fd;
	return 0;
}

/* Relays until the process exited and its output is drained. */
static int supervise(int *sockp, struct child *c, int tty)
{
	sigset_t mask;
	int sfd, status = -1, sock = *sockp;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	while (status < 0 || c->out_fd >= 0 || c->err_fd >= 0) {
		struct pollfd p[5] = {
		    {.fd = c->in_len < STDIN_BACKLOG ? sock : -1,
		     .events = POLLIN},
		    {.fd = c->out_fd, .events = POLLIN},
		    {.fd = c->err_fd, .events = POLLIN},
		    {.fd = status < 0 ? sfd : -1, .events = POLLIN},
		    {.fd = c->in_len ? c->in_fd : -1, .events = POLLOUT},
		};

		if (poll(p, 5, -1) < 0 && errno != EINTR)
			break;
		if (p[4].revents)
			flush_stdin(c, tty);
		if ((p[1].revents &&
		     relay_output(sock, &c->out_fd, SM_F_STDOUT)) ||
		    (p[2].revents &&
		     relay_output(sock, &c->err_fd, SM_F_STDERR))) {
			if (reconnect(&sock))
				break;
			continue;
		}
		if (p[3].revents) {
			struct signalfd_siginfo si;
			int st;
			pid_t pid;

			if (read(sfd, &si, sizeof(si)) < 0) {
				/* nothing: we reap below anyway */
			}
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				if (pid == c->pid) {
					status = wait_status(st);
					/* like a container: when its main
					 * process ends, everything it left
					 * behind ends (an exec'd process leaves
					 * its own be) */
					if (!exec_mode)
						kill(-1, SIGKILL);
				}
			}
		}
		if (p[0].revents & POLLIN) {
			uint16_t type;
			uint8_t *data;
			uint32_t len;

			if (recv_frame(sock, &type, &data, &len)) {
				if (reconnect(&sock))
					break;
				continue;
			}
			handle_host_frame(c, tty, type, data, len);
			free(data);
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			if (reconnect(&sock))
				break;
		}
	}
	*sockp = sock;
	if (status < 0) {
		int st;

		kill(c->pid, SIGKILL);
		status =
		    waitpid(c->pid, &st, 0) == c->pid ? wait_status(st) : 125;
	}
	close(sfd);
	return status;
}

static int connect_host(void)
{
	struct sockaddr_vm_compat a = {
	    .svm_family = AF_VSOCK, .svm_port = SM_AGENT_PORT, .svm_cid = 2};

	for (int tries = 0; tries < 50; tries++) {
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(20000);
	}
	return -1;
}

/*
 * Connects, says hello and waits for the spec. A VM restored from a
 * snapshot taken while we waited here sees its vsock transport reset:
 * the wait fails and we simply connect again, to the new host.
 */
static int await_spec(struct spec *sp)
{
	uint8_t ver[4], *data;
	uint16_t type;
	uint32_t len;

	sm_put_le32(ver, SM_PROTO_VERSION);
	for (int attempt = 0; attempt < 1000; attempt++) {
		int sock = connect_host();

		if (sock < 0)
			return -1;
		if (sm_send_frame(sock, SM_F_HELLO, ver, 4) ||
		    recv_frame(sock, &type, &data, &len)) {
			close(sock);
			continue;
		}
		if (type != SM_F_SPEC || parse_spec(data, len, sp)) {
			free(data);
			sm_send_frame(sock, SM_F_ERROR, "bad process spec", 16);
			close(sock);
			return -1;
		}
		free(data);
		return sock;
	}
	return -1;
}

/*
 * Runs the spec's process on sock until it exits, then reports the status
 * and waits for the host's acknowledgement (so no output is lost).
 */
static int run_process(int sock, struct spec *sp)
{
	uint8_t *data, st[4];
	struct child c = {.in_fd = -1, .out_fd = -1, .err_fd = -1};
	struct ids id;
	char why[512];
	uint16_t type;
	uint32_t len;
	int status;

	if (!exec_mode && mounts_apply(why, sizeof(why))) {
		/* the volumes of the VM's process; an exec finds them mounted
		 */
		sm_send_frame(sock, SM_F_ERROR, why, (uint32_t)strlen(why));
		status = 125;
		goto out;
	}
	if (resolve_user(sp->user, &id, why, sizeof(why))) {
		sm_send_frame(sock, SM_F_ERROR, why, (uint32_t)strlen(why));
		status = 126;
		goto out;
	}
	if (!has_env(sp->env, "HOME") && sp->envc < SM_SPEC_MAX_ARGS) {
		static char home[300];

		snprintf(home, sizeof(home), "HOME=%s", id.home);
		sp->env[sp->envc++] = home;
	}
	mkdir_p(sp->cwd ? sp->cwd : "/"); /* docker creates a missing workdir */
	if (start_child(sp, &id, &c)) {
		snprintf(why, sizeof(why), "cannot start the process: %s",
			 strerror(errno));
		sm_send_frame(sock, SM_F_ERROR, why, (uint32_t)strlen(why));
		status = 125;
		goto out;
	}
	status = exec_failure(sock, &c, sp);
	if (status) {
		int ws;

		waitpid(c.pid, &ws, 0);
		goto out;
	}
	sm_send_frame(sock, SM_F_STARTED, NULL, 0);
	status = supervise(&sock, &c, sp->tty);
out:
	sm_put_le32(st, (uint32_t)status);
	sm_send_frame(sock, SM_F_EXIT, st, 4);
	/* Wait for the host to take everything before the VM ends. */
	while (recv_frame(sock, &type, &data, &len) == 0) {
		free(data);
		if (type == SM_F_EXIT_ACK)
			break;
	}
	return status;
}

/*
 * An exec request (SM_F_EXEC, id): a child of this agent opens its own
 * connection, names the request, receives the exec's spec and runs that
 * process like the main one. The main agent goes on relaying meanwhile.
 */
static void exec_agent(uint32_t id)
{
	uint8_t hello[8], *data;
	struct spec sp;
	uint16_t type;
	uint32_t len;
	int sock = connect_host();

	if (sock < 0)
		_exit(125);
	sm_put_le32(hello, SM_PROTO_VERSION);
	sm_put_le32(hello + 4, id);
	if (sm_send_frame(sock, SM_F_EXEC_HELLO, hello, sizeof(hello)) ||
	    recv_frame(sock, &type, &data, &len))
		_exit(125);
	if (type != SM_F_SPEC || parse_spec(data, len, &sp)) {
		sm_send_frame(sock, SM_F_ERROR, "bad exec spec", 13);
		_exit(125);
	}
	free(data);
	_exit(run_process(sock, &sp) & 0xff);
}

static void spawn_exec_agent(uint32_t id)
{
	pid_t pid = fork();
	sigset_t all;

	if (pid != 0)
		return; /* the main supervise loop reaps it */
	exec_mode = 1;
	/* Only our own connection: a copy of the main process's stdin pipe
	 * kept open here would hide its EOF. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	exec_agent(id);
}

int agent_run(void)
{
	struct spec sp;
	int sock = await_spec(&sp);

	if (sock < 0) {
		fprintf(stderr,
			"init: no process spec from the VMM over vsock: %s\n",
			strerror(errno));
		return 125;
	}
	if (sp.hostname)
		sethostname(sp.hostname, strlen(sp.hostname));
	write_identity(sp.hostname);
	net_configure();
	return run_process(sock, &sp);
}
