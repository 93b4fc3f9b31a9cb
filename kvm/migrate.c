// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration, the source's side: pre-copy, as QEMU, KVM and Xen do it.
 *
 * The problem.  A guest's state is mostly its RAM (hundreds of MiB) plus a
 * few KiB of registers and device state.  Stopping the guest, sending it
 * all and starting it elsewhere works, but the guest is gone for as long
 * as the RAM takes to send: seconds.  Pre-copy sends the RAM while the
 * guest keeps running, and then only what the guest changed meanwhile:
 *
 *   1. Setup.  Connect, and send a header: RAM size and layout, vCPUs,
 *      devices with their options, the CPU model.  The destination checks
 *      it against its own configuration and says yes, or why not.
 *
 *   2. Log.  Ask KVM to log which pages vCPUs write (and log what lkvm's
 *      devices write ourselves, kvm/mem.h).  From now on every page the
 *      guest changes is marked.  To begin with, all pages count as dirty.
 *
 *   3. Iterate.  Send the dirty pages, and reset their marks just before
 *      (kvm/migrate-ram.c).  While a pass runs, the guest dirties more:
 *      those go in the next pass.  A pass ends when the destination says
 *      it has loaded it (SYNC): until then its tail may still sit in
 *      socket buffers, MiBs of it over tcp, to be sent in the downtime.
 *      Each pass measures two rates: how fast the link carries pages
 *      (bandwidth), and how fast the guest dirties them.  After a pass,
 *      what is left to send divided by the bandwidth is the downtime we
 *      would have if we stopped now.  When that fits the limit
 *      (--downtime, 300 ms by default), stop iterating, unless the pass
 *      halved what was left: then one more is cheap and shortens the
 *      pause (an idle guest stops with a few pages to send, not with all
 *      it wrote during the first, long pass).  An idle guest also dirties
 *      in bursts (a timer, a fork): a pass that did not halve what was
 *      left may have met one, so such passes are tried again, each after
 *      a quiet moment of the guest's, for up to STALL_MS in all.
 *
 *      It converges when the guest dirties pages slower than the link
 *      carries them: each pass is shorter than the one before.  A guest
 *      that dirties faster never fits.  QEMU then throttles the vCPUs, and
 *      so do we (our choice, as the issue allows): from pass
 *      THROTTLE_FROM on, a throttle thread holds the vCPUs paused for a
 *      growing share of every 100 ms (30%, 50%, 70%, 90%), which slows the
 *      dirtying down until a pass fits.  After MAX_PASSES we give up and
 *      say why; the guest has kept running all along.
 *
 *   4. Stop and copy.  Park every vCPU (after its port or MMIO access has
 *      completed, kvm/vcpu.c) and close the gate of kvm/mem.h, which
 *      waits for a virtio request in flight and keeps the I/O thread out
 *      of guest memory from then on.  Send the last dirty pages, then the
 *      rest of the state: the vCPUs, the irqchip and clock, every device
 *      (virtio-blk flushes its disk, fdatasync, as it saves, unless
 *      nothing was written since the last flush; it flushed once more
 *      just before the pause, so this one rarely has work).  This is
 *      the downtime: the guest runs nowhere.  So only what must be is
 *      done in it: the last pass reads the dirty log but re-protects
 *      nothing, and all of it is gathered into as few writes as can be.
 *      --status says where it went, phase by phase.
 *
 *   5. Hand over.  Let go of what the destination takes (the disk image
 *      locks), send END, and wait.  The destination loads, takes the
 *      locks, starts the guest, and then confirms.  Only then is the
 *      guest there, and only then does this lkvm end, with status 0 and
 *      the fate "migrated".
 *
 *   6. Failure, at any point before the confirmation: a network error, a
 *      destination that dies or refuses, a cancel, the guest ending.  The
 *      guest was never lost: it is still here, every page and register
 *      intact.  Dirty logging stops, the disk locks come back, the gate
 *      opens and the vCPUs run on, and `lkvm migrate --status` says why.
 *      One case stays ambiguous: after END, a destination that goes
 *      silent may have started the guest.  Running it here as well would
 *      have two guests write one disk, so the guest stays paused here
 *      until the user decides: `lkvm migrate --cancel` (or
 *      --resume-source) runs it here, `lkvm stop` ends it.
 *
 * A save (file:, exec:) is the same without the iterations: pause, write
 * everything once, and then end (the default), stay paused, or run on.
 *
 * Threads: the migration runs on its own thread, started by the control
 * request MIGRATE; the control thread only reads its progress (STATUS) and
 * sets its cancel flag (CANCEL).  m->lock guards the progress.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/log.h"
#include "kvm/migrate-priv.h"
#include "kvm/migrate-ram.h"
#include "kvm/migrate.h"
#include "kvm/vm-control.h"
#include "kvm/vm.h"

