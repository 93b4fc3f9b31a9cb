// SPDX-License-Identifier: GPL-2.0
/*
 * VM lifecycle: create the VM and its memory, hold its devices, start the
 * threads, wait for the guest's fate, and tear everything down in the
 * reverse order.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/migrate.h"
#include "kvm/vm.h"
#include "kvm/vm-control.h"

static void wake_handler(int sig)
{
	/* A wake that arrives after main stopped waiting must not kill us. */
}

static int vm_open_kvm(struct vm *vm)
{
	int r;

	r = kvm_open(&vm->kvm_fd);
	if (r)
		return r;
	r = kvm_ioctl_val(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (r < 0)
		return r;
	vm->vm_fd = r;
	r = kvm_ioctl_val(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		return r;
	vm->run_size = r;
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct sigaction sa = { .sa_handler = wake_handler };
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	vm->cfg = *cfg;
	vm->main_thread = pthread_self();
	pthread_mutex_init(&vm->fate_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	sigaction(SIG_VM_WAKE, &sa, NULL);

	r = vm_open_kvm(vm);
	if (!r)
		r = ioloop_init(&vm->loop);
	if (!r)
		r = guest_mem_alloc(&vm->mem, cfg->ram_size);
	if (!r)
		r = vm_control_init(vm);
	if (!r)
		r = migrate_register(vm);
	if (!r)
		r = arch_vm_init(vm);
	if (r) {
		pr_err("cannot create the VM: %s: %s", kvm_ioctl_failed_name(),
		       strerror(-r));
		goto err;
	}
	/* Platform devices say themselves what went wrong. */
	r = arch_vm_setup_devices(vm);
	if (r)
		goto err;
	return 0;

err:
	vm_destroy(vm);
	return r;
}

int vm_add_device(struct vm *vm, struct vm_device *dev)
{
	struct vm_device **d;

	d = realloc(vm->devices, (vm->nr_devices + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	vm->devices = d;
	dev->vm = vm;
	dev->started = false;
	vm->devices[vm->nr_devices++] = dev;
	return 0;
}

/* Last added, first destroyed: a device may use the ones before it. */
static void destroy_devices(struct vm *vm)
{
	struct vm_device *dev;

	while (vm->nr_devices) {
		dev = vm->devices[--vm->nr_devices];
		if (dev->ops->destroy)
			dev->ops->destroy(dev);
	}
	free(vm->devices);
	vm->devices = NULL;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	destroy_devices(vm);
	migrate_incoming_free(vm);
	migrate_free(vm);
	vm_control_fini(vm);
	/* After the devices: they take their events off the loop first. */
	ioloop_fini(&vm->loop);
	arch_vm_destroy(vm);
	guest_mem_free(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int vm_register_pio(struct vm *vm, struct io_range *r)
{
	return io_bus_register(&vm->pio, r);
}

int vm_register_mmio(struct vm *vm, struct io_range *r)
{
	return io_bus_register(&vm->mmio, r);
}

void vm_devices_stats(struct vm *vm, FILE *f)
{
	unsigned int i;

	for (i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i]->ops->stats)
			vm->devices[i]->ops->stats(vm->devices[i], f);
}

static int create_vcpus(struct vm *vm)
{
	unsigned int i;
	int r;

	vm->vcpus = calloc(vm->cfg.nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->cfg.nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->cfg.nr_vcpus; i++) {
		r = vcpu_create(vm, &vm->vcpus[i], i);
		vm->nr_vcpus = i + 1;
		if (r) {
			pr_err("cannot create vCPU %u: %s: %s", i,
			       kvm_ioctl_failed_name(), strerror(-r));
			return r;
		}
	}
	return 0;
}

static int start_devices(struct vm *vm)
{
	struct vm_device *dev;
	unsigned int i;
	int r;

	for (i = 0; i < vm->nr_devices; i++) {
		dev = vm->devices[i];
		r = dev->ops->start ? dev->ops->start(dev) : 0;
		if (r) {
			pr_err("cannot start %s: %s", dev->name, strerror(-r));
			return r;
		}
		dev->started = true;
	}
	return 0;
}

static void stop_devices(struct vm *vm)
{
	struct vm_device *dev;
	unsigned int i = vm->nr_devices;

	while (i--) {
		dev = vm->devices[i];
		if (dev->started && dev->ops->stop)
			dev->ops->stop(dev);
		dev->started = false;
	}
}

static int start_control(struct vm *vm)
{
	int r = vm->cfg.incoming ? migrate_incoming_control(vm) :
				   vm_control_start(vm);

	if (r == -EADDRINUSE) {
		pr_err("a VM named '%s' is already running", vm->cfg.name);
		return r;
	}
	if (r)	/* A VM that lkvm list cannot see beats no VM at all. */
		pr_warn("no control socket for '%s' (%s): lkvm list, stop, "
			"pause and debug will not see this VM",
			vm->cfg.name, strerror(-r));
	return 0;
}

static void run_vcpus(struct vm *vm, void (*wait)(struct vm *, void *),
		      void *arg)
{
	unsigned int i;
	int r;

	/* A migrated guest: kvmclock learns of the pause. */
	if (vm->cfg.incoming)
		vm_kvmclock_ctrl(vm);
	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_start(&vm->vcpus[i]);
		if (r) {
			vm_set_fate(vm, VM_FATE_HOST_ERROR,
				    "cannot start vCPU thread: %s", strerror(-r));
			break;
		}
	}
	/* It runs here now: the source may let go, the devices announce it. */
	if (vm->cfg.incoming && !r)
		migrate_incoming_done(vm);
	wait(vm, arg);
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
}

int vm_run(struct vm *vm, void (*wait)(struct vm *vm, void *arg), void *arg)
{
	bool stopped = false;
	int r;

	/* An incoming guest comes from the stream, not from a kernel. */
	r = vm->cfg.incoming ? 0 : arch_vm_load_kernel(vm);
	if (!r)
		r = create_vcpus(vm);
	if (!r)
		r = start_control(vm);
	if (r)
		return r;
	/*
	 * For an incoming guest, the devices and the I/O thread start before
	 * the stream is read, not in the downtime; the thread serves nothing
	 * until the guest's state is loaded.
	 */
	r = start_devices(vm);
	if (!r) {
		r = vm->cfg.incoming ? ioloop_start_held(&vm->loop) :
				       ioloop_start(&vm->loop);
		if (r)
			pr_err("cannot start the I/O thread: %s", strerror(-r));
	}
	if (!r && vm->cfg.incoming) {
		r = migrate_incoming(vm);
		/* Stopped while waiting (a signal, lkvm stop): the fate says. */
		if (r && vm_exiting(vm)) {
			stopped = true;
			r = 0;
		}
		if (!r && !stopped)
			ioloop_release(&vm->loop);
	}
	if (!r && !stopped) {
		run_vcpus(vm, wait, arg);
		/* A migration's thread may hold the I/O thread at its gate. */
		migrate_stop(vm);
	}
	ioloop_stop(&vm->loop);
	stop_devices(vm);
	vm_control_stop(vm);
	return r;
}
