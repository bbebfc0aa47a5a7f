/* SPDX-License-Identifier: MIT */
/*
 * tests/test_sched.c - the fair multi-channel job scheduler (zipc/sched.h):
 * argument rules, Full/Closed, blocking sends, closing by the last sender,
 * round-robin fairness (20 vs 2 served alternately, Jain's index with wide
 * bounds, no starvation under load), at most m jobs at once on m long-lived
 * workers, cancel (queued jobs dropped and released, finalize skipped,
 * other channels untouched), sleeping workers without ticks, stop and
 * destroy, and real producer processes (fork) attaching by name, being
 * cancelled, outliving a dead scheduler and dying themselves.
 *
 * Nothing sleeps to synchronise.  Workers are held busy by "gate" jobs that
 * block on a futex word the test opens; the test learns that a gate job
 * runs (or that a job finished) through a counter it waits on with
 * FUTEX_WAIT.  Observing that nothing happens (no tick, no extra job) uses
 * a fixed observation window, never a handshake.
 *
 * The original's known defects are regression tests here: more than m jobs
 * at once, failing jobs leaking a worker, cancel not reducing the queue
 * length, a duplicate id replacing a channel, cancel of an unknown id.
 *
 * ZIPC_TEST_MESSAGES, if set, caps the stress stream lengths.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/zipc.h>
#include <zipc/sched.h>

#include "helpers/zt_env.h"
#include "../sched/sched_int.h" /* the directory layout, for the validation tests */

/* ------------------------------------------------------------ recording */

enum jkind {
	J_NORMAL = 0, /* record and return 0 */
	J_GATE = 1,   /* block until the gate opens */
	J_FAIL = 2,   /* return -EIO */
	J_PTR = 3,    /* carry a malloc'd pointer: finalize or drop frees it */
	J_SPIN = 4,   /* busy for ~k microseconds */
	J_SELF = 5,   /* call join/destroy on our own scheduler */
};

struct tjob {
	uint32_t kind;
	uint32_t sender; /* stream id, < MAX_STREAMS */
	uint64_t k;      /* index in the stream */
	uint64_t check;  /* mix(sender, k) */
	void *ptr;
};

#define MAX_ORDER 65536u
#define MAX_STREAMS 16u
#define MAX_CH 256u   /* channel ids used as indices stay below this */
#define MAX_K 65536u  /* per-stream bitmap */

struct tctx {
	zipc_sched *s;
	_Atomic uint32_t events;  /* futex: bumped by every job, finalize, drop */
	_Atomic uint32_t gate;    /* futex: 0 closed, 1 open */
	_Atomic uint32_t at_gate; /* gate jobs waiting */
	_Atomic uint32_t running, max_running;
	_Atomic uint64_t done, finalized, fin_eio, drop_q, drop_f, bad_check, bad_seq, dups;
	_Atomic uint64_t done_ch[MAX_CH], fin_ch[MAX_CH], dropq_ch[MAX_CH];
	_Atomic uint64_t norder;
	_Atomic uint64_t order[MAX_ORDER];   /* channel of each job, in start order */
	_Atomic int tids[64];
	_Atomic uint32_t ntids;
	_Atomic uint32_t worker_bad;
	_Atomic int self_rc[2];
	uint32_t workers;
	_Atomic uint8_t *seen[MAX_STREAMS];  /* per stream: job k seen */
};

static struct tctx T;

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static void futex_wait(_Atomic uint32_t *w, uint32_t v, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void event(void)
{
	atomic_fetch_add(&T.events, 1);
	futex_wake(&T.events);
}

/* Wait until @cond holds, waking on every job event (and re-checking every
 * 5 ms for conditions on statistics that no job signals). */
#define WAIT_FOR(cond, secs)                                                                         \
	do {                                                                                         \
		int64_t dl_ = zipc_now_ns() + (int64_t)(secs) * ZIPC_SEC;                            \
		for (;;) {                                                                           \
			uint32_t e_ = atomic_load(&T.events);                                        \
			if (cond)                                                                    \
				break;                                                               \
			cr_assert(zipc_now_ns() < dl_, "timed out waiting for: %s", #cond);          \
			futex_wait(&T.events, e_, 5 * ZIPC_MSEC);                                    \
		}                                                                                    \
	} while (0)

static void gate_open(void)
{
	atomic_store(&T.gate, 1);
	futex_wake(&T.gate);
}

static void note_tid(void)
{
	int tid = (int)syscall(SYS_gettid);
	uint32_t n = atomic_load(&T.ntids);
	for (uint32_t i = 0; i < n && i < 64; i++)
		if (atomic_load(&T.tids[i]) == tid)
			return;
	uint32_t i = atomic_fetch_add(&T.ntids, 1);
	if (i < 64)
		atomic_store(&T.tids[i], tid);
}

static int tjob_fn(void *ctx, struct zipc_sched_job *job)
{
	struct tctx *t = ctx;
	struct tjob j;
	memset(&j, 0, sizeof(j));
	memcpy(&j, job->data, job->len < sizeof(j) ? job->len : sizeof(j));
	uint32_t run = atomic_fetch_add(&t->running, 1) + 1;
	uint32_t mx = atomic_load(&t->max_running);
	while (run > mx && !atomic_compare_exchange_weak(&t->max_running, &mx, run))
		;
	if (job->worker >= t->workers)
		atomic_fetch_add(&t->worker_bad, 1);
	note_tid();
	uint64_t pos = atomic_fetch_add(&t->norder, 1);
	if (pos < MAX_ORDER)
		atomic_store_explicit(&t->order[pos], job->channel, memory_order_relaxed);
	if (j.check != mix(j.sender, j.k))
		atomic_fetch_add(&t->bad_check, 1);
	if (j.sender < MAX_STREAMS && t->seen[j.sender] && j.k < MAX_K) {
		if (atomic_exchange(&t->seen[j.sender][j.k], 1))
			atomic_fetch_add(&t->dups, 1);
	}
	int rc = 0;
	switch (j.kind) {
	case J_GATE:
		atomic_fetch_add(&t->at_gate, 1);
		event();
		while (!atomic_load(&t->gate))
			futex_wait(&t->gate, 0, 100 * ZIPC_MSEC);
		break;
	case J_FAIL:
		rc = -EIO;
		break;
	case J_PTR:
		job->result = j.ptr; /* finalize (or a FINALIZE drop) frees it */
		break;
	case J_SPIN: {
		int64_t until = zipc_now_ns() + (int64_t)j.k * ZIPC_USEC;
		while (zipc_now_ns() < until)
			;
		break;
	}
	case J_SELF:
		atomic_store(&t->self_rc[0], zipc_sched_join(t->s, 0));
		atomic_store(&t->self_rc[1], zipc_sched_destroy(t->s));
		break;
	default:
		break;
	}
	atomic_fetch_sub(&t->running, 1);
	if (job->channel < MAX_CH)
		atomic_fetch_add(&t->done_ch[job->channel], 1);
	atomic_fetch_add(&t->done, 1);
	event();
	return rc;
}

static void tfin_fn(void *ctx, struct zipc_sched_job *job, int job_rc)
{
	struct tctx *t = ctx;
	if (job_rc == -EIO)
		atomic_fetch_add(&t->fin_eio, 1);
	free(job->result);
	if (job->channel < MAX_CH)
		atomic_fetch_add(&t->fin_ch[job->channel], 1);
	atomic_fetch_add(&t->finalized, 1);
	event();
}

static void tdrop_fn(void *ctx, struct zipc_sched_job *job, enum zipc_sched_drop_reason why)
{
	struct tctx *t = ctx;
	if (why == ZIPC_SCHED_DROP_QUEUED) {
		struct tjob j;
		memcpy(&j, job->data, sizeof(j));
		if (j.kind == J_PTR)
			free(j.ptr); /* the queued job's memory is released */
		if (job->channel < MAX_CH)
			atomic_fetch_add(&t->dropq_ch[job->channel], 1);
		atomic_fetch_add(&t->drop_q, 1);
	} else {
		free(job->result); /* finalize skipped: release the result */
		atomic_fetch_add(&t->drop_f, 1);
	}
	event();
}

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
	memset(&T, 0, sizeof(T));
}

static void teardown(void)
{
	gate_open();
	for (unsigned i = 0; i < MAX_STREAMS; i++)
		free((void *)T.seen[i]);
	zt_env_teardown();
}

#define TEST_SCHED(name, secs, desc) Test(sched, name, .init = setup, .fini = teardown, .timeout = secs, \
					  .description = desc)

static zipc_sched *mk_opts(const char *name, struct zipc_sched_opts *o)
{
	o->job = tjob_fn;
	o->finalize = tfin_fn;
	o->drop = tdrop_fn;
	o->ctx = &T;
	if (!o->max_payload)
		o->max_payload = sizeof(struct tjob);
	T.workers = o->workers;
	zipc_sched *s = NULL;
	int rc = zipc_sched_create(name, o, &s);
	cr_assert_eq(rc, 0, "zipc_sched_create: %s", zipc_strerror(rc));
	T.s = s;
	return s;
}

