// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for virtio-blk request handling (virtio/blk.c) behind
 * the virtio core: a hostile driver sets the device up, fills guest RAM
 * (descriptors, rings, request headers, data) and kicks.  The device
 * parses every chain (header, data, status byte, discard segments) and
 * runs it against a disk in memory.
 *
 * Besides "no crash, no sanitizer report", it checks:
 *   - the disk only ever gets I/O inside it, and no write when read-only
 *     (what disk/disk.c promises every backend);
 *   - a device that did not fail, once it says no work is left, has
 *     completed every chain it took and seen the ring empty, even when it
 *     was stopped mid-request (DMA off) and resumed: nothing is lost or
 *     completed twice.  (Checked on the device's own indices: the guest
 *     may point a read at the rings themselves.)
 *
 * blk.c is built with BLK_IO_CHUNK at 4 KiB (fuzz.mk), so requests on a
 * disk of a few KiB already go out in pieces.
 *
 * The input layout is in fuzz-blk.h; seed-blk.c writes a seed corpus of
 * well-formed requests, which random bytes take long to find.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>

#include "disk/disk.h"
#include "kvm/log.h"
#include "kvm/mem.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"
#include "tests/fuzz/fuzz-blk.h"
#include "tests/fuzz/fuzz.h"

#define MAX_KICKS 16

/* ---- a disk in memory ---- */

static struct mdisk {
	struct disk disk;
	u8 *data;
	bool fail;
	unsigned int calls;	/* I/O calls so far */
	unsigned int stop_at;	/* the call that stops the device */
	bool stop_reset;
	bool stopped;		/* DMA was cleared; the harness restores it */
	struct virtio_dev *dev;
} md;

/* Every call: in range, then maybe stop the device in the middle. */
static int md_enter(u64 off, u64 len, bool write)
{
	ASSERT(off <= md.disk.size && len <= md.disk.size - off);
	ASSERT(!write || !md.disk.ro);
	if (++md.calls == md.stop_at && md.dev) {
		if (md.stop_reset) {
			virtio_reset(md.dev);
		} else {
			virtio_set_dma(md.dev, false);
			md.stopped = true;
		}
	}
	return md.fail ? -EIO : 0;
}

static u64 iov_len(const struct iovec *iov, unsigned int n)
{
	u64 len = 0;

	while (n--)
		len += iov[n].iov_len;
	return len;
}

static int md_rw(u64 off, const struct iovec *iov, unsigned int n,
		 bool write)
{
	int r = md_enter(off, iov_len(iov, n), write);
	unsigned int i;

	for (i = 0; !r && i < n; off += iov[i].iov_len, i++) {
		if (write)
			memcpy(md.data + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, md.data + off, iov[i].iov_len);
	}
	return r;
}

static int md_readv(struct disk *d, u64 off, const struct iovec *iov,
		    unsigned int n)
{
	return md_rw(off, iov, n, false);
}

static int md_writev(struct disk *d, u64 off, const struct iovec *iov,
		     unsigned int n)
{
	return md_rw(off, iov, n, true);
}

static int md_flush(struct disk *d)
{
	return md_enter(0, 0, false);
}

static int md_discard(struct disk *d, u64 off, u64 len)
{
	int r = md_enter(off, len, true);

	if (!r)
		memset(md.data + off, 0, len);
	return r;
}

static int md_write_zeroes(struct disk *d, u64 off, u64 len, bool unmap)
{
	return md_discard(d, off, len);
}

static void md_close(struct disk *d)
{
}

static const struct disk_ops md_ops = {
	.readv = md_readv,
	.writev = md_writev,
	.flush = md_flush,
	.discard = md_discard,
	.write_zeroes = md_write_zeroes,
	.close = md_close,
};

static const struct disk_ops md_plain_ops = {
	.readv = md_readv,
	.writev = md_writev,
	.flush = md_flush,
	.close = md_close,
};

/* ---- the driver ---- */

/*
 * Fold each descriptor's buffer into guest RAM (address modulo its size,
 * length up to its end).  A random 64-bit address almost never lands in
 * RAM, and buffers outside it are the walker's business (fuzz-virtq.c);
 * here we want chains that reach the device.  Still a possible guest.
 */
