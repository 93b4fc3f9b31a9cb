// SPDX-License-Identifier: GPL-2.0
/*
 * The migration loader (kvm/migrate-in.c, migrate-state.c, migrate-ram.c)
 * over streams built here, against a fake VM: 4 MiB of RAM in two
 * regions, one vCPU, and two fake devices.  A good stream loads, pages and
 * state end up where they belong; every way a stream can be wrong (a
 * mismatched header, pages outside RAM, sections out of order, a
 * truncation anywhere, a checksum that fails) is refused with a message,
 * and nothing crashes.  The RAM side's dirty log is tested with a fake
 * KVM_GET_DIRTY_LOG.  The arch's hooks are fakes: x86's state needs KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/migrate-priv.h"
#include "kvm/migrate-ram.h"
#include "kvm/migrate.h"
#include "kvm/vm.h"
#include "tests/unit/unit.h"

#define RAM (4 * SZ_1M)

/* ---- fakes for what the loader calls outside its files ---- */

static unsigned long fake_kvm_log[RAM / SZ_4K / 64];
static int clears;

int __kvm_ioctl(int fd, unsigned long cmd, const char *name,
		unsigned long arg)
{
	if (cmd == KVM_GET_DIRTY_LOG) {
		struct kvm_dirty_log *l = (void *)arg;

		/* Slot 0 is the first 2 MiB, slot 1 the next. */
		memcpy(l->dirty_bitmap, &fake_kvm_log[l->slot * 8], 64);
		return 0;
	}
	if (cmd == KVM_CLEAR_DIRTY_LOG) {
		clears++;
		return 0;
	}
	return 0;
}

int kvm_cap(int fd, long cap)
{
	return 0;
}

bool vm_exiting(struct vm *vm)
{
	return false;
}

void vm_kvmclock_ctrl(struct vm *vm) {}
int control_start(struct control *c, const char *name) { return 0; }
void control_stop(struct control *c) {}
int control_sock_reap(const char *name) { return -ENOENT; }

static u32 arch_vcpu_loaded, arch_vm_loaded;

void arch_mig_header_put(struct vm *vm, struct state_out *o)
{
	state_put_u32(o, 0xc0de);
}

int arch_mig_header_check(struct vm *vm, struct state_in *in)
{
	if (state_get_u32(in) != 0xc0de && !in->err)
		state_fail(in, "another CPU");
	return in->err;
}

int arch_vm_save(struct vm *vm, struct state_out *o)
{
	state_put_u32(o, 0x1234);
	return 0;
}

int arch_vm_load(struct vm *vm, struct state_in *in)
{
	arch_vm_loaded = state_get_u32(in);
	return in->err;
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_out *o)
{
	state_put_u64(o, 0xabcd0000ULL + vcpu->id);
	return 0;
}

int arch_vcpu_load(struct vcpu *vcpu, struct state_in *in)
{
	arch_vcpu_loaded = state_get_u64(in);
	return in->err;
}

/* ---- a fake VM and its devices ---- */

struct fake_dev {
	struct vm_device dev;
	const char *ident;
	u32 value;	/* its state */
	u32 loaded;
};

static void fake_describe(struct vm_device *dev, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ((struct fake_dev *)dev->priv)->ident);
}

static int fake_save(struct vm_device *dev, struct state_out *o)
{
	state_put_u32(o, ((struct fake_dev *)dev->priv)->value);
	return 0;
}

static int fake_load(struct vm_device *dev, struct state_in *in)
{
	struct fake_dev *f = dev->priv;

	f->loaded = state_get_u32(in);
	if (!in->err && f->loaded > 1000)
		return state_fail(in, "value %u out of range", f->loaded);
	return in->err;
}

static const struct vm_device_ops fake_ops = {
	.describe = fake_describe,
	.save = fake_save,
	.load = fake_load,
};

struct fake_vm {
	struct vm vm;
	struct vcpu vcpu;
	struct fake_dev d[2];
	struct vm_device *devs[2];
};

