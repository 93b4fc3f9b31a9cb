/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_NET_PASST_H
#define LKVM_VIRTIO_NET_PASST_H

#include <netinet/in.h>

#include "virtio/net.h"

/* passt's default MTU: the largest 802.3 payload, in 4-byte words. */
#define PASST_MTU 65520
/* passt drops frames longer than ETH_MAX_MTU (tap.c). */
#define PASST_FRAME_MAX 65535

/* One hostfwd=: a host port that reaches a guest port. */
struct net_fwd {
	bool udp;
	struct in_addr addr;	/* INADDR_ANY: every address */
	u16 host_port;
	u16 guest_port;
};

/*
 * QEMU's hostfwd=: "tcp|udp:[HOSTADDR]:HOSTPORT-[:]GUESTPORT", the host
 * address optional (as is the colon before the port without it).  0, or
 * -EINVAL with the reason in @err.
 */
int net_parse_hostfwd(const char *s, struct net_fwd *f, char *err,
		      size_t len);

/*
 * Start passt for one NIC, connected to us by a socketpair (its --fd),
 * with @mtu for DHCP/NDP and the forwards.  0 and *be, or -errno with
 * one line for the user in @err (-ENOENT: passt is not installed).
 */
int net_passt_open(u16 mtu, const struct net_fwd *fwd, unsigned int nr_fwd,
		   struct net_backend **be, char *err, size_t len);

/*
 * The same framing over @fd, a connected stream socket, with no process
 * behind it: for tests.  Owns @fd.
 */
int net_stream_open(int fd, u16 mtu, struct net_backend **be);

#endif
