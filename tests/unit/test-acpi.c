// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for x86/acpi.c and x86/aml.c.  The tables are read back by
 * byte offset from the ACPI 6.5 spec, not through acpi.c's structs, so a
 * wrong struct layout shows up here.  The DSDT is checked with a tiny AML
 * walker that decodes every PkgLength and data object, so an off-by-one in
 * the encoder makes the walk fail rather than pass by luck.
 */
#include <errno.h>
#include <stdint.h>

#include "kvm/types.h"
#include "tests/unit/unit.h"
#include "x86/acpi.h"
#include "x86/aml.h"

#define REGION_GPA	ACPI_REGION_GPA
#define REGION_SIZE	ACPI_REGION_SIZE

static u8 region[REGION_SIZE];

static const struct acpi_config default_cfg = {
	.nr_cpus = 2,
	.lapic_addr = 0xfee00000,
	.ioapic_addr = 0xfec00000,
	.ioapic_id = 2,
	.pci_mmio_base = 0xc0000000,
	.pci_mmio_size = 0x3ec00000,
	.pvpanic_port = ACPI_PVPANIC_PORT,
};

static u16 rd16(const u8 *p)
{
	return p[0] | p[1] << 8;
}

static u32 rd32(const u8 *p)
{
	return rd16(p) | (u32)rd16(p + 2) << 16;
}

static u64 rd64(const u8 *p)
{
	return rd32(p) | (u64)rd32(p + 4) << 32;
}

static u8 sum8(const u8 *p, size_t len)
{
	u8 s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The host pointer for [gpa, gpa + len) inside the region, or NULL. */
static const u8 *gpa_ptr(u64 gpa, u64 len)
{
	if (gpa < REGION_GPA || len > REGION_SIZE ||
	    gpa - REGION_GPA > REGION_SIZE - len)
		return NULL;
	return region + (gpa - REGION_GPA);
}

/* A table at gpa, after checking its header and length lie in the region. */
static const u8 *table_at(u64 gpa)
{
	const u8 *t = gpa_ptr(gpa, 36);

	if (!t || rd32(t + 4) < 36)
		return NULL;
	return gpa_ptr(gpa, rd32(t + 4));
}

static u64 build(const struct acpi_config *cfg)
{
	u64 rsdp = 0;
	int r;

	memset(region, 0xa5, sizeof(region));
	r = acpi_build(region, REGION_GPA, REGION_SIZE, cfg, &rsdp);
	CHECK_EQ(r, 0);
	return rsdp;
}

/* Find a table by signature through RSDP -> XSDT (or FADT for the DSDT). */
static const u8 *find_table(u64 rsdp_gpa, const char *sig)
{
	const u8 *rsdp = gpa_ptr(rsdp_gpa, 36), *xsdt, *t;
	u32 n;

	if (!rsdp)
		return NULL;
	xsdt = table_at(rd64(rsdp + 24));
	if (!xsdt)
		return NULL;
	n = (rd32(xsdt + 4) - 36) / 8;
	for (u32 i = 0; i < n; i++) {
		t = table_at(rd64(xsdt + 36 + 8 * i));
		if (!t)
			return NULL;
		if (!memcmp(t, sig, 4))
			return t;
		if (!strcmp(sig, "DSDT") && !memcmp(t, "FACP", 4))
			return table_at(rd64(t + 140));
	}
	return NULL;
}

static void check_header(const u8 *t, const char *sig, u8 revision)
{
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(!memcmp(t, sig, 4));
	CHECK_EQ(t[8], revision);
	CHECK_EQ(sum8(t, rd32(t + 4)), 0);
	CHECK(!memcmp(t + 10, "LKVM  ", 6));
	CHECK(!memcmp(t + 16, "LKVM", 4));
	CHECK(!memcmp(t + 20, sig, 4));
	CHECK(!memcmp(t + 28, "LKVM", 4));
}

static void test_rsdp(void)
{
	u64 gpa = build(&default_cfg);
	const u8 *rsdp = gpa_ptr(gpa, 36);

	/* At the start of the region, where the legacy scan looks first. */
	CHECK_EQ(gpa, REGION_GPA);
	CHECK(!memcmp(rsdp, "RSD PTR ", 8));
	CHECK_EQ(sum8(rsdp, 20), 0);
	CHECK_EQ(sum8(rsdp, 36), 0);
	CHECK(!memcmp(rsdp + 9, "LKVM  ", 6));
	CHECK_EQ(rsdp[15], 2);
	CHECK_EQ(rd32(rsdp + 16), 0);
	CHECK_EQ(rd32(rsdp + 20), 36);
	CHECK(table_at(rd64(rsdp + 24)) != NULL);
	CHECK_EQ(rd64(rsdp + 24) % 8, 0);
}

static void test_xsdt(void)
{
	u64 gpa = build(&default_cfg);
	const u8 *xsdt = table_at(rd64(gpa_ptr(gpa, 36) + 24));
	bool seen_fadt = false, seen_madt = false;
	const u8 *t;

	check_header(xsdt, "XSDT", 1);
	if (!xsdt)
		return;
	CHECK_EQ(rd32(xsdt + 4), 36 + 2 * 8);
	for (int i = 0; i < 2; i++) {
		t = table_at(rd64(xsdt + 36 + 8 * i));
		CHECK(t != NULL);
		if (!t)
			continue;
		CHECK_EQ(sum8(t, rd32(t + 4)), 0);
		seen_fadt |= !memcmp(t, "FACP", 4);
		seen_madt |= !memcmp(t, "APIC", 4);
	}
	CHECK(seen_fadt);
	CHECK(seen_madt);
}

static void test_checksums(void)
{
	static const char *const sigs[] = { "FACP", "APIC", "DSDT" };
	u64 gpa = build(&default_cfg);

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		const u8 *t = find_table(gpa, sigs[i]);

		CHECK(t != NULL);
		if (t)
			CHECK_EQ(sum8(t, rd32(t + 4)), 0);
	}
}

