/* examples/pool_randoms.c - the sample of messaging_thread_pool on zipc: 1000
 * items, each holding 10000 random numbers, on a pool of 10 threads; sum and
 * mean requests to all of them; remove item 1; add item 1000.
 *
 *   pool_randoms                one process: the pool and its caller
 *   pool_randoms cross          two processes: a forked server hosts the pool
 *                               as "randoms", this process is its client
 *   pool_randoms serve [NAME]   host the pool under NAME (default "randoms")
 *                               until stdin closes or Ctrl-C
 *   pool_randoms client [NAME]  run the sample against a served pool
 *
 * An item lives on thread id % 10 for its whole life; requests and
 * responses are plain bytes (here: a u128 as two u64, low word first).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/pool.h>

#define ITEMS 1000
#define THREADS 10
#define NUMBERS 10000

enum { KIND_SUM = 1, KIND_MEAN = 2 };

typedef unsigned __int128 u128;

/* ---------------------------------------------------------- the item */

struct randoms {
	uint64_t id;
	uint64_t numbers[NUMBERS];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256+ seeded from the id through SplitMix64, as the original's
 * Xoshiro256Plus::seed_from_u64(id) */
static void fill(struct randoms *r)
{
	uint64_t seed = r->id, s[4];
	for (int i = 0; i < 4; i++)
		s[i] = splitmix64(&seed);
	for (int i = 0; i < NUMBERS; i++) {
		r->numbers[i] = s[0] + s[3];
		uint64_t t = s[1] << 17;
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = rotl(s[3], 45);
	}
}

static u128 sum(const struct randoms *r)
{
	u128 t = 0;
	for (int i = 0; i < NUMBERS; i++)
		t += r->numbers[i];
	return t;
}

static void put_u128(struct zipc_pool_reply *rep, u128 v)
{
	uint64_t w[2] = {(uint64_t)v, (uint64_t)(v >> 64)};
	memcpy(rep->data, w, sizeof(w));
	rep->len = sizeof(w);
}

static u128 get_u128(const struct zipc_pool_rsp *rsp)
{
	uint64_t w[2] = {0, 0};
	if (rsp->len == sizeof(w))
		memcpy(w, rsp->data, sizeof(w));
	return (u128)w[1] << 64 | w[0];
}

/* Runs on the item's own thread: no locking anywhere in the item. */
static int randoms_construct(void *ctx, const struct zipc_pool_req_info *req, void **state,
			     struct zipc_pool_reply *rep)
{
	(void)ctx;
	(void)rep;
	struct randoms *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM; /* the caller receives this code */
	r->id = req->id;
	fill(r);
	*state = r;
	return 0;
}

static int randoms_process(void *ctx, void *state, const struct zipc_pool_req_info *req, struct zipc_pool_reply *rep)
{
	(void)ctx;
	const struct randoms *r = state;
	switch (req->kind) {
	case KIND_SUM:
		put_u128(rep, sum(r));
		return 0;
	case KIND_MEAN:
		put_u128(rep, sum(r) / NUMBERS);
		return 0;
	default:
		return -ENOSYS;
	}
}

static void randoms_destroy(void *ctx, void *state, uint64_t id, unsigned thread)
{
	(void)ctx;
	(void)id;
	(void)thread;
	free(state);
}

static const struct zipc_pool_item_ops randoms_ops = {randoms_construct, randoms_process, randoms_destroy, NULL};

/* ---------------------------------------------------------- the caller */

static const char *u128_str(u128 v, char *buf, size_t cap)
{
	char tmp[48];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v && n < 47);
	for (int i = 0; i < n && (size_t)i + 1 < cap; i++)
		buf[i] = tmp[n - 1 - i];
	buf[(size_t)n < cap ? n : (int)cap - 1] = '\0';
	return buf;
}

