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
 * and the MSI-X table and pending bits in BAR1.
 *
 * Threads.  Register accesses arrive on vCPU threads (MMIO exits) and are
 * turned into virtio_*() calls on the device core.  Doorbell writes do not
 * exit at all: each queue has an eventfd that KVM signals (an ioeventfd),
 * served by the I/O thread, which runs the device's queue processing.
 * Interrupts go out by irqfd: each MSI-X vector has an eventfd bound to
 * a GSI whose route (KVM_SET_GSI_ROUTING) holds the vector's message, so
 * firing one is a write to the eventfd, from whichever thread raises it.
 * Both wait while the guest keeps Bus Master Enable clear.
 *
 * Locks.  vp->lock serialises the common configuration registers.  No
 * register access waits for the I/O thread (vCPUs never block on device
 * I/O): a reset the I/O thread is in the way of completes there, and
 * device_status reads non-zero until then.  The I/O thread never takes
 * vp->lock: interrupts only need vp->msix_lock, which is never held while
 * calling into the core.
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
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "kvm/ioloop.h"
#include "kvm/irq.h"
#include "kvm/log.h"
#include "kvm/pci.h"
#include "kvm/vm.h"
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
#define VPCI_MSIX_BAR_SIZE 0x1000
#define VPCI_MSIX_TABLE_OFF 0x0
#define VPCI_MSIX_PBA_OFF 0x800
#define VPCI_MAX_VECTORS (VPCI_MSIX_PBA_OFF / PCI_MSIX_ENTRY_SIZE)

/* §4.1.4.5: ISR bit 0 is "queue interrupt" (bit 1, config, is in UAPI). */
#define VPCI_ISR_QUEUE 0x1

/* PCI base class / subclass codes (PCI Code and ID Assignment spec). */
#define PCI_CLASS_STORAGE_OTHER 0x0180
#define PCI_CLASS_NETWORK_ETHERNET 0x0200
#define PCI_CLASS_COMMUNICATION_OTHER 0x0780
#define PCI_CLASS_OTHERS 0xff00

/* §4.1.4.3: virtio 1.2 appends two fields to the UAPI's 1.0 layout. */
struct vpci_common_cfg {
	struct virtio_pci_common_cfg v1;
	__le16 queue_notify_data;
	__le16 queue_reset;
};

struct vpci_queue {
	struct virtio_pci *vp;
	unsigned int idx;
	int fd;			/* the queue's doorbell, served by the I/O thread */
	struct io_event *ev;
	bool ioeventfd;		/* KVM signals fd itself on a doorbell write */
	u64 ioeventfd_addr;
	u32 ioeventfd_len;
	u16 vector;		/* MSI-X vector; under msix_lock */
};

/*
 * An MSI-X vector's way into KVM: a write to fd injects the MSI that
 * gsi's route holds.  The route follows the vector's table entry.
 */
struct vpci_vector {
	int fd;
	u32 gsi;
	bool bound;		/* fd is an irqfd of gsi */
	u64 addr;		/* the route's message; under msix_lock */
	u32 data;
};

struct virtio_pci {
	struct pci_dev pci;
	struct vm *vm;
	struct virtio_dev *dev;
	struct vpci_queue *queues;
	unsigned int nr_queues;
	unsigned int nr_vectors;

	pthread_mutex_t lock;	/* the common config registers below */
	u32 dfselect;
	u32 gfselect;
	u16 queue_select;

	u8 isr;			/* atomic */

	u8 cfg_cap;		/* config offset of the PCI_CFG window */

	pthread_mutex_t msix_lock;
	bool bus_master;	/* PCI_COMMAND_MASTER: may we DMA, send MSIs? */
	u8 msix_cap;		/* config space offset of the capability */
	bool msix_enabled;
	bool msix_masked;	/* function mask */
	u16 config_vector;
	struct vpci_vector *vectors;	/* nr_vectors of them */
	u8 table[VPCI_MAX_VECTORS * PCI_MSIX_ENTRY_SIZE];
	u64 pba[VPCI_MAX_VECTORS / 64];
};

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

/* ---- MSI-X (PCI Local Bus 3.0 §6.8.2) ---- */

