// SPDX-License-Identifier: GPL-2.0
/*
 * The split virtqueue walker against a fake driver.  Guest RAM is a
 * mapping with PROT_NONE guard pages on both sides, so any access the
 * walker makes outside guest RAM kills the test; and every hostile case
 * also checks that the failed pop wrote nothing into guest RAM.
 */
#include <endian.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/mem.h"
#include "virtio/iov.h"
#include "virtio/virtq.h"
#include "tests/unit/unit.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE (256 * 1024ULL)
#define DESC_OFF 0x0
#define AVAIL_OFF 0x2000
#define USED_OFF 0x3000
#define TABLE_OFF 0x8000	/* indirect tables */
#define DATA_OFF 0x10000	/* buffers */
#define QSIZE 16

#define F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)

static u8 *map, *ram;
static size_t map_len;
static struct guest_mem mem;
static struct virtq vq;
static struct iovec iov[64];
static struct virtq_chain chain;
static u8 snapshot[RAM_SIZE];
static u16 drv_avail_idx;

static u64 gpa(u64 off)
{
	return RAM_GPA + off;
}

static struct vring_desc *desc_at(u64 off)
{
	return (struct vring_desc *)(ram + off);
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL_OFF);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_OFF);
}

/* @d may be misaligned (an indirect table need not be aligned). */
static void set_desc(struct vring_desc *d, u64 addr, u32 len, u16 flags,
		     u16 next)
{
	struct vring_desc v = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	memcpy(d, &v, sizeof(v));
}

/* Descriptor @i of the main table. */
static void desc(u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	set_desc(desc_at(DESC_OFF) + i, addr, len, flags, next);
}

/* The driver makes chain @head available and bumps avail->idx. */
static void avail_add(u16 head)
{
	avail()->ring[drv_avail_idx % QSIZE] = htole16(head);
	drv_avail_idx++;
	avail()->idx = htole16(drv_avail_idx);
}

static void setup(u64 features)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!map) {
		map_len = RAM_SIZE + 2 * page;
		map = mmap(NULL, map_len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED)
			abort();
		ram = map + page;
		if (mprotect(ram, RAM_SIZE, PROT_READ | PROT_WRITE))
			abort();
	}
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	drv_avail_idx = 0;
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram), 0);
	CHECK_EQ(virtq_init(&vq, &mem, QSIZE, gpa(DESC_OFF), gpa(AVAIL_OFF),
			    gpa(USED_OFF), features),
		 0);
}

/* Fill each segment completely: a segment outside RAM would fault. */
static void touch_chain(void)
{
	unsigned int i;

	for (i = 0; i < chain.nr_out + chain.nr_in; i++)
		memset(iov[i].iov_base, 0xaa, iov[i].iov_len);
}

/*
 * Pop must fail with @err, mark the queue broken, leave guest RAM exactly
 * as it was, and refuse any further use of the queue.
 */
static void expect_broken(int err, unsigned int max_iov)
{
	memcpy(snapshot, ram, RAM_SIZE);
	CHECK_EQ(virtq_pop(&vq, iov, max_iov, &chain), err);
	CHECK(vq.broken);
	CHECK(vq.broken_reason != NULL);
	CHECK(memcmp(snapshot, ram, RAM_SIZE) == 0);
	CHECK_EQ(virtq_pop(&vq, iov, max_iov, &chain), -EIO);
	CHECK_EQ(virtq_push(&vq, 0, 0), -EIO);
	CHECK(!virtq_should_interrupt(&vq));
	CHECK(memcmp(snapshot, ram, RAM_SIZE) == 0);
}

