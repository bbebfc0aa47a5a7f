/* perf/report.c - output: one readable table with ratios and design bars, or JSON Lines. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>

#include "perf.h"

/* JSON keys of the metrics, indexed by enum perf_pp_metric / perf_tp_metric. */
static const char *const pp_keys[PERF_PP_METRICS] = {
	"rtt_ns_mean", "rtt_ns_p50", "rtt_ns_p99", "rtt_ns_p999", "rtt_ns_max",
};
static const char *const tp_keys[PERF_TP_METRICS] = { "msgs_per_s", "bytes_per_s" };

/* Design bars (DESIGN.md "Performance bar") checked from the ratios. */
#define BAR_VS_FLOOR 1.3      /* SPSC RTT and 8-byte throughput within 1.3x of the floor */
#define BAR_BLOCK_VS_SPIN 1.1 /* blocking strategy with no sleeper within 10 % of spin */
#define BAR_KERNEL_VS_ZIPC 10 /* kernel IPC at least 10x the RTT of zipc */

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

/*
 * How many times slower @r is than @ref within a round: the RTT p50 ratio
 * r/ref for pingpong, the inverse msgs/s ratio ref/r for throughput.
 */
static int slowdown(const struct perf_result *r, const struct perf_result *ref,
		    struct perf_spread *out)
{
	if (!ref)
		return -ENODATA;
	if (r->c.scenario == PERF_PINGPONG)
		return perf_result_ratio(r, ref, PERF_RTT_P50, out);
	return perf_result_ratio(ref, r, PERF_MSGS_PER_S, out);
}

static void print_range(const char *fmt_median, const char *fmt_range, const struct perf_spread *s,
			int width)
{
	char range[48];
	snprintf(range, sizeof(range), fmt_range, s->min, s->max);
	printf(fmt_median, s->median);
	printf(" %-*s", width, range);
}

/* The two ratio columns of a row: vs the floor (with range) and vs the reference zipc row. */
static void print_ratios(const struct perf_result *r, const struct perf_result *all, size_t n)
{
	struct perf_spread s;
	if (slowdown(r, peer_of(r, &perf_floor, all, n), &s) == 0)
		print_range(" %8.2fx", "[%.2f..%.2f]", &s, 13);
	else
		printf(" %9s %-13s", "-", "");
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
		printf(" (%llu wrong messages)", (unsigned long long)r->errors);
}

static void print_label(const struct perf_result *r)
{
	const char *wait = perf_wait_name(r->c.wait);
	printf("  %-10s %-5s", r->c.transport->name, wait ? wait : "-");
}

