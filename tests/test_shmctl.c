/* SPDX-License-Identifier: MIT */
/*
 * tests/test_shmctl.c - shmctl, the operator CLI, run as a real program
 * (ZIPC_SHMCTL, fork/exec, output captured through pipes) against live
 * rings made by this process or by a forked creator: ls finds them with
 * their pids, stat shows geometry, cursors and lag, --json has the stable
 * keys, a region outlives its killed creator and is still listed, a
 * mapping alone is enough to be found, corrupted regions and unknown names
 * fail cleanly, and inspecting a ring never writes to it.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <zipc/dispatch.h>
#include <zipc/mesh.h>
#include <zipc/record.h>
#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_env.h"

/* ------------------------------------------------------------- fixtures */

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_SHMCTL(name, secs) Test(shmctl, name, .init = setup, .fini = teardown, .timeout = secs)

/* ---------------------------------------------------- running shmctl */

/* What one shmctl run produced. */
struct run {
	int exit;  /* exit status, or 128 + signal */
	char *out; /* stdout, NUL-terminated (malloc'd) */
	char *err; /* stderr, NUL-terminated (malloc'd) */
};

static const char *shmctl_path(void)
{
	const char *p = getenv("ZIPC_SHMCTL");
	if (!p || !*p)
		p = "build/shmctl";
	if (access(p, X_OK) != 0)
		cr_skip_test("shmctl not found at %s: build it and set ZIPC_SHMCTL", p);
	return p;
}

/* Append what @fd has to *buf; 0 at EOF, 1 if more may come. */
static int drain(int fd, char **buf, size_t *len, size_t *cap)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof tmp);
	if (n < 0 && errno == EINTR)
		return 1;
	cr_assert_geq(n, 0, "read from shmctl: %s", strerror(errno));
	if (n == 0)
		return 0;
	if (*len + (size_t)n + 1 > *cap) {
		*cap = (*len + (size_t)n + 1) * 2;
		*buf = realloc(*buf, *cap);
		cr_assert_not_null(*buf);
	}
	memcpy(*buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
	return 1;
}

/*
 * Run shmctl with the NULL-terminated @args (after argv[0]) and capture its
 * stdout and stderr.  The child inherits the environment (ZIPC_RUNTIME_DIR).
 */
static struct run run_shmctl(const char *const *args)
{
	const char *path = shmctl_path();
	const char *argv[32];
	size_t argc = 0;
	argv[argc++] = path;
	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(argc, 31);
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	int out[2], err[2];
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* async-signal-safe only: this process may have threads */
		if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);

	struct run r = {0, NULL, NULL};
	size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
	r.out = calloc(1, 1);
	r.err = calloc(1, 1);
	cr_assert(r.out && r.err);
	ocap = ecap = 1;
	struct pollfd pfd[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		int n = poll(pfd, 2, -1); /* bounded by the test's .timeout */
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert_geq(n, 0, "poll: %s", strerror(errno));
		if (pfd[0].revents && !drain(out[0], &r.out, &olen, &ocap)) {
			close(out[0]);
			pfd[0].fd = -1;
		}
		if (pfd[1].revents && !drain(err[0], &r.err, &elen, &ecap)) {
			close(err[0]);
			pfd[1].fd = -1;
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	cr_assert_neq(r.exit, 127, "could not exec %s", path);
	cr_assert_lt(r.exit, 128, "shmctl died of signal %d; stderr: %s", r.exit - 128, r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Run shmctl with --json; it must exit 0 and print one JSON value. */
static struct json_object *run_json(const char *const *args)
{
	struct run r = run_shmctl(args);
	cr_assert_eq(r.exit, 0, "shmctl exit %d; stderr: %s", r.exit, r.err);
	struct json_object *o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "shmctl printed invalid JSON: %s", r.out);
	run_free(&r);
	return o;
}

/* ------------------------------------------------------- JSON helpers */

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key \"%s\" missing in %s", key,
		  json_object_to_json_string(o));
	return v;
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);
	cr_assert(json_object_is_type(v, json_type_int), "key \"%s\" is not an integer in %s", key,
		  json_object_to_json_string(o));
	return json_object_get_int64(v);
}

static int jbool(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);
	cr_assert(json_object_is_type(v, json_type_boolean), "key \"%s\" is not a boolean", key);
	return json_object_get_boolean(v);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);
	cr_assert(json_object_is_type(v, json_type_string), "key \"%s\" is not a string in %s", key,
		  json_object_to_json_string(o));
	return json_object_get_string(v);
}

static void jkeys(struct json_object *o, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		jget(o, keys[i]);
}

static int jpids_has(struct json_object *o, pid_t pid)
{
	struct json_object *a = jget(o, "pids");
	cr_assert(json_object_is_type(a, json_type_array));
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (json_object_get_int(json_object_array_get_idx(a, i)) == pid)
			return 1;
	return 0;
}

