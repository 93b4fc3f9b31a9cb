// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-probe: can this host's /dev/kvm run guest kernel code at hardware
 * speed?
 *
 * Some hosts offer a /dev/kvm that runs guest user mode natively but
 * interprets guest kernel mode (CPL0) one instruction at a time, about
 * 2000 times slower (see shared/KVM-HERE.md). A stock Linux kernel never
 * finishes booting there, so the end-to-end tests must go through an
 * emulated L1 instead. Guessing from CPU flags is not reliable, so we
 * measure: a real-mode guest (CPL0) counts ECX down from LOOP_COUNT and
 * halts. Hardware virtualization does that in about a millisecond.
 *
 * Prints one line and exits:
 *   0  fast: run guests directly
 *   1  slow (or the guest could not run): use the emulated L1
 *   2  no usable /dev/kvm at all: the reason is on the line
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LOOP_COUNT 1000000u
/* Hardware: ~1 ms. The interpreting KVM: ~500 ms. 50 ms splits them. */
#define FAST_LIMIT_MS 50.0

#define GUEST_MEM_SIZE 0x10000
#define CODE_GPA 0x1000

enum { PROBE_FAST = 0, PROBE_SLOW = 1, PROBE_NONE = 2 };

struct probe {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	void *mem;
	struct kvm_run *run;
	size_t run_size;
};

/*
 * 16-bit real-mode code:
 *   mov ecx, LOOP_COUNT   66 b9 imm32   (0x66: 32-bit operand in 16-bit mode)
 * 1:dec ecx               66 49
 *   jnz 1b                75 fc         (-4: back over dec and jnz)
 *   hlt                   f4
 */
static void probe_write_code(uint8_t *code)
{
	uint32_t n = LOOP_COUNT;
	size_t i = 0;

	code[i++] = 0x66;
	code[i++] = 0xb9;
	memcpy(&code[i], &n, sizeof(n));
	i += sizeof(n);
	code[i++] = 0x66;
	code[i++] = 0x49;
	code[i++] = 0x75;
	code[i++] = 0xfc;
	code[i++] = 0xf4;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int probe_open(struct probe *p, const char **why)
{
	struct kvm_userspace_memory_region region = { 0 };
	int mmap_size;

	p->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm_fd < 0) {
		*why = errno == ENOENT ? "no /dev/kvm on this host"
				       : "cannot open /dev/kvm";
		return -errno;
	}
	if (ioctl(p->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		*why = "unexpected KVM API version";
		return -EINVAL;
	}
	p->vm_fd = ioctl(p->kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0) {
		*why = "KVM_CREATE_VM failed";
		return -errno;
	}
	/* Only VMX without unrestricted guest needs these; harmless elsewhere. */
	ioctl(p->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);

	p->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		*why = "cannot allocate guest memory";
		return -errno;
	}
	probe_write_code((uint8_t *)p->mem + CODE_GPA);
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)p->mem;
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		*why = "KVM_SET_USER_MEMORY_REGION failed";
		return -errno;
	}

	p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0);
	if (p->vcpu_fd < 0) {
		*why = "KVM_CREATE_VCPU failed";
		return -errno;
	}
	mmap_size = ioctl(p->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0) {
		*why = "KVM_GET_VCPU_MMAP_SIZE failed";
		return -EINVAL;
	}
	p->run_size = mmap_size;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->vcpu_fd, 0);
	if (p->run == MAP_FAILED) {
		*why = "cannot map struct kvm_run";
		return -errno;
	}
	return 0;
}

/* Real mode, CS:IP = 0000:CODE_GPA. */
static int probe_set_regs(struct probe *p)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(p->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	regs.rip = CODE_GPA;
	regs.rflags = 0x2; /* bit 1 is reserved and must be set */
	if (ioctl(p->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* Returns the time to HLT in ms, or a negative number on failure. */
static double probe_time_loop(struct probe *p, const char **why)
{
	double start = now_ms();

	for (;;) {
		if (ioctl(p->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*why = "KVM_RUN failed";
			return -1;
		}
		if (p->run->exit_reason == KVM_EXIT_HLT)
			return now_ms() - start;
		if (p->run->exit_reason != KVM_EXIT_INTR) {
			*why = "unexpected exit from the probe guest";
			return -1;
		}
	}
}

int main(void)
{
	struct probe p = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
	const char *why = NULL;
	double ms;
	int r;

	r = probe_open(&p, &why);
	if (r < 0) {
		printf("kvm-probe: none: %s (%s)\n", why, strerror(-r));
		return PROBE_NONE;
	}
	r = probe_set_regs(&p);
	if (r < 0) {
		printf("kvm-probe: slow: cannot set vCPU registers (%s)\n",
		       strerror(-r));
		return PROBE_SLOW;
	}
	ms = probe_time_loop(&p, &why);
	if (ms < 0) {
		printf("kvm-probe: slow: %s (exit reason %u)\n", why,
		       p.run->exit_reason);
		return PROBE_SLOW;
	}
	if (ms < FAST_LIMIT_MS) {
		printf("kvm-probe: fast: %u CPL0 loop iterations in %.1f ms\n",
		       LOOP_COUNT, ms);
		return PROBE_FAST;
	}
	printf("kvm-probe: slow: %u CPL0 loop iterations in %.1f ms (limit %.0f ms)\n",
	       LOOP_COUNT, ms, FAST_LIMIT_MS);
	return PROBE_SLOW;
}
