/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control protocol: what `lkvm list/stop/pause/resume/debug` (and later
 * `migrate`) say to a running lkvm over its Unix socket.
 *
 * Every message, in either direction, is a 20-byte header followed by
 * `len` bytes of payload.  All integers are little endian, at any offset
 * (we never cast a buffer to a struct, so alignment does not matter).
 *
 *   off  size  field
 *     0     4  magic    CONTROL_MAGIC, "LKVC" in memory order
 *     4     2  version  CONTROL_VERSION
 *     6     2  cmd      a request's enum control_cmd; a reply sets
 *                       CONTROL_REPLY_BIT on the command it answers
 *     8     4  flags    CONTROL_F_*
 *    12     4  seq      chosen by the client, echoed in the reply
 *    16     4  len      payload bytes that follow
 *
 * A request's payload is its command's fixed argument block (below).  A
 * reply's payload is an 8-byte head, status (s32: 0 or -errno) and format
 * (enum control_fmt), then the data.
 *
 * Sizes are bounded on both sides: a whole request is at most
 * CONTROL_REQ_MAX bytes and a whole reply at most CONTROL_REPLY_MAX.  The
 * header alone decides a message's size, so a reader can refuse a liar
 * before it has buffered anything.
 *
 * Large binary payloads could travel as a run of messages with the same
 * cmd, each but the last carrying CONTROL_F_MORE; each chunk stays under
 * the size limit, so no reader ever buffers more than one chunk.  No
 * command of version 1 uses it, and servers refuse it with -EOPNOTSUPP.
 * (Migration does not: the VM itself opens the migration's URI, and the
 * control channel only starts, watches and cancels it.)
 *
 * Everything in this file is a pure function over caller-provided buffers,
 * so it can be unit-tested and fuzzed without a socket.
 */
#ifndef LKVM_CONTROL_PROTO_H
#define LKVM_CONTROL_PROTO_H

#include <stdarg.h>
#include <sys/types.h>

#include "kvm/types.h"

#define CONTROL_MAGIC 0x43564b4cU /* 'L' 'K' 'V' 'C' */
#define CONTROL_VERSION 1
#define CONTROL_HDR_SIZE 20
#define CONTROL_REPLY_HEAD_SIZE 8

#define CONTROL_REQ_MAX (64 * 1024)	/* whole request, header included */
#define CONTROL_REPLY_MAX (1024 * 1024)	/* whole reply, header included */
#define CONTROL_REPLY_DATA_MAX \
	(CONTROL_REPLY_MAX - CONTROL_HDR_SIZE - CONTROL_REPLY_HEAD_SIZE)

/* A debug --mem dump is at most this long: its hexdump fits in a reply. */
#define CONTROL_DEBUG_MEM_MAX (64 * 1024)

/* VM names: [A-Za-z0-9._-], 1..64 chars, not starting with '.'. */
#define CONTROL_NAME_MAX 64

/* Regs for every vCPU rather than one. */
#define CONTROL_VCPU_ALL (-1)

/* MIGRATE: the URI, NUL-padded; its flags. */
#define CONTROL_URI_MAX 1024
#define CONTROL_MIGRATE_DETACH (1U << 0)	/* no client waits for the end */
#define CONTROL_MIGRATE_PAUSED (1U << 1)	/* a save leaves the source paused */
#define CONTROL_MIGRATE_RESUME (1U << 2)	/* a save lets the source run on */
#define CONTROL_MIGRATE_KNOWN (CONTROL_MIGRATE_DETACH | \
			       CONTROL_MIGRATE_PAUSED | CONTROL_MIGRATE_RESUME)
/* The largest request argument block (MIGRATE's). */
#define CONTROL_REQ_ARGS_MAX (16 + CONTROL_URI_MAX)

