/* perf/harness.c - scenarios, CPUs (hwloc), watched children, and one rtt or stream run in two pinned processes. */
#include <hwloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perf.h"

const struct perf_scenario_info perf_scenarios[PERF_SCENARIOS] = {
	[PERF_PINGPONG] = { "pingpong", PERF_KIND_RTT, 1,
			    "RTT of an 8-byte message and its echo (mean, p50, p99, p99.9, max)" },
	[PERF_THROUGHPUT] = { "throughput", PERF_KIND_STREAM, 1,
			      "one producer process to one consumer process (messages/s, bytes/s)" },
	[PERF_WAKE] = { "wake", PERF_KIND_RTT, 1,
			"RTT when both sides sleep: zipc block and uring (1 ns spin) vs a raw futex" },
	[PERF_ONE_TO_ONE] = { "one_to_one", PERF_KIND_SHAPE, 1,
			      "Disruptor shape: 1 producer -> 1 consumer (sum of values, order)" },
	[PERF_ONE_TO_THREE_MULTICAST] = { "one_to_three_multicast", PERF_KIND_SHAPE, 1,
					  "Disruptor shape: 1 producer -> 3 consumers that each see all" },
	[PERF_THREE_TO_ONE] = { "three_to_one", PERF_KIND_SHAPE, 1,
				"Disruptor shape: 3 producers -> 1 consumer, multi-producer ring" },
	[PERF_ONE_TO_THREE_PIPELINE] = { "one_to_three_pipeline", PERF_KIND_SHAPE, 1,
					 "Disruptor shape: stages A -> B -> C updating each slot in place" },
	[PERF_ONE_TO_THREE_DIAMOND] = { "one_to_three_diamond", PERF_KIND_SHAPE, 1,
					"Disruptor shape: A (fizz) and B (buzz) independent, C after both" },
	[PERF_WORK_QUEUE] = { "work_queue", PERF_KIND_SHAPE, 1,
			      "Disruptor shape: 1 producer -> 3 members of a work-queue group" },
	[PERF_RECORD_THROUGHPUT] = { "record_throughput", PERF_KIND_STREAM, 0,
				     "variable-length record ring, one producer -> one consumer process" },
	[PERF_WAITSET] = { "waitset", PERF_KIND_RTT, 0,
			   "RTT through a process sleeping in a waitset on N rings (1, 64, 1024)" },
	[PERF_MESH] = { "mesh", PERF_KIND_COMPONENT, 0,
			"mesh all-to-all, 2 and 4 workers as threads and as processes (msgs/s)" },
	[PERF_DISPATCH] = { "dispatch", PERF_KIND_COMPONENT, 0,
			    "dispatcher: 1 and 2 senders (msgs/s), latency p50/p99, forward-merge" },
	[PERF_SCHED] = { "sched", PERF_KIND_COMPONENT, 0,
			 "scheduler: job overhead p50/p99, 8 channels x 2 workers, Jain 1x1000 vs 7x10" },
	[PERF_POOL] = { "pool", PERF_KIND_COMPONENT, 0,
			"pool: request RTT p50/p99 in- and cross-process, batch of 1000 items on 2 threads" },
};

volatile sig_atomic_t perf_timed_out;
volatile sig_atomic_t perf_peer_exited;

/*
 * Start barrier of an rtt or stream run, in a MAP_SHARED anonymous page
 * inherited by the child.  Each flag has its own line so the child's spin
 * on `go` does not disturb the parent's line.
 */
struct perf_ctl {
	_Alignas(128) _Atomic uint32_t ready; /* child: set up (and warmed up), waiting */
	_Alignas(128) _Atomic uint32_t go;    /* parent: the timed phase starts now */
};

static hwloc_topology_t topo;
static hwloc_bitmap_t cpuset[2]; /* [PERF_PARENT], [PERF_CHILD] */
static hwloc_bitmap_t both;      /* cpuset[0] | cpuset[1] */
static struct perf_ctl *ctl;

/*
 * The children of the run in progress (0: free entry): what the watchdog
 * kills.  An entry is cleared before its child is reaped (perf_reap_all()),
 * so the watchdog can never kill a recycled pid.
 */
static volatile sig_atomic_t watched[PERF_MAX_CHILDREN];

