/* SPDX-License-Identifier: MIT */
/*
 * shm/serve.c - the name service: a region's creator serves its memfd over
 * a UNIX socket <runtime dir>/<name>.sock with SCM_RIGHTS, checking each
 * peer with SO_PEERCRED.  Ownership of a name is an flock on
 * <runtime dir>/<name>.lock held for the life of the creator's handle, so a
 * name left behind by a crashed creator is reclaimed by the next creator.
 *
 * Protocol (version 1): the client connects and reads one message: a
 * one-byte status (0 = granted, else an errno value) carrying, when
 * granted, the memfd in an SCM_RIGHTS control message.  The server reads
 * nothing from the client, so a silent client cannot stall it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shm_pvt.h"

/* Is @gid among the supplementary groups of process @pid? */
static int pid_in_group(pid_t pid, gid_t gid)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		char *p = line + 7, *end;
		for (;;) {
			unsigned long g = strtoul(p, &end, 10);
			if (end == p)
				break;
			if (g == (unsigned long)gid)
				found = 1;
			p = end;
		}
		break;
	}
	fclose(f);
	return found;
}

static int peer_allowed(const struct ucred *cr, int group)
{
	if (cr->uid == geteuid() || cr->uid == 0)
		return 1;
	if (group >= 0 && (cr->gid == (gid_t)group || pid_in_group(cr->pid, (gid_t)group)))
		return 1;
	return 0;
}

static void serve_one(struct zipc_region *r, int conn)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	unsigned char status = 0;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr))
		status = EACCES;
	else if (!peer_allowed(&cr, r->hdr->group))
		status = EACCES;

	struct iovec iov = {.iov_base = &status, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (status == 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &r->fd, sizeof(int));
	} else {
		zipc__log(ZIPC_LOG_WARN, "zipc: refused pid %d uid %u access to region '%s'",
			  (int)cr.pid, (unsigned)cr.uid, r->hdr->name);
	}
	/* a fresh socket buffer always has room for one byte: never blocks */
	(void)sendmsg(conn, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * One server thread per process serves every name this process created:
 * an epoll set of listening sockets plus an eventfd that stops it.  It is
 * started with the first served region and stopped with the last, so a
 * process that creates hundreds of named rings (a worker mesh) still has
 * one thread.  `served` lists the live registrations; the thread serves a
 * connection only while holding srv_lock and only for a region still on
 * the list, so zipc__serve_stop() never races with a connection.
 */
static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zipc_region *served;  /* singly linked through serve_next */
static int srv_epfd = -1;
static int srv_stopfd = -1;
static pthread_t srv_thread;
static int srv_running;
static pid_t srv_pid;               /* process the thread belongs to */

static int srv_is_served(const struct zipc_region *r)
{
	for (const struct zipc_region *it = served; it; it = it->serve_next)
		if (it == r)
			return 1;
	return 0;
}

static void *serve_thread(void *arg)
{
	(void)arg;
	struct epoll_event ev[16];
	for (;;) {
		int n = epoll_wait(srv_epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				return NULL; /* the stop eventfd */
			pthread_mutex_lock(&srv_lock);
			struct zipc_region *r = ev[i].data.ptr;
			if (srv_is_served(r)) {
				int conn = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (conn >= 0) {
					serve_one(r, conn);
					close(conn);
				}
			}
			pthread_mutex_unlock(&srv_lock);
		}
	}
	return NULL;
}

/* Register @r's listening socket with the process's server (srv_lock held). */
static int srv_add(struct zipc_region *r)
{
	if (srv_running && srv_pid != getpid()) {
		/* a forked child inherited the parent's bookkeeping, not its thread */
		close(srv_epfd);
		close(srv_stopfd);
		srv_epfd = srv_stopfd = -1;
		srv_running = 0;
		served = NULL;
	}
	if (!srv_running) {
		srv_epfd = epoll_create1(EPOLL_CLOEXEC);
		srv_stopfd = eventfd(0, EFD_CLOEXEC);
		struct epoll_event se = {.events = EPOLLIN, .data.ptr = NULL};
		int rc = 0;
		if (srv_epfd < 0 || srv_stopfd < 0 || epoll_ctl(srv_epfd, EPOLL_CTL_ADD, srv_stopfd, &se) != 0)
			rc = -errno;
		else if ((rc = -pthread_create(&srv_thread, NULL, serve_thread, NULL)) == 0) {
			srv_running = 1;
			srv_pid = getpid();
		}
		if (rc) {
			if (srv_epfd >= 0)
				close(srv_epfd);
			if (srv_stopfd >= 0)
				close(srv_stopfd);
			srv_epfd = srv_stopfd = -1;
			return rc;
		}
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
	if (epoll_ctl(srv_epfd, EPOLL_CTL_ADD, r->listen_fd, &ev) != 0)
		return -errno;
	r->serve_next = served;
	served = r;
	r->server_running = 1;
	return 0;
}

/* Withdraw @r from the server; stop the thread after the last region. */
static void srv_remove(struct zipc_region *r)
{
	pthread_t join;
	int stop = 0;
	pthread_mutex_lock(&srv_lock);
	if (r->server_running && srv_running && srv_pid == getpid()) {
		epoll_ctl(srv_epfd, EPOLL_CTL_DEL, r->listen_fd, NULL);
		for (struct zipc_region **it = &served; *it; it = &(*it)->serve_next) {
			if (*it == r) {
				*it = r->serve_next;
				break;
			}
		}
		if (!served) {
			uint64_t one = 1;
			ssize_t n = write(srv_stopfd, &one, sizeof(one));
			(void)n;
			join = srv_thread;
			stop = 1;
			srv_running = 0;
		}
	}
	r->server_running = 0;
	pthread_mutex_unlock(&srv_lock);
	if (stop) {
		pthread_join(join, NULL);
		pthread_mutex_lock(&srv_lock);
		if (!srv_running) { /* nobody restarted it meanwhile */
			close(srv_epfd);
			close(srv_stopfd);
			srv_epfd = srv_stopfd = -1;
		}
		pthread_mutex_unlock(&srv_lock);
	}
}

/*
 * Take the name's lock.  The lock file may be unlinked by its previous
 * owner between our open and our flock, so check that the locked inode is
 * still the one at the path.
 */
static int take_name_lock(struct zipc_region *r, int group)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		int fd = open(r->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, group >= 0 ? 0640 : 0600);
		if (fd < 0)
			return errno == EACCES || errno == EPERM ? -EEXIST : -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;
			close(fd);
			return e == EWOULDBLOCK ? -EEXIST : -e;
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(r->lock_path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			r->lock_fd = fd;
			return 0;
		}
		close(fd); /* lost a race with an unlink: try again */
	}
	return -EAGAIN;
}

