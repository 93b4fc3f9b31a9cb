// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "kvm/kvm.h"

static __thread const char *last_failed;

int __kvm_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg)
{
	int r;

	do {
		r = ioctl(fd, cmd, arg);
	} while (r < 0 && errno == EINTR && cmd != KVM_RUN);

	if (r < 0) {
		r = -errno;
		last_failed = name;
	}
	return r;
}

const char *kvm_ioctl_failed_name(void)
{
	return last_failed ? last_failed : "ioctl";
}

int kvm_open(int *fd)
{
	int r, kfd;

	kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kfd < 0)
		return -errno;

	r = kvm_ioctl_val(kfd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		close(kfd);
		return r < 0 ? r : -EPROTO;
	}
	*fd = kfd;
	return 0;
}

int kvm_cap(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}
