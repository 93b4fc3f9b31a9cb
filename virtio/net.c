// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio 1.2 §5.1): one queue pair and a control queue.
 *
 * Receive (§5.1.6.3, §5.1.6.4).  The guest fills the receive queue with
 * write-only buffers.  We take them off the ring ahead of need and keep
 * them (the "rx cache"), so that one readv() can put a frame straight
 * into as many buffers as it may need: with VIRTIO_NET_F_MRG_RXBUF a
 * 64 KiB TSO frame spans some 40 of Linux's 1.5 KiB buffers.  The frame
 * starts with the 12-byte virtio-net header, which a tap opened with
 * IFF_VNET_HDR and TUNSETVNETHDRSZ 12 writes itself; we then fill in
 * num_buffers and hand back exactly the buffers the frame used, all in
 * one used->idx update (virtq_push_n()), so the driver never sees the
 * first without the rest.  Buffers the frame did not need stay cached
 * for the next one.  We read from the backend only when the cache can
 * hold the largest frame the guest may get; otherwise we wait for it to
 * add buffers (its kick) and meanwhile do not watch the backend at all,
 * so a full receive ring costs no CPU and blocks nothing: the backend
 * queues, or drops, on its side.
 *
 * Transmit (§5.1.6.2).  Each chain is a header and a frame, which go to
 * the backend with one writev() from guest memory; we copy only the
 * header, to check it against what was negotiated (an offload the guest
 * did not negotiate, a checksum offset outside the frame) before the
 * backend acts on it.  A backend that cannot take a frame (EAGAIN) keeps
 * it on the ring until its fd is writable.
 *
 * Both directions run on the I/O thread, a bounded batch per wakeup, and
 * interrupt the guest once per batch as its EVENT_IDX fields ask
 * (virtio_signal()).  While we drain a ring, its avail_event stays where
 * it was, so the guest does not kick us for every buffer; the core moves
 * it on only when it finds the ring empty (virtq.c, avail_wait()).
 *
 * What the guest can break: a chain the walker refuses, a receive buffer
 * with a device-readable part or shorter than the header, a bad control
 * request: the device then needs a reset (virtio_fail()), logged once,
 * and lkvm and the rest of the VM carry on.  A frame that is too short,
 * too long or asks for something not negotiated is dropped and counted.
 *
 * Threads.  Register accesses (activation, reset) come from vCPU threads
 * under vdev.lock and never block: what the I/O thread must do about them
 * (offloads, which fds to watch) is handed over with ioloop_call().  The
 * rx cache and the tx state are the I/O thread's, used inside
 * virtio_enter()/virtio_leave(); activation and reset clear them, which
 * the core runs only when nobody is inside.  Counters are written by the
 * I/O thread alone and read with atomic loads from anywhere.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>

#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "virtio/iov.h"
#include "virtio/net.h"

/* Descriptors in one chain, as virtio-blk allows. */
#define NET_SEG_MAX NET_QUEUE_SIZE
/*
 * iovecs in the rx cache.  A cached chain keeps up to NET_SEG_MAX of
 * them; Linux uses one per buffer with MRG_RXBUF, 19 without.
 */
#define NET_RX_POOL 1024
/*
 * Frames per wakeup and direction: enough to amortise a wakeup, few
 * enough that the other direction, other devices and the console get
 * their turn (a level-triggered fd or a re-kick brings us back).
 */
#define NET_RX_BUDGET 128
#define NET_TX_BUDGET NET_QUEUE_SIZE
/* Interrupt at least this often in a long batch, for latency. */
#define NET_IRQ_BATCH 64

/* Tags of the device's epoll set. */
#define NET_EV_FRAMES 1
#define NET_EV_AUX 2

/* One chain of the rx cache: its iovecs are next in rx_pool. */
struct net_rxbuf {
	u16 head;
	u16 nr;
	u32 len;
};

struct virtio_net {
	struct virtio_dev vdev;
	struct virtio_net_config config;	/* under vdev.lock */
	char name[16];
	struct net_backend *be;
	struct ioloop *loop;
	struct io_event *ev;
	int epfd;		/* watches be->fd and be->aux_fd */
	u32 events;		/* what it watches on be->fd now */
	bool watching;		/* be->fd is in epfd */
	u16 mtu;

	/* The I/O thread's alone. */
	bool active;		/* the device was live when we last looked */
	bool gone;		/* the backend is gone: link down */
	bool tx_blocked;	/* the backend pushed back */
	bool tx_more;		/* a batch ended with work left */
	bool rx_blocked;	/* waiting for the guest's buffers */

	/*
	 * Set at activation and reset (nobody inside the device), used by
	 * the I/O thread inside it.
	 */
	bool mrg;
	u64 offloads;		/* VIRTIO_NET_F_GUEST_* the guest takes now */
	struct net_rxbuf rxbuf[NET_QUEUE_SIZE];
	unsigned int rx_nbufs, rx_npool;
	u64 rx_cap;		/* bytes in the cached chains */
	struct iovec rx_pool[NET_RX_POOL];
	struct iovec rx_iov[NET_RX_POOL];
	struct virtq_used rx_used[NET_QUEUE_SIZE];
	struct iovec tx_iov[NET_SEG_MAX];
	struct iovec tx_frame[NET_SEG_MAX];

	struct net_stats stats;
};

