/* SPDX-License-Identifier: MIT */
/*
 * tests/test_ring.c - sequenced rings in one process (zipc/ring.h): exact
 * capacity, wrap-around, batch claim/publish/peek/release, argument
 * checking, timed waits per wait strategy, end of stream, reserved and
 * late-joining consumers, multicast, send/recv, peer slots, read-only
 * handles, and the out-of-line _x copies of the hot path (which must behave
 * exactly as the inline ones: every scenario below runs through both).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_env.h"
#include "helpers/zt_msg.h"

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_RING(name, secs) Test(ring, name, .init = setup, .fini = teardown, .timeout = secs)

/* ------------------------------------------ the hot path, two ways */

struct ops {
	const char *name;
	int (*try_claim)(zipc_producer *, uint32_t, uint64_t *);
	int (*claim)(zipc_producer *, uint32_t, int64_t, uint64_t *);
	void *(*pslot)(const zipc_producer *, uint64_t);
	int (*publish)(zipc_producer *, uint64_t, uint32_t);
	int64_t (*try_peek)(zipc_consumer *, uint64_t *);
	int64_t (*wait)(zipc_consumer *, int64_t, uint64_t *);
	const void *(*cslot)(const zipc_consumer *, uint64_t);
	int (*release)(zipc_consumer *, uint32_t);
};

/* Wrappers so the inline versions really are inlined (into these). */
static int in_try_claim(zipc_producer *p, uint32_t n, uint64_t *s) { return zipc_producer_try_claim(p, n, s); }
static int in_claim(zipc_producer *p, uint32_t n, int64_t t, uint64_t *s) { return zipc_producer_claim(p, n, t, s); }
static void *in_pslot(const zipc_producer *p, uint64_t s) { return zipc_producer_slot(p, s); }
static int in_publish(zipc_producer *p, uint64_t s, uint32_t n) { return zipc_producer_publish(p, s, n); }
static int64_t in_try_peek(zipc_consumer *c, uint64_t *s) { return zipc_consumer_try_peek(c, s); }
static int64_t in_wait(zipc_consumer *c, int64_t t, uint64_t *s) { return zipc_consumer_wait(c, t, s); }
static const void *in_cslot(const zipc_consumer *c, uint64_t s) { return zipc_consumer_slot(c, s); }
static int in_release(zipc_consumer *c, uint32_t n) { return zipc_consumer_release(c, n); }

static const struct ops INLINE_OPS = {
	"inline", in_try_claim, in_claim, in_pslot, in_publish, in_try_peek, in_wait, in_cslot, in_release,
};
static const struct ops X_OPS = {
	"_x",
	zipc_producer_try_claim_x,
	zipc_producer_claim_x,
	zipc_producer_slot_x,
	zipc_producer_publish_x,
	zipc_consumer_try_peek_x,
	zipc_consumer_wait_x,
	zipc_consumer_slot_x,
	zipc_consumer_release_x,
};

