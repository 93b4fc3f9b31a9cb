// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * A virtio-mmio device is one page of registers and one interrupt line,
 * found by the guest in the platform's firmware tables (never probed).
 * The registers, all 32-bit and at fixed offsets (<linux/virtio_mmio.h>):
 *
 *	0x000	identity: magic "virt", version 2, device id, vendor id
 *	0x010	feature negotiation, 32 bits at a time through a selector
 *	0x030	queue setup: QueueSel selects, the rest act on that queue
 *	0x050	QueueNotify: the driver writes a queue's index to kick it
 *	0x060	InterruptStatus / InterruptACK: why the line was raised
 *	0x070	Status, then the ring addresses, and 0x0fc ConfigGeneration
 *	0x100	the device's configuration space (any width)
 *
 * Threads.  Register accesses come from vCPU threads (MMIO exits) and
 * become virtio_*() calls on the device core, as in virtio/pci.c.  A kick
 * never exits to lkvm: each queue has an eventfd that KVM signals when the
 * guest writes that queue's index to QueueNotify (an ioeventfd with a data
 * match), served by the I/O thread.
 *
 * Interrupts.  The device sets an InterruptStatus bit, then pulses its
 * line through an irqfd (an edge: the arch describes the line as
 * edge-triggered).  The guest's handler reads InterruptStatus, writes the
 * bits back to InterruptACK, then looks at the used rings.  No event is
 * lost: the device writes the used ring before it sets the bit, and the
 * guest looks at the ring after it acked, so either it sees the buffer or
 * the bit is set again and another edge follows.
 *
 * Locks.  vmm->lock serialises the selector registers.  The I/O thread
 * only touches InterruptStatus (an atomic) and the irqfd.
 *
 * Not implemented: stopping one queue of a live device (QueueReady 0
 * after DRIVER_OK reads back 1; Linux writes it only after a reset),
 * queue reset and shared memory regions (not offered), and the legacy
 * version 1 registers.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_mmio.h>

#include "kvm/irq.h"
#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "kvm/vm.h"
#include "virtio/doorbell.h"
#include "virtio/mmio.h"

/* §4.2.2: "virt" in little-endian, and the non-legacy version. */
#define VMMIO_MAGIC 0x74726976
#define VMMIO_VERSION 2
/* Ours, as kvmtool's: "LKVM" in little-endian.  Drivers ignore it. */
#define VMMIO_VENDOR 0x4d564b4c
/* One page per device; the arch spaces windows that far apart. */
#define VMMIO_SIZE 0x1000
#define VMMIO_CONFIG_MAX (VMMIO_SIZE - VIRTIO_MMIO_CONFIG)
/* How long a vCPU waits at most for a reset to complete (see below). */
#define VMMIO_RESET_WAIT_MS 2000

struct vmmio_queue {
	struct virtio_doorbell db;	/* served by the I/O thread */
	bool ioeventfd;		/* KVM signals db.fd itself on a matching write */
};

struct virtio_mmio {
	struct vm *vm;
	struct virtio_dev *dev;
	struct io_range range;
	u32 gsi;
	int irq_fd;		/* bound to gsi as an irqfd, if KVM took it */
	bool irqfd;
	struct vmmio_queue *queues;
	unsigned int nr_queues;

	pthread_mutex_t lock;	/* the selectors below */
	u32 dfselect;
	u32 gfselect;
	u32 queue_sel;
	u32 isr;		/* InterruptStatus; atomic */
};

