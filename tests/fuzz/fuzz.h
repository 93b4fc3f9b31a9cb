/* SPDX-License-Identifier: GPL-2.0 */
/* What the fuzz targets share. */
#ifndef LKVM_FUZZ_H
#define LKVM_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* A broken invariant is a finding: libFuzzer keeps the input that did it. */
#define ASSERT(cond)                                                   \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                \
			abort();                                       \
		}                                                      \
	} while (0)

#endif
