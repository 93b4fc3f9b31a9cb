// SPDX-License-Identifier: GPL-2.0
/*
 * The guest agent and its host client, with no VM: the real agent binary
 * (builtin-cmds/agent/lkvm-agent --serve-fd) serves one session over a
 * socketpair, running commands on this host, and agent_run() drives it
 * as `lkvm run -- CMD` and `lkvm exec` do.  Also the protocol's framing
 * and EXEC decoding against lies.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtin-cmds/agent-client.h"
#include "builtin-cmds/agent/proto.h"
#include "kvm/types.h"
#include "tests/unit/unit.h"

#define AGENT_BIN "builtin-cmds/agent/lkvm-agent"

static pid_t agent_pid;

/* Start the agent on one end of a socketpair; the other end is ours. */
static int agent_start(void)
{
	int sv[2];
	char fdbuf[16];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	agent_pid = fork();
	if (!agent_pid) {
		close(sv[0]);
		snprintf(fdbuf, sizeof(fdbuf), "%d", sv[1]);
		execl(AGENT_BIN, AGENT_BIN, "--serve-fd", fdbuf, (char *)NULL);
		_exit(99);
	}
	close(sv[1]);
	return sv[0];
}

static void agent_stop(int fd)
{
	int st;

	close(fd);
	CHECK_EQ(waitpid(agent_pid, &st, 0), agent_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Everything readable on @fd now (it is closed for writing). */
static size_t slurp(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	return got;
}

struct result {
	int status;
	char out[4096], err[4096];
};

/*
 * Run argv through a fresh agent with @input on its stdin (NULL: no
 * stdin at all); collect status, stdout and stderr.
 */
static void run(const char *cwd, char **argv, char **env, const char *input,
		struct result *res)
{
	struct agent_cmd cmd = { .cwd = cwd, .argv = argv, .env = env };
	int in[2], out[2], err[2], fd;

	for (cmd.argc = 0; argv[cmd.argc]; cmd.argc++)
		;
	for (cmd.envc = 0; env && env[cmd.envc]; cmd.envc++)
		;
	CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(err, O_CLOEXEC), 0);
	if (input && write(in[1], input, strlen(input)) < 0)
		abort();
	close(in[1]);
	fd = agent_start();
	res->status = agent_run(fd, &cmd, input ? in[0] : -1, out[1], err[1],
				-1, -1);
	close(out[1]);
	close(err[1]);
	slurp(out[0], res->out, sizeof(res->out));
	slurp(err[0], res->err, sizeof(res->err));
	close(in[0]);
	close(out[0]);
	close(err[0]);
	agent_stop(fd);
}

static void test_exit_status(void)
{
	struct result r;

	run("/", (char *[]){ "sh", "-c", "exit 7", NULL }, NULL, "", &r);
	CHECK_EQ(r.status, 7);
	run("/", (char *[]){ "true", NULL }, NULL, "", &r);
	CHECK_EQ(r.status, 0);
	/* Killed by a signal: 128 + N, as a shell reports it. */
	run("/", (char *[]){ "sh", "-c", "kill -9 $$", NULL }, NULL, "", &r);
	CHECK_EQ(r.status, 137);
}

static void test_streams(void)
{
	struct result r;

	/* stdin through, with its EOF; stdout and stderr kept apart. */
	run("/", (char *[]){ "sh", "-c", "cat; echo oops >&2", NULL }, NULL,
	    "hello\n", &r);
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.out, "hello\n"));
	CHECK(!strcmp(r.err, "oops\n"));
	/* No stdin at all is an immediate EOF, not a hang. */
	run("/", (char *[]){ "cat", NULL }, NULL, NULL, &r);
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.out, ""));
}

static void test_cwd_env(void)
{
	struct result r;

	run("/tmp", (char *[]){ "sh", "-c", "pwd; echo \"$GREETING\"", NULL },
	    (char *[]){ "PATH=/usr/bin:/bin", "GREETING=hi there", NULL }, "",
	    &r);
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.out, "/tmp\nhi there\n"));
	/* The default environment has a PATH. */
	run("/", (char *[]){ "sh", "-c", "echo $PATH", NULL }, NULL, "", &r);
	CHECK(strstr(r.out, "/usr/bin") != NULL);
}

static void test_not_found(void)
{
	struct result r;

	run("/", (char *[]){ "/no/such/program", NULL }, NULL, "", &r);
	CHECK_EQ(r.status, 127);
	CHECK(strstr(r.err, "/no/such/program") != NULL);
	run("/no/such/dir", (char *[]){ "true", NULL }, NULL, "", &r);
	CHECK_EQ(r.status, 126);
	CHECK(strstr(r.err, "/no/such/dir") != NULL);
}

/*
 * A command that writes a lot and never reads its stdin, while we push a
 * lot at it: neither side may wait on the other for ever.
 */
