/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio device core: what every virtio device has in common, whatever
 * the transport (virtio 1.2 §2 "Basic Facilities of a Virtio Device").
 *
 * Three parties meet here:
 *   - a device type (blk, net, ...) is a const struct virtio_dev_type: its
 *     queues, features, config space and callbacks.  It never sees the
 *     transport.
 *   - a transport (virtio-pci on x86, virtio-mmio on arm64) turns guest
 *     register accesses into the virtio_*() calls below, and provides
 *     notify_guest() to raise an interrupt.
 *   - the core keeps the generic state (status, features, queues) and
 *     enforces the spec's rules on it.
 *
 * Threads: register accesses (status, features, queue setup, config) come
 * from vCPU threads; queue notifications and all queue processing happen on
 * the one I/O thread.  dev->lock serialises the former.  vCPU threads never
 * block on device I/O, so a reset does not wait for the I/O thread: if it
 * is inside the device (virtio_enter()/virtio_leave()), the reset stays
 * pending, device_status keeps reading non-zero, and the I/O thread does
 * the reset as it leaves.  Devices check virtio_running() between requests
 * (and between chunks of a long one), so that comes soon.  The one
 * exception is virtio-mmio, whose driver does not poll device_status after
 * a reset: there the vCPU waits for it, bounded (virtio_reset_wait()).
 */
#ifndef LKVM_VIRTIO_H
#define LKVM_VIRTIO_H

#include <pthread.h>
#include <linux/virtio_config.h>

#include "kvm/device.h"
#include "kvm/mem.h"
#include "kvm/types.h"
#include "virtio/virtq.h"

/* notify_guest()'s "queue" for a configuration change notification. */
#define VIRTIO_NOTIFY_CONFIG (-1)

/*
 * Features every device offers (virtio 1.2 §6).  VIRTIO_F_ACCESS_PLATFORM
 * is never offered: we have no IOMMU, addresses are guest physical.
 */
#define VIRTIO_CORE_FEATURES                                        \
	((1ULL << VIRTIO_F_VERSION_1) |                             \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) |                        \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

struct virtio_dev;

struct virtio_dev_type {
	const char *name;
	u32 device_id;			/* VIRTIO_ID_* */
	unsigned int nr_queues;
	u16 queue_max_size;		/* power of 2, <= VIRTQ_MAX_SIZE */
	u64 features;			/* device-specific features offered */
	u32 config_size;		/* bytes of device config space */

	/*
	 * Config space access, called with dev->lock held.  Optional: the
	 * default reads dev->config and refuses writes.  @off and @len are
	 * already checked against config_size.
	 */
	int (*read_config)(struct virtio_dev *dev, u32 off, void *buf, u32 len);
	int (*write_config)(struct virtio_dev *dev, u32 off, const void *buf,
			    u32 len);
	/* DRIVER_OK: queues are set up.  dev->lock held; must not block. */
	int (*activate)(struct virtio_dev *dev);
	/*
	 * Back to the initial state.  dev->lock held, nobody inside the
	 * device; on a vCPU thread or the I/O thread.  Must not block.
	 */
	void (*reset)(struct virtio_dev *dev);
	/*
	 * The driver kicked queue @qidx.  I/O thread, inside enter/leave.
	 * Serve a bounded batch (about the queue size) and return true if
	 * work may be left: one busy queue must not starve other devices.
	 */
	bool (*queue_notify)(struct virtio_dev *dev, unsigned int qidx);
	/*
	 * Free the device (virtio_exit() included), once the transport has
	 * let go of it: virtio_transport_add() hands the device to the VM,
	 * which calls this when it is destroyed.
	 */
	void (*destroy)(struct virtio_dev *dev);
	/*
	 * Migration: the device's identity, its own state, and its part in
	 * the hand-over, as in kvm/device.h (which says when each runs).
	 * The core saves status, features, config generation and the
	 * queues; the transport its registers and MSI-X.  save and load are
	 * required for the device to migrate; the others are optional.
	 */
	void (*describe)(struct virtio_dev *dev, char *buf, size_t len);
	int (*save)(struct virtio_dev *dev, struct state_out *out);
	int (*load)(struct virtio_dev *dev, struct state_in *in);
	int (*handover)(struct virtio_dev *dev, enum dev_handover step);
	/*
	 * Optional, at save (the device quiet): how many chains of queue
	 * @qidx the device has popped and not used, all of them popped
	 * after every chain it used (receive buffers taken ahead of need).
	 * The stream gives them back to the ring, so the destination pops
	 * them again instead of losing them; the source keeps them, in case
	 * it runs on.
	 */
	u16 (*unused_chains)(struct virtio_dev *dev, unsigned int qidx);
};

