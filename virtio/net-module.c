// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's entry in the device table: `-n`, kvmtool's syntax,
 * repeatable (eth0, eth1, ... in order):
 *
 *   -n mode=tap[,tapif=NAME][,guest_mac=MAC][,script=PATH|none][,mtu=N]
 *   -n mode=user[,hostfwd=tcp|udp:[ADDR]:PORT-:PORT]...[,guest_mac=MAC][,mtu=N]
 *   -n none
 *
 * No -n means no NIC, as with `-n none`: a kernel test needs no network
 * unless it asks, and a NIC with no backend would only delay boot.
 *
 * Each NIC is a device on the platform's transport (virtio_transport_add())
 * and the backend it owns.  One more vm_device, "net", starts and stops
 * their I/O and prints their --stats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "kvm/control.h"
#include "kvm/log.h"
#include "kvm/vm-control.h"
#include "kvm/vm.h"
#include "virtio/net-passt.h"
#include "virtio/net-tap.h"
#include "virtio/net.h"
#include "virtio/transport.h"

#define NET_MAX_NICS 8
#define NET_MAX_FWD 16
#define NET_ERR_MAX 256

enum net_mode { NET_TAP, NET_USER };

struct net_nic_opts {
	enum net_mode mode;
	char tapif[IFNAMSIZ];
	char *script;
	bool has_mac;
	u8 mac[ETH_ALEN];
	u16 mtu;
	struct net_fwd fwd[NET_MAX_FWD];
	unsigned int nr_fwd;
};

struct net_opts {
	unsigned int nr;
	struct net_nic_opts nic[NET_MAX_NICS];
};

/* ---- parsing ---- */

static int opt_err(char *err, const char *arg, const char *fmt, const char *v)
{
	char why[200];

	snprintf(why, sizeof(why), fmt, v);
	snprintf(err, DEV_ERR_MAX, "-n %s: %s", arg, why);
	return -EINVAL;
}

static int parse_mtu(const char *v, u16 *mtu)
{
	char *end;
	unsigned long m = strtoul(v, &end, 10);

	if (*v < '0' || *v > '9' || *end || m < 68 || m > 65535)
		return -EINVAL;
	*mtu = (u16)m;
	return 0;
}

/* One key=value of a NIC. */
static int parse_key(struct net_nic_opts *n, const char *arg, char *key,
		     char *err)
{
	char *v = strchr(key, '='), fwd_err[128];

	if (!v)
		return opt_err(err, arg, "'%s' is not key=value", key);
	*v++ = 0;
	if (!strcmp(key, "tapif")) {
		if (!*v || strlen(v) >= IFNAMSIZ || strchr(v, '/') || strchr(v, ' '))
			return opt_err(err, arg, "tapif '%s' is not an interface name (1 to 15 characters)", v);
		strcpy(n->tapif, v);
	} else if (!strcmp(key, "script")) {
		free(n->script);
		n->script = strdup(v);
		if (!n->script)
			return -ENOMEM;
	} else if (!strcmp(key, "guest_mac")) {
		if (net_parse_mac(v, n->mac))
			return opt_err(err, arg, "guest_mac '%s' is not a unicast MAC address like 02:00:00:00:00:01", v);
		n->has_mac = true;
	} else if (!strcmp(key, "mtu")) {
		if (parse_mtu(v, &n->mtu))
			return opt_err(err, arg, "mtu '%s' is not 68 to 65535", v);
	} else if (!strcmp(key, "hostfwd")) {
		if (n->nr_fwd == NET_MAX_FWD)
			return opt_err(err, arg, "at most %s hostfwd", "16");
		if (net_parse_hostfwd(v, &n->fwd[n->nr_fwd], fwd_err,
				      sizeof(fwd_err)))
			return opt_err(err, arg, "%s", fwd_err);
		n->nr_fwd++;
	} else {
		return opt_err(err, arg, "unknown key '%s' (mode, tapif, guest_mac, script, mtu, hostfwd)", key);
	}
	return 0;
}

/* What one mode does not take. */
static int check_mode(struct net_nic_opts *n, const char *arg, char *err)
{
	if (n->mode == NET_TAP && n->nr_fwd)
		return opt_err(err, arg, "hostfwd is for %s", "mode=user");
	if (n->mode == NET_USER && (*n->tapif || n->script))
		return opt_err(err, arg, "tapif and script are for %s", "mode=tap");
	/* passt carries frames up to ETH_MAX_MTU, Ethernet header included. */
	if (n->mode == NET_USER && n->mtu > PASST_FRAME_MAX - ETH_HLEN)
		return opt_err(err, arg, "mtu: passt carries at most %s", "65521");
	return 0;
}

