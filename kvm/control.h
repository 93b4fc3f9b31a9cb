/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control server: every running VM listens on $HOME/.lkvm/NAME.sock
 * (directory 0700, socket 0600) and answers the requests of
 * kvm/control-proto.h.
 *
 * One control thread serves all clients with poll(): client sockets are
 * non-blocking, each has its own buffers and a deadline, so a slow or
 * silent client delays nobody and is dropped when its time is up.  The
 * thread blocks every signal, so SIGINT and friends still reach the VM's
 * own threads, and writes with MSG_NOSIGNAL, so a client that hangs up
 * cannot SIGPIPE the VM.
 *
 * The VM provides the handlers.  They run on the control thread, one at a
 * time, so they must not block for long (pausing the vCPUs is fine; waiting
 * on the guest is not) and must not call control_stop().
 */
#ifndef LKVM_CONTROL_H
#define LKVM_CONTROL_H

#include <pthread.h>
#include <sys/types.h>
#include <sys/un.h>

#include "kvm/control-proto.h"

/*
 * Handlers are registered by their owners, one per command, before
 * control_start(): the VM registers list, stop, pause, resume and debug
 * (kvm/vm-control.c), the console registers SysRq (term/console.c), and a
 * device can register a request of its own.  The server knows none of
 * them.  A command without a handler answers -EOPNOTSUPP.
 *
 * A handler returns 0 or a negative errno, which becomes the reply's
 * status; it may add text to r either way (control_reply_printf(),
 * control_reply_hexdump()), for instance to explain an error.  The request
 * was decoded and range-checked by control_req_decode().
 */
typedef int control_fn(void *opaque, const struct control_req *req,
		       struct control_reply *r);
/*
 * For `lkvm list`: info arrives with name, pid and uptime (since
 * control_start()) filled in; fill state, nr_vcpus, mem_mib and fix up
 * the rest if you know better.
 */
typedef int control_info_fn(void *opaque, struct control_info *info);

struct control_handler {
	control_fn *fn;
	void *opaque;
};

/*
 * Clients served at once.  When all are taken, a new one replaces the one
 * that has waited longest for its next request; only if every client is
 * mid-request is the new one refused with -EBUSY.
 */
#define CONTROL_MAX_CLIENTS 32
#define CONTROL_CLIENT_TIMEOUT_MS 5000

struct control_client {
	int fd;			/* -1: slot free */
	u8 *in;			/* CONTROL_REQ_MAX bytes */
	size_t in_len;
	u8 *out;		/* the encoded reply being sent */
	size_t out_len;
	size_t out_off;
	u64 deadline_ms;	/* CLOCK_MONOTONIC */
	bool closing;		/* hang up once out is sent */
};

struct control {
	/*
	 * Tunable: set before control_start() on a zeroed struct, or leave 0
	 * for CONTROL_CLIENT_TIMEOUT_MS.  A client has this long to send a
	 * request and read the reply.
	 */
	int client_timeout_ms;

	/* Private to control.c. */
	char name[CONTROL_NAME_MAX + 1];
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;
	ino_t sock_ino;
	int listen_fd;
	int wake_fd;
	pthread_t thread;
	bool started;
	u64 start_ms;
	struct control_handler handlers[CONTROL_CMD_NR];
	control_info_fn *info;
	void *info_opaque;
	struct control_client clients[CONTROL_MAX_CLIENTS];
	struct control_reply reply;	/* scratch, reused per request */
};

/*
 * Register the handler of @cmd (not CONTROL_CMD_LIST_INFO, which has
 * control_register_info()).  Before control_start() only.  -EINVAL for
 * an unknown command, -EEXIST if it already has one.
 */
int control_register(struct control *c, u16 cmd, control_fn *fn,
		     void *opaque);
void control_register_info(struct control *c, control_info_fn *fn,
			   void *opaque);

/*
 * Create $HOME/.lkvm/NAME.sock and start the control thread.  name must
 * satisfy control_name_valid(); the caller picks the default (guest-PID).
 * Returns 0, -EINVAL for a bad name, -EADDRINUSE if a live VM already has
 * the name, -EEXIST if the path is a file that is not a socket, or another
 * -errno.  A stale socket (its VM died) is replaced.
 */
int control_start(struct control *c, const char *name);

/*
 * Stop the thread (joins it), close every client and remove the socket.
 * Safe to call when control_start() failed or was never called on a
 * zeroed struct, and twice.  Not from a handler.
 */
void control_stop(struct control *c);

/*
 * Used by clients, under the same lock control_start() takes, so a probe
 * never races a VM that is starting up:
 * control_sock_reap() removes NAME.sock if nothing listens on it any more.
 * Returns 0 if it removed a stale socket, -EADDRINUSE if a VM answers,
 * -ENOENT if there is no such socket, or another -errno (-EACCES...).
 */
int control_sock_reap(const char *name);

#endif
