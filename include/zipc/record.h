/* SPDX-License-Identifier: MIT */
/*
 * zipc/record.h - variable-length record rings in shared memory.
 *
 * A record ring carries messages of varying size (1 byte up to a maximum
 * fixed at creation) through a power-of-two byte ring, as Aeron's
 * OneToOneRingBuffer / ManyToOneRingBuffer (aeron_spsc_rb / aeron_mpsc_rb)
 * do, with zipc's peer registration, wait strategies and validation:
 *
 *   producer:  claim len bytes -> write them in place -> commit (or abort);
 *              or send / send_batch (copy in, commit)
 *   consumer:  read (or read_batch) -> use the bytes in place -> release;
 *              or recv (copy out, release)
 *
 * Positions are free-running 64-bit byte counts that never wrap in
 * practice (2^64 bytes at 10 GB/s is 58 years): `tail` counts bytes claimed
 * (multi producer) or published (single producer), `head` bytes released by
 * the consumer; the byte at position x lives at x & (capacity - 1).
 *
 * Every record starts on an 8-byte boundary with an 8-byte header word,
 * followed by exactly the payload bytes the producer asked for, then
 * padding up to the next 8-byte boundary:
 *
 *   header word (one 64-bit atomic):  bits  0..31  length (int32): header + payload bytes
 *                                     bits 32..63  type: ZIPC_RECORD_T_DATA or _PADDING
 *
 * A record never crosses the end of the buffer: a claim that would not fit
 * before the end first fills the rest of the buffer with a padding record
 * and starts again at offset 0 (the consumer skips padding).  The largest
 * record (header + payload, rounded up to 8) is at most half the capacity,
 * so every record fits in an empty ring wherever the tail is.
 *
 * Producers:
 *  - single producer (default): claim writes nothing shared; commit writes
 *    the header and then stores `tail` with release order, so a consumer
 *    never sees a record before it is complete.  A producer that dies
 *    between claim and commit leaves nothing behind.
 *  - multi producer (ZIPC_RECORD_MULTI_PRODUCER): claim is a compare-and-
 *    swap on `tail` (lock-free); the claimer then marks its record in flight
 *    (negative length; a batch leaves its headers 0 until each is written)
 *    and commit stores the positive length with release order; producers
 *    commit independently, in any order.  The consumer
 *    stops at the first record still in flight, and zeroes what it
 *    releases, so a lap later a header still reads 0 until its producer
 *    writes it.  A producer that dies holding a claim cannot wedge the
 *    consumer: its claim is recorded in its registration before the CAS,
 *    and the consumer skips it once the owner is known dead (Aeron's
 *    unblock, without the guess: see docs/ARCHITECTURE.md).
 *
 * One consumer per ring (records are consumed, not multicast).  A consumer
 * that dies can be replaced: the next zipc_record_consumer_open() takes over
 * its registration and resumes at the last released position (records read
 * but not released are delivered again).
 *
 * Readers bounds-check everything they read from shared memory (positions,
 * every record length and type, dead producers' claim records): a corrupted
 * or hostile ring yields -EPROTO, never an out-of-bounds access.
 *
 * Wait strategies (spin, yield, block, uring), timeouts and dead-peer
 * detection are those of zipc/ring.h (struct zipc_wait_opts, the shared
 * wait loop); a commit or release issues FUTEX_WAKE only when the other
 * side announced a sleeper.
 *
 * Progress guarantees: claim with timeout 0 / commit / abort / read with
 * timeout 0 / release are wait-free for a single producer, lock-free (CAS
 * loop) for multiple producers; with a timeout they block per the wait
 * strategy.
 */
#ifndef ZIPC_RECORD_H
#define ZIPC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <zipc/common.h>
#include <zipc/ring.h>
#include <zipc/shm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque per-process handle of a mapped, validated record ring. */
typedef struct zipc_record_ring zipc_record_ring;
/** Per-process producer end; use from one thread at a time. */
typedef struct zipc_record_producer zipc_record_producer;
/** Per-process consumer end; use from one thread at a time. */
typedef struct zipc_record_consumer zipc_record_consumer;

/** Record ring creation flags. */
enum zipc_record_flags {
	/** Several producers (processes or threads) may claim concurrently. */
	ZIPC_RECORD_MULTI_PRODUCER = 1u << 0,
};

