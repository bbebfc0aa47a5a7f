/* SPDX-License-Identifier: MIT */
/* tests/helpers/zt_proc.c - running zipc-peer (see zt_proc.h). */
#include "helpers/zt_proc.h"
#include "helpers/zt_env.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LIVE 64
#define MAX_ARGS 64

static pid_t live[MAX_LIVE];

static void live_add(pid_t pid)
{
	for (unsigned i = 0; i < MAX_LIVE; i++)
		if (!live[i]) {
			live[i] = pid;
			return;
		}
}

static void live_del(pid_t pid)
{
	for (unsigned i = 0; i < MAX_LIVE; i++)
		if (live[i] == pid)
			live[i] = 0;
}

int64_t zt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int zt_peer_start(struct zt_peer *p, unsigned flags, const int *pass_fds, unsigned npass,
		  const char *mode, const char *const *args)
{
	int report[2] = {-1, -1}, ready[2] = {-1, -1}, go[2] = {-1, -1}, hold[2] = {-1, -1};
	char nums[4][16];
	const char *argv[MAX_ARGS];
	unsigned argc = 0;
	int keep[4 + 16];
	unsigned nkeep = 0;
	int rc = 0;

	memset(p, 0, sizeof *p);
	p->pid = -1;
	p->pidfd = p->report_fd = p->ready_fd = p->go_fd = p->hold_fd = -1;
	if (npass > 16)
		return -EINVAL;

	if (pipe2(report, O_CLOEXEC) || pipe2(ready, O_CLOEXEC) ||
	    ((flags & ZT_PEER_GO) && pipe2(go, O_CLOEXEC)) ||
	    ((flags & ZT_PEER_HOLD) && pipe2(hold, O_CLOEXEC))) {
		rc = -errno;
		goto fail;
	}

	argv[argc++] = zt_peer_path();
	argv[argc++] = mode;
	for (unsigned i = 0; args && args[i]; i++) {
		if (argc >= MAX_ARGS - 10) {
			rc = -E2BIG;
			goto fail;
		}
		argv[argc++] = args[i];
	}
	snprintf(nums[0], sizeof nums[0], "%d", report[1]);
	argv[argc++] = "--report-fd";
	argv[argc++] = nums[0];
	keep[nkeep++] = report[1];
	snprintf(nums[1], sizeof nums[1], "%d", ready[1]);
	argv[argc++] = "--ready-fd";
	argv[argc++] = nums[1];
	keep[nkeep++] = ready[1];
	if (flags & ZT_PEER_GO) {
		snprintf(nums[2], sizeof nums[2], "%d", go[0]);
		argv[argc++] = "--go-fd";
		argv[argc++] = nums[2];
		keep[nkeep++] = go[0];
	}
	if (flags & ZT_PEER_HOLD) {
		snprintf(nums[3], sizeof nums[3], "%d", hold[0]);
		argv[argc++] = "--hold-fd";
		argv[argc++] = nums[3];
		keep[nkeep++] = hold[0];
	}
	argv[argc] = NULL;
	for (unsigned i = 0; i < npass; i++)
		keep[nkeep++] = pass_fds[i];

	const char *path = argv[0];
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto fail;
	}
	if (pid == 0) {
		/* Child: async-signal-safe calls only (the parent may have threads). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(ZT_EXIT_INTERNAL);
		for (unsigned i = 0; i < nkeep; i++)
			if (fcntl(keep[i], F_SETFD, 0))
				_exit(ZT_EXIT_INTERNAL);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	p->pid = pid;
	live_add(pid);
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->report_fd = report[0];
	p->ready_fd = ready[0];
	p->go_fd = go[1];
	p->hold_fd = hold[1];
	close(report[1]);
	close(ready[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (hold[0] >= 0)
		close(hold[0]);
	return p->pidfd < 0 ? -errno : 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&report[i]);
		close_fd(&ready[i]);
		close_fd(&go[i]);
		close_fd(&hold[i]);
	}
	return rc;
}

/* Read into buf until a newline or EOF, up to the deadline.
 * Return: bytes read (>= 0), or -ETIMEDOUT. */
static ssize_t read_until(int fd, char *buf, size_t cap, int64_t deadline_ms, int want_eof)
{
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		int64_t left = deadline_ms - zt_now_ms();
		if (left < 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ETIMEDOUT;
		char tmp[256];
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return (ssize_t)len;
		size_t take = (size_t)r;
		if (take > cap - 1 - len)
			take = cap - 1 - len;
		memcpy(buf + len, tmp, take);
		len += take;
		buf[len] = '\0';
		if (!want_eof && memchr(buf, '\n', len))
			return (ssize_t)len;
	}
}

int zt_peer_wait_ready(struct zt_peer *p, int timeout_ms)
{
	char line[64];
	ssize_t n = read_until(p->ready_fd, line, sizeof line, zt_now_ms() + timeout_ms, 0);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -EPIPE;
	return strncmp(line, "ready", 5) == 0 ? 0 : -EPROTO;
}

int zt_peer_go(struct zt_peer *p)
{
	char c = 'g';
	if (p->go_fd < 0)
		return -EBADF;
	return write(p->go_fd, &c, 1) == 1 ? 0 : -errno;
}

void zt_peer_release(struct zt_peer *p)
{
	close_fd(&p->hold_fd);
}

static int reap(struct zt_peer *p, int64_t deadline_ms)
{
	while (!p->reaped) {
		int64_t left = deadline_ms - zt_now_ms();
		if (left < 0)
			return -ETIMEDOUT;
		if (p->pidfd >= 0) {
			struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
			int n = poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left));
			if (n < 0 && errno != EINTR)
				return -errno;
			if (n == 0)
				return -ETIMEDOUT;
		}
		int st;
		pid_t r = waitpid(p->pid, &st, p->pidfd >= 0 ? WNOHANG : 0);
		if (r == p->pid) {
			p->status = st;
			p->reaped = 1;
			live_del(p->pid);
		} else if (r < 0 && errno != EINTR) {
			return -errno;
		}
	}
	close_fd(&p->pidfd);
	return 0;
}

