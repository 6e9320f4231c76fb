/*
 * supermachine guest init (PID 1). Static, so the initramfs needs nothing
 * else. It mounts the basics, tells the VMM it started, runs the command
 * the VMM put on the kernel command line (sm.cmd=HEX of NUL-separated
 * argv), reaps every zombie, and reports the command's exit status on the
 * VMM's exit port.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

#define SM_PORT_EXIT 0xf4
#define SM_PORT_MARKER 0xf5
#define MARKER_INIT_STARTED 1
#define MAX_ARGS 256
#define CMDLINE_MAX 65536

static int have_ports;

static void mark(unsigned char m)
{
	if (have_ports)
		outb(m, SM_PORT_MARKER);
}

static void report_exit(int status)
{
	/* Console output must be out before the VM ends. */
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	sync();
	if (have_ports)
		outl((unsigned)status, SM_PORT_EXIT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void setup_console(void)
{
	int fd;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
}

static void mount_basics(void)
{
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/tmp", 01777);
	mkdir("/run", 0755);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
}

static char cmdline[CMDLINE_MAX];

static void read_cmdline(void)
{
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;

	if (fd >= 0)
		close(fd);
	cmdline[n > 0 ? n : 0] = '\0';
}

/* Value of a "key=value" kernel argument, copied into buf; NULL if absent. */
static const char *cmdline_arg(const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = cmdline; (p = strstr(p, key)); p += klen) {
		size_t n = 0;

		if ((p != cmdline && p[-1] != ' ') || p[klen] != '=')
			continue;
		p += klen + 1;
		while (p[n] && p[n] != ' ' && p[n] != '\n' && n < size - 1)
			n++;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

static void mount_api_filesystems(const char *root)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0555);
	mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(path, sizeof(path), "%s/sys", root);
	mkdir(path, 0555);
	mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(path, sizeof(path), "%s/dev", root);
	mkdir(path, 0755);
	mount("devtmpfs", path, "devtmpfs", MS_NOSUID, "mode=0755");
	/* the agent's -t opens /dev/ptmx: it needs a devpts instance */
	snprintf(path, sizeof(path), "%s/dev/pts", root);
	mkdir(path, 0755);
	mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
	      "newinstance,ptmxmode=0666,mode=0620,gid=5");
	snprintf(path, sizeof(path), "%s/dev/ptmx", root);
	unlink(path);
	symlink("pts/ptmx", path);
	snprintf(path, sizeof(path), "%s/tmp", root);
	mkdir(path, 01777);
	mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

/*
 * sm.root=TAG mounts the virtio-fs share TAG (sm.rootflags=dax to map
 * files through the DAX window) and makes it the root of the command.
 * sm.overlay=1 puts a tmpfs upper layer over it, so writes stay in the
 * guest and the share (the image on the host) is never modified.
 */
static int enter_root(void)
{
	char tag[64], flags[64], ov[8];
	const char *lower = "/newroot";

	if (!cmdline_arg("sm.root", tag, sizeof(tag)))
		return 0;
	if (!cmdline_arg("sm.rootflags", flags, sizeof(flags)))
		flags[0] = '\0';
	mkdir("/newroot", 0755);
	if (mount(tag, "/newroot", "virtiofs", 0, flags[0] ? flags : NULL)) {
		fprintf(stderr, "init: mount virtiofs %s (%s): %s\n", tag,
			flags, strerror(errno));
		return -1;
	}
	if (cmdline_arg("sm.overlay", ov, sizeof(ov)) && ov[0] == '1') {
		mkdir("/overlay", 0755);
		mount("tmpfs", "/overlay", "tmpfs", 0, "mode=0755");
		mkdir("/overlay/upper", 0755);
		mkdir("/overlay/work", 0755);
		mkdir("/overlay/root", 0755);
		if (mount("overlay", "/overlay/root", "overlay", 0,
			  "lowerdir=/newroot,upperdir=/overlay/upper,workdir=/"
			  "overlay/work")) {
			fprintf(stderr, "init: overlay: %s\n", strerror(errno));
			return -1;
		}
		lower = "/overlay/root";
		agent_root_overlay = 1;
	}
	mount_api_filesystems(lower);
	if (chdir(lower) || chroot(".") || chdir("/")) {
		fprintf(stderr, "init: chroot %s: %s\n", lower,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Finds sm.cmd=HEX in the kernel command line and decodes it into argv. */
static int read_command(char *buf, size_t size, char **argv, int max)
{
	size_t len = 0;
	int argc = 0;
	const char *p = strstr(cmdline, "sm.cmd=");

	if (!p)
		return 0;
	for (p += 7; hexval(p[0]) >= 0 && hexval(p[1]) >= 0 && len < size - 1;
	     p += 2)
		buf[len++] = (char)(hexval(p[0]) << 4 | hexval(p[1]));
	buf[len] = '\0';
	for (size_t i = 0; i < len && argc < max - 1; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	return argc;
}

static int run(char **argv)
{
	pid_t child = fork(), pid;
	int status;

	if (child < 0)
		return 125;
	if (child == 0) {
		setsid();
		execvp(argv[0], argv);
		fprintf(stderr, "init: %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* PID 1 reaps every orphan, not only its own child. */
	for (;;) {
		pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return 125;
		if (pid != child)
			continue;
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		return 128 + WTERMSIG(status);
	}
}

int main(void)
{
	static char cmd[CMDLINE_MAX];
	char *argv[MAX_ARGS];
	int argc;

	/* outl on 0xf4 touches 0xf4..0xf7: all four must be permitted. */
	have_ports = ioperm(SM_PORT_EXIT, 4, 1) == 0;
	mark(MARKER_INIT_STARTED);
	setup_console();
	mount_basics();
	setenv("PATH",
	       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	       1);
	setenv("HOME", "/", 1);
	printf("supermachine-init: started\n");
	fflush(stdout);
	read_cmdline();
	if (enter_root())
		report_exit(125);
	{
		char agent[8];

		if (cmdline_arg("sm.agent", agent, sizeof(agent)) &&
		    agent[0] == '1')
			report_exit(agent_run());
	}
	argc = read_command(cmd, sizeof(cmd), argv, MAX_ARGS);
	if (argc <= 0) {
		printf("supermachine-init: no command given\n");
		fflush(stdout);
		report_exit(argc < 0 ? 125 : 0);
	}
	report_exit(run(argv));
	return 0;
}
