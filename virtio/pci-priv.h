/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-pci's insides, shared by its two files: virtio/pci.c (the PCI
 * function: BARs, capabilities, doorbells, interrupts) and
 * virtio/pci-common.c (the common configuration registers, §4.1.4.3).
 */
#ifndef LKVM_VIRTIO_PCI_PRIV_H
#define LKVM_VIRTIO_PCI_PRIV_H

#include <pthread.h>
#include <linux/virtio_pci.h>

#include "kvm/ioloop.h"
#include "kvm/msix.h"
#include "kvm/pci.h"
#include "virtio/doorbell.h"
#include "virtio/virtio.h"

/* §4.1.4.3: virtio 1.2 appends two fields to the UAPI's 1.0 layout. */
struct vpci_common_cfg {
	struct virtio_pci_common_cfg v1;
	__le16 queue_notify_data;
	__le16 queue_reset;
};

struct vpci_queue {
	struct virtio_doorbell db;	/* served by the I/O thread */
	bool ioeventfd;		/* KVM signals db.fd itself on a doorbell write */
	u64 ioeventfd_addr;
	u32 ioeventfd_len;
	u16 vector;		/* MSI-X vector; atomic */
};

struct virtio_pci {
	struct pci_dev pci;
	struct vm *vm;
	struct virtio_dev *dev;
	struct vpci_queue *queues;
	unsigned int nr_queues;

	pthread_mutex_t lock;	/* the common config registers below */
	u32 dfselect;
	u32 gfselect;
	u16 queue_select;
	u16 config_vector;	/* MSI-X vector for config changes; atomic */

	u8 isr;			/* atomic */
	u8 cfg_cap;		/* config offset of the PCI_CFG window */
	bool dma;		/* Bus Master Enable, as the device last saw it */
	struct msix msix;	/* in BAR1 */
};

/*
 * A guest access to the common configuration structure at @off.  vCPU
 * threads; takes vp->lock.  Accesses of the wrong width are ignored
 * (§4.1.3.1).
 */
void vpci_common_access(struct virtio_pci *vp, u64 off, void *data,
			unsigned int len, bool is_write);

#endif
