// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock (virtio 1.2 §5.10): the device and its three queues.
 *
 *   rx (0)     buffers the guest gives us for packets to it;
 *   tx (1)     packets from the guest;
 *   event (2)  buffers for events: we send TRANSPORT_RESET (§5.10.6.7)
 *              when the driver sets the device up again after a reset,
 *              so that the guest drops every socket of the old session.
 *
 * Every packet is a 44-byte header (struct virtio_vsock_hdr) and hdr.len
 * bytes of payload (§5.10.6), which the guest may split across
 * descriptors as it likes.  We copy the header out once and check it
 * before anything else looks at it: a header shorter than 44 bytes, a
 * len beyond the chain or beyond VSOCK_MAX_PKT, a packet not from the
 * guest's CID to the host's, a type other than stream, an unknown op, or
 * a packet for a connection that does not exist is a bad packet: it gets
 * a reset where it names a connection, is dropped otherwise, and the
 * device carries on.  Only a broken ring (virtq.c) fails the device.
 *
 * What a packet means for its connection is vsock-conn.c's business; the
 * host sockets are vsock-mux.c's.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "virtio/iov.h"
#include "virtio/vsock-priv.h"

/* §5.10.3: "stream socket type is supported"; Linux 6.1 does not know it. */
#define VSOCK_F_STREAM 0
/* Interrupt the driver at least this often while filling rx buffers. */
#define VSOCK_IRQ_BATCH 16

static bool vsock_queue_notify(struct virtio_dev *dev, unsigned int qidx);
static int vsock_activate(struct virtio_dev *dev);
static void vsock_vreset(struct virtio_dev *dev);
static void vsock_vdestroy(struct virtio_dev *dev);
static void vsock_describe(struct virtio_dev *dev, char *buf, size_t len);
static int vsock_save(struct virtio_dev *dev, struct state_out *out);
static int vsock_load(struct virtio_dev *dev, struct state_in *in);
static int vsock_handover(struct virtio_dev *dev, enum dev_handover step);

static const struct virtio_dev_type vsock_type = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = VSOCK_NR_QUEUES,
	.queue_max_size = VSOCK_QUEUE_SIZE,
	.features = 1ULL << VSOCK_F_STREAM,
	.config_size = sizeof(struct virtio_vsock_config),
	.activate = vsock_activate,
	.reset = vsock_vreset,
	.queue_notify = vsock_queue_notify,
	.destroy = vsock_vdestroy,
	.describe = vsock_describe,
	.save = vsock_save,
	.load = vsock_load,
	.handover = vsock_handover,
};

static void bad_packet(struct vsock *vs, const char *why)
{
	vs->stats.bad_packets++;
	pr_warn_ratelimited("virtio-vsock: dropped a bad packet from the guest: %s",
			    why);
}

/*
 * One packet from the tx queue, described by vs->iov.  Everything the
 * device needs from the payload happens before we return: the caller
 * hands the buffers back to the guest right after.
 */
static void vsock_tx_pkt(struct vsock *vs, const struct virtq_chain *c)
{
	struct virtio_vsock_hdr hdr;
	u32 len;
	int nr;

	if (c->out_len < VSOCK_HDR_SIZE) {
		bad_packet(vs, "header shorter than 44 bytes");
		return;
	}
	iov_copy_from(vs->iov, c->nr_out, 0, &hdr, VSOCK_HDR_SIZE);
	if (le64toh(hdr.src_cid) != vs->cid ||
	    le64toh(hdr.dst_cid) != VMADDR_CID_HOST) {
		/* §5.10.6.1: not ours to answer; Linux's vhost drops these too. */
		bad_packet(vs, "not from the guest's CID to the host");
		return;
	}
	len = le32toh(hdr.len);
	if (len > VSOCK_MAX_PKT || len > c->out_len - VSOCK_HDR_SIZE) {
		bad_packet(vs, "payload length beyond the buffer");
		if (le16toh(hdr.op) != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(vs, le32toh(hdr.src_port),
					le32toh(hdr.dst_port));
		return;
	}
	nr = iov_slice(vs->slice, ARRAY_SIZE(vs->slice), vs->iov, c->nr_out,
		       VSOCK_HDR_SIZE, len);
	if (nr < 0) {
		/* Cannot happen: the slice has room for every descriptor. */
		bad_packet(vs, "payload split too finely");
		return;
	}
	vsock_conn_recv(vs, &hdr, vs->slice, nr);
}

/* At most a ring's worth per call, so other devices get their turn. */
static bool vsock_tx_run(struct vsock *vs)
{
	struct virtio_dev *dev = &vs->vdev;
	struct virtq *vq = virtio_vq(dev, VSOCK_TX_QUEUE);
	unsigned int budget = vq->size;
	struct virtq_chain chain;
	bool more = false;
	int r = 0;

	while (virtio_running(dev)) {
		if (!budget--) {
			more = true;
			break;
		}
		r = virtq_pop(vq, vs->iov, ARRAY_SIZE(vs->iov), &chain);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r)
			break;
		vsock_tx_pkt(vs, &chain);
		r = virtq_push(vq, chain.head, 0);
		if (r)
			break;
	}
	virtio_signal(dev, VSOCK_TX_QUEUE);
	if (r)
		virtio_fail(dev, VSOCK_TX_QUEUE, r);
	return more;
}

