// SPDX-License-Identifier: GPL-2.0
/*
 * The control server and client library end to end, with fake VM handlers
 * and HOME pointed at a temporary directory: round trips, many clients at
 * once, clients that stall or misbehave, the size limits, duplicate and
 * stale names.  No /dev/kvm needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/ctl-client.h"
#include "kvm/control.h"
#include "unit.h"

/* ctl-client.o's option parsing needs this; main.c has the real one. */
int cmd_usage_error(const struct lkvm_cmd *cmd, const char *fmt, ...)
{
	return LKVM_EXIT_USAGE;
}

/* ---- a fake VM ---- */

struct fake_vm {
	atomic_bool paused;
	atomic_int stops;
	atomic_int calls;
	u8 ram[8192];
};

static int fake_info(void *opaque, struct control_info *info)
{
	struct fake_vm *vm = opaque;

	atomic_fetch_add(&vm->calls, 1);
	info->state = vm->paused ? CONTROL_STATE_PAUSED :
				   CONTROL_STATE_RUNNING;
	info->nr_vcpus = 2;
	info->mem_mib = 512;
	return 0;
}

static int fake_stop(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct fake_vm *vm = opaque;

	atomic_fetch_add(&vm->stops, 1);
	return 0;
}

static int fake_pause(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct fake_vm *vm = opaque;

	if (atomic_exchange(&vm->paused, true))
		return -EALREADY;
	return 0;
}

static int fake_resume(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct fake_vm *vm = opaque;

	if (!atomic_exchange(&vm->paused, false))
		return -EALREADY;
	return 0;
}

static int fake_regs(void *opaque, const struct control_req *q,
		     struct control_reply *r)
{
	int vcpu = q->vcpu;
	struct fake_vm *vm = opaque;

	atomic_fetch_add(&vm->calls, 1);
	if (vcpu >= 2) {
		control_reply_printf(r, "vcpu %d: this VM has 2 vCPUs", vcpu);
		return -ERANGE;
	}
	return control_reply_printf(r, "regs of vcpu %d\n", vcpu);
}

static int fake_mem(void *opaque, const struct control_req *q,
		    struct control_reply *r)
{
	u64 gpa = q->gpa, len = q->len;
	struct fake_vm *vm = opaque;

	if (gpa >= sizeof(vm->ram) || len > sizeof(vm->ram) - gpa)
		return -EFAULT;
	return control_reply_hexdump(r, gpa, vm->ram + gpa, len);
}

static int fake_sysrq(void *opaque, const struct control_req *q,
		      struct control_reply *r)
{
	return control_reply_printf(r, "sysrq %c", q->key);
}

/* What the VM would register; the rest answer -EOPNOTSUPP. */
static const struct {
	u16 cmd;
	control_fn *fn;
} fake_handlers[] = {
	{ CONTROL_CMD_STOP, fake_stop },
	{ CONTROL_CMD_PAUSE, fake_pause },
	{ CONTROL_CMD_RESUME, fake_resume },
	{ CONTROL_CMD_DEBUG_REGS, fake_regs },
	{ CONTROL_CMD_DEBUG_MEM, fake_mem },
	{ CONTROL_CMD_DEBUG_SYSRQ, fake_sysrq },
};

/* Register the fake VM's handlers on a zeroed control, then start it. */
static int start_with(struct control *c, const char *name, void *opaque)
{
	unsigned int i;
	int ret;

	control_register_info(c, fake_info, opaque);
	for (i = 0; i < ARRAY_SIZE(fake_handlers); i++) {
		ret = control_register(c, fake_handlers[i].cmd,
				       fake_handlers[i].fn, opaque);
		if (ret)
			return ret;
	}
	return control_start(c, name);
}

static char home[64];

static void setup_home(void)
{
	strcpy(home, "/tmp/lkvm-test-control-XXXXXX");
	if (!mkdtemp(home)) {
		perror("mkdtemp");
		exit(1);
	}
	setenv("HOME", home, 1);
}

static void cleanup_home(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", home);
}

static struct fake_vm vm;

