// SPDX-License-Identifier: GPL-2.0
/*
 * The contract of libpidwait-pidfd.so, as a program sees it: pidfd_open,
 * pidfd_send_signal, pidfd_getpid and waitid(P_PIDFD), through glibc's
 * wrappers and through syscall(), with the kernel's results and errors.
 * Built dynamically against a glibc with the wrappers (2.39+), so that a
 * preloaded library reaches every call. pidwait_preload_test runs it
 * under the library in three modes:
 *
 *   kernel    the library as shipped: the kernel serves what it has, so on
 *             5.3 and later every result below is the kernel's own
 *   pidwait   PIDWAIT_PIDFD_FORCE=1: pidwait serves every pidfd
 *   nomodule  forced, /dev hidden in a mount namespace: as on a kernel
 *             without pidfd_open whose module is not loaded; its second
 *             argument is the errno the kernel gives pidfd_send_signal
 *             for a descriptor that is no pidfd
 *
 * Prints a line per check; exits 0 when all held, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failed;

static void check(const char *what, long ret, long want, int err, int want_err)
{
	bool ok = want_err ? ret == -1 && err == want_err : ret == want;

	printf("# %s %s: returned %ld, errno %s", ok ? "ok" : "FAIL", what, ret,
	       ret == -1 ? strerrorname_np(err) : "-");
	if (!ok) {
		if (want_err)
			printf(" (want -1, %s)", strerrorname_np(want_err));
		else
			printf(" (want %ld)", want);
		failed = 1;
	}
	putchar('\n');
}

#define CHECK(what, call, want, want_err) do {			\
	long r_ = (call);					\
	check(what, r_, want, errno, want_err);			\
} while (0)

/* The two ways programs reach the calls. */
static int open_w(pid_t pid, unsigned int flags, int sys)
{
	return sys ? (int)syscall(SYS_pidfd_open, pid, flags) : pidfd_open(pid, flags);
}

static int signal_w(int fd, int sig, siginfo_t *si, unsigned int flags, int sys)
{
	return sys ? (int)syscall(SYS_pidfd_send_signal, fd, sig, si, flags) :
		     pidfd_send_signal(fd, sig, si, flags);
}

/* A child that lives until its pipe closes, or exits with @code now. */
static pid_t child(int *hold, int code)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		exit(2);
	pid = fork();
	if (pid < 0)
		exit(2);
	if (!pid) {
		if (code >= 0)
			_exit(code);
		close(p[1]);
		_exit(read(p[0], &c, 1) < 0);
	}
	close(p[0]);
	*hold = p[1];
	return pid;
}

/* Signalled by a process of another user: kill(2)'s EPERM. */
static int signal_as_nobody(int fd, int sys)
{
	int st = -1;
	pid_t pid = fork();

	if (!pid) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		_exit(signal_w(fd, SIGTERM, NULL, 0, sys) == -1 && errno == EPERM ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 4;
}

/*
 * Queues SIGUSR1 with SI_QUEUE and a value on a child that waits for it,
 * as util-linux kill --timeout does: 0 when the child got both.
 */
static int queue_to_child(int sys)
{
	int ready[2], fd, st = -1, ret;
	sigset_t set;
	siginfo_t si;
	pid_t pid;
	char c;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pipe2(ready, O_CLOEXEC))
		return 10;
	pid = fork();
	if (pid < 0)
		return 11;
	if (!pid) {
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(12);
		if (sigwaitinfo(&set, &si) != SIGUSR1)
			_exit(13);
		_exit(si.si_code == SI_QUEUE && si.si_int == 42 ? 0 : 14);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		return 15;
	close(ready[0]);
	fd = open_w(pid, 0, sys);
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_int = 42;
	ret = signal_w(fd, SIGUSR1, &si, 0, sys);
	if (ret)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fd);
	if (ret)
		return 16;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 17;
}

