/* SPDX-License-Identifier: MIT */
/*
 * zipc/shm.h - shared-memory regions.
 *
 * A region is one memfd ("memfd:zipc:<name>"), sized and sealed at creation
 * (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), mapped MAP_SHARED by every
 * process that uses it.  It starts with a struct zipc_region_hdr (the ABI:
 * magic, layout version, sizes, kind, creator identity) followed by the
 * kind-specific area (a ring, ...).  Cross-process state holds offsets and
 * free-running counters only, never pointers.
 *
 * Handing a region to another process:
 *  - by name: the creator serves the memfd over a UNIX socket
 *    <ZIPC_RUNTIME_DIR or /dev/shm/zipc>/<name>.sock (mode 0600, or 0660
 *    for a configured group) with SCM_RIGHTS, checking the peer with
 *    SO_PEERCRED; zipc_region_attach() connects to it.  The name lives as
 *    long as the creator's handle; a name left by a crashed creator is
 *    reclaimed by the next zipc_region_create() (its flock has gone).
 *  - by descriptor: zipc_region_fd() + fork/exec or your own SCM_RIGHTS,
 *    then zipc_region_from_fd() on the other side.
 *
 * Every attach validates the whole header (and the kind's own header) before
 * returning: a corrupted or hostile region yields an error code, never a
 * crash.
 */
#ifndef ZIPC_SHM_H
#define ZIPC_SHM_H

#include <stdint.h>
#include <sys/types.h>

#include <zipc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque per-process handle of a mapped region. */
typedef struct zipc_region zipc_region;

/** "ZIPCRGN1" little-endian: first 8 bytes of every region. */
#define ZIPC_REGION_MAGIC 0x314e47524350495aULL
/** Layout version of struct zipc_region_hdr this library reads and writes. */
#define ZIPC_REGION_LAYOUT 1u
/** Bytes reserved for the region header; the kind's area starts here. */
#define ZIPC_REGION_HDR_SIZE 4096u
/** Longest region name (bytes, without the NUL). */
#define ZIPC_NAME_MAX 48

/** What a region holds (struct zipc_region_hdr.kind). */
enum zipc_region_kind {
	ZIPC_KIND_RAW = 1,  /**< user-defined bytes */
	ZIPC_KIND_RING = 2, /**< a sequenced ring (zipc/ring.h) */
	ZIPC_KIND_RECORD = 3, /**< a variable-length record ring (zipc/record.h) */
	ZIPC_KIND_MESH = 4,     /**< a worker mesh's rendezvous (zipc/mesh.h) */
	ZIPC_KIND_DISPATCH = 5, /**< a clocked dispatcher (zipc/dispatch.h) */
	ZIPC_KIND_POOL = 6,     /**< a messaging thread pool (zipc/pool.h) */
	ZIPC_KIND_SCHED = 7,    /**< a fair multi-channel scheduler (zipc/sched.h) */
};
/** Highest kind this library knows (validation rejects anything above). */
#define ZIPC_KIND_MAX ZIPC_KIND_SCHED

/** Region creation flags (struct zipc_region_opts.flags). */
enum zipc_region_flags {
	/** Back the memfd with huge pages (MFD_HUGETLB); size rounds up to 2 MiB. */
	ZIPC_REGION_HUGETLB = 1u << 0,
	/** Do not serve the name: the region is passed by descriptor only. */
	ZIPC_REGION_ANONYMOUS = 1u << 1,
	/** Bind the pages to opts.numa_node (libnuma mbind) before first touch. */
	ZIPC_REGION_NUMA_BIND = 1u << 2,
	/** Also grant the gid opts.group (socket mode 0660, SO_PEERCRED check). */
	ZIPC_REGION_GROUP = 1u << 3,
};

/** Attach flags. */
enum zipc_attach_flags {
	/** Map PROT_READ only (inspectors such as shmctl); writes fault. */
	ZIPC_ATTACH_RDONLY = 1u << 0,
};

/**
 * struct zipc_region_hdr - the first bytes of every region (shared ABI).
 *
 * Written once by the creator; @layout is stored last with release order, so
 * a reader that sees a non-zero layout sees every other field.  @hdr_sum is
 * a 64-bit FNV-1a hash of the bytes before it, so a corrupted header is told
 * apart from a valid one.
 */