/** Bytes of a record's header word; payloads start this far into a record. */
#define ZIPC_RECORD_HDR_SIZE 8u
/** Every record starts on a multiple of this (payloads are 8-byte aligned). */
#define ZIPC_RECORD_ALIGN 8u
/** Limits of one record ring. */
#define ZIPC_RECORD_MIN_CAPACITY 64ull          /**< bytes */
#define ZIPC_RECORD_MAX_CAPACITY (1ull << 40)   /**< bytes */
#define ZIPC_RECORD_MAX_RECORD (1u << 30)       /**< payload bytes */
#define ZIPC_RECORD_MAX_PRODUCERS ZIPC_RING_MAX_PRODUCERS

/**
 * Bytes a record of @len payload bytes occupies in the ring (header +
 * payload rounded up to ZIPC_RECORD_ALIGN).
 */
#define ZIPC_RECORD_SIZE(len) \
	(((uint64_t)(len) + ZIPC_RECORD_HDR_SIZE + ZIPC_RECORD_ALIGN - 1) & ~(uint64_t)(ZIPC_RECORD_ALIGN - 1))

/** Options for zipc_record_ring_create(); zero-initialise, then set what you need. */
struct zipc_record_opts {
	uint64_t capacity;      /**< data bytes: a power of two,
	                         *   ZIPC_RECORD_MIN_CAPACITY..ZIPC_RECORD_MAX_CAPACITY */
	uint32_t max_record;    /**< largest payload in bytes, 1..ZIPC_RECORD_MAX_RECORD with
	                         *   ZIPC_RECORD_SIZE(max_record) <= capacity / 2;
	                         *   0 = the largest allowed */
	uint32_t flags;         /**< enum zipc_record_flags */
	uint32_t max_producers; /**< producer slots; 0 = 1 (SP) or 16 (MP); SP allows 1 */
	uint32_t wait;          /**< default enum zipc_wait_strategy for ends (0 = BLOCK) */
	uint32_t region_flags;  /**< enum zipc_region_flags (ANONYMOUS, HUGETLB, NUMA_BIND, GROUP) */
	int numa_node;          /**< node for the pages; used only with ZIPC_REGION_NUMA_BIND */
	int group;              /**< gid granted access; used only with ZIPC_REGION_GROUP */
};

/** One record: returned by zipc_record_read_batch(), given to zipc_record_send_batch(). */
struct zipc_record {
	const void *data; /**< payload (read: in the ring, 8-byte aligned, valid until release) */
	size_t len;       /**< payload bytes, exactly as claimed / sent */
};

/** Ring-wide figures (zipc_record_ring_stat()). */
struct zipc_record_stat {
	uint64_t capacity;           /**< data bytes */
	uint32_t max_record;         /**< largest payload, bytes */
	uint32_t flags;              /**< enum zipc_record_flags */
	uint32_t wait;               /**< creation default wait strategy */
	uint32_t max_producers;
	uint64_t tail;               /**< MP: bytes claimed; SP: bytes published */
	uint64_t head;               /**< bytes released by the consumer */
	uint64_t fill;               /**< tail - head (bytes), at most capacity */
	uint32_t producers_active;   /**< registered producers (dead ones until reaped) */
	uint32_t consumers_active;   /**< 0 or 1 */
	uint32_t consumers_sleeping; /**< announced futex sleepers waiting for records */
	uint32_t producers_sleeping; /**< announced futex sleepers waiting for room */
	uint64_t consumer_wakes;     /**< FUTEX_WAKE calls made for the consumer */
	uint64_t producer_wakes;     /**< FUTEX_WAKE calls made for producers */
	uint64_t producer_attaches;  /**< producers ever attached */
	uint64_t consumer_attaches;  /**< consumers ever attached */
	uint64_t records;            /**< data records released */
	uint64_t paddings;           /**< padding records passed (wraps and aborts) */
	uint64_t dead_claims;        /**< claims of dead producers skipped (MP) */
	int numa_node;               /**< node the pages are bound to, or -1 */
};

/* ------------------------------------------------------------------ ring */

