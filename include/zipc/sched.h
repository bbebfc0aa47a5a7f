/* SPDX-License-Identifier: MIT */
/*
 * zipc/sched.h - a fair, per-channel cancellable multi-channel job
 * scheduler (after the Rust crate mpmc-scheduler), across processes.
 *
 *   producers (any process)                     scheduler process
 *   sender --try_send--> channel 1 (ring) --.
 *   sender --send------> channel 2 (ring) ---+--> m workers, round robin,
 *   sender ------------> channel 3 (ring) --'     job() then finalize()
 *
 * A scheduler owns exactly m long-lived worker threads that all run the
 * same job function.  A controller (any thread of the scheduler's process)
 * creates channels, each with a caller-chosen 64-bit id and a bound (a
 * power of two: the most jobs the channel queues).  Producers send jobs -
 * byte strings of at most max_payload bytes - into a channel through a
 * sender: the one zipc_sched_channel_create() returns, a clone of it, or
 * one attached from another process by the scheduler's name and the
 * channel's id (zipc_sched_sender_attach()).
 *
 * Each channel is a zipc ring (single producer, or multi producer when the
 * channel allows several senders) of fixed-size slots with the channel's
 * bound as capacity, so sending costs no system call and no lock: claim a
 * slot, copy the job in, publish.
 *
 * Fairness (the exact rule): the channels sit in a fixed cyclic order (the
 * index of their slot in the scheduler's channel table).  The scheduler
 * remembers the last channel it served.  A worker that needs a job takes
 * exactly one job from the first non-empty channel after that one in the
 * cyclic order, and that channel becomes the last served.  So while a set
 * of channels stays non-empty, they are served in strict rotation: between
 * two jobs of one backlogged channel every other backlogged channel is
 * served exactly once, whatever their backlogs (20 queued vs 2 queued are
 * served alternately), and no channel waits for more than (channels - 1)
 * other jobs to be taken.  The choice is made under one mutex shared by the
 * workers (never by producers), so the rotation is global across workers.
 *
 * Running: at most m jobs run at once, because exactly m threads run them
 * (no thread per job).  A job function's result code never affects the
 * worker: it takes the next job whatever the job returned.  Idle workers
 * spin briefly (spin_ns), then sleep on one futex word in shared memory;
 * a sender wakes one of them (FUTEX_WAKE only if a worker announced itself
 * asleep) - there is no periodic tick.
 *
 * Finalize and cancel: a job runs the job function (never interrupted),
 * then, unless its channel was cancelled before the job function returned,
 * the optional finalize function.  zipc_sched_channel_cancel() drops every
 * queued job of the channel (the drop function sees each one, then its slot
 * is released), makes the channel's senders fail with -ECANCELED, and lets
 * the channel's running jobs finish their job function but skip finalize
 * (the drop function sees them instead, with their result).  Other channels
 * are not touched.
 *
 * Shutdown: by default a scheduler stops by itself once it has had a
 * channel and has none left open - every sender of every channel was
 * closed and every queue drained (a cancelled channel does not keep it
 * running).  zipc_sched_stop() stops it early, or makes a
 * ZIPC_SCHED_PERSIST scheduler stop when idle; zipc_sched_join() waits for
 * the workers; zipc_sched_destroy() frees everything.
 *
 * Cross-process: a named scheduler serves a small directory region (kind
 * ZIPC_KIND_SCHED) listing its channels, and every channel ring is served
 * as "<name>.c<slot>.<generation>".  A producer in another process attaches
 * with zipc_sched_sender_attach(name, id).  Payloads are copied bytes:
 * pointers in them mean nothing in another process.
 *
 * fork(): neither a scheduler handle nor a sender survives it - a child
 * must not use (not even close) the ones it inherited; it attaches its own
 * senders by name.
 *
 * The shared layout (directory, entry states, job slots) and the full
 * protocol are described in docs/SCHED.md.
 */
#ifndef ZIPC_SCHED_H
#define ZIPC_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <zipc/common.h>
#include <zipc/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque scheduler handle (lives in the process that created it). */
typedef struct zipc_sched zipc_sched;
/** Opaque producer end of one channel (any process). */
typedef struct zipc_sched_sender zipc_sched_sender;