static bool net_queue_notify(struct virtio_dev *dev, unsigned int qidx);
static int net_activate(struct virtio_dev *dev);
static void net_reset(struct virtio_dev *dev);
static void net_vdestroy(struct virtio_dev *dev);
static void net_describe(struct virtio_dev *dev, char *buf, size_t len);
static int net_save(struct virtio_dev *dev, struct state_out *out);
static int net_load(struct virtio_dev *dev, struct state_in *in);
static int net_handover(struct virtio_dev *dev, enum dev_handover step);
static u16 net_unused_chains(struct virtio_dev *dev, unsigned int qidx);

/*
 * What every NIC offers.  GUEST_ANNOUNCE and CTRL_GUEST_OFFLOADS need the
 * control queue (§5.1.3.1); the offloads come from the backend.
 */
#define NET_FEATURES                                                    \
	((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |   \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_MTU) | \
	 (1ULL << VIRTIO_NET_F_CTRL_VQ) |                               \
	 (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE))

static const struct virtio_dev_type net_type = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 3,
	.queue_max_size = NET_QUEUE_SIZE,
	.features = NET_FEATURES,
	/* mac, status, max_virtqueue_pairs, mtu, speed, duplex */
	.config_size = offsetof(struct virtio_net_config, rss_max_key_size),
	.activate = net_activate,
	.reset = net_reset,
	.queue_notify = net_queue_notify,
	.destroy = net_vdestroy,
	.describe = net_describe,
	.save = net_save,
	.load = net_load,
	.handover = net_handover,
	.unused_chains = net_unused_chains,
};

/* ---- counters ---- */

/* Only the I/O thread writes; others read with net_get_stats(). */
static void stat_add(u64 *s, u64 v)
{
	__atomic_store_n(s, *s + v, __ATOMIC_RELAXED);
}

static void stat_max(u64 *s, u64 v)
{
	if (v > *s)
		__atomic_store_n(s, v, __ATOMIC_RELAXED);
}

