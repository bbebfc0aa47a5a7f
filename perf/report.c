/* perf/report.c - output: one readable report (a section per scenario, ratios, design bars), or JSON Lines. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>

#include "perf.h"

/* JSON keys of the metrics, indexed by enum perf_rtt_metric / perf_stream_metric / perf_shape_metric. */
static const char *const rtt_keys[PERF_RTT_METRICS] = {
	"rtt_ns_mean", "rtt_ns_p50", "rtt_ns_p99", "rtt_ns_p999", "rtt_ns_max", "sleeps_per_trip",
	"wakes_per_trip",
};
static const char *const stream_keys[PERF_STREAM_METRICS] = {
	"msgs_per_s", "bytes_per_s", "sleeps_per_msg", "wakes_per_msg",
};
static const char *const shape_keys[PERF_SHAPE_METRICS] = {
	"ops_per_s", "sleeps_per_msg", "wakes_per_msg",
};

/* Design bars (DESIGN.md "Performance bar") checked from the ratios. */
#define BAR_VS_FLOOR 1.3      /* SPSC RTT and 8-byte throughput within 1.3x of the floor */
#define BAR_BLOCK_VS_SPIN 1.1 /* blocking strategy with no sleeper within 10 % of spin */
#define BAR_WAKE_VS_FUTEX 1.5 /* wake RTT within 1.5x of a raw futex ping-pong */
#define BAR_KERNEL_VS_ZIPC 10 /* kernel IPC at least 10x the RTT of zipc */

static const char *scenario_name(const struct perf_case *c)
{
	return perf_scenarios[c->scenario].name;
}

/* "zipc-spin", "pipe": a case's name in ratios. */
static void short_name(const struct perf_case *c, char *buf, size_t len)
{
	const char *wait = perf_wait_name(c->wait);
	snprintf(buf, len, "%s%s%s", c->transport->name, wait ? "-" : "", wait ? wait : "");
}

/* @t's result beside @r: same scenario, message size and batch (the first wait listed). */
static const struct perf_result *peer_of(const struct perf_result *r,
					 const struct perf_transport *t,
					 const struct perf_result *all, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct perf_case *c = &all[i].c;
		if (c->transport == t && c->scenario == r->c.scenario && c->msg_bytes == r->c.msg_bytes &&
		    c->batch == r->c.batch)
			return &all[i];
	}
	return NULL;
}

/* The result of scenario @s in mode @m with @rings rings (0 but for waitset), or NULL. */
static const struct perf_result *find(enum perf_scenario s, enum perf_mode m, uint32_t rings,
				      const struct perf_result *all, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (all[i].c.scenario == s && all[i].c.mode == m && all[i].c.rings == rings)
			return &all[i];
	return NULL;
}

/*
 * What a row is compared with, and the JSON key of that ratio:
 * pingpong and throughput: the floor; wake: the raw futex; shapes:
 * one_to_one in the same mode; waitset: one ring.  NULL if none.
 */
static const struct perf_result *reference_of(const struct perf_result *r,
					      const struct perf_result *all, size_t n,
					      const char **key)
{
	switch (r->c.scenario) {
	case PERF_PINGPONG:
	case PERF_THROUGHPUT:
		*key = "vs_floor";
		return peer_of(r, &perf_floor, all, n);
	case PERF_WAKE:
		*key = "vs_futex";
		return peer_of(r, &perf_futex, all, n);
	case PERF_WAITSET:
		*key = "vs_one_ring";
		return find(PERF_WAITSET, PERF_PROCESSES, 1, all, n);
	case PERF_RECORD_THROUGHPUT:
		*key = NULL;
		return NULL;
	default:
		*key = "vs_one_to_one";
		return find(PERF_ONE_TO_ONE, r->c.mode, 0, all, n);
	}
}

/*
 * How many times slower @r is than @ref within a round: the RTT p50 ratio
 * r/ref, or the inverse rate ratio ref/r (msgs/s, ops/s).
 */
