// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's lifecycle (kvm/vm.c, kvm/fate.c) without /dev/kvm: vm_run()
 * with fake vCPUs, a fake control server and fake devices that log what
 * happens to them.  Devices start in the order they were added and stop
 * and are destroyed in reverse; a device that fails to start stops the
 * ones before it; the fate is decided once, by the first to see it; a
 * panic explains the reset after it; and a triple fault is a reboot only
 * if one was announced.  The real I/O loop runs; nothing else does.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>

#include "kvm/vm.h"
#include "kvm/vm-control.h"
#include "tests/unit/unit.h"

static struct vm vm;
static char trail[256];	/* "+a +b -b -a xb xa": start, stop, destroy */
static unsigned int vcpus_started, vcpus_joined;

static void note(char op, const char *name)
{
	size_t n = strlen(trail);

	snprintf(trail + n, sizeof(trail) - n, "%s%c%s", n ? " " : "", op,
		 name);
}

/* ---- what vm.o needs from the rest of lkvm: fakes ---- */

static void *fake_vcpu_thread(void *arg)
{
	return NULL;
}

int vcpu_create(struct vm *v, struct vcpu *vcpu, unsigned int id)
{
	vcpu->vm = v;
	vcpu->id = id;
	vcpu->fd = 100 + id;
	return 0;
}

int vcpu_start(struct vcpu *vcpu)
{
	vcpus_started++;
	vcpu->started = !pthread_create(&vcpu->thread, NULL,
					fake_vcpu_thread, vcpu);
	return vcpu->started ? 0 : -EAGAIN;
}

void vcpu_kick(struct vcpu *vcpu) {}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->started)
		vcpus_joined++;
	vcpu->fd = -1;
}

int vm_control_init(struct vm *v) { return 0; }
int vm_control_start(struct vm *v) { return 0; }
void vm_control_stop(struct vm *v) {}
void vm_control_fini(struct vm *v) {}
int arch_vm_init(struct vm *v) { return -ENOSYS; }
int arch_vm_setup_devices(struct vm *v) { return -ENOSYS; }
int arch_vm_load_kernel(struct vm *v) { return 0; }
void arch_vm_destroy(struct vm *v) {}
int kvm_open(int *fd) { return -ENOENT; }
int __kvm_ioctl(int fd, unsigned long cmd, const char *name,
		unsigned long arg) { return -ENOTTY; }
const char *kvm_ioctl_failed_name(void) { return "(fake)"; }
/* Migration (kvm/migrate*.c) has its own tests. */
int migrate_register(struct vm *v) { return 0; }
void migrate_stop(struct vm *v) {}
void migrate_free(struct vm *v) {}
int migrate_incoming_control(struct vm *v) { return 0; }
int migrate_incoming(struct vm *v) { return -ENOSYS; }
void migrate_incoming_done(struct vm *v) {}
void migrate_incoming_free(struct vm *v) {}
void migrate_incoming_stop(struct vm *v) {}

/* ---- fake devices ---- */

struct fake_dev {
	struct vm_device dev;
	int start_error;
};

static int fake_start(struct vm_device *dev)
{
	struct fake_dev *f = dev->priv;

	if (f->start_error)
		return f->start_error;
	note('+', dev->name);
	return 0;
}

static void fake_stop(struct vm_device *dev)
{
	note('-', dev->name);
}

static void fake_destroy(struct vm_device *dev)
{
	note('x', dev->name);
	free(dev->priv);
}

static const struct vm_device_ops fake_ops = {
	.start = fake_start,
	.stop = fake_stop,
	.destroy = fake_destroy,
};

static void add_fake(const char *name, int start_error)
{
	struct fake_dev *f = calloc(1, sizeof(*f));

	f->dev = (struct vm_device){ .ops = &fake_ops, .name = name,
				     .priv = f };
	f->start_error = start_error;
	CHECK_EQ(vm_add_device(&vm, &f->dev), 0);
}

/* vm_set_fate() wakes the main thread; here it is the test itself. */
static void ignore_wake(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	sigaction(SIG_VM_WAKE, &sa, NULL);
}

/* A VM as vm_create() leaves it, minus KVM. */
static void setup(unsigned int nr_vcpus)
{
	memset(&vm, 0, sizeof(vm));
	vm.kvm_fd = vm.vm_fd = -1;
	vm.cfg.nr_vcpus = nr_vcpus;
	vm.main_thread = pthread_self();
	pthread_mutex_init(&vm.fate_lock, NULL);
	pthread_mutex_init(&vm.pause_lock, NULL);
	pthread_cond_init(&vm.pause_cond, NULL);
	if (ioloop_init(&vm.loop))
		abort();
	trail[0] = 0;
	vcpus_started = vcpus_joined = 0;
	ignore_wake();
}

