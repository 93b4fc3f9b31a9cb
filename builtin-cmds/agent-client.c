// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of the guest agent (agent-client.h).  One poll() loop per
 * command: our stdin into STDIN messages as the socket takes them, its
 * STDOUT and STDERR messages out to our fds, signals forwarded, until
 * EXIT.  What we send is bounded (one STDIN message at a time), so a
 * guest that stops reading only stalls the command, never lkvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/agent-client.h"
#include "builtin-cmds/agent/proto.h"

const char *const agent_default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	NULL,
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd (or @stop_fd readable) until @deadline (-1: none). */
static int wait_fd(int fd, short events, int stop_fd, long long deadline)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
			       { .fd = stop_fd, .events = POLLIN } };
	long long left;
	int n;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		n = poll(p, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && p[1].revents)
			return -ECANCELED;
		if (n > 0)
			return 0;
	}
}

static int write_all(int fd, const void *buf, size_t len, int stop_fd)
{
	ssize_t n;
	int r;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, buf, len);
		if (n > 0) {
			buf = (const char *)buf + n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLOUT, stop_fd, -1);
		if (r)
			return r;
	}
	return 0;
}

int agent_connect(const char *uds, unsigned int port, int timeout_ms, int *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	char line[64];
	size_t len;
	ssize_t n;
	int fd, r;

	if (strlen(uds) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK)) {
		r = -errno;
		goto err;
	}
	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	r = write_all(fd, line, len, -1);
	if (r)
		goto err;
	/* A byte at a time: nothing past the line is ours to take. */
	for (len = 0; len < sizeof(line) - 1;) {
		n = recv(fd, line + len, 1, 0);
		if (n == 1 && line[len] == '\n')
			break;
		if (n == 1) {
			len++;
			continue;
		}
		if (!n || (n < 0 && errno == ECONNRESET)) {
			/* lkvm closes it: nothing listens on @port. */
			r = -ECONNREFUSED;
			goto err;
		}
		if (errno != EAGAIN && errno != EINTR) {
			r = -errno;
			goto err;
		}
		r = wait_fd(fd, POLLIN, -1, deadline);
		if (r)
			goto err;
	}
	line[len] = 0;
	if (strncmp(line, "OK ", 3)) {
		r = -EPROTO;
		goto err;
	}
	*out = fd;
	return 0;
err:
	close(fd);
	return r;
}

/* Receive until one whole message is buffered; 0, or -errno. */
struct rx {
	unsigned char *buf;
	size_t len;
};

static int send_msg(int fd, unsigned int type, const void *data, size_t len,
		    int stop_fd)
{
	unsigned char hdr[AGENT_HDR_SIZE];
	int r;

	agent_hdr_encode(hdr, type, len);
	r = write_all(fd, hdr, sizeof(hdr), stop_fd);
	if (!r && len)
		r = write_all(fd, data, len, stop_fd);
	return r;
}

static int send_exec(int fd, const struct agent_cmd *cmd, int stop_fd)
{
	const char *env[AGENT_ARGS_MAX + 1];
	struct agent_exec e = {
		.cwd = cmd->cwd, .argc = cmd->argc,
		.argv = (const char **)cmd->argv,
	};
	unsigned char *buf = malloc(AGENT_MSG_MAX);
	long n;
	int r, i;

	if (!buf)
		return -ENOMEM;
	if (cmd->env) {
		e.env = (const char **)cmd->env;
		e.envc = cmd->envc;
	} else {
		for (i = 0; agent_default_env[i]; i++)
			env[i] = agent_default_env[i];
		e.env = env;
		e.envc = i;
	}
	n = agent_exec_encode(&e, buf, AGENT_MSG_MAX);
	r = n < 0 ? -E2BIG : send_msg(fd, AGENT_EXEC, buf, n, stop_fd);
	free(buf);
	return r;
}

/*
 * Read what the socket has; handle every whole message.  Returns 1 with
 * *status once EXIT came, 0 to go on, or -errno.
 */
