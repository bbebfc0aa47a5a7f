/* SPDX-License-Identifier: MIT */
/*
 * zipc/ring.h - LMAX-Disruptor-style sequenced rings in shared memory.
 *
 * A ring is a power-of-two array of fixed-size slots in a region, driven by
 * free-running 64-bit sequences that never wrap (slot = sequence & mask).
 *
 *   producer:  claim n slots -> write them in place -> publish
 *   consumer:  peek / wait   -> read them in place  -> release
 *
 * Sequences: the producer cursor counts slots published (SP) or claimed (MP);
 * each consumer's sequence counts slots it has released, and gates the
 * producer (a producer may be at most `capacity` slots ahead of the slowest
 * gating consumer).  Every consumer sees every message (multicast); with one
 * consumer this is the classic SPSC / MPSC queue.
 *
 * Sequencers:
 *  - single producer (default): as the Disruptor's SingleProducerSequencer,
 *    the cursor is stored with release order after the slots are written.
 *  - multi producer (ZIPC_RING_MULTI_PRODUCER): as the Disruptor's
 *    MultiProducerSequencer, producers claim by compare-and-swap on the
 *    cursor and publish each slot in a per-slot availability word holding
 *    sequence+1, so consumers never read an unpublished slot.
 *
 * Wait strategies are chosen per ring end (struct zipc_wait_opts):
 *  - ZIPC_WAIT_SPIN:  busy-spin with a CPU pause.  Lowest latency, burns a core.
 *  - ZIPC_WAIT_YIELD: spin for spin_ns, then sched_yield() between checks.
 *  - ZIPC_WAIT_BLOCK: spin for spin_ns, then sleep on a shared futex word.
 *  - ZIPC_WAIT_URING: as BLOCK, sleeping in io_uring (FUTEX_WAIT op); a
 *    thread that serves many rings uses a waitset (zipc/waitset.h) instead.
 *    A sleeper announces itself with a read-modify-write, re-checks, then
 *    sleeps; the other side issues FUTEX_WAKE only when a sleeper is
 *    announced, so a publish costs no system call while nobody sleeps.
 * Every wait takes a timeout and notices dead peers (-EOWNERDEAD).
 *
 * Progress guarantees: try_claim / publish / try_peek / release are
 * wait-free for a single producer and single consumer, lock-free (CAS loop)
 * for multiple producers.  claim / wait block per the wait strategy.
 */
#ifndef ZIPC_RING_H
#define ZIPC_RING_H

#include <stdint.h>
#include <string.h>

#include <zipc/common.h>
#include <zipc/shm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque per-process handle of a mapped, validated ring. */
typedef struct zipc_ring zipc_ring;
/** Per-process producer end (fields private; see zipc/bits/ring_pvt.h). */
typedef struct zipc_producer zipc_producer;
/** Per-process consumer end (fields private). */
typedef struct zipc_consumer zipc_consumer;

/** How a ring end waits when it cannot proceed. */
enum zipc_wait_strategy {
	ZIPC_WAIT_DEFAULT = 0, /**< the ring's creation default */
	ZIPC_WAIT_SPIN = 1,    /**< busy-spin with a pause instruction */
	ZIPC_WAIT_YIELD = 2,   /**< spin spin_ns, then sched_yield() */
	ZIPC_WAIT_BLOCK = 3,   /**< spin spin_ns, then sleep on a shared futex */
	/**
	 * As BLOCK, but the sleep is an IORING_OP_FUTEX_WAIT on the same
	 * shared word in a per-thread io_uring (publishers do not change);
	 * falls back to the futex system call where the kernel lacks it.
	 */
	ZIPC_WAIT_URING = 4,
};

/** Ring creation flags. */
enum zipc_ring_flags {
	/** Several producers (processes or threads) may publish concurrently. */
	ZIPC_RING_MULTI_PRODUCER = 1u << 0,
};

/** Limits of one ring. */
#define ZIPC_RING_MAX_CAPACITY (1ull << 32)      /**< slots */
#define ZIPC_RING_MAX_SLOT_SIZE (16u << 20)      /**< bytes */
#define ZIPC_RING_MAX_PRODUCERS 64u
#define ZIPC_RING_MAX_CONSUMERS 32u
#define ZIPC_RING_MAX_GROUPS 8u                 /**< work-queue groups 1..8 */

