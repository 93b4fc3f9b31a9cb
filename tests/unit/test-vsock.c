// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock behind the virtio core, driven by a fake guest driver over
 * a malloc'd guest RAM, with real Unix sockets on the host side in a
 * temporary directory.  The driver lays out its rx buffers as Linux 6.1
 * does (a 44-byte header descriptor, then a 4 KiB one) and sends packets
 * as a header descriptor and a payload descriptor.  Kicks call
 * virtio_queue_notify() and host events vsock_host_poll(), as the I/O
 * thread would.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "kvm/ioloop.h"
#include "kvm/mem.h"
#include "kvm/migrate-stream.h"
#include "virtio/virtio.h"
#include "virtio/vsock-priv.h"
#include "tests/unit/unit.h"

#define RAM_GPA 0x40000000ULL
#define RAM_SIZE (8 * 1024 * 1024ULL)
#define QSIZE 64
#define Q_OFF(q) ((u64)(q) * 0x3000)		/* desc, avail, used */
#define RX_SLOTS (QSIZE / 2)
#define RX_OFF 0x10000
#define RX_SLOT 0x1100				/* header, then 4 KiB */
#define RX_DATA 0x40
#define RX_BUF 4096
#define TX_OFF 0x100000
#define TX_SLOT 0x10100
#define TX_SLOTS (QSIZE / 2)
#define EV_OFF 0x80000
#define GUEST_CID 3
#define HP 5000					/* a host port */

static u8 *ram;
static struct guest_mem mem;
static struct ioloop loop;
static struct vsock *vs;
static struct virtio_dev *dev;
static char dir[64], uds[80];
/* The receive buffer the fake guest announces in its headers. */
static u32 guest_buf_alloc = 256 * 1024;

struct drvq {
	u16 avail_idx, last_used, next;
};
static struct drvq dq[3];

/* A packet the guest received, copied out. */
struct pkt {
	struct virtio_vsock_hdr h;
	u8 data[RX_BUF];
	u32 len;
};

/* ---- guest RAM and the fake driver ---- */

static u64 gpa(u64 off)
{
	return RAM_GPA + off;
}

static struct vring_desc *desc(int q)
{
	return (struct vring_desc *)(ram + Q_OFF(q));
}

static struct vring_avail *avail(int q)
{
	return (struct vring_avail *)(ram + Q_OFF(q) + 0x1000);
}

static struct vring_used *used(int q)
{
	return (struct vring_used *)(ram + Q_OFF(q) + 0x2000);
}

static void set_desc(int q, u16 i, u64 off, u32 len, u16 flags, u16 next)
{
	desc(q)[i] = (struct vring_desc){ htole64(gpa(off)), htole32(len),
					  htole16(flags), htole16(next) };
}

static void publish(int q, u16 head)
{
	avail(q)->ring[dq[q].avail_idx++ % QSIZE] = htole16(head);
	__atomic_store_n(&avail(q)->idx, htole16(dq[q].avail_idx),
			 __ATOMIC_RELEASE);
}

/* rx slot i uses descriptors 2i (header) and 2i+1 (data). */
static void rx_give(unsigned int slot)
{
	u64 base = RX_OFF + slot * RX_SLOT;

	set_desc(0, 2 * slot, base, VSOCK_HDR_SIZE,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 * slot + 1);
	set_desc(0, 2 * slot + 1, base + RX_DATA, RX_BUF, VRING_DESC_F_WRITE, 0);
	publish(0, 2 * slot);
}

static bool kick(int q)
{
	return virtio_queue_notify(dev, q);
}

