// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables for x86 guests (ACPI 6.5 §5.2 "ACPI System Description
 * Tables").  The layout of the region the caller gives us:
 *
 *   RSDP -> XSDT -> FADT -> DSDT (AML: \_S5, \_SB.PCI0, \_SB.COM1, ...)
 *                -> MADT (local APICs, the IOAPIC, ISA overrides)
 *
 * Every table is written through a packed struct that mirrors the spec's
 * table, with its size checked at compile time against the spec's length.
 * All multi-byte fields are little-endian, as are both hosts lkvm runs on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "x86/acpi.h"
#include "x86/aml.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ACPI tables are little-endian; this file stores fields natively"
#endif

#define ACPI_OEM_ID		"LKVM  "
#define ACPI_OEM_TABLE_PREFIX	"LKVM"
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"LKVM"
#define ACPI_CREATOR_REVISION	1

/* Every table starts 16-byte aligned; the RSDP must (§5.2.5.1). */
#define ACPI_TABLE_ALIGN	16

/* §5.2.5.3 Root System Description Pointer (RSDP) Structure */
struct acpi_rsdp {
	char signature[8];	/* "RSD PTR " */
	u8 checksum;		/* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	u8 revision;		/* 2: ACPI 2.0+ with an XSDT */
	u32 rsdt_address;
	u32 length;
	u64 xsdt_address;
	u8 extended_checksum;	/* over the whole structure */
	u8 reserved[3];
} __packed;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

#define ACPI_RSDP_V1_LENGTH	20

/* §5.2.6 System Description Table Header */
struct acpi_table_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char creator_id[4];
	u32 creator_revision;
} __packed;
_Static_assert(sizeof(struct acpi_table_header) == 36, "header is 36 bytes");

/* §5.2.8 Extended System Description Table (XSDT) */
#define XSDT_REVISION		1
#define XSDT_MAX_ENTRIES	2	/* FADT, MADT */

struct acpi_xsdt {
	struct acpi_table_header hdr;
	u64 entry[];
} __packed;

/* §5.2.3.2 Generic Address Structure (GAS) */
struct acpi_gas {
	u8 space_id;
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} __packed;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_GAS_SPACE_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE		1

/* §5.2.9 Fixed ACPI Description Table (FADT), ACPI 6.5 layout */
#define FADT_REVISION		6
#define FADT_MINOR_REVISION	5

struct acpi_fadt {
	struct acpi_table_header hdr;
	u32 firmware_ctrl;
	u32 dsdt;
	u8 reserved0;
	u8 preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable;
	u8 acpi_disable;
	u8 s4bios_req;
	u8 pstate_cnt;
	u32 pm1a_evt_blk;
	u32 pm1b_evt_blk;
	u32 pm1a_cnt_blk;
	u32 pm1b_cnt_blk;
	u32 pm2_cnt_blk;
	u32 pm_tmr_blk;
	u32 gpe0_blk;
	u32 gpe1_blk;
	u8 pm1_evt_len;
	u8 pm1_cnt_len;
	u8 pm2_cnt_len;
	u8 pm_tmr_len;
	u8 gpe0_blk_len;
	u8 gpe1_blk_len;
	u8 gpe1_base;
	u8 cst_cnt;
	u16 p_lvl2_lat;
	u16 p_lvl3_lat;
	u16 flush_size;
	u16 flush_stride;
	u8 duty_offset;
	u8 duty_width;
	u8 day_alrm;
	u8 mon_alrm;
	u8 century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	u64 hypervisor_vendor_id;
} __packed;
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT is 276 bytes");

/*
 * §5.2.9.3 IA-PC Boot Architecture Flags.  Cleared on purpose: LEGACY_DEVICES
 * (no ISA devices beyond what the DSDT lists), 8042 (so Linux does not probe
 * a keyboard controller), MSI_NOT_SUPPORTED (guests use MSI-X).
 */