struct zipc_region_hdr {
	uint64_t magic;          /**< ZIPC_REGION_MAGIC */
	uint32_t layout;         /**< ZIPC_REGION_LAYOUT; 0 while being created (atomic) */
	uint32_t hdr_size;       /**< ZIPC_REGION_HDR_SIZE */
	uint64_t total_size;     /**< bytes of the whole memfd */
	uint64_t user_off;       /**< offset of the kind's area (== hdr_size) */
	uint64_t user_size;      /**< bytes of the kind's area */
	uint32_t kind;           /**< enum zipc_region_kind */
	uint32_t flags;          /**< enum zipc_region_flags used at creation */
	int64_t created_ns;      /**< CLOCK_REALTIME at creation */
	int32_t creator_pid;     /**< pid of the creator */
	uint32_t creator_uid;    /**< effective uid of the creator */
	uint64_t creator_start;  /**< creator's start time (/proc/pid/stat field 22, clock ticks) */
	int32_t numa_node;       /**< node the pages were bound to, or -1 */
	int32_t group;           /**< gid granted access, or -1 (creator's uid only) */
	char name[ZIPC_NAME_MAX + 8]; /**< NUL-terminated name */
	uint64_t hdr_sum;        /**< FNV-1a of all bytes above */
};

/** Options for zipc_region_create(); zero-initialise, then set what you need. */
struct zipc_region_opts {
	uint64_t size;    /**< bytes of the kind's area (> 0); the memfd adds the header */
	uint32_t kind;    /**< enum zipc_region_kind; 0 means ZIPC_KIND_RAW */
	uint32_t flags;   /**< enum zipc_region_flags */
	int numa_node;    /**< NUMA node for the pages; used only with ZIPC_REGION_NUMA_BIND */
	int group;        /**< gid granted access; used only with ZIPC_REGION_GROUP (else the
	                   *   creator's uid only, socket mode 0600) */
	/**
	 * Called once on the creator's side to fill the kind's area before the
	 * region becomes visible (before the layout word is published and the
	 * name is served).  May be NULL (area stays zero).  Return 0 or a
	 * negative code, which aborts the creation with that code.
	 */
	int (*init)(void *area, uint64_t size, void *arg);
	void *init_arg;   /**< passed to @init */
};

/** Facts about a mapped region (zipc_region_info()). */
struct zipc_region_info {
	char name[ZIPC_NAME_MAX + 1]; /**< name ("" if anonymous) */
	uint32_t kind;               /**< enum zipc_region_kind */
	uint64_t total_size;         /**< bytes of the memfd */
	uint64_t user_size;          /**< bytes of the kind's area */
	int64_t created_ns;          /**< CLOCK_REALTIME at creation */
	int32_t creator_pid;         /**< creator's pid */
	uint32_t creator_uid;        /**< creator's uid */
	int creator_alive;           /**< 1 if the creator process still runs */
	int numa_node;               /**< node the pages were bound to, or -1 */
	int read_only;               /**< 1 if this handle maps PROT_READ */
	int is_creator;              /**< 1 if this handle created the region */
};

/**
 * zipc_region_create() - create, size, seal, map and (unless anonymous)
 * serve a new region.
 * @name: 1..ZIPC_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.';
 *        copied.  May be NULL only with ZIPC_REGION_ANONYMOUS.
 * @opts: sizes and policy; not retained.
 * @out:  receives the new handle, owned by the caller (zipc_region_close()).
 *
 * Steps: memfd_create("zipc:<name>", MFD_CLOEXEC|MFD_ALLOW_SEALING),
 * ftruncate, seal, mmap MAP_SHARED, mbind to @opts->numa_node (libnuma)
 * before the first page is touched, write the header, run @opts->init,
 * publish the layout word, then start serving the name.  The serving thread
 * lives until zipc_region_close().
 *
 * Thread-safety: may be called from any thread.
 * Return: 0; -EINVAL (bad name, size 0, unknown kind/flags, negative node or gid),
 * -ENAMETOOLONG, -EEXIST (a live region has that name), -ENOMEM, -EACCES
 * (runtime directory not writable), -ENODEV (NUMA binding unavailable or
 * node absent), the error from @init, or another -errno from the system.
 */
ZIPC_API int zipc_region_create(const char *name, const struct zipc_region_opts *opts,
				zipc_region **out);

