/* SPDX-License-Identifier: MIT */
/*
 * tests/test_region.c - shared-memory regions (zipc/shm.h): creation and the
 * header ABI, handing a region over by name and by descriptor to another
 * program, name clashes and crashed creators, access control, and the
 * validation every attach performs on a hostile or corrupted memfd (region
 * header and ring header alike).
 *
 * Cross-process cases exec tests/peer/zipc_peer.c (ZIPC_PEER).
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zipc/ring.h>
#include <zipc/shm.h>

#include "helpers/zt_craft.h"
#include "helpers/zt_env.h"
#include "helpers/zt_msg.h"
#include "helpers/zt_proc.h"

#define PEER_MS 20000 /* generous bound for a peer to finish a small task */

static void setup(void)
{
	int rc = zt_env_setup();
	cr_assert_eq(rc, 0, "cannot make a runtime dir: %s", strerror(-rc));
}

static void teardown(void)
{
	zt_env_teardown();
}

#define TEST_REGION(name, secs) Test(region, name, .init = setup, .fini = teardown, .timeout = secs)
#define TEST_VALIDATE(name, secs) Test(region_validate, name, .init = setup, .fini = teardown, .timeout = secs)
#define TEST_RING_VALIDATE(name, secs) Test(ring_validate, name, .init = setup, .fini = teardown, .timeout = secs)

static struct zipc_region_opts raw_opts(uint64_t size)
{
	struct zipc_region_opts o;
	memset(&o, 0, sizeof o);
	o.size = size;
	o.kind = ZIPC_KIND_RAW;
	o.numa_node = -1;
	o.group = -1;
	return o;
}

static zipc_region *create_raw(const char *name, uint64_t size)
{
	struct zipc_region_opts o = raw_opts(size);
	zipc_region *r = NULL;
	int rc = zipc_region_create(name, &o, &r);
	cr_assert_eq(rc, 0, "zipc_region_create(%s): %d %s", name ? name : "(anon)", rc, zipc_strerror(rc));
	cr_assert_not_null(r);
	return r;
}

static zipc_region *create_anon(uint64_t size)
{
	struct zipc_region_opts o = raw_opts(size);
	zipc_region *r = NULL;
	o.flags = ZIPC_REGION_ANONYMOUS;
	int rc = zipc_region_create(NULL, &o, &r);
	cr_assert_eq(rc, 0, "anonymous zipc_region_create: %d %s", rc, zipc_strerror(rc));
	return r;
}

static void start_peer(struct zt_peer *p, unsigned flags, const int *fds, unsigned nfds, const char *mode,
		       const char *const *args)
{
	int rc = zt_peer_start(p, flags, fds, nfds, mode, args);
	cr_assert_eq(rc, 0, "cannot start zipc-peer %s: %s", mode, strerror(-rc));
}

static void finish_peer(struct zt_peer *p, int want_exit)
{
	int rc = zt_peer_finish(p, PEER_MS);
	cr_assert_eq(rc, 0, "zipc-peer did not finish within %d ms", PEER_MS);
	cr_assert_eq(zt_peer_exit(p), want_exit, "zipc-peer exit %d, expected %d; report: %s", zt_peer_exit(p),
		     want_exit, p->report);
}

static int64_t report_rc(const struct zt_peer *p)
{
	int64_t rc;
	cr_assert_eq(zt_report_i64(p, "rc", &rc), 0, "no rc in report \"%s\"", p->report);
	return rc;
}

/* Open the runtime dir for traversal by others, so that only zipc's own
 * access control (socket mode, SO_PEERCRED) can refuse a foreign uid. */
static void runtime_dir_traversable(void)
{
	cr_assert_eq(chmod(zt_runtime_dir(), 0711), 0);
}

static void require_root(void)
{
	if (geteuid() != 0) {
		cr_log_warn("SKIPPED: needs root to run a peer under another uid/gid");
		cr_skip_test("needs root (setuid/setgid in the peer)");
	}
}

/* ------------------------------------------------------------ creation */