static int drv_init(void)
{
	int q;

	virtio_set_status(dev, 0);
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER);
	virtio_set_driver_features(dev, 1, 1);	/* VERSION_1 */
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	memset(ram, 0, 0x10000);
	memset(dq, 0, sizeof(dq));
	for (q = 0; q < 3; q++) {
		CHECK_EQ(virtio_queue_set_size(dev, q, QSIZE), 0);
		virtio_queue_set_addr(dev, q, VIRTIO_QUEUE_DESC, gpa(Q_OFF(q)));
		virtio_queue_set_addr(dev, q, VIRTIO_QUEUE_AVAIL,
				      gpa(Q_OFF(q) + 0x1000));
		virtio_queue_set_addr(dev, q, VIRTIO_QUEUE_USED,
				      gpa(Q_OFF(q) + 0x2000));
		CHECK_EQ(virtio_queue_set_enabled(dev, q, true), 0);
	}
	return virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
					      VIRTIO_CONFIG_S_DRIVER |
					      VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

static void rx_fill(void)
{
	for (unsigned int i = 0; i < RX_SLOTS; i++)
		rx_give(i);
	kick(0);
}

static void setup(void)
{
	int r;

	if (!ram)
		ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram), 0);
	strcpy(dir, "/tmp/lkvm-test-vsock-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	CHECK_EQ(ioloop_init(&loop), 0);
	r = vsock_create(GUEST_CID, uds, &mem, &loop, &vs);
	CHECK_EQ(r, 0);
	if (r)
		abort();
	dev = vsock_dev(vs);
	CHECK_EQ(drv_init(), 0);
	rx_fill();
}

static void teardown(void)
{
	char cmd[128];

	vsock_destroy(vs);
	vs = NULL;
	ioloop_fini(&loop);
	/* The device removes its own socket. */
	CHECK(access(uds, F_OK) != 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		abort();
}

/* Send one packet from the guest; @len payload bytes from @data. */
static void tx_raw(const struct virtio_vsock_hdr *h, u32 hdr_len,
		   const void *data, u32 len)
{
	static unsigned int slot;
	u64 base = TX_OFF + (slot % TX_SLOTS) * TX_SLOT;
	u16 d = 2 * (slot % TX_SLOTS);

	slot++;
	memcpy(ram + base, h, hdr_len);
	if (len)
		memcpy(ram + base + 0x100, data, len);
	set_desc(1, d, base, hdr_len, len ? VRING_DESC_F_NEXT : 0, d + 1);
	set_desc(1, d + 1, base + 0x100, len, 0, 0);
	publish(1, d);
	kick(1);
}

static struct virtio_vsock_hdr mkhdr(u32 gp, u32 hp, u16 op, u32 len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(GUEST_CID),
		.dst_cid = htole64(VMADDR_CID_HOST),
		.src_port = htole32(gp),
		.dst_port = htole32(hp),
		.len = htole32(len),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.buf_alloc = htole32(guest_buf_alloc),
	};
}

/* A packet on a connection, with the guest's credit (fwd_cnt). */
static void tx(u32 gp, u32 hp, u16 op, u32 flags, u32 fwd_cnt,
	       const void *data, u32 len)
{
	struct virtio_vsock_hdr h = mkhdr(gp, hp, op, len);

	h.flags = htole32(flags);
	h.fwd_cnt = htole32(fwd_cnt);
	tx_raw(&h, sizeof(h), data, len);
}

/* Take one packet from the rx used ring; give the buffer back. */
static bool rx_one(struct pkt *p)
{
	struct vring_used *u = used(0);
	u16 idx = le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
	u32 id, len, slot;
	u64 base;

	if (idx == dq[0].last_used)
		return false;
	id = le32toh(u->ring[dq[0].last_used++ % QSIZE].id);
	len = le32toh(u->ring[(u16)(dq[0].last_used - 1) % QSIZE].len);
	slot = id / 2;
	base = RX_OFF + slot * RX_SLOT;
	memcpy(&p->h, ram + base, VSOCK_HDR_SIZE);
	p->len = le32toh(p->h.len);
	CHECK_EQ(len, VSOCK_HDR_SIZE + p->len);
	CHECK(p->len <= RX_BUF);
	memcpy(p->data, ram + base + RX_DATA, MIN(p->len, RX_BUF));
	CHECK_EQ(le64toh(p->h.src_cid), VMADDR_CID_HOST);
	CHECK_EQ(le64toh(p->h.dst_cid), GUEST_CID);
	CHECK_EQ(le16toh(p->h.type), VIRTIO_VSOCK_TYPE_STREAM);
	rx_give(slot);
	return true;
}

