/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-net (virtio 1.2 §5.1): a NIC for the guest, backed by a tap on
 * the host (virtio/net-tap.c) or by passt, user-mode networking without
 * root (virtio/net-passt.c).  Its module, virtio/net-module.c, parses
 * `-n` and puts the devices on the VM's transport.
 *
 * The device has a receive queue, a transmit queue and a control queue
 * (one queue pair, §5.1.2).  All frame I/O runs on the I/O thread: queue
 * kicks arrive there from the transport, and the backend's fd is watched
 * from there too, through an epoll set of the device's own that sits in
 * the I/O loop (so the device can ask for EPOLLOUT, and stop asking for
 * EPOLLIN while the guest has no buffers, without a busy loop).
 *
 * Frames go between the backend and guest memory without a copy: readv
 * straight into the guest's receive buffers, writev straight from its
 * transmit buffers.
 */
#ifndef LKVM_VIRTIO_NET_H
#define LKVM_VIRTIO_NET_H

#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include "kvm/device.h"
#include "kvm/ioloop.h"
#include "kvm/mem.h"
#include "virtio/virtio.h"

/*
 * §5.1.6: with VIRTIO_F_VERSION_1 every buffer starts with this 12-byte
 * header (num_buffers included, MRG_RXBUF or not).
 */
#define NET_HDR_LEN sizeof(struct virtio_net_hdr_v1)
/* An 802.1Q tag adds 4 bytes to the Ethernet header. */
#define NET_VLAN_HLEN 4
/*
 * The largest frame we carry: a 64 KiB packet (what TSO/GSO produces at
 * most) behind an Ethernet header with one VLAN tag.  A frame longer than
 * this, or shorter than an Ethernet header, is dropped and counted.
 */
#define NET_FRAME_MAX (64 * 1024 + ETH_HLEN + NET_VLAN_HLEN)
#define NET_FRAME_MIN ETH_HLEN

#define NET_QUEUE_SIZE 256	/* rx and tx */
#define NET_CTRL_QUEUE_SIZE 64
#define NET_RX_QUEUE 0
#define NET_TX_QUEUE 1
#define NET_CTRL_QUEUE 2	/* §5.1.2: 2N with N = 1 queue pair */

/* The offloads a backend can take: VIRTIO_NET_F_* bits. */
#define NET_F_HOST_OFFLOADS                                             \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) | \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN))
#define NET_F_GUEST_OFFLOADS                                              \
	((1ULL << VIRTIO_NET_F_GUEST_CSUM) |                              \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) |                              \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN))

/* ---- backends ---- */

struct net_backend;

/*
 * What the device asks of a backend.  Every call but stop() and destroy()
 * comes from the I/O thread, and none may block.
 */
struct net_backend_ops {
	/*
	 * The length of the next frame (without a virtio header) if the
	 * backend knows it before reading the frame (a stream says it
	 * first), 0 if it does not (a tap: read and see), -EAGAIN if
	 * nothing is pending, or -EPIPE if the backend is gone.
	 */
	ssize_t (*rx_peek)(struct net_backend *be);
	/*
	 * Receive the next frame into @iov[0 .. @n): a virtio-net header
	 * (the tap's own with IFF_VNET_HDR, else zeroes), then the frame.
	 * Returns header plus frame length, also when that is more than
	 * @iov holds (the excess was discarded; the caller drops the
	 * frame); -EAGAIN when no whole frame is there yet (a stream may
	 * have put part of one in @iov: call again with the same buffers);
	 * -EPIPE if the backend is gone; another -errno for a lost frame.
	 */
	ssize_t (*recv)(struct net_backend *be, const struct iovec *iov,
			unsigned int n);
	/*
	 * The buffers a partly received frame was going into are gone
	 * (device reset): skip the rest of it.  Optional.  Called with the
	 * I/O thread outside the device, maybe from a vCPU thread.
	 */
	void (*rx_abort)(struct net_backend *be);
	/*
	 * Send one frame: @hdr, then @len bytes of @iov[0 .. @n).  0 when
	 * it is sent (or buffered, see out_pending), -EAGAIN when the
	 * backend cannot take it now (try again when its fd is writable),
	 * -EPIPE if the backend is gone, another -errno if it refused this
	 * frame.
	 */
	int (*send)(struct net_backend *be, const struct virtio_net_hdr_v1 *hdr,
		    const struct iovec *iov, unsigned int n, size_t len);
	/*
	 * Write out what send() buffered: 0 when done, -EAGAIN, -EPIPE.
	 * Optional (for backends that never set out_pending).
	 */
	int (*flush)(struct net_backend *be);
	/*
	 * From now on the guest takes these offloads (TUN_F_* flags) in
	 * received frames.  Optional: a backend whose features have no
	 * VIRTIO_NET_F_GUEST_* bit never sends any.
	 */
	int (*set_offloads)(struct net_backend *be, unsigned int tun_flags);
	/* aux_fd became readable.  False: stop watching it (it ended). */
	bool (*aux_event)(struct net_backend *be);
	/* Why the backend is gone, for a one-line message. */
	void (*why_gone)(struct net_backend *be, char *buf, size_t len);
	/* The VM has ended: stop helper processes.  Main thread.  Optional. */
	void (*stop)(struct net_backend *be);
	/* Free everything, stop() included.  Main thread or never started. */
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *mode;	/* "tap", "user": for messages and list */
	char ifname[IFNAMSIZ];	/* the tap's name, or "" */
	int fd;			/* frames; non-blocking */
	int aux_fd;		/* another fd to watch, or -1 */
	u64 features;		/* NET_F_HOST_OFFLOADS, NET_F_GUEST_OFFLOADS bits */
	u16 mtu;		/* the MTU the guest should use by default */
	u32 frame_max;		/* the longest frame it carries */
	bool out_pending;	/* send() buffered output: watch for EPOLLOUT */
};

