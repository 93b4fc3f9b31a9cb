/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM's virtio devices, created from its configuration (-d disks) and
 * put on the PCI bus.  Architecture-neutral: the arch code calls these
 * once its bus exists.
 */
#ifndef LKVM_VIRTIO_DEVICES_H
#define LKVM_VIRTIO_DEVICES_H

struct vm;

/* Open every -d image and add a virtio-blk-pci for it; says why on error. */
int virtio_devices_init(struct vm *vm);
/* After vCPUs and the I/O thread have stopped. */
void virtio_devices_destroy(struct vm *vm);

#endif
