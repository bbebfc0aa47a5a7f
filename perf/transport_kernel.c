/* perf/transport_kernel.c - kernel baselines: pipe, AF_UNIX socketpair, eventfd. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "perf.h"

/*
 * Every descriptor is created by the parent before fork(); open() then
 * closes, in each process, the ones that belong to the other side only, so
 * a peer that dies shows up as end of file (pipe, socket).  eventfd has no
 * end of file: a blocked read is broken by SIGCHLD, and once the peer has
 * exited a read is only issued if something is left to read.
 */
struct kernel_state {
	int no_eof;         /* eventfd: a dead peer does not show up as end of file */
	int fd[4];          /* every descriptor created; -1 once closed in this process */
	int in[2];          /* per side: the descriptor it reads, or -1 */
	int out[2];         /* per side: the descriptor it writes, or -1 */
	unsigned char *msg; /* throughput: message composed / read into here */
};

/* Allocate the state with no descriptor yet. */
static struct kernel_state *kernel_alloc(struct perf_run *run)
{
	struct kernel_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	for (int i = 0; i < 4; i++)
		st->fd[i] = -1;
	st->in[0] = st->in[1] = st->out[0] = st->out[1] = -1;
	if (perf_kind_of(run->c->scenario) == PERF_KIND_STREAM) {
		st->msg = calloc(1, run->c->msg_bytes);
		if (!st->msg) {
			free(st);
			return NULL;
		}
	}
	run->priv = st;
	return st;
}

/* Close @fd if this process still holds it. */
static void close_fd(struct kernel_state *st, int fd)
{
	for (int i = 0; i < 4; i++) {
		if (fd >= 0 && st->fd[i] == fd) {
			close(fd);
			st->fd[i] = -1;
		}
	}
}

static void kernel_teardown(struct perf_run *run)
{
	struct kernel_state *st = run->priv;
	for (int i = 0; i < 4; i++)
		close_fd(st, st->fd[i]);
	free(st->msg);
	free(st);
	run->priv = NULL;
}

/* Wire a one-way channel from side @from to the other side. */
static void wire(struct kernel_state *st, enum perf_side from, int rd, int wr)
{
	st->out[from] = wr;
	st->in[from == PERF_PARENT ? PERF_CHILD : PERF_PARENT] = rd;
}

/* pingpong: two pipes, one per direction; throughput: one pipe child -> parent. */
static int pipe_setup(struct perf_run *run)
{
	struct kernel_state *st = kernel_alloc(run);
	if (!st)
		return -ENOMEM;
	int npipes = perf_kind_of(run->c->scenario) == PERF_KIND_RTT ? 2 : 1;
	for (int i = 0; i < npipes; i++) {
		if (pipe2(&st->fd[2 * i], O_CLOEXEC) < 0) {
			int rc = -errno;
			kernel_teardown(run);
			return rc;
		}
	}
	if (npipes == 2) {
		wire(st, PERF_PARENT, st->fd[0], st->fd[1]);
		wire(st, PERF_CHILD, st->fd[2], st->fd[3]);
	} else {
		wire(st, PERF_CHILD, st->fd[0], st->fd[1]);
	}
	return 0;
}

/* One AF_UNIX stream pair: fd[0] is the parent's end, fd[1] the child's. */
static int socketpair_setup(struct perf_run *run)
{
	struct kernel_state *st = kernel_alloc(run);
	if (!st)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st->fd) < 0) {
		int rc = -errno;
		kernel_teardown(run);
		return rc;
	}
	if (perf_kind_of(run->c->scenario) == PERF_KIND_RTT)
		wire(st, PERF_PARENT, st->fd[1], st->fd[0]);
	wire(st, PERF_CHILD, st->fd[0], st->fd[1]);
	return 0;
}

/*
 * pingpong: two counters, one per direction; the value written is the
 * message (one write in flight, so a read returns exactly it).
 * throughput: one EFD_SEMAPHORE counter used as a doorbell (see efd_send()).
 */
static int eventfd_setup(struct perf_run *run)
{
	struct kernel_state *st = kernel_alloc(run);
	if (!st)
		return -ENOMEM;
	int pingpong = perf_kind_of(run->c->scenario) == PERF_KIND_RTT;
	st->no_eof = 1;
	for (int i = 0; i < (pingpong ? 2 : 1); i++) {
		st->fd[i] = eventfd(0, EFD_CLOEXEC | (pingpong ? 0 : EFD_SEMAPHORE));
		if (st->fd[i] < 0) {
			int rc = -errno;
			kernel_teardown(run);
			return rc;
		}
	}
	if (pingpong) {
		wire(st, PERF_PARENT, st->fd[0], st->fd[0]);
		wire(st, PERF_CHILD, st->fd[1], st->fd[1]);
	} else {
		wire(st, PERF_CHILD, st->fd[0], st->fd[0]);
	}
	return 0;
}

static int kernel_open(struct perf_run *run, enum perf_side side)
{
	struct kernel_state *st = run->priv;
	for (int i = 0; i < 4; i++) {
		int fd = st->fd[i];
		if (fd != st->in[side] && fd != st->out[side])
			close_fd(st, fd);
	}
	return 0;
}

static void kernel_close(struct perf_run *run, enum perf_side side)
{
	struct kernel_state *st = run->priv;
	close_fd(st, st->in[side]);
	close_fd(st, st->out[side]);
}

