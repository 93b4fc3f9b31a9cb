// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART register model.
 *
 * Behaviour follows the National Semiconductor PC16550D datasheet (section
 * 8, "Registers", and table IV, "Interrupt Control Functions"); register and
 * bit names are those of <linux/serial_reg.h>.  What a guest needs from it:
 *
 *  - Linux's 8250 autoconfig must see a 16550A: IER keeps only its four
 *    real bits (bit 6 set would mean XScale), loopback mirrors MCR into MSR,
 *    IIR bits 7:6 follow FCR0 and bit 5 stays 0 (else TI16750), and offset 2
 *    under LCR=0xBF or DLAB is plain IIR/FCR (no EFR, else ST16650).
 *
 *  - Output needs THRE interrupts.  Linux fills THR from its interrupt
 *    handler, and starts that by setting IER.ETBEI with THR already empty:
 *    the 16550 raises THRE on that edge, so we do too.
 *
 * There is no clock.  Transmission completes inside the THR write (or, if
 * the host is out of room, when it calls serial8250_tx_resume()), and the
 * receiver's character timeout (4 character times without FIFO activity)
 * is taken as already expired whenever data sits below the trigger level,
 * which is where a real chip ends up once the line goes quiet.
 */
#include <string.h>
#include <linux/serial_reg.h>

#include "kvm/migrate-stream.h"
#include "term/serial8250.h"

/* IER bits 7:4 do not exist on a 16550A and read as 0. */
#define IER_MASK (UART_IER_MSI | UART_IER_RLSI | UART_IER_THRI | UART_IER_RDI)

/* MCR bits 7:5 do not exist on a 16550A and read as 0. */
#define MCR_MASK                                                  \
	(UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_OUT1 | UART_MCR_RTS | \
	 UART_MCR_DTR)

/* PC16550D IIR6/IIR7: both set while FCR0 has the FIFOs enabled. */
#define IIR_FIFO_ENABLED 0xc0

/* PC16550D IIR3: the character timeout indication, with IIR2 set. */
#define IIR_CHAR_TIMEOUT UART_IIR_RX_TIMEOUT

/* Line status bits that raise the receiver line status interrupt. */
#define LSR_ERR_BITS UART_LSR_BRK_ERROR_BITS

/*
 * The modem inputs outside loopback: a console with its cable plugged in
 * and ready, so a guest that honours CTS or DCD still talks.
 */
#define MSR_INPUTS_CONNECTED (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

/* Reset divisor: left undefined by the datasheet; 12 is 9600 baud. */
#define DIVISOR_RESET 12

static bool fifo_enabled(const struct serial8250 *s)
{
	return s->fcr & UART_FCR_ENABLE_FIFO;
}

static bool loopback(const struct serial8250 *s)
{
	return s->mcr & UART_MCR_LOOP;
}

/* With the FIFOs off the chip is a 16450: one receive holding register. */
static unsigned int rx_capacity(const struct serial8250 *s)
{
	return fifo_enabled(s) ? SERIAL8250_FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct serial8250 *s)
{
	static const unsigned int level[] = { 1, 4, 8, 14 };

	return level[UART_FCR_R_TRIG_BITS(s->fcr)];
}

static unsigned int rx_slot(const struct serial8250 *s, unsigned int i)
{
	return (s->rx_head + i) % SERIAL8250_FIFO_SIZE;
}

/*
 * The error bits of a received byte show in LSR only once it reaches the
 * top of the FIFO, so that LSR.BI is read with the NUL it belongs to.
 */
static void rx_reveal_top(struct serial8250 *s)
{
	if (s->rx_count)
		s->lsr_err |= s->rx_flags[s->rx_head];
}

