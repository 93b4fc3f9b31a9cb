// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's fate (kvm/fate.h): decided once, under vm->fate_lock, and
 * then every thread is told.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kvm/vm.h"

static const char *const fate_names[] = {
	[VM_FATE_NONE] = "running",
	[VM_FATE_POWEROFF] = "poweroff",
	[VM_FATE_REBOOT] = "reboot",
	[VM_FATE_PANIC] = "panic",
	[VM_FATE_CRASH] = "crash",
	[VM_FATE_TIMEOUT] = "timeout",
	[VM_FATE_INTERNAL_ERROR] = "internal-error",
	[VM_FATE_HOST_ERROR] = "host-error",
	[VM_FATE_STOPPED] = "stopped",
	[VM_FATE_SIGNAL] = "signal",
	[VM_FATE_MIGRATED] = "migrated",
};

const char *vm_fate_name(enum vm_fate fate)
{
	if ((unsigned int)fate < ARRAY_SIZE(fate_names))
		return fate_names[fate];
	return "?";
}

bool vm_exiting(struct vm *vm)
{
	return __atomic_load_n(&vm->exiting, __ATOMIC_ACQUIRE);
}

/* An end that a panic printed just before explains. */
static bool panic_explains(enum vm_fate fate)
{
	return fate == VM_FATE_POWEROFF || fate == VM_FATE_REBOOT ||
	       fate == VM_FATE_CRASH || fate == VM_FATE_STOPPED;
}

/* Every thread out: vCPUs from KVM_RUN, parked ones, and the waiter. */
static void wake_everyone(struct vm *vm)
{
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	pthread_kill(vm->main_thread, SIG_VM_WAKE);
}

static void set_fate(struct vm *vm, enum vm_fate fate, int sig,
		     const char *fmt, va_list ap)
{
	pthread_mutex_lock(&vm->fate_lock);
	if (vm->exiting) {
		pthread_mutex_unlock(&vm->fate_lock);
		return;
	}
	if (vm->panic_seen && panic_explains(fate)) {
		fate = VM_FATE_PANIC;
		snprintf(vm->fate_msg, sizeof(vm->fate_msg),
			 "guest kernel panicked");
	} else {
		vsnprintf(vm->fate_msg, sizeof(vm->fate_msg), fmt, ap);
	}
	vm->fate = fate;
	vm->fate_signal = sig;
	__atomic_store_n(&vm->exiting, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->fate_lock);
	wake_everyone(vm);
}

void vm_set_fate(struct vm *vm, enum vm_fate fate, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_fate(vm, fate, 0, fmt, ap);
	va_end(ap);
}

static void set_fate_v(struct vm *vm, enum vm_fate fate, int sig,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_fate(vm, fate, sig, fmt, ap);
	va_end(ap);
}

void vm_set_fate_signal(struct vm *vm, int sig)
{
	set_fate_v(vm, VM_FATE_SIGNAL, sig, "terminated by signal %d (%s)",
		   sig, strsignal(sig));
}

enum vm_fate vm_get_fate(struct vm *vm, int *sig, const char **msg)
{
	enum vm_fate f;

	pthread_mutex_lock(&vm->fate_lock);
	f = vm->exiting ? vm->fate : VM_FATE_NONE;
	if (sig)
		*sig = vm->fate_signal;
	if (msg)
		*msg = vm->fate_msg; /* stable once set: written only once */
	pthread_mutex_unlock(&vm->fate_lock);
	return f;
}

void vm_note_panic(struct vm *vm)
{
	pthread_mutex_lock(&vm->fate_lock);
	vm->panic_seen = true;
	pthread_mutex_unlock(&vm->fate_lock);
}

void vm_note_reboot(struct vm *vm)
{
	pthread_mutex_lock(&vm->fate_lock);
	vm->reboot_seen = true;
	pthread_mutex_unlock(&vm->fate_lock);
}

bool vm_reboot_announced(struct vm *vm)
{
	bool seen;

	pthread_mutex_lock(&vm->fate_lock);
	seen = vm->reboot_seen;
	pthread_mutex_unlock(&vm->fate_lock);
	return seen;
}
