/* SPDX-License-Identifier: MIT */
/*
 * tests/test_dispatch.c - clocked dispatch (zipc/dispatch.h): the original
 * crate's documented behaviour and tests rephrased (simple and shared use,
 * timestamps and clock updates to non-recipients, in-order forwarding,
 * multisend interleaving with duplicates across senders, two upstream paths
 * merged by a forwarding dispatcher, forwarding with no senders, sending
 * after a receiver closed), every closing case, the original's defects as
 * errors (bound 0, mixing send and forward, duplicate and lower sequences),
 * a slow receiver that does not block others, a random-interleaving
 * property test, and senders / dispatcher / receivers in other processes
 * (including a dispatcher process that dies).
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/dispatch.h>

#include "helpers/zt_env.h"

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_D(name, secs, desc) \
	Test(dispatch, name, .init = setup, .fini = teardown, .timeout = secs, .description = desc)

#define T (5 * ZIPC_SEC)

static zipc_dispatch *mk(uint32_t bound)
{
	char name[32];
	zipc_dispatch *d;
	struct zipc_dispatch_opts o = {.bound = bound, .max_message = 64};
	int rc = zipc_dispatch_create(zt_name(name, sizeof(name), "d"), &o, &d);
	cr_assert_eq(rc, 0, "create: %s", zipc_strerror(rc));
	return d;
}

static zipc_dispatch_receiver *rx_open(zipc_dispatch *d, const char *name)
{
	zipc_dispatch_receiver *r;
	int rc = zipc_dispatch_receiver_open(d, name, &r);
	cr_assert_eq(rc, 0, "receiver %s: %s", name, zipc_strerror(rc));
	return r;
}

static zipc_dispatch_sender *tx_open(zipc_dispatch *d, const char *name, const char *to)
{
	zipc_dispatch_sender *s;
	int rc = zipc_dispatch_sender_open(d, name, to, &s);
	cr_assert_eq(rc, 0, "sender %s: %s", name, zipc_strerror(rc));
	return s;
}

/* Receive, expecting a message with text @want (NULL: a clock update). */
static uint64_t expect_recv(zipc_dispatch_receiver *r, const char *want)
{
	char buf[64];
	struct zipc_dispatch_msg m;
	int rc = zipc_dispatch_recv(r, buf, sizeof(buf), &m, T);
	if (want) {
		cr_assert_eq(rc, 1, "want message %s, got %d (%s)", want, rc, zipc_strerror(rc));
		cr_assert_eq(m.len, strlen(want));
		cr_assert(!memcmp(buf, want, m.len), "got %.*s, want %s", (int)m.len, buf, want);
	} else {
		cr_assert_eq(rc, 0, "want a clock update, got %d (%s)", rc, zipc_strerror(rc));
		cr_assert_eq(m.len, 0);
	}
	return m.seq;
}

static void expect_rc(zipc_dispatch_receiver *r, int want, int64_t timeout)
{
	char buf[64];
	struct zipc_dispatch_msg m;
	int rc = zipc_dispatch_recv(r, buf, sizeof(buf), &m, timeout);
	cr_assert_eq(rc, want, "recv: %d (%s), want %d (seq %llu)", rc, zipc_strerror(rc), want,
		     (unsigned long long)m.seq);
}

static void sendstr(zipc_dispatch_sender *s, const char *v)
{
	int rc = zipc_dispatch_send(s, v, strlen(v), T);
	cr_assert_eq(rc, 0, "send %s: %s", v, zipc_strerror(rc));
}

static void fwd(zipc_dispatch_sender *s, const char *v, uint64_t seq)
{
	int rc = zipc_dispatch_forward(s, v, v ? strlen(v) : 0, seq, T);
	cr_assert_eq(rc, 0, "forward %s@%llu: %s", v ? v : "-", (unsigned long long)seq, zipc_strerror(rc));
}

/* ------------------------------------------------------------ basics */

TEST_D(simple, 20, "a sender/receiver pair: the message arrives with sequence 1; close gives EOS")
{
	zipc_dispatch *d = mk(1);
	zipc_dispatch_receiver *rx = rx_open(d, "arx");
	zipc_dispatch_sender *tx = tx_open(d, "atx1", "arx");
	sendstr(tx, "10");
	cr_expect_eq(expect_recv(rx, "10"), 1);
	zipc_dispatch_sender_close(tx);
	expect_rc(rx, -EPIPE, T);
	zipc_dispatch_receiver_close(rx);
	cr_expect_eq(zipc_dispatch_close(d), 0);
}

