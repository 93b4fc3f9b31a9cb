/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A PCI bus 0 with conventional (256-byte) configuration space.
 *
 * lkvm plays firmware: BARs get addresses in the 32-bit PCI MMIO window at
 * registration and memory decoding is on, so Linux keeps the assignment.
 * The guest may still move a BAR or turn decoding off; the bus then moves
 * or drops the BAR's MMIO range and tells the device (bar_update), which
 * must follow with anything else it put at that address, such as the
 * ioeventfds of virtio's notify area.
 *
 * Which config bits the guest may write is per byte in wmask; everything
 * else is read-only.  BARs are handled by the bus.  Capabilities are laid
 * out by the device with pci_add_cap().
 */
#ifndef LKVM_PCI_H
#define LKVM_PCI_H

#include <pthread.h>
#include <linux/pci_regs.h>

#include "kvm/iobus.h"
#include "kvm/types.h"

#define PCI_MAX_DEVICES 32
#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6

struct vm;
struct pci_dev;

struct pci_bar {
	u64 size;		/* power of two, >= 4 KiB; 0: unused */
	u64 addr;		/* where the guest put it */
	bool mapped;		/* registered on the MMIO bus */
	struct io_range range;
};

struct pci_dev_ops {
	/* After a guest config write (BARs and command already handled). */
	void (*cfg_write)(struct pci_dev *d, u32 offset, u32 len);
	/*
	 * Before a guest config read of [offset, offset + len): the device
	 * may refresh those bytes of cfg first (a window onto a BAR).
	 */
	void (*cfg_read)(struct pci_dev *d, u32 offset, u32 len);
	/* A BAR was mapped at addr, moved there, or unmapped. */
	void (*bar_update)(struct pci_dev *d, int bar, bool mapped, u64 addr);
};

struct pci_dev {
	u8 cfg[PCI_CFG_SIZE];
	u8 wmask[PCI_CFG_SIZE];
	struct pci_bar bar[PCI_NUM_BARS];
	const struct pci_dev_ops *ops;
	void *opaque;
	u8 devfn;
	u8 next_cap; /* where pci_add_cap() puts the next capability */
	struct pci_bus *bus;
};

struct pci_bus {
	struct vm *vm;
	pthread_mutex_t lock; /* config space of every device */
	struct pci_dev *dev[PCI_MAX_DEVICES];
	struct pci_dev host_bridge;
	u64 mmio_next, mmio_end;
};

int pci_bus_init(struct pci_bus *bus, struct vm *vm, u64 mmio_base, u64 mmio_size);

/* IDs and class, then BARs and capabilities, then pci_register(). */
void pci_dev_init(struct pci_dev *d, u16 vendor, u16 device, u32 class_code,
		  u16 subsys_vendor, u16 subsys_id);
/* A 32-bit non-prefetchable memory BAR of @size bytes served by @access. */
int pci_add_bar(struct pci_dev *d, int bar, u64 size, io_access_fn *access,
		void *opaque);
/*
 * Append a capability: @body is the capability from its ID byte on (the
 * bus fills the ID and next pointer); returns its config offset or -ENOSPC.
 */
int pci_add_cap(struct pci_dev *d, u8 id, const void *body, u8 len);
int pci_register(struct pci_bus *bus, struct pci_dev *d);

/*
 * Migration: put config space back as the source had it.  Only the bits
 * a guest could have written change (wmask, and BAR addresses), so a
 * stream cannot turn a device into another; BARs then move to where the
 * guest had put them.  The device's own side effects (bus mastering,
 * MSI-X enable) are its owner's to apply.
 */
void pci_dev_load_cfg(struct pci_dev *d, const u8 cfg[PCI_CFG_SIZE]);

/* Config access by bus/devfn, from a transport such as x86 conf1. */
void pci_cfg_read(struct pci_bus *bus, u8 busnr, u8 devfn, u32 offset,
		  void *data, u32 len);
void pci_cfg_write(struct pci_bus *bus, u8 busnr, u8 devfn, u32 offset,
		   const void *data, u32 len);

#endif
