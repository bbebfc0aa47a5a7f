/* SPDX-License-Identifier: MIT */
/*
 * tests/test_record.c - variable-length record rings (zipc/record.h) between
 * real processes: every size from 1 byte to the maximum and nothing above
 * it, padding records where a record would wrap (over many laps), zero-copy
 * claim/commit of exactly the bytes asked, abort, long single- and
 * multi-producer streams whose every record is checked, a reader that
 * bounds-checks every length and position it reads from shared memory
 * (a hostile child corrupts them; -EPROTO, never a crash), end of stream,
 * dead producers (also one that dies holding a claim), a dead consumer,
 * the blocking strategy's wake-ups, flush, attach by name and validation of
 * a bad region.
 *
 * The ring lives in an anonymous region that forked children inherit (same
 * addresses), or a named one a child attaches to.  Children report through
 * their exit status and pipes; no test sleeps to synchronise: handshakes go
 * through pipes or through the ring's own shared counters.
 * ZIPC_TEST_MESSAGES overrides the stream length (default 1,000,000).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/record.h>
#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_env.h"
#include "helpers/zt_msg.h"

#define STREAM_DEFAULT 1000000ull
#define STEP_NS (20 * ZIPC_SEC) /* bound for one step of a healthy peer (< every test's timeout) */

/* ------------------------------------------------------------ fixture */

static pid_t kids[16];
static unsigned nkids;

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
	nkids = 0;
}

static void teardown(void)
{
	for (unsigned i = 0; i < nkids; i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	}
	nkids = 0;
	zt_env_teardown();
}

#define TEST_REC(name, secs, desc) \
	Test(record, name, .init = setup, .fini = teardown, .timeout = secs, .description = desc)

/* Run @fn(@arg) in a forked child that dies with us; its return value is
 * the exit status.  The child never returns into Criterion. */
static pid_t spawn(int (*fn)(void *), void *arg)
{
	cr_assert_lt(nkids, sizeof kids / sizeof kids[0]);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	kids[nkids++] = pid;
	return pid;
}

