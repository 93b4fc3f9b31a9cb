// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue walker (virtio 1.2 §2.7), device side.
 *
 * The driver offers a buffer by writing descriptors into the descriptor
 * table, putting the index of the first one (the "head") into the next slot
 * of the available ring, and bumping avail->idx.  We consume it by reading
 * avail->idx, then the head, then following the chain of descriptors; when
 * done we write (head, bytes written) into the used ring and bump used->idx.
 *
 * Everything in those rings is written by a guest we do not trust, and may
 * change while we read it.  So:
 *   - each descriptor is copied out of guest memory once, then checked, and
 *     only the copy is used (no double fetch);
 *   - every index is range-checked, every chain walk is bounded (a loop in
 *     the chain ends as an error, not a hang), and every buffer goes
 *     through gpa_to_hva() with its length;
 *   - any violation marks the queue broken and we stop touching it (but
 *     for the interrupt still owed for buffers used before it broke).  The
 *     device core then sets DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2).
 * The checks follow the ones in bhyve's vq_getchain().
 *
 * Ring fields are little-endian (virtio 1.2 §1.4); the le*toh() calls are
 * free on x86 and arm64 but keep the code honest.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "kvm/log.h"
#include "virtio/virtq.h"

/* virtio 1.2 §2.7: sizes of the three areas, including the event fields. */
static u64 desc_area_size(u16 size)
{
	return (u64)sizeof(struct vring_desc) * size;
}

static u64 avail_area_size(u16 size)
{
	/* flags, idx, ring[size], used_event */
	return sizeof(struct vring_avail) + sizeof(__virtio16) * (size + 1ULL);
}

static u64 used_area_size(u16 size)
{
	/* flags, idx, ring[size], avail_event */
	return sizeof(struct vring_used) +
	       sizeof(struct vring_used_elem) * (u64)size + sizeof(__virtio16);
}

/*
 * We wrote into the used area (an element, idx, flags or avail_event):
 * tell migration, which cannot see our writes in KVM's dirty log.
 */
static void mark_used(struct virtq *vq)
{
	guest_mem_mark_dirty(vq->mem, vq->used_gpa, used_area_size(vq->size));
}

/* Map one area, which must lie inside one RAM region and be aligned. */
static void *map_area(const struct guest_mem *mem, u64 gpa, u64 len, u64 align)
{
	if (gpa & (align - 1))
		return NULL;
	return gpa_to_hva(mem, gpa, len);
}

int virtq_init(struct virtq *vq, const struct guest_mem *mem, u16 size,
	       u64 desc_gpa, u64 avail_gpa, u64 used_gpa, u64 features)
{
	memset(vq, 0, sizeof(*vq));

	/* virtio 1.2 §2.7: a power of 2, at most 32768 (fits in a u16). */
	if (!size || (size & (size - 1)))
		return -EINVAL;

	/*
	 * virtio 1.2 §2.7.1: the driver MUST align the areas (16, 2, 4).
	 * Rejecting misalignment here means the atomic accesses below are
	 * always naturally aligned.
	 */
	vq->desc = map_area(mem, desc_gpa, desc_area_size(size),
			    VRING_DESC_ALIGN_SIZE);
	vq->avail = map_area(mem, avail_gpa, avail_area_size(size),
			     VRING_AVAIL_ALIGN_SIZE);
	vq->used = map_area(mem, used_gpa, used_area_size(size),
			    VRING_USED_ALIGN_SIZE);
	if (!vq->desc || !vq->avail || !vq->used) {
		memset(vq, 0, sizeof(*vq));
		return -EINVAL;
	}

	vq->mem = mem;
	vq->size = size;
	vq->desc_gpa = desc_gpa;
	vq->avail_gpa = avail_gpa;
	vq->used_gpa = used_gpa;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	/*
	 * virtio 1.2 §2.7.10: with EVENT_IDX the device MUST keep used->flags
	 * at 0; without it we never suppress notifications either.  Ask for a
	 * kick on the very first buffer.
	 */
	__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	virtq_set_state(vq, 0, 0);
	mark_used(vq);
	return 0;
}

static __virtio16 *used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static __virtio16 *avail_event(struct virtq *vq)
{
	return (__virtio16 *)&vq->used->ring[vq->size];
}

void virtq_set_state(struct virtq *vq, u16 last_avail_idx, u16 used_idx)
{
	vq->last_avail_idx = last_avail_idx;
	vq->avail_idx = last_avail_idx;
	vq->used_idx = used_idx;
	vq->signalled_used = used_idx;
	if (vq->event_idx)
		__atomic_store_n(avail_event(vq), htole16(last_avail_idx),
				 __ATOMIC_RELAXED);
	mark_used(vq);
}

