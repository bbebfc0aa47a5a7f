/* SPDX-License-Identifier: MIT */
/*
 * zipc/bits/ring_pvt.h - shared-memory layout of a ring and the inline hot
 * path.  Do not include directly: include <zipc/ring.h>.  Nothing here is API
 * except the layout, which is the cross-process ABI (versioned by
 * ZIPC_RING_LAYOUT and documented in docs/ARCHITECTURE.md).
 *
 * Memory-ordering edges (every non-relaxed access names its pair):
 *   P1  producer: slot writes, then the slot's stamp store-release
 *   C1  consumer: slot stamp load-acquire, then slot reads  pairs with P1
 *   C2  consumer: reads of the slots, then its sequence store-release
 *   P2  producer: consumer sequences load-acquire (gating)  pairs with C2
 *   W1  waker: publish (P1 or C2), then fence, then load `sleepers`
 *   S1  sleeper: RMW `sleepers` (seq_cst), fence/membarrier, re-check,
 *       futex_wait.  W1 and S1 form a Dekker pair: either the waker sees the
 *       sleeper and wakes it, or the sleeper's re-check sees the publish.
 *       When the kernel offers MEMBARRIER_CMD_GLOBAL_EXPEDITED, every zipc
 *       process registers for it, the waker's fence is compiler-only and
 *       the sleeper pays for the barrier with membarrier() just before it
 *       sleeps (an asymmetric fence, as folly's asymmetricLightBarrier).
 */
#ifndef ZIPC_RING_H
#error "include <zipc/ring.h>, not <zipc/bits/ring_pvt.h>"
#endif
#ifndef ZIPC_RING_PVT_H
#define ZIPC_RING_PVT_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics in shared memory must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics in shared memory must be lock-free");

/** One hot line: two 64-byte cache lines, against adjacent-line prefetch. */
#define ZIPC_LINE 128u
/** "ZIPCRING" little-endian: first word of a ring's area. */
#define ZIPC_RING_MAGIC 0x474e49524350495aULL
/** Layout version of struct zipc_ring_hdr and the tables behind it. */
#define ZIPC_RING_LAYOUT 1u

/* Immutable geometry, written by the creator before the region is published. */
struct zipc_ring_params {
	uint64_t magic;          /* ZIPC_RING_MAGIC */
	uint32_t layout;         /* ZIPC_RING_LAYOUT */
	uint32_t flags;          /* enum zipc_ring_flags */
	uint64_t capacity;       /* slots, power of two */
	uint32_t slot_size;      /* usable bytes per slot */
	uint32_t slot_stride;    /* bytes between slots: 8 (stamp) + slot_size rounded up to 8 */
	uint32_t max_producers;  /* entries in the producer table */
	uint32_t max_consumers;  /* entries in the consumer table */
	uint32_t wait;           /* default enum zipc_wait_strategy */
	int32_t numa_node;       /* node the pages were bound to, or -1 */
	uint64_t prod_off;       /* offsets from the ring's start, each ZIPC_LINE-aligned */
	uint64_t cons_off;
	uint64_t data_off;
	uint64_t total_size;     /* bytes from the ring's start to the end of the guard line */
	uint64_t groups_off;     /* ZIPC_RING_MAX_GROUPS work sequences, one line each */
	int64_t grow_after_ns;   /* grow on timeout (SP only); 0 = never */
};

/* A futex word with its announced sleepers; one line per direction. */
struct zipc_waitword {
	_Atomic uint32_t seq;      /* futex word: bumped by each waker */
	_Atomic uint32_t sleepers; /* announced sleepers (S1) */
	_Atomic uint64_t wakes;    /* FUTEX_WAKE calls issued */
	_Atomic uint64_t sleeps;   /* futex waits entered */
	_Atomic uint32_t armed;    /* 1: a sleeper announced since the last wake (one wake per sleep) */
	uint32_t reserved;
};