static int slowdown(const struct perf_result *r, const struct perf_result *ref,
		    struct perf_spread *out)
{
	if (!ref)
		return -ENODATA;
	switch (perf_kind_of(r->c.scenario)) {
	case PERF_KIND_RTT:
		return perf_result_ratio(r, ref, PERF_RTT_P50, out);
	case PERF_KIND_STREAM:
		return perf_result_ratio(ref, r, PERF_MSGS_PER_S, out);
	default:
		return perf_result_ratio(ref, r, PERF_OPS_PER_S, out);
	}
}

static void print_range(const char *fmt_median, const char *fmt_range, const struct perf_spread *s,
			int width)
{
	char range[48];
	snprintf(range, sizeof(range), fmt_range, s->min, s->max);
	printf(fmt_median, s->median);
	printf(" %-*s", width, range);
}

/* A "vs" column with its range: @r against @ref, or dashes. */
static void print_vs(const struct perf_result *r, const struct perf_result *ref)
{
	struct perf_spread s;
	if (slowdown(r, ref, &s) == 0)
		print_range(" %8.2fx", "[%.2f..%.2f]", &s, 13);
	else
		printf(" %9s %-13s", "-", "");
}

/* The two ratio columns of a pingpong/throughput row: vs the floor (with range) and vs zipc. */
static void print_ratios(const struct perf_result *r, const struct perf_result *all, size_t n)
{
	struct perf_spread s;
	print_vs(r, peer_of(r, &perf_floor, all, n));
	if (slowdown(r, peer_of(r, &perf_zipc, all, n), &s) == 0)
		printf(" %11.2fx", s.median);
	else
		printf(" %12s", "-");
}

/* Runs that failed, after the row; or the whole row when none succeeded. */
static void print_failures(const struct perf_result *r)
{
	if (!r->failed)
		return;
	printf("  FAILED %u of %u runs", r->failed, r->max_runs);
	if (r->errors)
		printf(" (%llu wrong messages or results)", (unsigned long long)r->errors);
}

static void print_label(const struct perf_result *r)
{
	const char *wait = perf_wait_name(r->c.wait);
	printf("  %-12s %-5s", r->c.transport->name, wait ? wait : "-");
}

/* Whether any result is of scenario @s. */
static int has(enum perf_scenario s, const struct perf_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (res[i].c.scenario == s)
			return 1;
	return 0;
}

/*
 * The RTT columns shared by pingpong, wake and waitset: p50 with its range,
 * p99, p99.9, max and mean (medians over runs).  Return: 0, or -ENODATA if
 * no run succeeded (nothing printed).
 */
static int print_rtt(const struct perf_result *r)
{
	struct perf_spread s[PERF_RTT_METRICS];
	for (int m = PERF_RTT_MEAN; m <= PERF_RTT_MAX; m++)
		if (perf_result_spread(r, m, &s[m]))
			return -ENODATA;
	print_range(" %8.0f", "[%.0f..%.0f]", &s[PERF_RTT_P50], 17);
	printf(" %8.0f %8.0f %9.0f %8.0f", s[PERF_RTT_P99].median, s[PERF_RTT_P999].median,
	       s[PERF_RTT_MAX].median, s[PERF_RTT_MEAN].median);
	return 0;
}

/* Metrics @from..@to of @r (sleeps and wake-ups), medians over runs with @decimals, or dashes. */
static void print_counts(const struct perf_result *r, int from, int to, int decimals)
{
	struct perf_spread s;
	for (int m = from; m <= to; m++) {
		if (perf_result_spread(r, m, &s) == 0)
			printf(" %6.*f", decimals, s.median);
		else
			printf(" %6s", "-");
	}
}

/* FUTEX_WAIT and FUTEX_WAKE calls per round trip. */
static void print_sleeps(const struct perf_result *r)
{
	print_counts(r, PERF_RTT_SLEEPS, PERF_RTT_WAKES, 2);
}

/* FUTEX_WAIT and FUTEX_WAKE calls per message (metrics @ms and @mw). */
static void print_per_msg(const struct perf_result *r, int ms, int mw)
{
	print_counts(r, ms, mw, 3);
}

