// SPDX-License-Identifier: GPL-2.0
/*
 * The migration stream (kvm/migrate-stream.c): framing round trips, and a
 * reader that refuses truncated, corrupt, oversized and unknown input
 * with a reason; the state buffers devices use; the channel over a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "kvm/migrate-stream.h"
#include "tests/unit/unit.h"

/* Write a stream into a pipe and read it back as a memory channel. */
static size_t capture(u8 *out, size_t size,
		      void (*writer)(struct mig_chan *c))
{
	struct mig_chan c;
	int p[2];
	ssize_t n;

	CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
	fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	mig_chan_init(&c, p[1]);
	writer(&c);
	close(p[1]);
	n = read(p[0], out, size);
	close(p[0]);
	CHECK(n > 0);
	return n > 0 ? n : 0;
}

static void write_two(struct mig_chan *c)
{
	CHECK_EQ(mig_write_preamble(c, MIG_F_LIVE), 0);
	CHECK_EQ(mig_write_section(c, MIG_SEC_HEADER, "hello", 5), 0);
	CHECK_EQ(mig_write_section(c, MIG_SEC_END, NULL, 0), 0);
}

static void test_round_trip(void)
{
	static u8 buf[4096];
	size_t n = capture(buf, sizeof(buf), write_two);
	struct mig_chan c;
	u8 *p = NULL;
	size_t cap = 0;
	u32 flags, id, len;

	CHECK_EQ(n, MIG_PREAMBLE_SIZE + 2 * MIG_SECTION_HDR_SIZE + 5);
	mig_chan_init_mem(&c, buf, n);
	CHECK_EQ(mig_read_preamble(&c, &flags), 0);
	CHECK_EQ(flags, MIG_F_LIVE);
	CHECK_EQ(mig_read_section(&c, &id, &p, &cap, &len), 0);
	CHECK_EQ(id, MIG_SEC_HEADER);
	CHECK_EQ(len, 5);
	CHECK(!memcmp(p, "hello", 5));
	CHECK_EQ(mig_read_section(&c, &id, &p, &cap, &len), 0);
	CHECK_EQ(id, MIG_SEC_END);
	CHECK_EQ(len, 0);
	/* Past the end: refused with a reason, not a crash. */
	CHECK_EQ(mig_read_section(&c, &id, &p, &cap, &len), -EPROTO);
	CHECK(strstr(c.why, "ended before its end section"));
	free(p);
}

/*
 * Buffered, the same stream goes out in one write at the flush, and
 * nothing before it; a flush that drops sends nothing at all.
 */
static int writes;

static void write_buffered(struct mig_chan *c)
{
	u64 before;

	mig_chan_buffer(c);
	write_two(c);
	before = c->sent;
	CHECK_EQ(mig_chan_flush(c, true), 0);
	CHECK_EQ(before, 0);
	CHECK_EQ(c->sent, MIG_PREAMBLE_SIZE + 2 * MIG_SECTION_HDR_SIZE + 5);
	mig_chan_buffer(c);
	CHECK_EQ(mig_write_section(c, MIG_SEC_END, NULL, 0), 0);
	CHECK_EQ(mig_chan_flush(c, false), 0);
	CHECK(!c->buffered);
	writes++;
}

static void test_buffered(void)
{
	static u8 a[4096], b[4096];
	size_t n = capture(a, sizeof(a), write_two);

	CHECK_EQ(capture(b, sizeof(b), write_buffered), n);
	CHECK(!memcmp(a, b, n));
	CHECK_EQ(writes, 1);
}

/* Every truncation of a valid stream is refused, never accepted. */
static void test_truncated(void)
{
	static u8 buf[4096];
	size_t n = capture(buf, sizeof(buf), write_two), cut;
	struct mig_chan c;
	u8 *p = NULL;
	size_t cap = 0;
	u32 flags, id = 0, len;
	int r;

	for (cut = 0; cut < n; cut++) {
		mig_chan_init_mem(&c, buf, cut);
		r = mig_read_preamble(&c, &flags);
		while (!r) {
			r = mig_read_section(&c, &id, &p, &cap, &len);
			if (!r && id == MIG_SEC_END)
				break;
		}
		CHECK(r < 0);
		CHECK(c.why[0]);
	}
	free(p);
}