/* A new region's header carries the ABI fields, a valid checksum and a zeroed area; its memfd is sealed, close-on-exec and named "memfd:zipc:<name>". */
TEST_REGION(create_writes_header_and_seals_memfd, 10)
{
	char name[64], link[PATH_MAX], path[64], want[128];
	zt_name(name, sizeof name, "hdr");
	zipc_region *r = create_raw(name, 10000);
	const struct zipc_region_hdr *h = zipc_region_header(r);

	cr_assert_eq(h->magic, ZIPC_REGION_MAGIC);
	cr_assert_eq(h->layout, ZIPC_REGION_LAYOUT);
	cr_assert_eq(h->hdr_size, ZIPC_REGION_HDR_SIZE);
	cr_assert_eq(h->user_off, h->hdr_size);
	cr_assert_geq(h->user_size, 10000);
	cr_assert_leq(h->user_off + h->user_size, h->total_size);
	cr_assert_eq(h->kind, ZIPC_KIND_RAW);
	cr_assert_eq(h->creator_pid, getpid());
	cr_assert_eq(h->creator_uid, geteuid());
	cr_assert_eq(h->creator_start, zipc_pid_start_ticks(getpid()));
	cr_assert_eq(h->numa_node, -1);
	cr_assert_eq(h->group, -1);
	cr_assert_str_eq(h->name, name);
	cr_assert_eq(h->hdr_sum, zt_fnv1a64(h, offsetof(struct zipc_region_hdr, hdr_sum)),
		     "hdr_sum is not FNV-1a 64 of the bytes before it");
	cr_assert_eq(zipc_region_area_size(r), h->user_size);

	const unsigned char *area = zipc_region_area(r);
	for (uint64_t i = 0; i < h->user_size; i++)
		cr_assert_eq(area[i], 0, "area byte %llu not zero", (unsigned long long)i);

	int fd = zipc_region_fd(r);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, h->total_size, "total_size != memfd size");
	int seals = fcntl(fd, F_GET_SEALS);
	cr_assert_eq(seals & ZT_SEALS_ALL, ZT_SEALS_ALL, "seals 0x%x lack SHRINK|GROW|SEAL", seals);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "region fd must be close-on-exec");
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	cr_assert_gt(n, 0);
	link[n] = '\0';
	snprintf(want, sizeof want, "/memfd:zipc:%s", name);
	cr_assert_eq(strncmp(link, want, strlen(want)), 0, "memfd link \"%s\", want \"%s...\"", link, want);

	struct zipc_region_info info;
	cr_assert_eq(zipc_region_info(r, &info), 0);
	cr_assert_str_eq(info.name, name);
	cr_assert_eq(info.kind, ZIPC_KIND_RAW);
	cr_assert_eq(info.total_size, h->total_size);
	cr_assert_eq(info.user_size, h->user_size);
	cr_assert_eq(info.creator_pid, getpid());
	cr_assert_eq(info.creator_alive, 1);
	cr_assert_eq(info.is_creator, 1);
	cr_assert_eq(info.read_only, 0);
	cr_assert_eq(zipc_region_info(r, NULL), -EINVAL);
	cr_assert_eq(zipc_region_close(r), 0);
	cr_assert_eq(zipc_region_close(NULL), 0);
}

struct init_probe {
	int calls;
	uint64_t size;
	int fail_with;
};

static int init_fill(void *area, uint64_t size, void *arg)
{
	struct init_probe *pr = arg;
	pr->calls++;
	pr->size = size;
	if (pr->fail_with)
		return pr->fail_with;
	memset(area, 0xA5, (size_t)size);
	return 0;
}

/* The init callback fills the area before the region is visible; an init error aborts the creation with that code and leaves no name behind. */
TEST_REGION(create_runs_init_and_propagates_its_error, 10)
{
	char name[64];
	struct init_probe pr = {0};
	struct zipc_region_opts o = raw_opts(4096);
	zipc_region *r = NULL, *r2 = NULL;

	zt_name(name, sizeof name, "init");
	o.init = init_fill;
	o.init_arg = &pr;
	pr.fail_with = -ENOTRECOVERABLE;
	cr_assert_eq(zipc_region_create(name, &o, &r), -ENOTRECOVERABLE);
	cr_assert_null(r, "no handle on failure");
	cr_assert_eq(pr.calls, 1);
	cr_assert_eq(zipc_region_attach(name, 0, &r2), -ENOENT, "a failed create must not serve the name");

	pr.fail_with = 0;
	cr_assert_eq(zipc_region_create(name, &o, &r), 0, "the name is free after a failed create");
	cr_assert_eq(pr.calls, 2);
	cr_assert_eq(pr.size, zipc_region_area_size(r));
	cr_assert_eq(zipc_region_attach(name, 0, &r2), 0);
	const unsigned char *a = zipc_region_area(r2);
	for (uint64_t i = 0; i < zipc_region_area_size(r2); i++)
		cr_assert_eq(a[i], 0xA5, "byte %llu not written by init", (unsigned long long)i);
	zipc_region_close(r2);
	zipc_region_close(r);
}

