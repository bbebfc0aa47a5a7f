/* SPDX-License-Identifier: MIT */
/*
 * pool/client.c - a pool client: its slot in the directory, its response
 * ring, one producer on every request ring, and the batch exchange.
 *
 * Credit rule: a client never has more requests in flight than its
 * response ring has slots, so a pool thread always finds room for a
 * response and never waits on a client that follows the protocol (a thread
 * waiting on one client would stall every other client of that thread).
 * A batch larger than that is sent as responses come back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ring/ring_int.h"
#include "../shm/shm_pvt.h"
#include "pool_int.h"

#define DEFAULT_CAPACITY 1024u
#define DEFAULT_SPIN_NS 20000
#define DEFAULT_OPEN_NS (30 * ZIPC_SEC)
/* A waiting client checks the pool's state and the server's life this often. */
#define SLICE_NS (100 * ZIPC_MSEC)
/* Most requests sent with one claim and one publish. */
#define CHUNK 64u
#define NONE SIZE_MAX

struct zipc_pool_client {
	zipc_region *dir_region;
	struct pool_dir *dir;
	struct pool_params p;          /* validated private copy */
	char name[ZIPC_NAME_MAX + 1];  /* the pool's name ("" if anonymous) */
	zipc_ring **req;               /* p.threads request rings (our mappings) */
	zipc_producer **prod;          /* our producer on each */
	zipc_ring *rsp;                /* our response ring */
	zipc_consumer *cons;
	unsigned slot;                 /* our client slot */
	uint32_t gen;                  /* its generation (0: no slot) */
	int32_t pid;
	uint32_t capacity;             /* response ring slots = most requests in flight */
	uint64_t inflight;             /* requests sent and not yet answered (any call) */
	uint64_t next_tag;
	int64_t spin_ns;               /* spin before sleeping, when few responses are due */
	int broken;                    /* sticky error: the server died (-EOWNERDEAD) */
	int registered;
	/* per-call scratch, kept between calls */
	unsigned char *answered;
	uint64_t *offs;
	size_t *nxt;
	size_t scratch_n;
	unsigned char *arena;
	size_t arena_len, arena_cap;
};

/* ------------------------------------------------------------ exchange */

static int pool_gone(const struct zipc_pool_client *c)
{
	/* S1: acquire pairs with the closer's release */
	if (atomic_load_explicit(&c->dir->ctl.state, memory_order_acquire) == POOL_CLOSED)
		return -ESHUTDOWN;
	if (!zipc_pid_alive(c->p.server_pid, c->p.server_start))
		return -EOWNERDEAD;
	return 0;
}

static int scratch_reserve(struct zipc_pool_client *c, size_t n)
{
	if (n > SIZE_MAX / sizeof(uint64_t))
		return -ENOMEM;
	if (n > c->scratch_n) {
		unsigned char *a = malloc(n);
		uint64_t *o = malloc(n * sizeof(*o));
		size_t *x = malloc(n * sizeof(*x));
		if (!a || !o || !x) {
			free(a);
			free(o);
			free(x);
			return -ENOMEM;
		}
		free(c->answered);
		free(c->offs);
		free(c->nxt);
		c->answered = a;
		c->offs = o;
		c->nxt = x;
		c->scratch_n = n;
	}
	memset(c->answered, 0, n);
	c->arena_len = 0;
	return 0;
}

/* Copy @len payload bytes into the arena (8-byte aligned); offset or -ENOMEM. */
static int64_t arena_put(struct zipc_pool_client *c, const void *data, uint32_t len)
{
	size_t off = (c->arena_len + 7) & ~(size_t)7;
	if (off + len > c->arena_cap) {
		size_t cap = c->arena_cap ? c->arena_cap : 4096;
		while (cap < off + len)
			cap *= 2;
		unsigned char *a = realloc(c->arena, cap);
		if (!a)
			return -ENOMEM;
		c->arena = a;
		c->arena_cap = cap;
	}
	memcpy(c->arena + off, data, len);
	c->arena_len = off + len;
	return (int64_t)off;
}

