// SPDX-License-Identifier: GPL-2.0
/*
 * Migration, the destination's side: `lkvm run ... --incoming URI`.
 *
 * The VM is built from the same command line as the source's (same
 * memory, vCPUs and devices; disks opened without their lock), but no
 * kernel is loaded: the guest comes from the stream.  Before any vCPU
 * runs, the main thread reads the stream and trusts none of it:
 *
 *   HEADER      checked against this VM; on a two-way channel, answered
 *               with yes or the reason for no (the source then gives up
 *               and its guest runs on);
 *   RAM...      pages (pre-copy passes, as many as the source needs, each
 *               ended by a SYNC that we answer once it is loaded), or a
 *               file's image, mapped rather than read;
 *   MACHINE, ARCH_VM, VCPU x n, DEVICE x m: loaded in this order, which
 *               is the only one accepted;
 *   END         then the disk locks are taken (the source let go of them
 *               just before END); if that fails we say so and stop.
 *
 * vm_run() started the devices and the I/O thread before the stream
 * came (that is no work for the downtime; the thread is held until the
 * state is loaded); it then releases the I/O thread, tells a kvmclock
 * guest it was stopped, starts the vCPUs, and only then calls
 * migrate_incoming_done(), which confirms to the source: from that
 * moment the guest is here, and the source ends.  Only then do the
 * devices announce the move (DEV_HANDOVER_RESUMED: a kick for every
 * queue, the interrupt that may have been in flight, the NIC's
 * announcement, vsock's reset event), as they would for any running
 * guest: the guest need not wait for them, nor the source.
 *
 * Anything wrong in the stream (truncated, corrupt, out of order, values
 * KVM or a device refuses) ends this lkvm with one line saying what, and
 * never touches the source's guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/log.h"
#include "kvm/migrate-priv.h"
#include "kvm/migrate-ram.h"
#include "kvm/migrate.h"
#include "kvm/vm.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))

struct mig_incoming {
	struct vm *vm;
	struct mig_endpoint e;
	struct mig_chan c;
	bool reply;		/* a two-way channel: the source waits for us */
	bool loading;		/* for lkvm list: "incoming" */
	u64 t_open;		/* the stream opened */
	u64 t_state;		/* the first section after RAM came */
	u64 t_end;		/* END came: all loaded */
	u64 t_loaded;		/* and the disks are ours */
	/* The name, if the source (on this host) still had it. */
	char tmp_name[CONTROL_NAME_MAX + 1];
	pthread_t claimer;
	bool claiming;
	bool stop;
};

/* Where the loader is: what it accepts next. */
enum in_step { IN_HEADER, IN_RAM, IN_VCPUS, IN_DEVICES, IN_END, IN_DONE };

static bool in_aborted(void *arg)
{
	struct vm *vm = arg;

	if (vm->cfg.poll)
		vm->cfg.poll(vm, vm->cfg.poll_arg);
	return vm_exiting(vm);
}

/* The source will not wait on a refusal it cannot read; best effort. */
static void reply(struct mig_incoming *in, int status, const char *msg)
{
	if (in->reply)
		mig_write_reply(&in->c, status, msg);
}

static int expect(u32 id, u32 want, const char *what, char *why, size_t wlen)
{
	if (id == want)
		return 0;
	snprintf(why, wlen, "unexpected %s section (%s was expected)",
		 mig_section_name(id), what);
	return -EPROTO;
}

/*
 * One section, at step *step.  RAM sections may come any number of times
 * before MACHINE; everything else exactly once, in order.
 */
