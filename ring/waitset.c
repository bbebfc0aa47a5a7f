/* SPDX-License-Identifier: MIT */
/*
 * ring/waitset.c - one thread sleeping on many rings and file descriptors in
 * one io_uring (zipc/waitset.h), and the io_uring futex wait of a single
 * ring end (zipc__uring_futex_wait(), ring/uring_compat.h).
 *
 * The waitset is the sleeper (S1) of zipc/bits/ring_pvt.h for every ring it
 * holds at once:
 *
 *   announce: for each ring end, fetch_add(sleepers, seq_cst), then read the
 *             futex word `seq` (acquire) into e->val;
 *   barrier:  one zipc__sleeper_barrier() for all of them;
 *   check:    every ring; anything ready ends the wait;
 *   sleep:    one IORING_OP_FUTEX_WAIT(seq, e->val) per ring plus one
 *             IORING_OP_POLL_ADD per descriptor, in one io_uring_enter();
 *   withdraw: fetch_sub(sleepers) once the wait returns.
 *
 * Either a publisher's W1 load sees our announcement (it bumps `seq` after
 * its publish and FUTEX_WAKEs: the futex wait sees the new value or the
 * wake), or our check sees its publish.  While the wait goes on the
 * announcements stay, so after a futex completes it is enough to re-read
 * that ring's word (the announcement still precedes the read) and check
 * again; no second barrier is needed.
 *
 * Futex waits that did not complete stay armed after the wait returns:
 * the next wait re-arms a ring only if its word or value changed, and
 * cancels the old request then.  Every SQE's user_data carries a type, an
 * index and a per-entry generation (tag_make()), so a completion of a
 * replaced or cancelled request is recognised as stale and ignored.  A
 * stale armed futex wait costs nothing: publishers wake only while some
 * sleeper is announced.  Descriptors are polled one-shot and re-armed at
 * the next wait after each report (level-triggered, as poll(2)).
 *
 * Without IORING_OP_FUTEX_WAIT (Linux < 6.7, or ZIPC_WAITSET_FALLBACK), the
 * rings are watched by helper threads, each owning up to 127 ring
 * positions: it sleeps in futex_waitv(2) on their words (plus its own
 * control word `gen`), and when one completes writes the waitset's eventfd,
 * which the io_uring polls like a descriptor.  The waiting thread publishes
 * each helper's (word, value) list under a seqlock on `gen` (even and
 * non-zero: stable; odd: being rewritten) and wakes it; a helper that sees
 * `gen` change gives up its sleep and re-reads.  The values are still read
 * by the waiting thread after announcing (a helper reading them later
 * could miss a bump between the check and its read).
 *
 * Dead peers: a sweep every liveness_ns calls wait.c's liveness checks for
 * every idle end, but only where a cheap pass (one zipc_pid_alive() per
 * distinct pid and start time, cached for the sweep) suspects a death, so
 * a thousand rings fed by one process cost one /proc read per sweep.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <zipc/waitset.h>

#include "ring_int.h"
#include "uring_compat.h"

#define WS_SQ_ENTRIES 512u
#define WS_CQ_ENTRIES 4096u /* 1024 futex + 1024 poll completions + cancels, with room */
#define WS_HELPER_RINGS (ZIPC__FUTEX_WAITV_MAX - 1u) /* + the helper's own control word */
#define WS_MAX_HELPERS ((ZIPC_WAITSET_MAX_RINGS + WS_HELPER_RINGS - 1u) / WS_HELPER_RINGS)
#define WS_ALIVE_CACHE 32u
#define WS_HINTS 64u
#define WS_DEFAULT_SPIN_NS 20000
#define WS_DEFAULT_LIVENESS_NS (10 * ZIPC_MSEC)
#define WS_FD_EVENTS ((uint32_t)(POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLERR | POLLHUP))

/* ------------------------------------------------------------- structures */

/* What an SQE is, in the top byte of its user_data. */
enum ws_tag {
	TAG_FUTEX = 1,   /* futex wait of ring position `index` */
	TAG_FD = 2,      /* poll of descriptor position `index` */
	TAG_CANCEL = 3,  /* an ASYNC_CANCEL (its own completion is ignored) */
	TAG_EVENTFD = 4, /* poll of the helpers' eventfd */
};

static uint64_t tag_make(enum ws_tag t, unsigned index, uint32_t gen)
{
	return (uint64_t)t << 56 | (uint64_t)index << 32 | gen;
}

/* One registered ring end. */
struct ws_ring {
	uint64_t user_data;
	zipc_consumer *c; /* exactly one of c / p / rc */
	zipc_producer *p;
	zipc_record_consumer *rc;
	int used;
	int32_t dead;      /* verdict of the last sweep: 0 or a negative code */
	int strikes;       /* MP hole tracking for zipc__consumer_liveness() */
	uint64_t hole;
	/* announcement of the current wait (NULL outside one) */
	struct zipc_waitword *ann;
	uint32_t val;      /* ann->seq as read after announcing */
	int fired;         /* its futex wait completed: val must be read again */
	/* io_uring-futex backend: the FUTEX_WAIT in flight, if any */
	_Atomic uint32_t *armed_word;
	uint32_t armed_val;
	uint32_t gen;      /* generation of that request; never reset */
};

enum ws_fd_state {
	FD_FREE = 0,
	FD_IDLE,   /* registered, poll to be armed at the next wait */
	FD_ARMED,  /* poll in flight (generation gen) */
	FD_READY,  /* poll completed: to be reported */
	FD_CANCEL, /* being removed: waiting for the poll's completion */
};

struct ws_fd {
	uint64_t user_data;
	int fd;
	uint32_t events;
	uint32_t state; /* enum ws_fd_state */
	uint32_t gen;   /* never reset */
	uint32_t revents;
	int32_t status;
};

enum ws_efd_state { EFD_IDLE = 0, EFD_ARMED, EFD_FIRED };

