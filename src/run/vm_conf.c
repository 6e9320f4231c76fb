/* vm.conf of a snapshot directory: strict reader and writer (vm_conf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/hostname.h"
#include "run/vm_conf.h"
#include "util/cleanup.h"
#include "util/error.h"

/* Keys that may appear once; bit i of vm_conf_parser.seen. */
static const char *const once_keys[] = {
    "version", "cpus",	"memory_mib", "dax",  "image",	     "rootfs",
    "net",     "slots", "cwd",	      "user", "stop_signal", "hostname",
};
#define NONCE (sizeof(once_keys) / sizeof(once_keys[0]))
#define STR(x) #x
#define XSTR(x) STR(x)
#define VOL_SLOTS_STR XSTR(VOL_SLOTS)

struct parser {
	struct vm_conf *c;
	unsigned line;
	unsigned seen;		      /* once_keys given */
	unsigned slots_seen;	      /* slotN lines given, bit N */
	char legacy_rootfs[PATH_MAX]; /* version 1: the host path */
	struct sm_error *err;
};

static int bad(struct parser *p, const char *key, const char *fmt,
	       const char *val)
{
	return sm_err(p->err, -EINVAL, "vm.conf: line %u: %s: %s%s%.80s%s",
		      p->line, key, fmt, val ? " (\"" : "", val ? val : "",
		      val ? "\")" : "");
}

/* A decimal in [min, max]: digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 20)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static bool is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Version 1 named the image by its host path: ROOT/images/HEX/rootfs.
 * Only HEX is kept; the restorer's store says where that image is. */
static int parse_legacy_rootfs(struct parser *p, const char *val)
{
	const char *end = val + strlen(val),
		   *hex = end - 64 - strlen("/rootfs");

	if (p->c->version != 1)
		return bad(p, "rootfs", "a host path: not in this version",
			   val);
	if (strlen(val) >= sizeof(p->legacy_rootfs) ||
	    end - val < 8 + 64 + 7 || /* "/images/" HEX "/rootfs" */
	    strcmp(end - 7, "/rootfs") || strncmp(hex - 8, "/images/", 8))
		return bad(p, "rootfs", "not an image of a store", val);
	memcpy(p->c->image, hex, 64);
	p->c->image[64] = '\0';
	if (!is_hex64(p->c->image))
		return bad(p, "rootfs", "not an image of a store", val);
	snprintf(p->legacy_rootfs, sizeof(p->legacy_rootfs), "%s", val);
	return 0;
}

/* "slotN unused" or "slotN ro|rw[,file] TARGET"; version 1: "slotN ro|rw
 * DIR". */
static int parse_slot(struct parser *p, const char *key, const char *val)
{
	uint64_t n;
	struct vm_conf_slot *s;
	_cleanup_free_ char *clean = NULL;
	const char *path;
	bool file;

	if (parse_u64(key + 4, 0, VOL_SLOTS - 1, &n))
		return bad(p, key,
			   "no such slot (this build has " VOL_SLOTS_STR ")",
			   NULL);
	if (p->slots_seen & (1u << n))
		return bad(p, key, "given twice", NULL);
	p->slots_seen |= 1u << n;
	s = &p->c->slot[n];
	if (p->c->version >= 2 && strcmp(val, "unused") == 0)
		return 0;
	/* a file bind ("ro,file TARGET"): the rest as for a directory */
	file = p->c->version >= 2 &&
	       (!strncmp(val, "ro,file ", 8) || !strncmp(val, "rw,file ", 8));
	path = val + (file ? 8 : 3);
	if (!file && strncmp(val, "ro ", 3) && strncmp(val, "rw ", 3))
		return bad(p, key,
			   "not \"unused\", \"ro[,file] PATH\" or "
			   "\"rw[,file] PATH\"",
			   val);
	if (p->c->version == 1) {
		/* an unused slot served the rootfs; a used one a host path */
		if (p->legacy_rootfs[0] && !strcmp(path, p->legacy_rootfs))
			return 0;
		return bad(p, key,
			   "names a host directory (a snapshot of an older "
			   "build): take the snapshot again",
			   path);
	}
	clean = vol_clean_path(path);
	if (!clean || strcmp(clean, path) || !strcmp(clean, "/") ||
	    strlen(clean) >= sizeof(s->target))
		return bad(p, key, "not a clean absolute guest path", path);
	/* A run never has two volumes at one path (vol_plan), and a restore
	 * cannot bind two -v to one target: such a file could only fail
	 * later, in vm_conf_match_slots, with a message about the
	 * restorer's volumes instead of the file. */
	for (unsigned i = 0; i < VOL_SLOTS; i++)
		if (p->c->slot[i].used && !strcmp(p->c->slot[i].target, clean))
			return bad(p, key, "a second volume at this path",
				   clean);
	s->used = true;
	s->file = file;
	s->read_only = val[1] == 'o';
	strcpy(s->target, clean);
	return 0;
}

