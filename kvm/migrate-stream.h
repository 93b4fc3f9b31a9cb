/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration stream: what one lkvm sends another (or a file), and the
 * small serialisation helpers every device uses for its own state.
 *
 * A stream is a 16-byte preamble, then sections:
 *
 *   preamble:  "LKVMMIGR"  u32 version  u32 flags (MIG_F_*)
 *   section:   u32 id  u32 len  u64 sum  payload[len]
 *
 * All integers are little endian.  `sum` is mig_sum() of the payload, so
 * a flipped bit or a torn write is caught section by section.  A payload
 * is at most MIG_SECTION_MAX bytes: a reader never buffers more than
 * that, whatever a length field says.  The one exception is the RAM
 * image of a saved file (MIG_SEC_RAM_IMAGE), whose small payload
 * describes a page-aligned image that follows it, so that a restore can
 * map it instead of reading it.
 *
 * The order is fixed, and the destination checks it (kvm/migrate-in.c):
 *
 *   HEADER                 what the guest is: RAM, vCPUs, devices, CPU
 *   RAM_PAGES...           pre-copy passes (any number), or one RAM_IMAGE;
 *                          a live pass ends with SYNC (no payload)
 *   MACHINE                generic VM state
 *   ARCH_VM                irqchip, PIT, clock
 *   VCPU x nr_vcpus        one per vCPU, in order
 *   DEVICE x nr_devices    one per device, in the VM's order
 *   END
 *
 * On a two-way channel (tcp:, unix:) the destination answers with a REPLY
 * section: after HEADER (accepted, or why not), after each SYNC (all
 * before it is loaded: the pass has truly arrived, not just left for a
 * socket buffer), and after END (the guest runs here now, or why not).
 *
 * Nothing here trusts its input: every length is checked against what is
 * left, and a bad section is refused with a message naming it.
 */
#ifndef LKVM_MIGRATE_STREAM_H
#define LKVM_MIGRATE_STREAM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "kvm/types.h"

#define MIG_MAGIC "LKVMMIGR"
#define MIG_VERSION 1
#define MIG_PREAMBLE_SIZE 16
#define MIG_SECTION_HDR_SIZE 16
#define MIG_SECTION_MAX (4U << 20)
#define MIG_PAGE_SIZE 4096ULL

/* Preamble flags. */
#define MIG_F_LIVE (1U << 0)	/* two-way: the destination replies */
#define MIG_F_KNOWN (MIG_F_LIVE)

enum mig_section_id {
	MIG_SEC_HEADER = 1,
	MIG_SEC_RAM_PAGES = 2,
	MIG_SEC_RAM_IMAGE = 3,
	MIG_SEC_MACHINE = 4,
	MIG_SEC_ARCH_VM = 5,
	MIG_SEC_VCPU = 6,
	MIG_SEC_DEVICE = 7,
	MIG_SEC_END = 8,
	MIG_SEC_REPLY = 9,
	MIG_SEC_SYNC = 10,
	MIG_SEC_NR,
};

const char *mig_section_name(u32 id);

/* A 64-bit checksum (FNV-1a over 8-byte words): cheap, not cryptographic. */
u64 mig_sum(const void *buf, size_t len);

/* ---- state buffers: how a device writes and reads its own state ---- */

/*
 * A growing buffer.  Writers never check for errors between puts: the
 * first failure (out of memory) sticks in err and later puts do nothing.
 */
struct state_out {
	u8 *buf;
	size_t len;
	size_t cap;
	int err;
};

void state_put(struct state_out *o, const void *p, size_t n);
void state_put_u8(struct state_out *o, u8 v);
void state_put_u16(struct state_out *o, u16 v);
void state_put_u32(struct state_out *o, u32 v);
void state_put_u64(struct state_out *o, u64 v);
/* A u32 length, then the bytes (no NUL). */
void state_put_str(struct state_out *o, const char *s);
void state_out_free(struct state_out *o);

