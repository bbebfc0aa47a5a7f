/* SPDX-License-Identifier: MIT */
/*
 * tests/test_pool.c - the messaging thread pool (zipc/pool.h): routing by
 * id, item lifetimes on their own threads, batches and their order, error
 * responses (and the three known defects of messaging_thread_pool as
 * regression tests), shutdown with requests in flight, idle threads that
 * sleep, pinning, and clients in other processes (fork): a client that is
 * killed, a server that is killed, eight clients hammering one server.
 *
 * Nothing sleeps to synchronise: callbacks hand-shake with semaphores, and
 * the test watches shared state (the request rings' cursors, read through
 * a read-only attach; the pool's counters) to know where the pool is.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/pool.h>
#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_env.h"

#define CALL_NS (20 * ZIPC_SEC) /* deadline of a call that must succeed */
#define CHILD_MS 30000          /* a child process's whole task */

/* ------------------------------------------------------------ the item */

enum {
	K_ECHO = 1, /* reply = payload; kind = K_ECHO + 100 */
	K_INFO = 2, /* reply = struct info */
	K_ADD = 3,  /* value += payload (u64); reply = value */
	K_SLOW = 4, /* post `entered`, wait for `gate` (or, in a server child, block on a pipe) */
	K_FAIL = 5, /* return -EIO; the item lives on */
	K_FULL = 6, /* reply with max_payload bytes */
};
#define FAIL_INIT 0xdeadu /* an init payload the constructor refuses with -EDOM */

struct item {
	uint64_t id;
	unsigned thread;
	pthread_t owner;
	uint64_t value;
};

struct info {
	uint32_t thread;
	int32_t cpu;
	uint64_t value;
	uint32_t pinned_cpus; /* CPUs in the thread's affinity mask */
	int32_t pinned_first; /* lowest CPU in it */
};

static struct {
	unsigned threads;
	_Atomic uint64_t ctors, dtors, wrong_thread, wrong_owner;
	sem_t entered, gate;
	int slow_fd_entered; /* server child: K_SLOW writes here, then blocks reading slow_fd_block */
	int slow_fd_block;
} g;

static int item_construct(void *ctx, const struct zipc_pool_req_info *req, void **state, struct zipc_pool_reply *rep)
{
	(void)ctx;
	(void)rep;
	if (req->thread != req->id % g.threads)
		atomic_fetch_add(&g.wrong_thread, 1);
	if (req->len == sizeof(uint32_t)) {
		uint32_t v;
		memcpy(&v, req->data, sizeof(v));
		if (v == FAIL_INIT)
			return -EDOM;
	}
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->id = req->id;
	it->thread = req->thread;
	it->owner = pthread_self();
	*state = it;
	atomic_fetch_add(&g.ctors, 1);
	return 0;
}

static int item_process(void *ctx, void *state, const struct zipc_pool_req_info *req, struct zipc_pool_reply *rep)
{
	(void)ctx;
	struct item *it = state;
	if (!pthread_equal(it->owner, pthread_self()) || it->thread != req->thread)
		atomic_fetch_add(&g.wrong_owner, 1);
	switch (req->kind) {
	case K_ECHO:
		memcpy(rep->data, req->data, req->len);
		rep->len = req->len;
		rep->kind = K_ECHO + 100;
		return 0;
	case K_INFO: {
		struct info in = {.thread = req->thread, .cpu = sched_getcpu(), .value = it->value, .pinned_first = -1};
		cpu_set_t set;
		if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0) {
			in.pinned_cpus = (uint32_t)CPU_COUNT(&set);
			for (int i = 0; i < CPU_SETSIZE; i++)
				if (CPU_ISSET(i, &set)) {
					in.pinned_first = i;
					break;
				}
		}
		memcpy(rep->data, &in, sizeof(in));
		rep->len = sizeof(in);
		return 0;
	}
	case K_ADD: {
		uint64_t d = 0;
		if (req->len != sizeof(d))
			return -EINVAL;
		memcpy(&d, req->data, sizeof(d));
		it->value += d;
		memcpy(rep->data, &it->value, sizeof(it->value));
		rep->len = sizeof(it->value);
		return 0;
	}
	case K_SLOW:
		if (g.slow_fd_entered > 0) {
			char b = 's';
			if (write(g.slow_fd_entered, &b, 1) != 1)
				return -EIO;
			while (read(g.slow_fd_block, &b, 1) != 0) /* until killed */
				;
			return 0;
		}
		sem_post(&g.entered);
		while (sem_wait(&g.gate) != 0)
			;
		return 0;
	case K_FAIL:
		return -EIO;
	case K_FULL:
		memset(rep->data, 0xab, rep->cap);
		rep->len = rep->cap;
		return 0;
	default:
		return -ENOSYS;
	}
}

static void item_destroy(void *ctx, void *state, uint64_t id, unsigned thread)
{
	(void)ctx;
	struct item *it = state;
	if (!pthread_equal(it->owner, pthread_self()) || it->id != id || it->thread != thread ||
	    thread != id % g.threads)
		atomic_fetch_add(&g.wrong_owner, 1);
	free(it);
	atomic_fetch_add(&g.dtors, 1);
}

static const struct zipc_pool_item_ops item_ops = {item_construct, item_process, item_destroy, NULL};

/* ------------------------------------------------------------ fixtures */

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
	memset(&g, 0, sizeof(g));
	sem_init(&g.entered, 0, 0);
	sem_init(&g.gate, 0, 0);
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_POOL(name, desc, secs) \
	Test(pool, name, .init = setup, .fini = teardown, .timeout = secs, .description = desc)

static zipc_pool *make_pool(const char *name, unsigned threads, const struct zipc_pool_opts *base)
{
	struct zipc_pool_opts o = {0};
	if (base)
		o = *base;
	o.threads = threads;
	g.threads = threads;
	zipc_pool *pool = NULL;
	int rc = zipc_pool_create(name, &o, &item_ops, &pool);
	cr_assert_eq(rc, 0, "zipc_pool_create(%s, %u threads): %d %s", name ? name : "(anonymous)", threads, rc,
		     zipc_strerror(rc));
	return pool;
}

static zipc_pool_client *open_client(zipc_pool *pool, uint32_t capacity)
{
	struct zipc_pool_client_opts co = {.capacity = capacity};
	zipc_pool_client *c = NULL;
	int rc = zipc_pool_client_open(pool, &co, &c);
	cr_assert_eq(rc, 0, "zipc_pool_client_open: %d %s", rc, zipc_strerror(rc));
	return c;
}

