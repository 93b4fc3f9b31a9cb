/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helper processes of the network backends: the tap's script and passt.
 *
 * lkvm blocks the signals it waits for in every thread, and a child
 * inherits that mask, so a helper starts with every signal unblocked and
 * at its default action; in a session of its own, so that a Ctrl-C typed
 * at the terminal does not reach it before lkvm could stop it in order.
 */
#ifndef LKVM_VIRTIO_NET_PROC_H
#define LKVM_VIRTIO_NET_PROC_H

#include <sys/types.h>

struct net_spawn {
	char *const *argv;	/* argv[0] is looked up in PATH */
	int out_fd;		/* the child's stdout, or -1 for /dev/null */
	int err_fd;		/* the child's stderr, or -1 for ours */
};

/* 0 and *pid, or -errno (-ENOENT: no such program). */
int net_spawn(const struct net_spawn *s, pid_t *pid);

/*
 * Is @prog a program we may run: a path, or a name found in $PATH?  0,
 * -ENOENT, or -EACCES.  Checked before spawning, so the answer does not
 * depend on how posix_spawn() reports a failed exec.
 */
int net_find_program(const char *prog);

/*
 * Wait up to @ms for @pid to end: 0 with its wait status in *status, or
 * -ETIMEDOUT.  Polls, so it is for short waits at start and exit only.
 */
int net_wait(pid_t pid, unsigned int ms, int *status);

/* End @pid: SIGTERM, then SIGKILL after @ms; reaps it.  Its status. */
int net_kill(pid_t pid, unsigned int ms);

/* "exited with status 1", "was killed by signal 9 (Killed)". */
void net_describe_status(int status, char *buf, size_t len);

#endif
