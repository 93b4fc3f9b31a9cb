// SPDX-License-Identifier: GPL-2.0
/*
 * The migration stream (kvm/migrate-stream.h): framing, checksums, state
 * buffers and a channel that never blocks for good.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm/migrate-stream.h"

/* How often a wait looks at the abort callback. */
#define MIG_POLL_MS 100

static const char *const section_names[MIG_SEC_NR] = {
	[MIG_SEC_HEADER] = "header",
	[MIG_SEC_RAM_PAGES] = "RAM pages",
	[MIG_SEC_RAM_IMAGE] = "RAM image",
	[MIG_SEC_MACHINE] = "machine",
	[MIG_SEC_ARCH_VM] = "irqchip and clock",
	[MIG_SEC_VCPU] = "vCPU",
	[MIG_SEC_DEVICE] = "device",
	[MIG_SEC_END] = "end",
	[MIG_SEC_REPLY] = "reply",
	[MIG_SEC_SYNC] = "sync",
};

const char *mig_section_name(u32 id)
{
	return id < MIG_SEC_NR && section_names[id] ? section_names[id] :
						      "unknown";
}

u64 mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

u64 mig_sum(const void *buf, size_t len)
{
	const u8 *p = buf;
	u64 h = 0xcbf29ce484222325ULL, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ le64toh(w)) * 0x100000001b3ULL;
	}
	for (; len; p++, len--)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

/* ---- state_out ---- */