enum control_cmd {
	CONTROL_CMD_LIST_INFO = 1,	/* no args; reply CONTROL_FMT_INFO */
	CONTROL_CMD_STOP = 2,		/* no args */
	CONTROL_CMD_PAUSE = 3,		/* no args */
	CONTROL_CMD_RESUME = 4,		/* no args */
	CONTROL_CMD_DEBUG_REGS = 5,	/* s32 vcpu (or CONTROL_VCPU_ALL) */
	CONTROL_CMD_DEBUG_MEM = 6,	/* u64 gpa, u64 len */
	CONTROL_CMD_DEBUG_NMI = 7,	/* s32 vcpu */
	CONTROL_CMD_DEBUG_SYSRQ = 8,	/* u8 key */
	CONTROL_CMD_DEBUG_PGWALK = 9,	/* s32 vcpu, u32 flags, u64 gva */
	/*
	 * No args; reply CONTROL_FMT_JSON, an array with one object per NIC
	 * (its counters).  Registered by virtio-net's module, so a VM
	 * without a NIC answers -EOPNOTSUPP.
	 */
	CONTROL_CMD_NET_INFO = 10,
	CONTROL_CMD_VSOCK_PATH = 11,	/* no args; text: the vsock Unix socket */
	CONTROL_CMD_POWER_BUTTON = 12,	/* no args: press the ACPI power button */
	/* u64 speed, u32 downtime_ms, u32 flags, char uri[CONTROL_URI_MAX] */
	CONTROL_CMD_MIGRATE = 13,
	CONTROL_CMD_MIGRATE_STATUS = 14, /* no args; text, its first word the state */
	CONTROL_CMD_MIGRATE_CANCEL = 15, /* no args */
	CONTROL_CMD_NR,			/* first unknown command */
};

#define CONTROL_REPLY_BIT 0x8000

/* DEBUG_PGWALK's flags: walk the vCPU's own PC (RIP); gva must be 0. */
#define CONTROL_PGWALK_PC (1U << 0)
#define CONTROL_PGWALK_KNOWN (CONTROL_PGWALK_PC)

/* This message is a chunk; the next one with the same cmd continues it. */
#define CONTROL_F_MORE (1U << 0)
#define CONTROL_F_KNOWN (CONTROL_F_MORE)

enum control_fmt {
	CONTROL_FMT_TEXT = 0,	/* UTF-8 text for a human, no NUL */
	CONTROL_FMT_JSON = 1,	/* one JSON value */
	CONTROL_FMT_BINARY = 2,	/* opaque bytes (migration) */
	CONTROL_FMT_INFO = 3,	/* a struct control_info record, see below */
};

enum control_state {
	CONTROL_STATE_RUNNING = 0,
	CONTROL_STATE_PAUSED = 1,
	CONTROL_STATE_STOPPING = 2,
	CONTROL_STATE_MIGRATING = 3,	/* the source of a migration in progress */
	CONTROL_STATE_INCOMING = 4,	/* a destination waiting for its guest */
};

/* One message as framed on the wire; payload points into the buffer. */
struct control_msg {
	u16 version;
	u16 cmd;
	u32 flags;
	u32 seq;
	u32 len;
	const u8 *payload;
};

/* A decoded request: the command and its arguments. */
struct control_req {
	u16 cmd;
	u32 seq;
	int vcpu;	/* DEBUG_REGS, DEBUG_NMI, DEBUG_PGWALK */
	u64 gpa;	/* DEBUG_MEM; the gva for DEBUG_PGWALK */
	u64 len;	/* DEBUG_MEM */
	bool walk_pc;	/* DEBUG_PGWALK: at the vCPU's PC, not gpa */
	char key;	/* DEBUG_SYSRQ */
	u64 speed;	/* MIGRATE: bytes per second, 0 unlimited */
	u32 downtime_ms; /* MIGRATE: 0 for the default */
	u32 mflags;	/* MIGRATE: CONTROL_MIGRATE_* */
	char uri[CONTROL_URI_MAX]; /* MIGRATE: NUL-terminated */
};

/*
 * What `lkvm list` shows.  Encoded as CONTROL_FMT_INFO, 32 bytes plus the
 * name: u32 pid, u32 state, u32 nr_vcpus, u32 name_len, u64 mem_mib,
 * u64 uptime_s, name[name_len] (no NUL).
 */
#define CONTROL_INFO_FIXED_SIZE 32
struct control_info {
	char name[CONTROL_NAME_MAX + 1];
	u32 pid;
	u32 state;	/* enum control_state */
	u32 nr_vcpus;
	u64 mem_mib;
	u64 uptime_s;
};

