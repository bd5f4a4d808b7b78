// SPDX-License-Identifier: GPL-2.0
/*
 * When a watch becomes ready: when the whole thread group has exited and
 * the process is a zombie (the moment a pidfd would poll readable), with
 * its files closed; not when only the leader has gone, nor on an execve by
 * another thread; for the process and never for a later one with the same
 * number; on every file that armed it. Thread watches, batches, close and
 * fork.
 */
#include "pidwait_util.h"

#include <dirent.h>
#include <semaphore.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>

#include "kselftest_harness.h"

/* Number of threads /proc lists for a process. */
static int nr_tasks(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/*
 * The parent's waitid() sees the zombie only after the exit is complete,
 * so by then the watch must be ready: not a moment later, and the event
 * stays after the reap.
 */
TEST(ready_when_zombie)
{
	struct pidwait_event ev;
	struct worker w;
	uint64_t t0;
	int fd, st = -1;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, worker_start(&w, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, w.pid, 0, 1));
	ASSERT_EQ(0, pw_wait_readable(fd, 0));
	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 5));
	ASSERT_EQ(0, pw_wait_zombie(w.pid));
	ASSERT_EQ(1, pw_wait_readable(fd, 0));
	ASSERT_EQ(PW_EVSZ, pw_fionread(fd));

	/* Reaping does not take the event away. */
	ASSERT_EQ(0, worker_reap(&w, &st));
	ASSERT_EQ(0, pw_read_one(fd, &ev, 0));
	ASSERT_EVENT(&ev, w.pid, PIDWAIT_EVENT_STATUS, st, 1, t0, pw_now_ns());
	ASSERT_EQ(0, pw_wait_readable(fd, 0));
	worker_free(&w);
	close(fd);
}

/* ---- files and sockets are released when the event is read ------------- */

static char lock_path[64];
static int child_port;

/* In the worker: hold a flock and a listening TCP port for the whole process. */
static int hold_resources(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd, s;

	(void)arg;
	fd = open(lock_path, O_RDWR);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB))
		return 80;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 81;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 4) ||
	    getsockname(s, (struct sockaddr *)&sa, &len))
		return 82;
	child_port = ntohs(sa.sin_port);
	return 0;
}

static int get_port(int unused)
{
	(void)unused;
	return child_port;
}

/* 0 if the port can be bound again without SO_REUSEADDR, else -errno. */
static int try_bind(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int s, ret = 0;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	sa.sin_port = htons(port);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		ret = -errno;
	close(s);
	return ret;
}

static int try_flock(const char *path)
{
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB))
		ret = -errno;
	close(fd);
	return ret;
}

FIXTURE(released) {
	struct worker w;
	int fd;
};

/* How the process ends; the last thread to go is never the leader when threads > 1. */
FIXTURE_VARIANT(released) {
	int threads;
	int how;	/* 0: exit_group from the last thread, 1: SIGKILL, 2: threads one by one, leader first */
};

FIXTURE_VARIANT_ADD(released, exit_group) { .threads = 1, .how = 0 };
FIXTURE_VARIANT_ADD(released, sigkill) { .threads = 1, .how = 1 };
FIXTURE_VARIANT_ADD(released, threads_sigkill) { .threads = 4, .how = 1 };
FIXTURE_VARIANT_ADD(released, threads_exit_group) { .threads = 4, .how = 0 };
FIXTURE_VARIANT_ADD(released, threads_leader_first) { .threads = 4, .how = 2 };

