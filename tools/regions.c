/* SPDX-License-Identifier: MIT */
/*
 * tools/regions.c - the region model behind `ls` and `stat`: the /proc scan
 * turned into validated, read-only views, plus the names in the runtime
 * directory that no live creator serves any more ("stale").
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "shmctl.h"

/* Append a zeroed entry to @l; NULL when out of memory. */
static struct shmctl_region *list_push(struct shmctl_list *l, size_t *cap)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct shmctl_region *v = realloc(l->v, ncap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		*cap = ncap;
	}
	struct shmctl_region *r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* Is @err a verdict on the region's contents (rather than on our access)? */
static int is_validation_error(int err)
{
	switch (-err) {
	case EBADFD:
	case ENODATA:
	case EBADMSG:
	case EPROTONOSUPPORT:
	case EPROTO:
	case ERANGE:
	case EMEDIUMTYPE:
		return 1;
	default:
		return 0;
	}
}

/*
 * Take the validated facts of the mapped region @h into @reg; keep @h in
 * @reg->handle if @keep, else close it.
 */
static void region_fail(struct shmctl_region *reg, int err);

static void region_take(struct shmctl_region *reg, zipc_region *h, int keep)
{
	int rc = zipc_region_info(h, &reg->info);
	if (rc) {
		region_fail(reg, rc);
		zipc_region_close(h);
		return;
	}
	reg->have_info = 1;
	reg->status = SHMCTL_ST_OK;
	reg->size = reg->info.total_size;
	snprintf(reg->name, sizeof(reg->name), "%s", reg->info.name);
	if (keep)
		reg->handle = h;
	else
		zipc_region_close(h);
}

/* Record a failure to open or validate: the status follows from @err. */
static void region_fail(struct shmctl_region *reg, int err)
{
	reg->err = err;
	if (err == -EAGAIN)
		reg->status = SHMCTL_ST_INITIALIZING;
	else if (is_validation_error(err))
		reg->status = SHMCTL_ST_INVALID;
	else
		reg->status = SHMCTL_ST_UNAVAILABLE;
}

/*
 * Does the memfd look like a region being born?  Its creator goes through
 * memfd_create() (empty, unsealed), ftruncate() (zeros, unsealed), seals,
 * the header copy (magic set, layout 0) and the layout word.  libzipc
 * rightly calls the early states -EBADFD / -EBADMSG, but a region caught
 * there is no corruption: it is complete microseconds later.  Called after
 * such a verdict, a magic number that is right now also means "caught
 * while being written".
 */
static int looks_unborn(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return 0;
	if (st.st_size == 0)
		return 1;
	struct zipc_region_hdr h;
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h))
		return 0;
	/* not written yet, or written since libzipc looked */
	return (h.magic == 0 && h.layout == 0) || h.magic == ZIPC_REGION_MAGIC;
}

/* Retries for a region that looks unborn: per region, and in all (ns). */
#define BIRTH_PAUSE_NS 2000000L
#define BIRTH_WAIT_NS 40000000L
#define BIRTH_BUDGET_NS 400000000L

/*
 * Fill @reg from the scanned region @f: open it through /proc, validate it.
 * A region that looks unborn is looked at again for up to BIRTH_WAIT_NS,
 * drawing on *@budget_ns (shared by one listing, so junk memfds cannot make
 * it slow).  Still unborn after its own wait: invalid, with libzipc's code;
 * budget gone first: "initializing" (we could not tell).
 * Return: 0; 1 if the region vanished since the scan (drop the entry);
 * -ENOMEM.
 */
