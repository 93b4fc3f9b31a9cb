/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration: move a running guest to another lkvm (tcp:, unix:), or save
 * it to a file or a command (file:, exec:) and restore it later.
 *
 *   kvm/migrate.c        the source: the pre-copy loop, start to finish
 *   kvm/migrate-in.c     the destination: read, check, load, resume
 *   kvm/migrate-ram.c    dirty logging and pages on the wire
 *   kvm/migrate-state.c  the header, vCPU, machine and device sections
 *   kvm/migrate-uri.c    tcp:, unix:, exec:, file:
 *   kvm/migrate-stream.c the stream's framing
 *
 * The source's migration runs on a thread of its own, started and
 * watched through the control channel (`lkvm migrate`); the destination
 * loads on the main thread of `lkvm run --incoming URI` before the guest
 * runs there.
 */
#ifndef LKVM_MIGRATE_H
#define LKVM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "kvm/types.h"

struct vm;

#define MIGRATE_URI_MAX 1024
#define MIGRATE_DEFAULT_DOWNTIME_MS 300

/* After a save (file:, exec:), the source... */
enum migrate_after {
	MIGRATE_AFTER_STOP = 0,		/* ends, exit 0: the default */
	MIGRATE_AFTER_PAUSED = 1,	/* stays paused (lkvm resume / stop) */
	MIGRATE_AFTER_RESUME = 2,	/* runs on: a snapshot */
};

struct migrate_params {
	char uri[MIGRATE_URI_MAX];
	u64 speed;		/* bytes per second; 0: no limit */
	u32 downtime_ms;	/* 0: MIGRATE_DEFAULT_DOWNTIME_MS */
	bool detach;		/* nobody waits to read the final status */
	enum migrate_after after;
};

/* Register the source's control requests; from vm_create(). */
int migrate_register(struct vm *vm);
/* Stop a migration in progress and wait for its thread; from vm_run(). */
void migrate_stop(struct vm *vm);
void migrate_free(struct vm *vm);

/* What `lkvm list` shows: a CONTROL_STATE_*, or -1 if none applies. */
int migrate_list_state(struct vm *vm);

/*
 * Destination.  migrate_incoming_control() starts the control server,
 * under a temporary name while the source on this host still has ours.
 * migrate_incoming() reads the stream at vm->cfg.incoming, up to the
 * point where the guest can run here; it says why on error.  Once the
 * vCPUs run (vm_run() told a kvmclock guest of its pause before),
 * migrate_incoming_done() tells the source (and says how long it all
 * took), and then lets the devices announce the move.
 */
int migrate_incoming_control(struct vm *vm);
int migrate_incoming(struct vm *vm);
void migrate_incoming_done(struct vm *vm);
bool migrate_incoming_loading(struct vm *vm);
void migrate_incoming_stop(struct vm *vm);
void migrate_incoming_free(struct vm *vm);

/* The loader alone, over a stream in memory: for the fuzz target. */
int migrate_load_stream(struct vm *vm, const void *data, size_t len,
			char *why, size_t wlen);

#endif