static void test_init_rejects_bad_layout(void)
{
	setup(0);
	CHECK_EQ(virtq_init(&vq, &mem, 0, gpa(0), gpa(AVAIL_OFF),
			    gpa(USED_OFF), 0), -EINVAL);
	CHECK_EQ(virtq_init(&vq, &mem, 24, gpa(0), gpa(AVAIL_OFF),
			    gpa(USED_OFF), 0), -EINVAL);
	/* Misaligned areas (§2.7.1). */
	CHECK_EQ(virtq_init(&vq, &mem, QSIZE, gpa(8), gpa(AVAIL_OFF),
			    gpa(USED_OFF), 0), -EINVAL);
	CHECK_EQ(virtq_init(&vq, &mem, QSIZE, gpa(0), gpa(AVAIL_OFF + 1),
			    gpa(USED_OFF), 0), -EINVAL);
	CHECK_EQ(virtq_init(&vq, &mem, QSIZE, gpa(0), gpa(AVAIL_OFF),
			    gpa(USED_OFF + 2), 0), -EINVAL);
	/* Used ring running off the end of RAM, and not in RAM at all. */
	CHECK_EQ(virtq_init(&vq, &mem, QSIZE, gpa(0), gpa(AVAIL_OFF),
			    gpa(RAM_SIZE - 64), 0), -EINVAL);
	CHECK_EQ(virtq_init(&vq, &mem, QSIZE, 0, gpa(AVAIL_OFF),
			    gpa(USED_OFF), 0), -EINVAL);
	/* A queue of 32768 needs 512 KiB of descriptors: not in 256 KiB. */
	CHECK_EQ(virtq_init(&vq, &mem, 32768, gpa(0), gpa(AVAIL_OFF),
			    gpa(USED_OFF), 0), -EINVAL);
	/* A rejected queue is unusable, not half set up. */
	CHECK_EQ(virtq_pop(&vq, iov, 1, &chain), -EIO);
	CHECK_EQ(virtq_push(&vq, 0, 0), -EIO);
}

static void test_empty(void)
{
	setup(0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EAGAIN);
	CHECK(!vq.broken);
	CHECK(!virtq_should_interrupt(&vq));
}

static void test_single_readable(void)
{
	setup(0);
	desc(3, gpa(DATA_OFF), 100, 0, 0);
	avail_add(3);

	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(chain.nr_out, 1);
	CHECK_EQ(chain.nr_in, 0);
	CHECK_EQ(chain.out_len, 100);
	CHECK(iov[0].iov_base == ram + DATA_OFF);
	CHECK_EQ(iov[0].iov_len, 100);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EAGAIN);

	CHECK_EQ(virtq_push(&vq, 3, 0), 0);
	CHECK_EQ(le16toh(used()->idx), 1);
	CHECK_EQ(le32toh(used()->ring[0].id), 3);
	CHECK_EQ(le32toh(used()->ring[0].len), 0);
	CHECK(virtq_should_interrupt(&vq));
	CHECK(!virtq_should_interrupt(&vq));	/* nothing new pushed */
}

static void test_readable_writable_split(void)
{
	setup(0);
	desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 5);
	desc(5, gpa(DATA_OFF + 0x100), 512, VRING_DESC_F_NEXT, 2);
	desc(2, gpa(DATA_OFF + 0x400), 512,
	     VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 9);
	desc(9, gpa(DATA_OFF + 0x800), 1, VRING_DESC_F_WRITE, 0);
	avail_add(0);

	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.nr_out, 2);
	CHECK_EQ(chain.nr_in, 2);
	CHECK_EQ(chain.out_len, 528);
	CHECK_EQ(chain.in_len, 513);
	CHECK(iov[0].iov_base == ram + DATA_OFF);
	CHECK(iov[1].iov_base == ram + DATA_OFF + 0x100);
	CHECK(iov[2].iov_base == ram + DATA_OFF + 0x400);
	CHECK(iov[3].iov_base == ram + DATA_OFF + 0x800);
	CHECK_EQ(iov[3].iov_len, 1);
	touch_chain();

	CHECK_EQ(virtq_push(&vq, chain.head, 513), 0);
	CHECK_EQ(le32toh(used()->ring[0].len), 513);
}

