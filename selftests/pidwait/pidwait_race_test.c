// SPDX-License-Identifier: GPL-2.0
/*
 * Races, over thousands of rounds, each bounded in time: fork/arm/kill,
 * kill before arm and arm against a concurrent reap, two arms of one PID
 * at once, disarm against exit, close against exit, two readers of one
 * file, thread watches against a group exit. Nothing may hang, fire twice,
 * or be lost. PIDWAIT_RACE_ROUNDS scales the round counts (default 10000).
 */
#include "pidwait_util.h"

#include <sys/resource.h>

#include "kselftest_harness.h"

static int rounds(int share)
{
	const char *env = getenv("PIDWAIT_RACE_ROUNDS");
	long n = env ? strtol(env, NULL, 0) : 10000;

	if (n < 1)
		n = 1;
	n = n * share / 100;
	return n < 1 ? 1 : (int)n;
}

static bool two_cpus;

/* Parent on CPU 0, children on CPU 1, so that exits run beside the arms. */
static void pin(int cpu)
{
	cpu_set_t set;

	if (!two_cpus)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Typical time from SIGKILL to zombie here, measured at setup. */
static uint64_t exit_ns;

/*
 * A random pause of up to twice exit_ns (a busy wait: sleeping would
 * move us off the CPU), so that the two sides of a race meet in every
 * order over the rounds.
 */
static void jitter(uint64_t range_ns)
{
	static unsigned int seed = 7;
	uint64_t end;

	seed = seed * 1103515245u + 12345u;
	end = pw_now_ns() + (range_ns ? (seed >> 4) % range_ns : 0);
	while (pw_now_ns() < end)
		;
}

/* A bare child: pinned away from the parent; exits with code, or waits to be killed. */
static pid_t spawn(pid_t parent, int code)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		pin(1);
		if (code >= 0)
			_exit(code);
		for (;;)
			pause();
	}
	/*
	 * Move it now: it would otherwise start on our CPU and wait there
	 * while we run (and spin), which serialises every race.
	 */
	if (pid > 0 && two_cpus) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(1, &set);
		sched_setaffinity(pid, sizeof(set), &set);
	}
	return pid;
}

FIXTURE(race) {
	int fd;
	long taint;
	pid_t self_pid;
	uint64_t t0;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

FIXTURE_SETUP(race)
{
	uint64_t t[9], t0;
	cpu_set_t set;

	self->t0 = pw_now_ns();
	self->taint = pw_taint();
	self->self_pid = getpid();
	two_cpus = !sched_getaffinity(0, sizeof(set), &set) && CPU_ISSET(0, &set) &&
		   CPU_ISSET(1, &set);
	if (!two_cpus)
		TH_LOG("fewer than two CPUs: the races are milder");
	pin(0);
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);

	for (int i = 0; i < 9; i++) {
		pid_t pid = spawn(self->self_pid, -1);

		ASSERT_LE(0, pid);
		t0 = pw_now_ns();
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(0, pw_wait_zombie(pid));
		t[i] = pw_now_ns() - t0;
		ASSERT_EQ(0, pw_reap(pid, NULL));
	}
	qsort(t, 9, sizeof(t[0]), cmp_u64);
	/* Bounded: a busy host must not make the jitter cost seconds. */
	exit_ns = t[4] < 100000 ? 100000 : t[4] > 1000000 ? 1000000 : t[4];
}

FIXTURE_TEARDOWN(race)
{
	close(self->fd);
	TH_LOG("%llu ms (exit takes %llu us)",
	       (unsigned long long)((pw_now_ns() - self->t0) / 1000000),
	       (unsigned long long)(exit_ns / 1000));
	/* No oops, warning or lockup along the way. */
	EXPECT_EQ(self->taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);
}

/*
 * fork, arm, then SIGKILL it (even rounds) or let it exit at once (odd
 * rounds: the exit races with the arm); the event comes within 5 s with
 * the right status, and the file is empty again.
 */