static zipc_sched *mk(const char *name, uint32_t m, uint32_t flags)
{
	struct zipc_sched_opts o = {.workers = m, .flags = flags};
	return mk_opts(name, &o);
}

static zipc_sched_sender *chan(zipc_sched *s, uint64_t id, uint64_t bound, uint32_t senders)
{
	zipc_sched_sender *tx = NULL;
	int rc = zipc_sched_channel_create(s, id, bound, senders, &tx);
	cr_assert_eq(rc, 0, "channel %llu: %s", (unsigned long long)id, zipc_strerror(rc));
	return tx;
}

static struct tjob mkjob(uint32_t kind, uint32_t sender, uint64_t k)
{
	struct tjob j = {.kind = kind, .sender = sender, .k = k, .check = mix(sender, k), .ptr = NULL};
	return j;
}

static int send_kind(zipc_sched_sender *tx, uint32_t kind, uint32_t sender, uint64_t k)
{
	struct tjob j = mkjob(kind, sender, k);
	return zipc_sched_sender_try_send(tx, &j, sizeof(j));
}

static void must_send(zipc_sched_sender *tx, uint32_t kind, uint32_t sender, uint64_t k)
{
	int rc = send_kind(tx, kind, sender, k);
	cr_assert_eq(rc, 0, "try_send(kind %u, k %llu): %s", kind, (unsigned long long)k, zipc_strerror(rc));
}

/* Hold @n workers busy: @n gate jobs on channel @id (bound >= n). */
static zipc_sched_sender *hold_workers(zipc_sched *s, uint64_t id, unsigned n)
{
	uint64_t bound = 1;
	while (bound < n)
		bound <<= 1;
	zipc_sched_sender *g = chan(s, id, bound < 2 ? 2 : bound, 1);
	for (unsigned i = 0; i < n; i++)
		must_send(g, J_GATE, 0, i);
	WAIT_FOR(atomic_load(&T.at_gate) == n, 20);
	return g;
}

static struct zipc_sched_stat stat_of(zipc_sched *s)
{
	struct zipc_sched_stat st;
	int rc = zipc_sched_stat(s, &st);
	cr_assert_eq(rc, 0);
	return st;
}

static void seen_alloc(unsigned streams)
{
	for (unsigned i = 0; i < streams; i++) {
		T.seen[i] = calloc(MAX_K, 1);
		cr_assert(T.seen[i]);
	}
}

/* Open the gate, then destroy (a gate job would block destroy's join). */
static void finish(zipc_sched *s)
{
	gate_open();
	cr_assert_eq(zipc_sched_destroy(s), 0);
	T.s = NULL;
}

/* ------------------------------------------------------------ arguments */

TEST_SCHED(create_rejects, 20, "m == 0, no job function, too many workers, a long name: -EINVAL / -ENAMETOOLONG")
{
	struct zipc_sched_opts o = {.workers = 0, .job = tjob_fn};
	zipc_sched *s = (zipc_sched *)&o;
	cr_assert_eq(zipc_sched_create(NULL, &o, &s), -EINVAL, "m == 0");
	cr_assert_null(s, "out cleared on error");
	o.workers = 1;
	o.job = NULL;
	cr_assert_eq(zipc_sched_create(NULL, &o, &s), -EINVAL, "no job function");
	o.job = tjob_fn;
	o.workers = ZIPC_SCHED_MAX_WORKERS + 1;
	cr_assert_eq(zipc_sched_create(NULL, &o, &s), -EINVAL, "too many workers");
	o.workers = 1;
	o.flags = 1u << 7;
	cr_assert_eq(zipc_sched_create(NULL, &o, &s), -EINVAL, "unknown flag");
	o.flags = 0;
	o.max_payload = ZIPC_SCHED_MAX_PAYLOAD + 1;
	cr_assert_eq(zipc_sched_create(NULL, &o, &s), -EINVAL, "payload too large");
	o.max_payload = 0;
	cr_assert_eq(zipc_sched_create("a-name-that-is-longer-than-thirty-chars", &o, &s), -ENAMETOOLONG);
	cr_assert_eq(zipc_sched_create(NULL, NULL, &s), -EINVAL);
	cr_assert_eq(zipc_sched_create(NULL, &o, NULL), -EINVAL);
}

TEST_SCHED(bound_must_be_pow2, 20, "a channel bound that is not a power of two is -EINVAL; 1, 2, 1024, 2^32 are fine")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	static const uint64_t bad[] = {0, 3, 5, 6, 12, 1000, 1023, (1ull << 32) + 1, 1ull << 33, UINT64_MAX};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(zipc_sched_channel_create(s, 1, bad[i], 1, NULL), -EINVAL, "bound %llu",
			     (unsigned long long)bad[i]);
	cr_assert_eq(zipc_sched_channel_create(s, 1, 1, 2, NULL), -EINVAL, "bound 1 needs one sender");
	cr_assert_eq(zipc_sched_channel_create(s, 1, 8, ZIPC_SCHED_MAX_SENDERS + 1, NULL), -EINVAL);
	cr_assert_eq(zipc_sched_channel_create(NULL, 1, 8, 1, NULL), -EINVAL);
	static const uint64_t good[] = {1, 2, 4, 1024};
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(zipc_sched_channel_create(s, 10 + i, good[i], 1, NULL), 0, "bound %llu",
			     (unsigned long long)good[i]);
	struct zipc_sched_channel_stat cs;
	cr_assert_eq(zipc_sched_channel_stat(s, 13, &cs), 0);
	cr_assert_eq(cs.bound, 1024);
	cr_assert_eq(cs.state, ZIPC_SCHED_CH_OPEN);
	cr_assert_eq(zipc_sched_channel_stat(s, 99, &cs), -ENOENT);
	finish(s);
}

TEST_SCHED(duplicate_id_is_eexist, 30,
	   "creating a channel with an id in use is -EEXIST and neither replaces it nor drops its jobs")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	zipc_sched_sender *a = chan(s, 7, 8, 1);
	for (unsigned k = 0; k < 3; k++)
		must_send(a, J_NORMAL, 1, k);
	zipc_sched_sender *b = (zipc_sched_sender *)&b;
	cr_assert_eq(zipc_sched_channel_create(s, 7, 8, 1, &b), -EEXIST);
	cr_assert_null(b);
	cr_assert_eq(zipc_sched_channel_create(s, 7, 16, 1, NULL), -EEXIST);
	cr_assert_eq(stat_of(s).queued, 3, "the first channel's jobs are still queued");
	cr_assert_eq(send_kind(a, J_NORMAL, 1, 3), 0, "its sender still works");
	gate_open();
	WAIT_FOR(atomic_load(&T.fin_ch[7]) == 4, 20);
	cr_assert_eq(atomic_load(&T.drop_q), 0);
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(g);
	finish(s);
}

TEST_SCHED(cancel_unknown_is_enoent, 20, "cancelling an unknown or already cancelled id is -ENOENT; the id is free again")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	cr_assert_eq(zipc_sched_channel_cancel(s, 99), -ENOENT);
	zipc_sched_sender *a = chan(s, 5, 4, 1);
	cr_assert_eq(zipc_sched_channel_cancel(s, 5), 0, "nothing queued: 0 dropped");
	cr_assert_eq(zipc_sched_channel_cancel(s, 5), -ENOENT, "second cancel");
	cr_assert_eq(zipc_sched_channel_cancel(NULL, 5), -EINVAL);
	zipc_sched_sender *b = chan(s, 5, 4, 1); /* the id is free at once */
	must_send(b, J_NORMAL, 0, 0);
	WAIT_FOR(atomic_load(&T.fin_ch[5]) == 1, 20);
	cr_assert_eq(send_kind(a, J_NORMAL, 0, 0), -ECANCELED, "the old sender stays cancelled");
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(b);
	finish(s);
}

/* ------------------------------------------------------------ senders */