static void test_many_chains_in_order(void)
{
	unsigned int i;

	setup(0);
	for (i = 0; i < QSIZE; i++) {
		desc(i, gpa(DATA_OFF + i * 64), 64, VRING_DESC_F_WRITE, 0);
		avail_add(QSIZE - 1 - i);
	}
	for (i = 0; i < QSIZE; i++) {
		CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
		CHECK_EQ(chain.head, QSIZE - 1 - i);
		CHECK_EQ(virtq_push(&vq, chain.head, 64), 0);
	}
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EAGAIN);
	CHECK_EQ(le16toh(used()->idx), QSIZE);
}

/* A chain put back is the next one popped, across the 16-bit wrap too. */
static void test_unpop(void)
{
	setup(0);
	virtq_set_state(&vq, 65535, 65535);
	drv_avail_idx = 65535;
	desc(3, gpa(DATA_OFF), 64, VRING_DESC_F_WRITE, 0);
	desc(5, gpa(DATA_OFF + 64), 64, VRING_DESC_F_WRITE, 0);
	avail_add(3);
	avail_add(5);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 3);
	virtq_unpop(&vq);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(virtq_push(&vq, chain.head, 64), 0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 5);
	virtq_unpop(&vq);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 5);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EAGAIN);
	CHECK(!vq.broken);
}

static void test_indirect(void)
{
	struct vring_desc *t = desc_at(TABLE_OFF);

	setup(F_INDIRECT);
	/* Table entries chained out of order: 0 -> 2 -> 1. */
	set_desc(&t[0], gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 2);
	set_desc(&t[2], gpa(DATA_OFF + 0x100), 4096,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(&t[1], gpa(DATA_OFF + 0x2000), 1, VRING_DESC_F_WRITE, 0);
	/* The WRITE flag on the table descriptor itself is ignored (§2.7.5.3.2). */
	desc(7, gpa(TABLE_OFF), 3 * 16,
	     VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	avail_add(7);

	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.head, 7);
	CHECK_EQ(chain.nr_out, 1);
	CHECK_EQ(chain.nr_in, 2);
	CHECK(iov[0].iov_base == ram + DATA_OFF);
	CHECK(iov[1].iov_base == ram + DATA_OFF + 0x100);
	CHECK_EQ(iov[1].iov_len, 4096);
	CHECK(iov[2].iov_base == ram + DATA_OFF + 0x2000);
	touch_chain();
}

/* §2.7.5.3.2: normal descriptors followed by one indirect descriptor. */
static void test_direct_then_indirect(void)
{
	/* An indirect table need not be aligned. */
	struct vring_desc *t = (void *)(ram + TABLE_OFF + 4);

	setup(F_INDIRECT);
	set_desc(&t[0], gpa(DATA_OFF + 0x100), 8, VRING_DESC_F_WRITE, 0);
	desc(1, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 4);
	desc(4, gpa(TABLE_OFF + 4), 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(1);

	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.nr_out, 1);
	CHECK_EQ(chain.nr_in, 1);
	CHECK_EQ(chain.in_len, 8);
	CHECK(iov[1].iov_base == ram + DATA_OFF + 0x100);
}

static void test_wraparound(void)
{
	u16 i, expect_used;

	setup(0);
	/* Driver and device both 2 short of the 16-bit wrap. */
	virtq_set_state(&vq, 65534, 65534);
	drv_avail_idx = 65534;
	avail()->idx = htole16(drv_avail_idx);
	used()->idx = htole16(65534);

	for (i = 0; i < 4; i++) {
		desc(i, gpa(DATA_OFF + i * 16), 16, VRING_DESC_F_WRITE, 0);
		avail_add(i);
	}
	CHECK_EQ(le16toh(avail()->idx), 2);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
		CHECK_EQ(chain.head, i);
		CHECK_EQ(virtq_push(&vq, chain.head, 16), 0);
	}
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EAGAIN);
	CHECK(!vq.broken);
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(vq.last_avail_idx, 2);
	/* Entries 65534, 65535, 0, 1 land in ring slots 14, 15, 0, 1. */
	for (i = 0; i < 4; i++) {
		expect_used = (u16)(65534 + i) % QSIZE;
		CHECK_EQ(le32toh(used()->ring[expect_used].id), i);
	}
	CHECK(virtq_should_interrupt(&vq));
}

