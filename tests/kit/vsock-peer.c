// SPDX-License-Identifier: GPL-2.0
/*
 * vsock-peer: the host side of the vsock tests and benchmarks.  It runs
 * in the emulated L1 (busybox has no such tool, and socat cannot do the
 * hybrid handshake), so it is a static program with no options library.
 *
 *   vsock-peer connect ADDR PORT
 *        bridge stdin/stdout to guest PORT; stdin's EOF becomes a
 *        half-close (shutdown SHUT_WR) and the reply is still read
 *   vsock-peer stress ADDR PORT N FILE OUTDIR
 *        N connections at once, each sends FILE, half-closes and writes
 *        what comes back to OUTDIR/I; prints "stress: ..." lines
 *   vsock-peer listen PATH REPLY
 *        listen on the Unix socket PATH (a guest's connect to CID 2
 *        reaches it as PATH = <uds>_PORT), take one connection, copy what
 *        it sends to stdout, then send REPLY and close
 *   vsock-peer pingpong ADDR PORT COUNT
 *        1-byte round trips against an echo; prints the latency
 *   vsock-peer send ADDR PORT MIB      MIB of zeroes to the guest
 *   vsock-peer recv ADDR PORT          read until EOF
 *        both print "stream: BYTES bytes in SECS s = MIB/s"
 *
 * ADDR is lkvm's vsock Unix socket (the CONNECT/OK handshake) or
 * "vsock:CID" for AF_VSOCK (QEMU's vhost-vsock, in the benchmark).
 * Exit status 0 on success, 1 on any failure, with one line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vsock-peer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_all(int fd, const void *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", strerror(errno));
		buf = (const char *)buf + n;
		len -= n;
	}
}

/* Connect to guest @port; the stream then carries only its bytes. */
static int peer_connect(const char *addr, unsigned int port)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK };
	char line[64];
	size_t len = 0;
	int fd;

	if (!strncmp(addr, "vsock:", 6)) {
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		svm.svm_cid = strtoul(addr + 6, NULL, 0);
		svm.svm_port = port;
		if (fd < 0 || connect(fd, (struct sockaddr *)&svm, sizeof(svm)))
			die("connect to %s port %u: %s", addr, port,
			    strerror(errno));
		return fd;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		die("connect to %s: %s", addr, strerror(errno));
	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	write_all(fd, line, len);
	/* One byte at a time: not one byte of the stream is taken. */
	for (len = 0; len < sizeof(line) - 1; len++) {
		if (read(fd, line + len, 1) != 1)
			die("guest port %u: no listener (the connection was closed)",
			    port);
		if (line[len] == '\n')
			break;
	}
	line[len] = 0;
	if (strncmp(line, "OK ", 3))
		die("guest port %u: bad answer '%s'", port, line);
	return fd;
}

static int cmd_connect(const char *addr, unsigned int port)
{
	int fd = peer_connect(addr, port);
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
			       { .fd = fd, .events = POLLIN } };
	char buf[65536];
	ssize_t n;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (p[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n > 0) {
				write_all(fd, buf, n);
			} else {
				/* Half-close: the answer may still come. */
				shutdown(fd, SHUT_WR);
				p[0].fd = -1;
			}
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n < 0)
				die("read: %s", strerror(errno));
			if (!n)
				return 0;
			write_all(1, buf, n);
		}
	}
}

struct conn {
	int fd, out;
	size_t sent, got;
	bool wr_done, rd_done;
};

