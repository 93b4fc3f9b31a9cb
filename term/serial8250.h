/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A register model of a 16550A UART, the guest's console at COM1.
 *
 * The model is pure: it knows nothing about KVM, file descriptors or
 * threads.  The caller owns one lock and holds it around every call below;
 * the callbacks run inside those calls, under that lock, and must not call
 * back into serial8250_*().
 *
 * Transmission is instantaneous: a byte written to THR goes straight to
 * tx() and THR is empty again at once, so LSR.THRE and LSR.TEMT read as
 * set, unless the host is out of room.  Then tx() returns false and the
 * transmitter reads as full (THRE and TEMT clear, no THRE interrupt) until
 * the host calls serial8250_tx_resume(): flow control, so a guest that
 * waits for THRE, as Linux does, holds its output instead of losing it.
 * The receiver is fed by the host through serial8250_rx_push(),
 * which never overruns: the host asks serial8250_rx_room() first and keeps
 * what does not fit.
 *
 * set_irq() reports the UART's INTR pin, and only when it changes.  On a PC
 * the board gates that pin with MCR.OUT2; we do not, as QEMU and kvmtool do
 * not, because Linux always sets OUT2 when it uses the interrupt and a guest
 * that leaves OUT2 clear has not enabled any interrupt in IER either.
 */
#ifndef LKVM_SERIAL8250_H
#define LKVM_SERIAL8250_H

#include "kvm/types.h"

/* Receive FIFO depth of a 16550A; Linux sizes its reads by this. */
#define SERIAL8250_FIFO_SIZE 16

struct serial8250 {
	u8 ier;
	u8 lcr;
	u8 mcr;
	u8 msr;
	u8 scr;
	u8 fcr;		/* FIFO enable and receive trigger: the bits that stick */
	u16 divisor;	/* DLM:DLL */
	u8 lsr_err;	/* OE, and BI of the byte that reached the FIFO's top */
	bool fifo_err;	/* LSR.FIFOE: an error byte is, or was, in the FIFO */
	bool thri_pending; /* THR became empty and IIR has not said so yet */
	bool tx_stalled; /* the host has no room: THR reads as full */
	u8 rbr;		/* last byte read, returned again when the FIFO is empty */

	/* Receive FIFO: a ring of bytes, each with its LSR error bits. */
	u8 rx_data[SERIAL8250_FIFO_SIZE];
	u8 rx_flags[SERIAL8250_FIFO_SIZE];
	unsigned int rx_head;
	unsigned int rx_count;

	int irq_level;

	void (*set_irq)(void *opaque, int level); /* INTR pin changed */
	/*
	 * A byte the guest sent (not in loopback).  Returns false if the
	 * host has no room for more: the transmitter then stalls.  A host
	 * should keep room for a FIFO's worth after saying false, since a
	 * guest may write that much without looking at LSR.
	 */
	bool (*tx)(void *opaque, u8 byte);
	/*
	 * Optional, set after serial8250_init(): called when
	 * serial8250_rx_room() goes from 0 to non-zero, so a host holding
	 * input back for lack of room knows when to push again.
	 */
	void (*rx_wake)(void *opaque);
	void *opaque;
};

/* Set up @s in its reset state; set_irq and tx may be NULL. */
void serial8250_init(struct serial8250 *s, void (*set_irq)(void *, int),
		     bool (*tx)(void *, u8), void *opaque);

/* Hardware reset (MR pin): registers to reset values, FIFO emptied. */
void serial8250_reset(struct serial8250 *s);

/* Guest access at @offset 0..7 from the base port; others read 0xff. */
u8 serial8250_read(struct serial8250 *s, unsigned int offset);
void serial8250_write(struct serial8250 *s, unsigned int offset, u8 val);

/*
 * Bytes the host may push now: free FIFO space (one byte with the FIFO
 * disabled), or 0 in loopback mode, where the receiver's input is cut off.
 */
unsigned int serial8250_rx_room(const struct serial8250 *s);

/* Receive up to @len bytes from the host; returns how many were taken. */
unsigned int serial8250_rx_push(struct serial8250 *s, const u8 *buf,
				unsigned int len);

/*
 * The host has room again after tx() said false: THR empties, and THRE is
 * raised as for any byte sent.  A no-op when not stalled.
 */
void serial8250_tx_resume(struct serial8250 *s);

/*
 * The host's line went to break (for the guest's magic SysRq): a NUL byte
 * flagged LSR.BI enters the FIFO, as on hardware.  Ignored in loopback.
 */
void serial8250_break(struct serial8250 *s);

/*
 * Migration: the registers and the receive FIFO.  load() checks every
 * value as a guest write would be, and then reports INTR through
 * set_irq(), high or low, whether or not it changed, so the irqchip's
 * view of the line matches the loaded state.  A transmitter the source's
 * host held back is free again here.
 */
struct state_out;
struct state_in;
void serial8250_save(const struct serial8250 *s, struct state_out *o);
int serial8250_load(struct serial8250 *s, struct state_in *in);

#endif