/* eventfd-poll backend: one helper thread per WS_HELPER_RINGS positions. */
struct ws_helper {
	/* seqlock and control word: even and non-zero = the lists below are
	 * stable for this generation; odd = being rewritten; 0 = never set */
	_Alignas(ZIPC_LINE) _Atomic uint32_t gen;
	_Atomic uint32_t fired; /* last generation whose wake-up the helper signalled */
	_Atomic uint32_t woken; /* position of the word that woke it, or UINT32_MAX */
	_Alignas(ZIPC_LINE) _Atomic uint64_t addr[WS_HELPER_RINGS]; /* futex word, 0 = none */
	_Atomic uint32_t val[WS_HELPER_RINGS];
	/* written by the waiting thread only */
	_Alignas(ZIPC_LINE) uint32_t pub_gen;
	unsigned base; /* first ring position it watches */
	int running;
	pthread_t thread;
	struct zipc_waitset *ws;
};

struct zipc_waitset {
	struct io_uring ring;
	int fallback;       /* eventfd-poll backend */
	unsigned fork_gen;  /* ws_fork_gen() at creation */
	int64_t spin_ns;
	int64_t liveness_ns;
	int64_t next_live;  /* next dead-peer sweep (CLOCK_MONOTONIC ns) */
	int moved;          /* an end left its ring (grow): announce again */
	int futex_err;      /* unexpected error of a futex wait, for the caller */
	unsigned nrings, ring_hi, rr;
	unsigned nhint;            /* ring positions whose futex fired (> WS_HINTS: overflowed) */
	uint16_t hint[WS_HINTS];
	unsigned nfds, fd_hi, fd_idle, fd_ready;
	struct zipc_waitset_stat st;
	/* eventfd-poll backend */
	int efd;
	uint32_t efd_gen;
	int efd_state;
	_Atomic int stop;
	struct ws_helper *helpers; /* WS_MAX_HELPERS */
	struct ws_ring rings[ZIPC_WAITSET_MAX_RINGS];
	struct ws_fd fds[ZIPC_WAITSET_MAX_FDS];
};

/* ------------------------------------------------------------ fork guard */

static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned ws_forks; /* forks this process descends from */

static void ws_on_fork_child(void)
{
	atomic_fetch_add_explicit(&ws_forks, 1, memory_order_relaxed);
}

static void ws_init_once(void)
{
	pthread_atfork(NULL, NULL, ws_on_fork_child);
}

/* Changes in a child after fork(): its io_uring and threads are not ours. */
static unsigned ws_fork_gen(void)
{
	pthread_once(&ws_once, ws_init_once);
	return atomic_load_explicit(&ws_forks, memory_order_relaxed);
}

/* -------------------------------------------------------------- io_uring */

/* A free SQE, submitting what is queued if the SQ is full; NULL if none. */
static struct io_uring_sqe *ws_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* Queue a cancel of the request with @user_data (its completion is ignored). */
static int ws_cancel(zipc_waitset *ws, uint64_t user_data)
{
	struct io_uring_sqe *sqe = ws_sqe(&ws->ring);
	if (!sqe)
		return -ENOMEM;
	io_uring_prep_cancel64(sqe, user_data, 0);
	sqe->user_data = tag_make(TAG_CANCEL, 0, 0);
	return 0;
}

/* Remember that ring position @s may have become ready. */
static void ws_hint(zipc_waitset *ws, unsigned s)
{
	if (ws->nhint < WS_HINTS)
		ws->hint[ws->nhint] = (uint16_t)s;
	if (ws->nhint <= WS_HINTS)
		ws->nhint++;
}

/* One completion. */
static void ws_complete(zipc_waitset *ws, uint64_t ud, int32_t res)
{
	unsigned type = (unsigned)(ud >> 56);
	unsigned index = (unsigned)(ud >> 32) & 0xffffffu;
	uint32_t gen = (uint32_t)ud;
	switch (type) {
	case TAG_FUTEX: {
		if (index >= ZIPC_WAITSET_MAX_RINGS)
			break;
		struct ws_ring *e = &ws->rings[index];
		if (!e->armed_word || e->gen != gen)
			break; /* replaced or cancelled: stale */
		e->armed_word = NULL;
		e->fired = 1;
		ws_hint(ws, index);
		ws->st.futex_wakeups++;
		/* 0 woken, -EAGAIN the word had changed already: both "look again" */
		if (res < 0 && res != -EAGAIN && res != -ECANCELED && res != -EINTR)
			ws->futex_err = res;
		break;
	}
	case TAG_FD: {
		if (index >= ZIPC_WAITSET_MAX_FDS)
			break;
		struct ws_fd *f = &ws->fds[index];
		if (f->gen != gen)
			break;
		if (f->state == FD_ARMED) {
			f->state = FD_READY;
			ws->fd_ready++;
			f->revents = res >= 0 ? (uint32_t)res : (uint32_t)POLLNVAL;
			f->status = res >= 0 ? 0 : res;
		} else if (f->state == FD_CANCEL) {
			f->state = FD_FREE;
		}
		break;
	}
	case TAG_EVENTFD:
		if (gen == ws->efd_gen && ws->efd_state == EFD_ARMED)
			ws->efd_state = EFD_FIRED;
		break;
	default:
		break; /* cancels, liburing's own timeouts */
	}
}

/* Take every completion in the CQ ring (no system call). */
static void ws_reap(zipc_waitset *ws)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&ws->ring, head, cqe)
	{
		ws_complete(ws, cqe->user_data, cqe->res);
		n++;
	}
	if (n)
		io_uring_cq_advance(&ws->ring, n);
}

/* Queue a poll for every descriptor waiting to be (re-)armed. */
static int ws_arm_fds(zipc_waitset *ws)
{
	for (unsigned i = 0; i < ws->fd_hi && ws->fd_idle; i++) {
		struct ws_fd *f = &ws->fds[i];
		if (f->state != FD_IDLE)
			continue;
		struct io_uring_sqe *sqe = ws_sqe(&ws->ring);
		if (!sqe)
			return -ENOMEM;
		io_uring_prep_poll_add(sqe, f->fd, f->events);
		sqe->user_data = tag_make(TAG_FD, i, ++f->gen);
		f->state = FD_ARMED;
		ws->fd_idle--;
	}
	return 0;
}

/* ------------------------------------------------------------------ rings */

static struct zipc_waitword *ws_word(const struct ws_ring *e)
{
	if (e->rc)
		return zipc__record_consumer_waitword(e->rc);
	return e->c ? zipc__consumer_waitword(e->c) : &e->p->hdr->prod_wait;
}