/* ---- the device ---- */

struct virtio_net;

struct net_config {
	u8 mac[ETH_ALEN];
	u16 mtu;		/* 0: the backend's */
};

/* What --stats and `lkvm list --json` show.  Read with net_get_stats(). */
struct net_stats {
	u64 rx_frames, rx_bytes, tx_frames, tx_bytes;
	u64 rx_gso, tx_gso;		/* frames with TSO/GSO segments */
	u64 rx_max, tx_max;		/* longest frame, header excluded */
	/* Dropped frames, by reason. */
	u64 rx_drop_short;	/* shorter than an Ethernet header */
	u64 rx_drop_big;	/* longer than NET_FRAME_MAX */
	u64 rx_drop_noroom;	/* longer than the guest's buffers */
	u64 rx_drop_offload;	/* an offload the guest did not accept */
	u64 rx_drop_error;	/* the backend lost it */
	u64 tx_drop_short;	/* header or Ethernet header cut short */
	u64 tx_drop_big;	/* longer than the backend carries */
	u64 tx_drop_hdr;	/* a header asking for what was not negotiated */
	u64 tx_drop_error;	/* the backend refused it */
	u64 tx_drop_down;	/* the link was down */
	/* Flow control: how often each side had to wait for the other. */
	u64 rx_wait_bufs;	/* frames waited for guest buffers */
	u64 tx_wait_backend;	/* frames waited for the backend */
	u64 rx_kicks, tx_kicks;
	/* Interrupts signalled (virtio_signal()): EVENT_IDX holds some back. */
	u64 rx_irqs, tx_irqs;
};

/*
 * Create a NIC named @name ("eth0") over @be, which it owns from here
 * (also on failure).  Its frames flow on @loop, from net_start() on.
 */
int net_create(const char *name, struct net_backend *be,
	       const struct net_config *cfg, const struct guest_mem *mem,
	       struct ioloop *loop, struct virtio_net **net);
/* The generic device, for a transport to expose. */
struct virtio_dev *net_dev(struct virtio_net *net);
const char *net_name(const struct virtio_net *net);
const struct net_backend *net_backend(const struct virtio_net *net);
/* Its MAC address and MTU, as the guest is told them. */
const u8 *net_mac(const struct virtio_net *net);
u16 net_mtu(const struct virtio_net *net);
/* Watch the backend from the I/O loop.  Before the loop starts. */
int net_start(struct virtio_net *net);
/* The VM has ended (the I/O thread too): stop the backend's helpers. */
void net_stop(struct virtio_net *net);
/* Free it; the transport must have let go. */
void net_destroy(struct virtio_net *net);

/*
 * Ask the guest to announce itself (VIRTIO_NET_S_ANNOUNCE, §5.1.6.5.4):
 * after migration, so switches learn where its MAC went.  -EOPNOTSUPP if
 * the driver did not accept VIRTIO_NET_F_GUEST_ANNOUNCE.
 */
int net_announce(struct virtio_net *net);
bool net_link_up(struct virtio_net *net);

/* A consistent-enough copy of the counters, from any thread. */
void net_get_stats(struct virtio_net *net, struct net_stats *s);
u64 net_rx_dropped(const struct net_stats *s);
u64 net_tx_dropped(const struct net_stats *s);
/* The --stats lines, each starting with "  ". */
void net_print_stats(struct virtio_net *net, FILE *f);

/*
 * The I/O loop's event for the device's epoll set: the backend's fd is
 * readable or writable.  Exposed for tests, which have no running loop.
 */
void net_poll(struct virtio_net *net);

/* ---- parsing, shared by the module and the tests ---- */

/* "02:00:00:00:00:01": 0, or -EINVAL (also for multicast or all-zero). */
int net_parse_mac(const char *s, u8 mac[ETH_ALEN]);

/* -n: the device table's entry (builtin-cmds/run-devices.c). */
extern const struct dev_module net_module;

#endif
