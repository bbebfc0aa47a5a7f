/* SPDX-License-Identifier: MIT */
/*
 * zipc/pool.h - a messaging thread pool of stateful items, in one process
 * or serving other processes.
 *
 * After the Rust crate messaging_thread_pool: a fixed set of pool threads
 * hosts *pool items*, stateful objects keyed by a 64-bit id that need not be
 * thread-safe.  An item is created by a request, lives on one pool thread
 * for its whole life, and is reached only by requests routed to that thread
 * by its id:
 *
 *     thread = id % threads                      (the routing rule)
 *
 * so item 17 of a 10-thread pool always lives on thread 7.  The pool thread
 * runs the item type's callbacks (construct, process, destroy: struct
 * zipc_pool_item_ops) one request at a time, so an item's state is touched
 * by one thread only.
 *
 * Callers talk to the pool through a *client* (zipc_pool_client), one per
 * calling thread: in the pool's own process (zipc_pool_client_open()) or in
 * another process that attaches to a pool served under a name
 * (zipc_pool_client_attach()).  Both kinds use the same calls:
 *
 *   zipc_pool_send_and_receive()  send a batch of requests (any ids, any
 *                                 threads), block until every response has
 *                                 arrived; response i answers request i
 *   zipc_pool_call()              the single-request form
 *
 * Requests are {id, kind, payload bytes}; responses {id, kind, status,
 * payload bytes}.  Kinds below ZIPC_POOL_KIND_RESERVED are the caller's;
 * ZIPC_POOL_ADD creates an item (its payload is the init request given to
 * the constructor) and ZIPC_POOL_REMOVE destroys one (on its own thread).
 * Payloads are plain bytes (serialise your own types) of at most the pool's
 * max_payload.
 *
 * Underneath (docs/POOL.md): each pool thread consumes one multi-producer
 * request ring "<name>.req<i>"; each client owns one multi-producer
 * response ring into which the pool threads publish its responses; a small
 * directory region (kind ZIPC_KIND_POOL) under the pool's name holds the
 * geometry, the pool state and the client table.  Pool threads sleep on
 * their request ring's futex when idle (spin briefly, then FUTEX_WAIT; no
 * polling), clients likewise on their response ring.
 *
 * Errors (negative codes, zipc_strerror()): in a response's status, or as
 * the return value of a call when the pool could not answer:
 *   -ENOENT      no item with that id (the pool keeps serving)
 *   -EEXIST      ZIPC_POOL_ADD of an id that already exists
 *   -EINVAL      bad argument; a pool of 0 threads
 *   -EMSGSIZE    request payload larger than the pool's max_payload
 *   -ESHUTDOWN   the pool is shutting down or shut down: the request was
 *                not run (requests in flight at shutdown get this, never
 *                silence)
 *   -EOWNERDEAD  the server process died
 *   -ETIMEDOUT   the caller's deadline passed first
 *   any code an item constructor or process callback returns.
 *
 * Known defects of messaging_thread_pool that zipc does not copy: a request
 * for an unknown id is an -ENOENT response (the original panics the worker
 * thread and loses every item on it); a single call that receives no
 * response returns the reason (-ESHUTDOWN, -EOWNERDEAD, -ETIMEDOUT; the
 * original reports "too many responses"); a pool of 0 threads is -EINVAL
 * (the original panics).
 */
#ifndef ZIPC_POOL_H
#define ZIPC_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <zipc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque pool (the server side: threads and items). */
typedef struct zipc_pool zipc_pool;
/** Opaque client handle: one per calling thread. */
typedef struct zipc_pool_client zipc_pool_client;

/** Most pool threads (each is a producer of every client's response ring). */
#define ZIPC_POOL_MAX_THREADS 64u
/** Most clients attached at once (each is a producer of every request ring;
 *  one producer slot per ring is the pool's own). */
#define ZIPC_POOL_MAX_CLIENTS 63u
/** Largest max_payload a pool accepts (bytes). */
#define ZIPC_POOL_MAX_PAYLOAD (1u << 20)
/** Longest pool name (bytes, without the NUL): the ring names
 *  "<name>.req<i>" and "<name>.rsp<slot>.<gen>" must fit ZIPC_NAME_MAX. */
#define ZIPC_POOL_NAME_MAX 31u