/* One request; asserts the call itself succeeded; returns the response. */
static struct zipc_pool_rsp call(zipc_pool_client *c, uint64_t id, uint32_t kind, const void *data, uint32_t len)
{
	struct zipc_pool_req r = {.id = id, .kind = kind, .len = len, .data = data};
	struct zipc_pool_rsp s;
	int rc = zipc_pool_call(c, &r, &s, CALL_NS);
	cr_assert_eq(rc, 0, "call(id %llu, kind %#x): %d %s", (unsigned long long)id, kind, rc, zipc_strerror(rc));
	return s;
}

/* Add items [first, first + n) in one batch; every add must succeed. */
static void add_items(zipc_pool_client *c, uint64_t first, size_t n)
{
	struct zipc_pool_req *reqs = calloc(n, sizeof(*reqs));
	struct zipc_pool_rsp *rsps = calloc(n, sizeof(*rsps));
	cr_assert(reqs && rsps);
	for (size_t i = 0; i < n; i++)
		reqs[i] = (struct zipc_pool_req){.id = first + i, .kind = ZIPC_POOL_ADD};
	int rc = zipc_pool_send_and_receive(c, reqs, rsps, n, CALL_NS);
	cr_assert_eq(rc, 0, "add batch: %d %s", rc, zipc_strerror(rc));
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(rsps[i].status, 0, "add %llu: %d", (unsigned long long)reqs[i].id, rsps[i].status);
	free(reqs);
	free(rsps);
}

static uint64_t sum_items(const zipc_pool *pool)
{
	struct zipc_pool_thread_stat st[ZIPC_POOL_MAX_THREADS];
	int n = zipc_pool_stat(pool, st, ZIPC_POOL_MAX_THREADS);
	cr_assert_gt(n, 0);
	uint64_t items = 0;
	for (int i = 0; i < n; i++)
		items += st[i].items;
	return items;
}

/* Read-only view of a named pool's request ring i (to watch its cursor). */
static zipc_ring *watch_ring(const char *pool, unsigned i)
{
	char rn[64];
	snprintf(rn, sizeof(rn), "%s.req%u", pool, i);
	zipc_ring *r = NULL;
	int rc = zipc_ring_attach(rn, ZIPC_ATTACH_RDONLY, &r);
	cr_assert_eq(rc, 0, "attach %s: %s", rn, zipc_strerror(rc));
	return r;
}

static uint64_t claimed(const zipc_ring *r)
{
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(r, &st, NULL, 0), 0);
	return st.claimed;
}

/* Wait (yielding) until the ring's claim cursor reaches @target. */
static void wait_claimed(const zipc_ring *r, uint64_t target)
{
	int64_t deadline = zipc_now_ns() + CALL_NS;
	while (claimed(r) < target) {
		cr_assert_lt(zipc_now_ns(), deadline, "ring cursor stuck at %llu < %llu",
			     (unsigned long long)claimed(r), (unsigned long long)target);
		sched_yield();
	}
}

/* ------------------------------------------------------------ processes */

/*
 * Child processes are this test binary exec'd again (a clean process, not a
 * fork of one whose pool threads hold locks): ZT_POOL_ROLE names the role
 * and ZT_POOL_ARGS carries its arguments; the constructor at the end of
 * this file runs it and exits before Criterion's main.  Descriptors in
 * @keep are inherited (every pipe here is made O_CLOEXEC); the child dies
 * with us (PR_SET_PDEATHSIG survives exec).
 */
extern char **environ;

static pid_t spawn_role(const char *role, const char *args, const int *keep, unsigned nkeep)
{
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **envp = calloc(ne + 3, sizeof(*envp));
	char rv[64], av[256];
	cr_assert_not_null(envp);
	memcpy(envp, environ, ne * sizeof(*envp));
	snprintf(rv, sizeof(rv), "ZT_POOL_ROLE=%s", role);
	snprintf(av, sizeof(av), "ZT_POOL_ARGS=%s", args);
	envp[ne] = rv;
	envp[ne + 1] = av;
	char *argv[] = {(char *)"zipc-pool-child", NULL};
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) { /* async-signal-safe calls only until exec */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (unsigned i = 0; i < nkeep; i++)
			fcntl(keep[i], F_SETFD, 0);
		/* this very binary, even if the file was rebuilt meanwhile */
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	free(envp);
	return pid;
}

static void pipe_cloexec(int fd[2])
{
	cr_assert_eq(pipe2(fd, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
}

/* Reap @pid within @ms; return its exit status (0..255), or -signal. */
static int reap(pid_t pid, int ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(pfd, 0, "pidfd_open: %s", strerror(errno));
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	int r = poll(&p, 1, ms);
	close(pfd);
	if (r != 1)
		kill(pid, SIGKILL);
	cr_assert_eq(r, 1, "child %d did not end within %d ms", (int)pid, ms);
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void read_byte(int fd, const char *what)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, CHILD_MS), 1, "no %s within %d ms", what, CHILD_MS);
	char b;
	cr_assert_eq(read(fd, &b, 1), 1, "%s: the other process ended", what);
}

/* ================================================================ tests */

TEST_POOL(zero_threads, "a pool of 0 threads is -EINVAL, not a panic (defect of the original)", 10)
{
	struct zipc_pool_opts o = {.threads = 0};
	zipc_pool *pool = (zipc_pool *)1;
	cr_assert_eq(zipc_pool_create(NULL, &o, &item_ops, &pool), -EINVAL);
	cr_assert_null(pool);
	o.threads = ZIPC_POOL_MAX_THREADS + 1;
	cr_assert_eq(zipc_pool_create(NULL, &o, &item_ops, &pool), -EINVAL);
	o.threads = 2;
	struct zipc_pool_item_ops no_process = {item_construct, NULL, NULL, NULL};
	cr_assert_eq(zipc_pool_create(NULL, &o, &no_process, &pool), -EINVAL);
	o.queue_capacity = 100; /* not a power of two */
	cr_assert_eq(zipc_pool_create(NULL, &o, &item_ops, &pool), -EINVAL);
	o.queue_capacity = 0;
	o.max_clients = ZIPC_POOL_MAX_CLIENTS + 1;
	cr_assert_eq(zipc_pool_create(NULL, &o, &item_ops, &pool), -EINVAL);
	o.max_clients = 0;
	cr_assert_eq(zipc_pool_create("this-pool-name-is-longer-than-31-bytes", &o, &item_ops, &pool), -ENAMETOOLONG);
	cr_assert_eq(zipc_pool_route(17, 10), 7);
	cr_assert_eq(zipc_pool_route(17, 0), 0);
}