/* Reap a child: its exit status, or 128 + signal. */
static int reap(pid_t pid)
{
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	for (unsigned i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i--] = kids[--nkids];
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_exit(pid_t pid, int code, const char *who)
{
	int st = reap(pid);
	cr_assert_eq(st, code, "%s exited with %d, expected %d (see its stderr)", who, st, code);
}

static void kill_child(pid_t pid)
{
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(reap(pid), 128 + SIGKILL);
}

/* Children check with CK(): report the line on stderr, exit 1. */
static int child_fail(int line, const char *what)
{
	fprintf(stderr, "test_record child %d: check failed at line %d: %s\n", (int)getpid(), line, what);
	return 1;
}
#define CK(c)                                         \
	do {                                          \
		if (!(c))                             \
			return child_fail(__LINE__, #c); \
	} while (0)

/* One-byte handshakes through a pipe. */
struct chan {
	int fd[2];
};

static void chan_open(struct chan *ch)
{
	cr_assert_eq(pipe(ch->fd), 0);
}

static int chan_send(struct chan *ch)
{
	char b = 1;
	return write(ch->fd[1], &b, 1) == 1 ? 0 : -1;
}

static int chan_recv(struct chan *ch)
{
	char b;
	return read(ch->fd[0], &b, 1) == 1 ? 0 : -1;
}

/* ---------------------------------------------------- rings and records */

static struct zipc_record_opts ropts(uint64_t cap, uint32_t max, uint32_t flags)
{
	struct zipc_record_opts o;
	memset(&o, 0, sizeof o);
	o.capacity = cap;
	o.max_record = max;
	o.flags = flags;
	o.wait = ZIPC_WAIT_BLOCK;
	o.region_flags = ZIPC_REGION_ANONYMOUS;
	o.numa_node = -1;
	o.group = -1;
	return o;
}

static zipc_record_ring *make_ring(uint64_t cap, uint32_t max, uint32_t flags)
{
	struct zipc_record_opts o = ropts(cap, max, flags);
	zipc_record_ring *r = NULL;
	int rc = zipc_record_ring_create(NULL, &o, &r);
	cr_assert_eq(rc, 0, "zipc_record_ring_create(cap %llu, max %u, flags %u): %d %s", (unsigned long long)cap,
		     max, flags, rc, zipc_strerror(rc));
	return r;
}

static struct zipc_record_ring_hdr *shared_hdr(zipc_record_ring *r)
{
	return zipc_region_area(zipc_record_ring_region(r));
}

static unsigned char *shared_data(zipc_record_ring *r)
{
	struct zipc_record_ring_hdr *h = shared_hdr(r);
	return (unsigned char *)h + h->p.data_off;
}

static _Atomic uint64_t *shared_word(zipc_record_ring *r, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(shared_data(r) + (pos & (zipc_record_ring_capacity(r) - 1)));
}

static zipc_record_producer *open_producer(zipc_record_ring *r, uint32_t strategy)
{
	struct zipc_wait_opts w = {.strategy = strategy};
	zipc_record_producer *p = NULL;
	int rc = zipc_record_producer_open(r, &w, &p);
	cr_assert_eq(rc, 0, "zipc_record_producer_open: %d %s", rc, zipc_strerror(rc));
	return p;
}

static zipc_record_consumer *open_consumer_opts(zipc_record_ring *r, uint32_t strategy, uint32_t spin_ns,
						int64_t liveness_ns)
{
	struct zipc_wait_opts w = {.strategy = strategy, .spin_ns = spin_ns, .liveness_ns = liveness_ns};
	zipc_record_consumer *c = NULL;
	int rc = zipc_record_consumer_open(r, &w, &c);
	cr_assert_eq(rc, 0, "zipc_record_consumer_open: %d %s", rc, zipc_strerror(rc));
	return c;
}

static zipc_record_consumer *open_consumer(zipc_record_ring *r)
{
	return open_consumer_opts(r, ZIPC_WAIT_BLOCK, 0, 5 * ZIPC_MSEC);
}

/* Close the ends and the ring of a single-process scenario. */
static void finish(zipc_record_ring *r, zipc_record_producer *p, zipc_record_consumer *c)
{
	zipc_record_consumer_close(c);
	zipc_record_producer_close(p);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/*
 * Self-checking records: the payload of record @seq of producer @id with
 * @len bytes is a keyed pseudo-random stream whose first byte is @id, so a
 * consumer can tell a lost, duplicated, reordered, truncated or torn record
 * from a good one.  Lengths come from the same key (rec_len()), mostly
 * short, one in 16 anywhere up to the maximum.
 */
static size_t rec_len(unsigned id, uint64_t seq, uint32_t max)
{
	uint64_t r = zt_mix64(((uint64_t)id << 56) ^ seq ^ 0x5eed);
	uint32_t small = max < 64 ? max : 64;
	return (size_t)(1 + ((r & 15) == 0 ? (r >> 8) % max : (r >> 8) % small));
}

static void rec_fill(unsigned char *b, size_t len, unsigned id, uint64_t seq)
{
	uint64_t x = zt_mix64(((uint64_t)id << 48) ^ seq ^ ((uint64_t)len << 32));
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		x = zt_mix64(x + UINT64_C(0x9e3779b97f4a7c15));
		memcpy(b + i, &x, 8);
	}
	if (i < len) {
		x = zt_mix64(x + UINT64_C(0x9e3779b97f4a7c15));
		memcpy(b + i, &x, len - i);
	}
	b[0] = (unsigned char)id;
}

static int rec_ok(const void *d, size_t len, unsigned id, uint64_t seq)
{
	static unsigned char want[1u << 16];
	if (len > sizeof want)
		return 0;
	rec_fill(want, len, id, seq);
	return memcmp(d, want, len) == 0;
}

/* Stream of records from several producers: per-producer FIFO, exact content. */
struct verifier {
	unsigned producers;
	uint32_t max;
	uint64_t next[8];
	uint64_t total;
	uint64_t bytes;
};

static void verify(struct verifier *v, const void *d, size_t len)
{
	if (len == 0)
		cr_assert_fail("empty record after %llu", (unsigned long long)v->total);
	unsigned id = *(const unsigned char *)d;
	if (id >= v->producers)
		cr_assert_fail("record %llu: bad producer id %u", (unsigned long long)v->total, id);
	uint64_t seq = v->next[id];
	size_t want = rec_len(id, seq, v->max);
	if (len != want)
		cr_assert_fail("producer %u record %llu: length %zu, expected %zu", id, (unsigned long long)seq, len,
			       want);
	if (((uintptr_t)d & 7) != 0)
		cr_assert_fail("producer %u record %llu: payload not 8-byte aligned", id, (unsigned long long)seq);
	if (!rec_ok(d, len, id, seq))
		cr_assert_fail("producer %u record %llu (%zu bytes): content differs", id, (unsigned long long)seq,
			       len);
	v->next[id]++;
	v->total++;
	v->bytes += len;
}

/* Read @total records (batches of up to @batch), verifying each, then
 * expect @end (-EPIPE, -EOWNERDEAD) from the next read. */
static void consume(zipc_record_consumer *c, struct verifier *v, uint64_t total, unsigned batch, int end)
{
	struct zipc_record rec[32];
	cr_assert_leq(batch, 32);
	while (v->total < total) {
		int n = zipc_record_read_batch(c, STEP_NS, rec, batch);
		if (n <= 0)
			cr_assert_fail("read after %llu of %llu records: %d %s", (unsigned long long)v->total,
				       (unsigned long long)total, n, zipc_strerror(n));
		for (int i = 0; i < n; i++)
			verify(v, rec[i].data, rec[i].len);
		cr_assert_eq(zipc_record_release(c), 0);
	}
	const void *d;
	size_t len;
	int rc = zipc_record_read(c, STEP_NS, &d, &len);
	cr_assert_eq(rc, end, "after %llu records: %d %s, expected %d %s", (unsigned long long)total, rc,
		     zipc_strerror(rc), end, zipc_strerror(end));
}

/* A producer child: @count records of producer @id, alternating zero-copy
 * claim/commit and send; closes at the end unless @no_close (then it exits
 * registered, i.e. it "dies"). */
struct stream_arg {
	zipc_record_ring *ring;
	unsigned id;
	uint64_t count;
	uint32_t max;
	uint32_t strategy;
	int no_close;
	int flush;
	unsigned batch; /* > 0: zipc_record_send_batch() of 1..batch records at a time */
};

/* The batched form of producer_child's loop. */
static int producer_batches(struct stream_arg *a, zipc_record_producer *p)
{
	static unsigned char store[64][2048];
	struct zipc_record msgs[64];
	if (a->batch > 64 || a->max > sizeof store[0])
		return child_fail(__LINE__, "batch too big");
	for (uint64_t seq = 0; seq < a->count;) {
		unsigned n = 1 + (unsigned)(zt_mix64(seq ^ ((uint64_t)a->id << 40)) % a->batch);
		if (n > a->count - seq)
			n = (unsigned)(a->count - seq);
		for (unsigned i = 0; i < n; i++) {
			size_t len = rec_len(a->id, seq + i, a->max);
			rec_fill(store[i], len, a->id, seq + i);
			msgs[i] = (struct zipc_record){store[i], len};
		}
		for (unsigned done = 0; done < n;) {
			int k = zipc_record_send_batch(p, msgs + done, n - done, STEP_NS);
			if (k <= 0) {
				fprintf(stderr, "send_batch at %llu: %s\n", (unsigned long long)(seq + done),
					zipc_strerror(k));
				return 1;
			}
			CK((unsigned)k <= n - done);
			done += (unsigned)k;
		}
		seq += n;
	}
	return 0;
}

static int producer_child(void *arg)
{
	struct stream_arg *a = arg;
	static unsigned char tmp[1u << 16];
	struct zipc_wait_opts w = {.strategy = a->strategy};
	zipc_record_producer *p;
	CK(zipc_record_producer_open(a->ring, &w, &p) == 0);
	if (a->batch && producer_batches(a, p))
		return 1;
	for (uint64_t seq = 0; a->batch == 0 && seq < a->count; seq++) {
		size_t len = rec_len(a->id, seq, a->max);
		if (seq & 1) {
			void *b;
			int rc = zipc_record_claim(p, len, STEP_NS, &b);
			if (rc) {
				fprintf(stderr, "claim %llu: %s\n", (unsigned long long)seq, zipc_strerror(rc));
				return 1;
			}
			rec_fill(b, len, a->id, seq);
			CK(zipc_record_commit(p, b) == 0);
		} else {
			rec_fill(tmp, len, a->id, seq);
			int rc = zipc_record_send(p, tmp, len, STEP_NS);
			if (rc) {
				fprintf(stderr, "send %llu: %s\n", (unsigned long long)seq, zipc_strerror(rc));
				return 1;
			}
		}
	}
	if (a->flush)
		CK(zipc_record_producer_flush(p, STEP_NS) == 0);
	if (!a->no_close)
		zipc_record_producer_close(p);
	return 0;
}

static pid_t start_producer(zipc_record_ring *r, struct stream_arg *a)
{
	a->ring = r;
	return spawn(producer_child, a);
}

/* ------------------------------------------------------ creation limits */

TEST_REC(create_limits, 10, "creation checks capacity, max record (<= capacity/2 with header), flags")
{
	zipc_record_ring *r = NULL;
	struct zipc_record_opts o;
	struct { uint64_t cap; uint32_t max; uint32_t flags; uint32_t maxp; int rc; } cases[] = {
		{1000, 100, 0, 0, -EINVAL},                 /* not a power of two */
		{32, 4, 0, 0, -EINVAL},                     /* below the minimum */
		{ZIPC_RECORD_MAX_CAPACITY * 2, 100, 0, 0, -EINVAL},
		{1024, 1024 / 2 - 7, 0, 0, -EINVAL},        /* header + payload above half */
		{1024, 1024 / 2 - 8, 0, 0, 0},              /* exactly half */
		{1024, 1, 0, 0, 0},
		{1024, 100, 1u << 5, 0, -EINVAL},           /* unknown flag */
		{1024, 100, 0, 2, -EINVAL},                 /* SP with two producers */
		{1024, 100, ZIPC_RECORD_MULTI_PRODUCER, ZIPC_RECORD_MAX_PRODUCERS + 1, -EINVAL},
		{1024, 100, ZIPC_RECORD_MULTI_PRODUCER, ZIPC_RECORD_MAX_PRODUCERS, 0},
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		o = ropts(cases[i].cap, cases[i].max, cases[i].flags);
		o.max_producers = cases[i].maxp;
		int rc = zipc_record_ring_create(NULL, &o, &r);
		cr_assert_eq(rc, cases[i].rc, "case %u: %d %s", i, rc, zipc_strerror(rc));
		if (rc == 0) {
			cr_assert_eq(zipc_record_ring_max_record(r), cases[i].max);
			cr_assert_eq(zipc_record_ring_capacity(r), cases[i].cap);
			cr_assert_eq(zipc_record_ring_close(r), 0);
		}
	}
	o = ropts(4096, 0, 0);
	o.wait = ZIPC_WAIT_URING;
	cr_assert_eq(zipc_record_ring_create(NULL, &o, &r), 0);
	cr_assert_eq(zipc_record_ring_close(r), 0);
	o.wait = 9;
	cr_assert_eq(zipc_record_ring_create(NULL, &o, &r), -EINVAL);
	o = ropts(4096, 0, 0); /* 0: the largest allowed */
	cr_assert_eq(zipc_record_ring_create(NULL, &o, &r), 0);
	cr_assert_eq(zipc_record_ring_max_record(r), 4096 / 2 - ZIPC_RECORD_HDR_SIZE);
	struct zipc_region_info info;
	cr_assert_eq(zipc_region_info(zipc_record_ring_region(r), &info), 0);
	cr_assert_eq(info.kind, ZIPC_KIND_RECORD);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* ------------------------------------------------------------ sizes */

struct sizes_arg {
	zipc_record_ring *ring;
	uint32_t max;
};

static int sizes_child(void *arg)
{
	struct sizes_arg *a = arg;
	zipc_record_producer *p;
	void *b;
	CK(zipc_record_producer_open(a->ring, NULL, &p) == 0);
	/* the limits, checked before anything is claimed */
	CK(zipc_record_claim(p, a->max + 1, 0, &b) == -EMSGSIZE);
	CK(zipc_record_claim(p, (size_t)1 << 40, 0, &b) == -EMSGSIZE);
	CK(zipc_record_send(p, &b, a->max + 1, 0) == -EMSGSIZE);
	CK(zipc_record_claim(p, 0, 0, &b) == -EINVAL);
	for (uint32_t len = 1; len <= a->max; len++) {
		CK(zipc_record_claim(p, len, STEP_NS, &b) == 0);
		rec_fill(b, len, 0, len);
		CK(zipc_record_commit(p, b) == 0);
	}
	/* exactly at the maximum once more, by copy */
	static unsigned char tmp[1u << 16];
	rec_fill(tmp, a->max, 0, a->max);
	CK(zipc_record_send(p, tmp, a->max, STEP_NS) == 0);
	zipc_record_producer_close(p);
	return 0;
}

static void sizes_run(uint32_t flags)
{
	const uint32_t max = 4088; /* header + payload = 4096 = capacity / 2 */
	zipc_record_ring *r = make_ring(8192, max, flags);
	zipc_record_consumer *c = open_consumer(r);
	struct sizes_arg a = {.ring = r, .max = max};
	pid_t pid = spawn(sizes_child, &a);
	const void *d;
	size_t len;
	for (uint32_t want = 1; want <= max + 1; want++) {
		uint32_t seq = want > max ? max : want;
		int rc = zipc_record_read(c, STEP_NS, &d, &len);
		cr_assert_eq(rc, 0, "record of %u bytes: %d %s", seq, rc, zipc_strerror(rc));
		cr_assert_eq(len, seq, "asked %u bytes, got %zu", seq, len);
		cr_assert(rec_ok(d, len, 0, seq), "record of %u bytes: content differs", seq);
		/* several small records per release; big ones one at a time, or
		 * the unreleased ones would leave no room for the next */
		if (want % 7 == 0 || want >= 100)
			cr_assert_eq(zipc_record_release(c), 0);
	}
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	expect_exit(pid, 0, "producer");
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, (uint64_t)max + 1);
	cr_assert_eq(st.head, st.tail);
	cr_assert_gt(st.paddings, 0, "4088 sizes through 8 KiB must wrap with padding");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(sizes_1_to_max_sp, 60, "SP: every size 1..max (and max by copy) arrives exact; max+1 is -EMSGSIZE")
{
	sizes_run(0);
}

TEST_REC(sizes_1_to_max_mp, 60, "MP: every size 1..max (and max by copy) arrives exact; max+1 is -EMSGSIZE")
{
	sizes_run(ZIPC_RECORD_MULTI_PRODUCER);
}

/* ------------------------------------------------- padding at the wrap */

static void padding_exact(uint32_t flags)
{
	/* capacity 256, largest record 128 bytes: two 112-byte records, then a
	 * third does not fit in the 32 bytes left before the end */
	zipc_record_ring *r = make_ring(256, 120, flags);
	int mp = !!flags;
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
	zipc_record_consumer *c = open_consumer(r);
	unsigned char msg[100];
	const void *d;
	size_t len;
	for (uint64_t i = 0; i < 2; i++) {
		rec_fill(msg, sizeof msg, 0, i);
		cr_assert_eq(zipc_record_send(p, msg, sizeof msg, 0), 0);
	}
	void *b;
	cr_assert_eq(zipc_record_claim(p, 100, 0, &b), -EAGAIN, "224 + 32 + 112 bytes cannot fit in 256");
	for (uint64_t i = 0; i < 2; i++) {
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
		cr_assert(len == 100 && rec_ok(d, len, 0, i));
	}
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(zipc_record_claim(p, 100, 0, &b), 0);
	cr_assert_eq(b, shared_data(r) + ZIPC_RECORD_HDR_SIZE, "the record starts again at offset 0");
	uint64_t pad = atomic_load(shared_word(r, 224));
	cr_assert_eq(ZIPC_RECORD_WORD_TYPE(pad), ZIPC_RECORD_T_PADDING);
	cr_assert_eq(ZIPC_RECORD_WORD_LEN(pad), 32, "padding fills the 32 bytes to the end");
	if (mp) { /* in flight until commit: negative length */
		uint64_t w = atomic_load(shared_word(r, 0));
		cr_assert_eq(ZIPC_RECORD_WORD_TYPE(w), ZIPC_RECORD_T_INFLIGHT);
		cr_assert_eq(ZIPC_RECORD_WORD_LEN(w), -(int32_t)(100 + ZIPC_RECORD_HDR_SIZE));
	}
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EAGAIN, "nothing is visible before commit");
	rec_fill(b, 100, 0, 2);
	cr_assert_eq(zipc_record_commit(p, b), 0);
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	cr_assert(d == b && len == 100 && rec_ok(d, len, 0, 2));
	cr_assert_eq(zipc_record_release(c), 0);
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.tail, 224 + 32 + 112);
	cr_assert_eq(st.head, st.tail);
	cr_assert_eq(st.paddings, 1);
	cr_assert_eq(st.records, 3);
	if (mp) /* released bytes are zeroed so a lap later a header reads 0 */
		for (unsigned i = 0; i < 256; i++)
			cr_assert_eq(shared_data(r)[i], 0, "byte %u not zeroed after release", i);
	zipc_record_consumer_close(c);
	zipc_record_producer_close(p);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(padding_record_at_end_sp, 10, "SP: a record that would cross the end gets a padding record first")
{
	padding_exact(0);
}

TEST_REC(padding_record_at_end_mp, 10, "MP: padding committed at claim, record in flight until commit")
{
	padding_exact(ZIPC_RECORD_MULTI_PRODUCER);
}

struct laps_arg {
	zipc_record_ring *ring;
	uint64_t count;
	uint32_t max;
};

/* Lengths that walk through every residue of the 1 KiB ring. */
static size_t lap_len(uint64_t seq, uint32_t max)
{
	return (size_t)(1 + (seq * 37 + seq / 7) % max);
}

static int laps_child(void *arg)
{
	struct laps_arg *a = arg;
	zipc_record_producer *p;
	CK(zipc_record_producer_open(a->ring, NULL, &p) == 0);
	for (uint64_t seq = 0; seq < a->count; seq++) {
		size_t len = lap_len(seq, a->max);
		void *b;
		CK(zipc_record_claim(p, len, STEP_NS, &b) == 0);
		rec_fill(b, len, 0, seq);
		CK(zipc_record_commit(p, b) == 0);
	}
	zipc_record_producer_close(p);
	return 0;
}

static void laps_run(uint32_t flags)
{
	const uint64_t cap = 1024;
	const uint32_t max = 504; /* 512 bytes with the header: half the ring */
	zipc_record_ring *r = make_ring(cap, max, flags);
	zipc_record_consumer *c = open_consumer(r);
	struct laps_arg a = {.count = zt_messages(200000) , .max = max};
	a.ring = r;
	pid_t pid = spawn(laps_child, &a);
	for (uint64_t seq = 0; seq < a.count; seq++) {
		const void *d;
		size_t len;
		int rc = zipc_record_read(c, STEP_NS, &d, &len);
		if (rc)
			cr_assert_fail("record %llu: %d %s", (unsigned long long)seq, rc, zipc_strerror(rc));
		if (len != lap_len(seq, max) || !rec_ok(d, len, 0, seq))
			cr_assert_fail("record %llu: %zu bytes, bad length or content", (unsigned long long)seq, len);
		/* records up to half the ring: holding one while waiting for
		 * the next could leave no room for it */
		cr_assert_eq(zipc_record_release(c), 0);
	}
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	expect_exit(pid, 0, "producer");
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, a.count);
	cr_assert_gt(st.head / cap, a.count / 10, "many laps (%llu)", (unsigned long long)(st.head / cap));
	cr_assert_gt(st.paddings, a.count / 20, "wraps need padding records (%llu)",
		     (unsigned long long)st.paddings);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(padding_many_laps_sp, 120, "SP: sizes forcing wraps over many laps in a 1 KiB ring, content verified")
{
	laps_run(0);
}

TEST_REC(padding_many_laps_mp, 120, "MP: sizes forcing wraps over many laps in a 1 KiB ring, content verified")
{
	laps_run(ZIPC_RECORD_MULTI_PRODUCER);
}

/* ----------------------------------------------------------- zero copy */

struct zc_arg {
	zipc_record_ring *ring;
	struct chan claimed; /* the child sends the claimed address through it */
	struct chan go;
};

static int zc_child(void *arg)
{
	struct zc_arg *a = arg;
	zipc_record_producer *p;
	void *b;
	CK(zipc_record_producer_open(a->ring, NULL, &p) == 0);
	CK(zipc_record_claim(p, 13, STEP_NS, &b) == 0);
	CK(((uintptr_t)b & 7) == 0);
	rec_fill(b, 13, 0, 13);
	CK(write(a->claimed.fd[1], &b, sizeof b) == sizeof b);
	CK(chan_recv(&a->go) == 0);
	CK(zipc_record_commit(p, (char *)b + 1) == -EINVAL); /* not the claim */
	CK(zipc_record_commit(p, b) == 0);
	CK(zipc_record_commit(p, b) == -EINVAL); /* already committed */
	zipc_record_producer_close(p);
	return 0;
}

static void zero_copy_run(uint32_t flags)
{
	zipc_record_ring *r = make_ring(4096, 1000, flags);
	zipc_record_consumer *c = open_consumer(r);
	struct zc_arg a = {.ring = r};
	chan_open(&a.claimed);
	chan_open(&a.go);
	pid_t pid = spawn(zc_child, &a);
	void *claimed;
	cr_assert_eq(read(a.claimed.fd[0], &claimed, sizeof claimed), (ssize_t)sizeof claimed);
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EAGAIN, "a claimed record is invisible until commit");
	cr_assert_eq(chan_send(&a.go), 0);
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
	cr_assert_eq(d, claimed, "the consumer reads the producer's bytes in place (same mapping after fork)");
	cr_assert_eq(len, 13, "exactly the 13 bytes asked");
	cr_assert(rec_ok(d, len, 0, 13));
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.tail, ZIPC_RECORD_SIZE(13), "13 bytes take 8 + 13 rounded to 8 = 24");
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	expect_exit(pid, 0, "producer");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(zero_copy_claim_commit_sp, 30, "SP: claim gives 13 writable bytes in the ring, read in place after commit")
{
	zero_copy_run(0);
}

TEST_REC(zero_copy_claim_commit_mp, 30, "MP: claim gives 13 writable bytes in the ring, read in place after commit")
{
	zero_copy_run(ZIPC_RECORD_MULTI_PRODUCER);
}

/* -------------------------------------------------------------- abort */

static int abort_child(void *arg)
{
	zipc_record_ring *r = arg;
	zipc_record_producer *p;
	unsigned char m[64];
	void *b;
	CK(zipc_record_producer_open(r, NULL, &p) == 0);
	for (uint64_t seq = 0; seq < 300; seq++) {
		size_t len = 1 + seq % 60;
		if (seq % 3 == 1) { /* claimed, written, then given up */
			CK(zipc_record_claim(p, len, STEP_NS, &b) == 0);
			memset(b, 0xEE, len);
			CK(zipc_record_abort(p, (char *)b + 8) == -EINVAL);
			CK(zipc_record_abort(p, b) == 0);
			CK(zipc_record_abort(p, b) == -EINVAL);
			CK(zipc_record_commit(p, b) == -EINVAL);
			continue;
		}
		rec_fill(m, len, 0, seq);
		CK(zipc_record_send(p, m, len, STEP_NS) == 0);
	}
	/* a claim still outstanding at close is aborted by close */
	CK(zipc_record_claim(p, 10, STEP_NS, &b) == 0);
	memset(b, 0xEE, 10);
	zipc_record_producer_close(p);
	return 0;
}

static void abort_run(uint32_t flags)
{
	zipc_record_ring *r = make_ring(1024, 200, flags);
	zipc_record_consumer *c = open_consumer(r);
	pid_t pid = spawn(abort_child, r);
	for (uint64_t seq = 0; seq < 300; seq++) {
		if (seq % 3 == 1)
			continue;
		const void *d;
		size_t len;
		int rc = zipc_record_read(c, STEP_NS, &d, &len);
		cr_assert_eq(rc, 0, "record %llu: %d %s", (unsigned long long)seq, rc, zipc_strerror(rc));
		cr_assert(len == 1 + seq % 60 && rec_ok(d, len, 0, seq), "record %llu wrong (aborted one seen?)",
			  (unsigned long long)seq);
		cr_assert_eq(zipc_record_release(c), 0);
	}
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE, "aborted claims never reach the consumer");
	expect_exit(pid, 0, "producer");
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, 200);
	if (flags) /* MP: each abort became a padding record (100 + the one at close) */
		cr_assert_geq(st.paddings, 101);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(abort_sp, 30, "SP: an aborted claim (and one left at close) is never delivered")
{
	abort_run(0);
}