static int start(struct control *c, const char *name, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->client_timeout_ms = timeout_ms;
	return start_with(c, name, &vm);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int simple(const char *name, u16 cmd, struct control_reply *rep)
{
	struct control_req req = { .cmd = cmd };
	int ret = ctl_request(name, &req, rep, 2000);

	return ret ? ret : rep->status;
}

/* Raw socket to name, for sending bytes that ctl_call() would not. */
static int raw_connect(const char *name)
{
	int fd = -1;

	CHECK_EQ(ctl_connect(name, &fd), 0);
	return fd;
}

/* Read one reply off a raw socket; returns its status or -errno. */
static int raw_reply(int fd, int timeout_ms)
{
	static u8 buf[CONTROL_REPLY_MAX];
	long long deadline = now_ms() + timeout_ms;
	struct control_reply r = {};
	struct control_msg msg;
	size_t len = 0;
	ssize_t n;
	int ret;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		size_t want = CONTROL_HDR_SIZE;

		n = control_msg_frame(buf, len, sizeof(buf), &msg);
		if (n < 0)
			return -EPROTO;
		if (n > 0)
			break;
		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			return -ETIMEDOUT;
		/* Never read into the next reply: it is the next call's. */
		if (len >= CONTROL_HDR_SIZE)
			want += buf[16] | buf[17] << 8 | buf[18] << 16 |
				(size_t)buf[19] << 24;
		n = recv(fd, buf + len, want - len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n > 0)
			len += n;
	}
	ret = control_reply_decode(&msg, msg.cmd & ~CONTROL_REPLY_BIT, &r);
	if (!ret)
		ret = r.status;
	control_reply_free(&r);
	return ret;
}

/* True once the server has closed fd (read sees EOF) within timeout_ms. */
static bool raw_closed(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char c;

	while (now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			return false;
		if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			return true;
	}
	return false;
}

/* ---- tests ---- */

static void test_round_trip(void)
{
	struct control_reply rep = {};
	struct control_req req = {};
	struct control_info info;
	struct control c;

	CHECK_EQ(start(&c, "vm1", 0), 0);

	CHECK_EQ(simple("vm1", CONTROL_CMD_LIST_INFO, &rep), 0);
	CHECK_EQ(rep.format, CONTROL_FMT_INFO);
	CHECK_EQ(control_info_decode(rep.buf, rep.len, &info), 0);
	CHECK(!strcmp(info.name, "vm1"));
	CHECK_EQ(info.pid, getpid());
	CHECK_EQ(info.nr_vcpus, 2);
	CHECK_EQ(info.mem_mib, 512);
	CHECK_EQ(info.state, CONTROL_STATE_RUNNING);

	CHECK_EQ(simple("vm1", CONTROL_CMD_PAUSE, &rep), 0);
	CHECK_EQ(simple("vm1", CONTROL_CMD_PAUSE, &rep), -EALREADY);
	CHECK_EQ(simple("vm1", CONTROL_CMD_LIST_INFO, &rep), 0);
	CHECK_EQ(control_info_decode(rep.buf, rep.len, &info), 0);
	CHECK_EQ(info.state, CONTROL_STATE_PAUSED);
	CHECK_EQ(simple("vm1", CONTROL_CMD_RESUME, &rep), 0);
	CHECK_EQ(simple("vm1", CONTROL_CMD_RESUME, &rep), -EALREADY);

	req = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_REGS, .vcpu = 1 };
	CHECK_EQ(ctl_request("vm1", &req, &rep, 2000), 0);
	CHECK_EQ(rep.status, 0);
	CHECK(!strcmp(rep.buf, "regs of vcpu 1\n"));
	req.vcpu = 5;
	CHECK_EQ(ctl_request("vm1", &req, &rep, 2000), 0);
	CHECK_EQ(rep.status, -ERANGE);
	CHECK(strstr(rep.buf, "2 vCPUs") != NULL);

	memcpy(vm.ram + 0x100, "lkvm", 4);
	req = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_MEM,
				    .gpa = 0x100, .len = 4 };
	CHECK_EQ(ctl_request("vm1", &req, &rep, 2000), 0);
	CHECK_EQ(rep.status, 0);
	CHECK(strstr(rep.buf, "0000000000000100  6c 6b 76 6d") == rep.buf);
	req.gpa = 1 << 20;
	CHECK_EQ(ctl_request("vm1", &req, &rep, 2000), 0);
	CHECK_EQ(rep.status, -EFAULT);

	req = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_SYSRQ, .key = 'w' };
	CHECK_EQ(ctl_request("vm1", &req, &rep, 2000), 0);
	CHECK(!strcmp(rep.buf, "sysrq w"));

	/* No handler: not supported, not a crash. */
	req = (struct control_req){ .cmd = CONTROL_CMD_DEBUG_NMI, .vcpu = 0 };
	CHECK_EQ(ctl_request("vm1", &req, &rep, 2000), 0);
	CHECK_EQ(rep.status, -EOPNOTSUPP);

	CHECK_EQ(simple("vm1", CONTROL_CMD_STOP, &rep), 0);
	CHECK_EQ(atomic_load(&vm.stops), 1);

	control_stop(&c);
	control_stop(&c); /* twice is harmless */
	control_reply_free(&rep);

	/* Gone: the socket file is removed. */
	CHECK_EQ(simple("vm1", CONTROL_CMD_LIST_INFO, &rep), -ENOENT);
	control_reply_free(&rep);
}