FIXTURE_SETUP(released)
{
	int fd;

	worker_init(&self->w);
	snprintf(lock_path, sizeof(lock_path), "/tmp/pidwait-lock-%d", getpid());
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", lock_path, strerror(errno));
	close(fd);
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(released)
{
	worker_free(&self->w);
	close(self->fd);
	unlink(lock_path);
}

TEST_F(released, flock_and_port)
{
	struct pidwait_event ev;
	int port = 0, st = -1, i;
	pid_t pid;

	ASSERT_EQ(0, worker_start(&self->w, variant->threads, hold_resources, NULL));
	pid = self->w.pid;
	ASSERT_EQ(0, worker_call(&self->w, 0, get_port, 0, &port));
	ASSERT_LT(0, port);

	/* Held now. */
	ASSERT_EQ(-EWOULDBLOCK, try_flock(lock_path));
	ASSERT_EQ(-EADDRINUSE, try_bind(port));

	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 0));
	switch (variant->how) {
	case 0:
		ASSERT_EQ(0, worker_cmd(&self->w, variant->threads - 1, W_EXIT_GROUP, 3));
		break;
	case 1:
		ASSERT_EQ(0, kill(pid, SIGKILL));
		break;
	case 2:
		for (i = 0; i < variant->threads; i++) {
			ASSERT_EQ(0, worker_cmd(&self->w, i, W_EXIT_THREAD, 0));
			ASSERT_EQ(0, pw_wait_thread_exited(pid, self->w.tid[i], PW_TIMEOUT_MS));
			if (i < variant->threads - 1) {
				ASSERT_EQ(0, pw_wait_readable(self->fd, 0));
			}
		}
		break;
	}
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS));

	/* The moment the event is read: all released, a zombie with no threads. */
	EXPECT_EQ(0, try_flock(lock_path));
	EXPECT_EQ(0, try_bind(port));
	EXPECT_EQ('Z', pw_task_state(pid, pid));
	EXPECT_EQ(1, nr_tasks(pid));

	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(pid, ev.pid);
	ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
	ASSERT_EQ(st, ev.status);
}

/* ---- not ready while the process lives on ------------------------------ */

/* The leader calls SYS_exit: the process lives while another thread does. */
TEST(leader_exits_first)
{
	struct pidwait_event ev;
	struct worker w;
	int fd, st = -1;
	uint64_t t0;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, worker_start(&w, 3, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, w.pid, 0, 0));

	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_THREAD, 3));
	ASSERT_EQ(0, pw_wait_thread_exited(w.pid, w.pid, PW_TIMEOUT_MS));
	ASSERT_EQ('Z', pw_task_state(w.pid, w.pid));
	ASSERT_EQ(0, pw_wait_readable(fd, PW_QUIET_MS));

	ASSERT_EQ(0, worker_cmd(&w, 1, W_EXIT_THREAD, 4));
	ASSERT_EQ(0, pw_wait_thread_exited(w.pid, w.tid[1], PW_TIMEOUT_MS));
	ASSERT_EQ(0, pw_wait_readable(fd, PW_QUIET_MS));
	/* The threads still answer: the process is alive. */
	ASSERT_EQ(0, worker_cmd(&w, 2, W_PING, 0));
	ASSERT_EQ(0, w_read_report(&w, &(struct w_report){ 0 }, PW_TIMEOUT_MS));
	ASSERT_EQ(0, pw_wait_readable(fd, 0));

	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&w, 2, W_EXIT_THREAD, 5));
	ASSERT_EQ(0, pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_reap(&w, &st));
	ASSERT_EVENT(&ev, w.pid, PIDWAIT_EVENT_STATUS, st, 0, t0, pw_now_ns());
	worker_free(&w);
	close(fd);
}

FIXTURE(exec) {
	struct worker w;
	int fd;
};

/* Which thread calls execve. */
FIXTURE_VARIANT(exec) {
	int threads;
	int execer;
};

FIXTURE_VARIANT_ADD(exec, nonleader) { .threads = 3, .execer = 2 };
FIXTURE_VARIANT_ADD(exec, leader_with_threads) { .threads = 2, .execer = 0 };
FIXTURE_VARIANT_ADD(exec, single_thread) { .threads = 1, .execer = 0 };

