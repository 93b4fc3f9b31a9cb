// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock connections: the state machine of virtio 1.2 §5.10.6.4-6
 * between a guest socket and a host socket, and credit-based flow control
 * both ways (§5.10.6.3).
 *
 * A connection is keyed by (guest port, host port) and is born either
 *   - from the guest: REQUEST to the host's CID, port P.  We connect to the
 *     host program's Unix socket "<uds>_P" without blocking (a Unix
 *     connect never waits: it succeeds, or fails with ECONNREFUSED, ENOENT
 *     or EAGAIN for a full backlog) and answer RESPONSE, or RST;
 *   - from the host: a host program's "CONNECT <port>" (vsock-mux.c).  We
 *     pick a host port, send REQUEST and wait: RESPONSE establishes it and
 *     the host program reads "OK <hostport>\n"; RST closes its socket.
 *
 * Credit, guest to host: every header we send says buf_alloc
 * (VSOCK_BUF_ALLOC) and fwd_cnt, the bytes we have written to the host
 * socket.  The guest may have at most buf_alloc bytes in flight; what the
 * host socket does not take at once waits in conn->out, which therefore
 * never holds more than buf_alloc.  A guest that sends beyond its credit
 * gets a reset.  A CREDIT_UPDATE tells the guest every VSOCK_CREDIT_STEP
 * bytes forwarded (Linux itself only when less than a packet's worth is
 * left, which stalls the sender for a round trip).
 *
 * Credit, host to guest: we read from the host socket only as much as the
 * guest's buf_alloc less what it has not consumed yet (tx_cnt -
 * fwd_cnt from its headers) allows, straight into its rx buffer.  With no
 * credit left we stop reading (the host program's writes then block) and
 * ask once with CREDIT_REQUEST.
 *
 * Closing, per direction (half-close, as in cloud-hypervisor's fix #8300):
 *   - guest SHUTDOWN(SEND): once what it sent is written, shutdown(SHUT_WR)
 *     on the host socket; the host program reads EOF and may still write;
 *   - host EOF: SHUTDOWN(SEND) to the guest, nothing more; and if the host
 *     program has gone altogether (EPOLLHUP), SHUTDOWN(SEND|RCV);
 *   - guest SHUTDOWN with both flags: once what it sent is written, we
 *     close the host socket and answer RST, which is what Linux waits for;
 *   - RST from the guest: close the host socket, drop what is buffered;
 *   - a host socket error, a send to a host program that has gone, or a
 *     broken packet: close it and send RST.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/log.h"
#include "virtio/iov.h"
#include "virtio/vsock-priv.h"

#define SHUT_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

static void conn_flush(struct vsock_conn *c);
static void conn_reset(struct vsock_conn *c);

/* Each connection's buffer for its host peer, counted for --stats. */
static bool buf_alloc(struct vsock_conn *c)
{
	struct vsock_stats *st = &c->vs->stats;

	if (c->out.data)
		return true;
	c->out.data = malloc(VSOCK_BUF_ALLOC);
	if (!c->out.data)
		return false;
	st->buffers += VSOCK_BUF_ALLOC;
	st->max_buffers = MAX(st->max_buffers, st->buffers);
	return true;
}

static void buf_free(struct vsock_conn *c)
{
	if (c->out.data)
		c->vs->stats.buffers -= VSOCK_BUF_ALLOC;
	free(c->out.data);
	c->out = (struct vsock_buf){ 0 };
}

/* ---- the table ---- */

static unsigned int conn_hash(u32 guest_port, u32 host_port)
{
	return (guest_port * 0x9e3779b1u ^ host_port * 0x85ebca6bu) %
	       VSOCK_HASH_SIZE;
}

static struct vsock_conn *conn_find(struct vsock *vs, u32 guest_port,
				    u32 host_port)
{
	struct vsock_conn *c = vs->hash[conn_hash(guest_port, host_port)];

	while (c && (c->guest_port != guest_port || c->host_port != host_port))
		c = c->hnext;
	return c;
}

static void conn_unhash(struct vsock_conn *c)
{
	struct vsock_conn **p = &c->vs->hash[conn_hash(c->guest_port,
						       c->host_port)];

	if (!c->in_hash)
		return;
	while (*p && *p != c)
		p = &(*p)->hnext;
	if (*p)
		*p = c->hnext;
	c->hnext = NULL;
	c->in_hash = false;
	c->vs->nr_conns--;
	c->vs->stats.conns_open--;
}

static struct vsock_conn *conn_new(struct vsock *vs, u32 guest_port,
				   u32 host_port, int fd,
				   enum vsock_conn_state state)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));
	unsigned int h = conn_hash(guest_port, host_port);

	if (!c)
		return NULL;
	c->vs = vs;
	c->guest_port = guest_port;
	c->host_port = host_port;
	c->fd = fd;
	c->state = state;
	/* Edge-triggered: whatever is there already must be looked at. */
	c->host_readable = true;
	c->hnext = vs->hash[h];
	vs->hash[h] = c;
	c->in_hash = true;
	vs->nr_conns++;
	vs->stats.conns_open++;
	vs->stats.conns_total++;
	return c;
}

