// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for virtio-vsock's packet handling and connection state
 * machine (virtio/vsock*.c) behind the virtio core, with real Unix
 * sockets on the host side.  The harness is an honest ring driver (the
 * ring walker has its own target, fuzz-virtq.c); the input is a script of
 * what a hostile guest and busy host programs do:
 *
 *   'T' packet: a header of 0-44+ bytes and a payload, on the tx queue
 *       (with a flag, its CIDs and type made right and its ports folded
 *       onto the few that have host listeners, so it gets somewhere);
 *   'R' rx buffers of sizes the input picks, one or two descriptors;
 *   'P' the I/O thread's host poll;
 *   'H' a host program acts on one of its sockets: writes, reads,
 *       half-closes, closes;
 *   'C' a host program connects to the device and sends a line;
 *   'Z' the driver resets the device and sets it up again;
 *   'E' an event buffer.
 *
 * Besides "no crash, no sanitizer report, no leak", it checks what lkvm
 * promises the guest and the host: every packet in rx is from CID 2 to
 * the guest's, of type stream, with a known op and a length that fits
 * its buffer and matches its header; no connection holds more than
 * buf_alloc for its host peer; a reset leaves no connection behind.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/ioloop.h"
#include "kvm/log.h"
#include "kvm/mem.h"
#include "virtio/virtio.h"
#include "virtio/vsock-priv.h"
#include "tests/fuzz/fuzz.h"

#define RAM_SIZE (4 << 20)
#define QSIZE 16
#define Q_GPA(q) ((u64)(q) * 0x3000)
#define BUF_GPA 0x10000		/* buffers from here, 64 KiB + a bit each */
#define BUF_SLOT 0x10100
#define NR_BUFS ((RAM_SIZE - BUF_GPA) / BUF_SLOT)
#define CID 3
#define NR_LISTEN 3		/* host ports 1..3 have listeners */
#define MAX_HOST 16

static char uds[108];
static int listeners[NR_LISTEN];

struct drvq {
	u16 avail_idx, last_used, next;
	u32 buf_len[QSIZE];	/* what each head's chain holds */
};

static struct {
	u8 *ram;
	struct guest_mem mem;
	struct ioloop loop;
	struct vsock *vs;
	struct virtio_dev *dev;
	struct drvq q[3];
	unsigned int next_buf;
	int host[MAX_HOST];	/* host programs' sockets */
	unsigned int nr_host;
	const u8 *in;
	size_t left;
} f;