void net_get_stats(struct virtio_net *net, struct net_stats *s)
{
	const u64 *src = (const u64 *)&net->stats;
	u64 *dst = (u64 *)s;
	size_t i;

	for (i = 0; i < sizeof(*s) / sizeof(u64); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

u64 net_rx_dropped(const struct net_stats *s)
{
	return s->rx_drop_short + s->rx_drop_big + s->rx_drop_noroom +
	       s->rx_drop_offload + s->rx_drop_error;
}

u64 net_tx_dropped(const struct net_stats *s)
{
	return s->tx_drop_short + s->tx_drop_big + s->tx_drop_hdr +
	       s->tx_drop_error + s->tx_drop_down;
}

/* ---- config space and link ---- */

static void net_set_status(struct virtio_net *net, u16 set, u16 clear)
{
	u16 st;

	pthread_mutex_lock(&net->vdev.lock);
	st = le16toh(net->config.status);
	net->config.status = htole16((st | set) & ~clear);
	pthread_mutex_unlock(&net->vdev.lock);
	virtio_config_changed(&net->vdev);
}

bool net_link_up(struct virtio_net *net)
{
	u16 st;

	pthread_mutex_lock(&net->vdev.lock);
	st = le16toh(net->config.status);
	pthread_mutex_unlock(&net->vdev.lock);
	return st & VIRTIO_NET_S_LINK_UP;
}

int net_announce(struct virtio_net *net)
{
	if (!virtio_has_feature(&net->vdev, VIRTIO_NET_F_GUEST_ANNOUNCE))
		return -EOPNOTSUPP;
	net_set_status(net, VIRTIO_NET_S_ANNOUNCE, 0);
	return 0;
}

/* ---- watching the backend ---- */

static void net_watch(struct virtio_net *net, u32 events)
{
	struct epoll_event ev = { .events = events,
				  .data.u32 = NET_EV_FRAMES };

	if (!net->watching || events == net->events)
		return;
	if (epoll_ctl(net->epfd, EPOLL_CTL_MOD, net->be->fd, &ev) < 0) {
		pr_warn_ratelimited("%s: epoll: %s", net->name, strerror(errno));
		return;
	}
	net->events = events;
}

/*
 * Watch for frames to receive only while the guest is live and has
 * buffers, and for room to send only while something waits for it.
 */
static void net_update_events(struct virtio_net *net)
{
	u32 ev = 0;

	if (net->active && !net->rx_blocked)
		ev |= EPOLLIN;
	if (net->be->out_pending ||
	    (net->active && (net->tx_blocked || net->tx_more)))
		ev |= EPOLLOUT;
	net_watch(net, ev);
}

/*
 * The backend went away (passt exited, the tap was deleted): the link
 * goes down, the guest sees its carrier drop, and the VM runs on.
 * Frames the guest still sends are dropped and counted.
 */
static void net_gone(struct virtio_net *net)
{
	char why[256] = "";

	if (net->gone)
		return;
	net->gone = true;
	if (net->watching) {
		epoll_ctl(net->epfd, EPOLL_CTL_DEL, net->be->fd, NULL);
		net->watching = false;
	}
	if (net->be->ops->why_gone)
		net->be->ops->why_gone(net->be, why, sizeof(why));
	pr_warn("%s: %s; link down, the VM runs on", net->name,
		*why ? why : "the backend is gone");
	net_set_status(net, 0, VIRTIO_NET_S_LINK_UP);
}

/* Mark @vq broken for a rule of virtio-net the walker cannot know. */
static int net_break(struct virtq *vq, const char *why)
{
	vq->broken = true;
	vq->broken_reason = why;
	return -EINVAL;
}

/* ---- receive ---- */

static u64 net_rx_gso_mask(void)
{
	return (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
	       (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
	       (1ULL << VIRTIO_NET_F_GUEST_UFO);
}

/*
 * The most a frame may need with merged buffers: the largest frame the
 * guest can get, as it set itself up (TSO or not, its MTU).
 */
static u64 net_rx_want(struct virtio_net *net)
{
	u64 frame = NET_FRAME_MAX;

	if (!(net->offloads & net_rx_gso_mask()))
		frame = MIN(frame, (u64)MAX(net->mtu, ETH_DATA_LEN) + ETH_HLEN +
					   NET_VLAN_HLEN);
	return NET_HDR_LEN + frame;
}

static void net_rx_clear(struct virtio_net *net)
{
	net->rx_nbufs = net->rx_npool = 0;
	net->rx_cap = 0;
	if (net->be->ops->rx_abort)
		net->be->ops->rx_abort(net->be);
}

/* Can the cache take one more chain of up to NET_SEG_MAX iovecs? */
static bool net_rx_room(struct virtio_net *net, struct virtq *vq)
{
	return net->rx_nbufs < vq->size &&
	       net->rx_npool + NET_SEG_MAX <= NET_RX_POOL;
}

/* Take chains off the ring until the cache holds @want bytes. */
static int net_rx_fill(struct virtio_net *net, struct virtq *vq, u64 want)
{
	struct virtq_chain c;
	struct net_rxbuf *b;
	int r;

	while (net->rx_cap < want && net_rx_room(net, vq)) {
		r = virtq_pop(vq, net->rx_pool + net->rx_npool, NET_SEG_MAX, &c);
		if (r == -EAGAIN)
			return 0;
		if (r)
			return r;
		/* §5.1.6.3.1: receive buffers are write-only, and hold a header. */
		if (c.nr_out)
			return net_break(vq, "receive buffer with a device-readable part");
		if (c.in_len < NET_HDR_LEN)
			return net_break(vq, "receive buffer shorter than the header");
		b = &net->rxbuf[net->rx_nbufs++];
		b->head = c.head;
		b->nr = c.nr_in;
		b->len = (u32)MIN(c.in_len, (u64)UINT32_MAX);
		net->rx_npool += c.nr_in;
		net->rx_cap += b->len;
	}
	return 0;
}

/*
 * Without merged buffers a frame goes into one chain (§5.1.6.3.1 asks
 * the driver for chains big enough).  With them we need room for the
 * whole frame, or every buffer the guest can give us.
 */
static bool net_rx_ready(struct virtio_net *net, struct virtq *vq, u64 want)
{
	if (!net->mrg)
		return net->rx_nbufs > 0;
	return net->rx_cap >= want || (net->rx_nbufs && !net_rx_room(net, vq));
}

/* The buffers a frame of up to @want bytes goes into: their capacity. */
static u64 net_rx_iov(struct virtio_net *net, u64 want, unsigned int *nr)
{
	unsigned int i, n = 0;
	u64 cap = 0;

	for (i = 0; i < net->rx_nbufs && (i == 0 || (net->mrg && cap < want));
	     i++) {
		memcpy(net->rx_iov + n, net->rx_pool + n,
		       net->rxbuf[i].nr * sizeof(struct iovec));
		n += net->rxbuf[i].nr;
		cap += net->rxbuf[i].len;
	}
	*nr = n;
	return cap;
}

/*
 * Migration learns of lkvm's writes only from their dirty marks
 * (kvm/mem.h), made in the same virtio_enter() as the write.  virtq_pop()
 * marked these buffers when it took them, but a cached chain may be
 * written many wakeups later, after a migration pass collected that
 * mark: so the buffers a frame may go into are marked again now.
 */
static void net_rx_mark_dirty(struct virtio_net *net, struct virtq *vq,
			      unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		guest_mem_mark_dirty_hva(vq->mem, net->rx_iov[i].iov_base,
					 net->rx_iov[i].iov_len);
}

/* The first @k cached chains were used: forget them. */
static void net_rx_consume(struct virtio_net *net, unsigned int k)
{
	unsigned int i, n = 0;

	for (i = 0; i < k; i++) {
		n += net->rxbuf[i].nr;
		net->rx_cap -= net->rxbuf[i].len;
	}
	memmove(net->rxbuf, net->rxbuf + k,
		(net->rx_nbufs - k) * sizeof(net->rxbuf[0]));
	memmove(net->rx_pool, net->rx_pool + n,
		(net->rx_npool - n) * sizeof(net->rx_pool[0]));
	net->rx_nbufs -= k;
	net->rx_npool -= n;
}

/*
 * Make a received header fit what the guest accepts now (§5.1.6.4.1):
 * without GUEST_CSUM, flags must be 0 and the frame fully checksummed;
 * a GSO frame needs the matching GUEST_* offload.  False: drop it (the
 * backend sent what we did not ask for, e.g. before TUNSETOFFLOAD took).
 */
static bool net_rx_hdr_fix(struct virtio_net *net, struct virtio_net_hdr_v1 *h,
			   u16 nbufs)
{
	u64 o = net->offloads;
	u8 gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need;

	if (!(o & (1ULL << VIRTIO_NET_F_GUEST_CSUM))) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		h->flags = 0;
	}
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		need = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		need = VIRTIO_NET_F_GUEST_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		need = VIRTIO_NET_F_GUEST_TSO6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		need = VIRTIO_NET_F_GUEST_UFO;
		break;
	default:
		return false;
	}
	if (need && !(o & (1ULL << need)))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (!need || !(o & (1ULL << VIRTIO_NET_F_GUEST_ECN))))
		return false;
	/* §5.1.6.4.1: the number of chains used, 1 without MRG_RXBUF. */
	h->num_buffers = htole16(nbufs);
	return true;
}

/*
 * A frame of @n bytes (header included) arrived in buffers of @cap
 * bytes: fix its header and hand its chains to the guest, or drop it
 * and keep them.  0, or -errno if the ring broke.
 */
static int net_rx_deliver(struct virtio_net *net, struct virtq *vq, u64 n,
			  u64 cap)
{
	struct net_stats *s = &net->stats;
	struct virtio_net_hdr_v1 h;
	unsigned int k = 0;
	u64 left = n;

	if (n < NET_HDR_LEN + NET_FRAME_MIN) {
		stat_add(&s->rx_drop_short, 1);
		return 0;
	}
	if (n > NET_HDR_LEN + NET_FRAME_MAX) {
		stat_add(&s->rx_drop_big, 1);
		return 0;
	}
	if (n > cap) {
		stat_add(&s->rx_drop_noroom, 1);
		return 0;
	}
	for (; left; k++) {
		net->rx_used[k].head = net->rxbuf[k].head;
		net->rx_used[k].len = (u32)MIN(left, (u64)net->rxbuf[k].len);
		left -= net->rx_used[k].len;
	}
	iov_copy_from(net->rx_pool, net->rxbuf[0].nr, 0, &h, sizeof(h));
	if (!net_rx_hdr_fix(net, &h, (u16)k)) {
		stat_add(&s->rx_drop_offload, 1);
		return 0;
	}
	iov_copy_to(net->rx_pool, net->rxbuf[0].nr, 0, &h, sizeof(h));
	if (virtq_push_n(vq, net->rx_used, k))
		return -EIO;
	net_rx_consume(net, k);
	stat_add(&s->rx_frames, 1);
	stat_add(&s->rx_bytes, n - NET_HDR_LEN);
	stat_max(&s->rx_max, n - NET_HDR_LEN);
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		stat_add(&s->rx_gso, 1);
	return 0;
}

/* One frame from the backend into the guest: 1 go on, 0 stop, -errno. */
static int net_rx_one(struct virtio_net *net, struct virtq *vq)
{
	struct net_backend *be = net->be;
	ssize_t len, n;
	unsigned int nr;
	u64 want, cap;
	int r;

	len = be->ops->rx_peek(be);
	if (len == -EAGAIN)
		return 0;
	if (len < 0) {
		net_gone(net);
		return 0;
	}
	want = len ? NET_HDR_LEN + (u64)len : net_rx_want(net);
	r = net_rx_fill(net, vq, want);
	if (r)
		return r;
	if (!net_rx_ready(net, vq, want)) {
		net->rx_blocked = true;
		stat_add(&net->stats.rx_wait_bufs, 1);
		return 0;
	}
	cap = net_rx_iov(net, want, &nr);
	net_rx_mark_dirty(net, vq, nr);
	n = be->ops->recv(be, net->rx_iov, nr);
	if (n == -EAGAIN)
		return 0;
	if (n == -EPIPE) {
		net_gone(net);
		return 0;
	}
	if (n < 0) {
		stat_add(&net->stats.rx_drop_error, 1);
		return 1;
	}
	r = net_rx_deliver(net, vq, (u64)n, cap);
	return r ? r : 1;
}

/* virtio_signal(), counted. */
static void net_signal(struct virtio_net *net, unsigned int qidx)
{
	if (virtio_signal(&net->vdev, qidx) <= 0)
		return;
	if (qidx == NET_RX_QUEUE)
		stat_add(&net->stats.rx_irqs, 1);
	else if (qidx == NET_TX_QUEUE)
		stat_add(&net->stats.tx_irqs, 1);
}

static void net_rx(struct virtio_net *net)
{
	struct virtq *vq = virtio_vq(&net->vdev, NET_RX_QUEUE);
	unsigned int budget = NET_RX_BUDGET, done = 0;
	int r = 1;

	net->rx_blocked = false;
	while (!net->gone && budget-- && virtio_running(&net->vdev)) {
		r = net_rx_one(net, vq);
		if (r <= 0)
			break;
		if (++done % NET_IRQ_BATCH == 0)
			net_signal(net, NET_RX_QUEUE);
	}
	net_signal(net, NET_RX_QUEUE);
	if (r < 0)
		virtio_fail(&net->vdev, NET_RX_QUEUE, r);
}

/* ---- transmit ---- */

/*
 * §5.1.6.2.1: the driver asks for a checksum or segmentation only if it
 * negotiated it, with the checksum inside the frame.  We also clear what
 * a driver must not set (DATA_VALID, RSC_INFO) and num_buffers.
 */
static bool net_tx_hdr_ok(struct virtio_net *net, struct virtio_net_hdr_v1 *h,
			  u64 len)
{
	u8 gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need;

	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->num_buffers = 0;
	if (h->flags) {
		if (!virtio_has_feature(&net->vdev, VIRTIO_NET_F_CSUM))
			return false;
		if ((u64)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 >
		    len)
			return false;
	}
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		need = VIRTIO_NET_F_HOST_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		need = VIRTIO_NET_F_HOST_TSO6;
		break;
	default:
		return false;	/* UFO is never offered */
	}
	if (!virtio_has_feature(&net->vdev, need))
		return false;
	return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN) ||
	       virtio_has_feature(&net->vdev, VIRTIO_NET_F_HOST_ECN);
}

