/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPUID for a vCPU: what KVM supports (KVM_GET_SUPPORTED_CPUID, which also
 * carries the KVM paravirt leaves 0x40000000+ for kvmclock and friends),
 * with the topology made true for this VM: APIC ID = vCPU index, all vCPUs
 * cores of one package, one thread per core.
 */
#ifndef LKVM_X86_CPUID_H
#define LKVM_X86_CPUID_H

#include <linux/kvm.h>

#include "kvm/types.h"

void cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned int nent,
		 unsigned int apic_id, unsigned int nr_cpus);

/*
 * Offer the local APIC's TSC-deadline timer mode (leaf 1 ECX[24]).
 * KVM_GET_SUPPORTED_CPUID leaves it out because it depends on the
 * in-kernel APIC; KVM_CAP_TSC_DEADLINE_TIMER says it is there (api.rst).
 * Linux then programs its timer with one MSR write, not the APIC's
 * initial-count register.
 */
void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *e, unsigned int nent);

/* Bits needed to hold nr_cpus - 1: the core-level APIC ID shift. */
unsigned int cpuid_core_shift(unsigned int nr_cpus);

#endif