int zt_peer_finish(struct zt_peer *p, int timeout_ms)
{
	int64_t deadline = zt_now_ms() + timeout_ms;

	if (p->report_fd >= 0) {
		ssize_t n = read_until(p->report_fd, p->report, sizeof p->report, deadline, 1);
		if (n < 0)
			return (int)n;
		close_fd(&p->report_fd);
	}
	int rc = reap(p, deadline);
	if (rc)
		return rc;
	close_fd(&p->ready_fd);
	close_fd(&p->go_fd);
	close_fd(&p->hold_fd);
	return 0;
}

int zt_peer_kill(struct zt_peer *p)
{
	if (p->pid <= 0 || p->reaped)
		return 0;
	if (kill(p->pid, SIGKILL))
		return -errno;
	int rc = reap(p, zt_now_ms() + 10000);
	if (p->report_fd >= 0) {
		/* whatever the peer wrote before it died */
		ssize_t n = read_until(p->report_fd, p->report, sizeof p->report, zt_now_ms() + 1000, 1);
		(void)n;
		close_fd(&p->report_fd);
	}
	return rc;
}

int zt_peer_exit(const struct zt_peer *p)
{
	if (!p->reaped)
		return INT32_MIN;
	if (WIFEXITED(p->status))
		return WEXITSTATUS(p->status);
	if (WIFSIGNALED(p->status))
		return -WTERMSIG(p->status);
	return INT32_MIN;
}

static const char *report_find(const struct zt_peer *p, const char *key)
{
	size_t klen = strlen(key);
	const char *s = p->report;

	while ((s = strstr(s, key)) != NULL) {
		if ((s == p->report || s[-1] == ' ') && s[klen] == '=')
			return s + klen + 1;
		s += klen;
	}
	return NULL;
}

int zt_report_i64(const struct zt_peer *p, const char *key, int64_t *out)
{
	const char *v = report_find(p, key);
	char *end;
	if (!v)
		return -ENOENT;
	errno = 0;
	long long x = strtoll(v, &end, 0);
	if (errno || end == v)
		return -ENOENT;
	*out = x;
	return 0;
}

int zt_report_u64(const struct zt_peer *p, const char *key, uint64_t *out)
{
	const char *v = report_find(p, key);
	char *end;
	if (!v)
		return -ENOENT;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || end == v)
		return -ENOENT;
	*out = x;
	return 0;
}

void zt_peers_cleanup(void)
{
	for (unsigned i = 0; i < MAX_LIVE; i++) {
		pid_t pid = live[i];
		if (!pid)
			continue;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		live[i] = 0;
	}
}
