// SPDX-License-Identifier: GPL-2.0
/*
 * libpidwait on each of its backends: the module, pidfd + epoll, and
 * /proc polling. The same cases run on every backend the machine has;
 * what a backend cannot know (a status of a process that is not the
 * caller's child, without the module) is asserted absent, not skipped.
 */
#include "pidwait_util.h"

#include <libpidwait.h>

#include "kselftest_harness.h"

FIXTURE(lib) {
	struct pidwait_watcher *w;
};

FIXTURE_VARIANT(lib) {
	enum pidwait_backend backend;
};

FIXTURE_VARIANT_ADD(lib, module) {
	.backend = PIDWAIT_BACKEND_MODULE,
};

FIXTURE_VARIANT_ADD(lib, pidfd) {
	.backend = PIDWAIT_BACKEND_PIDFD,
};

FIXTURE_VARIANT_ADD(lib, proc) {
	.backend = PIDWAIT_BACKEND_PROC,
};

/* Whether the machine has this backend at all: else the variant skips. */
static bool available(enum pidwait_backend b)
{
	switch (b) {
	case PIDWAIT_BACKEND_MODULE:
		return !access(PIDWAIT_DEVICE, F_OK);
	case PIDWAIT_BACKEND_PIDFD: {
		int fd = pw_pidfd_open(getpid(), 0);

		if (fd < 0)
			return false;
		close(fd);
		return true;
	}
	default:
		return true;
	}
}

FIXTURE_SETUP(lib)
{
	if (!available(variant->backend))
		SKIP(return, "no %s backend on this machine",
		     pidwait_backend_name(variant->backend));
	self->w = pidwait_watcher_new(variant->backend, 0);
	ASSERT_NE(NULL, self->w) TH_LOG("%s: %s", pidwait_backend_name(variant->backend),
				       strerror(errno));
	ASSERT_EQ(variant->backend, pidwait_watcher_backend(self->w));
}

FIXTURE_TEARDOWN(lib)
{
	pidwait_watcher_free(self->w);
}

/* A child that waits for a byte on its pipe, then exits with it. */
static pid_t child(int *hold)
{
	int p[2];
	pid_t pid;
	char c = 0;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (!pid) {
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(100);
		_exit(c);
	}
	close(p[0]);
	*hold = p[1];
	return pid;
}

static void release(int hold, char code)
{
	if (write(hold, &code, 1) != 1)
		return;
	close(hold);
}

static int read_one(struct pidwait_watcher *w, struct pidwait_watcher_event *ev)
{
	return pidwait_watcher_read(w, ev, 1, PW_TIMEOUT_MS * pw_slowdown());
}

TEST_F(lib, child_exit_and_status)
{
	struct pidwait_watcher_event ev;
	int hold;
	pid_t pid = child(&hold);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidwait_watcher_add(self->w, pid, 0xc0ffee, 0));
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 0));
	release(hold, 42);
	ASSERT_EQ(1, read_one(self->w, &ev));
	EXPECT_EQ(pid, ev.pid);
	EXPECT_EQ(0xc0ffeeull, ev.cookie);
	EXPECT_NE(0ull, ev.time_ns);
	/* Every backend knows its caller's child's status, unreaped. */
	ASSERT_TRUE(ev.flags & PIDWAIT_WEVENT_STATUS);
	EXPECT_TRUE(WIFEXITED(ev.status));
	EXPECT_EQ(42, WEXITSTATUS(ev.status));
	ASSERT_EQ(0, pw_reap(pid, NULL));
	/* Fired watches are gone: nothing more, and removing it is ENOENT. */
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 0));
	EXPECT_EQ(-1, pidwait_watcher_remove(self->w, pid, 0));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(lib, killed_child)
{
	struct pidwait_watcher_event ev;
	int hold;
	pid_t pid = child(&hold);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidwait_watcher_add(self->w, pid, 1, 0));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(1, read_one(self->w, &ev));
	ASSERT_TRUE(ev.flags & PIDWAIT_WEVENT_STATUS);
	EXPECT_TRUE(WIFSIGNALED(ev.status));
	EXPECT_EQ(SIGKILL, WTERMSIG(ev.status));
	ASSERT_EQ(0, pw_reap(pid, NULL));
	close(hold);
}

