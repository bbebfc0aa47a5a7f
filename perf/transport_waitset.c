/* perf/transport_waitset.c - zipc waitset under test: a process asleep on N rings, woken by one of them. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "perf.h"

/*
 * waitset: the parent creates N request rings and one reply ring.  The
 * child attaches them all, opens a consumer on each request ring and
 * registers every consumer in one waitset that sleeps at once (spin_ns < 0:
 * the measurement is its wake-up, not its spin loop).  Each round trip,
 * the parent picks a request ring at random (the same pseudo-random
 * sequence in every run), publishes the value there and spins on the reply
 * ring for the echo {value, ring index}.  One RTT is therefore one waitset
 * wake-up plus one spinning hop back; the parent checks that the echo came
 * from the ring it chose.
 */

/* Slots of each request ring (one request in flight) and of the reply ring. */
#define WS_RING_SLOTS 8u
/* Most events taken per zipc_waitset_wait(). */
#define WS_EVENTS 16u

/*
 * The child's report, in a MAP_SHARED page: stored before it exits, read
 * by the parent after reaping it (which orders the two).
 */
struct ws_report {
	uint64_t sleeps; /* io_uring_enter() sleeps of the waitset */
};

/* The echo: the value and the request ring the waitset reported it on. */
struct ws_echo {
	uint64_t value;
	uint64_t ring;
};

struct waitset_state {
	unsigned n;              /* request rings */
	zipc_ring **req;         /* parent's (creator's) handles: n request rings */
	zipc_ring *reply;        /* parent's handle of the reply ring */
	zipc_ring **child_req;   /* child's own handles */
	zipc_ring *child_reply;
	zipc_producer **prod;    /* parent: a producer per request ring */
	zipc_consumer *echoes;   /* parent: the reply ring's consumer */
	zipc_consumer **cons;    /* child: a consumer per request ring */
	zipc_producer *replies;  /* child: the reply ring's producer */
	zipc_waitset *ws;        /* child */
	struct ws_report *report;
	uint64_t rng;            /* parent: xorshift64* state of the ring choice */
};

/* The next pseudo-random request ring (xorshift64*). */
static unsigned next_ring(struct waitset_state *st)
{
	st->rng ^= st->rng >> 12;
	st->rng ^= st->rng << 25;
	st->rng ^= st->rng >> 27;
	return (unsigned)(((st->rng * 0x2545f4914f6cdd1dull) >> 32) % st->n);
}

/*
 * The parent holds N+1 ring descriptors, the child as many again plus
 * its inherited copies: raise the soft descriptor limit towards the hard
 * one if 1024 rings would not fit.
 */
