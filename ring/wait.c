/* SPDX-License-Identifier: MIT */
/*
 * ring/wait.c - the slow paths behind the inline hot path: gating-sequence
 * refresh, multi-producer claim, stamp scan, end-of-stream and dead
 * peer detection, and the three wait strategies (spin, yield, block).
 *
 * The blocking strategy is the Dekker pair described in
 * zipc/bits/ring_pvt.h (W1/S1): a sleeper announces itself in `sleepers`
 * with a read-modify-write, orders that before its re-check (a seq_cst
 * fence, or membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) when every waker
 * skips its own fence), re-checks, and sleeps on the shared futex word with
 * FUTEX_WAIT (never FUTEX_PRIVATE_FLAG: the word is shared between
 * processes).  Sleeps are sliced by liveness_ns so a dead peer is noticed.
 */
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring_int.h"
#include "uring_compat.h"


/* ------------------------------------------------------------ membarrier */

static pthread_once_t mb_once = PTHREAD_ONCE_INIT;
static int mb_ok;        /* this process registered: its wakers skip their fence */
static int mb_supported; /* the kernel has MEMBARRIER_CMD_GLOBAL_EXPEDITED */

/* A forked child has a new mm: register it too, before it publishes. */
static void mb_child(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0)
		mb_ok = 0; /* handles opened from now on fence for themselves */
}

static void mb_init(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	    !(cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		return;
	/* sleepers always issue the barrier when the kernel has it: a waker
	 * in another process may have registered even if we do not */
	mb_supported = 1;
	const char *off = getenv("ZIPC_NO_MEMBARRIER");
	if (off && off[0] && off[0] != '0')
		return; /* our wakers keep their own fence */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0) {
		mb_ok = 1;
		pthread_atfork(NULL, NULL, mb_child);
	}
}

int zipc__fenceless(void)
{
	pthread_once(&mb_once, mb_init);
	return mb_ok;
}

/* S1: order our `sleepers` announcement before the re-check. */
void zipc__sleeper_barrier(void)
{
	atomic_thread_fence(memory_order_seq_cst); /* pairs with a fencing waker's W1 fence */
	/* A fenceless waker (any registered process) only has a compiler
	 * barrier; this IPI-based barrier on every CPU running a registered
	 * process makes its publish visible or its `sleepers` load see us.
	 * Issued whenever the kernel has it, registered or not ourselves. */
	pthread_once(&mb_once, mb_init);
	if (mb_supported)
		syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
}

/* ----------------------------------------------------------------- futex */

void zipc__futex_sleep(_Atomic uint32_t *word, uint32_t val, int64_t ns)
{
	if (ns < 1000)
		ns = 1000;
	struct timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
	/* shared futex: no FUTEX_PRIVATE_FLAG (the word is in a MAP_SHARED memfd) */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts, NULL, 0);
}

