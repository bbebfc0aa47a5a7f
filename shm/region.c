/* SPDX-License-Identifier: MIT */
/*
 * shm/region.c - memfd regions: create, seal, bind, map, validate, attach.
 *
 * The header is written field by field, its checksum computed over a local
 * copy, and the layout word stored last with release order; readers copy
 * the header out of shared memory once and validate the copy, so a peer
 * rewriting it concurrently cannot make validation and use disagree.
 */
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm_pvt.h"

#define PAGE 4096ull
#define HUGE_PAGE (2ull << 20)
#define MAX_AREA (1ull << 46) /* 64 TiB: far above any real ring, far below overflow */
#define REGION_FLAGS (ZIPC_REGION_HUGETLB | ZIPC_REGION_ANONYMOUS | ZIPC_REGION_NUMA_BIND | ZIPC_REGION_GROUP)

_Static_assert(sizeof(struct zipc_region_hdr) <= ZIPC_REGION_HDR_SIZE, "header fits its page");
_Static_assert(__builtin_offsetof(struct zipc_region_hdr, layout) % 4 == 0, "layout word aligned");

static _Atomic uint32_t *layout_word(const void *base)
{
	return (_Atomic uint32_t *)((unsigned char *)base + offsetof(struct zipc_region_hdr, layout));
}

static uint64_t hdr_checksum(const struct zipc_region_hdr *h)
{
	return zipc__fnv1a(h, offsetof(struct zipc_region_hdr, hdr_sum));
}

static struct zipc_region *region_new(void)
{
	struct zipc_region *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = r->lock_fd = r->listen_fd = -1;
	r->base = MAP_FAILED;
	r->owner_pid = getpid();
	return r;
}

static void region_free(struct zipc_region *r)
{
	if (!r)
		return;
	/* a forked child closing an inherited creator handle must not stop the
	 * parent's server or withdraw its name: it only drops its copies */
	if (r->is_creator && r->owner_pid == getpid())
		zipc__serve_stop(r);
	else
		zipc__serve_drop(r);
	if (r->base != MAP_FAILED)
		munmap(r->base, r->map_size);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static int bind_node(void *addr, uint64_t len, int node)
{
	if (numa_available() < 0 || node > numa_max_node())
		return -ENODEV;
	struct bitmask *bm = numa_allocate_nodemask();
	if (!bm)
		return -ENOMEM;
	if (!numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)node)) {
		numa_bitmask_free(bm);
		return -ENODEV;
	}
	numa_bitmask_setbit(bm, (unsigned)node);
	long rc = mbind(addr, len, MPOL_BIND, bm->maskp, bm->size + 1, MPOL_MF_STRICT);
	int e = errno;
	numa_bitmask_free(bm);
	return rc == 0 ? 0 : -e;
}

