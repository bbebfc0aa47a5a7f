/* SPDX-License-Identifier: MIT */
/*
 * tests/test_multiproc.c - rings between real processes: the test creates a
 * named ring and forks+execs zipc-peer (tests/peer/zipc_peer.c) once per
 * role.  Streams of self-checking messages (zt_msg.h) must arrive complete,
 * unduplicated and in order under every wait strategy and with several
 * producers; a peer killed with SIGKILL must surface as -EOWNERDEAD (and be
 * reapable) instead of a hang; what was published is delivered even when
 * the publisher exits at once; and in block mode no wake-up is lost.
 *
 * ZIPC_TEST_MESSAGES overrides the stream length (default 10,000,000), e.g.
 * for the sanitizer build.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_env.h"
#include "helpers/zt_msg.h"
#include "helpers/zt_proc.h"

#define STREAM_DEFAULT 10000000ull
#define PEER_MS 20000   /* a small task of a peer */
#define STREAM_MS 150000 /* a whole stream */
#define LONG_LIVENESS "10000000000" /* 10 s: a lost wake-up shows as a stall */
#define STALL_MS 2500 /* any single wait longer than this is a lost wake-up */

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_MP(name, secs) Test(multiproc, name, .init = setup, .fini = teardown, .timeout = secs)

/* ------------------------------------------------------------ helpers */

/* printf into a buffer that lives until the test ends */
static const char *fmt(const char *f, ...)
{
	static char bufs[64][48];
	static unsigned next;
	char *b = bufs[next++ % 64];
	va_list ap;
	va_start(ap, f);
	vsnprintf(b, sizeof bufs[0], f, ap);
	va_end(ap);
	return b;
}

static zipc_ring *create_ring(char *name, size_t cap, const char *tag, const struct zipc_ring_opts *o)
{
	zipc_ring *r = NULL;
	int rc = zipc_ring_create(zt_name(name, cap, tag), o, &r);
	cr_assert_eq(rc, 0, "zipc_ring_create(%s): %d %s", name, rc, zipc_strerror(rc));
	return r;
}

static void start(struct zt_peer *p, unsigned flags, const char *mode, const char *const *args)
{
	int rc = zt_peer_start(p, flags, NULL, 0, mode, args);
	cr_assert_eq(rc, 0, "cannot start zipc-peer %s: %s", mode, strerror(-rc));
}

static void wait_ready(struct zt_peer *p, const char *who)
{
	int rc = zt_peer_wait_ready(p, PEER_MS);
	cr_assert_eq(rc, 0, "%s never became ready (%s)", who, strerror(-rc));
}

/* Wait for a peer to end; assert its exit status; return its report's rc. */
static int64_t finish(struct zt_peer *p, const char *who, int timeout_ms, int want_exit)
{
	int rc = zt_peer_finish(p, timeout_ms);
	cr_assert_eq(rc, 0, "%s did not end within %d ms", who, timeout_ms);
	cr_assert_eq(zt_peer_exit(p), want_exit, "%s: exit %d, expected %d (report: %s)", who, zt_peer_exit(p),
		     want_exit, p->report);
	int64_t v;
	cr_assert_eq(zt_report_i64(p, "rc", &v), 0, "%s: no report", who);
	return v;
}

static uint64_t report_u64(const struct zt_peer *p, const char *key)
{
	uint64_t v;
	cr_assert_eq(zt_report_u64(p, key, &v), 0, "no %s in report \"%s\"", key, p->report);
	return v;
}

/* No claim/wait of the peer lasted long enough to be a lost wake-up. */
static void assert_no_stall(const struct zt_peer *p, const char *who)
{
	uint64_t ms = report_u64(p, "max_wait_ms");
	cr_assert_lt(ms, STALL_MS, "%s: a wait lasted %llu ms (a lost wake-up?)", who, (unsigned long long)ms);
}

/* CPU for a role, or -1 on a single-CPU machine */
static int cpu_for(int role)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 2 ? role % (int)n : -1;
}

static const char *cpu_arg(int role)
{
	return fmt("%d", cpu_for(role));
}

/* ---------------------------------------------------- one long stream */

