/* Process spec: docker's entrypoint/cmd, env, workdir, user, signal rules. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "oci/oci.h"
#include "run/spec.h"

static char tmpdir[] = "/tmp/test_run_spec.XXXXXX";

/* argv equals the NULL-terminated variadic list. */
static int argv_is(char **argv, ...)
{
	va_list ap;
	const char *want;
	int i = 0, ok = 1;

	va_start(ap, argv);
	while ((want = va_arg(ap, const char *))) {
		if (!argv || !argv[i] || strcmp(argv[i], want))
			ok = 0;
		if (argv && argv[i])
			i++;
	}
	va_end(ap);
	if (argv && argv[i])
		ok = 0;
	if (!ok) {
		fprintf(stderr, "argv:");
		for (i = 0; argv && argv[i]; i++)
			fprintf(stderr, " [%s]", argv[i]);
		fprintf(stderr, "\n");
	}
	return ok;
}

static int env_count(char **env, const char *key)
{
	size_t k = strlen(key);
	int n = 0;

	for (; env && *env; env++)
		if (!strncmp(*env, key, k) && (*env)[k] == '=')
			n++;
	return n;
}

/* The value of key, or NULL; NULL too when key appears more than once. */
static const char *env_get(char **env, const char *key)
{
	size_t k = strlen(key);

	if (env_count(env, key) != 1)
		return NULL;
	for (; *env; env++)
		if (!strncmp(*env, key, k) && (*env)[k] == '=')
			return *env + k + 1;
	return NULL;
}

static int build(const struct oci_config *img, const struct run_spec_options *o,
		 struct run_spec *s)
{
	struct sm_error err = {0};
	int r = run_spec_build(img, o, s, &err);

	if (r)
		fprintf(stderr, "run_spec_build: %s\n", err.msg);
	return r;
}

/* Fails with code and a message containing why; spec left zeroed. */
static int fails(const struct oci_config *img, const struct run_spec_options *o,
		 int code, const char *why)
{
	struct run_spec s;
	struct sm_error err = {0};
	int r;

	memset(&s, 0xa5, sizeof(s));
	r = run_spec_build(img, o, &s, &err);
	if (!r) {
		run_spec_free(&s);
		fprintf(stderr, "unexpected success (want %s)\n", why);
		return 0;
	}
	if (r != code || err.code != code || !strstr(err.msg, why)) {
		fprintf(stderr, "got %d \"%s\", want %d \"%s\"\n", r, err.msg,
			code, why);
		return 0;
	}
	return !s.argv && !s.env && !s.cwd && !s.user && !s.hostname;
}

static char *write_file(const char *name, const char *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fwrite(data, 1, len, f);
	fclose(f);
	return path;
}

static char *ep_cmd_ep[] = {"/entry", "-x", NULL};
static char *ep_cmd_cmd[] = {"default", "arg", NULL};

TEST(argv_image_entrypoint_and_cmd)
{
	struct oci_config img = {.entrypoint = ep_cmd_ep, .cmd = ep_cmd_cmd};
	const char *cli[] = {"a", "b c", NULL};
	const char *none[] = {NULL};
	struct run_spec_options o = {0};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/entry", "-x", "default", "arg", NULL));
	run_spec_free(&s);

	o.cmd = cli; /* CMD args replace the image Cmd only */
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/entry", "-x", "a", "b c", NULL));
	run_spec_free(&s);

	o.cmd = none; /* an empty list is no CMD args */
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/entry", "-x", "default", "arg", NULL));
	run_spec_free(&s);
}

TEST(argv_image_cmd_only)
{
	char *cmd[] = {"/bin/sh", "-c", "echo hi", NULL};
	struct oci_config img = {.cmd = cmd};
	const char *cli[] = {"ls", "-l", NULL};
	struct run_spec_options o = {0};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/bin/sh", "-c", "echo hi", NULL));
	run_spec_free(&s);

	o.cmd = cli;
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "ls", "-l", NULL));
	run_spec_free(&s);
}

