/* perf/main.c - zipc-perf: options, the suite of cases, interleaved rounds of runs, exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "perf.h"

/*
 * Default sizes of a run, chosen so the default suite takes well under 90 s
 * on a loaded two-CPU VM: the kernel baselines cost ~10-50 us per round
 * trip there, shared memory well under 1 us, a sleeping wake-up ~10-30 us.
 */
#define DEFAULT_RUNS 5
#define DEFAULT_SHM_ITERS 100000
#define DEFAULT_KERNEL_ITERS 20000
/* Round trips of the scenarios where a side sleeps every time (each after a gap). */
#define DEFAULT_WAKE_ITERS 5000
#define DEFAULT_WAITSET_ITERS 2000
/* Default messages per stream run: this many, or fewer to stay within the byte budget. */
#define DEFAULT_SHM_MESSAGES 500000
#define DEFAULT_SHM_BYTES (128u << 20)
#define DEFAULT_KERNEL_MESSAGES 50000
#define DEFAULT_KERNEL_BYTES (16u << 20)
/* Messages through a Disruptor shape per run. */
#define DEFAULT_SHAPE_MESSAGES 200000
#define DEFAULT_TIMEOUT_S 30
/* Most entries of --sizes / --batch / --rings. */
#define MAX_LIST 16

/* Every transport, in the order rows are printed: the floor, zipc, then the kernel. */
static const struct perf_transport *const transports[] = {
	&perf_floor, &perf_zipc,  &perf_pipe,   &perf_socketpair,
	&perf_eventfd, &perf_futex, &perf_record, &perf_waitset,
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
	{ "uring", ZIPC_WAIT_URING, "as block, the sleep an io_uring FUTEX_WAIT on the same word" },
};
#define NWAITS (sizeof(waits) / sizeof(waits[0]))

/* Default message sizes of the two stream scenarios. */
static const uint32_t throughput_sizes[] = { 8, 64, 1024 };
static const uint32_t record_sizes[] = { 16, 256, 4096 };
static const uint32_t default_rings[] = { 1, 64, 1024 };

/* Bits (1u << enum perf_scenario) of the default suite. */
static unsigned default_scenarios(void)
{
	unsigned set = 0;
	for (unsigned s = 0; s < PERF_SCENARIOS; s++)
		if (perf_scenarios[s].in_default)
			set |= 1u << s;
	return set;
}

/* Bits of every shape scenario. */
static unsigned shape_scenarios(void)
{
	unsigned set = 0;
	for (unsigned s = 0; s < PERF_SCENARIOS; s++)
		if (perf_kind_of(s) == PERF_KIND_SHAPE)
			set |= 1u << s;
	return set;
}