static int region_from_found(struct shmctl_region *reg, const struct shmctl_found *f, int keep,
			     int64_t *budget_ns)
{
	snprintf(reg->name, sizeof(reg->name), "%s", f->name);
	reg->have_ino = 1;
	reg->dev = f->dev;
	reg->ino = f->ino;
	reg->size = f->map_len;
	reg->npids = f->npids;
	if (f->npids) {
		reg->pids = malloc(f->npids * sizeof(pid_t));
		if (!reg->pids)
			return -ENOMEM;
		memcpy(reg->pids, f->pids, f->npids * sizeof(pid_t));
	}
	for (int64_t waited = 0;; waited += BIRTH_PAUSE_NS) {
		int fd;
		int rc = shmctl_found_open(f, &fd);
		if (rc == -ENOENT)
			return 1; /* every holder let go of it meanwhile */
		if (rc) {
			region_fail(reg, rc);
			return 0;
		}
		zipc_region *h;
		rc = zipc_region_from_fd(fd, ZIPC_ATTACH_RDONLY, &h); /* dups fd */
		int unborn = rc == -EAGAIN || ((rc == -EBADFD || rc == -EBADMSG) && looks_unborn(fd));
		close(fd);
		if (rc == 0) {
			region_take(reg, h, keep);
			return 0;
		}
		if (!unborn || waited >= BIRTH_WAIT_NS) {
			region_fail(reg, rc); /* EAGAIN stays "initializing" */
			return 0;
		}
		if (*budget_ns < BIRTH_PAUSE_NS) {
			region_fail(reg, -EAGAIN);
			reg->err = rc;
			return 0;
		}
		*budget_ns -= BIRTH_PAUSE_NS;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = BIRTH_PAUSE_NS};
		nanosleep(&ts, NULL);
	}
}

/* Could @name be a zipc region name ([A-Za-z0-9._-], not starting with '.')? */
static int name_plausible(const char *name, size_t len)
{
	if (len == 0 || len > ZIPC_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Is @name already listed as a valid region whose creator still runs? */
static int listed_live(const struct shmctl_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct shmctl_region *r = &l->v[i];
		if (r->have_info && r->info.creator_alive && strcmp(r->info.name, name) == 0)
			return 1;
	}
	return 0;
}

static int listed_ino(const struct shmctl_list *l, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].have_ino && l->v[i].dev == dev && l->v[i].ino == ino)
			return 1;
	return 0;
}

/*
 * Does a process hold the flock on "<runtime dir>/<name>.lock" (libzipc's
 * ownership of a name)?  Read from /proc/locks, so nobody's lock is touched.
 * Return: 1 held, 0 not held (or no lock file), -errno if unknown.
 */
static int name_lock_held(const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s.lock", zipc_runtime_dir(), name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	FILE *fp = fopen("/proc/locks", "re");
	if (!fp)
		return -errno;
	int held = 0;
	char line[256];
	while (!held && fgets(line, sizeof(line), fp)) {
		/* "1: FLOCK  ADVISORY  WRITE 4242 00:1a:5678 0 EOF"; waiters have "->" */
		char type[16];
		int pid;
		unsigned maj, min;
		unsigned long long ino;
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%llu", type, &pid, &maj, &min, &ino) == 5 &&
		    strcmp(type, "FLOCK") == 0 && makedev(maj, min) == st.st_dev && ino == (unsigned long long)st.st_ino)
			held = 1;
	}
	fclose(fp);
	return held;
}

/*
 * Look at one served name @name of the runtime directory that the scan did
 * not explain.  Asking the socket is the test: a live creator answers (and
 * we list what it serves if the scan could not see it, e.g. /proc mounted
 * with hidepid), a dead one's socket refuses the connection.  A creator
 * between bind() and listen() refuses too, but holds the name's lock: only
 * a refused connection *and* a free lock make a name stale.
 */
