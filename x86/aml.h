/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small encoder for ACPI Machine Language (ACPI 6.5 §20, "ACPI Machine
 * Language (AML) Specification") and for the resource descriptors that go
 * in a _CRS buffer (ACPI 6.5 §6.4, "Resource Data Types for ACPI").
 *
 * The encoder appends to a caller-provided buffer.  Errors are sticky: the
 * first one (-ENOSPC when the buffer is full, -EINVAL for a malformed name,
 * string or size) is kept in aml->err and every later call does nothing, so
 * a caller emits a whole definition block and checks aml->err once.
 *
 * Objects that carry a PkgLength (Scope, Device, Method, Package, Buffer)
 * are opened and closed in pairs: *_open() returns a mark, and the matching
 * close computes the length of everything emitted since and inserts the
 * PkgLength in front of it.  Pairs nest like braces in ASL.
 */
#ifndef LKVM_X86_AML_H
#define LKVM_X86_AML_H

#include "kvm/types.h"

struct aml {
	u8 *buf;
	size_t len;
	size_t cap;
	int err;
};

void aml_init(struct aml *aml, void *buf, size_t cap);
void aml_bytes(struct aml *aml, const void *p, size_t n);
void aml_byte(struct aml *aml, u8 b);

/*
 * Encode the PkgLength of an object whose body (everything after the
 * PkgLength itself) is body_len bytes (§20.2.4).  Returns 1..4, the number
 * of bytes written to out, or -EINVAL if the object is too large.
 */
int aml_pkglength_encode(u8 out[4], size_t body_len);

/* Data objects (§20.2.3) */
void aml_integer(struct aml *aml, u64 val);
void aml_string(struct aml *aml, const char *s);
void aml_eisaid(struct aml *aml, const char *id);

/*
 * A NameString (§20.2.2) from ASL-like text: "\\_SB.PCI0", "^FOO", "_HID".
 * Segments shorter than four characters are padded with '_' as in ASL.
 */
void aml_namestring(struct aml *aml, const char *path);

/* Name (path, <object>): the caller emits the object right after. */
void aml_name(struct aml *aml, const char *path);
void aml_name_integer(struct aml *aml, const char *path, u64 val);
void aml_name_string(struct aml *aml, const char *path, const char *s);
void aml_name_eisaid(struct aml *aml, const char *path, const char *id);

/* Return (<object>): the caller emits the object right after. */
void aml_return(struct aml *aml);
/* Notify (path, value) */
void aml_notify(struct aml *aml, const char *path, u64 value);

/* PkgLength-carrying objects; each open returns a mark for its close. */
size_t aml_scope_open(struct aml *aml, const char *path);
size_t aml_device_open(struct aml *aml, const char *path);
size_t aml_method_open(struct aml *aml, const char *path, unsigned int nargs,
		       bool serialized);
size_t aml_package_open(struct aml *aml, unsigned int nr_elements);
void aml_close(struct aml *aml, size_t mark);

/* Buffer () { bytes }: the close also inserts the BufferSize. */
size_t aml_buffer_open(struct aml *aml);
void aml_buffer_close(struct aml *aml, size_t mark);

/*
 * ResourceTemplate () { descriptors }: a Buffer whose close appends the End
 * Tag (§6.4.2.9) with a checksum that makes the descriptors sum to zero.
 */
size_t aml_restemplate_open(struct aml *aml);
void aml_restemplate_close(struct aml *aml, size_t mark);

/* IO (Decode16, min, max, align, len) (§6.4.2.5) */
void aml_res_io(struct aml *aml, u16 min, u16 max, u8 align, u8 len);
/* IRQNoFlags () { irqs in mask } (§6.4.2.1) */
void aml_res_irq_noflags(struct aml *aml, u16 mask);
/* Interrupt (ResourceConsumer, Edge|Level, ActiveHigh|Low, Exclusive) { gsi } */
void aml_res_ext_irq(struct aml *aml, u32 gsi, bool edge, bool active_low);
/* Memory32Fixed (ReadWrite, base, len) (§6.4.3.4): a device's registers */
void aml_res_mem32_fixed(struct aml *aml, u32 base, u32 len);

/*
 * Address space descriptors (§6.4.3.5) for a bridge's windows: always
 * ResourceProducer, PosDecode, MinFixed, MaxFixed, granularity and
 * translation 0, length max - min + 1.
 */
void aml_res_word_bus(struct aml *aml, u16 min, u16 max);
void aml_res_dword_io(struct aml *aml, u32 min, u32 max);
void aml_res_dword_mem(struct aml *aml, u32 min, u32 max, bool prefetchable);
void aml_res_qword_mem(struct aml *aml, u64 min, u64 max, bool prefetchable);

#endif
