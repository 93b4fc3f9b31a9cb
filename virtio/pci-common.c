// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-pci's common configuration structure (virtio 1.2 §4.1.4.3):
 * feature negotiation, device status and queue setup, as registers.  Each
 * access becomes a call on the device core (virtio/virtio.h), which keeps
 * the state and enforces the spec; this file only decodes.  MSI-X vector
 * numbers are the transport's own: what they mean is in virtio/pci.c.
 */
#include <endian.h>
#include <string.h>

#include "kvm/log.h"
#include "virtio/pci-priv.h"

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
	c->v1.msix_config =
		htole16(__atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED));
	if (exists)
		c->v1.queue_msix_vector = htole16(
			__atomic_load_n(&vp->queues[sel].vector, __ATOMIC_RELAXED));
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
	return val < vp->msix.nr ? val : VIRTIO_MSI_NO_VECTOR;
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

	__atomic_store_n(&vp->config_vector, VIRTIO_MSI_NO_VECTOR,
			 __ATOMIC_RELAXED);
	for (i = 0; i < vp->nr_queues; i++)
		__atomic_store_n(&vp->queues[i].vector, VIRTIO_MSI_NO_VECTOR,
				 __ATOMIC_RELAXED);
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
}

static void vpci_set_queue_vector(struct virtio_pci *vp, u64 val)
{
	if (vp->queue_select >= vp->nr_queues)
		return;
	__atomic_store_n(&vp->queues[vp->queue_select].vector,
			 vpci_vector(vp, val), __ATOMIC_RELAXED);
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
		__atomic_store_n(&vp->config_vector, vpci_vector(vp, val),
				 __ATOMIC_RELAXED);
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

void vpci_common_access(struct virtio_pci *vp, u64 off, void *data,
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

