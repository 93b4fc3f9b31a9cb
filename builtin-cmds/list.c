// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm list: ask every VM of this user what it is, through its control
 * socket.  A socket nobody listens on any more belongs to a VM that died
 * without cleaning up; list removes it, so the next list is accurate.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin-cmds/ctl-client.h"
#include "kvm/control.h"

/* What one VM said, or why it said nothing. */
struct list_entry {
	const char *name;
	struct control_info info;
	int err;	/* 0: info is valid */
	char *net;	/* its NICs as JSON (--json), or NULL: none */
};

static void list_usage(void)
{
	printf("usage: lkvm list [--json]\n"
	       "\n"
	       "List this user's running VMs: name, pid, state, vCPUs, memory and uptime.\n"
	       "\n"
	       "  -j, --json   one JSON array, for scripts, with each VM's NICs\n"
	       "               and their counters (\"net\")\n"
	       "  -h, --help   this text\n");
}

/* 0 and e filled, or -ENOENT when there is no VM behind the name (any more). */
static int list_query(struct list_entry *e)
{
	struct control_req req = { .cmd = CONTROL_CMD_LIST_INFO };
	struct control_reply rep = {};
	int ret;

	ret = ctl_request(e->name, &req, &rep, CTL_TIMEOUT_MS);
	if (ret == -ECONNREFUSED) {
		control_sock_reap(e->name);
		return -ENOENT;
	}
	if (ret == -ENOENT)
		return ret; /* exited between readdir and connect */
	if (!ret)
		ret = rep.status;
	if (!ret && rep.format != CONTROL_FMT_INFO)
		ret = -EPROTO;
	if (!ret)
		ret = control_info_decode(rep.buf, rep.len, &e->info) ? -EPROTO :
									0;
	e->err = ret;
	control_reply_free(&rep);
	return 0;
}

/*
 * The VM's NICs, for --json: a JSON array from virtio-net, or nothing
 * (no NIC answers -EOPNOTSUPP; so does an lkvm from before NICs).
 */
static void list_query_net(struct list_entry *e)
{
	struct control_req req = { .cmd = CONTROL_CMD_NET_INFO };
	struct control_reply rep = {};

	if (!ctl_request(e->name, &req, &rep, CTL_TIMEOUT_MS) && !rep.status &&
	    rep.format == CONTROL_FMT_JSON && rep.len)
		e->net = strndup(rep.buf, rep.len);
	control_reply_free(&rep);
}

static void format_uptime(char *buf, size_t size, u64 s)
{
	if (s >= 86400)
		snprintf(buf, size, "%llud%02llu:%02llu:%02llu",
			 (unsigned long long)(s / 86400),
			 (unsigned long long)(s / 3600 % 24),
			 (unsigned long long)(s / 60 % 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, size, "%02llu:%02llu:%02llu",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60),
			 (unsigned long long)(s % 60));
}

static void print_text(const struct list_entry *e, int nr)
{
	char up[32];
	int i;

	printf("%-24s %8s %-12s %5s %9s %12s\n", "NAME", "PID", "STATE",
	       "VCPUS", "MEM(MiB)", "UPTIME");
	for (i = 0; i < nr; i++) {
		const struct control_info *in = &e[i].info;

		if (e[i].err) {
			printf("%-24s %8s %-12s %5s %9s %12s\n", e[i].name,
			       "-", "unresponsive", "-", "-", "-");
			continue;
		}
		format_uptime(up, sizeof(up), in->uptime_s);
		printf("%-24s %8u %-12s %5u %9llu %12s\n", e[i].name, in->pid,
		       control_state_name(in->state), in->nr_vcpus,
		       (unsigned long long)in->mem_mib, up);
	}
}

/* Names are [A-Za-z0-9._-] (control_name_valid()), so need no escaping. */
static void print_json(const struct list_entry *e, int nr)
{
	int i;

	printf("[");
	for (i = 0; i < nr; i++) {
		const struct control_info *in = &e[i].info;

		printf("%s\n  {\"name\": \"%s\", ", i ? "," : "", e[i].name);
		if (e[i].err) {
			printf("\"state\": \"unresponsive\", \"error\": \"%s\"}",
			       strerror(-e[i].err));
			continue;
		}
		printf("\"pid\": %u, \"state\": \"%s\", \"vcpus\": %u, "
		       "\"mem_mib\": %llu, \"uptime_s\": %llu",
		       in->pid, control_state_name(in->state), in->nr_vcpus,
		       (unsigned long long)in->mem_mib,
		       (unsigned long long)in->uptime_s);
		if (e[i].net)
			printf(", \"net\": %s", e[i].net);
		printf("}");
	}
	printf("%s]\n", nr ? "\n" : "");
}

static int list_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct list_entry *e;
	bool json = false;
	int opt, nr, i, n, ret;
	char **names;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			list_usage();
			return LKVM_EXIT_OK;
		default:
			return cmd_usage_error(&cmd_list, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_list, "unexpected argument '%s'",
				       argv[optind]);

	ret = ctl_names(&names, &nr);
	if (ret) {
		fprintf(stderr, "lkvm list: cannot read the socket directory: %s\n",
			strerror(-ret));
		return LKVM_EXIT_ERROR;
	}
	e = calloc(nr ? nr : 1, sizeof(*e));
	if (!e) {
		ctl_names_free(names, nr);
		fprintf(stderr, "lkvm list: out of memory\n");
		return LKVM_EXIT_ERROR;
	}
	for (i = n = 0; i < nr; i++) {
		memset(&e[n], 0, sizeof(e[n]));
		e[n].name = names[i];
		if (!list_query(&e[n]))
			n++;
	}
	for (i = 0; json && i < n; i++)
		if (!e[i].err)
			list_query_net(&e[i]);
	if (json)
		print_json(e, n);
	else
		print_text(e, n);
	for (i = 0; i < n; i++)
		free(e[i].net);
	free(e);
	ctl_names_free(names, nr);
	return LKVM_EXIT_OK;
}

const struct lkvm_cmd cmd_list = {
	.name = "list",
	.summary = "list running VMs",
	.run = list_run,
	.usage = list_usage,
};