static void stream(uint32_t strategy)
{
	char name[64];
	const uint64_t n = zt_messages(STREAM_DEFAULT);
	const char *w = zt_wait_name(strategy);
	struct zipc_ring_opts o = zt_ring_opts(4096, ZT_MSG_SIZE, strategy);
	zipc_ring *ring = create_ring(name, sizeof name, "stream", &o);
	struct zt_peer cons, prod;

	/* a lost wake-up stalls a wait until its deadline (5 s, as the
	 * liveness period is 10 s): with the blocking strategy the peers end
	 * at the first wait longer than STALL_MS (-ETIME).  Spin and yield
	 * never sleep, so nothing can be lost; a long wait there is only a
	 * loaded machine starving a pinned peer: their bound is the timeout. */
	int block = strategy == ZIPC_WAIT_BLOCK;
	const char *stall = fmt("%d", block ? STALL_MS : 30000);
	const char *timeout = block ? "5000" : "30000";
	const char *ca[] = {"--name", name, "--wait", w, "--expect", "EPIPE", "--cpu", cpu_arg(1),
			    "--liveness-ns", LONG_LIVENESS, "--timeout-ms", timeout, "--stall-ms", stall, NULL};
	const char *pa[] = {"--name", name, "--wait", w, "--count", fmt("%llu", (unsigned long long)n),
			    "--cpu", cpu_arg(0), "--liveness-ns", LONG_LIVENESS, "--timeout-ms", timeout,
			    "--stall-ms", stall, NULL};
	start(&cons, ZT_PEER_GO, "consume", ca);
	wait_ready(&cons, "consumer");
	start(&prod, ZT_PEER_GO, "produce", pa);
	wait_ready(&prod, "producer");

	int64_t t0 = zt_now_ms();
	cr_assert_eq(zt_peer_go(&cons), 0);
	cr_assert_eq(zt_peer_go(&prod), 0);
	cr_assert_eq(finish(&prod, "producer", STREAM_MS, ZT_EXIT_OK), 0);
	cr_assert_eq(report_u64(&prod, "count"), n);
	cr_assert_eq(finish(&cons, "consumer", STREAM_MS, ZT_EXIT_OK), -EPIPE);
	int64_t ms = zt_now_ms() - t0;
	cr_assert_eq(report_u64(&cons, "count"), n, "[%s] messages received", w);
	cr_assert_eq(report_u64(&cons, "sum"), zt_expected_sum(0, n), "[%s] checksum of the stream", w);
	if (block) {
		assert_no_stall(&prod, "producer");
		assert_no_stall(&cons, "consumer");
	}
	cr_log_info("stream %s: %llu messages in %lld ms (%.1f Mmsg/s)", w, (unsigned long long)n, (long long)ms,
		    ms ? (double)n / (double)ms / 1000.0 : 0.0);

	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ring, &st, NULL, 0), 0);
	cr_assert_eq(st.published, n);
	cr_assert_eq(st.producers_active, 0);
	cr_assert_eq(st.consumers_active, 0);
	cr_assert_eq(zipc_ring_close(ring), 0);
}

/* 10M sequence-numbered, checksummed messages between two processes, spin strategy: none lost, duplicated or reordered. */
TEST_MP(stream_10m_spin, 180) { stream(ZIPC_WAIT_SPIN); }
/* The same stream with the yield strategy. */
TEST_MP(stream_10m_yield, 180) { stream(ZIPC_WAIT_YIELD); }
/* The same stream with the futex-blocking strategy (a lost wake-up would time out a wait). */
TEST_MP(stream_10m_block, 180) { stream(ZIPC_WAIT_BLOCK); }