/* Let the device fill rx again after we gave buffers back. */
static bool rx_get(struct pkt *p)
{
	if (rx_one(p))
		return true;
	kick(0);
	vsock_host_poll(vs);
	return rx_one(p);
}

static u16 op(const struct pkt *p)
{
	return le16toh(p->h.op);
}

/* Drain every packet the device owes; returns how many. */
static int rx_drain(struct pkt *last)
{
	struct pkt p;
	int n = 0;

	while (rx_get(&p)) {
		n++;
		if (last)
			*last = p;
	}
	return n;
}

/* ---- host side ---- */

static int host_listen(u32 port)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_%u", uds, port);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_EQ(listen(fd, 4096), 0);
	return fd;
}

static int host_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sun.sun_path, uds);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Bytes available on @fd within a short wait (0 at EOF, -1 none). */
static ssize_t host_read(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 200) <= 0)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* A guest-initiated connection from guest port @gp; its host end. */
static int establish(int lfd, u32 gp, u32 buf_alloc)
{
	struct virtio_vsock_hdr h;
	struct pkt p;
	int fd;

	guest_buf_alloc = buf_alloc;
	h = mkhdr(gp, HP, VIRTIO_VSOCK_OP_REQUEST, 0);
	tx_raw(&h, sizeof(h), NULL, 0);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RESPONSE);
	CHECK_EQ(le32toh(p.h.src_port), HP);
	CHECK_EQ(le32toh(p.h.dst_port), gp);
	CHECK_EQ(le32toh(p.h.buf_alloc), VSOCK_BUF_ALLOC);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

/* ---- tests ---- */

static void test_connect_refused(void)
{
	struct pkt p;

	setup();
	/* Nothing listens on <uds>_5000: the guest's connect gets a reset. */
	tx(1000, HP, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(le32toh(p.h.src_port), HP);
	CHECK_EQ(le32toh(p.h.dst_port), 1000);
	CHECK(!rx_get(&p));
	teardown();
}

static void test_guest_to_host(void)
{
	int lfd, fd;
	char buf[64];
	struct pkt p;

	setup();
	lfd = host_listen(HP);
	fd = establish(lfd, 1001, 256 * 1024);
	tx(1001, HP, VIRTIO_VSOCK_OP_RW, 0, 0, "hello", 5);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "hello", 5));
	CHECK_EQ(send(fd, "world!", 6, 0), 6);
	vsock_host_poll(vs);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(p.len, 6);
	CHECK(!memcmp(p.data, "world!", 6));
	/* Every header carries our credit: 5 bytes forwarded so far. */
	CHECK_EQ(le32toh(p.h.fwd_cnt), 5);
	CHECK_EQ(le32toh(p.h.buf_alloc), VSOCK_BUF_ALLOC);
	/* The guest resets: the host program sees the end. */
	tx(1001, HP, VIRTIO_VSOCK_OP_RST, 0, 6, NULL, 0);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	CHECK_EQ(vs->nr_conns, 0);
	close(fd);
	close(lfd);
	teardown();
}

