// SPDX-License-Identifier: GPL-2.0
/*
 * What a migration says about the guest besides its RAM: the header (what
 * the destination must be to take it), and the machine, vCPU and device
 * sections.  The generic part is here; the arch adds its own through
 * arch_mig_header_*(), arch_vm_save/load() and arch_vcpu_save/load().
 *
 * HEADER payload:
 *   u64 ram_size, u32 nr_regions, { u64 gpa, u64 size } per region,
 *   u32 nr_vcpus, u32 nr_devices, { str name, str identity } per device
 *   (matched by position and identity; the name is for messages),
 *   then the arch's part.
 * MACHINE:  u8 panic_seen, u8 reboot_seen (kvm/fate.h)
 * ARCH_VM:  the arch's
 * VCPU:     u32 id, then the arch's
 * DEVICE:   u32 index, str name, then the device's (kvm/device.h)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/migrate-priv.h"
#include "kvm/vm.h"

#define IDENT_MAX 512

static void describe(struct vm_device *dev, char *buf, size_t len)
{
	buf[0] = 0;
	if (dev->ops->describe)
		dev->ops->describe(dev, buf, len);
}

int mig_check_devices(struct vm *vm, char *why, size_t len)
{
	unsigned int i;

	for (i = 0; i < vm->nr_devices; i++) {
		if (vm->devices[i]->ops->save && vm->devices[i]->ops->load)
			continue;
		snprintf(why, len, "device %s cannot be migrated",
			 vm->devices[i]->name);
		return -ENOTSUP;
	}
	return 0;
}

int mig_send_header(struct vm *vm, struct mig_chan *c)
{
	char ident[IDENT_MAX];
	struct state_out o = {};
	unsigned int i;
	int r;

	state_put_u64(&o, vm->mem.ram_size);
	state_put_u32(&o, vm->mem.nr);
	for (i = 0; i < vm->mem.nr; i++) {
		state_put_u64(&o, vm->mem.region[i].gpa);
		state_put_u64(&o, vm->mem.region[i].size);
	}
	state_put_u32(&o, vm->nr_vcpus);
	state_put_u32(&o, vm->nr_devices);
	for (i = 0; i < vm->nr_devices; i++) {
		describe(vm->devices[i], ident, sizeof(ident));
		state_put_str(&o, vm->devices[i]->name);
		state_put_str(&o, ident);
	}
	arch_mig_header_put(vm, &o);
	r = o.err ? o.err : mig_write_section(c, MIG_SEC_HEADER, o.buf, o.len);
	state_out_free(&o);
	return r;
}

/* The value of @key in "k=v k=v" @s, into v[size]; false if absent. */
static bool ident_get(const char *s, const char *key, char *v, size_t size)
{
	size_t kl = strlen(key), n;
	const char *p = s;

	while (*p) {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(v, size, "%.*s", (int)(n - kl - 1), p + kl + 1);
			return true;
		}
		p += n;
	}
	return false;
}

/*
 * Compare a device's identity here with the source's, key by key, and
 * say what differs the way a user would fix it ("vda: size=64MiB here,
 * size=32MiB at the source").  path is only shown.
 */
static int ident_check(struct state_in *in, const char *name, const char *here,
		       const char *there)
{
	char key[64], a[IDENT_MAX], b[IDENT_MAX];
	const char *p;
	size_t n;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (p = pass ? here : there; *p; p += n) {
			while (*p == ' ')
				p++;
			n = strcspn(p, " =");
			if (!n || n >= sizeof(key)) {
				n = strcspn(p, " ");
				continue;
			}
			snprintf(key, sizeof(key), "%.*s", (int)n, p);
			n = strcspn(p, " ");
			if (!strcmp(key, "path"))
				continue;
			if (!ident_get(here, key, a, sizeof(a)))
				strcpy(a, "(none)");
			if (!ident_get(there, key, b, sizeof(b)))
				strcpy(b, "(none)");
			if (strcmp(a, b))
				return state_fail(in, "%s: %s=%s here, %s=%s at the source",
						  name, key, a, key, b);
		}
	}
	return 0;
}

