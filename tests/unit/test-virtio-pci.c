// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport, driven the way Linux's virtio_pci_modern
 * driver drives it: find the capabilities in config space, negotiate
 * through the common configuration, enable MSI-X, set up a queue, ring the
 * doorbell and wait for the MSI.  A real PCI bus, MMIO bus, I/O thread
 * and GSI routing table; no /dev/kvm: the KVM ioctls (routing, irqfd,
 * ioeventfd) are stubbed below and recorded, and an MSI is a write to an
 * eventfd bound as an irqfd, which the test reads.  The image file sits
 * behind a disk that can hold a read (to catch the I/O thread mid-request)
 * or play a driver that keeps the ring full.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_pci.h>

#include "kvm/ioloop.h"
#include "kvm/irq.h"
#include "kvm/pci.h"
#include "disk/disk.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/pci.h"
#include "tests/unit/blk-ring.h"
#include "tests/unit/unit.h"

/* ---- KVM stubs ---- */

#define MAX_IRQFDS 8

static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;
static int nr_msi;
static u64 msi_addr;
static u32 msi_data;
static u64 ioevent_added, ioevent_deleted;
/* What KVM was last told: the routing table, and the irqfds. */
static struct kvm_irq_routing_entry routes[IRQ_MAX_ROUTES];
static unsigned int nr_routes, nr_commits;
static struct kvm_irqfd irqfds[MAX_IRQFDS];
static unsigned int nr_irqfds;
/* KVM_SET_GSI_ROUTING fails with this while non-zero (out of memory). */
static int routing_error;

static int stub_irqfd(const struct kvm_irqfd *f)
{
	unsigned int i;

	if (!(f->flags & KVM_IRQFD_FLAG_DEASSIGN)) {
		if (nr_irqfds == MAX_IRQFDS)
			return -ENOSPC;
		irqfds[nr_irqfds++] = *f;
		return 0;
	}
	for (i = 0; i < nr_irqfds; i++) {
		if (irqfds[i].fd == f->fd && irqfds[i].gsi == f->gsi) {
			irqfds[i] = irqfds[--nr_irqfds];
			return 0;
		}
	}
	return -ENOENT;
}

static int stub_routing(const struct kvm_irq_routing *t)
{
	if (routing_error)
		return routing_error;
	if (t->nr > IRQ_MAX_ROUTES)
		return -EINVAL;
	memcpy(routes, t->entries, t->nr * sizeof(routes[0]));
	nr_routes = t->nr;
	nr_commits++;
	return 0;
}

