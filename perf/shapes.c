/* perf/shapes.c - the LMAX Disruptor's perf-test shapes across processes or threads, each checking its end result. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "perf.h"

/*
 * The shapes of the Disruptor's throughput tests (OneToOneSequenced-,
 * OneToThreeSequenced-, ThreeToOneSequenced-, OneToThreePipelineSequenced-,
 * OneToThreeDiamondSequencedThroughputTest and the one-publisher-to-three-
 * workers WorkerPool test), on one zipc ring each:
 *
 *   one_to_one              P -> C                values; C checks the order and the sum
 *   one_to_three_multicast  P -> C0, C1, C2       every consumer sees every value
 *   three_to_one            P0, P1, P2 -> C       MP ring; C checks each producer's order
 *   one_to_three_pipeline   P -> A -> B -> C      A: step1 = op1 + op2, B: step2 = step1 + 3,
 *                                                 in place; C checks both for every slot
 *   one_to_three_diamond    P -> A, B -> C        A: fizz = v % 3 == 0, B: buzz = v % 5 == 0,
 *                                                 in place; C checks both, counts fizzbuzz
 *   work_queue              P -> {W0, W1, W2}     one work-queue group: every value is taken
 *                                                 by exactly one member (count, sum and a
 *                                                 hash sum over the members)
 *
 * As in the Disruptor's tests, a producer claims and publishes one slot at
 * a time and a consumer handles everything available per wait (a batch),
 * then releases it.  Each consumer keeps a tally (messages, sum of values,
 * a shape-specific fold, errors) and reports it through a shared page; the
 * parent computes what every tally must be and compares.  ops/s is the
 * messages published through the whole shape divided by the time from the
 * first producer's start to the last consumer's last message.
 *
 * Placement: the roles are not pinned one per CPU.  Every role may run on
 * either CPU of the harness's pair and the kernel balances them; with four
 * roles on two CPUs that oversubscribes, so every end uses the block wait
 * strategy (spin, then sleep on the ring's futex) and a role that has
 * nothing to do gives its CPU away.  one_to_one runs the same way, so the
 * ratios against it compare shapes, not placements.
 *
 * Modes: "processes" forks one child per role, each attaching the ring
 * from the inherited memfd; "threads" forks one child that attaches once
 * and runs every role as a thread.  Either way the parent only releases the
 * roles together and reaps them under the run's watchdog, so a stuck role
 * is killed at the timeout like any other run.
 */

/* Slots of a shape's ring: room for a descheduled consumer to fall behind. */
#define SHAPE_SLOTS 8192u
/* Longest single sleep at the start barrier: the deadline is re-checked this often. */
#define SHAPE_SLICE_NS (100 * ZIPC_MSEC)
/* A step or flag no stage ever writes: what a slot holds before its stage ran. */
#define POISON UINT64_MAX

/* What a shape's consumers do with each slot. */
enum handler {
	H_VALUES,   /* 8-byte value: (producer << 32) | index */
	H_PIPELINE, /* struct fn_event, stages in place */
	H_DIAMOND,  /* struct fizzbuzz_event, stages in place */
};

/* The Disruptor's FunctionEvent (pipeline). */
struct fn_event {
	uint64_t op1, op2; /* written by the producer: index, mix64(index) */
	uint64_t step1;    /* stage A: op1 + op2 */
	uint64_t step2;    /* stage B: step1 + 3 */
};

/* The Disruptor's FizzBuzzEvent (diamond). */
struct fizzbuzz_event {
	uint64_t value; /* written by the producer: index */
	uint64_t fizz;  /* stage A: value % 3 == 0 */
	uint64_t buzz;  /* stage B: value % 5 == 0 */
};

struct shape {
	enum perf_scenario scenario;
	unsigned producers, consumers;
	enum handler handler;
	uint32_t slot_size;
	uint32_t ring_flags;   /* ZIPC_RING_MULTI_PRODUCER for three_to_one */
	uint32_t group;        /* work-queue group of every consumer, 0 = none */
	int fixed_slots;       /* consumer k takes consumer slot k, for the barriers to name */
	uint32_t after[3];     /* consumer k's sequence barrier: the slots it follows */
};