struct options {
	unsigned scenarios;   /* bit (1 << enum perf_scenario) */
	unsigned transports;  /* bit i: transports[i] */
	unsigned modes;       /* bit (1 << enum perf_mode) */
	unsigned runs;
	uint64_t iters;       /* 0: per scenario and transport default */
	uint64_t messages;    /* 0: per scenario and transport default */
	int json;
	uint32_t wait[NWAITS];
	size_t nwait;
	uint32_t size[MAX_LIST]; /* nsize 0: per scenario defaults */
	size_t nsize;
	uint32_t batch[MAX_LIST];
	size_t nbatch;
	uint32_t rings[MAX_LIST];
	size_t nrings;
	struct perf_env env;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zipc-perf [OPTION]...\n"
		"Measure zipc between processes (and threads) on two CPUs, beside the hardware floor\n"
		"(raw shared memory), kernel IPC (pipe, socketpair, eventfd) and a raw futex, in one run.\n"
		"\n"
		"  -s, --scenario LIST   scenarios (see --list), or 'default' (pingpong, throughput,\n"
		"                        wake and the six Disruptor shapes: about a minute), 'shapes',\n"
		"                        or 'all'; record_throughput and waitset are opt-in (name\n"
		"                        them, or 'all'): they would take the default past 90 s;\n"
		"                        so are the components mesh, dispatch, sched and pool (their\n"
		"                        own fixed counts; --runs applies)\n"
		"  -r, --runs N          runs of every configuration, in interleaved rounds (default %d)\n"
		"  -i, --iters N         timed round trips per pingpong, wake or waitset run, after N/10\n"
		"                        warm-up (default pingpong %d, kernel baselines %d;\n"
		"                        wake %d, waitset %d)\n"
		"  -m, --messages N      messages per throughput, record_throughput or shape run\n"
		"                        (default %d or %u MiB if fewer, kernel baselines %d or\n"
		"                        %u MiB; shapes %d)\n"
		"  -t, --transport LIST  of floor,zipc,pipe,socketpair,eventfd,futex,zipc-record,\n"
		"                        zipc-waitset (default all; the shapes run on zipc)\n"
		"  -w, --wait LIST       zipc wait strategies of pingpong, throughput and\n"
		"                        record_throughput, of spin,yield,block,uring (default\n"
		"                        spin,block); wake runs block and uring with a 1 ns spin,\n"
		"                        the shapes always block\n"
		"  -z, --sizes LIST      message sizes in bytes, %u..%u (default throughput 8,64,1024,\n"
		"                        record_throughput 16,256,4096); eventfd throughput runs at 8 only\n"
		"  -b, --batch LIST      throughput: messages per claim/publish for zipc and floor;\n"
		"                        record_throughput: records per read (1..%u, default 1,64);\n"
		"                        the kernel baselines run batch 1\n"
		"      --mode LIST       shapes: of processes,threads (default both)\n"
		"      --rings LIST      waitset: rings the waiting process sleeps on, 1..%u\n"
		"                        (default 1,64,1024)\n"
		"  -c, --cpus A,B        OS CPU numbers of the parent (initiator, consumer) and the\n"
		"                        child (default: one CPU of each of the first two cores);\n"
		"                        shape roles may run on either\n"
		"      --spin-ns N       zipc yield/block/uring (shapes included): spin N ns before\n"
		"                        yielding or sleeping (default: the library's; wake: 1 ns)\n"
		"      --timeout SEC     kill a run that takes longer (default %d)\n"
		"  -j, --json            print JSON Lines, one object per configuration\n"
		"  -l, --list            list scenarios, modes, transports and wait strategies\n"
		"  -h, --help            print this help\n"
		"\n"
		"Exit status: 0 success, 1 a run failed, a message was lost or corrupted or a shape's\n"
		"end result was wrong, 2 bad usage or setup.\n",
		DEFAULT_RUNS, DEFAULT_SHM_ITERS, DEFAULT_KERNEL_ITERS, DEFAULT_WAKE_ITERS,
		DEFAULT_WAITSET_ITERS,
		DEFAULT_SHM_MESSAGES, DEFAULT_SHM_BYTES >> 20, DEFAULT_KERNEL_MESSAGES,
		DEFAULT_KERNEL_BYTES >> 20, DEFAULT_SHAPE_MESSAGES, PERF_MIN_MSG_BYTES,
		PERF_MAX_MSG_BYTES, PERF_RING_SLOTS, ZIPC_WAITSET_MAX_RINGS, DEFAULT_TIMEOUT_S);
}