static int virtq_break(struct virtq *vq, int err, const char *why)
{
	vq->broken = true;
	vq->broken_reason = why;
	return err;
}

/*
 * Copy one descriptor out of guest memory.  The compiler barrier makes sure
 * every later use reads our copy, never the guest's (which it may be
 * rewriting right now).  @src need not be aligned: indirect tables have no
 * alignment rule.
 */
static void desc_read(struct vring_desc *d, const void *src)
{
	memcpy(d, src, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

struct walk {
	struct iovec *iov;
	unsigned int max_iov;
	struct virtq_chain *chain;
};

/* Append one buffer descriptor to the chain being built. */
static int walk_add(struct virtq *vq, struct walk *w, const struct vring_desc *d)
{
	struct virtq_chain *c = w->chain;
	bool writable = d->flags & VRING_DESC_F_WRITE;
	unsigned int n = c->nr_out + c->nr_in;
	void *hva;

	/* virtio 1.2 §2.7.4.2: writable descriptors come after readable ones. */
	if (!writable && c->nr_in)
		return virtq_break(vq, -EINVAL,
				   "readable descriptor after a writable one");
	if (n == w->max_iov)
		return virtq_break(vq, -E2BIG, "too many descriptors in a chain");

	hva = gpa_to_hva(vq->mem, d->addr, d->len);
	if (!hva)
		return virtq_break(vq, -EFAULT, "buffer outside guest RAM");

	w->iov[n].iov_base = hva;
	w->iov[n].iov_len = d->len;
	/*
	 * The device may write this buffer from now until it pushes the
	 * chain: mark it now, while the device is inside the write gate
	 * (kvm/mem.h), so migration copies it after the write.
	 */
	if (writable)
		guest_mem_mark_dirty(vq->mem, d->addr, d->len);
	if (writable) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	/* virtio 1.2 §2.7.5.2: a chain MUST NOT exceed 2^32 bytes in total. */
	if (c->in_len + c->out_len > (1ULL << 32))
		return virtq_break(vq, -EMSGSIZE, "chain longer than 4 GiB");
	return 0;
}

/*
 * Walk an indirect table (virtio 1.2 §2.7.5.3): @d points at an array of
 * d->len / 16 descriptors chained from entry 0.
 */
static int walk_indirect(struct virtq *vq, struct walk *w,
			 const struct vring_desc *d)
{
	const u8 *table;
	struct vring_desc id;
	u32 nr, i = 0, count = 0;
	int r;

	if (!vq->indirect)
		return virtq_break(vq, -EINVAL,
				   "indirect descriptor not negotiated");
	/* §2.7.5.3.1: INDIRECT and NEXT together are forbidden. */
	if (d->flags & VRING_DESC_F_NEXT)
		return virtq_break(vq, -EINVAL, "indirect descriptor with NEXT");
	if (!d->len || d->len % sizeof(struct vring_desc))
		return virtq_break(vq, -EINVAL, "bad indirect table length");
	nr = d->len / sizeof(struct vring_desc);

	table = gpa_to_hva(vq->mem, d->addr, d->len);
	if (!table)
		return virtq_break(vq, -EFAULT, "indirect table outside guest RAM");

	for (;;) {
		/* More steps than entries means the chain loops. */
		if (++count > nr)
			return virtq_break(vq, -ELOOP, "loop in indirect table");
		desc_read(&id, table + (u64)i * sizeof(id));
		/* §2.7.5.3.1: only one table per descriptor. */
		if (id.flags & VRING_DESC_F_INDIRECT)
			return virtq_break(vq, -EINVAL, "nested indirect table");
		r = walk_add(vq, w, &id);
		if (r)
			return r;
		if (!(id.flags & VRING_DESC_F_NEXT))
			return 0;
		if (id.next >= nr)
			return virtq_break(vq, -EINVAL,
					   "indirect next out of range");
		i = id.next;
	}
}

/*
 * Walk the chain starting at @head in the descriptor table.  It may end in
 * one indirect descriptor (§2.7.5.3.2: "zero or more normal chained
 * descriptors followed by a single descriptor with INDIRECT").
 */
static int walk_chain(struct virtq *vq, struct walk *w, u16 head)
{
	struct vring_desc d;
	unsigned int count = 0;
	u16 i = head;
	int r;

	for (;;) {
		/* §2.7.5.3.1: no chain is longer than the queue size. */
		if (++count > vq->size)
			return virtq_break(vq, -ELOOP, "loop in descriptor chain");
		desc_read(&d, &vq->desc[i]);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(vq, w, &d);
		r = walk_add(vq, w, &d);
		if (r)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return virtq_break(vq, -EINVAL, "next out of range");
		i = d.next;
	}
}

/*
 * Read avail->idx.  Acquire: the descriptors and ring entries the driver
 * wrote before bumping idx (§2.7.13, "suitable memory barrier") must be
 * visible when we read them after this.
 */
static int avail_refresh(struct virtq *vq)
{
	vq->avail_idx = le16toh(__atomic_load_n(&vq->avail->idx,
						__ATOMIC_ACQUIRE));
	/*
	 * The driver can have at most size buffers outstanding, so a larger
	 * gap means avail->idx is garbage (bhyve: "ring idx jumped").
	 */
	if ((u16)(vq->avail_idx - vq->last_avail_idx) > vq->size)
		return virtq_break(vq, -EINVAL, "avail index jumped");
	return 0;
}

/*
 * The ring looks empty.  With EVENT_IDX, tell the driver which avail index
 * should trigger its next kick (§2.7.10), then look again: a buffer added
 * before the driver saw our avail_event would otherwise never be kicked.
 * The full fence orders our avail_event store before the idx reload, and
 * pairs with the driver's barrier between its idx store and avail_event
 * load (§2.7.13.4).
 */
static int avail_wait(struct virtq *vq)
{
	int r;

	if (!vq->event_idx)
		return -EAGAIN;
	__atomic_store_n(avail_event(vq), htole16(vq->last_avail_idx),
			 __ATOMIC_RELAXED);
	mark_used(vq);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r = avail_refresh(vq);
	if (r)
		return r;
	return vq->avail_idx == vq->last_avail_idx ? -EAGAIN : 0;
}

int virtq_pop(struct virtq *vq, struct iovec *iov, unsigned int max_iov,
	      struct virtq_chain *chain)
{
	struct walk w = { iov, max_iov, chain };
	u16 head;
	int r;

	if (vq->broken || !vq->size)
		return -EIO;

	if (vq->avail_idx == vq->last_avail_idx) {
		r = avail_refresh(vq);
		if (!r && vq->avail_idx == vq->last_avail_idx)
			r = avail_wait(vq);
		if (r)
			return r;
	}

	head = le16toh(__atomic_load_n(
		&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)],
		__ATOMIC_RELAXED));
	if (head >= vq->size)
		return virtq_break(vq, -EINVAL, "head index out of range");

	memset(chain, 0, sizeof(*chain));
	chain->head = head;
	r = walk_chain(vq, &w, head);
	if (r)
		return r;
	vq->last_avail_idx++;
	return 0;
}

