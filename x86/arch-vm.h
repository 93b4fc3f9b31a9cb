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

/*
 * Platform constants that generic code needs.  The serial console is
 * COM1: an 8250 at port 0x3f8 on ISA IRQ 4, as every PC has it, so a
 * stock kernel finds it with no firmware tables.
 */
#define ARCH_CONSOLE_ON_PIO true
#define ARCH_CONSOLE_BASE 0x3f8
#define ARCH_CONSOLE_IRQ 4
#define ARCH_CONSOLE_NAME "ttyS0"
/* Where kvmtool looks first when no -k is given: a kernel tree's output. */
#define ARCH_DEFAULT_KERNEL "arch/x86/boot/bzImage"

/* virtio-mmio devices: one IOAPIC pin each (x86/kvm.c lists them). */
#define ARCH_VIRTIO_MMIO_MAX 14

struct arch_vm {
	u64 low_ram_end;	 /* end of RAM below the 32-bit PCI hole */
	u64 boot_params_gpa;	 /* the zero page */
	u64 kernel_entry;	 /* its 64-bit entry: bzImage +0x200, vmlinux's ELF entry */
	u64 rsdp_gpa;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, filtered */
	u32 *msrs;		 /* migration: the MSRs to move (x86/migrate.c) */
	u32 nr_msrs;
	u32 tsc_khz;		 /* vCPU 0's, read at setup (0: unknown) */
	/* virtio-mmio devices, in the DSDT: window i at VIRTIO_MMIO_GPA + i pages */
	u32 virtio_mmio_gsi[ARCH_VIRTIO_MMIO_MAX];
	unsigned int nr_virtio_mmio;
};

struct arch_vcpu {
	int unused;
};

#endif