#define FADT_BOOT_VGA_NOT_PRESENT	(1 << 2)
#define FADT_BOOT_PCIE_ASPM_CONTROLS	(1 << 4)
#define FADT_BOOT_CMOS_RTC_NOT_PRESENT	(1 << 5)	/* kvmclock has the time */

/* §5.2.9 Table "Fixed ACPI Description Table Fixed Feature Flags" */
#define FADT_F_WBINVD		(1 << 0)
#define FADT_F_PWR_BUTTON	(1 << 4)	/* set: no fixed power button */
#define FADT_F_SLP_BUTTON	(1 << 5)	/* set: no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1 << 10)
#define FADT_F_HW_REDUCED_ACPI	(1 << 20)

/*
 * The SCI is unused on a hardware-reduced platform, but Linux still treats
 * a MADT override whose source is FADT.SCI_INT as the SCI's: leaving it 0
 * would turn the IRQ0 override into a level, active-low one.  Use the
 * conventional IRQ 9, which has an override matching what Linux expects.
 */
#define FADT_SCI_IRQ		9

/* §5.2.12 Multiple APIC Description Table (MADT) */
#define MADT_REVISION		5
#define MADT_PCAT_COMPAT	(1 << 0)
#define MADT_MAX_CPUS		255	/* xAPIC IDs; 0xff is broadcast */

struct acpi_madt {
	struct acpi_table_header hdr;
	u32 lapic_addr;
	u32 flags;
} __packed;

/* §5.2.12.2 Processor Local APIC Structure */
#define MADT_TYPE_LAPIC		0
#define MADT_LAPIC_ENABLED	(1 << 0)

struct acpi_madt_lapic {
	u8 type;
	u8 length;
	u8 processor_uid;
	u8 apic_id;
	u32 flags;
} __packed;
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");

/* §5.2.12.3 I/O APIC Structure */
#define MADT_TYPE_IOAPIC	1

struct acpi_madt_ioapic {
	u8 type;
	u8 length;
	u8 ioapic_id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} __packed;
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");

/* §5.2.12.5 Interrupt Source Override Structure, MPS INTI flags */
#define MADT_TYPE_INT_SRC_OVR	2
#define MADT_ISA_BUS		0
#define MADT_INTI_CONFORMS	0
#define MADT_INTI_ACTIVE_HIGH	(1 << 0)
#define MADT_INTI_LEVEL		(3 << 2)

struct acpi_madt_int_src_ovr {
	u8 type;
	u8 length;
	u8 bus;
	u8 source;
	u32 gsi;
	u16 flags;
} __packed;
_Static_assert(sizeof(struct acpi_madt_int_src_ovr) == 10, "MADT ISO");

/*
 * ISA IRQ0 (the PIT) is wired to IOAPIC pin 2 by KVM's in-kernel IOAPIC, as
 * on real chipsets; IRQ 9 is the conventional SCI, level and active high.
 */
static const struct {
	u8 source;
	u32 gsi;
	u16 flags;
} madt_overrides[] = {
	{ 0, 2, MADT_INTI_CONFORMS },
	{ FADT_SCI_IRQ, FADT_SCI_IRQ, MADT_INTI_LEVEL | MADT_INTI_ACTIVE_HIGH },
};

/* §5.2.11.1 Differentiated System Description Table (DSDT) */
#define DSDT_REVISION		2	/* 2+: AML integers are 64 bits */

/* A bump allocator over the caller's region. */
struct acpi_builder {
	u8 *hva;
	u64 gpa;
	size_t size;
	size_t used;
};

static void *acpi_alloc(struct acpi_builder *b, size_t len, u64 *gpa)
{
	size_t off = ALIGN_UP(b->used, (size_t)ACPI_TABLE_ALIGN);

	if (off > b->size || len > b->size - off)
		return NULL;
	b->used = off + len;
	*gpa = b->gpa + off;
	return b->hva + off;
}

/* The byte that makes the sum of [p, p + len) zero. */
static u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