struct shared_arg {
	zipc_dispatch *d;
	int i;
};

static void *shared_send(void *p)
{
	struct shared_arg *a = p;
	char name[16], v[16];
	snprintf(name, sizeof(name), "atx%d", a->i);
	snprintf(v, sizeof(v), "%d", a->i);
	zipc_dispatch_sender *s;
	if (zipc_dispatch_sender_open(a->d, name, "arx", &s) == 0) {
		zipc_dispatch_send(s, v, strlen(v), T);
		zipc_dispatch_sender_close(s);
	}
	return NULL;
}

TEST_D(shared_usage, 20, "10 threads each open a sender to one receiver: 10 messages, then EOS")
{
	zipc_dispatch *d = mk(10);
	zipc_dispatch_receiver *rx = rx_open(d, "arx");
	zipc_dispatch_sender *tx = tx_open(d, "atx", "arx");
	pthread_t th[10];
	struct shared_arg a[10];
	for (int i = 0; i < 10; i++) {
		a[i] = (struct shared_arg){.d = d, .i = i};
		pthread_create(&th[i], NULL, shared_send, &a[i]);
	}
	for (int i = 0; i < 10; i++)
		pthread_join(th[i], NULL);
	zipc_dispatch_sender_close(tx);
	int seen[10] = {0}, n = 0;
	uint64_t last = 0;
	char buf[64];
	struct zipc_dispatch_msg m;
	int rc;
	while ((rc = zipc_dispatch_recv(rx, buf, sizeof(buf), &m, T)) >= 0) {
		if (rc == 0)
			continue;
		cr_assert_gt(m.seq, last);
		last = m.seq;
		buf[m.len] = 0;
		int j = atoi(buf);
		cr_assert(j >= 0 && j < 10 && !seen[j]);
		seen[j] = 1;
		n++;
	}
	cr_expect_eq(rc, -EPIPE);
	cr_expect_eq(n, 10);
	zipc_dispatch_receiver_close(rx);
	zipc_dispatch_close(d);
}

TEST_D(timestamps, 20, "a non-recipient learns each sequence as a clock update (the doc's example)")
{
	zipc_dispatch *d = mk(10);
	zipc_dispatch_receiver *rx_a = rx_open(d, "a"), *rx_b = rx_open(d, "b");
	zipc_dispatch_sender *tx_a = tx_open(d, "atx1", "a"), *tx_b = tx_open(d, "btx1", "b");
	sendstr(tx_a, "a1");
	uint64_t x = expect_recv(rx_a, "a1");
	cr_expect_eq(expect_recv(rx_b, NULL), x);
	sendstr(tx_a, "a2");
	sendstr(tx_a, "a3");
	uint64_t a1 = expect_recv(rx_a, "a2");
	uint64_t a2 = expect_recv(rx_a, "a3");
	cr_expect_gt(a2, a1);
	uint64_t b = expect_recv(rx_b, NULL);
	cr_expect(b == a1 || b == a2, "b saw %llu", (unsigned long long)b);
	cr_expect_eq(zipc_dispatch_clock(rx_b), b);
	/* nothing new: a zero timeout says so */
	if (b == a2)
		expect_rc(rx_b, -EAGAIN, 0);
	zipc_dispatch_sender_close(tx_a);
	zipc_dispatch_sender_close(tx_b);
	expect_rc(rx_a, -EPIPE, T);
	zipc_dispatch_receiver_close(rx_a);
	zipc_dispatch_receiver_close(rx_b);
	zipc_dispatch_close(d);
}

