// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport, driven the way Linux's virtio_mmio driver
 * drives it: check the identity registers, negotiate features 32 bits at a
 * time, set up a queue through QueueSel, kick it through QueueNotify, take
 * the interrupt and acknowledge it.  A real MMIO bus, I/O thread and disk;
 * no /dev/kvm: the KVM ioctls (ioeventfd, irqfd, irq line) are stubbed and
 * recorded, and an interrupt is a write to the eventfd bound as an irqfd,
 * which the test reads.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "disk/disk.h"
#include "kvm/ioloop.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "tests/unit/blk-ring.h"
#include "tests/unit/unit.h"

#define BASE 0xfeb00000ULL
#define GSI 16

/* ---- KVM and arch stubs ---- */

static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvm_ioeventfd ioevent;	/* the last one assigned */
static unsigned int ioevents;		/* assigned minus deassigned */
static struct kvm_irqfd irqfd;		/* the one bound */
static bool irqfd_bound;

int __kvm_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg)
{
	const struct kvm_ioeventfd *ev = (const void *)arg;
	const struct kvm_irqfd *f = (const void *)arg;
	int r = 0;

	pthread_mutex_lock(&stub_lock);
	switch (cmd) {
	case KVM_IOEVENTFD:
		if (ev->flags & KVM_IOEVENTFD_FLAG_DEASSIGN) {
			ioevents--;
		} else {
			ioevent = *ev;
			ioevents++;
		}
		break;
	case KVM_IRQFD:
		irqfd_bound = !(f->flags & KVM_IRQFD_FLAG_DEASSIGN);
		if (irqfd_bound)
			irqfd = *f;
		break;
	default:
		r = -ENOTTY;
	}
	pthread_mutex_unlock(&stub_lock);
	return r;
}

int arch_virtio_mmio_add(struct vm *vm, u64 *base, u32 *gsi)
{
	*base = BASE;
	*gsi = GSI;
	return 0;
}

int vm_register_mmio(struct vm *vm, struct io_range *r)
{
	return io_bus_register(&vm->mmio, r);
}