/** Limits. */
#define ZIPC_SCHED_MAX_WORKERS 1024u          /**< m */
#define ZIPC_SCHED_MAX_CHANNELS 4096u         /**< channels open or cancelled at once */
#define ZIPC_SCHED_MAX_PAYLOAD (1u << 20)     /**< bytes of one job */
#define ZIPC_SCHED_MAX_BOUND (1ull << 32)     /**< jobs one channel queues */
#define ZIPC_SCHED_MAX_SENDERS ZIPC_RING_MAX_PRODUCERS /**< senders of one channel */
/** Longest scheduler name: channel rings are named "<name>.c<slot>.<gen>". */
#define ZIPC_SCHED_NAME_MAX 30

/**
 * struct zipc_sched_job - one job as the job, finalize and drop functions
 * see it.  The same structure (same address) is passed to the job function
 * and then to finalize or drop, so @result carries the job's outcome
 * across (the original's worker_fn -> R -> finalize(R)).
 */
struct zipc_sched_job {
	uint64_t channel;  /**< id of the channel the job came from */
	uint64_t seq;      /**< the job's position in its channel: 0, 1, 2... in send order
	                    *   (per sender; interleaved between senders) */
	const void *data;  /**< payload: @len bytes, 8-byte aligned; valid until the
	                    *   finalize or drop call for this job returns */
	uint32_t len;      /**< payload bytes (0..max_payload) */
	uint32_t worker;   /**< index of the worker running it, 0..m-1 (drop of a
	                    *   queued job: UINT32_MAX) */
	void *result;      /**< NULL when the job function starts; free for it to set
	                    *   (e.g. to something finalize or drop must release) */
};

/**
 * Job function: runs on a worker thread, never interrupted.  Returns 0 or a
 * negative code of the caller's choosing; the code goes to finalize and to
 * the statistics (failed jobs), and never costs the worker anything.
 * It may call any zipc_sched_* function except zipc_sched_join() and
 * zipc_sched_destroy() (-EDEADLK).
 */
typedef int (*zipc_sched_job_fn)(void *ctx, struct zipc_sched_job *job);

/**
 * Finalize function: runs on the same worker right after the job function,
 * unless the job's channel was cancelled before the job function returned.
 * @job_rc is what the job function returned.  Same calling rules.
 */
typedef void (*zipc_sched_finalize_fn)(void *ctx, struct zipc_sched_job *job, int job_rc);

/** Why the drop function is called. */
enum zipc_sched_drop_reason {
	/** A queued job was dropped (channel cancelled, scheduler stopped with
	 * ZIPC_SCHED_STOP_CANCEL or destroyed) without running.  result is NULL. */
	ZIPC_SCHED_DROP_QUEUED = 1,
	/** The job ran, but its channel was cancelled before its job function
	 * returned: finalize is skipped; release what the job left in result. */
	ZIPC_SCHED_DROP_FINALIZE = 2,
};

/**
 * Drop function (optional): lets the owner release what a job references.
 * QUEUED drops run on the thread that cancels (or a worker that finds jobs
 * sent into an already cancelled channel) while it holds the scheduler's
 * lock: keep it short and call no zipc_sched_* function of this scheduler
 * from it.  FINALIZE drops run on the worker, without the lock.
 */
typedef void (*zipc_sched_drop_fn)(void *ctx, struct zipc_sched_job *job, enum zipc_sched_drop_reason why);

/** Scheduler creation flags (struct zipc_sched_opts.flags). */
enum zipc_sched_flags {
	/** Do not stop when the last channel closes (the original's
	 * finish_on_idle = false); stop with zipc_sched_stop(). */
	ZIPC_SCHED_PERSIST = 1u << 0,
};