TEST_REC(abort_mp, 30, "MP: an aborted claim becomes padding and is never delivered")
{
	abort_run(ZIPC_RECORD_MULTI_PRODUCER);
}

/* ------------------------------------------------------------ streams */

TEST_REC(sp_stream_across_processes, 240, "SP: a child sends 1M random-length records; every one checked, in order")
{
	zipc_record_ring *r = make_ring(1 << 16, 2040, 0);
	zipc_record_consumer *c = open_consumer(r);
	struct stream_arg a = {.id = 0, .count = zt_messages(STREAM_DEFAULT), .max = 2040};
	pid_t pid = start_producer(r, &a);
	struct verifier v = {.producers = 1, .max = a.max};
	consume(c, &v, a.count, 16, -EPIPE);
	expect_exit(pid, 0, "producer");
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, a.count);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(mp_four_producers, 240, "MP: 4 producer processes; per-producer FIFO, exact content and totals")
{
	const unsigned np = 4;
	zipc_record_ring *r = make_ring(1 << 16, 2040, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_consumer *c = open_consumer(r);
	struct stream_arg a[4];
	pid_t pids[4];
	uint64_t each = zt_messages(STREAM_DEFAULT) / np;
	for (unsigned i = 0; i < np; i++) {
		a[i] = (struct stream_arg){.id = i, .count = each, .max = 2040};
		pids[i] = start_producer(r, &a[i]);
	}
	struct verifier v = {.producers = np, .max = 2040};
	consume(c, &v, each * np, 32, -EPIPE);
	for (unsigned i = 0; i < np; i++) {
		expect_exit(pids[i], 0, "producer");
		cr_assert_eq(v.next[i], each, "producer %u: %llu records", i, (unsigned long long)v.next[i]);
	}
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, each * np);
	cr_assert_eq(st.producer_attaches, np);
	cr_assert_eq(st.producers_active, 0);
	cr_assert_eq(st.dead_claims, 0);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(send_batch_stream_sp, 240, "SP: a child sends 1M random-length records in batches; every one checked")
{
	zipc_record_ring *r = make_ring(1 << 16, 2040, 0);
	zipc_record_consumer *c = open_consumer(r);
	struct stream_arg a = {.id = 0, .count = zt_messages(STREAM_DEFAULT), .max = 2040, .batch = 32};
	pid_t pid = start_producer(r, &a);
	struct verifier v = {.producers = 1, .max = a.max};
	consume(c, &v, a.count, 32, -EPIPE);
	expect_exit(pid, 0, "producer");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(send_batch_stream_mp, 240, "MP: 3 producer processes, two batching, one not; FIFO and totals exact")
{
	zipc_record_ring *r = make_ring(1 << 15, 1000, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_consumer *c = open_consumer(r);
	struct stream_arg a[3];
	pid_t pids[3];
	uint64_t each = zt_messages(STREAM_DEFAULT) / 3;
	for (unsigned i = 0; i < 3; i++) {
		a[i] = (struct stream_arg){.id = i, .count = each, .max = 1000, .batch = i == 2 ? 0 : 16 << i};
		pids[i] = start_producer(r, &a[i]);
	}
	struct verifier v = {.producers = 3, .max = 1000};
	consume(c, &v, 3 * each, 32, -EPIPE);
	for (unsigned i = 0; i < 3; i++) {
		expect_exit(pids[i], 0, "producer");
		cr_assert_eq(v.next[i], each);
	}
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* Model of the layout rule: how many records of @size bytes fit from
 * @tail in a ring of @cap bytes released up to @head, none crossing the end. */
static unsigned model_fit(uint64_t tail, uint64_t head, uint64_t cap, uint64_t size, unsigned n, uint64_t *end)
{
	unsigned k = 0;
	for (; k < n; k++) {
		uint64_t idx = tail % cap, pad = idx + size > cap ? cap - idx : 0;
		if (tail + pad + size - head > cap)
			break;
		tail += pad + size;
	}
	*end = tail;
	return k;
}

static void batch_exact(uint32_t flags)
{
	zipc_record_ring *r = make_ring(1024, 200, flags);
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
	zipc_record_consumer *c = open_consumer(r);
	static unsigned char store[20][100];
	struct zipc_record msgs[20];
	for (uint64_t i = 0; i < 20; i++) {
		rec_fill(store[i], 100, 0, i);
		msgs[i] = (struct zipc_record){store[i], 100};
	}
	struct zipc_record bad[2] = {msgs[0], {store[1], 201}};
	cr_assert_eq(zipc_record_send_batch(p, bad, 2, 0), -EMSGSIZE, "nothing sent if one is too long");
	bad[1].len = 0;
	cr_assert_eq(zipc_record_send_batch(p, bad, 2, 0), -EINVAL);
	cr_assert_eq(zipc_record_send_batch(p, msgs, 0, 0), -EINVAL);
	void *b;
	cr_assert_eq(zipc_record_claim(p, 10, 0, &b), 0);
	cr_assert_eq(zipc_record_send_batch(p, msgs, 1, 0), -EINVAL, "a claim is outstanding");
	cr_assert_eq(zipc_record_abort(p, b), 0);
	/* 5 x 112 bytes, consumed; then 5 more from 560: the fifth would cross
	 * the end at 1008 and gets 16 bytes of padding inside the batch */
	cr_assert_eq(zipc_record_send_batch(p, msgs, 5, 0), 5);
	const void *d;
	size_t len;
	uint64_t next = 0;
	for (; next < 5; next++)
		cr_assert(zipc_record_read(c, 0, &d, &len) == 0 && len == 100 && rec_ok(d, len, 0, next));
	cr_assert_eq(zipc_record_release(c), 0);
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	uint64_t base = st.tail; /* 560, or 560 + the aborted MP claim's 24 */
	uint64_t want_end;
	unsigned want = model_fit(base, st.head, 1024, 112, 15, &want_end);
	cr_assert(want >= 8 && want < 15, "model: %u", want);
	int k = zipc_record_send_batch(p, msgs + 5, 15, 0);
	cr_assert_eq(k, (int)want, "only a prefix fits: %d, model %u", k, want);
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.tail, want_end, "records and the padding inside the batch as modelled");
	cr_assert_gt(st.tail - base, want * 112, "padding inside the batch");
	cr_assert_eq(zipc_record_send_batch(p, msgs + 5 + want, 15 - want, 0), -EAGAIN, "full: nothing sent");
	for (; next < 5 + want; next++)
		cr_assert(zipc_record_read(c, 0, &d, &len) == 0 && len == 100 && rec_ok(d, len, 0, next),
			  "record %llu", (unsigned long long)next);
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(zipc_record_send_batch(p, msgs + next, 20 - (unsigned)next, 0), (int)(20 - next));
	for (; next < 20; next++)
		cr_assert(zipc_record_read(c, 0, &d, &len) == 0 && len == 100 && rec_ok(d, len, 0, next));
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EAGAIN);
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, 20);
	cr_assert_geq(st.paddings, 1);
	finish(r, p, c);
}

TEST_REC(send_batch_prefix_and_padding_sp, 10, "SP send_batch: errors, a prefix when room is short, padding inside")
{
	batch_exact(0);
}

TEST_REC(send_batch_prefix_and_padding_mp, 10, "MP send_batch: errors, a prefix when room is short, padding inside")
{
	batch_exact(ZIPC_RECORD_MULTI_PRODUCER);
}

static void strategy_run(uint32_t strategy, uint32_t flags)
{
	zipc_record_ring *r = make_ring(1 << 14, 1000, flags);
	zipc_record_consumer *c = open_consumer_opts(r, strategy, 0, 0);
	struct stream_arg a = {.id = 0, .count = zt_messages(STREAM_DEFAULT) / 10, .max = 1000, .strategy = strategy};
	pid_t pid = start_producer(r, &a);
	struct verifier v = {.producers = 1, .max = a.max};
	consume(c, &v, a.count, 1, -EPIPE);
	expect_exit(pid, 0, "producer");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(stream_spin, 120, "SP stream, both ends spinning")
{
	strategy_run(ZIPC_WAIT_SPIN, 0);
}

TEST_REC(stream_yield, 120, "MP stream, both ends yielding")
{
	strategy_run(ZIPC_WAIT_YIELD, ZIPC_RECORD_MULTI_PRODUCER);
}

TEST_REC(stream_block, 120, "SP stream, both ends blocking on the futex")
{
	strategy_run(ZIPC_WAIT_BLOCK, 0);
}

TEST_REC(stream_uring, 120, "MP stream, both ends sleeping in io_uring (futex fallback)")
{
	strategy_run(ZIPC_WAIT_URING, ZIPC_RECORD_MULTI_PRODUCER);
}

/* --------------------------------------------------- hostile memory */

/* A hostile child stores @value at @addr in the shared ring. */
struct poke {
	_Atomic uint64_t *addr;
	uint64_t value;
};

static int poke_child(void *arg)
{
	struct poke *pk = arg;
	atomic_store(pk->addr, pk->value);
	return 0;
}

static void poke(_Atomic uint64_t *addr, uint64_t value)
{
	struct poke pk = {addr, value};
	expect_exit(spawn(poke_child, &pk), 0, "hostile child");
}

/* Three 40-byte records (48 bytes each) committed in a fresh ring. */
static zipc_record_ring *three_records(uint32_t flags, zipc_record_producer **pp, zipc_record_consumer **cp)
{
	zipc_record_ring *r = make_ring(1024, 200, flags);
	*pp = open_producer(r, ZIPC_WAIT_SPIN);
	*cp = open_consumer(r);
	unsigned char m[40];
	for (uint64_t i = 0; i < 3; i++) {
		rec_fill(m, sizeof m, 0, i);
		cr_assert_eq(zipc_record_send(*pp, m, sizeof m, 0), 0);
	}
	return r;
}

/* Corrupt the header word of the second record; the first still reads,
 * the second is -EPROTO (every time), nothing is read out of bounds. */
static void corrupt_second(uint32_t flags, uint64_t word, const char *what)
{
	zipc_record_producer *p;
	zipc_record_consumer *c;
	zipc_record_ring *r = three_records(flags, &p, &c);
	poke(shared_word(r, 48), word);
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	cr_assert(len == 40 && rec_ok(d, len, 0, 0));
	for (int i = 0; i < 2; i++) {
		int rc = zipc_record_read(c, 0, &d, &len);
		cr_assert_eq(rc, -EPROTO, "%s (%s): %d %s", what, flags ? "MP" : "SP", rc, zipc_strerror(rc));
	}
	struct zipc_record rec[4];
	cr_assert_eq(zipc_record_read_batch(c, 0, rec, 4), -EPROTO);
	cr_assert_eq(zipc_record_release(c), 0); /* the first record is released; fine */
	finish(r, p, c);
}

static void corrupt_lengths(uint32_t flags)
{
	const uint32_t D = ZIPC_RECORD_T_DATA, P = ZIPC_RECORD_T_PADDING;
	corrupt_second(flags, ZIPC_RECORD_WORD(200 + 9, D), "length above max record + header");
	corrupt_second(flags, ZIPC_RECORD_WORD(INT32_MAX, D), "huge length");
	corrupt_second(flags, ZIPC_RECORD_WORD(4, D), "length below the header");
	corrupt_second(flags, ZIPC_RECORD_WORD(8, D), "data record without payload");
	corrupt_second(flags, ZIPC_RECORD_WORD(44, P), "misaligned padding length");
	corrupt_second(flags, ZIPC_RECORD_WORD(48, 77), "unknown type");
	corrupt_second(flags, ZIPC_RECORD_WORD(200, D), "record running past the tail");
	corrupt_second(flags, ZIPC_RECORD_WORD(0, 5), "zero length with a type");
	if (!flags) /* SP: nothing below the published tail can be in flight */
		corrupt_second(flags, ZIPC_RECORD_WORD(-48, ZIPC_RECORD_T_INFLIGHT), "in flight below an SP tail");
	else
		corrupt_second(flags, ZIPC_RECORD_WORD(-48, D), "negative length with a data type");
}

TEST_REC(corrupt_lengths_sp, 30, "SP: a length/type corrupted in shared memory is -EPROTO, never a crash")
{
	corrupt_lengths(0);
}

TEST_REC(corrupt_lengths_mp, 30, "MP: a length/type corrupted in shared memory is -EPROTO, never a crash")
{
	corrupt_lengths(ZIPC_RECORD_MULTI_PRODUCER);
}

static void crossing_end(uint32_t flags)
{
	/* records of 1000 bytes (1008) x 4 reach 4032; a 40-byte one (48)
	 * ends at 4080; more follow after the wrap, so the tail lies well
	 * beyond: only the end-of-buffer check can catch a length that runs
	 * from 4032 past 4096 */
	zipc_record_ring *r = make_ring(4096, 1500, flags);
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
	zipc_record_consumer *c = open_consumer(r);
	static unsigned char m[1000];
	const void *d;
	size_t len;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(zipc_record_send(p, m, 1000, 0), 0);
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
		cr_assert_eq(zipc_record_release(c), 0);
	}
	cr_assert_eq(zipc_record_send(p, m, 40, 0), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(zipc_record_send(p, m, 1000, 0), 0);
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.head, 4032);
	cr_assert_gt(st.tail, 4032 + 1100);
	poke(shared_word(r, 4032), ZIPC_RECORD_WORD(1000, ZIPC_RECORD_T_DATA));
	int rc = zipc_record_read(c, 0, &d, &len);
	cr_assert_eq(rc, -EPROTO, "a record crossing the end of the buffer: %d %s", rc, zipc_strerror(rc));
	poke(shared_word(r, 4032), ZIPC_RECORD_WORD(1000, ZIPC_RECORD_T_PADDING));
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EPROTO, "padding crossing the end");
	finish(r, p, c);
}