static const struct shape shapes[] = {
	{ .scenario = PERF_ONE_TO_ONE, .producers = 1, .consumers = 1, .handler = H_VALUES,
	  .slot_size = sizeof(uint64_t) },
	{ .scenario = PERF_ONE_TO_THREE_MULTICAST, .producers = 1, .consumers = 3,
	  .handler = H_VALUES, .slot_size = sizeof(uint64_t) },
	{ .scenario = PERF_THREE_TO_ONE, .producers = 3, .consumers = 1, .handler = H_VALUES,
	  .slot_size = sizeof(uint64_t), .ring_flags = ZIPC_RING_MULTI_PRODUCER },
	{ .scenario = PERF_ONE_TO_THREE_PIPELINE, .producers = 1, .consumers = 3,
	  .handler = H_PIPELINE, .slot_size = sizeof(struct fn_event), .fixed_slots = 1,
	  .after = { 0, 1u << 0, 1u << 1 } },
	{ .scenario = PERF_ONE_TO_THREE_DIAMOND, .producers = 1, .consumers = 3,
	  .handler = H_DIAMOND, .slot_size = sizeof(struct fizzbuzz_event), .fixed_slots = 1,
	  .after = { 0, 0, 1u << 0 | 1u << 1 } },
	{ .scenario = PERF_WORK_QUEUE, .producers = 1, .consumers = 3, .handler = H_VALUES,
	  .slot_size = sizeof(uint64_t), .group = 1 },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* A consumer's running result: what it reports, and what the parent expects. */
struct tally {
	uint64_t count;  /* messages handled */
	uint64_t sum;    /* sum of the values (index / op1), mod 2^64: the Disruptor's check */
	uint64_t fold;   /* H_VALUES: sum of mix64(value); last stage: matches counted; else 0 */
	uint64_t errors; /* out of order, or a stage's in-place update wrong */
};

/* One role's report, on its own line of the shared page. */
struct role_out {
	_Alignas(128) int64_t t_start; /* producer: when it started publishing */
	int64_t t_end;                 /* consumer: when it finished its last message */
	struct tally tally;            /* consumer */
};

/*
 * Shared by the parent and every role (MAP_SHARED, inherited).  The roles
 * write their reports before they exit; the parent reads them after
 * reaping, which orders the reads after the writes.
 */
struct shape_shared {
	_Alignas(128) _Atomic uint32_t ready; /* roles set up and waiting at the start */
	_Alignas(128) _Atomic uint32_t go;    /* parent: 1 = start now */
	struct role_out out[PERF_MAX_CHILDREN];
};

/* Everything about one run, inherited by the children. */
struct shape_ctx {
	const struct shape *s;
	struct perf_run *run;
	struct shape_shared *sh;
	zipc_ring *ring;          /* the parent's (creator's) handle */
	uint64_t per_producer;    /* messages each producer publishes */
	uint64_t total;           /* messages through the shape */
	int64_t deadline;         /* CLOCK_MONOTONIC: roles give up waiting after this */
};

/* One role: producers first, then consumers. */
struct role {
	struct shape_ctx *x;
	unsigned index;
	zipc_ring *ring;          /* the handle this role uses */
	char name[24];            /* "producer 1", "stage B", "member 2" ... for messages */
};

static const struct shape *shape_of(enum perf_scenario s)
{
	for (size_t i = 0; i < NSHAPES; i++)
		if (shapes[i].scenario == s)
			return &shapes[i];
	return NULL;
}

void perf_shape_roles(enum perf_scenario s, unsigned *producers, unsigned *consumers)
{
	const struct shape *sh = shape_of(s);
	*producers = sh ? sh->producers : 0;
	*consumers = sh ? sh->consumers : 0;
}

uint32_t perf_shape_bytes(enum perf_scenario s)
{
	const struct shape *sh = shape_of(s);
	return sh ? sh->slot_size : 0;
}

uint64_t perf_shape_messages(enum perf_scenario s, uint64_t count)
{
	const struct shape *sh = shape_of(s);
	uint64_t per = sh ? count / sh->producers : 0;
	if (per > UINT32_MAX)
		per = UINT32_MAX; /* the index must fit the low half of a value */
	return sh ? (per ? per : 1) * sh->producers : 0;
}

/* splitmix64's finaliser: the hash of the work queue's sum and the pipeline's operand. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------- roles */

static void role_name(struct role *r)
{
	const struct shape *s = r->x->s;
	unsigned k = r->index - s->producers;
	if (r->index < s->producers)
		snprintf(r->name, sizeof(r->name), "producer %u", r->index);
	else if (s->fixed_slots)
		snprintf(r->name, sizeof(r->name), "stage %c", 'A' + k);
	else
		snprintf(r->name, sizeof(r->name), "%s %u", s->group ? "member" : "consumer", k);
}

/*
 * Arrive at the start: count ourselves ready (waking the parent) and sleep
 * until it says go.  Acquire on `go` pairs with the parent's release.
 */
static int start_barrier(const struct shape_ctx *x)
{
	struct shape_shared *sh = x->sh;
	atomic_fetch_add_explicit(&sh->ready, 1, memory_order_release);
	int rc = perf_futex_wake(&sh->ready, 1);
	if (rc < 0)
		return rc;
	while (!atomic_load_explicit(&sh->go, memory_order_acquire)) {
		int64_t left = x->deadline - perf_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		rc = perf_futex_wait(&sh->go, 0, left < SHAPE_SLICE_NS ? left : SHAPE_SLICE_NS);
		if (rc && rc != -EAGAIN && rc != -EINTR && rc != -ETIMEDOUT)
			return rc;
	}
	return 0;
}

/* Write message @i of producer @p into @slot. */
static inline void fill(enum handler h, void *slot, uint64_t p, uint64_t i)
{
	switch (h) {
	case H_VALUES: {
		uint64_t v = p << 32 | i;
		memcpy(slot, &v, sizeof(v));
		break;
	}
	case H_PIPELINE: {
		struct fn_event e = { .op1 = i, .op2 = mix64(i), .step1 = POISON, .step2 = POISON };
		memcpy(slot, &e, sizeof(e));
		break;
	}
	case H_DIAMOND: {
		struct fizzbuzz_event e = { .value = i, .fizz = POISON, .buzz = POISON };
		memcpy(slot, &e, sizeof(e));
		break;
	}
	}
}

/* Claim, fill and publish one slot per message, as the Disruptor's publishers do. */
static int producer_role(struct role *r)
{
	const struct shape_ctx *x = r->x;
	const struct zipc_wait_opts w = { .strategy = ZIPC_WAIT_BLOCK, .spin_ns = perf_spin_ns(x->run) };
	const int64_t timeout = perf_timeout_ns(x->run);
	const enum handler h = x->s->handler;
	const char *phase = "open";
	zipc_producer *p;
	int rc = zipc_producer_open(r->ring, &w, &p);

	if (rc)
		return perf_fail(x->run, r->name, phase, rc);
	phase = "start";
	rc = start_barrier(x);
	if (!rc) {
		phase = "publish";
		x->sh->out[r->index].t_start = perf_now_ns();
	}
	for (uint64_t i = 0; !rc && i < x->per_producer; i++) {
		uint64_t seq;
		rc = zipc_producer_claim(p, 1, timeout, &seq);
		if (rc)
			break;
		fill(h, zipc_producer_slot(p, seq), r->index, i);
		rc = zipc_producer_publish(p, seq, 1);
	}
	zipc_producer_close(p);
	return rc ? perf_fail(x->run, r->name, phase, rc) : 0;
}

/*
 * Per-producer order of H_VALUES: @next[p] is the index expected next from
 * producer p; a mismatch counts once and resynchronises.  Work-queue
 * members take batches in claim order, so each sees strictly increasing
 * values (*@last: the previous one, +1).
 */
static inline void check_order(const struct shape *s, uint64_t v, uint64_t *next, uint64_t *last,
			       struct tally *t)
{
	if (s->group) {
		t->errors += v + 1 <= *last;
		*last = v + 1;
		return;
	}
	uint64_t p = v >> 32, i = v & UINT32_MAX;
	if (p >= s->producers) {
		t->errors++;
	} else {
		t->errors += i != next[p];
		next[p] = i + 1;
	}
}

/* Consumer @k's work on one slot (stages update it in place for the stages after them). */
static inline void handle(const struct shape *s, unsigned k, void *slot, uint64_t *next, uint64_t *last,
			  struct tally *t)
{
	t->count++;
	switch (s->handler) {
	case H_VALUES: {
		uint64_t v;
		memcpy(&v, slot, sizeof(v));
		check_order(s, v, next, last, t);
		t->sum += v;
		t->fold += mix64(v);
		break;
	}
	case H_PIPELINE: {
		struct fn_event *e = slot;
		t->errors += e->op1 != next[0];
		next[0] = e->op1 + 1;
		t->sum += e->op1;
		if (k == 0) {
			e->step1 = e->op1 + e->op2;
		} else if (k == 1) {
			e->step2 = e->step1 + 3;
		} else {
			t->errors += e->step1 != e->op1 + e->op2 || e->step2 != e->op1 + e->op2 + 3;
			t->fold += (e->step2 & 4) == 4;
		}
		break;
	}
	case H_DIAMOND: {
		struct fizzbuzz_event *e = slot;
		t->errors += e->value != next[0];
		next[0] = e->value + 1;
		t->sum += e->value;
		if (k == 0) {
			e->fizz = e->value % 3 == 0;
		} else if (k == 1) {
			e->buzz = e->value % 5 == 0;
		} else {
			t->errors += e->fizz != (e->value % 3 == 0) || e->buzz != (e->value % 5 == 0);
			t->fold += e->fizz && e->buzz;
		}
		break;
	}
	}
}

/*
 * Wait, handle every available slot, release them together.  A consumer
 * that sees every message stops after the last one; a work-queue member
 * cannot know its share, so it stops at the end of stream (-EPIPE, once
 * the producer closed and everything was taken) and takes the time after
 * each batch instead.
 */
static int consumer_role(struct role *r)
{
	const struct shape_ctx *x = r->x;
	const struct shape *s = x->s;
	const unsigned k = r->index - s->producers;
	const int64_t timeout = perf_timeout_ns(x->run);
	struct zipc_consumer_opts o = {
		.wait = { .strategy = ZIPC_WAIT_BLOCK, .spin_ns = perf_spin_ns(x->run) },
		.after = s->after[k],
		.group = s->group,
	};
	struct tally t = { 0 };
	uint64_t next[3] = { 0 }, last = 0;
	int64_t t_end = 0;
	const char *phase = "open";
	zipc_consumer *c;
	int rc;

	if (s->fixed_slots) {
		o.flags = ZIPC_CONSUMER_SLOT;
		o.slot = k;
	}
	rc = zipc_consumer_open_opts(r->ring, &o, &c);
	if (rc)
		return perf_fail(x->run, r->name, phase, rc);
	phase = "start";
	rc = start_barrier(x);
	if (!rc)
		phase = "consume";
	while (!rc && (s->group || t.count < x->total)) {
		uint64_t seq;
		int64_t n = zipc_consumer_wait(c, timeout, &seq);
		if (n == -EPIPE && s->group)
			break;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		for (int64_t j = 0; j < n; j++)
			handle(s, k, zipc_consumer_slot_mut(c, seq + (uint64_t)j), next, &last, &t);
		rc = zipc_consumer_release(c, (uint32_t)n);
		if (s->group)
			t_end = perf_now_ns();
	}
	if (!s->group)
		t_end = perf_now_ns();
	zipc_consumer_close(c);
	x->sh->out[r->index].t_end = t_end;
	x->sh->out[r->index].tally = t;
	return rc ? perf_fail(x->run, r->name, phase, rc) : 0;
}

static int role_main(struct role *r)
{
	return r->index < r->x->s->producers ? producer_role(r) : consumer_role(r);
}

/* Attach our own handle of the parent's ring from the inherited memfd. */
static int attach(const struct shape_ctx *x, zipc_ring **out)
{
	return zipc_ring_from_fd(zipc_region_fd(zipc_ring_region(x->ring)), 0, out);
}

/* processes: the whole life of one role's child. */
static int process_main(void *arg)
{
	struct role *r = arg;
	int rc = attach(r->x, &r->ring);
	if (rc)
		return perf_fail(r->x->run, r->name, "attach", rc);
	rc = role_main(r);
	zipc_ring_close(r->ring);
	return rc;
}

/*
 * threads: a role thread.  Its peers cannot notice a thread's failure (the
 * process is still alive), so a failing role ends the whole child at once
 * and the parent reports the run as failed instead of waiting for timeouts.
 */
static void *role_thread(void *arg)
{
	if (role_main(arg))
		_exit(1);
	return NULL;
}

/* threads: the child that attaches once and runs every role as a thread. */
static int threads_main(void *arg)
{
	struct role *roles = arg;
	const struct shape_ctx *x = roles[0].x;
	const unsigned n = x->s->producers + x->s->consumers;
	pthread_t tid[PERF_MAX_CHILDREN];
	zipc_ring *ring;
	int rc = attach(x, &ring);

	if (rc)
		return perf_fail(x->run, "threads", "attach", rc);
	for (unsigned i = 0; i < n; i++) {
		roles[i].ring = ring;
		rc = -pthread_create(&tid[i], NULL, role_thread, &roles[i]);
		if (rc)
			return perf_fail(x->run, roles[i].name, "pthread_create", rc); /* _exit ends the rest */
	}
	for (unsigned i = 0; i < n; i++) {
		rc = -pthread_join(tid[i], NULL);
		if (rc)
			return perf_fail(x->run, roles[i].name, "pthread_join", rc);
	}
	zipc_ring_close(ring);
	return 0;
}

/*
 * Parent: once every role is ready, start them together.  Sleeps on the
 * `ready` count; gives up if a child ended early (it printed why) or at
 * the deadline.  Release on `go` pairs with the roles' acquire.
 */
static int release_roles(const struct shape_ctx *x, unsigned roles)
{
	struct shape_shared *sh = x->sh;
	for (;;) {
		uint32_t ready = atomic_load_explicit(&sh->ready, memory_order_acquire);
		if (ready == roles)
			break;
		int rc = perf_stopped();
		if (rc)
			return rc;
		rc = perf_futex_wait(&sh->ready, ready, SHAPE_SLICE_NS);
		if (rc && rc != -EAGAIN && rc != -EINTR && rc != -ETIMEDOUT)
			return rc;
	}
	atomic_store_explicit(&sh->go, 1, memory_order_release);
	int woken = perf_futex_wake(&sh->go, INT_MAX);
	return woken < 0 ? woken : 0;
}

/* The tally consumer @k must report (members: their sum), into @want. */
static void expected(const struct shape_ctx *x, unsigned k, struct tally *want)
{
	const struct shape *s = x->s;
	memset(want, 0, sizeof(*want));
	want->count = x->total;
	for (uint64_t p = 0; p < s->producers; p++) {
		for (uint64_t i = 0; i < x->per_producer; i++) {
			uint64_t v = p << 32 | i;
			want->sum += v;
			if (s->handler == H_VALUES)
				want->fold += mix64(v);
			else if (s->handler == H_PIPELINE && k == 2)
				want->fold += ((i + mix64(i) + 3) & 4) == 4;
			else if (s->handler == H_DIAMOND && k == 2)
				want->fold += i % 15 == 0;
		}
	}
}

/* Compare a reported tally with the expected one.  Return: 1 if it is wrong (printed). */
static int wrong(const struct shape_ctx *x, const char *who, const struct tally *got,
		 const struct tally *want)
{
	char label[96];
	if (got->count == want->count && got->sum == want->sum && got->fold == want->fold &&
	    got->errors == 0)
		return 0;
	perf_case_label(x->run->c, label, sizeof(label));
	fprintf(stderr,
		"zipc-perf: %s: %s: %llu messages, sum %#llx, result %llu, %llu out of order or wrong;"
		" expected %llu, %#llx, %llu, 0\n",
		label, who, (unsigned long long)got->count, (unsigned long long)got->sum,
		(unsigned long long)got->fold, (unsigned long long)got->errors,
		(unsigned long long)want->count, (unsigned long long)want->sum,
		(unsigned long long)want->fold);
	return 1;
}

/*
 * Check every consumer's end result (a work-queue group's as one: its
 * members' tallies add up to the stream, exactly once) and time the run.
 */
static void verify(const struct shape_ctx *x, struct role *roles)
{
	const struct shape *s = x->s;
	struct perf_run *run = x->run;
	struct tally want, group = { 0 };
	int64_t start = INT64_MAX, end = INT64_MIN;

	for (unsigned i = 0; i < s->producers; i++)
		if (x->sh->out[i].t_start < start)
			start = x->sh->out[i].t_start;
	for (unsigned k = 0; k < s->consumers; k++) {
		const struct role_out *o = &x->sh->out[s->producers + k];
		if (o->t_end > end)
			end = o->t_end;
		if (s->group) {
			group.count += o->tally.count;
			group.sum += o->tally.sum;
			group.fold += o->tally.fold;
			group.errors += o->tally.errors;
			continue;
		}
		expected(x, k, &want);
		run->errors += (uint64_t)wrong(x, roles[s->producers + k].name, &o->tally, &want);
	}
	if (s->group) {
		expected(x, 0, &want);
		run->errors += (uint64_t)wrong(x, "the group (exactly once)", &group, &want);
	}
	run->elapsed_ns = end > start ? end - start : 0;
	run->errors += run->elapsed_ns == 0;
}

/* Create the shape's ring: every consumer slot reserved, so nothing published is missed. */
static int ring_create(const struct shape *s, zipc_ring **out)
{
	struct zipc_ring_opts o = {
		.capacity = SHAPE_SLOTS,
		.slot_size = s->slot_size,
		.flags = s->ring_flags,
		.max_producers = s->producers,
		.max_consumers = s->consumers,
		.reserved_consumers = (int32_t)s->consumers,
		.wait = ZIPC_WAIT_BLOCK,
		.numa_node = -1,
		.group = -1,
		.region_flags = ZIPC_REGION_ANONYMOUS,
	};
	return zipc_ring_create(NULL, &o, out);
}

int perf_shape_run(struct perf_run *run)
{
	const struct shape *s = shape_of(run->c->scenario);
	struct role roles[PERF_MAX_CHILDREN];
	char label[96];
	int rc;

	if (!s)
		return perf_fail(run, "parent", "setup", -EINVAL);
	const unsigned n = s->producers + s->consumers;
	struct shape_ctx x = {
		.s = s,
		.run = run,
		.per_producer = perf_shape_messages(s->scenario, run->c->count) / s->producers,
	};
	x.total = x.per_producer * s->producers;
	x.sh = mmap(NULL, sizeof(*x.sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x.sh == MAP_FAILED)
		return perf_fail(run, "parent", "mmap", -errno);
	rc = ring_create(s, &x.ring);
	if (rc) {
		munmap(x.sh, sizeof(*x.sh));
		return perf_fail(run, "parent", "ring create", rc);
	}
	for (unsigned i = 0; i < n; i++) {
		roles[i] = (struct role){ .x = &x, .index = i };
		role_name(&roles[i]);
	}

	x.deadline = perf_now_ns() + perf_timeout_ns(run);
	perf_watch_start(run);
	if (run->c->mode == PERF_THREADS) {
		pid_t pid = perf_spawn(run, "threads", PERF_ON_BOTH_CPUS, threads_main, roles);
		rc = pid < 0 ? (int)pid : 0;
	} else {
		for (unsigned i = 0; i < n && !rc; i++) {
			pid_t pid = perf_spawn(run, roles[i].name, PERF_ON_BOTH_CPUS, process_main, &roles[i]);
			rc = pid < 0 ? (int)pid : 0;
		}
	}
	const char *phase = rc ? "fork" : "start";
	if (!rc)
		rc = release_roles(&x, n);
	unsigned failed = perf_reap_all(run, rc != 0);
	if (!rc && !failed && !perf_timed_out) {
		verify(&x, roles);
		run->sleeps = run->wakes = 0; /* every role's, from the ring's wait words */
		perf_ring_waits(x.ring, &run->sleeps, &run->wakes);
	}
	int crc = zipc_ring_close(x.ring);
	munmap(x.sh, sizeof(*x.sh));

	perf_case_label(run->c, label, sizeof(label));
	if (perf_timed_out) {
		fprintf(stderr, "zipc-perf: %s: run killed at the %u s timeout\n", label,
			run->env->timeout_s);
		return -ETIMEDOUT;
	}
	if (failed)
		return -EOWNERDEAD; /* the role's failure is described above */
	if (rc)
		return perf_fail(run, "parent", phase, rc);
	if (crc)
		return perf_fail(run, "parent", "ring close", crc);
	return 0;
}
