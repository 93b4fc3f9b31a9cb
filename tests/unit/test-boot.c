// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for x86/boot.c: the RAM split around the PCI hole, the e820
 * map, the initrd's place, the zero page, the identity page tables and the
 * boot GDT.  The page tables are checked by walking them as the CPU would
 * (Intel SDM vol. 3, 4.5 "4-level paging"), from a small fake low memory
 * holding them at the addresses of x86/layout.h; the GDT by decoding the
 * descriptor fields (SDM vol. 3, 3.4.5 "Segment Descriptors").
 */
#include <errno.h>
#include <stdint.h>
#include <asm/e820.h>

#include "kvm/types.h"
#include "tests/unit/unit.h"
#include "x86/boot.h"
#include "x86/layout.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

static struct boot_params bp;

/* ---- boot_split_ram ---------------------------------------------------- */

static void check_split(u64 ram, u64 want_low, u64 want_high)
{
	u64 low = 0x1234, high = 0x5678;

	boot_split_ram(ram, &low, &high);
	CHECK_EQ(low, want_low);
	CHECK_EQ(high, want_high);
	CHECK_EQ(low + high, ram);
	CHECK(low <= PCI_HOLE_START);
}

static void test_split_ram(void)
{
	check_split(256 * SZ_1M, 256 * SZ_1M, 0);
	check_split(3 * SZ_1G, 3 * SZ_1G, 0);
	check_split(3 * SZ_1G + SZ_1M, 3 * SZ_1G, SZ_1M);
	check_split(8 * SZ_1G, 3 * SZ_1G, 5 * SZ_1G);
	check_split(2 * SZ_1M, 2 * SZ_1M, 0);
}

/* ---- boot_e820_build ---------------------------------------------------- */

/* Bytes of [a, a + as) inside [b, b + bs). */
static u64 overlap(u64 a, u64 as, u64 b, u64 bs)
{
	u64 lo = MAX(a, b), hi = MIN(a + as, b + bs);

	return hi > lo ? hi - lo : 0;
}

static void check_e820(u64 ram)
{
	u64 low, high, ram_total = 0, prev_end = 0;
	bool bios_reserved = false, high_at_4g = false;
	unsigned int i;

	boot_split_ram(ram, &low, &high);
	memset(&bp, 0xa5, sizeof(bp)); /* the builder must not rely on zeroes */
	boot_e820_build(&bp, low, high);

	CHECK(bp.e820_entries > 0);
	CHECK(bp.e820_entries <= E820_MAX_ENTRIES_ZEROPAGE);
	for (i = 0; i < bp.e820_entries && i < E820_MAX_ENTRIES_ZEROPAGE; i++) {
		const struct boot_e820_entry *e = &bp.e820_table[i];

		CHECK(e->size > 0);
		CHECK(e->addr + e->size > e->addr);
		/* Sorted and non-overlapping. */
		if (i)
			CHECK(e->addr >= prev_end);
		prev_end = e->addr + e->size;
		CHECK(e->type == E820_RAM || e->type == E820_RESERVED);
		if (e->type == E820_RAM) {
			ram_total += e->size;
			/* No RAM in the PCI hole, nor in the legacy hole. */
			CHECK_EQ(overlap(e->addr, e->size, PCI_HOLE_START,
					 HIGH_RAM_START - PCI_HOLE_START), 0);
			CHECK_EQ(overlap(e->addr, e->size, EBDA_GPA,
					 SZ_1M - EBDA_GPA), 0);
			/* Nor beyond the RAM there is. */
			if (e->addr < HIGH_RAM_START)
				CHECK(e->addr + e->size <= low);
			else
				CHECK(e->addr + e->size <= HIGH_RAM_START + high);
			if (e->addr == HIGH_RAM_START)
				high_at_4g = true;
		}
		if (e->type == E820_RESERVED && e->addr <= BIOS_AREA_GPA &&
		    e->addr + e->size >= 0x100000)
			bios_reserved = true;
	}
	/* Everything configured, minus the legacy hole EBDA..1 MiB. */
	CHECK_EQ(ram_total, ram - (SZ_1M - EBDA_GPA));
	CHECK(bios_reserved);
	CHECK_EQ(high_at_4g, high != 0);
	/* The kernel's load address is RAM. */
	CHECK(bp.e820_table[0].type == E820_RAM && bp.e820_table[0].addr == 0);
}

