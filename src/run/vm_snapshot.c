/*
 * Snapshots of a VM handle and restoring one from a directory: the
 * machine's shape (vm.conf), the restorer's rootfs and volumes
 * (src/run/handle.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "sandbox/sandbox.h"
#include "oci/oci.h"
#include "oci/store.h"
#include "proto/proto.h"
#include "run/agent.h"
#include "run/assets.h"
#include "run/spec.h"
#include "run/template.h"
#include "run/vm_conf.h"
#include "run/volumes.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"
#include "util/log.h"
#include "vmm/vm_run.h"
#include "oci/image.h"
#include "run/handle.h"
#include "run/hostname.h"

/*
 * What sm_vm_restore() needs to rebuild the machine (vm_conf.h), as the
 * text of the state file's SNAP_REC_VM_CONF record. *text: free() it.
 */
static int shape_text(const struct sm_vm *h, char **text, size_t *len,
		      struct sm_error *err)
{
	struct vm_conf c = h->shape; /* image and slots; strings borrowed */
	FILE *f;

	if (!c.image[0])
		return sm_err(err, -ENOTSUP,
			      "snapshot: this VM's root is a host directory "
			      "(an OCI bundle's), not an image a restore "
			      "could find");

	c.cpus = h->vc.cpus;
	c.memory_mib = h->vc.memory_mib;
	c.dax = h->vc.shares[0].dax_window;
	c.net = h->vc.net != NULL;
	c.nslots = h->vc.nshares - 1;
	c.exec_base = h->have_spec || h->exec_base;
	if (c.exec_base) {
		c.env = h->spec.env;
		c.cwd = h->spec.cwd;
		c.user = h->spec.user;
		c.stop_signal = h->spec.stop_signal;
	}
	*text = NULL;
	f = open_memstream(text, len);
	if (!f)
		return sm_err(err, -ENOMEM, "snapshot: out of memory");
	vm_conf_write(f, &c);
	if (fclose(f) || !*text) {
		free(*text);
		*text = NULL;
		return sm_err(err, -ENOMEM, "snapshot: out of memory");
	}
	return 0;
}

/*
 * The machine's configuration: the state file's record, or vm.conf next
 * to it in a snapshot from before it moved there.
 */
static int read_conf(struct vm_conf *c, const char *dir, struct sm_error *err)
{
	char path[PATH_MAX];
	struct snap_file f = {0};
	const struct snap_record *r;
	int ret;

	snprintf(path, sizeof(path), "%s/" SNAP_STATE_FILE, dir);
	ret = snap_read_file(&f, path, err);
	if (ret)
		return sm_err_wrap(err, ret, "restore %s", dir);
	r = snap_find(&f, SNAP_REC_VM_CONF, 0);
	if (r)
		ret = vm_conf_parse(c, (const char *)r->data, r->len, err);
	snap_file_free(&f);
	if (!r)
		return vm_conf_read(c, dir, err);
	return ret ? sm_err_wrap(err, ret, "snapshot %s", dir) : 0;
}

/*
 * The image a snapshot names, in the restorer's store: never a host path
 * from the snapshot directory.
 */
static int restore_rootfs(struct sm_vm *h, struct sm_store *store,
			  const char *dir, int *owners_in_xattr,
			  struct sm_error *err)
{
	_cleanup_free_ char *rootfs =
	    store_path(store, "images/%s/rootfs", h->shape.image);
	_cleanup_free_ char *meta =
	    store_path(store, "images/%s/meta.json", h->shape.image);
	struct stat st;
	json_t *j;

	if (!rootfs || !meta)
		return sm_err(err, -ENOMEM, "out of memory");
	/* held while the VM lives: no removal deletes it under the guest
	 * (the configuration record's image is 64 hex digits) */
	h->image_pin = image_pin(store, h->shape.image, NULL);
	j = json_load_file(meta, 0, NULL);
	if (!j || stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		json_decref(j);
		return sm_err(
		    err, -ENOENT,
		    "snapshot %s: its image sha256:%.12s is not in the "
		    "store %s (pull or load it first)",
		    dir, h->shape.image, store->root);
	}
	*owners_in_xattr = json_is_true(json_object_get(j, "rootless"));
	json_decref(j);
	snprintf(h->rootfs, sizeof(h->rootfs), "%s", rootfs);
	return 0;
}

