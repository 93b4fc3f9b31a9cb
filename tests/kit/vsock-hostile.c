// SPDX-License-Identifier: GPL-2.0
/*
 * vsock-hostile: a hostile virtio-vsock driver, in the L2 guest's
 * userspace.  It takes the vsock PCI function away from Linux's driver
 * (sysfs unbind), maps its BAR, sets up its three queues over pages whose
 * physical addresses /proc/self/pagemap gives, and sends what no honest
 * driver sends:
 *
 *   a header cut short, a length beyond the buffer, an unknown op, data
 *   and credit requests for connections that do not exist (a flood of
 *   them), a foreign source CID, a socket type never offered;
 *   then a descriptor pointing outside guest RAM, and a descriptor chain
 *   that loops on itself.
 *
 * What lkvm must do, and this program reports on the console: answer the
 * packets that name a connection with RST, drop the rest, and set
 * DEVICE_NEEDS_RESET for the broken rings, never crash or hang (the host
 * side checks that `lkvm list` still answers).  Then it resets the device
 * and gives it back to Linux's driver (sysfs bind), and vsock must work
 * again.
 *
 *   vsock-hostile        prints "hostile: ..." lines, exit 0 if lkvm
 *                        behaved, 1 if not, 2 if it could not run
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#define QSIZE 16
#define HDR sizeof(struct virtio_vsock_hdr)
#define PAGE 4096
#define NO_VECTOR 0xffff

static char dev_dir[300];
static volatile uint8_t *bar;
static volatile struct virtio_pci_common_cfg *common;
static uint32_t notify_off, notify_mult, device_off;
static uint64_t guest_cid;

struct page {
	uint8_t *va;
	uint64_t pa;
};

struct queue {
	struct page desc, avail, used;
	uint16_t notify;	/* queue_notify_off */
	uint16_t avail_idx, last_used, next;
};

static struct queue q[3];
static struct page rxbuf[8], txbuf[QSIZE], evbuf;