static void rx_clear(struct serial8250 *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/* One byte arrives from the line (or from THR in loopback). */
static void rx_enqueue(struct serial8250 *s, u8 byte, u8 flags)
{
	unsigned int slot;

	if (s->rx_count == rx_capacity(s)) {
		/*
		 * Overrun.  In FIFO mode the byte is lost; as a 16450 it
		 * overwrites the holding register.
		 */
		s->lsr_err |= UART_LSR_OE;
		if (fifo_enabled(s))
			return;
		s->rx_count = 0;
	}
	slot = rx_slot(s, s->rx_count);
	s->rx_data[slot] = byte;
	s->rx_flags[slot] = flags;
	if (flags)
		s->fifo_err = true;
	if (s->rx_count++ == 0)
		rx_reveal_top(s);
}

static u8 rx_dequeue(struct serial8250 *s)
{
	if (!s->rx_count)
		return s->rbr;
	s->rbr = s->rx_data[s->rx_head];
	s->rx_head = rx_slot(s, 1);
	s->rx_count--;
	rx_reveal_top(s);
	return s->rbr;
}

static bool rx_has_error(const struct serial8250 *s)
{
	for (unsigned int i = 0; i < s->rx_count; i++)
		if (s->rx_flags[rx_slot(s, i)])
			return true;
	return false;
}

/* Interrupt identification, highest priority first (PC16550D table IV). */
static u8 iir_id(const struct serial8250 *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr_err & LSR_ERR_BITS))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count) {
		if (fifo_enabled(s) && s->rx_count < rx_trigger(s))
			return IIR_CHAR_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void irq_update(struct serial8250 *s)
{
	int level = iir_id(s) != UART_IIR_NO_INT;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->set_irq)
		s->set_irq(s->opaque, level);
}

/*
 * What the guest's register access may have changed beyond the register
 * itself: the INTR pin, and room for the host to push input into.
 */
static void effects_apply(struct serial8250 *s, unsigned int old_room)
{
	irq_update(s);
	if (!old_room && serial8250_rx_room(s) && s->rx_wake)
		s->rx_wake(s->opaque);
}

/*
 * The modem inputs: the cable's, or in loopback the MCR outputs wired back
 * (DTR to DSR, RTS to CTS, OUT1 to RI, OUT2 to DCD).
 */
static u8 msr_inputs(const struct serial8250 *s)
{
	u8 in = 0;

	if (!loopback(s))
		return MSR_INPUTS_CONNECTED;
	if (s->mcr & UART_MCR_DTR)
		in |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		in |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		in |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		in |= UART_MSR_DCD;
	return in;
}

