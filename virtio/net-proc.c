// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "virtio/net-proc.h"

extern char **environ;

static int spawn_files(posix_spawn_file_actions_t *fa, const struct net_spawn *s)
{
	int r;

	r = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null",
					     O_RDONLY, 0);
	if (!r)
		r = s->out_fd >= 0 ?
			    posix_spawn_file_actions_adddup2(fa, s->out_fd,
							     STDOUT_FILENO) :
			    posix_spawn_file_actions_addopen(fa, STDOUT_FILENO,
							     "/dev/null",
							     O_WRONLY, 0);
	if (!r && s->err_fd >= 0)
		r = posix_spawn_file_actions_adddup2(fa, s->err_fd,
						     STDERR_FILENO);
	return r;
}

static int spawn_attrs(posix_spawnattr_t *at)
{
	sigset_t none, all;
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	r = posix_spawnattr_setsigmask(at, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(at, &all);
	if (!r)
		r = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK |
						 POSIX_SPAWN_SETSIGDEF |
						 POSIX_SPAWN_SETSID);
	return r;
}

int net_spawn(const struct net_spawn *s, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&at);
	if (r)
		goto out_fa;
	r = spawn_files(&fa, s);
	if (!r)
		r = spawn_attrs(&at);
	if (!r)
		r = posix_spawnp(pid, s->argv[0], &fa, &at, s->argv, environ);
	posix_spawnattr_destroy(&at);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int net_find_program(const char *prog)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[4096];
	int r = -ENOENT;
	size_t n;

	if (strchr(prog, '/'))
		return access(prog, X_OK) ? -errno : 0;
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".",
			     prog) >= (int)sizeof(buf))
			continue;
		if (!access(buf, X_OK))
			return 0;
		if (errno == EACCES)
			r = -EACCES;
	}
	return r;
}

int net_wait(pid_t pid, unsigned int ms, int *status)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	unsigned int waited = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
		waited += 5;
	}
}

int net_kill(pid_t pid, unsigned int ms)
{
	int status = 0;

	if (!net_wait(pid, 0, &status))
		return status;
	kill(pid, SIGTERM);
	if (!net_wait(pid, ms, &status))
		return status;
	kill(pid, SIGKILL);
	if (net_wait(pid, 1000, &status))
		status = 0;
	return status;
}

void net_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (wait status %#x)", status);
}