/* The entry of `ls --json` array @a named @name with status @status, or NULL. */
static struct json_object *ls_find(struct json_object *a, const char *name, const char *status)
{
	cr_assert(json_object_is_type(a, json_type_array), "ls --json is not an array");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		if (strcmp(jstr(o, "name"), name) == 0 && strcmp(jstr(o, "status"), status) == 0)
			return o;
	}
	return NULL;
}

/* The peer of role @role whose pid is @pid in `stat --json` object @st. */
static struct json_object *peer_find(struct json_object *st, const char *role, pid_t pid)
{
	struct json_object *peers = jget(jget(st, "ring"), "peers");
	for (size_t i = 0; i < json_object_array_length(peers); i++) {
		struct json_object *p = json_object_array_get_idx(peers, i);
		if (strcmp(jstr(p, "role"), role) == 0 && jint(p, "pid") == pid)
			return p;
	}
	cr_assert_fail("no %s with pid %d in %s", role, (int)pid, json_object_to_json_string(peers));
	return NULL;
}

/* The number after "  <label>" at the start of a line of @text, or -1. */
static long long line_number(const char *text, const char *label)
{
	size_t l = strlen(label);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *s = p;
		while (*s == ' ')
			s++;
		if (strncmp(s, label, l) == 0 && s[l] == ' ')
			return strtoll(s + l, NULL, 10);
	}
	return -1;
}

/* Does some line of @text contain both @a and @b? */
static int line_has_both(const char *text, const char *a, const char *b)
{
	const char *p = text;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *line = strndup(p, len);
		cr_assert_not_null(line);
		int hit = strstr(line, a) && strstr(line, b);
		free(line);
		if (hit)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* --------------------------------------------------------- ring helpers */

static zipc_ring *make_ring(const char *name, uint64_t capacity, uint32_t slot_size)
{
	struct zipc_ring_opts o = zt_ring_opts(capacity, slot_size, ZIPC_WAIT_BLOCK);
	zipc_ring *r = NULL;
	int rc = zipc_ring_create(name, &o, &r);
	cr_assert_eq(rc, 0, "zipc_ring_create(%s): %d %s", name, rc, zipc_strerror(rc));
	return r;
}

/* A creator in a forked child: it sends its memfd as the readiness signal. */
struct creator {
	pid_t pid;
	int sock; /* our end; EOF on it tells the child to finish */
	int fd;   /* the region's memfd, received with SCM_RIGHTS */
};

/*
 * Fork a child that creates ring @name, sends its memfd over a socketpair
 * (SCM_RIGHTS, one status byte: 0 or -code) and then holds the ring until
 * the socket reaches EOF.  Call before this process starts any thread.
 */
static struct creator spawn_creator(const char *name)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(1);
		struct zipc_ring_opts o = zt_ring_opts(16, 8, ZIPC_WAIT_BLOCK);
		zipc_ring *r = NULL;
		int rc = zipc_ring_create(name, &o, &r);
		unsigned char status = (unsigned char)(rc < 0 ? -rc : 0);
		int fd = rc == 0 ? zipc_region_fd(zipc_ring_region(r)) : -1;
		struct iovec iov = {.iov_base = &status, .iov_len = 1};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		memset(&ctl, 0, sizeof ctl);
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fd >= 0) {
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof ctl.buf;
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		if (sendmsg(sv[1], &msg, MSG_NOSIGNAL) != 1)
			_exit(1);
		char x;
		while (read(sv[1], &x, 1) > 0) /* hold until the test lets go */
			;
		zipc_ring_close(r);
		_exit(0);
	}
	close(sv[1]);

	struct creator c = {.pid = pid, .sock = sv[0], .fd = -1};
	unsigned char status = 0xff;
	struct iovec iov = {.iov_base = &status, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf};
	ssize_t n;
	do
		n = recvmsg(c.sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cr_assert_eq(n, 1, "creator child sent nothing (exited?)");
	cr_assert_eq(status, 0, "creator child: zipc_ring_create: %s", zipc_strerror(-(int)status));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cr_assert(cm && cm->cmsg_type == SCM_RIGHTS, "no descriptor from the creator child");
	memcpy(&c.fd, CMSG_DATA(cm), sizeof(int));
	return c;
}

