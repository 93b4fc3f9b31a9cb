/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /dev/kvm handle and a checked ioctl wrapper.
 *
 * kvm_ioctl() checks at compile time that the argument's size matches the
 * size encoded in the ioctl number (as the kernel's KVM selftests do), and
 * on failure records the ioctl's name, so an error message can say
 * "KVM_SET_SREGS: Invalid argument" instead of a bare errno.
 */
#ifndef LKVM_KVM_H
#define LKVM_KVM_H

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "kvm/types.h"

int __kvm_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg);

/* For ioctls whose argument is a pointer to a structure. */
#define kvm_ioctl(fd, cmd, argp)                                          \
	({                                                                \
		_Static_assert(_IOC_SIZE(cmd) == 0 ||                     \
				       sizeof(*(argp)) == _IOC_SIZE(cmd), \
			       #cmd ": argument size mismatch");          \
		__kvm_ioctl(fd, cmd, #cmd, (unsigned long)(argp));        \
	})

/* For ioctls whose argument is a plain integer (KVM_CREATE_VCPU...). */
#define kvm_ioctl_val(fd, cmd, val) __kvm_ioctl(fd, cmd, #cmd, (unsigned long)(val))

/* The name of the last ioctl that failed on this thread. */
const char *kvm_ioctl_failed_name(void);

/* Open /dev/kvm and check the API version; 0 or -errno. */
int kvm_open(int *fd);

/* KVM_CHECK_EXTENSION; returns the capability's value (0 = absent). */
int kvm_cap(int fd, long cap);

#endif
