// SPDX-License-Identifier: GPL-2.0
/*
 * The control server (see control.h): a listening Unix socket and one
 * thread that poll()s it, an eventfd that asks the thread to quit, and up
 * to CONTROL_MAX_CLIENTS non-blocking client connections.
 *
 * Each connection is a little state machine: read until a whole request is
 * buffered, run its handler, send the reply, then read the next request.
 * While a reply is going out we do not read, so a client that never reads
 * its replies cannot make us buffer without bound.  Framing errors (bad
 * magic, version or size) get one error reply and then the connection is
 * closed: after a lie about the length we no longer know where the next
 * message starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/log.h"
#include "kvm/uds.h"

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Lock the socket directory (creating it 0700 if asked).  Start-up and
 * stale-socket reaping both probe, unlink and bind under this lock;
 * without it two of them could each see a stale socket, and the second
 * would unlink the first one's freshly bound live socket.
 *
 * A directory that we did not create (an older lkvm, kvmtool, a user's
 * mkdir) may be open to others; it is made 0700 here when we are about
 * to bind in it, since mkdir only sets the mode of a directory it creates.
 */
static int sock_dir_lock(const char *dir, bool create, int *dfd)
{
	struct stat st;
	int fd, ret;

	if (create && mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto err_close;
	}
	/* Someone else's directory could hold sockets that lie to us. */
	if (st.st_uid != geteuid()) {
		ret = -EPERM;
		goto err_close;
	}
	/* Only where we will bind: lkvm list must work on a read-only home. */
	if (create && (st.st_mode & 07777) != 0700 && fchmod(fd, 0700)) {
		ret = -errno;
		goto err_close;
	}
	if (flock(fd, LOCK_EX)) {
		ret = -errno;
		goto err_close;
	}
	*dfd = fd;
	return 0;

err_close:
	close(fd);
	return ret;
}

static void sock_dir_unlock(int dfd)
{
	/* Closing the last descriptor drops the flock. */
	close(dfd);
}

/*
 * Is anybody listening on path?  0: yes; -ECONNREFUSED: a stale socket
 * (its VM died without unlinking it); -ENOENT: no such file; -ENOTSOCK:
 * a file that is not a socket; other -errno.
 */
static int sock_probe(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret = 0;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, path);
	/*
	 * Non-blocking, so a VM whose backlog is full answers EAGAIN now
	 * instead of stalling us; that VM is alive.
	 */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) &&
	    errno != EAGAIN && errno != EINPROGRESS)
		ret = -errno;
	close(fd);
	return ret;
}

int control_sock_reap(const char *name)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[sizeof(dir)];
	int dfd, ret;

	ret = control_sock_path(name, path, sizeof(path));
	if (ret)
		return ret;
	ret = control_sock_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	ret = sock_dir_lock(dir, false, &dfd);
	if (ret)
		return ret;
	ret = sock_probe(path);
	if (!ret) {
		ret = -EADDRINUSE;
	} else if (ret == -ECONNREFUSED) {
		ret = unlink(path) && errno != ENOENT ? -errno : 0;
	}
	sock_dir_unlock(dfd);
	return ret;
}

/* Bind and listen on c->path; the directory lock is held. */
static int sock_bind(struct control *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	ret = sock_probe(c->path);
	if (!ret)
		return -EADDRINUSE;
	if (ret == -ENOTSOCK)
		return -EEXIST; /* not ours to delete */
	if (ret == -ECONNREFUSED && unlink(c->path) && errno != ENOENT)
		return -errno;
	if (ret != -ECONNREFUSED && ret != -ENOENT)
		return ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, c->path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		goto err_close;
	}
	/*
	 * The socket is briefly umask-wide before this chmod; the 0700
	 * directory and the SO_PEERCRED check in accept cover that window.
	 */
	if (chmod(c->path, 0600) || listen(fd, SOMAXCONN) || stat(c->path, &st)) {
		ret = -errno;
		goto err_unlink;
	}
	c->sock_dev = st.st_dev;
	c->sock_ino = st.st_ino;
	c->listen_fd = fd;
	return 0;

err_unlink:
	unlink(c->path);
