// SPDX-License-Identifier: GPL-2.0
/*
 * The user-mode backend: passt (https://passt.top, Debian's `passt`)
 * gives the guest networking without root.  It is a TCP/IP stack that
 * turns the guest's frames into ordinary sockets of the host, with a
 * DHCP, NDP and DHCPv6 server for the guest's addresses; connections to
 * the gateway address reach the host's loopback.
 *
 * We start one passt per NIC and talk to it over a socketpair, whose
 * other end passt gets as --fd: no socket file, no race to connect.  The
 * protocol is QEMU's `-netdev stream`: each frame is a 4-byte big-endian
 * length, then the Ethernet frame, with no virtio-net header (so no
 * offloads: passt checksums what it sends, and wants frames whole).
 *
 * A stream has no frame boundaries, so both directions keep state:
 *   - receive: the next frame's length is read first, and the device
 *     then offers exactly the buffers it needs.  The frame is read into
 *     them, maybe over several wakeups, together with the length of the
 *     one after it (one readv per frame).  A reset in the middle of a
 *     frame leaves the rest of it to skip.
 *   - send: one sendmsg per frame, length and frame straight from guest
 *     memory.  If the socket takes only part of it, the rest is copied
 *     out and sent before anything else, so the guest's buffer is free
 *     at once and the stream stays whole whatever the guest does next.
 *
 * passt runs with -1 (it exits when we close our end, even if lkvm is
 * killed) and -q -e (only its errors, on a pipe we read): the last
 * thing it said goes into the one line that reports its end.  If passt
 * ends, the NIC's link goes down and the VM runs on (virtio/net.c).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virtio/iov.h"
#include "virtio/net-passt.h"
#include "virtio/net-proc.h"

#define PASST_IOV_MAX 1024
#define PASST_SCRATCH (64 * 1024)
#define PASST_LINE 256
#define PASST_MAX_ARGS (16 + 2 * 32)
#define PASST_STOP_MS 1000
/* Once its socket closed, how long passt may take to be reaped. */
#define PASST_GONE_MS 200

struct net_passt {
	struct net_backend be;
	pid_t pid;
	bool reaped;
	int status;

	/* Its stderr: the line being read, the last two worth showing. */
	char line[PASST_LINE];
	size_t line_len;
	char last[2][PASST_LINE];
	char bad[128];		/* why the stream is unusable, or "" */

	/* Receive. */
	u8 lenbuf[4];
	unsigned int len_got;
	bool have_len;
	u32 frame_len;
	u32 frame_got;		/* bytes of it already read */
	u32 skip;		/* bytes to throw away (an aborted frame) */
	u8 *scratch;
	struct iovec iov[PASST_IOV_MAX + 2];

	/* Send: the unsent rest of a frame. */
	u8 *out;
	size_t out_len, out_off;
};

static struct net_passt *to_passt(struct net_backend *be)
{
	return container_of(be, struct net_passt, be);
}

static ssize_t passt_errno(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK ? -EAGAIN : -EPIPE;
}

/* ---- receive ---- */

/* Read into @buf; the errno convention of the ops, 0 at end of stream. */
static ssize_t passt_read(struct net_passt *p, void *buf, size_t len)
{
	ssize_t r = recv(p->be.fd, buf, len, MSG_DONTWAIT);

	if (r < 0)
		return passt_errno(errno);
	return r ? r : -EPIPE;
}

static ssize_t passt_rx_peek(struct net_backend *be)
{
	struct net_passt *p = to_passt(be);
	ssize_t r;

	if (*p->bad)
		return -EPIPE;
	while (p->skip) {
		r = passt_read(p, p->scratch, MIN(p->skip, PASST_SCRATCH));
		if (r < 0)
			return r;
		p->skip -= (u32)r;
	}
	if (p->have_len)
		return p->frame_len;
	while (p->len_got < sizeof(p->lenbuf)) {
		r = passt_read(p, p->lenbuf + p->len_got,
			       sizeof(p->lenbuf) - p->len_got);
		if (r < 0)
			return r;
		p->len_got += (unsigned int)r;
	}
	p->len_got = 0;
	memcpy(&p->frame_len, p->lenbuf, sizeof(p->frame_len));
	p->frame_len = be32toh(p->frame_len);
	if (p->frame_len < NET_FRAME_MIN || p->frame_len > NET_FRAME_MAX) {
		snprintf(p->bad, sizeof(p->bad),
			 "sent a frame of %u bytes, the stream is out of step",
			 p->frame_len);
		return -EPIPE;
	}
	p->have_len = true;
	p->frame_got = 0;
	return p->frame_len;
}

/*
 * The next piece of the frame: into the guest's buffers while they last,
 * then into scratch; and after the frame's end the next length.
 * Returns the bytes of frame asked for.
 */