/* Four producer processes (10M messages in all) into one multi-producer ring: each producer's messages arrive in its order, none lost or duplicated, total exact. */
TEST_MP(four_producers_one_mp_ring, 180)
{
	char name[64];
	const unsigned np = 4;
	uint64_t per = zt_messages(STREAM_DEFAULT) / np;
	if (per == 0)
		per = 1;
	struct zipc_ring_opts o = zt_ring_opts(1024, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	o.flags = ZIPC_RING_MULTI_PRODUCER;
	zipc_ring *ring = create_ring(name, sizeof name, "mp", &o);
	struct zt_peer cons, prod[4];

	const char *ca[] = {"--name", name, "--producers", "4", "--expect", "EPIPE", NULL};
	start(&cons, 0, "consume", ca);
	wait_ready(&cons, "consumer");
	for (unsigned i = 0; i < np; i++) {
		/* batches of 1..4 slots: MP claims of several slots interleave */
		const char *pa[] = {"--name", name, "--producer-id", fmt("%u", i), "--batch", fmt("%u", i + 1),
				    "--count", fmt("%llu", (unsigned long long)per), NULL};
		start(&prod[i], ZT_PEER_GO, "produce", pa);
		wait_ready(&prod[i], "producer");
	}
	for (unsigned i = 0; i < np; i++)
		cr_assert_eq(zt_peer_go(&prod[i]), 0);
	for (unsigned i = 0; i < np; i++) {
		cr_assert_eq(finish(&prod[i], "producer", STREAM_MS, ZT_EXIT_OK), 0);
		cr_assert_eq(report_u64(&prod[i], "count"), per);
	}
	cr_assert_eq(finish(&cons, "consumer", STREAM_MS, ZT_EXIT_OK), -EPIPE,
		     "end of stream after the last of four producers closed");
	uint64_t sum = 0;
	for (unsigned i = 0; i < np; i++) {
		cr_assert_eq(report_u64(&cons, fmt("n%u", i)), per, "messages from producer %u", i);
		sum += zt_expected_sum(i, per);
	}
	cr_assert_eq(report_u64(&cons, "count"), np * per);
	cr_assert_eq(report_u64(&cons, "sum"), sum);
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ring, &st, NULL, 0), 0);
	cr_assert_eq(st.published, np * per);
	cr_assert_eq(st.producer_attaches, np);
	zipc_ring_close(ring);
}

/* ------------------------------------------------------ dead peers */

static void producer_killed(uint32_t strategy)
{
	char name[64];
	const char *w = zt_wait_name(strategy);
	struct zipc_ring_opts o = zt_ring_opts(1024, ZT_MSG_SIZE, strategy);
	zipc_ring *ring = create_ring(name, sizeof name, "pkill", &o);
	struct zt_peer cons, prod;

	const char *ca[] = {"--name", name, "--wait", w, "--expect", "EOWNERDEAD", "--timeout-ms", "20000", NULL};
	const char *pa[] = {"--name", name, "--wait", w, "--count", "0", "--ready-after", "20000", NULL};
	start(&cons, 0, "consume", ca);
	wait_ready(&cons, "consumer");
	start(&prod, 0, "produce", pa);
	wait_ready(&prod, "producer"); /* 20000 messages published, still going */
	cr_assert_eq(zt_peer_kill(&prod), 0);
	cr_assert_eq(zt_peer_exit(&prod), -SIGKILL);

	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ring, &st, NULL, 0), 0);
	uint64_t published = st.published;
	cr_assert_geq(published, 20000);

	int64_t t0 = zt_now_ms();
	cr_assert_eq(finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK), -EOWNERDEAD,
		     "[%s] the consumer must learn that the producer died", w);
	int64_t ms = zt_now_ms() - t0;
	uint64_t got = report_u64(&cons, "count");
	cr_assert_eq(got, published, "[%s] drained %llu of %llu published: published means delivered", w,
		     (unsigned long long)got, (unsigned long long)published);
	cr_assert_eq(report_u64(&cons, "sum"), zt_expected_sum(0, got));
	cr_assert_lt(ms, 10000, "[%s] -EOWNERDEAD took %lld ms", w, (long long)ms);
	zipc_ring_close(ring);
}

/* SIGKILL of the producer mid-stream (spin): the consumer in another process drains every published message, all valid, then gets -EOWNERDEAD. */
TEST_MP(producer_killed_mid_stream_spin, 30) { producer_killed(ZIPC_WAIT_SPIN); }
/* The same with the yield strategy. */
TEST_MP(producer_killed_mid_stream_yield, 30) { producer_killed(ZIPC_WAIT_YIELD); }
/* The same with the blocking strategy. */
TEST_MP(producer_killed_mid_stream_block, 30) { producer_killed(ZIPC_WAIT_BLOCK); }

