// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for kvm/mem.c, the only door from a guest physical address to
 * a host pointer.  The region table is filled with small static buffers at
 * made-up guest addresses, leaving a hole and two regions that touch in
 * guest space but not in host space, so a range crossing them must be
 * refused although every byte of it is RAM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/mem.h"
#include "kvm/types.h"
#include "tests/unit/unit.h"

#define RSZ 0x10000ULL

/* Guest layout: A [0, 64K), hole [64K, 128K), B [128K, 192K), C [192K, 256K). */
#define A_GPA 0x0ULL
#define B_GPA 0x20000ULL
#define C_GPA 0x30000ULL
#define D_GPA 0x100000000ULL /* at 4 GiB */

static u8 buf_a[RSZ], buf_b[RSZ], buf_c[RSZ], buf_d[RSZ];

static void setup(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
	/* Out of address order on purpose: lookups must not assume sorting. */
	CHECK_EQ(guest_mem_add(m, C_GPA, RSZ, buf_c), 0);
	CHECK_EQ(guest_mem_add(m, A_GPA, RSZ, buf_a), 0);
	CHECK_EQ(guest_mem_add(m, D_GPA, RSZ, buf_d), 0);
	CHECK_EQ(guest_mem_add(m, B_GPA, RSZ, buf_b), 0);
	CHECK_EQ(m->nr, 4);
}

static void test_in_range(void)
{
	struct guest_mem m;

	setup(&m);
	CHECK(gpa_to_hva(&m, 0, 1) == buf_a);
	CHECK(gpa_to_hva(&m, 0x100, 0x10) == buf_a + 0x100);
	CHECK(gpa_to_hva(&m, B_GPA + 0x1234, 8) == buf_b + 0x1234);
	CHECK(gpa_to_hva(&m, C_GPA, RSZ) == buf_c);
	CHECK(gpa_to_hva(&m, D_GPA + 0x10, 0x20) == buf_d + 0x10);
	/* The whole region in one go. */
	CHECK(gpa_to_hva(&m, A_GPA, RSZ) == buf_a);
	CHECK(gpa_to_hva(&m, D_GPA, RSZ) == buf_d);
}

static void test_end_exact(void)
{
	struct guest_mem m;

	setup(&m);
	CHECK(gpa_to_hva(&m, RSZ - 0x10, 0x10) == buf_a + RSZ - 0x10);
	CHECK(gpa_to_hva(&m, RSZ - 1, 1) == buf_a + RSZ - 1);
	CHECK(gpa_to_hva(&m, D_GPA + RSZ - 8, 8) == buf_d + RSZ - 8);
}

static void test_one_past(void)
{
	struct guest_mem m;

	setup(&m);
	CHECK(gpa_to_hva(&m, RSZ - 0x10, 0x11) == NULL);
	CHECK(gpa_to_hva(&m, RSZ - 1, 2) == NULL);
	CHECK(gpa_to_hva(&m, RSZ, 1) == NULL);		/* first byte of the hole */
	CHECK(gpa_to_hva(&m, A_GPA, RSZ + 1) == NULL);
	CHECK(gpa_to_hva(&m, D_GPA + RSZ - 8, 9) == NULL);
	CHECK(gpa_to_hva(&m, D_GPA + RSZ, 1) == NULL);
	CHECK(gpa_to_hva(&m, D_GPA - 1, 2) == NULL);	/* starts below D */
	/* C ends at 256 K with nothing after it. */
	CHECK(gpa_to_hva(&m, C_GPA + RSZ - 4, 8) == NULL);
}

static void test_straddle(void)
{
	struct guest_mem m;

	setup(&m);
	/* B and C touch in guest space, but are different host buffers. */
	CHECK(gpa_to_hva(&m, C_GPA - 8, 16) == NULL);
	CHECK(gpa_to_hva(&m, C_GPA - 1, 2) == NULL);
	CHECK(gpa_to_hva(&m, B_GPA, 2 * RSZ) == NULL);
	/* Either side of the seam alone is fine. */
	CHECK(gpa_to_hva(&m, C_GPA - 8, 8) == buf_b + RSZ - 8);
	CHECK(gpa_to_hva(&m, C_GPA, 8) == buf_c);
	/* A into the hole. */
	CHECK(gpa_to_hva(&m, RSZ - 8, 0x20000) == NULL);
}