TEST_REC(corrupt_crossing_end_sp, 20, "SP: a record length crossing the end of the buffer is -EPROTO")
{
	crossing_end(0);
}

TEST_REC(corrupt_crossing_end_mp, 20, "MP: a record length crossing the end of the buffer is -EPROTO")
{
	crossing_end(ZIPC_RECORD_MULTI_PRODUCER);
}

static void corrupt_positions(uint32_t flags)
{
	zipc_record_producer *p;
	zipc_record_consumer *c;
	const void *d;
	size_t len;
	void *b;
	struct zipc_record_stat st;
	uint64_t good = 3 * 48;

	/* misaligned tail: seen when the consumer next loads the tail */
	zipc_record_ring *r = three_records(flags, &p, &c);
	struct zipc_record_ring_hdr *h = shared_hdr(r);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	poke(&h->tail, good + 4);
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EPROTO, "misaligned tail");
	cr_assert_eq(zipc_record_ring_stat(r, &st, NULL, 0), -EPROTO);
	if (flags) /* MP producers claim from the shared tail */
		cr_assert_eq(zipc_record_claim(p, 10, 0, &b), -EPROTO);
	finish(r, p, c);

	/* a tail more than a lap ahead, and one behind what was read */
	r = three_records(flags, &p, &c);
	h = shared_hdr(r);
	poke(&h->tail, 1024 + 8);
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EPROTO, "tail a lap ahead");
	poke(&h->tail, good);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	poke(&h->tail, 48);
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EPROTO, "tail behind the reader");
	finish(r, p, c);

	/* a head no consumer can have written (ahead of the tail, misaligned,
	 * absurd): producers, a new consumer and stat refuse it */
	for (unsigned i = 0; i < 3; i++) {
		r = three_records(flags, &p, &c);
		h = shared_hdr(r);
		zipc_record_consumer_close(c);
		/* fill up so the producer must look at the head */
		unsigned char m[200] = {0};
		while (zipc_record_send(p, m, sizeof m, 0) == 0)
			;
		cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
		uint64_t bad_heads[] = {st.tail + 8, 4, (uint64_t)1 << 62};
		poke(&h->h.head, bad_heads[i]);
		cr_assert_eq(zipc_record_claim(p, 200, 0, &b), -EPROTO, "head %llu", (unsigned long long)bad_heads[i]);
		zipc_record_consumer *c2 = NULL;
		cr_assert_eq(zipc_record_consumer_open(r, NULL, &c2), -EPROTO);
		cr_assert_eq(zipc_record_ring_stat(r, &st, NULL, 0), -EPROTO);
		zipc_record_producer *p2 = NULL;
		if (flags)
			cr_assert_eq(zipc_record_producer_open(r, NULL, &p2), -EPROTO);
		zipc_record_producer_close(p);
		cr_assert_eq(zipc_record_ring_close(r), 0);
	}
}

