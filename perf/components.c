/* perf/components.c - opt-in scenarios of the higher-level components: mesh, dispatcher, scheduler, pool. */
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zipc/dispatch.h>
#include <zipc/mesh.h>
#include <zipc/pool.h>
#include <zipc/sched.h>

#include "perf.h"

/*
 * Every measurement runs in watched child processes (perf_spawn()), so the
 * run timeout kills whatever hangs; the children check what arrived
 * (counts and sums, order where the component promises one), write their
 * metrics into a shared page and exit 1 if anything was wrong.
 */

/* Messages each mesh worker sends to every worker (itself included). */
#define MESH_MESSAGES 20000u
/* Messages per sender of a dispatcher throughput run, and per forward-merge sender. */
#define DISPATCH_MESSAGES 50000u
/* Timed round trips (send -> recv) of the dispatcher latency run. */
#define DISPATCH_LAT_ITERS 5000u
/* Timed jobs of the scheduler overhead run (after a tenth as many untimed). */
#define SCHED_LAT_ITERS 5000u
/* Jobs per producer channel of the scheduler throughput run (8 channels). */
#define SCHED_PER_CHANNEL 5000u
#define SCHED_CHANNELS 8u
/* Fairness: channel 0 queues this many jobs, channels 1..7 SCHED_FAIR_SMALL each. */
#define SCHED_FAIR_BIG 1000u
#define SCHED_FAIR_SMALL 10u
#define SCHED_FAIR_GATE 100u
/* Timed calls of a pool RTT run (after a tenth as many untimed). */
#define POOL_RTT_ITERS 5000u
/* Items (one request each) of a pool batch, and timed batches per run. */
#define POOL_BATCH_ITEMS 1000u
#define POOL_BATCHES 20u
#define MESH_MAX_WORKERS 4u
#define COMP_MAX_METRICS 4u

/* One row of the report: a configuration of a component scenario. */
struct comp_row {
	enum perf_scenario scenario;
	enum perf_mode mode;
	const char *what;     /* the row's JSON "measure" value */
	uint32_t workers;     /* 0: not applicable */
	unsigned nmetrics;
	const char *key[COMP_MAX_METRICS];
	double *val[COMP_MAX_METRICS]; /* val[m][run], NaN: the run failed */
	unsigned failed;
};

/* Shared between the parent and the children of one run. */
struct comp_shared {
	int64_t start[MESH_MAX_WORKERS], end[MESH_MAX_WORKERS];
	double metric[COMP_MAX_METRICS];
	_Atomic int ready, done; /* pool cross-process: the server is up; the client finished */
};

struct comp_ctx {
	struct perf_run run;
	struct perf_case c;
	struct comp_shared *sh;
	uint32_t workers;
	uint32_t process; /* mesh, processes: this child's index */
	char name[32];
	int variant;      /* dispatch: 0 throughput 1 sender, 1 throughput 2 senders, 2 latency, 3 forward;
			     sched: 0 overhead, 1 throughput, 2 fairness;
			     pool: 0 RTT in-process, 1 RTT cross-process, 2 batch throughput */
};

/* ------------------------------------------------------------------ mesh */

static int mesh_worker(zipc_mesh_worker *w, void *arg, void **result)
{
	struct comp_ctx *x = arg;
	const uint32_t n = zipc_mesh_peers(w), me = zipc_mesh_index(w);
	zipc_mesh_sender *tx[MESH_MAX_WORKERS];
	zipc_mesh_receiver *rx;
	uint64_t sent[MESH_MAX_WORKERS] = { 0 }, got[MESH_MAX_WORKERS] = { 0 };
	uint64_t sum[MESH_MAX_WORKERS] = { 0 };
	struct zipc_mesh_msg m;
	int rc;
	(void)result;
	if (n > MESH_MAX_WORKERS || me >= n)
		return -EINVAL;
	rc = zipc_mesh_allocate(w, 0, tx, &rx);
	if (rc)
		return rc;
	x->sh->start[me] = perf_now_ns();
	for (uint32_t open = n; open;) {
		open = 0;
		for (uint32_t j = 0; j < n; j++) {
			for (int b = 0; b < 32 && sent[j] < MESH_MESSAGES; b++) {
				uint64_t v = sent[j];
				if (zipc_mesh_send_bytes(tx[j], &v, sizeof(v), 0))
					break;
				if (++sent[j] == MESH_MESSAGES)
					zipc_mesh_sender_close(tx[j]);
			}
			open += sent[j] < MESH_MESSAGES;
		}
		while (zipc_mesh_pull(rx, &m, 0) == 0) {
			uint64_t v;
			if (m.len != sizeof(v) || m.from >= n)
				return -EBADMSG;
			memcpy(&v, m.data, sizeof(v));
			got[m.from]++;
			sum[m.from] += v;
		}
		if (perf_timed_out)
			return -ETIMEDOUT;
	}
	while ((rc = zipc_mesh_pull(rx, &m, perf_timeout_ns(&x->run))) == 0) {
		uint64_t v;
		if (m.len != sizeof(v) || m.from >= n)
			return -EBADMSG;
		memcpy(&v, m.data, sizeof(v));
		got[m.from]++;
		sum[m.from] += v;
	}
	x->sh->end[me] = perf_now_ns();
	if (rc != -EPIPE)
		return rc;
	const uint64_t want_sum = (uint64_t)MESH_MESSAGES * (MESH_MESSAGES - 1) / 2;
	for (uint32_t j = 0; j < n; j++) {
		if (got[j] != MESH_MESSAGES || sum[j] != want_sum) {
			fprintf(stderr, "zipc-perf: mesh: worker %u got %llu messages (sum %llu) from %u, want %u (sum %llu)\n",
				me, (unsigned long long)got[j], (unsigned long long)sum[j], j, MESH_MESSAGES,
				(unsigned long long)want_sum);
			return -EBADMSG;
		}
	}
	return 0;
}

