// SPDX-License-Identifier: GPL-2.0
/*
 * pidfd as the oracle. Over a few hundred processes ending in varied ways,
 * steps interleaved at random: whenever pidwait reports an exit, the pidfd
 * of that process polls readable at once (never earlier), and whenever a
 * pidfd polls readable, pidwait reports it within a second. The same for
 * thread watches against PIDFD_THREAD pidfds where the kernel has them.
 */
#include "pidwait_util.h"

#include <sys/resource.h>

#include "kselftest_harness.h"

#define OP_KILL		1000	/* kill(pid, arg) from the test */
#define LATE_NS		1000000000ull	/* pidfd readable this long, no event: a failure */

struct step {
	int idx;	/* worker thread, or -1 for OP_KILL */
	int op;
	int arg;
};

struct scenario {
	const char *name;
	int threads;
	int nsteps;
	struct step step[3];
};

/* Process watches. */
static const struct scenario mixed[] = {
	{ "exit", 1, 1, { { 0, W_EXIT_GROUP, 3 } } },
	{ "sigkill", 1, 1, { { -1, OP_KILL, SIGKILL } } },
	{ "exit_group nonleader", 3, 1, { { 2, W_EXIT_GROUP, 4 } } },
	{ "leader first", 2, 2, { { 0, W_EXIT_THREAD, 5 }, { 1, W_EXIT_THREAD, 6 } } },
	{ "sigterm threads", 3, 1, { { -1, OP_KILL, SIGTERM } } },
	{ "exec nonleader", 2, 2, { { 1, W_EXEC, 0 }, { 1, W_EXIT_GROUP, 7 } } },
	{ "sigsegv nonleader", 2, 1, { { 1, W_SIGNAL, SIGSEGV } } },
	{ "threads one by one", 3, 3, { { 0, W_EXIT_THREAD, 1 }, { 2, W_EXIT_THREAD, 2 },
					{ 1, W_EXIT_THREAD, 3 } } },
};

/* Thread watches on every thread, and the process watch. */
static const struct scenario threaded[] = {
	{ "nonleader, leader, exit_group", 3, 3, { { 1, W_EXIT_THREAD, 1 }, { 0, W_EXIT_THREAD, 2 },
						   { 2, W_EXIT_GROUP, 3 } } },
	{ "leader, sigkill", 3, 2, { { 0, W_EXIT_THREAD, 4 }, { -1, OP_KILL, SIGKILL } } },
	{ "one by one, leader last", 3, 3, { { 2, W_EXIT_THREAD, 5 }, { 1, W_EXIT_THREAD, 6 },
					     { 0, W_EXIT_THREAD, 7 } } },
	{ "exit_group leader", 3, 1, { { 0, W_EXIT_GROUP, 8 } } },
};

/* One watch and its pidfd. */
struct item {
	int proc;		/* index of the process */
	pid_t tgid;
	pid_t id;
	bool thread;
	int pidfd;
	uint64_t pidfd_ready_ns;	/* first seen readable, 0: not yet */
	bool seen;
	struct pidwait_event ev;
};

struct proc {
	const struct scenario *sc;
	struct worker w;
	int next;		/* next step */
};

static unsigned int seed = 1;

static unsigned int rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static int no_core(void *arg)
{
	struct rlimit rl = { 0, 0 };

	(void)arg;
	return setrlimit(RLIMIT_CORE, &rl) ? 60 : 0;
}