static u32 msix_entry(struct virtio_pci *vp, unsigned int vec, unsigned int off)
{
	u32 v;

	memcpy(&v, vp->table + vec * PCI_MSIX_ENTRY_SIZE + off, sizeof(v));
	return le32toh(v);
}

static u64 msix_addr(struct virtio_pci *vp, unsigned int vec)
{
	return (u64)msix_entry(vp, vec, PCI_MSIX_ENTRY_UPPER_ADDR) << 32 |
	       msix_entry(vp, vec, PCI_MSIX_ENTRY_LOWER_ADDR);
}

static bool msix_vector_masked(struct virtio_pci *vp, unsigned int vec)
{
	return vp->msix_masked ||
	       (msix_entry(vp, vec, PCI_MSIX_ENTRY_VECTOR_CTRL) &
		PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/*
 * Make vector @vec's route carry @addr and @data, its table entry's
 * message.  The
 * guest changes an entry while the vector is masked (PCI 3.0 §6.8.2
 * leaves changing an unmasked one undefined; Linux masks, writes,
 * unmasks), and a masked vector does not fire, so looking as it fires is
 * enough; the VM-wide table goes to KVM again only when the message
 * changed.  msix_lock held.
 */
static int msix_route(struct virtio_pci *vp, unsigned int vec, u64 addr,
		      u32 data)
{
	struct vpci_vector *v = &vp->vectors[vec];
	struct irq_routing *rt = &vp->vm->routing;
	int r;

	if (addr == v->addr && data == v->data)
		return 0;
	r = irq_route_set_msi(rt, v->gsi, addr, data);
	if (!r)
		r = irq_routing_commit(vp->vm, rt);
	if (r) {
		/*
		 * Put our copy back to what KVM has, so that another
		 * device's commit does not push a message we gave up on.
		 */
		irq_route_set_msi(rt, v->gsi, v->addr, v->data);
		return r;
	}
	v->addr = addr;
	v->data = data;
	return 0;
}

/*
 * Send vector @vec, or leave it pending while masked.  An MSI is a memory
 * write by the device, so with Bus Master Enable clear it waits too, as on
 * a real bus.  msix_lock held.
 */
static int msix_fire(struct virtio_pci *vp, unsigned int vec)
{
	u64 one = 1, addr;
	u32 data;
	int r;

	if (!vp->bus_master || msix_vector_masked(vp, vec)) {
		vp->pba[vec / 64] |= 1ULL << (vec % 64);
		return 0;
	}
	addr = msix_addr(vp, vec);
	data = msix_entry(vp, vec, PCI_MSIX_ENTRY_DATA);
	r = msix_route(vp, vec, addr, data);
	if (r) {
		/* No route for the new message: send this one by hand. */
		r = irq_signal_msi(vp->vm, addr, data);
		r = r < 0 ? r : 0;
	} else if (write(vp->vectors[vec].fd, &one, sizeof(one)) < 0 &&
		   errno != EAGAIN) {
		/* EAGAIN: the counter is full, so an injection is on its way. */
		r = -errno;
	}
	if (r)
		pr_warn_ratelimited("virtio-pci %02x.0: MSI-X vector %u: %s",
				    vp->pci.devfn >> 3, vec, strerror(-r));
	return r;
}

/* A vector that was pending and is now unmasked fires.  msix_lock held. */
static void msix_flush(struct virtio_pci *vp)
{
	unsigned int vec;

	if (!vp->msix_enabled || vp->msix_masked || !vp->bus_master)
		return;
	for (vec = 0; vec < vp->nr_vectors; vec++) {
		if (!(vp->pba[vec / 64] & (1ULL << (vec % 64))) ||
		    msix_vector_masked(vp, vec))
			continue;
		vp->pba[vec / 64] &= ~(1ULL << (vec % 64));
		msix_fire(vp, vec);
	}
}

/* BAR1: the MSI-X table, then the pending bit array (read-only). */
static void vpci_msix_access(struct io_range *r, u64 off, void *data,
			     unsigned int len, bool is_write)
{
	struct virtio_pci *vp = r->opaque;
	u64 table_end = (u64)vp->nr_vectors * PCI_MSIX_ENTRY_SIZE;

	pthread_mutex_lock(&vp->msix_lock);
	if (off + len <= table_end) {
		if (is_write) {
			memcpy(vp->table + off, data, len);
			msix_flush(vp);	/* an entry may have been unmasked */
		} else {
			memcpy(data, vp->table + off, len);
		}
	} else if (off >= VPCI_MSIX_PBA_OFF &&
		   off + len <= VPCI_MSIX_PBA_OFF + sizeof(vp->pba)) {
		if (!is_write)
			memcpy(data, (u8 *)vp->pba + off - VPCI_MSIX_PBA_OFF,
			       len);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&vp->msix_lock);
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

/* Ring queue @q's doorbell eventfd, as KVM does on a guest write. */
static void vpci_doorbell(struct vpci_queue *q)
{
	u64 one = 1;

	if (write(q->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("virtio-pci: doorbell: %s",
				    strerror(errno));
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
 * The guest wrote config space; follow Bus Master Enable, MSI-X enable and
 * the function mask.  With Bus Master Enable clear a PCI function must not
 * touch memory: no queue processing, and MSIs (memory writes too) are held
 * pending.  Linux clears it at kexec so that devices stop writing into
 * what becomes the next kernel's memory.
 */
static void vpci_command_write(struct virtio_pci *vp)
{
	struct pci_dev *d = &vp->pci;
	u32 ctrl_off = vp->msix_cap + PCI_MSIX_FLAGS;
	bool master = cfg16(d, PCI_COMMAND) & PCI_COMMAND_MASTER, was;
	u16 ctrl = cfg16(d, ctrl_off);
	unsigned int i;

	/* Stop the queues before holding interrupts; resume after. */
	if (!master)
		virtio_set_dma(vp->dev, false);
	pthread_mutex_lock(&vp->msix_lock);
	was = vp->bus_master;
	vp->bus_master = master;
	vp->msix_enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	vp->msix_masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
	msix_flush(vp);
	pthread_mutex_unlock(&vp->msix_lock);
	if (master && !was) {
		virtio_set_dma(vp->dev, true);
		/* Kicks that came meanwhile were dropped: ring them all. */
		for (i = 0; i < vp->nr_queues; i++)
			vpci_doorbell(&vp->queues[i]);
	}
}

static void vpci_cfg_write(struct pci_dev *d, u32 offset, u32 len)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);

	if (cfg_write_hits(offset, len, PCI_COMMAND) ||
	    cfg_write_hits(offset, len, vp->msix_cap + PCI_MSIX_FLAGS))
		vpci_command_write(vp);
	if (cfg_hits(offset, len, vp->cfg_cap + VPCI_CFG_DATA, 4))
		vpci_window_access(vp, true);
}

/* The device core's hook: a used buffer or config change notification. */
static int vpci_notify_guest(struct virtio_dev *dev, int q)
{
	struct virtio_pci *vp = dev->transport;
	u16 vec;
	int r = 0;

	if (q != VIRTIO_NOTIFY_CONFIG && (q < 0 || (unsigned int)q >= vp->nr_queues))
		return -EINVAL;
	/* §4.1.4.5.1: set the ISR bit before sending the notification. */
	__atomic_or_fetch(&vp->isr, q == VIRTIO_NOTIFY_CONFIG ?
				    VIRTIO_PCI_ISR_CONFIG : VPCI_ISR_QUEUE,
			  __ATOMIC_SEQ_CST);

	pthread_mutex_lock(&vp->msix_lock);
	vec = q == VIRTIO_NOTIFY_CONFIG ? vp->config_vector :
					  vp->queues[q].vector;
	/* No INTx: without MSI-X only a driver polling ISR sees it. */
	if (vp->msix_enabled && vec < vp->nr_vectors)
		r = msix_fire(vp, vec);
	pthread_mutex_unlock(&vp->msix_lock);
	return r;
}

/* ---- common configuration (§4.1.4.3) ---- */

static void vpci_common_snapshot(struct virtio_pci *vp,
				 struct vpci_common_cfg *c)
{
	struct virtio_dev *dev = vp->dev;
	u16 sel = vp->queue_select;
	struct virtio_queue_setup q;
	bool exists = virtio_queue_get_setup(dev, sel, &q);

	memset(c, 0, sizeof(*c));
	c->v1.device_feature_select = htole32(vp->dfselect);
	c->v1.device_feature = htole32(virtio_get_device_features(dev, vp->dfselect));
	c->v1.guest_feature_select = htole32(vp->gfselect);
	c->v1.guest_feature = htole32(virtio_get_driver_features(dev, vp->gfselect));
	c->v1.num_queues = htole16(vp->nr_queues);
	c->v1.device_status = virtio_get_status(dev);
	c->v1.config_generation = virtio_get_config_generation(dev);
	c->v1.queue_select = htole16(sel);
	pthread_mutex_lock(&vp->msix_lock);
	c->v1.msix_config = htole16(vp->config_vector);
	if (exists)
		c->v1.queue_msix_vector = htole16(vp->queues[sel].vector);
	pthread_mutex_unlock(&vp->msix_lock);
	/* §4.1.4.3.2: a queue that does not exist reads queue_size 0. */
	if (!exists)
		return;
	c->v1.queue_size = htole16(q.size);
	c->v1.queue_enable = htole16(q.enabled);
	c->v1.queue_notify_off = htole16(sel);
	c->v1.queue_desc_lo = htole32((u32)q.desc_gpa);
	c->v1.queue_desc_hi = htole32(q.desc_gpa >> 32);
	c->v1.queue_avail_lo = htole32((u32)q.avail_gpa);
	c->v1.queue_avail_hi = htole32(q.avail_gpa >> 32);
	c->v1.queue_used_lo = htole32((u32)q.used_gpa);
	c->v1.queue_used_hi = htole32(q.used_gpa >> 32);
	c->queue_notify_data = htole16(sel);
}

/* An MSI-X vector the guest asks for, or NO_VECTOR if there is none. */
static u16 vpci_vector(struct virtio_pci *vp, u64 val)
{
	return val < vp->nr_vectors ? val : VIRTIO_MSI_NO_VECTOR;
}

/*
 * §4.1.3.1: the driver accesses 64-bit fields as one 64-bit access or
 * two 32-bit halves (Linux does the latter).  vpci_common_width_ok() let
 * through only those.
 */
static void vpci_set_addr(struct virtio_pci *vp, enum virtio_queue_area area,
			  u64 cur, bool hi, unsigned int len, u64 val)
{
	u64 gpa;

	if (len == 8)
		gpa = val;
	else if (hi)
		gpa = (cur & 0xffffffffULL) | val << 32;
	else
		gpa = (cur & ~0xffffffffULL) | val;
	virtio_queue_set_addr(vp->dev, vp->queue_select, area, gpa);
}

/*
 * The driver wrote 0 to device_status: the transport's registers go back
 * to their reset state at once (§4.1.4.3: vectors unassigned), so a
 * request the I/O thread still finishes interrupts nobody.  ISR and PBA
 * are cleared when the reset completes, in vpci_reset_done().
 */
static void vpci_reset(struct virtio_pci *vp)
{
	unsigned int i;

	pthread_mutex_lock(&vp->msix_lock);
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < vp->nr_queues; i++)
		vp->queues[i].vector = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_unlock(&vp->msix_lock);
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
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

	pthread_mutex_lock(&vp->msix_lock);
	memset(vp->pba, 0, sizeof(vp->pba));
	__atomic_store_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vp->msix_lock);
}

static void vpci_set_queue_vector(struct virtio_pci *vp, u64 val)
{
	if (vp->queue_select >= vp->nr_queues)
		return;
	pthread_mutex_lock(&vp->msix_lock);
	vp->queues[vp->queue_select].vector = vpci_vector(vp, val);
	pthread_mutex_unlock(&vp->msix_lock);
}

/*
 * §4.1.3.1: the driver accesses each field with its own width (8, 16 or
 * 32 bits; a 64-bit address whole or as 32-bit halves).  Writes of any
 * other width or offset are ignored: a 16-bit write of 0x100 at
 * device_status is not a reset.
 */
static bool vpci_common_width_ok(u64 off, unsigned int len)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS:
		return len == 1;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return len == 2;
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return len == 4;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return len == 4 || len == 8;
	default:
		return false;	/* read-only, or inside a field */
	}
}