TEST_D(slow_receiver_does_not_block, 30, "a full receiver that never reads holds back only its own sender")
{
	zipc_dispatch *d = mk(2);
	zipc_dispatch_receiver *ra = rx_open(d, "a"), *rb = rx_open(d, "slow");
	zipc_dispatch_sender *ta = tx_open(d, "ta", "a"), *tb = tx_open(d, "tb", "slow");
	/* fill the slow path: 2 in its receiver ring, 2 in its sender ring */
	int sent_b = 0;
	while (zipc_dispatch_send(tb, "b", 1, 50 * ZIPC_MSEC) == 0)
		sent_b++;
	cr_expect_geq(sent_b, 4, "sent %d to the slow receiver", sent_b);
	cr_expect_eq(zipc_dispatch_send(tb, "b", 1, 0), -EAGAIN);
	/* the independent path keeps flowing, and its sequences skip none of
	 * the slow path's, which were dispatched before */
	uint64_t last = 0;
	for (int i = 0; i < 2000; i++) {
		cr_assert_eq(zipc_dispatch_send(ta, "a", 1, T), 0);
		char buf[8];
		struct zipc_dispatch_msg m;
		int rc;
		while ((rc = zipc_dispatch_recv(ra, buf, sizeof(buf), &m, T)) == 0)
			;
		cr_assert_eq(rc, 1, "%s", zipc_strerror(rc));
		cr_assert_gt(m.seq, last);
		last = m.seq;
	}
	/* the slow receiver's clock moved with everybody's messages */
	uint64_t c = 0;
	char buf[8];
	struct zipc_dispatch_msg m;
	int got = 0, rc;
	while ((rc = zipc_dispatch_recv(rb, buf, sizeof(buf), &m, T)) >= 0) {
		/* a message tells the clock as well as a clock update does:
		 * the slow path's queued messages are dispatched after the
		 * fast path's, so their sequences come later */
		if (rc == 1)
			got++;
		if (m.seq > c)
			c = m.seq;
		if (got == sent_b && c >= last)
			break;
	}
	cr_expect_eq(got, sent_b);
	cr_expect_geq(c, last);
	zipc_dispatch_sender_close(ta);
	zipc_dispatch_sender_close(tb);
	zipc_dispatch_receiver_close(ra);
	zipc_dispatch_receiver_close(rb);
	zipc_dispatch_close(d);
}

/* ------------------------------------------------------------ forward */

TEST_D(forward_in_order, 20, "a forwarded message waits until every sender's clock reached it")
{
	zipc_dispatch *d = mk(10);
	zipc_dispatch_receiver *rx = rx_open(d, "a");
	zipc_dispatch_sender *tx1 = tx_open(d, "tx1", "a"), *tx2 = tx_open(d, "tx2", "a");
	fwd(tx1, "a1", 1);
	/* wait (bounded) until the dispatcher took it: tx1's counter */
	struct zipc_dispatch_end_stat es[4];
	for (int i = 0; i < 2000; i++) {
		char b[8];
		struct zipc_dispatch_msg m;
		cr_assert_eq(zipc_dispatch_recv(rx, b, sizeof(b), &m, ZIPC_MSEC), -ETIMEDOUT);
		if (zipc_dispatch_stat(zipc_dispatch_region(d), NULL, es, 4) >= 0 && i > 20)
			break;
	}
	fwd(tx2, NULL, 1);
	cr_expect_eq(expect_recv(rx, "a1"), 1);
	zipc_dispatch_sender_close(tx1);
	zipc_dispatch_sender_close(tx2);
	expect_rc(rx, -EPIPE, T);
	zipc_dispatch_receiver_close(rx);
	zipc_dispatch_close(d);
}

struct il {
	zipc_dispatch_sender *s;
	const char *v[5];
	uint64_t ts[5];
};

static void *il_run(void *p)
{
	struct il *a = p;
	for (int i = 0; i < 5; i++)
		zipc_dispatch_forward(a->s, a->v[i], a->v[i] ? strlen(a->v[i]) : 0, a->ts[i], T);
	return NULL;
}

TEST_D(multisend_interleaving, 60, "two threads forward interleaved sequences (duplicates across senders)")
{
	for (int rep = 0; rep < 30; rep++) {
		zipc_dispatch *d = mk(20);
		zipc_dispatch_receiver *rx = rx_open(d, "rx");
		zipc_dispatch_sender *ta = tx_open(d, "tx_a", "rx"), *tb = tx_open(d, "tx_b", "rx");
		struct il a = {ta, {"c_1", NULL, "c_3", "a_1", "a_2"}, {1, 2, 3, 5, 6}};
		struct il b = {tb, {"c_1", "c_2", NULL, "b_1", NULL}, {1, 2, 3, 4, 6}};
		pthread_t t1, t2;
		pthread_create(&t1, NULL, il_run, &a);
		pthread_create(&t2, NULL, il_run, &b);
		const char *want[] = {"c_1", "c_1", "c_2", "c_3", "b_1", "a_1"};
		uint64_t wts[] = {1, 1, 2, 3, 4, 5};
		for (int i = 0; i < 6; i++) {
			char buf[16];
			struct zipc_dispatch_msg m;
			int rc;
			while ((rc = zipc_dispatch_recv(rx, buf, sizeof(buf), &m, T)) == 0)
				cr_assert_lt(m.seq, wts[i], "clock %llu ahead of pending %llu", (unsigned long long)m.seq,
					     (unsigned long long)wts[i]);
			cr_assert_eq(rc, 1, "rep %d msg %d: %s", rep, i, zipc_strerror(rc));
			cr_assert_eq(m.seq, wts[i]);
			cr_assert(m.len == strlen(want[i]) && !memcmp(buf, want[i], m.len), "rep %d msg %d: %.*s", rep,
				  i, (int)m.len, buf);
		}
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		/* a_2 at 6 is released once both are at 6 */
		uint64_t s = expect_recv(rx, "a_2");
		cr_expect_eq(s, 6);
		zipc_dispatch_sender_close(ta);
		zipc_dispatch_sender_close(tb);
		expect_rc(rx, -EPIPE, T);
		zipc_dispatch_receiver_close(rx);
		zipc_dispatch_close(d);
	}
}