int __kvm_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg)
{
	const struct kvm_ioeventfd *ev = (const void *)arg;
	int r = 0;

	pthread_mutex_lock(&stub_lock);
	switch (cmd) {
	case KVM_IOEVENTFD:
		if (ev->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
			ioevent_deleted = ev->addr;
		else
			ioevent_added = ev->addr;
		break;
	case KVM_IRQFD:
		r = stub_irqfd((const void *)arg);
		break;
	case KVM_SET_GSI_ROUTING:
		r = stub_routing((const void *)arg);
		break;
	case KVM_SIGNAL_MSI: {
		const struct kvm_msi *m = (const void *)arg;

		nr_msi++;
		msi_addr = (u64)m->address_hi << 32 | m->address_lo;
		msi_data = m->data;
		r = 1;
		break;
	}
	default:
		r = -ENOTTY;
	}
	pthread_mutex_unlock(&stub_lock);
	return r;
}

static const struct kvm_irq_routing_entry *route_of(u32 gsi)
{
	unsigned int i;

	for (i = 0; i < nr_routes; i++)
		if (routes[i].gsi == gsi)
			return &routes[i];
	return NULL;
}

/*
 * What KVM would have injected: each write to an irqfd is one MSI of the
 * message its GSI's route holds.  Counted as the test looks.
 */
static int msi_count(void)
{
	const struct kvm_irq_routing_entry *e;
	unsigned int i;
	u64 v;
	int n;

	pthread_mutex_lock(&stub_lock);
	for (i = 0; i < nr_irqfds; i++) {
		if (read(irqfds[i].fd, &v, sizeof(v)) != sizeof(v))
			continue;
		nr_msi += v;
		e = route_of(irqfds[i].gsi);
		if (e && e->type == KVM_IRQ_ROUTING_MSI) {
			msi_addr = (u64)e->u.msi.address_hi << 32 |
				   e->u.msi.address_lo;
			msi_data = e->u.msi.data;
		}
	}
	n = nr_msi;
	pthread_mutex_unlock(&stub_lock);
	return n;
}

static unsigned int commits(void)
{
	unsigned int n;

	pthread_mutex_lock(&stub_lock);
	n = nr_commits;
	pthread_mutex_unlock(&stub_lock);
	return n;
}

/* ---- the machine ---- */

#define RAM_GPA 0x100000ULL
#define DEVFN (1 << 3)		/* slot 0 is the host bridge */
#define MSI_ADDR 0xfee01000ULL

static struct vm vm;
static struct pci_bus bus;
static u8 *ram;
static struct virtio_blk *blk;
static struct virtio_pci *vp;
static char path[64];
static u64 bar0, bar1;
static u8 cap_off[6];	/* by VIRTIO_PCI_CAP_* type */
static u8 msix_off;
static u16 drv_avail_idx;
static int other_fd;		/* another event on the I/O loop */
static int other_seen = -1;	/* used->idx when it was served */

static void queue_read(void);

/* ---- the disk: the image, with hooks in readv ---- */

static struct hook {
	struct disk disk;
	struct disk *raw;
	int block_fd;		/* if >= 0, readv waits for a byte here */
	int entered_fd;		/* ...after writing one here */
	int refills;		/* reads that queue a read, unkicked */
} hook = { .block_fd = -1 };

static int hook_readv(struct disk *d, u64 off, const struct iovec *iov,
		      unsigned int n)
{
	char c = 0;

	if (hook.block_fd >= 0 && (write(hook.entered_fd, &c, 1) != 1 ||
				   read(hook.block_fd, &c, 1) != 1))
		return -EIO;
	if (hook.refills > 0) {
		hook.refills--;
		queue_read();
		/* Meanwhile another event gets ready. */
		if (write(other_fd, &(u64){ 1 }, 8) != 8)
			return -EIO;
	}
	return disk_readv(hook.raw, off, iov, n);
}

static int hook_writev(struct disk *d, u64 off, const struct iovec *iov,
		       unsigned int n)
{
	return disk_writev(hook.raw, off, iov, n);
}

static int hook_flush(struct disk *d)
{
	return disk_flush(hook.raw);
}

static void hook_close(struct disk *d)
{
	disk_close(hook.raw);
}

static const struct disk_ops hook_ops = {
	.readv = hook_readv,
	.writev = hook_writev,
	.flush = hook_flush,
	.close = hook_close,
};

static void other_ready(int fd, void *arg)
{
	struct vring_used *used = (struct vring_used *)(ram + USED_OFF);
	u64 v;

	/* Note when it was first served. */
	if (read(fd, &v, sizeof(v)) == sizeof(v) && other_seen < 0)
		__atomic_store_n(&other_seen, le16toh(used->idx),
				 __ATOMIC_RELEASE);
}

static u32 cfg_read(u32 off, u32 len)
{
	u32 v = 0;

	pci_cfg_read(&bus, 0, DEVFN, off, &v, len);
	return v;
}

static void cfg_write(u32 off, u32 len, u32 v)
{
	pci_cfg_write(&bus, 0, DEVFN, off, &v, len);
}

static u64 mmio_read(u64 addr, unsigned int len)
{
	u64 v = 0;

	io_bus_access(&vm.mmio, addr, &v, len, false);
	return v;
}

static void mmio_write(u64 addr, unsigned int len, u64 v)
{
	io_bus_access(&vm.mmio, addr, &v, len, true);
}

/* Where a virtio structure of @type lives (from its capability). */
static u64 structure(u8 type)
{
	u32 off = cfg_read(cap_off[type] + VIRTIO_PCI_CAP_OFFSET, 4);

	return bar0 + off;
}

static u64 common(u32 field)
{
	return structure(VIRTIO_PCI_CAP_COMMON_CFG) + field;
}

static void make_image(void)
{
	char buf[65536];
	int fd;

	strcpy(path, "/tmp/lkvm-test-vpci-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	memset(buf, 0x3c, sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		abort();
	close(fd);
}

static void setup(void)
{
	static struct guest_mem mem;

	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = -1;
	/* An irqchip route the arch set up: every commit must keep it. */
	irq_routing_init(&vm.routing, 24);
	CHECK_EQ(irq_route_add_irqchip(&vm.routing, 4, KVM_IRQCHIP_IOAPIC, 4), 0);
	CHECK_EQ(irq_routing_commit(&vm, &vm.routing), 0);
	io_bus_init(&vm.mmio, "mmio");
	if (ioloop_init(&vm.loop))
		abort();
	if (pci_bus_init(&bus, &vm, 0xc0000000ULL, 0x10000000ULL))
		abort();
	vm.pci = &bus;

	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram);

	make_image();
	CHECK_EQ(disk_raw_open(path, false, &hook.raw), 0);
	hook.disk = *hook.raw;
	hook.disk.ops = &hook_ops;
	CHECK_EQ(blk_create_disk(&hook.disk, path, &mem, &blk), 0);
	CHECK_EQ(virtio_pci_add(&vm, blk_dev(blk), &vp), 0);
	other_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(ioloop_add(&vm.loop, other_fd, other_ready, NULL) != NULL);
	CHECK_EQ(ioloop_start(&vm.loop), 0);
}

static void teardown(void)
{
	ioloop_stop(&vm.loop);
	virtio_pci_destroy(vp);
	blk_destroy(blk);
	ioloop_fini(&vm.loop);
	close(other_fd);
	unlink(path);
	free(ram);
}

/* ---- tests, in the order a driver goes ---- */

static void test_identity_and_caps(void)
{
	u8 pos, type;
	int n = 0;

	CHECK_EQ(cfg_read(PCI_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_read(PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_BLOCK);
	CHECK(cfg_read(PCI_REVISION_ID, 1) >= 1);
	CHECK(cfg_read(PCI_SUBSYSTEM_ID, 2) >= 0x40);
	CHECK(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	bar0 = cfg_read(PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK;
	bar1 = cfg_read(PCI_BASE_ADDRESS_1, 4) & PCI_BASE_ADDRESS_MEM_MASK;
	CHECK(bar0 && bar1 && bar0 != bar1);

	for (pos = cfg_read(PCI_CAPABILITY_LIST, 1); pos && n < 16;
	     pos = cfg_read(pos + 1, 1), n++) {
		if (cfg_read(pos, 1) == PCI_CAP_ID_MSIX) {
			msix_off = pos;
			continue;
		}
		CHECK_EQ(cfg_read(pos, 1), PCI_CAP_ID_VNDR);
		type = cfg_read(pos + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		CHECK(type < ARRAY_SIZE(cap_off));
		CHECK_EQ(cfg_read(pos + VIRTIO_PCI_CAP_BAR, 1), 0);
		if (type < ARRAY_SIZE(cap_off))
			cap_off[type] = pos;
	}
	CHECK(cap_off[VIRTIO_PCI_CAP_COMMON_CFG]);
	CHECK(cap_off[VIRTIO_PCI_CAP_NOTIFY_CFG]);
	CHECK(cap_off[VIRTIO_PCI_CAP_ISR_CFG]);
	CHECK(cap_off[VIRTIO_PCI_CAP_DEVICE_CFG]);
	CHECK(cap_off[VIRTIO_PCI_CAP_PCI_CFG]);
	CHECK(msix_off);
	/* Linux needs at least the 1.0 common layout. */
	CHECK(cfg_read(cap_off[VIRTIO_PCI_CAP_COMMON_CFG] + VIRTIO_PCI_CAP_LENGTH,
		       4) >= sizeof(struct virtio_pci_common_cfg));
	CHECK_EQ(cfg_read(cap_off[VIRTIO_PCI_CAP_NOTIFY_CFG] +
				  VIRTIO_PCI_NOTIFY_CAP_MULT, 4), 4);
	CHECK_EQ(cfg_read(cap_off[VIRTIO_PCI_CAP_DEVICE_CFG] +
				  VIRTIO_PCI_CAP_LENGTH, 4),
		 sizeof(struct virtio_blk_config));
	/* MSI-X: 2 vectors (queue + config), table and PBA in BAR1. */
	CHECK_EQ(cfg_read(msix_off + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 1);
	CHECK_EQ(cfg_read(msix_off + PCI_MSIX_TABLE, 4) & PCI_MSIX_TABLE_BIR, 1);
	/* The doorbell of queue 0 was handed to KVM as an ioeventfd. */
	CHECK_EQ(ioevent_added, structure(VIRTIO_PCI_CAP_NOTIFY_CFG));
}

static void test_negotiate(void)
{
	u32 f0, f1;

	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 1, 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1), 0);
	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 1,
		   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_write(common(VIRTIO_PCI_COMMON_DFSELECT), 4, 0);
	f0 = mmio_read(common(VIRTIO_PCI_COMMON_DF), 4);
	mmio_write(common(VIRTIO_PCI_COMMON_DFSELECT), 4, 1);
	f1 = mmio_read(common(VIRTIO_PCI_COMMON_DF), 4);
	CHECK(f1 & (1u << (VIRTIO_F_VERSION_1 - 32)));
	CHECK(f0 & (1u << VIRTIO_BLK_F_FLUSH));
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_NUMQ), 2), 1);

	mmio_write(common(VIRTIO_PCI_COMMON_GFSELECT), 4, 0);
	mmio_write(common(VIRTIO_PCI_COMMON_GF), 4, f0);
	mmio_write(common(VIRTIO_PCI_COMMON_GFSELECT), 4, 1);
	mmio_write(common(VIRTIO_PCI_COMMON_GF), 4, f1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_GF), 4), f1);
	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 1,
		   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
}