/* Per-queue state (virtio 1.2 §2.6), as the driver configured it. */
struct virtio_queue {
	u16 size;
	bool enabled;
	u64 desc_gpa;
	u64 avail_gpa;
	u64 used_gpa;
	struct virtq vq;	/* valid while the device is live */
	void *transport;	/* the transport's per-queue data (MSI-X...) */
};

/* A copy of what the driver set up for a queue, for register reads. */
struct virtio_queue_setup {
	u16 size;
	bool enabled;
	u64 desc_gpa;
	u64 avail_gpa;
	u64 used_gpa;
};

enum virtio_queue_area {
	VIRTIO_QUEUE_DESC,
	VIRTIO_QUEUE_AVAIL,
	VIRTIO_QUEUE_USED,
};

struct virtio_dev {
	const struct virtio_dev_type *type;
	const struct guest_mem *mem;
	const char *name;		/* for messages; type->name by default */
	void *priv;			/* the device's own state */
	void *config;			/* config space, if no read_config */

	pthread_mutex_t lock;
	u64 device_features;
	u64 driver_features;
	u8 status;
	u8 config_generation;
	bool live;			/* DRIVER_OK and not failed or reset */
	bool dma_off;			/* the bus forbids DMA (atomic) */
	unsigned int busy;		/* threads inside the device (enter) */
	bool reset_pending;		/* the last one to leave resets */
	pthread_cond_t reset_cond;	/* broadcast when a reset completes */
	bool failure_logged;
	struct virtio_queue *queues;	/* type->nr_queues of them */

	/* Set by the transport before the guest can see the device. */
	void *transport;
	int (*notify_guest)(struct virtio_dev *dev, int qidx_or_config);
	/*
	 * Optional: a reset has just completed (dev->lock held; on a vCPU or
	 * the I/O thread).  The transport drops interrupt state raised
	 * before it, such as a completion the I/O thread pushed after the
	 * driver asked for the reset.
	 */
	void (*reset_done)(struct virtio_dev *dev);
};

/* ---- for devices ---- */

/*
 * device_features starts as type->features | VIRTIO_CORE_FEATURES; the
 * device may add instance-specific bits (e.g. read-only) before handing
 * the device to a transport.
 */
int virtio_init(struct virtio_dev *dev, const struct virtio_dev_type *type,
		const struct guest_mem *mem, void *priv);
void virtio_exit(struct virtio_dev *dev);

bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit);
struct virtq *virtio_vq(struct virtio_dev *dev, unsigned int qidx);
/*
 * False once a reset or a failure asks the device to stop processing, and
 * while the transport forbids DMA.
 */
bool virtio_running(struct virtio_dev *dev);
/*
 * Interrupt the driver for queue @qidx if the ring asks for it: 1 if the
 * interrupt was signalled (MSI-X may still hold it pending, its vector
 * masked), 0 if the ring did not ask for one, or -errno.
 */
int virtio_signal(struct virtio_dev *dev, unsigned int qidx);
/*
 * The guest broke queue @qidx (@err from virtq_pop()): stop the device and
 * set DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2).  Logged once per device.
 */
void virtio_fail(struct virtio_dev *dev, unsigned int qidx, int err);
/* The device changed its config space (virtio 1.2 §2.5.1). */
int virtio_config_changed(struct virtio_dev *dev);

/*
 * For device code on the I/O thread outside queue_notify (e.g. a tap fd
 * became readable): returns false if the device is not live or may not
 * DMA; otherwise the caller processes and then calls virtio_leave().
 */
