/* SPDX-License-Identifier: MIT */
/*
 * ring/peers.c - registration of producers and consumers in a ring's peer
 * tables (struct zipc_ring_peer), shared by every ring kind: take an entry,
 * write its owner's identity, give it back, reap a dead owner's entry.
 */
#include <unistd.h>

#include "ring_int.h"

/* Take an entry of @tab in state @from: CAS to @to.  Returns index or -1. */
int zipc__entry_take(struct zipc_ring_peer *tab, unsigned n, uint32_t from, uint32_t to)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t expect = from;
		/* acq_rel: acquire pairs with the previous owner's release of the
		 * entry (zipc__entry_free()); release orders nothing yet, the entry is
		 * published ACTIVE later with its own release */
		if (atomic_compare_exchange_strong_explicit(&tab[i].state, &expect, to, memory_order_acq_rel,
							    memory_order_relaxed))
			return (int)i;
	}
	return -1;
}

void zipc__entry_fill(struct zipc_ring_peer *e, uint32_t wait)
{
	int32_t pid = (int32_t)getpid();
	/* start before pid: a reader that sees our pid sees our start time */
	atomic_store_explicit(&e->start, zipc_pid_start_ticks(pid), memory_order_relaxed);
	/* release pairs with the acquire load of the pid in zipc__peer_alive() */
	atomic_store_explicit(&e->pid, pid, memory_order_release);
	atomic_store_explicit(&e->wait, wait, memory_order_relaxed);
	atomic_store_explicit(&e->waits, 0, memory_order_relaxed);
	atomic_store_explicit(&e->sleeps, 0, memory_order_relaxed);
	atomic_store_explicit(&e->timeouts, 0, memory_order_relaxed);
}

/* Give an entry we hold (BUSY or ACTIVE) back. */
void zipc__entry_free(struct zipc_ring_peer *e)
{
	atomic_store_explicit(&e->pid, 0, memory_order_relaxed);
	/* release: our last writes to the entry before anybody takes it again */
	atomic_store_explicit(&e->state, ZIPC_PEER_FREE, memory_order_release);
}

/* Detach one ACTIVE entry whose owner died; 1 if this call detached it. */
int zipc__entry_reap(struct zipc_ring_peer *e, _Atomic uint32_t *active_count)
{
	/* acquire pairs with the owner's release store of ACTIVE */
	if (atomic_load_explicit(&e->state, memory_order_acquire) != ZIPC_PEER_ACTIVE || zipc__peer_alive(e))
		return 0;
	uint32_t expect = ZIPC_PEER_ACTIVE;
	if (!atomic_compare_exchange_strong_explicit(&e->state, &expect, ZIPC_PEER_BUSY, memory_order_acq_rel,
						     memory_order_relaxed))
		return 0;
	zipc__entry_free(e);
	/* release pairs with the consumer's acquire of producers_active (end of stream) */
	atomic_fetch_sub_explicit(active_count, 1, memory_order_acq_rel);
	return 1;
}