static void consumer_killed(uint32_t strategy)
{
	char name[64];
	const char *w = zt_wait_name(strategy);
	const uint64_t cap = 64;
	struct zipc_ring_opts o = zt_ring_opts(cap, ZT_MSG_SIZE, strategy);
	zipc_ring *ring = create_ring(name, sizeof name, "ckill", &o);
	struct zt_peer cons, prod;

	/* the consumer opens and then never reads (it waits for a go that never comes) */
	const char *ca[] = {"--name", name, "--wait", w, NULL};
	const char *pa[] = {"--name", name, "--wait", w, "--count", "0", "--ready-on-full", "--timeout-ms", "-1",
			    "--expect", "EOWNERDEAD", NULL};
	start(&cons, ZT_PEER_GO, "consume", ca);
	wait_ready(&cons, "consumer");
	start(&prod, 0, "produce", pa);
	wait_ready(&prod, "producer"); /* the ring is full: the producer now waits, without deadline */

	int64_t t0 = zt_now_ms();
	cr_assert_eq(zt_peer_kill(&cons), 0);
	cr_assert_eq(finish(&prod, "producer", PEER_MS, ZT_EXIT_OK), -EOWNERDEAD,
		     "[%s] a producer blocked on a dead consumer must get -EOWNERDEAD", w);
	int64_t ms = zt_now_ms() - t0;
	cr_assert_lt(ms, 10000, "[%s] -EOWNERDEAD took %lld ms", w, (long long)ms);
	cr_assert_eq(report_u64(&prod, "count"), cap, "the producer filled exactly the capacity");

	/* the dead consumer still gates until reaped */
	zipc_producer *p = NULL;
	uint64_t seq;
	struct zipc_wait_opts wo = {.strategy = strategy};
	cr_assert_eq(zipc_producer_open(ring, &wo, &p), 0, "the SP producer slot is free again");
	cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), -EAGAIN, "gated by the dead consumer before reap");
	cr_assert_eq(zipc_producer_claim(p, 1, 5 * ZIPC_SEC, &seq), -EOWNERDEAD);

	struct zipc_ring_peer_stat ps[8];
	struct zipc_ring_stat st;
	int np = zipc_ring_stat(ring, &st, ps, 8);
	cr_assert_geq(np, 1);
	int dead = 0;
	for (int i = 0; i < np && i < 8; i++)
		dead += ps[i].is_consumer && ps[i].pid == cons.pid && !ps[i].alive;
	cr_assert_eq(dead, 1, "stat shows the dead consumer");

	cr_assert_eq(zipc_ring_reap(ring), 1, "reap detaches exactly the dead consumer");
	cr_assert_eq(zipc_ring_reap(ring), 0, "nothing left to reap");
	np = zipc_ring_stat(ring, &st, ps, 8);
	cr_assert_eq(st.consumers_active, 0);
	for (int i = 0; i < np && i < 8; i++)
		cr_assert(!(ps[i].is_consumer && ps[i].pid == cons.pid), "the dead consumer is still listed");
	cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), 0, "no longer gated once the dead consumer is reaped");
	cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	zipc_producer_close(p);
	zipc_ring_close(ring);
}

/* SIGKILL of the consumer while the producer waits on a full ring (spin): the producer gets -EOWNERDEAD in bounded time; zipc_ring_reap() then detaches the dead consumer. */
TEST_MP(consumer_killed_while_producer_blocked_spin, 40) { consumer_killed(ZIPC_WAIT_SPIN); }
/* The same with the yield strategy. */
TEST_MP(consumer_killed_while_producer_blocked_yield, 40) { consumer_killed(ZIPC_WAIT_YIELD); }
/* The same with the blocking strategy. */
TEST_MP(consumer_killed_while_producer_blocked_block, 40) { consumer_killed(ZIPC_WAIT_BLOCK); }

