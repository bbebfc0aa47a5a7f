/* SPDX-License-Identifier: MIT */
/*
 * zipc/waitset.h - one thread sleeping on many rings and its own file
 * descriptors at once, in one io_uring.
 *
 * A waitset holds up to ZIPC_WAITSET_MAX_RINGS ring ends (consumers waiting
 * for data, producers waiting for room) and ZIPC_WAITSET_MAX_FDS file
 * descriptors (sockets, timerfds, eventfds, pipes...), each registered with
 * a caller-chosen 64-bit user_data.  zipc_waitset_wait() returns which of
 * them are ready, level-triggered as poll(2): an end that can proceed is
 * reported by every wait until the caller has consumed what made it ready.
 *
 *   zipc_waitset *ws;
 *   zipc_waitset_create(NULL, &ws);
 *   zipc_waitset_add_consumer(ws, c1, 1);
 *   zipc_waitset_add_consumer(ws, c2, 2);
 *   zipc_waitset_add_fd(ws, sock, POLLIN, 3);
 *   for (;;) {
 *       struct zipc_waitset_event ev[16];
 *       int n = zipc_waitset_wait(ws, 100 * ZIPC_MSEC, ev, 16);
 *       for (int i = 0; i < n; i++) ... drain ev[i].user_data's ring/fd ...
 *   }
 *
 * How it waits (the S1 side of the W1/S1 protocol of zipc/bits/ring_pvt.h,
 * once for many rings):
 *  1. check every ring (no system call); spin like this for spin_ns;
 *  2. announce itself in every ring's `sleepers` with a read-modify-write,
 *     read every futex word, one sleeper barrier for all, check again;
 *  3. sleep in one io_uring_enter() on one IORING_OP_FUTEX_WAIT per ring
 *     (each word is shared: no FUTEX2_PRIVATE) plus one IORING_OP_POLL_ADD
 *     per descriptor, in slices of at most liveness_ns, in which dead peers
 *     are looked for; then withdraw the announcements.
 * Futex waits whose words did not change stay armed from one wait to the
 * next, so a sleep re-arms only the rings that fired.  Publishers pay no
 * system call while the waitset is not in step 3: nobody is announced.
 *
 * Backends, chosen at zipc_waitset_create() (zipc_waitset_backend()):
 *  - "io_uring-futex": the kernel has IORING_OP_FUTEX_WAIT (Linux 6.7).
 *  - "eventfd-poll": older kernels (or ZIPC_WAITSET_FALLBACK).  Rings cannot
 *    signal an eventfd themselves (publishers only FUTEX_WAKE their word),
 *    so the waitset runs one helper thread per 127 rings; each sleeps in
 *    futex_waitv(2) (Linux 5.16) on its rings' words, as read in step 2,
 *    and writes an eventfd that the io_uring polls with the descriptors.
 *    Same guarantees, one more thread hop per wake-up.
 * Either way io_uring itself is required (Linux 5.1; not disabled by the
 * kernel.io_uring_disabled sysctl or a seccomp filter).
 *
 * Dead peers: every liveness_ns (while the wait goes on, and at the start
 * of any wait called after that much time) the waitset looks for dead
 * producers of its idle consumers and dead gating consumers of its full
 * producers, exactly as zipc_consumer_wait() / zipc_producer_claim() do
 * (including MP lost-record recovery), and reports such an end with status
 * -EOWNERDEAD.
 *
 * Thread-safety: a waitset belongs to one thread at a time; every function
 * on one waitset (and every use of the ends registered in it) must be
 * serialised by the caller.  Different waitsets are independent.  A waitset
 * does not survive fork(): in a child only zipc_waitset_close() may be
 * called on an inherited one (it releases the child's copies only).
 */
#ifndef ZIPC_WAITSET_H
#define ZIPC_WAITSET_H

#include <stdint.h>

#include <zipc/common.h>
#include <zipc/ring.h>
#include <zipc/record.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque waitset handle. */
typedef struct zipc_waitset zipc_waitset;

/** Most ring ends (consumers + producers) one waitset holds. */
#define ZIPC_WAITSET_MAX_RINGS 1024u
/** Most file descriptors one waitset holds. */
#define ZIPC_WAITSET_MAX_FDS 1024u

/** Creation flags (struct zipc_waitset_opts.flags). */
enum zipc_waitset_flags {
	/** Use the eventfd + poll backend even where the kernel has io_uring
	 * futex operations (tests, comparisons). */
	ZIPC_WAITSET_FALLBACK = 1u << 0,
};

/** What a waitset entry is (struct zipc_waitset_event.kind). */
enum zipc_waitset_kind {
	ZIPC_WAITSET_CONSUMER = 1, /**< a zipc_consumer: ready = something to read */
	ZIPC_WAITSET_PRODUCER = 2, /**< a zipc_producer: ready = room for one slot */
	ZIPC_WAITSET_RECORD_CONSUMER = 4, /**< a zipc_record_consumer: ready = a record to read */
	ZIPC_WAITSET_FD = 3,       /**< a file descriptor: ready = poll(2) events */
};

