/* examples/sched_remote.c - producers in other processes.
 *
 *   shell 1:  build/examples/sched_remote serve jobs 3      # channels 1..3, 2 workers
 *   shell 2:  build/examples/sched_remote send jobs 1 1000
 *   shell 3:  build/examples/sched_remote send jobs 2 10
 *             build/examples/sched_remote send jobs 3 10
 *
 * The server creates a named scheduler and its channels without senders;
 * each sender process attaches by the scheduler's name and a channel id,
 * sends (blocking when the channel is full) and closes.  Jobs of the three
 * channels are served in turn; the server stops by itself once every
 * channel's senders have closed and its queue has drained.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zipc/zipc.h>
#include <zipc/sched.h>

struct job {
	uint32_t pid;
	uint32_t n;
};

static int run(void *ctx, struct zipc_sched_job *job)
{
	(void)ctx;
	struct job j;
	memcpy(&j, job->data, sizeof(j));
	printf("worker %u: channel %llu job %u from pid %u\n", job->worker, (unsigned long long)job->channel, j.n,
	       j.pid);
	return 0;
}

static int server_main(const char *name, unsigned channels)
{
	struct zipc_sched_opts o = {.workers = 2, .max_payload = sizeof(struct job), .job = run};
	zipc_sched *s;
	int rc = zipc_sched_create(name, &o, &s);
	if (rc) {
		fprintf(stderr, "serve: %s\n", zipc_strerror(rc));
		return 1;
	}
	for (unsigned id = 1; id <= channels; id++) {
		/* no sender here: the channel waits for remote ones */
		if ((rc = zipc_sched_channel_create(s, id, 64, 4, NULL))) {
			fprintf(stderr, "channel %u: %s\n", id, zipc_strerror(rc));
			return 1;
		}
	}
	printf("serving scheduler '%s' with channels 1..%u; waiting for senders\n", name, channels);
	fflush(stdout);
	rc = zipc_sched_join(s, ZIPC_FOREVER); /* every channel closed and drained */
	struct zipc_sched_stat st;
	zipc_sched_stat(s, &st);
	printf("done: %llu jobs, %llu channels closed\n", (unsigned long long)st.completed,
	       (unsigned long long)st.channels_closed);
	zipc_sched_destroy(s);
	return rc ? 1 : 0;
}

static int sender_main(const char *name, uint64_t id, unsigned count)
{
	zipc_sched_sender *tx;
	int rc = zipc_sched_sender_attach(name, id, NULL, &tx);
	if (rc) {
		fprintf(stderr, "attach %s/%llu: %s\n", name, (unsigned long long)id, zipc_strerror(rc));
		return 1;
	}
	for (unsigned i = 0; i < count; i++) {
		struct job j = {.pid = (uint32_t)getpid(), .n = i};
		/* waits while the channel is full; -ECANCELED / -EPIPE if closed,
		 * -EOWNERDEAD if the server died */
		if ((rc = zipc_sched_sender_send(tx, &j, sizeof(j), 10 * ZIPC_SEC))) {
			fprintf(stderr, "send: %s\n", zipc_strerror(rc));
			break;
		}
	}
	zipc_sched_sender_close(tx); /* the last one closes the channel */
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return server_main(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "send"))
		return sender_main(argv[2], strtoull(argv[3], NULL, 10), (unsigned)atoi(argv[4]));
	fprintf(stderr, "usage: %s serve NAME CHANNELS | send NAME ID COUNT\n", argv[0]);
	return 64;
}
