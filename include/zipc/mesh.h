/* SPDX-License-Identifier: MIT */
/*
 * zipc/mesh.h - a worker mesh: n workers (threads, or processes with worker
 * threads each, found by name on this host), each allocating numbered
 * channels that connect every worker to every worker, as timely
 * dataflow's communication layer (timely_communication) does.
 *
 *   zipc_mesh_initialize(&cfg, worker_fn, arg, &guards)   // starts the local workers
 *     worker_fn(w):  zipc_mesh_allocate(w, 0, senders, &rx)   // n senders + 1 receiver
 *                    zipc_mesh_send_bytes(senders[j], ...)   // -> worker j's receiver
 *                    zipc_mesh_sender_close(senders[j])      // end of stream for j
 *                    while (zipc_mesh_pull(rx, &m, ...) == 0) ...  // until -EPIPE
 *   zipc_mesh_join(guards, results, n)                     // each worker's result
 *
 * Every channel is an n x n matrix of single-producer single-consumer zipc
 * rings, ring (i -> j) carrying what worker i sends to worker j; so the
 * stream from one sender to one receiver is FIFO, and there is no fairness
 * or ordering guarantee across senders (the receiver visits its n incoming
 * rings round robin).  In one process the rings are anonymous memfds; a
 * ring between processes is named "<mesh>.c<channel>.<i>.<j>" and created
 * by the receiving process.  A small rendezvous region of kind
 * ZIPC_KIND_MESH (named "<mesh>" in cluster mode, anonymous otherwise)
 * holds the geometry, the processes' identities (pid and start time), each
 * worker's log of allocated channel ids and the traffic counters.
 *
 * Messages are copied into (or built in) ring slots of a fixed maximum size
 * (struct zipc_mesh_config.max_message), and read in place: pull returns a
 * pointer into the ring, and the slot is recycled (released to the sender)
 * by the next pull or zipc_mesh_recycle().
 *
 * Thread-safety: a worker handle and every end it allocated belong to the
 * worker's thread (the thread running the worker function).  Different
 * workers never share state except through the rings and the region.
 */
#ifndef ZIPC_MESH_H
#define ZIPC_MESH_H

#include <stddef.h>
#include <stdint.h>

#include <zipc/common.h>
#include <zipc/shm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque: the local workers of one mesh, returned by zipc_mesh_initialize(). */
typedef struct zipc_mesh_guards zipc_mesh_guards;
/** Opaque: one worker, handed to the worker function. */
typedef struct zipc_mesh_worker zipc_mesh_worker;
/** Opaque: the sending end from this worker to one worker, on one channel. */
typedef struct zipc_mesh_sender zipc_mesh_sender;
/** Opaque: this worker's receiving end of one channel. */
typedef struct zipc_mesh_receiver zipc_mesh_receiver;

/** Limits. */
#define ZIPC_MESH_MAX_WORKERS 64u      /**< workers in one mesh (all processes) */
#define ZIPC_MESH_MAX_PROCESSES 16u    /**< processes in one cluster mesh */
#define ZIPC_MESH_MAX_CHANNELS 256u    /**< channels one worker may allocate */
#define ZIPC_MESH_NAME_MAX 24u         /**< longest cluster mesh name (bytes) */
/** Bytes of the per-message header inside a ring slot (length word). */
#define ZIPC_MESH_MSG_HDR 8u

/** How the workers are laid out (struct zipc_mesh_config.mode). */
enum zipc_mesh_mode {
	ZIPC_MESH_THREAD = 1,  /**< one worker thread (timely's Config::Thread) */
	ZIPC_MESH_PROCESS = 2, /**< `threads` worker threads in this process (Config::Process) */
	ZIPC_MESH_CLUSTER = 3, /**< `processes` processes x `threads` workers, found by `name`
	                        *   (Config::Cluster, on one host) */
};

