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

#endif
