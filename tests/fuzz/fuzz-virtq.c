// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the split virtqueue walker.  The input is a hostile
 * guest: a small header picks the queue layout and features, the rest
 * becomes guest RAM (descriptor table, rings, indirect tables, all of it).
 * We then behave like a device: pop every chain, write to every writable
 * byte and read every readable byte it hands us, push it back, and decide
 * on interrupts, until the ring is empty or the walker calls it broken.
 *
 * Guest RAM is an exact-size malloc, so AddressSanitizer reports any access
 * the walker lets us make outside it.
 *
 * Header (8 bytes):
 *   [0]   log2 of the queue size (mod 10: 1..512)
 *   [1]   bit 0: INDIRECT_DESC, bit 1: EVENT_IDX, bit 2: avail idx at
 *         65530 (exercises wraparound)
 *   [2-3] avail ring offset (x2), [4-5] used ring offset (x4), both
 *         inside the first region (the desc table is at gpa 0)
 *   [6]   iovec array size - 1 (1..256)
 *   [7]   reserved
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/mem.h"
#include "virtio/virtq.h"

/*
 * 64 KiB of RAM in two regions with a hole between them: gpa 0 (where the
 * rings live; small addresses are easy for the fuzzer to hit) and 0x10000.
 */
#define RAM_SIZE 0x10000ULL
#define REGION_SIZE (RAM_SIZE / 2)
#define REGION1_GPA 0x10000ULL
#define HDR_SIZE 8

static struct iovec iov[256];

static u8 consume(const struct iovec *v)
{
	const volatile u8 *p = v->iov_base;
	u8 sum = 0;
	size_t i;

	/* Read the first and last byte of each segment, and write it. */
	if (!v->iov_len)
		return 0;
	sum = p[0] + p[v->iov_len - 1];
	for (i = 0; i < v->iov_len; i += 4096)
		sum += p[i];
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem = { 0 };
	struct virtq_chain chain;
	struct virtq vq;
	unsigned int max_iov, i, rounds;
	u16 qsize, used_idx = 0;
	u64 avail_off, used_off;
	u8 *ram;
	int r;

	if (size < HDR_SIZE)
		return 0;
	qsize = 1 << (data[0] % 10);
	avail_off = ((data[2] | data[3] << 8) * 2ULL) % REGION_SIZE;
	used_off = ((data[4] | data[5] << 8) * 4ULL) % REGION_SIZE;
	max_iov = data[6] + 1;

	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return 0;
	memcpy(ram, data + HDR_SIZE, MIN(size - HDR_SIZE, RAM_SIZE));
	guest_mem_add(&mem, 0, REGION_SIZE, ram);
	guest_mem_add(&mem, REGION1_GPA, REGION_SIZE, ram + REGION_SIZE);

	r = virtq_init(&vq, &mem, qsize, 0, avail_off, used_off,
		       (data[1] & 1 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0) |
		       (data[1] & 2 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0));
	if (r)
		goto out;
	if (data[1] & 4) {
		/* Start near the wrap; the guest's avail idx is what it is. */
		used_idx = 65530;
		virtq_set_state(&vq, 65530, used_idx);
	}

	/* Each pop consumes one entry, and at most qsize are outstanding. */
	for (rounds = 0; rounds < 2u * qsize + 2; rounds++) {
		r = virtq_pop(&vq, iov, max_iov, &chain);
		if (r)
			break;
		if (chain.nr_out + chain.nr_in > max_iov)
			abort();
		for (i = 0; i < chain.nr_out; i++)
			(void)consume(&iov[i]);
		for (i = chain.nr_out; i < chain.nr_out + chain.nr_in; i++)
			if (iov[i].iov_len)
				memset(iov[i].iov_base, 0x5a,
				       MIN(iov[i].iov_len, 64));
		if (virtq_push(&vq, chain.head, (u32)chain.in_len))
			abort();
		used_idx++;
		(void)virtq_should_interrupt(&vq);
	}
	if (r != -EAGAIN && r != 0 && !vq.broken)
		abort();	/* an error must leave the queue broken */
	if (r == -EIO)
		abort();	/* only a broken queue says -EIO */
	if (vq.used_idx != used_idx)
		abort();
out:
	free(ram);
	return 0;
}
