// SPDX-License-Identifier: GPL-2.0
/*
 * x86's part of a migration (kvm/vm.h, "arch_mig_*", "arch_*_save/load"):
 * the CPU model in the header, the in-kernel irqchip, PIT and kvmclock,
 * and every vCPU's registers.
 *
 * KVM's get and set ioctls are not independent; the orders below are the
 * ones known to work (QEMU's, and Firecracker's vcpu.rs after its bugs):
 *
 * Save, with the vCPU parked:
 *   - KVM_GET_MP_STATE first: it runs the LAPIC's pending INIT/SIPI
 *     (kvm_apic_accept_events) and so may change the rest;
 *   - KVM_GET_VCPU_EVENTS last: the other getters may leave an
 *     exception or interrupt pending, which it must see.
 * Load, before any vCPU runs:
 *   - the VM-wide state first (arch_vm_load): irqchip, PIT, and the
 *     kvmclock (KVM_SET_CLOCK before any vCPU runs, or the guest sees
 *     its clock jump);
 *   - per vCPU: MP state, regs, sregs (which carry the APIC base: xAPIC
 *     or x2APIC), FPU/XSAVE, XCRs, debug regs, then the LAPIC, then the
 *     MSRs, then the events;
 *   - the LAPIC before the MSRs: KVM drops a TSC_DEADLINE write, silently,
 *     while the LAPIC's timer is not in TSC-deadline mode (kata-containers
 *     PR 13798, Firecracker's note in vcpu.rs);
 *   - IA32_TSC before TSC_DEADLINE: KVM arms the deadline against the
 *     guest's TSC, so the TSC must be the guest's already (Firecracker
 *     issue 4099, PR 4666; PR 4618 papered over the same loss);
 *   - the events after the regs: KVM_SET_REGS drops a pending exception,
 *     which KVM_SET_VCPU_EVENTS puts back.
 * KVM_KVMCLOCK_CTRL comes last, when the guest is about to run (vm.c).
 *
 * MSRs: what KVM_GET_MSR_INDEX_LIST names, filtered to those this vCPU
 * can read (some are listed but absent on this CPU), with IA32_TSC moved
 * first and IA32_TSC_DEADLINE last.
 *
 * Each piece of a vCPU section is tagged (u32 kind, u32 size, bytes), so
 * a stream from another KVM whose structures differ is refused by size,
 * not misread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>

#include "kvm/kvm.h"
#include "kvm/migrate-stream.h"
#include "kvm/vm.h"
#include "x86/cpuid.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_CHUNK 128
#define XSAVE_MIN 4096

enum vcpu_piece {
	P_MP_STATE = 1, P_REGS, P_SREGS, P_XSAVE, P_FPU, P_XCRS, P_DEBUGREGS,
	P_LAPIC, P_MSRS, P_EVENTS,
};

/* ---- what this VM's vCPUs have ---- */

static int xsave_size(struct vm *vm)
{
	int n;

	if (!kvm_cap(vm->vm_fd, KVM_CAP_XSAVE))
		return 0;
	n = kvm_cap(vm->vm_fd, KVM_CAP_XSAVE2);
	return n > XSAVE_MIN ? n : XSAVE_MIN;
}

/*
 * Keep those of @idx[*n] that vCPU 0 can read, in order.  KVM_GET_MSRS
 * reads in order and stops at the first it cannot: ask for a chunk, keep
 * what it read, skip the one it refused, ask for the rest.  One call per
 * refused MSR, not one per MSR (in the emulated L1, each call counts).
 */
static int msr_filter(struct vcpu *vcpu, u32 *idx, u32 *n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} m;
	u32 at = 0, kept = 0, i;
	int r;

	while (at < *n) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = MIN(*n - at, (u32)MSR_CHUNK);
		for (i = 0; i < m.hdr.nmsrs; i++)
			m.e[i].index = idx[at + i];
		r = kvm_ioctl(vcpu->fd, KVM_GET_MSRS, &m.hdr);
		if (r < 0)
			return r;
		for (i = 0; i < (u32)r; i++)
			idx[kept++] = idx[at + i];
		at += r + ((u32)r < m.hdr.nmsrs);
	}
	*n = kept;
	return 0;
}

