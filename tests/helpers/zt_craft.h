/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/zt_craft.h - hand-made memfds for the validation tests:
 * copy a valid region's bytes, corrupt one field, re-checksum the header,
 * seal, and see what zipc_region_from_fd() / zipc_ring_from_fd() say.
 */
#ifndef ZT_CRAFT_H
#define ZT_CRAFT_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include <zipc/shm.h>

/* The seals zipc requires of a region. */
#define ZT_SEALS_ALL (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW)

/* 64-bit FNV-1a of @len bytes. */
uint64_t zt_fnv1a64(const void *data, size_t len);

/* Recompute hdr->hdr_sum over the bytes before it, as the creator does. */
void zt_hdr_resum(struct zipc_region_hdr *hdr);

/* Copy of the whole file behind @fd (malloc'd; *len receives its size).
 * Return: the copy, or NULL. */
void *zt_fd_bytes(int fd, size_t *len);

/* New memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING) holding @len bytes of @data,
 * then sealed with @seals (F_SEAL_* bits; 0 = unsealed).
 * Return: the descriptor, or -errno. */
int zt_memfd_with(const void *data, size_t len, unsigned seals);

#endif /* ZT_CRAFT_H */
