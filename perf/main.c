/* perf/main.c - zipc-perf: options, the suite of cases, interleaved rounds of runs, exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "perf.h"

/*
 * Default sizes of a run, chosen so the default suite takes well under 90 s
 * on a loaded two-CPU VM: the kernel baselines cost ~10-50 us per round
 * trip there, shared memory well under 1 us.
 */
#define DEFAULT_RUNS 5
#define DEFAULT_SHM_ITERS 100000
#define DEFAULT_KERNEL_ITERS 20000
/* Default messages per throughput run: this many, or fewer to stay within the byte budget. */
#define DEFAULT_SHM_MESSAGES 500000
#define DEFAULT_SHM_BYTES (128u << 20)
#define DEFAULT_KERNEL_MESSAGES 50000
#define DEFAULT_KERNEL_BYTES (16u << 20)
#define DEFAULT_TIMEOUT_S 30
/* Most entries of --sizes / --batch. */
#define MAX_LIST 16

/* Every transport, in the order rows are printed: the floor, zipc, then the kernel. */
static const struct perf_transport *const transports[] = {
	&perf_floor, &perf_zipc, &perf_pipe, &perf_socketpair, &perf_eventfd,
};
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

static const struct {
	const char *name;
	uint32_t wait;
	const char *about;
} waits[] = {
	{ "spin", ZIPC_WAIT_SPIN, "busy-spin with a pause instruction" },
	{ "yield", ZIPC_WAIT_YIELD, "spin --spin-ns, then sched_yield() between checks" },
	{ "block", ZIPC_WAIT_BLOCK, "spin --spin-ns, then sleep on the ring's shared futex" },
};
#define NWAITS (sizeof(waits) / sizeof(waits[0]))

struct options {
	unsigned scenarios;   /* bit (1 << enum perf_scenario) */
	unsigned transports;  /* bit i: transports[i] */
	unsigned runs;
	uint64_t iters;       /* 0: per transport default */
	uint64_t messages;    /* 0: per transport default */
	int json;
	uint32_t wait[NWAITS];
	size_t nwait;
	uint32_t size[MAX_LIST];
	size_t nsize;
	uint32_t batch[MAX_LIST];
	size_t nbatch;
	struct perf_env env;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zipc-perf [OPTION]...\n"
		"Measure zipc rings between two processes pinned to two CPUs, beside the hardware\n"
		"floor (raw shared memory) and kernel IPC (pipe, socketpair, eventfd), in one run.\n"
		"\n"
		"  -s, --scenario S      pingpong, throughput or all (default all)\n"
		"  -r, --runs N          runs of every configuration, in interleaved rounds (default %d)\n"
		"  -i, --iters N         timed round trips per pingpong run, after N/10 warm-up\n"
		"                        (default %d; kernel baselines %d)\n"
		"  -m, --messages N      messages per throughput run, after N/10 warm-up (default %d\n"
		"                        or %u MiB if fewer; kernel baselines %d or %u MiB)\n"
		"  -t, --transport LIST  of floor,zipc,pipe,socketpair,eventfd (default all)\n"
		"  -w, --wait LIST       zipc wait strategies, of spin,yield,block (default spin,block)\n"
		"  -z, --sizes LIST      throughput message sizes in bytes, %u..%u (default 8,64,1024);\n"
		"                        eventfd throughput runs at 8 only\n"
		"  -b, --batch LIST      throughput messages per claim/publish for zipc and floor,\n"
		"                        1..%u (default 1,64); the kernel baselines run batch 1\n"
		"  -c, --cpus A,B        OS CPU numbers of the parent (initiator, consumer) and the\n"
		"                        child (default: one CPU of each of the first two cores)\n"
		"      --spin-ns N       zipc yield/block: spin N ns before yielding or sleeping\n"
		"                        (default: the library's)\n"
		"      --timeout SEC     kill a run that takes longer (default %d)\n"
		"  -j, --json            print JSON Lines, one object per configuration\n"
		"  -l, --list            list scenarios, transports and wait strategies\n"
		"  -h, --help            print this help\n"
		"\n"
		"Exit status: 0 success, 1 a run failed or a message was lost or corrupted,\n"
		"2 bad usage or setup.\n",
		DEFAULT_RUNS, DEFAULT_SHM_ITERS, DEFAULT_KERNEL_ITERS, DEFAULT_SHM_MESSAGES,
		DEFAULT_SHM_BYTES >> 20, DEFAULT_KERNEL_MESSAGES, DEFAULT_KERNEL_BYTES >> 20,
		PERF_MIN_MSG_BYTES, PERF_MAX_MSG_BYTES, PERF_RING_SLOTS, DEFAULT_TIMEOUT_S);
}

