// SPDX-License-Identifier: GPL-2.0
/* lkvm stop: ask running VMs to shut down, and wait until they have. */
#include <stdio.h>

#include "builtin-cmds/ctl-client.h"

static void stop_usage(void)
{
	ctl_simple_usage("stop",
			 "Shut down a running VM and wait until it has exited.");
}

static int stop_run(int argc, char **argv)
{
	return ctl_run_simple(&cmd_stop, CONTROL_CMD_STOP, true, argc, argv);
}

const struct lkvm_cmd cmd_stop = {
	.name = "stop",
	.summary = "stop a running VM",
	.run = stop_run,
	.usage = stop_usage,
};
