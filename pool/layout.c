/* SPDX-License-Identifier: MIT */
/*
 * pool/layout.c - the pool directory's geometry and validation, and the
 * names of the pool's rings (shared by the server and the clients).
 */
#include <stdio.h>

#include "pool_int.h"

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

void zipc__pool_geometry(struct pool_params *p)
{
	uint64_t off = sizeof(struct pool_dir);
	p->slot_size = (uint32_t)sizeof(struct pool_msg) + p->max_payload;
	p->clients_off = off;
	off += round_up((uint64_t)p->max_clients * sizeof(struct pool_client_slot), POOL_LINE);
	p->threads_off = off;
	off += (uint64_t)p->threads * sizeof(struct pool_thread_ctr);
	p->total_size = off;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int zipc__pool_params_check(const struct pool_params *in, uint64_t area_size)
{
	if (in->magic != POOL_MAGIC)
		return -EBADMSG;
	if (in->layout != POOL_LAYOUT)
		return -EPROTONOSUPPORT;
	struct pool_params p = *in;
	if (p.threads == 0 || p.threads > ZIPC_POOL_MAX_THREADS || p.max_payload == 0 ||
	    p.max_payload > ZIPC_POOL_MAX_PAYLOAD || p.max_clients == 0 || p.max_clients > ZIPC_POOL_MAX_CLIENTS ||
	    !is_pow2(p.queue_capacity) || p.queue_capacity < 2 || p.server_pid <= 0 || p.named > 1)
		return -EPROTO;
	zipc__pool_geometry(&p);
	if (p.slot_size != in->slot_size || p.clients_off != in->clients_off || p.threads_off != in->threads_off ||
	    p.total_size != in->total_size)
		return -EPROTO;
	if (p.total_size > area_size)
		return -ENODATA;
	return 0;
}

int zipc__pool_req_name(char *buf, size_t cap, const char *pool, unsigned i)
{
	int n = snprintf(buf, cap, "%s.req%u", pool, i);
	return n < 0 || (size_t)n >= cap || n > (int)ZIPC_NAME_MAX ? -ENAMETOOLONG : 0;
}

int zipc__pool_rsp_name(char *buf, size_t cap, const char *pool, unsigned slot, uint32_t gen)
{
	int n = snprintf(buf, cap, "%s.rsp%u.%u", pool, slot, gen);
	return n < 0 || (size_t)n >= cap || n > (int)ZIPC_NAME_MAX ? -ENAMETOOLONG : 0;
}

unsigned zipc_pool_route(uint64_t id, unsigned threads)
{
	return threads ? (unsigned)(id % threads) : 0;
}

