// SPDX-License-Identifier: GPL-2.0
#include "x86/cpuid.h"

#define CPUID_1_EDX_HTT (1U << 28)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define TOPO_LEVEL_INVALID 0
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2

unsigned int cpuid_core_shift(unsigned int nr_cpus)
{
	unsigned int shift = 0;

	while ((1U << shift) < nr_cpus)
		shift++;
	return shift;
}

/* Leaves 0xB and 0x1F: the extended topology, one sub-leaf per level. */
static void fix_ext_topology(struct kvm_cpuid_entry2 *e, unsigned int apic_id,
			     unsigned int nr_cpus)
{
	switch (e->index) {
	case 0: /* SMT: one thread per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1: /* core: every vCPU is a core of package 0 */
		e->eax = cpuid_core_shift(nr_cpus);
		e->ebx = nr_cpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = (TOPO_LEVEL_INVALID << 8) | e->index;
		break;
	}
	e->edx = apic_id;
}

void cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned int nent,
		 unsigned int apic_id, unsigned int nr_cpus)
{
	unsigned int i, cache_level, shift = cpuid_core_shift(nr_cpus);

	for (i = 0; i < nent; i++, e++) {
		switch (e->function) {
		case 1:
			/*
			 * EBX[31:24] initial APIC ID, [23:16] logical CPUs.
			 * Counts saturate: a wrapped count (256 -> 0) would
			 * tell the guest it has fewer CPUs than it has.
			 */
			e->ebx = (e->ebx & 0xffff) | ((apic_id & 0xff) << 24) |
				 (MIN(nr_cpus, 255U) << 16);
			if (nr_cpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 4:
			/* EAX[31:26] cores per package - 1, [25:14] sharing. */
			cache_level = (e->eax >> 5) & 7;
			e->eax &= 0x3fff;
			e->eax |= (MIN(nr_cpus, 64U) - 1) << 26;
			if (cache_level == 3)
				e->eax |= (MIN(nr_cpus, 4096U) - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			fix_ext_topology(e, apic_id, nr_cpus);
			break;
		case 0x80000008:
			/* AMD: ECX[15:12] APIC ID core bits, [7:0] cores - 1. */
			e->ecx = (e->ecx & ~0xf0ffU) | ((shift & 0xf) << 12) |
				 (MIN(nr_cpus, 256U) - 1);
			break;
		case 0x8000001e:
			/* AMD: extended APIC ID, core (compute unit), node 0. */
			e->eax = apic_id;
			e->ebx = (e->ebx & ~0xffffU) | (apic_id & 0xff);
			e->ecx = 0;
			break;
		}
	}
}

void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *e, unsigned int nent)
{
	unsigned int i;

	for (i = 0; i < nent; i++)
		if (e[i].function == 1)
			e[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
}