FIXTURE_SETUP(exec)
{
	worker_init(&self->w);
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(exec)
{
	worker_free(&self->w);
	close(self->fd);
}

/* The process lives on under the same PID in a new image. */
TEST_F(exec, lives_on)
{
	struct pidwait_event ev;
	struct w_report r;
	uint64_t t0;
	int st = -1;
	pid_t pid;

	ASSERT_EQ(0, worker_start(&self->w, variant->threads, NULL, NULL));
	pid = self->w.pid;
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 9));

	ASSERT_EQ(0, worker_cmd(&self->w, variant->execer, W_EXEC, 0));
	ASSERT_EQ(0, w_read_report(&self->w, &r, PW_TIMEOUT_MS));
	ASSERT_EQ(W_EXECED, r.idx);
	ASSERT_EQ(pid, r.tid);			/* the new image has the old PID */
	ASSERT_EQ(1, nr_tasks(pid));		/* de_thread is over */
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS));

	/* The new image answers on the exec'ing thread's pipe. */
	ASSERT_EQ(0, worker_cmd(&self->w, variant->execer, W_PING, 42));
	ASSERT_EQ(0, w_read_report(&self->w, &r, PW_TIMEOUT_MS));
	ASSERT_EQ(42, r.val);
	ASSERT_EQ(0, pw_wait_readable(self->fd, 0));

	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&self->w, variant->execer, W_EXIT_GROUP, 6));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(W_EXITCODE(6, 0), st);
	ASSERT_EVENT(&ev, pid, PIDWAIT_EVENT_STATUS, st, 9, t0, pw_now_ns());
}

/* A PIDFD_THREAD pidfd (Linux 6.9) on tid, or -1 with errno set. */
static int thread_pidfd(pid_t tid)
{
	return pw_pidfd_open(tid, PIDFD_THREAD);
}

static bool pidfd_readable(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/*
 * Thread watches on the thread that calls execve and on the leader, and a
 * process watch. A non-leader that execs takes the leader's TID over
 * (de_thread()): its own TID ends, though it did not exit, so its watch
 * fires then, once and without a status, as a PIDFD_THREAD pidfd on that
 * TID becomes readable. The leader's TID lives on in the new image: its
 * thread watch waits for the process, as the process watch does, and both
 * get the process's status. A leader that execs keeps its TID: nothing
 * fires before the process ends.
 */
TEST_F(exec, thread_watches)
{
	struct pidwait_event ev[4];
	bool nonleader = variant->execer != 0;
	int pidfd, nr, st = -1;
	uint64_t t0, t1;
	struct w_report r;
	pid_t pid, tid;

	ASSERT_EQ(0, worker_start(&self->w, variant->threads, NULL, NULL));
	pid = self->w.pid;
	tid = self->w.tid[variant->execer];
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 3));
	ASSERT_EQ(0, pw_arm(self->fd, pid, PIDWAIT_ARM_THREAD, 2));
	if (nonleader) {
		ASSERT_EQ(0, pw_arm(self->fd, tid, PIDWAIT_ARM_THREAD, 1));
	}
	nr = nonleader ? 3 : 2;
	ASSERT_EQ(nr, pw_nr_watches(self->fd));

	/* The kernel's own answer for the execer's TID, where it has one. */
	pidfd = thread_pidfd(tid);
	if (pidfd < 0) {
		ASSERT_TRUE(errno == EINVAL || errno == ENOSYS)
			TH_LOG("pidfd_open(%d, PIDFD_THREAD): %s", tid, strerror(errno));
		TH_LOG("no PIDFD_THREAD (Linux 6.9): no pidfd to compare with");
	} else {
		ASSERT_FALSE(pidfd_readable(pidfd));
	}
	ASSERT_EQ(0, pw_wait_readable(self->fd, 0));

	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&self->w, variant->execer, W_EXEC, 0));
	ASSERT_EQ(0, w_read_report(&self->w, &r, PW_TIMEOUT_MS));
	t1 = pw_now_ns();
	ASSERT_EQ(W_EXECED, r.idx);
	ASSERT_EQ(pid, r.tid);
	ASSERT_EQ(1, nr_tasks(pid));

	if (nonleader) {
		/* de_thread() released the old TID before the new image ran. */
		if (pidfd >= 0) {
			ASSERT_TRUE(pidfd_readable(pidfd));
		}
		ASSERT_EQ(1, pw_wait_readable(self->fd, PW_TIMEOUT_MS));
		memset(ev, 0xa5, sizeof(ev));
		ASSERT_EQ(PW_EVSZ, read(self->fd, ev, sizeof(ev)));
		ASSERT_EVENT(&ev[0], tid, PIDWAIT_EVENT_THREAD, 0, 1, t0, t1);
		nr--;
		ASSERT_EQ(nr, pw_nr_watches(self->fd));
		ASSERT_EQ(-ENOENT, pw_disarm(self->fd, tid, PIDWAIT_ARM_THREAD));
	} else if (pidfd >= 0) {
		ASSERT_FALSE(pidfd_readable(pidfd));
	}

	/* The process lives on: the other watches stay armed. */
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS));
	ASSERT_EQ(0, worker_cmd(&self->w, variant->execer, W_PING, 42));
	ASSERT_EQ(0, w_read_report(&self->w, &r, PW_TIMEOUT_MS));
	ASSERT_EQ(42, r.val);
	ASSERT_EQ(0, pw_wait_readable(self->fd, 0));
	ASSERT_EQ(nr, pw_nr_watches(self->fd));

	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&self->w, variant->execer, W_EXIT_GROUP, 6));
	ASSERT_EQ(2 * PW_EVSZ, pw_wait_fionread(self->fd, 2 * PW_EVSZ, PW_TIMEOUT_MS));
	if (pidfd >= 0 && !nonleader) {
		ASSERT_TRUE(pidfd_readable(pidfd));
	}
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(W_EXITCODE(6, 0), st);
	/* Exactly these two: the execer's TID fired once, at the exec. */
	memset(ev, 0xa5, sizeof(ev));
	ASSERT_EQ(2 * PW_EVSZ, read(self->fd, ev, sizeof(ev)));
	for (int i = 0; i < 2; i++) {
		bool thread = ev[i].cookie == 2;

		ASSERT_EVENT(&ev[i], pid,
			     PIDWAIT_EVENT_STATUS | (thread ? PIDWAIT_EVENT_THREAD : 0),
			     st, thread ? 2 : 3, t0, pw_now_ns());
	}
	ASSERT_NE(ev[0].cookie, ev[1].cookie);
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS));
	if (pidfd >= 0)
		close(pidfd);
}

