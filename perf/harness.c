/* perf/harness.c - one run in two pinned processes: hwloc, fork, start barrier, watchdog, reap. */
#include <hwloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perf.h"

volatile sig_atomic_t perf_timed_out;
volatile sig_atomic_t perf_peer_exited;

/*
 * Start barrier of a run, in a MAP_SHARED anonymous page inherited by the
 * child.  Each flag has its own line so the child's spin on `go` does not
 * disturb the parent's line.
 */
struct perf_ctl {
	_Alignas(128) _Atomic uint32_t ready; /* child: set up (and warmed up), waiting */
	_Alignas(128) _Atomic uint32_t go;    /* parent: the timed phase starts now */
};

static hwloc_topology_t topo;
static hwloc_bitmap_t cpuset[2];
static struct perf_ctl *ctl;

/* The child of the run in progress (0: none): what the watchdog kills. */
static volatile sig_atomic_t watched_pid;

/*
 * The watchdog: at the run's deadline, kill the child.  The parent's own
 * waits then end as they do for any dead peer (zipc's liveness check, end
 * of file, SIGCHLD), and the run is reported as timed out.
 */
static void on_alarm(int sig)
{
	(void)sig;
	perf_timed_out = 1;
	if (watched_pid > 0)
		kill((pid_t)watched_pid, SIGKILL);
}

static void on_child(int sig)
{
	(void)sig;
	perf_peer_exited = 1;
}

/*
 * Neither handler restarts system calls: a blocking read() in a kernel
 * baseline returns EINTR, and the transport asks perf_stopped() whether to
 * give up.
 */
static int install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = SIG_IGN; /* a write to a dead peer's pipe returns EPIPE instead */
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* The two PUs of every run: requested OS numbers, else one PU of each of two cores. */
static int choose_pus(const struct perf_env *env, hwloc_obj_t pu[2])
{
	if (env->cpu[0] >= 0) {
		for (int i = 0; i < 2; i++) {
			pu[i] = hwloc_get_pu_obj_by_os_index(topo, (unsigned)env->cpu[i]);
			if (!pu[i]) {
				fprintf(stderr, "zipc-perf: CPU %d does not exist or is not allowed\n",
					env->cpu[i]);
				return -EINVAL;
			}
		}
		return 0;
	}
	if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) >= 2) {
		for (int i = 0; i < 2; i++) {
			hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)i);
			pu[i] = hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU, 0);
		}
	} else if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU) >= 2) {
		for (int i = 0; i < 2; i++)
			pu[i] = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)i);
	}
	if (!pu[0] || !pu[1]) {
		fprintf(stderr, "zipc-perf: needs two CPUs, found %d\n",
			hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
		return -ENODEV;
	}
	return 0;
}

static void describe(const hwloc_obj_t pu[2], char *desc, size_t len)
{
	hwloc_obj_t core[2];
	for (int i = 0; i < 2; i++)
		core[i] = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu[i]);
	if (core[0] && core[1])
		snprintf(desc, len, "parent on CPU %u (core L#%u), child on CPU %u (core L#%u): %s",
			 pu[0]->os_index, core[0]->logical_index, pu[1]->os_index,
			 core[1]->logical_index,
			 core[0] == core[1] ? "SMT siblings of one core" : "separate cores");
	else
		snprintf(desc, len, "parent on CPU %u, child on CPU %u", pu[0]->os_index,
			 pu[1]->os_index);
}