static void kill_creator(struct creator *c)
{
	cr_assert_eq(kill(c->pid, SIGKILL), 0);
	int status;
	while (waitpid(c->pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void release_creator(struct creator *c)
{
	close(c->sock);
	int status;
	while (waitpid(c->pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "creator child failed");
}

/* ------------------------------------------------------------------- ls */

/* ls lists a live ring of this process by name, kind, size, creator pid and holder pids, as a table and as JSON. */
TEST_SHMCTL(ls_lists_live_ring_with_pids, 30)
{
	char name[64], pid[16];
	zt_name(name, sizeof name, "shmctl-ls");
	zipc_ring *r = make_ring(name, 64, 32);
	snprintf(pid, sizeof pid, "%d", (int)getpid());

	struct run t = run_shmctl((const char *[]){"ls", NULL});
	cr_assert_eq(t.exit, 0, "ls exit %d: %s", t.exit, t.err);
	cr_assert(strncmp(t.out, "NAME", 4) == 0, "no table header: %s", t.out);
	cr_assert(line_has_both(t.out, name, pid), "no row with %s and pid %s:\n%s", name, pid, t.out);
	run_free(&t);

	struct json_object *a = run_json((const char *[]){"ls", "--json", NULL});
	struct json_object *o = ls_find(a, name, "ok");
	cr_assert_not_null(o, "%s not in %s", name, json_object_to_json_string(a));
	cr_assert_str_eq(jstr(o, "kind"), "ring");
	cr_assert_eq(jint(o, "creator_pid"), getpid());
	cr_assert(jbool(o, "creator_alive"));
	cr_assert(jpids_has(o, getpid()), "own pid not among holders");
	cr_assert_geq(jint(o, "size"), 64 * 32);
	cr_assert_eq(jint(o, "uid"), (int64_t)geteuid());
	cr_assert_gt(jint(o, "created_ns"), 0);
	json_object_put(a);
	zipc_ring_close(r);
}

/* A ring created by another process is listed with that process as creator and holder, and this process is not a holder. */
TEST_SHMCTL(ls_lists_ring_of_other_process, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-other");
	struct creator c = spawn_creator(name);
	close(c.fd); /* keep no hold of our own */

	struct json_object *a = run_json((const char *[]){"ls", "--json", NULL});
	struct json_object *o = ls_find(a, name, "ok");
	cr_assert_not_null(o, "%s not in %s", name, json_object_to_json_string(a));
	cr_assert_eq(jint(o, "creator_pid"), c.pid);
	cr_assert(jbool(o, "creator_alive"));
	cr_assert(jpids_has(o, c.pid));
	cr_assert_not(jpids_has(o, getpid()), "this process holds nothing");
	json_object_put(a);
	release_creator(&c);
}

/* A region whose creator was killed but which another process still holds is listed with creator_alive false; its served name shows as stale. */
TEST_SHMCTL(ls_lists_region_of_killed_creator, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-orphan");
	struct creator c = spawn_creator(name);
	kill_creator(&c); /* our dup of the memfd keeps the region alive */

	struct json_object *a = run_json((const char *[]){"ls", "--json", NULL});
	struct json_object *o = ls_find(a, name, "ok");
	cr_assert_not_null(o, "%s not in %s", name, json_object_to_json_string(a));
	cr_assert_eq(jint(o, "creator_pid"), c.pid);
	cr_assert_not(jbool(o, "creator_alive"));
	cr_assert(jpids_has(o, getpid()), "the holder of the descriptor is listed");
	cr_assert_not(jpids_has(o, c.pid));
	struct json_object *stale = ls_find(a, name, "stale");
	cr_assert_not_null(stale, "the dead creator's name is not listed as stale: %s", json_object_to_json_string(a));
	cr_assert_not(jbool(stale, "creator_alive"));
	json_object_put(a);

	/* stat still reads it (the stale name does not hide the region) */
	struct json_object *st = run_json((const char *[]){"stat", "--json", name, NULL});
	cr_assert_not(jbool(st, "creator_alive"));
	cr_assert_eq(jint(jget(st, "ring"), "capacity"), 16);
	json_object_put(st);

	struct run t = run_shmctl((const char *[]){"ls", NULL});
	cr_assert(line_has_both(t.out, name, " no "), "no row showing the creator dead:\n%s", t.out);
	run_free(&t);
	close(c.fd);
}

/* A region held only by a mapping (no descriptor left anywhere) is still found through /proc/PID/maps. */
TEST_SHMCTL(ls_finds_region_held_only_by_a_mapping, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-maponly");
	struct creator c = spawn_creator(name);
	struct stat st;
	cr_assert_eq(fstat(c.fd, &st), 0);
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, c.fd, 0);
	cr_assert_neq(m, MAP_FAILED);
	close(c.fd);
	kill_creator(&c);

	struct json_object *a = run_json((const char *[]){"ls", "--json", NULL});
	struct json_object *o = ls_find(a, name, "ok");
	if (!o && geteuid() != 0)
		o = ls_find(a, name, "unavailable"); /* map_files may need CAP_SYS_ADMIN */
	cr_assert_not_null(o, "%s not in %s", name, json_object_to_json_string(a));
	cr_assert(jpids_has(o, getpid()), "the mapping's owner is listed");
	cr_assert_eq(jint(o, "inode"), (int64_t)st.st_ino);
	if (strcmp(jstr(o, "status"), "ok") == 0) {
		cr_assert_eq(jint(o, "creator_pid"), c.pid);
		cr_assert_not(jbool(o, "creator_alive"));
	}
	json_object_put(a);
	munmap(m, (size_t)st.st_size);
}

/* ----------------------------------------------------------------- stat */

/* stat shows capacity, slot size, the published cursor after K messages and the consumer's lag K, then lag K-3 after reading 3. */
TEST_SHMCTL(stat_shows_cursor_and_consumer_lag, 30)
{
	enum { K = 7 };
	char name[64];
	zt_name(name, sizeof name, "shmctl-stat");
	zipc_ring *r = make_ring(name, 64, 32);
	zipc_producer *p = NULL;
	zipc_consumer *c = NULL;
	struct zipc_wait_opts spin = {.strategy = ZIPC_WAIT_SPIN};
	cr_assert_eq(zipc_producer_open(r, &spin, &p), 0);
	cr_assert_eq(zipc_consumer_open(r, NULL, &c), 0);
	char msg[32] = "shmctl";
	for (int i = 0; i < K; i++)
		cr_assert_eq(zipc_producer_send(p, msg, sizeof msg, 0), 0);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 0, "stat exit %d: %s", t.exit, t.err);
	cr_assert(strstr(t.out, "64 slots x 32 bytes"), "no geometry in:\n%s", t.out);
	cr_assert_eq(line_number(t.out, "published"), K, "published cursor in:\n%s", t.out);
	cr_assert_eq(line_number(t.out, "fill"), K);
	cr_assert(strstr(t.out, "wait strategy  block"), "no wait strategy in:\n%s", t.out);
	cr_assert(line_has_both(t.out, "consumer", " 7 "), "no consumer row with lag %d:\n%s", K, t.out);
	run_free(&t);

	struct json_object *st = run_json((const char *[]){"stat", "--json", name, NULL});
	struct json_object *ring = jget(st, "ring");
	cr_assert_eq(jint(ring, "capacity"), 64);
	cr_assert_eq(jint(ring, "slot_size"), 32);
	cr_assert_eq(jint(ring, "published"), K);
	cr_assert_eq(jint(ring, "claimed"), K);
	cr_assert_eq(jint(ring, "min_consumer"), 0);
	cr_assert_eq(jint(ring, "fill"), K);
	cr_assert_eq(jint(ring, "producers_active"), 1);
	cr_assert_eq(jint(ring, "consumers_active"), 1);
	cr_assert_not(jbool(ring, "multi_producer"));
	cr_assert_str_eq(jstr(ring, "wait"), "block");
	struct json_object *cons = peer_find(st, "consumer", getpid());
	cr_assert_eq(jint(cons, "lag"), K);
	cr_assert_eq(jint(cons, "sequence"), 0);
	cr_assert_str_eq(jstr(cons, "state"), "active");
	cr_assert(jbool(cons, "alive"));
	struct json_object *prod = peer_find(st, "producer", getpid());
	cr_assert_str_eq(jstr(prod, "wait"), "spin");
	cr_assert(json_object_is_type(jget(prod, "lag"), json_type_null), "a producer has no lag");
	json_object_put(st);

	char buf[32];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(zipc_consumer_recv(c, buf, sizeof buf, 0), 32);
	st = run_json((const char *[]){"stat", "--json", name, NULL});
	cons = peer_find(st, "consumer", getpid());
	cr_assert_eq(jint(cons, "lag"), K - 3);
	cr_assert_eq(jint(cons, "sequence"), 3);
	cr_assert_eq(jint(jget(st, "ring"), "fill"), K - 3);
	json_object_put(st);

	zipc_consumer_close(c);
	zipc_producer_close(p);
	zipc_ring_close(r);
}

/* ls --json and stat --json carry every stable key, also with --pretty and with --json before the command. */
TEST_SHMCTL(json_output_has_stable_keys, 30)
{
	static const char *const region_keys[] = {"name", "kind", "size", "creator_pid", "creator_alive",
						  "pids", "uid", "created_ns", NULL};
	static const char *const ring_keys[] = {
		"capacity", "slot_size", "flags", "multi_producer", "wait", "claimed", "published", "min_consumer",
		"fill", "producers_active", "consumers_active", "consumers_sleeping", "producers_sleeping",
		"consumer_wakes", "producer_wakes", "numa_node", "peers", NULL};
	static const char *const peer_keys[] = {"role", "index", "state", "pid", "alive", "wait",
						"sequence", "lag", "waits", "sleeps", "timeouts", NULL};
	char name[64];
	zt_name(name, sizeof name, "shmctl-keys");
	zipc_ring *r = make_ring(name, 16, 8);
	zipc_consumer *c = NULL;
	cr_assert_eq(zipc_consumer_open(r, NULL, &c), 0);

	struct json_object *a = run_json((const char *[]){"--json", "ls", NULL});
	struct json_object *o = ls_find(a, name, "ok");
	cr_assert_not_null(o);
	jkeys(o, region_keys);
	json_object_put(a);

	struct json_object *st = run_json((const char *[]){"stat", "--pretty", name, NULL});
	jkeys(st, region_keys);
	jkeys(jget(st, "ring"), ring_keys);
	struct json_object *peers = jget(jget(st, "ring"), "peers");
	cr_assert_geq(json_object_array_length(peers), 1);
	for (size_t i = 0; i < json_object_array_length(peers); i++)
		jkeys(json_object_array_get_idx(peers, i), peer_keys);
	cr_assert_str_eq(jstr(st, "name"), name);
	cr_assert_str_eq(jstr(st, "kind"), "ring");
	json_object_put(st);

	zipc_consumer_close(c);
	zipc_ring_close(r);
}

/* Listing and inspecting a live ring leave every byte of its region unchanged (read-only mapping, no registration). */
TEST_SHMCTL(inspection_never_writes_the_ring, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-ro");
	zipc_ring *r = make_ring(name, 32, 16);
	zipc_producer *p = NULL;
	zipc_consumer *c = NULL;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	cr_assert_eq(zipc_consumer_open(r, NULL, &c), 0);
	char msg[16] = "x";
	for (int i = 0; i < 5; i++)
		cr_assert_eq(zipc_producer_send(p, msg, sizeof msg, 0), 0);

	zipc_region *reg = zipc_ring_region(r);
	const void *area = zipc_region_area(reg);
	size_t size = (size_t)zipc_region_area_size(reg);
	void *before = malloc(size);
	cr_assert_not_null(before);
	memcpy(before, area, size);
	struct zipc_region_hdr hdr = *zipc_region_header(reg);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 0, "stat: %s", t.err);
	run_free(&t);
	t = run_shmctl((const char *[]){"ls", "--json", NULL});
	cr_assert_eq(t.exit, 0);
	run_free(&t);

	cr_assert_eq(memcmp(before, area, size), 0, "the ring's shared memory changed");
	cr_assert_eq(memcmp(&hdr, zipc_region_header(reg), sizeof hdr), 0);
	free(before);
	zipc_consumer_close(c);
	zipc_producer_close(p);
	zipc_ring_close(r);
}

/* stat of a name nobody uses exits 1 with a message and prints nothing on stdout. */
TEST_SHMCTL(stat_of_unknown_name_fails, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-none");
	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 1, "exit %d", t.exit);
	cr_assert_str_eq(t.out, "");
	cr_assert(strstr(t.err, "no such region"), "stderr: %s", t.err);
	run_free(&t);
	t = run_shmctl((const char *[]){"stat", "--json", name, NULL});
	cr_assert_eq(t.exit, 1);
	cr_assert_str_eq(t.out, "");
	run_free(&t);
}