TEST_REC(corrupt_positions_sp, 30, "SP: misaligned / impossible tail and head are -EPROTO for every reader")
{
	corrupt_positions(0);
}

TEST_REC(corrupt_positions_mp, 30, "MP: misaligned / impossible tail and head are -EPROTO for every reader")
{
	corrupt_positions(ZIPC_RECORD_MULTI_PRODUCER);
}

TEST_REC(corrupt_garbage_fuzz, 60, "random garbage in every header word and position: -EPROTO or data, no crash")
{
	/* random words at random record boundaries of a live MP ring; every
	 * read must end in a defined code and any record returned must lie
	 * inside the data area */
	for (uint64_t round = 0; round < 200; round++) {
		uint32_t flags = round & 1 ? ZIPC_RECORD_MULTI_PRODUCER : 0;
		zipc_record_ring *r = make_ring(512, 200, flags);
		zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
		zipc_record_consumer *c = open_consumer(r);
		unsigned char m[200];
		for (uint64_t i = 0; i < 4; i++) {
			size_t len = 1 + zt_mix64(round * 8 + i) % 100;
			rec_fill(m, len, 0, i);
			cr_assert_eq(zipc_record_send(p, m, len, 0), 0);
		}
		uint64_t x = zt_mix64(round + 1000);
		uint64_t at = (x & 511) & ~(uint64_t)7;
		uint64_t v = zt_mix64(x);
		if (round % 4 == 2) /* a plausible length with a random type */
			v = ZIPC_RECORD_WORD((int32_t)(v % 600) - 100, (v >> 40) % 5);
		atomic_store(shared_word(r, at), v);
		unsigned char *lo = shared_data(r), *hi = lo + 512;
		for (int i = 0; i < 8; i++) {
			const void *d;
			size_t len;
			int rc = zipc_record_read(c, 0, &d, &len);
			if (rc == 0) {
				const unsigned char *q = d;
				cr_assert(q >= lo && q + len <= hi, "record outside the data area");
				continue;
			}
			cr_assert(rc == -EPROTO || rc == -EAGAIN, "round %llu: %d %s", (unsigned long long)round, rc,
				  zipc_strerror(rc));
		}
		finish(r, p, c);
	}
}

/* ------------------------------------------------- end of stream, death */

TEST_REC(eos_epipe, 30, "every producer closed and everything read: -EPIPE (SP and MP)")
{
	for (uint32_t flags = 0; flags <= ZIPC_RECORD_MULTI_PRODUCER; flags++) {
		zipc_record_ring *r = make_ring(4096, 500, flags);
		zipc_record_consumer *c = open_consumer(r);
		const void *d;
		size_t len;
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EAGAIN, "no producer yet: just empty");
		struct stream_arg a = {.id = 0, .count = 1000, .max = 500};
		pid_t pid = start_producer(r, &a);
		struct verifier v = {.producers = 1, .max = 500};
		consume(c, &v, a.count, 8, -EPIPE);
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EPIPE, "end of stream is sticky");
		expect_exit(pid, 0, "producer");
		zipc_record_consumer_close(c);
		cr_assert_eq(zipc_record_ring_close(r), 0);
	}
}

struct holder_arg {
	zipc_record_ring *ring;
	unsigned id;
	uint64_t before;  /* records sent before the held claim */
	size_t hold_len;
	struct chan sent, go, holding;
};

/* Sends @before records, waits for go, claims @hold_len bytes, writes
 * some, says so, and waits to be killed. */
static int holder_child(void *arg)
{
	struct holder_arg *a = arg;
	zipc_record_producer *p;
	CK(zipc_record_producer_open(a->ring, NULL, &p) == 0);
	static unsigned char m[1u << 12];
	for (uint64_t seq = 0; seq < a->before; seq++) {
		size_t len = 100;
		rec_fill(m, len, a->id, seq);
		CK(zipc_record_send(p, m, len, STEP_NS) == 0);
	}
	CK(chan_send(&a->sent) == 0);
	CK(chan_recv(&a->go) == 0);
	void *b;
	CK(zipc_record_claim(p, a->hold_len, STEP_NS, &b) == 0);
	memset(b, 0xEE, a->hold_len / 2);
	CK(chan_send(&a->holding) == 0);
	for (;;)
		pause();
}

static void sp_dead_run(int holding)
{
	zipc_record_ring *r = make_ring(4096, 500, 0);
	zipc_record_consumer *c = open_consumer(r);
	struct holder_arg a = {.ring = r, .before = 20, .hold_len = 50};
	chan_open(&a.sent);
	chan_open(&a.go);
	chan_open(&a.holding);
	pid_t pid = spawn(holder_child, &a);
	cr_assert_eq(chan_recv(&a.sent), 0);
	if (holding) {
		cr_assert_eq(chan_send(&a.go), 0);
		cr_assert_eq(chan_recv(&a.holding), 0);
	}
	kill_child(pid);
	const void *d;
	size_t len;
	for (uint64_t seq = 0; seq < a.before; seq++) {
		cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0, "committed records survive the producer");
		cr_assert(len == 100 && rec_ok(d, len, 0, seq));
	}
	cr_assert_eq(zipc_record_release(c), 0);
	int rc = zipc_record_read(c, STEP_NS, &d, &len);
	cr_assert_eq(rc, -EOWNERDEAD, "drained, producer dead: %d %s", rc, zipc_strerror(rc));
	/* a new producer takes the dead one's slot and the stream goes on */
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
	unsigned char m[100];
	rec_fill(m, 100, 0, 99);
	cr_assert_eq(zipc_record_send(p, m, 100, 0), 0);
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
	cr_assert(len == 100 && rec_ok(d, len, 0, 99), "the dead producer's claim left nothing behind");
	zipc_record_producer_close(p);
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(dead_producer_sp, 30, "SP: producer killed; consumer drains, then -EOWNERDEAD; slot taken over")
{
	sp_dead_run(0);
}

