// SPDX-License-Identifier: GPL-2.0
/*
 * The control protocol codec over plain buffers: round trips of every
 * command, and the malformed input a confused or hostile client can send
 * (truncated, bad magic, bad version, a length that lies, oversized,
 * unknown commands and flags, bad arguments).
 */
#include <errno.h>
#include <stdint.h>

#include "kvm/control-proto.h"
#include "unit.h"

static u8 buf[CONTROL_REPLY_MAX + 64];

/* Encode req, frame and decode it again; returns the decode result. */
static int round_trip(const struct control_req *in, struct control_req *out)
{
	struct control_msg msg;
	ssize_t n, f;

	n = control_req_encode(in, buf, sizeof(buf));
	CHECK(n >= CONTROL_HDR_SIZE);
	if (n < 0)
		return n;
	f = control_msg_frame(buf, n, CONTROL_REQ_MAX, &msg);
	CHECK_EQ(f, n);
	if (f <= 0)
		return -EIO;
	return control_req_decode(&msg, out);
}

static void test_req_round_trip(void)
{
	static const struct control_req reqs[] = {
		{ .cmd = CONTROL_CMD_LIST_INFO, .seq = 1 },
		{ .cmd = CONTROL_CMD_STOP, .seq = 2 },
		{ .cmd = CONTROL_CMD_PAUSE, .seq = 3 },
		{ .cmd = CONTROL_CMD_RESUME, .seq = 0xffffffff },
		{ .cmd = CONTROL_CMD_DEBUG_REGS, .vcpu = CONTROL_VCPU_ALL },
		{ .cmd = CONTROL_CMD_DEBUG_REGS, .vcpu = 7 },
		{ .cmd = CONTROL_CMD_DEBUG_MEM, .gpa = 0xfffff000, .len = 4096 },
		{ .cmd = CONTROL_CMD_DEBUG_MEM, .gpa = 0x123456789abcULL,
		  .len = CONTROL_DEBUG_MEM_MAX },
		{ .cmd = CONTROL_CMD_DEBUG_NMI, .vcpu = 3 },
		{ .cmd = CONTROL_CMD_DEBUG_SYSRQ, .key = 't' },
		{ .cmd = CONTROL_CMD_DEBUG_PGWALK, .vcpu = 1,
		  .gpa = 0xffffffff81000000ULL },
		{ .cmd = CONTROL_CMD_DEBUG_PGWALK, .vcpu = 2, .walk_pc = true },
		{ .cmd = CONTROL_CMD_NET_INFO, .seq = 4 },
	};
	struct control_req out;

	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
		CHECK_EQ(round_trip(&reqs[i], &out), 0);
		CHECK_EQ(out.cmd, reqs[i].cmd);
		CHECK_EQ(out.seq, reqs[i].seq);
		CHECK_EQ(out.vcpu, reqs[i].vcpu);
		CHECK_EQ(out.gpa, reqs[i].gpa);
		CHECK_EQ(out.len, reqs[i].len);
		CHECK_EQ(out.key, reqs[i].key);
		CHECK_EQ(out.walk_pc, reqs[i].walk_pc);
	}
}

static void test_encode_rejects(void)
{
	struct control_req r = { .cmd = CONTROL_CMD_NR };

	CHECK_EQ(control_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_MEM, .len = 0 };
	CHECK_EQ(control_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.len = CONTROL_DEBUG_MEM_MAX + 1;
	CHECK_EQ(control_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_MEM,
				  .gpa = UINT64_MAX - 10, .len = 16 };
	CHECK_EQ(control_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_NMI, .vcpu = -1 };
	CHECK_EQ(control_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_SYSRQ, .key = ' ' };
	CHECK_EQ(control_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_MEM, .len = 1 };
	CHECK_EQ(control_req_encode(&r, buf, CONTROL_HDR_SIZE + 15), -ENOSPC);
}

/* Every proper prefix of a message is "need more", never an error. */
static void test_truncated(void)
{
	struct control_req r = { .cmd = CONTROL_CMD_DEBUG_MEM, .gpa = 1,
				 .len = 2 };
	struct control_msg msg;
	ssize_t n = control_req_encode(&r, buf, sizeof(buf));

	CHECK_EQ(n, CONTROL_HDR_SIZE + 16);
	for (ssize_t i = 0; i < n; i++)
		CHECK_EQ(control_msg_frame(buf, i, CONTROL_REQ_MAX, &msg), 0);
	CHECK_EQ(control_msg_frame(buf, n, CONTROL_REQ_MAX, &msg), n);
	/* Trailing bytes belong to the next message. */
	CHECK_EQ(control_msg_frame(buf, n + 5, CONTROL_REQ_MAX, &msg), n);
}

static void test_bad_magic(void)
{
	struct control_msg msg;

	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0, 0);
	buf[2] ^= 0x20;
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, CONTROL_REQ_MAX,
				   &msg), -EPROTO);
	/* Garbage is refused from its first byte, not after 20. */
	CHECK_EQ(control_msg_frame("GET / HTTP/1.0", 1, CONTROL_REQ_MAX,
				   &msg), -EPROTO);
	CHECK_EQ(control_msg_frame(buf, 2, CONTROL_REQ_MAX, &msg), 0);
	CHECK_EQ(control_msg_frame(buf, 3, CONTROL_REQ_MAX, &msg), -EPROTO);
}

