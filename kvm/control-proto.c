// SPDX-License-Identifier: GPL-2.0
/*
 * Encoder and decoder for the control protocol (layout in control-proto.h).
 * Bytes are assembled one at a time so the code is the same on any host
 * endianness and never reads through a misaligned pointer.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/control-proto.h"

static void put_le16(u8 *p, u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(u8 *p, u32 v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

static void put_le64(u8 *p, u64 v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static u16 get_le16(const u8 *p)
{
	return p[0] | (u16)p[1] << 8;
}

static u32 get_le32(const u8 *p)
{
	return get_le16(p) | (u32)get_le16(p + 2) << 16;
}

static u64 get_le64(const u8 *p)
{
	return get_le32(p) | (u64)get_le32(p + 4) << 32;
}

ssize_t control_msg_frame(const void *buf, size_t len, size_t max,
			  struct control_msg *msg)
{
	const u8 *p = buf;
	u32 plen;

	/* Check the magic on a partial header too: fail garbage early. */
	for (size_t i = 0; i < MIN(len, (size_t)4); i++)
		if (p[i] != (u8)(CONTROL_MAGIC >> (8 * i)))
			return -EPROTO;
	if (len < CONTROL_HDR_SIZE)
		return 0;
	if (get_le16(p + 4) != CONTROL_VERSION)
		return -EPROTONOSUPPORT;
	if (get_le32(p + 8) & ~CONTROL_F_KNOWN)
		return -EINVAL;
	plen = get_le32(p + 16);
	/* Compare without adding: plen may be near 4 GiB. */
	if (max < CONTROL_HDR_SIZE || plen > max - CONTROL_HDR_SIZE)
		return -EMSGSIZE;
	if (len - CONTROL_HDR_SIZE < plen)
		return 0;

	msg->version = get_le16(p + 4);
	msg->cmd = get_le16(p + 6);
	msg->flags = get_le32(p + 8);
	msg->seq = get_le32(p + 12);
	msg->len = plen;
	msg->payload = p + CONTROL_HDR_SIZE;
	return CONTROL_HDR_SIZE + (size_t)plen;
}

void control_hdr_encode(void *buf, u16 cmd, u32 flags, u32 seq, u32 len)
{
	u8 *p = buf;

	put_le32(p, CONTROL_MAGIC);
	put_le16(p + 4, CONTROL_VERSION);
	put_le16(p + 6, cmd);
	put_le32(p + 8, flags);
	put_le32(p + 12, seq);
	put_le32(p + 16, len);
}

/* Argument block size of each command; -1 marks a hole in the table. */
static int req_args_size(u16 cmd)
{
	switch (cmd) {
	case CONTROL_CMD_LIST_INFO:
	case CONTROL_CMD_STOP:
	case CONTROL_CMD_PAUSE:
	case CONTROL_CMD_RESUME:
	case CONTROL_CMD_MIGRATE_STATUS:
	case CONTROL_CMD_MIGRATE_CANCEL:
	case CONTROL_CMD_NET_INFO:
	case CONTROL_CMD_VSOCK_PATH:
	case CONTROL_CMD_POWER_BUTTON:
		return 0;
	case CONTROL_CMD_MIGRATE:
		return 16 + CONTROL_URI_MAX;
	case CONTROL_CMD_DEBUG_REGS:
	case CONTROL_CMD_DEBUG_NMI:
		return 4;
	case CONTROL_CMD_DEBUG_MEM:
		return 16;
	case CONTROL_CMD_DEBUG_SYSRQ:
		return 1;
	case CONTROL_CMD_DEBUG_PGWALK:
		return 16;
	}
	return -1;
}

/*
 * A URI of printable ASCII, NUL-terminated and NUL-padded (so that a
 * decoded request encodes to the same bytes), and known flags, not both
 * PAUSED and RESUME.
 */
