/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The input of fuzz-blk.c, shared with its seed writer seed-blk.c.
 *
 * A 4-byte header, then guest RAM from gpa 0.  The avail ring sits at 0
 * and the descriptor table at 0x80, so inputs of a few hundred bytes
 * (below libFuzzer's default max_len) make requests; the device writes
 * the used ring at 0x1000.
 *
 *   [0]  FB_* flags below
 *   [1]  disk size in sectors (0..255)
 *   [2]  log2 of the queue size (mod 6: 1..32)
 *   [3]  low 4 bits: the disk call that clears DMA (0: none); FB_*
 */
#ifndef LKVM_FUZZ_BLK_H
#define LKVM_FUZZ_BLK_H

#define FB_HDR_SIZE 4
#define FB_RAM_SIZE 0x10000ULL
#define FB_AVAIL_GPA 0x0
#define FB_DESC_GPA 0x80
#define FB_USED_GPA 0x1000

/* byte 0 */
#define FB_NO_EVENT_IDX 0x01	/* the driver drops VIRTIO_RING_F_EVENT_IDX */
#define FB_NO_INDIRECT 0x02	/* ...VIRTIO_RING_F_INDIRECT_DESC */
#define FB_NO_FLUSH 0x04	/* ...VIRTIO_BLK_F_FLUSH */
#define FB_RO 0x08		/* a read-only disk */
#define FB_NO_RANGE_OPS 0x10	/* a disk without discard or write zeroes */
#define FB_EIO 0x20		/* disk I/O fails with EIO */
/* byte 3 */
#define FB_STOP_RESET 0x10	/* reset the device there instead */
#define FB_RAW_DESCS 0x20	/* buffers not folded into RAM */

#endif
