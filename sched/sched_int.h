/* SPDX-License-Identifier: MIT */
/*
 * sched/sched_int.h - private to libzipc: the scheduler's shared directory
 * layout (a cross-process ABI, versioned by ZIPC_SCHED_LAYOUT and described
 * in docs/SCHED.md), the job slot format, and the helpers shared by
 * sched/sched.c (the scheduler process) and sched/sender.c (producers).
 * Never installed.
 *
 * Memory-ordering edges of the scheduler (the ring's own P1/C1/C2/P2/W1/S1
 * edges, zipc/bits/ring_pvt.h, carry the jobs themselves):
 *   E1  scheduler: entry fields (id, bound, ring name, gen), then `state`
 *       store-release                                      pairs with E2
 *   E2  sender: `state` load-acquire, then the fields, then `state` and
 *       `gen` again (a torn read of a reused entry is detected)
 *   K1  worker going to sleep: `work.sleepers` += 1 (seq_cst RMW), read
 *       `work.seq`, sleeper barrier (zipc__sleeper_barrier), re-check every
 *       channel, FUTEX_WAIT on `work.seq`
 *   K2  sender: publish (the ring's P1 and its W1 fence), then load
 *       `work.sleepers`; if non-zero, `work.seq` += 1 (release) and
 *       FUTEX_WAKE one.  K1/K2 are the ring's W1/S1 Dekker pair on a word
 *       shared by every channel: either the sender sees the sleeper, or the
 *       sleeper's re-check sees the job.
 *   X1  scheduler closing a drained channel: entry `state` = CLOSING
 *       (seq_cst), fence, load the ring's producers_active; a sender that
 *       attaches increments producers_active (zipc_producer_open), fence,
 *       then loads `state`.  Either the scheduler sees the new sender and
 *       reopens the channel, or the sender sees CLOSING and backs out.
 */
#ifndef ZIPC_SCHED_INT_H
#define ZIPC_SCHED_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include <zipc/sched.h>

#include "../ring/ring_int.h"

/** "ZIPCSCHD" little-endian (the same byte pattern as the region and ring magics). */
#define ZIPC_SCHED_MAGIC 0x444843534350495aULL
/** Layout version of the directory. */
#define ZIPC_SCHED_LAYOUT 1u

/* Immutable parameters, written by the creator before the region is published. */
struct zipc_sched_params {
	uint64_t magic;         /* ZIPC_SCHED_MAGIC */
	uint32_t layout;        /* ZIPC_SCHED_LAYOUT */
	uint32_t max_channels;  /* entries in the table, 1..ZIPC_SCHED_MAX_CHANNELS */
	uint32_t max_payload;   /* bytes of one job, 1..ZIPC_SCHED_MAX_PAYLOAD */
	uint32_t slot_size;     /* ring slot bytes: SCHED_SLOT_HDR + max_payload rounded up to 8 */
	uint32_t workers;       /* m (informational) */
	uint32_t flags;         /* enum zipc_sched_flags (informational) */
	uint64_t entries_off;   /* offset of entry 0 from the directory's start */
	uint64_t total_size;    /* bytes from the directory's start to the end of the table */
};

/* Scheduler-wide state the senders and inspectors read. */
struct zipc_sched_ctl {
	_Atomic uint32_t state;    /* enum zipc_sched_state */
	_Atomic uint32_t channels; /* open channels (informational) */
	_Atomic int32_t pid;       /* scheduler process (as the region's creator) */
	uint32_t reserved;
};

/* The directory's header, at the start of the region's area. */
struct zipc_sched_dir {
	_Alignas(ZIPC_LINE) struct zipc_sched_params p;
	/* "work available": every idle worker sleeps here, every sender wakes
	 * here (K1/K2).  Same shape as a ring's wait words. */
	_Alignas(ZIPC_LINE) struct zipc_waitword work;
	_Alignas(ZIPC_LINE) struct zipc_sched_ctl ctl;
};