TEST_REC(dead_producer_sp_holding_claim, 30, "SP: producer killed holding a claim; nothing of it is visible")
{
	sp_dead_run(1);
}

static void mp_hole_run(uint64_t before, int expect_wrap)
{
	/* A sends @before records of 100 bytes, which the consumer reads;
	 * then A claims 50 bytes (wrapping or not) and is killed holding it;
	 * B sends 10 records after the hole and closes */
	zipc_record_ring *r = make_ring(1024, 400, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_consumer *c = open_consumer(r);
	struct holder_arg a = {.ring = r, .id = 0, .before = before, .hold_len = 50};
	chan_open(&a.sent);
	chan_open(&a.go);
	chan_open(&a.holding);
	pid_t pa = spawn(holder_child, &a);
	cr_assert_eq(chan_recv(&a.sent), 0);
	const void *d;
	size_t len;
	for (uint64_t seq = 0; seq < before; seq++) {
		cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
		cr_assert(len == 100 && rec_ok(d, len, 0, seq));
	}
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(chan_send(&a.go), 0);
	cr_assert_eq(chan_recv(&a.holding), 0);
	struct stream_arg b = {.id = 1, .count = 10, .max = 400};
	pid_t pb = start_producer(r, &b);
	expect_exit(pb, 0, "producer B");
	kill_child(pa);
	struct verifier v = {.producers = 2, .max = 400};
	v.next[0] = before;
	consume(c, &v, 10, 4, -EOWNERDEAD);
	cr_assert_eq(v.next[1], 10, "everything B committed after the hole arrives");
	struct zipc_record_stat st;
	struct zipc_ring_peer_stat ps[4];
	cr_assert_eq(zipc_record_ring_stat(r, &st, ps, 4), 2, "dead A and the consumer stay registered");
	cr_assert_eq(st.dead_claims, 1, "the dead producer's claim was skipped once");
	if (expect_wrap)
		cr_assert_geq(st.paddings, 1, "the held claim began with a wrap padding");
	cr_assert(ps[0].is_consumer == 0 && ps[0].alive == 0);
	/* the consumer has passed A's claim: reap detaches A, then end of stream */
	cr_assert_eq(zipc_record_ring_reap(r), 1);
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	/* the ring still works: the skipped bytes were zeroed with the release */
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
	for (uint64_t i = 0; i < 40; i++) {
		unsigned char m[100];
		rec_fill(m, 100, 3, i);
		cr_assert_eq(zipc_record_send(p, m, 100, STEP_NS), 0);
		cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
		cr_assert(len == 100 && rec_ok(d, len, 3, i));
		cr_assert_eq(zipc_record_release(c), 0);
	}
	zipc_record_producer_close(p);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(dead_producer_mp_hole, 30, "MP: producer killed holding a claim; the hole is skipped, others' records kept")
{
	mp_hole_run(3, 0);
}

TEST_REC(dead_producer_mp_hole_after_wrap, 30, "MP: producer killed holding a claim that wrapped (padding first)")
{
	mp_hole_run(9, 1); /* 9 x 112 = 1008: 16 bytes left, the 64-byte claim wraps */
}

TEST_REC(dead_producers_mp_all, 30, "MP: every producer killed after sending; drain, then -EOWNERDEAD")
{
	zipc_record_ring *r = make_ring(1 << 14, 400, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_consumer *c = open_consumer(r);
	struct stream_arg a[2];
	pid_t pids[2];
	for (unsigned i = 0; i < 2; i++) {
		a[i] = (struct stream_arg){.id = i, .count = 50, .max = 400, .no_close = 1};
		pids[i] = start_producer(r, &a[i]);
	}
	for (unsigned i = 0; i < 2; i++)
		expect_exit(pids[i], 0, "producer (exits without closing)");
	struct verifier v = {.producers = 2, .max = 400};
	consume(c, &v, 100, 8, -EOWNERDEAD);
	cr_assert_eq(zipc_record_ring_reap(r), 2);
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

struct cons_arg {
	zipc_record_ring *ring;
	uint64_t read;        /* records to read (not released) */
	uint64_t release_to;  /* if non-zero: pretend to die while releasing up to here */
	struct chan opened;
};

static int consumer_child(void *arg)
{
	struct cons_arg *a = arg;
	zipc_record_consumer *c;
	CK(zipc_record_consumer_open(a->ring, NULL, &c) == 0);
	for (uint64_t i = 0; i < a->read; i++) {
		const void *d;
		size_t len;
		CK(zipc_record_read(c, STEP_NS, &d, &len) == 0);
	}
	if (a->release_to) /* as a consumer killed after marking, before zeroing */
		atomic_store(&((struct zipc_record_ring_hdr *)zipc_region_area(
				       zipc_record_ring_region(a->ring)))->h.release_to,
			     a->release_to);
	CK(chan_send(&a->opened) == 0);
	for (;;)
		pause();
}

TEST_REC(dead_consumer, 30, "a producer blocked on a full ring by a dead consumer gets -EOWNERDEAD; takeover")
{
	zipc_record_ring *r = make_ring(1024, 200, 0);
	struct cons_arg a = {.ring = r};
	chan_open(&a.opened);
	pid_t pid = spawn(consumer_child, &a);
	cr_assert_eq(chan_recv(&a.opened), 0);
	zipc_record_consumer *c2 = NULL;
	cr_assert_eq(zipc_record_consumer_open(r, NULL, &c2), -EBUSY, "one live consumer per ring");
	kill_child(pid);
	struct zipc_wait_opts w = {.strategy = ZIPC_WAIT_BLOCK, .liveness_ns = 5 * ZIPC_MSEC};
	zipc_record_producer *p = NULL;
	cr_assert_eq(zipc_record_producer_open(r, &w, &p), 0);
	unsigned char m[100];
	uint64_t sent = 0;
	for (;; sent++) {
		rec_fill(m, 100, 0, sent);
		int rc = zipc_record_send(p, m, 100, 0);
		if (rc == -EAGAIN)
			break;
		cr_assert_eq(rc, 0);
	}
	cr_assert_eq(sent, 9, "9 x 112 bytes fill 1 KiB");
	int rc = zipc_record_send(p, m, 100, STEP_NS);
	cr_assert_eq(rc, -EOWNERDEAD, "full ring, dead consumer: %d %s", rc, zipc_strerror(rc));
	/* a new consumer takes over and reads everything */
	zipc_record_consumer *c = open_consumer(r);
	struct verifier v = {.producers = 1, .max = 200};
	for (uint64_t i = 0; i < sent; i++) {
		const void *d;
		size_t len;
		cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
		cr_assert(len == 100 && rec_ok(d, len, 0, i));
	}
	(void)v;
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(zipc_record_send(p, m, 100, STEP_NS), 0, "room again");
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.consumer_attaches, 2);
	cr_assert_eq(st.consumers_active, 1);
	zipc_record_producer_close(p);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(consumer_takeover_finishes_release, 30, "MP: a consumer dead mid-release; the next one finishes it")
{
	zipc_record_ring *r = make_ring(1024, 200, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_SPIN);
	unsigned char m[40];
	for (uint64_t i = 0; i < 3; i++) {
		rec_fill(m, 40, 0, i);
		cr_assert_eq(zipc_record_send(p, m, 40, 0), 0);
	}
	struct cons_arg a = {.ring = r, .read = 2, .release_to = 2 * 48};
	chan_open(&a.opened);
	pid_t pid = spawn(consumer_child, &a);
	cr_assert_eq(chan_recv(&a.opened), 0);
	kill_child(pid);
	zipc_record_consumer *c = open_consumer(r);
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.head, 96, "the interrupted release was completed");
	for (unsigned i = 0; i < 96; i++)
		cr_assert_eq(shared_data(r)[i], 0, "released byte %u not zeroed", i);
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	cr_assert(len == 40 && rec_ok(d, len, 0, 2), "resumes after what was released");
	cr_assert_eq(zipc_record_release(c), 0);
	/* a lap later the zeroed headers read as "not yet written" again */
	for (uint64_t i = 3; i < 100; i++) {
		rec_fill(m, 40, 0, i);
		cr_assert_eq(zipc_record_send(p, m, 40, 0), 0);
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
		cr_assert(len == 40 && rec_ok(d, len, 0, i));
		cr_assert_eq(zipc_record_release(c), 0);
		cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EAGAIN);
	}
	zipc_record_producer_close(p);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* ------------------------------------------------------ blocking wakes */

struct wake_arg {
	zipc_record_ring *ring;
	struct chan got; /* the consumer has the record: only then may we close */
};

/* Is our parent (the consumer) blocked in futex(2) or io_uring_enter(2)? */
static int parent_sleeps(void)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)getppid());
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long nr = -1;
	int ok = fgets(buf, sizeof(buf), f) != NULL && sscanf(buf, "%ld", &nr) == 1;
	fclose(f);
	return ok && (nr == SYS_futex || nr == SYS_io_uring_enter);
}

static int wake_consumer_child(void *arg)
{
	struct wake_arg *a = arg;
	zipc_record_ring *r = a->ring;
	zipc_record_producer *p;
	CK(zipc_record_producer_open(r, NULL, &p) == 0);
	/* handshake through shared state: the consumer announced it sleeps */
	int64_t deadline = zipc_now_ns() + STEP_NS;
	struct zipc_record_stat st;
	for (;;) {
		CK(zipc_record_ring_stat(r, &st, NULL, 0) >= 0);
		/* announced, and inside its sleeping system call (FUTEX_WAIT or
		 * io_uring_enter): only a wake-up can get it out now */
		if (st.consumers_sleeping > 0 && parent_sleeps())
			break;
		CK(zipc_now_ns() < deadline);
		sched_yield();
	}
	unsigned char m[77];
	rec_fill(m, sizeof m, 0, 7);
	CK(zipc_record_send(p, m, sizeof m, 0) == 0);
	/* stay registered until the consumer has it: our close would wake it too */
	CK(chan_recv(&a->got) == 0);
	zipc_record_producer_close(p);
	return 0;
}