static u32 passt_rx_piece(struct net_passt *p, const struct iovec *iov,
			  unsigned int n, u64 room, int *cnt)
{
	u32 want;

	if (p->frame_got < room) {
		want = (u32)MIN((u64)p->frame_len, room) - p->frame_got;
		*cnt = iov_slice(p->iov, PASST_IOV_MAX, iov, n,
				 NET_HDR_LEN + p->frame_got, want);
	} else {
		want = MIN(p->frame_len - p->frame_got, (u32)PASST_SCRATCH);
		p->iov[0] = (struct iovec){ p->scratch, want };
		*cnt = 1;
	}
	if (*cnt >= 0 && p->frame_got + want == p->frame_len)
		p->iov[(*cnt)++] = (struct iovec){ p->lenbuf, sizeof(p->lenbuf) };
	return want;
}

static ssize_t passt_recv(struct net_backend *be, const struct iovec *iov,
			  unsigned int n)
{
	static const struct virtio_net_hdr_v1 zero;
	struct net_passt *p = to_passt(be);
	u64 cap = iov_length(iov, n);
	u64 room = cap > NET_HDR_LEN ? cap - NET_HDR_LEN : 0;
	u32 want;
	ssize_t r;
	int cnt;

	if (!p->have_len)
		return -EAGAIN;
	while (p->frame_got < p->frame_len) {
		want = passt_rx_piece(p, iov, n, room, &cnt);
		if (cnt < 0)
			return cnt;
		r = readv(be->fd, p->iov, cnt);
		if (r <= 0)
			return r ? passt_errno(errno) : -EPIPE;
		if ((u64)r > want) {
			p->len_got = (unsigned int)(r - want);
			r = want;
		}
		p->frame_got += (u32)r;
		if (r < want)
			return -EAGAIN;	/* the rest comes later */
	}
	p->have_len = false;
	iov_copy_to(iov, n, 0, &zero, sizeof(zero));
	return NET_HDR_LEN + p->frame_len;
}

static void passt_rx_abort(struct net_backend *be)
{
	struct net_passt *p = to_passt(be);

	if (p->have_len && p->frame_got) {
		p->skip = p->frame_len - p->frame_got;
		p->have_len = false;
	}
}

/* ---- send ---- */

static int passt_flush(struct net_backend *be)
{
	struct net_passt *p = to_passt(be);
	ssize_t r;

	while (p->out_off < p->out_len) {
		r = send(be->fd, p->out + p->out_off, p->out_len - p->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0)
			return (int)passt_errno(errno);
		p->out_off += (size_t)r;
	}
	p->out_len = p->out_off = 0;
	be->out_pending = false;
	return 0;
}

static int passt_send(struct net_backend *be,
		      const struct virtio_net_hdr_v1 *hdr,
		      const struct iovec *iov, unsigned int n, size_t len)
{
	struct net_passt *p = to_passt(be);
	u32 blen = htobe32((u32)len);
	struct msghdr m = { .msg_iov = p->iov, .msg_iovlen = n + 1 };
	size_t total = sizeof(blen) + len;
	ssize_t r;

	if (p->out_len && (r = passt_flush(be)))
		return (int)r;
	if (n > PASST_IOV_MAX)
		return -E2BIG;
	p->iov[0] = (struct iovec){ &blen, sizeof(blen) };
	memcpy(p->iov + 1, iov, n * sizeof(*iov));
	r = sendmsg(be->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r < 0)
		return (int)passt_errno(errno);
	if ((size_t)r < total) {
		/* Keep the rest: the stream must get the whole frame. */
		p->out_len = iov_copy_from(p->iov, n + 1, (u64)r, p->out,
					   total - (size_t)r);
		p->out_off = 0;
		be->out_pending = true;
	}
	return 0;
}

/* ---- passt's stderr, and its end ---- */

/*
 * Lines about its own syslog (there may be none) and about dropping root
 * say nothing to the user.  An error comes as a cause and a consequence
 * ("pivot_root: Invalid argument", "Failed to sandbox process"): keep two.
 */
static void passt_line(struct net_passt *p)
{
	p->line[p->line_len] = 0;
	p->line_len = 0;
	if (!*p->line || !strncmp(p->line, "Failed to send", 14) ||
	    !strncmp(p->line, "Don't run as root", 17))
		return;
	memcpy(p->last[0], p->last[1], sizeof(p->last[0]));
	snprintf(p->last[1], sizeof(p->last[1]), "%s", p->line);
}

static bool passt_aux_event(struct net_backend *be)
{
	struct net_passt *p = to_passt(be);
	char buf[512];
	ssize_t r, i;

	for (;;) {
		r = read(be->aux_fd, buf, sizeof(buf));
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (!r)
			return false;
		for (i = 0; i < r; i++) {
			if (buf[i] == '\n')
				passt_line(p);
			else if (p->line_len < sizeof(p->line) - 1)
				p->line[p->line_len++] = buf[i];
		}
	}
}

