/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest RAM in a migration: which pages are dirty, and how pages travel.
 *
 * Source side.  Dirty pages come from two logs: KVM's (what vCPUs wrote,
 * KVM_MEM_LOG_DIRTY_PAGES on every memory slot) and lkvm's own
 * (kvm/mem.h: what devices wrote).  Both are merged into `pending`, the
 * pages still to send.  With KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, reading
 * KVM's log does not reset it: we reset it (KVM_CLEAR_DIRTY_LOG) a chunk
 * at a time, just before sending that chunk, so a page is write-protected
 * again only when it is about to go, and one written after that is seen.
 * Without it, KVM_GET_DIRTY_LOG reads and resets in one go.
 *
 * Pages are numbered by their offset in the host mapping (kvm/mem.h), a
 * RAM_PAGES section names them by guest physical address.
 *
 * RAM_PAGES payload: entries, each a u64 `gpa | flags`, gpa page-aligned;
 * MIG_PAGE_ZERO means the page is all zeroes and no data follows, else
 * 4096 bytes of data follow the entry.
 *
 * RAM_IMAGE payload (file: saves): u64 size, u64 pad.  `pad` zero bytes
 * follow the section, then `size` bytes: all of RAM, as the host mapping
 * holds it, starting page-aligned in the file.  Zero pages are holes.  A
 * restore maps it (MAP_PRIVATE), so pages are read when the guest first
 * touches them.
 */
#ifndef LKVM_MIGRATE_RAM_H
#define LKVM_MIGRATE_RAM_H

#include "kvm/migrate-stream.h"

struct vm;

#define MIG_PAGE_ZERO 1ULL
#define MIG_PAGE_FLAGS (MIG_PAGE_ZERO)
#define MIG_PAGES_PER_SECTION 256

struct mig_ram {
	struct vm *vm;
	u64 nr_pages;
	unsigned long *pending;		/* source: pages to send */
	unsigned long *slot_bm;		/* scratch: one slot's KVM log */
	bool manual;			/* KVM_CLEAR_DIRTY_LOG in use */
	bool logging;
	/*
	 * The vCPUs are parked for good: the last pass re-protects nothing
	 * (no KVM_CLEAR_DIRTY_LOG over all of RAM inside the downtime).
	 */
	bool stopped;
	struct state_out sec;		/* the RAM_PAGES section being built */
	unsigned int sec_pages;
	u64 pages_sent;			/* this migration, data pages */
	u64 pages_zero;			/* ... and zero pages */
};

int mig_ram_init(struct mig_ram *r, struct vm *vm);
void mig_ram_fini(struct mig_ram *r);

/* Log dirty pages from now on; every page is pending (the first pass). */
int mig_ram_log_start(struct mig_ram *r);
void mig_ram_log_stop(struct mig_ram *r);
/* Every page pending, without logging (a save to a pipe). */
void mig_ram_mark_all(struct mig_ram *r);
/* Merge both logs into pending; *nr the pages pending now. */
int mig_ram_harvest(struct mig_ram *r, u64 *nr);
/*
 * Send every pending page, in RAM_PAGES sections.  *sent_bytes counts
 * what went on the wire.  0 or -errno (c->why says why).
 */
int mig_ram_send(struct mig_ram *r, struct mig_chan *c);

/* file: all of RAM as one RAM_IMAGE; the vCPUs are parked. */
int mig_ram_write_image(struct vm *vm, struct mig_chan *c);

/*
 * Destination.  @touched has a bit per page this migration wrote, so a
 * zero page costs nothing unless it must overwrite one.
 */
int mig_ram_load_pages(struct vm *vm, const u8 *payload, u32 len,
		       unsigned long *touched, char *why, size_t why_len);
int mig_ram_load_image(struct vm *vm, struct mig_chan *c, const u8 *payload,
		       u32 len, char *why, size_t why_len);

#endif