/*
 * Out of the table, its socket closed, freed at the end of the pass (an
 * epoll batch may still name it).  Not while it is on the rx list.
 */
static void conn_release(struct vsock_conn *c)
{
	if (c->on_dead)
		return;
	conn_unhash(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = VSOCK_CONN_DEAD;
	c->pending = 0;
	c->on_dead = true;
	c->dead_next = c->vs->dead;
	c->vs->dead = c;
}

void vsock_conns_reap(struct vsock *vs)
{
	struct vsock_conn *c;

	while ((c = vs->dead)) {
		vs->dead = c->dead_next;
		buf_free(c);
		free(c);
	}
}

void vsock_conns_drop(struct vsock *vs)
{
	struct vsock_conn *c, *next;
	unsigned int i;

	/* Everything on the rx list is in the table or waits to be freed. */
	for (c = vs->rx_head; c; c = next) {
		next = c->rx_next;
		c->on_rx_list = false;
		if (c->state == VSOCK_CONN_DEAD && !c->pending)
			conn_release(c);
	}
	vs->rx_head = vs->rx_tail = NULL;
	vs->rx_len = 0;
	for (i = 0; i < VSOCK_HASH_SIZE; i++)
		while (vs->hash[i])
			conn_release(vs->hash[i]);
	vs->rst_head = vs->rst_len = 0;
}

/* ---- what the guest is owed ---- */

static void rx_list_add(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;

	if (c->on_rx_list)
		return;
	c->on_rx_list = true;
	c->rx_next = NULL;
	vs->rx_len++;
	if (vs->rx_tail)
		vs->rx_tail->rx_next = c;
	else
		vs->rx_head = c;
	vs->rx_tail = c;
}

static struct vsock_conn *rx_list_pop(struct vsock *vs)
{
	struct vsock_conn *c = vs->rx_head;

	if (!c)
		return NULL;
	vs->rx_head = c->rx_next;
	if (!vs->rx_head)
		vs->rx_tail = NULL;
	c->on_rx_list = false;
	vs->rx_len--;
	return c;
}

void vsock_queue_rst(struct vsock *vs, u32 guest_port, u32 host_port)
{
	if (vs->rst_len == VSOCK_RST_RING) {
		pr_warn_ratelimited("virtio-vsock: too many resets owed to the guest; dropping one");
		return;
	}
	vs->rst[(vs->rst_head + vs->rst_len) % VSOCK_RST_RING] =
		(struct vsock_rst){ guest_port, host_port };
	vs->rst_len++;
}

/* How much more the guest can take (§5.10.6.3.1). */
static u32 conn_peer_credit(const struct vsock_conn *c)
{
	u32 in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 :
						c->peer_buf_alloc - in_flight;
}

/* May we read from the host socket for the guest, credit aside? */
static bool conn_may_read(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && c->host_readable &&
	       !c->host_eof && !(c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV);
}

static bool conn_has_work(struct vsock_conn *c)
{
	if (c->pending)
		return true;
	if (!conn_may_read(c))
		return false;
	if (conn_peer_credit(c))
		return true;
	if (!c->credit_requested) {
		/* Data waits and the guest's buffer is full: ask (§5.10.6.3). */
		c->credit_requested = true;
		c->pending |= VSOCK_P_CREDIT_REQUEST;
		return true;
	}
	return false;
}

static void conn_kick(struct vsock_conn *c)
{
	if (c->state != VSOCK_CONN_DEAD || c->pending)
		if (conn_has_work(c))
			rx_list_add(c);
}

bool vsock_conn_rx_work(struct vsock *vs)
{
	return vs->rst_len || vs->rx_head;
}

static void hdr_fill(struct vsock *vs, struct virtio_vsock_hdr *h, u32 guest_port,
		     u32 host_port, u16 op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VMADDR_CID_HOST);
	h->dst_cid = htole64(vs->cid);
	h->src_port = htole32(host_port);
	h->dst_port = htole32(guest_port);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
}

