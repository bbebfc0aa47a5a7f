/* SPDX-License-Identifier: MIT */
/*
 * dispatch/dispatch.c - clocked dispatch (zipc/dispatch.h).
 *
 * Shared state: the control region "<name>" (kind ZIPC_KIND_DISPATCH):
 *
 *   struct dsp_area        immutable geometry; mode, run state, counters;
 *                          the serializing clock; two doorbells (waitwords)
 *   struct dsp_end [S + R] one registration per sender, then per receiver
 *
 * plus one SPSC zipc ring per end: "<name>.s<i>.<gen>" (sender -> dispatcher,
 * created by the sender) and "<name>.r<j>.<gen>" (dispatcher -> receiver,
 * created by the receiver).  Every ring has a reserved consumer slot, so
 * nothing published before the other side attaches is lost.
 *
 * End registration (state word, written by the owner except where noted):
 *   FREE -> OPENING (owner CAS, fills name/ring/target) -> REQUEST (release)
 *   -> ACTIVE or REJECTED (dispatcher CAS; REJECTED carries `error`)
 *   ACTIVE -> CLOSED (owner, release) -> FREE (dispatcher, once drained)
 *   REQUEST -> CLOSED (owner gave up waiting, CAS) -> FREE (dispatcher)
 *
 * Doorbells (the W1/S1 protocol of zipc/bits/ring_pvt.h, one word each):
 *   `door`:  the dispatcher sleeps on it; a sender after publishing, a
 *            receiver after freeing a slot and an opener/closer after a
 *            registration change wake it only if it announced itself.
 *   `rbell`: receivers sleep on it; the dispatcher wakes them (all) after
 *            delivering messages or moving clocks, only if one announced.
 *
 * Memory ordering: a receiver reads its clock (acquire) before it peeks its
 * ring; the dispatcher publishes a receiver's messages into its ring before
 * it stores a clock covering them (release), so a receiver that sees clock
 * C and an empty ring has really been given everything <= C.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zipc/dispatch.h>
#include <zipc/ring.h>

#include "dispatch_int.h"

#define DSP_MAGIC 0x5450534443504953ULL /* "SIPCDSPT" */
#define DSP_LAYOUT 1u
#define DSP_LINE 128u

enum { END_FREE = 0, END_OPENING = 1, END_REQUEST = 2, END_ACTIVE = 3, END_REJECTED = 4, END_CLOSED = 5 };
enum { MODE_UNSET = 0, MODE_SEND = 1, MODE_FORWARD = 2 };
enum { RUN_RUNNING = 1, RUN_STOPPED = 2 };
enum { F_FORWARD = 1u, F_DATA = 2u };

struct dsp_hdr {
	uint64_t magic;
	uint32_t layout;
	uint32_t max_senders;
	uint32_t max_receivers;
	uint32_t capacity;
	uint32_t max_message;
	int32_t disp_pid;
	uint64_t disp_start;
	uint64_t ends_off;
	uint64_t total;
	int64_t open_timeout_ns;
	char name[ZIPC_DISPATCH_NAME_MAX + 8];
};

struct dsp_ctl {
	_Atomic uint32_t mode;   /* MODE_*: CAS from UNSET by the first sender */
	_Atomic uint32_t run;    /* RUN_*: dispatcher */
	_Atomic uint32_t ctlgen; /* bumped by every registration change */
	uint32_t reserved;
	_Atomic uint64_t delivered, dropped, clock_updates, sleeps;
};

struct dsp_area {
	_Alignas(DSP_LINE) struct dsp_hdr h;
	_Alignas(DSP_LINE) struct dsp_ctl ctl;
	_Alignas(DSP_LINE) _Atomic uint64_t gclock; /* serializing: last sequence assigned */
	_Alignas(DSP_LINE) struct zipc_waitword door;
	_Alignas(DSP_LINE) struct zipc_waitword rbell;
};

struct dsp_end {
	_Alignas(DSP_LINE) _Atomic uint32_t state;
	_Atomic uint32_t gen;     /* incarnation, bumped by each opener */
	_Atomic int32_t pid;
	_Atomic int32_t error;    /* sender: code for its next call (dispatcher writes) */
	_Atomic uint64_t start;
	char name[ZIPC_DISPATCH_END_NAME_MAX + 1];
	uint32_t target;          /* sender: receiver slot */
	uint32_t target_gen;      /* sender: its incarnation */
	_Atomic uint64_t fresh;   /* sender, forwarding: clock at adoption (dispatcher) */
	_Atomic uint64_t msgs, bytes; /* dispatcher-written counters */
	_Alignas(DSP_LINE) _Atomic uint64_t clock; /* receiver, forwarding: its clock (dispatcher) */
};

_Static_assert(sizeof(struct dsp_hdr) <= DSP_LINE, "header fits a line");
_Static_assert(sizeof(struct dsp_ctl) <= DSP_LINE, "control fits a line");
_Static_assert(sizeof(struct dsp_end) == 2 * DSP_LINE, "an end is two lines");

/* Slot headers (ZIPC_DISPATCH_MSG_HDR bytes). */
struct in_hdr {
	uint32_t len;
	uint32_t flags; /* F_* */
	uint64_t seq;   /* forward: the upstream sequence */
	uint64_t reserved;
};
struct out_hdr {
	uint32_t len;
	uint32_t sender;
	uint64_t seq;
	uint64_t reserved;
};
_Static_assert(sizeof(struct in_hdr) == ZIPC_DISPATCH_MSG_HDR, "in header size");
_Static_assert(sizeof(struct out_hdr) == ZIPC_DISPATCH_MSG_HDR, "out header size");

struct zipc_dispatch {
	zipc_region *region;
	struct dsp_area *a;
	struct dsp_end *ends;  /* senders [0, S), receivers [S, S + R) */
	struct dsp_hdr h;      /* validated private copy */
	int creator;
	int fenceless;
	pthread_t th;
	int th_started;
	int64_t spin_ns;
	_Atomic int open_ends;
};

struct zipc_dispatch_sender {
	zipc_dispatch *d;
	uint32_t index;
	struct dsp_end *e;
	struct dsp_end *te; /* target receiver's registration */
	uint32_t tgen;
	zipc_ring *ring;
	zipc_producer *p;
	uint64_t last;      /* forwarding: last sequence sent */
};

struct zipc_dispatch_receiver {
	zipc_dispatch *d;
	uint32_t index;
	struct dsp_end *e;
	zipc_ring *ring;
	zipc_consumer *c;
	uint64_t seen;
};

/* ----------------------------------------------------------- helpers */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
	nanosleep(&ts, NULL);
}

static int chars_ok(const char *s, size_t max, int dots)
{
	size_t n = strlen(s);
	if (n == 0)
		return -EINVAL;
	if (n > max)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || (dots && c == '.')))
			return -EINVAL;
	}
	return 0;
}

