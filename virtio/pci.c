// SPDX-License-Identifier: GPL-2.0
/*
 * The modern virtio-pci transport (virtio 1.2 §4.1).
 *
 * A virtio-pci device is an ordinary PCI function whose registers are
 * found through vendor-specific capabilities (§4.1.4): each names a BAR,
 * an offset and a length for one structure.  We put all four in BAR0:
 *
 *	0x0000	common configuration (§4.1.4.3): features, status, queue setup
 *	0x1000	ISR status (§4.1.4.5): read-to-clear interrupt cause
 *	0x2000	device configuration (§4.1.4.6): e.g. struct virtio_blk_config
 *	0x3000	notifications (§4.1.4.4): queue i's doorbell at 0x3000 + 4 * i
 *
 * and the MSI-X table and pending bits in BAR1 (kvm/msix.c: MSI-X is a
 * PCI function's, not virtio's).  The common configuration registers are
 * decoded in virtio/pci-common.c.
 *
 * Threads.  Register accesses arrive on vCPU threads (MMIO exits) and are
 * turned into virtio_*() calls on the device core.  Doorbell writes do not
 * exit at all: each queue has an eventfd that KVM signals (an ioeventfd),
 * served by the I/O thread, which runs the device's queue processing.
 * Interrupts go out by MSI-X through irqfds (kvm/msix.h), from whichever
 * thread raises them.  Both wait while the guest keeps Bus Master Enable
 * clear.
 *
 * Locks.  vp->lock serialises the common configuration registers.  No
 * register access waits for the I/O thread (vCPUs never block on device
 * I/O): a reset the I/O thread is in the way of completes there, and
 * device_status reads non-zero until then.  The I/O thread never takes
 * vp->lock: interrupts only need the vector numbers (atomics) and the
 * MSI-X lock, which is never held while calling into the core.
 *
 * Config space also holds the VIRTIO_PCI_CAP_PCI_CFG window (§4.1.4.9):
 * an access to any BAR through config cycles alone, for firmware and boot
 * loaders that do not map BARs.  Linux does not use it.
 *
 * Not implemented: INTx (the PCI bus gives devices no interrupt pin:
 * MSI-X only), and the 1.2 queue_reset / notification data features (not
 * offered).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "kvm/irq.h"
#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "kvm/vm.h"
#include "virtio/pci-priv.h"
#include "virtio/pci.h"

/* §4.1.2: modern devices are 0x1af4:0x1040 + device id, revision >= 1. */
#define VPCI_VENDOR 0x1af4
#define VPCI_DEVICE_BASE 0x1040
/* §4.1.2.1: non-transitional devices SHOULD have a subsystem id >= 0x40. */
#define VPCI_SUBSYS_ID 0x1100

#define VPCI_BAR 0
#define VPCI_BAR_SIZE 0x4000
#define VPCI_COMMON_OFF 0x0000
#define VPCI_ISR_OFF 0x1000
#define VPCI_DEVICE_OFF 0x2000
#define VPCI_DEVICE_MAX 0x1000
#define VPCI_NOTIFY_OFF 0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MAX_QUEUES (0x1000 / VPCI_NOTIFY_MULT)

#define VPCI_MSIX_BAR 1

/* §4.1.4.5: ISR bit 0 is "queue interrupt" (bit 1, config, is in UAPI). */
#define VPCI_ISR_QUEUE 0x1

/* PCI base class / subclass codes (PCI Code and ID Assignment spec). */
#define PCI_CLASS_STORAGE_OTHER 0x0180
#define PCI_CLASS_NETWORK_ETHERNET 0x0200
#define PCI_CLASS_COMMUNICATION_OTHER 0x0780
#define PCI_CLASS_OTHERS 0xff00

static u32 vpci_class(u32 device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		return PCI_CLASS_STORAGE_OTHER << 8;
	case VIRTIO_ID_NET:
		return PCI_CLASS_NETWORK_ETHERNET << 8;
	case VIRTIO_ID_CONSOLE:
	case VIRTIO_ID_VSOCK:
		return PCI_CLASS_COMMUNICATION_OTHER << 8;
	default:
		return PCI_CLASS_OTHERS << 8;
	}
}

static u16 cfg16(const struct pci_dev *d, u32 off)
{
	u16 v;

	memcpy(&v, d->cfg + off, sizeof(v));
	return le16toh(v);
}

static u32 cfg32(const struct pci_dev *d, u32 off)
{
	u32 v;

	memcpy(&v, d->cfg + off, sizeof(v));
	return le32toh(v);
}