/*
 * Several used elements published at once, across the 16-bit wrap: the
 * driver sees none of them until it sees all (one used->idx update).
 */
static void test_push_n(void)
{
	struct virtq_used u[3] = { { 5, 100 }, { 2, 200 }, { 9, 3 } };
	struct virtq_used bad[2] = { { 1, 1 }, { QSIZE, 1 } };
	struct virtq_used many[QSIZE + 1] = { { 0 } };
	unsigned int i;

	setup(0);
	virtq_set_state(&vq, 65535, 65535);
	used()->idx = htole16(65535);
	CHECK_EQ(virtq_push_n(&vq, u, 3), 0);
	CHECK_EQ(le16toh(used()->idx), 2);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(le32toh(used()->ring[(15 + i) % QSIZE].id), u[i].head);
		CHECK_EQ(le32toh(used()->ring[(15 + i) % QSIZE].len), u[i].len);
	}
	/* A bad head, or more than the ring holds: nothing is pushed. */
	CHECK_EQ(virtq_push_n(&vq, bad, 2), -EINVAL);
	CHECK_EQ(virtq_push_n(&vq, many, QSIZE + 1), -EINVAL);
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK_EQ(le32toh(used()->ring[2].id), 0);
	CHECK_EQ(virtq_push_n(&vq, u, 0), 0);
	CHECK_EQ(le16toh(used()->idx), 2);
	CHECK(virtq_should_interrupt(&vq));
}

static void test_event_idx(void)
{
	__virtio16 *used_event, *avail_event;

	setup(F_EVENT_IDX);
	used_event = &avail()->ring[QSIZE];
	avail_event = (__virtio16 *)&used()->ring[QSIZE];

	desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_WRITE, 0);
	/* The device asks for a kick on the first buffer. */
	CHECK_EQ(le16toh(*avail_event), 0);

	/* used_event 0: interrupt when used->idx goes 0 -> 1 only. */
	*used_event = htole16(0);
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);
	CHECK(virtq_should_interrupt(&vq));
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);
	CHECK(!virtq_should_interrupt(&vq));

	/* used_event 4 (idx 2 now): 3 suppressed, crossing 4 -> 5 fires. */
	*used_event = htole16(4);
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);
	CHECK(!virtq_should_interrupt(&vq));
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);
	CHECK(virtq_should_interrupt(&vq));	/* batch 3 -> 5 crossed it */

	/* With EVENT_IDX the NO_INTERRUPT flag is ignored (§2.7.7.2). */
	avail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	*used_event = htole16(5);
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);
	CHECK(virtq_should_interrupt(&vq));

	/* Draining the ring publishes avail_event = last_avail_idx. */
	avail_add(0);
	avail_add(0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EAGAIN);
	CHECK_EQ(le16toh(*avail_event), 2);
}

static void test_event_idx_wraps(void)
{
	__virtio16 *used_event;

	setup(F_EVENT_IDX);
	used_event = &avail()->ring[QSIZE];
	virtq_set_state(&vq, 0, 65535);
	*used_event = htole16(65535);
	CHECK_EQ(virtq_push(&vq, 0, 1), 0);	/* 65535 -> 0 */
	CHECK(virtq_should_interrupt(&vq));
	CHECK_EQ(le16toh(used()->idx), 0);
}

