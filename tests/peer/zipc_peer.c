/* SPDX-License-Identifier: MIT */
/*
 * tests/peer/zipc_peer.c - the other process of the multi-process tests.
 *
 * The test binary forks and execs this program with one mode (one role) and
 * its options; the two talk through inherited pipes and the exit status
 * (protocol in tests/helpers/zt_proc.h):
 *
 *   zipc-peer MODE [OPTIONS]
 *
 * Modes:
 *   region-create  create a RAW region --name, store --value in its first
 *                  word, then hold it (until the hold pipe closes)
 *   region-attach  attach to --name (or --fd), check its first word equals
 *                  --value, store ~value in its second word, hold
 *   produce        open a producer on ring --name (or --fd) and send
 *                  --count self-checking messages (0 = until an error)
 *   consume        open a consumer and receive until --count messages or
 *                  an end code, checking every message (see zt_msg.h)
 *   echo           receive from ring --name, send each message back on
 *                  ring --reply, until an end code
 *
 * Sequence of every mode: [--as-user] [--cpu] -> attach -> open the end ->
 * "ready" on --ready-fd (or at --ready-after / --ready-on-full) -> wait for
 * one byte on --go-fd -> main work -> report line on --report-fd ->
 * wait for EOF on --hold-fd -> close (or _exit at once with --end exit).
 *
 * Report: "rc=<final code> count=<messages> sum=<hex> value=<word>
 * max_wait_ms=<longest successful claim/wait> last_wait_ms=<consumer's
 * last wait, e.g. the one that returned the end code> lost=<lost records
 * skipped> n0=<messages of producer 0> ...".  Exit status: ZT_EXIT_*.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_env.h"
#include "helpers/zt_msg.h"
#include "helpers/zt_proc.h"

struct opts {
	const char *mode;
	const char *name;
	const char *reply;
	int fd;
	uint64_t value;
	int have_value;
	int group;
	uint64_t size;
	uint64_t count;
	uint32_t batch;
	unsigned producer_id;
	unsigned producers;
	struct zipc_wait_opts wait;
	int64_t timeout_ns;
	uint64_t ready_after;
	int ready_on_full;
	int end_exit;
	int flush;
	uint64_t stall_after;
	int have_stall;
	int reply_to_sleeper;
	int close_to_sleeper;
	int64_t stall_ns;
	int skip_lost;
	int expect;
	int cpu;
	int as_uid, as_gid;
	int report_fd, ready_fd, go_fd, hold_fd;
	int verbose;
};

static struct opts o = {
	.fd = -1,
	.group = -1,
	.size = 4096,
	.batch = 1,
	.producers = 1,
	.timeout_ns = 30 * ZIPC_SEC,
	.cpu = -1,
	.as_uid = -1,
	.as_gid = -1,
	.report_fd = -1,
	.ready_fd = -1,
	.go_fd = -1,
	.hold_fd = -1,
};

static int ready_sent;
static int reported;

__attribute__((noreturn, format(printf, 2, 3))) static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "zipc-peer[%d] %s: ", (int)getpid(), o.mode ? o.mode : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(status);
}

__attribute__((noreturn)) static void usage(void)
{
	fprintf(stderr,
		"usage: zipc-peer MODE [OPTIONS]\n"
		"modes: region-create region-attach produce consume echo\n"
		"  --name NAME         region/ring name        --fd N        inherited memfd\n"
		"  --reply NAME        echo: ring to answer on --value V     region word\n"
		"  --group GID         region-create: grant gid --size BYTES  region-create\n"
		"  --count N           messages (0 = until an end code)\n"
		"  --batch N           produce: slots per claim\n"
		"  --producer-id N     produce: id carried in the messages\n"
		"  --producers N       consume: ids 0..N-1 are expected\n"
		"  --wait S            spin|yield|block|default --spin-ns N --liveness-ns N\n"
		"  --timeout-ms N      per wait (-1 = forever; default 30000)\n"
		"  --ready-after N     produce: signal ready after N messages\n"
		"  --ready-on-full     produce: signal ready when the ring is first full\n"
		"  --end close|exit    produce: close the end, or _exit right after the last publish\n"
		"  --flush             produce: zipc_producer_flush() after the last publish\n"
		"  --close-to-sleeper  produce: after the last publish, wait until a consumer has\n"
		"                      announced itself asleep, then end\n"
"  --skip-lost         consume: on -ENOMSG (a dead MP producer's lost record)\n"
		"                      release it and go on (counted as lost=)\n"
		"  --stall-ms N        produce/consume: a claim or wait that succeeds only after\n"
		"                      N ms is a lost wake-up: end with -ETIME\n"
		"  --reply-to-sleeper  echo: publish each answer only once a consumer of the\n"
		"                      reply ring has announced itself asleep\n"
		"  --stall-after N     produce: after N messages claim one more slot, signal\n"
		"                      ready and never publish it (wait to be killed)\n"
		"  --expect CODE       final code counted as success (0, EPIPE, EOWNERDEAD, ...)\n"
		"  --cpu N             pin to CPU N    --as-user UID:GID   drop privileges first\n"
		"  --report-fd N --ready-fd N --go-fd N --hold-fd N   handshake pipes\n"
		"  -v                  log zipc diagnostics to stderr\n");
	_exit(ZT_EXIT_USAGE);
}

static const struct {
	const char *name;
	int code;
} codes[] = {
	{"EAGAIN", EAGAIN},       {"ETIMEDOUT", ETIMEDOUT}, {"EPIPE", EPIPE},
	{"EOWNERDEAD", EOWNERDEAD}, {"EINVAL", EINVAL},   {"ENOENT", ENOENT},
	{"EEXIST", EEXIST},       {"EACCES", EACCES},       {"EBUSY", EBUSY},
	{"EMSGSIZE", EMSGSIZE},   {"EBADMSG", EBADMSG},     {"EPROTO", EPROTO},
	{"EPERM", EPERM},         {"ENODATA", ENODATA},     {"ERANGE", ERANGE},
	{"EBADFD", EBADFD},
};

static int parse_code(const char *s)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strcmp(s, codes[i].name))
			return -codes[i].code;
	char *end;
	long v = strtol(s, &end, 0);
	if (*end || end == s)
		usage();
	return v > 0 ? -(int)v : (int)v;
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || end == s)
		usage();
	return v;
}

static int64_t parse_i64(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || *end || end == s)
		usage();
	return v;
}

static uint32_t parse_wait(const char *s)
{
	if (!strcmp(s, "spin"))
		return ZIPC_WAIT_SPIN;
	if (!strcmp(s, "yield"))
		return ZIPC_WAIT_YIELD;
	if (!strcmp(s, "block"))
		return ZIPC_WAIT_BLOCK;
	if (!strcmp(s, "default"))
		return ZIPC_WAIT_DEFAULT;
	usage();
}

static void log_hook(void *ctx, enum zipc_log_level level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "zipc-peer[%d] zipc(%d): %s\n", (int)getpid(), (int)level, msg);
}

static void parse(int argc, char **argv)
{
	enum {
		O_NAME = 256, O_REPLY, O_FD, O_VALUE, O_GROUP, O_SIZE, O_COUNT, O_BATCH, O_PID,
		O_PRODUCERS, O_WAIT, O_SPIN, O_LIVENESS, O_TIMEOUT, O_READY_AFTER, O_READY_FULL,
		O_END, O_EXPECT, O_CPU, O_AS_USER, O_REPORT, O_READY, O_GO, O_HOLD, O_FLUSH, O_STALL,
		O_REPLY_SLEEPER, O_CLOSE_SLEEPER, O_STALL_MS, O_SKIP_LOST,
	};
	static const struct option longopts[] = {
		{"name", required_argument, NULL, O_NAME},
		{"reply", required_argument, NULL, O_REPLY},
		{"fd", required_argument, NULL, O_FD},
		{"value", required_argument, NULL, O_VALUE},
		{"group", required_argument, NULL, O_GROUP},
		{"size", required_argument, NULL, O_SIZE},
		{"count", required_argument, NULL, O_COUNT},
		{"batch", required_argument, NULL, O_BATCH},
		{"producer-id", required_argument, NULL, O_PID},
		{"producers", required_argument, NULL, O_PRODUCERS},
		{"wait", required_argument, NULL, O_WAIT},
		{"spin-ns", required_argument, NULL, O_SPIN},
		{"liveness-ns", required_argument, NULL, O_LIVENESS},
		{"timeout-ms", required_argument, NULL, O_TIMEOUT},
		{"ready-after", required_argument, NULL, O_READY_AFTER},
		{"ready-on-full", no_argument, NULL, O_READY_FULL},
		{"end", required_argument, NULL, O_END},
		{"flush", no_argument, NULL, O_FLUSH},
		{"reply-to-sleeper", no_argument, NULL, O_REPLY_SLEEPER},
		{"close-to-sleeper", no_argument, NULL, O_CLOSE_SLEEPER},
		{"stall-ms", required_argument, NULL, O_STALL_MS},
		{"skip-lost", no_argument, NULL, O_SKIP_LOST},
		{"stall-after", required_argument, NULL, O_STALL},
		{"expect", required_argument, NULL, O_EXPECT},
		{"cpu", required_argument, NULL, O_CPU},
		{"as-user", required_argument, NULL, O_AS_USER},
		{"report-fd", required_argument, NULL, O_REPORT},
		{"ready-fd", required_argument, NULL, O_READY},
		{"go-fd", required_argument, NULL, O_GO},
		{"hold-fd", required_argument, NULL, O_HOLD},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	if (argc < 2 || argv[1][0] == '-')
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_NAME: o.name = optarg; break;
		case O_REPLY: o.reply = optarg; break;
		case O_FD: o.fd = (int)parse_i64(optarg); break;
		case O_VALUE: o.value = parse_u64(optarg); o.have_value = 1; break;
		case O_GROUP: o.group = (int)parse_i64(optarg); break;
		case O_SIZE: o.size = parse_u64(optarg); break;
		case O_COUNT: o.count = parse_u64(optarg); break;
		case O_BATCH: o.batch = (uint32_t)parse_u64(optarg); break;
		case O_PID: o.producer_id = (unsigned)parse_u64(optarg); break;
		case O_PRODUCERS: o.producers = (unsigned)parse_u64(optarg); break;
		case O_WAIT: o.wait.strategy = parse_wait(optarg); break;
		case O_SPIN: o.wait.spin_ns = (uint32_t)parse_u64(optarg); break;
		case O_LIVENESS: o.wait.liveness_ns = parse_i64(optarg); break;
		case O_TIMEOUT: {
			int64_t ms = parse_i64(optarg);
			o.timeout_ns = ms < 0 ? ZIPC_FOREVER : ms * ZIPC_MSEC;
			break;
		}
		case O_READY_AFTER: o.ready_after = parse_u64(optarg); break;
		case O_READY_FULL: o.ready_on_full = 1; break;
		case O_END:
			if (!strcmp(optarg, "exit"))
				o.end_exit = 1;
			else if (strcmp(optarg, "close"))
				usage();
			break;
		case O_FLUSH: o.flush = 1; break;
		case O_REPLY_SLEEPER: o.reply_to_sleeper = 1; break;
		case O_CLOSE_SLEEPER: o.close_to_sleeper = 1; break;
		case O_SKIP_LOST: o.skip_lost = 1; break;
		case O_STALL_MS: o.stall_ns = parse_i64(optarg) * ZIPC_MSEC; break;
		case O_STALL: o.stall_after = parse_u64(optarg); o.have_stall = 1; break;
		case O_EXPECT: o.expect = parse_code(optarg); break;
		case O_CPU: o.cpu = (int)parse_i64(optarg); break;
		case O_AS_USER:
			if (sscanf(optarg, "%d:%d", &o.as_uid, &o.as_gid) != 2)
				usage();
			break;
		case O_REPORT: o.report_fd = (int)parse_i64(optarg); break;
		case O_READY: o.ready_fd = (int)parse_i64(optarg); break;
		case O_GO: o.go_fd = (int)parse_i64(optarg); break;
		case O_HOLD: o.hold_fd = (int)parse_i64(optarg); break;
		case 'v': o.verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || o.batch == 0 || o.producers == 0 || o.producers > ZT_MAX_PRODUCERS ||
	    o.producer_id >= ZT_MAX_PRODUCERS)
		usage();
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die(ZT_EXIT_INTERNAL, "write to fd %d: %s", fd, strerror(errno));
		s += w;
		len -= (size_t)w;
	}
}

static void signal_ready(void)
{
	if (ready_sent)
		return;
	ready_sent = 1;
	if (o.ready_fd >= 0) {
		write_all(o.ready_fd, "ready\n");
		close(o.ready_fd);
		o.ready_fd = -1;
	}
}

/* Wait for the go byte; EOF means the test called the run off. */
static void wait_go(void)
{
	if (o.go_fd < 0)
		return;
	char c;
	ssize_t r;
	do
		r = read(o.go_fd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		die(ZT_EXIT_CANCELLED, "go pipe closed: cancelled");
	close(o.go_fd);
	o.go_fd = -1;
}

/* Keep our handles until the test closes the hold pipe. */
static void wait_hold(void)
{
	if (o.hold_fd < 0)
		return;
	char c;
	ssize_t r;
	do
		r = read(o.hold_fd, &c, 1);
	while (r > 0 || (r < 0 && errno == EINTR));
	close(o.hold_fd);
	o.hold_fd = -1;
}

struct result {
	int rc;
	int bad;
	int64_t max_wait_ns; /* longest successful claim / wait call */
	int64_t last_wait_ns; /* the last wait call, whatever it returned */
	uint64_t lost;        /* lost records skipped (--skip-lost) */
	uint64_t count;
	uint64_t value;
	struct zt_checker ck;
};

/* A claim or wait that succeeded: remember the longest (a lost wake-up
 * shows as one that lasted until a liveness check or a deadline). */
static int note_wait(struct result *res, int64_t t0)
{
	int64_t dt = zipc_now_ns() - t0;
	if (dt > res->max_wait_ns)
		res->max_wait_ns = dt;
	if (o.stall_ns > 0 && dt > o.stall_ns) {
		fprintf(stderr, "zipc-peer[%d] %s: a wait took %lld ms\n", (int)getpid(), o.mode,
			(long long)(dt / ZIPC_MSEC));
		return -ETIME;
	}
	return 0;
}

static void report(const struct result *res)
{
	char line[1024];
	int n = snprintf(line, sizeof line,
			 "rc=%d count=%" PRIu64 " sum=0x%016" PRIx64 " value=0x%" PRIx64 " max_wait_ms=%" PRId64
			 " last_wait_ms=%" PRId64 " lost=%" PRIu64,
			 res->rc, res->count, res->ck.sum, res->value, res->max_wait_ns / ZIPC_MSEC,
			 res->last_wait_ns / ZIPC_MSEC, res->lost);
	for (unsigned i = 0; i < o.producers && n < (int)sizeof line - 32; i++)
		n += snprintf(line + n, sizeof line - (size_t)n, " n%u=%" PRIu64, i, res->ck.next[i]);
	snprintf(line + n, sizeof line - (size_t)n, "\n");
	reported = 1;
	if (o.report_fd >= 0)
		write_all(o.report_fd, line);
	if (o.verbose)
		fprintf(stderr, "zipc-peer[%d] %s: %s", (int)getpid(), o.mode, line);
}

static int exit_status(const struct result *res)
{
	if (res->bad) {
		fprintf(stderr, "zipc-peer[%d] %s: bad data: %s\n", (int)getpid(), o.mode,
			res->ck.why[0] ? res->ck.why : "(value mismatch)");
		return ZT_EXIT_BAD_DATA;
	}
	if (res->rc != o.expect) {
		fprintf(stderr, "zipc-peer[%d] %s: ended with %d (%s), expected %d (%s)\n", (int)getpid(),
			o.mode, res->rc, zipc_strerror(res->rc), o.expect, zipc_strerror(o.expect));
		return ZT_EXIT_BAD_CODE;
	}
	return ZT_EXIT_OK;
}

/* ------------------------------------------------------------- regions */

static int run_region_create(struct result *res)
{
	struct zipc_region_opts ro;
	zipc_region *r = NULL;

	memset(&ro, 0, sizeof ro);
	ro.size = o.size;
	ro.kind = ZIPC_KIND_RAW;
	ro.numa_node = -1;
	if (o.group >= 0) {
		ro.flags |= ZIPC_REGION_GROUP;
		ro.group = o.group;
	}
	if (!o.name)
		usage();
	res->rc = zipc_region_create(o.name, &ro, &r);
	if (res->rc)
		return res->rc;
	uint64_t *w = zipc_region_area(r);
	w[0] = o.value;
	res->value = o.value;
	signal_ready();
	wait_go();
	report(res);
	wait_hold();
	zipc_region_close(r);
	return 0;
}

static int run_region_attach(struct result *res)
{
	zipc_region *r = NULL;

	if (o.name)
		res->rc = zipc_region_attach(o.name, 0, &r);
	else if (o.fd >= 0)
		res->rc = zipc_region_from_fd(o.fd, 0, &r);
	else
		usage();
	if (res->rc)
		return res->rc;
	uint64_t *w = zipc_region_area(r);
	res->value = w[0];
	if (o.have_value && w[0] != o.value)
		res->bad = 1;
	w[1] = ~w[0];
	signal_ready();
	wait_go();
	report(res);
	wait_hold();
	zipc_region_close(r);
	return 0;
}

/* --------------------------------------------------------------- rings */

static int ring_attach(const char *name, zipc_ring **ring)
{
	if (name)
		return zipc_ring_attach(name, 0, ring);
	if (o.fd >= 0)
		return zipc_ring_from_fd(o.fd, 0, ring);
	usage();
}

static int run_produce(struct result *res)
{
	zipc_ring *ring = NULL;
	zipc_producer *p = NULL;
	uint64_t sent = 0;
	int rc;

	if ((rc = ring_attach(o.name, &ring)))
		return rc;
	if ((rc = zipc_producer_open(ring, &o.wait, &p))) {
		zipc_ring_close(ring);
		return rc;
	}
	if (!o.ready_after && !o.ready_on_full)
		signal_ready();
	wait_go();
	while (!o.count || sent < o.count) {
		uint32_t n = o.batch;
		uint64_t seq;
		if (o.count && n > o.count - sent)
			n = (uint32_t)(o.count - sent);
		if (o.have_stall && sent == o.stall_after) {
			/* claim and never publish: a producer dying inside its claim */
			rc = zipc_producer_claim(p, 1, o.timeout_ns, &seq);
			if (rc)
				break;
			signal_ready();
			for (;;)
				pause();
		}
		if (o.ready_on_full && !ready_sent) {
			rc = zipc_producer_try_claim(p, n, &seq);
			if (rc == -EAGAIN) {
				signal_ready();
				rc = zipc_producer_claim(p, n, o.timeout_ns, &seq);
			}
		} else {
			int64_t t0 = zipc_now_ns();
			rc = zipc_producer_claim(p, n, o.timeout_ns, &seq);
			if (rc == 0)
				rc = note_wait(res, t0);
		}
		if (rc)
			break;
		for (uint32_t i = 0; i < n; i++)
			zt_msg_write(zipc_producer_slot(p, seq + i), o.producer_id, sent + i);
		if ((rc = zipc_producer_publish(p, seq, n)))
			break;
		sent += n;
		if (o.ready_after && sent >= o.ready_after)
			signal_ready();
	}
	if (rc == 0 && o.flush)
		rc = zipc_producer_flush(p, o.timeout_ns);
	if (rc == 0 && o.close_to_sleeper)
		rc = zt_wait_for_sleeper(ring, o.timeout_ns);
	res->rc = rc;
	res->count = sent;
	if (o.end_exit) {
		/* exit right after the last publish: no close, no unmap */
		report(res);
		_exit(exit_status(res));
	}
	report(res);
	wait_hold();
	zipc_producer_close(p);
	zipc_ring_close(ring);
	return rc;
}

static int run_consume(struct result *res)
{
	zipc_ring *ring = NULL;
	zipc_consumer *c = NULL;
	int rc;

	zt_checker_init(&res->ck, o.producers);
	if ((rc = ring_attach(o.name, &ring)))
		return rc;
	if ((rc = zipc_consumer_open(ring, &o.wait, &c))) {
		zipc_ring_close(ring);
		return rc;
	}
	signal_ready();
	wait_go();
	for (;;) {
		uint64_t seq;
		if (o.count && res->ck.count >= o.count) {
			rc = 0;
			break;
		}
		int64_t t0 = zipc_now_ns();
		int64_t n = zipc_consumer_wait(c, o.timeout_ns, &seq);
		res->last_wait_ns = zipc_now_ns() - t0;
		if (n > 0 && (rc = note_wait(res, t0)))
			break;
		if (n == -ENOMSG && o.skip_lost) {
			res->lost++;
			if ((rc = zipc_consumer_release(c, 1)))
				break;
			continue;
		}
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (o.count && (uint64_t)n > o.count - res->ck.count)
			n = (int64_t)(o.count - res->ck.count);
		for (int64_t i = 0; i < n && !res->bad; i++)
			if (zt_checker_feed(&res->ck, zipc_consumer_slot(c, seq + (uint64_t)i)))
				res->bad = 1;
		if ((rc = zipc_consumer_release(c, (uint32_t)n)) || res->bad)
			break;
	}
	res->rc = rc;
	res->count = res->ck.count;
	report(res);
	wait_hold();
	zipc_consumer_close(c);
	zipc_ring_close(ring);
	return rc;
}

static int run_echo(struct result *res)
{
	zipc_ring *in = NULL, *out = NULL;
	zipc_consumer *c = NULL;
	zipc_producer *p = NULL;
	int rc;

	if (!o.name || !o.reply)
		usage();
	if ((rc = zipc_ring_attach(o.name, 0, &in)) || (rc = zipc_ring_attach(o.reply, 0, &out)) ||
	    (rc = zipc_consumer_open(in, &o.wait, &c)) || (rc = zipc_producer_open(out, &o.wait, &p)))
		goto out;
	signal_ready();
	wait_go();
	for (;;) {
		uint64_t rseq, wseq;
		int64_t t0 = zipc_now_ns();
		int64_t n = zipc_consumer_wait(c, o.timeout_ns, &rseq);
		if (n > 0 && (rc = note_wait(res, t0)))
			break;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if ((rc = zipc_producer_claim(p, 1, o.timeout_ns, &wseq)))
			break;
		if (o.reply_to_sleeper && (rc = zt_wait_for_sleeper(out, o.timeout_ns)))
			break;
		memcpy(zipc_producer_slot(p, wseq), zipc_consumer_slot(c, rseq),
		       zipc_ring_slot_size(in) < zipc_ring_slot_size(out) ? zipc_ring_slot_size(in)
									   : zipc_ring_slot_size(out));
		if ((rc = zipc_producer_publish(p, wseq, 1)) || (rc = zipc_consumer_release(c, 1)))
			break;
		res->count++;
	}
	res->rc = rc;
	report(res);
	wait_hold();
out:
	zipc_producer_close(p);
	zipc_consumer_close(c);
	zipc_ring_close(out);
	zipc_ring_close(in);
	return rc;
}

int main(int argc, char **argv)
{
	struct result res;

	parse(argc, argv);
	memset(&res, 0, sizeof res);
	zt_checker_init(&res.ck, o.producers);
	if (o.verbose)
		zipc_set_log(log_hook, NULL, ZIPC_LOG_DEBUG);
	if (o.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set))
			die(ZT_EXIT_INTERNAL, "sched_setaffinity(%d): %s", o.cpu, strerror(errno));
	}
	if (o.as_uid >= 0) {
		gid_t g = (gid_t)o.as_gid;
		if (setgroups(1, &g) || setgid(g) || setuid((uid_t)o.as_uid))
			die(ZT_EXIT_INTERNAL, "cannot become %d:%d: %s", o.as_uid, o.as_gid, strerror(errno));
	}

	int rc;
	if (!strcmp(o.mode, "region-create"))
		rc = run_region_create(&res);
	else if (!strcmp(o.mode, "region-attach"))
		rc = run_region_attach(&res);
	else if (!strcmp(o.mode, "produce"))
		rc = run_produce(&res);
	else if (!strcmp(o.mode, "consume"))
		rc = run_consume(&res);
	else if (!strcmp(o.mode, "echo"))
		rc = run_echo(&res);
	else
		usage();

	if (!reported) {
		/* failed during setup: report it (the test may expect exactly this) */
		res.rc = rc;
		report(&res);
	}
	return exit_status(&res);
}