/** What a communication event reports (struct zipc_mesh_event.kind). */
enum zipc_mesh_event_kind {
	ZIPC_MESH_EV_ALLOCATE = 1, /**< this worker allocated @channel (source = target = itself) */
	ZIPC_MESH_EV_SEND = 2,     /**< a message was pushed from @source to @target */
	ZIPC_MESH_EV_RECV = 3,     /**< a message from @source was pulled by @target */
	ZIPC_MESH_EV_CLOSE = 4,    /**< sender @source -> @target closed (end of its stream) */
};

/**
 * struct zipc_mesh_event - one communication event, given to the log hook
 * (as timely's CommunicationEvent / MessageHeader).
 */
struct zipc_mesh_event {
	uint32_t kind;    /**< enum zipc_mesh_event_kind */
	uint32_t channel; /**< channel id */
	uint32_t source;  /**< sending worker index */
	uint32_t target;  /**< receiving worker index */
	uint64_t seqno;   /**< per (channel, source, target): 0, 1, 2... */
	uint32_t length;  /**< payload bytes (SEND / RECV) */
	uint32_t reserved;
};

/**
 * Communication log hook: called on the worker's own thread for every
 * event, synchronously (keep it short).  @ctx is struct
 * zipc_mesh_config.log_ctx.
 */
typedef void (*zipc_mesh_log_fn)(void *ctx, const struct zipc_mesh_event *ev);

/** Configuration of a mesh; zero-initialise, then set what you need. */
struct zipc_mesh_config {
	uint32_t mode;        /**< enum zipc_mesh_mode */
	uint32_t threads;     /**< PROCESS / CLUSTER: worker threads per process (>= 1) */
	uint32_t process;     /**< CLUSTER: this process's index, 0..processes-1 */
	uint32_t processes;   /**< CLUSTER: number of processes (>= 1) */
	/**
	 * CLUSTER: the mesh name (1..ZIPC_MESH_NAME_MAX bytes of
	 * [A-Za-z0-9_-]); every process of the mesh passes the same.  Ignored
	 * in the other modes.  Copied.
	 */
	const char *name;
	uint64_t capacity;     /**< slots per (sender, receiver) ring: power of two; 0 = 256 */
	uint32_t max_message;  /**< largest message in bytes; 0 = 1024 */
	uint32_t max_channels; /**< channels per worker, <= ZIPC_MESH_MAX_CHANNELS; 0 = 32 */
	uint32_t wait;         /**< enum zipc_wait_strategy of the rings; 0 = BLOCK */
	uint32_t reserved;     /**< must be 0 */
	/**
	 * Most time (ns) to wait for peers to appear: another process's
	 * rendezvous or rings (CLUSTER), a peer that never registers; 0 = 30 s.
	 * Peers that registered and died are reported at once (-EOWNERDEAD).
	 */
	int64_t timeout_ns;
	zipc_mesh_log_fn log;  /**< communication events, or NULL */
	void *log_ctx;         /**< passed to @log */
};

/**
 * Worker function, run on its own thread.
 * @w:      the worker (index, peers, channels); valid until the function returns.
 * @arg:    as given to zipc_mesh_initialize().
 * @result: where to store the worker's result (initially NULL), returned by
 *          zipc_mesh_join().
 * Return: 0, or a negative code meaning the worker failed.  When it
 * returns, every end it still holds is closed (its receivers see the end
 * of its streams).
 */
typedef int (*zipc_mesh_fn)(zipc_mesh_worker *w, void *arg, void **result);

/** One local worker's outcome (zipc_mesh_join()). */
struct zipc_mesh_result {
	uint32_t index; /**< the worker's global index */
	int rc;         /**< what the worker function returned */
	void *value;    /**< what it stored in *result */
};

/** One (worker, channel, peer) traffic counter set. */
struct zipc_mesh_counters {
	uint32_t worker;     /**< the worker these counters belong to */
	uint32_t channel;    /**< channel id */
	uint32_t peer;       /**< the other end's worker index */
	uint32_t reserved;
	uint64_t msgs_sent;  /**< messages pushed from worker to peer */
	uint64_t bytes_sent; /**< their payload bytes */
	uint64_t msgs_recv;  /**< messages from peer pulled by worker */
	uint64_t bytes_recv; /**< their payload bytes */
};

