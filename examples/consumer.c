/* examples/consumer.c - attach to the ring "quotes" by name and read until
 * the producer closes (start examples/producer first, in another shell). */
#include <stdio.h>

#include <zipc/zipc.h>

struct quote {
	uint64_t seq;
	double price;
};

int main(void)
{
	zipc_ring *ring;
	int rc = zipc_ring_attach("quotes", 0, &ring); /* validated before use */
	if (rc) {
		fprintf(stderr, "consumer: attach: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_consumer *c;
	if ((rc = zipc_consumer_open(ring, NULL, &c))) {
		fprintf(stderr, "consumer: open: %s\n", zipc_strerror(rc));
		return 1;
	}
	uint64_t expect = 0, seq;
	double sum = 0;
	int64_t n;
	/* wait returns how many slots are ready; read them in place, release */
	while ((n = zipc_consumer_wait(c, 10 * ZIPC_SEC, &seq)) > 0) {
		for (int64_t i = 0; i < n; i++) {
			const struct quote *q = zipc_consumer_slot(c, seq + (uint64_t)i);
			if (q->seq != expect++) {
				fprintf(stderr, "consumer: gap at %llu\n", (unsigned long long)q->seq);
				return 1;
			}
			sum += q->price;
		}
		zipc_consumer_release(c, (uint32_t)n);
	}
	/* -EPIPE: every producer closed and everything was read */
	printf("consumer: %llu quotes, mean price %.4f, ended with: %s\n", (unsigned long long)expect,
	       expect ? sum / (double)expect : 0.0, zipc_strerror((int)n));
	zipc_consumer_close(c);
	zipc_ring_close(ring);
	return n == -EPIPE ? 0 : 1;
}
