/* SPDX-License-Identifier: MIT */
/*
 * tools/output.c - output helpers shared by the shmctl commands: names of
 * enum values, safe printing of untrusted strings, sizes and times, JSON
 * emission (json-c) and aligned text tables.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmctl.h"

/** shmctl_status_name() - the stable word for a region status ("ok", ...). */
const char *shmctl_status_name(enum shmctl_status st)
{
	switch (st) {
	case SHMCTL_ST_OK: return "ok";
	case SHMCTL_ST_UNAVAILABLE: return "unavailable";
	case SHMCTL_ST_INVALID: return "invalid";
	case SHMCTL_ST_INITIALIZING: return "initializing";
	case SHMCTL_ST_STALE: return "stale";
	}
	return "unknown";
}

/** shmctl_status_error() - why region @r is not "ok", in words. */
const char *shmctl_status_error(const struct shmctl_region *r)
{
	switch (r->status) {
	case SHMCTL_ST_OK: return "";
	case SHMCTL_ST_STALE: return "name left by a creator that died: nobody serves it";
	case SHMCTL_ST_INITIALIZING: return "the creator is still writing the region header";
	default: return zipc_strerror(r->err);
	}
}

/** shmctl_kind_name() - "raw", "ring", "record", "mesh", "dispatch", "pool", "sched" or "unknown". */
const char *shmctl_kind_name(uint32_t kind)
{
	switch (kind) {
	case ZIPC_KIND_RAW: return "raw";
	case ZIPC_KIND_RING: return "ring";
	case ZIPC_KIND_RECORD: return "record";
	case ZIPC_KIND_MESH: return "mesh";
	case ZIPC_KIND_DISPATCH: return "dispatch";
	case ZIPC_KIND_POOL: return "pool";
	case ZIPC_KIND_SCHED: return "sched";
	default: return "unknown";
	}
}

/** shmctl_wait_name() - "default", "spin", "yield", "block" or "unknown". */
const char *shmctl_wait_name(uint32_t wait)
{
	switch (wait) {
	case ZIPC_WAIT_DEFAULT: return "default";
	case ZIPC_WAIT_SPIN: return "spin";
	case ZIPC_WAIT_YIELD: return "yield";
	case ZIPC_WAIT_BLOCK: return "block";
	default: return "unknown";
	}
}

/** shmctl_peer_state_name() - "free", "busy", "active", "reserved" or "unknown". */
const char *shmctl_peer_state_name(uint32_t state)
{
	switch (state) {
	case ZIPC_PEER_FREE: return "free";
	case ZIPC_PEER_BUSY: return "busy";
	case ZIPC_PEER_ACTIVE: return "active";
	case ZIPC_PEER_RESERVED: return "reserved";
	default: return "unknown";
	}
}

/** shmctl_errname() - symbolic name of a (negative) code, e.g. "EPROTO". */
const char *shmctl_errname(int err)
{
	const char *s = strerrorname_np(err < 0 ? -err : err);
	return s ? s : "E?";
}

/**
 * shmctl_escape() - copy the untrusted string @in (a name read from /proc or
 * shared memory) to @out for a terminal: bytes outside printable ASCII and
 * the backslash become \xNN.  Always NUL-terminates; truncates to fit.
 */
void shmctl_escape(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outsz == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)*p;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/** shmctl_fmt_size() - @bytes as "512 B", "4.0 KiB", "1.5 MiB", ... */
void shmctl_fmt_size(uint64_t bytes, char *out, size_t outsz)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (bytes < 1024) {
		snprintf(out, outsz, "%llu B", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, outsz, "%.1f %s", v, unit[u]);
}

/** shmctl_fmt_time() - a CLOCK_REALTIME time in ns as local "YYYY-MM-DD HH:MM:SS.mmm +ZZZZ". */
void shmctl_fmt_time(int64_t realtime_ns, char *out, size_t outsz)
{
	time_t sec = (time_t)(realtime_ns / ZIPC_SEC);
	long ms = (long)((realtime_ns % ZIPC_SEC) / ZIPC_MSEC);
	struct tm tm;
	char day[32], zone[8];
	if (realtime_ns < 0 || !localtime_r(&sec, &tm) || strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof(zone), "%z", &tm) == 0) {
		snprintf(out, outsz, "%lld ns", (long long)realtime_ns);
		return;
	}
	snprintf(out, outsz, "%s.%03ld %s", day, ms, zone);
}

/** shmctl_fmt_pids() - "1 2 3" (with @sep); "-" if @n is 0; "..." when truncated. */
void shmctl_fmt_pids(const pid_t *pids, size_t n, const char *sep, char *out, size_t outsz)
{
	size_t o = 0;
	if (outsz == 0)
		return;
	out[0] = '\0';
	if (n == 0) {
		snprintf(out, outsz, "-");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, outsz - o, "%s%d", i ? sep : "", (int)pids[i]);
		if (w < 0 || (size_t)w >= outsz - o) {
			/* does not fit: end with an ellipsis */
			if (outsz >= 4)
				memcpy(out + outsz - 4, "...", 4);
			return;
		}
		o += (size_t)w;
	}
}

