/* SPDX-License-Identifier: MIT */
/*
 * zipc/common.h - error codes, time units, logging hook and build macros
 * shared by every zipc header.
 *
 * Conventions used by the whole library (as liburing and DPDK do):
 *  - A function returns 0 (or a non-negative count) on success and a
 *    negative errno-style code on failure.  zipc never reads or writes the
 *    thread's errno for its own results.
 *  - Back-pressure ("ring full", "nothing to read") is -EAGAIN: a normal
 *    result the caller expects, not an error path.
 *  - Times are int64_t nanoseconds.  A timeout of 0 means "try once, do not
 *    wait"; ZIPC_FOREVER means "no deadline" (dead peers are still noticed).
 *  - The library never aborts, never prints unless a log hook is set, and
 *    never leaks a file descriptor or a mapping on an error path.
 */
#ifndef ZIPC_COMMON_H
#define ZIPC_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Exported-symbol marker; everything else in libzipc is hidden. */
#define ZIPC_API __attribute__((visibility("default")))

/*
 * Hot-path functions are defined `static inline` in the public headers behind
 * ZIPC_INLINE (the way liburing does it); libzipc also exports an
 * out-of-line copy of each, named with an `_x` suffix, for FFI users.
 */
#ifndef ZIPC_INLINE
#define ZIPC_INLINE static inline __attribute__((always_inline))
#endif

/** Library version, also exported as zipc_version(). */
#define ZIPC_VERSION_MAJOR 0
#define ZIPC_VERSION_MINOR 1
#define ZIPC_VERSION_PATCH 0

/** Timeout value meaning "wait without a deadline" (dead peers still end the wait). */
#define ZIPC_FOREVER ((int64_t)-1)

/** Nanoseconds per microsecond / millisecond / second, for readable timeouts. */
#define ZIPC_USEC ((int64_t)1000)
#define ZIPC_MSEC ((int64_t)1000000)
#define ZIPC_SEC ((int64_t)1000000000)

/*
 * Error codes (all returned negated).  zipc uses plain errno values and gives
 * each a precise meaning in its own context; zipc_strerror() explains them:
 *
 *   EAGAIN          ring full (producer) / nothing to read (consumer); retry
 *   ETIMEDOUT       a wait reached its deadline
 *   EPIPE           end of stream: every producer of the ring has closed
 *   EOWNERDEAD      a peer process died (producer, consumer or region creator)
 *   EINVAL          bad argument from the caller
 *   ENOMEM          out of memory in this process
 *   ENOENT          no live region by that name (or no such item / entry)
 *   EEXIST          a live region already has that name (or the id exists)
 *   EACCES          not allowed to attach to that region
 *   EBUSY           no free producer/consumer slot in the ring
 *   EMSGSIZE        message larger than the slot / record maximum
 *   EBADMSG         not a zipc region (bad magic number)
 *   EPROTONOSUPPORT region layout version unknown to this library
 *   EPROTO          corrupted or nonsensical region contents
 *   ENODATA         region truncated: shorter than its header says
 *   ERANGE          region size does not match its header
 *   EBADFD          descriptor is not a sealed memfd
 *   EMEDIUMTYPE     region holds another kind of object than asked for
 *   ENAMETOOLONG    region name too long
 *   ENOMSG          a lost record: an MP producer died before publishing it
 *   ENOSPC          a fixed table (waitset entries, channels, slots) is full
 *   ESHUTDOWN       the pool (or another service) is closing; the request did not run
 *   EXDEV           an anonymous object used from another process
 *   ECANCELED       a scheduler channel was cancelled (zipc/sched.h)
 *   EDEADLK         a worker would wait for itself (zipc_sched_join/destroy from a job)
 */

/**
 * zipc_strerror() - describe a zipc return code.
 * @err: a value returned by a zipc function (negative code, or 0).  Positive
 *       values are accepted as the same code.
 *
 * Return: a static, NUL-terminated English string; never NULL.  Thread-safe.
 * Unknown codes fall back to the C library's description.
 */
ZIPC_API const char *zipc_strerror(int err);

/** Severity of a message given to the log hook. */
enum zipc_log_level {
	ZIPC_LOG_ERROR = 0,
	ZIPC_LOG_WARN = 1,
	ZIPC_LOG_INFO = 2,
	ZIPC_LOG_DEBUG = 3,
};

/** Log hook: @msg is a NUL-terminated line without trailing newline. */
typedef void (*zipc_log_fn)(void *ctx, enum zipc_log_level level, const char *msg);

/**
 * zipc_set_log() - install (or remove, with @fn NULL) the process-wide log hook.
 * @fn:        function called for each diagnostic; must be thread-safe.
 * @ctx:       passed back to @fn unchanged; owned by the caller.
 * @max_level: messages above this level are not formatted at all.
 *
 * Without a hook the library prints nothing.  Thread-safe; the hook in effect
 * when a message is emitted is used.
 */
ZIPC_API void zipc_set_log(zipc_log_fn fn, void *ctx, enum zipc_log_level max_level);

/**
 * zipc_version() - the library's version as "MAJOR.MINOR.PATCH".
 * Return: a static string.
 */
ZIPC_API const char *zipc_version(void);

/**
 * zipc_now_ns() - CLOCK_MONOTONIC in nanoseconds (the clock all zipc
 * deadlines and counters use).  Thread-safe; vDSO, no system call.
 */
ZIPC_API int64_t zipc_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_COMMON_H */