err_close:
	close(fd);
	return ret;
}

static void client_close(struct control_client *cl)
{
	close(cl->fd);
	free(cl->in);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

/* Queue a reply; the client reads nothing more until it has gone out. */
static int client_queue(struct control_client *cl, u16 cmd, u32 seq,
			const struct control_reply *r)
{
	ssize_t n;
	u8 *out;

	n = control_reply_encode(cmd, seq, r, &out);
	if (n < 0)
		return n;
	free(cl->out);
	cl->out = out;
	cl->out_len = n;
	cl->out_off = 0;
	return 0;
}

static void client_queue_error(struct control_client *cl, u16 cmd, u32 seq,
			       int err)
{
	struct control_reply r = { .status = err };

	if (client_queue(cl, cmd, seq, &r))
		cl->closing = true;
}

/* Send what we can.  0 when all is sent, -EAGAIN for later, or -errno. */
static int client_flush(struct control_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off,
				 cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		cl->out_off += n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return 0;
}

static int dispatch_info(struct control *c, struct control_reply *r)
{
	struct control_info info = {
		.pid = getpid(),
		.state = CONTROL_STATE_RUNNING,
		.uptime_s = (now_ms() - c->start_ms) / 1000,
	};
	int ret;

	strcpy(info.name, c->name);
	ret = c->info(c->info_opaque, &info);
	if (ret)
		return ret;
	/* The handler may have touched the name; never send a bad one. */
	info.name[CONTROL_NAME_MAX] = 0;
	if (!control_name_valid(info.name))
		strcpy(info.name, c->name);
	return control_info_encode(&info, r);
}

static int dispatch(struct control *c, const struct control_req *q,
		    struct control_reply *r)
{
	const struct control_handler *h;

	if (q->cmd == CONTROL_CMD_LIST_INFO)
		return c->info ? dispatch_info(c, r) : -EOPNOTSUPP;
	if (q->cmd >= CONTROL_CMD_NR)
		return -EOPNOTSUPP;
	h = &c->handlers[q->cmd];
	return h->fn ? h->fn(h->opaque, q, r) : -EOPNOTSUPP;
}

/* Handle one framed request and queue its reply. */
static void client_request(struct control *c, struct control_client *cl,
			   const struct control_msg *msg)
{
	struct control_reply *r = &c->reply;
	struct control_req q;
	int ret;

	control_reply_reset(r);
	ret = control_req_decode(msg, &q);
	if (ret) {
		pr_debug("control: bad %s request: %s\n",
			 control_cmd_name(q.cmd), strerror(-ret));
		client_queue_error(cl, q.cmd, q.seq, ret);
		return;
	}
	r->status = dispatch(c, &q, r);
	if (client_queue(cl, q.cmd, q.seq, r))
		cl->closing = true;
}

/* Serve every whole request buffered, while no reply is pending. */
static void client_process(struct control *c, struct control_client *cl)
{
	while (!cl->out && !cl->closing) {
		struct control_msg msg;
		ssize_t n;

		n = control_msg_frame(cl->in, cl->in_len, CONTROL_REQ_MAX,
				      &msg);
		if (!n)
			return;
		if (n < 0) {
			pr_debug("control: dropping client: %s\n",
				 strerror(-n));
			client_queue_error(cl, 0, 0, n);
			cl->closing = true;
			cl->in_len = 0;
			return;
		}
		client_request(c, cl, &msg);
		memmove(cl->in, cl->in + n, cl->in_len - n);
		cl->in_len -= n;
	}
}

/* 0 to keep the client, -errno to drop it. */
static int client_read(struct control_client *cl)
{
	ssize_t n;

	/* Cannot be full: a full buffer always frames or fails to. */
	n = recv(cl->fd, cl->in + cl->in_len, CONTROL_REQ_MAX - cl->in_len,
		 MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (!n)
		return -ECONNRESET;
	cl->in_len += n;
	return 0;
}

/* 0 to keep the client, -errno to drop it. */
static int client_event(struct control *c, struct control_client *cl,
			short revents)
{
	int ret;

	if (revents & POLLIN) {
		ret = client_read(cl);
		if (ret)
			return ret;
		client_process(c, cl);
	} else if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		if (!(revents & POLLOUT) || !cl->out)
			return -ECONNRESET;
	}

	/* Send at once: most replies fit the socket buffer. */
	while (cl->out) {
		ret = client_flush(cl);
		if (ret == -EAGAIN)
			return 0;
		if (ret)
			return ret;
		if (cl->closing)
			return -ECONNRESET;
		/* The next request's deadline starts now. */
		cl->deadline_ms = now_ms() + c->client_timeout_ms;
		client_process(c, cl);
	}
	return cl->closing ? -ECONNRESET : 0;
}

/* Only our own user (or root) may drive the VM. */
/* Tell a client why we hang up, without waiting for it to read. */
static void send_refusal(int fd, int err)
{
	struct control_reply r = { .status = err };
	ssize_t n;
	u8 *out;

	n = control_reply_encode(0, 0, &r, &out);
	if (n > 0) {
		/* Best effort: an idle socket has room for 28 bytes. */
		if (send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			pr_debug("control: refusal: %s\n", strerror(errno));
		free(out);
	}
}

static void reject(int fd, int err)
{
	send_refusal(fd, err);
	close(fd);
}

/*
 * With every slot taken, make room by dropping the client that has waited
 * longest for its next request: lkvm's own commands send theirs as soon
 * as they connect, so that one is idle, stuck or slow, and otherwise a
 * few idle connections would lock everyone out.  A client with a reply
 * going out is in the middle of a request and stays.  Each client's
 * deadline is set when it starts to wait for a request, so the earliest
 * deadline is the longest wait.  NULL if no client can go.
 */
static struct control_client *client_evict(struct control *c)
{
	struct control_client *old = NULL;

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *cl = &c->clients[i];

		if (cl->out || cl->closing)
			continue;
		if (!old || cl->deadline_ms < old->deadline_ms)
			old = cl;
	}
	if (!old)
		return NULL;
	pr_debug("control: all slots taken; dropping the longest idle client\n");
	send_refusal(old->fd, -EBUSY);
	client_close(old);
	return old;
}

static struct control_client *client_slot(struct control *c)
{
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd < 0)
			return &c->clients[i];
	return client_evict(c);
}

