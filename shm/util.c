/* SPDX-License-Identifier: MIT */
/*
 * shm/util.c - error strings, logging hook, clocks, process identity
 * (pid + start time) and runtime-directory paths.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm_pvt.h"

const char *zipc_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	case EAGAIN: return "would block: ring full (producer) or empty (consumer), or region still being created";
	case ETIMEDOUT: return "wait timed out";
	case EPIPE: return "end of stream: every producer has closed";
	case EOWNERDEAD: return "peer process died (producer, consumer or region creator)";
	case EINVAL: return "invalid argument";
	case ENOMEM: return "out of memory";
	case ENOENT: return "no such region, item or entry (no live zipc region by that name)";
	case EEXIST: return "a region, item or entry with that name or id already exists";
	case EACCES: return "permission denied: region not granted to this user or group";
	case EBUSY: return "no free producer/consumer slot, or ends still open";
	case EMSGSIZE: return "message larger than the slot or record maximum";
	case EBADMSG: return "not a zipc region or ring: bad magic number";
	case EPROTONOSUPPORT: return "zipc layout version not supported by this library";
	case EPROTO: return "corrupted zipc region: inconsistent header, parameters or shared state";
	case ENODATA: return "zipc region truncated: shorter than its header says";
	case ERANGE: return "zipc region size does not match its header";
	case EBADFD: return "descriptor is not a sealed memfd";
	case EMEDIUMTYPE: return "region holds another kind of zipc object";
	case ENAMETOOLONG: return "region name too long";
	case EPERM: return "operation not permitted (read-only handle?)";
	case ENODEV: return "NUMA binding unavailable or no such node";
	case ENOMSG: return "lost record: its producer died before publishing it (release it to skip)";
	case ECANCELED: return "cancelled: the scheduler channel was cancelled and its queued jobs dropped";
	case EDEADLK: return "would deadlock: a job cannot join or destroy its own scheduler";
	case ESHUTDOWN: return "shut down: the pool (or other service) is closing and did not run the request";
	case EXDEV: return "an anonymous object cannot be used from another process";
	case ENOSPC: return "no room: a fixed table (waitset entries, channels, slots) is full";
	default: return strerror(err);
	}
}

static _Atomic(zipc_log_fn) log_fn;
static void *_Atomic log_ctx;
static _Atomic int log_max = ZIPC_LOG_WARN;

void zipc_set_log(zipc_log_fn fn, void *ctx, enum zipc_log_level max_level)
{
	atomic_store(&log_ctx, ctx);
	atomic_store(&log_max, (int)max_level);
	atomic_store(&log_fn, fn);
}

void zipc__log(enum zipc_log_level level, const char *fmt, ...)
{
	zipc_log_fn fn = atomic_load(&log_fn);
	if (!fn || (int)level > atomic_load(&log_max))
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(atomic_load(&log_ctx), level, buf);
}

const char *zipc_version(void)
{
	return "0.1.0";
}

int64_t zipc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * ZIPC_SEC + ts.tv_nsec;
}

uint64_t zipc__fnv1a(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Read /proc/<pid>/stat: state (field 3) and start time (field 22).  The
 * command name (field 2) may hold spaces and parentheses, so parse after the
 * last ')'.  Returns 0 and fills the outputs, or -1 if the process is gone.
 */
static int proc_stat(int32_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	*state = *p;
	/* fields 3..22: skip 19 separators to reach field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

uint64_t zipc_pid_start_ticks(int32_t pid)
{
	char state;
	uint64_t start;
	if (pid <= 0 || proc_stat(pid, &state, &start))
		return 0;
	return start;
}

int zipc_pid_alive(int32_t pid, uint64_t start_ticks)
{
	char state;
	uint64_t start;
	if (pid <= 0 || proc_stat(pid, &state, &start))
		return 0;
	if (state == 'Z' || state == 'X')
		return 0; /* exited, not yet reaped */
	if (start_ticks && start != start_ticks)
		return 0; /* pid reused by another process */
	return 1;
}

int zipc__name_check(const char *name)
{
	if (!name || !name[0] || name[0] == '.')
		return -EINVAL;
	size_t len = strlen(name);
	if (len > ZIPC_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '_' || c == '-';
		if (!ok)
			return -EINVAL;
	}
	return 0;
}

const char *zipc_runtime_dir(void)
{
	const char *env = getenv("ZIPC_RUNTIME_DIR");
	return env && env[0] ? env : "/dev/shm/zipc";
}

int zipc__runtime_path(char *buf, size_t size, const char *name, const char *suffix)
{
	int n = snprintf(buf, size, "%s/%s%s", zipc_runtime_dir(), name, suffix);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int zipc__runtime_dir_prepare(void)
{
	const char *dir = zipc_runtime_dir();
	struct stat st;
	if (mkdir(dir, 01777) == 0) {
		/* umask may have cleared bits: names are host-wide, like /tmp */
		if (chmod(dir, 01777) != 0)
			return -errno;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* a shared directory must be sticky (nobody removes another user's
	 * names) and owned by root or by us (nobody can take that away) */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || ((st.st_mode & 0022) && !(st.st_mode & S_ISVTX))) {
		zipc__log(ZIPC_LOG_ERROR, "zipc: runtime directory %s is not safe (owner %u, mode %o)", dir,
			  (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EACCES;
	}
	return 0;
}
