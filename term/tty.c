// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term/tty.h"

static struct termios saved, raw;
static volatile sig_atomic_t is_raw;
/* Raw mode was given up for a stop (SIGTSTP) and comes back on SIGCONT. */
static bool suspended;

void tty_restore(void)
{
	/* tcsetattr is async-signal-safe, so this also serves the handlers. */
	if (is_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		is_raw = 0;
	}
}

static void fatal_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

void tty_suspend(void)
{
	if (is_raw) {
		tty_restore();
		suspended = true;
	}
}

void tty_resume(void)
{
	/*
	 * Continued in the background (`bg`): the terminal is the shell's,
	 * and tcsetattr would only stop us again (SIGTTOU).  Stay cooked
	 * until a later SIGCONT finds us in the foreground (`fg`).
	 */
	if (!suspended || tcgetpgrp(STDIN_FILENO) != getpgrp())
		return;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		is_raw = 1;
	suspended = false;
}

bool tty_raw_begin(void)
{
	/* Those whose default action dumps core or kills: see vm.c for the rest. */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
				     SIGSYS, SIGTRAP, SIGXFSZ };
	unsigned int i;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved))
		return false;

	raw = saved;
	/*
	 * Input raw: no line editing, no echo, no signals from Ctrl-C/Ctrl-Z
	 * (they are the guest's).  Output processing stays on, so our own
	 * messages still start at column 0.
	 */
	raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
			 ICRNL | IXON);
	raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return false;
	is_raw = 1;

	atexit(tty_restore);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	return true;
}