/* The MSRs to migrate, once per VM: TSC first, TSC_DEADLINE last. */
static int msr_list(struct vm *vm)
{
	struct kvm_msr_list *l;
	u32 n = 0, i, *out;
	bool deadline = false;
	int r;

	if (vm->arch.msrs)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	/* E2BIG tells the count; then ask again with room for it. */
	r = kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l);
	if (r == -E2BIG) {
		n = l->nmsrs;
		free(l);
		l = calloc(1, sizeof(*l) + n * sizeof(u32));
		if (!l)
			return -ENOMEM;
		l->nmsrs = n;
		r = kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l);
	}
	out = r ? NULL : calloc(l->nmsrs + 2, sizeof(u32));
	if (r || !out) {
		free(l);
		return r ? r : -ENOMEM;
	}
	n = 0;
	out[n++] = MSR_IA32_TSC;
	for (i = 0; i < l->nmsrs; i++) {
		if (l->indices[i] == MSR_IA32_TSC_DEADLINE)
			deadline = true;
		else if (l->indices[i] != MSR_IA32_TSC)
			out[n++] = l->indices[i];
	}
	if (deadline)
		out[n++] = MSR_IA32_TSC_DEADLINE;
	free(l);
	r = msr_filter(&vm->vcpus[0], out, &n);
	if (r) {
		free(out);
		return r;
	}
	vm->arch.msrs = out;
	vm->arch.nr_msrs = n;
	return 0;
}

/* ---- the header: the CPU model ---- */

/*
 * vCPU 0's CPUID, as x86/cpu.c gives it: what KVM supports, with our
 * topology.  Raw, KVM_GET_SUPPORTED_CPUID names the host CPU that ran
 * the ioctl in leaf 1, so it differs between two calls on one host.
 */
static struct kvm_cpuid2 *cpuid_of_vcpu0(struct vm *vm)
{
	const struct kvm_cpuid2 *sup = vm->arch.cpuid;
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);

	if (c) {
		memcpy(c, sup, sz);
		cpuid_fixup(c->entries, c->nent, 0, vm->cfg.nr_vcpus);
	}
	return c;
}

void arch_mig_header_put(struct vm *vm, struct state_out *o)
{
	struct kvm_cpuid2 *c = cpuid_of_vcpu0(vm);
	const struct kvm_cpuid_entry2 *e;
	u32 i;

	/* Nothing here may ask a vCPU: they run (see x86/cpu.c). */
	if (!c) {
		o->err = -ENOMEM;
		return;
	}
	state_put_u32(o, EM_X86_64);
	state_put_u32(o, vm->arch.tsc_khz);
	state_put_u32(o, xsave_size(vm));
	state_put_u32(o, c->nent);
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		state_put_u32(o, e->function);
		state_put_u32(o, e->index);
		state_put_u32(o, e->flags);
		state_put_u32(o, e->eax);
		state_put_u32(o, e->ebx);
		state_put_u32(o, e->ecx);
		state_put_u32(o, e->edx);
	}
	free(c);
}

static void check_cpuid_entry(struct state_in *in,
			      const struct kvm_cpuid_entry2 *e)
{
	static const char *const reg[] = { "eax", "ebx", "ecx", "edx" };
	u32 f = state_get_u32(in), idx = state_get_u32(in);
	u32 fl = state_get_u32(in), v[4], h[4] = { e->eax, e->ebx, e->ecx,
						   e->edx };
	int i;

	for (i = 0; i < 4; i++)
		v[i] = state_get_u32(in);
	if (in->err)
		return;
	if (f != e->function || idx != e->index || fl != e->flags) {
		state_fail(in, "CPUID: leaf 0x%x.%u at the source, 0x%x.%u here",
			   f, idx, e->function, e->index);
		return;
	}
	for (i = 0; i < 4; i++)
		if (v[i] != h[i]) {
			state_fail(in, "CPUID 0x%x.%u %s: 0x%08x here, 0x%08x at the source (another CPU or KVM)",
				   f, idx, reg[i], h[i], v[i]);
			return;
		}
}

/*
 * The guest keeps the TSC rate it booted with: KVM scales it here if it
 * can (KVM_CAP_TSC_CONTROL), else the hosts must match.
 */
