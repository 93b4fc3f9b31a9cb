// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A model against the datasheet's reset values and interrupt
 * rules, and against the register sequences Linux's 8250 driver uses to
 * detect the chip (autoconfig, the THRE self-test) and to drive it.
 */
#include <linux/serial_reg.h>

#include "kvm/migrate-stream.h"
#include "kvm/types.h"
#include "term/serial8250.h"
#include "tests/unit/unit.h"

/* IIR bits 7:6, both set while the FIFOs are enabled (PC16550D). */
#define IIR_FIFO 0xc0

/* What the callbacks saw. */
struct host {
	int level;
	int irq_calls;
	u8 out[64];
	unsigned int nr_out;
	int wakes;
	unsigned int room; /* bytes the host takes before tx() says full */
};

static void host_set_irq(void *opaque, int level)
{
	struct host *h = opaque;

	h->level = level;
	h->irq_calls++;
}

static bool host_tx(void *opaque, u8 byte)
{
	struct host *h = opaque;

	if (h->nr_out < sizeof(h->out))
		h->out[h->nr_out] = byte;
	h->nr_out++;
	if (h->room)
		h->room--;
	return h->room > 0;
}

static void host_wake(void *opaque)
{
	struct host *h = opaque;

	h->wakes++;
}

static void setup(struct serial8250 *s, struct host *h)
{
	memset(h, 0, sizeof(*h));
	h->room = ~0u;
	serial8250_init(s, host_set_irq, host_tx, h);
	s->rx_wake = host_wake;
}

static u8 rd(struct serial8250 *s, unsigned int off)
{
	return serial8250_read(s, off);
}

static void wr(struct serial8250 *s, unsigned int off, u8 val)
{
	serial8250_write(s, off, val);
}

/* Linux's FIFO setting for a 16550A: enabled, trigger at 8. */
static void fifo_on(struct serial8250 *s)
{
	wr(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10);
}