/* A memfd named "zipc:*" that is not a zipc region is listed as invalid with its code, and stat of it exits non-zero. */
TEST_SHMCTL(stat_of_corrupted_region_fails, 30)
{
	char name[64], mname[80];
	zt_name(name, sizeof name, "shmctl-bad");
	snprintf(mname, sizeof mname, "zipc:%s", name);
	int fd = memfd_create(mname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_assert_geq(fd, 0);
	static char junk[8192];
	memset(junk, 0xa5, sizeof junk);
	cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);

	struct json_object *a = run_json((const char *[]){"ls", "--json", NULL});
	struct json_object *o = ls_find(a, name, "invalid");
	cr_assert_not_null(o, "%s not listed as invalid: %s", name, json_object_to_json_string(a));
	cr_assert_eq(jint(o, "error_code"), -EBADMSG);
	cr_assert(jpids_has(o, getpid()));
	json_object_put(a);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 1, "exit %d", t.exit);
	cr_assert(strstr(t.err, "invalid region") && strstr(t.err, "EBADMSG"), "stderr: %s", t.err);
	cr_assert(strstr(t.err, zipc_strerror(-EBADMSG)), "stderr lacks the zipc explanation: %s", t.err);
	run_free(&t);
	close(fd);
}

/* A ring whose geometry was overwritten is refused by stat with the ring's validation code. */
TEST_SHMCTL(stat_of_corrupted_ring_fails, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-badring");
	zipc_ring *r = make_ring(name, 16, 8);
	struct zipc_ring_hdr *h = zipc_region_area(zipc_ring_region(r));
	uint64_t saved = h->p.capacity;
	h->p.capacity = 3; /* not a power of two */

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 1, "exit %d; stdout: %s", t.exit, t.out);
	cr_assert(strstr(t.err, "invalid region"), "stderr: %s", t.err);
	run_free(&t);
	t = run_shmctl((const char *[]){"stat", "--json", name, NULL});
	cr_assert_eq(t.exit, 1);
	struct json_object *o = json_tokener_parse(t.out);
	cr_assert_not_null(o, "no JSON diagnosis: %s", t.out);
	cr_assert_str_eq(jstr(o, "status"), "invalid");
	cr_assert_lt(jint(o, "error_code"), 0);
	json_object_put(o);
	run_free(&t);

	h->p.capacity = saved;
	zipc_ring_close(r);
}