static void check_madt(unsigned int nr_cpus)
{
	struct acpi_config cfg = default_cfg;
	unsigned int nr_lapic = 0, nr_ioapic = 0, nr_iso = 0;
	const u8 *madt, *e, *end;

	cfg.nr_cpus = nr_cpus;
	cfg.ioapic_id = nr_cpus;
	madt = find_table(build(&cfg), "APIC");
	check_header(madt, "APIC", 5);
	if (!madt)
		return;
	CHECK_EQ(rd32(madt + 4), 44 + 8 * nr_cpus + 12 + 2 * 10);
	CHECK_EQ(rd32(madt + 36), 0xfee00000);
	CHECK_EQ(rd32(madt + 40), 1);	/* PCAT_COMPAT */

	end = madt + rd32(madt + 4);
	for (e = madt + 44; e < end; e += e[1]) {
		CHECK(e[1] >= 2 && e + e[1] <= end);
		if (e[1] < 2 || e + e[1] > end)
			return;
		switch (e[0]) {
		case 0:	/* Processor Local APIC, in APIC ID order */
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], nr_lapic);
			CHECK_EQ(e[3], nr_lapic);
			CHECK_EQ(rd32(e + 4), 1);
			nr_lapic++;
			break;
		case 1:	/* I/O APIC */
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], nr_cpus);
			CHECK_EQ(rd32(e + 4), 0xfec00000);
			CHECK_EQ(rd32(e + 8), 0);
			nr_ioapic++;
			break;
		case 2:	/* Interrupt Source Override */
			CHECK_EQ(e[1], 10);
			CHECK_EQ(e[2], 0);	/* ISA */
			if (e[3] == 0) {
				CHECK_EQ(rd32(e + 4), 2);
				CHECK_EQ(rd16(e + 8), 0);
			} else {
				CHECK_EQ(e[3], 9);
				CHECK_EQ(rd32(e + 4), 9);
				CHECK_EQ(rd16(e + 8), 0x0d);
			}
			nr_iso++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
	}
	CHECK(e == end);
	CHECK_EQ(nr_lapic, nr_cpus);
	CHECK_EQ(nr_ioapic, 1);
	CHECK_EQ(nr_iso, 2);
}

static void test_madt_1(void)
{
	check_madt(1);
}

static void test_madt_2(void)
{
	check_madt(2);
}

static void test_madt_64(void)
{
	check_madt(64);
}

static void test_madt_255(void)
{
	check_madt(255);
}

static void check_gas_io8(const u8 *gas, u16 port)
{
	CHECK_EQ(gas[0], 1);	/* SystemIO */
	CHECK_EQ(gas[1], 8);
	CHECK_EQ(gas[2], 0);
	CHECK_EQ(gas[3], 1);	/* byte access */
	CHECK_EQ(rd64(gas + 4), port);
}

static void test_fadt(void)
{
	u64 gpa = build(&default_cfg);
	const u8 *fadt = find_table(gpa, "FACP");
	const u8 *dsdt = find_table(gpa, "DSDT");

	check_header(fadt, "FACP", 6);
	if (!fadt || !dsdt)
		return;
	CHECK_EQ(rd32(fadt + 4), 276);
	CHECK_EQ(fadt[131], 5);				/* minor version */
	CHECK_EQ(rd32(fadt + 36), 0);			/* no FACS */
	CHECK_EQ(rd64(fadt + 132), 0);
	CHECK_EQ(rd32(fadt + 40), dsdt - region + REGION_GPA);
	CHECK_EQ(rd64(fadt + 140), dsdt - region + REGION_GPA);
	CHECK_EQ(rd16(fadt + 46), 9);			/* SCI_INT */
	/* Hardware reduced: no SMI, PM1, PM2, timer or GPE blocks. */
	for (int off = 48; off < 96; off++)
		CHECK_EQ(fadt[off], 0);
	for (int off = 148; off < 244; off++)
		CHECK_EQ(fadt[off], 0);
	/* VGA not present, ASPM controls, no CMOS RTC; 8042 and MSI clear */
	CHECK_EQ(rd16(fadt + 109), (1 << 2) | (1 << 4) | (1 << 5));
	/* WBINVD, PWR_BUTTON, SLP_BUTTON, RESET_REG_SUP, HW_REDUCED_ACPI */
	CHECK_EQ(rd32(fadt + 112),
		 (1 << 0) | (1 << 4) | (1 << 5) | (1 << 10) | (1 << 20));
	check_gas_io8(fadt + 116, ACPI_RESET_PORT);
	CHECK_EQ(ACPI_RESET_PORT, 0xcf9);
	CHECK_EQ(fadt[128], ACPI_RESET_VALUE);
	CHECK_EQ(ACPI_RESET_VALUE, 0x06);
	check_gas_io8(fadt + 244, ACPI_SLEEP_CTL_PORT);
	check_gas_io8(fadt + 256, ACPI_SLEEP_STS_PORT);
	CHECK_EQ(ACPI_SLEEP_CTL_PORT, 0x600);
	CHECK_EQ(ACPI_SLEEP_STS_PORT, 0x601);
	/* What Linux writes to power off: SLP_TYP 5, SLP_EN */
	CHECK_EQ((ACPI_S5_SLP_TYP << ACPI_SLEEP_TYP_SHIFT) | ACPI_SLEEP_EN,
		 0x34);
}

/*
 * A tiny AML walker: Scope, Device, Method and Name, with data objects
 * Zero/One/Ones, Byte/Word/DWord/QWord, String, Buffer and Package.  It
 * records each name's absolute path and where its object starts.
 */
