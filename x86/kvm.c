// SPDX-License-Identifier: GPL-2.0
/*
 * x86 VM setup: the in-kernel interrupt controllers and PIT, guest RAM
 * around the PCI hole, the platform devices, and loading the kernel with the
 * 64-bit boot protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/vm.h"
#include "x86/acpi.h"
#include "x86/boot.h"
#include "x86/cpuid.h"
#include "x86/layout.h"
#include "x86/pci.h"
#include "x86/power.h"
#include "x86/vmlinux.h"

#define NR_IOAPIC_PINS 24
#define FIRST_MSI_GSI NR_IOAPIC_PINS

/*
 * KVM's default routing sends GSI 0 (where its PIT fires) to IOAPIC pin 0,
 * but PC firmware wires the PIT to pin 2 and says so with an interrupt
 * source override (our MADT does too).  So lkvm owns the table: ISA IRQs
 * 0-15 go to both PICs and the IOAPIC, with IRQ 0 on pin 2.
 */
static int setup_routing(struct vm *vm)
{
	struct irq_routing *rt = &vm->routing;
	u32 gsi;
	int r = 0;

	irq_routing_init(rt, FIRST_MSI_GSI);
	for (gsi = 0; gsi < 16 && !r; gsi++) {
		if (gsi == 2)
			continue; /* the PICs' cascade */
		r = irq_route_add_irqchip(rt, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							 : KVM_IRQCHIP_PIC_SLAVE,
					  gsi % 8);
	}
	for (gsi = 0; gsi < NR_IOAPIC_PINS && !r; gsi++) {
		if (gsi == 2)
			continue;
		r = irq_route_add_irqchip(rt, gsi, KVM_IRQCHIP_IOAPIC,
					  gsi == 0 ? 2 : gsi);
	}
	return r ? r : irq_routing_commit(vm, rt);
}

static int get_supported_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *c = NULL;
	unsigned int nent = 64;
	int r;

	/* KVM says E2BIG until the buffer is big enough. */
	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		r = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r != -E2BIG || nent >= 4096)
			break;
		nent *= 2;
	}
	if (r < 0) {
		free(c);
		return r;
	}
	if (kvm_cap(vm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER))
		cpuid_set_tsc_deadline(c->entries, c->nent);
	vm->arch.cpuid = c;
	return 0;
}

static int add_ram(struct vm *vm, u32 slot, u64 gpa, u64 size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)hva,
	};
	int r;

	r = guest_mem_add(&vm->mem, gpa, size, hva);
	if (r)
		return r;
	return kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int check_caps(struct vm *vm)
{
	static const struct { long cap; const char *name; } need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(need); i++) {
		if (!kvm_cap(vm->kvm_fd, need[i].cap)) {
			pr_err("this KVM lacks %s", need[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	u64 identity = IDENTITY_MAP_GPA, low, high;
	int r;

	r = check_caps(vm);
	if (r)
		return r;
	r = kvm_ioctl_val(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_GPA);
	if (r)
		return r;
	r = kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity);
	if (r)
		return r;
	r = kvm_ioctl_val(vm->vm_fd, KVM_CREATE_IRQCHIP, 0);
	if (r)
		return r;
	r = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (r)
		return r;
	r = setup_routing(vm);
	if (r)
		return r;

	boot_split_ram(vm->cfg.ram_size, &low, &high);
	vm->arch.low_ram_end = low;
	r = add_ram(vm, 0, 0, low, vm->mem.base);
	if (!r && high)
		r = add_ram(vm, 1, HIGH_RAM_START, high,
			    (char *)vm->mem.base + low);
	if (r)
		return r;
	return get_supported_cpuid(vm);
}

void arch_vm_destroy(struct vm *vm)
{
	free(vm->arch.cpuid);
	vm->arch.cpuid = NULL;
	free(vm->arch.msrs);
	vm->arch.msrs = NULL;
}

/*
 * The platform's own devices: the power ports and PCI bus 0.  Everything
 * else (the console, disks, NICs) comes from the device table, on top.
 */
int arch_vm_setup_devices(struct vm *vm)
{
	int r;

	r = power_init(vm);
	if (r) {
		pr_err("cannot set up the power devices: %s", strerror(-r));
		return r;
	}
	/*
	 * conf1 also carries the 0xcf9 reset register.  With virtio-mmio
	 * nothing would sit on the bus: leave it out, and the guest's scan.
	 */
	r = x86_pci_init(vm, vm->cfg.transport == VM_TRANSPORT_PCI);
	if (r)
		pr_err("cannot set up the PCI bus: %s", strerror(-r));
	return r;
}

/*
 * The kernel and the initrd are read straight from their files into guest
 * RAM: no copy in between, and no heap to fault in first (megabytes of
 * both, which an emulated L1 pays for by the page).
 */

/* Open a regular file for reading; prints the reason on failure. */
static int open_file(const char *what, const char *path, u64 *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("%s %s: %s", what, path, strerror(errno));
		return -ENOENT;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	*size = st.st_size;
	return fd;
}

/* Read @len bytes at @off into @buf; prints the reason on failure. */
static int read_at(int fd, const char *what, const char *path, void *buf,
		   u64 len, u64 off)
{
	u64 done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n <= 0) {
			pr_err("%s %s: read failed: %s", what, path,
			       n ? strerror(errno) : "file shrank");
			return -EIO;
		}
		done += n;
	}
	return 0;
}