/* Latch new modem inputs, accumulating the delta bits until MSR is read. */
static void msr_update(struct serial8250 *s)
{
	u8 old = s->msr, in = msr_inputs(s);
	u8 changed = old ^ in;
	u8 delta = old & UART_MSR_ANY_DELTA;

	if (changed & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	/* TERI flags only the trailing edge: RI going inactive. */
	if ((changed & UART_MSR_RI) && !(in & UART_MSR_RI))
		delta |= UART_MSR_TERI;
	s->msr = in | delta;
}

/* THR holds a byte the host has not taken yet. */
static bool thr_full(const struct serial8250 *s)
{
	return s->tx_stalled && !loopback(s);
}

static u8 lsr_read(struct serial8250 *s)
{
	u8 lsr = s->lsr_err;

	if (!thr_full(s))
		lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	if (s->rx_count)
		lsr |= UART_LSR_DR;
	if (s->fifo_err)
		lsr |= UART_LSR_FIFOE;
	/* Reading LSR clears the error bits; FIFOE stays while errors wait. */
	s->lsr_err = 0;
	s->fifo_err = rx_has_error(s);
	return lsr;
}

static u8 iir_read(struct serial8250 *s)
{
	u8 id = iir_id(s);

	/* Reading IIR acknowledges THRE only when THRE is what it reports. */
	if (id == UART_IIR_THRI)
		s->thri_pending = false;
	return id | (fifo_enabled(s) ? IIR_FIFO_ENABLED : 0);
}

static u8 msr_read(struct serial8250 *s)
{
	u8 msr = s->msr;

	s->msr &= ~UART_MSR_ANY_DELTA;
	return msr;
}

static void thr_write(struct serial8250 *s, u8 val)
{
	if (loopback(s))
		rx_enqueue(s, val, 0);
	else if (s->tx)
		s->tx_stalled = !s->tx(s->opaque, val);
	/*
	 * The byte left at once: THR is empty again, which THRE reports,
	 * unless the host stalled us; then THRE waits for the resume.
	 */
	s->thri_pending = !thr_full(s);
}

static void ier_write(struct serial8250 *s, u8 val)
{
	u8 old = s->ier;

	s->ier = val & IER_MASK;
	/*
	 * Setting ETBEI while THR is empty raises THRE even if IIR already
	 * acknowledged it; Linux's start_tx and its THRE self-test rely on
	 * that.  Clearing ETBEI forgets it.
	 */
	if ((old ^ s->ier) & UART_IER_THRI)
		s->thri_pending = (s->ier & UART_IER_THRI) && !thr_full(s);
}

static void fcr_write(struct serial8250 *s, u8 val)
{
	/* Switching between FIFO and 16450 mode empties the FIFOs. */
	if ((val ^ s->fcr) & UART_FCR_ENABLE_FIFO)
		rx_clear(s);
	/* The other FCR bits are programmed only together with FCR0. */
	if (!(val & UART_FCR_ENABLE_FIFO)) {
		s->fcr = 0;
		return;
	}
	if (val & UART_FCR_CLEAR_RCVR)
		rx_clear(s);
	/*
	 * UART_FCR_CLEAR_XMIT: what the host took stays taken; a stalled
	 * transmitter empties only when the host has room.
	 */
	s->fcr = val & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
}

static void mcr_write(struct serial8250 *s, u8 val)
{
	s->mcr = val & MCR_MASK;
	msr_update(s);
}

void serial8250_reset(struct serial8250 *s)
{
	unsigned int room = serial8250_rx_room(s);

	s->ier = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->scr = 0;
	s->fcr = 0;
	s->divisor = DIVISOR_RESET;
	s->lsr_err = 0;
	s->fifo_err = false;
	s->thri_pending = false;
	s->rbr = 0;
	rx_clear(s);
	/* The inputs are what they are; no change has been seen yet. */
	s->msr = msr_inputs(s);
	effects_apply(s, room);
}

void serial8250_init(struct serial8250 *s, void (*set_irq)(void *, int),
		     bool (*tx)(void *, u8), void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->set_irq = set_irq;
	s->tx = tx;
	s->opaque = opaque;
	serial8250_reset(s);
}

static u8 reg_read(struct serial8250 *s, unsigned int offset)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_RX:
		return dlab ? s->divisor & 0xff : rx_dequeue(s);
	case UART_IER:
		return dlab ? s->divisor >> 8 : s->ier;
	case UART_IIR:
		return iir_read(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return lsr_read(s);
	case UART_MSR:
		return msr_read(s);
	case UART_SCR:
		return s->scr;
	}
	/* Nothing decodes there: an undriven bus reads all ones. */
	return 0xff;
}