struct aml_object {
	char path[64];
	const u8 *obj;		/* the data object, NULL for Scope/Device */
};

static struct aml_object aml_objects[1024];
static int nr_aml_objects;

static int walk_pkglength(const u8 **p, const u8 *end, const u8 **obj_end)
{
	const u8 *start = *p;
	unsigned int n;
	u32 len;

	if (*p >= end)
		return -1;
	n = **p >> 6;
	if (n == 0) {
		len = *(*p)++ & 0x3f;
	} else {
		if (**p & 0x30)		/* bits 5:4 are reserved */
			return -1;
		len = *(*p)++ & 0x0f;
		for (unsigned int i = 0; i < n; i++) {
			if (*p >= end)
				return -1;
			len |= (u32)*(*p)++ << (4 + 8 * i);
		}
		if (len < 64)		/* not the shortest encoding */
			return -1;
	}
	if (len > (size_t)(end - start) || start + len < *p)
		return -1;
	*obj_end = start + len;
	return 0;
}

static int walk_nameseg(const u8 **p, const u8 *end, char *out, size_t size)
{
	size_t l = strlen(out);

	if (end - *p < 4 || l + 6 > size)
		return -1;
	if (l && out[l - 1] != '\\' && out[l - 1] != '^')
		out[l++] = '.';
	memcpy(out + l, *p, 4);
	out[l + 4] = 0;
	*p += 4;
	return 0;
}

/* Decode a NameString into out, relative names prefixed with scope. */
static int walk_namestring(const u8 **p, const u8 *end, const char *scope,
			   char *out, size_t size)
{
	unsigned int nr = 1;

	if (*p >= end)
		return -1;
	if (**p == '\\') {
		strcpy(out, "\\");
		(*p)++;
	} else {
		snprintf(out, size, "%s", scope);
		while (*p < end && **p == '^') {
			strcat(out, "^");
			(*p)++;
		}
	}
	if (*p >= end)
		return -1;
	if (**p == 0x00) {
		(*p)++;
		return 0;
	} else if (**p == 0x2e) {
		nr = 2;
		(*p)++;
	} else if (**p == 0x2f) {
		if (end - *p < 2)
			return -1;
		nr = (*p)[1];
		*p += 2;
	}
	for (unsigned int i = 0; i < nr; i++)
		if (walk_nameseg(p, end, out, size))
			return -1;
	return 0;
}

static int walk_integer(const u8 **p, const u8 *end, u64 *val)
{
	static const u8 sizes[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4,
				    [0x0e] = 8 };
	u8 op;

	if (*p >= end)
		return -1;
	op = *(*p)++;
	if (op == 0x00 || op == 0x01) {
		*val = op;
		return 0;
	}
	if (op == 0xff) {
		*val = ~0ULL;
		return 0;
	}
	if (op >= ARRAY_SIZE(sizes) || !sizes[op] || end - *p < sizes[op])
		return -1;
	*val = 0;
	for (int i = 0; i < sizes[op]; i++)
		*val |= (u64)*(*p)++ << (8 * i);
	return 0;
}

static int walk_data(const u8 **p, const u8 *end)
{
	const u8 *obj_end;
	unsigned int n;
	u64 val;

	if (*p >= end)
		return -1;
	switch (**p) {
	case 0x0d:	/* String */
		(*p)++;
		while (*p < end && **p)
			(*p)++;
		if (*p >= end)
			return -1;
		(*p)++;
		return 0;
	case 0x11:	/* Buffer: the size must match the byte list */
		(*p)++;
		if (walk_pkglength(p, end, &obj_end) ||
		    walk_integer(p, obj_end, &val) ||
		    val != (u64)(obj_end - *p))
			return -1;
		*p = obj_end;
		return 0;
	case 0x12:	/* Package: exactly NumElements objects */
		(*p)++;
		if (walk_pkglength(p, end, &obj_end) || *p >= obj_end)
			return -1;
		n = *(*p)++;
		for (unsigned int i = 0; i < n; i++)
			if (walk_data(p, obj_end))
				return -1;
		return *p == obj_end ? 0 : -1;
	default:
		return walk_integer(p, end, &val);
	}
}

static struct aml_object *aml_record(const char *path, const u8 *obj)
{
	struct aml_object *o;

	if (nr_aml_objects >= (int)ARRAY_SIZE(aml_objects))
		return NULL;
	o = &aml_objects[nr_aml_objects++];
	snprintf(o->path, sizeof(o->path), "%s", path);
	o->obj = obj;
	return o;
}

static int walk_terms(const u8 *p, const u8 *end, const char *scope)
{
	const u8 *obj_end;
	char path[64];

	while (p < end) {
		switch (*p) {
		case 0x08:	/* Name */
			p++;
			if (walk_namestring(&p, end, scope, path, sizeof(path)) ||
			    !aml_record(path, p) || walk_data(&p, end))
				return -1;
			break;
		case 0x10:	/* Scope */
			p++;
			if (walk_pkglength(&p, end, &obj_end) ||
			    walk_namestring(&p, obj_end, scope, path,
					    sizeof(path)) ||
			    walk_terms(p, obj_end, path))
				return -1;
			p = obj_end;
			break;
		case 0x14:	/* Method: the body is not walked */
			p++;
			if (walk_pkglength(&p, end, &obj_end) ||
			    walk_namestring(&p, obj_end, scope, path,
					    sizeof(path)) ||
			    p >= obj_end || !aml_record(path, p + 1))
				return -1;
			p = obj_end;
			break;
		case 0x5b:	/* Device */
			if (end - p < 2 || p[1] != 0x82)
				return -1;
			p += 2;
			if (walk_pkglength(&p, end, &obj_end) ||
			    walk_namestring(&p, obj_end, scope, path,
					    sizeof(path)) ||
			    !aml_record(path, NULL) ||
			    walk_terms(p, obj_end, path))
				return -1;
			p = obj_end;
			break;
		default:
			return -1;
		}
	}
	return p == end ? 0 : -1;
}

