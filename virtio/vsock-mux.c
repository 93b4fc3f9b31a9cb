// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock's host side: the device's Unix socket, the handshake of
 * Firecracker's hybrid vsock, and the epoll set of every host socket.
 *
 * The device keeps its own epoll set and hands the I/O loop one fd, the
 * set itself (as Firecracker's muxer does): the loop's set stays small,
 * and the device can watch each host socket both ways, edge-triggered,
 * without asking the loop to change its events.  Each entry's data is a
 * pointer with a tag in its low bits, so an event is told apart without
 * following the pointer: a connection is looked at only while we are
 * inside the device (virtio_enter()), because a reset on a vCPU thread may
 * free connections whenever we are not.
 *
 * A host program connects and writes "CONNECT <port>\n".  We read it a
 * byte at a time, so not one byte of its data is taken with the line.
 * Until then it is a handshake; at most VSOCK_MAX_HANDSHAKES wait at once,
 * and a new one pushes out the oldest, so idle connections cannot lock the
 * device's socket up.  A line that is not exactly that closes it, as does
 * a guest whose driver is not up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/log.h"
#include "virtio/vsock-priv.h"

enum { TAG_LISTEN, TAG_KICK, TAG_HS, TAG_CONN, TAG_MASK = 3 };

#define EVENTS_PER_POLL 64

static u64 tag(void *p, unsigned int t)
{
	return (u64)(uintptr_t)p | t;
}

static void *untag(u64 v)
{
	return (void *)(uintptr_t)(v & ~(u64)TAG_MASK);
}

int vsock_mux_watch(struct vsock *vs, struct vsock_conn *c, bool add)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = tag(c, TAG_CONN),
	};

	return epoll_ctl(vs->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd,
			 &ev) ? -errno : 0;
}

void vsock_mux_kick(struct vsock *vs)
{
	u64 one = 1;

	if (write(vs->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_once("virtio-vsock: kick: %s", strerror(errno));
}

static void hs_close(struct vsock_handshake *hs)
{
	close(hs->fd);		/* leaves the epoll set with it */
	hs->fd = -1;
}

/* A free slot, or the oldest handshake's. */
static struct vsock_handshake *hs_slot(struct vsock *vs)
{
	struct vsock_handshake *old = &vs->hs[0];
	unsigned int i;

	for (i = 0; i < VSOCK_MAX_HANDSHAKES; i++) {
		if (vs->hs[i].fd < 0)
			return &vs->hs[i];
		if (vs->hs[i].seq < old->seq)
			old = &vs->hs[i];
	}
	pr_warn_ratelimited("virtio-vsock: %d host connections without a CONNECT line; dropping the oldest",
			    VSOCK_MAX_HANDSHAKES);
	hs_close(old);
	return old;
}

/* Only our own user (or root), as on the control socket. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void mux_handshake(struct vsock *vs, struct vsock_handshake *hs,
			  bool entered);

static void mux_accept(struct vsock *vs, bool entered)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct vsock_handshake *hs;
	int fd;

	for (;;) {
		fd = accept4(vs->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				pr_warn_ratelimited("virtio-vsock: accept: %s",
						    strerror(errno));
			return;
		}
		if (!peer_allowed(fd)) {
			close(fd);
			continue;
		}
		hs = hs_slot(vs);
		hs->fd = fd;
		hs->seq = ++vs->hs_seq;
		hs->len = 0;
		ev.data.u64 = tag(hs, TAG_HS);
		if (epoll_ctl(vs->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			hs_close(hs);
			continue;
		}
		/* The line is often there already. */
		mux_handshake(vs, hs, entered);
	}
}

/* "CONNECT <port>": the port, or -1. */
static long long parse_connect(const char *line)
{
	const char *p;
	unsigned long long port = 0;

	if (strncmp(line, "CONNECT ", 8))
		return -1;
	for (p = line + 8; *p >= '0' && *p <= '9'; p++) {
		port = port * 10 + (*p - '0');
		if (port > 0xffffffffULL)
			return -1;
	}
	return p == line + 8 || *p ? -1 : (long long)port;
}