/* "mode=...,key=value,...": 0, 1 for none, or -EINVAL with err. */
static int parse_nic(struct net_nic_opts *n, const char *arg, char *err)
{
	char *s = strdup(arg), *tok, *save = NULL;
	int r = 0, mode = -1, keys = 0;

	if (!s)
		return -ENOMEM;
	memset(n, 0, sizeof(*n));
	for (tok = strtok_r(s, ",", &save); tok && !r;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "none") || !strcmp(tok, "mode=none"))
			mode = 2;
		else if (!strcmp(tok, "mode=tap"))
			mode = NET_TAP;
		else if (!strcmp(tok, "mode=user"))
			mode = NET_USER;
		else if (!strncmp(tok, "mode=", 5))
			r = opt_err(err, arg, "unknown %s (tap, user or none)", tok);
		else if (++keys)
			r = parse_key(n, arg, tok, err);
	}
	if (!r && mode == 2 && keys)
		r = opt_err(err, arg, "%s", "none takes no other keys");
	free(s);
	if (!r && mode < 0)
		r = opt_err(err, arg, "%s", "which mode? mode=tap, mode=user or none");
	n->mode = mode == NET_USER ? NET_USER : NET_TAP;
	if (!r && mode != 2)
		r = check_mode(n, arg, err);
	if (r) {
		free(n->script);
		n->script = NULL;
		return r;
	}
	return mode == 2 ? 1 : 0;
}

static int net_opt_parse(void **state, unsigned int idx, const char *arg,
			 char *err)
{
	struct net_opts *o = *state;
	int r;

	if (!o && !(o = *state = calloc(1, sizeof(*o))))
		return -ENOMEM;
	if (o->nr == NET_MAX_NICS) {
		snprintf(err, DEV_ERR_MAX, "at most %d NICs", NET_MAX_NICS);
		return -EINVAL;
	}
	r = parse_nic(&o->nic[o->nr], arg, err);
	if (r < 0)
		return r;
	if (r == 0)
		o->nr++;
	return 0;
}

static void net_opt_free(void *state)
{
	struct net_opts *o = state;
	unsigned int i;

	for (i = 0; o && i < o->nr; i++)
		free(o->nic[i].script);
	free(o);
}

/* ---- the "net" device: I/O, helpers and counters of every NIC ---- */

struct net_ctl {
	struct vm_device dev;
	unsigned int nr;
	struct virtio_net *nic[NET_MAX_NICS];
};

static int net_ctl_start(struct vm_device *dev)
{
	struct net_ctl *c = dev->priv;
	unsigned int i;
	int r = 0;

	for (i = 0; i < c->nr && !r; i++)
		r = net_start(c->nic[i]);
	return r;
}

static void net_ctl_stop(struct vm_device *dev)
{
	struct net_ctl *c = dev->priv;
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		net_stop(c->nic[i]);
}

static void net_ctl_stats(struct vm_device *dev, FILE *f)
{
	struct net_ctl *c = dev->priv;
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		net_print_stats(c->nic[i], f);
}