static int enough_fds(unsigned rings)
{
	struct rlimit rl;
	rlim_t need = 2 * (rlim_t)rings + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static void ws_free(struct waitset_state *st)
{
	for (unsigned i = 0; st->req && i < st->n; i++)
		zipc_ring_close(st->req[i]);
	zipc_ring_close(st->reply);
	if (st->report)
		munmap(st->report, sizeof(*st->report));
	free(st->req);
	free(st->child_req);
	free(st->prod);
	free(st->cons);
	free(st);
}

static int ring_new(uint32_t slot_size, zipc_ring **out)
{
	struct zipc_ring_opts o = {
		.capacity = WS_RING_SLOTS,
		.slot_size = slot_size,
		.max_consumers = 1,
		.wait = ZIPC_WAIT_SPIN,
		.numa_node = -1,
		.group = -1,
		.region_flags = ZIPC_REGION_ANONYMOUS,
	};
	return zipc_ring_create(NULL, &o, out);
}

static int waitset_setup(struct perf_run *run)
{
	struct waitset_state *st = calloc(1, sizeof(*st));
	const unsigned n = run->c->rings;
	int rc = -ENOMEM;

	if (!st)
		return rc;
	st->n = n;
	st->rng = 0x9e3779b97f4a7c15ull;
	st->req = calloc(n, sizeof(*st->req));
	st->child_req = calloc(n, sizeof(*st->child_req));
	st->prod = calloc(n, sizeof(*st->prod));
	st->cons = calloc(n, sizeof(*st->cons));
	st->report = mmap(NULL, sizeof(*st->report), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st->report == MAP_FAILED) {
		rc = -errno;
		st->report = NULL;
	} else if (st->req && st->child_req && st->prod && st->cons) {
		rc = enough_fds(n);
	}
	for (unsigned i = 0; !rc && i < n; i++)
		rc = ring_new(sizeof(uint64_t), &st->req[i]);
	if (!rc)
		rc = ring_new(sizeof(struct ws_echo), &st->reply);
	if (rc) {
		ws_free(st);
		return rc;
	}
	run->priv = st;
	return 0;
}

static void waitset_close(struct perf_run *run, enum perf_side side)
{
	struct waitset_state *st = run->priv;
	zipc_waitset_close(st->ws);
	st->ws = NULL;
	for (unsigned i = 0; i < st->n; i++) {
		zipc_producer_close(st->prod[i]);
		zipc_consumer_close(st->cons[i]);
		st->prod[i] = NULL;
		st->cons[i] = NULL;
	}
	zipc_consumer_close(st->echoes);
	zipc_producer_close(st->replies);
	st->echoes = NULL;
	st->replies = NULL;
	if (side == PERF_CHILD) {
		for (unsigned i = 0; i < st->n; i++) {
			zipc_ring_close(st->child_req[i]);
			st->child_req[i] = NULL;
		}
		zipc_ring_close(st->child_reply);
		st->child_reply = NULL;
	}
}

/* Attach @parent's ring from its inherited memfd, as an unrelated process would. */
static int attach(zipc_ring *parent, zipc_ring **out)
{
	return zipc_ring_from_fd(zipc_region_fd(zipc_ring_region(parent)), 0, out);
}

static int waitset_open(struct perf_run *run, enum perf_side side)
{
	struct waitset_state *st = run->priv;
	const struct zipc_wait_opts spin = { .strategy = ZIPC_WAIT_SPIN };
	const struct zipc_waitset_opts wo = { .spin_ns = -1 }; /* sleep at once */
	int rc = 0;

	if (side == PERF_PARENT) {
		for (unsigned i = 0; !rc && i < st->n; i++)
			rc = zipc_producer_open(st->req[i], &spin, &st->prod[i]);
		if (!rc)
			rc = zipc_consumer_open(st->reply, &spin, &st->echoes);
	} else {
		rc = zipc_waitset_create(&wo, &st->ws);
		for (unsigned i = 0; !rc && i < st->n; i++) {
			rc = attach(st->req[i], &st->child_req[i]);
			if (!rc)
				rc = zipc_consumer_open(st->child_req[i], NULL, &st->cons[i]);
			if (!rc)
				rc = zipc_waitset_add_consumer(st->ws, st->cons[i], i);
		}
		if (!rc)
			rc = attach(st->reply, &st->child_reply);
		if (!rc)
			rc = zipc_producer_open(st->child_reply, &spin, &st->replies);
	}
	if (rc)
		waitset_close(run, side);
	return rc;
}

/*
 * The waitset's sleeps (its own counter, reported by the child) and the
 * FUTEX_WAKE calls of the run: a publish wakes only when the waitset has
 * announced itself asleep on that ring.
 */
static void waitset_counters(struct perf_run *run)
{
	struct waitset_state *st = run->priv;
	int64_t sleeps = 0; /* the rings' own: none, the waitset sleeps in io_uring */
	run->wakes = 0;
	for (unsigned i = 0; i <= st->n; i++)
		perf_ring_waits(i < st->n ? st->req[i] : st->reply, &sleeps, &run->wakes);
	run->sleeps = (int64_t)st->report->sleeps + sleeps;
}

static void waitset_teardown(struct perf_run *run)
{
	waitset_close(run, PERF_PARENT);
	ws_free(run->priv);
	run->priv = NULL;
}

static int waitset_ping(struct perf_run *run, uint64_t first, uint64_t count, int64_t *samples)
{
	struct waitset_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);

	for (uint64_t i = 0; i < count; i++) {
		const uint64_t v = first + i + 1;
		const unsigned k = next_ring(st);
		struct ws_echo echo;
		uint64_t seq;
		perf_gap(run);
		int64_t t0 = perf_now_ns();
		int rc = zipc_producer_claim(st->prod[k], 1, timeout, &seq);
		if (rc)
			return rc;
		memcpy(zipc_producer_slot(st->prod[k], seq), &v, sizeof(v));
		rc = zipc_producer_publish(st->prod[k], seq, 1);
		if (rc)
			return rc;
		int64_t n = zipc_consumer_wait(st->echoes, timeout, &seq);
		if (n < 0)
			return (int)n;
		memcpy(&echo, zipc_consumer_slot(st->echoes, seq), sizeof(echo));
		int64_t t1 = perf_now_ns();
		rc = zipc_consumer_release(st->echoes, 1);
		if (rc)
			return rc;
		if (echo.value != v || echo.ring != k)
			run->errors++;
		if (samples)
			samples[i] = t1 - t0;
	}
	return 0;
}