static void list(void)
{
	printf("scenarios (* = in the default suite; the others are opt-in, to keep the default\n"
	       "under 90 s on two CPUs: run them with --scenario NAME or all):\n");
	for (unsigned s = 0; s < PERF_SCENARIOS; s++)
		printf("  %c %-23s %s\n", perf_scenarios[s].in_default ? '*' : ' ', perf_scenarios[s].name,
		       perf_scenarios[s].about);
	printf("modes (shapes):\n"
	       "    %-23s one child process per role, each attaching the ring by descriptor\n"
	       "    %-23s one child process, one thread per role\n",
	       "processes", "threads");
	printf("transports:\n");
	for (size_t i = 0; i < NTRANSPORTS; i++)
		printf("    %-23s %s\n", transports[i]->name, transports[i]->about);
	printf("wait strategies (zipc):\n");
	for (size_t i = 0; i < NWAITS; i++)
		printf("    %-23s %s\n", waits[i].name, waits[i].about);
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

static int scenario_item(const char *s, size_t i, void *ctx)
{
	unsigned *mask = ctx;
	(void)i;
	if (!strcmp(s, "default"))
		*mask |= default_scenarios();
	else if (!strcmp(s, "all"))
		*mask |= (1u << PERF_SCENARIOS) - 1;
	else if (!strcmp(s, "shapes"))
		*mask |= shape_scenarios();
	else {
		unsigned k = 0;
		while (k < PERF_SCENARIOS && strcmp(s, perf_scenarios[k].name))
			k++;
		if (k == PERF_SCENARIOS)
			return -EINVAL;
		*mask |= 1u << k;
	}
	return 0;
}

static int mode_item(const char *s, size_t i, void *ctx)
{
	unsigned *mask = ctx;
	(void)i;
	if (!strcmp(s, "processes"))
		*mask |= 1u << PERF_PROCESSES;
	else if (!strcmp(s, "threads"))
		*mask |= 1u << PERF_THREADS;
	else
		return -EINVAL;
	return 0;
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

/* Parse a list option into a mask (0 items is not possible: parse_list rejects it). */
static int parse_mask(const char *arg, size_t max, int (*item)(const char *s, size_t i, void *ctx),
		      unsigned *mask)
{
	*mask = 0;
	int n = parse_list(arg, max, item, mask);
	return n < 0 ? n : 0;
}

/* Parse a list option into @out[] and its length. */
static int parse_values(const char *arg, size_t max, int (*item)(const char *s, size_t i, void *ctx),
			void *ctx, size_t *len)
{
	int n = parse_list(arg, max, item, ctx);
	*len = n < 0 ? 0 : (size_t)n;
	return n < 0 ? n : 0;
}

enum { OPT_SPIN_NS = 256, OPT_TIMEOUT, OPT_MODE, OPT_RINGS };

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
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "rings", required_argument, NULL, OPT_RINGS },
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
	struct u32_list rings = { o->rings, 1, ZIPC_WAITSET_MAX_RINGS };
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:r:i:m:t:w:z:b:c:jlh", longopts, NULL)) != -1) {
		int rc = 0;
		switch (opt) {
		case 's':
			rc = parse_mask(optarg, PERF_SCENARIOS + 3, scenario_item, &o->scenarios);
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
			rc = parse_mask(optarg, NTRANSPORTS, transport_item, &o->transports);
			break;
		case 'w':
			rc = parse_values(optarg, NWAITS, wait_item, o->wait, &o->nwait);
			break;
		case 'z':
			rc = parse_values(optarg, MAX_LIST, u32_item, &sizes, &o->nsize);
			break;
		case 'b':
			rc = parse_values(optarg, MAX_LIST, u32_item, &batches, &o->nbatch);
			break;
		case OPT_MODE:
			rc = parse_mask(optarg, 2, mode_item, &o->modes);
			break;
		case OPT_RINGS:
			rc = parse_values(optarg, MAX_LIST, u32_item, &rings, &o->nrings);
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
	o->scenarios = default_scenarios();
	o->transports = (1u << NTRANSPORTS) - 1;
	o->modes = 1u << PERF_PROCESSES | 1u << PERF_THREADS;
	o->runs = DEFAULT_RUNS;
	o->wait[0] = ZIPC_WAIT_SPIN;
	o->wait[1] = ZIPC_WAIT_BLOCK;
	o->nwait = 2;
	o->batch[0] = 1;
	o->batch[1] = 64;
	o->nbatch = 2;
	memcpy(o->rings, default_rings, sizeof(default_rings));
	o->nrings = sizeof(default_rings) / sizeof(default_rings[0]);
	o->env.cpu[0] = o->env.cpu[1] = -1;
	o->env.timeout_s = DEFAULT_TIMEOUT_S;
}

/* The cases being built, in report order; out == NULL only counts them. */
struct builder {
	const struct options *o;
	struct perf_case *out;
	size_t n;
};

static void emit(struct builder *b, const struct perf_case *c)
{
	if (b->out)
		b->out[b->n] = *c;
	b->n++;
}

/* Emit @c once per wait strategy if @t has them, else once with none. */
static void emit_waits(struct builder *b, const struct perf_transport *t, struct perf_case c)
{
	c.transport = t;
	if (!t->has_wait) {
		emit(b, &c);
		return;
	}
	for (size_t w = 0; w < b->o->nwait; w++) {
		c.wait = b->o->wait[w];
		emit(b, &c);
	}
}

/* Whether transports[@t] is selected and runs in scenario @s. */
static int runs_in(const struct options *o, size_t t, enum perf_scenario s)
{
	return (o->transports >> t & 1) && (transports[t]->scenarios >> s & 1);
}

/* Whether transport @tr is selected. */
static int selected(const struct options *o, const struct perf_transport *tr)
{
	for (size_t t = 0; t < NTRANSPORTS; t++)
		if (transports[t] == tr)
			return o->transports >> t & 1;
	return 0;
}

/* Round trips per run of an rtt case when --iters is not given. */
static uint64_t default_iters(enum perf_scenario s, const struct perf_transport *t)
{
	if (s == PERF_WAKE)
		return DEFAULT_WAKE_ITERS;
	if (s == PERF_WAITSET)
		return DEFAULT_WAITSET_ITERS;
	return t->kernel ? DEFAULT_KERNEL_ITERS : DEFAULT_SHM_ITERS;
}

/* Messages per stream run when --messages is not given. */
static uint64_t default_messages(const struct perf_transport *t, uint32_t msg_bytes)
{
	uint64_t n = t->kernel ? DEFAULT_KERNEL_MESSAGES : DEFAULT_SHM_MESSAGES;
	uint64_t budget = (t->kernel ? DEFAULT_KERNEL_BYTES : DEFAULT_SHM_BYTES) / msg_bytes;
	return budget < n ? budget : n;
}

/* pingpong, wake, waitset: one row per transport (x wait strategy, x ring count). */
static void build_rtt(struct builder *b, enum perf_scenario s)
{
	const struct options *o = b->o;
	for (size_t t = 0; t < NTRANSPORTS; t++) {
		const struct perf_transport *tr = transports[t];
		uint64_t count = o->iters ? o->iters : default_iters(s, tr);
		struct perf_case c = {
			.scenario = s,
			.transport = tr,
			.msg_bytes = PERF_PINGPONG_BYTES,
			.batch = 1,
			.count = count,
			.warmup = count / 10,
		};
		if (!runs_in(o, t, s))
			continue;
		if (s == PERF_WAKE)
			c.gap_ns = PERF_WAKE_GAP_NS;
		if (s == PERF_WAKE && tr == &perf_zipc) {
			/* the strategies that sleep, made to sleep at once */
			c.spin_ns = PERF_WAKE_SPIN_NS;
			c.wait = ZIPC_WAIT_BLOCK;
			emit(b, &c);
			c.wait = ZIPC_WAIT_URING;
			emit(b, &c);
		} else if (s == PERF_WAITSET) {
			c.gap_ns = PERF_WAITSET_GAP_NS;
			for (size_t r = 0; r < o->nrings; r++) {
				c.rings = o->rings[r];
				emit(b, &c);
			}
		} else {
			emit_waits(b, tr, c);
		}
	}
}

/* throughput, record_throughput: per message size and batch, one row per transport. */
static void build_stream(struct builder *b, enum perf_scenario s)
{
	const struct options *o = b->o;
	const uint32_t *size = o->size;
	size_t nsize = o->nsize;
	if (!nsize) {
		size = s == PERF_RECORD_THROUGHPUT ? record_sizes : throughput_sizes;
		nsize = 3;
	}
	for (size_t z = 0; z < nsize; z++) {
		for (size_t k = 0; k < o->nbatch; k++) {
			for (size_t t = 0; t < NTRANSPORTS; t++) {
				const struct perf_transport *tr = transports[t];
				uint64_t count = o->messages ? o->messages : default_messages(tr, size[z]);
				struct perf_case c = {
					.scenario = s,
					.msg_bytes = size[z],
					.batch = o->batch[k],
					.count = count,
					.warmup = count / 10,
				};
				if (!runs_in(o, t, s) || (c.batch > 1 && !tr->batches) ||
				    (tr->tp_bytes && tr->tp_bytes != c.msg_bytes))
					continue;
				emit_waits(b, tr, c);
			}
		}
	}
}

/* The shapes, mode by mode, so each one_to_one row heads the rows compared with it. */
static void build_shapes(struct builder *b)
{
	const struct options *o = b->o;
	if (!selected(o, &perf_zipc))
		return;
	for (unsigned m = PERF_PROCESSES; m <= PERF_THREADS; m++) {
		if (!(o->modes >> m & 1))
			continue;
		for (unsigned s = 0; s < PERF_SCENARIOS; s++) {
			if (perf_kind_of(s) != PERF_KIND_SHAPE || !(o->scenarios >> s & 1))
				continue;
			struct perf_case c = {
				.scenario = s,
				.transport = &perf_zipc,
				.mode = m,
				.wait = ZIPC_WAIT_BLOCK, /* 4 busy roles on 2 CPUs: sleep, do not spin */
				.msg_bytes = perf_shape_bytes(s),
				.batch = 1,
				.count = perf_shape_messages(s, o->messages ? o->messages :
								    DEFAULT_SHAPE_MESSAGES),
			};
			emit(b, &c);
		}
	}
}

/* The suite, in report order (the order of enum perf_scenario, shapes mode by mode). */
static size_t build_cases(const struct options *o, struct perf_case *out)
{
	struct builder b = { .o = o, .out = out };
	int shapes_done = 0;
	for (unsigned s = 0; s < PERF_SCENARIOS; s++) {
		if (!(o->scenarios >> s & 1))
			continue;
		switch (perf_kind_of(s)) {
		case PERF_KIND_RTT:
			build_rtt(&b, s);
			break;
		case PERF_KIND_STREAM:
			build_stream(&b, s);
			break;
		case PERF_KIND_SHAPE:
			if (!shapes_done)
				build_shapes(&b);
			shapes_done = 1;
			break;
		case PERF_KIND_COMPONENT:
			break; /* perf_components_run() */
		}
	}
	return b.n;
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
	s->n = build_cases(o, NULL);
	s->cases = calloc(s->n ? s->n : 1, sizeof(*s->cases));
	s->res = calloc(s->n ? s->n : 1, sizeof(*s->res));
	if (!s->cases || !s->res)
		return -ENOMEM;
	build_cases(o, s->cases);
	for (; s->ready < s->n; s->ready++)
		if (perf_result_init(&s->res[s->ready], &s->cases[s->ready], o->runs))
			return -ENOMEM;
	uint64_t most = 0;
	for (size_t i = 0; i < s->n; i++)
		if (perf_kind_of(s->cases[i].scenario) == PERF_KIND_RTT && s->cases[i].count > most)
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
	} else if (!s.n && !(o.scenarios & perf_components_mask())) {
		fprintf(stderr, "zipc-perf: nothing to run with these options\n");
	} else if (perf_harness_init(&o.env, placement, sizeof(placement)) == 0) {
		struct perf_report rep = {
			.env = &o.env,
			.placement = placement,
			.runs = o.runs,
			.wall_s = s.n ? suite_run(&o, &s) : 0,
		};
		unsigned failed = 0, comp_failed = 0;
		rc = 0;
		if (s.n) {
			for (size_t i = 0; i < s.n; i++)
				failed += s.res[i].failed;
			if (o.json)
				rc = perf_report_json(s.res, s.n, &rep);
			else
				perf_report_table(s.res, s.n, &rep);
		}
		if (!rc && (o.scenarios & perf_components_mask())) {
			if (!o.json)
				fflush(stdout);
			rc = perf_components_run(o.scenarios, &o.env, o.runs, o.json, &comp_failed);
		}
		perf_harness_fini();
		status = failed || comp_failed ? 1 : 0;
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
