/* perf/perf.h - zipc-perf internals: cases, runs, transports, the process harness, statistics. */
#ifndef ZIPC_PERF_H
#define ZIPC_PERF_H

/*
 * How a measurement is organised:
 *
 *   case       one configuration: scenario x transport x wait strategy x
 *              message size x batch (one row of the report)
 *   run        one measurement of a case: fresh shared objects, fork(), the
 *              parent pinned to one core and the child to another, warm-up,
 *              then the timed phase.  A round runs every case once; rounds
 *              are repeated --runs times, so slow drift of the machine hits
 *              every case alike and ratios are taken within a round.
 *   transport  the channel under test (zipc rings, the shared-memory floor,
 *              pipe, socketpair, eventfd), behind struct perf_transport.
 *
 * Roles: in `pingpong` the parent initiates and times each round trip and the
 * child echoes; in `throughput` the child produces and the parent consumes,
 * verifies every message and times the stream.  All verification happens in
 * the parent, so error counts never have to cross the process boundary.
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <zipc/zipc.h>

/** Slots of every throughput ring (zipc and floor alike). */
#define PERF_RING_SLOTS 1024u
/** Slots of each pingpong ring (one request in flight per direction). */
#define PERF_PINGPONG_SLOTS 64u
/** Bytes of a pingpong message (the echoed sequence number). */
#define PERF_PINGPONG_BYTES 8u
/** Smallest message: throughput messages start with an 8-byte sequence number. */
#define PERF_MIN_MSG_BYTES 8u
/** Largest throughput message accepted by --sizes. */
#define PERF_MAX_MSG_BYTES 65536u

/** What a run measures. */
enum perf_scenario {
	PERF_PINGPONG = 0,   /**< RTT of one message and its echo */
	PERF_THROUGHPUT = 1, /**< one producer streaming to one consumer */
};

/** The two processes of a run. */
enum perf_side {
	PERF_PARENT = 0, /**< pingpong initiator / throughput consumer: measures and verifies */
	PERF_CHILD = 1,  /**< pingpong responder / throughput producer */
};

struct perf_run;

/**
 * struct perf_transport - one channel under test.
 *
 * The harness calls, in order: setup() in the parent before fork(); open()
 * in each process after fork(); the scenario's functions; close() in each
 * process; teardown() in the parent once the child has been reaped (also
 * when open() or a phase failed, so it releases whatever is still held).
 * The scenario functions contain the whole hot loop (no indirect call per
 * message) and return 0 or a negative errno-style code; message-level
 * mismatches are counted in run->errors instead.
 */
struct perf_transport {
	const char *name;  /**< JSON "transport" value and --transport name */
	const char *about; /**< one line for --list */
	int has_wait;      /**< 1: measured once per --wait strategy (zipc) */
	int batches;       /**< 1: honours batch > 1 in throughput */
	int kernel;        /**< 1: a system call per message (smaller default counts) */
	uint32_t tp_bytes; /**< throughput message size it is limited to, 0 = any */

	int (*setup)(struct perf_run *run);
	int (*open)(struct perf_run *run, enum perf_side side);
	void (*close)(struct perf_run *run, enum perf_side side);
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

/** One configuration to measure: a row of the report. */
struct perf_case {
	enum perf_scenario scenario;
	const struct perf_transport *transport;
	uint32_t wait;      /**< enum zipc_wait_strategy, 0 for transports without one */
	uint32_t msg_bytes; /**< bytes per message */
	uint32_t batch;     /**< throughput: messages per claim/publish call (1 = one per call) */
	uint64_t count;     /**< timed round trips (pingpong) or messages (throughput) per run */
	uint64_t warmup;    /**< untimed round trips / messages before the timed phase */
};

/** Settings shared by every run. */
struct perf_env {
	int cpu[2];          /**< OS CPU numbers: [PERF_PARENT], [PERF_CHILD] */
	uint32_t spin_ns;    /**< zipc yield/block ends: spin phase (0 = library default) */
	unsigned timeout_s;  /**< a run taking longer is killed */
};

/** One run of one case.  Inherited by the child through fork(). */
struct perf_run {
	const struct perf_case *c;
	const struct perf_env *env;
	void *priv;          /**< transport state from setup(); per-process copy after fork() */
	int64_t *samples;    /**< pingpong: c->count RTTs in ns (parent) */
	uint64_t errors;     /**< messages lost, reordered or corrupted (parent) */
	int64_t elapsed_ns;  /**< throughput: duration of the timed phase (parent) */
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

/** perf_wait_name() - "spin", "yield", "block", or NULL for 0 (no wait strategy). */
const char *perf_wait_name(uint32_t wait);

/** perf_case_label() - "throughput zipc/spin 64 B batch 64" and the like, for messages. */
void perf_case_label(const struct perf_case *c, char *buf, size_t len);

/**
 * perf_run_once() - measure one run: setup, fork, pin, warm up, time,
 * reap the child (killing it after the timeout), teardown.
 * Return: 0 if both processes completed (check run->errors), or a negative
 * code after printing what failed.
 */
int perf_run_once(struct perf_run *run);

/** Set by SIGALRM in the parent at the run's deadline, when the watchdog kills the child. */
extern volatile sig_atomic_t perf_timed_out;
/** Set by SIGCHLD in the parent: the child has ended. */
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

/** perf_now_ns() - CLOCK_MONOTONIC in ns (vDSO), the clock of every sample. */
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

/* -------------------------------------------------------------- stats.c */

/* Per-run metrics of a pingpong case (ns) and of a throughput case (per second). */
enum perf_pp_metric {
	PERF_RTT_MEAN,
	PERF_RTT_P50,
	PERF_RTT_P99,
	PERF_RTT_P999,
	PERF_RTT_MAX,
	PERF_PP_METRICS
};
enum perf_tp_metric { PERF_MSGS_PER_S, PERF_BYTES_PER_S, PERF_TP_METRICS };
#define PERF_MAX_METRICS PERF_PP_METRICS

/** perf_metric_count() - how many metrics a case of @scenario has. */
static inline int perf_metric_count(enum perf_scenario scenario)
{
	return scenario == PERF_PINGPONG ? PERF_PP_METRICS : PERF_TP_METRICS;
}

/** All runs of one case. */
struct perf_result {
	struct perf_case c;
	unsigned max_runs;
	unsigned failed;  /**< runs that failed or delivered a wrong message */
	uint64_t errors;  /**< wrong messages over all runs */
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
 * intact, else a failure.  Pingpong: sorts the run's samples and takes the
 * mean, p50, p99, p99.9 (nearest rank) and max; throughput: messages and
 * bytes per second of the timed phase.
 */
void perf_result_record(struct perf_result *res, unsigned i, struct perf_run *run, int rc);

/**
 * perf_result_spread() - median (mean of the middle two for an even count)
 * and range of metric @m over the successful runs.
 * Return: 0, -ENODATA if no run succeeded, or -ENOMEM.
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
