/* perf/perf.h - zipc-perf internals: scenarios, cases, runs, transports, the process harness, statistics. */
#ifndef ZIPC_PERF_H
#define ZIPC_PERF_H

/*
 * How a measurement is organised:
 *
 *   scenario   what is measured (pingpong, throughput, wake, the Disruptor
 *              shapes, record_throughput, waitset); each is of one kind:
 *                rtt     two processes, the parent times round trips and
 *                        the child echoes (pingpong, wake, waitset)
 *                stream  two processes, the child produces, the parent
 *                        consumes, verifies and times (throughput,
 *                        record_throughput)
 *                shape   producer and consumer roles of an LMAX Disruptor
 *                        perf-test shape, each in its own child process or
 *                        each a thread of one child process; the parent
 *                        only starts, watches and reaps them, then checks
 *                        the end result every consumer reported
 *   case       one configuration: scenario x transport x wait strategy x
 *              message size x batch x mode x rings (one row of the report)
 *   run        one measurement of a case: fresh shared objects, fork(), the
 *              CPUs chosen, warm-up, then the timed phase.  A round runs
 *              every case once; rounds are repeated --runs times, so slow
 *              drift of the machine hits every case alike and ratios are
 *              taken within a round.
 *   transport  the channel under test in the rtt and stream kinds (zipc
 *              rings, the shared-memory floor, pipe, socketpair, eventfd, a
 *              raw futex, zipc record rings, a zipc waitset), behind
 *              struct perf_transport.
 *
 * In the rtt and stream kinds every verification happens in the parent, so
 * error counts never have to cross the process boundary; shapes report each
 * consumer's end result through a shared page and the parent compares it
 * with the expected one.
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <zipc/zipc.h>

/** Slots of every throughput ring (zipc and floor alike); records per record ring, roughly. */
#define PERF_RING_SLOTS 1024u
/** Slots of each pingpong ring (one request in flight per direction). */
#define PERF_PINGPONG_SLOTS 64u
/** Bytes of a pingpong message (the echoed sequence number). */
#define PERF_PINGPONG_BYTES 8u
/** Smallest message: throughput messages start with an 8-byte sequence number. */
#define PERF_MIN_MSG_BYTES 8u
/** Largest throughput or record message accepted by --sizes. */
#define PERF_MAX_MSG_BYTES 65536u
/** zipc's spin phase when struct zipc_wait_opts.spin_ns is 0 (zipc/ring.h), for the report. */
#define PERF_LIB_SPIN_NS 20000u
/** zipc spin phase of the wake scenario: next to nothing, so every wait sleeps. */
#define PERF_WAKE_SPIN_NS 1u
/**
 * Untimed pause of the initiator before each round trip of the wake and
 * waitset scenarios, long enough for the peer to have gone to sleep
 * (the waitset's announce step on 1024 rings takes ~20 us here).
 */
#define PERF_WAKE_GAP_NS 50000u
#define PERF_WAITSET_GAP_NS 200000u
/** Most child processes of one run (the largest shape has four roles). */
#define PERF_MAX_CHILDREN 4u

/** What a run measures; also the order of the report's sections. */
enum perf_scenario {
	PERF_PINGPONG = 0,               /**< RTT of one message and its echo */
	PERF_THROUGHPUT,                 /**< one producer streaming to one consumer */
	PERF_WAKE,                       /**< RTT when both sides sleep: zipc block vs a raw futex */
	PERF_ONE_TO_ONE,                 /**< shape: 1 producer, 1 consumer */
	PERF_ONE_TO_THREE_MULTICAST,     /**< shape: 3 consumers each see every message */
	PERF_THREE_TO_ONE,               /**< shape: 3 producers into one MP ring, 1 consumer */
	PERF_ONE_TO_THREE_PIPELINE,      /**< shape: stages A -> B -> C */
	PERF_ONE_TO_THREE_DIAMOND,       /**< shape: A and B independent, C after both */
	PERF_WORK_QUEUE,                 /**< shape: 3 members of a work-queue group share the messages */
	PERF_RECORD_THROUGHPUT,          /**< variable-length record ring streaming */
	PERF_WAITSET,                    /**< RTT through a waitset sleeping on N rings */
	PERF_MESH,                       /**< component: mesh all-to-all (components.c) */
	PERF_DISPATCH,                   /**< component: dispatcher send, latency, forward-merge */
	PERF_SCHED,                      /**< component: scheduler job overhead, throughput, fairness */
	PERF_POOL,                       /**< component: pool request RTT, batch throughput */
	PERF_SCENARIOS
};

