// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for virtio-net's transmit path (virtio/net.c) and its
 * control queue, behind the virtio core: a hostile driver negotiates some
 * features, lays out chains as the input says (any split of header and
 * frame, readable and writable parts, indirect tables, lengths from 0 to
 * past 64 KiB) over guest RAM filled from the input, and kicks.  A fake
 * backend takes the frames, now and then pushing back (EAGAIN), refusing
 * one, or going away.
 *
 * The chains are built, not left to chance: random bytes rarely make a
 * readable chain of 26 bytes or more, and the walker itself is
 * fuzz-virtq.c's business.  A flag still hands the descriptor table to
 * the input raw.
 *
 * Besides "no crash, no sanitizer report", it checks:
 *   - the backend only ever gets frames inside guest RAM, as long as
 *     they say, between an Ethernet header and what it carries, with a
 *     header that asks only for what was negotiated (checksum inside the
 *     frame, TSO of the right kind, ECN only with HOST_ECN);
 *   - once the backend takes everything and the device says it is done,
 *     every chain the driver made available came back, and each one was
 *     either sent or counted as dropped: nothing lost, nothing twice.
 *
 * Input: [0] features the driver drops (FN_DROP_*), [1] the backend's
 * mood (FN_BE_*), [2] log2 of the queue size (mod 6), [3] chains (mod 32),
 * then 4 bytes per chain: FN_C_* flags, the split point, the length's
 * two bytes; then the bytes of guest RAM from FN_DATA_GPA on.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_net.h>

#include "kvm/ioloop.h"
#include "kvm/log.h"
#include "kvm/mem.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "tests/fuzz/fuzz.h"

#define FN_RAM_SIZE (192 * 1024ULL)
#define FN_TX_DESC 0x0000
#define FN_TX_AVAIL 0x1000
#define FN_TX_USED 0x2000
#define FN_CTRL_DESC 0x3000
#define FN_CTRL_AVAIL 0x4000
#define FN_CTRL_USED 0x5000
#define FN_INDIRECT 0x6000	/* one 4-entry table per chain */
#define FN_DATA_GPA 0x8000
#define FN_HDR_SIZE 4
#define FN_MAX_KICKS 64

/* byte 0: features the driver does not take */
#define FN_DROP_CSUM 0x01
#define FN_DROP_TSO4 0x02
#define FN_DROP_TSO6 0x04
#define FN_DROP_ECN 0x08
#define FN_DROP_EVENT_IDX 0x10
#define FN_DROP_INDIRECT 0x20
#define FN_DROP_CTRL 0x40
#define FN_RAW_DESCS 0x80	/* the tx descriptor table comes from the input */
/* byte 1: low 3 bits, the send call that answers EAGAIN (0: none) */
#define FN_BE_GONE 0x08		/* ...or EPIPE: the backend is gone */
#define FN_BE_REFUSE 0x10	/* every 5th frame is refused (EINVAL) */
#define FN_BE_STREAM 0x20	/* passt's limit: 65535-byte frames */
#define FN_BE_RESET 0x40	/* the driver resets the device mid-way */
/* chain flags */
#define FN_C_CTRL 0x01		/* on the control queue */
#define FN_C_INDIRECT 0x02
#define FN_C_WRITE_TAIL 0x04	/* the last piece is device-writable */
#define FN_C_THREE 0x08		/* three pieces, not two */
#define FN_C_BIG 0x10		/* length << 4: up to 1 MiB, past RAM */

/* ---- a backend that checks what it gets ---- */

static struct fake {
	struct net_backend be;
	const u8 *ram;
	u64 features;		/* the driver's */
	unsigned int calls, eagain_at;
	bool gone_at, refuse, gone;
	bool push_back;		/* EAGAIN until the harness drains */
	u64 sent;
} fk;

static bool has(u64 f, unsigned int bit)
{
	return f & (1ULL << bit);
}

