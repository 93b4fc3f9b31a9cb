// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio/net.c) and its backends, driven by a fake driver
 * over a malloc'd guest RAM.  The tap backend runs over a SOCK_SEQPACKET
 * socketpair, which keeps frame boundaries as a tap does; the passt
 * backend over a SOCK_STREAM one, the test playing passt.  Kicks call
 * virtio_queue_notify() and backend events net_poll(), as the I/O thread
 * would; the I/O loop is initialised but not running, so hand-overs to
 * it run at once.  A real tap is tried too, in a network namespace of
 * the test's own, when the test may make one.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "kvm/ioloop.h"
#include "kvm/mem.h"
#include "kvm/migrate-stream.h"
#include "virtio/net-passt.h"
#include "virtio/net-tap.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "tests/unit/unit.h"

#define RAM_GPA 0x80000000ULL
#define RAM_SIZE (4 * 1024 * 1024ULL)
#define QSIZE 64
#define CTRL_QSIZE 16
#define DATA_OFF 0x40000ULL	/* buffers from here on */

#define F(bit) (1ULL << (bit))

static u8 *ram;
static struct guest_mem mem;
static struct ioloop loop;
static struct virtio_net *net;
static struct virtio_dev *dev;
static int peer = -1;		/* the test's end: tap or passt */
static int irqs[4];		/* rx, tx, ctrl, config */
static u64 data_next;

struct drvq {
	u16 size;
	u64 desc, avail, used;	/* offsets in ram */
	u16 avail_idx, next_desc, used_seen;
};
static struct drvq q[3];

static int count_irq(struct virtio_dev *d, int qi)
{
	irqs[qi == VIRTIO_NOTIFY_CONFIG ? 3 : qi]++;
	return 0;
}

static u64 gpa(u64 off)
{
	return RAM_GPA + off;
}

static struct vring_desc *desc_tab(int qi)
{
	return (struct vring_desc *)(ram + q[qi].desc);
}

static struct vring_avail *avail(int qi)
{
	return (struct vring_avail *)(ram + q[qi].avail);
}

static struct vring_used *used(int qi)
{
	return (struct vring_used *)(ram + q[qi].used);
}

static u64 alloc_data(u64 len)
{
	u64 off = data_next;

	data_next = ALIGN_UP(data_next + len, 64);
	if (data_next > RAM_SIZE)
		abort();
	return off;
}

/* ---- the fake driver ---- */

struct seg {
	u64 off;
	u32 len;
	bool write;
};

/* Make a chain of @n segments available on queue @qi; its head. */
static u16 chain_add(int qi, const struct seg *s, unsigned int n)
{
	struct drvq *d = &q[qi];
	u16 head = d->next_desc, idx;
	unsigned int i;

	for (i = 0; i < n; i++) {
		idx = (head + i) % d->size;
		desc_tab(qi)[idx] = (struct vring_desc){
			.addr = htole64(gpa(s[i].off)),
			.len = htole32(s[i].len),
			.flags = htole16((s[i].write ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			.next = htole16((idx + 1) % d->size),
		};
	}
	d->next_desc = (head + n) % d->size;
	avail(qi)->ring[d->avail_idx % d->size] = htole16(head);
	d->avail_idx++;
	__atomic_store_n(&avail(qi)->idx, htole16(d->avail_idx),
			 __ATOMIC_RELEASE);
	return head;
}

/* @n receive buffers of @len bytes each; offsets in @offs if given. */
static void rx_post(unsigned int n, u32 len, u64 *offs)
{
	struct seg s = { .len = len, .write = true };
	unsigned int i;

	for (i = 0; i < n; i++) {
		s.off = alloc_data(len);
		if (offs)
			offs[i] = s.off;
		chain_add(NET_RX_QUEUE, &s, 1);
	}
}

static u16 used_idx(int qi)
{
	return le16toh(__atomic_load_n(&used(qi)->idx, __ATOMIC_ACQUIRE));
}

static struct vring_used_elem used_elem(int qi, u16 i)
{
	return used(qi)->ring[i % q[qi].size];
}

static void setup_queues(void)
{
	u64 off = 0;
	int i;

	q[0].size = q[1].size = QSIZE;
	q[2].size = CTRL_QSIZE;
	for (i = 0; i < 3; i++) {
		q[i].desc = off;
		q[i].avail = off + 0x1000;
		q[i].used = off + 0x2000;
		q[i].avail_idx = q[i].next_desc = q[i].used_seen = 0;
		off += 0x4000;
	}
}

static u64 dev_features(void)
{
	return (u64)virtio_get_device_features(dev, 1) << 32 |
	       virtio_get_device_features(dev, 0);
}

/* §3.1.1, accepting every offered feature except @drop. */
static int drv_init(u64 drop)
{
	const u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u64 f = dev_features() & ~drop;
	int i;

	virtio_set_status(dev, 0);
	memset(ram, 0, DATA_OFF);
	setup_queues();
	data_next = DATA_OFF;
	virtio_set_status(dev, s);
	virtio_set_driver_features(dev, 0, (u32)f);
	virtio_set_driver_features(dev, 1, (u32)(f >> 32));
	virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(virtio_queue_set_size(dev, i, q[i].size), 0);
		virtio_queue_set_addr(dev, i, VIRTIO_QUEUE_DESC, gpa(q[i].desc));
		virtio_queue_set_addr(dev, i, VIRTIO_QUEUE_AVAIL, gpa(q[i].avail));
		virtio_queue_set_addr(dev, i, VIRTIO_QUEUE_USED, gpa(q[i].used));
		virtio_queue_set_enabled(dev, i, true);
	}
	return virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

/* ---- setup ---- */

static void setup_ram(void)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		abort();
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram), 0);
	memset(irqs, 0, sizeof(irqs));
}