static void test_no_interrupt_flag(void)
{
	setup(0);
	avail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(virtq_push(&vq, 0, 0), 0);
	CHECK(!virtq_should_interrupt(&vq));
	avail()->flags = 0;
	CHECK_EQ(virtq_push(&vq, 0, 0), 0);
	CHECK(virtq_should_interrupt(&vq));
}

/* ---- hostile guests ---- */

static void test_next_out_of_range(void)
{
	setup(0);
	desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, QSIZE);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_loop(void)
{
	setup(0);
	desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 1);
	desc(1, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 0);
	avail_add(0);
	/* The iov array is bigger than the queue: the loop check must fire. */
	expect_broken(-ELOOP, ARRAY_SIZE(iov));

	setup(0);
	desc(5, gpa(DATA_OFF), 0, VRING_DESC_F_NEXT, 5);
	avail_add(5);
	expect_broken(-ELOOP, ARRAY_SIZE(iov));
}

static void test_head_out_of_range(void)
{
	setup(0);
	avail_add(QSIZE);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));

	setup(0);
	avail_add(0xffff);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_avail_idx_jump(void)
{
	setup(0);
	desc(0, gpa(DATA_OFF), 16, 0, 0);
	avail()->idx = htole16(QSIZE + 1);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));

	/* Going backwards is a jump of nearly 65536. */
	setup(0);
	virtq_set_state(&vq, 100, 100);
	avail()->idx = htole16(99);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_buffer_outside_ram(void)
{
	static const struct {
		u64 addr;
		u32 len;
	} bad[] = {
		{ RAM_GPA + RAM_SIZE - 10, 20 },	/* runs off the end */
		{ RAM_GPA + RAM_SIZE, 0 },		/* just past the end */
		{ RAM_GPA - 16, 32 },			/* starts before */
		{ 0, 16 },				/* below RAM */
		{ 0xfffffffffffffff0ULL, 0x20 },	/* addr + len wraps */
		{ RAM_GPA, 0xffffffff },		/* too long */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		setup(0);
		desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 1);
		desc(1, bad[i].addr, bad[i].len, VRING_DESC_F_WRITE, 0);
		avail_add(0);
		expect_broken(-EFAULT, ARRAY_SIZE(iov));
	}
}

/* Contiguous guest addresses in two regions are still two regions. */
static void test_buffer_across_regions(void)
{
	setup(0);
	/* Split RAM into two regions at DATA_OFF, host-side not adjacent. */
	mem.nr = 0;
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA, DATA_OFF, ram), 0);
	CHECK_EQ(guest_mem_add(&mem, RAM_GPA + DATA_OFF, 0x1000,
			       ram + DATA_OFF + 0x1000), 0);
	desc(0, gpa(DATA_OFF - 8), 16, 0, 0);
	avail_add(0);
	expect_broken(-EFAULT, ARRAY_SIZE(iov));
}

static void test_too_many_segments(void)
{
	setup(0);
	desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 1);
	desc(1, gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 2);
	desc(2, gpa(DATA_OFF), 16, 0, 0);
	avail_add(0);
	expect_broken(-E2BIG, 2);
}

