/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ways an x86 guest ends itself, as port devices:
 * - ACPI sleep control (hardware-reduced ACPI): S5 is power-off;
 * - the reset control register 0xcf9 (ACPI RESET_REG and reboot=pci);
 * - the i8042 "pulse reset line" command (reboot=kbd);
 * - the pvpanic port, which a guest's pvpanic driver writes on panic.
 * (A triple fault, the last resort, arrives as KVM_EXIT_SHUTDOWN.)
 */
#ifndef LKVM_X86_POWER_H
#define LKVM_X86_POWER_H

#include "kvm/types.h"
#include "x86/acpi.h"

#define PVPANIC_PORT ACPI_PVPANIC_PORT

struct vm;

int power_init(struct vm *vm);
/* The 0xcf9 reset control register, shared with PCI conf1's address port. */
void power_reset_write(struct vm *vm, u8 val);

#endif
