/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching a virtio device to a VM: one call, and the platform decides
 * the transport.  A device never sees the VM; its module hands the device
 * here, with its guest memory already given to virtio_init().
 *
 * The transport is virtio-pci (virtio/pci.h) unless the command line asks
 * for virtio-mmio (virtio/mmio.h: `--virtio-transport mmio`), which finds
 * its room through the arch (arch_virtio_mmio_add()).
 */
#ifndef LKVM_VIRTIO_TRANSPORT_H
#define LKVM_VIRTIO_TRANSPORT_H

#include "virtio/virtio.h"

struct vm;

/*
 * Put @dev on the platform's transport and make it one of the VM's
 * devices, named @name for messages.  The VM owns @dev from here, even on
 * failure: it is destroyed through dev->type->destroy with the VM (or at
 * once, if it could not be added at all).  Call before the VM runs.
 */
int virtio_transport_add(struct vm *vm, struct virtio_dev *dev,
			 const char *name);

#endif