/* Fill in a header whose table is len bytes long, then checksum it. */
static void acpi_header_finish(struct acpi_table_header *hdr, const char *sig,
			       u8 revision, u32 len)
{
	memcpy(hdr->signature, sig, 4);
	hdr->length = len;
	hdr->revision = revision;
	hdr->checksum = 0;
	memcpy(hdr->oem_id, ACPI_OEM_ID, 6);
	memcpy(hdr->oem_table_id, ACPI_OEM_TABLE_PREFIX, 4);
	memcpy(hdr->oem_table_id + 4, sig, 4);
	hdr->oem_revision = ACPI_OEM_REVISION;
	memcpy(hdr->creator_id, ACPI_CREATOR_ID, 4);
	hdr->creator_revision = ACPI_CREATOR_REVISION;
	hdr->checksum = acpi_checksum(hdr, len);
}

static int madt_build(struct acpi_builder *b, const struct acpi_config *cfg,
		      u64 *gpa)
{
	size_t len = sizeof(struct acpi_madt) +
		     cfg->nr_cpus * sizeof(struct acpi_madt_lapic) +
		     sizeof(struct acpi_madt_ioapic) +
		     ARRAY_SIZE(madt_overrides) *
			     sizeof(struct acpi_madt_int_src_ovr);
	struct acpi_madt_int_src_ovr *iso;
	struct acpi_madt_ioapic *ioapic;
	struct acpi_madt_lapic *lapic;
	struct acpi_madt *madt;

	madt = acpi_alloc(b, len, gpa);
	if (!madt)
		return -ENOSPC;
	madt->lapic_addr = cfg->lapic_addr;
	/* Dual 8259s exist too (KVM's in-kernel PIC); the OS masks them. */
	madt->flags = MADT_PCAT_COMPAT;

	lapic = (struct acpi_madt_lapic *)(madt + 1);
	for (unsigned int i = 0; i < cfg->nr_cpus; i++, lapic++) {
		lapic->type = MADT_TYPE_LAPIC;
		lapic->length = sizeof(*lapic);
		lapic->processor_uid = i;
		lapic->apic_id = i;
		lapic->flags = MADT_LAPIC_ENABLED;
	}

	ioapic = (struct acpi_madt_ioapic *)lapic;
	ioapic->type = MADT_TYPE_IOAPIC;
	ioapic->length = sizeof(*ioapic);
	ioapic->ioapic_id = cfg->ioapic_id;
	ioapic->address = cfg->ioapic_addr;
	ioapic->gsi_base = 0;

	iso = (struct acpi_madt_int_src_ovr *)(ioapic + 1);
	for (size_t i = 0; i < ARRAY_SIZE(madt_overrides); i++, iso++) {
		iso->type = MADT_TYPE_INT_SRC_OVR;
		iso->length = sizeof(*iso);
		iso->bus = MADT_ISA_BUS;
		iso->source = madt_overrides[i].source;
		iso->gsi = madt_overrides[i].gsi;
		iso->flags = madt_overrides[i].flags;
	}

	acpi_header_finish(&madt->hdr, "APIC", MADT_REVISION, len);
	return 0;
}

/*
 * The PCI host bridge: bus 0 only, the conf1 ports it consumes, and, as
 * producer address descriptors, the I/O and 32-bit memory windows it
 * forwards (ACPI 6.5 §6.2 _CRS, §6.4.3.5).  No _PRT: devices use MSI-X.
 */
static void dsdt_pci0(struct aml *aml, const struct acpi_config *cfg)
{
	size_t dev, crs;

	dev = aml_device_open(aml, "PCI0");
	aml_name_eisaid(aml, "_HID", "PNP0A03");
	aml_name_integer(aml, "_UID", 0);
	aml_name_integer(aml, "_SEG", 0);
	aml_name_integer(aml, "_BBN", 0);
	aml_name(aml, "_CRS");
	crs = aml_restemplate_open(aml);
	aml_res_word_bus(aml, 0, 0);
	aml_res_io(aml, 0xcf8, 0xcf8, 1, 8);
	aml_res_dword_io(aml, 0x0000, 0x0cf7);
	aml_res_dword_io(aml, 0x0d00, 0xffff);
	if (cfg->pci_mmio_size)
		aml_res_dword_mem(aml, cfg->pci_mmio_base,
				  cfg->pci_mmio_base + cfg->pci_mmio_size - 1,
				  false);
	aml_restemplate_close(aml, crs);
	aml_close(aml, dev);
}