/* Runs scenario @fn through the inline and the out-of-line hot path. */
#define BOTH_WAYS(fn, secs)                                  \
	TEST_RING(fn##_inline, secs) { fn(&INLINE_OPS); }    \
	TEST_RING(fn##_x, secs) { fn(&X_OPS); }

/* ------------------------------------------------------------ helpers */

struct rig {
	zipc_ring *ring;
	zipc_producer *p;
	zipc_consumer *c;
};

static zipc_ring *make_ring(const struct zipc_ring_opts *o)
{
	struct zipc_ring_opts a = *o;
	zipc_ring *r = NULL;
	a.region_flags |= ZIPC_REGION_ANONYMOUS;
	int rc = zipc_ring_create(NULL, &a, &r);
	cr_assert_eq(rc, 0, "zipc_ring_create(cap %llu, slot %u, flags %u): %d %s",
		     (unsigned long long)a.capacity, a.slot_size, a.flags, rc, zipc_strerror(rc));
	return r;
}

static zipc_producer *open_producer(zipc_ring *r, uint32_t strategy)
{
	struct zipc_wait_opts w = {.strategy = strategy};
	zipc_producer *p = NULL;
	int rc = zipc_producer_open(r, &w, &p);
	cr_assert_eq(rc, 0, "zipc_producer_open: %d %s", rc, zipc_strerror(rc));
	return p;
}

static zipc_consumer *open_consumer(zipc_ring *r, uint32_t strategy)
{
	struct zipc_wait_opts w = {.strategy = strategy};
	zipc_consumer *c = NULL;
	int rc = zipc_consumer_open(r, &w, &c);
	cr_assert_eq(rc, 0, "zipc_consumer_open: %d %s", rc, zipc_strerror(rc));
	return c;
}

static struct rig rig_open(uint64_t cap, uint32_t slot, uint32_t flags)
{
	struct zipc_ring_opts o = zt_ring_opts(cap, slot, ZIPC_WAIT_BLOCK);
	o.flags = flags;
	struct rig g = {.ring = make_ring(&o)};
	g.p = open_producer(g.ring, 0);
	g.c = open_consumer(g.ring, 0);
	return g;
}

static void rig_close(struct rig *g)
{
	cr_assert_eq(zipc_producer_close(g->p), 0);
	cr_assert_eq(zipc_consumer_close(g->c), 0);
	cr_assert_eq(zipc_ring_close(g->ring), 0);
}

/* Fill a whole slot with bytes derived from its sequence. */
static void fill_slot(void *slot, uint32_t size, uint64_t seq)
{
	unsigned char *b = slot;
	for (uint32_t i = 0; i < size; i++)
		b[i] = (unsigned char)(zt_mix64(seq) >> (8 * (i % 8))) ^ (unsigned char)i;
}

static int slot_ok(const void *slot, uint32_t size, uint64_t seq)
{
	const unsigned char *b = slot;
	for (uint32_t i = 0; i < size; i++)
		if (b[i] != ((unsigned char)(zt_mix64(seq) >> (8 * (i % 8))) ^ (unsigned char)i))
			return 0;
	return 1;
}

/* Claim and publish @n single slots with contents for their sequence. */
static void put(const struct ops *op, zipc_producer *p, uint32_t slot, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t s;
		int rc = op->try_claim(p, 1, &s);
		cr_assert_eq(rc, 0, "[%s] try_claim #%llu: %d %s", op->name, (unsigned long long)i, rc,
			     zipc_strerror(rc));
		fill_slot(op->pslot(p, s), slot, s);
		cr_assert_eq(op->publish(p, s, 1), 0);
	}
}

/* ---------------------------------------------- capacity and wrapping */

static void capacity_case(const struct ops *op, uint64_t cap, uint32_t flags)
{
	struct rig g = rig_open(cap, 16, flags);
	uint64_t s, first = 0;
	cr_assert_eq(zipc_ring_capacity(g.ring), cap, "capacity as asked");
	cr_assert_eq(zipc_ring_slot_size(g.ring), 16);

	for (uint64_t i = 0; i < cap; i++) {
		int rc = op->try_claim(g.p, 1, &s);
		cr_assert_eq(rc, 0, "[%s cap %llu flags %u] claim #%llu of %llu failed: %d %s", op->name,
			     (unsigned long long)cap, flags, (unsigned long long)i, (unsigned long long)cap, rc,
			     zipc_strerror(rc));
		if (i == 0)
			first = s;
		cr_assert_eq(s, first + i, "sequences are consecutive");
		fill_slot(op->pslot(g.p, s), 16, s);
		cr_assert_eq(op->publish(g.p, s, 1), 0);
	}
	cr_assert_eq(op->try_claim(g.p, 1, &s), -EAGAIN, "[%s cap %llu] claim #%llu must be back-pressure",
		     op->name, (unsigned long long)cap, (unsigned long long)cap);
	cr_assert_eq(op->claim(g.p, 1, 0, &s), -EAGAIN, "claim with timeout 0 tries once");

	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(g.ring, &st, NULL, 0), 0);
	cr_assert_eq(st.capacity, cap);
	cr_assert_eq(st.fill, cap, "stat.fill of a full ring");
	cr_assert_eq(st.published - st.min_consumer, cap);

	uint64_t rs;
	int64_t n = op->try_peek(g.c, &rs);
	cr_assert_eq(n, (int64_t)cap, "a full ring holds exactly capacity readable slots");
	cr_assert_eq(rs, first);
	for (uint64_t i = 0; i < cap; i++)
		cr_assert(slot_ok(op->cslot(g.c, rs + i), 16, rs + i), "slot %llu overwritten",
			  (unsigned long long)i);

	/* releasing one slot frees exactly one */
	cr_assert_eq(op->release(g.c, 1), 0);
	cr_assert_eq(op->try_claim(g.p, 1, &s), 0, "one release frees one slot");
	cr_assert_eq(s, first + cap);
	cr_assert_eq(op->pslot(g.p, s), op->pslot(g.p, first), "seq and seq+capacity share a slot");
	fill_slot(op->pslot(g.p, s), 16, s);
	cr_assert_eq(op->publish(g.p, s, 1), 0);
	cr_assert_eq(op->try_claim(g.p, 1, &s), -EAGAIN);

	/* drain (a peek may report fewer than published: read until all are
	 * in), then one claim of the whole capacity succeeds and no more */
	for (uint64_t got = 0; got < cap;) {
		n = op->try_peek(g.c, &rs);
		cr_assert(n > 0 && (uint64_t)n <= cap - got, "peek %lld with %llu left", (long long)n,
			  (unsigned long long)(cap - got));
		cr_assert_eq(rs, first + 1 + got);
		for (int64_t i = 0; i < n; i++)
			cr_assert(slot_ok(op->cslot(g.c, rs + (uint64_t)i), 16, rs + (uint64_t)i));
		cr_assert_eq(op->release(g.c, (uint32_t)n), 0);
		got += (uint64_t)n;
	}
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "drained");
	cr_assert_eq(op->try_claim(g.p, (uint32_t)cap, &s), 0, "claim of exactly capacity slots on an empty ring");
	cr_assert_eq(op->try_claim(g.p, 1, &s), -EAGAIN);
	rig_close(&g);
}

