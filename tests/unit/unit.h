/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal unit-test harness: CHECK() records a failure with its line and
 * carries on; UNIT_MAIN runs the listed tests and exits non-zero if any
 * check failed.  Each test binary prints "NAME: N passed, N failed".
 */
#ifndef LKVM_UNIT_H
#define LKVM_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failed_checks;
static int unit_test_failed;

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", \
				__FILE__, __LINE__, #cond);            \
			unit_failed_checks++;                          \
			unit_test_failed = 1;                          \
		}                                                      \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		unsigned long long __a = (unsigned long long)(a);            \
		unsigned long long __b = (unsigned long long)(b);            \
		if (__a != __b) {                                            \
			fprintf(stderr, "  %s:%d: %s == %s: 0x%llx != 0x%llx\n", \
				__FILE__, __LINE__, #a, #b, __a, __b);       \
			unit_failed_checks++;                                \
			unit_test_failed = 1;                                \
		}                                                            \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn) { #fn, fn }

static inline int unit_run(const char *suite, const struct unit_test *t,
			   int n)
{
	int pass = 0, fail = 0;

	for (int i = 0; i < n; i++) {
		unit_test_failed = 0;
		t[i].fn();
		if (unit_test_failed) {
			fprintf(stderr, "FAIL %s/%s\n", suite, t[i].name);
			fail++;
		} else {
			pass++;
		}
	}
	printf("%s: %d passed, %d failed\n", suite, pass, fail);
	return fail ? 1 : 0;
}

#define UNIT_MAIN(suite, ...)                                            \
	int main(void)                                                   \
	{                                                                \
		static const struct unit_test tests[] = { __VA_ARGS__ }; \
		return unit_run(suite, tests, ARRAY_SIZE(tests));        \
	}

#endif