static void list(void)
{
	printf("scenarios:\n"
	       "  %-11s RTT of an %u-byte message and its echo (mean, p50, p99, p99.9, max)\n"
	       "  %-11s one producer process to one consumer process (messages/s, bytes/s)\n",
	       "pingpong", PERF_PINGPONG_BYTES, "throughput");
	printf("transports:\n");
	for (size_t i = 0; i < NTRANSPORTS; i++)
		printf("  %-11s %s\n", transports[i]->name, transports[i]->about);
	printf("wait strategies (zipc):\n");
	for (size_t i = 0; i < NWAITS; i++)
		printf("  %-11s %s\n", waits[i].name, waits[i].about);
}

/* Parse a decimal number in [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Split @arg at commas and hand each item to @item; at most @max items.
 * Return: the number of items, or -EINVAL (empty item, too many, rejected).
 */
static int parse_list(const char *arg, size_t max, int (*item)(const char *s, size_t i, void *ctx),
		      void *ctx)
{
	char *copy = strdup(arg), *save = NULL;
	size_t n = 0;
	int rc = 0;
	if (!copy)
		return -ENOMEM;
	if (!*copy || copy[strlen(copy) - 1] == ',' || strstr(copy, ",,") || *copy == ',')
		rc = -EINVAL;
	for (char *s = strtok_r(copy, ",", &save); s && !rc; s = strtok_r(NULL, ",", &save))
		rc = n < max ? item(s, n++, ctx) : -EINVAL;
	free(copy);
	return rc ? rc : (int)n;
}

static int transport_item(const char *s, size_t i, void *ctx)
{
	unsigned *mask = ctx;
	(void)i;
	for (size_t t = 0; t < NTRANSPORTS; t++) {
		if (!strcmp(s, transports[t]->name)) {
			*mask |= 1u << t;
			return 0;
		}
	}
	return -EINVAL;
}

static int wait_item(const char *s, size_t i, void *ctx)
{
	uint32_t *out = ctx;
	for (size_t w = 0; w < NWAITS; w++) {
		if (!strcmp(s, waits[w].name)) {
			for (size_t k = 0; k < i; k++)
				if (out[k] == waits[w].wait)
					return -EINVAL; /* listed twice */
			out[i] = waits[w].wait;
			return 0;
		}
	}
	return -EINVAL;
}

struct u32_list {
	uint32_t *out;
	uint32_t min, max;
};

static int u32_item(const char *s, size_t i, void *ctx)
{
	struct u32_list *l = ctx;
	uint64_t v;
	int rc = parse_u64(s, l->min, l->max, &v);
	if (rc)
		return rc;
	for (size_t k = 0; k < i; k++)
		if (l->out[k] == v)
			return -EINVAL; /* listed twice */
	l->out[i] = (uint32_t)v;
	return 0;
}

static int parse_cpus(const char *arg, int cpu[2])
{
	uint32_t v[2];
	struct u32_list l = { v, 0, 1u << 20 };
	if (parse_list(arg, 2, u32_item, &l) != 2)
		return -EINVAL;
	cpu[0] = (int)v[0];
	cpu[1] = (int)v[1];
	return 0;
}

enum { OPT_SPIN_NS = 256, OPT_TIMEOUT };