/*
 * The initrd file, then vm->cfg.initrd_extra (an archive lkvm built, for
 * the guest agent) 4-byte aligned after it: the kernel unpacks
 * concatenated cpio archives, compressed or not, in order.
 */
static int load_initrd(struct vm *vm, const struct bzimage *bz,
		       struct boot_layout *l)
{
	const char *what = vm->cfg.initrd ? vm->cfg.initrd : "with the agent";
	u64 size = 0, total;
	void *hva;
	int fd = -1, r;

	if (!vm->cfg.initrd && !vm->cfg.initrd_extra_size)
		return 0;
	if (vm->cfg.initrd) {
		fd = open_file("initrd", vm->cfg.initrd, &size);
		if (fd < 0)
			return fd;
		if (!size) {
			pr_err("initrd %s is empty", vm->cfg.initrd);
			r = -EINVAL;
			goto out;
		}
	}
	total = ALIGN_UP(size, 4) + vm->cfg.initrd_extra_size;
	r = boot_place_initrd(bz, vm->arch.low_ram_end, total, &l->initrd_gpa);
	hva = r ? NULL : gpa_to_hva(&vm->mem, l->initrd_gpa, total);
	if (!hva) {
		pr_err("initrd %s (%llu MiB) does not fit in guest memory; raise -m",
		       what, (unsigned long long)total >> 20);
		r = -ENOSPC;
		goto out;
	}
	/* Straight into guest RAM: no copy of a large initrd on the heap. */
	r = fd < 0 ? 0 : read_at(fd, "initrd", vm->cfg.initrd, hva, size, 0);
	if (r)
		goto out;
	memset((u8 *)hva + size, 0, ALIGN_UP(size, 4) - size);
	memcpy((u8 *)hva + ALIGN_UP(size, 4), vm->cfg.initrd_extra,
	       vm->cfg.initrd_extra_size);
	l->initrd_size = total;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int arch_kernel_release(const char *path, char *buf, size_t len)
{
	u8 head[64 * 1024];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n < 0)
		return -errno;
	return bzimage_release(head, n, buf, len);
}

/* "console=ttyS0" unless the user chose a console, then the user's params. */
static int load_cmdline(struct vm *vm, const struct bzimage *bz,
			struct boot_layout *l)
{
	const char *user = vm->cfg.cmdline ? vm->cfg.cmdline : "";
	char *dst = gpa_to_hva(&vm->mem, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX);
	int n;

