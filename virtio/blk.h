/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-blk (virtio 1.2 §5.2): a disk for the guest, backed by a
 * struct disk.  One request queue; requests are served on the I/O thread.
 */
#ifndef LKVM_VIRTIO_BLK_H
#define LKVM_VIRTIO_BLK_H

#include "disk/disk.h"
#include "kvm/device.h"
#include "kvm/mem.h"
#include "virtio/virtio.h"

#define BLK_QUEUE_SIZE 256
/* A request is a header, data segments, and a status byte (§5.2.6). */
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2)

struct virtio_blk;

/*
 * Create a virtio-blk device from a -d argument, "path[,ro]".  Errors:
 * -EINVAL for a bad argument, -EBUSY if another lkvm holds the image,
 * or whatever opening the image returned.  The caller tells the user.
 */
int blk_create(const char *arg, const struct guest_mem *mem,
	       struct virtio_blk **blk);
/*
 * Split a -d argument into its path (allocated) and flags.  -EINVAL for
 * an empty path or an unknown flag, which is then in *bad (allocated; the
 * caller frees it, NULL otherwise).
 */
int blk_parse(const char *arg, char **path, bool *ro, char **bad);
/*
 * Create one from a path and flags already parsed.  With @unlocked (a
 * migration's destination) the image lock is taken only at the hand-over.
 */
int blk_open(const char *path, bool ro, bool unlocked,
	     const struct guest_mem *mem, struct virtio_blk **blk);
/* The same over an open disk, which the device then owns. */
int blk_create_disk(struct disk *disk, const char *name,
		    const struct guest_mem *mem, struct virtio_blk **blk);
/* The generic device, for a transport to expose. */
struct virtio_dev *blk_dev(struct virtio_blk *blk);
/*
 * After the transport has let go of the device; the type's destroy hook
 * calls it too, once the VM owns the device (virtio/transport.h).
 */
void blk_destroy(struct virtio_blk *blk);

/* -d: the device table's entry (builtin-cmds/run-devices.c). */
extern const struct dev_module blk_module;

#endif
