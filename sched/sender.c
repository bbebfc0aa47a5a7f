/* SPDX-License-Identifier: MIT */
/*
 * sched/sender.c - the producer side of the scheduler: attach to a
 * scheduler's directory by name, find a channel by id, register on its
 * ring, send jobs (try / blocking), learn of cancel, close and stop, and
 * wake a sleeping worker only when one announced itself (K2 in
 * sched_int.h).  Runs in any process; trusts nothing it reads from the
 * directory or the ring without checking it.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../shm/shm_pvt.h"
#include "sched_int.h"

/* Per-process sender handle. */
struct zipc_sched_sender {
	zipc_region *dir_reg;            /* our own mapping of the directory */
	struct zipc_sched_dir *dir;
	struct zipc_sched_entry *e;      /* our channel's entry */
	unsigned slot;                   /* its index */
	uint32_t gen;                    /* its generation when we attached */
	uint64_t id;
	uint64_t bound;
	uint32_t max_payload;
	zipc_ring *ring;                 /* our own mapping of the channel ring */
	zipc_producer *p;
	_Atomic uint64_t *cons_seq;      /* bound 1: the scheduler's consumer sequence */
	int32_t owner_pid;               /* the scheduler process (directory creator) */
	uint64_t owner_start;
	int64_t next_live;               /* try_send on a full ring: next liveness look */
	int owner_dead;
};

/* ----------------------------------------------------------- directory */

void zipc__sched_entry_name(const struct zipc_sched_entry *e, char out[SCHED_RING_NAME_WORDS * 8])
{
	for (unsigned i = 0; i < SCHED_RING_NAME_WORDS; i++) {
		uint64_t w = atomic_load_explicit(&e->ring[i], memory_order_relaxed);
		memcpy(out + 8 * i, &w, 8);
	}
	out[SCHED_RING_NAME_WORDS * 8 - 1] = '\0';
}

int zipc__sched_params_check(const struct zipc_sched_params *in, uint64_t area_size)
{
	if (in->magic != ZIPC_SCHED_MAGIC)
		return -EBADMSG;
	if (in->layout != ZIPC_SCHED_LAYOUT)
		return -EPROTONOSUPPORT;
	if (in->max_channels == 0 || in->max_channels > ZIPC_SCHED_MAX_CHANNELS || in->max_payload == 0 ||
	    in->max_payload > ZIPC_SCHED_MAX_PAYLOAD || in->slot_size != sched_slot_size(in->max_payload) ||
	    in->workers == 0 || in->workers > ZIPC_SCHED_MAX_WORKERS ||
	    in->entries_off != sizeof(struct zipc_sched_dir) || in->total_size != sched_dir_size(in->max_channels))
		return -EPROTO;
	if (in->total_size > area_size)
		return -ENODATA;
	return 0;
}

/* View an attached region as a scheduler directory; 0 or a code. */
static int dir_view(zipc_region *reg, struct zipc_sched_dir **out)
{
	const struct zipc_region_hdr *rh = zipc_region_header(reg);
	if (rh->kind != ZIPC_KIND_SCHED)
		return -EMEDIUMTYPE;
	uint64_t size = zipc_region_area_size(reg);
	if (size < sizeof(struct zipc_sched_dir))
		return -ENODATA;
	struct zipc_sched_dir *d = zipc_region_area(reg);
	struct zipc_sched_params p;
	memcpy(&p, &d->p, sizeof(p)); /* validate a private copy */
	int rc = zipc__sched_params_check(&p, size);
	if (rc)
		return rc;
	*out = d;
	return 0;
}

/* ---------------------------------------------------------------- wake */