static void fail(int code, const char *fmt, ...)
{
	va_list ap;

	printf("hostile: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(code);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- PCI through sysfs ---- */

static int sysfs_read(const char *name, char *buf, size_t len)
{
	char path[400];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dev_dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static void sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		fail(2, "write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

/* The virtio-vsock function: 1af4:1053 (0x1040 + device id 19). */
static const char *find_device(void)
{
	static char bdf[256];
	char buf[32];
	struct dirent *e;
	DIR *d = opendir("/sys/bus/pci/devices");

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dev_dir, sizeof(dev_dir), "/sys/bus/pci/devices/%s",
			 e->d_name);
		if (sysfs_read("vendor", buf, sizeof(buf)) ||
		    strtoul(buf, NULL, 0) != 0x1af4 ||
		    sysfs_read("device", buf, sizeof(buf)) ||
		    strtoul(buf, NULL, 0) != 0x1053)
			continue;
		snprintf(bdf, sizeof(bdf), "%s", e->d_name);
		closedir(d);
		return bdf;
	}
	fail(2, "no virtio-vsock PCI function");
	return NULL;
}

static void config_rw(void *buf, size_t len, off_t off, bool write)
{
	char path[400];
	int fd;

	snprintf(path, sizeof(path), "%s/config", dev_dir);
	fd = open(path, write ? O_RDWR : O_RDONLY);
	if (fd < 0 || (write ? pwrite(fd, buf, len, off) :
			       pread(fd, buf, len, off)) != (ssize_t)len)
		fail(2, "config space: %s", strerror(errno));
	close(fd);
}

/* Walk the capabilities for the common and notify structures (§4.1.4). */
static void map_device(void)
{
	uint8_t cfg[256], ptr;
	uint32_t common_off = 0, bar_len = 0;
	int found = 0, fd, bar_no = -1;
	uint16_t cmd;
	char path[400];

	config_rw(cfg, sizeof(cfg), 0, false);
	for (ptr = cfg[PCI_CAPABILITY_LIST] & ~3; ptr; ptr = cfg[ptr + 1] & ~3) {
		struct virtio_pci_cap cap;

		if (cfg[ptr] != PCI_CAP_ID_VNDR || ptr > 256 - sizeof(cap) - 4)
			continue;
		memcpy(&cap, cfg + ptr, sizeof(cap));
		if (cap.cfg_type == VIRTIO_PCI_CAP_COMMON_CFG) {
			common_off = le32toh(cap.offset);
			bar_no = cap.bar;
			found |= 1;
		} else if (cap.cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			notify_off = le32toh(cap.offset);
			memcpy(&notify_mult, cfg + ptr + sizeof(cap), 4);
			notify_mult = le32toh(notify_mult);
			found |= 2;
		} else if (cap.cfg_type == VIRTIO_PCI_CAP_DEVICE_CFG) {
			device_off = le32toh(cap.offset);
			found |= 4;
		}
		bar_len = bar_len > le32toh(cap.offset) + le32toh(cap.length) ?
				  bar_len : le32toh(cap.offset) + le32toh(cap.length);
	}
	if (found != 7 || bar_no < 0)
		fail(2, "virtio capabilities not found");
	/* Memory space and bus mastering: we are the driver now. */
	config_rw(&cmd, 2, PCI_COMMAND, false);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	config_rw(&cmd, 2, PCI_COMMAND, true);
	snprintf(path, sizeof(path), "%s/resource%d", dev_dir, bar_no);
	fd = open(path, O_RDWR | O_SYNC);
	bar = fd < 0 ? MAP_FAILED : mmap(NULL, bar_len, PROT_READ | PROT_WRITE,
					 MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED)
		fail(2, "map %s: %s", path, strerror(errno));
	common = (volatile void *)(bar + common_off);
}

/* ---- memory the device can reach ---- */

static struct page page_alloc(void)
{
	struct page p;
	uint64_t ent;
	int fd;

	p.va = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (p.va == MAP_FAILED)
		fail(2, "mmap: %s", strerror(errno));
	memset(p.va, 0, PAGE);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pread(fd, &ent, 8, (uintptr_t)p.va / PAGE * 8) != 8)
		fail(2, "pagemap: %s", strerror(errno));
	close(fd);
	if (!(ent >> 63) || !(ent & ((1ULL << 55) - 1)))
		fail(2, "pagemap gives no frame (not root?)");
	p.pa = (ent & ((1ULL << 55) - 1)) * PAGE;
	return p;
}

/* ---- the driver ---- */

static void set_status(uint8_t s)
{
	common->device_status = s;
	__sync_synchronize();
}

static uint8_t status(void)
{
	return common->device_status;
}

static void notify(int qi)
{
	volatile uint16_t *db = (volatile void *)(bar + notify_off +
						  q[qi].notify * notify_mult);

	__sync_synchronize();
	*db = qi;
}

static void reset(void)
{
	int i;

	set_status(0);
	for (i = 0; i < 1000 && status(); i++)
		sleep_ms(1);
	if (status())
		fail(1, "the device did not finish its reset (status %#x)",
		     status());
}

static void setup_queue(int qi)
{
	struct queue *v = &q[qi];

	memset(v->desc.va, 0, PAGE);
	memset(v->avail.va, 0, PAGE);
	memset(v->used.va, 0, PAGE);
	v->avail_idx = v->last_used = v->next = 0;
	common->queue_select = htole16(qi);
	common->queue_size = htole16(QSIZE);
	common->queue_msix_vector = htole16(NO_VECTOR);
	common->queue_desc_lo = htole32((uint32_t)v->desc.pa);
	common->queue_desc_hi = htole32(v->desc.pa >> 32);
	common->queue_avail_lo = htole32((uint32_t)v->avail.pa);
	common->queue_avail_hi = htole32(v->avail.pa >> 32);
	common->queue_used_lo = htole32((uint32_t)v->used.pa);
	common->queue_used_hi = htole32(v->used.pa >> 32);
	v->notify = le16toh(common->queue_notify_off);
	common->queue_enable = htole16(1);
}

static void add_desc(int qi, uint16_t i, uint64_t pa, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (void *)q[qi].desc.va;

	d[i].addr = htole64(pa);
	d[i].len = htole32(len);
	d[i].flags = htole16(flags);
	d[i].next = htole16(next);
}

static void publish(int qi, uint16_t head)
{
	struct vring_avail *a = (void *)q[qi].avail.va;

	a->ring[q[qi].avail_idx++ % QSIZE] = htole16(head);
	__sync_synchronize();
	a->idx = htole16(q[qi].avail_idx);
	notify(qi);
}

static void driver_init(void)
{
	int i;

	reset();
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	common->guest_feature_select = htole32(1);
	common->guest_feature = htole32(1);	/* VIRTIO_F_VERSION_1 */
	common->guest_feature_select = 0;
	common->guest_feature = 0;
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(status() & VIRTIO_CONFIG_S_FEATURES_OK))
		fail(2, "FEATURES_OK refused");
	for (i = 0; i < 3; i++)
		setup_queue(i);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	for (i = 0; i < 8; i++) {
		add_desc(0, i, rxbuf[i].pa, PAGE, VRING_DESC_F_WRITE, 0);
		publish(0, i);
	}
	add_desc(2, 0, evbuf.pa, 8, VRING_DESC_F_WRITE, 0);
	publish(2, 0);
}

/* Packets lkvm put in rx since last time; counts its resets. */
static int rx_resets(void)
{
	struct vring_used *u = (void *)q[0].used.va;
	struct virtio_vsock_hdr *h;
	int resets = 0;
	uint32_t id;

	while (le16toh(u->idx) != q[0].last_used) {
		id = le32toh(u->ring[q[0].last_used++ % QSIZE].id);
		if (id >= 8)
			fail(1, "lkvm used an rx buffer we never gave (%u)", id);
		h = (void *)rxbuf[id].va;
		if (le16toh(h->op) == VIRTIO_VSOCK_OP_RST)
			resets++;
		publish(0, id);		/* give it back */
	}
	return resets;
}

