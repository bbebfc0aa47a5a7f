/* SPDX-License-Identifier: MIT */
/*
 * tests/test_topology.c - the Disruptor's consumer topologies across real
 * processes: multicast with joiners and leavers, work-queue groups
 * (exactly once), pipelines and diamonds with in-place updates, three
 * producers to one consumer, MP producers killed mid-claim (lost records
 * are skipped, the stream goes on), and grow on timeout.
 *
 * Every child reports what it saw through a pipe; the parent checks sums
 * that a lost, duplicated or reordered message would break.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/zipc.h>

#include "helpers/zt_env.h"

/* A message: sequence-like payload plus three fields stages update in place. */
struct msg {
	uint64_t id;   /* producer-assigned number (per producer for MP) */
	uint32_t src;  /* producer index */
	uint32_t pad;
	uint64_t a, b, c;
};

/* What a child saw. */
struct report {
	uint64_t count;
	uint64_t sum;
	uint64_t sumsq;
	uint64_t errors;
	uint64_t lost;
	int64_t end; /* the code that ended its loop */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

struct child {
	pid_t pid;
	int rd; /* report pipe, parent side */
};

typedef void (*child_fn)(void *arg, struct report *rep);

/* Fork a child that runs @fn and writes its report; never returns in the child. */
static struct child spawn(child_fn fn, void *arg)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		struct report rep = {0};
		fn(arg, &rep);
		ssize_t n = write(fds[1], &rep, sizeof(rep));
		_exit(n == (ssize_t)sizeof(rep) ? 0 : 3);
	}
	close(fds[1]);
	return (struct child){.pid = pid, .rd = fds[0]};
}

