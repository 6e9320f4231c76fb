/*
 * vm.conf of a snapshot directory is untrusted (src/run/vm_conf.h): every
 * number is range-checked, no host path is taken from it, and the volume
 * slots bind only to the restorer's own mounts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/vm_conf.h"
#include "test.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD                                                           \
	"version 2\ncpus 2\nmemory_mib 512\ndax 268435456\nimage " HEX \
	"\nnet 1\n"
#define SLOTS                                                                  \
	"slots 6\nslot0 rw /data\nslot1 unused\nslot2 ro /cfg\nslot3 unused\n" \
	"slot4 unused\nslot5 unused\n"

static struct sm_error err;

/* Parses text; returns the result, err holds the message. */
static int parse(struct vm_conf *c, const char *text)
{
	memset(&err, 0, sizeof(err));
	return vm_conf_parse(c, text, strlen(text), &err);
}

/* text is refused with a message containing want. */
static int refused(const char *text, const char *want)
{
	struct vm_conf c;
	int ret = parse(&c, text);

	if (ret == 0) {
		vm_conf_free(&c);
		fprintf(stderr, "accepted: %.200s\n", text);
		return 0;
	}
	if (!strstr(err.msg, want)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, want);
		return 0;
	}
	return ret == -EINVAL || ret == -EFBIG;
}

TEST(round_trip)
{
	struct vm_conf c, back;
	char *text = NULL, *env[] = {"PATH=/bin", "A=b c", NULL};
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK_EQ(parse(&c, HEAD SLOTS
		       "env X=1\ncwd /w\nuser 1000:1000\nstop_signal 15\n"),
		 0);
	CHECK_EQ(c.cpus, 2);
	CHECK_EQ(c.memory_mib, 512);
	CHECK_EQ(c.dax, 256 << 20);
	CHECK_STR(c.image, HEX);
	CHECK(c.net && c.nslots == 6 && c.exec_base);
	CHECK(c.slot[0].used && !c.slot[0].read_only && !c.slot[1].used);
	CHECK(c.slot[2].used && c.slot[2].read_only);
	CHECK(!strcmp(c.slot[2].target, "/cfg"));
	CHECK(c.nenv == 1 && c.stop_signal == 15);
	CHECK_STR(c.user, "1000:1000");
	vm_conf_free(&c);
	CHECK_EQ(parse(&c, HEAD SLOTS), 0);
	c.exec_base = true;
	c.env = env;
	c.cwd = "/srv";
	vm_conf_write(f, &c);
	fclose(f);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(vm_conf_parse(&back, text, len, &err), 0);
	CHECK(!strcmp(back.slot[0].target, "/data"));
	CHECK(back.nenv == 2 && back.env && !strcmp(back.env[1], "A=b c"));
	CHECK_STR(back.cwd, "/srv");
	CHECK(!strstr(text, "rootfs")); /* no host path written */
	vm_conf_free(&back);
	free(text);
}

TEST(numbers_out_of_range_or_wrapping_refused)
{
	CHECK(refused("version 2\ncpus 0\n", "line 2: cpus: not in 1..64"));
	CHECK(refused("version 2\ncpus 65\n", "cpus: not"));
	CHECK(refused("version 2\ncpus 4294967298\n",
		      "cpus: not")); /* 2 as u32 */
	CHECK(refused("version 2\ncpus -1\n", "cpus: not"));
	CHECK(refused("version 2\ncpus 1x\n", "cpus: not"));
	CHECK(refused("version 2\nmemory_mib 63\n", "memory_mib: not"));
	CHECK(refused("version 2\nmemory_mib 1048577\n", "memory_mib: not"));
	CHECK(refused("version 2\nmemory_mib 18446744073709551616\n",
		      "memory_mib: not"));
	CHECK(refused("version 2\nmemory_mib 99999999999999999999999\n",
		      "memory_mib: not"));
	/* 2^64 + 64: wraps to 64, in range, unless overflow is caught */
	CHECK(refused("version 2\nmemory_mib 18446744073709551680\n",
		      "memory_mib: not"));
	CHECK(refused("version 2\ndax 4096\n", "dax: not a multiple of 2 MiB"));
	CHECK(refused("version 2\ndax 70368744177664\n", "dax: not"));
	CHECK(refused("version 2\nnet 2\n", "net: not"));
	CHECK(refused("version 2\nslots 3\n", "slots: not"));
	CHECK(refused("version 2\nstop_signal 65\n", "stop_signal: not"));
	CHECK(refused("version 3\n", "version: not"));
	CHECK(refused("cpus 1\nversion 2\n", "on the first line"));
}