/* Rarely written ring-wide control. */
struct zipc_ring_ctl {
	_Atomic uint32_t producers_active;
	_Atomic uint32_t consumers_active;
	_Atomic uint64_t producer_attaches;
	_Atomic uint64_t consumer_attaches;
	/* grow on timeout: once `sealed` is set (release), nothing is
	 * published at or after `sealed_at` here; it continues in the ring
	 * named `successor` at the same sequence */
	_Atomic uint32_t sealed;
	uint32_t generation;     /* 0 for the first ring of a chain */
	_Atomic uint64_t sealed_at;
	char successor[56];
	_Atomic uint64_t lost;   /* MP slots marked lost (claimed by a producer that died) */
};

/*
 * Every slot starts with its stamp: sequence + 1 once the slot of that
 * sequence is published (as the Disruptor's MultiProducerSequencer
 * availability buffer, but inside the slot's own cache line, so a consumer
 * learns of a message and reads it with one line transfer).  Sequence s is
 * published iff stamp == s + 1; an older lap's stamp never matches.
 * ZIPC_STAMP_LOST marks a slot whose MP producer died before publishing.
 */
#define ZIPC_STAMP_BYTES 8u
#define ZIPC_STAMP_LOST (1ull << 63)

/* A work-queue group's shared claim sequence: next sequence to take. */
struct zipc_ring_group {
	_Alignas(ZIPC_LINE) _Atomic uint64_t work;
};

/* The ring's header, at the start of the region's kind area. */
struct zipc_ring_hdr {
	_Alignas(ZIPC_LINE) struct zipc_ring_params p;
	_Alignas(ZIPC_LINE) _Atomic uint64_t cursor; /* SP: published; MP: claimed */
	_Alignas(ZIPC_LINE) struct zipc_waitword cons_wait; /* consumers sleep here */
	_Alignas(ZIPC_LINE) struct zipc_waitword prod_wait; /* producers sleep here */
	_Alignas(ZIPC_LINE) struct zipc_waitword stage_wait; /* stages behind a barrier sleep here */
	_Alignas(ZIPC_LINE) struct zipc_ring_ctl ctl;
};

/* One producer or consumer registration: two lines. */
struct zipc_ring_peer {
	/* registration and slow-path counters (owner and reapers write) */
	_Alignas(ZIPC_LINE) _Atomic uint32_t state; /* enum zipc_peer_state */
	_Atomic int32_t pid;
	_Atomic uint64_t start;    /* owner's start ticks */
	_Atomic uint32_t wait;     /* enum zipc_wait_strategy of the end */
	_Atomic uint32_t group;    /* consumer: work-queue group, 0 = none */
	_Atomic uint64_t waits;
	_Atomic uint64_t sleeps;
	_Atomic uint64_t timeouts;
	_Atomic uint32_t after;    /* consumer: mask of consumer slots it follows (barrier) */
	uint32_t reserved0;
	/* the hot line: a consumer's gating sequence; a producer's last claim */
	_Alignas(ZIPC_LINE) _Atomic uint64_t sequence;
	_Atomic uint64_t claim_end;
};

_Static_assert(sizeof(struct zipc_ring_params) <= ZIPC_LINE, "params fit one line");
_Static_assert(sizeof(struct zipc_ring_ctl) <= ZIPC_LINE, "control fits one line");
_Static_assert(sizeof(struct zipc_ring_group) == ZIPC_LINE, "a group's work sequence has its line");
_Static_assert(sizeof(struct zipc_ring_hdr) == 6 * ZIPC_LINE, "ring header is six lines");
_Static_assert(sizeof(struct zipc_ring_peer) == 2 * ZIPC_LINE, "peer entry is two lines");
_Static_assert(__builtin_offsetof(struct zipc_ring_hdr, cursor) == ZIPC_LINE, "cursor on its own line");