/* Point the PCI_CFG window at @len bytes at @off in BAR @bar. */
static void window_select(u8 bar, u32 off, u32 len)
{
	u8 c = cap_off[VIRTIO_PCI_CAP_PCI_CFG];

	cfg_write(c + VIRTIO_PCI_CAP_BAR, 1, bar);
	cfg_write(c + VIRTIO_PCI_CAP_OFFSET, 4, off);
	cfg_write(c + VIRTIO_PCI_CAP_LENGTH, 4, len);
}

static u32 window_read(u8 bar, u32 off, u32 len)
{
	window_select(bar, off, len);
	return cfg_read(cap_off[VIRTIO_PCI_CAP_PCI_CFG] +
				offsetof(struct virtio_pci_cfg_cap, pci_cfg_data),
			len == 1 || len == 2 ? len : 4);
}

static void window_write(u8 bar, u32 off, u32 len, u32 v)
{
	window_select(bar, off, len);
	cfg_write(cap_off[VIRTIO_PCI_CAP_PCI_CFG] +
			  offsetof(struct virtio_pci_cfg_cap, pci_cfg_data),
		  len, v);
}

/*
 * §4.1.4.9: every BAR register through config cycles alone, with the same
 * effects as through the BAR; a bad bar, length or alignment does nothing.
 */