/*
 * A reader over one section's payload.  A get past the end, or a
 * failed check, sets err (-EPROTO) and why, and every later get returns
 * zeroes: a loader reads all its fields, then looks at err once.
 */
struct state_in {
	const u8 *p;
	size_t len;
	size_t off;
	int err;
	char why[160];
};

void state_in_init(struct state_in *in, const void *p, size_t len);
bool state_get(struct state_in *in, void *p, size_t n);
u8 state_get_u8(struct state_in *in);
u16 state_get_u16(struct state_in *in);
u32 state_get_u32(struct state_in *in);
u64 state_get_u64(struct state_in *in);
/* Into buf[size], NUL-terminated; a longer string is an error. */
bool state_get_str(struct state_in *in, char *buf, size_t size);
/* Point at the next n bytes without copying; NULL (and err) if short. */
const void *state_get_ptr(struct state_in *in, size_t n);
/* Mark the input bad with a reason (the first reason wins). */
int state_fail(struct state_in *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* 0 if all was read without error and nothing is left over. */
int state_in_end(struct state_in *in);

/* ---- the channel: a file descriptor with deadlines and a cancel ---- */

struct mig_chan {
	int fd;			/* non-blocking; -1 for a memory channel */
	u64 sent;		/* bytes written */
	u64 received;		/* bytes read, or skipped by mapping them */
	u64 mapped;		/* of those, mapped (a file's RAM image) */
	/* Optional: stop waiting when this returns true (cancel, lkvm stop). */
	bool (*abort)(void *arg);
	void *abort_arg;
	/* A peer that moves no byte for this long is given up on (0: never). */
	int idle_timeout_ms;
	/* --speed: bytes per second, 0 for no limit. */
	u64 speed;
	u64 speed_t0_ns;
	u64 speed_sent0;
	/*
	 * Buffered (mig_chan_buffer()): small writes gather here and go out
	 * together, at mig_chan_flush() or when MIG_BUFFER_MAX is reached.
	 */
	bool buffered;
	struct state_out out;
	/* A memory channel (tests, fuzzing): reads come from here. */
	const u8 *mem;
	size_t mem_len;
	/* Why the last operation failed, for the user. */
	char why[160];
};

void mig_chan_init(struct mig_chan *c, int fd);
void mig_chan_init_mem(struct mig_chan *c, const void *buf, size_t len);

/* All of buf, or -errno (-ECANCELED when abort said so, -ETIMEDOUT). */
int mig_write(struct mig_chan *c, const void *buf, size_t len);
/*
 * From now on, gather writes: the few KiB of a stop-and-copy's state
 * then cost one system call, not two per section.  mig_chan_flush()
 * writes what is gathered and ends it (@send false: drops it, after a
 * failure).
 */
#define MIG_BUFFER_MAX (1U << 20)
void mig_chan_buffer(struct mig_chan *c);
int mig_chan_flush(struct mig_chan *c, bool send);
/* All of len bytes, or -errno; -ENODATA at a clean end of stream. */
int mig_read(struct mig_chan *c, void *buf, size_t len);
/* Read and throw away len bytes. */
int mig_skip(struct mig_chan *c, u64 len);

int mig_write_preamble(struct mig_chan *c, u32 flags);
int mig_read_preamble(struct mig_chan *c, u32 *flags);

/* One whole section. */
int mig_write_section(struct mig_chan *c, u32 id, const void *payload,
		      u32 len);
/*
 * Read the next section's header and payload into a buffer that grows as
 * needed (up to MIG_SECTION_MAX; *buf is malloc'd, *cap its size).  The
 * payload's checksum is verified.  -EPROTO with c->why on anything bad.
 */
int mig_read_section(struct mig_chan *c, u32 *id, u8 **buf, size_t *cap,
		     u32 *len);

/* A REPLY: s32 status (0 or -errno) and a message. */
int mig_write_reply(struct mig_chan *c, int status, const char *msg);
/* Read a REPLY; *status and msg[size] are the destination's words. */
int mig_read_reply(struct mig_chan *c, int *status, char *msg, size_t size);

u64 mig_now_ns(void);

#endif
