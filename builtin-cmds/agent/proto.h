/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol between lkvm and its guest agent (builtin-cmds/agent/agent.c)
 * over one vsock stream.  Shared by both sides: the agent is a separate
 * static program, so this and proto.c use libc alone.
 *
 * Every message is an 8-byte header, then its payload:
 *
 *   off  size  field
 *     0     4  type   enum agent_msg
 *     4     4  len    payload bytes that follow, at most AGENT_MSG_MAX
 *
 * little endian, as are the u32s inside payloads.  A session:
 *
 *   agent: HELLO (u32 version)
 *   host:  EXEC (the command), then STDIN... STDIN_EOF, maybe SIGNAL
 *   agent: STDOUT... STDERR... STDOUT_EOF, STDERR_EOF, then EXIT
 *   host:  POWEROFF, or another EXEC on a new connection
 *
 * EXEC's payload: u32 argc, u32 envc, then NUL-terminated strings: the
 * working directory, argc arguments, envc "NAME=value" strings.  EXIT's:
 * u32 how (AGENT_EXITED or AGENT_KILLED) and u32 the code or signal.  A
 * command that cannot be started exits 127 (not found) or 126, with the
 * reason on its stderr, as a shell does.  ERROR (text) ends a session
 * the agent cannot serve.
 */
#ifndef LKVM_AGENT_PROTO_H
#define LKVM_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_VERSION 1
/*
 * The guest port the agent listens on (--agent, lkvm exec), and the host
 * port it connects to as init (lkvm run -- CMD).
 */
#define AGENT_PORT 19531	/* 0x4c4b, "LK" */

#define AGENT_HDR_SIZE 8
#define AGENT_MSG_MAX (256 * 1024)
#define AGENT_IO_CHUNK (32 * 1024)	/* stdio data per message */
#define AGENT_ARGS_MAX 4096		/* arguments, and environment strings */

enum agent_msg {
	AGENT_HELLO = 1,	/* agent: u32 version */
	AGENT_EXEC = 2,		/* host: the command */
	AGENT_STDIN = 3,	/* host: data */
	AGENT_STDIN_EOF = 4,
	AGENT_SIGNAL = 5,	/* host: u32 signal, for the command's group */
	AGENT_POWEROFF = 6,	/* host: sync and power the guest off */
	AGENT_STDOUT = 7,	/* agent: data */
	AGENT_STDERR = 8,
	AGENT_STDOUT_EOF = 9,
	AGENT_STDERR_EOF = 10,
	AGENT_EXIT = 11,	/* agent: u32 how, u32 code or signal */
	AGENT_ERROR = 12,	/* agent: text */
	AGENT_MSG_NR,
};

enum { AGENT_EXITED = 0, AGENT_KILLED = 1 };

struct agent_frame {
	uint32_t type;
	uint32_t len;
	const uint8_t *payload;
};

/*
 * Frame one message at the start of buf[0..len).  Returns its size when
 * it is all there (and fills *f), 0 when more bytes are needed, -1 for a
 * message that can never be valid (unknown type, too long).
 */
long agent_frame_parse(const void *buf, size_t len, struct agent_frame *f);
/* Write a header for a payload of @len bytes; @buf holds AGENT_HDR_SIZE. */
void agent_hdr_encode(void *buf, uint32_t type, uint32_t len);

struct agent_exec {
	const char *cwd;
	unsigned int argc, envc;
	const char **argv;	/* argc of them, then NULL */
	const char **env;	/* envc of them, then NULL */
};

/*
 * EXEC's payload into buf[0..size): its length, or -1 if it does not fit
 * (or AGENT_MSG_MAX, or more than AGENT_ARGS_MAX strings).
 */
long agent_exec_encode(const struct agent_exec *e, void *buf, size_t size);
/*
 * Decode EXEC's payload.  The strings point into @payload, whose bytes
 * stay; argv and env are allocated here (free both).  -1 for a payload
 * that lies: counts beyond AGENT_ARGS_MAX, a string without its NUL,
 * bytes left over, argc 0.
 */
int agent_exec_decode(const uint8_t *payload, uint32_t len,
		      struct agent_exec *e);

uint32_t agent_get_u32(const uint8_t *p);
void agent_put_u32(uint8_t *p, uint32_t v);

#endif