TEST_D(forward_with_no_senders, 20, "senders closing release held messages; others get the final clock, then EOS")
{
	zipc_dispatch *d = mk(1);
	zipc_dispatch_receiver *rx_a = rx_open(d, "arx"), *rx_b = rx_open(d, "brx");
	zipc_dispatch_sender *tx_a = tx_open(d, "atx", "arx"), *tx_b = tx_open(d, "btx", "brx");
	fwd(tx_a, "1", 1); /* held: tx_b has not reached 1 */
	zipc_dispatch_sender_close(tx_a);
	zipc_dispatch_sender_close(tx_b);
	cr_expect_eq(expect_recv(rx_a, "1"), 1);
	cr_expect_eq(expect_recv(rx_b, NULL), 1);
	expect_rc(rx_a, -EPIPE, T);
	expect_rc(rx_b, -EPIPE, T);
	zipc_dispatch_receiver_close(rx_a);
	zipc_dispatch_receiver_close(rx_b);
	zipc_dispatch_close(d);
}

/* Two upstream paths merged: top dispatcher -> relays -> forwarding dispatcher. */
struct relay {
	zipc_dispatch_receiver *in;
	zipc_dispatch_sender *out;
	int drop_mod; /* forward messages whose seq % drop_mod == 0 as clock only (0: none) */
};

static void *relay_run(void *p)
{
	struct relay *r = p;
	char buf[64];
	struct zipc_dispatch_msg m;
	int rc;
	while ((rc = zipc_dispatch_recv(r->in, buf, sizeof(buf), &m, 20 * ZIPC_SEC)) >= 0) {
		int data = rc == 1 && !(r->drop_mod && m.seq % (uint64_t)r->drop_mod == 0);
		if (zipc_dispatch_forward(r->out, data ? buf : NULL, data ? m.len : 0, m.seq, 20 * ZIPC_SEC))
			break;
	}
	zipc_dispatch_sender_close(r->out);
	return NULL;
}

struct feed {
	zipc_dispatch_sender *s;
	const char *v;
};

static void *feed_run(void *p)
{
	struct feed *f = p;
	for (int i = 0; i < 100; i++)
		if (zipc_dispatch_send(f->s, f->v, 2, 20 * ZIPC_SEC))
			break;
	zipc_dispatch_sender_close(f->s);
	return NULL;
}

