// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <misc/pvpanic.h>

#include "kvm/control.h"
#include "kvm/irq.h"
#include "kvm/log.h"
#include "kvm/vm-control.h"
#include "kvm/vm.h"
#include "x86/power.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_CMD_RESET 0xfe

struct power {
	struct vm_device dev;
	struct vm *vm;
	struct io_range sleep, i8042, pvpanic;
};

static void sleep_access(struct io_range *r, u64 offset, void *data,
			 unsigned int len, bool is_write)
{
	struct power *p = r->opaque;
	u8 v = *(u8 *)data;

	if (!is_write) {
		/* Sleep status: WAK_STS never set; we never wake from S5. */
		memset(data, 0, len);
		return;
	}
	if (offset == 0 && (v & ACPI_SLEEP_EN) &&
	    ((v & ACPI_SLEEP_TYP_MASK) >> ACPI_SLEEP_TYP_SHIFT) == ACPI_S5_SLP_TYP)
		vm_set_fate(p->vm, VM_FATE_POWEROFF, "guest powered off");
}

/*
 * 0xcf9: Linux's reboot=pci writes SYS_RST (0x02) first and SYS_RST |
 * RST_CPU (0x06) after it; the latter resets.  The first announces the
 * reset, so a triple fault right after it is a reboot, not a crash.
 */
void power_reset_write(struct vm *vm, u8 val)
{
	if (val & ACPI_RESET_CPU)
		vm_set_fate(vm, VM_FATE_REBOOT, "guest rebooted");
	else if (val)
		vm_note_reboot(vm);
}

/*
 * Just enough of an i8042 for reboot=kbd: the status register reads 0
 * (input buffer empty, so the guest may send a command), and command 0xfe
 * pulses the CPU reset line.  The FADT says there is no 8042, so Linux does
 * not probe for a keyboard.
 */
static void i8042_access(struct io_range *r, u64 offset, void *data,
			 unsigned int len, bool is_write)
{
	struct power *p = r->opaque;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (r->base + offset == I8042_CMD_PORT && *(u8 *)data == I8042_CMD_RESET)
		vm_set_fate(p->vm, VM_FATE_REBOOT, "guest rebooted (i8042 reset)");
}

static void pvpanic_access(struct io_range *r, u64 offset, void *data,
			   unsigned int len, bool is_write)
{
	struct power *p = r->opaque;
	u8 v = *(u8 *)data;

	if (!is_write) {
		/* Which events this device understands. */
		memset(data, 0, len);
		*(u8 *)data = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return;
	}
	if (v & PVPANIC_PANICKED)
		vm_set_fate(p->vm, VM_FATE_PANIC,
			    "guest kernel panicked (pvpanic)");
}

/*
 * `lkvm stop --graceful` without a guest agent: press the power button.
 * An edge on the GED's interrupt (x86/acpi.h); Linux's button driver
 * reports KEY_POWER, and the guest's userspace (systemd-logind, acpid)
 * decides to power off.  From the control thread.
 */
static int power_button(void *opaque, const struct control_req *q,
			struct control_reply *r)
{
	struct power *p = opaque;
	int ret = irq_line(p->vm, ACPI_GED_GSI, 1);

	if (!ret)
		ret = irq_line(p->vm, ACPI_GED_GSI, 0);
	if (!ret)
		control_reply_printf(r, "pressed the ACPI power button");
	return ret;
}

/* The VM is going away: the ranges go with its buses. */
static void power_destroy(struct vm_device *dev)
{
	free(dev->priv);
}

/*
 * Nothing to move: the ports keep no state (what the guest announced,
 * a panic or a reboot, is the machine's, kvm/migrate-state.c).
 */
static int power_save(struct vm_device *dev, struct state_out *out)
{
	return 0;
}

static int power_load(struct vm_device *dev, struct state_in *in)
{
	return 0;
}

static const struct vm_device_ops power_ops = {
	.destroy = power_destroy,
	.save = power_save,
	.load = power_load,
};

int power_init(struct vm *vm)
{
	struct power *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	p->dev = (struct vm_device){ .ops = &power_ops, .name = "power",
				     .priv = p };
	p->sleep = (struct io_range){ ACPI_SLEEP_CTL_PORT, 2, sleep_access, p };
	p->i8042 = (struct io_range){ I8042_DATA_PORT, 5, i8042_access, p };
	p->pvpanic = (struct io_range){ PVPANIC_PORT, 1, pvpanic_access, p };

	r = vm_add_device(vm, &p->dev);
	if (r) {
		free(p);
		return r;
	}
	/* From here the VM owns p: it frees it even if a range is refused. */
	r = vm_register_pio(vm, &p->sleep);
	if (!r)
		r = vm_register_pio(vm, &p->i8042);
	if (!r)
		r = vm_register_pio(vm, &p->pvpanic);
	if (!r)
		r = vm_control_register(vm, CONTROL_CMD_POWER_BUTTON,
					power_button, p);
	return r;
}