/* The 16550 at the PC's COM1 address, so Linux's 8250_pnp claims it. */
static void dsdt_com1(struct aml *aml)
{
	size_t dev, crs;

	dev = aml_device_open(aml, "COM1");
	aml_name_eisaid(aml, "_HID", "PNP0501");
	aml_name_integer(aml, "_UID", 1);
	aml_name(aml, "_CRS");
	crs = aml_restemplate_open(aml);
	aml_res_io(aml, ACPI_COM1_PORT, ACPI_COM1_PORT, 1, 8);
	aml_res_irq_noflags(aml, 1 << ACPI_COM1_IRQ);
	aml_restemplate_close(aml, crs);
	aml_close(aml, dev);
}

/* QEMU's pvpanic device, matched by Linux's pvpanic driver on "QEMU0001". */
static void dsdt_pvpanic(struct aml *aml, u16 port)
{
	size_t dev, crs;

	dev = aml_device_open(aml, "PEVT");
	aml_name_string(aml, "_HID", "QEMU0001");
	aml_name(aml, "_CRS");
	crs = aml_restemplate_open(aml);
	aml_res_io(aml, port, port, 1, 1);
	aml_restemplate_close(aml, crs);
	/* Present, enabled, shown in UI, functioning (§6.3.7 _STA) */
	aml_name_integer(aml, "_STA", 0x0f);
	aml_close(aml, dev);
}

/*
 * virtio-mmio device @i, as Linux's virtio_mmio driver matches it by ACPI
 * (and QEMU's microvm describes it):
 *
 *   Device (VR00) {
 *     Name (_HID, "LNRO0005") Name (_UID, 0) Name (_CCA, 1)
 *     Name (_CRS, ResourceTemplate () {
 *       Memory32Fixed (ReadWrite, base, stride)
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { GSI } })
 *   }
 *
 * _CCA: the device's DMA is cache-coherent (ACPI 6.5 §6.2.17).
 */
static void dsdt_virtio_mmio(struct aml *aml, const struct acpi_config *cfg,
			     unsigned int i)
{
	char name[5];
	size_t dev, crs;

	snprintf(name, sizeof(name), "VR%02u", i % 100);
	dev = aml_device_open(aml, name);
	aml_name_string(aml, "_HID", "LNRO0005");
	aml_name_integer(aml, "_UID", i);
	aml_name_integer(aml, "_CCA", 1);
	aml_name(aml, "_CRS");
	crs = aml_restemplate_open(aml);
	aml_res_mem32_fixed(aml, cfg->virtio_mmio_base + i * cfg->virtio_mmio_stride,
			    cfg->virtio_mmio_stride);
	aml_res_ext_irq(aml, cfg->virtio_mmio_gsi[i], true, false);
	aml_restemplate_close(aml, crs);
	aml_close(aml, dev);
}

/*
 * The power button and its event: hardware-reduced ACPI has no GPE
 * block, so the GED (ACPI 6.5 §5.6.9) is how an interrupt becomes an
 * event.  Its one event is the button's, so _EVT need not ask which.
 *
 *   Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, 0) }
 *   Device (GED0) {
 *     Name (_HID, "ACPI0013") Name (_UID, 0)
 *     Name (_CRS, ResourceTemplate () {
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { GSI } })
 *     Method (_EVT, 1) { Notify (\_SB.PWRB, 0x80) }
 *   }
 */
