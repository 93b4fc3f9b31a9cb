/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A software walk of x86-64 4- and 5-level page tables (Intel SDM vol. 3A §4.5,
 * "4-Level Paging and 5-Level Paging"), for `lkvm debug --walk GVA`: given
 * a vCPU's CR3 and a guest virtual address, read each level's entry and
 * say where the address lands, or why it does not.
 *
 * It is a pure function over a read_gpa() callback, so it runs on a
 * malloc'd "guest RAM" in the unit tests and on the real guest (through
 * gpa_to_hva()) in the VM.  The caller checks that the vCPU is in long
 * mode (EFER.LMA, CR4.PAE) and passes the depth (CR4.LA57) and EFER.NXE;
 * 32-bit and PAE paging are not handled here.
 */
#ifndef LKVM_X86_PGWALK_H
#define LKVM_X86_PGWALK_H

#include "kvm/types.h"

#define PGWALK_LEVELS 5	/* the most: 5-level paging (CR4.LA57) */

/* Entry bits used by the walk (SDM vol. 3A, Tables 4-15 to 4-20). */
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)	/* in a PDPTE or PDE; PAT in a PTE */
#define PTE_G (1ULL << 8)
#define PTE_XD (1ULL << 63)
/* Bits 51:12, the architectural maximum MAXPHYADDR of 52. */
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

enum pgwalk_fault {
	PGWALK_OK = 0,		/* translated: gpa and page_size are valid */
	PGWALK_NOT_PRESENT,	/* the last step's entry has P clear */
	PGWALK_RESERVED,	/* the last step's entry sets a reserved bit */
	PGWALK_UNREADABLE,	/* the next entry, at unread_gpa, was not RAM */
};

struct pgwalk_step {
	int level;		/* 5: PML5E, 4: PML4E, 3: PDPTE, 2: PDE, 1: PTE */
	unsigned int index;	/* 0..511 */
	u64 entry_gpa;		/* where the entry was read */
	u64 entry;
};

struct pgwalk {
	u64 cr3;
	u64 gva;
	struct pgwalk_step step[PGWALK_LEVELS];
	int nr_steps;
	enum pgwalk_fault fault;
	u64 unread_gpa;		/* PGWALK_UNREADABLE: the entry not read */
	int unread_level;
	u64 gpa;
	u64 page_size;		/* 4 KiB, 2 MiB or 1 GiB */
	/* Effective rights over all levels (SDM §4.6): */
	bool writable;		/* RW set at every level */
	bool user;		/* US set at every level */
	bool nx;		/* XD set at some level (EFER.NXE is set) */
};

/*
 * Walk gva from cr3 (its PCID and flag bits are ignored).  read_gpa()
 * reads len bytes of guest memory at gpa into buf and returns 0 or
 * -errno (-EFAULT outside RAM, say).
 *
 * Returns 0 when the walk ended, translated or not (see w->fault); the
 * steps taken are in w->step.  -EINVAL for a non-canonical gva; a
 * read_gpa() error is returned as is, with the steps before it in w and
 * w->fault PGWALK_UNREADABLE.
 */
int pgwalk_x86_64(u64 cr3, u64 gva,
		  int (*read_gpa)(void *opaque, u64 gpa, void *buf, size_t len),
		  void *opaque, struct pgwalk *w);
/*
 * The same with levels 4 or 5 (CR4.LA57); -EINVAL for other levels.
 * pgwalk_x86_64() assumes EFER.NXE, as every x86-64 Linux sets it; here
 * nxe says, and without it an entry with XD set is a reserved-bit fault.
 */
int pgwalk_x86(u64 cr3, u64 gva, int levels, bool nxe,
	       int (*read_gpa)(void *opaque, u64 gpa, void *buf, size_t len),
	       void *opaque, struct pgwalk *w);

/*
 * Describe a walk for a human, one line per step and a result line:
 *
 *   gva 0xffffffff81000000 cr3 0x1000
 *     PML4E[511] @ 0x0000000000001ff8 = 0x0000000000002063  P W A D
 *     PDPTE[510] @ 0x0000000000002ff0 = 0x0000000000003063  P W A D
 *     PDE  [  8] @ 0x0000000000003040 = 0x00000000010000e3  P W A D PS
 *     -> gpa 0x0000000001000000 (2M page) kernel rw exec
 *
 * or, for a walk that stopped, "-> not present", "-> reserved bit set"
 * or "-> PDE at 0x... is outside guest RAM" (PGWALK_UNREADABLE).
 *
 * Like snprintf(): returns the length the full text needs and writes at
 * most size bytes, NUL included.
 */
int pgwalk_format(const struct pgwalk *w, char *buf, size_t size);

#endif