/** How a scenario's runs are organised (see the top of this file). */
enum perf_kind {
	PERF_KIND_RTT = 0,
	PERF_KIND_STREAM,
	PERF_KIND_SHAPE,
	PERF_KIND_COMPONENT, /**< components.c: runs and reports itself, outside the case suite */
};

/** Static facts about a scenario (harness.c). */
struct perf_scenario_info {
	const char *name;   /**< JSON "scenario" value and --scenario name */
	enum perf_kind kind;
	int in_default;     /**< 1: part of the default suite; 0: opt-in with --scenario */
	const char *about;  /**< one line for --list */
};

/** The scenarios, indexed by enum perf_scenario. */
extern const struct perf_scenario_info perf_scenarios[PERF_SCENARIOS];

/** perf_kind_of() - the kind of scenario @s. */
static inline enum perf_kind perf_kind_of(enum perf_scenario s)
{
	return perf_scenarios[s].kind;
}

/** Where the participants of a run live (JSON "mode"). */
enum perf_mode {
	PERF_PROCESSES = 0, /**< one process per participant */
	PERF_THREADS = 1,   /**< shapes: one child process, one thread per role */
};

/** perf_mode_name() - "processes" or "threads". */
static inline const char *perf_mode_name(enum perf_mode m)
{
	return m == PERF_THREADS ? "threads" : "processes";
}

/** The two processes of an rtt or stream run. */
enum perf_side {
	PERF_PARENT = 0, /**< rtt initiator / stream consumer: measures and verifies */
	PERF_CHILD = 1,  /**< rtt responder / stream producer */
};

struct perf_run;

/**
 * struct perf_transport - one channel under test (rtt and stream kinds).
 *
 * The harness calls, in order: setup() in the parent before fork(); open()
 * in each process after fork(); the scenario's functions; close() in each
 * process; counters() (if any) in the parent once the child has been
 * reaped after a run that succeeded; teardown() in the parent (also when
 * open() or a phase failed, so it releases whatever is still held).
 * The scenario functions contain the whole hot loop (no indirect call per
 * message) and return 0 or a negative errno-style code; message-level
 * mismatches are counted in run->errors instead.
 */
struct perf_transport {
	const char *name;    /**< JSON "transport" value and --transport name */
	const char *about;   /**< one line for --list */
	unsigned scenarios;  /**< bit (1u << enum perf_scenario): the scenarios it runs in */
	int has_wait;        /**< 1: measured once per --wait strategy */
	int batches;         /**< 1: honours batch > 1 in the stream kind */
	int kernel;          /**< 1: a system call per message (smaller default counts) */
	uint32_t tp_bytes;   /**< stream message size it is limited to, 0 = any */

	int (*setup)(struct perf_run *run);
	int (*open)(struct perf_run *run, enum perf_side side);
	void (*close)(struct perf_run *run, enum perf_side side);
	/** Optional: read counters of the finished run (run->sleeps, run->wakes). */
	void (*counters)(struct perf_run *run);
	void (*teardown)(struct perf_run *run);

	/** Parent: @count round trips carrying values @first+1 ..; RTTs into @samples unless NULL. */
	int (*ping)(struct perf_run *run, uint64_t first, uint64_t count, int64_t *samples);
	/** Child: echo the @count messages that ping() sends from @first. */
	int (*pong)(struct perf_run *run, uint64_t first, uint64_t count);
	/** Child: send messages with sequence numbers @first .. @first+@count-1. */
	int (*send)(struct perf_run *run, uint64_t first, uint64_t count);
	/** Parent: receive and verify exactly those messages. */
	int (*recv)(struct perf_run *run, uint64_t first, uint64_t count);
};