static void test_bad_version(void)
{
	struct control_msg msg;

	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0, 0);
	buf[4] = CONTROL_VERSION + 1;
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, CONTROL_REQ_MAX,
				   &msg), -EPROTONOSUPPORT);
	buf[4] = 0;
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, CONTROL_REQ_MAX,
				   &msg), -EPROTONOSUPPORT);
}

static void test_oversized(void)
{
	struct control_msg msg;

	/* Exactly the limit is fine; one more is not. */
	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0,
			   CONTROL_REQ_MAX - CONTROL_HDR_SIZE);
	CHECK_EQ(control_msg_frame(buf, CONTROL_REQ_MAX, CONTROL_REQ_MAX, &msg),
		 CONTROL_REQ_MAX);
	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0,
			   CONTROL_REQ_MAX - CONTROL_HDR_SIZE + 1);
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, CONTROL_REQ_MAX,
				   &msg), -EMSGSIZE);
	/* A length near 4 GiB must not wrap the size check. */
	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0, 0xffffffff);
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, CONTROL_REQ_MAX,
				   &msg), -EMSGSIZE);
	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0, 0xffffffec);
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, SIZE_MAX, &msg), 0);
	/* A max below the header size refuses everything. */
	control_hdr_encode(buf, CONTROL_CMD_STOP, 0, 0, 0);
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, 4, &msg), -EMSGSIZE);
}

static void test_unknown_flags(void)
{
	struct control_msg msg;

	control_hdr_encode(buf, CONTROL_CMD_STOP, 0x80, 0, 0);
	CHECK_EQ(control_msg_frame(buf, CONTROL_HDR_SIZE, CONTROL_REQ_MAX,
				   &msg), -EINVAL);
}

/* Frame a hand-made header + payload and decode it as a request. */
static int decode_raw(u16 cmd, u32 flags, const void *payload, u32 len,
		      struct control_req *req)
{
	struct control_msg msg;
	ssize_t n;

	control_hdr_encode(buf, cmd, flags, 42, len);
	memcpy(buf + CONTROL_HDR_SIZE, payload, len);
	n = control_msg_frame(buf, CONTROL_HDR_SIZE + len, CONTROL_REQ_MAX,
			      &msg);
	CHECK_EQ(n, CONTROL_HDR_SIZE + len);
	return control_req_decode(&msg, req);
}