TEST(argv_image_entrypoint_only)
{
	struct oci_config img = {.entrypoint = ep_cmd_ep};
	const char *cli[] = {"x", NULL};
	struct run_spec_options o = {0};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/entry", "-x", NULL));
	run_spec_free(&s);

	o.cmd = cli;
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/entry", "-x", "x", NULL));
	run_spec_free(&s);
}

TEST(argv_entrypoint_option_drops_image_cmd)
{
	struct oci_config img = {.entrypoint = ep_cmd_ep, .cmd = ep_cmd_cmd};
	const char *cli[] = {"-v", NULL};
	struct run_spec_options o = {.entrypoint = "/bin/my tool"};
	struct run_spec s;

	/* One argument, never split, and the image Cmd is not appended. */
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/bin/my tool", NULL));
	run_spec_free(&s);

	o.cmd = cli;
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/bin/my tool", "-v", NULL));
	run_spec_free(&s);
}

TEST(argv_entrypoint_empty_string)
{
	struct oci_config img = {.entrypoint = ep_cmd_ep, .cmd = ep_cmd_cmd};
	const char *cli[] = {"/bin/true", "1", NULL};
	struct run_spec_options o = {.entrypoint = ""};
	struct run_spec s;

	CHECK(fails(&img, &o, -EINVAL, "no command specified"));

	o.cmd = cli;
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(argv_is(s.argv, "/bin/true", "1", NULL));
	run_spec_free(&s);
}

TEST(argv_nothing_to_run)
{
	char *empty[] = {NULL};
	struct oci_config img = {0};
	struct oci_config img2 = {.entrypoint = empty, .cmd = empty};
	struct run_spec_options o = {0};

	CHECK(fails(&img, &o, -EINVAL, "no command specified"));
	CHECK(fails(&img2, &o, -EINVAL, "no command specified"));
	CHECK(fails(NULL, NULL, -EINVAL, "no command specified"));
}

TEST(env_precedence_image_file_flag)
{
	char *env[] = {"A=img", "B=img", "C=img", NULL};
	struct oci_config img = {.cmd = ep_cmd_cmd, .env = env};
	const char data[] = "A=file1\nB=file\n";
	const char data2[] = "A=file2\nD=file2\n";
	const char *files[3] = {NULL};
	const char *e[] = {"A=flag", "E=1", "E=2", NULL};
	struct run_spec_options o = {.env_files = files, .env = e};
	struct run_spec s;

	files[0] = strdup(write_file("one.env", data, sizeof(data) - 1));
	files[1] = strdup(write_file("two.env", data2, sizeof(data2) - 1));
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "A"), "flag");
	CHECK_STR(env_get(s.env, "B"), "file");
	CHECK_STR(env_get(s.env, "C"), "img");
	CHECK_STR(env_get(s.env, "D"), "file2");
	CHECK_STR(env_get(s.env, "E"), "2");
	run_spec_free(&s);

	o.env = NULL; /* the later file wins over the earlier one */
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "A"), "file2");
	run_spec_free(&s);
	free((char *)files[0]);
	free((char *)files[1]);
}

TEST(env_from_host)
{
	char *env[] = {"SM_T_IMG=img", NULL};
	struct oci_config img = {.cmd = ep_cmd_cmd, .env = env};
	const char *e[] = {"SM_T_HOST", "SM_T_GONE", "SM_T_IMG", NULL};
	struct run_spec_options o = {.env = e};
	struct run_spec s;

	setenv("SM_T_HOST", "host value=1", 1);
	unsetenv("SM_T_GONE");
	unsetenv("SM_T_IMG");
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "SM_T_HOST"), "host value=1");
	CHECK_EQ(env_count(s.env, "SM_T_GONE"), 0);
	/* docker: a bare unset name unsets the image's definition too */
	CHECK_EQ(env_count(s.env, "SM_T_IMG"), 0);
	for (char **p = s.env; p && *p; p++)
		CHECK(strchr(*p, '=') != NULL);
	run_spec_free(&s);

	setenv("SM_T_IMG", "from host", 1);
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "SM_T_IMG"), "from host");
	run_spec_free(&s);
	unsetenv("SM_T_HOST");
	unsetenv("SM_T_IMG");
}