/* Edges the device sent since the last look. */
static u64 edges(void)
{
	u64 v = 0;

	if (read(irqfd.fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- the machine ---- */

#define RAM_GPA 0x100000ULL

static struct vm vm;
static u8 *ram;
static struct disk *disk;
static struct virtio_blk *blk;
static struct virtio_mmio *vmm;
static char path[64];
static u16 drv_avail_idx;

static u32 reg_read(u64 off, unsigned int len)
{
	u32 v = 0;

	io_bus_access(&vm.mmio, BASE + off, &v, len, false);
	return le32toh(v);
}

static void reg_write(u64 off, unsigned int len, u32 v)
{
	v = htole32(v);
	io_bus_access(&vm.mmio, BASE + off, &v, len, true);
}

static void setup(void)
{
	static struct guest_mem mem;
	char buf[65536];
	int fd;

	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = -1;
	io_bus_init(&vm.mmio, "mmio");
	if (ioloop_init(&vm.loop))
		abort();
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram);

	strcpy(path, "/tmp/lkvm-test-vmmio-XXXXXX");
	fd = mkstemp(path);
	memset(buf, 0x5a, sizeof(buf));
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		abort();
	close(fd);
	CHECK_EQ(disk_raw_open(path, false, &disk), 0);
	CHECK_EQ(blk_create_disk(disk, path, &mem, &blk), 0);
	CHECK_EQ(virtio_mmio_add(&vm, blk_dev(blk), &vmm), 0);
	CHECK_EQ(ioloop_start(&vm.loop), 0);
}

static void teardown(void)
{
	ioloop_stop(&vm.loop);
	virtio_mmio_destroy(vmm);
	CHECK_EQ(ioevents, 0);
	CHECK(!irqfd_bound);
	blk_destroy(blk);
	ioloop_fini(&vm.loop);
	unlink(path);
	free(ram);
}

/* ---- tests, in the order Linux's driver goes ---- */

static void test_identity(void)
{
	CHECK_EQ(reg_read(VIRTIO_MMIO_MAGIC_VALUE, 4), 0x74726976);
	CHECK_EQ(reg_read(VIRTIO_MMIO_VERSION, 4), 2);
	CHECK_EQ(reg_read(VIRTIO_MMIO_DEVICE_ID, 4), VIRTIO_ID_BLOCK);
	CHECK(reg_read(VIRTIO_MMIO_VENDOR_ID, 4) != 0);
	/* Queue 0's doorbell went to KVM: a 4-byte write of 0 to QueueNotify. */
	CHECK_EQ(ioevents, 1);
	CHECK_EQ(ioevent.addr, BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
	CHECK_EQ(ioevent.len, 4);
	CHECK(ioevent.flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	CHECK_EQ(ioevent.datamatch, 0);
	CHECK(irqfd_bound);
	CHECK_EQ(irqfd.gsi, GSI);
	/* No shared memory regions: their length reads all ones. */
	CHECK_EQ(reg_read(VIRTIO_MMIO_SHM_LEN_LOW, 4), 0xffffffff);
}

static void test_negotiate(void)
{
	u32 f0, f1;

	reg_write(VIRTIO_MMIO_STATUS, 4, 0);
	reg_write(VIRTIO_MMIO_STATUS, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						 VIRTIO_CONFIG_S_DRIVER);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 1);
	f1 = reg_read(VIRTIO_MMIO_DEVICE_FEATURES, 4);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 0);
	f0 = reg_read(VIRTIO_MMIO_DEVICE_FEATURES, 4);
	/* Linux refuses a version 2 device without VIRTIO_F_VERSION_1. */
	CHECK(f1 & (1u << (VIRTIO_F_VERSION_1 - 32)));
	CHECK(f0 & (1u << VIRTIO_BLK_F_FLUSH));
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, 4, f1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, 4, f0);
	reg_write(VIRTIO_MMIO_STATUS, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						 VIRTIO_CONFIG_S_DRIVER |
						 VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(reg_read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_FEATURES_OK);
}

static void set_addr(u64 lo_reg, u64 gpa)
{
	reg_write(lo_reg, 4, (u32)gpa);
	reg_write(lo_reg + 4, 4, gpa >> 32);
}

static void test_queue_setup(void)
{
	/* A queue that does not exist has no size. */
	reg_write(VIRTIO_MMIO_QUEUE_SEL, 4, 1);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 0);

	reg_write(VIRTIO_MMIO_QUEUE_SEL, 4, 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_READY, 4), 0);
	CHECK(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX, 4) >= QSIZE);
	reg_write(VIRTIO_MMIO_QUEUE_NUM, 4, QSIZE);
	set_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, RAM_GPA + DESC_OFF);
	set_addr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, RAM_GPA + AVAIL_OFF);
	set_addr(VIRTIO_MMIO_QUEUE_USED_LOW, RAM_GPA + USED_OFF);
	reg_write(VIRTIO_MMIO_QUEUE_READY, 4, 1);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_READY, 4), 1);
	reg_write(VIRTIO_MMIO_STATUS, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE |
						 VIRTIO_CONFIG_S_DRIVER |
						 VIRTIO_CONFIG_S_FEATURES_OK |
						 VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(reg_read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* Live: the queue can no longer be switched off. */
	reg_write(VIRTIO_MMIO_QUEUE_READY, 4, 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_READY, 4), 1);
}

/* Configuration space takes any width: the capacity, 128 sectors. */
static void test_config(void)
{
	u64 cap = VIRTIO_MMIO_CONFIG + offsetof(struct virtio_blk_config, capacity);

	CHECK_EQ(reg_read(cap, 4), 128);
	CHECK_EQ(reg_read(cap, 1), 128);
	CHECK_EQ(reg_read(cap + 4, 4), 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_CONFIG_GENERATION, 4), 0);
}