int zipc__serve_start(struct zipc_region *r, const char *name, int group)
{
	int rc = zipc__runtime_dir_prepare();
	if (rc)
		return rc == -EPERM ? -EACCES : rc;
	if ((rc = zipc__runtime_path(r->sock_path, sizeof(r->sock_path), name, ".sock")) ||
	    (rc = zipc__runtime_path(r->lock_path, sizeof(r->lock_path), name, ".lock")))
		return rc;
	if ((rc = take_name_lock(r, group)))
		return rc;
	/* We own the name: any socket file left there is a dead creator's. */
	if (unlink(r->sock_path) != 0 && errno != ENOENT) {
		rc = errno == EACCES || errno == EPERM ? -EEXIST : -errno;
		goto fail;
	}
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->listen_fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* bind under a temporary name and rename into place once listening,
	 * so an attacher never finds a socket that refuses connections */
	char tmp[sizeof(r->sock_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", r->sock_path, (int)getpid());
	struct sockaddr_un ta = {.sun_family = AF_UNIX};
	if (strlen(tmp) >= sizeof(ta.sun_path)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(ta.sun_path, tmp);
	unlink(tmp);
	if (bind(r->listen_fd, (struct sockaddr *)&ta, sizeof(ta)) != 0) {
		rc = -errno;
		goto fail;
	}
	/* connect() needs write permission on the socket file: the kernel
	 * enforces the grant before SO_PEERCRED is even checked. */
	if (chmod(tmp, group >= 0 ? 0660 : 0600) != 0 ||
	    (group >= 0 && chown(tmp, (uid_t)-1, (gid_t)group) != 0) ||
	    (group >= 0 && chown(r->lock_path, (uid_t)-1, (gid_t)group) != 0) || listen(r->listen_fd, 64) != 0 ||
	    rename(tmp, r->sock_path) != 0) {
		rc = -errno;
		unlink(tmp);
		goto fail;
	}
	pthread_mutex_lock(&srv_lock);
	rc = srv_add(r);
	pthread_mutex_unlock(&srv_lock);
	if (rc) {
		unlink(r->sock_path);
		goto fail;
	}
	return 0;
fail:
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	r->listen_fd = -1;
	unlink(r->lock_path);
	close(r->lock_fd);
	r->lock_fd = -1;
	return rc;
}

void zipc__serve_stop(struct zipc_region *r)
{
	srv_remove(r);
	if (r->lock_fd >= 0) {
		/* withdraw the name while we still hold its lock */
		unlink(r->sock_path);
		unlink(r->lock_path);
		close(r->lock_fd);
		r->lock_fd = -1;
	}
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	r->listen_fd = -1;
}

int zipc__serve_fetch(const char *name)
{
	char path[256];
	int rc = zipc__runtime_path(path, sizeof(path), name, ".sock");
	if (rc)
		return rc;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(s);
		if (e == ENOENT || e == ENOTDIR || e == ECONNRESET)
			return -ENOENT;
		if (e == ECONNREFUSED)
			return -EOWNERDEAD; /* the socket outlived its creator */
		if (e == EACCES || e == EPERM)
			return -EACCES;
		return -e;
	}
	struct timeval tv = {.tv_sec = 5};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	unsigned char status = 0xff;
	struct iovec iov = {.iov_base = &status, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	do
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(s);
	if (n < 0) {
		if (e == ECONNRESET)
			return -ENOENT; /* the creator closed the region meanwhile */
		return e == EAGAIN ? -ETIMEDOUT : -e;
	}
	if (n == 0)
		return -ENOENT; /* closed without an answer: the creator is closing */
	int fd = -1, extra = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else {
				close(got); /* never leak what a hostile server sends */
				extra = 1;
			}
		}
	}
	if (n != 1 || status != 0 || fd < 0 || extra || (msg.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		if (n == 1 && status != 0 && status != 0xff)
			return -(int)status;
		return -EPROTO;
	}
	return fd;
}

void zipc__serve_drop(struct zipc_region *r)
{
	/* the lock is an flock on the open file description shared with the
	 * creator: closing our copy does not release it */
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	r->lock_fd = r->listen_fd = -1;
	r->server_running = 0;
}
