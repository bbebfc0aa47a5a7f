/* SPDX-License-Identifier: MIT */
/*
 * pool/pool_int.h - private to libzipc: the pool's shared layout (the
 * directory region and the message header in ring slots, a cross-process
 * ABI versioned by POOL_LAYOUT and documented in docs/POOL.md), the
 * per-process handles and the item map.  Never installed.
 *
 * Memory-ordering edges (every non-relaxed access names its pair):
 *   D1  creator: directory written, then the region's layout word
 *       (zipc_region_create() publishes it with release; attach acquires)
 *   O1  client: its slot's fields (start, fd), then publish of its first
 *       request (ring P1); the pool thread reads them after the ring's C1
 *   O2  owner word CAS (acq_rel): claiming / freeing a client slot; the
 *       pool thread's acquire load of it sees the claim's fields
 *   S1  closer: state store-release CLOSING / CLOSED; clients load-acquire
 *   Requests and responses themselves are ordered by the rings (P1/C1).
 */
#ifndef ZIPC_POOL_INT_H
#define ZIPC_POOL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <zipc/pool.h>
#include <zipc/ring.h>
#include <zipc/shm.h>

/* "ZIPCPOOL" little-endian. */
#define POOL_MAGIC 0x4c4f4f504350495aULL
#define POOL_LAYOUT 1u
#define POOL_LINE 128u

/* Pool states (ctl.state). */
enum { POOL_RUNNING = 1, POOL_CLOSING = 2, POOL_CLOSED = 3 };

/* Internal message kinds (in the reserved range; not accepted from the API). */
#define POOL_K_REGISTER 0xffff0010u   /* client -> thread: attach my response ring */
#define POOL_K_UNREGISTER 0xffff0011u /* client -> thread: drop my response ring */
#define POOL_K_STOP 0xffff0012u       /* owner -> thread: shut down (payload: the key) */

/* Immutable parameters, written by the creator before the region is published (D1). */
struct pool_params {
	uint64_t magic;          /* POOL_MAGIC */
	uint32_t layout;         /* POOL_LAYOUT */
	uint32_t threads;        /* 1..ZIPC_POOL_MAX_THREADS */
	uint32_t max_payload;    /* 1..ZIPC_POOL_MAX_PAYLOAD */
	uint32_t slot_size;      /* request/response slot: sizeof(struct pool_msg) + max_payload */
	uint32_t queue_capacity; /* request ring slots */
	uint32_t max_clients;    /* client table entries */
	int32_t server_pid;      /* process running the pool threads */
	uint32_t named;          /* 1 if served under a name (rings are named too) */
	uint64_t server_start;   /* its start ticks (zipc_pid_start_ticks) */
	uint64_t clients_off;    /* offsets from the directory's start, line-aligned */
	uint64_t threads_off;
	uint64_t total_size;     /* bytes used by the directory */
};

/* Rarely written pool-wide control. */
struct pool_ctl {
	_Atomic uint32_t state;        /* POOL_RUNNING / CLOSING / CLOSED (S1) */
	_Atomic uint32_t clients;      /* client slots taken */
	_Atomic uint64_t client_opens; /* clients ever opened */
};

/*
 * One client slot.  `owner` packs (generation << 32) | pid; pid 0 = free.
 * A client claims a slot by CAS from (g << 32) to ((g + 1) << 32 | pid), so
 * the pid is in place at the instant the slot is taken (a client that dies
 * right after is recognised as dead), and every claim has a new generation
 * (the response ring's name and every message carry it).
 */
struct pool_client_slot {
	_Atomic uint64_t owner;
	_Atomic uint64_t start;        /* owner's start ticks (0 until written) */
	_Atomic int32_t fd;            /* response ring memfd, valid in the server's process only, or -1 */
	_Atomic uint32_t capacity;     /* response ring slots */
	uint64_t reserved;
};

/* Per-thread counters: one line each, written by that thread only (relaxed). */
struct pool_thread_ctr {
	_Alignas(POOL_LINE) _Atomic uint64_t items;
	_Atomic uint64_t requests;
	_Atomic uint64_t constructed;
	_Atomic uint64_t destroyed;
	_Atomic uint64_t errors;
	_Atomic uint32_t clients;
	_Atomic int32_t cpu;
	_Atomic int32_t running;
};

struct pool_dir {
	_Alignas(POOL_LINE) struct pool_params p;
	_Alignas(POOL_LINE) struct pool_ctl ctl;
	/* clients_off: max_clients x struct pool_client_slot;
	 * threads_off: threads x struct pool_thread_ctr */
};

_Static_assert(sizeof(struct pool_params) <= POOL_LINE, "pool params fit one line");
_Static_assert(sizeof(struct pool_ctl) <= POOL_LINE, "pool control fits one line");
_Static_assert(sizeof(struct pool_client_slot) == 32, "client slot is 32 bytes");
_Static_assert(sizeof(struct pool_thread_ctr) == POOL_LINE, "thread counters are one line");
_Static_assert(sizeof(struct pool_dir) == 2 * POOL_LINE, "directory header is two lines");

