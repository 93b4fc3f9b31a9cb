// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio device core and virtio-blk, driven by a fake driver over a
 * malloc'd guest RAM, with a temporary image file or a fake disk that
 * fails or blocks on demand.  Kicks call virtio_queue_notify() directly,
 * as the I/O thread would.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "disk/disk.h"
#include "kvm/mem.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"
#include "tests/unit/blk-ring.h"
#include "tests/unit/unit.h"

#define RAM_GPA 0x40000000ULL
#define DISK_SIZE (64 * 1024ULL)

static u8 *ram;
static struct guest_mem mem;
static struct virtio_blk *blk;
static struct virtio_dev *dev;
static char path[64];
static u16 drv_avail_idx, next_desc;
static int irqs[2];	/* [0]: queue 0, [1]: config */

static int count_irq(struct virtio_dev *d, int q)
{
	irqs[q == VIRTIO_NOTIFY_CONFIG ? 1 : 0]++;
	return 0;
}

/* ---- a fake disk ---- */

static struct fake {
	struct disk disk;
	int fail;		/* errno to return from I/O */
	int flushes, writes;
	u16 used_at_flush;	/* used->idx when flush ran */
	int block_fd;		/* if >= 0, readv waits for a byte here */
	int entered_fd;		/* readv writes a byte here on entry */
	int range_fail;		/* errno for discard and write zeroes */
	int range_calls;
	u64 range_len;		/* bytes in all of those calls */
	u64 range_max;		/* the longest single call */
	void (*range_hook)(void);	/* run inside each such call */
	void (*read_hook)(void);	/* run inside each readv */
	int reads;
	u64 rw_max;		/* the longest readv or writev */
	u64 rw_bytes;		/* all of them */
	u64 rw_next;		/* where the last one ended */
} fake;

static void fake_count_rw(u64 off, const struct iovec *iov, unsigned int n)
{
	u64 len = 0;

	while (n--)
		len += iov[n].iov_len;
	fake.rw_max = MAX(fake.rw_max, len);
	fake.rw_bytes += len;
	fake.rw_next = off + len;
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_OFF);
}

static int fake_readv(struct disk *d, u64 off, const struct iovec *iov,
		      unsigned int n)
{
	char c = 0;

	fake.reads++;
	fake_count_rw(off, iov, n);
	if (fake.block_fd >= 0) {
		if (write(fake.entered_fd, &c, 1) != 1 ||
		    read(fake.block_fd, &c, 1) != 1)
			return -EIO;
	}
	if (fake.read_hook)
		fake.read_hook();
	return -fake.fail;
}

static int fake_writev(struct disk *d, u64 off, const struct iovec *iov,
		       unsigned int n)
{
	fake.writes++;
	fake_count_rw(off, iov, n);
	return -fake.fail;
}

static int fake_flush(struct disk *d)
{
	fake.flushes++;
	fake.used_at_flush = le16toh(used()->idx);
	return -fake.fail;
}

static void fake_close(struct disk *d)
{
}

static const struct disk_ops fake_ops = {
	.readv = fake_readv,
	.writev = fake_writev,
	.flush = fake_flush,
	.close = fake_close,
};

static int fake_range(struct disk *d, u64 off, u64 len)
{
	fake.range_calls++;
	fake.range_len += len;
	fake.range_max = MAX(fake.range_max, len);
	if (fake.range_hook)
		fake.range_hook();
	return -fake.range_fail;
}

static int fake_write_zeroes(struct disk *d, u64 off, u64 len, bool unmap)
{
	return fake_range(d, off, len);
}

/* The same with discard and write zeroes, so both get offered. */
static const struct disk_ops fake_range_ops = {
	.readv = fake_readv,
	.writev = fake_writev,
	.flush = fake_flush,
	.discard = fake_range,
	.write_zeroes = fake_write_zeroes,
	.close = fake_close,
};

/* ---- a fake driver ---- */

static u64 gpa(u64 off)
{
	return RAM_GPA + off;
}

static void make_image(void)
{
	u8 buf[DISK_SIZE];
	size_t i;
	int fd;

	strcpy(path, "/tmp/lkvm-test-blk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i / 512 + i);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		abort();
	close(fd);
}

static void setup_ram(void)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		abort();
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram), 0);
	drv_avail_idx = next_desc = 0;
	irqs[0] = irqs[1] = 0;
}

/* §3.1.1 step by step, accepting every offered feature except @drop. */
static int drv_init(u64 drop)
{
	u64 f = ((u64)virtio_get_device_features(dev, 1) << 32 |
		 virtio_get_device_features(dev, 0)) & ~drop;

	virtio_set_status(dev, 0);
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER);
	virtio_set_driver_features(dev, 0, (u32)f);
	virtio_set_driver_features(dev, 1, (u32)(f >> 32));
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(virtio_get_status(dev) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	CHECK_EQ(virtio_queue_set_size(dev, 0, QSIZE), 0);
	CHECK_EQ(virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_DESC,
				       gpa(DESC_OFF)), 0);
	CHECK_EQ(virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_AVAIL,
				       gpa(AVAIL_OFF)), 0);
	CHECK_EQ(virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_USED,
				       gpa(USED_OFF)), 0);
	CHECK_EQ(virtio_queue_set_enabled(dev, 0, true), 0);
	return virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
					      VIRTIO_CONFIG_S_DRIVER |
					      VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