static int handle_rx(int fd, struct rx *rx, int out_fd, int err_fd,
		     int stop_fd, bool *hello, int *status)
{
	struct agent_frame f;
	ssize_t n;
	long m;
	int r;

	n = recv(fd, rx->buf + rx->len, AGENT_HDR_SIZE + AGENT_MSG_MAX - rx->len,
		 MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (!n)
		return -ECONNRESET;
	rx->len += n;
	while ((m = agent_frame_parse(rx->buf, rx->len, &f)) > 0) {
		r = 0;
		if (!*hello && f.type != AGENT_HELLO)
			return -EPROTO;
		switch (f.type) {
		case AGENT_HELLO:
			if (f.len < 4 || agent_get_u32(f.payload) != AGENT_VERSION)
				return -EPROTO;
			*hello = true;
			break;
		case AGENT_STDOUT:
			r = write_all(out_fd, f.payload, f.len, stop_fd);
			break;
		case AGENT_STDERR:
			r = write_all(err_fd, f.payload, f.len, stop_fd);
			break;
		case AGENT_STDOUT_EOF:
		case AGENT_STDERR_EOF:
			break;
		case AGENT_EXIT:
			if (f.len != 8)
				return -EPROTO;
			*status = agent_get_u32(f.payload) == AGENT_KILLED ?
					  128 + (agent_get_u32(f.payload + 4) & 127) :
					  (int)(agent_get_u32(f.payload + 4) & 255);
			return 1;
		case AGENT_ERROR:
			dprintf(err_fd, "lkvm: the guest agent: %.*s\n", (int)f.len,
				f.payload);
			return -EPROTO;
		default:
			return -EPROTO;
		}
		/* Our stdout going away must not stop the command's status. */
		if (r && r != -EPIPE && r != -ECANCELED)
			return r;
		if (r == -ECANCELED)
			return r;
		memmove(rx->buf, rx->buf + m, rx->len - m);
		rx->len -= m;
	}
	return m < 0 ? -EPROTO : 0;
}

/*
 * What we send while the command runs, never with a blocking write: the
 * agent may be stuck on a command that does not read its stdin while it
 * writes stdout, which we must keep reading.
 */
struct tx {
	unsigned char buf[2 * (AGENT_HDR_SIZE + AGENT_IO_CHUNK)];
	size_t len, off;
};

static void tx_queue(struct tx *tx, unsigned int type, const void *data,
		     size_t len)
{
	agent_hdr_encode(tx->buf + tx->len, type, len);
	if (len)
		memcpy(tx->buf + tx->len + AGENT_HDR_SIZE, data, len);
	tx->len += AGENT_HDR_SIZE + len;
}

static int tx_flush(int fd, struct tx *tx)
{
	ssize_t n = send(fd, tx->buf + tx->off, tx->len - tx->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	tx->off += n;
	if (tx->off == tx->len)
		tx->off = tx->len = 0;
	return 0;
}

/* Our stdin into one STDIN message, or STDIN_EOF; false at the end. */
static bool pump_stdin(struct tx *tx, int in_fd)
{
	unsigned char buf[AGENT_IO_CHUNK];
	ssize_t n = read(in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		tx_queue(tx, AGENT_STDIN_EOF, NULL, 0);
		return false;
	}
	tx_queue(tx, AGENT_STDIN, buf, n);
	return true;
}

static void forward_signal(struct tx *tx, int sig_fd)
{
	struct signalfd_siginfo si;
	unsigned char v[4];

	if (read(sig_fd, &si, sizeof(si)) != sizeof(si) ||
	    sizeof(tx->buf) - tx->len < AGENT_HDR_SIZE + sizeof(v))
		return;
	agent_put_u32(v, si.ssi_signo);
	tx_queue(tx, AGENT_SIGNAL, v, sizeof(v));
}

int agent_run(int fd, const struct agent_cmd *cmd, int in_fd, int out_fd,
	      int err_fd, int sig_fd, int stop_fd)
{
	struct rx rx = { .buf = malloc(AGENT_HDR_SIZE + AGENT_MSG_MAX) };
	struct tx *tx = calloc(1, sizeof(*tx));
	struct pollfd p[4];
	bool hello = false, sent = false;
	int r = 0, status = -1;

	if (!rx.buf || !tx) {
		r = -ENOMEM;
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!r) {
		if (hello && !sent) {
			/* Nothing else flows before the agent has it. */
			r = send_exec(fd, cmd, stop_fd);
			if (r)
				break;
			sent = true;
			if (in_fd < 0)
				tx_queue(tx, AGENT_STDIN_EOF, NULL, 0);
		}
		p[0] = (struct pollfd){ .fd = fd,
			.events = POLLIN | (tx->len ? POLLOUT : 0) };
		/* One STDIN message in flight at a time. */
		p[1] = (struct pollfd){ .fd = sent && !tx->len ? in_fd : -1,
					.events = POLLIN };
		p[2] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		if (poll(p, 4, -1) < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		if (p[3].revents) {
			r = -ECANCELED;
			break;
		}
		if (p[0].revents & POLLOUT)
			r = tx_flush(fd, tx);
		if (!r && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			r = handle_rx(fd, &rx, out_fd, err_fd, stop_fd, &hello,
				      &status);
		if (!r && p[1].revents && !pump_stdin(tx, in_fd))
			in_fd = -1;	/* EOF is on its way */
		if (!r && p[2].revents)
			forward_signal(tx, sig_fd);
	}
out:
	free(rx.buf);
	free(tx);
	return r == 1 ? status : r;
}

int agent_poweroff(int fd, bool fresh)
{
	unsigned char buf[AGENT_HDR_SIZE + 4];
	struct agent_frame f;
	size_t len = 0;
	ssize_t n;
	int r;

	/* A fresh connection: the agent says HELLO first. */
	while (fresh && len < sizeof(buf)) {
		r = wait_fd(fd, POLLIN, -1, now_ms() + 5000);
		if (r)
			return r;
		n = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT);
		if (!n)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		len += n > 0 ? n : 0;
	}
	if (fresh && (agent_frame_parse(buf, len, &f) <= 0 ||
		      f.type != AGENT_HELLO))
		return -EPROTO;
	return send_msg(fd, AGENT_POWEROFF, NULL, 0, -1);
}
