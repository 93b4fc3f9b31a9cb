// SPDX-License-Identifier: GPL-2.0
/*
 * Pausing: while vm->pause_holds > 0 every vCPU stays out of KVM_RUN,
 * parked in vcpu_settle() (kvm/vcpu.c).  `lkvm pause` is one hold; the
 * debug requests take one for as long as they read vCPU state.
 */
#include <errno.h>

#include "kvm/kvm.h"
#include "kvm/vm.h"

void vm_pause_hold(struct vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&vm->pause_lock);
	__atomic_add_fetch(&vm->pause_holds, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->pause_lock);

	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);

	pthread_mutex_lock(&vm->pause_lock);
	while (vm->vcpus_parked < vm->vcpus_running && !vm_exiting(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_pause_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_holds)
		__atomic_sub_fetch(&vm->pause_holds, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

/*
 * Tell a kvmclock guest it was stopped, so its watchdogs do not report
 * the pause as a soft lockup (KVM_KVMCLOCK_CTRL).  A guest without
 * kvmclock answers EINVAL, which is fine.
 */
void vm_kvmclock_ctrl(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		kvm_ioctl_val(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0);
}

int vm_pause(struct vm *vm)
{
	bool was;

	pthread_mutex_lock(&vm->pause_lock);
	was = vm->user_paused;
	vm->user_paused = true;
	pthread_mutex_unlock(&vm->pause_lock);
	if (was)
		return -EALREADY;
	vm_pause_hold(vm);
	vm_kvmclock_ctrl(vm);
	return 0;
}

int vm_resume(struct vm *vm)
{
	bool was;

	pthread_mutex_lock(&vm->pause_lock);
	was = vm->user_paused;
	vm->user_paused = false;
	pthread_mutex_unlock(&vm->pause_lock);
	if (!was)
		return -EALREADY;
	vm_pause_release(vm);
	return 0;
}

bool vm_is_paused(struct vm *vm)
{
	bool p;

	pthread_mutex_lock(&vm->pause_lock);
	p = vm->user_paused;
	pthread_mutex_unlock(&vm->pause_lock);
	return p;
}
