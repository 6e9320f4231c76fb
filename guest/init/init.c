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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Finds sm.cmd=HEX in /proc/cmdline and decodes it into argv. */
static int read_command(char *buf, size_t size, char **argv, int max)
{
	static char cmdline[CMDLINE_MAX];
	ssize_t n;
	size_t len = 0;
	int fd = open("/proc/cmdline", O_RDONLY), argc = 0;
	char *p;

	if (fd < 0)
		return -1;
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	cmdline[n] = '\0';
	p = strstr(cmdline, "sm.cmd=");
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

	have_ports = ioperm(SM_PORT_EXIT, 2, 1) == 0;
	mark(MARKER_INIT_STARTED);
	setup_console();
	mount_basics();
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/", 1);
	printf("supermachine-init: started\n");
	fflush(stdout);
	argc = read_command(cmd, sizeof(cmd), argv, MAX_ARGS);
	if (argc <= 0) {
		printf("supermachine-init: no command given\n");
		fflush(stdout);
		report_exit(argc < 0 ? 125 : 0);
	}
	report_exit(run(argv));
	return 0;
}