/* ---- PID reuse ---------------------------------------------------------- */

/*
 * Runs as PID 1 of a new pid namespace, where nothing else takes PIDs:
 * A is armed, exits and is reaped; ns_last_pid makes B get A's number.
 * The watch fired for A, with A's status, and nothing fires for B.
 */
static void pid_reuse_in_ns(void)
{
	struct pidwait_event ev[4];
	struct worker a, b;
	char num[32];
	int fd, fd2, sta = -1, stb = -1, ret;
	pid_t pid;

	fd = pw_open(0);
	fd2 = pw_open(0);
	CHILD_CHECK(fd >= 0 && fd2 >= 0);
	CHILD_CHECK(getpid() == 1);

	CHILD_CHECK(!worker_start(&a, 1, NULL, NULL));
	pid = a.pid;
	CHILD_CHECK(!pw_arm(fd, pid, 0, 1));
	CHILD_CHECK(!worker_cmd(&a, 0, W_EXIT_GROUP, 1));
	CHILD_CHECK(!worker_reap(&a, &sta));
	CHILD_CHECK(pw_wait_readable(fd, 0) == 1);
	worker_free(&a);

	snprintf(num, sizeof(num), "%d", pid - 1);
	ret = pw_write_str("/proc/sys/kernel/ns_last_pid", num);
	if (ret == -ENOENT) {
		dprintf(2, "# no /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE)\n");
		_exit(4);
	}
	CHILD_CHECK(ret == 0);
	CHILD_CHECK(!worker_start(&b, 1, NULL, NULL));
	CHILD_CHECK(b.pid == pid);
	CHILD_CHECK(!pw_arm(fd2, pid, 0, 2));

	/* Still just A's event on fd. */
	CHILD_CHECK(pw_fionread(fd) == PW_EVSZ);
	CHILD_CHECK(!worker_cmd(&b, 0, W_EXIT_GROUP, 2));
	CHILD_CHECK(!worker_reap(&b, &stb));
	CHILD_CHECK(sta != stb);

	CHILD_CHECK(!pw_read_one(fd2, &ev[0], PW_TIMEOUT_MS));
	CHILD_CHECK(ev[0].pid == pid && ev[0].cookie == 2 && ev[0].status == stb);

	CHILD_CHECK(read(fd, ev, sizeof(ev)) == PW_EVSZ);
	CHILD_CHECK(ev[0].pid == pid && ev[0].cookie == 1);
	CHILD_CHECK(ev[0].flags == PIDWAIT_EVENT_STATUS);
	CHILD_CHECK(ev[0].status == sta);
	CHILD_CHECK(pw_wait_readable(fd, PW_QUIET_MS) == 0);
	worker_free(&b);
	_exit(0);
}

