// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/irq.h"
#include "kvm/log.h"
#include "kvm/migrate-stream.h"
#include "kvm/vm.h"
#include "kvm/vm-control.h"
#include "term/console.h"
#include "term/serial8250.h"
#include "term/tty.h"

#define ESCAPE_KEY 0x01 /* Ctrl-A, then 'x' quits (as in kvmtool) */
#define OUT_RING (64 * 1024)
#define OUT_FLUSH_AT 4096
#define IN_BUF 4096
#define LINE_BUF 256
/* How long the end of a run waits for a stuck stdout to take the rest. */
#define OUT_DRAIN_MS 1000

/*
 * Guest output goes through a ring to a writer thread, which alone writes
 * stdout.  A vCPU never waits for stdout: a slow reader fills the ring and
 * the UART stalls (THRE stays clear), so the guest waits as it would for a
 * real serial line, and a reader that never reads cannot keep lkvm from
 * ending.
 */
struct console {
	struct vm_device dev;
	struct vm *vm;
	struct io_range range;
	pthread_mutex_t lock; /* the UART model and the buffers below */
	struct serial8250 uart;
	int irq_level;

	/* Guest output, flushed at newlines, when large, or by a timer. */
	char out[OUT_RING];
	unsigned int out_head, out_len;
	bool out_flush;		/* the writer should write what is there */
	bool out_dead;		/* stdout failed: output is dropped */
	bool out_stop;		/* the run is ending: write the rest, then quit */
	pthread_cond_t out_cond; /* out_flush or out_stop set; out_len fell */
	pthread_t writer;
	bool writer_started;
	bool writer_done;
	bool writer_stuck;	/* left behind on a stdout nobody reads */
	int flush_timer;
	struct io_event *timer_ev;

	/* Host input waiting for room in the UART's receive FIFO. */
	u8 in[IN_BUF];
	unsigned int in_head, in_len;
	struct io_event *stdin_ev;
	bool stdin_paused;
	bool escape;
	bool raw;

	/* The current output line, for the panic watcher. */
	char line[LINE_BUF];
	unsigned int line_len;
};

static void set_irq(void *opaque, int level)
{
	struct console *c = opaque;

	c->irq_level = level;
	irq_line(c->vm, ARCH_CONSOLE_IRQ, level);
}

static void request_flush_locked(struct console *c)
{
	if (!c->out_flush) {
		c->out_flush = true;
		pthread_cond_broadcast(&c->out_cond);
	}
}

/* The writer took @n bytes, or stdout failed (@n < 0): make room. */
static void out_consumed_locked(struct console *c, ssize_t n)
{
	if (n < 0) {
		c->out_dead = true;
		c->out_len = 0;
	} else {
		c->out_head = (c->out_head + n) % OUT_RING;
		c->out_len -= n;
	}
	if (!c->out_len)
		c->out_flush = false;
	/* Once stopped, the vCPUs are gone and the VM may be too. */
	if (!c->out_stop && OUT_RING - c->out_len >= 2 * SERIAL8250_FIFO_SIZE)
		serial8250_tx_resume(&c->uart);
	pthread_cond_broadcast(&c->out_cond);
}

/*
 * One write of the ring's next @len bytes.  stdout may share a
 * non-blocking file description with another program (a shell that set
 * O_NONBLOCK on the terminal): EAGAIN then waits for room.  Returns the
 * bytes written, or -1 when stdout is gone (EPIPE, EIO, a 0-byte write).
 */
static ssize_t out_write(const char *buf, unsigned int len)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
	ssize_t n;

	for (;;) {
		/* Every signal is blocked here: no EINTR. */
		n = write(STDOUT_FILENO, buf, len);
		if (n > 0)
			return n;
		if (n < 0 && errno == EAGAIN && poll(&p, 1, -1) >= 0)
			continue;
		return -1;
	}
}

static void *writer_main(void *arg)
{
	struct console *c = arg;
	unsigned int len;
	ssize_t n;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->out_dead && !c->out_stop &&
		       !(c->out_len && c->out_flush))
			pthread_cond_wait(&c->out_cond, &c->lock);
		/* Dead, or stopping with nothing left. */
		if (c->out_dead || !c->out_len)
			break;
		len = MIN(c->out_len, OUT_RING - c->out_head);
		pthread_mutex_unlock(&c->lock);
		n = out_write(c->out + c->out_head, len);
		pthread_mutex_lock(&c->lock);
		/* stdout gone: drop output, keep the guest running. */
		out_consumed_locked(c, n);
	}
	c->writer_done = true;
	pthread_cond_broadcast(&c->out_cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * A panic report is a printk line, so it starts the line, after the
 * optional "[    1.234567] " time stamp (printk.time) and "[    T1] "
 * caller id.  "Kernel panic - not syncing" starts the report, "end Kernel
 * panic" ends it; seeing the end means the guest will do nothing more (or
 * reboot, with panic=N), so the VM ends now with the panic status.
 * "reboot: Restarting system" is kernel_restart()'s last word (pr_emerg,
 * so even `quiet` shows it): a triple fault after it is a reboot.
 */
