/* SPDX-License-Identifier: MIT */
/*
 * examples/mesh_hello.c - timely_communication's "hello" on a zipc worker mesh.
 *
 *   mesh_hello -w 2                                  2 worker threads
 *   mesh_hello -n 2 -p 0 --name hi & mesh_hello -n 2 -p 1 --name hi
 *                                                    2 processes, found by name
 *
 * Every worker sends "hello, <j>" to every worker j and prints what it
 * receives.  Unlike the original it does not count messages: the receiver
 * reports the end of stream once every sender closed.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zipc/mesh.h>

static int hello(zipc_mesh_worker *w, void *arg, void **result)
{
	(void)arg;
	uint32_t me = zipc_mesh_index(w), n = zipc_mesh_peers(w);
	printf("worker %u of %u started\n", me, n);
	zipc_mesh_sender *tx[ZIPC_MESH_MAX_WORKERS];
	zipc_mesh_receiver *rx;
	int rc = zipc_mesh_allocate(w, 0, tx, &rx);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < n; j++) {
		char text[32];
		int len = snprintf(text, sizeof(text), "hello, %u", j);
		if ((rc = zipc_mesh_send_bytes(tx[j], text, (size_t)len, 10 * ZIPC_SEC)))
			return rc;
		zipc_mesh_sender_close(tx[j]); /* as senders[i].done() */
	}
	struct zipc_mesh_msg m;
	while ((rc = zipc_mesh_pull(rx, &m, 10 * ZIPC_SEC)) == 0)
		printf("worker %u: received: <%.*s>\n", me, (int)m.len, (const char *)m.data);
	*result = (void *)(uintptr_t)me;
	return rc == -EPIPE ? 0 : rc;
}

int main(int argc, char **argv)
{
	struct zipc_mesh_config cfg;
	if (zipc_mesh_config_from_args(argc, argv, &cfg)) {
		fprintf(stderr, "usage: %s [-w threads] [-n processes -p index --name NAME]\n", argv[0]);
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	zipc_mesh_guards *g;
	int rc = zipc_mesh_initialize(&cfg, hello, NULL, &g);
	if (rc) {
		printf("error in computation: %s\n", zipc_strerror(rc));
		return 1;
	}
	struct zipc_mesh_result res[ZIPC_MESH_MAX_WORKERS];
	rc = zipc_mesh_join(g, res, ZIPC_MESH_MAX_WORKERS);
	for (uint32_t t = 0; t < cfg.threads; t++) {
		if (res[t].rc)
			printf("result: Err(%s)\n", zipc_strerror(res[t].rc));
		else
			printf("result: Ok(%lu)\n", (unsigned long)(uintptr_t)res[t].value);
	}
	return rc ? 1 : 0;
}
