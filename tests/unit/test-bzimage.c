// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for x86/bzimage.c.  Images are built in memory: a buffer with
 * a setup header at 0x1f1 (Documentation/arch/x86/boot.rst, "THE REAL-MODE
 * KERNEL HEADER"), written by byte offset from boot.rst rather than through
 * struct setup_header, so a wrong struct layout would show up here too.
 * Every broken image must give -ENOEXEC and its own one-line reason.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "kvm/types.h"
#include "tests/unit/unit.h"
#include "x86/bzimage.h"

#define IMG_SIZE 0x10000 /* 64 KiB: setup + a small "protected-mode kernel" */
#define SETUP_SECTS 4	 /* pm kernel at (4 + 1) * 512 = 0xa00 */
#define PM_OFF ((SETUP_SECTS + 1) * 512)
#define KIT_VMLINUZ "tests/kit/out/vmlinuz"

static u8 img[IMG_SIZE];

static void wr8(u8 *p, unsigned int off, u8 v)
{
	p[off] = v;
}

static void wr16(u8 *p, unsigned int off, u16 v)
{
	p[off] = v;
	p[off + 1] = v >> 8;
}

static void wr32(u8 *p, unsigned int off, u32 v)
{
	wr16(p, off, v);
	wr16(p, off + 2, v >> 16);
}

/* A well-formed 2.15 bzImage of IMG_SIZE bytes; offsets from boot.rst. */
static void make_good(u8 *p, size_t size)
{
	memset(p, 0, size);
	for (size_t i = PM_OFF; i < size; i++)
		p[i] = (u8)(i * 7);
	wr8(p, 0x1f1, SETUP_SECTS);		      /* setup_sects */
	wr32(p, 0x1f4, (size - PM_OFF) / 16);	      /* syssize */
	wr16(p, 0x1fe, 0xaa55);			      /* boot_flag */
	wr32(p, 0x202, 0x53726448);		      /* header "HdrS" */
	wr16(p, 0x206, 0x020f);			      /* version 2.15 */
	wr8(p, 0x211, LOADED_HIGH);		      /* loadflags */
	wr32(p, 0x22c, 0x7fffffff);		      /* initrd_addr_max */
	wr32(p, 0x230, 0x200000);		      /* kernel_alignment */
	wr8(p, 0x234, 1);			      /* relocatable_kernel */
	wr16(p, 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	wr32(p, 0x238, 2047);			      /* cmdline_size */
	wr32(p, 0x258, 0x1000000);		      /* pref_address (low) */
	wr32(p, 0x260, 0x400000);		      /* init_size: 4 MiB */
}

/* Parse and expect -ENOEXEC with a non-empty reason; returns the reason. */
static const char *expect_fail(const void *buf, size_t size)
{
	struct bzimage bz;
	const char *why = NULL;
	int r;

	r = bzimage_parse(buf, size, size, &bz, &why);
	CHECK_EQ(r, -ENOEXEC);
	CHECK(why != NULL);
	if (!why)
		return "";
	CHECK(why[0] != '\0');
	CHECK(strchr(why, '\n') == NULL); /* one line: the caller adds it */
	return why;
}

static void test_good(void)
{
	struct bzimage bz;
	const char *why = NULL;

	make_good(img, sizeof(img));
	CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
	CHECK_EQ(bz.pm_offset, PM_OFF);
	CHECK_EQ(bz.pm_size, sizeof(img) - PM_OFF);
	/* init_size = max(header, pm size): here the header's 4 MiB wins. */
	CHECK_EQ(bz.init_size, 0x400000);
	CHECK_EQ(bz.cmdline_max, 2047);
	CHECK_EQ(bz.initrd_addr_max, 0x7fffffff);
	CHECK_EQ(bz.hdr.version, 0x020f);
	CHECK_EQ(bz.hdr.setup_sects, SETUP_SECTS);
	CHECK_EQ(bz.hdr.header, 0x53726448);
	CHECK_EQ(bz.hdr.boot_flag, 0xaa55);
	CHECK_EQ(bz.hdr.xloadflags & XLF_KERNEL_64, XLF_KERNEL_64);
	CHECK_EQ(bz.hdr.init_size, 0x400000);
	CHECK_EQ(bz.hdr.pref_address, 0x1000000);
	/* The copy is the image's bytes, not a pointer into it. */
	CHECK(memcmp(&bz.hdr, img + 0x1f1, sizeof(bz.hdr)) == 0);
}

static void test_init_size_below_pm(void)
{
	struct bzimage bz;
	const char *why = NULL;

	/* A header init_size smaller than the payload: the payload wins. */
	make_good(img, sizeof(img));
	wr32(img, 0x260, 0x1000);
	CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
	CHECK_EQ(bz.init_size, sizeof(img) - PM_OFF);
	CHECK_EQ(bz.init_size, bz.pm_size);
}

static void test_setup_sects_zero(void)
{
	struct bzimage bz;
	const char *why = NULL;

	/* boot.rst: "If this field is 0, the real value is 4." */
	make_good(img, sizeof(img));
	wr8(img, 0x1f1, 0);
	wr32(img, 0x1f4, (sizeof(img) - 5 * 512) / 16);
	CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
	CHECK_EQ(bz.pm_offset, 5 * 512);
	CHECK_EQ(bz.pm_size, sizeof(img) - 5 * 512);

	/* And a non-default count is honoured: 27 sectors of setup. */
	make_good(img, sizeof(img));
	wr8(img, 0x1f1, 27);
	wr32(img, 0x1f4, (sizeof(img) - 28 * 512) / 16);
	CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
	CHECK_EQ(bz.pm_offset, 28 * 512);
	CHECK_EQ(bz.pm_size, sizeof(img) - 28 * 512);
}

static void test_syssize_slack(void)
{
	struct bzimage bz;
	const char *why = NULL;

	/* Signed kernels carry a signature after syssize * 16: allowed. */
	make_good(img, sizeof(img));
	wr32(img, 0x1f4, (sizeof(img) - PM_OFF) / 16 - 100);
	CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
	CHECK_EQ(bz.pm_size, sizeof(img) - PM_OFF);

	/* syssize exactly the file: allowed. */
	make_good(img, sizeof(img));
	CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
}

/*
 * One image per way of being broken.  Each must fail with a reason, and
 * the reasons of different classes must differ, so a user can tell them
 * apart.  Cases of the same class (protocol 2.06..2.11 and no
 * XLF_KERNEL_64 both mean "no 64-bit entry") share their reason.
 */
enum bad_class {
	BAD_EMPTY,
	BAD_SMALL,
	BAD_NO_HDRS,
	BAD_BOOT_FLAG,
	BAD_TOO_OLD,
	BAD_NO_64,
	BAD_ZIMAGE,
	BAD_SETUP_PAST_END,
	BAD_TRUNCATED,
	BAD_ARM64,
	BAD_NR,
};

static const char *reason[BAD_NR];

static void note_reason(enum bad_class c, const char *why)
{
	if (!reason[c])
		reason[c] = why;
	else /* same class, same message */
		CHECK(strcmp(reason[c], why) == 0);
}

static void test_empty(void)
{
	note_reason(BAD_EMPTY, expect_fail(img, 0));
	/* A NULL buffer of size 0 must not be dereferenced. */
	note_reason(BAD_EMPTY, expect_fail(NULL, 0));
}

static void test_random(void)
{
	unsigned int seed = 12345;
	const char *why;

	for (int round = 0; round < 64; round++) {
		for (size_t i = 0; i < sizeof(img); i++) {
			seed = seed * 1103515245 + 12345;
			img[i] = seed >> 16;
		}
		why = expect_fail(img, sizeof(img));
		/* With no "HdrS" by chance, it is the no-signature case. */
		note_reason(BAD_NO_HDRS, why);
	}
}

static void test_too_small(void)
{
	/* Every size short of the whole setup header, "HdrS" in place. */
	static const size_t sizes[] = { 1, 0x3b, 0x3c, 0x1f1, 0x206, 0x26b };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		make_good(img, sizeof(img));
		note_reason(BAD_SMALL, expect_fail(img, sizes[i]));
	}
}

static void test_no_hdrs(void)
{
	make_good(img, sizeof(img));
	wr32(img, 0x202, 0x53726447); /* "GdrS" */
	note_reason(BAD_NO_HDRS, expect_fail(img, sizeof(img)));
}

static void test_bad_boot_flag(void)
{
	make_good(img, sizeof(img));
	wr16(img, 0x1fe, 0x55aa);
	note_reason(BAD_BOOT_FLAG, expect_fail(img, sizeof(img)));
}

static void test_protocol(void)
{
	static const u16 too_old[] = { 0x0000, 0x0100, 0x0200, 0x0205 };
	static const u16 no_64[] = { 0x0206, 0x0209, 0x020a, 0x020b };
	static const u16 fine[] = { 0x020c, 0x020d, 0x020f, 0x0210, 0x0300 };
	struct bzimage bz;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(too_old); i++) {
		make_good(img, sizeof(img));
		wr16(img, 0x206, too_old[i]);
		note_reason(BAD_TOO_OLD, expect_fail(img, sizeof(img)));
	}
	/* 2.06..2.11: xloadflags (2.12) does not exist, so no 64-bit entry. */
	for (size_t i = 0; i < ARRAY_SIZE(no_64); i++) {
		make_good(img, sizeof(img));
		wr16(img, 0x206, no_64[i]);
		note_reason(BAD_NO_64, expect_fail(img, sizeof(img)));
	}
	for (size_t i = 0; i < ARRAY_SIZE(fine); i++) {
		make_good(img, sizeof(img));
		wr16(img, 0x206, fine[i]);
		CHECK_EQ(bzimage_parse(img, sizeof(img), sizeof(img), &bz, &why), 0);
	}
}