TEST(pid_reuse)
{
	pid_t init;
	int st = -1;

	if (unshare(CLONE_NEWPID))
		SKIP(return, "unshare(CLONE_NEWPID): %s", strerror(errno));
	init = fork();
	ASSERT_LE(0, init);
	if (init == 0)
		pid_reuse_in_ns();
	ASSERT_EQ(0, pw_reap(init, &st));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 4)
		SKIP(return, "cannot choose the next PID in a namespace");
	ASSERT_EQ(0, st);
}

/* ---- every file that armed it ----------------------------------------- */

#define NR_READERS 4

struct reader {
	int fd;
	pid_t tid;
	sem_t started;
	ssize_t n;
	int err;
	struct pidwait_event ev;
	int done;	/* write end: one byte when read() returned */
};

static void *reader_main(void *p)
{
	struct reader *r = p;

	r->tid = pw_gettid();
	sem_post(&r->started);
	r->n = read(r->fd, &r->ev, sizeof(r->ev));
	r->err = errno;
	if (write(r->done, "x", 1) != 1)
		r->err = -1;
	return NULL;
}

/* One exit wakes every file that armed it, each blocked in read() in its own thread, and another process's. */
TEST(every_file)
{
	struct reader r[NR_READERS];
	struct pidwait_event ev;
	pthread_t t[NR_READERS];
	int done[2], armed[2], result[2], st = -1, got = 0;
	struct worker w;
	pid_t other;
	char c;

	ASSERT_EQ(0, pipe2(done, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(armed, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(result, O_CLOEXEC));
	ASSERT_EQ(0, worker_start(&w, 1, NULL, NULL));

	/* Another process, its own file. */
	other = fork();
	ASSERT_LE(0, other);
	if (other == 0) {
		int fd = pw_open(0);

		pw_child_init(getppid());
		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(!pw_arm(fd, w.pid, 0, 100));
		CHILD_CHECK(write(armed[1], "a", 1) == 1);
		CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS * 2));
		CHILD_CHECK(write(result[1], &ev, sizeof(ev)) == sizeof(ev));
		_exit(0);
	}
	ASSERT_EQ(1, pw_wait_readable(armed[0], PW_TIMEOUT_MS));

	for (int i = 0; i < NR_READERS; i++) {
		r[i].fd = pw_open(0);
		ASSERT_LE(0, r[i].fd);
		ASSERT_EQ(0, pw_arm(r[i].fd, w.pid, 0, i));
		r[i].done = done[1];
		sem_init(&r[i].started, 0, 0);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, reader_main, &r[i]));
		sem_wait(&r[i].started);
		ASSERT_EQ(0, pw_wait_in_syscall(getpid(), r[i].tid, SYS_read, SYS_read, PW_TIMEOUT_MS));
	}

	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 12));
	while (got < NR_READERS) {
		ASSERT_EQ(1, pw_wait_readable(done[0], PW_TIMEOUT_MS))
			TH_LOG("only %d of %d readers woke", got, NR_READERS);
		ASSERT_EQ(1, read(done[0], &c, 1));
		got++;
	}
	ASSERT_EQ(0, worker_reap(&w, &st));
	for (int i = 0; i < NR_READERS; i++) {
		pthread_join(t[i], NULL);
		ASSERT_EQ(PW_EVSZ, r[i].n) TH_LOG("reader %d: %s", i, strerror(r[i].err));
		ASSERT_EQ(w.pid, r[i].ev.pid);
		ASSERT_EQ((__u64)i, r[i].ev.cookie);
		ASSERT_EQ(st, r[i].ev.status);
		ASSERT_EQ(0, pw_wait_readable(r[i].fd, 0));
		close(r[i].fd);
	}
	ASSERT_EQ(1, pw_wait_readable(result[0], PW_TIMEOUT_MS));
	ASSERT_EQ(sizeof(ev), read(result[0], &ev, sizeof(ev)));
	ASSERT_EQ(w.pid, ev.pid);
	ASSERT_EQ(100u, ev.cookie);
	ASSERT_EQ(st, ev.status);
	ASSERT_EQ(0, pw_reap(other, &st));
	ASSERT_EQ(0, st);
	worker_free(&w);
}

