// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm debug --walk [GVA]`: translate a guest virtual address, or the
 * vCPU's RIP, through a parked vCPU's own page tables, so a developer can
 * see why an address faults without attaching gdb.  `lkvm debug` shows
 * the walk of RIP under each vCPU's registers.  The walk itself is
 * x86/pgwalk.c; this file reads the vCPU's paging state and guest RAM
 * for it.
 */
#include <errno.h>
#include <string.h>

#include "kvm/control-proto.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "kvm/vm-control.h"
#include "x86/pgwalk.h"
#include "x86/vcpu-debug.h"

#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_LA57 (1ULL << 12)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

static int read_guest(void *opaque, u64 gpa, void *buf, size_t len)
{
	const void *hva = gpa_to_hva(opaque, gpa, len);

	if (!hva)
		return -EFAULT;
	memcpy(buf, hva, len);
	return 0;
}

static bool long_mode_paging(const struct kvm_sregs *s)
{
	return (s->cr0 & X86_CR0_PG) && (s->efer & EFER_LMA) &&
	       (s->cr4 & X86_CR4_PAE);
}

static int walk(struct vcpu *vcpu, const struct kvm_sregs *s, u64 gva,
		struct pgwalk *w)
{
	return pgwalk_x86(s->cr3, gva, s->cr4 & X86_CR4_LA57 ? 5 : 4,
			  s->efer & EFER_NXE, read_guest, &vcpu->vm->mem, w);
}

/*
 * In long mode, the guest's own page tables decide, as `debug --walk`
 * shows them.  KVM_TRANSLATE checks a supervisor data read, which SMAP
 * refuses on a user page: a vCPU paused in user mode would have no code
 * at RIP while its walk found the page.  Outside long mode (the reset
 * state, a guest that left it) KVM's answer is the one we have.
 */
int x86_vcpu_translate(struct vcpu *vcpu, const struct kvm_sregs *s,
		       u64 gva, u64 *gpa)
{
	struct kvm_translation tr = { .linear_address = gva };
	struct pgwalk w;

	if (long_mode_paging(s)) {
		if (walk(vcpu, s, gva, &w) || w.fault != PGWALK_OK)
			return -EFAULT;
		*gpa = w.gpa;
		return 0;
	}
	if (kvm_ioctl(vcpu->fd, KVM_TRANSLATE, &tr) || !tr.valid)
		return -EFAULT;
	*gpa = tr.physical_address;
	return 0;
}

int arch_vcpu_pgwalk(struct vcpu *vcpu, bool at_pc, unsigned long long gva,
		     struct control_reply *r)
{
	struct kvm_sregs s;
	struct kvm_regs regs;
	struct pgwalk w;
	char text[1024];
	int ret;

	if (kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return -EIO;
	if (at_pc) {
		if (kvm_ioctl(vcpu->fd, KVM_GET_REGS, &regs))
			return -EIO;
		/* In 64-bit code the CS base is ignored. */
		gva = s.cs.l ? regs.rip : s.cs.base + regs.rip;
		control_reply_printf(r, "walk of RIP: ");
	}
	if (!long_mode_paging(&s)) {
		control_reply_printf(r, "vCPU %u is not in long-mode paging "
				     "(CR0 %llx CR4 %llx EFER %llx)", vcpu->id,
				     s.cr0, s.cr4, s.efer);
		return -EOPNOTSUPP;
	}
	ret = walk(vcpu, &s, gva, &w);
	if (ret == -EINVAL) {
		control_reply_printf(r, "0x%llx is not a canonical address", gva);
		return ret;
	}
	pgwalk_format(&w, text, sizeof(text));
	control_reply_printf(r, "%s", text);
	return ret;
}
