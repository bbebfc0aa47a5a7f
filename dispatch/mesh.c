/* SPDX-License-Identifier: MIT */
/*
 * dispatch/mesh.c - the worker mesh (zipc/mesh.h): rendezvous region,
 * worker threads, channel allocation over an n x n matrix of SPSC rings,
 * push/pull with slot recycling, end of stream, dead-peer detection and
 * traffic counters.
 *
 * Shared state (the rendezvous region, kind ZIPC_KIND_MESH):
 *
 *   struct mesh_hdr                  geometry (immutable after creation)
 *   struct mesh_proc [16]            per process: pid, start ticks, state
 *   struct mesh_wlog [n]             per worker: done flag, allocation log
 *   struct mesh_cnt  [n][maxch][n]   per (worker, allocation, peer) counters
 *
 * Every field another process writes is single-writer: a process writes
 * its own mesh_proc entry, a worker its own log and its own counters.
 * Readers range-check what they read (zipc_mesh_stat()).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zipc/mesh.h>
#include <zipc/ring.h>
#include <zipc/waitset.h>

#include "dispatch_int.h"

#define MESH_MAGIC 0x4853454d43504953ULL /* "SIPCMESH" */
#define MESH_LAYOUT 1u
#define MESH_LINE 128u

enum { PROC_ABSENT = 0, PROC_RUNNING = 1, PROC_DONE = 2 };

struct mesh_hdr {
	uint64_t magic;
	uint32_t layout;
	uint32_t workers;
	uint32_t processes;
	uint32_t threads;
	uint32_t max_channels;
	uint32_t max_message;
	uint64_t capacity;
	uint32_t wait;
	uint32_t reserved;
	uint64_t procs_off; /* from the area's start */
	uint64_t logs_off;
	uint64_t log_stride;
	uint64_t cnt_off;
	uint64_t total;
};

struct mesh_proc {
	_Alignas(MESH_LINE) _Atomic int32_t pid;
	_Atomic uint32_t state; /* PROC_* */
	_Atomic uint64_t start;
};

struct mesh_wlog {
	_Atomic uint32_t done;   /* the worker returned and closed its ends (release) */
	_Atomic uint32_t nalloc; /* entries of ids[] written (release after the id) */
	_Atomic uint32_t ids[];  /* channel ids in allocation order */
};

struct mesh_cnt {
	_Atomic uint64_t msgs_sent, bytes_sent, msgs_recv, bytes_recv;
};

_Static_assert(sizeof(struct mesh_hdr) <= MESH_LINE, "mesh header fits a line");
_Static_assert(sizeof(struct mesh_proc) == MESH_LINE, "one line per process");

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static void mesh_geometry(struct mesh_hdr *h)
{
	uint64_t off = MESH_LINE;
	h->procs_off = off;
	off += ZIPC_MESH_MAX_PROCESSES * sizeof(struct mesh_proc);
	h->logs_off = off;
	h->log_stride = round_up(sizeof(struct mesh_wlog) + 4ull * h->max_channels, MESH_LINE);
	off += h->log_stride * h->workers;
	h->cnt_off = off;
	off += (uint64_t)h->workers * h->max_channels * h->workers * sizeof(struct mesh_cnt);
	h->total = round_up(off, MESH_LINE);
}

/* Validate a header as read from shared memory (copied first). */
static int mesh_hdr_check(const struct mesh_hdr *in, uint64_t area)
{
	struct mesh_hdr h = *in;
	if (h.magic != MESH_MAGIC)
		return -EBADMSG;
	if (h.layout != MESH_LAYOUT)
		return -EPROTONOSUPPORT;
	if (h.workers == 0 || h.workers > ZIPC_MESH_MAX_WORKERS || h.processes == 0 ||
	    h.processes > ZIPC_MESH_MAX_PROCESSES || h.threads == 0 || h.threads * h.processes != h.workers ||
	    h.max_channels == 0 || h.max_channels > ZIPC_MESH_MAX_CHANNELS || h.max_message == 0 ||
	    h.max_message > ZIPC_RING_MAX_SLOT_SIZE - ZIPC_MESH_MSG_HDR)
		return -EPROTO;
	struct mesh_hdr c = h;
	mesh_geometry(&c);
	if (c.procs_off != h.procs_off || c.logs_off != h.logs_off || c.log_stride != h.log_stride ||
	    c.cnt_off != h.cnt_off || c.total != h.total)
		return -EPROTO;
	if (h.total > area)
		return -ENODATA;
	return 0;
}

/* ------------------------------------------------------ per-process state */

/* One channel's rings in this process: ring (i -> j) at [i * n + j], for
 * the pairs with at least one local end (NULL: peer finished without it). */
struct mesh_chan {
	struct mesh_chan *next;
	uint32_t id;
	int err;
	zipc_ring **rings;
};

struct wchan;

struct zipc_mesh_sender {
	struct zipc_mesh_worker *w;
	struct wchan *c;
	uint32_t to;
	zipc_producer *p; /* NULL once closed */
	int claimed;
	uint64_t seq;
	uint64_t seqno;
	struct mesh_cnt *cnt;
};

struct zipc_mesh_receiver {
	struct zipc_mesh_worker *w;
	struct wchan *c;
	zipc_consumer **cons; /* [n], NULL once at end of stream / closed */
	uint32_t live;        /* incoming rings not at end of stream */
	uint32_t next;        /* round-robin start */
	int held;             /* a pulled message not yet recycled */
	uint32_t held_from;
	int closed;
	uint64_t *seqno;      /* [n] */
	zipc_waitset *ws;
	int ws_failed;
	int64_t next_live_ns;
};

