/* SPDX-License-Identifier: MIT */
/*
 * tests/test_mesh.c - the worker mesh (zipc/mesh.h): one thread, n threads
 * and p processes x k threads; all-to-all FIFO per pair with content
 * checks, end of stream without counting, zero-copy push/pull with slot
 * recycling, typed send/receive, allocation-order mismatch, traffic
 * counters and the communication log, argument checking, and a worker
 * process that dies (the survivor gets -EOWNERDEAD, not a hang).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zipc/mesh.h>
#include <zipc/ring.h>

#include "helpers/zt_env.h"

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_MESH(name, secs, desc) \
	Test(mesh, name, .init = setup, .fini = teardown, .timeout = secs, .description = desc)

struct msg {
	uint32_t from;
	uint32_t to;
	uint64_t n;
};

/* ------------------------------------------- all-to-all, checked worker */

struct a2a {
	uint64_t per_peer;     /* messages each worker sends to each worker */
	_Atomic int failures;
};

/* Send per_peer messages to every worker (itself included) interleaved
 * with pulls, close, then pull to end of stream; check per-sender FIFO. */
static int a2a_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	struct a2a *t = arg;
	uint32_t n = zipc_mesh_peers(w), me = zipc_mesh_index(w);
	zipc_mesh_sender *tx[ZIPC_MESH_MAX_WORKERS];
	zipc_mesh_receiver *rx;
	int rc = zipc_mesh_allocate(w, 7, tx, &rx);
	if (rc)
		return rc;
	uint64_t next[ZIPC_MESH_MAX_WORKERS] = {0}, got = 0;
	uint64_t sent[ZIPC_MESH_MAX_WORKERS] = {0};
	int bad = 0;
	uint32_t open = n;
	while (open) {
		open = 0;
		for (uint32_t j = 0; j < n; j++) {
			if (sent[j] == t->per_peer)
				continue;
			struct msg m = {.from = me, .to = j, .n = sent[j]};
			rc = zipc_mesh_send_bytes(tx[j], &m, sizeof(m), 0);
			if (rc == 0 && ++sent[j] == t->per_peer)
				zipc_mesh_sender_close(tx[j]);
			else if (rc && rc != -EAGAIN)
				return rc;
			open += sent[j] < t->per_peer;
		}
		struct zipc_mesh_msg m;
		while ((rc = zipc_mesh_pull(rx, &m, 0)) == 0) {
			const struct msg *p = m.data;
			if (m.len != sizeof(*p) || p->from != m.from || p->to != me || p->n != next[m.from]++)
				bad++;
			got++;
		}
		if (rc != -EAGAIN && rc != -EPIPE)
			return rc;
	}
	struct zipc_mesh_msg m;
	while ((rc = zipc_mesh_pull(rx, &m, 10 * ZIPC_SEC)) == 0) {
		const struct msg *p = m.data;
		if (m.len != sizeof(*p) || p->from != m.from || p->to != me || p->n != next[m.from]++)
			bad++;
		got++;
	}
	if (rc != -EPIPE)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		if (next[i] != t->per_peer)
			bad++;
	if (bad)
		atomic_fetch_add(&t->failures, bad);
	*result = (void *)(uintptr_t)got;
	return bad ? -EBADMSG : 0;
}

static void run_a2a(uint32_t mode, uint32_t threads, uint64_t per_peer, uint64_t capacity)
{
	struct a2a t = {.per_peer = per_peer};
	struct zipc_mesh_config cfg = {.mode = mode, .threads = threads, .capacity = capacity, .max_message = 64};
	zipc_mesh_guards *g;
	int rc = zipc_mesh_initialize(&cfg, a2a_worker, &t, &g);
	cr_assert_eq(rc, 0, "initialize: %s", zipc_strerror(rc));
	struct zipc_mesh_result res[8];
	rc = zipc_mesh_join(g, res, 8);
	cr_assert_eq(rc, 0, "join: %s (failures %d)", zipc_strerror(rc), atomic_load(&t.failures));
	uint32_t n = mode == ZIPC_MESH_THREAD ? 1 : threads;
	for (uint32_t i = 0; i < n; i++) {
		cr_expect_eq(res[i].index, i);
		cr_expect_eq(res[i].rc, 0);
		cr_expect_eq((uint64_t)(uintptr_t)res[i].value, per_peer * n, "worker %u got %llu", i,
			     (unsigned long long)(uintptr_t)res[i].value);
	}
}