/** Options for zipc_sched_create(); zero-initialise, then set what you need. */
struct zipc_sched_opts {
	uint32_t workers;       /**< m: worker threads, 1..ZIPC_SCHED_MAX_WORKERS (0 is -EINVAL) */
	uint32_t max_payload;   /**< bytes per job, 0 = 64, at most ZIPC_SCHED_MAX_PAYLOAD */
	uint32_t max_channels;  /**< channel table size, 0 = 64, at most ZIPC_SCHED_MAX_CHANNELS */
	uint32_t flags;         /**< enum zipc_sched_flags */
	zipc_sched_job_fn job;  /**< required */
	zipc_sched_finalize_fn finalize; /**< optional (NULL: none) */
	zipc_sched_drop_fn drop;         /**< optional (NULL: none) */
	void *ctx;              /**< passed to job, finalize and drop; owned by the caller */
	/**
	 * An idle worker re-checks the channels this long (ns) before it
	 * sleeps - busy for the first 2 us, then yielding the CPU between
	 * looks: 0 = 20000 ns; negative = sleep at once.
	 */
	int64_t spin_ns;
	/**
	 * 0 (default): sleeping workers sleep until woken (no periodic tick);
	 * senders that die without closing are only noticed by zipc_sched_gc().
	 * > 0: a sleeping worker wakes this often (ns) and runs zipc_sched_gc().
	 */
	int64_t liveness_ns;
	uint32_t region_flags;  /**< enum zipc_region_flags for the directory and channel
	                         *   rings (ZIPC_REGION_GROUP, ZIPC_REGION_HUGETLB) */
	int group;              /**< gid granted access, with ZIPC_REGION_GROUP */
};

/** Scheduler state (struct zipc_sched_stat.state). */
enum zipc_sched_state {
	ZIPC_SCHED_RUNNING = 1,  /**< accepting channels and jobs */
	ZIPC_SCHED_STOPPING = 2, /**< stopped accepting; workers finishing their jobs */
	ZIPC_SCHED_STOPPED = 3,  /**< every worker has exited */
};

/** How zipc_sched_stop() stops. */
enum zipc_sched_stop_how {
	/** Stop once idle: as soon as no channel is open (every sender closed,
	 * every queue drained).  Stops at once if no channel is open now. */
	ZIPC_SCHED_STOP_IDLE = 0,
	/** Stop now: cancel every open channel (queued jobs dropped, running
	 * jobs finish their job function, finalize skipped), then stop. */
	ZIPC_SCHED_STOP_CANCEL = 1,
};

/** Scheduler-wide figures (zipc_sched_stat()). */
struct zipc_sched_stat {
	uint32_t state;            /**< enum zipc_sched_state */
	uint32_t workers;          /**< m */
	uint32_t channels;         /**< open channels */
	uint32_t cancelled;        /**< cancelled channels whose senders are not all closed yet */
	uint32_t running;          /**< jobs running now (job or finalize) */
	uint32_t max_running;      /**< most jobs ever running at once (never above m) */
	uint32_t sleeping;         /**< workers announced asleep on the futex */
	uint32_t reserved;
	uint64_t queued;           /**< jobs waiting in open channels (cancel removes its share) */
	uint64_t taken;            /**< jobs taken by workers */
	uint64_t completed;        /**< jobs whose job function returned */
	uint64_t failed;           /**< ... with a negative code */
	uint64_t finalized;        /**< finalize calls */
	uint64_t finalize_skipped; /**< jobs whose channel was cancelled while they ran */
	uint64_t dropped;          /**< queued jobs dropped without running */
	uint64_t bad;              /**< corrupt job slots skipped (length above max_payload,
	                            *   lost records of dead multi-producer senders) */
	uint64_t channels_created; /**< channels ever created */
	uint64_t channels_closed;  /**< channels removed because every sender closed and they drained */
	uint64_t channels_cancelled; /**< channels cancelled */
	uint64_t sleeps;           /**< times a worker went to sleep on the futex */
	uint64_t wakeups;          /**< times a sleeping worker came back (woken, or its
	                            *   liveness_ns timeout); stays put while idle */
	uint64_t wakes;            /**< FUTEX_WAKE calls made by senders and the controller */
};

/** State of a channel (struct zipc_sched_channel_stat.state). */
enum zipc_sched_channel_state {
	ZIPC_SCHED_CH_OPEN = 1,      /**< accepting jobs */
	ZIPC_SCHED_CH_CANCELLED = 3, /**< cancelled; waits for its senders to close */
};