/* Echo what ring @k holds (one request in flight; more would be echoed in order). */
static int echo_ring(struct waitset_state *st, unsigned k, int64_t timeout, uint64_t *done)
{
	zipc_consumer *c = st->cons[k];
	uint64_t seq, out;
	int64_t n = zipc_consumer_try_peek(c, &seq);
	if (n == -EAGAIN)
		return 0; /* reported ready, already drained */
	if (n < 0)
		return (int)n;
	for (int64_t j = 0; j < n; j++) {
		struct ws_echo e = { .ring = k };
		memcpy(&e.value, zipc_consumer_slot(c, seq + (uint64_t)j), sizeof(e.value));
		int rc = zipc_producer_claim(st->replies, 1, timeout, &out);
		if (rc)
			return rc;
		memcpy(zipc_producer_slot(st->replies, out), &e, sizeof(e));
		rc = zipc_producer_publish(st->replies, out, 1);
		if (rc)
			return rc;
	}
	*done += (uint64_t)n;
	return zipc_consumer_release(c, (uint32_t)n);
}

static int waitset_pong(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct waitset_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);
	struct zipc_waitset_event ev[WS_EVENTS];
	uint64_t done = 0;
	(void)first;

	while (done < count) {
		int n = zipc_waitset_wait(st->ws, timeout, ev, WS_EVENTS);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			if (ev[i].status < 0)
				return ev[i].status;
			if (ev[i].user_data >= st->n)
				return -EPROTO;
			int rc = echo_ring(st, (unsigned)ev[i].user_data, timeout, &done);
			if (rc)
				return rc;
		}
	}
	struct zipc_waitset_stat ws;
	int rc = zipc_waitset_stat(st->ws, &ws);
	if (!rc)
		st->report->sleeps = ws.sleeps;
	return rc;
}

const char *perf_waitset_backend(void)
{
	static const char *name;
	if (!name) {
		zipc_waitset *ws;
		name = "unavailable";
		if (zipc_waitset_create(NULL, &ws) == 0) {
			name = zipc_waitset_backend(ws); /* a static string */
			zipc_waitset_close(ws);
		}
	}
	return name;
}

const struct perf_transport perf_waitset = {
	.name = "zipc-waitset",
	.about = "a process asleep in zipc_waitset_wait() on N rings; initiator spins on the reply",
	.scenarios = 1u << PERF_WAITSET,
	.setup = waitset_setup,
	.open = waitset_open,
	.close = waitset_close,
	.counters = waitset_counters,
	.teardown = waitset_teardown,
	.ping = waitset_ping,
	.pong = waitset_pong,
};