static int add_env(struct parser *p, const char *val)
{
	struct vm_conf *c = p->c;
	char **v;

	if (c->nenv >= VM_CONF_MAX_ENV)
		return bad(p, "env", "more than 4096 lines", NULL);
	v = realloc(c->env, (c->nenv + 2) * sizeof(*v));
	if (!v)
		return sm_err(p->err, -ENOMEM, "out of memory");
	c->env = v;
	c->env[c->nenv] = strdup(val);
	if (!c->env[c->nenv])
		return sm_err(p->err, -ENOMEM, "out of memory");
	c->env[++c->nenv] = NULL;
	c->exec_base = true;
	return 0;
}

static int set_string(struct parser *p, char **dst, const char *val)
{
	*dst = strdup(val);
	if (!*dst)
		return sm_err(p->err, -ENOMEM, "out of memory");
	p->c->exec_base = true;
	return 0;
}

/* The keys whose value is a number. */
static int parse_number(struct parser *p, const char *key, const char *val)
{
	struct vm_conf *c = p->c;
	uint64_t v;

	if (!strcmp(key, "version")) {
		if (parse_u64(val, 2, VM_CONF_VERSION, &v) || p->line != 1)
			return bad(
			    p, key,
			    "not this build's version 2, on the first line",
			    val);
		c->version = (unsigned)v;
	} else if (!strcmp(key, "cpus")) {
		if (parse_u64(val, 1, VM_CONF_MAX_CPUS, &v))
			return bad(p, key, "not in 1..64", val);
		c->cpus = (unsigned)v;
	} else if (!strcmp(key, "memory_mib")) {
		if (parse_u64(val, VM_CONF_MIN_MEMORY_MIB,
			      VM_CONF_MAX_MEMORY_MIB, &v))
			return bad(p, key, "not in 64..1048576", val);
		c->memory_mib = v;
	} else if (!strcmp(key, "dax")) {
		if (parse_u64(val, 0, VM_CONF_MAX_DAX, &v) || v % (2ULL << 20))
			return bad(p, key,
				   "not a multiple of 2 MiB up to 64 GiB", val);
		c->dax = v;
	} else if (!strcmp(key, "net")) {
		if (parse_u64(val, 0, 1, &v))
			return bad(p, key, "not 0 or 1", val);
		c->net = v;
	} else if (!strcmp(key, "slots")) {
		if (parse_u64(val, 0, VOL_SLOTS, &v) || (v && v != VOL_SLOTS))
			return bad(p, key,
				   "not 0 or this build's " VOL_SLOTS_STR, val);
		c->nslots = (unsigned)v;
	} else if (!strcmp(key, "stop_signal")) {
		if (parse_u64(val, 0, 64, &v))
			return bad(p, key, "not a signal number 0..64", val);
		c->stop_signal = (int)v;
		c->exec_base = true;
	} else {
		return 1;
	}
	return 0;
}

static int parse_line(struct parser *p, const char *key, const char *val)
{
	struct vm_conf *c = p->c;
	int ret;

	for (unsigned i = 0; i < NONCE; i++)
		if (!strcmp(key, once_keys[i])) {
			if (p->seen & (1u << i))
				return bad(p, key, "given twice", NULL);
			p->seen |= 1u << i;
		}
	ret = parse_number(p, key, val);
	if (ret <= 0)
		return ret;
	if (!strcmp(key, "image")) {
		if (!is_hex64(val))
			return bad(p, key, "not 64 lowercase hex digits", val);
		strcpy(c->image, val);
		return 0;
	}
	if (!strcmp(key, "rootfs"))
		return parse_legacy_rootfs(p, val);
	if (!strncmp(key, "slot", 4))
		return parse_slot(p, key, val);
	if (!strcmp(key, "env"))
		return add_env(p, val);
	if (!strcmp(key, "cwd")) {
		if (val[0] != '/' || strlen(val) >= PATH_MAX)
			return bad(p, key, "not an absolute guest path", val);
		return set_string(p, &c->cwd, val);
	}
	if (!strcmp(key, "user")) {
		if (strlen(val) > VM_CONF_MAX_USER)
			return bad(p, key, "longer than 256 bytes", NULL);
		return set_string(p, &c->user, val);
	}
	if (!strcmp(key, "hostname")) {
		if (run_check_hostname(val, NULL))
			return bad(p, key, "not a valid hostname", NULL);
		return set_string(p, &c->hostname, val);
	}
	return bad(p, key, "unknown key", NULL);
}

