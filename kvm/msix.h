/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MSI-X for an emulated PCI function (PCI Local Bus 3.0 §6.8.2): the
 * capability in config space, the vector table and the pending bit array
 * in a BAR of their own, and the way into KVM.
 *
 * Each vector has an eventfd bound as an irqfd to a GSI whose route
 * (KVM_SET_GSI_ROUTING) holds the vector's message, so firing a vector is
 * one eventfd write, from whichever thread raises it; the route follows the
 * guest's table only when the message changed.  A vector that is masked,
 * or fires while Bus Master Enable is clear (an MSI is a memory write by
 * the device), is left pending and sent when that ends.
 *
 * The function's owner (virtio-pci, say) calls msix_init() before
 * pci_register(), msix_cfg_write() after every config write of its
 * function, and msix_notify() to interrupt.  Which vector means what is
 * the owner's business.  m->lock is never held while calling out.
 */
#ifndef LKVM_MSIX_H
#define LKVM_MSIX_H

#include <pthread.h>
#include <linux/pci_regs.h>

#include "kvm/types.h"

struct vm;
struct pci_dev;

/* The BAR holds the table at 0 and the PBA at MSIX_PBA_OFF. */
#define MSIX_BAR_SIZE 0x1000
#define MSIX_PBA_OFF 0x800
#define MSIX_MAX_VECTORS (MSIX_PBA_OFF / PCI_MSIX_ENTRY_SIZE)

/* A vector's way into KVM: a write to fd injects gsi's route's message. */
struct msix_vector {
	int fd;
	u32 gsi;
	bool bound;		/* fd is an irqfd of gsi */
	u64 addr;		/* the route's message; under lock */
	u32 data;
};

struct msix {
	struct vm *vm;
	struct pci_dev *pci;
	pthread_mutex_t lock;	/* everything below */
	unsigned int nr;
	u8 cap;			/* config offset of the capability */
	bool enabled;		/* the capability's MSI-X Enable */
	bool masked;		/* its Function Mask */
	bool bus_master;	/* PCI_COMMAND_MASTER */
	struct msix_vector *vec;
	u8 table[MSIX_MAX_VECTORS * PCI_MSIX_ENTRY_SIZE];
	u64 pba[MSIX_MAX_VECTORS / 64];
};

/*
 * Give @pci @nr vectors: the capability, BAR @bar, and an irqfd and GSI
 * per vector, so that an interrupt never waits for an allocation.  Every
 * vector starts masked.  Before pci_register(); 0 or -errno.
 */
int msix_init(struct msix *m, struct vm *vm, struct pci_dev *pci,
	      unsigned int nr, int bar);
/* After the function's last interrupt: unbind and close the irqfds. */
void msix_destroy(struct msix *m);

/*
 * Interrupt with vector @vec: send it, or leave it pending while masked
 * or without bus mastering.  Nothing if MSI-X is off or @vec does not
 * exist (the driver chose no vector).  0, or -errno if KVM refused.
 */
int msix_notify(struct msix *m, unsigned int vec);
/*
 * The guest wrote the function's config space: follow Bus Master Enable
 * and the capability's Enable and Function Mask, and send what waited.
 * Call with the PCI bus lock held (as cfg_write hooks are).
 */
void msix_cfg_write(struct msix *m);
/* The function was reset: nothing raised before is pending any more. */
void msix_clear_pending(struct msix *m);

struct state_out;
struct state_in;
/*
 * Migration: the vector table and pending bits.  Load after the
 * function's config space (the capability's Enable and Function Mask
 * are read from it); what is pending and unmasked fires then.
 */
void msix_save(struct msix *m, struct state_out *out);
int msix_load(struct msix *m, struct state_in *in);

#endif