static const char *const rtt_head = "%8s %-17s %8s %8s %9s %8s";

static void pingpong_table(const struct perf_result *res, size_t n, const char *zipc_ref)
{
	printf("\npingpong: RTT of one %u-byte message and its echo, round trips per run after a "
	       "10%% warm-up\n", PERF_PINGPONG_BYTES);
	printf("  %-12s %-5s %8s ", "transport", "wait", "trips");
	printf(rtt_head, "p50 ns", "[min..max]", "p99", "p99.9", "max", "mean");
	printf(" %9s %-13s %12s\n", "vs floor", "[min..max]", zipc_ref);
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		if (r->c.scenario != PERF_PINGPONG)
			continue;
		print_label(r);
		printf(" %8llu", (unsigned long long)r->c.count);
		if (print_rtt(r) == 0)
			print_ratios(r, res, n);
		print_failures(r);
		printf("\n");
	}
}

static void throughput_table(const struct perf_result *res, size_t n, const char *zipc_ref)
{
	int doorbell = 0;
	for (size_t i = 0; i < n; i++)
		doorbell |= res[i].c.scenario == PERF_THROUGHPUT && res[i].c.transport == &perf_eventfd;
	printf("\nthroughput: one producer -> one consumer, each message copied in and out in full "
	       "and its sequence number checked,\n  messages per run after a 10%% warm-up; "
	       "batch = messages per claim/publish, the consumer takes all available\n");
	printf("  %-12s %-5s %6s %5s %8s %8s %-17s %8s %9s %-13s %12s\n", "transport", "wait",
	       "bytes", "batch", "messages", "Mmsg/s", "[min..max]", "GB/s", "vs floor", "[min..max]",
	       zipc_ref);
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		struct perf_spread msgs, bytes;
		if (r->c.scenario != PERF_THROUGHPUT)
			continue;
		print_label(r);
		printf(" %6u %5u %8llu", r->c.msg_bytes, r->c.batch, (unsigned long long)r->c.count);
		if (perf_result_spread(r, PERF_MSGS_PER_S, &msgs) == 0 &&
		    perf_result_spread(r, PERF_BYTES_PER_S, &bytes) == 0) {
			msgs.median /= 1e6;
			msgs.min /= 1e6;
			msgs.max /= 1e6;
			print_range(" %8.2f", "[%.2f..%.2f]", &msgs, 17);
			printf(" %8.3f", bytes.median / 1e9);
			print_ratios(r, res, n);
		}
		print_failures(r);
		printf("\n");
	}
	if (doorbell)
		printf("  eventfd: an EFD_SEMAPHORE doorbell per message (write 1 / read 1): no payload\n");
}

static void wake_table(const struct perf_result *res, size_t n)
{
	printf("\nwake: RTT when both sides sleep: zipc block and uring with a %u ns spin (they park "
	       "at once) vs a raw futex ping-pong\n  (always FUTEX_WAIT); the initiator stays awake "
	       "%u us before each round trip so the responder is asleep;\n  sleeps / wakes = "
	       "FUTEX_WAIT / FUTEX_WAKE calls per round trip, both sides (2.00: each side slept once)\n",
	       PERF_WAKE_SPIN_NS, PERF_WAKE_GAP_NS / 1000);
	printf("  %-12s %-5s %8s ", "transport", "wait", "trips");
	printf(rtt_head, "p50 ns", "[min..max]", "p99", "p99.9", "max", "mean");
	printf(" %6s %6s %9s %-13s\n", "sleeps", "wakes", "vs futex", "[min..max]");
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		const char *key;
		if (r->c.scenario != PERF_WAKE)
			continue;
		print_label(r);
		printf(" %8llu", (unsigned long long)r->c.count);
		if (print_rtt(r) == 0) {
			print_sleeps(r);
			print_vs(r, reference_of(r, res, n, &key));
		}
		print_failures(r);
		printf("\n");
	}
}