static void fold_descs(u8 *ram, u16 qsize)
{
	struct vring_desc *d = (struct vring_desc *)(ram + FB_DESC_GPA);
	u64 addr;
	u16 i;

	for (i = 0; i < qsize; i++) {
		addr = le64toh(d[i].addr) % FB_RAM_SIZE;
		d[i].addr = htole64(addr);
		d[i].len = htole32(le32toh(d[i].len) % (FB_RAM_SIZE - addr + 1));
	}
}

/* §3.1.1, accepting every offered feature except @drop. */
static int drv_init(struct virtio_dev *dev, u64 drop, u16 qsize)
{
	const u8 ack = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u64 f = ((u64)virtio_get_device_features(dev, 1) << 32 |
		 virtio_get_device_features(dev, 0)) & ~drop;

	virtio_set_status(dev, ack);
	virtio_set_driver_features(dev, 0, (u32)f);
	virtio_set_driver_features(dev, 1, (u32)(f >> 32));
	if (virtio_set_status(dev, ack | VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	if (virtio_queue_set_size(dev, 0, qsize) ||
	    virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_DESC, FB_DESC_GPA) ||
	    virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_AVAIL, FB_AVAIL_GPA) ||
	    virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_USED, FB_USED_GPA) ||
	    virtio_queue_set_enabled(dev, 0, true))
		return -1;
	return virtio_set_status(dev, ack | VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

/*
 * Kick until the device has nothing left, resuming it if it paused.
 * False if it still had work after MAX_KICKS (reads into the avail ring
 * can keep it busy).
 */
static bool drv_kick(struct virtio_dev *dev)
{
	unsigned int i;

	for (i = 0; i < MAX_KICKS; i++) {
		if (virtio_queue_notify(dev, 0))
			continue;
		if (!md.stopped)
			return true;
		md.stopped = false;
		virtio_set_dma(dev, true);	/* the transport kicks again */
	}
	return false;
}

static void check_done(struct virtio_dev *dev)
{
	const struct virtq *vq = virtio_vq(dev, 0);

	if (!virtio_running(dev) || vq->broken)
		return;
	ASSERT(vq->used_idx == vq->last_avail_idx);
	ASSERT(vq->avail_idx == vq->last_avail_idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem = { 0 };
	struct virtio_blk *blk;
	struct virtio_dev *dev;
	u64 drop = 0;
	u16 qsize;
	u8 *ram;

	if (size < FB_HDR_SIZE)
		return 0;
	ram = calloc(1, FB_RAM_SIZE);
	memset(&md, 0, sizeof(md));
	md.disk.size = (u64)data[1] * DISK_SECTOR_SIZE;
	md.data = malloc(md.disk.size ? md.disk.size : 1);
	if (!ram || !md.data)
		goto out;
	memcpy(ram, data + FB_HDR_SIZE, MIN(size - FB_HDR_SIZE, FB_RAM_SIZE));
	guest_mem_add(&mem, 0, FB_RAM_SIZE, ram);

	md.disk.ops = data[0] & FB_NO_RANGE_OPS ? &md_plain_ops : &md_ops;
	md.disk.ro = data[0] & FB_RO;
	md.fail = data[0] & FB_EIO;
	md.stop_at = data[3] & 15;
	md.stop_reset = data[3] & FB_STOP_RESET;
	disk_set_serial(&md.disk, "fuzz");
	if (blk_create_disk(&md.disk, "fuzz", &mem, &blk))
		goto out;
	dev = blk_dev(blk);
	md.dev = dev;
	drop |= data[0] & FB_NO_EVENT_IDX ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0;
	drop |= data[0] & FB_NO_INDIRECT ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0;
	drop |= data[0] & FB_NO_FLUSH ? 1ULL << VIRTIO_BLK_F_FLUSH : 0;
	qsize = 1 << (data[2] % 6);
	if (!(data[3] & FB_RAW_DESCS))
		fold_descs(ram, qsize);
	if (!drv_init(dev, drop, qsize) && drv_kick(dev))
		check_done(dev);
	md.dev = NULL;		/* the flush at close stops nothing */
	blk_destroy(blk);
out:
	free(md.data);
	free(ram);
	return 0;
}