static int cmd_stress(const char *addr, unsigned int port, int n,
		      const char *file, const char *outdir)
{
	struct conn *c = calloc(n, sizeof(*c));
	struct pollfd *p = calloc(n, sizeof(*p));
	char path[4096], *data, buf[65536];
	int fd, i, left = n;
	struct stat st;
	double t0;
	ssize_t r;

	fd = open(file, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", file, strerror(errno));
	data = malloc(st.st_size + 1);
	if (!data || read(fd, data, st.st_size) != st.st_size)
		die("%s: short read", file);
	close(fd);
	for (i = 0; i < n; i++) {
		c[i].fd = peer_connect(addr, port);
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		snprintf(path, sizeof(path), "%s/%d", outdir, i);
		c[i].out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (c[i].out < 0)
			die("%s: %s", path, strerror(errno));
	}
	t0 = now();
	while (left) {
		for (i = 0; i < n; i++) {
			p[i].fd = c[i].rd_done ? -1 : c[i].fd;
			p[i].events = POLLIN | (c[i].wr_done ? 0 : POLLOUT);
		}
		if (poll(p, n, 60000) <= 0)
			die("stress: stalled for 60 s");
		for (i = 0; i < n; i++) {
			if ((p[i].revents & POLLOUT) && !c[i].wr_done) {
				r = send(c[i].fd, data + c[i].sent,
					 st.st_size - c[i].sent, MSG_NOSIGNAL);
				if (r < 0 && errno != EAGAIN)
					die("stress: send: %s", strerror(errno));
				c[i].sent += r > 0 ? r : 0;
				if (c[i].sent == (size_t)st.st_size) {
					shutdown(c[i].fd, SHUT_WR);
					c[i].wr_done = true;
				}
			}
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				r = read(c[i].fd, buf, sizeof(buf));
				if (r < 0 && errno != EAGAIN)
					die("stress: read: %s", strerror(errno));
				if (r > 0) {
					if (write(c[i].out, buf, r) != r)
						die("stress: write: %s",
						    strerror(errno));
					c[i].got += r;
				}
				if (!r) {
					c[i].rd_done = true;
					left--;
				}
			}
		}
	}
	for (i = 0; i < n; i++) {
		printf("stress: conn %d sent %zu got %zu\n", i, c[i].sent,
		       c[i].got);
		close(c[i].fd);
		close(c[i].out);
	}
	printf("stress: %d connections, %.1f MiB each way in %.2f s\n", n,
	       (double)n * st.st_size / (1 << 20), now() - t0);
	return 0;
}

static int cmd_listen(const char *path, const char *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;
	char buf[65536];
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    listen(lfd, 16))
		die("listen on %s: %s", path, strerror(errno));
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write_all(1, buf, n);
	write_all(fd, reply, strlen(reply));
	write_all(fd, "\n", 1);
	close(fd);
	close(lfd);
	unlink(path);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_pingpong(const char *addr, unsigned int port, int count)
{
	int fd = peer_connect(addr, port), i;
	double *t = calloc(count, sizeof(*t)), t0, sum = 0;
	char c = 'x';

	for (i = 0; i < count; i++) {
		t0 = now();
		write_all(fd, &c, 1);
		if (read(fd, &c, 1) != 1)
			die("pingpong: no echo");
		t[i] = now() - t0;
		sum += t[i];
	}
	qsort(t, count, sizeof(*t), cmp_double);
	printf("pingpong: %d round trips of 1 byte: median %.1f us, mean %.1f us, p90 %.1f us\n",
	       count, t[count / 2] * 1e6, sum / count * 1e6,
	       t[count * 9 / 10] * 1e6);
	close(fd);
	return 0;
}

static int cmd_stream(const char *addr, unsigned int port, long mib)
{
	int fd = peer_connect(addr, port);
	static char buf[1 << 20];
	long long bytes = 0;
	double t0 = now(), dt;
	ssize_t n;

	if (mib > 0) {
		for (long i = 0; i < mib; i++)
			write_all(fd, buf, sizeof(buf));
		bytes = (long long)mib << 20;
		shutdown(fd, SHUT_WR);
		/* Wait for the guest to have taken it all (its EOF). */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	} else {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			bytes += n;
	}
	dt = now() - t0;
	printf("stream: %lld bytes in %.3f s = %.1f MiB/s\n", bytes, dt,
	       bytes / dt / (1 << 20));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "connect") && argc == 4)
		return cmd_connect(argv[2], atoi(argv[3]));
	if (!strcmp(cmd, "stress") && argc == 7)
		return cmd_stress(argv[2], atoi(argv[3]), atoi(argv[4]),
				  argv[5], argv[6]);
	if (!strcmp(cmd, "listen") && argc == 4)
		return cmd_listen(argv[2], argv[3]);
	if (!strcmp(cmd, "pingpong") && argc == 5)
		return cmd_pingpong(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(cmd, "send") && argc == 5)
		return cmd_stream(argv[2], atoi(argv[3]), atol(argv[4]));
	if (!strcmp(cmd, "recv") && argc == 4)
		return cmd_stream(argv[2], atoi(argv[3]), 0);
	fprintf(stderr, "usage: vsock-peer connect|stress|listen|pingpong|send|recv ... (see the source)\n");
	return 2;
}