/**
 * zipc_record_ring_create() - create a record ring in a new region of kind
 * ZIPC_KIND_RECORD.
 * @name: region name (see zipc_region_create()); NULL with
 *        ZIPC_REGION_ANONYMOUS in @opts->region_flags.
 * @opts: geometry and policy; not retained.
 * @out:  receives the handle, owned by the caller (zipc_record_ring_close()).
 *
 * The area is initialised before the region is published and served, so no
 * process can see a half-built ring.  Records committed before a consumer
 * attaches are kept for it (the ring fills, then producers wait).
 * Thread-safe.
 * Return: 0; -EINVAL (capacity not a power of two or out of range,
 * max_record out of range or above capacity/2 with its header, unknown
 * flags, SP with max_producers > 1, max_producers above
 * ZIPC_RECORD_MAX_PRODUCERS, bad wait strategy), or any code of
 * zipc_region_create().
 */
ZIPC_API int zipc_record_ring_create(const char *name, const struct zipc_record_opts *opts,
				     zipc_record_ring **out);

/**
 * zipc_record_ring_attach() - attach to a record ring served under @name.
 * @flags: enum zipc_attach_flags (ZIPC_ATTACH_RDONLY: stat only).
 * @out:   receives the handle, owned by the caller.
 * Never re-initialises anything.  Thread-safe.
 * Return: 0, any code of zipc_region_attach() or of
 * zipc_record_ring_from_region().
 */
ZIPC_API int zipc_record_ring_attach(const char *name, unsigned flags, zipc_record_ring **out);

/**
 * zipc_record_ring_from_fd() - attach to a record ring from an inherited or
 * passed memfd.  @fd is duplicated, not consumed.
 * Return: as zipc_region_from_fd() and zipc_record_ring_from_region().
 */
ZIPC_API int zipc_record_ring_from_fd(int fd, unsigned flags, zipc_record_ring **out);

/**
 * zipc_record_ring_from_region() - view an attached region as a record ring.
 * @region: on success ownership passes to the ring (closed by
 *          zipc_record_ring_close()); on failure it stays with the caller.
 * @out:    receives the handle.
 * Validates a private copy of the ring's parameters: region kind
 * (-EMEDIUMTYPE), magic (-EBADMSG), layout version (-EPROTONOSUPPORT),
 * parameters and every offset recomputed from them (-EPROTO), area shorter
 * than the ring (-ENODATA).  Nothing later re-reads the parameters from
 * shared memory.  Thread-safe.
 * Return: 0, one of the codes above, -EINVAL, -ENOMEM.
 */
ZIPC_API int zipc_record_ring_from_region(zipc_region *region, zipc_record_ring **out);

/**
 * zipc_record_ring_close() - unmap the ring (the creator also withdraws its
 * name).  Every end opened on @r must be closed first.
 * @r: handle or NULL.
 * Return: 0, or -EBUSY if ends are still open (nothing is closed then).
 */
ZIPC_API int zipc_record_ring_close(zipc_record_ring *r);

/** zipc_record_ring_region() - the region under @r (owned by @r), or NULL. */
ZIPC_API zipc_region *zipc_record_ring_region(const zipc_record_ring *r);

/** zipc_record_ring_capacity() - data bytes of the ring (0 if @r is NULL). */
ZIPC_API uint64_t zipc_record_ring_capacity(const zipc_record_ring *r);

/** zipc_record_ring_max_record() - largest payload in bytes (0 if @r is NULL). */
ZIPC_API uint32_t zipc_record_ring_max_record(const zipc_record_ring *r);

/**
 * zipc_record_ring_stat() - read positions, sleepers, counters and peers.
 * @st:        receives ring-wide figures.
 * @peers:     receives one entry per non-free producer/consumer slot (as
 *             zipc_ring_stat(): for a producer, sequence = start position of
 *             its last MP claim (UINT64_MAX: none) or the tail when an SP
 *             producer opened; for the consumer, sequence = head and
 *             lag = tail - head in bytes); may be NULL if @max_peers is 0.
 * @max_peers: capacity of @peers.
 * Only reads shared memory: safe on a read-only handle and a live ring.
 * Return: number of peer entries available (may exceed @max_peers; only
 * @max_peers are written), -EINVAL, or -EPROTO if the positions in shared
 * memory are impossible (corrupted).
 */
ZIPC_API int zipc_record_ring_stat(const zipc_record_ring *r, struct zipc_record_stat *st,
				   struct zipc_ring_peer_stat *peers, unsigned max_peers);

/**
 * zipc_record_ring_reap() - detach every producer and consumer whose process
 * died.  A dead MP producer whose claim the consumer has not yet passed
 * stays registered (the consumer needs its claim record to skip the hole);
 * a later call detaches it.  Committed records stay readable.
 * Return: number of ends detached, -EINVAL, or -EPERM (read-only handle).
 */