static void test_e820(void)
{
	check_e820(256 * SZ_1M);
	check_e820(2 * SZ_1G);
	check_e820(3 * SZ_1G);
	check_e820(4 * SZ_1G);
	check_e820(16 * SZ_1G);
	check_e820(2 * SZ_1M); /* the smallest lkvm accepts */
}

static void test_e820_exact_3g(void)
{
	/* 3 GiB exactly: low RAM ends at the hole, and nothing above 4 GiB. */
	boot_e820_build(&bp, 3 * SZ_1G, 0);
	for (unsigned int i = 0; i < bp.e820_entries; i++)
		CHECK(bp.e820_table[i].addr < HIGH_RAM_START);
	CHECK_EQ(bp.e820_table[bp.e820_entries - 1].addr +
			 bp.e820_table[bp.e820_entries - 1].size,
		 3 * SZ_1G);
}

/* ---- boot_place_initrd --------------------------------------------------- */

static struct bzimage make_bz(u64 init_size, u64 initrd_addr_max)
{
	struct bzimage bz;

	memset(&bz, 0, sizeof(bz));
	bz.init_size = init_size;
	bz.initrd_addr_max = initrd_addr_max;
	bz.hdr.init_size = init_size;
	bz.hdr.initrd_addr_max = initrd_addr_max;
	bz.hdr.version = 0x020f;
	return bz;
}

/* Place and check the invariants; returns the gpa or ~0 on failure. */
static u64 place_ok(const struct bzimage *bz, u64 low_end, u64 size)
{
	u64 gpa = ~0ULL, top = MIN(low_end, bz->initrd_addr_max + 1);
	int r;

	r = boot_place_initrd(bz, low_end, size, &gpa);
	CHECK_EQ(r, 0);
	if (r)
		return ~0ULL;
	CHECK_EQ(gpa & (SZ_4K - 1), 0);
	CHECK(gpa + size <= top);
	CHECK(gpa + size <= low_end);
	CHECK(gpa + size - 1 <= bz->initrd_addr_max);
	CHECK(gpa >= KERNEL_GPA + bz->init_size);
	/* As high as possible: less than a page of slack under the top. */
	CHECK(top - (gpa + size) < SZ_4K);
	return gpa;
}

static void test_place_initrd(void)
{
	struct bzimage bz = make_bz(32 * SZ_1M, 0x7fffffff);
	u64 gpa = 0x1234;

	place_ok(&bz, 256 * SZ_1M, 10 * SZ_1M + 123);
	place_ok(&bz, 256 * SZ_1M, SZ_4K);
	place_ok(&bz, 256 * SZ_1M, 1);
	/* Low RAM up to the hole; initrd_addr_max (2 GiB - 1) wins. */
	CHECK(place_ok(&bz, 3 * SZ_1G, 100 * SZ_1M) + 100 * SZ_1M <=
	      0x80000000ULL);

	/* An old-style limit of 0x37ffffff. */
	bz = make_bz(32 * SZ_1M, 0x37ffffff);
	CHECK(place_ok(&bz, 2 * SZ_1G, 5 * SZ_1M) + 5 * SZ_1M <= 0x38000000);

	/* A 4 GiB - 1 limit: low RAM (3 GiB) wins. */
	bz = make_bz(32 * SZ_1M, 0xffffffff);
	CHECK_EQ(place_ok(&bz, 3 * SZ_1G, 64 * SZ_1M), 3 * SZ_1G - 64 * SZ_1M);

	/* An init_size that is not a page multiple. */
	bz = make_bz(32 * SZ_1M + 1, 0x7fffffff);
	place_ok(&bz, 256 * SZ_1M, 200 * SZ_1M);

	/* Exactly fits between the kernel's end and the top of RAM. */
	bz = make_bz(32 * SZ_1M, 0x7fffffff);
	CHECK_EQ(place_ok(&bz, 64 * SZ_1M, 64 * SZ_1M - SZ_1M - 32 * SZ_1M),
		 SZ_1M + 32 * SZ_1M);

	/* One byte too many: it would overlap the kernel. */
	gpa = 0x1234;
	CHECK_EQ(boot_place_initrd(&bz, 64 * SZ_1M,
				   64 * SZ_1M - SZ_1M - 32 * SZ_1M + 1, &gpa),
		 -ENOSPC);
	CHECK_EQ(gpa, 0x1234); /* untouched on failure */
	/* Bigger than all of RAM, and bigger than the address space. */
	CHECK_EQ(boot_place_initrd(&bz, 64 * SZ_1M, 65 * SZ_1M, &gpa), -ENOSPC);
	CHECK_EQ(boot_place_initrd(&bz, 3 * SZ_1G, 8 * SZ_1G, &gpa), -ENOSPC);
	CHECK_EQ(boot_place_initrd(&bz, 3 * SZ_1G, ~0ULL, &gpa), -ENOSPC);
	/* Bigger than what initrd_addr_max allows, though RAM is there. */
	CHECK_EQ(boot_place_initrd(&bz, 3 * SZ_1G, 2 * SZ_1G, &gpa), -ENOSPC);
	CHECK_EQ(gpa, 0x1234);
}

