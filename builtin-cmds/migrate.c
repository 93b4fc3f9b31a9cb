// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm migrate: move a running VM to another lkvm, or save it.
 *
 * The VM does the work (kvm/migrate.c): this command asks it to start,
 * then watches its progress through the control socket, once every
 * POLL_MS, until the end.  Ctrl-C cancels.  With -d it only starts it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/ctl-client.h"
#include "kvm/control.h"

#define POLL_MS 250

static void migrate_usage(void)
{
	printf("usage: lkvm migrate -n NAME [OPTIONS] URI\n"
	       "       lkvm migrate -n NAME --status | --cancel | --resume-source\n"
	       "\n"
	       "Move a running VM to another lkvm, started on the destination with the\n"
	       "same options plus --incoming URI, or save it (file:, exec:).  Pre-copy:\n"
	       "the guest runs while its memory is sent, and stops only for the last\n"
	       "pages and its state.  If anything fails, it runs on here.\n"
	       "\n"
	       "URI: tcp:HOST:PORT, unix:PATH (live), exec:CMD, file:PATH (a save;\n"
	       "     lkvm run ... --incoming file:PATH restores it)\n"
	       "\n"
	       "  -n, --name NAME       the VM to move (see lkvm list)\n"
	       "  -d, --detach          start it and return; follow with --status\n"
	       "      --speed BYTES     limit the bandwidth, in bytes per second (K, M, G)\n"
	       "      --downtime MS     the longest pause to aim for (default 300)\n"
	       "      --keep-paused     after a save, leave the guest paused here\n"
	       "                        (lkvm resume runs it, lkvm stop ends it)\n"
	       "      --resume-source   after a save, let the guest run on here; alone,\n"
	       "                        take back a guest a failed hand-over left paused\n"
	       "      --status          the migration in progress, or the last one\n"
	       "      --cancel          stop the migration in progress\n"
	       "  -h, --help            this text\n"
	       "\n"
	       "Exit status: 0 when the guest runs at the destination (or was saved),\n"
	       "1 when the migration failed or was cancelled (the guest runs here),\n"
	       "2 for a usage error.\n");
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

/* 0 and *v, or -EINVAL: a number of bytes with an optional K, M or G. */
static int parse_size(const char *s, unsigned long long *v)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || (n << shift) >> shift != n)
		return -EINVAL;
	*v = n << shift;
	return 0;
}

/* One request; the VM's reply in rep (status checked by the caller). */
static int call(const char *name, struct control_req *req,
		struct control_reply *rep)
{
	int r = ctl_request(name, req, rep, CTL_TIMEOUT_MS);

	return r ? r : rep->status;
}

/*
 * An error: the VM's own words if it said any (a bad URI, a device that
 * cannot migrate), else what the channel says (no such VM...).
 */
static void report(const char *name, int r, const struct control_reply *rep)
{
	if (rep->status && rep->len)
		fprintf(stderr, "lkvm migrate: VM '%s': %.*s\n", name,
			(int)rep->len, rep->buf);
	else
		ctl_report(&cmd_migrate, name, r, NULL);
}

/* The state is the reply's first word; the rest is for the user. */
static bool state_is(const struct control_reply *rep, const char *state)
{
	size_t n = strlen(state);

	return rep->len >= n && !strncmp(rep->buf, state, n) &&
	       (rep->len == n || rep->buf[n] == ' ');
}

static const char *words(const struct control_reply *rep)
{
	const char *sp = rep->len ? strchr(rep->buf, ' ') : NULL;

	return sp ? sp + 1 : "";
}

static bool is_final(const struct control_reply *rep)
{
	return !state_is(rep, "setup") && !state_is(rep, "active") &&
	       !state_is(rep, "completing");
}

static int simple(const char *name, u16 cmd)
{
	struct control_req req = { .cmd = cmd };
	struct control_reply rep = {};
	int r = call(name, &req, &rep);

	if (r && r != -EALREADY)
		report(name, r, &rep);
	else if (state_is(&rep, "none"))
		printf("lkvm migrate: %s\n", words(&rep));
	else if (rep.len)
		printf("lkvm migrate: %s\n", rep.buf);
	control_reply_free(&rep);
	return r && r != -EALREADY ? LKVM_EXIT_ERROR : LKVM_EXIT_OK;
}

/*
 * Watch until the end.  On a terminal, one line redrawn in place; in a
 * log, one line per pass.
 */