/* Creation rejects bad names and options with -EINVAL / -ENAMETOOLONG. */
TEST_REGION(create_rejects_bad_names_and_options, 10)
{
	struct zipc_region_opts o = raw_opts(4096);
	zipc_region *r = NULL;
	char longname[ZIPC_NAME_MAX + 2], maxname[ZIPC_NAME_MAX + 1], name[64];

	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cr_assert_eq(zipc_region_create("", &o, &r), -EINVAL);
	cr_assert_eq(zipc_region_create(".hidden", &o, &r), -EINVAL);
	cr_assert_eq(zipc_region_create("a/b", &o, &r), -EINVAL);
	cr_assert_eq(zipc_region_create("sp ace", &o, &r), -EINVAL);
	cr_assert_eq(zipc_region_create(NULL, &o, &r), -EINVAL, "NULL name needs ZIPC_REGION_ANONYMOUS");
	cr_assert_eq(zipc_region_create(longname, &o, &r), -ENAMETOOLONG);

	zt_name(name, sizeof name, "opts");
	o.size = 0;
	cr_assert_eq(zipc_region_create(name, &o, &r), -EINVAL, "size 0");
	o = raw_opts(4096);
	o.kind = 77;
	cr_assert_eq(zipc_region_create(name, &o, &r), -EINVAL, "unknown kind");
	o = raw_opts(4096);
	o.flags = 1u << 20;
	cr_assert_eq(zipc_region_create(name, &o, &r), -EINVAL, "unknown flag");
	o = raw_opts(4096);
	o.flags = ZIPC_REGION_NUMA_BIND;
	o.numa_node = -1;
	cr_assert_eq(zipc_region_create(name, &o, &r), -EINVAL, "NUMA_BIND with a negative node");
	o = raw_opts(4096);
	o.flags = ZIPC_REGION_GROUP;
	o.group = -1;
	cr_assert_eq(zipc_region_create(name, &o, &r), -EINVAL, "GROUP with a negative gid");
	cr_assert_null(r);

	/* the longest legal name works, with every legal character class */
	memset(maxname, 'x', sizeof maxname - 1);
	maxname[sizeof maxname - 1] = '\0';
	memcpy(maxname, "Az09._-", 7);
	o = raw_opts(4096);
	cr_assert_eq(zipc_region_create(maxname, &o, &r), 0, "a %d-byte name is legal", ZIPC_NAME_MAX);
	zipc_region_close(r);
}

/* ------------------------------------------------------ name and attach */

/* A separately exec'd program attaches by name and sees the creator's data; its writes are visible to the creator (one shared mapping). */
TEST_REGION(attach_by_name_from_other_program, 20)
{
	char name[64], value[32];
	struct zt_peer p;
	zipc_region *r = create_raw(zt_name(name, sizeof name, "byname"), 4096);
	uint64_t *w = zipc_region_area(r);
	w[0] = 0x1234567890abcdefULL;
	snprintf(value, sizeof value, "%llu", (unsigned long long)w[0]);

	const char *args[] = {"--name", name, "--value", value, NULL};
	start_peer(&p, 0, NULL, 0, "region-attach", args);
	finish_peer(&p, ZT_EXIT_OK);
	cr_assert_eq(report_rc(&p), 0);
	cr_assert_eq(w[1], ~w[0], "the peer's write is not visible to the creator");
	zipc_region_close(r);
}

/* Attaching again, by name, by descriptor or from another program, never re-initialises the region: the data written before stays intact. */
TEST_REGION(reattach_never_wipes_contents, 20)
{
	char name[64], value[32];
	struct zt_peer p;
	zipc_region *r = create_raw(zt_name(name, sizeof name, "keep"), 3 * 4096);
	uint64_t n = zipc_region_area_size(r) / 8;
	uint64_t *w = zipc_region_area(r);
	for (uint64_t i = 0; i < n; i++)
		w[i] = zt_mix64(i);

	zipc_region *a = NULL, *b = NULL;
	cr_assert_eq(zipc_region_attach(name, 0, &a), 0);
	cr_assert_eq(zipc_region_from_fd(zipc_region_fd(r), 0, &b), 0);
	snprintf(value, sizeof value, "%llu", (unsigned long long)w[0]);
	const char *args[] = {"--name", name, "--value", value, NULL};
	start_peer(&p, 0, NULL, 0, "region-attach", args);
	finish_peer(&p, ZT_EXIT_OK);

	const uint64_t *wa = zipc_region_area(a), *wb = zipc_region_area(b);
	cr_assert_eq(zipc_region_area_size(a), zipc_region_area_size(r));
	for (uint64_t i = 0; i < n; i++) {
		uint64_t want = i == 1 ? ~zt_mix64(0) : zt_mix64(i); /* the peer wrote word 1 */
		cr_assert_eq(w[i], want, "creator's word %llu changed", (unsigned long long)i);
		cr_assert_eq(wa[i], want, "attached-by-name word %llu differs", (unsigned long long)i);
		cr_assert_eq(wb[i], want, "attached-by-fd word %llu differs", (unsigned long long)i);
	}
	struct zipc_region_info info;
	cr_assert_eq(zipc_region_info(a, &info), 0);
	cr_assert_eq(info.is_creator, 0);
	cr_assert_eq(info.creator_alive, 1);
	cr_assert_str_eq(info.name, name);
	zipc_region_close(b);
	zipc_region_close(a);
	zipc_region_close(r);
}

/* A second create of a live name fails with -EEXIST and leaves the first region untouched. */
TEST_REGION(create_existing_name_is_eexist, 10)
{
	char name[64];
	zipc_region *r = create_raw(zt_name(name, sizeof name, "clash"), 4096), *r2 = NULL, *a = NULL;
	*(uint64_t *)zipc_region_area(r) = 42;
	struct zipc_region_opts o = raw_opts(4096);
	cr_assert_eq(zipc_region_create(name, &o, &r2), -EEXIST);
	cr_assert_null(r2);
	cr_assert_eq(zipc_region_attach(name, 0, &a), 0, "the first region must still be served");
	cr_assert_eq(*(uint64_t *)zipc_region_area(a), 42);
	zipc_region_close(a);
	zipc_region_close(r);
}

