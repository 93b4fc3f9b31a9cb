// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm/stats.h"
#include "kvm/vm.h"

/* Resident set size of the whole process, in KiB, from /proc. */
static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* How much of guest RAM is resident, in KiB (mincore over the mapping). */
static long guest_resident_kib(struct vm *vm)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = vm->mem.map_size / page, i, n = 0;
	unsigned char *vec = malloc(pages);

	if (!vec || mincore(vm->mem.base, vm->mem.map_size, vec)) {
		free(vec);
		return -1;
	}
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * (page / 1024);
}

void stats_print(struct vm *vm, FILE *f)
{
	u64 total[VCPU_EXIT_REASONS] = { 0 }, all = 0;
	long rss = rss_kib(), guest = guest_resident_kib(vm);
	unsigned int i, r;

	for (i = 0; i < vm->nr_vcpus; i++)
		for (r = 0; r < VCPU_EXIT_REASONS; r++)
			total[r] += vm->vcpus[i].exits[r];

	fprintf(f, "lkvm stats: VM exits to userspace by reason\n");
	for (r = 0; r < VCPU_EXIT_REASONS; r++) {
		if (!total[r])
			continue;
		fprintf(f, "  %-16s %llu\n", vcpu_exit_name(r),
			(unsigned long long)total[r]);
		all += total[r];
	}
	fprintf(f, "  %-16s %llu\n", "total", (unsigned long long)all);
	fprintf(f, "  unclaimed port accesses %llu, mmio accesses %llu\n",
		(unsigned long long)vm->pio.unhandled,
		(unsigned long long)vm->mmio.unhandled);
	if (rss >= 0 && guest >= 0)
		fprintf(f, "lkvm stats: RSS %ld KiB, guest RAM resident %ld KiB, lkvm itself %ld KiB\n",
			rss, guest, rss - guest);
}