static void mux_handshake(struct vsock *vs, struct vsock_handshake *hs,
			  bool entered)
{
	long long port;
	ssize_t n;
	char ch;

	for (;;) {
		n = recv(hs->fd, &ch, 1, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			goto drop;
		if (ch == '\n')
			break;
		if (hs->len == VSOCK_HANDSHAKE_MAX - 1)
			goto drop;
		hs->line[hs->len++] = ch;
	}
	hs->line[hs->len] = 0;
	port = parse_connect(hs->line);
	if (port < 0) {
		pr_debug("virtio-vsock: host sent '%s', not CONNECT <port>\n",
			 hs->line);
		goto drop;
	}
	/* Without a live driver, nothing listens in the guest. */
	if (!entered || vsock_conn_from_host(vs, hs->fd, (u32)port))
		goto drop;
	hs->fd = -1;		/* the connection's now */
	return;
drop:
	hs_close(hs);
}

void vsock_host_poll(struct vsock *vs)
{
	struct epoll_event evs[EVENTS_PER_POLL];
	bool entered = virtio_enter(&vs->vdev);
	u64 v;
	int i, n;

	/* Inside the device, no reset can free what the events name. */
	n = epoll_wait(vs->epfd, evs, EVENTS_PER_POLL, 0);
	for (i = 0; i < n; i++) {
		void *p = untag(evs[i].data.u64);

		switch (evs[i].data.u64 & TAG_MASK) {
		case TAG_LISTEN:
			mux_accept(vs, entered);
			break;
		case TAG_KICK:
			if (read(vs->kick_fd, &v, sizeof(v)) < 0 &&
			    errno != EAGAIN)
				pr_warn_once("virtio-vsock: kick: %s",
					     strerror(errno));
			break;
		case TAG_HS:
			mux_handshake(vs, p, entered);
			break;
		case TAG_CONN:
			if (entered)
				vsock_conn_host_event(p, evs[i].events);
			else
				vs->recheck = true;
			break;
		}
	}
	if (!entered)
		return;
	if (vs->recheck) {
		vs->recheck = false;
		vsock_conn_recheck_all(vs);
	}
	vsock_rx_run(vs);
	vsock_conns_reap(vs);
	virtio_leave(&vs->vdev);
}

static void mux_event(int fd, void *arg)
{
	vsock_host_poll(arg);
}

/*
 * Is a program listening on @path?  0 if not (a stale socket is removed),
 * -EADDRINUSE if so, -EEXIST if it is no socket at all.
 */
static int uds_claim(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	close(fd);
	if (!r || r == -EAGAIN)
		return -EADDRINUSE;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

static int uds_listen(struct vsock *vs, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	r = uds_claim(path);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, path);
	/* 0600 from the start: lkvm has no other thread yet. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old);
	if (r)
		goto err_close;
	if (listen(fd, SOMAXCONN) || stat(path, &st)) {
		r = -errno;
		unlink(path);
		goto err_close;
	}
	vs->uds_dev = st.st_dev;
	vs->uds_ino = st.st_ino;
	vs->listen_fd = fd;
	return 0;

err_close:
	close(fd);
	return r;
}

static int epoll_add(int epfd, int fd, u64 data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int vsock_mux_init(struct vsock *vs, const char *uds)
{
	struct sockaddr_un sun;
	unsigned int i;
	int r;

	vs->listen_fd = vs->kick_fd = vs->epfd = -1;
	for (i = 0; i < VSOCK_MAX_HANDSHAKES; i++)
		vs->hs[i].fd = -1;
	/* Room for "<uds>_<any port>" as well. */
	if (strlen(uds) + sizeof("_4294967295") > sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	vs->uds = strdup(uds);
	if (!vs->uds)
		return -ENOMEM;
	vs->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (vs->epfd < 0) {
		r = -errno;
		goto err;
	}
	vs->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vs->kick_fd < 0) {
		r = -errno;
		goto err;
	}
	r = uds_listen(vs, uds);
	if (!r)
		r = epoll_add(vs->epfd, vs->listen_fd, tag(vs, TAG_LISTEN));
	if (!r)
		r = epoll_add(vs->epfd, vs->kick_fd, tag(vs, TAG_KICK));
	if (r)
		goto err;
	vs->loop_ev = ioloop_add(vs->loop, vs->epfd, mux_event, vs);
	if (!vs->loop_ev) {
		r = -ENOMEM;
		goto err;
	}
	return 0;

err:
	vsock_mux_fini(vs);
	return r;
}

/* Remove our socket file, unless someone has replaced it since. */
static void uds_unlink(struct vsock *vs)
{
	struct stat st;

	if (!lstat(vs->uds, &st) && st.st_dev == vs->uds_dev &&
	    st.st_ino == vs->uds_ino)
		unlink(vs->uds);
}

/* The I/O thread has stopped (or never started). */
void vsock_mux_fini(struct vsock *vs)
{
	unsigned int i;

	if (vs->loop_ev)
		ioloop_del(vs->loop, vs->loop_ev);
	vs->loop_ev = NULL;
	for (i = 0; i < VSOCK_MAX_HANDSHAKES; i++)
		if (vs->hs[i].fd >= 0)
			hs_close(&vs->hs[i]);
	if (vs->listen_fd >= 0) {
		uds_unlink(vs);
		close(vs->listen_fd);
	}
	if (vs->kick_fd >= 0)
		close(vs->kick_fd);
	if (vs->epfd >= 0)
		close(vs->epfd);
	vs->listen_fd = vs->kick_fd = vs->epfd = -1;
	free(vs->uds);
	vs->uds = NULL;
}