TEST_MESH(thread_single, 20, "one worker thread sends to itself; FIFO, end of stream at close")
{
	run_a2a(ZIPC_MESH_THREAD, 1, 1000, 16);
}

TEST_MESH(process_four_all_to_all, 30, "4 worker threads all-to-all through small rings: FIFO per pair, EOS")
{
	run_a2a(ZIPC_MESH_PROCESS, 4, 3000, 8);
}

/* ------------------------------------------------ zero copy + recycling */

static int zc_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	(void)arg;
	(void)result;
	zipc_mesh_sender *tx[1];
	zipc_mesh_receiver *rx;
	int rc = zipc_mesh_allocate(w, 1, tx, &rx);
	if (rc)
		return rc;
	const void *seen[8] = {0};
	unsigned distinct = 0;
	for (uint32_t i = 0; i < 100; i++) {
		void *buf;
		int64_t cap = zipc_mesh_claim(tx[0], &buf, 0);
		if (cap != 32)
			return cap < 0 ? (int)cap : -EPROTO;
		void *again;
		if (zipc_mesh_claim(tx[0], &again, 0) != 32 || again != buf)
			return -EPROTO; /* claiming twice returns the same buffer */
		snprintf(buf, 32, "msg %u", i);
		if ((rc = zipc_mesh_push(tx[0], (uint32_t)strlen(buf) + 1)))
			return rc;
		struct zipc_mesh_msg m;
		if ((rc = zipc_mesh_pull(rx, &m, ZIPC_SEC)))
			return rc;
		char want[32];
		snprintf(want, sizeof(want), "msg %u", i);
		if (strcmp(m.data, want) || m.from != 0)
			return -EBADMSG;
		if (m.data != (const char *)buf)
			return -EPROTO; /* pull reads the very slot push wrote */
		unsigned k;
		for (k = 0; k < distinct && seen[k] != m.data; k++)
			;
		if (k == distinct) {
			if (distinct == 8)
				return -ENOSPC; /* more slots than the ring has: no recycling */
			seen[distinct++] = m.data;
		}
	}
	if (zipc_mesh_push(tx[0], 1) != -EINVAL)
		return -EPROTO; /* nothing claimed */
	void *buf;
	if (zipc_mesh_claim(tx[0], &buf, 0) != 32 || zipc_mesh_push(tx[0], 33) != -EINVAL)
		return -EPROTO; /* longer than the buffer */
	if (zipc_mesh_send_bytes(tx[0], "x", 33, 0) != -EMSGSIZE)
		return -EPROTO;
	zipc_mesh_sender_close(tx[0]);
	struct zipc_mesh_msg m;
	if (zipc_mesh_pull(rx, &m, ZIPC_SEC) != -EPIPE)
		return -EPROTO;
	if (zipc_mesh_claim(tx[0], &buf, 0) != -EPIPE)
		return -EPROTO;
	*result = (void *)(uintptr_t)distinct;
	return 0;
}

TEST_MESH(zero_copy_recycle, 20, "push hands over the slot, pull reads it in place, slots are recycled")
{
	struct zipc_mesh_config cfg = {.mode = ZIPC_MESH_THREAD, .capacity = 4, .max_message = 32};
	zipc_mesh_guards *g;
	cr_assert_eq(zipc_mesh_initialize(&cfg, zc_worker, NULL, &g), 0);
	struct zipc_mesh_result r;
	int rc = zipc_mesh_join(g, &r, 1);
	cr_assert_eq(rc, 0, "worker: %s", zipc_strerror(rc));
	cr_expect_leq((uintptr_t)r.value, 4, "slots used: %lu", (unsigned long)(uintptr_t)r.value);
}

/* ---------------------------------------------------------- typed */

struct point {
	int32_t x, y;
	char label[28];
};

static int64_t point_ser(const void *obj, void *buf, size_t cap, void *ctx)
{
	(void)ctx;
	const struct point *p = obj;
	size_t l = strlen(p->label);
	if (8 + l > cap)
		return -EMSGSIZE;
	memcpy(buf, &p->x, 4);
	memcpy((char *)buf + 4, &p->y, 4);
	memcpy((char *)buf + 8, p->label, l);
	return (int64_t)(8 + l);
}

