/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_PCI_H
#define LKVM_X86_PCI_H

#include <stdbool.h>

struct vm;

/*
 * PCI bus 0 behind conf1 ports 0xcf8-0xcff; sets vm->pci.  Without @bus
 * (every virtio device on virtio-mmio) the ports read all ones, as on a
 * PC without PCI, so Linux finds no configuration mechanism and scans
 * nothing; 0xcf9 resets either way.
 */
int x86_pci_init(struct vm *vm, bool bus);

#endif