struct wchan {
	uint32_t id;
	uint32_t k; /* allocation index */
	zipc_mesh_sender *senders; /* [n] */
	zipc_mesh_receiver rx;
};

struct zipc_mesh_worker {
	struct zipc_mesh_guards *g;
	uint32_t index;
	pthread_t th;
	int started;
	int rc;
	void *result;
	struct wchan **chans;
	uint32_t nchans;
};

struct zipc_mesh_guards {
	struct zipc_mesh_config cfg;
	char name[ZIPC_MESH_NAME_MAX + 1];
	uint32_t n, p, k, proc; /* workers, processes, threads per process, this process */
	zipc_region *region;
	unsigned char *area;
	struct mesh_hdr *hdr;
	pthread_mutex_t lock;
	struct mesh_chan *chans;
	zipc_mesh_fn fn;
	void *arg;
	struct zipc_mesh_worker *workers; /* [k] */
};

static struct mesh_proc *proc_at(const struct zipc_mesh_guards *g, uint32_t p)
{
	return (struct mesh_proc *)(void *)(g->area + g->hdr->procs_off) + p;
}

static struct mesh_wlog *wlog_at(const struct zipc_mesh_guards *g, uint32_t w)
{
	return (struct mesh_wlog *)(void *)(g->area + g->hdr->logs_off + g->hdr->log_stride * w);
}

static struct mesh_cnt *cnt_at(const struct zipc_mesh_guards *g, uint32_t w, uint32_t k, uint32_t peer)
{
	return (struct mesh_cnt *)(void *)(g->area + g->hdr->cnt_off) + ((uint64_t)w * g->hdr->max_channels + k) * g->n + peer;
}

static int is_local(const struct zipc_mesh_guards *g, uint32_t worker)
{
	return worker / g->k == g->proc;
}

/* A registered process that died before finishing (its own process never). */
static int proc_dead(const struct zipc_mesh_guards *g, uint32_t p)
{
	if (p == g->proc)
		return 0;
	struct mesh_proc *e = proc_at(g, p);
	/* acquire pairs with the release store of state by the process itself */
	uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
	int32_t pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
	if (st != PROC_RUNNING || pid <= 0)
		return 0;
	return !zipc_pid_alive(pid, atomic_load_explicit(&e->start, memory_order_relaxed));
}

static int worker_done(const struct zipc_mesh_guards *g, uint32_t w)
{
	/* acquire pairs with the release store in worker_finish(): the
	 * worker's producer closes are visible after this */
	return atomic_load_explicit(&wlog_at(g, w)->done, memory_order_acquire) != 0;
}

/* Another worker allocated a different channel at position @k? */
static int order_check(const struct zipc_mesh_guards *g, uint32_t k, uint32_t id)
{
	for (uint32_t v = 0; v < g->n; v++) {
		struct mesh_wlog *l = wlog_at(g, v);
		/* acquire pairs with the release store of nalloc after ids[k] */
		uint32_t na = atomic_load_explicit(&l->nalloc, memory_order_acquire);
		if (na > k && k < g->hdr->max_channels &&
		    atomic_load_explicit(&l->ids[k], memory_order_relaxed) != id)
			return -EILSEQ;
	}
	return 0;
}

static void emit(const struct zipc_mesh_guards *g, uint32_t kind, uint32_t ch, uint32_t src, uint32_t dst,
		 uint64_t seqno, uint32_t len)
{
	if (!g->cfg.log)
		return;
	struct zipc_mesh_event ev = {.kind = kind, .channel = ch, .source = src, .target = dst,
				     .seqno = seqno, .length = len};
	g->cfg.log(g->cfg.log_ctx, &ev);
}

/* Single-writer counter bump (only the owning worker writes it). */
static void cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

/* --------------------------------------------------------------- config */

