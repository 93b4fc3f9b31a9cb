// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm-agent: the guest side of `lkvm run -- CMD`, `lkvm exec` and
 * `lkvm stop --graceful`.  A small static program that needs nothing in
 * the guest: lkvm carries it inside its own binary and puts it in a cpio
 * archive it appends to the initramfs, as /lkvm-agent, with the kernel
 * modules it needs under /lkvm/modules/ (builtin-cmds/run-agent.c).  The
 * kernel starts it as init (rdinit=/lkvm-agent), and it reads its role
 * from the command line:
 *
 *   lkvm.agent=run     (lkvm run -- CMD) the agent is init: it mounts
 *                      /dev, /proc, /sys and /tmp, loads the modules,
 *                      mounts root= if there is one and moves there, then
 *                      connects to the host (CID 2, AGENT_PORT), runs the
 *                      one command lkvm sends, streams its stdio, reports
 *                      its status, and powers the guest off when asked.
 *                      A listener beside it serves lkvm exec meanwhile.
 *   lkvm.agent=daemon  (lkvm run --agent) it loads the modules, forks the
 *                      agent proper, which listens on AGENT_PORT for
 *                      `lkvm exec` and `lkvm stop --graceful`, and execs
 *                      the real init: lkvm.init=, the initramfs's /init,
 *                      or root= and init= (default /sbin/init) as the
 *                      kernel would.  The real init keeps PID 1.
 *
 * Each command runs in its own session (setsid) with pipes for stdin,
 * stdout and stderr; in daemon mode in the real init's root
 * (/proc/1/root, through a proc of the agent's own that no switch_root
 * moves), so after a switch_root commands see the real system.
 * The protocol is builtin-cmds/agent/proto.h.  Messages go to the console.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "builtin-cmds/agent/proto.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

#define MODULES_DIR "/lkvm/modules"
#define NEWROOT "/lkvm/root"
#define AGENT_PROC "/lkvm/proc"
#define CMDLINE_MAX 4096
#define ROOT_WAIT_MS 30000
#define CONNECT_WAIT_MS 60000
#define OUTBUF_MAX (4 * AGENT_MSG_MAX)
#define INBUF_MAX (AGENT_HDR_SIZE + AGENT_MSG_MAX)

static char cmdline[CMDLINE_MAX];
static bool is_init;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "lkvm-agent: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		return;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the command line ---- */

static void read_cmdline(void)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);

	if (fd >= 0)
		close(fd);
	cmdline[n > 0 ? n : 0] = 0;
}

/* The value of the last "key=value" (kernel rules: the last one wins). */
static const char *param(const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline, *found = NULL, *end;

	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!strncmp(p, "-- ", 3) || !strcmp(p, "--"))
			break;	/* the rest is init's */
		if (!strncmp(p, key, klen) && p[klen] == '=')
			found = p + klen + 1;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	if (!found)
		return NULL;
	for (end = found; *end && *end != ' ' && *end != '\n'; end++)
		;
	snprintf(buf, len, "%.*s", (int)(end - found), found);
	return buf;
}

static bool flag(const char *word)
{
	size_t n = strlen(word);
	const char *p = cmdline;

	while ((p = strstr(p, word))) {
		if ((p == cmdline || p[-1] == ' ') &&
		    (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
		p += n;
	}
	return false;
}

/* ---- setting the machine up, as init ---- */

static void mount_one(const char *src, const char *dir, const char *type,
		      const char *data)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, MS_NOSUID, data) && errno != EBUSY)
		say("mount %s on %s: %s", type, dir, strerror(errno));
}

/* main() has mounted /proc already, to read the command line. */
static void early_mounts(void)
{
	mount_one("dev", "/dev", "devtmpfs", NULL);
	mount_one("sys", "/sys", "sysfs", NULL);
	mount_one("tmp", "/tmp", "tmpfs", "mode=1777");
}

