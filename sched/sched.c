/* SPDX-License-Identifier: MIT */
/*
 * sched/sched.c - the scheduler process's side: the channel table and its
 * shared directory, the m worker threads, the round-robin choice of the
 * next job, cancel, closed-channel removal, gc, stop, join and statistics.
 *
 * Every decision about which job runs next is taken under one mutex
 * (s->lock), held by workers only while they pick and copy one job, and by
 * the controller functions.  Senders never take it: they publish into
 * their channel's ring and wake a sleeping worker through the directory's
 * work word (K2 in sched_int.h).  Jobs, finalize and FINALIZE drops run
 * without the lock.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../shm/shm_pvt.h"
#include "sched_int.h"

#define DEFAULT_PAYLOAD 64u
#define DEFAULT_CHANNELS 64u
#define DEFAULT_SPIN_NS 20000
/* the first part of an idle worker's spin is busy, the rest yields */
#define SPIN_PURE_NS 2000
/* gc: how long the consumer waits on a multi-producer hole for the ring's
 * lost-record marking (two liveness checks of CONSUMER_LIVENESS_NS) */
#define CONSUMER_LIVENESS_NS ZIPC_MSEC
#define HOLE_WAIT_NS (25 * ZIPC_MSEC)

/* One channel, as the scheduler process knows it (the truth; the directory
 * entry is only what senders are told). */
struct sched_chan {
	uint64_t id;
	uint64_t bound;
	unsigned slot;          /* directory entry and position in the cyclic order */
	uint32_t gen;
	uint32_t max_senders;
	int creating;           /* reserved, ring being made outside the lock */
	int removed;            /* out of the table (ring closed) */
	int in_live;            /* still in s->live (compaction pending) */
	unsigned refs;          /* running jobs holding it (under lock) */
	_Atomic int cancelled;  /* set by cancel (seq_cst); read by workers after a job */
	zipc_ring *ring;
	zipc_consumer *c;
	uint64_t taken;         /* under lock */
	uint64_t dropped;       /* under lock */
	_Atomic uint64_t completed;
	_Atomic uint32_t running;
};

struct sched_worker {
	struct zipc_sched *s;
	unsigned index;
	pthread_t thr;
	unsigned char *buf;        /* max_payload bytes: the running job's payload */
	struct sched_chan *cur;    /* channel of the job taken last (a reference) */
	struct zipc_sched_job job;
};

struct zipc_sched {
	pthread_mutex_t lock;
	char name[ZIPC_SCHED_NAME_MAX + 1];
	zipc_sched_job_fn job;
	zipc_sched_finalize_fn finalize;
	zipc_sched_drop_fn drop;
	void *ctx;
	uint32_t workers;
	uint32_t max_payload;
	uint32_t max_channels;
	uint32_t flags;
	uint32_t region_flags;
	int group;
	int64_t spin_ns;
	int64_t liveness_ns;

	zipc_region *dir_reg;
	struct zipc_sched_dir *dir;
	struct zipc_sched_entry *ents;

	/* the table (under lock) */
	struct sched_chan **slots;  /* by directory slot; NULL = free */
	uint32_t *gens;             /* last generation given to each slot */
	struct sched_chan **live;   /* channels in the rotation, sorted by slot */
	unsigned nlive;
	unsigned nopen;             /* open or being created */
	unsigned ncancelled;        /* cancelled, waiting for their senders */
	unsigned rr;                /* slot of the last served channel */
	int compact;                /* s->live holds removed channels */
	int stop_idle;              /* stop as soon as nopen reaches 0 */

	_Atomic uint32_t exiting;   /* stop decided: workers leave when out of jobs */
	_Atomic uint32_t alive;     /* workers not yet exited (private futex word) */
	pthread_mutex_t join_lock;
	int joined;
	unsigned started;           /* threads created */
	struct sched_worker *w;

	/* statistics: under lock */
	uint64_t taken, dropped, bad, created, closed, cancelled;
	/* statistics: atomics, written by workers outside the lock */
	_Atomic uint64_t completed, failed, finalized, skipped, sleeps, wakeups;
	_Atomic uint32_t running, max_running;
};

static _Thread_local struct zipc_sched *tls_worker_of;

/* ---------------------------------------------------------------- futex */

static void futex_wait_private(_Atomic uint32_t *word, uint32_t val, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, ns < 0 ? NULL : &ts, NULL, 0);
}

/* The shared work word: senders in other processes wake it, so no
 * FUTEX_PRIVATE_FLAG.  @ns < 0: no timeout.  Returns 1 if it timed out. */
static int futex_wait_shared(_Atomic uint32_t *word, uint32_t val, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
	long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, ns < 0 ? NULL : &ts, NULL, 0);
	return rc != 0 && errno == ETIMEDOUT;
}