static void test_no_deadlock(void)
{
	struct agent_cmd cmd = {
		.cwd = "/", .argc = 3,
		.argv = (char *[]){ "sh", "-c",
				    "sleep 0.2; head -c 3000000 /dev/zero", NULL },
	};
	int in[2], out, fd, st;
	static char buf[1 << 16];
	pid_t feeder;

	CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
	feeder = fork();
	if (!feeder) {
		close(in[0]);
		for (int i = 0; i < 64; i++)
			if (write(in[1], buf, sizeof(buf)) < 0)
				break;
		_exit(0);
	}
	close(in[1]);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fd = agent_start();
	CHECK_EQ(agent_run(fd, &cmd, in[0], out, 2, -1, -1), 0);
	close(in[0]);
	close(out);
	agent_stop(fd);
	kill(feeder, SIGKILL);
	waitpid(feeder, &st, 0);
}

/* A signal forwarded to the command (lkvm exec under Ctrl-C). */
static void test_signal(void)
{
	struct agent_cmd cmd = {
		.cwd = "/", .argc = 3,
		.argv = (char *[]){ "sh", "-c", "echo up; exec sleep 10", NULL },
	};
	int out[2], fd, sfd, in;
	sigset_t set;
	pid_t me = getpid(), child;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Once the command is up, SIGUSR1 arrives for us to forward. */
	child = fork();
	if (!child) {
		char c;

		if (read(out[0], &c, 1) == 1)
			kill(me, SIGUSR1);
		_exit(0);
	}
	fd = agent_start();
	CHECK_EQ(agent_run(fd, &cmd, in, out[1], 2, sfd, -1), 128 + SIGUSR1);
	agent_stop(fd);
	waitpid(child, NULL, 0);
	close(out[0]);
	close(out[1]);
	close(in);
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* ECANCELED when told to stop; ECONNRESET when the agent dies. */
static void test_stop_and_hangup(void)
{
	struct agent_cmd cmd = {
		.cwd = "/", .argc = 2, .argv = (char *[]){ "sleep", "10", NULL },
	};
	int stop[2], fd, in = open("/dev/null", O_RDONLY | O_CLOEXEC);

	CHECK_EQ(pipe2(stop, O_CLOEXEC), 0);
	CHECK_EQ(write(stop[1], "x", 1), 1);
	fd = agent_start();
	CHECK_EQ(agent_run(fd, &cmd, in, 1, 2, -1, stop[0]), -ECANCELED);
	/* Our hangup makes the agent end the command and its session. */
	agent_stop(fd);

	fd = agent_start();
	kill(agent_pid, SIGKILL);
	CHECK_EQ(agent_run(fd, &cmd, in, 1, 2, -1, -1), -ECONNRESET);
	close(fd);
	waitpid(agent_pid, NULL, 0);
	close(stop[0]);
	close(stop[1]);
	close(in);
}

static void test_frames(void)
{
	u8 buf[64];
	struct agent_frame f;
	struct agent_exec e, d;
	const char *argv[] = { "echo", "a b", NULL }, *env[] = { "X=1", NULL };
	long n;

	agent_hdr_encode(buf, AGENT_STDOUT, 3);
	memcpy(buf + 8, "abc", 3);
	CHECK_EQ(agent_frame_parse(buf, 10, &f), 0);	/* not all there */
	CHECK_EQ(agent_frame_parse(buf, 11, &f), 11);
	CHECK_EQ(f.type, AGENT_STDOUT);
	CHECK_EQ(f.len, 3);
	agent_hdr_encode(buf, AGENT_MSG_NR, 0);
	CHECK_EQ(agent_frame_parse(buf, 8, &f), -1);	/* unknown type */
	agent_hdr_encode(buf, AGENT_STDOUT, AGENT_MSG_MAX + 1);
	CHECK_EQ(agent_frame_parse(buf, 8, &f), -1);	/* too long */

	e = (struct agent_exec){ "/tmp", 2, 1, argv, env };
	n = agent_exec_encode(&e, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ(agent_exec_decode(buf, n, &d), 0);
	CHECK(!strcmp(d.cwd, "/tmp") && !strcmp(d.argv[1], "a b") &&
	      !d.argv[2] && !strcmp(d.env[0], "X=1") && !d.env[1]);
	free(d.argv);
	free(d.env);
	/* A string without its NUL, bytes left over, no arguments. */
	CHECK_EQ(agent_exec_decode(buf, n - 1, &d), -1);
	buf[n] = 'x';
	CHECK_EQ(agent_exec_decode(buf, n + 1, &d), -1);
	agent_put_u32(buf, 0);
	CHECK_EQ(agent_exec_decode(buf, n, &d), -1);
	agent_put_u32(buf, 0x7fffffff);
	CHECK_EQ(agent_exec_decode(buf, n, &d), -1);
	CHECK_EQ(agent_exec_encode(&e, buf, 12), -1);	/* does not fit */
}

UNIT_MAIN("agent",
	  UNIT_TEST(test_frames),
	  UNIT_TEST(test_exit_status),
	  UNIT_TEST(test_streams),
	  UNIT_TEST(test_cwd_env),
	  UNIT_TEST(test_not_found),
	  UNIT_TEST(test_no_deadlock),
	  UNIT_TEST(test_signal),
	  UNIT_TEST(test_stop_and_hangup))