TEST(host_paths_refused)
{
	/* version 2 has no host path at all */
	CHECK(refused(
	    "version 2\nrootfs /root/.local/share/supermachine/images/" HEX
	    "/rootfs\n",
	    "rootfs: a host path"));
	CHECK(refused(HEAD "slots 6\nslot0 rw ../../etc\n",
		      "slot0: not a clean absolute guest path"));
	CHECK(refused(HEAD "slots 6\nslot0 rw /a/../etc\n", "not a clean"));
	CHECK(refused(HEAD "slots 6\nslot0 rw /\n", "not a clean"));
	CHECK(refused(HEAD "slots 6\nslot0 rx /data\n", "slot0"));
	/* version 1 named host paths: only an image of a store is taken */
	CHECK(refused("cpus 1\nmemory_mib 128\nrootfs /home/victim\n",
		      "rootfs: not an image of a store"));
	CHECK(refused("cpus 1\nmemory_mib 128\nrootfs /home/victim/" HEX
		      "/rootfs\n",
		      "rootfs: not an image of a store"));
	CHECK(refused("cpus 1\nmemory_mib 128\nrootfs /s/images/" HEX
		      "/rootfs\nslots 6\nslot0 rw /home/victim\n",
		      "slot0: names a host directory"));
	CHECK(refused("cpus 1\nmemory_mib 128\nrootfs /s/images/" HEX
		      "/rootfs\nimage " HEX "\n",
		      "both image and rootfs"));
}

TEST(version1_without_volumes_accepted)
{
	struct vm_conf c;
	const char *root = "/s/images/" HEX "/rootfs";
	char text[1024];

	snprintf(
	    text, sizeof(text),
	    "cpus 1\nmemory_mib 128\ndax 268435456\nrootfs %s\nnet 0\nslots 6\n"
	    "slot0 ro %s\nslot1 ro %s\nslot2 ro %s\nslot3 ro %s\nslot4 ro "
	    "%s\nslot5 ro %s\n",
	    root, root, root, root, root, root, root);
	CHECK_EQ(parse(&c, text), 0);
	CHECK_STR(c.image, HEX); /* resolved in the restorer's store */
	for (int i = 0; i < VOL_SLOTS; i++)
		CHECK(!c.slot[i].used);
	vm_conf_free(&c);
}

TEST(structure_refused)
{
	char *big, *many;
	size_t n = 0;

	CHECK(refused(HEAD "cpus 2\n", "line 7: cpus: given twice"));
	CHECK(refused(HEAD "kernel /vmlinux\n", "kernel: unknown key"));
	CHECK(refused(HEAD "slots 6\nslot7 rw /x\n", "slot7: no such slot"));
	CHECK(refused(HEAD "slots 6\nslot4294967296 rw /x\n", "no such slot"));
	CHECK(refused(HEAD "slots 6\nslot0 unused\nslot0 unused\n",
		      "slot0: given twice"));
	CHECK(refused(HEAD "slots 6\nslot0 unused\n", "no slot1 line"));
	CHECK(refused(HEAD "slot0 unused\n", "without \"slots 6\""));
	CHECK(refused("version 2\ncpus 1\nmemory_mib 64\n", "incomplete"));
	CHECK(
	    refused("version 2\nimage 0123\n", "image: not 64 lowercase hex"));
	CHECK(refused(HEAD "nokeyvalue\n", "line 7: not \"KEY VALUE\""));
	CHECK(refused(HEAD "cwd relative\n", "cwd"));
	{
		struct vm_conf c;
		const char nul[] = "version 2\ncpus 1\0\n";

		memset(&err, 0, sizeof(err));
		CHECK_EQ(vm_conf_parse(&c, nul, sizeof(nul) - 1, &err),
			 -EINVAL);
		CHECK(strstr(err.msg, "NUL"));
	}
	big = calloc(1, VM_CONF_MAX_SIZE + 2);
	memset(big, 'a', VM_CONF_MAX_SIZE + 1);
	CHECK(refused(big, "over the 1 MiB cap"));
	free(big);
	many = malloc(5000 * 8 + 200);
	n = (size_t)sprintf(many, HEAD);
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf(many + n, "env A=%d\n", i % 10);
	CHECK(refused(many, "env: more than 4096 lines"));
	free(many);
}

/*
 * Two slots at one guest path (tests/fuzz/fuzz_vm_conf.c found the file
 * parsing): no run writes that, and no restore could bind it, since
 * vol_plan refuses two -v at one target. Refused where it is read.
 */
