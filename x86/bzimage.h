/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing and validating a bzImage (Documentation/arch/x86/boot.rst).
 * Pure code over a buffer, so the unit tests can feed it corrupt headers.
 */
#ifndef LKVM_X86_BZIMAGE_H
#define LKVM_X86_BZIMAGE_H

#include <asm/bootparam.h>

#include "kvm/types.h"

struct bzimage {
	struct setup_header hdr;   /* copied from the image */
	const u8 *pm;		   /* protected-mode kernel inside the image */
	u64 pm_size;
	u64 init_size;		   /* memory the kernel needs from its load address */
	u32 cmdline_max;	   /* without the NUL */
	u64 initrd_addr_max;	   /* last byte an initrd may occupy */
};

/*
 * Fill @bz from the image in @buf.  On failure returns -ENOEXEC and points
 * *why at a one-line reason ("not a bzImage: no HdrS signature", ...).
 */
int bzimage_parse(const void *buf, size_t size, struct bzimage *bz,
		  const char **why);

/*
 * The kernel's release ("6.1.0-57-cloud-amd64", what uname -r says) from
 * the setup header's kernel_version string.  -ENOEXEC for no bzImage,
 * -ENOENT if it has no version string.
 */
int bzimage_release(const void *buf, size_t size, char *out, size_t len);

#endif
