// SPDX-License-Identifier: GPL-2.0
/*
 * Client side of the control channel (see ctl-client.h).  Sockets are
 * non-blocking and every wait is a poll() against one deadline, so a VM
 * that accepts but never answers (stopped with SIGSTOP, wedged in a
 * handler) costs us CTL_TIMEOUT_MS, not forever.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/ctl-client.h"
#include "kvm/control.h"

/* How long `lkvm stop` waits for a VM to go away after it said yes. */
#define CTL_STOP_WAIT_MS 10000

/* The lkvm process behind a control socket, for `lkvm stop` to wait on. */
struct vm_proc {
	pid_t pid;	/* 0: unknown (lkvm is in another pid namespace) */
	int pidfd;	/* -1: none (a kernel older than pidfd_open) */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_connect(const char *name, int *fdp)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = {
		.tv_sec = CTL_TIMEOUT_MS / 1000,
		.tv_usec = CTL_TIMEOUT_MS % 1000 * 1000,
	};
	int fd, ret;

	ret = control_sock_path(name, sun.sun_path, sizeof(sun.sun_path));
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A Unix connect waits only while the VM's accept backlog is full
	 * (many clients at once); SO_SNDTIMEO bounds that wait, after which
	 * connect fails with EAGAIN.  Everything after is non-blocking.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		goto err_errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		goto err_errno;
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		goto err_errno;
	*fdp = fd;
	return 0;

err_errno:
	ret = -errno;
	close(fd);
	return ret == -EWOULDBLOCK ? -EAGAIN : ret;
}

/* Wait for events on fd until deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const u8 *buf, size_t len, long long deadline)
{
	size_t off = 0;
	ssize_t n;
	int ret;

	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Read one whole reply into a growing buffer.  Returns its size with
 * *bufp malloc'd and *msg framed inside it, or -errno.
 */
static ssize_t recv_msg(int fd, u8 **bufp, struct control_msg *msg,
			long long deadline)
{
	size_t len = 0, cap = 4096;
	u8 *buf, *nbuf;
	ssize_t n, total;
	int ret;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		total = control_msg_frame(buf, len, CONTROL_REPLY_MAX, msg);
		if (total > 0)
			break;
		if (total < 0) {
			ret = -EPROTO;
			goto err_free;
		}
		if (len == cap) {
			/* Framing caps a reply, so this stops at 2 MiB. */
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				ret = -ENOMEM;
				goto err_free;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n > 0) {
			len += n;
			continue;
		}
		if (!n) {
			ret = -ECONNRESET;
			goto err_free;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ret = -errno;
			goto err_free;
		}
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret)
			goto err_free;
	}
	/* framing pointed msg->payload into buf; it stays valid. */
	*bufp = buf;
	return total;

err_free:
	free(buf);
	return ret;
}

int ctl_call(int fd, const struct control_req *req, struct control_reply *rep,
	     int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	u8 out[CONTROL_HDR_SIZE + CONTROL_REQ_ARGS_MAX];
	struct control_msg msg;
	ssize_t n;
	u8 *in = NULL;
	int ret;

	n = control_req_encode(req, out, sizeof(out));
	if (n < 0)
		return n;
	ret = send_all(fd, out, n, deadline);
	/*
	 * A server that refuses us (-EBUSY, -EPERM) replies and hangs up at
	 * once, perhaps before our request went out; its reply is still
	 * waiting to be read and says more than EPIPE.
	 */
	if (ret && ret != -EPIPE && ret != -ECONNRESET)
		return ret;
	n = recv_msg(fd, &in, &msg, deadline);
	if (n < 0)
		return ret ? ret : n;
	ret = control_reply_decode(&msg, req->cmd, rep);
	free(in);
	if (ret == -EINVAL)
		return -EPROTO;
	return ret;
}

int ctl_request(const char *name, const struct control_req *req,
		struct control_reply *rep, int timeout_ms)
{
	int fd, ret;

	ret = ctl_connect(name, &fd);
	if (ret)
		return ret;
	ret = ctl_call(fd, req, rep, timeout_ms);
	close(fd);
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "NAME.sock" with a valid NAME: copy NAME out, else NULL. */
static char *sock_name(const char *file)
{
	size_t len = strlen(file);
	char *name;

	if (len <= 5 || strcmp(file + len - 5, ".sock"))
		return NULL;
	name = strndup(file, len - 5);
	if (name && !control_name_valid(name)) {
		free(name);
		return NULL;
	}
	return name;
}

int ctl_names(char ***namesp, int *nrp)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char **names = NULL, **nn, *name;
	struct dirent *de;
	int nr = 0, ret;
	DIR *d;

