/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_stat.c - `shmctl stat NAME`: one region's header and, for a ring,
 * its geometry, cursors, fill, sleepers, counters and every producer and
 * consumer.  The region is mapped read-only and only read: stat can never
 * disturb a live ring.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmctl.h"

/* Upper bound of a ring's peer tables: stat never needs more entries. */
#define MAX_PEERS (ZIPC_RING_MAX_PRODUCERS + ZIPC_RING_MAX_CONSUMERS)
/* Snapshots tried before an inconsistent ring is called corrupted. */
#define STAT_ATTEMPTS 100

/* What zipc_ring_stat() reported. */
struct ring_view {
	struct zipc_ring_stat st;
	struct zipc_ring_peer_stat peers[MAX_PEERS];
	unsigned npeers; /* entries in @peers */
	unsigned total;  /* entries the ring reported (> @npeers if truncated) */
};

void shmctl_help_stat(FILE *out)
{
	fprintf(out,
		"Usage: shmctl stat [--json] [--pretty] [--inode INO] NAME\n"
		"       shmctl stat [--json] [--pretty] --inode INO\n"
		"Show the region NAME: size, creator (and whether it still runs), the processes\n"
		"holding it and, for a ring: capacity, slot size, sequencer, wait strategy\n"
		"(spin/yield/block), producer cursor (claimed/published), slowest consumer,\n"
		"fill level, sleepers, wake counters and every producer and consumer with its\n"
		"sequence, lag, wait strategy and wait/sleep/timeout counters.  For a record\n"
		"ring: byte positions, fill and peers; for a mesh: geometry, process states and\n"
		"per (worker, channel, peer) message and byte counters; for a dispatcher: mode,\n"
		"delivery counters and every sender and receiver.\n"
		"\n"
		"The region is mapped read-only and validated by libzipc; nothing is written.\n"
		"If several regions carry NAME (a dead creator's region still mapped beside\n"
		"its successor), the one whose creator runs is shown; pick another by inode\n"
		"(see 'shmctl ls --json').\n"
		"\n"
		"  -i, --inode INO  the region with this inode (as listed by ls --json)\n"
		"  -j, --json       one JSON object: name, kind, size, creator_pid,\n"
		"                   creator_alive, pids, uid, created_ns, status, inode,\n"
		"                   numa_node, and ring (null unless kind is ring) with capacity,\n"
		"                   slot_size, flags, multi_producer, wait, claimed, published,\n"
		"                   min_consumer, fill, producers_active, consumers_active,\n"
		"                   consumers_sleeping, producers_sleeping, consumer_wakes,\n"
		"                   producer_wakes, numa_node, max_producers, max_consumers,\n"
		"                   producer_attaches, peers_total and peers: [{role, index,\n"
		"                   state, pid, alive, wait, sequence, lag, waits, sleeps,\n"
		"                   timeouts, group, after}] (lag, group, after are null for\n"
		"                   producers), consumer_sleeps, producer_sleeps, stage_wakes,\n"
		"                   stage_sleeps, lost, sealed, sealed_at, generation,\n"
		"                   successor.  A record ring, mesh or dispatcher adds an\n"
		"                   object named record, mesh or dispatch (see tools/README.md).\n"
		"                   For an invalid region the object is printed with status,\n"
		"                   error, error_code.\n"
		"  -p, --pretty     indented JSON (implies --json)\n"
		"  -h, --help       show this help\n"
		"\n"
		"Exit status: 0 shown; 1 no such region, stale name, region invalid\n"
		"(corrupted) or not readable; 2 usage error.\n");
}

/*
 * Rank of a candidate: higher is a better answer to "stat NAME" (valid with
 * a live creator, then valid, then anything else; newest first).
 */
static int better(const struct shmctl_region *a, const struct shmctl_region *b)
{
	int ra = a->status == SHMCTL_ST_OK ? (a->info.creator_alive ? 3 : 2) : (a->status == SHMCTL_ST_STALE ? 0 : 1);
	int rb = b->status == SHMCTL_ST_OK ? (b->info.creator_alive ? 3 : 2) : (b->status == SHMCTL_ST_STALE ? 0 : 1);
	if (ra != rb)
		return ra > rb;
	if (a->have_info && b->have_info && a->info.created_ns != b->info.created_ns)
		return a->info.created_ns > b->info.created_ns;
	return a->ino > b->ino;
}

/*
 * The entry of @l that best answers "stat NAME"; @nregions receives how many
 * entries are regions (not just a stale name).
 */
