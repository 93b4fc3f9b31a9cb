// SPDX-License-Identifier: GPL-2.0
/*
 * Raw disk images: a regular file or a host block device, byte for byte.
 * Reads and writes are preadv/pwritev at the guest's offset; flush is
 * fdatasync; discard and write-zeroes use fallocate, which both files and
 * block devices (Linux >= 4.9) understand.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "disk/disk.h"
#include "kvm/log.h"

struct disk_raw {
	struct disk disk;
	int fd;
};

static int raw_fd(struct disk *disk)
{
	return container_of(disk, struct disk_raw, disk)->fd;
}

/* One buffer, all of it, resuming after short transfers and EINTR. */
static int raw_rw_buf(int fd, char *buf, size_t len, u64 offset, bool write)
{
	ssize_t n;

	while (len) {
		n = write ? pwrite(fd, buf, len, offset) :
			    pread(fd, buf, len, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)	/* end of file: the image shrank under us */
			return -EIO;
		buf += n;
		len -= n;
		offset += n;
	}
	return 0;
}

/*
 * All of @iov.  preadv/pwritev may stop short (a signal, a file that
 * shrank); we skip what was done and finish a partly-done element with
 * plain pread/pwrite, so @iov itself is never modified.
 */
static int raw_rw(struct disk *disk, u64 offset, const struct iovec *iov,
		  unsigned int iovcnt, bool write)
{
	int fd = raw_fd(disk), r;
	size_t done;
	ssize_t n;

	while (iovcnt) {
		if (!iov->iov_len) {
			iov++;
			iovcnt--;
			continue;
		}
		n = write ? pwritev(fd, iov, MIN(iovcnt, IOV_MAX), offset) :
			    preadv(fd, iov, MIN(iovcnt, IOV_MAX), offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		offset += n;
		while (iovcnt && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (!n)
			continue;
		/* n bytes of *iov are done: finish it by hand. */
		done = n;
		r = raw_rw_buf(fd, (char *)iov->iov_base + done,
			       iov->iov_len - done, offset, write);
		if (r)
			return r;
		offset += iov->iov_len - done;
		iov++;
		iovcnt--;
	}
	return 0;
}

static int raw_readv(struct disk *disk, u64 offset, const struct iovec *iov,
		     unsigned int iovcnt)
{
	return raw_rw(disk, offset, iov, iovcnt, false);
}

static int raw_writev(struct disk *disk, u64 offset, const struct iovec *iov,
		      unsigned int iovcnt)
{
	return raw_rw(disk, offset, iov, iovcnt, true);
}

static int raw_flush(struct disk *disk)
{
	/* fdatasync: data and the metadata needed to read it back. */
	return fdatasync(raw_fd(disk)) ? -errno : 0;
}

static int raw_fallocate(struct disk *disk, int mode, u64 offset, u64 len)
{
	if (fallocate(raw_fd(disk), mode | FALLOC_FL_KEEP_SIZE, offset, len))
		return -errno;
	return 0;
}

static int raw_discard(struct disk *disk, u64 offset, u64 len)
{
	int r = raw_fallocate(disk, FALLOC_FL_PUNCH_HOLE, offset, len);

	/* Discard is a hint; a filesystem without holes just ignores it. */
	return r == -EOPNOTSUPP ? 0 : r;
}

/* The slow way, for filesystems without PUNCH_HOLE or ZERO_RANGE. */
static int raw_write_zeroes_slow(struct disk *disk, u64 offset, u64 len)
{
	static const char zero[64 * 1024];
	size_t chunk;
	int r;

	while (len) {
		chunk = MIN(len, sizeof(zero));
		r = raw_rw_buf(raw_fd(disk), (char *)zero, chunk, offset, true);
		if (r)
			return r;
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

static int raw_write_zeroes(struct disk *disk, u64 offset, u64 len, bool unmap)
{
	int r = -EOPNOTSUPP;

	/* A punched hole reads back as zeroes, on files and block devices. */
	if (unmap)
		r = raw_fallocate(disk, FALLOC_FL_PUNCH_HOLE, offset, len);
	if (r == -EOPNOTSUPP)
		r = raw_fallocate(disk, FALLOC_FL_ZERO_RANGE, offset, len);
	if (r == -EOPNOTSUPP || r == -EINVAL)
		r = raw_write_zeroes_slow(disk, offset, len);
	return r;
}

static int raw_lock(int fd, bool ro);

static void raw_close(struct disk *disk)
{
	struct disk_raw *raw = container_of(disk, struct disk_raw, disk);

	close(raw->fd);		/* also drops the OFD lock */
	free(raw);
}

static int raw_relock(struct disk *disk, bool lock)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (lock)
		return raw_lock(raw_fd(disk), disk->ro);
	return fcntl(raw_fd(disk), F_OFD_SETLK, &fl) ? -errno : 0;
}

static const struct disk_ops raw_ops = {
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
	.lock = raw_relock,
};

/*
 * Lock the whole image for this open file description.  OFD locks (unlike
 * classic POSIX locks) belong to the open file, not the process, so they
 * also conflict between two opens inside one process, and closing some
 * other descriptor of the same file does not drop them.
 */
static int raw_lock(int fd, bool ro)
{
	struct flock fl = {
		.l_type = ro ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (!fcntl(fd, F_OFD_SETLK, &fl))
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EBUSY;
	return -errno;
}

static int raw_size(int fd, const char *path, u64 *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else {
		return -EINVAL;
	}
	if (*size % DISK_SECTOR_SIZE) {
		pr_warn("%s: size %llu is not a multiple of %d; the last %llu bytes are not visible to the guest",
			path, (unsigned long long)*size, DISK_SECTOR_SIZE,
			(unsigned long long)(*size % DISK_SECTOR_SIZE));
		*size = ALIGN_DOWN(*size, DISK_SECTOR_SIZE);
	}
	return 0;
}

/*
 * A writable block device is opened O_EXCL: Linux then refuses it with
 * EBUSY while it is mounted, or claimed by md, LVM or another O_EXCL
 * opener (open(2): O_EXCL without O_CREAT, on a block device).  The OFD
 * lock cannot see those users.  Without O_CREAT, O_EXCL means nothing
 * for other files, so we ask for it on block devices only, and check
 * after the open that the path did not become one in between.  A
 * migration's destination (!excl) opens a device the source still has
 * open O_EXCL on the same host, so it cannot ask for it.
 */
static int raw_open(const char *path, bool ro, bool excl)
{
	int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	int fd;

	if (!excl) {
		fd = open(path, flags);
		return fd < 0 ? -errno : fd;
	}
	if (!ro && !stat(path, &st) && S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	fd = open(path, flags);
	if (fd < 0)
		return -errno;
	if (!ro && !(flags & O_EXCL) && !fstat(fd, &st) &&
	    S_ISBLK(st.st_mode)) {
		/* It became a block device meanwhile: open it as one. */
		close(fd);
		fd = open(path, flags | O_EXCL);
		if (fd < 0)
			return -errno;
	}
	return fd;
}

static int raw_open_disk(const char *path, bool ro, bool lock,
			 struct disk **disk)
{
	struct disk_raw *raw;
	char *name;
	int fd, r;

	fd = raw_open(path, ro, lock);
	if (fd < 0)
		return fd;
	r = lock ? raw_lock(fd, ro) : 0;
	if (r)
		goto err_close;

	raw = calloc(1, sizeof(*raw));
	if (!raw) {
		r = -ENOMEM;
		goto err_close;
	}
	raw->fd = fd;
	raw->disk.ops = &raw_ops;
	raw->disk.ro = ro;
	raw->disk.locked = lock;
	r = raw_size(fd, path, &raw->disk.size);
	if (r)
		goto err_free;

	/* The guest sees the image's file name as the serial (GET_ID). */
	name = strdup(path);
	if (!name) {
		r = -ENOMEM;
		goto err_free;
	}
	disk_set_serial(&raw->disk, basename(name));
	free(name);

	*disk = &raw->disk;
	return 0;

err_free:
	free(raw);
err_close:
	close(fd);
	return r;
}

int disk_raw_open(const char *path, bool ro, struct disk **disk)
{
	return raw_open_disk(path, ro, true, disk);
}

int disk_raw_open_unlocked(const char *path, bool ro, struct disk **disk)
{
	return raw_open_disk(path, ro, false, disk);
}
