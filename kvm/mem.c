// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm/mem.h"

void *gpa_to_hva(const struct guest_mem *mem, u64 gpa, u64 len)
{
	unsigned int i;

	if (gpa + len < gpa)
		return NULL;

	for (i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->region[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* Written so that no sum can overflow: the range must end in r. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_add(struct guest_mem *mem, u64 gpa, u64 size, void *hva)
{
	if (mem->nr == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	if (!size || gpa + size < gpa)
		return -EINVAL;
	mem->region[mem->nr++] = (struct mem_region){ gpa, size, hva };
	return 0;
}

int guest_mem_alloc(struct guest_mem *mem, u64 ram_size)
{
	size_t map_size = ram_size + SZ_2M;
	uintptr_t p, aligned;
	void *base;

	/* No address space holds more than half of 64 bits; nor does RAM. */
	if (!ram_size || ram_size != (size_t)ram_size || ram_size > (1ULL << 62))
		return -EINVAL;

	/*
	 * Over-allocate by 2 MiB and trim, so guest RAM starts on a 2 MiB
	 * boundary and KVM can map it with huge pages (KVM-HERE.md measured
	 * ~500x fewer nested faults this way).  MAP_NORESERVE: the guest
	 * touches what it uses; we do not want overcommit to refuse a big -m.
	 */
	base = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;

	p = (uintptr_t)base;
	aligned = ALIGN_UP(p, SZ_2M);
	if (aligned > p)
		munmap(base, aligned - p);
	if (aligned + ram_size < p + map_size)
		munmap((void *)(aligned + ram_size),
		       p + map_size - (aligned + ram_size));

	madvise((void *)aligned, ram_size, MADV_HUGEPAGE);
	mem->dirty = calloc(1, sizeof(*mem->dirty));
	if (!mem->dirty) {
		munmap((void *)aligned, ram_size);
		return -ENOMEM;
	}
	pthread_mutex_init(&mem->dirty->lock, NULL);
	pthread_cond_init(&mem->dirty->cond, NULL);
	mem->dirty->nr_pages = ram_size / GUEST_PAGE_SIZE;
	mem->base = (void *)aligned;
	mem->map_size = ram_size;
	mem->ram_size = ram_size;
	mem->nr = 0;
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->map_size);
	mem->base = NULL;
	mem->nr = 0;
	if (mem->dirty) {
		free(mem->dirty->bitmap);
		pthread_cond_destroy(&mem->dirty->cond);
		pthread_mutex_destroy(&mem->dirty->lock);
		free(mem->dirty);
		mem->dirty = NULL;
	}
}

u64 guest_mem_page(const struct guest_mem *mem, const void *hva)
{
	return ((uintptr_t)hva - (uintptr_t)mem->base) >> GUEST_PAGE_SHIFT;
}

#define BITS_PER_LONG (8 * sizeof(unsigned long))

bool guest_mem_write_begin(const struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;
	bool ok;

	if (!d)
		return true;
	pthread_mutex_lock(&d->lock);
	while (d->hold && !d->shut)
		pthread_cond_wait(&d->cond, &d->lock);
	ok = !d->shut;
	if (ok)
		d->writers++;
	pthread_mutex_unlock(&d->lock);
	return ok;
}

void guest_mem_write_end(const struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (!--d->writers)
		pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/*
 * Lock-free: called for every buffer a device is handed.  A writer
 * inside the gate marks before it writes; one outside (a vCPU binding a
 * ring at DRIVER_OK) marks after its write is done.  Either way a
 * harvest that misses the mark comes before the write is visible, and
 * the next harvest has it.  The bitmap, once allocated, lives as long as
 * the memory, so a late marker never writes into freed memory.
 */
void guest_mem_mark_dirty_hva(const struct guest_mem *mem, const void *hva,
			      u64 len)
{
	struct mem_dirty *d = mem->dirty;
	uintptr_t p = (uintptr_t)hva, base = (uintptr_t)mem->base;
	u64 first, last, pg;

	if (!d || !len || !__atomic_load_n(&d->logging, __ATOMIC_ACQUIRE))
		return;
	if (p < base || p - base >= mem->map_size ||
	    len > mem->map_size - (p - base))
		return;
	first = guest_mem_page(mem, hva);
	last = guest_mem_page(mem, (const u8 *)hva + len - 1);
	for (pg = first; pg <= last && pg < d->nr_pages; pg++)
		__atomic_or_fetch(&d->bitmap[pg / BITS_PER_LONG],
				  1UL << (pg % BITS_PER_LONG), __ATOMIC_RELAXED);
}

void guest_mem_mark_dirty(const struct guest_mem *mem, u64 gpa, u64 len)
{
	const void *hva;

	if (!mem->dirty || !len)
		return;
	hva = gpa_to_hva(mem, gpa, len);
	if (hva)
		guest_mem_mark_dirty_hva(mem, hva, len);
}

/* Set hold and wait until no writer is inside.  Lock held. */
static bool gate_close(struct mem_dirty *d)
{
	bool was = d->hold;

	d->hold = true;
	while (d->writers)
		pthread_cond_wait(&d->cond, &d->lock);
	return was;
}

static void gate_set(struct mem_dirty *d, bool hold)
{
	d->hold = hold;
	pthread_cond_broadcast(&d->cond);
}

static size_t bitmap_words(const struct mem_dirty *d)
{
	return (d->nr_pages + BITS_PER_LONG - 1) / BITS_PER_LONG;
}

int guest_mem_log_start(struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;
	bool was;

	if (!d)
		return -EINVAL;
	if (!d->bitmap) {
		d->bitmap = calloc(bitmap_words(d) ? bitmap_words(d) : 1,
				   sizeof(*d->bitmap));
		if (!d->bitmap)
			return -ENOMEM;
	}
	pthread_mutex_lock(&d->lock);
	was = gate_close(d);
	memset(d->bitmap, 0, bitmap_words(d) * sizeof(*d->bitmap));
	__atomic_store_n(&d->logging, true, __ATOMIC_RELEASE);
	gate_set(d, was);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void guest_mem_log_stop(struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;

	if (d)
		__atomic_store_n(&d->logging, false, __ATOMIC_RELEASE);
}

void guest_mem_log_harvest(struct guest_mem *mem, unsigned long *dst)
{
	struct mem_dirty *d = mem->dirty;
	size_t i;
	bool was;

	if (!d || !d->bitmap)
		return;
	pthread_mutex_lock(&d->lock);
	was = gate_close(d);
	for (i = 0; i < bitmap_words(d); i++)
		dst[i] |= __atomic_exchange_n(&d->bitmap[i], 0,
					      __ATOMIC_RELAXED);
	gate_set(d, was);
	pthread_mutex_unlock(&d->lock);
}

void guest_mem_hold(struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	gate_close(d);
	pthread_mutex_unlock(&d->lock);
}

void guest_mem_release(struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	gate_set(d, false);
	pthread_mutex_unlock(&d->lock);
}

void guest_mem_shut(struct guest_mem *mem)
{
	struct mem_dirty *d = mem->dirty;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->shut = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}
