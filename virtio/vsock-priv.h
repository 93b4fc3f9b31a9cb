/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside virtio-vsock, shared by its three files:
 *
 *   vsock.c       the device: virtqueues, packet parsing, the event queue,
 *                 reset;
 *   vsock-conn.c  connections: the state machine of §5.10.6, credit
 *                 accounting, and the bytes to and from their host sockets;
 *   vsock-mux.c   the host side: the Unix socket, the "CONNECT <port>\n"
 *                 handshake, and the epoll set of every host socket.
 *
 * Threads.  Everything here runs on the I/O thread, except the device
 * reset (vsock_reset_conns()), which may run on a vCPU thread but only
 * while the I/O thread is outside the device (virtio.h): so connections
 * are touched only between virtio_enter() and virtio_leave(), or by the
 * reset.  The Unix listener and the handshakes belong to the I/O thread
 * alone and survive a reset.
 */
#ifndef LKVM_VIRTIO_VSOCK_PRIV_H
#define LKVM_VIRTIO_VSOCK_PRIV_H

#include <sys/uio.h>
#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>

#include "virtio/vsock.h"

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_RX_QUEUE 0
#define VSOCK_TX_QUEUE 1
#define VSOCK_EVENT_QUEUE 2
#define VSOCK_NR_QUEUES 3

#define VSOCK_HDR_SIZE sizeof(struct virtio_vsock_hdr)	/* 44 */
/*
 * The largest payload we take in one packet, and put in one: Linux's
 * VIRTIO_VSOCK_MAX_PKT_BUF_SIZE.  A longer one is a broken packet.
 */
#define VSOCK_MAX_PKT (64 * 1024)
/*
 * What each connection may buffer from the guest for a host program that
 * is not reading (buf_alloc in every header we send; Linux's default).
 * The guest sends no more until we forward some and say so.
 */
#ifndef VSOCK_BUF_ALLOC
#define VSOCK_BUF_ALLOC (256 * 1024)
#endif
/*
 * Tell the guest about forwarded bytes every this many (one update per
 * packet's worth keeps its window open across a round trip, which in a
 * nested setup takes milliseconds), or at once when its credit runs low.
 */
#define VSOCK_CREDIT_STEP VSOCK_MAX_PKT
#define VSOCK_CREDIT_LOW VSOCK_MAX_PKT

/* Connections at once; each holds a host fd (lkvm raises RLIMIT_NOFILE). */
#define VSOCK_MAX_CONNS 4096
/* Host programs still to say "CONNECT <port>\n"; the oldest makes room. */
#define VSOCK_MAX_HANDSHAKES 64
#define VSOCK_HANDSHAKE_MAX 32		/* "CONNECT 4294967295\n" fits */
/* Resets owed for packets that matched no connection. */
#define VSOCK_RST_RING 256
/* Ports lkvm picks for host-initiated connections (Firecracker's range). */
#define VSOCK_LOCAL_PORT_MIN (1U << 30)

#define VSOCK_HASH_SIZE 1024

/* What a connection owes the guest, sent in this order. */
enum {
	VSOCK_P_RST = 1 << 0,		/* then it is freed */
	VSOCK_P_REQUEST = 1 << 1,	/* host-initiated: ask the guest */
	VSOCK_P_RESPONSE = 1 << 2,	/* guest-initiated: accepted */
	VSOCK_P_SHUTDOWN = 1 << 3,	/* flags in conn->shut_to_send */
	VSOCK_P_CREDIT_UPDATE = 1 << 4,
	VSOCK_P_CREDIT_REQUEST = 1 << 5,
};

enum vsock_conn_state {
	VSOCK_CONN_LOCAL_INIT,	/* host asked, REQUEST sent, no answer yet */
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_DEAD,	/* host fd closed; waits to send its RST */
};

/* Bytes from the guest that the host program has not taken yet. */
struct vsock_buf {
	u8 *data;		/* VSOCK_BUF_ALLOC bytes, while not empty */
	u32 head, len;
};

struct vsock_conn {
	struct vsock *vs;
	/* The key: the guest's port and ours (§5.10.6: src/dst ports). */
	u32 guest_port, host_port;
	int fd;				/* the host socket, -1 once closed */
	enum vsock_conn_state state;
	unsigned int pending;		/* VSOCK_P_* */
	u32 shut_to_send;		/* VIRTIO_VSOCK_SHUTDOWN_* to send */
	u32 shut_sent;			/* ... and already sent */

	/* Credit (§5.10.6.3): the guest's receive buffer... */
	u32 peer_buf_alloc, peer_fwd_cnt;
	u32 tx_cnt;			/* payload bytes we sent the guest */
	bool credit_requested;
	/* ... and ours. */
	u32 rx_cnt;			/* payload bytes the guest sent us */
	u32 fwd_cnt;			/* of those, written to the host socket */
	u32 fwd_cnt_sent;		/* fwd_cnt in the last header we sent */