#define THROTTLE_FROM 6		/* the pass from which the vCPUs are slowed */
#define MAX_PASSES 30
/* So few pages left that another pass would not shorten the pause. */
#define FEW_PAGES 16
/*
 * How long passes that fit but did not halve what was left are tried
 * again before stopping anyway (ms, all such passes together).  An idle
 * guest dirties in bursts (a timer's work, a fork and exec), and a pass
 * that met one is often followed by one that meets none; but a burst
 * can outlast several short passes, so a count of tries would often
 * stop inside it, with the burst's pages to send in the pause.  A guest
 * that dirties all the time spends this in a few long passes, but never
 * in fewer than STALL_MIN: one long pass that met a burst is no reason to
 * stop with all it found.
 */
#define STALL_MS 150
#define STALL_MIN 3	/* and at least this many of them */
/*
 * After such a pass, the next one waits (up to QUIET_MAX_MS) for a quiet
 * moment: two reads of the dirty log QUIET_POLL_MS apart that find at
 * most QUIET_PAGES new pages.  A pass begun in the middle of a burst
 * ends in it too; one begun after it usually leaves almost nothing.
 * The wait counts against STALL_MS: a guest that is never quiet still
 * stops after STALL_MIN such passes, each begun up to QUIET_MAX_MS later.
 */
#define QUIET_POLL_MS 2
#define QUIET_MAX_MS 50
#define QUIET_PAGES 4
#define THROTTLE_PERIOD_MS 100
/* A destination that takes no byte for this long has gone away. */
#define IDLE_TIMEOUT_MS 30000
/* How long a finished migration waits for its client to see the end. */
#define FINAL_WAIT_MS 2000

enum mig_state {
	MS_NONE,
	MS_SETUP,	/* connecting, header */
	MS_PRECOPY,	/* passes over RAM, the guest running */
	MS_STOPCOPY,	/* the guest paused: last pages, state, hand-over */
	MS_DONE,
	MS_FAILED,
	MS_CANCELLED,
	MS_UNCERTAIN,	/* step 6's ambiguous case: paused here */
};

static const char *const state_names[] = {
	[MS_NONE] = "none",		[MS_SETUP] = "setup",
	[MS_PRECOPY] = "active",	[MS_STOPCOPY] = "completing",
	[MS_DONE] = "completed",	[MS_FAILED] = "failed",
	[MS_CANCELLED] = "cancelled",	[MS_UNCERTAIN] = "uncertain",
};

/*
 * Where step 4's downtime goes, phase by phase (ns), for --status: the
 * guest runs nowhere from the pause to the destination's word.
 */
struct downtime {
	u64 pause;		/* vCPUs parked, the device gate shut */
	u64 pass;		/* the last dirty log, and its pages sent */
	u64 pages;		/* how many pages that was */
	u64 cpus;		/* machine, irqchip, clock, vCPUs */
	u64 devices;		/* every device (disks flushed) */
	u64 handover;		/* disk locks let go, END, all written */
	u64 reply;		/* until the destination said it runs it */
	char dest[160];		/* its own account, in that reply */
};

struct migration {
	struct vm *vm;
	struct migrate_params p;
	struct mig_uri uri;
	pthread_t thread;
	bool joinable;
	bool cancel;		/* atomic: CANCEL was asked */

	pthread_mutex_t lock;	/* the progress, below */
	pthread_cond_t cond;
	enum mig_state state;
	unsigned int pass;
	u64 transferred;	/* bytes on the wire */
	u64 remaining;		/* bytes of dirty pages */
	u64 dirty_rate;		/* bytes per second */
	u64 bandwidth;		/* bytes per second */
	u64 expected_ms;	/* the downtime if we stopped now */
	u64 t_start, total_ms, downtime_ms;
	unsigned int throttle;	/* percent of the time vCPUs are held */
	bool final_seen;	/* a client was told the final state */
	bool held;		/* MS_UNCERTAIN: we hold the vCPUs and gate */
	char error[MIG_WHY_MAX];

	pthread_t throttler;
	bool throttling;
	u64 dirty_max;		/* the highest dirty_rate of a pass */
	struct downtime dt;	/* where the downtime went */
};

static u64 ms_since(u64 t0)
{
	return (mig_now_ns() - t0) / 1000000;
}

static bool aborted(void *arg)
{
	struct migration *m = arg;

	return __atomic_load_n(&m->cancel, __ATOMIC_RELAXED) ||
	       vm_exiting(m->vm);
}

static void set_state(struct migration *m, enum mig_state s)
{
	pthread_mutex_lock(&m->lock);
	m->state = s;
	pthread_mutex_unlock(&m->lock);
}

