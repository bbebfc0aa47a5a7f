/* SPDX-License-Identifier: MIT */
/*
 * ring/ring_int.h - private to libzipc: the ring handle and the helpers
 * shared by ring/ring.c (set-up, registration, introspection) and
 * ring/wait.c (slow paths and wait strategies).  Never installed.
 */
#ifndef ZIPC_RING_INT_H
#define ZIPC_RING_INT_H

#include <stdatomic.h>

#include <zipc/ring.h>

/* Per-process ring handle. */
struct zipc_ring {
	zipc_region *region;
	struct zipc_ring_hdr *hdr;
	struct zipc_ring_params p;    /* validated private copy of hdr->p */
	struct zipc_ring_peer *prod;  /* producer table */
	struct zipc_ring_peer *cons;  /* consumer table */
	_Atomic uint64_t *avail;      /* MP availability words, or NULL */
	unsigned char *data;          /* slot 0 */
	int read_only;
	_Atomic int open_ends;        /* producers + consumers open on this handle */
};

/* 1 if this process may skip the waker's fence (membarrier registered). */
int zipc__fenceless(void);

/* Liveness of a registered peer entry (reads pid and start time). */
int zipc__peer_alive(const struct zipc_ring_peer *e);

/* Default wait options resolved against the ring's creation default. */
void zipc__wait_resolve(const struct zipc_ring *r, const struct zipc_wait_opts *in,
			struct zipc_wait_opts *out);

/* Wake one direction's sleepers if any announced (after a state change). */
void zipc__wake_if_sleepers(struct zipc_waitword *w);

#endif /* ZIPC_RING_INT_H */