static void test_pci_cfg_window(void)
{
	u32 common_off = cfg_read(cap_off[VIRTIO_PCI_CAP_COMMON_CFG] +
					  VIRTIO_PCI_CAP_OFFSET, 4);

	CHECK(cap_off[VIRTIO_PCI_CAP_PCI_CFG]);
	CHECK_EQ(window_read(0, common_off + VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	window_write(0, common_off + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_DFSELECT), 4), 1);
	CHECK(window_read(0, common_off + VIRTIO_PCI_COMMON_DF, 4) &
	      (1u << (VIRTIO_F_VERSION_1 - 32)));
	window_write(0, common_off + VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_DFSELECT), 4), 0);
	/* The MSI-X table in BAR1: vectors start masked. */
	CHECK_EQ(window_read(1, PCI_MSIX_ENTRY_VECTOR_CTRL, 4),
		 PCI_MSIX_ENTRY_CTRL_MASKBIT);
	CHECK_EQ(window_read(1, PCI_MSIX_ENTRY_VECTOR_CTRL, 1),
		 PCI_MSIX_ENTRY_CTRL_MASKBIT);

	/* Invalid combinations read 0 and write nothing. */
	CHECK_EQ(window_read(0, common_off + VIRTIO_PCI_COMMON_NUMQ, 3), 0);
	CHECK_EQ(window_read(0, common_off + VIRTIO_PCI_COMMON_NUMQ + 1, 2), 0);
	CHECK_EQ(window_read(2, 0, 4), 0);
	CHECK_EQ(window_read(0, 0x4000, 4), 0);
	CHECK_EQ(window_read(0, 0xffffffff, 1), 0);
	window_write(0, common_off + VIRTIO_PCI_COMMON_Q_SELECT + 1, 2, 1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_SELECT), 2), 0);
}

