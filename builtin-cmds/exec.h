/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by lkvm exec and lkvm stop --graceful (exec.c). */
#ifndef LKVM_EXEC_H
#define LKVM_EXEC_H

#include <stddef.h>

/*
 * Where VM @name's vsock Unix socket is, from the VM itself (the
 * vsock-path control request): 0, -EOPNOTSUPP if it has no vsock device,
 * or a control channel error (ctl_report() says it).
 */
int exec_vsock_path(const char *name, char *buf, size_t len);

#endif
