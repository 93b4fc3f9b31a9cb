/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device model, as the VM sees it.
 *
 * A VM holds a list of devices and knows nothing else about them: not
 * their type, their bus or their options.  Two structures meet here:
 *
 *   - struct vm_device is one device in one VM: the serial console, the
 *     power ports, the PCI bus, a virtio disk.  Whoever creates it fills
 *     in its ops and calls vm_add_device(); from then on the VM owns it.
 *     vm_start() starts devices in the order they were added, vm_stop()
 *     stops them in reverse, and vm_destroy() destroys them in reverse.
 *
 *   - struct dev_module is one *kind* of device as the command line sees
 *     it: its `lkvm run` options, their usage text, a parser and a
 *     constructor.  The table of modules lives outside kvm/, in
 *     builtin-cmds/run-devices.c, which explains how to add one.
 *
 * This follows Solo5's hvt modules (a module owns its flags and its
 * setup), as an explicit table rather than a linker section.
 */
#ifndef LKVM_DEVICE_H
#define LKVM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vm;
struct vm_device;
/* Migration streams (kvm/migrate, later): each device writes its own state. */
struct state_out;
struct state_in;

struct vm_device_ops {
	/*
	 * The VM is about to run: vCPUs exist, none runs yet, the I/O thread
	 * has not started (ioloop_add() is allowed).  Main thread.
	 */
	int (*start)(struct vm_device *dev);
	/*
	 * The VM has ended: every vCPU has left and the I/O thread has
	 * stopped.  Flush what the guest wrote, give back the terminal, stop
	 * helper processes.  Main thread; only for a started device.
	 */
	void (*stop)(struct vm_device *dev);
	/* Free everything.  Also for a device that never started. */
	void (*destroy)(struct vm_device *dev);
	/* --stats: a few lines about the device, each starting "  ". */
	void (*stats)(struct vm_device *dev, FILE *f);
	/*
	 * Migration (its own issue): write or read the device's state, with
	 * every vCPU parked and the I/O thread quiet.  A device without them
	 * cannot be migrated, and migration says so.
	 */
	int (*save)(struct vm_device *dev, struct state_out *out);
	int (*load)(struct vm_device *dev, struct state_in *in);
};

struct vm_device {
	const struct vm_device_ops *ops;
	const char *name;	/* "ttyS0", "vda", "pci": for messages */
	void *priv;		/* the device's own state */
	struct vm *vm;		/* set by vm_add_device() */
	bool started;
};

/*
 * Hand @dev to the VM, which destroys it in vm_destroy().  On failure
 * (-ENOMEM) the caller still owns it.
 */
int vm_add_device(struct vm *vm, struct vm_device *dev);

/* ---- the command line's view: a kind of device and its options ---- */

struct dev_option {
	const char *name;	/* long option, without "--" */
	int short_name;		/* its letter, or 0 */
	const char *arg;	/* the value's name in usage; NULL: a flag */
	const char *help;	/* one line for `lkvm help run` */
};

#define DEV_ERR_MAX 256

struct dev_module {
	const char *name;
	const struct dev_option *options; /* ends with { NULL } */
	/*
	 * One use of options[idx], with its value (NULL for a flag).  The
	 * module keeps what it parsed in *state, which starts NULL.  Returns
	 * 0, or -EINVAL with a one-line reason in err[DEV_ERR_MAX].
	 */
	int (*parse)(void **state, unsigned int idx, const char *arg,
		     char *err);
	/*
	 * Create the devices, once per VM, after the platform's own devices
	 * (the buses).  state is NULL if no option of the module was given:
	 * the module then creates its defaults (a console) or nothing.
	 * Reports its own errors in one line; returns 0 or -errno.
	 */
	int (*create)(struct vm *vm, void *state);
	/* Free what parse() kept; state may be NULL. */
	void (*free_state)(void *state);
};

#endif