TEST(env_file_syntax)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	const char data[] = "\xef\xbb\xbf"
			    "# a comment\n"
			    "\n"
			    "   \n"
			    "  # indented comment\n"
			    "A=1\n"
			    "  B=two words  \n"
			    "C=\"quoted\"\n"
			    "D=x=y\r\n"
			    "EMPTY=\n"
			    "SM_T_FHOST\n"
			    "SM_T_FMISSING\n"
			    "LAST=no newline";
	const char *files[2] = {NULL};
	struct run_spec_options o = {.env_files = files};
	struct run_spec s;

	setenv("SM_T_FHOST", "h", 1);
	unsetenv("SM_T_FMISSING");
	files[0] = write_file("syntax.env", data, sizeof(data) - 1);
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "A"), "1");
	CHECK_STR(env_get(s.env, "B"), "two words  ");
	CHECK_STR(env_get(s.env, "C"), "\"quoted\"");
	CHECK_STR(env_get(s.env, "D"), "x=y");
	CHECK_STR(env_get(s.env, "EMPTY"), "");
	CHECK_STR(env_get(s.env, "SM_T_FHOST"), "h");
	CHECK_EQ(env_count(s.env, "SM_T_FMISSING"), 0);
	CHECK_STR(env_get(s.env, "LAST"), "no newline");
	for (char **p = s.env; p && *p; p++)
		CHECK(**p != '#' && **p != ' ' && **p != '\xef');
	run_spec_free(&s);
	unsetenv("SM_T_FHOST");
}

TEST(env_file_errors)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	const char *files[2] = {NULL};
	struct run_spec_options o = {.env_files = files};
	char missing[300], *p;

	snprintf(missing, sizeof(missing), "%s/no-such.env", tmpdir);
	files[0] = missing;
	CHECK(fails(&img, &o, -ENOENT, "no-such.env"));

	files[0] = tmpdir; /* a directory: opens, then fails to read */
	CHECK(fails(&img, &o, -EISDIR, tmpdir));

	p = write_file("space.env", "OK=1\nBAD KEY=1\n", 15);
	files[0] = p;
	CHECK(fails(&img, &o, -EINVAL, "line 2"));

	files[0] = write_file("nokey.env", "=v\n", 3);
	CHECK(fails(&img, &o, -EINVAL, "no variable name"));

	files[0] = write_file("nul.env", "A=x\0y\n", 6);
	CHECK(fails(&img, &o, -EINVAL, "NUL"));
}

TEST(env_flag_errors)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	const char *e1[] = {"=value", NULL};
	const char *e2[] = {"", NULL};
	struct run_spec_options o = {.env = e1};

	CHECK(fails(&img, &o, -EINVAL, "=value"));
	o.env = e2;
	CHECK(fails(&img, &o, -EINVAL, "invalid environment variable"));
}

TEST(env_path_default)
{
	char *env[] = {"PATH=/opt/bin", NULL};
	struct oci_config img = {.cmd = ep_cmd_cmd};
	struct oci_config img_path = {.cmd = ep_cmd_cmd, .env = env};
	const char *e[] = {"PATH=/flag", NULL};
	struct run_spec_options o = {0};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "PATH"),
		  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
		  "/bin");
	run_spec_free(&s);

	CHECK_EQ(build(&img_path, &o, &s), 0);
	CHECK_STR(env_get(s.env, "PATH"), "/opt/bin");
	run_spec_free(&s);

	o.env = e;
	CHECK_EQ(build(&img_path, &o, &s), 0);
	CHECK_STR(env_get(s.env, "PATH"), "/flag");
	run_spec_free(&s);
}