static int mesh_child(void *arg)
{
	struct comp_ctx *x = arg;
	struct zipc_mesh_config cfg = {
		.capacity = 1024,
		.max_message = 8,
		.timeout_ns = perf_timeout_ns(&x->run),
	};
	struct zipc_mesh_result res[MESH_MAX_WORKERS];
	zipc_mesh_guards *g;
	if (x->c.mode == PERF_THREADS) {
		cfg.mode = ZIPC_MESH_PROCESS;
		cfg.threads = x->workers;
	} else {
		cfg.mode = ZIPC_MESH_CLUSTER;
		cfg.threads = 1;
		cfg.processes = x->workers;
		cfg.process = x->process;
		cfg.name = x->name;
	}
	int rc = zipc_mesh_initialize(&cfg, mesh_worker, x, &g);
	if (rc)
		return perf_fail(&x->run, "mesh", "initialize", rc);
	memset(res, 0, sizeof(res));
	rc = zipc_mesh_join(g, res, MESH_MAX_WORKERS);
	if (rc)
		return perf_fail(&x->run, "mesh", "join", rc);
	for (uint32_t i = 0; i < cfg.threads; i++)
		if (res[i].rc)
			return perf_fail(&x->run, "mesh worker", "all-to-all", res[i].rc);
	return 0;
}

/* One mesh run: @x->workers workers as threads of one child or one child each. */
static int mesh_run(struct comp_ctx *x, double *out)
{
	uint32_t procs = x->c.mode == PERF_THREADS ? 1 : x->workers;
	int64_t first = INT64_MAX, last = 0;
	int rc = 0;
	snprintf(x->name, sizeof(x->name), "zp%d-%u", (int)getpid(), x->workers);
	perf_watch_start(&x->run);
	for (uint32_t p = 0; p < procs && !rc; p++) {
		x->process = p;
		pid_t pid = perf_spawn(&x->run, "mesh", PERF_ON_BOTH_CPUS, mesh_child, x);
		if (pid < 0)
			rc = perf_fail(&x->run, "parent", "fork", (int)pid);
	}
	if (perf_reap_all(&x->run, rc != 0) || rc)
		return rc ? rc : -ECHILD;
	for (uint32_t i = 0; i < x->workers; i++) {
		if (x->sh->start[i] < first)
			first = x->sh->start[i];
		if (x->sh->end[i] > last)
			last = x->sh->end[i];
	}
	if (last <= first)
		return -EPROTO;
	out[0] = (double)MESH_MESSAGES * x->workers * x->workers / ((double)(last - first) / 1e9);
	return 0;
}

/* -------------------------------------------------------------- dispatch */

struct disp_sender {
	zipc_dispatch_sender *s;
	int forward;
	uint64_t first; /* forward: sequence of the first message; step 2 */
	int64_t timeout;
	int rc;
};