static void test_len_zero(void)
{
	struct guest_mem m;

	setup(&m);
	/* len 0 checks gpa alone (mem.h). */
	CHECK(gpa_to_hva(&m, 0, 0) == buf_a);
	CHECK(gpa_to_hva(&m, RSZ - 1, 0) == buf_a + RSZ - 1);
	CHECK(gpa_to_hva(&m, C_GPA, 0) == buf_c);
	CHECK(gpa_to_hva(&m, RSZ, 0) == NULL);		/* in the hole */
	CHECK(gpa_to_hva(&m, C_GPA + RSZ, 0) == NULL);	/* past the end */
	CHECK(gpa_to_hva(&m, ~0ULL, 0) == NULL);
}

static void test_overflow(void)
{
	struct guest_mem m;

	setup(&m);
	/* gpa + len wraps to a small number that looks in range. */
	CHECK(gpa_to_hva(&m, 0x100, ~0ULL) == NULL);
	CHECK(gpa_to_hva(&m, 0x100, ~0ULL - 0xff) == NULL); /* sum == 0 */
	CHECK(gpa_to_hva(&m, 0x100, ~0ULL - 0xfe) == NULL); /* sum == 1 */
	CHECK(gpa_to_hva(&m, ~0ULL, 2) == NULL);
	CHECK(gpa_to_hva(&m, ~0ULL - 0xf, 0x20) == NULL);
	CHECK(gpa_to_hva(&m, D_GPA + 8, ~0ULL - D_GPA) == NULL);
	CHECK(gpa_to_hva(&m, B_GPA, 1ULL << 63) == NULL);
	/* A huge len from inside a region, without wrapping. */
	CHECK(gpa_to_hva(&m, B_GPA + 4, RSZ) == NULL);
}

static void test_hole(void)
{
	struct guest_mem m;

	setup(&m);
	CHECK(gpa_to_hva(&m, 0x18000, 4) == NULL);
	CHECK(gpa_to_hva(&m, B_GPA - 4, 4) == NULL);	/* ends right at B */
	CHECK(gpa_to_hva(&m, B_GPA - 4, 8) == NULL);	/* hole into B */
	CHECK(gpa_to_hva(&m, 0x40000, 4) == NULL);
	CHECK(gpa_to_hva(&m, 0xc0000000ULL, 4) == NULL);
	CHECK(gpa_to_hva(&m, D_GPA + 2 * RSZ, 4) == NULL);
}

static void test_empty_table(void)
{
	struct guest_mem m;

	memset(&m, 0, sizeof(m));
	CHECK(gpa_to_hva(&m, 0, 0) == NULL);
	CHECK(gpa_to_hva(&m, 0, 1) == NULL);
}

static void test_add(void)
{
	struct guest_mem m;

	memset(&m, 0, sizeof(m));
	CHECK_EQ(guest_mem_add(&m, 0, 0, buf_a), -EINVAL);	/* size 0 */
	/* gpa + size wraps. */
	CHECK_EQ(guest_mem_add(&m, ~0ULL - 0xfff, 0x2000, buf_a), -EINVAL);
	CHECK_EQ(guest_mem_add(&m, 0x1000, ~0ULL, buf_a), -EINVAL);
	CHECK_EQ(m.nr, 0);

	setup(&m);
	/* Table full: refused, and the table is left as it was. */
	CHECK_EQ(guest_mem_add(&m, 0x80000000ULL, RSZ, buf_a), -ENOSPC);
	CHECK_EQ(m.nr, GUEST_MEM_MAX_REGIONS);
	CHECK(gpa_to_hva(&m, 0x80000000ULL, 1) == NULL);
	CHECK(gpa_to_hva(&m, C_GPA, 1) == buf_c);
	CHECK_EQ(m.region[1].gpa, A_GPA);
	CHECK_EQ(m.region[1].size, RSZ);
	CHECK(m.region[1].hva == buf_a);
}