/** The transports, defined in transport_*.c. */
extern const struct perf_transport perf_floor;
extern const struct perf_transport perf_zipc;
extern const struct perf_transport perf_pipe;
extern const struct perf_transport perf_socketpair;
extern const struct perf_transport perf_eventfd;
extern const struct perf_transport perf_futex;
extern const struct perf_transport perf_record;
extern const struct perf_transport perf_waitset;

/** One configuration to measure: a row of the report. */
struct perf_case {
	enum perf_scenario scenario;
	const struct perf_transport *transport; /**< shapes: &perf_zipc (the rings under test) */
	enum perf_mode mode;
	uint32_t wait;      /**< enum zipc_wait_strategy, 0 for transports without one */
	uint32_t spin_ns;   /**< zipc yield/block spin phase; 0: --spin-ns, else the library's */
	uint32_t msg_bytes; /**< bytes per message */
	uint32_t batch;     /**< stream: messages per claim/publish or read (1 = one per call) */
	uint32_t rings;     /**< waitset: rings the waiting side sleeps on; else 0 */
	uint32_t gap_ns;    /**< rtt: untimed pause before each round trip (the peer falls asleep) */
	uint64_t count;     /**< timed round trips (rtt) or messages (stream, shape) per run */
	uint64_t warmup;    /**< untimed round trips / messages before the timed phase */
};

/** Settings shared by every run. */
struct perf_env {
	int cpu[2];          /**< OS CPU numbers: [PERF_PARENT], [PERF_CHILD] */
	uint32_t spin_ns;    /**< zipc yield/block ends: spin phase (0 = library default) */
	unsigned timeout_s;  /**< a run taking longer is killed */
};

/** One run of one case.  Inherited by the children through fork(). */
struct perf_run {
	const struct perf_case *c;
	const struct perf_env *env;
	void *priv;          /**< transport state from setup(); per-process copy after fork() */
	int64_t *samples;    /**< rtt: c->count RTTs in ns (parent) */
	uint64_t errors;     /**< messages lost, reordered or corrupted; wrong end results (parent) */
	int64_t elapsed_ns;  /**< stream, shape: duration of the timed phase (parent) */
	int64_t sleeps;      /**< FUTEX_WAIT calls (sleeps) over the whole run, both sides; -1 unknown */
	int64_t wakes;       /**< FUTEX_WAKE calls over the whole run, both sides; -1 unknown */
};

/* ------------------------------------------------------------ harness.c */

/**
 * perf_harness_init() - prepare every run: load the hwloc topology, choose
 * the two CPUs, pin the calling (parent) thread to the first, map the start
 * barrier, install the SIGALRM/SIGCHLD watchdog handlers, ignore SIGPIPE.
 * @env:  env->cpu[] holds the requested OS CPU numbers, or -1/-1 to take
 *        the first PU of each of the first two cores; receives the choice.
 * @desc: receives a one-line description of the placement.
 * Return: 0, or a negative code after printing what failed.
 */
int perf_harness_init(struct perf_env *env, char *desc, size_t desc_len);

/** perf_harness_fini() - release what perf_harness_init() set up; default signal dispositions. */
void perf_harness_fini(void);

/** perf_wait_name() - "spin", "yield", "block", "uring", or NULL for 0 (no wait strategy). */
const char *perf_wait_name(uint32_t wait);

/** perf_case_label() - "throughput zipc/spin 64 B batch 64" and the like, for messages. */
void perf_case_label(const struct perf_case *c, char *buf, size_t len);

/**
 * perf_run_once() - measure one run: rtt and stream kinds as setup, fork,
 * pin, warm up, time, reap the child (killing it after the timeout),
 * teardown; shapes through perf_shape_run().
 * Return: 0 if every process completed (check run->errors), or a negative
 * code after printing what failed.
 */
int perf_run_once(struct perf_run *run);

/** Where perf_spawn() places a child. */
enum perf_place {
	PERF_ON_CHILD_CPU = 0, /**< the child's CPU of the pair (rtt and stream runs) */
	PERF_ON_BOTH_CPUS = 1, /**< either CPU of the pair, as the kernel balances (shapes) */
};