/* Does an access to [offset, offset + len) touch [reg, reg + size)? */
static bool cfg_hits(u32 offset, u32 len, u32 reg, u32 size)
{
	return offset < reg + size && offset + len > reg;
}

static bool cfg_write_hits(u32 offset, u32 len, u32 reg16)
{
	return cfg_hits(offset, len, reg16, 2);
}

/* ---- the PCI_CFG window (§4.1.4.9) ---- */

#define VPCI_CFG_DATA offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)

/*
 * The BAR range the driver selected in the window's cap.bar, cap.offset
 * and cap.length, or NULL.  §4.1.4.9.2: the driver MUST NOT access
 * pci_cfg_data without a valid combination, and offsets are aligned to
 * the length; anything else we ignore.
 */
static struct io_range *vpci_window(struct virtio_pci *vp, u32 *off,
				    u32 *len)
{
	struct pci_dev *d = &vp->pci;
	u32 c = vp->cfg_cap;
	u8 bar = d->cfg[c + offsetof(struct virtio_pci_cap, bar)];

	*off = cfg32(d, c + offsetof(struct virtio_pci_cap, offset));
	*len = cfg32(d, c + offsetof(struct virtio_pci_cap, length));
	if (bar >= PCI_NUM_BARS || !d->bar[bar].size)
		return NULL;
	if ((*len != 1 && *len != 2 && *len != 4) || *off % *len ||
	    *off > d->bar[bar].size - *len)
		return NULL;
	return &d->bar[bar].range;
}

/*
 * §4.1.4.9.1: a driver access to pci_cfg_data is an access of cap.length
 * bytes at cap.offset in BAR cap.bar, with that access's side effects
 * (reading the ISR clears it).  Called with the bus lock held.
 */
static void vpci_window_access(struct virtio_pci *vp, bool is_write)
{
	u8 *data = vp->pci.cfg + vp->cfg_cap + VPCI_CFG_DATA;
	struct io_range *r;
	u32 off, len;

	r = vpci_window(vp, &off, &len);
	if (!is_write)
		memset(data, 0, 4);
	if (r)
		r->access(r, off, data, len, is_write);
}

static void vpci_cfg_read(struct pci_dev *d, u32 offset, u32 len)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);

	if (cfg_hits(offset, len, vp->cfg_cap + VPCI_CFG_DATA, 4))
		vpci_window_access(vp, false);
}

/*
 * The guest wrote config space: follow Bus Master Enable (and MSI-X's
 * control, which kvm/msix.c reads itself).  With Bus Master Enable clear
 * a PCI function must not touch memory: no queue processing, and MSIs
 * (memory writes too) are held pending.  Linux clears it at kexec so that
 * devices stop writing into what becomes the next kernel's memory.
 */
static void vpci_command_write(struct virtio_pci *vp)
{
	bool master = cfg16(&vp->pci, PCI_COMMAND) & PCI_COMMAND_MASTER;
	bool was = vp->dma;
	unsigned int i;

	/* Stop the queues before holding interrupts; resume after. */
	if (!master)
		virtio_set_dma(vp->dev, false);
	msix_cfg_write(&vp->msix);
	vp->dma = master;
	if (master && !was) {
		virtio_set_dma(vp->dev, true);
		/* Kicks that came meanwhile were dropped: ring them all. */
		for (i = 0; i < vp->nr_queues; i++)
			virtio_doorbell_ring(&vp->queues[i].db);
	}
}

static void vpci_cfg_write(struct pci_dev *d, u32 offset, u32 len)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);

	if (cfg_write_hits(offset, len, PCI_COMMAND) ||
	    cfg_write_hits(offset, len, vp->msix.cap + PCI_MSIX_FLAGS))
		vpci_command_write(vp);
	if (cfg_hits(offset, len, vp->cfg_cap + VPCI_CFG_DATA, 4))
		vpci_window_access(vp, true);
}

/* The device core's hook: a used buffer or config change notification. */
static int vpci_notify_guest(struct virtio_dev *dev, int q)
{
	struct virtio_pci *vp = dev->transport;
	u16 vec;

	if (q != VIRTIO_NOTIFY_CONFIG && (q < 0 || (unsigned int)q >= vp->nr_queues))
		return -EINVAL;
	/* §4.1.4.5.1: set the ISR bit before sending the notification. */
	__atomic_or_fetch(&vp->isr, q == VIRTIO_NOTIFY_CONFIG ?
				    VIRTIO_PCI_ISR_CONFIG : VPCI_ISR_QUEUE,
			  __ATOMIC_SEQ_CST);

	vec = __atomic_load_n(q == VIRTIO_NOTIFY_CONFIG ? &vp->config_vector :
							  &vp->queues[q].vector,
			      __ATOMIC_RELAXED);
	/* No INTx: without MSI-X only a driver polling ISR sees it. */
	return msix_notify(&vp->msix, vec);
}

