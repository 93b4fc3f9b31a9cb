// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "x86/bzimage.h"

#define SETUP_HDR_OFFSET 0x1f1
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define ARM64_MAGIC_OFFSET 0x38
#define ARM64_MAGIC 0x644d5241 /* "ARM\x64" */
#define MIN_PROTOCOL 0x0206    /* 2.06: cmdline_size, 64-bit entry needs 2.12 below */

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return -ENOEXEC;
}

int bzimage_parse(const void *buf, size_t size, struct bzimage *bz,
		  const char **why)
{
	const u8 *img = buf;
	size_t hdr_len = sizeof(struct setup_header);
	u32 magic;
	u64 setup_sects, pm_off;

	memset(bz, 0, sizeof(*bz));
	if (size == 0)
		return fail(why, "the kernel image is empty");
	if (size >= ARM64_MAGIC_OFFSET + 4) {
		memcpy(&magic, img + ARM64_MAGIC_OFFSET, 4);
		if (magic == ARM64_MAGIC)
			return fail(why, "this is an arm64 Image, not an x86 bzImage");
	}
	if (size < SETUP_HDR_OFFSET + hdr_len)
		return fail(why, "not a bzImage: too small for a setup header");

	memcpy(&bz->hdr, img + SETUP_HDR_OFFSET, hdr_len);
	if (bz->hdr.header != HDRS_MAGIC)
		return fail(why, "not a bzImage: no \"HdrS\" signature at 0x202");
	if (bz->hdr.boot_flag != 0xAA55)
		return fail(why, "not a bzImage: bad boot flag at 0x1fe");
	if (bz->hdr.version < MIN_PROTOCOL)
		return fail(why, "boot protocol too old (need 2.06 or later)");
	/* XLF_KERNEL_64 says the kernel has the 64-bit entry at +0x200. */
	if (bz->hdr.version < 0x020c || !(bz->hdr.xloadflags & XLF_KERNEL_64))
		return fail(why, "kernel has no 64-bit entry point (XLF_KERNEL_64)");
	if (!(bz->hdr.loadflags & LOADED_HIGH))
		return fail(why, "not a bzImage: zImage kernels are not supported");

	/* boot.rst: "If this field is 0, the real value is 4." */
	setup_sects = bz->hdr.setup_sects ? bz->hdr.setup_sects : 4;
	pm_off = (setup_sects + 1) * 512;
	if (pm_off >= size)
		return fail(why, "corrupt bzImage: setup_sects points past the end");

	bz->pm = img + pm_off;
	bz->pm_size = size - pm_off;
	if (bz->hdr.syssize && (u64)bz->hdr.syssize * 16 > bz->pm_size)
		return fail(why, "corrupt bzImage: truncated (syssize exceeds the file)");
	bz->init_size = MAX((u64)bz->hdr.init_size, bz->pm_size);
	bz->cmdline_max = bz->hdr.cmdline_size ? bz->hdr.cmdline_size : 255;
	bz->initrd_addr_max = bz->hdr.initrd_addr_max ? bz->hdr.initrd_addr_max
						     : 0x37ffffff;
	return 0;
}

/*
 * boot.rst: kernel_version (protocol 2.00+) points, less 0x200, at the
 * NUL-terminated version string in the setup code, "6.1.0-57-cloud-amd64
 * (debian-kernel@...) #1 SMP ...": the release is its first word.
 */
int bzimage_release(const void *buf, size_t size, char *out, size_t len)
{
	const u8 *img = buf;
	struct setup_header hdr;
	size_t off, i;

	if (size < SETUP_HDR_OFFSET + sizeof(hdr) || !len)
		return -ENOEXEC;
	memcpy(&hdr, img + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.header != HDRS_MAGIC)
		return -ENOEXEC;
	off = (size_t)hdr.kernel_version + 0x200;
	if (!hdr.kernel_version || off >= size)
		return -ENOENT;
	for (i = 0; i < len - 1 && off + i < size; i++) {
		u8 c = img[off + i];

		if (c <= ' ' || c > '~')
			break;
		out[i] = c;
	}
	out[i] = 0;
	return i ? 0 : -ENOENT;
}