static void check_tsc(struct vm *vm, struct state_in *in, u32 khz)
{
	u32 here = vm->arch.tsc_khz;
	unsigned int i;

	if (!khz || !here || here == khz)
		return;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (kvm_ioctl_val(vm->vcpus[i].fd, KVM_SET_TSC_KHZ, khz))
			break;
	if (i < vm->nr_vcpus)
		state_fail(in, "TSC: %u kHz here, %u kHz at the source, and KVM cannot scale it",
			   here, khz);
}

int arch_mig_header_check(struct vm *vm, struct state_in *in)
{
	struct kvm_cpuid2 *c;
	u32 machine, khz, xs, nent, i;

	machine = state_get_u32(in);
	khz = state_get_u32(in);
	xs = state_get_u32(in);
	nent = state_get_u32(in);
	if (in->err)
		return in->err;
	if (machine != EM_X86_64)
		return state_fail(in, "the source is not an x86-64 guest");
	if (xs != (u32)xsave_size(vm))
		return state_fail(in, "XSAVE area: %d bytes here, %u at the source",
				  xsave_size(vm), xs);
	c = cpuid_of_vcpu0(vm);
	if (!c)
		return -ENOMEM;
	if (nent != c->nent)
		state_fail(in, "CPUID: %u leaves here, %u at the source (another CPU or KVM)",
			   c->nent, nent);
	for (i = 0; i < nent && !in->err; i++)
		check_cpuid_entry(in, &c->entries[i]);
	free(c);
	if (!in->err)
		check_tsc(vm, in, khz);
	/*
	 * No vCPU runs here yet: learn the MSRs now, while RAM comes, not
	 * inside the downtime (arch_vcpu_load() tries again if this fails).
	 */
	if (!in->err)
		msr_list(vm);
	return in->err;
}

int arch_mig_source_prepare(struct vm *vm)
{
	return msr_list(vm);
}

/* ---- VM-wide: irqchip, PIT, clock ---- */

int arch_vm_save(struct vm *vm, struct state_out *o)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = {};
	u32 id;
	int r;

	for (id = KVM_IRQCHIP_PIC_MASTER; id <= KVM_IRQCHIP_IOAPIC; id++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = id;
		r = kvm_ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip);
		if (r)
			return r;
		state_put(o, &chip, sizeof(chip));
	}
	r = kvm_ioctl(vm->vm_fd, KVM_GET_PIT2, &pit);
	if (!r)
		r = kvm_ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock);
	if (r)
		return r;
	state_put(o, &pit, sizeof(pit));
	state_put_u64(o, clock.clock);
	return o->err;
}

int arch_vm_load(struct vm *vm, struct state_in *in)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = {};
	u32 id;
	int r;

	for (id = KVM_IRQCHIP_PIC_MASTER; id <= KVM_IRQCHIP_IOAPIC; id++) {
		state_get(in, &chip, sizeof(chip));
		if (!in->err && chip.chip_id != id)
			state_fail(in, "irqchip %u where %u was expected",
				   chip.chip_id, id);
		if (in->err)
			return in->err;
		r = kvm_ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip);
		if (r)
			return state_fail(in, "KVM_SET_IRQCHIP %u: %s", id,
					  strerror(-r));
	}
	state_get(in, &pit, sizeof(pit));
	clock.clock = state_get_u64(in);
	if (in->err)
		return in->err;
	r = kvm_ioctl(vm->vm_fd, KVM_SET_PIT2, &pit);
	if (r)
		return state_fail(in, "KVM_SET_PIT2: %s", strerror(-r));
	/* Before any vCPU runs: the guest's clock goes on where it was. */
	r = kvm_ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock);
	if (r)
		return state_fail(in, "KVM_SET_CLOCK: %s", strerror(-r));
	return 0;
}

/* ---- one vCPU ---- */

static void put_piece(struct state_out *o, u32 kind, const void *p,
		      size_t size)
{
	state_put_u32(o, kind);
	state_put_u32(o, size);
	state_put(o, p, size);
}