/* Send one chain's frame: 0 (sent or dropped), or -EAGAIN (keep it). */
static int net_tx_one(struct virtio_net *net, const struct virtq_chain *c)
{
	struct net_stats *s = &net->stats;
	struct virtio_net_hdr_v1 h;
	u64 len = c->out_len;
	int n, r;

	if (len < NET_HDR_LEN + NET_FRAME_MIN) {
		stat_add(&s->tx_drop_short, 1);
		return 0;
	}
	len -= NET_HDR_LEN;
	if (len > net->be->frame_max) {
		stat_add(&s->tx_drop_big, 1);
		return 0;
	}
	if (net->gone) {
		stat_add(&s->tx_drop_down, 1);
		return 0;
	}
	/* One copy of the header: the guest may rewrite it as we look. */
	iov_copy_from(net->tx_iov, c->nr_out, 0, &h, sizeof(h));
	if (!net_tx_hdr_ok(net, &h, len)) {
		stat_add(&s->tx_drop_hdr, 1);
		return 0;
	}
	n = iov_slice(net->tx_frame, ARRAY_SIZE(net->tx_frame), net->tx_iov,
		      c->nr_out, NET_HDR_LEN, len);
	if (n < 0) {
		stat_add(&s->tx_drop_error, 1);
		return 0;
	}
	r = net->be->ops->send(net->be, &h, net->tx_frame, (unsigned int)n, len);
	if (r == -EAGAIN)
		return r;
	if (r == -EPIPE)
		net_gone(net);
	/* -ENETDOWN: a tap that is down (not yet configured, say). */
	if (r == -EPIPE || r == -ENETDOWN) {
		stat_add(&s->tx_drop_down, 1);
		return 0;
	}
	if (r) {
		pr_warn_ratelimited("%s: the %s backend refused a frame: %s",
				    net->name, net->be->mode, strerror(-r));
		stat_add(&s->tx_drop_error, 1);
		return 0;
	}
	stat_add(&s->tx_frames, 1);
	stat_add(&s->tx_bytes, len);
	stat_max(&s->tx_max, len);
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		stat_add(&s->tx_gso, 1);
	return 0;
}

