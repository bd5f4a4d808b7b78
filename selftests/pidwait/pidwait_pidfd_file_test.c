// SPDX-License-Identifier: GPL-2.0
/*
 * pidfd-compatible files (PIDWAIT_IOC_PIDFD_OPEN): what pidfd_open() gives
 * and errors it returns, poll and epoll before and after the exit and the
 * reaping, fdinfo's Pid and NSpid, the pid and status ioctl, signals (with
 * and without a siginfo, never to a process that took the number over),
 * and the file passed on by fork, exec and SCM_RIGHTS. Signals to a
 * process armed on a /dev/pidwait file too.
 */
#include "pidwait_util.h"

#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"

#define PIDFD_HELPER_ARG "--pidfd-file-helper"

static int pf_open(int dev, pid_t pid, unsigned int flags)
{
	struct pidwait_pidfd_open req = { .pid = pid, .flags = flags };
	int fd = ioctl(dev, PIDWAIT_IOC_PIDFD_OPEN, &req);

	return fd < 0 ? -errno : fd;
}

static int pf_info(int fd, struct pidwait_pidfd_info *info)
{
	memset(info, 0xa5, sizeof(*info));
	return ioctl(fd, PIDWAIT_IOC_PIDFD_GET_INFO, info) ? -errno : 0;
}

static int pf_signal(int fd, pid_t pid, int sig, const siginfo_t *si,
		     unsigned int flags)
{
	struct pidwait_signal s = {
		.pid = pid, .sig = sig, .flags = flags,
		.info = (uintptr_t)si,
	};

	return ioctl(fd, PIDWAIT_IOC_SEND_SIGNAL, &s) ? -errno : 0;
}

static uint64_t features(int dev)
{
	struct pidwait_info info;

	return pw_info(dev, &info) ? 0 : info.features;
}

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif

/*
 * The oracle: where the kernel has pidfd_open() (5.3+), a real pidfd is
 * opened beside each of ours, and both must give the same answers.
 */
static bool have_oracle(void)
{
	static int have = -1;
	int fd;

	if (have < 0) {
		fd = pw_pidfd_open(getpid(), 0);
		have = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return have;
}

static int rp_open(pid_t pid, unsigned int flags)
{
	int fd = pw_pidfd_open(pid, flags);

	return fd < 0 ? -errno : fd;
}

static int rp_signal(int fd, int sig, const siginfo_t *si, unsigned int flags)
{
	return syscall(__NR_pidfd_send_signal, fd, sig, si, flags) ? -errno : 0;
}

/* POLLIN/POLLHUP seen at once, without waiting. */
static short revents_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

/*
 * What a pidfd of the newest kernels shows, from @real's revents: before
 * 6.9 a pidfd does not hang up once its process is reaped.
 */
static short newest(int real, bool reaped)
{
	short r = revents_now(real);

	return reaped && r > 0 ? r | POLLHUP : r;
}

/* "Pid:" or "NSpid:" of fd's fdinfo as text, or "" when absent. */
static void fdinfo_field(int fd, const char *field, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(field);
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 2);
			out[strcspn(out, "\n")] = 0;
			break;
		}
	fclose(f);
}

/* Pid and NSpid as a real pidfd @real shows them (no oracle: @real < 0). */
static int same_fdinfo(struct __test_metadata *_metadata, int fd, int real)
{
	static const char * const fields[] = { "Pid", "NSpid" };
	char ours[64], theirs[64];
	int diff = 0;

	if (real < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		fdinfo_field(fd, fields[i], ours, sizeof(ours));
		fdinfo_field(real, fields[i], theirs, sizeof(theirs));
		if (strcmp(ours, theirs)) {
			TH_LOG("%s: \"%s\", a pidfd says \"%s\"", fields[i], ours, theirs);
			diff++;
		}
	}
	return diff;
}

/*
 * A child that waits for a byte on a pipe, then exits with it as its code;
 * SIGTERM and SIGUSR1 keep their default action unless told otherwise.
 */
struct kid {
	pid_t pid;
	int go;		/* write end: a byte, the exit code */
};