TEST(env_hostname)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	const char *e[] = {"HOSTNAME=mine", NULL};
	struct run_spec_options o = {.hostname = "box1"};
	char longname[80];
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(s.hostname, "box1");
	CHECK_STR(env_get(s.env, "HOSTNAME"), "box1");
	run_spec_free(&s);

	o.hostname = NULL;
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(s.hostname, "supermachine");
	CHECK_STR(env_get(s.env, "HOSTNAME"), "supermachine");
	run_spec_free(&s);

	o.env = e; /* as in docker, -e HOSTNAME wins over the default */
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "HOSTNAME"), "mine");
	CHECK_STR(s.hostname, "supermachine");
	run_spec_free(&s);

	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	o.hostname = longname;
	CHECK(fails(&img, &o, -EINVAL, "hostname"));
}

TEST(env_term_with_tty)
{
	char *env[] = {"TERM=vt100", NULL};
	struct oci_config img = {.cmd = ep_cmd_cmd};
	struct oci_config img_term = {.cmd = ep_cmd_cmd, .env = env};
	struct run_spec_options o = {0};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_EQ(env_count(s.env, "TERM"), 0);
	CHECK(!s.tty && !s.stdin_open);
	run_spec_free(&s);

	o.tty = o.stdin_open = true;
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_STR(env_get(s.env, "TERM"), "xterm");
	CHECK(s.tty && s.stdin_open);
	CHECK_EQ(s.rows, 0);
	CHECK_EQ(s.cols, 0);
	run_spec_free(&s);

	CHECK_EQ(build(&img_term, &o, &s), 0);
	CHECK_STR(env_get(s.env, "TERM"), "vt100");
	run_spec_free(&s);
}

static int cwd_is(const char *img_wd, const char *w, const char *want)
{
	struct oci_config img = {.cmd = ep_cmd_cmd,
				 .working_dir = (char *)img_wd};
	struct run_spec_options o = {.workdir = w};
	struct run_spec s;
	int ok;

	if (build(&img, &o, &s))
		return 0;
	ok = !strcmp(s.cwd, want);
	if (!ok)
		fprintf(stderr, "cwd %s, want %s\n", s.cwd, want);
	run_spec_free(&s);
	return ok;
}

TEST(workdir_rules)
{
	struct oci_config img = {.cmd = ep_cmd_cmd, .working_dir = "/img"};
	struct run_spec_options o = {.workdir = "rel/dir"};

	CHECK(cwd_is(NULL, NULL, "/"));
	CHECK(cwd_is("", NULL, "/"));
	CHECK(cwd_is("/app", NULL, "/app"));
	CHECK(cwd_is("app", NULL, "/app"));
	CHECK(cwd_is("/a/b/", NULL, "/a/b"));
	CHECK(cwd_is("/img", "/srv", "/srv"));
	CHECK(cwd_is("/img", "", "/img"));
	CHECK(cwd_is(NULL, "/a/./b/../c//", "/a/c"));
	CHECK(cwd_is(NULL, "/../..", "/"));
	CHECK(cwd_is(NULL, "//", "/"));
	CHECK(fails(&img, &o, -EINVAL, "absolute"));
}

static int user_is(const char *img_user, const char *u, const char *want)
{
	struct oci_config img = {.cmd = ep_cmd_cmd, .user = (char *)img_user};
	struct run_spec_options o = {.user = u};
	struct run_spec s;
	int ok;

	if (build(&img, &o, &s))
		return 0;
	ok = !strcmp(s.user, want);
	run_spec_free(&s);
	return ok;
}

static int user_refused(const char *u)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	struct run_spec_options o = {.user = u};

	return fails(&img, &o, -EINVAL, "invalid user");
}