/* Every header of a connection carries our credit. */
static void conn_hdr(struct vsock_conn *c, struct virtio_vsock_hdr *h, u16 op)
{
	hdr_fill(c->vs, h, c->guest_port, c->host_port, op);
	h->buf_alloc = htole32(VSOCK_BUF_ALLOC);
	h->fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pending &= ~VSOCK_P_CREDIT_UPDATE;
}

static u32 put_hdr(const struct iovec *in, unsigned int nr,
		   const struct virtio_vsock_hdr *h)
{
	iov_copy_to(in, nr, 0, h, sizeof(*h));
	return VSOCK_HDR_SIZE + le32toh(h->len);
}

/*
 * Read from the host socket into the rx buffer, after the header room.
 * Bytes read, 0 at EOF, -EAGAIN if nothing is there (or no room), or
 * another -errno.
 */
static ssize_t conn_read(struct vsock_conn *c, const struct iovec *in,
			 unsigned int nr, u64 in_len)
{
	struct vsock *vs = c->vs;
	u64 room = MIN(in_len - VSOCK_HDR_SIZE, (u64)VSOCK_MAX_PKT);
	ssize_t n;
	int cnt;

	room = MIN(room, (u64)conn_peer_credit(c));
	if (!room)
		return -EAGAIN;
	cnt = iov_slice(vs->slice, ARRAY_SIZE(vs->slice), in, nr,
			VSOCK_HDR_SIZE, room);
	if (cnt < 0)
		return -EAGAIN;
	do {
		n = readv(c->fd, vs->slice, cnt);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

/* The host program will send no more: tell the guest, once. */
static void conn_host_eof(struct vsock_conn *c)
{
	c->host_eof = true;
	c->shut_to_send |= VIRTIO_VSOCK_SHUTDOWN_SEND;
	if (c->host_hup)
		c->shut_to_send |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	if (c->shut_to_send & ~c->shut_sent)
		c->pending |= VSOCK_P_SHUTDOWN;
}

/* A data packet from the host socket, or 0 with nothing to send. */
static u32 conn_data_pkt(struct vsock_conn *c, const struct iovec *in,
			 unsigned int nr, u64 in_len)
{
	struct virtio_vsock_hdr h;
	ssize_t n;

	if (!conn_may_read(c) || !conn_peer_credit(c))
		return 0;
	n = conn_read(c, in, nr, in_len);
	if (n == -EAGAIN) {
		/* Empty (edge-triggered: the next event says when not). */
		if (in_len - VSOCK_HDR_SIZE && conn_peer_credit(c))
			c->host_readable = false;
		return 0;
	}
	if (n < 0) {
		conn_reset(c);
		return 0;
	}
	if (!n) {
		conn_host_eof(c);
		return 0;
	}
	conn_hdr(c, &h, VIRTIO_VSOCK_OP_RW);
	h.len = htole32((u32)n);
	c->tx_cnt += n;
	c->vs->stats.bytes_to_guest += n;
	return put_hdr(in, nr, &h);
}

/* The next packet @c owes the guest, or 0. */
static u32 conn_pkt(struct vsock_conn *c, const struct iovec *in,
		    unsigned int nr, u64 in_len)
{
	struct virtio_vsock_hdr h;
	u32 len;

	if (c->pending & VSOCK_P_RST) {
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_RST);
		c->vs->stats.rst_sent++;
		conn_release(c);
		return put_hdr(in, nr, &h);
	}
	if (c->pending & VSOCK_P_REQUEST) {
		c->pending &= ~VSOCK_P_REQUEST;
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_REQUEST);
		return put_hdr(in, nr, &h);
	}
	if (c->pending & VSOCK_P_RESPONSE) {
		c->pending &= ~VSOCK_P_RESPONSE;
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_RESPONSE);
		return put_hdr(in, nr, &h);
	}
	len = conn_data_pkt(c, in, nr, in_len);
	if (len)
		return len;
	if (c->pending & VSOCK_P_RST)	/* the read failed */
		return conn_pkt(c, in, nr, in_len);
	if (c->pending & VSOCK_P_SHUTDOWN) {
		c->pending &= ~VSOCK_P_SHUTDOWN;
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_SHUTDOWN);
		/* Cumulative: Linux ORs them into peer_shutdown. */
		h.flags = htole32(c->shut_to_send);
		c->shut_sent |= c->shut_to_send;
		return put_hdr(in, nr, &h);
	}
	if (c->pending & VSOCK_P_CREDIT_UPDATE) {
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		return put_hdr(in, nr, &h);
	}
	if (c->pending & VSOCK_P_CREDIT_REQUEST) {
		c->pending &= ~VSOCK_P_CREDIT_REQUEST;
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
		return put_hdr(in, nr, &h);
	}
	return 0;
}