/** One channel's figures (zipc_sched_channel_stat()). */
struct zipc_sched_channel_stat {
	uint64_t id;
	uint64_t bound;      /**< capacity in jobs */
	uint32_t state;      /**< enum zipc_sched_channel_state */
	uint32_t senders;    /**< senders registered now */
	uint32_t max_senders;
	uint32_t running;    /**< its jobs running now */
	uint64_t queued;     /**< jobs waiting */
	uint64_t taken;      /**< jobs taken by workers */
	uint64_t completed;  /**< jobs whose job function returned */
	uint64_t dropped;    /**< jobs dropped by cancel */
};

/**
 * zipc_sched_create() - create a scheduler and start its m workers.
 * @name: NULL for a scheduler used only inside this process, or a region
 *        name of at most ZIPC_SCHED_NAME_MAX characters of [A-Za-z0-9._-]
 *        under which producers in other processes find it; copied.
 * @opts: see struct zipc_sched_opts; not retained.
 * @out:  receives the handle, owned by the caller: zipc_sched_destroy()
 *        it even after it stopped by itself.
 *
 * Creates the directory region (kind ZIPC_KIND_SCHED; anonymous without a
 * name) and exactly opts->workers threads (with every signal blocked), which
 * run until the scheduler stops.  The original spawns a thread per job and
 * lets more than m jobs run; here each job runs on one of the m workers.
 * Thread-safe.
 * Return: 0; -EINVAL (NULL @opts/@out/job, workers 0 or above the maximum,
 * max_payload or max_channels above the maximum, unknown flags, negative
 * gid); -ENAMETOOLONG; -EEXIST (a live region has that name); -ENOMEM;
 * -EAGAIN (cannot start a thread); any code of zipc_region_create().
 */
ZIPC_API int zipc_sched_create(const char *name, const struct zipc_sched_opts *opts, zipc_sched **out);

/**
 * zipc_sched_channel_create() - open a channel (the original's
 * Controller::channel(id, bound)).
 * @id:          any 64-bit value, unique among the scheduler's open channels
 *               (a cancelled channel's id may be reused at once).
 * @bound:       most jobs the channel queues: a power of two, 1..
 *               ZIPC_SCHED_MAX_BOUND.  Anything else is -EINVAL.  (Bound 1
 *               needs max_senders <= 1.)
 * @max_senders: senders the channel may have at once, 0 = 1, at most
 *               ZIPC_SCHED_MAX_SENDERS; 1 makes a single-producer ring
 *               (wait-free sends), more a multi-producer ring (lock-free).
 * @out:         receives the first sender (owned by the caller,
 *               zipc_sched_sender_close()), or NULL to open the channel
 *               without one, for senders that attach later from other
 *               processes.  The channel closes when its last sender closes
 *               and its queue has drained - not before any sender attached.
 *
 * Thread-safe (the controller may be any thread, jobs included).
 * Return: 0; -EINVAL (NULL @s, bad bound or sender count); -EEXIST (an open
 * channel has @id: nothing is replaced, its jobs stay); -ENOSPC (every
 * entry of the channel table is in use); -EPIPE (the scheduler is stopping
 * or stopped); -ENOMEM; any code of zipc_ring_create() or
 * zipc_sched_sender_attach().
 */
ZIPC_API int zipc_sched_channel_create(zipc_sched *s, uint64_t id, uint64_t bound, uint32_t max_senders,
				       zipc_sched_sender **out);

/**
 * zipc_sched_channel_cancel() - cancel channel @id.
 *
 * Marks the channel cancelled in shared memory (its senders' next and
 * blocked sends return -ECANCELED), drops every queued job - the drop
 * function sees each one (ZIPC_SCHED_DROP_QUEUED) before its slot is
 * released, and the scheduler's queue length goes down by as many - and
 * makes the channel's running jobs skip finalize (ZIPC_SCHED_DROP_FINALIZE
 * instead): a worker decides right after the job function returns, so
 * finalize is skipped for every job not past that point (one already in its
 * finalize completes it).  Once this returns, no job of the channel starts.
 * A job a sender published while the cancel ran is dropped as well (by a
 * worker or zipc_sched_gc(), when it finds it).  The channel's id is free at
 * once; its ring goes away when its last sender closes.  No other channel
 * is affected.
 * Thread-safe.
 * Return: the number of queued jobs dropped (>= 0); -ENOENT (no open
 * channel has @id, e.g. it was cancelled or closed already); -EINVAL.
 */
ZIPC_API int zipc_sched_channel_cancel(zipc_sched *s, uint64_t id);