static void fused(int lossy)
{
	zipc_dispatch *top = mk(20), *f = mk(20);
	zipc_dispatch_receiver *ra = rx_open(top, "rx_a"), *rb = rx_open(top, "rx_b");
	zipc_dispatch_sender *a_in = tx_open(top, "a_in", "rx_a"), *b_in = tx_open(top, "b_in", "rx_b");
	zipc_dispatch_receiver *c = rx_open(f, "c");
	struct relay r1 = {ra, tx_open(f, "from_a", "c"), lossy ? 2 : 0};
	struct relay r2 = {rb, tx_open(f, "from_b", "c"), lossy ? 3 : 0};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, relay_run, &r1);
	pthread_create(&t2, NULL, relay_run, &r2);
	struct feed fa = {a_in, "ax"}, fb = {b_in, "bx"};
	pthread_t t3, t4;
	pthread_create(&t3, NULL, feed_run, &fa);
	pthread_create(&t4, NULL, feed_run, &fb);
	uint64_t old = 0;
	int n = 0, rc;
	char buf[64];
	struct zipc_dispatch_msg m;
	while ((rc = zipc_dispatch_recv(c, buf, sizeof(buf), &m, 20 * ZIPC_SEC)) >= 0) {
		if (rc == 0) {
			cr_assert_geq(m.seq, old, "clock went back: %llu < %llu", (unsigned long long)m.seq,
				      (unsigned long long)old);
			old = m.seq;
			continue;
		}
		cr_assert_gt(m.seq, old, "out of order: %llu after %llu", (unsigned long long)m.seq,
			     (unsigned long long)old);
		old = m.seq;
		/* path a forwards seq % 2 == 0 as clock only, path b seq % 3 == 0 */
		if (lossy)
			cr_assert(!memcmp(buf, "ax", 2) ? m.seq % 2 != 0 : m.seq % 3 != 0, "dropped seq %llu arrived",
				  (unsigned long long)m.seq);
		n++;
	}
	cr_expect_eq(rc, -EPIPE, "end: %s", zipc_strerror(rc));
	if (lossy)
		cr_expect(n > 0 && n < 200, "%d arrived", n);
	else
		cr_expect_eq(n, 200);
	pthread_join(t3, NULL);
	pthread_join(t4, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	zipc_dispatch_receiver_close(ra);
	zipc_dispatch_receiver_close(rb);
	zipc_dispatch_receiver_close(c);
	zipc_dispatch_close(top);
	zipc_dispatch_close(f);
}

TEST_D(forward_two_upstream_paths, 40, "deep fuse: two forwarding paths merged in sequence order (busy)")
{
	fused(0);
}

TEST_D(forward_two_upstream_lossy, 40, "deep fuse, lossy: paths forward some messages as clock updates only")
{
	fused(1);
}

/* ------------------------------------------------------------ closing */

TEST_D(close_cases, 30, "sender close -> EOS after drain; receiver close -> its senders get -EPIPE; others go on")
{
	zipc_dispatch *d = mk(4);
	zipc_dispatch_receiver *ra = rx_open(d, "arx"), *rb = rx_open(d, "brx");
	zipc_dispatch_sender *ta = tx_open(d, "atx", "arx"), *tb = tx_open(d, "btx", "brx");
	zipc_dispatch_sender *ta2 = tx_open(d, "atx2", "arx");
	/* names are unique; targets must exist */
	zipc_dispatch_sender *x;
	zipc_dispatch_receiver *y;
	cr_expect_eq(zipc_dispatch_sender_open(d, "atx", "arx", &x), -EEXIST);
	cr_expect_eq(zipc_dispatch_sender_open(d, "ztx", "nobody", &x), -ENOENT);
	cr_expect_eq(zipc_dispatch_receiver_open(d, "arx", &y), -EEXIST);
	/* the receiver leaves: sends to it fail, the other channel works (can_send_after_recv_drop) */
	zipc_dispatch_receiver_close(ra);
	int rc = 0;
	for (int i = 0; i < 100000 && rc == 0; i++)
		rc = zipc_dispatch_send(ta, "a", 1, T);
	cr_expect_eq(rc, -EPIPE);
	sendstr(tb, "10");
	expect_recv(rb, "10");
	zipc_dispatch_sender_close(ta);
	zipc_dispatch_sender_close(ta2);
	/* two buffered messages, then the last sender leaves: both arrive, then EOS */
	sendstr(tb, "b1");
	sendstr(tb, "b2");
	zipc_dispatch_sender_close(tb);
	expect_recv(rb, "b1");
	expect_recv(rb, "b2");
	expect_rc(rb, -EPIPE, T);
	/* end of stream is final: no new sender for it */
	cr_expect_eq(zipc_dispatch_sender_open(d, "late", "brx", &x), -EPIPE);
	zipc_dispatch_receiver_close(rb);
	cr_expect_eq(zipc_dispatch_close(d), 0);
}

TEST_D(dispatcher_close, 20, "closing the dispatcher: receivers drain then -EPIPE, senders -EPIPE; -EBUSY first")
{
	char name[32];
	zt_name(name, sizeof(name), "dc");
	zipc_dispatch *d, *h;
	struct zipc_dispatch_opts o = {.bound = 8};
	cr_assert_eq(zipc_dispatch_create(name, &o, &d), 0);
	cr_assert_eq(zipc_dispatch_attach(name, &h), 0);
	zipc_dispatch_receiver *r = rx_open(h, "r");
	zipc_dispatch_sender *s = tx_open(h, "s", "r");
	sendstr(s, "x");
	expect_recv(r, "x");
	cr_expect_eq(zipc_dispatch_close(h), -EBUSY);
	cr_expect_eq(zipc_dispatch_close(d), 0); /* stops the thread */
	expect_rc(r, -EPIPE, T);
	cr_expect_eq(zipc_dispatch_send(s, "y", 1, 0), -EPIPE);
	cr_expect_eq(zipc_dispatch_sender_open(h, "s2", "r", &s), -EPIPE);
	zipc_dispatch_sender_close(s);
	zipc_dispatch_receiver_close(r);
	cr_expect_eq(zipc_dispatch_close(h), 0);
}

