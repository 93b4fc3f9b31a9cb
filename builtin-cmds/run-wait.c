// SPDX-License-Identifier: GPL-2.0
/*
 * What the main thread of `lkvm run` does while the guest runs: wait for
 * its fate, and meanwhile answer signals and the timeout.  Then turn the
 * fate into the exit status.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "builtin-cmds/cmds.h"
#include "builtin-cmds/run.h"
#include "kvm/vm.h"
#include "term/tty.h"

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

void run_signals_block(struct run_wait *w)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t block;
	unsigned int i;

	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&w->set);
	for (i = 0; i < ARRAY_SIZE(end_signals); i++)
		sigaddset(&w->set, end_signals[i]);
	sigaddset(&w->set, SIGTSTP);
	sigaddset(&w->set, SIGCONT);
	sigaddset(&w->set, SIG_VM_WAKE);
	/* Kicks are for vCPU threads, which unblock it for themselves. */
	block = w->set;
	sigaddset(&block, SIG_VCPU_KICK);
	pthread_sigmask(SIG_BLOCK, &block, &w->old);
}

void run_signals_restore(struct run_wait *w)
{
	/*
	 * A signal that came after the fate was sealed is answered by it:
	 * drop it here rather than let the default action kill us (SIGQUIT
	 * would even dump core) with the status of the signal.
	 */
	while (sigtimedwait(&w->set, NULL, &(struct timespec){ 0, 0 }) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &w->old, NULL);
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

static bool past(const struct timespec *deadline, struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > deadline->tv_sec ||
	    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
		return true;
	if (deadline->tv_sec - now.tv_sec < 1)
		*left = (struct timespec){
			0, (deadline->tv_nsec - now.tv_nsec + 1000000000L) %
				   1000000000L };
	return false;
}

/*
 * All process signals are blocked in every thread, so they arrive here,
 * synchronously: the end signals end the VM, SIGTSTP stops lkvm with the
 * terminal given back (SIGCONT takes it again), SIG_VM_WAKE says the fate
 * was set, and the timeout ends the VM too.
 */
void run_wait(struct vm *vm, void *arg)
{
	struct run_wait *w = arg;
	struct timespec deadline, left;
	int sig;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += w->timeout_s;

	while (!vm_exiting(vm)) {
		left = (struct timespec){ 1, 0 };
		if (w->timeout_s && past(&deadline, &left)) {
			vm_set_fate(vm, VM_FATE_TIMEOUT,
				    "timeout: guest still running after %u s",
				    w->timeout_s);
			break;
		}
		sig = sigtimedwait(&w->set, NULL, &left);
		if (sig == SIGTSTP)
			job_stop();
		else if (sig == SIGCONT)
			tty_resume();
		else if (is_end_signal(sig))
			vm_set_fate_signal(vm, sig);
	}
}

void run_poll(struct vm *vm, void *arg)
{
	struct run_wait *w = arg;
	int sig = sigtimedwait(&w->set, NULL, &(struct timespec){ 0, 0 });

	if (is_end_signal(sig))
		vm_set_fate_signal(vm, sig);
}

int run_fate_status(enum vm_fate fate, int sig)
{
	switch (fate) {
	case VM_FATE_POWEROFF:
	case VM_FATE_REBOOT:
	case VM_FATE_STOPPED:
	case VM_FATE_MIGRATED:
		return LKVM_EXIT_OK;
	case VM_FATE_PANIC:
		return LKVM_EXIT_PANIC;
	case VM_FATE_INTERNAL_ERROR:
		return LKVM_EXIT_KVM_ERROR;
	case VM_FATE_TIMEOUT:
		return LKVM_EXIT_TIMEOUT;
	case VM_FATE_CRASH:
		return LKVM_EXIT_CRASH;
	case VM_FATE_SIGNAL:
		return 128 + sig;
	case VM_FATE_HOST_ERROR:
	case VM_FATE_NONE:
		break;
	}
	return LKVM_EXIT_ERROR;
}
