/* SPDX-License-Identifier: MIT */
/*
 * zipc/zipc.h - umbrella header: everything public in zipc.
 *
 * Build a user program with:  cc prog.c $(pkg-config --cflags --libs zipc)
 */
#ifndef ZIPC_ZIPC_H
#define ZIPC_ZIPC_H

#include <zipc/common.h>
#include <zipc/shm.h>
#include <zipc/ring.h>
#include <zipc/waitset.h>
#include <zipc/record.h>
#include <zipc/mesh.h>
#include <zipc/dispatch.h>
#include <zipc/sched.h>
#include <zipc/pool.h>

#endif /* ZIPC_ZIPC_H */
