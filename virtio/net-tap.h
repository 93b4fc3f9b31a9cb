/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_NET_TAP_H
#define LKVM_VIRTIO_NET_TAP_H

#include "virtio/net.h"

/*
 * Attach to tap @name, creating it if it does not exist ("" lets the
 * kernel pick tapN), then run @script with its name (NULL or "none": no
 * script).  0 and *be, or -errno with one line for the user in @err.
 */
int net_tap_open(const char *name, const char *script,
		 struct net_backend **be, char *err, size_t len);

/*
 * A tap backend over @fd, already attached (with IFF_VNET_HDR and a
 * 12-byte header if @vnet): for tests, which pass a SOCK_SEQPACKET
 * socket, as frames keep their boundaries there too.  Owns @fd.
 */
int net_tap_open_fd(int fd, bool vnet, const char *name,
		    struct net_backend **be);

#endif
