/* SPDX-License-Identifier: MIT */
/*
 * tools/kinds.c - the per-kind part of `shmctl stat` for the region kinds
 * other than ring: record rings, meshes and dispatchers.  Every reader only
 * reads shared memory through the read-only handle kept by the region model
 * (libzipc's stat functions range-check what they read); nothing registers.
 * Pools and schedulers have no region-level stat function in libzipc, so only
 * their kind name is shown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmctl.h"

/* Upper bounds of the tables read: stat never needs more entries. */
#define REC_MAX_PEERS (ZIPC_RECORD_MAX_PRODUCERS + 1)
#define MESH_MAX_COUNTERS 4096
#define DISPATCH_MAX_ENDS 256
/* Snapshots tried before an inconsistent record ring is called corrupted. */
#define STAT_ATTEMPTS 100

struct shmctl_kview {
	uint32_t kind;
	unsigned n;     /* table entries stored */
	unsigned total; /* table entries reported (> @n if truncated) */
	union {
		struct {
			struct zipc_record_stat st;
			struct zipc_ring_peer_stat peers[REC_MAX_PEERS];
		} rec;
		struct {
			struct zipc_mesh_stat st;
			struct zipc_mesh_counters c[MESH_MAX_COUNTERS];
		} mesh;
		struct {
			struct zipc_dispatch_stat st;
			struct zipc_dispatch_end_stat ends[DISPATCH_MAX_ENDS];
		} disp;
	} u;
};

static int record_read(struct shmctl_region *reg, struct shmctl_kview *v)
{
	zipc_record_ring *ring;
	int rc = zipc_record_ring_from_region(reg->handle, &ring);
	if (rc)
		return rc;
	reg->handle = NULL; /* owned by the ring now */
	for (int attempt = 0; attempt < STAT_ATTEMPTS; attempt++) {
		rc = zipc_record_ring_stat(ring, &v->u.rec.st, v->u.rec.peers, REC_MAX_PEERS);
		if (rc != -EPROTO)
			break;
	}
	zipc_record_ring_close(ring);
	if (rc < 0)
		return rc;
	v->total = (unsigned)rc;
	v->n = v->total < REC_MAX_PEERS ? v->total : REC_MAX_PEERS;
	return 0;
}

/**
 * shmctl_kview_read() - read the kind-specific figures of @reg (status ok,
 * handle kept).  A record ring takes over (and closes) the handle.
 * Return: 0 (*@out set, free with shmctl_kview_free()); 1 if the kind has
 * nothing more to show (*@out NULL); or a negative code (invalid, -ENOMEM).
 */