TEST_POOL(routing, "every id lives on thread id % threads; responses carry the owner's state", 20)
{
	const unsigned T = 4, N = 200;
	zipc_pool *pool = make_pool(NULL, T, NULL);
	zipc_pool_client *c = open_client(pool, 0);
	cr_assert_eq(zipc_pool_client_threads(c), T);
	add_items(c, 0, N);
	struct zipc_pool_req reqs[200];
	struct zipc_pool_rsp rsps[200];
	for (unsigned i = 0; i < N; i++)
		reqs[i] = (struct zipc_pool_req){.id = (i * 37) % N, .kind = K_INFO};
	cr_assert_eq(zipc_pool_send_and_receive(c, reqs, rsps, N, CALL_NS), 0);
	for (unsigned i = 0; i < N; i++) {
		struct info in;
		cr_assert_eq(rsps[i].status, 0);
		cr_assert_eq(rsps[i].id, reqs[i].id);
		cr_assert_eq(rsps[i].len, sizeof(in));
		memcpy(&in, rsps[i].data, sizeof(in));
		cr_assert_eq(in.thread, zipc_pool_route(reqs[i].id, T), "id %llu answered by thread %u",
			     (unsigned long long)reqs[i].id, in.thread);
	}
	struct zipc_pool_thread_stat st[4];
	cr_assert_eq(zipc_pool_stat(pool, st, 4), (int)T);
	for (unsigned i = 0; i < T; i++) {
		cr_assert_eq(st[i].items, N / T, "thread %u holds %llu items", i, (unsigned long long)st[i].items);
		cr_assert_eq(st[i].running, 1);
		cr_assert_eq(st[i].cpu, -1);
	}
	cr_assert_eq(atomic_load(&g.wrong_thread), 0);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
}

TEST_POOL(lifetimes, "constructors and destructors run once per item, on the owning thread; close destroys the rest", 20)
{
	const unsigned T = 3;
	zipc_pool *pool = make_pool(NULL, T, NULL);
	zipc_pool_client *c = open_client(pool, 0);
	add_items(c, 1000, 90);
	cr_assert_eq(atomic_load(&g.ctors), 90);
	cr_assert_eq(sum_items(pool), 90);
	/* the state lives across requests */
	uint64_t d = 5;
	for (int k = 1; k <= 3; k++) {
		struct zipc_pool_rsp s = call(c, 1004, K_ADD, &d, sizeof(d));
		uint64_t v;
		memcpy(&v, s.data, sizeof(v));
		cr_assert_eq(v, 5u * (unsigned)k);
	}
	/* remove 30 by request: destroyed at once, on their thread */
	struct zipc_pool_req reqs[30];
	struct zipc_pool_rsp rsps[30];
	for (unsigned i = 0; i < 30; i++)
		reqs[i] = (struct zipc_pool_req){.id = 1000 + 3 * i, .kind = ZIPC_POOL_REMOVE};
	cr_assert_eq(zipc_pool_send_and_receive(c, reqs, rsps, 30, CALL_NS), 0);
	for (unsigned i = 0; i < 30; i++)
		cr_assert_eq(rsps[i].status, 0);
	cr_assert_eq(atomic_load(&g.dtors), 30);
	cr_assert_eq(sum_items(pool), 60);
	/* a removed item is gone; re-adding it makes a fresh one */
	cr_assert_eq(call(c, 1000, K_INFO, NULL, 0).status, -ENOENT);
	cr_assert_eq(call(c, 1000, ZIPC_POOL_ADD, NULL, 0).status, 0);
	cr_assert_eq(atomic_load(&g.ctors), 91);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
	/* closing destroyed the other 61, each on its own thread */
	cr_assert_eq(atomic_load(&g.dtors), 91);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
	cr_assert_eq(atomic_load(&g.wrong_thread), 0);
}

TEST_POOL(unknown_id, "a request to an unknown id is -ENOENT and the thread's other items survive (defect of the original)", 20)
{
	zipc_pool *pool = make_pool(NULL, 2, NULL);
	zipc_pool_client *c = open_client(pool, 0);
	add_items(c, 0, 8);
	uint64_t d = 40;
	call(c, 4, K_ADD, &d, sizeof(d)); /* thread 0's item 4 holds 40 */
	struct zipc_pool_rsp s = call(c, 100, K_ECHO, "x", 1); /* 100 % 2 == 0: thread 0 */
	cr_assert_eq(s.status, -ENOENT);
	cr_assert(s.flags & ZIPC_POOL_RSP_POOL);
	cr_assert_eq(s.id, 100);
	cr_assert_eq(s.len, 0);
	/* thread 0 still serves, with its items' state intact */
	d = 2;
	s = call(c, 4, K_ADD, &d, sizeof(d));
	uint64_t v;
	memcpy(&v, s.data, sizeof(v));
	cr_assert_eq(v, 42);
	for (uint64_t id = 0; id < 8; id++)
		cr_assert_eq(call(c, id, K_INFO, NULL, 0).status, 0);
	cr_assert_eq(atomic_load(&g.dtors), 0);
	cr_assert_eq(sum_items(pool), 8);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
}

TEST_POOL(errors, "existing ids, constructor failures, callback errors, sizes and kinds are error codes", 20)
{
	struct zipc_pool_opts o = {.max_payload = 64};
	zipc_pool *pool = make_pool(NULL, 2, &o);
	zipc_pool_client *c = open_client(pool, 0);
	cr_assert_eq(zipc_pool_client_max_payload(c), 64);
	add_items(c, 1, 1);
	struct zipc_pool_rsp s = call(c, 1, ZIPC_POOL_ADD, NULL, 0);
	cr_assert_eq(s.status, -EEXIST);
	cr_assert(s.flags & ZIPC_POOL_RSP_POOL);
	cr_assert_eq(call(c, 7, ZIPC_POOL_REMOVE, NULL, 0).status, -ENOENT);
	/* the constructor's refusal reaches the caller; nothing is created */
	uint32_t bad = FAIL_INIT;
	s = call(c, 2, ZIPC_POOL_ADD, &bad, sizeof(bad));
	cr_assert_eq(s.status, -EDOM);
	cr_assert_eq(s.flags & ZIPC_POOL_RSP_POOL, 0, "the constructor's own code");
	cr_assert_eq(call(c, 2, K_INFO, NULL, 0).status, -ENOENT);
	cr_assert_eq(call(c, 2, ZIPC_POOL_ADD, NULL, 0).status, 0);
	/* a callback's error is its response; the item lives on */
	s = call(c, 1, K_FAIL, NULL, 0);
	cr_assert_eq(s.status, -EIO);
	cr_assert_eq(s.flags & ZIPC_POOL_RSP_POOL, 0);
	cr_assert_eq(call(c, 1, K_INFO, NULL, 0).status, 0);
	/* a reply of exactly max_payload bytes */
	s = call(c, 1, K_FULL, NULL, 0);
	cr_assert_eq(s.status, 0);
	cr_assert_eq(s.len, 64);
	cr_assert_eq(((const unsigned char *)s.data)[63], 0xab);
	/* caller errors: nothing is sent */
	char big[65] = {0};
	struct zipc_pool_req r = {.id = 1, .kind = K_ECHO, .len = 65, .data = big};
	cr_assert_eq(zipc_pool_call(c, &r, &s, CALL_NS), -EMSGSIZE);
	r.len = 64;
	cr_assert_eq(zipc_pool_call(c, &r, &s, CALL_NS), 0);
	cr_assert_eq(s.len, 64);
	r = (struct zipc_pool_req){.id = 1, .kind = ZIPC_POOL_KIND_RESERVED + 0x10};
	cr_assert_eq(zipc_pool_call(c, &r, &s, CALL_NS), -EINVAL);
	r = (struct zipc_pool_req){.id = 1, .kind = K_ECHO, .len = 4, .data = NULL};
	cr_assert_eq(zipc_pool_call(c, &r, &s, CALL_NS), -EINVAL);
	cr_assert_eq(zipc_pool_send_and_receive(c, &r, &s, 0, CALL_NS), -EINVAL);
	cr_assert_eq(zipc_pool_call(NULL, &r, &s, CALL_NS), -EINVAL);
	/* an unknown caller kind reaches the item, which answers for itself */
	cr_assert_eq(call(c, 1, 77, NULL, 0).status, -ENOSYS);
	cr_assert_eq(atomic_load(&g.ctors), 2);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
	cr_assert_eq(atomic_load(&g.dtors), 2);
}

