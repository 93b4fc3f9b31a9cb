/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the files of `lkvm run`: run.c (options and the whole run),
 * run-devices.c (the device table) and run-wait.c (signals, the timeout,
 * and turning the guest's fate into an exit status).
 */
#ifndef LKVM_RUN_H
#define LKVM_RUN_H

#include <signal.h>

#include "kvm/device.h"
#include "kvm/fate.h"

struct vm;

/* The device table, in creation order (run-devices.c). */
extern const struct dev_module *const run_devices[];
extern const unsigned int run_nr_devices;

struct run_wait {
	unsigned int timeout_s;	/* 0: none */
	sigset_t set;		/* the signals main waits for */
	sigset_t old;		/* the mask to restore at the end */
};

/*
 * Block the signals the run waits for, in this thread, so that every thread
 * vm_run() creates inherits the mask; ignore SIGPIPE.
 */
void run_signals_block(struct run_wait *w);
/* Drop what arrived after the fate was sealed; restore the mask. */
void run_signals_restore(struct run_wait *w);
/* vm_run()'s wait: until the fate, ending the VM on signals and timeout. */
void run_wait(struct vm *vm, void *arg);
/* The same, once and without waiting (vm_config.poll, for --incoming). */
void run_poll(struct vm *vm, void *arg);
/* The exit status of a fate (README: "Exit status"). */
int run_fate_status(enum vm_fate fate, int sig);

#endif