/* A ring holds exactly the capacity asked: `capacity` claims succeed, the next is -EAGAIN, one release frees one slot (SP and MP). */
static void capacity_is_exact(const struct ops *op)
{
	static const uint64_t caps[] = {2, 4, 64, 1024};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		capacity_case(op, caps[i], 0);
		capacity_case(op, caps[i], ZIPC_RING_MULTI_PRODUCER);
	}
}
BOTH_WAYS(capacity_is_exact, 20)

static void wrap_case(const struct ops *op, uint32_t flags)
{
	const uint64_t cap = 8, laps = 2000;
	const uint32_t slot = 20; /* not a multiple of 8: the stride rounds up */
	struct rig g = rig_open(cap, slot, flags);
	const unsigned char *lo = zipc_region_area(zipc_ring_region(g.ring));
	const unsigned char *hi = lo + zipc_region_area_size(zipc_ring_region(g.ring));
	uint64_t next_w = 0, next_r = 0, step = 0;

	while (next_r < cap * laps) {
		/* write a varying batch (1..cap), read a different varying batch */
		uint32_t nw = (uint32_t)(zt_mix64(step) % cap) + 1;
		uint64_t s;
		int rc = op->try_claim(g.p, nw, &s);
		if (rc == 0) {
			cr_assert_eq(s, next_w, "claimed sequence");
			for (uint32_t i = 0; i < nw; i++) {
				unsigned char *sl = op->pslot(g.p, s + i);
				cr_assert(sl >= lo && sl + slot <= hi, "slot outside the region");
				fill_slot(sl, slot, s + i);
			}
			cr_assert_eq(op->publish(g.p, s, nw), 0);
			next_w += nw;
		} else {
			cr_assert_eq(rc, -EAGAIN, "[%s] claim of %u at %llu: %d", op->name, nw,
				     (unsigned long long)next_w, rc);
			cr_assert_gt(next_w + nw - next_r, cap, "-EAGAIN with room for %u", nw);
		}
		uint64_t rs;
		int64_t avail = op->try_peek(g.c, &rs);
		if (avail == -EAGAIN) {
			cr_assert_eq(next_w, next_r, "-EAGAIN with published slots unread");
		} else {
			cr_assert(avail > 0 && (uint64_t)avail <= next_w - next_r,
				  "peek %lld with %llu published unread", (long long)avail,
				  (unsigned long long)(next_w - next_r));
			cr_assert_eq(rs, next_r);
			uint32_t nr = (uint32_t)(zt_mix64(step ^ 0x55) % (uint64_t)avail) + 1;
			for (uint32_t i = 0; i < nr; i++)
				cr_assert(slot_ok(op->cslot(g.c, rs + i), slot, rs + i),
					  "[%s flags %u] seq %llu corrupted (lap %llu)", op->name, flags,
					  (unsigned long long)(rs + i), (unsigned long long)((rs + i) / cap));
			cr_assert_eq(op->release(g.c, nr), 0);
			next_r += nr;
		}
		step++;
	}
	rig_close(&g);
}

/* Thousands of laps around a small ring with varying batch sizes: every slot read back intact, sequences never skip (SP and MP). */
static void wraps_over_many_laps(const struct ops *op)
{
	wrap_case(op, 0);
	wrap_case(op, ZIPC_RING_MULTI_PRODUCER);
}
BOTH_WAYS(wraps_over_many_laps, 30)

/* ---------------------------------------------------------- batches */

/* Batch claim / publish / peek / release: a batch becomes visible at once on publish, a partial release leaves the rest readable in place. */
static void batch_claim_publish_peek_release(const struct ops *op)
{
	struct rig g = rig_open(16, 8, 0);
	uint64_t s, rs;

	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "empty ring");
	cr_assert_eq(op->try_claim(g.p, 5, &s), 0);
	for (uint32_t i = 0; i < 5; i++)
		*(uint64_t *)op->pslot(g.p, s + i) = 100 + i;
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "claimed but unpublished slots are invisible");
	cr_assert_eq(op->publish(g.p, s, 5), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), 5);
	cr_assert_eq(rs, s);
	cr_assert_eq(*(const uint64_t *)op->cslot(g.c, rs + 4), 104);
	cr_assert_eq(op->release(g.c, 2), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), 3, "partial release");
	cr_assert_eq(rs, s + 2);
	cr_assert_eq(*(const uint64_t *)op->cslot(g.c, rs), 102);

	cr_assert_eq(op->release(g.c, 3), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "all five read");

	/* a claim published in two parts, in order, is read in order */
	cr_assert_eq(op->try_claim(g.p, 4, &s), 0);
	for (uint32_t i = 0; i < 4; i++)
		*(uint64_t *)op->pslot(g.p, s + i) = 200 + i;
	cr_assert_eq(op->publish(g.p, s, 1), 0);
	cr_assert_eq(op->wait(g.c, ZIPC_SEC, &rs), 1, "only the published part");
	cr_assert_eq(*(const uint64_t *)op->cslot(g.c, rs), 200);
	cr_assert_eq(op->release(g.c, 1), 0);
	cr_assert_eq(op->publish(g.p, s + 1, 3), 0);
	cr_assert_eq(op->wait(g.c, ZIPC_SEC, &rs), 3, "the rest, in one batch");
	cr_assert_eq(rs, s + 1);
	cr_assert_eq(*(const uint64_t *)op->cslot(g.c, rs + 2), 203);
	cr_assert_eq(op->release(g.c, 3), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN);
	rig_close(&g);
}
BOTH_WAYS(batch_claim_publish_peek_release, 10)

