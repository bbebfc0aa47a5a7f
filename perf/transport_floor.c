/* perf/transport_floor.c - the hardware floor: raw cache-line ping-pong, minimal Lamport ring. */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "perf.h"

/* Two 64-byte lines, against adjacent-line prefetch (as zipc's ZIPC_LINE). */
#define FLOOR_LINE 128

/* Pingpong: each side writes only its own line and spins on the other's. */
struct floor_lines {
	_Alignas(FLOOR_LINE) _Atomic uint64_t ping; /* parent: value to echo */
	_Alignas(FLOOR_LINE) _Atomic uint64_t pong; /* child: the echo */
};

/*
 * Throughput: Lamport's single-producer single-consumer ring with
 * free-running 64-bit indices (slot = index & (PERF_RING_SLOTS - 1)).
 * head and tail each own a line; each side keeps a private copy of the
 * other's index and reloads it only when that copy says full / empty.  The
 * PERF_RING_SLOTS slots of `stride` bytes follow the header.
 */
struct floor_ring {
	_Alignas(FLOOR_LINE) _Atomic uint64_t head; /* producer: messages published */
	_Alignas(FLOOR_LINE) _Atomic uint64_t tail; /* consumer: messages released */
};

/* Per-process state (each process has its own copy after fork()). */
struct floor_state {
	void *shm;          /* struct floor_lines or struct floor_ring + slots, MAP_SHARED */
	size_t shm_size;
	uint32_t stride;    /* bytes per slot: msg_bytes rounded up to 8, as zipc does */
	uint64_t index;     /* producer: head; consumer: tail (this side's index) */
	uint64_t other;     /* cached copy of the other side's index */
	unsigned char *msg; /* producer: message composed here; consumer: copied out here */
};

static int floor_setup(struct perf_run *run)
{
	struct floor_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	if (perf_kind_of(run->c->scenario) == PERF_KIND_RTT) {
		st->shm_size = sizeof(struct floor_lines);
	} else {
		st->stride = (run->c->msg_bytes + 7u) & ~7u;
		st->shm_size = sizeof(struct floor_ring) + (size_t)PERF_RING_SLOTS * st->stride;
		st->msg = calloc(1, run->c->msg_bytes);
		if (!st->msg) {
			free(st);
			return -ENOMEM;
		}
	}
	st->shm = mmap(NULL, st->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st->shm == MAP_FAILED) {
		int rc = -errno;
		free(st->msg);
		free(st);
		return rc;
	}
	run->priv = st;
	return 0;
}

static int floor_open(struct perf_run *run, enum perf_side side)
{
	(void)run;
	(void)side;
	return 0; /* the mapping is inherited */
}

static void floor_close(struct perf_run *run, enum perf_side side)
{
	(void)run;
	(void)side;
}

static void floor_teardown(struct perf_run *run)
{
	struct floor_state *st = run->priv;
	munmap(st->shm, st->shm_size);
	free(st->msg);
	free(st);
	run->priv = NULL;
}

/*
 * Spin until *w >= need; *val receives the value seen.  Acquire: pairs with
 * the peer's release store of *w, so what it wrote before is visible.
 */
static int spin_until(_Atomic uint64_t *w, uint64_t need, uint64_t *val)
{
	for (;;) {
		uint64_t v = atomic_load_explicit(w, memory_order_acquire);
		if (v >= need) {
			*val = v;
			return 0;
		}
		perf_pause();
		int rc = perf_stopped();
		if (rc) {
			v = atomic_load_explicit(w, memory_order_acquire);
			if (v < need)
				return rc;
		}
	}
}

static int floor_ping(struct perf_run *run, uint64_t first, uint64_t count, int64_t *samples)
{
	struct floor_state *st = run->priv;
	struct floor_lines *l = st->shm;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v = first + i + 1, echo;
		int64_t t0 = perf_now_ns();
		/* release: pairs with the acquire in floor_pong()'s spin_until() */
		atomic_store_explicit(&l->ping, v, memory_order_release);
		int rc = spin_until(&l->pong, v, &echo);
		if (rc)
			return rc;
		int64_t t1 = perf_now_ns();
		if (echo != v)
			run->errors++;
		if (samples)
			samples[i] = t1 - t0;
	}
	return 0;
}

static int floor_pong(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct floor_state *st = run->priv;
	struct floor_lines *l = st->shm;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v;
		int rc = spin_until(&l->ping, first + i + 1, &v);
		if (rc)
			return rc;
		/* release: pairs with the acquire in floor_ping()'s spin_until() */
		atomic_store_explicit(&l->pong, v, memory_order_release);
	}
	return 0;
}

static int floor_send(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct floor_state *st = run->priv;
	struct floor_ring *r = st->shm;
	unsigned char *data = (unsigned char *)(r + 1);
	const uint32_t size = run->c->msg_bytes, batch = run->c->batch;
	uint64_t head = st->index;

	for (uint64_t sent = 0; sent < count;) {
		uint64_t n = count - sent < batch ? count - sent : batch;
		if (head + n - st->other > PERF_RING_SLOTS) {
			/* Full per the cached tail: wait for the consumer to release enough slots. */
			int rc = spin_until(&r->tail, head + n - PERF_RING_SLOTS, &st->other);
			if (rc)
				return rc;
		}
		for (uint64_t k = 0; k < n; k++) {
			perf_stamp(st->msg, first + sent + k);
			memcpy(data + ((head + k) & (PERF_RING_SLOTS - 1)) * st->stride, st->msg, size);
		}
		head += n;
		/* release: the slot writes before head; pairs with the acquire in floor_recv() */
		atomic_store_explicit(&r->head, head, memory_order_release);
		sent += n;
	}
	st->index = head;
	return 0;
}

static int floor_recv(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct floor_state *st = run->priv;
	struct floor_ring *r = st->shm;
	const unsigned char *data = (const unsigned char *)(r + 1);
	const uint32_t size = run->c->msg_bytes, batch = run->c->batch;
	uint64_t tail = st->index, expect = first;

	for (uint64_t got = 0; got < count;) {
		if (st->other == tail) {
			/* Empty per the cached head: wait for the producer to publish. */
			int rc = spin_until(&r->head, tail + 1, &st->other);
			if (rc)
				return rc;
		}
		uint64_t n = batch == 1 ? 1 : st->other - tail;
		if (n > count - got)
			n = count - got;
		for (uint64_t k = 0; k < n; k++) {
			memcpy(st->msg, data + ((tail + k) & (PERF_RING_SLOTS - 1)) * st->stride, size);
			perf_check(run, st->msg, &expect);
		}
		tail += n;
		/* release: our reads of the slots before the producer reuses them;
		 * pairs with the acquire in floor_send()'s spin_until() */
		atomic_store_explicit(&r->tail, tail, memory_order_release);
		got += n;
	}
	st->index = tail;
	return 0;
}

const struct perf_transport perf_floor = {
	.name = "floor",
	.about = "hardware floor: raw cache-line ping-pong; minimal Lamport SPSC ring (throughput)",
	.scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT,
	.batches = 1,
	.setup = floor_setup,
	.open = floor_open,
	.close = floor_close,
	.teardown = floor_teardown,
	.ping = floor_ping,
	.pong = floor_pong,
	.send = floor_send,
	.recv = floor_recv,
};