/** Options for zipc_ring_create(); zero-initialise, then set what you need. */
struct zipc_ring_opts {
	uint64_t capacity;       /**< slots: a power of two, 2..ZIPC_RING_MAX_CAPACITY */
	uint32_t slot_size;      /**< bytes per slot, 1..ZIPC_RING_MAX_SLOT_SIZE */
	uint32_t flags;          /**< enum zipc_ring_flags */
	uint32_t max_producers;  /**< producer slots; 0 = 1 (SP) or 16 (MP); SP allows 1 */
	uint32_t max_consumers;  /**< consumer slots; 0 = 4 */
	/**
	 * Consumer slots reserved at creation, gating the producer from
	 * sequence 0 before any consumer attaches, so nothing published before
	 * the consumer starts is lost.  0 = 1 (the default point-to-point
	 * shape); ZIPC_RING_NO_RESERVE = none (late joiners start at the cursor).
	 */
	int32_t reserved_consumers;
	uint32_t wait;           /**< default enum zipc_wait_strategy for ends (0 = BLOCK) */
	uint32_t region_flags;   /**< enum zipc_region_flags (ANONYMOUS, HUGETLB, NUMA_BIND, GROUP) */
	int numa_node;           /**< node for the pages; used only with ZIPC_REGION_NUMA_BIND */
	int group;               /**< gid granted access; used only with ZIPC_REGION_GROUP */
	/**
	 * Grow on timeout (single-producer named rings only; 0 = off, the
	 * default): a producer that waited this long (ns) for room seals the
	 * ring and continues in a successor of twice the capacity named
	 * "<name>.g<N>", which consumers follow by themselves when they reach
	 * the seal.  Nothing is lost or reordered, but the producer is no
	 * longer held back by slow consumers: memory grows instead
	 * (back-pressure is traded for unbounded growth).
	 */
	int64_t grow_after_ns;
};
#define ZIPC_RING_NO_RESERVE (-1)

/** Per-end wait configuration; zero-initialise for defaults. */
struct zipc_wait_opts {
	uint32_t strategy;    /**< enum zipc_wait_strategy; 0 = ring default */
	uint32_t spin_ns;     /**< yield/block: busy-spin this long first; 0 = 20000 ns */
	int64_t liveness_ns;  /**< while waiting, check peers this often; 0 = 10 ms */
};

/** State of a producer or consumer slot in the ring's peer tables. */
enum zipc_peer_state {
	ZIPC_PEER_FREE = 0,     /**< unused */
	ZIPC_PEER_BUSY = 1,     /**< being registered or removed */
	ZIPC_PEER_ACTIVE = 2,   /**< owned by a live (or not yet reaped) process */
	ZIPC_PEER_RESERVED = 3, /**< consumer slot reserved at creation, not yet attached */
};

/** Consumer open flags (struct zipc_consumer_opts.flags). */
enum zipc_consumer_flags {
	/** Take exactly consumer slot `slot` (reserved or free), so other
	 * stages can name it in their `after` mask. */
	ZIPC_CONSUMER_SLOT = 1u << 0,
};

/** Options for zipc_consumer_open_opts(); zero-initialise for defaults. */
struct zipc_consumer_opts {
	struct zipc_wait_opts wait; /**< this end's wait configuration */
	uint32_t flags;             /**< enum zipc_consumer_flags */
	uint32_t slot;              /**< with ZIPC_CONSUMER_SLOT: the slot index to take */
	/**
	 * Sequence barrier: bit i set means this stage only sees a slot after
	 * the consumer in slot i has released it (pipelines and diamonds, as
	 * the Disruptor's SequenceBarrier with dependent sequences).
	 */
	uint32_t after;
	/**
	 * Work-queue group 1..ZIPC_RING_MAX_GROUPS (0 = none: this consumer
	 * sees every message).  Members of a group share the messages: each
	 * is taken by exactly one member, as the Disruptor's WorkerPool.
	 */
	uint32_t group;
	uint32_t batch;             /**< group: most slots one member takes at once; 0 = 64 */
};

