/* SPDX-License-Identifier: MIT */
/*
 * zipc/dispatch.h - clocked dispatch (after the clocked-dispatch crate):
 * one dispatcher gives every message a global, strictly increasing
 * sequence number and delivers it to its named receiver; every other
 * receiver's clock advances, so each receiver can tell that it has seen
 * everything the system dispatched up to some sequence.
 *
 *   zipc_dispatch_create("d", &opts, &d)          // starts the dispatcher thread
 *   zipc_dispatch_receiver_open(d, "a", &rx_a)
 *   zipc_dispatch_sender_open(d, "atx", "a", &tx) // tx sends to receiver "a"
 *   zipc_dispatch_send(tx, buf, len, timeout)
 *   zipc_dispatch_recv(rx_a, buf, cap, &m, timeout) == 1   // m.seq = its sequence
 *   zipc_dispatch_recv(rx_b, buf, cap, &m, timeout) == 0   // clock only: m.seq
 *
 * Structure: each sender has its own single-producer ring into the
 * dispatcher ("<name>.s<i>.<gen>", created by the sender) and each
 * receiver its own ring out of it ("<name>.r<j>.<gen>", created by the
 * receiver); the control region "<name>" (kind ZIPC_KIND_DISPATCH) holds
 * the ends' registrations, the clocks and the doorbells.  The dispatcher
 * only takes a message from a sender whose recipient has room, so one slow
 * receiver holds back only the senders that send to it.
 *
 * Clocks are words in shared memory, not messages: advancing one is a
 * store and never waits for room.  A receiver's clock C means "every
 * message for this receiver with sequence <= C has been delivered into its
 * ring"; zipc_dispatch_recv() returns the messages first, then the clock
 * when it moved past everything returned so far.
 *
 * Two modes, fixed by the first message (as the original): serializing
 * (zipc_dispatch_send: the dispatcher assigns sequences 1, 2, 3...) and
 * forwarding (zipc_dispatch_forward: messages carry the sequence given by
 * an upstream dispatcher; a message is released only when every sender's
 * clock has reached it, so receivers see sequence order across composed
 * dispatchers).  Using the other call afterwards is -EPERM for its caller.
 *
 * Closing (every case is documented in docs/DISPATCH.md):
 *  - every sender of a receiver closed (or died): the receiver gets its
 *    buffered messages, then its final clock, then -EPIPE;
 *  - a receiver closed (or died): its senders' next send returns -EPIPE;
 *    messages in flight to it are dropped (counted); others go on;
 *  - the dispatcher handle closed: receivers drain and get -EPIPE, senders
 *    get -EPIPE; the dispatcher process died: -EOWNERDEAD instead.
 *
 * Errors are returned to the caller that caused them: a bound of 0
 * (-EINVAL at creation), mixing send and forward (-EPERM), a forwarded
 * sequence equal to the sender's previous one (-EEXIST) or below it
 * (-EINVAL).  The dispatcher never stops serving the others because of a
 * bad message: it validates every message it reads and drops the bad ones,
 * reporting the code to their sender's next call.
 *
 * Thread-safety: a sender or receiver handle belongs to one thread at a
 * time; the dispatch handle may be shared by threads for opening ends.
 */
#ifndef ZIPC_DISPATCH_H
#define ZIPC_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include <zipc/common.h>
#include <zipc/shm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque per-process handle of a dispatcher (the creator's runs its thread). */
typedef struct zipc_dispatch zipc_dispatch;
/** A sending end: sends to one named receiver. */
typedef struct zipc_dispatch_sender zipc_dispatch_sender;
/** A receiving end: gets its messages and the clock. */
typedef struct zipc_dispatch_receiver zipc_dispatch_receiver;

/** Limits. */
#define ZIPC_DISPATCH_MAX_ENDS 64u     /**< senders, and receivers, per dispatcher */
#define ZIPC_DISPATCH_NAME_MAX 32u     /**< dispatcher name (bytes) */
#define ZIPC_DISPATCH_END_NAME_MAX 31u /**< sender / receiver name (bytes) */
/** Bytes of the header in front of each message in a ring slot. */
#define ZIPC_DISPATCH_MSG_HDR 24u

/** Options for zipc_dispatch_create(); zero-initialise, then set what you need. */
struct zipc_dispatch_opts {
	/**
	 * Messages buffered per sender (its ring into the dispatcher) and per
	 * receiver (the dispatcher's ring to it): rounded up to a power of two,
	 * at least 2.  0 is refused (-EINVAL): the original hangs on it.
	 */
	uint32_t bound;
	uint32_t max_message;   /**< largest payload in bytes; 0 = 256 */
	uint32_t max_senders;   /**< sender slots, <= ZIPC_DISPATCH_MAX_ENDS; 0 = 16 */
	uint32_t max_receivers; /**< receiver slots, <= ZIPC_DISPATCH_MAX_ENDS; 0 = 16 */
	/** Dispatcher thread: poll this long (ns) before sleeping; 0 = 20 us; < 0 = never poll. */
	int64_t spin_ns;
	/** Opening an end waits this long for the dispatcher's answer; 0 = 5 s. */
	int64_t open_timeout_ns;
};