static int point_de(const void *buf, size_t len, void *obj, void *ctx)
{
	(void)ctx;
	struct point *p = obj;
	if (len < 8 || len - 8 >= sizeof(p->label))
		return -EBADMSG;
	memcpy(&p->x, buf, 4);
	memcpy(&p->y, (const char *)buf + 4, 4);
	memset(p->label, 0, sizeof(p->label));
	memcpy(p->label, (const char *)buf + 8, len - 8);
	return 0;
}

static int typed_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	(void)arg;
	(void)result;
	uint32_t n = zipc_mesh_peers(w), me = zipc_mesh_index(w);
	zipc_mesh_sender *tx[2];
	zipc_mesh_receiver *rx;
	int rc = zipc_mesh_allocate(w, 3, tx, &rx);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < n; j++) {
		struct point p = {.x = (int32_t)me, .y = (int32_t)j};
		snprintf(p.label, sizeof(p.label), "w%u->w%u", me, j);
		if ((rc = zipc_mesh_send(tx[j], &p, point_ser, NULL, ZIPC_SEC)))
			return rc;
		zipc_mesh_sender_close(tx[j]);
	}
	unsigned got = 0;
	struct point p;
	uint32_t from;
	while ((rc = zipc_mesh_recv(rx, &p, point_de, NULL, &from, 5 * ZIPC_SEC)) == 0) {
		char want[32];
		snprintf(want, sizeof(want), "w%u->w%u", from, me);
		if (p.x != (int32_t)from || p.y != (int32_t)me || strcmp(p.label, want))
			return -EBADMSG;
		got++;
	}
	return rc == -EPIPE && got == n ? 0 : (rc == -EPIPE ? -ENODATA : rc);
}

TEST_MESH(typed_send_recv, 20, "serialize/deserialize callbacks carry user structs between 2 workers")
{
	struct zipc_mesh_config cfg = {.mode = ZIPC_MESH_PROCESS, .threads = 2};
	zipc_mesh_guards *g;
	cr_assert_eq(zipc_mesh_initialize(&cfg, typed_worker, NULL, &g), 0);
	int rc = zipc_mesh_join(g, NULL, 0);
	cr_assert_eq(rc, 0, "join: %s", zipc_strerror(rc));
}

/* ------------------------------------------------- allocation order */

static int order_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	(void)arg;
	(void)result;
	zipc_mesh_sender *tx[2];
	zipc_mesh_receiver *rx;
	uint32_t me = zipc_mesh_index(w);
	int rc = zipc_mesh_allocate(w, me == 0 ? 10 : 11, tx, &rx);
	if (rc)
		return rc;
	if (zipc_mesh_allocate(w, me == 0 ? 10 : 11, tx, &rx) != -EEXIST)
		return -EPROTO;
	zipc_mesh_sender_close(tx[0]);
	zipc_mesh_sender_close(tx[1]);
	struct zipc_mesh_msg m;
	while ((rc = zipc_mesh_pull(rx, &m, 10 * ZIPC_SEC)) == 0)
		;
	return rc == -EPIPE ? 0 : rc;
}

TEST_MESH(allocation_order_mismatch, 20, "workers allocating channels in different orders get -EILSEQ, no hang")
{
	struct zipc_mesh_config cfg = {.mode = ZIPC_MESH_PROCESS, .threads = 2};
	zipc_mesh_guards *g;
	cr_assert_eq(zipc_mesh_initialize(&cfg, order_worker, NULL, &g), 0);
	struct zipc_mesh_result r[2];
	int rc = zipc_mesh_join(g, r, 2);
	cr_expect_eq(rc, -EILSEQ, "join: %s", zipc_strerror(rc));
	cr_expect(r[0].rc == -EILSEQ || r[1].rc == -EILSEQ, "rcs %d %d", r[0].rc, r[1].rc);
	cr_expect(r[0].rc == 0 || r[0].rc == -EILSEQ);
	cr_expect(r[1].rc == 0 || r[1].rc == -EILSEQ);
}

/* --------------------------------------------- counters and the log */

struct logt {
	_Atomic uint64_t ev[5];
	_Atomic uint64_t bytes_sent, bytes_recv;
};