struct batch {
	const struct zipc_pool_req *reqs;
	struct zipc_pool_rsp *rsps;
	size_t n;
	uint64_t base; /* tag of reqs[0] */
	size_t got;
	size_t unsent;
	int shut;      /* a thread answered -ESHUTDOWN */
	/* the unsent requests of each thread, in request order: a list
	 * through c->nxt from head[t] (NONE: none) */
	size_t head[ZIPC_POOL_MAX_THREADS];
};

/*
 * Send up to @max of thread @t's unsent requests, in request order, with
 * one claim and one publish (one wake-up of a sleeping thread).
 * @timeout_ns: as zipc_producer_claim() (0: do not wait).
 * Return: requests sent (> 0), or a negative code (-EAGAIN: no room).
 */
static int64_t send_chunk(struct zipc_pool_client *c, struct batch *b, unsigned t, uint64_t max, int64_t timeout_ns)
{
	zipc_producer *p = c->prod[t];
	if (max > CHUNK)
		max = CHUNK;
	if (max > c->p.queue_capacity)
		max = c->p.queue_capacity;
	uint32_t k = 0;
	for (size_t i = b->head[t]; i != NONE && k < max; i = c->nxt[i])
		k++;
	uint64_t seq;
	int rc = zipc_producer_claim(p, k, timeout_ns, &seq);
	if (rc == -EAGAIN && k > 1)
		rc = zipc_producer_claim(p, k = 1, timeout_ns, &seq);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < k; j++) {
		size_t i = b->head[t];
		const struct zipc_pool_req *r = &b->reqs[i];
		unsigned char *s = zipc_producer_slot(p, seq + j);
		struct pool_msg m = {
			.id = r->id,
			.tag = b->base + i,
			.kind = r->kind,
			.client = c->slot,
			.gen = c->gen,
			.len = r->len,
		};
		memcpy(s, &m, sizeof(m));
		if (r->len)
			memcpy(s + sizeof(m), r->data, r->len);
		b->head[t] = c->nxt[i];
	}
	b->unsent -= k;
	c->inflight += k;
	zipc_producer_publish(p, seq, k); /* P1: the slots before their stamps */
	return k;
}

/*
 * Send every request the rings and our credit take without waiting, a
 * chunk per thread in turn.  Return: 1 if any was sent, 0, or a code.
 */
static int send_ready(struct zipc_pool_client *c, struct batch *b)
{
	int sent = 0, more = 1;
	while (more && b->unsent && c->inflight < c->capacity) {
		more = 0;
		for (unsigned t = 0; t < c->p.threads && c->inflight < c->capacity; t++) {
			if (b->head[t] == NONE)
				continue;
			int64_t k = send_chunk(c, b, t, c->capacity - c->inflight, 0);
			if (k == -EAGAIN)
				continue;
			if (k < 0)
				return (int)k;
			sent = more = 1;
		}
	}
	return sent;
}

/* One response slot: file it under its request, or drop it if stale. */
static void take(struct zipc_pool_client *c, struct batch *b, const unsigned char *s)
{
	struct pool_msg m;
	memcpy(&m, s, sizeof(m)); /* read once: the server's memory */
	if (m.client != c->slot || m.gen != c->gen)
		return; /* not addressed to us: no credit was taken for it */
	if (c->inflight)
		c->inflight--;
	uint64_t i = m.tag - b->base;
	if (m.tag < b->base || i >= b->n || c->answered[i])
		return; /* the late answer of an earlier call that gave up (or a duplicate) */
	struct zipc_pool_rsp *r = &b->rsps[i];
	r->id = m.id;
	r->kind = m.kind;
	r->status = m.status;
	r->flags = m.flags & ZIPC_POOL_RSP_POOL;
	r->len = 0;
	r->data = NULL;
	c->offs[i] = 0;
	if (m.len > c->p.max_payload) {
		r->status = -EPROTO, r->flags = ZIPC_POOL_RSP_POOL;
	} else if (m.len) {
		int64_t off = arena_put(c, s + sizeof(m), m.len);
		if (off < 0) {
			r->status = (int32_t)off, r->flags = ZIPC_POOL_RSP_POOL;
		} else {
			r->len = m.len;
			c->offs[i] = (uint64_t)off;
		}
	}
	if ((r->flags & ZIPC_POOL_RSP_POOL) && r->status == -ESHUTDOWN)
		b->shut = 1;
	c->answered[i] = 1;
	b->got++;
}

