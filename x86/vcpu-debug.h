/* SPDX-License-Identifier: GPL-2.0 */
/* What the x86 debug code (x86/vcpu-debug.c) offers the vCPU dumps. */
#ifndef LKVM_X86_VCPU_DEBUG_H
#define LKVM_X86_VCPU_DEBUG_H

#include <linux/kvm.h>

#include "kvm/types.h"

struct vcpu;

/*
 * The guest physical address of gva for a vCPU with special registers s:
 * 0, or -EFAULT where the guest's page tables map nothing there.
 */
int x86_vcpu_translate(struct vcpu *vcpu, const struct kvm_sregs *s,
		       u64 gva, u64 *gpa);

#endif
