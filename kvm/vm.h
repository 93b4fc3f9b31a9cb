/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtual machine: the KVM file descriptors, guest RAM, the vCPUs, the
 * I/O buses the devices hang off, the I/O thread, and the guest's fate.
 *
 * Threads: main (waits for the fate, a signal or the timeout), one thread per
 * vCPU (KVM_RUN; port/MMIO exits are served right there), the I/O thread
 * (kvm/ioloop.h) and optionally a control thread.
 */
#ifndef LKVM_VM_H
#define LKVM_VM_H

#include <pthread.h>
#include <linux/kvm.h>

#include "kvm/types.h"
#include "kvm/mem.h"
#include "kvm/iobus.h"
#include "kvm/ioloop.h"
#include "kvm/irq.h"
#include "arch-vm.h"

#define VM_MAX_DISKS 8
#define VCPU_EXIT_REASONS 64

struct disk_config {
	const char *path;
	bool ro;
};

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *name;
	u64 ram_size;		/* bytes */
	unsigned int nr_vcpus;
	struct disk_config disk[VM_MAX_DISKS];
	unsigned int nr_disks;
	unsigned int timeout_s; /* 0: none */
	bool stats;		/* print exit counts at the end */
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

struct console;
struct pci_bus;
struct control;
struct virtio_blk;
struct virtio_pci;

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
	pthread_t main_thread;
	struct console *console;
	struct pci_bus *pci;
	struct control *control;
	/* virtio-blk devices, in -d order (virtio/devices.c) */
	struct virtio_blk *blk[VM_MAX_DISKS];
	struct virtio_pci *blk_pci[VM_MAX_DISKS];
	unsigned int nr_blk;

	/* The guest's fate: set once, by whoever sees it first. */
	pthread_mutex_t fate_lock;
	bool exiting;
	int exit_code;
	char exit_msg[2048]; /* room for a register dump (vcpu.c) */
	bool panic_seen; /* the console showed a panic; a reset now is its end */

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

int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* Bring up vCPUs and the I/O thread, wait for the fate, tear down. */
int vm_run(struct vm *vm);

/*
 * Decide the guest's fate (first caller wins) and get every thread out:
 * vCPUs are kicked out of KVM_RUN and the main thread is woken.
 */
void vm_request_exit(struct vm *vm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_exiting(struct vm *vm);

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

#endif