static void reg_write(struct serial8250 *s, unsigned int offset, u8 val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_TX:
		if (dlab)
			s->divisor = (s->divisor & 0xff00) | val;
		else
			thr_write(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->divisor = (s->divisor & 0x00ff) | val << 8;
		else
			ier_write(s, val);
		break;
	case UART_FCR:
		fcr_write(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		mcr_write(s, val);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
	/* LSR and MSR are read-only; writes to them are lost, as on a 16550A. */
}

u8 serial8250_read(struct serial8250 *s, unsigned int offset)
{
	unsigned int room = serial8250_rx_room(s);
	u8 val = reg_read(s, offset);

	effects_apply(s, room);
	return val;
}

void serial8250_write(struct serial8250 *s, unsigned int offset, u8 val)
{
	unsigned int room = serial8250_rx_room(s);

	reg_write(s, offset, val);
	effects_apply(s, room);
}

unsigned int serial8250_rx_room(const struct serial8250 *s)
{
	if (loopback(s))
		return 0;
	return rx_capacity(s) - s->rx_count;
}

unsigned int serial8250_rx_push(struct serial8250 *s, const u8 *buf,
				unsigned int len)
{
	unsigned int n = MIN(len, serial8250_rx_room(s));

	for (unsigned int i = 0; i < n; i++)
		rx_enqueue(s, buf[i], 0);
	irq_update(s);
	return n;
}

void serial8250_tx_resume(struct serial8250 *s)
{
	if (!s->tx_stalled)
		return;
	s->tx_stalled = false;
	s->thri_pending = true;
	irq_update(s);
}

void serial8250_break(struct serial8250 *s)
{
	if (loopback(s))
		return;
	rx_enqueue(s, 0, UART_LSR_BI);
	irq_update(s);
}

void serial8250_save(const struct serial8250 *s, struct state_out *o)
{
	unsigned int i;

	state_put_u8(o, s->ier);
	state_put_u8(o, s->lcr);
	state_put_u8(o, s->mcr);
	state_put_u8(o, s->msr);
	state_put_u8(o, s->scr);
	state_put_u8(o, s->fcr);
	state_put_u16(o, s->divisor);
	state_put_u8(o, s->lsr_err);
	state_put_u8(o, s->fifo_err);
	state_put_u8(o, s->thri_pending);
	state_put_u8(o, s->tx_stalled);
	state_put_u8(o, s->rbr);
	state_put_u8(o, s->rx_count);
	for (i = 0; i < s->rx_count; i++) {
		state_put_u8(o, s->rx_data[rx_slot(s, i)]);
		state_put_u8(o, s->rx_flags[rx_slot(s, i)]);
	}
}

int serial8250_load(struct serial8250 *s, struct state_in *in)
{
	unsigned int i, n;
	bool stalled;

	s->ier = state_get_u8(in) & IER_MASK;
	s->lcr = state_get_u8(in);
	s->mcr = state_get_u8(in) & MCR_MASK;
	s->msr = state_get_u8(in);
	s->scr = state_get_u8(in);
	s->fcr = state_get_u8(in) & (UART_FCR_ENABLE_FIFO |
				     UART_FCR_TRIGGER_MASK);
	s->divisor = state_get_u16(in);
	s->lsr_err = state_get_u8(in) & (UART_LSR_OE | LSR_ERR_BITS);
	s->fifo_err = state_get_u8(in) & 1;
	s->thri_pending = state_get_u8(in) & 1;
	stalled = state_get_u8(in) & 1;
	s->rbr = state_get_u8(in);
	n = state_get_u8(in);
	if (!in->err && n > rx_capacity(s))
		return state_fail(in, "UART: %u bytes in a FIFO of %u", n,
				  rx_capacity(s));
	rx_clear(s);
	for (i = 0; i < n && !in->err; i++) {
		s->rx_data[i] = state_get_u8(in);
		s->rx_flags[i] = state_get_u8(in) & LSR_ERR_BITS;
	}
	if (in->err)
		return in->err;
	s->rx_count = n;
	s->tx_stalled = stalled;
	/* Our host has room: what waited at the source goes out now. */
	serial8250_tx_resume(s);
	/*
	 * Say where INTR is, even if low.  The irqchip came from the
	 * source's KVM: an edge-triggered IOAPIC pin keeps its IRR bit while
	 * the line is high there, and with that bit stale a later rising
	 * edge here counts as coalesced, never reaches the guest, and the
	 * line stays high for good (no console input, output held).
	 */
	s->irq_level = iir_id(s) != UART_IIR_NO_INT;
	if (s->set_irq)
		s->set_irq(s->opaque, s->irq_level);
	return 0;
}
