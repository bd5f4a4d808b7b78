// SPDX-License-Identifier: GPL-2.0
/*
 * PID namespaces: a PID is looked up in the arming task's active pid
 * namespace, and its event reports the PID as that task saw it. The
 * child namespace's init (P) and the test (T, in the parent namespace)
 * watch the same process Q under their two numbers.
 */
#include "pidwait_util.h"

#include "kselftest_harness.h"

/* Messages between T and P, both ways. */
struct msg {
	int a, b, c, d;
};

static int send_msg(int fd, int a, int b, int c, int d)
{
	struct msg m = { a, b, c, d };

	return write(fd, &m, sizeof(m)) == sizeof(m) ? 0 : -1;
}

static int recv_msg(int fd, struct msg *m)
{
	if (pw_wait_readable(fd, PW_TIMEOUT_MS * 2) != 1)
		return -1;
	return read(fd, m, sizeof(*m)) == sizeof(*m) ? 0 : -1;
}

/* In Q, through /proc mounted for the parent namespace: its numbers there. */
static int global_tid(int unused)
{
	char buf[64] = { 0 }, name[16], path[300], *slash;
	struct dirent *de;
	int tid = -ESRCH;
	DIR *d;

	(void)unused;
	if (readlink("/proc/thread-self", buf, sizeof(buf) - 1) >= 0) {
		slash = strrchr(buf, '/');
		return slash ? atoi(slash + 1) : -EIO;
	}
	if (errno != ENOENT)
		return -errno;

	/*
	 * No /proc/thread-self before 3.17: name this thread uniquely and
	 * find the task directory under /proc/self/task that has the name.
	 */
	snprintf(name, sizeof(name), "pw-%d", pw_gettid());
	if (prctl(PR_SET_NAME, name))
		return -errno;
	d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd, n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = 0;
		if (!strcmp(buf, name)) {
			tid = atoi(de->d_name);
			break;
		}
	}
	closedir(d);
	return tid;
}

static bool fdinfo_has(int fd, const char *want)
{
	char path[64], buf[4096];
	ssize_t n;
	int ifd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return false;
	n = read(ifd, buf, sizeof(buf) - 1);
	close(ifd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, want) != NULL;
}

FIXTURE(ns) {
	pid_t init;		/* P, pid 1 of the new namespace */
	int to_p[2], from_p[2];
};

FIXTURE_SETUP(ns)
{
	self->init = -1;
	ASSERT_EQ(0, pipe2(self->to_p, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->from_p, O_CLOEXEC));
}

FIXTURE_TEARDOWN(ns)
{
	if (self->init > 0) {
		kill(self->init, SIGKILL);
		pw_reap(self->init, NULL);
	}
}