static void *disp_send(void *p)
{
	struct disp_sender *f = p;
	for (uint64_t i = 0; i < DISPATCH_MESSAGES && !f->rc; i++) {
		uint64_t v = i;
		f->rc = f->forward ? zipc_dispatch_forward(f->s, &v, sizeof(v), f->first + 2 * i, f->timeout) :
				     zipc_dispatch_send(f->s, &v, sizeof(v), f->timeout);
	}
	zipc_dispatch_sender_close(f->s);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Latency: one thread sends a message and receives it through the dispatcher thread. */
static int disp_latency(struct comp_ctx *x, zipc_dispatch *d, double *out)
{
	zipc_dispatch_receiver *r;
	zipc_dispatch_sender *s;
	struct zipc_dispatch_msg m;
	int64_t *lat = malloc(DISPATCH_LAT_ITERS * sizeof(*lat));
	int rc = lat ? zipc_dispatch_receiver_open(d, "r", &r) : -ENOMEM;
	if (rc) {
		free(lat);
		return perf_fail(&x->run, "dispatch", "receiver open", rc);
	}
	rc = zipc_dispatch_sender_open(d, "s", "r", &s);
	if (rc) {
		zipc_dispatch_receiver_close(r);
		free(lat);
		return perf_fail(&x->run, "dispatch", "sender open", rc);
	}
	const uint32_t warm = DISPATCH_LAT_ITERS / 10;
	for (uint32_t i = 0; i < warm + DISPATCH_LAT_ITERS && !rc; i++) {
		uint64_t v = i, back = ~v;
		int64_t t0 = perf_now_ns();
		rc = zipc_dispatch_send(s, &v, sizeof(v), perf_timeout_ns(&x->run));
		while (!rc && (rc = zipc_dispatch_recv(r, &back, sizeof(back), &m, perf_timeout_ns(&x->run))) == 0)
			;
		if (rc == 1)
			rc = back == v && m.len == sizeof(v) ? 0 : -EBADMSG;
		if (!rc && i >= warm)
			lat[i - warm] = perf_now_ns() - t0;
	}
	zipc_dispatch_sender_close(s);
	zipc_dispatch_receiver_close(r);
	if (!rc) {
		qsort(lat, DISPATCH_LAT_ITERS, sizeof(*lat), cmp_i64);
		out[0] = (double)lat[DISPATCH_LAT_ITERS / 2];
		out[1] = (double)lat[(DISPATCH_LAT_ITERS * 99 + 99) / 100 - 1];
	}
	free(lat);
	return rc ? perf_fail(&x->run, "dispatch", "latency", rc) : 0;
}

/* Throughput: @nsend sender threads to one receiver; forward: merged by sequence. */
static int disp_throughput(struct comp_ctx *x, zipc_dispatch *d, unsigned nsend, int forward, double *out)
{
	zipc_dispatch_receiver *r;
	struct disp_sender f[2];
	pthread_t th[2];
	unsigned started = 0;
	int rc = zipc_dispatch_receiver_open(d, "r", &r);
	if (rc)
		return perf_fail(&x->run, "dispatch", "receiver open", rc);
	for (unsigned i = 0; i < nsend && !rc; i++) {
		char sn[16];
		snprintf(sn, sizeof(sn), "s%u", i);
		f[i] = (struct disp_sender){ .forward = forward, .first = i + 1u,
					     .timeout = perf_timeout_ns(&x->run) };
		rc = zipc_dispatch_sender_open(d, sn, "r", &f[i].s);
	}
	int64_t t0 = perf_now_ns();
	for (; started < nsend && !rc; started++)
		rc = -pthread_create(&th[started], NULL, disp_send, &f[started]);
	uint64_t got = 0, sum = 0, last = 0, unordered = 0;
	struct zipc_dispatch_msg m;
	int r2 = 0;
	while (!rc) {
		uint64_t v = 0;
		r2 = zipc_dispatch_recv(r, &v, sizeof(v), &m, perf_timeout_ns(&x->run));
		if (r2 < 0)
			break;
		if (r2 == 1) {
			got++;
			sum += v;
			if (forward && m.seq <= last)
				unordered++;
			last = m.seq;
		}
	}
	int64_t t1 = perf_now_ns();
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (f[i].rc && !rc)
			rc = f[i].rc;
	}
	zipc_dispatch_receiver_close(r);
	if (rc)
		return perf_fail(&x->run, "dispatch", forward ? "forward" : "send", rc);
	if (r2 != -EPIPE)
		return perf_fail(&x->run, "dispatch", "recv", r2 < 0 ? r2 : -EPROTO);
	const uint64_t want = (uint64_t)nsend * DISPATCH_MESSAGES;
	const uint64_t want_sum = nsend * ((uint64_t)DISPATCH_MESSAGES * (DISPATCH_MESSAGES - 1) / 2);
	if (got != want || sum != want_sum || unordered) {
		fprintf(stderr, "zipc-perf: dispatch: received %llu messages (sum %llu, %llu out of order), want %llu (sum %llu)\n",
			(unsigned long long)got, (unsigned long long)sum, (unsigned long long)unordered,
			(unsigned long long)want, (unsigned long long)want_sum);
		return -EBADMSG;
	}
	out[0] = (double)got / ((double)(t1 - t0) / 1e9);
	return 0;
}

static int disp_child(void *arg)
{
	struct comp_ctx *x = arg;
	struct zipc_dispatch_opts o = { .bound = x->variant == 2 ? 64 : 256, .max_message = 8 };
	zipc_dispatch *d;
	int rc = zipc_dispatch_create(x->name, &o, &d);
	if (rc)
		return perf_fail(&x->run, "dispatch", "create", rc);
	switch (x->variant) {
	case 0:
	case 1:
		rc = disp_throughput(x, d, (unsigned)x->variant + 1, 0, x->sh->metric);
		break;
	case 2:
		rc = disp_latency(x, d, x->sh->metric);
		break;
	default:
		rc = disp_throughput(x, d, 2, 1, x->sh->metric);
		break;
	}
	int rc2 = zipc_dispatch_close(d);
	return rc ? rc : rc2;
}

/* ----------------------------------------------------------------- sched */

/* Job state of the one scheduler run of a child process. */
static _Atomic uint64_t sched_pong, sched_jobs, sched_sum;
static _Atomic uint32_t sched_gate, sched_at_gate;
static _Atomic uint64_t sched_nord;
static uint64_t sched_order[SCHED_FAIR_BIG + SCHED_CHANNELS * SCHED_FAIR_SMALL];
static int64_t sched_deadline;

static int sched_echo_job(void *ctx, struct zipc_sched_job *job)
{
	uint64_t v;
	(void)ctx;
	memcpy(&v, job->data, sizeof(v));
	atomic_store_explicit(&sched_pong, v, memory_order_release);
	return 0;
}

static int sched_count_job(void *ctx, struct zipc_sched_job *job)
{
	uint64_t v;
	(void)ctx;
	memcpy(&v, job->data, sizeof(v));
	atomic_fetch_add_explicit(&sched_jobs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sched_sum, v, memory_order_relaxed);
	return 0;
}

static int sched_fair_job(void *ctx, struct zipc_sched_job *job)
{
	(void)ctx;
	if (job->channel == SCHED_FAIR_GATE) {
		atomic_fetch_add(&sched_at_gate, 1);
		while (!atomic_load(&sched_gate) && perf_now_ns() < sched_deadline)
			sched_yield();
		return 0;
	}
	uint64_t i = atomic_fetch_add(&sched_nord, 1);
	if (i < sizeof(sched_order) / sizeof(sched_order[0]))
		sched_order[i] = job->channel;
	return 0;
}