/* ---- thread watches ------------------------------------------------------ */

/* A non-leader thread exits while the process lives on. */
TEST(thread_watch_nonleader)
{
	struct pidwait_event ev;
	struct worker w;
	int fdt, fdp, st = -1;
	uint64_t t0;
	pid_t tid;

	fdt = pw_open(0);
	fdp = pw_open(0);
	ASSERT_LE(0, fdt);
	ASSERT_LE(0, fdp);
	ASSERT_EQ(0, worker_start(&w, 3, NULL, NULL));
	tid = w.tid[1];
	ASSERT_EQ(0, pw_arm(fdt, tid, PIDWAIT_ARM_THREAD, 1));
	ASSERT_EQ(0, pw_arm(fdt, w.tid[2], PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(0, pw_arm(fdp, w.pid, 0, 3));

	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&w, 1, W_EXIT_THREAD, 5));
	ASSERT_EQ(0, pw_read_one(fdt, &ev, PW_TIMEOUT_MS));
	ASSERT_EVENT(&ev, tid, PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD,
		     W_EXITCODE(5, 0), 1, t0, pw_now_ns());
	/* The thread is gone, the other thread and the process are not. */
	ASSERT_EQ(0, pw_wait_thread_exited(w.pid, tid, 0));
	ASSERT_EQ(0, pw_wait_readable(fdt, PW_QUIET_MS));
	ASSERT_EQ(0, pw_wait_readable(fdp, 0));
	ASSERT_EQ(2, pw_nr_watches(fdt) + pw_nr_watches(fdp));

	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(0, pw_read_one(fdp, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(0, pw_read_one(fdt, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(w.tid[2], ev.pid);
	ASSERT_EQ(0, worker_reap(&w, &st));
	close(fdt);
	close(fdp);
	worker_free(&w);
}

/*
 * The leader thread exits early: its thread watch waits for the process, as
 * a PIDFD_THREAD pidfd does from 6.15 (the leader's TID is the process's ID,
 * and a thread that execs takes it over), and gets the process's status.
 */
TEST(thread_watch_leader)
{
	struct pidwait_event ev;
	struct worker w;
	int fdt, fdp, st = -1;
	uint64_t t0;

	fdt = pw_open(0);
	fdp = pw_open(0);
	ASSERT_LE(0, fdt);
	ASSERT_LE(0, fdp);
	ASSERT_EQ(0, worker_start(&w, 2, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fdt, w.pid, PIDWAIT_ARM_THREAD, 1));
	ASSERT_EQ(0, pw_arm(fdp, w.pid, 0, 2));

	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_THREAD, 3));
	ASSERT_EQ(0, pw_wait_thread_exited(w.pid, w.pid, PW_TIMEOUT_MS));
	ASSERT_EQ('Z', pw_task_state(w.pid, w.pid));
	ASSERT_EQ(0, pw_wait_readable(fdt, PW_QUIET_MS));
	ASSERT_EQ(0, pw_wait_readable(fdp, 0));

	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&w, 1, W_EXIT_THREAD, 4));
	ASSERT_EQ(0, pw_read_one(fdp, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_reap(&w, &st));
	ASSERT_EVENT(&ev, w.pid, PIDWAIT_EVENT_STATUS, st, 2, t0, pw_now_ns());
	ASSERT_EQ(0, pw_read_one(fdt, &ev, PW_TIMEOUT_MS));
	ASSERT_EVENT(&ev, w.pid, PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD,
		     st, 1, t0, pw_now_ns());
	close(fdt);
	close(fdp);
	worker_free(&w);
}

/* Both kinds of watch on the leader TID, on one file: two events. */
TEST(process_and_thread_watch_same_tid)
{
	struct pidwait_event ev[3];
	struct worker w;
	int fd, st = -1;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, worker_start(&w, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, w.pid, 0, 1));
	ASSERT_EQ(0, pw_arm(fd, w.pid, PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 7));
	ASSERT_EQ(0, worker_reap(&w, &st));
	ASSERT_EQ(2 * PW_EVSZ, pw_wait_fionread(fd, 2 * PW_EVSZ, PW_TIMEOUT_MS));
	ASSERT_EQ(2 * PW_EVSZ, read(fd, ev, sizeof(ev)));
	for (int i = 0; i < 2; i++) {
		bool thread = ev[i].cookie == 2;

		ASSERT_EQ(w.pid, ev[i].pid);
		ASSERT_EQ(thread ? 2u : 1u, ev[i].cookie);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS | (thread ? PIDWAIT_EVENT_THREAD : 0), ev[i].flags);
		ASSERT_EQ(st, ev[i].status);
	}
	ASSERT_NE(ev[0].cookie, ev[1].cookie);
	close(fd);
	worker_free(&w);
}

