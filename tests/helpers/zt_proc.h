/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/zt_proc.h - running zipc-peer as a separate program.
 *
 * A test forks and execs zipc-peer with one mode and its options (see
 * tests/peer/zipc_peer.c).  The test and the peer talk through pipes only:
 *
 *   ready  peer -> test  one line "ready\n" once the peer has set up (or at
 *                        the event chosen by --ready-after / --ready-on-full)
 *   go     test -> peer  (ZT_PEER_GO) the peer waits for one byte before its
 *                        main work; EOF instead means "cancelled"
 *   hold   test -> peer  (ZT_PEER_HOLD) after its work the peer keeps its
 *                        handles until this pipe reaches EOF
 *   report peer -> test  one final line "rc=<code> count=<n> sum=<hex> ..."
 *
 * and through the peer's exit status (ZT_EXIT_*).  Every started peer is
 * registered and killed by zt_peers_cleanup() (called from the fixtures'
 * teardown) if the test ends early; peers also die with the test process
 * (PR_SET_PDEATHSIG), so a Criterion timeout leaves nothing behind.
 */
#ifndef ZT_PROC_H
#define ZT_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Exit status protocol of zipc-peer. */
enum zt_exit {
	ZT_EXIT_OK = 0,        /* finished with the expected code, all messages valid */
	ZT_EXIT_BAD_DATA = 1,  /* a message was lost, duplicated, reordered or corrupt */
	ZT_EXIT_BAD_CODE = 2,  /* finished with another code than --expect */
	ZT_EXIT_CANCELLED = 3, /* the go pipe reached EOF: nothing was done */
	ZT_EXIT_USAGE = 64,    /* bad command line */
	ZT_EXIT_INTERNAL = 70, /* a system call of the harness itself failed */
};

enum zt_peer_flags {
	ZT_PEER_GO = 1u << 0,   /* pass --go-fd */
	ZT_PEER_HOLD = 1u << 1, /* pass --hold-fd */
};

struct zt_peer {
	pid_t pid;
	int pidfd;
	int report_fd; /* read end */
	int ready_fd;  /* read end */
	int go_fd;     /* write end, or -1 */
	int hold_fd;   /* write end, or -1 */
	int reaped;    /* 1 once waitpid() collected the status */
	int status;    /* waitpid() status */
	char report[512];
};

/*
 * Start zipc-peer: argv is "zipc-peer <mode> <args...> --report-fd R
 * --ready-fd Y [--go-fd G] [--hold-fd H]".  @args is NULL-terminated.
 * @pass_fds (may be NULL) are descriptors of this process the peer inherits
 * under the same numbers (their FD_CLOEXEC is cleared in the child only).
 * Return: 0 or -errno.
 */
int zt_peer_start(struct zt_peer *p, unsigned flags, const int *pass_fds, unsigned npass,
		  const char *mode, const char *const *args);

/* Wait for the peer's ready line.  Return: 0, -EPIPE (the peer ended
 * first), -ETIMEDOUT, -EPROTO (unexpected text). */
int zt_peer_wait_ready(struct zt_peer *p, int timeout_ms);

/* Write the one go byte.  Return: 0 or -errno. */
int zt_peer_go(struct zt_peer *p);

/* Close the hold pipe (the peer may finish now). */
void zt_peer_release(struct zt_peer *p);

/* Read the report until EOF and reap the peer, both within @timeout_ms.
 * Return: 0, or -ETIMEDOUT (the peer still runs; teardown kills it). */
int zt_peer_finish(struct zt_peer *p, int timeout_ms);

/* SIGKILL the peer and reap it.  Return: 0 or -errno. */
int zt_peer_kill(struct zt_peer *p);

/* Exit status (0..255) if the peer exited, -signal if a signal killed it,
 * INT32_MIN if it has not been reaped. */
int zt_peer_exit(const struct zt_peer *p);

/* Value of "key=<number>" in the report.  Return: 0 or -ENOENT. */
int zt_report_i64(const struct zt_peer *p, const char *key, int64_t *out);
int zt_report_u64(const struct zt_peer *p, const char *key, uint64_t *out);

/* Kill and reap every peer still running (fixture teardown). */
void zt_peers_cleanup(void);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t zt_now_ms(void);

#endif /* ZT_PROC_H */