/*
 * The core finished a reset (dev->lock held), maybe on the I/O thread
 * after its last request, whose completion set ISR again.  After a reset
 * nothing the old device raised is pending: the ISR reads 0 (§4.1.4.5)
 * and no vector fires at the driver when it unmasks it.
 */
static void vpci_reset_done(struct virtio_dev *dev)
{
	struct virtio_pci *vp = dev->transport;

	msix_clear_pending(&vp->msix);
	__atomic_store_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
}

/* ---- BAR0 ---- */

static void vpci_notify_write(struct virtio_pci *vp, u64 off)
{
	u64 q = off / VPCI_NOTIFY_MULT;

	/*
	 * Only reached when KVM could not take the doorbell as an ioeventfd:
	 * hand it to the I/O thread the same way KVM would have.
	 */
	if (q < vp->nr_queues)
		virtio_doorbell_ring(&vp->queues[q].db);
}

static void vpci_bar_access(struct io_range *r, u64 off, void *data,
			    unsigned int len, bool is_write)
{
	struct virtio_pci *vp = r->opaque;

	if (!is_write)
		memset(data, 0, len);

	if (off < VPCI_ISR_OFF) {
		vpci_common_access(vp, off - VPCI_COMMON_OFF, data, len, is_write);
	} else if (off < VPCI_DEVICE_OFF) {
		/* §4.1.4.5: reading the ISR clears it. */
		if (!is_write && off == VPCI_ISR_OFF)
			*(u8 *)data = __atomic_exchange_n(&vp->isr, 0,
							  __ATOMIC_SEQ_CST);
	} else if (off < VPCI_NOTIFY_OFF) {
		off -= VPCI_DEVICE_OFF;
		if (is_write)
			virtio_config_write(vp->dev, off, data, len);
		else if (virtio_config_read(vp->dev, off, data, len))
			memset(data, 0, len);
	} else if (is_write) {
		vpci_notify_write(vp, off - VPCI_NOTIFY_OFF);
	}
}

/* ---- doorbells ---- */

static void vpci_ioeventfd_del(struct virtio_pci *vp, struct vpci_queue *q)
{
	if (!q->ioeventfd)
		return;
	ioeventfd_del(vp->vm, q->ioeventfd_addr, q->ioeventfd_len, false,
		      q->db.fd);
	q->ioeventfd = false;
}

/*
 * Length 0 matches a write of any size and lets KVM skip decoding the
 * instruction on x86 (its fast MMIO path); older kernels want the exact
 * size, and Linux's driver writes 16 bits (§4.1.4.4: the queue index).
 */
static void vpci_ioeventfd_add(struct virtio_pci *vp, struct vpci_queue *q,
			       u64 addr)
{
	static const u32 lens[] = { 0, 2 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		if (ioeventfd_add(vp->vm, addr, lens[i], false, q->db.fd) == 0) {
			q->ioeventfd = true;
			q->ioeventfd_addr = addr;
			q->ioeventfd_len = lens[i];
			return;
		}
	}
	pr_debug("virtio-pci: no ioeventfd for queue %u; doorbells exit",
		 q->db.qidx);
}

/* The bus mapped, moved or unmapped a BAR: doorbells follow BAR0. */
static void vpci_bar_update(struct pci_dev *d, int bar, bool mapped, u64 addr)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);
	unsigned int i;

	if (bar != VPCI_BAR)
		return;
	for (i = 0; i < vp->nr_queues; i++) {
		vpci_ioeventfd_del(vp, &vp->queues[i]);
		if (mapped)
			vpci_ioeventfd_add(vp, &vp->queues[i],
					   addr + VPCI_NOTIFY_OFF +
						   i * VPCI_NOTIFY_MULT);
	}
}

static const struct pci_dev_ops vpci_ops = {
	.cfg_write = vpci_cfg_write,
	.cfg_read = vpci_cfg_read,
	.bar_update = vpci_bar_update,
};

/* ---- setup ---- */