/* A response status in the pool's terms. */
static const char *status_str(int st)
{
	switch (st) {
	case 0: return "ok";
	case -ENOENT: return "-ENOENT: no item with that id";
	case -EEXIST: return "-EEXIST: an item with that id exists";
	case -ESHUTDOWN: return "-ESHUTDOWN: the pool is shutting down";
	default: return zipc_strerror(st);
	}
}

/* One request of @kind to each of ids [0, n): one batch. */
static int batch(zipc_pool_client *c, uint32_t kind, struct zipc_pool_req *reqs, struct zipc_pool_rsp *rsps, int n)
{
	for (int i = 0; i < n; i++)
		reqs[i] = (struct zipc_pool_req){.id = (uint64_t)i, .kind = kind};
	int rc = zipc_pool_send_and_receive(c, reqs, rsps, (size_t)n, ZIPC_FOREVER);
	if (rc)
		fprintf(stderr, "batch: %s\n", zipc_strerror(rc));
	return rc;
}

static int run_sample(zipc_pool_client *c)
{
	static struct zipc_pool_req reqs[ITEMS];
	static struct zipc_pool_rsp rsps[ITEMS];
	char b1[48], b2[48];

	/* create 1000 Randoms: distributed over the threads by id % 10 */
	int64_t t0 = zipc_now_ns();
	if (batch(c, ZIPC_POOL_ADD, reqs, rsps, ITEMS))
		return 1;
	for (int i = 0; i < ITEMS; i++)
		if (rsps[i].status) {
			fprintf(stderr, "add %d: %s\n", i, status_str(rsps[i].status));
			return 1;
		}
	printf("added %d items on %u threads in %.1f ms\n", ITEMS, zipc_pool_client_threads(c),
	       (double)(zipc_now_ns() - t0) / 1e6);

	/* the sum of every item's numbers; responses come back in request order */
	t0 = zipc_now_ns();
	if (batch(c, KIND_SUM, reqs, rsps, ITEMS))
		return 1;
	u128 total = 0;
	for (int i = 0; i < ITEMS; i++)
		total += get_u128(&rsps[i]);
	struct randoms *check = malloc(sizeof(*check));
	if (!check)
		return 1;
	check->id = 0;
	fill(check);
	int ok = get_u128(&rsps[0]) == sum(check);
	free(check);
	printf("sums:  %d responses in %.1f ms, total %s, item 0 %s (%s)\n", ITEMS, (double)(zipc_now_ns() - t0) / 1e6,
	       u128_str(total, b1, sizeof(b1)), u128_str(get_u128(&rsps[0]), b2, sizeof(b2)),
	       ok ? "matches a local computation" : "WRONG");
	if (!ok)
		return 1;

	/* the mean of every item's numbers */
	if (batch(c, KIND_MEAN, reqs, rsps, ITEMS))
		return 1;
	u128 means = 0;
	for (int i = 0; i < ITEMS; i++)
		means += get_u128(&rsps[i]);
	printf("means: mean of the means %s\n", u128_str(means / ITEMS, b1, sizeof(b1)));

	/* remove item 1: destroyed on its own thread */
	struct zipc_pool_req r = {.id = 1, .kind = ZIPC_POOL_REMOVE};
	struct zipc_pool_rsp s;
	int rc = zipc_pool_call(c, &r, &s, ZIPC_FOREVER);
	printf("remove 1: %s\n", status_str(rc ? rc : s.status));
	/* a request to it is now an error response, and the pool keeps serving */
	r = (struct zipc_pool_req){.id = 1, .kind = KIND_SUM};
	rc = zipc_pool_call(c, &r, &s, ZIPC_FOREVER);
	printf("sum of 1 after its removal: %s\n", status_str(rc ? rc : s.status));
	if (rc || s.status != -ENOENT)
		return 1;

	/* add item 1000 (on thread 0) and ask it for its mean */
	r = (struct zipc_pool_req){.id = 1000, .kind = ZIPC_POOL_ADD};
	rc = zipc_pool_call(c, &r, &s, ZIPC_FOREVER);
	printf("add 1000: %s\n", status_str(rc ? rc : s.status));
	if (rc || s.status)
		return 1;
	r.kind = KIND_MEAN;
	if ((rc = zipc_pool_call(c, &r, &s, ZIPC_FOREVER)) || s.status)
		return 1;
	printf("mean of 1000: %s\n", u128_str(get_u128(&s), b1, sizeof(b1)));
	return 0;
}