u32 vsock_conn_next_pkt(struct vsock *vs, const struct iovec *in,
			unsigned int nr, u64 in_len)
{
	struct virtio_vsock_hdr h;
	struct vsock_rst r;
	struct vsock_conn *c;
	unsigned int turns = vs->rx_len;
	u32 len;

	if (vs->rst_len) {
		r = vs->rst[vs->rst_head];
		vs->rst_head = (vs->rst_head + 1) % VSOCK_RST_RING;
		vs->rst_len--;
		hdr_fill(vs, &h, r.guest_port, r.host_port, VIRTIO_VSOCK_OP_RST);
		vs->stats.rst_sent++;
		return put_hdr(in, nr, &h);
	}
	/*
	 * Round robin: a busy connection goes to the back after each packet.
	 * One turn each at most: data that does not fit this buffer (one
	 * with room for a header only) waits for the next.
	 */
	while (turns-- && (c = rx_list_pop(vs))) {
		len = conn_pkt(c, in, nr, in_len);
		if (c->state == VSOCK_CONN_DEAD && !c->pending)
			conn_release(c);	/* closed while it waited */
		else
			conn_kick(c);
		if (len)
			return len;
	}
	return 0;
}

/* ---- packets from the guest ---- */

/* Close the host socket and owe the guest an RST (freed once sent). */
static void conn_reset(struct vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = VSOCK_CONN_DEAD;
	c->pending = VSOCK_P_RST;
	buf_free(c);
	rx_list_add(c);
}

/* The guest closed it (RST): no answer, nothing more to write. */
static void conn_close(struct vsock_conn *c)
{
	if (c->on_rx_list) {
		/* Freed when the rx list gets to it. */
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		conn_unhash(c);
		c->state = VSOCK_CONN_DEAD;
		c->pending = 0;
		return;
	}
	conn_release(c);
}

static void conn_credit_check(struct vsock_conn *c)
{
	/* The guest's idea of its credit: from the fwd_cnt we last sent. */
	u32 used = c->rx_cnt - c->fwd_cnt_sent;
	u32 guest_view = used >= VSOCK_BUF_ALLOC ? 0 : VSOCK_BUF_ALLOC - used;

	if (c->state != VSOCK_CONN_ESTABLISHED ||
	    (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND))
		return;
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_CREDIT_STEP ||
	    (c->fwd_cnt != c->fwd_cnt_sent && guest_view < VSOCK_CREDIT_LOW)) {
		c->pending |= VSOCK_P_CREDIT_UPDATE;
		rx_list_add(c);
	}
}

/* A send that must not block or raise SIGPIPE; -errno, -EAGAIN as 0. */
static ssize_t host_send(int fd, const struct iovec *iov, unsigned int nr)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = nr };
	ssize_t n;

	do {
		n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return n;
}

static void buf_append(struct vsock_buf *b, const struct iovec *iov,
		       unsigned int nr, u64 skip, u32 len)
{
	u32 tail = (b->head + b->len) % VSOCK_BUF_ALLOC;
	u32 first = MIN(len, VSOCK_BUF_ALLOC - tail);

	iov_copy_from(iov, nr, skip, b->data + tail, first);
	iov_copy_from(iov, nr, skip + first, b->data, len - first);
	b->len += len;
}

