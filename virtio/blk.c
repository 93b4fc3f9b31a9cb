// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.2 §5.2).
 *
 * Every request is one descriptor chain (§5.2.6):
 *
 *	struct virtio_blk_outhdr  (16 bytes, device-readable)
 *	u8 data[]                 (readable for writes, writable for reads)
 *	u8 status                 (the last device-writable byte)
 *
 * The guest may cut that into descriptors any way it likes (§2.7.4.1), so
 * we copy the header out of the readable part, take the status byte as the
 * last writable byte, and describe the data in between with iov_slice().
 * A chain too malformed to carry a status byte is returned with length 0.
 *
 * Requests are served synchronously on the I/O thread: blk_request() needs
 * only the chain and the disk, so it can move to a worker pool later.
 * Long ones go to the disk in pieces, and stop between two pieces when
 * the device must (a reset, DMA off; see virtio.h): the request is then
 * not completed but put back on the ring, to be served again from its
 * start if the device runs again.  Every request type may be repeated.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "virtio/blk.h"
#include "virtio/iov.h"

/* Limits we advertise; the host has no hard ones, these keep requests sane. */
#define BLK_SIZE_MAX (4U << 20)			/* bytes per segment */
#define BLK_DISCARD_SEG_MAX 16
#define BLK_DISCARD_SECTORS_MAX (1U << 21)	/* 1 GiB per segment */
#define BLK_DISCARD_ALIGN 8			/* 4 KiB, the usual fs block */
/*
 * Discard and write zeroes go to the disk in pieces this big, checking
 * for a reset in between: without ZERO_RANGE, zeroing 16 segments of
 * 1 GiB is 16 GiB of pwrite.
 */
#define BLK_RANGE_CHUNK (16ULL << 20)
/*
 * Reads and writes go to the disk in pieces this big: a request may be
 * BLK_SEG_MAX segments of BLK_SIZE_MAX (about 1 GiB), and a reset or
 * another device must not wait for all of it.  4 MiB takes a few ms to
 * some tens of ms on a disk.  The fuzz target makes it small.
 */
#ifndef BLK_IO_CHUNK
#define BLK_IO_CHUNK (4ULL << 20)
#endif
/* Not a virtio status: the device stopped, the request is not done. */
#define BLK_S_STOPPED 0xff

struct virtio_blk {
	struct virtio_dev vdev;
	struct disk *disk;
	char *name;
	struct virtio_blk_config config;
	/* Only the I/O thread uses these: one request at a time. */
	struct iovec iov[BLK_SEG_MAX + 2];
	struct iovec data[BLK_SEG_MAX + 2];
};

static bool blk_queue_notify(struct virtio_dev *dev, unsigned int qidx);
static void blk_vdestroy(struct virtio_dev *dev);
static void blk_describe(struct virtio_dev *dev, char *buf, size_t len);
static int blk_save(struct virtio_dev *dev, struct state_out *out);
static int blk_load(struct virtio_dev *dev, struct state_in *in);
static int blk_handover(struct virtio_dev *dev, enum dev_handover step);