/* Producer: room for one slot?  0, -EAGAIN, or -EPROTO.  Claims nothing. */
static int ws_producer_room(zipc_producer *p, uint64_t *end)
{
	uint64_t base = p->mp ? atomic_load_explicit(&p->hdr->cursor, memory_order_relaxed) : p->next;
	*end = base + 1;
	if (*end - p->gate <= p->capacity)
		return 0;
	return zipc__producer_gate(p, *end);
}

/* The S1 announcement of one end (see the top of this file). */
static void ws_announce(struct ws_ring *e)
{
	struct zipc_waitword *w = ws_word(e);
	/* S1: seq_cst RMW, ordered before our re-check by the sleeper barrier;
	 * pairs with the publisher's W1 fence and `sleepers` load */
	/* arm the word first: the next publisher wakes us once
	 * (zipc__wake_armed); the announcing RMW releases the arming */
	atomic_store_explicit(&w->armed, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->sleepers, 1, memory_order_seq_cst);
	e->ann = w;
	/* acquire pairs with zipc__wake()'s release bump: a value that
	 * includes a bump shows the publish that preceded it */
	e->val = atomic_load_explicit(&w->seq, memory_order_acquire);
	e->fired = 0;
}

static void ws_withdraw(struct ws_ring *e)
{
	/* relaxed, as wait.c: a late withdrawal only costs a publisher a wake */
	atomic_fetch_sub_explicit(&e->ann->sleepers, 1, memory_order_relaxed);
	e->ann = NULL;
}

/*
 * Is @e ready?  Fills the event fields if so.  During the sleep phase a
 * consumer on a sealed (grown) ring may follow it to its successor inside
 * try_peek, and the ring it leaves may be unmapped then: withdraw the
 * announcement first; the sleep phase announces again on the new ring.
 */
static int ws_ring_ready(zipc_waitset *ws, struct ws_ring *e, uint32_t *revents, int32_t *status)
{
	if (e->rc) {
		int r = zipc__record_consumer_ready(e->rc);
		if (r == 1) {
			e->dead = 0;
			*revents = POLLIN;
			*status = 0;
			return 1;
		}
		if (r == 0) {
			if (!e->dead)
				return 0;
			*revents = POLLERR;
			*status = e->dead;
			return 1;
		}
		*revents = r == -EPIPE ? POLLHUP : POLLERR;
		*status = r;
		return 1;
	}
	if (e->c) {
		zipc_consumer *c = e->c;
		if (e->ann && atomic_load_explicit(&c->hdr->ctl.sealed, memory_order_relaxed)) {
			ws_withdraw(e);
			ws->moved = 1;
		}
		uint64_t seq;
		int64_t r = zipc_consumer_try_peek(c, &seq);
		if (r > 0 || r == -ENOMSG) {
			e->dead = 0;
			*revents = POLLIN;
			*status = r > 0 ? 0 : (int32_t)r;
			return 1;
		}
		if (r == -EAGAIN) {
			if (!e->dead)
				return 0;
			*revents = POLLERR;
			*status = e->dead;
			return 1;
		}
		*revents = r == -EPIPE ? POLLHUP : POLLERR;
		*status = (int32_t)r;
		return 1;
	}
	uint64_t end;
	int rc = ws_producer_room(e->p, &end);
	if (rc == 0) {
		e->dead = 0;
		*revents = POLLOUT;
		*status = 0;
		return 1;
	}
	if (rc == -EAGAIN && !e->dead)
		return 0;
	*revents = POLLERR;
	*status = rc == -EAGAIN ? e->dead : rc;
	return 1;
}

/* Report ready descriptors into @ev (from @n on); returns the new count. */
static unsigned ws_collect_fds(zipc_waitset *ws, struct zipc_waitset_event *ev, unsigned n, unsigned max)
{
	for (unsigned i = 0; i < ws->fd_hi && ws->fd_ready && n < max; i++) {
		struct ws_fd *f = &ws->fds[i];
		if (f->state != FD_READY)
			continue;
		ev[n++] = (struct zipc_waitset_event){.user_data = f->user_data, .kind = ZIPC_WAITSET_FD,
						      .revents = f->revents, .status = f->status};
		f->state = FD_IDLE; /* re-armed by the next wait: level-triggered */
		ws->fd_ready--;
		ws->fd_idle++;
		ws->st.fd_events++;
	}
	return n;
}

/* Check ring position @s; if ready, report it as ev[*n]. */
static void ws_collect_one(zipc_waitset *ws, unsigned s, struct zipc_waitset_event *ev, unsigned *n)
{
	struct ws_ring *e = &ws->rings[s];
	uint32_t revents;
	int32_t status;
	if (!e->used || !ws_ring_ready(ws, e, &revents, &status))
		return;
	ev[(*n)++] = (struct zipc_waitset_event){.user_data = e->user_data,
						 .kind = e->rc  ? ZIPC_WAITSET_RECORD_CONSUMER
							 : e->c ? ZIPC_WAITSET_CONSUMER
								: ZIPC_WAITSET_PRODUCER,
						 .revents = revents, .status = status};
	ws->rr = s + 1;
}

/*
 * Check everything, fill up to @max events: ready descriptors first, then
 * rings round robin from where the last wait stopped.  Returns the count.
 */
static int ws_collect(zipc_waitset *ws, struct zipc_waitset_event *ev, unsigned max)
{
	unsigned n = ws_collect_fds(ws, ev, 0, max);
	unsigned hi = ws->ring_hi;
	unsigned s = ws->rr < hi ? ws->rr : 0;
	for (unsigned k = 0; k < hi && n < max; k++, s = s + 1 < hi ? s + 1 : 0)
		ws_collect_one(ws, s, ev, &n);
	return (int)n;
}

/*
 * After a sleep: the rings whose futex wait completed (and descriptors)
 * first.  Enough to end the wait: what is not reported now is found by the
 * next wait's full check (level-triggered), and the full scan of a
 * thousand rings would double the wake-up latency.  Returns the count.
 */
static int ws_collect_hinted(zipc_waitset *ws, struct zipc_waitset_event *ev, unsigned max)
{
	unsigned nh = ws->nhint;
	ws->nhint = 0;
	if (nh > WS_HINTS)
		return 0; /* too many to track: full check */
	unsigned n = ws_collect_fds(ws, ev, 0, max);
	for (unsigned i = 0; i < nh && n < max; i++) {
		unsigned s = ws->hint[i];
		int dup = 0;
		for (unsigned j = 0; j < n && !dup; j++)
			dup = ev[j].kind != ZIPC_WAITSET_FD && ev[j].user_data == ws->rings[s].user_data;
		if (!dup)
			ws_collect_one(ws, s, ev, &n);
	}
	return (int)n;
}

