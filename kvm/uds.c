// SPDX-License-Identifier: GPL-2.0
/* Accepting connections on lkvm's Unix sockets (see uds.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm/log.h"
#include "kvm/uds.h"

int uds_accept(int listen_fd, const char *who)
{
	int fd;

	for (;;) {
		fd = accept4(listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		/* A client that gave up before we took it is no error. */
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN)
			pr_warn_ratelimited("%s: accept: %s", who,
					    strerror(errno));
		return -1;
	}
}

bool uds_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}