/* The next piece must be @kind of @size bytes; NULL (and why) if not. */
static const void *get_piece(struct state_in *in, u32 kind, size_t size)
{
	u32 k = state_get_u32(in), n = state_get_u32(in);

	if (!in->err && (k != kind || n != size)) {
		state_fail(in, "piece %u of %u bytes where %u of %zu was expected",
			   k, n, kind, size);
		return NULL;
	}
	return state_get_ptr(in, size);
}

/* Read the listed MSRs, MSR_CHUNK at a time (KVM caps one call). */
static int save_msrs(struct vcpu *vcpu, struct state_out *o)
{
	struct vm *vm = vcpu->vm;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} m;
	u32 i, j, n;
	int r;

	state_put_u32(o, P_MSRS);
	state_put_u32(o, vm->arch.nr_msrs);
	for (i = 0; i < vm->arch.nr_msrs; i += n) {
		n = MIN(vm->arch.nr_msrs - i, (u32)MSR_CHUNK);
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = n;
		for (j = 0; j < n; j++)
			m.e[j].index = vm->arch.msrs[i + j];
		r = kvm_ioctl(vcpu->fd, KVM_GET_MSRS, &m.hdr);
		if (r < 0)
			return r;
		if ((u32)r != n)
			return -EIO;
		for (j = 0; j < n; j++) {
			state_put_u32(o, m.e[j].index);
			state_put_u64(o, m.e[j].data);
		}
	}
	return 0;
}

static int get_xsave(struct vcpu *vcpu, struct state_out *o)
{
	int size = xsave_size(vcpu->vm), r;
	struct kvm_fpu fpu;
	void *x;

	if (!size) {
		r = kvm_ioctl(vcpu->fd, KVM_GET_FPU, &fpu);
		if (!r)
			put_piece(o, P_FPU, &fpu, sizeof(fpu));
		return r;
	}
	x = calloc(1, size);
	if (!x)
		return -ENOMEM;
	r = size > XSAVE_MIN ?
		    __kvm_ioctl(vcpu->fd, KVM_GET_XSAVE2, "KVM_GET_XSAVE2",
				(unsigned long)x) :
		    kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, (struct kvm_xsave *)x);
	if (!r)
		put_piece(o, P_XSAVE, x, size);
	free(x);
	return r;
}

#define GET(cmd, kind, var)                                             \
	do {                                                            \
		r = kvm_ioctl(vcpu->fd, cmd, &var);                     \
		if (r)                                                  \
			return r;                                       \
		put_piece(o, kind, &var, sizeof(var));                  \
	} while (0)

int arch_vcpu_save(struct vcpu *vcpu, struct state_out *o)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs = {};
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	int r;

	r = msr_list(vcpu->vm);
	if (r)
		return r;
	GET(KVM_GET_MP_STATE, P_MP_STATE, mp);	/* first: see above */
	GET(KVM_GET_REGS, P_REGS, regs);
	GET(KVM_GET_SREGS, P_SREGS, sregs);
	r = get_xsave(vcpu, o);
	if (r)
		return r;
	if (kvm_cap(vcpu->vm->vm_fd, KVM_CAP_XCRS))
		GET(KVM_GET_XCRS, P_XCRS, xcrs);
	else
		put_piece(o, P_XCRS, &xcrs, sizeof(xcrs));
	GET(KVM_GET_DEBUGREGS, P_DEBUGREGS, dbg);
	GET(KVM_GET_LAPIC, P_LAPIC, lapic);
	r = save_msrs(vcpu, o);
	if (r)
		return r;
	GET(KVM_GET_VCPU_EVENTS, P_EVENTS, ev);	/* last: see above */
	return o->err;
}

#undef GET

/* Write @n MSRs; KVM says how many it took, so name the one it refused. */
static int set_msr_chunk(struct vcpu *vcpu, struct kvm_msrs *m, u32 n,
			 struct state_in *in)
{
	int r;

	m->nmsrs = n;
	r = kvm_ioctl(vcpu->fd, KVM_SET_MSRS, m);
	if (r < 0)
		return state_fail(in, "KVM_SET_MSRS: %s", strerror(-r));
	if ((u32)r != n)
		return state_fail(in, "KVM refused MSR 0x%x = 0x%llx",
				  m->entries[r].index,
				  (unsigned long long)m->entries[r].data);
	return 0;
}

