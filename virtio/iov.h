/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers over iovec arrays that describe guest buffers (from virtq_pop()).
 * Devices use them to copy a header out of, or a status into, a chain that
 * the guest may have split across descriptors anywhere it likes: virtio 1.2
 * §2.7.4.1 says the device MUST NOT assume a particular arrangement.
 */
#ifndef LKVM_IOV_H
#define LKVM_IOV_H

#include <sys/uio.h>

#include "kvm/types.h"

/* Total bytes described by @iov[0 .. @n). */
u64 iov_length(const struct iovec *iov, unsigned int n);

/* Copy up to @len bytes starting @skip bytes in; returns bytes copied. */
size_t iov_copy_from(const struct iovec *iov, unsigned int n, u64 skip,
		     void *buf, size_t len);
size_t iov_copy_to(const struct iovec *iov, unsigned int n, u64 skip,
		   const void *buf, size_t len);

/*
 * Describe bytes [@skip, @skip + @len) of @src in @dst (at most @max
 * entries), without copying data.  Returns the number of entries used, or
 * -ERANGE if @src is shorter than @skip + @len, or -E2BIG if @dst is full.
 */
int iov_slice(struct iovec *dst, unsigned int max, const struct iovec *src,
	      unsigned int n, u64 skip, u64 len);

#endif
