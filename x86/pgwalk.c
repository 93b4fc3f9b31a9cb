// SPDX-License-Identifier: GPL-2.0
/*
 * x86-64 4- and 5-level page walk (Intel SDM vol. 3A §4.5).  A 48-bit
 * virtual address splits into four 9-bit table indexes and a 12-bit offset:
 *
 *   47..39 PML4  38..30 PDPT  29..21 PD  20..12 PT  11..0 offset
 *
 * With CR4.LA57 addresses have 57 bits, and bits 56..48 index a PML5 on top.
 *
 * Each table is one 4 KiB page of 512 8-byte entries.  A PDPTE or PDE with
 * PS set maps a 1 GiB or 2 MiB page directly and ends the walk early.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "x86/pgwalk.h"

static const char *const level_name[PGWALK_LEVELS + 1] = {
	[1] = "PTE  ", [2] = "PDE  ", [3] = "PDPTE", [4] = "PML4E",
	[5] = "PML5E",
};

/*
 * Bits 63:47 all equal to bit 47 (SDM vol. 1 §3.3.7.1); with 5 levels,
 * bits 63:56 equal to bit 56.
 */
static bool gva_canonical(u64 gva, int levels)
{
	int bits = 12 + 9 * levels;
	u64 top = gva >> (bits - 1);

	return !top || top == (~0ULL >> (bits - 1));
}

static int level_shift(int level)
{
	return 12 + 9 * (level - 1);
}

/*
 * A large page's frame must be aligned to its size: bits shift-1..13 are
 * reserved (bit 12 is PAT).  PS in a PML4E is reserved too.
 */
static bool large_reserved(u64 entry, int level)
{
	u64 rsvd;

	if (level >= 4)
		return true;
	rsvd = ((1ULL << level_shift(level)) - 1) & ~((1ULL << 13) - 1);
	return entry & rsvd;
}

int pgwalk_x86(u64 cr3, u64 gva, int levels, bool nxe,
	       int (*read_gpa)(void *opaque, u64 gpa, void *buf, size_t len),
	       void *opaque, struct pgwalk *w)
{
	u64 table = cr3 & PTE_ADDR_MASK, entry, mask;
	struct pgwalk_step *s;
	int level, ret;

	memset(w, 0, sizeof(*w));
	w->cr3 = cr3;
	w->gva = gva;
	w->writable = w->user = true;
	if (levels != 4 && levels != 5)
		return -EINVAL;
	if (!gva_canonical(gva, levels))
		return -EINVAL;

	for (level = levels; level >= 1; level--) {
		s = &w->step[w->nr_steps];
		s->level = level;
		s->index = (gva >> level_shift(level)) & 511;
		s->entry_gpa = table + s->index * 8;
		ret = read_gpa(opaque, s->entry_gpa, &entry, sizeof(entry));
		if (ret) {
			w->fault = PGWALK_UNREADABLE;
			w->unread_gpa = s->entry_gpa;
			w->unread_level = level;
			return ret;
		}
		s->entry = entry = le64toh(entry);
		w->nr_steps++;

		if (!(entry & PTE_P)) {
			w->fault = PGWALK_NOT_PRESENT;
			return 0;
		}
		/*
		 * XD means execute-disable only with EFER.NXE; without it
		 * bit 63 is reserved (the XD rows of Tables 4-15 to 4-20).
		 */
		if ((entry & PTE_XD) && !nxe) {
			w->fault = PGWALK_RESERVED;
			return 0;
		}
		w->writable &= !!(entry & PTE_RW);
		w->user &= !!(entry & PTE_US);
		w->nx |= !!(entry & PTE_XD);

		if (level > 1 && (entry & PTE_PS)) {
			if (large_reserved(entry, level)) {
				w->fault = PGWALK_RESERVED;
				return 0;
			}
			w->page_size = 1ULL << level_shift(level);
			break;
		}
		table = entry & PTE_ADDR_MASK;
	}
	if (!w->page_size)
		w->page_size = SZ_4K;
	mask = w->page_size - 1;
	w->gpa = (entry & PTE_ADDR_MASK & ~mask) | (gva & mask);
	return 0;
}

int pgwalk_x86_64(u64 cr3, u64 gva,
		  int (*read_gpa)(void *opaque, u64 gpa, void *buf, size_t len),
		  void *opaque, struct pgwalk *w)
{
	return pgwalk_x86(cr3, gva, 4, true, read_gpa, opaque, w);
}

/* snprintf that appends at *len and keeps counting past the end. */
static void out(char *buf, size_t size, int *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void out(char *buf, size_t size, int *len, const char *fmt, ...)
{
	size_t off = (size_t)*len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(off < size ? buf + off : NULL, off < size ? size - off : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += n;
}

static void format_flags(char *buf, size_t size, int *len,
			 const struct pgwalk_step *s)
{
	static const struct {
		u64 bit;
		const char *name;
	} flags[] = {
		{ PTE_P, "P" },	    { PTE_RW, "W" },   { PTE_US, "U" },
		{ PTE_PWT, "PWT" }, { PTE_PCD, "PCD" }, { PTE_A, "A" },
		{ PTE_D, "D" },	    { PTE_PS, "PS" },  { PTE_G, "G" },
		{ PTE_XD, "XD" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		/* Bit 7 of a PTE is PAT, not PS. */
		if (flags[i].bit == PTE_PS && s->level == 1) {
			if (s->entry & PTE_PS)
				out(buf, size, len, " PAT");
			continue;
		}
		if (s->entry & flags[i].bit)
			out(buf, size, len, " %s", flags[i].name);
	}
}

int pgwalk_format(const struct pgwalk *w, char *buf, size_t size)
{
	const struct pgwalk_step *s;
	const char *name;
	int len = 0, i;

	if (size)
		buf[0] = 0;
	out(buf, size, &len, "gva 0x%llx cr3 0x%llx\n",
	    (unsigned long long)w->gva, (unsigned long long)w->cr3);
	for (i = 0; i < w->nr_steps; i++) {
		s = &w->step[i];
		out(buf, size, &len, "  %s[%3u] @ 0x%016llx = 0x%016llx ",
		    level_name[s->level], s->index,
		    (unsigned long long)s->entry_gpa,
		    (unsigned long long)s->entry);
		format_flags(buf, size, &len, s);
		out(buf, size, &len, "\n");
	}
	switch (w->fault) {
	case PGWALK_NOT_PRESENT:
		out(buf, size, &len, "  -> not present\n");
		break;
	case PGWALK_RESERVED:
		out(buf, size, &len, "  -> reserved bit set\n");
		break;
	case PGWALK_UNREADABLE:
		/* Not a translation: the walk could not go on. */
		name = level_name[w->unread_level];
		out(buf, size, &len, "  -> %.*s at 0x%016llx is outside guest RAM\n",
		    (int)strcspn(name, " "), name,
		    (unsigned long long)w->unread_gpa);
		break;
	case PGWALK_OK:
		out(buf, size, &len, "  -> gpa 0x%016llx (%s page) %s %s %s\n",
		    (unsigned long long)w->gpa,
		    w->page_size == SZ_1G ? "1G" :
		    w->page_size == SZ_2M ? "2M" : "4K",
		    w->user ? "user" : "kernel", w->writable ? "rw" : "ro",
		    w->nx ? "noexec" : "exec");
		break;
	}
	return len;
}