TEST_SCHED(try_send_full_then_closed, 30,
	   "try_send: exactly `bound` jobs fit (then -EAGAIN, Full); after cancel -ECANCELED; after stop attach -EPIPE")
{
	char name[64];
	zipc_sched *s = mk(zt_name(name, sizeof(name), "sch"), 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	static const uint64_t bounds[] = {1, 2, 8, 64};
	for (unsigned b = 0; b < 4; b++) {
		zipc_sched_sender *tx = chan(s, b + 1, bounds[b], 1);
		for (uint64_t k = 0; k < bounds[b]; k++)
			must_send(tx, J_NORMAL, 0, k);
		cr_assert_eq(send_kind(tx, J_NORMAL, 0, 99), -EAGAIN, "bound %llu: Full", (unsigned long long)bounds[b]);
		cr_assert_eq(zipc_sched_sender_send(tx, NULL, 0, 0), -EAGAIN, "zero timeout is try");
		cr_assert_eq(zipc_sched_sender_status(tx, NULL), 0);
		struct zipc_sched_channel_stat cs;
		cr_assert_eq(zipc_sched_channel_stat(s, b + 1, &cs), 0);
		cr_assert_eq(cs.queued, bounds[b]);
		cr_assert_eq(cs.senders, 1);
		int dropped = zipc_sched_channel_cancel(s, b + 1);
		cr_assert_eq(dropped, (int)bounds[b]);
		cr_assert_eq(send_kind(tx, J_NORMAL, 0, 100), -ECANCELED, "Closed (cancelled), not Full");
		uint64_t nd = 0;
		cr_assert_eq(zipc_sched_sender_status(tx, &nd), -ECANCELED);
		cr_assert_eq(nd, bounds[b], "the producer learns how many were dropped");
		zipc_sched_sender_close(tx);
	}
	uint8_t big[sizeof(struct tjob) + 1] = {0};
	zipc_sched_sender *tx = chan(s, 50, 4, 1);
	cr_assert_eq(zipc_sched_sender_try_send(tx, big, sizeof(big)), -EMSGSIZE);
	cr_assert_eq(zipc_sched_sender_try_send(tx, NULL, 3), -EINVAL);
	cr_assert_eq(zipc_sched_sender_try_send(NULL, big, 1), -EINVAL);
	cr_assert_eq(zipc_sched_stop(s, ZIPC_SCHED_STOP_CANCEL), 0);
	cr_assert_eq(send_kind(tx, J_NORMAL, 0, 0), -ECANCELED);
	zipc_sched_sender *late = (zipc_sched_sender *)&late;
	cr_assert_eq(zipc_sched_sender_attach(name, 50, NULL, &late), -EPIPE, "Closed: the scheduler stopped");
	cr_assert_null(late);
	cr_assert_eq(zipc_sched_channel_create(s, 60, 4, 1, NULL), -EPIPE);
	zipc_sched_sender_close(tx);
	zipc_sched_sender_close(g);
	finish(s);
}

struct blocked_send {
	zipc_sched_sender *tx;
	int64_t timeout;
	_Atomic int started;
	int rc;
};

static void *blocked_send_main(void *arg)
{
	struct blocked_send *b = arg;
	struct tjob j = mkjob(J_NORMAL, 0, 1000);
	atomic_store(&b->started, 1);
	b->rc = zipc_sched_sender_send(b->tx, &j, sizeof(j), b->timeout);
	event();
	return NULL;
}

/* Wait until a producer of ring @ring_name is asleep on its futex. */
static void await_producer_sleeper(const char *ring_name)
{
	zipc_ring *r;
	int rc = zipc_ring_attach(ring_name, ZIPC_ATTACH_RDONLY, &r);
	cr_assert_eq(rc, 0, "attach %s: %s", ring_name, zipc_strerror(rc));
	int64_t until = zipc_now_ns() + 20 * ZIPC_SEC;
	for (;;) {
		struct zipc_ring_stat st;
		cr_assert_geq(zipc_ring_stat(r, &st, NULL, 0), 0);
		if (st.producers_sleeping > 0)
			break;
		cr_assert(zipc_now_ns() < until, "no producer went to sleep");
		sched_yield();
	}
	zipc_ring_close(r);
}

TEST_SCHED(send_blocks_times_out_and_wakes, 30,
	   "a blocking send on a full channel: -ETIMEDOUT at its deadline, 0 once a worker frees a slot, "
	   "-ECANCELED at once when cancelled while asleep")
{
	char name[40], ring[64];
	zipc_sched *s = mk(zt_name(name, sizeof(name), "sch"), 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1); /* slot 0 */
	zipc_sched_sender *tx = chan(s, 1, 2, 1);       /* slot 1, generation 1 */
	snprintf(ring, sizeof(ring), "%s.c1.1", name);
	must_send(tx, J_NORMAL, 0, 0);
	must_send(tx, J_NORMAL, 0, 1);
	struct tjob j = mkjob(J_NORMAL, 0, 2);
	int64_t t0 = zipc_now_ns();
	cr_assert_eq(zipc_sched_sender_send(tx, &j, sizeof(j), 50 * ZIPC_MSEC), -ETIMEDOUT);
	cr_assert_geq(zipc_now_ns() - t0, 50 * ZIPC_MSEC);

	/* a sleeping sender gets its slot when a worker takes a job */
	struct blocked_send b = {.tx = tx, .timeout = ZIPC_FOREVER};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, blocked_send_main, &b), 0);
	await_producer_sleeper(ring);
	gate_open();
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, 0, "blocked send: %s", zipc_strerror(b.rc));
	WAIT_FOR(atomic_load(&T.fin_ch[1]) == 3, 20);

	/* a sleeping sender learns of the cancel */
	atomic_store(&T.gate, 0);
	atomic_store(&T.at_gate, 0);
	must_send(g, J_GATE, 0, 1);
	WAIT_FOR(atomic_load(&T.at_gate) == 1, 20);
	must_send(tx, J_NORMAL, 0, 3);
	must_send(tx, J_NORMAL, 0, 4);
	struct blocked_send c = {.tx = tx, .timeout = 20 * ZIPC_SEC};
	cr_assert_eq(pthread_create(&th, NULL, blocked_send_main, &c), 0);
	await_producer_sleeper(ring);
	t0 = zipc_now_ns();
	cr_assert_eq(zipc_sched_channel_cancel(s, 1), 2);
	pthread_join(th, NULL);
	cr_assert_eq(c.rc, -ECANCELED, "blocked send after cancel: %s", zipc_strerror(c.rc));
	cr_assert_lt(zipc_now_ns() - t0, 5 * ZIPC_SEC, "woken by the cancel, not by its deadline");
	zipc_sched_sender_close(tx);
	zipc_sched_sender_close(g);
	finish(s);
}

TEST_SCHED(last_sender_closes_and_scheduler_stops, 30,
	   "several senders: the channel lives until the last is dropped and the queue drains; "
	   "then it is removed and the scheduler stops and joins its workers")
{
	zipc_sched *s = mk(NULL, 2, 0);
	zipc_sched_sender *a = chan(s, 1, 16, 3);
	zipc_sched_sender *b = NULL, *c = NULL;
	cr_assert_eq(zipc_sched_sender_clone(a, &b), 0);
	cr_assert_eq(zipc_sched_sender_clone(a, &c), 0);
	zipc_sched_sender *d = (zipc_sched_sender *)&d;
	cr_assert_eq(zipc_sched_sender_clone(a, &d), -EBUSY, "max_senders reached");
	zipc_sched_sender *e = chan(s, 2, 4, 1);
	cr_assert_eq(zipc_sched_sender_clone(e, &d), -EBUSY, "a single-sender channel has one sender");
	cr_assert_eq(zipc_sched_sender_id(b), 1);
	for (unsigned k = 0; k < 5; k++) {
		must_send(a, J_NORMAL, 0, k);
		must_send(b, J_NORMAL, 1, k);
		must_send(c, J_NORMAL, 2, k);
	}
	zipc_sched_sender_close(e);
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(b);
	WAIT_FOR(atomic_load(&T.fin_ch[1]) == 15, 20);
	struct zipc_sched_stat st = stat_of(s);
	cr_assert_eq(st.channels, 1, "one sender left: still open");
	cr_assert_eq(st.state, ZIPC_SCHED_RUNNING);
	cr_assert_eq(zipc_sched_join(s, 0), -EAGAIN);
	must_send(c, J_NORMAL, 2, 5);
	zipc_sched_sender_close(c);
	cr_assert_eq(zipc_sched_join(s, 20 * ZIPC_SEC), 0, "the scheduler finished by itself");
	st = stat_of(s);
	cr_assert_eq(st.state, ZIPC_SCHED_STOPPED);
	cr_assert_eq(st.channels, 0);
	cr_assert_eq(st.channels_closed, 2);
	cr_assert_eq(st.completed, 16);
	cr_assert_eq(st.finalized, 16);
	cr_assert_eq(zipc_sched_channel_create(s, 3, 4, 1, NULL), -EPIPE, "stopped");
	finish(s);
}

TEST_SCHED(persist_then_stop_idle, 30,
	   "ZIPC_SCHED_PERSIST outlives its channels; zipc_sched_stop(IDLE) waits for the last sender")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *a = chan(s, 1, 4, 1);
	must_send(a, J_NORMAL, 0, 0);
	zipc_sched_sender_close(a);
	WAIT_FOR(stat_of(s).channels_closed == 1, 20);
	cr_assert_eq(zipc_sched_join(s, 0), -EAGAIN, "still running without channels");
	zipc_sched_sender *b = chan(s, 1, 4, 1);
	cr_assert_eq(zipc_sched_stop(s, ZIPC_SCHED_STOP_IDLE), 0);
	cr_assert_eq(zipc_sched_stop(s, 7), -EINVAL);
	must_send(b, J_NORMAL, 0, 1);
	WAIT_FOR(atomic_load(&T.fin_ch[1]) == 2, 20);
	cr_assert_eq(zipc_sched_join(s, 0), -EAGAIN, "a sender is still open");
	zipc_sched_sender_close(b);
	cr_assert_eq(zipc_sched_join(s, 20 * ZIPC_SEC), 0);
	finish(s);
}

/* ------------------------------------------------------------ fairness */