static void check_ram(struct vm *vm, struct state_in *in)
{
	u64 size = state_get_u64(in), gpa, len;
	unsigned int i, nr;

	if (!in->err && size != vm->mem.ram_size) {
		state_fail(in, "memory: %llu MiB here, %llu MiB at the source (-m)",
			   (unsigned long long)(vm->mem.ram_size >> 20),
			   (unsigned long long)(size >> 20));
		return;
	}
	nr = state_get_u32(in);
	if (!in->err && nr != vm->mem.nr)
		state_fail(in, "memory: %u regions here, %u at the source",
			   vm->mem.nr, nr);
	for (i = 0; i < nr && !in->err; i++) {
		gpa = state_get_u64(in);
		len = state_get_u64(in);
		if (!in->err && (gpa != vm->mem.region[i].gpa ||
				 len != vm->mem.region[i].size))
			state_fail(in, "memory: region %u differs from the source's",
				   i);
	}
}

/*
 * Devices match by position and identity.  Not by name: a disk is named
 * by its path, which shared storage may have elsewhere.
 */
static void check_devices(struct vm *vm, struct state_in *in)
{
	char name[256], there[IDENT_MAX], here[IDENT_MAX];
	unsigned int i, nr = state_get_u32(in);

	if (!in->err && nr != vm->nr_devices) {
		state_fail(in, "devices: %u here, %u at the source (-d, and other device options)",
			   vm->nr_devices, nr);
		return;
	}
	for (i = 0; i < nr && !in->err; i++) {
		state_get_str(in, name, sizeof(name));
		state_get_str(in, there, sizeof(there));
		if (in->err)
			break;
		describe(vm->devices[i], here, sizeof(here));
		ident_check(in, vm->devices[i]->name, here, there);
	}
}

int mig_load_header(struct vm *vm, const u8 *p, u32 len, char *why,
		    size_t wlen)
{
	struct state_in in;
	u32 n;

	state_in_init(&in, p, len);
	check_ram(vm, &in);
	n = state_get_u32(&in);
	if (!in.err && n != vm->nr_vcpus)
		state_fail(&in, "vCPUs: %u here, %u at the source (-c)",
			   vm->nr_vcpus, n);
	check_devices(vm, &in);
	if (!in.err)
		arch_mig_header_check(vm, &in);
	if (!state_in_end(&in))
		return 0;
	snprintf(why, wlen, "%s", in.why);
	return in.err;
}

/* One state section from a filled state_out. */
static int put_section(struct mig_chan *c, u32 id, struct state_out *o)
{
	int r = o->err ? o->err : mig_write_section(c, id, o->buf, o->len);

	o->len = 0;
	return r;
}

int mig_send_cpus(struct vm *vm, struct mig_chan *c, char *why, size_t wlen)
{
	struct state_out o = {};
	unsigned int i;
	int r;

	state_put_u8(&o, vm->panic_seen);
	state_put_u8(&o, vm->reboot_seen);
	r = put_section(c, MIG_SEC_MACHINE, &o);
	if (!r) {
		r = arch_vm_save(vm, &o);
		if (r)
			snprintf(why, wlen, "saving the irqchip and clock: %s",
				 strerror(-r));
		else
			r = put_section(c, MIG_SEC_ARCH_VM, &o);
	}
	for (i = 0; i < vm->nr_vcpus && !r; i++) {
		state_put_u32(&o, i);
		r = arch_vcpu_save(&vm->vcpus[i], &o);
		if (r)
			snprintf(why, wlen, "saving vCPU %u: %s", i,
				 strerror(-r));
		else
			r = put_section(c, MIG_SEC_VCPU, &o);
	}
	state_out_free(&o);
	return r;
}

