/* Saving a VM to a snapshot directory and applying one to a new VM. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "snapshot/snapshot.h"
#include "util/error.h"
#include "virtio/device.h"
#include "vmm/vm.h"

/* VM_INFO: what a restoring VM must match before anything is applied. */
static void put_vm_info(struct vm *vm, struct sm_buf *b)
{
	sm_buf_put_u32(b, vm->ncpus);
	sm_buf_put_u32(b, vm->mem.nregions);
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		sm_buf_put_u64(b, vm->mem.regions[i].gpa);
		sm_buf_put_u64(b, vm->mem.regions[i].size);
	}
	sm_buf_put_u32(b, vm->nvirtio);
	for (unsigned i = 0; i < vm->nvirtio; i++)
		sm_buf_put_u32(b, vm->virtio[i]->ops->device_id);
}

static int check_vm_info(struct vm *vm, const struct snap_record *r,
			 struct sm_error *err)
{
	struct sm_reader rd;
	uint32_t n;

	if (!r)
		return sm_err(err, -EINVAL, "snapshot has no VM description");
	sm_reader_init(&rd, r->data, r->len);
	if (sm_get_u32(&rd) != vm->ncpus)
		return sm_err(err, -EINVAL, "snapshot has another vCPU count");
	n = sm_get_u32(&rd);
	if (n != vm->mem.nregions)
		return sm_err(err, -EINVAL,
			      "snapshot has another memory layout");
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = sm_get_u64(&rd), size = sm_get_u64(&rd);

		if (gpa != vm->mem.regions[i].gpa ||
		    size != vm->mem.regions[i].size)
			return sm_err(err, -EINVAL,
				      "snapshot has another memory size");
	}
	n = sm_get_u32(&rd);
	if (n != vm->nvirtio)
		return sm_err(err, -EINVAL, "snapshot has other devices");
	for (unsigned i = 0; i < n; i++)
		if (sm_get_u32(&rd) != vm->virtio[i]->ops->device_id)
			return sm_err(err, -EINVAL,
				      "snapshot has other devices");
	if (rd.bad || rd.left)
		return sm_err(err, -EINVAL,
			      "snapshot VM description is malformed");
	return 0;
}

/* The machine's configuration the caller gives (NULL: none). */
struct conf {
	const void *data;
	size_t len;
};

static int collect(struct vm *vm, struct snap_writer *w,
		   const struct conf *conf, struct sm_error *err)
{
	int ret;

	put_vm_info(vm, snap_begin(w, SNAP_REC_VM_INFO, 0));
	ret = snap_end(w, err);
	if (!ret)
		ret = hv_vm_save(vm->hv, snap_begin(w, SNAP_REC_HV_VM, 0), err);
	if (!ret)
		ret = snap_end(w, err);
	for (unsigned i = 0; !ret && i < vm->ncpus; i++) {
		ret = hv_vcpu_save(vm->vcpus[i].hv,
				   snap_begin(w, SNAP_REC_HV_VCPU, i), err);
		if (!ret)
			ret = snap_end(w, err);
	}
	for (unsigned i = 0; !ret && i < vm->ndevices; i++) {
		ret = vm->devices[i].ops->save(
		    vm->devices[i].dev, snap_begin(w, SNAP_REC_DEVICE, i));
		ret =
		    ret ? sm_err(err, ret, "%s state", vm->devices[i].ops->name)
			: snap_end(w, err);
	}
	for (unsigned i = 0; !ret && i < vm->nvirtio; i++) {
		ret = virtio_mmio_save(vm->virtio[i],
				       snap_begin(w, SNAP_REC_VIRTIO, i));
		ret = ret ? sm_err(err, ret, "virtio-%s state",
				   vm->virtio[i]->ops->name)
			  : snap_end(w, err);
	}
	if (!ret && conf->data)
		ret = snap_put(w, SNAP_REC_VM_CONF, 0, conf->data, conf->len,
			       err);
	return ret;
}

/* dir, or (dir NULL) the two descriptors: the VM paused and frozen
 * while its state and memory are written */