TEST_POOL(batch_order, "response i answers request i, across threads, with adds and uses of one id in one batch", 30)
{
	const unsigned T = 4, N = 600;
	zipc_pool *pool = make_pool(NULL, T, NULL);
	zipc_pool_client *c = open_client(pool, 8); /* 8 in flight: the batch cycles the credit */
	struct zipc_pool_req *reqs = calloc(N, sizeof(*reqs));
	struct zipc_pool_rsp *rsps = calloc(N, sizeof(*rsps));
	char (*pay)[32] = calloc(N, 32);
	cr_assert(reqs && rsps && pay);
	/* ids 0..49: an ADD, then echoes of varying length, interleaved */
	for (unsigned i = 0; i < N; i++) {
		uint64_t id = (i * 7) % 50;
		if (i < 50) {
			reqs[i] = (struct zipc_pool_req){.id = id, .kind = ZIPC_POOL_ADD};
			continue;
		}
		int len = snprintf(pay[i], 32, "req-%u-id-%llu%.*s", i, (unsigned long long)id, (int)(i % 7), "xxxxxxx");
		reqs[i] = (struct zipc_pool_req){.id = id, .kind = K_ECHO, .len = (uint32_t)len, .data = pay[i]};
	}
	int rc = zipc_pool_send_and_receive(c, reqs, rsps, N, CALL_NS);
	cr_assert_eq(rc, 0, "%s", zipc_strerror(rc));
	for (unsigned i = 0; i < N; i++) {
		cr_assert_eq(rsps[i].status, 0, "response %u: %d", i, rsps[i].status);
		cr_assert_eq(rsps[i].id, reqs[i].id);
		if (i < 50)
			continue;
		cr_assert_eq(rsps[i].kind, K_ECHO + 100);
		cr_assert_eq(rsps[i].len, reqs[i].len);
		cr_assert_eq(((uintptr_t)rsps[i].data) % 8, 0, "payload 8-byte aligned");
		cr_assert_eq(memcmp(rsps[i].data, reqs[i].data, reqs[i].len), 0, "response %u: %.*s", i,
			     (int)rsps[i].len, (const char *)rsps[i].data);
	}
	free(reqs);
	free(rsps);
	free(pay);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
}

struct caller {
	zipc_pool_client *c;
	unsigned index, rounds, items;
	int failures;
	_Atomic uint64_t *progress;
	int until_shutdown;
	int saw_shutdown;
};

/* Batches of echoes to every item; each response must be this caller's own. */
static void *caller_main(void *arg)
{
	struct caller *k = arg;
	unsigned n = k->items;
	struct zipc_pool_req *reqs = calloc(n, sizeof(*reqs));
	struct zipc_pool_rsp *rsps = calloc(n, sizeof(*rsps));
	uint64_t(*pay)[3] = calloc(n, sizeof(*pay));
	for (unsigned r = 0; k->until_shutdown || r < k->rounds; r++) {
		for (unsigned i = 0; i < n; i++) {
			pay[i][0] = k->index, pay[i][1] = r, pay[i][2] = i;
			reqs[i] = (struct zipc_pool_req){.id = (i + r) % n, .kind = K_ECHO, .len = 24, .data = pay[i]};
		}
		int rc = zipc_pool_send_and_receive(k->c, reqs, rsps, n, CALL_NS);
		if (rc != 0 && !(k->until_shutdown && rc == -ESHUTDOWN)) {
			k->failures++;
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			if (rsps[i].status == 0 && rsps[i].len == 24 && !memcmp(rsps[i].data, pay[i], 24))
				continue;
			if (rc == -ESHUTDOWN && rsps[i].status == -ESHUTDOWN && (rsps[i].flags & ZIPC_POOL_RSP_POOL))
				continue;
			k->failures++;
		}
		if (k->progress)
			atomic_fetch_add(k->progress, 1);
		if (rc == -ESHUTDOWN) {
			k->saw_shutdown = 1;
			/* from now on every call fails at once */
			if (zipc_pool_send_and_receive(k->c, reqs, rsps, 1, CALL_NS) != -ESHUTDOWN ||
			    rsps[0].status != -ESHUTDOWN)
				k->failures++;
			break;
		}
	}
	free(reqs);
	free(rsps);
	free(pay);
	return NULL;
}

TEST_POOL(many_callers, "many callers at once: each gets exactly its own responses", 40)
{
	const unsigned T = 3, CALLERS = 4;
	zipc_pool *pool = make_pool(NULL, T, NULL);
	zipc_pool_client *c0 = open_client(pool, 0);
	add_items(c0, 0, 60);
	struct caller k[4];
	pthread_t th[4];
	for (unsigned i = 0; i < CALLERS; i++) {
		k[i] = (struct caller){.c = open_client(pool, i == 0 ? 16 : 0), .index = i, .rounds = 60, .items = 60};
		cr_assert_eq(pthread_create(&th[i], NULL, caller_main, &k[i]), 0);
	}
	for (unsigned i = 0; i < CALLERS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(k[i].failures, 0, "caller %u: %d bad responses", i, k[i].failures);
		zipc_pool_client_close(k[i].c);
	}
	zipc_pool_client_close(c0);
	zipc_pool_close(pool);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
}