/* A batch of frames to the backend; true if work is left. */
static bool net_tx(struct virtio_net *net)
{
	struct virtq *vq = virtio_vq(&net->vdev, NET_TX_QUEUE);
	unsigned int budget = NET_TX_BUDGET, done = 0;
	struct virtq_chain c;
	bool more = false;
	int r = 0;

	net->tx_blocked = false;
	while (virtio_running(&net->vdev)) {
		if (!budget--) {
			more = true;
			break;
		}
		r = virtq_pop(vq, net->tx_iov, ARRAY_SIZE(net->tx_iov), &c);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r)
			break;
		if (net_tx_one(net, &c) == -EAGAIN) {
			virtq_unpop(vq);
			net->tx_blocked = true;
			stat_add(&net->stats.tx_wait_backend, 1);
			break;
		}
		r = virtq_push(vq, c.head, 0);
		if (r)
			break;
		if (++done % NET_IRQ_BATCH == 0)
			net_signal(net, NET_TX_QUEUE);
	}
	/* What was sent before the guest broke the ring is still signalled. */
	net_signal(net, NET_TX_QUEUE);
	if (r)
		virtio_fail(&net->vdev, NET_TX_QUEUE, r);
	return more;
}

/* ---- the control queue (§5.1.6.5) ---- */

static u64 net_tun_offloads(u64 f)
{
	u64 t = 0;

	if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM))
		t |= TUN_F_CSUM;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_ECN))
		t |= TUN_F_TSO_ECN;
	return t;
}

static int net_set_offloads(struct virtio_net *net, u64 offloads)
{
	if (!net->be->ops->set_offloads)
		return offloads ? -EOPNOTSUPP : 0;
	return net->be->ops->set_offloads(net->be,
					  (unsigned int)net_tun_offloads(offloads));
}

/*
 * §5.1.6.5.6.1: the guest turns its receive offloads on and off (ethtool
 * -K, XDP), within what it negotiated.
 */