/* -------------------------------------------------------- bad input */

/* Claims of 0 or more than capacity slots are -EINVAL (claim, try_claim; SP and MP), and so is publishing 0 slots. */
static void bad_counts_are_einval(const struct ops *op)
{
	for (int mp = 0; mp < 2; mp++) {
		struct rig g = rig_open(8, 8, mp ? ZIPC_RING_MULTI_PRODUCER : 0);
		uint64_t s;
		cr_assert_eq(op->try_claim(g.p, 0, &s), -EINVAL, "[%s mp %d] n = 0", op->name, mp);
		cr_assert_eq(op->try_claim(g.p, 9, &s), -EINVAL, "[%s mp %d] n > capacity", op->name, mp);
		cr_assert_eq(op->try_claim(g.p, UINT32_MAX, &s), -EINVAL);
		cr_assert_eq(op->claim(g.p, 0, ZIPC_MSEC, &s), -EINVAL);
		cr_assert_eq(op->claim(g.p, 9, ZIPC_MSEC, &s), -EINVAL);
		cr_assert_eq(op->try_claim(g.p, 2, &s), 0, "the ring still works");
		cr_assert_eq(op->publish(g.p, s, 0), -EINVAL, "publish 0 slots");
		cr_assert_eq(op->publish(g.p, s, 2), 0);
		rig_close(&g);
	}
}
BOTH_WAYS(bad_counts_are_einval, 10)

/* SP: publishing out of claim order, or more than was claimed, is -EINVAL and publishes nothing. */
static void sp_publish_out_of_order_is_einval(const struct ops *op)
{
	struct rig g = rig_open(8, 8, 0);
	uint64_t s, rs;
	cr_assert_eq(op->try_claim(g.p, 2, &s), 0);
	cr_assert_eq(op->publish(g.p, s + 1, 1), -EINVAL, "second slot before the first");
	cr_assert_eq(op->publish(g.p, s, 3), -EINVAL, "more than claimed");
	cr_assert_eq(op->publish(g.p, s + 2, 1), -EINVAL, "never claimed");
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "a rejected publish made nothing visible");
	cr_assert_eq(op->publish(g.p, s, 2), 0);
	cr_assert_eq(op->publish(g.p, s, 2), -EINVAL, "publishing twice");
	cr_assert_eq(op->try_peek(g.c, &rs), 2);
	rig_close(&g);
}
BOTH_WAYS(sp_publish_out_of_order_is_einval, 10)

/* MP: slots may be published in any order, but consumers see only the contiguous published prefix. */
static void mp_publish_any_order(const struct ops *op)
{
	struct rig g = rig_open(8, 8, ZIPC_RING_MULTI_PRODUCER);
	uint64_t s, rs;
	cr_assert_eq(op->try_claim(g.p, 3, &s), 0);
	cr_assert_eq(op->publish(g.p, s + 2, 1), 0);
	cr_assert_eq(op->publish(g.p, s + 1, 1), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "slot s is not published: nothing readable");
	cr_assert_eq(op->publish(g.p, s, 1), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), 3, "now the three are readable together");
	cr_assert_eq(rs, s);
	rig_close(&g);
}
BOTH_WAYS(mp_publish_any_order, 10)

/* Releasing more slots than the last peek returned is -EINVAL and releases nothing. */
static void release_more_than_peeked_is_einval(const struct ops *op)
{
	struct rig g = rig_open(8, 8, 0);
	uint64_t rs;
	cr_assert_eq(op->release(g.c, 1), -EINVAL, "nothing peeked yet");
	put(op, g.p, 8, 3);
	cr_assert_eq(op->try_peek(g.c, &rs), 3);
	cr_assert_eq(op->release(g.c, 4), -EINVAL);
	cr_assert_eq(op->try_peek(g.c, &rs), 3, "the failed release freed nothing");
	cr_assert_eq(op->release(g.c, 3), 0);
	cr_assert_eq(op->release(g.c, 1), -EINVAL, "all released");
	rig_close(&g);
}
BOTH_WAYS(release_more_than_peeked_is_einval, 10)