TEST_SCHED(fair_20_vs_2_alternate, 30, "a channel with 20 queued jobs and one with 2 are served alternately")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	zipc_sched_sender *a = chan(s, 1, 32, 1);
	zipc_sched_sender *b = chan(s, 2, 32, 1);
	for (unsigned k = 0; k < 20; k++)
		must_send(a, J_NORMAL, 0, k);
	for (unsigned k = 0; k < 2; k++)
		must_send(b, J_NORMAL, 1, k);
	gate_open();
	WAIT_FOR(atomic_load(&T.done) == 23, 20);
	/* order[0] is the gate job */
	uint64_t o[22];
	for (unsigned i = 0; i < 22; i++)
		o[i] = atomic_load(&T.order[i + 1]);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_neq(o[i], o[i + 1], "position %u and %u both from channel %llu: not alternating", i, i + 1,
			      (unsigned long long)o[i]);
	unsigned nb = 0;
	for (unsigned i = 0; i < 4; i++)
		nb += o[i] == 2;
	cr_assert_eq(nb, 2, "both of channel 2's jobs among the first four");
	for (unsigned i = 4; i < 22; i++)
		cr_assert_eq(o[i], 1);
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(b);
	zipc_sched_sender_close(g);
	finish(s);
}

static double jain(const uint64_t *x, unsigned n)
{
	double sum = 0, sq = 0;
	for (unsigned i = 0; i < n; i++) {
		sum += (double)x[i];
		sq += (double)x[i] * (double)x[i];
	}
	return sq > 0 ? sum * sum / (n * sq) : 0;
}

TEST_SCHED(fairness_jain_wide_bounds, 60,
	   "8 channels with wide bounds and backlogs 100..800, 2 workers: while all are backlogged each gets "
	   "1/8 of the service (Jain's index > 0.999); every job runs")
{
	zipc_sched *s = mk(NULL, 2, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 2);
	zipc_sched_sender *tx[8];
	uint64_t total = 0;
	for (unsigned c = 0; c < 8; c++) {
		tx[c] = chan(s, c + 1, 1024, 1);
		for (unsigned k = 0; k < (c + 1) * 100; k++)
			must_send(tx[c], J_NORMAL, c, k);
		total += (c + 1) * 100;
	}
	cr_assert_eq(stat_of(s).queued, total);
	gate_open();
	WAIT_FOR(atomic_load(&T.done) == total + 2, 40);
	/* the window in which all 8 are backlogged: the first 8 x 100 jobs */
	uint64_t cnt[8] = {0};
	for (unsigned i = 2; i < 2 + 800; i++) {
		uint64_t ch = atomic_load(&T.order[i]);
		cr_assert(ch >= 1 && ch <= 8);
		cnt[ch - 1]++;
	}
	for (unsigned c = 0; c < 8; c++)
		cr_assert(cnt[c] >= 98 && cnt[c] <= 102, "channel %u served %llu of 800", c + 1,
			  (unsigned long long)cnt[c]);
	double j = jain(cnt, 8);
	cr_assert_gt(j, 0.999, "Jain's index %.5f", j);
	for (unsigned c = 0; c < 8; c++) {
		cr_assert_eq(atomic_load(&T.done_ch[c + 1]), (c + 1) * 100ull);
		zipc_sched_sender_close(tx[c]);
	}
	zipc_sched_sender_close(g);
	finish(s);
}

struct flood {
	zipc_sched_sender *tx;
	_Atomic int stop;
	uint32_t sender;
	_Atomic uint64_t sent;
	int rc;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	while (!atomic_load(&f->stop)) {
		struct tjob j = mkjob(J_NORMAL, f->sender, atomic_load(&f->sent));
		int rc = zipc_sched_sender_send(f->tx, &j, sizeof(j), 20 * ZIPC_MSEC);
		if (rc == 0) {
			atomic_fetch_add(&f->sent, 1);
		} else if (rc != -ETIMEDOUT) {
			f->rc = rc;
			break;
		}
	}
	return NULL;
}

TEST_SCHED(no_starvation_under_load, 60,
	   "3 channels kept full by flooding threads: a light channel's job is taken within one rotation")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	struct flood f[3];
	pthread_t th[3];
	for (unsigned i = 0; i < 3; i++) {
		f[i] = (struct flood){.tx = chan(s, 10 + i, 64, 1), .sender = i};
		cr_assert_eq(pthread_create(&th[i], NULL, flood_main, &f[i]), 0);
	}
	zipc_sched_sender *light = chan(s, 1, 4, 1);
	/* every flooded channel full before the worker starts */
	WAIT_FOR(stat_of(s).queued == 3 * 64, 20);
	gate_open();
	unsigned rounds = 40, worst = 0;
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t before = atomic_load(&T.norder);
		must_send(light, J_NORMAL, 5, r);
		WAIT_FOR(atomic_load(&T.done_ch[1]) == r + 1, 20);
		/* how many jobs started between our send and our job's start */
		uint64_t end = atomic_load(&T.norder);
		unsigned pos = 0;
		for (uint64_t i = before; i < end && i < MAX_ORDER; i++) {
			if (atomic_load(&T.order[i]) == 1)
				break;
			pos++;
		}
		if (pos > worst)
			worst = pos;
	}
	for (unsigned i = 0; i < 3; i++) {
		atomic_store(&f[i].stop, 1);
		pthread_join(th[i], NULL);
		cr_assert_eq(f[i].rc, 0, "flood %u: %s", i, zipc_strerror(f[i].rc));
		cr_assert_geq(atomic_load(&f[i].sent), 64);
	}
	/* at most one job running when we sent, plus one per other channel */
	cr_assert_leq(worst, 4, "the light channel waited behind %u jobs", worst);
	for (unsigned i = 0; i < 3; i++)
		zipc_sched_sender_close(f[i].tx);
	zipc_sched_sender_close(light);
	zipc_sched_sender_close(g);
	finish(s);
}

/* ------------------------------------------------------------ workers */

TEST_SCHED(never_more_than_m, 60,
	   "6 channels x 40 busy jobs on m = 2 and m = 3: never more than m running, m reached, "
	   "all on m long-lived threads (no thread per job)")
{
	for (uint32_t m = 2; m <= 3; m++) {
		memset(&T, 0, sizeof(T));
		zipc_sched *s = mk(NULL, m, ZIPC_SCHED_PERSIST);
		zipc_sched_sender *tx[6];
		for (unsigned c = 0; c < 6; c++) {
			tx[c] = chan(s, c + 1, 64, 1);
			for (unsigned k = 0; k < 40; k++)
				must_send(tx[c], J_SPIN, c, 20 + (k % 3) * 30);
		}
		WAIT_FOR(atomic_load(&T.done) == 240, 40);
		cr_assert_leq(atomic_load(&T.max_running), m, "%u jobs at once with m = %u",
			      atomic_load(&T.max_running), m);
		struct zipc_sched_stat st = stat_of(s);
		cr_assert_leq(st.max_running, m);
		cr_assert_eq(atomic_load(&T.worker_bad), 0, "worker index out of range");
		cr_assert_leq(atomic_load(&T.ntids), m, "%u threads ran jobs", atomic_load(&T.ntids));
		/* m is reachable, and no more: hold m at the gate, queue more */
		zipc_sched_sender *g = chan(s, 100, 8, 1);
		for (unsigned i = 0; i < m + 2; i++)
			must_send(g, J_GATE, 9, i);
		WAIT_FOR(atomic_load(&T.at_gate) == m, 20);
		st = stat_of(s);
		cr_assert_eq(st.running, m);
		cr_assert_eq(st.queued, 2);
		cr_assert_eq(zipc_sched_channel_cancel(s, 100), 2, "the 2 waiting gate jobs are dropped");
		for (unsigned c = 0; c < 6; c++)
			zipc_sched_sender_close(tx[c]);
		zipc_sched_sender_close(g);
		finish(s);
		cr_assert_leq(atomic_load(&T.max_running), m);
		cr_assert_eq(atomic_load(&T.at_gate), m, "the 2 queued gate jobs were dropped by destroy");
		cr_assert_eq(atomic_load(&T.drop_q), 2);
	}
}

