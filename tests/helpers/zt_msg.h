/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/zt_msg.h - the self-checking message the stream tests send.
 *
 * A message is 16 bytes: a tag (producer id in the top 16 bits, that
 * producer's sequence number in the low 48) and a 64-bit hash of the tag.
 * A consumer can therefore tell a lost, duplicated, reordered or torn
 * message from a good one without any shared knowledge but the producer id.
 * Used by both the test binary and zipc-peer.
 */
#ifndef ZT_MSG_H
#define ZT_MSG_H

#include <stdint.h>
#include <string.h>

#define ZT_MSG_SIZE 16u
#define ZT_MAX_PRODUCERS 64u
#define ZT_SEQ_MASK ((UINT64_C(1) << 48) - 1)

struct zt_msg {
	uint64_t tag;   /* producer << 48 | per-producer sequence */
	uint64_t check; /* zt_mix64(tag) */
};

/* splitmix64's finaliser: a bijective 64-bit mixer. */
static inline uint64_t zt_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static inline uint64_t zt_tag(unsigned producer, uint64_t seq)
{
	return ((uint64_t)producer << 48) | (seq & ZT_SEQ_MASK);
}

/* Write message (@producer, @seq) into @slot (at least ZT_MSG_SIZE bytes). */
static inline void zt_msg_write(void *slot, unsigned producer, uint64_t seq)
{
	struct zt_msg m = {.tag = zt_tag(producer, seq), .check = 0};
	m.check = zt_mix64(m.tag);
	memcpy(slot, &m, sizeof m);
}

/* Verifies a stream from up to ZT_MAX_PRODUCERS producers: every producer's
 * messages must arrive exactly once and in order. */
struct zt_checker {
	unsigned producers;                 /* ids 0 .. producers-1 are valid */
	uint64_t next[ZT_MAX_PRODUCERS];    /* next expected sequence per producer */
	uint64_t count;                     /* good messages seen */
	uint64_t sum;                       /* sum of their check words (mod 2^64) */
	char why[192];                      /* first failure, "" if none */
};

void zt_checker_init(struct zt_checker *ck, unsigned producers);

/* Check one message; 0 if it is the next one expected, -1 otherwise (and
 * ck->why says why).  After a failure the checker stays failed. */
int zt_checker_feed(struct zt_checker *ck, const void *slot);

/* Sum of the check words of messages 0 .. n-1 of @producer. */
uint64_t zt_expected_sum(unsigned producer, uint64_t n);

#endif /* ZT_MSG_H */
