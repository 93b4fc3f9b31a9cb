// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <asm/e820.h>

#include "x86/boot.h"
#include "x86/layout.h"

void boot_split_ram(u64 ram_size, u64 *low_end, u64 *high_size)
{
	if (ram_size <= PCI_HOLE_START) {
		*low_end = ram_size;
		*high_size = 0;
	} else {
		*low_end = PCI_HOLE_START;
		*high_size = ram_size - PCI_HOLE_START;
	}
}

static void e820_add(struct boot_params *bp, u64 addr, u64 size, u32 type)
{
	struct boot_e820_entry *e;

	if (!size || bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	e = &bp->e820_table[bp->e820_entries++];
	e->addr = addr;
	e->size = size;
	e->type = type;
}

void boot_e820_build(struct boot_params *bp, u64 low_ram_end, u64 high_ram_size)
{
	bp->e820_entries = 0;
	/*
	 * Conventional memory up to the EBDA, then the legacy hole (VGA and
	 * option ROMs: not RAM, so not listed), then the BIOS area holding our
	 * ACPI tables, then extended memory.
	 */
	e820_add(bp, 0, EBDA_GPA, E820_RAM);
	e820_add(bp, EBDA_GPA, 0xa0000 - EBDA_GPA, E820_RESERVED);
	/* Tables and the reset vector: reserved up to 1 MiB. */
	e820_add(bp, BIOS_AREA_GPA, KERNEL_GPA - BIOS_AREA_GPA, E820_RESERVED);
	e820_add(bp, KERNEL_GPA, low_ram_end - KERNEL_GPA, E820_RAM);
	e820_add(bp, HIGH_RAM_START, high_ram_size, E820_RAM);
}

u64 boot_kernel_end(const struct bzimage *bz)
{
	u64 align = bz->hdr.kernel_alignment ? bz->hdr.kernel_alignment : SZ_2M;
	u64 start = KERNEL_GPA;

	/*
	 * The decompressor does not run where we load it: it moves itself to
	 * the load address rounded up to kernel_alignment, but never below
	 * LOAD_PHYSICAL_ADDR (pref_address), and needs init_size from there
	 * (arch/x86/boot/compressed/head_64.S).  A non-relocatable kernel
	 * runs at pref_address.
	 */
	if (bz->hdr.relocatable_kernel)
		start = ALIGN_UP(start, align);
	start = MAX(start, (u64)bz->hdr.pref_address);
	return start + ALIGN_UP(bz->init_size, SZ_4K);
}

int boot_place_initrd(const struct bzimage *bz, u64 low_ram_end, u64 size,
		      u64 *gpa)
{
	u64 top = MIN(low_ram_end, bz->initrd_addr_max + 1);
	u64 addr;

	if (size > top)
		return -ENOSPC;
	addr = ALIGN_DOWN(top - size, SZ_4K);
	if (addr < boot_kernel_end(bz))
		return -ENOSPC;
	*gpa = addr;
	return 0;
}

void boot_reset_vector(u8 *code)
{
	static const u8 stub[RESET_VECTOR_SIZE] = {
		0xb0, 0xfe,	/* mov al, 0xfe: pulse reset (i8042)	*/
		0xe6, 0x64,	/* out 0x64, al				*/
		0xf4,		/* 1: hlt				*/
		0xeb, 0xfd,	/* jmp 1b				*/
	};

	memcpy(code, stub, sizeof(stub));
}

void boot_params_build(struct boot_params *bp, const struct bzimage *bz,
		       const struct boot_layout *l)
{
	memset(bp, 0, sizeof(*bp));
	/* boot.rst: the setup header is copied into the zero page as is... */
	bp->hdr = bz->hdr;
	/* ...then the fields a boot loader must write. */
	bp->hdr.type_of_loader = 0xff; /* undefined boot loader */
	bp->hdr.loadflags &= ~(KEEP_SEGMENTS | CAN_USE_HEAP);
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.code32_start = KERNEL_GPA;
	bp->hdr.cmd_line_ptr = (u32)l->cmdline_gpa;
	bp->ext_cmd_line_ptr = (u32)(l->cmdline_gpa >> 32);
	bp->hdr.ramdisk_image = (u32)l->initrd_gpa;
	bp->hdr.ramdisk_size = (u32)l->initrd_size;
	bp->ext_ramdisk_image = (u32)(l->initrd_gpa >> 32);
	bp->ext_ramdisk_size = (u32)(l->initrd_size >> 32);
	/* Protocol 2.14 lets us say where the RSDP is; older kernels scan. */
	bp->acpi_rsdp_addr = l->rsdp_gpa;
	boot_e820_build(bp, l->low_ram_end, l->high_ram_size);
}

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

void boot_page_tables(u64 *pml4, u64 *pdpt, u64 *pd)
{
	unsigned int i;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (i * SZ_2M) | PTE_P | PTE_RW | PTE_PS;
}

/*
 * Descriptor encodings: base 0, limit 0xfffff with 4 KiB granularity.
 *   code: present, DPL 0, code, execute/read, accessed, L=1 (64-bit)
 *   data: present, DPL 0, data, read/write, accessed, D/B=1
 */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_DATA 0x00cf93000000ffffULL

void boot_gdt(u64 *gdt)
{
	memset(gdt, 0, BOOT_GDT_ENTRIES * sizeof(u64));
	gdt[BOOT_CS / 8] = GDT_CODE64;
	gdt[BOOT_DS / 8] = GDT_DATA;
}

bool boot_cmdline_has(const char *cmdline, const char *prefix)
{
	const char *p = cmdline;

	/* Linux splits its command line at white space (next_arg()). */
	while ((p = strstr(p, prefix))) {
		if (p == cmdline || isspace((unsigned char)p[-1]))
			return true;
		p++;
	}
	return false;
}