int mig_send_devices(struct vm *vm, struct mig_chan *c, char *why,
		     size_t wlen)
{
	struct vm_device *dev;
	struct state_out o = {};
	unsigned int i;
	int r = 0;

	for (i = 0; i < vm->nr_devices && !r; i++) {
		dev = vm->devices[i];
		state_put_u32(&o, i);
		state_put_str(&o, dev->name);
		r = dev->ops->save(dev, &o);
		if (r)
			snprintf(why, wlen, "saving %s: %s", dev->name,
				 strerror(-r));
		else
			r = put_section(c, MIG_SEC_DEVICE, &o);
	}
	state_out_free(&o);
	return r;
}

int mig_send_state(struct vm *vm, struct mig_chan *c, char *why,
		   size_t wlen)
{
	int r = mig_send_cpus(vm, c, why, wlen);

	return r ? r : mig_send_devices(vm, c, why, wlen);
}

/* The end of every load: all read, nothing left, or why not. */
static int load_end(struct state_in *in, int r, const char *what, char *why,
		    size_t wlen)
{
	if (!r)
		r = state_in_end(in);
	else if (!in->err)
		state_fail(in, "%s", strerror(-r));
	if (r)
		snprintf(why, wlen, "%s: %s", what, in->why);
	return r ? (in->err ? in->err : r) : 0;
}

int mig_load_machine(struct vm *vm, const u8 *p, u32 len, char *why,
		     size_t wlen)
{
	struct state_in in;

	state_in_init(&in, p, len);
	vm->panic_seen = state_get_u8(&in) & 1;
	vm->reboot_seen = state_get_u8(&in) & 1;
	return load_end(&in, 0, "machine", why, wlen);
}

int mig_load_arch(struct vm *vm, const u8 *p, u32 len, char *why,
		  size_t wlen)
{
	struct state_in in;

	state_in_init(&in, p, len);
	return load_end(&in, arch_vm_load(vm, &in), "irqchip and clock", why,
			wlen);
}

int mig_load_vcpu(struct vm *vm, unsigned int idx, const u8 *p, u32 len,
		  char *why, size_t wlen)
{
	char what[32];
	struct state_in in;
	u32 id;

	snprintf(what, sizeof(what), "vCPU %u", idx);
	state_in_init(&in, p, len);
	id = state_get_u32(&in);
	if (!in.err && id != idx)
		state_fail(&in, "vCPU %u where %u was expected", id, idx);
	return load_end(&in, in.err ? in.err :
			arch_vcpu_load(&vm->vcpus[idx], &in), what, why, wlen);
}

int mig_load_device(struct vm *vm, unsigned int idx, const u8 *p, u32 len,
		    char *why, size_t wlen)
{
	struct vm_device *dev = vm->devices[idx];
	struct state_in in;
	char name[256];
	u32 i;

	state_in_init(&in, p, len);
	i = state_get_u32(&in);
	state_get_str(&in, name, sizeof(name));
	if (!in.err && i != idx)
		state_fail(&in, "device %u (%s) where %u (%s) was expected", i,
			   name, idx, dev->name);
	return load_end(&in, in.err ? in.err : dev->ops->load(dev, &in),
			dev->name, why, wlen);
}

int mig_handover(struct vm *vm, enum dev_handover step, char *why,
		 size_t wlen)
{
	struct vm_device *dev;
	unsigned int i;
	int r, first = 0;

	for (i = 0; i < vm->nr_devices; i++) {
		dev = vm->devices[i];
		r = dev->ops->handover ? dev->ops->handover(dev, step) : 0;
		if (!r || first)
			continue;
		first = r;
		snprintf(why, wlen, "%s: %s", dev->name,
			 r == -EBUSY ? "its image is locked by another process" :
				       strerror(-r));
		if (step == DEV_HANDOVER_CLAIM)
			break;
	}
	return first;
}