static void log_hook(void *ctx, const struct zipc_mesh_event *ev)
{
	struct logt *t = ctx;
	if (ev->kind < 5)
		atomic_fetch_add(&t->ev[ev->kind], 1);
	if (ev->kind == ZIPC_MESH_EV_SEND)
		atomic_fetch_add(&t->bytes_sent, ev->length);
	if (ev->kind == ZIPC_MESH_EV_RECV)
		atomic_fetch_add(&t->bytes_recv, ev->length);
}

static int count_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	(void)result;
	(void)arg;
	uint32_t me = zipc_mesh_index(w);
	zipc_mesh_sender *tx[2];
	zipc_mesh_receiver *rx;
	int rc = zipc_mesh_allocate(w, 5, tx, &rx);
	if (rc)
		return rc;
	/* worker 0 sends 10 x 16 bytes to worker 1, and 3 x 4 bytes to itself */
	char buf[16] = {0};
	if (me == 0) {
		for (int i = 0; i < 10; i++)
			if ((rc = zipc_mesh_send_bytes(tx[1], buf, 16, ZIPC_SEC)))
				return rc;
		for (int i = 0; i < 3; i++)
			if ((rc = zipc_mesh_send_bytes(tx[0], buf, 4, ZIPC_SEC)))
				return rc;
	}
	zipc_mesh_sender_close(tx[0]);
	zipc_mesh_sender_close(tx[1]);
	struct zipc_mesh_msg m;
	while ((rc = zipc_mesh_pull(rx, &m, 5 * ZIPC_SEC)) == 0)
		;
	if (rc != -EPIPE)
		return rc;
	struct zipc_mesh_counters c;
	if (zipc_mesh_counters(w, 99, 0, &c) != -ENOENT)
		return -EPROTO;
	if ((rc = zipc_mesh_counters(w, 5, 1, &c)))
		return rc;
	if (me == 0 && (c.msgs_sent != 10 || c.bytes_sent != 160 || c.msgs_recv != 0))
		return -EBADMSG;
	if (me == 1 && (c.msgs_sent != 0 || c.msgs_recv != 0))
		return -EBADMSG;
	if ((rc = zipc_mesh_counters(w, 5, 0, &c)))
		return rc;
	if (me == 0 && (c.msgs_sent != 3 || c.bytes_sent != 12 || c.msgs_recv != 3 || c.bytes_recv != 12))
		return -EBADMSG;
	if (me == 1 && (c.msgs_recv != 10 || c.bytes_recv != 160))
		return -EBADMSG;
	return 0;
}

TEST_MESH(counters_and_log, 20, "per channel and peer message/byte counters, the log hook and zipc_mesh_stat")
{
	struct logt t;
	memset(&t, 0, sizeof(t));
	struct zipc_mesh_config cfg = {.mode = ZIPC_MESH_PROCESS, .threads = 2, .log = log_hook, .log_ctx = &t};
	zipc_mesh_guards *g;
	cr_assert_eq(zipc_mesh_initialize(&cfg, count_worker, &t, &g), 0);
	/* the region outlives the workers until join: read it from here */
	zipc_region *reg = zipc_mesh_region(g);
	cr_assert_not_null(reg);
	struct zipc_mesh_result r[2];
	/* wait (bounded) for both workers' counters to reach their totals */
	struct zipc_mesh_stat st;
	struct zipc_mesh_counters cs[16];
	int n = 0;
	for (int i = 0; i < 5000; i++) {
		n = zipc_mesh_stat(reg, &st, cs, 16);
		uint64_t recv = 0;
		for (int k = 0; k < n && k < 16; k++)
			recv += cs[k].msgs_recv;
		if (recv == 13)
			break;
		usleep(1000);
	}
	cr_expect_eq(n, 3, "counter sets: %d", n); /* (0,0) (0,1) (1,0) */
	cr_expect_eq(st.workers, 2);
	cr_expect_eq(st.processes, 1);
	cr_expect_eq(st.procs_dead, 0);
	int rc = zipc_mesh_join(g, r, 2);
	cr_assert_eq(rc, 0, "join: %s / %s", zipc_strerror(r[0].rc), zipc_strerror(r[1].rc));
	cr_expect_eq(atomic_load(&t.ev[ZIPC_MESH_EV_ALLOCATE]), 2);
	cr_expect_eq(atomic_load(&t.ev[ZIPC_MESH_EV_SEND]), 13);
	cr_expect_eq(atomic_load(&t.ev[ZIPC_MESH_EV_RECV]), 13);
	cr_expect_eq(atomic_load(&t.ev[ZIPC_MESH_EV_CLOSE]), 4);
	cr_expect_eq(atomic_load(&t.bytes_sent), 172);
	cr_expect_eq(atomic_load(&t.bytes_recv), 172);
}