static void accept_clients(struct control *c)
{
	struct control_client *cl;
	int fd;

	while ((fd = uds_accept(c->listen_fd, "control")) >= 0) {
		if (!uds_peer_allowed(fd)) {
			reject(fd, -EPERM);
			continue;
		}
		cl = client_slot(c);
		if (!cl) {
			reject(fd, -EBUSY);
			continue;
		}
		cl->in = malloc(CONTROL_REQ_MAX);
		if (!cl->in) {
			reject(fd, -ENOMEM);
			continue;
		}
		cl->fd = fd;
		cl->deadline_ms = now_ms() + c->client_timeout_ms;
	}
}

/* Drop clients past their deadline; return ms until the next one, or -1. */
static int expire_clients(struct control *c)
{
	u64 now = now_ms(), next = 0;
	int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *cl = &c->clients[i];

		if (cl->fd < 0)
			continue;
		if (now >= cl->deadline_ms) {
			pr_debug("control: client timed out\n");
			client_close(cl);
			continue;
		}
		if (!next || cl->deadline_ms < next)
			next = cl->deadline_ms;
	}
	return next ? (int)(next - now) : -1;
}

static void *control_thread(void *arg)
{
	struct pollfd pfd[2 + CONTROL_MAX_CLIENTS];
	struct control_client *map[2 + CONTROL_MAX_CLIENTS];
	struct control *c = arg;
	int i, n, timeout;

	for (;;) {
		timeout = expire_clients(c);
		pfd[0] = (struct pollfd){ .fd = c->wake_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
		n = 2;
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			struct control_client *cl = &c->clients[i];

			if (cl->fd < 0)
				continue;
			pfd[n].fd = cl->fd;
			pfd[n].events = cl->out ? POLLOUT : POLLIN;
			pfd[n].revents = 0;
			map[n++] = cl;
		}
		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("control: poll: %s\n", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		for (i = 2; i < n; i++) {
			if (pfd[i].revents &&
			    client_event(c, map[i], pfd[i].revents))
				client_close(map[i]);
		}
		/*
		 * After the clients' events: accepting may evict one and
		 * reuse its slot, which must not then get the old fd's events.
		 */
		if (pfd[1].revents)
			accept_clients(c);
	}

	/* Last chance for a reply such as stop's to reach its client. */
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (c->clients[i].fd < 0)
			continue;
		if (c->clients[i].out)
			client_flush(&c->clients[i]);
		client_close(&c->clients[i]);
	}
	return NULL;
}