/*
 * The restorer's -v/--mount directories behind the snapshot's volume
 * slots (vm_conf_match_slots); a slot the snapshot leaves unused serves
 * the rootfs read-only, as in a run.
 */
static int restore_volumes(struct sm_vm *h, struct sm_store *store,
			   int owners_in_xattr, const char *dir,
			   struct sm_error *err)
{
	const char *dirs[VOL_SLOTS] = {0};
	bool ro[VOL_SLOTS] = {0};
	char cwd[PATH_MAX];
	int ret;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	ret = vol_plan(h->o.volumes, h->o.mounts, h->o.tmpfs, NULL, cwd,
		       &h->vols, err);
	if (!ret)
		ret = vm_conf_match_slots(&h->shape, &h->vols, err);
	if (!ret)
		ret = vol_prepare(&h->vols, store->root, h->rootfs,
				  owners_in_xattr, err);
	if (!ret)
		ret = vm_conf_match_files(&h->shape, &h->vols, err);
	if (ret)
		return sm_err_wrap(err, ret, "snapshot %s", dir);
	run_slots_from_set(&h->vols, dirs, ro);
	if (h->shape.nslots) {
		run_fill_slots(&h->vc, dirs, ro);
		run_slot_files(&h->vc, &h->vols);
	}
	run_share_caps(&h->vc, &h->o);
	return 0;
}

/* vm.conf's exec base becomes the restored VM's spec (for exec). */
static void take_exec_base(struct sm_vm *h)
{
	struct vm_conf *c = &h->shape;

	h->exec_base = c->exec_base;
	h->spec.env = c->env;
	h->spec.cwd = c->cwd;
	h->spec.user = c->user;
	h->spec.stop_signal = c->stop_signal;
	c->env = NULL;
	c->nenv = 0;
	c->cwd = c->user = NULL;
}

/* HOSTNAME=NAME in the exec base's env, replacing the snapshot's. */
static int set_hostname_env(struct sm_vm *h, const char *name,
			    struct sm_error *err)
{
	char *kv, **env = h->spec.env;
	size_t n = 0;

