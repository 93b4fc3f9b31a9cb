// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "kvm/log.h"
#include "kvm/pci.h"
#include "kvm/vm.h"

/* A generic host bridge ID (Red Hat's, as QEMU's GPEX uses): no quirks. */
#define HOST_BRIDGE_VENDOR 0x1b36
#define HOST_BRIDGE_DEVICE 0x0008
#define CLASS_HOST_BRIDGE 0x060000

static void put16(u8 *p, u16 v) { memcpy(p, &v, 2); }
static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static u32 get32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u16 get16(const u8 *p) { u16 v; memcpy(&v, p, 2); return v; }

void pci_dev_init(struct pci_dev *d, u16 vendor, u16 device, u32 class_code,
		  u16 subsys_vendor, u16 subsys_id)
{
	memset(d, 0, sizeof(*d));
	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	put32(d->cfg + PCI_CLASS_REVISION, class_code << 8 | 0x01);
	d->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	put16(d->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	/* Memory decoding and bus mastering; INTx can be disabled (no pin). */
	put16(d->wmask + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				      PCI_COMMAND_INTX_DISABLE);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->next_cap = 0x40; /* capabilities start after the standard header */
}

int pci_add_bar(struct pci_dev *d, int bar, u64 size, io_access_fn *access,
		void *opaque)
{
	if (bar < 0 || bar >= PCI_NUM_BARS || size < SZ_4K ||
	    (size & (size - 1)) || size > SZ_1G)
		return -EINVAL;
	d->bar[bar].size = size;
	d->bar[bar].range = (struct io_range){ .len = size, .access = access,
					       .opaque = opaque };
	return 0;
}

int pci_add_cap(struct pci_dev *d, u8 id, const void *body, u8 len)
{
	u8 off = d->next_cap, *last;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(d->cfg + off, body, len);
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	/* Link it at the end of the list. */
	last = &d->cfg[PCI_CAPABILITY_LIST];
	while (*last)
		last = &d->cfg[*last + 1];
	*last = off;
	put16(d->cfg + PCI_STATUS, get16(d->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->next_cap = ALIGN_UP(off + len, 4);
	return off;
}

/* Make BAR @i's MMIO range match the command register and BAR value. */
static void bar_sync(struct pci_dev *d, int i)
{
	struct pci_bar *b = &d->bar[i];
	struct vm *vm = d->bus->vm;
	bool want = get16(d->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY;
	u64 addr = get32(d->cfg + PCI_BASE_ADDRESS_0 + 4 * i) &
		   PCI_BASE_ADDRESS_MEM_MASK;
	int r = 0;

	if (!b->size)
		return;
	/* While a BAR is being sized it reads ~(size - 1): not an address. */
	if (want && addr == (u32)~(b->size - 1))
		want = false;

	if (want && !b->mapped) {
		b->range.base = addr;
		r = io_bus_register(&vm->mmio, &b->range);
	} else if (want && b->mapped && addr != b->addr) {
		r = io_bus_move(&vm->mmio, &b->range, addr);
	} else if (!want && b->mapped) {
		io_bus_unregister(&vm->mmio, &b->range);
		b->mapped = false;
		if (d->ops && d->ops->bar_update)
			d->ops->bar_update(d, i, false, b->addr);
		return;
	} else {
		return;
	}
	if (r) {
		pr_warn_ratelimited("PCI %02x.%x BAR%d at 0x%llx overlaps another device; left %s",
				    d->devfn >> 3, d->devfn & 7, i,
				    (unsigned long long)addr,
				    b->mapped ? "where it was" : "unmapped");
		return;
	}
	b->mapped = true;
	b->addr = addr;
	if (d->ops && d->ops->bar_update)
		d->ops->bar_update(d, i, true, addr);
}

int pci_register(struct pci_bus *bus, struct pci_dev *d)
{
	unsigned int slot, i;
	u64 addr;

	for (slot = 0; slot < PCI_MAX_DEVICES && bus->dev[slot]; slot++)
		;
	if (slot == PCI_MAX_DEVICES)
		return -ENOSPC;

	/* Firmware's job: give each BAR a naturally aligned address. */
	for (i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bar[i];

		if (!b->size)
			continue;
		addr = ALIGN_UP(bus->mmio_next, b->size);
		if (addr + b->size > bus->mmio_end)
			return -ENOSPC;
		bus->mmio_next = addr + b->size;
		put32(d->cfg + PCI_BASE_ADDRESS_0 + 4 * i,
		      (u32)addr | PCI_BASE_ADDRESS_SPACE_MEMORY |
			      PCI_BASE_ADDRESS_MEM_TYPE_32);
	}
	d->bus = bus;
	d->devfn = slot << 3;
	put16(d->cfg + PCI_COMMAND, get16(d->cfg + PCI_COMMAND) | PCI_COMMAND_MEMORY);
	pthread_mutex_lock(&bus->lock);
	bus->dev[slot] = d;
	for (i = 0; i < PCI_NUM_BARS; i++)
		bar_sync(d, i);
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

int pci_bus_init(struct pci_bus *bus, struct vm *vm, u64 mmio_base, u64 mmio_size)
{
	memset(bus, 0, sizeof(*bus));
	bus->vm = vm;
	pthread_mutex_init(&bus->lock, NULL);
	bus->mmio_next = mmio_base;
	bus->mmio_end = mmio_base + mmio_size;
	pci_dev_init(&bus->host_bridge, HOST_BRIDGE_VENDOR, HOST_BRIDGE_DEVICE,
		     CLASS_HOST_BRIDGE, 0, 0);
	return pci_register(bus, &bus->host_bridge);
}

static struct pci_dev *find_dev(struct pci_bus *bus, u8 busnr, u8 devfn)
{
	/* Single-function devices on bus 0 only. */
	if (busnr != 0 || (devfn & 7))
		return NULL;
	return bus->dev[devfn >> 3];
}

static bool valid_access(u32 offset, u32 len)
{
	return (len == 1 || len == 2 || len == 4) && offset < PCI_CFG_SIZE &&
	       offset % len == 0;
}

void pci_cfg_read(struct pci_bus *bus, u8 busnr, u8 devfn, u32 offset,
		  void *data, u32 len)
{
	struct pci_dev *d;

	pthread_mutex_lock(&bus->lock);
	d = find_dev(bus, busnr, devfn);
	if (d && valid_access(offset, len)) {
		if (d->ops && d->ops->cfg_read)
			d->ops->cfg_read(d, offset, len);
		memcpy(data, d->cfg + offset, len);
	} else
		memset(data, 0xff, len); /* no device: master abort */
	pthread_mutex_unlock(&bus->lock);
}

/* A BAR write: only the address bits are writable, the rest is type. */
static void bar_write(struct pci_dev *d, u32 offset, const u8 *data, u32 len)
{
	int i = (offset - PCI_BASE_ADDRESS_0) / 4;
	u32 shift = (offset & 3) * 8, v = 0, mask;

	if (!d->bar[i].size)
		return; /* unimplemented BARs read 0 and ignore writes */
	memcpy(&v, data, len);
	mask = (u32)~(d->bar[i].size - 1);
	if (len < 4)
		mask &= ((1U << (len * 8)) - 1) << shift;
	v <<= shift;
	put32(d->cfg + offset - (offset & 3),
	      (get32(d->cfg + PCI_BASE_ADDRESS_0 + 4 * i) & ~mask) | (v & mask));
}

void pci_cfg_write(struct pci_bus *bus, u8 busnr, u8 devfn, u32 offset,
		   const void *data, u32 len)
{
	const u8 *p = data;
	struct pci_dev *d;
	unsigned int i;

	pthread_mutex_lock(&bus->lock);
	d = find_dev(bus, busnr, devfn);
	if (!d || !valid_access(offset, len))
		goto out;

	if (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_0 + 24) {
		bar_write(d, offset, p, len);
	} else {
		for (i = 0; i < len; i++)
			d->cfg[offset + i] = (d->cfg[offset + i] & ~d->wmask[offset + i]) |
					     (p[i] & d->wmask[offset + i]);
	}
	if (offset < PCI_BASE_ADDRESS_0 + 24 && offset + len > PCI_COMMAND)
		for (i = 0; i < PCI_NUM_BARS; i++)
			bar_sync(d, i);
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d, offset, len);
out:
	pthread_mutex_unlock(&bus->lock);
}

void pci_dev_load_cfg(struct pci_dev *d, const u8 cfg[PCI_CFG_SIZE])
{
	unsigned int i;
	u32 mask;

	pthread_mutex_lock(&d->bus->lock);
	for (i = 0; i < PCI_CFG_SIZE; i++) {
		if (i >= PCI_BASE_ADDRESS_0 && i < PCI_BASE_ADDRESS_0 + 24)
			continue;
		d->cfg[i] = (d->cfg[i] & ~d->wmask[i]) | (cfg[i] & d->wmask[i]);
	}
	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (!d->bar[i].size)
			continue;
		mask = (u32)~(d->bar[i].size - 1);
		put32(d->cfg + PCI_BASE_ADDRESS_0 + 4 * i,
		      (get32(d->cfg + PCI_BASE_ADDRESS_0 + 4 * i) & ~mask) |
			      (get32(cfg + PCI_BASE_ADDRESS_0 + 4 * i) & mask));
	}
	for (i = 0; i < PCI_NUM_BARS; i++)
		bar_sync(d, i);
	pthread_mutex_unlock(&d->bus->lock);
}
