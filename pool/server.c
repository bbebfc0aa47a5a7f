/* SPDX-License-Identifier: MIT */
/*
 * pool/server.c - the pool: directory and request rings, the pool threads
 * (routing, item lifetimes, responses, dead clients) and shutdown.
 *
 * A pool thread is one loop over its own multi-producer request ring
 * (sleeping on the ring's futex when idle: spin, announce, FUTEX_WAIT, as
 * every zipc_consumer_wait() does).  Each message is handled to the end -
 * callback, then response published into the sender's response ring -
 * before the next one, so the items of a thread are never touched by two
 * threads and never concurrently.
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../shm/shm_pvt.h"
#include "pool_int.h"

#define DEFAULT_MAX_PAYLOAD 256u
#define DEFAULT_QUEUE 1024u
#define DEFAULT_CLIENTS 16u
#define DEFAULT_SPIN_NS 20000
#define DEFAULT_LIVENESS_NS (100 * ZIPC_MSEC)
#define DEFAULT_PUBLISH_NS ZIPC_SEC
#define SWEEP_FACTOR 10 /* dead clients are looked for every 10 liveness periods */
#define RUN_MAX 64u     /* most requests of one client served as one run */
#define FLUSH_NS (50 * ZIPC_USEC) /* a run publishes what it has done at least this often */

/* ------------------------------------------------------------ peers */