/* ------------------------------------------------------------- liveness */

struct ws_alive {
	unsigned n;
	struct {
		int32_t pid;
		uint64_t start;
		int alive;
	} e[WS_ALIVE_CACHE];
};

/* zipc__peer_alive(), remembering each (pid, start) for one sweep. */
static int ws_alive(struct ws_alive *ac, const struct zipc_ring_peer *e)
{
	/* acquire pairs with the owner's release store of its pid */
	int32_t pid = atomic_load_explicit(&e->pid, memory_order_acquire);
	uint64_t start = atomic_load_explicit(&e->start, memory_order_relaxed);
	if (pid == 0)
		return 1; /* owner still writing its identity */
	for (unsigned i = 0; i < ac->n; i++)
		if (ac->e[i].pid == pid && ac->e[i].start == start)
			return ac->e[i].alive;
	int alive = zipc_pid_alive(pid, start);
	if (ac->n < WS_ALIVE_CACHE) {
		ac->e[ac->n].pid = pid;
		ac->e[ac->n].start = start;
		ac->e[ac->n].alive = alive;
		ac->n++;
	}
	return alive;
}

/* Might a peer @c depends on be dead? (cheap, cached) */
static int ws_consumer_suspect(zipc_consumer *c, struct ws_alive *ac)
{
	struct zipc_ring *r = c->ring;
	for (uint32_t m = c->after; m; m &= m - 1) {
		const struct zipc_ring_peer *e = &r->cons[__builtin_ctz(m)];
		if (atomic_load_explicit(&e->state, memory_order_acquire) == ZIPC_PEER_ACTIVE && !ws_alive(ac, e))
			return 1;
	}
	for (unsigned i = 0; i < r->p.max_producers; i++) {
		const struct zipc_ring_peer *e = &r->prod[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) == ZIPC_PEER_ACTIVE && !ws_alive(ac, e))
			return 1;
	}
	return 0;
}

static int ws_producer_suspect(zipc_producer *p, struct ws_alive *ac)
{
	struct zipc_ring *r = p->ring;
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		const struct zipc_ring_peer *e = &r->cons[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) == ZIPC_PEER_ACTIVE && !ws_alive(ac, e))
			return 1;
	}
	return 0;
}

/* Look for dead peers of every idle end; sets e->dead. */
static void ws_sweep(zipc_waitset *ws, int64_t now)
{
	struct ws_alive ac;
	ac.n = 0;
	for (unsigned s = 0; s < ws->ring_hi; s++) {
		struct ws_ring *e = &ws->rings[s];
		uint32_t revents;
		int32_t status;
		if (!e->used)
			continue;
		e->dead = 0; /* a fresh verdict: first, is it ready without one? */
		if (ws_ring_ready(ws, e, &revents, &status))
			continue;
		if (e->rc) {
			/* the record ring's own check reads each producer once */
			e->dead = zipc__record_consumer_liveness(e->rc, &e->strikes);
		} else if (e->c) {
			if (!ws_consumer_suspect(e->c, &ac)) {
				e->strikes = 0;
				continue;
			}
			e->dead = zipc__consumer_liveness(e->c, &e->strikes, &e->hole);
		} else {
			uint64_t end;
			if (ws_producer_room(e->p, &end) != -EAGAIN || !ws_producer_suspect(e->p, &ac))
				continue;
			e->dead = zipc__producer_liveness(e->p, end);
		}
	}
	ws->st.liveness_checks++;
	ws->next_live = now + ws->liveness_ns;
}

/* ------------------------------------------------ eventfd-poll backend */

static long ws_futex_waitv(struct futex_waitv *wv, unsigned n)
{
	/* no deadline: the waiting thread ends the sleep through `gen` */
	return syscall(__NR_futex_waitv, wv, n, 0, NULL, CLOCK_MONOTONIC);
}

static void *ws_helper_main(void *arg)
{
	struct ws_helper *h = arg;
	zipc_waitset *ws = h->ws;
	struct futex_waitv wv[ZIPC__FUTEX_WAITV_MAX];
	unsigned pos[ZIPC__FUTEX_WAITV_MAX]; /* position of each entry of wv */
	uint32_t done = 0; /* generation already signalled */
	for (;;) {
		/* acquire pairs with the release store of a new generation */
		uint32_t g = atomic_load_explicit(&h->gen, memory_order_acquire);
		if (atomic_load_explicit(&ws->stop, memory_order_acquire))
			break;
		if (g == 0 || (g & 1) || g == done) {
			/* private futex: `gen` is in this process's memory only */
			syscall(SYS_futex, (uint32_t *)&h->gen, FUTEX_WAIT_PRIVATE, g, NULL, NULL, 0);
			continue;
		}
		unsigned n = 0;
		for (unsigned i = 0; i < WS_HELPER_RINGS; i++) {
			uint64_t a = atomic_load_explicit(&h->addr[i], memory_order_relaxed);
			if (!a)
				continue;
			/* shared words (MAP_SHARED memfds): never FUTEX2_PRIVATE */
			pos[n] = i;
			wv[n++] = (struct futex_waitv){.val = atomic_load_explicit(&h->val[i], memory_order_relaxed),
						       .uaddr = a, .flags = ZIPC__FUTEX2_SIZE_U32};
		}
		/* seqlock read side: the lists before the second look at gen;
		 * pairs with the writer's release fence */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&h->gen, memory_order_relaxed) != g)
			continue; /* rewritten meanwhile */
		wv[n] = (struct futex_waitv){.val = g, .uaddr = (uintptr_t)&h->gen,
					     .flags = ZIPC__FUTEX2_SIZE_U32 | ZIPC__FUTEX2_PRIVATE};
		long r = ws_futex_waitv(wv, n + 1);
		int err = r < 0 ? errno : 0;
		if (r == (long)n || err == EINTR)
			continue; /* our control word: a new generation, or stop */
		/* a ring's word was woken or no longer held its value (EAGAIN),
		 * or the wait failed: let the waiting thread look */
		if (atomic_load_explicit(&h->gen, memory_order_acquire) != g)
			continue; /* superseded: that thread already re-read */
		done = g;
		atomic_store_explicit(&h->woken, r >= 0 ? pos[r] : UINT32_MAX, memory_order_relaxed);
		/* release: the waiting thread that sees fired == g re-reads
		 * (and sees woken) */
		atomic_store_explicit(&h->fired, g, memory_order_release);
		uint64_t one = 1;
		ssize_t wr = write(ws->efd, &one, sizeof(one));
		(void)wr; /* EAGAIN only if the counter is full: it is signalled then */
	}
	return NULL;
}