static void test_sock_perms(void)
{
	char path[108];
	struct control c;
	struct stat st;

	/* A directory that exists already, open to all, is closed up. */
	CHECK_EQ(control_sock_dir(path, sizeof(path)), 0);
	mkdir(path, 0700);
	CHECK_EQ(chmod(path, 01777), 0);
	CHECK_EQ(start(&c, "perms", 0), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0700);
	CHECK_EQ(control_sock_path("perms", path, sizeof(path)), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
	control_stop(&c);
	CHECK(stat(path, &st) && errno == ENOENT);
}

static void test_bad_names(void)
{
	struct control c;

	CHECK_EQ(start(&c, "", 0), -EINVAL);
	control_stop(&c); /* after a failed start: harmless */
	CHECK_EQ(start(&c, "../escape", 0), -EINVAL);
	CHECK_EQ(start(&c, ".hidden", 0), -EINVAL);
}

#define NR_THREADS 16
#define NR_CALLS 40

static void *hammer(void *arg)
{
	struct control_reply rep = {};
	struct control_req req = { .cmd = CONTROL_CMD_DEBUG_REGS };
	long failures = 0;
	int fd, i;

	/* Half the calls on fresh connections, half on one kept open. */
	for (i = 0; i < NR_CALLS; i++) {
		req.vcpu = i & 1;
		req.seq = i;
		if (ctl_request("busy", &req, &rep, 5000) || rep.status)
			failures++;
	}
	if (ctl_connect("busy", &fd))
		return (void *)(long)NR_CALLS;
	for (i = 0; i < NR_CALLS; i++) {
		req.vcpu = i & 1;
		req.seq = 1000 + i;
		if (ctl_call(fd, &req, &rep, 5000) || rep.status)
			failures++;
	}
	close(fd);
	control_reply_free(&rep);
	return (void *)failures;
}

static void test_concurrent_clients(void)
{
	pthread_t t[NR_THREADS];
	struct control c;
	long bad = 0;
	void *ret;
	int i;

	atomic_store(&vm.calls, 0);
	CHECK_EQ(start(&c, "busy", 0), 0);
	for (i = 0; i < NR_THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(t[i], &ret);
		bad += (long)ret;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(atomic_load(&vm.calls), NR_THREADS * NR_CALLS * 2);
	control_stop(&c);
}

/* A silent client, and one that sends half a header, delay nobody. */
static void test_silent_client(void)
{
	struct control_reply rep = {};
	int silent, partial;
	struct control c;
	long long t0;
	u8 hdr[CONTROL_HDR_SIZE];

	CHECK_EQ(start(&c, "quiet", 500), 0);
	silent = raw_connect("quiet");
	partial = raw_connect("quiet");
	control_hdr_encode(hdr, CONTROL_CMD_STOP, 0, 0, 0);
	CHECK_EQ(send(partial, hdr, 10, MSG_NOSIGNAL), 10);

	t0 = now_ms();
	CHECK_EQ(simple("quiet", CONTROL_CMD_LIST_INFO, &rep), 0);
	CHECK(now_ms() - t0 < 400);

	/* Both are dropped once their deadline passes. */
	CHECK(raw_closed(silent, 3000));
	CHECK(raw_closed(partial, 3000));
	CHECK_EQ(atomic_load(&vm.stops), 1); /* the half STOP never ran */
	close(silent);
	close(partial);

	/* The server still works afterwards. */
	CHECK_EQ(simple("quiet", CONTROL_CMD_LIST_INFO, &rep), 0);
	control_reply_free(&rep);
	control_stop(&c);
}

/* A client that floods requests and never reads its replies. */
static void test_client_never_reads(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_DEBUG_MEM, .gpa = 0,
				   .len = sizeof(vm.ram) };
	struct control_reply rep = {};
	u8 msg[64];
	struct control c;
	ssize_t n;
	long long t0;
	int fd, i;

	CHECK_EQ(start(&c, "flood", 1000), 0);
	fd = raw_connect("flood");
	n = control_req_encode(&req, msg, sizeof(msg));
	CHECK(n > 0);
	/* Each reply is ~44 KiB; this is far more than the socket holds. */
	for (i = 0; i < 200; i++)
		if (send(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
			break;

	t0 = now_ms();
	CHECK_EQ(simple("flood", CONTROL_CMD_LIST_INFO, &rep), 0);
	CHECK(now_ms() - t0 < 500);
	close(fd);
	control_reply_free(&rep);
	control_stop(&c);
}

static void test_oversized(void)
{
	u8 hdr[CONTROL_HDR_SIZE];
	struct control c;
	int fd;

	CHECK_EQ(start(&c, "big", 0), 0);

	/* A header announcing 1 MiB: refused at once, then hung up. */
	fd = raw_connect("big");
	control_hdr_encode(hdr, CONTROL_CMD_STOP, 0, 0, 1 << 20);
	CHECK_EQ(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), (ssize_t)sizeof(hdr));
	CHECK_EQ(raw_reply(fd, 2000), -EMSGSIZE);
	CHECK(raw_closed(fd, 2000));
	close(fd);

	/* Bad magic. */
	fd = raw_connect("big");
	CHECK_EQ(send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL), 18);
	CHECK_EQ(raw_reply(fd, 2000), -EPROTO);
	CHECK(raw_closed(fd, 2000));
	close(fd);

	/* Another version. */
	fd = raw_connect("big");
	control_hdr_encode(hdr, CONTROL_CMD_STOP, 0, 0, 0);
	hdr[4] = 99;
	CHECK_EQ(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), (ssize_t)sizeof(hdr));
	CHECK_EQ(raw_reply(fd, 2000), -EPROTONOSUPPORT);
	CHECK(raw_closed(fd, 2000));
	close(fd);

	/* The largest legal request with a bad argument block is answered. */
	fd = raw_connect("big");
	{
		static u8 big[CONTROL_REQ_MAX];

		control_hdr_encode(big, CONTROL_CMD_STOP, 0, 0,
				   CONTROL_REQ_MAX - CONTROL_HDR_SIZE);
		for (size_t off = 0; off < sizeof(big);) {
			ssize_t n = send(fd, big + off, sizeof(big) - off, MSG_NOSIGNAL);

			CHECK(n > 0);
			if (n <= 0)
				break;
			off += n;
		}
	}
	CHECK_EQ(raw_reply(fd, 2000), -EINVAL);
	close(fd);
	CHECK_EQ(atomic_load(&vm.stops), 1);
	control_stop(&c);
}