/* ---------------------------------------------------------- the modes */

static int local(void)
{
	struct zipc_pool_opts o = {.threads = THREADS, .max_payload = 64};
	zipc_pool *pool;
	int rc = zipc_pool_create(NULL, &o, &randoms_ops, &pool);
	if (rc) {
		fprintf(stderr, "pool: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_pool_client *c;
	if ((rc = zipc_pool_client_open(pool, NULL, &c))) {
		fprintf(stderr, "client: %s\n", zipc_strerror(rc));
		zipc_pool_close(pool);
		return 1;
	}
	rc = run_sample(c);
	zipc_pool_client_close(c);
	zipc_pool_close(pool); /* destroys the remaining 1000 items on their threads */
	return rc;
}

/* Host the pool until stdin reaches EOF or SIGINT/SIGTERM; write one byte
 * to @ready_fd (if >= 0) once it serves. */
static int serve(const char *name, int ready_fd)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL); /* before the pool threads start: they inherit it */
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct zipc_pool_opts o = {.threads = THREADS, .max_payload = 64};
	zipc_pool *pool;
	int rc = zipc_pool_create(name, &o, &randoms_ops, &pool);
	if (rc) {
		fprintf(stderr, "serve %s: %s\n", name, zipc_strerror(rc));
		return 1;
	}
	printf("serving pool '%s' (%d threads); close stdin or press Ctrl-C to stop\n", name, THREADS);
	fflush(stdout);
	if (ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
		perror("ready");
	for (;;) {
		struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0)
			break;
		if (p[1].revents)
			break;
		char buf[256];
		if (p[0].revents && read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	zipc_pool_close(pool); /* destroys every remaining item on its own thread */
	printf("server: pool closed\n");
	fflush(stdout);
	return 0;
}

static int client(const char *name)
{
	zipc_pool_client *c;
	int rc = zipc_pool_client_attach(name, NULL, &c);
	if (rc) {
		fprintf(stderr, "attach %s: %s\n", name, zipc_strerror(rc));
		return 1;
	}
	rc = run_sample(c);
	zipc_pool_client_close(c);
	return rc;
}

static int cross(const char *name)
{
	int ready[2], hold[2];
	if (pipe(ready) || pipe(hold))
		return 1;
	fflush(stdout);
	pid_t pid = fork(); /* no threads yet in this process: a plain fork is safe */
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		dup2(hold[0], 0); /* the server stops when we close our end */
		_exit(serve(name, ready[1]));
	}
	close(ready[1]);
	close(hold[0]);
	char b;
	if (read(ready[0], &b, 1) != 1) {
		fprintf(stderr, "the server did not start\n");
		return 1;
	}
	printf("client: pid %d, server: pid %d\n", (int)getpid(), (int)pid);
	int rc = client(name);
	close(hold[1]);
	int st;
	waitpid(pid, &st, 0);
	return rc || !WIFEXITED(st) || WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "local";
	const char *name = argc > 2 ? argv[2] : "randoms";
	if (!strcmp(mode, "local"))
		return local();
	if (!strcmp(mode, "cross"))
		return cross(name);
	if (!strcmp(mode, "serve"))
		return serve(name, -1);
	if (!strcmp(mode, "client"))
		return client(name);
	fprintf(stderr, "usage: %s [local | cross [NAME] | serve [NAME] | client [NAME]]\n", argv[0]);
	return 2;
}