/** One producer's or consumer's registration, as seen by zipc_ring_stat(). */
struct zipc_ring_peer_stat {
	int is_consumer;      /**< 0 producer, 1 consumer */
	uint32_t group;       /**< consumer: work-queue group, 0 = none */
	uint32_t after;       /**< consumer: mask of consumer slots it follows */
	unsigned index;       /**< slot in its table */
	uint32_t state;       /**< enum zipc_peer_state */
	int32_t pid;          /**< owner pid (0 if none) */
	int alive;            /**< 1 if the owner runs (or slot reserved), 0 if dead */
	uint32_t wait;        /**< enum zipc_wait_strategy of the end */
	uint64_t sequence;    /**< consumer: next sequence to read; MP producer: start of its last claim;
	                       *   SP producer: the cursor when it opened */
	uint64_t lag;         /**< consumer: published cursor - sequence (slots) */
	uint64_t waits;       /**< times the end found the ring full/empty and waited */
	uint64_t sleeps;      /**< times it slept on the futex */
	uint64_t timeouts;    /**< waits that ended in -ETIMEDOUT */
};

/** Ring-wide figures (zipc_ring_stat()). */
struct zipc_ring_stat {
	uint64_t capacity;          /**< slots */
	uint32_t slot_size;         /**< bytes */
	uint32_t flags;             /**< enum zipc_ring_flags */
	uint32_t wait;              /**< creation default wait strategy */
	uint32_t max_producers, max_consumers;
	uint64_t claimed;           /**< MP: next sequence to claim; SP: = published */
	uint64_t published;         /**< sequences below this are published */
	uint64_t min_consumer;      /**< slowest gating consumer's sequence */
	uint64_t fill;              /**< published - min_consumer (slots) */
	uint32_t producers_active;  /**< registered producers */
	uint32_t consumers_active;  /**< attached consumers (reserved not counted) */
	uint32_t consumers_sleeping;/**< announced futex sleepers waiting for data */
	uint32_t producers_sleeping;/**< announced futex sleepers waiting for room */
	uint64_t consumer_wakes;    /**< FUTEX_WAKE calls made for consumers */
	uint64_t producer_wakes;    /**< FUTEX_WAKE calls made for producers */
	uint64_t consumer_sleeps;   /**< futex sleeps of consumers waiting for data */
	uint64_t producer_sleeps;   /**< futex sleeps of producers waiting for room */
	uint64_t stage_wakes;       /**< FUTEX_WAKE calls made for stages behind a barrier */
	uint64_t stage_sleeps;      /**< futex sleeps of stages behind a barrier */
	uint64_t producer_attaches; /**< producers ever attached */
	int numa_node;              /**< node the pages are bound to, or -1 */
	uint64_t lost;              /**< MP slots marked lost (their producer died mid-claim) */
	int sealed;                 /**< grown: nothing more is published here */
	uint64_t sealed_at;         /**< first sequence published in the successor */
	uint32_t generation;        /**< 0 for the first ring of a grow chain */
	char successor[56];         /**< successor ring's name ("" if not sealed) */
};

/**
 * zipc_ring_create() - create a named ring in a new region.
 * @name: region name (see zipc_region_create()); NULL with
 *        ZIPC_REGION_ANONYMOUS in @opts->region_flags.
 * @opts: geometry and policy; not retained.
 * @out:  receives the ring handle, owned by the caller (zipc_ring_close()).
 *
 * The region is mapped, initialised and only then published and served, so
 * no other process can see a half-built ring.  Thread-safe.
 * Return: 0; -EINVAL (capacity not a power of two or out of range, slot
 * size out of range, bad flags, peer counts out of range, SP with
 * max_producers > 1), or any code of zipc_region_create().
 */
ZIPC_API int zipc_ring_create(const char *name, const struct zipc_ring_opts *opts,
			      zipc_ring **out);

/**
 * zipc_ring_attach() - attach to a ring served under @name.
 * @flags: enum zipc_attach_flags (ZIPC_ATTACH_RDONLY for inspection only:
 *         such a handle can stat but cannot open ends).
 * Validates the region and the ring header completely (see
 * zipc_ring_from_region()).  Thread-safe.
 * Return: 0, any code of zipc_region_attach(), or of zipc_ring_from_region().
 */
ZIPC_API int zipc_ring_attach(const char *name, unsigned flags, zipc_ring **out);