static void msix_entry_write(unsigned int vec, u64 addr, u32 data, bool mask)
{
	u64 e = bar1 + vec * PCI_MSIX_ENTRY_SIZE;

	mmio_write(e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (u32)addr);
	mmio_write(e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, addr >> 32);
	mmio_write(e + PCI_MSIX_ENTRY_DATA, 4, data);
	mmio_write(e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
		   mask ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

static void test_msix_and_queue_setup(void)
{
	u64 q = RAM_GPA;

	cfg_write(msix_off + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	msix_entry_write(0, MSI_ADDR, 0x40, false);
	msix_entry_write(1, MSI_ADDR, 0x41, false);

	mmio_write(common(VIRTIO_PCI_COMMON_MSIX), 2, 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_MSIX), 2), 0);
	/* A vector that does not exist reads back as NO_VECTOR. */
	mmio_write(common(VIRTIO_PCI_COMMON_Q_SELECT), 2, 0);
	mmio_write(common(VIRTIO_PCI_COMMON_Q_MSIX), 2, 7);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_MSIX), 2),
		 VIRTIO_MSI_NO_VECTOR);
	mmio_write(common(VIRTIO_PCI_COMMON_Q_MSIX), 2, 1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_MSIX), 2), 1);

	/* A queue that does not exist has size 0 (§4.1.4.3.2). */
	mmio_write(common(VIRTIO_PCI_COMMON_Q_SELECT), 2, 1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), 0);
	mmio_write(common(VIRTIO_PCI_COMMON_Q_SELECT), 2, 0);

	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), BLK_QUEUE_SIZE);
	mmio_write(common(VIRTIO_PCI_COMMON_Q_SIZE), 2, QSIZE);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), QSIZE);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_NOFF), 2), 0);
	/* Addresses as Linux writes them: 32-bit halves. */
	mmio_write(common(VIRTIO_PCI_COMMON_Q_DESCLO), 4, (u32)(q + DESC_OFF));
	mmio_write(common(VIRTIO_PCI_COMMON_Q_DESCHI), 4, 0);
	mmio_write(common(VIRTIO_PCI_COMMON_Q_AVAILLO), 4, (u32)(q + AVAIL_OFF));
	mmio_write(common(VIRTIO_PCI_COMMON_Q_AVAILHI), 4, 0);
	/* ...or one 64-bit access. */
	mmio_write(common(VIRTIO_PCI_COMMON_Q_USEDLO), 8, q + USED_OFF);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_USEDLO), 4), q + USED_OFF);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_AVAILLO), 4),
		 q + AVAIL_OFF);
	mmio_write(common(VIRTIO_PCI_COMMON_Q_ENABLE), 2, 1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 1);

	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 1,
		   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK |
			   VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1),
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_device_config(void)
{
	u64 cfg = structure(VIRTIO_PCI_CAP_DEVICE_CFG);

	CHECK_EQ(mmio_read(cfg + offsetof(struct virtio_blk_config, capacity), 8),
		 65536 / 512);
	CHECK_EQ(mmio_read(cfg + offsetof(struct virtio_blk_config, blk_size), 4),
		 512);
	/* Past the end of config space reads 0. */
	CHECK_EQ(mmio_read(cfg + 0x800, 4), 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_CFGGENERATION), 1), 0);
}

/* Put a 512-byte read of sector 0 on the ring. */
static void queue_read(void)
{
	blk_ring_read(ram, RAM_GPA, &drv_avail_idx);
}

/* ...and ring the doorbell. */
static void submit_read(void)
{
	queue_read();
	/* Linux writes the queue index, 16 bits, at the queue's doorbell. */
	mmio_write(structure(VIRTIO_PCI_CAP_NOTIFY_CFG) + 0, 2, 0);
}

static u16 used_idx(void)
{
	struct vring_used *used = (struct vring_used *)(ram + USED_OFF);

	return le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));
}

/* Wait (bounded) for the I/O thread to complete request number @n. */
static bool wait_used(u16 n)
{
	return blk_ring_wait_used(ram, n);
}

static bool wait_msi(int n)
{
	int i;

	for (i = 0; i < 2000 && msi_count() < n; i++)
		usleep(1000);
	return msi_count() >= n;
}