/**
 * perf_spawn() - fork a watched child that runs @fn(@arg) and exits 0 if it
 * returned 0, else 1.  The child dies with the parent (PR_SET_PDEATHSIG),
 * is bound to the CPUs of @where, and is killed by the watchdog at the
 * run's deadline (perf_watch_start()).  Errors of the child's own set-up
 * are printed with @run's label and @who.
 * Return: the child's pid, or a negative code (nothing was forked).
 */
pid_t perf_spawn(const struct perf_run *run, const char *who, enum perf_place where,
		 int (*fn)(void *arg), void *arg);

/** perf_watch_start() - clear the run's flags and arm the watchdog for env->timeout_s. */
void perf_watch_start(const struct perf_run *run);

/**
 * perf_reap_all() - wait for every watched child to end, killing them all
 * at once if @kill_now (the caller failed) or after the deadline.  The
 * first child that fails (non-zero exit, signal) gets the others killed at
 * once: they could only wait for it.  Disarms the watchdog and forgets the
 * children.
 * Return: the number of children that failed by themselves (a child that
 * exits non-zero has printed why; a signal other than the SIGKILL of this
 * harness is described here).
 */
unsigned perf_reap_all(const struct perf_run *run, int kill_now);

/**
 * perf_fail() - print "zipc-perf: <case>: <who> <phase>: <error>" to stderr.
 * Return: @rc, for `return perf_fail(...)`.
 */
int perf_fail(const struct perf_run *run, const char *who, const char *phase, int rc);

/** Set by SIGALRM in the parent at the run's deadline, when the watchdog kills the children. */
extern volatile sig_atomic_t perf_timed_out;
/** Set by SIGCHLD in the parent: a child has ended. */
extern volatile sig_atomic_t perf_peer_exited;

/**
 * perf_stopped() - whether a waiting loop must give up: 0 to keep waiting,
 * -ETIMEDOUT after the deadline, -EOWNERDEAD once the peer process has ended
 * (the codes zipc itself uses, so zipc_strerror() explains both).
 * Callers re-check their condition once before failing, since the peer may
 * have delivered its last message just before it exited.
 */
static inline int perf_stopped(void)
{
	if (perf_timed_out)
		return -ETIMEDOUT;
	if (perf_peer_exited)
		return -EOWNERDEAD;
	return 0;
}

/** perf_pause() - CPU hint for a spin-wait iteration. */
static inline void perf_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/** perf_now_ns() - CLOCK_MONOTONIC in ns (vDSO), the clock of every sample, in every process. */
static inline int64_t perf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/** perf_timeout_ns() - the run timeout, as a zipc wait deadline. */
static inline int64_t perf_timeout_ns(const struct perf_run *run)
{
	return (int64_t)run->env->timeout_s * ZIPC_SEC;
}

/** perf_spin_ns() - the spin phase of a zipc end in @run: the case's, else --spin-ns. */
static inline uint32_t perf_spin_ns(const struct perf_run *run)
{
	return run->c->spin_ns ? run->c->spin_ns : run->env->spin_ns;
}

/**
 * perf_gap() - before a round trip of a case with a gap, stay awake
 * (spinning, so this CPU does not halt) for c->gap_ns while the peer, with
 * nothing to do, goes to sleep: the round trip that follows then measures
 * a real wake-up.
 */
static inline void perf_gap(const struct perf_run *run)
{
	const int64_t gap = run->c->gap_ns, t0 = gap ? perf_now_ns() : 0;
	while (gap && perf_now_ns() - t0 < gap)
		perf_pause();
}

/** perf_stamp() - write sequence number @seq into the first 8 bytes of @msg. */
static inline void perf_stamp(void *msg, uint64_t seq)
{
	memcpy(msg, &seq, sizeof(seq));
}

/**
 * perf_check() - verify a received message: compare its sequence number
 * with *@expect, count a mismatch in run->errors and resynchronise (so one
 * lost message counts once, not for the rest of the stream).  The compiler
 * barrier keeps the full copy into @msg from being optimised down to the
 * 8 bytes read here: bytes/s must count bytes that really moved.
 */