static void setup_file(bool ro)
{
	setup_ram();
	make_image();
	CHECK_EQ(blk_create(ro ? strcat(strcpy((char[80]){ 0 }, path), ",ro") :
				 path,
			    &mem, &blk), 0);
	dev = blk_dev(blk);
	dev->notify_guest = count_irq;
	CHECK_EQ(drv_init(0), 0);
}

static void setup_fake_disk(u64 drop, const struct disk_ops *ops, u64 size)
{
	setup_ram();
	memset(&fake, 0, sizeof(fake));
	fake.disk.ops = ops;
	fake.disk.size = size;
	fake.block_fd = -1;
	CHECK_EQ(blk_create_disk(&fake.disk, "fake", &mem, &blk), 0);
	dev = blk_dev(blk);
	dev->notify_guest = count_irq;
	CHECK_EQ(drv_init(drop), 0);
}

static void setup_fake(u64 drop)
{
	setup_fake_disk(drop, &fake_ops, DISK_SIZE);
}

static void teardown(void)
{
	blk_destroy(blk);
	blk = NULL;
	if (path[0])
		unlink(path);
	path[0] = 0;
}

struct seg {
	u64 off;	/* in RAM */
	u32 len;
	bool write;
};

/* Put a chain of @n segments on the ring, kick, and return its head. */
static u16 drv_submit(const struct seg *s, unsigned int n)
{
	struct vring_desc *d = (struct vring_desc *)(ram + DESC_OFF);
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_OFF);
	u16 head = next_desc % QSIZE, i;
	unsigned int k;

	for (k = 0; k < n; k++) {
		i = next_desc++ % QSIZE;
		d[i].addr = htole64(gpa(s[k].off));
		d[i].len = htole32(s[k].len);
		d[i].flags = htole16((s[k].write ? VRING_DESC_F_WRITE : 0) |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		d[i].next = htole16(next_desc % QSIZE);
	}
	avail->ring[drv_avail_idx++ % QSIZE] = htole16(head);
	__atomic_store_n(&avail->idx, htole16(drv_avail_idx), __ATOMIC_RELEASE);
	return head;
}

/* Returns whether the device wants to be notified again (work left). */
static bool kick(void)
{
	return virtio_queue_notify(dev, 0);
}

static void set_hdr(u32 type, u64 sector)
{
	struct virtio_blk_outhdr *h = (void *)(ram + HDR_OFF);

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
}

/*
 * A request in the usual three descriptors; returns the status byte and
 * checks the used entry (@used_len) for chain @head.
 */
static u8 request(u32 type, u64 sector, u32 data_len, bool data_write,
		  u32 *used_len)
{
	struct seg s[3] = {
		{ HDR_OFF, 16, false },
		{ DATA_OFF, data_len, data_write },
		{ STATUS_OFF, 1, true },
	};
	u16 before = le16toh(used()->idx), head;

	set_hdr(type, sector);
	ram[STATUS_OFF] = 0xff;
	if (data_len) {
		head = drv_submit(s, 3);
	} else {
		s[1] = s[2];
		head = drv_submit(s, 2);
	}
	kick();
	CHECK_EQ(le16toh(used()->idx), (u16)(before + 1));
	CHECK_EQ(le32toh(used()->ring[before % QSIZE].id), head);
	*used_len = le32toh(used()->ring[before % QSIZE].len);
	return ram[STATUS_OFF];
}

static u8 image_byte(u64 off)
{
	return (u8)(off / 512 + off);
}

/* ---- the device core ---- */

