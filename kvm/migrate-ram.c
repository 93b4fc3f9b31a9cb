// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM in a migration (kvm/migrate-ram.h): dirty logging with KVM,
 * pages on the wire, and the mappable RAM image of a saved file.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/migrate-ram.h"
#include "kvm/vm.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))
/* Reset KVM's log and send this many pages at a time (64 MiB). */
#define MIG_CHUNK_PAGES 16384ULL

static size_t bm_words(u64 bits)
{
	return (bits + BITS_PER_LONG - 1) / BITS_PER_LONG;
}

static bool bm_test(const unsigned long *bm, u64 i)
{
	return bm[i / BITS_PER_LONG] & (1UL << (i % BITS_PER_LONG));
}

static void bm_set(unsigned long *bm, u64 i)
{
	bm[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
}

static u64 bm_count(const unsigned long *bm, u64 bits)
{
	u64 n = 0;
	size_t i;

	for (i = 0; i < bm_words(bits); i++)
		n += __builtin_popcountl(bm[i]);
	return n;
}

/* The first page of region @i in the host mapping's numbering. */
static u64 region_first_page(const struct guest_mem *mem, unsigned int i)
{
	return guest_mem_page(mem, mem->region[i].hva);
}

int mig_ram_init(struct mig_ram *r, struct vm *vm)
{
	const struct guest_mem *mem = &vm->mem;
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->vm = vm;
	r->nr_pages = mem->ram_size / MIG_PAGE_SIZE;
	/* KVM's logs are merged a word at a time: regions start on one. */
	for (i = 0; i < mem->nr; i++)
		if (region_first_page(mem, i) % BITS_PER_LONG ||
		    mem->region[i].size % MIG_PAGE_SIZE)
			return -EINVAL;
	r->pending = calloc(bm_words(r->nr_pages) + 1, sizeof(long));
	r->slot_bm = calloc(bm_words(r->nr_pages) + 1, sizeof(long));
	if (!r->pending || !r->slot_bm) {
		mig_ram_fini(r);
		return -ENOMEM;
	}
	return 0;
}

void mig_ram_fini(struct mig_ram *r)
{
	if (r->logging)
		mig_ram_log_stop(r);
	free(r->pending);
	free(r->slot_bm);
	state_out_free(&r->sec);
	r->pending = r->slot_bm = NULL;
}

/* Turn KVM_MEM_LOG_DIRTY_PAGES on or off for every memory slot. */
static int set_slot_logging(struct vm *vm, bool on)
{
	struct kvm_userspace_memory_region reg;
	unsigned int i;
	int r;

	for (i = 0; i < vm->mem.nr; i++) {
		reg = (struct kvm_userspace_memory_region){
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = vm->mem.region[i].gpa,
			.memory_size = vm->mem.region[i].size,
			.userspace_addr = (unsigned long)vm->mem.region[i].hva,
		};
		r = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Manual protection, where KVM has it: reading the log no longer resets
 * it, we do, chunk by chunk.  INITIALLY_SET starts the log all dirty
 * instead of write-protecting every page at once (huge pages survive).
 */
static void manual_protect(struct mig_ram *r, bool on)
{
	struct vm *vm = r->vm;
	int caps = kvm_cap(vm->vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args[0] = on ? caps & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
					KVM_DIRTY_LOG_INITIALLY_SET) : 0,
	};

	if (!(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		return;
	r->manual = on && !kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
	if (!on)
		kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
}

void mig_ram_mark_all(struct mig_ram *r)
{
	u64 i;

	memset(r->pending, 0, bm_words(r->nr_pages) * sizeof(long));
	for (i = 0; i < r->nr_pages; i++)
		bm_set(r->pending, i);
}

int mig_ram_log_start(struct mig_ram *r)
{
	struct vm *vm = r->vm;
	int ret;

	manual_protect(r, true);
	ret = guest_mem_log_start(&vm->mem);
	if (!ret)
		ret = set_slot_logging(vm, true);
	if (ret) {
		guest_mem_log_stop(&vm->mem);
		set_slot_logging(vm, false);
		manual_protect(r, false);
		return ret;
	}
	r->logging = true;
	/* The first pass sends everything. */
	mig_ram_mark_all(r);
	return 0;
}

void mig_ram_log_stop(struct mig_ram *r)
{
	set_slot_logging(r->vm, false);
	guest_mem_log_stop(&r->vm->mem);
	if (r->manual)
		manual_protect(r, false);
	r->manual = false;
	r->logging = false;
}

int mig_ram_harvest(struct mig_ram *r, u64 *nr)
{
	struct guest_mem *mem = &r->vm->mem;
	struct kvm_dirty_log log;
	unsigned int i;
	size_t w, first;
	int ret;

	for (i = 0; i < mem->nr; i++) {
		log = (struct kvm_dirty_log){ .slot = i,
					      .dirty_bitmap = r->slot_bm };
		memset(r->slot_bm, 0, bm_words(r->nr_pages) * sizeof(long));
		ret = kvm_ioctl(r->vm->vm_fd, KVM_GET_DIRTY_LOG, &log);
		if (ret)
			return ret;
		first = region_first_page(mem, i) / BITS_PER_LONG;
		for (w = 0; w < bm_words(mem->region[i].size / MIG_PAGE_SIZE); w++)
			r->pending[first + w] |= r->slot_bm[w];
	}
	guest_mem_log_harvest(mem, r->pending);
	*nr = bm_count(r->pending, r->nr_pages);
	return 0;
}

/*
 * Reset KVM's log for the pending pages of slot @slot in [first, first +
 * n), which we are about to send: a vCPU writing one of them from now on
 * dirties it again.  Only with manual protection.
 */
static int clear_kvm_log(struct mig_ram *r, unsigned int slot, u64 first,
			 u64 n)
{
	u64 base = region_first_page(&r->vm->mem, slot);
	struct kvm_clear_dirty_log c = {
		.slot = slot,
		.num_pages = n,
		.first_page = first,
		.dirty_bitmap = &r->pending[(base + first) / BITS_PER_LONG],
	};

	return kvm_ioctl(r->vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c);
}

static bool page_is_zero(const void *p)
{
	const u64 *w = p;
	size_t i;

	for (i = 0; i < MIG_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static int flush_section(struct mig_ram *r, struct mig_chan *c)
{
	int ret;

	if (!r->sec_pages)
		return 0;
	ret = r->sec.err ? r->sec.err :
	      mig_write_section(c, MIG_SEC_RAM_PAGES, r->sec.buf, r->sec.len);
	r->sec.len = 0;
	r->sec_pages = 0;
	return ret;
}

static int send_page(struct mig_ram *r, struct mig_chan *c, u64 gpa,
		     const void *hva)
{
	bool zero = page_is_zero(hva);

	state_put_u64(&r->sec, gpa | (zero ? MIG_PAGE_ZERO : 0));
	if (!zero)
		state_put(&r->sec, hva, MIG_PAGE_SIZE);
	zero ? r->pages_zero++ : r->pages_sent++;
	if (++r->sec_pages == MIG_PAGES_PER_SECTION)
		return flush_section(r, c);
	return 0;
}

/* Send the pending pages of region @i, a chunk at a time. */
static int send_region(struct mig_ram *r, struct mig_chan *c, unsigned int i)
{
	const struct mem_region *reg = &r->vm->mem.region[i];
	u64 base = region_first_page(&r->vm->mem, i);
	u64 pages = reg->size / MIG_PAGE_SIZE, first, n, p;
	int ret;

	for (first = 0; first < pages; first += n) {
		n = MIN(MIG_CHUNK_PAGES, pages - first);
		if (r->manual && !r->stopped) {
			ret = clear_kvm_log(r, i, first, n);
			if (ret)
				return ret;
		}
		for (p = first; p < first + n; p++) {
			if (!bm_test(r->pending, base + p))
				continue;
			r->pending[(base + p) / BITS_PER_LONG] &=
				~(1UL << ((base + p) % BITS_PER_LONG));
			ret = send_page(r, c, reg->gpa + p * MIG_PAGE_SIZE,
					(u8 *)reg->hva + p * MIG_PAGE_SIZE);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int mig_ram_send(struct mig_ram *r, struct mig_chan *c)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < r->vm->mem.nr && !ret; i++)
		ret = send_region(r, c, i);
	return ret ? ret : flush_section(r, c);
}

/* ---- the image of a saved file ---- */

/* pwrite all of it, resuming after short writes. */
static int pwrite_all(int fd, const u8 *p, size_t len, u64 off)
{
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* Write the non-zero runs of RAM at @off; zero pages stay holes. */
static int write_runs(int fd, const u8 *ram, u64 size, u64 off)
{
	u64 p = 0, start;
	int ret;

	while (p < size) {
		if (page_is_zero(ram + p)) {
			p += MIG_PAGE_SIZE;
			continue;
		}
		for (start = p; p < size && !page_is_zero(ram + p);
		     p += MIG_PAGE_SIZE)
			;
		ret = pwrite_all(fd, ram + start, p - start, off + start);
		if (ret)
			return ret;
	}
	return 0;
}

int mig_ram_write_image(struct vm *vm, struct mig_chan *c)
{
	u64 size = vm->mem.ram_size, at, pad;
	struct state_out o = {};
	int ret;

	at = c->sent + MIG_SECTION_HDR_SIZE + 16;
	pad = ALIGN_UP(at, MIG_PAGE_SIZE) - at;
	state_put_u64(&o, size);
	state_put_u64(&o, pad);
	ret = o.err ? o.err : mig_write_section(c, MIG_SEC_RAM_IMAGE, o.buf,
						o.len);
	state_out_free(&o);
	if (ret)
		return ret;
	/* Holes read as zero: extend the file past the image, then fill. */
	ret = ftruncate(c->fd, c->sent + pad + size) ? -errno : 0;
	if (!ret)
		ret = write_runs(c->fd, vm->mem.base, size, c->sent + pad);
	if (!ret && lseek(c->fd, c->sent + pad + size, SEEK_SET) < 0)
		ret = -errno;
	if (ret) {
		snprintf(c->why, sizeof(c->why), "write: %s", strerror(-ret));
		return ret;
	}
	c->sent += pad + size;
	return 0;
}

/* ---- destination ---- */

int mig_ram_load_pages(struct vm *vm, const u8 *payload, u32 len,
		       unsigned long *touched, char *why, size_t why_len)
{
	struct state_in in;
	const void *data;
	u64 e, gpa;
	void *hva;

	state_in_init(&in, payload, len);
	while (!in.err && in.off < in.len) {
		e = state_get_u64(&in);
		gpa = e & ~(MIG_PAGE_SIZE - 1);
		if (e & (MIG_PAGE_SIZE - 1) & ~MIG_PAGE_FLAGS)
			state_fail(&in, "page 0x%llx: unknown flags",
				   (unsigned long long)gpa);
		hva = gpa_to_hva(&vm->mem, gpa, MIG_PAGE_SIZE);
		if (!hva)
			state_fail(&in, "page 0x%llx is not guest RAM here",
				   (unsigned long long)gpa);
		if (in.err)
			break;
		if (e & MIG_PAGE_ZERO) {
			/* Fresh memory is zero: only a page we wrote needs it. */
			if (bm_test(touched, guest_mem_page(&vm->mem, hva)))
				memset(hva, 0, MIG_PAGE_SIZE);
			continue;
		}
		data = state_get_ptr(&in, MIG_PAGE_SIZE);
		if (!data)
			break;
		memcpy(hva, data, MIG_PAGE_SIZE);
		bm_set(touched, guest_mem_page(&vm->mem, hva));
	}
	if (state_in_end(&in))
		snprintf(why, why_len, "RAM pages: %s", in.why);
	return in.err;
}

/*
 * Map the image over guest RAM: the file's pages become the guest's,
 * read on first touch, copied on first write (MAP_PRIVATE), so a restore
 * costs a few system calls whatever the RAM size.  The file must hold
 * the whole image: a page past its end would be a SIGBUS later.
 */
static int map_image(struct vm *vm, struct mig_chan *c, u64 off, u64 size)
{
	struct stat st;
	void *p;

	if (fstat(c->fd, &st) || !S_ISREG(st.st_mode))
		return -ENOTSUP;
	if ((u64)st.st_size < off + size)
		return -EPIPE;
	p = mmap(vm->mem.base, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, c->fd, off);
	if (p == MAP_FAILED)
		return -errno;
	if (lseek(c->fd, off + size, SEEK_SET) < 0)
		return -errno;
	c->received = off + size;
	c->mapped += size;
	return 0;
}

/* Not a file (exec:, a pipe): read the image into RAM. */
static int read_image(struct vm *vm, struct mig_chan *c, u64 size)
{
	u64 done;
	int ret;

	for (done = 0; done < size; done += MIN(size - done, 1ULL << 20)) {
		ret = mig_read(c, (u8 *)vm->mem.base + done,
			       MIN(size - done, 1ULL << 20));
		if (ret)
			return ret == -ENODATA ? -EPIPE : ret;
	}
	return 0;
}

int mig_ram_load_image(struct vm *vm, struct mig_chan *c, const u8 *payload,
		       u32 len, char *why, size_t why_len)
{
	struct state_in in;
	u64 size, pad;
	int ret;

	state_in_init(&in, payload, len);
	size = state_get_u64(&in);
	pad = state_get_u64(&in);
	if (!in.err && size != vm->mem.ram_size)
		state_fail(&in, "%llu bytes, %llu expected",
			   (unsigned long long)size,
			   (unsigned long long)vm->mem.ram_size);
	if (!in.err && ((c->received + pad) % MIG_PAGE_SIZE ||
			pad >= MIG_PAGE_SIZE))
		state_fail(&in, "not page-aligned in the stream");
	if (state_in_end(&in)) {
		snprintf(why, why_len, "RAM image: %s", in.why);
		return in.err;
	}
	ret = c->mem ? -ENOTSUP : map_image(vm, c, c->received + pad, size);
	if (ret == -ENOTSUP) {
		ret = mig_skip(c, pad);
		if (!ret)
			ret = read_image(vm, c, size);
	}
	if (ret)
		snprintf(why, why_len, "RAM image: %s",
			 ret == -EPIPE ? "the stream ends inside it" :
					 strerror(-ret));
	return ret;
}