/* --------------------------------------------------------- command line */

/* Usage errors exit 2, --help exits 0 and documents the exit codes. */
TEST_SHMCTL(command_line_errors_exit_2, 30)
{
	const char *const *const bad[] = {
		(const char *[]){NULL},
		(const char *[]){"frobnicate", NULL},
		(const char *[]){"stat", NULL},
		(const char *[]){"stat", "a", "b", NULL},
		(const char *[]){"stat", "--inode", "x1", "a", NULL},
		(const char *[]){"ls", "extra", NULL},
		(const char *[]){"ls", "--bogus", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct run t = run_shmctl((const char *const *)bad[i]);
		cr_assert_eq(t.exit, 2, "case %zu: exit %d, stderr %s", i, t.exit, t.err);
		run_free(&t);
	}
	struct run t = run_shmctl((const char *[]){"--help", NULL});
	cr_assert_eq(t.exit, 0);
	cr_assert(strstr(t.out, "Usage") && strstr(t.out, "Exit status"), "%s", t.out);
	run_free(&t);
	t = run_shmctl((const char *[]){"stat", "--help", NULL});
	cr_assert_eq(t.exit, 0);
	cr_assert(strstr(t.out, "shmctl stat"), "%s", t.out);
	run_free(&t);
}

/* ------------------------------------------------------- other kinds */

/* A record ring: stat shows its kind, fill, positions and its peers. */
TEST_SHMCTL(stat_shows_record_ring_fill, 30)
{
	enum { K = 5, LEN = 24 };
	char name[64];
	zt_name(name, sizeof name, "shmctl-rec");
	struct zipc_record_opts o;
	memset(&o, 0, sizeof o);
	o.capacity = 4096;
	o.max_record = 256;
	zipc_record_ring *r = NULL;
	int rc = zipc_record_ring_create(name, &o, &r);
	cr_assert_eq(rc, 0, "zipc_record_ring_create: %d %s", rc, zipc_strerror(rc));
	zipc_record_producer *p = NULL;
	zipc_record_consumer *c = NULL;
	cr_assert_eq(zipc_record_producer_open(r, NULL, &p), 0);
	cr_assert_eq(zipc_record_consumer_open(r, NULL, &c), 0);
	char msg[LEN] = "record";
	for (int i = 0; i < K; i++)
		cr_assert_eq(zipc_record_send(p, msg, sizeof msg, 0), 0);

	struct json_object *st = run_json((const char *[]){"stat", "--json", name, NULL});
	cr_assert_str_eq(jstr(st, "kind"), "record");
	cr_assert(json_object_is_type(jget(st, "ring"), json_type_null), "a record ring is not a ring");
	struct json_object *rec = jget(st, "record");
	cr_assert_eq(jint(rec, "capacity"), 4096);
	cr_assert_eq(jint(rec, "max_record"), 256);
	cr_assert_eq(jint(rec, "fill"), K * ZIPC_RECORD_SIZE(LEN));
	cr_assert_eq(jint(rec, "tail"), K * ZIPC_RECORD_SIZE(LEN));
	cr_assert_eq(jint(rec, "head"), 0);
	cr_assert_eq(jint(rec, "producers_active"), 1);
	cr_assert_eq(jint(rec, "consumers_active"), 1);
	cr_assert_eq(jint(rec, "records"), 0);
	cr_assert_eq(jint(rec, "peers_total"), 2);
	json_object_put(st);

	char buf[LEN];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(zipc_record_recv(c, buf, sizeof buf, 0), LEN);
	st = run_json((const char *[]){"stat", "--json", name, NULL});
	rec = jget(st, "record");
	cr_assert_eq(jint(rec, "fill"), (K - 2) * ZIPC_RECORD_SIZE(LEN));
	cr_assert_eq(jint(rec, "records"), 2);
	json_object_put(st);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 0, "stat exit %d: %s", t.exit, t.err);
	cr_assert(strstr(t.out, "kind           record"), "no kind in:\n%s", t.out);
	cr_assert_eq(line_number(t.out, "fill"), (K - 2) * ZIPC_RECORD_SIZE(LEN), "fill in:\n%s", t.out);
	run_free(&t);

	t = run_shmctl((const char *[]){"ls", NULL});
	cr_assert_eq(t.exit, 0);
	cr_assert(line_has_both(t.out, name, "record"), "no record row in:\n%s", t.out);
	run_free(&t);

	zipc_record_consumer_close(c);
	zipc_record_producer_close(p);
	zipc_record_ring_close(r);
}