static void shapes_table(const struct perf_result *res, size_t n, const struct perf_report *rep)
{
	printf("\nshapes: the LMAX Disruptor's perf-test shapes on one zipc ring per run, messages "
	       "published per run; ops/s = messages\n  through the whole shape per second; every "
	       "consumer's end result is checked (order, sum, in-place updates, exactly once)\n");
	printf("  placement: no role is pinned to one CPU: each may run on CPU %d or %d as the kernel "
	       "balances them, so 4 roles\n  oversubscribe the 2 CPUs and every end uses the block "
	       "wait strategy (spin %u ns, then sleep on the ring's futex)\n",
	       rep->env->cpu[PERF_PARENT], rep->env->cpu[PERF_CHILD],
	       rep->env->spin_ns ? rep->env->spin_ns : PERF_LIB_SPIN_NS);
	printf("  %-23s %-9s %5s %8s %8s %-17s %13s %-13s %6s %6s %s\n", "shape", "mode", "roles",
	       "messages", "Mops/s", "[min..max]", "vs one_to_one", "[min..max]", "sleeps", "wakes",
	       "check");
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		struct perf_spread ops;
		unsigned prod, cons;
		const char *key;
		if (perf_kind_of(r->c.scenario) != PERF_KIND_SHAPE)
			continue;
		perf_shape_roles(r->c.scenario, &prod, &cons);
		printf("  %-23s %-9s  %u:%u  %8llu", scenario_name(&r->c), perf_mode_name(r->c.mode),
		       prod, cons, (unsigned long long)r->c.count);
		if (perf_result_spread(r, PERF_OPS_PER_S, &ops) == 0) {
			ops.median /= 1e6;
			ops.min /= 1e6;
			ops.max /= 1e6;
			print_range(" %8.2f", "[%.2f..%.2f]", &ops, 17);
			printf("    ");
			print_vs(r, reference_of(r, res, n, &key));
			print_per_msg(r, PERF_SHAPE_SLEEPS, PERF_SHAPE_WAKES);
			printf(" %s", r->failed ? "" : "ok");
		}
		print_failures(r);
		printf("\n");
	}
	printf("  roles = producers:consumers; vs one_to_one = times slower than one_to_one in the "
	       "same mode and round;\n  sleeps / wakes = FUTEX_WAIT / FUTEX_WAKE calls per message, "
	       "all roles (a publish or release wakes only\n  while someone is announced asleep)\n");
}

static void record_table(const struct perf_result *res, size_t n)
{
	printf("\nrecord_throughput: zipc record ring, one producer process -> one consumer process, "
	       "each record claimed, copied in,\n  committed, copied out and its sequence number "
	       "checked; batch = records per read (the producer commits one at a time)\n");
	printf("  %-12s %-5s %6s %5s %8s %8s %-17s %8s\n", "transport", "wait", "bytes", "batch",
	       "records", "Mrec/s", "[min..max]", "GB/s");
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		struct perf_spread msgs, bytes;
		if (r->c.scenario != PERF_RECORD_THROUGHPUT)
			continue;
		print_label(r);
		printf(" %6u %5u %8llu", r->c.msg_bytes, r->c.batch, (unsigned long long)r->c.count);
		if (perf_result_spread(r, PERF_MSGS_PER_S, &msgs) == 0 &&
		    perf_result_spread(r, PERF_BYTES_PER_S, &bytes) == 0) {
			msgs.median /= 1e6;
			msgs.min /= 1e6;
			msgs.max /= 1e6;
			print_range(" %8.2f", "[%.2f..%.2f]", &msgs, 17);
			printf(" %8.3f", bytes.median / 1e9);
		}
		print_failures(r);
		printf("\n");
	}
}