static inline void perf_check(struct perf_run *run, const void *msg, uint64_t *expect)
{
	uint64_t seq;
	__asm__ volatile("" : : "r"(msg) : "memory");
	memcpy(&seq, msg, sizeof(seq));
	if (seq != *expect) {
		run->errors++;
		*expect = seq;
	}
	(*expect)++;
}

/* ---------------------------------------------------- transport_zipc.c */

/**
 * perf_ring_waits() - add the FUTEX_WAIT and FUTEX_WAKE calls made on
 * ring @r so far, by every end that ever used it, to *@sleeps and *@wakes.
 * Read from the ring's wait words in its shared header (the documented
 * layout of zipc/bits/ring_pvt.h): zipc_ring_stat() has no sleep counts,
 * and the per-end ones vanish when the ends close.
 */
void perf_ring_waits(zipc_ring *r, int64_t *sleeps, int64_t *wakes);

/* --------------------------------------------------- transport_futex.c */

/**
 * perf_futex_wait() - sleep while *@word == @val, at most @ns nanoseconds,
 * on a shared futex (no FUTEX_PRIVATE_FLAG: the word may be in memory
 * shared between processes).
 * Return: 0 when woken, -EAGAIN if the word no longer held @val (the
 * caller re-reads it), -ETIMEDOUT, -EINTR (a signal), or another -errno.
 */
int perf_futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t ns);

/**
 * perf_futex_wake() - wake up to @n sleepers of @word (shared futex).
 * Return: the number woken, or -errno.
 */
int perf_futex_wake(_Atomic uint32_t *word, int n);

/**
 * perf_waitset_backend() - the waitset backend this kernel gives
 * ("io_uring-futex", "eventfd-poll"), found once by creating a waitset;
 * "unavailable" if none can be created.  A static string.
 */
const char *perf_waitset_backend(void);

/* ------------------------------------------------------------- shapes.c */

/**
 * perf_shape_run() - one run of a Disruptor shape: create the ring, start
 * every role (child processes, or threads of one child), release them
 * together, reap them, check each consumer's end result against the
 * expected one (mismatches counted in run->errors) and set
 * run->elapsed_ns from the first producer's start to the last consumer's
 * end.  Return: 0, or a negative code after printing what failed.
 */
int perf_shape_run(struct perf_run *run);

/** perf_shape_roles() - producers and consumers of shape scenario @s. */
void perf_shape_roles(enum perf_scenario s, unsigned *producers, unsigned *consumers);

/** perf_shape_bytes() - payload bytes of a message (slot) of shape scenario @s. */
uint32_t perf_shape_bytes(enum perf_scenario s);

/** perf_shape_messages() - @count rounded down to what the shape sends (a multiple of its producers). */
uint64_t perf_shape_messages(enum perf_scenario s, uint64_t count);

/* --------------------------------------------------------- components.c */

/** perf_components_mask() - bits (1u << enum perf_scenario) of the component scenarios. */
unsigned perf_components_mask(void);

/**
 * perf_components_run() - measure the component scenarios in @scenarios
 * (others are ignored) @runs times each, every run in watched children
 * that check what arrived, and print their table (or JSON Lines) to
 * stdout.  *@failed receives the number of runs that failed.
 * Return: 0, or -ENOMEM.
 */
int perf_components_run(unsigned scenarios, const struct perf_env *env, unsigned runs, int json,
			unsigned *failed);

/* -------------------------------------------------------------- stats.c */

