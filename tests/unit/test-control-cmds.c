// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm list/stop/pause/resume/debug` run against fake VMs (the control
 * server with fake handlers) in a temporary HOME: their output, their
 * error lines and their exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
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

int cmd_usage_error(const struct lkvm_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lkvm %s: error: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return LKVM_EXIT_USAGE;
}

/* ---- fake VMs: stop is honoured by a "main thread" per VM ---- */

struct fake_vm {
	struct control c;
	atomic_bool paused;
	int stop_pipe[2];
	pthread_t main;
	u8 ram[4096];
};

static int fake_info(void *opaque, struct control_info *info)
{
	struct fake_vm *vm = opaque;

	info->state = vm->paused ? CONTROL_STATE_PAUSED :
				   CONTROL_STATE_RUNNING;
	info->nr_vcpus = 2;
	info->mem_mib = 256;
	return 0;
}

static int fake_stop(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct fake_vm *vm = opaque;
	char c = 's';

	/* Like the real VM: the handler asks, another thread tears down. */
	return write(vm->stop_pipe[1], &c, 1) == 1 ? 0 : -EIO;
}

static int fake_pause(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct fake_vm *vm = opaque;

	return atomic_exchange(&vm->paused, true) ? -EALREADY : 0;
}

static int fake_resume(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	struct fake_vm *vm = opaque;

	return atomic_exchange(&vm->paused, false) ? 0 : -EALREADY;
}

static int fake_regs(void *opaque, const struct control_req *q,
		     struct control_reply *r)
{
	int vcpu = q->vcpu;
	if (vcpu == CONTROL_VCPU_ALL)
		return control_reply_printf(r, "regs of vcpu 0\nregs of vcpu 1\n");
	if (vcpu >= 2) {
		control_reply_printf(r, "no vCPU %d", vcpu);
		return -ERANGE;
	}
	return control_reply_printf(r, "regs of vcpu %d", vcpu);
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

static int fake_pgwalk(void *opaque, const struct control_req *q,
		       struct control_reply *r)
{
	if (q->walk_pc)
		return control_reply_printf(r, "walk %d pc\n", q->vcpu);
	return control_reply_printf(r, "walk %d 0x%llx\n", q->vcpu,
				    (unsigned long long)q->gpa);
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
	{ CONTROL_CMD_DEBUG_PGWALK, fake_pgwalk },
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

static void *fake_main(void *arg)
{
	struct fake_vm *vm = arg;
	char c;

	if (read(vm->stop_pipe[0], &c, 1) == 1)
		control_stop(&vm->c);
	return NULL;
}

static int vm_start(struct fake_vm *vm, const char *name)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	if (pipe(vm->stop_pipe))
		return -errno;
	ret = start_with(&vm->c, name, vm);
	if (ret)
		return ret;
	return -pthread_create(&vm->main, NULL, fake_main, vm);
}

/* Join a VM's main thread, stopping it first if nobody did. */
static void vm_end(struct fake_vm *vm)
{
	char c = 'x';

	if (write(vm->stop_pipe[1], &c, 1) != 1)
		perror("write");
	pthread_join(vm->main, NULL);
	close(vm->stop_pipe[0]);
	close(vm->stop_pipe[1]);
}

/* ---- running a command with its output captured ---- */

static char out[65536], err[4096];

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

/* Run cmd with the NULL-terminated arguments; output lands in out/err. */
static int run(const struct lkvm_cmd *cmd, ...)
{
	char *argv[16];
	int argc = 0, ret, fo, fe, so, se;
	va_list ap;

	argv[argc++] = (char *)cmd->name;
	va_start(ap, cmd);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);

	fflush(stdout);
	fflush(stderr);
	fo = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	fe = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	so = dup(1);
	se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	ret = cmd->run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, out, sizeof(out));
	slurp(fe, err, sizeof(err));
	return ret;
}

static char home[64];