TEST_POOL(single_call_without_response, "a call that gets no response returns why: -ETIMEDOUT, -ESHUTDOWN (defect of the original)", 20)
{
	zipc_pool *pool = make_pool(NULL, 2, NULL);
	zipc_pool_client *c = open_client(pool, 0);
	add_items(c, 0, 4);
	/* the item is busy past the deadline */
	struct zipc_pool_req r = {.id = 0, .kind = K_SLOW};
	struct zipc_pool_rsp s;
	cr_assert_eq(zipc_pool_call(c, &r, &s, 50 * ZIPC_MSEC), -ETIMEDOUT);
	cr_assert_eq(s.status, -ETIMEDOUT);
	cr_assert(s.flags & ZIPC_POOL_RSP_POOL);
	while (sem_wait(&g.entered) != 0)
		;
	sem_post(&g.gate);
	/* the late response of the abandoned call is not taken for this one's */
	uint64_t d = 9;
	for (int i = 0; i < 3; i++) {
		s = call(c, 2, K_ADD, &d, sizeof(d));
		cr_assert_eq(s.kind, K_ADD);
		cr_assert_eq(s.id, 2);
		uint64_t v;
		memcpy(&v, s.data, sizeof(v));
		cr_assert_eq(v, 9u * (unsigned)(i + 1));
	}
	zipc_pool_close(pool);
	/* after the pool closed: the reason, at once, never "too many responses" */
	r = (struct zipc_pool_req){.id = 1, .kind = K_INFO};
	int64_t t0 = zipc_now_ns();
	cr_assert_eq(zipc_pool_call(c, &r, &s, ZIPC_FOREVER), -ESHUTDOWN);
	cr_assert_eq(s.status, -ESHUTDOWN);
	cr_assert_lt(zipc_now_ns() - t0, ZIPC_SEC);
	cr_assert_eq(zipc_pool_client_close(c), 0);
}

struct slow_call {
	zipc_pool_client *c;
	struct zipc_pool_req reqs[10];
	struct zipc_pool_rsp rsps[10];
	size_t n;
	int rc;
};

static void *slow_call_main(void *arg)
{
	struct slow_call *s = arg;
	s->rc = zipc_pool_send_and_receive(s->c, s->reqs, s->rsps, s->n, CALL_NS);
	return NULL;
}

static void *close_main(void *arg)
{
	zipc_pool_close(arg);
	return NULL;
}

TEST_POOL(shutdown_in_flight, "requests queued before close are served, those behind the stop get -ESHUTDOWN, never silence", 30)
{
	char name[48];
	zt_name(name, sizeof(name), "pool");
	zipc_pool *pool = make_pool(name, 2, NULL);
	zipc_ring *ring0 = watch_ring(name, 0);
	zipc_pool_client *ca = open_client(pool, 0);
	zipc_pool_client *cb = open_client(pool, 2); /* at most 2 in flight */
	add_items(ca, 0, 4);

	/* A: thread 0 is busy in item 0's callback */
	struct slow_call a = {.c = ca, .n = 1};
	a.reqs[0] = (struct zipc_pool_req){.id = 0, .kind = K_SLOW};
	uint64_t base = claimed(ring0);
	pthread_t ta, tb, tc;
	cr_assert_eq(pthread_create(&ta, NULL, slow_call_main, &a), 0);
	while (sem_wait(&g.entered) != 0)
		;
	/* B: 10 echoes to thread 0; two go out, eight wait for credit */
	struct slow_call b = {.c = cb, .n = 10};
	for (unsigned i = 0; i < 10; i++)
		b.reqs[i] = (struct zipc_pool_req){.id = 2, .kind = K_ECHO, .len = 1, .data = "e"};
	cr_assert_eq(pthread_create(&tb, NULL, slow_call_main, &b), 0);
	wait_claimed(ring0, base + 3);
	/* close: the stop lands behind B's two requests */
	cr_assert_eq(pthread_create(&tc, NULL, close_main, pool), 0);
	wait_claimed(ring0, base + 4);
	sem_post(&g.gate); /* thread 0 finishes the slow call and goes on */
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_join(tc, NULL);

	cr_assert_eq(a.rc, 0, "the slow call was queued before the stop: %s (status %d flags %u)", zipc_strerror(a.rc), a.rsps[0].status, a.rsps[0].flags);
	cr_assert_eq(a.rsps[0].status, 0);
	cr_assert_eq(b.rc, -ESHUTDOWN, "B: %d %s", b.rc, zipc_strerror(b.rc));
	for (unsigned i = 0; i < 10; i++) {
		if (i < 2) {
			cr_assert_eq(b.rsps[i].status, 0, "B[%u] was queued before the stop: %d", i, b.rsps[i].status);
			cr_assert_eq(b.rsps[i].len, 1);
		} else {
			cr_assert_eq(b.rsps[i].status, -ESHUTDOWN, "B[%u]: %d", i, b.rsps[i].status);
			cr_assert(b.rsps[i].flags & ZIPC_POOL_RSP_POOL);
		}
	}
	/* every item was destroyed, on its own thread, after the slow call */
	cr_assert_eq(atomic_load(&g.dtors), 4);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
	zipc_ring_close(ring0);
	zipc_pool_client_close(ca);
	zipc_pool_client_close(cb);
}

TEST_POOL(shutdown_under_load, "closing while callers hammer: every call ends, each response valid or -ESHUTDOWN", 40)
{
	const unsigned CALLERS = 3;
	zipc_pool *pool = make_pool(NULL, 2, NULL);
	zipc_pool_client *c0 = open_client(pool, 0);
	add_items(c0, 0, 40);
	_Atomic uint64_t progress = 0;
	struct caller k[3];
	pthread_t th[3];
	for (unsigned i = 0; i < CALLERS; i++) {
		k[i] = (struct caller){.c = open_client(pool, 16), .index = i, .items = 40, .progress = &progress,
				       .until_shutdown = 1};
		cr_assert_eq(pthread_create(&th[i], NULL, caller_main, &k[i]), 0);
	}
	while (atomic_load(&progress) < 30)
		sched_yield();
	zipc_pool_close(pool);
	for (unsigned i = 0; i < CALLERS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(k[i].failures, 0, "caller %u: %d bad results", i, k[i].failures);
		cr_assert(k[i].saw_shutdown);
		zipc_pool_client_close(k[i].c);
	}
	zipc_pool_client_close(c0);
	cr_assert_eq(atomic_load(&g.dtors), 40);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
}