static void test_features_offered(void)
{
	u64 f;

	setup_fake(0);
	f = (u64)virtio_get_device_features(dev, 1) << 32 |
	    virtio_get_device_features(dev, 0);
	CHECK(f & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(f & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	CHECK(f & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	CHECK(!(f & (1ULL << VIRTIO_F_ACCESS_PLATFORM)));
	CHECK(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	CHECK(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	CHECK(!(f & (1ULL << VIRTIO_BLK_F_RO)));
	CHECK_EQ(virtio_get_device_features(dev, 2), 0);
	/* The fake disk has no discard: not offered. */
	CHECK(!(f & (1ULL << VIRTIO_BLK_F_DISCARD)));
	teardown();

	setup_file(true);
	f = virtio_get_device_features(dev, 0);
	CHECK(f & (1ULL << VIRTIO_BLK_F_RO));
	CHECK(!(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)));
	teardown();

	setup_file(false);
	f = virtio_get_device_features(dev, 0);
	CHECK(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	CHECK(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	teardown();
}

static void test_features_ok_rules(void)
{
	const u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	setup_fake(0);
	/* Without VERSION_1, FEATURES_OK does not stick. */
	CHECK_EQ(drv_init(1ULL << VIRTIO_F_VERSION_1), -1);
	CHECK(!(virtio_get_status(dev) & VIRTIO_CONFIG_S_FEATURES_OK));

	/* A feature we never offered. */
	virtio_set_status(dev, 0);
	virtio_set_status(dev, s);
	virtio_set_driver_features(dev, 1, 1 | 1u << (VIRTIO_F_ACCESS_PLATFORM - 32));
	CHECK_EQ(virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK),
		 -EINVAL);
	CHECK_EQ(virtio_get_status(dev), s);

	/* DRIVER_OK without FEATURES_OK is refused too. */
	CHECK_EQ(virtio_set_status(dev, s | VIRTIO_CONFIG_S_DRIVER_OK), -EINVAL);
	CHECK_EQ(virtio_get_status(dev), s);
	CHECK(!virtio_running(dev));

	/* Features freeze at FEATURES_OK. */
	virtio_set_driver_features(dev, 1, 1);
	virtio_set_driver_features(dev, 0, 0);
	CHECK_EQ(virtio_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK), 0);
	virtio_set_driver_features(dev, 0, 1u << VIRTIO_BLK_F_FLUSH);
	CHECK_EQ(virtio_get_driver_features(dev, 0), 0);
	CHECK_EQ(virtio_get_driver_features(dev, 1), 1);

	/* Bits cannot be cleared, and NEEDS_RESET is not the driver's. */
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				       VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(virtio_get_status(dev), s | VIRTIO_CONFIG_S_FEATURES_OK);

	/* Writing 0 resets everything. */
	virtio_set_status(dev, 0);
	CHECK_EQ(virtio_get_status(dev), 0);
	CHECK_EQ(virtio_get_driver_features(dev, 1), 0);
	CHECK_EQ(virtio_queue(dev, 0)->size, BLK_QUEUE_SIZE);
	CHECK(!virtio_queue(dev, 0)->enabled);
	teardown();
}

static void test_queue_setup_rules(void)
{
	setup_fake(0);
	virtio_set_status(dev, 0);
	CHECK_EQ(virtio_nr_queues(dev), 1);
	CHECK_EQ(virtio_queue_set_size(dev, 0, 24), -EINVAL);
	CHECK_EQ(virtio_queue_set_size(dev, 0, 0), -EINVAL);
	CHECK_EQ(virtio_queue_set_size(dev, 0, BLK_QUEUE_SIZE * 2), -EINVAL);
	CHECK_EQ(virtio_queue_set_size(dev, 1, 16), -EINVAL);
	CHECK(virtio_queue(dev, 1) == NULL);
	CHECK_EQ(virtio_queue_set_size(dev, 0, 16), 0);
	CHECK_EQ(virtio_queue_set_enabled(dev, 0, true), 0);
	/* Frozen once enabled. */
	CHECK_EQ(virtio_queue_set_size(dev, 0, 32), -EBUSY);
	CHECK_EQ(virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_DESC, 0), -EBUSY);
	CHECK_EQ(virtio_queue(dev, 0)->size, 16);
	teardown();
}

/* Rings outside RAM: DRIVER_OK ends in NEEDS_RESET, not in a crash. */
static void test_bad_ring_address(void)
{
	const u8 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK;

	setup_fake(0);
	virtio_set_status(dev, 0);
	virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_set_driver_features(dev, 1, 1);
	virtio_set_status(dev, s);
	virtio_queue_set_addr(dev, 0, VIRTIO_QUEUE_DESC, gpa(RAM_SIZE - 16));
	virtio_queue_set_enabled(dev, 0, true);
	irqs[1] = 0;
	CHECK(virtio_set_status(dev, s | VIRTIO_CONFIG_S_DRIVER_OK) < 0);
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(irqs[1], 1);
	CHECK(!virtio_running(dev));
	kick();		/* ignored */
	teardown();
}

static void test_config(void)
{
	struct virtio_blk_config cfg;
	u8 b[4];

	setup_file(false);
	CHECK_EQ(virtio_config_read(dev, 0, &cfg, sizeof(cfg)), 0);
	CHECK_EQ(le64toh(cfg.capacity), DISK_SIZE / 512);
	CHECK_EQ(le32toh(cfg.seg_max), BLK_SEG_MAX);
	CHECK_EQ(le32toh(cfg.blk_size), 512);
	CHECK_EQ(virtio_config_read(dev, sizeof(cfg) - 2, b, 4), -EINVAL);
	CHECK_EQ(virtio_config_read(dev, 0xffffffff, b, 4), -EINVAL);
	CHECK_EQ(virtio_config_write(dev, 0, b, 1), -EPERM);

	/* A config change bumps the generation and interrupts (live). */
	irqs[1] = 0;
	CHECK_EQ(virtio_get_config_generation(dev), 0);
	virtio_config_changed(dev);
	CHECK_EQ(virtio_get_config_generation(dev), 1);
	CHECK_EQ(irqs[1], 1);
	teardown();
}

/* ---- virtio-blk requests ---- */

static void test_read(void)
{
	struct seg s[4] = {
		{ HDR_OFF, 16, false },
		{ DATA_OFF, 700, true },		/* data split 700 + 324 */
		{ DATA_OFF + 0x1000, 325, true },	/* ...and status with it */
	};
	u32 len, i;
	int ok = 1;

	setup_file(false);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 3, 1024, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1025);
	for (i = 0; i < 1024; i++)
		ok &= ram[DATA_OFF + i] == image_byte(3 * 512 + i);
	CHECK(ok);
	CHECK(irqs[0] >= 1);

	/* The status byte may share a descriptor with data. */
	set_hdr(VIRTIO_BLK_T_IN, 0);
	drv_submit(s, 3);
	kick();
	CHECK_EQ(le32toh(used()->ring[1].len), 1025);
	CHECK_EQ(ram[DATA_OFF + 0x1000 + 324], VIRTIO_BLK_S_OK);
	for (ok = 1, i = 0; i < 700; i++)
		ok &= ram[DATA_OFF + i] == image_byte(i);
	for (i = 0; i < 324; i++)
		ok &= ram[DATA_OFF + 0x1000 + i] == image_byte(700 + i);
	CHECK(ok);
	teardown();
}

static void test_write(void)
{
	u8 back[1024];
	u32 len;
	int fd;

	setup_file(false);
	memset(ram + DATA_OFF, 0x77, 1024);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 10, 1024, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1);
	fd = open(path, O_RDONLY);
	CHECK_EQ(pread(fd, back, sizeof(back), 10 * 512), (ssize_t)sizeof(back));
	close(fd);
	CHECK(back[0] == 0x77 && back[1023] == 0x77);
	teardown();
}

/* The header itself split over two descriptors (§2.7.4.1). */
static void test_split_header(void)
{
	struct seg s[] = {
		{ HDR_OFF, 5, false },
		{ HDR_OFF + 5, 11, false },
		{ DATA_OFF, 512, true },
		{ STATUS_OFF, 1, true },
	};

	setup_file(false);
	set_hdr(VIRTIO_BLK_T_IN, 1);
	drv_submit(s, 4);
	kick();
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA_OFF + 1], image_byte(513));
	teardown();
}

