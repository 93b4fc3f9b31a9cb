// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "builtin-cmds/cmds.h"

#ifndef LKVM_VERSION
#define LKVM_VERSION "unknown"
#endif

static int version_run(int argc, char **argv)
{
	printf("lkvm version %s\n", LKVM_VERSION);
	return LKVM_EXIT_OK;
}

static void version_usage(void)
{
	printf("usage: lkvm version\n");
}

const struct lkvm_cmd cmd_version = {
	.name = "version",
	.summary = "print lkvm's version",
	.run = version_run,
	.usage = version_usage,
};
