// SPDX-License-Identifier: GPL-2.0
/*
 * MSI-X on its own (kvm/msix.c), on a bare PCI function: the capability,
 * the table and PBA in their BAR, masking, pending bits, Bus Master
 * Enable, routes that follow the table, the KVM_SIGNAL_MSI fallback and
 * the device id the ITS needs.  No /dev/kvm: the KVM ioctls are stubbed
 * and recorded, and an interrupt is a write to an irqfd's eventfd, which
 * the test reads.
 */
#include <endian.h>
#include <errno.h>
#include <unistd.h>

#include "kvm/irq.h"
#include "kvm/msix.h"
#include "kvm/pci.h"
#include "kvm/vm.h"
#include "tests/unit/unit.h"

#define NR_VEC 3
#define MSIX_BAR 1
#define DEVFN (1 << 3)
#define MSG_ADDR 0xfee00000ULL

/* ---- KVM stubs: what KVM was last told ---- */

static struct kvm_irq_routing_entry routes[IRQ_MAX_ROUTES];
static unsigned int nr_routes, nr_commits;
static int routing_error;	/* KVM_SET_GSI_ROUTING fails with this */
static struct kvm_irqfd irqfds[8];
static unsigned int nr_irqfds;
static struct kvm_msi signalled;
static int nr_signalled;

int __kvm_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg)
{
	const struct kvm_irq_routing *t = (const void *)arg;

	switch (cmd) {
	case KVM_SET_GSI_ROUTING:
		if (routing_error)
			return routing_error;
		memcpy(routes, t->entries, t->nr * sizeof(routes[0]));
		nr_routes = t->nr;
		nr_commits++;
		return 0;
	case KVM_IRQFD:
		irqfds[nr_irqfds++] = *(const struct kvm_irqfd *)arg;
		return 0;
	case KVM_SIGNAL_MSI:
		signalled = *(const struct kvm_msi *)arg;
		nr_signalled++;
		return 1;
	}
	return -ENOTTY;
}

static const struct kvm_irq_routing_entry *route_of(u32 gsi)
{
	for (unsigned int i = 0; i < nr_routes; i++)
		if (routes[i].gsi == gsi)
			return &routes[i];
	return NULL;
}

/* ---- the function ---- */

static struct vm vm;
static struct pci_bus bus;
static struct pci_dev dev;
static struct msix m;
static u64 bar;

static u64 bar_read(u64 off, unsigned int len)
{
	u64 v = 0;

	io_bus_access(&vm.mmio, bar + off, &v, len, false);
	return v;
}

static void bar_write(u64 off, unsigned int len, u64 v)
{
	io_bus_access(&vm.mmio, bar + off, &v, len, true);
}

static void cfg_write16(u32 off, u16 v)
{
	pci_cfg_write(&bus, 0, DEVFN, off, &v, 2);
	msix_cfg_write(&m);	/* as the function's cfg_write hook does */
}

static u16 cfg_read16(u32 off)
{
	u16 v = 0;

	pci_cfg_read(&bus, 0, DEVFN, off, &v, 2);
	return v;
}