void vsock_rx_run(struct vsock *vs)
{
	struct virtio_dev *dev = &vs->vdev;
	struct virtq *vq = virtio_vq(dev, VSOCK_RX_QUEUE);
	unsigned int budget = vq->size, done = 0;
	struct virtq_chain chain;
	u32 len;
	int r = 0;

	while (virtio_running(dev) && vsock_conn_rx_work(vs)) {
		if (!budget--) {
			/* Back soon, after the other devices. */
			vsock_mux_kick(vs);
			break;
		}
		r = virtq_pop(vq, vs->iov, ARRAY_SIZE(vs->iov), &chain);
		if (r == -EAGAIN) {
			/* The guest kicks rx when it gives us buffers. */
			r = 0;
			break;
		}
		if (r)
			break;
		if (chain.in_len < VSOCK_HDR_SIZE) {
			bad_packet(vs, "rx buffer shorter than a header");
			len = 0;
		} else {
			/* Readable descriptors in an rx chain are ignored. */
			len = vsock_conn_next_pkt(vs, vs->iov + chain.nr_out,
						  chain.nr_in, chain.in_len);
			if (!len && chain.in_len > VSOCK_HDR_SIZE) {
				virtq_unpop(vq);
				break;
			}
			/*
			 * Room for a header only, and no control packet
			 * owed: give it back empty rather than let it block
			 * the queue (Linux drops such a packet).
			 */
			if (!len)
				bad_packet(vs, "rx buffer with no room for data");
		}
		r = virtq_push(vq, chain.head, len);
		if (r)
			break;
		if (++done % VSOCK_IRQ_BATCH == 0)
			virtio_signal(dev, VSOCK_RX_QUEUE);
	}
	virtio_signal(dev, VSOCK_RX_QUEUE);
	if (r)
		virtio_fail(dev, VSOCK_RX_QUEUE, r);
}

/* §5.10.6.7: the only event there is, TRANSPORT_RESET. */
static void vsock_event_run(struct vsock *vs)
{
	struct virtio_dev *dev = &vs->vdev;
	struct virtq *vq = virtio_vq(dev, VSOCK_EVENT_QUEUE);
	struct virtio_vsock_event ev = {
		.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET),
	};
	struct virtq_chain chain;
	u32 len = 0;
	int r;

	if (!vs->event_pending || !virtio_running(dev))
		return;
	r = virtq_pop(vq, vs->iov, ARRAY_SIZE(vs->iov), &chain);
	if (r == -EAGAIN)
		return;
	if (!r) {
		if (chain.in_len >= sizeof(ev))
			len = iov_copy_to(vs->iov + chain.nr_out, chain.nr_in, 0,
					  &ev, sizeof(ev));
		else
			bad_packet(vs, "event buffer too short");
		vs->event_pending = false;
		r = virtq_push(vq, chain.head, len);
	}
	virtio_signal(dev, VSOCK_EVENT_QUEUE);
	if (r)
		virtio_fail(dev, VSOCK_EVENT_QUEUE, r);
}