static int probe_name(const char *name, const struct shmctl_filter *flt, struct shmctl_list *l, size_t *cap)
{
	zipc_region *h;
	int rc = zipc_region_attach(name, ZIPC_ATTACH_RDONLY, &h);
	if (rc == -ENOENT || rc == -ECONNRESET)
		return 0; /* withdrawn meanwhile, or being withdrawn (creator closing) */
	if (rc == 0) {
		struct stat st;
		if (fstat(zipc_region_fd(h), &st) != 0 || listed_ino(l, st.st_dev, st.st_ino)) {
			zipc_region_close(h);
			return 0;
		}
		struct shmctl_region *reg = list_push(l, cap);
		if (!reg) {
			zipc_region_close(h);
			return -ENOMEM;
		}
		reg->have_ino = 1;
		reg->dev = st.st_dev;
		reg->ino = st.st_ino;
		region_take(reg, h, flt->keep_handles);
		if (reg->have_info && reg->info.creator_alive) {
			reg->pids = malloc(sizeof(pid_t));
			if (!reg->pids)
				return -ENOMEM;
			reg->pids[0] = reg->info.creator_pid;
			reg->npids = 1;
		}
		return 0;
	}
	if (rc == -EOWNERDEAD && name_lock_held(name) == 1)
		return 0; /* a creator is setting this name up right now */
	struct shmctl_region *reg = list_push(l, cap);
	if (!reg)
		return -ENOMEM;
	snprintf(reg->name, sizeof(reg->name), "%s", name);
	if (rc == -EOWNERDEAD) {
		reg->status = SHMCTL_ST_STALE;
		reg->err = rc;
	} else {
		region_fail(reg, rc);
	}
	return 0;
}

/* Add the runtime directory's names that no listed live region explains. */
static int collect_names(const struct shmctl_filter *flt, struct shmctl_list *l, size_t *cap)
{
	DIR *d = opendir(zipc_runtime_dir());
	if (!d)
		return 0; /* no directory (nothing ever served) or not ours to read */
	int rc = 0;
	struct dirent *de;
	const char *suffix = ".sock";
	size_t slen = strlen(suffix);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
			continue;
		len -= slen;
		if (!name_plausible(de->d_name, len))
			continue;
		char name[ZIPC_NAME_MAX + 1];
		memcpy(name, de->d_name, len);
		name[len] = '\0';
		if ((flt->name && strcmp(flt->name, name) != 0) || listed_live(l, name))
			continue;
		rc = probe_name(name, flt, l, cap);
	}
	closedir(d);
	return rc;
}

static int region_cmp(const void *a, const void *b)
{
	const struct shmctl_region *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	if (x->status != y->status)
		return (int)x->status - (int)y->status;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

/**
 * shmctl_regions_collect() - list the regions (and optionally stale names)
 * selected by @flt.
 * @flt: what to gather; @flt->name matches the memfd name ("zipc:<name>")
 *       of scanned regions and the file name of served names.
 * @out: receives the list, sorted by name (free with shmctl_regions_free(),
 *       also on error).
 *
 * Every region is opened read-only and validated by libzipc; a failure is
 * recorded in the entry's status, never fatal.
 * Return: 0, or -errno if /proc cannot be read, or -ENOMEM.
 */
int shmctl_regions_collect(const struct shmctl_filter *flt, struct shmctl_list *out)
{
	memset(out, 0, sizeof(*out));
	size_t cap = 0;
	int64_t budget = BIRTH_BUDGET_NS;
	struct shmctl_scan s;
	memset(&s, 0, sizeof(s));
	int rc = shmctl_scan_proc(&s);
	for (size_t i = 0; rc == 0 && i < s.n; i++) {
		const struct shmctl_found *f = &s.v[i];
		if ((flt->name && strcmp(flt->name, f->name) != 0) || (flt->by_ino && flt->ino != f->ino))
			continue;
		struct shmctl_region *reg = list_push(out, &cap);
		rc = reg ? region_from_found(reg, f, flt->keep_handles, &budget) : -ENOMEM;
		if (rc == 1) { /* vanished: drop the entry */
			free(reg->pids);
			out->n--;
			rc = 0;
		}
	}
	shmctl_scan_free(&s);
	if (rc == 0 && flt->stale && !flt->by_ino)
		rc = collect_names(flt, out, &cap);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), region_cmp);
	return rc;
}

/** shmctl_regions_free() - unmap kept handles and free @l. */
void shmctl_regions_free(struct shmctl_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].pids);
		if (l->v[i].handle)
			zipc_region_close(l->v[i].handle);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