static const struct virtio_dev_type blk_type = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_BLK_F_SIZE_MAX) |
		    (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		    (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    /* §5.2.5.2: devices SHOULD always offer FLUSH. */
		    (1ULL << VIRTIO_BLK_F_FLUSH),
	.config_size = sizeof(struct virtio_blk_config),
	.queue_notify = blk_queue_notify,
	.destroy = blk_vdestroy,
	.describe = blk_describe,
	.save = blk_save,
	.load = blk_load,
	.handover = blk_handover,
};

/* ---- request handling ---- */

struct blk_req {
	const struct virtq_chain *chain;
	struct iovec *out;	/* readable segments */
	struct iovec *in;	/* writable segments; status is the last byte */
	u64 sector;
	u32 written;		/* data bytes written for the guest */
};

static u64 blk_capacity(struct virtio_blk *blk)
{
	return blk->disk->size / DISK_SECTOR_SIZE;
}

/* Is [sector, sector + len) a whole number of sectors inside the disk? */
static bool blk_range_ok(struct virtio_blk *blk, u64 sector, u64 len)
{
	u64 cap = blk_capacity(blk);

	if (len % DISK_SECTOR_SIZE)
		return false;
	return sector <= cap && len / DISK_SECTOR_SIZE <= cap - sector;
}

/*
 * §5.2.6.2, case 1: FLUSH offered but not negotiated means the driver
 * assumes a write-through cache, so a write must be durable on completion.
 */
static int blk_write_done(struct virtio_blk *blk)
{
	if (virtio_has_feature(&blk->vdev, VIRTIO_BLK_F_FLUSH))
		return 0;
	return disk_flush(blk->disk);
}

static u8 blk_io_error(struct virtio_blk *blk, const char *op,
		       const struct blk_req *req, int err)
{
	pr_warn_ratelimited("%s: %s at sector %llu failed: %s", blk->name, op,
			    (unsigned long long)req->sector, strerror(-err));
	return VIRTIO_BLK_S_IOERR;
}

/*
 * Move bytes [@skip, @skip + @len) of the buffers @iov[0 .. @nr) to or
 * from the disk at the request's sector, BLK_IO_CHUNK at a time.
 * -ECANCELED if the device stopped between two pieces.
 */
static int blk_rw_chunks(struct virtio_blk *blk, struct blk_req *req,
			 const struct iovec *iov, unsigned int nr, u64 skip,
			 u64 len, bool write)
{
	u64 off = req->sector * DISK_SECTOR_SIZE, done, n;
	int cnt, r = 0;

	for (done = 0; done < len && !r; done += n) {
		if (done && !virtio_running(&blk->vdev))
			return -ECANCELED;
		n = MIN(len - done, BLK_IO_CHUNK);
		cnt = iov_slice(blk->data, ARRAY_SIZE(blk->data), iov, nr,
				skip + done, n);
		if (cnt < 0)
			return cnt;
		r = write ? disk_writev(blk->disk, off + done, blk->data, cnt) :
			    disk_readv(blk->disk, off + done, blk->data, cnt);
	}
	return r;
}

static u8 blk_read(struct virtio_blk *blk, struct blk_req *req)
{
	const struct virtq_chain *c = req->chain;
	u64 len = c->in_len - 1;
	int r;

	if (!blk_range_ok(blk, req->sector, len))
		return VIRTIO_BLK_S_IOERR;
	r = blk_rw_chunks(blk, req, req->in, c->nr_in, 0, len, false);
	if (r == -ECANCELED)
		return BLK_S_STOPPED;
	if (r)
		return blk_io_error(blk, "read", req, r);
	req->written = (u32)len;
	return VIRTIO_BLK_S_OK;
}

static u8 blk_write(struct virtio_blk *blk, struct blk_req *req)
{
	const struct virtq_chain *c = req->chain;
	u64 hdr = sizeof(struct virtio_blk_outhdr);
	u64 len = c->out_len - hdr;
	int r;

	/* §5.2.6.2: with RO offered, fail writes and write nothing. */
	if (blk->disk->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!blk_range_ok(blk, req->sector, len))
		return VIRTIO_BLK_S_IOERR;
	r = blk_rw_chunks(blk, req, req->out, c->nr_out, hdr, len, true);
	if (r == -ECANCELED)
		return BLK_S_STOPPED;
	if (!r)
		r = blk_write_done(blk);
	if (r)
		return blk_io_error(blk, "write", req, r);
	return VIRTIO_BLK_S_OK;
}

/*
 * Runs to completion before the used entry is published (the caller pushes
 * after we return): the guest learns of the flush only once the data is
 * durable.
 */
static u8 blk_flush(struct virtio_blk *blk, struct blk_req *req)
{
	int r = disk_flush(blk->disk);

	if (!r)
		return VIRTIO_BLK_S_OK;
	pr_warn_ratelimited("%s: flush failed: %s", blk->name, strerror(-r));
	return VIRTIO_BLK_S_IOERR;
}

static u8 blk_get_id(struct virtio_blk *blk, struct blk_req *req)
{
	const struct virtq_chain *c = req->chain;
	size_t len = MIN(c->in_len - 1, (u64)DISK_SERIAL_LEN);

	/* §5.2.6: NUL-padded, no terminator at 20 bytes. */
	req->written = iov_copy_to(req->in, c->nr_in, 0, blk->disk->serial, len);
	return VIRTIO_BLK_S_OK;
}

/*
 * §5.2.6.2: for discard the device MAY deallocate the sectors: it is a
 * hint.  A host that cannot punch this range (EOPNOTSUPP, or EINVAL from
 * a block device with other alignment rules) just leaves the data there.
 */
static int blk_discard(struct virtio_blk *blk, u64 off, u64 len)
{
	int r = disk_discard(blk->disk, off, len);

	return r == -EOPNOTSUPP || r == -EINVAL ? 0 : r;
}

/* -ECANCELED if the device stopped (reset, DMA off) before the end. */
static int blk_range_chunks(struct virtio_blk *blk, bool wz, u64 off,
			    u64 len, bool unmap)
{
	u64 n;
	int r = 0;

	for (; len && !r; off += n, len -= n) {
		if (!virtio_running(&blk->vdev))
			return -ECANCELED;
		n = MIN(len, BLK_RANGE_CHUNK);
		r = wz ? disk_write_zeroes(blk->disk, off, n, unmap) :
			 blk_discard(blk, off, n);
	}
	return r;
}

/* One discard / write-zeroes segment (§5.2.6). */
static u8 blk_range_op(struct virtio_blk *blk, struct blk_req *req,
		       u32 type, const struct virtio_blk_discard_write_zeroes *s)
{
	bool wz = type == VIRTIO_BLK_T_WRITE_ZEROES;
	u32 flags = le32toh(s->flags), nr = le32toh(s->num_sectors);
	u32 max = wz ? le32toh(blk->config.max_write_zeroes_sectors) :
		       le32toh(blk->config.max_discard_sectors);
	u64 sector = le64toh(s->sector);
	int r;

	/* §5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP. */
	if (flags & ~(wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0))
		return VIRTIO_BLK_S_UNSUPP;
	if (nr > max || !blk_range_ok(blk, sector, (u64)nr * DISK_SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;
	/* An empty range is done (fallocate would call it EINVAL). */
	if (!nr)
		return VIRTIO_BLK_S_OK;
	req->sector = sector;
	r = blk_range_chunks(blk, wz, sector * DISK_SECTOR_SIZE,
			     (u64)nr * DISK_SECTOR_SIZE,
			     flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	if (r == -ECANCELED)
		return BLK_S_STOPPED;
	return r ? blk_io_error(blk, wz ? "write zeroes" : "discard", req, r) :
		   VIRTIO_BLK_S_OK;
}

static u8 blk_discard_write_zeroes(struct virtio_blk *blk, struct blk_req *req,
				   u32 type)
{
	struct virtio_blk_discard_write_zeroes seg;
	const struct virtq_chain *c = req->chain;
	u64 hdr = sizeof(struct virtio_blk_outhdr);
	u64 len = c->out_len - hdr, i;
	unsigned int feature = type == VIRTIO_BLK_T_DISCARD ?
				       VIRTIO_BLK_F_DISCARD :
				       VIRTIO_BLK_F_WRITE_ZEROES;
	u8 status = VIRTIO_BLK_S_OK;

	if (!virtio_has_feature(&blk->vdev, feature))
		return VIRTIO_BLK_S_UNSUPP;
	/* §5.2.6.1: whole segments, at most max_*_seg of them. */
	if (!len || len % sizeof(seg) || len / sizeof(seg) > BLK_DISCARD_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < len / sizeof(seg) && status == VIRTIO_BLK_S_OK; i++) {
		iov_copy_from(req->out, c->nr_out, hdr + i * sizeof(seg), &seg,
			      sizeof(seg));
		status = blk_range_op(blk, req, type, &seg);
	}
	if (status == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_WRITE_ZEROES &&
	    blk_write_done(blk))
		status = VIRTIO_BLK_S_IOERR;
	return status;
}

static u8 blk_dispatch(struct virtio_blk *blk, struct blk_req *req, u32 type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return blk_read(blk, req);
	case VIRTIO_BLK_T_OUT:
		return blk_write(blk, req);
	case VIRTIO_BLK_T_FLUSH:
		return blk_flush(blk, req);
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(blk, req);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_discard_write_zeroes(blk, req, type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * Serve the request in blk->iov described by @c.  Returns 0 and in @used
 * the used length: the bytes written into the chain's writable part (data,
 * then status); or -ECANCELED if the device stopped before the end.
 */
static int blk_request(struct virtio_blk *blk, const struct virtq_chain *c,
		       u32 *used)
{
	struct virtio_blk_outhdr hdr;
	struct blk_req req = {
		.chain = c,
		.out = blk->iov,
		.in = blk->iov + c->nr_out,
	};
	u8 status;

	*used = 0;
	if (!c->in_len) {
		pr_warn_ratelimited("%s: request without a writable status byte",
				    blk->name);
		return 0;
	}
	if (c->out_len < sizeof(hdr)) {
		pr_warn_ratelimited("%s: request header shorter than %zu bytes",
				    blk->name, sizeof(hdr));
		status = VIRTIO_BLK_S_IOERR;
	} else {
		/* One copy: the guest may rewrite the header as we work. */
		iov_copy_from(req.out, c->nr_out, 0, &hdr, sizeof(hdr));
		req.sector = le64toh(hdr.sector);
		status = blk_dispatch(blk, &req, le32toh(hdr.type));
	}
	if (status == BLK_S_STOPPED)
		return -ECANCELED;
	iov_copy_to(req.in, c->nr_in, c->in_len - 1, &status, 1);
	/* A 4 GiB read would overflow; §2.7.8.2 allows an underestimate. */
	*used = req.written < UINT32_MAX ? req.written + 1 : req.written;
	return 0;
}

/*
 * At most one ring's worth of requests per call: a guest that refills the
 * ring as fast as we empty it must not keep the I/O thread from other
 * devices and console input.  Returning true makes the transport kick us
 * again once they had their turn.
 *
 * Completions are published one by one, and the driver is interrupted once
 * per BLK_IRQ_BATCH of them and at the end: virtio_signal() asks the ring
 * about everything pushed since the last interrupt (with EVENT_IDX,
 * whether used_event lies in that span, §2.7.7.2).  The cap keeps a full
 * ring of large requests from holding back the first one's completion; a
 * driver that does not want the interrupt yet says so in used_event (or
 * VRING_AVAIL_F_NO_INTERRUPT), so asking more often costs no MSI.
 */
#define BLK_IRQ_BATCH 4

static bool blk_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_blk *blk = dev->priv;
	struct virtq *vq = virtio_vq(dev, qidx);
	unsigned int budget = vq->size, done = 0;
	struct virtq_chain chain;
	bool more = false;
	u32 len;
	int r;

	/* Stop between requests if a reset is waiting for us. */
	while (virtio_running(dev)) {
		if (!budget--) {
			more = true;
			break;
		}
		r = virtq_pop(vq, blk->iov, ARRAY_SIZE(blk->iov), &chain);
		if (r == -EAGAIN)
			break;
		if (r)
			goto fail;
		if (blk_request(blk, &chain, &len)) {
			/* Stopped mid-request: it starts over if we resume. */
			virtq_unpop(vq);
			break;
		}
		r = virtq_push(vq, chain.head, len);
		if (r)
			goto fail;
		if (++done % BLK_IRQ_BATCH == 0)
			virtio_signal(dev, qidx);
	}
	virtio_signal(dev, qidx);
	return more;

fail:
	/* What completed before the guest broke the ring is still signalled. */
	virtio_signal(dev, qidx);
	virtio_fail(dev, qidx, r);
	return false;
}

/* ---- migration ---- */

/*
 * The disk's identity: its contents are shared storage, not part of the
 * stream (as with QEMU without block migration), so only what must match
 * travels.
 */
static void blk_describe(struct virtio_dev *dev, char *buf, size_t len)
{
	struct virtio_blk *blk = dev->priv;
	u64 size = blk->disk->size;

	if (size % SZ_1M)
		snprintf(buf, len, "size=%lluB ro=%s path=%s",
			 (unsigned long long)size, blk->disk->ro ? "yes" : "no",
			 blk->name);
	else
		snprintf(buf, len, "size=%lluMiB ro=%s path=%s",
			 (unsigned long long)(size >> 20),
			 blk->disk->ro ? "yes" : "no", blk->name);
}

/*
 * The I/O thread is held outside the device: every completed write is
 * in the image.  Make it durable before the destination reads it (no
 * system call if nothing was written since the guest's last flush).
 */
static int blk_save(struct virtio_dev *dev, struct state_out *out)
{
	struct virtio_blk *blk = dev->priv;

	return disk_flush_if_written(blk->disk);
}

static int blk_load(struct virtio_dev *dev, struct state_in *in)
{
	return 0;
}

/* The image lock moves with the guest (disk/disk.h). */
static int blk_handover(struct virtio_dev *dev, enum dev_handover step)
{
	struct virtio_blk *blk = dev->priv;

	switch (step) {
	case DEV_HANDOVER_PREPARE:
		/* The save's own flush then usually has nothing to do. */
		return disk_flush_if_written(blk->disk);
	case DEV_HANDOVER_RELEASE:
		disk_unlock(blk->disk);
		return 0;
	case DEV_HANDOVER_RECLAIM:
	case DEV_HANDOVER_CLAIM:
		return disk_lock(blk->disk);
	default:
		return 0;
	}
}

/* ---- setup ---- */

static void blk_config_init(struct virtio_blk *blk)
{
	struct virtio_blk_config *cfg = &blk->config;

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(blk_capacity(blk));
	cfg->size_max = htole32(BLK_SIZE_MAX);
	cfg->seg_max = htole32(BLK_SEG_MAX);
	cfg->blk_size = htole32(DISK_SECTOR_SIZE);
	cfg->num_queues = htole16(1);
	cfg->max_discard_sectors = htole32(BLK_DISCARD_SECTORS_MAX);
	cfg->max_discard_seg = htole32(BLK_DISCARD_SEG_MAX);
	cfg->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN);
	cfg->max_write_zeroes_sectors = htole32(BLK_DISCARD_SECTORS_MAX);
	cfg->max_write_zeroes_seg = htole32(BLK_DISCARD_SEG_MAX);
	cfg->write_zeroes_may_unmap = 1;
}

int blk_create_disk(struct disk *disk, const char *name,
		    const struct guest_mem *mem, struct virtio_blk **out)
{
	struct virtio_blk *blk;
	int r;

	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	blk->name = strdup(name);
	if (!blk->name) {
		r = -ENOMEM;
		goto err_free;
	}
	r = virtio_init(&blk->vdev, &blk_type, mem, blk);
	if (r)
		goto err_name;

	blk->disk = disk;
	blk->vdev.name = blk->name;
	blk->vdev.config = &blk->config;
	blk_config_init(blk);
	if (disk->ro) {
		blk->vdev.device_features |= 1ULL << VIRTIO_BLK_F_RO;
	} else {
		if (disk->ops->discard)
			blk->vdev.device_features |= 1ULL << VIRTIO_BLK_F_DISCARD;
		if (disk->ops->write_zeroes)
			blk->vdev.device_features |=
				1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	}
	*out = blk;
	return 0;

err_name:
	free(blk->name);
err_free:
	free(blk);
	return r;
}

int blk_parse(const char *arg, char **path, bool *ro, char **bad)
{
	char *s, *opt, *next;

	*ro = false;
	*bad = NULL;
	s = strdup(arg);
	if (!s)
		return -ENOMEM;
	opt = strchr(s, ',');
	if (opt)
		*opt++ = 0;
	if (!*s)
		goto err;
	for (; opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = 0;
		if (strcmp(opt, "ro")) {
			*bad = strdup(opt);
			goto err;
		}
		*ro = true;
	}
	*path = s;
	return 0;
err:
	free(s);
	return -EINVAL;
}

int blk_open(const char *path, bool ro, bool unlocked,
	     const struct guest_mem *mem, struct virtio_blk **blk)
{
	struct disk *disk;
	int r;

	r = unlocked ? disk_raw_open_unlocked(path, ro, &disk) :
		       disk_raw_open(path, ro, &disk);
	if (r)
		return r;
	r = blk_create_disk(disk, path, mem, blk);
	if (r)
		disk_close(disk);
	return r;
}

int blk_create(const char *arg, const struct guest_mem *mem,
	       struct virtio_blk **blk)
{
	char *path, *bad;
	bool ro;
	int r;

	r = blk_parse(arg, &path, &ro, &bad);
	free(bad);
	if (r)
		return r;
	r = blk_open(path, ro, false, mem, blk);
	free(path);
	return r;
}

struct virtio_dev *blk_dev(struct virtio_blk *blk)
{
	return &blk->vdev;
}

static void blk_vdestroy(struct virtio_dev *dev)
{
	blk_destroy(dev->priv);
}

void blk_destroy(struct virtio_blk *blk)
{
	if (!blk)
		return;
	virtio_exit(&blk->vdev);
	disk_close(blk->disk);
	free(blk->name);
	free(blk);
}