static void test_flush_before_publish(void)
{
	u32 len;

	setup_fake(0);
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1);
	CHECK_EQ(fake.flushes, 1);
	/* When the flush ran, the used entry was not yet visible. */
	CHECK_EQ(fake.used_at_flush, 0);

	/* With FLUSH negotiated, plain writes do not flush. */
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 512, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.flushes, 1);
	teardown();

	/* Without it the cache is write-through (§5.2.6.2, case 1). */
	setup_fake(1ULL << VIRTIO_BLK_F_FLUSH);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 512, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.writes, 1);
	CHECK_EQ(fake.flushes, 1);
	CHECK_EQ(fake.used_at_flush, 0);
	teardown();
}

static void test_get_id(void)
{
	u32 len;

	setup_file(false);
	memset(ram + DATA_OFF, 0xee, 20);
	CHECK_EQ(request(VIRTIO_BLK_T_GET_ID, 0, 20, true, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 21);
	/* "lkvm-test-blk-XXXXXX" is exactly 20 bytes: no terminator. */
	CHECK(memcmp(ram + DATA_OFF, strrchr(path, '/') + 1, 20) == 0);
	teardown();

	setup_fake(0);
	disk_set_serial(&fake.disk, "short");
	memset(ram + DATA_OFF, 0xee, 20);
	CHECK_EQ(request(VIRTIO_BLK_T_GET_ID, 0, 20, true, &len),
		 VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA_OFF, "short\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20) == 0);
	teardown();
}

static void test_out_of_range(void)
{
	const u64 cap = DISK_SIZE / 512;
	u32 len;

	setup_file(false);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, cap - 1, 512, true, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, cap, 512, true, &len),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, cap - 1, 1024, true, &len),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, cap, 512, false, &len),
		 VIRTIO_BLK_S_IOERR);
	/* sector * 512 would overflow 64 bits */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 1ULL << 60, 512, true, &len),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, ~0ULL, 512, false, &len),
		 VIRTIO_BLK_S_IOERR);
	/* Not whole sectors (§5.2.6.1). */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 100, true, &len),
		 VIRTIO_BLK_S_IOERR);
	teardown();
}

static void test_read_only(void)
{
	u8 back[512];
	u32 len;
	int fd;

	setup_file(true);
	memset(ram + DATA_OFF, 0x55, 512);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 512, false, &len),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len),
		 VIRTIO_BLK_S_UNSUPP);
	fd = open(path, O_RDONLY);
	CHECK_EQ(pread(fd, back, sizeof(back), 0), 512);
	close(fd);
	CHECK_EQ(back[0], image_byte(0));
	/* Reads still work. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	teardown();
}

static void test_unsupported(void)
{
	u32 len;

	setup_fake(0);
	CHECK_EQ(request(2 /* SCSI_CMD */, 0, 16, false, &len),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(0x12345, 0, 0, false, &len), VIRTIO_BLK_S_UNSUPP);
	/* DISCARD was not offered by this disk. */
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_UNSUPP);
	teardown();
}