/* ---- step 3's throttle ---- */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Hold the vCPUs for throttle% of every period. */
static void *throttle_main(void *arg)
{
	struct migration *m = arg;
	unsigned int pct;

	while (__atomic_load_n(&m->throttling, __ATOMIC_ACQUIRE)) {
		pct = __atomic_load_n(&m->throttle, __ATOMIC_RELAXED);
		vm_pause_hold(m->vm);
		sleep_ms(THROTTLE_PERIOD_MS * pct / 100);
		vm_pause_release(m->vm);
		sleep_ms(THROTTLE_PERIOD_MS * (100 - pct) / 100);
	}
	return NULL;
}

static void throttle_up(struct migration *m)
{
	unsigned int pct = m->throttle ? MIN(m->throttle + 20, 90U) : 30;

	__atomic_store_n(&m->throttle, pct, __ATOMIC_RELAXED);
	if (m->throttling)
		return;
	__atomic_store_n(&m->throttling, true, __ATOMIC_RELEASE);
	if (pthread_create(&m->throttler, NULL, throttle_main, m))
		m->throttling = false;
}

static void throttle_off(struct migration *m)
{
	if (!m->throttling)
		return;
	__atomic_store_n(&m->throttling, false, __ATOMIC_RELEASE);
	pthread_join(m->throttler, NULL);
}

/* ---- steps 1 to 3: setup and the passes ---- */

/*
 * Wait for the destination's REPLY; its refusal becomes our why.
 * *answered: it did answer (yes or no), rather than go silent.  A peer
 * that closes says so; one whose first words are not a reply is not an
 * lkvm --incoming at all (a wrong port, another program's socket).
 */
static int await_reply(struct mig_chan *c, const char *when, char *why,
		       bool *answered, char *said, size_t said_len)
{
	char msg[MIG_WHY_MAX - 64];
	u64 before = c->received;
	int st, r;

	*answered = false;
	c->why[0] = 0;
	r = mig_read_reply(c, &st, msg, sizeof(msg));
	if (r == -EPROTO && c->received == before)
		snprintf(why, MIG_WHY_MAX, "%s: the destination closed the connection",
			 when);
	else if (r == -EPROTO && !before)
		snprintf(why, MIG_WHY_MAX, "%s: the peer is not an lkvm --incoming (%s)",
			 when, c->why);
	else if (r)
		snprintf(why, MIG_WHY_MAX, "%s: %s", when,
			 r == -EPROTO || r == -ENODATA ?
				 (c->why[0] ? c->why : "the connection closed") :
				 strerror(-r));
	if (r)
		return r;
	*answered = true;
	if (st)
		snprintf(why, MIG_WHY_MAX, "the destination refused: %s", msg);
	else if (said)
		snprintf(said, said_len, "%.*s", (int)said_len - 1, msg);
	return st;
}

static int setup(struct migration *m, struct mig_chan *c, char *why)
{
	char said[MIG_WHY_MAX];
	bool answered;
	int r;

	/* A moment's pause now spares the downtime these vCPU ioctls. */
	vm_pause_hold(m->vm);
	r = arch_mig_source_prepare(m->vm);
	vm_pause_release(m->vm);
	if (r) {
		snprintf(why, MIG_WHY_MAX, "preparing to save the vCPUs: %s",
			 strerror(-r));
		return r;
	}
	r = mig_write_preamble(c, MIG_F_LIVE);
	if (!r)
		r = mig_send_header(m->vm, c);
	if (r) {
		snprintf(why, MIG_WHY_MAX, "sending the header: %s", c->why);
		/*
		 * A peer that hung up may have said why first: a refusal, or
		 * words that show it is no lkvm --incoming at all.
		 */
		said[0] = 0;
		if (r == -EPIPE || r == -ECONNRESET) {
			await_reply(c, "waiting for the destination to accept",
				    said, &answered, NULL, 0);
			if (said[0] && (answered || c->received))
				memcpy(why, said, MIG_WHY_MAX);
		}
		return r;
	}
	return await_reply(c, "waiting for the destination to accept",
			   why, &answered, NULL, 0);
}

/*
 * Wait until the destination has loaded the pass: until then its tail
 * may sit in socket buffers (MiBs of them over tcp), and would be sent
 * inside the downtime, and the bandwidth would be the buffers' speed.
 */
static int sync_pass(struct mig_chan *c, unsigned int pass, char *why)
{
	char when[64];
	bool answered;
	int r;

	r = mig_write_section(c, MIG_SEC_SYNC, NULL, 0);
	if (r) {
		snprintf(why, MIG_WHY_MAX, "pass %u: %s", pass, c->why);
		return r;
	}
	snprintf(when, sizeof(when), "pass %u: waiting for the destination",
		 pass);
	return await_reply(c, when, why, &answered, NULL, 0);
}