/* Host to guest: never more in flight than the guest's buf_alloc. */
static void test_credit_to_guest(void)
{
	static char big[20000];
	u32 got = 0, requests = 0;
	int lfd, fd;
	struct pkt p;

	setup();
	lfd = host_listen(HP);
	fd = establish(lfd, 1002, 8192);
	memset(big, 'x', sizeof(big));
	CHECK_EQ(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	vsock_host_poll(vs);
	while (rx_get(&p)) {
		if (op(&p) == VIRTIO_VSOCK_OP_RW)
			got += p.len;
		else if (op(&p) == VIRTIO_VSOCK_OP_CREDIT_REQUEST)
			requests++;
	}
	CHECK_EQ(got, 8192);
	CHECK_EQ(requests, 1);
	/* The guest consumed 8 KiB: 8 KiB more may come, no more. */
	tx(1002, HP, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 8192, NULL, 0);
	while (rx_get(&p))
		if (op(&p) == VIRTIO_VSOCK_OP_RW)
			got += p.len;
	CHECK_EQ(got, 16384);
	tx(1002, HP, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 16384, NULL, 0);
	while (rx_get(&p))
		if (op(&p) == VIRTIO_VSOCK_OP_RW)
			got += p.len;
	CHECK_EQ(got, sizeof(big));
	close(fd);
	close(lfd);
	teardown();
}

/*
 * Guest to host with a host program that does not read: lkvm holds at
 * most buf_alloc for it, tells the guest what it forwarded, and resets a
 * guest that sends beyond its credit.  Another connection flows on.
 */
static void test_credit_from_guest(void)
{
	static char chunk[VSOCK_MAX_PKT], buf[VSOCK_MAX_PKT];
	struct vsock_stats st;
	u32 sent = 0, fwd = 0;
	int lfd, a, b, sz = 4096;
	struct pkt p;
	ssize_t n;

	setup();
	lfd = host_listen(HP);
	a = establish(lfd, 1003, 256 * 1024);
	b = establish(lfd, 1004, 256 * 1024);
	/* Keep the host socket small, so lkvm's own buffer fills. */
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	memset(chunk, 'a', sizeof(chunk));
	/* An honest guest: within the fwd_cnt lkvm tells it. */
	for (int i = 0; i < 64; i++) {
		u32 credit = VSOCK_BUF_ALLOC - (sent - fwd);
		u32 len = MIN(credit, (u32)sizeof(chunk));

		if (!len) {
			tx(1003, HP, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, NULL, 0);
			while (rx_get(&p))
				if (le32toh(p.h.dst_port) == 1003)
					fwd = le32toh(p.h.fwd_cnt);
			if (VSOCK_BUF_ALLOC - (sent - fwd) == 0)
				break;
			continue;
		}
		tx(1003, HP, VIRTIO_VSOCK_OP_RW, 0, 0, chunk, len);
		sent += len;
		while (rx_get(&p))
			if (le32toh(p.h.dst_port) == 1003)
				fwd = le32toh(p.h.fwd_cnt);
	}
	vsock_get_stats(vs, &st);
	CHECK(sent >= VSOCK_BUF_ALLOC);
	CHECK_EQ(sent - fwd, VSOCK_BUF_ALLOC);
	CHECK(st.max_buffered <= VSOCK_BUF_ALLOC);
	CHECK(st.max_buffered > 0);
	/* The stuck connection does not hold up the other one. */
	tx(1004, HP, VIRTIO_VSOCK_OP_RW, 0, 0, "bee", 3);
	CHECK_EQ(host_read(b, buf, sizeof(buf)), 3);
	/* Reading frees credit, and the guest hears of it when it asks. */
	while (host_read(a, buf, sizeof(buf)) > 0)
		vsock_host_poll(vs);
	tx(1003, HP, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, NULL, 0);
	while (rx_get(&p))
		if (le32toh(p.h.dst_port) == 1003)
			fwd = le32toh(p.h.fwd_cnt);
	CHECK_EQ(fwd, sent);
	/*
	 * A guest that ignores its credit: once the host socket is full and
	 * lkvm holds buf_alloc, the next byte resets the connection.
	 */
	for (n = 0; n < 64; n++) {
		tx(1003, HP, VIRTIO_VSOCK_OP_RW, 0, 0, chunk, sizeof(chunk));
		if (rx_drain(&p) && op(&p) == VIRTIO_VSOCK_OP_RST)
			break;
	}
	CHECK(n < 64);
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(le32toh(p.h.dst_port), 1003);
	vsock_get_stats(vs, &st);
	CHECK_EQ(st.bad_packets, 1);
	CHECK(st.max_buffered <= VSOCK_BUF_ALLOC);
	/* One connection ever needed a buffer; none holds one now. */
	CHECK_EQ(st.max_buffers, VSOCK_BUF_ALLOC);
	CHECK_EQ(st.buffers, 0);
	close(a);
	close(b);
	close(lfd);
	teardown();
}

/* Half-close both ways (cloud-hypervisor #8300). */
static void test_half_close(void)
{
	int lfd, fd;
	char buf[64];
	struct pkt p;

	setup();
	lfd = host_listen(HP);
	fd = establish(lfd, 1005, 256 * 1024);
	/* Guest: "query", then SHUTDOWN(SEND); the host reads it and EOF. */
	tx(1005, HP, VIRTIO_VSOCK_OP_RW, 0, 0, "query", 5);
	tx(1005, HP, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, 0,
	   NULL, 0);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 5);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	/* ... and still answers, which the guest gets. */
	CHECK_EQ(send(fd, "answer", 6, MSG_NOSIGNAL), 6);
	vsock_host_poll(vs);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RW);
	CHECK(!memcmp(p.data, "answer", 6));
	/* The host shuts its write side: SHUTDOWN(SEND) and nothing more. */
	shutdown(fd, SHUT_WR);
	vsock_host_poll(vs);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_SHUTDOWN);
	CHECK_EQ(le32toh(p.h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(!rx_get(&p));
	/* The guest closes: lkvm answers RST, as Linux waits for. */
	tx(1005, HP, VIRTIO_VSOCK_OP_SHUTDOWN,
	   VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV, 0, NULL, 0);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(vs->nr_conns, 0);

	/* The other way: the host program writes and shuts down first. */
	fd = establish(lfd, 1006, 256 * 1024);
	CHECK_EQ(send(fd, "request", 7, 0), 7);
	shutdown(fd, SHUT_WR);
	vsock_host_poll(vs);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RW);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_SHUTDOWN);
	CHECK_EQ(le32toh(p.h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The guest's reply still reaches it. */
	tx(1006, HP, VIRTIO_VSOCK_OP_RW, 0, 7, "reply", 5);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "reply", 5));
	/* Gone altogether: the guest learns it can send no more either. */
	close(fd);
	vsock_host_poll(vs);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_SHUTDOWN);
	CHECK_EQ(le32toh(p.h.flags),
		 VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV);
	tx(1006, HP, VIRTIO_VSOCK_OP_RST, 0, 7, NULL, 0);
	CHECK_EQ(vs->nr_conns, 0);
	close(lfd);
	teardown();
}

