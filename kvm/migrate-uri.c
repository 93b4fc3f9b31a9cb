// SPDX-License-Identifier: GPL-2.0
/*
 * Where a migration goes (QEMU's URIs):
 *
 *   tcp:HOST:PORT   the destination listens, the source connects
 *   unix:PATH       the same on a Unix socket
 *   exec:CMD        `sh -c CMD`: the source writes to its stdin, the
 *                   destination reads its stdout (exec:gzip -c > f.gz,
 *                   exec:gzip -dc < f.gz)
 *   file:PATH       a file; the one a restore maps lazily
 *
 * tcp: and unix: are two-way, so the destination can refuse and confirm:
 * they carry live migrations.  exec: and file: are one-way: saves.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include "kvm/migrate-priv.h"
#include "kvm/types.h"

extern char **environ;

int mig_uri_parse(const char *s, struct mig_uri *u, char *why, size_t wlen)
{
	const char *colon;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "tcp:", 4)) {
		u->kind = MIG_URI_TCP;
		s += 4;
		colon = strrchr(s, ':');
		if (!colon || !colon[1] ||
		    (size_t)(colon - s) >= sizeof(u->host) ||
		    strlen(colon + 1) >= sizeof(u->port) ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1))
			goto bad;
		/* [::1]:4444: the brackets are only there for the colons. */
		if (colon - s >= 2 && *s == '[' && colon[-1] == ']')
			snprintf(u->host, sizeof(u->host), "%.*s",
				 (int)(colon - s - 2), s + 1);
		else
			snprintf(u->host, sizeof(u->host), "%.*s",
				 (int)(colon - s), s);
		strcpy(u->port, colon + 1);
		return 0;
	}
	if (!strncmp(s, "unix:", 5))
		u->kind = MIG_URI_UNIX;
	else if (!strncmp(s, "exec:", 5))
		u->kind = MIG_URI_EXEC;
	else if (!strncmp(s, "file:", 5))
		u->kind = MIG_URI_FILE;
	else
		goto bad;
	s += 5;
	if (!*s || strlen(s) >= sizeof(u->path) ||
	    (u->kind == MIG_URI_UNIX &&
	     strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path)))
		goto bad;
	strcpy(u->path, s);
	return 0;
bad:
	snprintf(why, wlen,
		 "'%s': not a migration URI (tcp:HOST:PORT, unix:PATH, exec:CMD, file:PATH)",
		 s);
	return -EINVAL;
}

bool mig_uri_live(const struct mig_uri *u)
{
	return u->kind == MIG_URI_TCP || u->kind == MIG_URI_UNIX;
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ? -errno : 0;
}

/* Wait for fd, looking at abort every 100 ms. */
static int wait_abort(int fd, short ev, bool (*abort)(void *), void *arg)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int n;

	for (;;) {
		if (abort && abort(arg))
			return -ECANCELED;
		n = poll(&p, 1, 100);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int fail(char *why, size_t wlen, int err, const char *what,
		const char *where)
{
	snprintf(why, wlen, "%s %s: %s", what, where,
		 err == -ECANCELED ? "cancelled" : strerror(-err));
	return err;
}

/* A non-blocking connect that a cancel can interrupt. */
static int connect_abort(int fd, const struct sockaddr *sa, socklen_t len,
			 bool (*abort)(void *), void *arg)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (nonblock(fd))
		return -errno;
	if (!connect(fd, sa, len))
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	err = wait_abort(fd, POLLOUT, abort, arg);
	if (err)
		return err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl))
		return -errno;
	return -err;
}

/*
 * A numeric address needs no resolver: a static lkvm (the one in the
 * tests' emulated L1) has no NSS modules to load.  An empty host is the
 * loopback for a client, any address for a server.
 */
static struct addrinfo *numeric_addr(const struct mig_uri *u, bool passive)
{
	static struct sockaddr_in6 a6;
	static struct sockaddr_in a4;
	static struct addrinfo ai;
	unsigned long port = strtoul(u->port, NULL, 10);