static u8 net_ctrl_offloads(struct virtio_net *net, const struct iovec *out,
			    unsigned int nr, u64 len)
{
	u64 v, allowed = net->vdev.driver_features & NET_F_GUEST_OFFLOADS;

	if (!virtio_has_feature(&net->vdev, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
	    len != sizeof(struct virtio_net_ctrl_hdr) + sizeof(v))
		return VIRTIO_NET_ERR;
	iov_copy_from(out, nr, sizeof(struct virtio_net_ctrl_hdr), &v, sizeof(v));
	v = le64toh(v);
	if (v & ~allowed)
		return VIRTIO_NET_ERR;
	if (net_set_offloads(net, v))
		return VIRTIO_NET_ERR;
	net->offloads = v;
	return VIRTIO_NET_OK;
}

static u8 net_ctrl_cmd(struct virtio_net *net, const struct iovec *out,
		       unsigned int nr, u64 len)
{
	struct virtio_net_ctrl_hdr h;

	iov_copy_from(out, nr, 0, &h, sizeof(h));
	if (h.class == VIRTIO_NET_CTRL_ANNOUNCE &&
	    h.cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK &&
	    virtio_has_feature(&net->vdev, VIRTIO_NET_F_GUEST_ANNOUNCE)) {
		/* §5.1.6.5.4: the guest announced itself; done. */
		net_set_status(net, 0, VIRTIO_NET_S_ANNOUNCE);
		return VIRTIO_NET_OK;
	}
	if (h.class == VIRTIO_NET_CTRL_GUEST_OFFLOADS &&
	    h.cmd == VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET)
		return net_ctrl_offloads(net, out, nr, len);
	return VIRTIO_NET_ERR;
}

/*
 * A request is a header and data, readable, then an ack byte, the last
 * writable one.  One without room for either gets nothing written.
 */
static bool net_ctrl(struct virtio_net *net)
{
	struct virtq *vq = virtio_vq(&net->vdev, NET_CTRL_QUEUE);
	unsigned int budget = vq->size;
	struct virtq_chain c;
	bool more = false;
	u32 used;
	u8 ack;
	int r = 0;

	while (virtio_running(&net->vdev)) {
		if (!budget--) {
			more = true;
			break;
		}
		r = virtq_pop(vq, net->tx_iov, ARRAY_SIZE(net->tx_iov), &c);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r)
			break;
		used = 0;
		if (c.in_len && c.out_len >= sizeof(struct virtio_net_ctrl_hdr)) {
			ack = net_ctrl_cmd(net, net->tx_iov, c.nr_out, c.out_len);
			iov_copy_to(net->tx_iov + c.nr_out, c.nr_in, c.in_len - 1,
				    &ack, 1);
			used = 1;
		} else {
			pr_warn_ratelimited("%s: control request without a header or an ack byte",
					    net->name);
		}
		r = virtq_push(vq, c.head, used);
		if (r)
			break;
	}
	virtio_signal(&net->vdev, NET_CTRL_QUEUE);
	if (r)
		virtio_fail(&net->vdev, NET_CTRL_QUEUE, r);
	return more;
}

/* ---- the I/O thread's entries ---- */

static bool net_queue_notify(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_net *net = dev->priv;
	bool more = false;

	/* Only live devices get here: the kick is proof of it. */
	net->active = true;
	switch (qidx) {
	case NET_RX_QUEUE:
		/* New buffers: receive what waited for them. */
		stat_add(&net->stats.rx_kicks, 1);
		net_rx(net);
		break;
	case NET_TX_QUEUE:
		/* Even if the backend pushed back: it may take frames now. */
		stat_add(&net->stats.tx_kicks, 1);
		more = net_tx(net);
		break;
	case NET_CTRL_QUEUE:
		more = net_ctrl(net);
		break;
	}
	net_update_events(net);
	return more;
}

/* The backend's pending output, then the device's work. */
static void net_poll_frames(struct virtio_net *net, u32 ev)
{
	struct net_backend *be = net->be;
	int r;

	if (ev & (EPOLLERR | EPOLLHUP)) {
		net_gone(net);
		return;
	}
	if ((ev & EPOLLOUT) && be->out_pending && be->ops->flush) {
		r = be->ops->flush(be);
		if (r == -EPIPE) {
			net_gone(net);
			return;
		}
	}
	if (!virtio_enter(&net->vdev)) {
		/* Not live, or no DMA: stop watching until it is again. */
		net->active = false;
		return;
	}
	net->active = true;
	if ((ev & EPOLLOUT) && !be->out_pending)
		net->tx_more = net_tx(net);
	if (ev & EPOLLIN)
		net_rx(net);
	virtio_leave(&net->vdev);
}

void net_poll(struct virtio_net *net)
{
	struct epoll_event evs[2];
	u32 frames = 0;
	int i, n;

	n = epoll_wait(net->epfd, evs, ARRAY_SIZE(evs), 0);
	for (i = 0; i < n; i++) {
		if (evs[i].data.u32 == NET_EV_FRAMES)
			frames = evs[i].events;
		else if (!net->be->ops->aux_event ||
			 !net->be->ops->aux_event(net->be))
			epoll_ctl(net->epfd, EPOLL_CTL_DEL, net->be->aux_fd, NULL);
	}
	if (frames && !net->gone)
		net_poll_frames(net, frames);
	net_update_events(net);
}

static void net_io_event(int fd, void *arg)
{
	net_poll(arg);
}

/* ---- activation and reset, handed to the I/O thread ---- */

struct net_io_call {
	struct virtio_net *net;
	u64 offloads;
	bool live;
};

/*
 * On the I/O thread: the offloads the guest takes now (TUNSETOFFLOAD,
 * as Firecracker does at activation), and whether to watch for frames.
 * May run inside virtio_leave() (a reset the I/O thread completes), so
 * it must not enter the device.
 */
