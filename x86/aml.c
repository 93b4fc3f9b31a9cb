// SPDX-License-Identifier: GPL-2.0
/*
 * A small AML encoder: just enough of ACPI 6.5 §20 to describe devices in a
 * DSDT, plus the resource descriptors of §6.4 for their _CRS.  See aml.h for
 * the open/close and sticky-error conventions.
 */
#include <errno.h>
#include <string.h>

#include "x86/aml.h"

/* Opcodes and prefixes, ACPI 6.5 §20.3 "AML Byte Stream Byte Values" */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		'\\'
#define AML_PARENT_PREFIX	'^'
#define AML_RETURN_OP		0xa4
#define AML_NOTIFY_OP		0x86
#define AML_NULL_NAME		0x00

/* §20.2.4: a PkgLength counts itself and encodes at most 28 bits. */
#define AML_PKGLENGTH_MAX	((1U << 28) - 1)

/*
 * Resource descriptor tags, ACPI 6.5 §6.4.2 (small: name << 3 | length)
 * and §6.4.3 (large: bit 7 set, then a 16-bit length).
 */
#define RES_IRQ_NOFLAGS		0x22	/* IRQ, 2 bytes: no flags byte */
#define RES_IO			0x47	/* I/O port, 7 bytes */
#define RES_END_TAG		0x79	/* End tag, 1 byte: the checksum */
#define RES_DWORD_ADDR		0x87
#define RES_WORD_ADDR		0x88
#define RES_QWORD_ADDR		0x8a
#define RES_EXT_IRQ		0x89
#define RES_MEM32_FIXED		0x86

/* §6.4.3.5.1: Resource Type */
#define RES_TYPE_MEM		0
#define RES_TYPE_IO		1
#define RES_TYPE_BUS		2

/*
 * General flags: _MAF and _MIF set (the window is exactly [min, max]),
 * _DEC clear (positive decode), bit 0 clear (a bridge produces it).
 */
#define RES_FLAG_MAF		(1 << 3)
#define RES_FLAG_MIF		(1 << 2)
#define RES_GEN_FLAGS_WINDOW	(RES_FLAG_MAF | RES_FLAG_MIF)

/* §6.4.3.5.5 Resource Type Specific Flags: I/O and memory */
#define RES_IO_RNG_ENTIRE	0x03
#define RES_MEM_RW		0x01
#define RES_MEM_PREFETCHABLE	(3 << 1)

/* IO descriptor information byte, §6.4.2.5: decodes all 16 address bits */
#define RES_IO_DECODE16		0x01

void aml_init(struct aml *aml, void *buf, size_t cap)
{
	aml->buf = buf;
	aml->len = 0;
	aml->cap = cap;
	aml->err = 0;
}

static void aml_fail(struct aml *aml, int err)
{
	if (!aml->err)
		aml->err = err;
}

void aml_bytes(struct aml *aml, const void *p, size_t n)
{
	if (aml->err)
		return;
	if (n > aml->cap - aml->len) {
		aml_fail(aml, -ENOSPC);
		return;
	}
	memcpy(aml->buf + aml->len, p, n);
	aml->len += n;
}

void aml_byte(struct aml *aml, u8 b)
{
	aml_bytes(aml, &b, 1);
}

/* AML is little-endian throughout (§20.1). */
static void aml_le(struct aml *aml, u64 val, unsigned int n)
{
	u8 b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = val >> (8 * i);
	aml_bytes(aml, b, n);
}

/* Insert n bytes at offset at, moving what follows further out. */
static void aml_insert(struct aml *aml, size_t at, const void *p, size_t n)
{
	if (aml->err)
		return;
	if (at > aml->len) {
		aml_fail(aml, -EINVAL);
		return;
	}
	if (n > aml->cap - aml->len) {
		aml_fail(aml, -ENOSPC);
		return;
	}
	memmove(aml->buf + at + n, aml->buf + at, aml->len - at);
	memcpy(aml->buf + at, p, n);
	aml->len += n;
}

/*
 * §20.2.4: one byte holds lengths up to 63 in bits 5:0.  Longer ones put the
 * count of following bytes in bits 7:6, the low nibble in bits 3:0, and the
 * rest of the length, least significant first, in the following bytes.
 * The encoded length includes the PkgLength bytes themselves.
 */