static int walk_aml(const u8 *p, size_t len)
{
	nr_aml_objects = 0;
	return walk_terms(p, p + len, "\\");
}

static const struct aml_object *aml_find(const char *path)
{
	for (int i = 0; i < nr_aml_objects; i++)
		if (!strcmp(aml_objects[i].path, path))
			return &aml_objects[i];
	return NULL;
}

static bool aml_find_integer(const char *path, u64 *val)
{
	const struct aml_object *o = aml_find(path);
	const u8 *p;

	if (!o || !o->obj)
		return false;
	p = o->obj;
	return !walk_integer(&p, p + 9, val);
}

static const u8 *dsdt_walk(const struct acpi_config *cfg)
{
	const u8 *dsdt = find_table(build(cfg), "DSDT");

	check_header(dsdt, "DSDT", 2);
	if (!dsdt)
		return NULL;
	CHECK_EQ(walk_aml(dsdt + 36, rd32(dsdt + 4) - 36), 0);
	return dsdt;
}

static void check_name_integer(const char *path, u64 expect)
{
	u64 val = ~expect;

	CHECK(aml_find_integer(path, &val));
	CHECK_EQ(val, expect);
}

static void test_dsdt_names(void)
{
	const struct aml_object *o;
	const u8 *p, *end;
	u64 val;

	if (!dsdt_walk(&default_cfg))
		return;
	CHECK(aml_find("\\_SB_.PCI0") != NULL);
	CHECK(aml_find("\\_SB_.COM1") != NULL);
	CHECK(aml_find("\\_SB_.PEVT") != NULL);
	check_name_integer("\\_SB_.PCI0._HID", 0x030ad041);	/* PNP0A03 */
	check_name_integer("\\_SB_.PCI0._UID", 0);
	check_name_integer("\\_SB_.PCI0._SEG", 0);
	check_name_integer("\\_SB_.PCI0._BBN", 0);
	check_name_integer("\\_SB_.COM1._HID", 0x0105d041);	/* PNP0501 */
	check_name_integer("\\_SB_.COM1._UID", 1);
	check_name_integer("\\_SB_.PEVT._STA", 0x0f);
	o = aml_find("\\_SB_.PEVT._HID");
	CHECK(o && o->obj[0] == 0x0d && !strcmp((char *)o->obj + 1, "QEMU0001"));

	/* Name (\_S5, Package () { 5, 5, 0, 0 }) */
	o = aml_find("\\_S5_");
	CHECK(o != NULL);
	if (!o)
		return;
	p = o->obj;
	CHECK_EQ(*p++, 0x12);
	CHECK_EQ(walk_pkglength(&p, p + 64, &end), 0);
	CHECK_EQ(*p++, 4);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(walk_integer(&p, end, &val), 0);
		CHECK_EQ(val, i < 2 ? ACPI_S5_SLP_TYP : 0);
	}
	CHECK(p == end);
}

static void test_dsdt_no_pvpanic(void)
{
	struct acpi_config cfg = default_cfg;

	cfg.pvpanic_port = 0;
	if (!dsdt_walk(&cfg))
		return;
	CHECK(aml_find("\\_SB_.COM1") != NULL);
	CHECK(aml_find("\\_SB_.PEVT") == NULL);
	CHECK(aml_find("\\_SB_.PEVT._HID") == NULL);
}

/*
 * The resource descriptors of a _CRS buffer, after checking that they end
 * with an End Tag whose checksum makes the whole template sum to zero.
 */
struct res {
	u8 tag;		/* small: name << 3 | len; large: the tag byte */
	const u8 *data;	/* after the tag (and length for large items) */
	u16 len;
};

static int crs_decode(const char *path, struct res *res, int max)
{
	const struct aml_object *o = aml_find(path);
	const u8 *p, *end, *start;
	u64 size;
	int n = 0;

	if (!o || !o->obj || o->obj[0] != 0x11)
		return -1;
	p = o->obj + 1;
	if (walk_pkglength(&p, p + 0x10000, &end) ||
	    walk_integer(&p, end, &size))
		return -1;
	start = p;
	while (p < end && n < max) {
		if (*p & 0x80) {
			if (end - p < 3)
				return -1;
			res[n].tag = *p;
			res[n].len = rd16(p + 1);
			res[n].data = p + 3;
		} else {
			res[n].tag = *p;
			res[n].len = *p & 7;
			res[n].data = p + 1;
		}
		p = res[n].data + res[n].len;
		if (p > end)
			return -1;
		if (res[n++].tag == 0x79)
			break;
	}
	if (p != end || n == 0 || res[n - 1].tag != 0x79 ||
	    sum8(start, end - start) != 0)
		return -1;
	return n;
}

static void check_io(const struct res *r, u16 port, u8 len)
{
	CHECK_EQ(r->tag, 0x47);
	CHECK_EQ(r->data[0], 1);	/* Decode16 */
	CHECK_EQ(rd16(r->data + 1), port);
	CHECK_EQ(rd16(r->data + 3), port);
	CHECK_EQ(r->data[6], len);
}