void virtq_unpop(struct virtq *vq)
{
	/* avail_idx is still past it: the next pop reads its entry again. */
	vq->last_avail_idx--;
}

int virtq_push(struct virtq *vq, u16 head, u32 len)
{
	struct virtq_used u = { head, len };

	return virtq_push_n(vq, &u, 1);
}

int virtq_push_n(struct virtq *vq, const struct virtq_used *used,
		 unsigned int n)
{
	struct vring_used_elem *e;
	unsigned int i;

	if (vq->broken || !vq->size)
		return -EIO;
	if (n > vq->size)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (used[i].head >= vq->size)
			return -EINVAL;

	for (i = 0; i < n; i++) {
		e = &vq->used->ring[(u16)(vq->used_idx + i) & (vq->size - 1)];
		__atomic_store_n(&e->id, htole32(used[i].head), __ATOMIC_RELAXED);
		__atomic_store_n(&e->len, htole32(used[i].len), __ATOMIC_RELAXED);
	}
	vq->used_idx += n;
	/*
	 * Release: the elements, and the data written into the buffers, must
	 * be visible before the new idx (§2.7.8.2: "MUST set len prior to
	 * updating the used idx").
	 */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
			 __ATOMIC_RELEASE);
	mark_used(vq);
	return 0;
}

bool virtq_should_interrupt(struct virtq *vq)
{
	u16 old = vq->signalled_used, new = vq->used_idx;
	u16 event, flags;

	/*
	 * A broken queue pushes nothing, so old == new once its last good
	 * pushes are signalled; those are owed their interrupt all the same.
	 * Reading used_event or avail->flags touches only ring memory that
	 * was bounds-checked at setup.
	 */
	if (!vq->size || old == new)
		return false;
	vq->signalled_used = new;

	/*
	 * Full fence: our used->idx store must be visible before we read the
	 * driver's suppression fields, or we could miss the driver re-enabling
	 * interrupts just after it saw an old idx (the mirror of §2.7.13.4).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (vq->event_idx) {
		/* §2.7.7.2: interrupt when used->idx steps past used_event. */
		event = le16toh(__atomic_load_n(used_event(vq),
						__ATOMIC_RELAXED));
		return vring_need_event(event, new, old);
	}
	flags = le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED));
	return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}