/*
 * RAM whose writes by lkvm are tracked, as lkvm run's is (kvm/mem.h),
 * with logging on; guest_mem_free() it after teardown().  Returns the
 * RAM the other tests use, for the caller to put back.
 */
static u8 *setup_tracked_ram(void)
{
	u8 *untracked = ram;

	memset(&mem, 0, sizeof(mem));
	CHECK_EQ(guest_mem_alloc(&mem, RAM_SIZE), 0);
	ram = mem.base;
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram), 0);
	CHECK_EQ(guest_mem_log_start(&mem), 0);
	memset(irqs, 0, sizeof(irqs));
	return untracked;
}

static bool page_dirty(const unsigned long *bm, u64 off)
{
	u64 pg = off / 4096;

	return bm[pg / (8 * sizeof(long))] & (1UL << (pg % (8 * sizeof(long))));
}

static void setup_with(struct net_backend *be, u64 drop)
{
	struct net_config cfg = { .mac = { 0x02, 0, 0, 0, 0, 0x42 } };

	CHECK_EQ(ioloop_init(&loop), 0);
	CHECK_EQ(net_create("eth0", be, &cfg, &mem, &loop, &net), 0);
	dev = net_dev(net);
	dev->notify_guest = count_irq;
	CHECK_EQ(net_start(net), 0);
	CHECK_EQ(drv_init(drop), 0);
}

/* TUNSETOFFLOAD, as the fake tap (a socket) gets it. */
static unsigned int tun_flags = ~0U;
static int fake_set_offloads(struct net_backend *be, unsigned int f)
{
	tun_flags = f;
	return 0;
}

/* A "tap": frames with a virtio-net header, boundaries kept. */
static struct net_backend *fake_tap(void)
{
	static struct net_backend_ops ops;
	struct net_backend *be;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
		abort();
	peer = sv[1];
	CHECK_EQ(net_tap_open_fd(sv[0], true, "faketap", &be), 0);
	ops = *be->ops;
	ops.set_offloads = fake_set_offloads;
	be->ops = &ops;
	return be;
}

static void setup_tap(u64 drop)
{
	setup_ram();
	setup_with(fake_tap(), drop);
}

/* A "passt": length-prefixed frames on a stream. */
static void setup_stream(void)
{
	struct net_backend *be;
	int sv[2];

	setup_ram();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	peer = sv[1];
	CHECK_EQ(net_stream_open(sv[0], PASST_MTU, &be), 0);
	setup_with(be, 0);
}

static void teardown(void)
{
	net_stop(net);
	net_destroy(net);
	net = NULL;
	ioloop_fini(&loop);
	if (peer >= 0)
		close(peer);
	peer = -1;
}

static void stats(struct net_stats *s)
{
	net_get_stats(net, s);
}

/* ---- frames ---- */

static void make_frame(u8 *f, size_t len, u8 seed)
{
	size_t i;

	memset(f, 0xff, 6);				/* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;					/* IPv4 */
	f[13] = 0x00;
	for (i = 14; i < len; i++)
		f[i] = (u8)(i * 7 + seed);
}

/* The tap sends the guest a frame: header, then frame. */
static void tap_put(const struct virtio_net_hdr_v1 *h, size_t len, u8 seed)
{
	static u8 buf[NET_HDR_LEN + NET_FRAME_MAX + 256];

	memcpy(buf, h, NET_HDR_LEN);
	make_frame(buf + NET_HDR_LEN, len, seed);
	CHECK_EQ(send(peer, buf, NET_HDR_LEN + len, 0),
		 (ssize_t)(NET_HDR_LEN + len));
}

static const struct virtio_net_hdr_v1 plain;

/* Copy what the guest got in used entries [from, from + n) of rx. */
static size_t rx_gather(u16 from, unsigned int n, const u64 *offs, u8 *out)
{
	size_t total = 0;
	unsigned int i;
	u32 len;

	for (i = 0; i < n; i++) {
		len = le32toh(used_elem(NET_RX_QUEUE, from + i).len);
		memcpy(out + total, ram + offs[from + i], len);
		total += len;
	}
	return total;
}

/* ---- receive ---- */

static void test_rx_one_frame(void)
{
	u8 got[2048], want[1500];
	struct virtio_net_hdr_v1 h;
	u64 offs[8];
	struct net_stats s;

	/* Without the guest's TSO the largest frame is 1500 + 18 bytes. */
	setup_tap(NET_F_GUEST_OFFLOADS);
	rx_post(8, 2048, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 1000, 1);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 0).id), 0);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 0).len), NET_HDR_LEN + 1000);
	rx_gather(0, 1, offs, got);
	memcpy(&h, got, sizeof(h));
	CHECK_EQ(le16toh(h.num_buffers), 1);
	make_frame(want, 1000, 1);
	CHECK(!memcmp(got + NET_HDR_LEN, want, 1000));
	CHECK(irqs[NET_RX_QUEUE] >= 1);
	stats(&s);
	CHECK_EQ(s.rx_frames, 1);
	CHECK_EQ(s.rx_bytes, 1000);
	CHECK_EQ(net_rx_dropped(&s), 0);
	teardown();
}