/* Publish the (word, value) list of helper @h and wake it. */
static void ws_helper_publish(zipc_waitset *ws, struct ws_helper *h)
{
	uint32_t g = h->pub_gen;
	uint32_t next = g + 2 ? g + 2 : 2; /* never 0, never odd */
	atomic_store_explicit(&h->gen, g + 1, memory_order_relaxed); /* odd: rewriting */
	/* seqlock write side: the odd value before the new lists; pairs with
	 * the helper's acquire fence */
	atomic_thread_fence(memory_order_release);
	for (unsigned i = 0; i < WS_HELPER_RINGS; i++) {
		unsigned s = h->base + i;
		const struct ws_ring *e = s < ZIPC_WAITSET_MAX_RINGS ? &ws->rings[s] : NULL;
		int on = e && e->used && e->ann;
		atomic_store_explicit(&h->addr[i], on ? (uint64_t)(uintptr_t)&e->ann->seq : 0, memory_order_relaxed);
		atomic_store_explicit(&h->val[i], on ? e->val : 0, memory_order_relaxed);
	}
	h->pub_gen = next;
	/* release pairs with the helper's acquire load of gen */
	atomic_store_explicit(&h->gen, next, memory_order_release);
	syscall(SYS_futex, (uint32_t *)&h->gen, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	ws->st.futex_arms++;
}

/* Re-publish every helper whose list changed or that fired; arm the eventfd. */
static int ws_arm_helpers(zipc_waitset *ws)
{
	for (unsigned k = 0; k < WS_MAX_HELPERS; k++) {
		struct ws_helper *h = &ws->helpers[k];
		if (!h->running)
			continue;
		/* acquire pairs with the helper's release store of fired */
		int need = h->pub_gen == 0 || atomic_load_explicit(&h->fired, memory_order_acquire) == h->pub_gen;
		for (unsigned i = 0; i < WS_HELPER_RINGS && !need; i++) {
			unsigned s = h->base + i;
			const struct ws_ring *e = s < ZIPC_WAITSET_MAX_RINGS ? &ws->rings[s] : NULL;
			int on = e && e->used && e->ann;
			uint64_t a = on ? (uint64_t)(uintptr_t)&e->ann->seq : 0;
			need = atomic_load_explicit(&h->addr[i], memory_order_relaxed) != a ||
			       (on && atomic_load_explicit(&h->val[i], memory_order_relaxed) != e->val);
		}
		if (need)
			ws_helper_publish(ws, h);
	}
	if (ws->efd_state == EFD_IDLE) {
		struct io_uring_sqe *sqe = ws_sqe(&ws->ring);
		if (!sqe)
			return -ENOMEM;
		io_uring_prep_poll_add(sqe, ws->efd, POLLIN);
		sqe->user_data = tag_make(TAG_EVENTFD, 0, ++ws->efd_gen);
		ws->efd_state = EFD_ARMED;
	}
	return 0;
}

/* Start the helper of ring position @s if it is not running. */
static int ws_helper_need(zipc_waitset *ws, unsigned s)
{
	struct ws_helper *h = &ws->helpers[s / WS_HELPER_RINGS];
	if (h->running)
		return 0;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the helper takes no signals */
	int rc = pthread_create(&h->thread, NULL, ws_helper_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	h->running = 1;
	ws->st.helpers++;
	return 0;
}

/* The helpers' eventfd completed: clear it and mark whose rings to re-read. */
static void ws_helpers_fired(zipc_waitset *ws)
{
	if (ws->efd_state != EFD_FIRED)
		return;
	uint64_t cnt;
	ssize_t rd = read(ws->efd, &cnt, sizeof(cnt));
	(void)rd; /* EAGAIN: already cleared */
	ws->efd_state = EFD_IDLE;
	for (unsigned k = 0; k < WS_MAX_HELPERS; k++) {
		struct ws_helper *h = &ws->helpers[k];
		if (!h->running || !h->pub_gen ||
		    atomic_load_explicit(&h->fired, memory_order_acquire) != h->pub_gen)
			continue;
		ws->st.futex_wakeups++;
		uint32_t w = atomic_load_explicit(&h->woken, memory_order_relaxed);
		for (unsigned i = 0; i < WS_HELPER_RINGS && h->base + i < ZIPC_WAITSET_MAX_RINGS; i++) {
			ws->rings[h->base + i].fired = 1;
			if (w == UINT32_MAX || w == i)
				ws_hint(ws, h->base + i);
		}
	}
}

/* ------------------------------------------------------------------ wait */

/* After completions: read again the word of every end whose wait fired. */
static void ws_refresh(zipc_waitset *ws)
{
	if (ws->fallback)
		ws_helpers_fired(ws);
	for (unsigned s = 0; s < ws->ring_hi; s++) {
		struct ws_ring *e = &ws->rings[s];
		if (!e->fired || !e->ann)
			continue;
		/* still announced: this read is ordered after the announcement
		 * like the first one; acquire pairs with zipc__wake()'s bump */
		e->val = atomic_load_explicit(&e->ann->seq, memory_order_acquire);
		e->fired = 0;
	}
}

/* io_uring-futex backend: (re-)arm the futex wait of every end whose word
 * or value differs from what its request in flight waits for. */
static int ws_arm_futex(zipc_waitset *ws)
{
	for (unsigned s = 0; s < ws->ring_hi; s++) {
		struct ws_ring *e = &ws->rings[s];
		if (!e->used || !e->ann)
			continue;
		_Atomic uint32_t *word = &e->ann->seq;
		if (e->armed_word == word && e->armed_val == e->val)
			continue; /* still waiting for exactly this */
		if (e->armed_word && ws_cancel(ws, tag_make(TAG_FUTEX, s, e->gen)))
			return -ENOMEM;
		struct io_uring_sqe *sqe = ws_sqe(&ws->ring);
		if (!sqe)
			return -ENOMEM;
		zipc__prep_futex_wait(sqe, word, e->val);
		sqe->user_data = tag_make(TAG_FUTEX, s, ++e->gen);
		e->armed_word = word;
		e->armed_val = e->val;
		ws->st.futex_arms++;
	}
	return 0;
}

/* Announce again every end that left its ring (withdrawn by ws_ring_ready()). */
static void ws_reannounce(zipc_waitset *ws)
{
	ws->moved = 0;
	for (unsigned s = 0; s < ws->ring_hi; s++) {
		struct ws_ring *e = &ws->rings[s];
		if (e->used && !e->ann)
			ws_announce(e);
	}
	zipc__sleeper_barrier(); /* S1 for the new announcements */
}

/* Steps 2 and 3 of zipc/waitset.h: announce, check, sleep, withdraw. */
static int ws_sleep(zipc_waitset *ws, int64_t deadline, struct zipc_waitset_event *ev, unsigned max)
{
	for (unsigned s = 0; s < ws->ring_hi; s++)
		if (ws->rings[s].used)
			ws_announce(&ws->rings[s]);
	ws->st.announces++;
	ws->nhint = 0;
	zipc__sleeper_barrier(); /* S1: every announcement before every check */
	int n, woke = 0;
	for (;;) {
		ws_refresh(ws);
		n = woke ? ws_collect_hinted(ws, ev, max) : 0;
		if (!n)
			n = ws_collect(ws, ev, max);
		if (n)
			break;
		if (ws->moved) {
			ws_reannounce(ws);
			continue;
		}
		int64_t now = zipc_now_ns();
		if (now >= deadline) {
			n = -ETIMEDOUT;
			break;
		}
		int rc = ws->fallback ? ws_arm_helpers(ws) : ws_arm_futex(ws);
		if (!rc)
			rc = ws_arm_fds(ws);
		if (rc) {
			n = rc;
			break;
		}
		int64_t until = deadline < ws->next_live ? deadline : ws->next_live;
		int64_t ns = until > now ? until - now : 0;
		struct __kernel_timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
		struct io_uring_cqe *cqe;
		ws->st.sleeps++;
		rc = io_uring_submit_and_wait_timeout(&ws->ring, &cqe, 1, &ts, NULL);
		ws_reap(ws);
		woke = 1;
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			n = rc;
			break;
		}
		if (ws->futex_err) {
			n = ws->futex_err;
			ws->futex_err = 0;
			break;
		}
		now = zipc_now_ns();
		if (now >= ws->next_live)
			ws_sweep(ws, now);
	}
	for (unsigned s = 0; s < ws->ring_hi; s++)
		if (ws->rings[s].ann)
			ws_withdraw(&ws->rings[s]);
	ws->moved = 0;
	return n;
}

int zipc_waitset_wait(zipc_waitset *ws, int64_t timeout_ns, struct zipc_waitset_event *events,
		      unsigned max_events)
{
	if (!ws || !events || max_events == 0 || ws->fork_gen != ws_fork_gen())
		return -EINVAL;
	if (ws->nrings == 0 && ws->nfds == 0 && timeout_ns < 0)
		return -EINVAL; /* nothing could ever end it */
	ws->st.waits++;
	int64_t now = zipc_now_ns();
	int64_t deadline = timeout_ns < 0 || timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;

	/* step 1: descriptors re-armed (a still-ready one completes during
	 * the submit), completions taken, then a plain check */
	int rc = ws_arm_fds(ws);
	if (rc)
		return rc;
	if (io_uring_sq_ready(&ws->ring))
		io_uring_submit(&ws->ring);
	ws_reap(ws);
	if (now >= ws->next_live)
		ws_sweep(ws, now);
	int n = ws_collect(ws, events, max_events);
	if (n)
		return n;
	if (timeout_ns == 0)
		return -EAGAIN;
	if (ws->spin_ns > 0) {
		int64_t spin_until = ws->spin_ns < deadline - now ? now + ws->spin_ns : deadline;
		while (now < spin_until) {
			zipc__cpu_relax();
			ws_reap(ws); /* descriptors: a memory read */
			if ((n = ws_collect(ws, events, max_events)))
				return n;
			now = zipc_now_ns();
		}
		if (now >= deadline)
			return -ETIMEDOUT;
	}
	return ws_sleep(ws, deadline, events, max_events);
}

/* ------------------------------------------------------------- set-up */

int zipc_waitset_create(const struct zipc_waitset_opts *opts, zipc_waitset **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	struct zipc_waitset_opts o;
	memset(&o, 0, sizeof(o));
	if (opts)
		o = *opts;
	if ((o.flags & ~(uint32_t)ZIPC_WAITSET_FALLBACK) || o.reserved)
		return -EINVAL;
	zipc_waitset *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->efd = -1;
	ws->fork_gen = ws_fork_gen();
	ws->spin_ns = o.spin_ns == 0 ? WS_DEFAULT_SPIN_NS : o.spin_ns;
	ws->liveness_ns = o.liveness_ns > 0 ? o.liveness_ns : WS_DEFAULT_LIVENESS_NS;
	ws->next_live = zipc_now_ns() + ws->liveness_ns;

	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = WS_CQ_ENTRIES;
	int rc = io_uring_queue_init_params(WS_SQ_ENTRIES, &ws->ring, &p);
	if (rc == -EINVAL) { /* SUBMIT_ALL: Linux 5.18 */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = WS_CQ_ENTRIES;
		rc = io_uring_queue_init_params(WS_SQ_ENTRIES, &ws->ring, &p);
	}
	if (rc) {
		free(ws);
		return rc;
	}
	int futex_ok = 0;
	struct io_uring_probe *probe = io_uring_get_probe_ring(&ws->ring);
	if (probe) {
		futex_ok = io_uring_opcode_supported(probe, ZIPC__IORING_OP_FUTEX_WAIT);
		io_uring_free_probe(probe);
	}
	ws->fallback = !futex_ok || (o.flags & ZIPC_WAITSET_FALLBACK);
	if (ws->fallback) {
		/* futex_waitv(2) with no entries: EINVAL if the call exists */
		if (syscall(__NR_futex_waitv, NULL, 0, 0, NULL, 0) == 0 || errno == ENOSYS) {
			rc = -ENOSYS;
			goto fail;
		}
		ws->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ws->efd < 0) {
			rc = -errno;
			goto fail;
		}
		ws->helpers = aligned_alloc(_Alignof(struct ws_helper), WS_MAX_HELPERS * sizeof(struct ws_helper));
		if (!ws->helpers) {
			rc = -ENOMEM;
			goto fail;
		}
		memset(ws->helpers, 0, WS_MAX_HELPERS * sizeof(struct ws_helper));
		for (unsigned k = 0; k < WS_MAX_HELPERS; k++) {
			ws->helpers[k].ws = ws;
			ws->helpers[k].base = k * WS_HELPER_RINGS;
		}
	}
	*out = ws;
	return 0;
fail:
	if (ws->efd >= 0)
		close(ws->efd);
	io_uring_queue_exit(&ws->ring);
	free(ws);
	return rc;
}

