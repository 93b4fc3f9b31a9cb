// SPDX-License-Identifier: GPL-2.0
/*
 * x86 vCPU setup.  The boot vCPU starts directly in 64-bit mode at the
 * kernel's 64-bit entry (boot.rst, "64-bit Boot Protocol"): paging on with
 * an identity map, __BOOT_CS/__BOOT_DS loaded, RSI = &boot_params.  The
 * others stay in KVM's wait-for-SIPI state; the guest kernel wakes them with
 * INIT/SIPI through the in-kernel local APIC, as on hardware.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "x86/boot.h"
#include "x86/cpuid.h"
#include "x86/layout.h"
#include "x86/vcpu-debug.h"

#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_CD_NW (3ULL << 29)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_DEF_TYPE_E (1ULL << 11)
#define MTRR_TYPE_WRBACK 6

static int set_cpuid(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *sup = vcpu->vm->arch.cpuid;
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int r;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sz);
	cpuid_fixup(c->entries, c->nent, vcpu->id, vcpu->vm->cfg.nr_vcpus);
	r = __kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, "KVM_SET_CPUID2",
			(unsigned long)c);
	free(c);
	return r;
}

/*
 * Firmware would enable MTRRs with write-back as the default type; without
 * it Linux treats all memory as uncached in its PAT bookkeeping.
 */
static int set_msrs(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m = {
		.hdr.nmsrs = 2,
		.e = {
			{ .index = MSR_IA32_MISC_ENABLE,
			  .data = MISC_ENABLE_FAST_STRING },
			{ .index = MSR_MTRR_DEF_TYPE,
			  .data = MTRR_DEF_TYPE_E | MTRR_TYPE_WRBACK },
		},
	};
	int r = kvm_ioctl(vcpu->fd, KVM_SET_MSRS, &m.hdr);

	return r < 0 ? r : (r == 2 ? 0 : -EIO);
}

static int set_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	return kvm_ioctl(vcpu->fd, KVM_SET_FPU, &fpu);
}

static void flat_segment(struct kvm_segment *s, u16 sel, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = code ? 0xb : 0x3, /* execute/read or read/write, accessed */
		.present = 1, .dpl = 0, .s = 1, .g = 1,
		.l = code, .db = !code,
	};
}

static int set_long_mode(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = vcpu->vm->arch.kernel_entry, /* the 64-bit entry point */
		.rsi = vcpu->vm->arch.boot_params_gpa,
		.rsp = BOOT_STACK_GPA,
		.rflags = 2, /* reserved bit 1; IF clear */
	};
	int r;

	r = kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	if (r)
		return r;
	flat_segment(&sregs.cs, BOOT_CS, true);
	flat_segment(&sregs.ds, BOOT_DS, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* VMX insists on a usable TR; a 64-bit busy TSS at 0 will do. */
	sregs.tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb,
					 .present = 1 };
	sregs.gdt.base = BOOT_GDT_GPA;
	sregs.gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	sregs.cr3 = BOOT_PML4_GPA;
	sregs.cr4 |= X86_CR4_PAE;
	sregs.cr0 |= X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
	sregs.efer |= EFER_LME | EFER_LMA;
	r = kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs);
	if (r)
		return r;
	return kvm_ioctl(vcpu->fd, KVM_SET_REGS, &regs);
}

int arch_vcpu_init(struct vcpu *vcpu)
{
	int r, khz;

	r = set_cpuid(vcpu);
	/*
	 * Read now, while no vCPU runs: a vCPU ioctl waits for KVM_RUN to
	 * return, which for a guest that rarely exits may take long
	 * (migration's header wants it while the guest runs).
	 */
	if (!r && vcpu->id == 0) {
		khz = kvm_ioctl_val(vcpu->fd, KVM_GET_TSC_KHZ, 0);
		vcpu->vm->arch.tsc_khz = khz > 0 ? khz : 0;
	}
	if (!r)
		r = set_msrs(vcpu);
	if (!r)
		r = set_fpu(vcpu);
	if (!r && vcpu->id == 0)
		r = set_long_mode(vcpu);
	return r;
}

int arch_vcpu_handle_exit(struct vcpu *vcpu)
{
	return -ENOSYS;
}

/* Read guest code at a virtual address through the vCPU's page tables. */
static int read_code(struct vcpu *vcpu, const struct kvm_sregs *s, u64 gva,
		     u8 *buf, unsigned int len)
{
	void *hva;
	u64 gpa;

	if (x86_vcpu_translate(vcpu, s, gva, &gpa))
		return -EFAULT;
	/* Stay within the page: the next one may map elsewhere. */
	len = MIN(len, 4096 - (gva & 4095));
	hva = gpa_to_hva(&vcpu->vm->mem, gpa, len);
	if (!hva)
		return -ENXIO;
	memcpy(buf, hva, len);
	return len;
}

/* The linear address of RIP: in 64-bit code the CS base is ignored. */
static u64 rip_linear(const struct kvm_sregs *s, u64 rip)
{
	return s->cs.l ? rip : s->cs.base + rip;
}

/*
 * On AMD, KVM puts a vCPU back to its power-on state when the guest
 * triple-faults (svm.c, shutdown_interception: the VMCB is undefined
 * after a SHUTDOWN intercept), so what we read afterwards is the reset
 * vector, not the crash.  Intel keeps the faulting state.  Say so rather
 * than let a reader hunt for a bug at f000:fff0.
 */