/* fork() P into a new pid namespace; in P, run fn and exit. */
static int start_ns(FIXTURE_DATA(ns) *self, void (*fn)(FIXTURE_DATA(ns) *self, pid_t t))
{
	pid_t t = getpid();

	if (unshare(CLONE_NEWPID))
		return -errno;
	self->init = fork();
	if (self->init < 0)
		return -errno;
	if (self->init == 0) {
		/* getppid() is 0 here: the parent is outside the namespace. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(self, t);
		_exit(0);
	}
	return 0;
}

/*
 * P: start Q (pid 2 here, two threads), tell T Q's numbers in T's
 * namespace, arm Q and its second thread under the numbers seen here,
 * let T arm too, end Q, check what P reads and send T Q's status.
 */
static void p_watch_q(FIXTURE_DATA(ns) *self, pid_t t)
{
	struct pidwait_event ev;
	struct worker q;
	char line[128];
	struct msg m;
	int fd, gpid = -1, gtid = -1, st = -1;

	fd = pw_open(0);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(getpid() == 1);
	CHILD_CHECK(!worker_start(&q, 2, NULL, NULL));
	CHILD_CHECK(q.pid == 2);
	CHILD_CHECK(!worker_call(&q, 0, global_tid, 0, &gpid));
	CHILD_CHECK(!worker_call(&q, 1, global_tid, 0, &gtid));
	CHILD_CHECK(gpid > 0 && gtid > 0 && gpid != q.pid);

	CHILD_CHECK(!pw_arm(fd, q.pid, 0, 1));
	CHILD_CHECK(!pw_arm(fd, q.tid[1], PIDWAIT_ARM_THREAD, 2));
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x0 cookie:0x1 state:armed", q.pid);
	CHILD_CHECK(fdinfo_has(fd, line));
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x1 cookie:0x2 state:armed", q.tid[1]);
	CHILD_CHECK(fdinfo_has(fd, line));

	/* The test's PID means nothing here. */
	CHILD_CHECK(kill(t, 0) == -1 && errno == ESRCH);
	CHILD_CHECK(pw_arm(fd, t, 0, 0) == -ESRCH);
	CHILD_CHECK(pw_arm(fd, t, PIDWAIT_ARM_THREAD, 0) == -ESRCH);

	CHILD_CHECK(!send_msg(self->from_p[1], gpid, gtid, 0, 0));
	CHILD_CHECK(!recv_msg(self->to_p[0], &m));	/* T has armed */

	CHILD_CHECK(!worker_cmd(&q, 1, W_EXIT_THREAD, 5));
	CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	CHILD_CHECK(ev.pid == q.tid[1] && ev.cookie == 2);
	CHILD_CHECK(ev.flags == (PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD));
	CHILD_CHECK(ev.status == W_EXITCODE(5, 0));

	CHILD_CHECK(!worker_cmd(&q, 0, W_EXIT_GROUP, 7));
	CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	CHILD_CHECK(!worker_reap(&q, &st));
	CHILD_CHECK(ev.pid == q.pid && ev.cookie == 1);
	CHILD_CHECK(ev.flags == PIDWAIT_EVENT_STATUS && ev.status == st);
	CHILD_CHECK(!send_msg(self->from_p[1], st, 0, 0, 0));
	CHILD_CHECK(!recv_msg(self->to_p[0], &m));	/* T is done */
}

TEST_F(ns, each_sees_its_own_pid)
{
	struct pidwait_event ev;
	struct msg m;
	pid_t gpid, gtid;
	int fd, ret, st = -1;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ret = start_ns(self, p_watch_q);
	if (ret == -EINVAL || ret == -EPERM)
		SKIP(return, "unshare(CLONE_NEWPID): %s", strerror(-ret));
	ASSERT_EQ(0, ret);

	ASSERT_EQ(0, recv_msg(self->from_p[0], &m));
	gpid = m.a;
	gtid = m.b;
	ASSERT_EQ(0, pw_arm(fd, gpid, 0, 10));
	ASSERT_EQ(0, pw_arm(fd, gtid, PIDWAIT_ARM_THREAD, 20));
	ASSERT_EQ(0, send_msg(self->to_p[1], 0, 0, 0, 0));

	ASSERT_EQ(0, pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(gtid, ev.pid);
	ASSERT_EQ(20u, ev.cookie);
	ASSERT_EQ(PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD, ev.flags);
	ASSERT_EQ(W_EXITCODE(5, 0), ev.status);

	ASSERT_EQ(0, recv_msg(self->from_p[0], &m));	/* Q's status as P reaped it */
	ASSERT_EQ(0, pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(gpid, ev.pid);
	ASSERT_EQ(10u, ev.cookie);
	ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
	ASSERT_EQ(m.a, ev.status);
	ASSERT_EQ(0, send_msg(self->to_p[1], 0, 0, 0, 0));

	ASSERT_EQ(0, pw_reap(self->init, &st));
	self->init = -1;
	ASSERT_EQ(0, st);
	close(fd);
}

/*
 * P arms itself, starts Q (a bare child that only waits: a worker would
 * exit on its own when P's death closes its command pipe) and reports Q's
 * number here, then ends: init's death kills Q, and T's watch on Q fires
 * with SIGKILL.
 */
static void p_dies(FIXTURE_DATA(ns) *self, pid_t t)
{
	int fd, gp[2], gpid = -1;
	struct msg m;
	pid_t q;

	(void)t;
	fd = pw_open(0);
	CHILD_CHECK(fd >= 0);
	/* pid 1 here is P itself, not the system's init. */
	CHILD_CHECK(!pw_arm(fd, 1, 0, 0));
	CHILD_CHECK(!pw_disarm(fd, 1, 0));
	CHILD_CHECK(!pipe2(gp, O_CLOEXEC));
	q = fork();
	CHILD_CHECK(q >= 0);
	if (q == 0) {
		gpid = global_tid(0);
		if (write(gp[1], &gpid, sizeof(gpid)) != sizeof(gpid))
			_exit(1);
		for (;;)
			pause();
	}
	CHILD_CHECK(pw_wait_readable(gp[0], PW_TIMEOUT_MS) == 1);
	CHILD_CHECK(read(gp[0], &gpid, sizeof(gpid)) == sizeof(gpid));
	CHILD_CHECK(gpid > 0);
	CHILD_CHECK(!send_msg(self->from_p[1], gpid, q, 0, 0));
	CHILD_CHECK(!recv_msg(self->to_p[0], &m));
	_exit(3);
}

TEST_F(ns, init_death_kills_watched)
{
	struct pidwait_event ev;
	struct msg m;
	int fd, ret, st = -1;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ret = start_ns(self, p_dies);
	if (ret == -EINVAL || ret == -EPERM)
		SKIP(return, "unshare(CLONE_NEWPID): %s", strerror(-ret));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, recv_msg(self->from_p[0], &m));
	ASSERT_EQ(2, m.b);
	ASSERT_EQ(0, pw_arm(fd, m.a, 0, 1));
	ASSERT_EQ(0, pw_arm(fd, self->init, 0, 2));
	ASSERT_EQ(0, send_msg(self->to_p[1], 0, 0, 0, 0));

	ASSERT_EQ(0, pw_reap(self->init, &st));
	self->init = -1;
	ASSERT_EQ(W_EXITCODE(3, 0), st);
	ASSERT_EQ(2 * PW_EVSZ, pw_wait_fionread(fd, 2 * PW_EVSZ, PW_TIMEOUT_MS));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, pw_read_one(fd, &ev, 0));
		if (ev.cookie == 1) {
			ASSERT_EQ(m.a, ev.pid);
			ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
			ASSERT_TRUE(WIFSIGNALED(ev.status));
			ASSERT_EQ(SIGKILL, WTERMSIG(ev.status));
		} else {
			ASSERT_EQ(2u, ev.cookie);
			ASSERT_EQ(st, ev.status);
		}
	}
	close(fd);
}

/*
 * unshare(CLONE_NEWPID) changes where children go, not the caller's own
 * namespace: PIDs are still looked up where the caller lives.
 */
TEST(unshare_keeps_active_ns)
{
	struct pidwait_event ev;
	struct worker w;
	int fd, st = -1;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, worker_start(&w, 2, NULL, NULL));
	if (unshare(CLONE_NEWPID))
		SKIP(return, "unshare(CLONE_NEWPID): %s", strerror(errno));

	ASSERT_EQ(0, pw_arm(fd, w.pid, 0, 1));
	ASSERT_EQ(0, pw_arm(fd, w.tid[1], PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(0, pw_arm(fd, getpid(), 0, 3));
	ASSERT_EQ(0, pw_disarm(fd, getpid(), 0));
	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 4));
	ASSERT_EQ(0, worker_reap(&w, &st));
	ASSERT_EQ(2 * PW_EVSZ, pw_wait_fionread(fd, 2 * PW_EVSZ, PW_TIMEOUT_MS));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, pw_read_one(fd, &ev, 0));
		ASSERT_EQ(ev.cookie == 1 ? w.pid : w.tid[1], ev.pid);
		ASSERT_EQ(st, ev.status);
	}
	worker_free(&w);
	close(fd);
}

PIDWAIT_HARNESS_MAIN
