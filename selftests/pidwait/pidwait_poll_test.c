// SPDX-License-Identifier: GPL-2.0
/*
 * Waiting for events: poll, select, level- and edge-triggered epoll, a
 * blocking read woken by an exit, O_NONBLOCK, and signals during a
 * blocking read (EINTR, SA_RESTART, SIGKILL).
 */
#include "pidwait_util.h"

#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "kselftest_harness.h"

#ifndef SYS_poll
#define SYS_poll SYS_ppoll
#endif
#ifndef SYS_select
#define SYS_select SYS_pselect6
#endif
#ifndef SYS_epoll_wait
#define SYS_epoll_wait SYS_epoll_pwait
#endif

FIXTURE(poll) {
	struct worker w;
	int fd;
	pthread_t helper;
	bool helper_started;
};

FIXTURE_SETUP(poll)
{
	memset(&self->w, 0, sizeof(self->w));
	self->w.pid = -1;
	self->w.report = -1;
	for (int i = 0; i < W_MAX_THREADS; i++)
		self->w.cmd[i] = -1;
	self->helper_started = false;
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, worker_start(&self->w, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(self->fd, self->w.pid, 0, 1));
}

FIXTURE_TEARDOWN(poll)
{
	if (self->helper_started)
		pthread_join(self->helper, NULL);
	worker_free(&self->w);
	close(self->fd);
}

/* Make the worker exit, wait for its event, return the waitpid() status. */
static int exit_and_wait(struct worker *w, int fd)
{
	int st = -1;

	if (worker_cmd(w, 0, W_EXIT_GROUP, 1) || worker_reap(w, &st))
		return -1;
	return pw_wait_readable(fd, PW_TIMEOUT_MS) == 1 ? st : -1;
}

/*
 * A helper thread that, once the test's main thread sleeps in one of two
 * system calls, does something: sends it a signal or makes the worker exit.
 */
struct helper {
	pid_t tid;
	long nr1, nr2;
	struct worker *w;
	int signal;		/* 0: make the worker exit */
	sem_t *handled;		/* after the signal was handled, wait for the sleep again, then exit */
	int ret;
};

static void *helper_main(void *p)
{
	struct helper *h = p;

	h->ret = pw_wait_in_syscall(getpid(), h->tid, h->nr1, h->nr2, PW_TIMEOUT_MS);
	if (h->ret)
		return NULL;
	if (h->signal) {
		h->ret = syscall(SYS_tgkill, getpid(), h->tid, h->signal) ? -errno : 0;
		if (h->ret || !h->handled)
			return NULL;
		while (sem_wait(h->handled))
			;
		h->ret = pw_wait_in_syscall(getpid(), h->tid, h->nr1, h->nr2, PW_TIMEOUT_MS);
		if (h->ret)
			return NULL;
	}
	h->ret = worker_cmd(h->w, 0, W_EXIT_GROUP, 2);
	return NULL;
}

static struct helper helper;

static int start_helper(FIXTURE_DATA(poll) *self, long nr1, long nr2, int signal,
			sem_t *handled)
{
	helper.tid = pw_gettid();
	helper.nr1 = nr1;
	helper.nr2 = nr2;
	helper.w = &self->w;
	helper.signal = signal;
	helper.handled = handled;
	helper.ret = -1;
	if (pthread_create(&self->helper, NULL, helper_main, &helper))
		return -1;
	self->helper_started = true;
	return 0;
}

static int join_helper(FIXTURE_DATA(poll) *self)
{
	pthread_join(self->helper, NULL);
	self->helper_started = false;
	return helper.ret;
}

TEST_F(poll, poll_level)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN | POLLRDNORM | POLLPRI };
	struct pidwait_event ev;

	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, pfd.revents);
	ASSERT_LE(0, exit_and_wait(&self->w, self->fd));
	for (int i = 0; i < 2; i++) {
		pfd.revents = 0;
		ASSERT_EQ(1, poll(&pfd, 1, 0));
		ASSERT_EQ(POLLIN | POLLRDNORM, pfd.revents);
	}
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, pfd.revents);
}

/* Of several files in one poll(), only the one with an event is readable. */
TEST_F(poll, poll_several)
{
	struct pollfd pfd[3];
	int other = pw_open(0), empty = pw_open(0);

	ASSERT_LE(0, other);
	ASSERT_LE(0, empty);
	ASSERT_EQ(0, pw_arm(other, getpid(), 0, 0));
	pfd[0] = (struct pollfd){ .fd = other, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = self->fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = empty, .events = POLLIN };
	ASSERT_LE(0, exit_and_wait(&self->w, self->fd));
	ASSERT_EQ(1, poll(pfd, 3, 0));
	ASSERT_EQ(0, pfd[0].revents);
	ASSERT_EQ(POLLIN, pfd[1].revents);
	ASSERT_EQ(0, pfd[2].revents);
	close(other);
	close(empty);
}