TEST_POOL(clients_limit, "max_clients clients at once; a closed client's slot is taken again", 20)
{
	struct zipc_pool_opts o = {.max_clients = 2};
	zipc_pool *pool = make_pool(NULL, 2, &o);
	zipc_pool_client *a = open_client(pool, 0), *b = open_client(pool, 0), *c = NULL;
	cr_assert_eq(zipc_pool_client_open(pool, NULL, &c), -EBUSY);
	cr_assert_null(c);
	zipc_pool_client_close(a);
	c = open_client(pool, 0);
	add_items(c, 0, 2);
	cr_assert_eq(call(b, 1, K_INFO, NULL, 0).status, 0);
	zipc_pool_client_close(b);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
}

/* CPU ticks (utime + stime) and state of the threads named zipc-pool-*. */
static unsigned pool_threads_ticks(uint64_t *ticks, char *states, unsigned max)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		if (!lp || !rp || strncmp(lp + 1, "zipc-pool-", 10) != 0)
			continue;
		char st;
		unsigned long ut, stt;
		/* fields after ')': state(3) ... utime(14) stime(15) */
		if (sscanf(rp + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &st, &ut, &stt) != 3)
			continue;
		ticks[n] = ut + stt;
		states[n] = st;
		n++;
	}
	closedir(d);
	return n;
}

static uint32_t ring_sleepers(const zipc_ring *r)
{
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(r, &st, NULL, 0), 0);
	return st.consumers_sleeping;
}

TEST_POOL(idle_threads_sleep, "idle pool threads sleep on their ring's futex: announced sleepers, no CPU burnt", 20)
{
	char name[48];
	zipc_pool *pool = make_pool(zt_name(name, sizeof(name), "pool"), 2, NULL);
	zipc_ring *r0 = watch_ring(name, 0), *r1 = watch_ring(name, 1);
	zipc_pool_client *c = open_client(pool, 0);
	add_items(c, 0, 100);
	uint64_t t0[8], t1[8];
	char s0[8], s1[8];
	cr_assert_eq(pool_threads_ticks(t0, s0, 8), 2);
	/* a measurement window, not a synchronisation: 8 looks over 400 ms */
	int asleep = 0;
	for (int k = 0; k < 8; k++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
		asleep += ring_sleepers(r0) == 1 && ring_sleepers(r1) == 1;
	}
	cr_assert_eq(pool_threads_ticks(t1, s1, 8), 2);
	long hz = sysconf(_SC_CLK_TCK);
	for (int i = 0; i < 2; i++)
		/* a polling thread would use ~400 ms = 0.4 * hz ticks */
		cr_assert_leq(t1[i] - t0[i], (uint64_t)(hz / 50 + 1), "pool thread %d used %llu ticks while idle", i,
			      (unsigned long long)(t1[i] - t0[i]));
	/* asleep on the futex whenever looked at, but for a rare liveness check */
	cr_assert_geq(asleep, 6, "pool threads announced asleep in only %d of 8 looks", asleep);
	/* and a request wakes one up */
	cr_assert_eq(call(c, 5, K_INFO, NULL, 0).status, 0);
	zipc_ring_close(r0);
	zipc_ring_close(r1);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
}

TEST_POOL(pinning, "threads pinned as asked run on their CPU only", 20)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int cpus[2] = {ncpu > 1 ? 1 : 0, 0};
	struct zipc_pool_opts o = {.cpus = cpus};
	zipc_pool *pool = make_pool(NULL, 2, &o);
	zipc_pool_client *c = open_client(pool, 0);
	add_items(c, 0, 2);
	for (uint64_t id = 0; id < 2; id++) {
		struct zipc_pool_rsp s = call(c, id, K_INFO, NULL, 0);
		struct info in;
		memcpy(&in, s.data, sizeof(in));
		cr_assert_eq(in.pinned_cpus, 1, "thread %u may run on %u CPUs", in.thread, in.pinned_cpus);
		cr_assert_eq(in.pinned_first, cpus[id]);
		cr_assert_eq(in.cpu, cpus[id]);
	}
	struct zipc_pool_thread_stat st[2];
	zipc_pool_stat(pool, st, 2);
	cr_assert_eq(st[0].cpu, cpus[0]);
	cr_assert_eq(st[1].cpu, cpus[1]);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
	int bad[2] = {0, CPU_SETSIZE};
	o.cpus = bad;
	zipc_pool *p2 = NULL;
	cr_assert_eq(zipc_pool_create(NULL, &o, &item_ops, &p2), -EINVAL);
}

TEST_POOL(attach_checks, "attach validates: no such pool, not a pool, a pool by name in its own process", 20)
{
	char name[48], rname[48];
	zipc_pool_client *c = NULL;
	cr_assert_eq(zipc_pool_client_attach("no-such-pool", NULL, &c), -ENOENT);
	struct zipc_ring_opts ro = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	zipc_ring *ring;
	cr_assert_eq(zipc_ring_create(zt_name(rname, sizeof(rname), "ring"), &ro, &ring), 0);
	cr_assert_eq(zipc_pool_client_attach(rname, NULL, &c), -EMEDIUMTYPE);
	zipc_ring_close(ring);
	zipc_pool *pool = make_pool(zt_name(name, sizeof(name), "pool"), 2, NULL);
	struct zipc_pool_client_opts bad = {.capacity = 3};
	cr_assert_eq(zipc_pool_client_attach(name, &bad, &c), -EINVAL);
	cr_assert_eq(zipc_pool_client_attach(name, NULL, &c), 0);
	add_items(c, 0, 3);
	cr_assert_eq(call(c, 2, K_INFO, NULL, 0).status, 0);
	zipc_pool_client_close(c);
	zipc_pool_close(pool);
	cr_assert_eq(zipc_pool_client_attach(name, NULL, &c), -ENOENT, "the name went with the pool");
}

/* ------------------------------------------------------ cross-process */

struct child_arg {
	const char *name;
	unsigned index, items, rounds;
	int ready_fd; /* write a byte once attached and working (or -1) */
	int stop_fd;  /* with rounds 0: run until this pipe reaches EOF (-1: until killed) */
};

static pid_t spawn_hammer(const struct child_arg *a)
{
	char args[160];
	snprintf(args, sizeof(args), "%s %u %u %u %d %d", a->name, a->index, a->items, a->rounds, a->ready_fd,
		 a->stop_fd);
	int keep[2] = {a->ready_fd, a->stop_fd};
	unsigned nkeep = 0;
	for (unsigned i = 0; i < 2; i++)
		if (keep[i] >= 0)
			keep[nkeep++] = keep[i];
	return spawn_role("hammer", args, keep, nkeep);
}

/* 1 if @fd (a pipe's read end) has reached EOF. */
static int stopped(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return fd >= 0 && poll(&p, 1, 0) == 1;
}

