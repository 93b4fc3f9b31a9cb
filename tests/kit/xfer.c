// SPDX-License-Identifier: GPL-2.0
/*
 * xfer: move a checksummed stream over TCP, for the network tests.
 *
 *   xfer send HOST PORT BYTES SEED [RETRY_SECS]
 *   xfer recv PORT [ADDR]
 *   xfer hash BYTES SEED
 *   xfer usend HOST PORT COUNT SEED PER_SEC
 *   xfer urecv PORT SEED
 *
 * send connects (retrying for RETRY_SECS while nobody listens yet),
 * writes BYTES of a pseudo-random stream made from SEED, half-closes its
 * side and waits for the receiver to close: busybox nc closes the whole
 * connection at its stdin's end and can lose what is in flight.  recv
 * accepts one connection and reads to its end.  Both print the byte
 * count and a 64-bit hash of the stream; hash prints what a sender with
 * that seed sends, without a network.
 *
 *   xfer: sent 104857600 bytes hash 0123456789abcdef in 3.21 s
 *
 * usend and urecv are for a receiver that must send nothing back (a
 * guest whose every transmitted frame a test counts): usend sends COUNT
 * UDP datagrams, PER_SEC a second, each its number and bytes made from
 * SEED and that number, then a few end marks (one may be lost);
 * SIGTERM ends it early, end marks and all.  urecv checks each one it
 * gets against its number, until an end mark or IO_TIMEOUT_S of quiet,
 * and says how many came, how many were wrong, how many came again, and
 * their number range.  It keeps its port open until the other end marks
 * have come: one that found the port closed would make the guest send
 * an ICMP error (and an ARP request), frames the test did not expect.
 * UDP may drop datagrams; it must never deliver a wrong one, nor, on
 * one link, one twice (a receive buffer a migration left stale holds an
 * older datagram, whole and well-formed).
 *
 * Static, so the same binary runs in the emulated L1 and in its guest.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define IO_TIMEOUT_S 120

/* A hash of a byte stream that does not depend on how it was cut. */
struct hash {
	uint64_t h, carry, n;
};

static void hash_word(struct hash *s, uint64_t w)
{
	s->h = (s->h ^ w) * 0x100000001b3ULL;
	s->h ^= s->h >> 29;
}

static void hash_byte(struct hash *s, unsigned char c)
{
	s->carry |= (uint64_t)c << (8 * (s->n % 8));
	if (++s->n % 8 == 0) {
		hash_word(s, s->carry);
		s->carry = 0;
	}
}

/* Words in little-endian order, whole ones straight from the buffer. */
static void hash_bytes(struct hash *s, const unsigned char *p, size_t len)
{
	uint64_t w;

	for (; len && s->n % 8; len--)
		hash_byte(s, *p++);
	for (; len >= 8; len -= 8, p += 8, s->n += 8) {
		memcpy(&w, p, 8);
		hash_word(s, le64toh(w));
	}
	for (; len; len--)
		hash_byte(s, *p++);
}

static uint64_t hash_end(struct hash *s)
{
	if (s->n % 8)
		hash_word(s, s->carry);
	hash_word(s, s->n);
	return s->h;
}

/* xorshift64*: fast, and every seed gives a different stream. */
static void gen(uint64_t *state, unsigned char *buf, size_t len)
{
	uint64_t x;
	size_t i;

	for (i = 0; i < len; i += 8) {
		x = *state;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		x *= 0x2545f4914f6cdd1dULL;
		memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "xfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int connect_retry(const char *host, int port, int retry)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	double end = now() + retry;
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "xfer: %s is not an IPv4 address\n", host);
		exit(2);
	}
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
		if (now() >= end)
			die("connect");
		usleep(200 * 1000);
	}
}

static uint64_t seed_state(const char *seed)
{
	return strtoull(seed, NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
}

static int do_send(char **argv, int argc)
{
	unsigned long long total = strtoull(argv[4], NULL, 0), done = 0;
	uint64_t st = seed_state(argv[5]);
	static unsigned char buf[BUF];
	struct hash h = { 0 };
	int fd = connect_retry(argv[2], atoi(argv[3]), argc > 6 ? atoi(argv[6]) : 0);
	double t0 = now();
	size_t n, off;
	ssize_t r;

	timeouts(fd);
	while (done < total) {
		n = total - done < BUF ? total - done : BUF;
		gen(&st, buf, n);
		hash_bytes(&h, buf, n);
		for (off = 0; off < n; off += r) {
			r = write(fd, buf + off, n - off);
			if (r < 0)
				die("write");
		}
		done += n;
	}
	if (shutdown(fd, SHUT_WR))
		die("shutdown");
	/* The receiver closes once it has read everything. */
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	if (r < 0)
		die("read after shutdown");
	printf("xfer: sent %llu bytes hash %016llx in %.2f s\n", done,
	       (unsigned long long)hash_end(&h), now() - t0);
	return 0;
}

static int do_recv(char **argv, int argc)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(atoi(argv[2])) };
	static unsigned char buf[BUF];
	unsigned long long done = 0;
	struct hash h = { 0 };
	int one = 1, l, fd;
	double t0;
	ssize_t r;

	if (argc > 3 && inet_pton(AF_INET, argv[3], &a.sin_addr) != 1) {
		fprintf(stderr, "xfer: %s is not an IPv4 address\n", argv[3]);
		return 2;
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		die("listen");
	/*
	 * Said only now that a connection would be taken: a peer that waits
	 * for this line cannot come too early (through passt, which accepts
	 * for the guest, too early is a reset in the middle of the stream).
	 */
	printf("xfer: listening on %u\n", ntohs(a.sin_port));
	fflush(stdout);
	/* Linux's accept() honours SO_RCVTIMEO: nobody waits forever. */
	timeouts(l);
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		die("accept");
	timeouts(fd);
	t0 = now();
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		hash_bytes(&h, buf, (size_t)r);
		done += (unsigned long long)r;
	}
	if (r < 0)
		die("read");
	printf("xfer: received %llu bytes hash %016llx in %.2f s\n", done,
	       (unsigned long long)hash_end(&h), now() - t0);
	fflush(stdout);
	close(fd);
	return 0;
}