static void peer_drop(struct pool_thread *t, unsigned slot)
{
	struct pool_peer *pe = &t->peers[slot];
	if (!pe->attached)
		return;
	zipc_producer_close(pe->prod);
	zipc_ring_close(pe->ring);
	memset(pe, 0, sizeof(*pe));
	atomic_store_explicit(&t->ctr->clients, atomic_load_explicit(&t->ctr->clients, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

static struct zipc_wait_opts thread_wait(const struct zipc_pool *pool)
{
	struct zipc_wait_opts w = {
		.strategy = ZIPC_WAIT_BLOCK,
		.spin_ns = pool->o.spin_ns < 0 ? 1u : (uint32_t)pool->o.spin_ns,
		.liveness_ns = pool->o.liveness_ns,
	};
	return w;
}

/*
 * The response ring of client @slot, generation @gen: ours if attached,
 * else attached now (on REGISTER, or lazily after we dropped it).  NULL if
 * the slot no longer belongs to that generation or the ring cannot be used.
 */
static struct pool_peer *peer_get(struct pool_thread *t, uint32_t slot, uint32_t gen)
{
	struct zipc_pool *pool = t->pool;
	if (slot >= pool->p.max_clients)
		return NULL;
	struct pool_peer *pe = &t->peers[slot];
	if (pe->attached && pe->gen == gen)
		return pe;
	if (pe->attached)
		peer_drop(t, slot); /* an older generation of the slot: its client left */
	struct pool_client_slot *cs = &pool_slots(pool->dir, &pool->p)[slot];
	/* O2: acquire pairs with the client's claiming CAS */
	uint64_t owner = atomic_load_explicit(&cs->owner, memory_order_acquire);
	int32_t pid = (int32_t)(uint32_t)owner;
	if ((uint32_t)(owner >> 32) != gen || pid <= 0)
		return NULL;
	uint64_t start = atomic_load_explicit(&cs->start, memory_order_relaxed);
	zipc_ring *r = NULL;
	int rc;
	if (pid == pool->p.server_pid) {
		/* same process: the client's descriptor is valid here */
		int fd = atomic_load_explicit(&cs->fd, memory_order_relaxed);
		rc = fd < 0 ? -EBADF : zipc_ring_from_fd(fd, 0, &r);
	} else if (pool->p.named) {
		char name[ZIPC_NAME_MAX + 16];
		rc = zipc__pool_rsp_name(name, sizeof(name), pool->name, slot, gen);
		if (!rc)
			rc = zipc_ring_attach(name, 0, &r);
	} else {
		rc = -EXDEV; /* an anonymous pool has no clients elsewhere */
	}
	if (rc) {
		zipc__log(ZIPC_LOG_WARN, "zipc pool: thread %u cannot attach client %u.%u: %s", t->index, slot, gen,
			  zipc_strerror(rc));
		return NULL;
	}
	/* the client may have left (and its descriptor number been reused)
	 * while we attached: the slot must still be the same generation */
	if (atomic_load_explicit(&cs->owner, memory_order_seq_cst) != owner) {
		zipc_ring_close(r);
		return NULL;
	}
	struct zipc_ring_stat st;
	rc = zipc_ring_stat(r, &st, NULL, 0);
	if (rc >= 0 && (!(st.flags & ZIPC_RING_MULTI_PRODUCER) || st.slot_size < pool->p.slot_size))
		rc = -EPROTO;
	zipc_producer *prod = NULL;
	struct zipc_wait_opts w = thread_wait(pool);
	if (rc >= 0)
		rc = zipc_producer_open(r, &w, &prod);
	if (rc < 0) {
		zipc__log(ZIPC_LOG_WARN, "zipc pool: thread %u: client %u.%u's ring unusable: %s", t->index, slot, gen,
			  zipc_strerror(rc));
		zipc_ring_close(r);
		return NULL;
	}
	pe->gen = gen;
	pe->pid = pid;
	pe->start = start;
	pe->ring = r;
	pe->prod = prod;
	pe->attached = 1;
	atomic_store_explicit(&t->ctr->clients, atomic_load_explicit(&t->ctr->clients, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return pe;
}

/* ------------------------------------------------------------ items */

static void ctr_add(_Atomic uint64_t *c, int64_t d)
{
	/* single writer (the owning thread): no locked instruction */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint64_t)d, memory_order_relaxed);
}

static void destroy_all(struct pool_thread *t)
{
	struct zipc_pool *pool = t->pool;
	struct pool_map *m = &t->items;
	if (m->tab) {
		for (uint64_t i = 0; i <= m->mask; i++) {
			struct pool_map_ent *e = &m->tab[i];
			if (!e->used)
				continue;
			if (pool->ops.destroy)
				pool->ops.destroy(pool->ops.ctx, e->state, e->id, t->index);
			ctr_add(&t->ctr->destroyed, 1);
			ctr_add(&t->ctr->items, -1);
		}
	}
	zipc__map_free(m);
}

/*
 * Run request @m (payload read in place) and write its response - header
 * and payload - into the response slot @out (zero copy: the callback writes
 * its reply there).  Only the item callbacks and the map are touched.
 */
static void serve_one(struct pool_thread *t, const struct pool_peer *pe, const struct pool_msg *m,
		      const unsigned char *payload, unsigned char *out)
{
	struct zipc_pool *pool = t->pool;
	struct zipc_pool_reply rep = {.data = out + sizeof(struct pool_msg), .cap = pool->p.max_payload,
				      .len = 0, .kind = m->kind};
	struct zipc_pool_req_info info = {
		.id = m->id,
		.kind = m->kind,
		.len = m->len,
		.data = payload,
		.thread = t->index,
		.client_pid = pe->pid,
	};
	int32_t status = 0;
	uint32_t flags = 0;
	struct pool_map_ent *e;
	if (m->len > pool->p.max_payload) {
		status = -EPROTO, flags = ZIPC_POOL_RSP_POOL;
	} else if (m->kind == POOL_K_REGISTER) {
		status = t->stopping ? -ESHUTDOWN : 0; /* peer_get() attached the ring */
		flags = t->stopping ? ZIPC_POOL_RSP_POOL : 0;
	} else if (t->stopping) {
		status = -ESHUTDOWN, flags = ZIPC_POOL_RSP_POOL;
	} else if (m->id % pool->p.threads != t->index) {
		status = -EINVAL, flags = ZIPC_POOL_RSP_POOL; /* misrouted: not ours to create or find */
	} else if (m->kind == ZIPC_POOL_ADD) {
		if (zipc__map_find(&t->items, m->id)) {
			status = -EEXIST, flags = ZIPC_POOL_RSP_POOL;
		} else {
			void *state = NULL;
			status = pool->ops.construct(pool->ops.ctx, &info, &state, &rep);
			if (status >= 0) {
				if (zipc__map_insert(&t->items, m->id, state)) {
					if (pool->ops.destroy)
						pool->ops.destroy(pool->ops.ctx, state, m->id, t->index);
					status = -ENOMEM, flags = ZIPC_POOL_RSP_POOL;
				} else {
					ctr_add(&t->ctr->constructed, 1);
					ctr_add(&t->ctr->items, 1);
				}
			}
		}
	} else if (m->kind == ZIPC_POOL_REMOVE) {
		if (!(e = zipc__map_find(&t->items, m->id))) {
			status = -ENOENT, flags = ZIPC_POOL_RSP_POOL;
		} else {
			void *state = e->state;
			zipc__map_erase(&t->items, e);
			if (pool->ops.destroy)
				pool->ops.destroy(pool->ops.ctx, state, m->id, t->index);
			ctr_add(&t->ctr->destroyed, 1);
			ctr_add(&t->ctr->items, -1);
		}
	} else if (m->kind >= ZIPC_POOL_KIND_RESERVED) {
		status = -EINVAL, flags = ZIPC_POOL_RSP_POOL;
	} else if (!(e = zipc__map_find(&t->items, m->id))) {
		status = -ENOENT, flags = ZIPC_POOL_RSP_POOL; /* an error response, not a dead thread */
	} else {
		status = pool->ops.process(pool->ops.ctx, e->state, &info, &rep);
	}
	if (rep.len > rep.cap) {
		/* the callback overran its buffer: do not send it */
		zipc__log(ZIPC_LOG_ERROR, "zipc pool: item %llu wrote %u reply bytes, max %u",
			  (unsigned long long)m->id, rep.len, rep.cap);
		status = -EMSGSIZE, flags = ZIPC_POOL_RSP_POOL;
	}
	if (flags & ZIPC_POOL_RSP_POOL) {
		ctr_add(&t->ctr->errors, 1);
		rep.len = 0;
		rep.kind = m->kind;
	}
	struct pool_msg r = {
		.id = m->id,
		.tag = m->tag,
		.kind = rep.kind,
		.status = status,
		.client = m->client,
		.gen = m->gen,
		.len = rep.len,
		.flags = flags,
	};
	memcpy(out, &r, sizeof(r));
}

/*
 * Serve @k consecutive requests of one client (headers copied in @m, slots
 * from @seq of our ring): one claim of @k response slots, each response
 * written in place as its request is run, published together - and at
 * least every FLUSH_NS, so a run of long requests does not hold back the
 * first answers.  One publish wakes a sleeping client once, not k times.
 */
static void serve_run(struct pool_thread *t, uint64_t seq, uint32_t k, const struct pool_msg *m)
{
	struct pool_peer *pe = peer_get(t, m[0].client, m[0].gen);
	if (!pe)
		return; /* nobody to answer: that client has gone */
	uint64_t rseq;
	/* the credit rule keeps room for every request a client has in flight */
	int rc = zipc_producer_claim(pe->prod, k, t->pool->o.publish_timeout_ns, &rseq);
	if (rc) {
		/* -EOWNERDEAD (the client died with its ring full), -ETIMEDOUT
		 * (it stopped reading) or -EINVAL (more in flight than its ring
		 * holds): it broke the credit rule or is gone, and must not
		 * stall the other clients */
		zipc__log(ZIPC_LOG_WARN, "zipc pool: thread %u drops client %u.%u: %s", t->index, m[0].client,
			  m[0].gen, zipc_strerror(rc));
		peer_drop(t, m[0].client);
		return;
	}
	uint32_t done = 0;
	int64_t last = k > 1 ? zipc_now_ns() : 0;
	for (uint32_t i = 0; i < k; i++) {
		const unsigned char *slot = zipc_consumer_slot(t->cons, seq + i);
		serve_one(t, pe, &m[i], slot + sizeof(struct pool_msg), zipc_producer_slot(pe->prod, rseq + i));
		if (k > 1 && i + 1 < k) {
			int64_t now = zipc_now_ns();
			if (now - last >= FLUSH_NS) {
				zipc_producer_publish(pe->prod, rseq + done, i + 1 - done);
				done = i + 1;
				last = now;
			}
		}
	}
	zipc_producer_publish(pe->prod, rseq + done, k - done); /* P1 */
}

/* STOP and UNREGISTER: no response. */
static void control(struct pool_thread *t, const struct pool_msg *m, const unsigned char *payload)
{
	struct zipc_pool *pool = t->pool;
	if (m->kind == POOL_K_STOP) {
		if (m->len == sizeof(pool->stop_key) && !memcmp(payload, &pool->stop_key, sizeof(pool->stop_key)) &&
		    !t->stopping) {
			t->stopping = 1;
			destroy_all(t);
		}
	} else if (m->client < pool->p.max_clients && t->peers[m->client].attached &&
		   t->peers[m->client].gen == m->gen) {
		peer_drop(t, m->client); /* UNREGISTER */
	}
}

/* Serve the @n request slots from @seq: control messages one by one, runs
 * of one client's requests together; release each as it is done. */
static void serve_slots(struct pool_thread *t, uint64_t seq, uint64_t n)
{
	struct pool_msg m[RUN_MAX];
	uint64_t i = 0;
	while (i < n) {
		const unsigned char *slot = zipc_consumer_slot(t->cons, seq + i);
		memcpy(&m[0], slot, sizeof(m[0])); /* read each header once: a peer may rewrite it */
		ctr_add(&t->ctr->requests, 1);
		if (m[0].kind == POOL_K_STOP || m[0].kind == POOL_K_UNREGISTER) {
			control(t, &m[0], slot + sizeof(m[0]));
			zipc_consumer_release(t->cons, 1);
			i++;
			continue;
		}
		uint32_t k = 1;
		while (k < RUN_MAX && i + k < n) {
			memcpy(&m[k], zipc_consumer_slot(t->cons, seq + i + k), sizeof(m[k]));
			if (m[k].client != m[0].client || m[k].gen != m[0].gen || m[k].kind == POOL_K_STOP ||
			    m[k].kind == POOL_K_UNREGISTER)
				break;
			ctr_add(&t->ctr->requests, 1);
			k++;
		}
		serve_run(t, seq + i, k, m);
		zipc_consumer_release(t->cons, k); /* C2: done with the requests' payloads */
		i += k;
	}
}

/* Drop clients whose process died or whose slot moved on; free dead slots. */
static void sweep(struct pool_thread *t, int64_t now)
{
	struct zipc_pool *pool = t->pool;
	struct pool_client_slot *slots = pool_slots(pool->dir, &pool->p);
	int dead = 0;
	t->next_sweep = now + SWEEP_FACTOR * pool->o.liveness_ns;
	for (unsigned i = 0; i < pool->p.max_clients; i++) {
		struct pool_peer *pe = &t->peers[i];
		if (!pe->attached)
			continue;
		uint64_t owner = atomic_load_explicit(&slots[i].owner, memory_order_acquire);
		if ((uint32_t)(owner >> 32) != pe->gen || (int32_t)(uint32_t)owner != pe->pid) {
			peer_drop(t, i); /* it left (its UNREGISTER may still be queued) */
			continue;
		}
		if (zipc_pid_alive(pe->pid, pe->start))
			continue;
		peer_drop(t, i);
		dead = 1;
		/* free the dead client's slot (O2); one sweeper wins */
		if (atomic_compare_exchange_strong_explicit(&slots[i].owner, &owner, (uint64_t)pe->gen << 32,
							    memory_order_acq_rel, memory_order_relaxed))
			atomic_fetch_sub_explicit(&pool->dir->ctl.clients, 1, memory_order_relaxed);
	}
	if (dead)
		zipc_ring_reap(t->req); /* its producer registration on our ring */
}

static void *thread_main(void *arg)
{
	struct pool_thread *t = arg;
	struct zipc_pool *pool = t->pool;
	char tname[16];
	snprintf(tname, sizeof(tname), "zipc-pool-%u", t->index);
	pthread_setname_np(pthread_self(), tname);
	int64_t every = SWEEP_FACTOR * pool->o.liveness_ns;
	t->next_sweep = zipc_now_ns() + every;
	for (;;) {
		uint64_t seq;
		int64_t n = zipc_consumer_wait(t->cons, t->stopping ? 0 : every, &seq);
		if (n > 0) {
			serve_slots(t, seq, (uint64_t)n);
			int64_t now = zipc_now_ns();
			if (now >= t->next_sweep)
				sweep(t, now);
			continue;
		}
		if (n == -ENOMSG) { /* a client died between claim and publish */
			zipc_consumer_release(t->cons, 1);
			continue;
		}
		if (n == -ETIMEDOUT) {
			sweep(t, zipc_now_ns());
			continue;
		}
		if (n == -EAGAIN && t->stopping)
			break; /* stopped and drained */
		/* -EPIPE / -EOWNERDEAD cannot happen while the owner's control
		 * producer is open; -EPROTO: the ring is corrupted */
		zipc__log(ZIPC_LOG_ERROR, "zipc pool: thread %u stops: request ring: %s", t->index,
			  zipc_strerror((int)n));
		break;
	}
	if (!t->stopping) {
		t->stopping = 1;
		destroy_all(t);
	}
	for (unsigned i = 0; i < pool->p.max_clients; i++)
		peer_drop(t, i); /* closing our producers: clients still waiting get -EPIPE */
	zipc_consumer_close(t->cons);
	t->cons = NULL;
	atomic_store_explicit(&t->ctr->running, 0, memory_order_relaxed);
	return NULL;
}

/* ------------------------------------------------------------ create */

struct dir_init {
	const struct pool_params *p;
	const int *cpus;
};

static int dir_init_area(void *area, uint64_t size, void *arg)
{
	const struct dir_init *di = arg;
	if (di->p->total_size > size)
		return -ENOMEM;
	struct pool_dir *d = area;
	/* D1: nobody sees the area before the region's layout word is set */
	d->p = *di->p;
	atomic_store_explicit(&d->ctl.state, POOL_RUNNING, memory_order_relaxed);
	struct pool_client_slot *s = pool_slots(d, di->p);
	for (unsigned i = 0; i < di->p->max_clients; i++)
		atomic_store_explicit(&s[i].fd, -1, memory_order_relaxed);
	struct pool_thread_ctr *c = pool_ctrs(d, di->p);
	for (unsigned i = 0; i < di->p->threads; i++)
		atomic_store_explicit(&c[i].cpu, di->cpus ? di->cpus[i] : -1, memory_order_relaxed);
	return 0;
}

static uint64_t stop_key(void)
{
	uint64_t k = 0;
	if (getrandom(&k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k))
		k = (uint64_t)zipc_now_ns() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() << 32 ^
		    (uint64_t)(uintptr_t)&k;
	return k | 1;
}

static int send_stop(struct zipc_pool *pool, struct pool_thread *t)
{
	uint64_t seq;
	/* the thread drains its ring, so room comes (or it has exited and
	 * closed its consumer, and nothing gates any more) */
	int rc = zipc_producer_claim(t->ctl, 1, ZIPC_FOREVER, &seq);
	if (rc)
		return rc;
	unsigned char *s = zipc_producer_slot(t->ctl, seq);
	struct pool_msg m = {.id = t->index, .kind = POOL_K_STOP, .len = sizeof(pool->stop_key)};
	memcpy(s, &m, sizeof(m));
	memcpy(s + sizeof(m), &pool->stop_key, sizeof(pool->stop_key));
	return zipc_producer_publish(t->ctl, seq, 1);
}

/* Stop (if started), join and free everything; safe on a half-built pool. */
static void pool_destroy(struct zipc_pool *pool)
{
	if (pool->dir)
		atomic_store_explicit(&pool->dir->ctl.state, POOL_CLOSING, memory_order_release); /* S1 */
	for (unsigned i = 0; pool->t && i < pool->p.threads; i++) {
		struct pool_thread *t = &pool->t[i];
		if (t->started && send_stop(pool, t))
			zipc__log(ZIPC_LOG_ERROR, "zipc pool: cannot stop thread %u", i);
	}
	for (unsigned i = 0; pool->t && i < pool->p.threads; i++) {
		struct pool_thread *t = &pool->t[i];
		if (t->started)
			pthread_join(t->tid, NULL);
	}
	if (pool->dir)
		atomic_store_explicit(&pool->dir->ctl.state, POOL_CLOSED, memory_order_release); /* S1 */
	for (unsigned i = 0; pool->t && i < pool->p.threads; i++) {
		struct pool_thread *t = &pool->t[i];
		if (!t->started) {
			destroy_all(t); /* never ran: holds nothing, but free the map */
			for (unsigned j = 0; t->peers && j < pool->p.max_clients; j++)
				peer_drop(t, j);
		}
		zipc_consumer_close(t->cons);
		zipc_producer_close(t->ctl);
		zipc_ring_close(t->req);
		free(t->peers);
	}
	free(pool->t);
	zipc_region_close(pool->dir_region);
	free(pool);
}

static int resolve_opts(const char *name, const struct zipc_pool_opts *in, struct zipc_pool_opts *o)
{
	*o = *in;
	if (o->threads == 0 || o->threads > ZIPC_POOL_MAX_THREADS)
		return -EINVAL;
	if (!o->max_payload)
		o->max_payload = DEFAULT_MAX_PAYLOAD;
	if (!o->queue_capacity)
		o->queue_capacity = DEFAULT_QUEUE;
	if (!o->max_clients)
		o->max_clients = DEFAULT_CLIENTS;
	if (!o->spin_ns)
		o->spin_ns = DEFAULT_SPIN_NS;
	if (o->spin_ns > UINT32_MAX)
		o->spin_ns = UINT32_MAX;
	if (o->liveness_ns <= 0)
		o->liveness_ns = DEFAULT_LIVENESS_NS;
	if (o->publish_timeout_ns <= 0)
		o->publish_timeout_ns = DEFAULT_PUBLISH_NS;
	if (o->max_payload > ZIPC_POOL_MAX_PAYLOAD || o->queue_capacity < 2 ||
	    (o->queue_capacity & (o->queue_capacity - 1)) || o->max_clients > ZIPC_POOL_MAX_CLIENTS ||
	    (o->flags & ~(uint32_t)ZIPC_POOL_GROUP) || ((o->flags & ZIPC_POOL_GROUP) && o->group < 0))
		return -EINVAL;
	for (unsigned i = 0; o->cpus && i < o->threads; i++)
		if (o->cpus[i] < -1 || o->cpus[i] >= CPU_SETSIZE)
			return -EINVAL;
	if (name) {
		size_t len = strnlen(name, ZIPC_NAME_MAX + 1);
		if (len == 0)
			return -EINVAL;
		if (len > ZIPC_POOL_NAME_MAX)
			return -ENAMETOOLONG;
	}
	return 0;
}

static int start_thread(struct pool_thread *t)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);
	if (rc)
		return -rc;
	if (t->cpu >= 0) {
		/* pinned before its first instruction (to move to the topology API) */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((unsigned)t->cpu, &set);
		rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	atomic_store_explicit(&t->ctr->running, 1, memory_order_relaxed); /* the thread clears it */
	if (!rc)
		rc = pthread_create(&t->tid, &attr, thread_main, t);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_store_explicit(&t->ctr->running, 0, memory_order_relaxed);
		return -rc;
	}
	t->started = 1;
	return 0;
}

int zipc_pool_create(const char *name, const struct zipc_pool_opts *opts, const struct zipc_pool_item_ops *ops,
		     zipc_pool **out)
{
	if (!opts || !ops || !out)
		return -EINVAL;
	*out = NULL;
	if (!ops->construct || !ops->process)
		return -EINVAL;
	struct zipc_pool_opts o;
	int rc = resolve_opts(name, opts, &o);
	if (rc)
		return rc;
	struct zipc_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->ops = *ops;
	pool->o = o;
	pool->o.cpus = NULL; /* not retained */
	pool->stop_key = stop_key();
	if (name)
		snprintf(pool->name, sizeof(pool->name), "%s", name);

	struct pool_params *p = &pool->p;
	p->magic = POOL_MAGIC;
	p->layout = POOL_LAYOUT;
	p->threads = o.threads;
	p->max_payload = o.max_payload;
	p->queue_capacity = o.queue_capacity;
	p->max_clients = o.max_clients;
	p->server_pid = (int32_t)getpid();
	p->server_start = zipc_pid_start_ticks(p->server_pid);
	p->named = name != NULL;
	zipc__pool_geometry(p);

	uint32_t rflags = (name ? 0 : ZIPC_REGION_ANONYMOUS) | ((o.flags & ZIPC_POOL_GROUP) ? ZIPC_REGION_GROUP : 0);
	struct dir_init di = {.p = p, .cpus = o.cpus};
	struct zipc_region_opts ro = {
		.size = p->total_size,
		.kind = ZIPC_KIND_POOL,
		.flags = rflags,
		.group = o.group,
		.init = dir_init_area,
		.init_arg = &di,
	};
	if ((rc = zipc_region_create(name, &ro, &pool->dir_region))) {
		free(pool);
		return rc;
	}
	pool->dir = zipc_region_area(pool->dir_region);

	pool->t = calloc(o.threads, sizeof(*pool->t));
	if (!pool->t) {
		pool_destroy(pool);
		return -ENOMEM;
	}
	struct zipc_ring_opts qo = {
		.capacity = o.queue_capacity,
		.slot_size = p->slot_size,
		.flags = ZIPC_RING_MULTI_PRODUCER,
		.max_producers = o.max_clients + 1, /* + the owner's control producer */
		.max_consumers = 1,
		.wait = ZIPC_WAIT_BLOCK,
		.region_flags = rflags,
		.group = o.group,
	};
	struct zipc_wait_opts w = thread_wait(pool);
	for (unsigned i = 0; i < o.threads; i++) {
		struct pool_thread *t = &pool->t[i];
		t->pool = pool;
		t->index = i;
		t->cpu = o.cpus ? o.cpus[i] : -1;
		t->ctr = &pool_ctrs(pool->dir, p)[i];
		zipc__map_init(&t->items);
		char rname[ZIPC_NAME_MAX + 16];
		if (name && (rc = zipc__pool_req_name(rname, sizeof(rname), name, i)))
			break;
		if ((rc = zipc_ring_create(name ? rname : NULL, &qo, &t->req)))
			break;
		if ((rc = zipc_consumer_open(t->req, &w, &t->cons)))
			break;
		if ((rc = zipc_producer_open(t->req, NULL, &t->ctl)))
			break;
		t->peers = calloc(o.max_clients, sizeof(*t->peers));
		if (!t->peers) {
			rc = -ENOMEM;
			break;
		}
	}
	for (unsigned i = 0; !rc && i < o.threads; i++)
		rc = start_thread(&pool->t[i]);
	if (rc) {
		pool_destroy(pool);
		return rc;
	}
	*out = pool;
	return 0;
}

int zipc_pool_close(zipc_pool *pool)
{
	/* in a forked child the threads and the shared state are the
	 * parent's: leave them alone (the child's copies are only memory) */
	if (pool && (int32_t)getpid() == pool->p.server_pid)
		pool_destroy(pool);
	return 0;
}

unsigned zipc_pool_threads(const zipc_pool *pool)
{
	return pool ? pool->p.threads : 0;
}

int zipc_pool_stat(const zipc_pool *pool, struct zipc_pool_thread_stat *st, unsigned max)
{
	if (!pool || (max && !st))
		return -EINVAL;
	struct pool_thread_ctr *c = pool_ctrs(pool->dir, &pool->p);
	for (unsigned i = 0; i < pool->p.threads && i < max; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].items = atomic_load_explicit(&c[i].items, memory_order_relaxed);
		st[i].requests = atomic_load_explicit(&c[i].requests, memory_order_relaxed);
		st[i].constructed = atomic_load_explicit(&c[i].constructed, memory_order_relaxed);
		st[i].destroyed = atomic_load_explicit(&c[i].destroyed, memory_order_relaxed);
		st[i].errors = atomic_load_explicit(&c[i].errors, memory_order_relaxed);
		st[i].clients = atomic_load_explicit(&c[i].clients, memory_order_relaxed);
		st[i].cpu = atomic_load_explicit(&c[i].cpu, memory_order_relaxed);
		st[i].running = atomic_load_explicit(&c[i].running, memory_order_relaxed);
	}
	return (int)pool->p.threads;
}

int zipc__pool_fds(const zipc_pool *pool, int *dir_fd, int *req_fds, unsigned max)
{
	if (max < pool->p.threads)
		return -EINVAL;
	*dir_fd = zipc_region_fd(pool->dir_region);
	for (unsigned i = 0; i < pool->p.threads; i++)
		req_fds[i] = zipc_region_fd(zipc_ring_region(pool->t[i].req));
	return 0;
}
