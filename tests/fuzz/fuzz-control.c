// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the control protocol codec (kvm/control-proto.c):
 * the bytes a client or a server could send us.
 *
 * The input is read as a stream, the way the server and client read a
 * socket: frame a message, decode it as a request and as a reply, then
 * move on to the next.  Besides "no crash, no sanitizer report", it
 * checks properties:
 *   - framing never claims more bytes than it was given, nor more than the
 *     limit;
 *   - a decoded request or reply re-encodes to exactly the same bytes
 *     (nothing accepted is silently changed);
 *   - every proper prefix of a framed message frames as "need more".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/control-proto.h"
#include "tests/fuzz/fuzz.h"

static void check_request(const u8 *raw, size_t total,
			  const struct control_msg *msg)
{
	u8 enc[CONTROL_HDR_SIZE + CONTROL_REQ_ARGS_MAX];
	struct control_req req;
	ssize_t n;

	if (control_req_decode(msg, &req))
		return;
	n = control_req_encode(&req, enc, sizeof(enc));
	ASSERT(n == (ssize_t)total);
	ASSERT(!memcmp(enc, raw, total));
}

static void check_reply(const u8 *raw, size_t total,
			const struct control_msg *msg)
{
	u16 cmd = msg->cmd & ~CONTROL_REPLY_BIT;
	struct control_reply r = {};
	struct control_info info;
	size_t dump;
	ssize_t n;
	u8 *enc;

	if (control_reply_decode(msg, cmd, &r))
		goto out;
	ASSERT(r.len == msg->len - CONTROL_REPLY_HEAD_SIZE);
	ASSERT(!r.truncated);
	n = control_reply_encode(cmd, msg->seq, &r, &enc);
	ASSERT(n == (ssize_t)total);
	ASSERT(!memcmp(enc, raw, total));
	free(enc);

	if (!control_info_decode(r.buf, r.len, &info)) {
		ASSERT(control_name_valid(info.name));
		ASSERT(!control_info_encode(&info, &r));
		ASSERT(r.len == msg->len - CONTROL_REPLY_HEAD_SIZE);
		ASSERT(!memcmp(r.buf, msg->payload + CONTROL_REPLY_HEAD_SIZE,
			       r.len));
	}

	/* debug --mem formats guest bytes: any bytes must be fine. */
	control_reply_reset(&r);
	dump = MIN(msg->len, 4096U);
	ASSERT(!control_reply_hexdump(&r, msg->seq, msg->payload, dump));
	/* 87 bytes a full line; a last short line lacks 16 - n ASCII. */
	ASSERT(r.len == dump / 16 * 87 + (dump % 16 ? 71 + dump % 16 : 0));
out:
	control_reply_free(&r);
}

/* Frame one message at data as a reader with this limit would. */
static ssize_t frame_one(const u8 *data, size_t size, size_t max)
{
	struct control_msg msg;
	ssize_t n;

	n = control_msg_frame(data, size, max, &msg);
	if (n <= 0)
		return n;
	ASSERT((size_t)n <= size && (size_t)n <= max);
	ASSERT((size_t)n == CONTROL_HDR_SIZE + (size_t)msg.len);
	ASSERT(msg.payload == data + CONTROL_HDR_SIZE);
	ASSERT(msg.version == CONTROL_VERSION);
	/* A few prefixes (all of them would make the run quadratic). */
	ASSERT(control_msg_frame(data, n - 1, max, &msg) == 0);
	ASSERT(control_msg_frame(data, CONTROL_HDR_SIZE - 1, max, &msg) == 0);
	ASSERT(control_msg_frame(data, n, max, &msg) == n);

	if (max == CONTROL_REQ_MAX)
		check_request(data, n, &msg);
	else
		check_reply(data, n, &msg);
	return n;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	size_t off;
	ssize_t n;

	/* As the server reads requests... */
	for (off = 0; off < size; off += n) {
		n = frame_one(data + off, size - off, CONTROL_REQ_MAX);
		if (n <= 0)
			break;
	}
	/* ...and as a client reads replies. */
	for (off = 0; off < size; off += n) {
		n = frame_one(data + off, size - off, CONTROL_REPLY_MAX);
		if (n <= 0)
			break;
	}
	/* Names come from readdir() and replies: any bytes, NUL-terminated. */
	if (size && size < 128 && !memchr(data, 0, size)) {
		char name[128], path[256];

		memcpy(name, data, size);
		name[size] = 0;
		if (control_name_valid(name)) {
			ASSERT(!strchr(name, '/'));
			ASSERT(control_sock_path(name, path, sizeof(path)) !=
			       -EINVAL);
		}
	}
	return 0;
}
