/* examples/sched_basic.c - the mpmc-scheduler README example in zipc: a
 * scheduler of 4 workers, one producer channel (id 1, bound 4) carrying 4
 * jobs; each job prints "Processing i" and passes i on to finalize, which
 * prints "Finalizing i".  Dropping the last sender lets the scheduler
 * finish by itself once the queue has drained.
 *
 *   build/examples/sched_basic
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zipc/zipc.h>
#include <zipc/sched.h>

/* worker_fn: |v| { println!("Processing {}", v); v } */
static int process(void *ctx, struct zipc_sched_job *job)
{
	(void)ctx;
	int v;
	memcpy(&v, job->data, sizeof(v));
	printf("Processing %d\n", v);
	job->result = (void *)(intptr_t)v; /* what finalize receives */
	return 0;
}

/* worker_fn_finalize: |r| println!("Finalizing {}", r) - not called for a
 * job whose channel was cancelled while it ran */
static void finalize(void *ctx, struct zipc_sched_job *job, int job_rc)
{
	(void)ctx;
	(void)job_rc;
	printf("Finalizing %d\n", (int)(intptr_t)job->result);
}

int main(void)
{
	struct zipc_sched_opts opts = {
		.workers = 4,                 /* at most 4 jobs at once, on 4 long-lived threads */
		.max_payload = sizeof(int),
		.job = process,
		.finalize = finalize,
	};
	zipc_sched *sched;
	int rc = zipc_sched_create(NULL, &opts, &sched); /* NULL: in-process only */
	if (rc) {
		fprintf(stderr, "sched_basic: create: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_sched_sender *tx;
	if ((rc = zipc_sched_channel_create(sched, 1, 4, 1, &tx))) { /* id 1, bound 4 */
		fprintf(stderr, "sched_basic: channel: %s\n", zipc_strerror(rc));
		return 1;
	}
	for (int i = 0; i < 4; i++) {
		rc = zipc_sched_sender_try_send(tx, &i, sizeof(i)); /* -EAGAIN Full, -EPIPE/-ECANCELED Closed */
		if (rc)
			fprintf(stderr, "sched_basic: try_send %d: %s\n", i, zipc_strerror(rc));
	}
	zipc_sched_sender_close(tx); /* drop(tx): the scheduler finishes once drained */
	if ((rc = zipc_sched_join(sched, 10 * ZIPC_SEC)))
		fprintf(stderr, "sched_basic: join: %s\n", zipc_strerror(rc));
	zipc_sched_destroy(sched);
	return rc ? 1 : 0;
}
