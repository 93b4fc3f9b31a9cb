/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest physical memory: a few regions of host memory, each mapped at a
 * guest physical address.  gpa_to_hva() is the only door from a guest
 * address to a host pointer; everything that reads or writes guest memory
 * on the guest's behalf goes through it, with the length it will touch.
 */
#ifndef LKVM_MEM_H
#define LKVM_MEM_H

#include "kvm/types.h"

#define GUEST_MEM_MAX_REGIONS 4

struct mem_region {
	u64 gpa;
	u64 size;
	void *hva;
};

struct guest_mem {
	struct mem_region region[GUEST_MEM_MAX_REGIONS];
	unsigned int nr;
	u64 ram_size; /* sum of region sizes */
	void *base;   /* the single host mapping all regions live in */
	size_t map_size;
};

/*
 * Return a host pointer for [gpa, gpa + len) if the whole range lies inside
 * one RAM region, else NULL.  len == 0 is allowed and checks gpa alone.
 * Overflow of gpa + len is rejected.
 */
void *gpa_to_hva(const struct guest_mem *mem, u64 gpa, u64 len);

/* Add a region to the table (no mapping is made); 0 or -ENOSPC/-EINVAL. */
int guest_mem_add(struct guest_mem *mem, u64 gpa, u64 size, void *hva);

/*
 * Reserve host memory for @ram_size bytes of guest RAM, 2 MiB aligned and
 * advised for transparent huge pages.  Regions are added by the arch code.
 */
int guest_mem_alloc(struct guest_mem *mem, u64 ram_size);
void guest_mem_free(struct guest_mem *mem);

#endif