/* Well-framed but wrong requests get an error and the connection lives. */
static void test_unknown_command(void)
{
	struct control_reply rep = {};
	struct control_req req = { .cmd = CONTROL_CMD_LIST_INFO };
	u8 two[2 * CONTROL_HDR_SIZE];
	struct control c;
	int fd;

	CHECK_EQ(start(&c, "unk", 0), 0);
	fd = raw_connect("unk");
	control_hdr_encode(two, 0x1234, 0, 7, 0);
	CHECK_EQ(send(fd, two, CONTROL_HDR_SIZE, MSG_NOSIGNAL), CONTROL_HDR_SIZE);
	CHECK_EQ(raw_reply(fd, 2000), -EOPNOTSUPP);
	/* Two requests in one write: two replies, in order. */
	control_hdr_encode(two, CONTROL_CMD_PAUSE, 0, 1, 0);
	control_hdr_encode(two + CONTROL_HDR_SIZE, CONTROL_CMD_PAUSE, 0, 2, 0);
	CHECK_EQ(send(fd, two, sizeof(two), MSG_NOSIGNAL), (ssize_t)sizeof(two));
	CHECK_EQ(raw_reply(fd, 2000), 0);
	CHECK_EQ(raw_reply(fd, 2000), -EALREADY);
	CHECK_EQ(ctl_call(fd, &req, &rep, 2000), 0);
	CHECK_EQ(rep.status, 0);
	close(fd);
	CHECK_EQ(simple("unk", CONTROL_CMD_RESUME, &rep), 0);
	control_reply_free(&rep);
	control_stop(&c);
}