	memset(&ai, 0, sizeof(ai));
	ai.ai_socktype = SOCK_STREAM;
	if (port > 65535)
		return NULL;
	a4 = (struct sockaddr_in){ .sin_family = AF_INET,
				   .sin_port = htons(port) };
	a6 = (struct sockaddr_in6){ .sin6_family = AF_INET6,
				    .sin6_port = htons(port) };
	if (!u->host[0]) {
		a4.sin_addr.s_addr = htonl(passive ? INADDR_ANY :
						     INADDR_LOOPBACK);
	} else if (inet_pton(AF_INET6, u->host, &a6.sin6_addr) == 1) {
		ai.ai_family = AF_INET6;
		ai.ai_addr = (struct sockaddr *)&a6;
		ai.ai_addrlen = sizeof(a6);
		return &ai;
	} else if (inet_pton(AF_INET, u->host, &a4.sin_addr) != 1) {
		return NULL;
	}
	ai.ai_family = AF_INET;
	ai.ai_addr = (struct sockaddr *)&a4;
	ai.ai_addrlen = sizeof(a4);
	return &ai;
}

/* getaddrinfo(), or the numeric address; free with free_addr(). */
static int resolve(const struct mig_uri *u, bool passive,
		   struct addrinfo **ai)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = passive ? AI_PASSIVE : 0 };

	*ai = numeric_addr(u, passive);
	if (*ai)
		return 0;
	return getaddrinfo(u->host, u->port, &hints, ai) ? -EHOSTUNREACH : 1;
}

static void free_addr(struct addrinfo *ai, int how)
{
	if (how == 1)
		freeaddrinfo(ai);
}

static int tcp_connect(struct mig_endpoint *e, bool (*abort)(void *),
		       void *arg)
{
	struct addrinfo *ai, *a;
	int fd = -1, r, one = 1, how;

	how = resolve(&e->uri, false, &ai);
	if (how < 0)
		return how;
	r = -ECONNREFUSED;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		r = connect_abort(fd, a->ai_addr, a->ai_addrlen, abort, arg);
		if (!r)
			break;
		close(fd);
		fd = -1;
	}
	free_addr(ai, how);
	if (fd < 0)
		return r;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	/* mig_uri_parse() checked that it fits. */
	memcpy(sun->sun_path, path, MIN(strlen(path), sizeof(sun->sun_path) - 1));
	return 0;
}

static int unix_connect(struct mig_endpoint *e, bool (*abort)(void *),
			void *arg)
{
	struct sockaddr_un sun;
	int fd, r;

	unix_addr(e->uri.path, &sun);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect_abort(fd, (struct sockaddr *)&sun, sizeof(sun), abort, arg);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/*
 * `sh -c CMD` with one end of a pipe as its stdin (source) or stdout
 * (destination).  Every signal lkvm blocks or ignores goes back to its
 * default in the child.  The source's command writes its own stdout to
 * lkvm's stderr: stdout is the guest's console.
 */
static int spawn(struct mig_endpoint *e, bool to_child)
{
	char *argv[] = { "sh", "-c", e->uri.path, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_init(&fa);
	if (to_child) {
		posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
		posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO,
						 STDOUT_FILENO);
	} else {
		posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
						 O_RDONLY, 0);
	}
	r = -posix_spawn(&e->pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(to_child ? p[0] : p[1]);
	if (r) {
		close(to_child ? p[1] : p[0]);
		e->pid = 0;
		return r;
	}
	return to_child ? p[1] : p[0];
}

int mig_uri_connect(struct mig_endpoint *e, bool (*abort)(void *), void *arg,
		    char *why, size_t wlen)
{
	int fd;

	e->pid = 0;
	e->tmp[0] = 0;
	switch (e->uri.kind) {
	case MIG_URI_TCP:
		fd = tcp_connect(e, abort, arg);
		if (fd < 0) {
			char where[300];

			snprintf(where, sizeof(where), "%s:%s", e->uri.host,
				 e->uri.port);
			return fail(why, wlen, fd, "cannot connect to", where);
		}
		break;
	case MIG_URI_UNIX:
		fd = unix_connect(e, abort, arg);
		if (fd < 0)
			return fail(why, wlen, fd, "cannot connect to",
				    e->uri.path);
		break;
	case MIG_URI_EXEC:
		fd = spawn(e, true);
		if (fd < 0)
			return fail(why, wlen, fd, "cannot run", e->uri.path);
		break;
	default:
		snprintf(e->tmp, sizeof(e->tmp), "%s.tmp-%d", e->uri.path,
			 getpid());
		fd = open(e->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  0600);
		if (fd < 0) {
			fd = -errno;
			e->tmp[0] = 0;
			return fail(why, wlen, fd, "cannot create",
				    e->uri.path);
		}
		break;
	}
	if (e->uri.kind != MIG_URI_FILE)
		nonblock(fd);
	e->fd = fd;
	return 0;
}

static int listen_tcp(struct mig_endpoint *e)
{
	struct addrinfo *ai;
	int fd, r, one = 1, how;

	how = resolve(&e->uri, true, &ai);
	if (how < 0)
		return -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1)) {
		r = -errno;
		close(fd);
		goto out;
	}
	r = fd;
