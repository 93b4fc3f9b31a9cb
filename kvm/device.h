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
/* Migration streams (kvm/migrate-stream.h): each device writes its own state. */
struct state_out;
struct state_in;

/*
 * The steps of a migration at which a device may have to act beyond
 * saving and loading its state (see handover below).
 */
enum dev_handover {
	/*
	 * Source, the guest still running, about to be paused: do now what
	 * the pause would otherwise wait for (a disk flushes what was
	 * written since its last flush).  Its errors come back in the save.
	 */
	DEV_HANDOVER_PREPARE,
	/* Source, all state sent: let go of what the destination takes. */
	DEV_HANDOVER_RELEASE,
	/* Source, the migration failed after RELEASE: take it back. */
	DEV_HANDOVER_RECLAIM,
	/* Destination, all state loaded: take it; failing refuses it all. */
	DEV_HANDOVER_CLAIM,
	/*
	 * Destination, the vCPUs running and the source told: tell the
	 * guest and the world (a NIC announces itself, vsock resets
	 * connections, virtio re-kicks its queues and re-raises its
	 * interrupts).
	 */
	DEV_HANDOVER_RESUMED,
};

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
	 * ---- Migration (kvm/migrate.c) ----
	 *
	 * save() writes the device's state with the state_put_*() helpers of
	 * kvm/migrate-stream.h; load() reads it back with state_get_*() on
	 * the destination, checks every value it cannot take as it is
	 * (state_fail() says why), and applies it.  The stream is not
	 * trusted: a bad value must be refused, never crash or corrupt lkvm.
	 * Both run with every vCPU parked and no device writing guest
	 * memory (the I/O thread waits at the gate of kvm/mem.h), in the
	 * VM's device order, after RAM, the vCPUs and the irqchip: an
	 * interrupt raised by load() is delivered.  A device without save
	 * and load cannot be migrated, and migration says so by its name.
	 *
	 * describe() is the device's identity for the stream's header: its
	 * type and options as "key=value ..." ("size=64MiB ro=no path=..."),
	 * compared key by key on the destination, which refuses a migration
	 * whose devices differ ("vda: size=64MiB here, size=32MiB at the
	 * source").  A key named path is shown but not compared: shared
	 * storage may be mounted elsewhere.
	 *
	 * handover() is for what is neither state nor identity (enum
	 * dev_handover): disk locks, announcing the guest.  Optional.
	 *
	 * A new device needs a few lines: a NIC saves nothing beyond its
	 * config and sends VIRTIO_NET_F_GUEST_ANNOUNCE at RESUMED; vsock
	 * drops its host connections at RESUMED and queues a
	 * TRANSPORT_RESET event.  virtio devices have the same three hooks
	 * in struct virtio_dev_type; the virtio core and the transport save
	 * the rest (status, features, rings, MSI-X).
	 */
	void (*describe)(struct vm_device *dev, char *buf, size_t len);
	int (*save)(struct vm_device *dev, struct state_out *out);
	int (*load)(struct vm_device *dev, struct state_in *in);
	int (*handover)(struct vm_device *dev, enum dev_handover step);
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