/* Write what waits for the host socket; apply the guest's shutdowns. */
static void conn_flush(struct vsock_conn *c)
{
	struct vsock_buf *b = &c->out;
	struct iovec iov[2];
	ssize_t n;
	u32 first;

	if (c->state != VSOCK_CONN_ESTABLISHED)
		return;
	while (c->prefix_len) {
		iov[0] = (struct iovec){ c->prefix + c->prefix_off,
					 c->prefix_len };
		n = host_send(c->fd, iov, 1);
		if (n <= 0)
			goto out;
		c->prefix_off += n;
		c->prefix_len -= n;
	}
	while (b->len) {
		first = MIN(b->len, VSOCK_BUF_ALLOC - b->head);
		iov[0] = (struct iovec){ b->data + b->head, first };
		iov[1] = (struct iovec){ b->data, b->len - first };
		n = host_send(c->fd, iov, b->len > first ? 2 : 1);
		if (n <= 0)
			goto out;
		b->head = (b->head + n) % VSOCK_BUF_ALLOC;
		b->len -= n;
		c->fwd_cnt += n;
	}
	buf_free(c);
	if ((c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (c->guest_shut == SHUT_BOTH) {
		/* The guest closed it: Linux waits for our RST to let go. */
		conn_reset(c);
		return;
	}
	n = 0;
out:
	if (n < 0) {
		conn_reset(c);
		return;
	}
	conn_credit_check(c);
}

static void conn_guest_data(struct vsock_conn *c, const struct iovec *payload,
			    unsigned int nr, u32 len)
{
	struct vsock *vs = c->vs;
	ssize_t n = 0;

	if (c->state != VSOCK_CONN_ESTABLISHED ||
	    (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		conn_reset(c);
		return;
	}
	if (!len)
		return;
	if (c->rx_cnt + len - c->fwd_cnt > VSOCK_BUF_ALLOC) {
		vs->stats.bad_packets++;
		pr_warn_ratelimited("virtio-vsock: the guest sent beyond its credit on port %u; reset",
				    c->host_port);
		conn_reset(c);
		return;
	}
	c->rx_cnt += len;
	vs->stats.bytes_from_guest += len;
	if (!c->out.len && !c->prefix_len) {
		n = host_send(c->fd, payload, nr);
		if (n < 0) {
			/* The host program has gone (EPIPE, ECONNRESET). */
			conn_reset(c);
			return;
		}
		c->fwd_cnt += n;
	}
	if ((u32)n < len) {
		if (!buf_alloc(c)) {
			pr_warn_ratelimited("virtio-vsock: out of memory; reset a connection");
			conn_reset(c);
			return;
		}
		/* Fits: the credit check bounds what is unforwarded. */
		buf_append(&c->out, payload, nr, n, len - n);
		if (c->out.len > vs->stats.max_buffered)
			vs->stats.max_buffered = c->out.len;
	}
	conn_credit_check(c);
}

static void conn_guest_shutdown(struct vsock_conn *c, u32 flags)
{
	if (c->state != VSOCK_CONN_ESTABLISHED) {
		conn_reset(c);
		return;
	}
	c->guest_shut |= flags & SHUT_BOTH;
	/* Nothing more will be read: the host program's writes fail. */
	if ((flags & VIRTIO_VSOCK_SHUTDOWN_RCV))
		shutdown(c->fd, SHUT_RD);
	conn_flush(c);
}

/* A REQUEST from the guest: connect to "<uds>_<port>", never waiting. */
static void conn_from_guest(struct vsock *vs, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	u32 gp = le32toh(h->src_port), hp = le32toh(h->dst_port);
	struct vsock_conn *c;
	int fd;

	if (vs->nr_conns >= VSOCK_MAX_CONNS) {
		pr_warn_ratelimited("virtio-vsock: %d connections open; refusing more",
				    VSOCK_MAX_CONNS);
		goto refuse;
	}
	/* vsock_mux_init() checked that every port fits. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_%u", vs->uds, hp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		pr_debug("virtio-vsock: guest port %u -> %s: %s\n", gp,
			 sun.sun_path, strerror(errno));
		close(fd);
		goto refuse;
	}
	c = conn_new(vs, gp, hp, fd, VSOCK_CONN_ESTABLISHED);
	if (!c || vsock_mux_watch(vs, c, true)) {
		if (c)
			conn_release(c);
		else
			close(fd);
		goto refuse;
	}
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->pending |= VSOCK_P_RESPONSE;
	rx_list_add(c);
	return;
refuse:
	vsock_queue_rst(vs, gp, hp);
}

int vsock_conn_from_host(struct vsock *vs, int fd, u32 port)
{
	struct vsock_conn *c;
	u32 hp;
	int tries;

	if (vs->nr_conns >= VSOCK_MAX_CONNS)
		return -EMFILE;
	for (tries = 0; tries < 64; tries++) {
		hp = vs->next_local_port++;
		if (vs->next_local_port == 0)
			vs->next_local_port = VSOCK_LOCAL_PORT_MIN;
		if (!conn_find(vs, port, hp))
			break;
	}
	if (tries == 64)
		return -EADDRINUSE;
	c = conn_new(vs, port, hp, fd, VSOCK_CONN_LOCAL_INIT);
	if (!c)
		return -ENOMEM;
	if (vsock_mux_watch(vs, c, false)) {
		c->fd = -1;	/* still the caller's */
		conn_release(c);
		return -EIO;
	}
	c->pending |= VSOCK_P_REQUEST;
	rx_list_add(c);
	return 0;
}

/* The guest's credit, as every header of the connection tells it. */
static void conn_peer_update(struct vsock_conn *c,
			     const struct virtio_vsock_hdr *h)
{
	u32 before = conn_peer_credit(c);

	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (conn_peer_credit(c) > before || !before)
		c->credit_requested = false;
}

static void conn_established(struct vsock_conn *c)
{
	c->state = VSOCK_CONN_ESTABLISHED;
	/* Firecracker's answer to CONNECT, before any of the guest's bytes. */
	c->prefix_len = snprintf(c->prefix, sizeof(c->prefix), "OK %u\n",
				 c->host_port);
	c->prefix_off = 0;
	conn_flush(c);
}

void vsock_conn_recv(struct vsock *vs, const struct virtio_vsock_hdr *h,
		     const struct iovec *payload, unsigned int nr)
{
	u32 gp = le32toh(h->src_port), hp = le32toh(h->dst_port);
	u16 op = le16toh(h->op);
	struct vsock_conn *c = conn_find(vs, gp, hp);

	if (c && c->state == VSOCK_CONN_DEAD)
		return;		/* an RST is on its way */
	if (le16toh(h->type) != VIRTIO_VSOCK_TYPE_STREAM) {
		vs->stats.bad_packets++;
		pr_warn_ratelimited("virtio-vsock: packet of socket type %u; only streams are offered",
				    le16toh(h->type));
		if (c)
			conn_reset(c);
		else if (op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(vs, gp, hp);
		return;
	}
	if (!c) {
		if (op == VIRTIO_VSOCK_OP_REQUEST)
			conn_from_guest(vs, h);
		else if (op != VIRTIO_VSOCK_OP_RST)
			/* §5.10.6.4: no such connection. */
			vsock_queue_rst(vs, gp, hp);
		return;
	}
	conn_peer_update(c, h);
	if (c->state == VSOCK_CONN_LOCAL_INIT && op != VIRTIO_VSOCK_OP_RESPONSE &&
	    op != VIRTIO_VSOCK_OP_RST) {
		conn_reset(c);
		return;
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == VSOCK_CONN_LOCAL_INIT)
			conn_established(c);
		else
			conn_reset(c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		conn_close(c);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		conn_guest_shutdown(c, le32toh(h->flags));
		break;
	case VIRTIO_VSOCK_OP_RW:
		conn_guest_data(c, payload, nr, le32toh(h->len));
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_P_CREDIT_UPDATE;
		break;
	default:
		/* REQUEST for a live connection, or an op we do not know. */
		vs->stats.bad_packets++;
		pr_warn_ratelimited("virtio-vsock: unexpected op %u on port %u; reset",
				    op, hp);
		conn_reset(c);
		return;
	}
	conn_kick(c);
}

/* ---- host socket events ---- */

void vsock_conn_host_event(struct vsock_conn *c, u32 events)
{
	if (c->state == VSOCK_CONN_DEAD)
		return;
	if (events & EPOLLERR) {
		conn_reset(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		c->host_readable = true;
	/*
	 * Both directions shut.  After our own shutdown(SHUT_WR) that only
	 * means the host program shut its write side, which EOF tells.
	 */
	if ((events & EPOLLHUP) && !c->wr_shut) {
		c->host_hup = true;
		if (c->host_eof && !(c->shut_sent & VIRTIO_VSOCK_SHUTDOWN_RCV))
			conn_host_eof(c);
	}
	if (events & EPOLLOUT)
		conn_flush(c);
	conn_kick(c);
}

void vsock_conn_recheck_all(struct vsock *vs)
{
	struct vsock_conn *c;
	unsigned int i;

	for (i = 0; i < VSOCK_HASH_SIZE; i++) {
		for (c = vs->hash[i]; c; c = c->hnext) {
			if (c->state == VSOCK_CONN_DEAD)
				continue;
			c->host_readable = true;
			conn_flush(c);
			conn_kick(c);
		}
	}
}