/* The /proc/self/maps line holding @addr: its [start, end), or false. */
static bool find_mapping(void *addr, uintptr_t *start, uintptr_t *end)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 &&
		    (uintptr_t)addr >= s && (uintptr_t)addr < e) {
			*start = s;
			*end = e;
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void test_alloc(void)
{
	struct guest_mem m[4];
	const u64 size = 64 * SZ_1M;
	uintptr_t s, e;
	bool have_maps = access("/proc/self/maps", R_OK) == 0;

	/* Several at once, so they land at different alignments. */
	for (unsigned int i = 0; i < ARRAY_SIZE(m); i++) {
		u8 *base;

		memset(&m[i], 0, sizeof(m[i]));
		m[i].nr = 3; /* stale: alloc starts a fresh table */
		CHECK_EQ(guest_mem_alloc(&m[i], size + i * SZ_4K), 0);
		base = m[i].base;
		CHECK(base != NULL);
		CHECK_EQ((uintptr_t)base & (SZ_2M - 1), 0);
		CHECK_EQ(m[i].ram_size, size + i * SZ_4K);
		CHECK_EQ(m[i].nr, 0);
		/* Usable to its last byte. */
		base[0] = 0x11;
		base[size + i * SZ_4K - 1] = 0x22;
		CHECK_EQ(base[0] + base[size + i * SZ_4K - 1], 0x33);
		/* The over-allocation was trimmed: exactly the RAM is mapped. */
		if (have_maps && find_mapping(base, &s, &e)) {
			CHECK_EQ(s, (uintptr_t)base);
			CHECK_EQ(e, (uintptr_t)base + size + i * SZ_4K);
		}
		/* And the table works over it. */
		CHECK_EQ(guest_mem_add(&m[i], 0, size, base), 0);
		CHECK(gpa_to_hva(&m[i], size - 1, 1) == base + size - 1);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(m); i++) {
		void *base = m[i].base;

		guest_mem_free(&m[i]);
		CHECK(m[i].base == NULL);
		CHECK_EQ(m[i].nr, 0);
		if (have_maps)
			CHECK(!find_mapping(base, &s, &e));
		guest_mem_free(&m[i]); /* twice is harmless */
	}
}

static void test_alloc_bad(void)
{
	struct guest_mem m;

	memset(&m, 0, sizeof(m));
	CHECK_EQ(guest_mem_alloc(&m, 0), -EINVAL);
	CHECK(m.base == NULL);
}

/*
 * A size near 2^64: the 2 MiB of slack must not wrap the mapping's size
 * to a few KiB (which would then "trim" neighbouring mappings away).  In
 * a child, since a wrong answer can unmap the test's own memory.
 */
static void test_alloc_huge(void)
{
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct guest_mem m;
		int r;

		memset(&m, 0, sizeof(m));
		r = guest_mem_alloc(&m, ~0ULL - SZ_2M + 1 + SZ_4K);
		_exit(r < 0 && m.base == NULL ? 0 : 1);
	}
	if (pid < 0)
		return;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fprintf(stderr, "  guest_mem_alloc(~2^64) child: signal %d\n",
			WTERMSIG(status));
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/* ---- lkvm's own dirty log and the write gate (kvm/mem.h) ---- */

static bool bit(const unsigned long *bm, u64 i)
{
	return bm[i / (8 * sizeof(long))] & (1UL << (i % (8 * sizeof(long))));
}

static void test_dirty_log(void)
{
	struct guest_mem m;
	unsigned long bm[64] = { 0 };
	u8 *base;

	memset(&m, 0, sizeof(m));
	CHECK_EQ(guest_mem_alloc(&m, 8 * SZ_1M), 0);
	base = m.base;
	/* Two regions back to back, the second at 4 GiB. */
	CHECK_EQ(guest_mem_add(&m, 0, 4 * SZ_1M, base), 0);
	CHECK_EQ(guest_mem_add(&m, SZ_4G, 4 * SZ_1M, base + 4 * SZ_1M), 0);

	/* Not logging: marks are dropped. */
	guest_mem_mark_dirty(&m, 0x1000, 1);
	CHECK_EQ(guest_mem_log_start(&m), 0);
	guest_mem_log_harvest(&m, bm);
	CHECK_EQ(bm[0], 0);

	/* A mark covers every page it touches, in host-mapping numbering. */
	guest_mem_mark_dirty(&m, 0x1ff0, 0x20);		/* pages 1 and 2 */
	guest_mem_mark_dirty(&m, SZ_4G + 0x3000, 1);	/* page 1024 + 3 */
	guest_mem_mark_dirty(&m, 0x800000000ULL, 8);	/* not RAM: ignored */
	guest_mem_log_harvest(&m, bm);
	CHECK(!bit(bm, 0) && bit(bm, 1) && bit(bm, 2) && !bit(bm, 3));
	CHECK(bit(bm, 1027));
	/* Harvest clears what it took; dst keeps what it had (an OR). */
	memset(bm, 0, sizeof(bm));
	guest_mem_log_harvest(&m, bm);
	CHECK_EQ(bm[0], 0);
	bm[0] = 1;
	guest_mem_mark_dirty(&m, 0x5000, 1);
	guest_mem_log_harvest(&m, bm);
	CHECK_EQ(bm[0], 0x21);

	guest_mem_log_stop(&m);
	guest_mem_mark_dirty(&m, 0x7000, 1);
	CHECK_EQ(guest_mem_log_start(&m), 0);	/* starts clean */
	memset(bm, 0, sizeof(bm));
	guest_mem_log_harvest(&m, bm);
	CHECK_EQ(bm[1], 0);
	CHECK_EQ(bm[0], 0);

	/* By host address (an iovec): the same numbering; outside, ignored. */
	guest_mem_mark_dirty_hva(&m, base + 0x9ff0, 0x20);	/* pages 9, 10 */
	guest_mem_mark_dirty_hva(&m, base + 4 * SZ_1M, 1);	/* page 1024 */
	guest_mem_mark_dirty_hva(&m, base - 4096, 8);
	guest_mem_mark_dirty_hva(&m, base + 8 * SZ_1M, 1);
	guest_mem_mark_dirty_hva(&m, base + 8 * SZ_1M - 1, 2);	/* past the end */
	guest_mem_log_harvest(&m, bm);
	CHECK_EQ(bm[0], (1UL << 9) | (1UL << 10));
	CHECK(bit(bm, 1024));
	CHECK(!bit(bm, 2047));
	guest_mem_free(&m);
}

struct writer {
	struct guest_mem *m;
	int stage;	/* atomic: 1 inside, 2 done */
	bool entered;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	w->entered = guest_mem_write_begin(w->m);
	__atomic_store_n(&w->stage, 1, __ATOMIC_SEQ_CST);
	if (w->entered) {
		usleep(100 * 1000);
		guest_mem_mark_dirty(w->m, 0x3000, 1);
		guest_mem_write_end(w->m);
	}
	__atomic_store_n(&w->stage, 2, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A harvest waits for a writer inside: its mark is in this harvest. */
static void test_gate_harvest_waits(void)
{
	struct guest_mem m;
	struct writer w = { &m };
	unsigned long bm[8] = { 0 };
	pthread_t t;

	memset(&m, 0, sizeof(m));
	CHECK_EQ(guest_mem_alloc(&m, 4 * SZ_1M), 0);
	CHECK_EQ(guest_mem_add(&m, 0, 4 * SZ_1M, m.base), 0);
	CHECK_EQ(guest_mem_log_start(&m), 0);
	pthread_create(&t, NULL, writer_main, &w);
	while (!__atomic_load_n(&w.stage, __ATOMIC_SEQ_CST))
		usleep(1000);
	guest_mem_log_harvest(&m, bm);
	CHECK_EQ(__atomic_load_n(&w.stage, __ATOMIC_SEQ_CST), 2);
	CHECK(bit(bm, 3));
	pthread_join(t, NULL);
	guest_mem_free(&m);
}

/* Held: writers wait until release; shut: they are refused. */
static void test_gate_hold_shut(void)
{
	struct guest_mem m;
	struct writer w = { &m };
	pthread_t t;

	memset(&m, 0, sizeof(m));
	CHECK_EQ(guest_mem_alloc(&m, 4 * SZ_1M), 0);
	CHECK_EQ(guest_mem_add(&m, 0, 4 * SZ_1M, m.base), 0);
	guest_mem_hold(&m);
	pthread_create(&t, NULL, writer_main, &w);
	usleep(50 * 1000);
	CHECK_EQ(__atomic_load_n(&w.stage, __ATOMIC_SEQ_CST), 0);
	guest_mem_release(&m);
	pthread_join(t, NULL);
	CHECK(w.entered);

	guest_mem_hold(&m);
	w = (struct writer){ &m };
	pthread_create(&t, NULL, writer_main, &w);
	usleep(20 * 1000);
	guest_mem_shut(&m);
	pthread_join(t, NULL);
	CHECK(!w.entered);
	CHECK(!guest_mem_write_begin(&m));
	guest_mem_free(&m);
}

/* A hand-made guest_mem (tests, fuzzers) has no gate: always open. */
static void test_gate_none(void)
{
	struct guest_mem m;

	memset(&m, 0, sizeof(m));
	CHECK(guest_mem_write_begin(&m));
	guest_mem_write_end(&m);
	guest_mem_mark_dirty(&m, 0, 4096);
}

UNIT_MAIN("mem",
	  UNIT_TEST(test_dirty_log),
	  UNIT_TEST(test_gate_harvest_waits),
	  UNIT_TEST(test_gate_hold_shut),
	  UNIT_TEST(test_gate_none),
	  UNIT_TEST(test_in_range),
	  UNIT_TEST(test_end_exact),
	  UNIT_TEST(test_one_past),
	  UNIT_TEST(test_straddle),
	  UNIT_TEST(test_len_zero),
	  UNIT_TEST(test_overflow),
	  UNIT_TEST(test_hole),
	  UNIT_TEST(test_empty_table),
	  UNIT_TEST(test_add),
	  UNIT_TEST(test_alloc),
	  UNIT_TEST(test_alloc_bad),
	  UNIT_TEST(test_alloc_huge))
