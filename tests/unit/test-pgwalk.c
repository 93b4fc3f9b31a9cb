// SPDX-License-Identifier: GPL-2.0
/*
 * The x86-64 page walk over a malloc'd "guest RAM": 4K, 2M and 1G pages,
 * entries not present at each level, reserved bits, rights accumulated
 * over the levels, reads outside RAM and non-canonical addresses.
 */
#include <errno.h>

#include "x86/pgwalk.h"
#include "unit.h"

#define RAM_SIZE (64 * 1024)

static u8 ram[RAM_SIZE];
static int reads;

static int read_ram(void *opaque, u64 gpa, void *buf, size_t len)
{
	reads++;
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static void set_entry(u64 table, unsigned int index, u64 entry)
{
	memcpy(ram + table + index * 8, &entry, 8);
}

/* Tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD), 0x4000 (PT). */
#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD 0x3000ULL
#define PT 0x4000ULL
#define KERN 0xffffffff81234567ULL /* 511 / 510 / 9 / 0x34 / 0x567 */

static void reset(void)
{
	memset(ram, 0, RAM_SIZE);
	reads = 0;
}

/* The usual kernel mapping, down to a 4K page at 0x7000. */
static void map_4k(void)
{
	reset();
	set_entry(PML4, 511, PDPT | PTE_P | PTE_RW | PTE_US);
	set_entry(PDPT, 510, PD | PTE_P | PTE_RW | PTE_US);
	set_entry(PD, 9, PT | PTE_P | PTE_RW | PTE_US);
	set_entry(PT, 0x34, 0x7000 | PTE_P | PTE_RW | PTE_G);
}

static void test_4k(void)
{
	struct pgwalk w;

	map_4k();
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK_EQ(w.nr_steps, 4);
	CHECK_EQ(w.page_size, SZ_4K);
	CHECK_EQ(w.gpa, 0x7567);
	CHECK(w.writable);
	CHECK(!w.user);	/* US clear in the PTE */
	CHECK(!w.nx);
	CHECK_EQ(w.step[0].level, 4);
	CHECK_EQ(w.step[0].index, 511);
	CHECK_EQ(w.step[0].entry_gpa, PML4 + 511 * 8);
	CHECK_EQ(w.step[1].index, 510);
	CHECK_EQ(w.step[2].index, 9);
	CHECK_EQ(w.step[3].level, 1);
	CHECK_EQ(w.step[3].index, 0x34);
	CHECK_EQ(w.step[3].entry, 0x7000 | PTE_P | PTE_RW | PTE_G);
	CHECK_EQ(reads, 4);
}

/* CR3's PCID (bits 11:0) and bit 63 are not part of the table address. */
static void test_cr3_flags(void)
{
	struct pgwalk w;

	map_4k();
	CHECK_EQ(pgwalk_x86_64(PML4 | 0xabc | (1ULL << 63), KERN, read_ram,
			       NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK_EQ(w.gpa, 0x7567);
}

static void test_2m(void)
{
	struct pgwalk w;

	map_4k();
	set_entry(PD, 9, 0x40000000ULL | PTE_P | PTE_PS | PTE_XD);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK_EQ(w.nr_steps, 3);
	CHECK_EQ(w.page_size, SZ_2M);
	CHECK_EQ(w.gpa, 0x40000000ULL + (KERN & (SZ_2M - 1)));
	CHECK(!w.writable);	/* RW clear in the PDE */
	CHECK(w.nx);

	/* The PAT bit (12) of a large page is not address. */
	set_entry(PD, 9, 0x40000000ULL | (1ULL << 12) | PTE_P | PTE_PS);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.gpa, 0x40000000ULL + (KERN & (SZ_2M - 1)));

	/* A misaligned 2M frame sets reserved bits 20:13. */
	set_entry(PD, 9, 0x40004000ULL | PTE_P | PTE_PS);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_RESERVED);
	CHECK_EQ(w.nr_steps, 3);
}

static void test_1g(void)
{
	struct pgwalk w;

	map_4k();
	set_entry(PDPT, 510, 0x1c0000000ULL | PTE_P | PTE_RW | PTE_US |
				     PTE_PS);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK_EQ(w.nr_steps, 2);
	CHECK_EQ(w.page_size, SZ_1G);
	CHECK_EQ(w.gpa, 0x1c0000000ULL + (KERN & (SZ_1G - 1)));
	CHECK(w.user);

	set_entry(PDPT, 510, 0x1c0200000ULL | PTE_P | PTE_PS);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_RESERVED);
}

