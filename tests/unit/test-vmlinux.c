// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for x86/vmlinux.c.  The ELF files are built in memory from
 * <elf.h>'s structures, shaped like a real x86-64 vmlinux: program
 * headers right after the ELF header, loadable segments at physical 16
 * MiB and up, the entry (phys_startup_64) at the first one's start.
 * Every broken file must give -ENOEXEC and a one-line reason.
 */
#include <elf.h>
#include <errno.h>

#include "kvm/types.h"
#include "tests/unit/unit.h"
#include "x86/vmlinux.h"

#define FILE_SIZE 0x6000
#define MEM_LIMIT (256 * SZ_1M)
#define TEXT_PADDR 0x1000000ULL

static u8 file[FILE_SIZE];

static Elf64_Ehdr *ehdr(void)
{
	return (Elf64_Ehdr *)file;
}

static Elf64_Phdr *phdr(unsigned int i)
{
	return (Elf64_Phdr *)(file + sizeof(Elf64_Ehdr)) + i;
}

static void set_seg(unsigned int i, u32 type, u64 off, u64 filesz, u64 paddr,
		    u64 memsz)
{
	*phdr(i) = (Elf64_Phdr){ .p_type = type, .p_offset = off,
				 .p_filesz = filesz, .p_paddr = paddr,
				 .p_vaddr = 0xffffffff80000000ULL + paddr,
				 .p_memsz = memsz, .p_flags = PF_R };
}

/* Text at 16 MiB, data after it with a BSS, and a note nobody loads. */
static void make_good(void)
{
	Elf64_Ehdr *eh = ehdr();

	memset(file, 0, sizeof(file));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = TEXT_PADDR;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	set_seg(0, PT_LOAD, 0x1000, 0x2000, TEXT_PADDR, 0x2000);
	set_seg(1, PT_LOAD, 0x3000, 0x1000, TEXT_PADDR + 0x200000, 0x5000);
	set_seg(2, PT_NOTE, 0x2000, 0x100, TEXT_PADDR + 0x1000, 0x100);
}

static int parse(u64 size, struct vmlinux *vl, struct bzimage *bz,
		 const char **why)
{
	/* What x86/kvm.c reads of the file's start, and no more. */
	return vmlinux_parse(file, MIN(size, (u64)VMLINUX_HEAD_SIZE), size,
			     MEM_LIMIT, vl, bz, why);
}

static const char *expect_fail(void)
{
	struct vmlinux vl;
	struct bzimage bz;
	const char *why = NULL;

	CHECK_EQ(parse(sizeof(file), &vl, &bz, &why), -ENOEXEC);
	CHECK(why && *why && !strchr(why, '\n'));
	return why;
}

static void test_good(void)
{
	struct vmlinux vl;
	struct bzimage bz;
	const char *why = NULL;

	make_good();
	CHECK(vmlinux_is_elf(file, sizeof(file)));
	CHECK_EQ(parse(sizeof(file), &vl, &bz, &why), 0);
	CHECK_EQ(vl.entry, TEXT_PADDR);
	CHECK_EQ(vl.nr_segs, 2);	/* the note is not loaded */
	CHECK_EQ(vl.seg[1].offset, 0x3000);
	CHECK_EQ(vl.seg[1].filesz, 0x1000);
	CHECK_EQ(vl.seg[1].memsz, 0x5000);
	CHECK_EQ(vl.start, TEXT_PADDR);
	CHECK_EQ(vl.end, TEXT_PADDR + 0x205000);
	/* The setup header a bzImage of it would carry. */
	CHECK_EQ(bz.hdr.header, 0x53726448);
	CHECK_EQ(bz.hdr.boot_flag, 0xaa55);
	CHECK(bz.hdr.xloadflags & XLF_KERNEL_64);
	CHECK(bz.hdr.loadflags & LOADED_HIGH);
	CHECK_EQ(bz.hdr.pref_address, TEXT_PADDR);
	CHECK_EQ(bz.init_size, 0x205000);
	CHECK_EQ(bz.cmdline_max, 2047);
}

static void test_not_elf(void)
{
	make_good();
	file[1] = 'X';
	CHECK(!vmlinux_is_elf(file, sizeof(file)));
	CHECK(!vmlinux_is_elf(file, 2));
}

