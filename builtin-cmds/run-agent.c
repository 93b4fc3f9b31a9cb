// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm run [...] -- CMD ARGS` and `lkvm run --agent` (run-agent.h).
 *
 * Both append a small initramfs (initramfs.h) to the guest's: the agent
 * as /lkvm-agent, which the kernel starts as init (rdinit=), and the
 * kernel modules it needs for vsock (and virtio-blk with -d), from
 * --modules DIR or /lib/modules/<the kernel's release>.  With -- CMD and
 * neither an initrd nor a disk, CMD's host binary goes in too, with its
 * libraries, and a static busybox if the host has one (so that `-- sh -c`
 * works).
 *
 * -- CMD: the agent connects to the host (CID 2, AGENT_PORT), which the
 * vsock device bridges to "<uds>_AGENT_PORT", where our thread listens.
 * It sends CMD, copies lkvm's stdin to it and its output to lkvm's stdout
 * and stderr, and keeps its status; then asks the agent to power off.
 * The console, which writes fd 1 and reads fd 0 (term/console.c), gets
 * stderr (or --console-log FILE) and /dev/null instead, so that stdout
 * carries only CMD's output and stdin goes only to CMD.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builtin-cmds/agent-client.h"
#include "builtin-cmds/agent/proto.h"
#include "builtin-cmds/cmds.h"
#include "builtin-cmds/run-agent.h"
#include "kvm/log.h"
#include "kvm/vm.h"

extern const unsigned char lkvm_agent_start[], lkvm_agent_end[];

#define AGENT_PATH "/lkvm-agent"
/* After CMD's status, the guest has this long to power itself off. */
#define POWEROFF_WAIT_MS 15000

void run_agent_init(struct run_agent *ra)
{
	memset(ra, 0, sizeof(*ra));
	ra->saved_in = ra->saved_out = ra->console_fd = -1;
	ra->listen_fd = ra->stop_fd = -1;
	ra->status = -1;
	cpio_init(&ra->cpio);
}

bool run_agent_wanted(const struct run_agent *ra)
{
	return ra->argc || ra->daemon || ra->console_log;
}

/* ---- the initramfs ---- */

static int add_modules(struct run_agent *ra, const struct vm_config *cfg)
{
	const char *names[] = { cfg->transport == VM_TRANSPORT_MMIO ?
					"virtio_mmio" : "virtio_pci",
				"vmw_vsock_virtio_transport",
				ra->has_disk ? "virtio_blk" : NULL, NULL };
	char dir[512], rel[128];
	unsigned int n;
	struct stat st;
	int r;

	if (ra->modules) {
		snprintf(dir, sizeof(dir), "%s", ra->modules);
	} else {
		if (arch_kernel_release(cfg->kernel, rel, sizeof(rel)))
			return 0;
		snprintf(dir, sizeof(dir), "/lib/modules/%s", rel);
		/* No modules for this kernel here: it has what it needs built in. */
		if (stat(dir, &st))
			return 0;
	}
	r = cpio_add_modules(&ra->cpio, dir, names, &n);
	if (r == -ENOENT && !ra->modules) {
		/* A directory without modules.dep: the user said nothing. */
		pr_warn("%s (run depmod); assuming the kernel needs no modules",
			ra->cpio.err);
		return 0;
	}
	if (r == -ESRCH) {
		/* A kernel built with them in need not list them as builtin. */
		pr_warn("%s; assuming the kernel has it built in", ra->cpio.err);
		return 0;
	}
	if (r)
		pr_err("--modules: %s", ra->cpio.err);
	else
		pr_debug("agent: %u kernel modules from %s\n", n, dir);
	return r;
}

static bool in_default_path(const char *path)
{
	const char *dirs = strchr(agent_default_env[0], '=') + 1, *slash;
	size_t len;

	slash = strrchr(path, '/');
	len = slash - path;
	for (const char *d = dirs; *d;) {
		size_t n = strcspn(d, ":");

		if (n == len && !strncmp(d, path, len))
			return true;
		d += n + (d[n] == ':');
	}
	return false;
}