static void wakes_consumer_run(uint32_t strategy)
{
	zipc_record_ring *r = make_ring(4096, 500, 0);
	zipc_record_consumer *c = open_consumer_opts(r, strategy, 1000, 10 * ZIPC_SEC);
	struct wake_arg a = {.ring = r};
	chan_open(&a.got);
	pid_t pid = spawn(wake_consumer_child, &a);
	const void *d;
	size_t len;
	int rc = zipc_record_read(c, 5 * ZIPC_SEC, &d, &len);
	cr_assert_eq(rc, 0, "woken read: %d %s", rc, zipc_strerror(rc));
	cr_assert_eq(chan_send(&a.got), 0);
	cr_assert(len == 77 && rec_ok(d, len, 0, 7));
	cr_assert_eq(zipc_record_release(c), 0);
	expect_exit(pid, 0, "producer");
	struct zipc_record_stat st;
	struct zipc_ring_peer_stat ps[2];
	cr_assert_eq(zipc_record_ring_stat(r, &st, ps, 2), 1);
	cr_assert_geq(st.consumer_wakes, 1);
	cr_assert(ps[0].is_consumer && ps[0].sleeps >= 1);
	cr_assert_eq(zipc_record_read(c, 5 * ZIPC_SEC, &d, &len), -EPIPE, "the close wakes it too");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

TEST_REC(block_wakes_consumer, 30, "block: a commit wakes a sleeping consumer (liveness 10 s, so only a wake can)")
{
	wakes_consumer_run(ZIPC_WAIT_BLOCK);
}

TEST_REC(uring_wakes_consumer, 30, "uring: a commit wakes a consumer asleep in io_uring (liveness 10 s)")
{
	wakes_consumer_run(ZIPC_WAIT_URING);
}

static int wake_producer_child(void *arg)
{
	zipc_record_ring *r = arg;
	struct zipc_wait_opts w = {.strategy = ZIPC_WAIT_BLOCK, .spin_ns = 1000, .liveness_ns = 10 * ZIPC_SEC};
	zipc_record_producer *p;
	CK(zipc_record_producer_open(r, &w, &p) == 0);
	unsigned char m[100];
	uint64_t seq = 0;
	for (;; seq++) {
		rec_fill(m, 100, 0, seq);
		int rc = zipc_record_send(p, m, 100, 0);
		if (rc == -EAGAIN)
			break;
		CK(rc == 0);
	}
	CK(zipc_record_send(p, m, 100, 5 * ZIPC_SEC) == 0); /* sleeps until the consumer releases */
	zipc_record_producer_close(p);
	return 0;
}

TEST_REC(block_wakes_producer, 30, "block: a release wakes a producer sleeping on a full ring")
{
	zipc_record_ring *r = make_ring(1024, 200, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_consumer *c = open_consumer(r);
	pid_t pid = spawn(wake_producer_child, r);
	struct zipc_record_stat st;
	int64_t deadline = zipc_now_ns() + STEP_NS;
	for (;;) {
		cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
		if (st.producers_sleeping > 0)
			break;
		cr_assert_lt(zipc_now_ns(), deadline, "the producer never slept");
		sched_yield();
	}
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	cr_assert_eq(zipc_record_release(c), 0);
	for (uint64_t seq = 1; seq <= 9; seq++) {
		cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
		cr_assert(len == 100 && rec_ok(d, len, 0, seq));
		cr_assert_eq(zipc_record_release(c), 0);
	}
	cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), -EPIPE);
	expect_exit(pid, 0, "producer");
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_geq(st.producer_wakes, 1);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* ------------------------------------------------ timeouts, batch, recv */

TEST_REC(timeouts_and_try, 10, "timeout 0 is -EAGAIN, a short timeout -ETIMEDOUT, on both ends")
{
	zipc_record_ring *r = make_ring(256, 120, 0);
	zipc_record_producer *p = open_producer(r, ZIPC_WAIT_BLOCK);
	zipc_record_consumer *c = open_consumer(r);
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), -EAGAIN);
	cr_assert_eq(zipc_record_read(c, 2 * ZIPC_MSEC, &d, &len), -ETIMEDOUT);
	unsigned char m[120] = {0};
	cr_assert_eq(zipc_record_send(p, m, 120, 0), 0);
	cr_assert_eq(zipc_record_send(p, m, 100, 0), 0);
	cr_assert_eq(zipc_record_send(p, m, 1, 0), 0, "16 bytes left: exactly a 1-byte record");
	cr_assert_eq(zipc_record_send(p, m, 1, 0), -EAGAIN);
	cr_assert_eq(zipc_record_send(p, m, 1, 2 * ZIPC_MSEC), -ETIMEDOUT);
	cr_assert_eq(zipc_record_read(c, 0, NULL, &len), -EINVAL);
	struct zipc_record_stat st;
	struct zipc_ring_peer_stat ps[2];
	cr_assert_eq(zipc_record_ring_stat(r, &st, ps, 2), 2);
	cr_assert_geq(ps[0].timeouts, 1);
	cr_assert_geq(ps[1].timeouts, 1);
	cr_assert_eq(st.fill, 256, "full to the last byte");
	cr_assert_eq(zipc_record_ring_close(r), -EBUSY, "ends still open");
	zipc_record_producer_close(p);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

static int batch_child(void *arg)
{
	zipc_record_ring *r = arg;
	zipc_record_producer *p;
	CK(zipc_record_producer_open(r, NULL, &p) == 0);
	unsigned char m[300];
	for (uint64_t i = 0; i < 20; i++) {
		size_t len = 10 + i * 13;
		rec_fill(m, len, 0, i);
		CK(zipc_record_send(p, m, len, STEP_NS) == 0);
	}
	zipc_record_producer_close(p);
	return 0;
}

