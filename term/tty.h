/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host terminal.  When stdin is a terminal, lkvm puts it in raw mode so
 * every key (Ctrl-C included) reaches the guest, and restores it on every
 * way out: normal exit, a fatal signal, or a crash.
 */
#ifndef LKVM_TTY_H
#define LKVM_TTY_H

#include <stdbool.h>

/* Raw mode if stdin is a tty; returns true if it did. */
bool tty_raw_begin(void);
void tty_restore(void);
/* Around a job-control stop: the shell gets its terminal back meanwhile. */
void tty_suspend(void);
void tty_resume(void);

#endif
