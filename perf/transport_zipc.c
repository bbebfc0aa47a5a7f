/* perf/transport_zipc.c - zipc under test: SPSC rings between two processes across fork(). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf.h"

/*
 * Rings: pingpong and wake use ring[0] parent -> child and ring[1] child ->
 * parent; throughput uses ring[0] child (producer) -> parent (consumer).
 * The parent creates them anonymous (passed by descriptor only); the child
 * attaches its own handles from the inherited memfds with
 * zipc_ring_from_fd(), as an unrelated process would, and never touches
 * the parent's handles.
 */
struct zipc_state {
	zipc_ring *ring[2];  /* parent's (creator's) handles */
	zipc_ring *child[2]; /* child's own handles */
	unsigned nrings;
	zipc_producer *prod; /* this process's ends */
	zipc_consumer *cons;
	unsigned char *msg;  /* throughput: message composed / copied out here */
};

static int zipc_setup(struct perf_run *run)
{
	const struct perf_case *c = run->c;
	struct zipc_state *st = calloc(1, sizeof(*st));
	struct zipc_ring_opts o = {
		.wait = c->wait,
		.numa_node = -1,
		.group = -1,
		.region_flags = ZIPC_REGION_ANONYMOUS,
	};
	int rc = -ENOMEM;

	if (!st)
		return rc;
	run->priv = st;
	if (perf_kind_of(c->scenario) == PERF_KIND_RTT) {
		o.capacity = PERF_PINGPONG_SLOTS;
		o.slot_size = PERF_PINGPONG_BYTES;
		st->nrings = 2;
	} else {
		o.capacity = PERF_RING_SLOTS;
		o.slot_size = c->msg_bytes;
		st->nrings = 1;
		st->msg = calloc(1, c->msg_bytes);
		if (!st->msg)
			goto fail;
	}
	for (unsigned i = 0; i < st->nrings; i++) {
		rc = zipc_ring_create(NULL, &o, &st->ring[i]);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	for (unsigned i = 0; i < st->nrings; i++)
		zipc_ring_close(st->ring[i]);
	free(st->msg);
	free(st);
	run->priv = NULL;
	return rc;
}

/* Which ring this side produces into and which it consumes from. */
static void ends_of(const struct perf_run *run, enum perf_side side, int *prod, int *cons)
{
	if (perf_kind_of(run->c->scenario) == PERF_KIND_RTT) {
		*prod = side == PERF_PARENT ? 0 : 1;
		*cons = side == PERF_PARENT ? 1 : 0;
	} else {
		*prod = side == PERF_CHILD ? 0 : -1;
		*cons = side == PERF_PARENT ? 0 : -1;
	}
}

static void zipc_close(struct perf_run *run, enum perf_side side)
{
	struct zipc_state *st = run->priv;
	zipc_producer_close(st->prod);
	zipc_consumer_close(st->cons);
	st->prod = NULL;
	st->cons = NULL;
	if (side == PERF_CHILD) {
		for (unsigned i = 0; i < st->nrings; i++) {
			zipc_ring_close(st->child[i]);
			st->child[i] = NULL;
		}
	}
}

static int zipc_open(struct perf_run *run, enum perf_side side)
{
	struct zipc_state *st = run->priv;
	struct zipc_wait_opts w = { .strategy = run->c->wait, .spin_ns = perf_spin_ns(run) };
	zipc_ring **rings = st->ring;
	int prod, cons, rc = 0;

	if (side == PERF_CHILD) {
		for (unsigned i = 0; i < st->nrings && !rc; i++)
			rc = zipc_ring_from_fd(zipc_region_fd(zipc_ring_region(st->ring[i])), 0,
					       &st->child[i]);
		rings = st->child;
	}
	ends_of(run, side, &prod, &cons);
	if (!rc && prod >= 0)
		rc = zipc_producer_open(rings[prod], &w, &st->prod);
	if (!rc && cons >= 0)
		rc = zipc_consumer_open(rings[cons], &w, &st->cons);
	if (rc)
		zipc_close(run, side);
	return rc;
}

void perf_ring_waits(zipc_ring *r, int64_t *sleeps, int64_t *wakes)
{
	const struct zipc_ring_hdr *h = zipc_region_area(zipc_ring_region(r));
	const struct zipc_waitword *const words[] = { &h->cons_wait, &h->prod_wait, &h->stage_wait };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		*sleeps += (int64_t)atomic_load_explicit(&words[i]->sleeps, memory_order_relaxed);
		*wakes += (int64_t)atomic_load_explicit(&words[i]->wakes, memory_order_relaxed);
	}
}

/*
 * Sleeps and wake-ups of the whole run, both processes, both directions:
 * a publish or release issues FUTEX_WAKE only when the other side has
 * announced itself asleep.
 */
