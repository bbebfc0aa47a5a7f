/* SPDX-License-Identifier: MIT */
/*
 * tools/shmctl.h - internal interfaces of shmctl, the zipc operator CLI:
 * the command table, the /proc scanner, the region model and the output
 * helpers shared by the commands.  Not installed; nothing here is API.
 */
#ifndef SHMCTL_H
#define SHMCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <zipc/dispatch.h>
#include <zipc/mesh.h>
#include <zipc/record.h>
#include <zipc/ring.h>
#include <zipc/shm.h>

/* ------------------------------------------------------------ exit codes */

#define SHMCTL_EXIT_OK 0    /* success */
#define SHMCTL_EXIT_ERR 1   /* error, region not found, region invalid */
#define SHMCTL_EXIT_USAGE 2 /* bad command line */

/* ---------------------------------------------------------- command table */

/** Options accepted before the command name and by every command. */
struct shmctl_globals {
	int json;   /* --json: machine-readable output */
	int pretty; /* --pretty: indented JSON (implies --json) */
};

/**
 * struct shmctl_cmd - one sub-command.
 * @name:     what the user types.
 * @synopsis: arguments after the name, for the usage line.
 * @summary:  one line for `shmctl --help`.
 * @run:      runs the command; @argv[0] is "shmctl NAME", options follow
 *            (parse with getopt_long); returns an SHMCTL_EXIT_* code.
 * @help:     prints the command's full help to @out.
 */
struct shmctl_cmd {
	const char *name;
	const char *synopsis;
	const char *summary;
	int (*run)(int argc, char **argv, const struct shmctl_globals *g);
	void (*help)(FILE *out);
};

int shmctl_cmd_ls(int argc, char **argv, const struct shmctl_globals *g);
void shmctl_help_ls(FILE *out);
int shmctl_cmd_stat(int argc, char **argv, const struct shmctl_globals *g);
void shmctl_help_stat(FILE *out);

/* ---------------------------------------------------------- /proc scanner */

/** Longest memfd name the kernel keeps (NAME_MAX - strlen("memfd:")), plus slack. */
#define SHMCTL_RAW_NAME_MAX 255

/** One process's hold on a region: an open descriptor or a mapping. */
struct shmctl_holder {
	pid_t pid;
	int fd;         /* descriptor number in @pid, or -1 for a mapping */
	uint64_t start; /* mapping: first byte (map_files/<start>-<end>) */
	uint64_t end;   /* mapping: one past the last byte */
};

/** A memfd named "zipc:*" found in /proc, identified by its inode. */
struct shmctl_found {
	dev_t dev;
	ino_t ino;
	char name[SHMCTL_RAW_NAME_MAX + 1]; /* memfd name after "zipc:", raw bytes */
	struct shmctl_holder *holders;
	size_t nholders, capholders;
	pid_t *pids;      /* holders' pids, sorted, unique (after the scan) */
	size_t npids;
	uint64_t map_len; /* longest mapping seen, bytes (0 if only descriptors) */
};

/** Result of shmctl_scan_proc(). */
struct shmctl_scan {
	struct shmctl_found *v;
	size_t n, cap;
};

int shmctl_scan_proc(struct shmctl_scan *s);
void shmctl_scan_free(struct shmctl_scan *s);
int shmctl_found_open(const struct shmctl_found *f, int *fd_out);

/* ----------------------------------------------------------- region model */

/** What shmctl could learn about a listed region or name. */
enum shmctl_status {
	SHMCTL_ST_OK = 0,       /* header validated, details known */
	SHMCTL_ST_UNAVAILABLE,  /* held by processes but could not be opened */
	SHMCTL_ST_INVALID,      /* opened, failed validation (corrupted / not zipc) */
	SHMCTL_ST_INITIALIZING, /* creator still writing the header */
	SHMCTL_ST_STALE,        /* a name in the runtime dir that nobody serves */
};

/** One row of `ls`, one subject of `stat`. */
struct shmctl_region {
	char name[SHMCTL_RAW_NAME_MAX + 1]; /* header name if valid, else memfd / socket name */
	enum shmctl_status status;
	int err;                     /* zipc code behind a non-OK status, else 0 */
	int have_ino;                /* @dev/@ino known (not for stale names) */
	dev_t dev;
	ino_t ino;
	int have_info;               /* @info filled from the validated header */
	struct zipc_region_info info;
	uint64_t size;               /* header total size, else longest mapping, else 0 */
	pid_t *pids;                 /* processes holding a descriptor or mapping */
	size_t npids;
	zipc_region *handle;         /* read-only mapping (only if asked to keep it) */
};

/** A list of regions (shmctl_regions_collect()). */
struct shmctl_list {
	struct shmctl_region *v;
	size_t n;
};

/** Which regions shmctl_regions_collect() gathers. */
struct shmctl_filter {
	const char *name; /* only this name (memfd, header or socket name); NULL = all */
	int by_ino;       /* only the region with inode @ino */
	ino_t ino;
	int keep_handles; /* keep each valid region mapped read-only in ->handle */
	int stale;        /* also list names in the runtime dir nobody serves */
};

int shmctl_regions_collect(const struct shmctl_filter *f, struct shmctl_list *out);
void shmctl_regions_free(struct shmctl_list *l);

/* ------------------------------------------- other kinds (kinds.c, stat) */

/** Kind-specific figures of a record ring, mesh or dispatcher region. */
struct shmctl_kview;

int shmctl_kview_read(struct shmctl_region *reg, struct shmctl_kview **out);
void shmctl_kview_free(struct shmctl_kview *v);
const char *shmctl_kview_key(const struct shmctl_kview *v);
struct json_object *shmctl_kview_json(const struct shmctl_kview *v);
int shmctl_kview_print(const struct shmctl_kview *v);

/* ---------------------------------------------------------------- output */

const char *shmctl_status_name(enum shmctl_status st);
const char *shmctl_status_error(const struct shmctl_region *r);
const char *shmctl_kind_name(uint32_t kind);
const char *shmctl_wait_name(uint32_t wait);
const char *shmctl_peer_state_name(uint32_t state);
const char *shmctl_errname(int err);

void shmctl_escape(const char *in, char *out, size_t outsz);
void shmctl_fmt_size(uint64_t bytes, char *out, size_t outsz);
void shmctl_fmt_time(int64_t realtime_ns, char *out, size_t outsz);
void shmctl_fmt_pids(const pid_t *pids, size_t n, const char *sep, char *out, size_t outsz);

int shmctl_json_emit(struct json_object *o, const struct shmctl_globals *g);
struct json_object *shmctl_json_pids(const pid_t *pids, size_t n);
struct json_object *shmctl_json_region(const struct shmctl_region *r);

/** A text table with aligned columns (ls, the peers of stat). */
struct shmctl_table {
	size_t ncols;
	const char *const *headers;
	const char *align; /* one 'l' or 'r' per column */
	char **cells;      /* nrows * ncols owned strings */
	size_t nrows, caprows;
};

void shmctl_table_init(struct shmctl_table *t, size_t ncols, const char *const *headers, const char *align);
int shmctl_table_add(struct shmctl_table *t, const char *const *row);
void shmctl_table_print(const struct shmctl_table *t, FILE *out, const char *indent);
void shmctl_table_free(struct shmctl_table *t);

void shmctl_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SHMCTL_H */
