/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The modern virtio-pci transport (virtio 1.2 §4.1): puts a struct
 * virtio_dev on the VM's PCI bus.  The device model never sees any of it.
 *
 * What the guest sees: vendor 0x1af4, device 0x1040 + virtio device id,
 * revision 1; BAR0 holds the common, ISR, device-config and notify
 * structures (found through vendor capabilities), BAR1 the MSI-X table
 * and PBA.  Queue notifications are ioeventfds on the I/O thread;
 * interrupts are MSI-X only (no INTx pin).
 */
#ifndef LKVM_VIRTIO_PCI_H
#define LKVM_VIRTIO_PCI_H

#include "virtio/virtio.h"

struct vm;
struct virtio_pci;

/*
 * Put @dev on vm->pci.  Call before the I/O thread starts (it registers
 * the queue eventfds with the I/O loop).  On success the transport owns
 * dev->transport and dev->notify_guest.
 */
int virtio_pci_add(struct vm *vm, struct virtio_dev *dev,
		   struct virtio_pci **vp);

/*
 * Migration: the function's config space, the transport's registers,
 * MSI-X, then the device (virtio_save()).  resumed() runs on the
 * destination once the I/O thread runs: it re-kicks every queue and
 * re-raises every queue's vector, so that neither a doorbell nor an
 * interrupt in flight at the switch-over is lost (both are harmless when
 * nothing was: virtio 1.2 §2.7.10, and drivers check the used ring).
 */
struct state_out;
struct state_in;
int virtio_pci_save(struct virtio_pci *vp, struct state_out *out);
int virtio_pci_load(struct virtio_pci *vp, struct state_in *in);
void virtio_pci_resumed(struct virtio_pci *vp);

/*
 * Free the transport's host resources.  Only once vCPUs and the I/O thread
 * have stopped: the PCI bus keeps no way to unplug a device.
 */
void virtio_pci_destroy(struct virtio_pci *vp);

#endif