/* A grandchild: its status only where the module shows it. */
TEST_F(lib, not_a_child)
{
	struct pidwait_watcher_event ev;
	int p[2], hold;
	pid_t mid, pid;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	mid = fork();
	ASSERT_LE(0, mid);
	if (!mid) {
		pid = child(&hold);
		if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		/* Held open by us; the grandchild's parent reaps it. */
		release(hold, 7);
		_exit(pw_reap(pid, NULL) ? 1 : 0);
	}
	ASSERT_EQ((ssize_t)sizeof(pid), read(p[0], &pid, sizeof(pid)));
	/* Possibly gone already: then ESRCH, and nothing to wait for. */
	if (pidwait_watcher_add(self->w, pid, 9, 0)) {
		EXPECT_EQ(ESRCH, errno);
	} else {
		ASSERT_EQ(1, read_one(self->w, &ev));
		EXPECT_EQ(pid, ev.pid);
		if (pidwait_watcher_statuses(self->w)) {
			EXPECT_TRUE(!(ev.flags & PIDWAIT_WEVENT_STATUS) ||
				    WEXITSTATUS(ev.status) == 7);
		} else {
			EXPECT_FALSE(ev.flags & PIDWAIT_WEVENT_STATUS);
		}
	}
	ASSERT_EQ(0, pw_reap(mid, NULL));
	close(p[0]);
	close(p[1]);
}

TEST_F(lib, many)
{
	struct pidwait_watcher_event ev[64];
	enum { N = 100 };
	int hold[N], seen[N] = { 0 }, got = 0;
	pid_t pids[N];

	for (int i = 0; i < N; i++) {
		pids[i] = child(&hold[i]);
		ASSERT_LT(0, pids[i]);
		ASSERT_EQ(0, pidwait_watcher_add(self->w, pids[i], (uint64_t)i, 0));
	}
	for (int i = 0; i < N; i++)
		release(hold[i], 0);
	while (got < N) {
		int n = pidwait_watcher_read(self->w, ev, 64, PW_TIMEOUT_MS * pw_slowdown());

		ASSERT_LT(0, n) TH_LOG("%d of %d events", got, N);
		for (int k = 0; k < n; k++) {
			ASSERT_LT(ev[k].cookie, (uint64_t)N);
			ASSERT_EQ(pids[ev[k].cookie], ev[k].pid);
			ASSERT_EQ(0, seen[ev[k].cookie]++);
		}
		got += n;
	}
	for (int i = 0; i < N; i++)
		ASSERT_EQ(0, pw_reap(pids[i], NULL));
	EXPECT_EQ(0, pidwait_watcher_read(self->w, ev, 64, 0));
}

/*
 * Exits that have all happened: once a read has returned the first, the
 * rest are there for reads that do not wait, however small each read.
 */
TEST_F(lib, burst_small_reads)
{
	struct pidwait_watcher_event ev;
	enum { N = 40 };
	int hold[N], seen[N] = { 0 };
	pid_t pids[N];

	for (int i = 0; i < N; i++) {
		pids[i] = child(&hold[i]);
		ASSERT_LT(0, pids[i]);
		ASSERT_EQ(0, pidwait_watcher_add(self->w, pids[i], (uint64_t)i, 0));
	}
	for (int i = 0; i < N; i++) {
		release(hold[i], 0);
		ASSERT_EQ(0, pw_reap(pids[i], NULL));
	}
	for (int got = 0; got < N; got++) {
		ASSERT_EQ(1, pidwait_watcher_read(self->w, &ev, 1,
						  got ? 0 : PW_TIMEOUT_MS * pw_slowdown()))
			TH_LOG("%d of %d events", got, N);
		ASSERT_LT(ev.cookie, (uint64_t)N);
		ASSERT_EQ(pids[ev.cookie], ev.pid);
		ASSERT_EQ(0, seen[ev.cookie]++);
	}
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 0));
}

/* The descriptor an event loop polls: readable once an exit is in. */
TEST_F(lib, pollable)
{
	struct pidwait_watcher_event ev;
	int hold, got = 0, fd = pidwait_watcher_fd(self->w);
	pid_t pid = child(&hold);

	ASSERT_LE(0, fd);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidwait_watcher_add(self->w, pid, 3, 0));
	release(hold, 0);
	ASSERT_EQ(0, pw_reap(pid, NULL));
	/* proc's descriptor is its timer: readable may mean "look again". */
	for (int i = 0; i < 100 && !got; i++) {
		ASSERT_EQ(1, pw_wait_readable(fd, PW_TIMEOUT_MS * pw_slowdown()));
		got = pidwait_watcher_read(self->w, &ev, 1, 0);
		ASSERT_LE(0, got);
	}
	ASSERT_EQ(1, got);
	EXPECT_EQ(pid, ev.pid);
}

