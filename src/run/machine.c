/*
 * The machine a run builds (src/run/handle.h): its virtio-fs shares (the
 * rootfs and the volume slots), its caps, its network and published
 * ports, its volumes.
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
#include "run/handle.h"

static const char *const slot_tags[VOL_SLOTS] = {
    "smvol0", "smvol1", "smvol2", "smvol3", "smvol4", "smvol5",
};

/*
 * Volume slots: virtio-fs devices after the rootfs, fixed in number so a
 * template fits every run; each serves its volume's directory, or when
 * unused an empty read-only root made of no host file, served with no
 * thread of its own (src/fuse/empty.c; the guest never mounts an unused
 * slot). See docs/volumes.md.
 */
void run_fill_slots(struct vm_config *vc, const char *const *dirs,
		    const bool *ro)
{
	vc->nshares = 1 + VOL_SLOTS;
	for (unsigned i = 0; i < VOL_SLOTS; i++)
		vc->shares[1 + i] = (struct virtio_fs_config){
		    .tag = slot_tags[i],
		    .dir = dirs[i],
		    .read_only = dirs[i] ? ro[i] : 1,
		    .empty = !dirs[i], /* no thread, no host file */
		};
}

/* The caps of o (0: each device's default) on every share. */
void run_share_caps(struct vm_config *vc, const struct sm_run_options *o)
{
	for (unsigned i = 0; i < vc->nshares; i++) {
		vc->shares[i].max_nodes = o->share_max_nodes;
		vc->shares[i].max_handles = o->share_max_files;
		vc->shares[i].max_dax_mappings = o->share_max_dax_maps;
	}
}

void run_slots_from_set(const struct vol_set *set, const char **dirs, bool *ro)
{
	for (size_t i = 0; i < set->n; i++) {
		int s = set->m[i].slot;

		if (s >= 0 && s < VOL_SLOTS) {
			dirs[s] = set->m[i].host_dir;
			ro[s] = set->m[i].read_only;
		}
	}
}

void run_slot_files(struct vm_config *vc, const struct vol_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		int s = set->m[i].slot;

		if (s >= 0 && s < VOL_SLOTS && set->m[i].is_file &&
		    (unsigned)s + 1 < vc->nshares)
			vc->shares[1 + s].file_name = SM_VOL_FILE_NAME;
	}
}

int run_fill_config(const struct oci_image *img, const struct sm_run_options *o,
		    const struct vol_set *vols, struct vm_config *vc,
		    char *kernel, char *initrd, struct sm_error *err)
{
	int ret =
	    run_asset("kernel", o->kernel, "vmlinux", kernel, PATH_MAX, err);
	const char *dirs[VOL_SLOTS] = {0};
	bool ro[VOL_SLOTS] = {0};

	if (!ret)
		ret = run_asset("initrd", o->initrd, "initramfs.cpio", initrd,
				PATH_MAX, err);
	vc->kernel = kernel;
	vc->initrd = initrd;
	vc->cpus = o->cpus ? o->cpus : 1;
	vc->memory_mib = o->memory_mib ? o->memory_mib : DEFAULT_MEMORY_MIB;
	vc->console_fd = o->verbose >= 2 ? o->stderr_fd : -1;
	vc->cmdline = o->rootfs ? RUN_CMDLINE_ROOTFS : RUN_CMDLINE;
	vc->shares[0] = (struct virtio_fs_config){
	    .tag = ROOTFS_TAG,
	    .dir = img->rootfs,
	    .read_only = o->rootfs ? o->rootfs_readonly : 1,
	    .dax_window = o->rootfs ? 0 : DEFAULT_DAX_WINDOW};
	run_slots_from_set(vols, dirs, ro);
	run_fill_slots(vc, dirs, ro);
	run_slot_files(vc, vols);
	run_share_caps(vc, o);
	return ret;
}

/* ---- networking (docs/networking.md) ---- */

/* The forwards -p and -P ask for. */
static int collect_ports(const struct oci_image *img,
			 const struct sm_run_options *o, struct net_port *ports,
			 unsigned *n, struct sm_error *err)
{
	int ret = 0;

	*n = 0;
	for (const char *const *p = o->publish; !ret && p && *p; p++)
		ret = net_parse_publish(*p, ports, NET_MAX_PORTS, n, err);
	if (o->publish_all && img && img->config.exposed_ports)
		for (char **e = img->config.exposed_ports; !ret && *e; e++)
			ret =
			    net_parse_exposed(*e, ports, NET_MAX_PORTS, n, err);
	return ret;
}

/*
 * Opens this VM's own backend (published ports bound now, before the
 * process runs) and adds the device to the config. The device is the
 * same for every VM of a template; the backend is per VM.
 */