/* Controller: wake every sleeping worker (stop) - unconditionally. */
static void wake_all(struct zipc_sched *s)
{
	struct zipc_waitword *w = &s->dir->work;
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release); /* K2 */
	syscall(SYS_futex, (uint32_t *)&w->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	atomic_fetch_add_explicit(&w->wakes, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ directory */

struct dir_init_arg {
	struct zipc_sched_params p;
};

static int dir_init(void *area, uint64_t size, void *arg)
{
	const struct dir_init_arg *a = arg;
	if (a->p.total_size > size)
		return -ENOMEM;
	struct zipc_sched_dir *d = area;
	/* the memfd is zero-filled (every entry FREE) and invisible until the
	 * region's layout word is published */
	d->p = a->p;
	atomic_store_explicit(&d->ctl.state, ZIPC_SCHED_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&d->ctl.pid, (int32_t)getpid(), memory_order_relaxed);
	return 0;
}

static struct zipc_sched_entry *ent(struct zipc_sched *s, unsigned slot)
{
	return &s->ents[slot];
}

/* E1: fields, then the state with release. */
static void entry_publish(struct zipc_sched *s, struct sched_chan *ch, const char *ring_name)
{
	struct zipc_sched_entry *e = ent(s, ch->slot);
	char buf[SCHED_RING_NAME_WORDS * 8];
	memset(buf, 0, sizeof(buf));
	if (ring_name)
		snprintf(buf, sizeof(buf), "%s", ring_name);
	for (unsigned i = 0; i < SCHED_RING_NAME_WORDS; i++) {
		uint64_t w;
		memcpy(&w, buf + 8 * i, 8);
		atomic_store_explicit(&e->ring[i], w, memory_order_relaxed);
	}
	atomic_store_explicit(&e->gen, ch->gen, memory_order_relaxed);
	atomic_store_explicit(&e->id, ch->id, memory_order_relaxed);
	atomic_store_explicit(&e->bound, ch->bound, memory_order_relaxed);
	atomic_store_explicit(&e->max_senders, ch->max_senders, memory_order_relaxed);
	atomic_store_explicit(&e->dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&e->state, SCHED_ENT_OPEN, memory_order_release); /* E1 */
}

static void ctl_channels(struct zipc_sched *s)
{
	atomic_store_explicit(&s->dir->ctl.channels, s->nopen, memory_order_relaxed);
}

/* -------------------------------------------------------------- channels */

static void chan_free_maybe(struct sched_chan *ch)
{
	if (ch->removed && !ch->in_live && ch->refs == 0)
		free(ch);
}

/* Drop the reference a worker holds on the channel of its last job. */
static void worker_unref_locked(struct sched_worker *w)
{
	struct sched_chan *ch = w->cur;
	if (!ch)
		return;
	w->cur = NULL;
	ch->refs--;
	chan_free_maybe(ch);
}

static void live_insert_locked(struct zipc_sched *s, struct sched_chan *ch)
{
	unsigned i = s->nlive;
	while (i > 0 && s->live[i - 1]->slot > ch->slot) {
		s->live[i] = s->live[i - 1];
		i--;
	}
	s->live[i] = ch;
	s->nlive++;
	ch->in_live = 1;
}

static void compact_locked(struct zipc_sched *s)
{
	if (!s->compact)
		return;
	unsigned j = 0;
	for (unsigned i = 0; i < s->nlive; i++) {
		struct sched_chan *ch = s->live[i];
		if (ch->removed) {
			ch->in_live = 0;
			chan_free_maybe(ch);
		} else {
			s->live[j++] = ch;
		}
	}
	s->nlive = j;
	s->compact = 0;
}

/* Take the channel out of the table: ring closed, entry free.  Jobs of it
 * still running keep the struct alive (refs). */
static void remove_locked(struct zipc_sched *s, struct sched_chan *ch)
{
	atomic_store_explicit(&ent(s, ch->slot)->state, SCHED_ENT_FREE, memory_order_release);
	zipc_consumer_close(ch->c);
	ch->c = NULL;
	zipc_ring_close(ch->ring);
	ch->ring = NULL;
	s->slots[ch->slot] = NULL;
	if (atomic_load_explicit(&ch->cancelled, memory_order_relaxed)) {
		s->ncancelled--;
	} else {
		s->nopen--;
		s->closed++;
	}
	ch->removed = 1;
	s->compact = 1;
	ctl_channels(s);
}

/* Read one job slot's header; 0 if its length is acceptable. */
static int slot_len(const struct zipc_sched *s, const unsigned char *slot, uint32_t *len)
{
	struct sched_slot_hdr h;
	memcpy(&h, slot, sizeof(h)); /* a hostile sender may write anything */
	*len = h.len;
	return h.len <= s->max_payload ? 0 : -EPROTO;
}

/* Drop every job queued in @ch now (the drop function sees each, then the
 * slots are released).  Returns the number dropped.  The entry's `dropped`
 * word is updated at the end unless @quiet (cancel publishes it itself). */
static uint64_t drain_drop_locked(struct zipc_sched *s, struct sched_chan *ch, int quiet)
{
	uint64_t n = 0;
	for (;;) {
		uint64_t seq;
		int64_t r = zipc_consumer_try_peek(ch->c, &seq);
		if (r == -ENOMSG) { /* a dead multi-producer sender's claim */
			zipc_consumer_release(ch->c, 1);
			s->bad++;
			continue;
		}
		if (r <= 0)
			break;
		for (int64_t i = 0; i < r; i++) {
			const unsigned char *slot = zipc_consumer_slot(ch->c, seq + (uint64_t)i);
			uint32_t len;
			if (slot_len(s, slot, &len)) {
				s->bad++;
				continue;
			}
			if (s->drop) {
				struct zipc_sched_job job = {.channel = ch->id, .seq = seq + (uint64_t)i,
							     .data = slot + SCHED_SLOT_HDR, .len = len,
							     .worker = UINT32_MAX, .result = NULL};
				s->drop(s->ctx, &job, ZIPC_SCHED_DROP_QUEUED);
			}
			n++;
		}
		zipc_consumer_release(ch->c, (uint32_t)r);
	}
	if (n) {
		ch->dropped += n;
		s->dropped += n;
		if (!quiet)
			atomic_store_explicit(&ent(s, ch->slot)->dropped, ch->dropped, memory_order_relaxed);
	}
	return n;
}

static uint64_t chan_queued(const struct sched_chan *ch)
{
	if (ch->removed || !ch->c)
		return 0;
	/* acquire: pairs with the sender's cursor release (P1); the consumer's
	 * own position is ours (under lock) */
	uint64_t cur = atomic_load_explicit(&ch->c->hdr->cursor, memory_order_acquire);
	uint64_t seq = ch->c->seq;
	return cur > seq ? cur - seq : 0;
}

static uint32_t producers_active(const struct sched_chan *ch)
{
	/* acquire pairs with zipc_producer_close()'s release decrement: what
	 * the last sender published is visible to the peek that follows */
	return atomic_load_explicit(&ch->c->hdr->ctl.producers_active, memory_order_acquire);
}

/* A cancelled channel: drop what was sent into it since, and remove it
 * once no sender is registered.  1 if removed. */
static int cancelled_sweep_locked(struct zipc_sched *s, struct sched_chan *ch)
{
	drain_drop_locked(s, ch, 0);
	if (producers_active(ch) != 0)
		return 0;
	drain_drop_locked(s, ch, 0); /* published just before the last close */
	remove_locked(s, ch);
	return 1;
}

/*
 * An open channel reported end of stream (-EPIPE: every sender closed,
 * everything read).  X1 in sched_int.h: CLOSING, then look for a sender
 * that attached meanwhile; reopen if there is one or if it left jobs.
 * 1 if removed.
 */
static int try_close_locked(struct zipc_sched *s, struct sched_chan *ch)
{
	struct zipc_sched_entry *e = ent(s, ch->slot);
	atomic_store_explicit(&e->state, SCHED_ENT_CLOSING, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst); /* X1: pairs with the attaching sender's fence */
	uint64_t seq;
	if (producers_active(ch) != 0 || zipc_consumer_try_peek(ch->c, &seq) != -EPIPE) {
		atomic_store_explicit(&e->state, SCHED_ENT_OPEN, memory_order_release);
		return 0;
	}
	remove_locked(s, ch);
	return 1;
}

/* A ring whose shared state is impossible: log it and remove the channel. */
static void broken_locked(struct zipc_sched *s, struct sched_chan *ch, int64_t err)
{
	zipc__log(ZIPC_LOG_ERROR, "zipc: sched '%s': channel %llu: corrupted ring (%s), removed", s->name,
		  (unsigned long long)ch->id, zipc_strerror((int)err));
	remove_locked(s, ch);
}

/* Cancel @ch (see zipc_sched_channel_cancel()); returns jobs dropped. */
static uint64_t cancel_locked(struct zipc_sched *s, struct sched_chan *ch)
{
	struct zipc_sched_entry *e = ent(s, ch->slot);
	/* seq_cst: a worker's acquire load after the job function sees it
	 * (finalize skipped) */
	atomic_store_explicit(&ch->cancelled, 1, memory_order_seq_cst);
	/* what the senders will be told was dropped, before they can learn
	 * of the cancel (the state store below releases it, E1): a sender
	 * woken by the drain's slot releases reads a complete count */
	uint64_t est = chan_queued(ch);
	atomic_store_explicit(&e->dropped, ch->dropped + est, memory_order_relaxed);
	atomic_store_explicit(&e->state, SCHED_ENT_CANCELLED, memory_order_seq_cst); /* E1 */
	/* X1 again: a sender that saw OPEN after registering is visible to
	 * the producers_active load of the sweep below */
	atomic_thread_fence(memory_order_seq_cst);
	s->nopen--;
	s->ncancelled++;
	s->cancelled++;
	uint64_t n = drain_drop_locked(s, ch, 1);
	if (n != est) /* a send raced with the cancel, or a claim was never published */
		atomic_store_explicit(&e->dropped, ch->dropped, memory_order_relaxed);
	/* senders blocked for room learn of the cancel now */
	zipc__wake_if_sleepers(&ch->c->hdr->prod_wait);
	if (producers_active(ch) == 0)
		cancelled_sweep_locked(s, ch);
	ctl_channels(s);
	return n;
}

/* Stop: workers leave once out of jobs; senders and creators get -EPIPE. */
static void begin_stop_locked(struct zipc_sched *s, int cancel)
{
	if (cancel) {
		for (unsigned i = 0; i < s->max_channels; i++) {
			struct sched_chan *ch = s->slots[i];
			if (ch && !ch->creating && !atomic_load_explicit(&ch->cancelled, memory_order_relaxed))
				cancel_locked(s, ch);
		}
	}
	if (atomic_load_explicit(&s->exiting, memory_order_relaxed))
		return;
	atomic_store_explicit(&s->exiting, 1, memory_order_release);
	if (atomic_load_explicit(&s->dir->ctl.state, memory_order_relaxed) == ZIPC_SCHED_RUNNING)
		atomic_store_explicit(&s->dir->ctl.state, ZIPC_SCHED_STOPPING, memory_order_release);
	wake_all(s);
}

/* Finish-on-idle: stop once no channel is open. */
static void idle_check_locked(struct zipc_sched *s)
{
	compact_locked(s);
	if (s->stop_idle && s->nopen == 0)
		begin_stop_locked(s, 0);
}

static struct sched_chan *find_open_locked(struct zipc_sched *s, uint64_t id)
{
	for (unsigned i = 0; i < s->max_channels; i++) {
		struct sched_chan *ch = s->slots[i];
		if (ch && !ch->creating && ch->id == id && !atomic_load_explicit(&ch->cancelled, memory_order_relaxed))
			return ch;
	}
	return NULL;
}

/* ------------------------------------------------------------ the choice */

/*
 * The fairness rule: starting after the last served slot (s->rr) in the
 * cyclic order of slots, take one job from the first channel that has one.
 * Cancelled channels met on the way are swept (late jobs dropped), closed
 * and drained ones removed.  Returns 1 with w->job / w->cur set.
 */
static int take_locked(struct zipc_sched *s, struct sched_worker *w)
{
	unsigned n = s->nlive;
	unsigned start = 0;
	while (start < n && s->live[start]->slot <= s->rr)
		start++;
	if (start == n)
		start = 0;
	int got = 0;
	for (unsigned k = 0; k < n && !got; k++) {
		struct sched_chan *ch = s->live[(start + k) % n];
		if (ch->removed)
			continue;
		if (atomic_load_explicit(&ch->cancelled, memory_order_relaxed)) {
			cancelled_sweep_locked(s, ch);
			continue;
		}
		for (;;) {
			uint64_t seq;
			int64_t r = zipc_consumer_try_peek(ch->c, &seq);
			if (r > 0) {
				const unsigned char *slot = zipc_consumer_slot(ch->c, seq);
				uint32_t len;
				if (slot_len(s, slot, &len)) {
					zipc_consumer_release(ch->c, 1);
					s->bad++;
					continue;
				}
				memcpy(w->buf, slot + SCHED_SLOT_HDR, len);
				/* C2: our copy is done before the sender may reuse the slot */
				zipc_consumer_release(ch->c, 1);
				w->job = (struct zipc_sched_job){.channel = ch->id, .seq = seq, .data = w->buf,
								 .len = len, .worker = w->index, .result = NULL};
				w->cur = ch;
				ch->refs++;
				ch->taken++;
				s->taken++;
				s->rr = ch->slot;
				atomic_fetch_add_explicit(&ch->running, 1, memory_order_relaxed);
				uint32_t run = atomic_fetch_add_explicit(&s->running, 1, memory_order_relaxed) + 1;
				if (run > atomic_load_explicit(&s->max_running, memory_order_relaxed))
					atomic_store_explicit(&s->max_running, run, memory_order_relaxed);
				got = 1;
				break;
			}
			if (r == -ENOMSG) { /* lost record of a dead multi-producer sender */
				zipc_consumer_release(ch->c, 1);
				s->bad++;
				continue;
			}
			if (r == -EPIPE)
				try_close_locked(s, ch);
			else if (r != -EAGAIN)
				broken_locked(s, ch, r);
			break;
		}
	}
	if (s->compact)
		idle_check_locked(s);
	return got;
}

/* ---------------------------------------------------------------- gc */

/* A multi-producer ring with a producer whose process died (or with no
 * producer left): only then can a hole be a dead claim. */
static int dead_claimer_possible(const struct zipc_ring *r)
{
	unsigned active = 0;
	for (unsigned i = 0; i < r->p.max_producers; i++) {
		const struct zipc_ring_peer *e = &r->prod[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE)
			continue;
		active++;
		if (!zipc__peer_alive(e))
			return 1;
	}
	return active == 0;
}

static int gc_locked(struct zipc_sched *s)
{
	int removed = 0;
	for (unsigned i = 0; i < s->nlive; i++) {
		struct sched_chan *ch = s->live[i];
		if (ch->removed)
			continue;
		zipc_consumer *c = ch->c;
		uint64_t seq;
		int64_t r = zipc_consumer_try_peek(c, &seq);
		for (unsigned tries = 0; r == -EAGAIN && c->mp && tries < 64 &&
		     atomic_load_explicit(&c->hdr->cursor, memory_order_acquire) != c->seq &&
		     dead_claimer_possible(ch->ring); tries++) {
			/* a hole: claimed, not published, and a sender died.  The
			 * ring's own liveness check (two strikes, CONSUMER_LIVENESS_NS
			 * apart) marks a dead claim lost; we look before reaping,
			 * which would hide the dead claimer */
			r = zipc_consumer_wait(c, HOLE_WAIT_NS, &seq);
			if (r != -ENOMSG)
				break;
			zipc_consumer_release(c, 1);
			s->bad++;
			r = zipc_consumer_try_peek(c, &seq);
		}
		zipc_ring_reap(ch->ring); /* detach senders whose process died */
		if (atomic_load_explicit(&ch->cancelled, memory_order_relaxed)) {
			removed += cancelled_sweep_locked(s, ch);
			continue;
		}
		r = zipc_consumer_try_peek(c, &seq);
		if (r == -EPIPE) {
			removed += try_close_locked(s, ch);
		} else if (r < 0 && r != -EAGAIN && r != -ENOMSG) {
			broken_locked(s, ch, r);
			removed++;
		}
	}
	idle_check_locked(s);
	return removed;
}

/* 1 if some open channel holds a job (gc: wake a worker for it). */
static int any_job_locked(struct zipc_sched *s)
{
	for (unsigned i = 0; i < s->nlive; i++) {
		struct sched_chan *ch = s->live[i];
		uint64_t seq;
		if (!ch->removed && zipc_consumer_try_peek(ch->c, &seq) > 0)
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- workers */

static void run_job(struct zipc_sched *s, struct sched_worker *w)
{
	struct sched_chan *ch = w->cur; /* referenced: stays valid */
	int rc = s->job(s->ctx, &w->job);
	atomic_fetch_add_explicit(&s->completed, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ch->completed, 1, memory_order_relaxed);
	if (rc < 0)
		atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
	/* acquire pairs with cancel_locked()'s seq_cst store: a cancel made
	 * before this point skips finalize */
	if (atomic_load_explicit(&ch->cancelled, memory_order_acquire)) {
		atomic_fetch_add_explicit(&s->skipped, 1, memory_order_relaxed);
		if (s->drop)
			s->drop(s->ctx, &w->job, ZIPC_SCHED_DROP_FINALIZE);
	} else if (s->finalize) {
		s->finalize(s->ctx, &w->job, rc);
		atomic_fetch_add_explicit(&s->finalized, 1, memory_order_relaxed);
	}
	atomic_fetch_sub_explicit(&ch->running, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->running, 1, memory_order_relaxed);
}

/*
 * Nothing to do: re-check for spin_ns, then sleep on the work word until a
 * sender wakes us (K1).  Returns 1 if a job was taken meanwhile.
 */
static int idle_wait(struct zipc_sched *s, struct sched_worker *w)
{
	if (s->spin_ns > 0) {
		int64_t t0 = zipc_now_ns(), until = t0 + s->spin_ns;
		int64_t now = t0;
		do {
			/* busy for the first SPIN_PURE_NS, then yield between looks:
			 * a producer sharing our CPU gets to run and send */
			if (now - t0 < SPIN_PURE_NS) {
				for (int i = 0; i < 32; i++)
					zipc__cpu_relax();
			} else {
				sched_yield();
			}
			if (pthread_mutex_trylock(&s->lock) == 0) {
				int got = take_locked(s, w);
				pthread_mutex_unlock(&s->lock);
				if (got)
					return 1;
			}
			if (atomic_load_explicit(&s->exiting, memory_order_acquire))
				return 0;
			now = zipc_now_ns();
		} while (now < until);
	}
	struct zipc_waitword *ww = &s->dir->work;
	/* K1: announce, read the word, barrier, re-check, sleep */
	atomic_fetch_add_explicit(&ww->sleepers, 1, memory_order_seq_cst);
	uint32_t v = atomic_load_explicit(&ww->seq, memory_order_acquire);
	zipc__sleeper_barrier();
	pthread_mutex_lock(&s->lock);
	int got = take_locked(s, w);
	pthread_mutex_unlock(&s->lock);
	int timed_out = 0;
	if (!got && !atomic_load_explicit(&s->exiting, memory_order_acquire)) {
		atomic_fetch_add_explicit(&s->sleeps, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&ww->sleeps, 1, memory_order_relaxed);
		timed_out = futex_wait_shared(&ww->seq, v, s->liveness_ns > 0 ? s->liveness_ns : -1);
		atomic_fetch_add_explicit(&s->wakeups, 1, memory_order_relaxed);
	}
	atomic_fetch_sub_explicit(&ww->sleepers, 1, memory_order_relaxed);
	if (timed_out && s->liveness_ns > 0) {
		pthread_mutex_lock(&s->lock);
		gc_locked(s);
		pthread_mutex_unlock(&s->lock);
	}
	return got;
}

static void *worker_main(void *arg)
{
	struct sched_worker *w = arg;
	struct zipc_sched *s = w->s;
	tls_worker_of = s;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		worker_unref_locked(w);
		int got = take_locked(s, w);
		pthread_mutex_unlock(&s->lock);
		if (!got) {
			if (atomic_load_explicit(&s->exiting, memory_order_acquire))
				break;
			got = idle_wait(s, w);
		}
		if (got)
			run_job(s, w);
	}
	pthread_mutex_lock(&s->lock);
	worker_unref_locked(w);
	pthread_mutex_unlock(&s->lock);
	if (atomic_fetch_sub_explicit(&s->alive, 1, memory_order_acq_rel) == 1) {
		atomic_store_explicit(&s->dir->ctl.state, ZIPC_SCHED_STOPPED, memory_order_release);
		syscall(SYS_futex, (uint32_t *)&s->alive, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
	return NULL;
}

/* ---------------------------------------------------------------- create */

static void sched_free(struct zipc_sched *s)
{
	if (s->w) {
		for (unsigned i = 0; i < s->workers; i++)
			free(s->w[i].buf);
		free(s->w);
	}
	free(s->slots);
	free(s->gens);
	free(s->live);
	if (s->dir_reg)
		zipc_region_close(s->dir_reg);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->join_lock);
	free(s);
}

int zipc_sched_create(const char *name, const struct zipc_sched_opts *o, zipc_sched **out)
{
	if (!o || !out)
		return -EINVAL;
	*out = NULL;
	if (!o->job || o->workers == 0 || o->workers > ZIPC_SCHED_MAX_WORKERS ||
	    o->max_payload > ZIPC_SCHED_MAX_PAYLOAD || o->max_channels > ZIPC_SCHED_MAX_CHANNELS ||
	    (o->flags & ~(uint32_t)ZIPC_SCHED_PERSIST) ||
	    (o->region_flags & ~(uint32_t)(ZIPC_REGION_GROUP | ZIPC_REGION_HUGETLB)) ||
	    ((o->region_flags & ZIPC_REGION_GROUP) && o->group < 0))
		return -EINVAL;
	if (name && strlen(name) > ZIPC_SCHED_NAME_MAX)
		return -ENAMETOOLONG;
	struct zipc_sched *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&s->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_mutex_init(&s->join_lock, NULL);
	if (name)
		snprintf(s->name, sizeof(s->name), "%s", name);
	s->job = o->job;
	s->finalize = o->finalize;
	s->drop = o->drop;
	s->ctx = o->ctx;
	s->workers = o->workers;
	s->max_payload = o->max_payload ? o->max_payload : DEFAULT_PAYLOAD;
	s->max_channels = o->max_channels ? o->max_channels : DEFAULT_CHANNELS;
	s->flags = o->flags;
	s->region_flags = o->region_flags;
	s->group = o->group;
	s->spin_ns = o->spin_ns == 0 ? DEFAULT_SPIN_NS : o->spin_ns;
	s->liveness_ns = o->liveness_ns;
	s->rr = UINT32_MAX; /* the first take starts at the lowest slot */

	s->slots = calloc(s->max_channels, sizeof(*s->slots));
	s->gens = calloc(s->max_channels, sizeof(*s->gens));
	s->live = calloc(s->max_channels, sizeof(*s->live));
	s->w = calloc(s->workers, sizeof(*s->w));
	if (!s->slots || !s->gens || !s->live || !s->w) {
		sched_free(s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < s->workers; i++) {
		s->w[i].s = s;
		s->w[i].index = i;
		/* 16-byte aligned, never empty */
		s->w[i].buf = aligned_alloc(16, (s->max_payload + 15u) & ~15u);
		if (!s->w[i].buf) {
			sched_free(s);
			return -ENOMEM;
		}
	}

	struct dir_init_arg a;
	memset(&a, 0, sizeof(a));
	a.p.magic = ZIPC_SCHED_MAGIC;
	a.p.layout = ZIPC_SCHED_LAYOUT;
	a.p.max_channels = s->max_channels;
	a.p.max_payload = s->max_payload;
	a.p.slot_size = sched_slot_size(s->max_payload);
	a.p.workers = s->workers;
	a.p.flags = s->flags;
	a.p.entries_off = sizeof(struct zipc_sched_dir);
	a.p.total_size = sched_dir_size(s->max_channels);
	struct zipc_region_opts ro = {
		.size = a.p.total_size,
		.kind = ZIPC_KIND_SCHED,
		.flags = s->region_flags | (name ? 0 : ZIPC_REGION_ANONYMOUS),
		.group = s->group,
		.init = dir_init,
		.init_arg = &a,
	};
	int rc = zipc_region_create(name, &ro, &s->dir_reg);
	if (rc) {
		s->dir_reg = NULL;
		sched_free(s);
		return rc;
	}
	s->dir = zipc_region_area(s->dir_reg);
	s->ents = (struct zipc_sched_entry *)((unsigned char *)s->dir + a.p.entries_off);

	/* workers with every signal blocked: the application's handlers run
	 * on its own threads */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store_explicit(&s->alive, s->workers, memory_order_relaxed);
	for (unsigned i = 0; i < s->workers; i++) {
		rc = pthread_create(&s->w[i].thr, NULL, worker_main, &s->w[i]);
		if (rc) {
			rc = -rc;
			atomic_fetch_sub_explicit(&s->alive, s->workers - i, memory_order_relaxed);
			break;
		}
		s->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_mutex_lock(&s->lock);
		begin_stop_locked(s, 1);
		pthread_mutex_unlock(&s->lock);
		for (unsigned i = 0; i < s->started; i++)
			pthread_join(s->w[i].thr, NULL);
		sched_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

const char *zipc_sched_name(const zipc_sched *s)
{
	return s ? s->name : "";
}

/* -------------------------------------------------------------- channels */

int zipc_sched_channel_create(zipc_sched *s, uint64_t id, uint64_t bound, uint32_t max_senders,
			      zipc_sched_sender **out)
{
	if (out)
		*out = NULL;
	if (!s || !sched_is_pow2(bound) || bound > ZIPC_SCHED_MAX_BOUND || max_senders > ZIPC_SCHED_MAX_SENDERS)
		return -EINVAL;
	if (max_senders == 0)
		max_senders = 1;
	if (bound == 1 && max_senders != 1)
		return -EINVAL; /* a bound of 1 is enforced by a single sender */

	/* reserve an entry under the lock; make the ring outside it */
	pthread_mutex_lock(&s->lock);
	if (atomic_load_explicit(&s->exiting, memory_order_relaxed)) {
		pthread_mutex_unlock(&s->lock);
		return -EPIPE;
	}
	for (unsigned i = 0; i < s->max_channels; i++) {
		struct sched_chan *o = s->slots[i];
		if (o && o->id == id && !atomic_load_explicit(&o->cancelled, memory_order_relaxed)) {
			pthread_mutex_unlock(&s->lock);
			return -EEXIST; /* the original replaced it and dropped its jobs */
		}
	}
	unsigned slot = 0;
	while (slot < s->max_channels && s->slots[slot])
		slot++;
	if (slot == s->max_channels) {
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	struct sched_chan *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		pthread_mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	ch->id = id;
	ch->bound = bound;
	ch->slot = slot;
	ch->gen = ++s->gens[slot];
	ch->max_senders = max_senders;
	ch->creating = 1;
	s->slots[slot] = ch;
	s->nopen++;
	pthread_mutex_unlock(&s->lock);

	char ring_name[ZIPC_NAME_MAX + 1] = "";
	if (s->name[0])
		snprintf(ring_name, sizeof(ring_name), "%s.c%u.%u", s->name, slot, ch->gen);
	struct zipc_ring_opts ro = {
		.capacity = sched_ring_capacity(bound),
		.slot_size = sched_slot_size(s->max_payload),
		.flags = max_senders > 1 ? ZIPC_RING_MULTI_PRODUCER : 0,
		.max_producers = max_senders,
		.max_consumers = 1,
		.wait = ZIPC_WAIT_BLOCK,
		.region_flags = s->region_flags | (s->name[0] ? 0 : ZIPC_REGION_ANONYMOUS),
		.group = s->group,
	};
	int rc = zipc_ring_create(s->name[0] ? ring_name : NULL, &ro, &ch->ring);
	if (rc == 0) {
		struct zipc_wait_opts cw = {.strategy = ZIPC_WAIT_BLOCK, .liveness_ns = CONSUMER_LIVENESS_NS};
		rc = zipc_consumer_open(ch->ring, &cw, &ch->c);
		if (rc) {
			zipc_ring_close(ch->ring);
			ch->ring = NULL;
		}
	}

	pthread_mutex_lock(&s->lock);
	if (rc == 0 && atomic_load_explicit(&s->exiting, memory_order_relaxed))
		rc = -EPIPE; /* stopped meanwhile */
	if (rc) {
		if (ch->c)
			zipc_consumer_close(ch->c);
		if (ch->ring)
			zipc_ring_close(ch->ring);
		s->slots[slot] = NULL;
		s->nopen--;
		free(ch);
		idle_check_locked(s);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	ch->creating = 0;
	entry_publish(s, ch, s->name[0] ? ring_name : NULL); /* E1 */
	live_insert_locked(s, ch);
	s->created++;
	if (!(s->flags & ZIPC_SCHED_PERSIST))
		s->stop_idle = 1; /* finish on idle: from the first channel on */
	ctl_channels(s);
	uint32_t gen = ch->gen;
	/* a copy of the ring's descriptor: a concurrent stop may remove the
	 * channel (and close the ring) as soon as we unlock */
	int ring_fd = out ? fcntl(zipc_region_fd(zipc_ring_region(ch->ring)), F_DUPFD_CLOEXEC, 0) : -1;
	int dup_err = ring_fd < 0 ? -errno : 0;
	pthread_mutex_unlock(&s->lock);
	if (!out)
		return 0;

	/* the first sender, with its own mappings (it may outlive us) */
	zipc_region *reg = NULL;
	rc = ring_fd < 0 ? dup_err : zipc_region_from_fd(zipc_region_fd(s->dir_reg), 0, &reg);
	if (rc == 0) {
		rc = zipc__sched_sender_open(reg, slot, gen, ring_fd, NULL, out);
		if (rc)
			zipc_region_close(reg);
	}
	if (ring_fd >= 0)
		close(ring_fd);
	if (rc == 0)
		return 0;
	/* cannot give the sender: take the channel back */
	pthread_mutex_lock(&s->lock);
	struct sched_chan *cur = s->slots[slot];
	if (cur && cur->gen == gen && !atomic_load_explicit(&cur->cancelled, memory_order_relaxed)) {
		cancel_locked(s, cur);
		idle_check_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int zipc_sched_channel_cancel(zipc_sched *s, uint64_t id)
{
	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	struct sched_chan *ch = find_open_locked(s, id);
	if (!ch) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT; /* the original ignored an unknown id */
	}
	uint64_t n = cancel_locked(s, ch);
	idle_check_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n > INT_MAX ? INT_MAX : (int)n;
}

int zipc_sched_gc(zipc_sched *s)
{
	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int removed = gc_locked(s);
	int job = any_job_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (job) {
		atomic_thread_fence(memory_order_seq_cst); /* W1 */
		zipc__sched_wake_one(&s->dir->work);
	}
	return removed;
}

int zipc_sched_stop(zipc_sched *s, unsigned how)
{
	if (!s || how > ZIPC_SCHED_STOP_CANCEL)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (how == ZIPC_SCHED_STOP_CANCEL) {
		begin_stop_locked(s, 1);
	} else {
		s->stop_idle = 1;
		idle_check_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int zipc_sched_join(zipc_sched *s, int64_t timeout_ns)
{
	if (!s)
		return -EINVAL;
	if (tls_worker_of == s)
		return -EDEADLK;
	int64_t deadline = timeout_ns < 0 ? INT64_MAX : zipc_now_ns() + timeout_ns;
	for (;;) {
		uint32_t a = atomic_load_explicit(&s->alive, memory_order_acquire);
		if (a == 0)
			break;
		if (timeout_ns == 0)
			return -EAGAIN;
		int64_t now = zipc_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		int64_t left = deadline - now;
		futex_wait_private(&s->alive, a, left < ZIPC_SEC ? left : ZIPC_SEC);
	}
	pthread_mutex_lock(&s->join_lock);
	if (!s->joined) {
		for (unsigned i = 0; i < s->started; i++)
			pthread_join(s->w[i].thr, NULL);
		s->joined = 1;
	}
	pthread_mutex_unlock(&s->join_lock);
	return 0;
}

int zipc_sched_destroy(zipc_sched *s)
{
	if (!s)
		return 0;
	if (tls_worker_of == s)
		return -EDEADLK;
	zipc_sched_stop(s, ZIPC_SCHED_STOP_CANCEL);
	zipc_sched_join(s, ZIPC_FOREVER);
	pthread_mutex_lock(&s->lock);
	compact_locked(s); /* frees removed channels: no worker holds one now */
	for (unsigned i = 0; i < s->max_channels; i++) {
		struct sched_chan *ch = s->slots[i];
		if (!ch)
			continue;
		/* cancelled channels whose senders are still open: drop what
		 * they sent since; the entry stays CANCELLED for them */
		drain_drop_locked(s, ch, 0);
		zipc_consumer_close(ch->c);
		zipc_ring_close(ch->ring);
		s->slots[i] = NULL;
		ch->removed = 1;
		ch->in_live = 0;
		free(ch); /* no worker holds a reference any more */
	}
	s->nlive = 0;
	atomic_store_explicit(&s->dir->ctl.state, ZIPC_SCHED_STOPPED, memory_order_release);
	pthread_mutex_unlock(&s->lock);
	sched_free(s);
	return 0;
}

/* -------------------------------------------------------------- statistics */


int zipc_sched_stat(zipc_sched *s, struct zipc_sched_stat *st)
{
	if (!s || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	int exiting = (int)atomic_load_explicit(&s->exiting, memory_order_acquire);
	int alive = atomic_load_explicit(&s->alive, memory_order_acquire) != 0;
	st->state = !exiting ? ZIPC_SCHED_RUNNING : alive ? ZIPC_SCHED_STOPPING : ZIPC_SCHED_STOPPED;
	st->workers = s->workers;
	st->channels = s->nopen;
	st->cancelled = s->ncancelled;
	for (unsigned i = 0; i < s->nlive; i++) {
		struct sched_chan *ch = s->live[i];
		if (!ch->removed && !atomic_load_explicit(&ch->cancelled, memory_order_relaxed))
			st->queued += chan_queued(ch);
	}
	st->taken = s->taken;
	st->dropped = s->dropped;
	st->bad = s->bad;
	st->channels_created = s->created;
	st->channels_closed = s->closed;
	st->channels_cancelled = s->cancelled;
	pthread_mutex_unlock(&s->lock);
	st->running = atomic_load_explicit(&s->running, memory_order_relaxed);
	st->max_running = atomic_load_explicit(&s->max_running, memory_order_relaxed);
	st->sleeping = atomic_load_explicit(&s->dir->work.sleepers, memory_order_relaxed);
	st->completed = atomic_load_explicit(&s->completed, memory_order_relaxed);
	st->failed = atomic_load_explicit(&s->failed, memory_order_relaxed);
	st->finalized = atomic_load_explicit(&s->finalized, memory_order_relaxed);
	st->finalize_skipped = atomic_load_explicit(&s->skipped, memory_order_relaxed);
	st->sleeps = atomic_load_explicit(&s->sleeps, memory_order_relaxed);
	st->wakeups = atomic_load_explicit(&s->wakeups, memory_order_relaxed);
	st->wakes = atomic_load_explicit(&s->dir->work.wakes, memory_order_relaxed);
	return 0;
}

int zipc_sched_channel_stat(zipc_sched *s, uint64_t id, struct zipc_sched_channel_stat *st)
{
	if (!s || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	struct sched_chan *ch = find_open_locked(s, id);
	for (unsigned i = 0; !ch && i < s->max_channels; i++) {
		struct sched_chan *o = s->slots[i];
		if (o && !o->creating && o->id == id)
			ch = o; /* a cancelled one, still waiting for its senders */
	}
	if (!ch) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	int cancelled = atomic_load_explicit(&ch->cancelled, memory_order_relaxed);
	st->id = ch->id;
	st->bound = ch->bound;
	st->state = cancelled ? ZIPC_SCHED_CH_CANCELLED : ZIPC_SCHED_CH_OPEN;
	st->senders = producers_active(ch);
	st->max_senders = ch->max_senders;
	st->running = atomic_load_explicit(&ch->running, memory_order_relaxed);
	st->queued = cancelled ? 0 : chan_queued(ch);
	st->taken = ch->taken;
	st->completed = atomic_load_explicit(&ch->completed, memory_order_relaxed);
	st->dropped = ch->dropped;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