/*
 * A reply being built (server) or received (client).  Handlers add text
 * with control_reply_printf() and friends; the buffer grows as needed up to
 * CONTROL_REPLY_DATA_MAX and is kept NUL-terminated for the reader's
 * convenience (the NUL is not sent).  Zero-initialize before use.
 */
struct control_reply {
	int status;	/* 0 or -errno */
	u32 format;	/* enum control_fmt */
	char *buf;
	size_t len;
	size_t cap;
	bool truncated;	/* an append hit the size limit */
};

/*
 * Frame one message at the start of buf[0..len).  Returns its total size
 * (header + payload) and fills *msg when the whole message is there; 0 when
 * more bytes are needed; or a negative errno when the bytes can never form
 * a message: -EPROTO (bad magic), -EPROTONOSUPPORT (bad version), -EMSGSIZE
 * (longer than max), -EINVAL (unknown flags).  Only the header is read
 * before deciding, so a liar is refused as soon as 20 bytes have come.
 */
ssize_t control_msg_frame(const void *buf, size_t len, size_t max,
			  struct control_msg *msg);

/* Write a header for a payload of len bytes; buf must hold HDR_SIZE. */
void control_hdr_encode(void *buf, u16 cmd, u32 flags, u32 seq, u32 len);

/*
 * Encode a request into buf[0..size).  Returns the bytes written, or
 * -EINVAL for an unknown command or bad arguments, -ENOSPC if size is too
 * small.
 */
ssize_t control_req_encode(const struct control_req *req, void *buf,
			   size_t size);

/*
 * Decode a framed request's arguments.  -EOPNOTSUPP for an unknown command
 * or a chunked (CONTROL_F_MORE) request, -EINVAL for a reply, a wrong
 * argument size or an argument out of range.  req->cmd and req->seq are
 * filled even on error, so the error reply can name them.
 */
int control_req_decode(const struct control_msg *msg, struct control_req *req);

/*
 * Encode a whole reply message for cmd into a malloc'd buffer.  Returns
 * its size and sets *out, or -ENOMEM.  Data past CONTROL_REPLY_DATA_MAX is
 * cut off (control_reply_append() never lets it get that far).
 */
ssize_t control_reply_encode(u16 cmd, u32 seq, const struct control_reply *r,
			     u8 **out);

/*
 * Decode a framed reply into r (whose buffer is reset and reused).  A
 * server answers a request it could not even frame (bad magic, version or
 * size) with cmd CONTROL_REPLY_BIT alone; that is accepted for any cmd.
 * -EINVAL when msg is not a reply to cmd, is shorter than the reply head,
 * or carries a positive status; -ENOMEM.
 */
int control_reply_decode(const struct control_msg *msg, u16 cmd,
			 struct control_reply *r);

/* Append to a reply; -EMSGSIZE (and r->truncated) past the limit. */
int control_reply_append(struct control_reply *r, const void *data,
			 size_t len);
int control_reply_printf(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int control_reply_vprintf(struct control_reply *r, const char *fmt,
			  va_list ap);
/* Forget the data but keep the buffer. */
void control_reply_reset(struct control_reply *r);
void control_reply_free(struct control_reply *r);

/*
 * Append a canonical hexdump of data (len bytes that live at guest address
 * addr) for `lkvm debug --mem`:
 *   0000000000001000  48 65 6c 6c 6f 00 00 00  00 00 00 00 00 00 00 00  |Hello...........|
 */
int control_reply_hexdump(struct control_reply *r, u64 addr, const void *data,
			  size_t len);

/* Encode info into r as CONTROL_FMT_INFO; decode it back from data. */
int control_info_encode(const struct control_info *info,
			struct control_reply *r);
int control_info_decode(const void *data, size_t len,
			struct control_info *info);

const char *control_cmd_name(u16 cmd);
const char *control_state_name(u32 state);

/* True if name is a usable VM name (it becomes a file name). */
bool control_name_valid(const char *name);

/*
 * Where sockets live: $HOME/.lkvm (kvmtool's place), and NAME.sock in it.
 * -ENOENT without a home directory, -ENAMETOOLONG if the path would not
 * fit size (or a sockaddr_un), -EINVAL for a bad name.
 */
int control_sock_dir(char *buf, size_t size);
int control_sock_path(const char *name, char *buf, size_t size);

#endif