static int parse_u32(const char *s, uint32_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > UINT32_MAX || s[0] == '-')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int zipc_mesh_config_from_args(int argc, char *const argv[], struct zipc_mesh_config *cfg)
{
	if (!cfg || (argc > 0 && !argv))
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->processes = 1;
	cfg->name = "zipc-mesh";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (!strcmp(a, "-w") || !strcmp(a, "--threads"))
			rc = parse_u32(v, &cfg->threads), i++;
		else if (!strcmp(a, "-n") || !strcmp(a, "--processes"))
			rc = parse_u32(v, &cfg->processes), i++;
		else if (!strcmp(a, "-p") || !strcmp(a, "--process"))
			rc = parse_u32(v, &cfg->process), i++;
		else if (!strcmp(a, "--name")) {
			if (!v)
				return -EINVAL;
			cfg->name = v;
			i++;
		}
		if (rc)
			return rc;
	}
	if (cfg->processes > 1)
		cfg->mode = ZIPC_MESH_CLUSTER;
	else
		cfg->mode = cfg->threads == 1 ? ZIPC_MESH_THREAD : ZIPC_MESH_PROCESS;
	return 0;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return -EINVAL;
	if (n > ZIPC_MESH_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

static int config_resolve(const struct zipc_mesh_config *in, struct zipc_mesh_config *c)
{
	*c = *in;
	if (c->reserved)
		return -EINVAL;
	switch (c->mode) {
	case ZIPC_MESH_THREAD:
		c->threads = 1, c->processes = 1, c->process = 0;
		break;
	case ZIPC_MESH_PROCESS:
		c->processes = 1, c->process = 0;
		break;
	case ZIPC_MESH_CLUSTER: {
		if (!c->name)
			return -EINVAL;
		int rc = name_ok(c->name);
		if (rc)
			return rc;
		break;
	}
	default:
		return -EINVAL;
	}
	if (c->threads == 0 || c->processes == 0 || c->processes > ZIPC_MESH_MAX_PROCESSES ||
	    c->process >= c->processes || (uint64_t)c->threads * c->processes > ZIPC_MESH_MAX_WORKERS)
		return -EINVAL;
	if (!c->capacity)
		c->capacity = 256;
	if (!c->max_message)
		c->max_message = 1024;
	if (!c->max_channels)
		c->max_channels = 32;
	if (!c->wait)
		c->wait = ZIPC_WAIT_BLOCK;
	if (!c->timeout_ns)
		c->timeout_ns = 30 * ZIPC_SEC;
	if ((c->capacity & (c->capacity - 1)) || c->capacity < 2 || c->capacity > ZIPC_RING_MAX_CAPACITY ||
	    c->max_message > ZIPC_RING_MAX_SLOT_SIZE - ZIPC_MESH_MSG_HDR || c->max_channels > ZIPC_MESH_MAX_CHANNELS ||
	    c->wait > ZIPC_WAIT_BLOCK || c->timeout_ns < 0)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------ rendezvous */

static int mesh_init_area(void *area, uint64_t size, void *arg)
{
	const struct mesh_hdr *h = arg;
	if (h->total > size)
		return -ENOMEM;
	memcpy(area, h, sizeof(*h));
	return 0;
}

static void build_hdr(const struct zipc_mesh_config *c, struct mesh_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = MESH_MAGIC;
	h->layout = MESH_LAYOUT;
	h->workers = c->threads * c->processes;
	h->processes = c->processes;
	h->threads = c->threads;
	h->max_channels = c->max_channels;
	h->max_message = c->max_message;
	h->capacity = c->capacity;
	h->wait = c->wait;
	mesh_geometry(h);
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC};
	nanosleep(&ts, NULL);
}

static int rendezvous(struct zipc_mesh_guards *g)
{
	struct mesh_hdr want;
	build_hdr(&g->cfg, &want);
	int rc;
	if (g->cfg.mode != ZIPC_MESH_CLUSTER || g->proc == 0) {
		struct zipc_region_opts o = {.size = want.total, .kind = ZIPC_KIND_MESH, .init = mesh_init_area,
					     .init_arg = &want};
		if (g->cfg.mode != ZIPC_MESH_CLUSTER)
			o.flags = ZIPC_REGION_ANONYMOUS;
		rc = zipc_region_create(g->cfg.mode == ZIPC_MESH_CLUSTER ? g->name : NULL, &o, &g->region);
		if (rc)
			return rc;
	} else {
		int64_t deadline = zipc_now_ns() + g->cfg.timeout_ns;
		for (;;) {
			rc = zipc_region_attach(g->name, 0, &g->region);
			if (rc == 0)
				break;
			if (rc != -ENOENT && rc != -EOWNERDEAD && rc != -EAGAIN)
				return rc;
			if (zipc_now_ns() > deadline)
				return rc == -EOWNERDEAD ? rc : -ETIMEDOUT;
			sleep_ns(2 * ZIPC_MSEC);
		}
	}
	g->area = zipc_region_area(g->region);
	g->hdr = (struct mesh_hdr *)(void *)g->area;
	if (zipc_region_header(g->region)->kind != ZIPC_KIND_MESH)
		return -EMEDIUMTYPE;
	if ((rc = mesh_hdr_check(g->hdr, zipc_region_area_size(g->region))))
		return rc;
	struct mesh_hdr *h = g->hdr;
	if (h->workers != want.workers || h->processes != want.processes || h->threads != want.threads ||
	    h->max_channels != want.max_channels || h->max_message != want.max_message ||
	    h->capacity != want.capacity)
		return -EINVAL; /* another geometry than ours */
	struct mesh_proc *me = proc_at(g, g->proc);
	int32_t pid = atomic_load_explicit(&me->pid, memory_order_relaxed);
	if (pid > 0 && pid != getpid() && atomic_load_explicit(&me->state, memory_order_acquire) == PROC_RUNNING &&
	    zipc_pid_alive(pid, atomic_load_explicit(&me->start, memory_order_relaxed)))
		return -EBUSY;
	atomic_store_explicit(&me->start, zipc_pid_start_ticks(getpid()), memory_order_relaxed);
	atomic_store_explicit(&me->pid, getpid(), memory_order_relaxed);
	/* release: pairs with proc_dead()'s acquire (pid and start visible) */
	atomic_store_explicit(&me->state, PROC_RUNNING, memory_order_release);
	return 0;
}

/* ------------------------------------------------------------- channels */

static int ring_name(const struct zipc_mesh_guards *g, char *buf, size_t cap, uint32_t ch, uint32_t i, uint32_t j)
{
	int n = snprintf(buf, cap, "%s.c%u.%u.%u", g->name, ch, i, j);
	return n > 0 && (size_t)n < cap && n <= ZIPC_NAME_MAX ? 0 : -ENAMETOOLONG;
}

static void chan_free(struct zipc_mesh_guards *g, struct mesh_chan *c)
{
	if (c->rings)
		for (uint32_t i = 0; i < g->n * g->n; i++)
			zipc_ring_close(c->rings[i]);
	free(c->rings);
	free(c);
}

/* Attach ring (i -> j), created by j's process, waiting for it. */
static int ring_wait_attach(struct zipc_mesh_guards *g, uint32_t ch, uint32_t k, uint32_t i, uint32_t j,
			    zipc_ring **out)
{
	char name[ZIPC_NAME_MAX + 16];
	int rc = ring_name(g, name, sizeof(name), ch, i, j);
	if (rc)
		return rc;
	int64_t deadline = zipc_now_ns() + g->cfg.timeout_ns;
	*out = NULL;
	for (;;) {
		rc = zipc_ring_attach(name, 0, out);
		if (rc == 0)
			break;
		if (rc != -ENOENT && rc != -EOWNERDEAD && rc != -EAGAIN)
			return rc;
		if (proc_dead(g, j / g->k))
			return -EOWNERDEAD;
		if (worker_done(g, j))
			return 0; /* finished without this channel: the sender is closed */
		if ((rc = order_check(g, k, ch)))
			return rc;
		if (zipc_now_ns() > deadline)
			return -ETIMEDOUT;
		sleep_ns(ZIPC_MSEC);
	}
	if (zipc_ring_capacity(*out) != g->cfg.capacity ||
	    zipc_ring_slot_size(*out) != g->cfg.max_message + ZIPC_MESH_MSG_HDR) {
		zipc_ring_close(*out);
		*out = NULL;
		return -EPROTO;
	}
	return 0;
}

static int chan_build(struct zipc_mesh_guards *g, struct mesh_chan *c, uint32_t k)
{
	uint32_t n = g->n;
	c->rings = calloc((size_t)n * n, sizeof(*c->rings));
	if (!c->rings)
		return -ENOMEM;
	struct zipc_ring_opts o = {.capacity = g->cfg.capacity, .slot_size = g->cfg.max_message + ZIPC_MESH_MSG_HDR,
				   .max_producers = 1, .max_consumers = 1, .wait = g->cfg.wait};
	char name[ZIPC_NAME_MAX + 16];
	int rc;
	/* first the rings ending here (so peers waiting for them progress) */
	for (uint32_t j = 0; j < n; j++) {
		if (!is_local(g, j))
			continue;
		for (uint32_t i = 0; i < n; i++) {
			if (is_local(g, i)) {
				o.region_flags = ZIPC_REGION_ANONYMOUS;
				rc = zipc_ring_create(NULL, &o, &c->rings[i * n + j]);
			} else {
				o.region_flags = 0;
				if ((rc = ring_name(g, name, sizeof(name), c->id, i, j)) == 0)
					rc = zipc_ring_create(name, &o, &c->rings[i * n + j]);
			}
			if (rc)
				return rc;
		}
	}
	/* then the rings from here to other processes */
	for (uint32_t i = 0; i < n; i++) {
		if (!is_local(g, i))
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (!is_local(g, j) && (rc = ring_wait_attach(g, c->id, k, i, j, &c->rings[i * n + j])))
				return rc;
	}
	return 0;
}

static int chan_get(struct zipc_mesh_guards *g, uint32_t id, uint32_t k, struct mesh_chan **out)
{
	pthread_mutex_lock(&g->lock);
	struct mesh_chan *c;
	for (c = g->chans; c; c = c->next)
		if (c->id == id)
			break;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			pthread_mutex_unlock(&g->lock);
			return -ENOMEM;
		}
		c->id = id;
		c->err = chan_build(g, c, k);
		c->next = g->chans;
		g->chans = c;
	}
	int rc = c->err;
	pthread_mutex_unlock(&g->lock);
	*out = c;
	return rc;
}