static void test_request_and_msi(void)
{
	CHECK(wait_used(0));
	submit_read();
	CHECK(wait_used(1));
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA_OFF + 511], 0x3c);
	CHECK(wait_msi(1));
	CHECK_EQ(msi_addr, MSI_ADDR);
	CHECK_EQ(msi_data, 0x41);
	/* Reading the ISR clears it, through the PCI_CFG window too. */
	CHECK_EQ(window_read(0, structure(VIRTIO_PCI_CAP_ISR_CFG) - bar0, 1) & 1,
		 1);
	CHECK_EQ(mmio_read(structure(VIRTIO_PCI_CAP_ISR_CFG), 1), 0);
}

static void test_msix_mask_pending(void)
{
	int before = msi_count();

	/* Masked: the vector becomes pending instead of firing. */
	mmio_write(bar1 + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
		   PCI_MSIX_ENTRY_CTRL_MASKBIT);
	submit_read();
	CHECK(wait_used(2));
	usleep(20000);
	CHECK_EQ(msi_count(), before);
	CHECK_EQ(mmio_read(bar1 + 0x800, 8), 1ULL << 1);

	/* Unmasking delivers it and clears the pending bit. */
	mmio_write(bar1 + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	CHECK_EQ(msi_count(), before + 1);
	CHECK_EQ(mmio_read(bar1 + 0x800, 8), 0);

	/* The function mask works the same way. */
	cfg_write(msix_off + PCI_MSIX_FLAGS, 2,
		  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	submit_read();
	CHECK(wait_used(3));
	usleep(20000);
	CHECK_EQ(msi_count(), before + 1);
	cfg_write(msix_off + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(msi_count(), before + 2);
}

/*
 * MSI-X goes out by irqfd: one eventfd and GSI per vector, and the GSI's
 * route follows the table entry.  KVM's routing table is VM-wide and
 * replaced whole, so every commit also carries the irqchip's routes.
 */
static void test_msix_route_follows_table(void)
{
	const struct kvm_irq_routing_entry *e;
	unsigned int n;
	int before;

	CHECK_EQ(nr_irqfds, 2);
	CHECK(irqfds[0].gsi >= 24 && irqfds[1].gsi >= 24);
	CHECK(irqfds[0].gsi != irqfds[1].gsi);

	/* Linux's way: mask, write the new message, unmask. */
	msix_entry_write(1, MSI_ADDR + 0x2000, 0x51, true);
	n = commits();
	before = msi_count();
	mmio_write(bar1 + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	submit_read();
	CHECK(wait_msi(before + 1));
	CHECK_EQ(msi_addr, MSI_ADDR + 0x2000);
	CHECK_EQ(msi_data, 0x51);
	CHECK_EQ(commits(), n + 1);
	e = route_of(4);
	CHECK(e && e->type == KVM_IRQ_ROUTING_IRQCHIP && e->u.irqchip.pin == 4);

	/* An unchanged message costs no new routing table. */
	submit_read();
	CHECK(wait_msi(before + 2));
	CHECK_EQ(commits(), n + 1);

	msix_entry_write(1, MSI_ADDR, 0x41, false);
}

/*
 * KVM refuses the new routing table (ENOMEM): the interrupt still goes
 * out, by KVM_SIGNAL_MSI with the new message, and lkvm's copy of the
 * table keeps what KVM has, so that no later commit pushes half of it.
 */
static void test_msix_route_commit_fails(void)
{
	const struct kvm_irq_routing_entry *e;
	u32 gsi = irqfds[1].gsi;
	int before;

	msix_entry_write(1, MSI_ADDR + 0x3000, 0x61, true);
	before = msi_count();
	pthread_mutex_lock(&stub_lock);
	routing_error = -ENOMEM;
	pthread_mutex_unlock(&stub_lock);
	mmio_write(bar1 + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	submit_read();
	CHECK(wait_msi(before + 1));
	CHECK_EQ(msi_addr, MSI_ADDR + 0x3000);
	CHECK_EQ(msi_data, 0x61);
	pthread_mutex_lock(&stub_lock);
	routing_error = 0;
	pthread_mutex_unlock(&stub_lock);
	CHECK_EQ(irq_routing_commit(&vm, &vm.routing), 0);
	e = route_of(gsi);
	CHECK(e && e->u.msi.data != 0x61);

	/* With KVM willing again, the route takes the message. */
	submit_read();
	CHECK(wait_msi(before + 2));
	e = route_of(gsi);
	CHECK(e && e->u.msi.data == 0x61);
	msix_entry_write(1, MSI_ADDR, 0x41, false);
}

static void test_bar_move_moves_doorbells(void)
{
	u64 new_bar0 = 0xcf000000ULL;
	u16 done = used_idx();

	cfg_write(PCI_BASE_ADDRESS_0, 4, (u32)new_bar0);
	CHECK_EQ(ioevent_deleted, bar0 + 0x3000);
	CHECK_EQ(ioevent_added, new_bar0 + 0x3000);
	bar0 = new_bar0;
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_NUMQ), 2), 1);
	submit_read();
	CHECK(wait_used(done + 1));
}

/*
 * The driver keeps the ring full and never kicks again (EVENT_IDX: we
 * published no new avail_event).  The queue must still be drained, and
 * the other ready event served long before it is.
 */
static void test_busy_queue_yields(void)
{
	u16 start = used_idx();
	int seen;

	hook.refills = 4 * QSIZE;
	submit_read();
	CHECK(wait_used(start + 1 + 4 * QSIZE));
	seen = __atomic_load_n(&other_seen, __ATOMIC_ACQUIRE);
	CHECK(seen >= 0);
	CHECK((u16)(seen - start) <= 2 * QSIZE);
}

/*
 * §4.1.3.1: each field at its own width.  A 16-bit write of 0x100 at the
 * 8-bit device_status used to reset the device core (as u8 it is 0) but
 * not the transport (as a whole it is not): half a reset.  Now writes of
 * the wrong width are ignored, whatever they hold.
 */
static void test_access_width(void)
{
	u8 live = mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1);
	u16 done = used_idx();

	CHECK(live & VIRTIO_CONFIG_S_DRIVER_OK);
	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 2, 0x100);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1), live);
	/* 32 bits over status, config_generation and queue_select. */
	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 4, 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1), live);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_MSIX), 2), 1);
	/* Part of a 16-bit field. */
	mmio_write(common(VIRTIO_PCI_COMMON_Q_SELECT), 1, 1);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_SELECT), 2), 0);
	mmio_write(common(VIRTIO_PCI_COMMON_MSIX) + 1, 1, 0xff);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_MSIX), 2), 0);
	/* The device still works. */
	submit_read();
	CHECK(wait_used(done + 1));
}