int zipc_waitset_close(zipc_waitset *ws)
{
	if (!ws)
		return 0;
	int forked = ws->fork_gen != ws_fork_gen();
	if (ws->helpers) {
		if (!forked) { /* a child has none of these threads */
			atomic_store_explicit(&ws->stop, 1, memory_order_release);
			for (unsigned k = 0; k < WS_MAX_HELPERS; k++) {
				struct ws_helper *h = &ws->helpers[k];
				if (!h->running)
					continue;
				/* any change of gen ends the helper's sleep; it then sees stop */
				atomic_fetch_add_explicit(&h->gen, 2, memory_order_release);
				syscall(SYS_futex, (uint32_t *)&h->gen, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
				pthread_join(h->thread, NULL);
			}
		}
		free(ws->helpers);
	}
	if (ws->efd >= 0)
		close(ws->efd);
	/* tears the ring down: the kernel cancels every futex wait and poll
	 * (in a child: only unmaps and closes this process's copies) */
	io_uring_queue_exit(&ws->ring);
	free(ws);
	return 0;
}

const char *zipc_waitset_backend(const zipc_waitset *ws)
{
	if (!ws)
		return "";
	return ws->fallback ? "eventfd-poll" : "io_uring-futex";
}

int zipc_waitset_stat(const zipc_waitset *ws, struct zipc_waitset_stat *st)
{
	if (!ws || !st)
		return -EINVAL;
	*st = ws->st;
	st->rings = ws->nrings;
	st->fds = ws->nfds;
	return 0;
}

/* --------------------------------------------------------- registration */

static int ws_has(const zipc_waitset *ws, uint64_t user_data)
{
	for (unsigned s = 0; s < ws->ring_hi; s++)
		if (ws->rings[s].used && ws->rings[s].user_data == user_data)
			return 1;
	for (unsigned i = 0; i < ws->fd_hi; i++)
		if (ws->fds[i].state != FD_FREE && ws->fds[i].user_data == user_data)
			return 1;
	return 0;
}

static int ws_add_ring(zipc_waitset *ws, zipc_consumer *c, zipc_producer *p, zipc_record_consumer *rec,
		       uint64_t user_data)
{
	if (!ws || (!c && !p && !rec) || ws->fork_gen != ws_fork_gen())
		return -EINVAL;
	if (ws_has(ws, user_data))
		return -EEXIST;
	unsigned free_slot = ZIPC_WAITSET_MAX_RINGS;
	for (unsigned s = 0; s < ZIPC_WAITSET_MAX_RINGS; s++) {
		struct ws_ring *e = &ws->rings[s];
		if (!e->used) {
			if (free_slot == ZIPC_WAITSET_MAX_RINGS)
				free_slot = s;
			if (s >= ws->ring_hi)
				break;
			continue;
		}
		if ((c && e->c == c) || (p && e->p == p) || (rec && e->rc == rec))
			return -EEXIST;
	}
	if (free_slot == ZIPC_WAITSET_MAX_RINGS)
		return -ENOSPC;
	if (ws->fallback) {
		int rc = ws_helper_need(ws, free_slot);
		if (rc)
			return rc;
	}
	struct ws_ring *e = &ws->rings[free_slot];
	uint32_t gen = e->gen; /* keeps stale completions of a former occupant stale */
	memset(e, 0, sizeof(*e));
	e->gen = gen;
	e->used = 1;
	e->c = c;
	e->p = p;
	e->rc = rec;
	e->user_data = user_data;
	e->hole = UINT64_MAX;
	ws->nrings++;
	if (free_slot + 1 > ws->ring_hi)
		ws->ring_hi = free_slot + 1;
	return 0;
}

int zipc_waitset_add_consumer(zipc_waitset *ws, zipc_consumer *c, uint64_t user_data)
{
	if (!c)
		return -EINVAL;
	return ws_add_ring(ws, c, NULL, NULL, user_data);
}

int zipc_waitset_add_record_consumer(zipc_waitset *ws, zipc_record_consumer *c, uint64_t user_data)
{
	if (!c)
		return -EINVAL;
	return ws_add_ring(ws, NULL, NULL, c, user_data);
}

int zipc_waitset_add_producer(zipc_waitset *ws, zipc_producer *p, uint64_t user_data)
{
	if (!p)
		return -EINVAL;
	return ws_add_ring(ws, NULL, p, NULL, user_data);
}

int zipc_waitset_add_fd(zipc_waitset *ws, int fd, uint32_t events, uint64_t user_data)
{
	if (!ws || ws->fork_gen != ws_fork_gen())
		return -EINVAL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (!(events & (POLLIN | POLLOUT | POLLPRI | POLLRDHUP)) || (events & ~WS_FD_EVENTS))
		return -EINVAL;
	if (ws_has(ws, user_data))
		return -EEXIST;
	unsigned i = 0;
	while (i < ZIPC_WAITSET_MAX_FDS && ws->fds[i].state != FD_FREE)
		i++;
	if (i == ZIPC_WAITSET_MAX_FDS)
		return -ENOSPC;
	struct ws_fd *f = &ws->fds[i];
	f->user_data = user_data;
	f->fd = fd;
	f->events = events;
	f->state = FD_IDLE;
	f->revents = 0;
	f->status = 0;
	ws->nfds++;
	ws->fd_idle++;
	if (i + 1 > ws->fd_hi)
		ws->fd_hi = i + 1;
	return 0;
}

int zipc_waitset_remove(zipc_waitset *ws, uint64_t user_data)
{
	if (!ws || ws->fork_gen != ws_fork_gen())
		return -EINVAL;
	for (unsigned s = 0; s < ws->ring_hi; s++) {
		struct ws_ring *e = &ws->rings[s];
		if (!e->used || e->user_data != user_data)
			continue;
		if (e->armed_word) {
			/* the kernel keeps no reference to the word's memory once
			 * queued; cancel so the request does not linger */
			if (ws_cancel(ws, tag_make(TAG_FUTEX, s, e->gen)) == 0)
				io_uring_submit(&ws->ring);
			e->armed_word = NULL;
		}
		e->used = 0;
		e->c = NULL;
		e->p = NULL;
		e->rc = NULL;
		ws->nrings--;
		while (ws->ring_hi && !ws->rings[ws->ring_hi - 1].used)
			ws->ring_hi--;
		if (ws->fallback) {
			/* drop the word from its helper's list now */
			struct ws_helper *h = &ws->helpers[s / WS_HELPER_RINGS];
			if (h->running && h->pub_gen &&
			    atomic_load_explicit(&h->addr[s - h->base], memory_order_relaxed))
				ws_helper_publish(ws, h);
		}
		return 0;
	}
	for (unsigned i = 0; i < ws->fd_hi; i++) {
		struct ws_fd *f = &ws->fds[i];
		if (f->state == FD_FREE || f->user_data != user_data)
			continue;
		if (f->state == FD_IDLE)
			ws->fd_idle--;
		else if (f->state == FD_READY)
			ws->fd_ready--;
		if (f->state == FD_ARMED) {
			/* cancel, and wait for the poll's completion: then the
			 * kernel holds no reference to the file any more */
			f->state = FD_CANCEL;
			int rc = ws_cancel(ws, tag_make(TAG_FD, i, f->gen));
			if (rc == 0)
				io_uring_submit(&ws->ring);
			/* (no SQE for the cancel: cannot happen with SQ space
			 * freed by the submit; the poll then ends with the ring) */
			while (rc == 0 && f->state == FD_CANCEL) {
				struct io_uring_cqe *cqe;
				int w = io_uring_wait_cqe(&ws->ring, &cqe);
				if (w < 0 && w != -EINTR && w != -EAGAIN)
					break; /* cannot happen with a live ring */
				ws_reap(ws);
			}
		}
		f->state = FD_FREE;
		ws->nfds--;
		while (ws->fd_hi && ws->fds[ws->fd_hi - 1].state == FD_FREE)
			ws->fd_hi--;
		return 0;
	}
	return -ENOENT;
}

/* ------------------------------------------- one end: io_uring futex wait */

struct tl_uring {
	struct io_uring ring;
	int state; /* 1 usable, -1 no io_uring futex here */
	unsigned fork_gen;
};

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static int tl_key_ok;

static void tl_destroy(void *arg)
{
	struct tl_uring *t = arg;
	if (t->state == 1)
		io_uring_queue_exit(&t->ring);
	free(t);
}

static void tl_init(void)
{
	tl_key_ok = pthread_key_create(&tl_key, tl_destroy) == 0;
}

/* Take completions; returns 1 and the futex wait's result if it is among them. */
static int tl_take(struct io_uring *ring, int32_t *res)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int got = 0;
	io_uring_for_each_cqe(ring, head, cqe)
	{
		if (cqe->user_data == 1) {
			*res = cqe->res;
			got = 1;
		}
		n++;
	}
	if (n)
		io_uring_cq_advance(ring, n);
	return got;
}