/*
 * Merged buffers: one frame over several small ones, num_buffers in the
 * first, all used entries published together; the spare buffers serve
 * the next frame.
 */
static void test_rx_mrg_spans_buffers(void)
{
	static u8 got[4096], want[4096];
	struct virtio_net_hdr_v1 h;
	u64 offs[16];

	setup_tap(NET_F_GUEST_OFFLOADS);
	rx_post(16, 256, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 1000, 2);
	net_poll(net);
	/* 12 + 1000 bytes: four buffers of 256, the last with 244. */
	CHECK_EQ(used_idx(NET_RX_QUEUE), 4);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 3).len), 1012 - 3 * 256);
	CHECK_EQ(rx_gather(0, 4, offs, got), 1012);
	memcpy(&h, got, sizeof(h));
	CHECK_EQ(le16toh(h.num_buffers), 4);
	make_frame(want, 1000, 2);
	CHECK(!memcmp(got + NET_HDR_LEN, want, 1000));

	tap_put(&plain, 100, 3);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 5);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 4).id), 4);
	rx_gather(4, 1, offs, got);
	memcpy(&h, got, sizeof(h));
	CHECK_EQ(le16toh(h.num_buffers), 1);
	teardown();
}

/*
 * Too few buffers for the largest frame the guest may get (1518 bytes
 * and the header, here): the device waits, reading nothing and not
 * watching the tap, until the guest adds more and kicks.
 */
static void test_rx_waits_for_buffers(void)
{
	struct net_stats s;
	u8 b;

	setup_tap(NET_F_GUEST_OFFLOADS);
	rx_post(2, 256, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 60, 4);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 0);
	stats(&s);
	CHECK(s.rx_wait_bufs >= 1);
	/* The frame is still in the tap. */
	CHECK_EQ(recv(peer, &b, 1, MSG_PEEK | MSG_DONTWAIT), -1);
	rx_post(6, 256, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	stats(&s);
	CHECK_EQ(s.rx_frames, 1);
	teardown();
}

/* A queue smaller than the largest frame: use what there is. */
static void test_rx_small_ring_still_works(void)
{
	u64 offs[QSIZE];
	unsigned int i;

	setup_tap(0);
	/* Every buffer the ring holds, 16 bytes each: 1 KiB in all. */
	for (i = 0; i < QSIZE; i++)
		rx_post(1, 16, &offs[i]);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 100, 5);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 7);	/* 112 bytes in 16-byte buffers */
	teardown();
}

/* Without merged buffers a frame must fit its one buffer, or is dropped. */
static void test_rx_no_mrg(void)
{
	struct net_stats s;
	u64 offs[1];

	setup_tap(F(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(1, 200, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 500, 6);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 0);
	stats(&s);
	CHECK_EQ(s.rx_drop_noroom, 1);
	tap_put(&plain, 100, 7);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 0).len), NET_HDR_LEN + 100);
	CHECK_EQ(le16toh(((struct virtio_net_hdr_v1 *)(ram + offs[0]))->num_buffers), 1);
	teardown();
}

/* Frames too short, too long, or with offloads the guest did not take. */
static void test_rx_drops(void)
{
	struct virtio_net_hdr_v1 tso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					 .gso_size = htole16(1448) };
	struct virtio_net_hdr_v1 csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	struct net_stats s;

	setup_tap(NET_F_GUEST_OFFLOADS);
	rx_post(QSIZE, 4096, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 10, 1);			/* no Ethernet header */
	tap_put(&plain, NET_FRAME_MAX + 1, 1);	/* over 64 KiB + header */
	tap_put(&tso, 2000, 1);			/* TSO, not negotiated */
	tap_put(&csum, 100, 1);			/* partial csum, no GUEST_CSUM */
	tap_put(&plain, 100, 1);		/* fine */
	net_poll(net);
	stats(&s);
	CHECK_EQ(s.rx_drop_short, 1);
	CHECK_EQ(s.rx_drop_big, 1);
	CHECK_EQ(s.rx_drop_offload, 2);
	CHECK_EQ(net_rx_dropped(&s), 4);
	CHECK_EQ(s.rx_frames, 1);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	teardown();
}

/* With the guest's TSO accepted, a 64 KiB GSO frame arrives whole. */
static void test_rx_gso(void)
{
	struct virtio_net_hdr_v1 tso = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = htole16(1448), .hdr_len = htole16(54),
		.csum_start = htole16(34), .csum_offset = htole16(16),
	};
	struct virtio_net_hdr_v1 h;
	struct net_stats s;
	u64 offs[QSIZE];

	setup_tap(0);
	rx_post(QSIZE, 1536, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&tso, 65000, 9);
	net_poll(net);
	/* 65012 bytes in 1536-byte buffers. */
	CHECK_EQ(used_idx(NET_RX_QUEUE), 43);
	memcpy(&h, ram + offs[0], sizeof(h));
	CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(le16toh(h.num_buffers), 43);
	stats(&s);
	CHECK_EQ(s.rx_gso, 1);
	CHECK_EQ(s.rx_max, 65000);
	teardown();
}

