/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of the guest agent (builtin-cmds/agent/proto.h), shared
 * by `lkvm run -- CMD` (run-agent.c), `lkvm exec` and `lkvm stop
 * --graceful`.  Functions return 0 (or a status) or a negative errno and
 * print nothing; the commands say what went wrong.
 */
#ifndef LKVM_AGENT_CLIENT_H
#define LKVM_AGENT_CLIENT_H

#include <stdbool.h>

struct agent_cmd {
	const char *cwd;
	int argc;
	char **argv;
	int envc;
	char **env;
};

/*
 * Connect to guest @port through lkvm's vsock Unix socket @uds (the
 * "CONNECT <port>\n" / "OK <hostport>\n" handshake), giving up after
 * @timeout_ms.  -ECONNREFUSED if nothing listens on @port in the guest,
 * -ENOENT if @uds does not exist, -ETIMEDOUT, or another -errno.
 */
int agent_connect(const char *uds, unsigned int port, int timeout_ms,
		  int *fd);

/*
 * Run @cmd through the agent on @fd, whose HELLO comes first: @in_fd
 * goes to its stdin (EOF included; -1 for none), its stdout and stderr
 * to @out_fd and @err_fd.  The signals read from @sig_fd (a signalfd, or
 * -1) go to the command.  Returns its status, 0-255, or 128+N for signal
 * N; -ECANCELED as soon as @stop_fd (or -1) is readable; -ECONNRESET if
 * the agent went away first; -EPROTO if it spoke nonsense.
 */
int agent_run(int fd, const struct agent_cmd *cmd, int in_fd, int out_fd,
	      int err_fd, int sig_fd, int stop_fd);

/* After agent_run(), or on a fresh connection: ask for a power-off. */
int agent_poweroff(int fd, bool fresh);

/* The environment a command gets unless told otherwise (NULL-ended). */
extern const char *const agent_default_env[];

#endif