static bool vsock_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct vsock *vs = dev->priv;
	bool more = false;

	if (vs->recheck) {
		vs->recheck = false;
		vsock_conn_recheck_all(vs);
	}
	switch (qidx) {
	case VSOCK_TX_QUEUE:
		more = vsock_tx_run(vs);
		break;
	case VSOCK_EVENT_QUEUE:
		vsock_event_run(vs);
		break;
	}
	/* A tx packet may owe the guest an answer; an rx kick brought room. */
	vsock_rx_run(vs);
	vsock_conns_reap(vs);
	return more;
}

/*
 * DRIVER_OK (dev->lock held, must not block).  A device set up again
 * after a reset lost every connection the guest may still think it has:
 * tell it with TRANSPORT_RESET, once the driver gives us an event buffer.
 */
static int vsock_activate(struct virtio_dev *dev)
{
	struct vsock *vs = dev->priv;

	if (vs->was_live)
		vs->event_pending = true;
	vs->was_live = true;
	return 0;
}

/*
 * dev->lock held and nobody inside: the host sockets go now, and the
 * connections with them (the I/O thread follows no connection pointer
 * while it is outside the device).
 */
static void vsock_vreset(struct virtio_dev *dev)
{
	struct vsock *vs = dev->priv;

	vsock_conns_drop(vs);
	vsock_conns_reap(vs);
	vs->event_pending = false;
}

/* ---- migration ---- */

/* The guest's address; the Unix socket is this host's (--vsock-uds). */
static void vsock_describe(struct virtio_dev *dev, char *buf, size_t len)
{
	struct vsock *vs = dev->priv;

	snprintf(buf, len, "cid=%llu", (unsigned long long)vs->cid);
}

/*
 * Connections are host sockets of the source's lkvm: they cannot move.
 * The guest learns they are gone at RESUMED; nothing to save.
 */
static int vsock_save(struct virtio_dev *dev, struct state_out *out)
{
	return 0;
}

static int vsock_load(struct virtio_dev *dev, struct state_in *in)
{
	return 0;
}

/*
 * I/O thread.  The guest's sockets belong to a transport it no longer
 * has: drop what this side holds and tell the driver with
 * TRANSPORT_RESET (virtio 1.2 §5.10.6.7, "typically sent ... after live
 * migration"), into a buffer the guest gave the event queue at the
 * source.  Linux then resets every connected socket.
 */
static void vsock_resumed(void *arg)
{
	struct vsock *vs = arg;

	if (!virtio_enter(&vs->vdev))
		return;
	vsock_conns_drop(vs);
	vsock_conns_reap(vs);
	vs->event_pending = true;
	vsock_event_run(vs);
	virtio_leave(&vs->vdev);
}

static int vsock_handover(struct virtio_dev *dev, enum dev_handover step)
{
	struct vsock *vs = dev->priv;

	if (step != DEV_HANDOVER_RESUMED)
		return 0;
	return ioloop_call(vs->loop, vsock_resumed, vs, false);
}

int vsock_create(u64 cid, const char *uds, const struct guest_mem *mem,
		 struct ioloop *loop, struct vsock **out)
{
	struct vsock *vs;
	int r;

	/* §5.10.4: 0-2 are reserved, and the upper 32 bits too. */
	if (cid <= VMADDR_CID_HOST || cid >= 0xffffffffULL)
		return -EINVAL;
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	r = virtio_init(&vs->vdev, &vsock_type, mem, vs);
	if (r)
		goto err_free;
	vs->cid = cid;
	vs->config.guest_cid = htole64(cid);
	vs->vdev.config = &vs->config;
	vs->loop = loop;
	vs->next_local_port = VSOCK_LOCAL_PORT_MIN;
	r = vsock_mux_init(vs, uds);
	if (r)
		goto err_exit;
	*out = vs;
	return 0;

err_exit:
	virtio_exit(&vs->vdev);
err_free:
	free(vs);
	return r;
}

struct virtio_dev *vsock_dev(struct vsock *vs)
{
	return &vs->vdev;
}

void vsock_get_stats(struct vsock *vs, struct vsock_stats *s)
{
	*s = vs->stats;
}

static void vsock_vdestroy(struct virtio_dev *dev)
{
	vsock_destroy(dev->priv);
}

void vsock_destroy(struct vsock *vs)
{
	if (!vs)
		return;
	vsock_conns_drop(vs);
	vsock_conns_reap(vs);
	vsock_mux_fini(vs);
	virtio_exit(&vs->vdev);
	free(vs);
}
