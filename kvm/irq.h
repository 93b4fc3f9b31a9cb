/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupts and doorbells between devices and KVM.
 *
 * - irq_line(): raise or lower a wired interrupt (the 8250 on IRQ 4).
 * - GSI routing: KVM_SET_GSI_ROUTING replaces the whole table, so lkvm keeps
 *   its copy here; the arch adds the irqchip pins, devices add MSI routes and
 *   bind an irqfd to them.  An MSI-X vector then fires with one eventfd write
 *   from the I/O thread, and the guest's MSI-X table writes only change the
 *   route.
 * - ioeventfd_add(): a guest write to a doorbell address signals an eventfd
 *   inside KVM, without a userspace exit.
 */
#ifndef LKVM_IRQ_H
#define LKVM_IRQ_H

#include <pthread.h>
#include <linux/kvm.h>

#include "kvm/types.h"

struct vm;

#define IRQ_MAX_ROUTES 512

struct irq_routing {
	pthread_mutex_t lock;
	struct kvm_irq_routing_entry entry[IRQ_MAX_ROUTES];
	unsigned int nr;
	u32 next_gsi; /* first GSI free for MSI routes */
	/*
	 * KVM wants to know which device sends each MSI (KVM_CAP_MSI_DEVID:
	 * arm64's GICv3 ITS translates by it).  Set by the arch; then MSI
	 * routes and injections carry KVM_MSI_VALID_DEVID and the device id.
	 */
	bool msi_devid;
};

int irq_line(struct vm *vm, u32 irq, int level);

void irq_routing_init(struct irq_routing *rt, u32 first_msi_gsi);
int irq_route_add_irqchip(struct irq_routing *rt, u32 gsi, u32 chip, u32 pin);
/*
 * An MSI message, and who sends it: @devid is the PCI requester ID
 * (bus << 8 | devfn), for the ITS; ignored where KVM does not want it.
 */
struct irq_msi {
	u64 addr;
	u32 data;
	u32 devid;
};

/* Allocate a GSI routed to an MSI message; returns the GSI or -ENOSPC. */
int irq_route_add_msi(struct irq_routing *rt, const struct irq_msi *msi);
int irq_route_set_msi(struct irq_routing *rt, u32 gsi,
		      const struct irq_msi *msi);
/* Push the table to KVM (KVM_SET_GSI_ROUTING). */
int irq_routing_commit(struct vm *vm, struct irq_routing *rt);

/*
 * Inject one MSI directly (KVM_SIGNAL_MSI): the fallback when a route
 * cannot be committed.  1 delivered, 0 blocked by the guest, or -errno.
 */
int irq_signal_msi(struct vm *vm, const struct irq_msi *msi);

/* Bind (or unbind) eventfd @fd to @gsi: a write to it injects. */
int irqfd_assign(struct vm *vm, int fd, u32 gsi);
int irqfd_deassign(struct vm *vm, int fd, u32 gsi);

/* Signal @fd on guest writes of @len bytes at @addr (pio: port). */
int ioeventfd_add(struct vm *vm, u64 addr, u32 len, bool pio, int fd);
int ioeventfd_del(struct vm *vm, u64 addr, u32 len, bool pio, int fd);
/*
 * The same for an MMIO write of exactly @len bytes whose value is @match:
 * several doorbells can share one register (virtio-mmio's QueueNotify,
 * written with the queue's index).
 */
int ioeventfd_add_match(struct vm *vm, u64 addr, u32 len, u64 match, int fd);
int ioeventfd_del_match(struct vm *vm, u64 addr, u32 len, u64 match, int fd);

#endif
