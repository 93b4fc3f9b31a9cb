/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst), as pure
 * builders: the zero page (boot_params) with its e820 map, the initrd's
 * place, the identity page tables and the GDT.  x86/kvm.c writes what these
 * build into guest memory and sets the vCPU registers.
 */
#ifndef LKVM_X86_BOOT_H
#define LKVM_X86_BOOT_H

#include <asm/bootparam.h>

#include "kvm/types.h"
#include "x86/bzimage.h"

struct boot_layout {
	u64 low_ram_end;   /* RAM is [0, low_ram_end) ... */
	u64 high_ram_size; /* ... and [4 GiB, 4 GiB + high_ram_size) */
	u64 cmdline_gpa;
	u64 initrd_gpa, initrd_size; /* size 0: no initrd */
	u64 rsdp_gpa;
};

/* Split @ram_size around the 32-bit PCI hole. */
void boot_split_ram(u64 ram_size, u64 *low_end, u64 *high_size);

/* The e820 map for this RAM layout, minus the legacy holes. */
void boot_e820_build(struct boot_params *bp, u64 low_ram_end, u64 high_ram_size);

/*
 * The end of the memory the kernel uses while it decompresses and starts:
 * nothing we place (the initrd) may sit below it.
 */
u64 boot_kernel_end(const struct bzimage *bz);

/*
 * Choose where the initrd goes: as high as possible below both the end of
 * low RAM and initrd_addr_max, page aligned, above boot_kernel_end().
 * Returns 0 or -ENOSPC.
 */
int boot_place_initrd(const struct bzimage *bz, u64 low_ram_end, u64 size,
		      u64 *gpa);

/*
 * Whether a word of @cmdline starts with @prefix ("console=" is in
 * "quiet console=hvc0" but not in "netconsole=...").
 */
bool boot_cmdline_has(const char *cmdline, const char *prefix);

void boot_params_build(struct boot_params *bp, const struct bzimage *bz,
		       const struct boot_layout *l);

/* Identity map of the first 4 GiB with 2 MiB pages: PML4, PDPT, 4 PDs. */
void boot_page_tables(u64 *pml4, u64 *pdpt, u64 *pd);

/* GDT with the __BOOT_CS (64-bit code) and __BOOT_DS (flat data) entries. */
#define BOOT_GDT_ENTRIES 4
void boot_gdt(u64 *gdt);

/*
 * The 16 bytes at the reset vector (RESET_VECTOR_GPA).  Linux reboots
 * through it (reboot=bios) when nothing else is left, and that is its
 * default on a hardware-reduced ACPI machine without EFI, like ours: the
 * stub pulses the i8042 reset line, which lkvm turns into "rebooted".
 */
void boot_reset_vector(u8 *code);

#endif