static void test_decode_rejects(void)
{
	static const u8 zero[32];
	struct control_req req;
	u8 a[16];

	CHECK_EQ(decode_raw(0, 0, NULL, 0, &req), -EOPNOTSUPP);
	CHECK_EQ(decode_raw(CONTROL_CMD_NR, 0, NULL, 0, &req), -EOPNOTSUPP);
	CHECK_EQ(req.cmd, CONTROL_CMD_NR);
	CHECK_EQ(req.seq, 42);
	CHECK_EQ(decode_raw(0x7fff, 0, NULL, 0, &req), -EOPNOTSUPP);
	/* A reply sent as a request. */
	CHECK_EQ(decode_raw(CONTROL_CMD_STOP | CONTROL_REPLY_BIT, 0, NULL, 0,
			    &req), -EINVAL);
	/* Chunked requests are for later versions. */
	CHECK_EQ(decode_raw(CONTROL_CMD_STOP, CONTROL_F_MORE, NULL, 0, &req),
		 -EOPNOTSUPP);
	/* Argument block of the wrong size, both ways. */
	CHECK_EQ(decode_raw(CONTROL_CMD_STOP, 0, zero, 1, &req), -EINVAL);
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_REGS, 0, zero, 3, &req), -EINVAL);
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_REGS, 0, zero, 5, &req), -EINVAL);
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_MEM, 0, zero, 8, &req), -EINVAL);
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_SYSRQ, 0, zero, 0, &req),
		 -EINVAL);
	/* Arguments out of range. */
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_MEM, 0, zero, 16, &req),
		 -EINVAL); /* len 0 */
	memset(a, 0xff, 16);
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_MEM, 0, a, 16, &req), -EINVAL);
	memset(a, 0, 16);
	a[8] = 1;
	a[0] = 0xff;
	memset(a, 0xff, 8); /* gpa ~0, len 1: wraps */
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_MEM, 0, a, 16, &req), -EINVAL);
	a[0] = 0xfe; /* gpa ~0 - 1, len 1: the last byte, fine */
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_MEM, 0, a, 16, &req), 0);
	memset(a, 0xff, 4); /* vcpu -1: "all" for regs only */
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_REGS, 0, a, 4, &req), 0);
	CHECK_EQ(req.vcpu, CONTROL_VCPU_ALL);
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_NMI, 0, a, 4, &req), -EINVAL);
	a[0] = 0xfe; /* vcpu -2 */
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_REGS, 0, a, 4, &req), -EINVAL);
	a[0] = '\n';
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_SYSRQ, 0, a, 1, &req), -EINVAL);
	a[0] = 0x80;
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_SYSRQ, 0, a, 1, &req), -EINVAL);
	/* PGWALK's flags: only PC is known, and it takes no gva. */
	memset(a, 0, 16);
	a[4] = CONTROL_PGWALK_PC;
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_PGWALK, 0, a, 16, &req), 0);
	CHECK(req.walk_pc);
	a[4] = 2;
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_PGWALK, 0, a, 16, &req),
		 -EINVAL);
	a[4] = CONTROL_PGWALK_PC;
	a[8] = 1;
	CHECK_EQ(decode_raw(CONTROL_CMD_DEBUG_PGWALK, 0, a, 16, &req),
		 -EINVAL);
}

static void test_reply_round_trip(void)
{
	struct control_reply r = {}, out = {};
	struct control_msg msg;
	ssize_t n;
	u8 *enc;

	r.status = -EALREADY;
	CHECK_EQ(control_reply_printf(&r, "already %s", "paused"), 0);
	n = control_reply_encode(CONTROL_CMD_PAUSE, 9, &r, &enc);
	CHECK_EQ(n, CONTROL_HDR_SIZE + CONTROL_REPLY_HEAD_SIZE + 14);
	CHECK_EQ(control_msg_frame(enc, n, CONTROL_REPLY_MAX, &msg), n);
	CHECK_EQ(msg.seq, 9);
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_PAUSE, &out), 0);
	CHECK_EQ(out.status, -EALREADY);
	CHECK_EQ(out.len, 14);
	CHECK(!strcmp(out.buf, "already paused"));
	/* The reply of another command is refused. */
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_STOP, &out), -EINVAL);
	/* A request is not a reply. */
	msg.cmd = CONTROL_CMD_PAUSE;
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_PAUSE, &out), -EINVAL);
	free(enc);

	/* A positive status is never sent, nor accepted. */
	r.status = 5;
	n = control_reply_encode(CONTROL_CMD_PAUSE, 9, &r, &enc);
	CHECK_EQ(control_msg_frame(enc, n, CONTROL_REPLY_MAX, &msg), n);
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_PAUSE, &out), 0);
	CHECK_EQ(out.status, -EIO);
	enc[CONTROL_HDR_SIZE] = 5;
	enc[CONTROL_HDR_SIZE + 1] = enc[CONTROL_HDR_SIZE + 2] =
		enc[CONTROL_HDR_SIZE + 3] = 0;
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_PAUSE, &out), -EINVAL);
	/* A reply shorter than its head. */
	msg.len = 7;
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_PAUSE, &out), -EINVAL);
	free(enc);

	/* The server's answer to a garbled request fits any command. */
	r.status = -EPROTO;
	control_reply_reset(&r);
	r.status = -EPROTO;
	n = control_reply_encode(0, 0, &r, &enc);
	CHECK_EQ(control_msg_frame(enc, n, CONTROL_REPLY_MAX, &msg), n);
	CHECK_EQ(control_reply_decode(&msg, CONTROL_CMD_DEBUG_MEM, &out), 0);
	CHECK_EQ(out.status, -EPROTO);
	CHECK_EQ(out.len, 0);
	free(enc);
	control_reply_free(&r);
	control_reply_free(&out);
}

