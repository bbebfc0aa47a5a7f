/* SPDX-License-Identifier: MIT */
/*
 * tools/scan.c - find every zipc region on the host without a registry, by
 * scanning /proc/PID/fd (links "/memfd:zipc:<name> (deleted)") and
 * /proc/PID/maps (lines ending with the same path), grouped by inode.
 *
 * /proc changes under our feet: processes exit, descriptors are closed and
 * their numbers reused.  Every read here tolerates a vanished entry (it is
 * skipped), and a descriptor is only trusted if its link reads the same
 * before and after we stat it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shmctl.h"

#define MEMFD_PREFIX "/memfd:zipc:"
#define DELETED_SUFFIX " (deleted)"

/* Parse a /proc entry name (a pid, a descriptor number); -1 if it is not one. */
static int parse_num(const char *s)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

/*
 * If @path is "/memfd:zipc:<name>[ (deleted)]", copy <name> to @name and
 * return 1; else return 0.
 */
static int memfd_name(const char *path, char *name, size_t namesz)
{
	size_t plen = strlen(MEMFD_PREFIX);
	if (strncmp(path, MEMFD_PREFIX, plen) != 0)
		return 0;
	const char *s = path + plen;
	size_t len = strlen(s), slen = strlen(DELETED_SUFFIX);
	if (len >= slen && strcmp(s + len - slen, DELETED_SUFFIX) == 0)
		len -= slen;
	if (len >= namesz)
		len = namesz - 1;
	memcpy(name, s, len);
	name[len] = '\0';
	return 1;
}

/* Find the region of (@dev, @ino), adding it (named @name) if new. */
static struct shmctl_found *found_get(struct shmctl_scan *s, dev_t dev, ino_t ino, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].dev == dev && s->v[i].ino == ino)
			return &s->v[i];
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct shmctl_found *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	struct shmctl_found *f = &s->v[s->n++];
	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->ino = ino;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

static int holder_add(struct shmctl_found *f, const struct shmctl_holder *h)
{
	if (f->nholders == f->capholders) {
		size_t cap = f->capholders ? f->capholders * 2 : 4;
		struct shmctl_holder *v = realloc(f->holders, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->holders = v;
		f->capholders = cap;
	}
	f->holders[f->nholders++] = *h;
	return 0;
}

/*
 * Record every "zipc:" memfd descriptor of process @pid (directory @pfd).
 * Return: 0 (also when the process vanished or is not ours to read), or
 * -ENOMEM.
 */
static int scan_fds(struct shmctl_scan *s, pid_t pid, int pfd)
{
	int dfd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	int rc = 0;
	struct dirent *de;
	char link1[PATH_MAX], link2[PATH_MAX], name[SHMCTL_RAW_NAME_MAX + 1];
	while ((de = readdir(d)) != NULL) {
		int fdnum = parse_num(de->d_name);
		if (fdnum < 0)
			continue;
		ssize_t n = readlinkat(dfd, de->d_name, link1, sizeof(link1) - 1);
		if (n < 0)
			continue;
		link1[n] = '\0';
		if (!memfd_name(link1, name, sizeof(name)))
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, 0) != 0)
			continue;
		/* the number may have been closed and reused meanwhile */
		n = readlinkat(dfd, de->d_name, link2, sizeof(link2) - 1);
		if (n < 0)
			continue;
		link2[n] = '\0';
		if (strcmp(link1, link2) != 0 || !S_ISREG(st.st_mode))
			continue;
		struct shmctl_found *f = found_get(s, st.st_dev, st.st_ino, name);
		struct shmctl_holder h = {.pid = pid, .fd = fdnum, .start = 0, .end = 0};
		if (!f || holder_add(f, &h) != 0) {
			rc = -ENOMEM;
			break;
		}
	}
	closedir(d); /* closes dfd */
	return rc;
}

/*
 * Record every mapping of a "zipc:" memfd in process @pid (directory @pfd).
 * Return: 0 (also when the process vanished or is unreadable), or -ENOMEM.
 */