static void fake_vm_init(struct fake_vm *f, u64 ram, const char *disk)
{
	memset(f, 0, sizeof(*f));
	CHECK_EQ(guest_mem_alloc(&f->vm.mem, ram), 0);
	guest_mem_add(&f->vm.mem, 0, ram / 2, f->vm.mem.base);
	guest_mem_add(&f->vm.mem, SZ_4G, ram / 2,
		      (u8 *)f->vm.mem.base + ram / 2);
	f->vm.cfg.ram_size = ram;
	f->vm.cfg.nr_vcpus = 1;
	f->vm.nr_vcpus = 1;
	f->vm.vcpus = &f->vcpu;
	f->vcpu.vm = &f->vm;
	f->d[0] = (struct fake_dev){ { &fake_ops, "ttyS0" }, "type=uart", 7 };
	f->d[1] = (struct fake_dev){ { &fake_ops, "vda" }, disk, 9 };
	for (int i = 0; i < 2; i++) {
		f->d[i].dev.priv = &f->d[i];
		f->devs[i] = &f->d[i].dev;
	}
	f->vm.devices = f->devs;
	f->vm.nr_devices = 2;
}

static void fake_vm_fini(struct fake_vm *f)
{
	guest_mem_free(&f->vm.mem);
}

/* ---- streams ---- */

struct stream {
	u8 *buf;
	size_t len;
};

/* Run @fill over a channel into a memfd and read it all back. */
static void capture(struct stream *s, struct fake_vm *src,
		    void (*fill)(struct fake_vm *, struct mig_chan *))
{
	struct mig_chan c;
	int fd = memfd_create("stream", 0);
	off_t n;

	mig_chan_init(&c, fd);
	fill(src, &c);
	n = lseek(fd, 0, SEEK_END);
	s->buf = malloc(n);
	s->len = pread(fd, s->buf, n, 0);
	CHECK_EQ(s->len, n);
	close(fd);
}

static void put_page(struct mig_chan *c, u64 e, const void *data)
{
	struct state_out o = {};

	state_put_u64(&o, e);
	if (data)
		state_put(&o, data, 4096);
	mig_write_section(c, MIG_SEC_RAM_PAGES, o.buf, o.len);
	state_out_free(&o);
}

static void fill_good(struct fake_vm *src, struct mig_chan *c)
{
	static u8 page[4096];
	char why[MIG_WHY_MAX];

	memset(page, 0x5a, sizeof(page));
	CHECK_EQ(mig_write_preamble(c, 0), 0);
	CHECK_EQ(mig_send_header(&src->vm, c), 0);
	put_page(c, 0x3000, page);
	CHECK_EQ(mig_write_section(c, MIG_SEC_SYNC, NULL, 0), 0); /* a pass */
	put_page(c, SZ_4G + 0x1000, page);
	put_page(c, 0x3000 | MIG_PAGE_ZERO, NULL);	/* overwrites: zeroed */
	put_page(c, 0x4000 | MIG_PAGE_ZERO, NULL);	/* never touched */
	src->vm.panic_seen = true;
	CHECK_EQ(mig_send_state(&src->vm, c, why, sizeof(why)), 0);
	CHECK_EQ(mig_write_section(c, MIG_SEC_END, NULL, 0), 0);
}

static int load(struct fake_vm *dst, const struct stream *s, size_t len,
		char *why)
{
	why[0] = 0;
	return migrate_load_stream(&dst->vm, s->buf, len, why, MIG_WHY_MAX);
}

/* A fresh source writes its stream with @fill; a fresh destination loads it. */
static int load_fill(void (*fill)(struct fake_vm *, struct mig_chan *),
		     char *why)
{
	struct fake_vm src, dst;
	struct stream s;
	int r;

	fake_vm_init(&src, RAM, "");
	fake_vm_init(&dst, RAM, "");
	capture(&s, &src, fill);
	r = load(&dst, &s, s.len, why);
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
	return r;
}