/* ---- many events, oldest first --------------------------------------------- */

#define NR_BATCH 48

TEST(batch_oldest_first)
{
	struct pidwait_event ev[NR_BATCH + 2];
	struct worker w[NR_BATCH];
	int order[NR_BATCH], status[NR_BATCH];
	unsigned int seed = 12345;
	uint64_t t0;
	int fd, i;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	for (i = 0; i < NR_BATCH; i++) {
		ASSERT_EQ(0, worker_start(&w[i], 1, NULL, NULL));
		ASSERT_EQ(0, pw_arm(fd, w[i].pid, 0, 1000 + i));
		order[i] = i;
	}
	for (i = NR_BATCH - 1; i > 0; i--) {
		int j, tmp;

		seed = seed * 1103515245 + 12345;
		j = (int)((seed >> 8) % (unsigned int)(i + 1));
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	ASSERT_EQ(NR_BATCH, pw_nr_watches(fd));

	t0 = pw_now_ns();
	for (i = 0; i < NR_BATCH; i++) {
		int k = order[i];

		ASSERT_EQ(0, worker_cmd(&w[k], 0, W_EXIT_GROUP, i & 0xff));
		ASSERT_EQ(0, worker_reap(&w[k], &status[k]));
		ASSERT_EQ((i + 1) * PW_EVSZ, pw_wait_fionread(fd, (i + 1) * PW_EVSZ, PW_TIMEOUT_MS));
	}
	memset(ev, 0xa5, sizeof(ev));
	ASSERT_EQ(NR_BATCH * PW_EVSZ, read(fd, ev, sizeof(ev)));
	for (i = 0; i < NR_BATCH; i++) {
		int k = order[i];

		ASSERT_EQ(w[k].pid, ev[i].pid) TH_LOG("event %d", i);
		ASSERT_EQ((__u64)(1000 + k), ev[i].cookie);
		ASSERT_EQ(status[k], ev[i].status);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[i].flags);
		ASSERT_EQ(0u, ev[i].reserved);
		ASSERT_LE(i ? ev[i - 1].exit_time_ns : t0, ev[i].exit_time_ns);
	}
	ASSERT_EQ(0, pw_nr_watches(fd));
	for (i = 0; i < NR_BATCH; i++)
		worker_free(&w[i]);
	close(fd);
}