/* A name held by a live creator in another process is -EEXIST here; once that creator closes, the name is gone (-ENOENT) and free again. */
TEST_REGION(name_held_by_other_process, 20)
{
	char name[64];
	struct zt_peer p;
	zipc_region *r = NULL, *a = NULL;
	struct zipc_region_opts o = raw_opts(4096);

	zt_name(name, sizeof name, "held");
	const char *args[] = {"--name", name, "--value", "777", NULL};
	start_peer(&p, ZT_PEER_HOLD, NULL, 0, "region-create", args);
	cr_assert_eq(zt_peer_wait_ready(&p, PEER_MS), 0, "peer did not create the region");

	cr_assert_eq(zipc_region_create(name, &o, &r), -EEXIST);
	cr_assert_eq(zipc_region_attach(name, 0, &a), 0);
	cr_assert_eq(*(uint64_t *)zipc_region_area(a), 777);
	struct zipc_region_info info;
	cr_assert_eq(zipc_region_info(a, &info), 0);
	cr_assert_eq(info.creator_pid, p.pid);
	cr_assert_eq(info.creator_alive, 1);

	zt_peer_release(&p);
	finish_peer(&p, ZT_EXIT_OK);
	cr_assert_eq(*(uint64_t *)zipc_region_area(a), 777, "our mapping outlives the creator's close");
	zipc_region *b = NULL;
	cr_assert_eq(zipc_region_attach(name, 0, &b), -ENOENT, "a closed creator's name must be gone");
	cr_assert_eq(zipc_region_create(name, &o, &r), 0, "a closed creator's name is free");
	zipc_region_close(r);
	zipc_region_close(a);
}

/* A name left behind by a creator killed with SIGKILL (its .sock file remains) reads as -EOWNERDEAD to attach and is reclaimed by the next create. */
TEST_REGION(crashed_creator_name_is_reclaimed, 20)
{
	char name[64], sock[PATH_MAX], value[32];
	struct zt_peer p, q;
	struct stat st;
	zipc_region *r = NULL, *a = NULL;
	struct zipc_region_opts o = raw_opts(4096);

	zt_name(name, sizeof name, "crash");
	const char *args[] = {"--name", name, "--value", "1111", NULL};
	start_peer(&p, ZT_PEER_HOLD, NULL, 0, "region-create", args);
	cr_assert_eq(zt_peer_wait_ready(&p, PEER_MS), 0, "peer did not create the region");
	cr_assert_eq(zt_peer_kill(&p), 0);
	cr_assert_eq(zt_peer_exit(&p), -SIGKILL);

	snprintf(sock, sizeof sock, "%s/%s.sock", zt_runtime_dir(), name);
	cr_assert_eq(stat(sock, &st), 0, "the crashed creator's %s should remain (test premise)", sock);
	cr_assert(S_ISSOCK(st.st_mode));

	cr_assert_eq(zipc_region_attach(name, 0, &a), -EOWNERDEAD, "attach to a dead creator's name");
	cr_assert_null(a);
	cr_assert_eq(zipc_region_create(name, &o, &r), 0, "a dead creator's name must be reclaimed");
	*(uint64_t *)zipc_region_area(r) = 2222;
	snprintf(value, sizeof value, "%d", 2222);
	const char *args2[] = {"--name", name, "--value", value, NULL};
	start_peer(&q, 0, NULL, 0, "region-attach", args2);
	finish_peer(&q, ZT_EXIT_OK);
	zipc_region_close(r);
}