static void passt_why_gone(struct net_backend *be, char *buf, size_t len)
{
	struct net_passt *p = to_passt(be);
	char how[sizeof(p->bad)] = "closed its connection";

	passt_aux_event(be);
	if (p->line_len)
		passt_line(p);
	if (!p->reaped && !net_wait(p->pid, PASST_GONE_MS, &p->status))
		p->reaped = true;
	if (*p->bad)
		snprintf(how, sizeof(how), "%s", p->bad);
	else if (p->reaped && p->pid > 0)
		net_describe_status(p->status, how, sizeof(how));
	if (p->pid <= 0) {
		snprintf(buf, len, "the frame stream %s", how);
		return;
	}
	/*
	 * Its last words explain a failure; after a clean exit (it ends
	 * with status 0 on SIGTERM) or a signal they are only its startup
	 * warnings.
	 */
	if (!p->reaped || !WIFEXITED(p->status) || !WEXITSTATUS(p->status))
		p->last[0][0] = p->last[1][0] = 0;
	snprintf(buf, len, "passt (pid %d) %s%s%s%s%s", (int)p->pid, how,
		 *p->last[1] ? ": " : "", p->last[0], *p->last[0] ? "; " : "",
		 p->last[1]);
}

/* Closing our end ends it (-1); a passt that lingers is killed. */
static void passt_stop(struct net_backend *be)
{
	struct net_passt *p = to_passt(be);

	if (be->fd >= 0) {
		close(be->fd);
		be->fd = -1;
	}
	if (p->pid > 0 && !p->reaped) {
		if (net_wait(p->pid, PASST_STOP_MS, &p->status))
			p->status = net_kill(p->pid, PASST_STOP_MS);
		p->reaped = true;
	}
}

static void passt_destroy(struct net_backend *be)
{
	struct net_passt *p = to_passt(be);

	passt_stop(be);
	if (be->aux_fd >= 0)
		close(be->aux_fd);
	free(p->scratch);
	free(p->out);
	free(p);
}

static const struct net_backend_ops passt_ops = {
	.rx_peek = passt_rx_peek,
	.recv = passt_recv,
	.rx_abort = passt_rx_abort,
	.send = passt_send,
	.flush = passt_flush,
	.aux_event = passt_aux_event,
	.why_gone = passt_why_gone,
	.stop = passt_stop,
	.destroy = passt_destroy,
};

/* ---- hostfwd ---- */

static int fwd_fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fwd_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_port(const char *s, u16 *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || !v || v > 65535)
		return -EINVAL;
	*port = (u16)v;
	return 0;
}

int net_parse_hostfwd(const char *s, struct net_fwd *f, char *err, size_t len)
{
	char buf[96], *host, *guest, *colon;

	memset(f, 0, sizeof(*f));
	if (strlen(s) >= sizeof(buf))
		return fwd_fail(err, len, "hostfwd=%s: too long", s);
	strcpy(buf, s);
	if (!strncmp(buf, "tcp:", 4)) {
		host = buf + 4;
	} else if (!strncmp(buf, "udp:", 4)) {
		host = buf + 4;
		f->udp = true;
	} else {
		return fwd_fail(err, len, "hostfwd=%s: starts with tcp: or udp:", s);
	}
	guest = strchr(host, '-');
	if (!guest)
		return fwd_fail(err, len, "hostfwd=%s: no '-' between the host and the guest port", s);
	*guest++ = 0;
	colon = strrchr(host, ':');
	if (colon) {
		*colon = 0;
		if (*host && inet_pton(AF_INET, host, &f->addr) != 1)
			return fwd_fail(err, len, "hostfwd=%s: '%s' is not an IPv4 address", s, host);
		host = colon + 1;
	}
	if (*guest == ':')
		guest++;
	else if (strchr(guest, ':'))
		return fwd_fail(err, len, "hostfwd=%s: passt forwards to the guest's one address: leave it out", s);
	if (parse_port(host, &f->host_port) || parse_port(guest, &f->guest_port))
		return fwd_fail(err, len, "hostfwd=%s: ports are 1 to 65535", s);
	return 0;
}

/*
 * passt would exit if it could not bind a forwarded port, after the VM
 * had started; try it first, to say so now.
 */
static int fwd_check(const struct net_fwd *f, char *err, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = f->addr,
				 .sin_port = htons(f->host_port) };
	int s = socket(AF_INET, (f->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	int one = 1, r = 0, e;

	if (s < 0)
		return 0;	/* no IPv4 here: let passt say what it makes of it */
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		e = errno;
		r = -e;
		snprintf(err, len, "hostfwd %s port %u: %s", f->udp ? "udp" : "tcp",
			 f->host_port,
			 e == EADDRINUSE ? "in use on the host" :
			 e == EACCES ? "a privileged port (below 1024)" :
				       strerror(e));
	}
	close(s);
	return r;
}

