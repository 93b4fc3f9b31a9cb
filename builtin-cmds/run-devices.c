// SPDX-License-Identifier: GPL-2.0
/*
 * The device table of `lkvm run`: one line per kind of device.
 *
 * A kind of device is a struct dev_module (kvm/device.h), defined in the
 * device's own files: its options with their usage text, a parser that
 * keeps what it parsed, and a constructor.  `lkvm help run` lists the
 * options from here, run.c parses them with the module's parser, and
 * after the platform's own devices (the buses) each module's constructor
 * runs once, in this order, which is also the order on the PCI bus.
 *
 * Adding a device, with virtio-blk as the example:
 *   1. the device itself, which never sees the VM: virtio/blk.c;
 *   2. its module: virtio/blk-module.c parses `-d FILE[,ro]` and, for
 *      each disk, opens the image and calls virtio_transport_add(), which
 *      puts it on the platform's transport and in the VM's device list;
 *   3. one line below: `&blk_module,` (and its extern).
 * Its unit test goes in tests/unit/ and its real-Linux test in
 * tests/e2e/.  Nothing in kvm/, the arch folders or run.c changes.
 */
#include "builtin-cmds/run.h"
#include "kvm/types.h"

extern const struct dev_module console_module;	/* term/console.c */
extern const struct dev_module blk_module;	/* virtio/blk-module.c */
extern const struct dev_module net_module;	/* virtio/net-module.c */
extern const struct dev_module vsock_module;	/* virtio/vsock-module.c */

const struct dev_module *const run_devices[] = {
	&console_module,
	&blk_module,
	&net_module,
	&vsock_module,
};

const unsigned int run_nr_devices = ARRAY_SIZE(run_devices);
