/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest physical memory: a few regions of host memory, each mapped at a
 * guest physical address.  gpa_to_hva() is the only door from a guest
 * address to a host pointer; everything that reads or writes guest memory
 * on the guest's behalf goes through it, with the length it will touch.
 */
#ifndef LKVM_MEM_H
#define LKVM_MEM_H

#include <pthread.h>

#include "kvm/types.h"

#define GUEST_MEM_MAX_REGIONS 4
#define GUEST_PAGE_SIZE 4096ULL
#define GUEST_PAGE_SHIFT 12

struct mem_region {
	u64 gpa;
	u64 size;
	void *hva;
};

/*
 * lkvm's own writes into guest memory, for migration (kvm/migrate.c).
 *
 * KVM's dirty log sees only what vCPUs write.  What lkvm writes on the
 * guest's behalf (used rings, the data of a virtio-blk read, network
 * frames received) is tracked here, and the write gate keeps the two in
 * step:
 *
 *   - Device code that may write guest memory runs between
 *     guest_mem_write_begin() and guest_mem_write_end() (the virtio core
 *     does it in virtio_enter()/virtio_leave()), and marks what it will
 *     write with guest_mem_mark_dirty() before its end (virtq.c does it
 *     for every device-writable buffer it hands out, and the used ring).
 *   - Migration reads the bitmap only while no writer is inside
 *     (guest_mem_log_harvest()): a write still in flight when a page is
 *     collected was marked before it started, so it is collected again
 *     next time; and a page is copied only after the write it was marked
 *     for is done.
 *   - For the final copy, migration holds the gate shut (writers wait in
 *     guest_mem_write_begin()): after guest_mem_hold() returns, nothing
 *     in lkvm writes guest memory until guest_mem_release(), or ever again
 *     after guest_mem_shut() (the guest runs elsewhere now).
 *
 * Pages are numbered by their offset in the host mapping (base), which
 * holds every region back to back.
 */
struct mem_dirty {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int writers;	/* inside write_begin/end */
	bool hold;		/* writers wait */
	bool shut;		/* writers are refused */
	bool logging;		/* atomic: marks go into bitmap */
	unsigned long *bitmap;	/* atomic bits; allocated at the first start */
	u64 nr_pages;
};

struct guest_mem {
	struct mem_region region[GUEST_MEM_MAX_REGIONS];
	unsigned int nr;
	u64 ram_size; /* sum of region sizes */
	void *base;   /* the single host mapping all regions live in */
	size_t map_size;
	/* Set by guest_mem_alloc(); NULL (no tracking) for a hand-made one. */
	struct mem_dirty *dirty;
};

/*
 * Return a host pointer for [gpa, gpa + len) if the whole range lies inside
 * one RAM region, else NULL.  len == 0 is allowed and checks gpa alone.
 * Overflow of gpa + len is rejected.
 */
void *gpa_to_hva(const struct guest_mem *mem, u64 gpa, u64 len);

/*
 * Add a region to the table (no mapping is made); 0 or -ENOSPC/-EINVAL.
 * Region i is KVM memory slot i (dirty logging asks KVM by slot).
 */
int guest_mem_add(struct guest_mem *mem, u64 gpa, u64 size, void *hva);

/*
 * Reserve host memory for @ram_size bytes of guest RAM, 2 MiB aligned and
 * advised for transparent huge pages.  Regions are added by the arch code.
 */
int guest_mem_alloc(struct guest_mem *mem, u64 ram_size);
void guest_mem_free(struct guest_mem *mem);

/* The page number of a host address inside base's mapping. */
u64 guest_mem_page(const struct guest_mem *mem, const void *hva);

/* ---- lkvm's writes (see struct mem_dirty) ---- */

/* false: the guest has migrated away; do not touch its memory. */
bool guest_mem_write_begin(const struct guest_mem *mem);
void guest_mem_write_end(const struct guest_mem *mem);
/*
 * lkvm writes [gpa, gpa + len): call it inside write_begin/end before
 * the write, or outside after it.  Ignored if not RAM or not logging.
 */
void guest_mem_mark_dirty(const struct guest_mem *mem, u64 gpa, u64 len);
/*
 * The same for a host range inside base's mapping (an iovec a device got
 * from a chain it took off a ring earlier); anything else is ignored.
 */
void guest_mem_mark_dirty_hva(const struct guest_mem *mem, const void *hva,
			      u64 len);

/* Start or stop logging lkvm's writes; 0 or -ENOMEM. */
int guest_mem_log_start(struct guest_mem *mem);
void guest_mem_log_stop(struct guest_mem *mem);
/*
 * OR what was marked since the last harvest into @dst (a bitmap of
 * nr_pages bits, numbered as above) and clear it, with no writer inside.
 */
void guest_mem_log_harvest(struct guest_mem *mem, unsigned long *dst);
/* Keep writers out from now on (they wait), and wait for those inside. */
void guest_mem_hold(struct guest_mem *mem);
void guest_mem_release(struct guest_mem *mem);
/* Refuse writers for good: the guest runs elsewhere now. */
void guest_mem_shut(struct guest_mem *mem);

#endif