static int vpci_add_cap(struct virtio_pci *vp, u8 type, u32 off, u32 len)
{
	struct virtio_pci_notify_cap nc = {
		.cap = {
			.cap_len = sizeof(struct virtio_pci_cap),
			.cfg_type = type,
			.bar = VPCI_BAR,
			.offset = htole32(off),
			.length = htole32(len),
		},
	};

	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		nc.cap.cap_len = sizeof(nc);
		nc.notify_off_multiplier = htole32(VPCI_NOTIFY_MULT);
	}
	return pci_add_cap(&vp->pci, PCI_CAP_ID_VNDR, &nc, nc.cap.cap_len);
}

/*
 * §4.1.4.9: the window starts pointing nowhere (BAR 0, length 0); the
 * driver writes cap.bar, cap.offset, cap.length and pci_cfg_data.
 */
static int vpci_add_cfg_cap(struct virtio_pci *vp)
{
	struct virtio_pci_cfg_cap cc = {
		.cap = {
			.cap_len = sizeof(cc),
			.cfg_type = VIRTIO_PCI_CAP_PCI_CFG,
		},
	};
	int off = pci_add_cap(&vp->pci, PCI_CAP_ID_VNDR, &cc, sizeof(cc));

	if (off < 0)
		return off;
	vp->cfg_cap = off;
	vp->pci.wmask[off + offsetof(struct virtio_pci_cap, bar)] = 0xff;
	memset(vp->pci.wmask + off + offsetof(struct virtio_pci_cap, offset),
	       0xff, 8);	/* offset and length */
	memset(vp->pci.wmask + off + VPCI_CFG_DATA, 0xff, 4);
	return off;
}

static int vpci_init_pci(struct virtio_pci *vp)
{
	const struct virtio_dev_type *type = vp->dev->type;
	u16 cmd;
	int r;

	pci_dev_init(&vp->pci, VPCI_VENDOR, VPCI_DEVICE_BASE + type->device_id,
		     vpci_class(type->device_id), VPCI_VENDOR, VPCI_SUBSYS_ID);
	/*
	 * Bus mastering starts enabled, as firmware would leave it: there is
	 * none, lkvm boots the kernel directly (Linux sets it anyway).
	 */
	cmd = htole16(cfg16(&vp->pci, PCI_COMMAND) | PCI_COMMAND_MASTER);
	memcpy(vp->pci.cfg + PCI_COMMAND, &cmd, sizeof(cmd));
	vp->dma = true;
	vp->pci.ops = &vpci_ops;
	vp->pci.opaque = vp;

	r = pci_add_bar(&vp->pci, VPCI_BAR, VPCI_BAR_SIZE, vpci_bar_access, vp);
	/* One vector per queue and one for config changes, as Linux likes. */
	if (!r)
		r = msix_init(&vp->msix, vp->vm, &vp->pci, vp->nr_queues + 1,
			      VPCI_MSIX_BAR);
	if (r < 0)
		return r;
	r = vpci_add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
			 sizeof(struct vpci_common_cfg));
	if (r >= 0)
		r = vpci_add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1);
	if (r >= 0 && type->config_size)
		r = vpci_add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF,
				 type->config_size);
	if (r >= 0)
		r = vpci_add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
				 vp->nr_queues * VPCI_NOTIFY_MULT);
	/* §4.1.4.9.1: the device MUST present at least one. */
	if (r >= 0)
		r = vpci_add_cfg_cap(vp);
	return r < 0 ? r : 0;
}

static int vpci_init_queues(struct virtio_pci *vp)
{
	struct vpci_queue *q;
	unsigned int i;
	int r;

	vp->queues = calloc(vp->nr_queues, sizeof(*vp->queues));
	if (!vp->queues)
		return -ENOMEM;
	for (i = 0; i < vp->nr_queues; i++)
		virtio_doorbell_clear(&vp->queues[i].db);
	for (i = 0; i < vp->nr_queues; i++) {
		q = &vp->queues[i];
		q->vector = VIRTIO_MSI_NO_VECTOR;
		r = virtio_doorbell_init(&q->db, &vp->vm->loop, vp->dev, i);
		if (r)
			return r;
		virtio_queue(vp->dev, i)->transport = q;
	}
	return 0;
}

int virtio_pci_add(struct vm *vm, struct virtio_dev *dev,
		   struct virtio_pci **out)
{
	struct virtio_pci *vp;
	int r;

