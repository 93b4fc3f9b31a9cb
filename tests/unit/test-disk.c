// SPDX-License-Identifier: GPL-2.0
/* The raw disk backend against temporary image files. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/loop.h>

#include "disk/disk.h"
#include "tests/unit/unit.h"

static char path[64];

/* A fresh image of @size bytes, byte i holding (u8)i. */
static void make_image(u64 size)
{
	unsigned char buf[4096];
	u64 off;
	int fd;
	size_t i;

	strcpy(path, "/tmp/lkvm-test-disk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	for (off = 0; off < size; off += sizeof(buf)) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)(off + i);
		if (write(fd, buf, MIN(sizeof(buf), size - off)) < 0)
			abort();
	}
	close(fd);
}

static void test_open_size_serial(void)
{
	struct disk *d;

	make_image(1 << 20);
	CHECK_EQ(disk_raw_open(path, false, &d), 0);
	CHECK_EQ(d->size, 1 << 20);
	CHECK(!d->ro);
	/* basename of "/tmp/lkvm-test-disk-XXXXXX", cut to 20 bytes */
	CHECK(memcmp(d->serial, "lkvm-test-disk-", 15) == 0);
	disk_close(d);
	unlink(path);

	CHECK_EQ(disk_raw_open("/nonexistent/lkvm.img", false, &d), -ENOENT);
	CHECK_EQ(disk_raw_open("/tmp", true, &d), -EINVAL); /* a directory */
}

static void test_unaligned_size(void)
{
	struct disk *d;
	char b[512];
	struct iovec v = { b, sizeof(b) };

	make_image(3 * 512 + 100);
	CHECK_EQ(disk_raw_open(path, false, &d), 0);
	CHECK_EQ(d->size, 3 * 512);	/* the 100-byte tail is hidden */
	CHECK_EQ(disk_readv(d, 2 * 512, &v, 1), 0);
	CHECK_EQ(disk_readv(d, 3 * 512, &v, 1), -ERANGE);
	disk_close(d);
	unlink(path);
}

static void test_read_write(void)
{
	char a[100], b[412], c[1024];
	struct iovec w[] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec r = { c, 512 };
	struct disk *d;
	int i;

	make_image(64 * 1024);
	CHECK_EQ(disk_raw_open(path, false, &d), 0);

	CHECK_EQ(disk_readv(d, 512, &r, 1), 0);
	for (i = 0; i < 512; i++)
		CHECK_EQ((u8)c[i], (u8)(512 + i));

	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	CHECK_EQ(disk_writev(d, 4096, w, 2), 0);
	CHECK_EQ(disk_flush(d), 0);
	memset(c, 0, sizeof(c));
	CHECK_EQ(disk_readv(d, 4096, &r, 1), 0);
	CHECK(c[0] == 'A' && c[99] == 'A' && c[100] == 'B' && c[511] == 'B');

	/* The last sector works; one byte further does not. */
	CHECK_EQ(disk_readv(d, 64 * 1024 - 512, &r, 1), 0);
	CHECK_EQ(disk_readv(d, 64 * 1024 - 511, &r, 1), -ERANGE);
	CHECK_EQ(disk_writev(d, ~0ULL - 100, w, 2), -ERANGE);

	/*
	 * The image shrinks under us (someone else truncated it): a read past
	 * the new end is an I/O error, not a hang or a short success.  The
	 * first truncation makes preadv stop 100 bytes into an element.
	 */
	CHECK_EQ(truncate(path, 4096 + 100), 0);
	CHECK_EQ(disk_readv(d, 4096, &r, 1), -EIO);
	CHECK_EQ(truncate(path, 1024), 0);
	CHECK_EQ(disk_readv(d, 4096, &r, 1), -EIO);
	disk_close(d);
	unlink(path);
}