/**
 * zipc_ring_from_fd() - attach to a ring from an inherited or passed memfd.
 * @fd is duplicated, not consumed.  Return: as zipc_region_from_fd() and
 * zipc_ring_from_region().
 */
ZIPC_API int zipc_ring_from_fd(int fd, unsigned flags, zipc_ring **out);

/**
 * zipc_ring_from_region() - view an attached region as a ring.
 * @region: a region handle; on success ownership passes to the ring (closed
 *          by zipc_ring_close()); on failure it stays with the caller.
 * Checks: region kind (-EMEDIUMTYPE), ring magic (-EBADMSG), ring layout
 * version (-EPROTONOSUPPORT), geometry and offsets recomputed from the
 * parameters and compared (-EPROTO), area too small (-ENODATA).
 */
ZIPC_API int zipc_ring_from_region(zipc_region *region, zipc_ring **out);

/**
 * zipc_ring_close() - unmap the ring (and, for the creator, withdraw its name).
 * Every zipc_producer / zipc_consumer opened on @r must be closed first.
 * @r: handle or NULL.  Return: 0, or -EBUSY if ends are still open (nothing
 * is closed then).
 */
ZIPC_API int zipc_ring_close(zipc_ring *r);

/** zipc_ring_region() - the region under @r (owned by @r). */
ZIPC_API zipc_region *zipc_ring_region(const zipc_ring *r);

/** zipc_ring_capacity() - slots in the ring. */
ZIPC_API uint64_t zipc_ring_capacity(const zipc_ring *r);

/** zipc_ring_slot_size() - usable bytes per slot. */
ZIPC_API uint32_t zipc_ring_slot_size(const zipc_ring *r);

/**
 * zipc_ring_stat() - read the ring's cursors, sleepers, counters and peers.
 * @st:        receives ring-wide figures.
 * @peers:     array receiving one entry per non-free producer/consumer slot;
 *             may be NULL if @max_peers is 0.
 * @max_peers: capacity of @peers.
 * Only reads shared memory (safe on a read-only handle and on a live ring).
 * Return: number of peer entries available (may exceed @max_peers, only
 * @max_peers are written), or -EINVAL, or -EPROTO if the shared state is
 * inconsistent (corrupted).
 */
ZIPC_API int zipc_ring_stat(const zipc_ring *r, struct zipc_ring_stat *st,
			    struct zipc_ring_peer_stat *peers, unsigned max_peers);

/**
 * zipc_ring_reap() - detach every producer and consumer whose process died,
 * so producers are no longer gated by a dead consumer and the producer slot
 * of a dead single producer can be taken again.  Messages already published
 * stay readable.  Safe to call from any process attached read-write.
 * Return: number of ends detached, or -EINVAL / -EPERM (read-only handle).
 */
ZIPC_API int zipc_ring_reap(zipc_ring *r);

/* ---------------------------------------------------------------- producer */

/**
 * zipc_producer_open() - register this process as a producer of @r.
 * @wait: wait configuration of this end, or NULL for the ring's default.
 * @out:  receives the handle; owned by the caller; use it from one thread
 *        at a time (open one producer per thread for MP rings).
 * Return: 0; -EBUSY (all producer slots taken; for SP, the one producer is
 * alive), -EPERM (read-only ring handle), -EINVAL, -ENOMEM.
 */
ZIPC_API int zipc_producer_open(zipc_ring *r, const struct zipc_wait_opts *wait,
				zipc_producer **out);

/**
 * zipc_producer_close() - deregister.  Claimed but unpublished slots of an
 * SP producer are dropped; an MP producer must publish what it claimed
 * first.  When the last producer closes, consumers that have read everything
 * get -EPIPE (end of stream).  @p may be NULL.  Return: 0.
 */
ZIPC_API int zipc_producer_close(zipc_producer *p);

/**
 * zipc_producer_try_claim() - claim @n consecutive slots without waiting.
 * @n:   slots, 1..capacity.
 * @seq: receives the first claimed sequence; the slots are
 *       @seq .. @seq + @n - 1 (get each with zipc_producer_slot()).
 * Wait-free (SP) / lock-free (MP).
 * Return: 0; -EAGAIN (not enough free slots: back-pressure), -EINVAL,
 * -EPROTO (a consumer sequence in shared memory is impossible).
 */
ZIPC_INLINE int zipc_producer_try_claim(zipc_producer *p, uint32_t n, uint64_t *seq);