/* The only MP producer killed between claim and publish: the consumer reads what was published, is told of the lost record (-ENOMSG) and skips it, then gets -EOWNERDEAD. */
TEST_MP(mp_producer_killed_inside_claim, 30)
{
	char name[64];
	struct zipc_ring_opts o = zt_ring_opts(64, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	o.flags = ZIPC_RING_MULTI_PRODUCER;
	zipc_ring *ring = create_ring(name, sizeof name, "mpkill", &o);
	struct zt_peer cons, prod;

	const char *pa[] = {"--name", name, "--count", "0", "--stall-after", "10", NULL};
	const char *ca[] = {"--name", name, "--skip-lost", "--expect", "EOWNERDEAD", "--timeout-ms", "20000", NULL};
	start(&prod, 0, "produce", pa);
	wait_ready(&prod, "producer"); /* 10 published, an 11th claimed and never published */
	start(&cons, 0, "consume", ca);
	wait_ready(&cons, "consumer");
	cr_assert_eq(zt_peer_kill(&prod), 0);
	cr_assert_eq(finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK), -EOWNERDEAD);
	cr_assert_eq(report_u64(&cons, "count"), 10, "everything published before the hole");
	cr_assert_eq(report_u64(&cons, "lost"), 1, "the dead producer's claim is one lost record");
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ring, &st, NULL, 0), 0);
	cr_assert_eq(st.lost, 1);
	zipc_ring_close(ring);
}

/* An MP producer killed inside its claim does not wedge the ring: after the lost record is skipped, a second producer's stream (blocked behind the hole on a full ring) flows on, complete and in order. */
TEST_MP(mp_dead_claim_does_not_wedge_other_producer, 30)
{
	char name[64];
	const uint64_t m = 20000;
	struct zipc_ring_opts o = zt_ring_opts(64, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	o.flags = ZIPC_RING_MULTI_PRODUCER;
	zipc_ring *ring = create_ring(name, sizeof name, "mpwedge", &o);
	struct zt_peer cons, dead, live;

	const char *da[] = {"--name", name, "--producer-id", "0", "--count", "0", "--stall-after", "10", NULL};
	const char *ca[] = {"--name", name, "--producers", "2", "--skip-lost", "--count",
			    fmt("%llu", (unsigned long long)(10 + m)), "--timeout-ms", "20000", NULL};
	const char *la[] = {"--name", name, "--producer-id", "1", "--count", fmt("%llu", (unsigned long long)m),
			    "--ready-on-full", "--timeout-ms", "20000", NULL};
	start(&dead, 0, "produce", da);
	wait_ready(&dead, "stalling producer");
	start(&cons, 0, "consume", ca);
	wait_ready(&cons, "consumer");
	start(&live, 0, "produce", la);
	wait_ready(&live, "live producer"); /* the ring is full behind the hole */
	cr_assert_eq(zt_peer_kill(&dead), 0);

	cr_assert_eq(finish(&live, "live producer", PEER_MS, ZT_EXIT_OK), 0);
	cr_assert_eq(report_u64(&live, "count"), m);
	cr_assert_eq(finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK), 0);
	cr_assert_eq(report_u64(&cons, "n0"), 10, "the dead producer's published messages");
	cr_assert_eq(report_u64(&cons, "n1"), m, "the live producer's messages, all in order");
	cr_assert_eq(report_u64(&cons, "lost"), 1);
	cr_assert_eq(report_u64(&cons, "sum"), zt_expected_sum(0, 10) + zt_expected_sum(1, m));
	zipc_ring_close(ring);
}

/* -------------------------------------------- published means delivered */

static void publisher_exits_first(const char *end, const char *want)
{
	char name[64];
	const uint64_t n = 1000;
	struct zipc_ring_opts o = zt_ring_opts(1024, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	zipc_ring *ring = create_ring(name, sizeof name, "exit1st", &o);
	struct zt_peer cons, prod;

	const char *pa[] = {"--name", name, "--count", fmt("%llu", (unsigned long long)n), "--end", end, NULL};
	start(&prod, 0, "produce", pa);
	cr_assert_eq(finish(&prod, "producer", PEER_MS, ZT_EXIT_OK), 0);
	/* the publisher is gone (and reaped) before any consumer exists */
	const char *ca[] = {"--name", name, "--expect", want, NULL};
	start(&cons, 0, "consume", ca);
	finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK);
	cr_assert_eq(report_u64(&cons, "count"), n, "[end %s] every published message delivered", end);
	cr_assert_eq(report_u64(&cons, "sum"), zt_expected_sum(0, n));
	zipc_ring_close(ring);
}