static void wchan_close(struct wchan *c, uint32_t n);

int zipc_mesh_allocate(zipc_mesh_worker *w, uint32_t channel, zipc_mesh_sender **senders,
		       zipc_mesh_receiver **receiver)
{
	if (!w || !senders || !receiver)
		return -EINVAL;
	struct zipc_mesh_guards *g = w->g;
	uint32_t n = g->n, me = w->index;
	for (uint32_t i = 0; i < w->nchans; i++)
		if (w->chans[i]->id == channel)
			return -EEXIST;
	uint32_t k = w->nchans;
	if (k >= g->cfg.max_channels)
		return -ENOSPC;
	struct mesh_wlog *log = wlog_at(g, me);
	atomic_store_explicit(&log->ids[k], channel, memory_order_relaxed);
	/* release: the id before the count; pairs with order_check()'s acquire */
	atomic_store_explicit(&log->nalloc, k + 1, memory_order_release);
	int rc = order_check(g, k, channel);
	if (rc)
		return rc;
	struct mesh_chan *mc;
	if ((rc = chan_get(g, channel, k, &mc)))
		return rc;

	struct wchan **grown = realloc(w->chans, (k + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	w->chans = grown;
	struct wchan *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->id = channel;
	c->k = k;
	c->senders = calloc(n, sizeof(*c->senders));
	c->rx.cons = calloc(n, sizeof(*c->rx.cons));
	c->rx.seqno = calloc(n, sizeof(*c->rx.seqno));
	if (!c->senders || !c->rx.cons || !c->rx.seqno) {
		rc = -ENOMEM;
		goto fail;
	}
	struct zipc_wait_opts wo = {.strategy = g->cfg.wait};
	for (uint32_t j = 0; j < n; j++) {
		zipc_mesh_sender *s = &c->senders[j];
		s->w = w, s->c = c, s->to = j, s->cnt = cnt_at(g, me, k, j);
		zipc_ring *r = mc->rings[me * n + j];
		if (r && (rc = zipc_producer_open(r, &wo, &s->p)))
			goto fail;
	}
	c->rx.w = w, c->rx.c = c;
	for (uint32_t i = 0; i < n; i++) {
		zipc_ring *r = mc->rings[i * n + me];
		if (!r) {
			rc = -EPROTO;
			goto fail;
		}
		if ((rc = zipc_consumer_open(r, &wo, &c->rx.cons[i])))
			goto fail;
		c->rx.live++;
	}
	w->chans[w->nchans++] = c;
	for (uint32_t j = 0; j < n; j++)
		senders[j] = &c->senders[j];
	*receiver = &c->rx;
	emit(g, ZIPC_MESH_EV_ALLOCATE, channel, me, me, 0, 0);
	return 0;
fail:
	if (c->senders && c->rx.cons)
		wchan_close(c, n);
	free(c->senders);
	free(c->rx.cons);
	free(c->rx.seqno);
	free(c);
	return rc;
}

/* ------------------------------------------------------------------ push */

int64_t zipc_mesh_claim(zipc_mesh_sender *s, void **buf, int64_t timeout_ns)
{
	if (!s || !buf)
		return -EINVAL;
	if (!s->p)
		return -EPIPE;
	struct zipc_mesh_guards *g = s->w->g;
	if (!s->claimed) {
		int rc = zipc_producer_try_claim(s->p, 1, &s->seq);
		if (rc == -EAGAIN && timeout_ns != 0) {
			int64_t deadline = timeout_ns < 0 ? INT64_MAX : zipc_now_ns() + timeout_ns;
			for (;;) {
				int64_t left = deadline - zipc_now_ns();
				if (left <= 0) {
					rc = -ETIMEDOUT;
					break;
				}
				rc = zipc_producer_claim(s->p, 1, left < 10 * ZIPC_MSEC ? left : 10 * ZIPC_MSEC, &s->seq);
				if (rc != -ETIMEDOUT)
					break;
				if (proc_dead(g, s->to / g->k)) {
					rc = -EOWNERDEAD;
					break;
				}
			}
		}
		if (rc)
			return rc;
		s->claimed = 1;
	}
	*buf = (unsigned char *)zipc_producer_slot(s->p, s->seq) + ZIPC_MESH_MSG_HDR;
	return g->cfg.max_message;
}

int zipc_mesh_push(zipc_mesh_sender *s, uint32_t len)
{
	if (!s || !s->p || !s->claimed)
		return -EINVAL;
	struct zipc_mesh_guards *g = s->w->g;
	if (len > g->cfg.max_message)
		return -EINVAL;
	uint32_t *hdr = zipc_producer_slot(s->p, s->seq);
	hdr[0] = len;
	hdr[1] = 0;
	int rc = zipc_producer_publish(s->p, s->seq, 1); /* P1 orders the slot before the stamp */
	if (rc)
		return rc;
	s->claimed = 0;
	cnt_add(&s->cnt->msgs_sent, 1);
	cnt_add(&s->cnt->bytes_sent, len);
	emit(g, ZIPC_MESH_EV_SEND, s->c->id, s->w->index, s->to, s->seqno, len);
	s->seqno++;
	return 0;
}

int zipc_mesh_send_bytes(zipc_mesh_sender *s, const void *data, size_t len, int64_t timeout_ns)
{
	if (!s || (!data && len))
		return -EINVAL;
	if (len > s->w->g->cfg.max_message)
		return -EMSGSIZE;
	void *buf;
	int64_t cap = zipc_mesh_claim(s, &buf, timeout_ns);
	if (cap < 0)
		return (int)cap;
	if (len)
		memcpy(buf, data, len);
	return zipc_mesh_push(s, (uint32_t)len);
}

int zipc_mesh_send(zipc_mesh_sender *s, const void *obj, zipc_mesh_ser_fn ser, void *ctx, int64_t timeout_ns)
{
	if (!s || !ser)
		return -EINVAL;
	void *buf;
	int64_t cap = zipc_mesh_claim(s, &buf, timeout_ns);
	if (cap < 0)
		return (int)cap;
	int64_t len = ser(obj, buf, (size_t)cap, ctx);
	if (len < 0)
		return (int)len; /* the claim stays for the next send */
	if (len > cap)
		return -EINVAL;
	return zipc_mesh_push(s, (uint32_t)len);
}

int zipc_mesh_sender_close(zipc_mesh_sender *s)
{
	if (!s || !s->p)
		return 0;
	zipc_producer_close(s->p); /* the last producer of an SP ring: end of stream */
	s->p = NULL;
	s->claimed = 0;
	emit(s->w->g, ZIPC_MESH_EV_CLOSE, s->c->id, s->w->index, s->to, s->seqno, 0);
	return 0;
}

/* ------------------------------------------------------------------ pull */

static void rx_drop(zipc_mesh_receiver *r, uint32_t i)
{
	if (r->ws)
		zipc_waitset_remove(r->ws, i);
	zipc_consumer_close(r->cons[i]);
	r->cons[i] = NULL;
	r->live--;
}

int zipc_mesh_recycle(zipc_mesh_receiver *r)
{
	if (!r)
		return -EINVAL;
	if (r->held) {
		r->held = 0;
		if (r->cons[r->held_from])
			zipc_consumer_release(r->cons[r->held_from], 1);
	}
	return 0;
}

/* Incoming ring @i is empty: is its sender gone for good? */
static int rx_source_gone(zipc_mesh_receiver *r, uint32_t i)
{
	struct zipc_mesh_guards *g = r->w->g;
	uint64_t seq;
	if (worker_done(g, i)) {
		/* every end it opened is closed (visible after the acquire): a
		 * ring still "empty" was never opened by it: end of stream */
		if (zipc_consumer_try_peek(r->cons[i], &seq) == -EAGAIN)
			return -EPIPE;
		return 0;
	}
	if (proc_dead(g, i / g->k) && zipc_consumer_try_peek(r->cons[i], &seq) == -EAGAIN)
		return -EOWNERDEAD;
	return 0;
}

static int rx_wait(zipc_mesh_receiver *r, int64_t slice)
{
	struct zipc_mesh_guards *g = r->w->g;
	if (!r->ws && !r->ws_failed) {
		if (zipc_waitset_create(NULL, &r->ws) == 0) {
			for (uint32_t i = 0; i < g->n; i++)
				if (r->cons[i] && zipc_waitset_add_consumer(r->ws, r->cons[i], i)) {
					zipc_waitset_close(r->ws);
					r->ws = NULL;
					break;
				}
		}
		r->ws_failed = !r->ws;
	}
	if (!r->ws) {
		sched_yield();
		sleep_ns(50 * ZIPC_USEC);
		return 0;
	}
	struct zipc_waitset_event ev[8];
	int ne = zipc_waitset_wait(r->ws, slice, ev, 8);
	for (int e = 0; e < ne; e++)
		if (ev[e].status == -EOWNERDEAD)
			return 1; /* look for dead peers now */
	return 0;
}

int zipc_mesh_pull(zipc_mesh_receiver *r, struct zipc_mesh_msg *m, int64_t timeout_ns)
{
	if (!r || !m || r->closed)
		return -EINVAL;
	struct zipc_mesh_guards *g = r->w->g;
	uint32_t n = g->n;
	zipc_mesh_recycle(r);
	int64_t deadline = 0;
	for (;;) {
		for (uint32_t t = 0; t < n && r->live; t++) {
			uint32_t i = (r->next + t) % n;
			if (!r->cons[i])
				continue;
			uint64_t seq;
			int64_t c = zipc_consumer_try_peek(r->cons[i], &seq);
			if (c > 0) {
				const uint32_t *hdr = zipc_consumer_slot(r->cons[i], seq);
				uint32_t len = hdr[0];
				if (len > g->cfg.max_message)
					return -EPROTO;
				m->data = hdr + ZIPC_MESH_MSG_HDR / 4;
				m->len = len;
				m->from = i;
				r->held = 1;
				r->held_from = i;
				r->next = (i + 1) % n;
				struct mesh_cnt *ct = cnt_at(g, r->w->index, r->c->k, i);
				cnt_add(&ct->msgs_recv, 1);
				cnt_add(&ct->bytes_recv, len);
				emit(g, ZIPC_MESH_EV_RECV, r->c->id, i, r->w->index, r->seqno[i]++, len);
				return 0;
			}
			if (c == -EPIPE) {
				rx_drop(r, i);
				continue;
			}
			if (c == -ENOMSG) { /* SP rings have none; skip defensively */
				zipc_consumer_release(r->cons[i], 1);
				continue;
			}
			if (c != -EAGAIN)
				return (int)c;
		}
		if (!r->live)
			return -EPIPE;
		int64_t now = zipc_now_ns();
		int check = now >= r->next_live_ns;
		if (check) {
			r->next_live_ns = now + 10 * ZIPC_MSEC;
			for (uint32_t i = 0; i < n; i++) {
				if (!r->cons[i])
					continue;
				int rc = rx_source_gone(r, i);
				if (rc == -EPIPE)
					rx_drop(r, i);
				else if (rc)
					return rc;
			}
			if (!r->live)
				return -EPIPE;
		}
		if (timeout_ns == 0)
			return -EAGAIN;
		if (!deadline)
			deadline = timeout_ns < 0 ? INT64_MAX : now + timeout_ns;
		if (now >= deadline)
			return -ETIMEDOUT;
		int64_t slice = r->next_live_ns - now;
		if (slice > deadline - now)
			slice = deadline - now;
		if (slice < ZIPC_USEC)
			slice = ZIPC_USEC;
		if (rx_wait(r, slice))
			r->next_live_ns = 0;
	}
}

int zipc_mesh_recv(zipc_mesh_receiver *r, void *obj, zipc_mesh_de_fn de, void *ctx, uint32_t *from,
		   int64_t timeout_ns)
{
	if (!de)
		return -EINVAL;
	struct zipc_mesh_msg m;
	int rc = zipc_mesh_pull(r, &m, timeout_ns);
	if (rc)
		return rc;
	if (from)
		*from = m.from;
	rc = de(m.data, m.len, obj, ctx);
	zipc_mesh_recycle(r);
	return rc;
}

int zipc_mesh_receiver_close(zipc_mesh_receiver *r)
{
	if (!r || r->closed)
		return 0;
	zipc_mesh_recycle(r);
	if (r->ws) {
		zipc_waitset_close(r->ws);
		r->ws = NULL;
	}
	for (uint32_t i = 0; i < r->w->g->n; i++) {
		zipc_consumer_close(r->cons[i]);
		r->cons[i] = NULL;
	}
	r->live = 0;
	r->closed = 1;
	return 0;
}

static void wchan_close(struct wchan *c, uint32_t n)
{
	for (uint32_t j = 0; j < n; j++)
		if (c->senders[j].p) {
			zipc_producer_close(c->senders[j].p);
			c->senders[j].p = NULL;
		}
	if (c->rx.w)
		zipc_mesh_receiver_close(&c->rx);
	else
		for (uint32_t i = 0; i < n; i++)
			zipc_consumer_close(c->rx.cons[i]);
}

/* ------------------------------------------------------------- counters */

int zipc_mesh_counters(const zipc_mesh_worker *w, uint32_t channel, uint32_t peer, struct zipc_mesh_counters *out)
{
	if (!w || !out || peer >= w->g->n)
		return -EINVAL;
	for (uint32_t i = 0; i < w->nchans; i++) {
		if (w->chans[i]->id != channel)
			continue;
		struct mesh_cnt *c = cnt_at(w->g, w->index, w->chans[i]->k, peer);
		*out = (struct zipc_mesh_counters){
			.worker = w->index, .channel = channel, .peer = peer,
			.msgs_sent = atomic_load_explicit(&c->msgs_sent, memory_order_relaxed),
			.bytes_sent = atomic_load_explicit(&c->bytes_sent, memory_order_relaxed),
			.msgs_recv = atomic_load_explicit(&c->msgs_recv, memory_order_relaxed),
			.bytes_recv = atomic_load_explicit(&c->bytes_recv, memory_order_relaxed)};
		return 0;
	}
	return -ENOENT;
}

int zipc_mesh_stat(const zipc_region *reg, struct zipc_mesh_stat *st, struct zipc_mesh_counters *out, unsigned max)
{
	if (!reg || (!out && max))
		return -EINVAL;
	if (zipc_region_header(reg)->kind != ZIPC_KIND_MESH)
		return -EMEDIUMTYPE;
	const unsigned char *area = zipc_region_area(reg);
	uint64_t size = zipc_region_area_size(reg);
	if (size < sizeof(struct mesh_hdr))
		return -ENODATA;
	struct mesh_hdr h;
	memcpy(&h, area, sizeof(h));
	int rc = mesh_hdr_check(&h, size);
	if (rc)
		return rc;
	if (st) {
		memset(st, 0, sizeof(*st));
		st->workers = h.workers, st->processes = h.processes, st->threads = h.threads;
		st->max_channels = h.max_channels, st->capacity = h.capacity, st->max_message = h.max_message;
		for (uint32_t p = 0; p < h.processes; p++) {
			const struct mesh_proc *e = (const struct mesh_proc *)(const void *)(area + h.procs_off) + p;
			uint32_t s = atomic_load_explicit((_Atomic uint32_t *)&e->state, memory_order_acquire);
			int32_t pid = atomic_load_explicit((_Atomic int32_t *)&e->pid, memory_order_relaxed);
			if (s == PROC_DONE)
				st->procs_done++;
			else if (s == PROC_RUNNING && pid > 0) {
				if (zipc_pid_alive(pid, atomic_load_explicit((_Atomic uint64_t *)&e->start,
									    memory_order_relaxed)))
					st->procs_running++;
				else
					st->procs_dead++;
			}
		}
	}
	unsigned found = 0;
	for (uint32_t w = 0; w < h.workers; w++) {
		const struct mesh_wlog *l = (const void *)(area + h.logs_off + h.log_stride * w);
		uint32_t na = atomic_load_explicit((_Atomic uint32_t *)&l->nalloc, memory_order_acquire);
		if (na > h.max_channels)
			na = h.max_channels; /* corrupted: clamp */
		for (uint32_t k = 0; k < na; k++) {
			uint32_t id = atomic_load_explicit((_Atomic uint32_t *)&l->ids[k], memory_order_relaxed);
			for (uint32_t p = 0; p < h.workers; p++) {
				const struct mesh_cnt *c = (const struct mesh_cnt *)(const void *)(area + h.cnt_off) +
							   ((uint64_t)w * h.max_channels + k) * h.workers + p;
				struct zipc_mesh_counters v = {
					.worker = w, .channel = id, .peer = p,
					.msgs_sent = atomic_load_explicit((_Atomic uint64_t *)&c->msgs_sent, memory_order_relaxed),
					.bytes_sent = atomic_load_explicit((_Atomic uint64_t *)&c->bytes_sent, memory_order_relaxed),
					.msgs_recv = atomic_load_explicit((_Atomic uint64_t *)&c->msgs_recv, memory_order_relaxed),
					.bytes_recv = atomic_load_explicit((_Atomic uint64_t *)&c->bytes_recv, memory_order_relaxed)};
				if (!v.msgs_sent && !v.msgs_recv)
					continue;
				if (found < max)
					out[found] = v;
				found++;
			}
		}
	}
	return found > INT32_MAX ? INT32_MAX : (int)found;
}

/* --------------------------------------------------------------- workers */

uint32_t zipc_mesh_index(const zipc_mesh_worker *w)
{
	return w ? w->index : 0;
}

uint32_t zipc_mesh_peers(const zipc_mesh_worker *w)
{
	return w ? w->g->n : 0;
}

zipc_region *zipc_mesh_region(const zipc_mesh_guards *g)
{
	return g ? g->region : NULL;
}

static void worker_finish(zipc_mesh_worker *w)
{
	struct zipc_mesh_guards *g = w->g;
	for (uint32_t i = 0; i < w->nchans; i++)
		for (uint32_t j = 0; j < g->n; j++)
			zipc_mesh_sender_close(&w->chans[i]->senders[j]);
	for (uint32_t i = 0; i < w->nchans; i++)
		zipc_mesh_receiver_close(&w->chans[i]->rx);
	/* release: our producer closes before `done`; pairs with worker_done() */
	atomic_store_explicit(&wlog_at(g, w->index)->done, 1, memory_order_release);
}

static void *worker_main(void *arg)
{
	zipc_mesh_worker *w = arg;
	w->rc = w->g->fn(w, w->g->arg, &w->result);
	worker_finish(w);
	return NULL;
}

static void guards_free(struct zipc_mesh_guards *g)
{
	if (g->workers) {
		for (uint32_t t = 0; t < g->k; t++) {
			zipc_mesh_worker *w = &g->workers[t];
			for (uint32_t i = 0; i < w->nchans; i++) {
				struct wchan *c = w->chans[i];
				wchan_close(c, g->n);
				free(c->senders);
				free(c->rx.cons);
				free(c->rx.seqno);
				free(c);
			}
			free(w->chans);
		}
	}
	while (g->chans) {
		struct mesh_chan *c = g->chans;
		g->chans = c->next;
		chan_free(g, c);
	}
	zipc_region_close(g->region);
	pthread_mutex_destroy(&g->lock);
	free(g->workers);
	free(g);
}

int zipc_mesh_initialize(const struct zipc_mesh_config *cfg, zipc_mesh_fn fn, void *arg, zipc_mesh_guards **out)
{
	if (!cfg || !fn || !out)
		return -EINVAL;
	struct zipc_mesh_guards *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	int rc = config_resolve(cfg, &g->cfg);
	if (rc) {
		guards_free(g);
		return rc;
	}
	if (g->cfg.mode == ZIPC_MESH_CLUSTER)
		snprintf(g->name, sizeof(g->name), "%s", g->cfg.name);
	g->cfg.name = g->name;
	g->k = g->cfg.threads;
	g->p = g->cfg.processes;
	g->proc = g->cfg.process;
	g->n = g->k * g->p;
	g->fn = fn;
	g->arg = arg;
	if ((rc = rendezvous(g))) {
		guards_free(g);
		return rc;
	}
	g->workers = calloc(g->k, sizeof(*g->workers));
	if (!g->workers) {
		guards_free(g);
		return -ENOMEM;
	}
	for (uint32_t t = 0; t < g->k; t++) {
		zipc_mesh_worker *w = &g->workers[t];
		w->g = g;
		w->index = g->proc * g->k + t;
	}
	for (uint32_t t = 0; t < g->k; t++) {
		zipc_mesh_worker *w = &g->workers[t];
		if ((rc = -pthread_create(&w->th, NULL, worker_main, w)))
			break;
		w->started = 1;
	}
	if (rc) {
		/* workers already running see the missing ones as finished */
		for (uint32_t t = 0; t < g->k; t++)
			if (!g->workers[t].started)
				atomic_store_explicit(&wlog_at(g, g->workers[t].index)->done, 1, memory_order_release);
		for (uint32_t t = 0; t < g->k; t++)
			if (g->workers[t].started)
				pthread_join(g->workers[t].th, NULL);
		guards_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* Wait until every other process finished (or died / never came). */
static int barrier(struct zipc_mesh_guards *g)
{
	int64_t deadline = zipc_now_ns() + g->cfg.timeout_ns;
	int rc = 0;
	for (uint32_t p = 0; p < g->p; p++) {
		if (p == g->proc)
			continue;
		struct mesh_proc *e = proc_at(g, p);
		for (;;) {
			uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
			if (st == PROC_DONE)
				break;
			if (proc_dead(g, p)) {
				rc = rc ? rc : -EOWNERDEAD;
				break;
			}
			if (st == PROC_ABSENT && zipc_now_ns() > deadline) {
				rc = rc ? rc : -ETIMEDOUT;
				break;
			}
			sleep_ns(ZIPC_MSEC);
		}
	}
	return rc;
}

int zipc_mesh_join(zipc_mesh_guards *g, struct zipc_mesh_result *results, unsigned max)
{
	if (!g || (!results && max))
		return -EINVAL;
	int rc = 0;
	for (uint32_t t = 0; t < g->k; t++) {
		zipc_mesh_worker *w = &g->workers[t];
		pthread_join(w->th, NULL);
		if (t < max)
			results[t] = (struct zipc_mesh_result){.index = w->index, .rc = w->rc, .value = w->result};
		if (w->rc && !rc)
			rc = w->rc;
	}
	/* release: pairs with proc_dead() / barrier() acquire in the others */
	atomic_store_explicit(&proc_at(g, g->proc)->state, PROC_DONE, memory_order_release);
	if (g->cfg.mode == ZIPC_MESH_CLUSTER) {
		int brc = barrier(g);
		if (!rc)
			rc = brc;
	}
	guards_free(g);
	return rc;
}