/* Per-job overhead: send one job to idle workers, spin until it has run. */
static int sched_overhead(struct comp_ctx *x, double *out)
{
	struct zipc_sched_opts o = { .workers = 2, .max_payload = 8, .job = sched_echo_job,
				     .flags = ZIPC_SCHED_PERSIST };
	zipc_sched *s;
	zipc_sched_sender *tx;
	int64_t *lat = malloc(SCHED_LAT_ITERS * sizeof(*lat));
	int rc = lat ? zipc_sched_create(NULL, &o, &s) : -ENOMEM;
	if (rc) {
		free(lat);
		return perf_fail(&x->run, "sched", "create", rc);
	}
	rc = zipc_sched_channel_create(s, 1, 64, 1, &tx);
	const uint32_t warm = SCHED_LAT_ITERS / 10;
	for (uint32_t i = 0; i < warm + SCHED_LAT_ITERS && !rc; i++) {
		uint64_t k = i + 1;
		int64_t t0 = perf_now_ns();
		rc = zipc_sched_sender_try_send(tx, &k, sizeof(k));
		while (!rc && atomic_load_explicit(&sched_pong, memory_order_acquire) != k)
			if (perf_now_ns() > sched_deadline)
				rc = -ETIMEDOUT;
		if (!rc && i >= warm)
			lat[i - warm] = perf_now_ns() - t0;
	}
	if (!rc)
		zipc_sched_sender_close(tx);
	int rc2 = zipc_sched_destroy(s);
	if (!rc) {
		qsort(lat, SCHED_LAT_ITERS, sizeof(*lat), cmp_i64);
		out[0] = (double)lat[SCHED_LAT_ITERS / 2];
		out[1] = (double)lat[(SCHED_LAT_ITERS * 99 + 99) / 100 - 1];
	}
	free(lat);
	rc = rc ? rc : rc2;
	return rc ? perf_fail(&x->run, "sched", "overhead", rc) : 0;
}

struct sched_prod {
	zipc_sched_sender *tx;
	int64_t timeout;
	int rc;
};

static void *sched_produce(void *arg)
{
	struct sched_prod *p = arg;
	struct zipc_wait_opts w = { .strategy = ZIPC_WAIT_BLOCK };
	p->rc = zipc_sched_sender_set_wait(p->tx, &w);
	for (uint64_t k = 0; k < SCHED_PER_CHANNEL && !p->rc; k++)
		p->rc = zipc_sched_sender_send(p->tx, &k, sizeof(k), p->timeout);
	zipc_sched_sender_close(p->tx);
	return NULL;
}

/* Throughput: 8 producer threads, each on its own channel, 2 workers, a counting job. */
static int sched_throughput(struct comp_ctx *x, double *out)
{
	struct zipc_sched_opts o = { .workers = 2, .max_payload = 8, .job = sched_count_job };
	struct sched_prod p[SCHED_CHANNELS];
	pthread_t th[SCHED_CHANNELS];
	unsigned opened = 0, started = 0;
	zipc_sched *s;
	int rc = zipc_sched_create(NULL, &o, &s);
	if (rc)
		return perf_fail(&x->run, "sched", "create", rc);
	for (; opened < SCHED_CHANNELS && !rc; opened++) {
		p[opened] = (struct sched_prod){ .timeout = perf_timeout_ns(&x->run) };
		rc = zipc_sched_channel_create(s, opened, 1024, 1, &p[opened].tx);
		if (rc)
			break;
	}
	int64_t t0 = perf_now_ns();
	for (; started < opened && !rc; started++)
		rc = -pthread_create(&th[started], NULL, sched_produce, &p[started]);
	for (unsigned i = started; i < opened; i++)
		zipc_sched_sender_close(p[i].tx);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (p[i].rc && !rc)
			rc = p[i].rc;
	}
	if (!rc)
		rc = zipc_sched_join(s, perf_timeout_ns(&x->run));
	int64_t t1 = perf_now_ns();
	struct zipc_sched_stat st;
	if (!rc)
		rc = zipc_sched_stat(s, &st);
	int rc2 = zipc_sched_destroy(s);
	rc = rc ? rc : rc2;
	if (rc)
		return perf_fail(&x->run, "sched", "throughput", rc);
	const uint64_t want = (uint64_t)SCHED_CHANNELS * SCHED_PER_CHANNEL;
	const uint64_t want_sum = SCHED_CHANNELS * ((uint64_t)SCHED_PER_CHANNEL * (SCHED_PER_CHANNEL - 1) / 2);
	const uint64_t jobs = atomic_load(&sched_jobs), sum = atomic_load(&sched_sum);
	if (jobs != want || sum != want_sum || st.completed != want) {
		fprintf(stderr, "zipc-perf: sched: %llu jobs ran (sum %llu, %llu completed), want %llu (sum %llu)\n",
			(unsigned long long)jobs, (unsigned long long)sum, (unsigned long long)st.completed,
			(unsigned long long)want, (unsigned long long)want_sum);
		return -EBADMSG;
	}
	out[0] = (double)want / ((double)(t1 - t0) / 1e9);
	return 0;
}

/*
 * Fairness: both workers held by gate jobs while channel 0 queues 1000 jobs
 * and channels 1..7 queue 10 each; then released.  Jain's index of the
 * jobs served per channel over the window in which all 8 are backlogged
 * (the first 80 jobs): 1 is perfectly fair, 1/8 one channel served alone.
 */