/* A client process: its own items, batches of adds and echoes, removes. */
static int hammer_child(const struct child_arg *a)
{
	zipc_pool_client *c;
	if (zipc_pool_client_attach(a->name, NULL, &c))
		return 10;
	unsigned n = a->items;
	uint64_t first = 100000ull * (a->index + 1);
	struct zipc_pool_req *reqs = calloc(2 * n, sizeof(*reqs));
	struct zipc_pool_rsp *rsps = calloc(2 * n, sizeof(*rsps));
	uint64_t(*pay)[2] = calloc(2 * n, sizeof(*pay));
	if (!reqs || !rsps || !pay)
		return 11;
	for (unsigned i = 0; i < n; i++)
		reqs[i] = (struct zipc_pool_req){.id = first + i, .kind = ZIPC_POOL_ADD};
	if (zipc_pool_send_and_receive(c, reqs, rsps, n, CALL_NS))
		return 12;
	for (unsigned i = 0; i < n; i++)
		if (rsps[i].status)
			return 13;
	if (a->ready_fd >= 0 && write(a->ready_fd, "r", 1) != 1)
		return 14;
	for (unsigned r = 0; a->rounds ? r < a->rounds : !stopped(a->stop_fd); r++) {
		/* per item: add r+1 to its value, then echo a tagged payload */
		for (unsigned i = 0; i < n; i++) {
			pay[2 * i][0] = r + 1;
			pay[2 * i + 1][0] = a->index, pay[2 * i + 1][1] = (uint64_t)r << 32 | i;
			reqs[2 * i] = (struct zipc_pool_req){.id = first + i, .kind = K_ADD, .len = 8, .data = pay[2 * i]};
			reqs[2 * i + 1] = (struct zipc_pool_req){.id = first + i, .kind = K_ECHO, .len = 16,
								 .data = pay[2 * i + 1]};
		}
		if (zipc_pool_send_and_receive(c, reqs, rsps, 2 * n, CALL_NS))
			return 20;
		uint64_t want = (uint64_t)(r + 1) * (r + 2) / 2; /* 1 + 2 + ... + (r + 1) */
		for (unsigned i = 0; i < n; i++) {
			uint64_t v;
			if (rsps[2 * i].status || rsps[2 * i].len != 8)
				return 21;
			memcpy(&v, rsps[2 * i].data, 8);
			if (v != want)
				return 22;
			if (rsps[2 * i + 1].status || rsps[2 * i + 1].len != 16 ||
			    memcmp(rsps[2 * i + 1].data, pay[2 * i + 1], 16))
				return 23;
		}
	}
	for (unsigned i = 0; i < n; i++)
		reqs[i] = (struct zipc_pool_req){.id = first + i, .kind = ZIPC_POOL_REMOVE};
	if (zipc_pool_send_and_receive(c, reqs, rsps, n, CALL_NS))
		return 30;
	for (unsigned i = 0; i < n; i++)
		if (rsps[i].status)
			return 31;
	zipc_pool_client_close(c);
	free(reqs);
	free(rsps);
	free(pay);
	return 0;
}

TEST_POOL(cross_process_client, "a client in another process uses the same API: add, process, remove", 30)
{
	char name[48];
	zipc_pool *pool = make_pool(zt_name(name, sizeof(name), "pool"), 3, NULL);
	struct child_arg a = {.name = name, .index = 0, .items = 30, .rounds = 20, .ready_fd = -1, .stop_fd = -1};
	int st = reap(spawn_hammer(&a), CHILD_MS);
	cr_assert_eq(st, 0, "client process failed at step %d", st);
	cr_assert_eq(atomic_load(&g.ctors), 30);
	cr_assert_eq(atomic_load(&g.dtors), 30);
	cr_assert_eq(sum_items(pool), 0);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
	zipc_pool_close(pool);
}

TEST_POOL(cross_process_hammer, "8 client processes hammer one server: every response right, every item destroyed", 60)
{
	char name[48];
	struct zipc_pool_opts o = {.queue_capacity = 256};
	zipc_pool *pool = make_pool(zt_name(name, sizeof(name), "pool"), 2, &o);
	struct child_arg a[8];
	pid_t pid[8];
	for (unsigned i = 0; i < 8; i++) {
		a[i] = (struct child_arg){.name = name, .index = i, .items = 25, .rounds = 40, .ready_fd = -1,
					  .stop_fd = -1};
		pid[i] = spawn_hammer(&a[i]);
	}
	for (unsigned i = 0; i < 8; i++) {
		int st = reap(pid[i], 50000);
		cr_assert_eq(st, 0, "client process %u failed at step %d", i, st);
	}
	cr_assert_eq(atomic_load(&g.ctors), 8 * 25);
	cr_assert_eq(atomic_load(&g.dtors), 8 * 25);
	cr_assert_eq(sum_items(pool), 0);
	struct zipc_pool_thread_stat st[2];
	zipc_pool_stat(pool, st, 2);
	/* per client: 2 registrations, 25 adds, 40 x 50, 25 removes (and unregistrations) */
	cr_assert_geq(st[0].requests + st[1].requests, 8u * (2 + 25 + 40 * 50 + 25));
	/* the threads let go of every client (unregistered, or found gone) */
	int64_t deadline = zipc_now_ns() + 10 * ZIPC_SEC;
	while (zipc_pool_stat(pool, st, 2) == 2 && st[0].clients + st[1].clients) {
		cr_assert_lt(zipc_now_ns(), deadline, "the threads still hold %u clients", st[0].clients + st[1].clients);
		sched_yield();
	}
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
	zipc_pool_close(pool);
}

TEST_POOL(cross_process_client_dies, "a client killed mid-stream disturbs nobody; its slot is taken again", 40)
{
	char name[48];
	struct zipc_pool_opts o = {.max_clients = 2, .liveness_ns = 20 * ZIPC_MSEC};
	zipc_pool *pool = make_pool(zt_name(name, sizeof(name), "pool"), 2, &o);
	int pfd[2], stop[2];
	pipe_cloexec(pfd);
	pipe_cloexec(stop);
	/* A hammers until killed, B until told to stop */
	struct child_arg aa = {.name = name, .index = 0, .items = 20, .ready_fd = pfd[1], .stop_fd = -1};
	pid_t a = spawn_hammer(&aa);
	read_byte(pfd[0], "A's ready byte");
	struct child_arg ba = {.name = name, .index = 1, .items = 20, .ready_fd = pfd[1], .stop_fd = stop[0]};
	pid_t b = spawn_hammer(&ba);
	read_byte(pfd[0], "B's ready byte");
	kill(a, SIGKILL);
	cr_assert_eq(reap(a, CHILD_MS), -SIGKILL);
	/* both slots (max_clients 2) were taken: C needs the dead A's */
	struct child_arg ca = {.name = name, .index = 2, .items = 10, .rounds = 10, .ready_fd = -1, .stop_fd = -1};
	cr_assert_eq(reap(spawn_hammer(&ca), CHILD_MS), 0, "a new client could not take the dead one's slot");
	close(stop[1]);
	cr_assert_eq(reap(b, CHILD_MS), 0, "the client working beside the dead one failed");
	cr_assert_eq(sum_items(pool), 20, "only the dead client's 20 items remain");
	close(pfd[0]);
	close(pfd[1]);
	close(stop[0]);
	zipc_pool_close(pool);
	cr_assert_eq(atomic_load(&g.dtors), 20 + 20 + 10);
	cr_assert_eq(atomic_load(&g.wrong_owner), 0);
}