/* ---- datagrams: usend and urecv ---- */

#define DGRAM 1400		/* one frame on a 1500-byte MTU */
#define END_MARK UINT64_MAX
#define END_MARKS 5
#define MAX_DGRAMS (1ULL << 20)	/* numbers urecv tells apart */

/* Datagram @seq of the stream from @seed: its number, then its bytes. */
static void dgram_fill(unsigned char *buf, uint64_t seed, uint64_t seq)
{
	uint64_t st = seed ^ (seq * 0xbf58476d1ce4e5b9ULL) ^ 1;
	uint64_t le = htole64(seq);

	memcpy(buf, &le, 8);
	gen(&st, buf + 8, DGRAM - 8);
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	return fd;
}

static volatile sig_atomic_t usend_stop;

static void usend_term(int sig)
{
	(void)sig;
	usend_stop = 1;
}

static int do_usend(char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(atoi(argv[3])) };
	unsigned long long count = strtoull(argv[4], NULL, 0), i;
	uint64_t seed = seed_state(argv[5]);
	double rate = atof(argv[6]), t0, late;
	unsigned char buf[DGRAM];
	int fd = udp_socket();

	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1 || rate <= 0 ||
	    count > MAX_DGRAMS) {
		fprintf(stderr, "xfer: usend wants an IPv4 address, a rate and at most %llu datagrams\n",
			MAX_DGRAMS);
		return 2;
	}
	signal(SIGTERM, usend_term);
	t0 = now();
	for (i = 0; i < count && !usend_stop; i++) {
		dgram_fill(buf, seed, i);
		/* Not sent is not a failure: the route may be moving. */
		sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&a, sizeof(a));
		late = t0 + (i + 1) / rate - now();
		if (late > 0)
			usleep((useconds_t)(late * 1e6));
	}
	printf("xfer: usent %llu datagrams in %.2f s\n", i, now() - t0);
	fflush(stdout);
	memset(buf, 0xff, sizeof(buf));
	for (i = 0; i < END_MARKS; i++) {
		sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&a, sizeof(a));
		usleep(100 * 1000);
	}
	return 0;
}

/* The end marks after the first: read until a second of quiet. */
static void urecv_drain(int fd)
{
	struct timeval tv = { 1, 0 };
	char c;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (recv(fd, &c, 1, 0) >= 0)
		;
}

static int do_urecv(char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(atoi(argv[2])) };
	static uint8_t seen[MAX_DGRAMS / 8];
	unsigned char buf[DGRAM + 1], want[DGRAM];
	unsigned long long got = 0, bad = 0, dup = 0, lo = END_MARK, hi = 0;
	int fd = udp_socket();
	uint64_t seq, seed = seed_state(argv[3]);
	ssize_t r;

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	timeouts(fd);
	printf("xfer: listening on %u (udp)\n", ntohs(a.sin_port));
	fflush(stdout);
	while ((r = recv(fd, buf, sizeof(buf), 0)) >= 0) {
		memcpy(&seq, buf, 8);
		seq = le64toh(seq);
		if (r == DGRAM && seq == END_MARK)
			break;
		got++;
		dgram_fill(want, seed, seq);
		if (r != DGRAM || seq >= MAX_DGRAMS || memcmp(buf, want, DGRAM)) {
			bad++;
			continue;
		}
		if (seen[seq / 8] & (1 << seq % 8)) {
			dup++;
			continue;
		}
		seen[seq / 8] |= 1 << seq % 8;
		lo = seq < lo ? seq : lo;
		hi = seq > hi ? seq : hi;
	}
	if (r >= 0)
		urecv_drain(fd);
	printf("xfer: ureceived %llu datagrams, %llu bad, %llu again, numbers %llu to %llu%s\n",
	       got, bad, dup, lo == END_MARK ? 0 : lo, hi,
	       r < 0 ? " (no end mark)" : "");
	fflush(stdout);
	return bad || dup ? 1 : 0;
}

static int do_hash(char **argv)
{
	unsigned long long total = strtoull(argv[2], NULL, 0), done;
	uint64_t st = seed_state(argv[3]);
	static unsigned char buf[BUF];
	struct hash h = { 0 };
	size_t n;

	for (done = 0; done < total; done += n) {
		n = total - done < BUF ? total - done : BUF;
		gen(&st, buf, n);
		hash_bytes(&h, buf, n);
	}
	printf("xfer: hash %016llx\n", (unsigned long long)hash_end(&h));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "send"))
		return do_send(argv, argc);
	if (argc >= 3 && !strcmp(argv[1], "recv"))
		return do_recv(argv, argc);
	if (argc == 4 && !strcmp(argv[1], "hash"))
		return do_hash(argv);
	if (argc == 7 && !strcmp(argv[1], "usend"))
		return do_usend(argv);
	if (argc == 4 && !strcmp(argv[1], "urecv"))
		return do_urecv(argv);
	fprintf(stderr, "usage: xfer send HOST PORT BYTES SEED [RETRY_SECS]\n"
			"       xfer recv PORT [ADDR]\n"
			"       xfer hash BYTES SEED\n"
			"       xfer usend HOST PORT COUNT SEED PER_SEC\n"
			"       xfer urecv PORT SEED\n");
	return 2;
}
