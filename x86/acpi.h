/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ACPI tables for an x86 guest booted without firmware: RSDP, XSDT, FADT,
 * MADT and DSDT (ACPI 6.5 §5.2).  The guest kernel has no MP-table parser,
 * so the MADT is how it finds its secondary CPUs, and the FADT's sleep and
 * reset registers are how it powers off and reboots.
 *
 * The platform is "hardware-reduced" (ACPI 6.5 §4.1): no PM1 event/control
 * blocks, no GPE blocks, no SCI; events come through a Generic Event
 * Device instead.  The device side only has to implement the few I/O
 * ports below and one interrupt.
 */
#ifndef LKVM_X86_ACPI_H
#define LKVM_X86_ACPI_H

#include "kvm/types.h"

/*
 * Where the caller places the tables: the legacy BIOS area, which Linux
 * scans for the RSDP signature on 16-byte boundaries (ACPI 6.5 §5.2.5.1)
 * even without boot_params.acpi_rsdp_addr.  Mark it reserved in the e820.
 */
#define ACPI_REGION_GPA		0xe0000ULL
#define ACPI_REGION_SIZE	0x20000ULL

/*
 * SLEEP_CONTROL_REG (ACPI 6.5 §4.8.3.7): an 8-bit I/O port.  To enter Sx the
 * guest writes (SLP_TYP << 2) | SLP_EN; SLP_TYP for S5 (soft off) is the
 * value in the DSDT's \_S5 package.  A write with SLP_EN set and
 * SLP_TYP == ACPI_S5_SLP_TYP means "power off".
 */
#define ACPI_SLEEP_CTL_PORT	0x600
#define ACPI_SLEEP_TYP_SHIFT	2
#define ACPI_SLEEP_TYP_MASK	(0x7 << ACPI_SLEEP_TYP_SHIFT)
#define ACPI_SLEEP_EN		(1 << 5)
#define ACPI_S5_SLP_TYP		5

/*
 * SLEEP_STATUS_REG (ACPI 6.5 §4.8.3.8): an 8-bit I/O port.  Linux writes
 * WAK_STS (write-one-to-clear) before it sleeps; reads may return 0, since
 * the guest never wakes from S5.
 */
#define ACPI_SLEEP_STS_PORT	0x601
#define ACPI_WAKE_STS		(1 << 7)

/*
 * RESET_REG (ACPI 6.5 §4.8.3.6): the guest writes ACPI_RESET_VALUE to this
 * 8-bit I/O port.  It is the PIIX/ICH reset control register, so Linux's
 * reboot=pci also lands here (it writes 0x02 then 0x06): reset on any write
 * with ACPI_RESET_CPU set.
 */
#define ACPI_RESET_PORT		0xcf9
#define ACPI_RESET_VALUE	0x06
#define ACPI_RESET_CPU		(1 << 2)

/*
 * QEMU's pvpanic ISA port; the guest's pvpanic driver writes the event bits
 * of <misc/pvpanic.h> (PVPANIC_PANICKED, PVPANIC_CRASH_LOADED) to it and
 * reads back which events the device supports.
 */
#define ACPI_PVPANIC_PORT	0x505

/* The legacy COM1 that the DSDT describes as \_SB.COM1. */
#define ACPI_COM1_PORT		0x3f8
#define ACPI_COM1_IRQ		4

/*
 * The power button (PNP0C0C) of a hardware-reduced platform sends its
 * events through a Generic Event Device (ACPI 6.5 §5.6.9, "ACPI0013"):
 * lkvm pulses this GSI, an IOAPIC-only pin, edge-triggered and active
 * high, and the GED's _EVT method notifies the button (0x80: pressed),
 * which Linux's button driver turns into KEY_POWER.
 */
#define ACPI_GED_GSI		20

struct acpi_config {
	unsigned int nr_cpus;	/* local APIC IDs 0..nr_cpus-1, UIDs the same */
	u64 lapic_addr;		/* 0xfee00000 */
	u64 ioapic_addr;	/* 0xfec00000 */
	u8 ioapic_id;		/* any ID no CPU uses, e.g. nr_cpus */
	bool no_pci;		/* no \_SB.PCI0 host bridge at all */
	/* 32-bit PCI MMIO window for \_SB.PCI0; size 0 means none */
	u64 pci_mmio_base, pci_mmio_size;
	u16 pvpanic_port;	/* ACPI_PVPANIC_PORT, or 0 for no device */
	u32 ged_gsi;		/* ACPI_GED_GSI, or 0 for no power button */
	/*
	 * virtio-mmio devices (LNRO0005): device i's registers are the
	 * virtio_mmio_stride bytes at virtio_mmio_base + i * stride, its
	 * interrupt the edge-triggered GSI virtio_mmio_gsi[i].
	 */
	u64 virtio_mmio_base, virtio_mmio_stride;
	const u32 *virtio_mmio_gsi;
	unsigned int nr_virtio_mmio;
};

/*
 * Write all tables into [hva, hva + size), which the guest sees at gpa
 * (16-byte aligned, below 4 GiB).  The RSDP is at the start of the region.
 * Returns 0 and the RSDP's guest address in *rsdp_gpa, -ENOSPC if the
 * region is too small, or -EINVAL for a bad region or configuration
 * (nr_cpus outside 1..255, an MMIO window not within 4 GiB).
 */
int acpi_build(void *hva, u64 gpa, u64 size, const struct acpi_config *cfg,
	       u64 *rsdp_gpa);

#endif