	if (!vm->pci)
		return -ENODEV;
	if (dev->type->config_size > VPCI_DEVICE_MAX ||
	    dev->type->nr_queues > VPCI_MAX_QUEUES ||
	    dev->type->nr_queues + 1 > MSIX_MAX_VECTORS)
		return -EINVAL;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vm = vm;
	vp->dev = dev;
	vp->nr_queues = dev->type->nr_queues;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vp->lock, NULL);

	r = vpci_init_queues(vp);
	if (!r)
		r = vpci_init_pci(vp);
	if (r)
		goto err;

	dev->transport = vp;
	dev->notify_guest = vpci_notify_guest;
	dev->reset_done = vpci_reset_done;
	r = pci_register(vm->pci, &vp->pci);
	if (r)
		goto err_dev;
	*out = vp;
	return 0;

err_dev:
	dev->transport = NULL;
	dev->notify_guest = NULL;
	dev->reset_done = NULL;
err:
	for (unsigned int i = 0; vp->queues && i < vp->nr_queues; i++)
		virtio_queue(dev, i)->transport = NULL;
	virtio_pci_destroy(vp);
	return r;
}

/* ---- migration ---- */

int virtio_pci_save(struct virtio_pci *vp, struct state_out *o)
{
	unsigned int i;

	pthread_mutex_lock(&vp->pci.bus->lock);
	state_put(o, vp->pci.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&vp->pci.bus->lock);
	pthread_mutex_lock(&vp->lock);
	state_put_u32(o, vp->dfselect);
	state_put_u32(o, vp->gfselect);
	state_put_u16(o, vp->queue_select);
	state_put_u16(o, vp->config_vector);
	state_put_u32(o, vp->nr_queues);
	for (i = 0; i < vp->nr_queues; i++)
		state_put_u16(o, vp->queues[i].vector);
	state_put_u8(o, vp->isr);
	pthread_mutex_unlock(&vp->lock);
	msix_save(&vp->msix, o);
	return virtio_save(vp->dev, o);
}

/* A vector the guest chose, checked as a register write would be. */
static u16 load_vector(struct virtio_pci *vp, struct state_in *in)
{
	u16 v = state_get_u16(in);

	if (v != VIRTIO_MSI_NO_VECTOR && v >= vp->msix.nr)
		state_fail(in, "virtio-pci: MSI-X vector %u of %u", v,
			   vp->msix.nr);
	return v;
}

int virtio_pci_load(struct virtio_pci *vp, struct state_in *in)
{
	const u8 *cfg = state_get_ptr(in, PCI_CFG_SIZE);
	unsigned int i;

	pthread_mutex_lock(&vp->lock);
	vp->dfselect = state_get_u32(in);
	vp->gfselect = state_get_u32(in);
	vp->queue_select = state_get_u16(in);
	vp->config_vector = load_vector(vp, in);
	if (!in->err && state_get_u32(in) != vp->nr_queues)
		state_fail(in, "virtio-pci: another number of queues");
	for (i = 0; i < vp->nr_queues && !in->err; i++)
		vp->queues[i].vector = load_vector(vp, in);
	vp->isr = state_get_u8(in);
	pthread_mutex_unlock(&vp->lock);
	if (in->err)
		return in->err;
	/* BARs where the guest put them (doorbells follow), then MSI-X. */
	pci_dev_load_cfg(&vp->pci, cfg);
	vp->dma = cfg16(&vp->pci, PCI_COMMAND) & PCI_COMMAND_MASTER;
	if (msix_load(&vp->msix, in))
		return in->err;
	virtio_set_dma(vp->dev, vp->dma);
	return virtio_load(vp->dev, in);
}

void virtio_pci_resumed(struct virtio_pci *vp)
{
	unsigned int i;
	u16 vec;

	for (i = 0; i < vp->nr_queues; i++) {
		virtio_doorbell_ring(&vp->queues[i].db);
		vec = __atomic_load_n(&vp->queues[i].vector, __ATOMIC_RELAXED);
		if (vec != VIRTIO_MSI_NO_VECTOR &&
		    (virtio_get_status(vp->dev) & VIRTIO_CONFIG_S_DRIVER_OK))
			msix_notify(&vp->msix, vec);
	}
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	unsigned int i;
	struct vpci_queue *q;

	if (!vp)
		return;
	for (i = 0; vp->queues && i < vp->nr_queues; i++) {
		q = &vp->queues[i];
		vpci_ioeventfd_del(vp, q);
		virtio_doorbell_fini(&q->db, &vp->vm->loop);
	}
	free(vp->queues);
	msix_destroy(&vp->msix);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}
