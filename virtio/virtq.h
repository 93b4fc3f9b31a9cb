/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The split virtqueue (virtio 1.2 §2.7), seen from the device side.
 *
 * A virtqueue is three areas in guest memory that the driver (the guest)
 * and the device (us) share: a descriptor table, an available ring the
 * driver writes, and a used ring the device writes.  All of it is under the
 * guest's control, so every index and address read from it is checked
 * before use, and a violation leaves the queue "broken" instead of crashing
 * the VMM or touching memory outside guest RAM.
 *
 * A struct virtq is owned by one thread at a time (the I/O thread); the
 * device core (virtio.c) makes sure reset and activation do not race it.
 */
#ifndef LKVM_VIRTQ_H
#define LKVM_VIRTQ_H

#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "kvm/types.h"
#include "kvm/mem.h"

/* virtio 1.2 §2.7: "The maximum Queue Size value is 32768." */
#define VIRTQ_MAX_SIZE 32768

struct virtq {
	const struct guest_mem *mem;
	u16 size;		/* power of 2, 1..VIRTQ_MAX_SIZE */
	u64 desc_gpa;
	u64 avail_gpa;
	u64 used_gpa;

	/* Host views of the three areas, checked once by virtq_init(). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	u16 last_avail_idx;	/* next avail ring entry we will consume */
	u16 avail_idx;		/* last avail->idx we read (a cache) */
	u16 used_idx;		/* our copy of used->idx: only we write it */
	u16 signalled_used;	/* used_idx when we last decided to interrupt */

	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;		/* the guest broke the rules; stop touching it */
	const char *broken_reason;
};

/*
 * One descriptor chain popped from the available ring.  The caller's iovec
 * array holds the device-readable segments first (iov[0 .. nr_out)), then
 * the device-writable ones (iov[nr_out .. nr_out + nr_in)): virtio 1.2
 * §2.7.4.2 requires that order, and virtq_pop() enforces it.
 */
struct virtq_chain {
	u16 head;		/* the id to hand back to virtq_push() */
	unsigned int nr_out;	/* device-readable (driver -> device) */
	unsigned int nr_in;	/* device-writable (device -> driver) */
	u64 out_len;		/* bytes in the readable segments */
	u64 in_len;		/* bytes in the writable segments */
};

/*
 * Check the queue layout the driver configured and bind it to guest memory.
 * @features are the negotiated feature bits (only the ring bits matter).
 * Returns 0, or -EINVAL for a bad size, a misaligned area or an area not
 * entirely inside guest RAM.  Indices start at 0 (the state after reset).
 */
int virtq_init(struct virtq *vq, const struct guest_mem *mem, u16 size,
	       u64 desc_gpa, u64 avail_gpa, u64 used_gpa, u64 features);

/* Restore ring indices, e.g. after migration or in tests. */
void virtq_set_state(struct virtq *vq, u16 last_avail_idx, u16 used_idx);

/*
 * Take the next available chain.  Fills @iov (at most @max_iov entries)
 * and @chain.  Returns 0, -EAGAIN if the ring is empty, or another negative
 * errno if the guest broke the ring rules; the queue is then broken and
 * every later call fails with -EIO.
 */
int virtq_pop(struct virtq *vq, struct iovec *iov, unsigned int max_iov,
	      struct virtq_chain *chain);

/*
 * Put back the chain the last virtq_pop() returned, unserved (the device
 * stopped before it could finish it): the next pop returns it again.
 * Only right after that pop, with no push in between.
 */
void virtq_unpop(struct virtq *vq);

/*
 * Return chain @head to the driver with @len bytes written into its
 * writable part, and publish it (used->idx).  0, or -EIO if broken.
 */
int virtq_push(struct virtq *vq, u16 head, u32 len);

/* One used element for virtq_push_n(). */
struct virtq_used {
	u16 head;
	u32 len;
};

/*
 * Return @n chains at once: their used elements are written first and
 * published together, with one update of used->idx.  A frame that spans
 * several receive buffers (virtio-net's MRG_RXBUF, virtio 1.2 §5.1.6.4)
 * needs this: the driver reads num_buffers in the first and expects all
 * of them to be there.  0, -EIO if broken, -EINVAL for a bad head or
 * more than the queue holds (nothing is pushed then).
 */
int virtq_push_n(struct virtq *vq, const struct virtq_used *used,
		 unsigned int n);

/*
 * Whether the driver wants a used buffer notification for what was pushed
 * since the last call (virtio 1.2 §2.7.7).  Call after one or more pushes,
 * also once the queue broke: what was used before is still owed a signal.
 */
bool virtq_should_interrupt(struct virtq *vq);

#endif
