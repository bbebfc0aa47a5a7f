/* SPDX-License-Identifier: MIT */
/*
 * shm/shm_pvt.h - private to libzipc: the region handle and helpers shared
 * by shm/ and ring/.  Never installed.
 */
#ifndef ZIPC_SHM_PVT_H
#define ZIPC_SHM_PVT_H

#include <pthread.h>
#include <stdint.h>

#include <zipc/shm.h>

/* Per-process region handle. */
struct zipc_region {
	int fd;                      /* the memfd (close-on-exec) */
	unsigned char *base;         /* mapping of the whole memfd */
	uint64_t map_size;           /* bytes mapped */
	const struct zipc_region_hdr *hdr; /* -> hdr_copy: validated private copy */
	struct zipc_region_hdr hdr_copy;
	int read_only;
	int is_creator;
	pid_t owner_pid;             /* process that created the handle (fork check) */
	/* name service (creator only, unless anonymous) */
	int lock_fd;                 /* flock'd <dir>/<name>.lock, or -1 */
	int listen_fd;               /* bound <dir>/<name>.sock, or -1 */
	int server_running;          /* registered with the process's server thread */
	struct zipc_region *serve_next; /* list of served regions (serve.c) */
	char sock_path[256];
	char lock_path[256];
};

/* Logging (no-op unless a hook is installed). */
void zipc__log(enum zipc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* FNV-1a 64-bit hash of @len bytes. */
uint64_t zipc__fnv1a(const void *p, size_t len);

/* Validate a region name: 0, -EINVAL or -ENAMETOOLONG. */
int zipc__name_check(const char *name);

/* Build "<dir>/<name><suffix>" into @buf; -ENAMETOOLONG if it does not fit. */
int zipc__runtime_path(char *buf, size_t size, const char *name, const char *suffix);

/* Make sure the runtime directory exists (mode 01777, like /tmp). */
int zipc__runtime_dir_prepare(void);

/* Name service: start serving @r's memfd under its name (creator side). */
int zipc__serve_start(struct zipc_region *r, const char *name, int group);
void zipc__serve_stop(struct zipc_region *r);
/* In a forked child: close the inherited server descriptors only. */
void zipc__serve_drop(struct zipc_region *r);

/* Client side: fetch the memfd served under @name; returns fd or -errno. */
int zipc__serve_fetch(const char *name);

#endif /* ZIPC_SHM_PVT_H */
