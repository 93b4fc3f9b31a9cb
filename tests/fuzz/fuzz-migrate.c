// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the migration loader (kvm/migrate-in.c and the
 * loaders it calls): the bytes a hostile source, or a corrupt file, could
 * hand `lkvm run --incoming`.
 *
 * The destination is a fake VM of 1 MiB in two regions, one vCPU and
 * two devices with real loaders: the 8250 UART (term/serial8250.c) and a
 * virtio device through the virtio core (virtio/virtio.c: features,
 * status, queues bound to guest RAM with their ring indices).  The arch's
 * hooks are fakes (x86's state goes to KVM, which checks it itself).
 *
 * Besides "no crash, no sanitizer report", it checks:
 *   - a refused stream always says why;
 *   - an accepted one went all the way: every vCPU and device loaded;
 *   - a virtio device left live has every enabled ring inside guest RAM.
 *
 * Built with -DFUZZ_SEED_MAIN, the same file is a program that writes a
 * valid stream from the same fake VM as a seed (fuzz.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/log.h"
#include "kvm/migrate-priv.h"
#include "kvm/migrate.h"
#include "kvm/vm.h"
#include "term/serial8250.h"
#include "virtio/virtio.h"
#include "tests/fuzz/fuzz.h"

#define RAM (1ULL << 20)

/* ---- what the loader reaches outside: fakes ---- */

int __kvm_ioctl(int fd, unsigned long cmd, const char *name,
		unsigned long arg)
{
	return -ENOTTY;
}

int kvm_cap(int fd, long cap) { return 0; }
bool vm_exiting(struct vm *vm) { return false; }
void vm_kvmclock_ctrl(struct vm *vm) {}
int control_start(struct control *c, const char *name) { return 0; }
void control_stop(struct control *c) {}
int control_sock_reap(const char *name) { return -ENOENT; }

static bool vcpu_loaded, arch_loaded;

void arch_mig_header_put(struct vm *vm, struct state_out *o)
{
	state_put_u32(o, 62);
}

int arch_mig_header_check(struct vm *vm, struct state_in *in)
{
	if (state_get_u32(in) != 62 && !in->err)
		state_fail(in, "another arch");
	return in->err;
}

int arch_vm_save(struct vm *vm, struct state_out *o)
{
	state_put_u64(o, 1);
	return 0;
}

int arch_vm_load(struct vm *vm, struct state_in *in)
{
	arch_loaded = state_get_u64(in) == 1;
	return in->err;
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_out *o)
{
	state_put_u64(o, 2);
	return 0;
}

int arch_vcpu_load(struct vcpu *vcpu, struct state_in *in)
{
	vcpu_loaded = state_get_u64(in) == 2;
	return in->err;
}

/* ---- the fake VM ---- */

static struct vm vm;
static struct vcpu vcpu;
static struct serial8250 uart;
static struct virtio_dev vdev;
static bool uart_loaded, vdev_loaded;

static int vtype_save(struct virtio_dev *d, struct state_out *o)
{
	return 0;
}

static int vtype_load(struct virtio_dev *d, struct state_in *in)
{
	vdev_loaded = true;
	return 0;
}

static const struct virtio_dev_type vtype = {
	.name = "fuzz",
	.device_id = 2,
	.nr_queues = 2,
	.queue_max_size = 16,
	.features = 1ULL << 9,
	.save = vtype_save,
	.load = vtype_load,
};

static void uart_irq(void *opaque, int level) {}

static int uart_save(struct vm_device *d, struct state_out *o)
{
	serial8250_save(&uart, o);
	return 0;
}

static int uart_load(struct vm_device *d, struct state_in *in)
{
	int r = serial8250_load(&uart, in);

	uart_loaded = !r;
	return r;
}

static int vdev_save(struct vm_device *d, struct state_out *o)
{
	return virtio_save(&vdev, o);
}

static int vdev_load(struct vm_device *d, struct state_in *in)
{
	return virtio_load(&vdev, in);
}

static void vdev_describe(struct vm_device *d, char *buf, size_t len)
{
	snprintf(buf, len, "type=fuzz size=1MiB path=/x");
}

static const struct vm_device_ops uart_ops = { .save = uart_save,
					       .load = uart_load };
static const struct vm_device_ops vdev_ops = { .describe = vdev_describe,
					       .save = vdev_save,
					       .load = vdev_load };
static struct vm_device devs[2] = {
	{ .ops = &uart_ops, .name = "ttyS0" },
	{ .ops = &vdev_ops, .name = "vda" },
};
static struct vm_device *devlist[2] = { &devs[0], &devs[1] };

static void vm_setup(void)
{
	if (vm.mem.base)
		return;
	if (guest_mem_alloc(&vm.mem, RAM))
		abort();
	guest_mem_add(&vm.mem, 0, RAM / 2, vm.mem.base);
	guest_mem_add(&vm.mem, 1ULL << 32, RAM / 2,
		      (char *)vm.mem.base + RAM / 2);
	vm.cfg.ram_size = RAM;
	vm.cfg.nr_vcpus = vm.nr_vcpus = 1;
	vm.vcpus = &vcpu;
	vcpu.vm = &vm;
	vm.devices = devlist;
	vm.nr_devices = 2;
}

/* Fresh device state for every input. */
static void devices_reset(void)
{
	virtio_exit(&vdev);
	if (virtio_init(&vdev, &vtype, &vm.mem, NULL))
		abort();
	serial8250_init(&uart, uart_irq, NULL, NULL);
	uart_loaded = vdev_loaded = vcpu_loaded = arch_loaded = false;
}

static void check_live_rings(void)
{
	const struct virtq *vq;
	unsigned int i;

	if (!vdev.live)
		return;
	for (i = 0; i < vtype.nr_queues; i++) {
		vq = &vdev.queues[i].vq;
		if (!vdev.queues[i].enabled)
			continue;
		ASSERT(vq->size && vq->desc && vq->avail && vq->used);
		ASSERT(gpa_to_hva(&vm.mem, vq->used_gpa, 4));
	}
}

#ifndef FUZZ_SEED_MAIN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[MIG_WHY_MAX] = "";
	int r;

	vm_setup();
	devices_reset();
	r = migrate_load_stream(&vm, data, size, why, sizeof(why));
	/* FUZZ_VERBOSE=1 ./fuzz-migrate FILE: what the loader said. */
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "load: %d %s\n", r, why);
	if (r) {
		ASSERT(why[0]);
		return 0;
	}
	ASSERT(arch_loaded && vcpu_loaded && uart_loaded && vdev_loaded);
	check_live_rings();
	return 0;
}

