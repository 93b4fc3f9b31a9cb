// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's side of the control channel: what `lkvm list/stop/pause/resume/
 * debug` do to a running VM.  The transport (socket, protocol, control
 * thread) is kvm/control.c; these handlers run on its thread.
 *
 * Anything that reads or changes vCPU state first parks every vCPU outside
 * KVM_RUN (vm_pause_hold): a vCPU ioctl would otherwise wait until the
 * running guest happens to exit, which for a halted guest may be never.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builtin-cmds/cmds.h"
#include "kvm/control.h"
#include "kvm/vm-control.h"
#include "kvm/vm.h"
#include "term/console.h"

#define DUMP_MAX 4096

static int h_info(void *opaque, struct control_info *info)
{
	struct vm *vm = opaque;

	info->state = vm_exiting(vm) ? CONTROL_STATE_STOPPING :
		      vm_is_paused(vm) ? CONTROL_STATE_PAUSED :
					 CONTROL_STATE_RUNNING;
	info->nr_vcpus = vm->nr_vcpus;
	info->mem_mib = vm->cfg.ram_size >> 20;
	return 0;
}

static int h_stop(void *opaque, struct control_reply *r)
{
	struct vm *vm = opaque;

	vm_request_exit(vm, LKVM_EXIT_OK, "stopped on request (lkvm stop)");
	return 0;
}

static int h_pause(void *opaque, struct control_reply *r)
{
	int ret = vm_pause(opaque);

	if (ret == -EALREADY)
		control_reply_printf(r, "already paused");
	return ret;
}

static int h_resume(void *opaque, struct control_reply *r)
{
	int ret = vm_resume(opaque);

	if (ret == -EALREADY)
		control_reply_printf(r, "not paused");
	return ret;
}

static int check_vcpu(struct vm *vm, int vcpu, bool all_ok)
{
	if (vcpu == CONTROL_VCPU_ALL && all_ok)
		return 0;
	return vcpu >= 0 && (unsigned int)vcpu < vm->nr_vcpus ? 0 : -ERANGE;
}

/*
 * Where the vCPU executes, through its own page tables (issue 5: "a
 * page-table walk of RIP"), below its registers.  A vCPU the walk cannot
 * follow (paging off, still in reset) gets the reason instead; the dump
 * goes on.
 */
static void walk_pc(struct vcpu *vcpu, struct control_reply *r)
{
	control_reply_printf(r, "  ");
	arch_vcpu_pgwalk(vcpu, true, 0, r);
	if (r->len && r->buf[r->len - 1] != '\n')
		control_reply_printf(r, "\n");
}

static int h_debug_regs(void *opaque, int vcpu, struct control_reply *r)
{
	struct vm *vm = opaque;
	char *buf;
	unsigned int i;
	int ret;

	ret = check_vcpu(vm, vcpu, true);
	if (ret)
		return ret;
	buf = malloc(DUMP_MAX);
	if (!buf)
		return -ENOMEM;
	vm_pause_hold(vm);
	for (i = 0; i < vm->nr_vcpus && !ret; i++) {
		if (vcpu != CONTROL_VCPU_ALL && (int)i != vcpu)
			continue;
		ret = arch_vcpu_dump(&vm->vcpus[i], buf, DUMP_MAX);
		if (!ret) {
			control_reply_printf(r, "%s", buf);
			walk_pc(&vm->vcpus[i], r);
		}
	}
	vm_pause_release(vm);
	free(buf);
	return ret;
}

static int h_debug_mem(void *opaque, u64 gpa, u64 len, struct control_reply *r)
{
	struct vm *vm = opaque;
	const void *hva = gpa_to_hva(&vm->mem, gpa, len);

	if (!hva) {
		control_reply_printf(r, "0x%llx+0x%llx is not guest RAM",
				     (unsigned long long)gpa,
				     (unsigned long long)len);
		return -EFAULT;
	}
	return control_reply_hexdump(r, gpa, hva, len);
}

static int h_debug_nmi(void *opaque, int vcpu, struct control_reply *r)
{
	struct vm *vm = opaque;
	int ret = check_vcpu(vm, vcpu, false);

	if (ret)
		return ret;
	vm_pause_hold(vm);
	ret = arch_vcpu_nmi(&vm->vcpus[vcpu]);
	vm_pause_release(vm);
	if (!ret)
		control_reply_printf(r, "NMI injected into vCPU %d", vcpu);
	return ret;
}

static int h_debug_sysrq(void *opaque, char key, struct control_reply *r)
{
	struct vm *vm = opaque;

	console_sysrq(vm, key);
	control_reply_printf(r, "sent break + '%c' on the serial console", key);
	return 0;
}

static int h_debug_pgwalk(void *opaque, int vcpu, bool at_pc, u64 gva,
			  struct control_reply *r)
{
	struct vm *vm = opaque;
	int ret = check_vcpu(vm, vcpu, false);

	if (ret)
		return ret;
	vm_pause_hold(vm);
	ret = arch_vcpu_pgwalk(&vm->vcpus[vcpu], at_pc, gva, r);
	vm_pause_release(vm);
	return ret;
}

static const struct control_handlers vm_handlers = {
	.info = h_info,
	.stop = h_stop,
	.pause = h_pause,
	.resume = h_resume,
	.debug_regs = h_debug_regs,
	.debug_mem = h_debug_mem,
	.debug_nmi = h_debug_nmi,
	.debug_sysrq = h_debug_sysrq,
	.debug_pgwalk = h_debug_pgwalk,
};

int vm_control_start(struct vm *vm)
{
	int r;

	vm->control = calloc(1, sizeof(*vm->control));
	if (!vm->control)
		return -ENOMEM;
	r = control_start(vm->control, vm->cfg.name, &vm_handlers, vm);
	if (r) {
		free(vm->control);
		vm->control = NULL;
	}
	return r;
}

void vm_control_stop(struct vm *vm)
{
	if (!vm->control)
		return;
	control_stop(vm->control);
	free(vm->control);
	vm->control = NULL;
}