static void test_ps_in_pml4(void)
{
	struct pgwalk w;

	map_4k();
	set_entry(PML4, 511, PDPT | PTE_P | PTE_PS);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_RESERVED);
	CHECK_EQ(w.nr_steps, 1);
}

/* Bit 7 of a PTE is PAT: the walk does not stop there. */
static void test_pte_pat(void)
{
	struct pgwalk w;
	char text[512];

	map_4k();
	set_entry(PT, 0x34, 0x7000 | PTE_P | PTE_PS);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK_EQ(w.page_size, SZ_4K);
	pgwalk_format(&w, text, sizeof(text));
	CHECK(strstr(text, " PAT\n") != NULL);
}

static void test_not_present(void)
{
	struct pgwalk w;

	for (int level = 4; level >= 1; level--) {
		map_4k();
		switch (level) {
		case 4: set_entry(PML4, 511, PDPT); break;
		case 3: set_entry(PDPT, 510, PD); break;
		case 2: set_entry(PD, 9, PT); break;
		case 1: set_entry(PT, 0x34, 0x7000 | PTE_RW); break;
		}
		CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
		CHECK_EQ(w.fault, PGWALK_NOT_PRESENT);
		CHECK_EQ(w.nr_steps, 5 - level);
		CHECK_EQ(w.step[w.nr_steps - 1].level, level);
	}
}

static void test_outside_ram(void)
{
	struct pgwalk w;
	char text[512];

	map_4k();
	set_entry(PD, 9, 0x80000000ULL | PTE_P);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), -EFAULT);
	CHECK_EQ(w.nr_steps, 3);
	CHECK_EQ(w.fault, PGWALK_UNREADABLE);
	CHECK_EQ(w.unread_level, 1);
	CHECK_EQ(w.unread_gpa, 0x80000000ULL + ((KERN >> 12) & 511) * 8);
	CHECK_EQ(pgwalk_x86_64(0xfffff000ULL, KERN, read_ram, NULL, &w),
		 -EFAULT);
	CHECK_EQ(w.nr_steps, 0);
	CHECK_EQ(w.unread_level, 4);
	/* Said as a stop, never as a translation to gpa 0. */
	pgwalk_format(&w, text, sizeof(text));
	CHECK(strstr(text, "-> PML4E at 0x00000000fffffff8 is outside guest RAM\n"));
	CHECK(!strstr(text, "-> gpa"));
}

static void test_noncanonical(void)
{
	struct pgwalk w;

	map_4k();
	CHECK_EQ(pgwalk_x86_64(PML4, 0x0000800000000000ULL, read_ram, NULL,
			       &w), -EINVAL);
	CHECK_EQ(pgwalk_x86_64(PML4, 0xfffe800000000000ULL, read_ram, NULL,
			       &w), -EINVAL);
	CHECK_EQ(reads, 0);
	/* The edges of both halves are fine. */
	CHECK_EQ(pgwalk_x86_64(PML4, 0x00007fffffffffffULL, read_ram, NULL,
			       &w), 0);
	CHECK_EQ(w.step[0].index, 255);
	CHECK_EQ(pgwalk_x86_64(PML4, 0xffff800000000000ULL, read_ram, NULL,
			       &w), 0);
	CHECK_EQ(w.step[0].index, 256);
}

/* The upper bits (52..62, available to software) are not address. */
static void test_high_bits(void)
{
	struct pgwalk w;

	map_4k();
	set_entry(PT, 0x34, 0x7000 | PTE_P | (0x7ffULL << 52));
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	CHECK_EQ(w.gpa, 0x7567);
}

static void test_format(void)
{
	const char *want =
		"gva 0xffffffff81234567 cr3 0x1000\n"
		"  PML4E[511] @ 0x0000000000001ff8 = 0x0000000000002007  P W U\n"
		"  PDPTE[510] @ 0x0000000000002ff0 = 0x0000000000003007  P W U\n"
		"  PDE  [  9] @ 0x0000000000003048 = 0x0000000000004007  P W U\n"
		"  PTE  [ 52] @ 0x00000000000041a0 = 0x0000000000007103  P W G\n"
		"  -> gpa 0x0000000000007567 (4K page) kernel rw exec\n";
	char text[1024], small[16];
	struct pgwalk w;
	int n;

	map_4k();
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	n = pgwalk_format(&w, text, sizeof(text));
	CHECK_EQ(n, strlen(want));
	CHECK(!strcmp(text, want));
	if (strcmp(text, want))
		fprintf(stderr, "got:\n%s", text);

	/* Truncation keeps the snprintf contract. */
	CHECK_EQ(pgwalk_format(&w, small, sizeof(small)), n);
	CHECK_EQ(strlen(small), sizeof(small) - 1);
	CHECK_EQ(pgwalk_format(&w, NULL, 0), n);

	set_entry(PD, 9, PT);
	CHECK_EQ(pgwalk_x86_64(PML4, KERN, read_ram, NULL, &w), 0);
	pgwalk_format(&w, text, sizeof(text));
	CHECK(strstr(text, "-> not present\n") != NULL);
}