static void test_wrong_kind(void)
{
	make_good();
	ehdr()->e_ident[EI_CLASS] = ELFCLASS32;
	expect_fail();
	make_good();
	ehdr()->e_machine = EM_AARCH64;
	expect_fail();
	make_good();
	ehdr()->e_type = ET_REL;	/* a module */
	expect_fail();
}

static void test_bad_program_headers(void)
{
	make_good();
	ehdr()->e_phnum = 0;
	expect_fail();
	make_good();
	ehdr()->e_phentsize = 32;
	expect_fail();
	/* Beyond what was read of the file's start: never read past it. */
	make_good();
	ehdr()->e_phoff = FILE_SIZE - sizeof(Elf64_Phdr);
	ehdr()->e_phnum = 2;
	expect_fail();
	make_good();
	ehdr()->e_phoff = UINT64_MAX - 8;
	expect_fail();
	/* Good ones in the file, but across the end of the head lkvm reads. */
	make_good();
	memcpy(file + VMLINUX_HEAD_SIZE - sizeof(Elf64_Phdr), phdr(0),
	       2 * sizeof(Elf64_Phdr));
	ehdr()->e_phoff = VMLINUX_HEAD_SIZE - sizeof(Elf64_Phdr);
	ehdr()->e_phnum = 2;
	expect_fail();
}

static void test_segment_bounds(void)
{
	make_good();
	set_seg(1, PT_LOAD, 0x3000, 0x6000, TEXT_PADDR + 0x200000, 0x5000);
	expect_fail();			/* filesz > memsz */
	make_good();
	set_seg(1, PT_LOAD, 0x5000, 0x2000, TEXT_PADDR + 0x200000, 0x5000);
	expect_fail();			/* past the end of the file */
	make_good();
	set_seg(1, PT_LOAD, UINT64_MAX - 0x10, 0x1000, TEXT_PADDR, 0x1000);
	expect_fail();			/* offset + filesz wraps */
	make_good();
	set_seg(1, PT_LOAD, 0x3000, 0x1000, 0x9000, 0x1000);
	expect_fail();			/* over the boot structures */
	make_good();
	set_seg(1, PT_LOAD, 0x3000, 0x1000, MEM_LIMIT - 0x1000, 0x2000);
	expect_fail();			/* past the end of guest RAM */
	make_good();
	set_seg(1, PT_LOAD, 0x3000, 0x1000, UINT64_MAX - 0xfff, 0x2000);
	expect_fail();			/* paddr + memsz wraps */
}

static void test_entry_outside(void)
{
	make_good();
	ehdr()->e_entry = 0xffffffff81000000ULL;	/* virtual, not physical */
	expect_fail();
	make_good();
	ehdr()->e_entry = TEXT_PADDR + 0x202000;	/* in BSS, not in the file */
	expect_fail();
}

/* A static user program: a fine ELF executable, but no kernel. */
static void test_user_program(void)
{
	make_good();
	phdr(0)->p_vaddr = 0x400000;
	expect_fail();
}

static void test_nothing_to_load(void)
{
	make_good();
	phdr(0)->p_type = PT_NOTE;
	phdr(1)->p_type = PT_NOTE;
	expect_fail();
}

static void test_too_many_segments(void)
{
	unsigned int i;

	make_good();
	ehdr()->e_phnum = VMLINUX_MAX_SEGS + 1;
	for (i = 0; i < VMLINUX_MAX_SEGS + 1; i++)
		set_seg(i, PT_LOAD, 0x1000, 0x100, TEXT_PADDR + i * 0x1000,
			0x100);
	expect_fail();
}

static void test_truncated(void)
{
	struct vmlinux vl;
	struct bzimage bz;
	const char *why = NULL;

	make_good();
	CHECK_EQ(parse(32, &vl, &bz, &why), -ENOEXEC);	/* half a header */
	/* Whole headers, but the text segment cut off. */
	CHECK_EQ(parse(0x2000, &vl, &bz, &why), -ENOEXEC);
}

UNIT_MAIN("vmlinux",
	  UNIT_TEST(test_good),
	  UNIT_TEST(test_not_elf),
	  UNIT_TEST(test_wrong_kind),
	  UNIT_TEST(test_bad_program_headers),
	  UNIT_TEST(test_segment_bounds),
	  UNIT_TEST(test_entry_outside),
	  UNIT_TEST(test_user_program),
	  UNIT_TEST(test_nothing_to_load),
	  UNIT_TEST(test_too_many_segments),
	  UNIT_TEST(test_truncated))