static void test_reset_values(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	CHECK_EQ(rd(&s, UART_IER), 0);
	CHECK_EQ(rd(&s, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(rd(&s, UART_LCR), 0);
	CHECK_EQ(rd(&s, UART_MCR), 0);
	CHECK_EQ(rd(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&s, UART_MSR) & UART_MSR_ANY_DELTA, 0);
	CHECK_EQ(serial8250_rx_room(&s), 1); /* FIFOs off: a 16450 */
	CHECK_EQ(h.irq_calls, 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&s, 8), 0xff);
}

static void test_scratch(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	wr(&s, UART_SCR, 0xa5);
	CHECK_EQ(rd(&s, UART_SCR), 0xa5);
	wr(&s, UART_SCR, 0x5a);
	CHECK_EQ(rd(&s, UART_SCR), 0x5a);
}

static void test_divisor_latch(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	wr(&s, UART_IER, UART_IER_RDI);
	serial8250_rx_push(&s, (const u8 *)"x", 1);

	wr(&s, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	wr(&s, UART_DLL, 0x01);
	wr(&s, UART_DLM, 0x02);
	CHECK_EQ(rd(&s, UART_DLL), 0x01);
	CHECK_EQ(rd(&s, UART_DLM), 0x02);
	CHECK_EQ(h.nr_out, 0); /* DLL is not THR */
	wr(&s, UART_LCR, UART_LCR_WLEN8);

	CHECK_EQ(rd(&s, UART_IER), UART_IER_RDI);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&s, UART_RX), 'x');

	wr(&s, UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(rd(&s, UART_DLL), 0x01);
	CHECK_EQ(rd(&s, UART_DLM), 0x02);
}

/* drivers/tty/serial/8250/8250_port.c autoconfig(), step by step. */
static void test_linux_autoconfig(void)
{
	struct serial8250 s;
	struct host h;
	u8 save_mcr, iir, ier;

	setup(&s, &h);

	/* IER existence test. */
	wr(&s, UART_IER, 0);
	CHECK_EQ(rd(&s, UART_IER) & 0x0f, 0);
	wr(&s, UART_IER, 0x0f);
	CHECK_EQ(rd(&s, UART_IER) & 0x0f, 0x0f);
	wr(&s, UART_IER, 0);

	/* Loopback test: RTS -> CTS, OUT2 -> DCD. */
	save_mcr = rd(&s, UART_MCR);
	wr(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	CHECK_EQ(rd(&s, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	wr(&s, UART_MCR, save_mcr);

	/* EFR probe: no EFR here, this is FCR. */
	wr(&s, UART_LCR, UART_LCR_CONF_MODE_B);
	wr(&s, UART_EFR, 0);
	wr(&s, UART_LCR, 0);

	/* FIFO detection: IIR bits 7:6 both set means 16550A. */
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO);
	CHECK_EQ(rd(&s, UART_IIR) >> 6, 3);

	/* autoconfig_16550a(): EFR reads under DLAB and 0xBF are not 0. */
	wr(&s, UART_LCR, UART_LCR_CONF_MODE_A);
	CHECK(rd(&s, UART_EFR) != 0);
	wr(&s, UART_LCR, UART_LCR_CONF_MODE_B);
	CHECK(rd(&s, UART_EFR) != 0);

	/* NatSemi probe: IIR bit 4 must not follow MCR.LOOP. */
	wr(&s, UART_LCR, 0);
	wr(&s, UART_MCR, UART_MCR_LOOP);
	wr(&s, UART_LCR, 0xe0);
	CHECK_EQ(rd(&s, UART_IIR) & UART_MCR_LOOP, 0);
	wr(&s, UART_LCR, 0);
	wr(&s, UART_MCR, save_mcr);

	/* TI16750 probe: IIR bit 5 never set, with or without DLAB. */
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	iir = rd(&s, UART_IIR);
	CHECK_EQ(iir >> 5, 6);
	wr(&s, UART_LCR, UART_LCR_CONF_MODE_A);
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	CHECK_EQ(rd(&s, UART_IIR) >> 5, 6);
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO);
	wr(&s, UART_LCR, 0);

	/* XScale probe: IER bit 6 (UUE) does not stick. */
	ier = rd(&s, UART_IER);
	wr(&s, UART_IER, ier | UART_IER_UUE);
	CHECK_EQ(rd(&s, UART_IER) & UART_IER_UUE, 0);
	wr(&s, UART_IER, ier);

	/* size_fifo(): 256 bytes sent in loopback, 16 arrive. */
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
				 UART_FCR_CLEAR_XMIT);
	wr(&s, UART_MCR, UART_MCR_LOOP);
	for (int i = 0; i < 256; i++)
		wr(&s, UART_TX, i);
	int count = 0;
	while ((rd(&s, UART_LSR) & UART_LSR_DR) && count < 256) {
		CHECK_EQ(rd(&s, UART_RX), count);
		count++;
	}
	CHECK_EQ(count, SERIAL8250_FIFO_SIZE);
	CHECK_EQ(h.nr_out, 0);
	wr(&s, UART_MCR, save_mcr);

	/* serial8250_do_startup() bails out if LSR reads 0xff. */
	CHECK(rd(&s, UART_LSR) != 0xff);
	CHECK_EQ(h.level, 0);
}

/* serial8250_do_startup(): the THRE re-assertion and TXEN tests. */
static void test_linux_thre_selftest(void)
{
	struct serial8250 s;
	struct host h;
	u8 iir1, iir2;

	setup(&s, &h);
	wr(&s, UART_IER, UART_IER_THRI);
	iir1 = rd(&s, UART_IIR);
	wr(&s, UART_IER, 0);
	wr(&s, UART_IER, UART_IER_THRI);
	iir2 = rd(&s, UART_IIR);
	wr(&s, UART_IER, 0);
	CHECK_EQ(iir1 & UART_IIR_ID, UART_IIR_THRI);
	CHECK_EQ(iir2 & UART_IIR_ID, UART_IIR_THRI);
	CHECK(!(iir2 & UART_IIR_NO_INT));

	wr(&s, UART_IER, UART_IER_THRI);
	CHECK(rd(&s, UART_LSR) & UART_LSR_TEMT);
	CHECK(!(rd(&s, UART_IIR) & UART_IIR_NO_INT));
	wr(&s, UART_IER, 0);
	CHECK_EQ(h.level, 0);
}

static void test_thre_interrupt(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_NO_INT);

	/* Writing IER again with ETBEI already set is no new edge. */
	wr(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(h.level, 0);

	wr(&s, UART_TX, 'a');
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	wr(&s, UART_TX, 'b');
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	CHECK_EQ(h.level, 0);

	/* Clearing ETBEI drops a pending THRE. */
	wr(&s, UART_TX, 'c');
	CHECK_EQ(h.level, 1);
	wr(&s, UART_IER, 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_NO_INT);
}

static void test_tx_callback(void)
{
	struct serial8250 s;
	struct host h;
	const char *msg = "hello\n";

	setup(&s, &h);
	for (const char *p = msg; *p; p++) {
		CHECK(rd(&s, UART_LSR) & UART_LSR_THRE);
		wr(&s, UART_TX, *p);
	}
	CHECK_EQ(h.nr_out, strlen(msg));
	CHECK(!memcmp(h.out, msg, strlen(msg)));
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, 0);
}

