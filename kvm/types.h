/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small shared vocabulary: fixed-width types and a few helpers that every
 * part of lkvm uses.  The fixed-width types are the kernel's UAPI ones, so
 * structures from the linux/ headers mix with ours without casts.
 */
#ifndef LKVM_TYPES_H
#define LKVM_TYPES_H

#include <stddef.h>
#include <stdbool.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SZ_4K 0x1000ULL
#define SZ_1M 0x100000ULL
#define SZ_2M 0x200000ULL
#define SZ_1G 0x40000000ULL
#define SZ_4G 0x100000000ULL

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define __packed __attribute__((packed))
#define __unused __attribute__((unused))

#endif