/* Attaching a name nobody serves is -ENOENT; malformed names are -EINVAL / -ENAMETOOLONG. */
TEST_REGION(attach_unknown_or_bad_name, 10)
{
	char name[64], longname[ZIPC_NAME_MAX + 2];
	zipc_region *a = NULL;
	memset(longname, 'b', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cr_assert_eq(zipc_region_attach(zt_name(name, sizeof name, "nobody"), 0, &a), -ENOENT);
	cr_assert_eq(zipc_region_attach("", 0, &a), -EINVAL);
	cr_assert_eq(zipc_region_attach("../etc", 0, &a), -EINVAL);
	cr_assert_eq(zipc_region_attach(longname, 0, &a), -ENAMETOOLONG);
	cr_assert_null(a);
}

/* -------------------------------------------------------- access control */

/* A process of another uid is refused (-EACCES) a region created with the default (owner-only) access; the same peer as root attaches fine. */
TEST_REGION(attach_as_other_uid_is_eacces, 20)
{
	char name[64];
	struct zt_peer p;

	require_root();
	runtime_dir_traversable();
	zipc_region *r = create_raw(zt_name(name, sizeof name, "acl"), 4096);
	*(uint64_t *)zipc_region_area(r) = 5;

	const char *args[] = {"--name", name, "--as-user", "65534:65534", "--expect", "EACCES", NULL};
	start_peer(&p, 0, NULL, 0, "region-attach", args);
	finish_peer(&p, ZT_EXIT_OK);
	cr_assert_eq(report_rc(&p), -EACCES);

	const char *ctl[] = {"--name", name, "--value", "5", NULL};
	start_peer(&p, 0, NULL, 0, "region-attach", ctl);
	finish_peer(&p, ZT_EXIT_OK);
	zipc_region_close(r);
}

/* A region created with ZIPC_REGION_GROUP and .group = G is granted to a process of another uid whose gid is G, and still refused to one without G. */
TEST_REGION(group_grants_access_to_other_uid, 20)
{
	char name[64];
	struct zt_peer p;
	struct zipc_region_opts o = raw_opts(4096);
	zipc_region *r = NULL;

	require_root();
	runtime_dir_traversable();
	o.flags = ZIPC_REGION_GROUP;
	o.group = 4242;
	int rc = zipc_region_create(zt_name(name, sizeof name, "grp"), &o, &r);
	cr_assert_eq(rc, 0, "create with group: %d %s", rc, zipc_strerror(rc));
	cr_assert_eq(zipc_region_header(r)->group, 4242);
	*(uint64_t *)zipc_region_area(r) = 99;

	const char *in[] = {"--name", name, "--as-user", "65534:4242", "--value", "99", NULL};
	start_peer(&p, 0, NULL, 0, "region-attach", in);
	finish_peer(&p, ZT_EXIT_OK);
	cr_assert_eq(((uint64_t *)zipc_region_area(r))[1], ~(uint64_t)99, "group member's write not seen");

	const char *out[] = {"--name", name, "--as-user", "65534:65534", "--expect", "EACCES", NULL};
	start_peer(&p, 0, NULL, 0, "region-attach", out);
	finish_peer(&p, ZT_EXIT_OK);
	zipc_region_close(r);
}

/* ------------------------------------------------------- by descriptor */

/* A memfd inherited across fork+exec (a dup without FD_CLOEXEC, its number in argv) attaches with zipc_region_from_fd() and shares the mapping. */
TEST_REGION(from_fd_inherited_across_exec, 20)
{
	char fdnum[16];
	struct zt_peer p;
	zipc_region *r = create_anon(4096);
	uint64_t *w = zipc_region_area(r);
	w[0] = 0xfeedULL;

	struct zipc_region_info info;
	cr_assert_eq(zipc_region_info(r, &info), 0);
	cr_assert_str_eq(info.name, "", "an anonymous region has no name");
	int fd = dup(zipc_region_fd(r));
	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	snprintf(fdnum, sizeof fdnum, "%d", fd);
	const char *args[] = {"--fd", fdnum, "--value", "0xfeed", NULL};
	start_peer(&p, 0, &fd, 1, "region-attach", args);
	close(fd);
	finish_peer(&p, ZT_EXIT_OK);
	cr_assert_eq(w[1], ~(uint64_t)0xfeed);
	zipc_region_close(r);
}

/* Permissions ("rw-s", ...) of the mapping of this process that holds @addr, from /proc/self/maps. */
static void mapping_perms(const void *addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	cr_assert_not_null(f);
	perms[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
	cr_assert_neq(perms[0], '\0', "no mapping holds %p", addr);
}

/* zipc_region_from_fd() duplicates the descriptor rather than consuming it, and ZIPC_ATTACH_RDONLY maps the region shared and read-only (no write permission on the mapping). */
TEST_REGION(from_fd_keeps_fd_and_rdonly_maps_read_only, 10)
{
	char perms[5];
	zipc_region *r = create_anon(4096), *ro = NULL;
	int fd = zipc_region_fd(r);
	cr_assert_eq(zipc_region_from_fd(fd, ZIPC_ATTACH_RDONLY, &ro), 0);
	cr_assert_neq(zipc_region_fd(ro), fd, "the handle must hold its own duplicate");
	struct zipc_region_info info;
	cr_assert_eq(zipc_region_info(ro, &info), 0);
	cr_assert_eq(info.read_only, 1);
	cr_assert_eq(info.is_creator, 0);
	*(volatile uint64_t *)zipc_region_area(r) = 31;
	cr_assert_eq(*(volatile const uint64_t *)zipc_region_area(ro), 31, "one shared memory");

	mapping_perms(zipc_region_area(ro), perms);
	cr_assert_str_eq(perms, "r--s", "read-only handle mapped %s", perms);
	mapping_perms(zipc_region_area(r), perms);
	cr_assert_str_eq(perms, "rw-s", "read-write handle mapped %s", perms);

	cr_assert_eq(zipc_region_close(ro), 0);
	cr_assert_neq(fcntl(fd, F_GETFD), -1, "closing the attached handle closed the caller's fd");
	cr_assert_eq(*(volatile uint64_t *)zipc_region_area(r), 31);
	zipc_region_close(r);
}

/* ------------------------------------- validation of a hostile memfd */

/* Bytes of a valid anonymous RAW region with a recognisable area. */
static unsigned char *valid_region_bytes(size_t *len)
{
	zipc_region *r = create_anon(2 * 4096);
	memset(zipc_region_area(r), 0x5A, (size_t)zipc_region_area_size(r));
	unsigned char *b = zt_fd_bytes(zipc_region_fd(r), len);
	cr_assert_not_null(b);
	cr_assert_geq(*len, sizeof(struct zipc_region_hdr));
	zipc_region_close(r);
	return b;
}

/* zipc_region_from_fd() on a memfd holding @len bytes of @b sealed with @seals. */
static int from_bytes(const void *b, size_t len, unsigned seals)
{
	zipc_region *r = NULL;
	int fd = zt_memfd_with(b, len, seals);
	cr_assert_geq(fd, 0, "memfd: %s", strerror(-fd));
	int rc = zipc_region_from_fd(fd, 0, &r);
	if (rc == 0) {
		cr_assert_not_null(r);
		zipc_region_close(r);
	} else {
		cr_assert_null(r, "no handle on failure");
	}
	close(fd);
	return rc;
}

#define HDR(b) ((struct zipc_region_hdr *)(void *)(b))

/* Control for the cases below: an exact sealed copy of a valid region attaches. */
TEST_VALIDATE(exact_copy_is_accepted, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	int rc = from_bytes(b, len, ZT_SEALS_ALL);
	cr_assert_eq(rc, 0, "a sealed copy of a valid region: %d %s", rc, zipc_strerror(rc));
	free(b);
}

/* A descriptor that is not a memfd (regular file, pipe) is -EBADFD. */
TEST_VALIDATE(not_a_memfd_is_ebadfd, 10)
{
	char path[PATH_MAX];
	size_t len;
	zipc_region *r = NULL;
	unsigned char *b = valid_region_bytes(&len);

	snprintf(path, sizeof path, "%s/plain", zt_runtime_dir());
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, b, len, 0), (ssize_t)len);
	cr_assert_eq(zipc_region_from_fd(fd, 0, &r), -EBADFD, "regular file");
	close(fd);

	int pfd[2];
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	cr_assert_eq(zipc_region_from_fd(pfd[0], 0, &r), -EBADFD, "pipe");
	close(pfd[0]);
	close(pfd[1]);
	cr_assert_null(r);
	free(b);
}