static void geometry(struct dsp_hdr *h)
{
	h->ends_off = sizeof(struct dsp_area);
	h->total = round_up(h->ends_off + (uint64_t)(h->max_senders + h->max_receivers) * sizeof(struct dsp_end),
			    DSP_LINE);
}

static int hdr_check(const struct dsp_hdr *in, uint64_t area)
{
	struct dsp_hdr h = *in;
	if (h.magic != DSP_MAGIC)
		return -EBADMSG;
	if (h.layout != DSP_LAYOUT)
		return -EPROTONOSUPPORT;
	if (h.max_senders == 0 || h.max_senders > ZIPC_DISPATCH_MAX_ENDS || h.max_receivers == 0 ||
	    h.max_receivers > ZIPC_DISPATCH_MAX_ENDS || h.capacity < 2 || (h.capacity & (h.capacity - 1)) ||
	    h.max_message == 0 || h.max_message > ZIPC_RING_MAX_SLOT_SIZE - ZIPC_DISPATCH_MSG_HDR ||
	    h.open_timeout_ns <= 0 || memchr(h.name, 0, sizeof(h.name)) == NULL)
		return -EPROTO;
	struct dsp_hdr c = h;
	geometry(&c);
	if (c.ends_off != h.ends_off || c.total != h.total)
		return -EPROTO;
	if (h.total > area)
		return -ENODATA;
	return 0;
}

static int disp_alive(const zipc_dispatch *d)
{
	return zipc_pid_alive(d->h.disp_pid, d->h.disp_start);
}

/* Wake the dispatcher if it announced itself asleep (W1). */
static void door_ring(zipc_dispatch *d)
{
	zipc__waker_fence(d->fenceless);
	if (atomic_load_explicit(&d->a->door.sleepers, memory_order_relaxed))
		zipc__wake(&d->a->door);
}

static void ctl_changed(zipc_dispatch *d)
{
	/* release: the registration written before; the dispatcher's scan
	 * reads each state word with acquire anyway */
	atomic_fetch_add_explicit(&d->a->ctl.ctlgen, 1, memory_order_release);
	zipc__wake_if_sleepers(&d->a->door);
}

/* ----------------------------------------------------- dispatcher thread */

struct dsnd {
	int on;
	int closing;
	int dead;
	int has_head;
	uint32_t gen;
	uint32_t target;
	uint32_t tgen;
	zipc_ring *ring;
	zipc_consumer *c;
	uint64_t last;  /* forwarding: last sequence consumed (or the clock at adoption) */
	uint64_t fresh; /* forwarding: highest sequence seen from it */
	uint64_t head;  /* forwarding: sequence of the data message at the head */
	char name[ZIPC_DISPATCH_END_NAME_MAX + 1];
};

struct drcv {
	int on;
	int eos;
	int ever;
	int full;
	uint32_t gen;
	uint32_t nsenders;
	zipc_ring *ring;
	zipc_producer *p;
	uint64_t clock;
	char name[ZIPC_DISPATCH_END_NAME_MAX + 1];
};

struct dstate {
	zipc_dispatch *d;
	struct dsnd *s;
	struct drcv *r;
	uint32_t S, R;
	uint32_t rr;
	uint64_t next_seq;
	uint64_t W;       /* forwarding: every sender's clock has reached this */
	uint64_t maxseen; /* forwarding: highest sequence seen from anybody */
	uint32_t ctlgen;
	int64_t next_live;
	int woke;         /* receivers need a wake-up */
};

static struct dsp_end *snd_end(zipc_dispatch *d, uint32_t i)
{
	return &d->ends[i];
}

static struct dsp_end *rcv_end(zipc_dispatch *d, uint32_t j)
{
	return &d->ends[d->h.max_senders + j];
}

static int end_dead(struct dsp_end *e)
{
	int32_t pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
	return pid > 0 && !zipc_pid_alive(pid, atomic_load_explicit(&e->start, memory_order_relaxed));
}

static void end_answer(struct dsp_end *e, uint32_t to, int err)
{
	atomic_store_explicit(&e->error, err, memory_order_relaxed);
	uint32_t exp = END_REQUEST;
	/* release: error / fresh / clock before the answer; pairs with the
	 * opener's acquire load of the state */
	if (!atomic_compare_exchange_strong_explicit(&e->state, &exp, to, memory_order_release,
						     memory_order_relaxed))
		atomic_store_explicit(&e->state, END_FREE, memory_order_release); /* opener gave up */
}

/* The ring of an end: "<dispatcher>.<s|r><slot>.<gen>" (fits ZIPC_NAME_MAX:
 * 32 + 2 + 2 + 1 + 10 bytes). */
static void ring_name(const zipc_dispatch *d, char *buf, size_t cap, char kind, uint32_t idx, uint32_t gen)
{
	snprintf(buf, cap, "%s.%c%u.%u", d->h.name, kind, idx, gen);
}

static int attach_ring(zipc_dispatch *d, struct dsp_end *e, char kind, uint32_t idx, zipc_ring **out)
{
	char name[ZIPC_NAME_MAX + 16];
	ring_name(d, name, sizeof(name), kind, idx, atomic_load_explicit(&e->gen, memory_order_relaxed));
	int rc = zipc_ring_attach(name, 0, out);
	if (rc)
		return rc;
	if (zipc_ring_capacity(*out) != d->h.capacity ||
	    zipc_ring_slot_size(*out) != d->h.max_message + ZIPC_DISPATCH_MSG_HDR) {
		zipc_ring_close(*out);
		return -EPROTO;
	}
	return 0;
}