	n = snprintf(dst, BOOT_CMDLINE_MAX, "%s%s",
		     boot_cmdline_has(user, "console=") ? "" : "console=ttyS0 ", user);
	if (n < 0 || (u64)n > bz->cmdline_max || (u64)n >= BOOT_CMDLINE_MAX) {
		pr_err("kernel command line too long (%d bytes, this kernel takes %u)",
		       n, bz->cmdline_max);
		return -E2BIG;
	}
	l->cmdline_gpa = BOOT_CMDLINE_GPA;
	return 0;
}

static int load_acpi(struct vm *vm, struct boot_layout *l)
{
	struct acpi_config cfg = {
		.nr_cpus = vm->cfg.nr_vcpus,
		.lapic_addr = LAPIC_GPA,
		.ioapic_addr = IOAPIC_GPA,
		.ioapic_id = vm->cfg.nr_vcpus,
		.no_pci = !vm->pci,
		.pci_mmio_base = PCI_MMIO_BASE,
		.pci_mmio_size = PCI_MMIO_SIZE,
		.pvpanic_port = PVPANIC_PORT,
		.ged_gsi = ACPI_GED_GSI,
		.virtio_mmio_base = VIRTIO_MMIO_GPA,
		.virtio_mmio_stride = VIRTIO_MMIO_STRIDE,
		.virtio_mmio_gsi = vm->arch.virtio_mmio_gsi,
		.nr_virtio_mmio = vm->arch.nr_virtio_mmio,
	};
	void *hva = gpa_to_hva(&vm->mem, BIOS_AREA_GPA, BIOS_AREA_SIZE);
	int r;

	r = acpi_build(hva, BIOS_AREA_GPA, BIOS_AREA_SIZE, &cfg, &l->rsdp_gpa);
	if (r)
		pr_err("cannot build ACPI tables: %s", strerror(-r));
	vm->arch.rsdp_gpa = l->rsdp_gpa;
	return r;
}

/*
 * The IOAPIC pins virtio-mmio devices get, one each: none that another
 * device of ours uses (the console has 4, the power button's GED 20), the
 * PCI-era pins first, then ISA ones no device of ours claims.  Not 9: the
 * MADT makes it the SCI's, level-triggered, and an OS that believed it
 * would lose edges.  Linux takes them as the DSDT says: edge-triggered,
 * active high.
 */
static const u32 virtio_mmio_gsis[ARCH_VIRTIO_MMIO_MAX] = {
	16, 17, 18, 19, 21, 22, 23, 5, 6, 7, 10, 11, 14, 15,
};

int arch_virtio_mmio_add(struct vm *vm, u64 *base, u32 *gsi)
{
	unsigned int i = vm->arch.nr_virtio_mmio;

	if (i == ARCH_VIRTIO_MMIO_MAX) {
		pr_err("no room for more than %d virtio-mmio devices; use --virtio-transport pci",
		       ARCH_VIRTIO_MMIO_MAX);
		return -ENOSPC;
	}
	*base = VIRTIO_MMIO_GPA + i * VIRTIO_MMIO_STRIDE;
	*gsi = virtio_mmio_gsis[i];
	vm->arch.virtio_mmio_gsi[i] = *gsi;
	vm->arch.nr_virtio_mmio++;
	return 0;
}

static void load_boot_tables(struct vm *vm)
{
	boot_reset_vector(gpa_to_hva(&vm->mem, RESET_VECTOR_GPA,
				     RESET_VECTOR_SIZE));
	boot_page_tables(gpa_to_hva(&vm->mem, BOOT_PML4_GPA, 4096),
			 gpa_to_hva(&vm->mem, BOOT_PDPT_GPA, 4096),
			 gpa_to_hva(&vm->mem, BOOT_PD_GPA, 4 * 4096));
	boot_gdt(gpa_to_hva(&vm->mem, BOOT_GDT_GPA,
			    BOOT_GDT_ENTRIES * sizeof(u64)));
}