static void test_no_xlf_kernel_64(void)
{
	make_good(img, sizeof(img));
	wr16(img, 0x236, XLF_CAN_BE_LOADED_ABOVE_4G | XLF_EFI_HANDOVER_64);
	note_reason(BAD_NO_64, expect_fail(img, sizeof(img)));
}

static void test_zimage(void)
{
	make_good(img, sizeof(img));
	wr8(img, 0x211, CAN_USE_HEAP); /* no LOADED_HIGH */
	note_reason(BAD_ZIMAGE, expect_fail(img, sizeof(img)));
}

static void test_setup_past_end(void)
{
	/* 200 setup sectors = 100.5 KiB of setup in a 64 KiB file. */
	make_good(img, sizeof(img));
	wr8(img, 0x1f1, 200);
	note_reason(BAD_SETUP_PAST_END, expect_fail(img, sizeof(img)));

	/* Setup ends exactly at the end: no kernel at all. */
	make_good(img, sizeof(img));
	note_reason(BAD_SETUP_PAST_END, expect_fail(img, PM_OFF));
}

static void test_truncated(void)
{
	make_good(img, sizeof(img));
	/* The header says 16 bytes more than the file holds. */
	wr32(img, 0x1f4, (sizeof(img) - PM_OFF) / 16 + 1);
	note_reason(BAD_TRUNCATED, expect_fail(img, sizeof(img)));

	/* A good image cut short on the way (a half-copied file). */
	make_good(img, sizeof(img));
	note_reason(BAD_TRUNCATED, expect_fail(img, sizeof(img) - 4096));

	/* syssize so large that * 16 overflows 32 bits. */
	make_good(img, sizeof(img));
	wr32(img, 0x1f4, 0xffffffff);
	note_reason(BAD_TRUNCATED, expect_fail(img, sizeof(img)));
}