/* Pulse the line: an edge on the guest's interrupt controller. */
static int vmmio_pulse(struct virtio_mmio *vmm)
{
	u64 one = 1;
	int r;

	if (vmm->irqfd)
		return write(vmm->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN ?
			       -errno : 1;
	r = irq_line(vmm->vm, vmm->gsi, 1);
	if (!r)
		r = irq_line(vmm->vm, vmm->gsi, 0);
	return r < 0 ? r : 1;
}

/* The device core's hook: a used buffer or config change notification. */
static int vmmio_notify_guest(struct virtio_dev *dev, int q)
{
	struct virtio_mmio *vmm = dev->transport;

	if (q != VIRTIO_NOTIFY_CONFIG && (q < 0 || (unsigned int)q >= vmm->nr_queues))
		return -EINVAL;
	/* §4.2.3.4: set the bit, then raise the interrupt. */
	__atomic_or_fetch(&vmm->isr, q == VIRTIO_NOTIFY_CONFIG ?
				     VIRTIO_MMIO_INT_CONFIG : VIRTIO_MMIO_INT_VRING,
			  __ATOMIC_SEQ_CST);
	return vmmio_pulse(vmm);
}

/* After a reset nothing the old device raised is pending (§4.2.2.1). */
static void vmmio_reset_done(struct virtio_dev *dev)
{
	struct virtio_mmio *vmm = dev->transport;

	__atomic_store_n(&vmm->isr, 0, __ATOMIC_SEQ_CST);
}

/* ---- registers ---- */

/*
 * The selected queue's setup, for the few registers that need it: the
 * interrupt handler's two accesses (status and ACK) stay off dev->lock.
 */
static bool vmmio_queue(struct virtio_mmio *vmm, struct virtio_queue_setup *q)
{
	return virtio_queue_get_setup(vmm->dev, vmm->queue_sel, q);
}

static u32 vmmio_read(struct virtio_mmio *vmm, u64 off)
{
	struct virtio_dev *dev = vmm->dev;
	struct virtio_queue_setup q;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return VMMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID: return dev->type->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VMMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_get_device_features(dev, vmm->dfselect);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vmmio_queue(vmm, &q) ? dev->type->queue_max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY: return vmmio_queue(vmm, &q) && q.enabled;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&vmm->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS: return virtio_get_status(dev);
	/* §4.2.2: no shared memory regions; their length reads all ones. */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH: return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return virtio_get_config_generation(dev);
	}
	return 0;
}

/* A 64-bit ring address, written as two 32-bit halves (§4.2.2). */
static void vmmio_set_addr(struct virtio_mmio *vmm,
			   enum virtio_queue_area area, u64 cur, bool hi,
			   u32 val)
{
	u64 gpa = hi ? (cur & 0xffffffffULL) | (u64)val << 32 :
		       (cur & ~0xffffffffULL) | val;

	virtio_queue_set_addr(vmm->dev, vmm->queue_sel, area, gpa);
}

/*
 * Status is 8 bits: a write with more is not one (and must not reset the
 * device by its low byte).  Writing 0 resets, and Linux goes on without
 * reading status back (its vm_reset()), so the reset must be complete
 * when the write returns: if the I/O thread is inside the device, wait
 * for it to leave.  It stops between requests, so that is soon; the
 * bound keeps a stuck disk from holding a vCPU for ever.
 */
static void vmmio_set_status(struct virtio_mmio *vmm, u32 val)
{
	if (val > 0xff)
		return;
	if (val) {
		virtio_set_status(vmm->dev, val);
		return;
	}
	if (virtio_reset_wait(vmm->dev, VMMIO_RESET_WAIT_MS))
		pr_warn_ratelimited("%s: reset still waits for a request after %d ms",
				    vmm->dev->name, VMMIO_RESET_WAIT_MS);
}