/* After a pass of @dt_ns that put @bytes on the wire, @dirty pages left. */
static void account(struct migration *m, struct mig_chan *c, u64 dt_ns,
		    u64 bytes, u64 dirty)
{
	pthread_mutex_lock(&m->lock);
	/* A tiny pass measures latency, not bandwidth: keep the last. */
	if (bytes >= (1 << 20) || !m->bandwidth)
		m->bandwidth = bytes * 1000000000ULL / MAX(dt_ns, 1ULL);
	m->dirty_rate = dirty * MIG_PAGE_SIZE * 1000000000ULL /
			MAX(dt_ns, 1ULL);
	m->remaining = dirty * MIG_PAGE_SIZE;
	m->expected_ms = m->remaining * 1000 / MAX(m->bandwidth, 1ULL);
	m->transferred = c->sent;
	m->dirty_max = MAX(m->dirty_max, m->dirty_rate);
	pthread_mutex_unlock(&m->lock);
}

/*
 * Wait for a quiet moment of the guest's (QUIET_*): *dirty, the pages
 * pending, grows by what the guest dirties meanwhile.
 */
static int await_quiet(struct mig_ram *ram, u64 *dirty)
{
	u64 end = mig_now_ns() + QUIET_MAX_MS * 1000000ULL, was;
	int r;

	do {
		was = *dirty;
		usleep(QUIET_POLL_MS * 1000);
		r = mig_ram_harvest(ram, dirty);
		if (r)
			return r;
	} while (*dirty - was > QUIET_PAGES && mig_now_ns() < end);
	return 0;
}

/*
 * Step 3: pass after pass, until what is left fits the downtime.  Once it
 * fits, go on while each pass still halves what is left: such a pass is
 * short, and the guest's pause is only what the last one leaves (an idle
 * guest's few pages rather than all it wrote during the first, long one).
 * A pass that fits without halving may have met a burst: those are
 * tried again, each after a quiet moment, for up to STALL_MS (and at
 * least STALL_MIN of them) before we stop with what is left.
 */
static int iterate(struct migration *m, struct mig_ram *ram,
		   struct mig_chan *c, char *why)
{
	u64 t0, dt, sent0, dirty, before = ram->nr_pages, stalled = 0;
	unsigned int pass, stalls = 0;
	bool fits, stall;
	int r;

	for (pass = 1;; pass++) {
		pthread_mutex_lock(&m->lock);
		m->state = MS_PRECOPY;
		m->pass = pass;
		pthread_mutex_unlock(&m->lock);

		t0 = mig_now_ns();
		sent0 = c->sent;
		r = mig_ram_send(ram, c);
		if (r) {
			snprintf(why, MIG_WHY_MAX, "pass %u: sending RAM: %s",
				 pass, c->why);
			return r;
		}
		r = sync_pass(c, pass, why);
		if (r)
			return r;
		r = mig_ram_harvest(ram, &dirty);
		if (r) {
			snprintf(why, MIG_WHY_MAX, "reading the dirty log: %s",
				 strerror(-r));
			return r;
		}
		dt = mig_now_ns() - t0;
		account(m, c, dt, c->sent - sent0, dirty);

		fits = m->expected_ms <= m->p.downtime_ms;
		stall = fits && 2 * dirty > before;
		if (stall) {
			stalled += dt;
			stalls++;
		}
		if (fits && (dirty <= FEW_PAGES ||
			     (stalls >= STALL_MIN &&
			      stalled > STALL_MS * 1000000ULL) ||
			     pass >= MAX_PASSES))
			return 0;	/* it fits: stop and copy */
		if (pass >= MAX_PASSES) {
			snprintf(why, MIG_WHY_MAX,
				 "did not converge in %u passes: the guest dirties %llu MiB/s, the link carries %llu MiB/s (raise --downtime, or --speed)",
				 pass, (unsigned long long)(m->dirty_rate >> 20),
				 (unsigned long long)(m->bandwidth >> 20));
			return -ETIMEDOUT;
		}
		if (!fits && pass >= THROTTLE_FROM)
			throttle_up(m);
		if (stall) {
			t0 = mig_now_ns();
			r = await_quiet(ram, &dirty);
			if (r) {
				snprintf(why, MIG_WHY_MAX,
					 "reading the dirty log: %s",
					 strerror(-r));
				return r;
			}
			stalled += mig_now_ns() - t0;
		}
		before = dirty;
	}
}

/* ---- steps 4 to 6: stop, copy, hand over, or undo ---- */

/*
 * Step 6: the guest runs on here.  Disk locks first: if the destination
 * took them, it may be running the guest, and we must not.
 */
static int undo(struct migration *m, bool released, char *why)
{
	struct vm *vm = m->vm;
	char w[MIG_WHY_MAX];

	if (released && mig_handover(vm, DEV_HANDOVER_RECLAIM, w, sizeof(w))) {
		snprintf(why + strlen(why), MIG_WHY_MAX - strlen(why),
			 "; and %.200s, so the guest stays paused here", w);
		return -EBUSY;
	}
	guest_mem_release(&vm->mem);
	vm_kvmclock_ctrl(vm);
	vm_pause_release(vm);
	return 0;
}

