// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk's entry in the device table: `-d FILE[,ro]`, repeatable.
 * Disks become vda, vdb, ... in the order given, on consecutive slots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/log.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/transport.h"

/* A limit on the command line, well below the PCI bus's 31 free slots. */
#define BLK_MAX_DISKS 16

struct blk_opts {
	unsigned int nr;
	struct {
		char *path;
		bool ro;
	} disk[BLK_MAX_DISKS];
};

static int blk_opt_parse(void **state, unsigned int idx, const char *arg,
			 char *err)
{
	struct blk_opts *o = *state;
	char *path, *bad;
	bool ro;
	int r;

	if (!o && !(o = *state = calloc(1, sizeof(*o))))
		return -ENOMEM;
	if (o->nr == BLK_MAX_DISKS) {
		snprintf(err, DEV_ERR_MAX, "at most %d disks", BLK_MAX_DISKS);
		return -EINVAL;
	}
	r = blk_parse(arg, &path, &ro, &bad);
	if (r == -EINVAL && bad)
		snprintf(err, DEV_ERR_MAX,
			 "-d %s: unknown disk option '%s' (only 'ro')", arg, bad);
	else if (r == -EINVAL)
		snprintf(err, DEV_ERR_MAX, "-d needs a file name");
	free(bad);
	if (r)
		return r;
	o->disk[o->nr].path = path;
	o->disk[o->nr].ro = ro;
	o->nr++;
	return 0;
}

static void blk_opt_free(void *state)
{
	struct blk_opts *o = state;
	unsigned int i;

	for (i = 0; o && i < o->nr; i++)
		free(o->disk[i].path);
	free(o);
}

static const char *open_error(int r)
{
	switch (r) {
	case -EBUSY:
		return "in use: mounted, or open in another lkvm or an earlier -d";
	case -EROFS:
		return "read-only file; add ,ro";
	default:
		return strerror(-r);
	}
}

static int blk_opt_create(struct vm *vm, void *state)
{
	struct blk_opts *o = state;
	struct virtio_blk *blk;
	unsigned int i;
	int r;

	for (i = 0; o && i < o->nr; i++) {
		/* An incoming migration takes the lock from the source later. */
		r = blk_open(o->disk[i].path, o->disk[i].ro,
			     vm->cfg.incoming != NULL, &vm->mem, &blk);
		if (r) {
			pr_err("disk %s: %s", o->disk[i].path, open_error(r));
			return r;
		}
		r = virtio_transport_add(vm, blk_dev(blk), blk_dev(blk)->name);
		if (r) {
			pr_err("disk %s: cannot attach it: %s",
			       o->disk[i].path, strerror(-r));
			return r;
		}
	}
	return 0;
}

static const struct dev_option blk_options[] = {
	{ "disk", 'd', "FILE[,ro]",
	  "virtio-blk disk, raw image or block device, repeatable:\n"
	  "vda, vdb, ... in order; ,ro makes it read-only" },
	{ NULL },
};

const struct dev_module blk_module = {
	.name = "virtio-blk",
	.options = blk_options,
	.parse = blk_opt_parse,
	.create = blk_opt_create,
	.free_state = blk_opt_free,
};