/**
 * zipc_producer_claim() - claim @n slots, waiting up to @timeout_ns
 * (ZIPC_FOREVER: no deadline) per the end's wait strategy.
 * Return: 0; -ETIMEDOUT; -EOWNERDEAD (the gating consumer's process died;
 * zipc_ring_reap() detaches it); -EINVAL; -EPROTO.
 */
ZIPC_INLINE int zipc_producer_claim(zipc_producer *p, uint32_t n, int64_t timeout_ns, uint64_t *seq);

/**
 * zipc_producer_slot() - address of the slot of sequence @seq (claimed by
 * this producer, not yet published).  No checks: the hot path.
 */
ZIPC_INLINE void *zipc_producer_slot(const zipc_producer *p, uint64_t seq);

/**
 * zipc_producer_publish() - make @n slots from @seq visible to consumers
 * (release order: everything written into them happens-before a consumer's
 * read).  SP: publish in claim order.  MP: any order.  Wakes sleeping
 * consumers only if one announced itself (no system call otherwise).
 * Return: 0, or -EINVAL (SP: @seq is not the next sequence to publish, or
 * @n exceeds what was claimed).
 */
ZIPC_INLINE int zipc_producer_publish(zipc_producer *p, uint64_t seq, uint32_t n);

/**
 * zipc_producer_flush() - wait until every gating consumer has released
 * everything this producer published (SP) or claimed (MP), so the producer
 * may exit knowing its messages were read, not only published.
 * @timeout_ns: as zipc_producer_claim() (0: check once).
 * Return: 0; -EAGAIN (@timeout_ns 0 and not everything read yet);
 * -ETIMEDOUT; -EOWNERDEAD (a consumer it waits for died); -EINVAL; -EPROTO.
 */
ZIPC_API int zipc_producer_flush(zipc_producer *p, int64_t timeout_ns);

/**
 * zipc_producer_send() - copy @len bytes into one slot and publish it.
 * @timeout_ns: as zipc_producer_claim().
 * Return: 0; -EMSGSIZE (@len > slot size); codes of zipc_producer_claim().
 */
ZIPC_API int zipc_producer_send(zipc_producer *p, const void *msg, size_t len, int64_t timeout_ns);

/* ---------------------------------------------------------------- consumer */

/**
 * zipc_consumer_open() - attach this process as a consumer of @r.
 * Takes a reserved slot if one is left (starting at its sequence, so
 * nothing published before is missed), else a free slot starting at the
 * current cursor (a late joiner sees what is published from now on).
 * @wait: wait configuration of this end, or NULL.
 * @out:  receives the handle; owned by the caller; one thread at a time.
 * Return: 0; -EBUSY (no consumer slot left), -EPERM (read-only handle),
 * -EINVAL, -ENOMEM.
 */
ZIPC_API int zipc_consumer_open(zipc_ring *r, const struct zipc_wait_opts *wait,
				zipc_consumer **out);

/**
 * zipc_consumer_open_opts() - as zipc_consumer_open(), with a chosen slot,
 * a sequence barrier (pipeline / diamond stage) and/or a work-queue group.
 * @opts: see struct zipc_consumer_opts; NULL = defaults.
 *
 * A stage with @opts->after set sees sequence s only once every consumer
 * named in the mask has released s, and may update the slot in place
 * (zipc_consumer_slot_mut()) for the stages behind it.  Group members take
 * disjoint batches of sequences from the group's shared claim sequence;
 * zipc_consumer_wait() returns the member's batch, zipc_consumer_release()
 * finishes it, and the next wait takes a new batch.
 * Return: 0; -EINVAL (slot out of range, group > ZIPC_RING_MAX_GROUPS, a
 * barrier naming the consumer itself or a slot out of range); -EBUSY (the
 * slot asked for, or every slot, is taken); -EPERM; -ENOMEM.
 */
ZIPC_API int zipc_consumer_open_opts(zipc_ring *r, const struct zipc_consumer_opts *opts,
				     zipc_consumer **out);

/** zipc_consumer_index() - the consumer slot this end occupies (for `after` masks). */
ZIPC_API unsigned zipc_consumer_index(const zipc_consumer *c);

/**
 * zipc_consumer_close() - detach; the consumer stops gating producers at
 * once.  @c may be NULL.  Return: 0.
 */