/* Per-process producer handle (private fields). */
struct zipc_producer {
	struct zipc_ring_hdr *hdr;
	unsigned char *data;
	uint64_t mask;
	uint64_t capacity;
	uint32_t stride;
	uint32_t mp;
	int fenceless;
	unsigned index;
	uint64_t next;      /* SP: next sequence to claim */
	uint64_t published; /* SP: next sequence to publish */
	uint64_t gate;      /* cached minimum gating sequence (a lower bound) */
	struct zipc_ring_peer *me;
	struct zipc_ring *ring;
	struct zipc_wait_opts wait;
	uint64_t outstanding; /* MP: claimed, not yet published (slots) */
	uint64_t rec_lo;      /* MP: start of the oldest outstanding claim */
	struct zipc_ring *owned; /* successor ring this end moved to (grow), or NULL */
	struct zipc_ring *origin; /* the ring the end was opened on */
};

/* Per-process consumer handle (private fields). */
struct zipc_consumer {
	struct zipc_ring_hdr *hdr;
	unsigned char *data;
	uint64_t mask;
	uint64_t capacity;
	uint32_t stride;
	uint32_t mp;
	int fenceless;
	unsigned index;
	uint64_t seq;   /* next sequence to read */
	uint64_t ready; /* every sequence below is readable (cached cursor, barrier, claim) */
	_Atomic uint64_t *seqp;
	uint32_t after;  /* mask of consumer slots this stage follows */
	uint32_t group;  /* work-queue group, 0 = none */
	uint32_t batch;  /* group: most slots taken per claim */
	uint32_t lost;   /* 1 if the slot at seq is a lost record (MP) */
	uint64_t claim_end;             /* group: end of the current claim */
	_Atomic uint64_t *work;         /* group: shared claim sequence */
	struct zipc_ring *owned;        /* successor ring this end moved to (grow), or NULL */
	struct zipc_ring *origin;       /* the ring the end was opened on */
	struct zipc_ring_peer *me;
	struct zipc_ring *ring;
	struct zipc_wait_opts wait;
};

/* Slow paths behind the inline functions (exported, not for direct use). */
ZIPC_API int zipc__producer_gate(zipc_producer *p, uint64_t end);
ZIPC_API int zipc__producer_mp_try_claim(zipc_producer *p, uint32_t n, uint64_t *seq);
ZIPC_API int zipc__producer_claim_wait(zipc_producer *p, uint32_t n, int64_t timeout_ns, uint64_t *seq);
ZIPC_API int64_t zipc__consumer_refresh(zipc_consumer *c, uint64_t *seq);
ZIPC_API int64_t zipc__consumer_wait(zipc_consumer *c, int64_t timeout_ns, uint64_t *seq);
ZIPC_API int zipc__consumer_release(zipc_consumer *c, uint32_t n);
ZIPC_API void zipc__wake(struct zipc_waitword *w);

/* W1: order the publish before the load of `sleepers`. */
ZIPC_INLINE void zipc__waker_fence(int fenceless)
{
	if (fenceless)
		atomic_signal_fence(memory_order_seq_cst); /* sleeper runs membarrier() (S1) */
	else
		atomic_thread_fence(memory_order_seq_cst); /* pairs with the sleeper's seq_cst RMW (S1) */
}

/*
 * W1, after the fence: wake @w's sleepers, once per sleep.  A sleeper sets
 * `armed` before its S1 barrier; the first waker to see it exchanges it
 * back to 0 and makes the system call, later ones (the sleeper has not run
 * yet to withdraw) skip it.  By the fence pair, a waker that reads 0 here
 * while a sleeper missed its publish would contradict the S1/W1 order.
 */
ZIPC_INLINE void zipc__wake_armed(struct zipc_waitword *w)
{
	/* acquire: pairs with the sleeper's announcing RMW, so its arming is seen */
	if (atomic_load_explicit(&w->sleepers, memory_order_acquire) &&
	    atomic_load_explicit(&w->armed, memory_order_relaxed) &&
	    atomic_exchange_explicit(&w->armed, 0, memory_order_relaxed))
		zipc__wake(w);
}

ZIPC_INLINE int zipc_producer_try_claim(zipc_producer *p, uint32_t n, uint64_t *seq)
{
	if (p->mp)
		return zipc__producer_mp_try_claim(p, n, seq);
	if (n - 1u >= p->capacity)
		return -EINVAL;
	uint64_t next = p->next;
	if (next + n - p->gate > p->capacity) {
		int rc = zipc__producer_gate(p, next + n);
		if (rc)
			return rc;
	}
	*seq = next;
	p->next = next + n;
	return 0;
}