static void test_good_stream(void)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];
	u8 *ram;

	fake_vm_init(&src, RAM, "type=blk size=64MiB ro=no path=/a/disk.img");
	fake_vm_init(&dst, RAM, "type=blk size=64MiB ro=no path=/b/disk.img");
	capture(&s, &src, fill_good);
	ram = dst.vm.mem.base;
	ram[0x4000] = 0x77;	/* a page the stream says is zero, untouched */
	CHECK_EQ(load(&dst, &s, s.len, why), 0);
	if (why[0])
		fprintf(stderr, "  why: %s\n", why);
	CHECK_EQ(ram[0x3000], 0);	/* data, then zero */
	CHECK_EQ(ram[RAM / 2 + 0x1fff], 0x5a);
	/* Fresh memory is zero: an untouched page is left alone. */
	CHECK_EQ(ram[0x4000], 0x77);
	CHECK(dst.vm.panic_seen);
	CHECK_EQ(arch_vm_loaded, 0x1234);
	CHECK_EQ(arch_vcpu_loaded, 0xabcd0000ULL);
	CHECK_EQ(dst.d[0].loaded, 7);
	CHECK_EQ(dst.d[1].loaded, 9);
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

/* A mismatch is refused by the header, saying what to fix. */
static void expect_refusal(u64 src_ram, const char *src_disk, u64 dst_ram,
			   const char *dst_disk, unsigned int dst_vcpus,
			   const char *msg)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];

	fake_vm_init(&src, src_ram, src_disk);
	fake_vm_init(&dst, dst_ram, dst_disk);
	dst.vm.nr_vcpus = dst_vcpus;
	capture(&s, &src, fill_good);
	CHECK(load(&dst, &s, s.len, why) < 0);
	if (!strstr(why, msg))
		fprintf(stderr, "  why: '%s', wanted '%s'\n", why, msg);
	CHECK(strstr(why, msg));
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

static void test_header_mismatch(void)
{
	const char *d64 = "type=blk size=64MiB ro=no path=/x";

	expect_refusal(RAM, d64, 2 * RAM, d64, 1,
		       "memory: 8 MiB here, 4 MiB at the source (-m)");
	expect_refusal(RAM, "type=blk size=32MiB ro=no path=/x", RAM, d64, 1,
		       "vda: size=64MiB here, size=32MiB at the source");
	expect_refusal(RAM, d64, RAM, "type=blk size=64MiB ro=yes path=/x", 1,
		       "vda: ro=yes here, ro=no at the source");
	expect_refusal(RAM, d64, RAM, "type=net mac=1 path=/x", 1,
		       "vda: type=net here, type=blk at the source");
	expect_refusal(RAM, d64, RAM, "type=blk size=64MiB ro=no cache=x", 1,
		       "vda: cache=x here, cache=(none) at the source");
}

static void test_header_vcpus(void)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];

	fake_vm_init(&src, RAM, "");
	fake_vm_init(&dst, RAM, "");
	dst.vm.nr_vcpus = 2;
	capture(&s, &src, fill_good);
	CHECK(load(&dst, &s, s.len, why) < 0);
	CHECK(strstr(why, "vCPUs: 2 here, 1 at the source (-c)"));
	dst.vm.nr_vcpus = 1;
	dst.vm.nr_devices = 1;
	CHECK(load(&dst, &s, s.len, why) < 0);
	CHECK(strstr(why, "devices: 1 here, 2 at the source"));
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

/* A stream cut anywhere is refused with a reason, never accepted. */
static void test_truncated(void)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];
	size_t cut;

	fake_vm_init(&src, RAM, "type=blk");
	fake_vm_init(&dst, RAM, "type=blk");
	capture(&s, &src, fill_good);
	for (cut = 0; cut < s.len; cut += cut < 200 ? 1 : 97) {
		CHECK(load(&dst, &s, cut, why) < 0);
		CHECK(why[0]);
	}
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