static bool wait_entered(int fd)
{
	char c;

	return poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
		    2000) == 1 && read(fd, &c, 1) == 1;
}

/*
 * Bus Master Enable clear (Linux does it at kexec): the function must not
 * touch memory.  Kicks are not served and MSIs (memory writes) are held
 * pending; setting it again serves the queue without another kick and
 * delivers what was held.
 */
static void test_bus_master(void)
{
	u16 cmd = cfg_read(PCI_COMMAND, 2), done = used_idx();
	int before = msi_count(), block[2], entered[2];
	char c = 0;

	CHECK(cmd & PCI_COMMAND_MASTER);	/* as firmware leaves it */
	cfg_write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	submit_read();
	usleep(20000);
	CHECK_EQ(used_idx(), done);
	CHECK_EQ(msi_count(), before);
	cfg_write(PCI_COMMAND, 2, cmd);
	CHECK(wait_used(done + 1));
	CHECK(wait_msi(before + 1));

	/* Cleared while a request is in flight: it ends, its MSI waits. */
	CHECK_EQ(pipe(block), 0);
	CHECK_EQ(pipe(entered), 0);
	hook.block_fd = block[0];
	hook.entered_fd = entered[1];
	before = msi_count();
	submit_read();
	CHECK(wait_entered(entered[0]));
	cfg_write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	CHECK_EQ(write(block[1], &c, 1), 1);
	CHECK(wait_used(done + 2));
	usleep(20000);
	CHECK_EQ(msi_count(), before);
	CHECK_EQ(mmio_read(bar1 + 0x800, 8), 1ULL << 1);
	cfg_write(PCI_COMMAND, 2, cmd);
	CHECK_EQ(msi_count(), before + 1);
	CHECK_EQ(mmio_read(bar1 + 0x800, 8), 0);
	hook.block_fd = -1;
	close(block[0]);
	close(block[1]);
	close(entered[0]);
	close(entered[1]);
}