/*
 * boot.rst, "init_size": the kernel needs init_size bytes from its
 * *runtime start address*, which for a relocatable kernel is
 * align_up(max(load_address, pref_address), kernel_alignment), not the
 * load address.  Loaded at 1 MiB with pref_address 16 MiB (every distro
 * kernel: CONFIG_PHYSICAL_START), the decompressor first copies itself to
 * the end of [16 MiB, 16 MiB + init_size) (head_64.S, LOAD_PHYSICAL_ADDR),
 * so an initrd placed in that window is overwritten before the kernel
 * ever sees it.
 */
static void test_place_initrd_runtime_window(void)
{
	struct bzimage bz = make_bz(0x3378000, 0x7fffffff); /* Debian 6.1 */
	u64 gpa = 0, win_start = 0x1000000, win_end = win_start + 0x3378000;
	u64 size = 70 * SZ_1M;
	int r;

	bz.hdr.pref_address = 0x1000000;
	bz.hdr.kernel_alignment = 0x200000;
	bz.hdr.relocatable_kernel = 1;

	/* 128 MiB of RAM: the initrd fits only by overlapping the window. */
	r = boot_place_initrd(&bz, 128 * SZ_1M, size, &gpa);
	if (r == 0)
		CHECK_EQ(overlap(gpa, size, win_start, win_end - win_start), 0);
	else
		CHECK_EQ(r, -ENOSPC);

	/* A small initrd with room above the window must sit above it. */
	r = boot_place_initrd(&bz, 128 * SZ_1M, 8 * SZ_1M, &gpa);
	CHECK_EQ(r, 0);
	CHECK(gpa >= win_end);
}

/* ---- boot_params_build --------------------------------------------------- */