/** Request kinds at or above this value belong to the pool. */
#define ZIPC_POOL_KIND_RESERVED 0xffff0000u
/** Create the item @id; the payload is the constructor's init request. */
#define ZIPC_POOL_ADD 0xffff0001u
/** Destroy the item @id on its own thread and free the pool's entry. */
#define ZIPC_POOL_REMOVE 0xffff0002u

/** Response flags (struct zipc_pool_rsp.flags). */
enum zipc_pool_rsp_flags {
	/** The status was set by the pool, not by an item callback (no
	 *  callback ran): -ENOENT, -EEXIST, -EINVAL, -ESHUTDOWN, -EOWNERDEAD,
	 *  -ETIMEDOUT. */
	ZIPC_POOL_RSP_POOL = 1u << 0,
};

/** One request (caller-owned; read during the call only). */
struct zipc_pool_req {
	uint64_t id;       /**< the item addressed; routed to thread id % threads */
	uint32_t kind;     /**< caller kind < ZIPC_POOL_KIND_RESERVED, ZIPC_POOL_ADD or ZIPC_POOL_REMOVE */
	uint32_t len;      /**< payload bytes, 0..max_payload */
	const void *data;  /**< payload (may be NULL when @len is 0) */
};

/** One response, filled by the pool. */
struct zipc_pool_rsp {
	uint64_t id;       /**< the item that answered (= the request's id) */
	uint32_t kind;     /**< response kind chosen by the item (default: the request's kind) */
	int32_t status;    /**< 0 / the callback's return, or a negative code (see the file comment) */
	uint32_t len;      /**< payload bytes */
	uint32_t flags;    /**< enum zipc_pool_rsp_flags */
	/** Payload (8-byte aligned), owned by the client: valid until the next
	 *  call on the same client or its close.  NULL when @len is 0. */
	const void *data;
};

/** What a callback is asked to do (valid during the callback only). */
struct zipc_pool_req_info {
	uint64_t id;         /**< the item's id */
	uint32_t kind;       /**< request kind (ZIPC_POOL_ADD for a constructor) */
	uint32_t len;        /**< payload bytes */
	const void *data;    /**< payload, read in place in the request ring (8-byte aligned) */
	unsigned thread;     /**< pool thread running the callback (= id % threads) */
	int32_t client_pid;  /**< process of the client that sent the request */
};

/** Where a callback writes its response payload. */
struct zipc_pool_reply {
	/** @cap bytes (8-byte aligned) inside the caller's response ring
	 *  slot: the reply is written in place, never copied by the pool.
	 *  Writing past @cap corrupts the next slot. */
	void *data;
	uint32_t cap;        /**< = the pool's max_payload */
	uint32_t len;        /**< bytes written; preset to 0; at most @cap */
	uint32_t kind;       /**< response kind; preset to the request's kind */
};

/**
 * struct zipc_pool_item_ops - an item type, as callbacks run on the item's
 * own pool thread.  None of them may block on a call to the same pool (the
 * thread would wait for itself).  The library never calls two callbacks of
 * one thread at once; callbacks of different threads run concurrently, so
 * @ctx must be safe for that.
 */
struct zipc_pool_item_ops {
	/**
	 * Create an item from its init request (a ZIPC_POOL_ADD request).
	 * Store the item's state in *@state (any pointer, owned by the item
	 * until @destroy).  May write a response payload in @rep.
	 * Return: 0 or a positive status (the item is created), or a negative
	 * code: the item is not created and the caller receives that code.
	 */
	int (*construct)(void *ctx, const struct zipc_pool_req_info *req, void **state,
			 struct zipc_pool_reply *rep);
	/**
	 * Handle a caller-kind request for the item with state @state.
	 * Write the response payload (and optionally kind) in @rep.
	 * Return: the response status (0, a positive value, or a negative
	 * code); the item lives on whatever it returns.
	 */
	int (*process)(void *ctx, void *state, const struct zipc_pool_req_info *req, struct zipc_pool_reply *rep);
	/**
	 * Destroy an item: on ZIPC_POOL_REMOVE, or when the pool closes.  Runs
	 * on the item's thread; frees what @state holds.  May be NULL.
	 */
	void (*destroy)(void *ctx, void *state, uint64_t id, unsigned thread);
	/** Passed to every callback unchanged (owned by the caller). */
	void *ctx;
};

