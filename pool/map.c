/* SPDX-License-Identifier: MIT */
/*
 * pool/map.c - a pool thread's items: an open-addressing hash map from the
 * 64-bit item id to the item's state pointer (linear probing, backward-shift
 * deletion, so no tombstones build up under add/remove churn).  Private to
 * one pool thread: no locking.
 *
 * Every id on one thread has the same residue modulo the thread count, so
 * the id is mixed (the finaliser of MurmurHash3) before it is masked.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_int.h"

#define MAP_MIN 64u

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

void zipc__map_init(struct pool_map *m)
{
	memset(m, 0, sizeof(*m));
}

void zipc__map_free(struct pool_map *m)
{
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

struct pool_map_ent *zipc__map_find(struct pool_map *m, uint64_t id)
{
	if (!m->tab)
		return NULL;
	for (uint64_t i = mix(id) & m->mask;; i = (i + 1) & m->mask) {
		struct pool_map_ent *e = &m->tab[i];
		if (!e->used)
			return NULL;
		if (e->id == id)
			return e;
	}
}

static void put(struct pool_map_ent *tab, uint64_t mask, uint64_t id, void *state)
{
	uint64_t i = mix(id) & mask;
	while (tab[i].used)
		i = (i + 1) & mask;
	tab[i].id = id;
	tab[i].state = state;
	tab[i].used = 1;
}

/* Keep the load at most 1/2. */
static int grow(struct pool_map *m)
{
	uint64_t cap = m->tab ? (m->mask + 1) * 2 : MAP_MIN;
	struct pool_map_ent *tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	if (m->tab) {
		for (uint64_t i = 0; i <= m->mask; i++)
			if (m->tab[i].used)
				put(tab, cap - 1, m->tab[i].id, m->tab[i].state);
		free(m->tab);
	}
	m->tab = tab;
	m->mask = cap - 1;
	return 0;
}

int zipc__map_insert(struct pool_map *m, uint64_t id, void *state)
{
	if (!m->tab || (m->count + 1) * 2 > m->mask + 1) {
		int rc = grow(m);
		if (rc)
			return rc;
	}
	put(m->tab, m->mask, id, state);
	m->count++;
	return 0;
}

void zipc__map_erase(struct pool_map *m, struct pool_map_ent *e)
{
	uint64_t mask = m->mask;
	uint64_t i = (uint64_t)(e - m->tab);
	/* backward shift: move later members of the probe run into the hole
	 * when their home slot is not cyclically in (hole, their position] */
	for (uint64_t j = (i + 1) & mask; m->tab[j].used; j = (j + 1) & mask) {
		uint64_t home = mix(m->tab[j].id) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->tab[i] = m->tab[j];
			i = j;
		}
	}
	memset(&m->tab[i], 0, sizeof(m->tab[i]));
	m->count--;
}
