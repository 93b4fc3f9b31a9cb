/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Disk backends: what a block device model reads and writes.  A backend
 * implements struct disk_ops; devices call the disk_*() wrappers, which
 * check the range and the read-only flag before the backend sees a request,
 * so a backend only ever gets in-range, permitted I/O.
 *
 * All functions return 0 or a negative errno, and block the calling thread:
 * call them from the I/O thread or a worker, never from a vCPU thread.
 */
#ifndef LKVM_DISK_H
#define LKVM_DISK_H

#include <sys/uio.h>

#include "kvm/types.h"

#define DISK_SECTOR_SIZE 512
/* Same as VIRTIO_BLK_ID_BYTES: the serial is NUL-padded, not terminated. */
#define DISK_SERIAL_LEN 20

struct disk;

struct disk_ops {
	/* Transfer all of @iov at byte @offset, or fail. */
	int (*readv)(struct disk *disk, u64 offset, const struct iovec *iov,
		     unsigned int iovcnt);
	int (*writev)(struct disk *disk, u64 offset, const struct iovec *iov,
		      unsigned int iovcnt);
	/* Make completed writes durable. */
	int (*flush)(struct disk *disk);
	/* Optional: drop the range (contents then undefined). */
	int (*discard)(struct disk *disk, u64 offset, u64 len);
	/* Optional: make the range read as zeroes; @unmap lets it deallocate. */
	int (*write_zeroes)(struct disk *disk, u64 offset, u64 len, bool unmap);
	void (*close)(struct disk *disk);
	/* Optional: take (-EBUSY if another holds it) or drop the image lock. */
	int (*lock)(struct disk *disk, bool lock);
};

struct disk {
	const struct disk_ops *ops;
	u64 size;			/* bytes, a multiple of 512 */
	bool ro;
	char serial[DISK_SERIAL_LEN];
	int flush_err;			/* first failed flush; sticky */
	bool locked;			/* holds its image lock */
	/* Atomic: nothing written since the last flush that worked. */
	bool synced;
};

/*
 * Open a raw image file or a block device.  A writable disk is locked
 * (an OFD write lock) and a read-only one share-locked, so two lkvm
 * instances cannot both write an image: the second open gets -EBUSY.
 * A writable block device that is mounted (or otherwise claimed
 * exclusively) gets -EBUSY too.
 * A size that is not a multiple of 512 is rounded down, with a warning.
 */
int disk_raw_open(const char *path, bool ro, struct disk **disk);
/*
 * The same without the lock (nor O_EXCL on a block device): a migration's
 * destination opens the source's disks so, and takes the lock with
 * disk_lock() only once the source has let go of it.
 */
int disk_raw_open_unlocked(const char *path, bool ro, struct disk **disk);
/* Take or drop the image lock: 0, or -EBUSY while another holds it. */
int disk_lock(struct disk *disk);
void disk_unlock(struct disk *disk);

int disk_readv(struct disk *disk, u64 offset, const struct iovec *iov,
	       unsigned int iovcnt);
int disk_writev(struct disk *disk, u64 offset, const struct iovec *iov,
		unsigned int iovcnt);
/*
 * Once a flush failed, every later one fails with the same error: written
 * data may have been lost, and the host will not say so twice.
 */
int disk_flush(struct disk *disk);
/*
 * The same, but free when nothing was written since the last flush that
 * worked (a migration's pause flushes every disk, most of them clean).
 */
int disk_flush_if_written(struct disk *disk);
int disk_discard(struct disk *disk, u64 offset, u64 len);
int disk_write_zeroes(struct disk *disk, u64 offset, u64 len, bool unmap);
void disk_close(struct disk *disk);

/* Set the serial from a string (truncated to DISK_SERIAL_LEN, NUL-padded). */
void disk_set_serial(struct disk *disk, const char *serial);

#endif