static void test_corrupt(void)
{
	static u8 buf[4096];
	size_t n = capture(buf, sizeof(buf), write_two);
	struct mig_chan c;
	u8 *p = NULL, bad[4096];
	size_t cap = 0;
	u32 flags, id, len, v;

	/* A flipped payload bit fails the checksum. */
	memcpy(bad, buf, n);
	bad[MIG_PREAMBLE_SIZE + MIG_SECTION_HDR_SIZE + 1] ^= 4;
	mig_chan_init_mem(&c, bad, n);
	CHECK_EQ(mig_read_preamble(&c, &flags), 0);
	CHECK_EQ(mig_read_section(&c, &id, &p, &cap, &len), -EPROTO);
	CHECK(strstr(c.why, "checksum"));

	/* A huge length is refused before anything is allocated. */
	memcpy(bad, buf, n);
	v = 0xfffffff0;
	memcpy(bad + MIG_PREAMBLE_SIZE + 4, &v, 4);
	mig_chan_init_mem(&c, bad, n);
	mig_read_preamble(&c, &flags);
	CHECK_EQ(mig_read_section(&c, &id, &p, &cap, &len), -EPROTO);
	CHECK(strstr(c.why, "at most"));

	/* Unknown section ids, bad magic, another version, unknown flags. */
	memcpy(bad, buf, n);
	v = 77;
	memcpy(bad + MIG_PREAMBLE_SIZE, &v, 4);
	mig_chan_init_mem(&c, bad, n);
	mig_read_preamble(&c, &flags);
	CHECK_EQ(mig_read_section(&c, &id, &p, &cap, &len), -EPROTO);
	CHECK(strstr(c.why, "unknown section"));

	memcpy(bad, buf, n);
	bad[0] = 'X';
	mig_chan_init_mem(&c, bad, n);
	CHECK_EQ(mig_read_preamble(&c, &flags), -EPROTO);
	CHECK(strstr(c.why, "bad magic"));

	memcpy(bad, buf, n);
	bad[8] = 9;
	mig_chan_init_mem(&c, bad, n);
	CHECK_EQ(mig_read_preamble(&c, &flags), -EPROTONOSUPPORT);

	memcpy(bad, buf, n);
	bad[13] = 1;
	mig_chan_init_mem(&c, bad, n);
	CHECK_EQ(mig_read_preamble(&c, &flags), -EPROTO);
	free(p);
}

static void test_state(void)
{
	struct state_out o = {};
	struct state_in in;
	char s[8];

	state_put_u8(&o, 0x12);
	state_put_u16(&o, 0x3456);
	state_put_u32(&o, 0x789abcde);
	state_put_u64(&o, 0x1122334455667788ULL);
	state_put_str(&o, "vda");
	CHECK_EQ(o.err, 0);
	CHECK_EQ(o.len, 1 + 2 + 4 + 8 + 4 + 3);

	state_in_init(&in, o.buf, o.len);
	CHECK_EQ(state_get_u8(&in), 0x12);
	CHECK_EQ(state_get_u16(&in), 0x3456);
	CHECK_EQ(state_get_u32(&in), 0x789abcde);
	CHECK_EQ(state_get_u64(&in), 0x1122334455667788ULL);
	CHECK(state_get_str(&in, s, sizeof(s)));
	CHECK(!strcmp(s, "vda"));
	CHECK_EQ(state_in_end(&in), 0);

	/* Reading past the end: zeroes and one sticky error. */
	CHECK_EQ(state_get_u32(&in), 0);
	CHECK_EQ(state_in_end(&in), -EPROTO);
	CHECK(strstr(in.why, "truncated"));

	/* Leftovers are an error too. */
	state_in_init(&in, o.buf, o.len);
	state_get_u8(&in);
	CHECK_EQ(state_in_end(&in), -EPROTO);
	CHECK(strstr(in.why, "left over"));

	/* A string longer than the caller's buffer. */
	state_in_init(&in, o.buf + 15, o.len - 15);
	CHECK(!state_get_str(&in, s, 3));
	CHECK_EQ(in.err, -EPROTO);
	state_out_free(&o);
}