static void test_reply_limit(void)
{
	struct control_reply r = {};
	static char chunk[4096];
	struct control_msg msg;
	size_t total = 0;
	ssize_t n;
	u8 *enc;
	int ret;

	memset(chunk, 'x', sizeof(chunk));
	do {
		ret = control_reply_append(&r, chunk, sizeof(chunk));
		total += sizeof(chunk);
	} while (!ret && total < 4 * CONTROL_REPLY_MAX);
	CHECK_EQ(ret, -EMSGSIZE);
	CHECK(r.truncated);
	CHECK_EQ(r.len, CONTROL_REPLY_DATA_MAX);
	CHECK_EQ(control_reply_printf(&r, "more"), -EMSGSIZE);
	CHECK_EQ(r.len, CONTROL_REPLY_DATA_MAX);
	/* The biggest reply still frames under the reply limit. */
	n = control_reply_encode(CONTROL_CMD_DEBUG_MEM, 1, &r, &enc);
	CHECK_EQ(n, CONTROL_REPLY_MAX);
	CHECK_EQ(control_msg_frame(enc, n, CONTROL_REPLY_MAX, &msg), n);
	free(enc);
	control_reply_free(&r);
}

static void test_printf_long(void)
{
	struct control_reply r = {};
	char big[1000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ(control_reply_printf(&r, "<%s>", big), 0);
	CHECK_EQ(r.len, 1001);
	CHECK_EQ(r.buf[0], '<');
	CHECK_EQ(r.buf[1000], '>');
	CHECK_EQ(r.buf[1001], 0);
	control_reply_free(&r);
}

static void test_hexdump(void)
{
	struct control_reply r = {};
	const char *want =
		"0000000000001000  48 65 6c 6c 6f 00 01 7f  80 ff 20 7e 41 42 43 44  |Hello..... ~ABCD|\n"
		"0000000000001010  45                                                |E|\n";

	CHECK_EQ(control_reply_hexdump(&r, 0x1000,
				       "Hello\0\x01\x7f\x80\xff ~ABCDE", 17), 0);
	CHECK(!strcmp(r.buf, want));
	if (strcmp(r.buf, want))
		fprintf(stderr, "got:\n%s", r.buf);
	control_reply_reset(&r);
	CHECK_EQ(control_reply_hexdump(&r, 0, "", 0), 0);
	CHECK_EQ(r.len, 0);
	control_reply_free(&r);
}

/* The largest --mem dump still fits a reply. */
static void test_hexdump_max(void)
{
	static u8 mem[CONTROL_DEBUG_MEM_MAX];
	struct control_reply r = {};

	CHECK_EQ(control_reply_hexdump(&r, ~0ULL - CONTROL_DEBUG_MEM_MAX, mem,
				       sizeof(mem)), 0);
	CHECK(!r.truncated);
	CHECK_EQ(r.len, CONTROL_DEBUG_MEM_MAX / 16 * 87);
	control_reply_free(&r);
}

static void test_info(void)
{
	struct control_info in = {
		.name = "guest-1234", .pid = 1234, .state = CONTROL_STATE_PAUSED,
		.nr_vcpus = 4, .mem_mib = 2048, .uptime_s = 86401,
	}, out;
	struct control_reply r = {};

	CHECK_EQ(control_info_encode(&in, &r), 0);
	CHECK_EQ(r.format, CONTROL_FMT_INFO);
	CHECK_EQ(r.len, CONTROL_INFO_FIXED_SIZE + 10);
	CHECK_EQ(control_info_decode(r.buf, r.len, &out), 0);
	CHECK(!strcmp(out.name, "guest-1234"));
	CHECK_EQ(out.pid, 1234);
	CHECK_EQ(out.state, CONTROL_STATE_PAUSED);
	CHECK_EQ(out.nr_vcpus, 4);
	CHECK_EQ(out.mem_mib, 2048);
	CHECK_EQ(out.uptime_s, 86401);

	/* Truncated, too long, name length lies, bad name. */
	CHECK_EQ(control_info_decode(r.buf, r.len - 1, &out), -EINVAL);
	CHECK_EQ(control_info_decode(r.buf, 31, &out), -EINVAL);
	r.buf[12] = 200;
	CHECK_EQ(control_info_decode(r.buf, r.len, &out), -EINVAL);
	r.buf[12] = 10;
	r.buf[CONTROL_INFO_FIXED_SIZE] = '/';
	CHECK_EQ(control_info_decode(r.buf, r.len, &out), -EINVAL);
	/* A NUL inside the name would shorten it (found by fuzz-control). */
	r.buf[CONTROL_INFO_FIXED_SIZE] = 'g';
	r.buf[CONTROL_INFO_FIXED_SIZE + 5] = 0;
	CHECK_EQ(control_info_decode(r.buf, r.len, &out), -EINVAL);
	r.buf[12] = 0;
	CHECK_EQ(control_info_decode(r.buf, CONTROL_INFO_FIXED_SIZE, &out),
		 -EINVAL);
	control_reply_free(&r);
}

static void test_names(void)
{
	char name[CONTROL_NAME_MAX + 2];

	CHECK(control_name_valid("guest-1"));
	CHECK(control_name_valid("a.b_C-9"));
	CHECK(!control_name_valid(""));
	CHECK(!control_name_valid(".hidden"));
	CHECK(!control_name_valid(".."));
	CHECK(!control_name_valid("a/b"));
	CHECK(!control_name_valid("a b"));
	CHECK(!control_name_valid("caf\xc3\xa9"));
	memset(name, 'n', CONTROL_NAME_MAX);
	name[CONTROL_NAME_MAX] = 0;
	CHECK(control_name_valid(name));
	name[CONTROL_NAME_MAX] = 'n';
	name[CONTROL_NAME_MAX + 1] = 0;
	CHECK(!control_name_valid(name));
	CHECK(!strcmp(control_cmd_name(CONTROL_CMD_STOP), "stop"));
	CHECK(!strcmp(control_cmd_name(CONTROL_CMD_STOP | CONTROL_REPLY_BIT),
		      "stop"));
	CHECK(!strcmp(control_cmd_name(0), "unknown"));
	CHECK(!strcmp(control_cmd_name(999), "unknown"));
	CHECK(!strcmp(control_state_name(CONTROL_STATE_PAUSED), "paused"));
	CHECK(!strcmp(control_state_name(77), "unknown"));
}

static void test_sock_path(void)
{
	char path[108], longhome[200];

	setenv("HOME", "/home/u", 1);
	CHECK_EQ(control_sock_path("vm1", path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/home/u/.lkvm/vm1.sock"));
	CHECK_EQ(control_sock_dir(path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/home/u/.lkvm"));
	CHECK_EQ(control_sock_path("../x", path, sizeof(path)), -EINVAL);
	CHECK_EQ(control_sock_path("vm1", path, 10), -ENAMETOOLONG);
	/* sun_path is 108 bytes: a long HOME must fail cleanly. */
	memset(longhome, 'h', sizeof(longhome) - 1);
	longhome[0] = '/';
	longhome[sizeof(longhome) - 1] = 0;
	setenv("HOME", longhome, 1);
	CHECK_EQ(control_sock_path("vm1", path, sizeof(path)), -ENAMETOOLONG);
	/* No HOME at all falls back to the passwd entry. */
	unsetenv("HOME");
	CHECK_EQ(control_sock_dir(path, sizeof(path)), 0);
}

UNIT_MAIN("control-proto",
	  UNIT_TEST(test_req_round_trip),
	  UNIT_TEST(test_encode_rejects),
	  UNIT_TEST(test_truncated),
	  UNIT_TEST(test_bad_magic),
	  UNIT_TEST(test_bad_version),
	  UNIT_TEST(test_oversized),
	  UNIT_TEST(test_unknown_flags),
	  UNIT_TEST(test_decode_rejects),
	  UNIT_TEST(test_reply_round_trip),
	  UNIT_TEST(test_reply_limit),
	  UNIT_TEST(test_printf_long),
	  UNIT_TEST(test_hexdump),
	  UNIT_TEST(test_hexdump_max),
	  UNIT_TEST(test_info),
	  UNIT_TEST(test_names),
	  UNIT_TEST(test_sock_path))
