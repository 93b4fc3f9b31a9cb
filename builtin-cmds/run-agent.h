/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `lkvm run [...] -- CMD ARGS` and `lkvm run --agent` (run-agent.c): the
 * guest agent in the initramfs, the kernel command line that starts it,
 * the console moved off stdout, and the thread that runs CMD through the
 * agent and keeps its exit status for lkvm's own.
 */
#ifndef LKVM_RUN_AGENT_H
#define LKVM_RUN_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/un.h>

#include "builtin-cmds/initramfs.h"

struct vm;
struct vm_config;

struct run_agent {
	/* From the command line. */
	int argc;		/* CMD ARGS after "--"; 0: none */
	char **argv;
	bool daemon;		/* --agent */
	const char *modules;	/* --modules DIR */
	const char *console_log; /* --console-log FILE */
	bool has_disk;		/* -d was given: virtio_blk too */

	/* Set up by run_agent_prepare(). */
	struct cpio cpio;
	char *cmdline;
	bool quiet_exit;	/* leave lkvm's "guest powered off" out */
	int saved_in, saved_out; /* the command's stdin and stdout */
	int console_fd;		/* what the console writes instead */
	char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int stop_fd;		/* eventfd: the VM has ended */
	pthread_t thread;
	bool started;
	struct vm *vm;
	bool connected;		/* the agent called */
	int status;		/* the command's, -1 until it has one */
	int error;		/* why there is none (-errno), or 0 */
};

/* Before anything: fds that run_agent_finish() may close. */
void run_agent_init(struct run_agent *ra);
/* Is there anything to do (-- CMD, --agent, --console-log)? */
bool run_agent_wanted(const struct run_agent *ra);
/*
 * Before the VM exists: build the initramfs (cfg->initrd_extra), the
 * command line (cfg->cmdline), move the console off stdin and stdout,
 * and listen where the agent will connect.  @uds is the vsock device's
 * Unix socket.  Prints its errors; 0 or an exit status.
 */
int run_agent_prepare(struct run_agent *ra, struct vm_config *cfg,
		      const char *uds);
/* The VM exists and is about to run: start the command's thread. */
int run_agent_start(struct run_agent *ra, struct vm *vm);
/*
 * The VM has ended with exit status @vm_status (run_fate_status()) for
 * @fate: stop the thread, give stdin and stdout back, and return the
 * exit status to use: the command's where the guest ended normally.
 */
int run_agent_finish(struct run_agent *ra, int fate, int vm_status);

#endif