static void test_arm64(void)
{
	/* arm64 booting.rst: "ARM\x64" at 0x38, little-endian 0x644d5241. */
	memset(img, 0, sizeof(img));
	img[0x38] = 'A';
	img[0x39] = 'R';
	img[0x3a] = 'M';
	img[0x3b] = 0x64;
	note_reason(BAD_ARM64, expect_fail(img, sizeof(img)));
	/* Even a tiny one is named as arm64, not "too small". */
	note_reason(BAD_ARM64, expect_fail(img, 0x40));
}

/* Runs last: every class has produced a reason; all must differ. */
static void test_reasons_distinct(void)
{
	for (int i = 0; i < BAD_NR; i++) {
		CHECK(reason[i] != NULL);
		if (!reason[i])
			continue;
		for (int j = i + 1; j < BAD_NR; j++) {
			if (reason[j] && strcmp(reason[i], reason[j]) == 0) {
				fprintf(stderr, "  classes %d and %d share \"%s\"\n",
					i, j, reason[i]);
				CHECK(0);
			}
		}
	}
}

/* The real Debian bzImage the test kit builds, when it is there. */
static void test_kit_vmlinuz(void)
{
	struct bzimage bz;
	const char *why = "";
	struct stat st;
	FILE *f;
	u8 *buf;

	f = fopen(KIT_VMLINUZ, "rb");
	if (!f) {
		printf("  note: %s absent (run tests/kit/build.sh); real-image case skipped\n",
		       KIT_VMLINUZ);
		return;
	}
	CHECK(fstat(fileno(f), &st) == 0);
	buf = malloc(st.st_size);
	CHECK(buf != NULL);
	if (!buf) {
		fclose(f);
		return;
	}
	CHECK_EQ(fread(buf, 1, st.st_size, f), st.st_size);
	fclose(f);

	/* As lkvm reads it: the head, then the payload straight from the file. */
	CHECK_EQ(bzimage_parse(buf, BZIMAGE_HEAD_SIZE, st.st_size, &bz, &why), 0);
	if (why && !bz.pm_offset)
		fprintf(stderr, "  %s: %s\n", KIT_VMLINUZ, why);
	CHECK(bz.hdr.version >= 0x020c);
	CHECK(bz.hdr.xloadflags & XLF_KERNEL_64);
	CHECK(bz.hdr.loadflags & LOADED_HIGH);
	CHECK(bz.hdr.relocatable_kernel);
	CHECK(bz.pm_offset > 0 && bz.pm_offset < (u64)st.st_size);
	CHECK_EQ(bz.pm_offset,
		 ((bz.hdr.setup_sects ? bz.hdr.setup_sects : 4) + 1) * 512);
	CHECK_EQ(bz.pm_size, st.st_size - bz.pm_offset);
	CHECK((u64)bz.hdr.syssize * 16 <= bz.pm_size);
	/* Decompressed, a kernel is bigger than its compressed self. */
	CHECK(bz.init_size > bz.pm_size);
	CHECK(bz.init_size >= bz.hdr.init_size);
	CHECK(bz.init_size < 512 * SZ_1M);
	CHECK(bz.cmdline_max >= 255);
	CHECK(bz.initrd_addr_max >= 0x37ffffff);
	/* boot.rst: kernel_alignment is a power of two. */
	CHECK(bz.hdr.kernel_alignment &&
	      !(bz.hdr.kernel_alignment & (bz.hdr.kernel_alignment - 1)));
	free(buf);
}

UNIT_MAIN("bzimage",
	  UNIT_TEST(test_good),
	  UNIT_TEST(test_init_size_below_pm),
	  UNIT_TEST(test_setup_sects_zero),
	  UNIT_TEST(test_syssize_slack),
	  UNIT_TEST(test_empty),
	  UNIT_TEST(test_random),
	  UNIT_TEST(test_too_small),
	  UNIT_TEST(test_no_hdrs),
	  UNIT_TEST(test_bad_boot_flag),
	  UNIT_TEST(test_protocol),
	  UNIT_TEST(test_no_xlf_kernel_64),
	  UNIT_TEST(test_zimage),
	  UNIT_TEST(test_setup_past_end),
	  UNIT_TEST(test_truncated),
	  UNIT_TEST(test_arm64),
	  UNIT_TEST(test_reasons_distinct),
	  UNIT_TEST(test_kit_vmlinuz))