TEST_SCHED(failing_jobs_keep_workers, 30,
	   "jobs that return an error never leak a worker: 200 failures, then m jobs still run at once")
{
	zipc_sched *s = mk(NULL, 2, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *a = chan(s, 1, 256, 1), *b = chan(s, 2, 256, 1);
	for (unsigned k = 0; k < 100; k++) {
		must_send(a, J_FAIL, 0, k);
		must_send(b, J_FAIL, 1, k);
	}
	WAIT_FOR(atomic_load(&T.fin_eio) == 200 && stat_of(s).finalized == 200, 20);
	struct zipc_sched_stat st = stat_of(s);
	cr_assert_eq(st.failed, 200);
	cr_assert_eq(st.completed, 200);
	cr_assert_eq(st.finalized, 200, "finalize sees the job's error code");
	zipc_sched_sender *g = chan(s, 100, 2, 1);
	must_send(g, J_GATE, 0, 0);
	must_send(g, J_GATE, 0, 1);
	WAIT_FOR(atomic_load(&T.at_gate) == 2, 20); /* both workers are free */
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(b);
	zipc_sched_sender_close(g);
	finish(s);
}

TEST_SCHED(idle_workers_sleep_without_ticks, 30,
	   "idle workers sleep on the futex and nothing wakes them until a job arrives; then one runs it")
{
	struct zipc_sched_opts o = {.workers = 2, .flags = ZIPC_SCHED_PERSIST, .spin_ns = -1};
	zipc_sched *s = mk_opts(NULL, &o);
	zipc_sched_sender *a = chan(s, 1, 8, 1);
	/* no job yet, so no wake-up can be in flight: both workers asleep */
	WAIT_FOR(stat_of(s).sleeping == 2 && stat_of(s).sleeps == 2, 20);
	struct zipc_sched_stat st0 = stat_of(s);
	cr_assert_eq(st0.wakes, 0);
	cr_assert_eq(st0.wakeups, 0);
	/* observation window: no periodic tick may wake a worker */
	struct timespec win = {.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000};
	nanosleep(&win, NULL);
	struct zipc_sched_stat st1 = stat_of(s);
	cr_assert_eq(st1.wakeups, st0.wakeups, "a sleeping worker woke up with nothing to do");
	cr_assert_eq(st1.sleeping, 2);
	cr_assert_eq(st1.wakes, st0.wakes);
	int64_t t0 = zipc_now_ns();
	must_send(a, J_NORMAL, 0, 1);
	WAIT_FOR(atomic_load(&T.finalized) == 1, 20);
	int64_t dt = zipc_now_ns() - t0;
	struct zipc_sched_stat st2 = stat_of(s);
	cr_assert_geq(st2.wakes, st1.wakes + 1, "the send woke a worker");
	cr_assert_geq(st2.wakeups, st1.wakeups + 1);
	cr_assert_lt(dt, 2 * ZIPC_SEC, "woken at once (took %lld ns)", (long long)dt);
	zipc_sched_sender_close(a);
	finish(s);
}

/* ------------------------------------------------------------ cancel */

TEST_SCHED(cancel_drops_queued_and_releases, 30,
	   "cancel drops every queued job (drop sees each, its memory is freed), the queue length falls by "
	   "as many, the producer is told, and another channel's jobs all run")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	zipc_sched_sender *c = chan(s, 1, 16, 1), *d = chan(s, 2, 16, 1);
	for (unsigned k = 0; k < 10; k++) {
		struct tjob j = mkjob(J_PTR, 0, k);
		j.ptr = malloc(100); /* leaked unless drop frees it (ASan builds check) */
		cr_assert_eq(zipc_sched_sender_try_send(c, &j, sizeof(j)), 0);
	}
	for (unsigned k = 0; k < 5; k++)
		must_send(d, J_NORMAL, 1, k);
	cr_assert_eq(stat_of(s).queued, 15);
	cr_assert_eq(zipc_sched_channel_cancel(s, 1), 10);
	cr_assert_eq(atomic_load(&T.dropq_ch[1]), 10, "drop saw every queued job");
	struct zipc_sched_stat st = stat_of(s);
	cr_assert_eq(st.queued, 5, "the queue length went down by the cancel");
	cr_assert_eq(st.dropped, 10);
	cr_assert_eq(st.channels, 2, "the gate channel and channel 2");
	cr_assert_eq(st.cancelled, 1, "channel 1 waits for its sender");
	struct zipc_sched_channel_stat cs;
	cr_assert_eq(zipc_sched_channel_stat(s, 1, &cs), 0);
	cr_assert_eq(cs.state, ZIPC_SCHED_CH_CANCELLED);
	cr_assert_eq(cs.dropped, 10);
	cr_assert_eq(cs.queued, 0);
	cr_assert_eq(send_kind(c, J_NORMAL, 0, 11), -ECANCELED);
	gate_open();
	WAIT_FOR(atomic_load(&T.fin_ch[2]) == 5, 20);
	cr_assert_eq(atomic_load(&T.done_ch[1]), 0, "no cancelled job ran");
	zipc_sched_sender_close(c);
	WAIT_FOR(stat_of(s).cancelled == 0, 20); /* removed once its sender closed */
	cr_assert_eq(zipc_sched_channel_stat(s, 1, &cs), -ENOENT);
	zipc_sched_sender_close(d);
	zipc_sched_sender_close(g);
	finish(s);
}

TEST_SCHED(cancel_running_skips_finalize, 30,
	   "a running job of a cancelled channel completes its job function but skips finalize; "
	   "a running job of another channel finalizes")
{
	zipc_sched *s = mk(NULL, 2, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *c = chan(s, 1, 4, 1), *d = chan(s, 2, 4, 1);
	must_send(c, J_GATE, 0, 0);
	must_send(d, J_GATE, 1, 0);
	WAIT_FOR(atomic_load(&T.at_gate) == 2, 20);
	must_send(c, J_NORMAL, 0, 1); /* queued behind the running one */
	cr_assert_eq(zipc_sched_channel_cancel(s, 1), 1);
	gate_open();
	WAIT_FOR(atomic_load(&T.done) == 2 && atomic_load(&T.finalized) + atomic_load(&T.drop_f) == 2, 20);
	cr_assert_eq(atomic_load(&T.fin_ch[1]), 0, "finalize ran for a cancelled channel's job");
	cr_assert_eq(atomic_load(&T.fin_ch[2]), 1);
	cr_assert_eq(atomic_load(&T.drop_f), 1, "drop released the skipped job's result");
	cr_assert_eq(atomic_load(&T.done_ch[1]), 1, "the running job completed its job function");
	cr_assert_eq(stat_of(s).finalize_skipped, 1);
	zipc_sched_sender_close(c);
	zipc_sched_sender_close(d);
	finish(s);
}

TEST_SCHED(cancel_running_releases_result, 30, "a cancelled running job's result is handed to drop, not leaked")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	cr_assert_eq(zipc_sched_channel_cancel(s, 100), 0);
	struct tjob j = mkjob(J_PTR, 0, 0);
	j.ptr = malloc(64);
	zipc_sched_sender *c = chan(s, 1, 2, 1);
	cr_assert_eq(zipc_sched_sender_try_send(c, &j, sizeof(j)), 0);
	gate_open();
	WAIT_FOR(atomic_load(&T.finalized) == 1, 20); /* channel 1's job (frees its result) */
	cr_assert_eq(atomic_load(&T.drop_f), 1, "the gate job skipped finalize");
	zipc_sched_sender_close(c);
	zipc_sched_sender_close(g);
	finish(s);
}

/* ------------------------------------------------------------ stop */

TEST_SCHED(stop_cancel_early, 30,
	   "stop(CANCEL) drops what is queued, lets running jobs finish without finalize, and joins")
{
	zipc_sched *s = mk(NULL, 1, 0);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	zipc_sched_sender *a = chan(s, 1, 8, 1);
	for (unsigned k = 0; k < 6; k++)
		must_send(a, J_NORMAL, 0, k);
	cr_assert_eq(zipc_sched_stop(s, ZIPC_SCHED_STOP_CANCEL), 0);
	cr_assert_eq(atomic_load(&T.drop_q), 6);
	cr_assert_eq(zipc_sched_join(s, 50 * ZIPC_MSEC), -ETIMEDOUT, "the gate job still runs");
	cr_assert_eq(stat_of(s).state, ZIPC_SCHED_STOPPING);
	gate_open();
	cr_assert_eq(zipc_sched_join(s, 20 * ZIPC_SEC), 0);
	cr_assert_eq(zipc_sched_join(s, 0), 0, "join twice");
	cr_assert_eq(atomic_load(&T.drop_f), 1);
	cr_assert_eq(atomic_load(&T.finalized), 0);
	cr_assert_eq(atomic_load(&T.done), 1);
	cr_assert_eq(send_kind(a, J_NORMAL, 0, 9), -ECANCELED);
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(g);
	finish(s);
}

