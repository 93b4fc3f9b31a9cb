// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keeps the emulated L1's KVM from patching its own code while
 * L2 guests run (tests/lib/l1-init.sh starts it before the plan).
 *
 * KVM keeps two static keys, apic_sw_disabled and apic_hw_disabled, that
 * count the vCPUs whose local APIC is disabled.  Each L2 boot moves the
 * first from 0 to 1 (a new vCPU's APIC starts software-disabled) and back
 * to 0 about a second after the guest enables it; at each such edge the
 * kernel rewrites every jump-label site of the key with text_poke_bp(),
 * while the other L1 CPU may be running those very sites for an L2 vCPU.
 * QEMU's multi-threaded TCG does not always get that cross-modification
 * right: the CPU that runs the site can spin there for good.  The L1
 * wedges we caught stop exactly there: a soft lockup with RIP at the jump
 * of __apic_accept_irq ("e9 82 01 00 00"), and silent L1s with both CPUs
 * in exc_int3 or asm_exc_int3, the trap text_poke_bp() plants.
 *
 * One idle vCPU whose APIC is disabled both ways holds each count above
 * zero for L1's lifetime, so after this program's start neither key
 * changes, and nothing is patched under a running L2.  It never runs
 * the vCPU.  It returns once the vCPU is there (exit 0, one line), and
 * leaves a child that holds it until killed; exit 1 on a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_DEFAULT_BASE 0xfee00000ULL	/* the enable bit (11) clear */

static int fail(const char *what)
{
	printf("kvm-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msr = {
		.hdr.nmsrs = 1,
		.entry = { .index = MSR_IA32_APICBASE, .data = APIC_DEFAULT_BASE },
	};
	int kvm, vm, vcpu;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* An in-kernel local APIC, created software-disabled. */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	/* Hardware-disabled too: the enable bit of IA32_APIC_BASE clear. */
	if (ioctl(vcpu, KVM_SET_MSRS, &msr) != 1)
		return fail("KVM_SET_MSRS IA32_APIC_BASE");
	switch (fork()) {
	case -1:
		return fail("fork");
	case 0:
		for (;;)
			pause();
	}
	printf("kvm-hold: holding a vCPU with its APIC disabled\n");
	return 0;
}
