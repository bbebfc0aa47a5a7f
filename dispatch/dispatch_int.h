/* SPDX-License-Identifier: MIT */
/*
 * dispatch/dispatch_int.h - private to libzipc: what dispatch/mesh.c and
 * dispatch/dispatch.c take from the ring internals (futex sleeping and the
 * W1/S1 waker/sleeper protocol of zipc/bits/ring_pvt.h).  Never installed.
 */
#ifndef ZIPC_DISPATCH_INT_H
#define ZIPC_DISPATCH_INT_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../ring/ring_int.h"

#endif /* ZIPC_DISPATCH_INT_H */