int perf_harness_init(struct perf_env *env, char *desc, size_t desc_len)
{
	hwloc_obj_t pu[2] = { NULL, NULL };
	int rc;

	if (hwloc_topology_init(&topo) < 0) {
		rc = -errno;
		topo = NULL;
		fprintf(stderr, "zipc-perf: hwloc: %s\n", zipc_strerror(rc));
		return rc;
	}
	if (hwloc_topology_load(topo) < 0) {
		rc = -errno;
		fprintf(stderr, "zipc-perf: hwloc topology: %s\n", zipc_strerror(rc));
		goto fail;
	}
	rc = choose_pus(env, pu);
	if (rc)
		goto fail;
	if (pu[0] == pu[1]) {
		fprintf(stderr, "zipc-perf: the two CPUs must differ\n");
		rc = -EINVAL;
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		cpuset[i] = hwloc_bitmap_dup(pu[i]->cpuset);
		if (!cpuset[i]) {
			rc = -ENOMEM;
			fprintf(stderr, "zipc-perf: %s\n", zipc_strerror(rc));
			goto fail;
		}
		env->cpu[i] = (int)pu[i]->os_index;
	}
	describe(pu, desc, desc_len);
	if (hwloc_set_cpubind(topo, cpuset[PERF_PARENT], HWLOC_CPUBIND_THREAD) < 0) {
		rc = -errno;
		fprintf(stderr, "zipc-perf: pinning to CPU %d: %s\n", env->cpu[PERF_PARENT],
			zipc_strerror(rc));
		goto fail;
	}
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		rc = -errno;
		ctl = NULL;
		fprintf(stderr, "zipc-perf: mmap: %s\n", zipc_strerror(rc));
		goto fail;
	}
	rc = install_signals();
	if (rc) {
		fprintf(stderr, "zipc-perf: sigaction: %s\n", zipc_strerror(rc));
		goto fail;
	}
	return 0;
fail:
	perf_harness_fini();
	return rc;
}