/* ---- transmit ---- */

/* Send a frame of @len as header + two pieces; returns the chain head. */
static u16 tx_frame(const struct virtio_net_hdr_v1 *h, size_t len, u8 seed)
{
	u64 off = alloc_data(NET_HDR_LEN + len);
	struct seg s[2] = {
		{ off, NET_HDR_LEN + 7, false },
		{ off + NET_HDR_LEN + 7, (u32)(len - 7), false },
	};

	memcpy(ram + off, h, NET_HDR_LEN);
	make_frame(ram + off + NET_HDR_LEN, len, seed);
	return chain_add(NET_TX_QUEUE, s, 2);
}

static ssize_t tap_get(u8 *buf, size_t len)
{
	return recv(peer, buf, len, MSG_DONTWAIT);
}

static void test_tx_frames(void)
{
	static u8 buf[NET_HDR_LEN + 2048], want[2048];
	struct net_stats s;

	setup_tap(0);
	tx_frame(&plain, 1000, 1);
	tx_frame(&plain, 60, 2);
	virtio_queue_notify(dev, NET_TX_QUEUE);
	CHECK_EQ(used_idx(NET_TX_QUEUE), 2);
	CHECK_EQ(le32toh(used_elem(NET_TX_QUEUE, 0).len), 0);
	CHECK_EQ(tap_get(buf, sizeof(buf)), NET_HDR_LEN + 1000);
	make_frame(want, 1000, 1);
	CHECK(!memcmp(buf + NET_HDR_LEN, want, 1000));
	CHECK_EQ(tap_get(buf, sizeof(buf)), NET_HDR_LEN + 60);
	CHECK_EQ(tap_get(buf, sizeof(buf)), -1);
	CHECK(irqs[NET_TX_QUEUE] >= 1);
	stats(&s);
	CHECK_EQ(s.tx_frames, 2);
	CHECK_EQ(s.tx_bytes, 1060);
	teardown();
}

/* Hostile or broken frames are dropped, counted, and their chains used. */
static void test_tx_drops(void)
{
	struct virtio_net_hdr_v1 tso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					 .gso_size = htole16(1448) };
	struct virtio_net_hdr_v1 far = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .csum_start = htole16(90),
					 .csum_offset = htole16(16) };
	struct virtio_net_hdr_v1 udp = { .gso_type = VIRTIO_NET_HDR_GSO_UDP,
					 .gso_size = htole16(1000) };
	struct seg shorthdr = { alloc_data(8), 8, false };
	static u8 buf[NET_HDR_LEN + 2048];
	struct net_stats s;

	setup_tap(NET_F_HOST_OFFLOADS);
	shorthdr.off = alloc_data(8);
	chain_add(NET_TX_QUEUE, &shorthdr, 1);		/* short header */
	tx_frame(&plain, 10, 1);			/* no Ethernet header */
	tx_frame(&plain, NET_FRAME_MAX + 1, 1);		/* too long */
	tx_frame(&tso, 2000, 1);			/* TSO not negotiated */
	tx_frame(&far, 100, 1);				/* csum, not negotiated */
	tx_frame(&udp, 2000, 1);			/* UFO, never offered */
	tx_frame(&plain, 100, 1);			/* fine */
	virtio_queue_notify(dev, NET_TX_QUEUE);
	CHECK_EQ(used_idx(NET_TX_QUEUE), 7);
	stats(&s);
	CHECK_EQ(s.tx_drop_short, 2);
	CHECK_EQ(s.tx_drop_big, 1);
	CHECK_EQ(s.tx_drop_hdr, 3);
	CHECK_EQ(net_tx_dropped(&s), 6);
	CHECK_EQ(s.tx_frames, 1);
	CHECK_EQ(tap_get(buf, sizeof(buf)), NET_HDR_LEN + 100);
	CHECK_EQ(tap_get(buf, sizeof(buf)), -1);
	CHECK(virtio_running(dev));
	teardown();
}

/* With CSUM and TSO negotiated, the header goes to the tap as it is. */
static void test_tx_offloads(void)
{
	struct virtio_net_hdr_v1 tso = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = htole16(1448), .hdr_len = htole16(54),
		.csum_start = htole16(34), .csum_offset = htole16(16),
	};
	struct virtio_net_hdr_v1 far = tso;
	static u8 buf[NET_HDR_LEN + 65536];
	struct virtio_net_hdr_v1 h;
	struct net_stats s;

	setup_tap(0);
	far.csum_start = htole16(65000);
	tx_frame(&tso, 65000, 1);
	tx_frame(&far, 1000, 1);	/* checksum past the end: dropped */
	virtio_queue_notify(dev, NET_TX_QUEUE);
	CHECK_EQ(tap_get(buf, sizeof(buf)), NET_HDR_LEN + 65000);
	memcpy(&h, buf, sizeof(h));
	CHECK(!memcmp(&h, &tso, sizeof(h)));
	stats(&s);
	CHECK_EQ(s.tx_gso, 1);
	CHECK_EQ(s.tx_max, 65000);
	CHECK_EQ(s.tx_drop_hdr, 1);
	teardown();
}

/*
 * A backend that pushes back keeps the frame on the ring, in order, and
 * the device waits for EPOLLOUT instead of spinning or dropping.
 */