static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* lkvm names them NN-name.ko, dependencies first. */
static void load_modules(void)
{
	struct dirent **ents;
	char path[512];
	int i, n, fd, flags;
	const char *ext;

	n = scandir(MODULES_DIR, &ents, NULL, by_name);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] == '.')
			goto next;
		snprintf(path, sizeof(path), MODULES_DIR "/%s", ents[i]->d_name);
		ext = strstr(ents[i]->d_name, ".ko");
		flags = ext && ext[3] ? MODULE_INIT_COMPRESSED_FILE : 0;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", flags) &&
			       errno != EEXIST))
			say("module %s: %s%s", ents[i]->d_name, strerror(errno),
			    flags && errno == EINVAL ?
				    " (this kernel cannot load compressed modules)" : "");
		if (fd >= 0)
			close(fd);
next:
		free(ents[i]);
	}
	if (n > 0)
		free(ents);
}

static bool wait_for_path(const char *path, int ms)
{
	struct stat st;

	for (; ms > 0; ms -= 20) {
		if (!stat(path, &st))
			return true;
		sleep_ms(20);
	}
	return !stat(path, &st);
}

/* root=, rootfstype=, rootflags=, ro: mount it at NEWROOT. */
static int mount_root(void)
{
	char dev[256], type[64], flags[256], line[128];
	unsigned long mflags = flag("ro") ? MS_RDONLY : 0;
	bool have_type = param("rootfstype", type, sizeof(type));
	FILE *f;

	if (!param("root", dev, sizeof(dev)))
		return 1;	/* none: stay in the initramfs */
	if (!param("rootflags", flags, sizeof(flags)))
		flags[0] = 0;
	if (strncmp(dev, "/dev/", 5)) {
		say("root=%s: only /dev/NAME roots are supported", dev);
		return -1;
	}
	if (!wait_for_path(dev, ROOT_WAIT_MS)) {
		say("root=%s: no such device after %d s (is its driver in --modules?)",
		    dev, ROOT_WAIT_MS / 1000);
		return -1;
	}
	mkdir("/lkvm", 0755);
	mkdir(NEWROOT, 0755);
	if (have_type)
		return mount(dev, NEWROOT, type, mflags, flags) ?
			       say("mount %s (%s): %s", dev, type, strerror(errno)),
			       -1 : 0;
	/* As the kernel does: every block file system it knows, in turn. */
	f = fopen("/proc/filesystems", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "nodev", 5))
			continue;
		line[strcspn(line, "\n")] = 0;
		if (!mount(dev, NEWROOT, line + strspn(line, " \t"), mflags, flags)) {
			fclose(f);
			return 0;
		}
	}
	if (f)
		fclose(f);
	say("root=%s: no file system this kernel knows would mount it", dev);
	return -1;
}