static void test_host_io_error(void)
{
	u32 len;

	setup_fake(0);
	fake.fail = EIO;
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 512, false, &len),
		 VIRTIO_BLK_S_IOERR);
	fake.fail = ENOSPC;
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len),
		 VIRTIO_BLK_S_IOERR);
	/* The device carries on. */
	fake.fail = 0;
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK(!(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET));
	teardown();
}

static void test_discard_write_zeroes(void)
{
	struct virtio_blk_discard_write_zeroes *seg =
		(void *)(ram + DATA_OFF);
	u32 len, i;
	int ok = 1;

	setup_file(false);
	seg[0].sector = htole64(4);
	seg[0].num_sectors = htole32(2);
	seg[0].flags = 0;
	seg[1].sector = htole64(8);
	seg[1].num_sectors = htole32(1);
	seg[1].flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CHECK_EQ(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 4, 5 * 512, true, &len),
		 VIRTIO_BLK_S_OK);
	for (i = 0; i < 1024; i++)
		ok &= !ram[DATA_OFF + i];
	for (i = 1024; i < 2048; i++)
		ok &= ram[DATA_OFF + i] == image_byte(4 * 512 + i);
	for (i = 2048; i < 2560; i++)
		ok &= !ram[DATA_OFF + i];
	CHECK(ok);

	/* Discard with the unmap flag, or unknown flags: UNSUPP. */
	seg[0].sector = htole64(0);
	seg[0].num_sectors = htole32(1);
	seg[0].flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_UNSUPP);
	seg[0].flags = htole32(2);
	CHECK_EQ(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len),
		 VIRTIO_BLK_S_UNSUPP);
	seg[0].flags = 0;
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_OK);
	/* Not a whole segment; out of range. */
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 12, false, &len),
		 VIRTIO_BLK_S_IOERR);
	seg[0].sector = htole64(DISK_SIZE / 512);
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_IOERR);
	teardown();
}

/*
 * Discard is a hint (§5.2.6.2: the device MAY deallocate): an empty range
 * is done, and a host that cannot punch the range is not an I/O error.
 */
static void test_discard_is_a_hint(void)
{
	struct virtio_blk_discard_write_zeroes *seg =
		(void *)(ram + DATA_OFF);
	u32 len;

	setup_fake_disk(0, &fake_range_ops, DISK_SIZE);
	seg->sector = htole64(8);
	seg->num_sectors = 0;
	seg->flags = 0;
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.range_calls, 0);

	seg->num_sectors = htole32(8);
	fake.range_fail = EINVAL;
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_OK);
	fake.range_fail = EOPNOTSUPP;
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.range_calls, 2);
	/* A real failure still is one; write zeroes is no hint. */
	fake.range_fail = EIO;
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, &len),
		 VIRTIO_BLK_S_IOERR);
	fake.range_fail = EINVAL;
	CHECK_EQ(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, &len),
		 VIRTIO_BLK_S_IOERR);
	teardown();
}

/* ---- malformed requests: the request fails, the device carries on ---- */

static void test_short_header(void)
{
	struct seg s[] = {
		{ HDR_OFF, 8, false },
		{ STATUS_OFF, 1, true },
	};
	u32 len;

	setup_fake(0);
	ram[STATUS_OFF] = 0xff;
	drv_submit(s, 2);
	kick();
	CHECK_EQ(le16toh(used()->idx), 1);
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(fake.writes, 0);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	teardown();
}

static void test_missing_status(void)
{
	struct seg no_status[] = {
		{ HDR_OFF, 16, false },
		{ DATA_OFF, 512, false },
	};
	struct seg readable_status[] = {
		{ HDR_OFF, 16, false },
		{ STATUS_OFF, 1, false },
	};
	u32 len;

	setup_fake(0);
	set_hdr(VIRTIO_BLK_T_OUT, 0);
	ram[STATUS_OFF] = 0xff;
	drv_submit(no_status, 2);
	kick();
	CHECK_EQ(le16toh(used()->idx), 1);
	CHECK_EQ(le32toh(used()->ring[0].len), 0);
	CHECK_EQ(fake.writes, 0);

	/* A "status" the device may not write is no status at all. */
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	drv_submit(readable_status, 2);
	kick();
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(le32toh(used()->ring[1].len), 0);
	CHECK_EQ(ram[STATUS_OFF], 0xff);	/* never written */
	CHECK_EQ(fake.flushes, 0);

	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	teardown();
}

/* A hostile ring: NEEDS_RESET, a config interrupt, then a clean reset. */
static void test_broken_ring_needs_reset(void)
{
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_OFF);
	u32 len;

	setup_fake(0);
	avail->ring[0] = htole16(QSIZE + 3);
	avail->idx = htole16(1);
	irqs[1] = 0;
	kick();
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(irqs[1], 1);
	CHECK(!virtio_running(dev));
	kick();		/* ignored, and no second notification */
	CHECK_EQ(irqs[1], 1);
	CHECK_EQ(le16toh(used()->idx), 0);

	/* The driver resets and starts over: all good again. */
	memset(ram, 0, 0x4000);
	drv_avail_idx = next_desc = 0;
	CHECK_EQ(drv_init(0), 0);
	CHECK(!(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET));
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	teardown();
}