/* ------------------------------------------------------------ arguments */

static int noop_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	(void)w;
	(void)arg;
	*result = (void *)(uintptr_t)(zipc_mesh_index(w) + 100);
	return 0;
}

TEST_MESH(config_checks, 20, "bad configurations are -EINVAL; from_args parses timely's options")
{
	zipc_mesh_guards *g;
	struct zipc_mesh_config c = {.mode = 9};
	cr_expect_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), -EINVAL);
	c = (struct zipc_mesh_config){.mode = ZIPC_MESH_PROCESS, .threads = 0};
	cr_expect_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), -EINVAL);
	c = (struct zipc_mesh_config){.mode = ZIPC_MESH_PROCESS, .threads = 2, .capacity = 3};
	cr_expect_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), -EINVAL);
	c = (struct zipc_mesh_config){.mode = ZIPC_MESH_CLUSTER, .threads = 1, .processes = 2, .process = 2,
				      .name = "m"};
	cr_expect_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), -EINVAL);
	c = (struct zipc_mesh_config){.mode = ZIPC_MESH_CLUSTER, .threads = 1, .processes = 1, .name = "bad/name"};
	cr_expect_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), -EINVAL);
	c = (struct zipc_mesh_config){.mode = ZIPC_MESH_CLUSTER, .threads = 1, .processes = 1,
				      .name = "a-name-that-is-far-too-long-for-a-mesh"};
	cr_expect_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), -ENAMETOOLONG);
	cr_expect_eq(zipc_mesh_initialize(NULL, noop_worker, NULL, &g), -EINVAL);
	cr_expect_eq(zipc_mesh_join(NULL, NULL, 0), -EINVAL);

	char *argv[] = {"prog", "-w", "3", "--process", "1", "--processes", "2", "--name", "hello", NULL};
	cr_assert_eq(zipc_mesh_config_from_args(9, argv, &c), 0);
	cr_expect_eq(c.mode, ZIPC_MESH_CLUSTER);
	cr_expect_eq(c.threads, 3);
	cr_expect_eq(c.process, 1);
	cr_expect_eq(c.processes, 2);
	cr_expect_str_eq(c.name, "hello");
	char *bad[] = {"prog", "-w", "x", NULL};
	cr_expect_eq(zipc_mesh_config_from_args(3, bad, &c), -EINVAL);
	char *one[] = {"prog", NULL};
	cr_assert_eq(zipc_mesh_config_from_args(1, one, &c), 0);
	cr_expect_eq(c.mode, ZIPC_MESH_THREAD);

	/* a cluster of one process works like PROCESS, results in index order */
	char name[32];
	c = (struct zipc_mesh_config){.mode = ZIPC_MESH_CLUSTER, .threads = 2, .processes = 1,
				      .name = zt_name(name, sizeof(name), "mc")};
	cr_assert_eq(zipc_mesh_initialize(&c, noop_worker, NULL, &g), 0);
	struct zipc_mesh_result r[2];
	cr_assert_eq(zipc_mesh_join(g, r, 2), 0);
	cr_expect_eq((uintptr_t)r[0].value, 100);
	cr_expect_eq((uintptr_t)r[1].value, 101);
}

/* ------------------------------------------------------- across processes */

struct xp {
	uint64_t per_peer;
	int die_after; /* process 1: SIGKILL itself after this many sends (-1: never) */
};

