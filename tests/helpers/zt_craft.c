/* SPDX-License-Identifier: MIT */
/* tests/helpers/zt_craft.c - hand-made memfds (see zt_craft.h). */
#include "helpers/zt_craft.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t zt_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

void zt_hdr_resum(struct zipc_region_hdr *hdr)
{
	hdr->hdr_sum = zt_fnv1a64(hdr, offsetof(struct zipc_region_hdr, hdr_sum));
}

void *zt_fd_bytes(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) || st.st_size <= 0)
		return NULL;
	unsigned char *buf = malloc((size_t)st.st_size);
	if (!buf)
		return NULL;
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		done += (size_t)r;
	}
	*len = done;
	return buf;
}

int zt_memfd_with(const void *data, size_t len, unsigned seals)
{
	int fd = memfd_create("zt-crafted", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	const unsigned char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t w = pwrite(fd, p + done, len - done, (off_t)done);
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		done += (size_t)w;
	}
	if (seals && fcntl(fd, F_ADD_SEALS, (int)seals)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}