/*
 * Good requests, then a chain the guest broke: the good ones complete and
 * are still interrupted for, before the device asks for a reset.
 */
static void test_broken_ring_signals_done_work(void)
{
	struct seg s[] = { { HDR_OFF, 16, false }, { STATUS_OFF, 1, true } };
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_OFF);

	setup_fake(1ULL << VIRTIO_RING_F_EVENT_IDX);
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	drv_submit(s, 2);
	drv_submit(s, 2);
	avail->ring[2] = htole16(QSIZE + 3);
	avail->idx = htole16(3);
	irqs[0] = irqs[1] = 0;
	kick();
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(irqs[0], 1);
	CHECK_EQ(irqs[1], 1);
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	teardown();
}

/* Before DRIVER_OK the device must not touch the rings (§3.1.1). */
static void test_no_processing_before_driver_ok(void)
{
	struct seg s[] = { { HDR_OFF, 16, false }, { STATUS_OFF, 1, true } };

	setup_fake(0);
	virtio_set_status(dev, 0);
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	drv_submit(s, 2);
	kick();
	CHECK_EQ(fake.flushes, 0);
	CHECK_EQ(le16toh(used()->idx), 0);
	teardown();
}

/* The transport forbids DMA (PCI Bus Master Enable clear). */
static void test_dma_off(void)
{
	struct seg s[] = { { HDR_OFF, 16, false }, { STATUS_OFF, 1, true } };
	u32 len;

	setup_fake(0);
	virtio_set_dma(dev, false);
	CHECK(!virtio_running(dev));
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	drv_submit(s, 2);
	CHECK(!kick());
	CHECK_EQ(fake.flushes, 0);
	CHECK_EQ(le16toh(used()->idx), 0);
	/* Not a reset: the device is as the driver left it. */
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_DRIVER_OK);

	virtio_set_dma(dev, true);
	CHECK(!kick());		/* the transport kicks again */
	CHECK_EQ(fake.flushes, 1);
	CHECK_EQ(le16toh(used()->idx), 1);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	teardown();
}

/* ---- fairness ---- */

static int refills;

/* The driver adds a read as each one is served, and never kicks. */
static void refill(void)
{
	struct seg s[] = {
		{ HDR_OFF, 16, false },
		{ DATA_OFF, 512, true },
		{ STATUS_OFF, 1, true },
	};

	if (refills > 0) {
		refills--;
		drv_submit(s, 3);
	}
}

/*
 * A guest that keeps its ring full must not keep the I/O thread to
 * itself: one notification serves at most a ring's worth of requests,
 * then says that work is left, so the transport can requeue the queue
 * behind other ready events.  Nothing is lost on the way.
 */
static void test_busy_queue_yields(void)
{
	u32 len;

	setup_fake(0);
	fake.read_hook = refill;
	refills = 2 * QSIZE + 5;
	set_hdr(VIRTIO_BLK_T_IN, 0);
	refill();
	CHECK(kick());
	CHECK_EQ(le16toh(used()->idx), QSIZE);
	CHECK(kick());
	CHECK_EQ(le16toh(used()->idx), 2 * QSIZE);
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 2 * QSIZE + 5);
	CHECK_EQ(refills, 0);
	fake.read_hook = NULL;
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	teardown();
}

/*
 * Four requests on the ring, one kick: all completed, and the driver
 * interrupted once for the batch.  With EVENT_IDX only if used_event
 * falls in it (§2.7.7.2); without, unless the driver asked for none.
 */
static void test_one_interrupt_per_batch(void)
{
	struct seg s[] = { { HDR_OFF, 16, false }, { STATUS_OFF, 1, true } };
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_OFF);
	__virtio16 *used_event = &avail->ring[QSIZE];
	int i;

	setup_fake(0);
	CHECK(virtio_has_feature(dev, VIRTIO_RING_F_EVENT_IDX));
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	for (i = 0; i < 4; i++)
		drv_submit(s, 2);
	*used_event = htole16(2);	/* interrupt me after the third */
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 4);
	CHECK_EQ(fake.flushes, 4);
	CHECK_EQ(irqs[0], 1);

	/* used_event behind the batch: the driver wants no interrupt. */
	for (i = 0; i < 3; i++)
		drv_submit(s, 2);
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 7);
	CHECK_EQ(irqs[0], 1);
	teardown();

	setup_fake(1ULL << VIRTIO_RING_F_EVENT_IDX);
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	for (i = 0; i < 4; i++)
		drv_submit(s, 2);
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 4);
	CHECK_EQ(irqs[0], 1);
	avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	drv_submit(s, 2);
	CHECK(!kick());
	CHECK_EQ(irqs[0], 1);
	teardown();

	/* A longer batch is interrupted every 4 requests, then at its end. */
	setup_fake(1ULL << VIRTIO_RING_F_EVENT_IDX);
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	for (i = 0; i < 6; i++)
		drv_submit(s, 2);
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 6);
	CHECK_EQ(irqs[0], 2);
	teardown();
}

/* ---- reset against the I/O thread ---- */

static int block_pipe[2], entered_pipe[2];
static int reset_done;

