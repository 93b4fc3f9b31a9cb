// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock's entry in the device table: --vsock CID (kvmtool's flag)
 * and --vsock-uds PATH.  Either one gives the VM a vsock device; so do
 * `lkvm run -- CMD` and --agent, through vsock_module_want().
 *
 * The Unix socket defaults to $HOME/.lkvm/NAME.vsock, beside the control
 * socket; it is created 0600 and removed when lkvm exits.  Host programs
 * reach guest port P with "CONNECT P\n" on it, and guest programs reach a
 * host program listening on "<socket>_P" (virtio/vsock.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "kvm/control.h"
#include "kvm/log.h"
#include "kvm/vm-control.h"
#include "kvm/vm.h"
#include "virtio/transport.h"
#include "virtio/vsock.h"

enum { OPT_CID, OPT_UDS };

struct vsock_opts {
	u64 cid;		/* 0: the default */
	char *uds;		/* NULL: the default */
};

static int vsock_opt_parse(void **state, unsigned int idx, const char *arg,
			   char *err)
{
	struct vsock_opts *o = *state;
	unsigned long long cid;
	char *end;

	if (!o && !(o = *state = calloc(1, sizeof(*o))))
		return -ENOMEM;
	if (idx == OPT_UDS) {
		if (!*arg) {
			snprintf(err, DEV_ERR_MAX, "--vsock-uds needs a path");
			return -EINVAL;
		}
		free(o->uds);
		return (o->uds = strdup(arg)) ? 0 : -ENOMEM;
	}
	errno = 0;
	cid = strtoull(arg, &end, 0);
	/* §5.10.4: 0, 1 and 2 are taken, and only 32 bits are used. */
	if (errno || !*arg || *end || *arg == '-' || cid <= 2 ||
	    cid >= 0xffffffffULL) {
		snprintf(err, DEV_ERR_MAX,
			 "--vsock %s: the guest's CID must be a number from 3 to 4294967294",
			 arg);
		return -EINVAL;
	}
	o->cid = cid;
	return 0;
}

static void vsock_opt_free(void *state)
{
	struct vsock_opts *o = state;

	if (o)
		free(o->uds);
	free(o);
}

int vsock_module_want(void **state)
{
	if (!*state)
		*state = calloc(1, sizeof(struct vsock_opts));
	return *state ? 0 : -ENOMEM;
}

int vsock_module_uds(void *state, const char *name, char *buf, size_t len)
{
	struct vsock_opts *o = state;
	struct sockaddr_un sun;
	size_t d;
	int n, r;

	if (o && o->uds) {
		n = snprintf(buf, len, "%s", o->uds);
	} else {
		r = control_sock_dir(buf, len);
		if (r)
			return r;
		d = strlen(buf);
		n = snprintf(buf + d, len - d, "/%s.vsock", name);
		if (n >= 0)
			n += d;
	}
	if (n < 0 || (size_t)n >= len ||
	    (size_t)n + sizeof("_4294967295") > sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Each connection holds a host fd, and 1024 (a common soft limit) is not
 * enough for a thousand of them beside lkvm's own: take what the hard
 * limit allows, up to what the device can use.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = 2 * 4096 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
			      want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * Beside the device: its --stats lines, and the vsock-path control
 * request, which tells lkvm exec and lkvm stop --graceful where to
 * connect (a --vsock-uds path is nowhere else to be found).
 */
struct vsock_stats_dev {
	struct vm_device vmdev;
	struct vsock *vs;
	char uds[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* On the control thread: the path never changes. */
static int vsock_path_request(void *opaque, const struct control_req *q,
			      struct control_reply *r)
{
	struct vsock_stats_dev *d = opaque;

	return control_reply_printf(r, "%s", d->uds) < 0 ? -EMSGSIZE : 0;
}

static void vsock_stats_print(struct vm_device *dev, FILE *f)
{
	struct vsock_stats_dev *d = dev->priv;
	struct vsock_stats s;

	vsock_get_stats(d->vs, &s);
	fprintf(f, "  vsock: %llu connections (%llu open), %llu bytes to the guest, %llu from it\n",
		s.conns_total, s.conns_open, s.bytes_to_guest,
		s.bytes_from_guest);
	fprintf(f, "  vsock: %llu resets sent, %llu bad packets, at most %llu bytes held for one host peer\n",
		s.rst_sent, s.bad_packets, s.max_buffered);
	fprintf(f, "  vsock: at most %llu KiB of buffers for host peers at once\n",
		s.max_buffers >> 10);
}

static void vsock_stats_destroy(struct vm_device *dev)
{
	free(dev->priv);
}

/* Migration: no guest state here; the device itself migrates. */
static int vsock_stats_save(struct vm_device *dev, struct state_out *out)
{
	return 0;
}

static int vsock_stats_load(struct vm_device *dev, struct state_in *in)
{
	return 0;
}

static const struct vm_device_ops vsock_stats_ops = {
	.stats = vsock_stats_print,
	.destroy = vsock_stats_destroy,
	.save = vsock_stats_save,
	.load = vsock_stats_load,
};

static int add_stats(struct vm *vm, struct vsock *vs, const char *uds)
{
	struct vsock_stats_dev *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->vs = vs;
	snprintf(d->uds, sizeof(d->uds), "%s", uds);
	d->vmdev = (struct vm_device){ .ops = &vsock_stats_ops,
				       .name = "vsock-stats", .priv = d };
	r = vm_add_device(vm, &d->vmdev);
	if (r) {
		free(d);
		return r;
	}
	return vm_control_register(vm, CONTROL_CMD_VSOCK_PATH,
				   vsock_path_request, d);
}

static const char *create_error(int r)
{
	switch (r) {
	case -EADDRINUSE:
		return "another program listens on it";
	case -EEXIST:
		return "a file that is not a socket is in the way";
	case -ENAMETOOLONG:
		return "path too long for a Unix socket (with _PORT appended)";
	default:
		return strerror(-r);
	}
}

static int vsock_opt_create(struct vm *vm, void *state)
{
	struct vsock_opts *o = state;
	char uds[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[sizeof(uds)];
	struct vsock *vs;
	int r;

	if (!o)
		return 0;
	r = vsock_module_uds(o, vm->cfg.name, uds, sizeof(uds));
	if (r) {
		pr_err("vsock socket for '%s': %s", vm->cfg.name, create_error(r));
		return r;
	}
	/* The default place is the control socket's directory, 0700. */
	if (!o->uds && !control_sock_dir(dir, sizeof(dir)) &&
	    mkdir(dir, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	raise_fd_limit();
	r = vsock_create(o->cid ? o->cid : VSOCK_DEFAULT_CID, uds, &vm->mem,
			 &vm->loop, &vs);
	if (r) {
		pr_err("vsock socket %s: %s", uds, create_error(r));
		return r;
	}
	r = virtio_transport_add(vm, vsock_dev(vs), "vsock");
	if (!r)
		r = add_stats(vm, vs, uds);
	if (r)
		pr_err("cannot attach the vsock device: %s", strerror(-r));
	return r;
}

static const struct dev_option vsock_options[] = {
	[OPT_CID] = { "vsock", 0, "CID",
		      "virtio-vsock with this guest CID (default 3, when\n"
		      "only --vsock-uds, -- CMD or --agent ask for it)" },
	[OPT_UDS] = { "vsock-uds", 0, "PATH",
		      "host side of vsock: \"CONNECT PORT\\n\" on PATH reaches\n"
		      "guest PORT; guest connects to CID 2 port P reach\n"
		      "PATH_P (default $HOME/.lkvm/NAME.vsock)" },
	{ NULL },
};

const struct dev_module vsock_module = {
	.name = "virtio-vsock",
	.options = vsock_options,
	.parse = vsock_opt_parse,
	.create = vsock_opt_create,
	.free_state = vsock_opt_free,
};