/* Per-run metrics of each kind. */
enum perf_rtt_metric {
	PERF_RTT_MEAN,
	PERF_RTT_P50,
	PERF_RTT_P99,
	PERF_RTT_P999,
	PERF_RTT_MAX,
	PERF_RTT_SLEEPS, /**< FUTEX_WAIT calls per round trip, both sides (NaN if not counted) */
	PERF_RTT_WAKES,  /**< FUTEX_WAKE calls per round trip, both sides (NaN if not counted) */
	PERF_RTT_METRICS
};
enum perf_stream_metric {
	PERF_MSGS_PER_S,
	PERF_BYTES_PER_S,
	PERF_STREAM_SLEEPS, /**< FUTEX_WAIT calls per message, both sides (NaN if not counted) */
	PERF_STREAM_WAKES,  /**< FUTEX_WAKE calls per message, both sides (NaN if not counted) */
	PERF_STREAM_METRICS
};
enum perf_shape_metric {
	PERF_OPS_PER_S,
	PERF_SHAPE_SLEEPS, /**< FUTEX_WAIT calls per message, every role (NaN if not counted) */
	PERF_SHAPE_WAKES,  /**< FUTEX_WAKE calls per message, every role (NaN if not counted) */
	PERF_SHAPE_METRICS
};
#define PERF_MAX_METRICS PERF_RTT_METRICS
_Static_assert((int)PERF_STREAM_METRICS <= (int)PERF_MAX_METRICS &&
		       (int)PERF_SHAPE_METRICS <= (int)PERF_MAX_METRICS,
	       "every kind's metrics fit a result's rows");

/** perf_metric_count() - how many metrics a case of @scenario has. */
static inline int perf_metric_count(enum perf_scenario scenario)
{
	switch (perf_kind_of(scenario)) {
	case PERF_KIND_RTT:
		return PERF_RTT_METRICS;
	case PERF_KIND_STREAM:
		return PERF_STREAM_METRICS;
	default:
		return PERF_SHAPE_METRICS;
	}
}

/** All runs of one case. */
struct perf_result {
	struct perf_case c;
	unsigned max_runs;
	unsigned failed;  /**< runs that failed or delivered a wrong message / end result */
	uint64_t errors;  /**< wrong messages or end results over all runs */
	double *val;      /**< val[metric * max_runs + run]; NaN: the run failed or has not run */
};

/** Median and range of a metric (or of a ratio) over runs. */
struct perf_spread {
	double median, min, max;
};

/** perf_result_init() - an empty result for @c with room for @max_runs.  Return: 0 or -ENOMEM. */
int perf_result_init(struct perf_result *res, const struct perf_case *c, unsigned max_runs);

/** perf_result_fini() - free what perf_result_init() allocated. */
void perf_result_fini(struct perf_result *res);

/**
 * perf_result_record() - store run number @i, which perf_run_once()
 * finished with @rc: its metrics if it succeeded and delivered every message
 * intact, else a failure.  rtt: sorts the run's samples and takes the mean,
 * p50, p99, p99.9 (nearest rank) and max, and the sleeps and wake-ups per
 * round trip; stream: messages and bytes per second of the timed phase;
 * shape: messages through the whole shape per second; stream and shape:
 * the sleeps and wake-ups per message.
 */
void perf_result_record(struct perf_result *res, unsigned i, struct perf_run *run, int rc);

/**
 * perf_result_spread() - median (mean of the middle two for an even count)
 * and range of metric @m over the successful runs.
 * Return: 0, -ENODATA if no run succeeded (or the metric was not measured),
 * or -ENOMEM.
 */
int perf_result_spread(const struct perf_result *res, int m, struct perf_spread *out);

/**
 * perf_result_ratio() - @num's metric @m divided by @den's, taken within each
 * round (run i of both), then median and range over the rounds where both
 * succeeded.  Return: 0, -ENODATA if there is no such round, or -ENOMEM.
 */
int perf_result_ratio(const struct perf_result *num, const struct perf_result *den, int m,
		      struct perf_spread *out);

/* ------------------------------------------------------------- report.c */

/** What the report says about the whole suite besides the results. */
struct perf_report {
	const struct perf_env *env;
	const char *placement; /**< perf_harness_init()'s description of the CPUs */
	unsigned runs;         /**< runs per case */
	double wall_s;         /**< duration of the suite */
};

/** perf_report_table() - print the human-readable table and the ratios to stdout. */
void perf_report_table(const struct perf_result *res, size_t n, const struct perf_report *rep);

/**
 * perf_report_json() - print one JSON object per result (JSON Lines) to stdout.
 * Return: 0 or -ENOMEM.
 */
int perf_report_json(const struct perf_result *res, size_t n, const struct perf_report *rep);

#endif /* ZIPC_PERF_H */