static struct shmctl_region *pick(struct shmctl_list *l, size_t *nregions)
{
	struct shmctl_region *r = &l->v[0];
	*nregions = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].status != SHMCTL_ST_STALE)
			(*nregions)++;
		if (i && better(&l->v[i], r))
			r = &l->v[i];
	}
	return r;
}

/*
 * View @reg's kept handle as a ring and read its statistics into @rv.  The
 * handle passes to the ring (and is closed) once the ring header validates.
 * Return: 0, or the validation code of zipc_ring_from_region() (the handle
 * then stays in @reg) or of zipc_ring_stat().
 */
static int ring_read(struct shmctl_region *reg, struct ring_view *rv)
{
	zipc_ring *ring;
	int rc = zipc_ring_from_region(reg->handle, &ring);
	if (rc)
		return rc;
	reg->handle = NULL; /* owned by the ring now */
	/*
	 * On a busy ring the cursor and the consumer sequences are read at
	 * slightly different times, so one snapshot in a million looks
	 * impossible (-EPROTO) although the ring is healthy; a corrupted ring
	 * fails every time.  Retry before calling the ring invalid.
	 */
	for (int attempt = 0; attempt < STAT_ATTEMPTS; attempt++) {
		rc = zipc_ring_stat(ring, &rv->st, rv->peers, MAX_PEERS);
		if (rc != -EPROTO)
			break;
	}
	zipc_ring_close(ring);
	if (rc < 0)
		return rc;
	rv->total = (unsigned)rc;
	rv->npeers = rv->total < MAX_PEERS ? rv->total : MAX_PEERS;
	return 0;
}

static struct json_object *json_peer(const struct zipc_ring_peer_stat *p)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "role", json_object_new_string(p->is_consumer ? "consumer" : "producer"));
	json_object_object_add(o, "index", json_object_new_int64(p->index));
	json_object_object_add(o, "state", json_object_new_string(shmctl_peer_state_name(p->state)));
	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	json_object_object_add(o, "alive", json_object_new_boolean(p->alive));
	json_object_object_add(o, "wait", json_object_new_string(shmctl_wait_name(p->wait)));
	json_object_object_add(o, "sequence", json_object_new_uint64(p->sequence));
	json_object_object_add(o, "lag", p->is_consumer ? json_object_new_uint64(p->lag) : NULL);
	json_object_object_add(o, "waits", json_object_new_uint64(p->waits));
	json_object_object_add(o, "sleeps", json_object_new_uint64(p->sleeps));
	json_object_object_add(o, "timeouts", json_object_new_uint64(p->timeouts));
	json_object_object_add(o, "group", p->is_consumer ? json_object_new_uint64(p->group) : NULL);
	json_object_object_add(o, "after", p->is_consumer ? json_object_new_uint64(p->after) : NULL);
	return o;
}

static struct json_object *json_ring(const struct ring_view *rv)
{
	const struct zipc_ring_stat *s = &rv->st;
	struct json_object *o = json_object_new_object();
	struct json_object *peers = json_object_new_array();
	if (!o || !peers) {
		json_object_put(o);
		json_object_put(peers);
		return NULL;
	}
	json_object_object_add(o, "capacity", json_object_new_uint64(s->capacity));
	json_object_object_add(o, "slot_size", json_object_new_uint64(s->slot_size));
	json_object_object_add(o, "flags", json_object_new_uint64(s->flags));
	json_object_object_add(o, "multi_producer", json_object_new_boolean(!!(s->flags & ZIPC_RING_MULTI_PRODUCER)));
	json_object_object_add(o, "wait", json_object_new_string(shmctl_wait_name(s->wait)));
	json_object_object_add(o, "claimed", json_object_new_uint64(s->claimed));
	json_object_object_add(o, "published", json_object_new_uint64(s->published));
	json_object_object_add(o, "min_consumer", json_object_new_uint64(s->min_consumer));
	json_object_object_add(o, "fill", json_object_new_uint64(s->fill));
	json_object_object_add(o, "producers_active", json_object_new_uint64(s->producers_active));
	json_object_object_add(o, "consumers_active", json_object_new_uint64(s->consumers_active));
	json_object_object_add(o, "consumers_sleeping", json_object_new_uint64(s->consumers_sleeping));
	json_object_object_add(o, "producers_sleeping", json_object_new_uint64(s->producers_sleeping));
	json_object_object_add(o, "consumer_wakes", json_object_new_uint64(s->consumer_wakes));
	json_object_object_add(o, "producer_wakes", json_object_new_uint64(s->producer_wakes));
	json_object_object_add(o, "numa_node", s->numa_node >= 0 ? json_object_new_int(s->numa_node) : NULL);
	json_object_object_add(o, "max_producers", json_object_new_uint64(s->max_producers));
	json_object_object_add(o, "max_consumers", json_object_new_uint64(s->max_consumers));
	json_object_object_add(o, "producer_attaches", json_object_new_uint64(s->producer_attaches));
	json_object_object_add(o, "peers_total", json_object_new_uint64(rv->total));
	json_object_object_add(o, "consumer_sleeps", json_object_new_uint64(s->consumer_sleeps));
	json_object_object_add(o, "producer_sleeps", json_object_new_uint64(s->producer_sleeps));
	json_object_object_add(o, "stage_wakes", json_object_new_uint64(s->stage_wakes));
	json_object_object_add(o, "stage_sleeps", json_object_new_uint64(s->stage_sleeps));
	json_object_object_add(o, "lost", json_object_new_uint64(s->lost));
	json_object_object_add(o, "sealed", json_object_new_boolean(!!s->sealed));
	json_object_object_add(o, "sealed_at", s->sealed ? json_object_new_uint64(s->sealed_at) : NULL);
	json_object_object_add(o, "generation", json_object_new_uint64(s->generation));
	json_object_object_add(o, "successor", s->sealed ? json_object_new_string_len(s->successor, (int)strnlen(s->successor, sizeof(s->successor))) : NULL);
	for (unsigned i = 0; i < rv->npeers; i++) {
		struct json_object *p = json_peer(&rv->peers[i]);
		if (!p || json_object_array_add(peers, p) != 0) {
			json_object_put(p);
			json_object_put(peers);
			json_object_put(o);
			return NULL;
		}
	}
	json_object_object_add(o, "peers", peers);
	return o;
}