/*
 * 5-level paging (CR4.LA57): a PML5 at 0x5000 on top of the same tables.
 * KERN is canonical in both modes (bits 63..47 set); its PML5 index is 511.
 */
#define PML5 0x5000ULL

static void test_5level(void)
{
	struct pgwalk w;
	char text[1024];

	map_4k();
	set_entry(PML5, 511, PML4 | PTE_P | PTE_RW);
	CHECK_EQ(pgwalk_x86(PML5, KERN, 5, true, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK_EQ(w.nr_steps, 5);
	CHECK_EQ(w.step[0].level, 5);
	CHECK_EQ(w.step[0].index, 511);
	CHECK_EQ(w.step[1].level, 4);
	CHECK_EQ(w.gpa, 0x7567);
	pgwalk_format(&w, text, sizeof(text));
	CHECK(strstr(text, "PML5E[511]") != NULL);

	/* 57-bit canonical: bit 56 extends; a 48-bit-only address is fine. */
	CHECK_EQ(pgwalk_x86(PML5, 0x0001000000000000ULL, 5, true, read_ram,
			    NULL, &w), 0);
	CHECK_EQ(w.step[0].index, 1);
	CHECK_EQ(w.fault, PGWALK_NOT_PRESENT);
	CHECK_EQ(pgwalk_x86(PML5, 0x0100000000000000ULL, 5, true, read_ram,
			    NULL, &w), -EINVAL);
	/* PS in a PML5E is reserved. */
	set_entry(PML5, 511, PML4 | PTE_P | PTE_PS);
	CHECK_EQ(pgwalk_x86(PML5, KERN, 5, true, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_RESERVED);
	CHECK_EQ(pgwalk_x86(PML5, KERN, 3, true, read_ram, NULL, &w), -EINVAL);
}

/* XD is execute-disable only with EFER.NXE; without it, a reserved bit. */
static void test_nxe(void)
{
	struct pgwalk w;
	char text[1024];

	map_4k();
	set_entry(PT, 0x34, 0x7000 | PTE_P | PTE_XD);
	CHECK_EQ(pgwalk_x86(PML4, KERN, 4, true, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK(w.nx);
	pgwalk_format(&w, text, sizeof(text));
	CHECK(strstr(text, " noexec\n") != NULL);

	CHECK_EQ(pgwalk_x86(PML4, KERN, 4, false, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_RESERVED);
	CHECK_EQ(w.nr_steps, 4);
	CHECK(!w.nx);
	pgwalk_format(&w, text, sizeof(text));
	CHECK(strstr(text, "-> reserved bit set\n") != NULL);
	CHECK(strstr(text, "noexec") == NULL);

	/* In an upper level too, where the walk stops early. */
	map_4k();
	set_entry(PDPT, 510, PD | PTE_P | PTE_RW | PTE_XD);
	CHECK_EQ(pgwalk_x86(PML4, KERN, 4, false, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_RESERVED);
	CHECK_EQ(w.nr_steps, 2);

	/* Without XD anywhere, NXE makes no difference. */
	map_4k();
	CHECK_EQ(pgwalk_x86(PML4, KERN, 4, false, read_ram, NULL, &w), 0);
	CHECK_EQ(w.fault, PGWALK_OK);
	CHECK(!w.nx);
	CHECK_EQ(w.gpa, 0x7567);
}

UNIT_MAIN("pgwalk",
	  UNIT_TEST(test_4k),
	  UNIT_TEST(test_cr3_flags),
	  UNIT_TEST(test_2m),
	  UNIT_TEST(test_1g),
	  UNIT_TEST(test_ps_in_pml4),
	  UNIT_TEST(test_pte_pat),
	  UNIT_TEST(test_not_present),
	  UNIT_TEST(test_outside_ram),
	  UNIT_TEST(test_noncanonical),
	  UNIT_TEST(test_high_bits),
	  UNIT_TEST(test_format),
	  UNIT_TEST(test_5level),
	  UNIT_TEST(test_nxe))
