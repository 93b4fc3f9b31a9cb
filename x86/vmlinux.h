/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing and validating an uncompressed x86-64 vmlinux (an ELF file), the
 * first thing a kernel build makes: booting it skips the bzImage's
 * decompression, seconds of the edit-build-boot loop in a slow guest.
 *
 * Its ELF entry is the kernel's own startup_64, which takes the 64-bit
 * boot protocol as the bzImage's entry does (long mode, identity-mapped,
 * %rsi the zero page), so the rest of the boot path is the same.  A
 * vmlinux has no setup header; vmlinux_parse() writes the one a bzImage
 * of it would carry.  Pure code over a buffer, for the unit tests.
 */
#ifndef LKVM_X86_VMLINUX_H
#define LKVM_X86_VMLINUX_H

#include <stdbool.h>

#include "kvm/types.h"
#include "x86/bzimage.h"

#define VMLINUX_MAX_SEGS 8

/* How much of the file's start vmlinux_parse() needs: ELF and program headers. */
#define VMLINUX_HEAD_SIZE 4096

struct vmlinux_seg {
	u64 offset, filesz;	/* in the file */
	u64 paddr, memsz;	/* in guest memory; memsz - filesz is zeroed */
	u64 vaddr;		/* where the kernel maps it */
};

struct vmlinux {
	u64 entry;		/* physical: the linker script's phys_startup_64 */
	u64 start, end;		/* the memory its segments span */
	unsigned int nr_segs;
	struct vmlinux_seg seg[VMLINUX_MAX_SEGS];
};

/* Whether @head (@len bytes) starts like an ELF file. */
bool vmlinux_is_elf(const void *head, size_t len);

/*
 * Fill @vl and @bz from the start of an ELF file of @size bytes: @head
 * holds its first @head_len bytes, at least MIN(@size, VMLINUX_HEAD_SIZE).
 * Every loadable segment must lie in the file, above 1 MiB and below
 * @mem_limit, and the entry in one of them, mapped in the kernel's half
 * of the address space (a user program's ELF is not a kernel).  On failure returns -ENOEXEC
 * and points *why at a one-line reason.
 */
int vmlinux_parse(const void *head, size_t head_len, u64 size, u64 mem_limit,
		  struct vmlinux *vl, struct bzimage *bz, const char **why);

#endif
