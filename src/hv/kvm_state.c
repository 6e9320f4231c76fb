/*
 * KVM backend: snapshot blobs (sections) and the VM-wide state: the
 * in-kernel PICs and IOAPIC, the PIT and kvmclock. The vCPU state is in
 * kvm_vcpu_state.c.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hv/hv.h"
#include "hv/kvm_internal.h"
#include "util/buf.h"
#include "util/error.h"

static const char vm_tag[4] = {'H', 'V', 'M', '1'};

enum {
	VM_PIC_MASTER = 1,
	VM_PIC_SLAVE,
	VM_IOAPIC,
	VM_PIT2,
	VM_CLOCK,
	VM_NSEC,
};

void hv_sec_put(struct sm_buf *b, uint32_t id, const void *p, size_t len)
{
	sm_buf_put_u32(b, id);
	sm_buf_put_u32(b, (uint32_t)len);
	sm_buf_put(b, p, len);
}

int hv_sec_parse(const void *data, size_t len, const char tag[4], unsigned nsec,
		 const char *what, struct hv_sections *s, struct sm_error *err)
{
	const uint8_t *p = data;
	struct sm_reader r;
	char got[4];

	memset(s, 0, sizeof(*s));
	if (nsec > HV_SEC_MAX)
		return sm_err(err, -EINVAL, "%s state: too many sections",
			      what);
	sm_reader_init(&r, data, len);
	sm_get(&r, got, sizeof(got));
	if (r.bad || memcmp(got, tag, sizeof(got)))
		return sm_err(
		    err, -EINVAL,
		    "%s state: not a %.4s blob (bad tag or truncated)", what,
		    tag);
	while (r.left) {
		uint32_t id = sm_get_u32(&r), slen = sm_get_u32(&r);

		if (r.bad)
			return sm_err(err, -EINVAL,
				      "%s state: section header truncated",
				      what);
		if (!id || id >= nsec)
			return sm_err(err, -EINVAL,
				      "%s state: unknown section %u", what, id);
		if (s->have[id])
			return sm_err(err, -EINVAL,
				      "%s state: section %u appears twice",
				      what, id);
		if (slen > r.left)
			return sm_err(err, -EINVAL,
				      "%s state: section %u is %u bytes, only "
				      "%zu left: truncated or corrupt",
				      what, id, slen, r.left);
		s->have[id] = true;
		s->p[id] = p + (len - r.left);
		s->len[id] = slen;
		r.p += slen;
		r.left -= slen;
	}
	return 0;
}

int hv_sec_want(const struct hv_sections *s, unsigned id, size_t size,
		bool optional, const char *what, const char *name,
		struct sm_error *err)
{
	if (!s->have[id])
		return optional ? 1
				: sm_err(err, -EINVAL, "%s state: no %s", what,
					 name);
	if (size && s->len[id] != size)
		return sm_err(err, -EINVAL,
			      "%s state: %s is %u bytes, expected %zu", what,
			      name, s->len[id], size);
	return 0;
}

int hv_vm_save(struct hv_vm *vm, struct sm_buf *out, struct sm_error *err)
{
	struct sm_buf b = {0};
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int ret = 0;

	memset(chip, 0, sizeof(chip));
	sm_buf_put(&b, vm_tag, sizeof(vm_tag));
	for (unsigned i = 0; i < 3; i++) {
		chip[i].chip_id = i; /* PIC master, PIC slave, IOAPIC */
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip[i]) < 0) {
			ret = sm_err_errno(err, "KVM_GET_IRQCHIP %u", i);
			goto out;
		}
		hv_sec_put(&b, VM_PIC_MASTER + i, &chip[i], sizeof(chip[i]));
	}
	memset(&pit, 0, sizeof(pit));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0) {
		ret = sm_err_errno(err, "KVM_GET_PIT2");
		goto out;
	}
	hv_sec_put(&b, VM_PIT2, &pit, sizeof(pit));
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		ret = sm_err_errno(err, "KVM_GET_CLOCK");
		goto out;
	}
	hv_sec_put(&b, VM_CLOCK, &clock, sizeof(clock));
	if (b.oom) {
		ret = sm_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	sm_buf_put(out, b.data, b.len);
	if (out->oom)
		ret = sm_err(err, -ENOMEM, "out of memory");
out:
	sm_buf_free(&b);
	return ret;
}

static const char *const chip_names[] = {"PIC master", "PIC slave", "IOAPIC"};

/* Every section is checked before the first ioctl changes the VM. */
static int check_vm(const struct hv_sections *s, struct sm_error *err)
{
	int ret = hv_sec_want(s, VM_PIT2, sizeof(struct kvm_pit_state2), false,
			      "VM", "PIT", err);

	if (!ret)
		ret = hv_sec_want(s, VM_CLOCK, sizeof(struct kvm_clock_data),
				  false, "VM", "kvmclock", err);
	for (unsigned i = 0; !ret && i < 3; i++) {
		struct kvm_irqchip chip;

		ret = hv_sec_want(s, VM_PIC_MASTER + i, sizeof(chip), false,
				  "VM", chip_names[i], err);
		if (ret)
			break;
		memcpy(&chip, s->p[VM_PIC_MASTER + i], sizeof(chip));
		if (chip.chip_id != i)
			ret = sm_err(err, -EINVAL,
				     "VM state: %s section holds chip %u",
				     chip_names[i], chip.chip_id);
	}
	return ret;
}

/*
 * Order as Firecracker's: PIT, then kvmclock, then the interrupt
 * controllers; none of them depends on another, but all must be in place
 * before a vCPU runs (the guest reads kvmclock on its first timer tick).
 */
int hv_vm_restore(struct hv_vm *vm, const void *data, size_t len,
		  struct sm_error *err)
{
	struct hv_sections s;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct kvm_irqchip chip;
	int ret = hv_sec_parse(data, len, vm_tag, VM_NSEC, "VM", &s, err);

	if (!ret)
		ret = check_vm(&s, err);
	if (ret)
		return ret;
	memcpy(&pit, s.p[VM_PIT2], sizeof(pit));
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return sm_err_errno(err, "KVM_SET_PIT2");
	memcpy(&clock, s.p[VM_CLOCK], sizeof(clock));
	/*
	 * flags 0: the guest's clock goes on from the saved value, so the
	 * time the VM spent saved is invisible to it (no jump, no watchdog
	 * complaints); the wall clock is set from the host after a restore.
	 * The other fields are outputs of KVM_GET_CLOCK.
	 */
	clock.flags = 0;
	clock.realtime = 0;
	clock.host_tsc = 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return sm_err_errno(err, "KVM_SET_CLOCK");
	for (unsigned i = 0; i < 3; i++) {
		memcpy(&chip, s.p[VM_PIC_MASTER + i], sizeof(chip));
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return sm_err_errno(err, "KVM_SET_IRQCHIP (%s)",
					    chip_names[i]);
	}
	return 0;
}
