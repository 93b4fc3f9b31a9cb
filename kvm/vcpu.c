// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads.  Each one loops on KVM_RUN and serves the exits that need
 * userspace: port I/O and MMIO go to the buses, a shutdown or system event
 * decides the guest's fate, and an internal error is reported with enough
 * state (exit reason, suberror, RIP, code bytes) to debug it.
 *
 * Kicking: another thread sets run->immediate_exit and sends SIG_VCPU_KICK.
 * If the vCPU is inside KVM_RUN the signal makes it return -EINTR; if it is
 * about to enter, immediate_exit makes KVM return at once.  No busy waiting.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/vm.h"

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
};

const char *vcpu_exit_name(unsigned int reason)
{
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "?";
}

static void kick_handler(int sig)
{
	/* Only here to make KVM_RUN return -EINTR. */
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	int r;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	r = kvm_ioctl_val(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (r < 0)
		return r;
	vcpu->fd = r;

	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		r = -errno;
		goto err_fd;
	}

	r = arch_vcpu_init(vcpu);
	if (r)
		goto err_map;
	return 0;

err_map:
	munmap(vcpu->run, vm->run_size);
err_fd:
	close(vcpu->fd);
	vcpu->fd = -1;
	return r;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->fd < 0)
		return;
	munmap(vcpu->run, vcpu->vm->run_size);
	close(vcpu->fd);
	vcpu->fd = -1;
}

void vcpu_kick(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	/*
	 * A thread that is not kickable yet takes pause_lock before its
	 * first KVM_RUN, after our unlock, so it sees immediate_exit then.
	 * The vCPU clears immediate_exit under the lock too (vcpu_settle).
	 */
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELAXED);
	if (vcpu->kickable)
		pthread_kill(vcpu->self, SIG_VCPU_KICK);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u8 *data = (u8 *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	u32 i;

	/* String I/O (rep outsb...) arrives as count items back to back. */
	for (i = 0; i < run->io.count; i++) {
		if (!io_bus_access(&vcpu->vm->pio, run->io.port, data,
				   run->io.size, is_write))
			pr_debug("unhandled %s port 0x%x size %u",
				 is_write ? "out" : "in", run->io.port,
				 run->io.size);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->mmio.len > sizeof(run->mmio.data))
		return;
	if (!io_bus_access(&vcpu->vm->mmio, run->mmio.phys_addr,
			   run->mmio.data, run->mmio.len, run->mmio.is_write))
		pr_debug("unhandled mmio %s 0x%llx len %u",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len);
}

static void report_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char state[1024];
	char data[128] = "";
	u32 i;
	int n = 0;

	for (i = 0; i < run->internal.ndata && i < 4; i++)
		n += snprintf(data + n, sizeof(data) - n, " 0x%llx",
			      (unsigned long long)run->internal.data[i]);
	arch_vcpu_describe(vcpu, state, sizeof(state));
	vm_set_fate(vcpu->vm, VM_FATE_INTERNAL_ERROR,
		    "KVM internal error on vCPU %u: suberror %u%s%s\n%s",
		    vcpu->id, run->internal.suberror,
		    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			    " (instruction emulation failed)" : "",
		    data, state);
}

static void handle_system_event(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_set_fate(vm, VM_FATE_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_set_fate(vm, VM_FATE_REBOOT, "guest rebooted");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vm_set_fate(vm, VM_FATE_PANIC, "guest crashed (system event)");
		break;
	default:
		vm_set_fate(vm, VM_FATE_INTERNAL_ERROR,
			    "unknown system event %u",
			    vcpu->run->system_event.type);
	}
}

/*
 * A triple fault.  Linux reboots through the ports lkvm offers (the ACPI
 * reset register, 0xcf9, the keyboard controller), which end the VM at
 * once; it triple-faults on purpose only after it said so (reboot=triple
 * prints "reboot: Restarting system" first).  Any other triple fault is a
 * crash, often before the kernel printed a byte, and deserves the same
 * register dump as a KVM error.
 */
static void handle_shutdown(struct vcpu *vcpu)
{
	char state[1024];

	if (vm_reboot_announced(vcpu->vm)) {
		vm_set_fate(vcpu->vm, VM_FATE_REBOOT,
			    "guest rebooted (triple fault on vCPU %u)",
			    vcpu->id);
		return;
	}
	arch_vcpu_describe(vcpu, state, sizeof(state));
	vm_set_fate(vcpu->vm, VM_FATE_CRASH,
		    "guest crashed: triple fault on vCPU %u, with no reboot "
		    "requested\n%s",
		    vcpu->id, state);
}

