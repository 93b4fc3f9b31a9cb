// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
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
}