/* Ring creation rejects bad geometry and peer counts with -EINVAL. */
TEST_RING(create_rejects_bad_options, 10)
{
	struct {
		const char *what;
		uint64_t cap;
		uint32_t slot, flags, maxp, maxc;
	} bad[] = {
		{"capacity 3", 3, 8, 0, 0, 0},
		{"capacity 0", 0, 8, 0, 0, 0},
		{"capacity 1", 1, 8, 0, 0, 0},
		{"capacity 96", 96, 8, 0, 0, 0},
		{"capacity > max", ZIPC_RING_MAX_CAPACITY * 2, 8, 0, 0, 0},
		{"slot_size 0", 8, 0, 0, 0, 0},
		{"slot_size > max", 8, ZIPC_RING_MAX_SLOT_SIZE + 1, 0, 0, 0},
		{"unknown flag", 8, 8, 1u << 9, 0, 0},
		{"SP with 2 producers", 8, 8, 0, 2, 0},
		{"too many producers", 8, 8, ZIPC_RING_MULTI_PRODUCER, ZIPC_RING_MAX_PRODUCERS + 1, 0},
		{"too many consumers", 8, 8, 0, 0, ZIPC_RING_MAX_CONSUMERS + 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct zipc_ring_opts o = zt_ring_opts(bad[i].cap, bad[i].slot, 0);
		zipc_ring *r = NULL;
		o.flags = bad[i].flags;
		o.max_producers = bad[i].maxp;
		o.max_consumers = bad[i].maxc;
		o.region_flags = ZIPC_REGION_ANONYMOUS;
		int rc = zipc_ring_create(NULL, &o, &r);
		cr_assert_eq(rc, -EINVAL, "%s: got %d %s", bad[i].what, rc, zipc_strerror(rc));
		cr_assert_null(r);
	}
	struct zipc_ring_opts o = zt_ring_opts(8, 8, 0);
	zipc_ring *r = NULL;
	o.wait = 99;
	o.region_flags = ZIPC_REGION_ANONYMOUS;
	cr_assert_eq(zipc_ring_create(NULL, &o, &r), -EINVAL, "unknown wait strategy");
	o = zt_ring_opts(2, 1, 0); /* the smallest legal ring */
	o.region_flags = ZIPC_REGION_ANONYMOUS;
	cr_assert_eq(zipc_ring_create(NULL, &o, &r), 0);
	cr_assert_eq(zipc_ring_capacity(r), 2);
	cr_assert_eq(zipc_ring_slot_size(r), 1);
	zipc_ring_close(r);
}

/* ----------------------------------------------------- waiting and EOS */

/* try_peek on an empty ring is -EAGAIN; wait with timeout 0 tries once (-EAGAIN, no waiting). */
static void empty_is_eagain(const struct ops *op)
{
	struct rig g = rig_open(8, 8, 0);
	uint64_t rs;
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN);
	cr_assert_eq(op->wait(g.c, 0, &rs), -EAGAIN);
	put(op, g.p, 8, 1);
	cr_assert_eq(op->wait(g.c, 0, &rs), 1);
	cr_assert_eq(op->release(g.c, 1), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), -EAGAIN, "empty again");
	rig_close(&g);
}
BOTH_WAYS(empty_is_eagain, 10)

static void timed_waits_case(const struct ops *op, uint32_t strategy)
{
	struct zipc_ring_opts o = zt_ring_opts(4, 8, strategy);
	zipc_ring *r = make_ring(&o);
	zipc_producer *p = open_producer(r, strategy);
	zipc_consumer *c = open_consumer(r, strategy);
	uint64_t s;
	const int64_t tmo = 20 * ZIPC_MSEC, max = 2 * ZIPC_SEC;

	int64_t t0 = zipc_now_ns();
	int64_t n = op->wait(c, tmo, &s);
	int64_t dt = zipc_now_ns() - t0;
	cr_assert_eq(n, -ETIMEDOUT, "[%s %s] wait on an empty ring: %lld", op->name, zt_wait_name(strategy),
		     (long long)n);
	cr_assert_geq(dt, tmo, "[%s] wait returned after %lld ns, before its timeout", zt_wait_name(strategy),
		      (long long)dt);
	cr_assert_lt(dt, max, "[%s] 20 ms wait took %lld ns", zt_wait_name(strategy), (long long)dt);

	put(op, p, 8, 4);
	t0 = zipc_now_ns();
	int rc = op->claim(p, 1, tmo, &s);
	dt = zipc_now_ns() - t0;
	cr_assert_eq(rc, -ETIMEDOUT, "[%s %s] claim on a full ring: %d", op->name, zt_wait_name(strategy), rc);
	cr_assert_geq(dt, tmo, "[%s] claim returned after %lld ns", zt_wait_name(strategy), (long long)dt);
	cr_assert_lt(dt, max, "[%s] 20 ms claim took %lld ns", zt_wait_name(strategy), (long long)dt);

	struct zipc_ring_peer_stat ps[8];
	int np = zipc_ring_stat(r, &(struct zipc_ring_stat){0}, ps, 8);
	cr_assert_geq(np, 2);
	for (int i = 0; i < np && i < 8; i++) {
		cr_assert_geq(ps[i].timeouts, 1, "%s %u counted no timeout", ps[i].is_consumer ? "consumer" : "producer",
			      ps[i].index);
		cr_assert_eq(ps[i].wait, strategy, "the end's wait strategy");
	}
	zipc_producer_close(p);
	zipc_consumer_close(c);
	zipc_ring_close(r);
}

/* Timed waits (consumer wait on empty, producer claim on full) return -ETIMEDOUT no earlier than the timeout and within a wide bound, for spin, yield and block. */
static void timed_waits_time_out(const struct ops *op)
{
	timed_waits_case(op, ZIPC_WAIT_SPIN);
	timed_waits_case(op, ZIPC_WAIT_YIELD);
	timed_waits_case(op, ZIPC_WAIT_BLOCK);
}
BOTH_WAYS(timed_waits_time_out, 20)