/* A memfd without the seals that fix its size (none, or missing F_SEAL_SHRINK) is -EBADFD. */
TEST_VALIDATE(unsealed_memfd_is_ebadfd, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	cr_assert_eq(from_bytes(b, len, 0), -EBADFD, "no seals");
	cr_assert_eq(from_bytes(b, len, F_SEAL_SEAL | F_SEAL_GROW), -EBADFD, "shrinkable");
	free(b);
}

/* A sealed memfd shorter than a region header is -ENODATA. */
TEST_VALIDATE(too_short_is_enodata, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	cr_assert_eq(from_bytes(b, 16, ZT_SEALS_ALL), -ENODATA, "16 bytes");
	cr_assert_eq(from_bytes(b, sizeof(struct zipc_region_hdr) - 1, ZT_SEALS_ALL), -ENODATA,
		     "one byte short of the header struct");
	free(b);
}

/* A wrong magic number is -EBADMSG. */
TEST_VALIDATE(wrong_magic_is_ebadmsg, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	HDR(b)->magic ^= 1;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EBADMSG);
	free(b);
}

/* An unknown layout version is -EPROTONOSUPPORT; layout 0 (creator still writing) is -EAGAIN. */
TEST_VALIDATE(unknown_layout_is_eprotonosupport, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	HDR(b)->layout = ZIPC_REGION_LAYOUT + 1;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTONOSUPPORT);
	HDR(b)->layout = 0;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EAGAIN, "layout 0 means being created");
	free(b);
}

/* A corrupted header (a byte changed without updating hdr_sum, or hdr_sum itself changed) is -EPROTO. */
TEST_VALIDATE(bad_checksum_is_eproto, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	HDR(b)->created_ns ^= 0x100;
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "field changed, sum not updated");
	HDR(b)->created_ns ^= 0x100;
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), 0, "restored header is valid again");
	HDR(b)->hdr_sum ^= 1ULL << 40;
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "sum changed");
	free(b);
}

/* Nonsensical parameters under a correct checksum are -EPROTO (hdr_size, user_off, user_size, kind, unterminated name). */
TEST_VALIDATE(nonsense_parameters_are_eproto, 10)
{
	size_t len;
	unsigned char *orig = valid_region_bytes(&len);
	unsigned char *b = malloc(len);
	cr_assert_not_null(b);

	/* hdr_size other than ZIPC_REGION_HDR_SIZE */
	memcpy(b, orig, len);
	HDR(b)->hdr_size = 100;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "hdr_size 100");
	/* area not where the header ends */
	memcpy(b, orig, len);
	HDR(b)->user_off = HDR(b)->hdr_size + 4096;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "user_off != hdr_size");
	/* area running past the end of the region */
	memcpy(b, orig, len);
	HDR(b)->user_size = HDR(b)->total_size;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "user_off + user_size > total_size");
	/* area size overflowing 64 bits */
	memcpy(b, orig, len);
	HDR(b)->user_size = UINT64_MAX - 100;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "user_size near 2^64");
	/* unknown kind */
	memcpy(b, orig, len);
	HDR(b)->kind = 77;
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "kind 77");
	/* name without its NUL */
	memcpy(b, orig, len);
	memset(HDR(b)->name, 'n', sizeof HDR(b)->name);
	zt_hdr_resum(HDR(b));
	cr_assert_eq(from_bytes(b, len, ZT_SEALS_ALL), -EPROTO, "unterminated name");
	free(b);
	free(orig);
}