#else

/*
 * A valid stream: a page of data, a zero page, and a live virtio device
 * whose two rings sit in guest RAM.  Written to argv[1].
 */
int main(int argc, char **argv)
{
	char why[MIG_WHY_MAX];
	struct mig_chan c;
	struct state_out o = {};
	static unsigned char page[4096];
	FILE *f;
	int fd;

	vm_setup();
	devices_reset();
	/* The driver's setup, as virtio-pci would pass it on. */
	virtio_set_status(&vdev, 1 | 2);
	virtio_set_driver_features(&vdev, 1, 1);	/* VERSION_1 */
	virtio_set_status(&vdev, 1 | 2 | 8);
	virtio_queue_set_size(&vdev, 0, 16);
	virtio_queue_set_addr(&vdev, 0, VIRTIO_QUEUE_DESC, 0x10000);
	virtio_queue_set_addr(&vdev, 0, VIRTIO_QUEUE_AVAIL, 0x11000);
	virtio_queue_set_addr(&vdev, 0, VIRTIO_QUEUE_USED, 0x12000);
	virtio_queue_set_enabled(&vdev, 0, true);
	virtio_set_status(&vdev, 1 | 2 | 8 | 4);
	serial8250_write(&uart, 1, 0x0f);	/* IER */

	if (argc != 2 || !(f = fopen(argv[1], "w")))
		return 2;
	fd = fileno(f);
	mig_chan_init(&c, fd);
	memset(page, 0xa5, sizeof(page));
	mig_write_preamble(&c, 0);
	mig_send_header(&vm, &c);
	state_put_u64(&o, 0x20000);
	state_put(&o, page, sizeof(page));
	state_put_u64(&o, 0x21000 | 1);
	mig_write_section(&c, MIG_SEC_RAM_PAGES, o.buf, o.len);
	if (mig_send_state(&vm, &c, why, sizeof(why)))
		return 1;
	mig_write_section(&c, MIG_SEC_END, NULL, 0);
	fclose(f);
	return 0;
}

#endif