/*
 * Host flow control: once tx() says the host is full, THR reads as full
 * and no THRE interrupt comes, so Linux's interrupt-driven output waits;
 * the resume empties THR and raises THRE.  Nothing is lost meanwhile.
 */
static void test_tx_stall(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	h.room = 2;
	wr(&s, UART_TX, 'a');
	CHECK_EQ(rd(&s, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
		 UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	wr(&s, UART_TX, 'b'); /* the host is full now */
	CHECK_EQ(rd(&s, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), 0);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_NO_INT);

	/* Re-arming ETBEI (Linux's start_tx) must not fake an empty THR. */
	wr(&s, UART_IER, 0);
	wr(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(h.level, 0);

	/* A byte written anyway still reaches the host. */
	wr(&s, UART_TX, 'c');
	CHECK_EQ(h.nr_out, 3);
	CHECK(!memcmp(h.out, "abc", 3));

	h.room = ~0u;
	serial8250_tx_resume(&s);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
		 UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	CHECK_EQ(h.level, 0);
	/* A second resume changes nothing. */
	serial8250_tx_resume(&s);
	CHECK_EQ(h.level, 0);

	/* Loopback never stalls: its bytes do not go to the host. */
	h.room = 1;
	wr(&s, UART_TX, 'd');
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_THRE, 0);
	wr(&s, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_THRE, UART_LSR_THRE);
}

static void test_rx_data_interrupt(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_RDI | UART_IER_RLSI);
	CHECK_EQ(h.level, 0);

	/* Below the trigger level of 8: character timeout. */
	CHECK_EQ(serial8250_rx_push(&s, (const u8 *)"ab", 2), 2);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RX_TIMEOUT);
	CHECK_EQ(h.level, 1); /* IIR read does not acknowledge data */
	CHECK_EQ(rd(&s, UART_RX), 'a');
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_RX), 'b');
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_NO_INT);

	/* At the trigger level: received data available. */
	CHECK_EQ(serial8250_rx_push(&s, (const u8 *)"01234567", 8), 8);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RDI);
	CHECK_EQ(rd(&s, UART_RX), '0');
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RX_TIMEOUT);

	/* With the FIFOs off, one byte is always "available". */
	wr(&s, UART_FCR, 0);
	CHECK_EQ(h.level, 0); /* the mode switch emptied the FIFO */
	serial8250_rx_push(&s, (const u8 *)"z", 1);
	CHECK_EQ(rd(&s, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(rd(&s, UART_RX), 'z');
	CHECK_EQ(h.level, 0);
}

static void test_rx_room(void)
{
	struct serial8250 s;
	struct host h;
	u8 buf[40];

	setup(&s, &h);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = 'A' + i;

	/* 16450 mode: one holding register. */
	CHECK_EQ(serial8250_rx_room(&s), 1);
	CHECK_EQ(serial8250_rx_push(&s, buf, 3), 1);
	CHECK_EQ(serial8250_rx_room(&s), 0);
	CHECK_EQ(serial8250_rx_push(&s, buf + 1, 1), 0);
	CHECK_EQ(h.wakes, 0);
	CHECK_EQ(rd(&s, UART_RX), 'A');
	CHECK_EQ(h.wakes, 1);

	fifo_on(&s);
	CHECK_EQ(serial8250_rx_room(&s), SERIAL8250_FIFO_SIZE);
	CHECK_EQ(serial8250_rx_push(&s, buf, sizeof(buf)), SERIAL8250_FIFO_SIZE);
	CHECK_EQ(serial8250_rx_room(&s), 0);
	CHECK_EQ(serial8250_rx_push(&s, buf, 1), 0);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_OE, 0); /* never overrun */
	CHECK_EQ(rd(&s, UART_RX), 'A');
	CHECK_EQ(h.wakes, 2);
	CHECK_EQ(serial8250_rx_room(&s), 1);
	CHECK_EQ(serial8250_rx_push(&s, buf + 16, 4), 1);
	for (unsigned int i = 1; i <= SERIAL8250_FIFO_SIZE; i++)
		CHECK_EQ(rd(&s, UART_RX), 'A' + i);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(h.wakes, 3);
}

