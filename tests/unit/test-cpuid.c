// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for x86/cpuid.c.  cpuid_fixup() gets a synthetic
 * KVM_GET_SUPPORTED_CPUID-like table (host values made up but shaped like a
 * real Intel/AMD part), and the result is read back by the field layouts
 * of the Intel SDM vol. 2A "CPUID" and the AMD APM vol. 3 appendix E:
 *   leaf 1 EBX[31:24] initial APIC ID, EBX[23:16] logical count, EDX[28]
 *   HTT, ECX[31] hypervisor; leaf 4 EAX[7:5] cache level, [25:14] sharing
 *   - 1, [31:26] cores - 1; leaves 0xB/0x1F EAX[4:0] shift, EBX[15:0]
 *   count, ECX[15:8] level type, EDX x2APIC ID; 0x80000008 ECX[15:12]
 *   ApicIdSize, [7:0] NC; 0x8000001E EAX ext. APIC ID, EBX core ID and
 *   threads per core - 1, ECX node.
 * Beyond the raw fields, the tests decode the topology the way Linux does
 * (shift the APIC ID right by the level's shift) and check that every vCPU
 * lands in package 0 with its own core and the L3 shared by all.
 */
#include <linux/kvm.h>

#include "kvm/types.h"
#include "tests/unit/unit.h"
#include "x86/cpuid.h"

#define HTT (1U << 28)
#define HYPERVISOR (1U << 31)

/* Host-ish values: leaf 1 EBX low half is CLFLUSH size 8, brand 0x00. */
#define L1_EBX_LOW 0x0800
#define L1_EBX_HOST 0x3f100800 /* APIC 0x3f, 16 logical on the host */
#define L1_ECX_HOST 0x7ffafbff /* everything but "hypervisor" */
#define L1_EDX_HOST 0xbfebfbff /* includes HTT */

/* Leaf 4: type in [4:0], level in [7:5], host sharing/cores in the top. */
#define C4(level, type) (0xfc000000U | (7U << 14) | ((level) << 5) | (type) | 0x100)

static const struct kvm_cpuid_entry2 host[] = {
	{ .function = 0, .eax = 0x1f, .ebx = 0x756e6547, .ecx = 0x6c65746e,
	  .edx = 0x49656e69 },
	{ .function = 1, .eax = 0x000906ea, .ebx = L1_EBX_HOST,
	  .ecx = L1_ECX_HOST, .edx = L1_EDX_HOST },
	{ .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = C4(1, 1), .ebx = 0x01c0003f, .ecx = 0x3f, .edx = 0 },
	{ .function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = C4(1, 2), .ebx = 0x01c0003f, .ecx = 0x3f, .edx = 0 },
	{ .function = 4, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = C4(2, 3), .ebx = 0x00c0003f, .ecx = 0x3ff, .edx = 0 },
	{ .function = 4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = C4(3, 3) | 0x200, .ebx = 0x03c0003f, .ecx = 0x2fff,
	  .edx = 6 },
	{ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .ebx = 0x029c6fbf, .ecx = 0x40000000, .edx = 0xbc000400 },
	{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x3f },
	{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 0x3f },
	{ .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 0, .ebx = 0, .ecx = 0x2, .edx = 0x3f },
	{ .function = 0xd, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 0x1f, .ebx = 0x440, .ecx = 0x440 },
	{ .function = 0x1f, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x3f },
	{ .function = 0x1f, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 0x3f },
	{ .function = 0x1f, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 0, .ebx = 0, .ecx = 0x2, .edx = 0x3f },
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b,
	  .ecx = 0x564b4d56, .edx = 0x4d },
	{ .function = 0x40000001, .eax = 0x01007afb },
	{ .function = 0x80000000, .eax = 0x80000021 },
	/* ECX: PerfTscSize [17:16] and bits [11:8] set so we see them kept. */
	{ .function = 0x80000008, .eax = 0x3030, .ebx = 0x0100d000,
	  .ecx = 0x00034f0f, .edx = 0x12 },
	{ .function = 0x8000001e, .eax = 0x3f, .ebx = 0x00ab0137,
	  .ecx = 0x0305, .edx = 0x77 },
};