/* Into the new root, taking /dev, /proc, /sys and /tmp along. */
static int switch_root(void)
{
	static const char *const keep[] = { "/dev", "/proc", "/sys", "/tmp" };
	char path[64];
	struct stat st;
	unsigned int i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(path, sizeof(path), NEWROOT "%s", keep[i]);
		if (!stat(path, &st) && S_ISDIR(st.st_mode))
			mount(keep[i], path, NULL, MS_MOVE, NULL);
		else
			say("the root file system has no %s: the command runs without it",
			    keep[i]);
	}
	if (chdir(NEWROOT) || mount(".", "/", NULL, MS_MOVE, NULL) ||
	    chroot(".") || chdir("/")) {
		say("cannot move to the root file system: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Power off.  As init (lkvm run -- CMD): sync and do it.  Beside a real
 * init, ask it: systemd powers off on SIGRTMIN+4, busybox init (and the
 * agent as init) on SIGUSR2; an init that does neither (a shell script)
 * has had 3 s when we do it ourselves, after a sync.  A real init kills
 * us on its way.
 */
static void power_off(void)
{
	char exe[256];
	ssize_t n;

	if (!is_init) {
		n = readlink(AGENT_PROC "/1/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		if (strstr(exe, "systemd")) {
			kill(1, SIGRTMIN + 4);
			return;
		}
		kill(1, SIGUSR2);
		sleep_ms(3000);
	}
	sync();
	reboot(RB_POWER_OFF);
	say("power off: %s", strerror(errno));
}

/* ---- a session: one command over one connection ---- */

struct session {
	int conn;
	bool chroot_init;	/* run commands in /proc/1/root */
	pid_t pid;		/* the command, 0 before EXEC */
	int in_w, out_r, err_r;	/* our ends of its pipes, -1 once closed */
	int sigfd;
	bool exited, done, poweroff, hangup, hup_sent;
	int status;
	/* From the host: framed messages. */
	uint8_t *in;
	size_t in_len;
	/* STDIN bytes waiting for the command. */
	const uint8_t *pend;
	size_t pend_len;
	bool pend_eof;
	size_t consumed;	/* of in, once pend is written */
	/* To the host. */
	uint8_t *out;
	size_t out_len, out_off;
};

static void queue_msg(struct session *s, uint32_t type, const void *data,
		      size_t len)
{
	agent_hdr_encode(s->out + s->out_len, type, len);
	if (len)
		memcpy(s->out + s->out_len + AGENT_HDR_SIZE, data, len);
	s->out_len += AGENT_HDR_SIZE + len;
}

static bool out_room(struct session *s, size_t len)
{
	return OUTBUF_MAX - s->out_len >= AGENT_HDR_SIZE + len;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* In the child: stdio, session, root, directory; then exec. */
static void child_exec(struct session *s, const struct agent_exec *e,
		       int in[2], int out[2], int err[2])
{
	sigset_t none;
	struct stat st1, st2;

	dup2(in[0], 0);
	dup2(out[1], 1);
	dup2(err[1], 2);
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Follow the real init into its root (after its switch_root). */
	if (s->chroot_init && !stat(AGENT_PROC "/1/root", &st1) &&
	    !stat("/", &st2) &&
	    (st1.st_dev != st2.st_dev || st1.st_ino != st2.st_ino) &&
	    chroot(AGENT_PROC "/1/root"))
		say("chroot into init's root: %s", strerror(errno));
	if (chdir(e->cwd)) {
		say("%s: %s", e->cwd, strerror(errno));
		_exit(126);
	}
	environ = (char **)e->env;
	execvp(e->argv[0], (char **)e->argv);
	/* A bare name busybox knows: busybox picks the applet by argv[0]. */
	if (errno == ENOENT && !strchr(e->argv[0], '/') &&
	    !access("/bin/busybox", X_OK))
		execv("/bin/busybox", (char **)e->argv);
	say("%s: %s", e->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int start_command(struct session *s, const struct agent_frame *f)
{
	int in[2], out[2], err[2];
	struct agent_exec e;

	if (s->pid || agent_exec_decode(f->payload, f->len, &e))
		return -1;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    pipe2(err, O_CLOEXEC)) {
		free(e.argv);
		free(e.env);
		return -1;
	}
	s->pid = fork();
	if (!s->pid)
		child_exec(s, &e, in, out, err);
	free(e.argv);
	free(e.env);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	s->in_w = in[1];
	s->out_r = out[0];
	s->err_r = err[0];
	set_nonblock(s->in_w);
	set_nonblock(s->out_r);
	set_nonblock(s->err_r);
	if (s->pid < 0) {
		s->exited = true;
		s->status = 126 << 8;
	}
	return 0;
}

/* Handle the messages in s->in; stop at STDIN data not yet written. */
static int handle_input(struct session *s)
{
	struct agent_frame f;
	long n;

	while (!s->pend_len && !s->pend_eof) {
		n = agent_frame_parse(s->in + s->consumed,
				      s->in_len - s->consumed, &f);
		if (n < 0)
			return -1;
		if (!n)
			break;
		s->consumed += n;
		switch (f.type) {
		case AGENT_EXEC:
			if (start_command(s, &f))
				return -1;
			break;
		case AGENT_STDIN:
			s->pend = f.payload;
			s->pend_len = f.len;
			break;
		case AGENT_STDIN_EOF:
			s->pend_eof = true;
			break;
		case AGENT_SIGNAL:
			if (s->pid > 0 && f.len == 4)
				kill(-s->pid, agent_get_u32(f.payload));
			break;
		case AGENT_POWEROFF:
			s->poweroff = true;
			break;
		default:
			return -1;
		}
	}
	/* Keep what is not consumed at the front. */
	if (!s->pend_len && !s->pend_eof && s->consumed) {
		memmove(s->in, s->in + s->consumed, s->in_len - s->consumed);
		s->in_len -= s->consumed;
		s->consumed = 0;
	}
	return 0;
}

/* Write pending STDIN to the command; 0, or -1 when it is gone. */
static void feed_stdin(struct session *s)
{
	ssize_t n;

	while (s->pend_len && s->in_w >= 0) {
		n = write(s->in_w, s->pend, s->pend_len);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* It closed its stdin: the rest goes nowhere. */
			close(s->in_w);
			s->in_w = -1;
			break;
		}
		s->pend += n;
		s->pend_len -= n;
	}
	s->pend_len = 0;
	if (s->pend_eof && s->in_w >= 0) {
		close(s->in_w);
		s->in_w = -1;
	}
	s->pend_eof = false;
	/* The frames behind it may be handled now. */
}

static void read_pipe(struct session *s, int *fd, uint32_t data_type,
		      uint32_t eof_type)
{
	uint8_t buf[AGENT_IO_CHUNK];
	ssize_t n;

	while (*fd >= 0 && out_room(s, sizeof(buf))) {
		n = read(*fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			queue_msg(s, eof_type, NULL, 0);
			return;
		}
		queue_msg(s, data_type, buf, n);
	}
}

static void reap(struct session *s)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	while (read(s->sigfd, &si, sizeof(si)) > 0)
		/* As init: `lkvm stop --graceful` through the listener. */
		if (si.ssi_signo == SIGUSR2)
			s->poweroff = true;
	/* As init we also reap orphans: nobody else will. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == s->pid) {
			s->exited = true;
			s->status = st;
		}
	}
}

/*
 * The command has exited: what it wrote is in the pipes already.  Take
 * that, but do not wait for a background child that holds them open.
 */
static void drain_after_exit(struct session *s)
{
	struct pollfd p[2] = { { .fd = s->out_r, .events = POLLIN },
			       { .fd = s->err_r, .events = POLLIN } };

	while ((s->out_r >= 0 || s->err_r >= 0) && out_room(s, AGENT_IO_CHUNK)) {
		p[0].fd = s->out_r;
		p[1].fd = s->err_r;
		if (poll(p, 2, 50) <= 0)
			break;
		read_pipe(s, &s->out_r, AGENT_STDOUT, AGENT_STDOUT_EOF);
		read_pipe(s, &s->err_r, AGENT_STDERR, AGENT_STDERR_EOF);
	}
	if (s->out_r >= 0 && out_room(s, 0)) {
		close(s->out_r);
		s->out_r = -1;
		queue_msg(s, AGENT_STDOUT_EOF, NULL, 0);
	}
	if (s->err_r >= 0 && out_room(s, 0)) {
		close(s->err_r);
		s->err_r = -1;
		queue_msg(s, AGENT_STDERR_EOF, NULL, 0);
	}
}

static void finish_command(struct session *s)
{
	uint8_t p[8];

	if (WIFSIGNALED(s->status)) {
		agent_put_u32(p, AGENT_KILLED);
		agent_put_u32(p + 4, WTERMSIG(s->status));
	} else {
		agent_put_u32(p, AGENT_EXITED);
		agent_put_u32(p + 4, WEXITSTATUS(s->status));
	}
	queue_msg(s, AGENT_EXIT, p, sizeof(p));
	s->done = true;
	if (s->in_w >= 0)
		close(s->in_w);
	s->in_w = -1;
}

static int conn_io(struct session *s, short revents)
{
	ssize_t n;

	if (revents & POLLOUT) {
		n = send(s->conn, s->out + s->out_off, s->out_len - s->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (n > 0)
			s->out_off += n;
		if (s->out_off == s->out_len)
			s->out_off = s->out_len = 0;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = recv(s->conn, s->in + s->in_len, INBUF_MAX - s->in_len,
			 MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (!n) {
			s->hangup = true;
			return 0;
		}
		if (n > 0)
			s->in_len += n;
		if (handle_input(s))
			return -1;
	}
	return 0;
}

/*
 * Serve one connection: commands, one at a time, until the host hangs
 * up or asks for a power-off.  Returns true for the power-off.
 */
static bool serve(int conn, bool chroot_init)
{
	struct session s = {
		.conn = conn, .chroot_init = chroot_init,
		.in_w = -1, .out_r = -1, .err_r = -1,
	};
	struct pollfd p[5];
	uint8_t v[4];
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (is_init)
		sigaddset(&chld, SIGUSR2);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	s.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	s.in = malloc(INBUF_MAX);
	s.out = malloc(OUTBUF_MAX);
	if (s.sigfd < 0 || !s.in || !s.out)
		goto out;
	set_nonblock(conn);
	agent_put_u32(v, AGENT_VERSION);
	queue_msg(&s, AGENT_HELLO, v, sizeof(v));

	while (!(s.poweroff && s.out_len == 0)) {
		if (s.hangup && (s.done || !s.pid))
			break;
		p[0] = (struct pollfd){ s.conn,
			(s.out_len ? POLLOUT : 0) |
			(!s.hangup && !s.pend_len && !s.pend_eof &&
			 s.in_len < INBUF_MAX ? POLLIN : 0) };
		p[1] = (struct pollfd){ s.sigfd, POLLIN };
		p[2] = (struct pollfd){ s.pend_len || s.pend_eof ? s.in_w : -1,
					POLLOUT };
		p[3] = (struct pollfd){ out_room(&s, AGENT_IO_CHUNK) ? s.out_r : -1,
					POLLIN };
		p[4] = (struct pollfd){ out_room(&s, AGENT_IO_CHUNK) ? s.err_r : -1,
					POLLIN };
		if (poll(p, 5, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents && conn_io(&s, p[0].revents))
			break;
		if (s.hangup && s.pid > 0 && !s.exited && !s.hup_sent) {
			kill(-s.pid, SIGHUP);	/* the host went away */
			s.hup_sent = true;
		}
		if (p[1].revents)
			reap(&s);
		if (p[2].revents || (s.pend_eof && s.in_w < 0) ||
		    (s.pend_len && s.in_w < 0)) {
			feed_stdin(&s);
			if (handle_input(&s))
				break;
		}
		if (p[3].revents)
			read_pipe(&s, &s.out_r, AGENT_STDOUT, AGENT_STDOUT_EOF);
		if (p[4].revents)
			read_pipe(&s, &s.err_r, AGENT_STDERR, AGENT_STDERR_EOF);
		if (s.exited && !s.done) {
			drain_after_exit(&s);
			if (s.out_r < 0 && s.err_r < 0 && out_room(&s, 8))
				finish_command(&s);
		}
	}
out:
	if (s.pid > 0 && !s.exited)
		kill(-s.pid, SIGKILL);
	if (s.in_w >= 0)
		close(s.in_w);
	if (s.out_r >= 0)
		close(s.out_r);
	if (s.err_r >= 0)
		close(s.err_r);
	if (s.sigfd >= 0)
		close(s.sigfd);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	free(s.in);
	free(s.out);
	close(conn);
	return s.poweroff;
}

/* ---- the two roles ---- */

static void daemon_role(void);

static int vsock_socket(void)
{
	return socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/*
 * lkvm run -- CMD: connect to lkvm, run what it says, power off.  The
 * transport may still be probing when we get here: retry for a while.
 */
static void run_role(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK,
				 .svm_cid = VMADDR_CID_HOST,
				 .svm_port = AGENT_PORT };
	int fd = -1, ms, last = 0;
	pid_t pid;

	/*
	 * lkvm exec and lkvm stop --graceful reach this guest too, through
	 * a listener beside us; its power-off is SIGUSR2 to us (serve()).
	 */
	pid = fork();
	if (!pid) {
		is_init = false;
		setsid();
		daemon_role();
	}
	if (pid < 0)
		say("no listener for lkvm exec: %s", strerror(errno));

	for (ms = 0; ms < CONNECT_WAIT_MS; ms += 20) {
		fd = vsock_socket();
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a)))
			break;
		last = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
		sleep_ms(20);
	}
	if (fd < 0)
		say("cannot reach lkvm over vsock: %s (does the kernel have virtio-vsock, built in or in --modules?)",
		    strerror(last));
	else
		serve(fd, false);
	power_off();
	for (;;)
		pause();
}

/* lkvm run --agent: beside the real init, one process per connection. */
static void daemon_role(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK,
				 .svm_cid = VMADDR_CID_ANY,
				 .svm_port = AGENT_PORT };
	int lfd, fd;

	signal(SIGCHLD, SIG_IGN);	/* sessions reap nothing of ours */
	lfd = vsock_socket();
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 16)) {
		say("cannot listen on vsock port %d: %s", AGENT_PORT,
		    strerror(errno));
		_exit(1);
	}
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR)
				sleep_ms(100);
			continue;
		}
		if (fork()) {
			close(fd);
			continue;
		}
		close(lfd);
		signal(SIGCHLD, SIG_DFL);
		if (serve(fd, true))
			power_off();
		_exit(0);
	}
}