/* The time since *t, and *t moved to now: one phase of the downtime. */
static u64 lap(u64 *t)
{
	u64 now = mig_now_ns(), d = now - *t;

	*t = now;
	return d;
}

/*
 * Just before the pause, the guest still running: what the pause would
 * otherwise wait for, such as the fdatasync of a disk nobody flushed (21
 * to 137 ms on a host).  A failure here fails the save again, in the
 * pause, where it is handled.
 */
static void prepare(struct vm *vm)
{
	char w[MIG_WHY_MAX];

	mig_handover(vm, DEV_HANDOVER_PREPARE, w, sizeof(w));
}

/* Steps 4 and 5, with the guest paused throughout. */
static int stop_and_copy(struct migration *m, struct mig_ram *ram,
			 struct mig_chan *c, char *why)
{
	struct vm *vm = m->vm;
	struct downtime dt = {};
	bool released = false, end_sent = false, answered = false;
	u64 t_stop, t, sent0, dirty = 0;
	int r;

	/* 4. Stop: no vCPU runs, no device writes guest memory. */
	throttle_off(m);
	set_state(m, MS_STOPCOPY);
	t = t_stop = mig_now_ns();
	vm_pause_hold(vm);
	guest_mem_hold(&vm->mem);
	dt.pause = lap(&t);

	/*
	 * The last dirty pages, then everything else, gathered into as few
	 * writes as can be; END goes out only after the disks are let go.
	 */
	mig_chan_buffer(c);
	ram->stopped = true;
	sent0 = ram->pages_sent + ram->pages_zero;
	r = vm_exiting(vm) ? -ECANCELED : mig_ram_harvest(ram, &dirty);
	if (!r && (r = mig_ram_send(ram, c)))
		snprintf(why, MIG_WHY_MAX, "sending the last pages: %s", c->why);
	dt.pages = ram->pages_sent + ram->pages_zero - sent0;
	dt.pass = lap(&t);
	if (!r && (r = mig_send_cpus(vm, c, why, MIG_WHY_MAX)) && !*why)
		snprintf(why, MIG_WHY_MAX, "sending the state: %s", c->why);
	dt.cpus = lap(&t);
	if (!r && (r = mig_send_devices(vm, c, why, MIG_WHY_MAX)) && !*why)
		snprintf(why, MIG_WHY_MAX, "sending the state: %s", c->why);
	dt.devices = lap(&t);

	/* 5. Hand over: the disks, END, and the destination's word. */
	if (!r && !(r = mig_handover(vm, DEV_HANDOVER_RELEASE, why,
				     MIG_WHY_MAX))) {
		released = true;
		r = mig_write_section(c, MIG_SEC_END, NULL, 0);
		if (!r)
			r = mig_chan_flush(c, true);
		if (r)
			snprintf(why, MIG_WHY_MAX, "sending the end: %s",
				 c->why);
		end_sent = !r;
	}
	mig_chan_flush(c, false);	/* after a failure: drop the rest */
	dt.handover = lap(&t);
	if (!r)
		r = await_reply(c, "waiting for the destination to run the guest",
				why, &answered, dt.dest, sizeof(dt.dest));
	dt.reply = lap(&t);
	if (!r) {
		pthread_mutex_lock(&m->lock);
		m->downtime_ms = ms_since(t_stop);
		m->dt = dt;
		m->transferred = c->sent;
		m->remaining = 0;
		pthread_mutex_unlock(&m->lock);
		/* The guest runs there now: nothing here touches it again. */
		guest_mem_shut(&vm->mem);
		return 0;
	}
	if (r == -ECANCELED && !*why)
		snprintf(why, MIG_WHY_MAX, "%s", vm_exiting(vm) ?
			 "the guest ended" : "cancelled");
	/*
	 * Without END the destination cannot run the guest; after it,
	 * silence may mean that it does: then stay paused.
	 */
	if (end_sent && !answered) {
		snprintf(why + strlen(why), MIG_WHY_MAX - strlen(why),
			 "; the destination may be running the guest, so it stays paused here ('lkvm migrate --cancel' runs it here)");
		return -EHOSTDOWN;
	}
	return undo(m, released, why) ? -EHOSTDOWN : r;
}

/* Steps 1 to 5 over a two-way channel. */
static int migrate_live(struct migration *m, struct mig_chan *c, char *why)
{
	struct mig_ram ram;
	int r;

	r = setup(m, c, why);
	if (r)
		return r;
	r = mig_ram_init(&ram, m->vm);
	if (!r)
		r = mig_ram_log_start(&ram);
	if (r) {
		snprintf(why, MIG_WHY_MAX, "cannot log dirty pages: %s",
			 strerror(-r));
		mig_ram_fini(&ram);
		return r;
	}
	r = iterate(m, &ram, c, why);
	throttle_off(m);
	if (!r) {
		prepare(m->vm);
		r = stop_and_copy(m, &ram, c, why);
	}
	mig_ram_fini(&ram);	/* dirty logging off */
	return r;
}