/* The mesh test's workers: 0 sends K messages to 1, then both hold the mesh open until released. */
struct mesh_test {
	int ready[2];   /* each worker writes one byte when its traffic is done */
	int release[2]; /* the test closes the write end: workers may return */
};

enum { MESH_K = 9, MESH_LEN = 16, MESH_CHANNEL = 5 };

static int mesh_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	struct mesh_test *mt = arg;
	zipc_mesh_sender *tx[2];
	zipc_mesh_receiver *rx = NULL;
	(void)result;
	int rc = zipc_mesh_allocate(w, MESH_CHANNEL, tx, &rx);
	if (rc)
		return rc;
	char msg[MESH_LEN] = "mesh";
	if (zipc_mesh_index(w) == 0) {
		for (int i = 0; i < MESH_K && rc == 0; i++)
			rc = zipc_mesh_send_bytes(tx[1], msg, sizeof msg, ZIPC_FOREVER);
	} else {
		struct zipc_mesh_msg m;
		for (int i = 0; i < MESH_K && rc == 0; i++)
			rc = zipc_mesh_pull(rx, &m, ZIPC_FOREVER);
		if (rc == 0)
			rc = zipc_mesh_recycle(rx);
	}
	char b = rc ? 1 : 0;
	if (write(mt->ready[1], &b, 1) != 1 && rc == 0)
		rc = -EIO;
	char x;
	while (read(mt->release[0], &x, 1) > 0)
		;
	return rc;
}

