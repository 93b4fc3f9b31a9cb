/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2): puts a struct
 * virtio_dev in a page of guest physical memory with one wired interrupt,
 * where the arch chose and described them (x86: an LNRO0005 device in the
 * DSDT, which Linux's virtio_mmio driver binds through ACPI).
 *
 * The trade against virtio-pci: no bus to enumerate, no BARs to size and
 * no MSI-X table to program, so a guest finds its devices sooner; but one
 * interrupt per device, which the guest's handler answers with two
 * register accesses (InterruptStatus, InterruptACK), each a VM exit, where
 * MSI-X needs none.  Queue doorbells are ioeventfds on the I/O thread,
 * matched by the queue index written to QueueNotify.
 */
#ifndef LKVM_VIRTIO_MMIO_H
#define LKVM_VIRTIO_MMIO_H

#include "virtio/virtio.h"

struct vm;
struct virtio_mmio;
struct state_out;
struct state_in;

/*
 * Put @dev on a virtio-mmio window of its own (arch_virtio_mmio_add()).
 * Call before the I/O thread starts.  On success the transport owns
 * dev->transport and dev->notify_guest.
 */
int virtio_mmio_add(struct vm *vm, struct virtio_dev *dev,
		    struct virtio_mmio **vm_out);

/*
 * Migration, as for virtio-pci: the transport's registers, then the
 * device (virtio_save()); resumed() re-kicks every queue and raises the
 * interrupt once, so that nothing in flight at the switch-over is lost.
 */
int virtio_mmio_save(struct virtio_mmio *vmm, struct state_out *out);
int virtio_mmio_load(struct virtio_mmio *vmm, struct state_in *in);
void virtio_mmio_resumed(struct virtio_mmio *vmm);

/* Free the transport, once vCPUs and the I/O thread have stopped. */
void virtio_mmio_destroy(struct virtio_mmio *vmm);

#endif