int shmctl_kview_read(struct shmctl_region *reg, struct shmctl_kview **out)
{
	*out = NULL;
	uint32_t kind = reg->info.kind;
	if (kind != ZIPC_KIND_RECORD && kind != ZIPC_KIND_MESH && kind != ZIPC_KIND_DISPATCH)
		return 1;
	if (!reg->handle)
		return -EINVAL;
	struct shmctl_kview *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->kind = kind;
	int rc;
	switch (kind) {
	case ZIPC_KIND_RECORD:
		rc = record_read(reg, v);
		break;
	case ZIPC_KIND_MESH:
		rc = zipc_mesh_stat(reg->handle, &v->u.mesh.st, v->u.mesh.c, MESH_MAX_COUNTERS);
		if (rc >= 0) {
			v->total = (unsigned)rc;
			v->n = v->total < MESH_MAX_COUNTERS ? v->total : MESH_MAX_COUNTERS;
			rc = 0;
		}
		break;
	default:
		rc = zipc_dispatch_stat(reg->handle, &v->u.disp.st, v->u.disp.ends, DISPATCH_MAX_ENDS);
		if (rc >= 0) {
			v->total = (unsigned)rc;
			v->n = v->total < DISPATCH_MAX_ENDS ? v->total : DISPATCH_MAX_ENDS;
			rc = 0;
		}
		break;
	}
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void shmctl_kview_free(struct shmctl_kview *v)
{
	free(v);
}

/** shmctl_kview_key() - the JSON key of @v's object ("record", "mesh", "dispatch"). */
const char *shmctl_kview_key(const struct shmctl_kview *v)
{
	return shmctl_kind_name(v->kind);
}

#define ADD(o, k, val) json_object_object_add((o), (k), (val))
#define U64(x) json_object_new_uint64((uint64_t)(x))

static struct json_object *record_json(const struct shmctl_kview *v)
{
	const struct zipc_record_stat *s = &v->u.rec.st;
	struct json_object *o = json_object_new_object();
	struct json_object *peers = json_object_new_array();
	if (!o || !peers)
		goto fail;
	ADD(o, "capacity", U64(s->capacity));
	ADD(o, "max_record", U64(s->max_record));
	ADD(o, "flags", U64(s->flags));
	ADD(o, "multi_producer", json_object_new_boolean(!!(s->flags & ZIPC_RECORD_MULTI_PRODUCER)));
	ADD(o, "wait", json_object_new_string(shmctl_wait_name(s->wait)));
	ADD(o, "tail", U64(s->tail));
	ADD(o, "head", U64(s->head));
	ADD(o, "fill", U64(s->fill));
	ADD(o, "producers_active", U64(s->producers_active));
	ADD(o, "consumers_active", U64(s->consumers_active));
	ADD(o, "consumers_sleeping", U64(s->consumers_sleeping));
	ADD(o, "producers_sleeping", U64(s->producers_sleeping));
	ADD(o, "consumer_wakes", U64(s->consumer_wakes));
	ADD(o, "producer_wakes", U64(s->producer_wakes));
	ADD(o, "max_producers", U64(s->max_producers));
	ADD(o, "producer_attaches", U64(s->producer_attaches));
	ADD(o, "consumer_attaches", U64(s->consumer_attaches));
	ADD(o, "records", U64(s->records));
	ADD(o, "paddings", U64(s->paddings));
	ADD(o, "dead_claims", U64(s->dead_claims));
	ADD(o, "numa_node", s->numa_node >= 0 ? json_object_new_int(s->numa_node) : NULL);
	ADD(o, "peers_total", U64(v->total));
	for (unsigned i = 0; i < v->n; i++) {
		const struct zipc_ring_peer_stat *p = &v->u.rec.peers[i];
		struct json_object *e = json_object_new_object();
		if (!e || json_object_array_add(peers, e) != 0) {
			json_object_put(e);
			goto fail;
		}
		ADD(e, "role", json_object_new_string(p->is_consumer ? "consumer" : "producer"));
		ADD(e, "index", U64(p->index));
		ADD(e, "state", json_object_new_string(shmctl_peer_state_name(p->state)));
		ADD(e, "pid", json_object_new_int(p->pid));
		ADD(e, "alive", json_object_new_boolean(p->alive));
		ADD(e, "wait", json_object_new_string(shmctl_wait_name(p->wait)));
		ADD(e, "sequence", U64(p->sequence));
		ADD(e, "lag", p->is_consumer ? U64(p->lag) : NULL);
		ADD(e, "waits", U64(p->waits));
		ADD(e, "sleeps", U64(p->sleeps));
		ADD(e, "timeouts", U64(p->timeouts));
	}
	ADD(o, "peers", peers);
	return o;
fail:
	json_object_put(peers);
	json_object_put(o);
	return NULL;
}

static struct json_object *mesh_json(const struct shmctl_kview *v)
{
	const struct zipc_mesh_stat *s = &v->u.mesh.st;
	struct json_object *o = json_object_new_object();
	struct json_object *cs = json_object_new_array();
	if (!o || !cs)
		goto fail;
	ADD(o, "workers", U64(s->workers));
	ADD(o, "processes", U64(s->processes));
	ADD(o, "threads", U64(s->threads));
	ADD(o, "max_channels", U64(s->max_channels));
	ADD(o, "capacity", U64(s->capacity));
	ADD(o, "max_message", U64(s->max_message));
	ADD(o, "procs_running", U64(s->procs_running));
	ADD(o, "procs_done", U64(s->procs_done));
	ADD(o, "procs_dead", U64(s->procs_dead));
	ADD(o, "counters_total", U64(v->total));
	for (unsigned i = 0; i < v->n; i++) {
		const struct zipc_mesh_counters *c = &v->u.mesh.c[i];
		struct json_object *e = json_object_new_object();
		if (!e || json_object_array_add(cs, e) != 0) {
			json_object_put(e);
			goto fail;
		}
		ADD(e, "worker", U64(c->worker));
		ADD(e, "channel", U64(c->channel));
		ADD(e, "peer", U64(c->peer));
		ADD(e, "msgs_sent", U64(c->msgs_sent));
		ADD(e, "bytes_sent", U64(c->bytes_sent));
		ADD(e, "msgs_recv", U64(c->msgs_recv));
		ADD(e, "bytes_recv", U64(c->bytes_recv));
	}
	ADD(o, "counters", cs);
	return o;
fail:
	json_object_put(cs);
	json_object_put(o);
	return NULL;
}

static const char *dispatch_mode_name(uint32_t mode)
{
	switch (mode) {
	case 0: return "undecided";
	case 1: return "serializing";
	case 2: return "forwarding";
	default: return "unknown";
	}
}

static const char *dispatch_end_state_name(uint32_t state)
{
	switch (state) {
	case 1: return "opening";
	case 2: return "requested";
	case 3: return "active";
	case 4: return "rejected";
	case 5: return "closed";
	default: return "unknown";
	}
}

static struct json_object *dispatch_json(const struct shmctl_kview *v)
{
	const struct zipc_dispatch_stat *s = &v->u.disp.st;
	struct json_object *o = json_object_new_object();
	struct json_object *ends = json_object_new_array();
	if (!o || !ends)
		goto fail;
	ADD(o, "mode", json_object_new_string(dispatch_mode_name(s->mode)));
	ADD(o, "running", json_object_new_boolean(!!s->running));
	ADD(o, "dispatcher_pid", json_object_new_int(s->dispatcher_pid));
	ADD(o, "dispatcher_alive", json_object_new_boolean(!!s->dispatcher_alive));
	ADD(o, "clock", U64(s->clock));
	ADD(o, "delivered", U64(s->delivered));
	ADD(o, "dropped", U64(s->dropped));
	ADD(o, "clock_updates", U64(s->clock_updates));
	ADD(o, "sleeps", U64(s->sleeps));
	ADD(o, "senders", U64(s->senders));
	ADD(o, "receivers", U64(s->receivers));
	ADD(o, "ends_total", U64(v->total));
	for (unsigned i = 0; i < v->n; i++) {
		const struct zipc_dispatch_end_stat *p = &v->u.disp.ends[i];
		struct json_object *e = json_object_new_object();
		if (!e || json_object_array_add(ends, e) != 0) {
			json_object_put(e);
			goto fail;
		}
		ADD(e, "role", json_object_new_string(p->is_receiver ? "receiver" : "sender"));
		ADD(e, "index", U64(p->index));
		ADD(e, "state", json_object_new_string(dispatch_end_state_name(p->state)));
		ADD(e, "pid", json_object_new_int(p->pid));
		ADD(e, "name", json_object_new_string_len(p->name, (int)strnlen(p->name, sizeof(p->name))));
		ADD(e, "target", p->is_receiver ? NULL : U64(p->target));
		ADD(e, "msgs", U64(p->msgs));
		ADD(e, "bytes", U64(p->bytes));
		ADD(e, "clock", p->is_receiver ? U64(p->clock) : NULL);
	}
	ADD(o, "ends", ends);
	return o;
fail:
	json_object_put(ends);
	json_object_put(o);
	return NULL;
}

/** shmctl_kview_json() - @v as a JSON object (NULL: out of memory). */
struct json_object *shmctl_kview_json(const struct shmctl_kview *v)
{
	switch (v->kind) {
	case ZIPC_KIND_RECORD: return record_json(v);
	case ZIPC_KIND_MESH: return mesh_json(v);
	default: return dispatch_json(v);
	}
}

static void fmt_u64(char *out, size_t n, uint64_t x)
{
	snprintf(out, n, "%llu", (unsigned long long)x);
}

static int print_record(const struct shmctl_kview *v)
{
	const struct zipc_record_stat *s = &v->u.rec.st;
	double pct = s->capacity ? 100.0 * (double)s->fill / (double)s->capacity : 0.0;
	printf("record\n");
	printf("  %-14s %llu bytes, records up to %u bytes\n", "capacity", (unsigned long long)s->capacity,
	       (unsigned)s->max_record);
	printf("  %-14s %s\n", "sequencer",
	       (s->flags & ZIPC_RECORD_MULTI_PRODUCER) ? "multi producer" : "single producer");
	printf("  %-14s %s\n", "wait strategy", shmctl_wait_name(s->wait));
	printf("  %-14s %llu\n", "tail", (unsigned long long)s->tail);
	printf("  %-14s %llu\n", "head", (unsigned long long)s->head);
	printf("  %-14s %llu / %llu bytes (%.1f%%)\n", "fill", (unsigned long long)s->fill,
	       (unsigned long long)s->capacity, pct);
	printf("  %-14s %llu released, %llu paddings, %llu dead claims\n", "records", (unsigned long long)s->records,
	       (unsigned long long)s->paddings, (unsigned long long)s->dead_claims);
	printf("  %-14s %u active of %u, %u sleeping, %llu wakes, %llu attached ever\n", "producers",
	       (unsigned)s->producers_active, (unsigned)s->max_producers, (unsigned)s->producers_sleeping,
	       (unsigned long long)s->producer_wakes, (unsigned long long)s->producer_attaches);
	printf("  %-14s %u active, %u sleeping, %llu wakes, %llu attached ever\n", "consumers",
	       (unsigned)s->consumers_active, (unsigned)s->consumers_sleeping, (unsigned long long)s->consumer_wakes,
	       (unsigned long long)s->consumer_attaches);
	if (s->numa_node >= 0)
		printf("  %-14s %d\n", "numa node", s->numa_node);
	else
		printf("  %-14s none\n", "numa node");
	if (v->n == 0) {
		printf("peers: none\n");
		return 0;
	}
	static const char *const hdr[] = {"ROLE", "INDEX", "STATE", "PID", "ALIVE", "WAIT",
					  "SEQUENCE", "LAG", "WAITS", "SLEEPS", "TIMEOUTS"};
	struct shmctl_table t;
	shmctl_table_init(&t, 11, hdr, "lrlrllrrrrr");
	int rc = 0;
	for (unsigned i = 0; i < v->n && rc == 0; i++) {
		const struct zipc_ring_peer_stat *p = &v->u.rec.peers[i];
		char idx[24], pid[16], seq[24], lag[24], waits[24], sleeps[24], touts[24];
		fmt_u64(idx, sizeof(idx), p->index);
		snprintf(pid, sizeof(pid), "%d", (int)p->pid);
		fmt_u64(seq, sizeof(seq), p->sequence);
		fmt_u64(lag, sizeof(lag), p->lag);
		fmt_u64(waits, sizeof(waits), p->waits);
		fmt_u64(sleeps, sizeof(sleeps), p->sleeps);
		fmt_u64(touts, sizeof(touts), p->timeouts);
		const char *row[] = {p->is_consumer ? "consumer" : "producer", idx, shmctl_peer_state_name(p->state),
				     p->pid ? pid : "-", p->alive ? "yes" : "no", shmctl_wait_name(p->wait), seq,
				     p->is_consumer ? lag : "-", waits, sleeps, touts};
		rc = shmctl_table_add(&t, row);
	}
	if (rc == 0) {
		printf("peers\n");
		shmctl_table_print(&t, stdout, "  ");
		if (v->total > v->n)
			printf("  (%u more not shown)\n", v->total - v->n);
	}
	shmctl_table_free(&t);
	return rc;
}

static int print_mesh(const struct shmctl_kview *v)
{
	const struct zipc_mesh_stat *s = &v->u.mesh.st;
	printf("mesh\n");
	printf("  %-14s %u (%u processes x %u threads)\n", "workers", (unsigned)s->workers, (unsigned)s->processes,
	       (unsigned)s->threads);
	printf("  %-14s %u per worker\n", "channels", (unsigned)s->max_channels);
	printf("  %-14s %llu slots, messages up to %u bytes\n", "rings", (unsigned long long)s->capacity,
	       (unsigned)s->max_message);
	printf("  %-14s %u running, %u done, %u dead\n", "processes", (unsigned)s->procs_running,
	       (unsigned)s->procs_done, (unsigned)s->procs_dead);
	if (v->n == 0) {
		printf("counters: none\n");
		return 0;
	}
	static const char *const hdr[] = {"WORKER", "CHANNEL", "PEER", "MSGS SENT", "BYTES SENT", "MSGS RECV",
					  "BYTES RECV"};
	struct shmctl_table t;
	shmctl_table_init(&t, 7, hdr, "rrrrrrr");
	int rc = 0;
	for (unsigned i = 0; i < v->n && rc == 0; i++) {
		const struct zipc_mesh_counters *c = &v->u.mesh.c[i];
		char w[24], ch[24], p[24], ms[24], bs[24], mr[24], br[24];
		fmt_u64(w, sizeof(w), c->worker);
		fmt_u64(ch, sizeof(ch), c->channel);
		fmt_u64(p, sizeof(p), c->peer);
		fmt_u64(ms, sizeof(ms), c->msgs_sent);
		fmt_u64(bs, sizeof(bs), c->bytes_sent);
		fmt_u64(mr, sizeof(mr), c->msgs_recv);
		fmt_u64(br, sizeof(br), c->bytes_recv);
		const char *row[] = {w, ch, p, ms, bs, mr, br};
		rc = shmctl_table_add(&t, row);
	}
	if (rc == 0) {
		printf("counters\n");
		shmctl_table_print(&t, stdout, "  ");
		if (v->total > v->n)
			printf("  (%u more not shown)\n", v->total - v->n);
	}
	shmctl_table_free(&t);
	return rc;
}

static int print_dispatch(const struct shmctl_kview *v)
{
	const struct zipc_dispatch_stat *s = &v->u.disp.st;
	printf("dispatch\n");
	printf("  %-14s %s\n", "mode", dispatch_mode_name(s->mode));
	printf("  %-14s pid %d (%s), %s\n", "dispatcher", (int)s->dispatcher_pid,
	       s->dispatcher_alive ? "alive" : "exited", s->running ? "running" : "stopped");
	printf("  %-14s %llu\n", "clock", (unsigned long long)s->clock);
	printf("  %-14s %llu delivered, %llu dropped\n", "messages", (unsigned long long)s->delivered,
	       (unsigned long long)s->dropped);
	printf("  %-14s %llu clock updates, %llu sleeps\n", "dispatcher", (unsigned long long)s->clock_updates,
	       (unsigned long long)s->sleeps);
	printf("  %-14s %u senders, %u receivers\n", "ends", (unsigned)s->senders, (unsigned)s->receivers);
	if (v->n == 0) {
		printf("ends: none\n");
		return 0;
	}
	static const char *const hdr[] = {"ROLE", "INDEX", "STATE", "PID", "NAME", "TARGET", "MSGS", "BYTES",
					  "CLOCK"};
	struct shmctl_table t;
	shmctl_table_init(&t, 9, hdr, "lrlrlrrrr");
	int rc = 0;
	for (unsigned i = 0; i < v->n && rc == 0; i++) {
		const struct zipc_dispatch_end_stat *p = &v->u.disp.ends[i];
		char idx[24], pid[16], name[4 * sizeof(p->name) + 1], raw[sizeof(p->name) + 1], tgt[24], msgs[24],
			bytes[24], clk[24];
		fmt_u64(idx, sizeof(idx), p->index);
		snprintf(pid, sizeof(pid), "%d", (int)p->pid);
		memcpy(raw, p->name, sizeof(p->name));
		raw[sizeof(p->name)] = '\0';
		shmctl_escape(raw, name, sizeof(name));
		fmt_u64(tgt, sizeof(tgt), p->target);
		fmt_u64(msgs, sizeof(msgs), p->msgs);
		fmt_u64(bytes, sizeof(bytes), p->bytes);
		fmt_u64(clk, sizeof(clk), p->clock);
		const char *row[] = {p->is_receiver ? "receiver" : "sender", idx, dispatch_end_state_name(p->state),
				     p->pid ? pid : "-", name, p->is_receiver ? "-" : tgt, msgs, bytes,
				     p->is_receiver ? clk : "-"};
		rc = shmctl_table_add(&t, row);
	}
	if (rc == 0) {
		printf("ends\n");
		shmctl_table_print(&t, stdout, "  ");
		if (v->total > v->n)
			printf("  (%u more not shown)\n", v->total - v->n);
	}
	shmctl_table_free(&t);
	return rc;
}

/** shmctl_kview_print() - the human-readable block of @v; 0 or -ENOMEM. */
int shmctl_kview_print(const struct shmctl_kview *v)
{
	switch (v->kind) {
	case ZIPC_KIND_RECORD: return print_record(v);
	case ZIPC_KIND_MESH: return print_mesh(v);
	default: return print_dispatch(v);
	}
}