static struct report collect(struct child ch)
{
	struct report rep;
	memset(&rep, 0xff, sizeof(rep));
	ssize_t n = read(ch.rd, &rep, sizeof(rep));
	close(ch.rd);
	int st = 0;
	cr_assert_eq(waitpid(ch.pid, &st, 0), ch.pid);
	cr_assert(n == (ssize_t)sizeof(rep) && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child %d failed (status %#x, read %zd)", (int)ch.pid, st, n);
	return rep;
}

static zipc_ring *make_ring(const char *tag, uint64_t cap, uint32_t flags, int32_t reserved, char *name)
{
	struct zipc_ring_opts o = zt_ring_opts(cap, sizeof(struct msg), ZIPC_WAIT_BLOCK);
	o.flags = flags;
	o.reserved_consumers = reserved;
	o.max_consumers = 8;
	zt_name(name, 64, tag);
	zipc_ring *r;
	int rc = zipc_ring_create(name, &o, &r);
	cr_assert_eq(rc, 0, "create: %s", zipc_strerror(rc));
	return r;
}

static void publish_n(zipc_ring *r, uint64_t n, uint32_t src)
{
	zipc_producer *p;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seq;
		int rc = zipc_producer_claim(p, 1, 30 * ZIPC_SEC, &seq);
		cr_assert_eq(rc, 0, "claim: %s", zipc_strerror(rc));
		struct msg *m = zipc_producer_slot(p, seq);
		memset(m, 0, sizeof(*m));
		m->id = i;
		m->src = src;
		cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	}
	zipc_producer_close(p);
}

static void account(struct report *rep, uint64_t id)
{
	rep->count++;
	rep->sum += id;
	rep->sumsq += mix(id);
}

/* ------------------------------------------------------------ multicast */

struct reader_arg {
	const char *name;
	struct zipc_consumer_opts opts;
	int go_fd;   /* -1, or read one byte before consuming */
	int ready_fd;/* -1, or write one byte once attached */
	int stage;   /* pipeline role, see stage_check() */
};

/* Attach by name, open, then read until the stream ends, checking order. */
static void reader(void *argp, struct report *rep)
{
	struct reader_arg *arg = argp;
	zipc_ring *r;
	zipc_consumer *c;
	if (zipc_ring_attach(arg->name, 0, &r) || zipc_consumer_open_opts(r, &arg->opts, &c)) {
		rep->errors = 1000;
		return;
	}
	char b = 1;
	if (arg->ready_fd >= 0 && write(arg->ready_fd, &b, 1) != 1)
		rep->errors++;
	if (arg->go_fd >= 0 && read(arg->go_fd, &b, 1) != 1)
		rep->errors++;
	uint64_t expect = UINT64_MAX, seq;
	int64_t n;
	while ((n = zipc_consumer_wait(c, 30 * ZIPC_SEC, &seq)) > 0) {
		for (int64_t i = 0; i < n; i++) {
			const struct msg *m = zipc_consumer_slot(c, seq + (uint64_t)i);
			if (expect != UINT64_MAX && m->id != expect)
				rep->errors++;
			expect = m->id + 1;
			account(rep, m->id);
		}
		zipc_consumer_release(c, (uint32_t)n);
	}
	rep->end = n;
	zipc_consumer_close(c);
	zipc_ring_close(r);
}

static void setup(void)
{
	cr_assert_eq(zt_env_setup(), 0);
}

TestSuite(topology, .init = setup, .fini = zt_env_teardown);

/* Three consumer processes each see every message, in order (multicast). */
Test(topology, multicast_three_processes_each_see_everything, .timeout = 120)
{
	char name[64];
	zipc_ring *r = make_ring("mc", 256, 0, 3, name);
	const uint64_t n = zt_messages(300000) / 10 + 1000;
	struct reader_arg arg = {.name = name, .go_fd = -1, .ready_fd = -1};
	struct child ch[3];
	for (int i = 0; i < 3; i++)
		ch[i] = spawn(reader, &arg);
	publish_n(r, n, 0);
	for (int i = 0; i < 3; i++) {
		struct report rep = collect(ch[i]);
		cr_expect_eq(rep.count, n, "consumer %d saw %llu of %llu", i, (unsigned long long)rep.count,
			     (unsigned long long)n);
		cr_expect_eq(rep.sum, n * (n - 1) / 2);
		cr_expect_eq(rep.errors, 0);
		cr_expect_eq(rep.end, -EPIPE);
	}
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* The producer is gated by the slowest consumer; one that leaves stops
 * gating at once; a late joiner starts at the cursor. */
Test(topology, slowest_gates_leaver_stops_gating_late_joiner_starts_at_cursor, .timeout = 60)
{
	char name[64];
	zipc_ring *r = make_ring("gate", 16, 0, 2, name);
	zipc_producer *p;
	zipc_consumer *fast, *slow;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	cr_assert_eq(zipc_consumer_open(r, NULL, &fast), 0);
	cr_assert_eq(zipc_consumer_open(r, NULL, &slow), 0);
	uint64_t seq;
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), 0);
		cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	}
	cr_assert_eq(zipc_consumer_try_peek(fast, &seq), 16);
	cr_assert_eq(zipc_consumer_release(fast, 16), 0);
	/* the slow consumer has read nothing: the ring is full for the producer */
	cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), -EAGAIN);
	cr_assert_eq(zipc_consumer_close(slow), 0);
	cr_assert_eq(zipc_producer_try_claim(p, 1, &seq), 0, "a leaver must stop gating at once");
	cr_assert_eq(seq, 16);
	cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);

	/* a late joiner in another process starts at the cursor (17) */
	int ready[2], go[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	struct reader_arg arg = {.name = name, .go_fd = go[0], .ready_fd = ready[1]};
	struct child ch = spawn(reader, &arg);
	char b;
	cr_assert_eq(read(ready[0], &b, 1), 1);
	for (uint64_t i = 100; i < 110; i++) {
		cr_assert_eq(zipc_producer_claim(p, 1, 10 * ZIPC_SEC, &seq), 0);
		struct msg *m = zipc_producer_slot(p, seq);
		m->id = i;
		cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
		/* keep the fast consumer from gating us */
		int64_t k = zipc_consumer_try_peek(fast, &seq);
		if (k > 0)
			zipc_consumer_release(fast, (uint32_t)k);
	}
	cr_assert_eq(write(go[1], "g", 1), 1);
	zipc_producer_close(p);
	struct report rep = collect(ch);
	cr_expect_eq(rep.count, 10, "late joiner saw %llu messages", (unsigned long long)rep.count);
	cr_expect_eq(rep.sum, 100 + 101 + 102 + 103 + 104 + 105 + 106 + 107 + 108 + 109);
	cr_expect_eq(rep.errors, 0);
	zipc_consumer_close(fast);
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* ----------------------------------------------------------- work queue */

/* Three processes in one work-queue group take every message exactly once. */
Test(topology, work_queue_group_takes_each_message_exactly_once, .timeout = 120)
{
	char name[64];
	zipc_ring *r = make_ring("wq", 256, 0, 3, name);
	const uint64_t n = zt_messages(300000) / 10 + 1000;
	struct reader_arg arg = {.name = name, .go_fd = -1, .ready_fd = -1,
				 .opts = {.group = 1, .batch = 16}};
	struct child ch[3];
	for (int i = 0; i < 3; i++)
		ch[i] = spawn(reader, &arg);
	publish_n(r, n, 0);
	uint64_t count = 0, sum = 0, sumsq = 0;
	for (int i = 0; i < 3; i++) {
		struct report rep = collect(ch[i]);
		cr_expect_eq(rep.end, -EPIPE);
		count += rep.count;
		sum += rep.sum;
		sumsq += rep.sumsq;
	}
	uint64_t want_sq = 0;
	for (uint64_t i = 0; i < n; i++)
		want_sq += mix(i);
	cr_expect_eq(count, n, "group took %llu of %llu", (unsigned long long)count, (unsigned long long)n);
	cr_expect_eq(sum, n * (n - 1) / 2);
	cr_expect_eq(sumsq, want_sq, "a message was taken twice or not at all");
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* ---------------------------------------------------- pipeline / diamond */

/*
 * Stage roles: 1 writes a, 2 checks a and writes b, 3 checks a and b and
 * writes c (pipeline); 4 writes a, 5 writes b, 6 checks a and b (diamond).
 */
static void stage(void *argp, struct report *rep)
{
	struct reader_arg *arg = argp;
	zipc_ring *r;
	zipc_consumer *c;
	if (zipc_ring_attach(arg->name, 0, &r) || zipc_consumer_open_opts(r, &arg->opts, &c)) {
		rep->errors = 1000;
		return;
	}
	uint64_t seq;
	int64_t n;
	while ((n = zipc_consumer_wait(c, 30 * ZIPC_SEC, &seq)) > 0) {
		for (int64_t i = 0; i < n; i++) {
			struct msg *m = zipc_consumer_slot_mut(c, seq + (uint64_t)i);
			uint64_t a = m->id * 3 + 1, b = m->id * 5 + 2;
			switch (arg->stage) {
			case 1: case 4: m->a = a; break;
			case 2: rep->errors += m->a != a; m->b = b; break;
			case 5: m->b = b; break;
			case 3: rep->errors += m->a != a || m->b != b; m->c = a + b; break;
			case 6: rep->errors += m->a != a || m->b != b; break;
			}
			account(rep, m->id);
		}
		zipc_consumer_release(c, (uint32_t)n);
	}
	rep->end = n;
	zipc_consumer_close(c);
	zipc_ring_close(r);
}

static void run_shape(const char *tag, const int roles[3], const uint32_t after[3])
{
	char name[64];
	zipc_ring *r = make_ring(tag, 128, 0, 3, name);
	const uint64_t n = zt_messages(300000) / 10 + 1000;
	struct reader_arg arg[3];
	struct child ch[3];
	for (int i = 0; i < 3; i++) {
		arg[i] = (struct reader_arg){.name = name, .go_fd = -1, .ready_fd = -1, .stage = roles[i],
					     .opts = {.flags = ZIPC_CONSUMER_SLOT, .slot = (uint32_t)i,
						      .after = after[i]}};
		ch[i] = spawn(stage, &arg[i]);
	}
	publish_n(r, n, 0);
	for (int i = 0; i < 3; i++) {
		struct report rep = collect(ch[i]);
		cr_expect_eq(rep.count, n, "stage %d saw %llu of %llu", i, (unsigned long long)rep.count,
			     (unsigned long long)n);
		cr_expect_eq(rep.errors, 0, "stage %d saw %llu slots its predecessors had not finished", i,
			     (unsigned long long)rep.errors);
		cr_expect_eq(rep.end, -EPIPE);
	}
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* One-to-three pipeline: P -> A -> B -> C, each stage sees its predecessor's writes. */
Test(topology, pipeline_one_to_three_in_place_updates, .timeout = 120)
{
	const int roles[3] = {1, 2, 3};
	const uint32_t after[3] = {0, 1u << 0, 1u << 1};
	run_shape("pipe", roles, after);
}

/* One-to-three diamond: P -> (A, B) -> C, C sees both A's and B's writes. */
Test(topology, diamond_one_to_three_joins_two_stages, .timeout = 120)
{
	const int roles[3] = {4, 5, 6};
	const uint32_t after[3] = {0, 0, (1u << 0) | (1u << 1)};
	run_shape("diamond", roles, after);
}

/* A barrier on itself, or on a slot that does not exist, is refused. */
Test(topology, bad_barriers_and_groups_are_einval, .timeout = 30)
{
	char name[64];
	zipc_ring *r = make_ring("badbar", 16, 0, 1, name);
	zipc_consumer *c;
	struct zipc_consumer_opts o = {.flags = ZIPC_CONSUMER_SLOT, .slot = 2, .after = 1u << 2};
	cr_expect_eq(zipc_consumer_open_opts(r, &o, &c), -EINVAL);
	o = (struct zipc_consumer_opts){.after = 1u << 20};
	cr_expect_eq(zipc_consumer_open_opts(r, &o, &c), -EINVAL);
	o = (struct zipc_consumer_opts){.group = ZIPC_RING_MAX_GROUPS + 1};
	cr_expect_eq(zipc_consumer_open_opts(r, &o, &c), -EINVAL);
	o = (struct zipc_consumer_opts){.flags = ZIPC_CONSUMER_SLOT, .slot = 8};
	cr_expect_eq(zipc_consumer_open_opts(r, &o, &c), -EINVAL);
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* --------------------------------------------------------- three-to-one */

struct producer_arg {
	const char *name;
	uint32_t src;
	uint64_t count;
	int hold_fd;  /* >= 0: claim one slot, report on hold_fd, then block on block_fd */
	int block_fd;
	int ready_fd; /* >= 0: write one byte once registered */
};

static void producer(void *argp, struct report *rep)
{
	struct producer_arg *arg = argp;
	zipc_ring *r;
	zipc_producer *p;
	if (zipc_ring_attach(arg->name, 0, &r) || zipc_producer_open(r, NULL, &p)) {
		rep->errors = 1000;
		return;
	}
	uint64_t seq;
	char one = 1;
	if (arg->ready_fd >= 0 && write(arg->ready_fd, &one, 1) != 1)
		rep->errors++;
	if (arg->hold_fd >= 0) {
		/* claim and never publish: we are killed holding the claim */
		if (zipc_producer_claim(p, 1, 10 * ZIPC_SEC, &seq) == 0) {
			char b = 1;
			if (write(arg->hold_fd, &b, 1) == 1)
				(void)read(arg->block_fd, &b, 1);
		}
		rep->errors = 1000; /* never reached when killed */
		return;
	}
	for (uint64_t i = 0; i < arg->count; i++) {
		int rc = zipc_producer_claim(p, 1, 30 * ZIPC_SEC, &seq);
		if (rc) {
			rep->errors++;
			break;
		}
		struct msg *m = zipc_producer_slot(p, seq);
		m->id = i;
		m->src = arg->src;
		zipc_producer_publish(p, seq, 1);
		account(rep, i);
	}
	zipc_producer_close(p);
	zipc_ring_close(r);
}

/* Consume until the stream ends; check per-producer FIFO; skip lost records. */
static struct report consume_mp(zipc_ring *r, uint64_t *per_src, uint64_t *next_id, unsigned nsrc)
{
	struct report rep = {0};
	zipc_consumer *c;
	struct zipc_wait_opts w = {.strategy = ZIPC_WAIT_BLOCK, .liveness_ns = 5 * ZIPC_MSEC};
	cr_assert_eq(zipc_consumer_open(r, &w, &c), 0);
	uint64_t seq;
	int64_t n;
	for (;;) {
		n = zipc_consumer_wait(c, 30 * ZIPC_SEC, &seq);
		if (n == -ENOMSG) {
			rep.lost++;
			cr_assert_eq(zipc_consumer_release(c, 1), 0);
			continue;
		}
		if (n <= 0)
			break;
		for (int64_t i = 0; i < n; i++) {
			const struct msg *m = zipc_consumer_slot(c, seq + (uint64_t)i);
			if (m->src >= nsrc || m->id != next_id[m->src]) {
				rep.errors++;
				continue;
			}
			next_id[m->src]++;
			per_src[m->src]++;
			account(&rep, m->id);
		}
		zipc_consumer_release(c, (uint32_t)n);
	}
	rep.end = n;
	zipc_consumer_close(c);
	return rep;
}

/* Three producer processes into one multi-producer ring: per-producer FIFO, exact totals. */
Test(topology, three_to_one_per_producer_fifo, .timeout = 120)
{
	char name[64];
	zipc_ring *r = make_ring("3to1", 256, ZIPC_RING_MULTI_PRODUCER, 1, name);
	const uint64_t n = zt_messages(300000) / 10 + 1000;
	struct producer_arg arg[3];
	struct child ch[3];
	for (uint32_t i = 0; i < 3; i++) {
		arg[i] = (struct producer_arg){.name = name, .src = i, .count = n, .hold_fd = -1, .ready_fd = -1};
		ch[i] = spawn(producer, &arg[i]);
	}
	uint64_t per[3] = {0}, next[3] = {0};
	struct report got = consume_mp(r, per, next, 3);
	for (int i = 0; i < 3; i++) {
		struct report rep = collect(ch[i]);
		cr_expect_eq(rep.errors, 0);
		cr_expect_eq(per[i], n, "producer %d: %llu of %llu", i, (unsigned long long)per[i],
			     (unsigned long long)n);
	}
	cr_expect_eq(got.errors, 0);
	cr_expect_eq(got.lost, 0);
	cr_expect_eq(got.end, -EPIPE);
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* -------------------------------------------------- dead MP producers */

/* A producer killed between claim and publish: its slot is reported lost
 * (-ENOMSG) and skipped, and every message of the live producer arrives. */
Test(topology, mp_producer_killed_holding_a_claim_is_skipped, .timeout = 60)
{
	char name[64];
	zipc_ring *r = make_ring("hole", 64, ZIPC_RING_MULTI_PRODUCER, 1, name);
	int held[2], block[2];
	cr_assert_eq(pipe(held), 0);
	cr_assert_eq(pipe(block), 0);
	struct producer_arg victim = {.name = name, .src = 1, .hold_fd = held[1], .block_fd = block[0], .ready_fd = -1};
	struct child v = spawn(producer, &victim);
	char b;
	cr_assert_eq(read(held[0], &b, 1), 1); /* it holds sequence 0 now */
	cr_assert_eq(kill(v.pid, SIGKILL), 0);
	int st;
	cr_assert_eq(waitpid(v.pid, &st, 0), v.pid);
	close(v.rd);

	const uint64_t n = 1000;
	struct producer_arg live = {.name = name, .src = 0, .count = n, .hold_fd = -1, .ready_fd = -1};
	struct child l = spawn(producer, &live);
	uint64_t per[2] = {0}, next[2] = {0};
	struct report got = consume_mp(r, per, next, 2);
	struct report lrep = collect(l);
	cr_expect_eq(lrep.errors, 0);
	cr_expect_eq(got.lost, 1, "the dead producer's claim must be reported lost once");
	cr_expect_eq(per[0], n, "live producer: %llu of %llu", (unsigned long long)per[0], (unsigned long long)n);
	cr_expect_eq(per[1], 0);
	cr_expect_eq(got.errors, 0);
	cr_expect_eq(got.end, -EOWNERDEAD, "ended with %s", zipc_strerror((int)got.end));
	struct zipc_ring_stat rs;
	cr_assert_geq(zipc_ring_stat(r, &rs, NULL, 0), 0);
	cr_expect_eq(rs.lost, 1);
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* Many trials: kill one of two producers at a random point of its stream.
 * The survivor's stream arrives whole and in order; the victim's arrives as
 * a gap-free prefix; the consumer never hangs. */
Test(topology, mp_random_kills_never_wedge_the_consumer, .timeout = 300)
{
	const uint64_t trials = zt_messages(0) ? 10 : 40;
	srand((unsigned)getpid());
	for (uint64_t t = 0; t < trials; t++) {
		char name[64];
		zipc_ring *r = make_ring("kill", 32, ZIPC_RING_MULTI_PRODUCER, 1, name);
		const uint64_t n = 20000;
		int ready[2];
		cr_assert_eq(pipe(ready), 0);
		struct producer_arg arg[2] = {
			{.name = name, .src = 0, .count = n, .hold_fd = -1, .ready_fd = ready[1]},
			{.name = name, .src = 1, .count = UINT64_MAX / 2, .hold_fd = -1, .ready_fd = ready[1]}};
		struct child ch[2] = {spawn(producer, &arg[0]), spawn(producer, &arg[1])};
		char two[2];
		cr_assert_eq(read(ready[0], two, 1), 1); /* both registered */
		cr_assert_eq(read(ready[0], two + 1, 1), 1);
		close(ready[0]);
		close(ready[1]);
		/* the kill point is the consumer's progress: random, but no timing */
		uint64_t kill_at = (uint64_t)rand() % 5000;
		struct report got = {0};
		uint64_t per[2] = {0}, next[2] = {0};
		zipc_consumer *c;
		struct zipc_wait_opts w = {.strategy = ZIPC_WAIT_BLOCK, .liveness_ns = 2 * ZIPC_MSEC};
		cr_assert_eq(zipc_consumer_open(r, &w, &c), 0);
		int killed = 0;
		uint64_t seq;
		int64_t k;
		for (;;) {
			if (!killed && got.count >= kill_at) {
				cr_assert_eq(kill(ch[1].pid, SIGKILL), 0);
				killed = 1;
			}
			k = zipc_consumer_wait(c, 30 * ZIPC_SEC, &seq);
			if (k == -ENOMSG) {
				got.lost++;
				cr_assert_eq(zipc_consumer_release(c, 1), 0);
				continue;
			}
			if (k <= 0)
				break;
			for (int64_t i = 0; i < k; i++) {
				const struct msg *m = zipc_consumer_slot(c, seq + (uint64_t)i);
				if (m->src > 1 || m->id != next[m->src])
					got.errors++;
				else
					next[m->src]++, per[m->src]++;
				got.count++;
			}
			zipc_consumer_release(c, (uint32_t)k);
		}
		zipc_consumer_close(c);
		collect(ch[0]);
		int st;
		waitpid(ch[1].pid, &st, 0);
		close(ch[1].rd);
		cr_assert_eq(got.errors, 0, "trial %llu: reordered or corrupted", (unsigned long long)t);
		cr_assert_eq(per[0], n, "trial %llu: survivor lost messages (%llu of %llu)", (unsigned long long)t,
			     (unsigned long long)per[0], (unsigned long long)n);
		cr_assert(k == -EOWNERDEAD, "trial %llu ended with %s", (unsigned long long)t, zipc_strerror((int)k));
		cr_assert_leq(got.lost, 1, "at most the one claim the victim held");
		cr_assert_eq(zipc_ring_close(r), 0);
	}
}

/* --------------------------------------------------------------- grow */

/* A producer blocked on a full ring grows it into successors; a stalled
 * consumer in another process follows the chain and reads everything. */
Test(topology, grow_on_timeout_consumer_follows_the_chain, .timeout = 120)
{
	char name[64];
	struct zipc_ring_opts o = zt_ring_opts(8, sizeof(struct msg), ZIPC_WAIT_BLOCK);
	o.grow_after_ns = 1 * ZIPC_MSEC;
	zt_name(name, sizeof(name), "grow");
	zipc_ring *r;
	cr_assert_eq(zipc_ring_create(name, &o, &r), 0);
	int ready[2], go[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	struct reader_arg arg = {.name = name, .go_fd = go[0], .ready_fd = ready[1]};
	struct child ch = spawn(reader, &arg);
	char b;
	cr_assert_eq(read(ready[0], &b, 1), 1);

	const uint64_t n = 5000;
	zipc_producer *p;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seq;
		int rc = zipc_producer_claim(p, 1, 30 * ZIPC_SEC, &seq);
		cr_assert_eq(rc, 0, "claim %llu: %s", (unsigned long long)i, zipc_strerror(rc));
		struct msg *m = zipc_producer_slot(p, seq);
		m->id = i;
		cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	}
	/* the consumer has read nothing yet: everything sits in the chain */
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(r, &st, NULL, 0), 0);
	cr_expect(st.sealed, "the first ring must have been sealed");
	cr_expect_eq(st.sealed_at, 8);
	cr_expect(strstr(st.successor, ".g1") != NULL, "successor %s", st.successor);
	cr_assert_eq(write(go[1], "g", 1), 1);
	int rc = zipc_producer_flush(p, 60 * ZIPC_SEC);
	cr_expect_eq(rc, 0, "flush: %s", zipc_strerror(rc));
	zipc_producer_close(p);
	struct report rep = collect(ch);
	cr_expect_eq(rep.count, n, "consumer read %llu of %llu", (unsigned long long)rep.count, (unsigned long long)n);
	cr_expect_eq(rep.sum, n * (n - 1) / 2);
	cr_expect_eq(rep.errors, 0);
	cr_assert_eq(zipc_ring_close(r), 0);
}

/* Grow needs a name (consumers follow by name) and a single producer. */
Test(topology, grow_refused_for_mp_and_anonymous_rings, .timeout = 30)
{
	zipc_ring *r;
	struct zipc_ring_opts o = zt_ring_opts(8, 8, ZIPC_WAIT_BLOCK);
	o.grow_after_ns = ZIPC_MSEC;
	o.flags = ZIPC_RING_MULTI_PRODUCER;
	cr_expect_eq(zipc_ring_create("growmp", &o, &r), -EINVAL);
	o.flags = 0;
	o.region_flags = ZIPC_REGION_ANONYMOUS;
	cr_expect_eq(zipc_ring_create(NULL, &o, &r), -EINVAL);
}

/* ------------------------------------------------------ io_uring strategy */

/* Is process @pid blocked in system call @nr right now (/proc/pid/syscall)? */
static int in_syscall(pid_t pid, long nr)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long got = -1;
	int ok = fgets(buf, sizeof(buf), f) != NULL && sscanf(buf, "%ld", &got) == 1;
	fclose(f);
	return ok && got == nr;
}

struct uring_arg {
	const char *name;
	uint64_t count;
};

/* A consumer process with ZIPC_WAIT_URING that sleeps between messages. */
static void uring_reader(void *argp, struct report *rep)
{
	struct uring_arg *arg = argp;
	zipc_ring *r;
	zipc_consumer *c;
	struct zipc_consumer_opts o = {.wait = {.strategy = ZIPC_WAIT_URING, .spin_ns = 1}};
	if (zipc_ring_attach(arg->name, 0, &r) || zipc_consumer_open_opts(r, &o, &c)) {
		rep->errors = 1000;
		return;
	}
	uint64_t seq, expect = 0;
	int64_t n;
	while ((n = zipc_consumer_wait(c, 30 * ZIPC_SEC, &seq)) > 0) {
		for (int64_t i = 0; i < n; i++) {
			const struct msg *m = zipc_consumer_slot(c, seq + (uint64_t)i);
			rep->errors += m->id != expect++;
			account(rep, m->id);
		}
		zipc_consumer_release(c, (uint32_t)n);
	}
	rep->end = n;
	zipc_consumer_close(c);
	zipc_ring_close(r);
}

/* ZIPC_WAIT_URING: the consumer really sleeps in io_uring_enter (a
 * FUTEX_WAIT op on the shared word) and every publish wakes it. */
Test(topology, uring_wait_strategy_sleeps_in_io_uring_and_is_woken, .timeout = 120)
{
	char name[64];
	zipc_ring *r = make_ring("uring", 64, 0, 1, name);
	struct uring_arg arg = {.name = name};
	struct child ch = spawn(uring_reader, &arg);
	zipc_producer *p;
	cr_assert_eq(zipc_producer_open(r, NULL, &p), 0);
	const uint64_t n = 300;
	unsigned slept = 0;
	for (uint64_t i = 0; i < n; i++) {
		/* wait (no sleeping here: a yield loop on shared state) until the
		 * consumer is parked in io_uring_enter, then publish */
		int64_t deadline = zipc_now_ns() + 5 * ZIPC_SEC;
		/* parked = announced and armed (so only a wake can end its sleep)
		 * and inside io_uring_enter */
		int parked;
		while (!(parked = atomic_load(&p->hdr->cons_wait.armed) == 1 &&
				  in_syscall(ch.pid, SYS_io_uring_enter)) &&
		       zipc_now_ns() < deadline)
			sched_yield();
		slept += (unsigned)parked;
		uint64_t seq;
		cr_assert_eq(zipc_producer_claim(p, 1, 10 * ZIPC_SEC, &seq), 0);
		struct msg *m = zipc_producer_slot(p, seq);
		m->id = i;
		cr_assert_eq(zipc_producer_publish(p, seq, 1), 0);
	}
	zipc_producer_close(p);
	struct report rep = collect(ch);
	cr_expect_eq(rep.count, n);
	cr_expect_eq(rep.errors, 0);
	cr_expect_eq(rep.end, -EPIPE);
	cr_expect_geq(slept, n * 9 / 10, "the consumer slept in io_uring before only %u of %llu messages", slept,
		      (unsigned long long)n);
	struct zipc_ring_stat st;
	cr_assert_geq(zipc_ring_stat(r, &st, NULL, 0), 0);
	cr_expect_geq(st.consumer_wakes, n * 9 / 10, "publishers woke the sleeper %llu times",
		      (unsigned long long)st.consumer_wakes);
	cr_assert_eq(zipc_ring_close(r), 0);
}
