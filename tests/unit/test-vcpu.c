// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU run loop (kvm/vcpu.c) against a fake KVM_RUN: ioctl() is
 * wrapped at link time (test-vcpu.mk).  The fake guest executes one IN
 * after another; like KVM, it finishes an IN (stores the data, moves RIP
 * on) only when KVM_RUN is entered again, before it looks at
 * immediate_exit (api.rst, KVM_EXIT_IO).  A pause or an exit requested
 * while lkvm is handling an IN must not leave that IN half done.
 * No /dev/kvm needed.
 */
#include <errno.h>
#include <stdarg.h>
#include <time.h>

#include "kvm/vm.h"
#include "tests/unit/unit.h"

#define FAKE_PORT 0x3fd
#define FAKE_DATA 0x60

static struct vm vm;
static struct vcpu vcpu;
static bool exiting;
static char exit_msg[256];

/* The fake guest's state: written by the vCPU thread only. */
static struct {
	bool in_pending;	/* an IN exit not yet completed */
	u64 rip;		/* INs completed */
	u8 al;
} guest;

/* What lkvm does on the I/O exit number trigger_at (1-based). */
static enum { ON_IO_NOTHING, ON_IO_PAUSE, ON_IO_EXIT } on_io;
static unsigned int trigger_at;
static unsigned int io_calls;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct kvm_run *run = vcpu.run;
	u8 *data = (u8 *)run + run->io.data_offset;

	if (req != KVM_RUN) {
		errno = ENOTTY;
		return -1;
	}
	if (guest.in_pending) {
		guest.al = *data;
		guest.rip++;
		guest.in_pending = false;
	}
	if (__atomic_load_n(&run->immediate_exit, __ATOMIC_SEQ_CST)) {
		errno = EINTR;
		return -1;
	}
	/* The guest runs on to its next IN. */
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_IN;
	run->io.size = 1;
	run->io.port = FAKE_PORT;
	run->io.count = 1;
	run->io.data_offset = 1024;
	guest.in_pending = true;
	return 0;
}

/* ---- what vcpu.o needs from the rest of lkvm ---- */

bool io_bus_access(struct io_bus *bus, u64 addr, void *data,
		   unsigned int len, bool is_write)
{
	*(u8 *)data = FAKE_DATA;
	if (++io_calls != trigger_at)
		return true;
	/* A request that arrives while this exit is being handled. */
	if (on_io == ON_IO_PAUSE) {
		pthread_mutex_lock(&vm.pause_lock);
		__atomic_add_fetch(&vm.pause_holds, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&vm.pause_lock);
	} else if (on_io == ON_IO_EXIT) {
		__atomic_store_n(&exiting, true, __ATOMIC_RELEASE);
	}
	vcpu_kick(&vcpu);
	return true;
}

bool vm_exiting(struct vm *v)
{
	return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE);
}

bool vm_reboot_announced(struct vm *v)
{
	return false;
}

void vm_set_fate(struct vm *v, enum vm_fate fate, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(exit_msg, sizeof(exit_msg), fmt, ap);
	va_end(ap);
	__atomic_store_n(&exiting, true, __ATOMIC_RELEASE);
}

int __kvm_ioctl(int fd, unsigned long cmd, const char *name,
		unsigned long arg)
{
	return -ENOTTY;
}

int arch_vcpu_init(struct vcpu *v)
{
	return 0;
}

int arch_vcpu_handle_exit(struct vcpu *v)
{
	return -EINVAL;
}

void arch_vcpu_describe(struct vcpu *v, char *buf, size_t len)
{
	snprintf(buf, len, "(fake)");
}

/* ---- the tests ---- */

static void setup(int what, unsigned int at)
{
	static u8 run_page[4096] __attribute__((aligned(4096)));

	memset(&vm, 0, sizeof(vm));
	memset(&vcpu, 0, sizeof(vcpu));
	memset(&guest, 0, sizeof(guest));
	memset(run_page, 0, sizeof(run_page));
	pthread_mutex_init(&vm.pause_lock, NULL);
	pthread_cond_init(&vm.pause_cond, NULL);
	vm.vcpus = &vcpu;
	vm.nr_vcpus = 1;
	vcpu.vm = &vm;
	vcpu.fd = -1;
	vcpu.run = (struct kvm_run *)run_page;
	exiting = false;
	exit_msg[0] = 0;
	on_io = what;
	trigger_at = at;
	io_calls = 0;
}

/* Wait up to 5 s for the vCPU to park; false if it did not. */
static bool wait_parked(void)
{
	struct timespec deadline;
	bool parked;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&vm.pause_lock);
	while (vm.vcpus_parked < vm.vcpus_running &&
	       pthread_cond_timedwait(&vm.pause_cond, &vm.pause_lock,
				      &deadline) != ETIMEDOUT)
		;
	parked = vm.vcpus_parked == vm.vcpus_running;
	pthread_mutex_unlock(&vm.pause_lock);
	return parked;
}

static void end_vcpu(void)
{
	__atomic_store_n(&exiting, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vm.pause_lock);
	vm.pause_holds = 0;
	pthread_cond_broadcast(&vm.pause_cond);
	pthread_mutex_unlock(&vm.pause_lock);
	vcpu_kick(&vcpu);
	pthread_join(vcpu.thread, NULL);
}

/* Paused in the middle of an IN: parked only once the IN is complete. */
static void test_pause_completes_io(void)
{
	setup(ON_IO_PAUSE, 3);
	CHECK_EQ(vcpu_start(&vcpu), 0);
	CHECK(wait_parked());
	pthread_mutex_lock(&vm.pause_lock);
	CHECK(!guest.in_pending);
	CHECK_EQ(guest.rip, 3);
	CHECK_EQ(guest.al, FAKE_DATA);
	CHECK_EQ(io_calls, 3);	/* and the guest did not run on */
	pthread_mutex_unlock(&vm.pause_lock);
	end_vcpu();
	CHECK_EQ(exit_msg[0], 0);
}

/* Resumed, the guest carries on from where it was. */
static void test_resume_runs_on(void)
{
	setup(ON_IO_PAUSE, 2);
	CHECK_EQ(vcpu_start(&vcpu), 0);
	CHECK(wait_parked());
	pthread_mutex_lock(&vm.pause_lock);
	trigger_at = 10;	/* pause again at the 10th IN */
	vm.pause_holds = 0;
	pthread_cond_broadcast(&vm.pause_cond);
	pthread_mutex_unlock(&vm.pause_lock);
	/* Parked again once the 10th is handled... */
	while (__atomic_load_n(&vm.pause_holds, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	CHECK(wait_parked());
	pthread_mutex_lock(&vm.pause_lock);
	/* ...and done. */
	CHECK(!guest.in_pending);
	CHECK_EQ(guest.rip, 10);
	pthread_mutex_unlock(&vm.pause_lock);
	end_vcpu();
}

/* The VM ends (lkvm stop, a device) in the middle of an IN. */
static void test_exit_completes_io(void)
{
	setup(ON_IO_EXIT, 5);
	CHECK_EQ(vcpu_start(&vcpu), 0);
	pthread_join(vcpu.thread, NULL);
	CHECK(!guest.in_pending);
	CHECK_EQ(guest.rip, 5);
	CHECK_EQ(io_calls, 5);
	CHECK_EQ(exit_msg[0], 0);
	CHECK_EQ(vm.vcpus_running, 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_pause_completes_io),
	UNIT_TEST(test_resume_runs_on),
	UNIT_TEST(test_exit_completes_io),
};

int main(void)
{
	return unit_run("vcpu", tests, ARRAY_SIZE(tests));
}