/* A poll() that sleeps is woken by the exit. */
TEST_F(poll, poll_wakes)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	ASSERT_EQ(0, start_helper(self, SYS_poll, SYS_ppoll, 0, NULL));
	ASSERT_EQ(1, poll(&pfd, 1, PW_TIMEOUT_MS));
	ASSERT_EQ(POLLIN, pfd.revents);
	ASSERT_EQ(0, join_helper(self));
}

TEST_F(poll, select_wakes)
{
	struct timeval tv = { 0, 0 };
	fd_set rfds, efds;

	FD_ZERO(&rfds);
	FD_ZERO(&efds);
	FD_SET(self->fd, &rfds);
	FD_SET(self->fd, &efds);
	ASSERT_EQ(0, select(self->fd + 1, &rfds, NULL, &efds, &tv));

	ASSERT_EQ(0, start_helper(self, SYS_select, SYS_pselect6, 0, NULL));
	FD_SET(self->fd, &rfds);
	FD_SET(self->fd, &efds);
	tv.tv_sec = PW_TIMEOUT_MS / 1000;
	ASSERT_EQ(1, select(self->fd + 1, &rfds, NULL, &efds, &tv));
	ASSERT_TRUE(FD_ISSET(self->fd, &rfds));
	ASSERT_FALSE(FD_ISSET(self->fd, &efds));
	ASSERT_EQ(0, join_helper(self));
}

TEST_F(poll, epoll_level)
{
	struct epoll_event ee = { .events = EPOLLIN | EPOLLRDNORM, .data.u64 = 7 };
	struct pidwait_event ev;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ee));
	ASSERT_EQ(0, epoll_wait(ep, &ee, 1, 0));

	/* Asleep in epoll_wait when the exit comes. */
	ASSERT_EQ(0, start_helper(self, SYS_epoll_wait, SYS_epoll_pwait, 0, NULL));
	memset(&ee, 0, sizeof(ee));
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, PW_TIMEOUT_MS));
	ASSERT_EQ(0, join_helper(self));
	ASSERT_EQ(7u, ee.data.u64);
	ASSERT_EQ(EPOLLIN | EPOLLRDNORM, ee.events);

	/* Level: reported again while unread. */
	memset(&ee, 0, sizeof(ee));
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, 0));
	ASSERT_EQ(EPOLLIN | EPOLLRDNORM, ee.events);
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(0, epoll_wait(ep, &ee, 1, 0));
	close(ep);
}

