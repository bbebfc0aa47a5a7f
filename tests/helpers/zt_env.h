/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/zt_env.h - per-test environment: a private ZIPC_RUNTIME_DIR,
 * unique region names, tunable message counts, default ring options.
 * No Criterion here: helpers are linked into zipc-peer too.
 */
#ifndef ZT_ENV_H
#define ZT_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <zipc/ring.h>

/* Create a fresh directory under /tmp and export it as ZIPC_RUNTIME_DIR.
 * Return: 0 or -errno. */
int zt_env_setup(void);

/* Kill any peer still running, then remove the runtime directory. */
void zt_env_teardown(void);

/* The runtime directory of this test ("" before zt_env_setup()). */
const char *zt_runtime_dir(void);

/* A region name unique to this process and call: "<tag>-<pid>-<n>". */
const char *zt_name(char *buf, size_t cap, const char *tag);

/* $ZIPC_TEST_MESSAGES if set to a positive number, else @dflt. */
uint64_t zt_messages(uint64_t dflt);

/* Ring options with everything explicit: SP, reserved consumer, given
 * wait strategy, no NUMA binding, no group. */
struct zipc_ring_opts zt_ring_opts(uint64_t capacity, uint32_t slot_size, uint32_t wait);

/* Path of the zipc-peer program: $ZIPC_PEER, else next to this executable. */
const char *zt_peer_path(void);

/* Wait (yielding) until a consumer of @r sleeps: it has announced itself on
 * the ring's futex (zipc_ring_stat().consumers_sleeping > 0) and its process
 * is blocked inside the futex system call (/proc/<pid>/syscall), so the next
 * publish has to wake it through the kernel.  A handshake, not a sleep.
 * Return: 0, -ETIMEDOUT (@timeout_ns < 0: none), or a zipc_ring_stat() code. */
int zt_wait_for_sleeper(const zipc_ring *r, int64_t timeout_ns);

/* 1 if the main thread of @pid is blocked in the futex system call. */
int zt_in_futex(int pid);

/* Name of a wait strategy ("spin", "yield", "block"). */
const char *zt_wait_name(uint32_t strategy);

#endif /* ZT_ENV_H */
