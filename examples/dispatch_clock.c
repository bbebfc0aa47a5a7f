/* SPDX-License-Identifier: MIT */
/*
 * examples/dispatch_clock.c - clocked dispatch in one process: receiver "a"
 * gets the messages, receiver "b" learns the clock (the crate's
 * "accessing timestamps" example); then an in-order forward.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zipc/dispatch.h>

static void show(const char *who, zipc_dispatch_receiver *r)
{
	char buf[64];
	struct zipc_dispatch_msg m;
	int rc = zipc_dispatch_recv(r, buf, sizeof(buf), &m, ZIPC_SEC);
	if (rc == 1)
		printf("%s: message <%.*s> seq %llu\n", who, (int)m.len, buf, (unsigned long long)m.seq);
	else if (rc == 0)
		printf("%s: clock %llu\n", who, (unsigned long long)m.seq);
	else
		printf("%s: %s\n", who, zipc_strerror(rc));
}

int main(void)
{
	char name[32];
	snprintf(name, sizeof(name), "clock-demo-%d", (int)getpid());
	struct zipc_dispatch_opts o = {.bound = 10};
	zipc_dispatch *d;
	int rc = zipc_dispatch_create(name, &o, &d);
	if (rc) {
		fprintf(stderr, "create: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_dispatch_receiver *a, *b;
	zipc_dispatch_sender *ta, *tb;
	if ((rc = zipc_dispatch_receiver_open(d, "a", &a)) || (rc = zipc_dispatch_receiver_open(d, "b", &b)) ||
	    (rc = zipc_dispatch_sender_open(d, "atx", "a", &ta)) || (rc = zipc_dispatch_sender_open(d, "btx", "b", &tb))) {
		fprintf(stderr, "open: %s\n", zipc_strerror(rc));
		return 1;
	}
	zipc_dispatch_send(ta, "a1", 2, ZIPC_SEC);
	show("a", a);
	show("b", b);
	zipc_dispatch_send(ta, "a2", 2, ZIPC_SEC);
	zipc_dispatch_send(ta, "a3", 2, ZIPC_SEC);
	show("a", a);
	show("a", a);
	show("b", b);
	zipc_dispatch_sender_close(ta);
	zipc_dispatch_sender_close(tb);
	show("a", a);
	show("b", b);
	zipc_dispatch_receiver_close(a);
	zipc_dispatch_receiver_close(b);
	return zipc_dispatch_close(d) ? 1 : 0;
}
