// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvm/log.h"

int lkvm_debug_enabled;

void lkvm_log(const char *level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	/* Format into one buffer so lines from different threads don't mix. */
	n = snprintf(buf, sizeof(buf), "lkvm: %s", level);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (n && buf[n - 1] != '\n' && n < (int)sizeof(buf) - 1) {
		buf[n++] = '\n';
		buf[n] = 0;
	}
	fputs(buf, stderr);
}

/* state[0]: window start (s), state[1]: messages in this window. */
bool lkvm_ratelimit(long *state)
{
	struct timespec ts;
	long now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec;
	if (now - __atomic_load_n(&state[0], __ATOMIC_RELAXED) >= 5) {
		__atomic_store_n(&state[0], now, __ATOMIC_RELAXED);
		__atomic_store_n(&state[1], 0, __ATOMIC_RELAXED);
	}
	return __atomic_add_fetch(&state[1], 1, __ATOMIC_RELAXED) <= 10;
}