static int status_written;

static void *vcpu_write_status_0(void *arg)
{
	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 1, 0);
	__atomic_store_n(&status_written, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * The driver resets the device while the I/O thread is inside a read.  The
 * vCPU's MMIO write returns at once (it holds the bus lock: waiting for a
 * disk there hangs the VM); device_status reads non-zero until the I/O
 * thread has left the device and finished the reset, then 0, as Linux's
 * vp_reset() polls for (virtio 1.2 §4.1.4.3.2).
 */
static void test_reset_while_busy(void)
{
	int block[2], entered[2], i, msis;
	u16 done = used_idx();
	pthread_t vcpu;
	char c = 0;

	/* A completion while the queue's vector is masked: pending. */
	mmio_write(bar1 + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
		   PCI_MSIX_ENTRY_CTRL_MASKBIT);
	submit_read();
	CHECK(wait_used(++done));
	CHECK_EQ(mmio_read(bar1 + 0x800, 8), 1ULL << 1);
	msis = msi_count();

	CHECK_EQ(pipe(block), 0);
	CHECK_EQ(pipe(entered), 0);
	hook.block_fd = block[0];
	hook.entered_fd = entered[1];
	submit_read();
	if (!wait_entered(entered[0])) {
		CHECK(!"the I/O thread took the read");
		/* Let it through if it comes later; leave the pipes open. */
		CHECK_EQ(write(block[1], &c, 1), 1);
		return;
	}
	submit_read();		/* waits behind the one in flight */
	/* The driver wants an interrupt for the one in flight, too. */
	__atomic_store_n(&((struct vring_avail *)(ram + AVAIL_OFF))->ring[QSIZE],
			 htole16(done), __ATOMIC_RELAXED);

	CHECK_EQ(pthread_create(&vcpu, NULL, vcpu_write_status_0, NULL), 0);
	for (i = 0; i < 1000 && !__atomic_load_n(&status_written,
						 __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	CHECK(__atomic_load_n(&status_written, __ATOMIC_SEQ_CST));
	CHECK(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1) != 0);
	/* The transport's own state is reset already. */
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_MSIX), 2),
		 VIRTIO_MSI_NO_VECTOR);

	CHECK_EQ(write(block[1], &c, 1), 1);	/* the read completes */
	for (i = 0; i < 2000 && mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1);
	     i++)
		usleep(1000);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1), 0);
	pthread_join(vcpu, NULL);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
	/* The read in flight completed; the one behind it was left alone. */
	CHECK_EQ(used_idx(), (u16)(done + 1));
	/*
	 * Its completion came after the reset was asked for: the finished
	 * reset leaves no ISR bit and nothing pending, even unmasked.
	 */
	CHECK_EQ(mmio_read(structure(VIRTIO_PCI_CAP_ISR_CFG), 1), 0);
	CHECK_EQ(mmio_read(bar1 + 0x800, 8), 0);
	mmio_write(bar1 + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	CHECK_EQ(msi_count(), msis);

	hook.block_fd = -1;
	close(block[0]);
	close(block[1]);
	close(entered[0]);
	close(entered[1]);
}

static void test_reset(void)
{
	u16 done = used_idx();

	mmio_write(common(VIRTIO_PCI_COMMON_STATUS), 1, 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_STATUS), 1), 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_MSIX), 2),
		 VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_MSIX), 2),
		 VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
	CHECK_EQ(mmio_read(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), BLK_QUEUE_SIZE);
	/* A doorbell on a reset device is ignored. */
	submit_read();
	usleep(20000);
	CHECK_EQ(used_idx(), done);
}

/* The whole sequence shares one device: one test per step, in order. */
static void test_all(void)
{
	setup();
	test_identity_and_caps();
	test_negotiate();
	test_pci_cfg_window();
	test_msix_and_queue_setup();
	test_device_config();
	test_request_and_msi();
	test_msix_mask_pending();
	test_msix_route_follows_table();
	test_msix_route_commit_fails();
	test_bar_move_moves_doorbells();
	test_busy_queue_yields();
	test_access_width();
	test_bus_master();
	test_reset_while_busy();
	test_reset();
	teardown();
}

UNIT_MAIN("virtio-pci", UNIT_TEST(test_all))
