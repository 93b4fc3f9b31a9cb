// SPDX-License-Identifier: GPL-2.0
/* lkvm pause: stop a VM's vCPUs where they are; `lkvm resume` restarts them. */
#include <stdio.h>

#include "builtin-cmds/ctl-client.h"

static void pause_usage(void)
{
	ctl_simple_usage("pause",
			 "Pause a running VM's vCPUs; its devices and memory stay as they are.");
}

static int pause_run(int argc, char **argv)
{
	return ctl_run_simple(&cmd_pause, CONTROL_CMD_PAUSE, false, argc, argv);
}

const struct lkvm_cmd cmd_pause = {
	.name = "pause",
	.summary = "pause a running VM",
	.run = pause_run,
	.usage = pause_usage,
};