/* Every single bit flipped is caught (checksums), or refused. */
static void test_flipped(void)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];
	size_t i;

	fake_vm_init(&src, RAM, "type=blk");
	fake_vm_init(&dst, RAM, "type=blk");
	capture(&s, &src, fill_good);
	for (i = 0; i < s.len; i += i < 400 ? 1 : 131) {
		s.buf[i] ^= 0x10;
		CHECK(load(&dst, &s, s.len, why) < 0);
		s.buf[i] ^= 0x10;
	}
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

static u64 bad_page;

static void fill_bad_page(struct fake_vm *src, struct mig_chan *c)
{
	static u8 page[4096];

	mig_write_preamble(c, 0);
	mig_send_header(&src->vm, c);
	put_page(c, bad_page, (bad_page & MIG_PAGE_ZERO) ? NULL : page);
	mig_write_section(c, MIG_SEC_END, NULL, 0);
}

static void expect_bad_page(u64 e, const char *msg)
{
	char why[MIG_WHY_MAX];

	bad_page = e;
	CHECK(load_fill(fill_bad_page, why) < 0);
	if (!strstr(why, msg))
		fprintf(stderr, "  why: '%s', wanted '%s'\n", why, msg);
	CHECK(strstr(why, msg));
}

static void test_bad_pages(void)
{
	expect_bad_page(RAM / 2, "page 0x200000 is not guest RAM here");
	expect_bad_page(~0ULL & ~4095ULL, "is not guest RAM here");
	expect_bad_page(0x1000 | 0x10, "unknown flags");
	/* The end where a machine section must come. */
	expect_bad_page(0x1000, "unexpected end section (RAM or the machine was expected)");
}

/* Sections out of their order are refused by name. */
static void fill_out_of_order(struct fake_vm *src, struct mig_chan *c)
{
	char why[MIG_WHY_MAX];
	struct state_out o = {};

	mig_write_preamble(c, 0);
	mig_send_header(&src->vm, c);
	state_put_u8(&o, 0);
	state_put_u8(&o, 0);
	mig_write_section(c, MIG_SEC_MACHINE, o.buf, o.len);
	/* Then a second machine section, where the irqchip belongs. */
	mig_send_state(&src->vm, c, why, sizeof(why));
	state_out_free(&o);
}

static void test_out_of_order(void)
{
	char why[MIG_WHY_MAX];

	CHECK(load_fill(fill_out_of_order, why) < 0);
	CHECK(strstr(why, "unexpected machine section (the irqchip was expected)"));
}

/*
 * SYNC ends a pass, and only there: between RAM sections, with no
 * payload.  Several in a row are harmless; anywhere else it is refused.
 */
enum sync_at { SYNC_TWICE, SYNC_PAYLOAD, SYNC_FIRST, SYNC_IN_STATE };
static enum sync_at sync_at;

static void fill_sync(struct fake_vm *src, struct mig_chan *c)
{
	static u8 page[4096];
	char why[MIG_WHY_MAX];
	u8 junk = 1;

	mig_write_preamble(c, 0);
	if (sync_at == SYNC_FIRST)
		mig_write_section(c, MIG_SEC_SYNC, NULL, 0);
	mig_send_header(&src->vm, c);
	put_page(c, 0x3000, page);
	mig_write_section(c, MIG_SEC_SYNC, sync_at == SYNC_PAYLOAD ? &junk : NULL,
			  sync_at == SYNC_PAYLOAD);
	if (sync_at == SYNC_TWICE)
		mig_write_section(c, MIG_SEC_SYNC, NULL, 0);
	mig_send_cpus(&src->vm, c, why, sizeof(why));
	if (sync_at == SYNC_IN_STATE)
		mig_write_section(c, MIG_SEC_SYNC, NULL, 0);
	mig_send_devices(&src->vm, c, why, sizeof(why));
	mig_write_section(c, MIG_SEC_END, NULL, 0);
}

static int load_sync(enum sync_at at, char *why)
{
	sync_at = at;
	return load_fill(fill_sync, why);
}

