/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtual machine: the KVM file descriptors, guest RAM, the vCPUs, the
 * I/O buses the devices hang off, the I/O thread, the list of devices and
 * the guest's fate.  It knows no device by type (kvm/device.h).
 *
 * Threads: main (vm_run()'s caller; it waits for the fate, signals and
 * timeouts), one thread per vCPU (KVM_RUN; port/MMIO exits are served right
 * there), the I/O thread (kvm/ioloop.h) and the control thread
 * (kvm/control.h).
 */
#ifndef LKVM_VM_H
#define LKVM_VM_H

#include <pthread.h>
#include <stdio.h>
#include <linux/kvm.h>

#include "kvm/types.h"
#include "kvm/device.h"
#include "kvm/fate.h"
#include "kvm/mem.h"
#include "kvm/iobus.h"
#include "kvm/ioloop.h"
#include "kvm/irq.h"
#include "arch-vm.h"

#define VCPU_EXIT_REASONS 64
#define VM_FATE_MSG_MAX 2048 /* room for a register dump (vcpu.c) */

struct vm_config {
	const char *kernel;
	const char *initrd;
	/* More initramfs after the initrd, e.g. lkvm's agent (may be alone). */
	const void *initrd_extra;
	size_t initrd_extra_size;
	const char *cmdline;
	const char *name;
	u64 ram_size;		/* bytes */
	unsigned int nr_vcpus;
	/*
	 * --incoming URI (kvm/migrate.h): the guest comes from a migration
	 * stream instead of a kernel.  While it waits for one, the main
	 * thread calls poll(vm, poll_arg) every 100 ms or so, to answer
	 * signals and timeouts; it may decide the fate.
	 */
	const char *incoming;
	void (*poll)(struct vm *vm, void *arg);
	void *poll_arg;
	/*
	 * --virtio-transport: virtio devices on the PCI bus (the default),
	 * or each in a memory-mapped window of its own (virtio/transport.h).
	 */
	enum vm_transport { VM_TRANSPORT_PCI, VM_TRANSPORT_MMIO } transport;
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;	/* the thread was created: vm_run() joins it */
	/*
	 * Under vm->pause_lock: the thread is in its run loop and takes
	 * SIG_VCPU_KICK at self (its own pthread_self()).  False before it
	 * gets there and once it has left, so a kick never signals a thread
	 * that may already be joined.
	 */
	bool kickable;
	pthread_t self;
	u64 exits[VCPU_EXIT_REASONS]; /* by KVM_EXIT_*, written by this vCPU only */
	struct arch_vcpu arch;
};

struct pci_bus;
struct control;
struct migration;
struct mig_incoming;

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size; /* mmap size of struct kvm_run */
	struct vm_config cfg;
	struct guest_mem mem;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct io_bus pio;
	struct io_bus mmio;
	struct ioloop loop;
	struct irq_routing routing;
	pthread_t main_thread;	/* woken by SIG_VM_WAKE when the fate is set */
	/* Every device, in the order added (kvm/device.h). */
	struct vm_device **devices;
	unsigned int nr_devices;
	/* The platform's PCI bus, if it has one: where transports plug in. */
	struct pci_bus *pci;
	/* Allocated by vm_create() so devices can register their requests. */
	struct control *control;
	/* The source's migration, if one was started (kvm/migrate.c). */
	struct migration *migration;
	/* The destination's, while it loads and until it confirmed. */
	struct mig_incoming *incoming;

	/* The guest's fate (kvm/fate.h): set once, by whoever sees it first. */
	pthread_mutex_t fate_lock;
	bool exiting;
	enum vm_fate fate;
	int fate_signal;
	char fate_msg[VM_FATE_MSG_MAX];
	bool panic_seen;	/* "Kernel panic - not syncing" was printed */
	bool reboot_seen;	/* "reboot: Restarting system", or a reset asked */

	/*
	 * Pausing: while holds > 0 every vCPU stays out of KVM_RUN, parked on
	 * pause_cond.  `lkvm pause` is one hold; debug commands take a hold
	 * for as long as they read vCPU state.
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	unsigned int pause_holds;
	unsigned int vcpus_parked;
	unsigned int vcpus_running; /* threads still in their run loop */
	bool user_paused;

	struct arch_vm arch;
};

/*
 * Open KVM, allocate guest RAM, and let the arch set up the machine and
 * its platform devices (interrupt controllers, power ports, the PCI bus).
 * Devices of the command line come next, through vm_add_device().  Says
 * why on error.  The caller's thread is the one vm_run() wakes.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg);
/* Destroy the devices in reverse order, then the VM. */
void vm_destroy(struct vm *vm);