static void test_read_only(void)
{
	char b[512] = { 1 };
	struct iovec v = { b, sizeof(b) };
	struct disk *d;

	make_image(4096);
	chmod(path, 0444);	/* O_RDONLY must be enough */
	CHECK_EQ(disk_raw_open(path, true, &d), 0);
	CHECK(d->ro);
	CHECK_EQ(disk_readv(d, 0, &v, 1), 0);
	CHECK_EQ(disk_writev(d, 0, &v, 1), -EROFS);
	CHECK_EQ(disk_discard(d, 0, 512), -EROFS);
	CHECK_EQ(disk_write_zeroes(d, 0, 512, false), -EROFS);
	CHECK_EQ(disk_flush(d), 0);
	disk_close(d);
	unlink(path);
}

/* A second writer, or a reader next to a writer, gets -EBUSY. */
static void test_lock(void)
{
	struct disk *d1, *d2, *d3;

	make_image(4096);
	CHECK_EQ(disk_raw_open(path, false, &d1), 0);
	CHECK_EQ(disk_raw_open(path, false, &d2), -EBUSY);
	CHECK_EQ(disk_raw_open(path, true, &d2), -EBUSY);
	disk_close(d1);
	/* The lock goes with the close. */
	CHECK_EQ(disk_raw_open(path, false, &d1), 0);
	disk_close(d1);

	/* Readers share. */
	CHECK_EQ(disk_raw_open(path, true, &d1), 0);
	CHECK_EQ(disk_raw_open(path, true, &d2), 0);
	CHECK_EQ(disk_raw_open(path, false, &d3), -EBUSY);
	disk_close(d1);
	disk_close(d2);
	unlink(path);
}

/* Attach @image to a free loop device; its path in @dev, or -1 (no root). */
static int loop_attach(const char *image, char *dev, size_t len)
{
	int ctl, img, fd = -1, n;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		return -1;
	snprintf(dev, len, "/dev/loop%d", n);
	img = open(image, O_RDWR | O_CLOEXEC);
	if (img >= 0)
		fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, LOOP_SET_FD, img)) {
		close(fd);
		fd = -1;
	}
	if (img >= 0)
		close(img);
	return fd;
}

/*
 * A mounted block device is refused for writing: writing under a mounted
 * filesystem corrupts it, and the OFD lock cannot see the mount.  An
 * O_EXCL open is how the kernel claims a device for a mount, so one
 * stands in for it here.  Reading it stays allowed.
 */
static void test_mounted_block_device(void)
{
	struct disk *d;
	char dev[32];
	int loop, holder;

	make_image(8192);
	loop = loop_attach(path, dev, sizeof(dev));
	if (loop < 0) {
		printf("  test_mounted_block_device: skipped: no loop device (needs root)\n");
		unlink(path);
		return;
	}
	holder = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	CHECK(holder >= 0);
	CHECK_EQ(disk_raw_open(dev, false, &d), -EBUSY);
	CHECK_EQ(disk_raw_open(dev, true, &d), 0);
	disk_close(d);
	close(holder);

	/* Unclaimed, it opens for writing, and excludes a mount meanwhile. */
	CHECK_EQ(disk_raw_open(dev, false, &d), 0);
	CHECK_EQ(d->size, 8192);
	CHECK_EQ(open(dev, O_RDONLY | O_EXCL | O_CLOEXEC), -1);
	CHECK_EQ(errno, EBUSY);
	disk_close(d);
	ioctl(loop, LOOP_CLR_FD);
	close(loop);
	unlink(path);
}

