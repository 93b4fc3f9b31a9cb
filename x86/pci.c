// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration mechanism #1: the guest writes an address to port
 * 0xcf8 and moves data through 0xcfc-0xcff (PCI Local Bus 3.0, 3.2.2.3.2).
 * Port 0xcf9, inside the same range, is the PIIX/ICH reset control register
 * when accessed as a single byte; it goes to the power device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/migrate-stream.h"
#include "kvm/pci.h"
#include "kvm/vm.h"
#include "x86/layout.h"
#include "x86/pci.h"
#include "x86/power.h"

#define CONF1_ADDR_PORT 0xcf8
#define CONF1_DATA_PORT 0xcfc
#define CONF1_ENABLE (1U << 31)

struct conf1 {
	struct vm_device dev;
	struct vm *vm;
	struct pci_bus bus;
	struct io_range range;
	u32 addr; /* the address register; atomic */
	bool has_bus; /* false: no PCI, only the reset register */
};

static void conf1_access(struct io_range *r, u64 offset, void *data,
			 unsigned int len, bool is_write)
{
	struct conf1 *c = r->opaque;
	u32 port = CONF1_ADDR_PORT + offset, a;

	if (port == ACPI_RESET_PORT && len == 1 && is_write) {
		power_reset_write(c->vm, *(u8 *)data);
		return;
	}
	if (!c->has_bus) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (port < CONF1_DATA_PORT) {
		if (port == CONF1_ADDR_PORT && len == 4) {
			if (is_write)
				__atomic_store_n(&c->addr, *(u32 *)data, __ATOMIC_RELAXED);
			else
				*(u32 *)data = __atomic_load_n(&c->addr, __ATOMIC_RELAXED);
		} else if (!is_write) {
			memset(data, 0, len);
		}
		return;
	}

	a = __atomic_load_n(&c->addr, __ATOMIC_RELAXED);
	if (!(a & CONF1_ENABLE)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	/* bus 23:16, device/function 15:8, register 7:2, byte from the port */
	if (is_write)
		pci_cfg_write(&c->bus, (a >> 16) & 0xff, (a >> 8) & 0xff,
			      (a & 0xfc) | (port - CONF1_DATA_PORT), data, len);
	else
		pci_cfg_read(&c->bus, (a >> 16) & 0xff, (a >> 8) & 0xff,
			     (a & 0xfc) | (port - CONF1_DATA_PORT), data, len);
}

/*
 * Everything on the bus has been destroyed before us (devices go in
 * reverse order, and transports are added after the bus).
 */
static void conf1_destroy(struct vm_device *dev)
{
	struct conf1 *c = dev->priv;

	if (c->vm->pci == &c->bus)
		c->vm->pci = NULL;
	pthread_mutex_destroy(&c->bus.lock);
	free(c);
}

/* The address latch and the host bridge; functions save their own. */
static int conf1_save(struct vm_device *dev, struct state_out *out)
{
	struct conf1 *c = dev->priv;

	state_put_u32(out, __atomic_load_n(&c->addr, __ATOMIC_RELAXED));
	pthread_mutex_lock(&c->bus.lock);
	state_put(out, c->bus.host_bridge.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&c->bus.lock);
	return out->err;
}

static int conf1_load(struct vm_device *dev, struct state_in *in)
{
	struct conf1 *c = dev->priv;
	u32 addr = state_get_u32(in);
	const u8 *cfg = state_get_ptr(in, PCI_CFG_SIZE);

	if (in->err)
		return in->err;
	__atomic_store_n(&c->addr, addr, __ATOMIC_RELAXED);
	pci_dev_load_cfg(&c->bus.host_bridge, cfg);
	return 0;
}

static const struct vm_device_ops conf1_ops = {
	.destroy = conf1_destroy,
	.save = conf1_save,
	.load = conf1_load,
};

int x86_pci_init(struct vm *vm, bool bus)
{
	struct conf1 *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->has_bus = bus;
	c->dev = (struct vm_device){ .ops = &conf1_ops, .name = "pci",
				     .priv = c };
	r = pci_bus_init(&c->bus, vm, PCI_MMIO_BASE, PCI_MMIO_SIZE);
	if (r) {
		free(c);
		return r;
	}
	r = vm_add_device(vm, &c->dev);
	if (r) {
		pthread_mutex_destroy(&c->bus.lock);
		free(c);
		return r;
	}
	c->range = (struct io_range){ CONF1_ADDR_PORT, 8, conf1_access, c };
	r = vm_register_pio(vm, &c->range);
	if (!r && bus)
		vm->pci = &c->bus;
	return r;
}
