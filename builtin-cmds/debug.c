// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm debug: look inside a running guest without stopping it for good:
 * dump vCPU registers, hexdump guest memory, walk a page table, send an
 * NMI or a magic SysRq key.  The VM does the work; we print its reply.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin-cmds/ctl-client.h"

static void debug_usage(void)
{
	printf("usage: lkvm debug -n NAME [ACTION]\n"
	       "\n"
	       "Inspect a running VM.  One action at a time; --regs is the default.\n"
	       "\n"
	       "  -n, --name NAME      the VM (see lkvm list)\n"
	       "  -r, --regs[=CPU]     dump the registers of one vCPU, or of all,\n"
	       "                       each with a page-table walk of its RIP\n"
	       "      --nmi CPU        inject an NMI into vCPU CPU\n"
	       "      --sysrq KEY      send magic SysRq KEY (e.g. t, w, c) to the guest\n"
	       "      --mem GPA LEN    hexdump LEN bytes (at most %d) of guest memory at GPA\n"
	       "      --walk [GVA]     walk the page tables for virtual address\n"
	       "                       GVA (default: the vCPU's RIP)\n"
	       "  -c, --cpu CPU        the vCPU whose CR3 --walk uses (default 0)\n"
	       "  -h, --help           this text\n"
	       "\n"
	       "Numbers may be decimal or 0x-prefixed hexadecimal.\n",
	       CONTROL_DEBUG_MEM_MAX);
}

/* The whole string as one number, or -EINVAL. */
static int parse_u64(const char *s, u64 *v)
{
	unsigned long long n;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*v = n;
	return 0;
}

static int parse_cpu(const char *s, int *cpu)
{
	u64 v;

	if (parse_u64(s, &v) || v > INT_MAX)
		return -EINVAL;
	*cpu = (int)v;
	return 0;
}

enum { OPT_NMI = 256, OPT_SYSRQ, OPT_MEM, OPT_WALK };

/* Parse argv into req and *name; an exit status on error, else -1. */
static int debug_parse(int argc, char **argv, struct control_req *req,
		       const char **name)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "regs", optional_argument, NULL, 'r' },
		{ "nmi", required_argument, NULL, OPT_NMI },
		{ "sysrq", required_argument, NULL, OPT_SYSRQ },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "walk", optional_argument, NULL, OPT_WALK },
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const struct lkvm_cmd *cmd = &cmd_debug;
	int opt, actions = 0, cpu = 0;
	bool have_cpu = false;
	const char *len;

	req->cmd = CONTROL_CMD_DEBUG_REGS;
	req->vcpu = CONTROL_VCPU_ALL;
	optind = 0;
	opterr = 0;
	/*
	 * "+": stop at the first non-option, so --mem can take the word
	 * after its argument as LEN without getopt having moved it.
	 */
	while ((opt = getopt_long(argc, argv, "+:n:r::c:h", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'n':
			*name = optarg;
			break;
		case 'r':
			actions++;
			req->cmd = CONTROL_CMD_DEBUG_REGS;
			if (optarg && parse_cpu(optarg, &req->vcpu))
				return cmd_usage_error(cmd, "bad vCPU '%s'",
						       optarg);
			break;
		case OPT_NMI:
			actions++;
			req->cmd = CONTROL_CMD_DEBUG_NMI;
			if (parse_cpu(optarg, &req->vcpu))
				return cmd_usage_error(cmd, "bad vCPU '%s'",
						       optarg);
			break;
		case OPT_SYSRQ:
			actions++;
			req->cmd = CONTROL_CMD_DEBUG_SYSRQ;
			req->key = optarg[0];
			if (strlen(optarg) != 1 || req->key < 0x21 ||
			    req->key > 0x7e)
				return cmd_usage_error(cmd,
						       "bad SysRq key '%s'",
						       optarg);
			break;
		case OPT_MEM:
			actions++;
			req->cmd = CONTROL_CMD_DEBUG_MEM;
			len = optind < argc ? argv[optind++] : NULL;
			if (parse_u64(optarg, &req->gpa))
				return cmd_usage_error(cmd, "bad GPA '%s'",
						       optarg);
			if (parse_u64(len, &req->len) || !req->len ||
			    req->len > CONTROL_DEBUG_MEM_MAX)
				return cmd_usage_error(cmd,
						       "--mem GPA LEN needs a LEN of 1 to %d",
						       CONTROL_DEBUG_MEM_MAX);
			if (req->gpa + req->len < req->gpa)
				return cmd_usage_error(cmd,
						       "GPA + LEN wraps around");
			break;
		case OPT_WALK:
			actions++;
			req->cmd = CONTROL_CMD_DEBUG_PGWALK;
			/*
			 * getopt gives an optional argument only as --walk=GVA;
			 * take "--walk GVA" too.  No GVA: the vCPU's RIP.
			 */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			if (!optarg)
				req->walk_pc = true;
			else if (parse_u64(optarg, &req->gpa))
				return cmd_usage_error(cmd, "bad GVA '%s'",
						       optarg);
			break;
		case 'c':
			have_cpu = true;
			if (parse_cpu(optarg, &cpu))
				return cmd_usage_error(cmd, "bad vCPU '%s'",
						       optarg);
			break;
		case 'h':
			debug_usage();
			return LKVM_EXIT_OK;
		case ':':
			return cmd_usage_error(cmd, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (!*name)
		return cmd_usage_error(cmd, "which VM? give -n NAME");
	if (actions > 1)
		return cmd_usage_error(cmd, "one action at a time");
	if (have_cpu && req->cmd != CONTROL_CMD_DEBUG_PGWALK)
		return cmd_usage_error(cmd, "--cpu goes with --walk");
	if (req->cmd == CONTROL_CMD_DEBUG_PGWALK)
		req->vcpu = cpu;
	return -1;
}

static int debug_run(int argc, char **argv)
{
	struct control_req req = {};
	struct control_reply rep = {};
	const char *name = NULL;
	int ret;

	ret = debug_parse(argc, argv, &req, &name);
	if (ret >= 0)
		return ret;

	ret = ctl_request(name, &req, &rep, CTL_TIMEOUT_MS);
	if (!ret)
		ret = rep.status;
	if (ret) {
		ctl_report(&cmd_debug, name, ret, &rep);
		control_reply_free(&rep);
		return LKVM_EXIT_ERROR;
	}
	fwrite(rep.buf, 1, rep.len, stdout);
	if (rep.format != CONTROL_FMT_BINARY && rep.len &&
	    rep.buf[rep.len - 1] != '\n')
		putchar('\n');
	control_reply_free(&rep);
	return LKVM_EXIT_OK;
}

const struct lkvm_cmd cmd_debug = {
	.name = "debug",
	.summary = "inspect a running VM: registers, memory, NMI, SysRq",
	.run = debug_run,
	.usage = debug_usage,
};