/* ----------------------------------------------- the original's defects */

TEST_D(defects_are_errors, 30, "bound 0, mixing send/forward, duplicate and lower sequences: errors, service goes on")
{
	zipc_dispatch *d;
	struct zipc_dispatch_opts o = {.bound = 0};
	cr_expect_eq(zipc_dispatch_create("zero", &o, &d), -EINVAL);
	d = mk(4);
	zipc_dispatch_receiver *rx = rx_open(d, "rx"), *ro = rx_open(d, "other");
	zipc_dispatch_sender *t1 = tx_open(d, "t1", "rx"), *t2 = tx_open(d, "t2", "rx");
	zipc_dispatch_sender *to = tx_open(d, "to", "other");
	fwd(t1, "m5", 5);
	cr_expect_eq(zipc_dispatch_forward(t1, "dup", 3, 5, T), -EEXIST);
	cr_expect_eq(zipc_dispatch_forward(t1, "low", 3, 4, T), -EINVAL);
	cr_expect_eq(zipc_dispatch_forward(t1, "zero", 4, 0, T), -EINVAL);
	cr_expect_eq(zipc_dispatch_send(t2, "s", 1, T), -EPERM); /* this dispatcher forwards */
	char big[100] = {0};
	cr_expect_eq(zipc_dispatch_forward(t2, big, 65, 9, T), -EMSGSIZE);
	fwd(t2, "m5b", 5); /* the same sequence from another sender is fine */
	fwd(to, NULL, 7);
	fwd(t1, NULL, 8);
	fwd(t2, NULL, 8);
	expect_recv(rx, "m5");
	expect_recv(rx, "m5b");
	cr_expect_eq(expect_recv(rx, NULL), 7); /* "to" is the slowest: W = 7 */
	cr_expect_eq(expect_recv(ro, NULL), 7);
	zipc_dispatch_sender_close(t1);
	zipc_dispatch_sender_close(t2);
	zipc_dispatch_sender_close(to);
	zipc_dispatch_receiver_close(rx);
	zipc_dispatch_receiver_close(ro);
	zipc_dispatch_close(d);
	/* a serializing dispatcher refuses forward */
	d = mk(4);
	rx = rx_open(d, "rx");
	t1 = tx_open(d, "t1", "rx");
	sendstr(t1, "s");
	cr_expect_eq(zipc_dispatch_forward(t1, "f", 1, 10, T), -EPERM);
	sendstr(t1, "s2");
	expect_recv(rx, "s");
	expect_recv(rx, "s2");
	zipc_dispatch_sender_close(t1);
	zipc_dispatch_receiver_close(rx);
	zipc_dispatch_close(d);
}

/* ------------------------------------------------------ property test */

struct prop_tx {
	zipc_dispatch *d;
	int idx;
	unsigned seed;
	int target;
	int count;
};

static void *prop_send(void *p)
{
	struct prop_tx *a = p;
	char name[16], to[16];
	snprintf(name, sizeof(name), "t%d", a->idx);
	snprintf(to, sizeof(to), "r%d", a->target);
	zipc_dispatch_sender *s;
	if (zipc_dispatch_sender_open(a->d, name, to, &s))
		return (void *)1;
	for (int i = 0; i < a->count; i++) {
		uint32_t v[2] = {(uint32_t)a->idx, (uint32_t)i};
		if (zipc_dispatch_send(s, v, sizeof(v), 20 * ZIPC_SEC))
			return (void *)2;
		if (rand_r(&a->seed) % 8 == 0)
			sched_yield();
	}
	zipc_dispatch_sender_close(s);
	return NULL;
}

struct prop_rx {
	zipc_dispatch_receiver *r;
	unsigned seed;
	int got;
	int bad;
	int next[8];
};