out:
	free_addr(ai, how);
	return r;
}

static int listen_unix(struct mig_endpoint *e)
{
	struct sockaddr_un sun;
	int fd;

	unix_addr(e->uri.path, &sun);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(e->uri.path);	/* a socket a dead destination left */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 1)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* One connection, then no more listening. */
static int accept_one(int lfd, bool (*abort)(void *), void *arg)
{
	int fd, r;

	r = nonblock(lfd);
	if (!r)
		r = wait_abort(lfd, POLLIN, abort, arg);
	if (r)
		return r;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int mig_uri_accept(struct mig_endpoint *e, bool (*abort)(void *), void *arg,
		   char *why, size_t wlen)
{
	int lfd, fd;

	e->pid = 0;
	e->tmp[0] = 0;
	switch (e->uri.kind) {
	case MIG_URI_TCP:
	case MIG_URI_UNIX:
		lfd = e->uri.kind == MIG_URI_TCP ? listen_tcp(e) :
						   listen_unix(e);
		if (lfd < 0)
			return fail(why, wlen, lfd, "cannot listen on",
				    e->uri.kind == MIG_URI_TCP ? e->uri.port :
								 e->uri.path);
		fd = accept_one(lfd, abort, arg);
		close(lfd);
		if (e->uri.kind == MIG_URI_UNIX)
			unlink(e->uri.path);
		if (fd < 0)
			return fail(why, wlen, fd, "no migration came in on",
				    e->uri.kind == MIG_URI_TCP ? e->uri.port :
								 e->uri.path);
		/* Our replies are tiny, and the source waits for each. */
		if (e->uri.kind == MIG_URI_TCP)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
				   sizeof(int));
		nonblock(fd);
		break;
	case MIG_URI_EXEC:
		fd = spawn(e, false);
		if (fd < 0)
			return fail(why, wlen, fd, "cannot run", e->uri.path);
		nonblock(fd);
		break;
	default:
		fd = open(e->uri.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(why, wlen, -errno, "cannot open",
				    e->uri.path);
		break;
	}
	e->fd = fd;
	return 0;
}

/* exec: the command's own verdict. */
static int reap(struct mig_endpoint *e, bool ok, char *why, size_t wlen)
{
	int st;

	if (!e->pid)
		return 0;
	if (!ok)
		kill(e->pid, SIGTERM);
	while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR)
		;
	e->pid = 0;
	if (!ok || (WIFEXITED(st) && !WEXITSTATUS(st)))
		return 0;
	snprintf(why, wlen, "'%s' failed (%s %d)", e->uri.path,
		 WIFEXITED(st) ? "exit status" : "signal",
		 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return -EIO;
}

int mig_uri_finish(struct mig_endpoint *e, bool ok, char *why, size_t wlen)
{
	int r = 0;

	/* A full disk can show only now: fdatasync reports it. */
	if (ok && e->tmp[0] && fdatasync(e->fd)) {
		r = fail(why, wlen, -errno, "cannot write", e->uri.path);
		ok = false;
	}
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	if (e->uri.kind == MIG_URI_EXEC && !r)
		r = reap(e, ok, why, wlen);
	else
		reap(e, ok, why, wlen);
	if (e->tmp[0]) {
		if (ok && !r && rename(e->tmp, e->uri.path))
			r = fail(why, wlen, -errno, "cannot write",
				 e->uri.path);
		if (!ok || r)
			unlink(e->tmp);
		e->tmp[0] = 0;
	}
	return r;
}