static int sched_fairness(struct comp_ctx *x, double *out)
{
	struct zipc_sched_opts o = { .workers = 2, .max_payload = 8, .job = sched_fair_job };
	zipc_sched_sender *g, *tx;
	zipc_sched *s;
	uint64_t z = 0;
	int rc = zipc_sched_create(NULL, &o, &s);
	if (rc)
		return perf_fail(&x->run, "sched", "create", rc);
	rc = zipc_sched_channel_create(s, SCHED_FAIR_GATE, 2, 1, &g);
	if (!rc) {
		rc = zipc_sched_sender_try_send(g, &z, sizeof(z));
		if (!rc)
			rc = zipc_sched_sender_try_send(g, &z, sizeof(z));
		zipc_sched_sender_close(g);
	}
	while (!rc && atomic_load(&sched_at_gate) < 2)
		if (perf_now_ns() > sched_deadline)
			rc = -ETIMEDOUT;
		else
			sched_yield();
	for (uint64_t c = 0; c < SCHED_CHANNELS && !rc; c++) {
		rc = zipc_sched_channel_create(s, c, 1024, 1, &tx);
		if (rc)
			break;
		const uint64_t n = c == 0 ? SCHED_FAIR_BIG : SCHED_FAIR_SMALL;
		for (uint64_t k = 0; k < n && !rc; k++)
			rc = zipc_sched_sender_try_send(tx, &k, sizeof(k));
		zipc_sched_sender_close(tx);
	}
	atomic_store(&sched_gate, 1);
	if (!rc)
		rc = zipc_sched_join(s, perf_timeout_ns(&x->run));
	int rc2 = zipc_sched_destroy(s);
	rc = rc ? rc : rc2;
	if (rc)
		return perf_fail(&x->run, "sched", "fairness", rc);
	const uint64_t want = SCHED_FAIR_BIG + (SCHED_CHANNELS - 1) * SCHED_FAIR_SMALL;
	uint64_t total[SCHED_CHANNELS] = { 0 };
	double win[SCHED_CHANNELS] = { 0 }, sum = 0, sq = 0;
	const uint64_t served = atomic_load(&sched_nord);
	int bad = served != want;
	for (uint64_t i = 0; i < served && i < want && !bad; i++) {
		if (sched_order[i] >= SCHED_CHANNELS) {
			bad = 1;
			break;
		}
		total[sched_order[i]]++;
		if (i < SCHED_CHANNELS * SCHED_FAIR_SMALL)
			win[sched_order[i]] += 1;
	}
	for (unsigned c = 0; c < SCHED_CHANNELS && !bad; c++)
		bad = total[c] != (c == 0 ? SCHED_FAIR_BIG : SCHED_FAIR_SMALL);
	if (bad) {
		fprintf(stderr, "zipc-perf: sched: fairness run served %llu jobs, want %llu (1000 on channel 0, 10 on each of 1..7)\n",
			(unsigned long long)served, (unsigned long long)want);
		return -EBADMSG;
	}
	for (unsigned c = 0; c < SCHED_CHANNELS; c++) {
		sum += win[c];
		sq += win[c] * win[c];
	}
	out[0] = sum * sum / (SCHED_CHANNELS * sq);
	return 0;
}

static int sched_child(void *arg)
{
	struct comp_ctx *x = arg;
	sched_deadline = perf_now_ns() + perf_timeout_ns(&x->run);
	switch (x->variant) {
	case 0:
		return sched_overhead(x, x->sh->metric);
	case 1:
		return sched_throughput(x, x->sh->metric);
	default:
		return sched_fairness(x, x->sh->metric);
	}
}

/* One run of a component that lives in one child process. */
static int one_child_run(struct comp_ctx *x, const char *who, int (*fn)(void *arg), double *out)
{
	for (unsigned m = 0; m < COMP_MAX_METRICS; m++)
		x->sh->metric[m] = NAN;
	perf_watch_start(&x->run);
	pid_t pid = perf_spawn(&x->run, who, PERF_ON_BOTH_CPUS, fn, x);
	int rc = pid < 0 ? perf_fail(&x->run, "parent", "fork", (int)pid) : 0;
	if (perf_reap_all(&x->run, rc != 0) || rc)
		return rc ? rc : -ECHILD;
	memcpy(out, x->sh->metric, sizeof(x->sh->metric));
	return 0;
}

/* ------------------------------------------------------------------ pool */

static int pool_construct(void *ctx, const struct zipc_pool_req_info *req, void **state,
			  struct zipc_pool_reply *rep)
{
	(void)ctx;
	(void)req;
	(void)rep;
	*state = NULL;
	return 0;
}

/* Every request is echoed. */
static int pool_process(void *ctx, void *state, const struct zipc_pool_req_info *req,
			struct zipc_pool_reply *rep)
{
	(void)ctx;
	(void)state;
	if (req->len > rep->cap)
		return -EMSGSIZE;
	memcpy(rep->data, req->data, req->len);
	rep->len = req->len;
	return 0;
}

static const struct zipc_pool_item_ops pool_ops = { pool_construct, pool_process, NULL, NULL };

#define POOL_KIND_ECHO 1u

/* Add items 0..@n-1 to the pool through @c. */
static int pool_add_items(zipc_pool_client *c, uint32_t n, int64_t timeout)
{
	struct zipc_pool_req *r = calloc(n, sizeof(*r));
	struct zipc_pool_rsp *s = calloc(n, sizeof(*s));
	int rc = r && s ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < n && !rc; i++)
		r[i] = (struct zipc_pool_req){ .id = i, .kind = ZIPC_POOL_ADD };
	if (!rc)
		rc = zipc_pool_send_and_receive(c, r, s, n, timeout);
	for (uint32_t i = 0; i < n && !rc; i++)
		if (s[i].status)
			rc = s[i].status;
	free(r);
	free(s);
	return rc;
}

