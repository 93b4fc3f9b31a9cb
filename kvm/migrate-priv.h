/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the kvm/migrate*.c files; see kvm/migrate.h. */
#ifndef LKVM_MIGRATE_PRIV_H
#define LKVM_MIGRATE_PRIV_H

#include "kvm/device.h"
#include "kvm/migrate-stream.h"

struct vm;

#define MIG_WHY_MAX 512

/* ---- kvm/migrate-state.c ---- */

/* Can every device be migrated?  If not, why names the first that cannot. */
int mig_check_devices(struct vm *vm, char *why, size_t len);
int mig_send_header(struct vm *vm, struct mig_chan *c);
/* Refuses a header that does not match this VM, or is malformed: why. */
int mig_load_header(struct vm *vm, const u8 *p, u32 len, char *why,
		    size_t wlen);
/* MACHINE, ARCH_VM, every VCPU and DEVICE: all the state after RAM. */
int mig_send_state(struct vm *vm, struct mig_chan *c, char *why,
		   size_t wlen);
/* Its two halves: MACHINE, ARCH_VM and the VCPUs; then the DEVICEs. */
int mig_send_cpus(struct vm *vm, struct mig_chan *c, char *why, size_t wlen);
int mig_send_devices(struct vm *vm, struct mig_chan *c, char *why,
		     size_t wlen);
/* One section of that state; *idx counts VCPU or DEVICE sections. */
int mig_load_machine(struct vm *vm, const u8 *p, u32 len, char *why,
		     size_t wlen);
int mig_load_arch(struct vm *vm, const u8 *p, u32 len, char *why,
		  size_t wlen);
int mig_load_vcpu(struct vm *vm, unsigned int idx, const u8 *p, u32 len,
		  char *why, size_t wlen);
int mig_load_device(struct vm *vm, unsigned int idx, const u8 *p, u32 len,
		    char *why, size_t wlen);
/*
 * Every device's handover hook, in order.  RELEASE and RECLAIM go on
 * past a failure (each device does what it can); CLAIM stops at one.
 */
int mig_handover(struct vm *vm, enum dev_handover step, char *why,
		 size_t wlen);

/* ---- kvm/migrate-uri.c ---- */

enum mig_uri_kind { MIG_URI_TCP, MIG_URI_UNIX, MIG_URI_EXEC, MIG_URI_FILE };

struct mig_uri {
	enum mig_uri_kind kind;
	char host[256];
	char port[16];
	char path[1024];	/* unix:, file:, and exec:'s command */
};

/* -EINVAL with why for an unknown scheme or a bad address. */
int mig_uri_parse(const char *s, struct mig_uri *u, char *why, size_t wlen);
/* Two-way, live (tcp:, unix:), or a one-way save (exec:, file:). */
bool mig_uri_live(const struct mig_uri *u);

/*
 * The source's end: connect, start the command, or create the file (a
 * temporary name, renamed over PATH by mig_uri_finish() once complete,
 * so that a failed save never leaves a truncated file, and a VM running
 * from an older file at PATH keeps its pages).  Returns a non-blocking
 * fd, or -errno with why.
 */
struct mig_endpoint {
	struct mig_uri uri;
	int fd;
	int pid;		/* exec: the command; 0 otherwise */
	char tmp[1100];		/* file: the temporary name */
};

int mig_uri_connect(struct mig_endpoint *e, bool (*abort)(void *),
		    void *arg, char *why, size_t wlen);
/* The destination's end: listen and accept, start the command, open. */
int mig_uri_accept(struct mig_endpoint *e, bool (*abort)(void *), void *arg,
		   char *why, size_t wlen);
/* ok: commit (file: rename; exec: wait for the command's success). */
int mig_uri_finish(struct mig_endpoint *e, bool ok, char *why, size_t wlen);

#endif