static int migrate_args_valid(const struct control_req *req)
{
	size_t n = strnlen(req->uri, CONTROL_URI_MAX), i;

	if (!n || n == CONTROL_URI_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (req->uri[i] < 0x20 || req->uri[i] > 0x7e)
			return -EINVAL;
	for (; i < CONTROL_URI_MAX; i++)
		if (req->uri[i])
			return -EINVAL;
	if ((req->mflags & ~CONTROL_MIGRATE_KNOWN) ||
	    ((req->mflags & CONTROL_MIGRATE_PAUSED) &&
	     (req->mflags & CONTROL_MIGRATE_RESUME)))
		return -EINVAL;
	return 0;
}

/* Shared by encoder and decoder so that neither accepts what the other won't. */
static int req_args_valid(const struct control_req *req)
{
	switch (req->cmd) {
	case CONTROL_CMD_DEBUG_REGS:
		if (req->vcpu < CONTROL_VCPU_ALL)
			return -EINVAL;
		break;
	case CONTROL_CMD_DEBUG_NMI:
		if (req->vcpu < 0)
			return -EINVAL;
		break;
	case CONTROL_CMD_DEBUG_PGWALK:
		/* At the PC, a gva would be ignored: refuse the ambiguity. */
		if (req->vcpu < 0 || (req->walk_pc && req->gpa))
			return -EINVAL;
		break;
	case CONTROL_CMD_DEBUG_MEM:
		if (!req->len || req->len > CONTROL_DEBUG_MEM_MAX ||
		    req->gpa + req->len < req->gpa)
			return -EINVAL;
		break;
	case CONTROL_CMD_DEBUG_SYSRQ:
		/* Printable ASCII only: it will be echoed in a reply. */
		if (req->key < 0x21 || req->key > 0x7e)
			return -EINVAL;
		break;
	case CONTROL_CMD_MIGRATE:
		return migrate_args_valid(req);
	}
	return 0;
}

ssize_t control_req_encode(const struct control_req *req, void *buf,
			   size_t size)
{
	int asize = req_args_size(req->cmd);
	u8 *p = buf, *a;

	if (asize < 0 || req_args_valid(req))
		return -EINVAL;
	if (size < (size_t)CONTROL_HDR_SIZE + asize)
		return -ENOSPC;

	control_hdr_encode(p, req->cmd, 0, req->seq, asize);
	a = p + CONTROL_HDR_SIZE;
	switch (req->cmd) {
	case CONTROL_CMD_DEBUG_REGS:
	case CONTROL_CMD_DEBUG_NMI:
		put_le32(a, (u32)req->vcpu);
		break;
	case CONTROL_CMD_DEBUG_MEM:
		put_le64(a, req->gpa);
		put_le64(a + 8, req->len);
		break;
	case CONTROL_CMD_DEBUG_SYSRQ:
		a[0] = req->key;
		break;
	case CONTROL_CMD_DEBUG_PGWALK:
		put_le32(a, (u32)req->vcpu);
		put_le32(a + 4, req->walk_pc ? CONTROL_PGWALK_PC : 0);
		put_le64(a + 8, req->gpa);
		break;
	case CONTROL_CMD_MIGRATE:
		put_le64(a, req->speed);
		put_le32(a + 8, req->downtime_ms);
		put_le32(a + 12, req->mflags);
		memcpy(a + 16, req->uri, CONTROL_URI_MAX);
		break;
	}
	return CONTROL_HDR_SIZE + asize;
}

int control_req_decode(const struct control_msg *msg, struct control_req *req)
{
	const u8 *a = msg->payload;
	int asize;

	memset(req, 0, sizeof(*req));
	req->cmd = msg->cmd;
	req->seq = msg->seq;
	if (msg->cmd & CONTROL_REPLY_BIT)
		return -EINVAL;
	asize = req_args_size(msg->cmd);
	if (asize < 0 || (msg->flags & CONTROL_F_MORE))
		return -EOPNOTSUPP;
	if (msg->len != (u32)asize)
		return -EINVAL;

	switch (msg->cmd) {
	case CONTROL_CMD_DEBUG_REGS:
	case CONTROL_CMD_DEBUG_NMI:
		req->vcpu = (s32)get_le32(a);
		break;
	case CONTROL_CMD_DEBUG_MEM:
		req->gpa = get_le64(a);
		req->len = get_le64(a + 8);
		break;
	case CONTROL_CMD_DEBUG_SYSRQ:
		req->key = (char)a[0];
		break;
	case CONTROL_CMD_DEBUG_PGWALK:
		req->vcpu = (s32)get_le32(a);
		if (get_le32(a + 4) & ~CONTROL_PGWALK_KNOWN)
			return -EINVAL;
		req->walk_pc = get_le32(a + 4) & CONTROL_PGWALK_PC;
		req->gpa = get_le64(a + 8);
		break;
	case CONTROL_CMD_MIGRATE:
		req->speed = get_le64(a);
		req->downtime_ms = get_le32(a + 8);
		req->mflags = get_le32(a + 12);
		memcpy(req->uri, a + 16, CONTROL_URI_MAX);
		break;
	}
	return req_args_valid(req);
}

ssize_t control_reply_encode(u16 cmd, u32 seq, const struct control_reply *r,
			     u8 **out)
{
	size_t dlen = MIN(r->len, (size_t)CONTROL_REPLY_DATA_MAX);
	size_t total = CONTROL_HDR_SIZE + CONTROL_REPLY_HEAD_SIZE + dlen;
	u8 *p;

	p = malloc(total);
	if (!p)
		return -ENOMEM;
	control_hdr_encode(p, cmd | CONTROL_REPLY_BIT, 0, seq,
			   CONTROL_REPLY_HEAD_SIZE + dlen);
	/* Anything but 0 or an errno would be refused by the reader. */
	put_le32(p + CONTROL_HDR_SIZE,
		 (u32)(r->status > 0 || r->status < -4095 ? -EIO : r->status));
	put_le32(p + CONTROL_HDR_SIZE + 4, r->format);
	if (dlen)
		memcpy(p + CONTROL_HDR_SIZE + CONTROL_REPLY_HEAD_SIZE, r->buf,
		       dlen);
	*out = p;
	return total;
}

int control_reply_decode(const struct control_msg *msg, u16 cmd,
			 struct control_reply *r)
{
	s32 status;

	control_reply_reset(r);
	/* A bare CONTROL_REPLY_BIT answers a request too garbled to name. */
	if ((msg->cmd != (cmd | CONTROL_REPLY_BIT) &&
	     msg->cmd != CONTROL_REPLY_BIT) ||
	    (msg->flags & CONTROL_F_MORE) ||
	    msg->len < CONTROL_REPLY_HEAD_SIZE)
		return -EINVAL;
	status = (s32)get_le32(msg->payload);
	/* Below -4095 is no errno either (the kernel's MAX_ERRNO). */
	if (status > 0 || status < -4095)
		return -EINVAL;
	r->status = status;
	r->format = get_le32(msg->payload + 4);
	return control_reply_append(r, msg->payload + CONTROL_REPLY_HEAD_SIZE,
				    msg->len - CONTROL_REPLY_HEAD_SIZE);
}

/* Make room for need more bytes plus a NUL. */
static int reply_reserve(struct control_reply *r, size_t need)
{
	size_t cap;
	char *buf;

	if (r->len + need + 1 <= r->cap)
		return 0;
	cap = r->cap ? r->cap : 256;
	while (cap < r->len + need + 1)
		cap *= 2;
	buf = realloc(r->buf, cap);
	if (!buf)
		return -ENOMEM;
	r->buf = buf;
	r->cap = cap;
	return 0;
}

int control_reply_append(struct control_reply *r, const void *data,
			 size_t len)
{
	size_t room = CONTROL_REPLY_DATA_MAX - r->len;
	int ret = 0;

	if (len > room) {
		r->truncated = true;
		len = room;
		ret = -EMSGSIZE;
	}
	if (reply_reserve(r, len))
		return -ENOMEM;
	if (len)
		memcpy(r->buf + r->len, data, len);
	r->len += len;
	r->buf[r->len] = 0;
	return ret;
}

int control_reply_vprintf(struct control_reply *r, const char *fmt,
			  va_list ap)
{
	char small[256];
	va_list aq;
	char *big;
	int n, ret;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return control_reply_append(r, small, n);

	big = malloc(n + 1);
	if (!big)
		return -ENOMEM;
	vsnprintf(big, n + 1, fmt, ap);
	ret = control_reply_append(r, big, n);
	free(big);
	return ret;
}

int control_reply_printf(struct control_reply *r, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = control_reply_vprintf(r, fmt, ap);
	va_end(ap);
	return ret;
}

void control_reply_reset(struct control_reply *r)
{
	r->status = 0;
	r->format = CONTROL_FMT_TEXT;
	r->len = 0;
	r->truncated = false;
	if (r->buf)
		r->buf[0] = 0;
}

void control_reply_free(struct control_reply *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int control_reply_hexdump(struct control_reply *r, u64 addr, const void *data,
			  size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const u8 *p = data;
	size_t off, i;
	int ret;

	for (off = 0; off < len; off += 16) {
		size_t n = MIN(len - off, (size_t)16);
		char line[96], *s = line;

		s += sprintf(s, "%016llx ", (unsigned long long)(addr + off));
		for (i = 0; i < 16; i++) {
			if (i == 8)
				*s++ = ' ';
			*s++ = ' ';
			*s++ = i < n ? hex[p[off + i] >> 4] : ' ';
			*s++ = i < n ? hex[p[off + i] & 15] : ' ';
		}
		*s++ = ' ';
		*s++ = ' ';
		*s++ = '|';
		for (i = 0; i < n; i++) {
			u8 c = p[off + i];

			*s++ = c >= 0x20 && c < 0x7f ? c : '.';
		}
		*s++ = '|';
		*s++ = '\n';
		ret = control_reply_append(r, line, s - line);
		if (ret)
			return ret;
	}
	return 0;
}

int control_info_encode(const struct control_info *info,
			struct control_reply *r)
{
	u8 rec[CONTROL_INFO_FIXED_SIZE + CONTROL_NAME_MAX];
	size_t nlen = strnlen(info->name, sizeof(info->name));

	if (nlen > CONTROL_NAME_MAX)
		return -EINVAL;
	put_le32(rec, info->pid);
	put_le32(rec + 4, info->state);
	put_le32(rec + 8, info->nr_vcpus);
	put_le32(rec + 12, nlen);
	put_le64(rec + 16, info->mem_mib);
	put_le64(rec + 24, info->uptime_s);
	memcpy(rec + CONTROL_INFO_FIXED_SIZE, info->name, nlen);
	control_reply_reset(r);
	r->format = CONTROL_FMT_INFO;
	return control_reply_append(r, rec, CONTROL_INFO_FIXED_SIZE + nlen);
}

int control_info_decode(const void *data, size_t len,
			struct control_info *info)
{
	const u8 *p = data;
	u32 nlen;

	memset(info, 0, sizeof(*info));
	if (len < CONTROL_INFO_FIXED_SIZE)
		return -EINVAL;
	nlen = get_le32(p + 12);
	if (nlen > CONTROL_NAME_MAX || len != CONTROL_INFO_FIXED_SIZE + nlen)
		return -EINVAL;
	info->pid = get_le32(p);
	info->state = get_le32(p + 4);
	info->nr_vcpus = get_le32(p + 8);
	info->mem_mib = get_le64(p + 16);
	info->uptime_s = get_le64(p + 24);
	memcpy(info->name, p + CONTROL_INFO_FIXED_SIZE, nlen);
	info->name[nlen] = 0;
	/*
	 * The name is printed and used as a file name: hold it to the rules,
	 * and refuse a NUL inside, which would silently shorten it.
	 */
	if (strlen(info->name) != nlen || !control_name_valid(info->name))
		return -EINVAL;
	return 0;
}

const char *control_cmd_name(u16 cmd)
{
	static const char *const names[CONTROL_CMD_NR] = {
		[CONTROL_CMD_LIST_INFO] = "list-info",
		[CONTROL_CMD_STOP] = "stop",
		[CONTROL_CMD_PAUSE] = "pause",
		[CONTROL_CMD_RESUME] = "resume",
		[CONTROL_CMD_DEBUG_REGS] = "debug-regs",
		[CONTROL_CMD_DEBUG_MEM] = "debug-mem",
		[CONTROL_CMD_DEBUG_NMI] = "debug-nmi",
		[CONTROL_CMD_DEBUG_SYSRQ] = "debug-sysrq",
		[CONTROL_CMD_DEBUG_PGWALK] = "debug-pgwalk",
		[CONTROL_CMD_NET_INFO] = "net-info",
		[CONTROL_CMD_VSOCK_PATH] = "vsock-path",
		[CONTROL_CMD_POWER_BUTTON] = "power-button",
		[CONTROL_CMD_MIGRATE] = "migrate",
		[CONTROL_CMD_MIGRATE_STATUS] = "migrate-status",
		[CONTROL_CMD_MIGRATE_CANCEL] = "migrate-cancel",
	};

	cmd &= ~CONTROL_REPLY_BIT;
	if (cmd < CONTROL_CMD_NR && names[cmd])
		return names[cmd];
	return "unknown";
}

const char *control_state_name(u32 state)
{
	switch (state) {
	case CONTROL_STATE_RUNNING:
		return "running";
	case CONTROL_STATE_PAUSED:
		return "paused";
	case CONTROL_STATE_STOPPING:
		return "stopping";
	case CONTROL_STATE_MIGRATING:
		return "migrating";
	case CONTROL_STATE_INCOMING:
		return "incoming";
	}
	return "unknown";
}

bool control_name_valid(const char *name)
{
	size_t i;

	if (!name[0] || name[0] == '.')
		return false;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i == CONTROL_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int control_sock_dir(char *buf, size_t size)
{
	const char *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	int n;

	/* A daemon or sudo may run without HOME; the passwd entry still holds. */
	if (!home || !home[0]) {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) ||
		    !res || !res->pw_dir || !res->pw_dir[0])
			return -ENOENT;
		home = res->pw_dir;
	}
	n = snprintf(buf, size, "%s/.lkvm", home);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int control_sock_path(const char *name, char *buf, size_t size)
{
	struct sockaddr_un sun;
	size_t dlen;
	int ret;

	if (!control_name_valid(name))
		return -EINVAL;
	ret = control_sock_dir(buf, size);
	if (ret)
		return ret;
	dlen = strlen(buf);
	if (dlen + 1 + strlen(name) + 5 >= MIN(size, sizeof(sun.sun_path)))
		return -ENAMETOOLONG;
	sprintf(buf + dlen, "/%s.sock", name);
	return 0;
}
