/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_ls.c - `shmctl ls`: list every zipc region on the host (found in
 * /proc, no registry needed) and the stale names of the runtime directory.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shmctl.h"

void shmctl_help_ls(FILE *out)
{
	fprintf(out,
		"Usage: shmctl ls [--json] [--pretty]\n"
		"List every zipc region held by a process on this host: regions with an open\n"
		"descriptor or a mapping anywhere, including those whose creator has exited.\n"
		"Names left in the runtime directory by a creator that died are listed as stale.\n"
		"\n"
		"Columns: NAME, KIND (raw/ring/record/mesh/dispatch/pool/sched), SIZE,\n"
		"CREATOR (pid), ALIVE (creator still runs), UID (creator's), PIDS (processes\n"
		"holding a descriptor or mapping), STATUS:\n"
		"  ok            header validated\n"
		"  stale         a served name whose creator is gone (no region behind it)\n"
		"  invalid       the region failed validation (corrupted or not zipc)\n"
		"  unavailable   could not be opened (permission: run as root or the owner)\n"
		"  initializing  the creator is still writing the header\n"
		"\n"
		"  -j, --json    a JSON array of objects with the keys name, kind, size,\n"
		"                creator_pid, creator_alive, pids, uid, created_ns, status,\n"
		"                inode, numa_node (and error, error_code when status is not ok);\n"
		"                unknown values are null\n"
		"  -p, --pretty  indented JSON (implies --json)\n"
		"  -h, --help    show this help\n"
		"\n"
		"Exit status: 0 listed (even if empty), 1 /proc unreadable, 2 usage error.\n");
}

/* One table row for @r. */
static int ls_row(struct shmctl_table *t, const struct shmctl_region *r)
{
	char name[4 * SHMCTL_RAW_NAME_MAX + 1], size[32], creator[16], uid[16], pids[256], status[64];
	const struct zipc_region_info *in = r->have_info ? &r->info : NULL;
	if (r->name[0])
		shmctl_escape(r->name, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "(anonymous)");
	if (r->size)
		shmctl_fmt_size(r->size, size, sizeof(size));
	else
		snprintf(size, sizeof(size), "-");
	snprintf(creator, sizeof(creator), "%d", in ? (int)in->creator_pid : 0);
	snprintf(uid, sizeof(uid), "%u", in ? (unsigned)in->creator_uid : 0u);
	shmctl_fmt_pids(r->pids, r->npids, ",", pids, sizeof(pids));
	if (r->status == SHMCTL_ST_OK || r->status == SHMCTL_ST_STALE)
		snprintf(status, sizeof(status), "%s", shmctl_status_name(r->status));
	else
		snprintf(status, sizeof(status), "%s (%s)", shmctl_status_name(r->status), shmctl_errname(r->err));
	const char *row[] = {
		name,
		in ? shmctl_kind_name(in->kind) : "-",
		size,
		in ? creator : "-",
		in ? (in->creator_alive ? "yes" : "no") : (r->status == SHMCTL_ST_STALE ? "no" : "-"),
		in ? uid : "-",
		pids,
		status,
	};
	return shmctl_table_add(t, row);
}

int shmctl_cmd_ls(int argc, char **argv, const struct shmctl_globals *gl)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct shmctl_globals g = *gl;
	int c;
	while ((c = getopt_long(argc, argv, "jph", opts, NULL)) != -1) {
		switch (c) {
		case 'j': g.json = 1; break;
		case 'p': g.json = g.pretty = 1; break;
		case 'h': shmctl_help_ls(stdout); return SHMCTL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'shmctl ls --help'.\n");
			return SHMCTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		shmctl_errorf("ls: unexpected argument '%s'", argv[optind]);
		return SHMCTL_EXIT_USAGE;
	}

	struct shmctl_filter flt = {.name = NULL, .by_ino = 0, .keep_handles = 0, .stale = 1};
	struct shmctl_list l;
	int rc = shmctl_regions_collect(&flt, &l);
	if (rc) {
		shmctl_errorf("ls: cannot scan /proc: %s (%s)", zipc_strerror(rc), shmctl_errname(rc));
		shmctl_regions_free(&l);
		return SHMCTL_EXIT_ERR;
	}

	int ret = SHMCTL_EXIT_OK;
	if (g.json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; a && i < l.n; i++) {
			struct json_object *o = shmctl_json_region(&l.v[i]);
			if (!o || json_object_array_add(a, o) != 0) {
				json_object_put(o);
				json_object_put(a);
				a = NULL;
			}
		}
		if (!a) {
			shmctl_errorf("ls: out of memory");
			ret = SHMCTL_EXIT_ERR;
		} else {
			ret = shmctl_json_emit(a, &g);
		}
	} else if (l.n == 0) {
		printf("no zipc regions found\n");
	} else {
		static const char *const hdr[] = {"NAME", "KIND", "SIZE", "CREATOR", "ALIVE", "UID", "PIDS", "STATUS"};
		struct shmctl_table t;
		shmctl_table_init(&t, 8, hdr, "llrrlrll");
		for (size_t i = 0; i < l.n && ret == SHMCTL_EXIT_OK; i++)
			if (ls_row(&t, &l.v[i]) != 0) {
				shmctl_errorf("ls: out of memory");
				ret = SHMCTL_EXIT_ERR;
			}
		if (ret == SHMCTL_EXIT_OK)
			shmctl_table_print(&t, stdout, "");
		shmctl_table_free(&t);
	}
	shmctl_regions_free(&l);
	return ret;
}