static int kid_start(struct kid *k, void (*setup)(void))
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	k->pid = fork();
	if (k->pid < 0)
		return -errno;
	if (!k->pid) {
		unsigned char c = 0;

		close(p[1]);
		if (setup)
			setup();
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		_exit(c);
	}
	close(p[0]);
	k->go = p[1];
	return 0;
}

static int kid_exit(struct kid *k, unsigned char code)
{
	int ret = write(k->go, &code, 1) == 1 ? 0 : -EIO;

	close(k->go);
	k->go = -1;
	return ret;
}

static void kid_free(struct kid *k)
{
	if (k->go >= 0)
		close(k->go);
	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
	}
	k->pid = -1;
}

FIXTURE(pidfd_file) {
	int dev;
	struct kid k;
};

FIXTURE_SETUP(pidfd_file)
{
	self->k.pid = -1;
	self->k.go = -1;
	self->dev = pw_open(0);
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", PIDWAIT_DEVICE, strerror(errno));
	ASSERT_NE(0, features(self->dev) & PIDWAIT_FEATURE_PIDFD);
	ASSERT_EQ(0, kid_start(&self->k, NULL));
}

FIXTURE_TEARDOWN(pidfd_file)
{
	kid_free(&self->k);
	close(self->dev);
}

/* Ours and, where the kernel has pidfd_open, a real pidfd: the oracle. */
static void open_both(struct __test_metadata *_metadata,
		      FIXTURE_DATA(pidfd_file) *self, int *fd, int *real)
{
	*real = -1;
	*fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, *fd);
	if (have_oracle()) {
		*real = rp_open(self->k.pid, 0);
		ASSERT_LE(0, *real);
	}
}

TEST_F(pidfd_file, open_errors)
{
	pid_t gone;
	int fd;

	static const struct { pid_t pid; unsigned int flags; } bad[] = {
		{ 0, 0 }, { -1, 0 }, { INT_MIN, 0 }, { 1, 1 }, { 1, O_CLOEXEC },
		{ 1, O_NONBLOCK | 2 }, { 1, 1u << 31 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, pf_open(self->dev, bad[i].pid, bad[i].flags))
			TH_LOG("pid %d flags %#x", bad[i].pid, bad[i].flags);
		if (have_oracle())
			EXPECT_EQ(-EINVAL, rp_open(bad[i].pid, bad[i].flags))
				TH_LOG("oracle: pid %d flags %#x", bad[i].pid, bad[i].flags);
	}
	/* PIDFD_THREAD (6.9): not offered here, refused as any unknown flag. */
	EXPECT_EQ(-EINVAL, pf_open(self->dev, getpid(), O_EXCL));
	EXPECT_EQ(-EFAULT, ioctl(self->dev, PIDWAIT_IOC_PIDFD_OPEN, (void *)8) ? -errno : 0);

	/* A reaped process, and an id that is nobody's. */
	gone = fork();
	ASSERT_LE(0, gone);
	if (!gone)
		_exit(0);
	ASSERT_EQ(0, pw_reap(gone, NULL));
	EXPECT_EQ(-ESRCH, pf_open(self->dev, gone, 0));
	EXPECT_EQ(-ESRCH, pf_open(self->dev, INT_MAX, 0));
	if (have_oracle()) {
		EXPECT_EQ(-ESRCH, rp_open(gone, 0));
		EXPECT_EQ(-ESRCH, rp_open(INT_MAX, 0));
	}

	/* Its own process works; nothing is left behind by the failures. */
	fd = pf_open(self->dev, getpid(), 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pw_nr_watches(self->dev));
	close(fd);
}

/* As pidfd_open(): a thread's id names no process. */
TEST_F(pidfd_file, open_thread_id)
{
	pthread_t t;
	pid_t tid = -1;

	ASSERT_EQ(0, pw_park_thread(&t, &tid));
	EXPECT_EQ(-EINVAL, pf_open(self->dev, tid, 0));
	/* The oracle: EINVAL from 5.3; ENOENT on 7.x (7.3.4 here). */
	if (have_oracle()) {
		int r = rp_open(tid, 0);

		EXPECT_TRUE(r == -EINVAL || r == -ENOENT) TH_LOG("pidfd_open: %d", r);
	}
	pthread_cancel(t);
	pthread_join(t, NULL);
}