/* Return: 0 to run, 1 to exit successfully (--help, --list), -EINVAL on bad usage. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' },
		{ "messages", required_argument, NULL, 'm' },
		{ "transport", required_argument, NULL, 't' },
		{ "wait", required_argument, NULL, 'w' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "batch", required_argument, NULL, 'b' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "spin-ns", required_argument, NULL, OPT_SPIN_NS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, 'j' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct u32_list sizes = { o->size, PERF_MIN_MSG_BYTES, PERF_MAX_MSG_BYTES };
	struct u32_list batches = { o->batch, 1, PERF_RING_SLOTS };
	uint64_t v;
	int opt, n;

	while ((opt = getopt_long(argc, argv, "s:r:i:m:t:w:z:b:c:jlh", longopts, NULL)) != -1) {
		int rc = 0;
		switch (opt) {
		case 's':
			if (!strcmp(optarg, "pingpong"))
				o->scenarios = 1u << PERF_PINGPONG;
			else if (!strcmp(optarg, "throughput"))
				o->scenarios = 1u << PERF_THROUGHPUT;
			else if (!strcmp(optarg, "all"))
				o->scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT;
			else
				rc = -EINVAL;
			break;
		case 'r':
			rc = parse_u64(optarg, 1, 1000, &v);
			o->runs = (unsigned)v;
			break;
		case 'i':
			rc = parse_u64(optarg, 1, 100000000, &o->iters);
			break;
		case 'm':
			rc = parse_u64(optarg, 1, UINT64_MAX / 2, &o->messages);
			break;
		case 't':
			o->transports = 0;
			n = parse_list(optarg, NTRANSPORTS, transport_item, &o->transports);
			rc = n < 0 ? n : 0;
			break;
		case 'w':
			n = parse_list(optarg, NWAITS, wait_item, o->wait);
			rc = n < 0 ? n : 0;
			o->nwait = n < 0 ? 0 : (size_t)n;
			break;
		case 'z':
			n = parse_list(optarg, MAX_LIST, u32_item, &sizes);
			rc = n < 0 ? n : 0;
			o->nsize = n < 0 ? 0 : (size_t)n;
			break;
		case 'b':
			n = parse_list(optarg, MAX_LIST, u32_item, &batches);
			rc = n < 0 ? n : 0;
			o->nbatch = n < 0 ? 0 : (size_t)n;
			break;
		case 'c':
			rc = parse_cpus(optarg, o->env.cpu);
			break;
		case OPT_SPIN_NS:
			rc = parse_u64(optarg, 0, UINT32_MAX, &v);
			o->env.spin_ns = (uint32_t)v;
			break;
		case OPT_TIMEOUT:
			rc = parse_u64(optarg, 1, 86400, &v);
			o->env.timeout_s = (unsigned)v;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'l':
			list();
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (rc) {
			const struct option *lo = longopts;
			while (lo->name && lo->val != opt)
				lo++;
			fprintf(stderr, "zipc-perf: invalid --%s '%s' (see --help)\n", lo->name, optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zipc-perf: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static void defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT;
	o->transports = (1u << NTRANSPORTS) - 1;
	o->runs = DEFAULT_RUNS;
	o->wait[0] = ZIPC_WAIT_SPIN;
	o->wait[1] = ZIPC_WAIT_BLOCK;
	o->nwait = 2;
	o->size[0] = 8;
	o->size[1] = 64;
	o->size[2] = 1024;
	o->nsize = 3;
	o->batch[0] = 1;
	o->batch[1] = 64;
	o->nbatch = 2;
	o->env.cpu[0] = o->env.cpu[1] = -1;
	o->env.timeout_s = DEFAULT_TIMEOUT_S;
}

/* Append @c once per wait strategy if @t has them, else once with none. */
static void add_cases(const struct options *o, const struct perf_transport *t, struct perf_case c,
		      struct perf_case *out, size_t *n)
{
	c.transport = t;
	if (!t->has_wait) {
		out[(*n)++] = c;
		return;
	}
	for (size_t w = 0; w < o->nwait; w++) {
		c.wait = o->wait[w];
		out[(*n)++] = c;
	}
}

/* Messages per throughput run when --messages is not given. */
static uint64_t default_messages(const struct perf_transport *t, uint32_t msg_bytes)
{
	uint64_t n = t->kernel ? DEFAULT_KERNEL_MESSAGES : DEFAULT_SHM_MESSAGES;
	uint64_t budget = (t->kernel ? DEFAULT_KERNEL_BYTES : DEFAULT_SHM_BYTES) / msg_bytes;
	return budget < n ? budget : n;
}

/*
 * The suite, in report order: pingpong per transport, then throughput per
 * message size and batch (so each floor row heads the rows it is compared
 * with).  @out has room for every combination.
 */
static size_t build_cases(const struct options *o, struct perf_case *out)
{
	size_t n = 0;
	if (o->scenarios & 1u << PERF_PINGPONG) {
		for (size_t t = 0; t < NTRANSPORTS; t++) {
			const struct perf_transport *tr = transports[t];
			uint64_t count = o->iters ? o->iters :
					 tr->kernel ? DEFAULT_KERNEL_ITERS : DEFAULT_SHM_ITERS;
			struct perf_case c = {
				.scenario = PERF_PINGPONG,
				.msg_bytes = PERF_PINGPONG_BYTES,
				.batch = 1,
				.count = count,
				.warmup = count / 10,
			};
			if (o->transports & 1u << t)
				add_cases(o, tr, c, out, &n);
		}
	}
	if (!(o->scenarios & 1u << PERF_THROUGHPUT))
		return n;
	for (size_t s = 0; s < o->nsize; s++) {
		for (size_t b = 0; b < o->nbatch; b++) {
			for (size_t t = 0; t < NTRANSPORTS; t++) {
				const struct perf_transport *tr = transports[t];
				uint64_t count = o->messages ? o->messages :
						 default_messages(tr, o->size[s]);
				struct perf_case c = {
					.scenario = PERF_THROUGHPUT,
					.msg_bytes = o->size[s],
					.batch = o->batch[b],
					.count = count,
					.warmup = count / 10,
				};
				if (!(o->transports & 1u << t) || (c.batch > 1 && !tr->batches) ||
				    (tr->tp_bytes && tr->tp_bytes != c.msg_bytes))
					continue;
				add_cases(o, tr, c, out, &n);
			}
		}
	}
	return n;
}

