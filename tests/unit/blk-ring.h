/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The driver's side of one split virtqueue of a virtio-blk device, for
 * the transport tests (test-virtio-pci.c, test-virtio-mmio.c): the rings
 * and a request's buffers at fixed offsets in the test's guest RAM.
 */
#ifndef LKVM_TESTS_BLK_RING_H
#define LKVM_TESTS_BLK_RING_H

#include <endian.h>
#include <stdbool.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "kvm/types.h"

#define RAM_SIZE (1024 * 1024ULL)
#define DESC_OFF 0x0
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define HDR_OFF 0x4000
#define STATUS_OFF 0x4100
#define DATA_OFF 0x10000
#define QSIZE 16

/*
 * Put a 512-byte read of sector 0 on the ring of @ram (at guest address
 * @gpa), as the driver's *avail_idx-th request.  EVENT_IDX: like Linux,
 * it asks for an interrupt on the next used entry.  The device reads
 * used_event at any time: an atomic store, as the driver's own barriers
 * make it on real hardware.
 */
static inline void blk_ring_read(u8 *ram, u64 gpa, u16 *avail_idx)
{
	struct vring_desc *d = (struct vring_desc *)(ram + DESC_OFF);
	struct vring_avail *avail = (struct vring_avail *)(ram + AVAIL_OFF);
	struct virtio_blk_outhdr *h = (void *)(ram + HDR_OFF);

	h->type = htole32(VIRTIO_BLK_T_IN);
	h->sector = 0;
	ram[STATUS_OFF] = 0xff;
	d[0] = (struct vring_desc){ htole64(gpa + HDR_OFF), htole32(16),
				    htole16(VRING_DESC_F_NEXT), htole16(1) };
	d[1] = (struct vring_desc){ htole64(gpa + DATA_OFF), htole32(512),
				    htole16(VRING_DESC_F_NEXT |
					    VRING_DESC_F_WRITE), htole16(2) };
	d[2] = (struct vring_desc){ htole64(gpa + STATUS_OFF), htole32(1),
				    htole16(VRING_DESC_F_WRITE), 0 };
	__atomic_store_n(&avail->ring[QSIZE], htole16(*avail_idx),
			 __ATOMIC_RELAXED);
	avail->ring[(*avail_idx)++ % QSIZE] = 0;
	__atomic_store_n(&avail->idx, htole16(*avail_idx), __ATOMIC_RELEASE);
}

/* Wait (bounded: 2 s) until the device has used @n requests in all. */
static inline bool blk_ring_wait_used(const u8 *ram, u16 n)
{
	const struct vring_used *used = (const void *)(ram + USED_OFF);
	int i;

	for (i = 0; i < 2000; i++) {
		if (le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) == n)
			return true;
		usleep(1000);
	}
	return false;
}

#endif
