/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommands.  Each builtin-cmds/NAME.c defines one `const struct lkvm_cmd
 * cmd_NAME`; main.c lists them in its dispatch table.  Only main.c and the
 * files in builtin-cmds/ print to the user and choose an exit status.
 */
#ifndef LKVM_CMDS_H
#define LKVM_CMDS_H

/*
 * The exit status is the guest's fate (kvm/fate.h; README: "Exit status").
 * Every code is distinct so a CI script can tell a panic from a hang from
 * a crash from our own bug.  builtin-cmds/run-wait.c maps fates to codes.
 */
enum lkvm_exit {
	LKVM_EXIT_OK = 0,	 /* guest powered off or rebooted; stopped on request */
	LKVM_EXIT_ERROR = 1,	 /* lkvm itself failed (host error, bad image...) */
	LKVM_EXIT_USAGE = 2,	 /* bad command line */
	LKVM_EXIT_PANIC = 3,	 /* the guest kernel panicked */
	LKVM_EXIT_KVM_ERROR = 4, /* KVM could not run the guest (internal error) */
	LKVM_EXIT_TIMEOUT = 5,	 /* --timeout expired */
	LKVM_EXIT_CRASH = 6,	 /* a triple fault the guest did not announce */
};

struct lkvm_cmd {
	const char *name;
	const char *summary;			/* one line, for `lkvm help` */
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
	void (*usage)(void);			/* full options, for `lkvm help NAME` */
};

extern const struct lkvm_cmd cmd_run, cmd_help, cmd_version;
/* The control-channel clients (builtin-cmds/ctl-client.h). */
extern const struct lkvm_cmd cmd_list, cmd_stop, cmd_pause, cmd_resume,
	cmd_debug, cmd_migrate;
/* Through the guest agent (builtin-cmds/agent-client.h). */
extern const struct lkvm_cmd cmd_exec;

/* Print "lkvm: error: ..." style usage errors and return LKVM_EXIT_USAGE. */
int cmd_usage_error(const struct lkvm_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