/*
 * The header of every request and response slot, followed by `len` payload
 * bytes.  Plain memory: ordered by the ring's stamp (P1/C1).  A response
 * echoes id, tag, client and gen of its request.
 */
struct pool_msg {
	uint64_t id;      /* item id (REGISTER/UNREGISTER: the thread index) */
	uint64_t tag;     /* client's request tag, echoed */
	uint32_t kind;    /* request kind / response kind */
	int32_t status;   /* response status; 0 in requests */
	uint32_t client;  /* client slot */
	uint32_t gen;     /* client slot generation */
	uint32_t len;     /* payload bytes */
	uint32_t flags;   /* response: enum zipc_pool_rsp_flags */
};
_Static_assert(sizeof(struct pool_msg) == 40, "message header is 40 bytes");
/* payload offset in a slot: 8 (stamp) + 40 = 48, a multiple of 8 */

/* Compute offsets and sizes from threads / max_payload / max_clients. */
void zipc__pool_geometry(struct pool_params *p);
/* Validate parameters read from shared memory: 0, -EBADMSG,
 * -EPROTONOSUPPORT, -EPROTO, -ENODATA (area too small). */
int zipc__pool_params_check(const struct pool_params *p, uint64_t area_size);

static inline struct pool_client_slot *pool_slots(struct pool_dir *d, const struct pool_params *p)
{
	return (struct pool_client_slot *)((unsigned char *)d + p->clients_off);
}

static inline struct pool_thread_ctr *pool_ctrs(struct pool_dir *d, const struct pool_params *p)
{
	return (struct pool_thread_ctr *)((unsigned char *)d + p->threads_off);
}

/* Ring names: "<pool>.req<i>" and "<pool>.rsp<slot>.<gen>"; -ENAMETOOLONG. */
int zipc__pool_req_name(char *buf, size_t cap, const char *pool, unsigned i);
int zipc__pool_rsp_name(char *buf, size_t cap, const char *pool, unsigned slot, uint32_t gen);

/* ------------------------------------------------------------ item map */

/* Open addressing, linear probing, backward-shift deletion; u64 -> void *. */
struct pool_map_ent {
	uint64_t id;
	void *state;
	uint32_t used;
};

struct pool_map {
	struct pool_map_ent *tab;
	uint64_t mask;  /* capacity - 1 (capacity a power of two), or 0 if empty */
	uint64_t count;
};

void zipc__map_init(struct pool_map *m);
void zipc__map_free(struct pool_map *m);
/* Entry of @id, or NULL. */
struct pool_map_ent *zipc__map_find(struct pool_map *m, uint64_t id);
/* Insert a new @id (must be absent): 0 or -ENOMEM. */
int zipc__map_insert(struct pool_map *m, uint64_t id, void *state);
/* Remove the entry @e (from zipc__map_find). */
void zipc__map_erase(struct pool_map *m, struct pool_map_ent *e);

/* ------------------------------------------------------ server handles */

/* A pool thread's view of one client. */
struct pool_peer {
	uint32_t gen;         /* generation it was attached for */
	int attached;         /* 1 if ring/prod are valid */
	int32_t pid;
	uint64_t start;
	zipc_ring *ring;      /* the client's response ring (our own mapping) */
	zipc_producer *prod;  /* our producer on it */
};

struct pool_thread {
	struct zipc_pool *pool;
	unsigned index;
	pthread_t tid;
	int started;
	int cpu;                  /* -1 = not pinned */
	zipc_ring *req;           /* request ring (owner's handle) */
	zipc_consumer *cons;      /* the thread's consumer on it */
	zipc_producer *ctl;       /* the owner's control producer (STOP), used by zipc_pool_close() */
	struct pool_map items;
	struct pool_peer *peers;  /* max_clients entries */
	int stopping;
	int64_t next_sweep;
	struct pool_thread_ctr *ctr;
};

struct zipc_pool {
	zipc_region *dir_region;
	struct pool_dir *dir;
	struct pool_params p;        /* private copy */
	struct zipc_pool_item_ops ops;
	struct zipc_pool_opts o;     /* resolved options */
	char name[ZIPC_NAME_MAX + 1]; /* "" if anonymous */
	uint64_t stop_key;           /* authenticates STOP messages */
	struct pool_thread *t;       /* p.threads entries */
};

/* The pool's descriptors, for a client in the same process (client.c):
 * the directory's and the @threads request rings'.  0 or -EINVAL. */
int zipc__pool_fds(const struct zipc_pool *pool, int *dir_fd, int *req_fds, unsigned max);

#endif /* ZIPC_POOL_INT_H */
