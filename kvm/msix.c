// SPDX-License-Identifier: GPL-2.0
/* MSI-X for emulated PCI functions (kvm/msix.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/irq.h"
#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "kvm/msix.h"
#include "kvm/pci.h"
#include "kvm/vm.h"

static u32 entry32(struct msix *m, unsigned int vec, unsigned int off)
{
	u32 v;

	memcpy(&v, m->table + vec * PCI_MSIX_ENTRY_SIZE + off, sizeof(v));
	return le32toh(v);
}

/* The message vector @vec's table entry holds, and who sends it. */
static struct irq_msi entry_msg(struct msix *m, unsigned int vec)
{
	return (struct irq_msi){
		.addr = (u64)entry32(m, vec, PCI_MSIX_ENTRY_UPPER_ADDR) << 32 |
			entry32(m, vec, PCI_MSIX_ENTRY_LOWER_ADDR),
		.data = entry32(m, vec, PCI_MSIX_ENTRY_DATA),
		.devid = m->pci->devfn, /* bus 0: the requester ID */
	};
}

static bool vector_masked(struct msix *m, unsigned int vec)
{
	return m->masked || (entry32(m, vec, PCI_MSIX_ENTRY_VECTOR_CTRL) &
			     PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/*
 * Make vector @vec's route carry @msg.  The guest changes an entry while
 * the vector is masked (PCI 3.0 §6.8.2 leaves changing an unmasked one
 * undefined; Linux masks, writes, unmasks), and a masked vector does not
 * fire, so looking as it fires is enough; the VM-wide table goes to KVM
 * again only when the message changed.  Lock held.
 */
static int route(struct msix *m, unsigned int vec, const struct irq_msi *msg)
{
	struct msix_vector *v = &m->vec[vec];
	struct irq_routing *rt = &m->vm->routing;
	struct irq_msi old = { v->addr, v->data, msg->devid };
	int r;

	if (msg->addr == v->addr && msg->data == v->data)
		return 0;
	r = irq_route_set_msi(rt, v->gsi, msg);
	if (!r)
		r = irq_routing_commit(m->vm, rt);
	if (r) {
		/*
		 * Put our copy back to what KVM has, so that another
		 * device's commit does not push a message we gave up on.
		 */
		irq_route_set_msi(rt, v->gsi, &old);
		return r;
	}
	v->addr = msg->addr;
	v->data = msg->data;
	return 0;
}

/* Send vector @vec now, or leave it pending.  Lock held. */
static int fire(struct msix *m, unsigned int vec)
{
	struct irq_msi msg;
	u64 one = 1;
	int r;

	if (!m->bus_master || vector_masked(m, vec)) {
		m->pba[vec / 64] |= 1ULL << (vec % 64);
		return 0;
	}
	msg = entry_msg(m, vec);
	r = route(m, vec, &msg);
	if (r) {
		/* No route for the new message: send this one by hand. */
		r = irq_signal_msi(m->vm, &msg);
		r = r < 0 ? r : 0;
	} else if (write(m->vec[vec].fd, &one, sizeof(one)) < 0 &&
		   errno != EAGAIN) {
		/* EAGAIN: the counter is full, so an injection is on its way. */
		r = -errno;
	}
	if (r)
		pr_warn_ratelimited("PCI %02x.%x: MSI-X vector %u: %s",
				    m->pci->devfn >> 3, m->pci->devfn & 7, vec,
				    strerror(-r));
	return r;
}

/* A vector that was pending and is now unmasked fires.  Lock held. */
static void flush(struct msix *m)
{
	unsigned int vec;

	if (!m->enabled || m->masked || !m->bus_master)
		return;
	for (vec = 0; vec < m->nr; vec++) {
		if (!(m->pba[vec / 64] & (1ULL << (vec % 64))) ||
		    vector_masked(m, vec))
			continue;
		m->pba[vec / 64] &= ~(1ULL << (vec % 64));
		fire(m, vec);
	}
}

int msix_notify(struct msix *m, unsigned int vec)
{
	int r = 0;

	pthread_mutex_lock(&m->lock);
	if (m->enabled && vec < m->nr)
		r = fire(m, vec);
	pthread_mutex_unlock(&m->lock);
	return r;
}

static u16 cfg16(const struct pci_dev *d, u32 off)
{
	u16 v;

	memcpy(&v, d->cfg + off, sizeof(v));
	return le16toh(v);
}

void msix_cfg_write(struct msix *m)
{
	u16 ctrl = cfg16(m->pci, m->cap + PCI_MSIX_FLAGS);

	pthread_mutex_lock(&m->lock);
	m->bus_master = cfg16(m->pci, PCI_COMMAND) & PCI_COMMAND_MASTER;
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
	flush(m);
	pthread_mutex_unlock(&m->lock);
}

void msix_clear_pending(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	memset(m->pba, 0, sizeof(m->pba));
	pthread_mutex_unlock(&m->lock);
}

/* The BAR: the table, then the pending bit array (read-only). */
static void bar_access(struct io_range *r, u64 off, void *data,
		       unsigned int len, bool is_write)
{
	struct msix *m = r->opaque;
	u64 table_end = (u64)m->nr * PCI_MSIX_ENTRY_SIZE;

	pthread_mutex_lock(&m->lock);
	if (off + len <= table_end) {
		if (is_write) {
			memcpy(m->table + off, data, len);
			flush(m);	/* an entry may have been unmasked */
		} else {
			memcpy(data, m->table + off, len);
		}
	} else if (off >= MSIX_PBA_OFF &&
		   off + len <= MSIX_PBA_OFF + sizeof(m->pba)) {
		if (!is_write)
			memcpy(data, (u8 *)m->pba + off - MSIX_PBA_OFF, len);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&m->lock);
}

static int add_cap(struct msix *m, int bar)
{
	u8 cap[PCI_CAP_MSIX_SIZEOF] = { 0 };
	u16 ctrl = htole16(m->nr - 1);
	u32 table = htole32(0 | bar);
	u32 pba = htole32(MSIX_PBA_OFF | bar);
	unsigned int i;
	int off;

	memcpy(cap + PCI_MSIX_FLAGS, &ctrl, sizeof(ctrl));
	memcpy(cap + PCI_MSIX_TABLE, &table, sizeof(table));
	memcpy(cap + PCI_MSIX_PBA, &pba, sizeof(pba));
	off = pci_add_cap(m->pci, PCI_CAP_ID_MSIX, cap, sizeof(cap));
	if (off < 0)
		return off;
	m->cap = off;
	/* Only Enable and Function Mask are the guest's to write. */
	m->pci->wmask[off + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	for (i = 0; i < m->nr; i++)
		m->table[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASKBIT;
	return 0;
}

/*
 * The routes start with an empty message; route() fills it in before the
 * first write to the eventfd.  KVM_SET_GSI_ROUTING replaces the whole
 * table, so we add to lkvm's copy (the irqchip routes are in it) and
 * commit that.
 */
static int add_vectors(struct msix *m)
{
	struct irq_routing *rt = &m->vm->routing;
	struct irq_msi none = { 0 };
	unsigned int i;
	int r;

	for (i = 0; i < m->nr; i++) {
		m->vec[i].fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (m->vec[i].fd < 0)
			return -errno;
		r = irq_route_add_msi(rt, &none);
		if (r < 0)
			return r;
		m->vec[i].gsi = r;
	}
	r = irq_routing_commit(m->vm, rt);
	for (i = 0; i < m->nr && !r; i++) {
		r = irqfd_assign(m->vm, m->vec[i].fd, m->vec[i].gsi);
		m->vec[i].bound = !r;
	}
	return r;
}

int msix_init(struct msix *m, struct vm *vm, struct pci_dev *pci,
	      unsigned int nr, int bar)
{
	unsigned int i;
	int r;

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	if (!nr || nr > MSIX_MAX_VECTORS)
		return -EINVAL;
	m->vm = vm;
	m->pci = pci;
	m->nr = nr;
	m->bus_master = cfg16(pci, PCI_COMMAND) & PCI_COMMAND_MASTER;
	m->vec = calloc(nr, sizeof(*m->vec));
	if (!m->vec)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		m->vec[i].fd = -1;
	r = pci_add_bar(pci, bar, MSIX_BAR_SIZE, bar_access, m);
	if (!r)
		r = add_cap(m, bar);
	if (!r)
		r = add_vectors(m);
	return r;
}

void msix_destroy(struct msix *m)
{
	unsigned int i;

	/* Their routes stay in the table: lkvm never unplugs a device. */
	for (i = 0; m->vec && i < m->nr; i++) {
		if (m->vec[i].bound)
			irqfd_deassign(m->vm, m->vec[i].fd, m->vec[i].gsi);
		if (m->vec[i].fd >= 0)
			close(m->vec[i].fd);
	}
	free(m->vec);
	m->vec = NULL;
	pthread_mutex_destroy(&m->lock);
}

void msix_save(struct msix *m, struct state_out *o)
{
	unsigned int i;

	pthread_mutex_lock(&m->lock);
	state_put_u32(o, m->nr);
	state_put(o, m->table, m->nr * PCI_MSIX_ENTRY_SIZE);
	for (i = 0; i < ARRAY_SIZE(m->pba); i++)
		state_put_u64(o, m->pba[i]);
	pthread_mutex_unlock(&m->lock);
}

int msix_load(struct msix *m, struct state_in *in)
{
	u64 pba[ARRAY_SIZE(m->pba)];
	const void *table;
	unsigned int i;

	if (state_get_u32(in) != m->nr)
		return state_fail(in, "MSI-X: another number of vectors");
	table = state_get_ptr(in, m->nr * PCI_MSIX_ENTRY_SIZE);
	for (i = 0; i < ARRAY_SIZE(pba); i++)
		pba[i] = state_get_u64(in);
	if (in->err)
		return in->err;
	pthread_mutex_lock(&m->lock);
	memcpy(m->table, table, m->nr * PCI_MSIX_ENTRY_SIZE);
	/* Pending bits of vectors that do not exist stay clear. */
	for (i = 0; i < m->nr; i++)
		if (pba[i / 64] & (1ULL << (i % 64)))
			m->pba[i / 64] |= 1ULL << (i % 64);
	pthread_mutex_unlock(&m->lock);
	msix_cfg_write(m);
	return 0;
}