static void waitset_table(const struct perf_result *res, size_t n)
{
	printf("\nwaitset: RTT through a process asleep in zipc_waitset_wait() on N rings (backend %s, "
	       "no spin phase): the initiator\n  stays awake %u us (the waitset falls asleep), "
	       "publishes to a random ring and spins for the echo on a reply ring;\n  sleeps = "
	       "the waitset's io_uring sleeps, wakes = FUTEX_WAKE calls, per round trip\n",
	       perf_waitset_backend(), PERF_WAITSET_GAP_NS / 1000);
	printf("  %-12s %5s %8s ", "transport", "rings", "trips");
	printf(rtt_head, "p50 ns", "[min..max]", "p99", "p99.9", "max", "mean");
	printf(" %6s %6s %9s %-13s\n", "sleeps", "wakes", "vs 1 ring", "[min..max]");
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		const char *key;
		if (r->c.scenario != PERF_WAITSET)
			continue;
		printf("  %-12s %5u %8llu", r->c.transport->name, r->c.rings,
		       (unsigned long long)r->c.count);
		if (print_rtt(r) == 0) {
			print_sleeps(r);
			print_vs(r, reference_of(r, res, n, &key));
		}
		print_failures(r);
		printf("\n");
	}
}

/*
 * One line of the design-bar summary: ratio of @r against @ref and whether
 * it meets @bar.  The section's title comes before its first line (*@titled).
 */
static void bar_line(const char *what, const struct perf_result *r, const struct perf_result *ref,
		     double bar, int at_least, int *titled)
{
	struct perf_spread s;
	char a[32], b[32], pair[72];
	if (!ref || ref == r || slowdown(r, ref, &s))
		return;
	if (!*titled)
		printf("\ndesign bars (DESIGN.md), ratios within a round, median [min..max] over "
		       "rounds:\n");
	*titled = 1;
	short_name(&r->c, a, sizeof(a));
	short_name(&ref->c, b, sizeof(b));
	snprintf(pair, sizeof(pair), "%s vs %s", a, b);
	int met = at_least ? s.median >= bar : s.median <= bar;
	printf("  %-32s %-24s %7.2fx [%.2f..%.2f]  bar %s %gx: %s", what, pair, s.median, s.min,
	       s.max, at_least ? ">=" : "<=", bar, met ? "met" : "MISSED");
	if (perf_kind_of(r->c.scenario) == PERF_KIND_STREAM && r->c.wait >= ZIPC_WAIT_BLOCK &&
	    perf_result_spread(r, PERF_STREAM_SLEEPS, &s) == 0)
		printf(" (%.4f sleeps/msg)", s.median); /* the premise: nobody slept */
	printf("\n");
}

/* The zipc row beside @r (same scenario, size, batch) with wait strategy @wait, or NULL. */
static const struct perf_result *zipc_with(const struct perf_result *r, uint32_t wait,
					   const struct perf_result *all, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct perf_case *c = &all[i].c;
		if (c->transport == &perf_zipc && c->wait == wait && c->scenario == r->c.scenario &&
		    c->msg_bytes == r->c.msg_bytes && c->batch == r->c.batch)
			return &all[i];
	}
	return NULL;
}

static void bars(const struct perf_result *res, size_t n)
{
	int titled = 0;
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		const struct perf_result *zref = peer_of(r, &perf_zipc, res, n);
		char what[48];
		if (r->c.scenario == PERF_WAKE) {
			if (r->c.transport == &perf_zipc)
				bar_line(r->c.wait == ZIPC_WAIT_URING ? "wake RTT p50, io_uring sleeps" :
					 "wake RTT p50, both sides sleep", r,
					 peer_of(r, &perf_futex, res, n), BAR_WAKE_VS_FUTEX, 0, &titled);
			continue;
		}
		if (r->c.scenario == PERF_PINGPONG)
			snprintf(what, sizeof(what), "pingpong RTT p50");
		else if (r->c.scenario == PERF_THROUGHPUT)
			snprintf(what, sizeof(what), "throughput %u B batch %u", r->c.msg_bytes,
				 r->c.batch);
		else
			continue;
		if (r->c.transport == &perf_zipc) {
			if (r->c.scenario == PERF_PINGPONG || r->c.msg_bytes == 8)
				bar_line(what, r, peer_of(r, &perf_floor, res, n), BAR_VS_FLOOR, 0,
					 &titled);
			if (r->c.wait >= ZIPC_WAIT_BLOCK) {
				/* nobody sleeps at these rates: the cost of the blocking publish */
				if (r->c.scenario == PERF_THROUGHPUT)
					snprintf(what, sizeof(what), "%s publish, %u B batch %u",
						 perf_wait_name(r->c.wait), r->c.msg_bytes, r->c.batch);
				bar_line(what, r, zipc_with(r, ZIPC_WAIT_SPIN, res, n), BAR_BLOCK_VS_SPIN,
					 0, &titled);
			}
		} else if (r->c.transport->kernel && r->c.scenario == PERF_PINGPONG) {
			bar_line(what, r, zref, BAR_KERNEL_VS_ZIPC, 1, &titled);
		}
	}
}