/* Address space descriptor: producer window, MinFixed, MaxFixed */
static void check_addr(const struct res *r, u8 tag, u8 type, u8 tflags,
		       u64 min, u64 max)
{
	unsigned int w = tag == 0x88 ? 2 : tag == 0x87 ? 4 : 8;

	CHECK_EQ(r->tag, tag);
	CHECK_EQ(r->len, 3 + 5 * w);
	CHECK_EQ(r->data[0], type);
	CHECK_EQ(r->data[1], 0x0c);
	CHECK_EQ(r->data[2], tflags);
	if (r->tag != tag)
		return;
	for (unsigned int i = 0; i < 5; i++) {
		const u8 *f = r->data + 3 + i * w;
		u64 v = w == 2 ? rd16(f) : w == 4 ? rd32(f) : rd64(f);
		u64 expect[] = { 0, min, max, 0, max - min + 1 };

		CHECK_EQ(v, expect[i]);
	}
}

static void test_dsdt_crs(void)
{
	struct res r[8];
	int n;

	if (!dsdt_walk(&default_cfg))
		return;

	n = crs_decode("\\_SB_.PCI0._CRS", r, ARRAY_SIZE(r));
	CHECK_EQ(n, 6);
	if (n == 6) {
		check_addr(&r[0], 0x88, 2, 0, 0, 0);
		check_io(&r[1], 0xcf8, 8);
		check_addr(&r[2], 0x87, 1, 3, 0, 0xcf7);
		check_addr(&r[3], 0x87, 1, 3, 0xd00, 0xffff);
		check_addr(&r[4], 0x87, 0, 1, 0xc0000000, 0xfebfffff);
	}

	n = crs_decode("\\_SB_.COM1._CRS", r, ARRAY_SIZE(r));
	CHECK_EQ(n, 3);
	if (n == 3) {
		check_io(&r[0], 0x3f8, 8);
		CHECK_EQ(r[1].tag, 0x22);
		CHECK_EQ(rd16(r[1].data), 1 << 4);
	}

	n = crs_decode("\\_SB_.PEVT._CRS", r, ARRAY_SIZE(r));
	CHECK_EQ(n, 2);
	if (n == 2)
		check_io(&r[0], ACPI_PVPANIC_PORT, 1);
}

/*
 * The power button behind a Generic Event Device: \_SB.PWRB (PNP0C0C),
 * \_SB.GED0 (ACPI0013) with one edge, active-high GSI, and an _EVT that
 * notifies the button with 0x80.
 */
static void test_dsdt_power_button(void)
{
	static const u8 evt[] = { 0x86, '\\', 0x2e, '_', 'S', 'B', '_',
				  'P', 'W', 'R', 'B', 0x0a, 0x80 };
	struct acpi_config cfg = default_cfg;
	const struct aml_object *o;
	struct res r[4];
	int n;

	if (!dsdt_walk(&default_cfg))
		return;
	CHECK(aml_find("\\_SB_.GED0") == NULL);	/* only when asked */
	cfg.ged_gsi = ACPI_GED_GSI;
	if (!dsdt_walk(&cfg))
		return;
	check_name_integer("\\_SB_.PWRB._HID", 0x0c0cd041);	/* PNP0C0C */
	o = aml_find("\\_SB_.GED0._HID");
	CHECK(o && o->obj[0] == 0x0d && !strcmp((char *)o->obj + 1, "ACPI0013"));
	n = crs_decode("\\_SB_.GED0._CRS", r, ARRAY_SIZE(r));
	CHECK_EQ(n, 2);
	if (n == 2) {
		/* Extended Interrupt: consumer, edge, active high, exclusive. */
		CHECK_EQ(r[0].tag, 0x89);
		CHECK_EQ(r[0].data[0], 0x03);
		CHECK_EQ(r[0].data[1], 1);
		CHECK_EQ(rd32(r[0].data + 2), ACPI_GED_GSI);
	}
	o = aml_find("\\_SB_.GED0._EVT");
	CHECK(o && !memcmp(o->obj, evt, sizeof(evt)));
}

/*
 * virtio-mmio devices \_SB.VR00.. (LNRO0005): each its own page of
 * registers (Memory32Fixed, read-write) and an edge, active-high GSI.
 */
static void test_dsdt_virtio_mmio(void)
{
	static const u32 gsi[] = { 16, 5 };
	struct acpi_config cfg = default_cfg;
	const struct aml_object *o;
	struct res r[4];
	int n;

	if (!dsdt_walk(&default_cfg))
		return;
	CHECK(aml_find("\\_SB_.VR00") == NULL);	/* only when asked */
	cfg.virtio_mmio_base = 0xfeb00000;
	cfg.virtio_mmio_stride = 0x1000;
	cfg.virtio_mmio_gsi = gsi;
	cfg.nr_virtio_mmio = 2;
	cfg.no_pci = true;
	if (!dsdt_walk(&cfg))
		return;
	/* Nothing on PCI: no host bridge either. */
	CHECK(aml_find("\\_SB_.PCI0") == NULL);
	CHECK(aml_find("\\_SB_.COM1") != NULL);
	CHECK(aml_find("\\_SB_.VR02") == NULL);
	o = aml_find("\\_SB_.VR01._HID");
	CHECK(o && o->obj[0] == 0x0d && !strcmp((char *)o->obj + 1, "LNRO0005"));
	check_name_integer("\\_SB_.VR01._UID", 1);
	check_name_integer("\\_SB_.VR01._CCA", 1);
	n = crs_decode("\\_SB_.VR01._CRS", r, ARRAY_SIZE(r));
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_EQ(r[0].tag, 0x86);
		CHECK_EQ(r[0].len, 9);
		CHECK_EQ(r[0].data[0], 1);
		CHECK_EQ(rd32(r[0].data + 1), 0xfeb01000);
		CHECK_EQ(rd32(r[0].data + 5), 0x1000);
		CHECK_EQ(r[1].tag, 0x89);
		CHECK_EQ(r[1].data[0], 0x03);
		CHECK_EQ(rd32(r[1].data + 2), 5);
	}
	/* Windows that would not fit below 4 GiB are refused. */
	cfg.virtio_mmio_base = 0xfffff000;
	CHECK_EQ(acpi_build(region, REGION_GPA, REGION_SIZE, &cfg,
			    &(u64){ 0 }), -EINVAL);
}