ZIPC_API int zipc_record_ring_reap(zipc_record_ring *r);

/* -------------------------------------------------------------- producer */

/**
 * zipc_record_producer_open() - register this process as a producer.
 * @wait: wait configuration of this end, or NULL for the ring's default.
 * @out:  receives the handle; owned by the caller; one thread at a time
 *        (open one producer per thread on an MP ring).
 * An SP ring's single producer slot held by a dead process is taken over.
 * Return: 0; -EBUSY (no free producer slot; SP: the producer is alive),
 * -EPERM (read-only handle), -EINVAL, -ENOMEM, -EPROTO (positions in shared
 * memory are impossible).
 */
ZIPC_API int zipc_record_producer_open(zipc_record_ring *r, const struct zipc_wait_opts *wait,
				       zipc_record_producer **out);

/**
 * zipc_record_producer_close() - deregister.  An outstanding claim is
 * aborted first.  When the last producer closes, a consumer that has read
 * everything gets -EPIPE.  @p may be NULL.  Return: 0.
 */
ZIPC_API int zipc_record_producer_close(zipc_record_producer *p);

/**
 * zipc_record_claim() - reserve room for one record of exactly @len payload
 * bytes and return where to write them.
 * @len:        payload bytes, 1..max_record.
 * @timeout_ns: 0 = try once; ZIPC_FOREVER = no deadline; else nanoseconds
 *              to wait for room, per the end's wait strategy.
 * @buf:        receives the payload address (8-byte aligned, @len bytes,
 *              in shared memory), valid until commit or abort.
 * At most one claim per producer handle is outstanding: commit or abort it
 * before the next claim.  Nothing is visible to the consumer before
 * zipc_record_commit().
 * Wait-free (SP) / lock-free (MP) with @timeout_ns 0.
 * Return: 0; -EMSGSIZE (@len > max_record); -EINVAL (@len 0, NULL
 * argument, or a claim is already outstanding); -EAGAIN (ring full and
 * @timeout_ns 0); -ETIMEDOUT; -EOWNERDEAD (the consumer's process died with
 * the ring full); -EPROTO (positions in shared memory are impossible).
 */
ZIPC_API int zipc_record_claim(zipc_record_producer *p, size_t len, int64_t timeout_ns, void **buf);

/**
 * zipc_record_commit() - publish the outstanding claim.
 * @buf: the address zipc_record_claim() returned.
 * Release order: everything written into the record happens-before the
 * consumer's read of it.  Wakes a sleeping consumer only if one announced
 * itself (no system call otherwise).  Wait-free.
 * Return: 0, or -EINVAL (@buf is not the outstanding claim).
 */
ZIPC_API int zipc_record_commit(zipc_record_producer *p, void *buf);

/**
 * zipc_record_abort() - give the outstanding claim up.
 * @buf: the address zipc_record_claim() returned.
 * SP: the claim is rolled back (nothing was published).  MP: the claimed
 * bytes are committed as a padding record, which the consumer skips.
 * Return: 0, or -EINVAL (@buf is not the outstanding claim).
 */
ZIPC_API int zipc_record_abort(zipc_record_producer *p, void *buf);

/**
 * zipc_record_send() - copy @len bytes of @msg into one record and commit it.
 * @timeout_ns: as zipc_record_claim().
 * Return: 0, or the codes of zipc_record_claim().
 */
ZIPC_API int zipc_record_send(zipc_record_producer *p, const void *msg, size_t len, int64_t timeout_ns);

/**
 * zipc_record_send_batch() - copy up to @n records into the ring and
 * publish them together (SP: one tail store; MP: one compare-and-swap for
 * the room of all of them, each record committed in order), with one
 * wake-up check: the batched form of zipc_record_send().
 * @msgs:       @n records (data, len); each len 1..max_record; not retained.
 * @n:          records, >= 1.
 * @timeout_ns: as zipc_record_claim(); waits only until the first record
 *              fits, then takes as many (in order) as the free room holds.
 * Each record keeps its own length and is delivered exactly like one sent
 * alone (per-producer order is @msgs order).  No claim may be outstanding.
 * Wait-free (SP) / lock-free (MP) with @timeout_ns 0.
 * Return: the number of records sent (1..@n: a prefix of @msgs); -EMSGSIZE
 * (a length above max_record: nothing is sent); -EINVAL (@n 0, NULL, a
 * zero length, or a claim outstanding); -EAGAIN (@timeout_ns 0 and not even
 * the first fits); -ETIMEDOUT; -EOWNERDEAD (the consumer died with the ring
 * full); -EPROTO.
 */