/*
 * Idle connections in every slot lock nobody out: the one idle longest
 * makes room, and is told why.
 */
static void test_too_many_clients(void)
{
	int fds[CONTROL_MAX_CLIENTS];
	struct control_reply rep = {};
	struct control c;
	int i;

	CHECK_EQ(start(&c, "full", 0), 0);
	fds[0] = raw_connect("full");
	usleep(50 * 1000);	/* fds[0] is the oldest by a clear margin */
	for (i = 1; i < CONTROL_MAX_CLIENTS; i++)
		fds[i] = raw_connect("full");
	/* Make sure the server has accepted them all. */
	usleep(100 * 1000);
	CHECK_EQ(simple("full", CONTROL_CMD_LIST_INFO, &rep), 0);
	CHECK_EQ(raw_reply(fds[0], 2000), -EBUSY);
	CHECK(raw_closed(fds[0], 2000));
	close(fds[0]);
	/*
	 * The next newcomer gets in too, if need be in place of fds[1] (the
	 * oldest now, should the server see it before the last one's hangup);
	 * the others were left alone.
	 */
	CHECK_EQ(simple("full", CONTROL_CMD_LIST_INFO, &rep), 0);
	for (i = 2; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_req req = { .cmd = CONTROL_CMD_LIST_INFO };

		CHECK_EQ(ctl_call(fds[i], &req, &rep, 2000), 0);
		CHECK_EQ(rep.status, 0);
		close(fds[i]);
	}
	close(fds[1]);
	control_reply_free(&rep);
	control_stop(&c);
}