void perf_harness_fini(void)
{
	/* Default dispositions again: a report written into a closed pipe ends quietly. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (ctl) {
		munmap(ctl, sizeof(*ctl));
		ctl = NULL;
	}
	for (int i = 0; i < 2; i++) {
		hwloc_bitmap_free(cpuset[i]);
		cpuset[i] = NULL;
	}
	if (topo) {
		hwloc_topology_destroy(topo);
		topo = NULL;
	}
}

const char *perf_wait_name(uint32_t wait)
{
	switch (wait) {
	case ZIPC_WAIT_SPIN:
		return "spin";
	case ZIPC_WAIT_YIELD:
		return "yield";
	case ZIPC_WAIT_BLOCK:
		return "block";
	default:
		return NULL;
	}
}

void perf_case_label(const struct perf_case *c, char *buf, size_t len)
{
	const char *wait = perf_wait_name(c->wait);
	int n = snprintf(buf, len, "%s %s%s%s",
			 c->scenario == PERF_PINGPONG ? "pingpong" : "throughput",
			 c->transport->name, wait ? "/" : "", wait ? wait : "");
	if (c->scenario == PERF_THROUGHPUT && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " %u B batch %u", c->msg_bytes, c->batch);
}

/* Spin until *flag is set (acquire: pairs with the release in set_flag()). */
static int wait_flag(_Atomic uint32_t *flag)
{
	while (!atomic_load_explicit(flag, memory_order_acquire)) {
		perf_pause();
		int rc = perf_stopped();
		if (rc && !atomic_load_explicit(flag, memory_order_acquire))
			return rc;
	}
	return 0;
}

/* Release: what this process did before (setup, warm-up) happens-before the peer's wait_flag(). */
static void set_flag(_Atomic uint32_t *flag)
{
	atomic_store_explicit(flag, 1, memory_order_release);
}

static int fail(const struct perf_run *run, const char *who, const char *phase, int rc)
{
	char label[96];
	perf_case_label(run->c, label, sizeof(label));
	fprintf(stderr, "zipc-perf: %s: %s %s: %s\n", label, who, phase, zipc_strerror(rc));
	return rc;
}

/* The child's whole life: pin, open, echo or produce, close.  Returns the exit status. */
static int child_main(struct perf_run *run, pid_t parent)
{
	const struct perf_case *c = run->c;
	const struct perf_transport *t = c->transport;
	const char *phase = "prctl";
	int rc = 0;

	/* Die with the parent, even if it already died before prctl(). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		rc = -errno;
	else if (getppid() != parent)
		rc = -EOWNERDEAD;
	if (rc)
		goto out;
	phase = "pinning";
	if (hwloc_set_cpubind(topo, cpuset[PERF_CHILD], HWLOC_CPUBIND_THREAD) < 0) {
		rc = -errno;
		goto out;
	}
	phase = "open";
	rc = t->open(run, PERF_CHILD);
	if (rc)
		goto out;
	if (c->scenario == PERF_PINGPONG) {
		set_flag(&ctl->ready);
		phase = "echo";
		rc = t->pong(run, 0, c->warmup + c->count);
	} else {
		phase = "warm-up send";
		rc = t->send(run, 0, c->warmup);
		if (!rc) {
			set_flag(&ctl->ready);
			phase = "start";
			rc = wait_flag(&ctl->go);
		}
		if (!rc) {
			phase = "send";
			rc = t->send(run, c->warmup, c->count);
		}
	}
	t->close(run, PERF_CHILD);
out:
	if (rc)
		fail(run, "child", phase, rc);
	return rc ? 1 : 0;
}

/* The parent's measuring side; *phase names the step that failed. */
static int parent_main(struct perf_run *run, const char **phase)
{
	const struct perf_case *c = run->c;
	const struct perf_transport *t = c->transport;
	int rc;

	if (c->scenario == PERF_PINGPONG) {
		*phase = "start";
		rc = wait_flag(&ctl->ready);
		if (rc)
			return rc;
		*phase = "warm-up";
		rc = t->ping(run, 0, c->warmup, NULL);
		if (rc)
			return rc;
		*phase = "timed round trips";
		return t->ping(run, c->warmup, c->count, run->samples);
	}
	*phase = "warm-up receive";
	rc = t->recv(run, 0, c->warmup);
	if (rc)
		return rc;
	*phase = "start";
	rc = wait_flag(&ctl->ready);
	if (rc)
		return rc;
	int64_t t0 = perf_now_ns();
	set_flag(&ctl->go);
	*phase = "timed receive";
	rc = t->recv(run, c->warmup, c->count);
	run->elapsed_ns = perf_now_ns() - t0;
	return rc;
}

/*
 * Wait for the child to end: killed at once if @kill_now, else given
 * @grace_s seconds to exit by itself before the watchdog kills it.  Never
 * leaves a zombie.
 */
static int reap(pid_t pid, int kill_now, unsigned grace_s, int *status)
{
	int rc = 0;
	if (kill_now)
		kill(pid, SIGKILL);
	else
		alarm(grace_s);
	while (waitpid(pid, status, 0) != pid) {
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	watched_pid = 0; /* before alarm(0): a late SIGALRM must not kill a recycled pid */
	alarm(0);
	return rc;
}

int perf_run_once(struct perf_run *run)
{
	const struct perf_transport *t = run->c->transport;
	const char *phase = "open";
	int rc, status = 0;

	run->errors = 0;
	run->elapsed_ns = 0;
	rc = t->setup(run);
	if (rc)
		return fail(run, "parent", "setup", rc);
	atomic_store_explicit(&ctl->ready, 0, memory_order_relaxed);
	atomic_store_explicit(&ctl->go, 0, memory_order_relaxed);
	perf_timed_out = 0;
	perf_peer_exited = 0;
	fflush(NULL); /* nothing buffered gets duplicated into the child */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		t->teardown(run);
		return fail(run, "parent", "fork", rc);
	}
	if (pid == 0)
		_exit(child_main(run, parent));

	watched_pid = pid;
	alarm(run->env->timeout_s);
	rc = t->open(run, PERF_PARENT);
	if (!rc) {
		rc = parent_main(run, &phase);
		t->close(run, PERF_PARENT);
	}
	alarm(0);
	const int timed_out = perf_timed_out;
	int rrc = reap(pid, rc != 0, run->env->timeout_s, &status);
	t->teardown(run);

	char label[96];
	perf_case_label(run->c, label, sizeof(label));
	if (timed_out) {
		fprintf(stderr, "zipc-perf: %s: run killed at the %u s timeout\n", label,
			run->env->timeout_s);
		return -ETIMEDOUT;
	}
	if (rc)
		return fail(run, "parent", phase, rc);
	if (rrc)
		return fail(run, "parent", "waitpid", rrc);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "zipc-perf: %s: child killed by signal %d (%s)%s\n", label,
			WTERMSIG(status), strsignal(WTERMSIG(status)),
			perf_timed_out ? ": it did not exit after the run" : "");
		return -EOWNERDEAD;
	}
	if (WEXITSTATUS(status) != 0)
		return -EOWNERDEAD; /* the child printed why */
	if (run->errors)
		fprintf(stderr, "zipc-perf: %s: %llu messages lost, reordered or corrupted\n", label,
			(unsigned long long)run->errors);
	return 0;
}
