/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A queue's doorbell, as both transports have it: an eventfd that KVM
 * signals when the guest kicks the queue (an ioeventfd the transport
 * registers on its own address), or that the transport signals itself
 * when KVM took no ioeventfd.  The I/O thread serves it: it runs the
 * device's queue processing (virtio_queue_notify()), and rings the
 * doorbell again when a bounded batch left work, so that the queue is
 * served again after the other events epoll has ready.
 */
#ifndef LKVM_VIRTIO_DOORBELL_H
#define LKVM_VIRTIO_DOORBELL_H

#include "kvm/ioloop.h"
#include "virtio/virtio.h"

struct virtio_doorbell {
	struct virtio_dev *dev;
	unsigned int qidx;
	int fd;			/* -1 until init, and after fini */
	struct io_event *ev;
};

/* Mark @db unset, so that fini is safe before (or without) init. */
void virtio_doorbell_clear(struct virtio_doorbell *db);
/*
 * Make the eventfd and serve it on @loop (before the I/O thread starts).
 * 0 or -errno; on failure fini cleans up what was made.
 */
int virtio_doorbell_init(struct virtio_doorbell *db, struct ioloop *loop,
			 struct virtio_dev *dev, unsigned int qidx);
/* Kick the queue, as a guest write KVM caught would. */
void virtio_doorbell_ring(struct virtio_doorbell *db);
/* Stop serving it and close the eventfd (its ioeventfd already gone). */
void virtio_doorbell_fini(struct virtio_doorbell *db, struct ioloop *loop);

#endif
