// SPDX-License-Identifier: GPL-2.0
/*
 * Generic disk wrappers: the range and permission checks every backend
 * relies on.  A request that reaches a backend is inside the disk and
 * allowed by its read-only flag.
 */
#include <errno.h>
#include <string.h>

#include "disk/disk.h"
#include "kvm/log.h"

static u64 iov_total(const struct iovec *iov, unsigned int iovcnt)
{
	u64 len = 0;
	unsigned int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return len;
}

/* Written so no sum can overflow: offset + len must not pass the end. */
static int disk_check_range(const struct disk *disk, u64 offset, u64 len)
{
	if (offset > disk->size || len > disk->size - offset)
		return -ERANGE;
	return 0;
}

int disk_readv(struct disk *disk, u64 offset, const struct iovec *iov,
	       unsigned int iovcnt)
{
	int r = disk_check_range(disk, offset, iov_total(iov, iovcnt));

	return r ? r : disk->ops->readv(disk, offset, iov, iovcnt);
}

/*
 * After a write completes, not before: a flush that starts in between
 * makes it durable, or leaves synced false for the next one.
 */
static int written(struct disk *disk, int r)
{
	__atomic_store_n(&disk->synced, false, __ATOMIC_RELEASE);
	return r;
}

int disk_writev(struct disk *disk, u64 offset, const struct iovec *iov,
		unsigned int iovcnt)
{
	int r;

	if (disk->ro)
		return -EROFS;
	r = disk_check_range(disk, offset, iov_total(iov, iovcnt));
	return r ? r : written(disk, disk->ops->writev(disk, offset, iov,
						       iovcnt));
}

int disk_flush(struct disk *disk)
{
	int r;

	/* Nothing to make durable on a read-only disk. */
	if (disk->ro)
		return 0;
	__atomic_store_n(&disk->synced, true, __ATOMIC_RELEASE);
	r = disk->ops->flush(disk);
	if (r)
		__atomic_store_n(&disk->synced, false, __ATOMIC_RELEASE);
	/*
	 * Linux reports a writeback error to fsync once; the next fdatasync
	 * returns 0 although the data never reached the disk.  Remember it,
	 * so the guest never hears "durable" about data that may be lost.
	 */
	if (r && !disk->flush_err) {
		disk->flush_err = r;
		pr_warn("disk %.*s: flush failed: %s; written data may be lost, every later flush fails",
			DISK_SERIAL_LEN, disk->serial, strerror(-r));
	}
	return disk->flush_err;
}

int disk_flush_if_written(struct disk *disk)
{
	if (__atomic_load_n(&disk->synced, __ATOMIC_ACQUIRE))
		return disk->flush_err;
	return disk_flush(disk);
}

int disk_discard(struct disk *disk, u64 offset, u64 len)
{
	int r;

	if (disk->ro)
		return -EROFS;
	if (!disk->ops->discard)
		return -EOPNOTSUPP;
	r = disk_check_range(disk, offset, len);
	return r ? r : written(disk, disk->ops->discard(disk, offset, len));
}

int disk_write_zeroes(struct disk *disk, u64 offset, u64 len, bool unmap)
{
	int r;

	if (disk->ro)
		return -EROFS;
	if (!disk->ops->write_zeroes)
		return -EOPNOTSUPP;
	r = disk_check_range(disk, offset, len);
	return r ? r : written(disk, disk->ops->write_zeroes(disk, offset, len,
							     unmap));
}

void disk_close(struct disk *disk)
{
	if (!disk)
		return;
	/*
	 * What the guest wrote but never flushed still reaches the disk when
	 * lkvm ends normally (lkvm stop, poweroff): nobody wants to lose it.
	 */
	disk_flush(disk);	/* says so itself if it fails */
	disk->ops->close(disk);
}

void disk_set_serial(struct disk *disk, const char *serial)
{
	size_t n = strnlen(serial, sizeof(disk->serial));

	memset(disk->serial, 0, sizeof(disk->serial));
	memcpy(disk->serial, serial, n);
}

int disk_lock(struct disk *disk)
{
	int r;

	if (disk->locked || !disk->ops->lock)
		return 0;
	r = disk->ops->lock(disk, true);
	disk->locked = !r;
	return r;
}

void disk_unlock(struct disk *disk)
{
	if (disk->locked && disk->ops->lock)
		disk->ops->lock(disk, false);
	disk->locked = false;
}