/* Read every response ready now.  Return: count taken, or a negative code. */
static int64_t drain(struct zipc_pool_client *c, struct batch *b)
{
	int64_t taken = 0;
	for (;;) {
		uint64_t seq;
		int64_t k = zipc_consumer_try_peek(c->cons, &seq);
		if (k == -EAGAIN)
			return taken;
		if (k == -ENOMSG) { /* a server thread died mid-publish */
			zipc_consumer_release(c->cons, 1);
			continue;
		}
		if (k < 0)
			return taken ? taken : k; /* the error shows again at the next look */
		for (int64_t j = 0; j < k; j++) {
			take(c, b, zipc_consumer_slot(c->cons, seq + (uint64_t)j));
			zipc_consumer_release(c->cons, 1); /* C2: done with the slot */
		}
		taken += k;
	}
}

/* Map a ring code met while waiting for the pool. */
static int pool_code(int64_t rc)
{
	if (rc == -EPIPE)
		return -ESHUTDOWN; /* every pool thread closed its producer: it stopped */
	return (int)rc;
}

/*
 * Wait up to @slice for a response.  When few are due (a single call's
 * round trip) spin spin_ns first; while a batch is in flight sleep at once:
 * its responses take a while, and a spinning caller would take a core from
 * the pool threads.
 */
static int64_t wait_rsp(struct zipc_pool_client *c, int64_t slice)
{
	uint64_t seq;
	if (c->spin_ns > 0 && c->inflight <= c->p.threads) {
		int64_t until = zipc_now_ns() + c->spin_ns;
		unsigned i = 0;
		do {
			int64_t k = zipc_consumer_try_peek(c->cons, &seq);
			if (k != -EAGAIN)
				return k;
			zipc__cpu_relax();
		} while ((++i & 63) || zipc_now_ns() < until);
	}
	return zipc_consumer_wait(c->cons, slice, &seq); /* sleeps after a few checks */
}

/*
 * Send @n requests and collect their responses (see
 * zipc_pool_send_and_receive()).  Internal kinds are allowed here.
 */