/* Returns false when the vCPU should stop running. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char state[1024];

	if (run->exit_reason < VCPU_EXIT_REASONS)
		vcpu->exits[run->exit_reason]++;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		handle_shutdown(vcpu);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		report_internal_error(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		arch_vcpu_describe(vcpu, state, sizeof(state));
		vm_set_fate(vcpu->vm, VM_FATE_INTERNAL_ERROR,
			    "KVM could not enter vCPU %u: hardware reason 0x%llx\n%s",
			    vcpu->id,
			    (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			    state);
		return false;
	default:
		if (arch_vcpu_handle_exit(vcpu) == 0)
			return true;
		arch_vcpu_describe(vcpu, state, sizeof(state));
		vm_set_fate(vcpu->vm, VM_FATE_INTERNAL_ERROR,
			    "unexpected exit %s (%u) on vCPU %u\n%s",
			    vcpu_exit_name(run->exit_reason),
			    run->exit_reason, vcpu->id, state);
		return false;
	}
}

/*
 * The run loop leaves or parks only after KVM_RUN returned -EINTR (or
 * -EAGAIN, which a vCPU waiting for INIT/SIPI returns with nothing
 * pending).  An IN, OUT or MMIO exit is complete only once KVM_RUN is
 * entered again: KVM then stores an IN's data and moves RIP past the
 * instruction, and with immediate_exit set it does that and returns
 * -EINTR without running the guest on (api.rst, "KVM_RUN" and
 * "immediate_exit").  A kick sets immediate_exit, so the next KVM_RUN
 * after a kick is exactly that.  Parking right after handling the exit
 * instead would leave RIP on the I/O instruction, with its data only in
 * kvm_run: what `lkvm debug` shows, or a migration saves, would not be
 * the guest's real state.
 *
 * Here, at such a point: clear the kick, then park while the VM is
 * paused.  Returns false when the vCPU should stop.  All under
 * pause_lock, as vcpu_kick() sets immediate_exit: a kick either came
 * before, and its reason (a hold, or the VM exiting, both set before the
 * kick) is seen here, or comes after, and the next KVM_RUN returns at once.
 */
static bool vcpu_settle(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool run_on;

	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_holds && !vm_exiting(vm)) {
		vm->vcpus_parked++;
		pthread_cond_broadcast(&vm->pause_cond);
		while (vm->pause_holds && !vm_exiting(vm))
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
		vm->vcpus_parked--;
	}
	/* Kicks while parked were for holds that are gone by now. */
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_RELAXED);
	run_on = !vm_exiting(vm);
	pthread_mutex_unlock(&vm->pause_lock);
	return run_on;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t set;
	int r;

	/* Every other signal stays blocked (set by the main thread). */
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_mutex_lock(&vm->pause_lock);
	vcpu->self = pthread_self();
	vcpu->kickable = true;
	pthread_mutex_unlock(&vm->pause_lock);

	for (;;) {
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		if (r < 0) {
			r = -errno;
			if (r != -EINTR && r != -EAGAIN) {
				vm_set_fate(vm, VM_FATE_HOST_ERROR,
					    "KVM_RUN on vCPU %u: %s",
					    vcpu->id, strerror(-r));
				break;
			}
			if (!vcpu_settle(vcpu))
				break;
			continue;
		}
		if (!handle_exit(vcpu))
			break;
	}

	/* A pauser waiting for this vCPU to park must not wait forever. */
	pthread_mutex_lock(&vm->pause_lock);
	vcpu->kickable = false;
	vm->vcpus_running--;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return NULL;
}

/* "lkvm-vcpu0": for top -H, perf and a bench that sorts threads by role. */
static void vcpu_name_thread(struct vcpu *vcpu)
{
	char name[16];

	snprintf(name, sizeof(name), "lkvm-vcpu%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int r;

	/* No SA_RESTART: the point of the signal is to interrupt KVM_RUN. */
	sigaction(SIG_VCPU_KICK, &sa, NULL);
	pthread_mutex_lock(&vcpu->vm->pause_lock);
	vcpu->vm->vcpus_running++;
	pthread_mutex_unlock(&vcpu->vm->pause_lock);
	r = -pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (!r) {
		vcpu->started = true;
		vcpu_name_thread(vcpu);
	} else {
		pthread_mutex_lock(&vcpu->vm->pause_lock);
		vcpu->vm->vcpus_running--;
		pthread_mutex_unlock(&vcpu->vm->pause_lock);
	}
	return r;
}
