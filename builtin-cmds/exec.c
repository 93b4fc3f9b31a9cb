// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm exec -n NAME [-e NAME=VALUE]... [-w DIR] [--] CMD [ARGS...]
 *
 * Run CMD in a running guest whose agent is up (booted with `lkvm run
 * --agent`), with lkvm exec's own stdin, stdout and stderr, and exit with
 * its status (128+N if signal N killed it).  The VM says where its vsock
 * socket is (the vsock-path control request); we connect to the agent's
 * port there with the CONNECT handshake.  SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT go to the command instead of ending us.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "builtin-cmds/agent-client.h"
#include "builtin-cmds/agent/proto.h"
#include "builtin-cmds/ctl-client.h"
#include "builtin-cmds/exec.h"

#define EXEC_CONNECT_MS 5000

static void exec_usage(void)
{
	printf("usage: lkvm exec -n NAME [-e NAME=VALUE]... [-w DIR] [--] CMD [ARGS...]\n"
	       "\n"
	       "Run CMD in a running guest booted with 'lkvm run --agent', and exit\n"
	       "with its status (128+N if signal N killed it).  Its stdin, stdout and\n"
	       "stderr are this command's; Ctrl-C and other signals go to CMD.\n"
	       "\n"
	       "  -n, --name NAME       the VM (see lkvm list)\n"
	       "  -e, --env NAME=VALUE  set a variable for CMD, repeatable (PATH and\n"
	       "                        HOME have defaults)\n"
	       "  -w, --workdir DIR     run CMD in DIR (default /)\n"
	       "  -h, --help            this text\n");
}

/* Where VM @name's vsock socket is, from the VM itself. */
int exec_vsock_path(const char *name, char *buf, size_t len)
{
	struct control_req req = { .cmd = CONTROL_CMD_VSOCK_PATH };
	struct control_reply rep = {};
	int r = ctl_request(name, &req, &rep, CTL_TIMEOUT_MS);

	if (!r)
		r = rep.status;
	if (!r && (!rep.len || rep.len >= len))
		r = -EPROTO;
	if (!r)
		snprintf(buf, len, "%.*s", (int)rep.len, rep.buf);
	control_reply_free(&rep);
	return r;
}

/* The defaults, with -e's replacing or adding variables. */
static char **make_env(char **sets, int nr, int *envc)
{
	int n = 0, i, j;
	char **env = calloc(nr + 8, sizeof(*env));

	if (!env)
		return NULL;
	for (i = 0; agent_default_env[i]; i++)
		env[n++] = (char *)agent_default_env[i];
	for (i = 0; i < nr; i++) {
		size_t key = strcspn(sets[i], "=");

		for (j = 0; j < n; j++)
			if (!strncmp(env[j], sets[i], key) && env[j][key] == '=')
				break;
		env[j] = sets[i];
		if (j == n)
			n++;
	}
	*envc = n;
	return env;
}

/* Signals for the command, through a signalfd. */
static int forward_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigprocmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, set, SFD_CLOEXEC);
}

static int exec_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct agent_cmd cmd = { .cwd = "/" };
	char uds[256], **sets;
	const char *name = NULL;
	int opt, nsets = 0, fd, sfd, r;
	sigset_t set;

	sets = calloc(argc, sizeof(*sets));
	if (!sets)
		return LKVM_EXIT_ERROR;
	optind = 0;
	opterr = 0;
	/* '+': the first word that is no option is CMD. */
	while ((opt = getopt_long(argc, argv, "+:n:e:w:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || *optarg == '=')
				return cmd_usage_error(&cmd_exec,
						       "-e %s: want NAME=VALUE", optarg);
			sets[nsets++] = optarg;
			break;
		case 'w':
			cmd.cwd = optarg;
			break;
		case 'h':
			exec_usage();
			return LKVM_EXIT_OK;
		case ':':
			return cmd_usage_error(&cmd_exec, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error(&cmd_exec, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!name)
		return cmd_usage_error(&cmd_exec, "which VM? give -n NAME");
	if (optind >= argc)
		return cmd_usage_error(&cmd_exec, "no command to run");
	cmd.argc = argc - optind;
	cmd.argv = argv + optind;
	cmd.env = make_env(sets, nsets, &cmd.envc);
	if (!cmd.env)
		return LKVM_EXIT_ERROR;

	r = exec_vsock_path(name, uds, sizeof(uds));
	if (r == -EOPNOTSUPP) {
		fprintf(stderr, "lkvm exec: VM '%s' has no vsock device: start it with --agent\n",
			name);
		return LKVM_EXIT_ERROR;
	}
	if (r) {
		ctl_report(&cmd_exec, name, r, NULL);
		return LKVM_EXIT_ERROR;
	}
	r = agent_connect(uds, AGENT_PORT, EXEC_CONNECT_MS, &fd);
	if (r == -ECONNREFUSED) {
		fprintf(stderr, "lkvm exec: no agent answers in VM '%s': start it with --agent (or wait for the guest to boot)\n",
			name);
		return LKVM_EXIT_ERROR;
	}
	if (r) {
		fprintf(stderr, "lkvm exec: cannot reach VM '%s' over %s: %s\n",
			name, uds, strerror(-r));
		return LKVM_EXIT_ERROR;
	}
	sfd = forward_signals(&set);
	r = agent_run(fd, &cmd, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, sfd,
		      -1);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "lkvm exec: %s: %s\n", cmd.argv[0],
			r == -ECONNRESET ? "the guest agent went away" :
					   strerror(-r));
		return LKVM_EXIT_ERROR;
	}
	return r;
}

const struct lkvm_cmd cmd_exec = {
	.name = "exec",
	.summary = "run a command in a guest booted with --agent",
	.run = exec_run,
	.usage = exec_usage,
};