/** Pool creation flags (struct zipc_pool_opts.flags). */
enum zipc_pool_flags {
	/** Region flags for the directory and the request rings: grant the
	 *  gid opts.group as well (see ZIPC_REGION_GROUP). */
	ZIPC_POOL_GROUP = 1u << 0,
};

/** Options for zipc_pool_create(); zero-initialise, then set what you need. */
struct zipc_pool_opts {
	unsigned threads;        /**< pool threads, 1..ZIPC_POOL_MAX_THREADS (0 is -EINVAL) */
	uint32_t max_payload;    /**< largest request/response payload (bytes); 0 = 256 */
	uint32_t queue_capacity; /**< request ring slots per thread (power of two, >= 2); 0 = 1024 */
	uint32_t max_clients;    /**< clients at once, 1..ZIPC_POOL_MAX_CLIENTS; 0 = 16 */
	uint32_t flags;          /**< enum zipc_pool_flags */
	int group;               /**< with ZIPC_POOL_GROUP: the gid granted access */
	/**
	 * CPU pinning: NULL = not pinned; else an array of @threads CPU
	 * numbers, thread i pinned to cpus[i] (or not pinned where -1) with
	 * pthread_attr_setaffinity_np() before it starts.  This moves to the
	 * topology API (hwloc) when that exists.
	 */
	const int *cpus;
	/** Pool threads busy-spin this long (ns) on an empty request ring
	 *  before sleeping on its futex; 0 = 20000; negative = sleep at once
	 *  (for machines with more busy threads than CPUs: a spinning thread
	 *  and its client on one CPU make each wait out the other's spin). */
	int64_t spin_ns;
	/** Pool threads look for dead clients (and dead producers' lost
	 *  records) this often (ns) while idle; 0 = 100 ms. */
	int64_t liveness_ns;
	/** Longest wait (ns) of a pool thread for room in a client's
	 *  response ring before it drops that client; 0 = 1 s.  A client that
	 *  follows the protocol never makes a thread wait (see docs/POOL.md). */
	int64_t publish_timeout_ns;
};

/**
 * zipc_pool_create() - start a pool and, with a @name, serve it to other
 * processes.
 * @name: NULL for a pool reached only from this process (its regions are
 *        anonymous); else 1..ZIPC_POOL_NAME_MAX bytes of [A-Za-z0-9._-],
 *        under which the directory region is served (the request rings are
 *        "<name>.req<i>").
 * @opts: geometry and policy (not retained); @opts->threads must be >= 1.
 * @ops:  the item type (copied; the functions and ops->ctx must outlive the
 *        pool).  construct and process are required.
 * @out:  receives the pool, owned by the caller (zipc_pool_close()).
 *
 * Creates the directory and one request ring per thread, then starts the
 * threads (named "zipc-pool-<i>", pinned as @opts->cpus says).
 * Thread-safety: may be called from any thread.
 * Return: 0; -EINVAL (NULL argument, 0 or too many threads, sizes out of
 * range, missing callbacks, a CPU number out of range); -ENAMETOOLONG;
 * -EEXIST (a live region already has that name or a ring name);
 * -ENOMEM; -EAGAIN (no thread could be started); any code of
 * zipc_region_create() / zipc_ring_create().
 */
ZIPC_API int zipc_pool_create(const char *name, const struct zipc_pool_opts *opts,
			      const struct zipc_pool_item_ops *ops, zipc_pool **out);

/**
 * zipc_pool_close() - shut the pool down and free it.
 * @pool: a pool or NULL (no-op).  Must not be used afterwards, and no
 *        other function may use it concurrently (clients may: they are
 *        separate handles).
 *
 * In order: the pool is marked closing (new calls get -ESHUTDOWN); each
 * thread is told to stop *behind* the requests already queued to it, which
 * it still serves; it then destroys every remaining item on itself
 * (destroy callback), answers every request that arrives after that with
 * -ESHUTDOWN, and exits; the threads are joined; the pool is marked closed
 * (clients still waiting get -ESHUTDOWN); the names are withdrawn.  Clients
 * stay valid (every call on them returns -ESHUTDOWN) until closed.
 * Must not be called from an item callback (it waits for every thread).
 * A pool does not survive fork(): in a child, zipc_pool_close() on the
 * inherited handle does nothing (the threads and the shared state are the
 * parent's).
 * Return: 0.
 */
