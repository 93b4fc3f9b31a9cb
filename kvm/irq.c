// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/irq.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"

int irq_line(struct vm *vm, u32 irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

void irq_routing_init(struct irq_routing *rt, u32 first_msi_gsi)
{
	memset(rt, 0, sizeof(*rt));
	pthread_mutex_init(&rt->lock, NULL);
	rt->next_gsi = first_msi_gsi;
}

static int add_locked(struct irq_routing *rt, const struct kvm_irq_routing_entry *e)
{
	if (rt->nr == IRQ_MAX_ROUTES)
		return -ENOSPC;
	rt->entry[rt->nr++] = *e;
	return 0;
}

int irq_route_add_irqchip(struct irq_routing *rt, u32 gsi, u32 chip, u32 pin)
{
	struct kvm_irq_routing_entry e = {
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
	int r;

	pthread_mutex_lock(&rt->lock);
	r = add_locked(rt, &e);
	pthread_mutex_unlock(&rt->lock);
	return r;
}

/* A route's MSI, with the device id only where KVM wants one. */
static void msi_entry(const struct irq_routing *rt,
		      struct kvm_irq_routing_entry *e, const struct irq_msi *m)
{
	e->flags = rt->msi_devid ? KVM_MSI_VALID_DEVID : 0;
	e->u.msi = (struct kvm_irq_routing_msi){
		.address_lo = (u32)m->addr,
		.address_hi = m->addr >> 32,
		.data = m->data,
		.devid = rt->msi_devid ? m->devid : 0,
	};
}

int irq_route_add_msi(struct irq_routing *rt, const struct irq_msi *msi)
{
	struct kvm_irq_routing_entry e = { .type = KVM_IRQ_ROUTING_MSI };
	int r;

	pthread_mutex_lock(&rt->lock);
	msi_entry(rt, &e, msi);
	e.gsi = rt->next_gsi;
	r = add_locked(rt, &e);
	if (!r)
		r = rt->next_gsi++;
	pthread_mutex_unlock(&rt->lock);
	return r;
}

int irq_route_set_msi(struct irq_routing *rt, u32 gsi,
		      const struct irq_msi *msi)
{
	unsigned int i;
	int r = -ENOENT;

	pthread_mutex_lock(&rt->lock);
	for (i = 0; i < rt->nr; i++) {
		struct kvm_irq_routing_entry *e = &rt->entry[i];

		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		msi_entry(rt, e, msi);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&rt->lock);
	return r;
}

int irq_routing_commit(struct vm *vm, struct irq_routing *rt)
{
	struct kvm_irq_routing *tbl;
	size_t sz;
	int r;

	pthread_mutex_lock(&rt->lock);
	sz = sizeof(*tbl) + rt->nr * sizeof(tbl->entries[0]);
	tbl = calloc(1, sz);
	if (!tbl) {
		pthread_mutex_unlock(&rt->lock);
		return -ENOMEM;
	}
	tbl->nr = rt->nr;
	memcpy(tbl->entries, rt->entry, rt->nr * sizeof(tbl->entries[0]));
	r = __kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING",
			(unsigned long)tbl);
	pthread_mutex_unlock(&rt->lock);
	free(tbl);
	return r < 0 ? r : 0;
}

int irq_signal_msi(struct vm *vm, const struct irq_msi *m)
{
	bool devid = vm->routing.msi_devid;
	struct kvm_msi msi = { .address_lo = (u32)m->addr,
			       .address_hi = m->addr >> 32, .data = m->data,
			       .flags = devid ? KVM_MSI_VALID_DEVID : 0,
			       .devid = devid ? m->devid : 0 };

	return kvm_ioctl_val(vm->vm_fd, KVM_SIGNAL_MSI, (unsigned long)&msi);
}

int irqfd_assign(struct vm *vm, int fd, u32 gsi)
{
	struct kvm_irqfd irqfd = { .fd = fd, .gsi = gsi };

	return kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);
}

int irqfd_deassign(struct vm *vm, int fd, u32 gsi)
{
	struct kvm_irqfd irqfd = { .fd = fd, .gsi = gsi,
				   .flags = KVM_IRQFD_FLAG_DEASSIGN };

	return kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);
}

static int ioeventfd(struct vm *vm, u64 addr, u32 len, bool pio, int fd,
		     u32 flags, u64 match)
{
	struct kvm_ioeventfd ev = {
		.datamatch = match, .addr = addr, .len = len, .fd = fd,
		.flags = flags | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0),
	};

	return kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &ev);
}

int ioeventfd_add(struct vm *vm, u64 addr, u32 len, bool pio, int fd)
{
	return ioeventfd(vm, addr, len, pio, fd, 0, 0);
}

int ioeventfd_del(struct vm *vm, u64 addr, u32 len, bool pio, int fd)
{
	return ioeventfd(vm, addr, len, pio, fd, KVM_IOEVENTFD_FLAG_DEASSIGN, 0);
}

int ioeventfd_add_match(struct vm *vm, u64 addr, u32 len, u64 match, int fd)
{
	return ioeventfd(vm, addr, len, false, fd,
			 KVM_IOEVENTFD_FLAG_DATAMATCH, match);
}

int ioeventfd_del_match(struct vm *vm, u64 addr, u32 len, u64 match, int fd)
{
	return ioeventfd(vm, addr, len, false, fd,
			 KVM_IOEVENTFD_FLAG_DATAMATCH |
				 KVM_IOEVENTFD_FLAG_DEASSIGN, match);
}