/* RTT of one 8-byte echo request, checked. */
static int pool_rtt(struct comp_ctx *x, zipc_pool_client *c, double *out)
{
	int64_t *lat = malloc(POOL_RTT_ITERS * sizeof(*lat));
	const int64_t timeout = perf_timeout_ns(&x->run);
	int rc = lat ? pool_add_items(c, 1, timeout) : -ENOMEM;
	const uint32_t warm = POOL_RTT_ITERS / 10;
	for (uint32_t i = 0; i < warm + POOL_RTT_ITERS && !rc; i++) {
		uint64_t v = i + 1, back = 0;
		struct zipc_pool_req r = { .id = 0, .kind = POOL_KIND_ECHO, .len = sizeof(v), .data = &v };
		struct zipc_pool_rsp rsp;
		int64_t t0 = perf_now_ns();
		rc = zipc_pool_call(c, &r, &rsp, timeout);
		int64_t t1 = perf_now_ns();
		if (!rc && rsp.status)
			rc = rsp.status;
		if (!rc) {
			if (rsp.len == sizeof(back) && rsp.data)
				memcpy(&back, rsp.data, sizeof(back));
			if (rsp.id != 0 || back != v)
				rc = -EBADMSG;
		}
		if (!rc && i >= warm)
			lat[i - warm] = t1 - t0;
	}
	if (!rc) {
		qsort(lat, POOL_RTT_ITERS, sizeof(*lat), cmp_i64);
		out[0] = (double)lat[POOL_RTT_ITERS / 2];
		out[1] = (double)lat[(POOL_RTT_ITERS * 99 + 99) / 100 - 1];
	}
	free(lat);
	return rc;
}

/* Batches of 1000 echo requests, one per item, checked; requests per second. */
static int pool_batch(struct comp_ctx *x, zipc_pool_client *c, double *out)
{
	const uint32_t n = POOL_BATCH_ITEMS;
	const int64_t timeout = perf_timeout_ns(&x->run);
	struct zipc_pool_req *r = calloc(n, sizeof(*r));
	struct zipc_pool_rsp *s = calloc(n, sizeof(*s));
	uint64_t *v = calloc(n, sizeof(*v));
	int rc = r && s && v ? pool_add_items(c, n, timeout) : -ENOMEM;
	int64_t t0 = 0;
	for (uint32_t b = 0; b <= POOL_BATCHES && !rc; b++) {
		if (b == 1)
			t0 = perf_now_ns(); /* batch 0 warms up */
		for (uint32_t i = 0; i < n; i++) {
			v[i] = (uint64_t)b * n + i;
			r[i] = (struct zipc_pool_req){ .id = i, .kind = POOL_KIND_ECHO, .len = 8, .data = &v[i] };
		}
		rc = zipc_pool_send_and_receive(c, r, s, n, timeout);
		uint64_t sum = 0, want = 0;
		for (uint32_t i = 0; i < n && !rc; i++) {
			uint64_t back = 0;
			if (s[i].status) {
				rc = s[i].status;
				break;
			}
			if (s[i].len == 8 && s[i].data)
				memcpy(&back, s[i].data, 8);
			if (back % n != s[i].id)
				rc = -EBADMSG;
			sum += back;
			want += v[i];
		}
		if (!rc && sum != want)
			rc = -EBADMSG;
	}
	if (!rc)
		out[0] = (double)n * POOL_BATCHES / ((double)(perf_now_ns() - t0) / 1e9);
	free(r);
	free(s);
	free(v);
	return rc;
}

static int pool_make(struct comp_ctx *x, const char *name, unsigned threads, zipc_pool **p)
{
	struct zipc_pool_opts o = { .threads = threads, .max_payload = 64 };
	int rc = zipc_pool_create(name, &o, &pool_ops, p);
	return rc ? perf_fail(&x->run, "pool", "create", rc) : 0;
}

/* In-process: the pool and its client in one child. */
static int pool_local_child(void *arg)
{
	struct comp_ctx *x = arg;
	zipc_pool_client *c;
	zipc_pool *p;
	int rc = pool_make(x, NULL, x->variant == 2 ? 2 : 1, &p);
	if (rc)
		return rc;
	rc = zipc_pool_client_open(p, NULL, &c);
	if (rc) {
		zipc_pool_close(p);
		return perf_fail(&x->run, "pool", "client open", rc);
	}
	rc = x->variant == 2 ? pool_batch(x, c, x->sh->metric) : pool_rtt(x, c, x->sh->metric);
	zipc_pool_client_close(c);
	int rc2 = zipc_pool_close(p);
	rc = rc ? rc : rc2;
	return rc ? perf_fail(&x->run, "pool", x->variant == 2 ? "batch" : "rtt", rc) : 0;
}

/* Cross-process server: create the named pool, serve until the client is done. */
static int pool_server_child(void *arg)
{
	struct comp_ctx *x = arg;
	zipc_pool *p;
	int rc = pool_make(x, x->name, 1, &p);
	if (rc)
		return rc;
	atomic_store(&x->sh->ready, 1);
	const int64_t deadline = perf_now_ns() + perf_timeout_ns(&x->run);
	while (!atomic_load(&x->sh->done) && perf_now_ns() < deadline) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	rc = zipc_pool_close(p);
	if (!rc && !atomic_load(&x->sh->done))
		rc = -ETIMEDOUT;
	return rc ? perf_fail(&x->run, "pool server", "serve", rc) : 0;
}

