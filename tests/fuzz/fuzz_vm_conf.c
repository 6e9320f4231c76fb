/*
 * libFuzzer target for a snapshot directory's vm.conf (src/run/vm_conf.c):
 * vm_conf_parse on the input (what vm_conf_read hands it from the file;
 * the snapshot directory is the restorer's untrusted input). A file that
 * parses must survive what a restore does with it next: binding the
 * restorer's volumes to its slots (vm_conf_match_slots, with no volumes
 * and with exactly the snapshot's), and a snapshot of the restored VM,
 * which writes the parsed shape back out (vm_conf_write, as write_shape
 * in src/run/run.c does): that text must parse again to the same shape,
 * or the second snapshot could not be restored. A difference aborts.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed.h"
#include "run/vm_conf.h"
#include "util/error.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/*
 * Writes c as write_shape does: the image and the slots the run's
 * volumes got from vol_plan (shape_from_run), the machine's numbers, and
 * the spec's exec base when the VM ran a process.
 */
static void seed_conf(const char *name, struct vm_conf *c,
		      const char *const *v, const char *const *tmpfs)
{
	struct vol_set set;
	struct sm_error err = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (vol_plan(v, NULL, tmpfs, NULL, "/", &set, &err))
		abort();
	snprintf(c->image, sizeof(c->image), "%s", HEX);
	for (size_t i = 0; i < set.n; i++) {
		const struct vol_mount *m = &set.m[i];

		if (m->slot < 0 || m->slot >= VOL_SLOTS)
			continue;
		c->slot[m->slot].used = true;
		c->slot[m->slot].read_only = m->read_only;
		snprintf(c->slot[m->slot].target,
			 sizeof(c->slot[m->slot].target), "%s", m->target);
	}
	vol_set_free(&set);
	f = open_memstream(&text, &len);
	if (!f)
		abort();
	vm_conf_write(f, c);
	if (fclose(f))
		abort();
	seed_write(name, text, len);
	free(text);
}

static void make_seeds(void)
{
	char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		       "HOSTNAME=sm-0123456789ab", "LANG=C.UTF-8", NULL};
	const char *vols[] = {"/srv/data:/data", "/srv/cfg:/etc/app:ro",
			      "cache:/var/cache", NULL};
	const char *tmpfs[] = {"/run:size=64m", NULL};
	/* a run's snapshot: defaults, six unused slots, a spec */
	struct vm_conf run = {.cpus = 1, .memory_mib = 512,
			      .dax = 256ULL << 20, .net = true,
			      .nslots = VOL_SLOTS, .exec_base = true,
			      .env = env, .cwd = "/", .user = "",
			      .stop_signal = 15};
	/* volumes in slots (a tmpfs has none), -u, --cpus, more memory */
	struct vm_conf vol = {.cpus = 4, .memory_mib = 2048,
			      .dax = 1ULL << 30, .net = true,
			      .nslots = VOL_SLOTS, .exec_base = true,
			      .env = env, .cwd = "/srv/app",
			      .user = "1000:1000", .stop_signal = 3};
	/* a warm-start template's: taken before any spec, no network */
	struct vm_conf tmpl = {.cpus = 2, .memory_mib = 64,
			       .nslots = VOL_SLOTS};
	/* a snapshot from before volumes: no slots */
	struct vm_conf old = {.cpus = 1, .memory_mib = 128,
			      .dax = 2ULL << 20};
	/* version 1 (hand-made: this build writes only version 2): the
	 * image by its host path, unused slots serving the rootfs */
	static const char v1[] =
	    "cpus 1\nmemory_mib 128\ndax 268435456\n"
	    "rootfs /var/lib/sm/images/" HEX "/rootfs\nnet 0\nslots 6\n"
	    "slot0 ro /var/lib/sm/images/" HEX "/rootfs\n"
	    "slot1 ro /var/lib/sm/images/" HEX "/rootfs\n"
	    "slot2 ro /var/lib/sm/images/" HEX "/rootfs\n"
	    "slot3 ro /var/lib/sm/images/" HEX "/rootfs\n"
	    "slot4 ro /var/lib/sm/images/" HEX "/rootfs\n"
	    "slot5 ro /var/lib/sm/images/" HEX "/rootfs\n";

	seed_conf("run", &run, NULL, NULL);
	seed_conf("volumes", &vol, vols, tmpfs);
	seed_conf("template", &tmpl, NULL, NULL);
	seed_conf("no-slots", &old, NULL, NULL);
	seed_write("version1", v1, sizeof(v1) - 1);
}

FUZZ_SEEDS(make_seeds)

static bool same_str(const char *a, const char *b)
{
	/* an empty user is not written: it reads back as none */
	return !strcmp(a ? a : "", b ? b : "");
}

static bool same_shape(const struct vm_conf *a, const struct vm_conf *b)
{
	if (a->cpus != b->cpus || a->memory_mib != b->memory_mib ||
	    a->dax != b->dax || strcmp(a->image, b->image) ||
	    a->net != b->net || a->nslots != b->nslots ||
	    a->exec_base != b->exec_base || a->nenv != b->nenv ||
	    !same_str(a->cwd, b->cwd) || !same_str(a->user, b->user) ||
	    a->stop_signal != b->stop_signal)
		return false;
	for (unsigned i = 0; i < VOL_SLOTS; i++)
		if (a->slot[i].used != b->slot[i].used ||
		    (a->slot[i].used &&
		     (a->slot[i].read_only != b->slot[i].read_only ||
		      strcmp(a->slot[i].target, b->slot[i].target))))
			return false;
	for (size_t i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i], b->env[i]))
			return false;
	return true;
}

/* The restorer gives one -v per used slot, at its target, same mode. */
static void match_own_volumes(const struct vm_conf *c)
{
	static struct vol_set set;
	struct sm_error err = {0};

	memset(&set, 0, sizeof(set));
	if (vm_conf_match_slots(c, &set, &err) == 0)
		for (unsigned i = 0; i < c->nslots; i++)
			if (c->slot[i].used)
				abort(); /* a used slot left without a volume */
	for (unsigned i = 0; i < c->nslots; i++) {
		struct vol_mount *m;

		if (!c->slot[i].used)
			continue;
		m = &set.m[set.n++];
		m->type = VOL_BIND;
		m->target = (char *)c->slot[i].target;
		m->read_only = c->slot[i].read_only;
		m->slot = -1;
	}
	if (vm_conf_match_slots(c, &set, &err))
		abort(); /* its own volumes refused */
	for (size_t i = 0; i < set.n; i++)
		if (set.m[i].slot < 0 ||
		    strcmp(c->slot[set.m[i].slot].target, set.m[i].target))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_conf c, back;
	struct sm_error err = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (vm_conf_parse(&c, (const char *)data, size, &err))
		return 0;
	match_own_volumes(&c);
	f = open_memstream(&text, &len);
	if (!f)
		abort();
	vm_conf_write(f, &c);
	if (fclose(f))
		abort();
	if (vm_conf_parse(&back, text, len, &err)) {
		fprintf(stderr, "written back, refused: %s\n%s", err.msg, text);
		abort();
	}
	if (!same_shape(&c, &back)) {
		fprintf(stderr, "written back, read differently:\n%s", text);
		abort();
	}
	vm_conf_free(&back);
	vm_conf_free(&c);
	free(text);
	return 0;
}
