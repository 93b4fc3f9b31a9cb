/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest console: COM1 (an 8250 at 0x3f8, IRQ 4) wired to lkvm's stdin
 * and stdout.  It also watches the console for a kernel panic, because a
 * panicking guest with panic=-1 simply reboots, and one without it hangs;
 * either way the exit status must say "panic".
 */
#ifndef LKVM_CONSOLE_H
#define LKVM_CONSOLE_H

struct vm;

#define CONSOLE_PORT 0x3f8
#define CONSOLE_IRQ 4

/* Register COM1 on the port bus; call before vCPUs run. */
int console_init(struct vm *vm);
/* Start reading stdin (raw mode if it is a terminal); before ioloop_start. */
int console_start(struct vm *vm);
/* Flush output and restore the terminal. */
void console_stop(struct vm *vm);
/* Magic SysRq: a break on the line, then the key (Linux's 8250 driver). */
void console_sysrq(struct vm *vm, char key);

#endif
