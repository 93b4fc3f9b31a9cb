/* SPDX-License-Identifier: GPL-2.0 */
/* x86 state embedded in the generic struct vm and struct vcpu. */
#ifndef LKVM_X86_ARCH_VM_H
#define LKVM_X86_ARCH_VM_H

#include "kvm/types.h"

struct kvm_cpuid2;

/* The MADT lists xAPIC IDs, one byte each, and 0xff is the broadcast ID. */
#define ARCH_MAX_VCPUS 255
/* The boot structures live below 1 MiB; the kernel needs more above. */
#define ARCH_MIN_RAM_MIB 2

struct arch_vm {
	u64 low_ram_end;	 /* end of RAM below the 32-bit PCI hole */
	u64 boot_params_gpa;	 /* the zero page */
	u64 rsdp_gpa;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, filtered */
};

struct arch_vcpu {
	int unused;
};

#endif