/* The waits vm_run() may be given: each plays the main thread. */
static void wait_then_poweroff(struct vm *v, void *arg)
{
	note('w', "");
	vm_set_fate(v, VM_FATE_POWEROFF, "guest powered off");
	/* Later ends lose: the first one seen is the guest's fate. */
	vm_set_fate(v, VM_FATE_TIMEOUT, "timeout");
	vm_set_fate_signal(v, SIGTERM);
}

static void wait_never(struct vm *v, void *arg)
{
	note('w', "");
}

static void test_order(void)
{
	const char *msg;

	setup(2);
	add_fake("a", 0);
	add_fake("b", 0);
	add_fake("c", 0);
	CHECK_EQ(vm_run(&vm, wait_then_poweroff, NULL), 0);
	CHECK(!strcmp(trail, "+a +b +c w -c -b -a"));
	CHECK_EQ(vcpus_started, 2);
	CHECK_EQ(vm_get_fate(&vm, NULL, &msg), VM_FATE_POWEROFF);
	CHECK(!strcmp(msg, "guest powered off"));
	vm_destroy(&vm);
	CHECK(!strcmp(trail, "+a +b +c w -c -b -a xc xb xa"));
	CHECK_EQ(vm.nr_devices, 0);
	CHECK_EQ(vcpus_joined, 2);
}

/* A device that cannot start: those before it stop, no vCPU runs. */
static void test_start_failure(void)
{
	setup(1);
	add_fake("a", 0);
	add_fake("b", -EIO);
	add_fake("c", 0);
	CHECK_EQ(vm_run(&vm, wait_never, NULL), -EIO);
	CHECK(!strcmp(trail, "+a -a"));
	CHECK_EQ(vcpus_started, 0);
	CHECK_EQ(vm_get_fate(&vm, NULL, NULL), VM_FATE_NONE);
	vm_destroy(&vm);
	CHECK(!strcmp(trail, "+a -a xc xb xa"));
}

static void test_fate_once(void)
{
	int sig = 0;
	const char *msg;

	setup(1);
	CHECK(!vm_exiting(&vm));
	vm_set_fate_signal(&vm, SIGHUP);
	vm_set_fate(&vm, VM_FATE_POWEROFF, "guest powered off");
	CHECK(vm_exiting(&vm));
	CHECK_EQ(vm_get_fate(&vm, &sig, &msg), VM_FATE_SIGNAL);
	CHECK_EQ(sig, SIGHUP);
	CHECK(strstr(msg, "signal 1") != NULL);
	vm_destroy(&vm);
}

/* With panic=N the kernel reboots after a panic: the fate is the panic. */
static void test_panic_explains_reset(void)
{
	const char *msg;

	setup(1);
	vm_note_panic(&vm);
	vm_set_fate(&vm, VM_FATE_REBOOT, "guest rebooted");
	CHECK_EQ(vm_get_fate(&vm, NULL, &msg), VM_FATE_PANIC);
	CHECK(!strcmp(msg, "guest kernel panicked"));
	vm_destroy(&vm);

	/* A timeout is not the panic's doing: it stays a timeout. */
	setup(1);
	vm_note_panic(&vm);
	vm_set_fate(&vm, VM_FATE_TIMEOUT, "timeout");
	CHECK_EQ(vm_get_fate(&vm, NULL, NULL), VM_FATE_TIMEOUT);
	vm_destroy(&vm);
}

static void test_reboot_announced(void)
{
	setup(1);
	CHECK(!vm_reboot_announced(&vm));
	vm_note_reboot(&vm);
	CHECK(vm_reboot_announced(&vm));
	CHECK_EQ(vm_get_fate(&vm, NULL, NULL), VM_FATE_NONE);
	vm_destroy(&vm);
}

static void test_fate_names(void)
{
	CHECK(!strcmp(vm_fate_name(VM_FATE_CRASH), "crash"));
	CHECK(!strcmp(vm_fate_name(VM_FATE_SIGNAL), "signal"));
	CHECK(!strcmp(vm_fate_name((enum vm_fate)99), "?"));
}

UNIT_MAIN("vm", UNIT_TEST(test_order), UNIT_TEST(test_start_failure),
	  UNIT_TEST(test_fate_once), UNIT_TEST(test_panic_explains_reset),
	  UNIT_TEST(test_reboot_announced), UNIT_TEST(test_fate_names))