static void test_dsdt_no_mmio_window(void)
{
	struct acpi_config cfg = default_cfg;
	struct res r[8];

	cfg.pci_mmio_size = 0;
	if (!dsdt_walk(&cfg))
		return;
	CHECK_EQ(crs_decode("\\_SB_.PCI0._CRS", r, ARRAY_SIZE(r)), 5);
}

static void test_dsdt_255_cpus(void)
{
	struct acpi_config cfg = default_cfg;

	cfg.nr_cpus = 255;
	cfg.ioapic_id = 0;
	if (!dsdt_walk(&cfg))
		return;
	CHECK(aml_find("\\_SB_.PCI0._CRS") != NULL);
}

static void test_build_einval(void)
{
	struct acpi_config cfg = default_cfg;
	u64 rsdp = 0x1234;

	cfg.nr_cpus = 0;
	CHECK_EQ(acpi_build(region, REGION_GPA, REGION_SIZE, &cfg, &rsdp),
		 -EINVAL);
	cfg.nr_cpus = 256;
	CHECK_EQ(acpi_build(region, REGION_GPA, REGION_SIZE, &cfg, &rsdp),
		 -EINVAL);
	cfg.nr_cpus = 1;
	CHECK_EQ(acpi_build(region, REGION_GPA + 8, REGION_SIZE, &cfg, &rsdp),
		 -EINVAL);
	cfg.pci_mmio_base = 0xf0000000;
	cfg.pci_mmio_size = 0x20000000;
	CHECK_EQ(acpi_build(region, REGION_GPA, REGION_SIZE, &cfg, &rsdp),
		 -EINVAL);
	CHECK_EQ(rsdp, 0x1234);
}

/* Every size short of what the tables need fails cleanly; that one works. */
static void test_build_enospc(void)
{
	u64 rsdp_gpa = build(&default_cfg), rsdp = 0;
	const u8 *rsdp_p = gpa_ptr(rsdp_gpa, 36), *xsdt, *t;
	u64 need = 36;

	xsdt = table_at(rd64(rsdp_p + 24));
	if (!xsdt)
		return;
	need = MAX(need, (u64)(xsdt - region) + rd32(xsdt + 4));
	for (int i = 0; i < 2; i++) {
		t = table_at(rd64(xsdt + 36 + 8 * i));
		if (t)
			need = MAX(need, (u64)(t - region) + rd32(t + 4));
	}
	t = find_table(rsdp_gpa, "DSDT");
	if (t)
		need = MAX(need, (u64)(t - region) + rd32(t + 4));
	CHECK(need < 4096);

	for (u64 size = 0; size < need; size++)
		CHECK_EQ(acpi_build(region, REGION_GPA, size, &default_cfg,
				    &rsdp),
			 -ENOSPC);
	CHECK_EQ(acpi_build(region, REGION_GPA, need, &default_cfg, &rsdp), 0);
	CHECK_EQ(rsdp, REGION_GPA);
}

/* The encoder, byte for byte. */
static bool aml_is(const struct aml *aml, const u8 *expect, size_t len)
{
	return aml->err == 0 && aml->len == len &&
	       !memcmp(aml->buf, expect, len);
}

#define AML_IS(aml, ...)                                                 \
	CHECK(aml_is(aml, (const u8[]){ __VA_ARGS__ },                  \
		     sizeof((const u8[]){ __VA_ARGS__ })))

static void test_aml_pkglength(void)
{
	static const struct {
		size_t body;
		int n;
		u8 bytes[4];
	} cases[] = {
		{ 0, 1, { 0x01 } },
		{ 62, 1, { 0x3f } },			/* value 63 */
		{ 63, 2, { 0x41, 0x04 } },		/* 64 won't fit: 65 */
		{ 4093, 2, { 0x4f, 0xff } },		/* value 4095 */
		{ 4094, 3, { 0x81, 0x00, 0x01 } },	/* 4096 won't: 4097 */
		{ 0xffffc, 3, { 0x8f, 0xff, 0xff } },	/* value 2^20 - 1 */
		{ 0xffffd, 4, { 0xc1, 0x00, 0x00, 0x01 } },
		{ 0xffffffb, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	u8 out[4];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(out, 0, sizeof(out));
		CHECK_EQ(aml_pkglength_encode(out, cases[i].body), cases[i].n);
		CHECK(!memcmp(out, cases[i].bytes, cases[i].n));
	}
	CHECK_EQ(aml_pkglength_encode(out, 0xffffffc), -EINVAL);
	CHECK_EQ(aml_pkglength_encode(out, SIZE_MAX), -EINVAL);
}

/* A Buffer's PkgLength grows a byte as its body crosses each boundary. */
static void test_aml_buffer_sizes(void)
{
	static const size_t sizes[] = { 0, 59, 60, 61, 62, 63, 64, 100,
					4088, 4089, 4090, 4091, 4092, 5000 };
	static u8 buf[8192];
	const u8 *p, *end;
	struct aml aml;
	size_t mark;
	u64 val;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		aml_init(&aml, buf, sizeof(buf));
		mark = aml_buffer_open(&aml);
		for (size_t j = 0; j < sizes[i]; j++)
			aml_byte(&aml, j);
		aml_buffer_close(&aml, mark);
		CHECK_EQ(aml.err, 0);

		p = buf;
		CHECK_EQ(*p++, 0x11);
		CHECK_EQ(walk_pkglength(&p, buf + aml.len, &end), 0);
		CHECK(end == buf + aml.len);
		CHECK_EQ(walk_integer(&p, end, &val), 0);
		CHECK_EQ(val, sizes[i]);
		CHECK_EQ(end - p, sizes[i]);
		if (sizes[i])
			CHECK_EQ(p[sizes[i] - 1], (u8)(sizes[i] - 1));
	}
}