/**
 * zipc_sched_gc() - a scheduling tick by hand (the original's gc()).
 *
 * Detaches senders whose process died (zipc_ring_reap()), skips slots a
 * dead multi-producer sender claimed but never published, removes channels
 * that are closed and drained (and cancelled channels whose senders are all
 * gone), stops the scheduler if that left it idle, and wakes a worker if a
 * job is waiting.  Never needed for ordinary operation: closes and sends
 * wake the workers themselves.  Thread-safe.
 * Return: the number of channels removed (>= 0); -EINVAL.
 */
ZIPC_API int zipc_sched_gc(zipc_sched *s);

/**
 * zipc_sched_stop() - stop the scheduler early, or when idle.
 * @how: enum zipc_sched_stop_how.
 *
 * ZIPC_SCHED_STOP_IDLE: stop as soon as no channel is open (now, if none
 * is) - the default behaviour, made explicit for a ZIPC_SCHED_PERSIST
 * scheduler.  ZIPC_SCHED_STOP_CANCEL: cancel every open channel (see
 * zipc_sched_channel_cancel()) and stop now.  Once stopping, new channels
 * and attaches get -EPIPE; workers exit after their current job.
 * Does not wait: see zipc_sched_join().  Thread-safe; may be called from a job.
 * Return: 0; -EINVAL (NULL @s or unknown @how).
 */
ZIPC_API int zipc_sched_stop(zipc_sched *s, unsigned how);

/**
 * zipc_sched_join() - wait until the scheduler has stopped and join its
 * workers.
 * @timeout_ns: most time to wait (ns); 0: check once; ZIPC_FOREVER: no
 *              deadline.
 * Thread-safe (several threads may join).
 * Return: 0 (every worker has exited and was joined); -ETIMEDOUT (still
 * running; 0 timeout: -EAGAIN); -EDEADLK (called from a job: a worker
 * cannot wait for itself); -EINVAL.
 */
ZIPC_API int zipc_sched_join(zipc_sched *s, int64_t timeout_ns);

/**
 * zipc_sched_destroy() - stop (as ZIPC_SCHED_STOP_CANCEL), join the
 * workers, drop whatever is still queued (the drop function sees it), close
 * every channel ring and the directory, and free the handle.  Senders still
 * open keep their own mappings: their sends return -ECANCELED; close them
 * as usual.
 * @s: a scheduler or NULL (no-op).  Must not be used afterwards, nor
 * concurrently with any other call on it.
 * Return: 0; -EDEADLK (called from a job: nothing is done).
 */
ZIPC_API int zipc_sched_destroy(zipc_sched *s);

/**
 * zipc_sched_stat() - read the scheduler's figures into @st.
 * Takes the scheduler's lock briefly.  Thread-safe.
 * Return: 0; -EINVAL.
 */
ZIPC_API int zipc_sched_stat(zipc_sched *s, struct zipc_sched_stat *st);

/**
 * zipc_sched_channel_stat() - read channel @id's figures into @st (an open
 * channel, or a cancelled one still waiting for its senders).
 * Thread-safe.  Return: 0; -ENOENT; -EINVAL.
 */
ZIPC_API int zipc_sched_channel_stat(zipc_sched *s, uint64_t id, struct zipc_sched_channel_stat *st);

/**
 * zipc_sched_name() - the scheduler's name ("" if anonymous).  Static for
 * the handle's life.
 */
ZIPC_API const char *zipc_sched_name(const zipc_sched *s);

/* ------------------------------------------------------------------ senders */

/**
 * zipc_sched_sender_attach() - open a sender of channel @id of the
 * scheduler served under @name (any process of a granted user).
 * @wait: how zipc_sched_sender_send() waits for room (NULL: spin 20 us,
 *        then sleep on the ring's futex; dead schedulers noticed every
 *        liveness_ns, default 10 ms).
 * @out:  receives the sender, owned by the caller; use it from one thread
 *        at a time (attach or clone one per thread).
 *
 * Maps the scheduler's directory, validates it, finds the open channel
 * with @id, maps its ring, validates it against the directory, and
 * registers as one of its producers.
 * Return: 0; -ENOENT (no such scheduler, or no open channel @id); -EPIPE
 * (the channel is closing or the scheduler stopping); -ECANCELED (it was
 * cancelled meanwhile); -EBUSY (the channel has max_senders senders
 * already); -EOWNERDEAD (the scheduler's process died); -EMEDIUMTYPE (the
 * name is not a scheduler); -EBADMSG, -EPROTONOSUPPORT, -EPROTO, -ENODATA
 * (corrupted directory or ring); -ENAMETOOLONG, -EINVAL, -ENOMEM, or any
 * code of zipc_region_attach().
 */
