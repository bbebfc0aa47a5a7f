/* examples/producer.c - create the ring "quotes" and publish N messages to
 * whoever attaches as its consumer (run examples/consumer in another shell). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zipc/zipc.h>

struct quote {
	uint64_t seq;
	double price;
};

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct zipc_ring_opts opts = {
		.capacity = 1024,             /* slots, a power of two */
		.slot_size = sizeof(struct quote),
		.wait = ZIPC_WAIT_BLOCK,      /* spin briefly, then sleep on a futex */
	};
	zipc_ring *ring;
	int rc = zipc_ring_create("quotes", &opts, &ring);
	if (rc) {
		fprintf(stderr, "producer: create: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_producer *p;
	if ((rc = zipc_producer_open(ring, NULL, &p))) {
		fprintf(stderr, "producer: open: %s\n", zipc_strerror(rc));
		return 1;
	}
	printf("producer: publishing %ld quotes on ring 'quotes'\n", n);
	for (long i = 0; i < n; i++) {
		uint64_t seq;
		/* the ring reserved a consumer slot at creation: nothing is lost
		 * while the consumer starts; we wait if it falls a ring behind */
		if ((rc = zipc_producer_claim(p, 1, 10 * ZIPC_SEC, &seq))) {
			fprintf(stderr, "producer: claim: %s\n", zipc_strerror(rc));
			return 1;
		}
		struct quote *q = zipc_producer_slot(p, seq); /* write in place */
		q->seq = (uint64_t)i;
		q->price = 100.0 + (double)(i % 100) / 100.0;
		zipc_producer_publish(p, seq, 1);
	}
	/* published is not yet read: wait until the consumer has released
	 * everything, so the name and region may go away with us */
	if ((rc = zipc_producer_flush(p, 60 * ZIPC_SEC)))
		fprintf(stderr, "producer: flush: %s\n", zipc_strerror(rc));
	/* closing the producer tells the consumer the stream ended (-EPIPE) */
	zipc_producer_close(p);
	zipc_ring_close(ring);
	return 0;
}