/** What zipc_dispatch_recv() filled in. */
struct zipc_dispatch_msg {
	uint64_t seq;    /**< message: its sequence; clock update: the new clock */
	uint32_t len;    /**< message: payload bytes copied; clock update: 0 */
	uint32_t sender; /**< message: the sender's slot index; clock update: UINT32_MAX */
};

/** Dispatcher-wide counters and state (zipc_dispatch_stat()). */
struct zipc_dispatch_stat {
	uint32_t mode;          /**< 0 not yet decided, 1 serializing (send), 2 forwarding */
	uint32_t running;       /**< 1 while the dispatcher thread serves */
	int32_t dispatcher_pid; /**< process running the dispatcher */
	int dispatcher_alive;   /**< 1 if it still runs */
	uint64_t clock;         /**< serializing: last sequence assigned */
	uint64_t delivered;     /**< messages delivered to receivers */
	uint64_t dropped;       /**< messages dropped (recipient gone, or invalid) */
	uint64_t clock_updates; /**< clock advances published (forwarding: per receiver) */
	uint64_t sleeps;        /**< times the dispatcher thread slept */
	uint32_t senders;       /**< active sender ends */
	uint32_t receivers;     /**< active receiver ends */
};

/** One end as seen by zipc_dispatch_stat(). */
struct zipc_dispatch_end_stat {
	int is_receiver;  /**< 0 sender, 1 receiver */
	uint32_t index;   /**< slot index */
	uint32_t state;   /**< 1 opening, 2 requested, 3 active, 4 rejected, 5 closed */
	int32_t pid;      /**< owner */
	char name[ZIPC_DISPATCH_END_NAME_MAX + 1];
	uint32_t target;  /**< sender: receiver slot it sends to */
	uint64_t msgs;    /**< messages the dispatcher took from (sender) / gave to (receiver) it */
	uint64_t bytes;   /**< their payload bytes */
	uint64_t clock;   /**< receiver, forwarding: its clock */
};

/**
 * zipc_dispatch_create() - create the dispatcher's control region and start
 * the dispatcher thread in this process.
 * @name: 1..ZIPC_DISPATCH_NAME_MAX bytes of [A-Za-z0-9_-]; the region is
 *        served under it so other processes can zipc_dispatch_attach().
 * @opts: see struct zipc_dispatch_opts (bound is required); not retained.
 * @out:  receives the handle, owned by the caller (zipc_dispatch_close()).
 * Thread-safe.
 * Return: 0; -EINVAL (NULL argument, bound 0, limits out of range);
 * -ENAMETOOLONG; -EEXIST (a live region has that name); -ENOMEM; -EAGAIN
 * (cannot start the thread); any code of zipc_region_create().
 */
ZIPC_API int zipc_dispatch_create(const char *name, const struct zipc_dispatch_opts *opts, zipc_dispatch **out);

/**
 * zipc_dispatch_attach() - open a dispatcher served by another process (or
 * this one) by name, to open senders and receivers on it.
 * Validates the control region completely.  Thread-safe.
 * Return: 0; -EMEDIUMTYPE (not a dispatcher); -EBADMSG; -EPROTONOSUPPORT;
 * -EPROTO (inconsistent geometry); any code of zipc_region_attach().
 */
ZIPC_API int zipc_dispatch_attach(const char *name, zipc_dispatch **out);

/**
 * zipc_dispatch_close() - close the handle.  The creator's handle first
 * stops the dispatcher thread: receivers then read what was delivered and
 * get -EPIPE; senders get -EPIPE.  Every end opened through @d must be
 * closed first.  @d may be NULL.
 * Return: 0, or -EBUSY (ends still open; nothing is closed).
 */
ZIPC_API int zipc_dispatch_close(zipc_dispatch *d);

/** zipc_dispatch_region() - the control region (for zipc_dispatch_stat()); owned by @d. */
ZIPC_API zipc_region *zipc_dispatch_region(const zipc_dispatch *d);

/**
 * zipc_dispatch_receiver_open() - register a receiver named @name.
 * @name: 1..ZIPC_DISPATCH_END_NAME_MAX bytes of [A-Za-z0-9._-], unique
 *        among this dispatcher's live receivers.
 * @out:  receives the end, owned by the caller; one thread at a time.
 * Creates the receiver's ring and waits (at most opts.open_timeout_ns) until
 * the dispatcher has adopted it; from then on the receiver's clock follows
 * every message dispatched.
 * Return: 0; -EINVAL; -ENAMETOOLONG; -EEXIST (name in use); -ENOSPC (no
 * receiver slot left); -EPIPE (the dispatcher was stopped); -EOWNERDEAD
 * (its process died); -ETIMEDOUT; -ENOMEM; codes of zipc_ring_create().
 */
ZIPC_API int zipc_dispatch_receiver_open(zipc_dispatch *d, const char *name, zipc_dispatch_receiver **out);