/* What every file must have, once all lines are read. */
static int check_complete(struct parser *p)
{
	struct vm_conf *c = p->c;

	p->line = 0;
	if (!c->cpus || !c->memory_mib || !c->image[0])
		return sm_err(p->err, -EINVAL,
			      "vm.conf: incomplete: cpus, memory_mib and "
			      "image are required");
	if (p->seen & (1u << 4) && p->seen & (1u << 5))
		return sm_err(p->err, -EINVAL,
			      "vm.conf: both image and rootfs");
	if (!c->nslots && p->slots_seen)
		return sm_err(
		    p->err, -EINVAL,
		    "vm.conf: slot lines without \"slots " VOL_SLOTS_STR "\"");
	for (unsigned i = 0; i < c->nslots; i++)
		if (!(p->slots_seen & (1u << i)))
			return sm_err(p->err, -EINVAL,
				      "vm.conf: \"slots " VOL_SLOTS_STR
				      "\" but no slot%u line",
				      i);
	return 0;
}

/* Splits one line at its first space: "KEY VALUE". */
static int split_line(struct parser *p, char *line, char **val)
{
	char *sp = strchr(line, ' ');

	if (!sp || sp == line || sp - line > 31)
		return sm_err(p->err, -EINVAL,
			      "vm.conf: line %u: not \"KEY VALUE\"", p->line);
	*sp = '\0';
	*val = sp + 1;
	return 0;
}

int vm_conf_parse(struct vm_conf *c, const char *text, size_t len,
		  struct sm_error *err)
{
	struct parser p = {.c = c, .err = err};
	_cleanup_free_ char *copy = NULL;
	char *line, *val = NULL, *nl;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->version = 1;
	if (len > VM_CONF_MAX_SIZE)
		return sm_err(err, -EFBIG,
			      "vm.conf: %zu bytes, over the 1 MiB cap", len);
	if (memchr(text, '\0', len))
		return sm_err(err, -EINVAL, "vm.conf: a NUL byte: not text");
	copy = malloc(len + 1);
	if (!copy)
		return sm_err(err, -ENOMEM, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; !ret && *line; line = nl) {
		p.line++;
		nl = strchr(line, '\n');
		nl = nl ? (*nl = '\0', nl + 1) : line + strlen(line);
		if (strlen(line) > VM_CONF_MAX_LINE)
			ret = sm_err(err, -EINVAL,
				     "vm.conf: line %u: over 64 KiB", p.line);
		else
			ret = split_line(&p, line, &val);
		if (!ret)
			ret = parse_line(&p, line, val);
	}
	if (!ret)
		ret = check_complete(&p);
	if (ret)
		vm_conf_free(c);
	return ret;
}