/* Fork the agent; the caller goes on to become the real init. */
static void start_daemon(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		say("cannot start: %s", strerror(errno));
		return;
	}
	if (pid)
		return;
	is_init = false;
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	/* A grandchild: PID 1 must not have to reap the agent. */
	if (fork())
		_exit(0);
	daemon_role();
}

static void exec_real_init(char **argv)
{
	char init[256];
	const char *path = param("lkvm.init", init, sizeof(init));

	if (!path && !access("/init", X_OK))
		path = "/init";
	if (!path) {
		/* No init in the initramfs: the root, as the kernel would. */
		mount_one("dev", "/dev", "devtmpfs", NULL);
		if (mount_root() || switch_root())
			say("no root file system to start init from");
		path = param("init", init, sizeof(init));
		if (!path)
			path = "/sbin/init";
	}
	argv[0] = (char *)path;
	execv(path, argv);
	say("cannot start %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	char role[32];
	int r;

	is_init = getpid() == 1;
	/* A command that exits without reading its stdin must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (!is_init && argc == 3 && !strcmp(argv[1], "--serve-fd")) {
		/* Tests: one session on a connected socket, no power-off. */
		serve(atoi(argv[2]), false);
		return 0;
	}
	if (!is_init) {
		/* Started by hand: just the agent, in this root. */
		daemon_role();
		return 1;
	}
	mount_one("proc", "/proc", "proc", NULL);
	read_cmdline();
	if (param("lkvm.agent", role, sizeof(role)) && !strcmp(role, "daemon")) {
		/*
		 * Leave the mounts as the kernel did for the real init; the
		 * agent keeps a proc of its own, which no switch_root moves.
		 */
		umount("/proc");
		load_modules();
		mkdir("/lkvm", 0755);
		mount_one("proc", AGENT_PROC, "proc", NULL);
		start_daemon();
		exec_real_init(argv);
		/* init must not return: that panics, and says why. */
		for (;;)
			pause();
	}
	early_mounts();
	console_stdio();
	load_modules();
	r = mount_root();
	if (r < 0 || (!r && switch_root()))
		power_off();
	run_role();
	return 0;
}
