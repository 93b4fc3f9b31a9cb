/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_PCI_H
#define LKVM_X86_PCI_H

struct vm;

/* PCI bus 0 behind conf1 ports 0xcf8-0xcff; sets vm->pci. */
int x86_pci_init(struct vm *vm);

#endif
