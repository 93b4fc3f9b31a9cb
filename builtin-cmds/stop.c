// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm stop: ask running VMs to shut down, and wait until they have.
 *
 * Plain `lkvm stop` ends the VM at once (exit 0), as pulling the plug
 * would, after lkvm has flushed its disks.  `--graceful` lets the guest
 * shut itself down first: through lkvm's guest agent if it runs one
 * (`lkvm run --agent`: sync, then power off through its init), else by
 * pressing the ACPI power button, which a distro's systemd-logind or
 * acpid answers with a clean power-off.  If the VM is still there after
 * --wait SECONDS (default 30), it is stopped as plain `lkvm stop` does.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/agent-client.h"
#include "builtin-cmds/agent/proto.h"
#include "builtin-cmds/ctl-client.h"
#include "builtin-cmds/exec.h"

#define GRACEFUL_WAIT_S 30
#define AGENT_CONNECT_MS 3000

static void stop_usage(void)
{
	printf("usage: lkvm stop -n NAME | -a [--graceful [--wait SECONDS]]\n"
	       "\n"
	       "Shut down a running VM and wait until it has exited.\n"
	       "\n"
	       "  -n, --name NAME   the VM to act on (see lkvm list)\n"
	       "  -a, --all         every VM of this user\n"
	       "  -g, --graceful    let the guest power itself off: through lkvm's\n"
	       "                    agent (lkvm run --agent), else the ACPI power\n"
	       "                    button\n"
	       "  -w, --wait SECONDS\n"
	       "                    with --graceful: stop the VM as without it if\n"
	       "                    it still runs after SECONDS (default %d)\n"
	       "  -h, --help        this text\n",
	       GRACEFUL_WAIT_S);
}

/* The VM's lkvm process, seen through its control socket. */
static int vm_pidfd(const char *name)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, pidfd = -1;

	if (ctl_connect(name, &fd))
		return -1;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) &&
	    cred.pid > 0)
		pidfd = syscall(SYS_pidfd_open, cred.pid, 0);
	close(fd);
	return pidfd;
}

/* Has the VM gone within @ms?  Without a pidfd, its socket tells. */
static bool wait_gone(const char *name, int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	struct timespec step = { 0, 100 * 1000 * 1000 };
	int fd;

	if (pidfd >= 0)
		return poll(&p, 1, ms) > 0;
	for (; ms > 0; ms -= 100) {
		if (ctl_connect(name, &fd))
			return true;
		close(fd);
		nanosleep(&step, NULL);
	}
	return false;
}

/* Ask the guest agent to power off: false if there is none. */
static bool ask_agent(const char *name)
{
	char uds[256];
	int fd, r;

	if (exec_vsock_path(name, uds, sizeof(uds)) ||
	    agent_connect(uds, AGENT_PORT, AGENT_CONNECT_MS, &fd))
		return false;
	r = agent_poweroff(fd, true);
	close(fd);
	return !r;
}

static int graceful_one(const char *name, int wait_s)
{
	struct control_req req = { .cmd = CONTROL_CMD_POWER_BUTTON };
	struct control_reply rep = {};
	const char *how = NULL;
	char *argv[] = { "stop", "-n", (char *)name, NULL };
	int pidfd = vm_pidfd(name), r;

	if (ask_agent(name)) {
		how = "its agent";
	} else {
		r = ctl_request(name, &req, &rep, CTL_TIMEOUT_MS);
		if (!r)
			r = rep.status;
		if (!r)
			how = "the ACPI power button";
		else if (r != -EOPNOTSUPP) {
			ctl_report(&cmd_stop, name, r, &rep);
			control_reply_free(&rep);
			if (pidfd >= 0)
				close(pidfd);
			return LKVM_EXIT_ERROR;
		}
		control_reply_free(&rep);
	}
	if (how && wait_gone(name, pidfd, wait_s * 1000)) {
		fprintf(stderr, "lkvm stop: VM '%s' powered off (asked through %s)\n",
			name, how);
		r = LKVM_EXIT_OK;
	} else {
		if (how)
			fprintf(stderr, "lkvm stop: VM '%s' still runs %d s after asking through %s; stopping it\n",
				name, wait_s, how);
		r = ctl_run_simple(&cmd_stop, CONTROL_CMD_STOP, true, 3, argv);
	}
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

static int graceful(const char *name, bool all, int wait_s)
{
	char **names;
	int nr, i, r, failed = 0;

	if (!all)
		return graceful_one(name, wait_s);
	r = ctl_names(&names, &nr);
	if (r) {
		fprintf(stderr, "lkvm stop: cannot list VMs: %s\n", strerror(-r));
		return LKVM_EXIT_ERROR;
	}
	for (i = 0; i < nr; i++)
		failed |= graceful_one(names[i], wait_s) != LKVM_EXIT_OK;
	ctl_names_free(names, nr);
	return failed ? LKVM_EXIT_ERROR : LKVM_EXIT_OK;
}

static int stop_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ "graceful", no_argument, NULL, 'g' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *name = NULL;
	bool all = false, soft = false, wait_given = false;
	long wait_s = GRACEFUL_WAIT_S;
	char *end;
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:agw:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'g':
			soft = true;
			break;
		case 'w':
			wait_s = strtol(optarg, &end, 10);
			if (*end || !*optarg || wait_s < 0 || wait_s > 86400)
				return cmd_usage_error(&cmd_stop,
						       "--wait %s: need a number of seconds",
						       optarg);
			wait_given = true;
			break;
		case 'h':
			stop_usage();
			return LKVM_EXIT_OK;
		case ':':
			return cmd_usage_error(&cmd_stop, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error(&cmd_stop, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!soft) {
		if (wait_given)
			return cmd_usage_error(&cmd_stop, "--wait goes with --graceful");
		return ctl_run_simple(&cmd_stop, CONTROL_CMD_STOP, true, argc,
				      argv);
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_stop, "unexpected argument '%s'",
				       argv[optind]);
	if (!name == !all)
		return cmd_usage_error(&cmd_stop, "give either -n NAME or -a");
	return graceful(name, all, (int)wait_s);
}

const struct lkvm_cmd cmd_stop = {
	.name = "stop",
	.summary = "stop a running VM",
	.run = stop_run,
	.usage = stop_usage,
};