int zipc__uring_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t timeout_ns)
{
	unsigned fg = ws_fork_gen();
	pthread_once(&tl_once, tl_init);
	if (!tl_key_ok)
		return -EOPNOTSUPP;
	struct tl_uring *t = pthread_getspecific(tl_key);
	if (t && t->fork_gen != fg) {
		/* inherited through fork(): the ring is the parent's */
		if (t->state == 1)
			io_uring_queue_exit(&t->ring);
		free(t);
		pthread_setspecific(tl_key, NULL);
		t = NULL;
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		t->fork_gen = fg;
		t->state = -1;
		if (io_uring_queue_init(4, &t->ring, 0) == 0) {
			struct io_uring_probe *probe = io_uring_get_probe_ring(&t->ring);
			if (probe && io_uring_opcode_supported(probe, ZIPC__IORING_OP_FUTEX_WAIT))
				t->state = 1;
			else
				io_uring_queue_exit(&t->ring);
			if (probe)
				io_uring_free_probe(probe);
		}
		if (pthread_setspecific(tl_key, t)) {
			tl_destroy(t);
			return -ENOMEM;
		}
	}
	if (t->state != 1)
		return -EOPNOTSUPP;

	struct io_uring *ring = &t->ring;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -ENOMEM;
	zipc__prep_futex_wait(sqe, word, val); /* shared word: no FUTEX2_PRIVATE */
	sqe->user_data = 1;
	struct __kernel_timespec ts = {.tv_sec = timeout_ns / ZIPC_SEC, .tv_nsec = timeout_ns % ZIPC_SEC};
	struct io_uring_cqe *cqe;
	int rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, timeout_ns < 0 ? NULL : &ts, NULL);
	int32_t res = 0;
	if (!tl_take(ring, &res)) {
		/* deadline or signal: cancel, then wait for the wait's own
		 * completion so nothing of it is left in the ring */
		sqe = io_uring_get_sqe(ring);
		if (sqe) {
			io_uring_prep_cancel64(sqe, 1, 0);
			sqe->user_data = 2;
			io_uring_submit(ring);
		}
		while (!tl_take(ring, &res)) {
			int w = io_uring_wait_cqe(ring, &cqe);
			if (w < 0 && w != -EINTR && w != -EAGAIN)
				return w; /* cannot happen with a live ring */
		}
		if (res == -ECANCELED)
			return rc == -EINTR ? -EINTR : -ETIMEDOUT;
	}
	if (res == 0 || res == -EAGAIN)
		return 0;
	if (res == -EINVAL || res == -EOPNOTSUPP) {
		t->state = -1; /* the kernel refused the request itself */
		io_uring_queue_exit(ring);
		return -EOPNOTSUPP;
	}
	return res;
}