/* Interrupts vector @vec sent through its irqfd since the last look. */
static u64 fired(unsigned int vec)
{
	u64 n = 0;

	if (read(m.vec[vec].fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void program(unsigned int vec, u32 data, bool masked)
{
	u64 e = vec * PCI_MSIX_ENTRY_SIZE;

	bar_write(e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (u32)MSG_ADDR);
	bar_write(e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
	bar_write(e + PCI_MSIX_ENTRY_DATA, 4, data);
	bar_write(e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
		  masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

static bool pending(unsigned int vec)
{
	return bar_read(MSIX_PBA_OFF, 8) & (1ULL << vec);
}

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = -1;
	nr_routes = nr_commits = nr_irqfds = nr_signalled = 0;
	routing_error = 0;
	irq_routing_init(&vm.routing, 24);
	io_bus_init(&vm.mmio, "mmio");
	if (pci_bus_init(&bus, &vm, 0xc0000000ULL, 0x1000000ULL))
		abort();
	pci_dev_init(&dev, 0x1af4, 0x1042, 0x018000, 0x1af4, 0x1100);
	CHECK_EQ(msix_init(&m, &vm, &dev, NR_VEC, MSIX_BAR), 0);
	CHECK_EQ(pci_register(&bus, &dev), 0);
	bar = dev.bar[MSIX_BAR].addr;
}

static void teardown(void)
{
	msix_destroy(&m);
}

/* The capability says where the table and PBA are, and how many. */
static void test_capability(void)
{
	u32 table, pba;

	setup();
	CHECK_EQ(dev.cfg[m.cap], PCI_CAP_ID_MSIX);
	CHECK_EQ(cfg_read16(m.cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE,
		 NR_VEC - 1);
	memcpy(&table, dev.cfg + m.cap + PCI_MSIX_TABLE, 4);
	memcpy(&pba, dev.cfg + m.cap + PCI_MSIX_PBA, 4);
	CHECK_EQ(le32toh(table), MSIX_BAR);
	CHECK_EQ(le32toh(pba), MSIX_PBA_OFF | MSIX_BAR);
	CHECK_EQ(dev.bar[MSIX_BAR].size, MSIX_BAR_SIZE);
	/* An irqfd and a GSI route per vector, before the guest runs. */
	CHECK_EQ(nr_irqfds, NR_VEC);
	CHECK_EQ(nr_routes, NR_VEC);
	/* Every vector starts masked; only Enable and Mask are writable. */
	for (unsigned int v = 0; v < NR_VEC; v++)
		CHECK(bar_read(v * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4) &
		      PCI_MSIX_ENTRY_CTRL_MASKBIT);
	cfg_write16(m.cap + PCI_MSIX_FLAGS, 0xffff);
	CHECK_EQ(cfg_read16(m.cap + PCI_MSIX_FLAGS),
		 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NR_VEC - 1));
	teardown();
}

static void enable(void)
{
	cfg_write16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_write16(m.cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
}

/* Disabled: nothing; enabled and unmasked: the route's message, once. */
static void test_fire(void)
{
	const struct kvm_irq_routing_entry *e;

	setup();
	program(1, 0x41, false);
	CHECK_EQ(msix_notify(&m, 1), 0);
	CHECK_EQ(fired(1), 0);
	CHECK(!pending(1));
	enable();
	CHECK_EQ(msix_notify(&m, 1), 0);
	CHECK_EQ(fired(1), 1);
	e = route_of(m.vec[1].gsi);
	CHECK(e && e->type == KVM_IRQ_ROUTING_MSI);
	CHECK(e && e->u.msi.address_lo == (u32)MSG_ADDR && e->u.msi.data == 0x41);
	/* x86: no device id for KVM. */
	CHECK(e && e->flags == 0 && e->u.msi.devid == 0);
	/* A vector that does not exist (NO_VECTOR) raises nothing. */
	CHECK_EQ(msix_notify(&m, 0xffff), 0);
	CHECK_EQ(msix_notify(&m, NR_VEC), 0);
	teardown();
}

/* Masked: pending in the PBA; unmasked: it fires then, once. */
static void test_mask_pending(void)
{
	setup();
	enable();
	program(0, 0x30, true);
	msix_notify(&m, 0);
	msix_notify(&m, 0);
	CHECK_EQ(fired(0), 0);
	CHECK(pending(0));
	program(0, 0x30, false);
	CHECK_EQ(fired(0), 1);
	CHECK(!pending(0));

	/* The function mask holds every vector. */
	cfg_write16(m.cap + PCI_MSIX_FLAGS,
		    PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_notify(&m, 0);
	CHECK_EQ(fired(0), 0);
	CHECK(pending(0));
	cfg_write16(m.cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(fired(0), 1);

	/* A reset of the function forgets what was pending. */
	program(0, 0x30, true);
	msix_notify(&m, 0);
	msix_clear_pending(&m);
	CHECK(!pending(0));
	program(0, 0x30, false);
	CHECK_EQ(fired(0), 0);
	teardown();
}

/* Without Bus Master Enable an MSI (a memory write) waits. */
static void test_bus_master(void)
{
	setup();
	enable();
	program(2, 0x52, false);
	cfg_write16(PCI_COMMAND, PCI_COMMAND_MEMORY);
	msix_notify(&m, 2);
	CHECK_EQ(fired(2), 0);
	CHECK(pending(2));
	cfg_write16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK_EQ(fired(2), 1);
	teardown();
}

/* The route follows the table, and KVM hears of it only on a change. */
static void test_route_follows_table(void)
{
	unsigned int before;
	const struct kvm_irq_routing_entry *e;

	setup();
	enable();
	program(1, 0x41, false);
	msix_notify(&m, 1);
	before = nr_commits;
	msix_notify(&m, 1);
	CHECK_EQ(nr_commits, before);
	program(1, 0x42, false);
	msix_notify(&m, 1);
	CHECK_EQ(nr_commits, before + 1);
	e = route_of(m.vec[1].gsi);
	CHECK(e && e->u.msi.data == 0x42);
	CHECK_EQ(fired(1), 3);
	teardown();
}

/* KVM refuses the new table: this MSI goes by hand, the route stays. */
static void test_commit_fails(void)
{
	const struct kvm_irq_routing_entry *e;

	setup();
	enable();
	program(0, 0x41, false);
	msix_notify(&m, 0);
	CHECK_EQ(fired(0), 1);
	program(0, 0x77, false);
	routing_error = -ENOMEM;
	CHECK_EQ(msix_notify(&m, 0), 0);
	CHECK_EQ(nr_signalled, 1);
	CHECK_EQ(signalled.data, 0x77);
	CHECK_EQ(fired(0), 0);
	/* lkvm's copy is what KVM has, so other commits do not carry it. */
	routing_error = 0;
	irq_routing_commit(&vm, &vm.routing);
	e = route_of(m.vec[0].gsi);
	CHECK(e && e->u.msi.data == 0x41);
	teardown();
}

/* Where KVM wants it (arm64's ITS), each MSI says which device sent it. */
static void test_devid(void)
{
	const struct kvm_irq_routing_entry *e;

	setup();
	vm.routing.msi_devid = true;
	enable();
	program(1, 0x41, false);
	msix_notify(&m, 1);
	e = route_of(m.vec[1].gsi);
	CHECK(e && e->flags == KVM_MSI_VALID_DEVID);
	CHECK(e && e->u.msi.devid == DEVFN);
	program(1, 0x42, false);
	routing_error = -ENOMEM;
	msix_notify(&m, 1);
	CHECK_EQ(signalled.flags, KVM_MSI_VALID_DEVID);
	CHECK_EQ(signalled.devid, DEVFN);
	teardown();
}

/* Nonsense the guest writes into the BAR reaches no memory past it. */
static void test_bar_bounds(void)
{
	setup();
	bar_write(MSIX_PBA_OFF, 8, ~0ULL);	/* the PBA is read-only */
	CHECK_EQ(bar_read(MSIX_PBA_OFF, 8), 0);
	bar_write(NR_VEC * 16, 4, 0x1234);	/* past the table */
	CHECK_EQ(bar_read(NR_VEC * 16, 4), 0);
	CHECK_EQ(bar_read(MSIX_BAR_SIZE - 4, 4), 0);
	CHECK_EQ(msix_init(&(struct msix){ 0 }, &vm, &dev, 0, 2), -EINVAL);
	CHECK_EQ(msix_init(&(struct msix){ 0 }, &vm, &dev,
			   MSIX_MAX_VECTORS + 1, 2), -EINVAL);
	teardown();
}

UNIT_MAIN("msix", UNIT_TEST(test_capability), UNIT_TEST(test_fire),
	  UNIT_TEST(test_mask_pending), UNIT_TEST(test_bus_master),
	  UNIT_TEST(test_route_follows_table), UNIT_TEST(test_commit_fails),
	  UNIT_TEST(test_devid), UNIT_TEST(test_bar_bounds))