int zipc_region_create(const char *name, const struct zipc_region_opts *opts, zipc_region **out)
{
	if (!opts || !out)
		return -EINVAL;
	*out = NULL;
	uint32_t kind = opts->kind ? opts->kind : ZIPC_KIND_RAW;
	int anonymous = !!(opts->flags & ZIPC_REGION_ANONYMOUS);
	int node = (opts->flags & ZIPC_REGION_NUMA_BIND) ? opts->numa_node : -1;
	int group = (opts->flags & ZIPC_REGION_GROUP) ? opts->group : -1;
	if (opts->size == 0 || opts->size > MAX_AREA || (kind < ZIPC_KIND_RAW || kind > ZIPC_KIND_MAX) ||
	    (opts->flags & ~(uint32_t)REGION_FLAGS) || ((opts->flags & ZIPC_REGION_NUMA_BIND) && node < 0) ||
	    ((opts->flags & ZIPC_REGION_GROUP) && group < 0))
		return -EINVAL;
	int rc = 0;
	if (!anonymous || name) {
		if ((rc = zipc__name_check(name)))
			return rc;
	}

	uint64_t unit = (opts->flags & ZIPC_REGION_HUGETLB) ? HUGE_PAGE : PAGE;
	uint64_t total = (ZIPC_REGION_HDR_SIZE + opts->size + unit - 1) / unit * unit;

	struct zipc_region *r = region_new();
	if (!r)
		return -ENOMEM;
	char mname[ZIPC_NAME_MAX + 16];
	snprintf(mname, sizeof(mname), "zipc:%s", name ? name : "(anonymous)");
	unsigned mflags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	if (opts->flags & ZIPC_REGION_HUGETLB)
		mflags |= MFD_HUGETLB;
	r->fd = memfd_create(mname, mflags);
	if (r->fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (ftruncate(r->fd, (off_t)total) != 0 ||
	    fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		rc = -errno;
		goto fail;
	}
	r->map_size = total;
	r->base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	/* bind before the first touch, so every page is allocated on the node */
	if (node >= 0 && (rc = bind_node(r->base, total, node)))
		goto fail;

	struct zipc_region_hdr h;
	memset(&h, 0, sizeof(h));
	h.magic = ZIPC_REGION_MAGIC;
	h.layout = ZIPC_REGION_LAYOUT;
	h.hdr_size = ZIPC_REGION_HDR_SIZE;
	h.total_size = total;
	h.user_off = ZIPC_REGION_HDR_SIZE;
	h.user_size = total - ZIPC_REGION_HDR_SIZE;
	h.kind = kind;
	h.flags = opts->flags;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	h.created_ns = (int64_t)now.tv_sec * ZIPC_SEC + now.tv_nsec;
	h.creator_pid = (int32_t)getpid();
	h.creator_uid = (uint32_t)geteuid();
	h.creator_start = zipc_pid_start_ticks(h.creator_pid);
	h.numa_node = node;
	h.group = group;
	if (name)
		snprintf(h.name, sizeof(h.name), "%s", name);
	h.hdr_sum = hdr_checksum(&h);
	r->hdr_copy = h;
	r->hdr = &r->hdr_copy;
	r->is_creator = 1;

	/* everything but the layout word, then the kind's area, then layout */
	h.layout = 0;
	memcpy(r->base, &h, sizeof(h));
	if (opts->init && (rc = opts->init(r->base + ZIPC_REGION_HDR_SIZE, h.user_size, opts->init_arg)))
		goto fail;
	/* pairs with the acquire load in validate(): header and area are complete */
	atomic_store_explicit(layout_word(r->base), ZIPC_REGION_LAYOUT, memory_order_release);

	if (!anonymous && (rc = zipc__serve_start(r, name, group)))
		goto fail;
	*out = r;
	return 0;
fail:
	region_free(r);
	return rc;
}

/* Validate the header of a mapped file of @file_size bytes into r->hdr_copy. */
static int validate(struct zipc_region *r, uint64_t file_size)
{
	struct zipc_region_hdr h;
	/* pairs with the creator's release store: fields below are complete */
	uint32_t layout = atomic_load_explicit(layout_word(r->base), memory_order_acquire);
	memcpy(&h, r->base, sizeof(h));
	if (h.magic != ZIPC_REGION_MAGIC)
		return -EBADMSG;
	if (layout == 0)
		return -EAGAIN; /* creator still initialising */
	if (layout != ZIPC_REGION_LAYOUT || h.layout != layout)
		return -EPROTONOSUPPORT;
	if (hdr_checksum(&h) != h.hdr_sum)
		return -EPROTO;
	if (h.hdr_size != ZIPC_REGION_HDR_SIZE || h.user_off != h.hdr_size || h.total_size < h.user_off ||
	    h.user_size != h.total_size - h.user_off || h.user_size == 0 || h.user_size > MAX_AREA ||
	    (h.kind < ZIPC_KIND_RAW || h.kind > ZIPC_KIND_MAX) ||
	    (h.flags & ~(uint32_t)REGION_FLAGS) || h.numa_node < -1 ||
	    h.group < -1 || strnlen(h.name, sizeof(h.name)) > ZIPC_NAME_MAX)
		return -EPROTO;
	if (h.total_size > file_size)
		return -ENODATA;
	if (h.total_size != file_size)
		return -ERANGE;
	r->hdr_copy = h;
	r->hdr = &r->hdr_copy;
	return 0;
}

int zipc_region_from_fd(int fd, unsigned flags, zipc_region **out)
{
	if (!out || fd < 0 || (flags & ~(unsigned)ZIPC_ATTACH_RDONLY))
		return -EINVAL;
	*out = NULL;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return errno == EBADF ? -EINVAL : -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	/* a memfd sealed against shrinking cannot be truncated under our
	 * mapping (which would raise SIGBUS); anything else is refused */
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW))
		return -EBADFD;
	if ((uint64_t)st.st_size < ZIPC_REGION_HDR_SIZE)
		return -ENODATA;
	if ((uint64_t)st.st_size > MAX_AREA + ZIPC_REGION_HDR_SIZE + HUGE_PAGE)
		return -ERANGE;

	struct zipc_region *r = region_new();
	if (!r)
		return -ENOMEM;
	int rc;
	r->read_only = !!(flags & ZIPC_ATTACH_RDONLY);
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0) {
		rc = -errno;
		goto fail;
	}
	r->map_size = (uint64_t)st.st_size;
	r->base = mmap(NULL, r->map_size, r->read_only ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, 0);
	if (r->base == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	if ((rc = validate(r, (uint64_t)st.st_size)))
		goto fail;
	*out = r;
	return 0;
fail:
	region_free(r);
	return rc;
}

int zipc_region_attach(const char *name, unsigned flags, zipc_region **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	int rc = zipc__name_check(name);
	if (rc)
		return rc;
	int fd = zipc__serve_fetch(name);
	if (fd < 0)
		return fd;
	rc = zipc_region_from_fd(fd, flags, out);
	close(fd);
	if (rc == 0 && strcmp((*out)->hdr->name, name) != 0) {
		/* the server handed us a region of another name */
		zipc_region_close(*out);
		*out = NULL;
		return -EPROTO;
	}
	return rc;
}

int zipc_region_close(zipc_region *r)
{
	region_free(r);
	return 0;
}

void *zipc_region_area(const zipc_region *r)
{
	return r ? r->base + r->hdr->user_off : NULL;
}

uint64_t zipc_region_area_size(const zipc_region *r)
{
	return r ? r->hdr->user_size : 0;
}

const struct zipc_region_hdr *zipc_region_header(const zipc_region *r)
{
	return r ? r->hdr : NULL;
}

int zipc_region_fd(const zipc_region *r)
{
	return r ? r->fd : -EINVAL;
}

int zipc_region_info(const zipc_region *r, struct zipc_region_info *out)
{
	if (!r || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%.*s", (int)ZIPC_NAME_MAX, r->hdr->name);
	out->kind = r->hdr->kind;
	out->total_size = r->hdr->total_size;
	out->user_size = r->hdr->user_size;
	out->created_ns = r->hdr->created_ns;
	out->creator_pid = r->hdr->creator_pid;
	out->creator_uid = r->hdr->creator_uid;
	out->creator_alive = zipc_pid_alive(r->hdr->creator_pid, r->hdr->creator_start);
	out->numa_node = r->hdr->numa_node;
	out->read_only = r->read_only;
	out->is_creator = r->is_creator;
	return 0;
}