/* End of stream: after the producer closes, the consumer reads everything published, then try_peek and wait return -EPIPE at once; unpublished claims are dropped. */
static void producer_close_is_end_of_stream(const struct ops *op)
{
	struct rig g = rig_open(8, 8, 0);
	uint64_t s, rs;
	put(op, g.p, 8, 5);
	cr_assert_eq(op->try_claim(g.p, 2, &s), 0); /* claimed, never published */
	cr_assert_eq(zipc_producer_close(g.p), 0);
	g.p = NULL;

	cr_assert_eq(op->wait(g.c, ZIPC_SEC, &rs), 5, "all published messages before EOS");
	for (uint64_t i = 0; i < 5; i++)
		cr_assert(slot_ok(op->cslot(g.c, rs + i), 8, rs + i));
	cr_assert_eq(op->release(g.c, 5), 0);
	cr_assert_eq(op->try_peek(g.c, &rs), -EPIPE);
	int64_t t0 = zipc_now_ns();
	cr_assert_eq(op->wait(g.c, 10 * ZIPC_SEC, &rs), -EPIPE);
	cr_assert_lt(zipc_now_ns() - t0, 2 * ZIPC_SEC, "-EPIPE must not wait for the timeout");
	cr_assert_eq(op->try_peek(g.c, &rs), -EPIPE, "EOS is sticky");
	rig_close(&g);
}
BOTH_WAYS(producer_close_is_end_of_stream, 10)

/* With several producers, end of stream comes only when the last one closes. */
TEST_RING(eos_waits_for_every_producer, 10)
{
	struct zipc_ring_opts o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	o.flags = ZIPC_RING_MULTI_PRODUCER;
	zipc_ring *r = make_ring(&o);
	zipc_producer *p1 = open_producer(r, 0), *p2 = open_producer(r, 0);
	zipc_consumer *c = open_consumer(r, 0);
	uint64_t rs;
	put(&INLINE_OPS, p1, 8, 2);
	cr_assert_eq(zipc_producer_close(p1), 0);
	cr_assert_eq(zipc_consumer_wait(c, ZIPC_SEC, &rs), 2);
	cr_assert_eq(zipc_consumer_release(c, 2), 0);
	cr_assert_eq(zipc_consumer_try_peek(c, &rs), -EAGAIN, "one producer still open: not EOS");
	put(&INLINE_OPS, p2, 8, 1);
	cr_assert_eq(zipc_producer_close(p2), 0);
	cr_assert_eq(zipc_consumer_wait(c, ZIPC_SEC, &rs), 1);
	cr_assert_eq(zipc_consumer_release(c, 1), 0);
	cr_assert_eq(zipc_consumer_try_peek(c, &rs), -EPIPE);
	zipc_consumer_close(c);
	zipc_ring_close(r);
}

/* ------------------------------------------------- consumers and producers */

/* The reserved consumer slot gates the producer from sequence 0: messages published before the consumer opens are all delivered to it. */
TEST_RING(reserved_consumer_gets_messages_published_before_it_opened, 10)
{
	struct zipc_ring_opts o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	zipc_ring *r = make_ring(&o);
	zipc_producer *p = open_producer(r, 0);
	uint64_t s, rs;

	put(&INLINE_OPS, p, 8, 8);
	cr_assert_eq(zipc_producer_try_claim(p, 1, &s), -EAGAIN, "the reserved slot gates before any consumer");
	struct zipc_ring_stat st;
	struct zipc_ring_peer_stat ps[4];
	int np = zipc_ring_stat(r, &st, ps, 4);
	cr_assert_eq(np, 2, "one producer and one reserved consumer slot");
	cr_assert_eq(st.consumers_active, 0, "reserved slots are not counted as attached");
	int reserved = 0;
	for (int i = 0; i < np; i++)
		reserved += ps[i].is_consumer && ps[i].state == ZIPC_PEER_RESERVED;
	cr_assert_eq(reserved, 1);

	zipc_consumer *c = open_consumer(r, 0);
	cr_assert_eq(zipc_consumer_try_peek(c, &rs), 8, "a late consumer on a reserved slot sees everything");
	cr_assert_eq(rs, 0);
	for (uint64_t i = 0; i < 8; i++)
		cr_assert(slot_ok(zipc_consumer_slot(c, i), 8, i));
	zipc_consumer_close(c);
	zipc_producer_close(p);
	zipc_ring_close(r);
}

/* Without reserved slots, nothing gates the producer and a late joiner starts at the current cursor. */
TEST_RING(late_joiner_without_reservation_starts_at_cursor, 10)
{
	struct zipc_ring_opts o = zt_ring_opts(4, 8, ZIPC_WAIT_BLOCK);
	o.reserved_consumers = ZIPC_RING_NO_RESERVE;
	zipc_ring *r = make_ring(&o);
	zipc_producer *p = open_producer(r, 0);
	uint64_t rs;

	put(&INLINE_OPS, p, 8, 10); /* more than capacity: nobody gates */
	zipc_consumer *c = open_consumer(r, 0);
	cr_assert_eq(zipc_consumer_try_peek(c, &rs), -EAGAIN, "a late joiner does not see the past");
	put(&INLINE_OPS, p, 8, 4);
	cr_assert_eq(zipc_consumer_try_peek(c, &rs), 4);
	cr_assert_eq(rs, 10);
	cr_assert(slot_ok(zipc_consumer_slot(c, 13), 8, 13));
	uint64_t s;
	cr_assert_eq(zipc_producer_try_claim(p, 1, &s), -EAGAIN, "now the consumer gates");
	zipc_consumer_close(c);
	cr_assert_eq(zipc_producer_try_claim(p, 1, &s), 0, "a closed consumer stops gating at once");
	zipc_producer_close(p);
	zipc_ring_close(r);
}