static void test_priority_rx_over_thre(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI |
				 UART_IER_MSI);
	serial8250_rx_push(&s, (const u8 *)"01234567", 8);

	/* Reporting RDI leaves THRE pending. */
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RDI);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RDI);
	for (int i = 0; i < 8; i++)
		rd(&s, UART_RX);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	CHECK_EQ(h.level, 0);

	/* Line status outranks received data. */
	serial8250_rx_push(&s, (const u8 *)"x", 1);
	serial8250_break(&s);
	/* BI waits for its NUL to reach the top of the FIFO. */
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RX_TIMEOUT);
	CHECK_EQ(rd(&s, UART_RX), 'x');
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RLSI);

	/* Modem status comes last. */
	wr(&s, UART_MCR, UART_MCR_DTR); /* outside loopback: no MSR change */
	CHECK_EQ(rd(&s, UART_LSR) & (UART_LSR_BI | UART_LSR_DR),
		 UART_LSR_BI | UART_LSR_DR);
	rd(&s, UART_RX);
	wr(&s, UART_TX, 'y');
	wr(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_THRI);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_MSI);
	CHECK(rd(&s, UART_MSR) & UART_MSR_ANY_DELTA);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_NO_INT);
	CHECK_EQ(h.level, 0);
}

static void test_loopback(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(serial8250_rx_room(&s), 0);
	CHECK_EQ(serial8250_rx_push(&s, (const u8 *)"h", 1), 0);
	wr(&s, UART_TX, 'q');
	wr(&s, UART_TX, 'r');
	CHECK_EQ(h.nr_out, 0);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&s, UART_RX), 'q');
	CHECK_EQ(rd(&s, UART_RX), 'r');
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, 0);

	/* Each output mirrors to its input, with deltas. */
	rd(&s, UART_MSR);
	wr(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	CHECK_EQ(rd(&s, UART_MSR), UART_MSR_DSR | UART_MSR_DDSR);
	CHECK_EQ(rd(&s, UART_MSR), UART_MSR_DSR);
	wr(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	CHECK_EQ(rd(&s, UART_MSR), UART_MSR_RI | UART_MSR_DDSR);
	wr(&s, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(rd(&s, UART_MSR), UART_MSR_TERI);

	/* Leaving loopback reconnects the receiver and wakes the host. */
	wr(&s, UART_MCR, 0);
	CHECK_EQ(h.wakes, 1);
	CHECK_EQ(serial8250_rx_room(&s), SERIAL8250_FIFO_SIZE);
	wr(&s, UART_TX, 's');
	CHECK_EQ(h.nr_out, 1);
	CHECK_EQ(h.out[0], 's');
}

static void test_break(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_RDI | UART_IER_RLSI);
	serial8250_break(&s);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RLSI);
	CHECK_EQ(rd(&s, UART_LSR), UART_LSR_FIFOE | UART_LSR_THRE |
					   UART_LSR_TEMT | UART_LSR_BI |
					   UART_LSR_DR);
	/* The LSR read cleared BI; the NUL itself is still to be read. */
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RX_TIMEOUT);
	CHECK_EQ(rd(&s, UART_RX), 0);
	CHECK_EQ(h.level, 0);
	/* FIFOE holds until an LSR read finds no error byte left. */
	CHECK_EQ(rd(&s, UART_LSR), UART_LSR_FIFOE | UART_LSR_THRE |
					   UART_LSR_TEMT);
	CHECK_EQ(rd(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);

	/* Without ELSI a break is only data. */
	wr(&s, UART_IER, 0);
	serial8250_break(&s);
	CHECK_EQ(h.level, 0);
	CHECK(rd(&s, UART_LSR) & UART_LSR_BI);
}

static void test_irq_level_changes_only(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_THRI | UART_IER_RDI);
	CHECK_EQ(h.irq_calls, 1);
	CHECK_EQ(h.level, 1);
	serial8250_rx_push(&s, (const u8 *)"abc", 3);
	wr(&s, UART_TX, 'x');
	wr(&s, UART_TX, 'y');
	rd(&s, UART_LSR);
	CHECK_EQ(h.irq_calls, 1);
	rd(&s, UART_RX);
	rd(&s, UART_RX);
	rd(&s, UART_RX);
	CHECK_EQ(h.irq_calls, 1); /* THRE still pending */
	rd(&s, UART_IIR);
	CHECK_EQ(h.irq_calls, 2);
	CHECK_EQ(h.level, 0);
	rd(&s, UART_IIR);
	wr(&s, UART_IER, UART_IER_THRI | UART_IER_RDI);
	CHECK_EQ(h.irq_calls, 2);
}