TEST_F_TIMEOUT(race, fork_arm_exit, 600)
{
	int n = rounds(100), st = -1;
	struct pidwait_event ev;

	for (int i = 0; i < n; i++) {
		bool kill_it = !(i & 1);
		pid_t pid = spawn(self->self_pid, kill_it ? -1 : i & 0x7f);
		int ret;

		ASSERT_LE(0, pid);
		if (!kill_it)
			jitter(exit_ns);
		ret = pw_arm(self->fd, pid, 0, i);
		ASSERT_EQ(0, ret) TH_LOG("round %d: %s", i, strerror(-ret));
		if (kill_it) {
			ASSERT_EQ(0, kill(pid, SIGKILL));
		}
		ret = pw_read_one(self->fd, &ev, PW_TIMEOUT_MS);
		ASSERT_EQ(0, ret) TH_LOG("round %d: no event: %s", i, strerror(-ret));
		ASSERT_EQ(0, pw_reap(pid, &st));
		ASSERT_EQ(pid, ev.pid);
		ASSERT_EQ((__u64)i, ev.cookie);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
		ASSERT_EQ(st, ev.status);
		ASSERT_EQ(kill_it ? SIGKILL : W_EXITCODE(i & 0x7f, 0), st);
	}
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

/* Killed, then armed before the reap: it must arm, and fire. */
TEST_F_TIMEOUT(race, kill_then_arm, 300)
{
	int n = rounds(10), st = -1;
	struct pidwait_event ev;

	for (int i = 0; i < n; i++) {
		pid_t pid = spawn(self->self_pid, -1);

		ASSERT_LE(0, pid);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		jitter(2 * exit_ns);
		ASSERT_EQ(0, pw_arm(self->fd, pid, 0, i)) TH_LOG("round %d", i);
		ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS)) TH_LOG("round %d", i);
		ASSERT_EQ(pid, ev.pid);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
		ASSERT_EQ(SIGKILL, ev.status);
		ASSERT_EQ(0, pw_reap(pid, &st));
		ASSERT_EQ(st, ev.status);
	}
}

struct reaper {
	int in, out;	/* pids to reap; statuses back */
};

static void *reaper_main(void *p)
{
	struct reaper *r = p;
	pid_t pid;
	int st = -1;

	pin(1);
	while (read(r->in, &pid, sizeof(pid)) == sizeof(pid)) {
		st = -1;
		pw_reap(pid, &st);
		if (write(r->out, &st, sizeof(st)) != sizeof(st))
			break;
	}
	return NULL;
}

/*
 * The arm races with the parent's reap of a zombie, in another thread:
 * either the arm finds the process (and then the event comes) or it finds
 * nothing (ESRCH). Nothing else, and never a hang.
 *
 * Which one wins is not known, but the rest is. The child is a zombie
 * before the race and only the reaper reaps it, so its status is the one
 * spawn() gave it (exit 3, or SIGKILL), and that is what waitpid() returns.
 * An arm that succeeds found the process before its release: we are root
 * (and started it), so the event carries that status whether the reap
 * then completes before the module looks at the process again or after.
 * As the process had already exited, the watch is ready within the ioctl.
 */