/** Options for zipc_waitset_create(); zero-initialise for defaults. */
struct zipc_waitset_opts {
	uint32_t flags;      /**< enum zipc_waitset_flags */
	uint32_t reserved;   /**< must be 0 */
	/** Check the rings in a busy loop this long (ns) before sleeping;
	 * 0 = 20000 ns; negative = sleep at once. */
	int64_t spin_ns;
	/** Look for dead peers this often (ns) while waiting; 0 = 10 ms. */
	int64_t liveness_ns;
};

/**
 * struct zipc_waitset_event - one ready entry, filled by zipc_waitset_wait().
 *
 * Rings: @revents is POLLIN (consumer: data to read, or with status -ENOMSG
 * a lost record to skip), POLLOUT (producer: room), POLLHUP (consumer, with
 * status -EPIPE: every producer closed and everything was read), or POLLERR
 * (status -EOWNERDEAD: a peer the end depends on died; -EPROTO: corrupted
 * ring).  @status is what the end's next try_peek / try_claim returns, except
 * for -EOWNERDEAD, which try_peek reports as -EAGAIN until the dead producer
 * is reaped (zipc_ring_reap(); then -EPIPE).
 * Descriptors: @revents as poll(2) reports them (POLLIN, POLLOUT, POLLERR,
 * POLLHUP...); if the kernel refused to poll the descriptor, @revents is
 * POLLNVAL and @status the error (e.g. -EBADF).
 */
struct zipc_waitset_event {
	uint64_t user_data; /**< as registered */
	uint32_t kind;      /**< enum zipc_waitset_kind */
	uint32_t revents;   /**< POLL* bits, see above */
	int32_t status;     /**< 0, or a negative code, see above */
	uint32_t reserved;  /**< 0 */
};

/** Counters of one waitset (zipc_waitset_stat()). */
struct zipc_waitset_stat {
	uint32_t rings;            /**< registered ring ends */
	uint32_t fds;              /**< registered descriptors */
	uint64_t waits;            /**< zipc_waitset_wait() calls */
	uint64_t announces;        /**< waits that announced themselves in every ring (step 2) */
	uint64_t sleeps;           /**< io_uring_enter() sleeps (step 3; several per wait if slices end) */
	uint64_t futex_arms;       /**< futex waits armed (FUTEX_WAIT SQEs, or helper re-arms) */
	uint64_t futex_wakeups;    /**< futex waits that completed (woken or value changed) */
	uint64_t fd_events;        /**< descriptor readiness reports */
	uint64_t liveness_checks;  /**< dead-peer sweeps over the rings */
	uint32_t helpers;          /**< eventfd-poll backend: helper threads running */
	uint32_t reserved;
};

/**
 * zipc_waitset_create() - make an empty waitset and its io_uring.
 * @opts: spin, liveness period and backend choice, or NULL for defaults; not
 *        retained.
 * @out:  receives the waitset, owned by the caller (zipc_waitset_close()).
 *
 * Probes the kernel for IORING_OP_FUTEX_WAIT (io_uring_get_probe_ring());
 * without it, or with ZIPC_WAITSET_FALLBACK, the eventfd-poll backend is
 * used, which needs futex_waitv(2).  Thread-safe.
 * Return: 0; -EINVAL (NULL @out, unknown flags, reserved field set);
 * -ENOMEM; -ENOSYS (neither backend is possible on this kernel); any code
 * of io_uring_queue_init_params() or eventfd() (-EMFILE, -EPERM when
 * io_uring is disabled...).
 */
ZIPC_API int zipc_waitset_create(const struct zipc_waitset_opts *opts, zipc_waitset **out);

/**
 * zipc_waitset_close() - release the waitset: its io_uring (which cancels
 * every futex wait and poll still armed), helper threads and eventfd.
 * Registered ends and descriptors are not touched (they stay the caller's).
 * @ws: a waitset or NULL.  Return: 0.
 */
ZIPC_API int zipc_waitset_close(zipc_waitset *ws);

/**
 * zipc_waitset_add_consumer() - wait for data on @c's ring.
 * @c:         an open consumer; it must stay open until removed (or the
 *             waitset is closed), and be used only by the waiting thread.
 * @user_data: any value unique within @ws; reported in its events.
 * Ready when zipc_consumer_try_peek(@c) would return anything but -EAGAIN,
 * or when a producer it depends on died (see struct zipc_waitset_event).
 * Note that checking readiness *is* a try_peek: a work-queue group member
 * takes its next batch while being checked, as zipc_consumer_wait() does.
 * Return: 0; -EINVAL (NULL argument, or a waitset inherited through
 * fork()); -EEXIST (@user_data or @c already registered); -ENOSPC (ZIPC_WAITSET_MAX_RINGS ends already); -ENOMEM or
 * -EAGAIN (eventfd-poll backend: cannot start a helper thread).
 */