/* A file shorter than the header's total_size is -ENODATA (header intact). */
TEST_VALIDATE(truncated_file_is_enodata, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	cr_assert_gt(len, ZIPC_REGION_HDR_SIZE + 4096);
	cr_assert_eq(from_bytes(b, len - 4096, ZT_SEALS_ALL), -ENODATA);
	cr_assert_eq(from_bytes(b, ZIPC_REGION_HDR_SIZE, ZT_SEALS_ALL), -ENODATA, "header only");
	free(b);
}

/* A file longer than the header's total_size is -ERANGE (header intact). */
TEST_VALIDATE(oversized_file_is_erange, 10)
{
	size_t len;
	unsigned char *b = valid_region_bytes(&len);
	unsigned char *big = calloc(1, len + 4096);
	cr_assert_not_null(big);
	memcpy(big, b, len);
	cr_assert_eq(from_bytes(big, len + 4096, ZT_SEALS_ALL), -ERANGE);
	free(big);
	free(b);
}

/* ------------------------------------------- validation of a ring header */

static struct zipc_ring_opts ring_opts(void)
{
	return zt_ring_opts(64, 16, ZIPC_WAIT_BLOCK);
}

/* Bytes of a valid anonymous ring region. */
static unsigned char *valid_ring_bytes(size_t *len)
{
	struct zipc_ring_opts o = ring_opts();
	zipc_ring *ring = NULL;
	o.region_flags = ZIPC_REGION_ANONYMOUS;
	int rc = zipc_ring_create(NULL, &o, &ring);
	cr_assert_eq(rc, 0, "anonymous ring: %d %s", rc, zipc_strerror(rc));
	unsigned char *b = zt_fd_bytes(zipc_region_fd(zipc_ring_region(ring)), len);
	cr_assert_not_null(b);
	zipc_ring_close(ring);
	return b;
}

static struct zipc_ring_params *params_of(unsigned char *b)
{
	return (struct zipc_ring_params *)(void *)(b + HDR(b)->user_off);
}

/* zipc_ring_from_fd() on a memfd holding @b; also checks that a failing
 * zipc_ring_from_region() leaves the region with the caller. */
static int ring_from_bytes(const unsigned char *b, size_t len)
{
	zipc_region *reg = NULL;
	zipc_ring *ring = NULL;
	int fd = zt_memfd_with(b, len, ZT_SEALS_ALL);
	cr_assert_geq(fd, 0);
	int rc = zipc_ring_from_fd(fd, 0, &ring);
	if (rc == 0) {
		zipc_ring_close(ring);
	} else if (zipc_region_from_fd(fd, 0, &reg) == 0) {
		ring = NULL;
		int rc2 = zipc_ring_from_region(reg, &ring);
		cr_assert_eq(rc2, rc, "ring_from_fd %d but ring_from_region %d", rc, rc2);
		cr_assert_null(ring);
		/* still ours: readable and closable */
		cr_assert_eq(zipc_region_header(reg)->magic, ZIPC_REGION_MAGIC);
		zipc_region_close(reg);
	}
	close(fd);
	return rc;
}

/* Control for the cases below: an exact sealed copy of a valid ring attaches as a ring. */
TEST_RING_VALIDATE(exact_copy_is_accepted, 10)
{
	size_t len;
	unsigned char *b = valid_ring_bytes(&len);
	int rc = ring_from_bytes(b, len);
	cr_assert_eq(rc, 0, "copy of a valid ring: %d %s", rc, zipc_strerror(rc));
	free(b);
}

/* A RAW region is not a ring: zipc_ring_from_region() is -EMEDIUMTYPE and the region stays usable by the caller. */
TEST_RING_VALIDATE(raw_region_is_emediumtype, 10)
{
	zipc_region *r = create_anon(4096);
	zipc_ring *ring = NULL;
	cr_assert_eq(zipc_ring_from_region(r, &ring), -EMEDIUMTYPE);
	cr_assert_null(ring);
	*(volatile uint64_t *)zipc_region_area(r) = 1; /* still mapped */
	cr_assert_eq(zipc_ring_from_fd(zipc_region_fd(r), 0, &ring), -EMEDIUMTYPE);
	zipc_region_close(r);
}