	if (asprintf(&kv, "HOSTNAME=%s", name) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	for (; env && env[n]; n++)
		if (!strncmp(env[n], "HOSTNAME=", 9)) {
			free(env[n]);
			env[n] = kv;
			return 0;
		}
	env = realloc(env, (n + 2) * sizeof(*env));
	if (!env) {
		free(kv);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	env[n] = kv;
	env[n + 1] = NULL;
	h->spec.env = env;
	return 0;
}

/*
 * Each clone its own hostname: the restorer's --hostname, else the one the
 * snapshot's VM was given by its user, else a fresh one. The resumed guest
 * takes it (and fresh entropy and a machine-id) as it reconnects.
 */
static int choose_hostname(struct sm_vm *h, struct sm_error *err)
{
	const char *given =
	    h->o.hostname && *h->o.hostname ? h->o.hostname : h->shape.hostname;
	char fresh[16];
	int ret = given ? run_check_hostname(given, err) : 0;

	if (ret)
		return ret;
	if (!given)
		run_random_hostname(fresh, sizeof(fresh));
	free(h->spec.hostname);
	h->spec.hostname = strdup(given ? given : fresh);
	if (!h->spec.hostname)
		return sm_err(err, -ENOMEM, "out of memory");
	if (given != h->shape.hostname) {
		free(h->shape.hostname);
		h->shape.hostname = given ? strdup(given) : NULL;
	}
	return h->exec_base ? set_hostname_env(h, h->spec.hostname, err) : 0;
}

static int read_shape(struct sm_vm *h, struct sm_store *store, const char *dir,
		      struct sm_error *err)
{
	int owners_in_xattr = 0;
	int ret = read_conf(&h->shape, dir, err);

	if (ret)
		return ret;
	take_exec_base(h);
	ret = choose_hostname(h, err);
	if (ret)
		return ret;
	h->vc.cpus = h->shape.cpus;
	h->vc.memory_mib = h->shape.memory_mib;
	ret = restore_rootfs(h, store, dir, &owners_in_xattr, err);
	if (ret)
		return ret;
	h->vc.console_fd = h->o.verbose >= 2 ? h->o.stderr_fd : -1;
	h->vc.cmdline = RUN_CMDLINE;
	h->vc.nshares = 1;
	h->vc.shares[0] = (struct virtio_fs_config){.tag = ROOTFS_TAG,
						    .dir = h->rootfs,
						    .read_only = 1,
						    .dax_window = h->shape.dax};
	ret = restore_volumes(h, store, owners_in_xattr, dir, err);
	if (ret)
		return ret;
	h->vc.vsock = &h->vs;
	if (!h->shape.net && h->o.publish && h->o.publish[0])
		return sm_err(err, -EINVAL,
			      "-p needs a network: the snapshot's VM has none");
	/* the snapshot has the device: it gets a fresh backend */
	return h->shape.net ? run_setup_network(h, NULL, &h->o, true, err) : 0;
}

/* How long a snapshot waits for a booting guest's init (a cold boot
 * under an emulated host takes tens of seconds). */
#define READY_WAIT_MS (120 * 1000)

/*
 * A started VM whose init said hello: before it a restore would find an
 * init asking for a process spec that sm_vm_restore() cannot give
 * (docs/snapshot.md). A guest still booting is waited for, bounded.
 */
static int wait_ready(struct sm_vm *h, struct sm_error *err)
{
	uint64_t deadline = run_deadline_after(READY_WAIT_MS);

	if (!h->started || !h->w.vm)
		return sm_err(err, -EINVAL,
			      "only a started VM can be snapshotted");
	while (!__atomic_load_n(&h->io.hello_ns, __ATOMIC_ACQUIRE)) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (__atomic_load_n(&h->session_over, __ATOMIC_ACQUIRE))
			return sm_err(err, -ESRCH,
				      "the VM ended before its init was ready");
		if (sm_now_ns() >= deadline)
			return sm_err(err, -EAGAIN,
				      "the guest is still booting after %d s: "
				      "snapshot it once its init is ready",
				      READY_WAIT_MS / 1000);
		nanosleep(&ts, NULL);
	}
	return 0;
}

SM_API int sm_vm_snapshot(struct sm_vm *h, const char *dir,
			  struct sm_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!h || !dir)
		return sm_err(err, -EINVAL,
			      "sm_vm_snapshot: a VM and a directory are "
			      "required");
	if ((ret = wait_ready(h, err)))
		return ret;
	ret = shape_text(h, &text, &len, err);
	if (!ret)
		ret = snapshot_save(h->w.vm, dir, text, len, err);
	free(text);
	return ret;
}

static int snapshot_fd_ok(int fd, const char *name, struct sm_error *err)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sm_err(
		    err, -EINVAL,
		    "snapshot: the %s descriptor is not a regular file", name);
	return 0;
}

SM_API int sm_vm_snapshot_fds(struct sm_vm *h, const struct sm_snapshot_fds *in,
			      struct sm_error *err)
{
	struct sm_snapshot_fds all = {sizeof(all), -1, -1, -1, 0}, *fds = &all;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!h || !in)
		return sm_err(err, -EINVAL,
			      "sm_vm_snapshot_fds: a VM and descriptors are "
			      "required");
	if ((ret = sm_opts_take(&all, sizeof(all), in, "sm_snapshot_fds", err)))
		return ret;
	if ((ret = wait_ready(h, err)))
		return ret;
	if ((ret = snapshot_fd_ok(fds->memory_fd, "memory", err)) ||
	    (ret = snapshot_fd_ok(fds->state_fd, "state", err)))
		return ret;
	/* conf_fd is not used: the configuration is in the state file */
	ret = shape_text(h, &text, &len, err);
	if (!ret)
		ret = snapshot_save_fds(h->w.vm, fds->memory_fd, fds->state_fd,
					text, len, err);
	free(text);
	return ret;
}

int run_restore_dir(struct sm_store *store, const char *dir,
		    const struct sm_run_options *o, struct sm_vm **out,
		    struct sm_error *err)
{
	struct sm_vm *h;
	int ret;

	if (!store || !dir || !out)
		return sm_err(err, -EINVAL,
			      "sm_vm_restore: a store, a directory and a "
			      "handle are required");
	h = run_handle_new(o, err);
	if (!h)
		return err ? err->code : -ENOMEM;
	ret = read_shape(h, store, dir, err);
	if (!ret)
		ret = vm_restore(&h->vc, dir, &h->w.vm, err);
	if (ret) {
		run_handle_free(h);
		return ret;
	}
	*out = h;
	return 0;
}
