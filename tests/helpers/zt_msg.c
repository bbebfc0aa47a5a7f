/* SPDX-License-Identifier: MIT */
/* tests/helpers/zt_msg.c - stream verification (see zt_msg.h). */
#include "helpers/zt_msg.h"

#include <inttypes.h>
#include <stdio.h>

void zt_checker_init(struct zt_checker *ck, unsigned producers)
{
	memset(ck, 0, sizeof *ck);
	ck->producers = producers ? producers : 1;
	if (ck->producers > ZT_MAX_PRODUCERS)
		ck->producers = ZT_MAX_PRODUCERS;
}

int zt_checker_feed(struct zt_checker *ck, const void *slot)
{
	struct zt_msg m;

	if (ck->why[0])
		return -1;
	memcpy(&m, slot, sizeof m);
	if (m.check != zt_mix64(m.tag)) {
		snprintf(ck->why, sizeof ck->why,
			 "corrupt message #%" PRIu64 ": tag %016" PRIx64 " check %016" PRIx64,
			 ck->count, m.tag, m.check);
		return -1;
	}
	unsigned prod = (unsigned)(m.tag >> 48);
	uint64_t seq = m.tag & ZT_SEQ_MASK;
	if (prod >= ck->producers) {
		snprintf(ck->why, sizeof ck->why, "message #%" PRIu64 " from unknown producer %u",
			 ck->count, prod);
		return -1;
	}
	if (seq != ck->next[prod]) {
		snprintf(ck->why, sizeof ck->why,
			 "producer %u: expected seq %" PRIu64 ", got %" PRIu64 " (%s) at message #%" PRIu64,
			 prod, ck->next[prod], seq,
			 seq < ck->next[prod] ? "duplicate or reordered" : "lost messages",
			 ck->count);
		return -1;
	}
	ck->next[prod]++;
	ck->count++;
	ck->sum += m.check;
	return 0;
}

uint64_t zt_expected_sum(unsigned producer, uint64_t n)
{
	uint64_t sum = 0;
	for (uint64_t s = 0; s < n; s++)
		sum += zt_mix64(zt_tag(producer, s));
	return sum;
}