struct server_arg {
	const char *name;
	int ready_fd;  /* server -> test: "ready", then "entered" from K_SLOW */
	int block_fd;  /* the server reads it until EOF (or death) */
};

static pid_t spawn_server(const struct server_arg *s)
{
	char args[128];
	snprintf(args, sizeof(args), "%s %d %d", s->name, s->ready_fd, s->block_fd);
	int keep[2] = {s->ready_fd, s->block_fd};
	return spawn_role("server", args, keep, 2);
}

static int server_child(const struct server_arg *s)
{
	g.threads = 2;
	g.slow_fd_entered = s->ready_fd;
	g.slow_fd_block = s->block_fd;
	struct zipc_pool_opts o = {.threads = 2};
	zipc_pool *pool;
	if (zipc_pool_create(s->name, &o, &item_ops, &pool))
		return 10;
	if (write(s->ready_fd, "r", 1) != 1)
		return 11;
	char b;
	while (read(s->block_fd, &b, 1) != 0)
		;
	zipc_pool_close(pool);
	return 0;
}

TEST_POOL(cross_process_server_dies, "a server that dies gives its clients -EOWNERDEAD, not a hang", 30)
{
	char name[48];
	zt_name(name, sizeof(name), "pool");
	int up[2], block[2];
	pipe_cloexec(up);
	pipe_cloexec(block);
	struct server_arg sa = {.name = name, .ready_fd = up[1], .block_fd = block[0]};
	pid_t srv = spawn_server(&sa);
	read_byte(up[0], "server ready");
	zipc_pool_client *c;
	cr_assert_eq(zipc_pool_client_attach(name, NULL, &c), 0);
	add_items(c, 0, 4);
	cr_assert_eq(call(c, 1, K_ECHO, "hi", 2).status, 0);
	/* a call in flight when the server dies */
	struct slow_call sc = {.c = c, .n = 3};
	sc.reqs[0] = (struct zipc_pool_req){.id = 1, .kind = K_ECHO, .len = 1, .data = "a"};
	sc.reqs[1] = (struct zipc_pool_req){.id = 0, .kind = K_SLOW};
	sc.reqs[2] = (struct zipc_pool_req){.id = 2, .kind = K_ECHO, .len = 1, .data = "b"};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, slow_call_main, &sc), 0);
	read_byte(up[0], "the slow callback");
	int64_t t0 = zipc_now_ns();
	kill(srv, SIGKILL);
	pthread_join(t, NULL);
	cr_assert_lt(zipc_now_ns() - t0, 5 * ZIPC_SEC, "the death took long to notice");
	cr_assert_eq(sc.rc, -EOWNERDEAD, "in-flight call: %d %s", sc.rc, zipc_strerror(sc.rc));
	cr_assert_eq(sc.rsps[1].status, -EOWNERDEAD);
	cr_assert(sc.rsps[1].flags & ZIPC_POOL_RSP_POOL);
	/* responses that arrived before the death are kept */
	cr_assert(sc.rsps[0].status == 0 || sc.rsps[0].status == -EOWNERDEAD);
	/* later calls fail at once */
	struct zipc_pool_req r = {.id = 3, .kind = K_INFO};
	struct zipc_pool_rsp s;
	cr_assert_eq(zipc_pool_call(c, &r, &s, ZIPC_FOREVER), -EOWNERDEAD);
	cr_assert_eq(s.status, -EOWNERDEAD);
	zipc_pool_client_close(c);
	cr_assert_eq(reap(srv, CHILD_MS), -SIGKILL);
	zipc_pool_client *c2 = NULL;
	int rc = zipc_pool_client_attach(name, NULL, &c2);
	cr_assert(rc == -EOWNERDEAD || rc == -ENOENT, "attach to a dead server: %d %s", rc, zipc_strerror(rc));
	close(up[0]);
	close(up[1]);
	close(block[0]);
	close(block[1]);
}

TEST_POOL(cross_process_server_dies_idle, "a client waiting on an idle dead server, and a new call to it, get -EOWNERDEAD", 30)
{
	char name[48];
	zt_name(name, sizeof(name), "pool");
	int up[2], block[2];
	pipe_cloexec(up);
	pipe_cloexec(block);
	struct server_arg sa = {.name = name, .ready_fd = up[1], .block_fd = block[0]};
	pid_t srv = spawn_server(&sa);
	read_byte(up[0], "server ready");
	zipc_pool_client *c;
	cr_assert_eq(zipc_pool_client_attach(name, NULL, &c), 0);
	add_items(c, 0, 2);
	kill(srv, SIGKILL);
	cr_assert_eq(reap(srv, CHILD_MS), -SIGKILL);
	struct zipc_pool_req r = {.id = 1, .kind = K_INFO};
	struct zipc_pool_rsp s;
	int64_t t0 = zipc_now_ns();
	cr_assert_eq(zipc_pool_call(c, &r, &s, ZIPC_FOREVER), -EOWNERDEAD);
	cr_assert_lt(zipc_now_ns() - t0, 5 * ZIPC_SEC);
	zipc_pool_client_close(c);
	close(up[0]);
	close(up[1]);
	close(block[0]);
	close(block[1]);
}

/* ------------------------------------------------- child process entry */

__attribute__((constructor)) static void pool_child_main(void)
{
	const char *role = getenv("ZT_POOL_ROLE"), *args = getenv("ZT_POOL_ARGS");
	if (!role || !args)
		return;
	static char name[64];
	int rc = 64;
	if (!strcmp(role, "hammer")) {
		struct child_arg a = {.name = name};
		if (sscanf(args, "%63s %u %u %u %d %d", name, &a.index, &a.items, &a.rounds, &a.ready_fd,
			   &a.stop_fd) == 6)
			rc = hammer_child(&a);
	} else if (!strcmp(role, "server")) {
		struct server_arg s = {.name = name};
		if (sscanf(args, "%63s %d %d", name, &s.ready_fd, &s.block_fd) == 3)
			rc = server_child(&s);
	}
	_exit(rc);
}