static void test_discard_write_zeroes(void)
{
	char c[8192];
	struct iovec r = { c, sizeof(c) };
	struct disk *d;
	size_t i;
	int zero;

	make_image(64 * 1024);
	CHECK_EQ(disk_raw_open(path, false, &d), 0);
	CHECK_EQ(disk_write_zeroes(d, 8192, 8192, false), 0);
	CHECK_EQ(disk_readv(d, 8192, &r, 1), 0);
	for (zero = 1, i = 0; i < sizeof(c); i++)
		zero &= !c[i];
	CHECK(zero);

	CHECK_EQ(disk_write_zeroes(d, 16384, 8192, true), 0);
	CHECK_EQ(disk_readv(d, 16384, &r, 1), 0);
	for (zero = 1, i = 0; i < sizeof(c); i++)
		zero &= !c[i];
	CHECK(zero);

	/* Neighbours are untouched. */
	CHECK_EQ(disk_readv(d, 0, &r, 1), 0);
	CHECK_EQ((u8)c[8191], (u8)8191);

	CHECK_EQ(disk_discard(d, 32768, 4096), 0);
	CHECK_EQ(disk_discard(d, 65536 - 512, 1024), -ERANGE);
	disk_close(d);
	unlink(path);
}

/* A backend whose flush fails once, as fdatasync does after a lost write. */
static int flushes, closes, flush_results[4];

static int once_flush(struct disk *d)
{
	return flush_results[flushes++ % 4];
}

static void once_close(struct disk *d)
{
	closes++;
}

static int once_writev(struct disk *d, u64 offset, const struct iovec *iov,
		       unsigned int iovcnt)
{
	return 0;
}

static const struct disk_ops once_ops = {
	.writev = once_writev,
	.flush = once_flush,
	.close = once_close,
};

/*
 * Linux reports a writeback error to one fsync only; the next returns 0.
 * The disk must keep failing flushes, at close too, or the guest would be
 * told that data it wrote is durable when it was lost.
 */
static void test_flush_error_sticks(void)
{
	struct disk d = { .ops = &once_ops, .size = 4096 };

	flushes = closes = 0;
	memset(flush_results, 0, sizeof(flush_results));
	flush_results[1] = -EIO;
	CHECK_EQ(disk_flush(&d), 0);
	CHECK_EQ(disk_flush(&d), -EIO);
	CHECK_EQ(disk_flush(&d), -EIO);	/* the backend said 0 */
	CHECK_EQ(disk_flush(&d), -EIO);
	CHECK_EQ(flushes, 4);		/* later data still goes out */
	disk_close(&d);
	CHECK_EQ(flushes, 5);
	CHECK_EQ(closes, 1);
	CHECK_EQ(d.flush_err, -EIO);
}

/*
 * A migration's flush costs nothing on a disk nobody wrote since its last
 * flush that worked; a write, or a failed flush, makes it flush again.
 */
static void test_flush_if_written(void)
{
	struct disk d = { .ops = &once_ops, .size = 4096 };
	char b[512];
	struct iovec iov = { b, sizeof(b) };

	flushes = closes = 0;
	memset(flush_results, 0, sizeof(flush_results));
	CHECK_EQ(disk_flush_if_written(&d), 0);	/* never flushed yet */
	CHECK_EQ(flushes, 1);
	CHECK_EQ(disk_flush_if_written(&d), 0);
	CHECK_EQ(flushes, 1);
	CHECK_EQ(disk_writev(&d, 0, &iov, 1), 0);
	CHECK_EQ(disk_flush_if_written(&d), 0);
	CHECK_EQ(flushes, 2);
	CHECK_EQ(disk_flush(&d), 0);		/* the guest's own still goes out */
	CHECK_EQ(flushes, 3);
	flush_results[3] = -EIO;
	CHECK_EQ(disk_writev(&d, 0, &iov, 1), 0);
	CHECK_EQ(disk_flush_if_written(&d), -EIO);
	CHECK_EQ(disk_flush_if_written(&d), -EIO);	/* and tries again */
	CHECK_EQ(flushes, 5);
}

UNIT_MAIN("disk",
	  UNIT_TEST(test_open_size_serial),
	  UNIT_TEST(test_unaligned_size),
	  UNIT_TEST(test_read_write),
	  UNIT_TEST(test_read_only),
	  UNIT_TEST(test_lock),
	  UNIT_TEST(test_mounted_block_device),
	  UNIT_TEST(test_discard_write_zeroes),
	  UNIT_TEST(test_flush_error_sticks),
	  UNIT_TEST(test_flush_if_written))
