/* examples/sched_fetch_store.c - the pattern mpmc-scheduler was written for:
 * HTTP requests whose results are stored into a database, per user, with
 * per-user cancellation.
 *
 *   job function  = fetch a page over HTTP (not cancellable once started)
 *   finalize      = store the page into the "database" (skipped for a job
 *                   whose channel was cancelled while it was fetching)
 *   drop          = free what a dropped job holds (the fetched page of a
 *                   cancelled fetch; nothing for a queued URL)
 *
 * Two users (channels 1 and 2) each queue 8 URLs; 2 workers fetch them in
 * turn from the two channels (round robin).  A tiny HTTP server on
 * 127.0.0.1 (a thread of this program) answers each request after 30 ms.
 * Once user 2's second page is stored, user 2 cancels: its queued URLs are
 * dropped, its fetch in flight completes but is not stored, and user 1 is
 * not affected.
 *
 *   build/examples/sched_fetch_store
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zipc/zipc.h>
#include <zipc/sched.h>

#define PAGES 8
#define SLOW_MS 30

/* ------------------------------------------------------- a tiny web server */

static int listen_fd;
static uint16_t port;

static void *http_server(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);
		if (c < 0)
			return NULL; /* closed by main */
		char req[512];
		ssize_t n = read(c, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		char path[128] = "/";
		sscanf(req, "GET %127s", path);
		struct timespec slow = {0, SLOW_MS * 1000000L};
		nanosleep(&slow, NULL);
		char body[256], resp[512];
		int blen = snprintf(body, sizeof(body), "<html>page %s</html>", path);
		int rlen = snprintf(resp, sizeof(resp), "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", blen, body);
		if (write(c, resp, (size_t)rlen) < 0)
			perror("http_server: write");
		close(c);
	}
}

/* ------------------------------------------------------- the jobs */

struct fetch {           /* a job's payload: copied bytes, no pointers */
	char url_path[64];
};

struct page {            /* a job's result: owned by finalize or drop */
	char path[64];
	size_t len;
	char body[];
};

static _Atomic int stored[3], not_stored[3], dropped[3];

/* worker_fn: GET the page (blocking I/O; never interrupted) */
static int fetch_page(void *ctx, struct zipc_sched_job *job)
{
	(void)ctx;
	const struct fetch *f = job->data;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (s >= 0)
			close(s);
		return -1; /* the error goes to finalize; the worker goes on */
	}
	char req[128];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", f->url_path);
	if (write(s, req, (size_t)n) != n) {
		close(s);
		return -1;
	}
	char buf[1024];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof(buf) - 1 && (r = read(s, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	close(s);
	buf[got] = '\0';
	const char *body = strstr(buf, "\r\n\r\n");
	body = body ? body + 4 : buf;
	size_t len = strlen(body);
	struct page *p = malloc(sizeof(*p) + len + 1);
	if (!p)
		return -1;
	snprintf(p->path, sizeof(p->path), "%s", f->url_path);
	p->len = len;
	memcpy(p->body, body, len + 1);
	job->result = p; /* to finalize (store) or to drop (cancelled) */
	return 0;
}

/* worker_fn_finalize: store into the database (here: print), then free */
static void store_page(void *ctx, struct zipc_sched_job *job, int job_rc)
{
	(void)ctx;
	struct page *p = job->result;
	if (job_rc == 0 && p) {
		printf("user %llu: stored %-12s (%zu bytes)\n", (unsigned long long)job->channel, p->path, p->len);
		atomic_fetch_add(&stored[job->channel], 1);
	} else {
		printf("user %llu: fetch failed\n", (unsigned long long)job->channel);
	}
	free(p);
}

/* drop: a queued URL (nothing to free) or a fetched page not to be stored */
static void drop_job(void *ctx, struct zipc_sched_job *job, enum zipc_sched_drop_reason why)
{
	(void)ctx;
	if (why == ZIPC_SCHED_DROP_FINALIZE) {
		struct page *p = job->result;
		printf("user %llu: fetched %s after the cancel: not stored\n", (unsigned long long)job->channel,
		       p ? p->path : "?");
		free(p);
		atomic_fetch_add(&not_stored[job->channel], 1);
	} else {
		const struct fetch *f = job->data;
		printf("user %llu: dropped queued %s\n", (unsigned long long)job->channel, f->url_path);
		atomic_fetch_add(&dropped[job->channel], 1);
	}
}

int main(void)
{
	/* the web server */
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) || listen(listen_fd, 64) ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &alen)) {
		perror("sched_fetch_store: server socket");
		return 1;
	}
	port = ntohs(a.sin_port);
	pthread_t srv;
	pthread_create(&srv, NULL, http_server, NULL);

	/* the scheduler: 2 workers fetch, finalize stores */
	struct zipc_sched_opts opts = {
		.workers = 2,
		.max_payload = sizeof(struct fetch),
		.job = fetch_page,
		.finalize = store_page,
		.drop = drop_job,
	};
	zipc_sched *sched;
	int rc = zipc_sched_create(NULL, &opts, &sched);
	if (rc) {
		fprintf(stderr, "sched_fetch_store: create: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_sched_sender *user[3] = {NULL};
	for (uint64_t u = 1; u <= 2; u++) {
		if ((rc = zipc_sched_channel_create(sched, u, 8, 1, &user[u]))) {
			fprintf(stderr, "sched_fetch_store: channel: %s\n", zipc_strerror(rc));
			return 1;
		}
		for (int i = 0; i < PAGES; i++) {
			struct fetch f;
			snprintf(f.url_path, sizeof(f.url_path), "/u%llu/p%d", (unsigned long long)u, i);
			if ((rc = zipc_sched_sender_try_send(user[u], &f, sizeof(f))))
				fprintf(stderr, "try_send: %s\n", zipc_strerror(rc)); /* -EAGAIN: bound reached */
		}
	}

	/* user 2 changes its mind after two stored pages */
	while (atomic_load(&stored[2]) < 2) {
		struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	int n = zipc_sched_channel_cancel(sched, 2);
	printf("user 2: cancelled, %d queued fetches dropped\n", n);
	struct fetch late = {"/u2/late"}; /* the producer side is told: -ECANCELED */
	printf("user 2: a new request now says: %s\n",
	       zipc_strerror(zipc_sched_sender_try_send(user[2], &late, sizeof(late))));

	zipc_sched_sender_close(user[2]);
	zipc_sched_sender_close(user[1]); /* the scheduler finishes once user 1 is done */
	if ((rc = zipc_sched_join(sched, 30 * ZIPC_SEC)))
		fprintf(stderr, "sched_fetch_store: join: %s\n", zipc_strerror(rc));
	printf("summary: user 1 stored %d/%d; user 2 stored %d, fetched-not-stored %d, dropped %d\n",
	       atomic_load(&stored[1]), PAGES, atomic_load(&stored[2]), atomic_load(&not_stored[2]),
	       atomic_load(&dropped[2]));
	zipc_sched_destroy(sched);
	shutdown(listen_fd, SHUT_RDWR);
	close(listen_fd);
	pthread_join(srv, NULL);
	return rc ? 1 : 0;
}