static int exchange(struct zipc_pool_client *c, const struct zipc_pool_req *reqs, struct zipc_pool_rsp *rsps,
		    size_t n, int64_t timeout_ns)
{
	int err = c->broken;
	if (!err && atomic_load_explicit(&c->dir->ctl.state, memory_order_acquire) != POOL_RUNNING)
		err = -ESHUTDOWN; /* S1 */
	if (!err)
		err = scratch_reserve(c, n);
	if (err) {
		for (size_t i = 0; i < n; i++)
			rsps[i] = (struct zipc_pool_rsp){.id = reqs[i].id, .kind = reqs[i].kind, .status = err,
							 .flags = ZIPC_POOL_RSP_POOL};
		return err;
	}
	struct batch b = {.reqs = reqs, .rsps = rsps, .n = n, .base = c->next_tag, .unsent = n};
	c->next_tag += n;
	for (unsigned t = 0; t < c->p.threads; t++)
		b.head[t] = NONE;
	for (size_t i = n; i-- > 0;) {
		unsigned t = (unsigned)(reqs[i].id % c->p.threads);
		c->nxt[i] = b.head[t];
		b.head[t] = i;
	}
	int64_t deadline = timeout_ns < 0 ? INT64_MAX : zipc_now_ns() + timeout_ns;
	while (b.got < n) {
		int progress = send_ready(c, &b);
		if (progress < 0) {
			err = pool_code(progress);
			goto fail;
		}
		int64_t k = drain(c, &b);
		if (k < 0) {
			err = pool_code(k);
			goto fail;
		}
		if (b.got == n)
			break;
		if (k > 0 || progress)
			continue;
		int64_t now = zipc_now_ns();
		if (now >= deadline) {
			err = -ETIMEDOUT;
			goto fail;
		}
		int64_t slice = deadline - now < SLICE_NS ? deadline - now : SLICE_NS;
		int64_t rc;
		if (c->inflight > 0) {
			rc = wait_rsp(c, slice); /* responses are due */
			if (rc > 0 || rc == -ENOMSG)
				continue; /* drain() takes it */
		} else {
			/* nothing due to us and a request ring is full of other
			 * clients' requests: wait for room there */
			unsigned t = 0;
			while (b.head[t] == NONE)
				t++;
			rc = send_chunk(c, &b, t, 1, slice);
			if (rc > 0)
				continue;
		}
		if (rc == -ETIMEDOUT) {
			if ((err = pool_gone(c)))
				goto fail;
			continue;
		}
		err = pool_code(rc);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		rsps[i].data = rsps[i].len ? c->arena + c->offs[i] : NULL;
	return b.shut ? -ESHUTDOWN : 0;

fail:
	if (err == -EOWNERDEAD)
		c->broken = err;
	for (size_t i = 0; i < n; i++) {
		if (c->answered[i]) {
			rsps[i].data = rsps[i].len ? c->arena + c->offs[i] : NULL;
			continue;
		}
		rsps[i] = (struct zipc_pool_rsp){.id = reqs[i].id, .kind = reqs[i].kind, .status = err,
						 .flags = ZIPC_POOL_RSP_POOL};
	}
	return err;
}

static int check_reqs(const struct zipc_pool_client *c, const struct zipc_pool_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct zipc_pool_req *r = &reqs[i];
		if (r->kind >= ZIPC_POOL_KIND_RESERVED && r->kind != ZIPC_POOL_ADD && r->kind != ZIPC_POOL_REMOVE)
			return -EINVAL;
		if (r->len && !r->data)
			return -EINVAL;
		if (r->len > c->p.max_payload)
			return -EMSGSIZE;
	}
	return 0;
}

int zipc_pool_send_and_receive(zipc_pool_client *c, const struct zipc_pool_req *reqs, struct zipc_pool_rsp *rsps,
			       size_t n, int64_t timeout_ns)
{
	if (!c || !reqs || !rsps || n == 0)
		return -EINVAL;
	int rc = check_reqs(c, reqs, n);
	if (rc)
		return rc;
	return exchange(c, reqs, rsps, n, timeout_ns);
}

int zipc_pool_call(zipc_pool_client *c, const struct zipc_pool_req *req, struct zipc_pool_rsp *rsp,
		   int64_t timeout_ns)
{
	return zipc_pool_send_and_receive(c, req, rsp, 1, timeout_ns);
}

unsigned zipc_pool_client_threads(const zipc_pool_client *c)
{
	return c ? c->p.threads : 0;
}

uint32_t zipc_pool_client_max_payload(const zipc_pool_client *c)
{
	return c ? c->p.max_payload : 0;
}

/* ------------------------------------------------------------ set-up */

/*
 * Take slot @s if it is free, or (@reclaim) held by a process that died.
 * A failed CAS re-reads the slot: a sweeper or a closing client may just
 * have freed it.  Return: our owner word (O2), or 0; *@was = the old pid.
 */
static uint64_t slot_take(struct pool_client_slot *s, int32_t pid, int reclaim, int32_t *was)
{
	uint64_t o = atomic_load_explicit(&s->owner, memory_order_acquire);
	for (;;) {
		int32_t opid = (int32_t)(uint32_t)o;
		if (opid != 0 &&
		    (!reclaim || zipc_pid_alive(opid, atomic_load_explicit(&s->start, memory_order_relaxed))))
			return 0;
		uint32_t g = (uint32_t)(o >> 32) + 1;
		uint64_t mine = (uint64_t)(g ? g : 1) << 32 | (uint32_t)pid;
		if (atomic_compare_exchange_weak_explicit(&s->owner, &o, mine, memory_order_acq_rel,
							  memory_order_acquire)) {
			*was = opid;
			return mine;
		}
	}
}