/* ---- a save: file:, exec: ---- */

static int write_save(struct migration *m, struct mig_chan *c,
		      struct mig_endpoint *e, char *why)
{
	struct vm *vm = m->vm;
	struct mig_ram ram;
	int r;

	r = mig_write_preamble(c, 0);
	if (!r)
		r = mig_send_header(vm, c);
	if (!r && e->uri.kind == MIG_URI_FILE) {
		r = mig_ram_write_image(vm, c);
	} else if (!r) {
		/* A pipe cannot skip holes: every page, zero ones as a flag. */
		r = mig_ram_init(&ram, vm);
		if (!r) {
			mig_ram_mark_all(&ram);
			r = mig_ram_send(&ram, c);
		}
		mig_ram_fini(&ram);
	}
	if (r && !*why)
		snprintf(why, MIG_WHY_MAX, "writing RAM: %s", c->why);
	if (!r && (r = mig_send_state(vm, c, why, MIG_WHY_MAX)) && !*why)
		snprintf(why, MIG_WHY_MAX, "writing the state: %s", c->why);
	if (!r && (r = mig_write_section(c, MIG_SEC_END, NULL, 0)))
		snprintf(why, MIG_WHY_MAX, "writing the end: %s", c->why);
	/* Commit: fdatasync and rename (file:), the command's status (exec:). */
	if (!r)
		r = mig_uri_finish(e, true, why, MIG_WHY_MAX);
	return r;
}

static int migrate_save(struct migration *m, struct mig_chan *c,
			struct mig_endpoint *e, char *why)
{
	struct vm *vm = m->vm;
	u64 t_stop;
	int r;

	prepare(vm);
	t_stop = mig_now_ns();
	set_state(m, MS_STOPCOPY);
	vm_pause_hold(vm);
	guest_mem_hold(&vm->mem);
	r = vm_exiting(vm) ? -ECANCELED : write_save(m, c, e, why);
	pthread_mutex_lock(&m->lock);
	m->downtime_ms = ms_since(t_stop);
	m->transferred = c->sent;
	pthread_mutex_unlock(&m->lock);
	if (!r && m->p.after == MIGRATE_AFTER_STOP) {
		guest_mem_shut(&vm->mem);
		/*
		 * It never runs here again: let go of its disks before the
		 * client hears "completed", or a restore started right
		 * after finds them still locked by this lkvm, which has
		 * yet to exit.
		 */
		if (mig_handover(vm, DEV_HANDOVER_RELEASE, why, MIG_WHY_MAX))
			pr_warn("after the save: %s", why);
		return 0;
	}
	guest_mem_release(&vm->mem);
	/* The user's pause takes over ours: the vCPUs never run between. */
	if (!r && m->p.after == MIGRATE_AFTER_PAUSED)
		vm_pause(vm);
	else
		vm_kvmclock_ctrl(vm);
	vm_pause_release(vm);
	return r;
}

/* ---- the thread ---- */

static void finish(struct migration *m, int r, const char *why)
{
	pthread_mutex_lock(&m->lock);
	m->total_ms = ms_since(m->t_start);
	if (!r)
		m->state = MS_DONE;
	else if (r == -EHOSTDOWN)
		m->state = MS_UNCERTAIN;
	else if (__atomic_load_n(&m->cancel, __ATOMIC_RELAXED))
		m->state = MS_CANCELLED;
	else
		m->state = MS_FAILED;
	m->held = r == -EHOSTDOWN;
	snprintf(m->error, sizeof(m->error), "%s", r ? why : "");
	m->final_seen = m->p.detach;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (r && r != -ECANCELED)
		pr_warn("migration to %s failed: %s", m->p.uri, why);
}

/*
 * The guest is elsewhere (or saved): end this lkvm, once the client that
 * waits in the foreground has seen it, so that it can say so.
 */
static void end_vm(struct migration *m)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += FINAL_WAIT_MS / 1000;
	pthread_mutex_lock(&m->lock);
	while (!m->final_seen && !vm_exiting(m->vm) &&
	       pthread_cond_timedwait(&m->cond, &m->lock, &dl) == 0)
		;
	pthread_mutex_unlock(&m->lock);
	sleep_ms(100);	/* for the final reply to leave the socket */
	vm_set_fate(m->vm, VM_FATE_MIGRATED, "%s to %s in %llu ms (downtime %llu ms)",
		    mig_uri_live(&m->uri) ? "migrated" : "saved", m->p.uri,
		    (unsigned long long)m->total_ms,
		    (unsigned long long)m->downtime_ms);
}