/** Mesh-wide facts (zipc_mesh_stat()). */
struct zipc_mesh_stat {
	uint32_t workers;       /**< n */
	uint32_t processes;     /**< p (1 unless CLUSTER) */
	uint32_t threads;       /**< workers per process */
	uint32_t max_channels;  /**< per worker */
	uint64_t capacity;      /**< slots per ring */
	uint32_t max_message;   /**< bytes */
	uint32_t procs_running; /**< processes registered and alive */
	uint32_t procs_done;    /**< processes whose workers all finished */
	uint32_t procs_dead;    /**< processes that died before finishing */
};

/**
 * zipc_mesh_config_from_args() - fill @cfg from command-line options, as
 * timely's Config::from_args: "-w N" / "--threads N" (workers per process,
 * default 1), "-n P" / "--processes P" (default 1), "-p I" / "--process I"
 * (default 0), "--name NAME" (default "zipc-mesh").  With P > 1 the mode is
 * CLUSTER, else PROCESS (or THREAD for one worker).  Other arguments are
 * ignored.  @cfg's other fields are zeroed; @name points into @argv or a
 * static string.
 * Return: 0, or -EINVAL (a malformed number, or a missing value).
 */
ZIPC_API int zipc_mesh_config_from_args(int argc, char *const argv[], struct zipc_mesh_config *cfg);

/**
 * zipc_mesh_initialize() - start this process's workers of a mesh.
 * @cfg:    the layout; not retained (the name is copied).
 * @fn:     worker function, run by every local worker on its own thread.
 * @arg:    passed to @fn.
 * @out:    receives the guards, owned by the caller: zipc_mesh_join()
 *          waits for the workers and frees them.
 *
 * THREAD / PROCESS: creates the (anonymous) rendezvous region and starts
 * 1 / cfg->threads threads.  CLUSTER: process 0 creates the region named
 * cfg->name; the others attach to it by name, retrying until it exists (at
 * most cfg->timeout_ns), check that it describes the same geometry, and
 * register their pid; then cfg->threads threads start, with global
 * indices process * threads + t.
 * Thread-safe.
 * Return: 0; -EINVAL (bad mode, counts, capacity, sizes, reserved field set,
 * or a cluster region with another geometry); -ENAMETOOLONG; -EBUSY
 * (another live process holds this process index); -ETIMEDOUT (process
 * 0's region did not appear in time); -EOWNERDEAD (its creator died); -ENOMEM;
 * -EAGAIN (cannot start a thread); any code of zipc_region_create() /
 * zipc_region_attach().
 */
ZIPC_API int zipc_mesh_initialize(const struct zipc_mesh_config *cfg, zipc_mesh_fn fn, void *arg,
				  zipc_mesh_guards **out);

/**
 * zipc_mesh_join() - wait for every local worker to return, then (CLUSTER)
 * for every other process to finish too (so no process withdraws the names
 * of rings a peer still needs), and free the guards.
 * @g:       guards from zipc_mesh_initialize(); invalid afterwards.
 * @results: array receiving one entry per local worker (in index order);
 *           may be NULL if @max is 0.
 * @max:     its capacity.
 * Waits without a deadline for live workers; a peer process that dies is
 * noticed within ~10 ms; a peer that never registered is waited for at
 * most cfg->timeout_ns.
 * Return: 0 if every local worker returned 0 and no peer process died; else
 * the first failing local worker's code, or -EOWNERDEAD (a peer process
 * died), or -ETIMEDOUT (a peer never appeared); -EINVAL if @g is NULL.
 * The guards are freed in every case except -EINVAL.
 */
ZIPC_API int zipc_mesh_join(zipc_mesh_guards *g, struct zipc_mesh_result *results, unsigned max);

/**
 * zipc_mesh_region() - the rendezvous region (for zipc_mesh_stat(), or to
 * show its descriptor to an inspector).  Owned by @g.
 */
ZIPC_API zipc_region *zipc_mesh_region(const zipc_mesh_guards *g);

/** zipc_mesh_index() - this worker's global index, 0..peers-1. */
ZIPC_API uint32_t zipc_mesh_index(const zipc_mesh_worker *w);