TEST_REC(batch_and_recv, 30, "read_batch returns many records in place; recv copies, -EMSGSIZE keeps the record")
{
	zipc_record_ring *r = make_ring(8192, 1000, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_consumer *c = open_consumer(r);
	expect_exit(spawn(batch_child, r), 0, "producer");
	struct zipc_record rec[8];
	cr_assert_eq(zipc_record_read_batch(c, STEP_NS, rec, 8), 8, "8 committed records in one call");
	for (uint64_t i = 0; i < 8; i++)
		cr_assert(rec[i].len == 10 + i * 13 && rec_ok(rec[i].data, rec[i].len, 0, i), "batch record %llu",
			  (unsigned long long)i);
	cr_assert_eq(zipc_record_release(c), 0);
	unsigned char buf[300];
	cr_assert_eq(zipc_record_recv(c, buf, 10 + 8 * 13 - 1, 0), -EMSGSIZE);
	cr_assert_eq(zipc_record_recv(c, buf, 10 + 8 * 13 - 1, 0), -EMSGSIZE, "nothing was consumed");
	for (uint64_t i = 8; i < 20; i++) {
		int64_t n = zipc_record_recv(c, buf, sizeof buf, STEP_NS);
		cr_assert_eq(n, (int64_t)(10 + i * 13));
		cr_assert(rec_ok(buf, (size_t)n, 0, i));
	}
	cr_assert_eq(zipc_record_read_batch(c, STEP_NS, rec, 8), -EPIPE);
	struct zipc_record_stat st;
	cr_assert_geq(zipc_record_ring_stat(r, &st, NULL, 0), 0);
	cr_assert_eq(st.records, 20);
	cr_assert_eq(st.fill, 0);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* ------------------------------------------------------------ flush */

struct flush_arg {
	zipc_record_ring *ring;
	struct chan flushed;
};

static int flush_child(void *arg)
{
	struct flush_arg *a = arg;
	zipc_record_producer *p;
	CK(zipc_record_producer_open(a->ring, NULL, &p) == 0);
	CK(zipc_record_producer_flush(p, 0) == 0); /* nothing committed yet */
	unsigned char m[50] = {1};
	for (int i = 0; i < 5; i++)
		CK(zipc_record_send(p, m, sizeof m, STEP_NS) == 0);
	CK(zipc_record_producer_flush(p, 0) == -EAGAIN);
	CK(zipc_record_producer_flush(p, STEP_NS) == 0);
	CK(chan_send(&a->flushed) == 0);
	zipc_record_producer_close(p);
	return 0;
}

TEST_REC(flush_waits_for_release, 30, "flush returns only once the consumer released what was committed")
{
	zipc_record_ring *r = make_ring(4096, 500, 0);
	zipc_record_consumer *c = open_consumer(r);
	struct flush_arg a = {.ring = r};
	chan_open(&a.flushed);
	pid_t pid = spawn(flush_child, &a);
	const void *d;
	size_t len;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(zipc_record_read(c, STEP_NS, &d, &len), 0);
	/* wait (through shared state) until the producer is waiting in flush */
	struct zipc_ring_peer_stat ps[2];
	struct zipc_record_stat st;
	int64_t deadline = zipc_now_ns() + STEP_NS;
	for (;;) {
		cr_assert_eq(zipc_record_ring_stat(r, &st, ps, 2), 2);
		if (!ps[0].is_consumer && ps[0].waits > 0)
			break;
		cr_assert_lt(zipc_now_ns(), deadline);
		sched_yield();
	}
	int fl = fcntl(a.flushed.fd[0], F_GETFL);
	cr_assert_eq(fcntl(a.flushed.fd[0], F_SETFL, fl | O_NONBLOCK), 0);
	char b;
	cr_assert_eq(read(a.flushed.fd[0], &b, 1), -1, "flush returned before the release");
	cr_assert_eq(fcntl(a.flushed.fd[0], F_SETFL, fl), 0);
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(chan_recv(&a.flushed), 0);
	expect_exit(pid, 0, "producer");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* ---------------------------------------------------- attach, validate */

static int named_child(void *arg)
{
	const char *name = arg;
	zipc_record_ring *ro, *r;
	CK(zipc_record_ring_attach(name, ZIPC_ATTACH_RDONLY, &ro) == 0);
	zipc_record_producer *p;
	CK(zipc_record_producer_open(ro, NULL, &p) == -EPERM);
	struct zipc_record_stat st;
	CK(zipc_record_ring_stat(ro, &st, NULL, 0) >= 0);
	CK(st.capacity == 4096 && st.max_record == 1000 && st.flags == ZIPC_RECORD_MULTI_PRODUCER);
	CK(zipc_record_ring_reap(ro) == -EPERM);
	CK(zipc_record_ring_close(ro) == 0);
	CK(zipc_record_ring_attach(name, 0, &r) == 0);
	zipc_ring *wrong;
	CK(zipc_ring_attach(name, 0, &wrong) == -EMEDIUMTYPE);
	CK(zipc_record_producer_open(r, NULL, &p) == 0);
	for (uint64_t seq = 0; seq < 1000; seq++) {
		size_t len = rec_len(0, seq, 1000);
		unsigned char m[1000];
		rec_fill(m, len, 0, seq);
		CK(zipc_record_send(p, m, len, STEP_NS) == 0);
	}
	zipc_record_producer_close(p);
	CK(zipc_record_ring_close(r) == 0);
	return 0;
}

TEST_REC(attach_by_name, 30, "another process attaches by name (and read-only), sends; the creator reads all")
{
	char name[64];
	struct zipc_record_opts o = ropts(4096, 1000, ZIPC_RECORD_MULTI_PRODUCER);
	o.region_flags = 0;
	zipc_record_ring *r = NULL;
	int rc = zipc_record_ring_create(zt_name(name, sizeof name, "rec"), &o, &r);
	cr_assert_eq(rc, 0, "create %s: %s", name, zipc_strerror(rc));
	zipc_record_ring *again = NULL;
	cr_assert_eq(zipc_record_ring_create(name, &o, &again), -EEXIST);
	zipc_record_consumer *c = open_consumer(r);
	pid_t pid = spawn(named_child, name);
	struct verifier v = {.producers = 1, .max = 1000};
	consume(c, &v, 1000, 8, -EPIPE);
	expect_exit(pid, 0, "attaching producer");
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}

/* Attach to @fd in another process; its result as the exit status. */
static int attach_child(void *arg)
{
	int fd = *(int *)arg;
	zipc_record_ring *r = NULL;
	int rc = zipc_record_ring_from_fd(fd, 0, &r);
	if (rc == 0)
		zipc_record_ring_close(r);
	return -rc;
}

static int attach_elsewhere(int fd)
{
	return -reap(spawn(attach_child, &fd));
}

struct craft {
	const void *bytes;
	size_t len;
};

static int craft_init(void *area, uint64_t size, void *arg)
{
	const struct craft *cr = arg;
	memcpy(area, cr->bytes, cr->len < size ? cr->len : size);
	return 0;
}

/* A region of @kind whose area is @len bytes of @bytes (size @area). */
static zipc_region *crafted(const void *bytes, size_t len, uint64_t area, uint32_t kind)
{
	struct craft cr = {bytes, len};
	struct zipc_region_opts ro;
	memset(&ro, 0, sizeof ro);
	ro.size = area;
	ro.kind = kind;
	ro.flags = ZIPC_REGION_ANONYMOUS;
	ro.init = craft_init;
	ro.init_arg = &cr;
	zipc_region *reg = NULL;
	int rc = zipc_region_create(NULL, &ro, &reg);
	cr_assert_eq(rc, 0, "crafted region: %s", zipc_strerror(rc));
	return reg;
}

TEST_REC(bad_attach, 60, "attach validates kind, magic, layout, parameters, offsets, size, each with its code")
{
	zipc_record_ring *good = make_ring(1024, 100, ZIPC_RECORD_MULTI_PRODUCER);
	const struct zipc_record_ring_hdr *gh = shared_hdr(good);
	size_t len = (size_t)gh->p.total_size;
	unsigned char *bytes = malloc(len);
	cr_assert_not_null(bytes);
	memcpy(bytes, gh, len);

	struct zipc_record_params *pp = &((struct zipc_record_ring_hdr *)(void *)bytes)->p;
	struct zipc_record_params orig = *pp;
	struct {
		const char *what;
		int rc;
	} expect[] = {
		{"untouched", 0},
		{"magic", -EBADMSG},
		{"layout", -EPROTONOSUPPORT},
		{"capacity not a power of two", -EPROTO},
		{"max_record above half", -EPROTO},
		{"max_record 0", -EPROTO},
		{"two consumers", -EPROTO},
		{"unknown flag", -EPROTO},
		{"SP with 16 producers", -EPROTO},
		{"data offset moved", -EPROTO},
		{"total size", -EPROTO},
		{"wait strategy", -EPROTO},
		{"alignment", -EPROTO},
	};
	for (unsigned i = 0; i < sizeof expect / sizeof expect[0]; i++) {
		*pp = orig;
		switch (i) {
		case 1: pp->magic ^= 1; break;
		case 2: pp->layout = 99; break;
		case 3: pp->capacity = 1000; break;
		case 4: pp->max_record = 600; break;
		case 5: pp->max_record = 0; break;
		case 6: pp->max_consumers = 2; break;
		case 7: pp->flags |= 8; break;
		case 8: pp->flags = 0; break;
		case 9: pp->data_off += ZIPC_LINE; break;
		case 10: pp->total_size -= ZIPC_LINE; break;
		case 11: pp->wait = ZIPC_WAIT_URING + 1; break;
		case 12: pp->align = 16; break;
		}
		zipc_region *reg = crafted(bytes, len, len, ZIPC_KIND_RECORD);
		int rc = attach_elsewhere(zipc_region_fd(reg));
		cr_assert_eq(rc, expect[i].rc, "%s: %d %s, expected %s", expect[i].what, rc, zipc_strerror(rc),
			     zipc_strerror(expect[i].rc));
		zipc_region_close(reg);
	}
	*pp = orig;

	/* wrong kind, both ways */
	zipc_region *raw = crafted(bytes, len, len, ZIPC_KIND_RAW);
	cr_assert_eq(attach_elsewhere(zipc_region_fd(raw)), -EMEDIUMTYPE);
	zipc_region_close(raw);
	zipc_ring *ring = NULL;
	cr_assert_eq(zipc_ring_from_fd(zipc_region_fd(zipc_record_ring_region(good)), 0, &ring), -EMEDIUMTYPE);
	struct zipc_ring_opts ro = zt_ring_opts(16, 8, ZIPC_WAIT_BLOCK);
	ro.region_flags = ZIPC_REGION_ANONYMOUS;
	cr_assert_eq(zipc_ring_create(NULL, &ro, &ring), 0);
	cr_assert_eq(attach_elsewhere(zipc_region_fd(zipc_ring_region(ring))), -EMEDIUMTYPE);
	zipc_ring_close(ring);

	/* a ring larger than the area holding it */
	zipc_record_ring *big = make_ring(1 << 16, 100, 0);
	zipc_region *small = crafted(shared_hdr(big), sizeof(struct zipc_record_ring_hdr),
				     sizeof(struct zipc_record_ring_hdr), ZIPC_KIND_RECORD);
	cr_assert_eq(attach_elsewhere(zipc_region_fd(small)), -ENODATA);
	zipc_region_close(small);
	cr_assert_eq(zipc_record_ring_close(big), 0);

	/* a fresh ring attached from another process reads as valid */
	cr_assert_eq(attach_elsewhere(zipc_region_fd(zipc_record_ring_region(good))), 0);
	free(bytes);
	cr_assert_eq(zipc_record_ring_close(good), 0);
}

/* ----------------------------------------------------------- stat, peers */

TEST_REC(stat_and_peers, 30, "stat reports geometry, positions, fill, counters and each peer")
{
	zipc_record_ring *r = make_ring(4096, 1000, ZIPC_RECORD_MULTI_PRODUCER);
	zipc_record_producer *p1 = open_producer(r, ZIPC_WAIT_SPIN);
	zipc_record_producer *p2 = open_producer(r, ZIPC_WAIT_YIELD);
	zipc_record_consumer *c = open_consumer(r);
	unsigned char m[100] = {0};
	cr_assert_eq(zipc_record_send(p1, m, 100, 0), 0);
	cr_assert_eq(zipc_record_send(p2, m, 10, 0), 0);
	struct zipc_record_stat st;
	struct zipc_ring_peer_stat ps[4];
	cr_assert_eq(zipc_record_ring_stat(r, &st, ps, 4), 3);
	cr_assert_eq(st.capacity, 4096);
	cr_assert_eq(st.max_record, 1000);
	cr_assert_eq(st.flags, ZIPC_RECORD_MULTI_PRODUCER);
	cr_assert_eq(st.max_producers, 16);
	cr_assert_eq(st.tail, 112 + 24);
	cr_assert_eq(st.head, 0);
	cr_assert_eq(st.fill, 136);
	cr_assert_eq(st.producers_active, 2);
	cr_assert_eq(st.consumers_active, 1);
	cr_assert_eq(st.numa_node, -1);
	cr_assert(!ps[0].is_consumer && ps[0].pid == getpid() && ps[0].alive && ps[0].sequence == 0);
	cr_assert(!ps[1].is_consumer && ps[1].wait == ZIPC_WAIT_YIELD && ps[1].sequence == 112);
	cr_assert(ps[2].is_consumer && ps[2].lag == 136 && ps[2].sequence == 0);
	const void *d;
	size_t len;
	cr_assert_eq(zipc_record_read(c, 0, &d, &len), 0);
	cr_assert_eq(zipc_record_release(c), 0);
	cr_assert_eq(zipc_record_ring_stat(r, &st, ps, 1), 3, "more peers than room: count, one written");
	cr_assert_eq(st.head, 112);
	cr_assert_eq(st.records, 1);
	cr_assert_eq(zipc_record_ring_reap(r), 0, "nobody died");
	zipc_record_producer_close(p1);
	zipc_record_producer_close(p2);
	zipc_record_consumer_close(c);
	cr_assert_eq(zipc_record_ring_close(r), 0);
}
