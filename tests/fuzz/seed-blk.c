// SPDX-License-Identifier: GPL-2.0
/*
 * Writes a seed corpus for fuzz-blk into the directory named on the
 * command line: one input per request type, in the layout of fuzz-blk.h,
 * so the fuzzer starts from requests the device accepts and mutates
 * from there.  Random bytes take a long time to find a readable 16-byte
 * header followed by a writable status byte.
 */
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "kvm/types.h"
#include "tests/fuzz/fuzz-blk.h"

#define SEED_RAM 0x1000	/* of guest RAM in each seed, up to the used ring */
#define INDIRECT_GPA 0x380
#define HDR_GPA 0x400
#define SEG_GPA 0x800
#define DATA_GPA 0x4000		/* past the seed: zeroes in guest RAM */
#define STATUS_GPA 0xfff

static u8 in[FB_HDR_SIZE + SEED_RAM];
static u8 *ram = in + FB_HDR_SIZE;

static void desc(u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	struct vring_desc d = { htole64(addr), htole32(len), htole16(flags),
				htole16(next) };

	memcpy(ram + FB_DESC_GPA + i * sizeof(d), &d, sizeof(d));
}

/* Header, @len bytes of data (device-writable if @write), status. */
static void request(u32 type, u64 sector, u32 len, bool write)
{
	struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };
	u16 avail[3] = { 0, htole16(1), 0 };	/* flags, idx, ring[0] */

	memset(in, 0, sizeof(in));
	in[1] = 64;			/* 32 KiB of disk */
	in[2] = 4;			/* 16 entries */
	memcpy(ram + FB_AVAIL_GPA, avail, sizeof(avail));
	memcpy(ram + HDR_GPA, &h, sizeof(h));
	desc(0, HDR_GPA, sizeof(h), VRING_DESC_F_NEXT, 1);
	if (len) {
		desc(1, DATA_GPA, len,
		     VRING_DESC_F_NEXT | (write ? VRING_DESC_F_WRITE : 0), 2);
		desc(2, STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	} else {
		desc(1, STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	}
}

/* One discard / write zeroes segment as the data. */
static void range(u32 type, u64 sector, u32 nr)
{
	struct virtio_blk_discard_write_zeroes s = { htole64(sector),
						     htole32(nr), 0 };

	request(type, 0, sizeof(s), false);
	desc(1, SEG_GPA, sizeof(s), VRING_DESC_F_NEXT, 2);
	memcpy(ram + SEG_GPA, &s, sizeof(s));
}

static int save(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	ok = fwrite(in, sizeof(in), 1, f) == 1;
	return fclose(f) || !ok ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	int r = 0;

	request(VIRTIO_BLK_T_IN, 2, 1024, true);
	r |= save(dir, "read");
	/* Two 4 KiB pieces; DMA goes off in the first, then comes back. */
	request(VIRTIO_BLK_T_IN, 0, 8192, true);
	in[3] = 1;
	r |= save(dir, "read-dma-off");
	request(VIRTIO_BLK_T_OUT, 4, 512, false);
	r |= save(dir, "write");
	request(VIRTIO_BLK_T_FLUSH, 0, 0, false);
	r |= save(dir, "flush");
	request(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
	r |= save(dir, "get-id");
	range(VIRTIO_BLK_T_DISCARD, 8, 16);
	r |= save(dir, "discard");
	range(VIRTIO_BLK_T_WRITE_ZEROES, 8, 16);
	r |= save(dir, "write-zeroes");
	/* The same read through an indirect table of three descriptors. */
	request(VIRTIO_BLK_T_IN, 0, 512, true);
	memcpy(ram + INDIRECT_GPA, ram + FB_DESC_GPA,
	       3 * sizeof(struct vring_desc));
	desc(3, INDIRECT_GPA, 3 * sizeof(struct vring_desc),
	     VRING_DESC_F_INDIRECT, 0);
	ram[FB_AVAIL_GPA + 4] = 3;	/* ring[0]: the indirect one */
	r |= save(dir, "indirect");
	if (r)
		perror(dir);
	return r ? 1 : 0;
}