/* Print the region part of the human-readable block. */
static void print_region(const struct shmctl_region *r)
{
	char name[4 * SHMCTL_RAW_NAME_MAX + 1], size[32], when[64], pids[1024];
	const struct zipc_region_info *in = &r->info;
	if (r->name[0])
		shmctl_escape(r->name, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "(anonymous)");
	shmctl_fmt_size(in->total_size, size, sizeof(size));
	shmctl_fmt_time(in->created_ns, when, sizeof(when));
	shmctl_fmt_pids(r->pids, r->npids, " ", pids, sizeof(pids));
	printf("region %s\n", name);
	printf("  %-14s %s\n", "kind", shmctl_kind_name(in->kind));
	printf("  %-14s %s (%llu bytes)\n", "size", size, (unsigned long long)in->total_size);
	printf("  %-14s %llu\n", "inode", (unsigned long long)r->ino);
	printf("  %-14s pid %d (%s), uid %u\n", "creator", (int)in->creator_pid,
	       in->creator_alive ? "alive" : "exited", (unsigned)in->creator_uid);
	printf("  %-14s %s\n", "created", when);
	printf("  %-14s %s\n", "pids", pids);
	if (in->numa_node >= 0)
		printf("  %-14s %d\n", "numa node", in->numa_node);
	else
		printf("  %-14s none\n", "numa node");
}