/* A bzImage: its protected-mode part goes to 1 MiB, entered at +0x200. */
static int load_bzimage(struct vm *vm, int fd, const char *path,
			const u8 *head, u64 size, struct bzimage *bz)
{
	const char *why;
	void *dst;
	int r;

	r = bzimage_parse(head, MIN(size, (u64)BZIMAGE_HEAD_SIZE), size, bz,
			  &why);
	if (r) {
		pr_err("kernel %s: %s", path, why);
		return r;
	}
	dst = gpa_to_hva(&vm->mem, KERNEL_GPA, bz->init_size);
	if (!dst) {
		pr_err("kernel %s needs %llu MiB of memory above 1 MiB; raise -m",
		       path, (unsigned long long)(bz->init_size >> 20) + 1);
		return -ENOSPC;
	}
	if (boot_kernel_end(bz) > vm->arch.low_ram_end) {
		pr_err("kernel %s needs %llu MiB of guest memory to decompress; raise -m",
		       path, (unsigned long long)(boot_kernel_end(bz) >> 20) + 1);
		return -ENOSPC;
	}
	vm->arch.kernel_entry = KERNEL_GPA + 0x200;
	return read_at(fd, "kernel", path, dst, bz->pm_size, bz->pm_offset);
}

/*
 * A vmlinux: each segment where it asks (guest RAM is fresh anonymous
 * memory, so the rest of a segment is zero already), entered at its
 * startup_64.
 */
static int load_vmlinux(struct vm *vm, int fd, const char *path,
			const u8 *head, u64 size, struct bzimage *bz)
{
	const struct vmlinux_seg *s;
	struct vmlinux vl;
	const char *why;
	unsigned int i;
	void *dst;
	int r;

	r = vmlinux_parse(head, MIN(size, (u64)VMLINUX_HEAD_SIZE), size,
			  vm->arch.low_ram_end, &vl, bz, &why);
	if (r) {
		pr_err("kernel %s: %s", path, why);
		return r;
	}
	for (i = 0; i < vl.nr_segs && !r; i++) {
		s = &vl.seg[i];
		dst = gpa_to_hva(&vm->mem, s->paddr, s->memsz);
		if (!dst) {
			pr_err("kernel %s: a segment at %#llx is outside guest RAM; raise -m",
			       path, (unsigned long long)s->paddr);
			return -ENOSPC;
		}
		r = read_at(fd, "kernel", path, dst, s->filesz, s->offset);
	}
	vm->arch.kernel_entry = vl.entry;
	return r;
}

int arch_vm_load_kernel(struct vm *vm)
{
	struct boot_layout l = { .low_ram_end = vm->arch.low_ram_end };
	const char *path = vm->cfg.kernel;
	u8 head[MAX(BZIMAGE_HEAD_SIZE, VMLINUX_HEAD_SIZE)];
	struct bzimage bz;
	u64 size, low, high;
	int fd, r;

	/* The boot structures live below 1 MiB; the kernel needs more. */
	if (vm->arch.low_ram_end < 2 * SZ_1M) {
		pr_err("-m: at least 2 MiB of guest memory is needed");
		return -EINVAL;
	}
	fd = open_file("kernel", path, &size);
	if (fd < 0)
		return fd;
	r = read_at(fd, "kernel", path, head, MIN(size, sizeof(head)), 0);
	if (r)
		goto out;
	if (vmlinux_is_elf(head, MIN(size, sizeof(head))))
		r = load_vmlinux(vm, fd, path, head, size, &bz);
	else
		r = load_bzimage(vm, fd, path, head, size, &bz);
	if (r)
		goto out;

	boot_split_ram(vm->cfg.ram_size, &low, &high);
	l.high_ram_size = high;
	r = load_initrd(vm, &bz, &l);
	if (!r)
		r = load_cmdline(vm, &bz, &l);
	if (!r)
		r = load_acpi(vm, &l);
	if (r)
		goto out;
	load_boot_tables(vm);
	boot_params_build(gpa_to_hva(&vm->mem, BOOT_PARAMS_GPA,
				     sizeof(struct boot_params)), &bz, &l);
	vm->arch.boot_params_gpa = BOOT_PARAMS_GPA;
out:
	close(fd);
	return r;
}