/** zipc_mesh_peers() - the number of workers in the mesh (all processes). */
ZIPC_API uint32_t zipc_mesh_peers(const zipc_mesh_worker *w);

/**
 * zipc_mesh_allocate() - allocate channel @channel on this worker.
 * @w:        the calling worker.
 * @channel:  channel id; every worker must allocate the same ids in the
 *            same order (as timely's allocate(identifier)).
 * @senders:  array of zipc_mesh_peers() pointers, receiving one sender per
 *            destination worker (index j sends to worker j; itself
 *            included).  The ends are owned by the worker (closed when it
 *            returns, freed by zipc_mesh_join()).
 * @receiver: receives this worker's receiver of the channel.
 *
 * Records @channel in the worker's allocation log and compares it with the
 * other workers' logs at the same position; creates the rings that end at
 * local workers (first local worker to allocate the channel) and, in
 * CLUSTER mode, attaches to the rings that other processes created (waiting
 * for them up to cfg->timeout_ns).
 * Return: 0; -EINVAL (NULL argument); -EEXIST (this worker already
 * allocated @channel); -ENOSPC (more than cfg->max_channels allocations);
 * -EILSEQ (another worker allocated a different channel at this position:
 * the allocation order differs); -ETIMEDOUT (a peer process did not
 * allocate the channel in time); -EOWNERDEAD (a peer process died);
 * -ENOMEM; any code of zipc_ring_create() / zipc_ring_attach().
 */
ZIPC_API int zipc_mesh_allocate(zipc_mesh_worker *w, uint32_t channel, zipc_mesh_sender **senders,
				zipc_mesh_receiver **receiver);

/**
 * zipc_mesh_claim() - get a buffer for the next message to push (zero
 * copy: it is the ring slot itself).
 * @s:          a sender of the calling worker.
 * @buf:        receives the buffer address (8-byte aligned).
 * @timeout_ns: 0 = do not wait (back-pressure returns -EAGAIN);
 *              ZIPC_FOREVER = no deadline; else at most this long (ns).
 * Claiming again before pushing returns the same buffer.
 * Return: the buffer size in bytes (cfg->max_message, > 0); -EAGAIN (ring
 * full, @timeout_ns 0); -ETIMEDOUT; -EPIPE (the sender is closed);
 * -EOWNERDEAD (the receiving worker's process died); -EINVAL.
 */
ZIPC_API int64_t zipc_mesh_claim(zipc_mesh_sender *s, void **buf, int64_t timeout_ns);

/**
 * zipc_mesh_push() - hand the claimed buffer, holding @len bytes, to the
 * receiver (publish; wakes it only if it sleeps).  Counts the message and
 * bytes and emits a SEND event.
 * Return: 0; -EINVAL (nothing claimed, or @len > cfg->max_message).
 */
ZIPC_API int zipc_mesh_push(zipc_mesh_sender *s, uint32_t len);

/**
 * zipc_mesh_send_bytes() - claim, copy @len bytes from @data, push.
 * Return: 0; -EMSGSIZE (@len > cfg->max_message); codes of zipc_mesh_claim().
 */
ZIPC_API int zipc_mesh_send_bytes(zipc_mesh_sender *s, const void *data, size_t len, int64_t timeout_ns);

/**
 * Serializer: write @obj into @buf (at most @cap bytes).  Return the bytes
 * written, or a negative code (e.g. -EMSGSIZE) that aborts the send.
 */
typedef int64_t (*zipc_mesh_ser_fn)(const void *obj, void *buf, size_t cap, void *ctx);
/** Deserializer: build @obj from @len bytes at @buf.  Return 0 or a negative code. */
typedef int (*zipc_mesh_de_fn)(const void *buf, size_t len, void *obj, void *ctx);

/**
 * zipc_mesh_send() - typed send: claim a buffer, let @ser write @obj into
 * it (in place, no intermediate copy), push.
 * Return: 0; the serializer's negative code (nothing is sent); codes of
 * zipc_mesh_claim(); -EINVAL (@ser NULL, or it returned more than the
 * buffer size).
 */