void state_put(struct state_out *o, const void *p, size_t n)
{
	size_t cap;
	u8 *b;

	if (o->err)
		return;
	if (o->len + n > o->cap) {
		cap = o->cap ? o->cap : 256;
		while (cap < o->len + n)
			cap *= 2;
		b = realloc(o->buf, cap);
		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void state_put_u8(struct state_out *o, u8 v)
{
	state_put(o, &v, 1);
}

void state_put_u16(struct state_out *o, u16 v)
{
	v = htole16(v);
	state_put(o, &v, 2);
}

void state_put_u32(struct state_out *o, u32 v)
{
	v = htole32(v);
	state_put(o, &v, 4);
}

void state_put_u64(struct state_out *o, u64 v)
{
	v = htole64(v);
	state_put(o, &v, 8);
}

void state_put_str(struct state_out *o, const char *s)
{
	size_t n = strlen(s);

	state_put_u32(o, n);
	state_put(o, s, n);
}

void state_out_free(struct state_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

/* ---- state_in ---- */

void state_in_init(struct state_in *in, const void *p, size_t len)
{
	memset(in, 0, sizeof(*in));
	in->p = p;
	in->len = len;
}

int state_fail(struct state_in *in, const char *fmt, ...)
{
	va_list ap;

	if (!in->err) {
		in->err = -EPROTO;
		va_start(ap, fmt);
		vsnprintf(in->why, sizeof(in->why), fmt, ap);
		va_end(ap);
	}
	return in->err;
}

const void *state_get_ptr(struct state_in *in, size_t n)
{
	const void *p;

	if (in->err)
		return NULL;
	if (n > in->len - in->off) {
		state_fail(in, "truncated: %zu bytes wanted, %zu left", n,
			   in->len - in->off);
		return NULL;
	}
	p = in->p + in->off;
	in->off += n;
	return p;
}

bool state_get(struct state_in *in, void *p, size_t n)
{
	const void *src = state_get_ptr(in, n);

	if (!src) {
		memset(p, 0, n);
		return false;
	}
	memcpy(p, src, n);
	return true;
}

u8 state_get_u8(struct state_in *in)
{
	u8 v;

	state_get(in, &v, 1);
	return v;
}

u16 state_get_u16(struct state_in *in)
{
	u16 v;

	state_get(in, &v, 2);
	return le16toh(v);
}

u32 state_get_u32(struct state_in *in)
{
	u32 v;

	state_get(in, &v, 4);
	return le32toh(v);
}

u64 state_get_u64(struct state_in *in)
{
	u64 v;

	state_get(in, &v, 8);
	return le64toh(v);
}

bool state_get_str(struct state_in *in, char *buf, size_t size)
{
	u32 n = state_get_u32(in);
	const char *s;

	buf[0] = 0;
	if (in->err)
		return false;
	if (n >= size) {
		state_fail(in, "string of %u bytes, at most %zu expected", n,
			   size - 1);
		return false;
	}
	s = state_get_ptr(in, n);
	if (!s)
		return false;
	if (memchr(s, 0, n)) {
		state_fail(in, "string with a NUL byte");
		return false;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	return true;
}

int state_in_end(struct state_in *in)
{
	if (!in->err && in->off != in->len)
		state_fail(in, "%zu bytes left over", in->len - in->off);
	return in->err;
}

/* ---- the channel ---- */

void mig_chan_init(struct mig_chan *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
}

void mig_chan_init_mem(struct mig_chan *c, const void *buf, size_t len)
{
	mig_chan_init(c, -1);
	c->mem = buf;
	c->mem_len = len;
}

static int chan_fail(struct mig_chan *c, int err, const char *what)
{
	snprintf(c->why, sizeof(c->why), "%s: %s%s", what, strerror(-err),
		 err == -EPIPE || err == -ECONNRESET ?
			 " (the other side went away)" :
		 err == -ETIMEDOUT ? " (the other side stopped reading)" : "");
	return err;
}

/*
 * Wait until fd is ready for @events, looking at the abort callback every
 * MIG_POLL_MS.  A peer that stays silent past idle_timeout_ms is gone.
 */
static int chan_wait(struct mig_chan *c, short events, u64 *idle_ms)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int n;

	for (;;) {
		if (c->abort && c->abort(c->abort_arg))
			return -ECANCELED;
		n = poll(&p, 1, MIG_POLL_MS);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		*idle_ms += MIG_POLL_MS;
		if (c->idle_timeout_ms && *idle_ms >= (u64)c->idle_timeout_ms)
			return -ETIMEDOUT;
	}
}

/* --speed: sleep until the bytes sent so far are within the budget. */
static int chan_pace(struct mig_chan *c)
{
	u64 now = mig_now_ns(), due;
	struct timespec ts;

	if (!c->speed)
		return 0;
	/* A fresh window every second, so a long stall is not paid back. */
	if (!c->speed_t0_ns || now - c->speed_t0_ns > 1000000000ULL) {
		c->speed_t0_ns = now;
		c->speed_sent0 = c->sent;
		return 0;
	}
	due = c->speed_t0_ns +
	      (c->sent - c->speed_sent0) * 1000000000ULL / c->speed;
	while (now < due) {
		if (c->abort && c->abort(c->abort_arg))
			return -ECANCELED;
		ts.tv_sec = 0;
		ts.tv_nsec = MIN(due - now, MIG_POLL_MS * 1000000ULL);
		nanosleep(&ts, NULL);
		now = mig_now_ns();
	}
	return 0;
}

static int write_all(struct mig_chan *c, const void *buf, size_t len)
{
	const u8 *p = buf;
	u64 idle = 0;
	ssize_t n;
	int r;

	if (c->fd < 0)
		return chan_fail(c, -EBADF, "write");
	while (len) {
		/*
		 * Pace before a write, never after the last one: a cancel
		 * must not call failed what has all gone out (END, say).
		 */
		r = chan_pace(c);
		if (r)
			return chan_fail(c, r, "write");
		n = write(c->fd, p, len);
		if (n > 0) {
			p += n;
			len -= n;
			c->sent += n;
			idle = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return chan_fail(c, -errno, "write");
		r = chan_wait(c, POLLOUT, &idle);
		if (r)
			return chan_fail(c, r, "write");
	}
	return 0;
}

int mig_write(struct mig_chan *c, const void *buf, size_t len)
{
	int r;

	if (!c->buffered)
		return write_all(c, buf, len);
	if (c->out.len + len > MIG_BUFFER_MAX) {
		r = write_all(c, c->out.buf, c->out.len);
		c->out.len = 0;
		if (r || len > MIG_BUFFER_MAX)
			return r ? r : write_all(c, buf, len);
	}
	state_put(&c->out, buf, len);
	return c->out.err ? chan_fail(c, c->out.err, "write") : 0;
}

void mig_chan_buffer(struct mig_chan *c)
{
	c->buffered = true;
}

int mig_chan_flush(struct mig_chan *c, bool send)
{
	int r = send && !c->out.err ? write_all(c, c->out.buf, c->out.len) :
				      c->out.err;

	c->buffered = false;
	state_out_free(&c->out);
	return r;
}

static int mem_read(struct mig_chan *c, void *buf, size_t len)
{
	if (len > c->mem_len - c->received)
		return c->received == c->mem_len ? -ENODATA : -EPIPE;
	memcpy(buf, c->mem + c->received, len);
	c->received += len;
	return 0;
}

int mig_read(struct mig_chan *c, void *buf, size_t len)
{
	u8 *p = buf;
	size_t done = 0;
	u64 idle = 0;
	ssize_t n;
	int r;

	if (c->mem)
		return mem_read(c, buf, len);
	while (done < len) {
		n = read(c->fd, p + done, len - done);
		if (n > 0) {
			done += n;
			c->received += n;
			idle = 0;
			continue;
		}
		if (n == 0)	/* a clean end only between two items */
			return done ? -EPIPE : -ENODATA;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = chan_wait(c, POLLIN, &idle);
		if (r)
			return r;
	}
	return 0;
}

int mig_skip(struct mig_chan *c, u64 len)
{
	u8 buf[4096];
	size_t n;
	int r;

	while (len) {
		n = MIN(len, sizeof(buf));
		r = mig_read(c, buf, n);
		if (r)
			return r == -ENODATA ? -EPIPE : r;
		len -= n;
	}
	return 0;
}

int mig_write_preamble(struct mig_chan *c, u32 flags)
{
	u8 p[MIG_PREAMBLE_SIZE];
	u32 v = htole32(MIG_VERSION), f = htole32(flags);

	memcpy(p, MIG_MAGIC, 8);
	memcpy(p + 8, &v, 4);
	memcpy(p + 12, &f, 4);
	return mig_write(c, p, sizeof(p));
}

int mig_read_preamble(struct mig_chan *c, u32 *flags)
{
	u8 p[MIG_PREAMBLE_SIZE];
	u32 v, f;
	int r;

	r = mig_read(c, p, sizeof(p));
	if (r == -ENODATA || r == -EPIPE) {
		snprintf(c->why, sizeof(c->why),
			 "the stream ended before its preamble");
		return -EPROTO;
	}
	if (r)
		return chan_fail(c, r, "read");
	if (memcmp(p, MIG_MAGIC, 8)) {
		snprintf(c->why, sizeof(c->why),
			 "not an lkvm migration stream (bad magic)");
		return -EPROTO;
	}
	memcpy(&v, p + 8, 4);
	memcpy(&f, p + 12, 4);
	v = le32toh(v);
	f = le32toh(f);
	if (v != MIG_VERSION) {
		snprintf(c->why, sizeof(c->why),
			 "stream version %u, this lkvm reads version %u", v,
			 MIG_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (f & ~MIG_F_KNOWN) {
		snprintf(c->why, sizeof(c->why), "unknown stream flags %#x", f);
		return -EPROTO;
	}
	*flags = f;
	return 0;
}

static void section_hdr(u8 *h, u32 id, u32 len, u64 sum)
{
	u32 i = htole32(id), l = htole32(len);
	u64 s = htole64(sum);

	memcpy(h, &i, 4);
	memcpy(h + 4, &l, 4);
	memcpy(h + 8, &s, 8);
}

int mig_write_section(struct mig_chan *c, u32 id, const void *payload,
		      u32 len)
{
	u8 h[MIG_SECTION_HDR_SIZE], small[4096];
	int r;

	section_hdr(h, id, len, mig_sum(payload, len));
	/* A small one in one write: no lone header for the peer to wait on. */
	if (len <= sizeof(small) - sizeof(h) && !c->buffered) {
		memcpy(small, h, sizeof(h));
		if (len)
			memcpy(small + sizeof(h), payload, len);
		return mig_write(c, small, sizeof(h) + len);
	}
	r = mig_write(c, h, sizeof(h));
	if (!r && len)
		r = mig_write(c, payload, len);
	return r;
}

int mig_read_section(struct mig_chan *c, u32 *id, u8 **buf, size_t *cap,
		     u32 *len)
{
	u8 h[MIG_SECTION_HDR_SIZE], *nb;
	u32 i, l;
	u64 s;
	int r;

	r = mig_read(c, h, sizeof(h));
	if (r == -ENODATA || r == -EPIPE) {
		snprintf(c->why, sizeof(c->why),
			 "the stream ended before its end section");
		return -EPROTO;
	}
	if (r)
		return chan_fail(c, r, "read");
	memcpy(&i, h, 4);
	memcpy(&l, h + 4, 4);
	memcpy(&s, h + 8, 8);
	*id = i = le32toh(i);
	*len = l = le32toh(l);
	s = le64toh(s);
	if (i == 0 || i >= MIG_SEC_NR) {
		snprintf(c->why, sizeof(c->why), "unknown section id %u", i);
		return -EPROTO;
	}
	if (l > MIG_SECTION_MAX) {
		snprintf(c->why, sizeof(c->why),
			 "%s section of %u bytes (at most %u)",
			 mig_section_name(i), l, MIG_SECTION_MAX);
		return -EPROTO;
	}
	if (l > *cap) {
		nb = realloc(*buf, l);
		if (!nb)
			return chan_fail(c, -ENOMEM, "read");
		*buf = nb;
		*cap = l;
	}
	r = l ? mig_read(c, *buf, l) : 0;
	if (r) {
		snprintf(c->why, sizeof(c->why),
			 "the stream ended inside a %s section%s%s",
			 mig_section_name(i), r == -ENODATA || r == -EPIPE ?
			 "" : ": ", r == -ENODATA || r == -EPIPE ? "" :
			 strerror(-r));
		return r == -ENODATA || r == -EPIPE ? -EPROTO : r;
	}
	if (mig_sum(*buf, l) != s) {
		snprintf(c->why, sizeof(c->why),
			 "%s section: checksum mismatch (corrupt stream)",
			 mig_section_name(i));
		return -EPROTO;
	}
	return 0;
}

int mig_write_reply(struct mig_chan *c, int status, const char *msg)
{
	struct state_out o = {};
	int r;

	state_put_u32(&o, (u32)status);
	state_put_str(&o, msg ? msg : "");
	r = o.err ? o.err : mig_write_section(c, MIG_SEC_REPLY, o.buf, o.len);
	state_out_free(&o);
	return r;
}

int mig_read_reply(struct mig_chan *c, int *status, char *msg, size_t size)
{
	struct state_in in;
	u8 *buf = NULL;
	size_t cap = 0;
	u32 id, len;
	s32 st;
	int r;

	msg[0] = 0;
	r = mig_read_section(c, &id, &buf, &cap, &len);
	if (!r && id != MIG_SEC_REPLY) {
		snprintf(c->why, sizeof(c->why),
			 "unexpected %s section (a reply was expected)",
			 mig_section_name(id));
		r = -EPROTO;
	}
	if (!r) {
		state_in_init(&in, buf, len);
		st = (s32)state_get_u32(&in);
		state_get_str(&in, msg, size);
		r = state_in_end(&in);
		if (!r && (st > 0 || st < -4095))
			r = state_fail(&in, "reply status %d", st);
		if (r)
			snprintf(c->why, sizeof(c->why), "bad reply: %.140s",
				 in.why);
		*status = st;
	}
	free(buf);
	return r;
}