static void test_tx_backpressure(void)
{
	static u8 buf[NET_HDR_LEN + 2048];
	unsigned int i, got = 0;
	struct net_stats s;
	int small = 4096;
	ssize_t n;

	setup_tap(0);
	setsockopt(net_backend(net)->fd, SOL_SOCKET, SO_SNDBUF, &small,
		   sizeof(small));
	/* Two descriptors each: 32 chains fill the ring. */
	for (i = 0; i < 32; i++)
		tx_frame(&plain, 1400, (u8)i);
	virtio_queue_notify(dev, NET_TX_QUEUE);
	stats(&s);
	CHECK(s.tx_wait_backend >= 1);
	CHECK(used_idx(NET_TX_QUEUE) < 32);
	while (got < 32) {
		n = tap_get(buf, sizeof(buf));
		if (n < 0) {
			net_poll(net);	/* EPOLLOUT: go on */
			n = tap_get(buf, sizeof(buf));
			if (n < 0)
				break;
		}
		CHECK_EQ(n, NET_HDR_LEN + 1400);
		CHECK_EQ(buf[NET_HDR_LEN + 20], (u8)(20 * 7 + got));
		got++;
	}
	CHECK_EQ(got, 32);
	CHECK_EQ(used_idx(NET_TX_QUEUE), 32);
	teardown();
}

/* ---- hostile rings ---- */

static void check_needs_reset(void)
{
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(!virtio_running(dev));
	CHECK(irqs[3] >= 1);
}

static void test_hostile_rx_readable(void)
{
	struct seg s = { 0, 2048, false };

	setup_tap(0);
	s.off = alloc_data(2048);
	chain_add(NET_RX_QUEUE, &s, 1);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	check_needs_reset();
	/* A reset and a new driver bring it back. */
	CHECK_EQ(drv_init(0), 0);
	rx_post(QSIZE, 2048, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 100, 1);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	teardown();
}

static void test_hostile_rx_short(void)
{
	setup_tap(0);
	rx_post(1, 8, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	check_needs_reset();
	teardown();
}

static void test_hostile_tx_loop(void)
{
	struct drvq *d = &q[NET_TX_QUEUE];

	setup_tap(0);
	desc_tab(NET_TX_QUEUE)[0] = (struct vring_desc){
		.addr = htole64(gpa(alloc_data(64))), .len = htole32(64),
		.flags = htole16(VRING_DESC_F_NEXT), .next = 0 };
	avail(NET_TX_QUEUE)->ring[0] = 0;
	d->avail_idx = 1;
	avail(NET_TX_QUEUE)->idx = htole16(1);
	virtio_queue_notify(dev, NET_TX_QUEUE);
	check_needs_reset();
	teardown();
}

/* ---- control queue, announce, link ---- */

static u8 ctrl_cmd(u8 class, u8 cmd, const void *data, u32 len)
{
	u64 off = alloc_data(2 + len + 1);
	struct seg s[3] = { { off, 2, false }, { off + 2, len, false },
			    { off + 2 + len, 1, true } };

	ram[off] = class;
	ram[off + 1] = cmd;
	if (len)
		memcpy(ram + off + 2, data, len);
	ram[off + 2 + len] = 0xee;
	if (len)
		chain_add(NET_CTRL_QUEUE, s, 3);
	else
		chain_add(NET_CTRL_QUEUE, (struct seg[2]){ s[0], s[2] }, 2);
	virtio_queue_notify(dev, NET_CTRL_QUEUE);
	return ram[off + 2 + len];
}

static u16 config_status(void)
{
	u16 st;

	virtio_config_read(dev, offsetof(struct virtio_net_config, status), &st,
			   sizeof(st));
	return le16toh(st);
}

static void test_announce(void)
{
	setup_tap(0);
	CHECK_EQ(config_status(), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(net_announce(net), 0);
	CHECK_EQ(config_status(), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	CHECK_EQ(irqs[3], 1);
	CHECK_EQ(ctrl_cmd(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK,
			  NULL, 0), VIRTIO_NET_OK);
	CHECK_EQ(config_status(), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(ctrl_cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, "\1", 1),
		 VIRTIO_NET_ERR);
	teardown();
	/* Without GUEST_ANNOUNCE there is nothing to ask. */
	setup_tap(F(VIRTIO_NET_F_GUEST_ANNOUNCE));
	CHECK_EQ(net_announce(net), -EOPNOTSUPP);
	teardown();
}

/* ---- migration ---- */

/*
 * To another NIC with its own tap and the same options: the buffers the
 * source had cached go back to the ring (the next frame lands in the
 * first of them, not after them), the guest's offloads reach the new tap
 * at load, and RESUMED asks the guest to announce itself.
 */
static void test_migrate(void)
{
	struct net_config cfg = { .mac = { 0x02, 0, 0, 0, 0, 0x42 } };
	u8 got[2048], want[1500];
	struct virtio_net *src;
	struct state_out o = {};
	struct state_in in;
	char a[64], b[64];
	int src_peer;
	u64 offs[8];

	setup_tap(NET_F_GUEST_OFFLOADS);
	rx_post(8, 2048, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 1000, 1);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	CHECK_EQ(virtio_save(dev, &o), 0);
	dev->type->describe(dev, a, sizeof(a));
	CHECK(!strcmp(a, "mode=tap mac=02:00:00:00:00:42 mtu=1500"));
	src = net;
	src_peer = peer;

	CHECK_EQ(net_create("eth0", fake_tap(), &cfg, &mem, &loop, &net), 0);
	dev = net_dev(net);
	dev->notify_guest = count_irq;
	CHECK_EQ(net_start(net), 0);
	dev->type->describe(dev, b, sizeof(b));
	CHECK(!strcmp(a, b));
	tun_flags = ~0U;
	state_in_init(&in, o.buf, o.len);
	CHECK_EQ(virtio_load(dev, &in), 0);
	CHECK_EQ(in.off, in.len);
	CHECK_EQ(tun_flags, 0);
	CHECK_EQ(config_status(), VIRTIO_NET_S_LINK_UP);
	irqs[3] = 0;
	CHECK_EQ(dev->type->handover(dev, DEV_HANDOVER_CLAIM), 0);
	CHECK_EQ(irqs[3], 0);
	CHECK_EQ(dev->type->handover(dev, DEV_HANDOVER_RESUMED), 0);
	CHECK_EQ(config_status(), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	CHECK_EQ(irqs[3], 1);

	tap_put(&plain, 1200, 2);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 2);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 1).id), 1);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 1).len), NET_HDR_LEN + 1200);
	rx_gather(1, 1, offs, got);
	make_frame(want, 1200, 2);
	CHECK(!memcmp(got + NET_HDR_LEN, want, 1200));
	teardown();
	net_stop(src);
	net_destroy(src);
	close(src_peer);
	state_out_free(&o);

	/* Without GUEST_ANNOUNCE: the link as it is, re-read on a config irq. */
	setup_tap(F(VIRTIO_NET_F_GUEST_ANNOUNCE));
	irqs[3] = 0;
	CHECK_EQ(dev->type->handover(dev, DEV_HANDOVER_RESUMED), 0);
	CHECK_EQ(config_status(), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(irqs[3], 1);
	teardown();
}