static int scan_maps(struct shmctl_scan *s, pid_t pid, int pfd)
{
	int mfd = openat(pfd, "maps", O_RDONLY | O_CLOEXEC);
	if (mfd < 0)
		return 0;
	FILE *fp = fdopen(mfd, "r");
	if (!fp) {
		close(mfd);
		return 0;
	}
	int rc = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	char name[SHMCTL_RAW_NAME_MAX + 1];
	while ((len = getline(&line, &cap, fp)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!strstr(line, MEMFD_PREFIX))
			continue;
		/* start-end perms offset major:minor inode   path */
		unsigned long long start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		int pos = -1;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min, &ino,
			   &pos) != 7 ||
		    pos < 0 || end <= start)
			continue;
		if (!memfd_name(line + pos, name, sizeof(name)))
			continue;
		struct shmctl_found *f = found_get(s, makedev(maj, min), (ino_t)ino, name);
		struct shmctl_holder h = {.pid = pid, .fd = -1, .start = start, .end = end};
		if (!f || holder_add(f, &h) != 0) {
			rc = -ENOMEM;
			break;
		}
		if (end - start > f->map_len)
			f->map_len = end - start;
	}
	free(line);
	fclose(fp); /* closes mfd */
	return rc;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Fill @f->pids with the sorted, unique pids of its holders. */
static int found_pids(struct shmctl_found *f)
{
	f->pids = malloc((f->nholders ? f->nholders : 1) * sizeof(pid_t));
	if (!f->pids)
		return -ENOMEM;
	for (size_t i = 0; i < f->nholders; i++)
		f->pids[i] = f->holders[i].pid;
	qsort(f->pids, f->nholders, sizeof(pid_t), pid_cmp);
	size_t n = 0;
	for (size_t i = 0; i < f->nholders; i++)
		if (n == 0 || f->pids[n - 1] != f->pids[i])
			f->pids[n++] = f->pids[i];
	f->npids = n;
	return 0;
}

/**
 * shmctl_scan_proc() - find every "zipc:" memfd held (as a descriptor or a
 * mapping) by any process we may inspect, except this one.
 * @s: zero-initialised; filled with one entry per inode (free with
 *     shmctl_scan_free(), also on error).
 * Return: 0, or -errno if /proc cannot be read at all, or -ENOMEM.
 */
int shmctl_scan_proc(struct shmctl_scan *s)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return -errno;
	pid_t self = getpid();
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(proc);
		if (!de) {
			if (errno)
				rc = -errno;
			break;
		}
		pid_t pid = parse_num(de->d_name);
		if (pid <= 0 || pid == self)
			continue;
		/* a directory fd pins this process: if it exits, reads fail
		 * instead of reaching a new process that reused the pid */
		int pfd = openat(dirfd(proc), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue;
		rc = scan_fds(s, pid, pfd);
		if (rc == 0)
			rc = scan_maps(s, pid, pfd);
		close(pfd);
		if (rc)
			break;
	}
	closedir(proc);
	for (size_t i = 0; rc == 0 && i < s->n; i++)
		rc = found_pids(&s->v[i]);
	return rc;
}

/** shmctl_scan_free() - release what shmctl_scan_proc() allocated. */
void shmctl_scan_free(struct shmctl_scan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].holders);
		free(s->v[i].pids);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * Open @path read-only if it (still) is the regular file @f.  O_NONBLOCK:
 * should the number have been reused by a FIFO between the checks, the
 * open must not hang.  Return: fd, or -errno.
 */
static int open_checked(const char *path, const struct shmctl_found *f)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_dev != f->dev || st.st_ino != f->ino)
		return -ESTALE;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != f->dev || st.st_ino != f->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/**
 * shmctl_found_open() - open a region found by the scan, read-only.
 * @f:      the region.
 * @fd_out: receives a new descriptor (close-on-exec), owned by the caller.
 *
 * Tries each holder's descriptor (/proc/PID/fd/N: root or the same uid),
 * then each mapping (/proc/PID/map_files/START-END: needs CAP_SYS_ADMIN).
 * Return: 0; -EACCES if every way in was refused; -ENOENT if every holder
 * vanished; another -errno otherwise.
 */
int shmctl_found_open(const struct shmctl_found *f, int *fd_out)
{
	int err = -ENOENT;
	char path[96];
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f->nholders; i++) {
			const struct shmctl_holder *h = &f->holders[i];
			if (pass == 0 && h->fd >= 0)
				snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)h->pid, h->fd);
			else if (pass == 1 && h->fd < 0)
				snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)h->pid,
					 (unsigned long long)h->start, (unsigned long long)h->end);
			else
				continue;
			int fd = open_checked(path, f);
			if (fd >= 0) {
				*fd_out = fd;
				return 0;
			}
			/* a refusal says more than a holder that vanished */
			if (fd == -EACCES || fd == -EPERM)
				err = -EACCES;
			else if (err != -EACCES && fd != -ENOENT && fd != -ESTALE && fd != -ESRCH)
				err = fd;
		}
	}
	return err;
}