static void test_params_build(void)
{
	struct bzimage bz = make_bz(0x3378000, 0x7fffffff);
	struct boot_layout l = {
		.low_ram_end = 3 * SZ_1G,
		.high_ram_size = 5 * SZ_1G,
		.cmdline_gpa = BOOT_CMDLINE_GPA,
		.initrd_gpa = 0x7f000000,
		.initrd_size = 0x123456,
		.rsdp_gpa = 0xe0000,
	};

	bz.hdr.setup_sects = 39;
	bz.hdr.syssize = 885280;
	bz.hdr.boot_flag = 0xaa55;
	bz.hdr.header = 0x53726448;
	bz.hdr.kernel_version = 0x3ab0;
	bz.hdr.loadflags = LOADED_HIGH | KEEP_SEGMENTS | CAN_USE_HEAP | QUIET_FLAG;
	bz.hdr.kernel_alignment = 0x200000;
	bz.hdr.relocatable_kernel = 1;
	bz.hdr.xloadflags = 0x7f;
	bz.hdr.cmdline_size = 2047;
	bz.hdr.pref_address = 0x1000000;
	bz.hdr.handover_offset = 0x190;

	memset(&bp, 0x5a, sizeof(bp)); /* stale bytes must not survive */
	boot_params_build(&bp, &bz, &l);

	/* Header copied as is... */
	CHECK_EQ(bp.hdr.setup_sects, 39);
	CHECK_EQ(bp.hdr.syssize, 885280);
	CHECK_EQ(bp.hdr.boot_flag, 0xaa55);
	CHECK_EQ(bp.hdr.header, 0x53726448);
	CHECK_EQ(bp.hdr.version, 0x020f);
	CHECK_EQ(bp.hdr.kernel_version, 0x3ab0);
	CHECK_EQ(bp.hdr.init_size, 0x3378000);
	CHECK_EQ(bp.hdr.kernel_alignment, 0x200000);
	CHECK_EQ(bp.hdr.relocatable_kernel, 1);
	CHECK_EQ(bp.hdr.xloadflags, 0x7f);
	CHECK_EQ(bp.hdr.cmdline_size, 2047);
	CHECK_EQ(bp.hdr.pref_address, 0x1000000);
	CHECK_EQ(bp.hdr.handover_offset, 0x190);
	CHECK_EQ(bp.hdr.initrd_addr_max, 0x7fffffff);
	/* ...then the loader's fields (boot.rst "Details of header fields"). */
	CHECK_EQ(bp.hdr.type_of_loader, 0xff);
	CHECK(bp.hdr.loadflags & LOADED_HIGH);
	CHECK(!(bp.hdr.loadflags & KEEP_SEGMENTS));
	CHECK(!(bp.hdr.loadflags & CAN_USE_HEAP));
	CHECK(bp.hdr.loadflags & QUIET_FLAG);
	CHECK_EQ(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	CHECK_EQ(bp.ext_cmd_line_ptr, 0);
	CHECK_EQ(bp.hdr.ramdisk_image, 0x7f000000);
	CHECK_EQ(bp.hdr.ramdisk_size, 0x123456);
	CHECK_EQ(bp.ext_ramdisk_image, 0);
	CHECK_EQ(bp.ext_ramdisk_size, 0);
	CHECK_EQ(bp.acpi_rsdp_addr, 0xe0000);
	/* The rest of the zero page is clean: sentinel 0, no stale bytes. */
	CHECK_EQ(bp.sentinel, 0);
	CHECK_EQ(bp.tboot_addr, 0);
	CHECK_EQ(bp.hdr.setup_data, 0);
	CHECK_EQ(bp.screen_info.orig_video_isVGA, 0);
	CHECK_EQ(bp.eddbuf_entries, 0);
	CHECK_EQ(bp.efi_info.efi_loader_signature, 0);

	/* The e820 map is the one boot_e820_build gives for this layout. */
	{
		static struct boot_params ref;

		boot_e820_build(&ref, l.low_ram_end, l.high_ram_size);
		CHECK_EQ(bp.e820_entries, ref.e820_entries);
		CHECK(memcmp(bp.e820_table, ref.e820_table,
			     ref.e820_entries * sizeof(ref.e820_table[0])) == 0);
		CHECK_EQ(bp.e820_table[bp.e820_entries - 1].addr,
			 HIGH_RAM_START);
		CHECK_EQ(bp.e820_table[bp.e820_entries - 1].size, 5 * SZ_1G);
	}
}

static void test_params_build_high(void)
{
	struct bzimage bz = make_bz(0x1000000, 0x7fffffff);
	struct boot_layout l = {
		.low_ram_end = 256 * SZ_1M,
		.cmdline_gpa = 0x123456789aULL,
		.initrd_gpa = 0x2fedcba000ULL,
		.initrd_size = 0x100000123ULL,
		.rsdp_gpa = 0x1f0000000ULL,
	};

	boot_params_build(&bp, &bz, &l);
	/* boot.rst: the ext_ fields carry the high 32 bits (protocol 2.12). */
	CHECK_EQ(bp.hdr.cmd_line_ptr, 0x3456789a);
	CHECK_EQ(bp.ext_cmd_line_ptr, 0x12);
	CHECK_EQ(bp.hdr.ramdisk_image, 0xedcba000);
	CHECK_EQ(bp.ext_ramdisk_image, 0x2f);
	CHECK_EQ(bp.hdr.ramdisk_size, 0x123);
	CHECK_EQ(bp.ext_ramdisk_size, 1);
	CHECK_EQ(bp.acpi_rsdp_addr, 0x1f0000000ULL);
	CHECK_EQ(bp.e820_entries, 4); /* no high RAM entry */

	/* No initrd: the ramdisk fields are all zero. */
	l.initrd_gpa = l.initrd_size = 0;
	boot_params_build(&bp, &bz, &l);
	CHECK_EQ(bp.hdr.ramdisk_image, 0);
	CHECK_EQ(bp.hdr.ramdisk_size, 0);
	CHECK_EQ(bp.ext_ramdisk_image, 0);
	CHECK_EQ(bp.ext_ramdisk_size, 0);
}

/* ---- boot_page_tables ---------------------------------------------------- */

/* Fake low guest memory holding the tables at their layout addresses. */
static u8 lowmem[BOOT_PD_GPA + 4 * 4096];

static u64 rd_phys64(u64 gpa)
{
	u64 v;

	if (gpa + 8 > sizeof(lowmem))
		return 0; /* "not present": the walk fails */
	memcpy(&v, lowmem + gpa, 8);
	return v;
}

/* 4-level walk; returns the physical address or ~0 if not mapped. */
static u64 walk(u64 va, u64 *leaf_flags)
{
	u64 pml4e, pdpte, pde;

	pml4e = rd_phys64(BOOT_PML4_GPA + ((va >> 39) & 511) * 8);
	if (!(pml4e & PTE_P))
		return ~0ULL;
	pdpte = rd_phys64((pml4e & PTE_ADDR) + ((va >> 30) & 511) * 8);
	if (!(pdpte & PTE_P) || (pdpte & PTE_PS))
		return ~0ULL;
	pde = rd_phys64((pdpte & PTE_ADDR) + ((va >> 21) & 511) * 8);
	if (!(pde & PTE_P) || !(pde & PTE_PS))
		return ~0ULL;
	*leaf_flags = pde & ~PTE_ADDR;
	return (pde & 0x000fffffffe00000ULL) | (va & (SZ_2M - 1));
}

static void test_page_tables(void)
{
	u64 *pml4 = (u64 *)(lowmem + BOOT_PML4_GPA);
	u64 *pdpt = (u64 *)(lowmem + BOOT_PDPT_GPA);
	u64 *pd = (u64 *)(lowmem + BOOT_PD_GPA);
	u64 flags, pa, va;
	unsigned int i;

	memset(lowmem, 0xee, sizeof(lowmem));
	boot_page_tables(pml4, pdpt, pd);

	/* PML4[0] -> PDPT; nothing else mapped. */
	CHECK_EQ(pml4[0] & PTE_ADDR, BOOT_PDPT_GPA);
	CHECK_EQ(pml4[0] & (PTE_P | PTE_RW), PTE_P | PTE_RW);
	for (i = 1; i < 512; i++)
		CHECK_EQ(pml4[i], 0);
	/* PDPT[0..3] -> the four PDs, contiguous from BOOT_PD_GPA. */
	for (i = 0; i < 4; i++) {
		CHECK_EQ(pdpt[i] & PTE_ADDR, BOOT_PD_GPA + i * 4096);
		CHECK_EQ(pdpt[i] & (PTE_P | PTE_RW | PTE_PS), PTE_P | PTE_RW);
	}
	for (i = 4; i < 512; i++)
		CHECK_EQ(pdpt[i], 0);
	/* Every PD entry: A -> A, 2 MiB, present + writable, executable. */
	for (i = 0; i < 4 * 512; i++) {
		CHECK_EQ(pd[i] & 0x000fffffffe00000ULL, (u64)i * SZ_2M);
		CHECK_EQ(pd[i] & (PTE_P | PTE_RW | PTE_PS),
			 PTE_P | PTE_RW | PTE_PS);
		CHECK_EQ(pd[i] & PTE_NX, 0);
	}
	/* The tables do not spill past the four PD pages. */
	CHECK_EQ(sizeof(lowmem), BOOT_PD_GPA + 4 * 4096);

	/* Walk it as the CPU does, across all of the first 4 GiB. */
	for (va = 0; va < SZ_4G; va += SZ_2M - SZ_4K) {
		pa = walk(va, &flags);
		if (pa != va) {
			CHECK_EQ(pa, va);
			break;
		}
		CHECK_EQ(flags & (PTE_P | PTE_RW | PTE_PS),
			 PTE_P | PTE_RW | PTE_PS);
	}
	CHECK_EQ(walk(SZ_4G - 1, &flags), SZ_4G - 1);
	CHECK_EQ(walk(KERNEL_GPA, &flags), KERNEL_GPA);
	CHECK_EQ(walk(LAPIC_GPA + 0x20, &flags), LAPIC_GPA + 0x20);
	CHECK_EQ(walk(SZ_4G, &flags), ~0ULL); /* nothing above 4 GiB */
	/* The tables themselves are mapped (the kernel reads CR3's tables). */
	CHECK_EQ(walk(BOOT_PD_GPA, &flags), BOOT_PD_GPA);
}

/* ---- boot_gdt ------------------------------------------------------------ */

struct seg {
	u32 base, limit;
	unsigned int type, s, dpl, p, avl, l, db, g;
};

/* SDM vol. 3, Figure 3-8 "Segment Descriptor". */
static struct seg decode(u64 d)
{
	struct seg s = {
		.limit = (d & 0xffff) | ((d >> 32) & 0xf0000),
		.base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000),
		.type = (d >> 40) & 0xf,
		.s = (d >> 44) & 1,
		.dpl = (d >> 45) & 3,
		.p = (d >> 47) & 1,
		.avl = (d >> 52) & 1,
		.l = (d >> 53) & 1,
		.db = (d >> 54) & 1,
		.g = (d >> 55) & 1,
	};

	return s;
}