ZIPC_INLINE int zipc_producer_claim(zipc_producer *p, uint32_t n, int64_t timeout_ns, uint64_t *seq)
{
	int rc = zipc_producer_try_claim(p, n, seq);
	if (rc != -EAGAIN || timeout_ns == 0)
		return rc;
	return zipc__producer_claim_wait(p, n, timeout_ns, seq);
}

/* The stamp of @seq's slot (first 8 bytes of the slot). */
ZIPC_INLINE _Atomic uint64_t *zipc__stamp(unsigned char *data, uint64_t mask, uint32_t stride, uint64_t seq)
{
	return (_Atomic uint64_t *)(void *)(data + (size_t)(seq & mask) * stride);
}

ZIPC_INLINE void *zipc_producer_slot(const zipc_producer *p, uint64_t seq)
{
	return p->data + (size_t)(seq & p->mask) * p->stride + ZIPC_STAMP_BYTES;
}

ZIPC_INLINE int zipc_producer_publish(zipc_producer *p, uint64_t seq, uint32_t n)
{
	struct zipc_ring_hdr *h = p->hdr;
	if (p->mp) {
		if (n - 1u >= p->capacity)
			return -EINVAL;
		p->outstanding -= n < p->outstanding ? n : p->outstanding;
	} else if (seq != p->published || n > p->next - seq || n == 0) {
		return -EINVAL;
	}
	for (uint64_t s = seq, e = seq + n; s != e; s++)
		/* P1: slot contents before its stamp; pairs with C1 */
		atomic_store_explicit(zipc__stamp(p->data, p->mask, p->stride, s), s + 1, memory_order_release);
	if (!p->mp) {
		p->published = seq + n;
		/* the cursor (slow paths only: end of stream, joiners, stat);
		 * release pairs with their acquire loads */
		atomic_store_explicit(&h->cursor, seq + n, memory_order_release);
	}
	zipc__waker_fence(p->fenceless); /* W1 */
	zipc__wake_armed(&h->cons_wait);
	return 0;
}

ZIPC_INLINE int64_t zipc_consumer_try_peek(zipc_consumer *c, uint64_t *seq)
{
	uint64_t s = c->seq;
	if (s < c->ready) {
		*seq = s;
		return (int64_t)(c->ready - s);
	}
	return zipc__consumer_refresh(c, seq);
}

ZIPC_INLINE int64_t zipc_consumer_wait(zipc_consumer *c, int64_t timeout_ns, uint64_t *seq)
{
	int64_t r = zipc_consumer_try_peek(c, seq);
	if (r != -EAGAIN || timeout_ns == 0)
		return r;
	return zipc__consumer_wait(c, timeout_ns, seq);
}

ZIPC_INLINE const void *zipc_consumer_slot(const zipc_consumer *c, uint64_t seq)
{
	return c->data + (size_t)(seq & c->mask) * c->stride + ZIPC_STAMP_BYTES;
}

ZIPC_INLINE void *zipc_consumer_slot_mut(zipc_consumer *c, uint64_t seq)
{
	return c->data + (size_t)(seq & c->mask) * c->stride + ZIPC_STAMP_BYTES;
}

ZIPC_INLINE int zipc_consumer_release(zipc_consumer *c, uint32_t n)
{
	if (n > c->ready - c->seq)
		return zipc__consumer_release(c, n); /* lost record skip, or -EINVAL */
	c->seq += n;
	/* C2: our reads of the slots before the producer may reuse them; pairs with P2 */
	atomic_store_explicit(c->seqp, c->seq, memory_order_release);
	zipc__waker_fence(c->fenceless); /* W1 */
	zipc__wake_armed(&c->hdr->prod_wait);
	/* stages that follow consumers sleep on their own word: only releases
	 * move their barrier (never touched in rings without barriers) */
	zipc__wake_armed(&c->hdr->stage_wait);
	return 0;
}

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_RING_PVT_H */
