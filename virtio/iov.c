// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "virtio/iov.h"

u64 iov_length(const struct iovec *iov, unsigned int n)
{
	u64 len = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

/*
 * Find the element holding byte @skip: returns its index (n if none) and
 * leaves in *@off the offset of that byte inside the element.
 */
static unsigned int iov_seek(const struct iovec *iov, unsigned int n,
			     u64 skip, u64 *off)
{
	unsigned int i;

	for (i = 0; i < n && skip >= iov[i].iov_len; i++)
		skip -= iov[i].iov_len;
	*off = skip;
	return i;
}

size_t iov_copy_from(const struct iovec *iov, unsigned int n, u64 skip,
		     void *buf, size_t len)
{
	size_t done = 0, chunk;
	unsigned int i;
	u64 off;

	for (i = iov_seek(iov, n, skip, &off); i < n && done < len; i++) {
		chunk = MIN(len - done, iov[i].iov_len - off);
		memcpy((char *)buf + done, (char *)iov[i].iov_base + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t iov_copy_to(const struct iovec *iov, unsigned int n, u64 skip,
		   const void *buf, size_t len)
{
	size_t done = 0, chunk;
	unsigned int i;
	u64 off;

	for (i = iov_seek(iov, n, skip, &off); i < n && done < len; i++) {
		chunk = MIN(len - done, iov[i].iov_len - off);
		memcpy((char *)iov[i].iov_base + off, (const char *)buf + done,
		       chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

int iov_slice(struct iovec *dst, unsigned int max, const struct iovec *src,
	      unsigned int n, u64 skip, u64 len)
{
	unsigned int i, nr = 0;
	u64 off, chunk;

	for (i = iov_seek(src, n, skip, &off); i < n && len; i++) {
		chunk = MIN(len, src[i].iov_len - off);
		if (!chunk)
			continue;
		if (nr == max)
			return -E2BIG;
		dst[nr].iov_base = (char *)src[i].iov_base + off;
		dst[nr].iov_len = chunk;
		nr++;
		len -= chunk;
		off = 0;
	}
	return len ? -ERANGE : (int)nr;
}