TEST(user_rules)
{
	CHECK(user_is(NULL, NULL, ""));
	CHECK(user_is("app", NULL, "app"));
	CHECK(user_is("app", "1000:1000", "1000:1000"));
	CHECK(user_is("app", "", "app"));
	CHECK(user_is(NULL, "nobody:nogroup", "nobody:nogroup"));
	CHECK(user_is(NULL, "0", "0"));
	CHECK(user_refused(":"));
	CHECK(user_refused("a:"));
	CHECK(user_refused(":b"));
	CHECK(user_refused("a:b:c"));
	CHECK(user_refused("a\nb"));
	/* an image's malformed User is refused as well */
	{
		struct oci_config img = {.cmd = ep_cmd_cmd, .user = "x::y"};
		struct run_spec_options o = {0};

		CHECK(fails(&img, &o, -EINVAL, "invalid user"));
	}
}

TEST(signal_parsing)
{
	CHECK_EQ(run_parse_signal("SIGTERM"), SIGTERM);
	CHECK_EQ(run_parse_signal("TERM"), SIGTERM);
	CHECK_EQ(run_parse_signal("term"), SIGTERM);
	CHECK_EQ(run_parse_signal("15"), 15);
	CHECK_EQ(run_parse_signal("SIGKILL"), SIGKILL);
	CHECK_EQ(run_parse_signal("KILL"), 9);
	CHECK_EQ(run_parse_signal("SIGQUIT"), 3);
	CHECK_EQ(run_parse_signal("SIGWINCH"), 28);
	CHECK_EQ(run_parse_signal("SIGRTMIN"), 34);
	CHECK_EQ(run_parse_signal("SIGRTMIN+3"), 37);
	CHECK_EQ(run_parse_signal("RTMAX-1"), 63);
	CHECK_EQ(run_parse_signal("64"), 64);
	CHECK_EQ(run_parse_signal("bogus"), -1);
	CHECK_EQ(run_parse_signal("SIGBOGUS"), -1);
	CHECK_EQ(run_parse_signal("SIG"), -1);
	CHECK_EQ(run_parse_signal("0"), -1);
	CHECK_EQ(run_parse_signal("65"), -1);
	CHECK_EQ(run_parse_signal("99999999999999999999"), -1);
	CHECK_EQ(run_parse_signal("15x"), -1);
	CHECK_EQ(run_parse_signal("-15"), -1);
	CHECK_EQ(run_parse_signal("SIGRTMIN+31"), -1);
	CHECK_EQ(run_parse_signal("SIGRTMIN+"), -1);
	CHECK_EQ(run_parse_signal("SIGRTMINX"), -1);
	CHECK_EQ(run_parse_signal(""), -1);
	CHECK_EQ(run_parse_signal(NULL), -1);
}

TEST(stop_signal_from_image)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	struct run_spec_options o = {0};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_EQ(s.stop_signal, SIGTERM);
	run_spec_free(&s);

	img.stop_signal = "SIGQUIT";
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_EQ(s.stop_signal, SIGQUIT);
	run_spec_free(&s);

	img.stop_signal = "9";
	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK_EQ(s.stop_signal, SIGKILL);
	run_spec_free(&s);

	img.stop_signal = "SIGNOPE";
	CHECK(fails(&img, &o, -EINVAL, "SIGNOPE"));
}

TEST(free_is_idempotent)
{
	struct oci_config img = {.cmd = ep_cmd_cmd};
	struct run_spec s;

	CHECK_EQ(build(&img, NULL, &s), 0);
	CHECK(argv_is(s.argv, "default", "arg", NULL));
	CHECK_STR(s.cwd, "/");
	CHECK_STR(s.user, "");
	run_spec_free(&s);
	run_spec_free(&s);
	run_spec_free(NULL);
	CHECK(!s.argv && !s.env);
}