/* Multicast: each of two consumers receives every message; the producer is gated by the slower one. */
TEST_RING(multicast_every_consumer_gets_every_message, 10)
{
	struct zipc_ring_opts o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	o.reserved_consumers = 2;
	zipc_ring *r = make_ring(&o);
	zipc_producer *p = open_producer(r, 0);
	zipc_consumer *a = open_consumer(r, 0), *b = open_consumer(r, 0);
	uint64_t s, rs, got_a = 0, got_b = 0;

	for (uint64_t round = 0; round < 100; round++) {
		put(&INLINE_OPS, p, 8, 8);
		cr_assert_eq(zipc_producer_try_claim(p, 1, &s), -EAGAIN);
		int64_t n = zipc_consumer_try_peek(a, &rs);
		cr_assert_eq(n, 8);
		for (int64_t i = 0; i < n; i++)
			cr_assert(slot_ok(zipc_consumer_slot(a, rs + (uint64_t)i), 8, got_a + (uint64_t)i));
		cr_assert_eq(zipc_consumer_release(a, 8), 0);
		got_a += 8;
		cr_assert_eq(zipc_producer_try_claim(p, 1, &s), -EAGAIN, "b has not read yet: still gated");
		n = zipc_consumer_try_peek(b, &rs);
		cr_assert_eq(n, 8);
		for (int64_t i = 0; i < n; i++)
			cr_assert(slot_ok(zipc_consumer_slot(b, rs + (uint64_t)i), 8, got_b + (uint64_t)i));
		cr_assert_eq(zipc_consumer_release(b, 8), 0);
		got_b += 8;
	}
	cr_assert_eq(got_a, 800);
	cr_assert_eq(got_b, 800);
	zipc_consumer_close(a);
	zipc_consumer_close(b);
	zipc_producer_close(p);
	zipc_ring_close(r);
}

/* zipc_producer_send / zipc_consumer_recv round trip; oversized send and undersized buffer are -EMSGSIZE and consume nothing. */
TEST_RING(send_recv_round_trip_and_emsgsize, 10)
{
	struct rig g = rig_open(4, 24, 0);
	char big[25], buf[64];
	memset(big, 'x', sizeof big);
	cr_assert_eq(zipc_producer_send(g.p, big, sizeof big, 0), -EMSGSIZE);
	cr_assert_eq(zipc_producer_send(g.p, "hello", 6, 0), 0);
	cr_assert_eq(zipc_producer_send(g.p, big, 24, 0), 0, "exactly the slot size fits");
	cr_assert_eq(zipc_consumer_recv(g.c, buf, 23, 0), -EMSGSIZE, "buffer smaller than a slot");
	memset(buf, 0, sizeof buf);
	cr_assert_eq(zipc_consumer_recv(g.c, buf, sizeof buf, ZIPC_SEC), 24, "recv returns the slot size");
	cr_assert_str_eq(buf, "hello", "the message survived the failed recv");
	cr_assert_eq(zipc_consumer_recv(g.c, buf, 24, ZIPC_SEC), 24);
	cr_assert_eq(memcmp(buf, big, 24), 0);
	cr_assert_eq(zipc_consumer_recv(g.c, buf, sizeof buf, 0), -EAGAIN);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(zipc_producer_send(g.p, &i, sizeof i, 0), 0);
	cr_assert_eq(zipc_producer_send(g.p, "x", 1, 0), -EAGAIN, "send on a full ring, timeout 0");
	cr_assert_eq(zipc_producer_send(g.p, "x", 1, 10 * ZIPC_MSEC), -ETIMEDOUT);
	for (int i = 0; i < 4; i++) {
		int v;
		cr_assert_eq(zipc_consumer_recv(g.c, buf, sizeof buf, 0), 24);
		memcpy(&v, buf, sizeof v);
		cr_assert_eq(v, i);
	}
	rig_close(&g);
}