/* A named mesh: stat shows its geometry and the channel's per-peer message and byte counters. */
TEST_SHMCTL(stat_shows_mesh_counters, 30)
{
	char name[64];
	zt_name(name, sizeof name, "mc");
	struct mesh_test mt;
	cr_assert_eq(pipe2(mt.ready, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(mt.release, O_CLOEXEC), 0);
	struct zipc_mesh_config cfg = {.mode = ZIPC_MESH_CLUSTER, .threads = 2, .processes = 1,
				       .name = name, .capacity = 16, .max_message = 64};
	zipc_mesh_guards *g = NULL;
	int rc = zipc_mesh_initialize(&cfg, mesh_worker, &mt, &g);
	cr_assert_eq(rc, 0, "zipc_mesh_initialize: %d %s", rc, zipc_strerror(rc));
	for (int i = 0; i < 2; i++) {
		char b = 1;
		cr_assert_eq(read(mt.ready[0], &b, 1), 1);
		cr_assert_eq(b, 0, "a worker failed");
	}

	struct json_object *st = run_json((const char *[]){"stat", "--json", name, NULL});
	cr_assert_str_eq(jstr(st, "kind"), "mesh");
	struct json_object *mesh = jget(st, "mesh");
	cr_assert_eq(jint(mesh, "workers"), 2);
	cr_assert_eq(jint(mesh, "processes"), 1);
	cr_assert_eq(jint(mesh, "threads"), 2);
	cr_assert_eq(jint(mesh, "capacity"), 16);
	cr_assert_eq(jint(mesh, "max_message"), 64);
	struct json_object *cs = jget(mesh, "counters");
	int found_sent = 0, found_recv = 0;
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		struct json_object *c = json_object_array_get_idx(cs, i);
		cr_assert_eq(jint(c, "channel"), MESH_CHANNEL);
		if (jint(c, "worker") == 0 && jint(c, "peer") == 1) {
			cr_assert_eq(jint(c, "msgs_sent"), MESH_K);
			cr_assert_eq(jint(c, "bytes_sent"), MESH_K * MESH_LEN);
			found_sent = 1;
		}
		if (jint(c, "worker") == 1 && jint(c, "peer") == 0) {
			cr_assert_eq(jint(c, "msgs_recv"), MESH_K);
			cr_assert_eq(jint(c, "bytes_recv"), MESH_K * MESH_LEN);
			found_recv = 1;
		}
	}
	cr_assert(found_sent && found_recv, "counters missing: %s", json_object_to_json_string(mesh));
	cr_assert_eq(jint(mesh, "counters_total"), (int64_t)json_object_array_length(cs));
	json_object_put(st);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 0, "stat exit %d: %s", t.exit, t.err);
	cr_assert(strstr(t.out, "kind           mesh"), "no kind in:\n%s", t.out);
	cr_assert(strstr(t.out, "MSGS SENT"), "no counters table in:\n%s", t.out);
	run_free(&t);

	close(mt.release[1]);
	rc = zipc_mesh_join(g, NULL, 0);
	cr_assert_eq(rc, 0, "zipc_mesh_join: %d %s", rc, zipc_strerror(rc));
	close(mt.release[0]);
	close(mt.ready[0]);
	close(mt.ready[1]);
}