static void check_hdr(const struct virtio_net_hdr_v1 *h, size_t len)
{
	u8 gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	ASSERT(!(h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM));
	ASSERT(!h->num_buffers);
	if (h->flags) {
		ASSERT(has(fk.features, VIRTIO_NET_F_CSUM));
		ASSERT((size_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 <= len);
	}
	ASSERT(gso == VIRTIO_NET_HDR_GSO_NONE ||
	       (gso == VIRTIO_NET_HDR_GSO_TCPV4 && has(fk.features, VIRTIO_NET_F_HOST_TSO4)) ||
	       (gso == VIRTIO_NET_HDR_GSO_TCPV6 && has(fk.features, VIRTIO_NET_F_HOST_TSO6)));
	if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		ASSERT(gso != VIRTIO_NET_HDR_GSO_NONE &&
		       has(fk.features, VIRTIO_NET_F_HOST_ECN));
}

static int fk_send(struct net_backend *be, const struct virtio_net_hdr_v1 *h,
		   const struct iovec *iov, unsigned int n, size_t len)
{
	volatile u8 sink = 0;
	size_t sum = 0;
	unsigned int i;
	const u8 *p;

	ASSERT(!fk.gone);
	ASSERT(len >= NET_FRAME_MIN && len <= be->frame_max);
	for (i = 0; i < n; i++) {
		p = iov[i].iov_base;
		ASSERT(p >= fk.ram && p + iov[i].iov_len <= fk.ram + FN_RAM_SIZE);
		/* Touch it all: ASan sees any byte outside guest RAM. */
		if (iov[i].iov_len)
			sink ^= p[0] ^ p[iov[i].iov_len - 1];
		sum += iov[i].iov_len;
	}
	(void)sink;
	ASSERT(sum == len);
	check_hdr(h, len);
	if (fk.push_back)
		return -EAGAIN;
	if (++fk.calls == fk.eagain_at) {
		if (fk.gone_at) {
			fk.gone = true;
			return -EPIPE;
		}
		fk.push_back = true;
		return -EAGAIN;
	}
	if (fk.refuse && fk.calls % 5 == 0)
		return -EINVAL;
	fk.sent++;
	return 0;
}

static ssize_t fk_rx_peek(struct net_backend *be)
{
	return fk.gone ? -EPIPE : -EAGAIN;
}

static ssize_t fk_recv(struct net_backend *be, const struct iovec *iov,
		       unsigned int n)
{
	return -EAGAIN;
}

static void fk_destroy(struct net_backend *be)
{
}

static const struct net_backend_ops fk_ops = {
	.rx_peek = fk_rx_peek,
	.recv = fk_recv,
	.send = fk_send,
	.destroy = fk_destroy,
};

/* ---- the driver ---- */

struct layout {
	u64 desc, avail, used;
	u16 size, next, idx;
};

static void put_desc(u8 *ram, u64 at, u64 addr, u32 len, u16 flags, u16 next)
{
	struct vring_desc d = { htole64(addr), htole32(len), htole16(flags),
				htole16(next) };

	memcpy(ram + at, &d, sizeof(d));
}

static void avail_push(u8 *ram, struct layout *l, u16 head)
{
	u16 v = htole16(head);

	memcpy(ram + l->avail + 4 + 2 * (l->idx % l->size), &v, 2);
	l->idx++;
	v = htole16(l->idx);
	memcpy(ram + l->avail + 2, &v, 2);
}

/*
 * One chain: a buffer of @len bytes at @addr, cut at @split (and at the
 * middle of the rest with FN_C_THREE), direct or through a table.
 */
static void make_chain(u8 *ram, struct layout *l, unsigned int c, u8 flags,
		       u64 addr, u32 len, u32 split)
{
	unsigned int n = flags & FN_C_THREE ? 3 : 2, i;
	u32 piece[3], off = 0;
	u64 table = FN_INDIRECT + (u64)c * 4 * sizeof(struct vring_desc);
	bool ind = flags & FN_C_INDIRECT;
	u16 head = l->next, f;

	split = split < len ? split : len;
	piece[0] = split;
	piece[1] = n == 3 ? (len - split) / 2 : len - split;
	piece[2] = len - split - piece[1];
	for (i = 0; i < n; i++) {
		f = i + 1 < n ? VRING_DESC_F_NEXT : 0;
		if (i + 1 == n && (flags & FN_C_WRITE_TAIL))
			f |= VRING_DESC_F_WRITE;
		if (ind)
			put_desc(ram, table + i * 16, addr + off, piece[i], f, i + 1);
		else
			put_desc(ram, l->desc + 16 * ((head + i) % l->size),
				 addr + off, piece[i], f, (head + i + 1) % l->size);
		off += piece[i];
	}
	if (ind) {
		put_desc(ram, l->desc + 16 * head, table, n * 16,
			 VRING_DESC_F_INDIRECT, 0);
		n = 1;
	}
	l->next = (head + n) % l->size;
	avail_push(ram, l, head);
}

static int drv_init(struct virtio_dev *dev, u64 drop, struct layout *l)
{
	const u8 ack = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u64 f = ((u64)virtio_get_device_features(dev, 1) << 32 |
		 virtio_get_device_features(dev, 0)) & ~drop;
	unsigned int q;

	virtio_set_status(dev, 0);
	virtio_set_status(dev, ack);
	virtio_set_driver_features(dev, 0, (u32)f);
	virtio_set_driver_features(dev, 1, (u32)(f >> 32));
	if (virtio_set_status(dev, ack | VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	fk.features = dev->driver_features;
	for (q = NET_TX_QUEUE; q <= NET_CTRL_QUEUE; q++) {
		const struct layout *x = &l[q - NET_TX_QUEUE];

		if (virtio_queue_set_size(dev, q, x->size) ||
		    virtio_queue_set_addr(dev, q, VIRTIO_QUEUE_DESC, x->desc) ||
		    virtio_queue_set_addr(dev, q, VIRTIO_QUEUE_AVAIL, x->avail) ||
		    virtio_queue_set_addr(dev, q, VIRTIO_QUEUE_USED, x->used) ||
		    virtio_queue_set_enabled(dev, q, true))
			return -1;
	}
	return virtio_set_status(dev, ack | VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

static u64 drop_features(u8 b)
{
	u64 d = 0;

	d |= b & FN_DROP_CSUM ? 1ULL << VIRTIO_NET_F_CSUM : 0;
	d |= b & FN_DROP_TSO4 ? 1ULL << VIRTIO_NET_F_HOST_TSO4 : 0;
	d |= b & FN_DROP_TSO6 ? 1ULL << VIRTIO_NET_F_HOST_TSO6 : 0;
	d |= b & FN_DROP_ECN ? 1ULL << VIRTIO_NET_F_HOST_ECN : 0;
	d |= b & FN_DROP_EVENT_IDX ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0;
	d |= b & FN_DROP_INDIRECT ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0;
	d |= b & FN_DROP_CTRL ? (1ULL << VIRTIO_NET_F_CTRL_VQ) |
					(1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) |
					(1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) : 0;
	return d;
}

/* Lay out the chains the input asks for; returns where RAM data starts. */
static size_t build(u8 *ram, struct layout *l, const u8 *data, size_t size)
{
	unsigned int nr = data[3] % 32, c;
	const u8 *spec = data + FN_HDR_SIZE;
	size_t used = FN_HDR_SIZE;
	u32 len, split;
	u8 flags;

	for (c = 0; c < nr && used + 4 <= size; c++, spec += 4, used += 4) {
		flags = spec[0];
		len = spec[2] | spec[3] << 8;
		if (flags & FN_C_BIG)
			len <<= 4;
		split = spec[1];
		make_chain(ram, &l[flags & FN_C_CTRL ? 1 : 0], c, flags,
			   FN_DATA_GPA + (u64)c * 512, len, split);
	}
	return used;
}

/* Kick until the device has nothing left; false if it still had work. */
static bool kick_all(struct virtio_dev *dev)
{
	unsigned int i;
	bool more;

	for (i = 0; i < FN_MAX_KICKS; i++) {
		more = virtio_queue_notify(dev, NET_TX_QUEUE);
		more |= virtio_queue_notify(dev, NET_CTRL_QUEUE);
		if (!more)
			return true;
	}
	return false;
}

/* Every chain made available came back, each sent or dropped once. */
static void check_done(struct virtio_net *net, struct virtio_dev *dev)
{
	const struct virtq *vq = virtio_vq(dev, NET_TX_QUEUE);
	struct net_stats s;

	if (!virtio_running(dev) || vq->broken)
		return;
	ASSERT(vq->used_idx == vq->last_avail_idx);
	ASSERT(vq->avail_idx == vq->last_avail_idx);
	net_get_stats(net, &s);
	ASSERT(s.tx_frames == fk.sent);
	ASSERT(s.tx_frames + net_tx_dropped(&s) == vq->used_idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layout l[2] = {
		{ FN_TX_DESC, FN_TX_AVAIL, FN_TX_USED },
		{ FN_CTRL_DESC, FN_CTRL_AVAIL, FN_CTRL_USED },
	};
	struct net_config cfg = { .mac = { 2, 0, 0, 0, 0, 1 } };
	struct guest_mem mem = { 0 };
	struct ioloop loop;
	struct virtio_net *net;
	struct virtio_dev *dev;
	size_t off;
	u8 *ram;

	if (size < FN_HDR_SIZE)
		return 0;
	ram = calloc(1, FN_RAM_SIZE);
	if (!ram || ioloop_init(&loop))
		abort();
	guest_mem_add(&mem, 0, FN_RAM_SIZE, ram);
	memset(&fk, 0, sizeof(fk));
	fk.be = (struct net_backend){
		.ops = &fk_ops, .mode = "fuzz", .fd = -1, .aux_fd = -1,
		.mtu = 1500,
		.frame_max = data[1] & FN_BE_STREAM ? 65535 : NET_FRAME_MAX,
		.features = NET_F_HOST_OFFLOADS | NET_F_GUEST_OFFLOADS,
	};
	fk.ram = ram;
	fk.eagain_at = data[1] & 7;
	fk.gone_at = data[1] & FN_BE_GONE;
	fk.refuse = data[1] & FN_BE_REFUSE;
	l[0].size = 1 << (data[2] % 6);
	l[1].size = 1 << ((data[2] >> 4) % 6);

	if (net_create("fuzz", &fk.be, &cfg, &mem, &loop, &net))
		abort();
	dev = net_dev(net);
	off = build(ram, l, data, size);
	/* The rest is guest RAM: headers, frames, control requests. */
	if (size > off)
		memcpy(ram + FN_DATA_GPA, data + off,
		       MIN(size - off, FN_RAM_SIZE - FN_DATA_GPA));
	if (data[0] & FN_RAW_DESCS && size > off)
		memcpy(ram + FN_TX_DESC, data + off, MIN(size - off, 0x1000));
	if (drv_init(dev, drop_features(data[0]), l))
		goto out;
	kick_all(dev);
	if (data[1] & FN_BE_RESET) {
		/* A reset with frames held back, then a new driver. */
		virtio_set_status(dev, 0);
		fk.push_back = false;
		if (drv_init(dev, drop_features(data[0]), l))
			goto out;
	}
	/* The backend takes everything now. */
	fk.push_back = false;
	if (kick_all(dev) && !(data[1] & FN_BE_RESET))
		check_done(net, dev);
out:
	net_destroy(net);
	ioloop_fini(&loop);
	free(ram);
	return 0;
}
