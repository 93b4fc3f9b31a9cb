// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_transport_add(): the glue between a virtio device, its
 * transport and the VM's device list (kvm/device.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "kvm/vm.h"
#include "virtio/mmio.h"
#include "virtio/pci.h"
#include "virtio/transport.h"

/* One of the two, as vm->cfg.transport chose. */
struct virtio_attached {
	struct vm_device vmdev;
	struct virtio_dev *dev;
	struct virtio_pci *pci;
	struct virtio_mmio *mmio;
};

/* With the VM: the transport lets go first, then the device goes. */
static void attached_destroy(struct vm_device *vmdev)
{
	struct virtio_attached *a = vmdev->priv;

	virtio_pci_destroy(a->pci);
	virtio_mmio_destroy(a->mmio);
	a->dev->type->destroy(a->dev);
	free(a);
}

/*
 * "type=virtio-blk transport=pci " and the type's own options: a
 * migration's two ends must agree on both.
 */
static void attached_describe(struct vm_device *vmdev, char *buf, size_t len)
{
	struct virtio_attached *a = vmdev->priv;
	int n = snprintf(buf, len, "type=%s transport=%s", a->dev->type->name,
			 a->mmio ? "mmio" : "pci");

	if (a->dev->type->describe && n > 0 && (size_t)n + 1 < len) {
		buf[n++] = ' ';
		a->dev->type->describe(a->dev, buf + n, len - n);
	}
}

static int attached_save(struct vm_device *vmdev, struct state_out *out)
{
	struct virtio_attached *a = vmdev->priv;

	if (a->mmio)
		return virtio_mmio_save(a->mmio, out);
	return a->pci ? virtio_pci_save(a->pci, out) : -ENODEV;
}

static int attached_load(struct vm_device *vmdev, struct state_in *in)
{
	struct virtio_attached *a = vmdev->priv;

	if (a->mmio)
		return virtio_mmio_load(a->mmio, in);
	return a->pci ? virtio_pci_load(a->pci, in) : -ENODEV;
}

static int attached_handover(struct vm_device *vmdev, enum dev_handover step)
{
	struct virtio_attached *a = vmdev->priv;

	if (step == DEV_HANDOVER_RESUMED && a->pci)
		virtio_pci_resumed(a->pci);
	if (step == DEV_HANDOVER_RESUMED && a->mmio)
		virtio_mmio_resumed(a->mmio);
	return a->dev->type->handover ? a->dev->type->handover(a->dev, step) :
					0;
}

/* A device type without save and load: migration refuses it by name. */
static const struct vm_device_ops attached_ops_nomig = {
	.destroy = attached_destroy,
};

static const struct vm_device_ops attached_ops = {
	.destroy = attached_destroy,
	.describe = attached_describe,
	.save = attached_save,
	.load = attached_load,
	.handover = attached_handover,
};

int virtio_transport_add(struct vm *vm, struct virtio_dev *dev,
			 const char *name)
{
	struct virtio_attached *a = calloc(1, sizeof(*a));
	int r = -ENOMEM;

	if (a) {
		a->dev = dev;
		a->vmdev = (struct vm_device){
			.ops = dev->type->save && dev->type->load ?
				       &attached_ops : &attached_ops_nomig,
			.name = name, .priv = a };
		r = vm_add_device(vm, &a->vmdev);
	}
	if (r) {
		free(a);
		dev->type->destroy(dev);
		return r;
	}
	/* From here the VM destroys a, and dev with it. */
	if (vm->cfg.transport == VM_TRANSPORT_MMIO)
		return virtio_mmio_add(vm, dev, &a->mmio);
	if (!vm->pci)
		return -ENODEV;
	return virtio_pci_add(vm, dev, &a->pci);
}
