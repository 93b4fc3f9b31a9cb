// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "x86/layout.h"
#include "x86/vmlinux.h"

#define HDRS_MAGIC 0x53726448	/* "HdrS" */
#define CMDLINE_MAX 2047	/* x86's COMMAND_LINE_SIZE, less the NUL */
#define KERNEL_HALF 0xffff800000000000ULL /* x86-64's upper canonical half */

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return -ENOEXEC;
}

bool vmlinux_is_elf(const void *head, size_t len)
{
	return len >= SELFMAG && !memcmp(head, ELFMAG, SELFMAG);
}

static int check_ehdr(const Elf64_Ehdr *eh, size_t head_len, const char **why)
{
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(why, "not a 64-bit little-endian ELF file");
	if (eh->e_machine != EM_X86_64)
		return fail(why, "an ELF file for another machine, not x86-64");
	if (eh->e_type != ET_EXEC)
		return fail(why, "an ELF file that is no executable (a module? an object?)");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum)
		return fail(why, "corrupt ELF: no program headers");
	if (eh->e_phoff > head_len ||
	    (u64)eh->e_phnum * sizeof(Elf64_Phdr) > head_len - eh->e_phoff)
		return fail(why, "corrupt ELF: its program headers are not at its start");
	return 0;
}

/* One PT_LOAD: in the file, in low RAM above 1 MiB, into @vl. */
static int add_seg(struct vmlinux *vl, const Elf64_Phdr *ph, u64 size,
		   u64 mem_limit, const char **why)
{
	struct vmlinux_seg *s;

	if (vl->nr_segs == VMLINUX_MAX_SEGS)
		return fail(why, "an ELF file with too many loadable segments for a vmlinux");
	if (ph->p_filesz > ph->p_memsz)
		return fail(why, "corrupt ELF: a segment larger in the file than in memory");
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return fail(why, "corrupt ELF: truncated (a segment runs past the end of the file)");
	if (ph->p_paddr < KERNEL_GPA || ph->p_paddr > mem_limit ||
	    ph->p_memsz > mem_limit - ph->p_paddr)
		return fail(why, "a segment outside low guest memory (no vmlinux, or raise -m)");
	s = &vl->seg[vl->nr_segs++];
	*s = (struct vmlinux_seg){ .offset = ph->p_offset,
				   .filesz = ph->p_filesz,
				   .paddr = ph->p_paddr,
				   .memsz = ph->p_memsz,
				   .vaddr = ph->p_vaddr };
	vl->start = MIN(vl->start, s->paddr);
	vl->end = MAX(vl->end, s->paddr + s->memsz);
	return 0;
}

/* What a bzImage of this kernel would say in its setup header. */
static void fake_setup_header(const struct vmlinux *vl, struct bzimage *bz)
{
	struct setup_header *h = &bz->hdr;

	memset(bz, 0, sizeof(*bz));
	h->boot_flag = 0xAA55;
	h->header = HDRS_MAGIC;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->kernel_alignment = SZ_2M;
	/* Not relocated by us: it runs where its segments are. */
	h->pref_address = vl->start;
	h->init_size = (u32)(vl->end - vl->start);
	h->cmdline_size = CMDLINE_MAX;
	h->initrd_addr_max = 0x7fffffff;
	bz->init_size = vl->end - vl->start;
	bz->cmdline_max = CMDLINE_MAX;
	bz->initrd_addr_max = h->initrd_addr_max;
}

int vmlinux_parse(const void *head, size_t head_len, u64 size, u64 mem_limit,
		  struct vmlinux *vl, struct bzimage *bz, const char **why)
{
	const u8 *img = head;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;
	int r;

	memset(vl, 0, sizeof(*vl));
	vl->start = UINT64_MAX;
	if (head_len < MIN(size, (u64)VMLINUX_HEAD_SIZE) || head_len < sizeof(eh))
		return fail(why, "corrupt ELF: too short for its header");
	memcpy(&eh, img, sizeof(eh));
	r = check_ehdr(&eh, head_len, why);
	for (i = 0; !r && i < eh.e_phnum; i++) {
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_memsz)
			r = add_seg(vl, &ph, size, mem_limit, why);
	}
	if (r)
		return r;
	if (!vl->nr_segs)
		return fail(why, "an ELF file with nothing to load");
	vl->entry = eh.e_entry;
	for (i = 0; i < vl->nr_segs; i++)
		if (vl->entry >= vl->seg[i].paddr &&
		    vl->entry < vl->seg[i].paddr + vl->seg[i].filesz)
			break;
	if (i == vl->nr_segs)
		return fail(why, "its entry point is in no segment (no x86-64 vmlinux?)");
	if (vl->seg[i].vaddr < KERNEL_HALF)
		return fail(why, "an x86-64 program, not a kernel: its code is not mapped in the kernel's half");
	fake_setup_header(vl, bz);
	return 0;
}