/**
 * zipc_region_attach() - map the live region served under @name.
 * @name:  region name as given to zipc_region_create().
 * @flags: enum zipc_attach_flags.
 * @out:   receives a new handle, owned by the caller.
 *
 * Connects to the creator's socket, receives the memfd (the creator checks
 * our uid/gid with SO_PEERCRED), validates it as zipc_region_from_fd() does.
 * Never re-initialises anything.  Thread-safe.
 * Return: 0; -ENOENT (no such name), -EOWNERDEAD (name left by a creator
 * that died), -EACCES (not granted), -EINVAL, -ENAMETOOLONG, or any code of
 * zipc_region_from_fd().
 */
ZIPC_API int zipc_region_attach(const char *name, unsigned flags, zipc_region **out);

/**
 * zipc_region_from_fd() - map and validate a region from a memfd descriptor
 * (inherited across fork/exec or passed by the user).
 * @fd:    the descriptor; not consumed (zipc duplicates it, F_DUPFD_CLOEXEC).
 * @flags: enum zipc_attach_flags.
 * @out:   receives a new handle, owned by the caller.
 *
 * Validation order, each with its own code: descriptor type and seals
 * (-EBADFD), file shorter than a header (-ENODATA), magic (-EBADMSG),
 * layout version (-EPROTONOSUPPORT; -EAGAIN while the creator is still
 * writing it), header checksum and parameters (-EPROTO), file shorter than
 * the header says (-ENODATA), other size mismatch (-ERANGE).
 * Thread-safe.
 * Return: 0 or one of the codes above, -EINVAL, -ENOMEM.
 */
ZIPC_API int zipc_region_from_fd(int fd, unsigned flags, zipc_region **out);

/**
 * zipc_region_close() - unmap, close the descriptor and (creator) stop
 * serving and unlink the name.  Other processes' mappings stay valid.
 * @r: handle or NULL (no-op).  Must not be used afterwards, nor concurrently.
 * Return: 0.
 */
ZIPC_API int zipc_region_close(zipc_region *r);

/**
 * zipc_region_area() - address of the kind's area in this process.
 * @r: handle.  Return: pointer valid until zipc_region_close(); read-only
 * memory if attached with ZIPC_ATTACH_RDONLY.
 */
ZIPC_API void *zipc_region_area(const zipc_region *r);

/** zipc_region_area_size() - bytes of the kind's area. */
ZIPC_API uint64_t zipc_region_area_size(const zipc_region *r);

/**
 * zipc_region_header() - the header as it was validated at attach: a
 * private copy held by the handle, so a peer rewriting the shared header
 * afterwards cannot change what this process believes.
 * Return: pointer valid until zipc_region_close(), or NULL if @r is NULL.
 */
ZIPC_API const struct zipc_region_hdr *zipc_region_header(const zipc_region *r);

/**
 * zipc_region_fd() - the memfd held by the handle (close-on-exec; clear
 * FD_CLOEXEC on a dup to pass it through exec).  Ownership stays with @r.
 */
ZIPC_API int zipc_region_fd(const zipc_region *r);

/**
 * zipc_region_info() - copy facts about the region into @out.
 * Return: 0, or -EINVAL if an argument is NULL.  Thread-safe.
 */
ZIPC_API int zipc_region_info(const zipc_region *r, struct zipc_region_info *out);

/**
 * zipc_runtime_dir() - the directory where names are served:
 * $ZIPC_RUNTIME_DIR if set, else /dev/shm/zipc.  Return: static string.
 */
ZIPC_API const char *zipc_runtime_dir(void);

/**
 * zipc_pid_alive() - whether process @pid with start time @start_ticks
 * (/proc/pid/stat field 22) still runs.  A zombie counts as dead; a reused
 * pid (different start time) counts as dead.  @start_ticks 0 skips that check.
 * Return: 1 alive, 0 dead.
 */
ZIPC_API int zipc_pid_alive(int32_t pid, uint64_t start_ticks);

/**
 * zipc_pid_start_ticks() - start time of process @pid in clock ticks since
 * boot (/proc/pid/stat field 22), as stored in peer registrations.
 * Return: the ticks, or 0 if the process does not exist.
 */
ZIPC_API uint64_t zipc_pid_start_ticks(int32_t pid);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_SHM_H */