/* Print the ring part: figures, then one table row per producer / consumer. */
static int print_ring(const struct ring_view *rv)
{
	const struct zipc_ring_stat *s = &rv->st;
	double pct = s->capacity ? 100.0 * (double)s->fill / (double)s->capacity : 0.0;
	printf("ring\n");
	printf("  %-14s %llu slots x %u bytes\n", "capacity", (unsigned long long)s->capacity, (unsigned)s->slot_size);
	printf("  %-14s %s\n", "sequencer",
	       (s->flags & ZIPC_RING_MULTI_PRODUCER) ? "multi producer" : "single producer");
	printf("  %-14s %s\n", "wait strategy", shmctl_wait_name(s->wait));
	printf("  %-14s %llu\n", "published", (unsigned long long)s->published);
	printf("  %-14s %llu\n", "claimed", (unsigned long long)s->claimed);
	printf("  %-14s %llu\n", "min consumer", (unsigned long long)s->min_consumer);
	printf("  %-14s %llu / %llu slots (%.1f%%)\n", "fill", (unsigned long long)s->fill,
	       (unsigned long long)s->capacity, pct);
	printf("  %-14s %u active of %u, %u sleeping, %llu wakes, %llu attached ever\n", "producers",
	       (unsigned)s->producers_active, (unsigned)s->max_producers, (unsigned)s->producers_sleeping,
	       (unsigned long long)s->producer_wakes, (unsigned long long)s->producer_attaches);
	printf("  %-14s %u active of %u, %u sleeping, %llu wakes\n", "consumers", (unsigned)s->consumers_active,
	       (unsigned)s->max_consumers, (unsigned)s->consumers_sleeping, (unsigned long long)s->consumer_wakes);
	printf("  %-14s consumers %llu, producers %llu\n", "sleeps", (unsigned long long)s->consumer_sleeps,
	       (unsigned long long)s->producer_sleeps);
	printf("  %-14s %llu wakes, %llu sleeps\n", "stages", (unsigned long long)s->stage_wakes,
	       (unsigned long long)s->stage_sleeps);
	printf("  %-14s %llu\n", "lost slots", (unsigned long long)s->lost);
	if (s->sealed) {
		char succ[4 * sizeof(s->successor) + 1];
		char raw[sizeof(s->successor) + 1];
		memcpy(raw, s->successor, sizeof(s->successor));
		raw[sizeof(s->successor)] = '\0';
		shmctl_escape(raw, succ, sizeof(succ));
		printf("  %-14s yes, at %llu, successor %s (generation %u)\n", "sealed",
		       (unsigned long long)s->sealed_at, succ, (unsigned)s->generation);
	} else {
		printf("  %-14s no (generation %u)\n", "sealed", (unsigned)s->generation);
	}
	if (s->numa_node >= 0)
		printf("  %-14s %d\n", "numa node", s->numa_node);
	else
		printf("  %-14s none\n", "numa node");

	if (rv->npeers == 0) {
		printf("peers: none\n");
		return 0;
	}
	static const char *const hdr[] = {"ROLE", "INDEX", "STATE", "PID", "ALIVE", "WAIT",
					  "SEQUENCE", "LAG", "WAITS", "SLEEPS", "TIMEOUTS", "GROUP", "AFTER"};
	struct shmctl_table t;
	shmctl_table_init(&t, 13, hdr, "lrlrllrrrrrrr");
	int rc = 0;
	for (unsigned i = 0; i < rv->npeers && rc == 0; i++) {
		const struct zipc_ring_peer_stat *p = &rv->peers[i];
		char idx[16], pid[16], seq[24], lag[24], waits[24], sleeps[24], touts[24], grp[16], aft[16];
		snprintf(grp, sizeof(grp), "%u", (unsigned)p->group);
		snprintf(aft, sizeof(aft), "0x%x", (unsigned)p->after);
		snprintf(idx, sizeof(idx), "%u", p->index);
		snprintf(pid, sizeof(pid), "%d", (int)p->pid);
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)p->sequence);
		snprintf(lag, sizeof(lag), "%llu", (unsigned long long)p->lag);
		snprintf(waits, sizeof(waits), "%llu", (unsigned long long)p->waits);
		snprintf(sleeps, sizeof(sleeps), "%llu", (unsigned long long)p->sleeps);
		snprintf(touts, sizeof(touts), "%llu", (unsigned long long)p->timeouts);
		const char *row[] = {p->is_consumer ? "consumer" : "producer",
				     idx,
				     shmctl_peer_state_name(p->state),
				     p->pid ? pid : "-",
				     p->alive ? "yes" : "no",
				     shmctl_wait_name(p->wait),
				     seq,
				     p->is_consumer ? lag : "-",
				     waits,
				     sleeps,
				     touts,
				     p->is_consumer ? grp : "-",
				     p->is_consumer ? aft : "-"};
		rc = shmctl_table_add(&t, row);
	}
	if (rc == 0) {
		printf("peers\n");
		shmctl_table_print(&t, stdout, "  ");
		if (rv->total > rv->npeers)
			printf("  (%u more not shown)\n", rv->total - rv->npeers);
	}
	shmctl_table_free(&t);
	return rc;
}

/* Explain on stderr why @r cannot be shown. */
static void report_failure(const char *what, const struct shmctl_region *r)
{
	char where[48] = "";
	if (r->have_ino)
		snprintf(where, sizeof(where), " (inode %llu)", (unsigned long long)r->ino);
	switch (r->status) {
	case SHMCTL_ST_STALE:
		shmctl_errorf("stat: %s: stale name in %s: its creator is gone and no process serves it", what,
			      zipc_runtime_dir());
		break;
	case SHMCTL_ST_INITIALIZING:
		shmctl_errorf("stat: %s: region%s is still being created", what, where);
		break;
	case SHMCTL_ST_INVALID:
		shmctl_errorf("stat: %s: invalid region%s: %s (%s, %d)", what, where, zipc_strerror(r->err),
			      shmctl_errname(r->err), r->err);
		break;
	default:
		shmctl_errorf("stat: %s: cannot read region%s: %s (%s, %d)%s", what, where, zipc_strerror(r->err),
			      shmctl_errname(r->err), r->err,
			      r->err == -EACCES ? "; run as root or as the region's owner" : "");
		break;
	}
}