/* Take a free client slot, else the slot of a dead client. */
static int slot_claim(struct zipc_pool_client *c)
{
	struct pool_client_slot *slots = pool_slots(c->dir, &c->p);
	for (int reclaim = 0; reclaim < 2; reclaim++) {
		for (unsigned i = 0; i < c->p.max_clients; i++) {
			int32_t was = 0;
			uint64_t mine = slot_take(&slots[i], c->pid, reclaim, &was);
			if (!mine)
				continue;
			if (was == 0)
				atomic_fetch_add_explicit(&c->dir->ctl.clients, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->dir->ctl.client_opens, 1, memory_order_relaxed);
			c->slot = i;
			c->gen = (uint32_t)(mine >> 32);
			return 0;
		}
	}
	return -EBUSY;
}

static void slot_free(struct zipc_pool_client *c)
{
	if (!c->gen)
		return;
	struct pool_client_slot *s = &pool_slots(c->dir, &c->p)[c->slot];
	atomic_store_explicit(&s->fd, -1, memory_order_relaxed);
	uint64_t mine = (uint64_t)c->gen << 32 | (uint32_t)c->pid;
	/* O2; seq_cst: before our descriptor closes (see peer_get()) */
	if (atomic_compare_exchange_strong_explicit(&s->owner, &mine, (uint64_t)c->gen << 32, memory_order_seq_cst,
						    memory_order_relaxed))
		atomic_fetch_sub_explicit(&c->dir->ctl.clients, 1, memory_order_relaxed);
	c->gen = 0;
}

static void client_free(struct zipc_pool_client *c)
{
	if (c->registered && !c->broken) {
		/* tell the threads, without waiting: a full ring is skipped
		 * (the thread then finds our slot moved on at its next sweep) */
		for (unsigned i = 0; c->prod && i < c->p.threads; i++) {
			uint64_t seq;
			if (!c->prod[i] || zipc_producer_try_claim(c->prod[i], 1, &seq))
				continue;
			struct pool_msg m = {.id = i, .kind = POOL_K_UNREGISTER, .client = c->slot, .gen = c->gen};
			memcpy(zipc_producer_slot(c->prod[i], seq), &m, sizeof(m));
			zipc_producer_publish(c->prod[i], seq, 1);
		}
	}
	slot_free(c); /* before our ring (and its descriptor) goes */
	zipc_consumer_close(c->cons);
	zipc_ring_close(c->rsp);
	for (unsigned i = 0; c->prod && i < c->p.threads; i++)
		zipc_producer_close(c->prod[i]);
	for (unsigned i = 0; c->req && i < c->p.threads; i++)
		zipc_ring_close(c->req[i]);
	free(c->prod);
	free(c->req);
	zipc_region_close(c->dir_region);
	free(c->answered);
	free(c->offs);
	free(c->nxt);
	free(c->arena);
	free(c);
}

/* Validate the directory region taken by @c (private copy of the params). */
static int dir_check(struct zipc_pool_client *c)
{
	const struct zipc_region_hdr *rh = zipc_region_header(c->dir_region);
	if (rh->kind != ZIPC_KIND_POOL)
		return -EMEDIUMTYPE;
	uint64_t size = zipc_region_area_size(c->dir_region);
	if (size < sizeof(struct pool_dir))
		return -ENODATA;
	c->dir = zipc_region_area(c->dir_region);
	memcpy(&c->p, &c->dir->p, sizeof(c->p));
	int rc = zipc__pool_params_check(&c->p, size);
	if (rc)
		return rc;
	if (c->p.named)
		snprintf(c->name, sizeof(c->name), "%.*s", (int)ZIPC_POOL_NAME_MAX, rh->name);
	return 0;
}