static void vmmio_write(struct virtio_mmio *vmm, u64 off, u32 val)
{
	struct virtio_dev *dev = vmm->dev;
	struct virtio_queue_setup q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: vmm->dfselect = val; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_driver_features(dev, vmm->gfselect, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: vmm->gfselect = val; break;
	case VIRTIO_MMIO_QUEUE_SEL: vmm->queue_sel = val; break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (val <= 0xffff)
			virtio_queue_set_size(dev, vmm->queue_sel, val);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_queue_set_enabled(dev, vmm->queue_sel, val == 1);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Only reached when KVM took no ioeventfd for it. */
		if (val < vmm->nr_queues)
			virtio_doorbell_ring(&vmm->queues[val].db);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_and_fetch(&vmm->isr, ~val, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		vmmio_set_status(vmm, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (vmmio_queue(vmm, &q))
			vmmio_set_addr(vmm, VIRTIO_QUEUE_DESC, q.desc_gpa,
				       off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (vmmio_queue(vmm, &q))
			vmmio_set_addr(vmm, VIRTIO_QUEUE_AVAIL, q.avail_gpa,
				       off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (vmmio_queue(vmm, &q))
			vmmio_set_addr(vmm, VIRTIO_QUEUE_USED, q.used_gpa,
				       off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		break;
	}
}

/*
 * A vCPU's access to the window.  Configuration space takes any width;
 * §4.2.2.2: the driver MUST use aligned 32-bit accesses for the other
 * registers, so anything else is ignored (and reads 0).
 */
static void vmmio_access(struct io_range *r, u64 off, void *data,
			 unsigned int len, bool is_write)
{
	struct virtio_mmio *vmm = r->opaque;
	u32 val;

	if (!is_write)
		memset(data, 0, len);
	if (off >= VIRTIO_MMIO_CONFIG) {
		off -= VIRTIO_MMIO_CONFIG;
		if (is_write)
			virtio_config_write(vmm->dev, off, data, len);
		else if (virtio_config_read(vmm->dev, off, data, len))
			memset(data, 0, len);
		return;
	}
	if (len != 4 || off % 4) {
		pr_debug("virtio-mmio: ignored %u-byte access at 0x%llx", len,
			 (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&vmm->lock);
	if (is_write) {
		memcpy(&val, data, 4);
		vmmio_write(vmm, off, le32toh(val));
	} else {
		val = htole32(vmmio_read(vmm, off));
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&vmm->lock);
}

/* ---- doorbells and the interrupt ---- */

static int vmmio_init_queues(struct virtio_mmio *vmm)
{
	u64 notify = vmm->range.base + VIRTIO_MMIO_QUEUE_NOTIFY;
	struct vmmio_queue *q;
	unsigned int i;
	int r;

	vmm->queues = calloc(vmm->nr_queues, sizeof(*vmm->queues));
	if (!vmm->queues)
		return -ENOMEM;
	for (i = 0; i < vmm->nr_queues; i++)
		virtio_doorbell_clear(&vmm->queues[i].db);
	for (i = 0; i < vmm->nr_queues; i++) {
		q = &vmm->queues[i];
		r = virtio_doorbell_init(&q->db, &vmm->vm->loop, vmm->dev, i);
		if (r)
			return r;
		/* Linux writes the index with writel(): 4 bytes. */
		q->ioeventfd = !ioeventfd_add_match(vmm->vm, notify, 4, i,
						    q->db.fd);
		if (!q->ioeventfd)
			pr_debug("virtio-mmio: no ioeventfd for queue %u; doorbells exit",
				 i);
		virtio_queue(vmm->dev, i)->transport = q;
	}
	return 0;
}

static int vmmio_init_irq(struct virtio_mmio *vmm)
{
	vmm->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vmm->irq_fd < 0)
		return -errno;
	vmm->irqfd = !irqfd_assign(vmm->vm, vmm->irq_fd, vmm->gsi);
	if (!vmm->irqfd)
		pr_debug("virtio-mmio: no irqfd for GSI %u; KVM_IRQ_LINE instead",
			 vmm->gsi);
	return 0;
}

int virtio_mmio_add(struct vm *vm, struct virtio_dev *dev,
		    struct virtio_mmio **out)
{
	struct virtio_mmio *vmm;
	u64 base;
	int r;

	if (dev->type->config_size > VMMIO_CONFIG_MAX)
		return -EINVAL;
	vmm = calloc(1, sizeof(*vmm));
	if (!vmm)
		return -ENOMEM;
	vmm->vm = vm;
	vmm->dev = dev;
	vmm->nr_queues = dev->type->nr_queues;
	vmm->irq_fd = -1;
	pthread_mutex_init(&vmm->lock, NULL);

	r = arch_virtio_mmio_add(vm, &base, &vmm->gsi);
	if (r)
		goto err;
	vmm->range = (struct io_range){ base, VMMIO_SIZE, vmmio_access, vmm };
	r = vmmio_init_irq(vmm);
	if (!r)
		r = vmmio_init_queues(vmm);
	if (!r)
		r = vm_register_mmio(vm, &vmm->range);
	if (r)
		goto err;
	dev->transport = vmm;
	dev->notify_guest = vmmio_notify_guest;
	dev->reset_done = vmmio_reset_done;
	*out = vmm;
	return 0;

err:
	for (unsigned int i = 0; vmm->queues && i < vmm->nr_queues; i++)
		virtio_queue(dev, i)->transport = NULL;
	vmm->range.access = NULL;	/* not on the bus */
	virtio_mmio_destroy(vmm);
	return r;
}

/* ---- migration ---- */

int virtio_mmio_save(struct virtio_mmio *vmm, struct state_out *o)
{
	pthread_mutex_lock(&vmm->lock);
	state_put_u32(o, vmm->dfselect);
	state_put_u32(o, vmm->gfselect);
	state_put_u32(o, vmm->queue_sel);
	state_put_u32(o, vmm->nr_queues);
	state_put_u32(o, __atomic_load_n(&vmm->isr, __ATOMIC_SEQ_CST));
	pthread_mutex_unlock(&vmm->lock);
	return virtio_save(vmm->dev, o);
}

int virtio_mmio_load(struct virtio_mmio *vmm, struct state_in *in)
{
	u32 isr;

	pthread_mutex_lock(&vmm->lock);
	vmm->dfselect = state_get_u32(in);
	vmm->gfselect = state_get_u32(in);
	vmm->queue_sel = state_get_u32(in);
	if (!in->err && state_get_u32(in) != vmm->nr_queues)
		state_fail(in, "virtio-mmio: another number of queues");
	isr = state_get_u32(in);
	if (!in->err && isr & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG))
		state_fail(in, "virtio-mmio: interrupt status 0x%x", isr);
	__atomic_store_n(&vmm->isr, isr, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vmm->lock);
	return in->err ? in->err : virtio_load(vmm->dev, in);
}

void virtio_mmio_resumed(struct virtio_mmio *vmm)
{
	unsigned int i;

	for (i = 0; i < vmm->nr_queues; i++)
		virtio_doorbell_ring(&vmm->queues[i].db);
	/* An edge in flight at the switch-over: send it again. */
	if (virtio_get_status(vmm->dev) & VIRTIO_CONFIG_S_DRIVER_OK)
		vmmio_notify_guest(vmm->dev, 0);
}

void virtio_mmio_destroy(struct virtio_mmio *vmm)
{
	u64 notify;
	unsigned int i;
	struct vmmio_queue *q;

	if (!vmm)
		return;
	notify = vmm->range.base + VIRTIO_MMIO_QUEUE_NOTIFY;
	for (i = 0; vmm->queues && i < vmm->nr_queues; i++) {
		q = &vmm->queues[i];
		if (q->ioeventfd)
			ioeventfd_del_match(vmm->vm, notify, 4, i, q->db.fd);
		virtio_doorbell_fini(&q->db, &vmm->vm->loop);
	}
	if (vmm->irqfd)
		irqfd_deassign(vmm->vm, vmm->irq_fd, vmm->gsi);
	if (vmm->irq_fd >= 0)
		close(vmm->irq_fd);
	if (vmm->range.access)
		io_bus_unregister(&vmm->vm->mmio, &vmm->range);
	free(vmm->queues);
	pthread_mutex_destroy(&vmm->lock);
	free(vmm);
}