static void *migration_main(void *arg)
{
	struct migration *m = arg;
	struct mig_endpoint e = { .uri = m->uri, .fd = -1 };
	char why[MIG_WHY_MAX] = "";
	struct mig_chan c;
	int r;

	r = mig_uri_connect(&e, aborted, m, why, sizeof(why));
	if (!r) {
		mig_chan_init(&c, e.fd);
		c.abort = aborted;
		c.abort_arg = m;
		c.idle_timeout_ms = IDLE_TIMEOUT_MS;
		c.speed = m->p.speed;
		set_state(m, MS_SETUP);
		r = mig_uri_live(&m->uri) ? migrate_live(m, &c, why) :
					    migrate_save(m, &c, &e, why);
		if (r == -ECANCELED)
			snprintf(why, sizeof(why), "%s", vm_exiting(m->vm) ?
				 "the guest ended" : "cancelled");
		mig_uri_finish(&e, false, why + strlen(why), 0);
	}
	finish(m, r, why);
	if (!r && (mig_uri_live(&m->uri) || m->p.after == MIGRATE_AFTER_STOP))
		end_vm(m);
	return NULL;
}

/* ---- control requests ---- */

static bool active(const struct migration *m)
{
	return m->state == MS_SETUP || m->state == MS_PRECOPY ||
	       m->state == MS_STOPCOPY;
}

static int h_migrate(void *opaque, const struct control_req *q,
		     struct control_reply *rep)
{
	struct vm *vm = opaque;
	struct migration *m = vm->migration;
	char why[MIG_WHY_MAX] = "";
	struct mig_uri uri;
	int r;

	pthread_mutex_lock(&m->lock);
	r = active(m) || m->state == MS_UNCERTAIN ? -EBUSY : 0;
	pthread_mutex_unlock(&m->lock);
	if (r)
		return control_reply_printf(rep, "a migration is in progress"), r;
	if (migrate_incoming_loading(vm))
		return control_reply_printf(rep, "this VM is still coming in"),
		       -EBUSY;
	r = mig_uri_parse(q->uri, &uri, why, sizeof(why));
	if (!r)
		r = mig_check_devices(vm, why, sizeof(why));
	if (r)
		return control_reply_printf(rep, "%s", why), r;
	if (m->joinable)
		pthread_join(m->thread, NULL);
	m->joinable = false;

	pthread_mutex_lock(&m->lock);
	memset(&m->p, 0, sizeof(m->p));
	snprintf(m->p.uri, sizeof(m->p.uri), "%s", q->uri);
	m->p.speed = q->speed;
	m->p.downtime_ms = q->downtime_ms ? q->downtime_ms :
					    MIGRATE_DEFAULT_DOWNTIME_MS;
	m->p.detach = q->mflags & CONTROL_MIGRATE_DETACH;
	m->p.after = q->mflags & CONTROL_MIGRATE_PAUSED ? MIGRATE_AFTER_PAUSED :
		     q->mflags & CONTROL_MIGRATE_RESUME ? MIGRATE_AFTER_RESUME :
							  MIGRATE_AFTER_STOP;
	m->uri = uri;
	m->state = MS_SETUP;
	m->pass = m->throttle = 0;
	m->transferred = m->remaining = m->dirty_rate = m->bandwidth = 0;
	m->expected_ms = m->total_ms = m->downtime_ms = 0;
	m->dirty_max = 0;
	memset(&m->dt, 0, sizeof(m->dt));
	m->error[0] = 0;
	m->final_seen = false;
	m->t_start = mig_now_ns();
	__atomic_store_n(&m->cancel, false, __ATOMIC_RELAXED);
	r = -pthread_create(&m->thread, NULL, migration_main, m);
	m->joinable = !r;
	if (r)
		m->state = MS_FAILED;
	pthread_mutex_unlock(&m->lock);
	if (!r)
		control_reply_printf(rep, "migrating to %s", q->uri);
	return r;
}

#define MIB(x) ((unsigned long long)((x) >> 20))

/* Milliseconds with one decimal, from ns. */
#define MS1(ns) (unsigned long long)((ns) / 1000000), \
		(unsigned int)((ns) / 100000 % 10)

/* A live migration's end: where its downtime went. */
static void downtime_text(struct migration *m, struct control_reply *r)
{
	const struct downtime *d = &m->dt;

	control_reply_printf(r, "; the guest dirtied up to %llu MiB/s",
			     MIB(m->dirty_max));
	control_reply_printf(r, "; downtime: pause %llu.%u, last pass %llu.%u (%llu pages), vCPUs %llu.%u, devices %llu.%u, sent %llu.%u, until the destination ran it %llu.%u ms",
			     MS1(d->pause), MS1(d->pass),
			     (unsigned long long)d->pages, MS1(d->cpus),
			     MS1(d->devices), MS1(d->handover),
			     MS1(d->reply));
	if (d->dest[0])
		control_reply_printf(r, " (%s)", d->dest);
}