/*
 * In the order saved (TSC first, TSC_DEADLINE last), in chunks.  Only
 * MSRs this VM would save itself: another list means another CPU/KVM.
 */
static int load_msrs(struct vcpu *vcpu, struct state_in *in)
{
	struct vm *vm = vcpu->vm;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} m;
	u32 n, i, k = 0;
	int r;

	if (state_get_u32(in) != P_MSRS && !in->err)
		return state_fail(in, "MSRs missing");
	n = state_get_u32(in);
	if (!in->err && n != vm->arch.nr_msrs)
		return state_fail(in, "%u MSRs at the source, %u here", n,
				  vm->arch.nr_msrs);
	for (i = 0; i < n && !in->err; i++) {
		memset(&m.e[k], 0, sizeof(m.e[k]));
		m.e[k].index = state_get_u32(in);
		m.e[k].data = state_get_u64(in);
		if (!in->err && m.e[k].index != vm->arch.msrs[i])
			return state_fail(in, "MSR 0x%x where 0x%x was expected",
					  m.e[k].index, vm->arch.msrs[i]);
		if (++k == MSR_CHUNK || i == n - 1) {
			r = in->err ? in->err : set_msr_chunk(vcpu, &m.hdr, k, in);
			if (r)
				return r;
			k = 0;
		}
	}
	return in->err;
}

static int set_xsave(struct vcpu *vcpu, struct state_in *in)
{
	int size = xsave_size(vcpu->vm);
	const void *p = get_piece(in, size ? P_XSAVE : P_FPU,
				  size ? (size_t)size : sizeof(struct kvm_fpu));
	void *x;
	int r;

	if (!p)
		return in->err;
	if (!size)
		return kvm_ioctl(vcpu->fd, KVM_SET_FPU, (struct kvm_fpu *)p);
	/* Our own, aligned copy: the stream's bytes are at any offset. */
	x = malloc(size);
	if (!x)
		return -ENOMEM;
	memcpy(x, p, size);
	r = kvm_ioctl(vcpu->fd, KVM_SET_XSAVE, (struct kvm_xsave *)x);
	free(x);
	return r;
}

/* The next piece into @var (our copy: the stream's may be unaligned). */
static bool take_piece(struct state_in *in, u32 kind, void *var, size_t size)
{
	const void *p = get_piece(in, kind, size);

	if (p)
		memcpy(var, p, size);
	return p;
}

#define SET(cmd, kind, var)                                             \
	do {                                                            \
		if (!take_piece(in, kind, &var, sizeof(var)))           \
			return in->err;                                 \
		r = kvm_ioctl(vcpu->fd, cmd, &var);                     \
		if (r)                                                  \
			return state_fail(in, #cmd ": %s", strerror(-r)); \
	} while (0)

int arch_vcpu_load(struct vcpu *vcpu, struct state_in *in)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	int r;

	r = msr_list(vcpu->vm);
	if (r)
		return r;
	SET(KVM_SET_MP_STATE, P_MP_STATE, mp);
	SET(KVM_SET_REGS, P_REGS, regs);
	SET(KVM_SET_SREGS, P_SREGS, sregs);	/* APIC base, before LAPIC */
	r = set_xsave(vcpu, in);
	if (r)
		return in->err ? in->err : state_fail(in, "KVM_SET_XSAVE: %s",
						      strerror(-r));
	if (kvm_cap(vcpu->vm->vm_fd, KVM_CAP_XCRS)) {
		SET(KVM_SET_XCRS, P_XCRS, xcrs);
	} else if (!get_piece(in, P_XCRS, sizeof(xcrs))) {
		return in->err;
	}
	SET(KVM_SET_DEBUGREGS, P_DEBUGREGS, dbg);
	SET(KVM_SET_LAPIC, P_LAPIC, lapic);	/* before the MSRs */
	r = load_msrs(vcpu, in);		/* TSC before TSC_DEADLINE */
	if (r)
		return r;
	/* Get's flags name what it filled; these two it always fills. */
	if (!take_piece(in, P_EVENTS, &ev, sizeof(ev)))
		return in->err;
	ev.flags &= KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
		    KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	r = kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
	if (r)
		return state_fail(in, "KVM_SET_VCPU_EVENTS: %s", strerror(-r));
	return 0;
}

#undef SET