static bool abort_now(void *arg)
{
	return *(bool *)arg;
}

/* A reader that never comes: cancel ends the wait, so does idleness. */
static void test_chan_cancel(void)
{
	static u8 big[1 << 20];
	struct mig_chan c;
	bool stop = true;
	int p[2];

	CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
	mig_chan_init(&c, p[1]);
	c.abort = abort_now;
	c.abort_arg = &stop;
	CHECK_EQ(mig_write(&c, big, sizeof(big)), -ECANCELED);
	stop = false;
	c.idle_timeout_ms = 200;
	CHECK_EQ(mig_write(&c, big, sizeof(big)), -ETIMEDOUT);
	CHECK(strstr(c.why, "timed out"));
	/* The reader side sees its peer gone. */
	close(p[1]);
	mig_chan_init(&c, p[0]);
	while (!mig_read(&c, big, sizeof(big)))
		;
	CHECK_EQ(mig_read(&c, big, 1), -ENODATA);
	close(p[0]);
}

static void test_speed(void)
{
	static u8 buf[64 << 10];
	struct mig_chan c;
	u64 t0;
	int fd = open("/dev/null", O_WRONLY);

	mig_chan_init(&c, fd);
	c.speed = 1 << 20;	/* 1 MiB/s: 256 KiB take about 250 ms */
	t0 = mig_now_ns();
	for (int i = 0; i < 4; i++)
		CHECK_EQ(mig_write(&c, buf, sizeof(buf)), 0);
	CHECK(mig_now_ns() - t0 > 150000000ULL);
	close(fd);
}

static void test_reply(void)
{
	static u8 buf[512];
	struct mig_chan c;
	char msg[64];
	int st, p[2];
	ssize_t n;

	CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
	mig_chan_init(&c, p[1]);
	CHECK_EQ(mig_write_reply(&c, -EINVAL, "disk 0: 64 MiB here"), 0);
	n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	close(p[1]);
	mig_chan_init_mem(&c, buf, n);
	CHECK_EQ(mig_read_reply(&c, &st, msg, sizeof(msg)), 0);
	CHECK_EQ(st, -EINVAL);
	CHECK(!strcmp(msg, "disk 0: 64 MiB here"));
	/* A positive status is no errno: refused. */
	buf[MIG_SECTION_HDR_SIZE] = 5;
	memset(buf + MIG_SECTION_HDR_SIZE + 1, 0, 3);
	mig_chan_init_mem(&c, buf, n);
	CHECK_EQ(mig_read_reply(&c, &st, msg, sizeof(msg)), -EPROTO);
}

static void test_sum(void)
{
	u8 a[37] = { 1, 2, 3 };

	CHECK(mig_sum(a, 37) != mig_sum(a, 36));
	CHECK_EQ(mig_sum(a, 37), mig_sum(a, 37));
	a[36] = 1;
	CHECK(mig_sum(a, 37) != mig_sum(a, 36));
}

UNIT_MAIN("migrate-stream", UNIT_TEST(test_round_trip),
	  UNIT_TEST(test_buffered),
	  UNIT_TEST(test_truncated), UNIT_TEST(test_corrupt),
	  UNIT_TEST(test_state), UNIT_TEST(test_chan_cancel),
	  UNIT_TEST(test_speed), UNIT_TEST(test_reply), UNIT_TEST(test_sum))