static const char *printk_text(const char *line)
{
	const char *end;

	while (*line == '[' && (end = strchr(line, ']'))) {
		line = end + 1;
		while (*line == ' ')
			line++;
	}
	return line;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void watch_line(struct console *c)
{
	const char *text;

	c->line[c->line_len] = 0;
	c->line_len = 0;
	text = printk_text(c->line);
	if (starts_with(text, "Kernel panic - not syncing"))
		vm_note_panic(c->vm);
	if (starts_with(text, "---[ end Kernel panic"))
		vm_set_fate(c->vm, VM_FATE_PANIC, "guest kernel panicked");
	if (starts_with(text, "reboot: Restarting system"))
		vm_note_reboot(c->vm);
}

/* A byte from the guest; false when the ring is nearly full (stall). */
static bool tx(void *opaque, u8 byte)
{
	struct console *c = opaque;
	struct itimerspec soon = { .it_value = { 0, 10 * 1000 * 1000 } };

	if (byte == '\n')
		watch_line(c);
	else if (byte != '\r' && c->line_len < LINE_BUF - 1)
		c->line[c->line_len++] = byte;

	if (c->out_dead)
		return true;
	/* Full only if the guest wrote on without waiting for THRE. */
	if (c->out_len < OUT_RING) {
		c->out[(c->out_head + c->out_len) % OUT_RING] = byte;
		c->out_len++;
	}
	if (byte == '\n' || c->out_len >= OUT_FLUSH_AT)
		request_flush_locked(c);
	else if (c->out_len == 1)
		timerfd_settime(c->flush_timer, 0, &soon, NULL);
	/* Keep room for a FIFO's worth written without looking at LSR. */
	return OUT_RING - c->out_len > SERIAL8250_FIFO_SIZE;
}

static void resume_stdin(void *arg);

/* Move buffered host input into the UART as far as its FIFO has room. */
static void feed_uart_locked(struct console *c)
{
	unsigned int room, n;

	while (c->in_len) {
		room = serial8250_rx_room(&c->uart);
		n = MIN(room, c->in_len);
		n = MIN(n, IN_BUF - c->in_head);
		if (!n)
			break;
		n = serial8250_rx_push(&c->uart, c->in + c->in_head, n);
		c->in_head = (c->in_head + n) % IN_BUF;
		c->in_len -= n;
	}
	if (c->stdin_paused && c->in_len < IN_BUF / 2) {
		c->stdin_paused = false;
		ioloop_call(&c->vm->loop, resume_stdin, c, false);
	}
}

static void uart_access(struct io_range *r, u64 offset, void *data,
			unsigned int len, bool is_write)
{
	struct console *c = r->opaque;
	u8 *p = data;

	pthread_mutex_lock(&c->lock);
	if (is_write) {
		serial8250_write(&c->uart, offset, p[0]);
	} else {
		p[0] = serial8250_read(&c->uart, offset);
		memset(p + 1, 0, len - 1);
	}
	/* An RBR read or an FCR write may have made room for held input. */
	if (c->in_len)
		feed_uart_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static void flush_timer_fired(int fd, void *arg)
{
	struct console *c = arg;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->out_len)
		request_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

/* Returns false if the byte was the escape sequence's and is consumed. */
static bool filter_escape(struct console *c, u8 byte)
{
	if (!c->raw)
		return true;
	if (c->escape) {
		c->escape = false;
		if (byte == 'x') {
			vm_set_fate(c->vm, VM_FATE_STOPPED,
				    "terminated from the console (Ctrl-A x)");
			return false;
		}
		return byte == ESCAPE_KEY; /* Ctrl-A Ctrl-A sends one Ctrl-A */
	}
	if (byte == ESCAPE_KEY) {
		c->escape = true;
		return false;
	}
	return true;
}

static void stdin_ready(int fd, void *arg)
{
	struct console *c = arg;
	u8 buf[256];
	ssize_t n, i;

	pthread_mutex_lock(&c->lock);
	n = read(fd, buf, MIN(sizeof(buf), IN_BUF - c->in_len));
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			/* EOF (CI's /dev/null, a closed pipe): stop listening. */
			ioloop_del(&c->vm->loop, c->stdin_ev);
			c->stdin_ev = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!filter_escape(c, buf[i]))
			continue;
		c->in[(c->in_head + c->in_len) % IN_BUF] = buf[i];
		c->in_len++;
	}
	feed_uart_locked(c);
	if (c->in_len == IN_BUF && c->stdin_ev) {
		/* The guest is not reading: stop polling until it drains. */
		ioloop_del(&c->vm->loop, c->stdin_ev);
		c->stdin_ev = NULL;
		c->stdin_paused = true;
	}
	pthread_mutex_unlock(&c->lock);
}

static void resume_stdin(void *arg)
{
	struct console *c = arg;

	if (!c->stdin_ev && !vm_exiting(c->vm))
		c->stdin_ev = ioloop_add(&c->vm->loop, STDIN_FILENO,
					 stdin_ready, c);
}

/* Magic SysRq: a break on the line, then the key (Linux's 8250 driver). */
static int console_sysrq(void *opaque, const struct control_req *q,
			 struct control_reply *r)
{
	struct console *c = opaque;
	u8 k = q->key;