ZIPC_API int zipc_record_send_batch(zipc_record_producer *p, const struct zipc_record *msgs, unsigned n,
				    int64_t timeout_ns);

/**
 * zipc_record_producer_flush() - wait until the consumer has released every
 * record this producer committed, so the producer may exit knowing its
 * records were read, not only published.
 * @timeout_ns: as zipc_record_claim().
 * Return: 0; -EAGAIN (@timeout_ns 0, not yet); -ETIMEDOUT; -EOWNERDEAD (the
 * consumer died); -EINVAL; -EPROTO.
 */
ZIPC_API int zipc_record_producer_flush(zipc_record_producer *p, int64_t timeout_ns);

/* -------------------------------------------------------------- consumer */

/**
 * zipc_record_consumer_open() - attach this process as the ring's consumer.
 * It resumes at the last released position; a consumer registration held by
 * a dead process is taken over (finishing a release that process had
 * started).
 * @wait: wait configuration of this end, or NULL.
 * @out:  receives the handle; owned by the caller; one thread at a time.
 * Return: 0; -EBUSY (a live consumer is attached), -EPERM (read-only
 * handle), -EINVAL, -ENOMEM, -EPROTO (positions in shared memory are
 * impossible).
 */
ZIPC_API int zipc_record_consumer_open(zipc_record_ring *r, const struct zipc_wait_opts *wait,
				       zipc_record_consumer **out);

/**
 * zipc_record_consumer_close() - detach.  Records read but not released
 * stay in the ring for the next consumer.  @c may be NULL.  Return: 0.
 */
ZIPC_API int zipc_record_consumer_close(zipc_record_consumer *c);

/**
 * zipc_record_read() - the next record, in place.
 * @timeout_ns: 0 = try once; ZIPC_FOREVER = no deadline; else nanoseconds.
 * @buf:        receives the payload address (8-byte aligned, in the ring).
 * @len:        receives its length in bytes (exactly as claimed).
 * Records are returned in ring order (per-producer FIFO for MP); padding is
 * skipped.  The record stays valid, and its room stays taken, until
 * zipc_record_release(), which releases every record read since the last
 * release; several reads may precede one release.  Dead producers (and an
 * MP claim left by one, which is then skipped) are noticed only while
 * waiting, every liveness_ns of the end's struct zipc_wait_opts.
 * Return: 0; -EAGAIN (nothing committed and @timeout_ns 0); -ETIMEDOUT;
 * -EPIPE (everything read and every producer closed); -EOWNERDEAD
 * (everything read and a producer died: SP, or MP with no live producer
 * left; or an MP hole that cannot be attributed); -EPROTO (a length, type
 * or position in shared memory is impossible; the consumer stays at that
 * record).
 */
ZIPC_API int zipc_record_read(zipc_record_consumer *c, int64_t timeout_ns, const void **buf, size_t *len);

/**
 * zipc_record_read_batch() - up to @max records in place: waits (up to
 * @timeout_ns) for the first, then takes what is already committed.
 * @out: array of @max entries receiving the records.
 * Return: number of records (1..@max), or the codes of zipc_record_read()
 * for the first; an error met after the first record ends the batch and is
 * returned by the next call.
 */
ZIPC_API int zipc_record_read_batch(zipc_record_consumer *c, int64_t timeout_ns, struct zipc_record *out,
				    unsigned max);

/**
 * zipc_record_release() - finish with every record read since the last
 * release: their room goes back to producers.  MP: the released bytes are
 * zeroed first (so a lap later an unwritten header reads 0).  Wakes
 * sleeping producers only if one announced.  Return: 0, or -EINVAL.
 */
ZIPC_API int zipc_record_release(zipc_record_consumer *c);

/**
 * zipc_record_recv() - copy the next record into @buf and release it
 * (together with anything read before).
 * @cap: bytes available at @buf.
 * Return: the record's length in bytes; -EMSGSIZE if @cap is smaller
 * (nothing is consumed); the codes of zipc_record_read().
 */
ZIPC_API int64_t zipc_record_recv(zipc_record_consumer *c, void *buf, size_t cap, int64_t timeout_ns);