/*
 * A receive buffer taken off the ring in one wakeup may be written in a
 * later one (the rx cache).  Its page must be marked dirty again when
 * the frame goes in, or a migration pass that collected the first mark
 * in between sends the guest a used entry over a stale buffer.
 */
static void test_rx_marks_written_buffers_dirty(void)
{
	static unsigned long bm[RAM_SIZE / 4096 / (8 * sizeof(long))];
	u64 offs[20];
	u8 *saved;

	/* With the guest's TSO, the cache holds 64 KiB: 17 of these. */
	saved = setup_tracked_ram();
	setup_with(fake_tap(), 0);
	rx_post(20, 4096, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&plain, 1000, 1);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	guest_mem_log_harvest(&mem, bm);
	CHECK(page_dirty(bm, offs[0]));

	/* A pass collected that; the next frame goes into a cached chain. */
	memset(bm, 0, sizeof(bm));
	tap_put(&plain, 1000, 2);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 2);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 1).id), 1);
	guest_mem_log_harvest(&mem, bm);
	CHECK(page_dirty(bm, offs[1]));
	teardown();
	guest_mem_free(&mem);
	ram = saved;
}

/* The guest's offloads, through the control queue, reach the backend. */
static void test_guest_offloads(void)
{
	u64 v;

	setup_tap(0);
	CHECK(dev_features() & F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
	/* At activation: everything the guest accepted. */
	CHECK_EQ(tun_flags, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	v = htole64(F(VIRTIO_NET_F_GUEST_CSUM));
	CHECK_EQ(ctrl_cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &v, 8), VIRTIO_NET_OK);
	CHECK_EQ(tun_flags, TUN_F_CSUM);
	/* Not negotiated: refused, nothing changes. */
	v = htole64(F(VIRTIO_NET_F_GUEST_UFO));
	CHECK_EQ(ctrl_cmd(VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &v, 8), VIRTIO_NET_ERR);
	CHECK_EQ(tun_flags, TUN_F_CSUM);
	/* A TSO frame now is one the guest turned off. */
	rx_post(QSIZE, 2048, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	tap_put(&(struct virtio_net_hdr_v1){ .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
					     .gso_size = htole16(1400) }, 3000, 1);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 0);
	/* A reset turns them all off. */
	virtio_set_status(dev, 0);
	CHECK_EQ(tun_flags, 0);
	teardown();
}

/* The backend goes away: link down, config interrupt, frames dropped. */
static void test_backend_gone(void)
{
	struct net_stats s;

	setup_tap(0);
	close(peer);
	peer = -1;
	net_poll(net);
	CHECK(!net_link_up(net));
	CHECK_EQ(config_status() & VIRTIO_NET_S_LINK_UP, 0);
	CHECK_EQ(irqs[3], 1);
	tx_frame(&plain, 100, 1);
	virtio_queue_notify(dev, NET_TX_QUEUE);
	CHECK_EQ(used_idx(NET_TX_QUEUE), 1);
	stats(&s);
	CHECK_EQ(s.tx_drop_down, 1);
	/* A reset does not bring a dead link back. */
	CHECK_EQ(drv_init(0), 0);
	CHECK(!net_link_up(net));
	teardown();
}

/* ---- the stream backend (passt's framing) ---- */

static void put_bytes(const void *p, size_t len)
{
	CHECK_EQ(send(peer, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void stream_frame(u8 *buf, size_t len, u8 seed)
{
	u32 be = htobe32((u32)len);

	memcpy(buf, &be, 4);
	make_frame(buf + 4, len, seed);
}

/* A frame that arrives in pieces, and two that arrive in one piece. */
static void test_stream_rx(void)
{
	static u8 buf[3 * 2048], want[2048];
	struct virtio_net_hdr_v1 h;
	u64 offs[16];

	setup_stream();
	CHECK_EQ(dev_features() & NET_F_HOST_OFFLOADS, 0);
	rx_post(16, 2048, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	stream_frame(buf, 1000, 1);
	put_bytes(buf, 2);
	net_poll(net);
	put_bytes(buf + 2, 500);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 0);
	put_bytes(buf + 502, 502);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 0).len), NET_HDR_LEN + 1000);
	memcpy(&h, ram + offs[0], sizeof(h));
	CHECK_EQ(h.flags, 0);
	CHECK_EQ(le16toh(h.num_buffers), 1);
	make_frame(want, 1000, 1);
	CHECK(!memcmp(ram + offs[0] + NET_HDR_LEN, want, 1000));

	stream_frame(buf, 60, 2);
	stream_frame(buf + 64, 70, 3);
	put_bytes(buf, 64 + 74);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 3);
	make_frame(want, 70, 3);
	CHECK(!memcmp(ram + offs[2] + NET_HDR_LEN, want, 70));
	teardown();
}