static void test_fifo_reset(void)
{
	struct serial8250 s;
	struct host h;

	setup(&s, &h);
	fifo_on(&s);
	wr(&s, UART_IER, UART_IER_RDI);
	serial8250_rx_push(&s, (const u8 *)"0123456789abcdef", 16);
	CHECK_EQ(h.level, 1);
	CHECK_EQ(serial8250_rx_room(&s), 0);
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(h.wakes, 1);
	CHECK_EQ(rd(&s, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(serial8250_rx_room(&s), SERIAL8250_FIFO_SIZE);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_NO_INT);

	/* Trigger level 14 from FCR bits 7:6. */
	wr(&s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_14);
	serial8250_rx_push(&s, (const u8 *)"0123456789abc", 13);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RX_TIMEOUT);
	serial8250_rx_push(&s, (const u8 *)"d", 1);
	CHECK_EQ(rd(&s, UART_IIR), IIR_FIFO | UART_IIR_RDI);

	serial8250_reset(&s);
	CHECK_EQ(h.level, 0);
	CHECK_EQ(rd(&s, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(rd(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}

/* Save @from, load it into a fresh UART @to; the load's result. */
static int migrate_uart(struct serial8250 *from, struct serial8250 *to,
			struct host *h)
{
	struct state_out o = {};
	struct state_in in;
	int r;

	serial8250_save(from, &o);
	CHECK_EQ(o.err, 0);
	setup(to, h);
	state_in_init(&in, o.buf, o.len);
	r = serial8250_load(to, &in);
	state_out_free(&o);
	return r;
}

/*
 * After a load, set_irq() tells the irqchip where INTR is, low as well as
 * high: the destination's irqchip is the source's, and may think the
 * line is still high.
 */
static void test_load_reports_irq(void)
{
	struct serial8250 a, b;
	struct host ha, hb;
	u8 c;

	/* Input waiting with RDI on: high, and the byte comes across. */
	setup(&a, &ha);
	fifo_on(&a);
	wr(&a, UART_IER, UART_IER_RDI);
	serial8250_rx_push(&a, (const u8 *)"k", 1);
	CHECK_EQ(ha.level, 1);
	CHECK_EQ(migrate_uart(&a, &b, &hb), 0);
	CHECK_EQ(hb.irq_calls, 1);
	CHECK_EQ(hb.level, 1);
	c = rd(&b, UART_RX);
	CHECK_EQ(c, 'k');
	CHECK_EQ(hb.level, 0);

	/* Nothing pending: a call all the same, saying low. */
	setup(&a, &ha);
	fifo_on(&a);
	wr(&a, UART_IER, UART_IER_RDI);
	CHECK_EQ(ha.level, 0);
	CHECK_EQ(migrate_uart(&a, &b, &hb), 0);
	CHECK_EQ(hb.irq_calls, 1);
	CHECK_EQ(hb.level, 0);
	/* And the next input raises it. */
	serial8250_rx_push(&b, (const u8 *)"x", 1);
	CHECK_EQ(hb.irq_calls, 2);
	CHECK_EQ(hb.level, 1);
}

UNIT_MAIN("serial8250",
	  UNIT_TEST(test_reset_values),
	  UNIT_TEST(test_scratch),
	  UNIT_TEST(test_divisor_latch),
	  UNIT_TEST(test_linux_autoconfig),
	  UNIT_TEST(test_linux_thre_selftest),
	  UNIT_TEST(test_thre_interrupt),
	  UNIT_TEST(test_tx_callback),
	  UNIT_TEST(test_tx_stall),
	  UNIT_TEST(test_rx_data_interrupt),
	  UNIT_TEST(test_rx_room),
	  UNIT_TEST(test_priority_rx_over_thre),
	  UNIT_TEST(test_loopback),
	  UNIT_TEST(test_break),
	  UNIT_TEST(test_irq_level_changes_only),
	  UNIT_TEST(test_fifo_reset),
	  UNIT_TEST(test_load_reports_irq))