ZIPC_API int zipc_pool_close(zipc_pool *pool);

/** zipc_pool_threads() - number of pool threads (0 for NULL). */
ZIPC_API unsigned zipc_pool_threads(const zipc_pool *pool);

/** Per-thread counters (zipc_pool_stat()); kept in the directory region. */
struct zipc_pool_thread_stat {
	uint64_t items;       /**< items alive on the thread */
	uint64_t requests;    /**< requests handled (all kinds) */
	uint64_t constructed; /**< constructors that created an item */
	uint64_t destroyed;   /**< destroy callbacks run (remove and shutdown) */
	uint64_t errors;      /**< responses with a status set by the pool */
	uint32_t clients;     /**< clients the thread holds a response ring of */
	int32_t cpu;          /**< CPU it is pinned to, or -1 */
	int32_t running;      /**< 1 while the thread serves */
	uint32_t reserved;
};

/**
 * zipc_pool_stat() - read the per-thread counters.
 * @st:  array receiving up to @max entries (thread i in @st[i]); may be
 *       NULL if @max is 0.
 * Reads shared memory only (relaxed: each counter is exact, the set is
 * not a snapshot).  Thread-safe.
 * Return: the number of threads, or -EINVAL.
 */
ZIPC_API int zipc_pool_stat(const zipc_pool *pool, struct zipc_pool_thread_stat *st, unsigned max);

/* ------------------------------------------------------------- clients */

/** Options for a client; zero-initialise for defaults. */
struct zipc_pool_client_opts {
	/** Response ring slots (power of two); also the most requests this
	 *  client has in flight at once.  0 = 1024; raised to at least the
	 *  pool's thread count. */
	uint32_t capacity;
	uint32_t reserved;       /**< must be 0 */
	/** Busy-spin this long (ns) waiting for a response before sleeping on
	 *  the response ring's futex - only while at most `threads` responses
	 *  are due (a single call's round trip); while a bigger batch is in
	 *  flight the client sleeps at once and leaves the CPUs to the pool
	 *  threads.  0 = 20000; negative = never spin. */
	int64_t spin_ns;
	/** Deadline (ns) for opening (registering with every pool thread,
	 *  which waits for each thread to finish the request it is running);
	 *  0 = 30 s; ZIPC_FOREVER = none (a dead server still ends the wait). */
	int64_t timeout_ns;
};

/**
 * zipc_pool_client_open() - a client of a pool of this process.
 * @pool: the pool; must not be closed during this call.  The client does
 *        not depend on @pool afterwards (it maps the pool's regions itself)
 *        and may outlive it.
 * @opts: NULL for defaults.
 * @out:  receives the client, owned by the caller (zipc_pool_client_close()).
 *
 * Takes a client slot in the directory, creates the client's response ring
 * and registers it with every pool thread (one round trip each).
 * Thread-safety: any thread; the client is then used by one thread at a
 * time (open one per calling thread).
 * Return: 0; -EINVAL; -EBUSY (max_clients clients attached); -ESHUTDOWN
 * (the pool is closing); -ETIMEDOUT; -ENOMEM; any code of
 * zipc_ring_create() / zipc_region_from_fd().
 */
ZIPC_API int zipc_pool_client_open(zipc_pool *pool, const struct zipc_pool_client_opts *opts,
				   zipc_pool_client **out);

/**
 * zipc_pool_client_attach() - a client of the pool served under @name by
 * another (or this) process.
 * @name: the pool's name.
 * @opts: NULL for defaults.
 * @out:  receives the client, owned by the caller.
 *
 * Attaches the directory and every request ring by name, validates them
 * (geometry recomputed and compared, as every zipc attach does), then as
 * zipc_pool_client_open(); the response ring is served as
 * "<name>.rsp<slot>.<gen>" for the server to attach.  Thread-safe; the
 * client is used by one thread at a time.
 * Return: as zipc_pool_client_open(), plus the codes of zipc_region_attach()
 * (-ENOENT no such pool, -EOWNERDEAD server died, -EACCES...), -EMEDIUMTYPE
 * (the name is not a pool), -EBADMSG / -EPROTONOSUPPORT / -EPROTO (not a
 * valid pool directory), -ENAMETOOLONG.
 */