TEST_F(pidfd_file, flags)
{
	int fd, fl;

	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(0, fl & O_NONBLOCK);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	close(fd);

	fd = pf_open(self->dev, self->k.pid, O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	if (!have_oracle())
		return;
	for (int nb = 0; nb <= 1; nb++) {
		int ours = pf_open(self->dev, self->k.pid, nb ? O_NONBLOCK : 0);
		int real = rp_open(self->k.pid, nb ? O_NONBLOCK : 0);

		ASSERT_LE(0, ours);
		ASSERT_LE(0, real);
		EXPECT_EQ(fcntl(real, F_GETFD), fcntl(ours, F_GETFD));
		EXPECT_EQ(fcntl(real, F_GETFL) & (O_ACCMODE | O_NONBLOCK),
			  fcntl(ours, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
		close(ours);
		close(real);
	}
}

/* What a program tells it by: the info ioctl works on it and on nothing else. */
TEST_F(pidfd_file, identity)
{
	struct pidwait_pidfd_info info;
	int fd, p[2];

	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pf_info(fd, &info));
	EXPECT_EQ(PIDWAIT_PIDFD_INFO_PID, info.mask);
	EXPECT_EQ(self->k.pid, info.pid);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(0ull, info.reserved[i]);

	EXPECT_EQ(-ENOTTY, pf_info(self->dev, &info));
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-ENOTTY, pf_info(p[0], &info));
	close(p[0]);
	close(p[1]);
	/* And it is no multi-PID file: no arming, no read. */
	EXPECT_EQ(-ENOTTY, pw_arm(fd, getpid(), 0, 0));
	EXPECT_EQ(-1, read(fd, &info, sizeof(info)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* A pidfd-compatible file is one watch of its user's. */
TEST_F(pidfd_file, counts_as_a_watch)
{
	struct pidwait_info before, during, after;
	int fd;

	ASSERT_EQ(0, pw_info(self->dev, &before));
	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_info(self->dev, &during));
	EXPECT_EQ(before.user_watches + 1, during.user_watches);
	EXPECT_EQ(0u, during.nr_watches);
	close(fd);
	ASSERT_EQ(0, pw_info(self->dev, &after));
	EXPECT_EQ(before.user_watches, after.user_watches);
}

/* Nothing while it lives; IN at the exit; IN|HUP once reaped; for ever. */
TEST_F(pidfd_file, poll_states)
{
	int fd, real, st = -1;

	open_both(_metadata, self, &fd, &real);
	EXPECT_EQ(0, revents_now(fd));
	EXPECT_EQ(0, pw_wait_readable(fd, PW_QUIET_MS));
	if (real >= 0)
		EXPECT_EQ(newest(real, false), revents_now(fd));

	ASSERT_EQ(0, kid_exit(&self->k, 7));
	EXPECT_EQ(1, pw_wait_readable(fd, PW_TIMEOUT_MS * pw_slowdown()));
	ASSERT_EQ(0, pw_wait_zombie(self->k.pid));
	EXPECT_EQ(POLLIN, revents_now(fd));
	EXPECT_EQ(POLLIN, revents_now(fd));
	if (real >= 0)
		EXPECT_EQ(newest(real, false), revents_now(fd)) TH_LOG("a zombie");

	ASSERT_EQ(0, pw_reap(self->k.pid, &st));
	self->k.pid = -1;
	EXPECT_EQ(7, WEXITSTATUS(st));
	EXPECT_EQ(POLLIN | POLLHUP, revents_now(fd));
	EXPECT_EQ(POLLIN | POLLHUP, revents_now(fd));
	if (real >= 0) {
		EXPECT_EQ(newest(real, true), revents_now(fd)) TH_LOG("reaped");
		close(real);
	}
	close(fd);
}

/* Level- and edge-triggered epoll sets watching @fd alone. */
struct epolls {
	int lt, et;
};

static int epolls_add(struct epolls *e, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	e->lt = epoll_create1(EPOLL_CLOEXEC);
	e->et = epoll_create1(EPOLL_CLOEXEC);
	if (e->lt < 0 || e->et < 0 || epoll_ctl(e->lt, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	ev.events = EPOLLIN | EPOLLET;
	return epoll_ctl(e->et, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* After the exit: the edge once, then nothing; the level every time. */
static void epolls_after_exit(struct __test_metadata *_metadata, struct epolls *e,
			      const char *what)
{
	struct epoll_event out[2];

	ASSERT_EQ(1, epoll_wait(e->et, out, 2, PW_TIMEOUT_MS * pw_slowdown())) TH_LOG("%s", what);
	EXPECT_NE(0, out[0].events & EPOLLIN) TH_LOG("%s", what);
	EXPECT_EQ(0, epoll_wait(e->et, out, 2, PW_QUIET_MS)) TH_LOG("%s", what);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(1, epoll_wait(e->lt, out, 2, 0)) TH_LOG("%s", what);
		EXPECT_NE(0, out[0].events & EPOLLIN) TH_LOG("%s", what);
	}
	close(e->lt);
	close(e->et);
}

/* The exit wakes a sleeping epoll; level and edge behave as a pidfd's. */
TEST_F(pidfd_file, epoll_level_and_edge)
{
	struct epolls ours, theirs = { -1, -1 };
	struct epoll_event out[2];
	int fd, real = -1;

	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, epolls_add(&ours, fd));
	if (have_oracle()) {
		real = rp_open(self->k.pid, 0);
		ASSERT_LE(0, real);
		ASSERT_EQ(0, epolls_add(&theirs, real));
	}
	EXPECT_EQ(0, epoll_wait(ours.lt, out, 2, 0));
	EXPECT_EQ(0, epoll_wait(ours.et, out, 2, 0));

	ASSERT_EQ(0, kid_exit(&self->k, 0));
	epolls_after_exit(_metadata, &ours, "pidwait's");
	if (real >= 0) {
		epolls_after_exit(_metadata, &theirs, "a pidfd's");
		close(real);
	}
	close(fd);
}

TEST_F(pidfd_file, fdinfo_pid)
{
	char pidline[64], nspid[64], want[64];
	int fd, real;

	open_both(_metadata, self, &fd, &real);
	snprintf(want, sizeof(want), "%d", self->k.pid);
	fdinfo_field(fd, "Pid", pidline, sizeof(pidline));
	EXPECT_STREQ(want, pidline);
	fdinfo_field(fd, "NSpid", nspid, sizeof(nspid));
	EXPECT_STREQ(want, nspid);
	EXPECT_EQ(0, same_fdinfo(_metadata, fd, real));

	ASSERT_EQ(0, kid_exit(&self->k, 0));
	ASSERT_EQ(0, pw_wait_zombie(self->k.pid));
	fdinfo_field(fd, "Pid", pidline, sizeof(pidline));
	EXPECT_STREQ(want, pidline) TH_LOG("a zombie keeps its id");
	EXPECT_EQ(0, same_fdinfo(_metadata, fd, real));
	ASSERT_EQ(0, pw_reap(self->k.pid, NULL));
	self->k.pid = -1;
	fdinfo_field(fd, "Pid", pidline, sizeof(pidline));
	EXPECT_STREQ("-1", pidline);
	fdinfo_field(fd, "NSpid", nspid, sizeof(nspid));
	EXPECT_STREQ("-1", nspid);
	EXPECT_EQ(0, same_fdinfo(_metadata, fd, real));
	if (real >= 0)
		close(real);
	close(fd);
}

/* The child's id as a process in a new pid namespace sees it, and as the parent does. */
TEST_F(pidfd_file, fdinfo_nspid)
{
	char pidline[64], nspid[64], want[64];
	int p[2], fd, st = -1;
	pid_t child;

	if (unshare(CLONE_NEWPID))
		SKIP(return, "unshare(CLONE_NEWPID): %s", strerror(errno));
	ASSERT_EQ(0, pipe(p));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char c;

		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	fd = pf_open(self->dev, child, 0);
	ASSERT_LE(0, fd);
	snprintf(want, sizeof(want), "%d", child);
	fdinfo_field(fd, "Pid", pidline, sizeof(pidline));
	EXPECT_STREQ(want, pidline);
	snprintf(want, sizeof(want), "%d\t1", child);
	fdinfo_field(fd, "NSpid", nspid, sizeof(nspid));
	EXPECT_STREQ(want, nspid);
	if (have_oracle()) {
		int real = rp_open(child, 0);

		ASSERT_LE(0, real);
		EXPECT_EQ(0, same_fdinfo(_metadata, fd, real));
		close(real);
	}
	ASSERT_EQ(1, write(p[1], "x", 1));
	close(p[1]);
	ASSERT_EQ(0, pw_reap(child, &st));
	EXPECT_EQ(0, st);
	close(fd);
}

TEST_F(pidfd_file, info_status)
{
	struct pidwait_pidfd_info info;
	int fd;

	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kid_exit(&self->k, 42));
	ASSERT_EQ(1, pw_wait_readable(fd, PW_TIMEOUT_MS * pw_slowdown()));
	ASSERT_EQ(0, pf_info(fd, &info));
	EXPECT_EQ(PIDWAIT_PIDFD_INFO_PID | PIDWAIT_PIDFD_INFO_EXITED |
		  PIDWAIT_PIDFD_INFO_STATUS, info.mask);
	EXPECT_EQ(self->k.pid, info.pid);
	EXPECT_TRUE(WIFEXITED(info.status));
	EXPECT_EQ(42, WEXITSTATUS(info.status));
	EXPECT_NE(0ull, info.exit_time_ns);

	ASSERT_EQ(0, pw_reap(self->k.pid, NULL));
	self->k.pid = -1;
	ASSERT_EQ(0, pf_info(fd, &info));
	EXPECT_EQ(PIDWAIT_PIDFD_INFO_EXITED | PIDWAIT_PIDFD_INFO_STATUS, info.mask);
	EXPECT_EQ(0, info.pid);
	EXPECT_EQ(42, WEXITSTATUS(info.status));
	close(fd);
}

TEST_F(pidfd_file, signal)
{
	int fd, r, real = -1, st = -1;

	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pf_signal(fd, 0, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, pf_signal(fd, 0, -1, NULL, 0));
	EXPECT_EQ(-EINVAL, pf_signal(fd, 0, _NSIG + 1, NULL, 0));
	EXPECT_EQ(-EINVAL, pf_signal(fd, 0, SIGTERM, NULL, 1));
	EXPECT_EQ(-EINVAL, pf_signal(fd, self->k.pid, SIGTERM, NULL, 0));
	EXPECT_EQ(0, pw_wait_readable(fd, 0));
	if (have_oracle()) {
		real = rp_open(self->k.pid, 0);
		ASSERT_LE(0, real);
		EXPECT_EQ(0, rp_signal(real, 0, NULL, 0));
		EXPECT_EQ(-EINVAL, rp_signal(real, -1, NULL, 0));
		EXPECT_EQ(-EINVAL, rp_signal(real, _NSIG + 1, NULL, 0));
		/* 6.9's PIDFD_SIGNAL_* flags are not offered: an unknown flag. */
		EXPECT_EQ(-EINVAL, rp_signal(real, SIGTERM, NULL, 1u << 30));
		EXPECT_EQ(-EINVAL, pf_signal(fd, 0, SIGTERM, NULL, 1u << 30));
		/* Not a pidfd, not /dev/pidwait: what each says to the other's call. */
		EXPECT_EQ(-EBADF, rp_signal(self->dev, 0, NULL, 0));
		/*
		 * A pidfd takes no ioctl of ours: ENOTTY on 6.1 and 7.x, EINVAL
		 * on 6.12, whose pidfd ioctls refuse any argument first.
		 */
		r = pf_signal(real, 0, 0, NULL, 0);
		EXPECT_TRUE(r == -ENOTTY || r == -EINVAL) TH_LOG("%d", r);
	}

	ASSERT_EQ(0, pf_signal(fd, 0, SIGTERM, NULL, 0));
	ASSERT_EQ(1, pw_wait_readable(fd, PW_TIMEOUT_MS * pw_slowdown()));
	EXPECT_EQ(-ESRCH, pf_signal(fd, 0, 0, NULL, 0));
	EXPECT_EQ(-ESRCH, pf_signal(fd, 0, SIGKILL, NULL, 0));
	ASSERT_EQ(0, pw_reap(self->k.pid, &st));
	self->k.pid = -1;
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(SIGTERM, WTERMSIG(st));
	EXPECT_EQ(-ESRCH, pf_signal(fd, 0, 0, NULL, 0));
	if (real >= 0) {
		EXPECT_EQ(-ESRCH, rp_signal(real, 0, NULL, 0));
		close(real);
	}
	close(fd);
}

static volatile sig_atomic_t got_value = -1, got_code, got_pid;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_value = si->si_value.sival_int;
	got_code = si->si_code;
	got_pid = si->si_pid;
}

/* The child exits with the value a SIGUSR1 carried, or 200 + why not. */
static void catch_usr1(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);
	/* The parent is told through the pipe's other use: it waits for us to be ready. */
	kill(getppid(), SIGURG);
	sigsuspend(&old);
	_exit(got_code == SI_QUEUE ? got_value : 200);
}

static volatile sig_atomic_t kid_ready;

static void on_urg(int sig)
{
	(void)sig;
	kid_ready = 1;
}

TEST_F(pidfd_file, signal_siginfo)
{
	struct sigaction sa = { .sa_handler = on_urg };
	siginfo_t si;
	struct kid k = { .pid = -1, .go = -1 };
	int fd, st = -1;

	if (!(features(self->dev) & PIDWAIT_FEATURE_SIGINFO)) {
		fd = pf_open(self->dev, self->k.pid, 0);
		ASSERT_LE(0, fd);
		memset(&si, 0, sizeof(si));
		si.si_signo = SIGUSR1;
		si.si_code = SI_QUEUE;
		EXPECT_EQ(-EOPNOTSUPP, pf_signal(fd, 0, SIGUSR1, &si, 0));
		close(fd);
		SKIP(return, "no PIDWAIT_FEATURE_SIGINFO: this kernel exports no way to queue one (5.3 and later, RHEL 8)");
	}

	kid_ready = 0;
	ASSERT_EQ(0, sigaction(SIGURG, &sa, NULL));
	ASSERT_EQ(0, kid_start(&k, catch_usr1));
	for (int i = 0; i < PW_TIMEOUT_MS && !kid_ready; i++)
		pw_sleep_ms(1);
	ASSERT_TRUE(kid_ready);
	fd = pf_open(self->dev, k.pid, 0);
	ASSERT_LE(0, fd);

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR2;
	si.si_code = SI_QUEUE;
	EXPECT_EQ(-EINVAL, pf_signal(fd, 0, SIGUSR1, &si, 0));
	si.si_signo = SIGUSR1;
	si.si_code = SI_USER;
	EXPECT_EQ(-EPERM, pf_signal(fd, 0, SIGUSR1, &si, 0));
	si.si_code = SI_TKILL;
	EXPECT_EQ(-EPERM, pf_signal(fd, 0, SIGUSR1, &si, 0));
	EXPECT_EQ(-EFAULT, pf_signal(fd, 0, SIGUSR1, (siginfo_t *)8, 0));

	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 77;
	ASSERT_EQ(0, pf_signal(fd, 0, SIGUSR1, &si, 0));
	ASSERT_EQ(0, pw_reap(k.pid, &st));
	k.pid = -1;
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(77, WEXITSTATUS(st));
	close(fd);
	kid_free(&k);
}

/*
 * The number passes to a new process (ns_last_pid): the file still names
 * the old one, so no signal reaches the new.
 */
TEST_F(pidfd_file, signal_never_to_a_successor)
{
	char buf[32];
	pid_t old = self->k.pid, next;
	int fd, st = -1, ns, real = -1;

	fd = pf_open(self->dev, old, 0);
	ASSERT_LE(0, fd);
	if (have_oracle()) {
		real = rp_open(old, 0);
		ASSERT_LE(0, real);
	}
	ASSERT_EQ(0, kid_exit(&self->k, 0));
	ASSERT_EQ(0, pw_reap(old, NULL));
	self->k.pid = -1;

	ns = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (ns < 0)
		SKIP(close(fd); if (real >= 0) close(real); return, "no ns_last_pid (CONFIG_CHECKPOINT_RESTORE): %s",
		     strerror(errno));
	snprintf(buf, sizeof(buf), "%d", old - 1);
	ASSERT_LT(0, write(ns, buf, strlen(buf)));
	close(ns);
	ASSERT_EQ(0, kid_start(&self->k, NULL));
	next = self->k.pid;
	if (next != old)
		SKIP(close(fd); if (real >= 0) close(real); return, "another process took %d first (got %d)", old, next);

	EXPECT_EQ(-ESRCH, pf_signal(fd, 0, SIGKILL, NULL, 0));
	EXPECT_EQ(-ESRCH, pf_signal(fd, 0, 0, NULL, 0));
	EXPECT_EQ(POLLIN | POLLHUP, revents_now(fd));
	if (real >= 0) {
		EXPECT_EQ(-ESRCH, rp_signal(real, SIGKILL, NULL, 0));
		EXPECT_EQ(POLLIN | POLLHUP, newest(real, true));
	}
	ASSERT_EQ(0, kid_exit(&self->k, 9));
	ASSERT_EQ(0, pw_reap(next, &st));
	self->k.pid = -1;
	EXPECT_TRUE(WIFEXITED(st)) TH_LOG("the successor was signalled: %d", st);
	EXPECT_EQ(9, WEXITSTATUS(st));
	if (real >= 0)
		close(real);
	close(fd);
}

/* kill(2)'s permission: an unprivileged caller may not signal root's process. */
TEST_F(pidfd_file, signal_permission)
{
	pid_t child;
	int fd, real, st = -1;

	if (getuid())
		SKIP(return, "needs root to drop to another user");
	open_both(_metadata, self, &fd, &real);
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		siginfo_t si;
		int r;

		CHILD_CHECK(!setgroups(0, NULL) && !setgid(65534) && !setuid(65534));
		CHILD_CHECK(pf_signal(fd, 0, SIGKILL, NULL, 0) == -EPERM);
		CHILD_CHECK(pf_signal(fd, 0, 0, NULL, 0) == -EPERM);
		if (real >= 0) {
			CHILD_CHECK(rp_signal(real, SIGKILL, NULL, 0) == -EPERM);
			CHILD_CHECK(rp_signal(real, 0, NULL, 0) == -EPERM);
		}
		memset(&si, 0, sizeof(si));
		si.si_signo = SIGKILL;
		si.si_code = SI_QUEUE;
		r = pf_signal(fd, 0, SIGKILL, &si, 0);
		CHILD_CHECK(r == -EPERM || r == -EOPNOTSUPP);
		_exit(0);
	}
	ASSERT_EQ(0, pw_reap(child, &st));
	EXPECT_EQ(0, st);
	EXPECT_EQ(0, revents_now(fd)) TH_LOG("the process was signalled");
	if (real >= 0)
		close(real);
	close(fd);
}

/* fork, exec and SCM_RIGHTS carry it as any file; each holder sees the same. */
static int send_fd(int sock, int fd)
{
	char c = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Exec'd with the descriptor's number: is it readable within a timeout? */
static int exec_helper(int argc, char **argv)
{
	struct pidwait_pidfd_info info;
	int fd;

	if (argc < 4)
		return 2;
	fd = atoi(argv[2]);
	if (pf_info(fd, &info) || !(info.mask & PIDWAIT_PIDFD_INFO_PID) ||
	    info.pid != atoi(argv[3]))
		return 3;
	return pw_wait_readable(fd, PW_TIMEOUT_MS * pw_slowdown()) == 1 ? 0 : 4;
}

TEST_F(pidfd_file, passed_on)
{
	int fd, sv[2], st = -1;
	pid_t forked, execd, receiver;
	char fdarg[16], pidarg[16];

	fd = pf_open(self->dev, self->k.pid, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

	forked = fork();
	ASSERT_LE(0, forked);
	if (!forked)
		_exit(pw_wait_readable(fd, PW_TIMEOUT_MS * pw_slowdown()) == 1 ? 0 : 1);

	receiver = fork();
	ASSERT_LE(0, receiver);
	if (!receiver) {
		struct pidwait_pidfd_info info;
		int got = recv_fd(sv[1]);

		CHILD_CHECK(got >= 0);
		CHILD_CHECK(!pf_info(got, &info) && info.pid == self->k.pid);
		_exit(pw_wait_readable(got, PW_TIMEOUT_MS * pw_slowdown()) == 1 ? 0 : 1);
	}
	ASSERT_EQ(0, send_fd(sv[0], fd));

	/* Close-on-exec by default: cleared here, so that the image gets it. */
	execd = fork();
	ASSERT_LE(0, execd);
	if (!execd) {
		char *argv[] = { "/proc/self/exe", PIDFD_HELPER_ARG, fdarg, pidarg, NULL };

		CHILD_CHECK(!fcntl(fd, F_SETFD, 0));
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		snprintf(pidarg, sizeof(pidarg), "%d", self->k.pid);
		execv("/proc/self/exe", argv);
		_exit(5);
	}
	/* Each holder sees it readable, asleep in poll at the exit or not. */
	ASSERT_EQ(0, kid_exit(&self->k, 0));
	ASSERT_EQ(0, pw_reap(forked, &st));
	EXPECT_EQ(0, st) TH_LOG("forked child: %d", st);
	ASSERT_EQ(0, pw_reap(receiver, &st));
	EXPECT_EQ(0, st) TH_LOG("receiver: %d", st);
	ASSERT_EQ(0, pw_reap(execd, &st));
	EXPECT_EQ(0, st) TH_LOG("exec'd image: exit %d", WEXITSTATUS(st));
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

/* The same signal through a multi-PID file, to an armed process only. */
TEST_F(pidfd_file, signal_armed)
{
	struct pidwait_event ev;
	int st = -1;

	EXPECT_EQ(-ENOENT, pf_signal(self->dev, self->k.pid, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, pf_signal(self->dev, 0, 0, NULL, 0));
	ASSERT_EQ(0, pw_arm(self->dev, self->k.pid, PIDWAIT_ARM_THREAD, 4));
	EXPECT_EQ(-ENOENT, pf_signal(self->dev, self->k.pid, 0, NULL, 0))
		TH_LOG("a thread watch is no process watch");
	ASSERT_EQ(0, pw_arm(self->dev, self->k.pid, 0, 5));
	EXPECT_EQ(0, pf_signal(self->dev, self->k.pid, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, pf_signal(self->dev, self->k.pid, 0, NULL, 2));
	ASSERT_EQ(0, pw_disarm(self->dev, self->k.pid, PIDWAIT_ARM_THREAD));
	ASSERT_EQ(0, pf_signal(self->dev, self->k.pid, SIGKILL, NULL, 0));
	ASSERT_EQ(1, pw_wait_readable(self->dev, PW_TIMEOUT_MS * pw_slowdown()));
	EXPECT_EQ(-ESRCH, pf_signal(self->dev, self->k.pid, 0, NULL, 0))
		TH_LOG("fired, not read yet");
	ASSERT_EQ(0, pw_read_one(self->dev, &ev, 0));
	EXPECT_EQ(self->k.pid, ev.pid);
	EXPECT_EQ(-ENOENT, pf_signal(self->dev, self->k.pid, 0, NULL, 0));
	ASSERT_EQ(0, pw_reap(self->k.pid, &st));
	self->k.pid = -1;
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(SIGKILL, WTERMSIG(st));
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], PIDFD_HELPER_ARG))
		return exec_helper(argc, argv);
	return test_harness_run(argc, argv);
}
