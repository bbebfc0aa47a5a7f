/* SPDX-License-Identifier: MIT */
/*
 * ring/ring.c - ring set-up and validation, producer/consumer registration,
 * introspection (stat), reaping of dead peers, copy helpers and the
 * out-of-line copies of the inline hot path.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring_int.h"

#define DEFAULT_MP_PRODUCERS 16u
#define DEFAULT_CONSUMERS 4u

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Compute the offsets of every table from the geometry in @p. */
static void ring_geometry(struct zipc_ring_params *p)
{
	uint64_t off = sizeof(struct zipc_ring_hdr);
	p->slot_stride = (uint32_t)round_up(p->slot_size, 8);
	p->prod_off = off;
	off += (uint64_t)p->max_producers * sizeof(struct zipc_ring_peer);
	p->cons_off = off;
	off += (uint64_t)p->max_consumers * sizeof(struct zipc_ring_peer);
	p->avail_off = 0;
	if (p->flags & ZIPC_RING_MULTI_PRODUCER) {
		p->avail_off = off;
		off += round_up(p->capacity * sizeof(uint64_t), ZIPC_LINE);
	}
	p->data_off = off;
	off += round_up(p->capacity * p->slot_stride, ZIPC_LINE);
	p->total_size = off + ZIPC_LINE; /* guard line after the data */
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Check parameters as read from shared memory (or built from options). */
static int params_check(const struct zipc_ring_params *in, uint64_t area_size)
{
	if (in->magic != ZIPC_RING_MAGIC)
		return -EBADMSG;
	if (in->layout != ZIPC_RING_LAYOUT)
		return -EPROTONOSUPPORT;
	struct zipc_ring_params p = *in;
	int mp = !!(p.flags & ZIPC_RING_MULTI_PRODUCER);
	if ((p.flags & ~(uint32_t)ZIPC_RING_MULTI_PRODUCER) || !is_pow2(p.capacity) || p.capacity < 2 ||
	    p.capacity > ZIPC_RING_MAX_CAPACITY || p.slot_size == 0 || p.slot_size > ZIPC_RING_MAX_SLOT_SIZE ||
	    p.max_producers == 0 || p.max_producers > ZIPC_RING_MAX_PRODUCERS || (!mp && p.max_producers != 1) ||
	    p.max_consumers == 0 || p.max_consumers > ZIPC_RING_MAX_CONSUMERS || p.wait < ZIPC_WAIT_SPIN ||
	    p.wait > ZIPC_WAIT_BLOCK || p.numa_node < -1)
		return -EPROTO;
	ring_geometry(&p);
	if (p.slot_stride != in->slot_stride || p.prod_off != in->prod_off || p.cons_off != in->cons_off ||
	    p.avail_off != in->avail_off || p.data_off != in->data_off || p.total_size != in->total_size)
		return -EPROTO;
	if (p.total_size > area_size)
		return -ENODATA;
	return 0;
}

struct ring_init {
	struct zipc_ring_params p;
	int32_t reserved;
};

static int ring_init_area(void *area, uint64_t size, void *arg)
{
	const struct ring_init *ri = arg;
	if (ri->p.total_size > size)
		return -ENOMEM;
	struct zipc_ring_hdr *h = area;
	/* the memfd is zero-filled: only non-zero fields need writing, and
	 * nobody can see the area before the region's layout word is set */
	h->p = ri->p;
	struct zipc_ring_peer *cons = (struct zipc_ring_peer *)((unsigned char *)area + ri->p.cons_off);
	for (int32_t i = 0; i < ri->reserved; i++)
		atomic_store_explicit(&cons[i].state, ZIPC_PEER_RESERVED, memory_order_relaxed);
	return 0;
}

int zipc_ring_create(const char *name, const struct zipc_ring_opts *o, zipc_ring **out)
{
	if (!o || !out)
		return -EINVAL;
	*out = NULL;
	struct ring_init ri;
	memset(&ri, 0, sizeof(ri));
	struct zipc_ring_params *p = &ri.p;
	int mp = !!(o->flags & ZIPC_RING_MULTI_PRODUCER);
	p->magic = ZIPC_RING_MAGIC;
	p->layout = ZIPC_RING_LAYOUT;
	p->flags = o->flags;
	p->capacity = o->capacity;
	p->slot_size = o->slot_size;
	p->max_producers = o->max_producers ? o->max_producers : (mp ? DEFAULT_MP_PRODUCERS : 1);
	p->max_consumers = o->max_consumers ? o->max_consumers : DEFAULT_CONSUMERS;
	p->wait = o->wait ? o->wait : ZIPC_WAIT_BLOCK;
	p->numa_node = (o->region_flags & ZIPC_REGION_NUMA_BIND) ? o->numa_node : -1;
	ri.reserved = o->reserved_consumers == 0 ? 1 : o->reserved_consumers;
	if (ri.reserved == ZIPC_RING_NO_RESERVE)
		ri.reserved = 0;
	if (ri.reserved < 0 || (uint32_t)ri.reserved > p->max_consumers)
		return -EINVAL;
	ring_geometry(p);
	if (params_check(p, UINT64_MAX))
		return -EINVAL;

	struct zipc_region_opts ro = {
		.size = p->total_size,
		.kind = ZIPC_KIND_RING,
		.flags = o->region_flags,
		.numa_node = o->numa_node,
		.group = o->group,
		.init = ring_init_area,
		.init_arg = &ri,
	};
	zipc_region *reg;
	int rc = zipc_region_create(name, &ro, &reg);
	if (rc)
		return rc;
	rc = zipc_ring_from_region(reg, out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

int zipc_ring_from_region(zipc_region *region, zipc_ring **out)
{
	if (!region || !out)
		return -EINVAL;
	*out = NULL;
	const struct zipc_region_hdr *rh = zipc_region_header(region);
	if (rh->kind != ZIPC_KIND_RING)
		return -EMEDIUMTYPE;
	uint64_t size = zipc_region_area_size(region);
	if (size < sizeof(struct zipc_ring_hdr))
		return -ENODATA;
	struct zipc_ring_hdr *h = zipc_region_area(region);
	struct zipc_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(&r->p, &h->p, sizeof(r->p)); /* validate a private copy */
	int rc = params_check(&r->p, size);
	if (rc) {
		free(r);
		return rc;
	}
	struct zipc_region_info info;
	zipc_region_info(region, &info);
	r->region = region;
	r->hdr = h;
	r->read_only = info.read_only;
	unsigned char *base = (unsigned char *)h;
	r->prod = (struct zipc_ring_peer *)(base + r->p.prod_off);
	r->cons = (struct zipc_ring_peer *)(base + r->p.cons_off);
	r->avail = r->p.avail_off ? (_Atomic uint64_t *)(base + r->p.avail_off) : NULL;
	r->data = base + r->p.data_off;
	*out = r;
	return 0;
}

int zipc_ring_attach(const char *name, unsigned flags, zipc_ring **out)
{
	zipc_region *reg;
	int rc = zipc_region_attach(name, flags, &reg);
	if (rc)
		return rc;
	rc = zipc_ring_from_region(reg, out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

int zipc_ring_from_fd(int fd, unsigned flags, zipc_ring **out)
{
	zipc_region *reg;
	int rc = zipc_region_from_fd(fd, flags, &reg);
	if (rc)
		return rc;
	rc = zipc_ring_from_region(reg, out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

int zipc_ring_close(zipc_ring *r)
{
	if (!r)
		return 0;
	if (atomic_load(&r->open_ends) != 0)
		return -EBUSY;
	zipc_region_close(r->region);
	free(r);
	return 0;
}

zipc_region *zipc_ring_region(const zipc_ring *r)
{
	return r ? r->region : NULL;
}

uint64_t zipc_ring_capacity(const zipc_ring *r)
{
	return r ? r->p.capacity : 0;
}

uint32_t zipc_ring_slot_size(const zipc_ring *r)
{
	return r ? r->p.slot_size : 0;
}

/* ---------------------------------------------------------- registration */

/* Take an entry of @tab in state @from: CAS to @to.  Returns index or -1. */
static int entry_take(struct zipc_ring_peer *tab, unsigned n, uint32_t from, uint32_t to)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t expect = from;
		if (atomic_compare_exchange_strong_explicit(&tab[i].state, &expect, to,
							    memory_order_acq_rel, memory_order_relaxed))
			return (int)i;
	}
	return -1;
}

static void entry_fill(struct zipc_ring_peer *e, uint32_t wait)
{
	int32_t pid = (int32_t)getpid();
	/* start before pid: a reader that sees our pid sees our start time */
	atomic_store_explicit(&e->start, zipc_pid_start_ticks(pid), memory_order_relaxed);
	atomic_store_explicit(&e->pid, pid, memory_order_release);
	atomic_store_explicit(&e->wait, wait, memory_order_relaxed);
	atomic_store_explicit(&e->waits, 0, memory_order_relaxed);
	atomic_store_explicit(&e->sleeps, 0, memory_order_relaxed);
	atomic_store_explicit(&e->timeouts, 0, memory_order_relaxed);
}

/* Detach one ACTIVE entry whose owner died; 1 if this call detached it. */
static int entry_reap(struct zipc_ring_peer *e, _Atomic uint32_t *active_count)
{
	if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE || zipc__peer_alive(e))
		return 0;
	uint32_t expect = ZIPC_PEER_ACTIVE;
	if (!atomic_compare_exchange_strong_explicit(&e->state, &expect, ZIPC_PEER_BUSY, memory_order_acq_rel,
						     memory_order_relaxed))
		return 0;
	atomic_store_explicit(&e->pid, 0, memory_order_relaxed);
	atomic_store_explicit(&e->state, ZIPC_PEER_FREE, memory_order_release);
	atomic_fetch_sub_explicit(active_count, 1, memory_order_acq_rel);
	return 1;
}

int zipc_ring_reap(zipc_ring *r)
{
	if (!r)
		return -EINVAL;
	if (r->read_only)
		return -EPERM;
	int n = 0;
	for (unsigned i = 0; i < r->p.max_producers; i++)
		n += entry_reap(&r->prod[i], &r->hdr->ctl.producers_active);
	for (unsigned i = 0; i < r->p.max_consumers; i++)
		n += entry_reap(&r->cons[i], &r->hdr->ctl.consumers_active);
	if (n) {
		zipc__wake_if_sleepers(&r->hdr->prod_wait);
		zipc__wake_if_sleepers(&r->hdr->cons_wait);
	}
	return n;
}

int zipc_producer_open(zipc_ring *r, const struct zipc_wait_opts *wait, zipc_producer **out)
{
	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	if (r->read_only)
		return -EPERM;
	if (wait && wait->strategy > ZIPC_WAIT_BLOCK)
		return -EINVAL;
	struct zipc_ring_hdr *h = r->hdr;
	int mp = !!(r->p.flags & ZIPC_RING_MULTI_PRODUCER);
	if (!mp) /* the single producer slot of a dead process may be taken over */
		entry_reap(&r->prod[0], &h->ctl.producers_active);
	zipc_producer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int idx = entry_take(r->prod, r->p.max_producers, ZIPC_PEER_FREE, ZIPC_PEER_BUSY);
	if (idx < 0) {
		free(p);
		return -EBUSY;
	}
	struct zipc_ring_peer *e = &r->prod[idx];
	p->hdr = h;
	p->data = r->data;
	p->avail = r->avail;
	p->capacity = r->p.capacity;
	p->mask = r->p.capacity - 1;
	p->stride = r->p.slot_stride;
	p->mp = (uint32_t)mp;
	p->fenceless = zipc__fenceless();
	p->index = (unsigned)idx;
	p->me = e;
	p->ring = r;
	zipc__wait_resolve(r, wait, &p->wait);
	entry_fill(e, p->wait.strategy);
	uint64_t cur = atomic_load_explicit(&h->cursor, memory_order_acquire);
	atomic_store_explicit(&e->sequence, cur, memory_order_relaxed);
	atomic_store_explicit(&e->claim_end, cur, memory_order_relaxed);
	p->next = p->published = cur;
	atomic_store_explicit(&e->state, ZIPC_PEER_ACTIVE, memory_order_release);
	atomic_fetch_add_explicit(&h->ctl.producer_attaches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
	/* the gate starts as the lowest legal value and is refreshed lazily */
	p->gate = cur >= p->capacity ? cur - p->capacity : 0;
	int rc = zipc__producer_gate(p, cur);
	if (rc && rc != -EAGAIN) {
		atomic_fetch_sub_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
		atomic_store_explicit(&e->state, ZIPC_PEER_FREE, memory_order_release);
		free(p);
		return rc;
	}
	atomic_fetch_add(&r->open_ends, 1);
	*out = p;
	return 0;
}

int zipc_producer_close(zipc_producer *p)
{
	if (!p)
		return 0;
	struct zipc_ring_hdr *h = p->hdr;
	atomic_store_explicit(&p->me->pid, 0, memory_order_relaxed);
	atomic_store_explicit(&p->me->state, ZIPC_PEER_FREE, memory_order_release);
	/* release: pairs with the consumer's acquire in consumer_empty(), so a
	 * consumer that sees no producer also sees everything published */
	atomic_fetch_sub_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
	zipc__wake_if_sleepers(&h->cons_wait); /* sleepers learn of the end of stream */
	atomic_fetch_sub(&p->ring->open_ends, 1);
	free(p);
	return 0;
}

int zipc_consumer_open(zipc_ring *r, const struct zipc_wait_opts *wait, zipc_consumer **out)
{
	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	if (r->read_only)
		return -EPERM;
	if (wait && wait->strategy > ZIPC_WAIT_BLOCK)
		return -EINVAL;
	struct zipc_ring_hdr *h = r->hdr;
	zipc_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int mp = !!(r->p.flags & ZIPC_RING_MULTI_PRODUCER);
	/* a reserved slot goes straight to ACTIVE, so it never stops gating
	 * the producer; a free slot is held BUSY while it joins */
	int reserved = 1;
	int idx = entry_take(r->cons, r->p.max_consumers, ZIPC_PEER_RESERVED, ZIPC_PEER_ACTIVE);
	if (idx < 0) {
		reserved = 0;
		idx = entry_take(r->cons, r->p.max_consumers, ZIPC_PEER_FREE, ZIPC_PEER_BUSY);
	}
	if (idx < 0) {
		free(c);
		return -EBUSY;
	}
	struct zipc_ring_peer *e = &r->cons[idx];
	zipc__wait_resolve(r, wait, &c->wait);
	entry_fill(e, c->wait.strategy);
	uint64_t seq;
	if (reserved) {
		/* a reserved slot keeps its sequence: nothing published since
		 * creation (or since its last owner) is missed */
		seq = atomic_load_explicit(&e->sequence, memory_order_acquire);
	} else {
		/* late joiner (as the Disruptor's addGatingSequences): start at
		 * the cursor, become visible, then move to the cursor again;
		 * seq_cst pairs with the fence in zipc__producer_gate() */
		seq = atomic_load_explicit(&h->cursor, memory_order_seq_cst);
		atomic_store_explicit(&e->sequence, seq, memory_order_seq_cst);
		atomic_store_explicit(&e->state, ZIPC_PEER_ACTIVE, memory_order_seq_cst);
		seq = atomic_load_explicit(&h->cursor, memory_order_seq_cst);
		atomic_store_explicit(&e->sequence, seq, memory_order_seq_cst);
	}
	atomic_fetch_add_explicit(&h->ctl.consumer_attaches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->ctl.consumers_active, 1, memory_order_relaxed);
	c->hdr = h;
	c->data = r->data;
	c->avail = r->avail;
	c->capacity = r->p.capacity;
	c->mask = r->p.capacity - 1;
	c->stride = r->p.slot_stride;
	c->mp = (uint32_t)mp;
	c->fenceless = zipc__fenceless();
	c->index = (unsigned)idx;
	c->seq = c->ready = seq;
	c->seqp = &e->sequence;
	c->me = e;
	c->ring = r;
	atomic_fetch_add(&r->open_ends, 1);
	*out = c;
	return 0;
}

int zipc_consumer_close(zipc_consumer *c)
{
	if (!c)
		return 0;
	struct zipc_ring_hdr *h = c->hdr;
	atomic_store_explicit(&c->me->pid, 0, memory_order_relaxed);
	atomic_store_explicit(&c->me->state, ZIPC_PEER_FREE, memory_order_release);
	atomic_fetch_sub_explicit(&h->ctl.consumers_active, 1, memory_order_relaxed);
	zipc__wake_if_sleepers(&h->prod_wait); /* we no longer gate anybody */
	atomic_fetch_sub(&c->ring->open_ends, 1);
	free(c);
	return 0;
}

/* ------------------------------------------------------------ copy API */

int zipc_producer_send(zipc_producer *p, const void *msg, size_t len, int64_t timeout_ns)
{
	if (!p || (!msg && len))
		return -EINVAL;
	if (len > p->ring->p.slot_size)
		return -EMSGSIZE;
	uint64_t seq;
	int rc = zipc_producer_claim(p, 1, timeout_ns, &seq);
	if (rc)
		return rc;
	memcpy(zipc_producer_slot(p, seq), msg, len);
	return zipc_producer_publish(p, seq, 1);
}

int64_t zipc_consumer_recv(zipc_consumer *c, void *buf, size_t cap, int64_t timeout_ns)
{
	if (!c || !buf)
		return -EINVAL;
	uint32_t size = c->ring->p.slot_size;
	if (cap < size)
		return -EMSGSIZE;
	uint64_t seq;
	int64_t n = zipc_consumer_wait(c, timeout_ns, &seq);
	if (n < 0)
		return n;
	memcpy(buf, zipc_consumer_slot(c, seq), size);
	zipc_consumer_release(c, 1);
	return size;
}

/* ------------------------------------------------------------ introspection */

int zipc_ring_stat(const zipc_ring *r, struct zipc_ring_stat *st, struct zipc_ring_peer_stat *peers,
		   unsigned max_peers)
{
	if (!r || !st || (max_peers && !peers))
		return -EINVAL;
	const struct zipc_ring_hdr *h = r->hdr;
	memset(st, 0, sizeof(*st));
	st->capacity = r->p.capacity;
	st->slot_size = r->p.slot_size;
	st->flags = r->p.flags;
	st->wait = r->p.wait;
	st->max_producers = r->p.max_producers;
	st->max_consumers = r->p.max_consumers;
	st->numa_node = r->p.numa_node;
	/* the cursor before and after the consumer sequences: a live ring
	 * moves while we read it, and only these bounds are certain */
	uint64_t before = atomic_load_explicit(&h->cursor, memory_order_acquire);
	st->producers_active = atomic_load_explicit(&h->ctl.producers_active, memory_order_relaxed);
	st->consumers_active = atomic_load_explicit(&h->ctl.consumers_active, memory_order_relaxed);
	st->producer_attaches = atomic_load_explicit(&h->ctl.producer_attaches, memory_order_relaxed);
	st->consumers_sleeping = atomic_load_explicit(&h->cons_wait.sleepers, memory_order_relaxed);
	st->producers_sleeping = atomic_load_explicit(&h->prod_wait.sleepers, memory_order_relaxed);
	st->consumer_wakes = atomic_load_explicit(&h->cons_wait.wakes, memory_order_relaxed);
	st->producer_wakes = atomic_load_explicit(&h->prod_wait.wakes, memory_order_relaxed);

	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		uint32_t s = atomic_load_explicit(&r->cons[i].state, memory_order_acquire);
		if (s == ZIPC_PEER_ACTIVE || s == ZIPC_PEER_RESERVED) {
			uint64_t q = atomic_load_explicit(&r->cons[i].sequence, memory_order_acquire);
			if (q < min)
				min = q;
		}
	}
	st->claimed = atomic_load_explicit(&h->cursor, memory_order_acquire);
	st->published = st->claimed;
	if (min == UINT64_MAX)
		min = st->claimed;
	if (min > st->claimed || (before > min && before - min > r->p.capacity))
		return -EPROTO;
	st->min_consumer = min;
	if (r->avail) {
		/* published watermark: contiguous availability from the slowest consumer */
		uint64_t e = min;
		while (e != st->claimed &&
		       atomic_load_explicit(&r->avail[e & (r->p.capacity - 1)], memory_order_acquire) == e + 1)
			e++;
		st->published = e;
	}
	st->fill = st->published - min;

	unsigned n = 0;
	for (int pass = 0; pass < 2; pass++) {
		const struct zipc_ring_peer *tab = pass ? r->cons : r->prod;
		unsigned count = pass ? r->p.max_consumers : r->p.max_producers;
		for (unsigned i = 0; i < count; i++) {
			const struct zipc_ring_peer *e = &tab[i];
			uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
			if (s == ZIPC_PEER_FREE)
				continue;
			if (n < max_peers) {
				struct zipc_ring_peer_stat *ps = &peers[n];
				memset(ps, 0, sizeof(*ps));
				ps->is_consumer = pass;
				ps->index = i;
				ps->state = s;
				ps->pid = atomic_load_explicit(&e->pid, memory_order_relaxed);
				ps->alive = s == ZIPC_PEER_RESERVED ? 1 : zipc__peer_alive(e);
				ps->wait = atomic_load_explicit(&e->wait, memory_order_relaxed);
				ps->sequence = atomic_load_explicit(&e->sequence, memory_order_acquire);
				ps->lag = pass && ps->sequence <= st->published ? st->published - ps->sequence : 0;
				ps->waits = atomic_load_explicit(&e->waits, memory_order_relaxed);
				ps->sleeps = atomic_load_explicit(&e->sleeps, memory_order_relaxed);
				ps->timeouts = atomic_load_explicit(&e->timeouts, memory_order_relaxed);
			}
			n++;
		}
	}
	return (int)n;
}

/* ------------------------------------------------------ out-of-line copies */

int zipc_producer_try_claim_x(zipc_producer *p, uint32_t n, uint64_t *seq)
{
	return zipc_producer_try_claim(p, n, seq);
}

int zipc_producer_claim_x(zipc_producer *p, uint32_t n, int64_t timeout_ns, uint64_t *seq)
{
	return zipc_producer_claim(p, n, timeout_ns, seq);
}

void *zipc_producer_slot_x(const zipc_producer *p, uint64_t seq)
{
	return zipc_producer_slot(p, seq);
}

int zipc_producer_publish_x(zipc_producer *p, uint64_t seq, uint32_t n)
{
	return zipc_producer_publish(p, seq, n);
}

int64_t zipc_consumer_try_peek_x(zipc_consumer *c, uint64_t *seq)
{
	return zipc_consumer_try_peek(c, seq);
}

int64_t zipc_consumer_wait_x(zipc_consumer *c, int64_t timeout_ns, uint64_t *seq)
{
	return zipc_consumer_wait(c, timeout_ns, seq);
}

const void *zipc_consumer_slot_x(const zipc_consumer *c, uint64_t seq)
{
	return zipc_consumer_slot(c, seq);
}

int zipc_consumer_release_x(zipc_consumer *c, uint32_t n)
{
	return zipc_consumer_release(c, n);
}