static void contract(int sys)
{
	const char *how = sys ? "syscall()" : "wrapper";
	char what[128];
	int hold, pipefd[2], fd, nb, closed, gone_hold;
	siginfo_t si;
	pid_t pid, gone;

#define W(s) (snprintf(what, sizeof(what), "%s: %s", how, s), what)
	if (pipe2(pipefd, O_CLOEXEC))
		exit(2);
	gone = child(&gone_hold, 0);
	waitpid(gone, NULL, 0);
	close(gone_hold);
	pid = child(&hold, -1);

	/* pidfd_open(): a pidfd, close-on-exec, non-blocking on request. */
	fd = open_w(pid, 0, sys);
	CHECK(W("pidfd_open(child) succeeds"), fd >= 0, 1, 0);
	CHECK(W("pidfd_open(child) is close-on-exec"), fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, 0);
	nb = open_w(pid, PIDFD_NONBLOCK, sys);
	CHECK(W("pidfd_open(child, PIDFD_NONBLOCK) is non-blocking"),
	      nb >= 0 && (fcntl(nb, F_GETFL) & O_NONBLOCK), 1, 0);
	close(nb);
	CHECK(W("pidfd_open(child, 1)"), open_w(pid, 1, sys), -1, EINVAL);
	CHECK(W("pidfd_open(0)"), open_w(0, 0, sys), -1, EINVAL);
	CHECK(W("pidfd_open(-1)"), open_w(-1, 0, sys), -1, EINVAL);
	CHECK(W("pidfd_open(reaped)"), open_w(gone, 0, sys), -1, ESRCH);

	/* pidfd_send_signal(): kill(2)'s and rt_sigqueueinfo()'s rules. */
	CHECK(W("pidfd_send_signal(fd, 0)"), signal_w(fd, 0, NULL, 0, sys), 0, 0);
	CHECK(W("pidfd_send_signal(fd, 0, an unknown flag)"),
	      signal_w(fd, 0, NULL, 1u << 30, sys), -1, EINVAL);
	closed = dup(pipefd[0]);
	close(closed);
	CHECK(W("pidfd_send_signal(closed fd)"), signal_w(closed, 0, NULL, 0, sys), -1, EBADF);
	CHECK(W("pidfd_send_signal(a pipe)"), signal_w(pipefd[0], 0, NULL, 0, sys), -1, EBADF);
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = SI_KERNEL;
	CHECK(W("pidfd_send_signal(fd, SIGUSR1, si_code SI_KERNEL)"),
	      signal_w(fd, SIGUSR1, &si, 0, sys), -1, EPERM);
	CHECK(W("pidfd_send_signal(fd, SIGTERM) by another user is EPERM"),
	      signal_as_nobody(fd, sys), 0, 0);
	CHECK(W("pidfd_send_signal(SIGUSR1, SI_QUEUE with a value) delivers both"),
	      queue_to_child(sys), 0, 0);

	/* pidfd_getpid() and waitid(P_PIDFD) while it lives. */
	CHECK(W("pidfd_getpid(fd)"), pidfd_getpid(fd), pid, 0);
	CHECK(W("pidfd_getpid(a pipe)"), pidfd_getpid(pipefd[0]), -1, EBADF);
	memset(&si, 0, sizeof(si));
	CHECK(W("waitid(P_PIDFD, fd, WNOHANG) while it lives"),
	      waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG) ? -1 : si.si_pid, 0, 0);
	CHECK(W("waitid(P_PIDFD, a pipe)"), waitid(P_PIDFD, pipefd[0], &si, WEXITED), -1, EBADF);

	/* Killed through it: readable, then reaped through it. */
	CHECK(W("pidfd_send_signal(fd, SIGKILL)"), signal_w(fd, SIGKILL, NULL, 0, sys), 0, 0);
	CHECK(W("poll(fd) readable after the kill"),
	      poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 30000), 1, 0);
	memset(&si, 0, sizeof(si));
	CHECK(W("waitid(P_PIDFD, fd) reaps it"), waitid(P_PIDFD, fd, &si, WEXITED), 0, 0);
	CHECK(W("waitid(P_PIDFD, fd): its pid"), si.si_pid, pid, 0);
	CHECK(W("waitid(P_PIDFD, fd): killed by SIGKILL"),
	      si.si_code == CLD_KILLED && si.si_status == SIGKILL, 1, 0);
	CHECK(W("pidfd_send_signal(fd, 0) once reaped"), signal_w(fd, 0, NULL, 0, sys), -1, ESRCH);
	CHECK(W("pidfd_getpid(fd) once reaped"), pidfd_getpid(fd), -1, ESRCH);
	CHECK(W("waitid(P_PIDFD, fd) once reaped"), waitid(P_PIDFD, fd, &si, WEXITED), -1, ECHILD);
	close(fd);
	close(hold);

	/* Not our child: nothing to wait for. */
	fd = open_w(getppid(), 0, sys);
	CHECK(W("waitid(P_PIDFD) on a process not our child"),
	      waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG), -1, ECHILD);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
#undef W
}

/*
 * Without the module, pidfd_open is ENOSYS where the kernel lacks it, and
 * pidfd_send_signal on a descriptor that is no pidfd is what the kernel
 * says (@send_err: EBADF from 5.1 and on RHEL 8, ENOSYS before).
 */
static void no_module(int send_err)
{
	int p[2];

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/dev", "tmpfs", 0, NULL) || pipe(p)) {
		perror("hiding /dev");
		exit(2);
	}
	for (int sys = 0; sys < 2; sys++) {
		const char *how = sys ? "syscall()" : "wrapper";
		char what[96];

		snprintf(what, sizeof(what), "%s: pidfd_open(self) with no module", how);
		CHECK(what, open_w(getpid(), 0, sys), -1, ENOSYS);
		snprintf(what, sizeof(what), "%s: pidfd_send_signal(a pipe) with no module", how);
		CHECK(what, signal_w(p[0], 0, NULL, 0, sys), -1, send_err);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Read by the library at its first call, which is below. */
	if (!strcmp(mode, "kernel")) {
		unsetenv("PIDWAIT_PIDFD_FORCE");
	} else if (!strcmp(mode, "pidwait") || !strcmp(mode, "nomodule")) {
		setenv("PIDWAIT_PIDFD_FORCE", "1", 1);
	} else {
		fprintf(stderr, "usage: %s kernel|pidwait|nomodule [ERRNO]\n", argv[0]);
		return 2;
	}
	if (!strcmp(mode, "nomodule")) {
		no_module(argc > 2 ? atoi(argv[2]) : ENOSYS);
	} else {
		contract(0);
		contract(1);
	}
	return failed;
}
