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

#include "kvm/control.h"
#include "kvm/migrate.h"
#include "kvm/vm-control.h"
#include "kvm/vm.h"

#define DUMP_MAX 4096

static int h_info(void *opaque, struct control_info *info)
{
	struct vm *vm = opaque;
	int mig = migrate_list_state(vm);

	info->state = vm_exiting(vm) ? CONTROL_STATE_STOPPING :
		      mig >= 0 ? (u32)mig :
		      vm_is_paused(vm) ? CONTROL_STATE_PAUSED :
					 CONTROL_STATE_RUNNING;
	info->nr_vcpus = vm->nr_vcpus;
	info->mem_mib = vm->cfg.ram_size >> 20;
	return 0;
}

static int h_stop(void *opaque, const struct control_req *q,
		  struct control_reply *r)
{
	struct vm *vm = opaque;

	vm_set_fate(vm, VM_FATE_STOPPED, "stopped on request (lkvm stop)");
	return 0;
}

static int h_pause(void *opaque, const struct control_req *q,
		   struct control_reply *r)
{
	int ret = vm_pause(opaque);

	if (ret == -EALREADY)
		control_reply_printf(r, "already paused");
	return ret;
}

static int h_resume(void *opaque, const struct control_req *q,
		    struct control_reply *r)
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

static int h_debug_regs(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct vm *vm = opaque;
	int vcpu = q->vcpu;
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

static int h_debug_mem(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct vm *vm = opaque;
	u64 gpa = q->gpa, len = q->len;
	const void *hva = gpa_to_hva(&vm->mem, gpa, len);

	if (!hva) {
		control_reply_printf(r, "0x%llx+0x%llx is not guest RAM",
				     (unsigned long long)gpa,
				     (unsigned long long)len);
		return -EFAULT;
	}
	return control_reply_hexdump(r, gpa, hva, len);
}

static int h_debug_nmi(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct vm *vm = opaque;
	int vcpu = q->vcpu;
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

static int h_debug_pgwalk(void *opaque, const struct control_req *q,
			  struct control_reply *r)
{
	struct vm *vm = opaque;
	int ret = check_vcpu(vm, q->vcpu, false);

	if (ret)
		return ret;
	vm_pause_hold(vm);
	ret = arch_vcpu_pgwalk(&vm->vcpus[q->vcpu], q->walk_pc, q->gpa, r);
	vm_pause_release(vm);
	return ret;
}

static const struct {
	u16 cmd;
	control_fn *fn;
} vm_handlers[] = {
	{ CONTROL_CMD_STOP, h_stop },
	{ CONTROL_CMD_PAUSE, h_pause },
	{ CONTROL_CMD_RESUME, h_resume },
	{ CONTROL_CMD_DEBUG_REGS, h_debug_regs },
	{ CONTROL_CMD_DEBUG_MEM, h_debug_mem },
	{ CONTROL_CMD_DEBUG_NMI, h_debug_nmi },
	{ CONTROL_CMD_DEBUG_PGWALK, h_debug_pgwalk },
};

int vm_control_init(struct vm *vm)
{
	unsigned int i;
	int r = 0;

	vm->control = calloc(1, sizeof(*vm->control));
	if (!vm->control)
		return -ENOMEM;
	control_register_info(vm->control, h_info, vm);
	for (i = 0; i < ARRAY_SIZE(vm_handlers) && !r; i++)
		r = control_register(vm->control, vm_handlers[i].cmd,
				     vm_handlers[i].fn, vm);
	return r;
}

int vm_control_register(struct vm *vm, u16 cmd, control_fn *fn, void *opaque)
{
	return control_register(vm->control, cmd, fn, opaque);
}

int vm_control_start(struct vm *vm)
{
	return control_start(vm->control, vm->cfg.name);
}

void vm_control_stop(struct vm *vm)
{
	if (vm->control)
		control_stop(vm->control);
}

void vm_control_fini(struct vm *vm)
{
	vm_control_stop(vm);
	free(vm->control);
	vm->control = NULL;
}