	*namesp = NULL;
	*nrp = 0;
	ret = control_sock_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_SOCK && de->d_type != DT_UNKNOWN)
			continue;
		name = sock_name(de->d_name);
		if (!name)
			continue;
		nn = realloc(names, (nr + 1) * sizeof(*names));
		if (!nn) {
			free(name);
			ret = -ENOMEM;
			goto err_free;
		}
		names = nn;
		names[nr++] = name;
	}
	closedir(d);
	if (nr)
		qsort(names, nr, sizeof(*names), name_cmp);
	*namesp = names;
	*nrp = nr;
	return 0;

err_free:
	closedir(d);
	ctl_names_free(names, nr);
	return ret;
}

void ctl_names_free(char **names, int nr)
{
	for (int i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

void ctl_report(const struct lkvm_cmd *cmd, const char *name, int err,
		const struct control_reply *rep)
{
	const char *c = cmd->name;

	switch (err) {
	case -EINVAL:
		fprintf(stderr, "lkvm %s: '%s' is not a valid VM name\n", c,
			name);
		return;
	case -ENOENT:
		fprintf(stderr, "lkvm %s: no VM named '%s' (see lkvm list)\n",
			c, name);
		return;
	case -ECONNREFUSED:
		control_sock_reap(name);
		fprintf(stderr,
			"lkvm %s: VM '%s' is not running (removed its stale socket)\n",
			c, name);
		return;
	case -EACCES:
	case -EPERM:
		fprintf(stderr,
			"lkvm %s: VM '%s': permission denied on its control socket\n",
			c, name);
		return;
	case -EAGAIN:
	case -EBUSY:
		fprintf(stderr,
			"lkvm %s: VM '%s' has too many control clients; try again\n",
			c, name);
		return;
	case -ETIMEDOUT:
		fprintf(stderr, "lkvm %s: VM '%s' did not answer within %d s\n",
			c, name, CTL_TIMEOUT_MS / 1000);
		return;
	case -EPROTO:
	case -EPROTONOSUPPORT:
		fprintf(stderr,
			"lkvm %s: VM '%s' speaks another control protocol (different lkvm version?)\n",
			c, name);
		return;
	}
	if (rep && rep->len) {
		/* The VM's own words say more than strerror. */
		fprintf(stderr, "lkvm %s: VM '%s': %s: %.*s%s", c, name,
			strerror(-err), (int)rep->len, rep->buf,
			rep->buf[rep->len - 1] == '\n' ? "" : "\n");
		return;
	}
	fprintf(stderr, "lkvm %s: VM '%s': %s\n", c, name, strerror(-err));
}

/*
 * Note who listens on sock.  SO_PEERCRED gives the pid that called
 * listen(), translated into our pid namespace: lkvm itself.  Taken
 * before the stop request goes out, so the VM cannot have exited and its
 * pid cannot have been reused yet.
 */
static void proc_watch(int sock, struct vm_proc *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	p->pid = 0;
	p->pidfd = -1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.pid <= 0)
		return;
	p->pid = cred.pid;
	/* No glibc wrapper before 2.36; the static build wants none. */
	p->pidfd = syscall(SYS_pidfd_open, cred.pid, 0);
}

static void proc_release(struct vm_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

/*
 * Wait until the process has exited: a pidfd polls readable then.
 * Without one, poll kill(pid, 0), which also counts a zombie as alive
 * until its parent reaps it.
 */
static int proc_wait(const struct vm_proc *p, long long deadline)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	if (p->pidfd >= 0)
		return wait_fd(p->pidfd, POLLIN, deadline);
	for (;;) {
		if (kill(p->pid, 0) && errno == ESRCH)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

/*
 * Wait until VM name no longer answers on its socket.  A VM that died
 * without unlinking its socket has it reaped here.  Only for a VM whose
 * pid we cannot see: the socket goes before lkvm has flushed its disks.
 */
static int wait_gone(const char *name, long long deadline)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int ret;

	for (;;) {
		ret = control_sock_reap(name);
		if (ret == -ENOENT || !ret)
			return 0;
		if (ret != -EADDRINUSE)
			return ret;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

/*
 * Send ctl_cmd to one VM; 0 or -errno, reported already.  With proc, note
 * the VM's process there first.
 */
static int simple_one(const struct lkvm_cmd *cmd, u16 ctl_cmd,
		      const char *name, bool all, struct vm_proc *proc)
{
	struct control_reply rep = {};
	struct control_req req = { .cmd = ctl_cmd };
	int fd, ret;

	ret = ctl_connect(name, &fd);
	if (!ret) {
		if (proc)
			proc_watch(fd, proc);
		ret = ctl_call(fd, &req, &rep, CTL_TIMEOUT_MS);
		close(fd);
	}
	if (!ret)
		ret = rep.status;
	/* With -a, VMs in the wanted state already, or dead, are no news. */
	if (all && (ret == -EALREADY || ret == -ECONNREFUSED ||
		    ret == -ENOENT)) {
		if (ret == -ECONNREFUSED)
			control_sock_reap(name);
		ret = 0;
	} else if (ret == -EALREADY) {
		fprintf(stderr, "lkvm %s: VM '%s' is already %s\n", cmd->name,
			name,
			ctl_cmd == CONTROL_CMD_PAUSE ? "paused" : "running");
	} else if (ret) {
		ctl_report(cmd, name, ret, &rep);
	}
	control_reply_free(&rep);
	return ret;
}

/*
 * Wait for the VM's lkvm to exit: it flushes its disks and restores the
 * terminal first, so a script may use the disk image once we return.
 */
static int simple_wait(const struct lkvm_cmd *cmd, const char *name,
		       const struct vm_proc *proc)
{
	long long deadline = now_ms() + CTL_STOP_WAIT_MS;
	int ret;

	if (proc->pid) {
		ret = proc_wait(proc, deadline);
		/* A socket left behind by a teardown that was cut short. */
		if (!ret)
			control_sock_reap(name);
	} else {
		ret = wait_gone(name, deadline);
	}

	if (ret == -ETIMEDOUT)
		fprintf(stderr,
			"lkvm %s: VM '%s' accepted the request but is still running after %d s\n",
			cmd->name, name, CTL_STOP_WAIT_MS / 1000);
	else if (ret)
		ctl_report(cmd, name, ret, NULL);
	return ret;
}

void ctl_simple_usage(const char *name, const char *what)
{
	printf("usage: lkvm %s -n NAME | -a\n"
	       "\n"
	       "%s\n"
	       "\n"
	       "  -n, --name NAME   the VM to act on (see lkvm list)\n"
	       "  -a, --all         every VM of this user\n"
	       "  -h, --help        this text\n",
	       name, what);
}

int ctl_run_simple(const struct lkvm_cmd *cmd, u16 ctl_cmd, bool wait_exit,
		   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *name = NULL;
	struct vm_proc *procs;
	bool all = false, *ok;
	char **names, *one[1];
	int opt, nr, i, ret, failed = 0;

	optind = 0; /* reset getopt: main may have parsed before us */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:ah", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			cmd->usage();
			return LKVM_EXIT_OK;
		case ':':
			return cmd_usage_error(cmd, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (!name == !all)
		return cmd_usage_error(cmd, "give either -n NAME or -a");

	if (all) {
		ret = ctl_names(&names, &nr);
		if (ret) {
			fprintf(stderr, "lkvm %s: cannot list VMs: %s\n",
				cmd->name, strerror(-ret));
			return LKVM_EXIT_ERROR;
		}
	} else {
		one[0] = (char *)name;
		names = one;
		nr = 1;
	}

	ok = calloc(nr ? nr : 1, sizeof(*ok));
	procs = calloc(nr ? nr : 1, sizeof(*procs));
	if (!ok || !procs) {
		fprintf(stderr, "lkvm %s: out of memory\n", cmd->name);
		failed = 1;
		goto out_free;
	}
	for (i = 0; i < nr; i++)
		procs[i].pidfd = -1;
	/* Ask every VM first, then wait: N VMs stop in parallel. */
	for (i = 0; i < nr; i++) {
		ok[i] = !simple_one(cmd, ctl_cmd, names[i], all,
				    wait_exit ? &procs[i] : NULL);
		failed |= !ok[i];
	}
	for (i = 0; wait_exit && i < nr; i++)
		if (ok[i] && simple_wait(cmd, names[i], &procs[i]))
			failed = 1;
	for (i = 0; i < nr; i++)
		proc_release(&procs[i]);
out_free:
	free(procs);
	free(ok);
	if (all)
		ctl_names_free(names, nr);
	return failed ? LKVM_EXIT_ERROR : LKVM_EXIT_OK;
}