static void vpci_common_write(struct virtio_pci *vp, u64 off,
			      unsigned int len, u64 val)
{
	struct virtio_dev *dev = vp->dev;
	struct virtio_queue_setup q;
	bool exists = virtio_queue_get_setup(dev, vp->queue_select, &q);

	if (!vpci_common_width_ok(off, len)) {
		pr_debug("virtio-pci: ignored %u-byte common config write at 0x%llx",
			 len, (unsigned long long)off);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio_set_driver_features(dev, vp->gfselect, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		pthread_mutex_lock(&vp->msix_lock);
		vp->config_vector = vpci_vector(vp, val);
		pthread_mutex_unlock(&vp->msix_lock);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_set_status(dev, val);
		if (!val)
			vpci_reset(vp);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = val;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		virtio_queue_set_size(dev, vp->queue_select, val);
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vpci_set_queue_vector(vp, val);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* §4.1.4.3.2: the driver MUST NOT write 0. */
		if (val == 1)
			virtio_queue_set_enabled(dev, vp->queue_select, true);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (exists)
			vpci_set_addr(vp, VIRTIO_QUEUE_DESC, q.desc_gpa,
				      off == VIRTIO_PCI_COMMON_Q_DESCHI, len, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (exists)
			vpci_set_addr(vp, VIRTIO_QUEUE_AVAIL, q.avail_gpa,
				      off == VIRTIO_PCI_COMMON_Q_AVAILHI, len, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (exists)
			vpci_set_addr(vp, VIRTIO_QUEUE_USED, q.used_gpa,
				      off == VIRTIO_PCI_COMMON_Q_USEDHI, len, val);
		break;
	}
}

static void vpci_common_access(struct virtio_pci *vp, u64 off, void *data,
			       unsigned int len, bool is_write)
{
	struct vpci_common_cfg c;
	u64 val = 0;

	pthread_mutex_lock(&vp->lock);
	if (is_write) {
		memcpy(&val, data, len);
		vpci_common_write(vp, off, len, le64toh(val));
	} else if (off + len <= sizeof(c)) {
		vpci_common_snapshot(vp, &c);
		memcpy(data, (u8 *)&c + off, len);
	}
	pthread_mutex_unlock(&vp->lock);
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
		vpci_doorbell(&vp->queues[q]);
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

/* I/O thread: queue @q was kicked. */
static void vpci_kick(int fd, void *arg)
{
	struct vpci_queue *q = arg;
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("virtio-pci: read doorbell: %s",
				    strerror(errno));
	/*
	 * Work left after a batch: ring our own doorbell, so the queue is
	 * served again after the other events epoll has ready.
	 */
	if (virtio_queue_notify(q->vp->dev, q->idx))
		vpci_doorbell(q);
}

static void vpci_ioeventfd_del(struct virtio_pci *vp, struct vpci_queue *q)
{
	if (!q->ioeventfd)
		return;
	ioeventfd_del(vp->vm, q->ioeventfd_addr, q->ioeventfd_len, false, q->fd);
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
		if (ioeventfd_add(vp->vm, addr, lens[i], false, q->fd) == 0) {
			q->ioeventfd = true;
			q->ioeventfd_addr = addr;
			q->ioeventfd_len = lens[i];
			return;
		}
	}
	pr_debug("virtio-pci: no ioeventfd for queue %u; doorbells exit",
		 q->idx);
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

static int vpci_add_msix_cap(struct virtio_pci *vp)
{
	u8 cap[PCI_CAP_MSIX_SIZEOF] = { 0 };
	u16 ctrl = htole16(vp->nr_vectors - 1);
	u32 table = htole32(VPCI_MSIX_TABLE_OFF | VPCI_MSIX_BAR);
	u32 pba = htole32(VPCI_MSIX_PBA_OFF | VPCI_MSIX_BAR);
	unsigned int i;
	int off;

	memcpy(cap + PCI_MSIX_FLAGS, &ctrl, sizeof(ctrl));
	memcpy(cap + PCI_MSIX_TABLE, &table, sizeof(table));
	memcpy(cap + PCI_MSIX_PBA, &pba, sizeof(pba));
	off = pci_add_cap(&vp->pci, PCI_CAP_ID_MSIX, cap, sizeof(cap));
	if (off < 0)
		return off;
	vp->msix_cap = off;
	/* Only enable and function mask are the guest's to write. */
	vp->pci.wmask[off + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	/* Every vector starts masked. */
	for (i = 0; i < vp->nr_vectors; i++)
		vp->table[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASKBIT;
	return 0;
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
	vp->bus_master = true;
	vp->pci.ops = &vpci_ops;
	vp->pci.opaque = vp;

	r = pci_add_bar(&vp->pci, VPCI_BAR, VPCI_BAR_SIZE, vpci_bar_access, vp);
	if (!r)
		r = pci_add_bar(&vp->pci, VPCI_MSIX_BAR, VPCI_MSIX_BAR_SIZE,
				vpci_msix_access, vp);
	if (!r)
		r = vpci_add_msix_cap(vp);
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

	vp->queues = calloc(vp->nr_queues, sizeof(*vp->queues));
	if (!vp->queues)
		return -ENOMEM;
	for (i = 0; i < vp->nr_queues; i++)
		vp->queues[i].fd = -1;
	for (i = 0; i < vp->nr_queues; i++) {
		q = &vp->queues[i];
		q->vp = vp;
		q->idx = i;
		q->vector = VIRTIO_MSI_NO_VECTOR;
		q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->fd < 0)
			return -errno;
		q->ev = ioloop_add(&vp->vm->loop, q->fd, vpci_kick, q);
		if (!q->ev)
			return -ENOMEM;
		virtio_queue(vp->dev, i)->transport = q;
	}
	return 0;
}

/*
 * An irqfd and a GSI for every vector, before the guest runs: an
 * interrupt then never waits for, or fails on, an allocation.  The routes
 * start with an empty message; msix_route() fills it in before the first
 * write to the eventfd.  KVM_SET_GSI_ROUTING replaces the whole table, so
 * we add to lkvm's copy (the irqchip routes are in it) and commit that.
 */
static int vpci_init_vectors(struct virtio_pci *vp)
{
	struct irq_routing *rt = &vp->vm->routing;
	struct vpci_vector *v;
	unsigned int i;
	int r;

	vp->vectors = calloc(vp->nr_vectors, sizeof(*vp->vectors));
	if (!vp->vectors)
		return -ENOMEM;
	for (i = 0; i < vp->nr_vectors; i++)
		vp->vectors[i].fd = -1;
	for (i = 0; i < vp->nr_vectors; i++) {
		v = &vp->vectors[i];
		v->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->fd < 0)
			return -errno;
		r = irq_route_add_msi(rt, 0, 0);
		if (r < 0)
			return r;
		v->gsi = r;
	}
	r = irq_routing_commit(vp->vm, rt);
	for (i = 0; i < vp->nr_vectors && !r; i++) {
		v = &vp->vectors[i];
		r = irqfd_assign(vp->vm, v->fd, v->gsi);
		v->bound = !r;
	}
	return r;
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
	    dev->type->nr_queues + 1 > VPCI_MAX_VECTORS)
		return -EINVAL;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vm = vm;
	vp->dev = dev;
	vp->nr_queues = dev->type->nr_queues;
	/* One vector per queue and one for config changes, as Linux likes. */
	vp->nr_vectors = vp->nr_queues + 1;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->msix_lock, NULL);

	r = vpci_init_queues(vp);
	if (!r)
		r = vpci_init_vectors(vp);
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

void virtio_pci_destroy(struct virtio_pci *vp)
{
	unsigned int i;
	struct vpci_queue *q;

	if (!vp)
		return;
	for (i = 0; vp->queues && i < vp->nr_queues; i++) {
		q = &vp->queues[i];
		vpci_ioeventfd_del(vp, q);
		if (q->ev)
			ioloop_del(&vp->vm->loop, q->ev);
		if (q->fd >= 0)
			close(q->fd);
	}
	free(vp->queues);
	/* Their routes stay in the table: lkvm never unplugs a device. */
	for (i = 0; vp->vectors && i < vp->nr_vectors; i++) {
		if (vp->vectors[i].bound)
			irqfd_deassign(vp->vm, vp->vectors[i].fd,
				       vp->vectors[i].gsi);
		if (vp->vectors[i].fd >= 0)
			close(vp->vectors[i].fd);
	}
	free(vp->vectors);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->msix_lock);
	free(vp);
}