/* A corrupted ring magic is -EBADMSG; an unknown ring layout is -EPROTONOSUPPORT. */
TEST_RING_VALIDATE(bad_ring_magic_or_layout, 10)
{
	size_t len;
	unsigned char *b = valid_ring_bytes(&len);
	params_of(b)->magic ^= 0xff;
	cr_assert_eq(ring_from_bytes(b, len), -EBADMSG);
	params_of(b)->magic ^= 0xff;
	params_of(b)->layout = ZIPC_RING_LAYOUT + 1;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTONOSUPPORT);
	free(b);
}

/* Ring geometry that does not recompute from its parameters is -EPROTO (capacity not a power of two, zero, stride or offsets inconsistent). */
TEST_RING_VALIDATE(bad_ring_geometry_is_eproto, 10)
{
	size_t len;
	unsigned char *orig = valid_ring_bytes(&len);
	unsigned char *b = malloc(len);
	cr_assert_not_null(b);

	memcpy(b, orig, len);
	params_of(b)->capacity = 63;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "capacity 63");
	memcpy(b, orig, len);
	params_of(b)->capacity = 3;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "capacity 3");
	memcpy(b, orig, len);
	params_of(b)->capacity = 0;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "capacity 0");
	memcpy(b, orig, len);
	params_of(b)->slot_stride = 8; /* < slot_size 16 */
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "stride < slot size");
	memcpy(b, orig, len);
	params_of(b)->data_off += ZIPC_LINE;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "data_off moved");
	memcpy(b, orig, len);
	params_of(b)->cons_off = 0;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "consumer table over the header");
	memcpy(b, orig, len);
	params_of(b)->max_consumers = 100000;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "max_consumers out of range");
	memcpy(b, orig, len);
	params_of(b)->slot_size = 0;
	cr_assert_eq(ring_from_bytes(b, len), -EPROTO, "slot_size 0");
	free(b);
	free(orig);
}

/* Consistent ring parameters that need more bytes than the region's area holds are -ENODATA (no access beyond the mapping). */
TEST_RING_VALIDATE(ring_larger_than_area_is_enodata, 10)
{
	size_t len;
	unsigned char *b = valid_ring_bytes(&len);
	struct zipc_ring_params *p = params_of(b);
	/* SP ring of 64 x 16-byte slots: the data area is a multiple of a line,
	 * so 1024 times the capacity adds exactly 1023 times the data bytes */
	cr_assert_eq(p->flags, 0);
	cr_assert_eq((p->capacity * p->slot_stride) % ZIPC_LINE, 0);
	p->total_size += p->capacity * p->slot_stride * 1023;
	p->capacity *= 1024; /* still a power of two */
	cr_assert_eq(ring_from_bytes(b, len), -ENODATA);
	free(b);
}

/* -------------------------------------------------------------- misc */

/* zipc_strerror() gives a distinct, non-empty message for each documented code (negative or positive), and never NULL. */
TEST_REGION(strerror_is_distinct_for_every_code, 10)
{
	static const int codes[] = {EAGAIN, ETIMEDOUT, EPIPE,   EOWNERDEAD, EINVAL,          ENOMEM, ENOENT,
				    EEXIST, EACCES,    EBUSY,   EMSGSIZE,   EBADMSG,         EPROTONOSUPPORT,
				    EPROTO, ENODATA,   ERANGE,  EBADFD,     EMEDIUMTYPE,     ENAMETOOLONG};
	const size_t n = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < n; i++) {
		const char *s = zipc_strerror(-codes[i]);
		cr_assert_not_null(s);
		cr_assert_gt(strlen(s), 0, "empty message for %d", codes[i]);
		cr_assert_str_eq(zipc_strerror(codes[i]), s, "positive %d differs from negative", codes[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(zipc_strerror(-codes[j]), s, "codes %d and %d share \"%s\"", codes[j],
					  codes[i], s);
	}
	cr_assert_not_null(zipc_strerror(0));
	cr_assert_not_null(zipc_strerror(-123456));
	cr_assert_gt(strlen(zipc_strerror(-123456)), 0);
	cr_assert_not_null(zipc_version());
}

/* zipc_pid_alive(): this process is alive; a zombie, a pid with another start time, and a reaped pid are dead. */
TEST_REGION(pid_alive_tells_dead_from_alive, 10)
{
	uint64_t me = zipc_pid_start_ticks(getpid());
	cr_assert_gt(me, 0);
	cr_assert_eq(zipc_pid_alive(getpid(), me), 1);
	cr_assert_eq(zipc_pid_alive(getpid(), 0), 1);
	cr_assert_eq(zipc_pid_alive(getpid(), me + 1), 0, "a different start time is a reused pid");

	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		_exit(0);
	}
	close(pfd[1]);
	char c;
	cr_assert_eq(read(pfd[0], &c, 1), 0); /* EOF: the child has exited */
	close(pfd[0]);
	siginfo_t si;
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0); /* a zombie now */
	cr_assert_eq(zipc_pid_alive(pid, 0), 0, "a zombie counts as dead");
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(zipc_pid_alive(pid, 0), 0);
	cr_assert_eq(zipc_pid_start_ticks(pid), 0);
}