/* A publisher that publishes and closes, then exits before the consumer even starts: the consumer gets every message, then -EPIPE. */
TEST_MP(publisher_closes_and_exits_before_consumer_starts, 30) { publisher_exits_first("close", "EPIPE"); }
/* A publisher that _exits right after its last publish (no close): the consumer gets every message, then -EOWNERDEAD. */
TEST_MP(publisher_dies_right_after_publish_before_consumer_starts, 30)
{
	publisher_exits_first("exit", "EOWNERDEAD");
}

static void publisher_exits_while_consumer_sleeps(const char *end, const char *want, const char *liveness)
{
	char name[64];
	const uint64_t n = 200000;
	struct zipc_ring_opts o = zt_ring_opts(256, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	zipc_ring *ring = create_ring(name, sizeof name, "exitlive", &o);
	struct zt_peer cons, prod;

	const char *ca[] = {"--name", name, "--expect", want, "--spin-ns", "1", "--liveness-ns", liveness,
			    "--timeout-ms", "5000", "--stall-ms", fmt("%d", STALL_MS), NULL};
	const char *pa[] = {"--name", name, "--count", fmt("%llu", (unsigned long long)n), "--end", end,
			    "--spin-ns", "1", "--timeout-ms", "5000", "--stall-ms", fmt("%d", STALL_MS), NULL};
	start(&cons, 0, "consume", ca);
	wait_ready(&cons, "consumer"); /* about to sleep on the empty ring */
	start(&prod, 0, "produce", pa);
	cr_assert_eq(finish(&prod, "producer", PEER_MS, ZT_EXIT_OK), 0);
	finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK);
	cr_assert_eq(report_u64(&cons, "count"), n, "[end %s] every published message delivered", end);
	cr_assert_eq(report_u64(&cons, "sum"), zt_expected_sum(0, n));
	assert_no_stall(&cons, "consumer");
	assert_no_stall(&prod, "producer");
	zipc_ring_close(ring);
}

/* A publisher streaming into a sleeping consumer, closing and exiting at once: the consumer gets everything and -EPIPE, woken (not by a timeout). */
TEST_MP(publisher_closes_and_exits_while_consumer_sleeps, 30)
{
	publisher_exits_while_consumer_sleeps("close", "EPIPE", LONG_LIVENESS);
}
/* A publisher streaming into a sleeping consumer and dying right after its last publish: everything arrives, then -EOWNERDEAD. */
TEST_MP(publisher_dies_while_consumer_sleeps, 30)
{
	publisher_exits_while_consumer_sleeps("exit", "EOWNERDEAD", "0");
}

/* Closing the last producer wakes a consumer asleep on the empty ring (10 s liveness, no deadline): it gets -EPIPE at once, not after a liveness period. */
TEST_MP(producer_close_wakes_sleeping_consumer, 30)
{
	char name[64];
	struct zipc_ring_opts o = zt_ring_opts(64, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	zipc_ring *ring = create_ring(name, sizeof name, "eoswake", &o);
	struct zt_peer cons, prod;

	const char *ca[] = {"--name", name, "--expect", "EPIPE", "--spin-ns", "1", "--liveness-ns", LONG_LIVENESS,
			    "--timeout-ms", "-1", NULL};
	/* flush: the consumer has read everything, so when it sleeps next only
	 * the close can wake it */
	const char *pa[] = {"--name", name, "--count", "100", "--flush", "--close-to-sleeper", NULL};
	start(&cons, 0, "consume", ca);
	wait_ready(&cons, "consumer");
	start(&prod, 0, "produce", pa);
	cr_assert_eq(finish(&prod, "producer", PEER_MS, ZT_EXIT_OK), 0);
	cr_assert_eq(finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK), -EPIPE);
	cr_assert_eq(report_u64(&cons, "count"), 100);
	uint64_t ms = report_u64(&cons, "last_wait_ms");
	cr_assert_lt(ms, STALL_MS, "-EPIPE came after %llu ms: the close did not wake the sleeper",
		     (unsigned long long)ms);
	assert_no_stall(&cons, "consumer");
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ring, &st, NULL, 0), 0);
	cr_assert_gt(st.consumer_wakes, 0);
	zipc_ring_close(ring);
}