static void test_readable_after_writable(void)
{
	struct vring_desc *t = desc_at(TABLE_OFF);

	setup(0);
	desc(0, gpa(DATA_OFF), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(1, gpa(DATA_OFF), 16, 0, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));

	/* The same inside an indirect table. */
	setup(F_INDIRECT);
	set_desc(&t[0], gpa(DATA_OFF), 1,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], gpa(DATA_OFF), 1, 0, 0);
	desc(0, gpa(TABLE_OFF), 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));

	/* And across the boundary: writable direct, then a readable table. */
	setup(F_INDIRECT);
	set_desc(&t[0], gpa(DATA_OFF), 1, 0, 0);
	desc(0, gpa(DATA_OFF), 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(1, gpa(TABLE_OFF), 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_indirect_not_negotiated(void)
{
	struct vring_desc *t = desc_at(TABLE_OFF);

	setup(0);
	set_desc(&t[0], gpa(DATA_OFF), 16, 0, 0);
	desc(0, gpa(TABLE_OFF), 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_indirect_bad_length(void)
{
	static const u32 lens[] = { 0, 8, 24, 17 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		setup(F_INDIRECT);
		set_desc(desc_at(TABLE_OFF), gpa(DATA_OFF), 16, 0, 0);
		desc(0, gpa(TABLE_OFF), lens[i], VRING_DESC_F_INDIRECT, 0);
		avail_add(0);
		expect_broken(-EINVAL, ARRAY_SIZE(iov));
	}
}

static void test_indirect_nested(void)
{
	struct vring_desc *t = desc_at(TABLE_OFF);

	setup(F_INDIRECT);
	set_desc(&t[0], gpa(DATA_OFF), 16, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], gpa(TABLE_OFF), 32, VRING_DESC_F_INDIRECT, 0);
	desc(0, gpa(TABLE_OFF), 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_indirect_with_next(void)
{
	setup(F_INDIRECT);
	set_desc(desc_at(TABLE_OFF), gpa(DATA_OFF), 16, 0, 0);
	desc(0, gpa(TABLE_OFF), 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT,
	     1);
	desc(1, gpa(DATA_OFF), 16, 0, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
}

static void test_indirect_loop_and_range(void)
{
	struct vring_desc *t = desc_at(TABLE_OFF);

	/* A loop inside a 4-entry table, with room for 64 segments. */
	setup(F_INDIRECT);
	set_desc(&t[0], gpa(DATA_OFF), 1, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], gpa(DATA_OFF), 1, VRING_DESC_F_NEXT, 0);
	desc(0, gpa(TABLE_OFF), 4 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-ELOOP, ARRAY_SIZE(iov));

	/* next beyond the table (but inside the queue size). */
	setup(F_INDIRECT);
	set_desc(&t[0], gpa(DATA_OFF), 1, VRING_DESC_F_NEXT, 2);
	desc(0, gpa(TABLE_OFF), 2 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));

	/* The table itself outside RAM. */
	setup(F_INDIRECT);
	desc(0, gpa(RAM_SIZE - 16), 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-EFAULT, ARRAY_SIZE(iov));
}

/* A huge indirect table of zero-length self-loops ends at the iov limit. */
static void test_indirect_huge_table(void)
{
	struct vring_desc *t = desc_at(TABLE_OFF);
	unsigned int i;

	setup(F_INDIRECT);
	for (i = 0; i < 0x8000 / 16; i++)
		set_desc(&t[i], gpa(DATA_OFF), 0, VRING_DESC_F_NEXT, i + 1);
	desc(0, gpa(TABLE_OFF), 0x8000, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken(-E2BIG, ARRAY_SIZE(iov));
}

/*
 * §2.7.5.2: a chain longer than 4 GiB is refused.  A second region of
 * 3 GiB of address space that is reserved but never touched (PROT_NONE)
 * holds the two buffers: the walker must check lengths, not data.
 */
static void test_chain_over_4g(void)
{
	const u64 big = 3 * SZ_1G, big_gpa = 0x100000000ULL;
	void *res;

	res = mmap(NULL, big, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(res != MAP_FAILED);
	if (res == MAP_FAILED)
		return;
	setup(0);
	CHECK_EQ(guest_mem_add(&mem, big_gpa, big, res), 0);
	desc(0, big_gpa, 0xc0000000, VRING_DESC_F_NEXT, 1);
	desc(1, big_gpa, 0x80000000, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	expect_broken(-EMSGSIZE, ARRAY_SIZE(iov));

	/* Exactly 4 GiB is still allowed. */
	setup(0);
	CHECK_EQ(guest_mem_add(&mem, big_gpa, big, res), 0);
	desc(0, big_gpa, 0xc0000000, VRING_DESC_F_NEXT, 1);
	desc(1, big_gpa, 0x40000000, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), 0);
	CHECK_EQ(chain.out_len + chain.in_len, 1ULL << 32);
	munmap(res, big);
}

/* A broken queue stays broken even if the guest "fixes" the ring. */
static void test_broken_is_sticky(void)
{
	setup(0);
	avail_add(QSIZE);
	expect_broken(-EINVAL, ARRAY_SIZE(iov));
	avail()->ring[0] = 0;
	desc(0, gpa(DATA_OFF), 16, 0, 0);
	CHECK_EQ(virtq_pop(&vq, iov, ARRAY_SIZE(iov), &chain), -EIO);
}

static void test_iov_helpers(void)
{
	char a[4] = "abcd", b[3] = "efg", c[5] = "hijkl", out[12];
	struct iovec src[] = { { a, 4 }, { b, 3 }, { c, 5 } }, dst[3];

	CHECK_EQ(iov_length(src, 3), 12);
	CHECK_EQ(iov_copy_from(src, 3, 2, out, 7), 7);
	CHECK(memcmp(out, "cdefghi", 7) == 0);
	CHECK_EQ(iov_copy_from(src, 3, 10, out, 7), 2);
	CHECK_EQ(iov_copy_from(src, 3, 12, out, 1), 0);
	CHECK_EQ(iov_copy_to(src, 3, 11, "Z", 1), 1);
	CHECK_EQ(c[4], 'Z');

	CHECK_EQ(iov_slice(dst, 3, src, 3, 3, 5), 3);
	CHECK(dst[0].iov_base == a + 3 && dst[0].iov_len == 1);
	CHECK(dst[1].iov_base == b && dst[1].iov_len == 3);
	CHECK(dst[2].iov_base == c && dst[2].iov_len == 1);
	CHECK_EQ(iov_slice(dst, 3, src, 3, 4, 3), 1);
	CHECK_EQ(iov_slice(dst, 3, src, 3, 0, 0), 0);
	CHECK_EQ(iov_slice(dst, 3, src, 3, 5, 8), -ERANGE);
	CHECK_EQ(iov_slice(dst, 1, src, 3, 0, 12), -E2BIG);
}

UNIT_MAIN("virtq",
	  UNIT_TEST(test_init_rejects_bad_layout),
	  UNIT_TEST(test_empty),
	  UNIT_TEST(test_single_readable),
	  UNIT_TEST(test_readable_writable_split),
	  UNIT_TEST(test_many_chains_in_order),
	  UNIT_TEST(test_unpop),
	  UNIT_TEST(test_indirect),
	  UNIT_TEST(test_direct_then_indirect),
	  UNIT_TEST(test_wraparound),
	  UNIT_TEST(test_push_n),
	  UNIT_TEST(test_event_idx),
	  UNIT_TEST(test_event_idx_wraps),
	  UNIT_TEST(test_no_interrupt_flag),
	  UNIT_TEST(test_next_out_of_range),
	  UNIT_TEST(test_loop),
	  UNIT_TEST(test_head_out_of_range),
	  UNIT_TEST(test_avail_idx_jump),
	  UNIT_TEST(test_buffer_outside_ram),
	  UNIT_TEST(test_buffer_across_regions),
	  UNIT_TEST(test_too_many_segments),
	  UNIT_TEST(test_readable_after_writable),
	  UNIT_TEST(test_indirect_not_negotiated),
	  UNIT_TEST(test_indirect_bad_length),
	  UNIT_TEST(test_indirect_nested),
	  UNIT_TEST(test_indirect_with_next),
	  UNIT_TEST(test_indirect_loop_and_range),
	  UNIT_TEST(test_indirect_huge_table),
	  UNIT_TEST(test_chain_over_4g),
	  UNIT_TEST(test_broken_is_sticky),
	  UNIT_TEST(test_iov_helpers))
