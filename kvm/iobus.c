// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "kvm/iobus.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
	bus->name = name;
}

static bool overlaps(const struct io_range *a, u64 base, u64 len)
{
	return base < a->base + a->len && a->base < base + len;
}

/* Called with the write lock held. */
static int insert_locked(struct io_bus *bus, struct io_range *r)
{
	unsigned int i, pos = 0;

	if (!r->len || r->base + r->len < r->base)
		return -EINVAL;
	if (bus->nr == IO_BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->nr; i++) {
		if (overlaps(bus->range[i], r->base, r->len))
			return -EEXIST;
		if (bus->range[i]->base < r->base)
			pos = i + 1;
	}
	memmove(&bus->range[pos + 1], &bus->range[pos],
		(bus->nr - pos) * sizeof(bus->range[0]));
	bus->range[pos] = r;
	bus->nr++;
	return 0;
}

static void remove_locked(struct io_bus *bus, struct io_range *r)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++) {
		if (bus->range[i] != r)
			continue;
		memmove(&bus->range[i], &bus->range[i + 1],
			(bus->nr - i - 1) * sizeof(bus->range[0]));
		bus->nr--;
		return;
	}
}

int io_bus_register(struct io_bus *bus, struct io_range *r)
{
	int ret;

	pthread_rwlock_wrlock(&bus->lock);
	ret = insert_locked(bus, r);
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

void io_bus_unregister(struct io_bus *bus, struct io_range *r)
{
	pthread_rwlock_wrlock(&bus->lock);
	remove_locked(bus, r);
	pthread_rwlock_unlock(&bus->lock);
}

int io_bus_move(struct io_bus *bus, struct io_range *r, u64 new_base)
{
	u64 old = r->base;
	int ret;

	pthread_rwlock_wrlock(&bus->lock);
	remove_locked(bus, r);
	r->base = new_base;
	ret = insert_locked(bus, r);
	if (ret) {
		r->base = old;
		insert_locked(bus, r);
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static struct io_range *find_locked(struct io_bus *bus, u64 addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		struct io_range *r = bus->range[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool io_bus_access(struct io_bus *bus, u64 addr, void *data, unsigned int len,
		   bool is_write)
{
	struct io_range *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = find_locked(bus, addr);
	/* An access straddling the end of a range is not the device's. */
	if (r && addr - r->base + len <= r->len) {
		r->access(r, addr - r->base, data, len, is_write);
		pthread_rwlock_unlock(&bus->lock);
		return true;
	}
	pthread_rwlock_unlock(&bus->lock);

	__atomic_add_fetch(&bus->unhandled, 1, __ATOMIC_RELAXED);
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
