/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Port I/O and MMIO dispatch.  A device registers a range with an access
 * callback; vCPU threads look the range up on each KVM_EXIT_IO/MMIO.
 *
 * Lookups take a read lock, so PCI BAR moves (a guest writing a BAR on one
 * vCPU while another vCPU accesses a device) are safe.  Callbacks run on the
 * vCPU thread that exited: they must not block on host I/O.
 */
#ifndef LKVM_IOBUS_H
#define LKVM_IOBUS_H

#include <pthread.h>

#include "kvm/types.h"

struct io_range;

/* data is little-endian, len is 1, 2, 4 or 8. */
typedef void io_access_fn(struct io_range *r, u64 offset, void *data,
			  unsigned int len, bool is_write);

struct io_range {
	u64 base;
	u64 len;
	io_access_fn *access;
	void *opaque;
};

#define IO_BUS_MAX_RANGES 64

struct io_bus {
	pthread_rwlock_t lock;
	struct io_range *range[IO_BUS_MAX_RANGES]; /* sorted by base */
	unsigned int nr;
	const char *name;
	u64 unhandled; /* accesses no range claimed */
};

void io_bus_init(struct io_bus *bus, const char *name);
/* 0, -EEXIST if it overlaps a registered range, -ENOSPC. */
int io_bus_register(struct io_bus *bus, struct io_range *r);
void io_bus_unregister(struct io_bus *bus, struct io_range *r);
/* Move a registered range (PCI BAR relocation); 0 or -EEXIST. */
int io_bus_move(struct io_bus *bus, struct io_range *r, u64 new_base);
/*
 * Dispatch one access.  Returns false if no range claimed it; then reads
 * are filled with all-ones, as an empty ISA/PCI bus would.
 */
bool io_bus_access(struct io_bus *bus, u64 addr, void *data, unsigned int len,
		   bool is_write);

#endif