/* Clients in the middle of a request are never dropped for a new one. */
static void test_all_clients_busy(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_DEBUG_MEM, .gpa = 0,
				   .len = sizeof(vm.ram) };
	int fds[CONTROL_MAX_CLIENTS + 1];
	struct control c;
	u8 msg[64];
	ssize_t n;
	int i, j;

	CHECK_EQ(start(&c, "busy-all", 0), 0);
	n = control_req_encode(&req, msg, sizeof(msg));
	CHECK(n > 0);
	/* Each floods requests and reads no reply: a reply stays pending. */
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fds[i] = raw_connect("busy-all");
		for (j = 0; j < 100; j++)
			if (send(fds[i], msg, n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
				break;
	}
	usleep(300 * 1000);
	fds[i] = raw_connect("busy-all");
	CHECK_EQ(raw_reply(fds[i], 2000), -EBUSY);
	for (i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	control_stop(&c);
}

static void test_duplicate_name(void)
{
	struct control a, b;

	CHECK_EQ(start(&a, "twin", 0), 0);
	CHECK_EQ(start(&b, "twin", 0), -EADDRINUSE);
	control_stop(&b); /* never started: must not touch a's socket */
	CHECK_EQ(control_sock_reap("twin"), -EADDRINUSE);
	{
		struct control_reply rep = {};

		CHECK_EQ(simple("twin", CONTROL_CMD_LIST_INFO, &rep), 0);
		control_reply_free(&rep);
	}
	control_stop(&a);
	/* Once a has gone the name is free again. */
	CHECK_EQ(start(&b, "twin", 0), 0);
	control_stop(&b);
}

/* Leave a socket file behind as a killed VM would. */
static void make_stale(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char dir[108];

	CHECK_EQ(control_sock_dir(dir, sizeof(dir)), 0);
	mkdir(dir, 0700);
	CHECK_EQ(control_sock_path(name, sun.sun_path, sizeof(sun.sun_path)),
		 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_EQ(listen(fd, 1), 0);
	close(fd);
}

static void test_stale_socket(void)
{
	struct control_reply rep = {};
	struct control c;
	char path[108];
	int fd = -1;

	make_stale("ghost");
	CHECK_EQ(ctl_connect("ghost", &fd), -ECONNREFUSED);
	/* A new VM takes the name over. */
	CHECK_EQ(start(&c, "ghost", 0), 0);
	CHECK_EQ(simple("ghost", CONTROL_CMD_LIST_INFO, &rep), 0);
	control_stop(&c);

	/* Reaping, as lkvm list does. */
	make_stale("ghost");
	CHECK_EQ(control_sock_reap("ghost"), 0);
	CHECK_EQ(control_sock_reap("ghost"), -ENOENT);
	CHECK_EQ(ctl_connect("ghost", &fd), -ENOENT);

	/* A regular file in the way is not ours to delete. */
	CHECK_EQ(control_sock_path("file", path, sizeof(path)), 0);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(start(&c, "file", 0), -EEXIST);
	CHECK_EQ(access(path, F_OK), 0);
	unlink(path);
	control_reply_free(&rep);
}

/* A socket that accepts connections into its backlog but never answers. */
static void test_client_timeout(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_LIST_INFO };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control_reply rep = {};
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	long long t0;

	CHECK_EQ(control_sock_path("wedged", sun.sun_path,
				   sizeof(sun.sun_path)), 0);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_EQ(listen(lfd, 4), 0);
	t0 = now_ms();
	CHECK_EQ(ctl_request("wedged", &req, &rep, 300), -ETIMEDOUT);
	CHECK(now_ms() - t0 >= 290 && now_ms() - t0 < 2000);
	/* Alive as far as a probe can tell: never reaped. */
	CHECK_EQ(control_sock_reap("wedged"), -EADDRINUSE);
	close(lfd);
	unlink(sun.sun_path);
	control_reply_free(&rep);
}

/* Another user must not drive our VM, even through a lax socket mode. */
static void test_other_user(void)
{
	char path[108], dir[108];
	struct control c;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		printf("  skip test_other_user: needs root to switch users\n");
		return;
	}
	CHECK_EQ(start(&c, "mine", 0), 0);
	CHECK_EQ(control_sock_dir(dir, sizeof(dir)), 0);
	CHECK_EQ(control_sock_path("mine", path, sizeof(path)), 0);

	pid = fork();
	if (!pid) {
		struct control_req req = { .cmd = CONTROL_CMD_STOP };
		struct control_reply rep = {};
		int ret;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		/* The 0700 directory keeps nobody out... */
		ret = ctl_request("mine", &req, &rep, 2000);
		if (ret != -EACCES) {
			fprintf(stderr, "  nobody got %d\n", ret);
			_exit(11);
		}
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* ...and with the modes opened up, SO_PEERCRED still does. */
	chmod(home, 0755);
	chmod(dir, 0777);
	chmod(path, 0777);
	pid = fork();
	if (!pid) {
		struct control_req req = { .cmd = CONTROL_CMD_STOP };
		struct control_reply rep = {};
		int ret;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		ret = ctl_request("mine", &req, &rep, 2000);
		if (ret || rep.status != -EPERM) {
			fprintf(stderr, "  nobody got %d/%d\n", ret,
				rep.status);
			_exit(12);
		}
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(atomic_load(&vm.stops), 1);
	chmod(dir, 0700);
	chmod(home, 0700);
	control_stop(&c);
}

static void test_names_listing(void)
{
	struct control a, b;
	char **names;
	int nr;

	CHECK_EQ(start(&a, "zeta", 0), 0);
	CHECK_EQ(start(&b, "alpha", 0), 0);
	CHECK_EQ(ctl_names(&names, &nr), 0);
	CHECK_EQ(nr, 2);
	if (nr == 2) {
		CHECK(!strcmp(names[0], "alpha"));
		CHECK(!strcmp(names[1], "zeta"));
	}
	ctl_names_free(names, nr);
	control_stop(&a);
	control_stop(&b);
	CHECK_EQ(ctl_names(&names, &nr), 0);
	CHECK_EQ(nr, 0);
	ctl_names_free(names, nr);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_round_trip),
	UNIT_TEST(test_sock_perms),
	UNIT_TEST(test_bad_names),
	UNIT_TEST(test_concurrent_clients),
	UNIT_TEST(test_silent_client),
	UNIT_TEST(test_client_never_reads),
	UNIT_TEST(test_oversized),
	UNIT_TEST(test_unknown_command),
	UNIT_TEST(test_too_many_clients),
	UNIT_TEST(test_all_clients_busy),
	UNIT_TEST(test_duplicate_name),
	UNIT_TEST(test_stale_socket),
	UNIT_TEST(test_client_timeout),
	UNIT_TEST(test_other_user),
	UNIT_TEST(test_names_listing),
};

int main(void)
{
	int ret;

	/*
	 * SIGPIPE is left at its default on purpose: a server write to a
	 * client that hung up would kill this test as it would kill a VM.
	 * Our own raw sends use MSG_NOSIGNAL.
	 */
	setup_home();
	ret = unit_run("control", tests, ARRAY_SIZE(tests));
	cleanup_home();
	return ret;
}
