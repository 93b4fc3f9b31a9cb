// SPDX-License-Identifier: GPL-2.0
/*
 * The tap backend: frames to and from a tap interface on the host
 * (Documentation/networking/tuntap.rst).
 *
 * We open /dev/net/tun and attach to the tap named by tapif=, which
 * TUNSETIFF creates if it does not exist (that needs CAP_NET_ADMIN; the
 * tap then lives as long as lkvm holds it) or joins if it does (a tap
 * made with `ip tuntap add NAME mode tap user $USER` needs no privilege).
 *
 * With IFF_VNET_HDR and TUNSETVNETHDRSZ 12, every frame read or written
 * starts with a virtio-net header in the layout the guest uses, so frames
 * go between the tap and guest memory untouched, checksum and TSO
 * requests included: the guest may send unchecksummed 64 KiB TSO frames,
 * which the host's stack segments or forwards as they are.  Receiving
 * such frames takes TUNSETOFFLOAD, which we set from the offloads the
 * guest accepted, each time it activates the device.  A kernel without
 * IFF_VNET_HDR gets plain frames and the guest no offloads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include "virtio/iov.h"
#include "virtio/net-proc.h"
#include "virtio/net-tap.h"

#define TUN_PATH "/dev/net/tun"
#define TAP_SCRIPT_MS 30000
/* What TUNSETOFFLOAD is asked for when the guest takes everything. */
#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
/* The excess of a frame longer than the guest's buffers lands here. */
#define TAP_SCRATCH (NET_HDR_LEN + NET_FRAME_MAX + 1)
#define TAP_IOV_MAX 1024

struct net_tap {
	struct net_backend be;
	bool vnet;		/* frames carry a virtio-net header */
	u8 *scratch;
	struct iovec iov[TAP_IOV_MAX + 2];
};

static ssize_t tap_rx_peek(struct net_backend *be)
{
	return 0;	/* a datagram: its length is known once read */
}

/* A tap that went away (ip link del) reads and writes EBADFD. */
static ssize_t tap_errno(int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return -EAGAIN;
	if (e == EBADFD)
		return -EPIPE;
	/* tun: writes to a tap that is down fail EIO. */
	if (e == EIO)
		return -ENETDOWN;
	return -e;
}

/*
 * The guest's buffers, then a scratch buffer: a frame longer than them
 * is read whole and its length seen, never cut short unnoticed.
 */
static ssize_t tap_recv(struct net_backend *be, const struct iovec *iov,
			unsigned int n)
{
	struct net_tap *t = container_of(be, struct net_tap, be);
	static const struct virtio_net_hdr_v1 zero;
	u64 cap = iov_length(iov, n);
	ssize_t r;
	int cnt;

	if (t->vnet) {
		if (n > TAP_IOV_MAX)
			return -E2BIG;
		memcpy(t->iov, iov, n * sizeof(*iov));
		cnt = (int)n;
	} else {
		/* Leave room for the header we write ourselves. */
		cnt = iov_slice(t->iov, TAP_IOV_MAX, iov, n, NET_HDR_LEN,
				cap - NET_HDR_LEN);
		if (cnt < 0)
			return cnt;
	}
	t->iov[cnt].iov_base = t->scratch;
	t->iov[cnt].iov_len = TAP_SCRATCH;
	r = readv(be->fd, t->iov, cnt + 1);
	if (r < 0)
		return tap_errno(errno);
	if (t->vnet)
		return r;
	iov_copy_to(iov, n, 0, &zero, sizeof(zero));
	return r + NET_HDR_LEN;
}

static int tap_send(struct net_backend *be, const struct virtio_net_hdr_v1 *hdr,
		    const struct iovec *iov, unsigned int n, size_t len)
{
	struct net_tap *t = container_of(be, struct net_tap, be);
	unsigned int skip = t->vnet ? 0 : 1;
	ssize_t r;

	if (n > TAP_IOV_MAX)
		return -E2BIG;
	t->iov[0].iov_base = (void *)hdr;
	t->iov[0].iov_len = NET_HDR_LEN;
	memcpy(t->iov + 1, iov, n * sizeof(*iov));
	/* One write is one frame. */
	r = writev(be->fd, t->iov + skip, (int)(n + 1 - skip));
	if (r < 0)
		return (int)tap_errno(errno);
	return 0;
}