/* ---- close and fork ------------------------------------------------------ */

/*
 * Closing one descriptor of a file keeps its watches; closing the last one
 * frees them all, armed and unread, with nothing left to fire later.
 */
TEST(close_frees)
{
	struct worker a, b;
	long taint = pw_taint();
	int fd, fd2, st = -1;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, worker_start(&a, 2, NULL, NULL));
	ASSERT_EQ(0, worker_start(&b, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, a.pid, 0, 1));
	ASSERT_EQ(0, pw_arm(fd, a.tid[1], PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(0, pw_arm(fd, b.pid, 0, 3));
	ASSERT_EQ(0, worker_cmd(&b, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(1, pw_wait_readable(fd, PW_TIMEOUT_MS));

	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(3, pw_nr_watches(fd2));
	ASSERT_EQ(PW_EVSZ, pw_fionread(fd2));
	ASSERT_EQ(0, close(fd2));

	/* Exits after the close reach no file. */
	ASSERT_EQ(0, worker_cmd(&a, 1, W_EXIT_THREAD, 0));
	ASSERT_EQ(0, worker_cmd(&a, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(0, worker_reap(&a, &st));
	ASSERT_EQ(0, worker_reap(&b, &st));

	/* A new file starts empty. */
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_nr_watches(fd));
	ASSERT_EQ(0, pw_wait_readable(fd, 0));
	close(fd);
	ASSERT_EQ(taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);
	worker_free(&a);
	worker_free(&b);
}

/*
 * A file shared across fork(): the child arms on it and reads the event
 * of a watch the parent armed; the child's close does not free the
 * watches, which live as long as the parent keeps the file.
 */
TEST(fork_shared_fd)
{
	struct pidwait_event ev;
	struct worker x, y;
	int fd, sync[2], result[2], st = -1;
	pid_t child;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(result, O_CLOEXEC));
	ASSERT_EQ(0, worker_start(&x, 1, NULL, NULL));
	ASSERT_EQ(0, worker_start(&y, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, x.pid, 0, 1));

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pw_child_init(getppid());
		CHILD_CHECK(!pw_arm(fd, y.pid, 0, 2));
		CHILD_CHECK(pw_arm(fd, x.pid, 0, 3) == -EEXIST);
		CHILD_CHECK(write(sync[1], "a", 1) == 1);
		CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS * 2));
		CHILD_CHECK(write(result[1], &ev, sizeof(ev)) == sizeof(ev));
		close(fd);
		_exit(0);
	}
	ASSERT_EQ(1, pw_wait_readable(sync[0], PW_TIMEOUT_MS));
	ASSERT_EQ(2, pw_nr_watches(fd));
	ASSERT_EQ(0, worker_cmd(&x, 0, W_EXIT_GROUP, 1));
	ASSERT_EQ(1, pw_wait_readable(result[0], PW_TIMEOUT_MS * 2));
	ASSERT_EQ(sizeof(ev), read(result[0], &ev, sizeof(ev)));
	ASSERT_EQ(x.pid, ev.pid);
	ASSERT_EQ(1u, ev.cookie);
	ASSERT_EQ(0, pw_reap(child, &st));
	ASSERT_EQ(0, st);

	/* The child closed its descriptor and exited: the watch it armed stays. */
	ASSERT_EQ(1, pw_nr_watches(fd));
	ASSERT_EQ(0, worker_cmd(&y, 0, W_EXIT_GROUP, 2));
	ASSERT_EQ(0, pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(y.pid, ev.pid);
	ASSERT_EQ(2u, ev.cookie);
	ASSERT_EQ(0, worker_reap(&y, &st));
	ASSERT_EQ(st, ev.status);
	ASSERT_EQ(0, worker_reap(&x, &st));
	worker_free(&x);
	worker_free(&y);
	close(fd);
}

PIDWAIT_HARNESS_MAIN