static void test_sync(void)
{
	char why[MIG_WHY_MAX];

	CHECK_EQ(load_sync(SYNC_TWICE, why), 0);
	CHECK(load_sync(SYNC_PAYLOAD, why) < 0);
	CHECK(strstr(why, "unexpected sync section (RAM or the machine"));
	CHECK(load_sync(SYNC_FIRST, why) < 0);
	CHECK(strstr(why, "unexpected sync section (the header was expected)"));
	CHECK(load_sync(SYNC_IN_STATE, why) < 0);
	CHECK(strstr(why, "unexpected sync section (a device was expected)"));
}

/* A device's own check refuses a value; the device is named. */
static void test_device_refuses(void)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];

	fake_vm_init(&src, RAM, "");
	fake_vm_init(&dst, RAM, "");
	src.d[1].value = 5000;
	capture(&s, &src, fill_good);
	CHECK(load(&dst, &s, s.len, why) < 0);
	CHECK(strstr(why, "vda: value 5000 out of range"));
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

/* ---- the source's RAM side: pending pages and both dirty logs ---- */

static u64 count_pages(const struct stream *s, u64 *zero)
{
	struct mig_chan c;
	u8 *buf = NULL;
	size_t cap = 0;
	u32 id, len, off;
	u64 n = 0, e;

	*zero = 0;
	mig_chan_init_mem(&c, s->buf, s->len);
	while (!mig_read_section(&c, &id, &buf, &cap, &len)) {
		for (off = 0; off < len; off += 8) {
			memcpy(&e, buf + off, 8);
			n++;
			if (e & MIG_PAGE_ZERO)
				(*zero)++;
			else
				off += 4096;
		}
	}
	free(buf);
	return n;
}

static struct mig_ram ram_under_test;

static void fill_pass(struct fake_vm *src, struct mig_chan *c)
{
	CHECK_EQ(mig_ram_send(&ram_under_test, c), 0);
}

static void test_ram_passes(void)
{
	struct mig_ram *r = &ram_under_test;
	struct fake_vm vm;
	struct stream s;
	u64 n, zero;
	u8 *base;

	fake_vm_init(&vm, RAM, "");
	base = vm.vm.mem.base;
	base[0x5000] = 1;
	CHECK_EQ(mig_ram_init(r, &vm.vm), 0);
	CHECK_EQ(mig_ram_log_start(r), 0);
	/* Pass 1: every page, zero ones as flags. */
	capture(&s, &vm, fill_pass);
	n = count_pages(&s, &zero);
	CHECK_EQ(n, RAM / 4096);
	CHECK_EQ(zero, RAM / 4096 - 1);
	free(s.buf);

	/* Nothing dirtied: an empty pass. */
	CHECK_EQ(mig_ram_harvest(r, &n), 0);
	CHECK_EQ(n, 0);

	/* A vCPU wrote page 7 (KVM's log); a device page 600 (ours). */
	fake_kvm_log[0] = 1UL << 7;
	guest_mem_mark_dirty(&vm.vm.mem, SZ_4G + 88 * 4096, 1);
	CHECK_EQ(mig_ram_harvest(r, &n), 0);
	CHECK_EQ(n, 2);
	capture(&s, &vm, fill_pass);
	CHECK_EQ(count_pages(&s, &zero), 2);
	free(s.buf);
	fake_kvm_log[0] = 0;
	CHECK_EQ(mig_ram_harvest(r, &n), 0);
	CHECK_EQ(n, 0);
	mig_ram_fini(r);
	fake_vm_fini(&vm);
}