static void net_io_update(void *arg)
{
	struct net_io_call *c = arg;
	struct virtio_net *net = c->net;
	int r = net_set_offloads(net, c->offloads);

	if (r && c->offloads)
		pr_warn_ratelimited("%s: cannot set the tap's offloads: %s",
				    net->name, strerror(-r));
	net->active = c->live;
	/* A new life: no wait left over from the last one. */
	net->rx_blocked = net->tx_blocked = net->tx_more = false;
	net_update_events(net);
	free(c);
}

static int net_io_hand_over(struct virtio_net *net, u64 offloads, bool live)
{
	struct net_io_call *c = malloc(sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct net_io_call){ net, offloads, live };
	r = ioloop_call(net->loop, net_io_update, c, false);
	if (r)
		free(c);
	return r;
}

/* DRIVER_OK: vdev.lock held, nobody inside the device; must not block. */
static int net_activate(struct virtio_dev *dev)
{
	struct virtio_net *net = dev->priv;

	net->mrg = virtio_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);
	net->offloads = dev->driver_features & NET_F_GUEST_OFFLOADS;
	net_rx_clear(net);
	return net_io_hand_over(net, net->offloads, true);
}

/* vdev.lock held, nobody inside; a vCPU or the I/O thread. */
static void net_reset(struct virtio_dev *dev)
{
	struct virtio_net *net = dev->priv;

	net_rx_clear(net);
	net->offloads = 0;
	/* A reset forgets a pending announcement, not the link's state. */
	net->config.status &= htole16(VIRTIO_NET_S_LINK_UP);
	if (net_io_hand_over(net, 0, false))
		pr_warn_ratelimited("%s: reset: out of memory", net->name);
}

/* ---- migration ---- */

/*
 * What must match at the destination: the guest keeps its driver's view
 * of the NIC.  The backend is the destination's own (its -n opened it),
 * so a tap's name is not compared; its offloads are, as device features
 * (virtio_load()).
 */
static void net_describe(struct virtio_dev *dev, char *buf, size_t len)
{
	struct virtio_net *net = dev->priv;
	const u8 *m = net->config.mac;

	snprintf(buf, len, "mode=%s mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u",
		 net->be->mode, m[0], m[1], m[2], m[3], m[4], m[5], net->mtu);
}

/*
 * Frames in flight are not state: the chains in the rx cache go back to
 * the ring in the stream (net_unused_chains()), and a frame the backend
 * has not taken yet is still on the tx ring.  What is left is the
 * config's status word, for a pending announcement.
 */
static int net_save(struct virtio_dev *dev, struct state_out *out)
{
	struct virtio_net *net = dev->priv;

	pthread_mutex_lock(&net->vdev.lock);
	state_put_u16(out, le16toh(net->config.status));
	pthread_mutex_unlock(&net->vdev.lock);
	return out->err;
}

/* The rx cache: chains popped in ring order, used from its head. */
static u16 net_unused_chains(struct virtio_dev *dev, unsigned int qidx)
{
	struct virtio_net *net = dev->priv;

	return qidx == NET_RX_QUEUE ? net->rx_nbufs : 0;
}

/* The link is this host's backend's; an announcement carries over. */
static int net_load(struct virtio_dev *dev, struct state_in *in)
{
	struct virtio_net *net = dev->priv;
	u16 st = state_get_u16(in);

	if (in->err)
		return in->err;
	if (st & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE))
		return state_fail(in, "%s: status %#x", net->name, st);
	pthread_mutex_lock(&net->vdev.lock);
	net->config.status = htole16((le16toh(net->config.status) &
				      VIRTIO_NET_S_LINK_UP) |
				     (st & VIRTIO_NET_S_ANNOUNCE));
	pthread_mutex_unlock(&net->vdev.lock);
	return 0;
}

/*
 * The guest now sits behind another port of the network: a driver that
 * negotiated GUEST_ANNOUNCE sends gratuitous ARP and unsolicited NA when
 * asked (virtio 1.2 §5.1.6.5.4), so that switches learn where its MAC
 * went.  A driver without it only sees the link as it is here.
 */
static int net_handover(struct virtio_dev *dev, enum dev_handover step)
{
	struct virtio_net *net = dev->priv;

	if (step == DEV_HANDOVER_RESUMED && net_announce(net))
		virtio_config_changed(dev);
	return 0;
}

/* ---- setup ---- */

int net_start(struct virtio_net *net)
{
	struct epoll_event ev = { .events = 0, .data.u32 = NET_EV_FRAMES };

	if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, net->be->fd, &ev) < 0)
		return -errno;
	net->watching = true;
	if (net->be->aux_fd >= 0) {
		ev = (struct epoll_event){ .events = EPOLLIN,
					   .data.u32 = NET_EV_AUX };
		if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, net->be->aux_fd, &ev) < 0)
			return -errno;
	}
	net->ev = ioloop_add(net->loop, net->epfd, net_io_event, net);
	return net->ev ? 0 : -ENOMEM;
}

void net_stop(struct virtio_net *net)
{
	if (net->be->ops->stop)
		net->be->ops->stop(net->be);
}

static void net_config_init(struct virtio_net *net, const struct net_config *cfg)
{
	struct virtio_net_config *c = &net->config;

	memset(c, 0, sizeof(*c));
	memcpy(c->mac, cfg->mac, ETH_ALEN);
	c->status = htole16(VIRTIO_NET_S_LINK_UP);
	c->max_virtqueue_pairs = htole16(1);
	c->mtu = htole16(net->mtu);
	c->speed = htole32(UINT32_MAX);		/* unknown */
	c->duplex = 0xff;			/* unknown */
}