/*
 * No initrd, no disk: CMD comes from the host, with its libraries, and a
 * static busybox if there is one (sh -c, and any applet by its name).
 */
static int add_command(struct run_agent *ra)
{
	char found[4096], path[8192], cwd[4096], bb[4096];
	int r;

	r = find_in_path(ra->argv[0], getenv("PATH"), found, sizeof(found));
	if (r) {
		pr_err("%s: not found on this host (with no -i or -d, lkvm runs the host's program in the guest)",
		       ra->argv[0]);
		return r;
	}
	/* The guest gets it at the same, absolute, path. */
	if (found[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		pr_err("getcwd: %s", strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s%s%s", found[0] == '/' ? "" : cwd,
		 found[0] == '/' ? "" : "/",
		 strncmp(found, "./", 2) ? found : found + 2);
	r = cpio_add_program(&ra->cpio, path);
	if (!r && !find_in_path("busybox", getenv("PATH"), bb, sizeof(bb)) &&
	    elf_is_static(bb)) {
		r = cpio_add_host_path(&ra->cpio, bb);
		if (!r && strcmp(bb, "/bin/busybox"))
			r = cpio_add_symlink(&ra->cpio, "/bin/busybox", bb);
		if (!r && !cpio_has(&ra->cpio, "/bin/sh"))
			r = cpio_add_symlink(&ra->cpio, "/bin/sh", "busybox");
	}
	if (r) {
		pr_err("cannot pack %s for the guest: %s", path, ra->cpio.err);
		return r;
	}
	/* The guest looks CMD up in its default PATH; elsewhere, say where. */
	if (!strchr(ra->argv[0], '/') ? !in_default_path(path) :
					 ra->argv[0][0] != '/')
		ra->argv[0] = strdup(path);
	return ra->argv[0] ? 0 : -ENOMEM;
}

static int build_initramfs(struct run_agent *ra, struct vm_config *cfg)
{
	int r;

	r = cpio_add_file(&ra->cpio, AGENT_PATH, 0755, lkvm_agent_start,
			  lkvm_agent_end - lkvm_agent_start);
	if (!r)
		r = add_modules(ra, cfg);
	if (!r && ra->argc && !cfg->initrd && !ra->has_disk)
		r = add_command(ra);
	if (!r)
		r = cpio_finish(&ra->cpio);
	if (r) {
		if (r == -ENOMEM)
			pr_err("out of memory");
		return LKVM_EXIT_ERROR;
	}
	cfg->initrd_extra = ra->cpio.buf;
	cfg->initrd_extra_size = ra->cpio.len;
	return 0;
}

/* ---- the kernel command line ---- */

static bool has_word(const char *s, const char *prefix)
{
	const char *p = s;

	while ((p = strstr(p, prefix))) {
		if (p == s || p[-1] == ' ')
			return true;
		p++;
	}
	return false;
}

/*
 * Ours go last, so that they win, but before " -- ", after which the
 * words are init's.  In command mode a boot says little (quiet) unless
 * the user chose how much.
 */
static int build_cmdline(struct run_agent *ra, struct vm_config *cfg)
{
	const char *user = cfg->cmdline ? cfg->cmdline : "", *rest, *v;
	char ours[512];
	size_t head;
	int n;

	rest = strstr(user, " -- ");
	if (!rest && !strncmp(user, "-- ", 3))
		rest = user;
	head = rest ? (size_t)(rest - user) : strlen(user);
	n = snprintf(ours, sizeof(ours), "rdinit=" AGENT_PATH " lkvm.agent=%s",
		     ra->argc ? "run" : "daemon");
	if (ra->argc && !has_word(user, "quiet") && !has_word(user, "loglevel=") &&
	    !has_word(user, "debug"))
		n += snprintf(ours + n, sizeof(ours) - n, " quiet");
	/* The user's own rdinit= is the real init the agent starts. */
	if (!ra->argc && (v = strstr(user, "rdinit=")) && has_word(user, "rdinit="))
		n += snprintf(ours + n, sizeof(ours) - n, " lkvm.init=%.*s",
			      (int)strcspn(v + 7, " "), v + 7);
	if (n >= (int)sizeof(ours))
		return -E2BIG;
	if (asprintf(&ra->cmdline, "%.*s%s%s%s", (int)head, user,
		     head ? " " : "", ours, rest ? rest : "") < 0)
		return -ENOMEM;
	cfg->cmdline = ra->cmdline;
	return 0;
}

/* ---- stdin, stdout and the console ---- */

static int move_console(struct run_agent *ra)
{
	int null;

	if (ra->console_log) {
		ra->console_fd = open(ra->console_log,
				      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				      0644);
		if (ra->console_fd < 0) {
			pr_err("--console-log %s: %s", ra->console_log,
			       strerror(errno));
			return LKVM_EXIT_ERROR;
		}
	} else if (ra->argc) {
		ra->console_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	}
	if (ra->console_fd < 0)
		return 0;
	ra->saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (ra->argc) {
		/* A closed stdin stays closed: the command gets EOF. */
		ra->saved_in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
			pr_err("/dev/null: %s", strerror(errno));
			return LKVM_EXIT_ERROR;
		}
		close(null);
	}
	if (dup2(ra->console_fd, STDOUT_FILENO) < 0) {
		pr_err("cannot redirect the console: %s", strerror(errno));
		return LKVM_EXIT_ERROR;
	}
	return 0;
}

static void restore_stdio(struct run_agent *ra)
{
	if (ra->saved_out >= 0)
		dup2(ra->saved_out, STDOUT_FILENO);
	if (ra->saved_in >= 0)
		dup2(ra->saved_in, STDIN_FILENO);
}

/* ---- where the agent connects ---- */

/* Like the device's own socket: a stale one goes, a live one is kept. */
static int listen_agent(struct run_agent *ra, const char *uds)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(ra->listen_path)], *slash;
	mode_t old;
	int fd, r;

	if (snprintf(ra->listen_path, sizeof(ra->listen_path), "%s_%u", uds,
		     AGENT_PORT) >= (int)sizeof(ra->listen_path))
		return -ENAMETOOLONG;
	/* $HOME/.lkvm, 0700, as the control socket's; the VM is not up yet. */
	strcpy(dir, ra->listen_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
	}
	strcpy(sun.sun_path, ra->listen_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return -EADDRINUSE;
	}
	if (errno == ECONNREFUSED)
		unlink(ra->listen_path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 4) ?
		    -errno : 0;
	umask(old);
	if (r) {
		close(fd);
		ra->listen_path[0] = 0;
		return r;
	}
	ra->listen_fd = fd;
	return 0;
}

