/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client half of the control channel, shared by `lkvm list`, `stop`,
 * `pause`, `resume` and `debug`: find a VM's socket, send one request and
 * wait (with a timeout) for its reply.  The functions here return 0 or a
 * negative errno; ctl_report() turns one into the user's error line.
 */
#ifndef LKVM_CTL_CLIENT_H
#define LKVM_CTL_CLIENT_H

#include "builtin-cmds/cmds.h"
#include "kvm/control-proto.h"

/* How long a VM has to answer one request. */
#define CTL_TIMEOUT_MS 5000

/*
 * Connect to VM name's socket.  0 and *fdp, or -EINVAL (bad name),
 * -ENOENT (no such VM), -ECONNREFUSED (stale socket: the VM died),
 * -EACCES (not ours), -EAGAIN (the VM's backlog is full), other -errno.
 */
int ctl_connect(const char *name, int *fdp);

/*
 * Send req on fd and read its reply into rep (zero-initialized or reused).
 * 0 when a reply came, whatever its status; -ETIMEDOUT after timeout_ms;
 * -ECONNRESET if the VM hung up; -EPROTO for a reply we cannot parse.
 */
int ctl_call(int fd, const struct control_req *req, struct control_reply *rep,
	     int timeout_ms);

/* ctl_connect() + ctl_call() + close. */
int ctl_request(const char *name, const struct control_req *req,
		struct control_reply *rep, int timeout_ms);

/*
 * The names of every socket in the socket directory, sorted; *names is a
 * malloc'd array of malloc'd strings (free with ctl_names_free()).  No
 * directory means no VMs: 0 with *nr = 0.
 */
int ctl_names(char ***names, int *nr);
void ctl_names_free(char **names, int nr);

/*
 * Print one line on stderr for err about VM name ("lkvm stop: VM 'x' is
 * not running" and the like).  A stale socket is removed first, so the
 * next `lkvm list` is clean.  rep, if not NULL, may hold the VM's own
 * words on the error, which are printed too.
 */
void ctl_report(const struct lkvm_cmd *cmd, const char *name, int err,
		const struct control_reply *rep);

/*
 * `lkvm stop|pause|resume -n NAME | -a`: parse the options and send
 * ctl_cmd to one or every VM.  -EALREADY (already paused or running) is
 * an error for a named VM and a quiet skip with -a.  Returns the exit
 * status.  With wait_exit (stop), also wait until each VM's lkvm process
 * has exited, its disks flushed.
 */
int ctl_run_simple(const struct lkvm_cmd *cmd, u16 ctl_cmd, bool wait_exit,
		   int argc, char **argv);

/* Usage text shared by the three simple commands. */
void ctl_simple_usage(const char *name, const char *what);

#endif