TEST(exec_spec_from_base)
{
	static char *img_env[] = {"A=image", "B=image", NULL};
	struct oci_config img = {.cmd = ep_cmd_cmd,
				 .env = img_env,
				 .working_dir = "/srv",
				 .user = "app"};
	const char *argv[] = {"ls", "-l", NULL};
	const char *env[] = {"B=exec", "C=new", NULL};
	struct run_spec_options eo = {.cmd = argv, .env = env};
	struct sm_error err = {0};
	struct run_spec base, s;

	CHECK_EQ(build(&img, NULL, &base), 0);
	base.stop_signal = SIGUSR1;
	CHECK_EQ(run_spec_exec(&base, &eo, &s, &err), 0);
	CHECK(argv_is(s.argv, "ls", "-l", NULL));
	CHECK_STR(s.cwd, "/srv"); /* the container's workdir */
	CHECK_STR(s.user, "app"); /* and user */
	CHECK(!s.hostname);	  /* the guest keeps its own */
	CHECK_EQ(s.stop_signal, SIGUSR1);
	{
		int a = 0, b = 0, c = 0;

		for (char **e = s.env; *e; e++) {
			a += !strcmp(*e, "A=image");
			b += !strcmp(*e, "B=exec");
			c += !strcmp(*e, "C=new");
			CHECK(strcmp(*e, "B=image"));
		}
		CHECK(a == 1 && b == 1 && c == 1);
	}
	run_spec_free(&s);

	eo.workdir = "/tmp/../var";
	eo.user = "1:2";
	eo.tty = true;
	CHECK_EQ(run_spec_exec(&base, &eo, &s, &err), 0);
	CHECK_STR(s.cwd, "/var");
	CHECK_STR(s.user, "1:2");
	CHECK(s.tty);
	run_spec_free(&s);

	eo.workdir = "relative";
	CHECK_EQ(run_spec_exec(&base, &eo, &s, &err), -EINVAL);
	CHECK(strstr(err.msg, "absolute"));
	eo.workdir = NULL;
	eo.user = ":bad";
	CHECK_EQ(run_spec_exec(&base, &eo, &s, &err), -EINVAL);
	eo.user = NULL;
	eo.cmd = NULL;
	CHECK_EQ(run_spec_exec(&base, &eo, &s, &err), -EINVAL);
	CHECK(strstr(err.msg, "no command"));
	run_spec_free(&base);
}

/* A pool's VM: nothing of its own to run (not even the image's), the
 * image's env, workdir and user for its execs. */
TEST(idle_spec_runs_nothing)
{
	static char *img_env[] = {"A=image", NULL};
	struct oci_config img = {.cmd = ep_cmd_cmd,
				 .entrypoint = ep_cmd_ep,
				 .env = img_env,
				 .working_dir = "/srv",
				 .user = "app"};
	struct oci_config bare = {0};
	struct run_spec_options o = {.idle = true};
	struct run_spec s;

	CHECK_EQ(build(&img, &o, &s), 0);
	CHECK(s.idle);
	CHECK(argv_is(s.argv, RUN_IDLE_NAME, NULL));
	CHECK_STR(env_get(s.env, "A"), "image");
	CHECK_STR(s.cwd, "/srv");
	CHECK_STR(s.user, "app");
	run_spec_free(&s);
	/* an image with no command at all still makes a pool VM */
	CHECK_EQ(build(&bare, &o, &s), 0);
	CHECK(argv_is(s.argv, RUN_IDLE_NAME, NULL));
	run_spec_free(&s);
	o.idle = false;
	CHECK(fails(&bare, &o, -EINVAL, "no command"));
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(argv_image_entrypoint_and_cmd);
	RUN(argv_image_cmd_only);
	RUN(argv_image_entrypoint_only);
	RUN(argv_entrypoint_option_drops_image_cmd);
	RUN(argv_entrypoint_empty_string);
	RUN(argv_nothing_to_run);
	RUN(env_precedence_image_file_flag);
	RUN(env_from_host);
	RUN(env_file_syntax);
	RUN(env_file_errors);
	RUN(env_flag_errors);
	RUN(env_path_default);
	RUN(env_hostname);
	RUN(env_term_with_tty);
	RUN(workdir_rules);
	RUN(exec_spec_from_base);
	RUN(idle_spec_runs_nothing);
	RUN(user_rules);
	RUN(signal_parsing);
	RUN(stop_signal_from_image);
	RUN(free_is_idempotent);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	}
	return test_summary();
}
