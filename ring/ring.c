/* SPDX-License-Identifier: MIT */
/*
 * ring/ring.c - ring set-up and validation, producer/consumer registration,
 * introspection (stat), reaping of dead peers, copy helpers and the
 * out-of-line copies of the inline hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../shm/shm_pvt.h"
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
	p->slot_stride = (uint32_t)(ZIPC_STAMP_BYTES + round_up(p->slot_size, 8));
	p->prod_off = off;
	off += (uint64_t)p->max_producers * sizeof(struct zipc_ring_peer);
	p->cons_off = off;
	off += (uint64_t)p->max_consumers * sizeof(struct zipc_ring_peer);
	p->groups_off = off;
	off += (uint64_t)ZIPC_RING_MAX_GROUPS * sizeof(struct zipc_ring_group);
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
	    p.wait > ZIPC_WAIT_URING || p.numa_node < -1 || p.grow_after_ns < 0 || (mp && p.grow_after_ns))
		return -EPROTO;
	ring_geometry(&p);
	if (p.slot_stride != in->slot_stride || p.prod_off != in->prod_off || p.cons_off != in->cons_off ||
	    p.data_off != in->data_off || p.total_size != in->total_size ||
	    p.groups_off != in->groups_off)
		return -EPROTO;
	if (p.total_size > area_size)
		return -ENODATA;
	return 0;
}

struct ring_init {
	struct zipc_ring_params p;
	uint32_t reserved_mask;    /* consumer slots created RESERVED */
	uint32_t generation;       /* grow chain: 0 for a first ring */
	uint64_t start;            /* first sequence (a successor continues its predecessor) */
	uint32_t after[ZIPC_RING_MAX_CONSUMERS];
	uint32_t group[ZIPC_RING_MAX_CONSUMERS];
};

static int ring_init_area(void *area, uint64_t size, void *arg)
{
	const struct ring_init *ri = arg;
	if (ri->p.total_size > size)
		return -ENOMEM;
	struct zipc_ring_hdr *h = area;
	unsigned char *base = area;
	/* the memfd is zero-filled: only non-zero fields need writing, and
	 * nobody can see the area before the region's layout word is set */
	h->p = ri->p;
	h->ctl.generation = ri->generation;
	atomic_store_explicit(&h->cursor, ri->start, memory_order_relaxed);
	struct zipc_ring_peer *cons = (struct zipc_ring_peer *)(base + ri->p.cons_off);
	for (unsigned i = 0; i < ri->p.max_consumers; i++) {
		if (!(ri->reserved_mask >> i & 1))
			continue;
		atomic_store_explicit(&cons[i].sequence, ri->start, memory_order_relaxed);
		atomic_store_explicit(&cons[i].after, ri->after[i], memory_order_relaxed);
		atomic_store_explicit(&cons[i].group, ri->group[i], memory_order_relaxed);
		atomic_store_explicit(&cons[i].state, ZIPC_PEER_RESERVED, memory_order_relaxed);
	}
	struct zipc_ring_group *groups = (struct zipc_ring_group *)(base + ri->p.groups_off);
	for (unsigned g = 0; g < ZIPC_RING_MAX_GROUPS; g++)
		atomic_store_explicit(&groups[g].work, ri->start, memory_order_relaxed);
	return 0;
}

/* Fill ri->p from @o; 0 or -EINVAL. */
static int ring_params(const char *name, const struct zipc_ring_opts *o, struct ring_init *ri)
{
	struct zipc_ring_params *p = &ri->p;
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
	p->grow_after_ns = o->grow_after_ns;
	if (o->grow_after_ns && (!name || (o->region_flags & ZIPC_REGION_ANONYMOUS)))
		return -EINVAL; /* consumers follow a grown ring by name */
	ring_geometry(p);
	return params_check(p, UINT64_MAX) ? -EINVAL : 0;
}