static void test_gdt(void)
{
	u64 gdt[BOOT_GDT_ENTRIES + 1];
	struct seg cs, ds;

	CHECK(BOOT_CS / 8 < BOOT_GDT_ENTRIES);
	CHECK(BOOT_DS / 8 < BOOT_GDT_ENTRIES);
	memset(gdt, 0xcc, sizeof(gdt));
	boot_gdt(gdt);
	CHECK_EQ(gdt[0], 0); /* the null descriptor */
	CHECK_EQ(gdt[1], 0);
	CHECK_EQ(gdt[BOOT_GDT_ENTRIES], 0xccccccccccccccccULL); /* no overrun */

	cs = decode(gdt[BOOT_CS / 8]);
	CHECK_EQ(cs.base, 0);
	CHECK_EQ(cs.limit, 0xfffff);
	CHECK_EQ(cs.g, 1);
	CHECK_EQ(cs.s, 1);		 /* code/data, not system */
	CHECK(cs.type & 0x8);		 /* code */
	CHECK(cs.type & 0x2);		 /* readable */
	CHECK_EQ(cs.p, 1);
	CHECK_EQ(cs.dpl, 0);
	CHECK_EQ(cs.l, 1);		 /* 64-bit */
	CHECK_EQ(cs.db, 0);		 /* L=1 requires D=0 */

	ds = decode(gdt[BOOT_DS / 8]);
	CHECK_EQ(ds.base, 0);
	CHECK_EQ(ds.limit, 0xfffff);
	CHECK_EQ(ds.g, 1);
	CHECK_EQ(ds.s, 1);
	CHECK(!(ds.type & 0x8));	 /* data */
	CHECK(ds.type & 0x2);		 /* writable */
	CHECK(!(ds.type & 0x4));	 /* expand-up */
	CHECK_EQ(ds.p, 1);
	CHECK_EQ(ds.dpl, 0);
	CHECK_EQ(ds.l, 0);
	CHECK_EQ(ds.db, 1);
}