TEST_SCHED(destroy_from_job_is_edeadlk, 20, "a job may not join or destroy its own scheduler: -EDEADLK")
{
	zipc_sched *s = mk(NULL, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *a = chan(s, 1, 2, 1);
	must_send(a, J_SELF, 0, 0);
	WAIT_FOR(atomic_load(&T.finalized) == 1, 20);
	cr_assert_eq(atomic_load(&T.self_rc[0]), -EDEADLK);
	cr_assert_eq(atomic_load(&T.self_rc[1]), -EDEADLK);
	zipc_sched_sender_close(a);
	finish(s);
	cr_assert_eq(zipc_sched_destroy(NULL), 0);
}

/* ------------------------------------------------------------ stress */

struct streamer {
	zipc_sched_sender *tx;
	uint32_t sender;
	uint64_t n;
	int rc;
};

static void *streamer_main(void *arg)
{
	struct streamer *st = arg;
	for (uint64_t k = 0; k < st->n; k++) {
		struct tjob j = mkjob(J_NORMAL, st->sender, k);
		int rc = zipc_sched_sender_send(st->tx, &j, sizeof(j), 20 * ZIPC_SEC);
		if (rc) {
			st->rc = rc;
			return NULL;
		}
	}
	return NULL;
}

TEST_SCHED(stress_exactly_once, 60,
	   "4 single-sender channels and one 2-sender channel with bound 8, blocking sends, m = 2: "
	   "every job runs exactly once, intact, single-sender jobs at their send position")
{
	uint64_t n = zt_messages(20000);
	if (n > MAX_K)
		n = MAX_K;
	seen_alloc(6);
	zipc_sched *s = mk(NULL, 2, 0);
	struct streamer st[6];
	pthread_t th[6];
	zipc_sched_sender *mp = chan(s, 5, 8, 2);
	for (unsigned i = 0; i < 6; i++) {
		st[i] = (struct streamer){.sender = i, .n = n};
		if (i < 4)
			st[i].tx = chan(s, i + 1, 8, 1);
		else if (i == 4)
			st[i].tx = mp;
		else
			cr_assert_eq(zipc_sched_sender_clone(mp, &st[i].tx), 0);
	}
	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, streamer_main, &st[i]), 0);
	for (unsigned i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(st[i].rc, 0, "streamer %u: %s", i, zipc_strerror(st[i].rc));
		zipc_sched_sender_close(st[i].tx);
	}
	cr_assert_eq(zipc_sched_join(s, 40 * ZIPC_SEC), 0, "finished once every sender closed");
	cr_assert_eq(atomic_load(&T.done), 6 * n);
	cr_assert_eq(atomic_load(&T.finalized), 6 * n);
	cr_assert_eq(atomic_load(&T.dups), 0);
	cr_assert_eq(atomic_load(&T.bad_check), 0);
	for (unsigned i = 0; i < 6; i++)
		for (uint64_t k = 0; k < n; k++)
			cr_assert(atomic_load(&T.seen[i][k]), "stream %u job %llu missing", i, (unsigned long long)k);
	cr_assert_leq(atomic_load(&T.max_running), 2);
	finish(s);
}

/* ------------------------------------------------------------ processes */