static void setup_once(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/lkvm-fuzz-vsock-XXXXXX";
	int i;

	if (uds[0])
		return;
	if (!mkdtemp(dir))
		abort();
	snprintf(uds, sizeof(uds), "%s/v", dir);
	for (i = 0; i < NR_LISTEN; i++) {
		listeners[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_%d", uds, i + 1);
		if (bind(listeners[i], (struct sockaddr *)&sun, sizeof(sun)) ||
		    listen(listeners[i], 64))
			abort();
	}
}

/* ---- input ---- */

static u8 in_u8(void)
{
	if (!f.left)
		return 0;
	f.left--;
	return *f.in++;
}

static u16 in_u16(void)
{
	return in_u8() | in_u8() << 8;
}

static size_t in_bytes(void *dst, size_t n)
{
	n = MIN(n, f.left);
	memcpy(dst, f.in, n);
	f.in += n;
	f.left -= n;
	return n;
}

/* ---- an honest driver ---- */

static u8 *ram_at(u64 gpa)
{
	return f.ram + gpa;
}

static int drv_init(void)
{
	const u8 ack = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int q;

	virtio_set_status(f.dev, 0);
	memset(f.ram, 0, BUF_GPA);
	memset(f.q, 0, sizeof(f.q));
	virtio_set_status(f.dev, ack);
	virtio_set_driver_features(f.dev, 1, 1);
	if (virtio_set_status(f.dev, ack | VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	for (q = 0; q < 3; q++)
		if (virtio_queue_set_size(f.dev, q, QSIZE) ||
		    virtio_queue_set_addr(f.dev, q, VIRTIO_QUEUE_DESC, Q_GPA(q)) ||
		    virtio_queue_set_addr(f.dev, q, VIRTIO_QUEUE_AVAIL,
					  Q_GPA(q) + 0x1000) ||
		    virtio_queue_set_addr(f.dev, q, VIRTIO_QUEUE_USED,
					  Q_GPA(q) + 0x2000) ||
		    virtio_queue_set_enabled(f.dev, q, true))
			return -1;
	return virtio_set_status(f.dev, ack | VIRTIO_CONFIG_S_FEATURES_OK |
						VIRTIO_CONFIG_S_DRIVER_OK);
}

static struct vring_used *used(int q)
{
	return (struct vring_used *)ram_at(Q_GPA(q) + 0x2000);
}

/* Each chain takes two descriptors: at most QSIZE / 2 in flight. */
static bool room(int q)
{
	return (u16)(f.q[q].avail_idx - le16toh(used(q)->idx)) < QSIZE / 2;
}

/* A chain of one or two descriptors over the next buffer slot. */
static u64 post(int q, u32 len, bool write, bool split)
{
	struct vring_desc *d = (struct vring_desc *)ram_at(Q_GPA(q));
	struct vring_avail *a = (struct vring_avail *)ram_at(Q_GPA(q) + 0x1000);
	u64 gpa = BUF_GPA + (f.next_buf++ % NR_BUFS) * BUF_SLOT;
	u16 head = f.q[q].next % QSIZE, i = head;
	u32 first = split ? len / 3 : len;
	u16 flags = write ? VRING_DESC_F_WRITE : 0;

	/* Two slots per chain: heads are even, so chains never overlap. */
	f.q[q].next += 2;
	d[i] = (struct vring_desc){ htole64(gpa), htole32(first),
				    htole16(flags | (split ? VRING_DESC_F_NEXT : 0)),
				    htole16((i + 1) % QSIZE) };
	if (split)
		d[(i + 1) % QSIZE] = (struct vring_desc){
			htole64(gpa + first), htole32(len - first),
			htole16(flags), 0 };
	f.q[q].buf_len[head] = len;
	a->ring[f.q[q].avail_idx++ % QSIZE] = htole16(head);
	__atomic_store_n(&a->idx, htole16(f.q[q].avail_idx), __ATOMIC_RELEASE);
	return gpa;
}

/* What lkvm put in rx: each packet must be one it may send. */
static void check_rx(void)
{
	struct vring_used *u = used(0);
	struct virtio_vsock_hdr h;
	u32 id, len;
	u64 gpa;

	while (le16toh(u->idx) != f.q[0].last_used) {
		id = le32toh(u->ring[f.q[0].last_used % QSIZE].id);
		len = le32toh(u->ring[f.q[0].last_used % QSIZE].len);
		f.q[0].last_used++;
		ASSERT(id < QSIZE && !(id & 1));
		ASSERT(len <= f.q[0].buf_len[id]);
		if (!len)
			continue;	/* a buffer too small for a header */
		ASSERT(len >= VSOCK_HDR_SIZE);
		gpa = le64toh(((struct vring_desc *)ram_at(Q_GPA(0)))[id].addr);
		memcpy(&h, ram_at(gpa), sizeof(h));
		ASSERT(le64toh(h.src_cid) == VMADDR_CID_HOST);
		ASSERT(le64toh(h.dst_cid) == CID);
		ASSERT(le16toh(h.type) == VIRTIO_VSOCK_TYPE_STREAM);
		ASSERT(le16toh(h.op) >= VIRTIO_VSOCK_OP_REQUEST &&
		       le16toh(h.op) <= VIRTIO_VSOCK_OP_CREDIT_REQUEST);
		ASSERT(le32toh(h.len) + VSOCK_HDR_SIZE == len);
		ASSERT(!h.len || le16toh(h.op) == VIRTIO_VSOCK_OP_RW);
	}
}

static void kick(int q)
{
	int i;

	for (i = 0; i < 8 && virtio_queue_notify(f.dev, q); i++)
		;
	check_rx();
}

/* ---- the script ---- */

static void op_tx(void)
{
	struct virtio_vsock_hdr h;
	u8 sel = in_u8(), payload[VSOCK_MAX_PKT + 64] = { 0 };
	u32 hlen = sel & 0x80 ? sel % 50 : VSOCK_HDR_SIZE;
	u32 plen = in_u16() % (sizeof(payload) + 1);
	u64 gpa;

	memset(&h, 0, sizeof(h));
	in_bytes(&h, sizeof(h));
	if (sel & 1) {
		/* Addressed well, so it reaches the state machine. */
		h.src_cid = htole64(CID);
		h.dst_cid = htole64(VMADDR_CID_HOST);
		h.type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
		h.src_port = htole32(le32toh(h.src_port) % 4);
		h.dst_port = htole32(le32toh(h.dst_port) % (NR_LISTEN + 2));
		h.op = htole16(le16toh(h.op) % 9);
		if (sel & 2)
			h.len = htole32(plen);
	}
	in_bytes(payload, plen);
	if (!room(1))
		kick(1);
	if (!room(1))
		return;
	gpa = post(1, hlen + plen, false, sel & 4);
	memcpy(ram_at(gpa), &h, MIN(hlen, sizeof(h)));
	memcpy(ram_at(gpa + hlen), payload, plen);
	kick(1);
}

static void op_rx(void)
{
	u8 n = in_u8() % 8;

	while (n-- && room(0)) {
		u8 sel = in_u8();
		/* Small ones often: a header's worth, or less, is a case. */
		u16 len = sel & 1 ? in_u8() % 64 :
				    in_u16() % (VSOCK_HDR_SIZE + 8192);

		post(0, len, true, sel & 2);
	}
	kick(0);
}

static void accept_all(void)
{
	int i, fd;

	for (i = 0; i < NR_LISTEN; i++)
		while (f.nr_host < MAX_HOST &&
		       (fd = accept4(listeners[i], NULL, NULL, SOCK_NONBLOCK)) >= 0)
			f.host[f.nr_host++] = fd;
}

static void op_host(void)
{
	static char buf[65536];
	u8 what = in_u8();
	unsigned int k;
	u16 n = in_u16();

	accept_all();
	if (!f.nr_host)
		return;
	k = (what >> 2) % f.nr_host;
	switch (what & 3) {
	case 0:
		memset(buf, what, n);
		if (send(f.host[k], buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
		break;
	case 1:
		if (recv(f.host[k], buf, n, MSG_DONTWAIT) < 0)
			break;
		break;
	case 2:
		shutdown(f.host[k], n & 1 ? SHUT_WR : SHUT_RD);
		break;
	case 3:
		close(f.host[k]);
		f.host[k] = f.host[--f.nr_host];
		break;
	}
}

static void op_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[40];
	int fd;

	if (f.nr_host >= MAX_HOST)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	strcpy(sun.sun_path, uds);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return;
	}
	if (in_u8() & 1)
		snprintf(line, sizeof(line), "CONNECT %u\n", in_u8() % 4);
	else
		line[in_bytes(line, sizeof(line) - 1)] = 0;
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0)
		close(fd);
	else
		f.host[f.nr_host++] = fd;
}

static void op_poll(void)
{
	accept_all();
	vsock_host_poll(f.vs);
	check_rx();
	ASSERT(f.vs->stats.max_buffered <= VSOCK_BUF_ALLOC);
	ASSERT(f.vs->nr_conns <= VSOCK_MAX_CONNS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int i;

	setup_once();
	memset(&f, 0, sizeof(f));
	f.in = data;
	f.left = size;
	f.ram = calloc(1, RAM_SIZE);
	if (!f.ram || guest_mem_add(&f.mem, 0, RAM_SIZE, f.ram) ||
	    ioloop_init(&f.loop) ||
	    vsock_create(CID, uds, &f.mem, &f.loop, &f.vs))
		abort();
	f.dev = vsock_dev(f.vs);
	if (drv_init())
		abort();
	while (f.left) {
		switch (in_u8() % 8) {
		case 0: case 1: op_tx(); break;
		case 2: op_rx(); break;
		case 3: op_poll(); break;
		case 4: op_host(); break;
		case 5: op_connect(); break;
		case 6:
			if (drv_init())
				abort();
			ASSERT(f.vs->nr_conns == 0);
			break;
		case 7:
			if (room(2))
				post(2, in_u8() % 16, true, false);
			kick(2);
			break;
		}
	}
	op_poll();
	vsock_destroy(f.vs);
	ioloop_fini(&f.loop);
	for (i = 0; i < f.nr_host; i++)
		close(f.host[i]);
	accept_all();
	for (i = 0; i < f.nr_host; i++)
		close(f.host[i]);
	free(f.ram);
	return 0;
}