ZIPC_API int zipc_consumer_close(zipc_consumer *c);

/**
 * zipc_consumer_try_peek() - how many consecutive published slots are ready
 * to read from the consumer's sequence, without waiting.  The count is a
 * batch, not a census: it may be fewer than everything published (one
 * refresh scans at most 1024 slots; a cached count is returned until it is
 * consumed).
 * @seq: receives the first readable sequence (the consumer's own).
 * Return: count > 0 (slots @seq .. @seq+count-1 are readable in place);
 * -EAGAIN (nothing yet); -EPIPE (nothing left and every producer closed);
 * -ENOMSG (MP: the slot @seq is a lost record, claimed by a producer that
 * died before publishing it; zipc_consumer_release(c, 1) skips it);
 * -EPROTO (the producer cursor in shared memory is impossible).
 */
ZIPC_INLINE int64_t zipc_consumer_try_peek(zipc_consumer *c, uint64_t *seq);

/**
 * zipc_consumer_wait() - as try_peek, waiting up to @timeout_ns for at
 * least one slot, per the end's wait strategy.
 * Dead MP producers: a slot claimed by a producer that died before
 * publishing is marked lost at the next liveness check (as Aeron's
 * many-to-one ring unblocks a dead producer's claim) and reported as
 * -ENOMSG, so the stream goes on.
 * Return: count > 0; -ETIMEDOUT; -EPIPE; -ENOMSG (see try_peek);
 * -EOWNERDEAD (every producer died and everything published has been read,
 * or a stage this one follows died); -EPROTO.
 */
ZIPC_INLINE int64_t zipc_consumer_wait(zipc_consumer *c, int64_t timeout_ns, uint64_t *seq);

/** zipc_consumer_slot() - address of the readable slot of @seq.  No checks. */
ZIPC_INLINE const void *zipc_consumer_slot(const zipc_consumer *c, uint64_t seq);

/**
 * zipc_consumer_slot_mut() - writable address of the slot of @seq, for a
 * pipeline stage that updates the message in place for the stages that
 * follow it (their barrier orders our writes before their reads).  No checks.
 */
ZIPC_INLINE void *zipc_consumer_slot_mut(zipc_consumer *c, uint64_t seq);

/**
 * zipc_consumer_release() - finish with the next @n slots (their memory may
 * be reused by producers).  Wakes sleeping producers only if one announced.
 * After -ENOMSG, zipc_consumer_release(c, 1) skips the lost record.
 * Return: 0, or -EINVAL if @n exceeds what the last peek/wait returned.
 */
ZIPC_INLINE int zipc_consumer_release(zipc_consumer *c, uint32_t n);

/**
 * zipc_consumer_recv() - copy the next slot into @buf (at most @cap bytes;
 * the slot size is copied if it fits) and release it.
 * Return: bytes copied (the slot size); -EMSGSIZE if @cap < slot size
 * (nothing consumed); codes of zipc_consumer_wait().
 */
ZIPC_API int64_t zipc_consumer_recv(zipc_consumer *c, void *buf, size_t cap, int64_t timeout_ns);

/* Out-of-line copies of the inline hot path, for FFI (same contracts). */
ZIPC_API int zipc_producer_try_claim_x(zipc_producer *p, uint32_t n, uint64_t *seq);
ZIPC_API int zipc_producer_claim_x(zipc_producer *p, uint32_t n, int64_t timeout_ns, uint64_t *seq);
ZIPC_API void *zipc_producer_slot_x(const zipc_producer *p, uint64_t seq);
ZIPC_API int zipc_producer_publish_x(zipc_producer *p, uint64_t seq, uint32_t n);
ZIPC_API int64_t zipc_consumer_try_peek_x(zipc_consumer *c, uint64_t *seq);
ZIPC_API int64_t zipc_consumer_wait_x(zipc_consumer *c, int64_t timeout_ns, uint64_t *seq);
ZIPC_API const void *zipc_consumer_slot_x(const zipc_consumer *c, uint64_t seq);
ZIPC_API int zipc_consumer_release_x(zipc_consumer *c, uint32_t n);

#ifdef __cplusplus
}
#endif

#include <zipc/bits/ring_pvt.h>

#endif /* ZIPC_RING_H */