TEST_F(poll, epoll_edge)
{
	struct epoll_event ee = { .events = EPOLLIN | EPOLLET, .data.u64 = 9 };
	struct pidwait_event ev[4];
	struct worker b, c;
	int ep = epoll_create1(EPOLL_CLOEXEC), st = -1;

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, worker_start(&b, 1, NULL, NULL));
	ASSERT_EQ(0, worker_start(&c, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(self->fd, b.pid, 0, 2));
	ASSERT_EQ(0, pw_arm(self->fd, c.pid, 0, 3));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ee));
	ASSERT_EQ(0, epoll_wait(ep, &ee, 1, 0));

	/* An exit: one edge. */
	ASSERT_EQ(0, start_helper(self, SYS_epoll_wait, SYS_epoll_pwait, 0, NULL));
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, PW_TIMEOUT_MS));
	ASSERT_EQ(0, join_helper(self));
	ASSERT_EQ(9u, ee.data.u64);
	ASSERT_EQ((uint32_t)EPOLLIN, ee.events);

	/* A second exit while the first is unread: a new edge. */
	ASSERT_EQ(0, worker_cmd(&b, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_reap(&b, &st));

	/* Drained to EAGAIN, as edge-triggered users do. */
	ASSERT_EQ(2 * PW_EVSZ, pw_wait_fionread(self->fd, 2 * PW_EVSZ, PW_TIMEOUT_MS));
	ASSERT_EQ(2 * PW_EVSZ, read(self->fd, ev, sizeof(ev)));
	ASSERT_EQ(-1, read(self->fd, ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, epoll_wait(ep, &ee, 1, 0));

	/* The next exit after the drain: an edge again. */
	ASSERT_EQ(0, worker_cmd(&c, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, PW_TIMEOUT_MS));
	ASSERT_EQ(PW_EVSZ, read(self->fd, ev, sizeof(ev)));
	ASSERT_EQ(c.pid, ev[0].pid);
	ASSERT_EQ(0, worker_reap(&c, &st));
	ASSERT_EQ(st, ev[0].status);
	worker_free(&b);
	worker_free(&c);
	close(ep);
}

TEST_F(poll, blocking_read_wakes)
{
	struct pidwait_event ev;
	int st = -1;

	ASSERT_EQ(0, start_helper(self, SYS_read, SYS_read, 0, NULL));
	ASSERT_EQ(PW_EVSZ, read(self->fd, &ev, sizeof(ev)));
	ASSERT_EQ(0, join_helper(self));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(self->w.pid, ev.pid);
	ASSERT_EQ(st, ev.status);
}

TEST_F(poll, nonblock)
{
	struct pidwait_event ev;
	int nb = pw_open(O_NONBLOCK), st = -1;

	ASSERT_LE(0, nb);
	ASSERT_EQ(0, pw_arm(nb, self->w.pid, 0, 4));
	ASSERT_EQ(-1, read(nb, &ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
	st = exit_and_wait(&self->w, nb);
	ASSERT_LE(0, st);
	ASSERT_EQ(PW_EVSZ, read(nb, &ev, sizeof(ev)));
	ASSERT_EQ(4u, ev.cookie);
	ASSERT_EQ(st, ev.status);
	ASSERT_EQ(-1, read(nb, &ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
	close(nb);
}

static volatile sig_atomic_t handled;
static sem_t handled_sem;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
	sem_post(&handled_sem);
}

static int set_handler(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

/* Without SA_RESTART a handled signal ends a blocking read with EINTR. */
TEST_F(poll, read_eintr)
{
	struct pidwait_event ev;
	int empty = pw_open(0);

	ASSERT_LE(0, empty);
	sem_init(&handled_sem, 0, 0);
	handled = 0;
	ASSERT_EQ(0, set_handler(0));

	/* A watch on a live process. */
	ASSERT_EQ(0, start_helper(self, SYS_read, SYS_read, SIGUSR1, NULL));
	ASSERT_EQ(-1, read(self->fd, &ev, sizeof(ev)));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(1, handled);
	ASSERT_EQ(0, join_helper(self));

	/* No watch at all: it blocks all the same, until the signal. */
	ASSERT_EQ(0, start_helper(self, SYS_read, SYS_read, SIGUSR1, NULL));
	ASSERT_EQ(-1, read(empty, &ev, sizeof(ev)));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(2, handled);
	ASSERT_EQ(0, join_helper(self));

	/* Nothing was lost: the watch still fires. */
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_LE(0, exit_and_wait(&self->w, self->fd));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(self->w.pid, ev.pid);
	signal(SIGUSR1, SIG_DFL);
	close(empty);
}

/* With SA_RESTART the read goes on after the handler and returns the event. */
TEST_F(poll, read_restart)
{
	struct pidwait_event ev;
	int st = -1;

	sem_init(&handled_sem, 0, 0);
	handled = 0;
	ASSERT_EQ(0, set_handler(SA_RESTART));
	ASSERT_EQ(0, start_helper(self, SYS_read, SYS_read, SIGUSR1, &handled_sem));
	ASSERT_EQ(PW_EVSZ, read(self->fd, &ev, sizeof(ev))) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(1, handled);
	ASSERT_EQ(0, join_helper(self));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(self->w.pid, ev.pid);
	ASSERT_EQ(st, ev.status);
	signal(SIGUSR1, SIG_DFL);
}

/* SIGKILL ends a process asleep in read(): the sleep is interruptible. */
TEST_F(poll, read_sigkill)
{
	struct pidwait_event ev;
	pid_t child;
	int st = -1;

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pw_child_init(getppid());
		if (read(self->fd, &ev, sizeof(ev)) < 0)
			_exit(1);
		_exit(2);
	}
	ASSERT_EQ(0, pw_wait_in_syscall(child, child, SYS_read, SYS_read, PW_TIMEOUT_MS));
	ASSERT_EQ(0, kill(child, SIGKILL));
	ASSERT_EQ(0, pw_reap(child, &st));
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(SIGKILL, WTERMSIG(st));
	/* The shared file and its watch are unharmed. */
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_wait_readable(self->fd, 0));
}

PIDWAIT_HARNESS_MAIN