int net_create(const char *name, struct net_backend *be,
	       const struct net_config *cfg, const struct guest_mem *mem,
	       struct ioloop *loop, struct virtio_net **out)
{
	struct virtio_net *net = calloc(1, sizeof(*net));
	int r = -ENOMEM;

	if (!net)
		goto err_be;
	net->be = be;
	net->loop = loop;
	snprintf(net->name, sizeof(net->name), "%s", name);
	net->mtu = cfg->mtu ? cfg->mtu : be->mtu;
	net->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (net->epfd < 0) {
		r = -errno;
		goto err_free;
	}
	r = virtio_init(&net->vdev, &net_type, mem, net);
	if (r)
		goto err_epoll;
	net->vdev.name = net->name;
	net->vdev.config = &net->config;
	/* §5.1.3.1: the guest-side offloads need the control queue's peers. */
	net->vdev.device_features |= be->features;
	if (be->features & NET_F_GUEST_OFFLOADS)
		net->vdev.device_features |=
			1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS;
	net_config_init(net, cfg);
	*out = net;
	return 0;

err_epoll:
	close(net->epfd);
err_free:
	free(net);
err_be:
	be->ops->destroy(be);
	return r;
}

struct virtio_dev *net_dev(struct virtio_net *net)
{
	return &net->vdev;
}

const char *net_name(const struct virtio_net *net)
{
	return net->name;
}

const struct net_backend *net_backend(const struct virtio_net *net)
{
	return net->be;
}

/* Never changes after net_create(): no lock. */
const u8 *net_mac(const struct virtio_net *net)
{
	return net->config.mac;
}

u16 net_mtu(const struct virtio_net *net)
{
	return net->mtu;
}

static void net_vdestroy(struct virtio_dev *dev)
{
	net_destroy(dev->priv);
}

/* After the I/O thread has stopped: its events go with the loop. */
void net_destroy(struct virtio_net *net)
{
	if (!net)
		return;
	if (net->ev)
		ioloop_del(net->loop, net->ev);
	virtio_exit(&net->vdev);
	close(net->epfd);
	net->be->ops->destroy(net->be);
	free(net);
}

/* ---- --stats ---- */

void net_print_stats(struct virtio_net *net, FILE *f)
{
	struct net_stats s;
	const u8 *m = net->config.mac;

	net_get_stats(net, &s);
	fprintf(f, "  %s: %s%s%s, %02x:%02x:%02x:%02x:%02x:%02x, link %s\n",
		net->name, net->be->mode, *net->be->ifname ? " " : "",
		net->be->ifname, m[0], m[1], m[2], m[3], m[4], m[5],
		net_link_up(net) ? "up" : "down");
	fprintf(f, "  %s: rx %llu frames %llu bytes (%llu TSO, largest %llu), "
		   "tx %llu frames %llu bytes (%llu TSO, largest %llu)\n",
		net->name, (unsigned long long)s.rx_frames,
		(unsigned long long)s.rx_bytes, (unsigned long long)s.rx_gso,
		(unsigned long long)s.rx_max, (unsigned long long)s.tx_frames,
		(unsigned long long)s.tx_bytes, (unsigned long long)s.tx_gso,
		(unsigned long long)s.tx_max);
	fprintf(f, "  %s: rx dropped %llu (short %llu, over 64 KiB %llu, "
		   "bigger than the guest's buffers %llu, offload %llu, "
		   "backend %llu)\n",
		net->name, (unsigned long long)net_rx_dropped(&s),
		(unsigned long long)s.rx_drop_short,
		(unsigned long long)s.rx_drop_big,
		(unsigned long long)s.rx_drop_noroom,
		(unsigned long long)s.rx_drop_offload,
		(unsigned long long)s.rx_drop_error);
	fprintf(f, "  %s: tx dropped %llu (short %llu, too long %llu, "
		   "bad header %llu, backend %llu, link down %llu)\n",
		net->name, (unsigned long long)net_tx_dropped(&s),
		(unsigned long long)s.tx_drop_short,
		(unsigned long long)s.tx_drop_big,
		(unsigned long long)s.tx_drop_hdr,
		(unsigned long long)s.tx_drop_error,
		(unsigned long long)s.tx_drop_down);
	fprintf(f, "  %s: kicks rx %llu tx %llu; interrupts rx %llu tx %llu; "
		   "waits for guest buffers %llu, for the backend %llu\n",
		net->name, (unsigned long long)s.rx_kicks,
		(unsigned long long)s.tx_kicks, (unsigned long long)s.rx_irqs,
		(unsigned long long)s.tx_irqs,
		(unsigned long long)s.rx_wait_bufs,
		(unsigned long long)s.tx_wait_backend);
}

/* ---- parsing ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly six pairs of hex digits, separated by colons. */
int net_parse_mac(const char *s, u8 mac[ETH_ALEN])
{
	unsigned int i;
	int hi, lo;

	if (strlen(s) != 3 * ETH_ALEN - 1)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++) {
		hi = hex_digit(s[3 * i]);
		lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < ETH_ALEN - 1 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (u8)(hi << 4 | lo);
	}
	/* A NIC's own address is unicast (bit 0 of the first octet clear). */
	if (mac[0] & 1)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN && !mac[i]; i++)
		;
	return i == ETH_ALEN ? -EINVAL : 0;
}