void perf_report_table(const struct perf_result *res, size_t n, const struct perf_report *rep)
{
	const struct perf_result *zipc = NULL; /* the rows' zipc reference: the first wait listed */
	unsigned failed = 0;
	int shapes = 0;
	char zipc_ref[40] = "vs zipc", name[32];
	for (size_t i = 0; i < n; i++) {
		failed += res[i].failed;
		shapes |= perf_kind_of(res[i].c.scenario) == PERF_KIND_SHAPE;
		if (!zipc && res[i].c.transport == &perf_zipc &&
		    (res[i].c.scenario == PERF_PINGPONG || res[i].c.scenario == PERF_THROUGHPUT))
			zipc = &res[i];
	}
	if (zipc) {
		short_name(&zipc->c, name, sizeof(name));
		snprintf(zipc_ref, sizeof(zipc_ref), "vs %s", name);
	}
	printf("zipc-perf (zipc %s): %u run%s per configuration, in interleaved rounds; "
	       "median [min..max] over runs\n",
	       zipc_version(), rep->runs, rep->runs == 1 ? "" : "s");
	printf("cpus: %s\n", rep->placement);
	printf("vs X: times slower than X in the same round (RTT p50 ratio; inverse msgs/s or ops/s "
	       "ratio), median over rounds\n");
	if (has(PERF_PINGPONG, res, n))
		pingpong_table(res, n, zipc_ref);
	if (has(PERF_THROUGHPUT, res, n))
		throughput_table(res, n, zipc_ref);
	if (has(PERF_WAKE, res, n))
		wake_table(res, n);
	if (shapes)
		shapes_table(res, n, rep);
	if (has(PERF_RECORD_THROUGHPUT, res, n))
		record_table(res, n);
	if (has(PERF_WAITSET, res, n))
		waitset_table(res, n);
	bars(res, n);
	printf("\n%zu configurations x %u run%s in %.1f s", n, rep->runs, rep->runs == 1 ? "" : "s",
	       rep->wall_s);
	if (failed)
		printf("; %u runs FAILED (see above and stderr)", failed);
	printf("\n");
}

/* A number with @decimals digits in the JSON text, or null for NaN. */
static struct json_object *json_num(double v, int decimals)
{
	char text[64];
	if (isnan(v))
		return NULL;
	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return json_object_new_double_s(v, text);
}

/* Add @key, @key_min and @key_max from @s (null when no run succeeded). */
static void json_spread(struct json_object *o, const char *key, const struct perf_spread *s,
			int decimals)
{
	char k[64];
	json_object_object_add(o, key, json_num(s ? s->median : NAN, decimals));
	snprintf(k, sizeof(k), "%s_min", key);
	json_object_object_add(o, k, json_num(s ? s->min : NAN, decimals));
	snprintf(k, sizeof(k), "%s_max", key);
	json_object_object_add(o, k, json_num(s ? s->max : NAN, decimals));
}