static void test_aml_integer(void)
{
	u8 buf[16];
	struct aml aml;

#define INT_IS(v, ...)                          \
	do {                                    \
		aml_init(&aml, buf, sizeof(buf)); \
		aml_integer(&aml, v);           \
		AML_IS(&aml, __VA_ARGS__);      \
	} while (0)

	INT_IS(0, 0x00);
	INT_IS(1, 0x01);
	INT_IS(2, 0x0a, 0x02);
	INT_IS(0xff, 0x0a, 0xff);
	INT_IS(0x100, 0x0b, 0x00, 0x01);
	INT_IS(0xffff, 0x0b, 0xff, 0xff);
	INT_IS(0x10000, 0x0c, 0x00, 0x00, 0x01, 0x00);
	INT_IS(0xffffffff, 0x0c, 0xff, 0xff, 0xff, 0xff);
	INT_IS(0x100000000ULL, 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
	INT_IS(~0ULL, 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
#undef INT_IS
}

static void test_aml_namestring(void)
{
	static const char *const bad[] = { "abcd", "FOOBAR", "1ABC", "A-B",
					   "\\_SB.", "A..B", ".A", "\\^A" };
	u8 buf[64];
	struct aml aml;

#define NAME_IS(s, ...)                         \
	do {                                    \
		aml_init(&aml, buf, sizeof(buf)); \
		aml_namestring(&aml, s);        \
		AML_IS(&aml, __VA_ARGS__);      \
	} while (0)

	NAME_IS("_HID", '_', 'H', 'I', 'D');
	NAME_IS("_S5", '_', 'S', '5', '_');
	NAME_IS("\\_SB", '\\', '_', 'S', 'B', '_');
	NAME_IS("\\_SB.PCI0", '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I',
		'0');
	NAME_IS("\\_SB.PCI0.S08", '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C',
		'I', '0', 'S', '0', '8', '_');
	NAME_IS("^^FOO", '^', '^', 'F', 'O', 'O', '_');
	NAME_IS("\\", '\\', 0x00);
	NAME_IS("", 0x00);
#undef NAME_IS

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&aml, buf, sizeof(buf));
		aml_namestring(&aml, bad[i]);
		CHECK_EQ(aml.err, -EINVAL);
	}
}

static void test_aml_eisaid_string(void)
{
	u8 buf[32];
	struct aml aml;

	aml_init(&aml, buf, sizeof(buf));
	aml_eisaid(&aml, "PNP0A03");
	AML_IS(&aml, 0x0c, 0x41, 0xd0, 0x0a, 0x03);

	aml_init(&aml, buf, sizeof(buf));
	aml_eisaid(&aml, "PNP0501");
	AML_IS(&aml, 0x0c, 0x41, 0xd0, 0x05, 0x01);

	aml_init(&aml, buf, sizeof(buf));
	aml_eisaid(&aml, "pnp0a03");
	CHECK_EQ(aml.err, -EINVAL);

	aml_init(&aml, buf, sizeof(buf));
	aml_eisaid(&aml, "PNP0A0G");
	CHECK_EQ(aml.err, -EINVAL);

	aml_init(&aml, buf, sizeof(buf));
	aml_string(&aml, "QEMU0001");
	AML_IS(&aml, 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00);

	aml_init(&aml, buf, sizeof(buf));
	aml_string(&aml, "\x80");
	CHECK_EQ(aml.err, -EINVAL);
}

