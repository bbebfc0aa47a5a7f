/* perf/transport_futex.c - the sleeping baseline: a raw futex ping-pong between two processes. */
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "perf.h"

/*
 * What the wake scenario compares zipc's blocking strategy with: the least
 * a sleeping hand-off can cost.  Each direction has one 32-bit word on its
 * own line; the sender stores the value and always calls FUTEX_WAKE, the
 * receiver goes straight to FUTEX_WAIT (no spin phase) and sleeps until
 * the word holds the value it expects.  The words are shared between
 * processes, so FUTEX_PRIVATE_FLAG must not be used (with it, wake-ups
 * would silently never arrive).
 */

/* Longest single sleep: the loop re-checks the run's deadline this often. */
#define FUTEX_SLICE_NS (100 * ZIPC_MSEC)

struct futex_words {
	_Alignas(128) _Atomic uint32_t ping; /* parent -> child: the value to echo */
	_Alignas(128) _Atomic uint32_t pong; /* child -> parent: the echo */
	/* the child's FUTEX_WAIT calls, stored before it exits (the parent
	 * reads it after reaping the child, which orders the two) */
	_Alignas(128) uint64_t child_sleeps;
};

/* Per-process state (each process has its own copy after fork()). */
struct futex_state {
	struct futex_words *w; /* MAP_SHARED */
	uint64_t sleeps;       /* FUTEX_WAIT calls this process made */
	uint64_t wakes;        /* FUTEX_WAKE calls this process made */
};

int perf_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / ZIPC_SEC, .tv_nsec = ns % ZIPC_SEC };
	return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts, NULL, 0) == 0 ? 0 : -errno;
}

int perf_futex_wake(_Atomic uint32_t *word, int n)
{
	long woken = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
	return woken < 0 ? -errno : (int)woken;
}

/*
 * Sleep until *@w == @want.  The word only ever moves forward by one per
 * message (32-bit, wrapping after 2^32 round trips, far beyond a run), so
 * the value seen before @want arrives is what FUTEX_WAIT must still find.
 * Acquire: pairs with the peer's release store in send_value().
 */
static int wait_value(struct futex_state *st, _Atomic uint32_t *w, uint32_t want)
{
	for (;;) {
		uint32_t cur = atomic_load_explicit(w, memory_order_acquire);
		if (cur == want)
			return 0;
		int rc = perf_stopped();
		if (rc)
			return atomic_load_explicit(w, memory_order_acquire) == want ? 0 : rc;
		st->sleeps++;
		rc = perf_futex_wait(w, cur, FUTEX_SLICE_NS);
		if (rc && rc != -EAGAIN && rc != -EINTR && rc != -ETIMEDOUT)
			return rc;
	}
}

/* Store @v (release: pairs with the peer's acquire in wait_value()) and always wake. */
static int send_value(struct futex_state *st, _Atomic uint32_t *w, uint32_t v)
{
	atomic_store_explicit(w, v, memory_order_release);
	int rc = perf_futex_wake(w, 1);
	st->wakes++;
	return rc < 0 ? rc : 0;
}

static int futex_setup(struct perf_run *run)
{
	struct futex_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->w = mmap(NULL, sizeof(*st->w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st->w == MAP_FAILED) {
		int rc = -errno;
		free(st);
		return rc;
	}
	run->priv = st;
	return 0;
}

static int futex_open(struct perf_run *run, enum perf_side side)
{
	(void)run;
	(void)side;
	return 0; /* the mapping is inherited */
}

static void futex_close(struct perf_run *run, enum perf_side side)
{
	(void)run;
	(void)side;
}

/*
 * Both sides made one FUTEX_WAKE per message by construction: the child's
 * equal the parent's in a run that succeeded.  The sleeps are counted on
 * each side.
 */
static void futex_counters(struct perf_run *run)
{
	struct futex_state *st = run->priv;
	run->sleeps = (int64_t)(st->sleeps + st->w->child_sleeps);
	run->wakes = (int64_t)(2 * st->wakes);
}

static void futex_teardown(struct perf_run *run)
{
	struct futex_state *st = run->priv;
	munmap(st->w, sizeof(*st->w));
	free(st);
	run->priv = NULL;
}

static int futex_ping(struct perf_run *run, uint64_t first, uint64_t count, int64_t *samples)
{
	struct futex_state *st = run->priv;

	for (uint64_t i = 0; i < count; i++) {
		uint32_t v = (uint32_t)(first + i + 1);
		perf_gap(run);
		int64_t t0 = perf_now_ns();
		int rc = send_value(st, &st->w->ping, v);
		if (!rc)
			rc = wait_value(st, &st->w->pong, v);
		if (rc)
			return rc;
		int64_t t1 = perf_now_ns();
		if (samples)
			samples[i] = t1 - t0;
	}
	return 0;
}

static int futex_pong(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct futex_state *st = run->priv;

	for (uint64_t i = 0; i < count; i++) {
		uint32_t v = (uint32_t)(first + i + 1);
		int rc = wait_value(st, &st->w->ping, v);
		if (!rc)
			rc = send_value(st, &st->w->pong, v);
		if (rc)
			return rc;
	}
	st->w->child_sleeps = st->sleeps;
	return 0;
}

const struct perf_transport perf_futex = {
	.name = "futex",
	.about = "raw futex ping-pong: a shared word each way, always FUTEX_WAIT / FUTEX_WAKE (wake)",
	.scenarios = 1u << PERF_WAKE,
	.kernel = 1,
	.setup = futex_setup,
	.open = futex_open,
	.close = futex_close,
	.counters = futex_counters,
	.teardown = futex_teardown,
	.ping = futex_ping,
	.pong = futex_pong,
};