static int tap_set_offloads(struct net_backend *be, unsigned int flags)
{
	return ioctl(be->fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}

static void tap_why_gone(struct net_backend *be, char *buf, size_t len)
{
	snprintf(buf, len, "tap %s went away", be->ifname);
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = container_of(be, struct net_tap, be);

	if (be->fd >= 0)
		close(be->fd);
	free(t->scratch);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.rx_peek = tap_rx_peek,
	.recv = tap_recv,
	.send = tap_send,
	.set_offloads = tap_set_offloads,
	.why_gone = tap_why_gone,
	.destroy = tap_destroy,
};

/* ---- opening ---- */

static int tap_fail(char *err, size_t len, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int tap_fail(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return r;
}

static int tap_open_tun(char *err, size_t len)
{
	int fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		return fd;
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		return tap_fail(err, len, -e,
				"no %s: the host has no tun driver (modprobe tun)",
				TUN_PATH);
	return tap_fail(err, len, -e, "cannot open %s: %s", TUN_PATH,
			strerror(e));
}

/* TUNSETIFF said no: say why, in the user's terms. */
static int tap_setiff_error(const char *name, bool existed, int e, char *err,
			    size_t len)
{
	if (e == EPERM && !existed)
		return tap_fail(err, len, -e,
				"creating tap %s needs CAP_NET_ADMIN: run as root, or create it first with 'ip tuntap add %s mode tap user $USER'",
				*name ? name : "(any name)", *name ? name : "NAME");
	if (e == EPERM)
		return tap_fail(err, len, -e,
				"no permission to use tap %s: it belongs to another user (see 'ip tuntap add %s mode tap user $USER')",
				name, name);
	if (e == EBUSY)
		return tap_fail(err, len, -e,
				"tap %s is busy: another process has it open",
				name);
	if (e == EINVAL && existed)
		return tap_fail(err, len, -e,
				"%s exists and is not a single-queue tap device",
				name);
	return tap_fail(err, len, -e, "cannot attach to tap %s: %s",
			*name ? name : "(new)", strerror(e));
}

static int tap_attach(struct net_tap *t, const char *name, bool vnet,
		      char *err, size_t len)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	bool existed = *name && if_nametoindex(name);
	int fd = tap_open_tun(err, len), e, hdr = NET_HDR_LEN;

	if (fd < 0)
		return fd;
	if (vnet)
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return tap_setiff_error(name, existed, e, err, len);
	}
	if (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		close(fd);
		return -EOPNOTSUPP;
	}
	t->be.fd = fd;
	t->vnet = vnet;
	snprintf(t->be.ifname, sizeof(t->be.ifname), "%s", ifr.ifr_name);
	return 0;
}

/*
 * What the guest may use: with a virtio-net header the tap takes our
 * checksum and TSO requests as they are; receiving them needs
 * TUNSETOFFLOAD, probed here and left off until the guest asks.
 */
static void tap_probe_offloads(struct net_tap *t)
{
	if (!t->vnet)
		return;
	t->be.features |= NET_F_HOST_OFFLOADS;
	if (!ioctl(t->be.fd, TUNSETOFFLOAD, TAP_OFFLOADS))
		t->be.features |= NET_F_GUEST_OFFLOADS;
	ioctl(t->be.fd, TUNSETOFFLOAD, 0);
}

static u16 tap_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (s >= 0) {
		r = ioctl(s, SIOCGIFMTU, &ifr);
		close(s);
	}
	if (r < 0 || ifr.ifr_mtu < 68 || ifr.ifr_mtu > 65535)
		return ETH_DATA_LEN;
	return (u16)ifr.ifr_mtu;
}

/* kvmtool's script=: run it with the tap's name, as its ifup would be. */
static int tap_run_script(const char *script, const char *ifname, char *err,
			  size_t len)
{
	char *argv[] = { (char *)script, (char *)ifname, NULL };
	struct net_spawn s = { .argv = argv, .out_fd = STDERR_FILENO,
			       .err_fd = -1 };
	char how[96];
	pid_t pid;
	int r, status;

	r = net_find_program(script);
	if (!r)
		r = net_spawn(&s, &pid);
	if (r)
		return tap_fail(err, len, r, "cannot run script %s: %s", script,
				strerror(-r));
	r = net_wait(pid, TAP_SCRIPT_MS, &status);
	if (r == -ETIMEDOUT) {
		net_kill(pid, 100);
		return tap_fail(err, len, r, "script %s %s did not finish in %d s",
				script, ifname, TAP_SCRIPT_MS / 1000);
	}
	if (r)
		return tap_fail(err, len, r, "script %s: %s", script,
				strerror(-r));
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	net_describe_status(status, how, sizeof(how));
	return tap_fail(err, len, -EIO, "script %s %s %s", script, ifname, how);
}

static struct net_tap *tap_alloc(void)
{
	struct net_tap *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->be = (struct net_backend){ .ops = &tap_ops, .mode = "tap", .fd = -1,
				      .aux_fd = -1, .mtu = ETH_DATA_LEN,
				      .frame_max = NET_FRAME_MAX };
	t->scratch = malloc(TAP_SCRATCH);
	if (!t->scratch) {
		free(t);
		return NULL;
	}
	return t;
}

int net_tap_open_fd(int fd, bool vnet, const char *name,
		    struct net_backend **out)
{
	struct net_tap *t = tap_alloc();

	if (!t)
		return -ENOMEM;
	t->be.fd = fd;
	t->vnet = vnet;
	if (vnet)
		t->be.features |= NET_F_HOST_OFFLOADS | NET_F_GUEST_OFFLOADS;
	snprintf(t->be.ifname, sizeof(t->be.ifname), "%s", name);
	*out = &t->be;
	return 0;
}

int net_tap_open(const char *name, const char *script,
		 struct net_backend **out, char *err, size_t len)
{
	struct net_tap *t = tap_alloc();
	unsigned int features = 0;
	int r, fd;

	if (!t)
		return tap_fail(err, len, -ENOMEM, "out of memory");
	fd = tap_open_tun(err, len);
	if (fd < 0) {
		r = fd;
		goto err;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	close(fd);
	r = tap_attach(t, name, features & IFF_VNET_HDR, err, len);
	/* A header size the kernel refuses: plain frames, no offloads. */
	if (r == -EOPNOTSUPP)
		r = tap_attach(t, name, false, err, len);
	if (r)
		goto err;
	tap_probe_offloads(t);
	t->be.mtu = tap_mtu(t->be.ifname);
	if (script && strcmp(script, "none")) {
		r = tap_run_script(script, t->be.ifname, err, len);
		if (r)
			goto err;
	}
	*out = &t->be;
	return 0;

err:
	tap_destroy(&t->be);
	return r;
}