TEST(two_slots_at_one_target_refused)
{
	struct vm_conf c;

	CHECK(refused(
	    HEAD "slots 6\nslot0 rw /data\nslot1 unused\nslot2 ro /data\n"
		 "slot3 unused\nslot4 unused\nslot5 unused\n",
	    "line 10: slot2: a second volume at this path (\"/data\")"));
	CHECK(refused(HEAD "slots 6\nslot5 rw /data\nslot0 rw /data\n",
		      "slot0: a second volume at this path"));
	/* nested and neighbouring paths are fine */
	CHECK_EQ(parse(&c, HEAD "slots 6\nslot0 rw /data\nslot1 ro /data/cfg\n"
				"slot2 rw /data2\nslot3 unused\nslot4 unused\n"
				"slot5 unused\n"),
		 0);
	vm_conf_free(&c);
}

/* The restorer's mounts, planned as sm_vm_restore does. */
static int plan(const char *const *v, const char *const *tmpfs,
		struct vol_set *set)
{
	memset(&err, 0, sizeof(err));
	return vol_plan(v, NULL, tmpfs, NULL, "/", set, &err);
}

static int match(const char *const *v, const char *const *tmpfs,
		 const char *want)
{
	struct vm_conf c;
	struct vol_set set;
	int ret;

	if (parse(&c, HEAD SLOTS) || plan(v, tmpfs, &set))
		return -1000;
	ret = vm_conf_match_slots(&c, &set, &err);
	if (want && (ret == 0 || !strstr(err.msg, want))) {
		fprintf(stderr, "match: \"%s\" lacks \"%s\"\n", err.msg, want);
		ret = -1000;
	}
	if (!ret)
		ret = set.m[0].slot * 10 + set.m[1].slot;
	vol_set_free(&set);
	vm_conf_free(&c);
	return ret;
}

TEST(restore_binds_only_the_restorers_mounts)
{
	const char *ok[] = {"/host/b:/cfg:ro", "/host/a:/data", NULL};
	const char *named[] = {"vol1:/data", "/h:/cfg:ro", NULL};
	const char *missing[] = {"/host/a:/data", NULL};
	const char *extra[] = {"/host/a:/data", "/host/b:/cfg:ro", "/h:/etc",
			       NULL};
	const char *rw_for_ro[] = {"/host/a:/data", "/host/b:/cfg", NULL};
	const char *ro_for_rw[] = {"/host/a:/data:ro", "/host/b:/cfg:ro", NULL};
	const char *anon[] = {"/data", "/host/b:/cfg:ro", NULL};
	const char *tmpfs[] = {"/data", NULL};
	const char *cfg_only[] = {"/host/b:/cfg:ro", NULL};

	/* each mount goes to the snapshot's slot at its target */
	CHECK_EQ(match(ok, NULL, NULL), 2 * 10 + 0);
	CHECK(match(named, NULL, NULL) >= 0);
	CHECK_EQ(match(missing, NULL, "give its directory (-v HOST:/cfg:ro)"),
		 -EINVAL);
	CHECK_EQ(match(NULL, NULL, "-v HOST:/data)"), -EINVAL);
	CHECK_EQ(
	    match(extra, NULL,
		  "a volume at /etc, but the snapshot has no volume there"),
	    -EINVAL);
	CHECK_EQ(match(rw_for_ro, NULL, "/cfg is ro in the snapshot, given rw"),
		 -EINVAL);
	CHECK_EQ(
	    match(ro_for_rw, NULL, "/data is rw in the snapshot, given ro"),
	    -EINVAL);
	CHECK_EQ(match(anon, NULL, "anonymous volume at /data"), -EINVAL);
	CHECK_EQ(match(cfg_only, tmpfs, "tmpfs at /data"), -EINVAL);
}

/* A file bind's slot says so ("rw,file"), and a restore must give a file
 * there again (and a directory for a directory slot). */
TEST(file_slots_round_trip_and_match)
{
	struct vm_conf c, back;
	struct vol_set set;
	char *text = NULL, host[] = "/h", target[] = "/etc/app.conf";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK_EQ(parse(&c, HEAD "slots 6\nslot0 rw,file /etc/app.conf\n"
				"slot1 ro /d\nslot2 ro,file /x\nslot3 unused\n"
				"slot4 unused\nslot5 unused\n"),
		 0);
	CHECK(c.slot[0].used && c.slot[0].file && !c.slot[0].read_only);
	CHECK(!strcmp(c.slot[0].target, "/etc/app.conf"));
	CHECK(c.slot[1].used && !c.slot[1].file);
	CHECK(c.slot[2].file && c.slot[2].read_only);
	vm_conf_write(f, &c);
	fclose(f);
	CHECK(strstr(text, "slot0 rw,file /etc/app.conf\n") != NULL);
	CHECK(strstr(text, "slot1 ro /d\n") != NULL);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(vm_conf_parse(&back, text, len, &err), 0);
	CHECK(back.slot[0].file && back.slot[2].file && !back.slot[1].file);
	vm_conf_free(&back);
	free(text);
	CHECK(refused(HEAD "slots 6\nslot0 rw,files /x\n", "not \"unused\""));
	CHECK(refused(HEAD "slots 6\nslot0 file /x\n", "not \"unused\""));

	memset(&set, 0, sizeof(set));
	set.n = 1;
	set.m[0].type = VOL_BIND;
	set.m[0].target = target;
	set.m[0].host_dir = host;
	set.m[0].slot = 0;
	memset(&err, 0, sizeof(err));
	CHECK_EQ(vm_conf_match_files(&c, &set, &err), -EINVAL);
	CHECK(strstr(err.msg, "/etc/app.conf binds a file in the snapshot, "
			      "but /h is a directory") != NULL);
	set.m[0].is_file = true;
	CHECK_EQ(vm_conf_match_files(&c, &set, &err), 0);
	set.m[0].slot = 1;
	CHECK_EQ(vm_conf_match_files(&c, &set, &err), -EINVAL);
	vm_conf_free(&c);
}