static int load_one(struct vm *vm, struct mig_chan *c, u32 id, const u8 *p,
		    u32 len, enum in_step *step, unsigned int *idx,
		    unsigned long *touched, char *why, size_t wlen)
{
	switch (*step) {
	case IN_RAM:
		if (id == MIG_SEC_RAM_PAGES)
			return mig_ram_load_pages(vm, p, len, touched, why,
						  wlen);
		if (id == MIG_SEC_RAM_IMAGE)
			return mig_ram_load_image(vm, c, p, len, why, wlen);
		if (expect(id, MIG_SEC_MACHINE, "RAM or the machine", why,
			   wlen) ||
		    mig_load_machine(vm, p, len, why, wlen))
			return -EPROTO;
		*step = IN_VCPUS;
		*idx = 0;
		return 0;
	case IN_VCPUS:
		if (*idx == 0) {
			if (expect(id, MIG_SEC_ARCH_VM, "the irqchip", why,
				   wlen))
				return -EPROTO;
			(*idx)++;
			return mig_load_arch(vm, p, len, why, wlen);
		}
		if (expect(id, MIG_SEC_VCPU, "a vCPU", why, wlen) ||
		    mig_load_vcpu(vm, *idx - 1, p, len, why, wlen))
			return -EPROTO;
		if (++*idx > vm->nr_vcpus) {
			*step = vm->nr_devices ? IN_DEVICES : IN_END;
			*idx = 0;
		}
		return 0;
	case IN_DEVICES:
		if (expect(id, MIG_SEC_DEVICE, "a device", why, wlen) ||
		    mig_load_device(vm, *idx, p, len, why, wlen))
			return -EPROTO;
		if (++*idx == vm->nr_devices)
			*step = IN_END;
		return 0;
	case IN_END:
		if (expect(id, MIG_SEC_END, "the end", why, wlen))
			return -EPROTO;
		if (len) {
			snprintf(why, wlen, "an end section with a payload");
			return -EPROTO;
		}
		*step = IN_DONE;
		return 0;
	default:
		snprintf(why, wlen, "unexpected %s section after the end",
			 mig_section_name(id));
		return -EPROTO;
	}
}

/*
 * Read and load a whole stream from @c into @vm.  Its header is answered
 * on a two-way channel (@in may be NULL: no replies).  Exposed to the
 * fuzz target through migrate_load_stream().
 */
static int load_stream(struct vm *vm, struct mig_incoming *in,
		       struct mig_chan *c, char *why, size_t wlen)
{
	enum in_step step = IN_HEADER;
	unsigned int idx = 0;
	unsigned long *touched;
	u8 *buf = NULL;
	size_t cap = 0;
	u32 flags, id, len;
	int r;

	touched = calloc(vm->mem.ram_size / MIG_PAGE_SIZE / BITS_PER_LONG + 1,
			 sizeof(long));
	if (!touched)
		return -ENOMEM;
	r = mig_read_preamble(c, &flags);
	if (r)
		snprintf(why, wlen, "%s", c->why);
	if (in)
		in->reply = !r && (flags & MIG_F_LIVE) &&
			    mig_uri_live(&in->e.uri);
	while (!r && step != IN_DONE) {
		r = mig_read_section(c, &id, &buf, &cap, &len);
		if (r) {
			snprintf(why, wlen, "%s", c->why);
			break;
		}
		if (step == IN_HEADER) {
			r = expect(id, MIG_SEC_HEADER, "the header", why, wlen);
			if (!r)
				r = mig_load_header(vm, buf, len, why, wlen);
			if (in)
				reply(in, r, r ? why : "");
			step = IN_RAM;
			continue;
		}
		/* A pass is loaded: say so (nothing to say to a file). */
		if (id == MIG_SEC_SYNC && step == IN_RAM && !len) {
			if (in)
				reply(in, 0, "");
			continue;
		}
		r = load_one(vm, c, id, buf, len, &step, &idx, touched, why,
			     wlen);
		if (in && !in->t_state && step != IN_RAM)
			in->t_state = mig_now_ns();
	}
	if (in)
		in->t_end = mig_now_ns();
	free(buf);
	free(touched);
	return r;
}

int migrate_load_stream(struct vm *vm, const void *data, size_t len,
			char *why, size_t wlen)
{
	struct mig_chan c;

	mig_chan_init_mem(&c, data, len);
	return load_stream(vm, NULL, &c, why, wlen);
}

int migrate_incoming(struct vm *vm)
{
	struct mig_incoming *in = vm->incoming;
	char why[MIG_WHY_MAX] = "";
	int r;

	r = mig_uri_parse(vm->cfg.incoming, &in->e.uri, why, sizeof(why));
	if (!r) {
		pr_info("incoming: waiting for the guest on %s",
			vm->cfg.incoming);
		r = mig_uri_accept(&in->e, in_aborted, vm, why, sizeof(why));
	}
	if (!r) {
		in->t_open = mig_now_ns();
		mig_chan_init(&in->c, in->e.fd);
		in->c.abort = in_aborted;
		in->c.abort_arg = vm;
		r = load_stream(vm, in, &in->c, why, sizeof(why));
	}
	/* The source let go of the disks before END: take them. */
	if (!r && (r = mig_handover(vm, DEV_HANDOVER_CLAIM, why, sizeof(why))))
		reply(in, r, why);
	else if (r && r != -ECANCELED && in->reply)
		reply(in, r, why);
	if (r) {
		if (vm_exiting(vm))
			pr_info("incoming: stopped while waiting");
		else
			pr_err("incoming %s: %s", vm->cfg.incoming, why);
		mig_uri_finish(&in->e, false, why, 0);
		in->loading = false;
		return r;
	}
	in->t_loaded = mig_now_ns();
	return 0;
}