	u32 guest_shut;			/* SHUTDOWN flags the guest sent */
	bool host_readable;		/* data (or EOF) may be waiting */
	bool host_eof;			/* the host program shut its write side */
	bool host_hup;			/* ... and its read side: it is gone */
	bool wr_shut;			/* we did shutdown(SHUT_WR) */
	struct vsock_buf out;
	/* "OK <port>\n" for a host-initiated connection, before any data. */
	char prefix[24];
	u8 prefix_len, prefix_off;

	struct vsock_conn *hnext;	/* hash chain */
	bool in_hash;
	struct vsock_conn *rx_next;	/* rx work list */
	bool on_rx_list;
	struct vsock_conn *dead_next;
	bool on_dead;			/* freed at the end of this pass */
};

/* A host program that connected and has yet to send its CONNECT line. */
struct vsock_handshake {
	int fd;				/* -1: free */
	unsigned long long seq;		/* age, for eviction */
	char line[VSOCK_HANDSHAKE_MAX];	/* what came before the '\n' */
	unsigned int len;
};

struct vsock_rst {
	u32 guest_port, host_port;
};

struct vsock {
	struct virtio_dev vdev;
	struct virtio_vsock_config config;
	u64 cid;

	/* Host side (vsock-mux.c). */
	struct ioloop *loop;
	struct io_event *loop_ev;
	int epfd;			/* every host fd, edge-triggered */
	int kick_fd;			/* eventfd: "call me again" */
	char *uds;
	int listen_fd;
	dev_t uds_dev;
	ino_t uds_ino;
	struct vsock_handshake hs[VSOCK_MAX_HANDSHAKES];
	unsigned long long hs_seq;
	/*
	 * Host events on connections that came while the device could not
	 * take them (not live, DMA off) were dropped: look at every
	 * connection again the next time in.  I/O thread only.
	 */
	bool recheck;

	/* Connections (vsock-conn.c): entered I/O thread, or the reset. */
	struct vsock_conn *hash[VSOCK_HASH_SIZE];
	unsigned int nr_conns;
	struct vsock_conn *rx_head, *rx_tail;
	unsigned int rx_len;		/* connections on the rx list */
	struct vsock_conn *dead;	/* freed at the end of each pass */
	struct vsock_rst rst[VSOCK_RST_RING];
	unsigned int rst_head, rst_len;
	u32 next_local_port;
	bool event_pending;		/* TRANSPORT_RESET owed to the guest */
	bool was_live;			/* activated once: later ones reset */

	/* The I/O thread's scratch: one chain at a time. */
	struct iovec iov[VSOCK_QUEUE_SIZE + 2];
	struct iovec slice[VSOCK_QUEUE_SIZE + 2];

	struct vsock_stats stats;	/* I/O thread; read at exit */
};

/* ---- vsock-conn.c ---- */

/*
 * A packet from the guest, its header already copied out and checked for
 * our addresses; @payload/@nr describe hdr->len bytes of it.
 */
void vsock_conn_recv(struct vsock *vs, const struct virtio_vsock_hdr *hdr,
		     const struct iovec *payload, unsigned int nr);
/*
 * Fill one rx chain (@in/@nr, at least VSOCK_HDR_SIZE bytes) with the next
 * packet owed to the guest.  Returns its length (header included), or 0
 * if nothing is owed now: the chain is then untouched.
 */
u32 vsock_conn_next_pkt(struct vsock *vs, const struct iovec *in,
			unsigned int nr, u64 in_len);
bool vsock_conn_rx_work(struct vsock *vs);
/* A host fd event (EPOLL* bits) on @c. */
void vsock_conn_host_event(struct vsock_conn *c, u32 events);
/* Every connection: assume its host socket is ready both ways. */
void vsock_conn_recheck_all(struct vsock *vs);
/* A host program said "CONNECT <port>": -errno if none can be made. */
int vsock_conn_from_host(struct vsock *vs, int fd, u32 port);
/* Close every connection now (reset, destroy).  Sends nothing. */
void vsock_conns_drop(struct vsock *vs);
/* Free the connections closed during this pass. */
void vsock_conns_reap(struct vsock *vs);
void vsock_queue_rst(struct vsock *vs, u32 guest_port, u32 host_port);

/* ---- vsock-mux.c ---- */

int vsock_mux_init(struct vsock *vs, const char *uds);
void vsock_mux_fini(struct vsock *vs);
/* Watch a connection's host fd (edge-triggered, both ways). */
int vsock_mux_watch(struct vsock *vs, struct vsock_conn *c, bool add);
/* Ask to be polled again soon: work was left for lack of budget. */
void vsock_mux_kick(struct vsock *vs);

/* ---- vsock.c ---- */

/* Move what is owed to the guest into the rx queue, and signal. */
void vsock_rx_run(struct vsock *vs);

#endif