/* Firecracker's hybrid handshake, from the host side. */
static void test_host_connect(void)
{
	char buf[64], ok[32];
	struct pkt p;
	u32 hp;
	int fd;

	setup();
	fd = host_connect();
	/* Bytes right after the line belong to the stream. */
	CHECK_EQ(send(fd, "CONNECT 1234\nearly", 18, 0), 18);
	vsock_host_poll(vs);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_REQUEST);
	CHECK_EQ(le32toh(p.h.dst_port), 1234);
	hp = le32toh(p.h.src_port);
	CHECK(hp >= VSOCK_LOCAL_PORT_MIN);
	tx(1234, hp, VIRTIO_VSOCK_OP_RESPONSE, 0, 0, NULL, 0);
	snprintf(ok, sizeof(ok), "OK %u\n", hp);
	CHECK_EQ(host_read(fd, buf, strlen(ok)), (ssize_t)strlen(ok));
	CHECK(!memcmp(buf, ok, strlen(ok)));
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(p.len, 5);
	CHECK(!memcmp(p.data, "early", 5));
	tx(1234, hp, VIRTIO_VSOCK_OP_RW, 0, 5, "pong", 4);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 4);
	CHECK(!memcmp(buf, "pong", 4));
	close(fd);

	/* No listener in the guest: its RST closes the host socket. */
	fd = host_connect();
	CHECK_EQ(send(fd, "CONNECT 99\n", 11, 0), 11);
	vsock_host_poll(vs);
	while (rx_get(&p) && op(&p) != VIRTIO_VSOCK_OP_REQUEST)
		;
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_REQUEST);
	tx(99, le32toh(p.h.src_port), VIRTIO_VSOCK_OP_RST, 0, 0, NULL, 0);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);

	/* Not the line we want: closed, and the guest hears nothing. */
	rx_drain(NULL);
	fd = host_connect();
	CHECK_EQ(send(fd, "HELLO 1\n", 8, 0), 8);
	vsock_host_poll(vs);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	CHECK(!rx_get(&p));
	close(fd);
	teardown();
}

