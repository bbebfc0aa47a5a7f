/* SPDX-License-Identifier: MIT */
/*
 * ring/record.c - variable-length record rings (zipc/record.h): geometry and
 * validation, registration of producers and the consumer, claim / commit /
 * abort for one and for many producers, the consumer's bounds-checked
 * reader, release (with zeroing for MP), skipping a dead producer's claim,
 * waits, stat and reap.
 *
 * Memory-ordering edges (names as in zipc/bits/ring_pvt.h; every
 * non-relaxed access below names its edge):
 *   P1  producer: payload and header writes, then SP `tail` / MP header word
 *       store-release
 *   C1  consumer: SP `tail` / MP header word load-acquire, then payload
 *       reads                                                 pairs with P1
 *   C2  consumer: payload reads (MP: and the zeroing of the released bytes),
 *       then `head` store-release
 *   P2  producer: `head` load-acquire, then writes into the room  pairs with C2
 *   K1  MP producer: claim record (claim_end, then `sequence` store-release),
 *       then the `tail` CAS with release order
 *   K2  consumer looking for a dead claimer: `tail` load-acquire, then the
 *       producers' `sequence` load-acquire, then the header again
 *                                                             pairs with K1
 *   W1/S1 the waker/sleeper Dekker pair of ring_pvt.h, unchanged.
 *
 * Why the MP consumer zeroes what it releases: a header word still holds
 * whatever the previous lap left there (often payload bytes) until its
 * claimer writes it.  Zeroed before `head` moves (C2) and written by the
 * claimer only after it saw that `head` (P2), a header reads 0 or the
 * claimer's value, never stale bytes.  SP needs none of this: the consumer
 * reads only below the published `tail`.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zipc/record.h>

#include "ring_int.h"

#define DEFAULT_MP_PRODUCERS 16u
#define ALIGN_MASK ((uint64_t)ZIPC_RECORD_ALIGN - 1)
/* a producer's `sequence` when it holds no claim (MP) */
#define NO_CLAIM UINT64_MAX

_Static_assert(ZIPC_RECORD_HDR_SIZE == sizeof(uint64_t), "the header is one 64-bit word");
_Static_assert(ZIPC_RECORD_SIZE(ZIPC_RECORD_MAX_RECORD) < INT32_MAX, "lengths fit the header's int32");

/* Per-process ring handle. */
struct zipc_record_ring {
	zipc_region *region;
	struct zipc_record_ring_hdr *hdr;
	struct zipc_record_params p;  /* validated private copy of hdr->p */
	struct zipc_ring_peer *prod;  /* producer table */
	struct zipc_ring_peer *cons;  /* consumer table (one entry) */
	unsigned char *data;          /* byte 0 of the records */
	uint64_t max_size;            /* ZIPC_RECORD_SIZE(max_record) */
	int mp;
	int read_only;
	_Atomic int open_ends;        /* producers + consumers open on this handle */
};

/* Per-process producer handle. */
struct zipc_record_producer {
	struct zipc_record_ring *ring;
	struct zipc_record_ring_hdr *hdr;
	unsigned char *data;
	uint64_t capacity;
	uint64_t mask;
	uint64_t max_size;
	uint32_t max_record;
	int mp;
	int fenceless;
	struct zipc_ring_peer *me;
	struct zipc_wait_opts wait;
	uint64_t gate;      /* cached `head`: a lower bound of the consumer's position */
	uint64_t next;      /* SP: the published tail = where the next claim starts */
	uint64_t committed; /* end of this producer's last commit or abort (flush target) */
	/* the outstanding claim */
	int claimed;
	uint32_t claim_len;   /* payload bytes */
	uint64_t claim_pos;   /* position of the record's header */
	uint64_t claim_end;   /* end of the record */
	unsigned char *claim_buf;
};

/* Per-process consumer handle. */
struct zipc_record_consumer {
	struct zipc_record_ring *ring;
	struct zipc_record_ring_hdr *hdr;
	unsigned char *data;
	uint64_t capacity;
	uint64_t mask;
	uint64_t max_size;
	int mp;
	int fenceless;
	struct zipc_ring_peer *me;
	struct zipc_wait_opts wait;
	uint64_t head;  /* released (our copy of the shared head) */
	uint64_t pos;   /* next record to read; [head, pos) is read, not released */
	uint64_t ctail; /* cached tail: every position below is claimed (MP) / published (SP) */
	uint64_t pending;     /* data records read since the last release */
	uint64_t records;     /* totals, published to the head line at each release */
	uint64_t paddings;
	uint64_t dead_claims;
};

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static _Atomic uint64_t *word_at(unsigned char *data, uint64_t idx)
{
	return (_Atomic uint64_t *)(void *)(data + idx);
}

/* ------------------------------------------------------- geometry, checks */

/* Compute the offsets of every table from the geometry in @p. */
static void record_geometry(struct zipc_record_params *p)
{
	uint64_t off = sizeof(struct zipc_record_ring_hdr);
	p->prod_off = off;
	off += (uint64_t)p->max_producers * sizeof(struct zipc_ring_peer);
	p->cons_off = off;
	off += (uint64_t)p->max_consumers * sizeof(struct zipc_ring_peer);
	p->data_off = off;
	off += round_up(p->capacity, ZIPC_LINE);
	p->total_size = off + ZIPC_LINE; /* guard line after the data */
}

/* Check parameters as read from shared memory (or built from options). */
static int params_check(const struct zipc_record_params *in, uint64_t area_size)
{
	if (in->magic != ZIPC_RECORD_MAGIC)
		return -EBADMSG;
	if (in->layout != ZIPC_RECORD_LAYOUT)
		return -EPROTONOSUPPORT;
	struct zipc_record_params p = *in;
	int mp = !!(p.flags & ZIPC_RECORD_MULTI_PRODUCER);
	if ((p.flags & ~(uint32_t)ZIPC_RECORD_MULTI_PRODUCER) || !is_pow2(p.capacity) ||
	    p.capacity < ZIPC_RECORD_MIN_CAPACITY || p.capacity > ZIPC_RECORD_MAX_CAPACITY || p.max_record == 0 ||
	    p.max_record > ZIPC_RECORD_MAX_RECORD || ZIPC_RECORD_SIZE(p.max_record) > p.capacity / 2 ||
	    p.align != ZIPC_RECORD_ALIGN || p.max_producers == 0 || p.max_producers > ZIPC_RECORD_MAX_PRODUCERS ||
	    (!mp && p.max_producers != 1) || p.max_consumers != 1 || p.wait < ZIPC_WAIT_SPIN ||
	    p.wait > ZIPC_WAIT_URING || p.numa_node < -1)
		return -EPROTO;
	record_geometry(&p);
	if (p.prod_off != in->prod_off || p.cons_off != in->cons_off || p.data_off != in->data_off ||
	    p.total_size != in->total_size)
		return -EPROTO;
	if (p.total_size > area_size)
		return -ENODATA;
	return 0;
}

