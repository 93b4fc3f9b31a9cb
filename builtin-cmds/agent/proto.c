// SPDX-License-Identifier: GPL-2.0
/* The agent protocol's framing and EXEC encoding (proto.h): pure code. */
#include <stdlib.h>
#include <string.h>

#include "builtin-cmds/agent/proto.h"

uint32_t agent_get_u32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void agent_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

void agent_hdr_encode(void *buf, uint32_t type, uint32_t len)
{
	agent_put_u32(buf, type);
	agent_put_u32((uint8_t *)buf + 4, len);
}

long agent_frame_parse(const void *buf, size_t len, struct agent_frame *f)
{
	const uint8_t *p = buf;
	uint32_t type, plen;

	if (len < AGENT_HDR_SIZE)
		return 0;
	type = agent_get_u32(p);
	plen = agent_get_u32(p + 4);
	if (!type || type >= AGENT_MSG_NR || plen > AGENT_MSG_MAX)
		return -1;
	if (len - AGENT_HDR_SIZE < plen)
		return 0;
	f->type = type;
	f->len = plen;
	f->payload = p + AGENT_HDR_SIZE;
	return AGENT_HDR_SIZE + plen;
}

static long put_str(uint8_t *buf, size_t size, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (off > size || n > size - off)
		return -1;
	memcpy(buf + off, s, n);
	return off + n;
}

long agent_exec_encode(const struct agent_exec *e, void *buf, size_t size)
{
	long off = 8;
	unsigned int i;

	if (size > AGENT_MSG_MAX)
		size = AGENT_MSG_MAX;
	if (size < 8 || !e->argc || e->argc > AGENT_ARGS_MAX ||
	    e->envc > AGENT_ARGS_MAX)
		return -1;
	agent_put_u32(buf, e->argc);
	agent_put_u32((uint8_t *)buf + 4, e->envc);
	off = put_str(buf, size, off, e->cwd ? e->cwd : "/");
	for (i = 0; i < e->argc && off >= 0; i++)
		off = put_str(buf, size, off, e->argv[i]);
	for (i = 0; i < e->envc && off >= 0; i++)
		off = put_str(buf, size, off, e->env[i]);
	return off;
}

/* The next NUL-terminated string at *off, or NULL. */
static const char *get_str(const uint8_t *p, uint32_t len, uint32_t *off)
{
	const uint8_t *nul;
	const char *s;

	if (*off >= len)
		return NULL;
	nul = memchr(p + *off, 0, len - *off);
	if (!nul)
		return NULL;
	s = (const char *)p + *off;
	*off = nul - p + 1;
	return s;
}

int agent_exec_decode(const uint8_t *p, uint32_t len, struct agent_exec *e)
{
	uint32_t off = 8, i;

	memset(e, 0, sizeof(*e));
	if (len < 8)
		return -1;
	e->argc = agent_get_u32(p);
	e->envc = agent_get_u32(p + 4);
	if (!e->argc || e->argc > AGENT_ARGS_MAX || e->envc > AGENT_ARGS_MAX)
		return -1;
	e->argv = calloc(e->argc + 1, sizeof(*e->argv));
	e->env = calloc(e->envc + 1, sizeof(*e->env));
	if (!e->argv || !e->env)
		goto err;
	e->cwd = get_str(p, len, &off);
	if (!e->cwd)
		goto err;
	for (i = 0; i < e->argc; i++)
		if (!(e->argv[i] = get_str(p, len, &off)))
			goto err;
	for (i = 0; i < e->envc; i++)
		if (!(e->env[i] = get_str(p, len, &off)))
			goto err;
	if (off != len)
		goto err;
	return 0;
err:
	free(e->argv);
	free(e->env);
	e->argv = e->env = NULL;
	return -1;
}