/*
 * Whether to give up reading @fd: at the deadline, or once the peer has
 * exited and nothing is left to read (it may have written its last message
 * just before it exited).  Return: 0 to go on, or the code to fail with.
 */
static int must_stop(int fd)
{
	int rc = perf_stopped();
	if (rc == -EOWNERDEAD) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
	return rc;
}

/* Read exactly @len bytes.  Return: 0, -EPIPE at end of file, or -errno. */
static int read_full(const struct kernel_state *st, int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		if (st->no_eof && perf_peer_exited) {
			int rc = must_stop(fd);
			if (rc)
				return rc;
		}
		ssize_t n = read(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0) {
			return -EPIPE;
		} else if (errno != EINTR) {
			return -errno;
		} else {
			int rc = must_stop(fd);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Write exactly @len bytes.  Return: 0 or -errno (-EPIPE: the reader is gone). */
static int write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
		} else if (errno != EINTR) {
			return -errno;
		} else if (perf_timed_out) {
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* One write of the value, one read of the echo. */
static int kernel_ping(struct perf_run *run, uint64_t first, uint64_t count, int64_t *samples)
{
	struct kernel_state *st = run->priv;
	const int in = st->in[PERF_PARENT], out = st->out[PERF_PARENT];

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v = first + i + 1, echo; /* never 0: eventfd cannot carry 0 */
		int64_t t0 = perf_now_ns();
		int rc = write_full(out, &v, sizeof(v));
		if (!rc)
			rc = read_full(st, in, &echo, sizeof(echo));
		if (rc)
			return rc;
		int64_t t1 = perf_now_ns();
		if (echo != v)
			run->errors++;
		if (samples)
			samples[i] = t1 - t0;
	}
	return 0;
}

static int kernel_pong(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct kernel_state *st = run->priv;
	const int in = st->in[PERF_CHILD], out = st->out[PERF_CHILD];
	(void)first;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v;
		int rc = read_full(st, in, &v, sizeof(v));
		if (!rc)
			rc = write_full(out, &v, sizeof(v));
		if (rc)
			return rc;
	}
	return 0;
}

/* One write(2) of msg_bytes per message. */
static int stream_send(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct kernel_state *st = run->priv;
	const int out = st->out[PERF_CHILD];
	const uint32_t size = run->c->msg_bytes;

	for (uint64_t i = 0; i < count; i++) {
		perf_stamp(st->msg, first + i);
		int rc = write_full(out, st->msg, size);
		if (rc)
			return rc;
	}
	return 0;
}

/* One read(2) of msg_bytes per message (more only if the kernel returns it short). */
static int stream_recv(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct kernel_state *st = run->priv;
	const int in = st->in[PERF_PARENT];
	const uint32_t size = run->c->msg_bytes;
	uint64_t expect = first;

	for (uint64_t i = 0; i < count; i++) {
		int rc = read_full(st, in, st->msg, size);
		if (rc)
			return rc;
		perf_check(run, st->msg, &expect);
	}
	return 0;
}

/*
 * eventfd is a counter, not a message channel: throughput measures it as a
 * doorbell.  The producer rings once per message (write of 1 to an
 * EFD_SEMAPHORE counter), the consumer takes one ring per read (which
 * returns 1).  No payload, so no sequence check: an error is a read that
 * does not return 1, and a lost ring shows up as a read that never returns.
 */
static int efd_send(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct kernel_state *st = run->priv;
	const uint64_t one = 1;
	(void)first;

	for (uint64_t i = 0; i < count; i++) {
		int rc = write_full(st->out[PERF_CHILD], &one, sizeof(one));
		if (rc)
			return rc;
	}
	return 0;
}

static int efd_recv(struct perf_run *run, uint64_t first, uint64_t count)
{
	struct kernel_state *st = run->priv;
	(void)first;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t v;
		int rc = read_full(st, st->in[PERF_PARENT], &v, sizeof(v));
		if (rc)
			return rc;
		if (v != 1)
			run->errors++;
	}
	return 0;
}

const struct perf_transport perf_pipe = {
	.name = "pipe",
	.about = "pipe(2): one write(2) and one read(2) of the message per message",
	.scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT,
	.kernel = 1,
	.setup = pipe_setup,
	.open = kernel_open,
	.close = kernel_close,
	.teardown = kernel_teardown,
	.ping = kernel_ping,
	.pong = kernel_pong,
	.send = stream_send,
	.recv = stream_recv,
};

const struct perf_transport perf_socketpair = {
	.name = "socketpair",
	.about = "AF_UNIX SOCK_STREAM socketpair(2): one write(2) and one read(2) per message",
	.scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT,
	.kernel = 1,
	.setup = socketpair_setup,
	.open = kernel_open,
	.close = kernel_close,
	.teardown = kernel_teardown,
	.ping = kernel_ping,
	.pong = kernel_pong,
	.send = stream_send,
	.recv = stream_recv,
};

const struct perf_transport perf_eventfd = {
	.name = "eventfd",
	.about = "eventfd(2): pingpong carries the value; throughput: EFD_SEMAPHORE doorbell, no payload",
	.scenarios = 1u << PERF_PINGPONG | 1u << PERF_THROUGHPUT,
	.kernel = 1,
	.tp_bytes = 8,
	.setup = eventfd_setup,
	.open = kernel_open,
	.close = kernel_close,
	.teardown = kernel_teardown,
	.ping = kernel_ping,
	.pong = kernel_pong,
	.send = efd_send,
	.recv = efd_recv,
};