/* The reset vector stub: out 0xfe to port 0x64, then halt for good. */
static void test_reset_vector(void)
{
	u8 code[RESET_VECTOR_SIZE];

	memset(code, 0xcc, sizeof(code));
	boot_reset_vector(code);
	CHECK_EQ(code[0], 0xb0);	/* mov al, imm8 */
	CHECK_EQ(code[1], 0xfe);
	CHECK_EQ(code[2], 0xe6);	/* out imm8, al */
	CHECK_EQ(code[3], 0x64);
	CHECK_EQ(code[4], 0xf4);	/* hlt */
	/* jmp rel8 back to the hlt: offset 7 - 3 = 4 */
	CHECK_EQ(code[5], 0xeb);
	CHECK_EQ((s8)code[6], -3);
	/* The whole stub sits below 1 MiB, where real mode can reach it. */
	CHECK(RESET_VECTOR_GPA + RESET_VECTOR_SIZE <= SZ_1M);
	CHECK(BIOS_AREA_GPA + BIOS_AREA_SIZE <= RESET_VECTOR_GPA);
}

static void test_cmdline_has(void)
{
	CHECK(boot_cmdline_has("console=hvc0", "console="));
	CHECK(boot_cmdline_has("quiet console=hvc0", "console="));
	CHECK(boot_cmdline_has("quiet\tconsole=hvc0", "console="));
	CHECK(!boot_cmdline_has("netconsole=6665@10.0.0.1/eth0", "console="));
	CHECK(boot_cmdline_has("netconsole=x console=ttyS1", "console="));
	CHECK(!boot_cmdline_has("", "console="));
	CHECK(!boot_cmdline_has("quiet", "console="));
}

UNIT_MAIN("boot",
	  UNIT_TEST(test_split_ram),
	  UNIT_TEST(test_e820),
	  UNIT_TEST(test_e820_exact_3g),
	  UNIT_TEST(test_place_initrd),
	  UNIT_TEST(test_place_initrd_runtime_window),
	  UNIT_TEST(test_params_build),
	  UNIT_TEST(test_params_build_high),
	  UNIT_TEST(test_page_tables),
	  UNIT_TEST(test_gdt),
	  UNIT_TEST(test_reset_vector),
	  UNIT_TEST(test_cmdline_has))