/* zipc_producer_flush() returns only once the consumer (another process) has released every message, so a producer may exit knowing they were read. */
TEST_MP(flush_returns_after_consumer_read_everything, 30)
{
	char name[64];
	const uint64_t n = 5000;
	struct zipc_ring_opts o = zt_ring_opts(64, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	zipc_ring *ring = create_ring(name, sizeof name, "flush", &o);
	struct zt_peer cons, prod;

	const char *ca[] = {"--name", name, "--count", fmt("%llu", (unsigned long long)n), NULL};
	const char *pa[] = {"--name", name, "--count", fmt("%llu", (unsigned long long)n), "--flush", "--end", "exit",
			    NULL};
	start(&cons, ZT_PEER_HOLD, "consume", ca); /* stays attached after reading n */
	wait_ready(&cons, "consumer");
	start(&prod, 0, "produce", pa);
	cr_assert_eq(finish(&prod, "producer", PEER_MS, ZT_EXIT_OK), 0);
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(ring, &st, NULL, 0), 0);
	cr_assert_eq(st.min_consumer, n, "flush returned before the consumer released everything");
	zt_peer_release(&cons);
	finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK);
	cr_assert_eq(report_u64(&cons, "count"), n);
	zipc_ring_close(ring);
}

/* A ring handed over as an inherited descriptor (anonymous, no name) works across exec: the peer attaches with zipc_ring_from_fd() and receives every message. */
TEST_MP(ring_from_inherited_fd, 30)
{
	const uint64_t n = 100000;
	struct zipc_ring_opts o = zt_ring_opts(256, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	o.region_flags = ZIPC_REGION_ANONYMOUS;
	zipc_ring *ring = NULL;
	int rc = zipc_ring_create(NULL, &o, &ring);
	cr_assert_eq(rc, 0, "anonymous ring: %d %s", rc, zipc_strerror(rc));
	int fd = dup(zipc_region_fd(zipc_ring_region(ring)));
	cr_assert_geq(fd, 0);
	struct zt_peer cons;
	const char *ca[] = {"--fd", fmt("%d", fd), "--expect", "EPIPE", NULL};
	rc = zt_peer_start(&cons, 0, &fd, 1, "consume", ca);
	cr_assert_eq(rc, 0);
	close(fd);
	wait_ready(&cons, "consumer");

	zipc_producer *p = NULL;
	cr_assert_eq(zipc_producer_open(ring, NULL, &p), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t s;
		rc = zipc_producer_claim(p, 1, 5 * ZIPC_SEC, &s);
		cr_assert_eq(rc, 0, "claim %llu: %d %s", (unsigned long long)i, rc, zipc_strerror(rc));
		zt_msg_write(zipc_producer_slot(p, s), 0, i);
		cr_assert_eq(zipc_producer_publish(p, s, 1), 0);
	}
	cr_assert_eq(zipc_producer_close(p), 0);
	cr_assert_eq(finish(&cons, "consumer", PEER_MS, ZT_EXIT_OK), -EPIPE);
	cr_assert_eq(report_u64(&cons, "count"), n);
	cr_assert_eq(report_u64(&cons, "sum"), zt_expected_sum(0, n));
	zipc_ring_close(ring);
}

/* ------------------------------------------------------- no lost wake-up */

/* 10,000 single-message round trips with an echo process in block mode, each message published only after the receiver announced itself asleep (a handshake through the ring's sleeper count), with 10 s liveness: every wake-up arrives (each answer within 5 s). */
TEST_MP(block_round_trips_lose_no_wakeup, 120)
{
	char ping[64], pong[64];
	const uint64_t rounds = 10000;
	struct zipc_ring_opts o = zt_ring_opts(16, ZT_MSG_SIZE, ZIPC_WAIT_BLOCK);
	zipc_ring *rp = create_ring(ping, sizeof ping, "ping", &o);
	zipc_ring *rq = create_ring(pong, sizeof pong, "pong", &o);
	struct zt_peer echo;

	const char *ea[] = {"--name", ping, "--reply", pong, "--wait", "block", "--spin-ns", "1", "--liveness-ns",
			    LONG_LIVENESS, "--timeout-ms", "-1", "--expect", "EPIPE", "--reply-to-sleeper", NULL};
	start(&echo, 0, "echo", ea);
	wait_ready(&echo, "echo");

	struct zipc_wait_opts wo = {.strategy = ZIPC_WAIT_BLOCK, .spin_ns = 1, .liveness_ns = 10 * ZIPC_SEC};
	zipc_producer *p = NULL;
	zipc_consumer *c = NULL;
	cr_assert_eq(zipc_producer_open(rp, &wo, &p), 0);
	cr_assert_eq(zipc_consumer_open(rq, &wo, &c), 0);
	struct zt_checker ck;
	zt_checker_init(&ck, 1);

	int64_t t0 = zt_now_ms();
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t s;
		int rc = zipc_producer_claim(p, 1, 5 * ZIPC_SEC, &s);
		cr_assert_eq(rc, 0, "round %llu: claim %d %s", (unsigned long long)i, rc, zipc_strerror(rc));
		rc = zt_wait_for_sleeper(rp, 5 * ZIPC_SEC);
		cr_assert_eq(rc, 0, "round %llu: the echo never went to sleep (%d)", (unsigned long long)i, rc);
		zt_msg_write(zipc_producer_slot(p, s), 0, i);
		cr_assert_eq(zipc_producer_publish(p, s, 1), 0);
		int64_t t1 = zipc_now_ns();
		int64_t n = zipc_consumer_wait(c, 5 * ZIPC_SEC, &s);
		int64_t dt = zipc_now_ns() - t1;
		cr_assert_eq(n, 1, "round %llu: no answer within 5 s (%lld %s): lost wake-up", (unsigned long long)i,
			     (long long)n, n < 0 ? zipc_strerror((int)n) : "");
		cr_assert_lt(dt, STALL_MS * ZIPC_MSEC, "round %llu: the answer took %lld ms: lost wake-up",
			     (unsigned long long)i, (long long)(dt / ZIPC_MSEC));
		cr_assert_eq(zt_checker_feed(&ck, zipc_consumer_slot(c, s)), 0, "round %llu: %s",
			     (unsigned long long)i, ck.why);
		cr_assert_eq(zipc_consumer_release(c, 1), 0);
	}
	int64_t ms = zt_now_ms() - t0;
	cr_log_info("block ping-pong: %llu round trips in %lld ms", (unsigned long long)rounds, (long long)ms);

	/* the futex path was really taken on both sides */
	struct zipc_ring_stat st;
	struct zipc_ring_peer_stat ps[8];
	int np = zipc_ring_stat(rp, &st, ps, 8);
	uint64_t echo_sleeps = 0;
	for (int i = 0; i < np && i < 8; i++)
		if (ps[i].is_consumer && ps[i].pid == echo.pid)
			echo_sleeps = ps[i].sleeps;
	cr_assert_gt(echo_sleeps, 0, "the echo process never slept: the test did not exercise the futex");
	cr_assert_geq(st.consumer_wakes, rounds / 2, "only %llu wakes issued to the echo",
		      (unsigned long long)st.consumer_wakes);
	uint64_t wakes_to_echo = st.consumer_wakes;
	np = zipc_ring_stat(rq, &st, ps, 8);
	uint64_t my_sleeps = 0;
	for (int i = 0; i < np && i < 8; i++)
		if (ps[i].is_consumer && ps[i].pid == getpid())
			my_sleeps = ps[i].sleeps;
	cr_assert_gt(my_sleeps, 0, "this process never slept");
	cr_assert_geq(st.consumer_wakes, rounds / 2, "only %llu wakes issued to this process",
		      (unsigned long long)st.consumer_wakes);
	cr_log_info("sleeps: echo %llu, test %llu; wakes: to echo %llu, to test %llu",
		    (unsigned long long)echo_sleeps, (unsigned long long)my_sleeps,
		    (unsigned long long)wakes_to_echo, (unsigned long long)st.consumer_wakes);

	/* closing our producer ends the echo's stream; it closes and ours ends too */
	cr_assert_eq(zipc_producer_close(p), 0);
	uint64_t s;
	cr_assert_eq(zipc_consumer_wait(c, 5 * ZIPC_SEC, &s), -EPIPE, "the echo closed its producer");
	finish(&echo, "echo", PEER_MS, ZT_EXIT_OK);
	cr_assert_eq(report_u64(&echo, "count"), rounds);
	zipc_consumer_close(c);
	zipc_ring_close(rq);
	zipc_ring_close(rp);
}