TEST_F(lib, bad_input)
{
	struct pidwait_watcher_event ev;
	pid_t gone = fork();
	long pid_max = pw_read_long("/proc/sys/kernel/pid_max");
	uint64_t t0;

	ASSERT_LE(0, gone);
	if (!gone)
		_exit(0);
	ASSERT_EQ(0, pw_reap(gone, NULL));

	EXPECT_EQ(-1, pidwait_watcher_add(self->w, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pidwait_watcher_add(self->w, -1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pidwait_watcher_add(self->w, getpid(), 0, 0x100));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_LT(0, pid_max);
	EXPECT_EQ(-1, pidwait_watcher_add(self->w, (pid_t)pid_max + 1, 0, 0));
	EXPECT_EQ(ESRCH, errno);
	EXPECT_EQ(-1, pidwait_watcher_add(self->w, gone, 0, 0));
	EXPECT_EQ(ESRCH, errno);
	EXPECT_EQ(-1, pidwait_watcher_remove(self->w, getpid(), 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, pidwait_watcher_remove(self->w, 0, 0));
	EXPECT_EQ(EINVAL, errno);

	/* Twice the same: EEXIST, and the first stays. */
	ASSERT_EQ(0, pidwait_watcher_add(self->w, getpid(), 5, 0));
	EXPECT_EQ(-1, pidwait_watcher_add(self->w, getpid(), 6, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, pidwait_watcher_remove(self->w, getpid(), 0));

	/* Reads: no room, a bad timeout, 0 at once, a short wait honoured. */
	EXPECT_EQ(-1, pidwait_watcher_read(self->w, &ev, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pidwait_watcher_read(self->w, &ev, 1, -2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 0));
	t0 = pw_now_ns();
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 50));
	EXPECT_LE(50000000ull, pw_now_ns() - t0);

	/* A backend that does not exist, or a flag. */
	EXPECT_EQ(NULL, pidwait_watcher_new((enum pidwait_backend)9, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, pidwait_watcher_new(PIDWAIT_BACKEND_AUTO, 1));
	EXPECT_EQ(EINVAL, errno);
}

/* A thread's id is no process; with the flag it is its thread. */
TEST_F(lib, thread_ids)
{
	pthread_t t;
	pid_t tid = -1;

	ASSERT_EQ(0, pw_park_thread(&t, &tid));
	EXPECT_EQ(-1, pidwait_watcher_add(self->w, tid, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	if (pidwait_watcher_add(self->w, tid, 0, PIDWAIT_WATCH_THREAD)) {
		/* pidfd before 6.9, the module where its kernel cannot. */
		EXPECT_EQ(EOPNOTSUPP, errno);
	} else {
		struct pidwait_watcher_event ev;

		pthread_cancel(t);
		pthread_join(t, NULL);
		ASSERT_EQ(1, read_one(self->w, &ev));
		EXPECT_EQ(tid, ev.pid);
		EXPECT_TRUE(ev.flags & PIDWAIT_WEVENT_THREAD);
		return;
	}
	pthread_cancel(t);
	pthread_join(t, NULL);
}

/* The child's last thread: exits the process with the byte it reads. */
static void *finish(void *arg)
{
	char c = 0;

	if (read((int)(long)arg, &c, 1) < 0)
		_exit(100);
	_exit(c);
}

/*
 * A process whose main thread ends first is alive, though its leader is
 * a zombie: /proc shows "Z" for it, which must not pass for its exit.
 */
TEST_F(lib, leader_exits_first)
{
	struct pidwait_watcher_event ev;
	int p[2], status;
	pthread_t t;
	siginfo_t si;
	pid_t pid;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[1]);
		if (pthread_create(&t, NULL, finish, (void *)(long)p[0]))
			_exit(101);
		pthread_exit(NULL);
	}
	close(p[0]);
	ASSERT_EQ(0, pidwait_watcher_add(self->w, pid, 7, 0));
	ASSERT_EQ(0, pw_wait_thread_exited(pid, pid, PW_TIMEOUT_MS * pw_slowdown()));
	ASSERT_EQ('Z', pw_task_state(pid, pid));
	/* Long enough for the proc backend's slowest scans, 200 ms apart. */
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 1000));
	ASSERT_EQ(1, write(p[1], "\x07", 1));
	close(p[1]);
	ASSERT_EQ(1, read_one(self->w, &ev));
	EXPECT_EQ(pid, ev.pid);
	EXPECT_EQ(7ull, ev.cookie);
	ASSERT_TRUE(ev.flags & PIDWAIT_WEVENT_STATUS);
	ASSERT_EQ(0, pw_wait_zombie(pid));
	memset(&si, 0, sizeof(si));
	ASSERT_EQ(0, waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT));
	ASSERT_EQ(0, pw_reap(pid, &status));
	ASSERT_EQ(7 << 8, status);
	/*
	 * Without the module a child's status is what waitid(WNOWAIT) says.
	 * Before 6.1 (5.15 reads p->exit_code there) that is the leader's
	 * own code, 0, not the group's: the reap alone gives the group's.
	 */
	if (variant->backend != PIDWAIT_BACKEND_MODULE && si.si_status != 7) {
		ASSERT_EQ(CLD_EXITED, si.si_code);
		EXPECT_EQ(si.si_status, WEXITSTATUS(ev.status));
		TH_LOG("this kernel's WNOWAIT gives the leader's code %d, the reap 7",
		       si.si_status);
		return;
	}
	EXPECT_TRUE(WIFEXITED(ev.status));
	EXPECT_EQ(7, WEXITSTATUS(ev.status));
}

/* Two threads adding, removing and reading at once on one watcher. */
struct race {
	struct pidwait_watcher *w;
	pid_t pid;
	int errors;
};

static void *add_remove(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 2000; i++) {
		if (pidwait_watcher_add(r->w, r->pid, (uint64_t)i, 0) ||
		    pidwait_watcher_remove(r->w, r->pid, 0))
			r->errors++;
	}
	return NULL;
}