static int xp_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	struct xp *t = arg;
	uint32_t n = zipc_mesh_peers(w), me = zipc_mesh_index(w);
	zipc_mesh_sender *tx[ZIPC_MESH_MAX_WORKERS];
	zipc_mesh_receiver *rx;
	int rc = zipc_mesh_allocate(w, 0, tx, &rx);
	if (rc)
		return rc;
	uint64_t got = 0, next[ZIPC_MESH_MAX_WORKERS] = {0};
	for (uint64_t k = 0; k < t->per_peer; k++) {
		for (uint32_t j = 0; j < n; j++) {
			struct msg m = {.from = me, .to = j, .n = k};
			if ((rc = zipc_mesh_send_bytes(tx[j], &m, sizeof(m), 10 * ZIPC_SEC)))
				return rc;
		}
		if (t->die_after >= 0 && me == n - 1 && k + 1 == (uint64_t)t->die_after)
			raise(SIGKILL);
		struct zipc_mesh_msg m;
		while ((rc = zipc_mesh_pull(rx, &m, 0)) == 0) {
			const struct msg *p = m.data;
			if (p->to != me || p->from != m.from || p->n != next[m.from]++)
				return -EBADMSG;
			got++;
		}
		if (rc != -EAGAIN && rc != -EPIPE)
			return rc;
	}
	for (uint32_t j = 0; j < n; j++)
		zipc_mesh_sender_close(tx[j]);
	struct zipc_mesh_msg m;
	while ((rc = zipc_mesh_pull(rx, &m, 10 * ZIPC_SEC)) == 0) {
		const struct msg *p = m.data;
		if (p->to != me || p->from != m.from || p->n != next[m.from]++)
			return -EBADMSG;
		got++;
	}
	*result = (void *)(uintptr_t)got;
	return rc == -EPIPE ? 0 : rc;
}

/* Run process @proc of a 2-process cluster; exit status: 0 ok, else -rc. */
static void xp_child(const char *name, uint32_t proc, uint32_t threads, struct xp *t)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct zipc_mesh_config cfg = {.mode = ZIPC_MESH_CLUSTER, .threads = threads, .processes = 2,
				       .process = proc, .name = name, .capacity = 16, .max_message = 64,
				       .timeout_ns = 10 * ZIPC_SEC};
	zipc_mesh_guards *g;
	int rc = zipc_mesh_initialize(&cfg, xp_worker, t, &g);
	if (getenv("ZT_DEBUG"))
		fprintf(stderr, "proc %u init %d\n", proc, rc);
	if (!rc) {
		struct zipc_mesh_result r[4];
		rc = zipc_mesh_join(g, r, 4);
		if (getenv("ZT_DEBUG"))
			fprintf(stderr, "proc %u join %d r0 %d\n", proc, rc, r[0].rc);
		for (uint32_t i = 0; !rc && i < threads; i++)
			if ((uintptr_t)r[i].value != t->per_peer * 2 * threads)
				rc = -ENODATA;
	}
	_exit(rc ? (-rc & 0xff) : 0);
}

static int wait_child(pid_t pid, int secs)
{
	for (int i = 0; i < secs * 1000; i++) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void run_cluster(uint32_t threads, int die_after, int *st0, int *st1)
{
	char name[32];
	zt_name(name, sizeof(name), "mx");
	struct xp t = {.per_peer = 500, .die_after = die_after};
	pid_t p1 = fork();
	cr_assert_geq(p1, 0);
	if (p1 == 0)
		xp_child(name, 1, threads, &t);
	pid_t p0 = fork();
	cr_assert_geq(p0, 0);
	if (p0 == 0)
		xp_child(name, 0, threads, &t);
	*st0 = wait_child(p0, 40);
	*st1 = wait_child(p1, 40);
}

TEST_MESH(cluster_two_processes, 60, "2 processes x 2 threads found by name: all-to-all FIFO and EOS")
{
	int s0, s1;
	run_cluster(2, -1, &s0, &s1);
	cr_expect_eq(s0, 0, "process 0 status %d", s0);
	cr_expect_eq(s1, 0, "process 1 status %d", s1);
}

TEST_MESH(cluster_peer_dies, 60, "a worker process killed mid-stream: the other gets -EOWNERDEAD, no hang")
{
	int s0, s1;
	run_cluster(1, 20, &s0, &s1);
	cr_expect_eq(s1, 1000 + SIGKILL, "process 1 status %d", s1);
	cr_expect_eq(s0, EOWNERDEAD, "process 0 status %d (want -EOWNERDEAD)", s0);
}