int run_agent_prepare(struct run_agent *ra, struct vm_config *cfg,
		      const char *uds)
{
	int r;

	if (ra->argc || ra->daemon) {
		r = build_initramfs(ra, cfg);
		if (r)
			return r;
		if (build_cmdline(ra, cfg)) {
			pr_err("kernel command line too long");
			return LKVM_EXIT_ERROR;
		}
	}
	if (ra->argc) {
		r = listen_agent(ra, uds);
		if (r) {
			pr_err("cannot listen on %s_%u for the guest agent: %s",
			       uds, AGENT_PORT, strerror(-r));
			return LKVM_EXIT_ERROR;
		}
		ra->stop_fd = eventfd(0, EFD_CLOEXEC);
		if (ra->stop_fd < 0) {
			pr_err("eventfd: %s", strerror(errno));
			return LKVM_EXIT_ERROR;
		}
		ra->quiet_exit = !lkvm_debug_enabled;
	}
	return move_console(ra);
}

/* ---- the command's thread ---- */

/* True if the VM ended (stop_fd) within @ms. */
static bool wait_stop(struct run_agent *ra, int ms)
{
	struct pollfd p = { .fd = ra->stop_fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

static void *runner_main(void *arg)
{
	struct run_agent *ra = arg;
	struct agent_cmd cmd = { .cwd = "/", .argc = ra->argc,
				 .argv = ra->argv };
	struct pollfd p[2] = { { .fd = ra->listen_fd, .events = POLLIN },
			       { .fd = ra->stop_fd, .events = POLLIN } };
	int fd, r;

	/* The agent connects once its vsock transport is up. */
	if (poll(p, 2, -1) < 0 || p[1].revents)
		return NULL;
	fd = accept4(ra->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		ra->error = -errno;
		return NULL;
	}
	ra->connected = true;
	r = agent_run(fd, &cmd, ra->saved_in, ra->saved_out, STDERR_FILENO,
		      -1, ra->stop_fd);
	if (r >= 0) {
		ra->status = r;
		agent_poweroff(fd, false);
		if (!wait_stop(ra, POWEROFF_WAIT_MS))
			vm_set_fate(ra->vm, VM_FATE_STOPPED,
				    "the guest did not power off after %s ended",
				    ra->argv[0]);
	} else if (r != -ECANCELED) {
		ra->error = r;
		if (!wait_stop(ra, 5000))
			vm_set_fate(ra->vm, VM_FATE_HOST_ERROR,
				    "lost the guest agent: %s", strerror(-r));
	}
	close(fd);
	return NULL;
}

int run_agent_start(struct run_agent *ra, struct vm *vm)
{
	int r;

	if (!ra->argc)
		return 0;
	ra->vm = vm;
	r = -pthread_create(&ra->thread, NULL, runner_main, ra);
	if (r)
		pr_err("cannot start the command's thread: %s", strerror(-r));
	ra->started = !r;
	return r;
}

/* Join, but not for ever: a stdout nobody reads may hold the thread. */
static void runner_stop(struct run_agent *ra)
{
	struct timespec deadline;
	u64 one = 1;

	if (!ra->started)
		return;
	if (write(ra->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("cannot stop the command's thread: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	if (pthread_timedjoin_np(ra->thread, NULL, &deadline)) {
		/* Left behind with the fds it uses; the process ends anyway. */
		pthread_detach(ra->thread);
		ra->saved_in = ra->saved_out = -1;
	}
	ra->started = false;
}

int run_agent_finish(struct run_agent *ra, int fate, int vm_status)
{
	int status = vm_status;

	runner_stop(ra);
	restore_stdio(ra);
	if (ra->argc && (fate == VM_FATE_POWEROFF || fate == VM_FATE_REBOOT ||
			 fate == VM_FATE_STOPPED)) {
		if (ra->status >= 0)
			status = ra->status;
		else if (vm_status == LKVM_EXIT_OK) {
			pr_err("the guest ended before %s did%s%s", ra->argv[0],
			       !ra->connected ? " (the agent never connected)" :
			       ra->error ? ": " : "",
			       ra->connected && ra->error ? strerror(-ra->error) : "");
			status = LKVM_EXIT_ERROR;
		}
	}
	if (ra->listen_fd >= 0) {
		close(ra->listen_fd);
		unlink(ra->listen_path);
	}
	if (ra->stop_fd >= 0)
		close(ra->stop_fd);
	if (ra->console_fd >= 0)
		close(ra->console_fd);
	if (ra->saved_in >= 0)
		close(ra->saved_in);
	if (ra->saved_out >= 0)
		close(ra->saved_out);
	free(ra->cmdline);
	cpio_free(&ra->cpio);
	ra->listen_fd = ra->stop_fd = ra->console_fd = -1;
	ra->saved_in = ra->saved_out = -1;
	return status;
}