/* A 512-byte read of sector 0, and a kick through QueueNotify. */
static void submit_read(void)
{
	blk_ring_read(ram, RAM_GPA, &drv_avail_idx);
	/* The stub KVM took no doorbell: the write reaches lkvm. */
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
}

static bool wait_used(u16 n)
{
	return blk_ring_wait_used(ram, n);
}

static void test_request_and_interrupt(void)
{
	u64 n = 0;
	int i;

	submit_read();
	CHECK(wait_used(1));
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA_OFF + 511], 0x5a);
	for (i = 0; i < 2000 && !n; i++, usleep(1000))
		n = edges();
	CHECK_EQ(n, 1);
	/* The handler reads why, acknowledges it, and the status clears. */
	CHECK_EQ(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_VRING);
	reg_write(VIRTIO_MMIO_INTERRUPT_ACK, 4, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS, 4), 0);
}

/* §4.2.2.2: registers below the config space take aligned 32-bit accesses only. */
static void test_access_width(void)
{
	CHECK_EQ(reg_read(VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0);
	reg_write(VIRTIO_MMIO_STATUS, 1, 0);
	CHECK(reg_read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* A queue index past the last is ignored. */
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 4, 7);
}

/* The I/O thread, inside the device for 100 ms (a request under way). */
static int entered[2];

static void *busy_io_thread(void *arg)
{
	struct virtio_dev *dev = arg;
	char c = 1;

	if (!virtio_enter(dev))
		c = 0;
	if (write(entered[1], &c, 1) != 1 || !c)
		return NULL;
	usleep(100000);
	virtio_leave(dev);
	return NULL;
}

static u64 now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000ULL + t.tv_nsec / 1000000;
}

/*
 * Linux's vm_reset() writes 0 and never reads status back: the reset
 * is complete when the write returns, even with the I/O thread inside the
 * device, and the next probe's feature negotiation must work.
 */
static void test_reset(void)
{
	pthread_t t;
	u64 t0;
	char c = 0;

	submit_read();
	CHECK(wait_used(2));
	usleep(10000);
	CHECK(edges() >= 1);
	CHECK(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS, 4) & VIRTIO_MMIO_INT_VRING);
	/* A write wider than Status's 8 bits is not a reset. */
	reg_write(VIRTIO_MMIO_STATUS, 4, 0x100);
	CHECK(reg_read(VIRTIO_MMIO_STATUS, 4) & VIRTIO_CONFIG_S_DRIVER_OK);

	CHECK_EQ(pipe(entered), 0);
	CHECK_EQ(pthread_create(&t, NULL, busy_io_thread, blk_dev(blk)), 0);
	CHECK(read(entered[0], &c, 1) == 1 && c == 1);
	t0 = now_ms();
	/* Writing 0 resets: nothing the old device raised is pending. */
	reg_write(VIRTIO_MMIO_STATUS, 4, 0);
	CHECK(now_ms() - t0 >= 50);	/* it waited for the I/O thread */
	CHECK_EQ(reg_read(VIRTIO_MMIO_STATUS, 4), 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS, 4), 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_READY, 4), 0);
	/* A kick on a reset device is ignored. */
	submit_read();
	usleep(20000);
	CHECK_EQ(le16toh(((struct vring_used *)(ram + USED_OFF))->idx), 2);
	pthread_join(t, NULL);
	close(entered[0]);
	close(entered[1]);
	/* The driver probes again: its features are taken. */
	test_negotiate();
}

/* The whole sequence shares one device: one test per step, in order. */
static void test_all(void)
{
	setup();
	test_identity();
	test_negotiate();
	test_queue_setup();
	test_config();
	test_request_and_interrupt();
	test_access_width();
	test_reset();
	teardown();
}

UNIT_MAIN("virtio-mmio", UNIT_TEST(test_all))