int vm_conf_read(struct vm_conf *c, const char *dir, struct sm_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int ret;

	memset(c, 0, sizeof(*c));
	if (asprintf(&path, "%s/" VM_CONF_FILE, dir) < 0) {
		path = NULL;
		return sm_err(err, -ENOMEM, "out of memory");
	}
	/* O_NONBLOCK: a FIFO is refused below, not waited on for a writer */
	fd = open(path,
		  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return sm_err_errno(err, "snapshot %s: %s", dir, VM_CONF_FILE);
	if (!S_ISREG(st.st_mode) || st.st_size > VM_CONF_MAX_SIZE)
		return sm_err(err, -EINVAL,
			      "snapshot %s: vm.conf: not a regular file of at "
			      "most 1 MiB",
			      dir);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return sm_err(err, -ENOMEM, "out of memory");
	/* one byte more than fstat said tells a file that grew meanwhile */
	while (len <= (size_t)st.st_size &&
	       (n = read(fd, buf + len, (size_t)st.st_size + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sm_err_errno(err, "snapshot %s: read vm.conf",
					    dir);
		len += (size_t)n;
	}
	if (len != (size_t)st.st_size)
		return sm_err(err, -EIO,
			      "snapshot %s: vm.conf changed while read", dir);
	ret = vm_conf_parse(c, buf, len, err);
	return ret ? sm_err_wrap(err, ret, "snapshot %s", dir) : 0;
}

void vm_conf_free(struct vm_conf *c)
{
	for (size_t i = 0; i < c->nenv; i++)
		free(c->env[i]);
	free(c->env);
	free(c->cwd);
	free(c->user);
	free(c->hostname);
	memset(c, 0, sizeof(*c));
}

/* A value with a newline cannot round-trip: left out (rare). */
static void put(FILE *f, const char *key, const char *val)
{
	if (val && !strchr(val, '\n'))
		fprintf(f, "%s %s\n", key, val);
}

void vm_conf_write(FILE *f, const struct vm_conf *c)
{
	fprintf(f,
		"version %d\ncpus %u\nmemory_mib %llu\ndax %llu\n"
		"image %s\nnet %d\nslots %u\n",
		VM_CONF_VERSION, c->cpus, (unsigned long long)c->memory_mib,
		(unsigned long long)c->dax, c->image, c->net, c->nslots);
	for (unsigned i = 0; i < c->nslots; i++) {
		const struct vm_conf_slot *s = &c->slot[i];

		if (s->used)
			fprintf(f, "slot%u %s%s %s\n", i,
				s->read_only ? "ro" : "rw",
				s->file ? ",file" : "", s->target);
		else
			fprintf(f, "slot%u unused\n", i);
	}
	put(f, "hostname", c->hostname);
	if (!c->exec_base)
		return;
	for (size_t i = 0; c->env && c->env[i]; i++)
		put(f, "env", c->env[i]);
	put(f, "cwd", c->cwd);
	if (c->user && *c->user)
		put(f, "user", c->user);
	fprintf(f, "stop_signal %d\n", c->stop_signal);
}

static const char *const type_name[] = {
    [VOL_BIND] = "bind mount",
    [VOL_NAMED] = "named volume",
    [VOL_ANON] = "anonymous volume",
    [VOL_TMPFS] = "tmpfs",
};

/* The slot the snapshot has at target, or -1. */
static int slot_at(const struct vm_conf *c, const char *target)
{
	for (unsigned i = 0; i < c->nslots; i++)
		if (c->slot[i].used && !strcmp(c->slot[i].target, target))
			return (int)i;
	return -1;
}

int vm_conf_match_slots(const struct vm_conf *c, struct vol_set *set,
			struct sm_error *err)
{
	bool bound[VOL_SLOTS] = {0};

	for (size_t i = 0; i < set->n; i++) {
		struct vol_mount *m = &set->m[i];
		int s = slot_at(c, m->target);

		if (m->type != VOL_BIND && m->type != VOL_NAMED)
			return sm_err(err, -EINVAL,
				      "restore: %s at %s: a restored guest has "
				      "its mounts already; give only the "
				      "directories of its volumes",
				      type_name[m->type], m->target);
		if (s < 0 || bound[s])
			return sm_err(err, -EINVAL,
				      "restore: a volume at %s, but the "
				      "snapshot has %s volume there",
				      m->target, s < 0 ? "no" : "one");
		if (m->read_only != c->slot[s].read_only)
			return sm_err(err, -EINVAL,
				      "restore: the volume at %s is %s in the "
				      "snapshot, given %s",
				      m->target,
				      c->slot[s].read_only ? "ro" : "rw",
				      m->read_only ? "ro" : "rw");
		bound[s] = true;
		m->slot = s;
	}
	for (unsigned i = 0; i < c->nslots; i++)
		if (c->slot[i].used && !bound[i])
			return sm_err(
			    err, -EINVAL,
			    "restore: the snapshot has a %s volume at "
			    "%s: give its directory (-v HOST:%s%s)",
			    c->slot[i].read_only ? "ro" : "rw",
			    c->slot[i].target, c->slot[i].target,
			    c->slot[i].read_only ? ":ro" : "");
	return 0;
}

int vm_conf_match_files(const struct vm_conf *c, const struct vol_set *set,
			struct sm_error *err)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct vol_mount *m = &set->m[i];

		if (m->slot < 0 || (unsigned)m->slot >= c->nslots ||
		    m->is_file == c->slot[m->slot].file)
			continue;
		return sm_err(err, -EINVAL,
			      "restore: the volume at %s binds a %s in the "
			      "snapshot, but %s is a %s",
			      m->target,
			      c->slot[m->slot].file ? "file" : "directory",
			      m->host_dir, m->is_file ? "file" : "directory");
	}
	return 0;
}