ZIPC_API int zipc_waitset_add_consumer(zipc_waitset *ws, zipc_consumer *c, uint64_t user_data);

/**
 * zipc_waitset_add_producer() - wait for room (one free slot) in @p's ring.
 * @p:         an open producer, under the same rules as in add_consumer.
 * @user_data: any value unique within @ws.
 * Ready when zipc_producer_try_claim(@p, 1) would not return -EAGAIN
 * (checked without claiming), or when a consumer gating it died.
 * Return: as zipc_waitset_add_consumer().
 */
ZIPC_API int zipc_waitset_add_producer(zipc_waitset *ws, zipc_producer *p, uint64_t user_data);

/**
 * zipc_waitset_add_record_consumer() - wait for a record to read in @c's
 * record ring (zipc/record.h), beside the fixed-slot rings of the set.
 * @c:         an open record consumer, under the same rules as in add_consumer.
 * @user_data: any value unique within @ws.
 * Ready (POLLIN) when zipc_record_read(@c, 0, ...) would return a record
 * (checked without consuming it); POLLHUP with -EPIPE at end of stream;
 * POLLERR with -EOWNERDEAD / -EPROTO when a producer died or the ring is
 * corrupted.  Readiness of a record ring is checked by trying its reader,
 * so the same thread must not read @c while a wait runs.
 * Return: as zipc_waitset_add_consumer().
 */
ZIPC_API int zipc_waitset_add_record_consumer(zipc_waitset *ws, zipc_record_consumer *c, uint64_t user_data);

/**
 * zipc_waitset_add_fd() - wait for poll(2) @events on @fd.
 * @fd:        an open descriptor that supports poll; not duplicated: keep it
 *             open until removed.  The same descriptor may be added more
 *             than once (with other user_data / events).
 * @events:    POLLIN, POLLOUT, POLLPRI, POLLRDHUP (POLLERR and POLLHUP are
 *             always reported).
 * @user_data: any value unique within @ws.
 * The descriptor is polled by the io_uring (IORING_OP_POLL_ADD, one shot,
 * re-armed after each report), so readiness shows even while the rings
 * keep the thread busy.
 * Return: 0; -EBADF (@fd not open); -EINVAL (no event, or an unknown one,
 * or a waitset inherited through fork());
 * -EEXIST (@user_data in use); -ENOSPC (ZIPC_WAITSET_MAX_FDS descriptors).
 */
ZIPC_API int zipc_waitset_add_fd(zipc_waitset *ws, int fd, uint32_t events, uint64_t user_data);

/**
 * zipc_waitset_remove() - forget the entry registered with @user_data.
 * Any armed futex wait or poll of the entry is cancelled; for a descriptor
 * this function waits until the kernel has released it, so the caller may
 * close it right after.  Events already returned for it stay valid.
 * Return: 0; -EINVAL (NULL @ws, or a waitset inherited through fork());
 * -ENOENT (no such entry).
 */
ZIPC_API int zipc_waitset_remove(zipc_waitset *ws, uint64_t user_data);

/**
 * zipc_waitset_wait() - wait until at least one entry is ready.
 * @timeout_ns: most time to wait (ns); 0: check once, do not sleep;
 *              ZIPC_FOREVER: no deadline (dead peers still end the wait).
 * @events:     array receiving up to @max_events ready entries.
 * @max_events: its capacity (> 0).  When more entries are ready, the next
 *              wait starts after the last one reported (round robin), so
 *              no ring is starved.
 * One call need not report every ready entry: after a sleep it reports
 * the rings whose futex woke it (and ready descriptors) without scanning
 * the others, which the next call finds (level-triggered: an entry that
 * stays ready is always reported again).
 * Return: the number of events (> 0); -ETIMEDOUT (@timeout_ns > 0 passed
 * with nothing ready); -EAGAIN (@timeout_ns == 0 and nothing ready, as
 * zipc_consumer_wait() with a zero timeout); -EINVAL (NULL arguments,
 * @max_events 0, an empty waitset with no deadline, or a waitset inherited
 * through fork()); -EINTR is never
 * returned (signals are absorbed and the wait goes on); -ENOMEM, -EFAULT or
 * another code of a failed futex wait or io_uring_enter() (the waitset stays
 * usable).
 */
ZIPC_API int zipc_waitset_wait(zipc_waitset *ws, int64_t timeout_ns, struct zipc_waitset_event *events,
			       unsigned max_events);

/**
 * zipc_waitset_backend() - "io_uring-futex" or "eventfd-poll" (see above);
 * "" for NULL.  A static string.
 */
ZIPC_API const char *zipc_waitset_backend(const zipc_waitset *ws);

/**
 * zipc_waitset_stat() - read the waitset's counters into @st.
 * Return: 0, or -EINVAL (NULL argument).  Same thread rules as wait.
 */
ZIPC_API int zipc_waitset_stat(const zipc_waitset *ws, struct zipc_waitset_stat *st);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_WAITSET_H */