/* The image of a file: holes for zero pages, mapped back lazily. */
static void test_image(void)
{
	struct fake_vm src, dst;
	struct mig_chan c;
	char why[MIG_WHY_MAX];
	u8 payload[16];
	int fd = memfd_create("image", 0);
	u8 *a, *b;

	fake_vm_init(&src, RAM, "");
	fake_vm_init(&dst, RAM, "");
	a = src.vm.mem.base;
	b = dst.vm.mem.base;
	a[0x1234] = 0x42;
	a[RAM - 1] = 0x43;
	mig_chan_init(&c, fd);
	CHECK_EQ(mig_write(&c, "x", 1), 0);	/* misalign it on purpose */
	CHECK_EQ(mig_ram_write_image(&src.vm, &c), 0);
	CHECK_EQ(c.sent % 4096, 0);
	/* Read it back as a restore would: section, then map. */
	mig_chan_init(&c, fd);
	lseek(fd, 1 + MIG_SECTION_HDR_SIZE, SEEK_SET);
	CHECK_EQ(pread(fd, payload, 16, 1 + MIG_SECTION_HDR_SIZE), 16);
	c.received = 1 + MIG_SECTION_HDR_SIZE + 16;
	CHECK_EQ(mig_ram_load_image(&dst.vm, &c, payload, 16, why,
				    sizeof(why)), 0);
	CHECK_EQ(b[0x1234], 0x42);
	CHECK_EQ(b[RAM - 1], 0x43);
	CHECK_EQ(b[0x1235], 0);
	/* A file too short for its image is refused, not a SIGBUS later. */
	CHECK_EQ(ftruncate(fd, RAM / 2), 0);
	c.received = 1 + MIG_SECTION_HDR_SIZE + 16;
	CHECK(mig_ram_load_image(&dst.vm, &c, payload, 16, why,
				 sizeof(why)) < 0);
	CHECK(strstr(why, "ends inside it"));
	close(fd);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

static void test_uri(void)
{
	struct mig_uri u;
	char why[MIG_WHY_MAX];

	CHECK_EQ(mig_uri_parse("tcp:10.0.0.1:4444", &u, why, sizeof(why)), 0);
	CHECK(!strcmp(u.host, "10.0.0.1") && !strcmp(u.port, "4444"));
	CHECK(mig_uri_live(&u));
	CHECK_EQ(mig_uri_parse("tcp:[::1]:80", &u, why, sizeof(why)), 0);
	CHECK(!strcmp(u.host, "::1"));
	CHECK_EQ(mig_uri_parse("tcp::80", &u, why, sizeof(why)), 0);
	CHECK(!u.host[0]);
	CHECK_EQ(mig_uri_parse("file:/tmp/x", &u, why, sizeof(why)), 0);
	CHECK(!mig_uri_live(&u));
	CHECK_EQ(mig_uri_parse("exec:gzip -c > f", &u, why, sizeof(why)), 0);
	CHECK(!strcmp(u.path, "gzip -c > f"));
	CHECK_EQ(mig_uri_parse("tcp:host", &u, why, sizeof(why)), -EINVAL);
	CHECK_EQ(mig_uri_parse("tcp:host:port", &u, why, sizeof(why)), -EINVAL);
	CHECK_EQ(mig_uri_parse("ftp:x", &u, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "not a migration URI"));
	CHECK_EQ(mig_uri_parse("file:", &u, why, sizeof(why)), -EINVAL);
}

/* Shared storage may be mounted elsewhere: a path alone may differ. */
static void test_header_path(void)
{
	struct fake_vm src, dst;
	struct stream s;
	char why[MIG_WHY_MAX];

	fake_vm_init(&src, RAM, "type=blk size=64MiB ro=no path=/a/x.img");
	fake_vm_init(&dst, RAM, "type=blk size=64MiB ro=no");
	capture(&s, &src, fill_good);
	CHECK_EQ(load(&dst, &s, s.len, why), 0);
	free(s.buf);
	fake_vm_fini(&src);
	fake_vm_fini(&dst);
}

UNIT_MAIN("migrate", UNIT_TEST(test_header_path), UNIT_TEST(test_good_stream),
	  UNIT_TEST(test_header_mismatch), UNIT_TEST(test_header_vcpus),
	  UNIT_TEST(test_truncated), UNIT_TEST(test_flipped),
	  UNIT_TEST(test_bad_pages), UNIT_TEST(test_out_of_order),
	  UNIT_TEST(test_sync),
	  UNIT_TEST(test_device_refuses), UNIT_TEST(test_ram_passes),
	  UNIT_TEST(test_image), UNIT_TEST(test_uri))