bool virtio_enter(struct virtio_dev *dev);
void virtio_leave(struct virtio_dev *dev);

/* ---- for transports (vCPU threads unless said otherwise) ---- */

/* 32-bit halves selected by @sel (0: bits 0-31, 1: bits 32-63). */
u32 virtio_get_device_features(struct virtio_dev *dev, unsigned int sel);
u32 virtio_get_driver_features(struct virtio_dev *dev, unsigned int sel);
void virtio_set_driver_features(struct virtio_dev *dev, unsigned int sel,
				u32 val);

/* Non-zero until a reset the driver asked for is complete (§2.4). */
u8 virtio_get_status(struct virtio_dev *dev);
/*
 * Writing 0 resets the device (see virtio_reset()).  Otherwise status bits
 * only accumulate: FEATURES_OK sticks only if the driver's features are
 * acceptable, and DRIVER_OK brings the device live.  Returns 0, -EINVAL
 * if the write was (partly) refused, or -EBUSY while a reset is pending;
 * the transport need not act on it.
 */
int virtio_set_status(struct virtio_dev *dev, u8 status);
/*
 * Stop the device and reset it, now or, if the I/O thread is inside it,
 * as soon as it leaves.  Never waits.
 */
void virtio_reset(struct virtio_dev *dev);
/*
 * The same, for a transport whose driver does not poll status after a
 * reset (virtio-mmio: Linux writes 0 and goes on): wait, up to
 * @timeout_ms, for the I/O thread to leave the device (it stops between
 * requests, so soon).  0 once the reset is complete, or -ETIMEDOUT with
 * it still pending.
 */
int virtio_reset_wait(struct virtio_dev *dev, unsigned int timeout_ms);
/*
 * May the device reach guest memory (PCI: Bus Master Enable)?  While not,
 * queues are not processed: the I/O thread stops between requests and
 * ignores notifications.  The transport must notify every queue again
 * when DMA comes back.  Not part of the device's status: a reset keeps it.
 */
void virtio_set_dma(struct virtio_dev *dev, bool allowed);

u8 virtio_get_config_generation(struct virtio_dev *dev);
int virtio_config_read(struct virtio_dev *dev, u32 off, void *buf, u32 len);
int virtio_config_write(struct virtio_dev *dev, u32 off, const void *buf,
			u32 len);

/*
 * Queue setup.  Change it only through these, which refuse changes once
 * the queue is enabled or the device is live (-EBUSY), and bad values
 * (-EINVAL).  Read it with virtio_queue_get_setup(): a reset the I/O
 * thread completes clears it under dev->lock.
 */
unsigned int virtio_nr_queues(const struct virtio_dev *dev);
struct virtio_queue *virtio_queue(struct virtio_dev *dev, unsigned int qidx);
/* False if there is no queue @qidx. */
bool virtio_queue_get_setup(struct virtio_dev *dev, unsigned int qidx,
			    struct virtio_queue_setup *s);
int virtio_queue_set_size(struct virtio_dev *dev, unsigned int qidx, u16 size);
int virtio_queue_set_addr(struct virtio_dev *dev, unsigned int qidx,
			  enum virtio_queue_area area, u64 gpa);
int virtio_queue_set_enabled(struct virtio_dev *dev, unsigned int qidx,
			     bool enabled);

/*
 * Migration (transports only): the core's state, then the type's.  Both
 * with the device quiet (no thread inside it; kvm/device.h).  load()
 * checks what it reads and binds live queues to guest memory again.
 */
int virtio_save(struct virtio_dev *dev, struct state_out *out);
int virtio_load(struct virtio_dev *dev, struct state_in *in);

/*
 * The driver kicked queue @qidx.  Call on the I/O thread only.  Returns
 * true if the device stopped with work left: the transport must notify
 * again later, as the driver may not (with EVENT_IDX it kicks only past
 * the avail_event we last published, §2.7.10).
 */
bool virtio_queue_notify(struct virtio_dev *dev, unsigned int qidx);

#endif