void zipc__wake(struct zipc_waitword *w)
{
	/* release: a sleeper that sees the new value sees our publish */
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
	syscall(SYS_futex, (uint32_t *)&w->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	atomic_fetch_add_explicit(&w->wakes, 1, memory_order_relaxed);
}

void zipc__wake_if_sleepers(struct zipc_waitword *w)
{
	atomic_thread_fence(memory_order_seq_cst); /* W1, slow path: always fence */
	if (atomic_load_explicit(&w->sleepers, memory_order_relaxed))
		zipc__wake(w);
}

/* ---------------------------------------------------------------- peers */

int zipc__peer_alive(const struct zipc_ring_peer *e)
{
	/* acquire pairs with entry_fill()'s release store of the pid */
	int32_t pid = atomic_load_explicit(&e->pid, memory_order_acquire);
	uint64_t start = atomic_load_explicit(&e->start, memory_order_relaxed);
	if (pid == 0)
		return 1; /* ACTIVE, owner still writing its identity */
	return zipc_pid_alive(pid, start);
}

void zipc__wait_resolve(const struct zipc_ring *r, const struct zipc_wait_opts *in,
			struct zipc_wait_opts *out)
{
	memset(out, 0, sizeof(*out));
	if (in)
		*out = *in;
	if (out->strategy == ZIPC_WAIT_DEFAULT)
		out->strategy = r->p.wait;
	if (out->spin_ns == 0)
		out->spin_ns = 20000;
	if (out->liveness_ns <= 0)
		out->liveness_ns = 10 * ZIPC_MSEC;
}

/* ------------------------------------------------------------ wait loop */

int64_t zipc__wait_loop(const struct zipc__waiter *wt, int64_t timeout_ns)
{
	const struct zipc_wait_opts *o = wt->opts;
	struct zipc_waitword *w = wt->w;
	int64_t t = zipc_now_ns();
	int64_t deadline = timeout_ns < 0 ? INT64_MAX : t + timeout_ns;
	int64_t spin_until = o->strategy == ZIPC_WAIT_SPIN ? INT64_MAX : t + (int64_t)o->spin_ns;
	int64_t next_live = t + o->liveness_ns;
	/* single writer: a plain relaxed increment, no locked instruction */
	atomic_store_explicit(&wt->me->waits, atomic_load_explicit(&wt->me->waits, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	for (unsigned iter = 1;; iter++) {
		int64_t r = wt->check(wt->arg);
		if (r != -EAGAIN)
			return r;
		if (t < spin_until && (iter & 7) != 0) {
			zipc__cpu_relax();
			continue;
		}
		t = zipc_now_ns();
		if (t >= deadline) {
			atomic_fetch_add_explicit(&wt->me->timeouts, 1, memory_order_relaxed);
			return -ETIMEDOUT;
		}
		if (t >= next_live) {
			int rc = wt->live(wt->arg);
			if (rc) {
				r = wt->check(wt->arg); /* a last look: done just before the death? */
				return r != -EAGAIN ? r : rc;
			}
			next_live = t + o->liveness_ns;
		}
		if (t < spin_until) {
			zipc__cpu_relax();
			continue;
		}
		if (o->strategy == ZIPC_WAIT_YIELD) {
			sched_yield();
			continue;
		}
		/* ZIPC_WAIT_BLOCK / URING: announce, re-check, sleep (S1) */
		/* arm, then announce: the next waker makes one system call for
		 * us (and any other sleeper); a waker that sees the announcement
		 * (acquire) sees the arming, released by the seq_cst RMW */
		atomic_store_explicit(&w->armed, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->sleepers, 1, memory_order_seq_cst);
		uint32_t v = atomic_load_explicit(&w->seq, memory_order_acquire);
		zipc__sleeper_barrier();
		r = wt->check(wt->arg);
		if (r == -EAGAIN) {
			atomic_fetch_add_explicit(&wt->me->sleeps, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
			int64_t until = deadline < next_live ? deadline : next_live;
			if (o->strategy != ZIPC_WAIT_URING ||
			    zipc__uring_futex_wait(&w->seq, v, until - t) == -EOPNOTSUPP)
				zipc__futex_sleep(&w->seq, v, until - t);
		}
		atomic_fetch_sub_explicit(&w->sleepers, 1, memory_order_relaxed);
		if (r != -EAGAIN)
			return r;
		t = zipc_now_ns();
	}
}

/* ------------------------------------------------------------- producer */

int zipc__producer_gate(zipc_producer *p, uint64_t end)
{
	struct zipc_ring *r = p->ring;
	/* pairs with a joining consumer's seq_cst ACTIVE store: either we see
	 * it, or its re-read of the cursor sees what we published */
	atomic_thread_fence(memory_order_seq_cst);
	/* MP: no sequence read below can be more than a ring behind this */
	uint64_t low = p->mp ? atomic_load_explicit(&p->hdr->cursor, memory_order_acquire) : p->next;
	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		struct zipc_ring_peer *e = &r->cons[i];
		uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st != ZIPC_PEER_ACTIVE && st != ZIPC_PEER_RESERVED)
			continue;
		/* P2: the consumer's reads of those slots happened before; pairs with C2 */
		uint64_t s = atomic_load_explicit(&e->sequence, memory_order_acquire);
		if (s < min)
			min = s;
	}
	/* the highest sequence any consumer can legitimately have reached,
	 * read after the sequences (a consumer may pass an earlier read) */
	uint64_t top = p->mp ? atomic_load_explicit(&p->hdr->cursor, memory_order_acquire) : p->published;
	if (min == UINT64_MAX) {
		min = top; /* nobody gates: late joiners start at the cursor */
	} else if (min > top || (low > min && low - min > p->capacity)) {
		return -EPROTO; /* a consumer sequence in shared memory is impossible */
	}
	if (min > p->gate)
		p->gate = min;
	return end - p->gate > p->capacity ? -EAGAIN : 0;
}

int zipc__producer_mp_try_claim(zipc_producer *p, uint32_t n, uint64_t *seq)
{
	if (n - 1u >= p->capacity)
		return -EINVAL;
	struct zipc_ring_hdr *h = p->hdr;
	uint64_t cur = atomic_load_explicit(&h->cursor, memory_order_relaxed);
	for (;;) {
		if (cur + n - p->gate > p->capacity) {
			int rc = zipc__producer_gate(p, cur + n);
			if (rc)
				return rc;
		}
		/* Record the claim before making it: every claimed but
		 * unpublished sequence is always covered by its live claimer's
		 * record (a failed attempt only over-covers), so a consumer
		 * never marks a live producer's slot lost.  The record spans
		 * every outstanding claim of this producer. */
		uint64_t lo = p->outstanding ? p->rec_lo : cur;
		atomic_store_explicit(&p->me->sequence, lo, memory_order_relaxed);
		atomic_store_explicit(&p->me->claim_end, cur + n, memory_order_relaxed);
		/* release: a consumer that sees the claim (acquire on the
		 * cursor) sees the record; slots themselves are published
		 * through their stamps (P1), and the acquire gating loads above keep
		 * our slot writes after them */
		if (atomic_compare_exchange_weak_explicit(&h->cursor, &cur, cur + n, memory_order_release,
							  memory_order_relaxed))
			break;
		zipc__cpu_relax();
	}
	if (!p->outstanding)
		p->rec_lo = cur;
	p->outstanding += n;
	*seq = cur;
	return 0;
}

/* A producer blocked on a full ring: is the consumer gating it dead? */
int zipc__producer_liveness(zipc_producer *p, uint64_t end)
{
	struct zipc_ring *r = p->ring;
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		struct zipc_ring_peer *e = &r->cons[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE)
			continue;
		uint64_t s = atomic_load_explicit(&e->sequence, memory_order_acquire);
		if (end - s > p->capacity && !zipc__peer_alive(e))
			return -EOWNERDEAD;
	}
	return 0;
}

/* The end of the claim a waiting producer needs room for. */
static uint64_t claim_end(zipc_producer *p, uint32_t n)
{
	uint64_t base = p->mp ? atomic_load_explicit(&p->hdr->cursor, memory_order_relaxed) : p->next;
	return base + n;
}

struct claim_arg {
	zipc_producer *p;
	uint32_t n;
	uint64_t *seq;
	uint64_t target;  /* flush: sequence every consumer must reach */
	int64_t grow_at;  /* grow on timeout: when (0 = never) */
};

static int64_t claim_check(void *arg)
{
	struct claim_arg *a = arg;
	int rc = zipc_producer_try_claim(a->p, a->n, a->seq);
	if (rc == -EAGAIN && a->grow_at && zipc_now_ns() >= a->grow_at) {
		/* grow on timeout: continue in a successor twice the size */
		a->grow_at = 0;
		if (zipc__producer_grow(a->p) == 0)
			rc = zipc_producer_try_claim(a->p, a->n, a->seq);
	}
	return rc;
}

static int claim_live(void *arg)
{
	struct claim_arg *a = arg;
	return zipc__producer_liveness(a->p, claim_end(a->p, a->n));
}

int zipc__producer_claim_wait(zipc_producer *p, uint32_t n, int64_t timeout_ns, uint64_t *seq)
{
	struct claim_arg a = {.p = p, .n = n, .seq = seq};
	int64_t grow = p->ring->p.grow_after_ns;
	if (grow > 0 && (timeout_ns < 0 || timeout_ns > grow))
		a.grow_at = zipc_now_ns() + grow;
	struct zipc__waiter wt = {.opts = &p->wait, .w = &p->hdr->prod_wait, .me = p->me,
			    .check = claim_check, .live = claim_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

static int64_t flush_check(void *arg)
{
	struct claim_arg *a = arg;
	/* end = target + capacity: "room for a whole ring" means every
	 * gating consumer has released everything below target */
	int rc = zipc__producer_gate(a->p, a->target + a->p->capacity);
	return rc == 0 && a->p->gate >= a->target ? 0 : (rc ? rc : -EAGAIN);
}

static int flush_live(void *arg)
{
	struct claim_arg *a = arg;
	return zipc__producer_liveness(a->p, a->target + a->p->capacity);
}

int zipc_producer_flush(zipc_producer *p, int64_t timeout_ns)
{
	if (!p)
		return -EINVAL;
	struct claim_arg a = {.p = p};
	a.target = p->mp ? atomic_load_explicit(&p->me->claim_end, memory_order_relaxed) : p->published;
	int64_t r = flush_check(&a);
	if (r != -EAGAIN || timeout_ns == 0)
		return (int)r;
	struct zipc__waiter wt = {.opts = &p->wait, .w = &p->hdr->prod_wait, .me = p->me,
			    .check = flush_check, .live = flush_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

/* ------------------------------------------------------------- consumer */

/* Most slots one refresh scans: bounds the time to the first message. */
#define SCAN_MAX 1024u

/*
 * Published watermark from c->seq: the first sequence in [c->seq, limit)
 * whose stamp is not its own (C1 on every stamp: the slot's contents are
 * visible once its stamp is).  *lost is set if that first slot is a lost
 * record.
 */
static uint64_t scan_stamps(zipc_consumer *c, uint64_t limit, int *lost)
{
	uint64_t e = c->seq;
	for (; e != limit; e++) {
		uint64_t v = atomic_load_explicit(zipc__stamp(c->data, c->mask, c->stride, e), memory_order_acquire);
		if (v != e + 1) {
			*lost = e == c->seq && v == ((e + 1) | ZIPC_STAMP_LOST);
			break;
		}
	}
	return e;
}

/* Nothing to read at c->seq: grown ring, end of stream, or just empty? */
static int64_t consumer_empty(zipc_consumer *c, uint64_t *seq)
{
	struct zipc_ring_hdr *h = c->hdr;
	/* acquire pairs with the growing producer's release of `sealed` */
	if (atomic_load_explicit(&h->ctl.sealed, memory_order_acquire) &&
	    c->seq >= atomic_load_explicit(&h->ctl.sealed_at, memory_order_relaxed)) {
		int rc = zipc__consumer_follow(c);
		if (rc)
			return rc;
		return zipc__consumer_refresh(c, seq);
	}
	/* attaches before active: a producer increments active, then attaches
	 * (release), so seeing an attach means seeing its active count; active
	 * acquire pairs with the release decrement in zipc_producer_close(),
	 * so everything the last producer published is visible below */
	if (atomic_load_explicit(&h->ctl.producer_attaches, memory_order_acquire) == 0 ||
	    atomic_load_explicit(&h->ctl.producers_active, memory_order_acquire) != 0)
		return -EAGAIN;
	int lost = 0;
	if (scan_stamps(c, c->seq + 1, &lost) != c->seq || lost)
		return -EAGAIN; /* published just before the close: read it first */
	uint64_t cur = atomic_load_explicit(&h->cursor, memory_order_acquire);
	if (c->group)
		return cur > c->seq ? -EAGAIN : -EPIPE; /* a member may claim past the end */
	if (cur < c->seq || cur - c->seq > c->capacity)
		return -EPROTO; /* cursor behind us or more than a lap ahead: corrupted */
	if (cur != c->seq)
		return -EAGAIN; /* claimed, or behind a barrier: not the end yet */
	return -EPIPE;
}

/* Group member: take the next batch from the group's claim sequence, as the
 * Disruptor's WorkProcessor: make the start our gating sequence, then CAS. */
static void group_claim(zipc_consumer *c)
{
	struct zipc_ring_hdr *h = c->hdr;
	uint64_t w = atomic_load_explicit(c->work, memory_order_acquire);
	uint64_t k;
	for (;;) {
		uint64_t pub = atomic_load_explicit(&h->cursor, memory_order_relaxed);
		k = pub > w && pub - w < c->batch ? pub - w : (pub > w ? c->batch : 1);
		/* seq_cst: our gating sequence is visible before the claim is,
		 * so the producer never laps a sequence we are about to read */
		atomic_store_explicit(c->seqp, w, memory_order_seq_cst);
		if (atomic_compare_exchange_weak_explicit(c->work, &w, w + k, memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	c->seq = c->ready = w;
	c->claim_end = w + k;
}

/* Lowest sequence released by every stage this one follows. */
static uint64_t barrier_min(zipc_consumer *c)
{
	struct zipc_ring_peer *tab = c->ring->cons;
	uint64_t min = UINT64_MAX;
	for (uint32_t m = c->after; m; m &= m - 1) {
		struct zipc_ring_peer *e = &tab[__builtin_ctz(m)];
		uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st != ZIPC_PEER_ACTIVE && st != ZIPC_PEER_RESERVED)
			return c->seq; /* a stage we follow is absent: wait for it */
		/* C2 of the upstream stage: its reads and in-place writes of
		 * the slots below happen-before our reads */
		uint64_t q = atomic_load_explicit(&e->sequence, memory_order_acquire);
		if (q < min)
			min = q;
	}
	return min;
}

int64_t zipc__consumer_refresh(zipc_consumer *c, uint64_t *seq)
{
	c->lost = 0;
	if (c->group && c->seq == c->claim_end)
		group_claim(c);
	uint64_t s = c->seq;
	uint64_t limit = s + (c->capacity < SCAN_MAX ? c->capacity : SCAN_MAX);
	if (c->group && limit > c->claim_end)
		limit = c->claim_end;
	int lost = 0;
	uint64_t hi = scan_stamps(c, limit, &lost);
	uint64_t pub = hi;
	if (c->after) {
		uint64_t b = barrier_min(c);
		if (b < hi)
			hi = b < s ? s : b;
	}
	if (hi == s) {
		if (lost && (!c->after || barrier_min(c) > s)) {
			c->lost = 1; /* release(1) skips it */
			*seq = s;
			return -ENOMSG;
		}
		if (pub > s || lost)
			return -EAGAIN; /* waiting for a stage we follow */
		return consumer_empty(c, seq);
	}
	c->ready = hi;
	*seq = s;
	return (int64_t)(hi - s);
}

int zipc__consumer_release(zipc_consumer *c, uint32_t n)
{
	if (n != 1 || !c->lost || c->ready != c->seq)
		return n == 0 ? 0 : -EINVAL;
	/* skip the lost record as if it had been read */
	c->lost = 0;
	c->seq++;
	c->ready = c->seq;
	atomic_store_explicit(c->seqp, c->seq, memory_order_release); /* C2 */
	zipc__wake_if_sleepers(&c->hdr->prod_wait);
	return 0;
}

/*
 * MP: mark lost every slot from c->seq that is claimed but unpublished, not
 * covered by a live producer's claim record, and stays so across two
 * liveness checks while some producer is dead (Aeron's unblock of a dead
 * producer's claim).  Returns the number of slots marked.
 */
static unsigned mark_lost(zipc_consumer *c, uint64_t claimed)
{
	struct zipc_ring *r = c->ring;
	unsigned marked = 0;
	for (uint64_t q = c->seq; q != claimed && q - c->seq < c->capacity; q++) {
		_Atomic uint64_t *w = zipc__stamp(c->data, c->mask, c->stride, q);
		uint64_t v = atomic_load_explicit(w, memory_order_acquire);
		if (v == q + 1 || v == ((q + 1) | ZIPC_STAMP_LOST))
			continue;
		int covered = 0;
		for (unsigned i = 0; i < r->p.max_producers && !covered; i++) {
			struct zipc_ring_peer *e = &r->prod[i];
			if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE ||
			    !zipc__peer_alive(e))
				continue;
			uint64_t lo = atomic_load_explicit(&e->sequence, memory_order_relaxed);
			uint64_t hi = atomic_load_explicit(&e->claim_end, memory_order_relaxed);
			covered = q >= lo && q < hi;
		}
		if (covered)
			break; /* a live producer will publish it: stop here */
		/* release: pairs with C1 like a publish (nothing to see, but
		 * the order of the stream is kept) */
		if (atomic_compare_exchange_strong_explicit(w, &v, (q + 1) | ZIPC_STAMP_LOST, memory_order_release,
							    memory_order_relaxed)) {
			atomic_fetch_add_explicit(&c->hdr->ctl.lost, 1, memory_order_relaxed);
			marked++;
		}
	}
	return marked;
}

/*
 * A consumer waiting on an empty ring: has a peer it depends on died?
 * A stage it follows died: -EOWNERDEAD.  SP: the producer is dead and we
 * have read everything it published.  MP: a claimed slot stays unpublished
 * for two checks while a producer is dead -> marked lost (the wait then
 * reports -ENOMSG); every producer dead and nothing claimed -> -EOWNERDEAD.
 */
int zipc__consumer_liveness(zipc_consumer *c, int *strikes, uint64_t *hole)
{
	struct zipc_ring *r = c->ring;
	for (uint32_t m = c->after; m; m &= m - 1) {
		struct zipc_ring_peer *e = &r->cons[__builtin_ctz(m)];
		if (atomic_load_explicit(&e->state, memory_order_acquire) == ZIPC_PEER_ACTIVE && !zipc__peer_alive(e))
			return -EOWNERDEAD;
	}
	unsigned active = 0, dead = 0;
	for (unsigned i = 0; i < r->p.max_producers; i++) {
		struct zipc_ring_peer *e = &r->prod[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE)
			continue;
		active++;
		dead += !zipc__peer_alive(e);
	}
	if (dead == 0 && active != 0) {
		*strikes = 0;
		return 0;
	}
	if (!c->mp)
		return dead ? -EOWNERDEAD : 0; /* no producer at all: end of stream decides */
	uint64_t claimed = atomic_load_explicit(&c->hdr->cursor, memory_order_acquire);
	if (claimed == c->seq || (c->group && claimed < c->seq)) {
		*strikes = 0;
		return dead && dead == active ? -EOWNERDEAD : 0;
	}
	/* a hole with a dead producer, or with no producer left at all */
	/* a hole at c->seq: the same hole twice in a row, then unblock it */
	if (*hole != c->seq || ++*strikes < 2) {
		if (*hole != c->seq)
			*strikes = 1;
		*hole = c->seq;
		return 0;
	}
	*strikes = 0;
	mark_lost(c, claimed);
	return 0;
}

struct peek_arg {
	zipc_consumer *c;
	uint64_t *seq;
	int strikes;
	uint64_t hole;
};

static int64_t peek_check(void *arg)
{
	struct peek_arg *a = arg;
	return zipc_consumer_try_peek(a->c, a->seq);
}

static int peek_live(void *arg)
{
	struct peek_arg *a = arg;
	return zipc__consumer_liveness(a->c, &a->strikes, &a->hole);
}

int64_t zipc__consumer_wait(zipc_consumer *c, int64_t timeout_ns, uint64_t *seq)
{
	struct peek_arg a = {.c = c, .seq = seq, .hole = UINT64_MAX};
	struct zipc__waiter wt = {.opts = &c->wait, .w = zipc__consumer_waitword(c), .me = c->me,
			    .check = peek_check, .live = peek_live, .arg = &a};
	return zipc__wait_loop(&wt, timeout_ns);
}