/* The metrics of @r under their keys; sleeps and wakes only where they were counted. */
static void json_metrics(struct json_object *o, const struct perf_result *r)
{
	const enum perf_kind kind = perf_kind_of(r->c.scenario);
	const char *const *keys = kind == PERF_KIND_RTT ? rtt_keys :
				  kind == PERF_KIND_STREAM ? stream_keys : shape_keys;
	struct perf_spread s;
	for (int m = 0; m < perf_metric_count(r->c.scenario); m++) {
		int ok = perf_result_spread(r, m, &s) == 0;
		if ((kind == PERF_KIND_RTT && m >= PERF_RTT_SLEEPS) ||
		    (kind == PERF_KIND_STREAM && m >= PERF_STREAM_SLEEPS) ||
		    (kind == PERF_KIND_SHAPE && m >= PERF_SHAPE_SLEEPS)) {
			if (ok)
				json_spread(o, keys[m], &s, 3);
			continue;
		}
		json_spread(o, keys[m], ok ? &s : NULL, kind == PERF_KIND_RTT ? 1 : 0);
	}
}

static struct json_object *json_result(const struct perf_result *r, const struct perf_result *all,
				       size_t n, const struct perf_report *rep)
{
	const struct perf_case *c = &r->c;
	const char *wait = perf_wait_name(c->wait), *ref_key;
	const enum perf_kind kind = perf_kind_of(c->scenario);
	struct json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	struct perf_spread s;

	if (!o || !cpus) {
		json_object_put(o);
		json_object_put(cpus);
		return NULL;
	}
	json_object_object_add(o, "scenario", json_object_new_string(scenario_name(c)));
	json_object_object_add(o, "transport", json_object_new_string(c->transport->name));
	json_object_object_add(o, "mode", json_object_new_string(perf_mode_name(c->mode)));
	json_object_object_add(o, "wait", wait ? json_object_new_string(wait) : NULL);
	json_object_object_add(o, "msg_bytes", json_object_new_int64(c->msg_bytes));
	json_object_object_add(o, "batch", json_object_new_int64(c->batch));
	json_object_object_add(o, kind == PERF_KIND_RTT ? "iters" : "messages",
			       json_object_new_int64((int64_t)c->count));
	json_object_object_add(o, "warmup", json_object_new_int64((int64_t)c->warmup));
	if (c->wait >= ZIPC_WAIT_YIELD) { /* the strategies with a spin phase */
		uint32_t spin = c->spin_ns ? c->spin_ns : rep->env->spin_ns;
		json_object_object_add(o, "spin_ns", spin ? json_object_new_int64(spin) : NULL);
	}
	if (c->gap_ns)
		json_object_object_add(o, "gap_ns", json_object_new_int64(c->gap_ns));
	if (kind == PERF_KIND_SHAPE) {
		unsigned prod, cons;
		perf_shape_roles(c->scenario, &prod, &cons);
		json_object_object_add(o, "producers", json_object_new_int64(prod));
		json_object_object_add(o, "consumers", json_object_new_int64(cons));
	}
	if (c->scenario == PERF_WAITSET) {
		json_object_object_add(o, "rings", json_object_new_int64(c->rings));
		json_object_object_add(o, "backend", json_object_new_string(perf_waitset_backend()));
	}
	json_object_array_add(cpus, json_object_new_int(rep->env->cpu[PERF_PARENT]));
	json_object_array_add(cpus, json_object_new_int(rep->env->cpu[PERF_CHILD]));
	json_object_object_add(o, "cpus", cpus);
	json_object_object_add(o, "runs", json_object_new_int64(r->max_runs - r->failed));
	json_object_object_add(o, "failed_runs", json_object_new_int64(r->failed));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)r->errors));
	json_object_object_add(o, "ok", json_object_new_boolean(!r->failed));
	json_metrics(o, r);
	const struct perf_result *ref = reference_of(r, all, n, &ref_key);
	if (ref_key) {
		int ok = slowdown(r, ref, &s) == 0;
		json_spread(o, ref_key, ok ? &s : NULL, 3);
	}
	return o;
}

int perf_report_json(const struct perf_result *res, size_t n, const struct perf_report *rep)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_result(&res[i], res, n, rep);
		const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
		if (text)
			printf("%s\n", text);
		json_object_put(o);
		if (!text)
			return -ENOMEM;
	}
	return 0;
}