int run_setup_network(struct sm_vm *h, const struct oci_image *img,
		      const struct sm_run_options *o, bool force,
		      struct sm_error *err)
{
	struct net_port ports[NET_MAX_PORTS];
	unsigned n;
	char list[1024];
	int ret;

	if (o->network && strcmp(o->network, "none") == 0 && !force) {
		if (o->publish && o->publish[0])
			return sm_err(
			    err, -EINVAL,
			    "-p needs a network: not with --network none");
		return 0;
	}
	ret = collect_ports(img, o, ports, &n, err);
	if (!ret)
		ret = net_open(force && o->network &&
				       strcmp(o->network, "none") == 0
				   ? NULL
				   : o->network,
			       ports, n, &h->net, err);
	if (ret)
		return ret;
	/* one MAC for all: clones of a template share what the guest read */
	h->netcfg = (struct virtio_net_config){
	    .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
	    .backend = h->net,
	    .rx_queue_max = h->o.net_max_rx_frames,
	};
	if (h->net->mac_set) /* a tap standing in for a host interface */
		memcpy(h->netcfg.mac, h->net->mac, sizeof(h->netcfg.mac));
	h->vc.net = &h->netcfg;
	h->spec.network = true;
	h->spec.net_text = h->net->guest_net[0] ? h->net->guest_net : NULL;
	if (h->net->nports && net_format_ports(h->net->ports, h->net->nports,
					       list, sizeof(list)) == 0)
		note(&h->o, "supermachine: published %s", list);
	return 0;
}

SM_API int sm_vm_ports(struct sm_vm *h, char *buf, size_t size,
		       struct sm_error *err)
{
	if (!h || !buf)
		return sm_err(err, -EINVAL,
			      "sm_vm_ports: a VM and a buffer are required");
	if (!h->net) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	if (net_format_ports(h->net->ports, h->net->nports, buf, size))
		return sm_err(err, -ENOSPC,
			      "sm_vm_ports: buffer of %zu bytes too small",
			      size);
	return 0;
}

/* The guest targets of the volume slots, for a snapshot's vm.conf. */
void run_shape_from_run(struct sm_vm *h)
{
	/* a bundle's root (o->rootfs) is no image: "" (no snapshot) */
	snprintf(h->shape.image, sizeof(h->shape.image), "%s",
		 h->img->manifest_digest
		     ? h->img->manifest_digest + strlen("sha256:")
		     : "");
	/* a hostname the user chose goes with the snapshot; a drawn one
	 * is drawn again for each clone */
	if (h->o.hostname && *h->o.hostname && h->spec.hostname)
		h->shape.hostname = strdup(h->spec.hostname);
	for (size_t i = 0; i < h->vols.n; i++) {
		const struct vol_mount *m = &h->vols.m[i];

		if (m->slot < 0 || m->slot >= VOL_SLOTS)
			continue;
		h->shape.slot[m->slot].used = true;
		h->shape.slot[m->slot].read_only = m->read_only;
		h->shape.slot[m->slot].file = m->is_file;
		snprintf(h->shape.slot[m->slot].target,
			 sizeof(h->shape.slot[m->slot].target), "%s",
			 m->target);
	}
}

int run_volumes_setup(struct sm_store *store, const struct oci_image *img,
		      const struct sm_run_options *o, struct vol_set *vols,
		      struct sm_error *err)
{
	char cwd[PATH_MAX];
	int ret;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0'; /* relative bind sources then fail clearly */
	ret = vol_plan(o->volumes, o->mounts, o->tmpfs, img->config.volumes,
		       cwd, vols, err);
	if (!ret)
		ret = vol_prepare(vols, store->root, img->rootfs,
				  img->owners_in_xattr, err);
	return ret;
}

SM_API int sm_vm_anonymous_volumes(struct sm_vm *h, char *buf, size_t size,
				   struct sm_error *err)
{
	size_t at = 0;

	if (!h || !buf || !size)
		return sm_err(
		    err, -EINVAL,
		    "sm_vm_anonymous_volumes: a VM and a buffer are required");
	buf[0] = '\0';
	for (size_t i = 0; i < h->vols.n; i++) {
		const char *d = h->vols.m[i].anon_dir;
		int n;

		if (!d)
			continue;
		n = snprintf(buf + at, size - at, "%s\n", d);
		if (n < 0 || (size_t)n >= size - at) {
			buf[at] = '\0';
			return sm_err(
			    err, -ENOSPC,
			    "anonymous volumes: %zu bytes are too few", size);
		}
		at += (size_t)n;
	}
	return 0;
}