/* A hostile guest: every bad packet is dropped or reset; lkvm goes on. */
static void test_bad_packets(void)
{
	static char big[VSOCK_MAX_PKT + 16];
	struct virtio_vsock_hdr h;
	struct vsock_stats st;
	int lfd, fd;
	char buf[8];
	struct pkt p;

	setup();
	lfd = host_listen(HP);
	fd = establish(lfd, 1007, 256 * 1024);

	/* A header cut short: nothing to answer. */
	h = mkhdr(1007, HP, VIRTIO_VSOCK_OP_RW, 0);
	tx_raw(&h, 20, NULL, 0);
	CHECK(!rx_get(&p));
	/* Not from the guest's CID: dropped (as Linux's vhost does). */
	h.src_cid = htole64(77);
	tx_raw(&h, sizeof(h), NULL, 0);
	CHECK(!rx_get(&p));
	/* len beyond the buffer: RST. */
	h = mkhdr(1008, HP, VIRTIO_VSOCK_OP_RW, 100);
	tx_raw(&h, sizeof(h), "abc", 3);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	/* len beyond the largest packet: RST. */
	h = mkhdr(1008, HP, VIRTIO_VSOCK_OP_RW, sizeof(big));
	tx_raw(&h, sizeof(h), big, sizeof(big));
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	/* Data for a connection that does not exist: RST. */
	tx(4242, HP, VIRTIO_VSOCK_OP_RW, 0, 0, "x", 1);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(le32toh(p.h.dst_port), 4242);
	/* A seqpacket, never offered: RST. */
	h = mkhdr(4243, HP, VIRTIO_VSOCK_OP_REQUEST, 0);
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	tx_raw(&h, sizeof(h), NULL, 0);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	/* An RST for nothing gets no answer (no reset storm). */
	tx(4244, HP, VIRTIO_VSOCK_OP_RST, 0, 0, NULL, 0);
	CHECK(!rx_get(&p));
	/* An unknown op on a live connection: RST, host socket closed. */
	tx(1007, HP, 99, 0, 0, NULL, 0);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(le32toh(p.h.dst_port), 1007);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* A REQUEST twice: the connection is reset. */
	fd = establish(lfd, 1009, 4096);
	tx(1009, HP, VIRTIO_VSOCK_OP_REQUEST, 0, 0, NULL, 0);
	CHECK(rx_get(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RST);
	close(fd);

	/* The device is alive and well. */
	CHECK(!(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET));
	vsock_get_stats(vs, &st);
	CHECK_EQ(st.bad_packets, 7);
	fd = establish(lfd, 1010, 4096);
	tx(1010, HP, VIRTIO_VSOCK_OP_RW, 0, 0, "ok", 2);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 2);
	close(fd);
	close(lfd);
	teardown();
}

/*
 * rx buffers with room for a header only: control packets use them, data
 * cannot, and neither hangs the device nor blocks the queue for good.
 */