static void *prop_recv(void *p)
{
	struct prop_rx *a = p;
	uint64_t clock = 0, last = 0;
	char buf[64];
	struct zipc_dispatch_msg m;
	int rc;
	while ((rc = zipc_dispatch_recv(a->r, buf, sizeof(buf), &m, 20 * ZIPC_SEC)) >= 0) {
		if (rc == 0) {
			if (m.seq < clock || m.seq < last)
				a->bad++; /* the clock never goes back, nor below a message seen */
			clock = m.seq;
			continue;
		}
		uint32_t v[2];
		memcpy(v, buf, sizeof(v));
		if (m.seq <= last || m.seq <= clock || v[0] >= 8 || (int)v[1] != a->next[v[0]]++)
			a->bad++; /* sequence order, after any clock, FIFO per sender */
		last = m.seq;
		a->got++;
		if (rand_r(&a->seed) % 16 == 0)
			sched_yield();
	}
	if (rc != -EPIPE)
		a->bad += 1000;
	return NULL;
}

TEST_D(property_random_interleavings, 60, "random senders/receivers: sequence order, monotonic clocks, no loss")
{
	unsigned seed = (unsigned)getpid();
	for (int run = 0; run < 6; run++) {
		zipc_dispatch *d = mk(1 + rand_r(&seed) % 8);
		int R = 1 + rand_r(&seed) % 3, S = 1 + rand_r(&seed) % 6;
		struct prop_rx rx[3];
		memset(rx, 0, sizeof(rx));
		char name[16];
		for (int j = 0; j < R; j++) {
			snprintf(name, sizeof(name), "r%d", j);
			rx[j].r = rx_open(d, name);
			rx[j].seed = seed + (unsigned)j;
		}
		/* a keeper sender per receiver, closed last, so no receiver
		 * reaches end of stream before every sender thread opened */
		zipc_dispatch_sender *keep[3];
		for (int j = 0; j < R; j++) {
			char kn[16];
			snprintf(kn, sizeof(kn), "k%d", j);
			snprintf(name, sizeof(name), "r%d", j);
			keep[j] = tx_open(d, kn, name);
		}
		struct prop_tx tx[6];
		int want[3] = {0};
		for (int i = 0; i < S; i++) {
			tx[i] = (struct prop_tx){.d = d, .idx = i, .seed = seed + 100 + (unsigned)i,
						 .target = rand_r(&seed) % R, .count = 1 + rand_r(&seed) % 2000};
			want[tx[i].target] += tx[i].count;
		}
		pthread_t ts[6], tr[3];
		for (int j = 0; j < R; j++)
			pthread_create(&tr[j], NULL, prop_recv, &rx[j]);
		for (int i = 0; i < S; i++)
			pthread_create(&ts[i], NULL, prop_send, &tx[i]);
		for (int i = 0; i < S; i++) {
			void *ret;
			pthread_join(ts[i], &ret);
			cr_expect_null(ret, "sender %d failed: %p", i, ret);
		}
		for (int j = 0; j < R; j++)
			zipc_dispatch_sender_close(keep[j]);
		for (int j = 0; j < R; j++) {
			pthread_join(tr[j], NULL);
			cr_expect_eq(rx[j].bad, 0, "run %d receiver %d: %d violations", run, j, rx[j].bad);
			cr_expect_eq(rx[j].got, want[j], "run %d receiver %d: got %d of %d", run, j, rx[j].got, want[j]);
			zipc_dispatch_receiver_close(rx[j].r);
		}
		struct zipc_dispatch_stat st;
		zipc_dispatch_stat(zipc_dispatch_region(d), &st, NULL, 0);
		uint64_t total = 0;
		for (int j = 0; j < R; j++)
			total += (uint64_t)rx[j].got;
		cr_expect_eq(st.delivered, total);
		zipc_dispatch_close(d);
	}
}

/* ------------------------------------------------------ across processes */