/* Everything a suite allocates; zero-initialised, freed by suite_free(). */
struct suite {
	struct perf_case *cases;
	struct perf_result *res;
	size_t n;     /* cases */
	size_t ready; /* results initialised */
	int64_t *samples;
};

static void suite_free(struct suite *s)
{
	for (size_t i = 0; i < s->ready; i++)
		perf_result_fini(&s->res[i]);
	free(s->res);
	free(s->samples);
	free(s->cases);
}

/* Build the cases and allocate their results and the RTT sample buffer. */
static int suite_alloc(const struct options *o, struct suite *s)
{
	s->cases = calloc(NTRANSPORTS * NWAITS * (1 + o->nsize * o->nbatch), sizeof(*s->cases));
	if (!s->cases)
		return -ENOMEM;
	s->n = build_cases(o, s->cases);
	s->res = calloc(s->n ? s->n : 1, sizeof(*s->res));
	if (!s->res)
		return -ENOMEM;
	for (; s->ready < s->n; s->ready++)
		if (perf_result_init(&s->res[s->ready], &s->cases[s->ready], o->runs))
			return -ENOMEM;
	uint64_t most = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->cases[i].scenario == PERF_PINGPONG && s->cases[i].count > most)
			most = s->cases[i].count;
	if (most) {
		s->samples = malloc(most * sizeof(*s->samples));
		if (!s->samples)
			return -ENOMEM;
		memset(s->samples, 0, most * sizeof(*s->samples)); /* fault the pages in now */
	}
	return 0;
}

/*
 * Run every case once per round, --runs rounds, so that slow drift of the
 * machine hits all cases alike.  Return: the suite's duration in seconds.
 */
static double suite_run(const struct options *o, struct suite *s)
{
	int progress = isatty(STDERR_FILENO);
	int64_t t0 = perf_now_ns();
	for (unsigned r = 0; r < o->runs; r++) {
		for (size_t i = 0; i < s->n; i++) {
			struct perf_run run = { .c = &s->cases[i], .env = &o->env, .samples = s->samples };
			if (progress)
				fprintf(stderr, "\rzipc-perf: round %u/%u, configuration %zu/%zu ", r + 1,
					o->runs, i + 1, s->n);
			int rc = perf_run_once(&run);
			perf_result_record(&s->res[i], r, &run, rc);
		}
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");
	return (double)(perf_now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
	struct options o;
	struct suite s = { 0 };
	char placement[256];
	int status = 2, rc;

	defaults(&o);
	rc = parse_options(argc, argv, &o);
	if (rc)
		return rc > 0 ? 0 : 2;
	rc = suite_alloc(&o, &s);
	if (rc) {
		fprintf(stderr, "zipc-perf: %s\n", zipc_strerror(rc));
	} else if (!s.n) {
		fprintf(stderr, "zipc-perf: nothing to run with these options\n");
	} else if (perf_harness_init(&o.env, placement, sizeof(placement)) == 0) {
		struct perf_report rep = {
			.env = &o.env,
			.placement = placement,
			.runs = o.runs,
			.wall_s = suite_run(&o, &s),
		};
		unsigned failed = 0;
		perf_harness_fini();
		for (size_t i = 0; i < s.n; i++)
			failed += s.res[i].failed;
		status = failed ? 1 : 0;
		if (o.json)
			rc = perf_report_json(s.res, s.n, &rep);
		else
			perf_report_table(s.res, s.n, &rep);
		errno = 0;
		if (!rc && (fflush(stdout) == EOF || ferror(stdout)))
			rc = errno ? -errno : -EIO;
		if (rc) {
			fprintf(stderr, "zipc-perf: writing the report: %s\n", zipc_strerror(rc));
			status = 2;
		}
	}
	suite_free(&s);
	return status;
}
