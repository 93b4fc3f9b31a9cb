// SPDX-License-Identifier: GPL-2.0
/*
 * VM lifecycle: create the VM and its memory, start the threads, wait for
 * the guest's fate, and tear everything down in the reverse order.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/cmds.h"
#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/stats.h"
#include "kvm/vm.h"
#include "kvm/vm-control.h"
#include "term/console.h"
#include "term/tty.h"
#include "virtio/devices.h"

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	vm->cfg = *cfg;
	vm->main_thread = pthread_self();
	pthread_mutex_init(&vm->fate_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");

	r = kvm_open(&vm->kvm_fd);
	if (r)
		return r;

	r = kvm_ioctl_val(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (r < 0)
		goto err;
	vm->vm_fd = r;

	r = kvm_ioctl_val(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		goto err;
	vm->run_size = r;

	r = ioloop_init(&vm->loop);
	if (r)
		goto err;

	r = guest_mem_alloc(&vm->mem, cfg->ram_size);
	if (r)
		goto err;

	r = arch_vm_init(vm);
	if (r)
		goto err;
	return 0;

err:
	vm_destroy(vm);
	return r;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	virtio_devices_destroy(vm);
	/* After the devices: they take their events off the loop first. */
	ioloop_fini(&vm->loop);
	arch_vm_destroy(vm);
	guest_mem_free(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int vm_register_pio(struct vm *vm, struct io_range *r)
{
	return io_bus_register(&vm->pio, r);
}

int vm_register_mmio(struct vm *vm, struct io_range *r)
{
	return io_bus_register(&vm->mmio, r);
}

bool vm_exiting(struct vm *vm)
{
	return __atomic_load_n(&vm->exiting, __ATOMIC_ACQUIRE);
}

void vm_request_exit(struct vm *vm, int code, const char *fmt, ...)
{
	unsigned int i;
	va_list ap;

	pthread_mutex_lock(&vm->fate_lock);
	if (vm->exiting) {
		pthread_mutex_unlock(&vm->fate_lock);
		return;
	}
	/* A reset right after a console panic is the panic's doing. */
	if (code == LKVM_EXIT_OK && vm->panic_seen) {
		code = LKVM_EXIT_PANIC;
		fmt = "guest kernel panicked";
	}
	vm->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
	va_end(ap);
	__atomic_store_n(&vm->exiting, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->fate_lock);

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	/* Parked vCPUs and anyone waiting for them must see the end too. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	pthread_kill(vm->main_thread, SIG_VM_WAKE);
}

void vm_pause_hold(struct vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&vm->pause_lock);
	__atomic_add_fetch(&vm->pause_holds, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->pause_lock);

	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);

	pthread_mutex_lock(&vm->pause_lock);
	while (vm->vcpus_parked < vm->vcpus_running && !vm_exiting(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_pause_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_holds)
		__atomic_sub_fetch(&vm->pause_holds, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

/*
 * Tell a kvmclock guest it was stopped, so its watchdogs do not report
 * the pause as a soft lockup (KVM_KVMCLOCK_CTRL).  A guest without
 * kvmclock answers EINVAL, which is fine.
 */
static void kvmclock_ctrl(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		kvm_ioctl_val(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0);
}

int vm_pause(struct vm *vm)
{
	bool was;

	pthread_mutex_lock(&vm->pause_lock);
	was = vm->user_paused;
	vm->user_paused = true;
	pthread_mutex_unlock(&vm->pause_lock);
	if (was)
		return -EALREADY;
	vm_pause_hold(vm);
	kvmclock_ctrl(vm);
	return 0;
}

int vm_resume(struct vm *vm)
{
	bool was;

	pthread_mutex_lock(&vm->pause_lock);
	was = vm->user_paused;
	vm->user_paused = false;
	pthread_mutex_unlock(&vm->pause_lock);
	if (!was)
		return -EALREADY;
	vm_pause_release(vm);
	return 0;
}

bool vm_is_paused(struct vm *vm)
{
	bool p;

	pthread_mutex_lock(&vm->pause_lock);
	p = vm->user_paused;
	pthread_mutex_unlock(&vm->pause_lock);
	return p;
}

static int create_vcpus(struct vm *vm)
{
	unsigned int i;
	int r;

	vm->vcpus = calloc(vm->cfg.nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->cfg.nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->cfg.nr_vcpus; i++) {
		r = vcpu_create(vm, &vm->vcpus[i], i);
		vm->nr_vcpus = i + 1;
		if (r)
			return r;
	}
	return 0;
}

/*
 * Signals whose default action would kill lkvm on the spot, with the
 * terminal raw and the disks unflushed: each ends the VM cleanly instead,
 * with the status 128 + N that the shell would have shown.  (SIGPIPE is
 * ignored: stdout going away only drops the guest's output.)
 */
static const int end_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				   SIGALRM, SIGXCPU, SIGVTALRM, SIGPROF };

static bool is_end_signal(int sig)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(end_signals); i++)
		if (end_signals[i] == sig)
			return true;
	return false;
}

