/* SPDX-License-Identifier: GPL-2.0 */
/* `--stats`: VM exits by reason and lkvm's own memory, printed at exit. */
#ifndef LKVM_STATS_H
#define LKVM_STATS_H

#include <stdio.h>

struct vm;

void stats_print(struct vm *vm, FILE *f);

#endif