static void kill_watched(void)
{
	for (unsigned i = 0; i < PERF_MAX_CHILDREN; i++)
		if (watched[i] > 0)
			kill((pid_t)watched[i], SIGKILL);
}

/*
 * The watchdog: at the run's deadline, kill the children.  The parent's
 * own waits then end as they do for any dead peer (zipc's liveness check,
 * end of file, SIGCHLD), and the run is reported as timed out.
 */
static void on_alarm(int sig)
{
	(void)sig;
	perf_timed_out = 1;
	kill_watched();
}

static void on_child(int sig)
{
	(void)sig;
	perf_peer_exited = 1;
}

/*
 * Neither handler restarts system calls: a blocking read() or futex wait
 * returns EINTR, and the caller asks perf_stopped() whether to give up.
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
	both = hwloc_bitmap_alloc();
	for (int i = 0; i < 2; i++) {
		cpuset[i] = hwloc_bitmap_dup(pu[i]->cpuset);
		if (!cpuset[i] || !both || hwloc_bitmap_or(both, both, pu[i]->cpuset) < 0) {
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
	hwloc_bitmap_free(both);
	both = NULL;
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
	case ZIPC_WAIT_URING:
		return "uring";
	default:
		return NULL;
	}
}

void perf_case_label(const struct perf_case *c, char *buf, size_t len)
{
	const char *wait = perf_wait_name(c->wait);
	int n;

	if (perf_kind_of(c->scenario) == PERF_KIND_SHAPE) {
		snprintf(buf, len, "%s %s", perf_scenarios[c->scenario].name, perf_mode_name(c->mode));
		return;
	}
	n = snprintf(buf, len, "%s %s%s%s", perf_scenarios[c->scenario].name, c->transport->name,
		     wait ? "/" : "", wait ? wait : "");
	if (n <= 0 || (size_t)n >= len)
		return;
	if (perf_kind_of(c->scenario) == PERF_KIND_STREAM)
		snprintf(buf + n, len - (size_t)n, " %u B batch %u", c->msg_bytes, c->batch);
	else if (c->rings)
		snprintf(buf + n, len - (size_t)n, " %u ring%s", c->rings, c->rings == 1 ? "" : "s");
}

int perf_fail(const struct perf_run *run, const char *who, const char *phase, int rc)
{
	char label[96];
	perf_case_label(run->c, label, sizeof(label));
	fprintf(stderr, "zipc-perf: %s: %s %s: %s\n", label, who, phase, zipc_strerror(rc));
	return rc;
}

/* ------------------------------------------------------------ children */

void perf_watch_start(const struct perf_run *run)
{
	perf_timed_out = 0;
	perf_peer_exited = 0;
	alarm(run->env->timeout_s);
}

pid_t perf_spawn(const struct perf_run *run, const char *who, enum perf_place where,
		 int (*fn)(void *arg), void *arg)
{
	unsigned slot = 0;
	while (slot < PERF_MAX_CHILDREN && watched[slot])
		slot++;
	if (slot == PERF_MAX_CHILDREN)
		return -EAGAIN;

	pid_t parent = getpid();
	fflush(NULL); /* nothing buffered gets duplicated into the child */
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		watched[slot] = pid;
		return pid;
	}

	/* The child: die with the parent, even if it already died before prctl(). */
	const char *phase = "prctl";
	int rc = 0;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		rc = -errno;
	else if (getppid() != parent)
		rc = -EOWNERDEAD;
	if (!rc) {
		phase = "pinning";
		if (hwloc_set_cpubind(topo, where == PERF_ON_BOTH_CPUS ? both : cpuset[PERF_CHILD],
				      HWLOC_CPUBIND_THREAD) < 0)
			rc = -errno;
	}
	if (rc) {
		perf_fail(run, who, phase, rc);
		_exit(1);
	}
	_exit(fn(arg) ? 1 : 0);
}

/* Forget watched child @pid (before it is reaped).  Return: 1 if it was watched. */
static int unwatch(pid_t pid)
{
	for (unsigned i = 0; i < PERF_MAX_CHILDREN; i++) {
		if (watched[i] == pid) {
			watched[i] = 0;
			return 1;
		}
	}
	return 0;
}