int shmctl_cmd_stat(int argc, char **argv, const struct shmctl_globals *gl)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"inode", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct shmctl_globals g = *gl;
	struct shmctl_filter flt = {.name = NULL, .by_ino = 0, .keep_handles = 1, .stale = 1};
	int c;
	while ((c = getopt_long(argc, argv, "jpi:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': g.json = 1; break;
		case 'p': g.json = g.pretty = 1; break;
		case 'h': shmctl_help_stat(stdout); return SHMCTL_EXIT_OK;
		case 'i': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || v == 0 || optarg[0] == '-') {
				shmctl_errorf("stat: bad inode number '%s'", optarg);
				return SHMCTL_EXIT_USAGE;
			}
			flt.by_ino = 1;
			flt.ino = (ino_t)v;
			break;
		}
		default:
			fprintf(stderr, "Try 'shmctl stat --help'.\n");
			return SHMCTL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1 || (argc - optind == 0 && !flt.by_ino)) {
		shmctl_errorf("stat: %s", argc - optind > 1 ? "too many arguments" : "missing region NAME");
		fprintf(stderr, "Try 'shmctl stat --help'.\n");
		return SHMCTL_EXIT_USAGE;
	}
	if (optind < argc) {
		flt.name = argv[optind];
		if (!flt.name[0]) {
			shmctl_errorf("stat: empty region name");
			return SHMCTL_EXIT_USAGE;
		}
	}
	char what[4 * SHMCTL_RAW_NAME_MAX + 32];
	if (flt.name)
		shmctl_escape(flt.name, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "inode %llu", (unsigned long long)flt.ino);

	struct shmctl_list l;
	struct shmctl_region *r = NULL;
	size_t nregions = 0;
	int rc = shmctl_regions_collect(&flt, &l);
	if (rc == 0 && l.n)
		r = pick(&l, &nregions);
	if (rc) {
		shmctl_errorf("stat: cannot scan /proc: %s (%s)", zipc_strerror(rc), shmctl_errname(rc));
		shmctl_regions_free(&l);
		return SHMCTL_EXIT_ERR;
	}
	if (l.n == 0) {
		shmctl_errorf("stat: %s: no such region", what);
		shmctl_regions_free(&l);
		return SHMCTL_EXIT_ERR;
	}
	if (nregions > 1)
		shmctl_errorf("stat: note: %zu regions named %s; showing inode %llu (pick one with --inode)",
			      nregions, what, (unsigned long long)r->ino);

	static struct ring_view rv; /* large: keep it off the stack */
	int is_ring = 0;
	if (r->status == SHMCTL_ST_OK && r->info.kind == ZIPC_KIND_RING) {
		rc = ring_read(r, &rv);
		if (rc) {
			r->status = SHMCTL_ST_INVALID;
			r->err = rc;
		} else {
			is_ring = 1;
		}
	}

	struct shmctl_kview *kv = NULL;
	if (r->status == SHMCTL_ST_OK && r->info.kind != ZIPC_KIND_RING) {
		rc = shmctl_kview_read(r, &kv);
		if (rc < 0) {
			r->status = SHMCTL_ST_INVALID;
			r->err = rc;
		}
	}

	int ret = r->status == SHMCTL_ST_OK ? SHMCTL_EXIT_OK : SHMCTL_EXIT_ERR;
	if (ret != SHMCTL_EXIT_OK)
		report_failure(what, r);
	if (g.json && r->status != SHMCTL_ST_STALE) {
		struct json_object *o = shmctl_json_region(r);
		struct json_object *ring = is_ring ? json_ring(&rv) : NULL;
		struct json_object *kind = kv ? shmctl_kview_json(kv) : NULL;
		if (!o || (is_ring && !ring) || (kv && !kind)) {
			json_object_put(o);
			json_object_put(ring);
			json_object_put(kind);
			shmctl_errorf("stat: out of memory");
			ret = SHMCTL_EXIT_ERR;
		} else {
			json_object_object_add(o, "ring", ring);
			if (kv)
				json_object_object_add(o, shmctl_kview_key(kv), kind);
			if (shmctl_json_emit(o, &g) != SHMCTL_EXIT_OK)
				ret = SHMCTL_EXIT_ERR;
		}
	} else if (ret == SHMCTL_EXIT_OK) {
		print_region(r);
		if ((is_ring && print_ring(&rv) != 0) || (kv && shmctl_kview_print(kv) != 0)) {
			shmctl_errorf("stat: out of memory");
			ret = SHMCTL_EXIT_ERR;
		}
	}
	shmctl_kview_free(kv);
	shmctl_regions_free(&l);
	return ret;
}