/* A reset in the middle of a frame: its rest is skipped, not delivered. */
static void test_stream_rx_reset(void)
{
	static u8 buf[4096], want[128];
	u64 offs[8];

	setup_stream();
	rx_post(8, 2048, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	stream_frame(buf, 1500, 1);
	put_bytes(buf, 800);
	net_poll(net);
	CHECK_EQ(drv_init(0), 0);	/* reset, a new driver */
	rx_post(8, 2048, offs);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	stream_frame(buf + 1504, 100, 9);
	put_bytes(buf + 800, 1504 - 800 + 104);
	net_poll(net);
	CHECK_EQ(used_idx(NET_RX_QUEUE), 1);
	CHECK_EQ(le32toh(used_elem(NET_RX_QUEUE, 0).len), NET_HDR_LEN + 100);
	make_frame(want, 100, 9);
	CHECK(!memcmp(ram + offs[0] + NET_HDR_LEN, want, 100));
	teardown();
}

/* A frame length passt would never send: the stream is lost, link down. */
static void test_stream_bad_length(void)
{
	u32 be = htobe32(5);

	setup_stream();
	rx_post(8, 2048, NULL);
	virtio_queue_notify(dev, NET_RX_QUEUE);
	put_bytes(&be, 4);
	net_poll(net);
	CHECK(!net_link_up(net));
	teardown();
}

/*
 * Sending into a full socket: the frame's rest is kept and sent first,
 * so every frame arrives whole and in order, and nothing is dropped.
 */
static void test_stream_tx_partial(void)
{
	static u8 stream[64 * 1500];
	unsigned int i, frames = 0;
	size_t have = 0, off = 0;
	int small = 4096, spins = 0;
	struct net_stats s;
	ssize_t n;
	u32 len;

	setup_stream();
	setsockopt(net_backend(net)->fd, SOL_SOCKET, SO_SNDBUF, &small,
		   sizeof(small));
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (i = 0; i < 32; i++)
		tx_frame(&plain, 1400, (u8)i);
	virtio_queue_notify(dev, NET_TX_QUEUE);
	stats(&s);
	CHECK(s.tx_wait_backend >= 1 || net_backend(net)->out_pending);
	while (used_idx(NET_TX_QUEUE) < 32 || have < 32 * 1404) {
		n = recv(peer, stream + have, sizeof(stream) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
		net_poll(net);
		if (++spins > 10000)
			break;
	}
	CHECK_EQ(used_idx(NET_TX_QUEUE), 32);
	CHECK_EQ(have, 32 * 1404);
	while (off + 4 <= have) {
		memcpy(&len, stream + off, 4);
		CHECK_EQ(be32toh(len), 1400);
		CHECK_EQ(stream[off + 4 + 20], (u8)(20 * 7 + frames));
		off += 4 + 1400;
		frames++;
	}
	CHECK_EQ(frames, 32);
	stats(&s);
	CHECK_EQ(s.tx_frames, 32);
	CHECK_EQ(net_tx_dropped(&s), 0);
	teardown();
}

/* passt frames longer than ETH_MAX_MTU are not sent. */
static void test_stream_tx_limit(void)
{
	struct net_stats s;

	setup_stream();
	tx_frame(&plain, 65536, 1);
	virtio_queue_notify(dev, NET_TX_QUEUE);
	stats(&s);
	CHECK_EQ(s.tx_drop_big, 1);
	teardown();
}

/* ---- parsing ---- */

static void test_parse_mac(void)
{
	u8 m[ETH_ALEN];

	CHECK_EQ(net_parse_mac("02:4c:4B:56:4d:0f", m), 0);
	CHECK(!memcmp(m, "\x02\x4c\x4b\x56\x4d\x0f", 6));
	CHECK_EQ(net_parse_mac("02:4c:4b:56:4d", m), -EINVAL);
	CHECK_EQ(net_parse_mac("02:4c:4b:56:4d:0f:", m), -EINVAL);
	CHECK_EQ(net_parse_mac("02-4c-4b-56-4d-0f", m), -EINVAL);
	CHECK_EQ(net_parse_mac("2:4c:4b:56:4d:0f0", m), -EINVAL);
	CHECK_EQ(net_parse_mac("0x:4c:4b:56:4d:0f", m), -EINVAL);
	CHECK_EQ(net_parse_mac("01:00:5e:00:00:01", m), -EINVAL);	/* multicast */
	CHECK_EQ(net_parse_mac("00:00:00:00:00:00", m), -EINVAL);
	CHECK_EQ(net_parse_mac("", m), -EINVAL);
}

static void test_parse_hostfwd(void)
{
	struct net_fwd f;
	char err[256];

	CHECK_EQ(net_parse_hostfwd("tcp::8080-:80", &f, err, sizeof(err)), 0);
	CHECK(!f.udp && f.host_port == 8080 && f.guest_port == 80 &&
	      f.addr.s_addr == 0);
	CHECK_EQ(net_parse_hostfwd("tcp:2222-:22", &f, err, sizeof(err)), 0);
	CHECK(f.host_port == 2222 && f.guest_port == 22);
	CHECK_EQ(net_parse_hostfwd("udp:127.0.0.1:5353-53", &f, err, sizeof(err)), 0);
	CHECK(f.udp && f.addr.s_addr == htonl(0x7f000001) && f.guest_port == 53);
	CHECK_EQ(net_parse_hostfwd("sctp::1-:1", &f, err, sizeof(err)), -EINVAL);
	CHECK_EQ(net_parse_hostfwd("tcp::8080", &f, err, sizeof(err)), -EINVAL);
	CHECK_EQ(net_parse_hostfwd("tcp::0-:80", &f, err, sizeof(err)), -EINVAL);
	CHECK_EQ(net_parse_hostfwd("tcp::65536-:80", &f, err, sizeof(err)), -EINVAL);
	CHECK_EQ(net_parse_hostfwd("tcp:host:80-:80", &f, err, sizeof(err)), -EINVAL);
	CHECK_EQ(net_parse_hostfwd("tcp::80-10.0.2.15:80", &f, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "guest's one address") != NULL);
}

/* ---- a real tap, where the test may make a network namespace ---- */

static void test_real_tap(void)
{
	struct net_backend *be, *be2;
	char err[256];

	if (unshare(CLONE_NEWNET)) {
		printf("  (real tap: skipped, no network namespace: %s)\n",
		       strerror(errno));
		return;
	}
	if (net_tap_open("lkvmut0", "none", &be, err, sizeof(err))) {
		printf("  (real tap: skipped: %s)\n", err);
		return;
	}
	CHECK(!strcmp(be->ifname, "lkvmut0"));
	CHECK_EQ(be->mtu, 1500);
	CHECK_EQ(be->features & NET_F_HOST_OFFLOADS, NET_F_HOST_OFFLOADS);
	CHECK_EQ(be->features & NET_F_GUEST_OFFLOADS, NET_F_GUEST_OFFLOADS);
	CHECK_EQ(be->ops->set_offloads(be, TUN_F_CSUM | TUN_F_TSO4), 0);
	CHECK_EQ(net_tap_open("lkvmut0", NULL, &be2, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "tap lkvmut0 is busy") != NULL);
	CHECK_EQ(net_tap_open("lo", NULL, &be2, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "lo exists and is not a single-queue tap") != NULL);
	CHECK_EQ(net_tap_open("lkvmut1", "/nonexistent/ifup", &be2, err,
			      sizeof(err)), -ENOENT);
	CHECK(strstr(err, "cannot run script /nonexistent/ifup") != NULL);
	CHECK_EQ(net_tap_open("lkvmut1", "/bin/false", &be2, err, sizeof(err)),
		 -EIO);
	CHECK(strstr(err, "script /bin/false lkvmut1 exited with status 1") != NULL);
	be->ops->destroy(be);
}

UNIT_MAIN("virtio-net",
	  UNIT_TEST(test_rx_one_frame),
	  UNIT_TEST(test_rx_mrg_spans_buffers),
	  UNIT_TEST(test_rx_waits_for_buffers),
	  UNIT_TEST(test_rx_small_ring_still_works),
	  UNIT_TEST(test_rx_no_mrg),
	  UNIT_TEST(test_rx_drops),
	  UNIT_TEST(test_rx_gso),
	  UNIT_TEST(test_tx_frames),
	  UNIT_TEST(test_tx_drops),
	  UNIT_TEST(test_tx_offloads),
	  UNIT_TEST(test_tx_backpressure),
	  UNIT_TEST(test_hostile_rx_readable),
	  UNIT_TEST(test_hostile_rx_short),
	  UNIT_TEST(test_hostile_tx_loop),
	  UNIT_TEST(test_announce),
	  UNIT_TEST(test_migrate),
	  UNIT_TEST(test_rx_marks_written_buffers_dirty),
	  UNIT_TEST(test_guest_offloads),
	  UNIT_TEST(test_backend_gone),
	  UNIT_TEST(test_stream_rx),
	  UNIT_TEST(test_stream_rx_reset),
	  UNIT_TEST(test_stream_bad_length),
	  UNIT_TEST(test_stream_tx_partial),
	  UNIT_TEST(test_stream_tx_limit),
	  UNIT_TEST(test_parse_mac),
	  UNIT_TEST(test_parse_hostfwd),
	  UNIT_TEST(test_real_tap))
