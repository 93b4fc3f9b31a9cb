// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_transport_add(): the glue between a virtio device, its
 * transport and the VM's device list (kvm/device.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "kvm/vm.h"
#include "virtio/pci.h"
#include "virtio/transport.h"

struct virtio_attached {
	struct vm_device vmdev;
	struct virtio_dev *dev;
	struct virtio_pci *pci;
};

/* With the VM: the transport lets go first, then the device goes. */
static void attached_destroy(struct vm_device *vmdev)
{
	struct virtio_attached *a = vmdev->priv;

	virtio_pci_destroy(a->pci);
	a->dev->type->destroy(a->dev);
	free(a);
}

static const struct vm_device_ops attached_ops = {
	.destroy = attached_destroy,
};

int virtio_transport_add(struct vm *vm, struct virtio_dev *dev,
			 const char *name)
{
	struct virtio_attached *a = calloc(1, sizeof(*a));
	int r = -ENOMEM;

	if (a) {
		a->dev = dev;
		a->vmdev = (struct vm_device){ .ops = &attached_ops,
					       .name = name, .priv = a };
		r = vm_add_device(vm, &a->vmdev);
	}
	if (r) {
		free(a);
		dev->type->destroy(dev);
		return r;
	}
	/* From here the VM destroys a, and dev with it. */
	if (!vm->pci)
		return -ENODEV;
	return virtio_pci_add(vm, dev, &a->pci);
}