int aml_pkglength_encode(u8 out[4], size_t body_len)
{
	size_t total;
	int n, i;

	if (body_len < 0x3f) {
		out[0] = body_len + 1;
		return 1;
	}
	if (body_len > AML_PKGLENGTH_MAX)
		return -EINVAL;
	for (n = 2; n <= 4; n++) {
		total = body_len + n;
		if (total >= (1UL << (4 + 8 * (n - 1))))
			continue;
		out[0] = ((n - 1) << 6) | (total & 0x0f);
		for (i = 1; i < n; i++)
			out[i] = total >> (4 + 8 * (i - 1));
		return n;
	}
	return -EINVAL;
}

/* §20.2.3 ComputationalData: the shortest of Zero/One/Byte/Word/DWord/QWord */
static int aml_integer_encode(u8 out[9], u64 val)
{
	int n, i;

	if (val == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (val == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (val <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (val <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (val <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = val >> (8 * i);
	return n + 1;
}

void aml_integer(struct aml *aml, u64 val)
{
	u8 b[9];

	aml_bytes(aml, b, aml_integer_encode(b, val));
}

/* §20.2.3 String: AsciiCharList (0x01-0x7f) then NullChar */
void aml_string(struct aml *aml, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) {
			aml_fail(aml, -EINVAL);
			return;
		}
	}
	aml_byte(aml, AML_STRING_PREFIX);
	aml_bytes(aml, s, strlen(s) + 1);
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A compressed EISA ID (the ASL EISAID macro, ACPI 6.5 §19.6): three
 * letters of five bits each ('A' is 1) in a big-endian 16-bit word, then
 * four hex digits as two big-endian bytes; emitted as a DWordConst, as
 * iasl does, so disassemblers show it as EisaId () again.
 */
void aml_eisaid(struct aml *aml, const char *id)
{
	u16 vendor = 0, product = 0;
	u8 b[4];
	int i, d;

	if (strlen(id) != 7) {
		aml_fail(aml, -EINVAL);
		return;
	}
	for (i = 0; i < 3; i++) {
		if (!is_upper(id[i])) {
			aml_fail(aml, -EINVAL);
			return;
		}
		vendor = vendor << 5 | (id[i] - 0x40);
	}
	for (i = 3; i < 7; i++) {
		d = hex_digit(id[i]);
		if (d < 0) {
			aml_fail(aml, -EINVAL);
			return;
		}
		product = product << 4 | d;
	}
	b[0] = vendor >> 8;
	b[1] = vendor;
	b[2] = product >> 8;
	b[3] = product;
	aml_byte(aml, AML_DWORD_PREFIX);
	aml_bytes(aml, b, sizeof(b));
}

/* §20.2.2 NameSeg: LeadNameChar (A-Z, _) then three NameChars (also 0-9) */
static int aml_nameseg(u8 out[4], const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 4 || !(is_upper(s[0]) || s[0] == '_'))
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (i >= n)
			out[i] = '_';
		else if (is_upper(s[i]) || s[i] == '_' ||
			 (s[i] >= '0' && s[i] <= '9'))
			out[i] = s[i];
		else
			return -EINVAL;
	}
	return 0;
}

void aml_namestring(struct aml *aml, const char *path)
{
	const char *p = path, *end;
	unsigned int nr_segs = 0;
	u8 seg[4];

	if (*p == AML_ROOT_CHAR) {
		aml_byte(aml, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			aml_byte(aml, AML_PARENT_PREFIX);
			p++;
		}
	}

	if (*p) {
		nr_segs = 1;
		for (const char *c = p; *c; c++)
			nr_segs += *c == '.';
	}
	if (nr_segs == 0) {
		aml_byte(aml, AML_NULL_NAME);
		return;
	}
	if (nr_segs > 255) {
		aml_fail(aml, -EINVAL);
		return;
	}
	if (nr_segs == 2) {
		aml_byte(aml, AML_DUAL_NAME_PREFIX);
	} else if (nr_segs > 2) {
		aml_byte(aml, AML_MULTI_NAME_PREFIX);
		aml_byte(aml, nr_segs);
	}

	for (;;) {
		end = strchr(p, '.');
		if (!end)
			end = p + strlen(p);
		if (aml_nameseg(seg, p, end - p)) {
			aml_fail(aml, -EINVAL);
			return;
		}
		aml_bytes(aml, seg, sizeof(seg));
		if (!*end)
			break;
		p = end + 1;
	}
}

void aml_name(struct aml *aml, const char *path)
{
	aml_byte(aml, AML_NAME_OP);
	aml_namestring(aml, path);
}

void aml_name_integer(struct aml *aml, const char *path, u64 val)
{
	aml_name(aml, path);
	aml_integer(aml, val);
}

void aml_name_string(struct aml *aml, const char *path, const char *s)
{
	aml_name(aml, path);
	aml_string(aml, s);
}

void aml_name_eisaid(struct aml *aml, const char *path, const char *id)
{
	aml_name(aml, path);
	aml_eisaid(aml, id);
}

/* §20.2.5.3 DefReturn := ReturnOp ArgObject */
void aml_return(struct aml *aml)
{
	aml_byte(aml, AML_RETURN_OP);
}

/* §20.2.5.3 DefNotify := NotifyOp NotifyObject NotifyValue */
void aml_notify(struct aml *aml, const char *path, u64 value)
{
	aml_byte(aml, AML_NOTIFY_OP);
	aml_namestring(aml, path);
	aml_integer(aml, value);
}

/*
 * Every PkgLength-carrying object is: opcode, PkgLength, body.  The mark is
 * where the body starts; aml_close() slides the body over to make room.
 */
void aml_close(struct aml *aml, size_t mark)
{
	u8 pl[4];
	int n;

	if (aml->err)
		return;
	if (mark > aml->len) {
		aml_fail(aml, -EINVAL);
		return;
	}
	n = aml_pkglength_encode(pl, aml->len - mark);
	if (n < 0) {
		aml_fail(aml, n);
		return;
	}
	aml_insert(aml, mark, pl, n);
}

/* §20.2.5.1 DefScope := ScopeOp PkgLength NameString TermList */
size_t aml_scope_open(struct aml *aml, const char *path)
{
	size_t mark;

	aml_byte(aml, AML_SCOPE_OP);
	mark = aml->len;
	aml_namestring(aml, path);
	return mark;
}

/* §20.2.5.2 DefDevice := DeviceOp PkgLength NameString TermList */
size_t aml_device_open(struct aml *aml, const char *path)
{
	size_t mark;

	aml_byte(aml, AML_EXT_OP_PREFIX);
	aml_byte(aml, AML_DEVICE_OP);
	mark = aml->len;
	aml_namestring(aml, path);
	return mark;
}

/*
 * §20.2.5.2 DefMethod := MethodOp PkgLength NameString MethodFlags TermList;
 * MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag, bits 7:4 SyncLevel.
 */
size_t aml_method_open(struct aml *aml, const char *path, unsigned int nargs,
		       bool serialized)
{
	size_t mark;

	if (nargs > 7)
		aml_fail(aml, -EINVAL);
	aml_byte(aml, AML_METHOD_OP);
	mark = aml->len;
	aml_namestring(aml, path);
	aml_byte(aml, nargs | (serialized ? 1 << 3 : 0));
	return mark;
}

/*
 * §20.2.5.4 DefPackage := PackageOp PkgLength NumElements PackageElementList;
 * NumElements is a byte, so at most 255 elements.
 */
size_t aml_package_open(struct aml *aml, unsigned int nr_elements)
{
	size_t mark;

	if (nr_elements > 255)
		aml_fail(aml, -EINVAL);
	aml_byte(aml, AML_PACKAGE_OP);
	mark = aml->len;
	aml_byte(aml, nr_elements);
	return mark;
}

/* §20.2.5.4 DefBuffer := BufferOp PkgLength BufferSize ByteList */
size_t aml_buffer_open(struct aml *aml)
{
	aml_byte(aml, AML_BUFFER_OP);
	return aml->len;
}

void aml_buffer_close(struct aml *aml, size_t mark)
{
	u8 size[9];

	if (aml->err)
		return;
	if (mark > aml->len) {
		aml_fail(aml, -EINVAL);
		return;
	}
	aml_insert(aml, mark, size, aml_integer_encode(size, aml->len - mark));
	aml_close(aml, mark);
}

size_t aml_restemplate_open(struct aml *aml)
{
	return aml_buffer_open(aml);
}

/*
 * §6.4.2.9 End Tag: its checksum byte makes the sum of all the resource
 * data, End Tag included, zero.
 */
void aml_restemplate_close(struct aml *aml, size_t mark)
{
	u8 sum = RES_END_TAG;

	if (aml->err)
		return;
	if (mark > aml->len) {
		aml_fail(aml, -EINVAL);
		return;
	}
	for (size_t i = mark; i < aml->len; i++)
		sum += aml->buf[i];
	aml_byte(aml, RES_END_TAG);
	aml_byte(aml, -sum);
	aml_buffer_close(aml, mark);
}

/* §6.4.2.5 I/O Port Descriptor */
void aml_res_io(struct aml *aml, u16 min, u16 max, u8 align, u8 len)
{
	aml_byte(aml, RES_IO);
	aml_byte(aml, RES_IO_DECODE16);
	aml_le(aml, min, 2);
	aml_le(aml, max, 2);
	aml_byte(aml, align);
	aml_byte(aml, len);
}

/* §6.4.2.1 IRQ Descriptor, the two-byte form: edge, active high, exclusive */
void aml_res_irq_noflags(struct aml *aml, u16 mask)
{
	aml_byte(aml, RES_IRQ_NOFLAGS);
	aml_le(aml, mask, 2);
}

/*
 * §6.4.3.6 Extended Interrupt Descriptor, one GSI: tag, length, flags
 * (bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared), the
 * table's length, then the interrupt number.
 */
void aml_res_ext_irq(struct aml *aml, u32 gsi, bool edge, bool active_low)
{
	aml_byte(aml, RES_EXT_IRQ);
	aml_le(aml, 6, 2);
	aml_byte(aml, 1 | (edge ? 2 : 0) | (active_low ? 4 : 0));
	aml_byte(aml, 1);
	aml_le(aml, gsi, 4);
}

/*
 * §6.4.3.5.1-3 QWord, DWord and Word Address Space Descriptors share one
 * shape: tag, 16-bit length, type, general flags, type-specific flags,
 * then granularity, min, max, translation offset and length, each the
 * descriptor's word size.
 */
static void aml_res_addr(struct aml *aml, u8 tag, unsigned int size, u8 type,
			 u8 type_flags, u64 min, u64 max)
{
	if (max < min) {
		aml_fail(aml, -EINVAL);
		return;
	}
	aml_byte(aml, tag);
	aml_le(aml, 3 + 5 * size, 2);
	aml_byte(aml, type);
	aml_byte(aml, RES_GEN_FLAGS_WINDOW);
	aml_byte(aml, type_flags);
	aml_le(aml, 0, size);			/* _GRA */
	aml_le(aml, min, size);			/* _MIN */
	aml_le(aml, max, size);			/* _MAX */
	aml_le(aml, 0, size);			/* _TRA */
	aml_le(aml, max - min + 1, size);	/* _LEN */
}

void aml_res_word_bus(struct aml *aml, u16 min, u16 max)
{
	aml_res_addr(aml, RES_WORD_ADDR, 2, RES_TYPE_BUS, 0, min, max);
}

void aml_res_dword_io(struct aml *aml, u32 min, u32 max)
{
	aml_res_addr(aml, RES_DWORD_ADDR, 4, RES_TYPE_IO, RES_IO_RNG_ENTIRE,
		     min, max);
}

static u8 res_mem_flags(bool prefetchable)
{
	return RES_MEM_RW | (prefetchable ? RES_MEM_PREFETCHABLE : 0);
}

void aml_res_mem32_fixed(struct aml *aml, u32 base, u32 len)
{
	aml_byte(aml, RES_MEM32_FIXED);
	aml_le(aml, 9, 2);
	aml_byte(aml, 1);	/* read-write */
	aml_le(aml, base, 4);
	aml_le(aml, len, 4);
}

void aml_res_dword_mem(struct aml *aml, u32 min, u32 max, bool prefetchable)
{
	aml_res_addr(aml, RES_DWORD_ADDR, 4, RES_TYPE_MEM,
		     res_mem_flags(prefetchable), min, max);
}

void aml_res_qword_mem(struct aml *aml, u64 min, u64 max, bool prefetchable)
{
	/* The length of [0, 2^64 - 1] does not fit: refuse it. */
	if (min == 0 && max == ~0ULL) {
		aml_fail(aml, -EINVAL);
		return;
	}
	aml_res_addr(aml, RES_QWORD_ADDR, 8, RES_TYPE_MEM,
		     res_mem_flags(prefetchable), min, max);
}