static struct virtio_vsock_hdr hdr(uint32_t sport, uint32_t dport, uint16_t op,
				   uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(guest_cid),
		.dst_cid = htole64(2),
		.src_port = htole32(sport),
		.dst_port = htole32(dport),
		.len = htole32(len),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.buf_alloc = htole32(65536),
	};
}

/*
 * One packet in a descriptor of @desc_len bytes.  Hostile in what it
 * says, not in how it uses the ring: a descriptor is reused only once
 * lkvm has handed it back.
 */
static void send_pkt(const struct virtio_vsock_hdr *h, uint32_t desc_len)
{
	struct vring_used *u = (void *)q[1].used.va;
	uint16_t i = q[1].next++ % QSIZE;
	int n;

	for (n = 0; (uint16_t)(q[1].avail_idx - le16toh(u->idx)) >= QSIZE; n++) {
		if (n == 5000)
			fail(1, "lkvm stopped taking packets from the tx queue");
		sleep_ms(1);
	}

	memset(txbuf[i].va, 0, PAGE);
	memcpy(txbuf[i].va, h, HDR);
	add_desc(1, i, txbuf[i].pa, desc_len, 0, 0);
	publish(1, i);
}

/* Give lkvm's I/O thread time, then count what came back. */
static int settle(void)
{
	int resets = 0, i;

	for (i = 0; i < 20; i++) {
		sleep_ms(10);
		resets += rx_resets();
	}
	return resets;
}

static bool needs_reset(void)
{
	for (int i = 0; i < 100; i++) {
		if (status() & VIRTIO_CONFIG_S_NEEDS_RESET)
			return true;
		sleep_ms(10);
	}
	return false;
}

int main(void)
{
	struct virtio_vsock_hdr h;
	const char *bdf;
	char path[400];
	int i, resets, bad = 0;
	uint32_t cid_lo;

	setvbuf(stdout, NULL, _IOLBF, 0);
	bdf = find_device();
	snprintf(path, sizeof(path), "%s/driver/unbind", dev_dir);
	if (!access(path, F_OK))
		sysfs_write(path, bdf);
	map_device();
	for (i = 0; i < 3; i++) {
		q[i].desc = page_alloc();
		q[i].avail = page_alloc();
		q[i].used = page_alloc();
	}
	for (i = 0; i < 8; i++)
		rxbuf[i] = page_alloc();
	for (i = 0; i < QSIZE; i++)
		txbuf[i] = page_alloc();
	evbuf = page_alloc();
	driver_init();
	cid_lo = le32toh(*(volatile uint32_t *)(bar + device_off));
	guest_cid = cid_lo;
	printf("hostile: took %s from Linux's driver\n", bdf);

	h = hdr(7000, 7001, VIRTIO_VSOCK_OP_RW, 0);
	send_pkt(&h, 10);				/* cut short */
	h = hdr(7002, 7003, VIRTIO_VSOCK_OP_RW, 100000);
	send_pkt(&h, HDR);				/* len beyond buffer */
	h = hdr(7004, 7005, 77, 0);
	send_pkt(&h, HDR);				/* unknown op */
	h = hdr(7006, 7007, VIRTIO_VSOCK_OP_RW, 16);
	send_pkt(&h, HDR + 16);				/* no such connection */
	h = hdr(7008, 7009, VIRTIO_VSOCK_OP_REQUEST, 0);
	h.src_cid = htole64(1234);
	send_pkt(&h, HDR);				/* foreign CID */
	h = hdr(7010, 7011, VIRTIO_VSOCK_OP_REQUEST, 0);
	h.type = htole16(9);
	send_pkt(&h, HDR);				/* unknown type */
	resets = settle();
	printf("hostile: 6 bad packets, %d resets back (4 expected)\n", resets);
	bad |= resets != 4;

	/* A flood of credit requests for nothing: bounded answers. */
	for (i = 0; i < 2000; i++) {
		h = hdr(8000 + i, 9000, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
		send_pkt(&h, HDR);
		if (i % 8 == 7) {
			sleep_ms(1);
			resets += rx_resets();
		}
	}
	resets += settle();
	printf("hostile: after a flood of 2000 credit requests, %d resets in all\n",
	       resets);

	/* A descriptor outside guest RAM: the ring is broken. */
	i = q[1].next++ % QSIZE;
	add_desc(1, i, 1ULL << 52, HDR, 0, 0);
	publish(1, i);
	printf("hostile: descriptor outside RAM: device %s\n",
	       needs_reset() ? "needs reset" : "did NOT flag it");
	bad |= !(status() & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* Again from scratch: a chain that loops on itself. */
	driver_init();
	add_desc(1, 3, txbuf[3].pa, HDR, VRING_DESC_F_NEXT, 3);
	publish(1, 3);
	printf("hostile: descriptor loop: device %s\n",
	       needs_reset() ? "needs reset" : "did NOT flag it");
	bad |= !(status() & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* Back to Linux's driver. */
	reset();
	sysfs_write("/sys/bus/pci/drivers/virtio-pci/bind", bdf);
	printf("hostile: gave %s back to Linux's driver\n", bdf);
	printf("hostile: %s\n", bad ? "FAILED" : "lkvm behaved");
	return bad;
}