/**
 * shmctl_json_emit() - print @o on stdout (one line, or indented with
 * --pretty) and drop the caller's reference.
 * Return: SHMCTL_EXIT_OK, or SHMCTL_EXIT_ERR if it could not be written.
 */
int shmctl_json_emit(struct json_object *o, const struct shmctl_globals *g)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (g->pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(o, flags);
	int rc = SHMCTL_EXIT_OK;
	if (!s || fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF) {
		shmctl_errorf("cannot write the JSON output");
		rc = SHMCTL_EXIT_ERR;
	}
	json_object_put(o);
	return rc;
}

/** shmctl_json_pids() - a JSON array of pids. */
struct json_object *shmctl_json_pids(const pid_t *pids, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_int(pids[i]));
	return a;
}

/**
 * shmctl_json_region() - the JSON object describing region @r (one element
 * of `ls --json`, the top of `stat --json`).  Stable keys: name, kind, size,
 * creator_pid, creator_alive, pids, uid, created_ns (null when unknown),
 * plus status, inode (null for a stale name), numa_node and, when the status
 * is not "ok", error and error_code.
 */
struct json_object *shmctl_json_region(const struct shmctl_region *r)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	const struct zipc_region_info *in = r->have_info ? &r->info : NULL;
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "kind", in ? json_object_new_string(shmctl_kind_name(in->kind)) : NULL);
	json_object_object_add(o, "size", r->size ? json_object_new_uint64(r->size) : NULL);
	json_object_object_add(o, "creator_pid", in ? json_object_new_int(in->creator_pid) : NULL);
	json_object_object_add(o, "creator_alive",
			       in ? json_object_new_boolean(in->creator_alive)
				  : (r->status == SHMCTL_ST_STALE ? json_object_new_boolean(0) : NULL));
	json_object_object_add(o, "pids", shmctl_json_pids(r->pids, r->npids));
	json_object_object_add(o, "uid", in ? json_object_new_int64(in->creator_uid) : NULL);
	json_object_object_add(o, "created_ns", in ? json_object_new_int64(in->created_ns) : NULL);
	json_object_object_add(o, "status", json_object_new_string(shmctl_status_name(r->status)));
	json_object_object_add(o, "inode", r->have_ino ? json_object_new_uint64((uint64_t)r->ino) : NULL);
	json_object_object_add(o, "numa_node",
			       in && in->numa_node >= 0 ? json_object_new_int(in->numa_node) : NULL);
	if (r->status != SHMCTL_ST_OK) {
		json_object_object_add(o, "error", json_object_new_string(shmctl_status_error(r)));
		json_object_object_add(o, "error_code", json_object_new_int(r->err));
	}
	return o;
}

/** shmctl_table_init() - an empty table of @ncols columns (strings not copied). */
void shmctl_table_init(struct shmctl_table *t, size_t ncols, const char *const *headers, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->headers = headers;
	t->align = align;
}

/** shmctl_table_add() - append a row of @t->ncols strings (copied). Return: 0 or -ENOMEM. */
int shmctl_table_add(struct shmctl_table *t, const char *const *row)
{
	if (t->nrows == t->caprows) {
		size_t cap = t->caprows ? t->caprows * 2 : 16;
		char **cells = realloc(t->cells, cap * t->ncols * sizeof(char *));
		if (!cells)
			return -ENOMEM;
		t->cells = cells;
		t->caprows = cap;
	}
	char **dst = t->cells + t->nrows * t->ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		dst[c] = strdup(row[c] ? row[c] : "");
		if (!dst[c]) {
			while (c--)
				free(dst[c]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

/** shmctl_table_print() - print header and rows, columns padded to their widest cell. */
void shmctl_table_print(const struct shmctl_table *t, FILE *out, const char *indent)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(size_t));
	if (!w)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->headers[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		fputs(indent, out);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->headers[c] : t->cells[(r - 1) * t->ncols + c];
			int last = c + 1 == t->ncols;
			if (t->align[c] == 'r')
				fprintf(out, "%*s%s", (int)w[c], s, last ? "" : "  ");
			else if (last)
				fputs(s, out); /* no trailing blanks */
			else
				fprintf(out, "%-*s  ", (int)w[c], s);
		}
		fputc('\n', out);
	}
	free(w);
}

/** shmctl_table_free() - free the table's cells. */
void shmctl_table_free(struct shmctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/** shmctl_errorf() - print "shmctl: <message>" on stderr. */
void shmctl_errorf(const char *fmt, ...)
{
	va_list ap;
	fputs("shmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