static void *io_thread(void *arg)
{
	kick();
	return NULL;
}

static void *vcpu_reset(void *arg)
{
	virtio_set_status(dev, 0);
	__atomic_store_n(&reset_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * The I/O thread is stuck inside a read; a vCPU resets the device.  The
 * vCPU must not wait for the disk (it holds the bus lock, and a request
 * can take minutes): the reset returns at once and stays pending, with
 * status still non-zero.  The I/O thread finishes its request, takes no
 * further one, and completes the reset as it leaves.
 */
static void test_reset_does_not_wait_for_io_thread(void)
{
	struct seg s[] = {
		{ HDR_OFF, 16, false },
		{ DATA_OFF, 512, true },
		{ STATUS_OFF, 1, true },
	};
	pthread_t io, vcpu;
	char c = 0;
	int i;

	setup_fake(0);
	CHECK_EQ(pipe(block_pipe), 0);
	CHECK_EQ(pipe(entered_pipe), 0);
	fake.block_fd = block_pipe[0];
	fake.entered_fd = entered_pipe[1];
	set_hdr(VIRTIO_BLK_T_IN, 0);
	drv_submit(s, 3);
	drv_submit(s, 3);

	reset_done = 0;
	CHECK_EQ(pthread_create(&io, NULL, io_thread, NULL), 0);
	CHECK_EQ(read(entered_pipe[0], &c, 1), 1);	/* in the read now */
	CHECK_EQ(pthread_create(&vcpu, NULL, vcpu_reset, NULL), 0);
	for (i = 0; i < 2000 && !__atomic_load_n(&reset_done, __ATOMIC_SEQ_CST);
	     i++)
		usleep(1000);
	CHECK(__atomic_load_n(&reset_done, __ATOMIC_SEQ_CST));

	/* §4.1.4.3.2: the driver polls status until it reads 0. */
	CHECK(virtio_get_status(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(!virtio_running(dev));
	/* Until then nothing else is accepted. */
	CHECK_EQ(virtio_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE), -EBUSY);
	CHECK_EQ(virtio_queue_set_size(dev, 0, 8), -EBUSY);

	CHECK_EQ(write(block_pipe[1], &c, 1), 1);	/* finish the read */
	pthread_join(io, NULL);
	pthread_join(vcpu, NULL);
	CHECK_EQ(virtio_get_status(dev), 0);
	CHECK_EQ(virtio_queue(dev, 0)->size, BLK_QUEUE_SIZE);
	CHECK(!virtio_queue(dev, 0)->enabled);
	/* The first request completed; the second was left alone. */
	CHECK_EQ(le16toh(used()->idx), 1);
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);

	/* An idle device resets at once. */
	CHECK_EQ(drv_init(0), 0);
	virtio_set_status(dev, 0);
	CHECK_EQ(virtio_get_status(dev), 0);

	close(block_pipe[0]);
	close(block_pipe[1]);
	close(entered_pipe[0]);
	close(entered_pipe[1]);
	teardown();
}

static void reset_at_second_chunk(void)
{
	if (fake.range_calls == 2)
		virtio_set_status(dev, 0);
}

/*
 * Write zeroes of 2 x 1 GiB goes to the disk in bounded pieces, and a
 * reset stops it between two of them: without ZERO_RANGE each GiB is a
 * GiB of pwrite, and the reset would otherwise wait for all of it.
 */
static void test_write_zeroes_in_chunks(void)
{
	struct virtio_blk_discard_write_zeroes *seg =
		(void *)(ram + DATA_OFF);
	const u32 gib = (1U << 30) / 512;
	u32 len;

	setup_fake_disk(0, &fake_range_ops, 8ULL << 30);
	seg[0] = (struct virtio_blk_discard_write_zeroes){ htole64(0),
							   htole32(gib), 0 };
	seg[1] = (struct virtio_blk_discard_write_zeroes){ htole64(4 * gib),
							   htole32(gib), 0 };
	CHECK_EQ(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.range_len, 2ULL << 30);
	CHECK(fake.range_max <= 64ULL << 20);
	CHECK(fake.range_calls >= 32);
	CHECK_EQ(request(VIRTIO_BLK_T_DISCARD, 0, 32, false, &len),
		 VIRTIO_BLK_S_OK);
	CHECK(fake.range_max <= 64ULL << 20);

	/*
	 * The driver resets while the request runs (the device is busy): it
	 * stops there, is not completed, and the reset finishes.
	 */
	fake.range_calls = 0;
	fake.range_hook = reset_at_second_chunk;
	set_hdr(VIRTIO_BLK_T_WRITE_ZEROES, 0);
	ram[STATUS_OFF] = 0xee;
	drv_submit((struct seg[]){ { HDR_OFF, 16, false },
				   { DATA_OFF, 32, false },
				   { STATUS_OFF, 1, true } }, 3);
	CHECK(!kick());
	CHECK_EQ(fake.range_calls, 2);
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(ram[STATUS_OFF], 0xee);
	CHECK_EQ(virtio_get_status(dev), 0);
	teardown();
}

/* A read of 13 segments of 768 KiB (9.75 MiB) into the same buffer. */
#define BIG_SEGS 13
#define BIG_SEG (768 * 1024)

static void submit_big(u32 type)
{
	struct seg s[BIG_SEGS + 2];
	int i;

	s[0] = (struct seg){ HDR_OFF, 16, false };
	for (i = 1; i <= BIG_SEGS; i++)
		s[i] = (struct seg){ DATA_OFF, BIG_SEG, type == VIRTIO_BLK_T_IN };
	s[BIG_SEGS + 1] = (struct seg){ STATUS_OFF, 1, true };
	set_hdr(type, 0);
	ram[STATUS_OFF] = 0xee;
	drv_submit(s, BIG_SEGS + 2);
}

static void reset_at_second_read(void)
{
	if (fake.reads == 2)
		virtio_set_status(dev, 0);
}

static void dma_off_at_first_read(void)
{
	if (fake.reads == 1)
		virtio_set_dma(dev, false);
}

/*
 * Reads and writes reach the disk in pieces of at most 4 MiB, so a reset
 * or Bus Master Enable cleared stops a long request between two of them.
 * Stopped, it is not completed; with DMA back it is served from the start.
 */
static void test_rw_in_chunks(void)
{
	const u64 total = (u64)BIG_SEGS * BIG_SEG;

	setup_fake_disk(0, &fake_ops, 16ULL << 20);
	submit_big(VIRTIO_BLK_T_IN);
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 1);
	CHECK_EQ(le32toh(used()->ring[0].len), total + 1);
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.reads, 3);
	CHECK_EQ(fake.rw_max, 4ULL << 20);
	CHECK_EQ(fake.rw_bytes, total);
	CHECK_EQ(fake.rw_next, total);
	submit_big(VIRTIO_BLK_T_OUT);
	CHECK(!kick());
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);
	CHECK_EQ(fake.writes, 3);

	fake.reads = 0;
	fake.read_hook = dma_off_at_first_read;
	submit_big(VIRTIO_BLK_T_IN);
	CHECK(!kick());
	CHECK_EQ(fake.reads, 1);
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(ram[STATUS_OFF], 0xee);
	virtio_set_dma(dev, true);
	CHECK(!kick());		/* the transport kicks again */
	CHECK_EQ(fake.reads, 4);
	CHECK_EQ(le16toh(used()->idx), 3);
	CHECK_EQ(ram[STATUS_OFF], VIRTIO_BLK_S_OK);

	fake.reads = 0;
	fake.read_hook = reset_at_second_read;
	submit_big(VIRTIO_BLK_T_IN);
	CHECK(!kick());
	CHECK_EQ(fake.reads, 2);
	CHECK_EQ(le16toh(used()->idx), 3);
	CHECK_EQ(ram[STATUS_OFF], 0xee);
	CHECK_EQ(virtio_get_status(dev), 0);
	teardown();
}