/* Leave a socket file behind as a killed VM would. */
static void make_stale(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	CHECK_EQ(control_sock_path(name, sun.sun_path, sizeof(sun.sun_path)),
		 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

static bool sock_exists(const char *name)
{
	char path[108];

	CHECK_EQ(control_sock_path(name, path, sizeof(path)), 0);
	return !access(path, F_OK);
}

static struct fake_vm a, b;

/*
 * A fake VM in a child process, as lkvm is one: after control_stop() it
 * takes flush_ms to "flush its disks", then leaves NAME.flushed in HOME
 * and exits.  Returns the child's pid once its socket is up, or -1.
 */
static pid_t vm_fork(const char *name, int flush_ms)
{
	struct timespec flush = { flush_ms / 1000, flush_ms % 1000 * 1000000L };
	char path[256], c = 0;
	int ready[2];
	pid_t pid;

	if (pipe(ready))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid) {
		close(ready[1]);
		/* EOF without a byte: the child could not start. */
		if (pid > 0 && read(ready[0], &c, 1) != 1) {
			waitpid(pid, NULL, 0);
			pid = -1;
		}
		close(ready[0]);
		return pid;
	}
	close(ready[0]);
	if (vm_start(&a, name))
		_exit(1);
	if (write(ready[1], "r", 1) != 1)
		_exit(1);
	pthread_join(a.main, NULL);	/* until stopped: control_stop() */
	nanosleep(&flush, NULL);
	snprintf(path, sizeof(path), "%s/%s.flushed", home, name);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	_exit(0);
}

static bool flushed(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.flushed", home, name);
	return !access(path, F_OK);
}

/* Reap a forked VM; its exit status, or -1. */
static int vm_reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_list(void)
{
	CHECK_EQ(vm_start(&a, "alpha"), 0);
	CHECK_EQ(vm_start(&b, "beta"), 0);
	make_stale("dead");
	b.paused = true;

	CHECK_EQ(run(&cmd_list, NULL), LKVM_EXIT_OK);
	CHECK(strstr(out, "NAME") == out);
	CHECK(strstr(out, "\nalpha ") != NULL);
	CHECK(strstr(out, "\nbeta ") != NULL);
	CHECK(strstr(out, "paused") != NULL);
	CHECK(strstr(out, "running") != NULL);
	CHECK(strstr(out, "dead") == NULL);
	CHECK(!sock_exists("dead")); /* reaped */
	CHECK_EQ(err[0], 0);

	make_stale("dead");
	CHECK_EQ(run(&cmd_list, "--json", NULL), LKVM_EXIT_OK);
	CHECK(strstr(out, "[\n  {\"name\": \"alpha\", \"pid\": ") == out);
	CHECK(strstr(out, "\"state\": \"paused\", \"vcpus\": 2, \"mem_mib\": 256") != NULL);
	CHECK(strstr(out, "}\n]\n") != NULL);
	CHECK(!sock_exists("dead"));

	CHECK_EQ(run(&cmd_list, "--bogus", NULL), LKVM_EXIT_USAGE);
	CHECK(strstr(err, "--bogus") != NULL);
	CHECK_EQ(run(&cmd_list, "extra", NULL), LKVM_EXIT_USAGE);
	b.paused = false;
}

static void test_pause_resume(void)
{
	CHECK_EQ(run(&cmd_pause, "-n", "alpha", NULL), LKVM_EXIT_OK);
	CHECK(a.paused);
	CHECK_EQ(run(&cmd_pause, "--name", "alpha", NULL), LKVM_EXIT_ERROR);
	CHECK(!strcmp(err, "lkvm pause: VM 'alpha' is already paused\n"));
	/* -a: beta is paused, alpha already was; no complaint. */
	CHECK_EQ(run(&cmd_pause, "-a", NULL), LKVM_EXIT_OK);
	CHECK(b.paused);
	CHECK_EQ(err[0], 0);
	CHECK_EQ(run(&cmd_resume, "--all", NULL), LKVM_EXIT_OK);
	CHECK(!a.paused && !b.paused);
	CHECK_EQ(run(&cmd_resume, "-n", "beta", NULL), LKVM_EXIT_ERROR);
	CHECK(!strcmp(err, "lkvm resume: VM 'beta' is already running\n"));

	CHECK_EQ(run(&cmd_pause, "-n", "nosuch", NULL), LKVM_EXIT_ERROR);
	CHECK(!strcmp(err, "lkvm pause: no VM named 'nosuch' (see lkvm list)\n"));
	CHECK_EQ(run(&cmd_pause, "-n", "bad/name", NULL), LKVM_EXIT_ERROR);
	CHECK(strstr(err, "not a valid VM name") != NULL);

	make_stale("dead");
	CHECK_EQ(run(&cmd_resume, "-n", "dead", NULL), LKVM_EXIT_ERROR);
	CHECK(!strcmp(err, "lkvm resume: VM 'dead' is not running (removed its stale socket)\n"));
	CHECK(!sock_exists("dead"));

	/* Usage errors. */
	CHECK_EQ(run(&cmd_pause, NULL), LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_pause, "-n", "alpha", "-a", NULL), LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_pause, "-n", NULL), LKVM_EXIT_USAGE);
	CHECK(strstr(err, "needs a value") != NULL);
	CHECK_EQ(run(&cmd_resume, "-x", NULL), LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_stop, "-n", "alpha", "junk", NULL), LKVM_EXIT_USAGE);
	CHECK(sock_exists("alpha"));
}