void zipc__sched_wake_one(struct zipc_waitword *w)
{
	/* K2: the caller's W1 fence ordered its publish before this load */
	if (!atomic_load_explicit(&w->sleepers, memory_order_relaxed))
		return;
	/* release: a worker that reads the new value sees the job */
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
	/* shared futex (no FUTEX_PRIVATE_FLAG): workers sleep in another process */
	syscall(SYS_futex, (uint32_t *)&w->seq, FUTEX_WAKE, 1, NULL, NULL, 0);
	atomic_fetch_add_explicit(&w->wakes, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------- sender */

/* Is the channel still accepting?  0, -ECANCELED or -EPIPE (E2). */
static int entry_status(const zipc_sched_sender *s)
{
	uint32_t st = atomic_load_explicit(&s->e->state, memory_order_acquire);
	if (atomic_load_explicit(&s->e->gen, memory_order_relaxed) != s->gen)
		return -EPIPE; /* the channel was removed and its entry reused */
	if (st == SCHED_ENT_OPEN || st == SCHED_ENT_CLOSING)
		return 0; /* CLOSING: we are registered, the scheduler will reopen it (X1) */
	return st == SCHED_ENT_CANCELLED ? -ECANCELED : -EPIPE;
}

static void sender_free(zipc_sched_sender *s)
{
	if (s->p)
		zipc_producer_close(s->p);
	if (s->ring)
		zipc_ring_close(s->ring);
	if (s->dir_reg)
		zipc_region_close(s->dir_reg);
	free(s);
}

int zipc__sched_sender_open(zipc_region *dir_reg, unsigned slot, uint32_t expect_gen, int ring_fd,
			    const struct zipc_wait_opts *wait, zipc_sched_sender **out)
{
	struct zipc_sched_dir *d;
	int rc = dir_view(dir_reg, &d);
	if (rc)
		return rc;
	if (slot >= d->p.max_channels)
		return -EINVAL;
	zipc_sched_sender *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir = d;
	s->slot = slot;
	s->e = (struct zipc_sched_entry *)((unsigned char *)d + d->p.entries_off) + slot;
	s->max_payload = d->p.max_payload;
	const struct zipc_region_hdr *rh = zipc_region_header(dir_reg);
	s->owner_pid = rh->creator_pid;
	s->owner_start = rh->creator_start;

	/* E2: state, then the fields, then state and gen again */
	uint32_t st = atomic_load_explicit(&s->e->state, memory_order_acquire);
	s->gen = atomic_load_explicit(&s->e->gen, memory_order_relaxed);
	s->id = atomic_load_explicit(&s->e->id, memory_order_relaxed);
	s->bound = atomic_load_explicit(&s->e->bound, memory_order_relaxed);
	uint32_t max_senders = atomic_load_explicit(&s->e->max_senders, memory_order_relaxed);
	char name[SCHED_RING_NAME_WORDS * 8];
	zipc__sched_entry_name(s->e, name);
	uint32_t st2 = atomic_load_explicit(&s->e->state, memory_order_acquire);
	if (st != SCHED_ENT_OPEN || st2 != st || atomic_load_explicit(&s->e->gen, memory_order_relaxed) != s->gen ||
	    (expect_gen && s->gen != expect_gen)) {
		int reused = expect_gen && s->gen != expect_gen;
		free(s);
		if (reused)
			return -EPIPE; /* the channel is gone, its entry reused */
		return st == SCHED_ENT_CANCELLED ? -ECANCELED : st == SCHED_ENT_FREE ? -ENOENT : -EPIPE;
	}
	if (!sched_is_pow2(s->bound) || s->bound > ZIPC_SCHED_MAX_BOUND || max_senders == 0 ||
	    max_senders > ZIPC_SCHED_MAX_SENDERS || (s->bound == 1 && max_senders != 1)) {
		free(s);
		return -EPROTO;
	}
	if (ring_fd >= 0)
		rc = zipc_ring_from_fd(ring_fd, 0, &s->ring);
	else if (name[0])
		rc = zipc_ring_attach(name, 0, &s->ring);
	else
		rc = -ENOENT; /* anonymous channel: only the scheduler's process can open it */
	if (rc) {
		free(s);
		return rc == -ENOENT ? -EPIPE : rc; /* the ring's name went with its channel */
	}
	/* the ring must be the channel the directory describes */
	struct zipc_ring *r = s->ring;
	int mp = !!(r->p.flags & ZIPC_RING_MULTI_PRODUCER);
	if (r->p.capacity != sched_ring_capacity(s->bound) || r->p.slot_size != d->p.slot_size ||
	    mp != (max_senders > 1) || r->p.max_producers != max_senders || r->p.max_consumers < 1) {
		zipc_ring_close(s->ring);
		free(s);
		return -EPROTO;
	}
	rc = zipc_producer_open(s->ring, wait, &s->p);
	if (rc) {
		zipc_ring_close(s->ring);
		free(s);
		return rc;
	}
	s->cons_seq = &r->cons[0].sequence;
	/* X1: registered (producers_active incremented) before we look at the
	 * state again: either the scheduler closing a drained channel sees us,
	 * or we see its CLOSING and back out */
	atomic_thread_fence(memory_order_seq_cst);
	st = atomic_load_explicit(&s->e->state, memory_order_seq_cst);
	if (atomic_load_explicit(&s->e->gen, memory_order_relaxed) != s->gen || st != SCHED_ENT_OPEN) {
		s->dir_reg = NULL; /* stays the caller's */
		zipc_producer_close(s->p);
		s->p = NULL;
		/* a worker may be waiting to see this channel drained and alone */
		atomic_thread_fence(memory_order_seq_cst); /* W1 */
		zipc__sched_wake_one(&d->work);
		sender_free(s);
		return st == SCHED_ENT_CANCELLED ? -ECANCELED : -EPIPE;
	}
	s->dir_reg = dir_reg;
	*out = s;
	return 0;
}

int zipc_sched_sender_attach(const char *name, uint64_t id, const struct zipc_wait_opts *wait,
			     zipc_sched_sender **out)
{
	if (!name || !out || (wait && wait->strategy > ZIPC_WAIT_URING))
		return -EINVAL;
	*out = NULL;
	if (strlen(name) > ZIPC_SCHED_NAME_MAX)
		return -ENAMETOOLONG;
	zipc_region *reg;
	int rc = zipc_region_attach(name, 0, &reg);
	if (rc)
		return rc;
	struct zipc_sched_dir *d;
	if ((rc = dir_view(reg, &d))) {
		zipc_region_close(reg);
		return rc;
	}
	uint32_t nch = d->p.max_channels;
	struct zipc_sched_entry *ents = (struct zipc_sched_entry *)((unsigned char *)d + d->p.entries_off);
	rc = -ENOENT;
	for (unsigned i = 0; i < nch; i++) {
		uint32_t st = atomic_load_explicit(&ents[i].state, memory_order_acquire); /* E2 */
		if (st != SCHED_ENT_OPEN && st != SCHED_ENT_CLOSING)
			continue;
		if (atomic_load_explicit(&ents[i].id, memory_order_relaxed) != id)
			continue;
		/* open validates the entry again under its own E2 reads */
		int r = zipc__sched_sender_open(reg, i, 0, -1, wait, out);
		if (r == 0 && (*out)->id == id)
			return 0;
		if (r == 0) { /* the entry was reused for another channel under us */
			(*out)->dir_reg = NULL; /* stays ours */
			zipc_sched_sender_close(*out);
			*out = NULL;
			continue;
		}
		if (r != -ENOENT && r != -EPIPE && r != -ECANCELED) {
			rc = r;
			break;
		}
		if (r != -ENOENT)
			rc = r; /* closing or cancelled under us; another entry may still match */
	}
	if (rc == -ENOENT && atomic_load_explicit(&d->ctl.state, memory_order_acquire) != ZIPC_SCHED_RUNNING)
		rc = -EPIPE;
	if (rc == -ENOENT) {
		const struct zipc_region_hdr *rh = zipc_region_header(reg);
		if (!zipc_pid_alive(rh->creator_pid, rh->creator_start))
			rc = -EOWNERDEAD;
	}
	zipc_region_close(reg);
	return rc;
}

int zipc_sched_sender_clone(const zipc_sched_sender *from, zipc_sched_sender **out)
{
	if (!from || !out)
		return -EINVAL;
	*out = NULL;
	int rc = entry_status(from);
	if (rc)
		return rc;
	zipc_region *reg;
	if ((rc = zipc_region_from_fd(zipc_region_fd(from->dir_reg), 0, &reg)))
		return rc;
	struct zipc_wait_opts w = from->p->wait;
	rc = zipc__sched_sender_open(reg, from->slot, from->gen, zipc_region_fd(zipc_ring_region(from->ring)), &w,
				     out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

/* A full channel: is the scheduler's process gone?  Looked at most every
 * liveness_ns (a /proc read); 0 or -EOWNERDEAD. */
static int owner_check(zipc_sched_sender *s, int force)
{
	if (s->owner_dead)
		return -EOWNERDEAD;
	int64_t now = zipc_now_ns();
	if (!force && now < s->next_live)
		return 0;
	s->next_live = now + s->p->wait.liveness_ns;
	if (!zipc_pid_alive(s->owner_pid, s->owner_start)) {
		s->owner_dead = 1;
		return -EOWNERDEAD;
	}
	return 0;
}

/* One attempt; -EAGAIN when full (liveness not looked at). */
static int send_once(zipc_sched_sender *s, const void *job, size_t len)
{
	int rc = entry_status(s);
	if (rc)
		return rc;
	zipc_producer *p = s->p;
	if (s->bound == 1) {
		/* the ring holds 2 slots; a bound of 1 is enforced here: single
		 * sender, so claimed-but-not-released is exact.  P2-like acquire:
		 * pairs with the consumer's C2 release */
		uint64_t done = atomic_load_explicit(s->cons_seq, memory_order_acquire);
		if (p->next - done >= 1)
			return -EAGAIN;
	}
	uint64_t seq;
	rc = zipc_producer_try_claim(p, 1, &seq);
	if (rc)
		return rc;
	unsigned char *slot = zipc_producer_slot(p, seq);
	struct sched_slot_hdr h = {.len = (uint32_t)len, .reserved = 0};
	memcpy(slot, &h, sizeof(h));
	if (len)
		memcpy(slot + SCHED_SLOT_HDR, job, len);
	zipc_producer_publish(p, seq, 1); /* P1, then its W1 fence */
	zipc__sched_wake_one(&s->dir->work); /* K2, ordered by that fence */
	return 0;
}

int zipc_sched_sender_try_send(zipc_sched_sender *s, const void *job, size_t len)
{
	if (!s || (!job && len))
		return -EINVAL;
	if (len > s->max_payload)
		return -EMSGSIZE;
	int rc = send_once(s, job, len);
	if (rc == -EAGAIN && owner_check(s, 0))
		return -EOWNERDEAD;
	return rc;
}

struct send_arg {
	zipc_sched_sender *s;
	const void *job;
	size_t len;
};

static int64_t send_check(void *arg)
{
	struct send_arg *a = arg;
	return send_once(a->s, a->job, a->len);
}

static int send_live(void *arg)
{
	struct send_arg *a = arg;
	return owner_check(a->s, 1);
}

int zipc_sched_sender_send(zipc_sched_sender *s, const void *job, size_t len, int64_t timeout_ns)
{
	if (!s || (!job && len))
		return -EINVAL;
	if (len > s->max_payload)
		return -EMSGSIZE;
	int rc = send_once(s, job, len);
	if (rc != -EAGAIN)
		return rc;
	if (owner_check(s, 0))
		return -EOWNERDEAD;
	if (timeout_ns == 0)
		return -EAGAIN;
	/* Sleep on the ring's producer wait word: the scheduler's release of a
	 * slot (zipc_consumer_release) and its cancel / stop wake it. */
	struct send_arg a = {.s = s, .job = job, .len = len};
	struct zipc__waiter wt = {.opts = &s->p->wait, .w = &s->p->hdr->prod_wait, .me = s->p->me,
				  .check = send_check, .live = send_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

int zipc_sched_sender_status(const zipc_sched_sender *s, uint64_t *dropped)
{
	if (!s)
		return -EINVAL;
	int rc = entry_status(s);
	if (dropped)
		*dropped = rc == -ECANCELED ? atomic_load_explicit(&s->e->dropped, memory_order_relaxed) : 0;
	if (rc == 0 && !zipc_pid_alive(s->owner_pid, s->owner_start))
		rc = -EOWNERDEAD;
	return rc;
}

int zipc_sched_sender_set_wait(zipc_sched_sender *s, const struct zipc_wait_opts *wait)
{
	if (!s || (wait && wait->strategy > ZIPC_WAIT_URING))
		return -EINVAL;
	zipc__wait_resolve(s->ring, wait, &s->p->wait);
	return 0;
}

uint64_t zipc_sched_sender_id(const zipc_sched_sender *s)
{
	return s ? s->id : 0;
}

int zipc_sched_sender_close(zipc_sched_sender *s)
{
	if (!s)
		return 0;
	struct zipc_waitword *w = &s->dir->work;
	zipc_producer_close(s->p); /* producers_active -1 (acq_rel): end of stream when last */
	s->p = NULL;
	/* W1: our close before the sleepers load; a sleeping worker must come
	 * and see the channel drained and without senders (K2) */
	atomic_thread_fence(memory_order_seq_cst);
	zipc__sched_wake_one(w);
	sender_free(s);
	return 0;
}
