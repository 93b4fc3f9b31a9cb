/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_PCI_H
#define LKVM_X86_PCI_H

#include <stdbool.h>

struct vm;

/* PCI bus 0 behind conf1 ports 0xcf8-0xcff; sets vm->pci. */
int x86_pci_init(struct vm *vm);

/*
 * Once every device is added, before the guest runs: if bus 0 holds
 * nothing but the host bridge, hide it (conf1 finds no PCI) and return
 * true, for the DSDT to leave PCI0 out too.
 */
bool x86_pci_hide_if_empty(struct vm *vm);

#endif