static void dsdt_power_button(struct aml *aml, u32 gsi)
{
	size_t dev, crs, m;

	dev = aml_device_open(aml, "PWRB");
	aml_name_eisaid(aml, "_HID", "PNP0C0C");
	aml_name_integer(aml, "_UID", 0);
	aml_close(aml, dev);

	dev = aml_device_open(aml, "GED0");
	aml_name_string(aml, "_HID", "ACPI0013");
	aml_name_integer(aml, "_UID", 0);
	aml_name(aml, "_CRS");
	crs = aml_restemplate_open(aml);
	aml_res_ext_irq(aml, gsi, true, false);
	aml_restemplate_close(aml, crs);
	m = aml_method_open(aml, "_EVT", 1, false);
	aml_notify(aml, "\\_SB.PWRB", 0x80);
	aml_close(aml, m);
	aml_close(aml, dev);
}

/*
 * \_S5 (§7.4.2 \_Sx): the package's first two values are SLP_TYPa and
 * SLP_TYPb, which OSPM writes to SLEEP_CONTROL_REG to power off.
 */
static void dsdt_s5(struct aml *aml)
{
	size_t pkg;

	aml_name(aml, "\\_S5");
	pkg = aml_package_open(aml, 4);
	aml_integer(aml, ACPI_S5_SLP_TYP);
	aml_integer(aml, ACPI_S5_SLP_TYP);
	aml_integer(aml, 0);
	aml_integer(aml, 0);
	aml_close(aml, pkg);
}

static int dsdt_build(struct acpi_builder *b, const struct acpi_config *cfg,
		      u64 *gpa)
{
	struct acpi_table_header *hdr;
	size_t off = ALIGN_UP(b->used, (size_t)ACPI_TABLE_ALIGN);
	size_t body = off + sizeof(*hdr);
	struct aml aml;
	unsigned int i;
	size_t sb;

	if (body > b->size)
		return -ENOSPC;
	aml_init(&aml, b->hva + body, b->size - body);

	dsdt_s5(&aml);
	sb = aml_scope_open(&aml, "\\_SB");
	if (!cfg->no_pci)
		dsdt_pci0(&aml, cfg);
	dsdt_com1(&aml);
	if (cfg->pvpanic_port)
		dsdt_pvpanic(&aml, cfg->pvpanic_port);
	if (cfg->ged_gsi)
		dsdt_power_button(&aml, cfg->ged_gsi);
	for (i = 0; i < cfg->nr_virtio_mmio; i++)
		dsdt_virtio_mmio(&aml, cfg, i);
	aml_close(&aml, sb);
	if (aml.err)
		return aml.err;

	hdr = acpi_alloc(b, sizeof(*hdr) + aml.len, gpa);
	if (!hdr)
		return -ENOSPC;
	acpi_header_finish(hdr, "DSDT", DSDT_REVISION, sizeof(*hdr) + aml.len);
	return 0;
}

static void gas_io8(struct acpi_gas *gas, u16 port)
{
	gas->space_id = ACPI_GAS_SPACE_SYSTEM_IO;
	gas->bit_width = 8;
	gas->bit_offset = 0;
	gas->access_size = ACPI_GAS_ACCESS_BYTE;
	gas->address = port;
}

/*
 * A hardware-reduced FADT (§5.2.9, §4.1): every PM1/PM2/GPE/timer block
 * stays zero; power-off goes through the sleep registers and reboot
 * through the reset register.  No FACS: it is optional when hardware
 * reduced, and there is no firmware waking vector to hold.
 */
static int fadt_build(struct acpi_builder *b, u64 dsdt_gpa, u64 *gpa)
{
	struct acpi_fadt *fadt;

	fadt = acpi_alloc(b, sizeof(*fadt), gpa);
	if (!fadt)
		return -ENOSPC;
	/* The 32-bit field is for pre-ACPI 2.0 readers, when it reaches. */
	if (dsdt_gpa <= 0xffffffff)
		fadt->dsdt = dsdt_gpa;
	fadt->x_dsdt = dsdt_gpa;
	fadt->sci_int = FADT_SCI_IRQ;
	fadt->iapc_boot_arch = FADT_BOOT_VGA_NOT_PRESENT |
			       FADT_BOOT_PCIE_ASPM_CONTROLS |
			       FADT_BOOT_CMOS_RTC_NOT_PRESENT;
	fadt->flags = FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		      FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED_ACPI;
	gas_io8(&fadt->reset_reg, ACPI_RESET_PORT);
	fadt->reset_value = ACPI_RESET_VALUE;
	fadt->minor_version = FADT_MINOR_REVISION;
	gas_io8(&fadt->sleep_control_reg, ACPI_SLEEP_CTL_PORT);
	gas_io8(&fadt->sleep_status_reg, ACPI_SLEEP_STS_PORT);
	acpi_header_finish(&fadt->hdr, "FACP", FADT_REVISION, sizeof(*fadt));
	return 0;
}

