/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where things live in the guest's physical address space on x86.
 *
 * Low memory (below 1 MiB) holds the boot structures, in RAM the e820 map
 * marks usable, which Linux copies or rebuilds early (boot.rst: "the
 * kernel should consider the zero page and command line as usable memory
 * once it has copied them").  0xE0000-0xFFFFF is where legacy firmware lives
 * and where Linux scans for the ACPI RSDP, so the ACPI tables go there.
 *
 * Above RAM: a 32-bit PCI hole from 3 GiB to 4 GiB for BARs, virtio-mmio
 * devices, the IOAPIC and the local APIC; RAM beyond 3 GiB continues at
 * 4 GiB.
 */
#ifndef LKVM_X86_LAYOUT_H
#define LKVM_X86_LAYOUT_H

#define BOOT_GDT_GPA 0x500ULL
#define BOOT_PARAMS_GPA 0x7000ULL
#define BOOT_PML4_GPA 0x9000ULL
#define BOOT_PDPT_GPA 0xa000ULL
#define BOOT_PD_GPA 0xb000ULL	 /* four pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_GPA 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_STACK_GPA 0x8ff0ULL
#define EBDA_GPA 0x9fc00ULL
#define BIOS_AREA_GPA 0xe0000ULL /* ACPI tables: 0xE0000..0xFFFEF */
#define BIOS_AREA_SIZE 0x1fff0ULL
/* The x86 reset vector, F000:FFF0: a stub that asks lkvm to reboot. */
#define RESET_VECTOR_GPA 0xffff0ULL
#define RESET_VECTOR_SIZE 16
#define KERNEL_GPA 0x100000ULL

#define PCI_HOLE_START 0xc0000000ULL
#define PCI_MMIO_BASE 0xc0000000ULL	/* BARs are allocated from here */
#define PCI_MMIO_SIZE 0x3eb00000ULL	/* ...up to virtio-mmio's windows */
/* virtio-mmio devices: a page each, up to the IOAPIC (as QEMU microvm). */
#define VIRTIO_MMIO_GPA 0xfeb00000ULL
#define VIRTIO_MMIO_STRIDE 0x1000ULL
#define IOAPIC_GPA 0xfec00000ULL
#define LAPIC_GPA 0xfee00000ULL
/* Needed by Intel VMX for real mode emulation; outside RAM and BARs. */
#define TSS_GPA 0xfffbd000ULL
#define IDENTITY_MAP_GPA 0xfffbc000ULL
#define HIGH_RAM_START 0x100000000ULL

#define BOOT_CS 0x10 /* boot.rst: __BOOT_CS */
#define BOOT_DS 0x18 /* boot.rst: __BOOT_DS */

#endif