TEST_F(lib, two_threads)
{
	struct race a = { .w = self->w }, b = { .w = self->w };
	struct pidwait_watcher_event ev;
	pthread_t ta, tb;
	int ha, hb, hc;
	pid_t c = child(&hc);

	a.pid = child(&ha);
	b.pid = child(&hb);
	ASSERT_LT(0, a.pid);
	ASSERT_LT(0, b.pid);
	ASSERT_LT(0, c);
	ASSERT_EQ(0, pidwait_watcher_add(self->w, c, 77, 0));
	ASSERT_EQ(0, pthread_create(&ta, NULL, add_remove, &a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, add_remove, &b));
	release(hc, 0);
	ASSERT_EQ(1, read_one(self->w, &ev));
	EXPECT_EQ(c, ev.pid);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	EXPECT_EQ(0, a.errors);
	EXPECT_EQ(0, b.errors);
	EXPECT_EQ(0, pidwait_watcher_read(self->w, &ev, 1, 0));
	release(ha, 0);
	release(hb, 0);
	ASSERT_EQ(0, pw_reap(a.pid, NULL));
	ASSERT_EQ(0, pw_reap(b.pid, NULL));
	ASSERT_EQ(0, pw_reap(c, NULL));
}

/* The chain and its override: PIDWAIT_BACKEND names one. */
TEST(chain)
{
	struct pidwait_watcher *w;

	w = pidwait_watcher_new(PIDWAIT_BACKEND_AUTO, 0);
	ASSERT_NE(NULL, w);
	if (available(PIDWAIT_BACKEND_MODULE)) {
		EXPECT_EQ(PIDWAIT_BACKEND_MODULE, pidwait_watcher_backend(w));
	} else if (available(PIDWAIT_BACKEND_PIDFD)) {
		EXPECT_EQ(PIDWAIT_BACKEND_PIDFD, pidwait_watcher_backend(w));
	} else {
		EXPECT_EQ(PIDWAIT_BACKEND_PROC, pidwait_watcher_backend(w));
	}
	pidwait_watcher_free(w);

	setenv("PIDWAIT_BACKEND", "proc", 1);
	w = pidwait_watcher_new(PIDWAIT_BACKEND_AUTO, 0);
	ASSERT_NE(NULL, w);
	EXPECT_EQ(PIDWAIT_BACKEND_PROC, pidwait_watcher_backend(w));
	EXPECT_STREQ("proc", pidwait_backend_name(pidwait_watcher_backend(w)));
	pidwait_watcher_free(w);
	setenv("PIDWAIT_BACKEND", "nonsense", 1);
	EXPECT_EQ(NULL, pidwait_watcher_new(PIDWAIT_BACKEND_AUTO, 0));
	EXPECT_EQ(EINVAL, errno);
	unsetenv("PIDWAIT_BACKEND");
}

PIDWAIT_HARNESS_MAIN
