/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Diagnostics to stderr, prefixed "lkvm: ".  Devices report guest
 * misbehaviour with pr_warn_once() or pr_warn_ratelimited(): a hostile guest
 * must not be able to flood the host's terminal.
 */
#ifndef LKVM_LOG_H
#define LKVM_LOG_H

#include <stdbool.h>

void lkvm_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True at most ~10 times per 5 s per call site (state is the site's). */
bool lkvm_ratelimit(long *state);

extern int lkvm_debug_enabled;

#define pr_err(...) lkvm_log("error: ", __VA_ARGS__)
#define pr_warn(...) lkvm_log("warning: ", __VA_ARGS__)
#define pr_info(...) lkvm_log("", __VA_ARGS__)
#define pr_debug(...)                                  \
	do {                                           \
		if (lkvm_debug_enabled)                \
			lkvm_log("debug: ", __VA_ARGS__); \
	} while (0)

#define pr_warn_once(...)                                              \
	do {                                                           \
		static int __done;                                     \
		if (!__atomic_exchange_n(&__done, 1, __ATOMIC_RELAXED)) \
			pr_warn(__VA_ARGS__);                          \
	} while (0)

#define pr_warn_ratelimited(...)                  \
	do {                                      \
		static long __rl[2];              \
		if (lkvm_ratelimit(__rl))         \
			pr_warn(__VA_ARGS__);     \
	} while (0)

#endif