static int save_to(struct vm *vm, const char *dir, int memory_fd, int state_fd,
		   const struct conf *conf, struct sm_error *err)
{
	struct snap_writer w;
	char path[PATH_MAX];
	int ret;

	ret = vm_pause(vm);
	if (ret)
		return sm_err(err, ret, "snapshot: the VM stopped");
	/* device threads (network RX, vsock I/O) would still write guest
	 * memory and move queue indices after their device was saved */
	for (unsigned i = 0; i < vm->nvirtio; i++)
		virtio_freeze(vm->virtio[i]);
	snap_writer_init(&w);
	ret = collect(vm, &w, conf, err);
	if (!ret && dir) {
		snprintf(path, sizeof(path), "%s/" SNAP_MEMORY_FILE, dir);
		ret = gm_save_file(&vm->mem, path, err);
		snprintf(path, sizeof(path), "%s/" SNAP_STATE_FILE, dir);
		if (!ret)
			ret = snap_write_file(&w, path, err);
	} else if (!ret) {
		ret = gm_save_fd(&vm->mem, memory_fd, err);
		if (!ret)
			ret = snap_write_fd(&w, state_fd, err);
	}
	for (unsigned i = 0; i < vm->nvirtio; i++)
		virtio_thaw(vm->virtio[i]);
	vm_resume(vm);
	snap_writer_free(&w);
	return ret;
}

int snapshot_save(struct vm *vm, const char *dir, const void *conf,
		  size_t conf_len, struct sm_error *err)
{
	struct conf c = {conf, conf_len};
	int ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sm_err_errno(err, "snapshot directory %s", dir);
	ret = save_to(vm, dir, -1, -1, &c, err);
	return ret ? sm_err_wrap(err, ret, "snapshot %s", dir) : 0;
}

int snapshot_save_fds(struct vm *vm, int memory_fd, int state_fd,
		      const void *conf, size_t conf_len, struct sm_error *err)
{
	struct conf c = {conf, conf_len};
	int ret = save_to(vm, NULL, memory_fd, state_fd, &c, err);

	return ret ? sm_err_wrap(err, ret, "snapshot") : 0;
}

int snapshot_open(struct vm *vm, const char *dir, struct snap_file *f,
		  struct sm_error *err)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/" SNAP_STATE_FILE, dir);
	ret = snap_read_file(f, path, err);
	if (!ret)
		ret = check_vm_info(vm, snap_find(f, SNAP_REC_VM_INFO, 0), err);
	return ret ? sm_err_wrap(err, ret, "restore %s", dir) : 0;
}

int snapshot_restore_vm(struct vm *vm, const struct snap_file *f,
			struct sm_error *err)
{
	const struct snap_record *r = snap_find(f, SNAP_REC_HV_VM, 0);

	if (!r)
		return sm_err(err, -EINVAL, "snapshot has no hypervisor state");
	return hv_vm_restore(vm->hv, r->data, r->len, err);
}

int snapshot_restore_cpus_devices(struct vm *vm, const struct snap_file *f,
				  struct sm_error *err)
{
	const struct snap_record *r;
	int ret;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		r = snap_find(f, SNAP_REC_HV_VCPU, i);
		if (!r)
			return sm_err(err, -EINVAL, "snapshot lacks vCPU %u",
				      i);
		ret = hv_vcpu_restore(vm->vcpus[i].hv, r->data, r->len, err);
		if (ret)
			return sm_err_wrap(err, ret, "vCPU %u", i);
	}
	for (unsigned i = 0; i < vm->ndevices; i++) {
		const char *name = vm->devices[i].ops->name;

		r = snap_find(f, SNAP_REC_DEVICE, i);
		if (!r)
			return sm_err(err, -EINVAL,
				      "snapshot has no state of the %s "
				      "(device %u)",
				      name, i);
		ret = vm->devices[i].ops->restore(vm->devices[i].dev, r->data,
						  r->len, err);
		if (ret)
			return sm_err_wrap(err, ret,
					   "snapshot state of the %s (device "
					   "%u)",
					   name, i);
	}
	for (unsigned i = 0; i < vm->nvirtio; i++) {
		const char *name = vm->virtio[i]->ops->name;

		r = snap_find(f, SNAP_REC_VIRTIO, i);
		if (!r)
			return sm_err(err, -EINVAL,
				      "snapshot has no state of virtio-%s "
				      "(slot %u)",
				      name, i);
		ret = virtio_mmio_restore(vm->virtio[i], r->data, r->len, err);
		if (ret) {
			sm_err_wrap(err, ret,
				    "snapshot state of virtio-%s (slot %u)",
				    name, i);
			return ret;
		}
	}
	return 0;
}
