/* SPDX-License-Identifier: MIT */
/*
 * ring/uring_compat.h - private to libzipc: what the system's liburing and
 * kernel headers may lack for futex waits, and the io_uring wait of a single
 * ring end.  Never installed.
 *
 * Debian's liburing 2.3 predates IORING_OP_FUTEX_WAIT / IORING_OP_FUTEX_WAITV
 * (Linux 6.7) and liburing's io_uring_prep_futex_wait() (liburing 2.5), and
 * the uapi <linux/futex.h> of older systems predates the FUTEX2_* flag names
 * and the futex_waitv syscall number.  The values below are the kernel ABI;
 * the SQE layouts follow io_futex_prep() / io_futexv_prep() in the kernel's
 * io_uring/futex.c:
 *
 *   FUTEX_WAIT   fd = FUTEX2_* flags of the word, addr = word address,
 *                addr2 = expected value, addr3 = wake bitset mask (non-zero),
 *                len = 0, futex_flags (the rw_flags union) = 0.
 *                CQE res: 0 woken, -EAGAIN the word did not hold the value,
 *                -ECANCELED cancelled.
 *   FUTEX_WAITV  addr = struct futex_waitv array (copied at submission),
 *                len = 1..128 entries, every other field 0.  CQE res: index
 *                of the woken word, -EAGAIN a word did not hold its value.
 *
 * zipc futex words live in MAP_SHARED memfds and are woken from other
 * processes: FUTEX2_PRIVATE must never be set on them.
 */
#ifndef ZIPC_URING_COMPAT_H
#define ZIPC_URING_COMPAT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <linux/futex.h>
#include <liburing.h>

/* io_uring opcodes (include/uapi/linux/io_uring.h, enum io_uring_op).
 * Own names: newer liburing headers define the IORING_OP_* enum members. */
#define ZIPC__IORING_OP_FUTEX_WAIT 51
#define ZIPC__IORING_OP_FUTEX_WAKE 52
#define ZIPC__IORING_OP_FUTEX_WAITV 53

/* futex2 flags (include/uapi/linux/futex.h): word size and privacy. */
#define ZIPC__FUTEX2_SIZE_U32 0x02u
#define ZIPC__FUTEX2_PRIVATE 128u /* FUTEX_PRIVATE_FLAG: never on a shared word */
/* Wake bitset matching every waiter (FUTEX_BITSET_MATCH_ANY). */
#define ZIPC__FUTEX_MATCH_ANY 0xffffffffu
/* Most words one futex_waitv call or FUTEX_WAITV request takes. */
#define ZIPC__FUTEX_WAITV_MAX 128u

/* futex_waitv(2) syscall number (same on every architecture, Linux 5.16). */
#ifndef __NR_futex_waitv
#define __NR_futex_waitv 449
#endif

/*
 * Fill @sqe as IORING_OP_FUTEX_WAIT on the shared 32-bit @word while it
 * holds @val (the SQE was obtained from io_uring_get_sqe()).
 */
static inline void zipc__prep_futex_wait(struct io_uring_sqe *sqe, _Atomic uint32_t *word, uint32_t val)
{
	/* io_uring_prep_rw() zeroes len, rw_flags (= futex_flags), addr3, ... */
	io_uring_prep_rw(ZIPC__IORING_OP_FUTEX_WAIT, sqe, (int)ZIPC__FUTEX2_SIZE_U32, (const void *)word, 0,
			 (uint64_t)val); /* off is the addr2 union: the expected value */
	sqe->addr3 = ZIPC__FUTEX_MATCH_ANY;
}

/*
 * Fill @sqe as IORING_OP_FUTEX_WAITV over @nr (1..128) entries of @wv.  The
 * kernel copies the array when the SQE is submitted.
 */
static inline void zipc__prep_futex_waitv(struct io_uring_sqe *sqe, const struct futex_waitv *wv, unsigned nr)
{
	io_uring_prep_rw(ZIPC__IORING_OP_FUTEX_WAITV, sqe, 0, wv, nr, 0);
}

/*
 * zipc__uring_futex_wait() - sleep until the shared futex @word no longer
 * holds @val, it is woken, or @timeout_ns passes (a negative timeout: no
 * deadline), using IORING_OP_FUTEX_WAIT on a small io_uring private to the
 * calling thread (created on first use, released when the thread exits, and
 * re-created in a forked child).  The word is shared: no FUTEX2_PRIVATE.
 * Meant for an io_uring wait strategy of one ring end: the caller keeps the
 * S1 protocol of zipc/bits/ring_pvt.h (announce, read @val, barrier,
 * re-check) exactly as around zipc__futex_sleep().
 *
 * Return: 0 (woken, or the word did not hold @val, or a spurious wake-up:
 * the caller re-checks in every case); -ETIMEDOUT; -EINTR (a signal);
 * -EOPNOTSUPP (io_uring or its futex opcodes are unavailable here: use
 * zipc__futex_sleep() instead, for good, on this thread); -ENOMEM.
 */
int zipc__uring_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t timeout_ns);

#endif /* ZIPC_URING_COMPAT_H */