static int pool_client_child(void *arg)
{
	struct comp_ctx *x = arg;
	zipc_pool_client *c;
	const int64_t deadline = perf_now_ns() + perf_timeout_ns(&x->run);
	while (!atomic_load(&x->sh->ready) && perf_now_ns() < deadline)
		sched_yield();
	int rc = zipc_pool_client_attach(x->name, NULL, &c);
	if (rc) {
		atomic_store(&x->sh->done, 1);
		return perf_fail(&x->run, "pool client", "attach", rc);
	}
	rc = pool_rtt(x, c, x->sh->metric);
	zipc_pool_client_close(c);
	atomic_store(&x->sh->done, 1);
	return rc ? perf_fail(&x->run, "pool client", "rtt", rc) : 0;
}

static int pool_remote_run(struct comp_ctx *x, double *out)
{
	for (unsigned m = 0; m < COMP_MAX_METRICS; m++)
		x->sh->metric[m] = NAN;
	snprintf(x->name, sizeof(x->name), "zpp%d", (int)getpid());
	perf_watch_start(&x->run);
	pid_t pid = perf_spawn(&x->run, "pool server", PERF_ON_BOTH_CPUS, pool_server_child, x);
	int rc = pid < 0 ? perf_fail(&x->run, "parent", "fork", (int)pid) : 0;
	if (!rc) {
		pid = perf_spawn(&x->run, "pool client", PERF_ON_BOTH_CPUS, pool_client_child, x);
		rc = pid < 0 ? perf_fail(&x->run, "parent", "fork", (int)pid) : 0;
	}
	if (perf_reap_all(&x->run, rc != 0) || rc)
		return rc ? rc : -ECHILD;
	memcpy(out, x->sh->metric, sizeof(x->sh->metric));
	return 0;
}

/* ---------------------------------------------------------------- driver */

static const char *const thr_key[] = { "msgs_per_s" };
static const char *const lat_key[] = { "rtt_ns_p50", "rtt_ns_p99" };
static const char *const ops_key[] = { "ops_per_s" };
static const char *const jain_key[] = { "jain_index" };

/* The rows of the selected component scenarios; out == NULL counts them. */
static size_t comp_rows(unsigned scenarios, struct comp_row *out)
{
	size_t n = 0;
#define ROW(...)                                              \
	do {                                                  \
		if (out)                                      \
			out[n] = (struct comp_row){ __VA_ARGS__ }; \
		n++;                                          \
	} while (0)
	if (scenarios >> PERF_MESH & 1)
		for (unsigned m = PERF_PROCESSES; m <= PERF_THREADS; m++)
			for (uint32_t w = 2; w <= 4; w += 2)
				ROW(.scenario = PERF_MESH, .mode = m, .what = "all_to_all", .workers = w,
				    .nmetrics = 1, .key = { thr_key[0] });
	if (scenarios >> PERF_DISPATCH & 1) {
		ROW(.scenario = PERF_DISPATCH, .mode = PERF_THREADS, .what = "send", .workers = 1,
		    .nmetrics = 1, .key = { thr_key[0] });
		ROW(.scenario = PERF_DISPATCH, .mode = PERF_THREADS, .what = "send", .workers = 2,
		    .nmetrics = 1, .key = { thr_key[0] });
		ROW(.scenario = PERF_DISPATCH, .mode = PERF_THREADS, .what = "latency", .workers = 1,
		    .nmetrics = 2, .key = { lat_key[0], lat_key[1] });
		ROW(.scenario = PERF_DISPATCH, .mode = PERF_THREADS, .what = "forward_merge", .workers = 2,
		    .nmetrics = 1, .key = { thr_key[0] });
	}
	if (scenarios >> PERF_SCHED & 1) {
		ROW(.scenario = PERF_SCHED, .mode = PERF_THREADS, .what = "job_overhead", .workers = 2,
		    .nmetrics = 2, .key = { lat_key[0], lat_key[1] });
		ROW(.scenario = PERF_SCHED, .mode = PERF_THREADS, .what = "8_channels", .workers = 2,
		    .nmetrics = 1, .key = { ops_key[0] });
		ROW(.scenario = PERF_SCHED, .mode = PERF_THREADS, .what = "fair_1x1000_7x10", .workers = 2,
		    .nmetrics = 1, .key = { jain_key[0] });
	}
	if (scenarios >> PERF_POOL & 1) {
		ROW(.scenario = PERF_POOL, .mode = PERF_THREADS, .what = "request_rtt", .workers = 1,
		    .nmetrics = 2, .key = { lat_key[0], lat_key[1] });
		ROW(.scenario = PERF_POOL, .mode = PERF_PROCESSES, .what = "request_rtt", .workers = 1,
		    .nmetrics = 2, .key = { lat_key[0], lat_key[1] });
		ROW(.scenario = PERF_POOL, .mode = PERF_THREADS, .what = "batch_1000_items", .workers = 2,
		    .nmetrics = 1, .key = { ops_key[0] });
	}
#undef ROW
	return n;
}