/* The first word is the state, for the client; then words for a human. */
static void status_text(struct migration *m, struct control_reply *r)
{
	control_reply_printf(r, "%s", state_names[m->state]);
	switch (m->state) {
	case MS_NONE:
		control_reply_printf(r, " no migration yet");
		break;
	case MS_SETUP:
		control_reply_printf(r, " to %s: connecting", m->p.uri);
		break;
	case MS_PRECOPY:
	case MS_STOPCOPY:
		control_reply_printf(r, " to %s: pass %u, %llu MiB sent, %llu MiB remaining, dirtied %llu MiB/s, bandwidth %llu MiB/s, expected downtime %llu ms",
				     m->p.uri, m->pass, MIB(m->transferred),
				     MIB(m->remaining), MIB(m->dirty_rate),
				     MIB(m->bandwidth),
				     (unsigned long long)m->expected_ms);
		if (m->throttle)
			control_reply_printf(r, ", vCPUs throttled %u%%",
					     m->throttle);
		break;
	case MS_DONE:
		control_reply_printf(r, " to %s in %llu ms, downtime %llu ms, %llu MiB sent in %u pass%s",
				     m->p.uri, (unsigned long long)m->total_ms,
				     (unsigned long long)m->downtime_ms,
				     MIB(m->transferred), m->pass ? m->pass : 1,
				     m->pass > 1 ? "es" : "");
		if (m->throttle)
			control_reply_printf(r, ", vCPUs throttled up to %u%%",
					     m->throttle);
		if (mig_uri_live(&m->uri))
			downtime_text(m, r);
		break;
	default:
		control_reply_printf(r, " to %s: %s", m->p.uri, m->error);
	}
}

static int h_status(void *opaque, const struct control_req *q,
		    struct control_reply *r)
{
	struct vm *vm = opaque;
	struct migration *m = vm->migration;

	pthread_mutex_lock(&m->lock);
	status_text(m, r);
	if (!active(m)) {
		m->final_seen = true;
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* Step 6's ambiguous case, decided by the user: run the guest here. */
static int take_back(struct migration *m, struct control_reply *r)
{
	char why[MIG_WHY_MAX] = "";

	if (mig_handover(m->vm, DEV_HANDOVER_RECLAIM, why, sizeof(why))) {
		control_reply_printf(r, "cannot run the guest here: %s", why);
		return -EBUSY;
	}
	guest_mem_release(&m->vm->mem);
	vm_kvmclock_ctrl(m->vm);
	vm_pause_release(m->vm);
	m->held = false;
	m->state = MS_CANCELLED;
	control_reply_printf(r, "the guest runs here again");
	return 0;
}

static int h_cancel(void *opaque, const struct control_req *q,
		    struct control_reply *r)
{
	struct vm *vm = opaque;
	struct migration *m = vm->migration;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (m->state == MS_UNCERTAIN && m->held) {
		ret = take_back(m, r);
	} else if (active(m)) {
		__atomic_store_n(&m->cancel, true, __ATOMIC_RELAXED);
		control_reply_printf(r, "cancelling");
	} else {
		control_reply_printf(r, "no migration in progress");
		ret = -EALREADY;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int migrate_register(struct vm *vm)
{
	struct migration *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->vm = vm;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	vm->migration = m;
	r = vm_control_register(vm, CONTROL_CMD_MIGRATE, h_migrate, vm);
	if (!r)
		r = vm_control_register(vm, CONTROL_CMD_MIGRATE_STATUS,
					h_status, vm);
	if (!r)
		r = vm_control_register(vm, CONTROL_CMD_MIGRATE_CANCEL,
					h_cancel, vm);
	return r;
}

void migrate_stop(struct vm *vm)
{
	struct migration *m = vm->migration;

	migrate_incoming_stop(vm);
	if (!m)
		return;
	__atomic_store_n(&m->cancel, true, __ATOMIC_RELAXED);
	if (m->joinable)
		pthread_join(m->thread, NULL);
	m->joinable = false;
	/* Ended while undecided: the disks may be the destination's. */
	if (m->held)
		guest_mem_shut(&vm->mem);
}

void migrate_free(struct vm *vm)
{
	struct migration *m = vm->migration;

	if (!m)
		return;
	migrate_stop(vm);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
	vm->migration = NULL;
}

int migrate_list_state(struct vm *vm)
{
	struct migration *m = vm->migration;
	int s = -1;

	if (migrate_incoming_loading(vm))
		return CONTROL_STATE_INCOMING;
	if (!m)
		return -1;
	pthread_mutex_lock(&m->lock);
	if (active(m) || m->state == MS_UNCERTAIN)
		s = CONTROL_STATE_MIGRATING;
	pthread_mutex_unlock(&m->lock);
	return s;
}