static bool is_reset_state(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	return r->rip == 0xfff0 && s->cs.selector == 0xf000 &&
	       (s->cr0 & ~(u64)X86_CR0_CD_NW) == X86_CR0_ET;
}

/* Why read_code() found no bytes, as the dump says it. */
static const char *code_missing(int err)
{
	if (err == -ENXIO)
		return " (not in guest RAM)";
	return err < 0 ? " (not mapped)" : "";
}

void arch_vcpu_describe(struct vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	u8 code[16];
	int n, i, got;

	if (kvm_ioctl(vcpu->fd, KVM_GET_REGS, &regs) ||
	    kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs)) {
		snprintf(buf, len, "  (registers unavailable)");
		return;
	}
	n = snprintf(buf, len,
		     "  RIP %016llx RSP %016llx RFLAGS %08llx\n"
		     "  RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n"
		     "  CR0 %016llx CR3 %016llx CR4 %016llx EFER %llx CS %04x\n"
		     "  code at RIP:",
		     regs.rip, regs.rsp, regs.rflags, regs.rax, regs.rbx,
		     regs.rcx, regs.rdx, sregs.cr0, sregs.cr3, sregs.cr4,
		     sregs.efer, sregs.cs.selector);
	got = read_code(vcpu, &sregs, rip_linear(&sregs, regs.rip), code,
			sizeof(code));
	for (i = 0; i < got && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - n, " %02x", code[i]);
	if (got < 0 && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "%s", code_missing(got));
	if (vcpu->run->exit_reason == KVM_EXIT_SHUTDOWN &&
	    is_reset_state(&regs, &sregs) && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n,
			 "\n  (the power-on state: KVM on AMD resets a vCPU that"
			 " triple-faults, so the crash's registers are lost)");
}

static int dump_segment(char *buf, size_t len, const char *name,
			const struct kvm_segment *s)
{
	return snprintf(buf, len,
			"  %-3s sel %04x base %016llx limit %08x type %x%s%s%s dpl %u\n",
			name, s->selector, s->base, s->limit, s->type,
			s->present ? " P" : "", s->l ? " L" : "",
			s->db ? " DB" : "", s->dpl);
}

/* KVM_GET_MP_STATE's states, as `lkvm debug` shows them (api.rst 4.38). */
static const char *mp_state_name(u32 state)
{
	switch (state) {
	case KVM_MP_STATE_RUNNABLE:
		return "runnable";
	case KVM_MP_STATE_UNINITIALIZED:
		return "not started: waiting for INIT";
	case KVM_MP_STATE_INIT_RECEIVED:
		return "waiting for SIPI";
	case KVM_MP_STATE_HALTED:
		return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED:
		return "SIPI received";
	default:
		return "unknown";
	}
}

int arch_vcpu_dump(struct vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp;
	size_t n = 0;
	u8 code[16];
	int i, got;

	if (kvm_ioctl(vcpu->fd, KVM_GET_REGS, &r) ||
	    kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return -EIO;
	if (kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp))
		mp.mp_state = ~0U;

#define OUT(...)                                                         \
	do {                                                             \
		if (n < len)                                             \
			n += snprintf(buf + n, len - n, __VA_ARGS__);    \
	} while (0)
	OUT("vCPU %u (mp_state %u, %s)\n", vcpu->id, mp.mp_state,
	    mp_state_name(mp.mp_state));
	OUT("  RIP %016llx RFLAGS %016llx\n", r.rip, r.rflags);
	OUT("  RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
	    r.rax, r.rbx, r.rcx, r.rdx);
	OUT("  RSI %016llx RDI %016llx RBP %016llx RSP %016llx\n",
	    r.rsi, r.rdi, r.rbp, r.rsp);
	OUT("  R8  %016llx R9  %016llx R10 %016llx R11 %016llx\n",
	    r.r8, r.r9, r.r10, r.r11);
	OUT("  R12 %016llx R13 %016llx R14 %016llx R15 %016llx\n",
	    r.r12, r.r13, r.r14, r.r15);
	OUT("  CR0 %016llx CR2 %016llx CR3 %016llx CR4 %016llx\n",
	    s.cr0, s.cr2, s.cr3, s.cr4);
	OUT("  CR8 %016llx EFER %016llx APIC_BASE %016llx\n",
	    s.cr8, s.efer, s.apic_base);
	if (n < len) n += dump_segment(buf + n, len - n, "CS", &s.cs);
	if (n < len) n += dump_segment(buf + n, len - n, "DS", &s.ds);
	if (n < len) n += dump_segment(buf + n, len - n, "ES", &s.es);
	if (n < len) n += dump_segment(buf + n, len - n, "SS", &s.ss);
	if (n < len) n += dump_segment(buf + n, len - n, "FS", &s.fs);
	if (n < len) n += dump_segment(buf + n, len - n, "GS", &s.gs);
	if (n < len) n += dump_segment(buf + n, len - n, "TR", &s.tr);
	OUT("  GDT base %016llx limit %04x  IDT base %016llx limit %04x\n",
	    s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
	OUT("  code at RIP:");
	got = read_code(vcpu, &s, rip_linear(&s, r.rip), code, sizeof(code));
	for (i = 0; i < got; i++)
		OUT(" %02x", code[i]);
	OUT("%s\n", code_missing(got));
#undef OUT
	return 0;
}

int arch_vcpu_nmi(struct vcpu *vcpu)
{
	return kvm_ioctl_val(vcpu->fd, KVM_NMI, 0);
}