#define NENT ARRAY_SIZE(host)

static struct kvm_cpuid_entry2 e[NENT];

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *t,
					   u32 fn, u32 index)
{
	for (unsigned int i = 0; i < NENT; i++)
		if (t[i].function == fn && t[i].index == index)
			return &t[i];
	return NULL;
}

static void fixup(unsigned int apic_id, unsigned int nr_cpus)
{
	memcpy(e, host, sizeof(host));
	cpuid_fixup(e, NENT, apic_id, nr_cpus);
}

/* Linux's get_count_order(): bits for n distinct IDs. */
static unsigned int order(unsigned int n)
{
	unsigned int o = 0;

	while ((1U << o) < n)
		o++;
	return o;
}

static void test_core_shift(void)
{
	static const unsigned int want[][2] = {
		{ 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 }, { 6, 3 },
		{ 8, 3 }, { 9, 4 }, { 64, 6 }, { 65, 7 }, { 256, 8 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_EQ(cpuid_core_shift(want[i][0]), want[i][1]);
}

/* Every combination the tests care about: vCPU 0, 1, 5 of 1, 2, 6, 64. */
static const unsigned int cpu_counts[] = { 1, 2, 6, 64 };
static const unsigned int vcpus[] = { 0, 1, 5 };

#define FOR_EACH_CASE(nr, id)                                             \
	for (unsigned int __n = 0; __n < ARRAY_SIZE(cpu_counts); __n++)   \
		for (unsigned int __v = 0; __v < ARRAY_SIZE(vcpus); __v++) \
			if ((nr = cpu_counts[__n]), (id = vcpus[__v]), id < nr)

static void test_leaf1(void)
{
	unsigned int nr, id;

	FOR_EACH_CASE(nr, id) {
		const struct kvm_cpuid_entry2 *l;

		fixup(id, nr);
		l = find(e, 1, 0);
		CHECK_EQ(l->ebx >> 24, id);
		CHECK_EQ((l->ebx >> 16) & 0xff, nr);
		CHECK_EQ(l->ebx & 0xffff, L1_EBX_LOW);
		CHECK_EQ(!!(l->edx & HTT), nr > 1);
		CHECK_EQ(l->edx & ~HTT, L1_EDX_HOST & ~HTT);
		CHECK(l->ecx & HYPERVISOR);
		CHECK_EQ(l->ecx & ~HYPERVISOR, L1_ECX_HOST);
		CHECK_EQ(l->eax, 0x000906ea);
	}
	/* HTT is set even if the host did not have it. */
	memcpy(e, host, sizeof(host));
	for (unsigned int i = 0; i < NENT; i++)
		if (e[i].function == 1)
			e[i].edx &= ~HTT;
	cpuid_fixup(e, NENT, 1, 2);
	CHECK(find(e, 1, 0)->edx & HTT);
}

static void test_leaf4(void)
{
	unsigned int nr, id;

	FOR_EACH_CASE(nr, id) {
		fixup(id, nr);
		for (unsigned int sub = 0; sub < 4; sub++) {
			const struct kvm_cpuid_entry2 *l = find(e, 4, sub);
			const struct kvm_cpuid_entry2 *h = find(host, 4, sub);
			unsigned int level = (h->eax >> 5) & 7;
			unsigned int sharing = ((l->eax >> 14) & 0xfff) + 1;

			CHECK_EQ(l->eax & 0x3fff, h->eax & 0x3fff);
			CHECK_EQ((l->eax >> 26) + 1, nr);
			CHECK_EQ(l->ebx, h->ebx);
			CHECK_EQ(l->ecx, h->ecx);
			CHECK_EQ(l->edx, h->edx);
			if (level == 3) {
				/* One L3 for the package: all share its ID. */
				CHECK_EQ(sharing, nr);
				CHECK_EQ(id >> order(sharing), 0);
				CHECK_EQ((nr - 1) >> order(sharing), 0);
			} else {
				/* L1 and L2 are per core: one thread each. */
				CHECK_EQ(sharing, 1);
			}
		}
	}
}

static void check_ext_topology(u32 fn, unsigned int id, unsigned int nr)
{
	const struct kvm_cpuid_entry2 *smt = find(e, fn, 0);
	const struct kvm_cpuid_entry2 *core = find(e, fn, 1);
	const struct kvm_cpuid_entry2 *inv = find(e, fn, 2);

	/* Sub-leaf 0: SMT level, one thread per core. */
	CHECK_EQ((smt->ecx >> 8) & 0xff, 1);
	CHECK_EQ(smt->ecx & 0xff, 0);
	CHECK_EQ(smt->eax & 0x1f, 0);
	CHECK_EQ(smt->ebx & 0xffff, 1);
	CHECK_EQ(smt->edx, id);
	/* Sub-leaf 1: core level, all vCPUs in one package. */
	CHECK_EQ((core->ecx >> 8) & 0xff, 2);
	CHECK_EQ(core->ecx & 0xff, 1);
	CHECK_EQ(core->eax & 0x1f, order(nr));
	CHECK_EQ(core->ebx & 0xffff, nr);
	CHECK_EQ(core->edx, id);
	/* Sub-leaf 2: the end of the list. */
	CHECK_EQ((inv->ecx >> 8) & 0xff, 0);
	CHECK_EQ(inv->ecx & 0xff, 2);
	CHECK_EQ(inv->eax, 0);
	CHECK_EQ(inv->ebx, 0);
	CHECK_EQ(inv->edx, id);

	/* Decoded as Linux does: package 0, core ID = APIC ID, thread 0. */
	CHECK_EQ(id >> (core->eax & 0x1f), 0);
	CHECK_EQ((nr - 1) >> (core->eax & 0x1f), 0);
	CHECK_EQ(id >> (smt->eax & 0x1f), id);
	/* Shifts grow from level to level (SDM: "shift to the next level"). */
	CHECK((core->eax & 0x1f) >= (smt->eax & 0x1f));
}

static void test_ext_topology(void)
{
	unsigned int nr, id;

	FOR_EACH_CASE(nr, id) {
		fixup(id, nr);
		check_ext_topology(0xb, id, nr);
		check_ext_topology(0x1f, id, nr);
	}
}

static void test_amd(void)
{
	unsigned int nr, id;

	FOR_EACH_CASE(nr, id) {
		const struct kvm_cpuid_entry2 *l, *h;

		fixup(id, nr);
		l = find(e, 0x80000008, 0);
		h = find(host, 0x80000008, 0);
		CHECK_EQ((l->ecx >> 12) & 0xf, order(nr));
		CHECK_EQ((l->ecx & 0xff) + 1, nr);
		CHECK_EQ(l->ecx & ~0xf0ffU, h->ecx & ~0xf0ffU);
		CHECK_EQ(l->eax, h->eax);
		CHECK_EQ(l->ebx, h->ebx);
		CHECK_EQ(l->edx, h->edx);
		/* Every APIC ID fits in ApicIdSize bits. */
		CHECK_EQ((nr - 1) >> ((l->ecx >> 12) & 0xf), 0);

		l = find(e, 0x8000001e, 0);
		h = find(host, 0x8000001e, 0);
		CHECK_EQ(l->eax, id);
		CHECK_EQ(l->ebx & 0xff, id);	      /* core ID */
		CHECK_EQ((l->ebx >> 8) & 0xff, 0);    /* 1 thread per core */
		CHECK_EQ(l->ebx >> 16, h->ebx >> 16);
		CHECK_EQ(l->ecx & 0xff, 0);	      /* node 0 */
		CHECK_EQ((l->ecx >> 8) & 7, 0);	      /* 1 node per package */
		CHECK_EQ(l->edx, h->edx);
	}
}

static void test_others_untouched(void)
{
	static const u32 untouched[] = { 0, 7, 0xd, 0x40000000, 0x40000001,
					 0x80000000 };
	unsigned int nr, id;

	FOR_EACH_CASE(nr, id) {
		fixup(id, nr);
		for (unsigned int i = 0; i < NENT; i++) {
			/* The keys of every entry are left alone. */
			CHECK_EQ(e[i].function, host[i].function);
			CHECK_EQ(e[i].index, host[i].index);
			CHECK_EQ(e[i].flags, host[i].flags);
			for (unsigned int u = 0; u < ARRAY_SIZE(untouched); u++)
				if (e[i].function == untouched[u])
					CHECK(memcmp(&e[i], &host[i],
						     sizeof(e[i])) == 0);
		}
	}
}

static void test_nent_bounds(void)
{
	/* Only the first nent entries are touched. */
	memcpy(e, host, sizeof(host));
	cpuid_fixup(e, 1, 3, 4); /* just leaf 0 */
	CHECK(memcmp(e, host, sizeof(host)) == 0);
	cpuid_fixup(e, 0, 3, 4);
	CHECK(memcmp(e, host, sizeof(host)) == 0);
}

/*
 * More vCPUs than a field holds (KVM allows hundreds): a count must not
 * wrap around to a small number; it should saturate at the field's
 * maximum.  Leaf 1 EBX[23:16] is 8 bits, leaf 4 EAX[31:26] 6 bits,
 * 0x80000008 ECX[7:0] 8 bits.
 */
static void test_many_cpus(void)
{
	static const unsigned int counts[] = { 65, 128, 256, 300 };

	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		unsigned int nr = counts[i];
		const struct kvm_cpuid_entry2 *l;

		fixup(nr - 1, nr);
		l = find(e, 1, 0);
		CHECK_EQ((l->ebx >> 16) & 0xff, MIN(nr, 255));
		CHECK(l->edx & HTT);
		for (unsigned int sub = 0; sub < 4; sub++) {
			l = find(e, 4, sub);
			CHECK_EQ((l->eax >> 26) + 1, MIN(nr, 64));
		}
		l = find(e, 0x80000008, 0);
		CHECK_EQ((l->ecx & 0xff) + 1, MIN(nr, 256));
		/* The x2APIC topology leaves have room: exact values. */
		l = find(e, 0xb, 1);
		CHECK_EQ(l->ebx & 0xffff, nr);
		CHECK_EQ(l->eax & 0x1f, order(nr));
		CHECK_EQ(l->edx, nr - 1);
	}
}

static void test_tsc_deadline(void)
{
	struct kvm_cpuid_entry2 e[3] = {
		{ .function = 0, .ecx = 0 },
		{ .function = 1, .ecx = 0x80000001 },
		{ .function = 7, .ecx = 0 },
	};

	cpuid_set_tsc_deadline(e, 3);
	CHECK_EQ(e[1].ecx, 0x81000001);
	CHECK_EQ(e[0].ecx, 0);
	CHECK_EQ(e[2].ecx, 0);
}

UNIT_MAIN("cpuid",
	  UNIT_TEST(test_core_shift),
	  UNIT_TEST(test_leaf1),
	  UNIT_TEST(test_leaf4),
	  UNIT_TEST(test_ext_topology),
	  UNIT_TEST(test_amd),
	  UNIT_TEST(test_others_untouched),
	  UNIT_TEST(test_nent_bounds),
	  UNIT_TEST(test_many_cpus),
	  UNIT_TEST(test_tsc_deadline))