static unsigned watched_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < PERF_MAX_CHILDREN; i++)
		n += watched[i] != 0;
	return n;
}

unsigned perf_reap_all(const struct perf_run *run, int kill_now)
{
	char label[96];
	unsigned failed = 0;
	int killing = kill_now || perf_timed_out;

	perf_case_label(run->c, label, sizeof(label));
	if (killing)
		kill_watched();
	while (watched_count()) {
		siginfo_t si;
		int status;
		/* Learn which child ended without reaping it: its pid cannot be
		 * recycled (and killed by a late watchdog) until unwatch(). */
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "zipc-perf: %s: waitid: %s\n", label, zipc_strerror(-errno));
			failed++;
			break; /* ECHILD: nothing left to wait for */
		}
		int ours = unwatch(si.si_pid);
		while (waitpid(si.si_pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!ours || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
			continue;
		killing |= perf_timed_out;
		if (killing && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			continue; /* killed by us: the caller reports why */
		failed++;
		if (WIFSIGNALED(status))
			fprintf(stderr, "zipc-perf: %s: child %d killed by signal %d (%s)\n", label,
				(int)si.si_pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
		/* else it printed why; the others could only wait for it */
		if (!killing) {
			killing = 1;
			kill_watched();
		}
	}
	alarm(0);
	return failed;
}

/* ----------------------------------------------- one rtt or stream run */

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

/* The child's whole life after perf_spawn(): open, echo or produce, close. */
static int child_main(void *arg)
{
	struct perf_run *run = arg;
	const struct perf_case *c = run->c;
	const struct perf_transport *t = c->transport;
	const char *phase = "open";
	int rc = t->open(run, PERF_CHILD);

	if (rc)
		return perf_fail(run, "child", phase, rc);
	if (perf_kind_of(c->scenario) == PERF_KIND_RTT) {
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
	return rc ? perf_fail(run, "child", phase, rc) : 0;
}

/* The parent's measuring side; *phase names the step that failed. */
static int parent_main(struct perf_run *run, const char **phase)
{
	const struct perf_case *c = run->c;
	const struct perf_transport *t = c->transport;
	int rc;

	if (perf_kind_of(c->scenario) == PERF_KIND_RTT) {
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

/* An rtt or stream run: the parent measures, one child pinned to the other CPU serves. */
static int duo_run(struct perf_run *run)
{
	const struct perf_transport *t = run->c->transport;
	const char *phase = "open";
	char label[96];
	int rc = t->setup(run);

	if (rc)
		return perf_fail(run, "parent", "setup", rc);
	atomic_store_explicit(&ctl->ready, 0, memory_order_relaxed);
	atomic_store_explicit(&ctl->go, 0, memory_order_relaxed);
	perf_watch_start(run);
	pid_t pid = perf_spawn(run, "child", PERF_ON_CHILD_CPU, child_main, run);
	if (pid < 0) {
		alarm(0);
		t->teardown(run);
		return perf_fail(run, "parent", "fork", (int)pid);
	}
	rc = t->open(run, PERF_PARENT);
	if (!rc) {
		rc = parent_main(run, &phase);
		t->close(run, PERF_PARENT);
	}
	unsigned failed = perf_reap_all(run, rc != 0);
	if (!rc && !failed && !perf_timed_out && t->counters)
		t->counters(run);
	t->teardown(run);

	perf_case_label(run->c, label, sizeof(label));
	if (perf_timed_out) {
		fprintf(stderr, "zipc-perf: %s: run killed at the %u s timeout\n", label,
			run->env->timeout_s);
		return -ETIMEDOUT;
	}
	if (rc)
		return perf_fail(run, "parent", phase, rc);
	if (failed)
		return -EOWNERDEAD; /* the child's failure is described above */
	if (run->errors)
		fprintf(stderr, "zipc-perf: %s: %llu messages lost, reordered or corrupted\n", label,
			(unsigned long long)run->errors);
	return 0;
}

int perf_run_once(struct perf_run *run)
{
	run->errors = 0;
	run->elapsed_ns = 0;
	run->sleeps = -1;
	run->wakes = -1;
	if (perf_kind_of(run->c->scenario) == PERF_KIND_SHAPE)
		return perf_shape_run(run);
	return duo_run(run);
}