static int thread_start(struct control *c)
{
	sigset_t all, old;
	int ret;

	/* The thread inherits this mask: it never takes a signal. */
	sigfillset(&all);
	ret = -pthread_sigmask(SIG_SETMASK, &all, &old);
	if (ret)
		return ret;
	ret = -pthread_create(&c->thread, NULL, control_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret)
		pthread_setname_np(c->thread, "lkvm-control");
	return ret;
}

int control_register(struct control *c, u16 cmd, control_fn *fn,
		     void *opaque)
{
	if (!cmd || cmd >= CONTROL_CMD_NR || cmd == CONTROL_CMD_LIST_INFO)
		return -EINVAL;
	if (c->handlers[cmd].fn)
		return -EEXIST;
	c->handlers[cmd] = (struct control_handler){ fn, opaque };
	return 0;
}

void control_register_info(struct control *c, control_info_fn *fn,
			   void *opaque)
{
	c->info = fn;
	c->info_opaque = opaque;
}

int control_start(struct control *c, const char *name)
{
	int dfd, ret, i;

	c->started = false;
	c->listen_fd = c->wake_fd = -1;
	if (!control_name_valid(name))
		return -EINVAL;
	ret = control_sock_path(name, c->path, sizeof(c->path));
	if (ret)
		return ret;
	ret = control_sock_dir(c->dir, sizeof(c->dir));
	if (ret)
		return ret;
	strcpy(c->name, name);
	c->start_ms = now_ms();
	if (c->client_timeout_ms <= 0)
		c->client_timeout_ms = CONTROL_CLIENT_TIMEOUT_MS;
	memset(&c->reply, 0, sizeof(c->reply));
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		memset(&c->clients[i], 0, sizeof(c->clients[i]));
		c->clients[i].fd = -1;
	}

	ret = sock_dir_lock(c->dir, true, &dfd);
	if (ret)
		return ret;
	ret = sock_bind(c);
	sock_dir_unlock(dfd);
	if (ret)
		return ret;

	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		ret = -errno;
		goto err_unbind;
	}
	ret = thread_start(c);
	if (ret)
		goto err_wake;
	c->started = true;
	return 0;

err_wake:
	close(c->wake_fd);
	c->wake_fd = -1;
err_unbind:
	unlink(c->path);
	close(c->listen_fd);
	c->listen_fd = -1;
	return ret;
}

/* Remove our socket file, unless someone has replaced it since. */
static void sock_unlink(struct control *c)
{
	struct stat st;
	int dfd;

	if (sock_dir_lock(c->dir, false, &dfd))
		return;
	if (!lstat(c->path, &st) && st.st_dev == c->sock_dev &&
	    st.st_ino == c->sock_ino)
		unlink(c->path);
	sock_dir_unlock(dfd);
}

void control_stop(struct control *c)
{
	u64 one = 1;

	if (!c->started)
		return;
	c->started = false;
	if (write(c->wake_fd, &one, sizeof(one)) != sizeof(one))
		pr_err("control: cannot wake the control thread: %s\n",
		       strerror(errno));
	pthread_join(c->thread, NULL);
	/*
	 * Unlink while still listening: a VM starting under our name sees a
	 * live socket until the file is gone, never a stale one it would
	 * replace just before we delete its new socket.
	 */
	sock_unlink(c);
	close(c->listen_fd);
	close(c->wake_fd);
	c->listen_fd = c->wake_fd = -1;
	control_reply_free(&c->reply);
}