static void test_tiny_rx(void)
{
	struct virtio_vsock_hdr h;
	int lfd, fd;
	struct pkt p;

	setup();
	lfd = host_listen(HP);
	/* Take every normal buffer, so tiny ones come next. */
	fd = establish(lfd, 1012, 256 * 1024);
	for (int i = 0; i < RX_SLOTS; i++) {
		tx(1012, HP, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, NULL, 0);
		/* rx_one, not rx_get: take packets without giving buffers back */
	}
	while (le16toh(used(0)->idx) != dq[0].last_used)
		dq[0].last_used++;
	/* Two tiny buffers, in slots 0 and 1. */
	set_desc(0, 0, RX_OFF, VSOCK_HDR_SIZE, VRING_DESC_F_WRITE, 0);
	publish(0, 0);
	set_desc(0, 2, RX_OFF + RX_SLOT, VSOCK_HDR_SIZE, VRING_DESC_F_WRITE, 0);
	publish(0, 2);
	/* Data from the host: no room for it; returned empty, no hang. */
	CHECK_EQ(send(fd, "data", 4, 0), 4);
	vsock_host_poll(vs);
	CHECK_EQ(le16toh(used(0)->idx), (u16)(dq[0].last_used + 2));
	CHECK_EQ(le32toh(used(0)->ring[dq[0].last_used % QSIZE].len), 0);
	dq[0].last_used += 2;
	/* A control packet fits one. */
	publish(0, 0);
	tx(1012, HP, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, NULL, 0);
	CHECK_EQ(le16toh(used(0)->idx), (u16)(dq[0].last_used + 1));
	memcpy(&h, ram + RX_OFF, sizeof(h));
	CHECK_EQ(le16toh(h.op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	dq[0].last_used++;
	/* A real buffer again: the data is still there for it. */
	rx_give(5);
	kick(0);
	CHECK(rx_one(&p));
	CHECK_EQ(op(&p), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(p.len, 4);
	close(fd);
	close(lfd);
	teardown();
}

/* Reset drops every connection; the next session hears TRANSPORT_RESET. */
static void test_reset_event(void)
{
	struct virtio_vsock_event *ev = (void *)(ram + EV_OFF);
	char buf[8];
	int lfd, fd;

	setup();
	lfd = host_listen(HP);
	fd = establish(lfd, 1011, 4096);
	/* The first session owes no event. */
	set_desc(2, 0, EV_OFF, sizeof(*ev), VRING_DESC_F_WRITE, 0);
	publish(2, 0);
	kick(2);
	CHECK_EQ(le16toh(used(2)->idx), 0);

	virtio_set_status(dev, 0);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	CHECK_EQ(vs->nr_conns, 0);
	close(fd);
	CHECK_EQ(drv_init(), 0);
	ev->id = htole32(0xffff);
	set_desc(2, 0, EV_OFF, sizeof(*ev), VRING_DESC_F_WRITE, 0);
	publish(2, 0);
	kick(2);
	CHECK_EQ(le16toh(used(2)->idx), 1);
	CHECK_EQ(le32toh(used(2)->ring[0].len), sizeof(*ev));
	CHECK_EQ(le32toh(ev->id), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	close(lfd);
	teardown();
}

/* Give the event queue its one buffer, as Linux does at probe. */
static void ev_give(void)
{
	set_desc(2, 0, EV_OFF, sizeof(struct virtio_vsock_event),
		 VRING_DESC_F_WRITE, 0);
	publish(2, 0);
	kick(2);
}

/*
 * At RESUMED the host connections go (the peer sees EOF) and the guest
 * hears TRANSPORT_RESET, into the event buffer it gave before.
 */
static void test_resumed_reset(void)
{
	struct virtio_vsock_event *ev = (void *)(ram + EV_OFF);
	char buf[8];
	int lfd, fd;

	setup();
	lfd = host_listen(HP);
	fd = establish(lfd, 1011, 4096);
	ev_give();
	CHECK_EQ(le16toh(used(2)->idx), 0);
	CHECK_EQ(dev->type->handover(dev, DEV_HANDOVER_CLAIM), 0);
	CHECK_EQ(le16toh(used(2)->idx), 0);
	CHECK_EQ(vs->nr_conns, 1);

	CHECK_EQ(dev->type->handover(dev, DEV_HANDOVER_RESUMED), 0);
	CHECK_EQ(vs->nr_conns, 0);
	CHECK_EQ(host_read(fd, buf, sizeof(buf)), 0);
	CHECK_EQ(le16toh(used(2)->idx), 1);
	CHECK_EQ(le32toh(used(2)->ring[0].len), sizeof(*ev));
	CHECK_EQ(le32toh(ev->id), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	close(fd);
	close(lfd);
	teardown();
}

/*
 * A destination's device (another Unix socket, the same CID) loads the
 * source's rings and sends its TRANSPORT_RESET only at RESUMED.  A
 * device the driver never set up owes nothing.
 */
static void test_migrate_to_another(void)
{
	struct virtio_vsock_event *ev = (void *)(ram + EV_OFF);
	struct virtio_dev *dev2;
	struct state_out o = {};
	struct state_in in;
	char uds2[96], a[32], b[32];
	struct vsock *vs2;

	setup();
	ev_give();
	CHECK_EQ(virtio_save(dev, &o), 0);
	snprintf(uds2, sizeof(uds2), "%s/w.sock", dir);
	CHECK_EQ(vsock_create(GUEST_CID, uds2, &mem, &loop, &vs2), 0);
	dev2 = vsock_dev(vs2);
	dev->type->describe(dev, a, sizeof(a));
	dev2->type->describe(dev2, b, sizeof(b));
	CHECK(!strcmp(a, "cid=3"));
	CHECK(!strcmp(a, b));
	state_in_init(&in, o.buf, o.len);
	CHECK_EQ(virtio_load(dev2, &in), 0);
	CHECK_EQ(in.off, in.len);
	state_out_free(&o);
	CHECK_EQ(le16toh(used(2)->idx), 0);
	CHECK_EQ(dev2->type->handover(dev2, DEV_HANDOVER_RESUMED), 0);
	CHECK_EQ(le16toh(used(2)->idx), 1);
	CHECK_EQ(le32toh(ev->id), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	vsock_destroy(vs2);

	/* Never set up (status 0 when saved): no event, nothing used. */
	CHECK_EQ(vsock_create(GUEST_CID, uds2, &mem, &loop, &vs2), 0);
	dev2 = vsock_dev(vs2);
	virtio_set_status(dev, 0);
	memset(ram, 0, 0x10000);
	CHECK_EQ(virtio_save(dev, &o), 0);
	state_in_init(&in, o.buf, o.len);
	CHECK_EQ(virtio_load(dev2, &in), 0);
	state_out_free(&o);
	CHECK_EQ(dev2->type->handover(dev2, DEV_HANDOVER_RESUMED), 0);
	CHECK_EQ(le16toh(used(2)->idx), 0);
	vsock_destroy(vs2);
	teardown();
}

/* A thousand connections at once, each with its own bytes. */
static void test_many(void)
{
	enum { N = 1000 };
	static int fds[N];
	struct rlimit rl;
	int lfd, i, ok = 0;
	char buf[16], want[16];

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * N + 64) {
		fprintf(stderr, "  test_many: RLIMIT_NOFILE %llu is too low; skipped\n",
			(unsigned long long)rl.rlim_cur);
		return;
	}
	setup();
	lfd = host_listen(HP);
	for (i = 0; i < N; i++)
		fds[i] = establish(lfd, 20000 + i, 4096);
	CHECK_EQ(vs->nr_conns, N);
	for (i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "c%d", i);
		tx(20000 + i, HP, VIRTIO_VSOCK_OP_RW, 0, 0, buf, strlen(buf));
	}
	for (i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "c%d", i);
		memset(buf, 0, sizeof(buf));
		if (host_read(fds[i], buf, sizeof(buf)) == (ssize_t)strlen(want) &&
		    !strcmp(buf, want))
			ok++;
	}
	CHECK_EQ(ok, N);
	for (i = 0; i < N; i++) {
		tx(20000 + i, HP, VIRTIO_VSOCK_OP_RST, 0, 0, NULL, 0);
		close(fds[i]);
	}
	CHECK_EQ(vs->nr_conns, 0);
	close(lfd);
	teardown();
}

UNIT_MAIN("vsock",
	  UNIT_TEST(test_connect_refused),
	  UNIT_TEST(test_guest_to_host),
	  UNIT_TEST(test_credit_to_guest),
	  UNIT_TEST(test_credit_from_guest),
	  UNIT_TEST(test_half_close),
	  UNIT_TEST(test_host_connect),
	  UNIT_TEST(test_bad_packets),
	  UNIT_TEST(test_tiny_rx),
	  UNIT_TEST(test_reset_event),
	  UNIT_TEST(test_resumed_reset),
	  UNIT_TEST(test_migrate_to_another),
	  UNIT_TEST(test_many))