/*
 * Run the guest until its fate is decided: load the kernel, create the
 * vCPUs, open the control socket, start the devices in order, the I/O
 * thread and the vCPU threads; then call wait(vm, arg), which returns once
 * vm_exiting() (the caller's loop over signals and its timeout); then join
 * the vCPUs, stop the I/O thread and stop the devices in reverse.
 *
 * The caller blocks SIG_VM_WAKE and the signals it waits for before, so
 * that every thread inherits the mask.  Returns 0 when the guest ran (read
 * the fate with vm_get_fate()), or -errno when it could not start (and the
 * step that failed said why).
 */
int vm_run(struct vm *vm, void (*wait)(struct vm *vm, void *arg), void *arg);

/* The VM's devices for `--stats`: each one's stats hook. */
void vm_devices_stats(struct vm *vm, FILE *f);

/*
 * Take or drop a pause hold.  vm_pause_hold() returns once every vCPU is
 * parked outside KVM_RUN (or the VM is ending), so vCPU ioctls such as
 * KVM_GET_REGS do not wait on a running guest.
 */
void vm_pause_hold(struct vm *vm);
void vm_pause_release(struct vm *vm);
/* `lkvm pause` / `lkvm resume`: -EALREADY if already in that state. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);

/* Register a port-I/O or MMIO range; -errno on overlap. */
int vm_register_pio(struct vm *vm, struct io_range *r);
int vm_register_mmio(struct vm *vm, struct io_range *r);

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
const char *vcpu_exit_name(unsigned int reason);

/* Signal used to kick vCPUs out of KVM_RUN, and to wake the main thread. */
#define SIG_VCPU_KICK SIGUSR1
#define SIG_VM_WAKE SIGUSR2

/*
 * The arch interface: what kvm/ asks of x86/ or arm64/.  Nothing else in
 * generic code knows the architecture.
 */
int arch_vm_init(struct vm *vm);		/* irqchip, timers, memory layout */
int arch_vm_setup_devices(struct vm *vm);	/* platform devices */
int arch_vm_load_kernel(struct vm *vm);	/* image, initrd, boot tables */
/* The release of the kernel image at @path ("6.1.0-57-cloud-amd64"). */
int arch_kernel_release(const char *path, char *buf, size_t len);
void arch_vm_destroy(struct vm *vm);
int arch_vcpu_init(struct vcpu *vcpu);		/* CPUID, registers */
/* Handle an exit generic code does not know; 0 to carry on. */
int arch_vcpu_handle_exit(struct vcpu *vcpu);
/* Describe the vCPU's state (registers, code at PC) for an error report. */
void arch_vcpu_describe(struct vcpu *vcpu, char *buf, size_t len);
/* Every register worth showing, for `lkvm debug`; the vCPU is parked. */
int arch_vcpu_dump(struct vcpu *vcpu, char *buf, size_t len);
/* Inject an NMI; the vCPU is parked. */
int arch_vcpu_nmi(struct vcpu *vcpu);
/*
 * Room for one more virtio-mmio device (virtio/mmio.c): a page of guest
 * physical addresses at *base and an edge-triggered interrupt line at
 * *gsi, which the arch describes to the guest in its firmware tables
 * (x86: an LNRO0005 device in the DSDT).  -ENOSPC when out of lines.
 * Before the kernel is loaded.
 */
int arch_virtio_mmio_add(struct vm *vm, u64 *base, u32 *gsi);

/*
 * Migration (kvm/migrate-state.c): the arch's part of the stream's
 * header (CPU model), the VM-wide state (irqchip, timers, clock) and
 * each vCPU's.  Saves run with every vCPU parked; loads before any vCPU
 * runs, VM-wide first, and check what they read (state_fail()).
 */
struct state_out;
struct state_in;
void arch_mig_header_put(struct vm *vm, struct state_out *o);
int arch_mig_header_check(struct vm *vm, struct state_in *in);
int arch_vm_save(struct vm *vm, struct state_out *o);
int arch_vm_load(struct vm *vm, struct state_in *in);
int arch_vcpu_save(struct vcpu *vcpu, struct state_out *o);
int arch_vcpu_load(struct vcpu *vcpu, struct state_in *in);
/*
 * A live migration's source, in its setup, with every vCPU parked for a
 * moment: learn now what the saves will ask of the vCPUs, so that the
 * downtime does not (x86: which MSRs KVM will read back).
 */
int arch_mig_source_prepare(struct vm *vm);

/* Tell a kvmclock guest it was stopped (KVM_KVMCLOCK_CTRL), every vCPU. */
void vm_kvmclock_ctrl(struct vm *vm);

#endif
