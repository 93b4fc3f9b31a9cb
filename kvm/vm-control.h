/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VM_CONTROL_H
#define LKVM_VM_CONTROL_H

#include "kvm/control.h"

struct vm;
struct vcpu;
struct control_reply;

/*
 * The VM's control server: vm_control_init() (in vm_create()) allocates
 * it and registers the VM's own requests; devices add theirs with
 * vm_control_register() before the VM runs; vm_run() listens on
 * $HOME/.lkvm/NAME.sock (-EADDRINUSE if the name is taken) and stops.
 */
int vm_control_init(struct vm *vm);
int vm_control_register(struct vm *vm, u16 cmd, control_fn *fn, void *opaque);
int vm_control_start(struct vm *vm);
void vm_control_stop(struct vm *vm);
void vm_control_fini(struct vm *vm);

/*
 * Arch: walk @gva, or with at_pc the vCPU's own PC, through the vCPU's
 * page tables into the reply.  The vCPU is parked.  On an error the reply
 * may say why (paging off, say), without a final newline.
 */
int arch_vcpu_pgwalk(struct vcpu *vcpu, bool at_pc, unsigned long long gva,
		     struct control_reply *r);

#endif
