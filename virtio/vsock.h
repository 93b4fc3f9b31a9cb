/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-vsock (virtio 1.2 §5.10): stream sockets between the guest and
 * host programs, bridged to Unix sockets the way Firecracker's hybrid
 * vsock does it:
 *
 *   - a host program connects to the device's Unix socket (--vsock-uds,
 *     default $HOME/.lkvm/NAME.vsock), writes "CONNECT <port>\n" and, once
 *     a guest program listening on <port> accepted, reads "OK <hostport>\n";
 *     from then on the bytes are the guest program's.  If nothing listens
 *     in the guest, the host socket is closed.
 *   - a guest program that connects to CID 2 (the host), port P, is
 *     connected to the host program listening on the Unix socket
 *     "<uds>_P"; if nothing listens there, the guest gets a reset
 *     (ECONNRESET).
 *
 * Everything runs on the I/O thread and never blocks: every host socket is
 * non-blocking, and credit-based flow control (§5.10.6.3) bounds what lkvm
 * buffers per connection, so a slow host program stalls only its own
 * connection.  Half-closes go through both ways: the guest's
 * SHUTDOWN(SEND) becomes shutdown(SHUT_WR) on the host socket, and the
 * host's EOF becomes SHUTDOWN(SEND), nothing more.
 *
 * The device never sees the VM: it gets guest memory, the I/O loop and its
 * Unix socket path.  virtio/vsock-module.c is its entry in the device table.
 */
#ifndef LKVM_VIRTIO_VSOCK_H
#define LKVM_VIRTIO_VSOCK_H

#include "kvm/device.h"
#include "kvm/ioloop.h"
#include "kvm/mem.h"
#include "virtio/virtio.h"

/* The CID lkvm gives the guest when vsock is wanted but --vsock is not. */
#define VSOCK_DEFAULT_CID 3

struct vsock;

/*
 * Create the device for guest CID @cid, listening on the Unix socket
 * @uds (created 0600; its directory must exist).  Host events are served
 * from @loop, which must not be running yet.  Errors: -EINVAL for a CID
 * the guest cannot have, -ENAMETOOLONG if "<uds>_<port>" would not fit a
 * sockaddr_un, -EADDRINUSE if another program listens on @uds, or what
 * socket/bind said.
 */
int vsock_create(u64 cid, const char *uds, const struct guest_mem *mem,
		 struct ioloop *loop, struct vsock **vs);
struct virtio_dev *vsock_dev(struct vsock *vs);
/* Closes every connection and removes the Unix socket. */
void vsock_destroy(struct vsock *vs);

/*
 * Serve the host side: the Unix socket, connections in their handshake,
 * and every bridged host socket.  The I/O loop calls this when the
 * device's epoll fd is readable; tests call it directly.
 */
void vsock_host_poll(struct vsock *vs);

/* For --stats and tests. */
struct vsock_stats {
	unsigned long long conns_open;
	unsigned long long conns_total;
	unsigned long long bytes_to_guest;
	unsigned long long bytes_from_guest;
	unsigned long long rst_sent;
	unsigned long long bad_packets;
	unsigned long long max_buffered;	/* most bytes held for one host peer */
	unsigned long long buffers;		/* bytes of buffers allocated now */
	unsigned long long max_buffers;		/* ... at most, all peers together */
};
void vsock_get_stats(struct vsock *vs, struct vsock_stats *s);

/* --vsock, --vsock-uds: the device table's entry (builtin-cmds/run-devices.c). */
extern const struct dev_module vsock_module;

/*
 * For `lkvm run -- CMD` and --agent (builtin-cmds/): make sure the VM gets
 * a vsock device, with the default CID unless --vsock chose one, and tell
 * where its Unix socket will be (@name is the VM's name).  @state is the
 * module's slot in run's state array.  0 or -ENOMEM/-ENAMETOOLONG.
 */
int vsock_module_want(void **state);
int vsock_module_uds(void *state, const char *name, char *buf, size_t len);

#endif