static int follow(const char *name)
{
	struct control_req req = { .cmd = CONTROL_CMD_MIGRATE_STATUS };
	struct control_req cancel = { .cmd = CONTROL_CMD_MIGRATE_CANCEL };
	struct control_reply rep = {}, scratch = {};
	struct timespec ts = { 0, POLL_MS * 1000000L };
	bool tty = isatty(STDOUT_FILENO), cancelled = false, done = false;
	const char *pass;
	int r, last = -1;

	for (;;) {
		if (interrupted && !cancelled) {
			cancelled = true;
			call(name, &cancel, &scratch);
			fprintf(stderr, "\nlkvm migrate: cancelling\n");
		}
		r = call(name, &req, &rep);
		if (r) {
			fprintf(stderr, "%slkvm migrate: the source VM '%s' went away (%s) before saying how it ended\n",
				tty ? "\n" : "", name, strerror(-r));
			break;
		}
		if (is_final(&rep)) {
			done = state_is(&rep, "completed");
			printf("%slkvm migrate: %s %s\n", tty ? "\r\033[K" : "",
			       done ? "completed" : rep.buf, done ? words(&rep) : "");
			break;
		}
		if (tty) {
			printf("\r\033[Klkvm migrate: %.*s", 200, words(&rep));
			fflush(stdout);
		} else if ((pass = strstr(rep.buf, ": pass ")) &&
			   atoi(pass + 7) != last) {
			last = atoi(pass + 7);
			printf("lkvm migrate: %s\n", words(&rep));
			fflush(stdout);
		}
		nanosleep(&ts, NULL);
	}
	control_reply_free(&rep);
	control_reply_free(&scratch);
	return done ? LKVM_EXIT_OK : LKVM_EXIT_ERROR;
}

enum { O_SPEED = 1000, O_DOWNTIME, O_STATUS, O_CANCEL, O_KEEP, O_RESUME };

static int migrate_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "detach", no_argument, NULL, 'd' },
		{ "speed", required_argument, NULL, O_SPEED },
		{ "downtime", required_argument, NULL, O_DOWNTIME },
		{ "status", no_argument, NULL, O_STATUS },
		{ "cancel", no_argument, NULL, O_CANCEL },
		{ "keep-paused", no_argument, NULL, O_KEEP },
		{ "resume-source", no_argument, NULL, O_RESUME },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct control_req req = { .cmd = CONTROL_CMD_MIGRATE };
	struct control_reply rep = {};
	struct sigaction sa = { .sa_handler = on_sigint };
	const char *name = NULL;
	unsigned long long v;
	bool status = false, cancel = false, resume = false;
	int opt, r;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:dh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'd': req.mflags |= CONTROL_MIGRATE_DETACH; break;
		case O_SPEED:
			if (parse_size(optarg, &v) || !v)
				return cmd_usage_error(&cmd_migrate, "--speed %s: need a positive number of bytes per second",
						       optarg);
			req.speed = v;
			break;
		case O_DOWNTIME:
			if (parse_size(optarg, &v) || !v || v > UINT_MAX)
				return cmd_usage_error(&cmd_migrate, "--downtime %s: need a positive number of milliseconds",
						       optarg);
			req.downtime_ms = v;
			break;
		case O_STATUS: status = true; break;
		case O_CANCEL: cancel = true; break;
		case O_KEEP: req.mflags |= CONTROL_MIGRATE_PAUSED; break;
		case O_RESUME: resume = true; break;
		case 'h':
			migrate_usage();
			return LKVM_EXIT_OK;
		case ':':
			return cmd_usage_error(&cmd_migrate, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error(&cmd_migrate, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!name)
		return cmd_usage_error(&cmd_migrate, "give -n NAME");
	if (status || cancel || (resume && optind == argc)) {
		if (optind < argc || status + cancel + resume > 1)
			return cmd_usage_error(&cmd_migrate, "--status, --cancel and --resume-source take no URI");
		return simple(name, status ? CONTROL_CMD_MIGRATE_STATUS :
					     CONTROL_CMD_MIGRATE_CANCEL);
	}
	if (optind == argc)
		return cmd_usage_error(&cmd_migrate, "give a URI");
	if (optind < argc - 1)
		return cmd_usage_error(&cmd_migrate, "unexpected argument '%s'",
				       argv[optind + 1]);
	if (resume)
		req.mflags |= CONTROL_MIGRATE_RESUME;
	if ((req.mflags & CONTROL_MIGRATE_PAUSED) && resume)
		return cmd_usage_error(&cmd_migrate, "--keep-paused or --resume-source, not both");
	if (strlen(argv[optind]) >= CONTROL_URI_MAX)
		return cmd_usage_error(&cmd_migrate, "the URI is too long");
	strcpy(req.uri, argv[optind]);

	r = call(name, &req, &rep);
	if (r) {
		report(name, r, &rep);
		control_reply_free(&rep);
		return LKVM_EXIT_ERROR;
	}
	control_reply_free(&rep);
	if (req.mflags & CONTROL_MIGRATE_DETACH) {
		printf("lkvm migrate: started; see lkvm migrate -n %s --status\n",
		       name);
		return LKVM_EXIT_OK;
	}
	sigaction(SIGINT, &sa, NULL);
	return follow(name);
}

const struct lkvm_cmd cmd_migrate = {
	.name = "migrate",
	.summary = "move a running VM to another lkvm, or save it",
	.run = migrate_run,
	.usage = migrate_usage,
};
