// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "builtin-cmds/cmds.h"
#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/vm.h"
#include "term/console.h"
#include "term/serial8250.h"
#include "term/tty.h"

#define ESCAPE_KEY 0x01 /* Ctrl-A, then 'x' quits (as in kvmtool) */
#define OUT_BUF 4096
#define IN_BUF 4096
#define LINE_BUF 256

struct console {
	struct vm *vm;
	struct io_range range;
	pthread_mutex_t lock; /* the UART model and the buffers below */
	struct serial8250 uart;
	int irq_level;

	/* Guest output, flushed at newlines, when full, or by a 10 ms timer. */
	char out[OUT_BUF];
	unsigned int out_len;
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
	struct kvm_irq_level irq = { .irq = CONSOLE_IRQ, .level = level };

	c->irq_level = level;
	kvm_ioctl(c->vm->vm_fd, KVM_IRQ_LINE, &irq);
}

static void flush_out_locked(struct console *c)
{
	unsigned int done = 0;
	ssize_t n;

	while (done < c->out_len) {
		n = write(STDOUT_FILENO, c->out + done, c->out_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* stdout gone: drop output, keep the guest running */
		done += n;
	}
	c->out_len = 0;
}

/*
 * "Kernel panic - not syncing" starts a panic report; "end Kernel panic"
 * ends it.  Seeing the end means the guest will do nothing more (or reboot,
 * with panic=N), so the VM ends now with the panic status.
 */
static void watch_line(struct console *c)
{
	c->line[c->line_len] = 0;
	if (strstr(c->line, "Kernel panic - not syncing"))
		c->vm->panic_seen = true;
	if (strstr(c->line, "---[ end Kernel panic"))
		vm_request_exit(c->vm, LKVM_EXIT_PANIC,
				"guest kernel panicked");
	c->line_len = 0;
}

static void tx(void *opaque, u8 byte)
{
	struct console *c = opaque;
	struct itimerspec soon = { .it_value = { 0, 10 * 1000 * 1000 } };

	c->out[c->out_len++] = byte;
	if (byte == '\n' || c->out_len == OUT_BUF)
		flush_out_locked(c);
	else if (c->out_len == 1)
		timerfd_settime(c->flush_timer, 0, &soon, NULL);

	if (byte == '\n')
		watch_line(c);
	else if (byte != '\r' && c->line_len < LINE_BUF - 1)
		c->line[c->line_len++] = byte;
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
	flush_out_locked(c);
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
			vm_request_exit(c->vm, LKVM_EXIT_OK,
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

int console_init(struct vm *vm)
{
	struct console *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	pthread_mutex_init(&c->lock, NULL);
	serial8250_init(&c->uart, set_irq, tx, c);
	c->range = (struct io_range){ .base = CONSOLE_PORT, .len = 8,
				      .access = uart_access, .opaque = c };
	c->flush_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (c->flush_timer < 0) {
		r = -errno;
		free(c);
		return r;
	}
	r = vm_register_pio(vm, &c->range);
	if (r) {
		close(c->flush_timer);
		free(c);
		return r;
	}
	vm->console = c;
	return 0;
}

int console_start(struct vm *vm)
{
	struct console *c = vm->console;

	c->timer_ev = ioloop_add(&vm->loop, c->flush_timer, flush_timer_fired, c);
	if (!c->timer_ev)
		return -ENOMEM;
	c->raw = tty_raw_begin();
	/* A regular file or /dev/null cannot be polled: then no input. */
	c->stdin_ev = ioloop_add(&vm->loop, STDIN_FILENO, stdin_ready, c);
	return 0;
}

void console_stop(struct vm *vm)
{
	struct console *c = vm->console;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	flush_out_locked(c);
	pthread_mutex_unlock(&c->lock);
	tty_restore();
}

void console_sysrq(struct vm *vm, char key)
{
	struct console *c = vm->console;
	u8 k = key;

	pthread_mutex_lock(&c->lock);
	serial8250_break(&c->uart);
	serial8250_rx_push(&c->uart, &k, 1);
	pthread_mutex_unlock(&c->lock);
}
