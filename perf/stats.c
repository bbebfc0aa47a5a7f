/* perf/stats.c - statistics: RTT percentiles, rates; per case, medians, ranges, per-round ratios. */
#include <math.h>
#include <stdlib.h>

#include "perf.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * Nearest-rank percentile of sorted samples: the smallest sample such that
 * at least q of all samples are <= it, i.e. index ceil(q * n) - 1.  Computed
 * in integers (q given in parts per 10000) so p99.9 of 1000 samples is the
 * 999th, never a rounding neighbour.
 */
static int64_t percentile(const int64_t *sorted, size_t n, unsigned q_per_10k)
{
	size_t rank = (n * q_per_10k + 9999) / 10000;
	return sorted[rank ? rank - 1 : 0];
}

int perf_result_init(struct perf_result *res, const struct perf_case *c, unsigned max_runs)
{
	size_t n = (size_t)PERF_MAX_METRICS * max_runs;
	memset(res, 0, sizeof(*res));
	res->c = *c;
	res->max_runs = max_runs;
	res->val = malloc(n * sizeof(*res->val));
	if (!res->val)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		res->val[i] = NAN;
	return 0;
}

void perf_result_fini(struct perf_result *res)
{
	free(res->val);
	res->val = NULL;
}

/* Store run @i's sleeps and wake-ups per message (warm-up included) as metrics @ms and @mw. */
static void per_message(struct perf_result *res, unsigned i, const struct perf_run *run, int ms, int mw)
{
	const double msgs = (double)(res->c.count + res->c.warmup);
	if (run->sleeps >= 0)
		res->val[(unsigned)ms * res->max_runs + i] = (double)run->sleeps / msgs;
	if (run->wakes >= 0)
		res->val[(unsigned)mw * res->max_runs + i] = (double)run->wakes / msgs;
}

void perf_result_record(struct perf_result *res, unsigned i, struct perf_run *run, int rc)
{
	double *v = res->val;
	const unsigned stride = res->max_runs;
	const size_t n = res->c.count;

	res->errors += run->errors;
	if (rc || run->errors) {
		res->failed++;
		return;
	}
	switch (perf_kind_of(res->c.scenario)) {
	case PERF_KIND_RTT: {
		int64_t *s = run->samples;
		double sum = 0;
		qsort(s, n, sizeof(*s), cmp_i64);
		for (size_t k = 0; k < n; k++)
			sum += (double)s[k];
		v[PERF_RTT_MEAN * stride + i] = sum / (double)n;
		v[PERF_RTT_P50 * stride + i] = (double)percentile(s, n, 5000);
		v[PERF_RTT_P99 * stride + i] = (double)percentile(s, n, 9900);
		v[PERF_RTT_P999 * stride + i] = (double)percentile(s, n, 9990);
		v[PERF_RTT_MAX * stride + i] = (double)s[n - 1];
		/* counted over the whole run, warm-up included */
		const double trips = (double)(res->c.count + res->c.warmup);
		if (run->sleeps >= 0)
			v[PERF_RTT_SLEEPS * stride + i] = (double)run->sleeps / trips;
		if (run->wakes >= 0)
			v[PERF_RTT_WAKES * stride + i] = (double)run->wakes / trips;
		break;
	}
	case PERF_KIND_STREAM: {
		double msgs = (double)n * 1e9 / (double)run->elapsed_ns;
		v[PERF_MSGS_PER_S * stride + i] = msgs;
		v[PERF_BYTES_PER_S * stride + i] = msgs * res->c.msg_bytes;
		per_message(res, i, run, PERF_STREAM_SLEEPS, PERF_STREAM_WAKES);
		break;
	}
	case PERF_KIND_SHAPE:
		v[PERF_OPS_PER_S * stride + i] = (double)n * 1e9 / (double)run->elapsed_ns;
		per_message(res, i, run, PERF_SHAPE_SLEEPS, PERF_SHAPE_WAKES);
		break;
	case PERF_KIND_COMPONENT:
		break; /* never a case of the suite: components.c records its own */
	}
}

/* Median and range of the values among @v[0..n) that are not NaN. */
static int spread_of_valid(const double *v, size_t n, struct perf_spread *out)
{
	double *s = malloc((n ? n : 1) * sizeof(*s));
	size_t k = 0;
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			s[k++] = v[i];
	if (k) {
		qsort(s, k, sizeof(*s), cmp_double);
		out->min = s[0];
		out->max = s[k - 1];
		out->median = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
	}
	free(s);
	return k ? 0 : -ENODATA;
}

int perf_result_spread(const struct perf_result *res, int m, struct perf_spread *out)
{
	return spread_of_valid(&res->val[(unsigned)m * res->max_runs], res->max_runs, out);
}

int perf_result_ratio(const struct perf_result *num, const struct perf_result *den, int m,
		      struct perf_spread *out)
{
	const unsigned n = num->max_runs < den->max_runs ? num->max_runs : den->max_runs;
	const double *a = &num->val[(unsigned)m * num->max_runs];
	const double *b = &den->val[(unsigned)m * den->max_runs];
	double *r = malloc((n ? n : 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		r[i] = a[i] / b[i]; /* NaN when either run failed */
	int rc = spread_of_valid(r, n, out);
	free(r);
	return rc;
}
