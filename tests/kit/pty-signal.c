// SPDX-License-Identifier: GPL-2.0
/*
 * pty-signal: runs a command on a fresh pseudo-terminal, as if a user had
 * started it from a shell, sends it a signal, and reports what happened to
 * the terminal.  host.bats uses it to check that lkvm puts a terminal in
 * raw mode and gives it back however it ends.
 *
 *   pty-signal SIG DELAY_MS CMD [ARGS...]
 *
 * SIG is a name without "SIG" (TERM, QUIT, ...).  TSTP is a job-control
 * stop: after it, the command must be stopped with the terminal cooked;
 * SIGCONT must bring raw mode back; then SIGTERM ends it.  Prints one line:
 *
 *   raw-during=1 stopped-cooked=1 raw-after-cont=1 exit=143 restored=1
 *
 * (the TSTP fields only for TSTP; exit is the status, or 128+N if killed).
 * The command's output is read and thrown away, so it never blocks.
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int master;

/* Raw as lkvm sets it: no canonical input, no echo. */
static int is_raw(void)
{
	struct termios t;

	if (tcgetattr(master, &t))
		return -1;
	return !(t.c_lflag & (ICANON | ECHO));
}

/* Read and drop the command's output for @ms milliseconds. */
static void drain(int ms)
{
	struct timespec t0, now;
	struct pollfd p = { .fd = master, .events = POLLIN };
	char buf[4096];
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - t0.tv_sec) * 1000 +
			     (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return;
		if (poll(&p, 1, left) > 0 && read(master, buf, sizeof(buf)) <= 0)
			return;
	}
}

static int sig_by_name(const char *name)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP },
		{ "QUIT", SIGQUIT }, { "ALRM", SIGALRM }, { "TSTP", SIGTSTP },
		{ "XCPU", SIGXCPU }, { "PROF", SIGPROF },
	};

	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(name, sigs[i].name))
			return sigs[i].sig;
	return -1;
}

/* Wait for @pid to stop or end, draining output meanwhile. */
static int wait_child(pid_t pid, int options)
{
	int st, n = 0;

	while (waitpid(pid, &st, options | WNOHANG) == 0) {
		if (n++ > 200) { /* 10 s */
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return st;
		}
		drain(50);
	}
	return st;
}

int main(int argc, char **argv)
{
	int sig, st, raw_during;
	pid_t pid;

	if (argc < 4 || (sig = sig_by_name(argv[1])) < 0) {
		fprintf(stderr, "usage: pty-signal SIG DELAY_MS CMD [ARGS...]\n");
		return 2;
	}
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		perror("pty-signal: forkpty");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		perror("pty-signal: exec");
		_exit(127);
	}
	drain(atoi(argv[2]));
	raw_during = is_raw();
	printf("raw-during=%d", raw_during);
	kill(pid, sig);
	if (sig == SIGTSTP) {
		st = wait_child(pid, WUNTRACED);
		printf(" stopped-cooked=%d", WIFSTOPPED(st) && is_raw() == 0);
		kill(pid, SIGCONT);
		drain(300);
		printf(" raw-after-cont=%d", is_raw());
		kill(pid, SIGTERM);
	}
	st = wait_child(pid, 0);
	printf(" exit=%d restored=%d\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
	       is_raw() == 0);
	return 0;
}