TEST_F_TIMEOUT(race, arm_vs_reap, 300)
{
	int n = rounds(15), armed = 0, gone = 0, to[2], from[2], st = -1, ret;
	struct pidwait_event ev;
	struct reaper r;
	uint64_t t0, t1;
	pthread_t t;

	ASSERT_EQ(0, pipe2(to, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(from, O_CLOEXEC));
	r.in = to[0];
	r.out = from[1];
	ASSERT_EQ(0, pthread_create(&t, NULL, reaper_main, &r));

	for (int i = 0; i < n; i++) {
		int want = i & 1 ? SIGKILL : W_EXITCODE(3, 0);
		pid_t pid = spawn(self->self_pid, i & 1 ? -1 : 3);

		ASSERT_LE(0, pid);
		if (i & 1) {
			ASSERT_EQ(0, kill(pid, SIGKILL));
		}
		ASSERT_EQ(0, pw_wait_zombie(pid));
		ASSERT_EQ(sizeof(pid), write(to[1], &pid, sizeof(pid)));
		jitter(exit_ns);
		t0 = pw_now_ns();
		ret = pw_arm(self->fd, pid, 0, i);
		t1 = pw_now_ns();
		if (ret == 0) {
			armed++;
			ret = pw_read_one(self->fd, &ev, 0);
			if (ret) {
				pw_print_fdinfo(self->fd);
				TH_LOG("round %d: pid %d armed in %llu ns, not ready at once; now in state '%c', reaper's status 0x%x",
				       i, pid, (unsigned long long)(t1 - t0), pw_task_state(pid, pid) ?: '-',
				       pw_wait_readable(from[0], PW_TIMEOUT_MS) == 1 &&
				       read(from[0], &st, sizeof(st)) == sizeof(st) ? st : -1);
			}
			ASSERT_EQ(0, ret);
			ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags)
				TH_LOG("round %d: status 0x%x", i, ev.status);
			ASSERT_EVENT(&ev, pid, PIDWAIT_EVENT_STATUS, want, i, t0, t1);
		} else {
			ASSERT_EQ(-ESRCH, ret) TH_LOG("round %d: %s", i, strerror(-ret));
			gone++;
		}
		ASSERT_EQ(1, pw_wait_readable(from[0], PW_TIMEOUT_MS));
		ASSERT_EQ(sizeof(st), read(from[0], &st, sizeof(st)));
		ASSERT_EQ(want, st) TH_LOG("round %d", i);
		ASSERT_EQ(0, pw_wait_readable(self->fd, 0));
	}
	close(to[1]);
	pthread_join(t, NULL);
	TH_LOG("%d rounds: armed %d, already reaped %d", n, armed, gone);
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

struct armer {
	int cpu;
	pthread_barrier_t *go;
	int fd;
	pid_t pid;
	int ret;
};

static void *armer_main(void *p)
{
	struct armer *a = p;

	pin(a->cpu);
	pthread_barrier_wait(a->go);
	a->ret = pw_arm(a->fd, a->pid, 0, 0);
	return NULL;
}

/* Two threads arm the same PID on one file at once: exactly one wins. */
TEST_F_TIMEOUT(race, concurrent_arm, 300)
{
	int n = rounds(10), wins0 = 0;
	pthread_barrier_t go;
	struct armer a[2];
	struct worker w;
	pthread_t t[2];

	ASSERT_EQ(0, worker_start(&w, 1, NULL, NULL));
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_barrier_init(&go, NULL, 2));
		for (int k = 0; k < 2; k++) {
			a[k] = (struct armer){ .cpu = k, .go = &go, .fd = self->fd, .pid = w.pid, .ret = 1 };
			ASSERT_EQ(0, pthread_create(&t[k], NULL, armer_main, &a[k]));
		}
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&go);
		ASSERT_TRUE((a[0].ret == 0 && a[1].ret == -EEXIST) ||
			    (a[1].ret == 0 && a[0].ret == -EEXIST))
			TH_LOG("round %d: %d and %d", i, a[0].ret, a[1].ret);
		wins0 += a[0].ret == 0;
		ASSERT_EQ(1, pw_nr_watches(self->fd));
		ASSERT_EQ(0, pw_disarm(self->fd, w.pid, 0));
	}
	TH_LOG("%d rounds, first thread won %d", n, wins0);
	worker_free(&w);
}

/*
 * DISARM against the exit: either it disarms (and no event ever comes)
 * or the watch had fired (ENOENT, and the event is there).
 */
TEST_F_TIMEOUT(race, disarm_vs_exit, 300)
{
	int n = rounds(15), dropped = 0, fired = 0, st = -1, ret;
	struct pidwait_event ev;

	for (int i = 0; i < n; i++) {
		pid_t pid = spawn(self->self_pid, -1);

		ASSERT_LE(0, pid);
		ASSERT_EQ(0, pw_arm(self->fd, pid, 0, i));
		ASSERT_EQ(0, kill(pid, SIGKILL));
		jitter(2 * exit_ns);
		ret = pw_disarm(self->fd, pid, 0);
		ASSERT_EQ(0, pw_reap(pid, &st));
		if (ret == 0) {
			dropped++;
			/* Reaped: had it fired, it would be there by now. */
			ASSERT_EQ(0, pw_wait_readable(self->fd, 0)) TH_LOG("round %d", i);
		} else {
			ASSERT_EQ(-ENOENT, ret) TH_LOG("round %d", i);
			fired++;
			ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS));
			ASSERT_EQ(pid, ev.pid);
			ASSERT_EQ(st, ev.status);
		}
		ASSERT_EQ(0, pw_nr_watches(self->fd));
	}
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS));
	TH_LOG("%d rounds: disarmed %d, fired first %d", n, dropped, fired);
}