/* -t [ADDR/]PORT:PORT, or -u. */
static void fwd_spec(const struct net_fwd *f, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN] = "";

	if (f->addr.s_addr != htonl(INADDR_ANY)) {
		inet_ntop(AF_INET, &f->addr, addr, sizeof(addr));
		strcat(addr, "/");
	}
	snprintf(buf, len, "%s%u:%u", addr, f->host_port, f->guest_port);
}

/* ---- starting it ---- */

static int passt_spawn(struct net_passt *p, int fd, int err_fd, u16 mtu,
		       const struct net_fwd *fwd, unsigned int nr_fwd)
{
	char *argv[PASST_MAX_ARGS], fds[16], mtus[16], specs[32][48];
	struct net_spawn s = { .argv = argv, .out_fd = -1, .err_fd = err_fd };
	unsigned int a = 0, i;

	snprintf(fds, sizeof(fds), "%d", fd);
	snprintf(mtus, sizeof(mtus), "%u", mtu);
	argv[a++] = "passt";
	argv[a++] = "--foreground";
	argv[a++] = "--quiet";
	argv[a++] = "--stderr";
	argv[a++] = "--one-off";
	argv[a++] = "--fd";
	argv[a++] = fds;
	argv[a++] = "--mtu";
	argv[a++] = mtus;
	for (i = 0; i < nr_fwd && i < ARRAY_SIZE(specs); i++) {
		fwd_spec(&fwd[i], specs[i], sizeof(specs[i]));
		argv[a++] = fwd[i].udp ? "-u" : "-t";
		argv[a++] = specs[i];
	}
	argv[a] = NULL;
	return net_spawn(&s, &p->pid);
}

static int passt_fail(char *err, size_t len, int r, const char *what)
{
	snprintf(err, len, "cannot start passt: %s: %s", what, strerror(-r));
	return r;
}

/* Our end of the frames and of its stderr, non-blocking; it gets theirs. */
static int passt_fds(struct net_passt *p, int sv[2], int ep[2], char *err,
		     size_t len)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return passt_fail(err, len, -errno, "socketpair");
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(sv[0]);
		close(sv[1]);
		return passt_fail(err, len, -errno, "pipe");
	}
	/* --fd names sv[1] in passt: it must survive exec. */
	fcntl(sv[1], F_SETFD, 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	p->be.fd = sv[0];
	p->be.aux_fd = ep[0];
	return 0;
}

static struct net_passt *passt_alloc(u16 mtu)
{
	struct net_passt *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->be = (struct net_backend){ .ops = &passt_ops, .mode = "user",
				      .fd = -1, .aux_fd = -1, .mtu = mtu,
				      .frame_max = PASST_FRAME_MAX };
	p->reaped = true;	/* no process to reap */
	p->scratch = malloc(PASST_SCRATCH);
	p->out = malloc(sizeof(u32) + NET_FRAME_MAX);
	if (!p->scratch || !p->out) {
		passt_destroy(&p->be);
		return NULL;
	}
	return p;
}

int net_stream_open(int fd, u16 mtu, struct net_backend **out)
{
	struct net_passt *p = passt_alloc(mtu);

	if (!p)
		return -ENOMEM;
	p->be.fd = fd;
	*out = &p->be;
	return 0;
}

int net_passt_open(u16 mtu, const struct net_fwd *fwd, unsigned int nr_fwd,
		   struct net_backend **out, char *err, size_t len)
{
	struct net_passt *p = passt_alloc(mtu);
	int sv[2], ep[2], r;
	unsigned int i;

	if (!p)
		return passt_fail(err, len, -ENOMEM, "memory");
	for (i = 0; i < nr_fwd; i++) {
		r = fwd_check(&fwd[i], err, len);
		if (r)
			goto err;
	}
	r = net_find_program("passt");
	if (r) {
		snprintf(err, len, "-n mode=user needs passt, which is not installed (Debian package: passt)");
		goto err;
	}
	r = passt_fds(p, sv, ep, err, len);
	if (r)
		goto err;
	r = passt_spawn(p, sv[1], ep[1], mtu, fwd, nr_fwd);
	close(sv[1]);
	close(ep[1]);
	if (r == -ENOENT)
		snprintf(err, len, "-n mode=user needs passt, which is not installed (Debian package: passt)");
	else if (r)
		passt_fail(err, len, r, "spawn");
	if (r)
		goto err;
	p->reaped = false;
	*out = &p->be;
	return 0;

err:
	passt_destroy(&p->be);
	return r;
}