/* Check one request ring and register a producer on it. */
static int req_open(struct zipc_pool_client *c, unsigned i)
{
	struct zipc_ring_stat st;
	int rc = zipc_ring_stat(c->req[i], &st, NULL, 0);
	if (rc < 0)
		return rc;
	if (!(st.flags & ZIPC_RING_MULTI_PRODUCER) || st.slot_size < c->p.slot_size ||
	    st.capacity != c->p.queue_capacity)
		return -EPROTO;
	rc = zipc_producer_open(c->req[i], NULL, &c->prod[i]);
	if (rc == -EBUSY && zipc_ring_reap(c->req[i]) > 0) /* slots held by dead clients */
		rc = zipc_producer_open(c->req[i], NULL, &c->prod[i]);
	return rc;
}

static int client_setup(struct zipc_pool_client *c, const struct zipc_pool_client_opts *o)
{
	int rc;
	c->pid = (int32_t)getpid();
	if (c->pid != c->p.server_pid && !c->p.named)
		return -EXDEV; /* an anonymous pool serves its own process only */
	if (atomic_load_explicit(&c->dir->ctl.state, memory_order_acquire) != POOL_RUNNING)
		return -ESHUTDOWN;
	if (!zipc_pid_alive(c->p.server_pid, c->p.server_start))
		return -EOWNERDEAD;
	for (unsigned i = 0; i < c->p.threads; i++)
		if ((rc = req_open(c, i)))
			return rc;
	if ((rc = slot_claim(c)))
		return rc;

	uint32_t cap = o->capacity ? o->capacity : DEFAULT_CAPACITY;
	while (cap < c->p.threads)
		cap *= 2;
	c->capacity = cap;
	struct zipc_ring_opts ro = {
		.capacity = cap,
		.slot_size = c->p.slot_size,
		.flags = ZIPC_RING_MULTI_PRODUCER,
		.max_producers = c->p.threads, /* one per pool thread */
		.max_consumers = 1,
		.wait = ZIPC_WAIT_BLOCK,
	};
	char rname[ZIPC_NAME_MAX + 16];
	if (c->pid == c->p.server_pid) {
		ro.region_flags = ZIPC_REGION_ANONYMOUS; /* the threads take our descriptor */
		rc = zipc_ring_create(NULL, &ro, &c->rsp);
	} else {
		const struct zipc_region_hdr *rh = zipc_region_header(c->dir_region);
		if (rh->group >= 0) {
			ro.region_flags = ZIPC_REGION_GROUP;
			ro.group = rh->group;
		}
		rc = zipc__pool_rsp_name(rname, sizeof(rname), c->name, c->slot, c->gen);
		if (!rc)
			rc = zipc_ring_create(rname, &ro, &c->rsp);
	}
	if (rc)
		return rc;
	/* the ring's wait sleeps at once: wait_rsp() spins by itself when it pays */
	struct zipc_wait_opts w = {.strategy = ZIPC_WAIT_BLOCK, .spin_ns = 1};
	c->spin_ns = o->spin_ns < 0 ? 0 : o->spin_ns == 0 ? DEFAULT_SPIN_NS : o->spin_ns;
	if ((rc = zipc_consumer_open(c->rsp, &w, &c->cons)))
		return rc;

	/* O1: our slot's fields before our first request is published */
	struct pool_client_slot *s = &pool_slots(c->dir, &c->p)[c->slot];
	atomic_store_explicit(&s->start, zipc_pid_start_ticks(c->pid), memory_order_relaxed);
	atomic_store_explicit(&s->fd, c->pid == c->p.server_pid ? zipc_region_fd(zipc_ring_region(c->rsp)) : -1,
			      memory_order_relaxed);
	atomic_store_explicit(&s->capacity, cap, memory_order_relaxed);

	/* register with every thread: one round trip each */
	unsigned n = c->p.threads;
	struct zipc_pool_req *reqs = calloc(n, sizeof(*reqs));
	struct zipc_pool_rsp *rsps = calloc(n, sizeof(*rsps));
	if (!reqs || !rsps) {
		free(reqs);
		free(rsps);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		reqs[i] = (struct zipc_pool_req){.id = i, .kind = POOL_K_REGISTER};
	c->next_tag = 1;
	rc = exchange(c, reqs, rsps, n, o->timeout_ns ? o->timeout_ns : DEFAULT_OPEN_NS);
	for (unsigned i = 0; !rc && i < n; i++)
		rc = rsps[i].status;
	free(reqs);
	free(rsps);
	if (rc)
		return rc;
	c->registered = 1;
	return 0;
}

static int client_new(const struct zipc_pool_client_opts *o, struct zipc_pool_client **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (o && o->reserved)
		return -EINVAL;
	if (o && o->capacity && ((o->capacity & (o->capacity - 1)) || o->capacity < 2))
		return -EINVAL;
	struct zipc_pool_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*out = c;
	return 0;
}

static int client_finish(struct zipc_pool_client *c, const struct zipc_pool_client_opts *o,
			 zipc_pool_client **out)
{
	static const struct zipc_pool_client_opts defaults;
	int rc = client_setup(c, o ? o : &defaults);
	if (rc) {
		c->registered = 1; /* threads that took our REGISTER drop us */
		client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int zipc_pool_client_open(zipc_pool *pool, const struct zipc_pool_client_opts *o, zipc_pool_client **out)
{
	struct zipc_pool_client *c;
	int rc = client_new(o, &c);
	if (rc)
		return rc;
	if (!pool) {
		free(c);
		return -EINVAL;
	}
	int dir_fd, fds[ZIPC_POOL_MAX_THREADS];
	unsigned n = zipc_pool_threads(pool);
	if ((rc = zipc__pool_fds(pool, &dir_fd, fds, ZIPC_POOL_MAX_THREADS)) ||
	    (rc = zipc_region_from_fd(dir_fd, 0, &c->dir_region)) || (rc = dir_check(c))) {
		zipc_region_close(c->dir_region);
		free(c);
		return rc;
	}
	c->req = calloc(n, sizeof(*c->req));
	c->prod = calloc(n, sizeof(*c->prod));
	if (!c->req || !c->prod)
		rc = -ENOMEM;
	for (unsigned i = 0; !rc && i < n; i++)
		rc = zipc_ring_from_fd(fds[i], 0, &c->req[i]);
	if (!rc && n != c->p.threads)
		rc = -EPROTO;
	if (rc) {
		client_free(c);
		return rc;
	}
	return client_finish(c, o, out);
}

int zipc_pool_client_attach(const char *name, const struct zipc_pool_client_opts *o, zipc_pool_client **out)
{
	struct zipc_pool_client *c;
	int rc = client_new(o, &c);
	if (rc)
		return rc;
	if (!name) {
		free(c);
		return -EINVAL;
	}
	if (strnlen(name, ZIPC_NAME_MAX + 1) > ZIPC_POOL_NAME_MAX) {
		free(c);
		return -ENAMETOOLONG;
	}
	if ((rc = zipc_region_attach(name, 0, &c->dir_region)) || (rc = dir_check(c))) {
		zipc_region_close(c->dir_region);
		free(c);
		return rc;
	}
	if (!c->p.named || strcmp(c->name, name) != 0) {
		client_free(c);
		return -EPROTO;
	}
	c->req = calloc(c->p.threads, sizeof(*c->req));
	c->prod = calloc(c->p.threads, sizeof(*c->prod));
	if (!c->req || !c->prod)
		rc = -ENOMEM;
	for (unsigned i = 0; !rc && i < c->p.threads; i++) {
		char rname[ZIPC_NAME_MAX + 16];
		rc = zipc__pool_req_name(rname, sizeof(rname), name, i);
		if (!rc)
			rc = zipc_ring_attach(rname, 0, &c->req[i]);
	}
	if (rc) {
		client_free(c);
		return rc;
	}
	return client_finish(c, o, out);
}

int zipc_pool_client_close(zipc_pool_client *c)
{
	/* in a forked child the slot and the registrations are the parent's */
	if (c && (int32_t)getpid() == c->pid)
		client_free(c);
	return 0;
}