/* A single-producer ring takes one live producer: a second open is -EBUSY until the first closes; consumers beyond max_consumers are -EBUSY too. */
TEST_RING(peer_slots_are_limited, 10)
{
	struct zipc_ring_opts o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	o.max_consumers = 2;
	zipc_ring *r = make_ring(&o);
	zipc_producer *p = open_producer(r, 0), *p2 = NULL;
	zipc_consumer *c1 = open_consumer(r, 0), *c2 = open_consumer(r, 0), *c3 = NULL;

	cr_assert_eq(zipc_producer_open(r, NULL, &p2), -EBUSY, "second SP producer");
	cr_assert_null(p2);
	cr_assert_eq(zipc_consumer_open(r, NULL, &c3), -EBUSY, "third of two consumers");
	cr_assert_eq(zipc_ring_close(r), -EBUSY, "ends still open");

	cr_assert_eq(zipc_producer_close(p), 0);
	p = open_producer(r, 0);
	cr_assert_eq(zipc_consumer_close(c2), 0);
	c2 = open_consumer(r, 0);

	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.producers_active, 1);
	cr_assert_eq(st.consumers_active, 2);
	cr_assert_eq(st.max_consumers, 2);
	cr_assert_eq(st.max_producers, 1);
	zipc_producer_close(p);
	zipc_consumer_close(c1);
	zipc_consumer_close(c2);
	cr_assert_eq(zipc_ring_close(r), 0);

	/* MP: up to max_producers */
	o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	o.flags = ZIPC_RING_MULTI_PRODUCER;
	o.max_producers = 3;
	r = make_ring(&o);
	zipc_producer *mp[3];
	for (int i = 0; i < 3; i++)
		mp[i] = open_producer(r, 0);
	cr_assert_eq(zipc_producer_open(r, NULL, &p2), -EBUSY, "fourth of three MP producers");
	for (int i = 0; i < 3; i++)
		zipc_producer_close(mp[i]);
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* Attaching to a named ring again never wipes it: messages and cursors written through the first handle are read through the second. */
TEST_RING(reattach_keeps_ring_contents, 10)
{
	char name[64];
	struct zipc_ring_opts o = zt_ring_opts(16, 16, ZIPC_WAIT_BLOCK);
	zipc_ring *r = NULL, *a = NULL;
	uint64_t rs;

	int rc = zipc_ring_create(zt_name(name, sizeof name, "ringkeep"), &o, &r);
	cr_assert_eq(rc, 0, "named ring: %d %s", rc, zipc_strerror(rc));
	zipc_producer *p = open_producer(r, 0);
	put(&INLINE_OPS, p, 16, 5);
	cr_assert_eq(zipc_ring_attach(name, 0, &a), 0);
	cr_assert_eq(zipc_ring_capacity(a), 16);
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(a, &st, NULL, 0), 0);
	cr_assert_eq(st.published, 5, "cursor survives the attach");
	cr_assert_eq(st.producers_active, 1);
	zipc_consumer *c = open_consumer(a, 0);
	cr_assert_eq(zipc_consumer_try_peek(c, &rs), 5);
	for (uint64_t i = 0; i < 5; i++)
		cr_assert(slot_ok(zipc_consumer_slot(c, rs + i), 16, i), "message %llu lost on re-attach",
			  (unsigned long long)i);
	zipc_consumer_close(c);
	zipc_producer_close(p);
	zipc_ring_close(a);
	zipc_ring_close(r);
}

/* A read-only ring handle can stat but not open ends nor reap (-EPERM). */
TEST_RING(read_only_handle_cannot_open_ends, 10)
{
	char name[64];
	struct zipc_ring_opts o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	zipc_ring *r = NULL, *ro = NULL;
	zipc_producer *p = NULL;
	zipc_consumer *c = NULL;

	cr_assert_eq(zipc_ring_create(zt_name(name, sizeof name, "ro"), &o, &r), 0);
	cr_assert_eq(zipc_ring_attach(name, ZIPC_ATTACH_RDONLY, &ro), 0);
	cr_assert_eq(zipc_producer_open(ro, NULL, &p), -EPERM);
	cr_assert_eq(zipc_consumer_open(ro, NULL, &c), -EPERM);
	cr_assert_eq(zipc_ring_reap(ro), -EPERM);
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ro, &st, NULL, 0), 0);
	cr_assert_eq(st.capacity, 8);
	cr_assert_eq(zipc_ring_reap(r), 0, "nothing dead to reap");
	zipc_ring_close(ro);
	zipc_ring_close(r);
}

/* zipc_producer_flush() waits until every gating consumer has released what was published: -ETIMEDOUT while unread, 0 once read. */
TEST_RING(flush_waits_until_consumers_released, 10)
{
	struct rig g = rig_open(8, 8, 0);
	uint64_t rs;
	cr_assert_eq(zipc_producer_flush(g.p, 0), 0, "nothing published: flushed");
	put(&INLINE_OPS, g.p, 8, 3);
	int64_t t0 = zipc_now_ns();
	cr_assert_eq(zipc_producer_flush(g.p, 20 * ZIPC_MSEC), -ETIMEDOUT);
	int64_t dt = zipc_now_ns() - t0;
	cr_assert(dt >= 20 * ZIPC_MSEC && dt < 2 * ZIPC_SEC, "flush timeout after %lld ns", (long long)dt);
	cr_assert_eq(zipc_consumer_try_peek(g.c, &rs), 3);
	cr_assert_eq(zipc_consumer_release(g.c, 2), 0);
	cr_assert_eq(zipc_producer_flush(g.p, ZIPC_MSEC), -ETIMEDOUT, "one still unread");
	cr_assert_eq(zipc_consumer_release(g.c, 1), 0);
	cr_assert_eq(zipc_producer_flush(g.p, ZIPC_MSEC), 0);
	cr_assert_eq(zipc_producer_flush(g.p, 0), 0);
	rig_close(&g);
}