static int wait_child(pid_t pid, int secs)
{
	for (int i = 0; i < secs * 1000; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

TEST_D(cross_process, 60, "senders in two child processes, dispatcher and receiver here: order, EOS, stat")
{
	char name[32];
	zt_name(name, sizeof(name), "dx");
	zipc_dispatch *d;
	struct zipc_dispatch_opts o = {.bound = 16};
	cr_assert_eq(zipc_dispatch_create(name, &o, &d), 0);
	zipc_dispatch_receiver *rx = rx_open(d, "rx");
	zipc_dispatch_sender *hold = tx_open(d, "hold", "rx"); /* keeps rx open until both started */
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		cr_assert_geq(kids[k], 0);
		if (kids[k] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			zipc_dispatch *h;
			zipc_dispatch_sender *s;
			char sn[16];
			snprintf(sn, sizeof(sn), "p%d", k);
			int rc = zipc_dispatch_attach(name, &h);
			if (!rc)
				rc = zipc_dispatch_sender_open(h, sn, "rx", &s);
			for (uint32_t i = 0; !rc && i < 3000; i++) {
				uint32_t v[2] = {(uint32_t)k, i};
				rc = zipc_dispatch_send(s, v, sizeof(v), 10 * ZIPC_SEC);
			}
			if (!rc) {
				zipc_dispatch_sender_close(s);
				rc = zipc_dispatch_close(h);
			}
			_exit(rc ? (-rc & 0xff) : 0);
		}
	}
	uint32_t next[2] = {0, 0};
	uint64_t last = 0;
	int got = 0, rc;
	char buf[64];
	struct zipc_dispatch_msg m;
	while ((rc = zipc_dispatch_recv(rx, buf, sizeof(buf), &m, 20 * ZIPC_SEC)) >= 0) {
		if (rc == 0)
			continue;
		uint32_t v[2];
		memcpy(v, buf, sizeof(v));
		cr_assert_lt(v[0], 2);
		cr_assert_eq(v[1], next[v[0]]++, "FIFO per sender");
		cr_assert_gt(m.seq, last);
		last = m.seq;
		if (++got == 6000)
			zipc_dispatch_sender_close(hold);
	}
	cr_expect_eq(rc, -EPIPE, "%s", zipc_strerror(rc));
	cr_expect_eq(got, 6000);
	cr_expect_eq(wait_child(kids[0], 20), 0);
	cr_expect_eq(wait_child(kids[1], 20), 0);
	struct zipc_dispatch_stat st;
	struct zipc_dispatch_end_stat es[4];
	int n = 0;
	for (int i = 0; i < 2000; i++) { /* slots are freed by the dispatcher thread */
		n = zipc_dispatch_stat(zipc_dispatch_region(d), &st, es, 4);
		if (n == 1)
			break;
		usleep(1000);
	}
	cr_expect_eq(n, 1, "ends %d: %d/%u/%u %d/%u/%u", n, es[0].is_receiver, es[0].index, es[0].state, es[1].is_receiver, es[1].index, es[1].state); /* only rx left */
	cr_expect_eq(st.delivered, 6000);
	cr_expect_eq(st.mode, 1);
	cr_expect_eq(st.clock, 6000);
	cr_expect_eq(es[0].is_receiver, 1);
	cr_expect_eq(es[0].msgs, 6000);
	zipc_dispatch_receiver_close(rx);
	zipc_dispatch_close(d);
}

TEST_D(dispatcher_process_dies, 30, "the dispatcher's process is killed: a waiting receiver gets -EOWNERDEAD")
{
	char name[32];
	zt_name(name, sizeof(name), "dk");
	int go[2];
	cr_assert_eq(pipe(go), 0);
	pid_t kid = fork();
	cr_assert_geq(kid, 0);
	if (kid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[0]);
		zipc_dispatch *d;
		struct zipc_dispatch_opts o = {.bound = 4};
		if (zipc_dispatch_create(name, &o, &d))
			_exit(1);
		if (write(go[1], "x", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(go[1]);
	char c;
	cr_assert_eq(read(go[0], &c, 1), 1);
	close(go[0]);
	zipc_dispatch *h;
	cr_assert_eq(zipc_dispatch_attach(name, &h), 0);
	zipc_dispatch_receiver *r = rx_open(h, "r");
	zipc_dispatch_sender *s = tx_open(h, "s", "r");
	sendstr(s, "before");
	expect_recv(r, "before");
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	int64_t t0 = zipc_now_ns();
	expect_rc(r, -EOWNERDEAD, 10 * ZIPC_SEC);
	cr_expect_lt(zipc_now_ns() - t0, 2 * ZIPC_SEC);
	/* a sender fills its ring, then learns it too */
	int rc = 0;
	for (int i = 0; i < 100 && rc == 0; i++)
		rc = zipc_dispatch_send(s, "x", 1, ZIPC_SEC);
	cr_expect_eq(rc, -EOWNERDEAD, "%s", zipc_strerror(rc));
	zipc_dispatch_sender_close(s);
	zipc_dispatch_receiver_close(r);
	zipc_dispatch_close(h);
}