ZIPC_API int zipc_mesh_send(zipc_mesh_sender *s, const void *obj, zipc_mesh_ser_fn ser, void *ctx,
			    int64_t timeout_ns);

/**
 * zipc_mesh_sender_close() - close the stream to this sender's worker: once
 * the receiver has pulled everything, it no longer waits for this sender.
 * A claimed, unpushed buffer is dropped.  Idempotent; @s may be NULL.
 * Return: 0.
 */
ZIPC_API int zipc_mesh_sender_close(zipc_mesh_sender *s);

/** One pulled message: valid until the next pull / recycle / close. */
struct zipc_mesh_msg {
	const void *data; /**< payload, in the ring slot (8-byte aligned) */
	uint32_t len;     /**< payload bytes */
	uint32_t from;    /**< sending worker's index */
};

/**
 * zipc_mesh_pull() - take the next message from any sender of the channel.
 * @r:          the calling worker's receiver.
 * @m:          receives the message (in place, zero copy).
 * @timeout_ns: 0 = do not wait; ZIPC_FOREVER = no deadline; else at most
 *              this long (ns).
 * The message pulled before is recycled first (its slot goes back to its
 * sender), as in timely's pull().  Incoming rings are visited round robin;
 * each is FIFO.  Blocks in a zipc waitset on all the incoming rings.
 * Counts the message and emits a RECV event.
 * Return: 0 (a message); -EAGAIN (nothing, @timeout_ns 0); -ETIMEDOUT;
 * -EPIPE (end of stream: every sender of the channel closed, or its worker
 * returned, and everything was pulled); -EOWNERDEAD (a sender's process
 * died and everything it published has been pulled); -EPROTO (a corrupted
 * length word); -EINVAL (the receiver is closed or an argument is NULL).
 */
ZIPC_API int zipc_mesh_pull(zipc_mesh_receiver *r, struct zipc_mesh_msg *m, int64_t timeout_ns);

/** zipc_mesh_recycle() - give the last pulled message's slot back now.  Return: 0. */
ZIPC_API int zipc_mesh_recycle(zipc_mesh_receiver *r);

/**
 * zipc_mesh_recv() - typed receive: pull, let @de build @obj from the
 * bytes, recycle.  @from (may be NULL) receives the sender's index.
 * Return: 0; the deserializer's negative code (the message is consumed);
 * codes of zipc_mesh_pull().
 */
ZIPC_API int zipc_mesh_recv(zipc_mesh_receiver *r, void *obj, zipc_mesh_de_fn de, void *ctx, uint32_t *from,
			    int64_t timeout_ns);

/**
 * zipc_mesh_receiver_close() - stop receiving: senders are no longer held
 * back by this receiver (what they push afterwards is dropped).
 * Idempotent; @r may be NULL.  Return: 0.
 */
ZIPC_API int zipc_mesh_receiver_close(zipc_mesh_receiver *r);

/**
 * zipc_mesh_counters() - this worker's traffic with @peer on @channel.
 * Return: 0; -ENOENT (channel not allocated by this worker); -EINVAL.
 */
ZIPC_API int zipc_mesh_counters(const zipc_mesh_worker *w, uint32_t channel, uint32_t peer,
				struct zipc_mesh_counters *out);

/**
 * zipc_mesh_stat() - read a mesh rendezvous region (from any process,
 * read-only handles included: shmctl uses this): geometry, process states
 * and every non-zero counter set.
 * @r:    a region of kind ZIPC_KIND_MESH.
 * @st:   receives mesh-wide facts (may be NULL).
 * @out:  array receiving counter sets (may be NULL if @max is 0).
 * @max:  its capacity.
 * Every value read from shared memory is range-checked first.
 * Return: the number of non-zero counter sets (may exceed @max; only @max
 * are written); -EINVAL; -EMEDIUMTYPE (not a mesh region); -EBADMSG (bad
 * magic); -EPROTONOSUPPORT (unknown layout); -EPROTO (inconsistent geometry).
 */
ZIPC_API int zipc_mesh_stat(const zipc_region *r, struct zipc_mesh_stat *st, struct zipc_mesh_counters *out,
			    unsigned max);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_MESH_H */