/**
 * zipc_dispatch_sender_open() - register a sender named @name that sends to
 * the receiver named @receiver (as the original's new(sender, receiver) /
 * clone(sender)).
 * Return: 0; -EINVAL; -ENAMETOOLONG; -ENOENT (no live receiver by that
 * name); -EEXIST (sender name in use); -EPIPE (the receiver reached end of
 * stream, or the dispatcher was stopped); -ENOSPC; -EOWNERDEAD;
 * -ETIMEDOUT; -ENOMEM; codes of zipc_ring_create().
 */
ZIPC_API int zipc_dispatch_sender_open(zipc_dispatch *d, const char *name, const char *receiver,
				       zipc_dispatch_sender **out);

/**
 * zipc_dispatch_send() - send @len bytes to the sender's receiver; the
 * dispatcher gives it the next sequence.
 * @timeout_ns: how long to wait for room in the sender's own ring (0 = do
 *              not wait; ZIPC_FOREVER = no deadline).  Only this sender's
 *              ring is waited for; the dispatcher waits for the receiver.
 * Return: 0; -EAGAIN (ring full, @timeout_ns 0); -ETIMEDOUT; -EMSGSIZE;
 * -EPERM (this dispatcher forwards: mixing is refused); -EPIPE (the
 * receiver or the dispatcher is gone); -EOWNERDEAD (the dispatcher's process
 * died); -EINVAL; or a code the dispatcher reported for an earlier message
 * of this sender (-EPROTO).
 */
ZIPC_API int zipc_dispatch_send(zipc_dispatch_sender *s, const void *data, size_t len, int64_t timeout_ns);

/**
 * zipc_dispatch_forward() - pass on a message that an upstream dispatcher
 * already sequenced as @seq (>= 1).  With @data NULL (and @len 0) it only
 * promises that this sender will send nothing at or below @seq (a clock
 * update).  The dispatcher delivers a message only once every sender's
 * clock has reached its sequence, in sequence order (equal sequences from
 * different senders: both, in sender-slot order).
 * Return: 0; -EEXIST (@seq equals this sender's previous sequence: a
 * duplicate); -EINVAL (@seq below it, or 0); -EPERM (this dispatcher
 * serializes); and the codes of zipc_dispatch_send().
 */
ZIPC_API int zipc_dispatch_forward(zipc_dispatch_sender *s, const void *data, size_t len, uint64_t seq,
				   int64_t timeout_ns);

/**
 * zipc_dispatch_sender_close() - close the sender.  Everything it sent is
 * still delivered; when a receiver's last sender is closed and drained,
 * that receiver reaches end of stream.  @s may be NULL.  Return: 0.
 */
ZIPC_API int zipc_dispatch_sender_close(zipc_dispatch_sender *s);

/**
 * zipc_dispatch_recv() - the next message for this receiver, or the clock.
 * @buf, @cap: where to copy the payload.
 * @m:         receives sequence, length and sender (see the struct).
 * @timeout_ns: 0 = do not wait; ZIPC_FOREVER = no deadline.
 * Return: 1 (a message: m->seq is its sequence); 0 (no message, but the
 * clock moved: every message for us with sequence <= m->seq has been
 * returned); -EAGAIN (nothing new, @timeout_ns 0); -ETIMEDOUT; -EPIPE (end
 * of stream: every sender of ours closed and everything was returned, or
 * the dispatcher was stopped); -EOWNERDEAD (the dispatcher's process died,
 * and everything delivered was returned); -EMSGSIZE (@cap too small;
 * nothing consumed); -EPROTO (corrupted message header); -EINVAL.
 */
ZIPC_API int zipc_dispatch_recv(zipc_dispatch_receiver *r, void *buf, size_t cap, struct zipc_dispatch_msg *m,
				int64_t timeout_ns);

/** zipc_dispatch_clock() - the highest sequence this receiver has been told about. */
ZIPC_API uint64_t zipc_dispatch_clock(const zipc_dispatch_receiver *r);

/**
 * zipc_dispatch_receiver_close() - close the receiver; its senders' next
 * sends return -EPIPE, and messages in flight to it are dropped.
 * @r may be NULL.  Return: 0.
 */
ZIPC_API int zipc_dispatch_receiver_close(zipc_dispatch_receiver *r);

/**
 * zipc_dispatch_stat() - read a dispatcher's control region (any process,
 * read-only handles included; shmctl uses this).
 * @r:    a region of kind ZIPC_KIND_DISPATCH (zipc_dispatch_region(), or
 *        zipc_region_attach() with ZIPC_ATTACH_RDONLY).
 * @st:   receives the counters (may be NULL).
 * @ends: array receiving one entry per non-free end (may be NULL if @max is 0).
 * Every value read is range-checked.
 * Return: number of non-free ends (may exceed @max); -EINVAL;
 * -EMEDIUMTYPE; -EBADMSG; -EPROTONOSUPPORT; -EPROTO; -ENODATA.
 */
ZIPC_API int zipc_dispatch_stat(const zipc_region *r, struct zipc_dispatch_stat *st,
				struct zipc_dispatch_end_stat *ends, unsigned max);

#ifdef __cplusplus
}
#endif
#endif /* ZIPC_DISPATCH_H */
