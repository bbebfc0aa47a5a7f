/* SPDX-License-Identifier: MIT */
/* tests/helpers/zt_env.c - per-test environment (see zt_env.h). */
#include "helpers/zt_env.h"
#include "helpers/zt_proc.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char runtime_dir[PATH_MAX];
static unsigned name_counter;

int zt_env_setup(void)
{
	char tmpl[] = "/tmp/zipc-test-XXXXXX";

	if (!mkdtemp(tmpl))
		return -errno;
	snprintf(runtime_dir, sizeof runtime_dir, "%s", tmpl);
	if (setenv("ZIPC_RUNTIME_DIR", runtime_dir, 1))
		return -errno;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void zt_env_teardown(void)
{
	zt_peers_cleanup();
	if (runtime_dir[0])
		nftw(runtime_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	runtime_dir[0] = '\0';
}

const char *zt_runtime_dir(void)
{
	return runtime_dir;
}

const char *zt_name(char *buf, size_t cap, const char *tag)
{
	snprintf(buf, cap, "%s-%d-%u", tag, (int)getpid(), name_counter++);
	return buf;
}

uint64_t zt_messages(uint64_t dflt)
{
	const char *s = getenv("ZIPC_TEST_MESSAGES");
	if (!s || !*s)
		return dflt;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v == 0)
		return dflt;
	return v;
}

struct zipc_ring_opts zt_ring_opts(uint64_t capacity, uint32_t slot_size, uint32_t wait)
{
	struct zipc_ring_opts o;
	memset(&o, 0, sizeof o);
	o.capacity = capacity;
	o.slot_size = slot_size;
	o.wait = wait;
	o.numa_node = -1;
	o.group = -1;
	return o;
}

const char *zt_peer_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("ZIPC_PEER");

	if (env && *env)
		return env;
	if (!path[0]) {
		ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
		if (n <= 0)
			return "zipc-peer";
		path[n] = '\0';
		char *slash = strrchr(path, '/');
		snprintf(slash ? slash + 1 : path, 16, "zipc-peer");
	}
	return path;
}

const char *zt_wait_name(uint32_t strategy)
{
	switch (strategy) {
	case ZIPC_WAIT_SPIN:
		return "spin";
	case ZIPC_WAIT_YIELD:
		return "yield";
	case ZIPC_WAIT_BLOCK:
		return "block";
	default:
		return "default";
	}
}

int zt_in_futex(int pid)
{
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/syscall", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	long nr = -1;
	if (fgets(buf, sizeof buf, f))
		nr = strtol(buf, NULL, 10); /* "running" parses as 0, never SYS_futex */
	fclose(f);
	return nr == SYS_futex;
}

int zt_wait_for_sleeper(const zipc_ring *r, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? INT64_MAX : zipc_now_ns() + timeout_ns;
	for (;;) {
		struct zipc_ring_stat st;
		struct zipc_ring_peer_stat ps[ZIPC_RING_MAX_PRODUCERS + ZIPC_RING_MAX_CONSUMERS];
		int n = zipc_ring_stat(r, &st, ps, sizeof ps / sizeof ps[0]);
		if (n < 0)
			return n;
		if (st.consumers_sleeping > 0)
			for (int i = 0; i < n && i < (int)(sizeof ps / sizeof ps[0]); i++)
				if (ps[i].is_consumer && ps[i].state == ZIPC_PEER_ACTIVE && ps[i].pid > 0 &&
				    zt_in_futex(ps[i].pid))
					return 0;
		if (zipc_now_ns() >= deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
}