/* A JSON string: tap names may hold quotes and backslashes. */
static void json_str(struct control_reply *r, const char *s)
{
	control_reply_printf(r, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			control_reply_printf(r, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			control_reply_printf(r, "\\u%04x", *s);
		else
			control_reply_printf(r, "%c", *s);
	}
	control_reply_printf(r, "\"");
}

static void nic_json(struct virtio_net *net, struct control_reply *r)
{
	const struct net_backend *be = net_backend(net);
	const u8 *m = net_mac(net);
	struct net_stats s;

	net_get_stats(net, &s);
	control_reply_printf(r, "{\"name\": ");
	json_str(r, net_name(net));
	control_reply_printf(r, ", \"mode\": ");
	json_str(r, be->mode);
	control_reply_printf(r, ", \"ifname\": ");
	json_str(r, be->ifname);
	control_reply_printf(r,
		", \"mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\", \"mtu\": %u, "
		"\"link\": \"%s\", \"rx_frames\": %llu, \"rx_bytes\": %llu, "
		"\"tx_frames\": %llu, \"tx_bytes\": %llu, "
		"\"rx_dropped\": %llu, \"tx_dropped\": %llu, ",
		m[0], m[1], m[2], m[3], m[4], m[5], net_mtu(net),
		net_link_up(net) ? "up" : "down",
		(unsigned long long)s.rx_frames, (unsigned long long)s.rx_bytes,
		(unsigned long long)s.tx_frames, (unsigned long long)s.tx_bytes,
		(unsigned long long)net_rx_dropped(&s),
		(unsigned long long)net_tx_dropped(&s));
	control_reply_printf(r,
		"\"drops\": {\"rx_short\": %llu, \"rx_over_64k\": %llu, "
		"\"rx_no_room\": %llu, \"rx_offload\": %llu, \"rx_backend\": %llu, "
		"\"tx_short\": %llu, \"tx_too_long\": %llu, \"tx_bad_header\": %llu, "
		"\"tx_backend\": %llu, \"tx_link_down\": %llu}}",
		(unsigned long long)s.rx_drop_short,
		(unsigned long long)s.rx_drop_big,
		(unsigned long long)s.rx_drop_noroom,
		(unsigned long long)s.rx_drop_offload,
		(unsigned long long)s.rx_drop_error,
		(unsigned long long)s.tx_drop_short,
		(unsigned long long)s.tx_drop_big,
		(unsigned long long)s.tx_drop_hdr,
		(unsigned long long)s.tx_drop_error,
		(unsigned long long)s.tx_drop_down);
}

/* `lkvm list --json`: every NIC and its counters (control thread). */
static int net_ctl_info(void *opaque, const struct control_req *q,
			struct control_reply *r)
{
	struct net_ctl *c = opaque;
	unsigned int i;

	r->format = CONTROL_FMT_JSON;
	control_reply_printf(r, "[");
	for (i = 0; i < c->nr; i++) {
		control_reply_printf(r, "%s", i ? ", " : "");
		nic_json(c->nic[i], r);
	}
	return control_reply_printf(r, "]");
}

/* The NICs go with their transport, after this (added last, freed first). */
static void net_ctl_destroy(struct vm_device *dev)
{
	free(dev->priv);
}

/*
 * Migration: nothing of the guest's is here (each NIC migrates as its
 * virtio device), and the destination's -n opens its own backends.
 */
static int net_ctl_save(struct vm_device *dev, struct state_out *out)
{
	return 0;
}

static int net_ctl_load(struct vm_device *dev, struct state_in *in)
{
	return 0;
}

static const struct vm_device_ops net_ctl_ops = {
	.start = net_ctl_start,
	.stop = net_ctl_stop,
	.destroy = net_ctl_destroy,
	.stats = net_ctl_stats,
	.save = net_ctl_save,
	.load = net_ctl_load,
};

/* ---- creating the NICs ---- */

/* 02:4c:4b:56:4d:0N ("LKVM", locally administered), N the NIC's index. */
static void default_mac(u8 mac[ETH_ALEN], unsigned int i)
{
	static const u8 base[ETH_ALEN] = { 0x02, 0x4c, 0x4b, 0x56, 0x4d, 0x00 };

	memcpy(mac, base, ETH_ALEN);
	mac[5] = (u8)i;
}

static int open_backend(const struct net_nic_opts *n, struct net_backend **be,
			char *err)
{
	if (n->mode == NET_TAP)
		return net_tap_open(n->tapif, n->script, be, err, NET_ERR_MAX);
	return net_passt_open(n->mtu ? n->mtu : PASST_MTU, n->fwd, n->nr_fwd,
			      be, err, NET_ERR_MAX);
}

static int create_nic(struct vm *vm, const struct net_nic_opts *n,
		      unsigned int i, struct virtio_net **net)
{
	struct net_config cfg = { .mtu = n->mtu };
	char name[16], err[NET_ERR_MAX] = "";
	struct net_backend *be;
	int r;

	snprintf(name, sizeof(name), "eth%u", i);
	if (n->has_mac)
		memcpy(cfg.mac, n->mac, ETH_ALEN);
	else
		default_mac(cfg.mac, i);
	r = open_backend(n, &be, err);
	if (r) {
		pr_err("%s: %s", name, *err ? err : strerror(-r));
		return r;
	}
	r = net_create(name, be, &cfg, &vm->mem, &vm->loop, net);
	if (r) {
		pr_err("%s: cannot create the device: %s", name, strerror(-r));
		return r;
	}
	r = virtio_transport_add(vm, net_dev(*net), net_name(*net));
	if (r)
		pr_err("%s: cannot attach it: %s", name, strerror(-r));
	return r;
}

static int net_opt_create(struct vm *vm, void *state)
{
	struct net_opts *o = state;
	struct net_ctl *c;
	unsigned int i;
	int r;

	if (!o || !o->nr)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dev = (struct vm_device){ .ops = &net_ctl_ops, .name = "net",
				     .priv = c };
	for (i = 0; i < o->nr; i++) {
		r = create_nic(vm, &o->nic[i], i, &c->nic[i]);
		if (r)
			goto err;
		c->nr++;
	}
	r = vm_add_device(vm, &c->dev);
	if (r)
		goto err;
	/* From here the VM owns c. */
	r = vm_control_register(vm, CONTROL_CMD_NET_INFO, net_ctl_info, c);
	if (r)
		pr_err("cannot serve the NICs' counters: %s", strerror(-r));
	return r;

err:
	/* The NICs already made belong to the VM, which frees them. */
	free(c);
	return r;
}

static const struct dev_option net_options[] = {
	{ "network", 'n', "mode=tap|user|none[,...]",
	  "a virtio-net NIC, repeatable: eth0, eth1, ...;\n"
	  "none by default.  mode=tap: a host tap, made if\n"
	  "missing (that needs CAP_NET_ADMIN): tapif=NAME,\n"
	  "script=PATH|none (run with the tap's name);\n"
	  "mode=user: no root, through passt:\n"
	  "hostfwd=tcp|udp:[ADDR]:PORT-:PORT, repeatable;\n"
	  "both: guest_mac=MAC, mtu=N" },
	{ NULL },
};

const struct dev_module net_module = {
	.name = "virtio-net",
	.options = net_options,
	.parse = net_opt_parse,
	.create = net_opt_create,
	.free_state = net_opt_free,
};