static bool pidfd_readable(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/*
 * Read what pidwait has, check each event against its pidfd, and check
 * that no pidfd has been readable for long without an event. Returns the
 * number of events read.
 */
static int observe(struct __test_metadata *_metadata, int fd, struct item *it, int n)
{
	struct pidwait_event ev[16];
	uint64_t now;
	ssize_t r;
	int got = 0;

	while ((r = read(fd, ev, sizeof(ev))) > 0) {
		ASSERT_EQ(0, r % PW_EVSZ);
		for (int i = 0; i < r / PW_EVSZ; i++) {
			struct item *x;

			ASSERT_GT((__u64)n, ev[i].cookie);
			x = &it[ev[i].cookie];
			ASSERT_FALSE(x->seen) TH_LOG("second event for %d", x->id);
			x->seen = true;
			x->ev = ev[i];
			got++;
			if (pidfd_readable(x->pidfd))
				continue;
			/*
			 * A leader that exits before its threads: its thread
			 * watch fires then (the contract), while a PIDFD_THREAD
			 * pidfd waits for the whole group (Linux 6.9+).
			 */
			ASSERT_TRUE(x->thread && x->id == x->tgid &&
				    !pw_wait_thread_exited(x->tgid, x->id, 0))
				TH_LOG("pidwait reported %s %d before its pidfd was readable",
				       x->thread ? "thread" : "process", x->id);
		}
	}
	ASSERT_EQ(EAGAIN, errno);

	now = pw_now_ns();
	for (int i = 0; i < n; i++) {
		if (it[i].seen || !pidfd_readable(it[i].pidfd))
			continue;
		if (!it[i].pidfd_ready_ns)
			it[i].pidfd_ready_ns = now;
		ASSERT_GT(it[i].pidfd_ready_ns + LATE_NS, now)
			TH_LOG("pidfd of %s %d readable for 1s, no pidwait event",
			       it[i].thread ? "thread" : "process", it[i].id);
	}
	return got;
}

static void run_step(struct __test_metadata *_metadata, struct proc *p)
{
	const struct step *s = &p->sc->step[p->next++];

	if (s->op == OP_KILL) {
		ASSERT_EQ(0, kill(p->w.pid, s->arg));
	} else {
		ASSERT_EQ(0, worker_cmd(&p->w, s->idx, s->op, s->arg));
	}
}

/* Observe for ms milliseconds, waking on events; the number of events read. */
static int observe_for(struct __test_metadata *_metadata, int fd, struct item *it, int n,
		       int ms)
{
	uint64_t end = pw_now_ns() + (uint64_t)ms * 1000000ull;
	int seen = 0;

	while (pw_now_ns() < end) {
		pw_wait_readable(fd, 10);
		seen += observe(_metadata, fd, it, n);
	}
	return seen;
}

/*
 * Start nproc processes (random scenarios), arm them (and their threads
 * if thread_watches) and run the steps in random order, observing after
 * each: first every step but the last of each process, then a pause of
 * more than a second, so that the states in between (a leader gone, a new
 * image) last long enough to be judged, then the last steps. Then wait for
 * every event and compare statuses with waitpid().
 */
static void oracle(struct __test_metadata *_metadata, const struct scenario *sc, int nsc,
		   int nproc, bool thread_watches, int fd)
{
	struct item it[nproc * (W_MAX_THREADS + 1)];
	struct proc pr[nproc];
	int n = 0, left = 0, seen = 0, st = -1;
	uint64_t end;

	for (int p = 0; p < nproc; p++) {
		pr[p].sc = &sc[rnd(nsc)];
		pr[p].next = 0;
		ASSERT_EQ(0, worker_start(&pr[p].w, pr[p].sc->threads, no_core, NULL));
		left += pr[p].sc->nsteps;
		for (int t = -1; t < (thread_watches ? pr[p].sc->threads : 0); t++) {
			struct item *x = &it[n];

			memset(x, 0, sizeof(*x));
			x->proc = p;
			x->tgid = pr[p].w.pid;
			x->thread = t >= 0;
			x->id = t >= 0 ? pr[p].w.tid[t] : pr[p].w.pid;
			x->pidfd = pw_pidfd_open(x->id, x->thread ? PIDFD_THREAD : 0);
			ASSERT_LE(0, x->pidfd) TH_LOG("pidfd_open(%d): %s", x->id, strerror(errno));
			ASSERT_EQ(0, pw_arm(fd, x->id, x->thread ? PIDWAIT_ARM_THREAD : 0, n));
			n++;
		}
	}

	for (int phase = 0; phase < 2; phase++) {
		int todo = 0;

		for (int p = 0; p < nproc; p++)
			todo += phase ? pr[p].sc->nsteps - pr[p].next : pr[p].sc->nsteps - 1;
		while (todo--) {
			int p = rnd(nproc);

			while (pr[p].next == pr[p].sc->nsteps - (phase ? 0 : 1))
				p = (p + 1) % nproc;
			run_step(_metadata, &pr[p]);
			left--;
			seen += observe(_metadata, fd, it, n);
		}
		if (!phase)
			seen += observe_for(_metadata, fd, it, n, LATE_NS / 1000000 + 100);
	}
	ASSERT_EQ(0, left);

	end = pw_now_ns() + PW_TIMEOUT_MS * 1000000ull;
	while (seen < n) {
		ASSERT_GT(end, pw_now_ns()) TH_LOG("%d of %d events after %d ms",
						   seen, n, PW_TIMEOUT_MS);
		pw_wait_readable(fd, 10);
		seen += observe(_metadata, fd, it, n);
	}

	for (int p = 0; p < nproc; p++) {
		ASSERT_EQ(0, worker_reap(&pr[p].w, &st));
		for (int i = 0; i < n; i++) {
			if (it[i].proc != p)
				continue;
			ASSERT_EQ(it[i].id, it[i].ev.pid);
			ASSERT_EQ(PIDWAIT_EVENT_STATUS | (it[i].thread ? PIDWAIT_EVENT_THREAD : 0),
				  it[i].ev.flags);
			if (!it[i].thread) {
				ASSERT_EQ(st, it[i].ev.status)
					TH_LOG("%s: pid %d", pr[p].sc->name, it[i].id);
			}
		}
		worker_free(&pr[p].w);
	}
	for (int i = 0; i < n; i++)
		close(it[i].pidfd);
}

FIXTURE(oracle) {
	int fd;
};

FIXTURE_SETUP(oracle)
{
	self->fd = pw_open(O_NONBLOCK);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(oracle)
{
	close(self->fd);
}

TEST_F_TIMEOUT(oracle, processes, 300)
{
	int pidfd = pw_pidfd_open(getpid(), 0);

	if (pidfd < 0 && errno == ENOSYS)
		SKIP(return, "no pidfd_open (Linux 5.3)");
	ASSERT_LE(0, pidfd);
	close(pidfd);
	seed = 1;
	for (int batch = 0; batch < 6; batch++)
		oracle(_metadata, mixed, sizeof(mixed) / sizeof(mixed[0]), 40, false, self->fd);
}

TEST_F_TIMEOUT(oracle, threads, 300)
{
	int pidfd = pw_pidfd_open(getpid(), PIDFD_THREAD);

	if (pidfd < 0 && (errno == ENOSYS || errno == EINVAL))
		SKIP(return, "no PIDFD_THREAD (Linux 6.9): %s", strerror(errno));
	ASSERT_LE(0, pidfd);
	close(pidfd);
	seed = 2;
	for (int batch = 0; batch < 3; batch++)
		oracle(_metadata, threaded, sizeof(threaded) / sizeof(threaded[0]), 20, true,
		       self->fd);
}

PIDWAIT_HARNESS_MAIN
