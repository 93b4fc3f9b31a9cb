/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's fate: how a VM ended.  It is decided once, by whoever sees
 * the end first (a vCPU at a power-off port, the console at a panic, the
 * control thread at `lkvm stop`, the main thread at a signal), and every
 * thread then leaves.  kvm/ only names the fate; what exit status each one
 * becomes is the command line's business (builtin-cmds/run.c).
 */
#ifndef LKVM_FATE_H
#define LKVM_FATE_H

#include <stdbool.h>

struct vm;

enum vm_fate {
	VM_FATE_NONE = 0,	/* still running */
	VM_FATE_POWEROFF,	/* ACPI S5, PSCI SYSTEM_OFF */
	VM_FATE_REBOOT,		/* a reset port, or an announced triple fault */
	VM_FATE_PANIC,		/* the console or pvpanic saw a kernel panic */
	VM_FATE_CRASH,		/* a triple fault nobody asked for */
	VM_FATE_TIMEOUT,	/* --timeout */
	VM_FATE_INTERNAL_ERROR, /* KVM could not run the guest */
	VM_FATE_HOST_ERROR,	/* lkvm itself failed while running it */
	VM_FATE_STOPPED,	/* lkvm stop, Ctrl-A x */
	VM_FATE_SIGNAL,		/* a signal told lkvm to end */
	VM_FATE_MIGRATED,	/* the guest runs elsewhere now, or was saved */
};

/*
 * Decide the fate, if nobody has yet, and get every thread out: vCPUs are
 * kicked out of KVM_RUN, parked ones are woken, and the thread waiting in
 * vm_wait_fate() is woken.  The message says what happened, for the user.
 *
 * A kernel that announced a panic turns a later power-off, reboot, crash or
 * stop into VM_FATE_PANIC: with panic=N it reboots itself, and the reason
 * was the panic.
 */
void vm_set_fate(struct vm *vm, enum vm_fate fate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* VM_FATE_SIGNAL for signal @sig. */
void vm_set_fate_signal(struct vm *vm, int sig);

/* The fate so far (VM_FATE_NONE while running); @sig and @msg may be NULL. */
enum vm_fate vm_get_fate(struct vm *vm, int *sig, const char **msg);
bool vm_exiting(struct vm *vm);
const char *vm_fate_name(enum vm_fate fate);

/*
 * What the guest said before it ended, from whoever heard it (the console
 * watches printk lines): "Kernel panic - not syncing" and "reboot:
 * Restarting system".  A triple fault after the latter is how
 * reboot=triple ends; without it, a triple fault is a crash.
 */
void vm_note_panic(struct vm *vm);
void vm_note_reboot(struct vm *vm);
bool vm_reboot_announced(struct vm *vm);

#endif
