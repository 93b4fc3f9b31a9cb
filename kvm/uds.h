/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every Unix socket lkvm listens on does with a new connection: take
 * it without blocking, and let only the VM's own user (or root) in.  The
 * control socket and virtio-vsock's host socket both use it, so the rule
 * of who may talk to a VM lives in one place.
 */
#ifndef LKVM_UDS_H
#define LKVM_UDS_H

#include <stdbool.h>

/*
 * The next connection on non-blocking @listen_fd, itself non-blocking and
 * close-on-exec, or -1 when none is waiting (or accept failed: a
 * rate-limited warning names @who and the error).
 */
int uds_accept(int listen_fd, const char *who);

/* Whether the peer of @fd runs as lkvm's effective user or as root. */
bool uds_peer_allowed(int fd);

#endif