/*
 * SIGTSTP: give the terminal back and stop.  A SIGCONT already pending
 * means we were continued before we stopped (raising SIGSTOP would throw
 * it away and leave us stopped for good): then just carry on.
 */
static void job_stop(void)
{
	sigset_t pending, cont;
	struct timespec now = { 0, 0 };

	tty_suspend();
	sigpending(&pending);
	if (sigismember(&pending, SIGCONT)) {
		sigemptyset(&cont);
		sigaddset(&cont, SIGCONT);
		sigtimedwait(&cont, NULL, &now);
		tty_resume();
		return;
	}
	raise(SIGSTOP);
}

/*
 * Wait for the fate.  All process signals are blocked in every thread, so
 * they arrive here, synchronously: the end signals end the VM, SIGTSTP
 * stops lkvm with the terminal given back (SIGCONT takes it again),
 * SIG_VM_WAKE says vm_request_exit() ran, and the timeout ends the VM too.
 */
static void wait_for_fate(struct vm *vm, const sigset_t *set)
{
	struct timespec deadline, now, left;
	siginfo_t info;
	int sig;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += vm->cfg.timeout_s;

	while (!vm_exiting(vm)) {
		left = (struct timespec){ 1, 0 };
		if (vm->cfg.timeout_s) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec &&
			     now.tv_nsec >= deadline.tv_nsec)) {
				vm_request_exit(vm, LKVM_EXIT_TIMEOUT,
						"timeout: guest still running after %u s",
						vm->cfg.timeout_s);
				break;
			}
			if (deadline.tv_sec - now.tv_sec < 1)
				left = (struct timespec){
					0, (deadline.tv_nsec - now.tv_nsec +
					    1000000000L) % 1000000000L };
		}
		sig = sigtimedwait(set, &info, &left);
		if (sig == SIGTSTP) {
			job_stop();
		} else if (sig == SIGCONT) {
			tty_resume();
		} else if (is_end_signal(sig)) {
			vm_request_exit(vm, 128 + sig, "terminated by signal %d (%s)",
					sig, strsignal(sig));
		}
	}
}

static void wake_handler(int sig)
{
	/* A wake that arrives after main stopped waiting must not kill us. */
}

int vm_run(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = wake_handler };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set, old;
	unsigned int i;
	int r;

	sigaction(SIG_VM_WAKE, &sa, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	/* Block the signals main waits for before any thread is created. */
	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(end_signals); i++)
		sigaddset(&set, end_signals[i]);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGCONT);
	sigaddset(&set, SIG_VM_WAKE);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigdelset(&set, SIG_VCPU_KICK);

	r = arch_vm_setup_devices(vm);
	if (r)
		goto out;
	r = arch_vm_load_kernel(vm);
	if (r)
		goto out;
	r = create_vcpus(vm);
	if (r) {
		pr_err("cannot create vCPU %u: %s: %s", vm->nr_vcpus - 1,
		       kvm_ioctl_failed_name(), strerror(-r));
		r = LKVM_EXIT_ERROR;
		goto out_quiet;
	}

	r = vm_control_start(vm);
	if (r == -EADDRINUSE) {
		pr_err("a VM named '%s' is already running", vm->cfg.name);
		goto out;
	} else if (r) {
		/* A VM that lkvm list cannot see beats no VM at all. */
		pr_warn("no control socket for '%s' (%s): lkvm list, stop, "
			"pause and debug will not see this VM",
			vm->cfg.name, strerror(-r));
	}
	r = console_start(vm);
	if (r)
		goto out_control;
	r = ioloop_start(&vm->loop);
	if (r)
		goto out_console;
	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_start(&vm->vcpus[i]);
		if (r) {
			vm_request_exit(vm, LKVM_EXIT_ERROR,
					"cannot start vCPU thread: %s",
					strerror(-r));
			break;
		}
	}

	wait_for_fate(vm, &set);

	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	ioloop_stop(&vm->loop);
out_console:
	console_stop(vm);
out_control:
	vm_control_stop(vm);

	if (vm->exiting) {
		if (vm->exit_code == LKVM_EXIT_OK)
			pr_info("%s", vm->exit_msg);
		else
			pr_err("%s", vm->exit_msg);
		r = vm->exit_code;
	} else {
		r = LKVM_EXIT_ERROR;
	}
	if (vm->cfg.stats)
		stats_print(vm, stderr);
	goto out_quiet;

out:
	/* The step that failed has said why. */
	if (r < 0)
		r = LKVM_EXIT_ERROR;
out_quiet:
	/*
	 * A signal that came after the fate was sealed is answered by it:
	 * drop it here rather than let the default action kill us (SIGQUIT
	 * would even dump core) with the status of the signal.
	 */
	while (sigtimedwait(&set, NULL, &(struct timespec){ 0, 0 }) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