static void test_aml_nested(void)
{
	u8 buf[64];
	struct aml aml;
	size_t sb, dev, m;

	/* Scope (\_SB) { Device (FOO) { Name (_UID, One) } } */
	aml_init(&aml, buf, sizeof(buf));
	sb = aml_scope_open(&aml, "\\_SB");
	dev = aml_device_open(&aml, "FOO");
	aml_name_integer(&aml, "_UID", 1);
	aml_close(&aml, dev);
	aml_close(&aml, sb);
	AML_IS(&aml, 0x10, 0x13, '\\', '_', 'S', 'B', '_',
	       0x5b, 0x82, 0x0b, 'F', 'O', 'O', '_',
	       0x08, '_', 'U', 'I', 'D', 0x01);

	/* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
	aml_init(&aml, buf, sizeof(buf));
	m = aml_method_open(&aml, "_STA", 0, false);
	aml_return(&aml);
	aml_integer(&aml, 0x0f);
	aml_close(&aml, m);
	AML_IS(&aml, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);

	aml_init(&aml, buf, sizeof(buf));
	m = aml_method_open(&aml, "FOO", 2, true);
	aml_close(&aml, m);
	AML_IS(&aml, 0x14, 0x06, 'F', 'O', 'O', '_', 0x0a);

	aml_init(&aml, buf, sizeof(buf));
	aml_package_open(&aml, 256);
	CHECK_EQ(aml.err, -EINVAL);
}

/* Inner objects whose PkgLength grows must not corrupt the outer ones. */
static void test_aml_deep(void)
{
	static u8 buf[16384];
	char name[16];
	struct aml aml;
	size_t sb, dev[3], pkg;
	u64 val;

	aml_init(&aml, buf, sizeof(buf));
	sb = aml_scope_open(&aml, "\\_SB");
	for (int d = 0; d < 3; d++) {
		snprintf(name, sizeof(name), "D%03d", d);
		dev[d] = aml_device_open(&aml, name);
		for (int i = 0; i < 20 + 200 * d; i++) {
			snprintf(name, sizeof(name), "N%03d", i);
			aml_name_integer(&aml, name, i * 0x10001ULL);
		}
	}
	aml_name(&aml, "PKG");
	pkg = aml_package_open(&aml, 3);
	aml_integer(&aml, 0x100000000ULL);
	aml_string(&aml, "x");
	aml_integer(&aml, 0);
	aml_close(&aml, pkg);
	for (int d = 2; d >= 0; d--)
		aml_close(&aml, dev[d]);
	aml_close(&aml, sb);
	CHECK_EQ(aml.err, 0);

	CHECK_EQ(walk_aml(buf, aml.len), 0);
	CHECK(aml_find("\\_SB_.D000.D001.D002.PKG_") != NULL);
	CHECK(aml_find_integer("\\_SB_.D000.N019", &val) &&
	      val == 19 * 0x10001ULL);
	CHECK(aml_find_integer("\\_SB_.D000.D001.D002.N419", &val) &&
	      val == 419 * 0x10001ULL);
	CHECK(aml_find("\\_SB_.D000.N020") == NULL);
}

static void test_aml_restemplate(void)
{
	u8 buf[64];
	struct aml aml;
	size_t crs;

	/* { IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} } */
	aml_init(&aml, buf, sizeof(buf));
	crs = aml_restemplate_open(&aml);
	aml_res_io(&aml, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&aml, 1 << 4);
	aml_restemplate_close(&aml, crs);
	AML_IS(&aml, 0x11, 0x10, 0x0a, 0x0d,
	       0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
	       0x22, 0x10, 0x00, 0x79, 0x0e);
	CHECK_EQ(sum8(buf + 4, aml.len - 4), 0);

	aml_init(&aml, buf, sizeof(buf));
	crs = aml_restemplate_open(&aml);
	aml_res_qword_mem(&aml, 0x100000000ULL, 0x1ffffffffULL, true);
	aml_restemplate_close(&aml, crs);
	CHECK_EQ(aml.err, 0);
	/* BufferOp, PkgLength, BufferSize (ByteConst), descriptor, End Tag */
	CHECK_EQ(aml.len, 4 + 46 + 2);
	CHECK_EQ(buf[4], 0x8a);
	CHECK_EQ(rd16(buf + 5), 43);
	CHECK_EQ(buf[7], 0);		/* memory */
	CHECK_EQ(buf[9], 0x07);		/* ReadWrite, Prefetchable */
	CHECK_EQ(rd64(buf + 10 + 8), 0x100000000ULL);
	CHECK_EQ(rd64(buf + 10 + 16), 0x1ffffffffULL);
	CHECK_EQ(rd64(buf + 10 + 32), 0x100000000ULL);
	CHECK_EQ(sum8(buf + 4, aml.len - 4), 0);

	aml_init(&aml, buf, sizeof(buf));
	aml_res_dword_io(&aml, 0x100, 0xff);
	CHECK_EQ(aml.err, -EINVAL);
}

static void test_aml_enospc(void)
{
	u8 buf[64];
	struct aml aml;
	size_t dev;

	memset(buf, 0xee, sizeof(buf));
	aml_init(&aml, buf, 8);
	dev = aml_device_open(&aml, "FOO");
	aml_name_integer(&aml, "_UID", 1);
	aml_close(&aml, dev);
	CHECK_EQ(aml.err, -ENOSPC);
	CHECK(aml.len <= 8);
	CHECK_EQ(buf[8], 0xee);

	/* Sticky: nothing is emitted after the first error. */
	aml_init(&aml, buf, 7);
	aml_string(&aml, "TOOLONG");
	CHECK_EQ(aml.err, -ENOSPC);
	aml_byte(&aml, 0);
	CHECK_EQ(aml.err, -ENOSPC);

	/* The PkgLength insertion itself can be what does not fit. */
	aml_init(&aml, buf, 6);
	dev = aml_device_open(&aml, "FOO");
	aml_close(&aml, dev);
	CHECK_EQ(aml.err, -ENOSPC);
	aml_init(&aml, buf, 7);
	dev = aml_device_open(&aml, "FOO");
	aml_close(&aml, dev);
	AML_IS(&aml, 0x5b, 0x82, 0x05, 'F', 'O', 'O', '_');
}

UNIT_MAIN("test-acpi",
	  UNIT_TEST(test_rsdp),
	  UNIT_TEST(test_xsdt),
	  UNIT_TEST(test_checksums),
	  UNIT_TEST(test_madt_1),
	  UNIT_TEST(test_madt_2),
	  UNIT_TEST(test_madt_64),
	  UNIT_TEST(test_madt_255),
	  UNIT_TEST(test_fadt),
	  UNIT_TEST(test_dsdt_names),
	  UNIT_TEST(test_dsdt_no_pvpanic),
	  UNIT_TEST(test_dsdt_power_button),
	  UNIT_TEST(test_dsdt_crs),
	  UNIT_TEST(test_dsdt_virtio_mmio),
	  UNIT_TEST(test_dsdt_no_mmio_window),
	  UNIT_TEST(test_dsdt_255_cpus),
	  UNIT_TEST(test_build_einval),
	  UNIT_TEST(test_build_enospc),
	  UNIT_TEST(test_aml_pkglength),
	  UNIT_TEST(test_aml_buffer_sizes),
	  UNIT_TEST(test_aml_integer),
	  UNIT_TEST(test_aml_namestring),
	  UNIT_TEST(test_aml_eisaid_string),
	  UNIT_TEST(test_aml_nested),
	  UNIT_TEST(test_aml_deep),
	  UNIT_TEST(test_aml_restemplate),
	  UNIT_TEST(test_aml_enospc))
