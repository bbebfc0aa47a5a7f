/* perf/transport_record.c - zipc record rings under test: variable-length records, child to parent. */
#include <stdio.h>
#include <stdlib.h>

#include "perf.h"

/*
 * record_throughput: the child claims, fills and commits one record of
 * msg_bytes per message (the record API claims one record at a time); the
 * parent reads them one per call and releases each (batch 1), or takes up
 * to `batch` records per zipc_record_read_batch() and releases them with
 * one call.  The ring is sized for about PERF_RING_SLOTS records, like the
 * fixed-slot throughput ring.  The parent creates it anonymous; the child
 * attaches its own handle from the inherited memfd.
 */
struct record_state {
	zipc_record_ring *ring;      /* parent's (creator's) handle */
	zipc_record_ring *child;     /* child's own handle */
	zipc_record_producer *prod;  /* this process's end */
	zipc_record_consumer *cons;
	unsigned char *msg;          /* message composed / copied out here */
	struct zipc_record *recs;    /* batched reads land here */
};

/* The smallest power of two >= @v. */
static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

static void record_free(struct record_state *st)
{
	free(st->msg);
	free(st->recs);
	free(st);
}

static int record_setup(struct perf_run *run)
{
	const struct perf_case *c = run->c;
	struct record_state *st = calloc(1, sizeof(*st));
	uint64_t cap = pow2_at_least(PERF_RING_SLOTS * ZIPC_RECORD_SIZE(c->msg_bytes));
	struct zipc_record_opts o = {
		.capacity = cap < ZIPC_RECORD_MIN_CAPACITY ? ZIPC_RECORD_MIN_CAPACITY : cap,
		.max_record = c->msg_bytes,
		.wait = c->wait,
		.region_flags = ZIPC_REGION_ANONYMOUS,
		.numa_node = -1,
		.group = -1,
	};
	int rc = -ENOMEM;

	if (!st)
		return rc;
	st->msg = calloc(1, c->msg_bytes);
	st->recs = calloc(c->batch, sizeof(*st->recs));
	if (st->msg && st->recs)
		rc = zipc_record_ring_create(NULL, &o, &st->ring);
	if (rc) {
		record_free(st);
		return rc;
	}
	run->priv = st;
	return 0;
}

static void record_close(struct perf_run *run, enum perf_side side)
{
	struct record_state *st = run->priv;
	zipc_record_producer_close(st->prod);
	zipc_record_consumer_close(st->cons);
	st->prod = NULL;
	st->cons = NULL;
	if (side == PERF_CHILD) {
		zipc_record_ring_close(st->child);
		st->child = NULL;
	}
}

static int record_open(struct perf_run *run, enum perf_side side)
{
	struct record_state *st = run->priv;
	struct zipc_wait_opts w = { .strategy = run->c->wait, .spin_ns = perf_spin_ns(run) };
	int rc;

	if (side == PERF_PARENT)
		return zipc_record_consumer_open(st->ring, &w, &st->cons);
	rc = zipc_record_ring_from_fd(zipc_region_fd(zipc_record_ring_region(st->ring)), 0, &st->child);
	if (!rc)
		rc = zipc_record_producer_open(st->child, &w, &st->prod);
	if (rc)
		record_close(run, side);
	return rc;
}

static void record_teardown(struct perf_run *run)
{
	struct record_state *st = run->priv;
	record_close(run, PERF_PARENT);
	int rc = zipc_record_ring_close(st->ring);
	if (rc)
		fprintf(stderr, "zipc-perf: zipc_record_ring_close: %s\n", zipc_strerror(rc));
	record_free(st);
	run->priv = NULL;
}

/* One claim / copy / commit per message. */
static int record_send(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct record_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);
	const uint32_t size = run->c->msg_bytes;

	for (uint64_t i = 0; i < count; i++) {
		void *buf;
		int rc = zipc_record_claim(st->prod, size, timeout, &buf);
		if (rc)
			return rc;
		perf_stamp(st->msg, first + i);
		memcpy(buf, st->msg, size);
		rc = zipc_record_commit(st->prod, buf);
		if (rc)
			return rc;
	}
	return 0;
}

/* Copy one record out and check its length and sequence number. */
static void take(struct perf_run *run, struct record_state *st, const void *buf, size_t len,
		 uint64_t *expect)
{
	const uint32_t size = run->c->msg_bytes;
	if (len != size) {
		run->errors++;
		(*expect)++;
		return;
	}
	memcpy(st->msg, buf, size);
	perf_check(run, st->msg, expect);
}

/* batch 1: read + release per record; batched: read_batch of up to `batch`, one release. */
static int record_recv(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct record_state *st = run->priv;
	const int64_t timeout = perf_timeout_ns(run);
	const uint32_t batch = run->c->batch;
	uint64_t expect = first;

	for (uint64_t got = 0; got < count;) {
		int rc;
		if (batch == 1) {
			const void *buf;
			size_t len;
			rc = zipc_record_read(st->cons, timeout, &buf, &len);
			if (rc)
				return rc;
			take(run, st, buf, len, &expect);
			got++;
		} else {
			uint64_t want = count - got < batch ? count - got : batch;
			int n = zipc_record_read_batch(st->cons, timeout, st->recs, (unsigned)want);
			if (n < 0)
				return n;
			for (int k = 0; k < n; k++)
				take(run, st, st->recs[k].data, st->recs[k].len, &expect);
			got += (uint64_t)n;
		}
		rc = zipc_record_release(st->cons);
		if (rc)
			return rc;
	}
	return 0;
}

const struct perf_transport perf_record = {
	.name = "zipc-record",
	.about = "zipc record ring (variable-length records, claim/commit), per --wait strategy",
	.scenarios = 1u << PERF_RECORD_THROUGHPUT,
	.has_wait = 1,
	.batches = 1,
	.setup = record_setup,
	.open = record_open,
	.close = record_close,
	.teardown = record_teardown,
	.send = record_send,
	.recv = record_recv,
};