static pid_t child_start(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

struct xproc {
	const char *name;
	uint64_t id;
	uint32_t sender;
	uint64_t n;
	int pipe_w; /* write end: one byte when about to block / ready */
};

/* Child: attach by name, send n jobs (blocking), close. */
static int xproc_producer(void *arg)
{
	struct xproc *x = arg;
	zipc_sched_sender *tx;
	int rc = zipc_sched_sender_attach(x->name, x->id, NULL, &tx);
	if (rc)
		return 10;
	for (uint64_t k = 0; k < x->n; k++) {
		struct tjob j = mkjob(J_NORMAL, x->sender, k);
		if (zipc_sched_sender_send(tx, &j, sizeof(j), 20 * ZIPC_SEC))
			return 11;
	}
	zipc_sched_sender_close(tx);
	return 0;
}

TEST_SCHED(cross_process_producers, 60,
	   "4 producer processes attach by name (3 channels, one shared by two processes), send 3000 jobs "
	   "each; all run exactly once; the scheduler stops when the last one drops its sender")
{
	char name[64];
	zt_name(name, sizeof(name), "sch");
	uint64_t n = zt_messages(3000);
	if (n > MAX_K)
		n = MAX_K;
	seen_alloc(4);
	zipc_sched *s = mk(name, 2, 0);
	cr_assert_eq(zipc_sched_channel_create(s, 1, 16, 1, NULL), 0);
	cr_assert_eq(zipc_sched_channel_create(s, 2, 16, 1, NULL), 0);
	/* the two processes sharing channel 3 need not overlap: our own
	 * sender keeps it open until both are done (else the first to close
	 * may close the channel, correctly, before the second attaches) */
	zipc_sched_sender *keep = chan(s, 3, 16, 3);
	zipc_sched_sender *x = (zipc_sched_sender *)&x;
	cr_assert_eq(zipc_sched_sender_attach(name, 77, NULL, &x), -ENOENT, "no channel 77");
	cr_assert_null(x);
	cr_assert_eq(zipc_sched_sender_attach("no-such-sched", 1, NULL, &x), -ENOENT);
	struct xproc xp[4] = {
		{.name = name, .id = 1, .sender = 0, .n = n},
		{.name = name, .id = 2, .sender = 1, .n = n},
		{.name = name, .id = 3, .sender = 2, .n = n},
		{.name = name, .id = 3, .sender = 3, .n = n},
	};
	pid_t pid[4];
	for (unsigned i = 0; i < 4; i++)
		pid[i] = child_start(xproc_producer, &xp[i]);
	for (unsigned i = 0; i < 4; i++) {
		int st = child_status(pid[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer %u: status %#x", i, st);
	}
	zipc_sched_sender_close(keep);
	cr_assert_eq(zipc_sched_join(s, 30 * ZIPC_SEC), 0, "stopped after the last sender closed");
	cr_assert_eq(atomic_load(&T.done), 4 * n);
	cr_assert_eq(atomic_load(&T.dups), 0);
	cr_assert_eq(atomic_load(&T.bad_check), 0);
	for (unsigned i = 0; i < 4; i++)
		for (uint64_t k = 0; k < n; k++)
			cr_assert(atomic_load(&T.seen[i][k]), "process %u job %llu missing", i, (unsigned long long)k);
	struct zipc_sched_stat st = stat_of(s);
	cr_assert_eq(st.channels_closed, 3);
	finish(s);
}

/* Child: attach, fill the channel, then block in send until cancelled. */
static int xproc_blocked(void *arg)
{
	struct xproc *x = arg;
	zipc_sched_sender *tx;
	if (zipc_sched_sender_attach(x->name, x->id, NULL, &tx))
		return 10;
	for (uint64_t k = 0; k < x->n; k++) {
		struct tjob j = mkjob(J_NORMAL, 0, k);
		if (zipc_sched_sender_try_send(tx, &j, sizeof(j)))
			return 11;
	}
	struct tjob j = mkjob(J_NORMAL, 0, x->n);
	if (zipc_sched_sender_try_send(tx, &j, sizeof(j)) != -EAGAIN)
		return 12;
	char b = 1;
	if (write(x->pipe_w, &b, 1) != 1)
		return 13;
	int rc = zipc_sched_sender_send(tx, &j, sizeof(j), 20 * ZIPC_SEC);
	if (rc != -ECANCELED)
		return 14;
	uint64_t dropped = 0;
	if (zipc_sched_sender_status(tx, &dropped) != -ECANCELED || dropped != x->n)
		return 15;
	zipc_sched_sender_close(tx);
	return 0;
}

TEST_SCHED(cross_process_cancel, 30,
	   "a producer process blocked on a full channel is woken by the cancel with -ECANCELED and learns "
	   "how many of its jobs were dropped; the channel is removed when it closes")
{
	char name[40], ring[64];
	zt_name(name, sizeof(name), "sch");
	zipc_sched *s = mk(name, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	cr_assert_eq(zipc_sched_channel_create(s, 1, 4, 1, NULL), 0);
	snprintf(ring, sizeof(ring), "%s.c1.1", name);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct xproc x = {.name = name, .id = 1, .n = 4, .pipe_w = p[1]};
	pid_t pid = child_start(xproc_blocked, &x);
	char b;
	cr_assert_eq(read(p[0], &b, 1), 1, "child ready");
	await_producer_sleeper(ring);
	cr_assert_eq(zipc_sched_channel_cancel(s, 1), 4);
	int st = child_status(pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	/* the only worker is held at the gate: the cancel itself removed the
	 * channel if the woken child had closed by then, else a manual tick
	 * does now that its sender has closed */
	int removed = zipc_sched_gc(s);
	cr_assert(removed == 0 || removed == 1);
	cr_assert_eq(stat_of(s).cancelled, 0);
	cr_assert_eq(stat_of(s).channels, 1, "the gate channel only");
	cr_assert_eq(atomic_load(&T.drop_q), 4);
	close(p[0]);
	close(p[1]);
	zipc_sched_sender_close(g);
	finish(s);
}

struct xsched {
	const char *name;
	int pipe_w;
};

/* Child: a scheduler whose only worker blocks forever in a gate job. */
static int xproc_scheduler(void *arg)
{
	struct xsched *x = arg;
	memset(&T, 0, sizeof(T));
	struct zipc_sched_opts o = {.workers = 1, .flags = ZIPC_SCHED_PERSIST, .job = tjob_fn, .ctx = &T,
				    .max_payload = sizeof(struct tjob)};
	zipc_sched *s;
	if (zipc_sched_create(x->name, &o, &s))
		return 10;
	if (zipc_sched_channel_create(s, 1, 2, 1, NULL))
		return 11;
	char b = 1;
	if (write(x->pipe_w, &b, 1) != 1)
		return 12;
	for (;;)
		pause(); /* killed by the test */
}

TEST_SCHED(scheduler_death_seen_by_producer, 30,
	   "a producer whose scheduler process died gets -EOWNERDEAD instead of waiting forever")
{
	char name[64];
	zt_name(name, sizeof(name), "sch");
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct xsched x = {.name = name, .pipe_w = p[1]};
	pid_t pid = child_start(xproc_scheduler, &x);
	char b;
	cr_assert_eq(read(p[0], &b, 1), 1, "scheduler ready");
	struct zipc_wait_opts w = {.liveness_ns = 2 * ZIPC_MSEC};
	zipc_sched_sender *tx;
	int rc = zipc_sched_sender_attach(name, 1, &w, &tx);
	cr_assert_eq(rc, 0, "attach: %s", zipc_strerror(rc));
	cr_assert_eq(send_kind(tx, J_GATE, 0, 0), 0);
	cr_assert_eq(zipc_sched_sender_status(tx, NULL), 0);
	kill(pid, SIGKILL);
	int st = child_status(pid);
	cr_assert(WIFSIGNALED(st));
	/* fill whatever room is left, then the next waits must see the death */
	int64_t t0 = zipc_now_ns();
	for (unsigned k = 1; k < 8; k++) {
		struct tjob j = mkjob(J_NORMAL, 0, k);
		rc = zipc_sched_sender_send(tx, &j, sizeof(j), 10 * ZIPC_SEC);
		if (rc)
			break;
	}
	cr_assert_eq(rc, -EOWNERDEAD, "send: %s", zipc_strerror(rc));
	cr_assert_lt(zipc_now_ns() - t0, 5 * ZIPC_SEC);
	cr_assert_eq(send_kind(tx, J_NORMAL, 0, 9), -EOWNERDEAD);
	cr_assert_eq(zipc_sched_sender_status(tx, NULL), -EOWNERDEAD);
	zipc_sched_sender_close(tx);
	close(p[0]);
	close(p[1]);
}

/* Child: attach, send 3 jobs, die without closing. */
static int xproc_dies(void *arg)
{
	struct xproc *x = arg;
	zipc_sched_sender *tx;
	if (zipc_sched_sender_attach(x->name, x->id, NULL, &tx))
		return 10;
	for (uint64_t k = 0; k < x->n; k++) {
		struct tjob j = mkjob(J_NORMAL, 0, k);
		if (zipc_sched_sender_try_send(tx, &j, sizeof(j)))
			return 11;
	}
	raise(SIGKILL);
	return 12;
}

TEST_SCHED(gc_reaps_dead_sender, 30,
	   "a producer process that dies without closing: its published jobs still run, and gc (a manual "
	   "tick) detaches it, removes the drained channel and lets the scheduler finish")
{
	char name[64];
	zt_name(name, sizeof(name), "sch");
	zipc_sched *s = mk(name, 1, 0);
	cr_assert_eq(zipc_sched_channel_create(s, 1, 8, 1, NULL), 0);
	struct xproc x = {.name = name, .id = 1, .n = 3};
	pid_t pid = child_start(xproc_dies, &x);
	int st = child_status(pid);
	cr_assert(WIFSIGNALED(st), "status %#x", st);
	WAIT_FOR(atomic_load(&T.finalized) == 3, 20);
	struct zipc_sched_channel_stat cs;
	cr_assert_eq(zipc_sched_channel_stat(s, 1, &cs), 0);
	cr_assert_eq(cs.senders, 1, "the dead sender is still registered");
	cr_assert_eq(zipc_sched_join(s, 0), -EAGAIN);
	cr_assert_eq(zipc_sched_gc(s), 1, "one channel removed");
	cr_assert_eq(zipc_sched_join(s, 20 * ZIPC_SEC), 0);
	cr_assert_eq(zipc_sched_gc(NULL), -EINVAL);
	finish(s);
}

/* ------------------------------------------------------------ validation */

struct craft {
	uint32_t max_channels;
	int corrupt;
	uint64_t bound;
	char ring[56];
};

enum { CR_NONE, CR_MAGIC, CR_LAYOUT, CR_CHANNELS, CR_OFFSET, CR_SLOT };

static int craft_init(void *area, uint64_t size, void *arg)
{
	const struct craft *c = arg;
	struct zipc_sched_dir *d = area;
	d->p.magic = ZIPC_SCHED_MAGIC;
	d->p.layout = ZIPC_SCHED_LAYOUT;
	d->p.max_channels = c->max_channels;
	d->p.max_payload = sizeof(struct tjob);
	d->p.slot_size = sched_slot_size(sizeof(struct tjob));
	d->p.workers = 1;
	d->p.entries_off = sizeof(struct zipc_sched_dir);
	d->p.total_size = sched_dir_size(c->max_channels);
	switch (c->corrupt) {
	case CR_MAGIC: d->p.magic ^= 1; break;
	case CR_LAYOUT: d->p.layout = 99; break;
	case CR_CHANNELS: d->p.max_channels = 100000; break;
	case CR_OFFSET: d->p.entries_off += 8; break;
	case CR_SLOT: d->p.slot_size += 8; break;
	default: break;
	}
	atomic_store(&d->ctl.state, ZIPC_SCHED_RUNNING);
	if (sched_dir_size(c->max_channels) > size)
		return -ENOMEM;
	struct zipc_sched_entry *e = (struct zipc_sched_entry *)((unsigned char *)d + sizeof(*d));
	char buf[56] = {0};
	memcpy(buf, c->ring, sizeof(buf) - 1);
	for (unsigned i = 0; i < 7; i++) {
		uint64_t w;
		memcpy(&w, buf + 8 * i, 8);
		atomic_store(&e->ring[i], w);
	}
	atomic_store(&e->gen, 1);
	atomic_store(&e->id, 1);
	atomic_store(&e->bound, c->bound);
	atomic_store(&e->max_senders, 1);
	atomic_store(&e->state, SCHED_ENT_OPEN);
	return 0;
}

static int craft_attach(const struct craft *c)
{
	char name[64];
	zt_name(name, sizeof(name), "fake");
	struct zipc_region_opts ro = {.size = sched_dir_size(c->max_channels), .kind = ZIPC_KIND_SCHED,
				      .init = craft_init, .init_arg = (void *)c};
	zipc_region *r;
	int rc = zipc_region_create(name, &ro, &r);
	cr_assert_eq(rc, 0, "region: %s", zipc_strerror(rc));
	zipc_sched_sender *tx = (zipc_sched_sender *)&tx;
	rc = zipc_sched_sender_attach(name, 1, NULL, &tx);
	if (rc == 0)
		zipc_sched_sender_close(tx);
	else
		cr_assert_null(tx);
	zipc_region_close(r);
	return rc;
}

TEST_SCHED(attach_validates_directory, 30,
	   "attach rejects what is not a sound scheduler directory or channel ring, with the precise code")
{
	/* a ring is not a scheduler */
	char rname[40];
	struct zipc_ring_opts ro = {.capacity = 4, .slot_size = sched_slot_size(sizeof(struct tjob))};
	zipc_ring *ring;
	cr_assert_eq(zipc_ring_create(zt_name(rname, sizeof(rname), "ring"), &ro, &ring), 0);
	zipc_sched_sender *tx;
	cr_assert_eq(zipc_sched_sender_attach(rname, 1, NULL, &tx), -EMEDIUMTYPE);

	struct craft c = {.max_channels = 4, .bound = 4};
	snprintf(c.ring, sizeof(c.ring), "%s", rname);
	cr_assert_eq(craft_attach(&c), 0, "a hand-made directory naming a matching ring works");
	c.corrupt = CR_MAGIC;
	cr_assert_eq(craft_attach(&c), -EBADMSG);
	c.corrupt = CR_LAYOUT;
	cr_assert_eq(craft_attach(&c), -EPROTONOSUPPORT);
	c.corrupt = CR_CHANNELS;
	cr_assert_eq(craft_attach(&c), -EPROTO);
	c.corrupt = CR_OFFSET;
	cr_assert_eq(craft_attach(&c), -EPROTO);
	c.corrupt = CR_SLOT;
	cr_assert_eq(craft_attach(&c), -EPROTO);
	c.corrupt = CR_NONE;
	c.bound = 3;
	cr_assert_eq(craft_attach(&c), -EPROTO, "bound not a power of two");
	c.bound = 8;
	cr_assert_eq(craft_attach(&c), -EPROTO, "ring capacity differs from the bound");
	c.bound = 4;
	snprintf(c.ring, sizeof(c.ring), "no-such-ring");
	cr_assert_eq(craft_attach(&c), -EPIPE, "the channel's ring is gone");
	zipc_ring_close(ring);
}

TEST_SCHED(corrupt_job_slot_skipped, 30,
	   "a job slot whose length exceeds max_payload (a hostile sender) is skipped and counted, the next runs")
{
	char name[40], ring[64];
	zipc_sched *s = mk(zt_name(name, sizeof(name), "sch"), 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	cr_assert_eq(zipc_sched_channel_create(s, 1, 4, 1, NULL), 0);
	snprintf(ring, sizeof(ring), "%s.c1.1", name);
	zipc_ring *r;
	cr_assert_eq(zipc_ring_attach(ring, 0, &r), 0);
	zipc_producer *p;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	uint64_t seq;
	cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), 0);
	struct sched_slot_hdr h = {.len = 1u << 30};
	memcpy(zipc_producer_slot(p, seq), &h, sizeof(h));
	cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), 0);
	struct tjob j = mkjob(J_NORMAL, 0, 0);
	h.len = sizeof(j);
	memcpy(zipc_producer_slot(p, seq), &h, sizeof(h));
	memcpy((char *)zipc_producer_slot(p, seq) + SCHED_SLOT_HDR, &j, sizeof(j));
	cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	gate_open();
	WAIT_FOR(atomic_load(&T.fin_ch[1]) == 1, 20);
	cr_assert_eq(stat_of(s).bad, 1);
	zipc_producer_close(p);
	zipc_ring_close(r);
	zipc_sched_sender_close(g);
	finish(s);
}

TEST_SCHED(liveness_reaps_dead_sender, 30,
	   "with liveness_ns set, a sleeping worker notices a dead producer process by itself and the "
	   "scheduler finishes without a manual gc")
{
	char name[40];
	zt_name(name, sizeof(name), "sch");
	struct zipc_sched_opts o = {.workers = 1, .liveness_ns = 20 * ZIPC_MSEC};
	zipc_sched *s = mk_opts(name, &o);
	cr_assert_eq(zipc_sched_channel_create(s, 1, 8, 1, NULL), 0);
	struct xproc x = {.name = name, .id = 1, .n = 2};
	pid_t pid = child_start(xproc_dies, &x);
	int st = child_status(pid);
	cr_assert(WIFSIGNALED(st), "status %#x", st);
	cr_assert_eq(zipc_sched_join(s, 20 * ZIPC_SEC), 0, "finished once the dead sender was reaped");
	cr_assert_eq(atomic_load(&T.finalized), 2, "what the dead process published still ran");
	cr_assert_eq(stat_of(s).channels_closed, 1);
	finish(s);
}

/* Child: register as a raw multi-producer of the channel ring, claim one
 * slot and die without publishing it. */
static int xproc_dies_mid_claim(void *arg)
{
	const char *ring = arg;
	zipc_ring *r;
	if (zipc_ring_attach(ring, 0, &r))
		return 10;
	zipc_producer *p;
	if (zipc_producer_open(r, NULL, &p))
		return 11;
	uint64_t seq;
	if (zipc_producer_try_claim(p, 1, &seq))
		return 12;
	raise(SIGKILL);
	return 13;
}

TEST_SCHED(gc_skips_dead_claim, 30,
	   "a multi-sender channel whose producer process died between claim and publish: gc skips the "
	   "hole and the jobs behind it run")
{
	char name[40], ring[64];
	zt_name(name, sizeof(name), "sch");
	zipc_sched *s = mk(name, 1, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *b = chan(s, 1, 8, 2); /* slot 0, generation 1 */
	snprintf(ring, sizeof(ring), "%s.c0.1", name);
	pid_t pid = child_start(xproc_dies_mid_claim, ring);
	int st = child_status(pid);
	cr_assert(WIFSIGNALED(st), "status %#x", st);
	must_send(b, J_NORMAL, 0, 0);
	must_send(b, J_NORMAL, 0, 1);
	cr_assert_eq(stat_of(s).queued, 3, "two jobs behind the dead claim");
	cr_assert_eq(atomic_load(&T.done), 0);
	cr_assert_eq(zipc_sched_gc(s), 0);
	WAIT_FOR(atomic_load(&T.finalized) == 2, 20);
	cr_assert_eq(stat_of(s).bad, 1, "the lost slot is counted");
	zipc_sched_sender_close(b);
	finish(s);
}

TEST_SCHED(sender_wait_strategies, 30,
	   "blocking sends with spin, yield, block and uring strategies all deliver; set_wait checks its argument")
{
	zipc_sched *s = mk(NULL, 1, 0);
	zipc_sched_sender *tx = chan(s, 1, 2, 1);
	cr_assert_eq(zipc_sched_sender_set_wait(tx, &(struct zipc_wait_opts){.strategy = 9}), -EINVAL);
	cr_assert_eq(zipc_sched_sender_set_wait(NULL, NULL), -EINVAL);
	static const uint32_t strat[] = {ZIPC_WAIT_SPIN, ZIPC_WAIT_YIELD, ZIPC_WAIT_BLOCK, ZIPC_WAIT_URING};
	uint64_t k = 0;
	for (unsigned i = 0; i < 4; i++) {
		struct zipc_wait_opts w = {.strategy = strat[i], .spin_ns = 1000};
		cr_assert_eq(zipc_sched_sender_set_wait(tx, &w), 0);
		for (unsigned j = 0; j < 500; j++, k++) {
			struct tjob jb = mkjob(J_NORMAL, 0, k);
			int rc = zipc_sched_sender_send(tx, &jb, sizeof(jb), 10 * ZIPC_SEC);
			cr_assert_eq(rc, 0, "strategy %u: %s", strat[i], zipc_strerror(rc));
		}
	}
	cr_assert_eq(zipc_sched_sender_set_wait(tx, NULL), 0);
	zipc_sched_sender_close(tx);
	cr_assert_eq(zipc_sched_join(s, 20 * ZIPC_SEC), 0);
	cr_assert_eq(atomic_load(&T.finalized), k);
	finish(s);
}

TEST_SCHED(optional_callbacks, 20, "finalize and drop are optional: jobs run, cancel still releases the queued slots")
{
	struct zipc_sched_opts o = {.workers = 1, .flags = ZIPC_SCHED_PERSIST, .job = tjob_fn, .ctx = &T,
				    .max_payload = sizeof(struct tjob)};
	T.workers = 1;
	zipc_sched *s;
	cr_assert_eq(zipc_sched_create(NULL, &o, &s), 0);
	T.s = s;
	zipc_sched_sender *g = hold_workers(s, 100, 1);
	zipc_sched_sender *a = chan(s, 1, 4, 1);
	for (unsigned k = 0; k < 4; k++)
		must_send(a, J_NORMAL, 0, k);
	cr_assert_eq(zipc_sched_channel_cancel(s, 1), 4);
	cr_assert_eq(stat_of(s).queued, 0);
	zipc_sched_sender *b = chan(s, 2, 4, 1);
	must_send(b, J_NORMAL, 0, 0);
	gate_open();
	WAIT_FOR(atomic_load(&T.done_ch[2]) == 1, 20);
	cr_assert_eq(stat_of(s).finalized, 0);
	zipc_sched_sender_close(a);
	zipc_sched_sender_close(b);
	zipc_sched_sender_close(g);
	finish(s);
}

struct racer {
	zipc_sched_sender *tx;
	_Atomic uint64_t accepted;
	int last;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	for (uint64_t k = 0;; k++) {
		struct tjob j = mkjob(J_NORMAL, 0, k);
		int rc = zipc_sched_sender_send(r->tx, &j, sizeof(j), 10 * ZIPC_SEC);
		if (rc) {
			r->last = rc;
			break;
		}
		if (atomic_fetch_add(&r->accepted, 1) + 1 == 200)
			event(); /* enough traffic: the test may cancel */
	}
	return NULL;
}

TEST_SCHED(cancel_under_load_accounts_every_job, 30,
	   "4 threads sending into one channel while it is cancelled: each ends with -ECANCELED, and every "
	   "accepted job was either run or dropped, exactly once; other channels unaffected")
{
	zipc_sched *s = mk(NULL, 2, ZIPC_SCHED_PERSIST);
	zipc_sched_sender *other = chan(s, 2, 64, 1);
	zipc_sched_sender *first = chan(s, 1, 16, 4);
	struct racer r[4];
	pthread_t th[4];
	for (unsigned i = 0; i < 4; i++) {
		r[i] = (struct racer){.tx = first};
		if (i)
			cr_assert_eq(zipc_sched_sender_clone(first, &r[i].tx), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
	for (unsigned k = 0; k < 50; k++)
		must_send(other, J_NORMAL, 1, k);
	WAIT_FOR(atomic_load(&r[0].accepted) >= 200 || atomic_load(&T.done_ch[1]) >= 800, 20);
	int dropped = zipc_sched_channel_cancel(s, 1);
	cr_assert_geq(dropped, 0);
	uint64_t accepted = 0;
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(r[i].last, -ECANCELED, "racer %u: %s", i, zipc_strerror(r[i].last));
		accepted += atomic_load(&r[i].accepted);
		zipc_sched_sender_close(r[i].tx);
	}
	/* the last close wakes a worker, which sweeps and removes the channel */
	WAIT_FOR(stat_of(s).cancelled == 0, 20);
	WAIT_FOR(atomic_load(&T.done_ch[2]) == 50, 20);
	uint64_t ran = atomic_load(&T.done_ch[1]), gone = atomic_load(&T.dropq_ch[1]);
	cr_assert_eq(ran + gone, accepted, "accepted %llu, ran %llu, dropped %llu", (unsigned long long)accepted,
		     (unsigned long long)ran, (unsigned long long)gone);
	cr_assert_geq(gone, (uint64_t)dropped);
	cr_assert_eq(atomic_load(&T.fin_ch[2]), 50);
	zipc_sched_sender_close(other);
	finish(s);
}