static int row_run(const struct comp_row *row, const struct perf_env *env, struct comp_shared *sh,
		   double *out)
{
	struct comp_ctx x = {
		.c = { .scenario = row->scenario, .transport = &perf_zipc, .mode = row->mode,
		       .wait = ZIPC_WAIT_BLOCK },
		.sh = sh,
		.workers = row->workers,
	};
	x.run.c = &x.c;
	x.run.env = env;
	memset(sh, 0, sizeof(*sh));
	if (row->scenario == PERF_MESH)
		return mesh_run(&x, out);
	if (row->scenario == PERF_POOL) {
		x.variant = !strcmp(row->what, "batch_1000_items") ? 2 : row->mode == PERF_PROCESSES ? 1 : 0;
		if (x.variant == 1)
			return pool_remote_run(&x, out);
		return one_child_run(&x, "pool", pool_local_child, out);
	}
	if (row->scenario == PERF_SCHED) {
		x.variant = !strcmp(row->what, "job_overhead") ? 0 : !strcmp(row->what, "8_channels") ? 1 : 2;
		return one_child_run(&x, "sched", sched_child, out);
	}
	x.variant = !strcmp(row->what, "send") ? (int)row->workers - 1 :
		    !strcmp(row->what, "latency") ? 2 : 3;
	snprintf(x.name, sizeof(x.name), "zpd%d-%d", (int)getpid(), x.variant);
	return one_child_run(&x, "dispatch", disp_child, out);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median, min, max of the finite values; 0 values: return -ENODATA. */
static int spread(const double *v, unsigned runs, double *med, double *lo, double *hi)
{
	double s[1000];
	unsigned n = 0;
	for (unsigned i = 0; i < runs && n < 1000; i++)
		if (isfinite(v[i]))
			s[n++] = v[i];
	if (!n)
		return -ENODATA;
	qsort(s, n, sizeof(*s), cmp_double);
	*med = n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	*lo = s[0];
	*hi = s[n - 1];
	return 0;
}

static void report_table(const struct comp_row *rows, size_t n, unsigned runs)
{
	printf("\ncomponents (median of %u runs, [min .. max]):\n", runs);
	printf("  %-10s %-10s %-18s %7s  %-11s %14s  %s\n", "scenario", "mode", "measure", "workers",
	       "metric", "median", "range");
	for (size_t i = 0; i < n; i++) {
		const struct comp_row *r = &rows[i];
		for (unsigned m = 0; m < r->nmetrics; m++) {
			double med, lo, hi;
			printf("  %-10s %-10s %-18s %7u  %-11s ", perf_scenarios[r->scenario].name,
			       perf_mode_name(r->mode), r->what, r->workers, r->key[m]);
			if (spread(r->val[m], runs, &med, &lo, &hi))
				printf("%14s", "failed");
			else if (!strcmp(r->key[m], "jain_index"))
				printf("%14.4f  [%.4f .. %.4f]", med, lo, hi);
			else
				printf("%14.0f  [%.0f .. %.0f]", med, lo, hi);
			if (m == 0 && r->failed)
				printf("  (%u of %u runs failed)", r->failed, runs);
			printf("\n");
		}
	}
}

static int report_json(const struct comp_row *rows, size_t n, unsigned runs)
{
	for (size_t i = 0; i < n; i++) {
		const struct comp_row *r = &rows[i];
		struct json_object *o = json_object_new_object();
		if (!o)
			return -ENOMEM;
		json_object_object_add(o, "scenario", json_object_new_string(perf_scenarios[r->scenario].name));
		json_object_object_add(o, "transport", json_object_new_string("zipc"));
		json_object_object_add(o, "mode", json_object_new_string(perf_mode_name(r->mode)));
		json_object_object_add(o, "measure", json_object_new_string(r->what));
		json_object_object_add(o, "workers", json_object_new_int64(r->workers));
		json_object_object_add(o, "runs", json_object_new_int64(runs));
		json_object_object_add(o, "failed", json_object_new_int64(r->failed));
		for (unsigned m = 0; m < r->nmetrics; m++) {
			double med, lo, hi;
			if (spread(r->val[m], runs, &med, &lo, &hi)) {
				json_object_object_add(o, r->key[m], NULL);
				continue;
			}
			json_object_object_add(o, r->key[m], json_object_new_double(med));
			char k[64];
			snprintf(k, sizeof(k), "%s_min", r->key[m]);
			json_object_object_add(o, k, json_object_new_double(lo));
			snprintf(k, sizeof(k), "%s_max", r->key[m]);
			json_object_object_add(o, k, json_object_new_double(hi));
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	return 0;
}

unsigned perf_components_mask(void)
{
	return 1u << PERF_MESH | 1u << PERF_DISPATCH | 1u << PERF_SCHED | 1u << PERF_POOL;
}

int perf_components_run(unsigned scenarios, const struct perf_env *env, unsigned runs, int json,
			unsigned *failed)
{
	size_t n = comp_rows(scenarios, NULL);
	struct comp_row *rows = calloc(n ? n : 1, sizeof(*rows));
	double *vals = calloc(n * COMP_MAX_METRICS * runs + 1, sizeof(*vals));
	struct comp_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = 0;
	*failed = 0;
	if (!rows || !vals || sh == MAP_FAILED) {
		rc = -ENOMEM;
		goto out;
	}
	comp_rows(scenarios, rows);
	for (size_t i = 0; i < n; i++)
		for (unsigned m = 0; m < COMP_MAX_METRICS; m++) {
			rows[i].val[m] = vals + (i * COMP_MAX_METRICS + m) * runs;
			for (unsigned k = 0; k < runs; k++)
				rows[i].val[m][k] = NAN;
		}
	for (unsigned k = 0; k < runs; k++) {
		for (size_t i = 0; i < n; i++) {
			double out[COMP_MAX_METRICS] = { NAN, NAN, NAN, NAN };
			if (row_run(&rows[i], env, sh, out)) {
				rows[i].failed++;
				(*failed)++;
				continue;
			}
			for (unsigned m = 0; m < rows[i].nmetrics; m++)
				rows[i].val[m][k] = out[m];
		}
	}
	if (json)
		rc = report_json(rows, n, runs);
	else
		report_table(rows, n, runs);
out:
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	free(vals);
	free(rows);
	return rc;
}
