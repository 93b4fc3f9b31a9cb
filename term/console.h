/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest console: the platform's 8250 UART (COM1 on x86; where it
 * lives comes from the arch header) wired to lkvm's stdin and stdout.  It
 * also watches the console for a kernel panic, because a panicking guest
 * with panic=-1 simply reboots, and one without it hangs; either way the
 * fate must say "panic".  And for "reboot: Restarting system", which tells
 * an intended triple fault from a crash.
 *
 * It is a device of the device table (builtin-cmds/run-devices.c), always
 * present, and registers `lkvm debug --sysrq` with the control server.
 */
#ifndef LKVM_CONSOLE_H
#define LKVM_CONSOLE_H

#include "kvm/device.h"

extern const struct dev_module console_module;

#endif
