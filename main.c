// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm: boot a Linux kernel under KVM, for kernel developers.
 *
 * main() only dispatches: each subcommand lives in builtin-cmds/NAME.c and
 * is listed in the table below.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "builtin-cmds/cmds.h"

static const struct lkvm_cmd *const commands[] = {
	&cmd_run,
	&cmd_list,
	&cmd_stop,
	&cmd_pause,
	&cmd_resume,
	&cmd_debug,
	&cmd_migrate,
	&cmd_exec,
	&cmd_help,
	&cmd_version,
};

static const struct lkvm_cmd *find_cmd(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static void list_commands(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: lkvm COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'lkvm help COMMAND' shows a command's options.\n");
}

int cmd_usage_error(const struct lkvm_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lkvm: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* One line, so a CI log shows the whole error at a glance. */
	if (cmd)
		fprintf(stderr, " (see 'lkvm help %s')\n", cmd->name);
	else
		fprintf(stderr, " (see 'lkvm help')\n");
	return LKVM_EXIT_USAGE;
}

static int help_run(int argc, char **argv)
{
	const struct lkvm_cmd *cmd;

	if (argc < 2) {
		list_commands(stdout);
		return LKVM_EXIT_OK;
	}
	cmd = find_cmd(argv[1]);
	if (!cmd)
		return cmd_usage_error(NULL, "unknown command '%s'", argv[1]);
	cmd->usage();
	return LKVM_EXIT_OK;
}

static void help_usage(void)
{
	printf("usage: lkvm help [COMMAND]\n");
}

const struct lkvm_cmd cmd_help = {
	.name = "help",
	.summary = "list commands, or show a command's options",
	.run = help_run,
	.usage = help_usage,
};

int main(int argc, char **argv)
{
	const struct lkvm_cmd *cmd;

	if (argc < 2) {
		list_commands(stderr);
		return LKVM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_run(1, argv);
	if (!strcmp(argv[1], "--version"))
		return cmd_version.run(1, argv + 1);

	cmd = find_cmd(argv[1]);
	if (!cmd)
		return cmd_usage_error(NULL, "unknown command '%s'", argv[1]);
	return cmd->run(argc - 1, argv + 1);
}