/* ---- after the guest runs here ---- */

/*
 * The source on this host had our name; it gives it up when it ends.
 * Take it then, so that `lkvm stop -n NAME` finds the guest.
 */
static void *claim_name(void *arg)
{
	struct mig_incoming *in = arg;
	struct vm *vm = in->vm;
	unsigned int tries;
	int r;

	for (tries = 0; tries < 600 && !__atomic_load_n(&in->stop,
						       __ATOMIC_RELAXED);
	     tries++) {
		r = control_sock_reap(vm->cfg.name);
		if (r == -EADDRINUSE) {
			usleep(50 * 1000);
			continue;
		}
		control_stop(vm->control);
		if (!control_start(vm->control, vm->cfg.name))
			return NULL;
		control_start(vm->control, in->tmp_name);
		usleep(50 * 1000);
	}
	pr_warn("incoming: the name '%s' is still taken; this VM is '%s'",
		vm->cfg.name, in->tmp_name);
	return NULL;
}

int migrate_incoming_control(struct vm *vm)
{
	struct mig_incoming *in = calloc(1, sizeof(*in));
	int r;

	if (!in)
		return -ENOMEM;
	in->vm = vm;
	in->loading = true;
	in->e.fd = -1;
	vm->incoming = in;
	r = control_start(vm->control, vm->cfg.name);
	if (r != -EADDRINUSE)
		return r;
	snprintf(in->tmp_name, sizeof(in->tmp_name), "incoming-%d", getpid());
	pr_info("incoming: '%s' is running here: this VM is '%s' until it ends",
		vm->cfg.name, in->tmp_name);
	return control_start(vm->control, in->tmp_name);
}

/* ns as "ms.d": the destination's part of the downtime, for the source. */
static void ms1(char *buf, size_t len, u64 ns)
{
	snprintf(buf, len, "%llu.%u", (unsigned long long)(ns / 1000000),
		 (unsigned int)(ns / 100000 % 10));
}

void migrate_incoming_done(struct vm *vm)
{
	struct mig_incoming *in = vm->incoming;
	u64 now = mig_now_ns();
	char said[160], a[24], b[24], c[24], why[MIG_WHY_MAX];

	ms1(a, sizeof(a), in->t_end - in->t_state);
	ms1(b, sizeof(b), in->t_loaded - in->t_end);
	ms1(c, sizeof(c), now - in->t_loaded);
	snprintf(said, sizeof(said),
		 "there: state loaded %s, disks claimed %s, started %s ms", a,
		 b, c);
	if (in->reply && mig_write_reply(&in->c, 0, said))
		pr_warn("incoming: the guest runs here, but the source did not hear it: %s",
			in->c.why);
	mig_uri_finish(&in->e, true, (char[MIG_WHY_MAX]){ 0 }, MIG_WHY_MAX);
	in->loading = false;
	if (mig_handover(vm, DEV_HANDOVER_RESUMED, why, sizeof(why)))
		pr_warn("incoming: %s", why);
	pr_info("incoming: guest running, %llu ms after the stream opened (%llu ms to load; %llu MiB read, %llu MiB mapped)",
		(unsigned long long)((now - in->t_open) / 1000000),
		(unsigned long long)((in->t_loaded - in->t_open) / 1000000),
		(unsigned long long)((in->c.received - in->c.mapped) >> 20),
		(unsigned long long)(in->c.mapped >> 20));
	if (in->tmp_name[0]) {
		in->claiming = !pthread_create(&in->claimer, NULL, claim_name,
					       in);
	}
}

bool migrate_incoming_loading(struct vm *vm)
{
	return vm->incoming && vm->incoming->loading;
}

/* Before the control server stops: the name claimer uses it. */
void migrate_incoming_stop(struct vm *vm)
{
	struct mig_incoming *in = vm->incoming;

	if (!in)
		return;
	__atomic_store_n(&in->stop, true, __ATOMIC_RELAXED);
	if (in->claiming)
		pthread_join(in->claimer, NULL);
	in->claiming = false;
}

void migrate_incoming_free(struct vm *vm)
{
	struct mig_incoming *in = vm->incoming;

	if (!in)
		return;
	migrate_incoming_stop(vm);
	if (in->e.fd >= 0)
		mig_uri_finish(&in->e, false, (char[8]){ 0 }, 0);
	free(in);
	vm->incoming = NULL;
}