static void test_debug(void)
{
	memcpy(a.ram + 0x100, "lkvm debug", 10);

	CHECK_EQ(run(&cmd_debug, "-n", "alpha", NULL), LKVM_EXIT_OK);
	CHECK(!strcmp(out, "regs of vcpu 0\nregs of vcpu 1\n"));
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--regs=1", NULL),
		 LKVM_EXIT_OK);
	CHECK(!strcmp(out, "regs of vcpu 1\n")); /* newline added */
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "-r7", NULL), LKVM_EXIT_ERROR);
	CHECK(!strcmp(err, "lkvm debug: VM 'alpha': Numerical result out of range: no vCPU 7\n"));

	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "0x100", "16", NULL),
		 LKVM_EXIT_OK);
	CHECK(strstr(out, "0000000000000100  6c 6b 76 6d 20 64 65 62  75 67") == out);
	CHECK(strstr(out, "|lkvm debug......|\n") != NULL);
	/* Options after --mem GPA LEN still count. */
	CHECK_EQ(run(&cmd_debug, "--mem", "256", "4", "-n", "alpha", NULL),
		 LKVM_EXIT_OK);
	CHECK(strstr(out, "|lkvm|") != NULL);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "0x10000", "4", NULL),
		 LKVM_EXIT_ERROR);
	CHECK(strstr(err, "Bad address") != NULL);

	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--walk", "0xffffffff81000000",
		     "--cpu", "1", NULL), LKVM_EXIT_OK);
	CHECK(!strcmp(out, "walk 1 0xffffffff81000000\n"));
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--walk=0x1000", NULL),
		 LKVM_EXIT_OK);
	CHECK(!strcmp(out, "walk 0 0x1000\n"));
	/* No GVA: the vCPU's RIP, whatever follows. */
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--walk", NULL), LKVM_EXIT_OK);
	CHECK(!strcmp(out, "walk 0 pc\n"));
	CHECK_EQ(run(&cmd_debug, "--walk", "--cpu", "1", "-n", "alpha", NULL),
		 LKVM_EXIT_OK);
	CHECK(!strcmp(out, "walk 1 pc\n"));
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--walk", "zz", NULL),
		 LKVM_EXIT_USAGE);

	/* A handler the VM does not have. */
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--nmi", "0", NULL),
		 LKVM_EXIT_ERROR);
	CHECK(strstr(err, "not supported") != NULL);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--sysrq", "t", NULL),
		 LKVM_EXIT_ERROR);

	/* Usage errors. */
	CHECK_EQ(run(&cmd_debug, "--regs", NULL), LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "0x100", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "0x100", "0", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "0x100", "65537",
		     NULL), LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "0xffffffffffffffff",
		     "2", NULL), LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--mem", "zz", "2", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--sysrq", "tt", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--sysrq", " ", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--nmi", "-1", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--regs", "--nmi", "1", NULL),
		 LKVM_EXIT_USAGE);
	CHECK(strstr(err, "one action") != NULL);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--cpu", "1", NULL),
		 LKVM_EXIT_USAGE);
	CHECK_EQ(run(&cmd_debug, "-n", "alpha", "--help", NULL), LKVM_EXIT_OK);
	CHECK(strstr(out, "usage: lkvm debug") == out);
	CHECK_EQ(run(&cmd_debug, "-n", "nosuch", NULL), LKVM_EXIT_ERROR);
	CHECK(strstr(err, "no VM named 'nosuch'") != NULL);
}

static void test_stop(void)
{
	pid_t p1, p2;

	/* The in-process VMs of the tests above end here: no process to stop. */
	vm_end(&a);
	vm_end(&b);

	/*
	 * stop returns once lkvm has exited, not when its socket is gone:
	 * the VM drops the socket before it flushes its disks.
	 */
	p1 = vm_fork("alpha", 300);
	CHECK(p1 > 0);
	CHECK_EQ(run(&cmd_stop, "-n", "alpha", NULL), LKVM_EXIT_OK);
	CHECK_EQ(err[0], 0);
	CHECK(flushed("alpha"));
	CHECK(!sock_exists("alpha"));
	CHECK_EQ(vm_reap(p1), 0);
	CHECK_EQ(run(&cmd_stop, "-n", "alpha", NULL), LKVM_EXIT_ERROR);
	CHECK(strstr(err, "no VM named 'alpha'") != NULL);

	p1 = vm_fork("beta", 200);
	p2 = vm_fork("gamma", 400);
	CHECK(p1 > 0 && p2 > 0);
	make_stale("dead");
	CHECK_EQ(run(&cmd_stop, "-a", NULL), LKVM_EXIT_OK);
	CHECK_EQ(err[0], 0);
	CHECK(flushed("beta"));
	CHECK(flushed("gamma"));
	CHECK(!sock_exists("beta"));
	CHECK(!sock_exists("gamma"));
	CHECK(!sock_exists("dead"));
	CHECK_EQ(vm_reap(p1), 0);
	CHECK_EQ(vm_reap(p2), 0);

	CHECK_EQ(run(&cmd_list, NULL), LKVM_EXIT_OK);
	CHECK(!strchr(out, '\n') || !strchr(strchr(out, '\n') + 1, '\n'));
	CHECK_EQ(run(&cmd_list, "--json", NULL), LKVM_EXIT_OK);
	CHECK(!strcmp(out, "[]\n"));
	/* No VMs at all is not an error for -a. */
	CHECK_EQ(run(&cmd_stop, "-a", NULL), LKVM_EXIT_OK);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_list),
	UNIT_TEST(test_pause_resume),
	UNIT_TEST(test_debug),
	UNIT_TEST(test_stop),
};

int main(void)
{
	char cmd[128];
	int ret;

	strcpy(home, "/tmp/lkvm-test-cmds-XXXXXX");
	if (!mkdtemp(home)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("HOME", home, 1);
	mkdir(strcat(strcpy(cmd, home), "/.lkvm"), 0700);
	ret = unit_run("control-cmds", tests, ARRAY_SIZE(tests));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", home);
	return ret;
}