	pthread_mutex_lock(&c->lock);
	serial8250_break(&c->uart);
	serial8250_rx_push(&c->uart, &k, 1);
	pthread_mutex_unlock(&c->lock);
	control_reply_printf(r, "sent break + '%c' on the serial console",
			     q->key);
	return 0;
}

/* Start reading stdin (raw mode if it is a terminal) and writing stdout. */
static int console_start(struct vm_device *dev)
{
	struct console *c = dev->priv;
	int r;

	c->timer_ev = ioloop_add(&c->vm->loop, c->flush_timer,
				 flush_timer_fired, c);
	if (!c->timer_ev)
		return -ENOMEM;
	r = -pthread_create(&c->writer, NULL, writer_main, c);
	if (r)
		return r;
	pthread_setname_np(c->writer, "lkvm-console");
	c->writer_started = true;
	c->raw = tty_raw_begin();
	/* A regular file or /dev/null cannot be polled: then no input. */
	c->stdin_ev = ioloop_add(&c->vm->loop, STDIN_FILENO, stdin_ready, c);
	return 0;
}

/* Give stdout a moment to take the rest, and the terminal back. */
static void console_stop(struct vm_device *dev)
{
	struct console *c = dev->priv;
	struct timespec deadline;
	bool done;
	int r = 0;

	tty_restore();
	if (!c->writer_started)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += OUT_DRAIN_MS % 1000 * 1000000L;
	deadline.tv_sec += OUT_DRAIN_MS / 1000 + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&c->lock);
	c->out_stop = true;
	pthread_cond_broadcast(&c->out_cond);
	while (!c->writer_done && !r)
		r = pthread_cond_timedwait(&c->out_cond, &c->lock, &deadline);
	done = c->writer_done;
	pthread_mutex_unlock(&c->lock);
	/*
	 * A writer stuck on a stdout nobody reads is left behind, with the
	 * console it uses: the process ends anyway, and the guest's last
	 * words with it.
	 */
	if (done)
		pthread_join(c->writer, NULL);
	else
		c->writer_stuck = true;
	c->writer_started = false;
}

/* The I/O thread has stopped: its events go with the loop. */
static void console_destroy(struct vm_device *dev)
{
	struct console *c = dev->priv;

	if (c->writer_stuck)
		return;
	if (c->timer_ev)
		ioloop_del(&c->vm->loop, c->timer_ev);
	if (c->stdin_ev)
		ioloop_del(&c->vm->loop, c->stdin_ev);
	close(c->flush_timer);
	pthread_cond_destroy(&c->out_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/*
 * Migration: the UART's registers and receive FIFO.  Output already
 * written went to the source's stdout; input the source's host had not
 * pushed yet stays there (the destination has its own terminal).
 */
static int console_save(struct vm_device *dev, struct state_out *out)
{
	struct console *c = dev->priv;

	pthread_mutex_lock(&c->lock);
	serial8250_save(&c->uart, out);
	pthread_mutex_unlock(&c->lock);
	return out->err;
}

static int console_load(struct vm_device *dev, struct state_in *in)
{
	struct console *c = dev->priv;
	int r;

	pthread_mutex_lock(&c->lock);
	r = serial8250_load(&c->uart, in);
	pthread_mutex_unlock(&c->lock);
	return r;
}

static const struct vm_device_ops console_ops = {
	.start = console_start,
	.stop = console_stop,
	.destroy = console_destroy,
	.save = console_save,
	.load = console_load,
};

static struct console *console_alloc(struct vm *vm)
{
	struct console *c = calloc(1, sizeof(*c));
	pthread_condattr_t attr;

	if (!c)
		return NULL;
	c->flush_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (c->flush_timer < 0) {
		free(c);
		return NULL;
	}
	c->vm = vm;
	c->dev = (struct vm_device){ .ops = &console_ops,
				     .name = ARCH_CONSOLE_NAME, .priv = c };
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->out_cond, &attr);
	pthread_condattr_destroy(&attr);
	serial8250_init(&c->uart, set_irq, tx, c);
	c->range = (struct io_range){ .base = ARCH_CONSOLE_BASE, .len = 8,
				      .access = uart_access, .opaque = c };
	return c;
}

/* The console has no options: every VM gets one, at the arch's place. */
static int console_create(struct vm *vm, void *state)
{
	struct console *c = console_alloc(vm);
	int r;

	if (!c) {
		pr_err("cannot set up the serial console: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = vm_add_device(vm, &c->dev);
	if (r) {
		console_destroy(&c->dev);
		return r;
	}
	r = ARCH_CONSOLE_ON_PIO ? vm_register_pio(vm, &c->range) :
				  vm_register_mmio(vm, &c->range);
	if (!r)
		r = vm_control_register(vm, CONTROL_CMD_DEBUG_SYSRQ,
					console_sysrq, c);
	if (r)
		pr_err("cannot set up the serial console: %s", strerror(-r));
	return r;
}

static const struct dev_option console_options[] = { { NULL } };

const struct dev_module console_module = {
	.name = "serial console",
	.options = console_options,
	.create = console_create,
};