static int ring_create_init(const char *name, const struct zipc_ring_opts *o, struct ring_init *ri,
			    zipc_ring **out)
{
	struct zipc_region_opts ro = {
		.size = ri->p.total_size,
		.kind = ZIPC_KIND_RING,
		.flags = o->region_flags,
		.numa_node = o->numa_node,
		.group = o->group,
		.init = ring_init_area,
		.init_arg = ri,
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

int zipc_ring_create(const char *name, const struct zipc_ring_opts *o, zipc_ring **out)
{
	if (!o || !out)
		return -EINVAL;
	*out = NULL;
	struct ring_init ri;
	memset(&ri, 0, sizeof(ri));
	int rc = ring_params(name, o, &ri);
	if (rc)
		return rc;
	int32_t reserved = o->reserved_consumers == 0 ? 1 : o->reserved_consumers;
	if (reserved == ZIPC_RING_NO_RESERVE)
		reserved = 0;
	if (reserved < 0 || (uint32_t)reserved > ri.p.max_consumers)
		return -EINVAL;
	ri.reserved_mask = reserved >= 32 ? UINT32_MAX : (1u << reserved) - 1;
	return ring_create_init(name, o, &ri, out);
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
	r->data = base + r->p.data_off;
	r->groups = (struct zipc_ring_group *)(base + r->p.groups_off);
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
	/* a producer's grow chain: earlier successors it kept alive */
	zipc_ring *prev = r->prev_gen;
	zipc_region_close(r->region);
	free(r);
	while (prev) {
		zipc_ring *next = prev->prev_gen;
		zipc_region_close(prev->region);
		free(prev);
		prev = next;
	}
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

int zipc_ring_reap(zipc_ring *r)
{
	if (!r)
		return -EINVAL;
	if (r->read_only)
		return -EPERM;
	int n = 0;
	for (unsigned i = 0; i < r->p.max_producers; i++)
		n += zipc__entry_reap(&r->prod[i], &r->hdr->ctl.producers_active);
	for (unsigned i = 0; i < r->p.max_consumers; i++)
		n += zipc__entry_reap(&r->cons[i], &r->hdr->ctl.consumers_active);
	if (n) {
		zipc__wake_if_sleepers(&r->hdr->prod_wait);
		zipc__wake_if_sleepers(&r->hdr->cons_wait);
		zipc__wake_if_sleepers(&r->hdr->stage_wait);
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
	if (wait && wait->strategy > ZIPC_WAIT_URING)
		return -EINVAL;
	struct zipc_ring_hdr *h = r->hdr;
	int mp = !!(r->p.flags & ZIPC_RING_MULTI_PRODUCER);
	if (!mp) /* the single producer slot of a dead process may be taken over */
		zipc__entry_reap(&r->prod[0], &h->ctl.producers_active);
	zipc_producer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int idx = zipc__entry_take(r->prod, r->p.max_producers, ZIPC_PEER_FREE, ZIPC_PEER_BUSY);
	if (idx < 0) {
		free(p);
		return -EBUSY;
	}
	struct zipc_ring_peer *e = &r->prod[idx];
	p->hdr = h;
	p->data = r->data;
	p->capacity = r->p.capacity;
	p->mask = r->p.capacity - 1;
	p->stride = r->p.slot_stride;
	p->mp = (uint32_t)mp;
	p->fenceless = zipc__fenceless();
	p->index = (unsigned)idx;
	p->me = e;
	p->ring = r;
	p->origin = r;
	zipc__wait_resolve(r, wait, &p->wait);
	zipc__entry_fill(e, p->wait.strategy);
	uint64_t cur = atomic_load_explicit(&h->cursor, memory_order_acquire);
	atomic_store_explicit(&e->sequence, cur, memory_order_relaxed);
	atomic_store_explicit(&e->claim_end, cur, memory_order_relaxed);
	p->next = p->published = cur;
	atomic_store_explicit(&e->state, ZIPC_PEER_ACTIVE, memory_order_release);
	/* active before attaches (release): a consumer that sees the attach
	 * sees the active count too, never a false end of stream */
	atomic_fetch_add_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
	atomic_fetch_add_explicit(&h->ctl.producer_attaches, 1, memory_order_release);
	/* the gate starts as the lowest legal value and is refreshed lazily */
	p->gate = cur >= p->capacity ? cur - p->capacity : 0;
	int rc = zipc__producer_gate(p, cur);
	if (rc && rc != -EAGAIN) {
		/* undo in reverse order: never attaches > 0 with this one gone first */
		atomic_fetch_sub_explicit(&h->ctl.producer_attaches, 1, memory_order_acq_rel);
		atomic_fetch_sub_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
		atomic_store_explicit(&e->state, ZIPC_PEER_FREE, memory_order_release);
		free(p);
		return rc;
	}
	atomic_fetch_add(&r->open_ends, 1);
	*out = p;
	return 0;
}

/* Deregister a producer entry of @h (end of stream when it was the last). */
static void producer_leave(struct zipc_ring_hdr *h, struct zipc_ring_peer *e)
{
	atomic_store_explicit(&e->pid, 0, memory_order_relaxed);
	atomic_store_explicit(&e->state, ZIPC_PEER_FREE, memory_order_release);
	/* release: pairs with the consumer's acquire in consumer_empty(), so a
	 * consumer that sees no producer also sees everything published */
	atomic_fetch_sub_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
	zipc__wake_if_sleepers(&h->cons_wait); /* sleepers learn of the end of stream */
	zipc__wake_if_sleepers(&h->stage_wait);
}

int zipc_producer_close(zipc_producer *p)
{
	if (!p)
		return 0;
	producer_leave(p->hdr, p->me);
	atomic_fetch_sub(&p->ring->open_ends, 1);
	if (p->owned)
		zipc_ring_close(p->owned);
	free(p);
	return 0;
}

/* Length of @name without a trailing ".g<digits>" grow suffix. */
static size_t chain_base_len(const char *name, uint32_t generation)
{
	size_t len = strlen(name);
	if (generation == 0)
		return len;
	size_t i = len;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	if (i >= 2 && i < len && name[i - 1] == 'g' && name[i - 2] == '.')
		return i - 2;
	return len;
}

int zipc__producer_grow(zipc_producer *p)
{
	struct zipc_ring *r = p->ring;
	struct zipc_ring_hdr *h = r->hdr;
	if (p->mp || p->next != p->published || r->p.capacity * 2 > ZIPC_RING_MAX_CAPACITY ||
	    atomic_load_explicit(&h->ctl.sealed, memory_order_acquire))
		return -EAGAIN;
	const struct zipc_region_hdr *rh = zipc_region_header(r->region);
	uint32_t gen = h->ctl.generation + 1;
	char succ[ZIPC_NAME_MAX + 16];
	int len = snprintf(succ, sizeof(succ), "%.*s.g%u", (int)chain_base_len(rh->name, gen - 1), rh->name, gen);
	if (len < 0 || len > (int)ZIPC_NAME_MAX)
		return -ENAMETOOLONG;

	struct zipc_ring_opts o = {
		.capacity = r->p.capacity * 2,
		.slot_size = r->p.slot_size,
		.max_producers = 1,
		.max_consumers = r->p.max_consumers,
		.wait = r->p.wait,
		.region_flags = (r->p.numa_node >= 0 ? ZIPC_REGION_NUMA_BIND : 0) |
				(rh->group >= 0 ? ZIPC_REGION_GROUP : 0),
		.numa_node = r->p.numa_node,
		.group = rh->group,
		.grow_after_ns = r->p.grow_after_ns,
	};
	struct ring_init ri;
	memset(&ri, 0, sizeof(ri));
	int rc = ring_params(succ, &o, &ri);
	if (rc)
		return rc;
	/* every consumer slot that gates here gates the successor from the
	 * seal on, with the same slot index, barrier and group */
	ri.generation = gen;
	ri.start = p->published;
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		uint32_t st = atomic_load_explicit(&r->cons[i].state, memory_order_acquire);
		if (st != ZIPC_PEER_ACTIVE && st != ZIPC_PEER_RESERVED && st != ZIPC_PEER_BUSY)
			continue;
		ri.reserved_mask |= 1u << i;
		ri.after[i] = atomic_load_explicit(&r->cons[i].after, memory_order_relaxed);
		ri.group[i] = atomic_load_explicit(&r->cons[i].group, memory_order_relaxed);
	}
	zipc_ring *nr;
	if ((rc = ring_create_init(succ, &o, &ri, &nr)))
		return rc;
	zipc_producer *np;
	if ((rc = zipc_producer_open(nr, &p->wait, &np))) {
		zipc_ring_close(nr);
		return rc;
	}
	/* seal: nothing at or after sealed_at is published here any more;
	 * release pairs with the consumer's acquire in consumer_empty() */
	atomic_store_explicit(&h->ctl.sealed_at, p->published, memory_order_relaxed);
	memcpy(h->ctl.successor, succ, (size_t)len + 1);
	atomic_store_explicit(&h->ctl.sealed, 1, memory_order_release);
	producer_leave(h, p->me);
	atomic_fetch_sub(&r->open_ends, 1);
	/* keep earlier generations alive: slow consumers still follow them */
	nr->prev_gen = p->owned;
	struct zipc_ring *origin = p->origin;
	*p = *np;
	p->owned = nr;
	p->origin = origin;
	free(np);
	zipc__log(ZIPC_LOG_INFO, "zipc: ring '%s' grew into '%s' (%llu slots) at sequence %llu", rh->name, succ,
		  (unsigned long long)nr->p.capacity, (unsigned long long)p->published);
	return 0;
}

/* Take exactly slot @i if it is reserved (-> ACTIVE) or free (-> BUSY). */
static int entry_take_at(struct zipc_ring_peer *tab, unsigned i, int *reserved)
{
	uint32_t expect = ZIPC_PEER_RESERVED;
	if (atomic_compare_exchange_strong_explicit(&tab[i].state, &expect, ZIPC_PEER_ACTIVE, memory_order_acq_rel,
						    memory_order_relaxed)) {
		*reserved = 1;
		return (int)i;
	}
	expect = ZIPC_PEER_FREE;
	if (atomic_compare_exchange_strong_explicit(&tab[i].state, &expect, ZIPC_PEER_BUSY, memory_order_acq_rel,
						    memory_order_relaxed)) {
		*reserved = 0;
		return (int)i;
	}
	return -1;
}

/* First member of a group to arrive: make sure the group does not hand out
 * sequences from before this member's start (stale from an earlier life). */
static void group_join(struct zipc_ring *r, unsigned self, uint32_t group, uint64_t start)
{
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		if (i == self || atomic_load_explicit(&r->cons[i].group, memory_order_relaxed) != group)
			continue;
		uint32_t st = atomic_load_explicit(&r->cons[i].state, memory_order_acquire);
		if (st == ZIPC_PEER_ACTIVE || st == ZIPC_PEER_RESERVED)
			return; /* the group is live: its claim sequence is current */
	}
	_Atomic uint64_t *work = &r->groups[group - 1].work;
	uint64_t w = atomic_load_explicit(work, memory_order_relaxed);
	while (w < start &&
	       !atomic_compare_exchange_weak_explicit(work, &w, start, memory_order_acq_rel, memory_order_relaxed))
		;
}

int zipc_consumer_open_opts(zipc_ring *r, const struct zipc_consumer_opts *o, zipc_consumer **out)
{
	static const struct zipc_consumer_opts defaults;
	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	if (!o)
		o = &defaults;
	if (r->read_only)
		return -EPERM;
	unsigned ncons = r->p.max_consumers;
	uint32_t all = ncons >= 32 ? UINT32_MAX : (1u << ncons) - 1;
	if (o->wait.strategy > ZIPC_WAIT_URING || (o->flags & ~(uint32_t)ZIPC_CONSUMER_SLOT) ||
	    ((o->flags & ZIPC_CONSUMER_SLOT) && o->slot >= ncons) || (o->after & ~all) ||
	    o->group > ZIPC_RING_MAX_GROUPS || ((o->flags & ZIPC_CONSUMER_SLOT) && (o->after >> o->slot & 1)))
		return -EINVAL;
	struct zipc_ring_hdr *h = r->hdr;
	zipc_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int reserved = 0, idx;
	if (o->flags & ZIPC_CONSUMER_SLOT) {
		idx = entry_take_at(r->cons, o->slot, &reserved);
	} else {
		/* a reserved slot goes straight to ACTIVE, so it never stops
		 * gating the producer; a free slot is held BUSY while it joins */
		reserved = 1;
		idx = zipc__entry_take(r->cons, ncons, ZIPC_PEER_RESERVED, ZIPC_PEER_ACTIVE);
		if (idx < 0) {
			reserved = 0;
			idx = zipc__entry_take(r->cons, ncons, ZIPC_PEER_FREE, ZIPC_PEER_BUSY);
		}
	}
	if (idx < 0) {
		free(c);
		return -EBUSY;
	}
	if (o->after >> idx & 1) { /* a barrier on itself would never open */
		atomic_store_explicit(&r->cons[idx].state, reserved ? ZIPC_PEER_RESERVED : ZIPC_PEER_FREE,
				      memory_order_release);
		free(c);
		return -EINVAL;
	}
	struct zipc_ring_peer *e = &r->cons[idx];
	zipc__wait_resolve(r, &o->wait, &c->wait);
	zipc__entry_fill(e, c->wait.strategy);
	atomic_store_explicit(&e->after, o->after, memory_order_relaxed);
	atomic_store_explicit(&e->group, o->group, memory_order_relaxed);
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
	if (o->group)
		group_join(r, (unsigned)idx, o->group, seq);
	atomic_fetch_add_explicit(&h->ctl.consumer_attaches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->ctl.consumers_active, 1, memory_order_relaxed);
	c->hdr = h;
	c->data = r->data;
	c->capacity = r->p.capacity;
	c->mask = r->p.capacity - 1;
	c->stride = r->p.slot_stride;
	c->mp = !!(r->p.flags & ZIPC_RING_MULTI_PRODUCER);
	c->fenceless = zipc__fenceless();
	c->index = (unsigned)idx;
	c->seq = c->ready = c->claim_end = seq;
	c->seqp = &e->sequence;
	c->me = e;
	c->ring = r;
	c->origin = r;
	c->after = o->after;
	c->group = o->group;
	c->batch = o->batch ? o->batch : 64;
	if (c->batch > c->capacity)
		c->batch = (uint32_t)c->capacity;
	c->work = o->group ? &r->groups[o->group - 1].work : NULL;
	atomic_fetch_add(&r->open_ends, 1);
	*out = c;
	return 0;
}

int zipc_consumer_open(zipc_ring *r, const struct zipc_wait_opts *wait, zipc_consumer **out)
{
	struct zipc_consumer_opts o = {0};
	if (wait)
		o.wait = *wait;
	return zipc_consumer_open_opts(r, &o, out);
}

unsigned zipc_consumer_index(const zipc_consumer *c)
{
	return c ? c->index : 0;
}

/*
 * Deregister a consumer: it stops gating at once - unless another stage
 * follows it (a barrier names its slot).  Then the slot goes back to
 * RESERVED with its sequence: it keeps gating, the stages behind it see
 * exactly what it finished, and a replacement can take the slot over.
 */
static void consumer_leave(struct zipc_ring *r, struct zipc_ring_peer *e)
{
	struct zipc_ring_hdr *h = r->hdr;
	unsigned self = (unsigned)(e - r->cons);
	uint32_t next = ZIPC_PEER_FREE;
	for (unsigned i = 0; i < r->p.max_consumers; i++) {
		uint32_t st = atomic_load_explicit(&r->cons[i].state, memory_order_acquire);
		if (i != self && (st == ZIPC_PEER_ACTIVE || st == ZIPC_PEER_RESERVED) &&
		    (atomic_load_explicit(&r->cons[i].after, memory_order_relaxed) >> self & 1))
			next = ZIPC_PEER_RESERVED;
	}
	atomic_store_explicit(&e->pid, 0, memory_order_relaxed);
	atomic_store_explicit(&e->state, next, memory_order_release);
	atomic_fetch_sub_explicit(&h->ctl.consumers_active, 1, memory_order_relaxed);
	zipc__wake_if_sleepers(&h->prod_wait); /* we no longer gate anybody */
	zipc__wake_if_sleepers(&h->stage_wait); /* followers re-read their barrier */
}

int zipc_consumer_close(zipc_consumer *c)
{
	if (!c)
		return 0;
	consumer_leave(c->ring, c->me);
	atomic_fetch_sub(&c->ring->open_ends, 1);
	if (c->owned)
		zipc_ring_close(c->owned);
	free(c);
	return 0;
}

int zipc__consumer_follow(zipc_consumer *c)
{
	struct zipc_ring_hdr *h = c->hdr;
	char succ[sizeof(h->ctl.successor)];
	memcpy(succ, h->ctl.successor, sizeof(succ));
	succ[sizeof(succ) - 1] = '\0';
	uint64_t at = atomic_load_explicit(&h->ctl.sealed_at, memory_order_relaxed);
	zipc_ring *nr;
	int rc = zipc_ring_attach(succ, 0, &nr);
	if (rc)
		return rc == -ENOENT ? -EOWNERDEAD : rc; /* the producer is gone */
	if (nr->hdr->ctl.generation != h->ctl.generation + 1 || nr->p.slot_size != c->ring->p.slot_size ||
	    (nr->p.flags & ZIPC_RING_MULTI_PRODUCER) || nr->p.max_consumers <= c->index) {
		zipc_ring_close(nr);
		return -EPROTO;
	}
	struct zipc_consumer_opts o = {.wait = c->wait, .flags = ZIPC_CONSUMER_SLOT, .slot = c->index,
				       .after = c->after, .group = c->group, .batch = c->batch};
	zipc_consumer *nc;
	if ((rc = zipc_consumer_open_opts(nr, &o, &nc))) {
		zipc_ring_close(nr);
		return rc;
	}
	if (!c->group && nc->seq != at) {
		/* our slot did not gate the successor from the seal */
		zipc_consumer_close(nc);
		zipc_ring_close(nr);
		return -EPROTO;
	}
	consumer_leave(c->ring, c->me);
	atomic_fetch_sub(&c->ring->open_ends, 1);
	struct zipc_ring *old = c->owned, *origin = c->origin;
	*c = *nc;
	c->owned = nr;
	c->origin = origin;
	free(nc);
	if (old)
		zipc_ring_close(old);
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
	st->consumer_sleeps = atomic_load_explicit(&h->cons_wait.sleeps, memory_order_relaxed);
	st->producer_sleeps = atomic_load_explicit(&h->prod_wait.sleeps, memory_order_relaxed);
	st->stage_wakes = atomic_load_explicit(&h->stage_wait.wakes, memory_order_relaxed);
	st->stage_sleeps = atomic_load_explicit(&h->stage_wait.sleeps, memory_order_relaxed);
	st->lost = atomic_load_explicit(&h->ctl.lost, memory_order_relaxed);
	st->generation = h->ctl.generation;
	/* acquire pairs with the sealing producer's release: name is complete */
	st->sealed = (int)atomic_load_explicit(&h->ctl.sealed, memory_order_acquire);
	if (st->sealed) {
		st->sealed_at = atomic_load_explicit(&h->ctl.sealed_at, memory_order_relaxed);
		memcpy(st->successor, h->ctl.successor, sizeof(st->successor));
		st->successor[sizeof(st->successor) - 1] = '\0';
	}

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
	if (r->p.flags & ZIPC_RING_MULTI_PRODUCER) {
		/* published watermark: contiguous stamps from the slowest consumer */
		uint64_t e = min;
		while (e != st->claimed &&
		       (atomic_load_explicit(zipc__stamp(r->data, r->p.capacity - 1, r->p.slot_stride, e),
					     memory_order_acquire) & ~ZIPC_STAMP_LOST) == e + 1)
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
				ps->group = pass ? atomic_load_explicit(&e->group, memory_order_relaxed) : 0;
				ps->after = pass ? atomic_load_explicit(&e->after, memory_order_relaxed) : 0;
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