static int xsdt_build(struct acpi_builder *b, const u64 *tables,
		      unsigned int nr, u64 *gpa)
{
	size_t len = sizeof(struct acpi_xsdt) + nr * sizeof(u64);
	struct acpi_xsdt *xsdt;

	xsdt = acpi_alloc(b, len, gpa);
	if (!xsdt)
		return -ENOSPC;
	for (unsigned int i = 0; i < nr; i++)
		xsdt->entry[i] = tables[i];
	acpi_header_finish(&xsdt->hdr, "XSDT", XSDT_REVISION, len);
	return 0;
}

/* No RSDT: every reader of a revision 2 RSDP takes the XSDT. */
static void rsdp_finish(struct acpi_rsdp *rsdp, u64 xsdt_gpa)
{
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt_address = 0;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = 0;
	rsdp->extended_checksum = 0;
	rsdp->checksum = acpi_checksum(rsdp, ACPI_RSDP_V1_LENGTH);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));
}

static int acpi_config_check(u64 gpa, u64 size, const struct acpi_config *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > MADT_MAX_CPUS)
		return -EINVAL;
	if (gpa % ACPI_TABLE_ALIGN || size > SZ_4G || gpa > SZ_4G - size)
		return -EINVAL;
	if (cfg->lapic_addr > 0xffffffff || cfg->ioapic_addr > 0xffffffff)
		return -EINVAL;
	if (cfg->pci_mmio_size && (cfg->pci_mmio_base > SZ_4G ||
				   cfg->pci_mmio_size > SZ_4G -
							cfg->pci_mmio_base))
		return -EINVAL;
	if (cfg->nr_virtio_mmio &&
	    (cfg->nr_virtio_mmio > 100 || !cfg->virtio_mmio_stride ||
	     cfg->virtio_mmio_stride > SZ_4G ||
	     cfg->virtio_mmio_base > SZ_4G - cfg->nr_virtio_mmio *
						     cfg->virtio_mmio_stride))
		return -EINVAL;
	return 0;
}

int acpi_build(void *hva, u64 gpa, u64 size, const struct acpi_config *cfg,
	       u64 *rsdp_gpa)
{
	struct acpi_builder b = { .hva = hva, .gpa = gpa, .size = size };
	u64 tables[XSDT_MAX_ENTRIES], dsdt_gpa, xsdt_gpa, gpa_rsdp;
	struct acpi_rsdp *rsdp;
	int r;

	r = acpi_config_check(gpa, size, cfg);
	if (r)
		return r;
	memset(hva, 0, size);

	/* First, so that it sits where the legacy scan starts. */
	rsdp = acpi_alloc(&b, sizeof(*rsdp), &gpa_rsdp);
	if (!rsdp)
		return -ENOSPC;
	r = madt_build(&b, cfg, &tables[1]);
	if (r)
		return r;
	r = dsdt_build(&b, cfg, &dsdt_gpa);
	if (r)
		return r;
	r = fadt_build(&b, dsdt_gpa, &tables[0]);
	if (r)
		return r;
	r = xsdt_build(&b, tables, ARRAY_SIZE(tables), &xsdt_gpa);
	if (r)
		return r;
	rsdp_finish(rsdp, xsdt_gpa);
	*rsdp_gpa = gpa_rsdp;
	return 0;
}