/* ------------------------------------------- shared-memory layout (ABI) */

/*
 * What a record ring's area holds, for inspectors and tests; versioned by
 * ZIPC_RECORD_LAYOUT and documented in docs/ARCHITECTURE.md.  Every part is
 * aligned to ZIPC_LINE:
 *
 *   struct zipc_record_ring_hdr            6 lines
 *   prod_off  producer table   max_producers x struct zipc_ring_peer
 *   cons_off  consumer table   1 x struct zipc_ring_peer
 *   data_off  capacity bytes of records, then one guard line
 */

/** "ZIPCRECD" little-endian: first word of a record ring's area. */
#define ZIPC_RECORD_MAGIC 0x444345524350495aULL
/** Layout version of struct zipc_record_ring_hdr and what follows it. */
#define ZIPC_RECORD_LAYOUT 1u

/** Record types (bits 32..63 of a header word). */
enum zipc_record_type {
	ZIPC_RECORD_T_DATA = 1,     /**< a committed record */
	ZIPC_RECORD_T_PADDING = 2,  /**< skipped: the end of the buffer at a wrap, or an MP abort */
	ZIPC_RECORD_T_INFLIGHT = 3, /**< MP: claimed, not committed (length is negative) */
};

/** Build / take apart a header word. */
#define ZIPC_RECORD_WORD(len, type) ((uint64_t)(uint32_t)(int32_t)(len) | ((uint64_t)(uint32_t)(type) << 32))
#define ZIPC_RECORD_WORD_LEN(w) ((int32_t)(uint32_t)((w) & 0xffffffffu))
#define ZIPC_RECORD_WORD_TYPE(w) ((uint32_t)((w) >> 32))

/* Immutable geometry, written by the creator before the region is published. */
struct zipc_record_params {
	uint64_t magic;          /* ZIPC_RECORD_MAGIC */
	uint32_t layout;         /* ZIPC_RECORD_LAYOUT */
	uint32_t flags;          /* enum zipc_record_flags */
	uint64_t capacity;       /* data bytes, power of two */
	uint32_t max_record;     /* largest payload, bytes */
	uint32_t align;          /* ZIPC_RECORD_ALIGN */
	uint32_t max_producers;  /* entries in the producer table */
	uint32_t max_consumers;  /* entries in the consumer table: 1 */
	uint32_t wait;           /* default enum zipc_wait_strategy */
	int32_t numa_node;       /* node the pages were bound to, or -1 */
	uint64_t prod_off;       /* offsets from the area's start, each ZIPC_LINE-aligned */
	uint64_t cons_off;
	uint64_t data_off;
	uint64_t total_size;     /* bytes from the area's start to the end of the guard line */
};

/* The consumer's line: written by the consumer at each release only. */
struct zipc_record_head {
	_Atomic uint64_t head;        /* bytes released (C2) */
	_Atomic uint64_t release_to;  /* MP: end of the range being zeroed; == head when idle */
	_Atomic uint64_t records;     /* data records released */
	_Atomic uint64_t paddings;    /* padding records passed */
	_Atomic uint64_t dead_claims; /* dead producers' claims skipped */
};

/* The ring's header, at the start of the region's area. */
struct zipc_record_ring_hdr {
	_Alignas(ZIPC_LINE) struct zipc_record_params p;
	_Alignas(ZIPC_LINE) _Atomic uint64_t tail;            /* SP: published; MP: claimed */
	_Alignas(ZIPC_LINE) struct zipc_record_head h;
	_Alignas(ZIPC_LINE) struct zipc_waitword cons_wait;   /* the consumer sleeps here */
	_Alignas(ZIPC_LINE) struct zipc_waitword prod_wait;   /* producers sleep here */
	_Alignas(ZIPC_LINE) struct zipc_ring_ctl ctl;
};

_Static_assert(sizeof(struct zipc_record_params) <= ZIPC_LINE, "params fit one line");
_Static_assert(sizeof(struct zipc_record_ring_hdr) == 6 * ZIPC_LINE, "record ring header is six lines");
_Static_assert(__builtin_offsetof(struct zipc_record_ring_hdr, tail) == ZIPC_LINE, "tail on its own line");
_Static_assert(__builtin_offsetof(struct zipc_record_ring_hdr, h) == 2 * ZIPC_LINE, "head on its own line");

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_RECORD_H */