/* A dispatcher: stat shows its mode, its ends by name and the delivery counters. */
TEST_SHMCTL(stat_shows_dispatch_ends, 30)
{
	enum { K = 6, LEN = 12 };
	char name[64];
	zt_name(name, sizeof name, "sd");
	struct zipc_dispatch_opts o = {.bound = 16, .max_message = 64};
	zipc_dispatch *d = NULL;
	int rc = zipc_dispatch_create(name, &o, &d);
	cr_assert_eq(rc, 0, "zipc_dispatch_create: %d %s", rc, zipc_strerror(rc));
	zipc_dispatch_receiver *rx = NULL;
	zipc_dispatch_sender *tx = NULL;
	cr_assert_eq(zipc_dispatch_receiver_open(d, "rx", &rx), 0);
	cr_assert_eq(zipc_dispatch_sender_open(d, "tx", "rx", &tx), 0);
	char msg[LEN] = "dispatch", buf[64];
	for (int i = 0; i < K; i++)
		cr_assert_eq(zipc_dispatch_send(tx, msg, sizeof msg, ZIPC_FOREVER), 0);
	for (int got = 0; got < K;) {
		struct zipc_dispatch_msg m;
		rc = zipc_dispatch_recv(rx, buf, sizeof buf, &m, 5000000000LL);
		cr_assert_geq(rc, 0, "zipc_dispatch_recv: %d %s", rc, zipc_strerror(rc));
		got += rc == 1;
	}

	/* The dispatcher counts a message just after publishing it: once the
	 * receiver has all K, at least K - 1 are counted. */
	struct json_object *st = run_json((const char *[]){"stat", "--json", name, NULL});
	cr_assert_str_eq(jstr(st, "kind"), "dispatch");
	struct json_object *dj = jget(st, "dispatch");
	cr_assert_str_eq(jstr(dj, "mode"), "serializing");
	cr_assert(jbool(dj, "running"));
	cr_assert_eq(jint(dj, "dispatcher_pid"), getpid());
	cr_assert_eq(jint(dj, "senders"), 1);
	cr_assert_eq(jint(dj, "receivers"), 1);
	cr_assert_geq(jint(dj, "delivered"), K - 1);
	cr_assert_leq(jint(dj, "delivered"), K);
	cr_assert_eq(jint(dj, "ends_total"), 2);
	struct json_object *ends = jget(dj, "ends");
	int seen = 0;
	for (size_t i = 0; i < json_object_array_length(ends); i++) {
		struct json_object *e = json_object_array_get_idx(ends, i);
		cr_assert_str_eq(jstr(e, "state"), "active");
		cr_assert_eq(jint(e, "pid"), getpid());
		cr_assert_geq(jint(e, "msgs"), K - 1);
		cr_assert_leq(jint(e, "msgs"), K);
		if (!strcmp(jstr(e, "role"), "sender")) {
			cr_assert_str_eq(jstr(e, "name"), "tx");
			seen |= 1;
		} else {
			cr_assert_str_eq(jstr(e, "name"), "rx");
			seen |= 2;
		}
	}
	cr_assert_eq(seen, 3, "ends: %s", json_object_to_json_string(ends));
	json_object_put(st);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 0, "stat exit %d: %s", t.exit, t.err);
	cr_assert(strstr(t.out, "kind           dispatch"), "no kind in:\n%s", t.out);
	cr_assert(line_has_both(t.out, "sender", "tx"), "no sender row in:\n%s", t.out);
	run_free(&t);

	zipc_dispatch_sender_close(tx);
	zipc_dispatch_receiver_close(rx);
	zipc_dispatch_close(d);
}

/* A ring's new keys: consumer group / after, lost, sealed / successor and the sleep counters. */
TEST_SHMCTL(stat_shows_ring_sleeps_and_barriers, 30)
{
	char name[64];
	zt_name(name, sizeof name, "shmctl-rk");
	zipc_ring *r = make_ring(name, 64, 32);
	zipc_producer *p = NULL;
	zipc_consumer *c = NULL;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	cr_assert_eq(zipc_consumer_open(r, NULL, &c), 0);
	struct json_object *st = run_json((const char *[]){"stat", "--json", name, NULL});
	struct json_object *ring = jget(st, "ring");
	static const char *const keys[] = {"consumer_sleeps", "producer_sleeps", "stage_wakes", "stage_sleeps",
					   "lost", "sealed", "successor", "sealed_at", "generation", NULL};
	jkeys(ring, keys);
	cr_assert_eq(jint(ring, "lost"), 0);
	cr_assert_eq(jint(ring, "consumer_sleeps"), 0);
	cr_assert_not(jbool(ring, "sealed"));
	cr_assert(json_object_is_type(jget(ring, "successor"), json_type_null));
	struct json_object *cons = peer_find(st, "consumer", getpid());
	cr_assert_eq(jint(cons, "group"), 0);
	cr_assert_eq(jint(cons, "after"), 0);
	struct json_object *prod = peer_find(st, "producer", getpid());
	cr_assert(json_object_is_type(jget(prod, "group"), json_type_null));
	json_object_put(st);

	struct run t = run_shmctl((const char *[]){"stat", name, NULL});
	cr_assert_eq(t.exit, 0, "stat exit %d: %s", t.exit, t.err);
	cr_assert(strstr(t.out, "GROUP"), "no group column in:\n%s", t.out);
	cr_assert(strstr(t.out, "lost slots"), "no lost line in:\n%s", t.out);
	run_free(&t);

	zipc_consumer_close(c);
	zipc_producer_close(p);
	zipc_ring_close(r);
}