static int record_init_area(void *area, uint64_t size, void *arg)
{
	const struct zipc_record_params *p = arg;
	if (p->total_size > size)
		return -ENOMEM;
	/* the memfd is zero-filled (every header reads 0, head = tail = 0,
	 * every peer slot FREE) and nobody sees the area before the region's
	 * layout word is published: only the parameters need writing */
	struct zipc_record_ring_hdr *h = area;
	h->p = *p;
	return 0;
}

static void wait_resolve(uint32_t dflt, const struct zipc_wait_opts *in, struct zipc_wait_opts *out)
{
	memset(out, 0, sizeof(*out));
	if (in)
		*out = *in;
	if (out->strategy == ZIPC_WAIT_DEFAULT)
		out->strategy = dflt;
	if (out->spin_ns == 0)
		out->spin_ns = 20000;
	if (out->liveness_ns <= 0)
		out->liveness_ns = 10 * ZIPC_MSEC;
}

/* ------------------------------------------------------------------ ring */

int zipc_record_ring_create(const char *name, const struct zipc_record_opts *o, zipc_record_ring **out)
{
	if (!o || !out)
		return -EINVAL;
	*out = NULL;
	struct zipc_record_params p;
	memset(&p, 0, sizeof(p));
	int mp = !!(o->flags & ZIPC_RECORD_MULTI_PRODUCER);
	p.magic = ZIPC_RECORD_MAGIC;
	p.layout = ZIPC_RECORD_LAYOUT;
	p.flags = o->flags;
	p.capacity = o->capacity;
	if (o->capacity < ZIPC_RECORD_MIN_CAPACITY || o->capacity > ZIPC_RECORD_MAX_CAPACITY)
		return -EINVAL;
	if (o->max_record) {
		p.max_record = o->max_record;
	} else { /* the largest allowed: header + payload = half the ring */
		uint64_t m = o->capacity / 2 - ZIPC_RECORD_HDR_SIZE;
		p.max_record = (uint32_t)(m < ZIPC_RECORD_MAX_RECORD ? m : ZIPC_RECORD_MAX_RECORD);
	}
	p.align = ZIPC_RECORD_ALIGN;
	p.max_producers = o->max_producers ? o->max_producers : (mp ? DEFAULT_MP_PRODUCERS : 1);
	p.max_consumers = 1;
	p.wait = o->wait ? o->wait : ZIPC_WAIT_BLOCK;
	p.numa_node = (o->region_flags & ZIPC_REGION_NUMA_BIND) ? o->numa_node : -1;
	record_geometry(&p);
	if (params_check(&p, UINT64_MAX))
		return -EINVAL;

	struct zipc_region_opts ro = {
		.size = p.total_size,
		.kind = ZIPC_KIND_RECORD,
		.flags = o->region_flags,
		.numa_node = o->numa_node,
		.group = o->group,
		.init = record_init_area,
		.init_arg = &p,
	};
	zipc_region *reg;
	int rc = zipc_region_create(name, &ro, &reg);
	if (rc)
		return rc;
	rc = zipc_record_ring_from_region(reg, out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

int zipc_record_ring_from_region(zipc_region *region, zipc_record_ring **out)
{
	if (!region || !out)
		return -EINVAL;
	*out = NULL;
	const struct zipc_region_hdr *rh = zipc_region_header(region);
	if (rh->kind != ZIPC_KIND_RECORD)
		return -EMEDIUMTYPE;
	uint64_t size = zipc_region_area_size(region);
	if (size < sizeof(struct zipc_record_ring_hdr))
		return -ENODATA;
	struct zipc_record_ring_hdr *h = zipc_region_area(region);
	struct zipc_record_ring *r = calloc(1, sizeof(*r));
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
	unsigned char *base = (unsigned char *)h;
	r->region = region;
	r->hdr = h;
	r->read_only = info.read_only;
	r->prod = (struct zipc_ring_peer *)(void *)(base + r->p.prod_off);
	r->cons = (struct zipc_ring_peer *)(void *)(base + r->p.cons_off);
	r->data = base + r->p.data_off;
	r->max_size = ZIPC_RECORD_SIZE(r->p.max_record);
	r->mp = !!(r->p.flags & ZIPC_RECORD_MULTI_PRODUCER);
	*out = r;
	return 0;
}

int zipc_record_ring_attach(const char *name, unsigned flags, zipc_record_ring **out)
{
	zipc_region *reg;
	int rc = zipc_region_attach(name, flags, &reg);
	if (rc)
		return rc;
	rc = zipc_record_ring_from_region(reg, out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

int zipc_record_ring_from_fd(int fd, unsigned flags, zipc_record_ring **out)
{
	zipc_region *reg;
	int rc = zipc_region_from_fd(fd, flags, &reg);
	if (rc)
		return rc;
	rc = zipc_record_ring_from_region(reg, out);
	if (rc)
		zipc_region_close(reg);
	return rc;
}

int zipc_record_ring_close(zipc_record_ring *r)
{
	if (!r)
		return 0;
	if (atomic_load(&r->open_ends) != 0)
		return -EBUSY;
	zipc_region_close(r->region);
	free(r);
	return 0;
}

zipc_region *zipc_record_ring_region(const zipc_record_ring *r)
{
	return r ? r->region : NULL;
}

uint64_t zipc_record_ring_capacity(const zipc_record_ring *r)
{
	return r ? r->p.capacity : 0;
}

uint32_t zipc_record_ring_max_record(const zipc_record_ring *r)
{
	return r ? r->p.max_record : 0;
}

/* ---------------------------------------------------------- registration */

/* Is the claim recorded in a dead MP producer's entry still needed by the
 * consumer (not yet passed by head)? */
static int claim_pending(const struct zipc_record_ring *r, const struct zipc_ring_peer *e)
{
	uint64_t s = atomic_load_explicit(&e->sequence, memory_order_relaxed);
	uint64_t end = atomic_load_explicit(&e->claim_end, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->hdr->h.head, memory_order_relaxed);
	return r->mp && s != NO_CLAIM && end > head;
}

int zipc_record_ring_reap(zipc_record_ring *r)
{
	if (!r)
		return -EINVAL;
	if (r->read_only)
		return -EPERM;
	struct zipc_record_ring_hdr *h = r->hdr;
	int n = 0;
	for (unsigned i = 0; i < r->p.max_producers; i++) {
		struct zipc_ring_peer *e = &r->prod[i];
		/* acquire pairs with the owner's release store of ACTIVE (its claim record) */
		if (atomic_load_explicit(&e->state, memory_order_acquire) == ZIPC_PEER_ACTIVE && claim_pending(r, e))
			continue; /* the consumer still needs its claim record to skip it */
		n += zipc__entry_reap(e, &h->ctl.producers_active);
	}
	n += zipc__entry_reap(&r->cons[0], &h->ctl.consumers_active);
	if (n) {
		zipc__wake_if_sleepers(&h->prod_wait);
		zipc__wake_if_sleepers(&h->cons_wait);
	}
	return n;
}

/* -------------------------------------------------------------- producer */

/*
 * Refresh the cached head.  @low is a position read before the head (no
 * legal head is more than a ring behind it); @end the end of the wanted
 * room.  Return: 0 (room), -EAGAIN (full), -EPROTO (impossible head).
 */
static int producer_gate(struct zipc_record_producer *p, uint64_t low, uint64_t end)
{
	struct zipc_record_ring_hdr *h = p->hdr;
	/* P2: the consumer's reads (and zeroing) of the room happened before; pairs with C2 */
	uint64_t head = atomic_load_explicit(&h->h.head, memory_order_acquire);
	/* the highest position the consumer can legitimately have reached,
	 * read after the head (the consumer may pass an earlier tail) */
	uint64_t top = p->mp ? atomic_load_explicit(&h->tail, memory_order_relaxed) : p->next;
	if ((head & ALIGN_MASK) || head > top || (low > head && low - head > p->capacity))
		return -EPROTO;
	if (head > p->gate)
		p->gate = head;
	return end - p->gate > p->capacity ? -EAGAIN : 0;
}

static void claim_set(struct zipc_record_producer *p, size_t len, uint64_t pos, uint64_t end, void **buf)
{
	p->claimed = 1;
	p->claim_len = (uint32_t)len;
	p->claim_pos = pos;
	p->claim_end = end;
	p->claim_buf = p->data + (pos & p->mask) + ZIPC_RECORD_HDR_SIZE;
	*buf = p->claim_buf;
}

/* Room needed at @cur for a record of @size bytes: padding to the end of
 * the buffer first if the record would cross it. */
static uint64_t wrap_padding(const struct zipc_record_producer *p, uint64_t cur, uint64_t size)
{
	uint64_t idx = cur & p->mask;
	return idx + size > p->capacity ? p->capacity - idx : 0;
}

static int sp_try_claim(struct zipc_record_producer *p, size_t len, void **buf)
{
	uint64_t size = ZIPC_RECORD_SIZE(len);
	uint64_t cur = p->next;
	uint64_t pad = wrap_padding(p, cur, size);
	uint64_t end = cur + pad + size;
	if (end - p->gate > p->capacity) {
		int rc = producer_gate(p, cur, end);
		if (rc)
			return rc;
	}
	if (pad) /* published with the record by the tail store (P1) */
		atomic_store_explicit(word_at(p->data, cur & p->mask), ZIPC_RECORD_WORD(pad, ZIPC_RECORD_T_PADDING),
				      memory_order_relaxed);
	claim_set(p, len, cur + pad, end, buf);
	return 0;
}

static int mp_try_claim(struct zipc_record_producer *p, size_t len, void **buf)
{
	struct zipc_record_ring_hdr *h = p->hdr;
	struct zipc_ring_peer *me = p->me;
	uint64_t size = ZIPC_RECORD_SIZE(len);
	uint64_t cur = atomic_load_explicit(&h->tail, memory_order_relaxed);
	uint64_t pad, end;
	int rc, recorded = 0;
	for (;;) {
		if (cur & ALIGN_MASK) {
			rc = -EPROTO; /* the shared tail is corrupted */
			goto fail;
		}
		pad = wrap_padding(p, cur, size);
		end = cur + pad + size;
		if (end - p->gate > p->capacity && (rc = producer_gate(p, cur, end)))
			goto fail;
		/* K1: the claim record before the tail moves, so a consumer that
		 * finds us dead knows what we held; the release also orders our
		 * previous commit before it (K2's re-check relies on that) */
		atomic_store_explicit(&me->claim_end, end, memory_order_relaxed);
		atomic_store_explicit(&me->sequence, cur, memory_order_release);
		recorded = 1;
		/* K1: release publishes the claim record with the new tail; the
		 * room itself was acquired by the gate's head load (P2) */
		if (atomic_compare_exchange_weak_explicit(&h->tail, &cur, end, memory_order_release,
							  memory_order_relaxed))
			break;
		zipc__cpu_relax();
	}
	if (pad) /* P1: a committed padding record; pairs with the consumer's C1 */
		atomic_store_explicit(word_at(p->data, cur & p->mask), ZIPC_RECORD_WORD(pad, ZIPC_RECORD_T_PADDING),
				      memory_order_release);
	/* in flight: the consumer stops here until commit */
	atomic_store_explicit(word_at(p->data, (cur + pad) & p->mask),
			      ZIPC_RECORD_WORD(-(int64_t)(len + ZIPC_RECORD_HDR_SIZE), ZIPC_RECORD_T_INFLIGHT),
			      memory_order_relaxed);
	claim_set(p, len, cur + pad, end, buf);
	return 0;
fail:
	if (recorded) /* a lost attempt must not look like a claim */
		atomic_store_explicit(&me->sequence, NO_CLAIM, memory_order_relaxed);
	return rc;
}

static int try_claim(struct zipc_record_producer *p, size_t len, void **buf)
{
	return p->mp ? mp_try_claim(p, len, buf) : sp_try_claim(p, len, buf);
}

/* A producer waiting for room or for a flush: has the consumer died? */
static int producer_live(struct zipc_record_producer *p)
{
	struct zipc_ring_peer *e = &p->ring->cons[0];
	/* acquire pairs with the consumer's release store of ACTIVE (its identity) */
	if (atomic_load_explicit(&e->state, memory_order_acquire) == ZIPC_PEER_ACTIVE && !zipc__peer_alive(e))
		return -EOWNERDEAD;
	return 0;
}

struct claim_arg {
	struct zipc_record_producer *p;
	size_t len;
	void **buf;
	uint64_t target; /* flush: head must reach this */
};

static int64_t claim_check(void *arg)
{
	struct claim_arg *a = arg;
	return try_claim(a->p, a->len, a->buf);
}

static int claim_live(void *arg)
{
	struct claim_arg *a = arg;
	return producer_live(a->p);
}

struct batch_arg {
	struct zipc_record_producer *p;
	const struct zipc_record *msgs;
	unsigned n;
};

static int batch_live(void *arg)
{
	struct batch_arg *a = arg;
	return producer_live(a->p);
}

int zipc_record_claim(zipc_record_producer *p, size_t len, int64_t timeout_ns, void **buf)
{
	if (!p || !buf || len == 0 || p->claimed)
		return -EINVAL;
	if (len > p->max_record)
		return -EMSGSIZE;
	int rc = try_claim(p, len, buf);
	if (rc != -EAGAIN || timeout_ns == 0)
		return rc;
	struct claim_arg a = {.p = p, .len = len, .buf = buf};
	struct zipc__waiter wt = {.opts = &p->wait, .w = &p->hdr->prod_wait, .me = p->me,
				  .check = claim_check, .live = claim_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

/* W1: after a commit, wake the consumer only if it announced itself. */
static void wake_consumer(struct zipc_record_producer *p)
{
	zipc__waker_fence(p->fenceless); /* W1 */
	zipc__wake_armed(&p->hdr->cons_wait);
}

int zipc_record_commit(zipc_record_producer *p, void *buf)
{
	if (!p || !p->claimed || buf != p->claim_buf)
		return -EINVAL;
	_Atomic uint64_t *w = word_at(p->claim_buf - ZIPC_RECORD_HDR_SIZE, 0);
	uint64_t word = ZIPC_RECORD_WORD(p->claim_len + ZIPC_RECORD_HDR_SIZE, ZIPC_RECORD_T_DATA);
	if (p->mp) {
		/* P1: the payload before the header; pairs with the consumer's C1 */
		atomic_store_explicit(w, word, memory_order_release);
	} else {
		atomic_store_explicit(w, word, memory_order_relaxed); /* ordered by the tail store */
		p->next = p->claim_end;
		/* P1: records (and any padding) before the tail; pairs with C1 */
		atomic_store_explicit(&p->hdr->tail, p->claim_end, memory_order_release);
	}
	p->committed = p->claim_end;
	p->claimed = 0;
	wake_consumer(p);
	return 0;
}

int zipc_record_abort(zipc_record_producer *p, void *buf)
{
	if (!p || !p->claimed || buf != p->claim_buf)
		return -EINVAL;
	p->claimed = 0;
	if (!p->mp)
		return 0; /* nothing was published: the next claim starts at the same place */
	_Atomic uint64_t *w = word_at(p->claim_buf - ZIPC_RECORD_HDR_SIZE, 0);
	/* P1: the claimed room becomes a committed padding record; pairs with C1 */
	atomic_store_explicit(w, ZIPC_RECORD_WORD(p->claim_end - p->claim_pos, ZIPC_RECORD_T_PADDING),
			      memory_order_release);
	p->committed = p->claim_end;
	wake_consumer(p);
	return 0;
}

int zipc_record_send(zipc_record_producer *p, const void *msg, size_t len, int64_t timeout_ns)
{
	if (!p || !msg)
		return -EINVAL;
	void *buf;
	int rc = zipc_record_claim(p, len, timeout_ns, &buf);
	if (rc)
		return rc;
	memcpy(buf, msg, len);
	return zipc_record_commit(p, buf);
}

/*
 * How many of @msgs (from the first) fit from position @cur, refreshing
 * the gate at most once; *end receives where they end.  Return: the count
 * (0 if not even the first fits), or -EPROTO.
 */
static int batch_plan(struct zipc_record_producer *p, const struct zipc_record *msgs, unsigned n, uint64_t cur,
		      uint64_t *endp)
{
	uint64_t pos = cur;
	unsigned k = 0;
	int refreshed = 0;
	while (k < n) {
		uint64_t size = ZIPC_RECORD_SIZE(msgs[k].len);
		uint64_t end = pos + wrap_padding(p, pos, size) + size;
		if (end - p->gate > p->capacity) {
			if (refreshed)
				break;
			refreshed = 1;
			int rc = producer_gate(p, cur, end);
			if (rc == -EAGAIN)
				break;
			if (rc)
				return rc;
		}
		pos = end;
		k++;
	}
	*endp = pos;
	return (int)k;
}

/* Write records [0, k) of @msgs from @cur: padding where one would cross
 * the end, payload, then the header (MP: release, P1; SP: relaxed, the
 * caller's tail store publishes them). */
static void batch_write(struct zipc_record_producer *p, const struct zipc_record *msgs, unsigned k, uint64_t cur)
{
	uint64_t pos = cur;
	memory_order mo = p->mp ? memory_order_release : memory_order_relaxed;
	for (unsigned i = 0; i < k; i++) {
		uint64_t size = ZIPC_RECORD_SIZE(msgs[i].len);
		uint64_t pad = wrap_padding(p, pos, size);
		if (pad) /* P1 (MP): pairs with C1 */
			atomic_store_explicit(word_at(p->data, pos & p->mask),
					      ZIPC_RECORD_WORD(pad, ZIPC_RECORD_T_PADDING), mo);
		pos += pad;
		uint64_t idx = pos & p->mask;
		memcpy(p->data + idx + ZIPC_RECORD_HDR_SIZE, msgs[i].data, msgs[i].len);
		/* P1 (MP): the payload before the header; pairs with C1 */
		atomic_store_explicit(word_at(p->data, idx),
				      ZIPC_RECORD_WORD(msgs[i].len + ZIPC_RECORD_HDR_SIZE, ZIPC_RECORD_T_DATA), mo);
		pos += size;
	}
}

/* One try of zipc_record_send_batch(): the count sent, -EAGAIN or -EPROTO. */
static int64_t batch_try(void *arg)
{
	struct batch_arg *a = arg;
	struct zipc_record_producer *p = a->p;
	struct zipc_record_ring_hdr *h = p->hdr;
	uint64_t cur, end;
	int k;
	if (!p->mp) {
		cur = p->next;
		k = batch_plan(p, a->msgs, a->n, cur, &end);
		if (k <= 0)
			return k ? k : -EAGAIN;
		batch_write(p, a->msgs, (unsigned)k, cur);
		p->next = end;
		/* P1: the records (and any padding) before the tail; pairs with C1 */
		atomic_store_explicit(&h->tail, end, memory_order_release);
	} else {
		struct zipc_ring_peer *me = p->me;
		int recorded = 0;
		cur = atomic_load_explicit(&h->tail, memory_order_relaxed);
		for (;;) {
			k = (cur & ALIGN_MASK) ? -EPROTO : batch_plan(p, a->msgs, a->n, cur, &end);
			if (k <= 0) {
				if (recorded) /* a lost attempt must not look like a claim */
					atomic_store_explicit(&me->sequence, NO_CLAIM, memory_order_relaxed);
				return k ? k : -EAGAIN;
			}
			/* K1: as in mp_try_claim(); the claim covers the whole batch */
			atomic_store_explicit(&me->claim_end, end, memory_order_relaxed);
			atomic_store_explicit(&me->sequence, cur, memory_order_release);
			recorded = 1;
			/* K1: release publishes the claim record with the new tail */
			if (atomic_compare_exchange_weak_explicit(&h->tail, &cur, end, memory_order_release,
								  memory_order_relaxed))
				break;
			zipc__cpu_relax();
		}
		/* headers stay 0 (not yet written: pending) until each is committed */
		batch_write(p, a->msgs, (unsigned)k, cur);
	}
	p->committed = end;
	wake_consumer(p);
	return k;
}

int zipc_record_send_batch(zipc_record_producer *p, const struct zipc_record *msgs, unsigned n,
			   int64_t timeout_ns)
{
	if (!p || !msgs || n == 0 || p->claimed)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (msgs[i].len == 0 || !msgs[i].data)
			return -EINVAL;
		if (msgs[i].len > p->max_record)
			return -EMSGSIZE;
	}
	struct batch_arg a = {.p = p, .msgs = msgs, .n = n};
	int64_t rc = batch_try(&a);
	if (rc != -EAGAIN || timeout_ns == 0)
		return (int)rc;
	struct zipc__waiter wt = {.opts = &p->wait, .w = &p->hdr->prod_wait, .me = p->me,
				  .check = batch_try, .live = batch_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

static int64_t flush_check(void *arg)
{
	struct claim_arg *a = arg;
	/* P2: pairs with the consumer's C2 */
	uint64_t head = atomic_load_explicit(&a->p->hdr->h.head, memory_order_acquire);
	return head >= a->target ? 0 : -EAGAIN;
}

int zipc_record_producer_flush(zipc_record_producer *p, int64_t timeout_ns)
{
	if (!p)
		return -EINVAL;
	struct claim_arg a = {.p = p, .target = p->committed};
	int64_t rc = flush_check(&a);
	if (rc != -EAGAIN || timeout_ns == 0)
		return (int)rc;
	struct zipc__waiter wt = {.opts = &p->wait, .w = &p->hdr->prod_wait, .me = p->me,
				  .check = flush_check, .live = claim_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

int zipc_record_producer_open(zipc_record_ring *r, const struct zipc_wait_opts *wait,
			      zipc_record_producer **out)
{
	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	if (r->read_only)
		return -EPERM;
	if (wait && wait->strategy > ZIPC_WAIT_URING)
		return -EINVAL;
	struct zipc_record_ring_hdr *h = r->hdr;
	if (!r->mp) /* the single producer slot of a dead process may be taken over */
		zipc__entry_reap(&r->prod[0], &h->ctl.producers_active);
	struct zipc_record_producer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int idx = zipc__entry_take(r->prod, r->p.max_producers, ZIPC_PEER_FREE, ZIPC_PEER_BUSY);
	if (idx < 0) {
		free(p);
		return -EBUSY;
	}
	struct zipc_ring_peer *e = &r->prod[idx];
	p->ring = r;
	p->hdr = h;
	p->data = r->data;
	p->capacity = r->p.capacity;
	p->mask = r->p.capacity - 1;
	p->max_size = r->max_size;
	p->max_record = r->p.max_record;
	p->mp = r->mp;
	p->fenceless = zipc__fenceless();
	p->me = e;
	wait_resolve(r->p.wait, wait, &p->wait);
	zipc__entry_fill(e, p->wait.strategy);

	/* the tail before and after the head: only these bounds are certain
	 * on a live ring.  acquire: SP takes over a published tail (P1) */
	uint64_t t1 = atomic_load_explicit(&h->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&h->h.head, memory_order_acquire); /* P2 */
	uint64_t t2 = atomic_load_explicit(&h->tail, memory_order_acquire);
	if (((t2 | head) & ALIGN_MASK) || head > t2 || (t1 > head && t1 - head > p->capacity)) {
		zipc__entry_free(e);
		free(p);
		return -EPROTO;
	}
	p->next = t2;
	p->gate = head;
	uint64_t seq = p->mp ? NO_CLAIM : t2;
	atomic_store_explicit(&e->claim_end, seq, memory_order_relaxed);
	atomic_store_explicit(&e->sequence, seq, memory_order_relaxed);
	/* release: our identity and claim record before we count as a producer */
	atomic_store_explicit(&e->state, ZIPC_PEER_ACTIVE, memory_order_release);
	/* active before attaches, attaches with release: a consumer that sees
	 * the attach (acquire, in consumer_empty()) sees the active count
	 * too, so it never reports a false end of stream */
	atomic_fetch_add_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
	atomic_fetch_add_explicit(&h->ctl.producer_attaches, 1, memory_order_release);
	atomic_fetch_add(&r->open_ends, 1);
	*out = p;
	return 0;
}

int zipc_record_producer_close(zipc_record_producer *p)
{
	if (!p)
		return 0;
	struct zipc_record_ring_hdr *h = p->hdr;
	if (p->claimed)
		zipc_record_abort(p, p->claim_buf);
	zipc__entry_free(p->me);
	/* release: pairs with the consumer's acquire in consumer_empty(), so a
	 * consumer that sees no producer also sees everything committed */
	atomic_fetch_sub_explicit(&h->ctl.producers_active, 1, memory_order_acq_rel);
	zipc__wake_if_sleepers(&h->cons_wait); /* the consumer learns of the end of stream */
	atomic_fetch_sub(&p->ring->open_ends, 1);
	free(p);
	return 0;
}

/* -------------------------------------------------------------- consumer */

/* Zero [from, to) of the buffer (at most one lap), split at its end. */
static void zero_range(unsigned char *data, uint64_t mask, uint64_t from, uint64_t to)
{
	uint64_t len = to - from, idx = from & mask, cap = mask + 1;
	uint64_t first = len < cap - idx ? len : cap - idx;
	memset(data + idx, 0, first);
	if (len > first)
		memset(data, 0, len - first);
}

/* Load and check the shared tail.  Return: 0 or -EPROTO. */
static int consumer_tail(struct zipc_record_consumer *c)
{
	/* C1 (SP): records below the tail are complete; K2 (MP): claim records
	 * stored before the tail moved are visible */
	uint64_t t = atomic_load_explicit(&c->hdr->tail, memory_order_acquire);
	if ((t & ALIGN_MASK) || t - c->head > c->capacity || t < c->pos)
		return -EPROTO; /* behind what we read, or more than a lap ahead */
	c->ctail = t;
	return 0;
}

/* Nothing to read at c->pos: end of stream (-EPIPE), just empty (-EAGAIN),
 * or 1 if records arrived meanwhile. */
static int consumer_empty(struct zipc_record_consumer *c)
{
	struct zipc_record_ring_hdr *h = c->hdr;
	/* attaches first: acquire pairs with the release increment in
	 * zipc_record_producer_open(), made after producers_active's, so an
	 * attached producer is counted active below until it closes */
	if (atomic_load_explicit(&h->ctl.producer_attaches, memory_order_acquire) == 0)
		return -EAGAIN;
	/* acquire pairs with the release decrement in zipc_record_producer_close():
	 * everything the last producer committed is visible now */
	if (atomic_load_explicit(&h->ctl.producers_active, memory_order_acquire) != 0)
		return -EAGAIN;
	int rc = consumer_tail(c);
	if (rc)
		return rc;
	return c->pos == c->ctail ? -EPIPE : 1;
}

/*
 * The reader: the next data record at c->pos, skipping padding, checking
 * every length and type read from shared memory before it is used.
 * Return: 0 (*buf, *len set), -EAGAIN, -EPIPE or -EPROTO.
 */
static int read_one(struct zipc_record_consumer *c, const void **buf, size_t *len)
{
	for (;;) {
		uint64_t pos = c->pos;
		if (pos == c->ctail) {
			int rc = consumer_tail(c);
			if (rc)
				return rc;
			if (pos == c->ctail) {
				rc = consumer_empty(c);
				if (rc != 1)
					return rc;
				continue;
			}
		}
		uint64_t idx = pos & c->mask; /* 8-aligned: pos always is */
		/* C1 (MP): the header word, stored last by its producer; pairs with P1 */
		uint64_t w = atomic_load_explicit(word_at(c->data, idx), memory_order_acquire);
		int32_t rl = ZIPC_RECORD_WORD_LEN(w);
		uint32_t type = ZIPC_RECORD_WORD_TYPE(w);
		if (rl <= 0) {
			/* SP: everything below the published tail is committed */
			if (!c->mp || (rl == 0 && type != 0) || (rl < 0 && type != ZIPC_RECORD_T_INFLIGHT))
				return -EPROTO;
			return -EAGAIN; /* claimed, not yet committed */
		}
		uint64_t size = ((uint64_t)rl + ALIGN_MASK) & ~ALIGN_MASK;
		if ((uint64_t)rl < ZIPC_RECORD_HDR_SIZE || size > c->max_size || idx + size > c->capacity)
			return -EPROTO; /* too short, too long, or crossing the end of the buffer */
		if (pos + size > c->ctail) {
			int rc = consumer_tail(c);
			if (rc)
				return rc;
			if (pos + size > c->ctail)
				return -EPROTO; /* runs past what was claimed / published */
		}
		if (type == ZIPC_RECORD_T_PADDING) {
			if ((uint64_t)rl != size)
				return -EPROTO; /* padding fills aligned room exactly */
			c->pos = pos + size;
			c->paddings++;
			continue;
		}
		if (type != ZIPC_RECORD_T_DATA || (uint64_t)rl == ZIPC_RECORD_HDR_SIZE)
			return -EPROTO;
		*buf = c->data + idx + ZIPC_RECORD_HDR_SIZE;
		*len = (size_t)rl - ZIPC_RECORD_HDR_SIZE;
		c->pos = pos + size;
		c->pending++;
		return 0;
	}
}

/*
 * The consumer waits: has a producer it depends on died?
 *  - nothing claimed beyond us: -EOWNERDEAD if a producer died and (MP) no
 *    live producer is left;
 *  - MP, the record at c->pos is claimed but not committed: find who holds
 *    it from the claim records (K2).  A live holder: keep waiting.  Exactly
 *    one dead holder: skip its claim (the bytes are zeroed at release).
 *    Nobody we can name for two liveness periods: -EOWNERDEAD if a producer
 *    died, else -EPROTO (no live producer can hold it: corrupted).
 */
static int consumer_live(struct zipc_record_consumer *c, int *strikes)
{
	struct zipc_record_ring *r = c->ring;
	int rc = consumer_tail(c); /* K2: tail acquire before the claim records */
	if (rc)
		return rc;
	uint64_t pos = c->pos;
	int pending = pos != c->ctail;
	_Atomic uint64_t *hp = word_at(c->data, pos & c->mask);
	/* C1: pairs with P1 */
	if (pending && ZIPC_RECORD_WORD_LEN(atomic_load_explicit(hp, memory_order_acquire)) > 0)
		return 0; /* committed meanwhile */
	unsigned active = 0, dead = 0, live_holders = 0, dead_holders = 0;
	uint64_t hole_end = 0;
	for (unsigned i = 0; i < r->p.max_producers; i++) {
		struct zipc_ring_peer *e = &r->prod[i];
		/* acquire pairs with the producer's release store of ACTIVE (identity, claim record) */
		if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE)
			continue;
		active++;
		int alive = zipc__peer_alive(e);
		dead += !alive;
		if (!pending || !c->mp)
			continue;
		/* K2: pairs with the claimer's release store of its sequence (K1) */
		uint64_t s = atomic_load_explicit(&e->sequence, memory_order_acquire);
		uint64_t end = atomic_load_explicit(&e->claim_end, memory_order_relaxed);
		if (s == NO_CLAIM || s > pos || end <= pos)
			continue; /* its claim does not cover pos */
		if (alive) {
			live_holders++;
		} else {
			dead_holders++;
			hole_end = end;
		}
	}
	if (!pending) {
		*strikes = 0;
		if (dead == 0)
			return 0;
		return !c->mp || dead == active ? -EOWNERDEAD : 0;
	}
	if (!c->mp)
		return 0; /* SP: records are ready; the check will take them */
	/* K2: a holder that moved on committed first (its sequence store is a release) */
	if (ZIPC_RECORD_WORD_LEN(atomic_load_explicit(hp, memory_order_acquire)) > 0 || live_holders) {
		*strikes = 0;
		return 0;
	}
	if (dead_holders == 1) {
		/* the holder is dead: nobody will write [pos, hole_end) again */
		if (hole_end & ALIGN_MASK || hole_end > c->ctail || hole_end - pos > c->capacity)
			return -EPROTO;
		c->pos = hole_end;
		c->dead_claims++;
		*strikes = 0;
		return 0;
	}
	if (++*strikes < 2)
		return 0;
	return dead ? -EOWNERDEAD : -EPROTO;
}

/* ----------------------------------------------- waitset hooks (hidden) */

int zipc__record_consumer_ready(zipc_record_consumer *c)
{
	/* read_one() without consuming: the position comes back */
	uint64_t pos = c->pos, pending = c->pending, paddings = c->paddings;
	const void *buf;
	size_t len;
	int rc = read_one(c, &buf, &len);
	c->pos = pos;
	c->pending = pending;
	c->paddings = paddings;
	if (rc == 0)
		return 1;
	return rc == -EAGAIN ? 0 : rc;
}

struct zipc_waitword *zipc__record_consumer_waitword(zipc_record_consumer *c)
{
	return &c->hdr->cons_wait;
}

int zipc__record_consumer_liveness(zipc_record_consumer *c, int *strikes)
{
	return consumer_live(c, strikes);
}

struct read_arg {
	struct zipc_record_consumer *c;
	const void **buf;
	size_t *len;
	int strikes;
};

static int64_t read_check(void *arg)
{
	struct read_arg *a = arg;
	return read_one(a->c, a->buf, a->len);
}

static int read_live(void *arg)
{
	struct read_arg *a = arg;
	return consumer_live(a->c, &a->strikes);
}

int zipc_record_read(zipc_record_consumer *c, int64_t timeout_ns, const void **buf, size_t *len)
{
	if (!c || !buf || !len)
		return -EINVAL;
	int rc = read_one(c, buf, len);
	if (rc != -EAGAIN || timeout_ns == 0)
		return rc;
	struct read_arg a = {.c = c, .buf = buf, .len = len};
	struct zipc__waiter wt = {.opts = &c->wait, .w = &c->hdr->cons_wait, .me = c->me,
				  .check = read_check, .live = read_live, .arg = &a};
	return (int)zipc__wait_loop(&wt, timeout_ns);
}

int zipc_record_read_batch(zipc_record_consumer *c, int64_t timeout_ns, struct zipc_record *out, unsigned max)
{
	if (!c || !out || max == 0)
		return -EINVAL;
	int rc = zipc_record_read(c, timeout_ns, &out[0].data, &out[0].len);
	if (rc)
		return rc;
	unsigned n = 1;
	while (n < max && read_one(c, &out[n].data, &out[n].len) == 0)
		n++;
	return (int)n;
}

int zipc_record_release(zipc_record_consumer *c)
{
	if (!c)
		return -EINVAL;
	uint64_t from = c->head, to = c->pos;
	if (from == to)
		return 0;
	struct zipc_record_ring_hdr *h = c->hdr;
	if (c->mp) {
		/* mark the range first: a consumer that takes over after our
		 * death finishes the zeroing (see zipc_record_consumer_open()) */
		atomic_store_explicit(&h->h.release_to, to, memory_order_relaxed);
		atomic_thread_fence(memory_order_release); /* the mark before the zeroes */
		zero_range(c->data, c->mask, from, to);
	}
	c->records += c->pending;
	c->pending = 0;
	atomic_store_explicit(&h->h.records, c->records, memory_order_relaxed);
	atomic_store_explicit(&h->h.paddings, c->paddings, memory_order_relaxed);
	atomic_store_explicit(&h->h.dead_claims, c->dead_claims, memory_order_relaxed);
	c->head = to;
	/* C2: our reads and zeroing of the room before producers reuse it; pairs with P2 */
	atomic_store_explicit(&h->h.head, to, memory_order_release);
	zipc__waker_fence(c->fenceless); /* W1 */
	zipc__wake_armed(&h->prod_wait);
	return 0;
}

int64_t zipc_record_recv(zipc_record_consumer *c, void *buf, size_t cap, int64_t timeout_ns)
{
	if (!c || (!buf && cap))
		return -EINVAL;
	const void *d;
	size_t n;
	int rc = zipc_record_read(c, timeout_ns, &d, &n);
	if (rc)
		return rc;
	if (n > cap) { /* un-read the record (padding and holes before it stay passed) */
		c->pos -= ZIPC_RECORD_SIZE(n);
		c->pending--;
		return -EMSGSIZE;
	}
	memcpy(buf, d, n);
	zipc_record_release(c);
	return (int64_t)n;
}

int zipc_record_consumer_open(zipc_record_ring *r, const struct zipc_wait_opts *wait,
			      zipc_record_consumer **out)
{
	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	if (r->read_only)
		return -EPERM;
	if (wait && wait->strategy > ZIPC_WAIT_URING)
		return -EINVAL;
	struct zipc_record_ring_hdr *h = r->hdr;
	struct zipc_ring_peer *e = &r->cons[0];
	zipc__entry_reap(e, &h->ctl.consumers_active); /* take over from a dead consumer */
	struct zipc_record_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (zipc__entry_take(r->cons, 1, ZIPC_PEER_FREE, ZIPC_PEER_BUSY) < 0) {
		free(c);
		return -EBUSY;
	}
	wait_resolve(r->p.wait, wait, &c->wait);
	zipc__entry_fill(e, c->wait.strategy);
	/* acquire pairs with the previous consumer's C2: its zeroing is done */
	uint64_t head = atomic_load_explicit(&h->h.head, memory_order_acquire);
	uint64_t to = atomic_load_explicit(&h->h.release_to, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_acquire); /* C1 (SP) */
	if (((head | tail) & ALIGN_MASK) || tail - head > r->p.capacity ||
	    (r->mp && to != head && ((to & ALIGN_MASK) || to < head || to > tail))) {
		zipc__entry_free(e);
		free(c);
		return -EPROTO;
	}
	if (r->mp && to != head) {
		/* the previous consumer died while releasing [head, to): the
		 * records were consumed; finish zeroing them and move on */
		zero_range(r->data, r->p.capacity - 1, head, to);
		head = to;
		/* C2: pairs with P2 */
		atomic_store_explicit(&h->h.head, head, memory_order_release);
	}
	c->ring = r;
	c->hdr = h;
	c->data = r->data;
	c->capacity = r->p.capacity;
	c->mask = r->p.capacity - 1;
	c->max_size = r->max_size;
	c->mp = r->mp;
	c->fenceless = zipc__fenceless();
	c->me = e;
	c->head = c->pos = c->ctail = head;
	c->records = atomic_load_explicit(&h->h.records, memory_order_relaxed);
	c->paddings = atomic_load_explicit(&h->h.paddings, memory_order_relaxed);
	c->dead_claims = atomic_load_explicit(&h->h.dead_claims, memory_order_relaxed);
	atomic_store_explicit(&e->sequence, head, memory_order_relaxed);
	/* release: our identity before we count as the consumer */
	atomic_store_explicit(&e->state, ZIPC_PEER_ACTIVE, memory_order_release);
	atomic_fetch_add_explicit(&h->ctl.consumer_attaches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->ctl.consumers_active, 1, memory_order_relaxed);
	atomic_fetch_add(&r->open_ends, 1);
	zipc__wake_if_sleepers(&h->prod_wait); /* room may have been freed */
	*out = c;
	return 0;
}

int zipc_record_consumer_close(zipc_record_consumer *c)
{
	if (!c)
		return 0;
	struct zipc_record_ring_hdr *h = c->hdr;
	zipc__entry_free(c->me);
	atomic_fetch_sub_explicit(&h->ctl.consumers_active, 1, memory_order_relaxed);
	zipc__wake_if_sleepers(&h->prod_wait);
	atomic_fetch_sub(&c->ring->open_ends, 1);
	free(c);
	return 0;
}

/* ---------------------------------------------------------- introspection */

int zipc_record_ring_stat(const zipc_record_ring *r, struct zipc_record_stat *st,
			  struct zipc_ring_peer_stat *peers, unsigned max_peers)
{
	if (!r || !st || (max_peers && !peers))
		return -EINVAL;
	const struct zipc_record_ring_hdr *h = r->hdr;
	memset(st, 0, sizeof(*st));
	st->capacity = r->p.capacity;
	st->max_record = r->p.max_record;
	st->flags = r->p.flags;
	st->wait = r->p.wait;
	st->max_producers = r->p.max_producers;
	st->numa_node = r->p.numa_node;
	/* the tail before and after the head: a live ring moves while we
	 * read it, and only these bounds are certain.  acquire pairs with
	 * the stores that move them (P1 for SP, K1 for MP, C2 for the head),
	 * so the three reads are in order */
	uint64_t t1 = atomic_load_explicit(&h->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&h->h.head, memory_order_acquire);
	uint64_t t2 = atomic_load_explicit(&h->tail, memory_order_acquire);
	if (((t2 | head) & ALIGN_MASK) || head > t2 || (t1 > head && t1 - head > r->p.capacity))
		return -EPROTO;
	st->tail = t2;
	st->head = head;
	st->fill = t2 - head > r->p.capacity ? r->p.capacity : t2 - head;
	st->producers_active = atomic_load_explicit(&h->ctl.producers_active, memory_order_relaxed);
	st->consumers_active = atomic_load_explicit(&h->ctl.consumers_active, memory_order_relaxed);
	st->producer_attaches = atomic_load_explicit(&h->ctl.producer_attaches, memory_order_relaxed);
	st->consumer_attaches = atomic_load_explicit(&h->ctl.consumer_attaches, memory_order_relaxed);
	st->consumers_sleeping = atomic_load_explicit(&h->cons_wait.sleepers, memory_order_relaxed);
	st->producers_sleeping = atomic_load_explicit(&h->prod_wait.sleepers, memory_order_relaxed);
	st->consumer_wakes = atomic_load_explicit(&h->cons_wait.wakes, memory_order_relaxed);
	st->producer_wakes = atomic_load_explicit(&h->prod_wait.wakes, memory_order_relaxed);
	st->records = atomic_load_explicit(&h->h.records, memory_order_relaxed);
	st->paddings = atomic_load_explicit(&h->h.paddings, memory_order_relaxed);
	st->dead_claims = atomic_load_explicit(&h->h.dead_claims, memory_order_relaxed);

	unsigned n = 0;
	for (int pass = 0; pass < 2; pass++) {
		const struct zipc_ring_peer *tab = pass ? r->cons : r->prod;
		unsigned count = pass ? 1 : r->p.max_producers;
		for (unsigned i = 0; i < count; i++) {
			const struct zipc_ring_peer *e = &tab[i];
			/* acquire pairs with the owner's release store of its state */
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
				ps->alive = zipc__peer_alive(e);
				ps->wait = atomic_load_explicit(&e->wait, memory_order_relaxed);
				ps->sequence = pass ? head : atomic_load_explicit(&e->sequence, memory_order_relaxed);
				ps->lag = pass ? t2 - head : 0;
				ps->waits = atomic_load_explicit(&e->waits, memory_order_relaxed);
				ps->sleeps = atomic_load_explicit(&e->sleeps, memory_order_relaxed);
				ps->timeouts = atomic_load_explicit(&e->timeouts, memory_order_relaxed);
			}
			n++;
		}
	}
	return (int)n;
}
