// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "kvm/log.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/pci.h"

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

int virtio_devices_init(struct vm *vm)
{
	unsigned int i;
	int r;

	/* -d order is the guest's vda, vdb, ...: PCI slots in that order. */
	for (i = 0; i < vm->cfg.nr_disks; i++) {
		const struct disk_config *d = &vm->cfg.disk[i];

		r = blk_open(d->path, d->ro, &vm->mem, &vm->blk[i]);
		if (r) {
			pr_err("disk %s: %s", d->path, open_error(r));
			return r;
		}
		vm->nr_blk = i + 1;
		r = virtio_pci_add(vm, blk_dev(vm->blk[i]), &vm->blk_pci[i]);
		if (r) {
			pr_err("disk %s: cannot add it to the PCI bus: %s",
			       d->path, strerror(-r));
			return r;
		}
	}
	return 0;
}

void virtio_devices_destroy(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_blk; i++) {
		if (vm->blk_pci[i])
			virtio_pci_destroy(vm->blk_pci[i]);
		blk_destroy(vm->blk[i]);
		vm->blk_pci[i] = NULL;
		vm->blk[i] = NULL;
	}
	vm->nr_blk = 0;
}