#define MODULE_REFCNT	"/sys/module/pidwait/refcnt"
#define PARAM_HOOKS	"/sys/module/pidwait/parameters/hooks"
/* The module disarms its hooks 1 s after their last watch goes. */
#define HOOK_LINGER_MS	5000

/*
 * Nothing tells when a hook is disarmed: read the parameter until it says
 * want, for a bounded time. Returns what it said last.
 */
static long wait_hooks(long want)
{
	uint64_t end = pw_now_ns() + HOOK_LINGER_MS * 1000000ull * pw_slowdown();
	long n;

	while ((n = pw_read_long(PARAM_HOOKS)) != want && n >= 0 &&
	       pw_now_ns() < end)
		pw_sleep_ms(20);
	return n;
}

/*
 * The last close against the exit: nothing may be left behind. The first
 * rounds free the file's last thread watch (which may undo backend state);
 * then a thread watch kept on another file makes closes cheap. Once that
 * one is gone too, the module's reference count, its armed hooks and, on a
 * kernel with kmemleak, the leaks it reports in pidwait are as before.
 */
TEST_F_TIMEOUT(race, close_vs_exit, 300)
{
	int n = rounds(10), st = -1, leaks = -1;
	long refcnt, hooks;

	refcnt = pw_read_long(MODULE_REFCNT);
	ASSERT_LE(0, refcnt) TH_LOG("%s: %s", MODULE_REFCNT, strerror(-refcnt));
	/* The hooks of the tests before may be in their last second. */
	hooks = wait_hooks(0);
	ASSERT_LE(0, hooks) TH_LOG("%s: %s", PARAM_HOOKS, strerror(-hooks));
	if (hooks)
		TH_LOG("%ld hooks armed by watches of others", hooks);
	if (!access(PW_KMEMLEAK, W_OK)) {
		leaks = pw_kmemleak_ours();
		ASSERT_LE(0, leaks) TH_LOG("kmemleak: %s", strerror(-leaks));
	}

	for (int i = 0; i < n; i++) {
		if (i == n / 10) {
			ASSERT_EQ(0, pw_arm(self->fd, getpid(), PIDWAIT_ARM_THREAD, 0));
		}
		pid_t pid = spawn(self->self_pid, i & 1 ? -1 : 0);
		int fd = pw_open(0);

		ASSERT_LE(0, pid);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, pw_arm(fd, pid, 0, i));
		ASSERT_EQ(0, pw_arm(fd, pid, PIDWAIT_ARM_THREAD, i));
		if (i & 1) {
			ASSERT_EQ(0, kill(pid, SIGKILL));
		}
		jitter(2 * exit_ns);
		ASSERT_EQ(0, close(fd));
		ASSERT_EQ(0, pw_reap(pid, &st));
	}

	ASSERT_EQ(0, pw_disarm(self->fd, getpid(), PIDWAIT_ARM_THREAD));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	/* A file's reference goes with its last close, synchronously. */
	ASSERT_EQ(refcnt, pw_read_long(MODULE_REFCNT));
	ASSERT_EQ(hooks, wait_hooks(hooks));
	if (leaks >= 0) {
		ASSERT_EQ(leaks, pw_kmemleak_ours())
			TH_LOG("kmemleak reports new pidwait leaks: see %s", PW_KMEMLEAK);
	}
}

struct reader {
	int cpu;
	int fd;
	int total;		/* events to read, shared */
	int *count;		/* read so far, shared */
	bool *armed_all;	/* every process armed and killed, shared */
	unsigned char *seen;	/* per cookie */
	int dup;		/* a cookie read twice, or -1 */
	pthread_mutex_t *lock;
	int err;
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	struct pidwait_event ev[3];
	unsigned int k = (unsigned int)(uintptr_t)p;
	uint64_t idle_since = pw_now_ns();
	int last = -1;