static void zipc_counters(struct perf_run *run)
{
	struct zipc_state *st = run->priv;
	run->sleeps = run->wakes = 0;
	for (unsigned i = 0; i < st->nrings; i++)
		perf_ring_waits(st->ring[i], &run->sleeps, &run->wakes);
}

static void zipc_teardown(struct perf_run *run)
{
	struct zipc_state *st = run->priv;
	zipc_close(run, PERF_PARENT);
	for (unsigned i = 0; i < st->nrings; i++) {
		int rc = zipc_ring_close(st->ring[i]);
		if (rc)
			fprintf(stderr, "zipc-perf: zipc_ring_close: %s\n", zipc_strerror(rc));
	}
	free(st->msg);
	free(st);
	run->priv = NULL;
}

/*
 * One round trip: claim, write and publish the value; wait for the echo,
 * read it, take the time, release.  The release is outside the timed span
 * (it is bookkeeping after the reply arrived) but inside the loop's cost.
 */
static int zipc_ping(struct perf_run *run, uint64_t first, uint64_t count, int64_t *samples)
{
	struct zipc_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v = first + i + 1, echo, seq;
		perf_gap(run);
		int64_t t0 = perf_now_ns();
		int rc = zipc_producer_claim(st->prod, 1, timeout, &seq);
		if (rc)
			return rc;
		memcpy(zipc_producer_slot(st->prod, seq), &v, sizeof(v));
		rc = zipc_producer_publish(st->prod, seq, 1);
		if (rc)
			return rc;
		int64_t n = zipc_consumer_wait(st->cons, timeout, &seq);
		if (n < 0)
			return (int)n;
		memcpy(&echo, zipc_consumer_slot(st->cons, seq), sizeof(echo));
		int64_t t1 = perf_now_ns();
		rc = zipc_consumer_release(st->cons, 1);
		if (rc)
			return rc;
		if (echo != v)
			run->errors++;
		if (samples)
			samples[i] = t1 - t0;
	}
	return 0;
}

/* Echo: the reply is published before the request slot is released, off the critical path. */
static int zipc_pong(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct zipc_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);
	(void)first;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v, seq;
		int64_t n = zipc_consumer_wait(st->cons, timeout, &seq);
		if (n < 0)
			return (int)n;
		memcpy(&v, zipc_consumer_slot(st->cons, seq), sizeof(v));
		int rc = zipc_producer_claim(st->prod, 1, timeout, &seq);
		if (rc)
			return rc;
		memcpy(zipc_producer_slot(st->prod, seq), &v, sizeof(v));
		rc = zipc_producer_publish(st->prod, seq, 1);
		if (!rc)
			rc = zipc_consumer_release(st->cons, 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* Claim up to batch slots per call (1: one message per call), copy each in, publish. */
static int zipc_send(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct zipc_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);
	const uint32_t size = run->c->msg_bytes, batch = run->c->batch;

	for (uint64_t sent = 0; sent < count;) {
		uint32_t n = count - sent < batch ? (uint32_t)(count - sent) : batch;
		uint64_t seq;
		int rc = zipc_producer_claim(st->prod, n, timeout, &seq);
		if (rc)
			return rc;
		for (uint32_t k = 0; k < n; k++) {
			perf_stamp(st->msg, first + sent + k);
			memcpy(zipc_producer_slot(st->prod, seq + k), st->msg, size);
		}
		rc = zipc_producer_publish(st->prod, seq, n);
		if (rc)
			return rc;
		sent += n;
	}
	return 0;
}

/* batch 1: one message per wait/release; batched: everything available per wait, one release. */
static int zipc_recv(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct zipc_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);
	const uint32_t size = run->c->msg_bytes, batch = run->c->batch;
	uint64_t expect = first;

	for (uint64_t got = 0; got < count;) {
		uint64_t seq;
		int64_t n = zipc_consumer_wait(st->cons, timeout, &seq);
		if (n < 0)
			return (int)n;
		if (batch == 1)
			n = 1;
		if ((uint64_t)n > count - got)
			n = (int64_t)(count - got);
		for (int64_t k = 0; k < n; k++) {
			memcpy(st->msg, zipc_consumer_slot(st->cons, seq + (uint64_t)k), size);
			perf_check(run, st->msg, &expect);
		}
		int rc = zipc_consumer_release(st->cons, (uint32_t)n);
		if (rc)
			return rc;
		got += (uint64_t)n;
	}
	return 0;
}

const struct perf_transport perf_zipc = {
	.name = "zipc",
	.about = "zipc SPSC rings (memfd region, fork + zipc_ring_from_fd), per --wait strategy",
	.scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT | 1u << PERF_WAKE,
	.has_wait = 1,
	.batches = 1,
	.setup = zipc_setup,
	.open = zipc_open,
	.close = zipc_close,
	.counters = zipc_counters,
	.teardown = zipc_teardown,
	.ping = zipc_ping,
	.pong = zipc_pong,
	.send = zipc_send,
	.recv = zipc_recv,
};