ZIPC_API int zipc_pool_client_attach(const char *name, const struct zipc_pool_client_opts *opts,
				     zipc_pool_client **out);

/**
 * zipc_pool_client_close() - tell the pool threads to drop this client
 * (without waiting), free its slot, unmap everything.  Responses still in
 * flight are discarded.  @c may be NULL.  Not concurrently with other
 * calls on @c.  A client does not survive fork(): in a child, this does
 * nothing (the slot and registrations are the parent's), and no other call
 * may be made on an inherited client.
 * Return: 0.
 */
ZIPC_API int zipc_pool_client_close(zipc_pool_client *c);

/**
 * zipc_pool_send_and_receive() - send a batch of requests and wait for
 * every response.
 * @c:          the client (one thread at a time).
 * @reqs:       @n requests, to any ids on any threads, in any mix of kinds.
 * @rsps:       @n responses: @rsps[i] answers @reqs[i] (the order of the
 *              requests, whatever order the threads answered in).  Payload
 *              pointers stay valid until the next call on @c.
 * @n:          1.. requests (any number: the call keeps at most the
 *              client's capacity in flight and sends the rest as responses
 *              come back).
 * @timeout_ns: deadline for the whole batch; ZIPC_FOREVER for none (a dead
 *              server or a closed pool still ends the wait).
 *
 * Requests to the same thread are handled in the order of @reqs (a ring
 * is FIFO), so an ADD followed by requests to the same id in one batch
 * works; requests to different threads run concurrently.  The requests of
 * one thread are sent in chunks (one claim, one publish, at most one
 * wake-up each), and a thread answers a run of one client's requests with
 * one publish (at least every 50 us), so a batch costs few system calls.
 * Every request gets a response: the item's, or one the pool made
 * (ZIPC_POOL_RSP_POOL in its flags) when the item does not exist, the pool
 * is shutting down, the server died or the deadline passed.
 * Return: 0 when every request was answered by its pool thread (each
 * response's own status may still be an error: -ENOENT, -EEXIST, a
 * callback's code...); else the reason some were not run, also stored in
 * their status: -ESHUTDOWN (the pool is shutting down: these requests were
 * not run), -EOWNERDEAD (the server died; the client is unusable),
 * -ETIMEDOUT (unanswered at the deadline; their late responses are
 * discarded by later calls), -EPROTO (the pool's shared memory is
 * corrupted).  Errors of the call itself, with nothing sent: -EINVAL (NULL
 * argument, @n 0, a kind in the reserved range other than ADD/REMOVE),
 * -EMSGSIZE (a payload larger than max_payload), -ENOMEM.
 */
ZIPC_API int zipc_pool_send_and_receive(zipc_pool_client *c, const struct zipc_pool_req *reqs,
					struct zipc_pool_rsp *rsps, size_t n, int64_t timeout_ns);

/**
 * zipc_pool_call() - send one request and wait for its response (the
 * batch of one).
 * Return: as zipc_pool_send_and_receive(); @rsp->status holds the item's
 * status, or the same code as the return value when the pool could not
 * answer.  A call that gets no response never reports anything but the
 * reason (-ESHUTDOWN, -EOWNERDEAD, -ETIMEDOUT).
 */
ZIPC_API int zipc_pool_call(zipc_pool_client *c, const struct zipc_pool_req *req, struct zipc_pool_rsp *rsp,
			    int64_t timeout_ns);

/** zipc_pool_client_threads() - the pool's thread count (0 for NULL). */
ZIPC_API unsigned zipc_pool_client_threads(const zipc_pool_client *c);

/** zipc_pool_client_max_payload() - the pool's max_payload in bytes (0 for NULL). */
ZIPC_API uint32_t zipc_pool_client_max_payload(const zipc_pool_client *c);

/**
 * zipc_pool_route() - the pool thread that owns @id: @id % @threads (the
 * documented routing rule), or 0 if @threads is 0.
 */
ZIPC_API unsigned zipc_pool_route(uint64_t id, unsigned threads);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_POOL_H */