TEST(read_refuses_links_and_names_the_snapshot)
{
	char dir[] = "/tmp/smvmconf.XXXXXX", path[64], target[64];
	struct vm_conf c;
	FILE *f;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.conf", dir);
	snprintf(target, sizeof(target), "%s/real", dir);
	f = fopen(target, "w");
	fputs(HEAD, f);
	fclose(f);
	CHECK_EQ(symlink(target, path), 0);
	memset(&err, 0, sizeof(err));
	CHECK(vm_conf_read(&c, dir, &err) < 0);
	CHECK(strncmp(err.msg, "snapshot /tmp/smvmconf.", 23) == 0);
	unlink(path);
	f = fopen(path, "w");
	fputs("version 2\ncpus 1000\n", f);
	fclose(f);
	memset(&err, 0, sizeof(err));
	CHECK_EQ(vm_conf_read(&c, dir, &err), -EINVAL);
	CHECK(strstr(err.msg,
		     ": vm.conf: line 2: cpus: not in 1..64 (\"1000\")"));
	unlink(path);
	rename(target, path);
	CHECK_EQ(vm_conf_read(&c, dir, &err), 0);
	vm_conf_free(&c);
	unlink(path);
	rmdir(dir);
}

/* A FIFO as vm.conf: refused at once, not waited on (the alarm turns a
 * hang into a lost verdict). */
TEST(read_refuses_a_fifo_without_blocking)
{
	char dir[] = "/tmp/smvmconf.XXXXXX", path[64];
	struct vm_conf c;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.conf", dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	memset(&err, 0, sizeof(err));
	alarm(10);
	CHECK_EQ(vm_conf_read(&c, dir, &err), -EINVAL);
	alarm(0);
	CHECK(strstr(err.msg, "not a regular file"));
	unlink(path);
	rmdir(dir);
}

/* A hostname the user gave goes with the snapshot; a bad one is refused. */
TEST(hostname_round_trips_and_is_checked)
{
	struct vm_conf c, back;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	CHECK_EQ(parse(&c, HEAD "hostname web-1.example\n"), 0);
	CHECK_STR(c.hostname, "web-1.example");
	f = open_memstream(&text, &len);
	vm_conf_write(f, &c);
	fclose(f);
	CHECK_EQ(vm_conf_parse(&back, text, len, &err), 0);
	CHECK_STR(back.hostname, "web-1.example");
	vm_conf_free(&back);
	vm_conf_free(&c);
	free(text);
	CHECK_EQ(parse(&c, HEAD), 0);
	CHECK(c.hostname == NULL); /* none given: each clone draws one */
	vm_conf_free(&c);
	CHECK(refused(HEAD "hostname a/b\n", "hostname: not a valid hostname"));
	CHECK(refused(HEAD "hostname a\x01b\n", "hostname: not a valid"));
	CHECK(refused(HEAD "hostname "
			   "0123456789012345678901234567890123456789012345678"
			   "9012345678901234\n", /* 65 */
		      "hostname: not a valid"));
	CHECK(refused(HEAD "hostname a\nhostname b\n", "hostname"));
}

int main(void)
{
	RUN(round_trip);
	RUN(numbers_out_of_range_or_wrapping_refused);
	RUN(host_paths_refused);
	RUN(version1_without_volumes_accepted);
	RUN(structure_refused);
	RUN(two_slots_at_one_target_refused);
	RUN(restore_binds_only_the_restorers_mounts);
	RUN(read_refuses_links_and_names_the_snapshot);
	RUN(read_refuses_a_fifo_without_blocking);
	RUN(hostname_round_trips_and_is_checked);
	RUN(file_slots_round_trip_and_match);
	return test_summary();
}