/* -d parsing */
static void test_create_args(void)
{
	struct virtio_blk *b;

	setup_ram();
	make_image();
	CHECK_EQ(blk_create("", &mem, &b), -EINVAL);
	CHECK_EQ(blk_create(",ro", &mem, &b), -EINVAL);
	CHECK_EQ(blk_create("/nonexistent.img", &mem, &b), -ENOENT);
	CHECK_EQ(blk_create(strcat(strcpy((char[80]){ 0 }, path), ",rw"), &mem,
			    &b), -EINVAL);
	CHECK_EQ(blk_create(path, &mem, &b), 0);
	/* A second writer on the same image is refused. */
	CHECK_EQ(blk_create(path, &mem, &blk), -EBUSY);
	blk = b;
	teardown();
}

UNIT_MAIN("virtio-blk",
	  UNIT_TEST(test_features_offered),
	  UNIT_TEST(test_features_ok_rules),
	  UNIT_TEST(test_queue_setup_rules),
	  UNIT_TEST(test_bad_ring_address),
	  UNIT_TEST(test_config),
	  UNIT_TEST(test_read),
	  UNIT_TEST(test_write),
	  UNIT_TEST(test_split_header),
	  UNIT_TEST(test_flush_before_publish),
	  UNIT_TEST(test_get_id),
	  UNIT_TEST(test_out_of_range),
	  UNIT_TEST(test_read_only),
	  UNIT_TEST(test_unsupported),
	  UNIT_TEST(test_host_io_error),
	  UNIT_TEST(test_discard_write_zeroes),
	  UNIT_TEST(test_discard_is_a_hint),
	  UNIT_TEST(test_short_header),
	  UNIT_TEST(test_missing_status),
	  UNIT_TEST(test_broken_ring_needs_reset),
	  UNIT_TEST(test_no_processing_before_driver_ok),
	  UNIT_TEST(test_dma_off),
	  UNIT_TEST(test_busy_queue_yields),
	  UNIT_TEST(test_one_interrupt_per_batch),
	  UNIT_TEST(test_broken_ring_signals_done_work),
	  UNIT_TEST(test_reset_does_not_wait_for_io_thread),
	  UNIT_TEST(test_write_zeroes_in_chunks),
	  UNIT_TEST(test_rw_in_chunks),
	  UNIT_TEST(test_create_args))
