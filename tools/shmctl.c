/* SPDX-License-Identifier: MIT */
/*
 * tools/shmctl.c - shmctl, the operator CLI of zipc: global options, the
 * command table and dispatch.  Each command lives in its own cmd_*.c file;
 * adding one is a function pair and a row in `commands` below.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmctl.h"

static void help_help(FILE *out);
static int cmd_help(int argc, char **argv, const struct shmctl_globals *g);

/* The command table: later commands (watch, dump, rm) are added here. */
static const struct shmctl_cmd commands[] = {
	{"ls", "[--json] [--pretty]", "list every live zipc region on the host", shmctl_cmd_ls, shmctl_help_ls},
	{"stat", "[--json] [--pretty] [--inode INO] NAME", "show a region's header and a ring's cursors, peers, counters",
	 shmctl_cmd_stat, shmctl_help_stat},
	{"help", "[COMMAND]", "show help for shmctl or for one command", cmd_help, help_help},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct shmctl_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: shmctl [--json] [--pretty] COMMAND [ARGS]\n"
		     "Inspect zipc shared-memory regions and rings on this host (read-only).\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions:\n"
		     "  -j, --json     machine-readable JSON output\n"
		     "  -p, --pretty   indented JSON output (implies --json)\n"
		     "  -h, --help     show this help\n"
		     "  -V, --version  show the zipc library version\n"
		     "\n"
		     "Regions are found by scanning /proc/*/fd and /proc/*/maps for memfds named\n"
		     "\"zipc:<name>\"; names served in the runtime directory ($ZIPC_RUNTIME_DIR,\n"
		     "default /dev/shm/zipc) whose creator is gone are listed as stale.\n"
		     "Run as root (or as the regions' owner) to see everything.\n"
		     "\n"
		     "Exit status: 0 success, 1 error or region not found or invalid, 2 usage error.\n"
		     "See 'shmctl help COMMAND' for a command's own options.\n");
}

static void help_help(FILE *out)
{
	fprintf(out, "Usage: shmctl help [COMMAND]\n"
		     "Show the general help, or the help of COMMAND.\n");
}

/* `shmctl help [COMMAND]` */
static int cmd_help(int argc, char **argv, const struct shmctl_globals *g)
{
	(void)g;
	if (argc > 2) {
		shmctl_errorf("help: too many arguments");
		return SHMCTL_EXIT_USAGE;
	}
	if (argc == 1) {
		usage(stdout);
		return SHMCTL_EXIT_OK;
	}
	const struct shmctl_cmd *c = find_command(argv[1]);
	if (!c) {
		shmctl_errorf("help: unknown command '%s'", argv[1]);
		return SHMCTL_EXIT_USAGE;
	}
	c->help(stdout);
	return SHMCTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct shmctl_globals g = {0, 0};
	int c;
	/* '+': stop at the command name; its options are its own */
	while ((c = getopt_long(argc, argv, "+jphV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': g.json = 1; break;
		case 'p': g.json = g.pretty = 1; break;
		case 'h': usage(stdout); return SHMCTL_EXIT_OK;
		case 'V': printf("shmctl (zipc %s)\n", zipc_version()); return SHMCTL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'shmctl --help'.\n");
			return SHMCTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		shmctl_errorf("missing command");
		usage(stderr);
		return SHMCTL_EXIT_USAGE;
	}
	const struct shmctl_cmd *cmd = find_command(argv[optind]);
	if (!cmd) {
		shmctl_errorf("unknown command '%s'", argv[optind]);
		fprintf(stderr, "Try 'shmctl --help'.\n");
		return SHMCTL_EXIT_USAGE;
	}

	/* the command sees argv[0] = "shmctl NAME" (getopt's messages use it) */
	char prog[64];
	snprintf(prog, sizeof(prog), "shmctl %s", cmd->name);
	char **cargv = argv + optind;
	int cargc = argc - optind;
	cargv[0] = prog;
	optind = 0; /* glibc: a full re-initialisation of getopt */
	int rc = cmd->run(cargc, cargv, &g);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		shmctl_errorf("error writing the output");
		return SHMCTL_EXIT_ERR;
	}
	return rc;
}