static void pingpong_table(const struct perf_result *res, size_t n, const char *zipc_ref)
{
	printf("\npingpong: RTT of one %u-byte message and its echo, round trips per run after a "
	       "10%% warm-up\n", PERF_PINGPONG_BYTES);
	printf("  %-10s %-5s %8s %8s %-17s %8s %8s %9s %8s %9s %-13s %12s\n", "transport",
	       "wait", "trips", "p50 ns", "[min..max]", "p99", "p99.9", "max", "mean", "vs floor",
	       "[min..max]", zipc_ref);
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		struct perf_spread s[PERF_PP_METRICS];
		if (r->c.scenario != PERF_PINGPONG)
			continue;
		print_label(r);
		printf(" %8llu", (unsigned long long)r->c.count);
		int ok = 1;
		for (int m = 0; m < PERF_PP_METRICS && ok; m++)
			ok = perf_result_spread(r, m, &s[m]) == 0;
		if (ok) {
			print_range(" %8.0f", "[%.0f..%.0f]", &s[PERF_RTT_P50], 17);
			printf(" %8.0f %8.0f %9.0f %8.0f", s[PERF_RTT_P99].median,
			       s[PERF_RTT_P999].median, s[PERF_RTT_MAX].median,
			       s[PERF_RTT_MEAN].median);
			print_ratios(r, res, n);
		}
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
	printf("  %-10s %-5s %6s %5s %8s %8s %-17s %8s %9s %-13s %12s\n", "transport", "wait",
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

/*
 * One line of the design-bar summary: ratio of @r against @ref and whether
 * it meets @bar.  The section's title comes before its first line (*@titled).
 */
static void bar_line(const char *what, const struct perf_result *r, const struct perf_result *ref,
		     double bar, int at_least, int *titled)
{
	struct perf_spread s;
	char a[32], b[32], pair[72];
	if (slowdown(r, ref, &s))
		return;
	if (!*titled)
		printf("\ndesign bars (DESIGN.md), ratios within a round, median [min..max] over "
		       "rounds:\n");
	*titled = 1;
	short_name(&r->c, a, sizeof(a));
	short_name(&ref->c, b, sizeof(b));
	snprintf(pair, sizeof(pair), "%s vs %s", a, b);
	int met = at_least ? s.median >= bar : s.median <= bar;
	printf("  %-26s %-24s %7.2fx [%.2f..%.2f]  bar %s %gx: %s\n", what, pair, s.median, s.min,
	       s.max, at_least ? ">=" : "<=", bar, met ? "met" : "MISSED");
}

static void bars(const struct perf_result *res, size_t n)
{
	int titled = 0;
	for (size_t i = 0; i < n; i++) {
		const struct perf_result *r = &res[i];
		const struct perf_result *zref = peer_of(r, &perf_zipc, res, n);
		char what[40];
		if (r->c.scenario == PERF_PINGPONG)
			snprintf(what, sizeof(what), "pingpong RTT p50");
		else
			snprintf(what, sizeof(what), "throughput %u B batch %u", r->c.msg_bytes,
				 r->c.batch);
		if (r->c.transport == &perf_zipc) {
			if (r->c.scenario == PERF_PINGPONG || r->c.msg_bytes == 8)
				bar_line(what, r, peer_of(r, &perf_floor, res, n), BAR_VS_FLOOR, 0,
					 &titled);
			if (r->c.wait == ZIPC_WAIT_BLOCK && zref != r)
				bar_line(what, r, zref, BAR_BLOCK_VS_SPIN, 0, &titled);
		} else if (r->c.transport->kernel && r->c.scenario == PERF_PINGPONG) {
			bar_line(what, r, zref, BAR_KERNEL_VS_ZIPC, 1, &titled);
		}
	}
}

void perf_report_table(const struct perf_result *res, size_t n, const struct perf_report *rep)
{
	const struct perf_result *zipc = NULL; /* the rows' zipc reference: the first wait listed */
	int pp = 0, tp = 0;
	unsigned failed = 0;
	char zipc_ref[40] = "vs zipc", name[32];
	for (size_t i = 0; i < n; i++) {
		pp |= res[i].c.scenario == PERF_PINGPONG;
		tp |= res[i].c.scenario == PERF_THROUGHPUT;
		failed += res[i].failed;
		if (!zipc && res[i].c.transport == &perf_zipc)
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
	printf("vs X: times slower than X in the same round (RTT p50 ratio; inverse msgs/s ratio), "
	       "median over rounds\n");
	if (pp)
		pingpong_table(res, n, zipc_ref);
	if (tp)
		throughput_table(res, n, zipc_ref);
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

static struct json_object *json_result(const struct perf_result *r, const struct perf_result *all,
				       size_t n, const struct perf_report *rep)
{
	const struct perf_case *c = &r->c;
	const char *wait = perf_wait_name(c->wait);
	const int pp = c->scenario == PERF_PINGPONG;
	struct json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	struct perf_spread s;

	if (!o || !cpus) {
		json_object_put(o);
		json_object_put(cpus);
		return NULL;
	}
	json_object_object_add(o, "scenario", json_object_new_string(pp ? "pingpong" : "throughput"));
	json_object_object_add(o, "transport", json_object_new_string(c->transport->name));
	json_object_object_add(o, "wait", wait ? json_object_new_string(wait) : NULL);
	json_object_object_add(o, "msg_bytes", json_object_new_int64(c->msg_bytes));
	json_object_object_add(o, "batch", json_object_new_int64(c->batch));
	json_object_object_add(o, pp ? "iters" : "messages", json_object_new_int64((int64_t)c->count));
	json_object_object_add(o, "warmup", json_object_new_int64((int64_t)c->warmup));
	if (c->transport == &perf_zipc && c->wait != ZIPC_WAIT_SPIN)
		json_object_object_add(o, "spin_ns", rep->env->spin_ns ?
				       json_object_new_int64(rep->env->spin_ns) : NULL);
	json_object_array_add(cpus, json_object_new_int(rep->env->cpu[PERF_PARENT]));
	json_object_array_add(cpus, json_object_new_int(rep->env->cpu[PERF_CHILD]));
	json_object_object_add(o, "cpus", cpus);
	json_object_object_add(o, "runs", json_object_new_int64(r->max_runs - r->failed));
	json_object_object_add(o, "failed_runs", json_object_new_int64(r->failed));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)r->errors));
	json_object_object_add(o, "ok", json_object_new_boolean(!r->failed));
	for (int m = 0; m < perf_metric_count(c->scenario); m++) {
		int ok = perf_result_spread(r, m, &s) == 0;
		json_spread(o, pp ? pp_keys[m] : tp_keys[m], ok ? &s : NULL, pp ? 1 : 0);
	}
	int ok = slowdown(r, peer_of(r, &perf_floor, all, n), &s) == 0;
	json_spread(o, "vs_floor", ok ? &s : NULL, 3);
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