/* Channel entry states (struct zipc_sched_entry.state). */
enum sched_entry_state {
	SCHED_ENT_FREE = 0,      /* unused (or the channel was removed) */
	SCHED_ENT_OPEN = 1,      /* accepting jobs */
	SCHED_ENT_CLOSING = 2,   /* drained with no sender: being removed (X1) */
	SCHED_ENT_CANCELLED = 3, /* cancelled: sends fail with -ECANCELED */
	SCHED_ENT_STATE_MAX = SCHED_ENT_CANCELLED,
};

#define SCHED_RING_NAME_WORDS 7u /* 56 bytes of ring name, NUL-terminated */

/* One channel entry: one line.  Written by the scheduler only. */
struct zipc_sched_entry {
	_Alignas(ZIPC_LINE) _Atomic uint32_t state; /* enum sched_entry_state (E1) */
	_Atomic uint32_t gen;        /* bumped each time the entry is reused */
	_Atomic uint64_t id;         /* channel id */
	_Atomic uint64_t bound;      /* jobs the channel queues (power of two) */
	_Atomic uint32_t max_senders;
	uint32_t reserved;
	_Atomic uint64_t dropped;    /* jobs dropped by its cancel */
	/* ring region name, "" for an anonymous scheduler; stored as words
	 * so that a concurrent reuse of the entry is a torn read, not a race */
	_Atomic uint64_t ring[SCHED_RING_NAME_WORDS];
};

_Static_assert(sizeof(struct zipc_sched_params) <= ZIPC_LINE, "params fit one line");
_Static_assert(sizeof(struct zipc_sched_dir) == 3 * ZIPC_LINE, "directory header is three lines");
_Static_assert(sizeof(struct zipc_sched_entry) == ZIPC_LINE, "an entry is one line");
_Static_assert(__builtin_offsetof(struct zipc_sched_dir, work) == ZIPC_LINE, "work word on its own line");

/* Every job slot of a channel ring starts with this header. */
struct sched_slot_hdr {
	uint32_t len;      /* payload bytes; > max_payload = corrupt, skipped */
	uint32_t reserved; /* 0 */
};
#define SCHED_SLOT_HDR 8u

/* Geometry of a directory for @max_channels entries. */
static inline uint64_t sched_dir_size(uint32_t max_channels)
{
	return sizeof(struct zipc_sched_dir) + (uint64_t)max_channels * sizeof(struct zipc_sched_entry);
}

static inline uint32_t sched_slot_size(uint32_t max_payload)
{
	return SCHED_SLOT_HDR + ((max_payload + 7u) & ~7u);
}

static inline int sched_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Ring capacity of a channel of @bound jobs (a ring holds at least 2 slots;
 * a bound of 1 is enforced by its single sender). */
static inline uint64_t sched_ring_capacity(uint64_t bound)
{
	return bound < 2 ? 2 : bound;
}

/* Copy the ring name out of an entry (NUL-terminated in @out[56]). */
void zipc__sched_entry_name(const struct zipc_sched_entry *e, char out[SCHED_RING_NAME_WORDS * 8]);

/* Validate the parameters of a directory mapped with @area_size bytes:
 * 0, -EBADMSG, -EPROTONOSUPPORT, -EPROTO or -ENODATA. */
int zipc__sched_params_check(const struct zipc_sched_params *p, uint64_t area_size);

/* Sender wakes one sleeping worker if any announced itself (K2: the caller
 * has just issued the W1 fence, e.g. inside zipc_producer_publish()). */
void zipc__sched_wake_one(struct zipc_waitword *w);

/* Open a sender on directory entry @slot of the directory region @dir_reg
 * (ownership of @dir_reg passes to the sender on success only).  The
 * channel ring is mapped from @ring_fd if >= 0, else attached by the name
 * in the entry.  @expect_gen (0 = any) must be the entry's generation. */
int zipc__sched_sender_open(zipc_region *dir_reg, unsigned slot, uint32_t expect_gen, int ring_fd,
			    const struct zipc_wait_opts *wait, zipc_sched_sender **out);

#endif /* ZIPC_SCHED_INT_H */