ZIPC_API int zipc_sched_sender_attach(const char *name, uint64_t id, const struct zipc_wait_opts *wait,
				      zipc_sched_sender **out);

/**
 * zipc_sched_sender_clone() - one more sender of @from's channel (the
 * original's Sender::clone), with its own mappings, for another thread.
 * Return: as zipc_sched_sender_attach() (-EBUSY: max_senders reached; a
 * single-sender channel never has a second).
 */
ZIPC_API int zipc_sched_sender_clone(const zipc_sched_sender *from, zipc_sched_sender **out);

/**
 * zipc_sched_sender_try_send() - queue one job without waiting.
 * @job: @len bytes, copied into the channel's next slot (may be NULL if
 *       @len is 0).
 *
 * Wait-free on a single-sender channel, lock-free otherwise; no system
 * call unless a worker sleeps (then one FUTEX_WAKE).  A job accepted here
 * runs, unless its channel is cancelled (or the scheduler destroyed) before
 * a worker takes it.
 * Return: 0; -EAGAIN (Full: the channel holds bound jobs); -EPIPE (Closed:
 * the channel is gone or the scheduler stopped); -ECANCELED (Closed: the
 * channel was cancelled); -EOWNERDEAD (the channel is full and the
 * scheduler's process died; looked at most every liveness_ns);
 * -EMSGSIZE (@len > max_payload); -EINVAL; -EPROTO (corrupted ring).
 */
ZIPC_API int zipc_sched_sender_try_send(zipc_sched_sender *s, const void *job, size_t len);

/**
 * zipc_sched_sender_send() - queue one job, waiting up to @timeout_ns
 * (ZIPC_FOREVER: no deadline; 0: as try_send) for room, per the sender's
 * wait strategy.  A cancel or stop ends the wait at once.
 * Return: as try_send, plus -ETIMEDOUT (still full at the deadline) and
 * -EOWNERDEAD (the scheduler's process died while we waited).
 */
ZIPC_API int zipc_sched_sender_send(zipc_sched_sender *s, const void *job, size_t len, int64_t timeout_ns);

/**
 * zipc_sched_sender_status() - is the channel still accepting jobs?
 * @dropped: if not NULL, receives how many queued jobs the channel's
 *           cancel dropped (0 unless cancelled).
 * Return: 0 (open); -ECANCELED; -EPIPE (closed, or scheduler stopped);
 * -EOWNERDEAD (the scheduler's process died); -EINVAL.
 */
ZIPC_API int zipc_sched_sender_status(const zipc_sched_sender *s, uint64_t *dropped);

/**
 * zipc_sched_sender_set_wait() - change how zipc_sched_sender_send() waits
 * for room (any enum zipc_wait_strategy: spin, yield, block or uring; spin
 * time; liveness period).  @wait NULL: the default (block, 20 us spin,
 * 10 ms liveness).
 * Same thread rules as the other sender functions.
 * Return: 0; -EINVAL (NULL @s, unknown strategy).
 */
ZIPC_API int zipc_sched_sender_set_wait(zipc_sched_sender *s, const struct zipc_wait_opts *wait);

/** zipc_sched_sender_id() - the id of the sender's channel. */
ZIPC_API uint64_t zipc_sched_sender_id(const zipc_sched_sender *s);

/**
 * zipc_sched_sender_close() - drop the sender (deregister, unmap).  When a
 * channel's last sender closes and its queue drains, the scheduler removes
 * the channel (and, unless ZIPC_SCHED_PERSIST, stops when that was the last
 * open one).  Jobs already accepted still run.
 * @s: a sender or NULL.  Return: 0.
 */
ZIPC_API int zipc_sched_sender_close(zipc_sched_sender *s);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_SCHED_H */
