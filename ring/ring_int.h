/* SPDX-License-Identifier: MIT */
/*
 * ring/ring_int.h - private to libzipc: the ring handle and the helpers
 * shared by ring/ring.c (set-up, registration, introspection) and
 * ring/wait.c (slow paths and wait strategies).  Never installed.
 */
#ifndef ZIPC_RING_INT_H
#define ZIPC_RING_INT_H

#include <stdatomic.h>

#include <zipc/ring.h>

/* Per-process ring handle. */
struct zipc_ring {
	zipc_region *region;
	struct zipc_ring_hdr *hdr;
	struct zipc_ring_params p;    /* validated private copy of hdr->p */
	struct zipc_ring_peer *prod;  /* producer table */
	struct zipc_ring_peer *cons;  /* consumer table */
	unsigned char *data;          /* slot 0 */
	struct zipc_ring_group *groups; /* ZIPC_RING_MAX_GROUPS work sequences */
	int read_only;
	_Atomic int open_ends;        /* producers + consumers open on this handle */
	struct zipc_ring *prev_gen;   /* grow chain kept alive by a producer, or NULL */
};

/* Peer tables (peers.c).  take: CAS the first entry of @tab[0..n) in state
 * @from to @to, returns its index or -1.  fill: write the caller's identity
 * (start time, then pid with release) and reset its counters.  free: give
 * an entry back (FREE, release).  reap: detach an ACTIVE entry whose owner
 * died and decrement @active_count; 1 if this call did it. */
int zipc__entry_take(struct zipc_ring_peer *tab, unsigned n, uint32_t from, uint32_t to);
void zipc__entry_fill(struct zipc_ring_peer *e, uint32_t wait);
void zipc__entry_free(struct zipc_ring_peer *e);
int zipc__entry_reap(struct zipc_ring_peer *e, _Atomic uint32_t *active_count);

/* 1 if this process may skip the waker's fence (membarrier registered). */
int zipc__fenceless(void);

/* Liveness of a registered peer entry (reads pid and start time). */
int zipc__peer_alive(const struct zipc_ring_peer *e);

/* Default wait options resolved against the ring's creation default. */
void zipc__wait_resolve(const struct zipc_ring *r, const struct zipc_wait_opts *in,
			struct zipc_wait_opts *out);

/* Wake one direction's sleepers if any announced (after a state change). */
void zipc__wake_if_sleepers(struct zipc_waitword *w);

/* Spin-wait hint for the CPU. */
#if defined(__x86_64__) || defined(__i386__)
#define zipc__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define zipc__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define zipc__cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

/*
 * One wait, whatever the strategy (used by every ring kind): @check is
 * retried until it returns anything but -EAGAIN; every liveness_ns @live
 * looks for dead peers (a non-zero return ends the wait with that code,
 * after one last @check).  SPIN spins with a pause, YIELD spins spin_ns
 * then yields, BLOCK spins spin_ns then sleeps on @w (S1 in ring_pvt.h) in
 * slices no longer than liveness_ns.  Counters go to @me.
 */
struct zipc__waiter {
	const struct zipc_wait_opts *opts;
	struct zipc_waitword *w;   /* where BLOCK sleeps */
	struct zipc_ring_peer *me; /* waits / sleeps / timeouts counters */
	int64_t (*check)(void *arg);
	int (*live)(void *arg);
	void *arg;
};
int64_t zipc__wait_loop(const struct zipc__waiter *wt, int64_t timeout_ns);

/* Where a consumer sleeps: stages behind a barrier on stage_wait (woken by
 * releases), everyone else on cons_wait (woken by publishes). */
static inline struct zipc_waitword *zipc__consumer_waitword(zipc_consumer *c)
{
	return c->after ? &c->hdr->stage_wait : &c->hdr->cons_wait;
}

/* Grow on timeout (ring.c): seal @p's ring and move @p to a successor. */
int zipc__producer_grow(zipc_producer *p);
/* Follow a sealed ring to its successor (ring.c). */
int zipc__consumer_follow(zipc_consumer *c);

/*
 * Dead-peer checks of a waiting end (wait.c), shared with the waitset
 * (waitset.c).  Consumer: 0, or -EOWNERDEAD (a producer it depends on, or a
 * stage it follows, died); an MP hole left by a dead producer is marked lost
 * after two calls in a row (*strikes, *hole: the caller's state, start with
 * 0 and UINT64_MAX).  Producer: -EOWNERDEAD if a consumer gating the claim
 * ending at @end died.
 */
int zipc__consumer_liveness(zipc_consumer *c, int *strikes, uint64_t *hole);
int zipc__producer_liveness(zipc_producer *p, uint64_t end);

/* Record consumers in a waitset (record.c): 1 readable, 0 not yet, or a
 * code (-EPIPE, -EPROTO); nothing is consumed.  Liveness as the ring's. */
struct zipc_record_consumer;
int zipc__record_consumer_ready(struct zipc_record_consumer *c);
struct zipc_waitword *zipc__record_consumer_waitword(struct zipc_record_consumer *c);
int zipc__record_consumer_liveness(struct zipc_record_consumer *c, int *strikes);

/* S1 barrier: order a sleeper's announcement before its re-check. */
void zipc__sleeper_barrier(void);

/* FUTEX_WAIT (shared, never private) on @word while it holds @val, at most @ns. */
void zipc__futex_sleep(_Atomic uint32_t *word, uint32_t val, int64_t ns);

#endif /* ZIPC_RING_INT_H */
