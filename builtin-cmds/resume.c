// SPDX-License-Identifier: GPL-2.0
/* lkvm resume: let the vCPUs of a paused VM run again. */
#include <stdio.h>

#include "builtin-cmds/ctl-client.h"

static void resume_usage(void)
{
	ctl_simple_usage("resume", "Resume a VM paused by lkvm pause.");
}

static int resume_run(int argc, char **argv)
{
	return ctl_run_simple(&cmd_resume, CONTROL_CMD_RESUME, false, argc,
			      argv);
}

const struct lkvm_cmd cmd_resume = {
	.name = "resume",
	.summary = "resume a paused VM",
	.run = resume_run,
	.usage = resume_usage,
};