static void adopt_receiver(struct dstate *st, uint32_t j)
{
	zipc_dispatch *d = st->d;
	struct dsp_end *e = rcv_end(d, j);
	struct drcv *r = &st->r[j];
	char name[sizeof(e->name)];
	memcpy(name, e->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	for (uint32_t k = 0; k < st->R; k++)
		if (st->r[k].on && !strcmp(st->r[k].name, name)) {
			end_answer(e, END_REJECTED, -EEXIST);
			return;
		}
	zipc_ring *ring;
	int rc = attach_ring(d, e, 'r', j, &ring);
	if (rc) {
		end_answer(e, END_REJECTED, rc);
		return;
	}
	zipc_producer *p;
	if ((rc = zipc_producer_open(ring, NULL, &p))) {
		zipc_ring_close(ring);
		end_answer(e, END_REJECTED, rc);
		return;
	}
	memset(r, 0, sizeof(*r));
	r->on = 1;
	r->gen = atomic_load_explicit(&e->gen, memory_order_relaxed);
	r->ring = ring;
	r->p = p;
	r->clock = st->W;
	memcpy(r->name, name, sizeof(name));
	atomic_store_explicit(&e->clock, st->W, memory_order_relaxed);
	atomic_store_explicit(&e->msgs, 0, memory_order_relaxed);
	atomic_store_explicit(&e->bytes, 0, memory_order_relaxed);
	end_answer(e, END_ACTIVE, 0);
	if (atomic_load_explicit(&e->state, memory_order_relaxed) != END_ACTIVE) {
		zipc_producer_close(p);
		zipc_ring_close(ring);
		r->on = 0;
	}
}

static void adopt_sender(struct dstate *st, uint32_t i)
{
	zipc_dispatch *d = st->d;
	struct dsp_end *e = snd_end(d, i);
	struct dsnd *s = &st->s[i];
	char name[sizeof(e->name)];
	memcpy(name, e->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	uint32_t t = e->target, tgen = e->target_gen;
	if (t >= st->R || !st->r[t].on || st->r[t].gen != tgen) {
		end_answer(e, END_REJECTED, -ENOENT);
		return;
	}
	if (st->r[t].eos) {
		end_answer(e, END_REJECTED, -EPIPE);
		return;
	}
	for (uint32_t k = 0; k < st->S; k++)
		if (st->s[k].on && !strcmp(st->s[k].name, name)) {
			end_answer(e, END_REJECTED, -EEXIST);
			return;
		}
	zipc_ring *ring;
	int rc = attach_ring(d, e, 's', i, &ring);
	if (rc) {
		end_answer(e, END_REJECTED, rc);
		return;
	}
	zipc_consumer *c;
	if ((rc = zipc_consumer_open(ring, NULL, &c))) {
		zipc_ring_close(ring);
		end_answer(e, END_REJECTED, rc);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->on = 1;
	s->gen = atomic_load_explicit(&e->gen, memory_order_relaxed);
	s->target = t;
	s->tgen = tgen;
	s->ring = ring;
	s->c = c;
	s->last = s->fresh = st->W;
	memcpy(s->name, name, sizeof(name));
	atomic_store_explicit(&e->fresh, st->W, memory_order_relaxed);
	atomic_store_explicit(&e->msgs, 0, memory_order_relaxed);
	atomic_store_explicit(&e->bytes, 0, memory_order_relaxed);
	end_answer(e, END_ACTIVE, 0);
	if (atomic_load_explicit(&e->state, memory_order_relaxed) != END_ACTIVE) {
		zipc_consumer_close(c);
		zipc_ring_close(ring);
		s->on = 0;
		return;
	}
	st->r[t].nsenders++;
	st->r[t].ever = 1;
}

static void sender_finish(struct dstate *st, uint32_t i)
{
	struct dsnd *s = &st->s[i];
	zipc_consumer_close(s->c);
	zipc_ring_close(s->ring);
	s->on = 0;
	s->has_head = 0;
	struct drcv *r = &st->r[s->target];
	if (r->on && r->gen == s->tgen && r->nsenders)
		r->nsenders--;
	/* release: our handles are gone before the slot may be reused */
	atomic_store_explicit(&snd_end(st->d, i)->state, END_FREE, memory_order_release);
}

static void receiver_drop(struct dstate *st, uint32_t j)
{
	struct drcv *r = &st->r[j];
	if (r->p)
		zipc_producer_close(r->p);
	zipc_ring_close(r->ring);
	r->on = 0;
	r->p = NULL;
	atomic_store_explicit(&rcv_end(st->d, j)->state, END_FREE, memory_order_release);
}

static void scan(struct dstate *st, int live)
{
	zipc_dispatch *d = st->d;
	for (uint32_t j = 0; j < st->R; j++) {
		struct dsp_end *e = rcv_end(d, j);
		/* acquire pairs with the owner's release of REQUEST / CLOSED */
		uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st->r[j].on) {
			if (s == END_CLOSED || (live && end_dead(e)))
				receiver_drop(st, j);
		} else if (s == END_REQUEST) {
			adopt_receiver(st, j);
		} else if (s == END_CLOSED || (live && s != END_FREE && end_dead(e))) {
			atomic_store_explicit(&e->state, END_FREE, memory_order_release);
		}
	}
	for (uint32_t i = 0; i < st->S; i++) {
		struct dsp_end *e = snd_end(d, i);
		uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
		struct dsnd *sn = &st->s[i];
		if (sn->on) {
			if (!sn->closing && s == END_CLOSED)
				sn->closing = 1;
			else if (!sn->closing && live && end_dead(e))
				sn->closing = sn->dead = 1;
		} else if (s == END_REQUEST) {
			adopt_sender(st, i);
		} else if (s == END_CLOSED || (live && s != END_FREE && end_dead(e))) {
			atomic_store_explicit(&e->state, END_FREE, memory_order_release);
		}
	}
}

static void drop_msg(struct dstate *st, uint32_t i, int err)
{
	zipc_consumer_release(st->s[i].c, 1);
	atomic_fetch_add_explicit(&st->d->a->ctl.dropped, 1, memory_order_relaxed);
	if (err)
		atomic_store_explicit(&snd_end(st->d, i)->error, err, memory_order_relaxed);
}

static int target_ok(struct dstate *st, const struct dsnd *s)
{
	const struct drcv *r = &st->r[s->target];
	return r->on && r->gen == s->tgen && !r->eos && r->p;
}

/* Copy the head message of sender @i (its slot @in, @len bytes already
 * validated) into its receiver's ring.  Return: 1 delivered, 0 receiver full. */
static int deliver(struct dstate *st, uint32_t i, const struct in_hdr *in, uint32_t len, uint64_t seq)
{
	zipc_dispatch *d = st->d;
	struct dsnd *s = &st->s[i];
	struct drcv *r = &st->r[s->target];
	uint64_t o;
	if (zipc_producer_try_claim(r->p, 1, &o))
		return 0;
	struct out_hdr *out = zipc_producer_slot(r->p, o);
	out->len = len;
	out->sender = i;
	out->seq = seq;
	out->reserved = 0;
	memcpy(out + 1, in + 1, len);
	zipc_producer_publish(r->p, o, 1); /* P1: the slot before its stamp */
	zipc_consumer_release(s->c, 1);
	struct dsp_end *se = snd_end(d, i), *re = rcv_end(d, s->target);
	atomic_store_explicit(&se->msgs, atomic_load_explicit(&se->msgs, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&se->bytes, atomic_load_explicit(&se->bytes, memory_order_relaxed) + len,
			      memory_order_relaxed);
	atomic_store_explicit(&re->msgs, atomic_load_explicit(&re->msgs, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&re->bytes, atomic_load_explicit(&re->bytes, memory_order_relaxed) + len,
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&d->a->ctl.delivered, 1, memory_order_relaxed);
	st->woke = 1;
	return 1;
}

/* Serializing mode: take messages from senders whose recipient has room. */
static int pump_send(struct dstate *st)
{
	zipc_dispatch *d = st->d;
	int progress = 0;
	for (uint32_t t = 0; t < st->S; t++) {
		uint32_t i = (st->rr + t) % st->S;
		struct dsnd *s = &st->s[i];
		if (!s->on)
			continue;
		for (int budget = 64; budget > 0; budget--) {
			uint64_t seq;
			int64_t n = zipc_consumer_try_peek(s->c, &seq);
			if ((n == -EPIPE && s->closing) || (n == -EAGAIN && s->dead)) {
				sender_finish(st, i);
				progress = 1;
				break;
			}
			if (n == -EPIPE) {
				s->closing = 1; /* its CLOSED is visible at the next scan */
				break;
			}
			if (n == -ENOMSG) {
				drop_msg(st, i, 0);
				continue;
			}
			if (n <= 0)
				break;
			const struct in_hdr *in = zipc_consumer_slot(s->c, seq);
			struct in_hdr h = *in;
			if (h.len > d->h.max_message) {
				drop_msg(st, i, -EPROTO);
				progress = 1;
				continue;
			}
			if (h.flags & F_FORWARD) {
				/* we may have read the mode before its first
				 * sender set it: the sender set it before
				 * publishing, so a load after our peek is current */
				if (atomic_load_explicit(&d->a->ctl.mode, memory_order_relaxed) == MODE_FORWARD)
					return 1; /* forwarding: the next pump handles it */
				drop_msg(st, i, -EPERM);
				progress = 1;
				continue;
			}
			if (!target_ok(st, s)) {
				drop_msg(st, i, -EPIPE);
				progress = 1;
				continue;
			}
			uint64_t stamp = st->next_seq + 1;
			if (!deliver(st, i, in, h.len, stamp))
				break; /* its recipient is full: serve the others */
			st->next_seq = stamp;
			/* release: the message is in its ring before the clock
			 * covers it; pairs with the receivers' acquire */
			atomic_store_explicit(&d->a->gclock, stamp, memory_order_release);
			progress = 1;
		}
	}
	st->rr++;
	return progress;
}

/* Forwarding: bring sender @i's head up to date (consume clock-only and
 * invalid messages, note its freshness). */
static int refresh_head(struct dstate *st, uint32_t i)
{
	zipc_dispatch *d = st->d;
	struct dsnd *s = &st->s[i];
	int progress = 0;
	s->has_head = 0;
	for (;;) {
		uint64_t seq;
		int64_t n = zipc_consumer_try_peek(s->c, &seq);
		if ((n == -EPIPE && s->closing) || (n == -EAGAIN && s->dead)) {
			sender_finish(st, i);
			return 1;
		}
		if (n == -EPIPE) {
			s->closing = 1;
			return progress;
		}
		if (n == -ENOMSG) {
			drop_msg(st, i, 0);
			continue;
		}
		if (n <= 0)
			return progress;
		const struct in_hdr *last = zipc_consumer_slot(s->c, seq + (uint64_t)n - 1);
		uint64_t ls = last->seq;
		if (ls > s->fresh && ls != UINT64_MAX)
			s->fresh = ls;
		const struct in_hdr *in = zipc_consumer_slot(s->c, seq);
		struct in_hdr h = *in;
		if (h.len > d->h.max_message || !(h.flags & F_FORWARD) || h.seq <= s->last || h.seq == UINT64_MAX) {
			int err = h.len > d->h.max_message ? -EPROTO
				  : !(h.flags & F_FORWARD) ? -EPERM
				  : h.seq == s->last	  ? -EEXIST
							  : -EINVAL;
			drop_msg(st, i, err);
			progress = 1;
			continue;
		}
		if (h.seq > s->fresh)
			s->fresh = h.seq;
		if (s->fresh > st->maxseen)
			st->maxseen = s->fresh;
		if (!(h.flags & F_DATA)) {
			s->last = h.seq; /* a clock update: consumed at once */
			zipc_consumer_release(s->c, 1);
			progress = 1;
			continue;
		}
		if (!target_ok(st, s)) {
			s->last = h.seq;
			drop_msg(st, i, -EPIPE);
			progress = 1;
			continue;
		}
		s->head = h.seq;
		s->has_head = 1;
		return progress;
	}
}

static int pump_forward(struct dstate *st)
{
	zipc_dispatch *d = st->d;
	int progress = 0;
	for (uint32_t i = 0; i < st->S; i++)
		if (st->s[i].on)
			progress |= refresh_head(st, i);
	/* W: the slowest clock among senders that may still send */
	uint64_t W = UINT64_MAX;
	for (uint32_t i = 0; i < st->S; i++) {
		struct dsnd *s = &st->s[i];
		if (s->on && !s->closing && target_ok(st, s) && s->fresh < W)
			W = s->fresh;
	}
	if (W == UINT64_MAX)
		W = st->maxseen;
	if (W < st->W)
		W = st->W;
	st->W = W;
	/* release the lowest pending sequence whose recipient has room */
	for (;;) {
		uint32_t best = UINT32_MAX;
		for (uint32_t i = 0; i < st->S; i++) {
			struct dsnd *s = &st->s[i];
			if (s->on && s->has_head && s->head <= W && !st->r[s->target].full &&
			    (best == UINT32_MAX || s->head < st->s[best].head))
				best = i;
		}
		if (best == UINT32_MAX)
			break;
		struct dsnd *s = &st->s[best];
		uint64_t seq;
		if (zipc_consumer_try_peek(s->c, &seq) <= 0) {
			s->has_head = 0;
			continue;
		}
		const struct in_hdr *in = zipc_consumer_slot(s->c, seq);
		uint32_t len = in->len;
		if (len > d->h.max_message || !deliver(st, best, in, len, s->head)) {
			st->r[s->target].full = 1;
			continue;
		}
		s->last = s->head;
		progress = 1;
		refresh_head(st, best);
	}
	/* clocks: everything <= min(W, first pending - 1) has been delivered */
	for (uint32_t j = 0; j < st->R; j++) {
		struct drcv *r = &st->r[j];
		r->full = 0;
		if (!r->on || r->eos)
			continue;
		uint64_t c = W;
		for (uint32_t i = 0; i < st->S; i++) {
			struct dsnd *s = &st->s[i];
			if (s->on && s->has_head && s->target == j && s->tgen == r->gen && s->head - 1 < c)
				c = s->head - 1;
		}
		if (c > r->clock) {
			r->clock = c;
			/* release: the messages it covers were published first */
			atomic_store_explicit(&rcv_end(d, j)->clock, c, memory_order_release);
			atomic_fetch_add_explicit(&d->a->ctl.clock_updates, 1, memory_order_relaxed);
			st->woke = 1;
		}
	}
	return progress;
}

/* Receivers whose senders are all gone reach end of stream. */
static void end_of_streams(struct dstate *st)
{
	for (uint32_t j = 0; j < st->R; j++) {
		struct drcv *r = &st->r[j];
		if (r->on && !r->eos && r->ever && r->nsenders == 0) {
			r->eos = 1;
			zipc_producer_close(r->p); /* the receiver drains, then -EPIPE */
			r->p = NULL;
			st->woke = 1;
		}
	}
}

static int pump(struct dstate *st)
{
	zipc_dispatch *d = st->d;
	int64_t now = 0;
	int live = 0;
	uint32_t g = atomic_load_explicit(&d->a->ctl.ctlgen, memory_order_acquire);
	if (g != st->ctlgen || (now = zipc_now_ns()) >= st->next_live) {
		if (!now)
			now = zipc_now_ns();
		live = now >= st->next_live;
		if (live)
			st->next_live = now + 10 * ZIPC_MSEC;
		st->ctlgen = g;
		scan(st, live);
	}
	uint32_t mode = atomic_load_explicit(&d->a->ctl.mode, memory_order_relaxed);
	int progress;
	if (mode == MODE_FORWARD)
		progress = pump_forward(st);
	else
		progress = pump_send(st);
	end_of_streams(st);
	if (st->woke) {
		st->woke = 0;
		zipc__waker_fence(d->fenceless); /* W1 for the receivers' bell */
		if (atomic_load_explicit(&d->a->rbell.sleepers, memory_order_relaxed))
			zipc__wake(&d->a->rbell);
	}
	return progress;
}

static void *dispatcher_main(void *arg)
{
	struct dstate *st = arg;
	zipc_dispatch *d = st->d;
	struct dsp_area *a = d->a;
	while (atomic_load_explicit(&a->ctl.run, memory_order_acquire) == RUN_RUNNING) {
		if (pump(st))
			continue;
		if (d->spin_ns > 0) {
			int64_t until = zipc_now_ns() + d->spin_ns, n = 0;
			int got = 0;
			while (!(got = pump(st)) && ((++n & 15) || zipc_now_ns() < until))
				zipc__cpu_relax();
			if (got)
				continue;
		}
		/* S1: announce, read the word, barrier, re-check, sleep */
		atomic_fetch_add_explicit(&a->door.sleepers, 1, memory_order_seq_cst);
		uint32_t v = atomic_load_explicit(&a->door.seq, memory_order_acquire);
		zipc__sleeper_barrier();
		if (!pump(st) && atomic_load_explicit(&a->ctl.run, memory_order_acquire) == RUN_RUNNING) {
			atomic_fetch_add_explicit(&a->ctl.sleeps, 1, memory_order_relaxed);
			zipc__futex_sleep(&a->door.seq, v, 10 * ZIPC_MSEC);
		}
		atomic_fetch_sub_explicit(&a->door.sleepers, 1, memory_order_relaxed);
	}
	/* stopped: receivers drain and see the end of stream */
	for (uint32_t j = 0; j < st->R; j++)
		if (st->r[j].on) {
			if (st->r[j].p)
				zipc_producer_close(st->r[j].p);
			zipc_ring_close(st->r[j].ring);
		}
	for (uint32_t i = 0; i < st->S; i++)
		if (st->s[i].on) {
			zipc_consumer_close(st->s[i].c);
			zipc_ring_close(st->s[i].ring);
		}
	zipc__wake(&a->rbell);
	free(st->s);
	free(st->r);
	free(st);
	return NULL;
}

/* --------------------------------------------------------------- handles */

static int dsp_init_area(void *area, uint64_t size, void *arg)
{
	const struct dsp_hdr *h = arg;
	if (h->total > size)
		return -ENOMEM;
	struct dsp_area *a = area;
	memcpy(&a->h, h, sizeof(*h));
	atomic_store_explicit(&a->ctl.run, RUN_RUNNING, memory_order_relaxed);
	return 0;
}

static int handle_from_region(zipc_region *reg, zipc_dispatch **out)
{
	if (zipc_region_header(reg)->kind != ZIPC_KIND_DISPATCH)
		return -EMEDIUMTYPE;
	uint64_t size = zipc_region_area_size(reg);
	if (size < sizeof(struct dsp_area))
		return -ENODATA;
	struct dsp_area *a = zipc_region_area(reg);
	int rc = hdr_check(&a->h, size);
	if (rc)
		return rc;
	zipc_dispatch *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->region = reg;
	d->a = a;
	d->h = a->h;
	d->ends = (struct dsp_end *)(void *)((unsigned char *)a + d->h.ends_off);
	d->fenceless = zipc__fenceless();
	*out = d;
	return 0;
}

int zipc_dispatch_create(const char *name, const struct zipc_dispatch_opts *o, zipc_dispatch **out)
{
	if (!name || !o || !out || o->bound == 0 || o->max_senders > ZIPC_DISPATCH_MAX_ENDS ||
	    o->max_receivers > ZIPC_DISPATCH_MAX_ENDS || o->open_timeout_ns < 0 ||
	    o->max_message > ZIPC_RING_MAX_SLOT_SIZE - ZIPC_DISPATCH_MSG_HDR || o->bound > (1u << 30))
		return -EINVAL;
	int rc = chars_ok(name, ZIPC_DISPATCH_NAME_MAX, 0);
	if (rc)
		return rc;
	struct dsp_hdr h;
	memset(&h, 0, sizeof(h));
	h.magic = DSP_MAGIC;
	h.layout = DSP_LAYOUT;
	h.max_senders = o->max_senders ? o->max_senders : 16;
	h.max_receivers = o->max_receivers ? o->max_receivers : 16;
	h.capacity = 2;
	while (h.capacity < o->bound)
		h.capacity <<= 1;
	h.max_message = o->max_message ? o->max_message : 256;
	h.disp_pid = getpid();
	h.disp_start = zipc_pid_start_ticks(getpid());
	h.open_timeout_ns = o->open_timeout_ns ? o->open_timeout_ns : 5 * ZIPC_SEC;
	snprintf(h.name, sizeof(h.name), "%s", name);
	geometry(&h);
	struct zipc_region_opts ro = {.size = h.total, .kind = ZIPC_KIND_DISPATCH, .init = dsp_init_area,
				      .init_arg = &h};
	zipc_region *reg;
	if ((rc = zipc_region_create(name, &ro, &reg)))
		return rc;
	zipc_dispatch *d;
	if ((rc = handle_from_region(reg, &d))) {
		zipc_region_close(reg);
		return rc;
	}
	d->creator = 1;
	d->spin_ns = o->spin_ns == 0 ? 20 * ZIPC_USEC : o->spin_ns;
	struct dstate *st = calloc(1, sizeof(*st));
	if (st) {
		st->d = d;
		st->S = d->h.max_senders;
		st->R = d->h.max_receivers;
		st->s = calloc(st->S, sizeof(*st->s));
		st->r = calloc(st->R, sizeof(*st->r));
	}
	if (!st || !st->s || !st->r) {
		if (st) {
			free(st->s);
			free(st->r);
		}
		free(st);
		zipc_region_close(reg);
		free(d);
		return -ENOMEM;
	}
	if ((rc = -pthread_create(&d->th, NULL, dispatcher_main, st))) {
		free(st->s);
		free(st->r);
		free(st);
		zipc_region_close(reg);
		free(d);
		return rc;
	}
	d->th_started = 1;
	*out = d;
	return 0;
}

int zipc_dispatch_attach(const char *name, zipc_dispatch **out)
{
	if (!name || !out)
		return -EINVAL;
	zipc_region *reg;
	int rc = zipc_region_attach(name, 0, &reg);
	if (rc)
		return rc;
	if ((rc = handle_from_region(reg, out)))
		zipc_region_close(reg);
	return rc;
}

int zipc_dispatch_close(zipc_dispatch *d)
{
	if (!d)
		return 0;
	if (atomic_load(&d->open_ends))
		return -EBUSY;
	if (d->th_started) {
		atomic_store_explicit(&d->a->ctl.run, RUN_STOPPED, memory_order_release);
		zipc__wake(&d->a->door);
		pthread_join(d->th, NULL);
	}
	zipc_region_close(d->region);
	free(d);
	return 0;
}

zipc_region *zipc_dispatch_region(const zipc_dispatch *d)
{
	return d ? d->region : NULL;
}

/* ------------------------------------------------------------------ ends */

/* Take a free slot in [from, from + n), fill the common fields. */
static int slot_take(zipc_dispatch *d, uint32_t from, uint32_t n, const char *name, uint32_t *idx, uint32_t *gen)
{
	for (uint32_t i = 0; i < n; i++) {
		struct dsp_end *e = &d->ends[from + i];
		uint32_t exp = END_FREE;
		if (!atomic_compare_exchange_strong_explicit(&e->state, &exp, END_OPENING, memory_order_acquire,
							     memory_order_relaxed))
			continue;
		*gen = atomic_fetch_add_explicit(&e->gen, 1, memory_order_relaxed) + 1;
		atomic_store_explicit(&e->start, zipc_pid_start_ticks(getpid()), memory_order_relaxed);
		atomic_store_explicit(&e->pid, getpid(), memory_order_relaxed);
		atomic_store_explicit(&e->error, 0, memory_order_relaxed);
		memset(e->name, 0, sizeof(e->name));
		memcpy(e->name, name, strlen(name));
		*idx = i;
		return 0;
	}
	return -ENOSPC;
}

static int dispatcher_gone(zipc_dispatch *d)
{
	if (atomic_load_explicit(&d->a->ctl.run, memory_order_acquire) != RUN_RUNNING)
		return -EPIPE;
	return disp_alive(d) ? 0 : -EOWNERDEAD;
}

/* Publish REQUEST and wait for the dispatcher's answer. */
static int slot_request(zipc_dispatch *d, struct dsp_end *e)
{
	/* release: name, ring, target before REQUEST; pairs with scan()'s acquire */
	atomic_store_explicit(&e->state, END_REQUEST, memory_order_release);
	ctl_changed(d);
	int64_t deadline = zipc_now_ns() + d->h.open_timeout_ns, pause = 20 * ZIPC_USEC;
	for (;;) {
		/* acquire pairs with end_answer()'s release */
		uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
		if (s == END_ACTIVE)
			return 0;
		if (s == END_REJECTED) {
			int err = atomic_load_explicit(&e->error, memory_order_relaxed);
			return err ? err : -EPROTO;
		}
		int rc = dispatcher_gone(d);
		if (!rc && zipc_now_ns() > deadline)
			rc = -ETIMEDOUT;
		if (rc) {
			uint32_t exp = END_REQUEST;
			if (atomic_compare_exchange_strong_explicit(&e->state, &exp, END_CLOSED, memory_order_acq_rel,
								    memory_order_acquire))
				return rc;
			continue; /* answered meanwhile */
		}
		sleep_ns(pause);
		if (pause < ZIPC_MSEC)
			pause *= 2;
	}
}

static void slot_release(zipc_dispatch *d, struct dsp_end *e, uint32_t state)
{
	atomic_store_explicit(&e->state, state, memory_order_release);
	ctl_changed(d);
}

int zipc_dispatch_receiver_open(zipc_dispatch *d, const char *name, zipc_dispatch_receiver **out)
{
	if (!d || !name || !out)
		return -EINVAL;
	int rc = chars_ok(name, ZIPC_DISPATCH_END_NAME_MAX, 1);
	if (rc)
		return rc;
	if ((rc = dispatcher_gone(d)))
		return rc;
	zipc_dispatch_receiver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	uint32_t idx, gen;
	if ((rc = slot_take(d, d->h.max_senders, d->h.max_receivers, name, &idx, &gen))) {
		free(r);
		return rc;
	}
	struct dsp_end *e = rcv_end(d, idx);
	char rname[ZIPC_NAME_MAX + 16];
	ring_name(d, rname, sizeof(rname), 'r', idx, gen);
	struct zipc_ring_opts o = {.capacity = d->h.capacity, .slot_size = d->h.max_message + ZIPC_DISPATCH_MSG_HDR,
				   .max_producers = 1, .max_consumers = 1, .wait = ZIPC_WAIT_BLOCK};
	if ((rc = zipc_ring_create(rname, &o, &r->ring)))
		goto fail;
	if ((rc = zipc_consumer_open(r->ring, NULL, &r->c)))
		goto fail;
	if ((rc = slot_request(d, e)))
		goto fail_req;
	r->d = d;
	r->index = idx;
	r->e = e;
	atomic_fetch_add(&d->open_ends, 1);
	*out = r;
	return 0;
fail_req:
	zipc_consumer_close(r->c);
	zipc_ring_close(r->ring);
	if (atomic_load_explicit(&e->state, memory_order_relaxed) == END_REJECTED)
		slot_release(d, e, END_FREE);
	free(r);
	return rc;
fail:
	zipc_consumer_close(r->c);
	zipc_ring_close(r->ring);
	slot_release(d, e, END_FREE);
	free(r);
	return rc;
}

/* Find the active receiver named @name: its slot and incarnation. */
static int find_receiver(zipc_dispatch *d, const char *name, uint32_t *idx, uint32_t *gen)
{
	for (uint32_t j = 0; j < d->h.max_receivers; j++) {
		struct dsp_end *e = rcv_end(d, j);
		if (atomic_load_explicit(&e->state, memory_order_acquire) != END_ACTIVE)
			continue;
		uint32_t g = atomic_load_explicit(&e->gen, memory_order_relaxed);
		char n[sizeof(e->name)];
		memcpy(n, e->name, sizeof(n));
		n[sizeof(n) - 1] = '\0';
		if (strcmp(n, name))
			continue;
		*idx = j;
		*gen = g;
		return 0;
	}
	return -ENOENT;
}

int zipc_dispatch_sender_open(zipc_dispatch *d, const char *name, const char *receiver, zipc_dispatch_sender **out)
{
	if (!d || !name || !receiver || !out)
		return -EINVAL;
	int rc = chars_ok(name, ZIPC_DISPATCH_END_NAME_MAX, 1);
	if (!rc)
		rc = chars_ok(receiver, ZIPC_DISPATCH_END_NAME_MAX, 1);
	if (rc)
		return rc;
	if ((rc = dispatcher_gone(d)))
		return rc;
	uint32_t t, tgen;
	if ((rc = find_receiver(d, receiver, &t, &tgen)))
		return rc;
	zipc_dispatch_sender *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	uint32_t idx, gen;
	if ((rc = slot_take(d, 0, d->h.max_senders, name, &idx, &gen))) {
		free(s);
		return rc;
	}
	struct dsp_end *e = snd_end(d, idx);
	e->target = t;
	e->target_gen = tgen;
	char rname[ZIPC_NAME_MAX + 16];
	ring_name(d, rname, sizeof(rname), 's', idx, gen);
	struct zipc_ring_opts o = {.capacity = d->h.capacity, .slot_size = d->h.max_message + ZIPC_DISPATCH_MSG_HDR,
				   .max_producers = 1, .max_consumers = 1, .wait = ZIPC_WAIT_BLOCK};
	if ((rc = zipc_ring_create(rname, &o, &s->ring)))
		goto fail;
	if ((rc = zipc_producer_open(s->ring, NULL, &s->p)))
		goto fail;
	if ((rc = slot_request(d, e))) {
		zipc_producer_close(s->p);
		zipc_ring_close(s->ring);
		if (atomic_load_explicit(&e->state, memory_order_relaxed) == END_REJECTED)
			slot_release(d, e, END_FREE);
		free(s);
		return rc;
	}
	s->d = d;
	s->index = idx;
	s->e = e;
	s->te = rcv_end(d, t);
	s->tgen = tgen;
	s->last = atomic_load_explicit(&e->fresh, memory_order_relaxed);
	atomic_fetch_add(&d->open_ends, 1);
	*out = s;
	return 0;
fail:
	zipc_producer_close(s->p);
	zipc_ring_close(s->ring);
	slot_release(d, e, END_FREE);
	free(s);
	return rc;
}

/* Checks every send makes before touching its ring. */
static int send_check(zipc_dispatch_sender *s, uint32_t want_mode)
{
	if (atomic_load_explicit(&s->e->error, memory_order_relaxed)) {
		int err = atomic_exchange_explicit(&s->e->error, 0, memory_order_relaxed);
		if (err)
			return err;
	}
	zipc_dispatch *d = s->d;
	if (atomic_load_explicit(&d->a->ctl.run, memory_order_relaxed) != RUN_RUNNING)
		return -EPIPE;
	if (atomic_load_explicit(&s->te->state, memory_order_relaxed) != END_ACTIVE ||
	    atomic_load_explicit(&s->te->gen, memory_order_relaxed) != s->tgen)
		return -EPIPE;
	uint32_t m = atomic_load_explicit(&d->a->ctl.mode, memory_order_relaxed);
	if (m == MODE_UNSET) {
		/* the first message decides the mode, for everybody */
		atomic_compare_exchange_strong_explicit(&d->a->ctl.mode, &m, want_mode, memory_order_relaxed,
							memory_order_relaxed);
		m = atomic_load_explicit(&d->a->ctl.mode, memory_order_relaxed);
	}
	return m == want_mode ? 0 : -EPERM;
}

static int put(zipc_dispatch_sender *s, const void *data, size_t len, uint32_t flags, uint64_t seq, int64_t timeout_ns)
{
	uint64_t slot;
	int rc = zipc_producer_claim(s->p, 1, timeout_ns, &slot);
	if (rc)
		return rc;
	struct in_hdr *h = zipc_producer_slot(s->p, slot);
	h->len = (uint32_t)len;
	h->flags = flags;
	h->seq = seq;
	h->reserved = 0;
	if (len)
		memcpy(h + 1, data, len);
	zipc_producer_publish(s->p, slot, 1); /* P1 */
	door_ring(s->d);
	return 0;
}

int zipc_dispatch_send(zipc_dispatch_sender *s, const void *data, size_t len, int64_t timeout_ns)
{
	if (!s || (!data && len))
		return -EINVAL;
	if (len > s->d->h.max_message)
		return -EMSGSIZE;
	int rc = send_check(s, MODE_SEND);
	if (rc)
		return rc;
	return put(s, data, len, F_DATA, 0, timeout_ns);
}

int zipc_dispatch_forward(zipc_dispatch_sender *s, const void *data, size_t len, uint64_t seq, int64_t timeout_ns)
{
	if (!s || (!data && len) || seq == 0 || seq == UINT64_MAX)
		return -EINVAL;
	if (len > s->d->h.max_message)
		return -EMSGSIZE;
	if (seq == s->last)
		return -EEXIST; /* a duplicate (or exactly the clock it joined at) */
	if (seq < s->last)
		return -EINVAL;
	int rc = send_check(s, MODE_FORWARD);
	if (rc)
		return rc;
	if ((rc = put(s, data, len, F_FORWARD | (data ? F_DATA : 0), seq, timeout_ns)))
		return rc;
	s->last = seq;
	return 0;
}

int zipc_dispatch_sender_close(zipc_dispatch_sender *s)
{
	if (!s)
		return 0;
	/* CLOSED first: the dispatcher frees the slot only after it saw both
	 * this and the end of the ring's stream, so it cannot be reused
	 * under our feet */
	slot_release(s->d, s->e, END_CLOSED);
	zipc_producer_close(s->p); /* end of this sender's stream */
	zipc_ring_close(s->ring);  /* the dispatcher keeps its own mapping */
	atomic_fetch_sub(&s->d->open_ends, 1);
	free(s);
	return 0;
}

static uint64_t clock_now(const zipc_dispatch_receiver *r)
{
	/* acquire: pairs with the dispatcher's release stores of the clocks,
	 * so the messages they cover are visible to the peek that follows */
	uint64_t g = atomic_load_explicit(&r->d->a->gclock, memory_order_acquire);
	uint64_t c = atomic_load_explicit(&r->e->clock, memory_order_acquire);
	return g > c ? g : c;
}

/* One attempt.  Return 1 / 0 as recv, or -EAGAIN, or another code. */
static int recv_once(zipc_dispatch_receiver *r, void *buf, size_t cap, struct zipc_dispatch_msg *m)
{
	uint64_t c = clock_now(r);
	uint64_t seq;
	int64_t n = zipc_consumer_try_peek(r->c, &seq);
	if (n > 0) {
		const struct out_hdr *h = zipc_consumer_slot(r->c, seq);
		uint32_t len = h->len;
		if (len > r->d->h.max_message)
			return -EPROTO;
		if (len > cap)
			return -EMSGSIZE;
		if (len)
			memcpy(buf, h + 1, len);
		m->seq = h->seq;
		m->len = len;
		m->sender = h->sender;
		if (h->seq > r->seen)
			r->seen = h->seq;
		zipc_consumer_release(r->c, 1);
		door_ring(r->d); /* the dispatcher may wait for this room */
		return 1;
	}
	if (n == -EPIPE)
		c = clock_now(r); /* the final clock was stored before the close */
	else if (n != -EAGAIN)
		return (int)n;
	if (c > r->seen) {
		r->seen = c;
		m->seq = c;
		m->len = 0;
		m->sender = UINT32_MAX;
		return 0;
	}
	return (int)n;
}

int zipc_dispatch_recv(zipc_dispatch_receiver *r, void *buf, size_t cap, struct zipc_dispatch_msg *m,
		       int64_t timeout_ns)
{
	if (!r || !m || (!buf && cap))
		return -EINVAL;
	int rc = recv_once(r, buf, cap, m);
	if (rc != -EAGAIN || timeout_ns == 0)
		return rc;
	struct dsp_area *a = r->d->a;
	int64_t now = zipc_now_ns();
	int64_t deadline = timeout_ns < 0 ? INT64_MAX : now + timeout_ns;
	int64_t spin_until = now + 20 * ZIPC_USEC;
	for (;;) {
		for (unsigned i = 0; zipc_now_ns() < spin_until; i++) {
			zipc__cpu_relax();
			if (i & 15)
				continue;
			if ((rc = recv_once(r, buf, cap, m)) != -EAGAIN)
				return rc;
		}
		now = zipc_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (!disp_alive(r->d)) {
			rc = recv_once(r, buf, cap, m);
			return rc == -EAGAIN ? -EOWNERDEAD : rc;
		}
		/* S1: announce, read the word, barrier, re-check, sleep */
		atomic_fetch_add_explicit(&a->rbell.sleepers, 1, memory_order_seq_cst);
		uint32_t v = atomic_load_explicit(&a->rbell.seq, memory_order_acquire);
		zipc__sleeper_barrier();
		rc = recv_once(r, buf, cap, m);
		if (rc == -EAGAIN) {
			int64_t slice = deadline - now < 10 * ZIPC_MSEC ? deadline - now : 10 * ZIPC_MSEC;
			zipc__futex_sleep(&a->rbell.seq, v, slice);
		}
		atomic_fetch_sub_explicit(&a->rbell.sleepers, 1, memory_order_relaxed);
		if (rc != -EAGAIN)
			return rc;
		if ((rc = recv_once(r, buf, cap, m)) != -EAGAIN)
			return rc;
		spin_until = 0;
	}
}

uint64_t zipc_dispatch_clock(const zipc_dispatch_receiver *r)
{
	return r ? r->seen : 0;
}

int zipc_dispatch_receiver_close(zipc_dispatch_receiver *r)
{
	if (!r)
		return 0;
	zipc_consumer_close(r->c); /* the dispatcher is no longer gated by us */
	zipc_ring_close(r->ring);
	slot_release(r->d, r->e, END_CLOSED);
	atomic_fetch_sub(&r->d->open_ends, 1);
	free(r);
	return 0;
}

/* ------------------------------------------------------------------ stat */

int zipc_dispatch_stat(const zipc_region *reg, struct zipc_dispatch_stat *st, struct zipc_dispatch_end_stat *ends,
		       unsigned max)
{
	if (!reg || (!ends && max))
		return -EINVAL;
	if (zipc_region_header(reg)->kind != ZIPC_KIND_DISPATCH)
		return -EMEDIUMTYPE;
	uint64_t size = zipc_region_area_size(reg);
	if (size < sizeof(struct dsp_area))
		return -ENODATA;
	const struct dsp_area *a = zipc_region_area(reg);
	struct dsp_hdr h;
	memcpy(&h, &a->h, sizeof(h));
	int rc = hdr_check(&h, size);
	if (rc)
		return rc;
	struct dsp_area *w = (struct dsp_area *)a; /* atomics are read only */
	const struct dsp_end *e0 = (const struct dsp_end *)(const void *)((const unsigned char *)a + h.ends_off);
	if (st) {
		memset(st, 0, sizeof(*st));
		st->mode = atomic_load_explicit(&w->ctl.mode, memory_order_relaxed);
		st->running = atomic_load_explicit(&w->ctl.run, memory_order_relaxed) == RUN_RUNNING;
		st->dispatcher_pid = h.disp_pid;
		st->dispatcher_alive = zipc_pid_alive(h.disp_pid, h.disp_start);
		st->clock = atomic_load_explicit(&w->gclock, memory_order_relaxed);
		st->delivered = atomic_load_explicit(&w->ctl.delivered, memory_order_relaxed);
		st->dropped = atomic_load_explicit(&w->ctl.dropped, memory_order_relaxed);
		st->clock_updates = atomic_load_explicit(&w->ctl.clock_updates, memory_order_relaxed);
		st->sleeps = atomic_load_explicit(&w->ctl.sleeps, memory_order_relaxed);
	}
	unsigned found = 0;
	for (uint32_t i = 0; i < h.max_senders + h.max_receivers; i++) {
		struct dsp_end *e = (struct dsp_end *)&e0[i];
		uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
		if (s == END_FREE || s > END_CLOSED)
			continue;
		int is_rcv = i >= h.max_senders;
		if (st && s == END_ACTIVE) {
			if (is_rcv)
				st->receivers++;
			else
				st->senders++;
		}
		if (found < max) {
			struct zipc_dispatch_end_stat *o = &ends[found];
			memset(o, 0, sizeof(*o));
			o->is_receiver = is_rcv;
			o->index = is_rcv ? i - h.max_senders : i;
			o->state = s;
			o->pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
			memcpy(o->name, e->name, sizeof(o->name) - 1);
			o->target = is_rcv ? 0 : e->target;
			o->msgs = atomic_load_explicit(&e->msgs, memory_order_relaxed);
			o->bytes = atomic_load_explicit(&e->bytes, memory_order_relaxed);
			o->clock = atomic_load_explicit(&e->clock, memory_order_relaxed);
		}
		found++;
	}
	return (int)found;
}