	pin(r->cpu);
	for (;;) {
		ssize_t got;
		bool all;
		int m;

		pthread_mutex_lock(r->lock);
		m = *r->count;
		all = *r->armed_all;
		pthread_mutex_unlock(r->lock);
		if (m >= r->total)
			return NULL;
		/*
		 * Events are missing once all have fired and none came for a
		 * while: the other reader's progress counts too, and the test
		 * makes them no faster than the kernel forks.
		 */
		if (!all || m != last) {
			last = m;
			idle_since = pw_now_ns();
		} else if (pw_now_ns() - idle_since >
			   (uint64_t)PW_TIMEOUT_MS * pw_slowdown() * 1000000ull) {
			r->err = ETIMEDOUT;
			return NULL;
		}
		pw_wait_readable(r->fd, 10);
		k = k * 1103515245u + 12345u;
		got = read(r->fd, ev, PW_EVSZ * (1 + (k >> 8) % 3));
		if (got < 0) {
			if (errno != EAGAIN) {
				r->err = errno;
				return NULL;
			}
			continue;
		}
		idle_since = pw_now_ns();
		pthread_mutex_lock(r->lock);
		for (int i = 0; i < got / PW_EVSZ; i++) {
			if (ev[i].cookie >= (__u64)r->total || r->seen[ev[i].cookie]++)
				r->dup = (int)ev[i].cookie;
			(*r->count)++;
		}
		pthread_mutex_unlock(r->lock);
	}
}

/* Two readers share one file: every event is read once, by one of them. */
TEST_F_TIMEOUT(race, two_readers, 300)
{
	int n = rounds(10), count = 0, fd = pw_open(O_NONBLOCK), st = -1;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	bool armed_all = false;
	unsigned char *seen = calloc(n, 1);
	struct reader r[2];
	pthread_t t[2];
	int i;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, seen);
	for (int k = 0; k < 2; k++) {
		r[k] = (struct reader){ .cpu = k, .fd = fd, .total = n, .count = &count,
					.armed_all = &armed_all, .seen = seen, .dup = -1,
					.lock = &lock };
		ASSERT_EQ(0, pthread_create(&t[k], NULL, reader_main, &r[k]));
	}
	for (i = 0; i < n; i++) {
		pid_t pid = spawn(self->self_pid, -1);

		ASSERT_LE(0, pid);
		ASSERT_EQ(0, pw_arm(fd, pid, 0, i));
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(0, pw_reap(pid, &st));
	}
	pthread_mutex_lock(&lock);
	armed_all = true;
	pthread_mutex_unlock(&lock);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < 2; k++) {
		ASSERT_EQ(0, r[k].err) TH_LOG("reader %d: %s", k, strerror(r[k].err));
		ASSERT_EQ(-1, r[k].dup) TH_LOG("cookie %d read twice", r[k].dup);
	}
	ASSERT_EQ(n, count);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(1, seen[i]) TH_LOG("cookie %d", i);
	}
	free(seen);
	close(fd);
}

/* Thread watches on every thread of a process that exit_group()s or is killed. */
TEST_F_TIMEOUT(race, thread_watches_group_exit, 300)
{
	int n = rounds(1), st = -1, threads = W_MAX_THREADS;
	struct pidwait_event ev[W_MAX_THREADS + 1];
	struct worker w;

	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, worker_start(&w, threads, NULL, NULL));
		ASSERT_EQ(0, pw_arm(self->fd, w.pid, 0, 100));
		for (int k = 0; k < threads; k++) {
			ASSERT_EQ(0, pw_arm(self->fd, w.tid[k], PIDWAIT_ARM_THREAD, k));
		}
		if (i & 1) {
			ASSERT_EQ(0, kill(w.pid, SIGKILL));
		} else {
			ASSERT_EQ(0, worker_cmd(&w, i % threads, W_EXIT_GROUP, 1));
		}
		ASSERT_EQ((threads + 1) * PW_EVSZ,
			  pw_wait_fionread(self->fd, (threads + 1) * PW_EVSZ, PW_TIMEOUT_MS))
			TH_LOG("round %d", i);
		ASSERT_EQ(0, worker_reap(&w, &st));
		ASSERT_EQ((threads + 1) * PW_EVSZ, read(self->fd, ev, sizeof(ev)));
		for (int k = 0; k <= threads; k++) {
			ASSERT_EQ(st, ev[k].status);
		}
		worker_free(&w);
	}
}

PIDWAIT_HARNESS_MAIN
